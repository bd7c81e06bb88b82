// The write path (kernel: write_msg / write_ext_msg): one record, every enabled target, in list
// order, under the target-list spinlock; non-sleeping, no allocation, no import calls except the
// lock's slow path. Wire format: shared/spec/wire.md.
//
// Lock order: this file takes only the target-list spinlock, innermost of
// config -> rtnl -> cleanup -> spinlock; a writer never waits on anything else.
import {
  DEFAULT_MAX_TOTAL,
  E_BADPRIO,
  E_BADTHREAD,
  E_NOTINIT,
  E_TOOBIG,
  F_EXTENDED,
  F_RAW,
  F_RELEASE,
  F_TIMESTAMPS,
  GEO_MAX_TOTAL,
  IP_ID,
  K_DATAGRAM,
  K_FRAME,
  LIST_TARGETS,
  MAX_PRINT_CHUNK,
  MAX_THREADS,
  NIL,
  RECORDS,
  REC_CONT,
  REC_EXPLICIT,
  RING_FULL,
  SEQ_NEXT,
  ST_ENABLED,
  S_CPU,
  S_MSGID,
  S_RELEASE,
  S_TASKNAME,
  TARGETS_OFF,
  TARGET_SIZE,
  DICT_MAX,
  ESC_MAX,
  TEXT_MAX,
  TGT_ADDR,
  TGT_CNT_BYTES,
  TGT_CNT_DATAGRAMS,
  TGT_CNT_DROPPED,
  TGT_CNT_RATELIMITED,
  TGT_CNT_SENT,
  TGT_CNT_SKIPPED,
  TGT_CNT_TRUNCATED,
  TGT_DEV_UP,
  TGT_FLAGS,
  TGT_GEN,
  TGT_MSGID,
  TGT_NEXT,
  TGT_REL,
  TGT_REL_LEN,
  TGT_RL_BEGIN,
  TGT_RL_BURST,
  TGT_RL_INTERVAL,
  TGT_RL_MISSED,
  TGT_RL_PRINTED,
  TGT_STATE,
  TGT_SYSDATA,
  TGT_SYSREL,
  TGT_SYSREL_LEN,
  TGT_UD_ACTIVE,
  TGT_UD_LEN,
  THREADS_OFF,
  THREAD_SIZE,
  THR_CPU,
  THR_DESC,
  THR_DICT,
  THR_ESC,
  THR_HDR,
  THR_SEQ,
  THR_SYS,
  THR_TASK,
  THR_TASK_LEN,
  THR_TEXT,
  THR_TS,
  THR_TSPFX,
  UD_BUF_SIZE,
  USERDATA_OFF,
  ADDR_FAMILY,
} from './layout';
import { lockAcquire, lockRelease } from './lock';
import { countNewlines, cutEscaped, decLen, escape, escConsumed, findNewline, putByte, putDec, putDecPadded, putLit } from './fmt';
import { ringBegin, ringFits, ringPublish, ringReady, slotBegin } from './ring';
import { frameBuild, frameOverhead } from './frame';

@inline export function targetAt(t: i32): usize {
  return TARGETS_OFF + <usize>t * TARGET_SIZE;
}

@inline export function threadAt(i: i32): usize {
  return THREADS_OFF + <usize>i * THREAD_SIZE;
}

@inline function bump(p: usize, by: u64): void {
  store<u64>(p, load<u64>(p) + by);
}

// ---------------------------------------------------------------- the record being written
// Per-instance globals: each thread has its own instance, and they are valid only during one
// write_record call. Parts that several targets share are rendered once, on first need (-1 = not yet).
let maxTotal: i32 = DEFAULT_MAX_TOTAL;
let thr: usize = 0; // the writing thread's slot
let prio: i32 = 0;
let cont: bool = false;
let seq: u64 = 0;
let ts: u64 = 0;
let textLen: i32 = 0;
let dictLen: i32 = 0;
let hdrLen: i32 = -1; // THR_HDR: "<prio>,<seq>,<ts>,<flag>"
let escLen: i32 = -1; // THR_ESC: escaped text (up to maxTotal)
let escFull: bool = false; // the whole text fit in THR_ESC
let descLen: i32 = -1; // THR_DESC: "\n" + escaped dict lines
let nlCount: i32 = -1; // newlines in the text (basic targets)
let tsPfxLen: i32 = -1; // THR_TSPFX: "[sssss.uuuuuu] "

