// A netconsole receiver for development and tests (fleets use netconsd): parses basic and
// extended datagrams, reassembles `ncfrag` fragments, and tracks sequence numbers per source.
//
// Memory is bounded under a flood of incomplete messages: at most `maxPending` messages and
// `maxPendingBytes` bytes wait for fragments; beyond that the oldest are given up (reported as
// incomplete), and a message whose fragments stop arriving is reported after `fragmentTimeoutMs`
// with the text it has.
import { EventEmitter } from 'node:events';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface Message {
  /** `address:port` of the sender. */
  source: string;
  extended: boolean;
  level?: number;
  facility?: number;
  seq?: string;
  tsUsec?: string;
  cont?: boolean;
  release?: string;
  /** The message text, unescaped (extended) or as received (basic). */
  text: string;
  /** Extended: the ` KEY=value` lines after the text (dictionary, userdata, sysdata). */
  dict?: Record<string, string>;
  /** Fragments were missing: the text has gaps. */
  incomplete?: boolean;
}

export interface ParsedDatagram {
  extended: boolean;
  release?: string;
  prio?: number;
  seq?: string;
  tsUsec?: string;
  cont?: boolean;
  frag?: { offset: number; total: number };
  /** Basic: the whole datagram; extended: the bytes after the first ';'. */
  body: Buffer;
}

const HEADER = /^(?:([^,;]*),)?(\d{1,3}),(\d{1,20}),(\d{1,20}),([-c])((?:,[a-z]+=[^,;]*)*)$/;
/** netconsd truncates datagrams over 1023 bytes; so do we (wire.md 3.4). */
export const MAX_DATAGRAM = 1023;
/** netconsd reassembles only totals below 8192. */
export const MAX_TOTAL = 8191;

/** Parses one datagram; anything that is not a well-formed extended header is a basic line. */
export function parseDatagram(buf: Buffer): ParsedDatagram {
  const data = buf.length > MAX_DATAGRAM ? buf.subarray(0, MAX_DATAGRAM) : buf;
  const semi = data.indexOf(0x3b);
  if (semi > 0 && semi < 200) {
    const m = HEADER.exec(data.toString('latin1', 0, semi));
    if (m) {
      const out: ParsedDatagram = { extended: true, prio: Number(m[2]), seq: m[3], tsUsec: m[4], cont: m[5] === 'c', body: data.subarray(semi + 1) };
      if (m[1] !== undefined) out.release = m[1];
      // ncfrag, when present, must be exactly one well-formed offset/total (netconsd rejects the rest).
      const fields = m[6].split(',').filter((f) => f.startsWith('ncfrag='));
      const frag = fields.length === 1 ? /^ncfrag=(\d{1,5})\/(\d{1,5})$/.exec(fields[0]) : null;
      if (fields.length > 0 && frag === null) return { extended: false, body: data };
      if (frag) {
        const offset = Number(frag[1]);
        const total = Number(frag[2]);
        if (total > 0 && total <= MAX_TOTAL && offset < total) out.frag = { offset, total };
        else return { extended: false, body: data }; // bad ncfrag values: not reassemblable
      }
      if (out.prio! <= 191) return out;
    }
  }
  return { extended: false, body: data };
}

