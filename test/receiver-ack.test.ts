// `netconsole listen --ack`: the receiver half of netconsd's ncrx protocol (docs/reliable.md),
// driven by a hand-written fake sender: a UDP socket that sends extended datagrams (encoded by
// netconsole/wire) and reads the `ncrx<ack> <seq>...` replies. Waits are for events, with
// generous deadlines; nothing asserts how fast anything happened.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { encodeDatagrams } from '../src/core/wire.js';
import { AckStream, OOS_INTERVAL_MS, OOS_THRESHOLD, REPLY_MAX, ackParams, type Retired } from '../src/receiver/acks.js';
import { parseDatagram } from '../src/receiver/ncrx-parse.js';
import { Receiver, type LostEvent, type Message } from '../src/receiver/receiver.js';

const CLI = fileURLToPath(new URL('../src/faces/cli.js', import.meta.url));
const U64_MAX = (1n << 64n) - 1n;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Extended datagrams for one message; `emg` adds `ncemg=1` before any ncfrag, as nctx does. */
function datagrams(seq: bigint | number, text: string, emg = false): Buffer[] {
  return encodeDatagrams({ level: 6, seq, tsUsec: 1000 + Number(BigInt(seq) % 1000n), text }, { extended: true }).map(
    (d) => {
      const b = Buffer.from(d);
      if (!emg) return b;
      const semi = b.indexOf(';');
      const frag = b.subarray(0, semi).indexOf(',ncfrag=');
      const at = frag < 0 ? semi : frag;
      return Buffer.concat([b.subarray(0, at), Buffer.from(',ncemg=1'), b.subarray(at)]);
    },
  );
}

interface Reply {
  ack: bigint;
  missing: bigint[];
  raw: Buffer;
}

function parseReply(raw: Buffer): Reply {
  const text = raw.toString('latin1');
  assert.match(
    text,
    /^ncrx\d+( \d+)*$/,
    `a reply is ncrx<ack> then " <seq>"s, ASCII, no newline: ${JSON.stringify(text)}`,
  );
  const [ack, ...missing] = text.slice(4).split(' ').map(BigInt);
  for (let i = 1; i < missing.length; i++) assert.ok(missing[i - 1] < missing[i], `ascending: ${text}`);
  assert.ok(raw.length <= REPLY_MAX, `at most ${REPLY_MAX} bytes: ${raw.length}`);
  return { ack, missing, raw };
}

/** A fake sender: a UDP socket of its own (its own source port), collecting the replies. */
class FakeSender {
  readonly replies: Reply[] = [];
  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {}

  static async open(to: number): Promise<FakeSender> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    s.connect(to, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const f = new FakeSender(s, s.address().port);
    s.on('message', (m) => f.replies.push(parseReply(m)));
    return f;
  }

  async send(seq: bigint | number, text = `message ${seq}`, emg = false): Promise<void> {
    for (const d of datagrams(seq, text, emg))
      await new Promise<void>((r, j) => this.socket.send(d, (e) => (e ? j(e) : r())));
  }

  async sendRaw(d: Buffer): Promise<void> {
    await new Promise<void>((r, j) => this.socket.send(d, (e) => (e ? j(e) : r())));
  }

  get last(): Reply | undefined {
    return this.replies[this.replies.length - 1];
  }

  close(): void {
    this.socket.close();
  }
}

async function receiver(ack: object): Promise<{ r: Receiver; port: number; messages: Message[]; lost: LostEvent[] }> {
  const r = new Receiver({ ack });
  const messages: Message[] = [];
  const lost: LostEvent[] = [];
  r.on('message', (m: Message) => messages.push(m));
  r.on('lost', (e: LostEvent) => lost.push(e));
  const { port } = await r.listen('127.0.0.1', 0);
  return { r, port, messages, lost };
}

