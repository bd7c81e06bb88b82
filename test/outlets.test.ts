// The dgram sender's outlets (src/sender/outlets.ts) over a socket that behaves as Node's does
// (lib/dgram.js): a send the kernel takes is called back on the next tick; one it refuses waits in
// the queue, holding its buffer, and so does every send after it until the queue empties, called
// back in order. Then over a real socket: a datagram goes out whole from the scratch, as long as
// the socket resolves addresses synchronously, as sockets.ts's do (shown with one that does not).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { Outlets } from '../src/sender/outlets.js';
import { SocketPool } from '../src/sender/sockets.js';
import { Sink } from './helpers/udp.js';

/** A socket whose kernel takes `room` datagrams, then refuses until drain(). */
class FakeSocket {
  room = Infinity;
  sent: string[] = [];
  private queue: Array<{ buf: Buffer; cb: (err: Error | null) => void }> = [];

  send(buf: Buffer, _port: number, _address: string, cb: (err: Error | null) => void): void {
    if (this.queue.length === 0 && this.room > 0) {
      this.room--;
      this.sent.push(buf.toString());
      process.nextTick(cb, null);
    } else this.queue.push({ buf, cb }); // holds the caller's buffer, as libuv does
  }

  /** The socket became writable: libuv sends what waits, in order; `fail` the first n with an error. */
  drain(fail = 0): void {
    for (const { buf, cb } of this.queue.splice(0)) {
      this.sent.push(buf.toString());
      cb(fail-- > 0 ? new Error('ECONNREFUSED') : null);
    }
  }

  getSendQueueCount(): number {
    return this.queue.length;
  }

  getSendQueueSize(): number {
    return this.queue.reduce((n, q) => n + q.buf.length, 0);
  }
}

interface Outcome {
  err: boolean;
  t: number;
  msg: number;
  lost: boolean;
}

function setup(onOutcome?: (x: Outcome) => void): {
  outlets: Outlets;
  outcomes: Outcome[];
  unblocked: () => number;
  socket: FakeSocket;
} {
  const outcomes: Outcome[] = [];
  let unblocks = 0;
  const outlets = new Outlets(
    (err, t, msg, _report, lost) => {
      const x = { err: err !== null, t, msg, lost };
      outcomes.push(x);
      onOutcome?.(x);
    },
    () => unblocks++,
  );
  return { outlets, outcomes, unblocked: () => unblocks, socket: new FakeSocket() };
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));

