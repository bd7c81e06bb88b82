// The parameters and the vocabulary of `netconsole listen --ack`'s acking (acks.ts holds the
// stream itself): the reply's bounds, the out-of-sequence rule's constants (libncrx), the options
// and their defaults, where a stream starts, and the answers a stream gives.
import type { ParsedDatagram } from './ncrx-parse.js';
/** ncrx.h NCRX_PKT_MAX: a reply's bytes at most. */
export const REPLY_MAX = 1000;
/** Replies one stream may send per tick when due holes do not fit in one: at 20% loss and 3,000
 *  messages/s, one 1,000-byte reply per tick (about 58 seqs) asked for holes a second late, and a
 *  message still missing a fragment was pushed out of the window before it was asked for often
 *  enough. 8 x 1,000 bytes per tick (20 ms at the default periods, reassembler.ts ACK_TICK_MAX_MS)
 *  is at most 400 KB/s per stream, and only while that many holes are due. */
export const REPLIES_PER_TICK = 8;
/** ncrx.h NCRX_DFL_OOS_INTV: a seq behind the tail is a duplicate if the tail moved this recently. */
export const OOS_INTERVAL_MS = 5000;
/** ncrx.h NCRX_DFL_OOS_THR: this many stale seqs among the last 32 reset the stream. */
export const OOS_THRESHOLD = 19;

export interface AckOptions {
  /** libncrx ack_intv: at most one ack per this long while the ack moves. Default 1,000 ms. */
  intervalMs?: number;
  /** libncrx retx_intv: a hole is asked for again at most this often. Default 1,000 ms. */
  retxIntervalMs?: number;
  /** libncrx retx_stride. Default 256. */
  retxStride?: number;
  /** libncrx msg_timeout: a hole is given up this long after it appeared. Default 30,000 ms. */
  msgTimeoutMs?: number;
  /** libncrx nr_slots: seqs a stream holds from its tail; a seq further ahead restarts it. Default 8,192. */
  window?: number;
  /** Seqs held (holes and waiting messages) over all streams. Default 65,536. */
  maxHeldSeqs?: number;
  /** Bytes of waiting messages over all streams. Default 16 MiB. */
  maxHeldBytes?: number;
  /** Seqs behind the tails whose printed message is remembered (a 4-byte fingerprint each, to know
   *  a resend of it), over all streams. Default 1,048,576 (4 MiB: 128 full windows). */
  maxRememberedSeqs?: number;
}

export type AckParams = Required<AckOptions>;

/**
 * The first seq of a stream that starts with datagram `d`: its own, as libncrx starts one; or,
 * when the sender says where its unacked messages begin (`ncfirst`, sent by this library's
 * reliable targets until their receiver first replied; docs/reliable.md), there, at most
 * window - 1 seqs back. The seqs between are holes, asked for like any other: without this, a
 * message lost before the first one that arrives is never known to be missing.
 */
export function streamStart(d: ParsedDatagram, window: number): bigint {
  const seq = BigInt(d.seq!);
  if (d.first === undefined) return seq;
  const first = BigInt(d.first);
  if (first >= seq) return seq;
  const back = BigInt(window - 1);
  return seq - first > back ? seq - back : first;
}

export function ackParams(o: AckOptions): AckParams {
  return {
    intervalMs: o.intervalMs ?? 1000,
    retxIntervalMs: o.retxIntervalMs ?? 1000,
    retxStride: o.retxStride ?? 256,
    msgTimeoutMs: o.msgTimeoutMs ?? 30_000,
    window: o.window ?? 8192,
    maxHeldSeqs: o.maxHeldSeqs ?? 65_536,
    maxHeldBytes: o.maxHeldBytes ?? 16 << 20,
    maxRememberedSeqs: o.maxRememberedSeqs ?? 1 << 20,
  };
}

/** What all streams of a receiver hold, against the totals. */
export interface AckBudget {
  seqs: number;
  bytes: number;
  /** Fingerprints of printed messages kept behind the tails (AckStream.remember). */
  remembered: number;
}

export type LostReason = 'timeout' | 'pushed' | 'restart' | 'closed';

/** What leaves a stream, in seq order. */
export type Retired =
  | { kind: 'message'; head: ParsedDatagram; body: Buffer; incomplete: boolean; oos: boolean }
  | { kind: 'lost'; seq: bigint; count: number; reason: LostReason };

export type PushResult = 'held' | 'duplicate' | 'refused' | 'oos' | 'restart';
