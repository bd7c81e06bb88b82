// The lossy proxy (harness/lossy-proxy.ts) that tests of the ncrx protocol put between
// senders and a receiver: seeded random drops that replay with their seed, replies relayed to the
// right sender, held replies, one-shot drops. A fake receiver (a Sink that answers `ncrx<seq>` to
// each datagram's source) stands for `netconsole listen --ack`. Replay with NETCONSOLE_PROXY_SEED.
// Waits are for events, with generous deadlines; nothing asserts how fast anything happened.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { encodeDatagrams } from '../src/core/wire.js';
import { LossyProxy, type LossyProxyOptions } from '../harness/lossy-proxy.js';
import { seedFrom } from '../harness/random.js';
import { Sink, socketDrops } from './helpers/udp.js';

const SEED = seedFrom('NETCONSOLE_PROXY_SEED');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (seed ${SEED})`);
    await sleep(5);
  }
}

/** One extended datagram for `seq`; `emg` puts `,ncemg=1` at the end of its header. */
function datagram(seq: number, emg = false): Buffer {
  const [d] = encodeDatagrams({ level: 6, seq, tsUsec: 1000 + seq, text: `message ${seq}` }, { extended: true });
  const b = Buffer.from(d);
  const semi = b.indexOf(';');
  return emg ? Buffer.concat([b.subarray(0, semi), Buffer.from(',ncemg=1'), b.subarray(semi)]) : b;
}

const seqOf = (d: Buffer): number => Number(d.toString('latin1', 0, d.indexOf(';')).split(',')[1]);

/** A fake receiver: answers `ncrx<seq>` to the source of every datagram. */
async function echoReceiver(): Promise<Sink> {
  const sink = await Sink.open();
  sink.socket.on('message', (d, r) => sink.socket.send(`ncrx${seqOf(d)}`, r.port, r.address));
  return sink;
}

/** A sender as the one under test has it: a socket connect()ed to the proxy, keeping the replies. */
class Sender {
  readonly replies: Array<{ text: string; address: string; port: number }> = [];
  private constructor(readonly socket: Socket) {
    socket.on('message', (m, r) => this.replies.push({ text: m.toString('latin1'), address: r.address, port: r.port }));
  }

  static async open(proxy: LossyProxy): Promise<Sender> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    s.connect(proxy.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    return new Sender(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(d: Buffer): Promise<void> {
    return new Promise((r, j) => this.socket.send(d, (e) => (e ? j(e) : r())));
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

async function withProxy(
  o: Omit<LossyProxyOptions, 'upstream' | 'seed'> & { seed?: number },
  body: (proxy: LossyProxy, sink: Sink) => Promise<void>,
): Promise<void> {
  const sink = await echoReceiver();
  const proxy = await LossyProxy.start({ seed: SEED, ...o, upstream: { address: '127.0.0.1', port: sink.port } });
  try {
    await body(proxy, sink);
    assert.deepEqual(proxy.errors, [], `no socket errors (seed ${SEED})`);
  } finally {
    await proxy.close();
    await sink.close();
  }
}

const seen = (p: LossyProxy): number => p.stats.forwarded + p.stats.forwardDropped;

describe('the lossy proxy (test helper)', () => {
  /** Sends seqs 0..n-1 (every 10th with ncemg=1) through a proxy with forwardLoss 0.2; the seqs it dropped. */
  async function lossRun(seed: number, n = 5000): Promise<number[]> {
    const dropped: number[] = [];
    await withProxy({ seed, forwardLoss: 0.2 }, async (proxy, sink) => {
      proxy.onForward = (d, drop) => {
        if (drop) dropped.push(seqOf(d));
      };
      const s = await Sender.open(proxy);
      try {
        // In batches, each taken by the proxy before the next, so no queue overflows in between.
        for (let seq = 0; seq < n;) {
          for (const end = Math.min(seq + 100, n); seq < end; seq++) await s.send(datagram(seq, seq % 10 === 0));
          await until(
            () => seen(proxy) === seq,
            `the proxy to take ${seq} datagrams (${seen(proxy)}; drops at its socket: ${socketDrops(proxy.port)})`,
          );
        }
        await until(
          () => sink.got.length === proxy.stats.forwarded,
          `the receiver to get ${proxy.stats.forwarded} datagrams (${sink.got.length})`,
        );
      } finally {
        await s.close();
      }
      assert.equal(proxy.stats.forwardDropped, dropped.length);
      const through = sink.got.map((g) => seqOf(g.data));
      const gone = new Set(dropped);
      assert.deepEqual(
        through,
        Array.from({ length: n }, (_, i) => i).filter((i) => !gone.has(i)),
        `the others, in order (seed ${seed})`,
      );
      for (const g of sink.got)
        assert.deepEqual(g.data, datagram(seqOf(g.data), seqOf(g.data) % 10 === 0), 'relayed unchanged');
      assert.equal(proxy.stats.emergency, through.filter((i) => i % 10 === 0).length, 'ncemg=1 datagrams relayed');
      assert.equal(new Set(sink.got.map((g) => g.from)).size, 1, 'one source port upstream for the one sender');
    });
    return dropped;
  }

  test(`forwardLoss 0.2 drops about a fifth of 5,000 datagrams, the same ones again with the same seed (seed ${SEED})`, async () => {
    const a = await lossRun(SEED);
    assert.ok(a.length >= 750 && a.length <= 1250, `${a.length} of 5000 dropped, not 15..25% (seed ${SEED})`);
    assert.deepEqual(await lossRun(SEED), a, `the same drops with seed ${SEED}`);
    assert.notDeepEqual(await lossRun(SEED + 1), a, `other drops with seed ${SEED + 1}`);
  });

  test(`two senders at once: one upstream stream each, and each gets its own replies from the proxy's port (seed ${SEED})`, async () => {
    await withProxy({}, async (proxy, sink) => {
      const a = await Sender.open(proxy);
      const b = await Sender.open(proxy);
      try {
        for (let i = 1; i <= 50; i++) {
          await a.send(datagram(i));
          await b.send(datagram(1000 + i));
        }
        await until(
          () => a.replies.length === 50 && b.replies.length === 50,
          `50 replies each (${a.replies.length}, ${b.replies.length})`,
        );
        const texts = (s: Sender): string[] => s.replies.map((r) => r.text).sort();
        assert.deepEqual(texts(a), Array.from({ length: 50 }, (_, i) => `ncrx${i + 1}`).sort());
        assert.deepEqual(texts(b), Array.from({ length: 50 }, (_, i) => `ncrx${1001 + i}`).sort());
        for (const r of [...a.replies, ...b.replies])
          assert.deepEqual([r.address, r.port], ['127.0.0.1', proxy.port], 'from the proxy');
        const sources = (low: boolean): Set<number> =>
          new Set(sink.got.filter((g) => seqOf(g.data) < 1000 === low).map((g) => g.from));
        const [fromA, fromB] = [sources(true), sources(false)];
        assert.equal(fromA.size, 1);
        assert.equal(fromB.size, 1);
        const ports = [...fromA, ...fromB];
        assert.notEqual(ports[0], ports[1], 'a stream of its own for each sender');
        for (const p of ports)
          assert.ok(![a.port, b.port, proxy.port].includes(p), `an upstream socket of the proxy's: ${p}`);
        assert.deepEqual(proxy.stats, {
          forwarded: 100,
          forwardDropped: 0,
          replies: 100,
          replyDropped: 0,
          emergency: 0,
        });
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  test(`holdReplies drops every reply; released, replies flow again (seed ${SEED})`, async () => {
    await withProxy({}, async (proxy, sink) => {
      const s = await Sender.open(proxy);
      try {
        proxy.holdReplies = true;
        for (let i = 1; i <= 20; i++) await s.send(datagram(i));
        await until(() => proxy.stats.replyDropped === 20, `20 replies held (${proxy.stats.replyDropped})`);
        assert.equal(sink.got.length, 20);
        assert.equal(proxy.stats.replies, 0);
        assert.equal(s.replies.length, 0, 'no reply reached the sender');
        proxy.holdReplies = false;
        await s.send(datagram(21));
        await until(() => s.replies.length === 1, 'the reply to 21');
        assert.deepEqual(
          s.replies.map((r) => r.text),
          ['ncrx21'],
        );
        assert.equal(proxy.stats.replies, 1);
      } finally {
        await s.close();
      }
    });
  });

  test(`replyDelayMs holds every reply that long, then relays them in order (seed ${SEED})`, async () => {
    await withProxy({ replyDelayMs: 400 }, async (proxy) => {
      const s = await Sender.open(proxy);
      const at: number[] = [];
      s.socket.on('message', () => at.push(performance.now()));
      try {
        const sent = performance.now();
        for (let i = 1; i <= 5; i++) await s.send(datagram(i));
        await until(() => s.replies.length === 5, `5 replies (${s.replies.length})`);
        assert.deepEqual(
          s.replies.map((r) => r.text),
          [1, 2, 3, 4, 5].map((i) => `ncrx${i}`),
        );
        // Timers never fire early (a millisecond of rounding allowed).
        assert.ok(at[0] - sent >= 399, `the first reply ${Math.round(at[0] - sent)} ms after the sends`);
        assert.equal(proxy.stats.replies, 5);
      } finally {
        await s.close();
      }
    });
  });

  test(`dropNext drops exactly one datagram: the next that matches, not a resend of it (seed ${SEED})`, async () => {
    await withProxy({}, async (proxy, sink) => {
      const s = await Sender.open(proxy);
      try {
        proxy.dropNext((d) => seqOf(d) === 5);
        for (let i = 1; i <= 10; i++) await s.send(datagram(i));
        await s.send(datagram(5)); // the resend
        await until(
          () => seen(proxy) === 11 && sink.got.length === 10,
          `11 taken, 10 relayed (${seen(proxy)}, ${sink.got.length})`,
        );
        assert.deepEqual(
          sink.got.map((g) => seqOf(g.data)),
          [1, 2, 3, 4, 6, 7, 8, 9, 10, 5],
        );
        assert.equal(proxy.stats.forwardDropped, 1);
      } finally {
        await s.close();
      }
    });
  });
});
