// The write path (kernel: write_msg / write_ext_msg): one record, every enabled target, in list
// order (writeTarget: one target alone, the kernel's send_msg), under the target-list spinlock;
// non-sleeping, no allocation, no import calls except the lock's slow path. Wire format:
// docs/wire.md; emitters: extended.ts, basic.ts.
//
// Lock order: this file takes only the target-list spinlock, innermost of
// config -> rtnl -> cleanup -> spinlock; a writer never waits on anything else. A writer that
// must wait for room (REC_WAIT) returns E_NOROOM without writing and waits outside the lock.
//
// Losses are reported in-band, as the kernel reports dropped printk messages: when a target lost
// messages (ring full, device not running, or the sender could not send them), the next record
// that reaches it is preceded by a record "** N messages dropped **" (level warning, the logger's
// facility, the seq just before the record's), N counting every loss since the last report.
import {
  CLOSED,
  HDR_EPOCH,
  DICT_MAX,
  E_BADPRIO,
  E_BADTARGET,
  E_BADTHREAD,
  E_NOROOM,
  E_NOTINIT,
  E_TOOBIG,
  F_EXTENDED,
  F_TIMESTAMPS,
  LIST_TARGETS,
  LOST_SEEN,
  LOST_TOTAL,
  MAX_TARGETS,
  MAX_THREADS,
  NIL,
  ON_TARGETS,
  RECORDS,
  REC_CONT,
  REC_EXPLICIT,
  REC_FAC_SHIFT,
  REC_WAIT,
  REPORT_LOSSES,
  RING_FULL,
  SEQ_NEXT,
  ST_ENABLED,
  S_MSGID,
  TEXT_MAX,
  TGT_CNT_DROPPED,
  TGT_CNT_RATELIMITED,
  TGT_CNT_REPORTED,
  TGT_CNT_SKIPPED,
  TGT_CNT_UNACKED_REPORTED,
  TGT_DEV_UP,
  TGT_FLAGS,
  TGT_LIST,
  TGT_NEXT,
  TGT_RT_REPORTED_AT,
  TGT_STATE,
  TGT_SYSDATA,
  TGT_UD_LEN,
  THR_NEED,
  THR_SEQ,
  THR_TS,
} from './layout';
import { lockAcquire, lockRelease } from './lock';
import { ringBegin, ringBytes, ringCursor, ringNeed, ringPublish, ringReady, ringRoom } from './ring';
import { recordBegin, recordSetSeq, reportBegin, reportEnd, takeMsgid, thr, ts } from './record';
import { measureExtended, writeExtended } from './extended';
import { measureBasic, writeBasic } from './basic';
import { bump, planMessage, reportCount, slotsFor } from './slots';
import { targetAt } from './offsets';
import { reportable, rptDropped, rptUnacked, unackedUnreported, unreported } from './losses';
import { ratelimit } from './ratelimit';

// Per call: the report records' seq and facility.
let reportSeq: u64 = 0;
let reportFacility: i32 = 0;
/** The life of the memory this instance was attached for (layout.ts HDR_EPOCH). */
let epoch: u32 = 0;

export function writeAttach(epoch_: u32): void {
  epoch = epoch_;
}

/** Whether the memory is still the one this instance attached to, and its Netconsole is open. */
export function current(): bool {
  return atomic.load<u32>(HDR_EPOCH) == epoch;
}

@inline function open_(): bool {
  return atomic.load<i32>(CLOSED) == 0 && current();
}

/**
 * Writes one record to every enabled target. The text (`textLen` bytes) and the dictionary
 * (`dictLen` bytes of [u16 klen][key][u16 vlen][value]) are in the calling thread's slot.
 * Returns the number of targets the record was offered to (written, dropped or truncated); 0
 * once the Netconsole closed; E_NOROOM with REC_WAIT when the record does not fit yet (nothing
 * written, no seq taken; THR_NEED says from which RING_TAIL it fits); or a negative E_* status
 * when the arguments are bad (nothing was written then).
 */
