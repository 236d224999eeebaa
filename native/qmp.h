// QMP transport, native half: a Unix stream socket to a QEMU monitor, connected on the thread
// pool and written with sendmsg(2) so that fds can travel as SCM_RIGHTS. Reading is JS's, on a
// net.Socket over a dup of the socket (src/drivers/qemu/qmp-socket.ts). Node-API only.
// No JSON is parsed here; src/drivers/qemu/monitor.ts speaks the protocol.
#pragma once
#include <napi.h>

namespace virtnode {

// qmpConnect(path) -> Promise<handle>. One non-blocking connect attempt on the thread pool;
// rejects with the errno error (ENOENT while QEMU has not created the socket yet, ECONNREFUSED,
// EAGAIN for a full backlog, ...). Retrying is the caller's policy.
Napi::Value QmpConnect(const Napi::CallbackInfo& info);

// qmpDupFd(handle) -> number. A new close-on-exec fd for the same socket, owned by the caller
// (who wraps it in a net.Socket to read).
Napi::Value QmpDupFd(const Napi::CallbackInfo& info);

// qmpSend(handle, data: string | Buffer, fds?: number[]) -> number. One non-blocking sendmsg of
// as much of data as the socket takes now, with the fds as SCM_RIGHTS; returns how many bytes
// did not fit (0: all sent). The fds went out unless nothing did. Throws errno errors (EPIPE...).
Napi::Value QmpSend(const Napi::CallbackInfo& info);

// qmpClose(handle). Closes the handle's fd (not its dups); idempotent.
Napi::Value QmpClose(const Napi::CallbackInfo& info);

}  // namespace virtnode
