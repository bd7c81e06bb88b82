// The WebAssembly module's instance on this thread and the shared memory's views (ARCHITECTURE.md,
// convention 2): everything else talks to the core through a Core object, integers in, integers
// out, plus byte copies into and out of the thread's own slot. Core is split by role, each part
// with views of its own, private to its file: this file (the instance, this thread's slot, the
// records, the memory-wide words and counters), ring.ts (Core.ring: the ring's consumer side and
// the sender's sleep and wake-up), room.ts (Core.room: waiting for room, both sides),
// target-slots.ts (Core.targets: the target table and its counters).
//
// Threads: a Core is per thread. The creating thread makes the memory and lays it out
// (Core.create); a worker attaches to the same memory and module through a CoreHandle
// (Core.attach), which is structured-cloneable (postMessage, workerData).
import { existsSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { invalid, LayoutMismatchError, NetconsoleError } from '../base/errors.js';
import { MAX_TASKNAME } from '../base/limits.js';
import { check, debugByDefault, loadModule, osThreadId, poolMemory, takeMemory, type CoreExports } from './module.js';
import { checkLayout, L, memoryBytes, threadOffset } from './layout.js';
import { Ring } from './ring.js';
import { Room } from './room.js';
import { TargetSlots } from './target-slots.js';
import type { WasmMemory, WasmModule } from './wasm-types.js';

export { check, type CoreExports } from './module.js';
export type { WalkAnswer } from './ring.js';
export type { TargetCounters } from './target-slots.js';

/** What a worker needs to attach: both are structured-cloneable. */
export interface CoreHandle {
  module: WasmModule;
  memory: WasmMemory;
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
const WAIT_SLICE_MS = 5; // one park of the spinlock's slow path; stall checks after L/lock.ts's count
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
  readonly memory: WasmMemory;
  readonly module: WasmModule;
  readonly debug: boolean;
  /** Views over the whole memory as sized at creation: the layout is fixed; the memory grows only
   *  past the ring, for reliable targets' retention regions, which core/retention.ts views. */
  private readonly u8: Uint8Array;
  private readonly i32: Int32Array;
  private readonly u32: Uint32Array;
  private readonly dv: DataView;
  /** 64-bit atomics: the memory-wide counters. */
  private readonly u64: BigUint64Array;
  /** The ring's consumer side and the sender's wake-up (ring.ts). */
  readonly ring: Ring;
  /** Waiting for room in the ring, both sides (room.ts). */
  readonly room: Room;
  /** The target table and its counters (target-slots.ts). */
  readonly targets: TargetSlots;
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

  private constructor(
    module: WasmModule,
    memory: WasmMemory,
    debug: boolean,
    epoch: number,
    init?: Required<Omit<CoreOptions, 'debug'>>,
  ) {
    this.module = module;
    this.memory = memory;
    this.debug = debug;
    this.epoch = epoch;
    const buffer = memory.buffer as unknown as SharedArrayBuffer;
    this.u8 = new Uint8Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.dv = new DataView(buffer);
    this.u64 = new BigUint64Array(buffer, 0, L.RING_OFF / 8);
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
        throw new NetconsoleError(
          'EIO',
          `netconsole core assertion: ${this.asString(msg)} at ${this.asString(file)}:${line}:${col}`,
        );
      },
    };
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module, { env: env as WebAssembly.ModuleImports });
    } catch (err) {
      // create(): our module and a memory made for it. attach(): a handle's (readCoreHandle
      // checked each alone; here they do not fit together, e.g. the memory's maximum).
      if (init || !(err instanceof WebAssembly.LinkError)) throw err;
      throw invalid(
        'handle.core',
        { module, memory },
        'the module and memory of one nc.handle()',
        'they do not fit together:',
        err,
      );
    }
    checkLayout(instance.exports);
    this.exports = instance.exports as unknown as CoreExports;
    if (this.exports.mem_heap_base() > L.REGION_BASE) {
      throw new LayoutMismatchError(
        `module static data ends at ${this.exports.mem_heap_base()}, past the first region at ${L.REGION_BASE}`,
      );
    }
    if (init) {
      const status = this.exports.mem_init(
        init.ringSize,
        init.maxTotal,
        init.seqStart,
        init.reportLosses ? 1 : 0,
        epoch,
      );
      if (status < 0)
        throw new LayoutMismatchError(
          `mem_init(${init.ringSize}, ${init.maxTotal}, ${init.seqStart}) failed: ${status}`,
        );
    }
    const attached = this.exports.mem_attach(epoch);
    if (attached === L.E_NOTINIT && !init)
      throw invalid(
        'handle.core.memory',
        memory,
        "the memory of a Netconsole's handle (nc.handle())",
        'not laid out by a Netconsole:',
      );
    let stale = check(attached, 'mem_attach') === 1;
    let thread = 0;
    if (!stale) {
      // This thread's slot (another logger of the thread holds it already), or a free one.
      thread = this.exports.thread_claim(threadId, osThreadId());
      if (thread === L.E_NOSLOT) {
        throw new NetconsoleError(
          'ENOSPC',
          `attach: all ${L.MAX_THREADS} thread slots are taken by other threads (a thread's loggers share one; a slot comes back when its thread's last logger detaches or is collected, or the thread exits)`,
          {
            option: 'attach',
            value: L.MAX_THREADS,
            accepted: `at most ${L.MAX_THREADS} threads attached at once, the host's included`,
          },
        );
      }
      // E_BADTHREAD: the memory moved on to another life since mem_attach (its Netconsole closed).
      if (thread < 0) [stale, thread] = [true, 0];
    }
    this.stale = stale;
    this.thread = thread;
    this.tid = this.thread + 1;
    const slot = threadOffset(this.thread);
    this.textAt = slot + L.THR_TEXT;
    this.text = this.stale
      ? new Uint8Array(L.TEXT_MAX)
      : this.u8.subarray(slot + L.THR_TEXT, slot + L.THR_TEXT + L.TEXT_MAX);
    this.dict = this.stale
      ? new Uint8Array(L.DICT_MAX)
      : this.u8.subarray(slot + L.THR_DICT, slot + L.THR_DICT + L.DICT_MAX);
    this.ring = new Ring(buffer, this.exports);
    this.room = new Room(buffer, this.ring, this.thread);
    this.targets = new TargetSlots(buffer, this.exports, this.thread, this.tid);
  }

  /** Makes a new shared memory, lays it out, and attaches the calling thread as its host. */
  static create(opts: CoreOptions = {}): Core {
    const debug = opts.debug ?? debugByDefault();
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
    check(
      this.exports.write_record(this.thread, prio, L.REC_EXPLICIT | (cont ? L.REC_CONT : 0), textLen, dictLen, 0),
      'write_record',
    );
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

  /** The seq the next record takes (SEQ_NEXT): where a new reliable target's own seqs start. */
  seqNext(): bigint {
    return Atomics.load(this.u64, L.SEQ_NEXT >> 3);
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

  /** Thread slots claimed (the host's and workers'; one a thread, however many loggers it has). */
  threadsAttached(): number {
    let n = 0;
    for (let i = 0; i < L.MAX_THREADS; i++) if (Atomics.load(this.i32, (threadOffset(i) + L.THR_STATE) >> 2) !== 0) n++;
    return n;
  }

  /** The S_* bits some enabled target sends (writers refresh their CPU and name for them). */
  setWantedSysdata(bits: number): void {
    Atomics.store(this.i32, L.WANT_SYS >> 2, bits);
  }

  wantedSysdata(): number {
    return Atomics.load(this.i32, L.WANT_SYS >> 2);
  }

  /** From now on every log call, on any thread, writes nothing and returns 0. */
  markClosed(): void {
    Atomics.store(this.i32, L.CLOSED >> 2, 1);
  }
}
