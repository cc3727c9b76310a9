#include "addon/args.h"

#include <cmath>
#include <cstdio>

#include "addon/abort_handle.h"
#include "addon/addon_data.h"
#include "addon/errors.h"
#include "core/range.h"

namespace diffai {

namespace {

std::string Describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d)) return "NaN";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
  }
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

bool IsInstance(Napi::Env env, const Napi::Value& v, const Napi::FunctionReference& ctor) {
  return v.IsObject() && !ctor.IsEmpty() && v.As<Napi::Object>().InstanceOf(ctor.Value());
}

}  // namespace

uint64_t GetIndex(Napi::Env env, const Napi::Object& obj, const char* key,
                  const std::string& what) {
  Napi::Value v = obj.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!v.IsNumber() || !(d >= 0) || d > static_cast<double>(kMaxSafeInteger) ||
      d != std::floor(d)) {
    ThrowError(env, Code::kInvalidArgument,
               what + "." + key + " must be an integer in [0, 2^53), got " + Describe(v));
  }
  return static_cast<uint64_t>(d);
}

TensorSpan ParseRef(Napi::Env env, const Napi::Value& value, const std::string& what,
                    Inputs* keep) {
  if (!value.IsObject()) {
    ThrowError(env, Code::kInvalidArgument, what + " must be a tensor ref object");
  }
  Napi::Object obj = value.As<Napi::Object>();
  Napi::Value file = obj.Get("file");
  Napi::Value data = obj.Get("data");
  const bool has_file = !file.IsUndefined() && !file.IsNull();
  const bool has_data = !data.IsUndefined() && !data.IsNull();
  if (has_file == has_data) {
    ThrowError(env, Code::kInvalidArgument, what + " needs exactly one of `file` and `data`");
  }
  const uint64_t code = GetIndex(env, obj, "dtype", what);
  DType dtype;
  if (!DTypeFromCode(static_cast<int64_t>(code), &dtype)) {
    ThrowError(env, Code::kInvalidArgument,
               what + ".dtype " + std::to_string(code) + " is not a dtype code (0..15)");
  }
  const uint64_t count = GetIndex(env, obj, "count", what);
  const uint64_t offset = GetIndex(env, obj, "offset", what);
  const uint64_t byte_length = GetIndex(env, obj, "byteLength", what);

  TensorSpan span;
  const uint8_t* container = nullptr;
  uint64_t size = 0;
  if (has_file) {
    AddonData* ad = AddonData::Of(env);
    if (!IsInstance(env, file, ad->mapped_file_ctor)) {
      ThrowError(env, Code::kInvalidArgument, what + ".file must be a MappedFile");
    }
    MappedFileWrap* wrap = MappedFileWrap::Unwrap(file.As<Napi::Object>());
    std::shared_ptr<MappedFile> f = wrap->file();
    if (!f)
      ThrowError(env, Code::kFileClosed, what + ": " + wrap->path() + " is closed", wrap->path());
    span.file = f.get();
    span.label = f->path();
    container = f->data();
    size = f->size();
    keep->files.push_back(std::move(f));
    keep->wraps.push_back(wrap);
    keep->refs.push_back(Napi::Persistent(file));
  } else {
    if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      ThrowError(env, Code::kInvalidArgument, what + ".data must be a Uint8Array");
    }
    Napi::Uint8Array arr = data.As<Napi::Uint8Array>();
    span.label = "the data buffer of " + what;
    container = arr.Data();
    size = arr.ByteLength();
    keep->refs.push_back(Napi::Persistent(data));
  }
  Status s = ResolveSpan(what, dtype, count, offset, byte_length, container, size, &span);
  if (!s.ok()) ThrowStatus(env, s);
  return span;
}

Napi::Array ParseJobsArray(Napi::Env env, const Napi::Value& value) {
  if (!value.IsArray()) ThrowError(env, Code::kInvalidArgument, "jobs must be an array");
  return value.As<Napi::Array>();
}

double* ParseOut(Napi::Env env, const Napi::Value& value, uint64_t needed) {
  if (!value.IsTypedArray() ||
      value.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    ThrowError(env, Code::kInvalidArgument, "out must be a Float64Array");
  }
  Napi::Float64Array out = value.As<Napi::Float64Array>();
  if (out.ElementLength() < needed) {
    ThrowError(env, Code::kInvalidArgument,
               "out has " + std::to_string(out.ElementLength()) + " elements, " +
                   std::to_string(needed) + " needed");
  }
  return out.Data();
}

WorkOptions ParseOptions(Napi::Env env, const Napi::Value& value) {
  WorkOptions o;
  if (value.IsUndefined() || value.IsNull()) return o;
  if (!value.IsObject()) ThrowError(env, Code::kInvalidArgument, "options must be an object");
  Napi::Object obj = value.As<Napi::Object>();
  Napi::Value p = obj.Get("onProgress");
  if (!p.IsUndefined() && !p.IsNull()) {
    if (!p.IsFunction()) {
      ThrowError(env, Code::kInvalidArgument, "options.onProgress must be a function");
    }
    o.on_progress = p.As<Napi::Function>();
  }
  Napi::Value a = obj.Get("abort");
  if (!a.IsUndefined() && !a.IsNull()) {
    if (!IsInstance(env, a, AddonData::Of(env)->abort_handle_ctor)) {
      ThrowError(env, Code::kInvalidArgument,
                 "options.abort must be a handle from createAbortHandle()");
    }
    o.abort = AbortHandleWrap::Unwrap(a.As<Napi::Object>())->flag();
  }
  return o;
}

}  // namespace diffai
