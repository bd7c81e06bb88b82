// The dgram sender's message accounting (native/drain-loss.cc keeps the same in the addon): which
// message of its target each datagram belongs to (a message's datagrams share a number; KF_FIRST
// starts the next), the losses an in-band report tells, and each lost message counted once in its
// target's counters. A lost report is not a lost message: its losses are told again.
import { L } from '../core/layout.js';
import type { TargetSlots } from '../core/target-slots.js';

/** The last messages counted lost that are remembered per target (a message is counted once). */
const RECENT = 16;

export class MessageBook {
  /** Messages counted lost that the kernel may have sent (handed over as the carrier was lost). */
  unconfirmed = 0;
  private readonly msgNo = new Float64Array(L.MAX_TARGETS);
  private readonly lostNo = new Float64Array(L.MAX_TARGETS).fill(-1);
  /** The losses the current message tells when it is an in-band report (0: a log message). */
  private readonly reportOf = new Float64Array(L.MAX_TARGETS);
  private readonly lostRecent: number[][] = Array.from({ length: L.MAX_TARGETS }, () => []);

  constructor(private readonly targets: TargetSlots) {}

  /** A slot of target t is being sent or lost: the number of its message (`kind`: its K_* | KF_*
   *  bits; `aux`: what a report tells). */
  take(t: number, kind: number, aux: number): number {
    if ((kind & L.KF_FIRST) === 0) return this.msgNo[t]!;
    this.reportOf[t] = (kind & L.KF_REPORT) !== 0 ? aux : 0;
    return ++this.msgNo[t]!;
  }

  /** What the current message of t tells when it is an in-band report (0: a log message). */
  report(t: number): number {
    return this.reportOf[t]!;
  }

  /** Whether a datagram of message `msg` is the rest of a message already lost (not sent). */
  restOfLost(t: number, msg: number, kind: number): boolean {
    return (kind & L.KF_FIRST) === 0 && this.lostNo[t] === msg;
  }

  /** Counts message `msg` of target t lost (`unconfirmed`: handed to the kernel as its device
   *  lost its carrier); false when it was already. */
  count(t: number, msg: number, unconfirmed: boolean, report: number): boolean {
    const recent = this.lostRecent[t]!;
    if (recent.includes(msg)) return false;
    recent.push(msg);
    if (recent.length > RECENT) recent.shift();
    if (msg === this.msgNo[t]) this.lostNo[t] = msg;
    if (report !== 0) {
      this.targets.countReportLost(t, report);
      return true;
    }
    if (unconfirmed) this.unconfirmed++;
    this.targets.countMessageLost(t, unconfirmed);
    return true;
  }
}
