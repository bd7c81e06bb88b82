// The log call, on any thread: the text goes (UTF-8) into the thread's own area of the shared
// memory, and one call into WebAssembly writes the record to every enabled target. Synchronous;
// no allocation for a string alone (writeString), elsewhere the small result object of
// TextEncoder.encodeInto (and the stack string of an Error), while the ring has room. System
// calls: one futex wake for the first record after the native sender went to sleep
// (Core.ring.wakeSender); the thread's name re-read every 100 ms while a target sends taskname,
// and, without the addon, its CPU every 10 ms while one sends cpu_nr.
// When the ring has no room, overflow 'wait' (the default) waits for the sender, at most
// overflowWaitMs and never holding a lock (room.ts); 'drop' drops the record for the targets it
// does not fit, counted and reported in-band.
import { readFileSync } from 'node:fs';
import { invalid, outOfRange, TooLargeError } from '../base/errors.js';
import { L } from './layout.js';
import { clockOffsetUsec, monotonicUsec } from '../base/clock.js';
import { FACILITY_MAX } from '../base/limits.js';
import { getcpu, getcpuIsCheap } from './native.js';
import { waitForRoom, type RoomMaker, type RoomWaiter } from './room.js';
import { check } from './module.js';
import {
  encoder,
  OPT_CONT,
  OPT_FACILITY,
  optionBits,
  optionDict,
  OPTS_ACCEPTED,
  toText,
  withBase,
  type LogOptions,
  type Loggable,
  type Pairs,
} from './values.js';
import type { Core } from './wasm.js';

// The values' types and their conversion live in values.ts; these names are the log call's API.
export { toText, type Dict, type Loggable, type LogOptions, type Pairs } from './values.js';

export const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
/** A syslog level's own name, as the kernel spells it (index in LEVELS = its number). */
export type LevelName = (typeof LEVELS)[number];
/**
 * A syslog level: its name, an alias (`error` = err, `warn` = warning; pino's `fatal` = emerg 0
 * and `trace` = debug 7, the mapping of the pino integration), or its number 0..7. Any other
 * number is a type error (`log(42, ...)` does not compile).
 */
export type Level = LevelName | 'error' | 'warn' | 'trace' | 'fatal' | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** A Map, not an object: a name is looked up among these twelve only, never through
 *  Object.prototype ('toString', 'constructor' and '__proto__' are not levels). */
const LEVEL_NUMBER = new Map<unknown, number>([
  ...LEVELS.map((name, i) => [name, i] as const),
  ['error', 3],
  ['warn', 4],
  ['fatal', 0],
  ['trace', 7],
]);
const LEVELS_ACCEPTED = `one of ${LEVELS.join(', ')} (or error, warn, fatal, trace), or 0..7`;

/** The syslog level 0..7 of a level name or number (anything else is EINVAL or ERANGE, checked
 *  at run time: the argument is `unknown` so that a value read from a file or a command line can
 *  be given as it is); `option` names it in the error. */
export function levelNumber(level: unknown, option = 'level'): number {
  if (typeof level === 'number') {
    if (!Number.isInteger(level)) throw invalid(option, level, 'an integer 0..7 or a level name');
    if (level < 0 || level > 7) throw outOfRange(option, level, '0..7 or a level name');
    return level;
  }
  const n = LEVEL_NUMBER.get(level);
  if (n === undefined) throw invalid(option, level, LEVELS_ACCEPTED);
  return n;
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
  /** How writeString copies a text in: Buffer's utf8Write where Node has it (the default), or
   *  TextEncoder.encodeInto (where it has not; the tests run both). */
  textCopy?: 'utf8Write' | 'encodeInto';
}

/** Node's Buffer.prototype.utf8Write (not in its types: what buf.write(text, offset, length,
 *  'utf8') calls after checking its arguments): the bytes written, whole characters only. */
interface Utf8Writable extends Buffer {
  utf8Write(text: string, offset: number, length: number): number;
}

