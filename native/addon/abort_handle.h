// The JS abort handle (RawAbortHandle): a flag shared with native workers, which check it between
// chunks. The flag is a shared_ptr so a worker may outlive the JS object.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

namespace diffai {

class AbortHandleWrap : public Napi::ObjectWrap<AbortHandleWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit AbortHandleWrap(const Napi::CallbackInfo& info);

  std::shared_ptr<std::atomic<bool>> flag() const { return flag_; }

 private:
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value GetAborted(const Napi::CallbackInfo& info);

  std::shared_ptr<std::atomic<bool>> flag_;
};

}  // namespace diffai
