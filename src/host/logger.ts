// The logging methods (one per level) shared by a Netconsole, a worker's logger and their
// children, with the conventions of pino, winston and console (what the arguments become:
// log-args.ts; the level threshold; child(); a log call that never throws by default); and
// attach(): a logger over the memory of the Netconsole whose handle it was given.
//
// Thread slots (README, "Workers"): a thread's loggers share one slot of the memory's 64 (THR_STATE
// counts them: assembly/index.ts thread_claim), so a thread can attach as often as it likes; the
// slot comes back when its last logger detaches or is garbage-collected (a FinalizationRegistry),
// or when the thread exits (the host's reaper, Core.reapDeadThreads). attach() adds no listener
// anywhere: nothing outlives a logger but its claim, until one of those drops it.
import { invalid, NetconsoleError } from '../base/errors.js';
import { unknownName } from '../base/names.js';
import { FACILITY_MAX, LEVEL_MAX } from '../base/limits.js';
import { readCoreHandle } from '../core/handle.js';
import { native } from '../core/native.js';
import { waiterFor } from '../core/room.js';
import { guarded, toBool, toInt } from '../core/validate.js';
import { Core, type CoreHandle } from '../core/wasm.js';
import {
  LEVELS,
  levelNumber,
  toText,
  Writer,
  type Level,
  type LevelName,
  type Loggable,
  type LogOptions,
  type Overflow,
} from '../core/writer.js';
import { bindingsOf, merged, pairsOf, prefixed, shape, type Context } from './log-args.js';
import { OVERFLOW_WAIT_MAX_MS } from './options.js';
import { oneOf } from '../base/check.js';

/** Passed to a worker (postMessage, workerData) so it can log through the same memory: opaque
 *  (structured-cloneable; give it to attach()). */
export interface NetconsoleHandle {
  core: CoreHandle;
  facility: number;
  overflow: Overflow;
  overflowWaitMs: number;
  /** Who drains the ring: how a waiting worker sleeps (room.ts). */
  sender: string;
  /** The attached logger's level threshold at first (0..7): the Netconsole's when the handle
   *  was made. Absent: 7 (everything). */
  level?: number;
  /** The Netconsole's throwOnLogError. Absent: false. */
  throwOnLogError?: boolean;
}

/**
 * A level method: `nc.info(...)`. Takes what pino, winston and console users write (README,
 * "Logging"; host/log-args.ts): `('text')`, `('user %s', 'bob')` (util.format), `({ id: 1 })`
 * (JSON), `({ user: 'bob' }, 'login %d', 3)` (pino's merging object: its fields as dictionary
 * entries), `(err)`, `(err, 'message')`, `(bytes)`. Returns the number of targets the record was
 * offered to: 0 when it is below the logger's level, or refused (see Logger).
 */
export type LogMethod = (value: unknown, ...args: unknown[]) => number;

/** The level methods: the syslog names, their aliases (error, warn) and pino's trace and fatal. */
export type LevelMethodName = LevelName | 'error' | 'warn' | 'trace' | 'fatal';
type LevelMethods = { [K in LevelMethodName]: LogMethod };

/** Every level method and its level: fatal is emerg (0) and trace debug (7), as the pino integration maps them. */
const METHODS: ReadonlyArray<readonly [LevelMethodName, number]> = [
  ...LEVELS.map((name, i) => [name, i] as const),
  ['error', 3],
  ['warn', 4],
  ['fatal', 0],
  ['trace', 7],
];

/** A child's options (pino's shape). */
export interface ChildOptions {
  /** Text put before every record's text; a child's child puts its own after its parent's. */
  msgPrefix?: string;
  /** The child's level threshold at first. Default: its parent's at the time. */
  level?: Level;
}
const CHILD_OPTIONS = ['msgPrefix', 'level'];

/** What a logger shares with its children: the writer, whether it is muted, the policy for a
 *  refused call, and the logger that owns the writer (a child keeps it alive: a worker's logger
 *  gives its thread slot back when it is garbage-collected; a Netconsole's flush()). Internal. */
export interface LoggerShared {
  readonly writer: Writer;
  muted: boolean;
  readonly throwOnLogError: boolean;
  readonly root: Logger;
}

/** Warning codes already emitted, by this thread: one warning per cause. */
const warned = new Set<string>();
/** The fields a refused log call's error can name, as they appear in warning codes. */
const CAUSES = new Map([
  ['level', 'LEVEL'],
  ['value', 'VALUE'],
  ['args', 'ARGS'],
  ['opts', 'OPTS'],
  ['dict', 'DICT'],
  ['cont', 'OPTS'],
  ['facility', 'OPTS'],
]);

/** The warning code of a refused log call: NETCONSOLE_LOG_<field>_<errno> (NETCONSOLE_LOG_VALUE_EINVAL:
 *  a value that is not text), or NETCONSOLE_LOG_ERROR for a failure that is not a NetconsoleError. */
function logWarningCode(err: unknown): string {
  if (!(err instanceof NetconsoleError)) return 'NETCONSOLE_LOG_ERROR';
  // 'dict[0] key' is DICT; an unknown option's name (a typo) is OPTS
  const field = CAUSES.get(/^[a-z]*/i.exec(err.option ?? '')![0]) ?? 'OPTS';
  return `NETCONSOLE_LOG_${field}_${err.code}`;
}

