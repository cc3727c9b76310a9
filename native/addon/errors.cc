#include "addon/errors.h"

#include "addon/addon_data.h"

namespace diffai {

Napi::Value MakeError(Napi::Env env, const Status& status) {
  const char* code = CodeName(status.code);
  AddonData* data = AddonData::Of(env);
  if (data != nullptr && !data->error_class.IsEmpty()) {
    Napi::Object options = Napi::Object::New(env);
    if (!status.file.empty()) options.Set("file", Napi::String::New(env, status.file));
    return data->error_class.New(
        {Napi::String::New(env, code), Napi::String::New(env, status.message), options});
  }
  Napi::Error e = Napi::Error::New(env, status.message);
  e.Set("code", Napi::String::New(env, code));
  if (!status.file.empty()) e.Set("file", Napi::String::New(env, status.file));
  return e.Value();
}

void ThrowStatus(Napi::Env env, const Status& status) {
  throw Napi::Error(env, MakeError(env, status));
}

void ThrowError(Napi::Env env, Code code, const std::string& message, const std::string& file) {
  ThrowStatus(env, Status::Error(code, message, file));
}

}  // namespace diffai