export function writeRecord(thread: i32, prio: i32, flags: i32, textLen: i32, dictLen: i32, tsUsec: f64): i32 {
  if (!ringReady()) return E_NOTINIT;
  if (!open_()) return 0; // closed, or the memory belongs to another Netconsole now
  if (<u32>thread >= <u32>MAX_THREADS) return E_BADTHREAD;
  if (<u32>textLen > <u32>TEXT_MAX || <u32>dictLen > <u32>DICT_MAX) return E_TOOBIG;
  if (<u32>prio > 191) return E_BADPRIO;
  recordBegin(thread, prio, (flags & REC_CONT) != 0, textLen, dictLen, tsUsec > 0 ? <u64>tsUsec : 0);

  const tid = thread + 1;
  lockAcquire(tid);
  if (!open_()) {
    // Closed while this writer waited for the lock: close() takes the lock once after marking
    // CLOSED, so nothing is written after it (the memory may be laid out again for another).
    lockRelease(tid);
    return 0;
  }
  ringBegin();
  const explicit = (flags & REC_EXPLICIT) != 0;
  const reporting = !explicit && lossesToReport();
  let seq: u64;
  if (explicit) {
    seq = load<u64>(thr + THR_SEQ);
    recordSetSeq(seq, load<u64>(thr + THR_TS));
  } else {
    reportSeq = load<u64>(SEQ_NEXT);
    seq = reporting ? reportSeq + 1 : reportSeq;
    recordSetSeq(seq, ts);
  }
  reportFacility = (flags >> REC_FAC_SHIFT) & 31;
  if (flags & REC_WAIT && !ringRoom(ringCursor() + recordBound(textLen, dictLen))) {
    // Plan the whole record; when it does not fit now but will once the sender frees room, take
    // nothing and let the caller wait outside the lock. (With room for recordBound, the usual
    // case, it fits whatever its messages measure: no plan, and 'wait' costs what 'drop' does.)
    const end = everyTarget(true, reporting);
    if (!ringRoom(end) && end - ringCursor() <= ringBytes()) {
      store<f64>(thr + THR_NEED, <f64>ringNeed(end));
      lockRelease(tid);
      return E_NOROOM;
    }
  }
  if (!explicit) store<u64>(SEQ_NEXT, seq + 1);
  bump(RECORDS, 1);
  const offered = <i32>everyTarget(false, reporting);
  ringPublish();
  lockRelease(tid);
  return offered;
}

/**
 * Writes one record to target t alone (kernel: a write of the target's configfs `send_msg`; here
 * Target.send and the heartbeat, host/target-table.ts). Everything else is as for writeRecord: the
 * next seq (every other target sees that seq missing, as it does for another target's loss
 * report), the target's format, its userdata and sysdata (a msgid), a loss report before it when
 * the target has losses to tell, the ring and its counters. Unlike a log record it is not rate
 * limited: it is not part of the flood the rate limit holds back, and the host asked for it.
 *
 * A function of its own, not an argument of writeRecord: the log call's loop is left as it was
 * (its cost is the write-path benchmark's figure). Returns 1 (offered: written, dropped or
 * truncated); 0 when t is not enabled or its device is not running (nothing written, no seq
 * taken), or once the Netconsole closed; E_NOROOM with REC_WAIT as writeRecord; E_BADTARGET for
 * an index past the targets; another negative E_* status for bad arguments.
 */
export function writeTarget(thread: i32, t: i32, prio: i32, flags: i32, textLen: i32, dictLen: i32, tsUsec: f64): i32 {
  if (!ringReady()) return E_NOTINIT;
  if (!open_()) return 0;
  if (<u32>thread >= <u32>MAX_THREADS) return E_BADTHREAD;
  if (<u32>t >= <u32>MAX_TARGETS) return E_BADTARGET;
  if (<u32>textLen > <u32>TEXT_MAX || <u32>dictLen > <u32>DICT_MAX) return E_TOOBIG;
  if (<u32>prio > 191) return E_BADPRIO;
  recordBegin(thread, prio, (flags & REC_CONT) != 0, textLen, dictLen, tsUsec > 0 ? <u64>tsUsec : 0);

  const tid = thread + 1;
  lockAcquire(tid);
  const tp = targetAt(t);
  // Checked under the lock: the host's list and state changes take it too.
  if (!open_() || load<i32>(tp + TGT_LIST) != ON_TARGETS || load<i32>(tp + TGT_STATE) != ST_ENABLED || atomic.load<i32>(tp + TGT_DEV_UP) == 0) {
    lockRelease(tid);
    return 0;
  }
  ringBegin();
  const report: u64 = load<i32>(REPORT_LOSSES) != 0 ? reportable(tp) : 0;
  reportSeq = load<u64>(SEQ_NEXT);
  const seq = report != 0 ? reportSeq + 1 : reportSeq;
  recordSetSeq(seq, ts);
  reportFacility = (flags >> REC_FAC_SHIFT) & 31;
  if (flags & REC_WAIT) {
    const end = planTarget(t, tp, report, ringCursor());
    if (!ringRoom(end) && end - ringCursor() <= ringBytes()) {
      store<f64>(thr + THR_NEED, <f64>ringNeed(end));
      lockRelease(tid);
      return E_NOROOM;
    }
  }
  store<u64>(SEQ_NEXT, seq + 1);
  bump(RECORDS, 1);
  emitTarget(t, tp, report);
  ringPublish();
  lockRelease(tid);
  return 1;
}