export function writeAttach(): void {
  maxTotal = <i32>load<u32>(GEO_MAX_TOTAL);
}

/**
 * Writes one record to every enabled target. The text (`textLen` bytes) and the dictionary
 * (`dictLen` bytes of [u16 klen][key][u16 vlen][value]) are in the calling thread's slot.
 * Returns the number of targets the record was offered to (written, dropped or truncated), or a
 * negative E_* status when the arguments are bad (nothing was written then).
 */
export function writeRecord(thread: i32, prio_: i32, flags: i32, textLen_: i32, dictLen_: i32, tsUsec: f64): i32 {
  if (!ringReady()) return E_NOTINIT;
  if (<u32>thread >= <u32>MAX_THREADS) return E_BADTHREAD;
  if (<u32>textLen_ > <u32>TEXT_MAX || <u32>dictLen_ > <u32>DICT_MAX) return E_TOOBIG;
  if (<u32>prio_ > 191) return E_BADPRIO;
  thr = threadAt(thread);
  prio = prio_;
  cont = (flags & REC_CONT) != 0;
  textLen = textLen_;
  dictLen = dictLen_;
  hdrLen = -1;
  escLen = -1;
  descLen = -1;
  nlCount = -1;
  tsPfxLen = -1;

  const tid = thread + 1;
  lockAcquire(tid);
  if (flags & REC_EXPLICIT) {
    seq = load<u64>(thr + THR_SEQ);
    ts = load<u64>(thr + THR_TS);
  } else {
    seq = load<u64>(SEQ_NEXT);
    store<u64>(SEQ_NEXT, seq + 1);
    ts = tsUsec > 0 ? <u64>tsUsec : 0;
  }
  bump(RECORDS, 1);
  ringBegin();
  let offered = 0;
  for (let t = load<i32>(LIST_TARGETS); t != NIL; ) {
    const tp = targetAt(t);
    if (load<i32>(tp + TGT_STATE) == ST_ENABLED) {
      if (atomic.load<i32>(tp + TGT_DEV_UP) == 0) {
        bump(tp + TGT_CNT_SKIPPED, 1);
      } else if (!ratelimitPass(tp)) {
        bump(tp + TGT_CNT_RATELIMITED, 1);
      } else {
        if (load<i32>(tp + TGT_FLAGS) & F_EXTENDED) emitExtended(t, tp);
        else emitBasic(t, tp);
        offered++;
      }
    }
    t = load<i32>(tp + TGT_NEXT);
  }
  ringPublish();
  lockRelease(tid);
  return offered;
}

// Kernel ___ratelimit(): at most `burst` messages per `interval`; checked once per message.
function ratelimitPass(tp: usize): bool {
  const interval = <u64>load<u32>(tp + TGT_RL_INTERVAL) * 1000;
  if (interval == 0) return true;
  let begin = load<u64>(tp + TGT_RL_BEGIN);
  if (begin == 0) {
    begin = ts | 1; // 0 means "no interval yet"
    store<u64>(tp + TGT_RL_BEGIN, begin);
  }
  if (ts > begin + interval) {
    store<u64>(tp + TGT_RL_BEGIN, ts | 1);
    store<u32>(tp + TGT_RL_PRINTED, 0);
    store<u32>(tp + TGT_RL_MISSED, 0);
  }
  const printed = load<u32>(tp + TGT_RL_PRINTED);
  if (printed < load<u32>(tp + TGT_RL_BURST)) {
    store<u32>(tp + TGT_RL_PRINTED, printed + 1);
    return true;
  }
  store<u32>(tp + TGT_RL_MISSED, load<u32>(tp + TGT_RL_MISSED) + 1);
  return false;
}

