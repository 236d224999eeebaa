#include "errno_error.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace virtnode {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path) {
  // glibc's own errno names ("ENOENT"), so the addon needs Node-API alone and no libuv headers
  // (cmake-js builds against node-api-headers, which ship none).
  char unknown[24];
  const char* known = strerrorname_np(err);
  if (known == nullptr) std::snprintf(unknown, sizeof(unknown), "errno %d", err);
  const std::string name = known != nullptr ? known : unknown;
  std::string message = name + ": " + std::strerror(err) + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object obj = error.Value();
  obj.Set("code", Napi::String::New(env, name));
  obj.Set("errno", Napi::Number::New(env, -err));
  obj.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) obj.Set("path", Napi::String::New(env, path));
  return error;
}

bool CanRunJs(napi_env env) {
  napi_value global;
  bool has = false;
  return napi_get_global(env, &global) == napi_ok && napi_has_named_property(env, global, "Object", &has) == napi_ok;
}

Napi::Value CallFailed(Napi::Env env, const char* what) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending && CanRunJs(env)) {
    Napi::Error::New(env, std::string(what) + ": a Node-API call failed").ThrowAsJavaScriptException();
  }
  return Napi::Value();
}

Napi::Value Strerror(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    Napi::TypeError::New(env, "strerror(errno: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int err = info[0].As<Napi::Number>().Int32Value();
  return Napi::String::New(env, std::strerror(err < 0 ? -err : err));
}

}  // namespace virtnode
