// One way to turn a failed syscall into a JS error shaped like Node's own system errors:
// { message, code: 'ENOENT', errno: -2, syscall: 'open', path? }. src/ maps these to VirError.
#pragma once
#include <napi.h>
#include <string>

namespace virtnode {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path = "");

}  // namespace virtnode
