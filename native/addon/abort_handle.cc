#include "addon/abort_handle.h"

namespace diffai {

Napi::Function AbortHandleWrap::Define(Napi::Env env) {
  return DefineClass(env, "AbortHandle",
                     {
                         InstanceMethod<&AbortHandleWrap::Abort>("abort"),
                         InstanceAccessor<&AbortHandleWrap::GetAborted>("aborted"),
                     });
}

AbortHandleWrap::AbortHandleWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<AbortHandleWrap>(info), flag_(std::make_shared<std::atomic<bool>>(false)) {}

Napi::Value AbortHandleWrap::Abort(const Napi::CallbackInfo& info) {
  flag_->store(true);
  return info.Env().Undefined();
}

Napi::Value AbortHandleWrap::GetAborted(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), flag_->load());
}

}  // namespace diffai
