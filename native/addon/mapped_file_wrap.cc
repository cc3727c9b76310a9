#include "addon/mapped_file_wrap.h"

#include <cstring>

#include "addon/addon_data.h"
#include "addon/args.h"
#include "addon/errors.h"
#include "core/range.h"
#include "core/safetensors.h"
#include "core/sigbus_guard.h"

namespace diffai {

namespace {

constexpr uint64_t kReadCap = uint64_t{256} << 20;

struct CopyArgs {
  void* dst;
  const uint8_t* src;
  size_t n;
};

void GuardedCopy(void* arg) {
  CopyArgs* c = static_cast<CopyArgs*>(arg);
  std::memcpy(c->dst, c->src, c->n);
}

// Copies mapped bytes; a SIGBUS (file truncated under the mapping) becomes ERR_FILE_CHANGED.
void CopyOut(Napi::Env env, const MappedFile& f, void* dst, uint64_t offset, uint64_t n) {
  if (n == 0) return;
  CopyArgs args{dst, f.data() + offset, static_cast<size_t>(n)};
  if (!GuardedRun(GuardedCopy, &args)) {
    Status s = f.CheckUnchanged();
    if (s.ok()) {
      s = Status::Error(Code::kFileChanged,
                        f.path() + " changed while mapped: reading it raised SIGBUS", f.path());
    }
    ThrowStatus(env, s);
  }
}

}  // namespace

Napi::Function MappedFileWrap::Define(Napi::Env env) {
  return DefineClass(env, "MappedFile",
                     {
                         InstanceAccessor<&MappedFileWrap::GetPath>("path"),
                         InstanceAccessor<&MappedFileWrap::GetSize>("size"),
                         InstanceAccessor<&MappedFileWrap::GetClosed>("closed"),
                         InstanceMethod<&MappedFileWrap::Read>("read"),
                         InstanceMethod<&MappedFileWrap::SafetensorsHeader>("safetensorsHeader"),
                         InstanceMethod<&MappedFileWrap::AdviseSequential>("adviseSequential"),
                         InstanceMethod<&MappedFileWrap::Close>("close"),
                     });
}

MappedFileWrap::MappedFileWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<MappedFileWrap>(info) {
  Napi::Env env = info.Env();
  if (!info.IsConstructCall()) ThrowError(env, Code::kInvalidArgument, "MappedFile needs new");
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowError(env, Code::kInvalidArgument, "MappedFile: path must be a string");
  }
  path_ = info[0].As<Napi::String>().Utf8Value();
  if (path_.find('\0') != std::string::npos) {
    ThrowError(env, Code::kInvalidArgument, "MappedFile: path contains a NUL byte");
  }
  std::unique_ptr<MappedFile> f;
  Status s = MappedFile::Open(path_, &f);
  if (!s.ok()) ThrowStatus(env, s);
  size_ = f->size();
  file_ = std::move(f);
}

Napi::Value MappedFileWrap::GetPath(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), path_);
}

Napi::Value MappedFileWrap::GetSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(size_));
}

Napi::Value MappedFileWrap::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), file_ == nullptr);
}

Napi::Value MappedFileWrap::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!file_) ThrowError(env, Code::kFileClosed, path_ + " is closed", path_);
  Napi::Object args = Napi::Object::New(env);
  args.Set("offset", info[0]);
  args.Set("length", info[1]);
  const uint64_t offset = GetIndex(env, args, "offset", "read");
  const uint64_t length = GetIndex(env, args, "length", "read");
  if (length > kReadCap) {
    ThrowError(env, Code::kRange,
               "read of " + std::to_string(length) + " bytes from " + path_ +
                   " is over the 256 MiB cap (for headers and metadata only)",
               path_);
  }
  if (!RangeFits(offset, length, file_->size())) {
    ThrowError(env, Code::kRange,
               "read: bytes [" + std::to_string(offset) + ", " + std::to_string(offset) + " + " +
                   std::to_string(length) + ") lie outside " + path_ + " (" +
                   std::to_string(file_->size()) + " bytes)",
               path_);
  }
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(length));
  CopyOut(env, *file_, buf.Data(), offset, length);
  return buf;
}

Napi::Value MappedFileWrap::SafetensorsHeader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!file_) ThrowError(env, Code::kFileClosed, path_ + " is closed", path_);
  uint8_t prefix[8] = {0};
  const uint64_t have = file_->size() < 8 ? file_->size() : 8;
  CopyOut(env, *file_, prefix, 0, have);
  uint64_t n = 0;
  // The framing check only needs the prefix and the size; it never reads past them.
  Status s = SafetensorsFraming(have == 8 ? prefix : nullptr, file_->size(), path_, &n);
  if (!s.ok()) ThrowStatus(env, s);
  Napi::Buffer<uint8_t> header = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(n));
  CopyOut(env, *file_, header.Data(), 8, n);
  Napi::Object result = Napi::Object::New(env);
  result.Set("header", header);
  result.Set("dataOffset", Napi::Number::New(env, static_cast<double>(8 + n)));
  return result;
}

Napi::Value MappedFileWrap::AdviseSequential(const Napi::CallbackInfo& info) {
  // A hint: never throws, ignores bad arguments and closed files.
  if (file_ && info.Length() >= 2 && info[0].IsNumber() && info[1].IsNumber()) {
    const double o = info[0].As<Napi::Number>().DoubleValue();
    const double l = info[1].As<Napi::Number>().DoubleValue();
    if (o >= 0 && l >= 0 && o <= static_cast<double>(kMaxSafeInteger) &&
        l <= static_cast<double>(kMaxSafeInteger)) {
      file_->AdviseSequential(static_cast<uint64_t>(o), static_cast<uint64_t>(l));
    }
  }
  return info.Env().Undefined();
}

Napi::Value MappedFileWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (busy_ > 0) {
    ThrowError(env, Code::kFileBusy,
               "cannot close " + path_ + ": " + std::to_string(busy_) +
                   " native operation(s) still use it",
               path_);
  }
  file_.reset();
  return env.Undefined();
}

}  // namespace diffai
