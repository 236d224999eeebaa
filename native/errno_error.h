// One way to turn a failed syscall into a JS error shaped like Node's own system errors:
// { message, code: 'ENOENT', errno: -2, syscall: 'open', path? }. src/ maps these to VirError.
#pragma once
#include <napi.h>
#include <string>

namespace virtnode {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path = "");

// strerror(errno) -> string: glibc's text for an errno value (positive or Node's negative), as
// libvirt puts it in its messages, for errors that reach JS from Node itself (a net.Socket).
Napi::Value Strerror(const Napi::CallbackInfo& info);

}  // namespace virtnode
