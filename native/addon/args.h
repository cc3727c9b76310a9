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

// Float64 slots of one tensor side in a packed job table (lib/native/AddonTypes.ts RawPackedJobs):
// source index, byte offset, byte length, dtype code, element count.
constexpr uint32_t kPackedRefWidth = 5;

// A packed jobs argument, {sources, table}: the sources (MappedFile or Uint8Array) are validated
// and kept once per call however many jobs use them, so a call with thousands of tensors costs
// a few nanoseconds per job instead of a few N-API calls per field.
class PackedJobs {
 public:
  // True when `value` is a packed jobs object (not an array).
  static bool Is(const Napi::Value& value);
  // Parses {sources, table}; the table must hold a whole number of rows of `width` float64.
  PackedJobs(Napi::Env env, const Napi::Value& value, uint32_t width, Inputs* keep);

  size_t size() const { return rows_; }
  // Side `k` (0 = first) of job i, resolved and range-checked; `what` names it in messages
  // ("jobs[3].a").
  TensorSpan Ref(size_t i, uint32_t k, const char* side) const;
  // Slot `slot` of job i.
  double At(size_t i, uint32_t slot) const { return table_[i * width_ + slot]; }

 private:
  struct Source {
    const uint8_t* data;
    uint64_t size;
    const MappedFile* file;  // null for a Uint8Array
    std::string label;
  };
  Napi::Env env_;
  uint32_t width_;
  size_t rows_ = 0;
  const double* table_ = nullptr;
  std::vector<Source> sources_;
};

// A Float64Array with at least `needed` elements; returns its data pointer.
double* ParseOut(Napi::Env env, const Napi::Value& value, uint64_t needed);

struct WorkOptions {
  Napi::Function on_progress;  // empty when not given
  std::shared_ptr<std::atomic<bool>> abort;
};

// The optional RawWorkOptions argument.
WorkOptions ParseOptions(Napi::Env env, const Napi::Value& value);

}  // namespace diffai
