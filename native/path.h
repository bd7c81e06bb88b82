// Whether a target's path can carry datagrams now, as the sender thread sees it (sender.cc).
//
// The kernel drops a UDP datagram without a word in three places a log shipper meets in
// production: a device without carrier (veth drops toward a peer that is down; after linkwatch the
// noop qdisc), a device going down (the noop qdisc until the routes go), and a neighbour entry
// that must resolve again (its queue keeps unres_qlen_bytes, ~276 small datagrams; after a carrier
// loss the next ARP/ND probe may be a whole retransmit interval away, 1 s by default). None of them
// fails the send. So before a batch the sender asks whether the path is ready, and after it
// whether the device kept its carrier meanwhile:
//  * the device: SIOCGIFFLAGS (IFF_RUNNING: running, and linkwatch has activated the qdisc) and
//    its carrier (sysfs carrier_changes, which moves at once); a path reopens only with the
//    device up, running and with carrier, and a batch is confirmed when neither moved during it;
//  * the next hop (UDP through a device that does ARP/ND): the neighbour entry, asked for once
//    with RTM_GETNEIGH when the route is set, then followed through rtnetlink notifications on a
//    socket of this thread (RTMGRP_NEIGH; RTMGRP_LINK only wakes a held sender early).
// Nothing here is shared with other threads: the host passes each route's device and next hop
// through setRoute (under the sender's mutex), and the thread owns the rest.
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>

#include "common.h"

namespace nc {

// The neighbour of a route's next hop.
enum class Neigh : uint8_t {
  kNone,     // no next hop to resolve (raw mode, loopback, IFF_NOARP devices)
  kAsk,      // to be asked for (the route is new, or notifications were lost)
  kUnknown,  // asked (RTM_GETNEIGH), no answer yet
  kValid,    // REACHABLE, STALE, DELAY, PROBE, PERMANENT, NOARP: datagrams go out
  kInvalid,  // INCOMPLETE, FAILED, or no entry: datagrams would wait in (or be dropped from) its queue
};

struct PathInfo {
  char ifname[IFNAMSIZ] = {};
  int ifindex = 0;
  uint8_t hopFamily = 0;  // 0: no next hop (raw mode), else AF_INET or AF_INET6
  uint8_t hop[16] = {};
  // Thread state:
  Neigh neigh = Neigh::kNone;
  bool devOk = false;        // up with carrier at the last look
  bool arp = false;          // the device resolves neighbours (not loopback, not IFF_NOARP)
  int64_t devAt = 0;         // when the device was last looked at (ns, CLOCK_MONOTONIC)
  int changesFd = -1;        // /sys/class/net/<dev>/carrier_changes, kept open
  int64_t changesSeen = -1;  // its value at the last look
  int onParity = -1;
  int64_t syncAt = 0;  // when `carrier` was last read to run linkwatch for it       // the parity of carrier_changes
                       // while the carrier is on (-1: not known yet)
};

// The sender thread's view of the devices and neighbours of its routes. Set and Clear are called
// with the sender's mutex held (from the host's thread); everything else on the sender thread,
// also with the mutex held (routes change only between batches).
class PathWatch {
 public:
  PathWatch();
  ~PathWatch();
  // Closes its sockets and descriptors (the thread stopped): it answers nothing afterwards.
  void Close();
  PathWatch(const PathWatch&) = delete;
  PathWatch& operator=(const PathWatch&) = delete;

  // Target t's device and next hop (hopFamily 0: none): looked at again from scratch.
  void Set(int t, const char* ifname, int ifindex, uint8_t hopFamily, const uint8_t* hop);
  void Clear(int t);

  // Whether target t's path can carry datagrams: its device is looked at again when the last look
  // is older than `staleNs`, its neighbour asked for when unknown.
  bool Ready(int t, int64_t now, int64_t staleNs);
  // After a batch: whether t's device still has its carrier (looked at now).
  bool KeptCarrier(int t, int64_t now);
  // Whether t's device is up, running and with carrier (looked at now).
  bool DeviceOk(int t, int64_t now);
  // Whether t's next hop is being resolved (a datagram sent now would wait in the neighbour's
  // queue): the device is fine, the neighbour is not.
  bool Resolving(int t) const;
  // Reads what the kernel sent (neighbour notifications, answers to queries). Returns true when
  // a neighbour changed state.
  bool Poll();
  // What happened to each target's next hop since the last Take: the first decisive event
  // (resolved, or failed / deleted: what waited in its queue was dropped), and whether it failed
  // or vanished at all (what was handed to it lately may have been dropped).
  enum class Outcome : uint8_t { kNone, kResolved, kFailed };
  void Take(Outcome* first, bool* failed);
  // Sleeps until a notification arrives or `ms` passed (a held sender's wait).
  void Wait(int ms);

  uint64_t queries() const { return queries_; }

 private:
  void Look(PathInfo& p, int64_t now);
  int64_t Changes(PathInfo& p);
  bool Flags(PathInfo& p, unsigned* flags);
  void Query(int t);
  void Apply(int family, int ifindex, const uint8_t* dst, int state, bool deleted, bool* changed);
  Outcome first_[kMaxTargets] = {};
  bool failed_[kMaxTargets] = {};
  PathInfo paths_[kMaxTargets];
  bool set_[kMaxTargets] = {};
  int nl_ = -1;   // rtnetlink: RTMGRP_NEIGH | RTMGRP_LINK, non-blocking, this thread's only
  int ctl_ = -1;  // an AF_INET datagram socket for ioctls
  uint64_t queries_ = 0;
};

}  // namespace nc
