// rtnetlink for the device (netdev) event source and look-ups (src/netdev/rtnetlink.ts).
//
// NetlinkWatcher: an AF_NETLINK/NETLINK_ROUTE socket bound to multicast groups, polled with
// uv_poll on the event loop of the thread that created it. Each recv() buffer goes to the JS
// callback as is (JS parses it); an overrun (ENOBUFS: the kernel dropped notifications because
// the receive buffer was full) or a truncated read is passed on as a zero-length buffer, meaning
// "state lost: resync with a dump". Dump requests sent with request() are answered on the same
// socket, in order with the notifications, so JS can tell which notifications are older than
// the dump. The poll handle is unref'd by default (a watcher never keeps the process alive), and
// is closed by close(), by the garbage collector (only possible once closed: the object holds a
// reference to itself while open), or by an environment cleanup hook when the thread's
// environment goes away (a worker exiting with an open watcher), whichever comes first.
//
// netlinkDump: a synchronous dump on a socket of its own, for look-ups.
//
// All state lives in the instances: nothing is shared between threads.
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common.h"

namespace nc {

namespace {

constexpr size_t kRecvBuffer = 64 * 1024;        // > the largest dump chunk the kernel builds (32 KiB)
constexpr int kDefaultRcvbuf = 4 * 1024 * 1024;  // notifications queued while JS is busy
constexpr int kMaxReadsPerWakeup = 64;           // level-triggered: the poll fires again if more

// Size of the family header that follows nlmsghdr in a request of `type`.
size_t RequestHeaderSize(uint16_t type) {
  if (type >= RTM_BASE && type < RTM_BASE + 4) return sizeof(ifinfomsg);  // links
  if (type >= RTM_NEWADDR && type < RTM_NEWADDR + 4) return sizeof(ifaddrmsg);
  if (type >= RTM_NEWROUTE && type < RTM_NEWROUTE + 4) return sizeof(rtmsg);
  if (type >= RTM_NEWNEIGH && type < RTM_NEWNEIGH + 4) return sizeof(ndmsg);
  return NLMSG_ALIGN(sizeof(rtgenmsg));
}

// Fills `req` with a dump request; returns its length.
size_t BuildDumpRequest(uint8_t* req, size_t cap, uint16_t type, uint8_t family, uint32_t seq) {
  size_t len = NLMSG_LENGTH(RequestHeaderSize(type));
  if (len > cap) return 0;
  memset(req, 0, len);
  nlmsghdr* nlh = reinterpret_cast<nlmsghdr*>(req);
  nlh->nlmsg_len = static_cast<uint32_t>(len);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_pid = 0;
  // The family is the first byte of every rtnetlink family header (rtgenmsg, ifinfomsg, ...).
  req[NLMSG_HDRLEN] = family;
  return len;
}

bool ArgsTypeFamily(const Napi::CallbackInfo& info, const char* what, uint16_t* type, uint8_t* family) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, std::string(what) + ": expected (type: number, family: number)")
        .ThrowAsJavaScriptException();
    return false;
  }
  uint32_t t = info[0].As<Napi::Number>().Uint32Value();
  uint32_t f = info[1].As<Napi::Number>().Uint32Value();
  if (t < RTM_BASE || t > 0xffff || f > 0xff) {
    Napi::RangeError::New(env, std::string(what) + ": type must be an RTM_* message type, family 0..255")
        .ThrowAsJavaScriptException();
    return false;
  }
  *type = static_cast<uint16_t>(t);
  *family = static_cast<uint8_t>(f);
  return true;
}

uint32_t PortIdOf(int fd) {
  sockaddr_nl sa{};
  socklen_t len = sizeof sa;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) return 0;
  return sa.nl_pid;
}

void SetRcvbuf(int fd, int bytes) {
  // SO_RCVBUFFORCE goes past net.core.rmem_max (needs CAP_NET_ADMIN); else the capped SO_RCVBUF.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
}

