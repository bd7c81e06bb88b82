// The module's exports: the only surface the host sees. Only integers (and one f64 time) cross.
// Names are prefixed by concern and named by verb (undici/llhttp style). The layout constants are
// exported too, as immutable globals, so that the host can compare its mirror (src/core/layout.ts)
// with them by name when it loads the module.
import {
  GEO_MAX_TOTAL,
  GEO_MEM_END,
  GEO_RING_SIZE,
  HDR_MAGIC,
  HDR_VERSION,
  HDR_EPOCH,
  LAYOUT_VERSION,
  LIST_CLEANUP,
  LIST_TARGETS,
  MAGIC,
  MAX_TARGETS,
  NIL,
  RING_MAX,
  RING_MIN,
  RING_OFF,
  SEQ_NEXT,
  REPORT_LOSSES,
  ROOM_AT,
  THR_ADDR,
  THR_NODE_ID,
  THR_OS_TID,
  THR_OUT,
  THR_STATE,
  TGT_NEXT,
  MAX_THREADS,
  E_BADARG,
  E_NOTINIT,
  E_BADTHREAD,
  E_NOSLOT,
  ADDR_FAMILY,
  ESC_MAX,
} from './layout';
import { lockAcquire, lockOwner, lockRecover, lockRelease } from './lock';
import { ringAttach } from './ring';
import { current, writeAttach, writeRecord, writeTarget } from './write';
import { recordAttach } from './record';
import { retainRange } from './retain';
import { targetAt, threadAt } from './offsets';
import { frameBuild, frameOverhead } from './frame';
import { csumScalar, csumSimd } from './checksum';
import { cutEscaped, escape } from './fmt';
import { listAdd, listFromCleanup, listRead, listRemove, listToCleanup, listToCleanupBatch, targetSet, targetSetAddr, targetSetState, targetSwapUserdata } from './lists';

export * from './layout';

const U64_ALL: u64 = <u64>-1;

// ---------------------------------------------------------------- memory
/**
 * Lays out a fresh (zeroed) shared memory: geometry, empty lists, the first seq. Called once, by
 * the host that created the memory, before any other instance attaches. `seqStart` is the first
 * record seq (a safe integer); `reportLosses` turns the in-band loss reports on (write.ts);
 * `epoch` is which life of this memory this is (layout.ts HDR_EPOCH). Returns 0, or E_BADARG.
 */
export function mem_init(ringSize: u32, maxTotal: i32, seqStart: f64, reportLosses: i32, epoch: u32): i32 {
  if (ringSize < RING_MIN || ringSize > RING_MAX || (ringSize & (ringSize - 1)) != 0) return E_BADARG;
  if (maxTotal < 1 || maxTotal > ESC_MAX - 4) return E_BADARG;
  const end = RING_OFF + <usize>ringSize;
  if (<usize>memory.size() << 16 < end || seqStart < 0) return E_BADARG;
  if (load<u32>(HDR_MAGIC) != 0) return E_BADARG; // already laid out
  store<u32>(HDR_VERSION, LAYOUT_VERSION);
  store<u32>(HDR_EPOCH, epoch);
  store<u32>(GEO_RING_SIZE, ringSize);
  store<u32>(GEO_MAX_TOTAL, <u32>maxTotal);
  store<u32>(GEO_MEM_END, <u32>end);
  store<u64>(SEQ_NEXT, <u64>seqStart);
  store<i32>(REPORT_LOSSES, reportLosses != 0 ? 1 : 0);
  store<u64>(ROOM_AT, U64_ALL); // no writer waits for room
  store<i32>(LIST_TARGETS, NIL);
  store<i32>(LIST_CLEANUP, NIL);
  for (let t = 0; t < MAX_TARGETS; t++) store<i32>(targetAt(t) + TGT_NEXT, NIL);
  atomic.store<u32>(HDR_MAGIC, MAGIC); // last: the memory is ready
  return 0;
}

