// The target table as the host sees it (Core.targets): each target's slot (its settings, its
// userdata, its place on the lists, through the module's calls under the spinlock) and its
// counters, the write path's and those the host-side sender adds to. The views over the table are
// this file's alone. docs/locking.md says under which lock each field is written.
import { NetconsoleError } from '../base/errors.js';
import { RELEASE_MAX } from '../base/limits.js';
import { L, targetOffset, threadOffset, userdataOffset } from './layout.js';
import { check, type CoreExports } from './module.js';

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
  /** Reliable targets (assembly/retain.ts, host/reliable.ts): messages pushed out of the retention
   *  and then asked for again or never acked, messages pushed out before the receiver ever replied,
   *  and the messages kept now. */
  unacked: number;
  unheard: number;
  kept: number;
  msgid: number;
}

export class TargetSlots {
  private readonly u8: Uint8Array;
  private readonly i32: Int32Array;
  /** 64-bit atomics: the target counters the host side adds to, LOST_TOTAL. */
  private readonly u64: BigUint64Array;
  /** This thread's scratch area (THR_OUT), for what a call takes by address. */
  private readonly scratch: number;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly exports: CoreExports,
    thread: number,
    /** This thread's lock owner id. */
    private readonly tid: number,
  ) {
    this.u8 = new Uint8Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u64 = new BigUint64Array(buffer, 0, (L.TARGETS_OFF + L.MAX_TARGETS * L.TARGET_SIZE) / 8);
    this.scratch = threadOffset(thread) + L.THR_OUT;
  }

  /** Resets a target slot to zero: only for a slot on no list. */
  clearTarget(t: number): void {
    const at = targetOffset(t);
    this.u8.fill(0, at, at + L.TARGET_SIZE);
    this.i32[(at + L.TGT_NEXT) >> 2] = L.NIL;
  }

  /** Settings locked while enabled: written only while the target is not enabled. */
  setTargetLocked(
    t: number,
    flags: number,
    release: Uint8Array | null,
    sysRelease: Uint8Array | null,
    addr?: Uint8Array,
  ): void {
    const at = targetOffset(t);
    this.i32[(at + L.TGT_FLAGS) >> 2] = flags;
    this.putShort(at + L.TGT_REL, at + L.TGT_REL_LEN, release);
    this.putShort(at + L.TGT_SYSREL, at + L.TGT_SYSREL_LEN, sysRelease);
    if (addr) this.u8.set(addr.subarray(0, L.ADDR_SIZE), at + L.TGT_ADDR);
  }

  private putShort(at: number, lenAt: number, bytes: Uint8Array | null): void {
    const n = bytes ? Math.min(bytes.length, RELEASE_MAX) : 0; // TGT_REL, TGT_SYSREL
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

  /** The generation the next enable of target t gives its ring slots. */
  nextGeneration(t: number): number {
    return (this.targetWord(t, L.TGT_GEN) + 1) >>> 0;
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
    this.u8.set(addr.subarray(0, L.ADDR_SIZE), this.scratch);
    check(this.exports.target_set_addr(this.tid, t, this.scratch), 'target_set_addr');
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
   *  to t tells them again (assembly/losses.ts unreported). A report is not a message: nothing else counts. */
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
    if (rendered.length > L.UD_BUF_SIZE)
      throw new NetconsoleError('ENOSPC', `userdata renders to ${rendered.length} bytes, more than ${L.UD_BUF_SIZE}`);
    const live = this.targetWord(t, L.TGT_UD_ACTIVE);
    this.u8.set(rendered, userdataOffset(t, live ^ 1));
    check(this.exports.target_swap_userdata(this.tid, t, rendered.length), 'target_swap_userdata');
  }

  /** The indices on a list (L.ON_TARGETS or L.ON_CLEANUP), in list order, read under the lock. */
  listRead(which: number): number[] {
    const out = this.scratch;
    const n = check(this.exports.list_read(this.tid, which, out, L.MAX_TARGETS), 'list_read');
    return Array.from(this.i32.subarray(out >> 2, (out >> 2) + n));
  }

  /** Moves all of `targets` to the cleanup list in one spinlock section; returns how many moved. */
  listToCleanupBatch(targets: readonly number[], state: number): number {
    const out = this.scratch;
    this.i32.set(targets, out >> 2);
    return check(this.exports.list_to_cleanup_batch(this.tid, out, targets.length, state), 'list_to_cleanup_batch');
  }
}
