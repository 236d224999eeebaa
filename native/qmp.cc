#include "qmp.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "errno_error.h"

// The native half of the QMP transport: a connected socket and sendmsg(2), all on the JS thread
// except the connect attempt. Reading happens in JS, on a net.Socket over a dup of this socket:
// that keeps replies on the JS thread's own libuv loop, one wake-up from QEMU's write to the
// callback, where a reader thread here would add a second (thread -> thread-safe function ->
// loop), about 10 µs per round trip on this class of machine. The addon stays Node-API only.
//
// Every type is declared in this anonymous namespace, so that nothing but the module
// registration is exported from the addon (native.test.ts checks its symbol table).

namespace virtnode {
namespace {

// QEMU keeps at most 16 fds from one message (TCP_MAX_FDS), and uses only the first.
constexpr size_t kMaxFds = 16;
// Commands up to this size are copied to the stack rather than the heap before sendmsg.
constexpr size_t kStackBytes = 4096;

const napi_type_tag kQmpHandleTag = {0x51b0d2c7a94e3f18ULL, 0x8e26f4a01c7d95b3ULL};

// An fd we own and close.
class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(OwnedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() { Reset(); }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// One connected monitor socket, owned by its JS handle. Closed by qmpClose, by the handle's
// finalizer, or when the env that opened it goes away (a worker thread exiting), whichever
// comes first.
class QmpSocket {
 public:
  QmpSocket(napi_env env, int fd) : env_(env), fd_(fd) { napi_add_env_cleanup_hook(env_, OnEnvCleanup, this); }
  ~QmpSocket() {
    if (hooked_) napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
  }
  QmpSocket(const QmpSocket&) = delete;
  QmpSocket& operator=(const QmpSocket&) = delete;

  int fd() const { return fd_.get(); }
  void Close() { fd_.Reset(); }

  static void OnFinalized(Napi::Env, QmpSocket* socket) { delete socket; }

 private:
  static void OnEnvCleanup(void* arg) {
    auto* socket = static_cast<QmpSocket*>(arg);
    socket->hooked_ = false;
    socket->Close();
  }

  napi_env env_;
  OwnedFd fd_;
  bool hooked_ = true;
};

// Returns the socket behind a handle, or throws a TypeError and returns nullptr.
QmpSocket* Unwrap(const Napi::Env& env, const Napi::Value& value) {
  if (value.IsExternal()) {
    auto external = value.As<Napi::External<QmpSocket>>();
    if (external.CheckTypeTag(&kQmpHandleTag)) return external.Data();
  }
  Napi::TypeError::New(env, "expected a QMP socket handle").ThrowAsJavaScriptException();
  return nullptr;
}

// One connect attempt on the thread pool (resolving the path may touch the disk). The socket is
// non-blocking, so a full listen backlog fails with EAGAIN instead of holding a pool thread.
class ConnectWorker : public Napi::AsyncWorker {
 public:
  ConnectWorker(Napi::Env env, std::string path)
      : Napi::AsyncWorker(env, "virtnode:qmpConnect"), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    struct sockaddr_un addr;
    std::memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (path_.empty() || path_.size() >= sizeof(addr.sun_path)) {
      Fail(path_.empty() ? ENOENT : ENAMETOOLONG, "connect");
      return;
    }
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    OwnedFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0) {
      Fail(errno, "socket");
      return;
    }
    int rc;
    do {
      rc = connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      Fail(errno, "connect");
      return;
    }
    fd_ = std::move(fd);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      deferred_.Reject(ErrnoError(env, err_, syscall_, path_).Value());
      return;
    }
    auto* socket = new QmpSocket(env, fd_.Release());
    auto handle = Napi::External<QmpSocket>::New(env, socket, QmpSocket::OnFinalized);
    handle.TypeTag(&kQmpHandleTag);
    deferred_.Resolve(handle);
  }

 private:
  void Fail(int err, const char* syscall) {
    err_ = err;
    syscall_ = syscall;
  }

  Napi::Promise::Deferred deferred_;
  std::string path_;
  OwnedFd fd_;
  int err_ = 0;
  const char* syscall_ = "";
};

