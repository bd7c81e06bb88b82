// The acking half of netconsd's ncrx protocol, for one stream (one source address AND port): what
// `netconsole listen --ack` keeps per sender, after libncrx's ncrx_process (facebook/netconsd,
// ncrx/libncrx.c; docs/reliable.md tells the protocol from both sides). No I/O and no timers:
// the Reassembler feeds datagrams and ticks, and sends the replies this builds.
//
// A stream holds the seqs from `tail` (the oldest not done) to the highest seen, each a slot: a
// hole (nothing yet, or fragments missing) or a message waiting for the holes before it. Messages
// leave in seq order from the tail, once complete, or when their slot timed out (msgTimeoutMs
// after its last arrival: a hole is given up and reported lost, a partial message printed
// incomplete), or when a bound pushes them out. The ack is `tail - 1`: the last seq done.
//
// A seq behind the tail is done: a duplicate when it is an emergency resend, when the tail moved
// within OOS_INTERVAL_MS (libncrx), or, however late, when it is a copy of the message printed
// under it (a fingerprint per seq, a window back: a loaded sender answering old requests late);
// else out of sequence, printed [oos], and OOS_THRESHOLD of the last 32 restart the stream.
//
// Replies (libncrx ncrx_build_resp): `ncrx<ack>` then ` <seq>` per hole asked for, ascending, at
// most REPLY_MAX bytes. A reply goes out when the ack moved and it is `intervalMs` since the last
// one (libncrx keeps acked_at current while nothing is pending, so the first ack of a burst waits
// one interval, not less), when holes are due, or at once after an `ncemg` datagram. A hole is due
// `retxIntervalMs` after it appeared or was last asked for, and also whenever the highest seq
// crosses a multiple of `retxStride` while the hole is more than a stride behind it (libncrx: so a
// hole is asked for a number of times whatever the rate). Only holes below the highest seq seen
// are asked for: a lost last message is for the sender to notice (no ack advances past it).
// Where libncrx marks every due hole as asked even when the 1,000 bytes had no room for it, we
// mark only those sent: the rest go in another reply of the same tick (at most REPLIES_PER_TICK
// per stream; libncrx may reply to every datagram it processes), else in the next tick's. A
// crossing makes a hole due until it is asked for once after it (not only in the reply built at
// the crossing): with more holes than one reply holds, every crossing asked for the oldest ones
// again and nothing newer, so a hole waited for its first request until the retransmission
// interval (1 s), and a sender keeping less than that (at 2,000 B and 10,000 messages/s, 4 MiB is
// 0.2 s) had pushed it out by then.
import { FragmentBuffer } from './fragments.js';
import type { ParsedDatagram } from './ncrx-parse.js';
import {
  REPLY_MAX,
  streamStart,
  OOS_INTERVAL_MS,
  OOS_THRESHOLD,
  type AckParams,
  type AckBudget,
  type LostReason,
  type Retired,
  type PushResult,
} from './ack-params.js';
export * from './ack-params.js'; // the stream's vocabulary, importable from here as before

interface Slot {
  /** Last arrival on it (or when the hole appeared): the message timeout runs from here. */
  ts: number;
  /** When it was last asked for; -Infinity never. */
  retxAt: number;
  head?: ParsedDatagram;
  body?: Buffer;
  frags?: FragmentBuffer;
  cost: number;
}

function complete(s: Slot): boolean {
  return s.head !== undefined && (s.frags === undefined || s.frags.complete);
}

/**
 * What tells a message from another under the same seq: its header's timestamp, level and
 * facility, and its length (the total of its fragments). A resend is the same record again, byte
 * for byte (docs/reliable.md), so it has the fingerprint of the first copy; a sender that
 * restarted its seqs writes other messages (another time) under them. Never 0 (0: nothing known).
 */
