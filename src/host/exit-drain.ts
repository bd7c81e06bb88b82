// Records logged just before the process ends must still go out: at 'beforeExit' and at 'exit'
// (also process.exit()) a Netconsole's sender hands what is in the ring to the kernel
// synchronously, for at most exitDrainMs; what it could not is said on stderr. At SIGTERM, SIGINT
// and SIGHUP without a listener of the application's, the same before the signal ends the process
// (signals.ts runs the hook; this is one Netconsole's part in it).
import type { Core } from '../core/wasm.js';
import type { Sender } from '../sender/types.js';
import { drainOnSignals, sayOnStderr, stopDrainOnSignals, type DrainSignal, type SignalDrain } from './signals.js';

export class ExitDrain implements SignalDrain {
  private readonly onExit = (): void => this.drainAtExit();

  constructor(
    private readonly core: Core,
    private readonly sender: Sender,
    /** exitDrainMs: the longest a drain at exit or at a signal may take. */
    readonly boundMs: number,
    readonly signals: ReadonlySet<DrainSignal>,
  ) {
    process.on('beforeExit', this.onExit);
    process.on('exit', this.onExit);
    drainOnSignals(this);
  }

  /** The Netconsole closed: no drain at exit or at a signal any more. */
  stop(): void {
    process.off('beforeExit', this.onExit);
    process.off('exit', this.onExit);
    stopDrainOnSignals(this);
  }

  kick(): void {
    this.sender.kick();
  }

  drainSync(ms: number): boolean {
    return this.sender.drainSync(ms);
  }

  queued(): number {
    return this.sender.counters().queued;
  }

  /** What is still in the ring or in the sockets' send queues, said on stderr (nothing when empty). */
  reportLeft(end: string): void {
    const left = this.core.ring.head() - this.core.ring.tail() + this.sender.counters().queued;
    if (left > 0)
      sayOnStderr(
        `netconsole: ${left} bytes of log records could not be handed to the kernel before ${end} (sender ${this.sender.name})\n`,
      );
  }

  /** Process exit: what is in the ring goes out now; what cannot is said on stderr, not lost silently. */
  private drainAtExit(): void {
    if (this.core.ring.head() === this.core.ring.tail() && this.sender.counters().queued === 0) return;
    if (this.sender.drainSync(this.boundMs)) return;
    this.reportLeft('the process exited');
  }
}
