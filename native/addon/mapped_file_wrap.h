// The JS MappedFile class (lib/native/AddonTypes.ts NativeMappedFile).
//
// Lifetime: the wrapper owns a shared_ptr to the core mapping. close() drops it (refused with
// ERR_FILE_BUSY while an async kernel holds the file: the busy count is taken and released on the
// main thread by the worker), garbage collection of the wrapper drops it too. A worker keeps its
// own shared_ptr and a reference to the wrapper, so neither can go away under it.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "core/mapped_file.h"

namespace diffai {

class MappedFileWrap : public Napi::ObjectWrap<MappedFileWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit MappedFileWrap(const Napi::CallbackInfo& info);

  // The mapping, or null after close().
  std::shared_ptr<MappedFile> file() const { return file_; }
  const std::string& path() const { return path_; }

  // Busy count of async work using the file (main thread only).
  void Acquire() { ++busy_; }
  void Release() { --busy_; }

 private:
  Napi::Value GetPath(const Napi::CallbackInfo& info);
  Napi::Value GetSize(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value SafetensorsHeader(const Napi::CallbackInfo& info);
  Napi::Value AdviseSequential(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  std::shared_ptr<MappedFile> file_;
  std::string path_;
  uint64_t size_ = 0;
  int busy_ = 0;
};

}  // namespace diffai