/** Loads the geometry into this instance's globals, for life `epoch` of the memory. Every instance
 *  calls it once. Returns 0; 1 when the memory has moved on to another life (this instance then
 *  writes nothing, claims no thread slot); or E_NOTINIT. */
export function mem_attach(epoch: u32): i32 {
  if (atomic.load<u32>(HDR_MAGIC) != MAGIC || load<u32>(HDR_VERSION) != LAYOUT_VERSION) return E_NOTINIT;
  if (<usize>load<u32>(GEO_MEM_END) > <usize>memory.size() << 16) return E_NOTINIT; // not this memory's geometry
  ringAttach();
  recordAttach();
  writeAttach(epoch);
  return current() ? 0 : 1;
}

/** End of the module's static data: must stay below the first region (checked by the host). */
export function mem_heap_base(): usize {
  return __heap_base;
}

// ---------------------------------------------------------------- threads
// A slot's THR_STATE counts the claims of its thread (one per logger: a thread's loggers share its
// slot, a JavaScript thread runs one log call at a time). Only the owner changes its own count;
// the host frees a dead owner's slot whatever the count (thread_reap). A free slot's ids are 0,
// so a slot being claimed (its count set, its ids not yet) matches no live thread.

/**
 * Claims a thread slot for the calling thread: one claim more on the slot it holds already (the
 * same node and OS thread ids; not when `osTid` is unknown, 0), else a free one. Returns its
 * index; E_NOSLOT when every slot is taken; E_BADTHREAD when the memory has moved on to another
 * life.
 */
export function thread_claim(nodeThreadId: i32, osTid: i32): i32 {
  if (!current()) return E_BADTHREAD;
  if (osTid > 0) {
    for (let i = 0; i < MAX_THREADS; i++) {
      const p = threadAt(i);
      if (atomic.load<i32>(p + THR_STATE) > 0 && atomic.load<i32>(p + THR_OS_TID) == osTid && atomic.load<i32>(p + THR_NODE_ID) == nodeThreadId) {
        atomic.add<i32>(p + THR_STATE, 1);
        return i;
      }
    }
  }
  for (let i = 0; i < MAX_THREADS; i++) {
    const p = threadAt(i);
    if (atomic.cmpxchg<i32>(p + THR_STATE, 0, 1) == 0) {
      atomic.store<i32>(p + THR_NODE_ID, nodeThreadId);
      atomic.store<i32>(p + THR_OS_TID, osTid);
      return i;
    }
  }
  return E_NOSLOT;
}

/** Frees slot i: the lock recovered if its owner held it, the ids cleared, then the slot. */
function threadFree(i: i32): void {
  const p = threadAt(i);
  lockRecover(i + 1);
  atomic.store<i32>(p + THR_OS_TID, 0);
  atomic.store<i32>(p + THR_NODE_ID, 0);
  atomic.store<i32>(p + THR_STATE, 0);
}

/** Drops one claim on slot i (by its owner: a logger detached); the last frees it. Returns the
 *  claims left, or E_BADTHREAD (a free slot, or the memory has moved on to another life). */
export function thread_release(i: i32): i32 {
  if (<u32>i >= <u32>MAX_THREADS || !current()) return E_BADTHREAD;
  const p = threadAt(i);
  const n = atomic.load<i32>(p + THR_STATE);
  if (n <= 0) return E_BADTHREAD;
  if (n > 1) return atomic.sub<i32>(p + THR_STATE, 1) - 1;
  threadFree(i);
  return 0;
}

/** Frees slot i of the OS thread `osTid`, which has died (the host checked), whatever its claims.
 *  Returns 1; 0 when the slot is no longer that thread's. */
export function thread_reap(i: i32, osTid: i32): i32 {
  if (<u32>i >= <u32>MAX_THREADS || !current() || osTid <= 0) return E_BADTHREAD;
  const p = threadAt(i);
  if (atomic.load<i32>(p + THR_STATE) <= 0 || atomic.load<i32>(p + THR_OS_TID) != osTid) return 0;
  threadFree(i);
  return 1;
}

