// PathWatch: the sender thread's look at its routes' devices (SIOCGIFFLAGS) and next hops
// (rtnetlink neighbour entries). See path.h for why.
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace nc {

namespace {

// Neighbour states through which a datagram goes out at once (linux/neighbour.h NUD_VALID).
constexpr int kNudValid = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;
constexpr int kQuerySeqBase = 1;
constexpr int64_t kSyncNs = 10 * 1000000LL;  // how often a device up but not running has linkwatch run  // a query for
                                             // target t carries nlmsg_seq t + 1; notifications 0

size_t AddrLen(int family) { return family == AF_INET ? 4 : 16; }

}  // namespace

PathWatch::PathWatch() {
  nl_ = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (nl_ >= 0) {
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_NEIGH | RTMGRP_LINK;
    // Best effort, as the kernel's own cap on it: a refused buffer is the default one, where an
    // overrun only comes sooner, and Poll answers one (ENOBUFS) by asking for every next hop again.
    static_cast<void>(AskRcvbuf(nl_, 1 << 20, false));
    if (bind(nl_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
      close(nl_);
      nl_ = -1;  // no notifications: neighbours are taken as valid (the behaviour without this)
    }
  }
  ctl_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

PathWatch::~PathWatch() { Close(); }

void PathWatch::Close() {
  for (int t = 0; t < kMaxTargets; t++) Clear(t);
  if (nl_ >= 0) close(nl_);
  if (ctl_ >= 0) close(ctl_);
  nl_ = ctl_ = -1;
}

void PathWatch::Set(int t, const char* ifname, int ifindex, uint8_t hopFamily, const uint8_t* hop) {
  PathInfo& p = paths_[t];
  if (p.changesFd >= 0) close(p.changesFd);
  p = PathInfo{};
  snprintf(p.ifname, IFNAMSIZ, "%s", ifname);
  p.ifindex = ifindex;
  p.hopFamily = hopFamily;
  if (hopFamily != 0) memcpy(p.hop, hop, AddrLen(hopFamily));
  p.neigh = hopFamily != 0 && nl_ >= 0 ? Neigh::kAsk : Neigh::kNone;
  set_[t] = true;
}

void PathWatch::Clear(int t) {
  set_[t] = false;
  if (paths_[t].changesFd >= 0) close(paths_[t].changesFd);
  paths_[t].changesFd = -1;
}

// The carrier, without the RTNL lock: sysfs `carrier` takes RTNL (a trylock that restarts the
// system call while anyone holds it), `carrier_changes` does not: it counts every carrier
// transition (up + down) at once, so its parity tells the state once one read of `carrier` has
// tied a parity to "on". Read through a descriptor kept open, again from offset 0 (one system
// call, ~1 us here; a seq_file read at 0 starts over). SIOCGIFFLAGS cannot tell: its short
// truncates IFF_LOWER_UP, and IFF_RUNNING follows the carrier only after linkwatch (up to 1 s).
int64_t PathWatch::Changes(PathInfo& p) {
  if (p.changesFd < 0) {
    std::string path = std::string("/sys/class/net/") + p.ifname + "/carrier_changes";
    p.changesFd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (p.changesFd < 0) return -1;
  }
  char c[24];
  ssize_t n = pread(p.changesFd, c, sizeof c - 1, 0);
  if (n > 0) {
    c[n] = 0;
    return strtoll(c, nullptr, 10);
  }
  close(p.changesFd);  // the device went away (or its name: found again by index in Look)
  p.changesFd = -1;
  return -1;
}

// sysfs `carrier` once (RTNL): 1 on, 0 off, -1 not running or unreadable.
static int CarrierNow(const char* ifname) {
  std::string path = std::string("/sys/class/net/") + ifname + "/carrier";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char c[4];
  ssize_t n = read(fd, c, sizeof c);
  close(fd);
  return n > 0 ? (c[0] == '1' ? 1 : 0) : -1;
}

// Reads the device's flags; false when it is gone. After a rename the device is found again by
// its index (and the carrier counter reopened under the new name).
bool PathWatch::Flags(PathInfo& p, unsigned* flags) {
  ifreq ifr{};
  memcpy(ifr.ifr_name, p.ifname, IFNAMSIZ);  // p.ifname is NUL-terminated within IFNAMSIZ
  int r = ioctl(ctl_, SIOCGIFFLAGS, &ifr);
  if (r < 0 && errno == ENODEV && p.ifindex > 0) {
    ifreq byIndex{};
    byIndex.ifr_ifindex = p.ifindex;
    if (ioctl(ctl_, SIOCGIFNAME, &byIndex) == 0) {
      memcpy(p.ifname, byIndex.ifr_name, IFNAMSIZ);
      p.ifname[IFNAMSIZ - 1] = 0;
      if (p.changesFd >= 0) close(p.changesFd);
      p.changesFd = -1;
      memcpy(ifr.ifr_name, p.ifname, IFNAMSIZ);
      r = ioctl(ctl_, SIOCGIFFLAGS, &ifr);
    }
  }
  if (r < 0) return false;
  *flags = static_cast<unsigned short>(ifr.ifr_flags);
  return true;
}

// Up (IFF_UP), running (IFF_RUNNING: netif_running and operstate up, so linkwatch has activated
// the qdisc) and with carrier.
void PathWatch::Look(PathInfo& p, int64_t now) {
  unsigned flags = 0;
  p.devAt = now;
  if (!Flags(p, &flags)) {
    // No such device, by name or index (it went away, or the host's look-ups are not the
    // kernel's): nothing to watch; the host's device events take it from here.
    p.devOk = true;
    p.arp = false;
    return;
  }
  p.arp = (flags & (IFF_LOOPBACK | IFF_NOARP)) == 0;
  if ((flags & IFF_UP) != 0 && (flags & IFF_RUNNING) == 0 && (flags & IFF_LOOPBACK) == 0 && now - p.syncAt >= kSyncNs) {
    // Up but not running: linkwatch may not have run yet (an event that is not urgent waits up to
    // a second). Reading `carrier` runs it for this device (linkwatch_sync_dev), so the path
    // reopens as soon as the carrier is there, not a second later.
    p.syncAt = now;
    if (CarrierNow(p.ifname) == 1) Flags(p, &flags);
  }
  bool running = (flags & IFF_UP) != 0 && (flags & IFF_RUNNING) != 0;
  if ((flags & IFF_LOOPBACK) != 0) {
    p.devOk = running;  // loopback has no carrier to lose
    return;
  }
  int64_t c = Changes(p);
  if (p.onParity < 0 && running && c >= 0) {
    int on = CarrierNow(p.ifname);
    if (on >= 0) p.onParity = static_cast<int>((c + (on == 1 ? 0 : 1)) & 1);
  }
  p.changesSeen = c;
  p.devOk = running && c >= 0 && p.onParity >= 0 && (c & 1) == p.onParity;
}

bool PathWatch::Ready(int t, int64_t now, int64_t staleNs) {
  PathInfo& p = paths_[t];
  if (now - p.devAt >= staleNs || p.devAt == 0) Look(p, now);
  if (p.neigh == Neigh::kAsk) {
    if (!p.arp) {
      p.neigh = Neigh::kNone;
    } else {
      Query(t);
      Poll();  // the kernel answers a get within the request's send
    }
  }
  return p.devOk && (!p.arp || p.neigh == Neigh::kNone || p.neigh == Neigh::kValid);
}

bool PathWatch::KeptCarrier(int t, int64_t now) {
  PathInfo& p = paths_[t];
  unsigned flags = 0;
  // IFF_RUNNING drops at once when the device is taken down (netif_running is cleared before its
  // qdisc is swapped for noop); carrier_changes moves at once when the carrier is lost.
  if (!Flags(p, &flags)) {
    Look(p, now);  // no such device: nothing to tell (Look says why)
    return true;
  }
  bool kept = (flags & IFF_UP) != 0 && (flags & IFF_RUNNING) != 0 &&
              ((flags & IFF_LOOPBACK) != 0 || Changes(p) == p.changesSeen);
  if (!kept)
    Look(p, now);
  else
    p.devAt = now;
  return kept;
}

bool PathWatch::DeviceOk(int t, int64_t now) {
  Look(paths_[t], now);
  return paths_[t].devOk;
}

bool PathWatch::Resolving(int t) const {
  const PathInfo& p = paths_[t];
  return p.devOk && p.arp && p.neigh == Neigh::kInvalid;
}

void PathWatch::Query(int t) {
  PathInfo& p = paths_[t];
  struct {
    nlmsghdr nlh;
    ndmsg ndm;
    rtattr rta;
    uint8_t addr[16];
  } req{};
  size_t alen = AddrLen(p.hopFamily);
  req.nlh.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(sizeof(ndmsg)) + RTA_LENGTH(alen));
  req.nlh.nlmsg_type = RTM_GETNEIGH;
  req.nlh.nlmsg_flags = NLM_F_REQUEST;
  req.nlh.nlmsg_seq = static_cast<uint32_t>(t + kQuerySeqBase);
  req.ndm.ndm_family = p.hopFamily;
  req.ndm.ndm_ifindex = p.ifindex;
  req.rta.rta_type = NDA_DST;
  req.rta.rta_len = static_cast<unsigned short>(RTA_LENGTH(alen));
  memcpy(req.addr, p.hop, alen);
  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  queries_++;
  if (sendto(nl_, &req, req.nlh.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    p.neigh = Neigh::kValid;  // cannot ask: behave as without the watch
    return;
  }
  p.neigh = Neigh::kUnknown;
}

void PathWatch::Apply(int family, int ifindex, const uint8_t* dst, int state, bool deleted, bool* changed) {
  for (int t = 0; t < kMaxTargets; t++) {
    PathInfo& p = paths_[t];
    if (!set_[t] || p.hopFamily != family || p.ifindex != ifindex || memcmp(p.hop, dst, AddrLen(family)) != 0) continue;
    if (p.neigh == Neigh::kNone) continue;
    Neigh now = !deleted && (state & kNudValid) != 0 ? Neigh::kValid : Neigh::kInvalid;
    bool failed = now == Neigh::kInvalid && (deleted || (state & NUD_FAILED) != 0);
    if (failed) failed_[t] = true;
    if (first_[t] == Outcome::kNone && (failed || now == Neigh::kValid))
      first_[t] = failed ? Outcome::kFailed : Outcome::kResolved;
    if (now != p.neigh) *changed = true;
    p.neigh = now;
  }
}

void PathWatch::Take(Outcome* first, bool* failed) {
  memcpy(first, first_, sizeof first_);
  memcpy(failed, failed_, sizeof failed_);
  memset(first_, 0, sizeof first_);
  memset(failed_, 0, sizeof failed_);
}

bool PathWatch::Poll() {
  if (nl_ < 0) return false;
  bool changed = false;
  alignas(nlmsghdr) uint8_t buf[16384];
  for (;;) {
    ssize_t n = recv(nl_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // notifications were lost: ask for every next hop again
        for (int t = 0; t < kMaxTargets; t++) {
          if (set_[t] && paths_[t].neigh != Neigh::kNone) paths_[t].neigh = Neigh::kAsk;
        }
        changed = true;
        continue;
      }
      break;  // EAGAIN: nothing more
    }
    int len = static_cast<int>(n);
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        int t = static_cast<int>(h->nlmsg_seq) - kQuerySeqBase;
        if (t < 0 || t >= kMaxTargets || !set_[t] || paths_[t].neigh != Neigh::kUnknown || e->error == 0) continue;
        // ENOENT: no entry (a datagram would create one and wait in its queue); anything else
        // (a kernel without single gets): as without the watch.
        paths_[t].neigh = e->error == -ENOENT ? Neigh::kInvalid : Neigh::kValid;
        changed = true;
        continue;
      }
      if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) {
        changed = true;  // a device changed: the caller looks at its devices again
        for (int t = 0; t < kMaxTargets; t++) paths_[t].devAt = 0;
        continue;
      }
      if (h->nlmsg_type != RTM_NEWNEIGH && h->nlmsg_type != RTM_DELNEIGH) continue;
      auto* ndm = static_cast<ndmsg*>(NLMSG_DATA(h));
      if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6) continue;
      int alen = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(ndmsg)));
      for (rtattr* a = reinterpret_cast<rtattr*>(reinterpret_cast<uint8_t*>(ndm) + NLMSG_ALIGN(sizeof(ndmsg)));
           RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        if (a->rta_type != NDA_DST || RTA_PAYLOAD(a) != AddrLen(ndm->ndm_family)) continue;
        Apply(ndm->ndm_family, ndm->ndm_ifindex, static_cast<const uint8_t*>(RTA_DATA(a)), ndm->ndm_state,
              h->nlmsg_type == RTM_DELNEIGH, &changed);
      }
    }
  }
  return changed;
}

void PathWatch::Wait(int ms) {
  if (nl_ < 0) {
    timespec ts{0, static_cast<long>(ms) * 1000000L};
    nanosleep(&ts, nullptr);
    return;
  }
  pollfd p{nl_, POLLIN, 0};
  poll(&p, 1, ms);
}

}  // namespace nc
