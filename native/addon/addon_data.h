// Per-environment state of the addon (one per Node.js main thread or worker_threads Worker),
// stored with napi_set_instance_data and freed with the environment.
#pragma once

#include <napi.h>

namespace diffai {

struct AddonData {
  // The JS error class registered by setErrorClass(); empty until then.
  Napi::FunctionReference error_class;
  // Constructors, for instanceof checks on arguments and for createAbortHandle().
  Napi::FunctionReference mapped_file_ctor;
  Napi::FunctionReference abort_handle_ctor;

  static AddonData* Of(Napi::Env env) { return env.GetInstanceData<AddonData>(); }
};

}  // namespace diffai
