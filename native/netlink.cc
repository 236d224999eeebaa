#include "netlink.h"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "errno_error.h"

// Every type is declared in the anonymous namespace, so that nothing but the module registration
// is exported from the addon (native.test.ts checks its symbol table). The entry point and the
// completion use plain Node-API, as host.cc does: a worker thread may be terminated while
// requests are in flight (see errno_error.h).

namespace virtnode {
namespace {

static_assert(sizeof(struct nlmsghdr) == 16, "nlmsghdr is 16 bytes on every Linux ABI");
static_assert(offsetof(struct nlmsghdr, nlmsg_seq) == 8, "nlmsg_seq follows length, type and flags");

// libvirt's receive size (virNetlinkCreateSocket): a link dump with many VFs fits. A bigger
// datagram is still read whole: MSG_PEEK|MSG_TRUNC tells its size first.
constexpr size_t kReceiveBytes = 128 * 1024;

// NETLINK_EXT_ACK (linux 4.12): errors carry the kernel's text. Older kernels refuse the option,
// and the request works without it.
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

class SocketFd {
 public:
  explicit SocketFd(int fd) : fd_(fd) {}
  SocketFd(const SocketFd&) = delete;
  SocketFd& operator=(const SocketFd&) = delete;
  ~SocketFd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

struct Request {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  int protocol = 0;
  std::vector<uint8_t> message;
  int timeout_ms = 0;
  std::vector<std::vector<uint8_t>> replies;
  int err = 0;
  const char* syscall = "";

  void Fail(int error, const char* call) {
    err = error;
    syscall = call;
  }
};

// Whether a datagram holds the end of the answer to `seq`: an NLMSG_ERROR (an error, or the ACK
// of NLM_F_ACK) or the NLMSG_DONE of a dump. A malformed header ends the walk through it; the
// caller's decoder reports it.
bool EndsAnswer(const std::vector<uint8_t>& datagram, uint32_t seq) {
  size_t at = 0;
  while (at + sizeof(struct nlmsghdr) <= datagram.size()) {
    struct nlmsghdr header;
    std::memcpy(&header, datagram.data() + at, sizeof(header));
    if (header.nlmsg_len < sizeof(header) || header.nlmsg_len > datagram.size() - at) return false;
    if (header.nlmsg_seq == seq && (header.nlmsg_type == NLMSG_ERROR || header.nlmsg_type == NLMSG_DONE)) return true;
    at += NLMSG_ALIGN(header.nlmsg_len);
  }
  return false;
}

// On a pool thread: the whole exchange, the socket closed on every return.
void Exchange(Request* r) {
  SocketFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, r->protocol));
  if (fd.get() < 0) return r->Fail(errno, "socket");
  int on = 1;
  setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
  struct sockaddr_nl kernel;
  std::memset(&kernel, 0, sizeof(kernel));
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = sendto(fd.get(), r->message.data(), r->message.size(), 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof(kernel));
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return r->Fail(errno, "sendto");
  if (static_cast<size_t>(sent) != r->message.size()) return r->Fail(EMSGSIZE, "sendto");
  uint32_t seq;
  std::memcpy(&seq, r->message.data() + offsetof(struct nlmsghdr, nlmsg_seq), sizeof(seq));
  std::vector<uint8_t> buffer(kReceiveBytes);
  for (;;) {
    struct pollfd wait = {fd.get(), POLLIN, 0};
    int ready;
    do {
      ready = poll(&wait, 1, r->timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return r->Fail(errno, "poll");
    if (ready == 0) return r->Fail(ETIMEDOUT, "poll");
    ssize_t size;
    do {
      size = recv(fd.get(), buffer.data(), buffer.size(), MSG_PEEK | MSG_TRUNC);
    } while (size < 0 && errno == EINTR);
    if (size < 0) return r->Fail(errno, "recvmsg");
    if (static_cast<size_t>(size) > buffer.size()) buffer.resize(static_cast<size_t>(size));
    do {
      size = recv(fd.get(), buffer.data(), buffer.size(), 0);
    } while (size < 0 && errno == EINTR);
    if (size < 0) return r->Fail(errno, "recvmsg");
    r->replies.emplace_back(buffer.begin(), buffer.begin() + size);
    if (EndsAnswer(r->replies.back(), seq)) return;
  }
}

void Execute(napi_env, void* data) { Exchange(static_cast<Request*>(data)); }

void Complete(napi_env env, napi_status status, void* data) {
  std::unique_ptr<Request> r(static_cast<Request*>(data));
  napi_delete_async_work(env, r->work);
  if (status != napi_ok) return;
  if (r->err != 0) {
    if (CanRunJs(env)) napi_reject_deferred(env, r->deferred, ErrnoError(env, r->err, r->syscall).Value());
    return;
  }
  napi_value result;
  napi_status s = napi_create_array_with_length(env, r->replies.size(), &result);
  for (size_t i = 0; s == napi_ok && i < r->replies.size(); i++) {
    napi_value buffer;
    void* copy;
    s = napi_create_buffer_copy(env, r->replies[i].size(), r->replies[i].data(), &copy, &buffer);
    if (s == napi_ok) s = napi_set_element(env, result, static_cast<uint32_t>(i), buffer);
  }
  if (s == napi_ok) napi_resolve_deferred(env, r->deferred, result);
}

// Reads (protocol, message, timeoutMs) into `r`; false when they are not of that shape.
bool ReadArguments(napi_env env, const Napi::CallbackInfo& info, Request* r) {
  napi_valuetype protocol_type, timeout_type;
  bool is_buffer = false;
  void* bytes = nullptr;
  size_t length = 0;
  if (info.Length() < 3 || napi_typeof(env, info[0], &protocol_type) != napi_ok || protocol_type != napi_number ||
      napi_typeof(env, info[2], &timeout_type) != napi_ok || timeout_type != napi_number ||
      napi_is_buffer(env, info[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, info[1], &bytes, &length) != napi_ok || length < sizeof(struct nlmsghdr) ||
      napi_get_value_int32(env, info[0], &r->protocol) != napi_ok || napi_get_value_int32(env, info[2], &r->timeout_ms) != napi_ok) {
    return false;
  }
  r->message.assign(static_cast<uint8_t*>(bytes), static_cast<uint8_t*>(bytes) + length);
  return true;
}

}  // namespace

Napi::Value NetlinkRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto request = std::make_unique<Request>();
  if (!ReadArguments(env, info, request.get())) {
    napi_throw_type_error(env, nullptr, "netlinkRequest(protocol: number, message: Buffer of at least one nlmsghdr, timeoutMs: number)");
    return Napi::Value();
  }
  napi_value promise, name;
  if (napi_create_promise(env, &request->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "virtnode:netlinkRequest", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, Execute, Complete, request.get(), &request->work) != napi_ok) {
    return CallFailed(env, "netlinkRequest");
  }
  if (napi_queue_async_work(env, request->work) != napi_ok) {
    napi_delete_async_work(env, request->work);
    return CallFailed(env, "netlinkRequest");
  }
  request.release();  // Complete owns it now
  return Napi::Value(env, promise);
}

}  // namespace virtnode
