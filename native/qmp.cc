#include "qmp.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "errno_error.h"

// The addon may use Node-API only (no libuv, no V8), so the socket is watched by one small thread
// per connection, blocked in poll(2); complete lines go to the JS thread through a thread-safe
// function. Writes happen on the JS thread when the socket takes them at once, which is the
// common case for short QMP commands; the thread finishes the rest when the socket is writable.
//
// Every type handed to a std:: container is declared in this anonymous namespace, so that no
// template instance gets exported from the addon (native.test.ts checks its symbol table).

namespace virtnode {
namespace {

// QEMU's JSON streamer refuses messages over 64 MiB, so no sane reply line is longer.
constexpr size_t kMaxLineBytes = size_t{64} << 20;
constexpr size_t kReadChunk = size_t{64} << 10;
// QEMU keeps at most 16 fds from one message (TCP_MAX_FDS), and uses only the first.
constexpr size_t kMaxFds = 16;
// How long the connect loop sleeps between attempts while QEMU creates its socket.
constexpr auto kConnectRetryInterval = std::chrono::milliseconds(5);

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

// Bytes waiting to be written, and the fds that go with their first byte.
struct Chunk {
  std::string bytes;
  size_t offset = 0;
  OwnedFd fds[kMaxFds];
  size_t fd_count = 0;
};

struct Line {
  std::string text;
};

class QmpConn {
 public:
  QmpConn(napi_env env, int fd) : env_(env), fd_(fd) {}
  ~QmpConn() { Close(); }
  QmpConn(const QmpConn&) = delete;
  QmpConn& operator=(const QmpConn&) = delete;

  bool closed() const { return closed_; }
  bool started() const { return started_; }

  // Returns 0 or an errno value.
  int Start(Napi::External<QmpConn> handle, Napi::Function on_line, Napi::Function on_close) {
    Napi::Env env(env_);
    wake_fd_ = OwnedFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (wake_fd_.get() < 0) return errno;
    napi_value name = Napi::String::New(env, "virtnode:qmp");
    napi_status status = napi_create_threadsafe_function(env_, nullptr, nullptr, name, 0, 1, this, OnTsfnFinalized,
                                                         this, DeliverToJs, &tsfn_);
    if (status != napi_ok) {
      wake_fd_.Reset();
      return EAGAIN;
    }
    // While the socket is watched, the handle stays alive even if JS drops it: its finalizer
    // would otherwise close a connection that still delivers lines.
    self_ = Napi::Persistent(handle);
    on_line_ = Napi::Persistent(on_line);
    on_close_ = Napi::Persistent(on_close);
    context_ = new Napi::AsyncContext(env, "virtnode:qmp");
    napi_add_env_cleanup_hook(env_, OnEnvCleanup, this);
    started_ = true;
    thread_ = std::thread([this] { ReaderLoop(); });
    return 0;
  }

  // Returns 0 or an errno value for a failure to take the fds.
  int Send(std::string bytes, const int* fds, size_t fd_count) {
    Chunk chunk;
    for (size_t i = 0; i < fd_count; i++) {
      chunk.fds[i] = OwnedFd(fcntl(fds[i], F_DUPFD_CLOEXEC, 0));
      if (chunk.fds[i].get() < 0) return errno;
      chunk.fd_count++;
    }
    if (bytes.empty() && fd_count == 0) return 0;
    if (bytes.empty()) bytes = " ";  // fds need at least one byte to ride on
    chunk.bytes = std::move(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(chunk));
    if (queue_.size() == 1 && write_error_ == 0) FlushLocked();
    if (started_ && (!queue_.empty() || write_error_ != 0)) Wake();
    return 0;
  }

  // Whether the watched socket keeps the event loop alive (it does after Start, as a net.Socket).
  void SetRef(bool ref) {
    if (!started_ || closed_) return;
    if (ref) napi_ref_threadsafe_function(env_, tsfn_);
    else napi_unref_threadsafe_function(env_, tsfn_);
  }

  // Idempotent. No callback: the caller asked for it.
  void Close() {
    if (closed_) return;
    closed_ = true;
    if (started_) {
      stop_.store(true);
      Wake();
      thread_.join();
      napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
      napi_release_threadsafe_function(tsfn_, napi_tsfn_abort);
    }
    fd_.Reset();
    wake_fd_.Reset();
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.clear();
      lines_.clear();
    }
    if (delivering_ == 0) ReleaseJs();
  }

