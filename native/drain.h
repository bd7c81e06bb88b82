// The sender thread's work: consume the transmit ring, batch datagrams per socket, send them with
// sendmmsg (raw mode: through the socket's TX ring, txring.h), apply the error policy, hold targets
// whose path cannot carry. One class in four files: drain.cc (the thread: its loop, waiting, the
// routes, RING_TAIL published), drain-pass.cc (one pass: a batch collected and sent, the error
// policy), drain-hold.cc (targets held: verdicts, probes, neighbour notifications), drain-loss.cc
// (what is counted lost). sender.cc is the JavaScript face of it (arguments in, counters out). The
// protocol is described in sender.cc.
#pragma once

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common.h"
#include "path.h"
#include "retain.h"
#include "txring.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h, Linux 4.18
#endif

namespace nc {

constexpr int kBatchDefault = 64;     // datagrams per sendmmsg: 4-7x dgram.send (docs/toolchain.md 3.2)
constexpr int kBatchMax = 1024;       // UIO_MAXIOV
constexpr int kHoldMsDefault = 2000;  // holdMs: README, "When the path fails"
constexpr int kLostRecent = 16;       // messages remembered as counted lost, per target
// UDP GSO (UDP_SEGMENT): consecutive datagrams of one target of the same length (the last of a
// run may be shorter) go to the kernel as one send of up to kGsoSegs segments and kGsoBytes
// bytes, which it cuts into those datagrams again (on the device, or in software before it).
constexpr int kGsoSegs = 64;                              // UDP_MAX_SEGMENTS was 64 before Linux 6.5 (128 since)
constexpr int kGsoBytes = 60 * 1024;                      // below the 64 KiB an IP packet can carry, headers included
constexpr size_t kGsoCtl = CMSG_SPACE(sizeof(uint16_t));  // a UDP_SEGMENT control message

// The layout offsets the thread needs, passed from src/core/layout.ts (checked against the module).
struct Layout {
  uint32_t ringHead, ringTail, ringWake, ringSleeping, ringOff, ringSize;
  uint32_t roomWaiters, roomAt, lostTotal;
  uint32_t targetsOff, targetSize, cntTxErrors, cntTxLost, cntStalls;
  uint32_t slotLen, slotTarget, slotKind, slotGen, slotHdr, kindPad, kindMask, kfFirst;
  uint32_t tgtState, stEnabled, cntUnconfirmed, cntHolds, kfDone;
  uint32_t slotAux, kfReport, cntReportLost;
};

// How the thread batches and waits (Netconsole.create's `nativeSender` option; `netconsole tune`
// measures them): datagrams per sendmmsg; when the ring is empty, `spin` polls of RING_HEAD, then a
// futex wait that writers wake ('futex' spins 0, 'spin' the given count), or ('timer') a sleep of
// `timerUs` and another look, never asking writers for a wake-up. `holdMs`: how long a target's
// datagrams wait for a path that cannot carry them (Netconsole.create's `holdMs`). `txRing`: raw
// mode sends through a PACKET_TX_RING where one can be set up (false: sendmmsg, the fallback).
// `gso`: UDP mode hands runs of equal-length datagrams over as UDP GSO sends (false: one datagram
// per mmsghdr, as where the kernel refuses GSO on a target's path).
struct Tuning {
  int batch = kBatchDefault;
  int spin = 2000;
  bool timer = false;
  int timerUs = 50;
  int holdMs = kHoldMsDefault;
  bool txRing = true;
  bool gso = true;
};

// Where a target's slots go.
struct Route {
  bool set = false;
  int fd = -1;
  uint32_t gen = 0;
  sockaddr_storage addr{};
  socklen_t addrLen = 0;
};

// The path a route's datagrams take: its device, and the next hop to resolve (family 0: none).
struct RoutePath {
  const char* ifname = "";
  int ifindex = 0;
  uint8_t hopFamily = 0;  // 0, AF_INET or AF_INET6
  const uint8_t* hop = nullptr;
};

struct DrainStats {
  uint64_t datagrams, batches, errors, discarded, wakeups, eagain, enobufs, retries, stalls, roomWakes;
  uint64_t holds, probes, unconfirmed, ringFrames, bypassFrames, tailNotifies;
  uint64_t gsoSends, gsoDatagrams, gsoFallbacks;
};

class Drain {
 public:
  Drain(uint8_t* mem, const Layout& lay, const Tuning& tune, const Retainer& retain);
  ~Drain() { Join(); }
  Drain(const Drain&) = delete;
  Drain& operator=(const Drain&) = delete;

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  void Join();
  void Wake();
  // From now on, slots of target t with generation route.gen go to `route` through `path`. Returns
  // why a raw-mode route's socket has no TX ring (it could not be set up: sendmmsg), or "".
  std::string SetRoute(int t, const Route& route, const RoutePath& path);
  // Returns once no batch of the thread uses the route's socket: then the host may close it.
  void ClearRoute(int t);
  DrainStats Stats() const;
  // `notify` is called on this thread once RING_TAIL reaches the position NotifyAt() last armed
  // (the lowest armed since the last call), then disarmed: the host's flush() and grace periods
  // wait for the tail without polling. Set before Start().
  void SetNotify(std::function<void()> notify) { notify_ = std::move(notify); }
  void NotifyAt(uint64_t pos);

