// The record being written (kernel: the printk record a console emits), per instance (= per
// thread), valid only under the target-list spinlock during one write_record call. Parts that
// several targets share are rendered once, on first need (-1 = not yet).
//
// An in-band loss report ("** N messages dropped **", write.ts) is a record of its own, written
// just before the record that follows the loss: reportBegin() switches every emitter to the
// report's text and header, reportEnd() switches back. Only this module assigns these globals;
// the emitters (extended.ts, basic.ts) read them.
import {
  DEFAULT_MAX_TOTAL,
  ESC_MAX,
  GEO_MAX_TOTAL,
  S_CPU,
  S_MSGID,
  S_RELEASE,
  S_TASKNAME,
  TGT_MSGID,
  TGT_SYSDATA,
  TGT_SYSREL,
  TGT_SYSREL_LEN,
  THR_CPU,
  THR_DESC,
  THR_DICT,
  THR_ESC,
  THR_HDR,
  THR_RPT,
  THR_TASK,
  THR_TASK_LEN,
  THR_TEXT,
  THR_TSPFX,
} from './layout';
import { copyShort, countNewlines, decLen, escape, escConsumed, putByte, putDec, putDecPadded, putLit } from './fmt';
import { threadAt } from './offsets';

export let maxTotal: i32 = DEFAULT_MAX_TOTAL;
export let thr: usize = 0; // the writing thread's slot
export let ts: u64 = 0; // shared by a report and its record
let dictLen: i32 = 0;

// The current record (or report): what the emitters read.
export let textAt: usize = 0;
export let textLen: i32 = 0;
export let hdrAt: usize = 0; // "<prio>,<seq>,<ts>,<flag>"
export let hdrLen: i32 = -1;
export let escAt: usize = 0; // escaped text (up to maxTotal)
export let escLen: i32 = -1;
export let escFull: bool = false; // the whole text fit in the escaped area
export let descAt: usize = 0; // "\n" + escaped dict lines
export let descLen: i32 = -1;
export let nlCount: i32 = -1; // newlines in the text (basic targets)
let prio: i32 = 0;
let cont: bool = false;
let seq: u64 = 0;
let tsPfxLen: i32 = -1; // THR_TSPFX: "[sssss.uuuuuu] "

export function recordAttach(): void {
  maxTotal = <i32>load<u32>(GEO_MAX_TOTAL);
}

export function recordBegin(thread: i32, prio_: i32, cont_: bool, textLen_: i32, dictLen_: i32, ts_: u64): void {
  thr = threadAt(thread);
  prio = prio_;
  cont = cont_;
  hPrio = prio_;
  hCont = cont_;
  ts = ts_;
  textAt = thr + THR_TEXT;
  textLen = textLen_;
  dictLen = dictLen_;
  hdrAt = thr + THR_HDR;
  hdrLen = -1;
  escAt = thr + THR_ESC;
  escLen = -1;
  descAt = thr + THR_DESC;
  descLen = -1;
  nlCount = -1;
  tsPfxLen = -1;
}

/** The record's seq (and, with REC_EXPLICIT, its time), known once the lock is held. */
export function recordSetSeq(seq_: u64, ts_: u64): void {
  seq = seq_;
  ts = ts_;
}

export function ensureHeader(): void {
  if (hdrLen >= 0) return;
  hdrLen = putHeader(hdrAt, prio, seq, cont);
}

// The current header's prio and flag (the record's, or the report's between reportBegin and
// reportEnd), for a reliable target's header, which has its own seq.
let hPrio: i32 = 0;
let hCont: bool = false;

/**
 * Writes the current header with the seq whose `seqLen` digits are at `digits` in place of its seq
 * (a reliable target's, retain.ts) at `at`; returns the end. Formatted, not copied from the
 * record's header: with only reliable targets that one is never needed.
 */
export function putHeaderWithSeq(at: usize, digits: usize, seqLen: i32): usize {
  let p = putByte(putDec(at, <u64>hPrio), 0x2c);
  copyShort(p, digits, <usize>seqLen);
  p = putByte(p + <usize>seqLen, 0x2c);
  p = putByte(putDec(p, ts), 0x2c);
  return putByte(p, hCont ? 0x63 : 0x2d); // 'c' or '-'
}

