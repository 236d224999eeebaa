// QMP transport: a Unix stream socket to a QEMU monitor, watched by a reader thread per connection
// (Node-API only: no libuv). Delivers complete lines (CRLF stripped) on the JS thread of the env
// that opened it and sends bytes with optional SCM_RIGHTS fds.
// No JSON is parsed here; src/drivers/qemu/monitor.ts speaks the protocol.
#pragma once
#include <napi.h>

namespace virtnode {

// qmpConnect(path, timeoutMs) -> Promise<handle>. Retries while the socket does not exist yet or
// refuses connections, until timeoutMs has passed; the blocking connect runs on the thread pool.
Napi::Value QmpConnect(const Napi::CallbackInfo& info);

// qmpStart(handle, onLine(line: string), onClose(err | null)). Starts reading; onClose fires once,
// when the peer closes (null on a clean EOF, an errno error otherwise). Not after qmpClose.
Napi::Value QmpStart(const Napi::CallbackInfo& info);

// qmpSend(handle, data: string | Buffer, fds?: number[]). Queues the bytes; the fds (duplicated at
// once, so the caller may close its copies) travel with the first sendmsg of these bytes only.
Napi::Value QmpSend(const Napi::CallbackInfo& info);

// qmpSetRef(handle, ref: boolean). Whether a started socket keeps the event loop alive (default
// true, as a net.Socket); like socket.ref() / socket.unref().
Napi::Value QmpSetRef(const Napi::CallbackInfo& info);

// qmpClose(handle). Stops polling and closes the socket; idempotent; onClose is not called.
Napi::Value QmpClose(const Napi::CallbackInfo& info);

}  // namespace virtnode