 private:
  // What the thread decides for a target's next datagram (Gate).
  enum class Verdict { kSend, kHold, kLose, kProbe };
  // A message handed over: its target, its number, and the losses it tells when it is an in-band
  // report (0: a log message). A lost report is not a lost message: its losses are told again.
  struct Sent {
    uint32_t target;
    uint64_t msg;
    uint32_t report;
    bool operator==(const Sent& o) const { return target == o.target && msg == o.msg; }
  };
  // A resolution probe in flight: the message its datagram belongs to, and since when.
  struct Probe {
    bool inFlight = false;
    bool counted = false;  // its message was already counted lost
    uint64_t msg = 0;
    int64_t at = 0;
    uint32_t report = 0;  // the losses its message tells, when it is a report
  };
  // A datagram the socket could not take yet: what to wait for, and since when (for kStallNs).
  struct Blocked {
    int fd = -1;
    int err = 0;  // EAGAIN or ENOBUFS
    uint32_t target = 0;
    uint64_t pos = UINT64_MAX;  // ring position of its slot
    int64_t since = 0;
    int64_t backoff = 0;
  };
  // One batch: consecutive sendable datagrams (slots) through one socket, in `ng` sends (groups,
  // Plan): a group is one datagram, or (GSO) a run of one target's datagrams of one length, the
  // last maybe shorter, sent as one; its slots need not be side by side in the ring (targets
  // sharing a socket take turns there). Groups go in the order of their first slots. Raw mode
  // (the TX ring): a group per frame.
  struct Batch {
    int n = 0;
    int fd = -1;
    TxRing* ring = nullptr;  // fd's TX ring, or null: sendmmsg
    // Per slot:
    std::vector<iovec> iov;
    std::vector<uint32_t> owner;
    std::vector<uint64_t> pos;     // ring position of each slot
    std::vector<uint64_t> msg;     // its message's number (msgNo_)
    std::vector<uint32_t> report;  // the losses its message tells, when it is a report
    std::vector<uint8_t*> slot;    // its slot header (KF_DONE is set there once sent)
    std::vector<uint8_t> sent;     // handed to the kernel
    std::vector<const Route*> route;
    std::vector<uint8_t> gso;  // it may join a GSO run
    std::vector<int> of;       // its group
    // Per group:
    int ng = 0;
    std::vector<mmsghdr> msgs;
    std::vector<int> first;            // its first slot
    std::vector<int> start;            // where its slots are in gslot / giov
    std::vector<int> count;            // how many
    std::vector<uint32_t> seg, bytes;  // its segment size (its first datagram's length), its bytes
    std::vector<uint32_t> hdr;         // raw mode: its frames' header bytes (TxRing::HeaderBytes)
    std::vector<int32_t> id;           // raw mode: its last frame's IPv4 identification, or -1
    std::vector<char> ctl;             // room for its UDP_SEGMENT control message
    std::vector<int> gslot;            // the slots, group after group
    std::vector<iovec> giov;           // their iovecs, the same order
  };

  void Run();
  // Keeps the ring's pages ahead of `head` present, once round the ring (drain.cc PopulateRing).
  void PopulateAhead(uint64_t head);
  // One pass over the ring from `from`: fills `b` until it is full, the socket changes or `head`
  // is reached; returns where it stopped. Slots of held targets are left; `firstHeld` gets the
  // position of the first of them.
  uint64_t Collect(Batch& b, uint64_t from, uint64_t head, int64_t now, uint64_t* firstHeld);
  // Groups the batch's slots into sends (Batch).
  void Plan(Batch& b);
  // Groups from g on were not handed over: their slots' probes are forgotten, their targets'
  // message counts put back; returns the position to go on from (group g's first slot's).
  uint64_t Unsent(Batch& b, int g);
  // Sends the batch; returns the position to go on from (a blocked datagram's, or `end`).
  uint64_t Send(Batch& b, uint64_t end, bool* wait);
  // After the batch: the messages of a device that lost its carrier meanwhile are unconfirmed.
  void Confirm(const Batch& b, int64_t now);
  Verdict Gate(int t, int64_t now);
  // Whether some held target can move on (its path is back, it is given up, or it may probe).
  bool HeldMayMove(int64_t now);
  void ReadPaths(int64_t now, bool force);
  void Idle(uint64_t pos);
  void WaitBlocked(Blocked& b);