const seqsOf = (ms: Message[], source?: string): number[] =>
  ms.filter((m) => !source || m.source === source).map((m) => Number(m.seq));
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('listen --ack: the receiver side of the ncrx protocol', () => {
  test('holes are asked for (ncrx<ack> <missing...>), printed in seq order once resent, then the ack reaches 100 and requests stop', async () => {
    const { r, port, messages } = await receiver({ intervalMs: 50, retxIntervalMs: 50, msgTimeoutMs: 60_000 });
    const f = await FakeSender.open(port);
    try {
      const missing = [7, 8, 30, 55, 99];
      for (let s = 1; s <= 100; s++) if (!missing.includes(s)) await f.send(s);
      // Every hole asked for. Not necessarily in one reply: each hole is asked again
      // retxIntervalMs after its last request, so holes that appeared in different ticks (sends
      // spread over more than one, on a busy machine) keep being asked in different replies.
      const holes = missing.map(BigInt);
      await until(() => holes.every((h) => f.replies.some((x) => x.missing.includes(h))), 'every hole asked for');
      for (const x of f.replies.filter((y) => y.missing.length > 0)) {
        assert.ok(
          x.missing.every((h) => holes.includes(h)),
          `only holes below the highest seq: ${x.missing.join(' ')}`,
        );
        assert.deepEqual(
          x.missing,
          [...x.missing].sort((a, b) => (a < b ? -1 : 1)),
          'ascending',
        );
        assert.equal(x.ack, 6n, 'the ack: the last seq done (1..6 delivered, 7 missing)');
      }
      assert.deepEqual(seqsOf(messages), range(1, 6), 'nothing after a hole is printed before it is filled');
      for (const s of missing) await f.send(s);
      await until(() => f.last?.ack === 100n, 'the ack at 100');
      assert.deepEqual(seqsOf(messages), range(1, 100), 'all 100, in seq order, once each');
      assert.equal(
        messages.every((m) => !m.oos && !m.incomplete),
        true,
      );
      // Nothing more to ask for: replies stop (several intervals of silence).
      const n = f.replies.length;
      await sleep(400);
      assert.equal(
        f.replies.length,
        n,
        `no reply once all is acked: ${f.replies
          .slice(n)
          .map((x) => x.raw.toString())
          .join(' | ')}`,
      );
      assert.equal(r.ackCounters.lost, 0);
      assert.ok(r.ackCounters.requested >= missing.length);
    } finally {
      f.close();
      await r.close();
    }
  });

  test('a hole never filled is given up after the message timeout: a lost event, the ack moves past it, what waited is printed', async () => {
    const { r, port, messages, lost } = await receiver({ intervalMs: 20, retxIntervalMs: 20, msgTimeoutMs: 300 });
    const f = await FakeSender.open(port);
    try {
      for (const s of [1, 2, 4, 5]) await f.send(s);
      await until(() => lost.length === 1 && f.last?.ack === 5n, 'seq 3 given up and the ack at 5');
      assert.deepEqual(lost, [{ source: `127.0.0.1:${f.port}`, seq: '3', count: 1, reason: 'timeout' }]);
      assert.deepEqual(seqsOf(messages), [1, 2, 4, 5]);
      assert.equal(r.ackCounters.lost, 1);
      assert.ok(
        f.replies.some((x) => x.missing.includes(3n)),
        'it was asked for before it was given up',
      );
      // Resent too late: behind the tail, a duplicate (dropped, not printed again or [oos]).
      await f.send(3);
      await f.send(6);
      await until(() => f.last?.ack === 6n, 'the ack at 6');
      assert.deepEqual(seqsOf(messages), [1, 2, 4, 5, 6]);
      assert.ok(r.counters.duplicates >= 1);
    } finally {
      f.close();
      await r.close();
    }
  });

  test('an ncemg=1 resend behind the tail is a duplicate (dropped, not [oos]) and is acked at once', async () => {
    // An ack interval far longer than the test: any ack seen within it is the immediate one.
    const { r, port, messages } = await receiver({
      intervalMs: 600_000,
      retxIntervalMs: 600_000,
      msgTimeoutMs: 600_000,
    });
    const f = await FakeSender.open(port);
    try {
      for (let s = 10; s <= 12; s++) await f.send(s);
      await until(() => messages.length === 3, 'three messages');
      assert.equal(f.replies.length, 0, 'no ack before the interval');
      await f.send(11, 'message 11', true);
      await until(() => f.replies.length === 1, 'the immediate ack');
      assert.equal(f.last!.ack, 12n);
      assert.deepEqual(f.last!.missing, []);
      assert.deepEqual(seqsOf(messages), [10, 11, 12], 'the duplicate is not printed');
      assert.equal(r.counters.duplicates, 1);
      assert.equal(r.counters.oos, 0);
      assert.equal(r.ackCounters.emergency, 1);
      // A fragmented emergency resend (ncemg before ncfrag) of a new seq is a message like any other.
      await f.send(13, 'x'.repeat(2500), true);
      await until(() => messages.length === 4 && f.last!.ack === 13n, 'seq 13 reassembled and acked at once');
      assert.equal(messages[3].text, 'x'.repeat(2500));
    } finally {
      f.close();
      await r.close();
    }
  });

  test('many holes: one reply holds at most 1,000 bytes, the lowest holes first; the rest are asked for in later replies', async () => {
    const { r, port } = await receiver({ intervalMs: 30, retxIntervalMs: 30, msgTimeoutMs: 600_000 });
    const f = await FakeSender.open(port);
    try {
      const base = 1_000_000_000_000n; // 13-digit seqs: 14 bytes per hole
      for (let i = 0n; i <= 400n; i += 2n) await f.send(base + i); // 200 holes, ~2,800 bytes of list
      const holes = Array.from({ length: 200 }, (_, i) => base + 2n * BigInt(i) + 1n);
      await until(() => new Set(f.replies.flatMap((x) => x.missing)).size === holes.length, 'every hole asked for');
      const first = f.replies.find((x) => x.missing.length > 0)!;
      assert.deepEqual(first.missing, holes.slice(0, first.missing.length), 'the lowest holes, ascending');
      assert.equal(first.ack, base, 'the ack: base done, base+1 missing');
      // A full one: no room for one more 14-byte " <seq>".
      assert.ok(
        f.replies.some((x) => x.raw.length > REPLY_MAX - 14),
        `a full reply: ${f.replies.map((x) => x.raw.length).join(' ')}`,
      );
      for (const x of f.replies) assert.ok(x.raw.length <= REPLY_MAX);
    } finally {
      f.close();
      await r.close();
    }
  });

  test('at the start of a stream the ack is the seq before the first (2^64-1 when the stream starts at 0), sent before anything is done', async () => {
    const { r, port, messages } = await receiver({ intervalMs: 30, retxIntervalMs: 600_000, msgTimeoutMs: 600_000 });
    const a = await FakeSender.open(port);
    const b = await FakeSender.open(port);
    try {
      // Only the first fragment of a 2-fragment seq 0: nothing is done yet.
      const [frag0] = datagrams(0, 'y'.repeat(2000));
      await a.sendRaw(frag0);
      await until(() => a.replies.length >= 1, 'the first ack');
      assert.equal(a.replies[0].ack, U64_MAX, 'ncrx18446744073709551615: nothing done yet');
      assert.equal(a.replies[0].raw.toString(), `ncrx${U64_MAX}`);
      assert.equal(messages.length, 0);
      // A stream starting at 500 with its first message complete: done at once, ack 500.
      await b.send(500);
      await until(() => b.replies.length >= 1, 'b acked');
      assert.equal(b.replies[0].ack, 500n);
    } finally {
      a.close();
      b.close();
      await r.close();
    }
  });

  test('ncfirst=<seq> (a reliable sender not answered yet): the stream starts there, so messages lost before the first one that arrived are asked for and printed first', async () => {
    const { r, port, messages } = await receiver({
      intervalMs: 30,
      retxIntervalMs: 30,
      msgTimeoutMs: 600_000,
      window: 100,
    });
    const withFirst = (seq: number, first: string): Buffer[] =>
      datagrams(seq, `message ${seq}`).map((b) => {
        const semi = b.indexOf(';');
        return Buffer.concat([b.subarray(0, semi), Buffer.from(`,ncfirst=${first}`), b.subarray(semi)]);
      });
    const senders = await Promise.all([0, 1, 2, 3].map(() => FakeSender.open(port)));
    const [a, b, c, d] = senders;
    try {
      // a: 3 and 4 were lost; 5 arrives first, saying its stream began at 3.
      for (const x of withFirst(5, '3')) await a.sendRaw(x);
      await a.send(6);
      await until(() => a.replies.some((x) => x.missing.length > 0), 'a asks for 3 and 4');
      const ask = a.replies.find((x) => x.missing.length > 0)!;
      assert.deepEqual(ask.missing, [3n, 4n]);
      assert.equal(ask.ack, 2n, 'nothing done: the ack is the seq before the stream began');
      assert.equal(messages.length, 0, 'nothing printed before the holes before it');
      await a.send(3);
      await a.send(4);
      await until(() => a.last?.ack === 6n, 'a acked to 6');
      assert.deepEqual(seqsOf(messages, `127.0.0.1:${a.port}`), [3, 4, 5, 6]);
      // b: ncfirst past the seq says nothing; the stream starts at the seq (not at 60: nothing
      // before 60 would then have a place).
      for (const x of withFirst(50, '60')) await b.sendRaw(x);
      for (const x of withFirst(51, '51')) await b.sendRaw(x);
      await until(() => b.last?.ack === 51n, 'b acked to 51');
      // c: ncfirst further back than the window: the stream starts a window back, not further.
      for (const x of withFirst(1000, '0')) await c.sendRaw(x);
      await until(() => c.replies.some((x) => x.missing.length > 0), 'c asks');
      const cask = c.replies.find((x) => x.missing.length > 0)!;
      assert.equal(cask.ack, 900n, 'window 100: seqs 901..999 are holes, no more');
      assert.equal(cask.missing[0], 901n);
      // d: a value that does not parse is ignored; the datagram is still an extended message.
      for (const x of withFirst(70, 'x1')) await d.sendRaw(x);
      await until(() => d.last?.ack === 70n, 'd acked to 70');
      assert.ok(messages.some((m) => m.source === `127.0.0.1:${d.port}` && m.seq === '70'));
    } finally {
      for (const f of senders) f.close();
      await r.close();
    }
  });

  test('two streams from two ports of one address: each its own order, holes and replies', async () => {
    const { r, port, messages } = await receiver({ intervalMs: 30, retxIntervalMs: 30, msgTimeoutMs: 600_000 });
    const a = await FakeSender.open(port);
    const b = await FakeSender.open(port);
    try {
      // The same seqs from both, each missing a different one.
      for (let s = 1; s <= 20; s++) {
        if (s !== 5) await a.send(s, `a ${s}`);
        if (s !== 15) await b.send(s, `b ${s}`);
      }
      await until(
        () => a.replies.some((x) => x.missing.length > 0) && b.replies.some((x) => x.missing.length > 0),
        'requests to both',
      );
      assert.deepEqual([...new Set(a.replies.flatMap((x) => x.missing))], [5n]);
      assert.deepEqual([...new Set(b.replies.flatMap((x) => x.missing))], [15n]);
      await a.send(5, 'a 5');
      await b.send(15, 'b 15');
      await until(() => a.last?.ack === 20n && b.last?.ack === 20n, 'both acked to 20');
      const srcA = `127.0.0.1:${a.port}`;
      const srcB = `127.0.0.1:${b.port}`;
      assert.deepEqual(seqsOf(messages, srcA), range(1, 20));
      assert.deepEqual(seqsOf(messages, srcB), range(1, 20));
      assert.ok(messages.filter((m) => m.source === srcA).every((m) => m.text.startsWith('a ')));
      assert.equal(r.counters.duplicates, 0, 'the same seq from another port is not a duplicate');
    } finally {
      a.close();
      b.close();
      await r.close();
    }
  });

  test('hostile input stays bounded: huge seqs, 10,000 holes, garbage, many ports', async () => {
    const held = { maxHeldSeqs: 20_000, maxHeldBytes: 1 << 20, maxRememberedSeqs: 10_000 };
    const { r, port, messages, lost } = await receiver({
      intervalMs: 20,
      retxIntervalMs: 20,
      msgTimeoutMs: 600_000,
      ...held,
    });
    const f = await FakeSender.open(port);
    try {
      // 10,000 holes: 7,998, then 2,002 more; the window (8,192) pushes the oldest out.
      await f.send(1);
      await f.send(8000);
      await f.send(10_002);
      // Huge seqs: 2^64-1, then back: restarts, never a wrap-around or a 2^64-slot window.
      await f.send(U64_MAX);
      await f.send(U64_MAX - 1n);
      await f.send(2);
      // Garbage and legacy lines: printed as netconsd prints them, no state.
      for (const g of ['ncrx5 1 2 3', '\u0000\u0001', '6,abc,0,-;x', ';;;', '6,5,0,-,ncfrag=0/99999;x'])
        await f.sendRaw(Buffer.from(g, 'latin1'));
      // Many streams each holding a big window: the total stays within maxHeldSeqs.
      const others: FakeSender[] = [];
      for (let i = 0; i < 4; i++) others.push(await FakeSender.open(port));
      for (const o of others) {
        await o.send(1);
        await o.send(8000);
      }
      await until(() => f.replies.length > 0 && others.every((o) => o.replies.length > 0), 'replies to all');
      await sleep(100);
      assert.ok(r.held.seqs <= held.maxHeldSeqs, `held seqs ${r.held.seqs} within ${held.maxHeldSeqs}`);
      assert.ok(r.held.bytes <= held.maxHeldBytes, `held bytes ${r.held.bytes}`);
      assert.ok(
        r.held.remembered > 0 && r.held.remembered <= held.maxRememberedSeqs,
        `remembered ${r.held.remembered} within ${held.maxRememberedSeqs}`,
      );
      assert.ok(r.counters.restarts >= 1, 'a far jump is a new stream');
      assert.ok(lost.length > 0 && lost.every((e) => e.count >= 1), 'given-up holes reported as ranges');
      // Replies never exceed 1,000 bytes, however many holes.
      for (const o of [f, ...others]) for (const x of o.replies) assert.ok(x.raw.length <= REPLY_MAX);
      // Still working: a fresh stream is acked.
      const g = await FakeSender.open(port);
      await g.send(42);
      await until(() => g.last?.ack === 42n, 'a fresh stream acked');
      g.close();
      for (const o of others) o.close();
      assert.ok(
        messages.some((m) => !m.extended),
        'garbage printed as legacy lines',
      );
    } finally {
      f.close();
      await r.close();
    }
  });

  test('the window pushes the tail out; total held seqs and bytes stay under their bounds (small bounds, no socket)', () => {
    const r = new Receiver({
      ack: {
        intervalMs: 600_000,
        retxIntervalMs: 600_000,
        msgTimeoutMs: 600_000,
        window: 100,
        maxHeldSeqs: 250,
        maxHeldBytes: 50_000,
      },
    });
    const lost: LostEvent[] = [];
    r.on('lost', (e: LostEvent) => lost.push(e));
    const push = (src: string, seq: number, text = `m${seq}`): void => {
      for (const d of datagrams(seq, text)) r.push(d, src);
    };
    push('10.0.0.1:1', 1);
    push('10.0.0.1:1', 150); // past a window of 100 ahead of 1: within 100? no: a restart
    assert.equal(r.counters.restarts, 1);
    push('10.0.0.1:1', 240); // 90 ahead: 89 holes held
    assert.equal(r.held.seqs, 90);
    push('10.0.0.1:1', 300); // the span would be 151 > 100: the tail is pushed out (lost 'pushed')
    assert.ok(r.held.seqs <= 100, `held ${r.held.seqs}`);
    assert.ok(lost.some((e) => e.reason === 'pushed'));
    for (let p = 2; p <= 5; p++) (push(`10.0.0.1:${p}`, 1), push(`10.0.0.1:${p}`, 99));
    assert.ok(r.held.seqs <= 250, `total ${r.held.seqs}`);
    // Bytes: large messages waiting behind a hole.
    push('10.0.0.9:1', 1);
    for (let s = 3; s <= 40; s++) push('10.0.0.9:1', s, 'z'.repeat(3000)); // 2 missing: all wait behind it
    assert.ok(r.held.bytes <= 50_000, `bytes ${r.held.bytes}`);
    r.flushPending();
    assert.equal(r.held.seqs, 0);
    assert.equal(r.held.bytes, 0);
  });
});

