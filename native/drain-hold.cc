// Holding a target whose path cannot carry (path.h, docs/targets.md 5): what its next datagram
// does (Gate), whether a held target may move on, and the neighbour notifications read for the
// probes and for what was handed to a next hop that failed meanwhile (ReadPaths).
#include "drain.h"

namespace nc {

namespace {

constexpr int64_t kLookNs = 1000000;          // a device looked at longer ago is looked at again
constexpr int64_t kPollNs = 1000000;          // neighbour notifications are read at least this often
constexpr int64_t kReprobeNs = 1000000000LL;  // given up: a probe a second, so the path can come back

}  // namespace

bool Drain::Enabled(uint32_t t) const {
  return Load32(mem_ + lay_.targetsOff + t * lay_.targetSize + lay_.tgtState) == static_cast<int32_t>(lay_.stEnabled);
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

}  // namespace nc
