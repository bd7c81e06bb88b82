// Datagrams to messages, the receiver's work without its socket (receiver.ts): it gives what
// Meta's netconsd prints for the same datagrams (the parse rules are in ncrx-parse.ts), reassembles
// `ncfrag` fragments in time linear in the bytes received (fragments.ts), and tracks sequence
// numbers per source (seq-window.ts): a seq more than 512 from the last is a restarted sender, a
// new stream at once (where netconsd flags up to 18 messages [OOS] first: seq-window.ts, N19).
//
// Memory is bounded whatever arrives: at most `maxPendingPerSource` messages per source,
// `maxPending` messages and `maxPendingBytes` bytes overall wait for fragments (beyond that the
// oldest is given up: reported incomplete and counted in `evicted`); at most `maxSources`
// sources are tracked (the least recently heard from is forgotten: `sourcesEvicted`). A message
// whose fragments stop arriving is reported after `fragmentTimeoutMs` with the text it has.
//
// With `ack` (off by default; `netconsole listen --ack`), each extended stream goes through an
// AckStream instead (acks.ts, after libncrx): messages are printed in seq order once the holes
// before them are filled or given up, holes are asked for again, and `ncrx<ack> <seq>...`
// replies go back to the source address and port ('reply' events; the Receiver sends them).
// Without it, as netconsd: printed on arrival, gaps reported, nothing sent back. State is per
// `address:port`, not per address.
import { EventEmitter } from 'node:events';
import {
  AckStream,
  REPLIES_PER_TICK,
  ackParams,
  streamStart,
  type AckBudget,
  type AckOptions,
  type AckParams,
  type LostReason,
  type Retired,
} from './acks.js';
import { FragmentBuffer } from './fragments.js';
import { datagramBytes, parseDatagram, type ParsedDatagram } from './ncrx-parse.js';
import { SeqWindow, STREAMS_KEPT } from './seq-window.js';
import { splitBody, type Message } from './message.js';

/** With `ack`: the longest time between two looks at what replies are due. */
export const ACK_TICK_MAX_MS = 20;

export interface ReceiverOptions {
  fragmentTimeoutMs?: number;
  maxPending?: number;
  maxPendingBytes?: number;
  maxPendingPerSource?: number;
  maxSources?: number;
}

export interface AckingReceiverOptions extends ReceiverOptions {
  /** Ack and ask for holes, print in seq order (docs/reliable.md). Off by default. */
  ack?: AckOptions | boolean;
}

/** A seq (or `count` seqs from it) given up: never arrived within the message timeout, or pushed out by a bound. */
export interface LostEvent {
  source: string;
  seq: string;
  count: number;
  reason: LostReason;
}

interface Source {
  name: string;
  window: SeqWindow;
  /** Messages waiting for fragments, by seq, oldest first. */
  pending: Map<string, Pending>;
  /** With `ack`: the acking state of its extended streams, the current first: at most
   *  STREAMS_KEPT, as without ack (N19: two processes behind one address and port are two streams). */
  acks?: AckStream[];
}

interface Pending {
  source: Source;
  head: ParsedDatagram;
  frags: FragmentBuffer;
  oos: boolean;
  timer: NodeJS.Timeout;
}

/**
 * Emits 'message' (Message), 'gap' ({ source, expected, got }) and 'restart' ({ source, from, to }:
 * the source's seq jumped more than 512 from `from` to `to`, a new stream, N19). With `ack`: no
 * 'gap' (holes are asked for), 'lost' (LostEvent) for seqs given up, 'restart' for a jump past
 * the window, and 'reply' (source, text) for each datagram to send back.
 */
export class Reassembler extends EventEmitter {
  private readonly sources = new Map<string, Source>();
  /** Every pending message, oldest first, for the overall bounds. */
  private readonly pending = new Set<Pending>();
  private pendingBytes = 0;
  readonly counters = {
    datagrams: 0,
    messages: 0,
    incomplete: 0,
    duplicates: 0,
    evicted: 0,
    gaps: 0,
    oos: 0,
    restarts: 0,
    sourcesEvicted: 0,
  };
  /** With `ack`: replies sent (and failed to send), seqs asked for in them, seqs given up, ncemg datagrams received. */
  readonly ackCounters = { replies: 0, replyErrors: 0, requested: 0, lost: 0, emergency: 0 };
  /** With `ack`: its parameters and what all streams hold. */
  readonly ack: AckParams | undefined;
  readonly held: AckBudget = { seqs: 0, bytes: 0, remembered: 0 };
  private ticker: NodeJS.Timeout | undefined;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly maxBytes: number;
  private readonly maxPerSource: number;
  private readonly maxSources: number;