  // Counting. A message (counted from its KF_FIRST datagram, per target) is lost once.
  bool Enabled(uint32_t t) const;
  uint8_t* TargetCounter(uint32_t target, uint32_t field) {
    return mem_ + lay_.targetsOff + target * lay_.targetSize + field;
  }
  void Add64(uint8_t* p, uint64_t n) { __atomic_add_fetch(reinterpret_cast<uint64_t*>(p), n, __ATOMIC_SEQ_CST); }
  // The shared memory's words, sequentially consistent as the write path's atomics; the clock.
  static uint64_t Load64(uint8_t* p) { return __atomic_load_n(reinterpret_cast<uint64_t*>(p), __ATOMIC_SEQ_CST); }
  static void Store64(uint8_t* p, uint64_t v) { __atomic_store_n(reinterpret_cast<uint64_t*>(p), v, __ATOMIC_SEQ_CST); }
  static int32_t Load32(uint8_t* p) { return __atomic_load_n(reinterpret_cast<int32_t*>(p), __ATOMIC_SEQ_CST); }
  static void Store32(uint8_t* p, int32_t v) { __atomic_store_n(reinterpret_cast<int32_t*>(p), v, __ATOMIC_SEQ_CST); }
  static int64_t NowNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
  }
  void Lose(uint32_t t, uint64_t msg, uint32_t report, bool txError, bool unconfirmed);
  void CountLost(uint32_t t, bool unconfirmed);
  void ProbeLost(uint32_t t, bool unconfirmed);
  void WakeRoom(uint64_t tail);
  // Keeps reliable targets' messages among the slots it passes (retain.h), then stores RING_TAIL.
  void PublishTail(uint64_t tail);
  // Unmaps the TX rings of sockets no route uses any more (under mu_).
  void KeepRings();

  uint8_t* mem_;
  Layout lay_;
  Tuning tune_;
  Retainer retain_;                      // thread only
  uint64_t populatedFrom_ = UINT64_MAX;  // thread only: the ring position PopulateAhead started at
  uint64_t populated_ = 0;               // thread only: bytes of the ring present from there
  std::thread thread_;
  std::mutex mu_;
  Blocked blocked_;
  // Under mu_ (set by the host, read by the thread):
  Route routes_[kMaxTargets];
  PathWatch paths_;
  TxRings rings_;
  bool routesChanged_ = false;  // held slots of a changed route: looked at again
  // Thread (reset by SetRoute under mu_):
  bool givingUp_[kMaxTargets] = {};      // its socket stayed unwritable
  bool gsoOff_[kMaxTargets] = {};        // the kernel refused a GSO send on its path: one per datagram
  int64_t heldSince_[kMaxTargets] = {};  // 0: its path can carry
  bool givenUp_[kMaxTargets] = {};       // held past the bound, or no longer enabled
  Probe probe_[kMaxTargets];
  int64_t probeRetryAt_[kMaxTargets] = {};  // a probe the kernel refused: no other before this
  // Thread only:
  bool hasHeld_[kMaxTargets] = {};  // some slot of it between RING_TAIL and the scan waits
  // Messages handed to the kernel since neighbour notifications were last read: when a next hop
  // fails or vanishes meanwhile, they may have been dropped with it.
  std::vector<Sent> sincePoll_;
  uint64_t lostRecent_[kMaxTargets][kLostRecent];  // the last messages counted lost, per target
  int lostAt_[kMaxTargets] = {};
  uint64_t msgNo_[kMaxTargets] = {};     // messages seen (KF_FIRST), per target
  uint32_t reportOf_[kMaxTargets] = {};  // the losses the current message tells (a report), or 0
  uint64_t lostNo_[kMaxTargets];         // the current message, when it is lost (its rest is not sent)
  int64_t polledAt_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0}, batches_{0}, errors_{0}, discarded_{0}, wakeups_{0};
  std::atomic<uint64_t> eagain_{0}, enobufs_{0}, retries_{0}, stalls_{0}, roomWakes_{0};
  std::atomic<uint64_t> holds_{0}, probes_{0}, unconfirmed_{0}, ringFrames_{0}, bypassFrames_{0};
  std::atomic<uint64_t> tailNotifies_{0};
  std::atomic<uint64_t> gsoSends_{0}, gsoDatagrams_{0}, gsoFallbacks_{0};
  std::atomic<uint64_t> notifyAt_{UINT64_MAX};  // the tail position notify_ waits for
  std::function<void()> notify_;
};

}  // namespace nc
