// Netlink transport, native half: one request on a fresh AF_NETLINK socket, answered on the
// thread pool. The bytes going out are built in TypeScript (src/util/netlink.ts) and the replies
// go back as they came; only the nlmsghdr framing is read here, to know when the answer is over.
#pragma once
#include <napi.h>

namespace virtnode {

// netlinkRequest(protocol, message: Buffer, timeoutMs) -> Promise<Buffer[]>. Sends message (one
// or more netlink messages, the first one's nlmsg_seq naming the request) and collects every
// datagram the kernel sends back until one holds an NLMSG_ERROR or NLMSG_DONE with that seq.
// Rejects with an errno error (syscall 'socket', 'sendto', 'recvmsg'; ETIMEDOUT from 'poll' when
// no datagram comes for timeoutMs). The socket is closed whatever happens.
Napi::Value NetlinkRequest(const Napi::CallbackInfo& info);

}  // namespace virtnode