// ---------------------------------------------------------------- slots: datagrams or frames
// The target being emitted, for slot helpers.
let sTarget: i32 = 0;
let sGen: u32 = 0;
let sRaw: bool = false;
let sAddr: usize = 0;
let sOverhead: i32 = 0;
let sPayload: usize = 0;

function slotsFor(t: i32, tp: usize): void {
  sTarget = t;
  sGen = load<u32>(tp + TGT_GEN);
  sRaw = (load<i32>(tp + TGT_FLAGS) & F_RAW) != 0;
  sAddr = tp + TGT_ADDR;
  sOverhead = sRaw ? frameOverhead(<i32>load<u8>(sAddr + ADDR_FAMILY)) : 0;
}

/** Opens the next datagram of `len` payload bytes; returns where its payload goes. */
function datagramBegin(len: i32): usize {
  const at = slotBegin(sTarget, sRaw ? K_FRAME : K_DATAGRAM, sGen, len + sOverhead);
  sPayload = at + <usize>sOverhead;
  return sPayload;
}

function datagramEnd(len: i32): void {
  if (sRaw) {
    let id: u32 = 0;
    if (load<u8>(sAddr + ADDR_FAMILY) == 4) {
      id = load<u32>(IP_ID) + 1;
      store<u32>(IP_ID, id);
    }
    frameBuild(sAddr, sPayload - <usize>sOverhead, len, id);
  }
}

function fits(count: i32, len: i32, lastLen: i32): bool {
  return ringFits(count, len + sOverhead, lastLen + sOverhead);
}

function dropped(tp: usize): void {
  bump(tp + TGT_CNT_DROPPED, 1);
  bump(RING_FULL, 1);
}

function delivered(tp: usize, count: i32, bytes: i32): void {
  bump(tp + TGT_CNT_SENT, 1);
  bump(tp + TGT_CNT_DATAGRAMS, <u64>count);
  bump(tp + TGT_CNT_BYTES, <u64>bytes);
}

// ---------------------------------------------------------------- extended targets (wire.md 3)
function ensureHeader(): void {
  if (hdrLen >= 0) return;
  let p = thr + THR_HDR;
  p = putDec(p, <u64>prio);
  p = putByte(p, 0x2c);
  p = putDec(p, seq);
  p = putByte(p, 0x2c);
  p = putDec(p, ts);
  p = putByte(p, 0x2c);
  p = putByte(p, cont ? 0x63 : 0x2d); // 'c' or '-'
  hdrLen = <i32>(p - (thr + THR_HDR));
}

function ensureEscaped(): void {
  if (escLen >= 0) return;
  // No target can use more than maxTotal bytes of escaped text; stop there.
  const cap = maxTotal < ESC_MAX ? maxTotal : ESC_MAX;
  escLen = escape(thr + THR_ESC, thr + THR_TEXT, textLen, cap);
  escFull = escConsumed == textLen;
  // "\n" ending the text line, then " KEY=value\n" per dictionary pair, key and value escaped
  // (kernel printk: msg_add_dict_text).
  const d0 = thr + THR_DESC;
  let o = putByte(d0, 0x0a);
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
  descLen = <i32>(o - d0);
}

/** Renders the target's sysdata into THR_SYS; returns its length. Consumes a msgid. */
function renderSysdata(tp: usize): i32 {
  const s = load<i32>(tp + TGT_SYSDATA);
  if (s == 0) return 0;
  const s0 = thr + THR_SYS;
  let p = s0;
  if (s & S_CPU) {
    const cpu = load<i32>(thr + THR_CPU);
    p = putLit(p, ' cpu=');
    p = putDec(p, <u64>(cpu < 0 ? 0 : cpu));
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
    // Incremented before use, once per message, also when the send then fails (wire.md 3.2).
    const id = load<u32>(tp + TGT_MSGID) + 1;
    store<u32>(tp + TGT_MSGID, id);
    p = putLit(p, ' msgid=');
    p = putDec(p, <u64>id);
    p = putByte(p, 0x0a);
  }
  return <i32>(p - s0);
}

