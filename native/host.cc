#include "host.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

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

Napi::Object ToObject(Napi::Env env, const HostInfo& h) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("sysname", h.sysname);
  obj.Set("nodename", h.nodename);
  obj.Set("release", h.release);
  obj.Set("version", h.version);
  obj.Set("machine", h.machine);
  obj.Set("hostname", h.hostname);
  return obj;
}

class UnameWorker : public Napi::AsyncWorker {
 public:
  explicit UnameWorker(Napi::Env env)
      : Napi::AsyncWorker(env, "virtnode:uname"), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override { err_ = QueryHost(&info_); }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      deferred_.Reject(ErrnoError(env, err_, "uname").Value());
    } else {
      deferred_.Resolve(ToObject(env, info_));
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  HostInfo info_;
  int err_ = 0;
};

}  // namespace

Napi::Value HostUname(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HostInfo h;
  int err = QueryHost(&h);
  if (err != 0) {
    ErrnoError(env, err, "uname").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return ToObject(env, h);
}

Napi::Value HostUnameAsync(const Napi::CallbackInfo& info) {
  auto* worker = new UnameWorker(info.Env());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace virtnode
