// What the sender thread counts lost: a message once (per target, from its KF_FIRST datagram),
// its datagrams that could not be handed to the kernel as transmit errors, a lost in-band report's
// losses handed back to the write path.
#include <algorithm>

#include "drain.h"

namespace nc {

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

}  // namespace nc