// ---------------------------------------------------------------- one target
@inline function isExtended(tp: usize): bool {
  return (load<i32>(tp + TGT_FLAGS) & F_EXTENDED) != 0;
}

function measure(t: i32, tp: usize, ahead: u32): void {
  if (isExtended(tp)) measureExtended(t, tp, ahead);
  else measureBasic(tp);
}

/** Where target t's message alone (no report), placed from `pos`, ends. */
@inline function planAlone(t: i32, tp: usize, pos: u64): u64 {
  slotsFor(t, tp);
  measure(t, tp, 0);
  return planMessage(pos);
}

/** Where target t's report (of `report` losses, 0: none) and message, placed from `pos`, end. */
function planTarget(t: i32, tp: usize, report: u64, pos: u64): u64 {
  if (report == 0) return planAlone(t, tp, pos);
  slotsFor(t, tp);
  reportBegin(rptDropped, rptUnacked, reportSeq, reportFacility);
  measure(t, tp, 0);
  pos = planMessage(pos);
  reportEnd();
  measure(t, tp, 1); // the record, one slot after its report
  return planMessage(pos);
}

/** The record (and its report, if any) to target t, whole or not at all. */
// @inline: the log call's loop had it inlined while it was its only caller (writeTarget is the
// other); kept so, the log call's code is what it was.
// Planned with planTarget, as everyTarget plans it: what is measured is what is written.
@inline function emitTarget(t: i32, tp: usize, report: u64): void {
  const ext = isExtended(tp);
  // Without a report (the usual case) the plan is inlined here: a call cost the 100 B write path
  // 3-4% (write-path bench); planAlone measured the message, so it is ready to write.
  if (report == 0) {
    if (!ringRoom(planAlone(t, tp, ringCursor()))) return dropped(tp, ext);
    return ext ? writeExtended(tp, false) : writeBasic(tp, false);
  }
  // Report and record go together, or the record is dropped (and the report waits for the next).
  if (!ringRoom(planTarget(t, tp, report, ringCursor()))) return dropped(tp, ext);
  reportCount(<u32>rptDropped);
  reportBegin(rptDropped, rptUnacked, reportSeq, reportFacility);
  measure(t, tp, 0);
  if (ext) writeExtended(tp, true);
  else writeBasic(tp, true);
  reportEnd();
  bump(tp + TGT_CNT_REPORTED, rptDropped);
  if (rptUnacked != 0) {
    bump(tp + TGT_CNT_UNACKED_REPORTED, rptUnacked);
    store<u64>(tp + TGT_RT_REPORTED_AT, ts);
  }
  measure(t, tp, 0);
  if (ext) writeExtended(tp, false);
  else writeBasic(tp, false);
}

/** Ring full: the message is dropped whole and counted; it still takes its msgid (docs/wire.md 3.2). */
function dropped(tp: usize, ext: bool): void {
  if (ext && load<i32>(tp + TGT_SYSDATA) & S_MSGID) takeMsgid(tp);
  bump(tp + TGT_CNT_DROPPED, 1);
  bump(RING_FULL, 1);
  atomic.add<u64>(LOST_TOTAL, 1);
}

