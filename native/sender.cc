// The native sender: a thread per Netconsole that drains the transmit ring straight out of the
// shared WebAssembly memory (no copies into JavaScript) with sendmmsg, and the UDP sockets it
// sends through.
//
// Ring protocol (assembly/layout.ts, assembly/ring.ts): writers publish RING_HEAD (u64) after a
// record's slots are written; this thread consumes slots up to it, hands them to the kernel, and
// then publishes RING_TAIL (u64): the grace period of deferred cleanup and flush() wait on it.
// Idle: it sets RING_SLEEPING = 2 ("native") and futex-waits on RING_WAKE. The first writer to see
// RING_SLEEPING set takes it down, bumps RING_WAKE and (for 2) calls futexWake() (futex.cc; V8's
// Atomics.notify does not wake a native futex waiter): Core.ring.wakeSender, src/core/ring.ts.
// Room: writers that wait for room (overflow 'wait') sleep in futexWait() (futex.cc) on RING_TAIL's low word;
// after each RING_TAIL store this thread wakes them once the tail reached ROOM_AT (src/core/room.ts).
//
// Nothing is lost to a full queue: EAGAIN (the socket's send buffer is full) waits for POLLOUT,
// ENOBUFS (a qdisc dropped it; UDP sockets report that through IP_RECVERR) backs off and retries,
// both without holding `mu_`, after publishing the tail up to the blocked datagram. A target whose
// socket stays unwritable for kStallNs is given up on: its datagrams are tried once each, and what
// still fails is lost, counted (transmit_errors per datagram, TGT_CNT_TX_LOST per message) and
// reported in-band by the write path, so one dead target does not wedge the others. Other errors
// are retried once (a pending ICMP error fails the next send without sending it) and then counted.
//
// Paths (path.h): before a target's datagrams go out, the thread asks whether its path can carry
// them (device up, running, with carrier; the next hop resolved); after each batch, whether the
// device kept its carrier. A target whose path cannot carry is held: its slots stay in the ring
// while other targets' slots after them are sent (and marked KF_DONE), RING_TAIL stays at its
// oldest slot, so a full ring meets the writers' overflow policy. While its next hop resolves, its
// oldest datagram goes out alone as the probe (it waits in the neighbour's queue and starts the
// resolution; a failed resolution loses it, counted). Past the hold bound (holdMs), or once the
// target is no longer enabled, what it holds is given up and counted lost, as are its later
// datagrams until the path is back. A batch after which the device had lost its carrier may have
// been dropped by the kernel without a word: its messages are counted lost and unconfirmed.
//
// Routes (which socket and destination a target's slots go to) are changed by the host under
// `mu_`, which this thread also holds while it builds and sends a batch: after clearRoute()
// returns, the thread never touches that route's socket again, so the host may close it. While it
// waits for a blocked socket it does not hold `mu_`; that socket stays open meanwhile because the
// host closes a target's socket only after RING_TAIL passed its slots (deferred cleanup).
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <memory>
#include <string>

#include "common.h"
#include "drain.h"

