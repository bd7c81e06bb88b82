// The logging methods (one per level) shared by a Netconsole and a worker's logger, and attach():
// a worker's logger over the memory of the Netconsole whose handle it was given.
import { native } from '../core/native.js';
import { waiterFor } from '../core/room.js';
import { Core, type CoreHandle } from '../core/wasm.js';
import { LEVELS, levelNumber, Writer, type Level, type Loggable, type LogOptions, type Overflow } from '../core/writer.js';

/** Passed to a worker (postMessage, workerData) so it can log through the same memory: opaque
 *  (structured-cloneable; give it to attach()). */
export interface NetconsoleHandle {
  core: CoreHandle;
  facility: number;
  overflow: Overflow;
  overflowWaitMs: number;
  /** Who drains the ring: how a waiting worker sleeps (room.ts). */
  sender: string;
}

type LevelMethods = { [K in (typeof LEVELS)[number]]: (value: Loggable, opts?: LogOptions) => number };

/** Logging methods shared by Netconsole and a worker's logger. */
export class Logger {
  protected constructor(protected readonly writer: Writer) {
    for (const [i, name] of LEVELS.entries()) {
      (this as unknown as Record<string, unknown>)[name] = (value: Loggable, opts?: LogOptions) => this.writer.write(i, value, opts);
    }
  }

  /** One record at `level`; returns the number of targets it was offered to. Never waits. */
  log(level: Level, value: Loggable, opts?: LogOptions): number {
    return this.writer.write(levelNumber(level), value, opts);
  }

  /** The logger's writer, muted (oopsOnly): every level method then sends nothing. */
  protected mute(): void {
    for (const name of [...LEVELS, 'log', 'error', 'warn']) (this as unknown as Record<string, unknown>)[name] = () => 0;
  }

  error(value: Loggable, opts?: LogOptions): number {
    return this.writer.write(3, value, opts);
  }

  warn(value: Loggable, opts?: LogOptions): number {
    return this.writer.write(4, value, opts);
  }
}
export interface Logger extends LevelMethods {}

/** In a worker: a logger writing through the memory of the Netconsole whose handle it got. */
export class WorkerLogger extends Logger {
  private readonly core: Core;
  private detached = false;

  constructor(handle: NetconsoleHandle) {
    const core = Core.attach(handle.core);
    const { facility, overflow, overflowWaitMs } = handle;
    super(new Writer(core, { facility, overflow, overflowWaitMs, room: waiterFor(handle.sender, native) }));
    this.core = core;
    process.once('exit', () => this.detach());
  }

  /** Frees this thread's slot (also done when the thread exits). */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.core.release();
  }
}

export function attach(handle: NetconsoleHandle): WorkerLogger {
  return new WorkerLogger(handle);
}