export function fingerprint(d: ParsedDatagram): number {
  const ts = d.tsUsec!;
  let h = 0x811c9dc5; // FNV-1a: the timestamp's digits, then the level and facility, then the length
  for (let i = 0; i < ts.length; i++) h = Math.imul(h ^ ts.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ d.prio!, 0x01000193);
  h = Math.imul(h ^ (d.frag ? d.frag.total : d.body.length), 0x01000193);
  return h >>> 0 || 1;
}

/** The first size of a stream's ring of fingerprints; it doubles up to the window. */
const REMEMBER_MIN = 64;

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

export class AckStream {
  /** Slots from the tail on: slots[start + i] is seq tail + i. */
  private slots: Slot[] = [];
  private start = 0;
  /** The oldest seq not done. */
  tail: bigint;
  /** The ack last sent; undefined before the first reply. */
  private acked: bigint | undefined;
  private ackedAt: number;
  /** An ncemg datagram arrived: reply at once. */
  ackNow = false;
  private lastRetireAt: number;
  /** The fingerprints of the last seqs retired, oldest first from `doneAt` (a ring): the message
   *  printed for each (0 for a seq given up), to know a resend of it however late it comes. */
  private done = new Uint32Array(0);
  /** Where the next retired seq's fingerprint goes in `done`. */
  private doneAt = 0;
  /** Fingerprints in `done` (the seqs just behind the tail: tail - doneCount .. tail - 1). */
  private doneCount = 0;
  private oosHistory = 0;
  private strideMark: bigint;
  /** When the highest seq last crossed a multiple of the stride: a hole more than a stride behind
   *  and not asked for since is due. */
  private crossAt = -Infinity;

  constructor(
    first: bigint,
    now: number,
    private readonly p: AckParams,
    private readonly budget: AckBudget,
    private readonly out: (r: Retired) => void,
  ) {
    this.tail = first;
    this.ackedAt = now;
    this.lastRetireAt = now;
    this.strideMark = first / BigInt(p.retxStride);
  }

  /** Seqs held: holes and messages waiting for them. */
  get span(): number {
    return this.slots.length - this.start;
  }

  /** The next seq after the highest seen. */
  get head(): bigint {
    return this.tail + BigInt(this.span);
  }

  /** Is `seq` within this stream's window, behind its tail or past its head? */
  holds(seq: bigint): boolean {
    const W = BigInt(this.p.window);
    return seq > this.tail - W && seq < this.head + W;
  }

  /** What the ack says: the last seq done (2^64-1 when the stream started at 0 and nothing is done). */
  get ack(): bigint {
    return BigInt.asUintN(64, this.tail - 1n);
  }

  push(d: ParsedDatagram, now: number): PushResult {
    const seq = BigInt(d.seq!);
    const W = BigInt(this.p.window);
    this.oosHistory = (this.oosHistory << 1) >>> 0;
    if (d.emg) this.ackNow = true;
    let result: PushResult = 'held';
    if (seq < this.tail) {
      // Behind the tail: done already. libncrx get_seq_slot: an emergency resend is never out of
      // sequence (it repeats by design), nor a seq the stream finished recently; a stale one is.
      // Ours: nor a copy of the message printed under that seq, however late. A stream held on a
      // hole for 5 s while a loaded sender answered old requests printed those resends again
      // [oos], and 19 of them restarted the stream (libncrx's slot times would do the same).
      if (this.tail - seq > W) result = this.restart(streamStart(d, this.p.window), now);
      else if (d.emg || now - this.lastRetireAt < OOS_INTERVAL_MS || this.printedAs(seq) === fingerprint(d))
        return 'duplicate';
      else {
        this.oosHistory |= 1;
        if (popcount(this.oosHistory) < OOS_THRESHOLD) {
          this.out({
            kind: 'message',
            head: d,
            body: Buffer.from(d.body),
            incomplete: d.frag !== undefined,
            oos: true,
          });
          return 'oos';
        }
        result = this.restart(streamStart(d, this.p.window), now); // libncrx queue_oos_msg: the stream seems no good
      }
    } else if (seq - this.head >= W) {
      result = this.restart(streamStart(d, this.p.window), now); // past the window: a restarted sender (or a hostile seq)
    }
    if (seq >= this.head) this.extend(seq, now);
    const slot = this.slots[this.start + Number(seq - this.tail)];
    slot.ts = now;
    const filled = this.fill(slot, d);
    if (filled !== 'held') return filled;
    this.retire(now);
    this.bound();
    return result;
  }