  // The handle and the thread-safe function both point at this object; the later of the two
  // finalizers frees it.
  static void OnHandleFinalized(Napi::Env, QmpConn* conn) {
    conn->Close();
    conn->handle_gone_ = true;
    if (!conn->started_ || conn->tsfn_gone_) delete conn;
  }

 private:
  static void OnTsfnFinalized(napi_env, void* data, void*) {
    auto* conn = static_cast<QmpConn*>(data);
    conn->tsfn_gone_ = true;
    if (conn->handle_gone_) delete conn;
  }

  static void OnEnvCleanup(void* arg) { static_cast<QmpConn*>(arg)->Close(); }

  void Wake() {
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd_.get(), &one, sizeof(one));
    (void)ignored;  // EAGAIN: the counter is already non-zero, the thread wakes anyway
  }

  // Writes as much of the queue as the socket takes now. Holds mu_.
  void FlushLocked() {
    while (!queue_.empty()) {
      Chunk& chunk = queue_.front();
      struct iovec iov;
      iov.iov_base = &chunk.bytes[chunk.offset];
      iov.iov_len = chunk.bytes.size() - chunk.offset;
      struct msghdr msg;
      std::memset(&msg, 0, sizeof(msg));
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      union {
        char buf[CMSG_SPACE(sizeof(int) * kMaxFds)];
        struct cmsghdr align;
      } control;
      if (chunk.fd_count > 0) {
        size_t payload = chunk.fd_count * sizeof(int);
        std::memset(control.buf, 0, sizeof(control.buf));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(payload);
        struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(payload);
        int* slots = reinterpret_cast<int*>(CMSG_DATA(cmsg));
        for (size_t i = 0; i < chunk.fd_count; i++) slots[i] = chunk.fds[i].get();
      }
      ssize_t sent = sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        write_error_ = errno;
        queue_.clear();
        return;
      }
      // The fds went out with these bytes; the rest of the chunk must not carry them again.
      for (size_t i = 0; i < chunk.fd_count; i++) chunk.fds[i].Reset();
      chunk.fd_count = 0;
      chunk.offset += static_cast<size_t>(sent);
      if (chunk.offset == chunk.bytes.size()) queue_.pop_front();
    }
  }

  // The reader thread: waits for data, the socket becoming writable, or a wake-up from JS.
  void ReaderLoop() {
    char* scratch = new char[kReadChunk];
    for (;;) {
      bool want_write;
      int write_error;
      {
        std::lock_guard<std::mutex> lock(mu_);
        want_write = !queue_.empty();
        write_error = write_error_;
      }
      if (write_error != 0) {
        // Replies and events QEMU sent before it went away still reach JS ahead of the error.
        int err = 0;
        const char* syscall = "read";
        ReadAvailable(scratch, &err, &syscall);
        bool read_failed = err != 0 && err != EAGAIN;
        PeerClosed(read_failed ? err : write_error, read_failed ? syscall : "sendmsg");
        break;
      }
      struct pollfd fds[2];
      fds[0].fd = fd_.get();
      fds[0].events = static_cast<short>(POLLIN | (want_write ? POLLOUT : 0));
      fds[1].fd = wake_fd_.get();
      fds[1].events = POLLIN;
      int ready = poll(fds, 2, -1);
      if (ready < 0) {
        if (errno == EINTR) continue;
        PeerClosed(errno, "poll");
        break;
      }
      if (stop_.load()) break;
      if ((fds[1].revents & POLLIN) != 0) {
        uint64_t count;
        ssize_t ignored = read(wake_fd_.get(), &count, sizeof(count));
        (void)ignored;
      }
      if ((fds[0].revents & POLLOUT) != 0) {
        std::lock_guard<std::mutex> lock(mu_);
        FlushLocked();
      }
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        int err = 0;
        const char* syscall = "read";
        if (!ReadAvailable(scratch, &err, &syscall)) {
          int write_err;
          {
            std::lock_guard<std::mutex> lock(mu_);
            write_err = write_error_;
          }
          if (err == 0 && write_err != 0) PeerClosed(write_err, "sendmsg");
          else PeerClosed(err, syscall);
          break;
        }
      }
    }
    delete[] scratch;
  }

  // Reads until the socket is drained. Returns false at EOF (err 0) or on an error (err set);
  // true with err EAGAIN or 0 while the connection lives.
  bool ReadAvailable(char* scratch, int* err, const char** syscall) {
    for (;;) {
      ssize_t got = read(fd_.get(), scratch, kReadChunk);
      if (got > 0) {
        buffer_.append(scratch, static_cast<size_t>(got));
        SplitLines();
        if (buffer_.size() > kMaxLineBytes) {
          *err = EMSGSIZE;
          return false;
        }
        if (static_cast<size_t>(got) < kReadChunk) {
          *err = EAGAIN;
          return true;
        }
        continue;
      }
      if (got == 0) return false;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        *err = EAGAIN;
        return true;
      }
      *err = errno;
      *syscall = "read";
      return false;
    }
  }

  // Moves complete lines (CR LF or LF stripped, empty ones dropped) to lines_ and tells JS.
  void SplitLines() {
    size_t start = 0;
    mu_.lock();
    size_t queued = lines_.size();
    for (;;) {
      size_t newline = buffer_.find('\n', scanned_);
      if (newline == std::string::npos) break;
      size_t end = newline;
      if (end > start && buffer_[end - 1] == '\r') end--;
      if (end > start) lines_.push_back(Line{buffer_.substr(start, end - start)});
      start = newline + 1;
      scanned_ = start;
    }
    bool post = lines_.size() > queued && TakePostLocked();
    mu_.unlock();
    buffer_.erase(0, start);
    scanned_ = buffer_.size();
    if (post) Post();
  }

  void PeerClosed(int err, const char* syscall) {
    mu_.lock();
    peer_closed_ = true;
    close_errno_ = err;
    close_syscall_ = syscall;
    bool post = TakePostLocked();
    mu_.unlock();
    if (post) Post();
  }

  // True when the JS thread has not been asked yet to pick up lines_ / the close. Holds mu_.
  bool TakePostLocked() {
    if (post_pending_) return false;
    post_pending_ = true;
    return true;
  }

  void Post() { napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking); }

  // On the JS thread, through the thread-safe function.
  static void DeliverToJs(napi_env env, napi_value, void* context, void*) {
    if (env == nullptr) return;  // being torn down
    static_cast<QmpConn*>(context)->Deliver();
  }

  void Deliver() {
    if (closed_) return;
    std::deque<Line> lines;
    bool peer_closed;
    int err;
    const char* syscall;
    {
      std::lock_guard<std::mutex> lock(mu_);
      lines.swap(lines_);
      peer_closed = peer_closed_;
      err = close_errno_;
      syscall = close_syscall_;
      post_pending_ = false;
    }
    Napi::Env env(env_);
    delivering_++;
    for (Line& line : lines) {
      Napi::HandleScope scope(env);
      CallJs(on_line_.Value(), Napi::String::New(env, line.text));
      if (closed_) break;
    }
    if (!closed_ && peer_closed) {
      Napi::HandleScope scope(env);
      Napi::Function on_close = on_close_.Value();
      Close();
      CallJs(on_close, err != 0 ? ErrnoError(env, err, syscall).Value() : env.Null());
    }
    delivering_--;
    if (closed_ && delivering_ == 0) ReleaseJs();
  }

  void CallJs(Napi::Function fn, Napi::Value arg) {
    Napi::Env env(env_);
    // MakeCallback runs the microtask queue afterwards, so promises settled by the callback
    // continue at once instead of waiting for the next unrelated tick.
    fn.MakeCallback(env.Global(), {arg}, *context_);
    if (env.IsExceptionPending()) {
      Napi::Error error = env.GetAndClearPendingException();
      napi_fatal_exception(env_, error.Value());
    }
  }

  void ReleaseJs() {
    self_.Reset();
    on_line_.Reset();
    on_close_.Reset();
    delete context_;
    context_ = nullptr;
  }

  napi_env env_;
  OwnedFd fd_;
  OwnedFd wake_fd_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  napi_threadsafe_function tsfn_ = nullptr;

  // Shared between the JS thread and the reader thread.
  std::mutex mu_;
  std::deque<Chunk> queue_;
  std::deque<Line> lines_;
  int write_error_ = 0;
  bool peer_closed_ = false;
  int close_errno_ = 0;
  const char* close_syscall_ = "read";
  bool post_pending_ = false;

  // Reader thread only.
  std::string buffer_;  // bytes of a line not yet complete
  size_t scanned_ = 0;  // buffer_ has no '\n' before this offset

  // JS thread only.
  bool started_ = false;
  bool closed_ = false;
  bool handle_gone_ = false;
  bool tsfn_gone_ = false;
  int delivering_ = 0;
  Napi::Reference<Napi::External<QmpConn>> self_;
  Napi::FunctionReference on_line_;
  Napi::FunctionReference on_close_;
  Napi::AsyncContext* context_ = nullptr;
};

