// The logging methods (one per level) shared by a Netconsole and a worker's logger, and attach():
// a logger over the memory of the Netconsole whose handle it was given.
//
// Thread slots (README, "Workers"): a thread's loggers share one slot of the memory's 64 (THR_STATE
// counts them: assembly/index.ts thread_claim), so a thread can attach as often as it likes; the
// slot comes back when its last logger detaches or is garbage-collected (a FinalizationRegistry),
// or when the thread exits (the host's reaper, Core.reapDeadThreads). attach() adds no listener
// anywhere: nothing outlives a logger but its claim, until one of those drops it.
import { invalid } from '../base/errors.js';
import { readCoreHandle } from '../core/handle.js';
import { native } from '../core/native.js';
import { waiterFor } from '../core/room.js';
import { guarded, toInt } from '../core/validate.js';
import { Core, type CoreHandle } from '../core/wasm.js';
import { LEVELS, levelNumber, Writer, type Level, type Loggable, type LogOptions, type Overflow } from '../core/writer.js';
import { oneOf, OVERFLOW_WAIT_MAX_MS } from './options.js';

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

/** A handle as the caller gave it, read once and checked field by field: typed errors (EINVAL,
 *  ERANGE) naming the field, before anything is claimed. */
function readHandle(value: unknown): NetconsoleHandle {
  if (typeof value !== 'object' || value === null) throw invalid('handle', value, 'the value of nc.handle(), as given or structured-cloned');
  const f = guarded('handle', value, () => {
    const h = value as Record<string, unknown>;
    return { core: h.core, facility: h.facility, overflow: h.overflow, overflowWaitMs: h.overflowWaitMs, sender: h.sender };
  });
  return {
    facility: toInt('handle.facility', f.facility, 0, 23),
    overflow: oneOf('handle.overflow', f.overflow, ['wait', 'drop'] as const),
    overflowWaitMs: toInt('handle.overflowWaitMs', f.overflowWaitMs, 0, OVERFLOW_WAIT_MAX_MS),
    sender: oneOf('handle.sender', f.sender, ['native', 'dgram'] as const),
    core: readCoreHandle(f.core, 'handle.core'),
  };
}

/** Drops the claim of a logger that was garbage-collected without detach(). */
const claims = new FinalizationRegistry<Core>((core) => core.release());

/** A logger writing through the memory of the Netconsole whose handle it got (in a worker, or on
 *  any thread). */
export class WorkerLogger extends Logger {
  private readonly core: Core;
  private detached = false;

  constructor(handle: NetconsoleHandle) {
    const { core: coreHandle, facility, overflow, overflowWaitMs, sender } = readHandle(handle);
    const core = Core.attach(coreHandle); // claims this thread's slot (or one more claim on it)
    let writer: Writer;
    try {
      writer = new Writer(core, { facility, overflow, overflowWaitMs, room: waiterFor(sender, native, coreHandle.memory) });
    } catch (err) {
      core.release(); // a rejected attach() keeps nothing
      throw err;
    }
    super(writer);
    this.core = core;
    claims.register(this, core, this);
  }

  /** Drops this logger's claim on its thread's slot (the slot is freed with the thread's last);
   *  from then on its log calls write nothing and return 0. Also done when the logger is
   *  garbage-collected; a thread that exits frees its slot whatever its claims. */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.mute(); // the slot may be another thread's by the next call
    claims.unregister(this);
    this.core.release();
  }
}

/** A logger over the memory of the Netconsole of `handle` (nc.handle(), possibly through
 *  postMessage or workerData). A malformed handle is a typed error (EINVAL, ERANGE), a full slot
 *  table ENOSPC; neither claims anything. */
export function attach(handle: NetconsoleHandle): WorkerLogger {
  return new WorkerLogger(handle);
}
