// Reliable targets' retention (F_RELIABLE; layout.ts TGT_RSEQ .. TGT_CNT_UNACKED_REPORTED;
// docs/reliable.md): every message written to such a target is also kept, whole and unfragmented,
// in the target's region, so that the host can resend it when the receiver asks for it (or when
// acks stop).
//
// Kept by the sender, not by the writer: the log call only numbers the message (TGT_RSEQ, under
// the spinlock) and writes its datagrams into the ring as for any target. The sender, when it is
// done with slots (sent or lost) and before it publishes RING_TAIL past them, copies a reliable
// target's datagrams into its region (retain_range): the copy and the push-outs cost the sender's
// thread, not the caller's. RING_TAIL moves past every slot exactly once, in ring order, which is
// the order of the target's seqs. This is the dgram sender's copy (the host calls retain_range from
// Core.publishTail); native/retain.cc is the addon's, the same steps in the same memory
// (test/retain-native.test.ts compares the two byte for byte). One sender at a time: the region
// has one writer. The host reads entries without a lock: it checks that RT_HEAD passed an entry
// before copying it, and that RT_TAIL did not pass it after.
//
// The region: an index of RT_SLOTS u64 positions (seq % RT_SLOTS -> where the entry of that seq
// starts), then RT_SIZE bytes of entries written one after the other as a ring of byte positions
// (u64, since the first enable). The oldest entries are pushed out when a new one needs the room
// or when RT_SLOTS are kept, and RT_PUSHED moves past them. A push-out is no loss: the message may
// well have arrived, and only the receiver can tell. The host counts one lost (UNACKED, told
// in-band by write.ts) when the receiver asks for it after it was pushed out, or falls silent
// before acking it (host/reliable.ts). Here a push-out before the receiver ever replied is counted
// UNHEARD: how many messages a receiver that never replies (netconsd) could not have asked for.
import {
  ADDR_FAMILY,
  F_RELEASE,
  F_RELIABLE,
  GEO_RING_SIZE,
  K_FRAME,
  K_MASK,
  K_PAD,
  MAX_TARGETS,
  RING_OFF,
  RT_ENTRY_HDR,
  RT_ENTRY_LEN,
  RT_ENTRY_PREFIX,
  RT_ENTRY_SEQ,
  RT_PAD,
  SLOT_GEN,
  SLOT_HDR,
  SLOT_KIND,
  SLOT_LEN,
  SLOT_TARGET,
  TGT_ADDR,
  TGT_CNT_UNHEARD,
  TGT_FLAGS,
  TGT_GEN,
  TGT_REL_LEN,
  TGT_RT_ACKED,
  TGT_RT_BASE,
  TGT_RT_COUNT,
  TGT_RT_HEAD,
  TGT_RT_HEARD,
  TGT_RT_PUSHED,
  TGT_RT_SIZE,
  TGT_RT_SLOTS,
  TGT_RT_TAIL,
} from './layout';
import { frameOverhead } from './frame';
import { targetAt } from './offsets';
import { slotBytes } from './ring';

/** Whether target tp keeps its messages for resending (and numbers its own). */
@inline export function isReliable(tp: usize): bool {
  return (load<i32>(tp + TGT_FLAGS) & F_RELIABLE) != 0;
}

@inline function entryBytes(msgLen: u32): u64 {
  return (<u64>RT_ENTRY_HDR + <u64>msgLen + 7) & ~7;
}

/** Pushes the oldest entry (or the pad at the tail) out of tp's region. */
function popOldest(tp: usize, ring: usize, size: u64): void {
  let tail = load<u64>(tp + TGT_RT_TAIL);
  const off = tail % size;
  const e = ring + <usize>off;
  const len = size - off < <u64>RT_ENTRY_HDR ? RT_PAD : load<u32>(e + RT_ENTRY_LEN);
  if (len == RT_PAD) {
    tail += size - off;
  } else {
    const seq = load<u64>(e + RT_ENTRY_SEQ);
    if (seq >= atomic.load<u64>(tp + TGT_RT_ACKED) && atomic.load<i32>(tp + TGT_RT_HEARD) == 0)
      atomic.add<u64>(tp + TGT_CNT_UNHEARD, 1);
    atomic.store<u64>(tp + TGT_RT_PUSHED, seq + 1);
    tail += entryBytes(len);
    atomic.store<u32>(tp + TGT_RT_COUNT, load<u32>(tp + TGT_RT_COUNT) - 1);
  }
  atomic.store<u64>(tp + TGT_RT_TAIL, tail);
}