// The data of an extended message, body + userdata + sysdata, as four segments copied on demand.
let seg0: usize = 0; // escaped text
let seg0Len: i32 = 0;
let seg2: usize = 0; // userdata
let seg2Len: i32 = 0;
let seg3Len: i32 = 0; // sysdata (at THR_SYS)

/** Copies data[from, from+n) to dst. */
function copyData(dst: usize, from: i32, n: i32): usize {
  let base = 0;
  for (let s = 0; s < 4 && n > 0; s++) {
    let src: usize;
    let len: i32;
    if (s == 0) {
      src = seg0;
      len = seg0Len;
    } else if (s == 1) {
      src = thr + THR_DESC;
      len = descLen;
    } else if (s == 2) {
      src = seg2;
      len = seg2Len;
    } else {
      src = thr + THR_SYS;
      len = seg3Len;
    }
    if (from < base + len) {
      const at = from - base;
      const k = len - at < n ? len - at : n;
      memory.copy(dst, src + <usize>at, <usize>k);
      dst += <usize>k;
      from += k;
      n -= k;
    }
    base += len;
  }
  return dst;
}

/** "[release,]" + header: the part every datagram of the message starts with. */
function putPrefix(p: usize, tp: usize, relLen: i32): usize {
  if (relLen > 0) {
    memory.copy(p, tp + TGT_REL, <usize>(relLen - 1));
    p = putByte(p + <usize>(relLen - 1), 0x2c);
  }
  memory.copy(p, thr + THR_HDR, <usize>hdrLen);
  return p + <usize>hdrLen;
}

@inline function fragHeaderLen(prefixLen: i32, sent: i32, total: i32): i32 {
  return prefixLen + 8 + decLen(<u64>sent) + 1 + decLen(<u64>total) + 1; // ",ncfrag=" sent "/" total ";"
}

function emitExtended(t: i32, tp: usize): void {
  slotsFor(t, tp);
  ensureHeader();
  ensureEscaped();
  const flags = load<i32>(tp + TGT_FLAGS);
  const relLen = flags & F_RELEASE ? load<i32>(tp + TGT_REL_LEN) + 1 : 0;
  seg3Len = renderSysdata(tp);
  seg2 = USERDATA_OFF + (<usize>t * 2 + <usize>load<i32>(tp + TGT_UD_ACTIVE)) * UD_BUF_SIZE;
  seg2Len = load<i32>(tp + TGT_UD_LEN);
  seg0 = thr + THR_ESC;

  // wire.md 3.4: cap the escaped text so that total <= maxTotal, never splitting an escape.
  const fixed = descLen + seg2Len + seg3Len;
  seg0Len = cutEscaped(seg0, escLen, maxTotal - fixed);
  const truncated = !escFull || seg0Len < escLen;
  const total = seg0Len + fixed;
  const prefixLen = relLen + hdrLen;

  if (prefixLen + 1 + total <= MAX_PRINT_CHUNK) {
    const len = prefixLen + 1 + total;
    if (!fits(1, len, len)) return dropped(tp);
    let p = datagramBegin(len);
    p = putPrefix(p, tp, relLen);
    p = putByte(p, 0x3b);
    copyData(p, 0, total);
    datagramEnd(len);
    if (truncated) bump(tp + TGT_CNT_TRUNCATED, 1);
    return delivered(tp, 1, len);
  }

  // Fragments (wire.md 3.3): every one but the last is exactly MAX_PRINT_CHUNK bytes.
  let count = 0;
  let lastLen = 0;
  for (let sent = 0; sent < total; count++) {
    const h = fragHeaderLen(prefixLen, sent, total);
    const n = total - sent < MAX_PRINT_CHUNK - h ? total - sent : MAX_PRINT_CHUNK - h;
    lastLen = h + n;
    sent += n;
  }
  if (!fits(count, MAX_PRINT_CHUNK, lastLen)) return dropped(tp);
  let bytes = 0;
  for (let sent = 0; sent < total; ) {
    const h = fragHeaderLen(prefixLen, sent, total);
    const n = total - sent < MAX_PRINT_CHUNK - h ? total - sent : MAX_PRINT_CHUNK - h;
    let p = datagramBegin(h + n);
    p = putPrefix(p, tp, relLen);
    p = putLit(p, ',ncfrag=');
    p = putDec(p, <u64>sent);
    p = putByte(p, 0x2f);
    p = putDec(p, <u64>total);
    p = putByte(p, 0x3b);
    copyData(p, sent, n);
    datagramEnd(h + n);
    sent += n;
    bytes += h + n;
  }
  if (truncated) bump(tp + TGT_CNT_TRUNCATED, 1);
  delivered(tp, count, bytes);
}

