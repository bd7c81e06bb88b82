// The one host file that owns the WebAssembly module and every view of its shared memory
// (ARCHITECTURE.md, convention 2). Everything else talks to the core through a Core object: integers in,
// integers out, plus byte copies into and out of the thread's own slot.
//
// Threads: a Core is per thread. The creating thread makes the memory and lays it out
// (Core.create); a worker attaches to the same memory and module through a CoreHandle
// (Core.attach), which is structured-cloneable (postMessage, workerData).
import { existsSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { invalid, LayoutMismatchError, NetconsoleError } from '../base/errors.js';
import { MAX_TASKNAME } from '../base/limits.js';
import { native } from './native.js';
import { check, loadModule, osThreadId, poolMemory, takeMemory, type CoreExports } from './module.js';

export { check, type CoreExports } from './module.js';
import { checkLayout, L, memoryBytes, slotBytes, targetOffset, threadOffset, userdataOffset } from './layout.js';

/** What a worker needs to attach: both are structured-cloneable. */
export interface CoreHandle {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  debug: boolean;
  /** Which life of the memory (layout.ts HDR_EPOCH): a handle of a closed Netconsole stays dead. */
  epoch: number;
}

export interface CoreOptions {
  /** Transmit ring bytes, a power of two, 64 KiB .. 256 MiB. Default 4 MiB. */
  ringSize?: number;
  /** Extended `total` cap (docs/wire.md 3.4). Default 8191. */
  maxTotal?: number;
  /** The first record seq. Default 0, as the kernel after boot. */
  seqStart?: number;
  /** Use the debug build (assertions, lock hold-time maximum). Default: NETCONSOLE_DEBUG=1. */
  debug?: boolean;
  /** In-band loss reports ("** N messages dropped **"). Default true. */
  reportLosses?: boolean;
}

export const DEFAULT_RING_SIZE = 4 << 20;
const ROOM_NONE = 0xffffffffffffffffn; // ROOM_AT when no writer waits for room
const WAIT_SLICE_MS = 5; // one park of the spinlock's slow path; stall checks after L/lock.ts's count
/** A target's counters (layout.ts TGT_CNT_*, TGT_MSGID). */
export interface TargetCounters {
  sent: number;
  datagrams: number;
  bytes: number;
  dropped: number;
  truncated: number;
  ratelimited: number;
  skipped: number;
  transmitErrors: number;
  lostInTransmit: number;
  reported: number;
  /** Losses whose in-band report was lost: told again by the next record (not in `reported`). */
  reportLost: number;
  stalls: number;
  unconfirmed: number;
  holds: number;
  /** Reliable targets (assembly/retain.ts): messages pushed out of the retention unacked after the
   *  receiver replied, before it ever did, and the messages kept now. */
  unacked: number;
  unheard: number;
  kept: number;
  msgid: number;
}

export interface CoreCounters {
  records: number;
  ringFull: number;
  textCut: number;
  /** Log calls refused by the logger's policy (returned 0; LOG_ERRORS). */
  logErrors: number;
  lockContended: number;
  lockRecovered: number;
}

export class Core {
  readonly exports: CoreExports;
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly debug: boolean;
  /** Views over the whole memory as sized at creation: the layout is fixed; the memory grows only
   *  past the ring, for reliable targets' retention regions, which core/retention.ts views. */
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly dv: DataView;
  private readonly f64: Float64Array;
  /** 64-bit atomics: the ring positions, and the target counters the host side adds to. */
  private readonly u64: BigUint64Array;
  /** This thread's slot index, and its lock owner id (index + 1). */
  readonly thread: number;
  readonly tid: number;
  /** This thread's text area (a private one when stale: nothing it writes reaches the memory),
   *  and its address in the memory (for the benchmarks and specs that call the module directly). */
  readonly text: Uint8Array;
  readonly textAt: number;
  private readonly dict: Uint8Array;
  /** Attached to a life of the memory that has ended (a closed Netconsole's handle): writes nothing. */
  readonly stale: boolean;
  readonly epoch: number;
  private released = false;

  private constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, debug: boolean, epoch: number, init?: Required<Omit<CoreOptions, 'debug'>>) {
    this.module = module;
    this.memory = memory;
    this.debug = debug;
    this.epoch = epoch;
    const buffer = memory.buffer as unknown as SharedArrayBuffer;
    this.u8 = new Uint8Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.dv = new DataView(buffer);
    this.f64 = new Float64Array(buffer, 0, L.RING_OFF / 8);
    this.u64 = new BigUint64Array(buffer, 0, (L.TARGETS_OFF + L.MAX_TARGETS * L.TARGET_SIZE) / 8);
    const i32 = this.i32;
    const env: Record<string, unknown> = {
      memory,
      futexWait: (ptr: number, expected: number): number => {
        const r = Atomics.wait(i32, ptr >>> 2, expected, WAIT_SLICE_MS);
        return r === 'ok' ? 0 : r === 'not-equal' ? 1 : 2;
      },
      lockStalled: (owner: number): void => this.recoverIfDead(owner),
      nowNs: (): number => performance.now() * 1e6,
      abort: (msg: number, file: number, line: number, col: number): never => {
        throw new NetconsoleError('EIO', `netconsole core assertion: ${this.asString(msg)} at ${this.asString(file)}:${line}:${col}`);
      },
    };
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module, { env: env as WebAssembly.ModuleImports });
    } catch (err) {
      // create(): our module and a memory made for it. attach(): a handle's (readCoreHandle
      // checked each alone; here they do not fit together, e.g. the memory's maximum).
      if (init || !(err instanceof WebAssembly.LinkError)) throw err;
      throw invalid('handle.core', { module, memory }, 'the module and memory of one nc.handle()', 'they do not fit together:', err);
    }
    checkLayout(instance.exports);
    this.exports = instance.exports as unknown as CoreExports;
    if (this.exports.mem_heap_base() > L.REGION_BASE) {
      throw new LayoutMismatchError(`module static data ends at ${this.exports.mem_heap_base()}, past the first region at ${L.REGION_BASE}`);
    }
    if (init) {
      const status = this.exports.mem_init(init.ringSize, init.maxTotal, init.seqStart, init.reportLosses ? 1 : 0, epoch);
      if (status < 0) throw new LayoutMismatchError(`mem_init(${init.ringSize}, ${init.maxTotal}, ${init.seqStart}) failed: ${status}`);
    }
    const attached = this.exports.mem_attach(epoch);
    if (attached === L.E_NOTINIT && !init) throw invalid('handle.core.memory', memory, "the memory of a Netconsole's handle (nc.handle())", 'not laid out by a Netconsole:');
    let stale = check(attached, 'mem_attach') === 1;
    let thread = 0;
    if (!stale) {
      // This thread's slot (another logger of the thread holds it already), or a free one.
      thread = this.exports.thread_claim(threadId, osThreadId());
      if (thread === L.E_NOSLOT) {
        throw new NetconsoleError('ENOSPC', `attach: all ${L.MAX_THREADS} thread slots are taken by other threads (a thread's loggers share one; a slot comes back when its thread's last logger detaches or is collected, or the thread exits)`, {
          option: 'attach',
          value: L.MAX_THREADS,
          accepted: `at most ${L.MAX_THREADS} threads attached at once, the host's included`,
        });
      }
      // E_BADTHREAD: the memory moved on to another life since mem_attach (its Netconsole closed).
      if (thread < 0) [stale, thread] = [true, 0];
    }
    this.stale = stale;
    this.thread = thread;
    this.tid = this.thread + 1;
    const slot = threadOffset(this.thread);
    this.textAt = slot + L.THR_TEXT;
    this.text = this.stale ? new Uint8Array(L.TEXT_MAX) : this.u8.subarray(slot + L.THR_TEXT, slot + L.THR_TEXT + L.TEXT_MAX);
    this.dict = this.stale ? new Uint8Array(L.DICT_MAX) : this.u8.subarray(slot + L.THR_DICT, slot + L.THR_DICT + L.DICT_MAX);
  }

  /** Makes a new shared memory, lays it out, and attaches the calling thread as its host. */
  static create(opts: CoreOptions = {}): Core {
    const debug = opts.debug ?? process.env.NETCONSOLE_DEBUG === '1';
    const ringSize = opts.ringSize ?? DEFAULT_RING_SIZE;
    const { memory, epoch } = takeMemory(memoryBytes(ringSize), `ring of ${ringSize} bytes`);
    return new Core(loadModule(debug), memory, debug, epoch, {
      ringSize,
      maxTotal: opts.maxTotal ?? L.DEFAULT_MAX_TOTAL,
      seqStart: opts.seqStart ?? 0,
      reportLosses: opts.reportLosses ?? true,
    });
  }

  /** Attaches the calling thread (typically a worker) to an existing memory. */
  static attach(handle: CoreHandle): Core {
    return new Core(handle.module, handle.memory, handle.debug, handle.epoch);
  }

  handle(): CoreHandle {
    return { module: this.module, memory: this.memory, debug: this.debug, epoch: this.epoch };
  }

  /** Drops this Core's claim on its thread's slot (freed with the thread's last). The Core must
   *  not be used afterwards. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (!this.stale) this.exports.thread_release(this.thread);
  }

  /**
   * The host's Netconsole closed (CLOSED is set, its sender and sockets are gone): wait out a
   * writer still inside the spinlock (a writer that takes it later sees CLOSED and writes
   * nothing), free the host's slot, and give the memory to the pool for the next Netconsole.
   */
  retire(): void {
    if (this.released) return;
    this.exports.lock_acquire(this.tid);
    this.exports.lock_release(this.tid);
    this.release();
    poolMemory(this.memory);
  }

  /** Frees the slots of threads that died without detaching (their lock, if held, recovered). */
  reapDeadThreads(): void {
    for (let i = 0; i < L.MAX_THREADS; i++) {
      if (i === this.thread || this.stale) continue;
      const slot = threadOffset(i);
      if (Atomics.load(this.i32, (slot + L.THR_STATE) >> 2) === 0) continue;
      const osTid = Atomics.load(this.i32, (slot + L.THR_OS_TID) >> 2);
      if (osTid > 0 && !existsSync(`/proc/self/task/${osTid}`)) this.exports.thread_reap(i, osTid);
    }
  }

  /** One raw-mode frame around `payload`, built by the module from an addressing block. */
  buildFrame(addr: Uint8Array, payload: Uint8Array, family: 4 | 6, ipId: number): Uint8Array {
    const slot = threadOffset(this.thread);
    this.u8.set(addr.subarray(0, L.ADDR_SIZE), slot + L.THR_ADDR);
    this.u8.set(payload, slot + L.THR_OUT + this.exports.frame_overhead(family));
    const len = check(this.exports.frame_build(this.thread, payload.length, ipId >>> 0), 'frame_build');
    return this.u8.slice(slot + L.THR_OUT, slot + L.THR_OUT + len);
  }

  /** A thread that is gone may hold the spinlock: recover it (called from the lock's slow path). */
  private recoverIfDead(owner: number): void {
    const slot = threadOffset(owner - 1);
    const osTid = Atomics.load(this.i32, (slot + L.THR_OS_TID) >> 2);
    if (osTid > 0 && !existsSync(`/proc/self/task/${osTid}`)) this.exports.lock_recover(owner);
  }

  private asString(ptr: number): string {
    if (ptr === 0) return '';
    const len = this.u32[(ptr - 4) >>> 2] >>> 1;
    return String.fromCharCode(...new Uint16Array(this.memory.buffer, ptr, len));
  }

  // ------------------------------------------------------------------ records
  putTextBytes(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, L.TEXT_MAX);
    this.text.set(bytes.subarray(0, n));
    return n;
  }

  /** Writes dictionary pairs ([u16 klen][key][u16 vlen][value], little-endian); returns the length
   *  or E_TOOBIG when they do not fit. */
  putDict(pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): number {
    const d = this.dict;
    let o = 0;
    for (const [k, v] of pairs) {
      if (o + 4 + k.length + v.length > L.DICT_MAX || k.length > 0xffff || v.length > 0xffff) return L.E_TOOBIG;
      d[o] = k.length & 0xff;
      d[o + 1] = k.length >> 8;
      d.set(k, o + 2);
      o += 2 + k.length;
      d[o] = v.length & 0xff;
      d[o + 1] = v.length >> 8;
      d.set(v, o + 2);
      o += 2 + v.length;
    }
    return o;
  }

  /** A record with the seq and time of setExplicit (the encoding API); nothing waits for room. */
  writeExplicit(prio: number, cont: boolean, textLen: number, dictLen: number): void {
    check(this.exports.write_record(this.thread, prio, L.REC_EXPLICIT | (cont ? L.REC_CONT : 0), textLen, dictLen, 0), 'write_record');
  }

  /** Explicit seq and tsUsec for the next write with REC_EXPLICIT. */
  setExplicit(seq: bigint, tsUsec: bigint): void {
    const slot = threadOffset(this.thread);
    this.dv.setBigUint64(slot + L.THR_SEQ, seq, true);
    this.dv.setBigUint64(slot + L.THR_TS, tsUsec, true);
  }

  /** The CPU for sysdata `cpu=` (a stale Core owns no slot: nothing). */
  setCpu(cpu: number): void {
    if (!this.stale) this.i32[(threadOffset(this.thread) + L.THR_CPU) >> 2] = cpu;
  }

  setTaskname(name: Uint8Array): void {
    if (this.stale) return;
    const slot = threadOffset(this.thread);
    const n = Math.min(name.length, MAX_TASKNAME);
    this.u8.set(name.subarray(0, n), slot + L.THR_TASK);
    this.i32[(slot + L.THR_TASK_LEN) >> 2] = n;
  }

  // ------------------------------------------------------------------ targets (host side)
  /** Resets a target slot to zero: only for a slot on no list. */
  clearTarget(t: number): void {
    const at = targetOffset(t);
    this.u8.fill(0, at, at + L.TARGET_SIZE);
    this.i32[(at + L.TGT_NEXT) >> 2] = L.NIL;
  }

  /** Settings locked while enabled: written only while the target is not enabled. */
  setTargetLocked(t: number, flags: number, release: Uint8Array | null, sysRelease: Uint8Array | null, addr?: Uint8Array): void {
    const at = targetOffset(t);
    this.i32[(at + L.TGT_FLAGS) >> 2] = flags;
    this.putShort(at + L.TGT_REL, at + L.TGT_REL_LEN, release);
    this.putShort(at + L.TGT_SYSREL, at + L.TGT_SYSREL_LEN, sysRelease);
    if (addr) this.u8.set(addr.subarray(0, L.ADDR_SIZE), at + L.TGT_ADDR);
  }

  private putShort(at: number, lenAt: number, bytes: Uint8Array | null): void {
    const n = bytes ? Math.min(bytes.length, 64) : 0;
    if (bytes) this.u8.set(bytes.subarray(0, n), at);
    this.i32[lenAt >> 2] = n;
  }

  private targetWord(t: number, field: number): number {
    return Atomics.load(this.i32, (targetOffset(t) + field) >> 2);
  }

  private setTargetWord(t: number, field: number, value: number): void {
    Atomics.store(this.i32, (targetOffset(t) + field) >> 2, value);
  }

  private targetCounter(t: number, field: number): number {
    return Number(Atomics.load(this.u64, (targetOffset(t) + field) >> 3));
  }

  /** What the write path and the sender counted for target t. */
  targetCounters(t: number): TargetCounters {
    const n = (f: number): number => this.targetCounter(t, f);
    return {
      sent: n(L.TGT_CNT_SENT),
      datagrams: n(L.TGT_CNT_DATAGRAMS),
      bytes: n(L.TGT_CNT_BYTES),
      dropped: n(L.TGT_CNT_DROPPED),
      truncated: n(L.TGT_CNT_TRUNCATED),
      ratelimited: n(L.TGT_CNT_RATELIMITED),
      skipped: n(L.TGT_CNT_SKIPPED),
      transmitErrors: n(L.TGT_CNT_TX_ERRORS),
      lostInTransmit: n(L.TGT_CNT_TX_LOST),
      reported: n(L.TGT_CNT_REPORTED),
      reportLost: n(L.TGT_CNT_REPORT_LOST),
      stalls: n(L.TGT_CNT_STALLS),
      unconfirmed: n(L.TGT_CNT_UNCONFIRMED),
      holds: n(L.TGT_CNT_HOLDS),
      unacked: n(L.TGT_CNT_UNACKED),
      unheard: n(L.TGT_CNT_UNHEARD),
      kept: this.targetWord(t, L.TGT_RT_COUNT) >>> 0,
      msgid: this.targetWord(t, L.TGT_MSGID) >>> 0,
    };
  }

  /** The memory-wide counters. */
  counters(): CoreCounters {
    return {
      records: Number(Atomics.load(this.u64, L.RECORDS >> 3)),
      ringFull: Number(Atomics.load(this.u64, L.RING_FULL >> 3)),
      textCut: Atomics.load(this.u32, L.TEXT_CUT >> 2),
      logErrors: Atomics.load(this.u32, L.LOG_ERRORS >> 2),
      lockContended: Atomics.load(this.u32, L.LOCK_CONTENDED >> 2),
      lockRecovered: Atomics.load(this.u32, L.LOCK_RECOVERED >> 2),
    };
  }

  /** A record's text was cut to the 64 KiB a record can carry (any thread). */
  countTextCut(): void {
    Atomics.add(this.u32, L.TEXT_CUT >> 2, 1);
  }

  /** A log call was refused and returned 0 instead of throwing (any thread; host/logger.ts). */
  countLogError(): void {
    Atomics.add(this.u32, L.LOG_ERRORS >> 2, 1);
  }

  /** The generation the next enable of target t gives its ring slots. */
  nextGeneration(t: number): number {
    return (this.targetWord(t, L.TGT_GEN) + 1) >>> 0;
  }

  /** The seq the next record takes (SEQ_NEXT): where a new reliable target's own seqs start. */
  seqNext(): bigint {
    return Atomics.load(this.u64, L.SEQ_NEXT >> 3);
  }

  /** The ring position from which no writer can have queued anything for t (its grace period). */
  cleanupPosition(t: number): number {
    return this.targetCounter(t, L.TGT_CLEANUP_POS);
  }

  /** Whether the write path sends to t (its device is running) or skips it. */
  setDeviceUp(t: number, up: boolean): void {
    this.setTargetWord(t, L.TGT_DEV_UP, up ? 1 : 0);
  }

  /** Whether the write path sends to t (setDeviceUp). */
  deviceUp(t: number): boolean {
    return this.targetWord(t, L.TGT_DEV_UP) !== 0;
  }

  /** The msgid t's next message takes (the counter is incremented before use: docs/wire.md 3.2). */
  setNextMsgid(t: number, msgid: number): void {
    this.setTargetWord(t, L.TGT_MSGID, (msgid - 1) >>> 0);
  }

  /** Settings that may change while t is enabled, under the lock: sysdata toggles (S_* bits). */
  setSysdata(t: number, bits: number): void {
    check(this.exports.target_set(this.tid, t, L.TGT_SYSDATA, bits), 'target_set');
  }

  /** ...and its rate limit (a new limit starts a new interval). */
  setRatelimit(t: number, intervalMs: number, burst: number): void {
    check(this.exports.target_set(this.tid, t, L.TGT_RL_INTERVAL, intervalMs | 0), 'target_set');
    check(this.exports.target_set(this.tid, t, L.TGT_RL_BURST, burst | 0), 'target_set');
  }

  /** The S_* bits some enabled target sends (writers refresh their CPU and name for them). */
  setWantedSysdata(bits: number): void {
    Atomics.store(this.i32, L.WANT_SYS >> 2, bits);
  }

  wantedSysdata(): number {
    return Atomics.load(this.i32, L.WANT_SYS >> 2);
  }

  // The lists (assembly/lists.ts): each change one call, under the spinlock. A failure is a bug
  // of the host (EIO), never a user's error.
  listAdd(t: number): void {
    check(this.exports.list_add(this.tid, t, L.ST_DISABLED), 'list_add');
  }

  /** Deferred cleanup, step 1: t is DISABLED and leaves the target list for the cleanup list. */
  listToCleanup(t: number): void {
    check(this.exports.list_to_cleanup(this.tid, t, L.ST_DISABLED), 'list_to_cleanup');
  }

  /** Step 3: back on the target list in `state` (a ST_* code). */
  listFromCleanup(t: number, state: number): void {
    check(this.exports.list_from_cleanup(this.tid, t, state), 'list_from_cleanup');
  }

  /** rmdir: t leaves whichever list it is on. */
  listRemove(t: number): void {
    check(this.exports.list_remove(this.tid, t), 'list_remove');
  }

  /** t takes `state` (a ST_* code; ENABLED starts a new generation). */
  setTargetState(t: number, state: number): void {
    check(this.exports.target_set_state(this.tid, t, state), 'target_set_state');
  }

  /** Replaces an enabled target's addressing block under the lock (through this thread's scratch). */
  setTargetAddr(t: number, addr: Uint8Array): void {
    const at = threadOffset(this.thread) + L.THR_OUT;
    this.u8.set(addr.subarray(0, L.ADDR_SIZE), at);
    check(this.exports.target_set_addr(this.tid, t, at), 'target_set_addr');
  }

  /** The sender could not send a datagram of target t: a transmit error; `messageLost` when it is
   *  the first of its message (then the message counts as lost, and the write path reports it). */
  countTransmitError(t: number, messageLost: boolean): void {
    Atomics.add(this.u64, (targetOffset(t) + L.TGT_CNT_TX_ERRORS) >> 3, 1n);
    if (messageLost) this.countMessageLost(t, false);
  }

  /** The sender lost a message of target t (`unconfirmed`: the kernel may have sent it). */
  countMessageLost(t: number, unconfirmed: boolean): void {
    Atomics.add(this.u64, (targetOffset(t) + L.TGT_CNT_TX_LOST) >> 3, 1n);
    if (unconfirmed) Atomics.add(this.u64, (targetOffset(t) + L.TGT_CNT_UNCONFIRMED) >> 3, 1n);
    Atomics.add(this.u64, L.LOST_TOTAL >> 3, 1n); // after TX_LOST (write.ts lossesToReport)
  }

  /** The sender lost an in-band report of target t that told `losses`: the write path's next record
   *  to t tells them again (write.ts unreported). A report is not a message: nothing else counts. */
  countReportLost(t: number, losses: number): void {
    Atomics.add(this.u64, (targetOffset(t) + L.TGT_CNT_REPORT_LOST) >> 3, BigInt(losses));
    Atomics.add(this.u64, L.LOST_TOTAL >> 3, 1n); // after REPORT_LOST: the write path's scan looks again
  }

  /** The sender began to hold target t: its path could not carry. */
  countHold(t: number): void {
    Atomics.add(this.u64, (targetOffset(t) + L.TGT_CNT_HOLDS) >> 3, 1n);
  }

  /** Whether target t is ENABLED (the sender gives up what it holds for one that is not). */
  targetEnabled(t: number): boolean {
    return Atomics.load(this.i32, (targetOffset(t) + L.TGT_STATE) >> 2) === L.ST_ENABLED;
  }

  /** Renders userdata into the buffer that is not live, then makes it live under the lock. */
  setUserdata(t: number, rendered: Uint8Array): void {
    if (rendered.length > L.UD_BUF_SIZE) throw new NetconsoleError('ENOSPC', `userdata renders to ${rendered.length} bytes, more than ${L.UD_BUF_SIZE}`);
    const live = this.targetWord(t, L.TGT_UD_ACTIVE);
    this.u8.set(rendered, userdataOffset(t, live ^ 1));
    check(this.exports.target_swap_userdata(this.tid, t, rendered.length), 'target_swap_userdata');
  }

  /** The indices on a list (L.ON_TARGETS or L.ON_CLEANUP), in list order, read under the lock. */
  listRead(which: number): number[] {
    const out = threadOffset(this.thread) + L.THR_OUT;
    const n = check(this.exports.list_read(this.tid, which, out, L.MAX_TARGETS), 'list_read');
    return Array.from(this.i32.subarray(out >> 2, (out >> 2) + n));
  }

  /** Moves all of `targets` to the cleanup list in one spinlock section; returns how many moved. */
  listToCleanupBatch(targets: readonly number[], state: number): number {
    const out = threadOffset(this.thread) + L.THR_OUT;
    this.i32.set(targets, out >> 2);
    return check(this.exports.list_to_cleanup_batch(this.tid, out, targets.length, state), 'list_to_cleanup_batch');
  }

  /** From now on every log call, on any thread, writes nothing and returns 0. */
  markClosed(): void {
    Atomics.store(this.i32, L.CLOSED >> 2, 1);
  }

  // ------------------------------------------------------------------ room for waiting writers (room.ts)
  /** After E_NOROOM: the ring tail from which this thread's record fits. */
  roomNeed(): number {
    return this.f64[(threadOffset(this.thread) + L.THR_NEED) >> 3];
  }

  /** The log call's one call into the module (writer.ts); a status or the targets offered to. */
  write(prio: number, flags: number, textLen: number, dictLen: number, tsUsec: number): number {
    return this.exports.write_record(this.thread, prio, flags, textLen, dictLen, tsUsec);
  }

  /** One record to target t alone (send_msg, the heartbeat: assembly/write.ts writeTarget): 1
   *  offered; 0 when t is not enabled or its device is not running, or closed; E_NOROOM. */
  writeTarget(t: number, prio: number, flags: number, textLen: number, dictLen: number, tsUsec: number): number {
    return this.exports.write_target(this.thread, t, prio, flags, textLen, dictLen, tsUsec);
  }

  /** Sender side of "Waking the sender": announces sleep (`how`: 1 dgram, 2 native) and returns
   *  the RING_WAKE value to wait on, or null when something was published meanwhile. */
  senderSleep(how: 1 | 2): number | null {
    const i32 = this.i32;
    const seen = Atomics.load(i32, L.RING_WAKE >> 2);
    Atomics.store(i32, L.RING_SLEEPING >> 2, how);
    // Store sleeping, then load head (writers: store head, then load sleeping).
    if (this.ringHead() === this.ringTail()) return seen;
    Atomics.store(i32, L.RING_SLEEPING >> 2, 0);
    return null;
  }

  senderAwake(): void {
    Atomics.store(this.i32, L.RING_SLEEPING >> 2, 0);
  }

  /** The i32 word a sleeping sender waits on. */
  readonly wakeWord = L.RING_WAKE >> 2;

  /** Wakes a dgram sender however it sleeps (its own close()). */
  wakeDgramSender(): void {
    Atomics.add(this.i32, L.RING_WAKE >> 2, 1);
    Atomics.notify(this.i32, L.RING_WAKE >> 2);
  }

  /** Sender side of the room protocol, after a tail store: wakes the writers waiting for room
   *  (in Atomics.wait) once the tail reached what they need. */
  notifyRoom(): void {
    if (this.roomReached(this.ringTail())) Atomics.notify(this.i32, this.tailWord);
  }

  /** After a write: wakes the sender if it sleeps (assembly/layout.ts, "Waking the sender"). */
  wakeSender(): void {
    const i32 = this.i32;
    const sleeping = Atomics.load(i32, L.RING_SLEEPING >> 2);
    if (sleeping === 0) return;
    Atomics.add(i32, L.RING_WAKE >> 2, 1);
    if (sleeping === 1) Atomics.notify(i32, L.RING_WAKE >> 2, 1);
    else native?.futexWake(i32, L.RING_WAKE >> 2);
  }

  /** A log call waited for room (`gaveUp`: and gave up at its deadline). */
  countWait(gaveUp: boolean): void {
    Atomics.add(this.u32, (gaveUp ? L.ROOM_TIMEOUTS : L.ROOM_WAITS) >> 2, 1);
  }

  /** Log calls (any thread) that waited for room, and those that gave up. */
  waits(): { waited: number; gaveUp: number } {
    return { waited: Atomics.load(this.u32, L.ROOM_WAITS >> 2), gaveUp: Atomics.load(this.u32, L.ROOM_TIMEOUTS >> 2) };
  }

  /** Thread slots claimed (the host's and workers'; one a thread, however many loggers it has). */
  threadsAttached(): number {
    let n = 0;
    for (let i = 0; i < L.MAX_THREADS; i++) if (Atomics.load(this.i32, (threadOffset(i) + L.THR_STATE) >> 2) !== 0) n++;
    return n;
  }

  /** The i32 word waiters sleep on: RING_TAIL's low half (it changes whenever the tail moves). */
  readonly tailWord = L.RING_TAIL >> 2;

  /** Registers (+1) or unregisters (-1) a waiting writer. */
  roomWaiters(delta: 1 | -1): void {
    Atomics.add(this.i32, L.ROOM_WAITERS >> 2, delta);
  }

  /** Lowers ROOM_AT to `tail`: the sender wakes the waiters once its tail reaches it. */
  roomWant(tail: number): void {
    const want = BigInt(tail);
    const i = L.ROOM_AT >> 3;
    let cur = Atomics.load(this.u64, i);
    while (cur > want) {
      const prev = Atomics.compareExchange(this.u64, i, cur, want);
      if (prev === cur) return;
      cur = prev;
    }
  }

  /** Sender side, after each tail store: whether waiters are due a wake-up (then ROOM_AT resets). */
  private roomReached(tail: number): boolean {
    if (Atomics.load(this.i32, L.ROOM_WAITERS >> 2) <= 0) return false;
    if (BigInt(tail) < Atomics.load(this.u64, L.ROOM_AT >> 3)) return false;
    Atomics.store(this.u64, L.ROOM_AT >> 3, ROOM_NONE);
    return true;
  }

  /** The tail at which a writer last gave up waiting (the sender made no progress), or -1. */
  roomStalledAt(): number {
    return Number(Atomics.load(this.u64, L.ROOM_STALL >> 3)) - 1;
  }

  setRoomStalled(tail: number): void {
    Atomics.store(this.u64, L.ROOM_STALL >> 3, BigInt(tail + 1));
  }

  // ------------------------------------------------------------------ the ring, consumer side
  /** The transmit ring's size in bytes. */
  get ringSize(): number {
    return this.u32[L.GEO_RING_SIZE >> 2];
  }

  /** Ring positions are byte counts since init; as numbers they stay exact up to 2^53 bytes. */
  ringHead(): number {
    return Number(Atomics.load(this.u64, L.RING_HEAD >> 3));
  }

  ringTail(): number {
    return Number(Atomics.load(this.u64, L.RING_TAIL >> 3));
  }

  /**
   * Visits every slot between the tail and the published head (PAD slots skipped), then frees
   * them by publishing the new tail. `visit` gets the slot's target, kind (K_* | KF_*), generation and a view
   * of its bytes, valid only during the call. Single consumer only. Returns the slots visited.
   */
  drain(visit: (target: number, kind: number, gen: number, bytes: Uint8Array) => void, max = Infinity): number {
    const head = this.ringHead();
    const start = this.ringTail();
    let tail = start;
    const size = this.ringSize;
    let n = 0;
    while (tail < head && n < max) {
      const at = L.RING_OFF + (tail % size);
      const len = this.u32[(at + L.SLOT_LEN) >> 2];
      const kind = this.dv.getUint16(at + L.SLOT_KIND, true);
      if ((kind & L.K_MASK) !== L.K_PAD) {
        visit(this.dv.getUint16(at + L.SLOT_TARGET, true), kind, this.u32[(at + L.SLOT_GEN) >> 2], this.u8.subarray(at + L.SLOT_HDR, at + L.SLOT_HDR + len));
        n++;
      }
      tail += slotBytes(len);
    }
    if (tail !== start) this.advanceTail(start, tail);
    return n;
  }

  /**
   * The consumer side with held targets (the dgram sender's: native/drain.cc does the same in the
   * addon). Visits the slots from `from` up to the published head, at most `max`, skipping PAD
   * slots and those marked done. `visit` answers 'done' (sent or lost: marked KF_DONE, never
   * visited again), 'held' (left in the ring; the first such position is returned as `held`) or
   * 'stop' (left, and the walk ends there: another batch). Returns where the walk stopped and
   * the first held slot (or -1). The caller publishes RING_TAIL (publishTail) at the first slot
   * still needed. Single consumer only.
   */
  walk(from: number, max: number, visit: (target: number, kind: number, gen: number, bytes: Uint8Array, aux: number) => WalkAnswer): { end: number; held: number } {
    const head = this.ringHead();
    const size = this.ringSize;
    let pos = from;
    let held = -1;
    let n = 0;
    while (pos < head && n < max) {
      const at = L.RING_OFF + (pos % size);
      const len = this.u32[(at + L.SLOT_LEN) >> 2];
      const kind = this.dv.getUint16(at + L.SLOT_KIND, true);
      const next = pos + slotBytes(len);
      if ((kind & L.K_MASK) !== L.K_PAD && (kind & L.KF_DONE) === 0) {
        const bytes = this.u8.subarray(at + L.SLOT_HDR, at + L.SLOT_HDR + len);
        const a = visit(this.dv.getUint16(at + L.SLOT_TARGET, true), kind, this.u32[(at + L.SLOT_GEN) >> 2], bytes, this.u32[(at + L.SLOT_AUX) >> 2]!);
        if (a === 'stop') break;
        if (a === 'held') {
          if (held < 0) held = pos;
        } else {
          this.dv.setUint16(at + L.SLOT_KIND, kind | L.KF_DONE, true);
        }
        n++;
      }
      pos = next;
    }
    return { end: pos, held };
  }

  /** The consumer is done with every slot before `pos` (it must not go back). */
  publishTail(pos: number): void {
    const tail = this.ringTail();
    if (pos > tail) this.advanceTail(tail, pos);
  }

  /** RING_TAIL moves from `from` to `to`: first the sender keeps reliable targets' messages among
   *  those slots (assembly/retain.ts; the addon does the same in native/retain.cc). */
  private advanceTail(from: number, to: number): void {
    if (Atomics.load(this.i32, L.RELIABLE_TARGETS >> 2) !== 0) this.exports.sender_retain(from, to);
    Atomics.store(this.u64, L.RING_TAIL >> 3, BigInt(to));
  }
}

/** What the consumer did with a slot (Core.walk). */
export type WalkAnswer = 'done' | 'held' | 'stop';