describe('AckStream: a seq behind the tail, with given times (no socket)', () => {
  // One stream, its datagrams pushed with the times given; what it prints, in order.
  function stream(): { push: (seq: number, text: string, now: number, ts?: number) => string[]; printed: string[] } {
    const printed: string[] = [];
    const out = (r: Retired): void => {
      if (r.kind === 'lost') printed.push(`lost ${r.seq}+${r.count}`);
      else printed.push(`${r.head.seq}${r.oos ? ' [oos]' : ''}${r.incomplete ? ' [incomplete]' : ''}`);
    };
    const p = ackParams({ intervalMs: 600_000, retxIntervalMs: 600_000, msgTimeoutMs: 600_000 });
    const s = new AckStream(0n, 0, p, { seqs: 0, bytes: 0, remembered: 0 }, out);
    return {
      printed,
      // Every datagram of the message (several when it is fragmented); the result of each.
      push: (seq, text, now, ts = 1000 + seq) =>
        encodeDatagrams({ level: 6, seq, tsUsec: ts, text }, { extended: true }).map((d) =>
          s.push(parseDatagram(Buffer.from(d)), now),
        ),
    };
  }
  const text = (seq: number): string => (seq % 2 === 0 ? `message ${seq} `.padEnd(2500, 'x') : `message ${seq}`);

  test(`a resend of a message already printed, arriving ${OOS_INTERVAL_MS} ms and more after the tail last moved (the stream held on a hole; a sender answering old requests late, under load): a duplicate, never printed again, and any number of them does not restart the stream`, () => {
    const s = stream();
    for (let seq = 0; seq < 10; seq++) s.push(seq, text(seq), 0);
    for (let seq = 11; seq < 20; seq++) s.push(seq, text(seq), 100); // 10 lost: 11.. wait behind it
    assert.deepEqual(s.printed, range(0, 9).map(String));
    // The sender resends 0..9 again, once each, then 8 a few times more, from 6 s on: requests the
    // receiver made long ago, answered late. All are copies of what was printed.
    const results: string[] = [];
    for (let k = 0; k < 3; k++)
      for (let seq = 0; seq < 10; seq++) results.push(...s.push(seq, text(seq), OOS_INTERVAL_MS + 1000 + k));
    for (let k = 0; k < 2 * OOS_THRESHOLD; k++) results.push(...s.push(8, text(8), OOS_INTERVAL_MS + 2000 + k));
    assert.deepEqual(s.printed, range(0, 9).map(String), 'nothing printed again');
    assert.ok(
      results.every((r) => r === 'duplicate'),
      `each a duplicate: ${[...new Set(results)].join(', ')}`,
    );
    s.push(10, text(10), OOS_INTERVAL_MS + 3000);
    assert.deepEqual(s.printed, range(0, 19).map(String), 'the hole filled: the rest, in order, once');
  });

  test('what was printed is remembered a window back, within the total over all streams (maxRememberedSeqs); past it a late resend is [oos] as before; a stream let go gives its share back', () => {
    const budget = { seqs: 0, bytes: 0, remembered: 0 };
    const p = ackParams({ retxIntervalMs: 600_000, msgTimeoutMs: 600_000, window: 1000, maxRememberedSeqs: 320 });
    const printed: string[] = [];
    const out = (r: Retired): void =>
      void (r.kind === 'message' && printed.push(`${r.head.seq}${r.oos ? ' [oos]' : ''}`));
    const push = (s: AckStream, seq: number, now: number): string =>
      s.push(parseDatagram(Buffer.from(`6,${seq},${1000 + seq},-;m ${seq}`)), now);
    const late = OOS_INTERVAL_MS + 1;
    const a = new AckStream(0n, 0, p, budget, out);
    for (let seq = 0; seq < 500; seq++) push(a, seq, 0);
    assert.equal(budget.remembered, 256, 'a: 64, 128, 256; 512 would pass the total');
    const b = new AckStream(0n, 0, p, budget, out);
    for (let seq = 0; seq < 100; seq++) push(b, seq, 0);
    assert.equal(budget.remembered, 320, 'b: 64, then the total is reached');
    printed.length = 0;
    for (let seq = 499; seq >= 500 - 256; seq--) assert.equal(push(a, seq, late), 'duplicate', `a: seq ${seq}`);
    assert.equal(push(a, 500 - 257, late), 'oos', 'a: one further back is not known: the time rule');
    for (let seq = 99; seq >= 100 - 64; seq--) assert.equal(push(b, seq, late), 'duplicate', `b: seq ${seq}`);
    assert.equal(push(b, 100 - 65, late), 'oos', 'b: one further back');
    assert.deepEqual(printed, [`${500 - 257} [oos]`, `${100 - 65} [oos]`]);
    // a is let go (forgotten, or the receiver closes): its share is back, and b grows (its ring
    // wrapped meanwhile: what it held is kept, oldest first).
    a.flush('closed');
    assert.equal(budget.remembered, 64);
    for (let seq = 100; seq < 110; seq++) push(b, seq, late);
    assert.equal(budget.remembered, 128);
    for (let seq = 109; seq >= 110 - 74; seq--) assert.equal(push(b, seq, 2 * late), 'duplicate', `b: seq ${seq}`);
    assert.equal(push(b, 110 - 75, 2 * late), 'oos');
    b.flush('closed');
    assert.equal(budget.remembered, 0);
  });

  test(`another message under a seq behind the tail (the same text at another time: a sender that restarted its seqs) after ${OOS_INTERVAL_MS} ms: printed [oos]; ${OOS_THRESHOLD} of the last 32 restart the stream; within ${OOS_INTERVAL_MS} ms, dropped as libncrx does`, () => {
    const s = stream();
    for (let seq = 0; seq < 40; seq++) s.push(seq, `message ${seq}`, 0);
    assert.deepEqual(s.push(3, 'message 3', 10, 50_000), ['duplicate'], 'within the interval');
    const results: string[] = [];
    for (let seq = 0; seq < OOS_THRESHOLD; seq++)
      results.push(...s.push(seq, `message ${seq}`, OOS_INTERVAL_MS + 100, 50_000 + seq));
    assert.deepEqual(results, [...Array<string>(OOS_THRESHOLD - 1).fill('oos'), 'restart']);
    assert.deepEqual(s.printed, [
      ...range(0, 39).map(String),
      ...range(0, OOS_THRESHOLD - 2).map((seq) => `${seq} [oos]`),
      String(OOS_THRESHOLD - 1), // the new stream begins at it
    ]);
  });
});