function putHeader(at: usize, prio_: i32, seq_: u64, cont_: bool): i32 {
  let p = putDec(at, <u64>prio_);
  p = putByte(p, 0x2c);
  p = putDec(p, seq_);
  p = putByte(p, 0x2c);
  p = putDec(p, ts);
  p = putByte(p, 0x2c);
  p = putByte(p, cont_ ? 0x63 : 0x2d); // 'c' or '-'
  return <i32>(p - at);
}

export function ensureEscaped(): void {
  if (escLen >= 0) return;
  // No target can use more than maxTotal bytes of escaped text; stop there.
  const cap = maxTotal < ESC_MAX ? maxTotal : ESC_MAX;
  escLen = escape(escAt, textAt, textLen, cap);
  escFull = escConsumed == textLen;
  // "\n" ending the text line, then " KEY=value\n" per dictionary pair, key and value escaped
  // (kernel printk: msg_add_dict_text).
  let o = putByte(descAt, 0x0a);
  let p = thr + THR_DICT;
  const end = p + <usize>dictLen;
  while (p + 2 <= end) {
    const klen = <i32>load<u16>(p);
    const kp = p + 2;
    if (kp + <usize>klen + 2 > end) break;
    const vlen = <i32>load<u16>(kp + <usize>klen);
    const vp = kp + <usize>klen + 2;
    if (vp + <usize>vlen > end) break;
    o = putByte(o, 0x20);
    o += <usize>escape(o, kp, klen, klen * 4);
    o = putByte(o, 0x3d);
    o += <usize>escape(o, vp, vlen, vlen * 4);
    o = putByte(o, 0x0a);
    p = vp + <usize>vlen;
  }
  descLen = <i32>(o - descAt);
}

export function ensureNewlines(): void {
  if (nlCount < 0) nlCount = countNewlines(textAt, textLen);
}

/** Basic targets' "[%5lu.%06lu] " as printk.time prints it; returns its length. */
export function ensureTsPrefix(): i32 {
  if (tsPfxLen >= 0) return tsPfxLen;
  const p0 = thr + THR_TSPFX;
  let p = putByte(p0, 0x5b);
  p = putDecPadded(p, ts / 1000000, 5, 0x20);
  p = putByte(p, 0x2e);
  p = putDecPadded(p, ts % 1000000, 6, 0x30);
  p = putByte(p, 0x5d);
  p = putByte(p, 0x20);
  tsPfxLen = <i32>(p - p0);
  return tsPfxLen;
}

// ---------------------------------------------------------------- sysdata (docs/wire.md 3.2)
const SYS_CPU: i32 = 6; // " cpu=" + "\n"
const SYS_TASKNAME: i32 = 11; // " taskname=" + "\n"
const SYS_RELEASE: i32 = 10; // " release=" + "\n"
const SYS_MSGID: i32 = 8; // " msgid=" + "\n"

@inline function cpuOf(): u64 {
  const cpu = load<i32>(thr + THR_CPU);
  return <u64>(cpu < 0 ? 0 : cpu);
}

/** The length renderSysdata() will have for this target, the `ahead`-th message from now
 *  (msgid digits depend on it). Consumes nothing. */
export function sysdataLen(tp: usize, ahead: u32): i32 {
  const s = load<i32>(tp + TGT_SYSDATA);
  if (s == 0) return 0;
  let n = 0;
  if (s & S_CPU) n += SYS_CPU + decLen(cpuOf());
  if (s & S_TASKNAME) n += SYS_TASKNAME + load<i32>(thr + THR_TASK_LEN);
  if (s & S_RELEASE) n += SYS_RELEASE + load<i32>(tp + TGT_SYSREL_LEN);
  if (s & S_MSGID) {
    const id: u32 = load<u32>(tp + TGT_MSGID) + 1 + ahead; // wraps as the u32 msgid does
    n += SYS_MSGID + decLen(<u64>id);
  }
  return n;
}

/** The target's next msgid (docs/wire.md 3.2: incremented before use, once per message, also for a
 *  message that is then lost). */
export function takeMsgid(tp: usize): u32 {
  const id = load<u32>(tp + TGT_MSGID) + 1;
  store<u32>(tp + TGT_MSGID, id);
  return id;
}