namespace nc {

class Sender : public Napi::ObjectWrap<Sender> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Sender",
        {InstanceMethod<&Sender::SetRoute>("setRoute"), InstanceMethod<&Sender::ClearRoute>("clearRoute"),
         InstanceMethod<&Sender::Wake>("wake"), InstanceMethod<&Sender::Stop>("stop"),
         InstanceMethod<&Sender::Stats>("stats"), InstanceMethod<&Sender::NotifyAt>("notifyAt")});
  }

  // new Sender(memory: Uint8Array over the whole shared memory, layout: Record<string, number>,
  //            tuning?: { batch, spin, timer: boolean, timerUs, holdMs, txRing: boolean, gso: boolean },
  //            onTail?: () => void: called on this thread's loop once RING_TAIL reached notifyAt's position)
  explicit Sender(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sender>(info) {
    Napi::Env env = info.Env();
    size_t len;
    uint8_t* mem;
    if (info.Length() < 2 || !ViewOf(info[0], &mem, &len) || !info[1].IsObject()) {
      Napi::TypeError::New(env, "Sender(memory: Uint8Array, layout: object)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object l = info[1].As<Napi::Object>();
    auto get = [&](const char* k) { return l.Get(k).As<Napi::Number>().Uint32Value(); };
    if (get("LAYOUT_VERSION") != layout::LAYOUT_VERSION || get("MAX_TARGETS") != layout::MAX_TARGETS) {
      Napi::RangeError::New(env, "Sender: the addon was built for another layout (native/layout.h): rebuild it")
          .ThrowAsJavaScriptException();
      return;
    }
    Layout lay = {get("RING_HEAD"),
                  get("RING_TAIL"),
                  get("RING_WAKE"),
                  get("RING_SLEEPING"),
                  get("RING_OFF"),
                  get("ringSize"),
                  get("ROOM_WAITERS"),
                  get("ROOM_AT"),
                  get("LOST_TOTAL"),
                  get("TARGETS_OFF"),
                  get("TARGET_SIZE"),
                  get("TGT_CNT_TX_ERRORS"),
                  get("TGT_CNT_TX_LOST"),
                  get("TGT_CNT_STALLS"),
                  get("SLOT_LEN"),
                  get("SLOT_TARGET"),
                  get("SLOT_KIND"),
                  get("SLOT_GEN"),
                  get("SLOT_HDR"),
                  get("K_PAD"),
                  get("K_MASK"),
                  get("KF_FIRST"),
                  get("TGT_STATE"),
                  get("ST_ENABLED"),
                  get("TGT_CNT_UNCONFIRMED"),
                  get("TGT_CNT_HOLDS"),
                  get("KF_DONE"),
                  get("SLOT_AUX"),
                  get("KF_REPORT"),
                  get("TGT_CNT_REPORT_LOST")};
    if (static_cast<size_t>(lay.ringOff) + lay.ringSize > len || (lay.ringSize & (lay.ringSize - 1)) != 0) {
      Napi::RangeError::New(env, "Sender: the ring does not fit the memory view").ThrowAsJavaScriptException();
      return;
    }
    Tuning tune;
    if (info.Length() > 2 && info[2].IsObject()) {
      Napi::Object t = info[2].As<Napi::Object>();
      auto num = [&](const char* k, int dflt, int lo, int hi) {
        Napi::Value v = t.Get(k);
        int n = v.IsNumber() ? v.As<Napi::Number>().Int32Value() : dflt;
        return n < lo ? lo : n > hi ? hi : n;
      };
      tune.batch = num("batch", kBatchDefault, 1, kBatchMax);
      tune.spin = num("spin", tune.spin, 0, 1 << 24);
      tune.timerUs = num("timerUs", tune.timerUs, 1, 1000000);
      tune.timer = t.Get("timer").ToBoolean().Value();
      tune.holdMs = num("holdMs", kHoldMsDefault, 0, 3600 * 1000);
      if (t.Has("txRing")) tune.txRing = t.Get("txRing").ToBoolean().Value();
      if (t.Has("gso")) tune.gso = t.Get("gso").ToBoolean().Value();
    }
    memRef_ = Napi::Persistent(info[0].As<Napi::Object>());  // keeps the memory alive with the thread
    Retainer retain(mem, static_cast<uint64_t>(get("memMax")), RetainLayout::From(get));
    drain_ = std::make_unique<Drain>(mem, lay, tune, retain);
    if (info.Length() > 3 && info[3].IsFunction()) {
      // Unref'd: a Netconsole not closed does not keep the process alive for it.
      onTail_ = OnTail::New(env, info[3].As<Napi::Function>(), "netconsole-tail", 0, 1);
      onTail_.Unref(env);
      hasOnTail_ = true;
      drain_->SetNotify([this] { onTail_.NonBlockingCall(); });
    }
    drain_->Start();
  }

  ~Sender() override {
    if (drain_) drain_->Join();
    ReleaseOnTail();
  }

 private:
  // setRoute(t, fd, gen, family (4|6|17 for AF_PACKET), address: Uint8Array (4|16 bytes, or 6 bytes of
  // MAC for raw), port (or ifindex for raw), device name, device ifindex, next hop family (0: none,
  // 4, 6), next hop: Uint8Array (4|16 bytes: the gateway, or the destination on a direct route))
  // -> undefined, or (raw mode) why the socket has no TX ring and its frames go by sendmmsg
  Napi::Value SetRoute(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 10 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
        !info[3].IsNumber() || !info[5].IsNumber() || !info[6].IsString() || !info[7].IsNumber() ||
        !info[8].IsNumber()) {
      return ThrowErrno(env, "setRoute", EINVAL);
    }
    int t = info[0].As<Napi::Number>().Int32Value();
    if (t < 0 || t >= kMaxTargets || !drain_) return ThrowErrno(env, "setRoute", EINVAL);
    Route r;
    r.set = true;
    r.fd = info[1].As<Napi::Number>().Int32Value();
    r.gen = info[2].As<Napi::Number>().Uint32Value();
    int family = info[3].As<Napi::Number>().Int32Value();
    uint8_t* a;
    size_t alen;
    if (!ViewOf(info[4], &a, &alen)) return ThrowErrno(env, "setRoute", EINVAL);
    uint32_t port = info[5].As<Napi::Number>().Uint32Value();
    if (!MakeSockaddr(family, a, alen, port, &r.addr, &r.addrLen)) return ThrowErrno(env, "setRoute", EINVAL);
    std::string ifname = info[6].As<Napi::String>().Utf8Value();
    RoutePath path;
    path.ifname = ifname.c_str();
    path.ifindex = info[7].As<Napi::Number>().Int32Value();
    int hopFamily = info[8].As<Napi::Number>().Int32Value();
    if (hopFamily != 0) {
      uint8_t* hop;
      size_t hopLen;
      if ((hopFamily != 4 && hopFamily != 6) || !ViewOf(info[9], &hop, &hopLen) ||
          hopLen != (hopFamily == 4 ? 4u : 16u)) {
        return ThrowErrno(env, "setRoute", EINVAL);
      }
      path.hopFamily = hopFamily == 4 ? AF_INET : AF_INET6;
      path.hop = hop;
    }
    std::string why = drain_->SetRoute(t, r, path);
    return why.empty() ? env.Undefined() : Napi::String::New(env, why);
  }

  Napi::Value ClearRoute(const Napi::CallbackInfo& info) {
    int t = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
    if (t >= 0 && t < kMaxTargets && drain_) drain_->ClearRoute(t);
    return info.Env().Undefined();
  }

  Napi::Value Wake(const Napi::CallbackInfo& info) {
    if (drain_) drain_->Wake();
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (drain_) drain_->Join();
    ReleaseOnTail();  // the thread is gone: nothing calls it any more
    return info.Env().Undefined();
  }

  // notifyAt(pos): onTail is called once RING_TAIL >= pos (the lowest position armed wins).
  Napi::Value NotifyAt(const Napi::CallbackInfo& info) {
    if (drain_ && info.Length() > 0 && info[0].IsNumber())
      drain_->NotifyAt(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
    return info.Env().Undefined();
  }

  void ReleaseOnTail() {
    if (!hasOnTail_) return;
    hasOnTail_ = false;
    onTail_.Release();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    if (!drain_) return o;
    DrainStats s = drain_->Stats();
    auto put = [&](const char* k, uint64_t v) { o.Set(k, static_cast<double>(v)); };
    put("datagrams", s.datagrams);
    put("batches", s.batches);
    put("errors", s.errors);
    put("discarded", s.discarded);
    put("wakeups", s.wakeups);
    put("eagain", s.eagain);
    put("enobufs", s.enobufs);
    put("retries", s.retries);
    put("stalls", s.stalls);
    put("roomWakes", s.roomWakes);
    put("holds", s.holds);
    put("probes", s.probes);
    put("unconfirmed", s.unconfirmed);
    put("ringFrames", s.ringFrames);
    put("bypassFrames", s.bypassFrames);
    put("tailNotifies", s.tailNotifies);
    put("gsoSends", s.gsoSends);
    put("gsoDatagrams", s.gsoDatagrams);
    put("gsoFallbacks", s.gsoFallbacks);
    return o;
  }

  Napi::ObjectReference memRef_;
  std::unique_ptr<Drain> drain_;
  // Calls onTail on the event loop with the C call, not Function::Call: a call still queued when
  // the environment is torn down (the process ending just after close(): the thread's last
  // notification, behind an unref'd handle) runs while JavaScript can no longer be called, and
  // node-addon-api turns that failure into a fatal error (Error::ThrowAsJavaScriptException in
  // Function::Call). Here it returns its status, and the call is dropped: nobody waits for it.
  static void CallOnTail(Napi::Env env, Napi::Function fn, std::nullptr_t*, void*) {
    if (env == nullptr || fn.IsEmpty()) return;
    napi_value ignored;
    napi_call_function(env, env.Undefined(), fn, 0, nullptr, &ignored);
  }
  using OnTail = Napi::TypedThreadSafeFunction<std::nullptr_t, void, CallOnTail>;
  OnTail onTail_;
  bool hasOnTail_ = false;
};

// retainRange(memory: Uint8Array over the whole shared memory, layout, ranges: number[]): the
// thread's retention (retain.h) over [ranges[0], ranges[1]), [ranges[2], ranges[3]) ..., on this
// thread, with one Retainer: for test/retain-native.test.ts, which compares it with retain.ts.
Napi::Value RetainRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* mem;
  size_t len;
  if (info.Length() < 3 || !ViewOf(info[0], &mem, &len) || !info[1].IsObject() || !info[2].IsArray()) {
    return ThrowErrno(env, "retainRange", EINVAL);
  }
  Napi::Object l = info[1].As<Napi::Object>();
  auto get = [&](const char* k) { return l.Get(k).As<Napi::Number>().Uint32Value(); };
  Retainer retain(mem, len, RetainLayout::From(get));  // the view's length bounds the regions
  Napi::Array r = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i + 1 < r.Length(); i += 2) {
    retain.Range(static_cast<uint64_t>(r.Get(i).As<Napi::Number>().Int64Value()),
                 static_cast<uint64_t>(r.Get(i + 1).As<Napi::Number>().Int64Value()));
  }
  return env.Undefined();
}

void InitSender(Napi::Env env, Napi::Object exports) {
  exports.Set("Sender", Sender::Define(env));
  exports.Set("retainRange", Napi::Function::New(env, RetainRange, "retainRange"));
}

}  // namespace nc