  /** Retires what is done or timed out; returns the reply to send now, if any. */
  tick(now: number): string | undefined {
    this.retire(now);
    return this.reply(now, false);
  }

  /** The reply due at `now` (or forced: an ncemg arrived), marking the holes it asks for. */
  reply(now: number, force: boolean): string | undefined {
    const ack = this.ack;
    if (this.acked === ack) this.ackedAt = now; // nothing pending: the next ack waits a whole interval
    const head = this.head;
    const mark = head / BigInt(this.p.retxStride);
    if (mark !== this.strideMark) this.crossAt = now;
    this.strideMark = mark;
    let text = `ncrx${ack}`;
    let asked = 0;
    this.more = false;
    // The highest seq is never asked for (it arrived, or fragments of it did).
    for (let i = 0; i < this.span - 1; i++) {
      const s = this.slots[this.start + i];
      if (complete(s)) continue;
      const behind = this.span - i;
      const crossedSince = behind > this.p.retxStride && s.retxAt < this.crossAt;
      if (!(crossedSince || now - Math.max(s.ts, s.retxAt) >= this.p.retxIntervalMs)) continue;
      const item = ` ${this.tail + BigInt(i)}`;
      if (text.length + item.length > REPLY_MAX) {
        this.more = true;
        break;
      }
      text += item;
      s.retxAt = now;
      asked++;
    }
    const due = this.acked !== ack && now - this.ackedAt >= this.p.intervalMs;
    if (!(force || this.ackNow || asked > 0 || due)) return undefined;
    this.ackNow = false;
    this.acked = ack;
    this.ackedAt = now;
    this.lastAsked = asked;
    return text;
  }

  /** Holes asked for by the last reply. */
  lastAsked = 0;
  /** The last reply had no room for every hole due: another may follow in the same tick. */
  more = false;

  /** Gives everything up (the receiver closes, or forgets the stream): messages out in order, holes
   *  lost. What it remembers of its retired seqs goes too. */
  flush(reason: LostReason): void {
    while (this.span > 0) this.retireTail(reason);
    this.compact();
    this.budget.remembered -= this.done.length;
    this.done = new Uint32Array(0);
    this.doneAt = this.doneCount = 0;
  }

  /** The fingerprint of the message printed under `seq`, behind the tail; 0 when not known (given
   *  up, or further back than remembered). */
  private printedAs(seq: bigint): number {
    const back = this.tail - seq;
    if (back < 1n || back > BigInt(this.doneCount)) return 0;
    const n = this.done.length;
    return this.done[(this.doneAt - Number(back) + n) % n];
  }

  /** Notes what was printed under the seq just retired (0: given up). The ring doubles, up to the
   *  window, while the receiver's total allows; else the oldest is overwritten. */
  private remember(fp: number): void {
    const n = this.done.length;
    if (this.doneCount === n && n < this.p.window) {
      const size = Math.min(this.p.window, Math.max(REMEMBER_MIN, 2 * n));
      if (this.budget.remembered + size - n <= this.p.maxRememberedSeqs) {
        const grown = new Uint32Array(size);
        for (let i = 0; i < n; i++) grown[i] = this.done[(this.doneAt + i) % n]; // oldest first
        this.budget.remembered += size - n;
        this.done = grown;
        this.doneAt = n;
      }
    }
    const m = this.done.length;
    if (m === 0) return;
    this.done[this.doneAt] = fp;
    this.doneAt = (this.doneAt + 1) % m;
    if (this.doneCount < m) this.doneCount++;
  }