/** Renders the target's sysdata at `at`; returns its length. Consumes a msgid. */
export function renderSysdata(tp: usize, at: usize): i32 {
  const s = load<i32>(tp + TGT_SYSDATA);
  if (s == 0) return 0;
  let p = at;
  if (s & S_CPU) {
    p = putLit(p, ' cpu=');
    p = putDec(p, cpuOf());
    p = putByte(p, 0x0a);
  }
  if (s & S_TASKNAME) {
    p = putLit(p, ' taskname=');
    const n = load<i32>(thr + THR_TASK_LEN);
    memory.copy(p, thr + THR_TASK, <usize>n);
    p = putByte(p + <usize>n, 0x0a);
  }
  if (s & S_RELEASE) {
    p = putLit(p, ' release=');
    const n = load<i32>(tp + TGT_SYSREL_LEN);
    memory.copy(p, tp + TGT_SYSREL, <usize>n);
    p = putByte(p + <usize>n, 0x0a);
  }
  if (s & S_MSGID) {
    p = putLit(p, ' msgid=');
    p = putDec(p, <u64>takeMsgid(tp));
    p = putByte(p, 0x0a);
  }
  return <i32>(p - at);
}

// ---------------------------------------------------------------- in-band loss reports
const REPORT_LEVEL: i32 = 4; // warning
const REPORT_TEXT: usize = 0; // offsets in THR_RPT
const REPORT_HDR: usize = 64;
export const NEWLINE: usize = memory.data<u8>([0x0a]);

let sTextAt: usize = 0;
let sTextLen: i32 = 0;
let sHdrAt: usize = 0;
let sHdrLen: i32 = 0;
let sEscAt: usize = 0;
let sEscLen: i32 = 0;
let sEscFull: bool = false;
let sDescAt: usize = 0;
let sDescLen: i32 = 0;
let sNl: i32 = 0;
let sPrio: i32 = 0;
let sCont: bool = false;

/**
 * Switches the emitters to a report record "** N messages dropped **" (kernel printk: "** %lu
 * printk messages dropped **"): level warning, facility `facility`, seq `seq_`, the record's time.
 * A reliable target's messages pushed out of its retention unacknowledged (`unacked`) are told by
 * the same record: "** U messages unacknowledged **", or with drops "** N messages dropped, U
 * unacknowledged **". Plain ASCII: its escaped form is itself, and it has no dictionary.
 */
export function reportBegin(n: u64, unacked: u64, seq_: u64, facility: i32): void {
  sTextAt = textAt;
  sTextLen = textLen;
  sHdrAt = hdrAt;
  sHdrLen = hdrLen;
  sEscAt = escAt;
  sEscLen = escLen;
  sEscFull = escFull;
  sDescAt = descAt;
  sDescLen = descLen;
  sNl = nlCount;
  sPrio = hPrio;
  sCont = hCont;
  const t0 = thr + THR_RPT + REPORT_TEXT;
  let p = putLit(t0, '** ');
  if (n != 0 || unacked == 0) {
    p = putDec(p, n);
    p = putLit(p, ' messages dropped');
    if (unacked != 0) p = putLit(p, ', ');
  }
  if (unacked != 0) {
    p = putDec(p, unacked);
    p = putLit(p, n != 0 ? ' unacknowledged' : ' messages unacknowledged');
  }
  p = putLit(p, ' **');
  textAt = t0;
  textLen = <i32>(p - t0);
  escAt = t0;
  escLen = textLen;
  escFull = true;
  descAt = NEWLINE;
  descLen = 1;
  nlCount = 0;
  hdrAt = thr + THR_RPT + REPORT_HDR;
  hPrio = facility * 8 + REPORT_LEVEL;
  hCont = false;
  hdrLen = putHeader(hdrAt, hPrio, seq_, false);
}

export function reportEnd(): void {
  textAt = sTextAt;
  textLen = sTextLen;
  hdrAt = sHdrAt;
  hdrLen = sHdrLen;
  escAt = sEscAt;
  escLen = sEscLen;
  escFull = sEscFull;
  descAt = sDescAt;
  descLen = sDescLen;
  nlCount = sNl;
  hPrio = sPrio;
  hCont = sCont;
}