// ------------------------------------------------------------------------------------------
class NetlinkWatcher : public Napi::ObjectWrap<NetlinkWatcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NetlinkWatcher",
                       {
                           InstanceMethod("request", &NetlinkWatcher::Request),
                           InstanceMethod("ref", &NetlinkWatcher::RefPoll),
                           InstanceMethod("unref", &NetlinkWatcher::UnrefPoll),
                           InstanceMethod("close", &NetlinkWatcher::Close),
                           InstanceAccessor("portId", &NetlinkWatcher::GetPortId, nullptr),
                           InstanceAccessor("closed", &NetlinkWatcher::GetClosed, nullptr),
                       });
  }

  // new NetlinkWatcher(groups: number, onMessages: (buf: Buffer) => void, rcvbufBytes?: number)
  explicit NetlinkWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkWatcher>(info) {
    Napi::Env env = info.Env();
    env_ = env;
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction() ||
        (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNumber())) {
      Napi::TypeError::New(env, "NetlinkWatcher: expected (groups: number, onMessages: function, rcvbufBytes?: number)")
          .ThrowAsJavaScriptException();
      return;
    }
    uint32_t groups = info[0].As<Napi::Number>().Uint32Value();
    int rcvbuf = kDefaultRcvbuf;
    if (info.Length() > 2 && info[2].IsNumber()) {
      double v = info[2].As<Napi::Number>().DoubleValue();
      if (!(v >= 0 && v <= (1 << 30))) {
        Napi::RangeError::New(env, "NetlinkWatcher: rcvbufBytes must be 0..2^30").ThrowAsJavaScriptException();
        return;
      }
      rcvbuf = static_cast<int>(v);
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "NetlinkWatcher: no event loop").ThrowAsJavaScriptException();
      return;
    }

    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) {
      ThrowErrno(env, "socket", errno);
      return;
    }
    SetRcvbuf(fd_, rcvbuf);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = groups;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
      int e = errno;
      CloseFd();
      ThrowErrno(env, "bind", e);
      return;
    }
    portId_ = PortIdOf(fd_);

    poll_ = new uv_poll_t;
    int rc = uv_poll_init(loop, poll_, fd_);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      CloseFd();
      ThrowErrno(env, "uv_poll_init", -rc);
      return;
    }
    poll_->data = this;
    rc = uv_poll_start(poll_, UV_READABLE, &NetlinkWatcher::OnReadable);
    if (rc != 0) {
      StopPoll();
      CloseFd();
      ThrowErrno(env, "uv_poll_start", -rc);
      return;
    }
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    cb_ = Napi::Persistent(info[1].As<Napi::Function>());
    napi_add_env_cleanup_hook(env, &NetlinkWatcher::OnEnvCleanup, this);
    hooked_ = true;
    Ref();  // open: the watcher outlives the caller's references until close()
    selfRef_ = true;
  }

  ~NetlinkWatcher() override { Shutdown(); }

 private:
  // Stops polling, closes the socket, drops the cleanup hook. Safe to call more than once and
  // from any of: close(), the finalizer, the environment cleanup hook. Does not touch JS.
  void Shutdown() {
    StopPoll();
    CloseFd();
    if (hooked_) {
      hooked_ = false;
      napi_remove_env_cleanup_hook(env_, &NetlinkWatcher::OnEnvCleanup, this);
    }
  }

  void StopPoll() {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      poll_->data = nullptr;
      // The close callback only frees the handle: it may run after this object is gone.
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
  }

  void CloseFd() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  static void OnEnvCleanup(void* arg) {
    auto* self = static_cast<NetlinkWatcher*>(arg);
    self->hooked_ = false;  // being run: removing it now is not needed
    self->StopPoll();
    self->CloseFd();
  }

  static void OnReadable(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<NetlinkWatcher*>(handle->data);
    if (self == nullptr) return;
    self->Drain(status);
  }

  // Reads what is queued and hands each buffer to JS. Raw N-API calls, checked one by one: the
  // poll can fire while the environment is being torn down (Node runs the loop once more in
  // FreeEnvironment, before the cleanup hooks), when JS can no longer run; node-addon-api would
  // turn those failures into a fatal error.
  void Drain(int status) {
    napi_env env = env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    if (buf_.empty()) buf_.resize(kRecvBuffer);
    for (int reads = 0; reads < kMaxReadsPerWakeup && fd_ >= 0; reads++) {
      iovec iov{buf_.data(), buf_.size()};
      sockaddr_nl from{};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      ssize_t n = recvmsg(fd_, &msg, 0);
      bool overrun = false;
      if (n < 0) {
        int e = errno;
        if (e == EINTR) continue;
        if (e == EAGAIN || e == EWOULDBLOCK) break;
        // ENOBUFS: the kernel dropped notifications. Anything else is not expected on a netlink
        // socket: report it as lost state too, and stop reading until the next wake-up.
        overrun = true;
        if (e != ENOBUFS) reads = kMaxReadsPerWakeup;
      } else if ((msg.msg_flags & MSG_TRUNC) != 0) {
        overrun = true;  // a message was cut: treat as lost state
      } else if (from.nl_pid != 0) {
        continue;  // only the kernel talks to us
      }
      napi_value buffer;
      void* data;
      napi_status st = overrun ? napi_create_buffer(env, 0, &data, &buffer)
                               : napi_create_buffer_copy(env, static_cast<size_t>(n), buf_.data(), &data, &buffer);
      napi_value fn;
      napi_value self;
      napi_value result;
      if (st == napi_ok) st = napi_get_reference_value(env, cb_, &fn);
      if (st == napi_ok) st = napi_get_reference_value(env, static_cast<napi_ref>(*this), &self);
      if (st == napi_ok && self == nullptr) st = napi_generic_failure;
      if (st == napi_ok) st = napi_make_callback(env, nullptr, self, fn, 1, &buffer, &result);
      if (st != napi_ok) {
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (pending) {
          // A throwing callback is reported like a throwing listener of any I/O event.
          napi_value err;
          if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
        } else {
          // JS cannot run any more: the environment is going away. Stop; the cleanup hook or the
          // finalizer does the rest.
          StopPoll();
          CloseFd();
        }
        break;
      }
    }
    napi_close_handle_scope(env, scope);
  }

  // request(type, family) -> seq: sends a NLM_F_DUMP request; the replies come to onMessages
  // with this nlmsg_seq and nlmsg_pid == portId.
  Napi::Value Request(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint16_t type;
    uint8_t family;
    if (!ArgsTypeFamily(info, "request", &type, &family)) return env.Undefined();
    if (fd_ < 0) {
      Napi::Error::New(env, "request: the watcher is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint8_t req[64];
    uint32_t seq = ++seq_;
    size_t len = BuildDumpRequest(req, sizeof req, type, family, seq);
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    for (;;) {
      ssize_t s = sendto(fd_, req, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      if (s >= 0) break;
      if (errno == EINTR) continue;
      return ThrowErrno(env, "sendto", errno);
    }
    return Napi::Number::New(env, seq);
  }

  Napi::Value RefPoll(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value UnrefPoll(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    if (selfRef_) {
      selfRef_ = false;
      Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value GetPortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), portId_); }
  Napi::Value GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), fd_ < 0); }

  napi_env env_ = nullptr;
  int fd_ = -1;
  uint32_t portId_ = 0;
  uint32_t seq_ = 0;
  uv_poll_t* poll_ = nullptr;
  bool hooked_ = false;
  bool selfRef_ = false;
  std::vector<uint8_t> buf_;
  Napi::FunctionReference cb_;
};

