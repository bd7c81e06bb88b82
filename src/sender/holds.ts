// The dgram sender's held targets (native/drain-hold.cc keeps the same in the addon): per target,
// whether a slot of it between RING_TAIL and the scan was left in the ring, and why: its path
// cannot carry it (path.ts), or its socket has a datagram waiting in Node's send queue
// (outlets.ts). Once one slot of a target is left, so are its later ones: its order holds. And
// the gate's answer per target, asked once a pass.
import { L } from '../core/layout.js';
import type { TargetPath, Verdict } from './path.js';
import type { Outlet } from './outlets.js';

const VERDICTS: readonly Verdict[] = ['send', 'hold', 'lose', 'probe'];
const HOLD = VERDICTS.indexOf('hold');

export class Holds {
  private readonly held = new Uint8Array(L.MAX_TARGETS);
  /** Of those, held for its socket's queue (its path may be fine). */
  private readonly forSocket = new Uint8Array(L.MAX_TARGETS);
  /** The gate's answer per target this pass (-1: not asked yet). */
  private readonly verdict = new Int8Array(L.MAX_TARGETS);

  constructor(
    private readonly paths: ReadonlyArray<TargetPath | undefined>,
    private readonly outletOf: ReadonlyArray<Outlet | undefined>,
    /** Asks target t's path (TargetPath.gate, with the sender's hooks). */
    private readonly gate: (t: number) => Verdict,
  ) {}

  /** A pass begins: the gate is asked again; `rescan` (the walk starts at RING_TAIL again):
   *  nothing is held any more. */
  startPass(rescan: boolean): void {
    if (rescan) {
      this.held.fill(0);
      this.forSocket.fill(0);
    }
    this.verdict.fill(-1);
  }

  /** What to do with a slot of t: 'hold' when an older slot of it was left, else the gate's answer. */
  verdictOf(t: number): Verdict {
    if (this.held[t] !== 0) return 'hold';
    if (this.verdict[t] < 0) this.verdict[t] = VERDICTS.indexOf(this.gate(t));
    return VERDICTS[this.verdict[t]]!;
  }

  /** t's later slots this pass wait for its probe's outcome. */
  probing(t: number): void {
    this.verdict[t] = HOLD;
  }

  /** A slot of t is left in the ring (`forSocket`: for its socket's queue). */
  hold(t: number, forSocket: boolean): void {
    if (this.held[t] === 0 && forSocket) this.forSocket[t] = 1;
    this.held[t] = 1;
  }

  /** Whether some target's path holds it, with slots waiting or a probe out: its path is looked
   *  at again soon. */
  pathHolding(): boolean {
    for (let t = 0; t < L.MAX_TARGETS; t++) {
      const p = this.paths[t];
      if ((this.held[t] !== 0 && this.forSocket[t] === 0) || p?.probe != null || p?.holding === true) return true;
    }
    return false;
  }

  /** Whether some target's slots wait for its socket's queued datagram. */
  socketHolding(): boolean {
    return this.forSocket.includes(1);
  }

  /** Whether some held target can move on: its socket's queue emptied, or its path is back, it
   *  is given up, or it may probe. */
  mayMove(now: number): boolean {
    let move = false;
    for (let t = 0; t < L.MAX_TARGETS; t++) {
      const p = this.paths[t];
      if (this.forSocket[t] !== 0) {
        if (this.outletOf[t]?.blocked !== true) move = true;
      } else if (this.held[t] !== 0) {
        if (p === undefined || this.gate(t) !== 'hold') move = true;
      } else if (p?.holding === true && p.probe === null) {
        p.settle(now); // its path may be back with nothing waiting: the hold ends there
      }
    }
    return move;
  }
}