// Returns the connection behind a handle, or throws a TypeError and returns nullptr.
QmpConn* Unwrap(const Napi::Env& env, const Napi::Value& value) {
  if (value.IsExternal()) {
    auto external = value.As<Napi::External<QmpConn>>();
    if (external.CheckTypeTag(&kQmpHandleTag)) return external.Data();
  }
  Napi::TypeError::New(env, "expected a QMP socket handle").ThrowAsJavaScriptException();
  return nullptr;
}

class ConnectWorker : public Napi::AsyncWorker {
 public:
  ConnectWorker(Napi::Env env, std::string path, double timeout_ms)
      : Napi::AsyncWorker(env, "virtnode:qmpConnect"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        timeout_ms_(timeout_ms) {}

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
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::microseconds(static_cast<int64_t>(timeout_ms_ * 1000));
    for (;;) {
      OwnedFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (fd.get() < 0) {
        Fail(errno, "socket");
        return;
      }
      if (connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) == 0) {
        int flags = fcntl(fd.get(), F_GETFL);
        if (flags < 0 || fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
          Fail(errno, "fcntl");
          return;
        }
        fd_ = std::move(fd);
        return;
      }
      int err = errno;
      bool retry = err == ENOENT || err == ECONNREFUSED || err == EINTR;
      if (!retry || std::chrono::steady_clock::now() >= deadline) {
        Fail(err, "connect");
        return;
      }
      std::this_thread::sleep_for(kConnectRetryInterval);
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      deferred_.Reject(ErrnoError(env, err_, syscall_, path_).Value());
      return;
    }
    auto* conn = new QmpConn(env, fd_.Release());
    auto handle = Napi::External<QmpConn>::New(env, conn, QmpConn::OnHandleFinalized);
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
  double timeout_ms_;
  OwnedFd fd_;
  int err_ = 0;
  const char* syscall_ = "";
};

}  // namespace