/**
 * An upper bound on the ring bytes a record of textLen and dictLen bytes takes at every enabled
 * target, loss reports included (REC_WAIT: with this much room it fits, whatever planRecord would
 * measure). A target's message M, in bytes, is at most:
 *  - basic: the text and a newline, with timestamps a time prefix per line (at most 24 bytes:
 *    "[" 14 digits "." 6 digits "] "), every byte a line at worst: (textLen + 1) * 33, else
 *    textLen + 1;
 *  - extended: the text escaped (4x), the dictionary escaped (4x, plus " =\n" per pair of at
 *    least 4 bytes: 5x), a "\n", its userdata, and under 1,024 bytes for the release, the header
 *    (with the own seq and ncfirst of a reliable target) and the sysdata.
 * Its datagrams add at most 263 bytes each (slot header and alignment 31, a raw frame's headers
 * 62, the prefix and the ncfrag head again 170), one per 830 data bytes or fewer, so 2M + 3,072
 * covers them, a loss report before it (under 512) and slack; 2,048 more for a pad at the ring's
 * end.
 */
export function recordBound(textLen: i32, dictLen: i32): u64 {
  let bound: u64 = 2048;
  for (let t = load<i32>(LIST_TARGETS); t != NIL; ) {
    const tp = targetAt(t);
    if (load<i32>(tp + TGT_STATE) == ST_ENABLED) {
      const f = load<i32>(tp + TGT_FLAGS);
      let m: u64;
      if (f & F_EXTENDED) m = 4 * <u64>textLen + 5 * <u64>dictLen + 1 + <u64>load<i32>(tp + TGT_UD_LEN) + 1024;
      else m = f & F_TIMESTAMPS ? (<u64>textLen + 1) * 33 : <u64>textLen + 1;
      bound += 2 * m + 3072;
    }
    t = load<i32>(tp + TGT_NEXT);
  }
  return bound;
}

/**
 * The record to every target it reaches, in list order: the one loop of the log call, for both
 * its uses. `plan` (REC_WAIT, before anything is taken): where the whole record, placed from the
 * ring cursor, ends; nothing changes (the rate limit is peeked, nothing counted). Otherwise: the
 * record written (or dropped) at each, skips and rate-limited messages counted; returns the
 * targets it was offered to. @inline: each caller passes a constant `plan`, so each gets its own
 * loop with the other branch folded away (the log call's loop costs what it did).
 */
@inline function everyTarget(plan: bool, reporting: bool): u64 {
  let pos = ringCursor();
  let offered: u64 = 0;
  for (let t = load<i32>(LIST_TARGETS); t != NIL; ) {
    const tp = targetAt(t);
    if (reaches(tp, !plan)) {
      const report = reporting ? reportable(tp) : 0;
      if (plan) pos = planTarget(t, tp, report, pos);
      else {
        emitTarget(t, tp, report);
        offered++;
      }
    }
    t = load<i32>(tp + TGT_NEXT);
  }
  return plan ? pos : offered;
}

/**
 * Whether a record reaches target tp now: enabled, its device running, within its rate limit.
 * The one place that decides it (the loop above, planning and writing, and lossesToReport).
 * `commit`: the record is being written: the rate limit counts it, and a target it does not reach
 * counts it (skipped: a loss to report; rate-limited); otherwise nothing changes.
 */
@inline function reaches(tp: usize, commit: bool): bool {
  if (load<i32>(tp + TGT_STATE) != ST_ENABLED) return false;
  if (atomic.load<i32>(tp + TGT_DEV_UP) == 0) {
    if (commit) {
      bump(tp + TGT_CNT_SKIPPED, 1);
      atomic.add<u64>(LOST_TOTAL, 1);
    }
    return false;
  }
  if (ratelimit(tp, commit)) return true;
  if (commit) bump(tp + TGT_CNT_RATELIMITED, 1);
  return false;
}

// ---------------------------------------------------------------- losses
/**
 * Whether some target this record reaches has losses to report. Skips the scan while nothing
 * was lost since a scan found no enabled target with unreported losses (LOST_SEEN).
 */
function lossesToReport(): bool {
  if (load<i32>(REPORT_LOSSES) == 0) return false;
  const total = atomic.load<u64>(LOST_TOTAL);
  if (total == load<u64>(LOST_SEEN)) return false;
  let pending = false;
  for (let t = load<i32>(LIST_TARGETS); t != NIL; ) {
    const tp = targetAt(t);
    if (load<i32>(tp + TGT_STATE) == ST_ENABLED && unreported(tp) + unackedUnreported(tp) != 0) {
      if (reaches(tp, false) && reportable(tp) != 0) return true;
      pending = true; // its report waits for a record that reaches it (or, unacked, for its time)
    }
    t = load<i32>(tp + TGT_NEXT);
  }
  if (!pending) store<u64>(LOST_SEEN, total);
  return false;
}
