// The export table of the virtnode addon: one line per native entry point. Everything with a
// decision in it lives in TypeScript (src/native.ts is the typed view of this table).
#include <napi.h>

#include "errno_error.h"
#include "host.h"
#include "netlink.h"
#include "qmp.h"

#ifndef VIRTNODE_ADDON_VERSION
#error "VIRTNODE_ADDON_VERSION must be defined by the build (binding.gyp / CMakeLists.txt)"
#endif

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::String::New(env, VIRTNODE_ADDON_VERSION));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  exports.Set("hostUname", Napi::Function::New(env, virtnode::HostUname, "hostUname"));
  exports.Set("hostUnameAsync", Napi::Function::New(env, virtnode::HostUnameAsync, "hostUnameAsync"));
  exports.Set("strerror", Napi::Function::New(env, virtnode::Strerror, "strerror"));
  exports.Set("qmpConnect", Napi::Function::New(env, virtnode::QmpConnect, "qmpConnect"));
  exports.Set("qmpDupFd", Napi::Function::New(env, virtnode::QmpDupFd, "qmpDupFd"));
  exports.Set("qmpSend", Napi::Function::New(env, virtnode::QmpSend, "qmpSend"));
  exports.Set("qmpClose", Napi::Function::New(env, virtnode::QmpClose, "qmpClose"));
  exports.Set("netlinkRequest", Napi::Function::New(env, virtnode::NetlinkRequest, "netlinkRequest"));
  return exports;
}

}  // namespace

NODE_API_MODULE(virtnode, Init)