describe('AckStream: which holes a reply asks for, with given times (no socket)', () => {
  test('more holes than a reply holds: after a stride crossing each is asked for once, over the replies that follow, oldest first; a hole that opens meanwhile is asked for in the next crossing, however many older ones wait', () => {
    // Only crossings make holes due here (the retransmission interval is far off). At 20% loss and
    // 10,000 messages/s a stream has thousands of holes: before, each crossing asked for the ~190
    // oldest (one reply) and nothing newer, so a new hole waited for its interval (1 s) while a
    // sender keeping 0.2 s of messages had pushed it out.
    const p = ackParams({ intervalMs: 600_000, retxIntervalMs: 600_000, msgTimeoutMs: 600_000 });
    const s = new AckStream(0n, 0, p, { seqs: 0, bytes: 0, remembered: 0 }, () => {});
    const push = (seq: number, now: number): string =>
      s.push(parseDatagram(Buffer.from(`6,${seq},${1000 + seq},-;m ${seq}`)), now);
    for (let seq = 0; seq <= 3000; seq += 3) push(seq, 0); // holes: 2 of every 3 seqs up to 3000
    const asked = new Map<bigint, number>();
    /** What one tick of the reassembler sends (Reassembler.ackTick): replies while the last had no
     *  room, at most 8. */
    const tick = (now: number): void => {
      let text = s.tick(now);
      for (let n = 1; text !== undefined; n++) {
        const [, ...missing] = text.slice(4).split(' ').map(BigInt);
        for (const seq of missing) asked.set(seq, (asked.get(seq) ?? 0) + 1);
        text = s.more && n < 8 ? s.reply(now, false) : undefined;
      }
    };
    push(3003, 10);
    push(3100, 10); // the head crossed multiples of 256 up to 3072
    const holes = (from: number, to: number): bigint[] => {
      const out: bigint[] = [];
      for (let seq = from; seq < to; seq++) if (seq % 3 !== 0 && seq !== 3003) out.push(BigInt(seq));
      return out;
    };
    const due = holes(1, 3101 - 256); // more than a stride behind the head
    assert.ok(due.length > 1800, 'more than 8 replies hold');
    for (let t = 20; t <= 200 && asked.size < due.length; t += 20) tick(t);
    assert.deepEqual(
      [...asked.keys()].sort((a, b) => (a < b ? -1 : 1)),
      due,
      'every due hole, once, no other',
    );
    assert.ok(
      [...asked.values()].every((n) => n === 1),
      'none twice before the next crossing',
    );
    tick(220);
    assert.ok(
      [...asked.values()].every((n) => n === 1),
      'nothing more without a crossing',
    );
    // Holes open at 3101 .. 3399 (beyond the stride then), the head crosses 3584: all of them are
    // asked for within the ticks of this crossing, behind the ~1,900 older ones asked again.
    asked.clear();
    push(3400, 240);
    push(3600, 240);
    const fresh = holes(3101, 3600 - 256).filter((seq) => seq > 3100n);
    for (let t = 260; t <= 600 && !fresh.every((seq) => asked.has(seq)); t += 20) tick(t);
    assert.ok(
      fresh.every((seq) => asked.get(seq) === 1),
      `the new holes asked for once each: ${fresh.filter((q) => !asked.has(q)).length} not`,
    );
  });
});

