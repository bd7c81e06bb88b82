// Per source: which recent sequence numbers arrived, after libncrx's reorder slots
// (get_seq_slot, queue_oos_msg) with netconsd's parameters (worker.c: 512 slots; ncrx.h:
// oos_intv 5 s, oos_thr 19 of the last 32). It decides, for each message, whether to print it:
//
//   new        seq after the highest seen, within the window; a jump is a gap (not libncrx's
//              word: it asks for retransmission of the missing seqs, we report them)
//   late       within the window below the highest, not seen yet: printed (libncrx prints it
//              while its slot waits, drops it once the slot timed out; we always print it)
//   duplicate  N16: seen less than 5 s ago (libncrx get_seq_slot: ENOENT), not printed
//   oos        N18: outside the window, or seen more than 5 s ago: out of sequence, printed
//              flagged (libncrx ERANGE, the [OOS] of netconsd's printer)
//   reset      N18: 19 of the last 32 messages were out of sequence: the window restarts at
//              this seq (libncrx queue_oos_msg resets the stream; the source rebooted)

/** worker.c ncrx_param.nr_slots: the reorder window, in messages. */
export const SEQ_WINDOW = 512;
/** ncrx.h NCRX_DFL_OOS_INTV: a repeat older than this is out of sequence, not a duplicate. */
export const OOS_INTERVAL_MS = 5000;
/** ncrx.h NCRX_DFL_OOS_THR: this many out-of-sequence messages among the last 32 reset the stream. */
export const OOS_THRESHOLD = 19;

export type SeqVerdict = { kind: 'new'; gapFrom?: bigint } | { kind: 'late' | 'duplicate' | 'oos' | 'reset' };

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

export class SeqWindow {
  /** The highest seq of the current stream; -1 before the first. */
  private head = -1n;
  /** When each seq of (head - 512, head] arrived (performance.now() ms), or UNSEEN. */
  private readonly seenAt = new Float64Array(SEQ_WINDOW).fill(UNSEEN);
  /** One bit per message, newest lowest: was it out of sequence (libncrx oos_history). */
  private oosHistory = 0;

  see(seq: bigint, now: number): SeqVerdict {
    this.oosHistory = (this.oosHistory << 1) >>> 0;
    if (this.head < 0n) return this.restart(seq, now, 'new');
    const d = seq - this.head;
    if (d > 0n && d <= W) {
      this.forget(this.head + 1n, Number(d) - 1);
      const gapFrom = d > 1n ? this.head + 1n : undefined;
      this.head = seq;
      this.seenAt[slot(seq)] = now;
      return gapFrom === undefined ? { kind: 'new' } : { kind: 'new', gapFrom };
    }
    if (d <= 0n && d > -W) {
      const at = this.seenAt[slot(seq)];
      if (at === UNSEEN) {
        this.seenAt[slot(seq)] = now;
        return { kind: 'late' };
      }
      if (now - at < OOS_INTERVAL_MS) return { kind: 'duplicate' };
    }
    this.oosHistory |= 1;
    return popcount(this.oosHistory) >= OOS_THRESHOLD ? this.restart(seq, now, 'reset') : { kind: 'oos' };
  }

  private restart(seq: bigint, now: number, kind: 'new' | 'reset'): SeqVerdict {
    this.seenAt.fill(UNSEEN);
    this.head = seq;
    this.seenAt[slot(seq)] = now;
    return { kind };
  }

  /** Marks `count` (< 512) seqs from `from` on as not arrived: the window moves over them. */
  private forget(from: bigint, count: number): void {
    const start = slot(from);
    const first = Math.min(count, SEQ_WINDOW - start);
    this.seenAt.fill(UNSEEN, start, start + first);
    if (count > first) this.seenAt.fill(UNSEEN, 0, count - first); // wrapped around
  }
}