  constructor(opts: AckingReceiverOptions = {}) {
    super();
    this.timeoutMs = opts.fragmentTimeoutMs ?? 2000;
    this.maxPending = opts.maxPending ?? 1024;
    this.maxBytes = opts.maxPendingBytes ?? 8 << 20;
    this.maxPerSource = opts.maxPendingPerSource ?? 64;
    this.maxSources = opts.maxSources ?? 4096;
    if (opts.ack) {
      this.ack = ackParams(opts.ack === true ? {} : opts.ack);
      // Often enough that a reply is at most a quarter of the shortest period late, and at least
      // every ACK_TICK_MAX_MS: holes are also due each time the stream's highest seq crosses a
      // stride (libncrx answers every datagram it processes), which at 10,000 messages/s is every
      // 26 ms. With the default periods the tick was 250 ms: 8 replies of 58 seqs per tick asked
      // for 1,856 holes a second where 20% loss made 2,000, and holes left the window unasked.
      const every = Math.max(
        5,
        Math.min(ACK_TICK_MAX_MS, Math.min(this.ack.intervalMs, this.ack.retxIntervalMs, this.ack.msgTimeoutMs) / 4),
      );
      this.ticker = setInterval(() => this.ackTick(performance.now()), every);
      this.ticker.unref();
    }
  }

  /** With `ack`: retires timed-out slots and emits the replies due at `now`. */
  ackTick(now: number): void {
    for (const src of this.sources.values()) {
      for (const stream of src.acks ?? []) {
        let text = stream.tick(now);
        for (let n = 1; text !== undefined; n++) {
          this.sendReply(stream, src, text);
          text = stream.more && n < REPLIES_PER_TICK ? stream.reply(now, false) : undefined;
        }
      }
    }
  }

  private sendReply(stream: AckStream, src: Source, text: string): void {
    this.ackCounters.replies++;
    this.ackCounters.requested += stream.lastAsked;
    this.emit('reply', src.name, text);
  }

  private retired(src: Source, r: Retired): void {
    if (r.kind === 'lost') {
      this.ackCounters.lost += r.count;
      const e: LostEvent = { source: src.name, seq: String(r.seq), count: r.count, reason: r.reason };
      this.emit('lost', e);
      return;
    }
    if (r.incomplete) this.counters.incomplete++;
    if (r.oos) this.counters.oos++;
    this.deliver(src.name, r.head, r.body, { oos: r.oos, incomplete: r.incomplete });
  }