/** Reverses the extended escaping: `\xHH` back to the byte. */
export function unescape(text: string): string {
  const bytes = Buffer.from(text.replace(/\\x([0-9a-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  return bytes.toString('utf8');
}

/** Splits an extended body into the text line and the ` KEY=value` lines after it. */
export function splitBody(body: string): { text: string; dict: Record<string, string> } {
  const lines = body.split('\n');
  const dict: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    if (!line.startsWith(' ')) continue;
    const eq = line.indexOf('=');
    if (eq > 1) dict[unescape(line.slice(1, eq))] = unescape(line.slice(eq + 1));
  }
  return { text: unescape(lines[0]), dict };
}

interface Pending {
  key: string;
  source: string;
  head: ParsedDatagram;
  data: Buffer;
  have: Array<[number, number]>;
  received: number;
  timer: NodeJS.Timeout;
}

export interface ReceiverOptions {
  fragmentTimeoutMs?: number;
  maxPending?: number;
  maxPendingBytes?: number;
}

/** Emits 'message' (Message) and 'gap' ({ source, expected, got }). */
export class Reassembler extends EventEmitter {
  private readonly pending = new Map<string, Pending>();
  /** Recently finished fragmented messages: a late duplicate fragment must not start them again. */
  private readonly finished = new Set<string>();
  private pendingBytes = 0;
  private readonly lastSeq = new Map<string, bigint>();
  readonly counters = { datagrams: 0, messages: 0, incomplete: 0, duplicates: 0, evicted: 0, gaps: 0 };
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly maxBytes: number;

  constructor(opts: ReceiverOptions = {}) {
    super();
    this.timeoutMs = opts.fragmentTimeoutMs ?? 2000;
    this.maxPending = opts.maxPending ?? 1024;
    this.maxBytes = opts.maxPendingBytes ?? 8 << 20;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  push(buf: Buffer, source: string): void {
    this.counters.datagrams++;
    const d = parseDatagram(buf);
    if (!d.extended) return this.deliver({ source, extended: false, text: d.body.toString('utf8') });
    if (!d.frag) return this.complete(source, d, d.body, false);
    const key = `${source}|${d.seq}|${d.frag.total}`;
    if (this.finished.has(key)) {
      this.counters.duplicates++;
      return;
    }
    let p = this.pending.get(key);
    if (!p) {
      this.trackSeq(source, BigInt(d.seq!)); // its seq counts from its first fragment on
      while (this.pending.size >= this.maxPending || this.pendingBytes + d.frag.total > this.maxBytes) {
        const oldest = this.pending.values().next().value as Pending | undefined;
        if (!oldest) break;
        this.counters.evicted++;
        this.finish(oldest, true);
      }
      p = { key, source, head: d, data: Buffer.alloc(d.frag.total), have: [], received: 0, timer: setTimeout(() => this.finish(p!, true), this.timeoutMs) };
      p.timer.unref();
      this.pending.set(key, p);
      this.pendingBytes += d.frag.total;
    }
    const start = d.frag.offset;
    const end = Math.min(start + d.body.length, d.frag.total);
    if (p.have.some(([s, e]) => start >= s && end <= e)) {
      this.counters.duplicates++;
      return;
    }
    d.body.copy(p.data, start, 0, end - start);
    p.have.push([start, end]);
    p.received = covered(p.have);
    if (p.received >= d.frag.total) this.finish(p, false);
  }

  /** Reports every message still waiting for fragments (at shutdown). */
  flushPending(): void {
    for (const p of [...this.pending.values()]) this.finish(p, true);
  }

  private finish(p: Pending, incomplete: boolean): void {
    if (this.pending.get(p.key) !== p) return;
    clearTimeout(p.timer);
    this.pending.delete(p.key);
    this.pendingBytes -= p.data.length;
    if (incomplete) this.counters.incomplete++;
    this.finished.add(p.key);
    if (this.finished.size > FINISHED_MAX) this.finished.delete(this.finished.values().next().value as string);
    this.complete(p.source, p.head, p.data, incomplete, false);
  }

  private complete(source: string, d: ParsedDatagram, body: Buffer, incomplete: boolean, track = true): void {
    const { text, dict } = splitBody(body.toString('latin1'));
    const msg: Message = { source, extended: true, level: d.prio! & 7, facility: d.prio! >> 3, seq: d.seq, tsUsec: d.tsUsec, cont: d.cont, text, dict };
    if (d.release !== undefined) msg.release = d.release;
    if (incomplete) msg.incomplete = true;
    if (track) this.trackSeq(source, BigInt(d.seq!));
    this.deliver(msg);
  }

  private trackSeq(source: string, seq: bigint): void {
    const last = this.lastSeq.get(source);
    if (last !== undefined && seq > last + 1n) {
      this.counters.gaps++;
      this.emit('gap', { source, expected: String(last + 1n), got: String(seq) });
    }
    if (last === undefined || seq > last) this.lastSeq.set(source, seq);
  }

  private deliver(msg: Message): void {
    this.counters.messages++;
    this.emit('message', msg);
  }
}

/** How many finished fragmented messages are remembered to ignore their late duplicates. */
const FINISHED_MAX = 4096;

function covered(ranges: Array<[number, number]>): number {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let reach = 0;
  for (const [s, e] of sorted) {
    if (e <= reach) continue;
    total += e - Math.max(s, reach);
    reach = e;
  }
  return total;
}

/** A UDP socket feeding a Reassembler. */
export class Receiver extends Reassembler {
  private socket: Socket | null = null;

  async listen(address = '127.0.0.1', port = 6666): Promise<{ address: string; port: number }> {
    const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 8 << 20 });
    socket.on('message', (buf: Buffer, r: RemoteInfo) => this.push(buf, `${r.address}:${r.port}`));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.socket = socket;
    const a = socket.address();
    return { address: a.address, port: a.port };
  }

  async close(): Promise<void> {
    this.flushPending();
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
