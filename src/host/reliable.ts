// A reliable target's sender half of netconsd's ncrx protocol (docs/reliable.md): the replies'
// socket, acks, resends on request, emergency resends when acks stop. The write path keeps every
// message (assembly/retain.ts); this reads the kept copies (core/retention.ts) and never touches
// the log call: it runs on the host's event loop, and the write path never waits on it.
//
// The replies' socket: a UDP socket bound to the target's local_ip:local_port (SO_REUSEADDR, like
// the sending sockets, src/sender/sockets.ts) and connect()ed to its remote_ip:remote_port. Linux
// delivers a datagram to the connected socket that matches its source before any unconnected one
// bound to the same port, so the receiver's replies reach this socket, not a sending socket of
// this process nor another process's (two processes on the default port 6665, each with a reliable
// target to its own receiver, each get their own replies), and nothing from another address
// reaches it at all. Resends go out on it too: same source address and port, the same stream to
// the receiver. Two processes sending to the SAME receiver from the same source port are one
// stream to it (libncrx and `listen --ack` key streams by source): give each its own local_port.
//
// Timing. A request is answered at once (a seq resent at most once per RESEND_GAP_MS, at most
// RESEND_BUDGET messages per second over all requests). Emergency: once the receiver has replied,
// when the oldest unacked message is EMERGENCY_MS old and no ack came for EMERGENCY_MS, the oldest
// kept unacked messages (EMERGENCY_BATCH) are resent with `ncemg=1`, which makes a libncrx
// receiver ack at once; and when nothing was written for EMERGENCY_MS while the newest message is
// unacked, that one; again after 2x, 4x, ... that wait, at most EMERGENCY_MAX_MS apart, while
// acks do not move. A lost last message is never asked for (the receiver asks only for holes
// below the highest seq it saw): this is what brings it, EMERGENCY_MS (3 s) after it was written.
// `listen --ack` acks every second, and its first ack after quiet waits a whole interval: 3 s
// leaves one interval and the round trip of margin, so a healthy stream sees no emergencies.
//
// Losses. A message pushed out of the retention before its ack is not lost for that: at a high
// rate the retention holds less than the receiver's ack interval, and nearly all of those arrived.
// Only the receiver knows, and it says so: it asks for every hole below the highest seq it saw,
// again and again until it gives the hole up. So a pushed-out message is counted lost (`unacked`,
// told in-band) when the receiver asks for it after it was pushed out (once per seq), and an ack
// that passes it releases it without a word. What the receiver never settles, because it fell
// silent (no reply for SILENT_MS) or the target stopped first, is counted then: it may not have
// arrived. An ack means "delivered or given up", so a message the receiver gave up (its window,
// its bounds) without asking for it after the push-out is not counted here; the receiver tells
// those itself (`listen --ack` prints each hole it gives up).
import { createSocket, type Socket } from 'node:dgram';
import { NetconsoleError, errnoCode } from '../base/errors.js';
import { L } from '../core/layout.js';
import { U64_MAX } from '../base/text.js';
import { REPLY_MAX } from '../receiver/acks.js';
import type { Kept, Retention } from '../core/retention.js';

export const EMERGENCY_MS = 3000;
export const EMERGENCY_MAX_MS = 8000;
export const EMERGENCY_BATCH = 4;
// 100 ms: copies of one request (a reply repeated, or asked again on the receiver's next tick)
// make one resend; a hole still missing is asked again after the receiver's retransmission
// interval (1 s by default, and each time its highest seq crosses a stride), which this must not
// refuse. It was 200 ms: against a 200 ms retransmission interval, timer jitter refused one
// request in five.
export const RESEND_GAP_MS = 100;
export const RESEND_BUDGET = 16384;
/** A receiver that sent nothing for this long is taken for gone: the messages pushed out that it
 *  never acked are counted lost. Longer than libncrx's and `listen --ack`'s message timeout (30 s),
 *  after which a receiver gives up a hole and its ack moves on; a live receiver replies long
 *  before, at once to each emergency resend (3, 6, 12, 20 and 28 s into a stall). */
export const SILENT_MS = 35_000;
/** Pushed-out seqs counted one by one and not acked yet, at most: twice libncrx's window. */
const COUNTED_MAX = 16384;
/** close(): how often the newest unacked message is resent while it waits for the acks. */
export const CLOSE_NUDGE_MS = 250;
const TICK_MS = 100;
/** Samples of how far the target wrote, at most (a minute of ticks). */
const WRITTEN_MAX = 600;
const REPLY = /^ncrx(\d{1,20})((?: \d{1,20})*)$/;

