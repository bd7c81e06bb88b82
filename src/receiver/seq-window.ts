// Per source: which recent sequence numbers arrived, after libncrx's reorder slots
// (get_seq_slot, queue_oos_msg) with netconsd's parameters (worker.c: 512 slots; ncrx.h:
// oos_intv 5 s, oos_thr 19 of the last 32), except for a jump past the window (below). It
// decides, for each message, whether to print it:
//
//   new        seq after the highest seen, within the window; a jump is a gap (not libncrx's
//              word: it asks for retransmission of the missing seqs, we report them)
//   late       within the window below the highest, not seen yet: printed (libncrx prints it
//              while its slot waits, drops it once the slot timed out; we always print it)
//   duplicate  N16: seen less than 5 s ago (libncrx get_seq_slot: ENOENT), not printed
//   oos        N18: seen more than 5 s ago: a stale repeat, printed flagged (libncrx ERANGE,
//              the [OOS] of netconsd's printer)
//   reset      N18: 19 of the last 32 messages were out of sequence: the window restarts at
//              this seq (libncrx queue_oos_msg resets the stream)
//   restart    N19: more than 512 away from the highest seq, forward or back: the sender
//              restarted (a rebooted kernel starts at 0; `seqStart: 'time'` starts at the
//              clock, far above its last run). A new stream at once, printed unflagged, no gap.
//
// N19 is where we differ from libncrx. libncrx takes a seq past its window for out of sequence
// (ERANGE) and holds it on its oos list for oos_timeout (netconsd: NETCONS_RTO, 200 ms); when 19
// of the last 32 messages were out of sequence it starts a new stream at the lowest one held and
// prints those in sequence, unflagged; a held one that timed out first is printed [OOS]. So after
// a restart netconsd prints a burst of 19 or more unflagged, but a slow trickle's first 18 [OOS].
// We print each message as it arrives and cannot hold it, so a far jump starts a new stream at
// once. The stream it left is kept: a seq within its window goes back to it, so two senders
// behind one address and port (two processes sharing local_port 6665; netconsd keys sources by
// address alone, so there a host's kernel and its applications too) are two streams, each with
// its own gaps, not a restart per message. A sender that restarts at seqs it sent before (a
// fixed seqStart) cannot be told from repeats: like netconsd, those are dropped as duplicates
// (within 5 s) or flagged out of sequence.

/** worker.c ncrx_param.nr_slots: the reorder window, in messages. */
export const SEQ_WINDOW = 512;
/** ncrx.h NCRX_DFL_OOS_INTV: a repeat older than this is out of sequence, not a duplicate. */
export const OOS_INTERVAL_MS = 5000;
/** ncrx.h NCRX_DFL_OOS_THR: this many out-of-sequence messages among the last 32 reset the stream. */
export const OOS_THRESHOLD = 19;
/** N19: the streams kept per source (the current one and the one it left). */
export const STREAMS_KEPT = 2;

export type SeqVerdict =
  | { kind: 'new'; gapFrom?: bigint }
  | { kind: 'late' | 'duplicate' | 'oos' | 'reset' }
  | { kind: 'restart'; from: bigint };

const UNSEEN = -1;
const W = BigInt(SEQ_WINDOW);

function slot(seq: bigint): number {
  return Number(BigInt.asUintN(9, seq)); // seq mod 512
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

/** One sequence stream: its highest seq and when each seq of (head - 512, head] arrived. */
class Stream {
  readonly seenAt = new Float64Array(SEQ_WINDOW).fill(UNSEEN);

  constructor(
    public head: bigint,
    now: number,
  ) {
    this.seenAt[slot(head)] = now;
  }

  /** Is `seq` within this stream's window, ahead or behind? */
  holds(seq: bigint): boolean {
    const d = seq - this.head;
    return d <= W && d > -W;
  }

  /** The verdict for `seq`, which it holds; undefined when it is a stale repeat (out of sequence). */
  see(seq: bigint, now: number): SeqVerdict | undefined {
    const d = seq - this.head;
    if (d > 0n) {
      this.forget(this.head + 1n, Number(d) - 1);
      const gapFrom = d > 1n ? this.head + 1n : undefined;
      this.head = seq;
      this.seenAt[slot(seq)] = now;
      return gapFrom === undefined ? { kind: 'new' } : { kind: 'new', gapFrom };
    }
    const at = this.seenAt[slot(seq)];
    if (at === UNSEEN) {
      this.seenAt[slot(seq)] = now;
      return { kind: 'late' };
    }
    return now - at < OOS_INTERVAL_MS ? { kind: 'duplicate' } : undefined;
  }

  /** Marks `count` (< 512) seqs from `from` on as not arrived: the window moves over them. */
  private forget(from: bigint, count: number): void {
    const start = slot(from);
    const first = Math.min(count, SEQ_WINDOW - start);
    this.seenAt.fill(UNSEEN, start, start + first);
    if (count > first) this.seenAt.fill(UNSEEN, 0, count - first); // wrapped around
  }
}

export class SeqWindow {
  /** The current stream first, then the ones it left (N19), at most STREAMS_KEPT. */
  private streams: Stream[] = [];
  /** One bit per message, newest lowest: was it out of sequence (libncrx oos_history). */
  private oosHistory = 0;

  see(seq: bigint, now: number): SeqVerdict {
    this.oosHistory = (this.oosHistory << 1) >>> 0;
    let i = 0;
    while (i < this.streams.length && !this.streams[i].holds(seq)) i++;
    if (i === this.streams.length) {
      // N19: a new stream. The first of a source is 'new'.
      const from = this.streams[0]?.head;
      this.streams = [new Stream(seq, now), ...this.streams].slice(0, STREAMS_KEPT);
      this.oosHistory = 0;
      return from === undefined ? { kind: 'new' } : { kind: 'restart', from };
    }
    if (i > 0) this.streams.unshift(...this.streams.splice(i, 1)); // back to a stream it left
    const verdict = this.streams[0].see(seq, now);
    if (verdict) return verdict;
    this.oosHistory |= 1;
    if (popcount(this.oosHistory) < OOS_THRESHOLD) return { kind: 'oos' };
    this.streams[0] = new Stream(seq, now);
    return { kind: 'reset' };
  }
}
