// Extended targets (kernel: write_ext_msg / send_ext_msg_udp; docs/wire.md 3): the composition
// `[release ","] + header ";" + escaped text + dict + userdata + sysdata`, in one datagram or in
// `ncfrag` fragments. Measured first (nothing written, nothing consumed), then written.
import { F_RELEASE, MAX_PRINT_CHUNK, TGT_CNT_TRUNCATED, TGT_FLAGS, TGT_REL, TGT_REL_LEN, TGT_RSEQ, TGT_RSEQ_DEC, TGT_RT_ACKED, TGT_RT_HEARD, TGT_UD_ACTIVE, TGT_UD_LEN, THR_RHDR, THR_SYS, UD_BUF_SIZE, USERDATA_OFF } from './layout';
import { copyShort, cutEscaped, DEC_DIGITS, decCached, decLen, putByte, putDec, putLit } from './fmt';
import { descAt, descLen, ensureEscaped, ensureHeader, escAt, escFull, escLen, hdrAt, hdrLen, maxTotal, putHeaderWithSeq, renderSysdata, sysdataLen, thr } from './record';
import { bump, datagramBegin, datagramEnd, delivered, measured, messageBegin, msgCount } from './slots';
import { isReliable } from './retain';

// The message measured last; its data is four segments copied on demand: escaped text (cut),
// "\n" + dict, userdata, sysdata (rendered at THR_SYS when written).
let relLen: i32 = 0;
let prefixLen: i32 = 0;
let total: i32 = 0;
let seg0Len: i32 = 0;
let seg2: usize = 0;
let seg2Len: i32 = 0;
let seg3Len: i32 = 0;
let truncated: bool = false;
// A reliable target (retain.ts): its header carries the target's own seq, not the record's, and,
// until the receiver first replied, `,ncfirst=<the first seq not acked>` (docs/reliable.md: a
// receiver starts a stream at the first seq it sees; this tells it where the stream began, so it
// asks for messages lost before that one). Formatted at measure time into THR_RHDR (rhdrLen
// bytes): the host may set RT_HEARD meanwhile, and every datagram of the message must carry the
// same prefix. The seq is taken (TGT_RSEQ) when the message is written.
let reliable: bool = false;
let rhdrLen: i32 = 0;

@inline function fragHeaderLen(prefix: i32, sent: i32, all: i32): i32 {
  return prefix + 8 + decLen(<u64>sent) + 1 + decLen(<u64>all) + 1; // ",ncfrag=" sent "/" total ";"
}

/** Measures target `t`'s message, the `ahead`-th from now (msgid digits). */
export function measureExtended(t: i32, tp: usize, ahead: u32): void {
  ensureEscaped();
  relLen = load<i32>(tp + TGT_FLAGS) & F_RELEASE ? load<i32>(tp + TGT_REL_LEN) + 1 : 0;
  seg2 = USERDATA_OFF + (<usize>t * 2 + <usize>load<i32>(tp + TGT_UD_ACTIVE)) * UD_BUF_SIZE;
  seg2Len = load<i32>(tp + TGT_UD_LEN);
  seg3Len = sysdataLen(tp, ahead);
  // docs/wire.md 3.4: cap the escaped text so that total <= maxTotal, never splitting an escape.
  const fixed = descLen + seg2Len + seg3Len;
  seg0Len = cutEscaped(escAt, escLen, maxTotal - fixed);
  truncated = !escFull || seg0Len < escLen;
  total = seg0Len + fixed;
  reliable = isReliable(tp);
  if (reliable) {
    // Its header, formatted here once for all its datagrams (THR_RHDR): its own seq, stepped in
    // place (fmt.ts decCached), and ncfirst until the receiver replied.
    const rseq = load<u64>(tp + TGT_RSEQ) + <u64>ahead;
    const digits = tp + TGT_RSEQ_DEC;
    const n = decCached(digits, rseq);
    let p = putHeaderWithSeq(thr + THR_RHDR, digits + DEC_DIGITS, n);
    if (atomic.load<i32>(tp + TGT_RT_HEARD) == 0) p = putDec(putLit(p, ',ncfirst='), atomic.load<u64>(tp + TGT_RT_ACKED));
    rhdrLen = <i32>(p - (thr + THR_RHDR));
    prefixLen = relLen + rhdrLen;
  } else {
    ensureHeader();
    prefixLen = relLen + hdrLen;
  }
  const whole = prefixLen + 1 + total;
  if (whole <= MAX_PRINT_CHUNK) return measured(1, whole, whole);
  // Fragments (docs/wire.md 3.3): every one but the last is exactly MAX_PRINT_CHUNK bytes.
  let count = 0;
  let last = 0;
  for (let sent = 0; sent < total; count++) {
    const h = fragHeaderLen(prefixLen, sent, total);
    const n = total - sent < MAX_PRINT_CHUNK - h ? total - sent : MAX_PRINT_CHUNK - h;
    last = h + n;
    sent += n;
  }
  measured(count, MAX_PRINT_CHUNK, last);
}

/** Copies data[from, from+n) to dst. */
function copyData(dst: usize, from: i32, n: i32): usize {
  let base = 0;
  for (let s = 0; s < 4 && n > 0; s++) {
    let src: usize;
    let len: i32;
    if (s == 0) {
      src = escAt;
      len = seg0Len;
    } else if (s == 1) {
      src = descAt;
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
function putPrefix(p: usize, tp: usize): usize {
  if (relLen > 0) {
    memory.copy(p, tp + TGT_REL, <usize>(relLen - 1));
    p = putByte(p + <usize>(relLen - 1), 0x2c);
  }
  if (reliable) {
    copyShort(p, thr + THR_RHDR, <usize>rhdrLen);
    return p + <usize>rhdrLen;
  }
  memory.copy(p, hdrAt, <usize>hdrLen);
  return p + <usize>hdrLen;
}

/** Writes the message measured last (its room planned); consumes its msgid. */
export function writeExtended(tp: usize, report: bool): void {
  renderSysdata(tp, thr + THR_SYS); // seg3Len bytes, as measured
  messageBegin(report);
  if (prefixLen + 1 + total <= MAX_PRINT_CHUNK) {
    const len = prefixLen + 1 + total;
    const d = datagramBegin(len);
    copyData(putByte(putPrefix(d, tp), 0x3b), 0, total);
    datagramEnd(len);
    if (truncated) bump(tp + TGT_CNT_TRUNCATED, 1);
    if (reliable) bump(tp + TGT_RSEQ, 1); // the sender keeps it (retain.ts)
    return delivered(tp, 1, len, report);
  }
  let bytes = 0;
  for (let sent = 0; sent < total; ) {
    const h = fragHeaderLen(prefixLen, sent, total);
    const n = total - sent < MAX_PRINT_CHUNK - h ? total - sent : MAX_PRINT_CHUNK - h;
    let p = datagramBegin(h + n);
    p = putPrefix(p, tp);
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
  if (reliable) bump(tp + TGT_RSEQ, 1);
  delivered(tp, msgCount, bytes, report);
}
