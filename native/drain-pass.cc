// One pass of the sender thread (drain.cc): the ring's slots from RING_TAIL collected into a batch
// for one socket (Collect), the batch handed to the kernel with sendmmsg or the TX ring, and the
// error policy for what it does not take (Send): a full socket is retried, then its target given
// up; a pending ICMP error retried once; any other failure is a transmit error. Then what went is
// checked against the carrier of its device (Confirm, path.h).
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>

#include "drain.h"

namespace nc {

namespace {

constexpr int64_t kStallNs = 250 * 1000000LL;      // a socket unwritable this long: give up on its target
constexpr int64_t kProbeRetryNs = 10 * 1000000LL;  // a probe the kernel refused (no route yet): the next one

// Reads (and forgets) queued ICMP errors of a socket with IP_RECVERR: they are reported again
// by the next send, which they fail without sending it.
void DrainErrors(int fd) {
  char buf[256];
  for (int i = 0; i < 64; i++) {
    if (recv(fd, buf, sizeof buf, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
  }
}

}  // namespace

uint64_t Drain::Collect(Batch& b, uint64_t from, uint64_t head, int64_t now, uint64_t* firstHeld) {
  const uint64_t mask = lay_.ringSize - 1;
  uint8_t* ring = mem_ + lay_.ringOff;
  int8_t verdict[kMaxTargets];  // Gate's answer, once per target and pass
  memset(verdict, -1, sizeof verdict);
  b.n = 0;
  b.ng = 0;
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
    b.owner[b.n] = target;
    b.pos[b.n] = pos;
    b.msg[b.n] = msg;
    b.report[b.n] = reportOf_[target];
    b.slot[b.n] = slot;
    b.route[b.n] = r;
    b.gso[b.n] = v == Verdict::kSend && tune_.gso && !gsoOff_[target];
    b.n++;
    pos = next;
  }
  Plan(b);
  return pos;
}

void Drain::Plan(Batch& b) {
  int open[kMaxTargets];  // each target's group that may take its next slot, or -1
  std::fill(std::begin(open), std::end(open), -1);
  // Raw mode (the TX ring): a run is one frame of the ring, its datagrams' frames after their
  // first without their headers (txring.h); a datagram's frame joins one of the same headers, with
  // a payload, and (IPv4) the identification after the run's last.
  const bool raw = b.ring != nullptr;
  const uint32_t cap = raw ? kTxRunBytes : static_cast<uint32_t>(kGsoBytes);
  b.ng = 0;
  for (int k = 0; k < b.n; k++) {
    const uint32_t t = b.owner[k];
    const uint32_t len = static_cast<uint32_t>(b.iov[k].iov_len);
    const uint32_t hdr = raw ? TxRing::HeaderBytes(b.iov[k]) : 0;
    const int32_t id = raw ? TxRing::IpId(b.iov[k]) : -1;
    const bool runs = b.gso[k] && len <= UINT16_MAX && (!raw || (hdr > 0 && len > hdr));
    int g = runs ? open[t] : -1;
    if (g >= 0 && len <= b.seg[g] && b.bytes[g] + len <= cap && hdr == b.hdr[g] &&
        (id < 0 || id == ((b.id[g] + 1) & 0xffff))) {
      b.of[k] = g;
      b.count[g]++;
      b.bytes[g] += len;
      b.id[g] = id;
      if (len < b.seg[g] || b.count[g] == kGsoSegs) open[t] = -1;  // a shorter one ends the run
      continue;
    }
    g = b.ng++;
    b.of[k] = g;
    b.first[g] = k;
    b.count[g] = 1;
    b.seg[g] = len;
    b.bytes[g] = len;
    b.id[g] = id;
    b.hdr[g] = hdr;
    open[t] = runs ? g : -1;
  }
  // Each group's slots side by side (b.gslot, b.giov), groups in the order of their first slots.
  for (int g = 0, at = 0; g < b.ng; g++) {
    b.start[g] = at;
    at += b.count[g];
    b.count[g] = 0;  // counted again as the slots are placed
  }
  for (int k = 0; k < b.n; k++) {
    const int g = b.of[k];
    const int at = b.start[g] + b.count[g]++;
    b.gslot[at] = k;
    b.giov[at] = b.iov[k];
  }
  if (raw) return;  // the ring takes the groups as they are
  for (int g = 0; g < b.ng; g++) {
    mmsghdr& m = b.msgs[g];
    const Route& r = *b.route[b.first[g]];
    m.msg_hdr = {};
    m.msg_hdr.msg_name = const_cast<sockaddr_storage*>(&r.addr);
    m.msg_hdr.msg_namelen = r.addrLen;
    m.msg_hdr.msg_iov = &b.giov[b.start[g]];
    m.msg_hdr.msg_iovlen = b.count[g];
    if (b.count[g] == 1) continue;
    m.msg_hdr.msg_control = &b.ctl[g * kGsoCtl];  // a run: its segment size goes with it
    m.msg_hdr.msg_controllen = kGsoCtl;
    cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    const uint16_t seg = static_cast<uint16_t>(b.seg[g]);
    memcpy(CMSG_DATA(c), &seg, sizeof seg);
  }
}

uint64_t Drain::Unsent(Batch& b, int g) {
  // Every slot before group g's first is in an earlier group, which went (or was given up).
  bool back[kMaxTargets] = {};
  for (int k = b.first[g]; k < b.n; k++) {
    if (b.sent[k]) continue;  // of an earlier group: KF_DONE, passed over when collected again
    const uint32_t t = b.owner[k];
    Probe& p = probe_[t];
    if (p.inFlight && p.msg == b.msg[k]) p = Probe{};  // not sent: no probe after all
    if (back[t]) continue;
    // The next pass collects these slots again: each target's message count goes back to what it
    // was before its first of them, so that they keep their messages' numbers.
    back[t] = true;
    uint16_t kind;
    memcpy(&kind, b.slot[k] + lay_.slotKind, 2);
    msgNo_[t] = (kind & lay_.kfFirst) != 0 ? b.msg[k] - 1 : b.msg[k];
    reportOf_[t] = b.report[k];
  }
  return b.pos[b.first[g]];
}

uint64_t Drain::Send(Batch& b, uint64_t end, bool* wait) {
  auto done = [&](int k) {
    uint16_t kind;
    memcpy(&kind, b.slot[k] + lay_.slotKind, 2);
    kind |= static_cast<uint16_t>(lay_.kfDone);
    memcpy(b.slot[k] + lay_.slotKind, &kind, 2);
  };
  // Group g's slots: b.gslot[b.start[g] .. b.start[g] + b.count[g]).
  auto slots = [&](int g) { return std::make_pair(&b.gslot[b.start[g]], &b.gslot[b.start[g]] + b.count[g]); };
  std::fill(b.sent.begin(), b.sent.begin() + b.n, 0);
  bool retried = false;
  for (int g = 0; g < b.ng;) {
    const int i = b.first[g];
    const uint32_t t = b.owner[i];
    const Route& to = *b.route[i];  // never block holding mu_ (the ring: a group per frame):
    int r = b.ring ? b.ring->Send(b.giov.data(), &b.start[g], &b.count[g], b.ng - g,
                                  reinterpret_cast<const sockaddr*>(&to.addr), to.addrLen)
                   : sendmmsg(b.fd, &b.msgs[g], b.ng - g, MSG_DONTWAIT);
    if (r > 0) {  // r groups
      for (int k = g; k < g + r; k++) {
        sent_ += b.count[k];
        if (b.ring) ringFrames_ += b.count[k];  // a run: that many frames on the device
        if (b.ring && b.ring->bypass()) bypassFrames_ += b.count[k];
        if (b.count[k] > 1) {
          gsoSends_++;
          gsoDatagrams_ += b.count[k];
        }
        for (auto [s, stop] = slots(k); s < stop; s++) {
          givingUp_[b.owner[*s]] = false;
          b.sent[*s] = 1;
          done(*s);
        }
      }
      g += r;
      retried = false;
      blocked_ = Blocked{};
      continue;
    }
    int e = errno;
    if (r < 0 && e == EINTR) continue;
    // A run's frame dropped past the qdisc: the device cannot take it whole (txring.h); again,
    // through the qdisc, which cuts it.
    if (r < 0 && e == ENOBUFS && b.ring && b.count[g] > 1 && b.ring->RunsNeedQdisc()) continue;
    // EBUSY: the TX ring's next frame is still the kernel's (its skb in a qdisc, or being sent).
    if (r < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == EBUSY)) {
      e == ENOBUFS ? enobufs_++ : eagain_++;
      if (!givingUp_[t]) {
        int64_t now = NowNs();
        if (blocked_.pos != b.pos[i]) blocked_ = Blocked{b.fd, e, t, b.pos[i], now, 0};
        blocked_.err = e;
        if (now - blocked_.since < kStallNs) {
          *wait = true;  // consumed up to the blocked datagram; wait, then go on from it
          return Unsent(b, g);
        }
        givingUp_[t] = true;  // unwritable for kStallNs: its datagrams get one try each
        stalls_++;
        Add64(TargetCounter(t, lay_.cntStalls), 1);
        blocked_ = Blocked{};
      }
      for (auto [s, stop] = slots(g); s < stop; s++) {
        Lose(t, b.msg[*s], b.report[*s], true, false);
        done(*s);
      }
      g++;
      continue;
    }
    if (b.count[g] > 1 && (e == EINVAL || e == EIO || e == EMSGSIZE || e == EOPNOTSUPP)) {
      // The kernel refused a GSO send (the path's MTU below the segment size, a device without
      // checksum offload, IPsec): this target's datagrams go one per mmsghdr from now on (until
      // its route changes), from this group on, in the next pass.
      gsoOff_[t] = true;
      gsoFallbacks_++;
      return Unsent(b, g);
    }
    if (!retried) {  // a pending ICMP error (IP_RECVERR) fails one send without sending it
      DrainErrors(b.fd);
      retries_++;
      retried = true;
      continue;
    }
    // ENETUNREACH, EPERM, EMSGSIZE, ...: a real transmit failure, of each datagram of the group
    Probe& p = probe_[t];
    for (auto [s, stop] = slots(g); s < stop; s++) {
      Lose(t, b.msg[*s], b.report[*s], true, false);
      // The probe never went out (a device just up may have no route yet): no neighbour entry
      // will change for it, so it is over; the next one goes out shortly.
      if (p.inFlight && p.msg == b.msg[*s]) {
        p.inFlight = false;
        probeRetryAt_[t] = NowNs() + kProbeRetryNs;
      }
      done(*s);
    }
    g++;
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

}  // namespace nc
