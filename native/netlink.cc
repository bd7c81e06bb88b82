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
// netlinkDump, a synchronous dump on a socket of its own for look-ups, is netlink-dump.cc; what
// the two share, netlink.h.
//
// All state lives in the instances: nothing is shared between threads.
#include "netlink.h"

#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

namespace nc {

namespace {

constexpr int kDefaultRcvbuf = 4 * 1024 * 1024;  // notifications queued while JS is busy
constexpr int kMaxReadsPerWakeup = 64;           // level-triggered: the poll fires again if more

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
    // Best effort, as the kernel's own cap on it: a refused buffer is the default one, where an
    // overrun only comes sooner, and is passed on as one (ENOBUFS: a zero-length buffer, resync).
    static_cast<void>(AskRcvbuf(fd_, rcvbuf, true));
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
    if (buf_.empty()) buf_.resize(kNetlinkRecvBuffer);
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
    uint32_t seq = ++seq_;
    if (int e = SendDumpRequest(fd_, type, family, seq)) return ThrowErrno(env, "sendto", e);
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

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("NetlinkWatcher", NetlinkWatcher::Define(env));
  exports.Set("netlinkDump", Napi::Function::New(env, NetlinkDump, "netlinkDump"));
}

}  // namespace nc
