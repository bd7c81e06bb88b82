// The native sender: a thread per Netconsole that drains the transmit ring straight out of the
// shared WebAssembly memory (no copies into JavaScript) with sendmmsg, and the UDP sockets it
// sends through.
//
// Ring protocol (assembly/layout.ts, assembly/ring.ts): writers publish RING_HEAD (u64) after a
// record's slots are written; this thread consumes slots up to it, hands them to the kernel, and
// then publishes RING_TAIL (u64): the grace period of deferred cleanup and flush() wait on it.
// Idle: it sets RING_SLEEPING = 2 ("native") and futex-waits on RING_WAKE. Writers bump RING_WAKE
// when they see RING_SLEEPING set (in WebAssembly), and a writer that sees the value 2 calls
// futexWake() (sockets.cc): V8's Atomics.notify does not wake a native futex waiter.
// Room: writers that wait for room (overflow 'wait') sleep in futexWait() (sockets.cc) on RING_TAIL's low word;
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
// Routes (which socket and destination a target's slots go to) are changed by the host under
// `mu_`, which this thread also holds while it builds and sends a batch: after clearRoute()
// returns, the thread never touches that route's socket again, so the host may close it. While it
// waits for a blocked socket it does not hold `mu_`; that socket stays open meanwhile because the
// host closes a target's socket only after RING_TAIL passed its slots (deferred cleanup).
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/futex.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace nc {

namespace {

constexpr int kBatchDefault = 64;  // datagrams per sendmmsg: 4-7x dgram.send (docs/toolchain.md 3.2)
constexpr int kBatchMax = 1024;    // UIO_MAXIOV
constexpr int kMaxTargets = 64;    // layout.ts MAX_TARGETS
constexpr int kSleepingNative = 2; // RING_SLEEPING value of a native sender

uint64_t Load64(uint8_t* p) { return __atomic_load_n(reinterpret_cast<uint64_t*>(p), __ATOMIC_SEQ_CST); }
void Store64(uint8_t* p, uint64_t v) { __atomic_store_n(reinterpret_cast<uint64_t*>(p), v, __ATOMIC_SEQ_CST); }
int32_t Load32(uint8_t* p) { return __atomic_load_n(reinterpret_cast<int32_t*>(p), __ATOMIC_SEQ_CST); }
void Store32(uint8_t* p, int32_t v) { __atomic_store_n(reinterpret_cast<int32_t*>(p), v, __ATOMIC_SEQ_CST); }




struct Route {
  bool set = false;
  int fd = -1;
  uint32_t gen = 0;
  sockaddr_storage addr{};
  socklen_t addrLen = 0;
};

}  // namespace

// The layout offsets the thread needs, passed from src/core/layout.ts (checked against the module).
struct Layout {
  uint32_t ringHead, ringTail, ringWake, ringSleeping, ringOff, ringSize;
  uint32_t roomWaiters, roomAt, lostTotal;
  uint32_t targetsOff, targetSize, cntTxErrors, cntTxLost, cntStalls;
  uint32_t slotLen, slotTarget, slotKind, slotGen, slotHdr, kindPad, kindMask, kfFirst;
};

constexpr int64_t kStallNs = 250 * 1000000LL;  // a socket unwritable this long: give up on its target
constexpr int kPollSliceMs = 10;               // one wait for POLLOUT; stop() is noticed between slices
constexpr int64_t kBackoffMinNs = 50 * 1000;   // ENOBUFS: first pause, doubled up to kBackoffMaxNs
constexpr int64_t kBackoffMaxNs = 2 * 1000000;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// How the thread batches and waits (Netconsole.create's `nativeSender` option; `netconsole tune`
// measures them): datagrams per sendmmsg; when the ring is empty, `spin` polls of RING_HEAD, then a
// futex wait that writers wake ('futex' spins 0, 'spin' the given count), or ('timer') a sleep of
// `timerUs` and another look, never asking writers for a wake-up.
struct Tuning {
  int batch = kBatchDefault;
  int spin = 2000;
  bool timer = false;
  int timerUs = 50;
};

class Sender : public Napi::ObjectWrap<Sender> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Sender",
                       {InstanceMethod<&Sender::SetRoute>("setRoute"), InstanceMethod<&Sender::ClearRoute>("clearRoute"),
                        InstanceMethod<&Sender::Wake>("wake"), InstanceMethod<&Sender::Stop>("stop"),
                        InstanceMethod<&Sender::Stats>("stats")});
  }

  // new Sender(memory: Uint8Array over the whole shared memory, layout: Record<string, number>,
  //            tuning?: { batch, spin, timer: boolean, timerUs })
  explicit Sender(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sender>(info) {
    Napi::Env env = info.Env();
    size_t len;
    if (info.Length() < 2 || !ViewOf(info[0], &mem_, &len) || !info[1].IsObject()) {
      Napi::TypeError::New(env, "Sender(memory: Uint8Array, layout: object)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object l = info[1].As<Napi::Object>();
    auto get = [&](const char* k) { return l.Get(k).As<Napi::Number>().Uint32Value(); };
    lay_ = {get("RING_HEAD"),    get("RING_TAIL"),   get("RING_WAKE"),         get("RING_SLEEPING"),
            get("RING_OFF"),     get("ringSize"),    get("ROOM_WAITERS"),      get("ROOM_AT"),
            get("LOST_TOTAL"),   get("TARGETS_OFF"), get("TARGET_SIZE"),       get("TGT_CNT_TX_ERRORS"),
            get("TGT_CNT_TX_LOST"), get("TGT_CNT_STALLS"), get("SLOT_LEN"),    get("SLOT_TARGET"),
            get("SLOT_KIND"),    get("SLOT_GEN"),    get("SLOT_HDR"),          get("K_PAD"),
            get("K_MASK"),       get("KF_FIRST")};
    if (static_cast<size_t>(lay_.ringOff) + lay_.ringSize > len || (lay_.ringSize & (lay_.ringSize - 1)) != 0) {
      Napi::RangeError::New(env, "Sender: the ring does not fit the memory view").ThrowAsJavaScriptException();
      return;
    }
    if (info.Length() > 2 && info[2].IsObject()) {
      Napi::Object t = info[2].As<Napi::Object>();
      auto num = [&](const char* k, int dflt, int lo, int hi) {
        Napi::Value v = t.Get(k);
        int n = v.IsNumber() ? v.As<Napi::Number>().Int32Value() : dflt;
        return n < lo ? lo : n > hi ? hi : n;
      };
      tune_.batch = num("batch", kBatchDefault, 1, kBatchMax);
      tune_.spin = num("spin", tune_.spin, 0, 1 << 24);
      tune_.timerUs = num("timerUs", tune_.timerUs, 1, 1000000);
      tune_.timer = t.Get("timer").ToBoolean().Value();
    }
    memRef_ = Napi::Persistent(info[0].As<Napi::Object>());  // keeps the memory alive with the thread
    thread_ = std::thread([this] { Run(); });
  }

  ~Sender() override { Join(); }

 private:
  // setRoute(t, fd, gen, family (4|6|17 for AF_PACKET), address: Uint8Array (4|16 bytes, or 8 bytes of MAC
  // for raw), port (or ifindex for raw))
  Napi::Value SetRoute(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int t = info[0].As<Napi::Number>().Int32Value();
    if (t < 0 || t >= kMaxTargets) return ThrowErrno(env, "setRoute", EINVAL);
    Route r;
    r.set = true;
    r.fd = info[1].As<Napi::Number>().Int32Value();
    r.gen = info[2].As<Napi::Number>().Uint32Value();
    int family = info[3].As<Napi::Number>().Int32Value();
    uint8_t* a;
    size_t alen;
    if (!ViewOf(info[4], &a, &alen)) return ThrowErrno(env, "setRoute", EINVAL);
    uint32_t port = info[5].As<Napi::Number>().Uint32Value();
    if (family == 4 && alen == 4) {
      auto* s = reinterpret_cast<sockaddr_in*>(&r.addr);
      s->sin_family = AF_INET;
      s->sin_port = htons(port);
      memcpy(&s->sin_addr, a, 4);
      r.addrLen = sizeof(sockaddr_in);
    } else if (family == 6 && alen == 16) {
      auto* s = reinterpret_cast<sockaddr_in6*>(&r.addr);
      s->sin6_family = AF_INET6;
      s->sin6_port = htons(port);
      memcpy(&s->sin6_addr, a, 16);
      r.addrLen = sizeof(sockaddr_in6);
    } else if (family == AF_PACKET && alen == 6) {
      auto* s = reinterpret_cast<sockaddr_ll*>(&r.addr);
      s->sll_family = AF_PACKET;
      s->sll_ifindex = static_cast<int>(port);
      s->sll_halen = 6;
      memcpy(s->sll_addr, a, 6);
      r.addrLen = sizeof(sockaddr_ll);
    } else {
      return ThrowErrno(env, "setRoute", EINVAL);
    }
    std::lock_guard<std::mutex> g(mu_);
    routes_[t] = r;
    givingUp_[t] = false;
    return env.Undefined();
  }

  Napi::Value ClearRoute(const Napi::CallbackInfo& info) {
    int t = info[0].As<Napi::Number>().Int32Value();
    if (t >= 0 && t < kMaxTargets) {
      std::lock_guard<std::mutex> g(mu_);  // waits for a batch in flight: then the socket is free
      routes_[t] = Route{};
    }
    return info.Env().Undefined();
  }

  Napi::Value Wake(const Napi::CallbackInfo& info) {
    __atomic_add_fetch(reinterpret_cast<int32_t*>(mem_ + lay_.ringWake), 1, __ATOMIC_SEQ_CST);
    Futex(mem_ + lay_.ringWake, FUTEX_WAKE_PRIVATE, 1, nullptr);
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Join();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("datagrams", static_cast<double>(sent_.load()));
    o.Set("batches", static_cast<double>(batches_.load()));
    o.Set("errors", static_cast<double>(errors_.load()));
    o.Set("discarded", static_cast<double>(discarded_.load()));
    o.Set("wakeups", static_cast<double>(wakeups_.load()));
    o.Set("eagain", static_cast<double>(eagain_.load()));
    o.Set("enobufs", static_cast<double>(enobufs_.load()));
    o.Set("retries", static_cast<double>(retries_.load()));
    o.Set("stalls", static_cast<double>(stalls_.load()));
    o.Set("roomWakes", static_cast<double>(roomWakes_.load()));
    return o;
  }

  void Join() {
    if (!thread_.joinable()) return;
    stop_.store(true);
    __atomic_add_fetch(reinterpret_cast<int32_t*>(mem_ + lay_.ringWake), 1, __ATOMIC_SEQ_CST);
    Futex(mem_ + lay_.ringWake, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);
    thread_.join();
  }

  uint8_t* TargetCounter(uint32_t target, uint32_t field) { return mem_ + lay_.targetsOff + target * lay_.targetSize + field; }

  void Add64(uint8_t* p, uint64_t n) { __atomic_add_fetch(reinterpret_cast<uint64_t*>(p), n, __ATOMIC_SEQ_CST); }

  // A datagram that could not be sent: a transmit error, and its message is lost (once).
  void Lose(uint32_t target) {
    errors_++;
    if (target >= kMaxTargets) return;
    Add64(TargetCounter(target, lay_.cntTxErrors), 1);
    if (!msgLost_[target]) {
      msgLost_[target] = true;
      Add64(TargetCounter(target, lay_.cntTxLost), 1);
      Add64(mem_ + lay_.lostTotal, 1);  // after TX_LOST: the write path's scan (write.ts) relies on it
    }
  }

  // After a RING_TAIL store: wake the writers waiting for room once the tail reached what they need.
  void WakeRoom(uint64_t tail) {
    if (Load32(mem_ + lay_.roomWaiters) <= 0 || tail < Load64(mem_ + lay_.roomAt)) return;
    Store64(mem_ + lay_.roomAt, UINT64_MAX);
    Futex(mem_ + lay_.ringTail, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);  // the low word, little-endian
    roomWakes_++;
  }

  void PublishTail(uint64_t tail) {
    Store64(mem_ + lay_.ringTail, tail);  // only now: every consumed datagram is in the kernel (or lost)
    WakeRoom(tail);
  }

  // Waits for RING_HEAD to move: a short spin, then a futex wait (bounded, so stop() is prompt);
  // or, with the timer strategy, a sleep and another look.
  void Idle(uint64_t tail) {
    if (tune_.timer) {
      timespec ts{0, static_cast<long>(tune_.timerUs) * 1000};
      nanosleep(&ts, nullptr);
      wakeups_++;
      return;
    }
    for (int i = 0; i < tune_.spin; i++) {
      if (Load64(mem_ + lay_.ringHead) != tail || stop_.load()) return;
    }
    int32_t seen = Load32(mem_ + lay_.ringWake);
    Store32(mem_ + lay_.ringSleeping, kSleepingNative);
    // Store SLEEPING, then load HEAD; writers store HEAD, then load SLEEPING: one sees the other.
    if (Load64(mem_ + lay_.ringHead) == tail && !stop_.load()) {
      timespec ts{0, 200 * 1000 * 1000};
      Futex(mem_ + lay_.ringWake, FUTEX_WAIT_PRIVATE, seen, &ts);
      wakeups_++;
    }
    Store32(mem_ + lay_.ringSleeping, 0);
  }

  // A datagram the socket could not take yet: what to wait for, and since when (for kStallNs).
  struct Blocked {
    int fd = -1;
    int err = 0;           // EAGAIN or ENOBUFS
    uint32_t target = 0;
    uint64_t pos = UINT64_MAX;  // ring position of its slot
    int64_t since = 0;
    int64_t backoff = 0;
  };

  // Sleeps until the blocked socket may take more (without mu_): POLLOUT for a full send buffer, a
  // growing pause for a qdisc that dropped.
  void WaitBlocked(Blocked& b) {
    if (b.err == ENOBUFS) {
      b.backoff = b.backoff == 0 ? kBackoffMinNs : std::min(b.backoff * 2, kBackoffMaxNs);
      timespec ts{0, static_cast<long>(b.backoff)};
      nanosleep(&ts, nullptr);
    } else {
      pollfd p{b.fd, POLLOUT, 0};
      poll(&p, 1, kPollSliceMs);
    }
  }

  // Reads (and forgets) queued ICMP errors of a socket with IP_RECVERR: they are reported again
  // by the next send, which they fail without sending it.
  static void DrainErrors(int fd) {
    char buf[256];
    for (int i = 0; i < 64; i++) {
      if (recv(fd, buf, sizeof buf, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
    }
  }

  void Run() {
    const int batch = tune_.batch;
    std::vector<mmsghdr> msgs(batch);
    std::vector<iovec> iov(batch);
    std::vector<uint32_t> owner(batch);
    std::vector<uint64_t> posOf(batch);
    const uint64_t mask = lay_.ringSize - 1;
    uint8_t* ring = mem_ + lay_.ringOff;
    uint64_t tail = Load64(mem_ + lay_.ringTail);
    uint64_t seenUpTo = tail;  // slots before this were looked at once (their skips counted)
    Blocked blocked;
    while (!stop_.load()) {
      uint64_t head = Load64(mem_ + lay_.ringHead);
      if (head == tail) {
        Idle(tail);
        continue;
      }
      bool wait = false;
      {
        std::lock_guard<std::mutex> g(mu_);
        // One batch: consecutive slots that go through one socket.
        int n = 0;
        int fd = -1;
        uint64_t pos = tail;
        while (pos < head && n < batch) {
          uint8_t* slot = ring + (pos & mask);
          uint32_t len, gen;
          uint16_t target, kind;
          memcpy(&len, slot + lay_.slotLen, 4);
          memcpy(&target, slot + lay_.slotTarget, 2);
          memcpy(&kind, slot + lay_.slotKind, 2);
          memcpy(&gen, slot + lay_.slotGen, 4);
          uint64_t next = pos + lay_.slotHdr + ((static_cast<uint64_t>(len) + 15) & ~static_cast<uint64_t>(15));
          if ((kind & lay_.kindMask) != lay_.kindPad) {
            bool fresh = pos >= seenUpTo;
            const Route* r = target < kMaxTargets ? &routes_[target] : nullptr;
            if (r == nullptr || !r->set || r->gen != gen) {
              if (fresh) discarded_++;
            } else {
              if (kind & lay_.kfFirst) msgLost_[target] = false;
              if (!msgLost_[target]) {  // the rest of a lost message is not sent
                if (n > 0 && r->fd != fd) break;  // next batch: another socket
                fd = r->fd;
                iov[n] = {slot + lay_.slotHdr, len};
                msgs[n].msg_hdr = {};
                msgs[n].msg_hdr.msg_name = const_cast<sockaddr_storage*>(&r->addr);
                msgs[n].msg_hdr.msg_namelen = r->addrLen;
                msgs[n].msg_hdr.msg_iov = &iov[n];
                msgs[n].msg_hdr.msg_iovlen = 1;
                owner[n] = target;
                posOf[n] = pos;
                n++;
              }
            }
          }
          pos = next;
        }
        if (pos > seenUpTo) seenUpTo = pos;
        bool retried = false;
        for (int i = 0; i < n;) {
          int r = sendmmsg(fd, &msgs[i], n - i, MSG_DONTWAIT);  // never block holding mu_
          if (r > 0) {
            sent_ += r;
            for (int k = i; k < i + r; k++) givingUp_[owner[k]] = false;
            i += r;
            retried = false;
            blocked = Blocked{};
            continue;
          }
          int e = errno;
          if (r < 0 && e == EINTR) continue;
          if (r < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)) {
            e == ENOBUFS ? enobufs_++ : eagain_++;
            uint32_t t = owner[i];
            if (!givingUp_[t]) {
              int64_t now = NowNs();
              if (blocked.pos != posOf[i]) blocked = Blocked{fd, e, t, posOf[i], now, 0};
              blocked.err = e;
              if (now - blocked.since < kStallNs) {
                pos = posOf[i];  // consumed up to the blocked datagram; wait, then go on from it
                wait = true;
                break;
              }
              givingUp_[t] = true;  // unwritable for kStallNs: its datagrams get one try each
              stalls_++;
              Add64(TargetCounter(t, lay_.cntStalls), 1);
              blocked = Blocked{};
            }
            Lose(t);
            i++;
            continue;
          }
          if (!retried) {  // a pending ICMP error (IP_RECVERR) fails one send without sending it
            DrainErrors(fd);
            retries_++;
            retried = true;
            continue;
          }
          Lose(owner[i]);  // ENETUNREACH, EPERM, EMSGSIZE, ...: a real transmit failure
          i++;
          retried = false;
        }
        batches_++;
        tail = pos;
      }
      PublishTail(tail);
      if (wait) WaitBlocked(blocked);
    }
  }

  uint8_t* mem_ = nullptr;
  Napi::ObjectReference memRef_;
  Layout lay_{};
  Tuning tune_{};
  std::thread thread_;
  std::mutex mu_;
  Route routes_[kMaxTargets];
  bool msgLost_[kMaxTargets] = {};   // thread: the target's current message lost a datagram
  bool givingUp_[kMaxTargets] = {};  // thread (and setRoute, under mu_): its socket stayed unwritable
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0}, batches_{0}, errors_{0}, discarded_{0}, wakeups_{0};
  std::atomic<uint64_t> eagain_{0}, enobufs_{0}, retries_{0}, stalls_{0}, roomWakes_{0};
};

void InitSender(Napi::Env env, Napi::Object exports) {
  exports.Set("Sender", Sender::Define(env));
}

}  // namespace nc
