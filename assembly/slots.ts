// Where the layout's per-target and per-thread records are, and the datagrams (UDP mode) or
// frames (raw mode) of one message to one target: measured first (emitters set msgCount,
// msgFull, msgLast), planned against the ring, then written slot by slot. Under the lock.
import {
  ADDR_FAMILY,
  F_RAW,
  IP_ID,
  KF_FIRST,
  KF_REPORT,
  K_DATAGRAM,
  SLOT_AUX,
  SLOT_HDR,
  K_FRAME,
  TGT_ADDR,
  TGT_CNT_BYTES,
  TGT_CNT_DATAGRAMS,
  TGT_CNT_SENT,
  TGT_FLAGS,
  TGT_GEN,
} from './layout';
import { frameBuild, frameOverhead } from './frame';
import { ringPlan, slotBegin } from './ring';
import { targetAt } from './offsets';

@inline export function bump(p: usize, by: u64): void {
  store<u64>(p, load<u64>(p) + by);
}

// The message measured last: msgCount datagrams, each of msgFull payload bytes but the last, of
// msgLast (0 datagrams: nothing to send, e.g. a basic target and an empty text).
export let msgCount: i32 = 0;
export let msgFull: i32 = 0;
export let msgLast: i32 = 0;

export function measured(count: i32, full: i32, last: i32): void {
  msgCount = count;
  msgFull = full;
  msgLast = last;
}

// The target being emitted.
let sTarget: i32 = 0;
let sGen: u32 = 0;
let sRaw: bool = false;
let sAddr: usize = 0;
let sOverhead: i32 = 0;
let sPayload: usize = 0;
let sKind: u16 = 0; // K_* | KF_* of the next slot
let sReportCount: u32 = 0; // the losses the next report tells (SLOT_AUX of its first datagram)

export function slotsFor(t: i32, tp: usize): void {
  sTarget = t;
  sGen = load<u32>(tp + TGT_GEN);
  sRaw = (load<i32>(tp + TGT_FLAGS) & F_RAW) != 0;
  sAddr = tp + TGT_ADDR;
  sOverhead = sRaw ? frameOverhead(<i32>load<u8>(sAddr + ADDR_FAMILY)) : 0;
}

/** Where the measured message's slots, placed from ring position `pos`, end. */
export function planMessage(pos: u64): u64 {
  if (msgCount == 0) return pos;
  return ringPlan(pos, msgCount, msgFull + sOverhead, msgLast + sOverhead);
}

/** The number of losses the next report tells (write.ts caps it at u32). */
export function reportCount(n: u32): void {
  sReportCount = n;
}

/** The next datagrams belong to a new message (a report, when `report`). */
export function messageBegin(report: bool): void {
  sKind = (sRaw ? K_FRAME : K_DATAGRAM) | KF_FIRST | (report ? KF_REPORT : 0);
}

/** Opens the next datagram of `len` payload bytes (its room was planned); returns where its payload goes. */
export function datagramBegin(len: i32): usize {
  const at = slotBegin(sTarget, sKind, sGen, len + sOverhead);
  if ((sKind & (KF_FIRST | KF_REPORT)) == (KF_FIRST | KF_REPORT)) store<u32>(at - SLOT_HDR + SLOT_AUX, sReportCount);
  sKind &= ~KF_FIRST;
  sPayload = at + <usize>sOverhead;
  return sPayload;
}

export function datagramEnd(len: i32): void {
  if (sRaw) {
    let id: u32 = 0;
    if (load<u8>(sAddr + ADDR_FAMILY) == 4) {
      id = load<u32>(IP_ID) + 1;
      store<u32>(IP_ID, id);
    }
    frameBuild(sAddr, sPayload - <usize>sOverhead, len, id);
  }
}

/** Counts a message written whole (a report is not one of the records `sent` counts). */
export function delivered(tp: usize, count: i32, bytes: i32, report: bool): void {
  if (!report) bump(tp + TGT_CNT_SENT, 1);
  bump(tp + TGT_CNT_DATAGRAMS, <u64>count);
  bump(tp + TGT_CNT_BYTES, <u64>bytes);
}
