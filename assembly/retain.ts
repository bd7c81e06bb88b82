// Reliable targets' retention (F_RELIABLE; layout.ts TGT_RSEQ .. TGT_CNT_UNACKED_REPORTED;
// docs/reliable.md): every message written to such a target is also kept, whole and unfragmented,
// in the target's region, so that the host can resend it when the receiver asks for it (or when
// acks stop). Under the target-list spinlock, like the rest of the write path; the host reads
// entries without the lock and checks afterwards that RT_TAIL did not pass them.
//
// The region: an index of RT_SLOTS u64 positions (seq % RT_SLOTS -> where the entry of that seq
// starts), then RT_SIZE bytes of entries written one after the other as a ring of byte positions
// (u64, since the first enable). The oldest entries are pushed out when a new one needs the room
// or when RT_SLOTS are kept; one the receiver has not acked (seq >= RT_ACKED) is counted:
// UNACKED once the receiver has replied (told in-band by write.ts), UNHEARD before (a receiver
// that never replies, netconsd, would otherwise have every record followed by a report).
import {
  F_RELIABLE,
  LOST_TOTAL,
  RT_ENTRY_HDR,
  RT_ENTRY_LEN,
  RT_ENTRY_PREFIX,
  RT_ENTRY_SEQ,
  RT_PAD,
  TGT_CNT_UNACKED,
  TGT_CNT_UNHEARD,
  TGT_FLAGS,
  TGT_RT_ACKED,
  TGT_RT_BASE,
  TGT_RT_COUNT,
  TGT_RT_HEAD,
  TGT_RT_HEARD,
  TGT_RT_SIZE,
  TGT_RT_SLOTS,
  TGT_RT_TAIL,
} from './layout';
import { bump } from './slots';

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
    if (load<u64>(e + RT_ENTRY_SEQ) >= atomic.load<u64>(tp + TGT_RT_ACKED)) {
      if (atomic.load<i32>(tp + TGT_RT_HEARD) != 0) {
        bump(tp + TGT_CNT_UNACKED, 1);
        atomic.add<u64>(LOST_TOTAL, 1); // write.ts lossesToReport looks again
      } else {
        bump(tp + TGT_CNT_UNHEARD, 1);
      }
    }
    tail += entryBytes(len);
    store<u32>(tp + TGT_RT_COUNT, load<u32>(tp + TGT_RT_COUNT) - 1);
  }
  atomic.store<u64>(tp + TGT_RT_TAIL, tail);
}

// The entry being written.
let eHead: u64 = 0;

/**
 * Makes room in tp's region for the message of `seq` (`msgLen` bytes, the first `prefixLen` of
 * them "[release,]header"), pushing the oldest out as needed, and writes the entry's header.
 * Returns where the message's bytes go, or 0 when it cannot be kept (longer than the region: the
 * host's bounds make that impossible; counted as pushed out).
 */
export function retainBegin(tp: usize, seq: u64, prefixLen: i32, msgLen: i32): usize {
  const index = <usize>load<u32>(tp + TGT_RT_BASE);
  const slots = <u64>load<u32>(tp + TGT_RT_SLOTS);
  const size = <u64>load<u32>(tp + TGT_RT_SIZE);
  const ring = index + <usize>(slots << 3);
  const need = entryBytes(<u32>msgLen);
  if (need > size) {
    bump(tp + TGT_CNT_UNHEARD, 1);
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

/** The entry retainBegin opened is written: it is kept from now on. */
export function retainEnd(tp: usize): void {
  store<u32>(tp + TGT_RT_COUNT, load<u32>(tp + TGT_RT_COUNT) + 1);
  atomic.store<u64>(tp + TGT_RT_HEAD, eHead);
}
