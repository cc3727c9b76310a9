#include "addon/args.h"

#include <algorithm>
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
    // One reference per file and call, however many jobs read it.
    if (std::find(keep->wraps.begin(), keep->wraps.end(), wrap) == keep->wraps.end()) {
      keep->files.push_back(std::move(f));
      keep->wraps.push_back(wrap);
      keep->refs.push_back(Napi::Persistent(file));
    }
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

bool PackedJobs::Is(const Napi::Value& value) { return value.IsObject() && !value.IsArray(); }

PackedJobs::PackedJobs(Napi::Env env, const Napi::Value& value, uint32_t width, Inputs* keep)
    : env_(env), width_(width) {
  Napi::Object obj = value.As<Napi::Object>();
  Napi::Value sources = obj.Get("sources");
  Napi::Value table = obj.Get("table");
  if (!sources.IsArray()) {
    ThrowError(env, Code::kInvalidArgument, "jobs.sources must be an array");
  }
  if (!table.IsTypedArray() ||
      table.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    ThrowError(env, Code::kInvalidArgument, "jobs.table must be a Float64Array");
  }
  Napi::Float64Array t = table.As<Napi::Float64Array>();
  if (t.ElementLength() % width != 0) {
    ThrowError(env, Code::kInvalidArgument,
               "jobs.table has " + std::to_string(t.ElementLength()) +
                   " values, not a multiple of " + std::to_string(width));
  }
  rows_ = t.ElementLength() / width;
  table_ = t.Data();
  keep->refs.push_back(Napi::Persistent(table));
  AddonData* ad = AddonData::Of(env);
  Napi::Array arr = sources.As<Napi::Array>();
  sources_.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const std::string what = "jobs.sources[" + std::to_string(i) + "]";
    Napi::Value v = arr.Get(i);
    Source s;
    if (IsInstance(env, v, ad->mapped_file_ctor)) {
      MappedFileWrap* wrap = MappedFileWrap::Unwrap(v.As<Napi::Object>());
      std::shared_ptr<MappedFile> f = wrap->file();
      if (!f) {
        ThrowError(env, Code::kFileClosed, what + ": " + wrap->path() + " is closed",
                   wrap->path());
      }
      s.data = f->data();
      s.size = f->size();
      s.file = f.get();
      s.label = f->path();
      keep->files.push_back(std::move(f));
      keep->wraps.push_back(wrap);
    } else if (v.IsTypedArray() &&
               v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
      Napi::Uint8Array a = v.As<Napi::Uint8Array>();
      s.data = a.Data();
      s.size = a.ByteLength();
      s.file = nullptr;
      s.label = "the data buffer " + what;
    } else {
      ThrowError(env, Code::kInvalidArgument, what + " must be a MappedFile or a Uint8Array");
    }
    keep->refs.push_back(Napi::Persistent(v));
    sources_.push_back(std::move(s));
  }
}

TensorSpan PackedJobs::Ref(size_t i, uint32_t k, const char* side) const {
  const double* r = table_ + i * width_ + k * kPackedRefWidth;
  auto what = [&] { return "jobs[" + std::to_string(i) + "]." + side; };
  static const char* const kNames[kPackedRefWidth] = {"source", "offset", "byteLength", "dtype",
                                                      "count"};
  uint64_t v[kPackedRefWidth];
  for (uint32_t f = 0; f < kPackedRefWidth; ++f) {
    const double d = r[f];
    if (!(d >= 0) || d > static_cast<double>(kMaxSafeInteger) || d != std::floor(d)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      ThrowError(env_, Code::kInvalidArgument,
                 what() + "." + kNames[f] + " must be an integer in [0, 2^53), got " + buf);
    }
    v[f] = static_cast<uint64_t>(d);
  }
  if (v[0] >= sources_.size()) {
    ThrowError(env_, Code::kInvalidArgument,
               what() + ".source " + std::to_string(v[0]) + " is not an index of jobs.sources (" +
                   std::to_string(sources_.size()) + ")");
  }
  DType dtype;
  if (!DTypeFromCode(static_cast<int64_t>(v[3]), &dtype)) {
    ThrowError(env_, Code::kInvalidArgument,
               what() + ".dtype " + std::to_string(v[3]) + " is not a dtype code (0..15)");
  }
  const Source& src = sources_[v[0]];
  TensorSpan span;
  span.file = src.file;
  span.label = src.label;
  // The fast path checks what ResolveSpan checks; the message is built only when one fails.
  uint64_t expected = 0;
  if (ByteLengthOf(dtype, v[4], &expected) && expected == v[2] &&
      RangeFits(v[1], v[2], src.size)) {
    span.data = v[2] == 0 ? src.data : src.data + v[1];
    span.bytes = v[2];
    span.count = v[4];
    span.dtype = dtype;
    return span;
  }
  Status s = ResolveSpan(what(), dtype, v[4], v[1], v[2], src.data, src.size, &span);
  if (!s.ok()) ThrowStatus(env_, s);
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