// Reads the fds argument of qmpSend; false (a TypeError thrown) when it is not a short fd list.
bool ReadFds(const Napi::Env& env, const Napi::Value& value, int* fds, size_t* count) {
  *count = 0;
  if (value.IsUndefined()) return true;
  bool valid = value.IsArray() && value.As<Napi::Array>().Length() <= kMaxFds;
  if (valid) {
    auto array = value.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length() && valid; i++) {
      Napi::Value item = array.Get(i);
      valid = item.IsNumber() && item.As<Napi::Number>().Int32Value() >= 0;
      if (valid) fds[(*count)++] = item.As<Napi::Number>().Int32Value();
    }
  }
  if (!valid) Napi::TypeError::New(env, "fds must be an array of at most 16 file descriptors").ThrowAsJavaScriptException();
  return valid;
}

// One sendmsg of as much of bytes as the socket takes now, the fds riding along. Returns the
// number of bytes sent (0 when the socket is full), or -1 with errno set.
ssize_t SendOnce(int fd, const char* bytes, size_t length, const int* fds, size_t fd_count) {
  struct iovec iov;
  iov.iov_base = const_cast<char*>(bytes);
  iov.iov_len = length;
  struct msghdr msg;
  std::memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  union {
    char buf[CMSG_SPACE(sizeof(int) * kMaxFds)];
    struct cmsghdr align;
  } control;
  if (fd_count > 0) {
    size_t payload = fd_count * sizeof(int);
    std::memset(control.buf, 0, sizeof(control.buf));
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(payload);
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(payload);
    std::memcpy(CMSG_DATA(cmsg), fds, payload);
  }
  for (;;) {
    ssize_t sent = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent >= 0) return sent;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

}  // namespace

Napi::Value QmpConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, "qmpConnect(path: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* worker = new ConnectWorker(env, info[0].As<Napi::String>().Utf8Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value QmpDupFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  QmpSocket* socket = Unwrap(env, info[0]);
  if (socket == nullptr) return env.Undefined();
  int fd = socket->fd() < 0 ? -1 : fcntl(socket->fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    ErrnoError(env, socket->fd() < 0 ? EBADF : errno, "fcntl").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

Napi::Value QmpSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  QmpSocket* socket = Unwrap(env, info[0]);
  if (socket == nullptr) return env.Undefined();
  int fds[kMaxFds];
  size_t fd_count;
  if (!ReadFds(env, info[2], fds, &fd_count)) return env.Undefined();
  // Short strings, the usual command, go from V8 to the stack and out without a heap copy.
  char stack[kStackBytes];
  std::string heap;
  const char* bytes;
  size_t length;
  if (info[1].IsString()) {
    napi_get_value_string_utf8(env, info[1], stack, sizeof(stack), &length);
    bytes = stack;
    // Node-API copies whole characters only: up to 3 bytes short of a full buffer may mean cut short.
    if (length + 4 >= sizeof(stack)) {
      napi_get_value_string_utf8(env, info[1], nullptr, 0, &length);
      heap.resize(length);
      napi_get_value_string_utf8(env, info[1], &heap[0], length + 1, &length);
      bytes = heap.data();
    }
  } else if (info[1].IsBuffer()) {
    auto buffer = info[1].As<Napi::Buffer<char>>();
    bytes = buffer.Data();
    length = buffer.Length();
  } else {
    Napi::TypeError::New(env, "qmpSend(handle, data: string | Buffer, fds?: number[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (socket->fd() < 0) {
    ErrnoError(env, EBADF, "sendmsg").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // A bad fd from the caller fails this call alone; sendmsg would report it like a dead socket.
  for (size_t i = 0; i < fd_count; i++) {
    if (fcntl(fds[i], F_GETFD) < 0) {
      ErrnoError(env, errno, "fcntl").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  if (length == 0) {
    if (fd_count > 0) {
      Napi::TypeError::New(env, "fds need at least one byte to travel with").ThrowAsJavaScriptException();
    }
    return Napi::Number::New(env, 0);
  }
  ssize_t sent = SendOnce(socket->fd(), bytes, length, fds, fd_count);
  if (sent < 0) {
    ErrnoError(env, errno, "sendmsg").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(length - static_cast<size_t>(sent)));
}

Napi::Value QmpClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  QmpSocket* socket = Unwrap(env, info[0]);
  if (socket != nullptr) socket->Close();
  return env.Undefined();
}

}  // namespace virtnode