describe('outlets: one callback per socket, at most one datagram of ours queued', () => {
  test('callbacks are matched to their sends in order, through the compaction of the in-flight list', async () => {
    // A send made from a callback, while the list is being consumed, is called back last.
    const late = (x: Outcome): void => void (x.msg === 2600 && o.send(bytes('late'), 1, '127.0.0.1', 2, 99999, 0));
    const { outlets, outcomes, socket } = setup(late);
    const o = outlets.get(socket as unknown as Socket);
    const N = 5000; // the list is compacted half-way through their callbacks (past 4,096 entries' worth)
    for (let i = 0; i < N; i++) o.send(bytes(`m${i}`), 1, '127.0.0.1', i % 3, i, 0);
    assert.equal(o.inFlight, N);
    await new Promise((r) => setImmediate(r));
    assert.equal(o.inFlight, 0);
    assert.deepEqual(
      outcomes.map((x) => x.msg),
      [...Array.from({ length: N }, (_, i) => i), 99999],
    );
    assert.ok(outcomes.every((x, i) => x.t === (i < N ? i % 3 : 2) && !x.err && !x.lost));
    assert.equal(socket.sent[N], 'late');
  });

  test('a refused send blocks the socket; the scratch it holds is not written again; the queue empties and it unblocks', async () => {
    const { outlets, outcomes, unblocked, socket } = setup();
    const o = outlets.get(socket as unknown as Socket);
    socket.room = 1;
    o.send(bytes('first'), 1, 'a', 0, 1, 0);
    assert.equal(o.blocked, false);
    o.send(bytes('second'), 1, 'a', 0, 2, 0); // refused: waits in the queue with the scratch
    assert.equal(o.blocked, true);
    const other = outlets.get(new FakeSocket() as unknown as Socket);
    other.send(bytes('xxxxxxxxxxxxxxxx'), 1, 'a', 1, 1, 0); // another socket's send: a new scratch
    // The spill: a copy of its own behind the queued one.
    o.sendCopy(bytes('third'), 1, 'a', 0, 3, 0);
    assert.equal(socket.getSendQueueCount(), 2);
    await tick();
    assert.deepEqual(
      outcomes.map((x) => `${x.t}:${x.msg}`),
      ['0:1', '1:1'],
    );
    socket.drain();
    assert.deepEqual(socket.sent, ['first', 'second', 'third'], 'the queued datagram kept its bytes');
    assert.equal(o.blocked, false);
    assert.equal(unblocked(), 1);
    assert.deepEqual(
      outcomes.map((x) => `${x.t}:${x.msg}`),
      ['0:1', '1:1', '0:2', '0:3'],
    );
  });

  test('an entry marked lost is called back as lost; only the target and message named are marked', async () => {
    const { outlets, outcomes, socket } = setup();
    const o = outlets.get(socket as unknown as Socket);
    socket.room = 0;
    o.send(bytes('a'), 1, 'a', 0, 7, 0);
    o.sendCopy(bytes('b'), 1, 'a', 0, 7, 0); // a second fragment of message 7
    o.sendCopy(bytes('c'), 1, 'a', 0, 8, 0);
    o.sendCopy(bytes('d'), 1, 'a', 1, 7, 0); // another target's message 7
    const marked: number[] = [];
    o.markLost(0, 7, (msg) => marked.push(msg));
    assert.deepEqual(marked, [7, 7], 'each entry newly marked');
    o.markLost(0, 7, (msg) => marked.push(msg));
    assert.deepEqual(marked, [7, 7], 'not marked twice');
    socket.drain(4);
    assert.deepEqual(
      outcomes.map((x) => `${x.t}:${x.msg}:${x.err ? 'err' : 'ok'}:${x.lost ? 'lost' : ''}`),
      ['0:7:err:lost', '0:7:err:lost', '0:8:err:', '1:7:err:'],
    );
  });

  test("over sockets.ts's socket: datagrams go out whole from the scratch (its address look-up is synchronous)", async () => {
    const sink = await Sink.open();
    const pool = new SocketPool();
    const ref = await pool.acquire(4, '127.0.0.1', 0);
    try {
      const { outlets, outcomes } = setup();
      const o = outlets.get(ref.socket!);
      const texts = Array.from({ length: 200 }, (_, i) => `datagram ${i} `.repeat(1 + (i % 50)));
      texts.forEach((text, i) => o.send(bytes(text), sink.port, '127.0.0.1', 0, i, 0));
      await sink.until((got) => got.length >= texts.length);
      assert.deepEqual(sink.texts(), texts);
      await tick();
      assert.equal(outcomes.length, texts.length);
    } finally {
      await pool.closeAll();
      await sink.close();
    }
  });

  test('why it must be: a socket with an asynchronous look-up sends later, from a scratch written again meanwhile', async () => {
    const sink = await Sink.open();
    const s = createSocket('udp4'); // dns.lookup: the send waits for the next tick
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    try {
      const { outlets } = setup();
      const o = outlets.get(s);
      o.send(bytes('one'), sink.port, '127.0.0.1', 0, 0, 0);
      o.send(bytes('two'), sink.port, '127.0.0.1', 0, 1, 0);
      await sink.until((got) => got.length >= 2);
      assert.deepEqual(sink.texts(), ['two', 'two']);
    } finally {
      s.close();
      await sink.close();
    }
  });
});