// ---------------------------------------------------------------- the spinlock
export function lock_acquire(tid: i32): void {
  lockAcquire(tid);
}
export function lock_release(tid: i32): void {
  lockRelease(tid);
}
export function lock_recover(tid: i32): i32 {
  return lockRecover(tid);
}
export function lock_owner(): i32 {
  return lockOwner();
}

// ---------------------------------------------------------------- the write path
export function write_record(thread: i32, prio: i32, flags: i32, textLen: i32, dictLen: i32, tsUsec: f64): i32 {
  return writeRecord(thread, prio, flags, textLen, dictLen, tsUsec);
}
/** One record to target t alone (send_msg, the heartbeat): write.ts writeTarget. */
export function write_target(thread: i32, t: i32, prio: i32, flags: i32, textLen: i32, dictLen: i32, tsUsec: f64): i32 {
  return writeTarget(thread, t, prio, flags, textLen, dictLen, tsUsec);
}

// ---------------------------------------------------------------- the sender's side
/** The sender is done with the ring's slots in [from, to) and is about to publish RING_TAIL = to:
 *  reliable targets' messages among them are kept (retain.ts). The dgram sender's call (the addon
 *  does the same in native/retain.cc). Positions are safe integers. */
export function sender_retain(from: f64, to: f64): void {
  retainRange(<u64>from, <u64>to);
}

// ---------------------------------------------------------------- host list and target changes
export function list_add(tid: i32, t: i32, state: i32): i32 {
  return listAdd(tid, t, state);
}
export function list_to_cleanup(tid: i32, t: i32, state: i32): i32 {
  return listToCleanup(tid, t, state);
}
export function list_to_cleanup_batch(tid: i32, list: usize, n: i32, state: i32): i32 {
  return listToCleanupBatch(tid, list, n, state);
}
export function list_from_cleanup(tid: i32, t: i32, state: i32): i32 {
  return listFromCleanup(tid, t, state);
}
export function list_remove(tid: i32, t: i32): i32 {
  return listRemove(tid, t);
}
export function list_read(tid: i32, which: i32, out: usize, max: i32): i32 {
  return listRead(tid, which, out, max);
}
export function target_set_state(tid: i32, t: i32, state: i32): i32 {
  return targetSetState(tid, t, state);
}
export function target_set(tid: i32, t: i32, field: i32, value: i32): i32 {
  return targetSet(tid, t, field, value);
}
export function target_set_addr(tid: i32, t: i32, src: usize): i32 {
  return targetSetAddr(tid, t, src);
}
export function target_swap_userdata(tid: i32, t: i32, len: i32): i32 {
  return targetSwapUserdata(tid, t, len);
}

// ---------------------------------------------------------------- building blocks, exported for
// the encoding API (frame_build) and for the specs and benchmarks (the rest).
/** Builds one frame in the thread's THR_OUT from the addressing block at THR_ADDR and the payload
 *  already at THR_OUT + overhead. Returns the frame length. */
export function frame_build(thread: i32, payloadLen: i32, ipId: u32): i32 {
  if (<u32>thread >= <u32>MAX_THREADS) return E_BADTHREAD;
  const thr = threadAt(thread);
  const overhead = frameOverhead(<i32>load<u8>(thr + THR_ADDR + ADDR_FAMILY));
  if (payloadLen < 0 || payloadLen + overhead > 2048) return E_BADARG;
  return frameBuild(thr + THR_ADDR, thr + THR_OUT, payloadLen, ipId);
}
export function frame_overhead(family: i32): i32 {
  return frameOverhead(family);
}
export function csum_simd(ptr: usize, len: i32): u32 {
  return csumSimd(ptr, len);
}
export function csum_scalar(ptr: usize, len: i32): u32 {
  return csumScalar(ptr, len);
}
export function fmt_escape(dst: usize, src: usize, len: i32, cap: i32): i32 {
  return escape(dst, src, len, cap);
}
export function fmt_cut_escaped(esc: usize, len: i32, limit: i32): i32 {
  return cutEscaped(esc, len, limit);
}