/** What a reliable target's sender half counted (stats().targets[i].reliable). */
export interface ReliableCounters {
  /** Replies that parsed (`ncrx<ack> <seq>...`). */
  replies: number;
  /** Replies whose ack moved forward. */
  acks: number;
  /** Seqs the receiver asked for again. */
  requests: number;
  /** Messages resent because they were asked for. */
  resends: number;
  /** Messages resent unasked with `ncemg=1` (acks had stopped). */
  emergencies: number;
  /** Requests not answered: the message was pushed out of the retention, or asked for again
   *  within RESEND_GAP_MS, or past the resend budget. */
  refused: number;
  /** Replies that did not parse, or acked or asked for a seq never sent. */
  badReplies: number;
  /** Datagrams the replies' socket could not send (resends), and its errors. */
  sendErrors: number;
  /** The last seq the receiver acked (decimal), or null before its first ack. */
  acked: string | null;
}

export function reliableCounters(): ReliableCounters {
  return {
    replies: 0,
    acks: 0,
    requests: 0,
    resends: 0,
    emergencies: 0,
    refused: 0,
    badReplies: 0,
    sendErrors: 0,
    acked: null,
  };
}

/** A reply's ack (undefined: 2^64-1, nothing done yet) and the seqs asked for, or null when it is
 *  not an ncrx reply. */
export function parseReply(buf: Buffer): { ack: bigint | undefined; missing: bigint[] } | null {
  if (buf.length > REPLY_MAX) return null;
  const m = REPLY.exec(buf.toString('latin1'));
  if (m === null) return null;
  const ack = BigInt(m[1]);
  if (ack > U64_MAX) return null;
  const missing = m[2] === '' ? [] : m[2].slice(1).split(' ').map(BigInt);
  if (missing.some((s) => s > U64_MAX)) return null;
  return { ack: ack === U64_MAX ? undefined : ack, missing };
}

const EMG = Buffer.from(',ncemg=1');

/** The datagrams of a kept message, cut as the write path cuts (docs/wire.md 3.3: every fragment
 *  but the last MAX_PRINT_CHUNK bytes); `emergency` adds `ncemg=1` before any ncfrag. */
export function datagramsOf(kept: Kept, emergency: boolean): Buffer[] {
  const prefix = emergency
    ? Buffer.concat([kept.message.subarray(0, kept.prefixLen), EMG])
    : kept.message.subarray(0, kept.prefixLen);
  const data = kept.message.subarray(kept.prefixLen + 1);
  const total = data.length;
  if (prefix.length + 1 + total <= L.MAX_PRINT_CHUNK)
    return [emergency ? Buffer.concat([prefix, Buffer.from(';'), data]) : kept.message];
  const out: Buffer[] = [];
  for (let sent = 0; sent < total;) {
    const head = Buffer.from(`,ncfrag=${sent}/${total};`);
    const n = Math.min(total - sent, L.MAX_PRINT_CHUNK - prefix.length - head.length);
    out.push(Buffer.concat([prefix, head, data.subarray(sent, sent + n)]));
    sent += n;
  }
  return out;
}

export interface ReliableEndpoints {
  family: 4 | 6;
  localIp: string | null;
  localPort: number;
  remoteIp: string;
  remotePort: number;
}

/**
 * The replies' socket of one reliable target, bound and connected (see the header); open() rejects
 * with a NetconsoleError naming local_ip and local_port when it cannot be.
 */
export async function openReplySocket(e: ReliableEndpoints): Promise<Socket> {
  const socket = createSocket({ type: e.family === 6 ? 'udp6' : 'udp4', reuseAddr: true });
  const address = e.localIp ?? (e.family === 6 ? '::' : '0.0.0.0');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port: e.localPort, exclusive: false }, () => {
        socket.connect(e.remotePort, e.remoteIp, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    });
  } catch (err) {
    socket.close();
    throw new NetconsoleError(
      errnoCode(err),
      `reliable: cannot open the replies' socket on ${e.family === 6 ? `[${address}]` : address}:${e.localPort} towards ${e.remoteIp}:${e.remotePort}: ${(err as Error).message}`,
      {
        option: 'reliable',
        value: 1,
        accepted: 'a local_ip of this host (or none) and a local_port this process can bind',
        cause: err,
      },
    );
  }
  socket.unref();
  return socket;
}

