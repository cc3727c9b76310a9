// Argument parsing and validation for the kernel functions. Throws (as JS errors with codes):
// ERR_INVALID_ARGUMENT for wrong types, non-integer/negative/unsafe numbers, unknown dtypes,
// byteLength != count * size; ERR_RANGE for ranges outside their file or buffer; ERR_FILE_CLOSED.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "addon/mapped_file_wrap.h"
#include "core/jobs.h"

namespace diffai {

// Everything a call reads, kept alive until it finishes: the mappings (shared_ptr), the wrappers
// (busy count, for async calls) and references to the JS objects (MappedFile wrappers, Uint8Array
// data, the matmul X operand) so the garbage collector leaves them alone.
struct Inputs {
  std::vector<std::shared_ptr<MappedFile>> files;
  std::vector<MappedFileWrap*> wraps;
  std::vector<Napi::Reference<Napi::Value>> refs;
};

// A non-negative safe integer (0..2^53-1) property `key` of obj; `what` prefixes messages.
uint64_t GetIndex(Napi::Env env, const Napi::Object& obj, const char* key, const std::string& what);

// One RawTensorRef.
TensorSpan ParseRef(Napi::Env env, const Napi::Value& value, const std::string& what, Inputs* keep);

// The jobs array argument; throws unless it is an array.
Napi::Array ParseJobsArray(Napi::Env env, const Napi::Value& value);

// A Float64Array with at least `needed` elements; returns its data pointer.
double* ParseOut(Napi::Env env, const Napi::Value& value, uint64_t needed);

struct WorkOptions {
  Napi::Function on_progress;  // empty when not given
  std::shared_ptr<std::atomic<bool>> abort;
};

// The optional RawWorkOptions argument.
WorkOptions ParseOptions(Napi::Env env, const Napi::Value& value);

}  // namespace diffai
