// What a target's next in-band loss report tells (write.ts writes it before the next record that
// reaches the target, "** N messages dropped **"): the messages it lost that no report told yet
// (dropped, skipped, and those the sender could not send), and a reliable target's messages
// pushed out of its retention unacked (retain.ts), told at most once a second.
import {
  TGT_CNT_DROPPED,
  TGT_CNT_REPORTED,
  TGT_CNT_REPORT_LOST,
  TGT_CNT_SKIPPED,
  TGT_CNT_TX_LOST,
  TGT_CNT_UNACKED,
  TGT_CNT_UNACKED_REPORTED,
  TGT_RT_REPORTED_AT,
} from './layout';
import { ts } from './record';
import { isReliable } from './retain';

/** Messages target tp lost and no report has told yet: a report the sender lost told nothing. A
 *  reliable target (retain.ts) keeps what the sender could not send, its reports included, and
 *  resends them when asked: its losses are the messages never written (dropped, skipped). */
@inline export function unreported(tp: usize): u64 {
  const lost = load<u64>(tp + TGT_CNT_DROPPED) + load<u64>(tp + TGT_CNT_SKIPPED);
  if (isReliable(tp)) return lost - load<u64>(tp + TGT_CNT_REPORTED);
  return lost + atomic.load<u64>(tp + TGT_CNT_TX_LOST) + atomic.load<u64>(tp + TGT_CNT_REPORT_LOST) - load<u64>(tp + TGT_CNT_REPORTED);
}

/** A reliable target's messages pushed out of its retention unacked that no report told yet. */
@inline export function unackedUnreported(tp: usize): u64 {
  return atomic.load<u64>(tp + TGT_CNT_UNACKED) - load<u64>(tp + TGT_CNT_UNACKED_REPORTED);
}

/** Unacked messages are told at most once a second (with drops, at once): a receiver gone for
 *  good would otherwise have a report before every record once the retention is full. */
const UNACKED_REPORT_USEC: u64 = 1000000;

// What the report reportable() sized last tells: rptDropped losses, rptUnacked unacked messages.
export let rptDropped: u64 = 0;
export let rptUnacked: u64 = 0;

@inline function capU32(n: u64): u64 {
  return n < <u64>u32.MAX_VALUE ? n : <u64>u32.MAX_VALUE;
}

/** What target tp's next report tells, in all (0: no report now): its unreported losses and,
 *  when due, its unreported unacked messages, each at most 2^32 - 1 (SLOT_AUX is a u32; the rest
 *  is told by the next one). Sets rptDropped and rptUnacked for the report that follows. */
@inline export function reportable(tp: usize): u64 {
  rptDropped = capU32(unreported(tp));
  rptUnacked = 0;
  const u = unackedUnreported(tp);
  if (u != 0 && (rptDropped != 0 || ts - load<u64>(tp + TGT_RT_REPORTED_AT) >= UNACKED_REPORT_USEC)) rptUnacked = capU32(u);
  return rptDropped + rptUnacked;
}