// ---------------------------------------------------------------- basic targets (wire.md 2)
// The console text, cut into MAX_PRINT_CHUNK datagrams as it streams out: "chunk writer" state.
let cwRoom: i32 = 0; // bytes left in the open datagram
let cwLeft: i32 = 0; // bytes of console text not yet placed in a datagram
let cwLen: i32 = 0; // length of the open datagram
let cwAt: usize = 0; // where the next byte goes

function cwPut(src: usize, n: i32): void {
  while (n > 0) {
    if (cwRoom == 0) {
      if (cwLen > 0) datagramEnd(cwLen);
      cwLen = cwLeft < MAX_PRINT_CHUNK ? cwLeft : MAX_PRINT_CHUNK;
      cwAt = datagramBegin(cwLen);
      cwRoom = cwLen;
      cwLeft -= cwLen;
    }
    const k = n < cwRoom ? n : cwRoom;
    memory.copy(cwAt, src, <usize>k);
    cwAt += <usize>k;
    cwRoom -= k;
    src += <usize>k;
    n -= k;
  }
}

function ensureTsPrefix(): i32 {
  if (tsPfxLen >= 0) return tsPfxLen;
  // "[%5lu.%06lu] " as printk.time prints it.
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

const NEWLINE: usize = memory.data<u8>([0x0a]);

function emitBasic(t: i32, tp: usize): void {
  if (textLen == 0) return; // empty text sends nothing
  slotsFor(t, tp);
  if (nlCount < 0) nlCount = countNewlines(thr + THR_TEXT, textLen);
  const pfx = load<i32>(tp + TGT_FLAGS) & F_TIMESTAMPS ? ensureTsPrefix() : 0;
  const text = thr + THR_TEXT;
  const endsNl = load<u8>(text + <usize>(textLen - 1)) == 0x0a;
  const lines = nlCount + (endsNl ? 0 : 1);
  const rendered = textLen + (endsNl ? 0 : 1) + lines * pfx;
  const count = (rendered + MAX_PRINT_CHUNK - 1) / MAX_PRINT_CHUNK;
  const lastLen = rendered - (count - 1) * MAX_PRINT_CHUNK;
  if (!fits(count, MAX_PRINT_CHUNK, lastLen)) return dropped(tp);

  cwRoom = 0;
  cwLen = 0;
  cwLeft = rendered;
  if (pfx == 0) {
    cwPut(text, textLen);
  } else {
    for (let start = 0; start < textLen; ) {
      const nl = findNewline(text, start, textLen);
      const end = nl < textLen ? nl + 1 : textLen; // the line with its newline, when it has one
      cwPut(thr + THR_TSPFX, pfx);
      cwPut(text + <usize>start, end - start);
      start = end;
    }
  }
  if (!endsNl) cwPut(NEWLINE, 1);
  datagramEnd(cwLen);
  delivered(tp, count, rendered);
}
