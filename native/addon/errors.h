// Conversion of a core Status into a JS error: `new ErrorClass(code, message, {file})` with the
// class registered by setErrorClass(), or a plain Error with `.code` (and `.file`) before that.
#pragma once

#include <napi.h>

#include <string>

#include "core/status.h"

namespace diffai {

Napi::Value MakeError(Napi::Env env, const Status& status);

// Throws the JS error of `status` as a C++ Napi::Error (caught by node-addon-api and rethrown in
// JS). Never returns.
[[noreturn]] void ThrowStatus(Napi::Env env, const Status& status);

// Shorthand for ThrowStatus(env, Status::Error(code, message, file)).
[[noreturn]] void ThrowError(Napi::Env env, Code code, const std::string& message,
                             const std::string& file = std::string());

}  // namespace diffai
