#include "host.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <memory>
#include <string>
#include <utility>

#include "errno_error.h"

namespace virtnode {
namespace {

struct HostInfo {
  std::string sysname, nodename, release, version, machine, hostname;
};

// Returns 0 or an errno value; fills *out.
int QueryHost(HostInfo* out) {
  struct utsname uts;
  if (uname(&uts) != 0) return errno;
  char host[HOST_NAME_MAX + 1] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) return errno;
  *out = HostInfo{uts.sysname, uts.nodename, uts.release, uts.version, uts.machine, host};
  return 0;
}

napi_status ToObject(napi_env env, const HostInfo& h, napi_value* out) {
  const std::pair<const char*, const std::string*> fields[] = {
      {"sysname", &h.sysname}, {"nodename", &h.nodename}, {"release", &h.release},
      {"version", &h.version}, {"machine", &h.machine},   {"hostname", &h.hostname},
  };
  napi_status status = napi_create_object(env, out);
  for (const auto& [key, value] : fields) {
    napi_value text;
    if (status == napi_ok) status = napi_create_string_utf8(env, value->data(), value->size(), &text);
    if (status == napi_ok) status = napi_set_named_property(env, *out, key, text);
  }
  return status;
}

struct UnameRequest {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  HostInfo info;
  int err = 0;
};

void ExecuteUname(napi_env, void* data) {
  auto* request = static_cast<UnameRequest*>(data);
  request->err = QueryHost(&request->info);
}

void CompleteUname(napi_env env, napi_status status, void* data) {
  std::unique_ptr<UnameRequest> request(static_cast<UnameRequest*>(data));
  napi_delete_async_work(env, request->work);
  if (status != napi_ok) return;
  if (request->err != 0) {
    if (CanRunJs(env)) napi_reject_deferred(env, request->deferred, ErrnoError(env, request->err, "uname").Value());
    return;
  }
  napi_value result;
  if (ToObject(env, request->info, &result) == napi_ok) napi_resolve_deferred(env, request->deferred, result);
}

}  // namespace

Napi::Value HostUname(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HostInfo h;
  int err = QueryHost(&h);
  if (err != 0) {
    ErrnoError(env, err, "uname").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_value result;
  if (ToObject(env, h, &result) != napi_ok) return CallFailed(env, "hostUname");
  return Napi::Value(env, result);
}

Napi::Value HostUnameAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto request = std::make_unique<UnameRequest>();
  napi_value promise, name;
  if (napi_create_promise(env, &request->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "virtnode:uname", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, ExecuteUname, CompleteUname, request.get(), &request->work) !=
          napi_ok) {
    return CallFailed(env, "hostUnameAsync");
  }
  if (napi_queue_async_work(env, request->work) != napi_ok) {
    napi_delete_async_work(env, request->work);
    return CallFailed(env, "hostUnameAsync");
  }
  request.release();  // CompleteUname owns it now
  return Napi::Value(env, promise);
}

}  // namespace virtnode
