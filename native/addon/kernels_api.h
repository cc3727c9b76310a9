// The module's kernel functions (RawAddon in lib/native/AddonTypes.ts): stats, pair, trajectory,
// axisNorms, matmul, gram (async, returning Promises, and *Sync twins), convertToF32, the SIMD
// level controls and threadCount.
#pragma once

#include <napi.h>

namespace diffai {

void RegisterKernelFunctions(Napi::Env env, Napi::Object exports);

}  // namespace diffai