/** The sender half for one enabled reliable target: from start() until stop(). */
export class ReliableLink {
  /** The first seq not acked. */
  private acked: bigint;
  private heard = false;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;
  /** (next seq, when it was seen): when the messages before each seq were written, at the latest. */
  private readonly written: Array<{ seq: bigint; at: number }> = [];
  private lastAckAt: number;
  private lastReplyAt: number;
  /** Every pushed-out seq below it is acked or counted lost (countSilent). */
  private countedBelow: bigint;
  /** The pushed-out seqs at or past countedBelow and not acked that were counted lost one by one,
   *  as the receiver asked for them: at most COUNTED_MAX. */
  private readonly counted = new Set<bigint>();
  private lastEmergencyAt = 0;
  private emergencyWait = EMERGENCY_MS;
  /** When each seq was last resent (by seq % slots): at most once per RESEND_GAP_MS. */
  private readonly resentSeq: BigUint64Array;
  private readonly resentAt: Float64Array;
  private budget = RESEND_BUDGET;
  private budgetAt: number;

  constructor(
    private readonly socket: Socket,
    private readonly retention: Retention,
    readonly counters: ReliableCounters,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.acked = this.countedBelow = retention.nextSeq();
    this.lastAckAt = this.lastReplyAt = this.budgetAt = now();
    this.resentSeq = new BigUint64Array(retention.slots).fill(U64_MAX);
    this.resentAt = new Float64Array(retention.slots);
    socket.on('message', (buf) => this.onReply(buf));
    socket.on('error', () => {
      this.counters.sendErrors++; // an ICMP error on the connected socket (the receiver is not there yet)
    });
    this.timer = setInterval(() => this.tick(), TICK_MS).unref();
  }

  /** No more resends from here on (the target leaves ENABLED); the socket closes. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.socket.close();
    if (this.heard) this.countSilent(); // nothing will settle them now
    this.settled();
  }

  /** The receiver asked for `seq` and it could not be resent: lost if it was pushed out (not if
   *  the sender has not kept it yet, or it was resent just now), counted once. */
  private askedGone(seq: bigint): void {
    if (seq < this.countedBelow || seq >= this.retention.pushed() || this.counted.has(seq)) return;
    this.counted.add(seq);
    this.retention.countUnacked(1);
    // More holes than any receiver's window holds (libncrx's is 8,192): count everything gone.
    if (this.counted.size > COUNTED_MAX) this.countSilent();
  }

  /** Counts lost every pushed-out seq that was neither acked nor counted yet: the receiver did not
   *  settle them (it fell silent, or the target stops). */
  private countSilent(): void {
    const from = this.acked > this.countedBelow ? this.acked : this.countedBelow;
    const to = this.retention.pushed();
    if (to <= from) return;
    let n = to - from;
    for (const s of this.counted) if (s >= from && s < to) n--; // asked for, counted already
    this.counted.clear(); // every one is below `to` (pushed out when it was counted)
    this.retention.countUnacked(Number(n));
    this.countedBelow = to;
  }

  private waiters: Array<() => void> = [];