Napi::Value QmpConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "qmpConnect(path: string, timeoutMs: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double timeout_ms = info[1].As<Napi::Number>().DoubleValue();
  if (!(timeout_ms >= 0)) timeout_ms = 0;
  auto* worker = new ConnectWorker(env, info[0].As<Napi::String>().Utf8Value(), timeout_ms);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value QmpStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  QmpConn* conn = Unwrap(env, info[0]);
  if (conn == nullptr) return env.Undefined();
  if (!info[1].IsFunction() || !info[2].IsFunction()) {
    Napi::TypeError::New(env, "qmpStart(handle, onLine: Function, onClose: Function)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (conn->closed() || conn->started()) {
    Napi::Error::New(env, conn->closed() ? "QMP socket is closed" : "QMP socket already started")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int err = conn->Start(info[0].As<Napi::External<QmpConn>>(), info[1].As<Napi::Function>(),
                        info[2].As<Napi::Function>());
  if (err != 0) ErrnoError(env, err, "eventfd").ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value QmpSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  QmpConn* conn = Unwrap(env, info[0]);
  if (conn == nullptr) return env.Undefined();
  std::string bytes;
  if (info[1].IsString()) {
    bytes = info[1].As<Napi::String>().Utf8Value();
  } else if (info[1].IsBuffer()) {
    auto buffer = info[1].As<Napi::Buffer<char>>();
    bytes.assign(buffer.Data(), buffer.Length());
  } else {
    Napi::TypeError::New(env, "qmpSend(handle, data: string | Buffer, fds?: number[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fds[kMaxFds];
  size_t fd_count = 0;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    bool valid = info[2].IsArray() && info[2].As<Napi::Array>().Length() <= kMaxFds;
    if (valid) {
      auto array = info[2].As<Napi::Array>();
      for (uint32_t i = 0; i < array.Length() && valid; i++) {
        Napi::Value item = array.Get(i);
        valid = item.IsNumber() && item.As<Napi::Number>().Int32Value() >= 0;
        if (valid) fds[fd_count++] = item.As<Napi::Number>().Int32Value();
      }
    }
    if (!valid) {
      Napi::TypeError::New(env, "fds must be an array of at most 16 file descriptors").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  if (conn->closed()) {
    ErrnoError(env, EBADF, "sendmsg").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int err = conn->Send(std::move(bytes), fds, fd_count);
  if (err != 0) ErrnoError(env, err, "fcntl").ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value QmpSetRef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  QmpConn* conn = Unwrap(env, info[0]);
  if (conn != nullptr) conn->SetRef(info[1].ToBoolean().Value());
  return env.Undefined();
}

Napi::Value QmpClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  QmpConn* conn = Unwrap(env, info[0]);
  if (conn != nullptr) conn->Close();
  return env.Undefined();
}

}  // namespace virtnode
