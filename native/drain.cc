// The sender thread's loop: one pass over the ring per batch. See sender.cc for the protocol and
// path.h for why a target's path is looked at before and after its datagrams go out.
//
// Lock: `mu_` is held for a whole pass (routes, paths and the per-target state it decides from
// change only between passes); never while the thread sleeps or waits for a blocked socket.
#include "drain.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>

namespace nc {

namespace {

constexpr int kSleepingNative = 2;             // RING_SLEEPING value of a native sender
constexpr int64_t kStallNs = 250 * 1000000LL;  // a socket unwritable this long: give up on its target
constexpr int kPollSliceMs = 10;               // one wait for POLLOUT; stop() is noticed between slices
constexpr int64_t kBackoffMinNs = 50 * 1000;   // ENOBUFS: first pause, doubled up to kBackoffMaxNs
constexpr int64_t kBackoffMaxNs = 2 * 1000000;
constexpr int64_t kLookNs = 1000000;               // a device looked at longer ago is looked at again
constexpr int64_t kPollNs = 1000000;               // neighbour notifications are read at least this often
constexpr int64_t kReprobeNs = 1000000000LL;       // given up: a probe a second, so the path can come back
constexpr int64_t kProbeRetryNs = 10 * 1000000LL;  // a probe the kernel refused (no route yet): the next one
constexpr int kHeldWaitMs = 1;                     // holding with nothing else to send: look again this often

uint64_t Load64(uint8_t* p) { return __atomic_load_n(reinterpret_cast<uint64_t*>(p), __ATOMIC_SEQ_CST); }
void Store64(uint8_t* p, uint64_t v) { __atomic_store_n(reinterpret_cast<uint64_t*>(p), v, __ATOMIC_SEQ_CST); }
int32_t Load32(uint8_t* p) { return __atomic_load_n(reinterpret_cast<int32_t*>(p), __ATOMIC_SEQ_CST); }
void Store32(uint8_t* p, int32_t v) { __atomic_store_n(reinterpret_cast<int32_t*>(p), v, __ATOMIC_SEQ_CST); }

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// Reads (and forgets) queued ICMP errors of a socket with IP_RECVERR: they are reported again
// by the next send, which they fail without sending it.
void DrainErrors(int fd) {
  char buf[256];
  for (int i = 0; i < 64; i++) {
    if (recv(fd, buf, sizeof buf, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
  }
}

}  // namespace

Drain::Drain(uint8_t* mem, const Layout& lay, const Tuning& tune, const Retainer& retain)
    : mem_(mem), lay_(lay), tune_(tune), retain_(retain) {
  std::fill(std::begin(lostNo_), std::end(lostNo_), UINT64_MAX);
  for (auto& r : lostRecent_) std::fill(std::begin(r), std::end(r), UINT64_MAX);
}

void Drain::Join() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  __atomic_add_fetch(reinterpret_cast<int32_t*>(mem_ + lay_.ringWake), 1, __ATOMIC_SEQ_CST);
  Futex(mem_ + lay_.ringWake, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);
  thread_.join();
  std::lock_guard<std::mutex> g(mu_);
  paths_.Close();     // now, not when the garbage collector gets to the Sender
  rings_.CloseAll();  // before the host closes the sockets: a mapped one would live on
}

void Drain::Wake() {
  __atomic_add_fetch(reinterpret_cast<int32_t*>(mem_ + lay_.ringWake), 1, __ATOMIC_SEQ_CST);
  Futex(mem_ + lay_.ringWake, FUTEX_WAKE_PRIVATE, 1, nullptr);
}

std::string Drain::SetRoute(int t, const Route& route, const RoutePath& path) {
  std::lock_guard<std::mutex> g(mu_);
  std::string why;
  if (route.addr.ss_family == AF_PACKET && tune_.txRing)
    why = rings_.Use(route.fd, reinterpret_cast<const sockaddr_ll*>(&route.addr)->sll_ifindex);
  routes_[t] = route;
  KeepRings();
  paths_.Set(t, path.ifname, path.ifindex, path.hopFamily, path.hop);
  givingUp_[t] = false;
  heldSince_[t] = 0;
  givenUp_[t] = false;
  probe_[t] = Probe{};
  routesChanged_ = true;  // held slots of its earlier generation are looked at again (discarded)
  return why;
}

void Drain::ClearRoute(int t) {
  std::lock_guard<std::mutex> g(mu_);  // waits for a pass in flight: then the socket is free
  routes_[t] = Route{};
  paths_.Clear(t);
  KeepRings();
  routesChanged_ = true;
}

void Drain::KeepRings() {
  int used[kMaxTargets];
  for (int t = 0; t < kMaxTargets; t++) used[t] = routes_[t].set ? routes_[t].fd : -1;
  rings_.Keep(used, kMaxTargets);
}

DrainStats Drain::Stats() const {
  return {sent_.load(),   batches_.load(), errors_.load(),      discarded_.load(),  wakeups_.load(),
          eagain_.load(), enobufs_.load(), retries_.load(),     stalls_.load(),     roomWakes_.load(),
          holds_.load(),  probes_.load(),  unconfirmed_.load(), ringFrames_.load(), bypassFrames_.load()};
}

// ------------------------------------------------------------------------------------ counting
bool Drain::Enabled(uint32_t t) const {
  return Load32(mem_ + lay_.targetsOff + t * lay_.targetSize + lay_.tgtState) == static_cast<int32_t>(lay_.stEnabled);
}

void Drain::CountLost(uint32_t t, bool unconfirmed) {
  Add64(TargetCounter(t, lay_.cntTxLost), 1);
  if (unconfirmed) {
    Add64(TargetCounter(t, lay_.cntUnconfirmed), 1);
    unconfirmed_++;
  }
  Add64(mem_ + lay_.lostTotal, 1);  // after TX_LOST: the write path's scan (write.ts) relies on it
}

// A datagram of message `msg` of target t is lost: its message is counted once (the rest of it is
// not sent); `txError`: it could not be handed to the kernel (transmit_errors, per datagram);
// `unconfirmed`: it was, but the kernel may have dropped it. A lost in-band report (`report`: the
// losses it tells) is not a lost message: its losses are handed back to the write path, whose next
// record to t tells them again (an unconfirmed one too: told twice rather than not at all).
void Drain::Lose(uint32_t t, uint64_t msg, uint32_t report, bool txError, bool unconfirmed) {
  if (txError) {
    errors_++;
    Add64(TargetCounter(t, lay_.cntTxErrors), 1);
  }
  if (std::find(std::begin(lostRecent_[t]), std::end(lostRecent_[t]), msg) != std::end(lostRecent_[t])) return;
  lostRecent_[t][lostAt_[t]++ % kLostRecent] = msg;
  if (msg == msgNo_[t]) lostNo_[t] = msg;
  Probe& p = probe_[t];
  if (p.inFlight && p.msg == msg) p.counted = true;
  if (report != 0) {
    Add64(TargetCounter(t, lay_.cntReportLost), report);
    Add64(mem_ + lay_.lostTotal, 1);  // after REPORT_LOST: the write path's scan looks again
    return;
  }
  CountLost(t, unconfirmed);
}

// The probe's resolution failed (or its fate cannot be known: `unconfirmed`): its message is lost.
void Drain::ProbeLost(uint32_t t, bool unconfirmed) {
  Probe& p = probe_[t];
  if (!p.inFlight) return;
  p.inFlight = false;
  if (p.counted) return;
  Lose(t, p.msg, p.report, false, unconfirmed);
}

// After a RING_TAIL store: wake the writers waiting for room once the tail reached what they need.
void Drain::WakeRoom(uint64_t tail) {
  if (Load32(mem_ + lay_.roomWaiters) <= 0 || tail < Load64(mem_ + lay_.roomAt)) return;
  Store64(mem_ + lay_.roomAt, UINT64_MAX);
  Futex(mem_ + lay_.ringTail, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);  // the low word, little-endian
  roomWakes_++;
}

void Drain::PublishTail(uint64_t tail) {
  uint64_t from = Load64(mem_ + lay_.ringTail);
  if (tail > from) retain_.Range(from, tail);  // before the writers may reuse the slots
  Store64(mem_ + lay_.ringTail, tail);         // only now: every slot before it is in the kernel, or lost
  WakeRoom(tail);
}

// ------------------------------------------------------------------------------------ paths
// What target t's next datagram does: goes out (kSend), waits (kHold), is lost (kLose: held past
// holdMs, or the target is no longer enabled), or goes out alone to start the resolution of the
// next hop (kProbe).
Drain::Verdict Drain::Gate(int t, int64_t now) {
  Probe& p = probe_[t];
  if (paths_.Ready(t, now, kLookNs)) {
    heldSince_[t] = 0;
    givenUp_[t] = false;
    p.inFlight = false;  // its next hop resolved: the probe went out
    return Verdict::kSend;
  }
  if (heldSince_[t] == 0) {
    heldSince_[t] = now;
    p.at = 0;
    holds_++;
    Add64(TargetCounter(t, lay_.cntHolds), 1);
  }
  bool enabled = Enabled(t);
  if (!givenUp_[t] && (!enabled || now - heldSince_[t] >= static_cast<int64_t>(tune_.holdMs) * 1000000LL)) {
    givenUp_[t] = true;
    ProbeLost(t, true);  // its fate is not known
  }
  if (enabled && paths_.Resolving(t)) {
    if (p.inFlight && givenUp_[t] && now - p.at >= kReprobeNs) ProbeLost(t, true);
    bool retry = now >= probeRetryAt_[t];
    if (!p.inFlight && retry && (!givenUp_[t] || p.at == 0 || now - p.at >= kReprobeNs)) return Verdict::kProbe;
  }
  return givenUp_[t] ? Verdict::kLose : Verdict::kHold;
}

bool Drain::HeldMayMove(int64_t now) {
  bool move = false;
  for (int t = 0; t < kMaxTargets; t++) {
    if (hasHeld_[t]) {
      if (!routes_[t].set || Gate(t, now) != Verdict::kHold) move = true;
    } else if (heldSince_[t] != 0 && !probe_[t].inFlight && routes_[t].set && paths_.Ready(t, now, kLookNs)) {
      heldSince_[t] = 0;  // its path is back with nothing waiting: the hold ends here
      givenUp_[t] = false;
    }
  }
  return move;
}

// Reads the neighbour notifications. A probe goes out when its next hop resolves, and is dropped
// with its entry when that fails or is deleted first. When the entry of a next hop fails or is
// deleted, what was handed to it since the last read may have been dropped with it (a datagram
// that meets the entry between its failure and its removal is, without a word): unconfirmed.
// Neither event says when it happened, so both losses are counted unconfirmed.
void Drain::ReadPaths(int64_t now, bool force) {
  if (!force && now - polledAt_ < kPollNs) return;
  polledAt_ = now;
  paths_.Poll();
  PathWatch::Outcome first[kMaxTargets];
  bool failed[kMaxTargets];
  paths_.Take(first, failed);
  // A next hop that failed because its device lost its carrier or went down: what went before
  // passed the carrier checks (Confirm), and went out before that.
  for (int t = 0; t < kMaxTargets; t++) failed[t] = failed[t] && paths_.DeviceOk(t, now);
  for (const Sent& s : sincePoll_) {
    if (failed[s.target]) Lose(s.target, s.msg, s.report, false, true);
  }
  sincePoll_.clear();
  for (int t = 0; t < kMaxTargets; t++) {
    if (first[t] == PathWatch::Outcome::kResolved) {
      probe_[t].inFlight = false;  // it went out: the path carried it, this hold is over
      heldSince_[t] = 0;
      givenUp_[t] = false;
    } else if (first[t] == PathWatch::Outcome::kFailed)
      ProbeLost(t, true);
  }
}

// ------------------------------------------------------------------------------------ one pass
uint64_t Drain::Collect(Batch& b, uint64_t from, uint64_t head, int64_t now, uint64_t* firstHeld) {
  const uint64_t mask = lay_.ringSize - 1;
  uint8_t* ring = mem_ + lay_.ringOff;
  int8_t verdict[kMaxTargets];  // Gate's answer, once per target and pass
  memset(verdict, -1, sizeof verdict);
  b.n = 0;
  b.fd = -1;
  b.ring = nullptr;
  uint64_t pos = from;
  const int max = static_cast<int>(b.msgs.size());
  while (pos < head && b.n < max) {
    uint8_t* slot = ring + (pos & mask);
    uint32_t len, gen;
    uint16_t target, kind;
    memcpy(&len, slot + lay_.slotLen, 4);
    memcpy(&target, slot + lay_.slotTarget, 2);
    memcpy(&kind, slot + lay_.slotKind, 2);
    memcpy(&gen, slot + lay_.slotGen, 4);
    uint64_t next = pos + SlotBytes(len);
    auto done = [&] {
      kind |= static_cast<uint16_t>(lay_.kfDone);
      memcpy(slot + lay_.slotKind, &kind, 2);
    };
    if ((kind & lay_.kindMask) == lay_.kindPad || (kind & lay_.kfDone) != 0) {
      pos = next;
      continue;
    }
    const Route* r = target < kMaxTargets ? &routes_[target] : nullptr;
    if (r == nullptr || !r->set || r->gen != gen) {
      discarded_++;
      done();
      pos = next;
      continue;
    }
    Verdict v = Verdict::kHold;  // an older slot of it waits: so does this one
    if (!hasHeld_[target]) {
      if (verdict[target] < 0) verdict[target] = static_cast<int8_t>(Gate(target, now));
      v = static_cast<Verdict>(verdict[target]);
    }
    if (v == Verdict::kHold) {
      hasHeld_[target] = true;
      if (*firstHeld == UINT64_MAX) *firstHeld = pos;
      pos = next;
      continue;
    }
    bool first = (kind & lay_.kfFirst) != 0;
    uint64_t msg = first ? msgNo_[target] + 1 : msgNo_[target];
    bool restOfLost = !first && lostNo_[target] == msg;  // the rest of a lost message is not sent
    bool sends = !restOfLost && v != Verdict::kLose;
    if (sends && b.n > 0 && r->fd != b.fd) break;  // next batch: another socket
    msgNo_[target] = msg;
    if (first) {
      uint32_t aux;
      memcpy(&aux, slot + lay_.slotAux, 4);
      reportOf_[target] = (kind & lay_.kfReport) != 0 ? aux : 0;
    }
    if (!sends) {
      if (!restOfLost) Lose(target, msg, reportOf_[target], true, false);
      done();
      pos = next;
      continue;
    }
    if (v == Verdict::kProbe) {
      probe_[target] = Probe{true, false, msg, now, reportOf_[target]};
      probes_++;
      verdict[target] = static_cast<int8_t>(Verdict::kHold);  // its later slots wait for the outcome
    }
    if (b.n == 0) b.ring = rings_.Of(r->fd);
    b.fd = r->fd;
    b.iov[b.n] = {slot + lay_.slotHdr, len};
    mmsghdr& m = b.msgs[b.n];
    m.msg_hdr = {};
    m.msg_hdr.msg_name = const_cast<sockaddr_storage*>(&r->addr);
    m.msg_hdr.msg_namelen = r->addrLen;
    m.msg_hdr.msg_iov = &b.iov[b.n];
    m.msg_hdr.msg_iovlen = 1;
    b.owner[b.n] = target;
    b.pos[b.n] = pos;
    b.msg[b.n] = msg;
    b.report[b.n] = reportOf_[target];
    b.slot[b.n] = slot;
    b.n++;
    pos = next;
  }
  return pos;
}

uint64_t Drain::Send(Batch& b, uint64_t end, bool* wait) {
  auto done = [&](int k) {
    uint16_t kind;
    memcpy(&kind, b.slot[k] + lay_.slotKind, 2);
    kind |= static_cast<uint16_t>(lay_.kfDone);
    memcpy(b.slot[k] + lay_.slotKind, &kind, 2);
  };
  std::fill(b.sent.begin(), b.sent.begin() + b.n, 0);
  bool retried = false;
  for (int i = 0; i < b.n;) {
    const msghdr& h = b.msgs[i].msg_hdr;  // never block holding mu_:
    int r = b.ring ? b.ring->Send(&b.iov[i], b.n - i, static_cast<sockaddr*>(h.msg_name), h.msg_namelen)
                   : sendmmsg(b.fd, &b.msgs[i], b.n - i, MSG_DONTWAIT);
    if (r > 0) {
      sent_ += r;
      if (b.ring) ringFrames_ += r;
      if (b.ring && b.ring->bypass()) bypassFrames_ += r;
      for (int k = i; k < i + r; k++) {
        givingUp_[b.owner[k]] = false;
        b.sent[k] = 1;
        done(k);
      }
      i += r;
      retried = false;
      blocked_ = Blocked{};
      continue;
    }
    int e = errno;
    if (r < 0 && e == EINTR) continue;
    // EBUSY: the TX ring's next frame is still the kernel's (its skb in a qdisc, or being sent).
    if (r < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == EBUSY)) {
      e == ENOBUFS ? enobufs_++ : eagain_++;
      uint32_t t = b.owner[i];
      if (!givingUp_[t]) {
        int64_t now = NowNs();
        if (blocked_.pos != b.pos[i]) blocked_ = Blocked{b.fd, e, t, b.pos[i], now, 0};
        blocked_.err = e;
        if (now - blocked_.since < kStallNs) {
          *wait = true;  // consumed up to the blocked datagram; wait, then go on from it
          for (int k = i; k < b.n; k++) {
            Probe& p = probe_[b.owner[k]];
            if (p.inFlight && p.msg == b.msg[k]) p = Probe{};  // not sent: no probe after all
          }
          b.n = i;  // what Confirm looks at: what went
          return b.pos[i];
        }
        givingUp_[t] = true;  // unwritable for kStallNs: its datagrams get one try each
        stalls_++;
        Add64(TargetCounter(t, lay_.cntStalls), 1);
        blocked_ = Blocked{};
      }
      Lose(t, b.msg[i], b.report[i], true, false);
      done(i);
      i++;
      continue;
    }
    if (!retried) {  // a pending ICMP error (IP_RECVERR) fails one send without sending it
      DrainErrors(b.fd);
      retries_++;
      retried = true;
      continue;
    }
    Lose(b.owner[i], b.msg[i], b.report[i], true, false);  // ENETUNREACH, EPERM, EMSGSIZE, ...: a real transmit failure
    Probe& p = probe_[b.owner[i]];
    if (p.inFlight && p.msg == b.msg[i]) {
      // The probe never went out (a device just up may have no route yet): no neighbour entry will
      // change for it, so it is over; the next one goes out shortly.
      p.inFlight = false;
      probeRetryAt_[b.owner[i]] = NowNs() + kProbeRetryNs;
    }
    done(i);
    i++;
    retried = false;
  }
  return end;
}

// The kernel drops without a word what it was handed while a device lost its carrier or went
// down (see path.h): when t's device did during the batch, t's messages in it may not have gone.
void Drain::Confirm(const Batch& b, int64_t now) {
  bool looked[kMaxTargets] = {};
  for (int i = 0; i < b.n; i++) {
    uint32_t t = b.owner[i];
    if (looked[t] || !b.sent[i]) continue;
    looked[t] = true;
    bool kept = paths_.KeptCarrier(static_cast<int>(t), now);
    for (int k = i; k < b.n; k++) {
      if (b.owner[k] != t || !b.sent[k]) continue;
      Sent s{t, b.msg[k], b.report[k]};
      if (!kept)
        Lose(t, s.msg, s.report, false, true);
      else if (sincePoll_.empty() || !(sincePoll_.back() == s))
        sincePoll_.push_back(s);
    }
  }
}

// ------------------------------------------------------------------------------------ waiting
// Waits for RING_HEAD to move past `pos`: a short spin, then a futex wait (bounded, so stop() is
// prompt); or, with the timer strategy, a sleep and another look.
void Drain::Idle(uint64_t pos) {
  if (tune_.timer) {
    timespec ts{0, static_cast<long>(tune_.timerUs) * 1000};
    nanosleep(&ts, nullptr);
    wakeups_++;
    return;
  }
  for (int i = 0; i < tune_.spin; i++) {
    if (Load64(mem_ + lay_.ringHead) != pos || stop_.load()) return;
  }
  int32_t seen = Load32(mem_ + lay_.ringWake);
  Store32(mem_ + lay_.ringSleeping, kSleepingNative);
  // Store SLEEPING, then load HEAD; writers store HEAD, then load SLEEPING: one sees the other.
  if (Load64(mem_ + lay_.ringHead) == pos && !stop_.load()) {
    timespec ts{0, 200 * 1000 * 1000};
    Futex(mem_ + lay_.ringWake, FUTEX_WAIT_PRIVATE, seen, &ts);
    wakeups_++;
  }
  Store32(mem_ + lay_.ringSleeping, 0);
}

// Sleeps until the blocked socket may take more (without mu_): POLLOUT for a full send buffer, a
// growing pause for a qdisc that dropped or a TX ring whose frames the kernel still holds.
void Drain::WaitBlocked(Blocked& b) {
  if (b.err == ENOBUFS || b.err == EBUSY) {
    b.backoff = b.backoff == 0 ? kBackoffMinNs : std::min(b.backoff * 2, kBackoffMaxNs);
    timespec ts{0, static_cast<long>(b.backoff)};
    nanosleep(&ts, nullptr);
  } else {
    pollfd p{b.fd, POLLOUT, 0};
    poll(&p, 1, kPollSliceMs);
  }
}

void Drain::Run() {
  // Named, so that tools (top -H, /proc/<pid>/task/*/comm, the bench's CPU split) tell it apart.
  pthread_setname_np(pthread_self(), "nc-sender");
  Batch b;
  b.msgs.resize(tune_.batch);
  b.iov.resize(tune_.batch);
  b.owner.resize(tune_.batch);
  b.pos.resize(tune_.batch);
  b.msg.resize(tune_.batch);
  b.report.resize(tune_.batch);
  b.slot.resize(tune_.batch);
  b.sent.resize(tune_.batch);
  // [tail, scan): slots sent or lost (KF_DONE), PAD, or held; tail is the oldest held one, or scan.
  uint64_t tail = Load64(mem_ + lay_.ringTail);
  uint64_t scan = tail;
  while (!stop_.load()) {
    int64_t now = NowNs();
    uint64_t head = Load64(mem_ + lay_.ringHead);
    bool wait = false;
    bool watching = false;  // a held target or a probe: nothing new to send, look again soon
    uint64_t published = tail;
    {
      std::lock_guard<std::mutex> g(mu_);
      bool holding = false;
      for (int t = 0; t < kMaxTargets; t++)
        holding = holding || hasHeld_[t] || probe_[t].inFlight || heldSince_[t] != 0;
      ReadPaths(now, holding);
      bool rescan = routesChanged_ || (holding && HeldMayMove(now));
      routesChanged_ = false;
      if (!rescan && scan == head) {
        watching = holding;
      } else {
        uint64_t firstHeld = !rescan && tail < scan ? tail : UINT64_MAX;
        if (rescan) std::fill(std::begin(hasHeld_), std::end(hasHeld_), false);
        uint64_t end = Collect(b, rescan ? tail : scan, head, now, &firstHeld);
        scan = Send(b, end, &wait);
        Confirm(b, now);
        batches_++;
        tail = std::min(firstHeld, scan);
      }
    }
    if (tail != published) PublishTail(tail);
    if (wait) {
      WaitBlocked(blocked_);
    } else if (watching) {
      paths_.Wait(kHeldWaitMs);  // a notification (neighbour, link) ends it early
    } else if (scan == head) {
      {
        // Before sleeping: what was sent is checked against the notifications up to now, not
        // against those of a later wake-up.
        std::lock_guard<std::mutex> g(mu_);
        ReadPaths(NowNs(), true);
      }
      Idle(scan);
    }
  }
}

}  // namespace nc
