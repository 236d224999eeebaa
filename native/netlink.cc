#include "netlink.h"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "errno_error.h"

// Every type is declared in the anonymous namespace, so that nothing but the module registration
// is exported from the addon (native.test.ts checks its symbol table).

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

class RequestWorker : public Napi::AsyncWorker {
 public:
  RequestWorker(Napi::Env env, int protocol, std::vector<uint8_t> message, int timeout_ms)
      : Napi::AsyncWorker(env, "virtnode:netlinkRequest"),
        deferred_(Napi::Promise::Deferred::New(env)),
        protocol_(protocol),
        message_(std::move(message)),
        timeout_ms_(timeout_ms) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    SocketFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol_));
    if (fd.get() < 0) return Fail(errno, "socket");
    int on = 1;
    setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
    struct sockaddr_nl kernel;
    std::memset(&kernel, 0, sizeof(kernel));
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do {
      sent = sendto(fd.get(), message_.data(), message_.size(), 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof(kernel));
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) return Fail(errno, "sendto");
    if (static_cast<size_t>(sent) != message_.size()) return Fail(EMSGSIZE, "sendto");
    uint32_t seq;
    std::memcpy(&seq, message_.data() + offsetof(struct nlmsghdr, nlmsg_seq), sizeof(seq));
    std::vector<uint8_t> buffer(kReceiveBytes);
    for (;;) {
      struct pollfd wait = {fd.get(), POLLIN, 0};
      int ready;
      do {
        ready = poll(&wait, 1, timeout_ms_);
      } while (ready < 0 && errno == EINTR);
      if (ready < 0) return Fail(errno, "poll");
      if (ready == 0) return Fail(ETIMEDOUT, "poll");
      ssize_t size;
      do {
        size = recv(fd.get(), buffer.data(), buffer.size(), MSG_PEEK | MSG_TRUNC);
      } while (size < 0 && errno == EINTR);
      if (size < 0) return Fail(errno, "recvmsg");
      if (static_cast<size_t>(size) > buffer.size()) buffer.resize(static_cast<size_t>(size));
      do {
        size = recv(fd.get(), buffer.data(), buffer.size(), 0);
      } while (size < 0 && errno == EINTR);
      if (size < 0) return Fail(errno, "recvmsg");
      replies_.emplace_back(buffer.begin(), buffer.begin() + size);
      if (EndsAnswer(replies_.back(), seq)) return;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      deferred_.Reject(ErrnoError(env, err_, syscall_).Value());
      return;
    }
    Napi::Array result = Napi::Array::New(env, replies_.size());
    for (size_t i = 0; i < replies_.size(); i++) {
      result.Set(static_cast<uint32_t>(i), Napi::Buffer<uint8_t>::Copy(env, replies_[i].data(), replies_[i].size()));
    }
    deferred_.Resolve(result);
  }

 private:
  void Fail(int err, const char* syscall) {
    err_ = err;
    syscall_ = syscall;
  }

  Napi::Promise::Deferred deferred_;
  int protocol_;
  std::vector<uint8_t> message_;
  int timeout_ms_;
  std::vector<std::vector<uint8_t>> replies_;
  int err_ = 0;
  const char* syscall_ = "";
};

}  // namespace

Napi::Value NetlinkRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsBuffer() || !info[2].IsNumber() ||
      info[1].As<Napi::Buffer<uint8_t>>().Length() < sizeof(struct nlmsghdr)) {
    Napi::TypeError::New(env, "netlinkRequest(protocol: number, message: Buffer of at least one nlmsghdr, timeoutMs: number)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto message = info[1].As<Napi::Buffer<uint8_t>>();
  auto* worker = new RequestWorker(env, info[0].As<Napi::Number>().Int32Value(),
                                   std::vector<uint8_t>(message.Data(), message.Data() + message.Length()),
                                   info[2].As<Napi::Number>().Int32Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace virtnode