  /** New hole slots up to `seq`, pushing the tail out past the window. */
  private extend(seq: bigint, now: number): void {
    const n = Number(seq - this.head) + 1;
    for (let i = 0; i < n; i++) {
      this.slots.push({ ts: now, retxAt: -Infinity, cost: 0 });
      this.budget.seqs++;
      if (this.span > this.p.window) this.retireTail('pushed');
    }
    this.compact();
  }

  private fill(slot: Slot, d: ParsedDatagram): PushResult {
    if (d.frag) {
      if (slot.head === undefined) {
        slot.head = d;
        slot.frags = new FragmentBuffer(d.frag.total);
        slot.cost = slot.frags.cost;
        this.budget.bytes += slot.cost;
      } else if (slot.frags === undefined) {
        return 'duplicate'; // N16: the whole message is here
      }
      const r = slot.frags.add(d.frag.offset, d.body);
      return r === 'added' ? 'held' : r;
    }
    if (slot.head !== undefined) return 'duplicate'; // N16: a whole message adds no byte
    slot.head = d;
    slot.body = Buffer.from(d.body); // a copy: the datagram's buffer is not kept
    slot.cost = slot.body.length;
    this.budget.bytes += slot.cost;
    return 'held';
  }

  /** A new stream at `seq`: everything held is given up first (libncrx resets the same way). */
  private restart(seq: bigint, now: number): PushResult {
    this.flush('restart');
    this.slots = [];
    this.start = 0;
    this.tail = seq;
    this.acked = undefined;
    this.ackedAt = now;
    this.oosHistory = 0;
    this.strideMark = seq / BigInt(this.p.retxStride);
    return 'restart';
  }

  /** Retires complete messages from the tail, and timed-out slots. */
  private retire(now: number): void {
    while (this.span > 0) {
      const s = this.slots[this.start];
      if (!complete(s) && now - s.ts < this.p.msgTimeoutMs) break;
      this.retireTail('timeout');
      this.lastRetireAt = now;
    }
    this.compact();
  }

  /** Over a total, the stream that grew gives up its own tail. */
  private bound(): void {
    while (this.span > 0 && (this.budget.seqs > this.p.maxHeldSeqs || this.budget.bytes > this.p.maxHeldBytes))
      this.retireTail('pushed');
    this.compact();
  }

  private pendingLost: { seq: bigint; count: number; reason: LostReason } | undefined;

  private retireTail(reason: LostReason): void {
    const s = this.slots[this.start++];
    const seq = this.tail++;
    this.budget.seqs--;
    this.budget.bytes -= s.cost;
    this.remember(s.head === undefined ? 0 : fingerprint(s.head));
    if (s.head === undefined) {
      // Consecutive holes given up together are one report.
      const l = this.pendingLost;
      if (l && l.reason === reason && l.seq + BigInt(l.count) === seq) l.count++;
      else {
        this.flushLost();
        this.pendingLost = { seq, count: 1, reason };
      }
      return;
    }
    this.flushLost();
    const body = s.frags ? s.frags.received() : s.body!;
    this.out({
      kind: 'message',
      head: s.head,
      body,
      incomplete: s.frags !== undefined && !s.frags.complete,
      oos: false,
    });
  }

  private flushLost(): void {
    if (this.pendingLost) this.out({ kind: 'lost', ...this.pendingLost });
    this.pendingLost = undefined;
  }

  /** Drops the retired slots from the array now and then, and reports pending losses. */
  private compact(): void {
    this.flushLost();
    if (this.start > 1024 && this.start * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.start);
      this.start = 0;
    } else if (this.start === this.slots.length) {
      this.slots = [];
      this.start = 0;
    }
  }
}