// The entry being written: where it ends, and (a fragmented message, kept fragment by fragment)
// whose it is, where its data goes and how much of it came.
let eHead: u64 = 0;
let eTarget: i32 = -1;
let eSeq: u64 = 0;
let eData: usize = 0;
let eFilled: i32 = 0;
let eTotal: i32 = 0;

/**
 * Makes room in tp's region for the message of `seq` (`msgLen` bytes, the first `prefixLen` of
 * them "[release,]header"), pushing the oldest out as needed, and writes the entry's header.
 * Returns where the message's bytes go, or 0 when it cannot be kept (longer than the region: the
 * host's bounds make that impossible; counted as pushed out).
 */
function retainBegin(tp: usize, seq: u64, prefixLen: i32, msgLen: i32): usize {
  const index = <usize>load<u32>(tp + TGT_RT_BASE);
  const slots = <u64>load<u32>(tp + TGT_RT_SLOTS);
  const size = <u64>load<u32>(tp + TGT_RT_SIZE);
  const ring = index + <usize>(slots << 3);
  const need = entryBytes(<u32>msgLen);
  if (need > size) {
    atomic.add<u64>(tp + TGT_CNT_UNHEARD, 1); // RT_PUSHED passes it with the next push-out
    return 0;
  }
  let head = load<u64>(tp + TGT_RT_HEAD);
  let at: u64 = 0;
  for (;;) {
    if (load<u32>(tp + TGT_RT_COUNT) == 0) {
      // Empty: start afresh at the head, or at the region's start when the entry would not fit
      // before its end (no pad needed: nothing is kept behind it).
      const off = head % size;
      if (off + need > size) head += size - off;
      atomic.store<u64>(tp + TGT_RT_TAIL, head);
    }
    const off = head % size;
    at = off + need > size ? head + (size - off) : head;
    if (<u64>load<u32>(tp + TGT_RT_COUNT) < slots && at + need - load<u64>(tp + TGT_RT_TAIL) <= size) break;
    popOldest(tp, ring, size);
  }
  if (at != head && size - head % size >= <u64>RT_ENTRY_HDR) store<u32>(ring + <usize>(head % size) + RT_ENTRY_LEN, RT_PAD);
  const e = ring + <usize>(at % size);
  store<u32>(e + RT_ENTRY_LEN, <u32>msgLen);
  store<u32>(e + RT_ENTRY_PREFIX, <u32>prefixLen);
  store<u64>(e + RT_ENTRY_SEQ, seq);
  store<u64>(index + <usize>((seq % slots) << 3), at);
  eHead = at + need;
  return e + RT_ENTRY_HDR;
}

/** The entry retainBegin opened is written: it is kept from now on (the host reads up to RT_HEAD). */
function retainEnd(tp: usize): void {
  atomic.store<u32>(tp + TGT_RT_COUNT, load<u32>(tp + TGT_RT_COUNT) + 1);
  atomic.store<u64>(tp + TGT_RT_HEAD, eHead);
}

@inline function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

// What the datagram retainDatagram looked at last says (parse).
let dSeq: u64 = 0;
let dPrefix: i32 = 0; // bytes of "[release,]header" (before ",ncfrag=" or the ';')
let dData: i32 = 0; // where the data starts (past the ';')
let dOff: i32 = 0; // ncfrag: where this fragment's data goes in the message
let dTotal: i32 = -1; // ncfrag: the message's data length; -1: not a fragment

/** Reads a reliable target's datagram `p` (n bytes) as the write path made it
 *  (extended.ts: "[release,]prio,seq,ts,flag[,ncfirst=N][,ncfrag=off/total];data"); false when
 *  it is not one (nothing is kept). */