/** A refused log call, said once per cause (per thread) as a process warning. */
function warnOnce(err: unknown): void {
  const code = logWarningCode(err);
  if (warned.has(code)) return;
  warned.add(code);
  let why: string;
  try {
    why = err instanceof Error ? err.message : String(err);
  } catch {
    why = 'a value that cannot be printed';
  }
  // Emitted on the next tick: a 'warning' listener that logs does not run inside this call.
  process.emitWarning(
    `netconsole: a log call was refused and returned 0 (${why}). Counted in stats().logErrors; this warning is given once per cause. throwOnLogError: true makes such calls throw.`,
    { code },
  );
}

/**
 * The logging methods shared by a Netconsole, a worker's logger and their children.
 *
 * A log call never throws by default: a bad level, a value that is not text (a symbol, a throwing
 * toString), arguments util.format cannot render, bad per-record options or a dictionary past
 * its room make it return 0 with nothing written, counted in `stats().logErrors` (for every
 * thread) and said once per cause (per thread) as a process warning (code
 * NETCONSOLE_LOG_<FIELD>_<ERRNO>). With the option `throwOnLogError: true` such a call throws
 * the typed NetconsoleError instead.
 */
export class Logger {
  /** What this logger shares with its children. */
  private readonly shared: LoggerShared;
  /** Records above this syslog level (numerically) are not written. */
  private threshold: number;
  private readonly ctx: Context | null;

  protected constructor(
    shared: Writer | LoggerShared,
    opts: { level?: number; throwOnLogError?: boolean; ctx?: Context | null } = {},
  ) {
    this.shared =
      shared instanceof Writer
        ? { writer: shared, muted: false, throwOnLogError: opts.throwOnLogError ?? false, root: this }
        : shared;
    this.threshold = opts.level ?? 7;
    this.ctx = opts.ctx ?? null;
    const self = this as unknown as Record<string, LogMethod>;
    for (const [name, level] of METHODS) self[name] = this.method(level);
  }

  /** The writer: for the Netconsole's own records (oops), beside the level methods. */
  protected get writer(): Writer {
    return this.shared.writer;
  }

  /** A level method: a closure (so that `const { info } = nc` works), the level decided here. */
  private method(level: number): LogMethod {
    const shared = this.shared;
    const plain = this.ctx === null;
    return (value: unknown, ...args: unknown[]): number => {
      if (level > this.threshold || shared.muted) return 0;
      // The hot path: a string alone, from a logger without context, as before the conventions
      // (writeString: what write() would hand it to, one JavaScript call fewer).
      if (plain && args.length === 0 && typeof value === 'string') {
        try {
          return shared.writer.writeString(level, value);
        } catch (err) {
          return this.refused(err);
        }
      }
      return this.shaped(level, value, args);
    };
  }

  /** One record at `level` (a name or 0..7), with the arguments of a level method. */
  log(level: Level, value: unknown, ...args: unknown[]): number {
    let n: number;
    try {
      n = levelNumber(level);
    } catch (err) {
      return this.refused(err);
    }
    if (n > this.threshold || this.shared.muted) return 0;
    return this.shaped(n, value, args);
  }

  /** A record of a level method's arguments (host/log-args.ts). */
  private shaped(level: number, value: unknown, args: unknown[]): number {
    try {
      const r = shape(value, args, this.ctx);
      return this.shared.writer.writeRecord(level, r.text, r.dict);
    } catch (err) {
      return this.refused(err);
    }
  }

  /**
   * One record, exactly: `value` by toText's rules (a string, bytes, an Error's stack, String()
   * of anything else; no formatting, no JSON), with per-record options: `dict` (dictionary
   * entries), `cont` (a continuation record), `facility`. What log() was before the logger
   * conventions, and what the integrations call. A child adds its prefix and its bindings (under
   * `opts.dict`'s: the call's keys win). Below the level: 0; refused: see the class.
   */
  write(level: Level, value: Loggable, opts?: LogOptions): number {
    try {
      const n = levelNumber(level);
      if (n > this.threshold || this.shared.muted) return 0;
      const ctx = this.ctx;
      if (ctx === null) return this.shared.writer.write(n, value, opts);
      return this.shared.writer.write(
        n,
        ctx.prefix === '' ? value : prefixed(ctx.prefix, toText(value)),
        opts,
        ctx.pairs,
      );
    } catch (err) {
      return this.refused(err);
    }
  }

  /** A refused log call: counted, said once, 0; or thrown with throwOnLogError. */
  private refused(err: unknown): number {
    if (this.shared.throwOnLogError) throw err;
    this.shared.writer.countLogError();
    warnOnce(err);
    return 0;
  }

  /**
   * The level threshold: records of a higher (less severe) level are not written, at no cost but
   * a comparison. Reads back the level's own name ('warning' after `level = 'warn'`, 'debug'
   * after 'trace'); set it to a name or 0..7 (anything else throws EINVAL or ERANGE). Default:
   * the `level` option (a Netconsole), the handle's (a worker's logger), the parent's (a child).
   */
  get level(): LevelName {
    return LEVELS[this.threshold];
  }

