// Host queries: what the kernel says about the machine we run on.
#pragma once
#include <napi.h>

namespace virtnode {

// uname(2) plus gethostname(2), synchronously. Cheap: no I/O beyond two syscalls.
Napi::Value HostUname(const Napi::CallbackInfo& info);

// The same answer delivered through a Promise from the libuv thread pool, so that callers can
// prove the async path (and its teardown when a worker thread dies mid-call).
Napi::Value HostUnameAsync(const Napi::CallbackInfo& info);

}  // namespace virtnode
