// The dgram sender's record of what each pass handed to the sockets, checked at the next pass
// against the next hops that failed meanwhile (native/drain-hold.cc ReadPaths does the same): a
// datagram that meets a neighbour entry between its failure and its removal is dropped by the
// kernel without a word, so its message counts as unconfirmed.
import { L } from '../core/layout.js';
import type { NeighbourStates, TargetPath } from './path.js';

/** A neighbour notification is dispatched at most this long after what it tells. */
const NOTIFY_LAG_MS = 100;

export class PassLog {
  /** Messages handed over in this pass and in the last one: target, message, report, flat. */
  private sentThisPass: number[] = [];
  private sentLastPass: number[] = [];
  private lastPassAt = 0;
  private readonly nextHopFailed = new Int8Array(L.MAX_TARGETS);

  /** A datagram of target t's message `msg` (`report`: the losses it tells, 0: a log message)
   *  was handed over in this pass; a message is logged once. */
  sent(t: number, msg: number, report: number): void {
    const s = this.sentThisPass;
    const n = s.length;
    if (n === 0 || s[n - 3] !== t || s[n - 2] !== msg) s.push(t, msg, report);
  }

  /** The pass ended at `now`: what it handed over for the targets still `touched` (their
   *  carrier kept) is checked at the next pass. */
  endPass(now: number, touched: Uint8Array): void {
    const s = this.sentThisPass;
    const kept = this.sentLastPass; // check() took what it had to look at
    kept.length = 0;
    for (let i = 0; i < s.length; i += 3) if (touched[s[i]!] !== 0) kept.push(s[i]!, s[i + 1]!, s[i + 2]!);
    s.length = 0;
    this.lastPassAt = now;
  }

  /** Before a pass: `lose` each message of the last pass whose target's next hop failed or went
   *  away since (asked once per target). */
  check(
    neighbours: NeighbourStates | null,
    paths: ReadonlyArray<TargetPath | undefined>,
    now: number,
    lose: (t: number, msg: number, report: number) => void,
  ): void {
    if (neighbours === null || this.sentLastPass.length === 0) return;
    const failed = this.nextHopFailed.fill(-1); // per target, asked once a pass
    const last = this.sentLastPass;
    this.sentLastPass = [];
    for (let i = 0; i < last.length; i += 3) {
      const t = last[i]!;
      if (failed[t]! < 0) failed[t] = this.nextHopFailedSince(neighbours, paths[t], now) ? 1 : 0;
      if (failed[t] === 1) lose(t, last[i + 1]!, last[i + 2]!);
    }
  }

  private nextHopFailedSince(neighbours: NeighbourStates, p: TargetPath | undefined, now: number): boolean {
    if (p === undefined || p.nextHop === null) return false;
    // The notification reaches this loop within a turn or two of the failure: one seen much
    // later is about another moment (the sender slept meanwhile).
    const at = neighbours.failedAt(p.device.ifindex, p.nextHop);
    if (!(at > this.lastPassAt && at - this.lastPassAt < NOTIFY_LAG_MS)) return false;
    // A failure that follows a lost carrier: what went before passed the carrier checks.
    return p.deviceOk(now);
  }
}