  /** With `ack`: an extended datagram into its stream's AckStream. */
  private pushAck(src: Source, d: ParsedDatagram, raw: Buffer): void {
    const now = performance.now();
    if (d.emg) this.ackCounters.emergency++;
    const seq = BigInt(d.seq!);
    const streams = (src.acks ??= []);
    const current = streams[0];
    let i = streams.findIndex((x) => x.holds(seq));
    if (i < 0) {
      // N19: a seq no stream's window holds is a new stream; the least recent one past
      // STREAMS_KEPT is given up (its waiting messages printed, its holes lost).
      streams.unshift(
        new AckStream(streamStart(d, this.ack!.window), now, this.ack!, this.held, (r) => this.retired(src, r)),
      );
      if (streams.length > STREAMS_KEPT) streams.pop()!.flush('restart');
      if (current) {
        this.counters.restarts++;
        this.emit('restart', { source: src.name, from: String(current.head - 1n), to: d.seq });
      }
      i = 0;
    } else if (i > 0) {
      streams.unshift(...streams.splice(i, 1)); // back to a stream it left
    }
    const stream = streams[0];
    const from = stream.head - 1n;
    const result = stream.push(d, now);
    if (result === 'duplicate') this.counters.duplicates++;
    else if (result === 'refused') this.deliverLegacy(src.name, datagramBytes(raw));
    else if (result === 'restart') {
      this.counters.restarts++;
      this.emit('restart', { source: src.name, from: String(from), to: d.seq });
    }
    // libncrx: an emergency resend is acked at once.
    if (stream.ackNow) this.sendReply(stream, src, stream.reply(now, true)!);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  push(buf: Buffer, source: string): void {
    this.counters.datagrams++;
    const d = parseDatagram(buf);
    if (!d.extended) return this.deliverLegacy(source, d.body);
    const src = this.source(source);
    if (this.ack) return this.pushAck(src, d, buf);
    const waiting = src.pending.get(d.seq!);
    if (waiting) return this.merge(waiting, d, buf);
    const verdict = src.window.see(BigInt(d.seq!), performance.now());
    if (verdict.kind === 'duplicate') {
      this.counters.duplicates++;
      return;
    }
    if (verdict.kind === 'new' && verdict.gapFrom !== undefined) {
      this.counters.gaps++;
      this.emit('gap', { source, expected: String(verdict.gapFrom), got: d.seq });
    } else if (verdict.kind === 'restart') {
      this.counters.restarts++;
      this.emit('restart', { source, from: String(verdict.from), to: d.seq });
    }
    const oos = verdict.kind === 'oos';
    if (oos) this.counters.oos++;
    if (!d.frag) return this.deliver(source, d, d.body, { oos });
    const p = this.start(src, d, oos);
    p.frags.add(d.frag.offset, d.body);
    if (p.frags.complete) this.finish(p, 'complete');
  }

  /** Reports every message still waiting for fragments (at shutdown). */
  flushPending(): void {
    for (const p of [...this.pending]) this.finish(p, 'timeout');
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    for (const src of this.sources.values()) for (const stream of src.acks ?? []) stream.flush('closed');
  }

  /** N15, N16: a datagram for a seq whose fragments are still arriving. */
  private merge(p: Pending, d: ParsedDatagram, raw: Buffer): void {
    // N16 (ncrx_queue_payload merges only fragments; a whole message adds no byte): a duplicate.
    const result = d.frag ? p.frags.add(d.frag.offset, d.body) : 'duplicate';
    if (result === 'refused') return this.deliverLegacy(p.source.name, datagramBytes(raw));
    if (result === 'duplicate') this.counters.duplicates++;
    else if (p.frags.complete) this.finish(p, 'complete');
  }

  private start(src: Source, d: ParsedDatagram, oos: boolean): Pending {
    const frags = new FragmentBuffer(d.frag!.total);
    while (src.pending.size >= this.maxPerSource) this.evictOldest(src.pending.values());
    while (
      this.pending.size > 0 &&
      (this.pending.size >= this.maxPending || this.pendingBytes + frags.cost > this.maxBytes)
    ) {
      this.evictOldest(this.pending.values());
    }
    const p: Pending = {
      source: src,
      head: d,
      frags,
      oos,
      timer: setTimeout(() => this.finish(p, 'timeout'), this.timeoutMs),
    };
    p.timer.unref();
    src.pending.set(d.seq!, p);
    this.pending.add(p);
    this.pendingBytes += frags.cost;
    return p;
  }

  private evictOldest(it: IterableIterator<Pending>): void {
    this.counters.evicted++;
    this.finish(it.next().value as Pending, 'evicted');
  }

  private finish(p: Pending, why: 'complete' | 'timeout' | 'evicted'): void {
    if (!this.pending.delete(p)) return;
    clearTimeout(p.timer);
    p.source.pending.delete(p.head.seq!);
    this.pendingBytes -= p.frags.cost;
    if (why !== 'complete') this.counters.incomplete++;
    this.deliver(p.source.name, p.head, p.frags.received(), { oos: p.oos, incomplete: why !== 'complete' });
  }

  /** The state of `name`, made the most recently used; the least recently used is forgotten past maxSources. */
  private source(name: string): Source {
    let src = this.sources.get(name);
    if (src) {
      this.sources.delete(name);
    } else {
      src = { name, window: new SeqWindow(), pending: new Map() };
      if (this.sources.size >= this.maxSources) this.forget(this.sources.values().next().value as Source);
    }
    this.sources.set(name, src);
    return src;
  }

  private forget(src: Source): void {
    this.counters.sourcesEvicted++;
    this.sources.delete(src.name);
    for (const stream of src.acks ?? []) stream.flush('pushed');
    for (const p of [...src.pending.values()]) {
      this.counters.evicted++;
      this.finish(p, 'evicted');
    }
  }

  private deliver(
    source: string,
    d: ParsedDatagram,
    body: Buffer,
    flags: { oos: boolean; incomplete?: boolean },
  ): void {
    const { text, dict } = splitBody(body.toString('latin1'));
    const msg: Message = {
      source,
      extended: true,
      level: d.prio! & 7,
      facility: d.prio! >> 3,
      seq: d.seq,
      tsUsec: d.tsUsec,
      cont: d.cont,
      text,
      dict,
    };
    if (d.continuation) msg.continuation = true;
    if (d.release !== undefined) msg.release = d.release;
    if (flags.incomplete) msg.incomplete = true;
    if (flags.oos) msg.oos = true;
    this.emitMessage(msg);
  }

  /** N3: what netconsd does not parse, it prints as it came (up to its first NUL, N2). */
  private deliverLegacy(source: string, data: Buffer): void {
    this.emitMessage({ source, extended: false, text: data.toString('utf8') });
  }

  private emitMessage(msg: Message): void {
    this.counters.messages++;
    this.emit('message', msg);
  }
}
