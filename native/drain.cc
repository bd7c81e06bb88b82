// The sender thread's loop: one pass over the ring per batch (drain-pass.cc), waiting when there is
// nothing to send, RING_TAIL published after each pass; the routes the host hands over. See
// sender.cc for the protocol and path.h for why a target's path is looked at before and after its
// datagrams go out (drain-hold.cc); what is lost is counted in drain-loss.cc.
//
// Lock: `mu_` is held for a whole pass (routes, paths and the per-target state it decides from
// change only between passes); never while the thread sleeps or waits for a blocked socket.
#include "drain.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace nc {

namespace {

constexpr int kSleepingNative = 2;            // RING_SLEEPING value of a native sender
constexpr int kPollSliceMs = 10;              // one wait for POLLOUT; stop() is noticed between slices
constexpr int64_t kBackoffMinNs = 50 * 1000;  // ENOBUFS: first pause, doubled up to kBackoffMaxNs
constexpr int64_t kBackoffMaxNs = 2 * 1000000;
constexpr int kHeldWaitMs = 1;  // holding with nothing else to send: look again this often
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif
constexpr uint64_t kPopulateAhead = 512 * 1024;

// The ring's pages made present ahead of the log calls' first lap over them. A page's first write
// is a page fault of its own, and on this project's VM a fault costs 10.6 us a 4 KiB page (1,024
// of them in the first 4 MiB of records, on the log calls' thread) where MADV_POPULATE_WRITE maps
// the same pages in one call for 0.7 us each (docs/toolchain.md 3.5). The sender thread keeps
// kPopulateAhead bytes past the ring's head present after each pass, so the memory grows only as
// far as records go (plus that much), as before. The log calls may write meanwhile (a page they
// reach first faults as before). A kernel before 5.14 refuses it (EINVAL): the pages then fault as
// they are reached, as before.
void PopulateRing(uint8_t* from, uint8_t* to) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t a = reinterpret_cast<uintptr_t>(from) & ~(page - 1);
  const uintptr_t b = (reinterpret_cast<uintptr_t>(to) + page - 1) & ~(page - 1);
  if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_POPULATE_WRITE);
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
  // GSO runs: in UDP mode only where the socket knows UDP_SEGMENT (Linux 4.18; a kernel without it
  // would ignore the control message and send a run as one datagram); in raw mode through a TX
  // ring only (a run is one frame of the ring with a GSO vnet header, txring.h; sendmmsg's frames
  // have no vnet header).
  int seg = 0;
  socklen_t segLen = sizeof seg;
  if (route.addr.ss_family == AF_PACKET) {
    const TxRing* ring = rings_.Of(route.fd);
    gsoOff_[t] = ring == nullptr || ring->broken();
  } else {
    gsoOff_[t] = getsockopt(route.fd, SOL_UDP, UDP_SEGMENT, &seg, &segLen) != 0;
  }
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
  return {sent_.load(),         batches_.load(),  errors_.load(),       discarded_.load(),   wakeups_.load(),
          eagain_.load(),       enobufs_.load(),  retries_.load(),      stalls_.load(),      roomWakes_.load(),
          holds_.load(),        probes_.load(),   unconfirmed_.load(),  ringFrames_.load(),  bypassFrames_.load(),
          tailNotifies_.load(), gsoSends_.load(), gsoDatagrams_.load(), gsoFallbacks_.load()};
}

void Drain::NotifyAt(uint64_t pos) {
  uint64_t at = notifyAt_.load();
  while (pos < at && !notifyAt_.compare_exchange_weak(at, pos)) {
  }
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
  // The host's waiter: after the tail store, as the host arms before it looks at the tail again
  // (both seq_cst: one of the two sees the other).
  uint64_t at = notifyAt_.load();
  if (tail >= at && notifyAt_.compare_exchange_strong(at, UINT64_MAX) && notify_) {
    notify_();
    tailNotifies_++;
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

void Drain::PopulateAhead(uint64_t head) {
  if (populated_ >= lay_.ringSize) return;                  // the whole ring: done for good
  if (populatedFrom_ == UINT64_MAX) populatedFrom_ = head;  // where the first lap starts
  uint64_t want = std::min<uint64_t>(head - populatedFrom_ + kPopulateAhead, lay_.ringSize);
  if (want <= populated_) return;
  const uint64_t mask = lay_.ringSize - 1;
  uint8_t* ring = mem_ + lay_.ringOff;
  uint64_t a = (populatedFrom_ + populated_) & mask;
  uint64_t n = want - populated_;
  uint64_t first = std::min(n, lay_.ringSize - a);  // to the ring's end, then from its start
  PopulateRing(ring + a, ring + a + first);
  if (n > first) PopulateRing(ring, ring + (n - first));
  populated_ = want;
}

void Drain::Run() {
  // Named, so that tools (top -H, /proc/<pid>/task/*/comm, the bench's CPU split) tell it apart.
  pthread_setname_np(pthread_self(), "nc-sender");
  Batch b;
  const size_t n = tune_.batch;
  for (auto* v : {&b.iov, &b.giov}) v->resize(n);
  for (auto* v : {&b.of, &b.first, &b.start, &b.count, &b.gslot}) v->resize(n);
  for (auto* v : {&b.sent, &b.gso}) v->resize(n);
  for (auto* v : {&b.owner, &b.report, &b.seg, &b.bytes, &b.hdr}) v->resize(n);
  b.id.resize(n);
  b.pos.resize(n);
  b.msg.resize(n);
  b.slot.resize(n);
  b.route.resize(n);
  b.msgs.resize(n);
  b.ctl.resize(n * kGsoCtl);
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
    PopulateAhead(head);
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