const WANT_SYS = L.WANT_SYS >> 2;
const RING_SLEEPING = L.RING_SLEEPING >> 2;

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
  /** For writeString, the log call's own path: the memory's words, the module's write, this thread's slot. */
  private readonly i32: Int32Array;
  private readonly writeRecordWasm: Core['exports']['write_record'];
  private readonly thread: number;
  /** This thread's text area as a Buffer, for utf8Write (null where Node has none: encodeInto). */
  private readonly utf8: Utf8Writable | null;

  constructor(
    private readonly core: Core,
    opts: WriterOptions = {},
  ) {
    this.text = core.text;
    const facility = opts.facility ?? 1;
    if (!Number.isInteger(facility) || facility < 0 || facility > FACILITY_MAX)
      throw outOfRange('facility', facility, `0..${FACILITY_MAX}`);
    this.facility8 = facility * 8;
    const wait = (opts.overflow ?? 'wait') === 'wait' && opts.room !== undefined;
    this.recFlags = (wait ? L.REC_WAIT : 0) | (facility << L.REC_FAC_SHIFT);
    this.waitMs = opts.overflowWaitMs ?? 0;
    this.room = opts.room;
    this.i32 = new Int32Array(core.memory.buffer as unknown as SharedArrayBuffer);
    this.writeRecordWasm = core.exports.write_record;
    this.thread = core.thread;
    const area = Buffer.from(this.text.buffer, this.text.byteOffset, this.text.byteLength) as Utf8Writable;
    this.utf8 = typeof area.utf8Write === 'function' && opts.textCopy !== 'encodeInto' ? area : null;
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

  /** Writes one record; returns the number of targets it was offered to. `base`: dictionary
   *  entries of the logger's own (a child's bindings), under those of `opts.dict`. Throws (a
   *  typed NetconsoleError, nothing written) for a value or options it refuses: the logger's
   *  policy (host/logger.ts) decides whether that reaches the application. */
  write(level: number, value: Loggable, opts?: LogOptions, base: Pairs | null = null): number {
    if ((opts === undefined || opts === null) && base === null && typeof value === 'string')
      return this.writeString(level, value); // a string alone: pino's and winston's lines, the console hook
    let prio = this.facility8 + level;
    let flags = this.recFlags;
    let dict: Pairs | null = base;
    // Everything that can run the caller's code (getters, toString) or reject the call runs first:
    // then nothing is written for a rejected call, and a log call made from inside that code (a
    // toString that logs) cannot overwrite this thread's text or dictionary before they are sent.
    if (opts !== undefined && opts !== null) {
      if (typeof opts !== 'object') throw invalid('opts', opts, OPTS_ACCEPTED);
      const bits = optionBits(opts);
      if (bits & OPT_FACILITY) prio = ((bits & OPT_FACILITY) - 1) * 8 + level;
      if (bits & OPT_CONT) flags |= L.REC_CONT;
      const own = optionDict(opts);
      if (own !== null) dict = base === null ? own : withBase(base, own);
    }
    // The common case, a string, is encoded at once; every other kind goes through toText.
    return this.send(prio, flags, typeof value === 'string' ? value : toText(value), dict);
  }

  /**
   * write(level, text) for a string alone (what write() hands on; a level method, host/logger.ts,
   * calls it directly), in one function: what send() does, with the clock, the wanted-sysdata word and the sender's sleeping
   * word read here, and the module's write_record called directly. A fresh process's first
   * thousands of log calls run in V8's interpreter, where every JavaScript call costs about what
   * the record's formatting does: this path makes 3 (the text's copy, the clock, write_record)
   * where write() makes 9. The text goes in with Buffer's utf8Write where Node has it: a direct
   * call into Node, 130 - 250 ns a call while cold, where TextEncoder.encodeInto's JavaScript
   * wrapper takes 400 - 800 ns until V8 optimises it (after some 8,000 calls; then 50 against
   * 60 ns). Both write whole characters only, lone surrogates as U+FFFD.
   */
  writeString(level: number, text: string): number {
    let len: number;
    const utf8 = this.utf8;
    if (utf8 !== null) {
      len = utf8.utf8Write(text, 0, utf8.length);
      // A text that did not fit stops within 3 bytes of the end (whole characters only).
      if (len > utf8.length - 4 && Buffer.byteLength(text, 'utf8') > len) this.textCut();
    } else {
      const r = encoder.encodeInto(text, this.text);
      if (r.read! < text.length) this.textCut();
      len = r.written!;
    }
    const i32 = this.i32;
    const want = Atomics.load(i32, WANT_SYS);
    const now = performance.now();
    if (want & (L.S_CPU | L.S_TASKNAME)) this.refreshSysdata(want, now);
    const ts = clockOffsetUsec + now * 1000; // base/clock.ts's monotonicUsec(), inline
    const prio = this.facility8 + level;
    let n = this.writeRecordWasm(this.thread, prio, this.recFlags, len, 0, ts);
    if (n === L.E_NOROOM) n = this.overflow(prio, this.recFlags, len, 0, ts);
    if (Atomics.load(i32, RING_SLEEPING) !== 0) this.core.ring.wakeSender();
    return n;
  }

  /**
   * Writes one record whose text and dictionary are ready (the logger's argument conventions
   * made them: host/log-args.ts), at the logger's facility. A dictionary past DICT_MAX is
   * EMSGSIZE. Returns the number of targets it was offered to.
   */
  writeRecord(level: number, text: string | Uint8Array, dict: Pairs | null): number {
    return this.send(this.facility8 + level, this.recFlags, text, dict);
  }

  /**
   * One record to target `t` alone, at `level` and the logger's facility, not through the log
   * (a target's send_msg and heartbeat: host/target-table.ts, target-lifecycle.ts): the text as a log call's (cut past 64
   * KiB, counted), no dictionary, the overflow policy of a log call. Returns 1 when it was offered
   * to t, 0 when t is not enabled or its device is not running (nothing written), or closed.
   */
  writeTo(t: number, level: number, text: string | Uint8Array): number {
    const core = this.core;
    const len = this.putText(text);
    const want = core.wantedSysdata();
    if (want & (L.S_CPU | L.S_TASKNAME)) this.refreshSysdata(want, performance.now());
    const prio = this.facility8 + level;
    const ts = monotonicUsec();
    let n = core.writeTarget(t, prio, this.recFlags, len, 0, ts);
    if (n === L.E_NOROOM) n = this.overflow(prio, this.recFlags, len, 0, ts, t);
    core.ring.wakeSender();
    return n < 0 ? check(n, 'write_target') : n;
  }

  /** A log call that was refused (by the logger's policy, not thrown): counted for every thread in stats(). */
  countLogError(): void {
    this.core.countLogError();
  }

  private send(prio: number, flags: number, text: string | Uint8Array, dict: Pairs | null): number {
    const core = this.core;
    let len: number;
    if (typeof text === 'string') {
      const r = encoder.encodeInto(text, this.text);
      len = r.written!;
      if (r.read! < text.length) this.textCut();
    } else {
      len = Math.min(text.length, L.TEXT_MAX);
      if (len < text.length) this.textCut();
      this.text.set(len < text.length ? text.subarray(0, len) : text);
    }
    const dictLen = dict === null ? 0 : this.putDict(dict);
    const want = core.wantedSysdata();
    if (want & (L.S_CPU | L.S_TASKNAME)) this.refreshSysdata(want, performance.now());
    const ts = monotonicUsec();
    let n = core.write(prio, flags, len, dictLen, ts);
    if (n === L.E_NOROOM) n = this.overflow(prio, flags, len, dictLen, ts);
    core.ring.wakeSender(); // a system call only on the first record after the sender went idle
    return n;
  }

  /** The text into this thread's area (cut past TEXT_MAX, counted); returns its length. (send()
   *  does the same inline: the log call's path is left as measured.) */
  private putText(text: string | Uint8Array): number {
    if (typeof text === 'string') {
      const r = encoder.encodeInto(text, this.text);
      if (r.read! < text.length) this.textCut();
      return r.written!;
    }
    const len = Math.min(text.length, L.TEXT_MAX);
    if (len < text.length) this.textCut();
    this.text.set(len < text.length ? text.subarray(0, len) : text);
    return len;
  }

  /** No room (overflow 'wait'): wait for the sender, then try again; at the deadline, write it
   *  without waiting (dropped, counted and reported where it does not fit). `t`: to that target
   *  alone (writeTo), or -1: the log call's, to every enabled target. */
  private overflow(prio: number, flags: number, len: number, dictLen: number, ts: number, t = -1): number {
    const core = this.core;
    const deadline = performance.now() + this.waitMs;
    core.room.countWait(false);
    for (;;) {
      const room = waitForRoom(core.room, this.room!, core.room.need(), deadline);
      if (!room) core.room.countWait(true);
      const f = room ? flags : flags & ~L.REC_WAIT;
      const n = t < 0 ? core.write(prio, f, len, dictLen, ts) : core.writeTarget(t, prio, f, len, dictLen, ts);
      if (n !== L.E_NOROOM) return n;
    }
  }

  /** The text did not fit the thread's text area (TEXT_MAX): counted for every thread in stats(). */
  private textCut(): void {
    this.core.countTextCut();
  }

  /** The dictionary (converted and size-checked by dictBytes) into this thread's area. */
  private putDict(bytes: Array<[Uint8Array, Uint8Array]>): number {
    const n = this.core.putDict(bytes);
    if (n < 0)
      throw new TooLargeError(
        'dict',
        bytes.reduce((t, [k, v]) => t + 4 + k.length + v.length, 0),
        L.DICT_MAX,
      );
    return n;
  }
}
