// One way to turn a failed syscall into a JS error shaped like Node's own system errors:
// { message, code: 'ENOENT', errno: -2, syscall: 'open', path? }. src/ maps these to VirError.
#pragma once
#include <napi.h>
#include <string>

namespace virtnode {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path = "");

// Node-API refuses calls into the engine (napi_pending_exception) once their environment is being
// torn down, e.g. a worker thread terminated while a call is in flight, and that can happen at any
// moment from another thread. node-addon-api's wrappers answer each refusal by building an Error,
// which a dying engine does not survive; so code that may run then (promise settlement, entry
// points of async calls) uses plain Node-API statuses and these two helpers.

// Whether the environment still runs JavaScript: with no exception pending, a refused lookup on
// the global object means it is shutting down.
bool CanRunJs(napi_env env);

// A call that failed inside Node-API: reported while JavaScript can still see it, else dropped.
// Returns the empty value an entry point then returns.
Napi::Value CallFailed(Napi::Env env, const char* what);

// strerror(errno) -> string: glibc's text for an errno value (positive or Node's negative), as
// libvirt puts it in its messages, for errors that reach JS from Node itself (a net.Socket).
Napi::Value Strerror(const Napi::CallbackInfo& info);

}  // namespace virtnode
