// Module entry: registers the MappedFile and AbortHandle classes, the kernel functions and
// setErrorClass / createAbortHandle. NAPI_VERSION 8, C++ exceptions on (NAPI_CPP_EXCEPTIONS).
#include <napi.h>

#include "addon/abort_handle.h"
#include "addon/addon_data.h"
#include "addon/errors.h"
#include "addon/kernels_api.h"
#include "addon/mapped_file_wrap.h"
#include "core/sigbus_guard.h"
#include "core/thread_pool.h"

namespace diffai {

namespace {

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) {
    ThrowError(env, Code::kInvalidArgument, "setErrorClass needs a constructor");
  }
  AddonData::Of(env)->error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

Napi::Value CreateAbortHandle(const Napi::CallbackInfo& info) {
  return AddonData::Of(info.Env())->abort_handle_ctor.New({});
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallSigbusHandler();
  ThreadPool::Global();  // start the pool now rather than on the first call
  AddonData* data = new AddonData();
  env.SetInstanceData(data);

  Napi::Function mapped_file = MappedFileWrap::Define(env);
  data->mapped_file_ctor = Napi::Persistent(mapped_file);
  Napi::Function abort_handle = AbortHandleWrap::Define(env);
  data->abort_handle_ctor = Napi::Persistent(abort_handle);

  exports.Set("MappedFile", mapped_file);
  exports.Set("setErrorClass", Napi::Function::New<SetErrorClass>(env, "setErrorClass"));
  exports.Set("createAbortHandle",
              Napi::Function::New<CreateAbortHandle>(env, "createAbortHandle"));
  RegisterKernelFunctions(env, exports);
  return exports;
}

}  // namespace

}  // namespace diffai

// NODE_API_MODULE pastes the name into an identifier, so it needs an unqualified function.
static Napi::Object InitDiffai(Napi::Env env, Napi::Object exports) {
  return diffai::Init(env, exports);
}

NODE_API_MODULE(diffai, InitDiffai)