function parse(p: usize, n: i32, relLen: i32): bool {
  let i = relLen;
  while (i < n && isDigit(load<u8>(p + <usize>i))) i++; // prio
  if (i >= n || load<u8>(p + <usize>i) != 0x2c) return false;
  i++;
  let seq: u64 = 0;
  const s0 = i;
  while (i < n && isDigit(load<u8>(p + <usize>i))) {
    seq = seq * 10 + <u64>(load<u8>(p + <usize>i) - 0x30);
    i++;
  }
  if (i == s0 || i - s0 > 20) return false;
  let semi = i;
  let comma = -1;
  while (semi < n && load<u8>(p + <usize>semi) != 0x3b) {
    if (load<u8>(p + <usize>semi) == 0x2c) comma = semi;
    semi++;
  }
  if (semi >= n) return false;
  dSeq = seq;
  dData = semi + 1;
  dTotal = -1;
  dPrefix = semi;
  // ",ncfrag=" off "/" total: the last field before the ';' when the message is fragmented.
  if (comma < 0 || semi - comma < 11 || load<u64>(p + <usize>comma) != 0x3d67617266636e2c) return true; // ",ncfrag=" little-endian
  let k = comma + 8;
  let off: i64 = 0;
  let total: i64 = 0;
  const o0 = k;
  while (k < semi && isDigit(load<u8>(p + <usize>k)) && k - o0 < 6) {
    off = off * 10 + <i64>(load<u8>(p + <usize>k) - 0x30);
    k++;
  }
  if (k == o0 || k >= semi || load<u8>(p + <usize>k) != 0x2f) return false;
  k++;
  const t0 = k;
  while (k < semi && isDigit(load<u8>(p + <usize>k)) && k - t0 < 6) {
    total = total * 10 + <i64>(load<u8>(p + <usize>k) - 0x30);
    k++;
  }
  if (k != semi || k == t0 || off + <i64>(n - dData) > total) return false;
  dPrefix = comma;
  dOff = <i32>off;
  dTotal = <i32>total;
  return true;
}

/** Keeps target t's datagram `p` (n bytes): a whole message at once, a fragment into the entry
 *  its first fragment opened (the fragments of a message are consecutive slots, in order). */
function retainDatagram(t: i32, tp: usize, p: usize, n: i32): void {
  const flags = load<i32>(tp + TGT_FLAGS);
  if (!parse(p, n, flags & F_RELEASE ? load<i32>(tp + TGT_REL_LEN) + 1 : 0)) return;
  if (dTotal < 0) {
    eTarget = -1;
    const e = retainBegin(tp, dSeq, dPrefix, n);
    if (e == 0) return;
    memory.copy(e, p, <usize>n);
    return retainEnd(tp);
  }
  if (dOff == 0) {
    eTarget = -1;
    const e = retainBegin(tp, dSeq, dPrefix, dPrefix + 1 + dTotal);
    if (e == 0) return;
    memory.copy(e, p, <usize>dPrefix);
    store<u8>(e + <usize>dPrefix, 0x3b);
    eTarget = t;
    eSeq = dSeq;
    eData = e + <usize>dPrefix + 1;
    eFilled = 0;
    eTotal = dTotal;
  }
  // A fragment of the entry being written, the next one: else the entry stays unfinished (not
  // kept: RT_HEAD does not pass it, and the next entry is written over it).
  if (eTarget != t || eSeq != dSeq || eTotal != dTotal || eFilled != dOff) {
    eTarget = -1;
    return;
  }
  const len = n - dData;
  memory.copy(eData + <usize>dOff, p + <usize>dData, <usize>len);
  eFilled += len;
  if (eFilled < eTotal) return;
  eTarget = -1;
  retainEnd(tp);
}

/**
 * The sender is done with the ring's slots in [from, to) (sent or lost) and is about to publish
 * RING_TAIL = to: keeps the datagrams of reliable targets among them. A slot of another
 * generation than its target's now is left (the target was enabled again: its region is new).
 */
export function retainRange(from: u64, to: u64): void {
  const size = <u64>load<u32>(GEO_RING_SIZE);
  let pos = from;
  while (pos < to) {
    const at = RING_OFF + <usize>(pos & (size - 1));
    const len = load<u32>(at + SLOT_LEN);
    const kind = load<u16>(at + SLOT_KIND);
    pos += slotBytes(<i32>len);
    if ((kind & K_MASK) == K_PAD) continue;
    const t = <i32>load<u16>(at + SLOT_TARGET);
    if (t >= MAX_TARGETS) continue;
    const tp = targetAt(t);
    if (!isReliable(tp) || load<u32>(tp + TGT_RT_BASE) == 0 || load<u32>(at + SLOT_GEN) != load<u32>(tp + TGT_GEN)) continue;
    const skip = (kind & K_MASK) == K_FRAME ? frameOverhead(<i32>load<u8>(tp + TGT_ADDR + ADDR_FAMILY)) : 0;
    if (<i32>len > skip) retainDatagram(t, tp, at + SLOT_HDR + <usize>skip, <i32>len - skip);
  }
}
