// The log call, on any thread: the text goes (UTF-8) into the thread's own area of the shared
// memory, and one call into WebAssembly writes the record to every enabled target. Synchronous;
// no system call and no allocation but the small result object of TextEncoder.encodeInto (and
// the stack string of an Error) while the ring has room. When it has none, overflow 'wait' (the
// default) waits for the sender, at most overflowWaitMs and never holding a lock (room.ts);
// 'drop' drops the record for the targets it does not fit, counted and reported in-band.
import { readFileSync } from 'node:fs';
import { invalid, outOfRange, TooLargeError } from './errors.js';
import { L } from './layout.js';
import { monotonicUsec } from './clock.js';
import { getcpu, getcpuIsCheap, native } from './native.js';
import { waitForRoom, type RoomMaker, type RoomWaiter } from './room.js';
import type { Core } from './wasm.js';

export const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export type LevelName = (typeof LEVELS)[number];
/** A syslog level: its name (`err`, also `error`; `warning`, also `warn`) or its number 0..7. */
export type Level = LevelName | 'error' | 'warn' | number;

const LEVEL_NUMBER: Record<string, number> = { error: 3, warn: 4 };
LEVELS.forEach((name, i) => (LEVEL_NUMBER[name] = i));

export function levelNumber(level: Level): number {
  if (typeof level === 'number') {
    if (!Number.isInteger(level) || level < 0 || level > 7) throw outOfRange('level', level, '0..7 or a level name');
    return level;
  }
  const n = LEVEL_NUMBER[level];
  if (n === undefined) throw invalid('level', level, `one of ${LEVELS.join(', ')} (or error, warn), or 0..7`);
  return n;
}

export type Loggable = string | Uint8Array | Error | { toString(): string };

export interface LogOptions {
  /** Dictionary pairs sent by extended targets (` KEY=value` lines): SUBSYSTEM, DEVICE, ... */
  dict?: Record<string, string> | ReadonlyArray<readonly [string, string]>;
  /** A continuation record (extended flag `c`). */
  cont?: boolean;
  /** Syslog facility 0..23 for this record (default: the logger's, 1 "user"). */
  facility?: number;
}

/** How often a writer re-reads its thread's name and, without the addon, its CPU (both are file
 *  reads; the kernel reads them per message, which would cost a system call per record here). */
const TASKNAME_REFRESH_MS = 100;
const CPU_REFRESH_MS = 10;

/** The name the kernel would print as `taskname`: the OS thread's comm (15 bytes at most). */
function threadComm(): string {
  try {
    return readFileSync('/proc/thread-self/comm', 'utf8').trim();
  } catch {
    return 'node';
  }
}

const encoder = new TextEncoder();

/** What a log call does when the ring has no room for its record. */
export type Overflow = 'wait' | 'drop';

export interface WriterOptions {
  facility?: number;
  taskname?: string;
  /** Default 'wait'. */
  overflow?: Overflow;
  /** The longest a log call waits for room (overflow 'wait'). */
  overflowWaitMs?: number;
  /** How a waiting log call gets room (room.ts); needed with overflow 'wait'. */
  room?: RoomWaiter | RoomMaker;
}

export class Writer {
  private readonly text: Uint8Array;
  private readonly facility8: number;
  private readonly fixedTaskname: boolean;
  /** REC_WAIT when waiting, and the logger's facility for in-band loss reports. */
  private readonly recFlags: number;
  private readonly waitMs: number;
  private readonly room: RoomWaiter | RoomMaker | undefined;
  private tasknameAt = 0;
  private cpuAt = 0;

  constructor(
    private readonly core: Core,
    opts: WriterOptions = {},
  ) {
    this.text = core.u8.subarray(core.textAt, core.textAt + L.TEXT_MAX);
    const facility = opts.facility ?? 1;
    if (!Number.isInteger(facility) || facility < 0 || facility > 23) throw outOfRange('facility', facility, '0..23');
    this.facility8 = facility * 8;
    const wait = (opts.overflow ?? 'wait') === 'wait' && opts.room !== undefined;
    this.recFlags = (wait ? L.REC_WAIT : 0) | (facility << L.REC_FAC_SHIFT);
    this.waitMs = opts.overflowWaitMs ?? 0;
    this.room = opts.room;
    this.fixedTaskname = opts.taskname !== undefined;
    core.setTaskname(encoder.encode(opts.taskname ?? threadComm()));
    core.setCpu(getcpu());
  }