// ------------------------------------------------------------------------------------------
// netlinkDump(type, family) -> Buffer: every reply message of one dump, concatenated, up to and
// including NLMSG_DONE (whose flags may carry NLM_F_DUMP_INTR). Throws with `errno` on failure
// (an NLMSG_ERROR reply included).
Napi::Value NetlinkDump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t type;
  uint8_t family;
  if (!ArgsTypeFamily(info, "netlinkDump", &type, &family)) return env.Undefined();

  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timeval tv{5, 0};  // a dump always ends; this only guards against a wedged kernel
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SetRcvbuf(fd, 1 << 20);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return ThrowErrno(env, "bind", errno);
  uint32_t portId = PortIdOf(fd);

  uint8_t req[64];
  const uint32_t seq = 1;
  size_t len = BuildDumpRequest(req, sizeof req, type, family, seq);
  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t s = sendto(fd, req, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    if (s >= 0) break;
    if (errno == EINTR) continue;
    return ThrowErrno(env, "sendto", errno);
  }

  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(kRecvBuffer);
  for (;;) {
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ThrowErrno(env, "recvmsg", errno);
    }
    if ((msg.msg_flags & MSG_TRUNC) != 0) return ThrowErrno(env, "recvmsg", EMSGSIZE);
    if (n == 0) return ThrowErrno(env, "recvmsg", EPIPE);
    size_t rem = static_cast<size_t>(n);
    for (nlmsghdr* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(nlh, rem); nlh = NLMSG_NEXT(nlh, rem)) {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portId) continue;
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return ThrowErrno(env, "netlink", EBADMSG);
        const nlmsgerr* err = static_cast<const nlmsgerr*>(NLMSG_DATA(nlh));
        if (err->error == 0) continue;  // an ACK
        return ThrowErrno(env, "netlink dump", -err->error);
      }
      const uint8_t* p = reinterpret_cast<const uint8_t*>(nlh);
      // Keep every message 4-aligned in the output, as in a recv() buffer.
      out.insert(out.end(), p, p + nlh->nlmsg_len);
      out.resize(NLMSG_ALIGN(out.size()), 0);
      if (nlh->nlmsg_type == NLMSG_DONE) {
        return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
      }
    }
  }
}

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("NetlinkWatcher", NetlinkWatcher::Define(env));
  exports.Set("netlinkDump", Napi::Function::New(env, NetlinkDump, "netlinkDump"));
}

}  // namespace nc
