// The transmit ring, producer side. Writers (under the spinlock) plan, then fill slots, then
// publish RING_HEAD once per record; the sender (native thread or the host's dgram fallback)
// consumes slots up to RING_HEAD and publishes RING_TAIL. See layout.ts for the slot format.
//
// Whole or nothing (docs/locking.md invariant 6): a target's datagrams for one message are planned
// before any is written, and the message is dropped (and counted) when they do not all fit.
// A full ring never blocks a writer under the lock (invariant 7): with REC_WAIT the writer plans
// the whole record first (unless the ring has room for write.ts recordBound) and, when it does
// not fit, returns without writing; it waits for room outside the lock (src/core/room.ts) and
// tries again.
import {
  GEO_RING_SIZE,
  K_PAD,
  RING_HEAD,
  RING_OFF,
  RING_TAIL,
  SLOT_GEN,
  SLOT_HDR,
  SLOT_KIND,
  SLOT_LEN,
  SLOT_AUX,
  SLOT_ALIGN,
  SLOT_TARGET,
} from './layout';

// Per-instance (= per-thread) state of the record being written. Valid only under the lock.
let ringSize: u64 = 0;
let ringMask: u64 = 0;
let wHead: u64 = 0; // where the next slot goes (not yet published)
let wTail: u64 = 0; // consumer position seen at the start of the record
let slotAt: usize = 0; // address of the slot being filled

export function ringAttach(): void {
  ringSize = <u64>load<u32>(GEO_RING_SIZE);
  ringMask = ringSize - 1;
}

export function ringReady(): bool {
  return ringSize != 0;
}

/** The ring bytes of a slot of `len` payload bytes (the sender's side steps by the same). */
@inline export function slotBytes(len: i32): u64 {
  return <u64>SLOT_HDR + ((<u64>len + <u64>SLOT_ALIGN - 1) & ~(<u64>SLOT_ALIGN - 1));
}

/** Where a slot of `size` bytes starting at or after `pos` begins: past a PAD when it would wrap. */
@inline function place(pos: u64, size: u64): u64 {
  const off = pos & ringMask;
  return off + size > ringSize ? pos + (ringSize - off) : pos;
}

export function ringBegin(): void {
  wHead = atomic.load<u64>(RING_HEAD);
  wTail = atomic.load<u64>(RING_TAIL);
}

/** Where `count` slots placed from `pos` end: every one of `len` bytes but the last, of `lastLen`. */
export function ringPlan(pos: u64, count: i32, len: i32, lastLen: i32): u64 {
  const full = slotBytes(len);
  for (let i = 0; i < count - 1; i++) pos = place(pos, full) + full;
  const last = slotBytes(lastLen);
  return place(pos, last) + last;
}

/** Whether `count` slots (as ringPlan) fit after what this record already wrote. */
export function ringFits(count: i32, len: i32, lastLen: i32): bool {
  return ringRoom(ringPlan(wHead, count, len, lastLen));
}

/** Whether a plan ending at `end` fits the room the consumer left. The consumer only frees
 *  space, so a plan that fits stays true. */
export function ringRoom(end: u64): bool {
  return end - wTail <= ringSize;
}

/** Where the next slot of this record goes (plans start here). */
export function ringCursor(): u64 {
  return wHead;
}

/** The consumer position the record fits from, for a plan ending at `end`. */
export function ringNeed(end: u64): u64 {
  return end - ringSize;
}

export function ringBytes(): u64 {
  return ringSize;
}

/** Starts a slot of `len` payload bytes (space was planned); returns the payload address. */
export function slotBegin(target: i32, kind: u16, gen: u32, len: i32): usize {
  // kind carries KF_* flags above K_MASK
  const size = slotBytes(len);
  const at = place(wHead, size);
  if (at != wHead) {
    const pad = RING_OFF + <usize>(wHead & ringMask);
    store<u32>(pad + SLOT_LEN, <u32>(at - wHead) - <u32>SLOT_HDR);
    store<u16>(pad + SLOT_TARGET, 0xffff);
    store<u16>(pad + SLOT_KIND, K_PAD);
    store<u32>(pad + SLOT_GEN, 0);
    store<u32>(pad + SLOT_AUX, <u32>wHead);
  }
  slotAt = RING_OFF + <usize>(at & ringMask);
  store<u32>(slotAt + SLOT_LEN, <u32>len);
  store<u16>(slotAt + SLOT_TARGET, <u16>target);
  store<u16>(slotAt + SLOT_KIND, kind);
  store<u32>(slotAt + SLOT_GEN, gen);
  store<u32>(slotAt + SLOT_AUX, <u32>at);
  wHead = at + size;
  return slotAt + SLOT_HDR;
}

/** Makes the record's slots visible to the sender (the caller then wakes it if it sleeps:
 *  Core.wakeSender, layout.ts "Waking the sender"). */
export function ringPublish(): void {
  atomic.store<u64>(RING_HEAD, wHead);
}