describe('netconsole listen --ack, the command, with a fake sender', () => {
  test('acks, asks for the hole, prints in order; --json has a lost event for a hole never filled', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'listen',
        '--port',
        '0',
        '--ack',
        '--json',
        '--ack-interval',
        '50',
        '--retx-interval',
        '50',
        '--msg-timeout',
        '1500',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    try {
      await until(() => /listening on .*:(\d+)/.test(stderr), 'listening');
      const port = Number(/listening on .*:(\d+)/.exec(stderr)![1]);
      const f = await FakeSender.open(port);
      try {
        for (const s of [1, 2, 4, 5, 7, 8]) await f.send(s);
        // The two holes opened at different moments, so on a busy machine they may be asked for
        // in different replies: what must hold is that each is asked for, and nothing else.
        const asked = (): bigint[] =>
          [...new Set(f.replies.flatMap((x) => x.missing))].sort((x, y) => (x < y ? -1 : 1));
        await until(() => asked().length >= 2, 'requests for 3 and 6');
        assert.deepEqual(asked(), [3n, 6n]);
        for (const r of f.replies)
          assert.deepEqual(
            r.missing,
            [...r.missing].sort((x, y) => (x < y ? -1 : 1)),
            'ascending within a reply',
          );
        await f.send(3); // 6 never comes
        await until(() => f.last?.ack === 8n, 'the ack at 8 (6 given up)');
        await until(() => stdout.trimEnd().split('\n').length === 8, 'seven messages and one lost event');
        const lines = stdout
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.deepEqual(
          lines.map((l) => (l.event === 'lost' ? `lost ${l.seq}` : l.seq)),
          ['1', '2', '3', '4', '5', 'lost 6', '7', '8'],
        );
        assert.deepEqual(lines[5], {
          event: 'lost',
          source: `127.0.0.1:${f.port}`,
          seq: '6',
          count: 1,
          reason: 'timeout',
        });
      } finally {
        f.close();
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    assert.match(stderr, /replies \(\d+ seqs asked for again, 0 not sent\), 1 seqs given up/);
  });

  test('--ack-interval without --ack is refused', async () => {
    const child = spawn(process.execPath, [CLI, 'listen', '--port', '0', '--ack-interval', '50'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 2);
    assert.match(stderr, /--ack-interval applies only with --ack/);
  });
});