  private settled(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Everything written is acked (or nothing waits for the receiver: it never replied). */
  private done(): boolean {
    return this.stopped || !this.heard || this.acked >= this.retention.nextSeq();
  }

  /**
   * For close(): resolves once everything written so far is acked, or after `ms`, or at once when
   * the receiver never replied (netconsd: nothing would come). Meanwhile the newest unacked
   * message is resent with `ncemg=1` now and every CLOSE_NUDGE_MS: a libncrx receiver (and
   * `listen --ack`) acks an emergency resend at once, and asks for any hole below it, so a process
   * that logs and exits does not leave its last messages to the emergency timer it will not live
   * to run.
   */
  settle(ms: number): Promise<void> {
    if (this.done() || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const nudge = (): void => {
        if (!this.done() && this.resend(this.retention.nextSeq() - 1n, true)) this.counters.emergencies++;
      };
      const every = setInterval(nudge, CLOSE_NUDGE_MS);
      const end = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== finish); // timed out: not settled later
        finish();
      }, ms);
      function finish(): void {
        clearInterval(every);
        clearTimeout(end);
        resolve();
      }
      this.waiters.push(finish);
      nudge();
    });
  }

  private onReply(buf: Buffer): void {
    if (this.stopped) return;
    const r = parseReply(buf);
    const next = this.retention.nextSeq();
    if (r === null || (r.ack !== undefined && r.ack >= next) || r.missing.some((s) => s >= next)) {
      this.counters.badReplies++;
      return;
    }
    this.counters.replies++;
    this.lastReplyAt = this.now();
    if (!this.heard) {
      this.heard = true;
      this.retention.setHeard();
    }
    if (r.ack !== undefined && r.ack + 1n > this.acked) {
      this.acked = r.ack + 1n;
      this.retention.setAcked(this.acked);
      this.counters.acks++;
      this.counters.acked = r.ack.toString();
      for (const seq of this.counted) if (seq < this.acked) this.counted.delete(seq);
      this.lastAckAt = this.now();
      this.emergencyWait = EMERGENCY_MS;
      this.lastEmergencyAt = 0;
      if (this.waiters.length > 0 && this.done()) this.settled();
    }
    for (const seq of r.missing) {
      this.counters.requests++;
      if (seq >= this.acked && this.resend(seq, false)) {
        this.counters.resends++;
      } else {
        this.counters.refused++;
        if (seq >= this.acked) this.askedGone(seq);
      }
    }
  }

  /** Sends the kept message of `seq` again; false when it is not kept, was resent just now, or
   *  the budget is spent. */
  private resend(seq: bigint, emergency: boolean): boolean {
    const now = this.now();
    const i = Number(seq % BigInt(this.resentSeq.length));
    if (!emergency && this.resentSeq[i] === seq && now - this.resentAt[i] < RESEND_GAP_MS) return false;
    if (now - this.budgetAt >= 1000) {
      this.budget = RESEND_BUDGET;
      this.budgetAt = now;
    }
    if (this.budget <= 0) return false;
    const kept = this.retention.read(seq);
    if (kept === null) return false;
    this.budget--;
    this.resentSeq[i] = seq;
    this.resentAt[i] = now;
    for (const d of datagramsOf(kept, emergency)) {
      this.socket.send(d, (err) => {
        if (err) this.counters.sendErrors++;
      });
    }
    return true;
  }

  /** Every TICK_MS: note how far the target has written; resend unasked when acks stopped. */
  private tick(): void {
    if (this.stopped) return;
    const now = this.now();
    const next = this.retention.nextSeq();
    const last = this.written.at(-1);
    if (last === undefined || last.seq < next) this.written.push({ seq: next, at: now });
    while (this.written.length > 0 && this.written[0].seq <= this.acked) this.written.shift();
    if (this.written.length > WRITTEN_MAX) this.written.splice(1, 1); // the oldest is the one that counts
    if (next <= this.acked) {
      this.lastAckAt = now; // nothing waits for an ack
      return;
    }
    if (!this.heard) return; // a receiver that never replied gets nothing extra (netconsd)
    if (now - this.lastReplyAt >= SILENT_MS) this.countSilent();
    if (now - this.lastEmergencyAt < this.emergencyWait) return;
    // The oldest unacked message was written before the first sample past it was taken; the
    // newest one when the last sample was.
    const oldestAt = this.written[0]?.at ?? now;
    const newestAt = this.written.at(-1)?.at ?? now;
    // Acks stopped: the receiver may be gone, or the oldest unacked message lost where it cannot
    // ask (nctx's rule). The writer quiet: the newest message, if lost, is never asked for (the
    // receiver asks only below the highest seq it saw), and acks may still be moving as holes
    // before it are filled; without this it waited for the last hole, then EMERGENCY_MS more.
    const stalled = now - oldestAt >= EMERGENCY_MS && now - this.lastAckAt >= EMERGENCY_MS;
    const quiet = now - newestAt >= EMERGENCY_MS;
    if (!stalled && !quiet) return;
    // The kept ones are the newest `kept` seqs.
    const oldestKept = next - BigInt(this.retention.counters().kept);
    let sent = 0;
    let seq = this.acked > oldestKept ? this.acked : oldestKept;
    if (stalled) {
      for (; seq < next && sent < EMERGENCY_BATCH; seq++) {
        if (!this.resend(seq, true)) break; // the budget is spent (or it was pushed out just now)
        sent++;
      }
    }
    if (quiet && seq < next && this.resend(next - 1n, true)) sent++; // the newest, unless just sent
    this.counters.emergencies += sent;
    if (this.lastEmergencyAt !== 0) this.emergencyWait = Math.min(this.emergencyWait * 2, EMERGENCY_MAX_MS);
    this.lastEmergencyAt = now;
  }
}