  /** Refreshes the thread's CPU and name when an enabled target sends them (cpu=, taskname=). */
  private refreshSysdata(want: number, now: number): void {
    if (want & L.S_CPU && (getcpuIsCheap || now - this.cpuAt >= CPU_REFRESH_MS)) {
      this.core.setCpu(getcpu());
      this.cpuAt = now;
    }
    if (want & L.S_TASKNAME && !this.fixedTaskname && now - this.tasknameAt >= TASKNAME_REFRESH_MS) {
      this.core.setTaskname(encoder.encode(threadComm()));
      this.tasknameAt = now;
    }
  }

  /** Writes one record; returns the number of targets it was offered to. */
  write(level: number, value: Loggable, opts?: LogOptions): number {
    const core = this.core;
    let len: number;
    if (typeof value === 'string') {
      const r = encoder.encodeInto(value, this.text);
      len = r.written!;
      if (r.read! < value.length) this.textCut();
    } else if (value instanceof Uint8Array) {
      len = Math.min(value.length, L.TEXT_MAX);
      if (len < value.length) this.textCut();
      this.text.set(len < value.length ? value.subarray(0, len) : value);
    } else {
      return this.write(level, value instanceof Error ? (value.stack ?? String(value)) : String(value), opts);
    }
    let prio = this.facility8 + level;
    let flags = this.recFlags;
    let dictLen = 0;
    if (opts !== undefined) {
      if (opts.facility !== undefined) {
        if (!Number.isInteger(opts.facility) || opts.facility < 0 || opts.facility > 23) throw outOfRange('facility', opts.facility, '0..23');
        prio = opts.facility * 8 + level;
      }
      if (opts.cont) flags |= L.REC_CONT;
      if (opts.dict !== undefined) dictLen = this.putDict(opts.dict);
    }
    const want = Atomics.load(core.i32, L.WANT_SYS >> 2);
    if (want & (L.S_CPU | L.S_TASKNAME)) this.refreshSysdata(want, performance.now());
    const ts = monotonicUsec();
    let n = core.exports.write_record(core.thread, prio, flags, len, dictLen, ts);
    if (n === L.E_NOROOM) n = this.overflow(prio, flags, len, dictLen, ts);
    // A native sender asleep in a futex (RING_SLEEPING 2) is not woken by the module's
    // Atomics.notify: one system call, on the first record after it went idle.
    if (native !== null && Atomics.load(core.i32, L.RING_SLEEPING >> 2) === 2) native.futexWake(core.i32, L.RING_WAKE >> 2);
    return n;
  }

  /** No room (overflow 'wait'): wait for the sender, then try again; at the deadline, write it
   *  without waiting (dropped, counted and reported where it does not fit). */
  private overflow(prio: number, flags: number, len: number, dictLen: number, ts: number): number {
    const core = this.core;
    const deadline = performance.now() + this.waitMs;
    core.countWait(false);
    for (;;) {
      const room = waitForRoom(core, this.room!, core.roomNeed(), deadline);
      if (!room) core.countWait(true);
      const n = core.exports.write_record(core.thread, prio, room ? flags : flags & ~L.REC_WAIT, len, dictLen, ts);
      if (n !== L.E_NOROOM) return n;
    }
  }

  /** The text did not fit the thread's text area (TEXT_MAX): counted for every thread in stats(). */
  private textCut(): void {
    Atomics.add(this.core.u32, L.TEXT_CUT >> 2, 1);
  }

  private putDict(dict: NonNullable<LogOptions['dict']>): number {
    const pairs = Array.isArray(dict) ? dict : Object.entries(dict);
    const bytes = pairs.map(([k, v]) => [encoder.encode(String(k)), encoder.encode(String(v))] as [Uint8Array, Uint8Array]);
    const n = this.core.putDict(bytes);
    if (n < 0) throw new TooLargeError('dict', bytes.reduce((t, [k, v]) => t + 4 + k.length + v.length, 0), L.DICT_MAX);
    return n;
  }
}