  set level(level: Level) {
    this.threshold = levelNumber(level);
  }

  /** Whether a record at `level` would be written (not below the threshold). A bad level throws EINVAL or ERANGE. */
  isLevelEnabled(level: Level): boolean {
    return levelNumber(level) <= this.threshold && !this.shared.muted;
  }

  /**
   * A logger whose records carry `bindings` (an object: its fields become dictionary entries of
   * every record, by the rules of a merging object, rendered once, now), under a call's merging
   * object (the call's keys win). It shares this logger's memory and writer; its level is this
   * logger's at first and its own from then on; `msgPrefix` goes before the text of each record
   * (after this logger's own prefix). Bad bindings or options throw (EINVAL, EMSGSIZE): this is
   * set-up, not a log call.
   */
  child(bindings: object, options?: ChildOptions): ChildLogger {
    if (bindings === null || typeof bindings !== 'object')
      throw invalid('bindings', bindings, 'an object whose fields become dictionary entries');
    let prefix = '';
    let level = this.threshold;
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object')
        throw invalid('options', options, 'an object { msgPrefix, level }, or undefined');
      const o = guarded('options', options, () => ({ ...options }) as Record<string, unknown>);
      for (const name of Object.keys(o))
        if (!CHILD_OPTIONS.includes(name)) throw unknownName(name, o[name], CHILD_OPTIONS, "child()'s options");
      if (o.msgPrefix !== undefined) {
        if (typeof o.msgPrefix !== 'string') throw invalid('msgPrefix', o.msgPrefix, 'a string');
        prefix = o.msgPrefix;
      }
      if (o.level !== undefined) level = levelNumber(o.level);
    }
    const parent = this.ctx;
    const all = merged(parent?.bindings ?? [], bindingsOf('bindings', bindings));
    const ctx: Context = { prefix: (parent?.prefix ?? '') + prefix, bindings: all, pairs: pairsOf(all) };
    return new ChildLogger(this.shared, { level, ctx });
  }

  /** Mutes the logger and its children: every log call then sends nothing (oopsOnly; a detached worker's logger). */
  protected mute(): void {
    this.shared.muted = true;
  }

  /** The root's flush(): when what was logged is with the kernel (a Netconsole's), or at once (a worker's logger). */
  protected flushShared(): Promise<void> {
    const root = this.shared.root as Logger & { flush?: () => Promise<void> };
    return typeof root.flush === 'function' ? root.flush() : Promise.resolve();
  }
}
export interface Logger extends LevelMethods {}

/** A logger made by child(): the same methods, its own level, bindings and prefix; the memory,
 *  writer and policy of the logger it came from. Nothing to close. */
export class ChildLogger extends Logger {
  /** @internal Made by child(). */
  constructor(shared: LoggerShared, opts: { level: number; ctx: Context }) {
    super(shared, opts);
  }

  /** The Netconsole's flush() (everything logged so far is with the kernel); for a worker's logger's child, resolves at once. */
  flush(): Promise<void> {
    return this.flushShared();
  }
}

/** A handle as the caller gave it, read once and checked field by field: typed errors (EINVAL,
 *  ERANGE) naming the field, before anything is claimed. */
function readHandle(value: unknown): NetconsoleHandle {
  if (typeof value !== 'object' || value === null)
    throw invalid('handle', value, 'the value of nc.handle(), as given or structured-cloned');
  const f = guarded('handle', value, () => {
    const h = value as Record<string, unknown>;
    const { core, facility, overflow, overflowWaitMs, sender, level, throwOnLogError } = h;
    return { core, facility, overflow, overflowWaitMs, sender, level, throwOnLogError };
  });
  return {
    facility: toInt('handle.facility', f.facility, 0, FACILITY_MAX),
    overflow: oneOf('handle.overflow', f.overflow, ['wait', 'drop'] as const),
    overflowWaitMs: toInt('handle.overflowWaitMs', f.overflowWaitMs, 0, OVERFLOW_WAIT_MAX_MS),
    sender: oneOf('handle.sender', f.sender, ['native', 'dgram'] as const),
    // Optional: a handle of a version before them is taken, with the defaults.
    level: f.level === undefined ? LEVEL_MAX : toInt('handle.level', f.level, 0, LEVEL_MAX),
    throwOnLogError:
      f.throwOnLogError === undefined ? false : toBool('handle.throwOnLogError', f.throwOnLogError, false),
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
    const { core: coreHandle, facility, overflow, overflowWaitMs, sender, level, throwOnLogError } = readHandle(handle);
    const core = Core.attach(coreHandle); // claims this thread's slot (or one more claim on it)
    let writer: Writer;
    try {
      writer = new Writer(core, {
        facility,
        overflow,
        overflowWaitMs,
        room: waiterFor(sender, native, coreHandle.memory),
      });
    } catch (err) {
      core.release(); // a rejected attach() keeps nothing
      throw err;
    }
    super(writer, { level, throwOnLogError });
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
