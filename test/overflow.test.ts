// Nothing lost under load: a full ring is back-pressure (overflow 'wait', the default), or a
// counted loss reported in-band (overflow 'drop'); close() and log calls after it. Every burst
// goes to a C receiver with a 64 MiB buffer in its own process (test/helpers/csink.ts), whose
// kernel drops are checked, so what is counted here is what arrived.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { attach, Netconsole, NetconsoleError, type NetconsoleOptions } from '../src/index.js';
import { Reassembler, type Message } from '../src/receiver/receiver.js';
import { CSink } from './helpers/csink.js';
import { parseRecordText, recordText, reportCount } from './helpers/records.js';
import { requireNative, requireSender, SENDERS } from './helpers/requires.js';
import { bindsExclusively, freePort } from './helpers/udp.js';

const WORKER = new URL('./workers/overflow-writer.js', import.meta.url);
const SMALL_RING = 64 << 10;

interface Arrived {
  /** Per writer: the record indices, in seq order. */
  records: Map<number, number[]>;
  /** N of every in-band report, in seq order. */
  reports: number[];
  incomplete: number;
  /** Texts that are neither a record of recordText() whole nor a report. */
  bad: string[];
}

function arrived(datagrams: Buffer[]): Arrived {
  const r = new Reassembler({ maxPending: 1 << 16, maxPendingBytes: 1 << 30 });
  const messages: Message[] = [];
  r.on('message', (m: Message) => messages.push(m));
  for (const d of datagrams) r.push(d, 'sender');
  r.flushPending();
  messages.sort((a, b) => (BigInt(a.seq!) < BigInt(b.seq!) ? -1 : 1));
  const out: Arrived = { records: new Map(), reports: [], incomplete: 0, bad: [] };
  for (const m of messages) {
    if (m.incomplete) out.incomplete++;
    const n = reportCount(m.text);
    if (n !== null) {
      out.reports.push(n);
      continue;
    }
    const id = parseRecordText(m.text);
    if (id === null || m.text !== recordText(id.writer, id.i)) {
      out.bad.push(m.text.slice(0, 60));
      continue;
    }
    if (!out.records.has(id.writer)) out.records.set(id.writer, []);
    out.records.get(id.writer)!.push(id.i);
  }
  return out;
}

/** Every record 0..count-1 of `writer` arrived exactly once, in order. */
function assertAllInOrder(a: Arrived, writer: number, count: number): void {
  const got = a.records.get(writer) ?? [];
  assert.equal(got.length, count, `writer ${writer}: ${got.length} of ${count} records arrived`);
  for (let i = 0; i < got.length; i++)
    if (got[i] !== i) assert.fail(`writer ${writer}: record ${got[i]} arrived where ${i} was due`);
}

async function withSink(opts: NetconsoleOptions, fn: (nc: Netconsole, sink: CSink) => Promise<void>): Promise<Arrived> {
  const sink = await CSink.open({ idleMs: 400 });
  const nc = await Netconsole.create({
    devices: 'none',
    env: false,
    ...opts,
    targets: [{ name: 't', remote_ip: '127.0.0.1', remote_port: sink.port, local_port: 0, extended: 1, enabled: 1 }],
  });
  try {
    await fn(nc, sink);
    await nc.flush();
  } finally {
    await nc.close();
  }
  const { datagrams, drops } = await sink.done();
  assert.equal(drops, 0, 'the receiver lost nothing (else this test could not tell)');
  return arrived(datagrams);
}

/** Logs count records from the main thread, 1,000 per turn of the event loop (a busy server). */
async function burst(
  nc: { info(text: string): number },
  writer: number,
  count: number,
  perTurn = 1000,
): Promise<number> {
  let offered = 0;
  for (let i = 0; i < count;) {
    for (let k = 0; k < perTurn && i < count; k++, i++) offered += nc.info(recordText(writer, i)) > 0 ? 1 : 0;
    await new Promise((r) => setImmediate(r));
  }
  return offered;
}

describe("overflow 'wait' (the default): a full ring holds the log call, nothing is lost", () => {
  for (const sender of SENDERS) {
    test(`${sender} sender, 64 KiB ring, 50,000 mixed-size records, 1,000 per loop turn: every one arrives whole and in order`, async (t) => {
      if (!requireSender(t, sender)) return;
      let waits = 0;
      const a = await withSink({ sender, ringSize: SMALL_RING }, async (nc) => {
        assert.equal(await burst(nc, 0, 50_000), 50_000);
        await nc.flush();
        const s = nc.stats();
        assert.equal(s.lost, 0, JSON.stringify(s.targets[0]));
        waits = s.waits.waited + s.transmit.spills;
      });
      assertAllInOrder(a, 0, 50_000);
      assert.deepEqual([a.incomplete, a.reports.length, a.bad.length], [0, 0, 0]);
      assert.ok(waits > 0, 'the ring was full: log calls waited (or, dgram on the host thread, sent from the ring)');
    });
  }

  test("dgram sender: a logger attached on the host's own thread makes room as the host's logger does (it cannot wait for its own loop)", async () => {
    const a = await withSink({ sender: 'dgram', ringSize: SMALL_RING }, async (nc) => {
      const log = attach(nc.handle());
      assert.equal(await burst(log, 0, 20_000), 20_000);
      log.detach();
      await nc.flush();
      const s = nc.stats();
      assert.equal(s.waits.gaveUp, 0, 'no log call gave up waiting');
      assert.equal(s.lost, 0, JSON.stringify(s.targets[0]));
      assert.ok(s.transmit.spills > 0, 'the ring was full: the log calls sent from it');
    });
    assertAllInOrder(a, 0, 20_000);
  });

  test('native sender, 64 KiB ring, 50,000 records in one synchronous loop (no turn of the event loop): every one arrives', async (t) => {
    if (!requireNative(t)) return;
    const a = await withSink({ sender: 'native', ringSize: SMALL_RING }, async (nc) => {
      for (let i = 0; i < 50_000; i++) nc.info(recordText(0, i));
    });
    assertAllInOrder(a, 0, 50_000);
  });

  for (const sender of SENDERS) {
    test(`${sender} sender: two workers and the main thread write at once into a 64 KiB ring; every writer's records arrive, in its order`, async (t) => {
      if (!requireSender(t, sender)) return;
      const count = 10_000;
      const a = await withSink({ sender, ringSize: SMALL_RING }, async (nc) => {
        const start = new SharedArrayBuffer(4);
        const workers = [1, 2].map(
          (writer) => new Worker(WORKER, { workerData: { handle: nc.handle(), writer, count, start } }),
        );
        const done = workers.map((w) => once(w, 'message'));
        await Promise.all(workers.map((w) => once(w, 'online')));
        Atomics.store(new Int32Array(start), 0, 1);
        Atomics.notify(new Int32Array(start), 0);
        assert.equal(await burst(nc, 0, count, 500), count);
        for (const [m] of await Promise.all(done)) assert.equal((m as { offered: number }).offered, count);
        assert.equal(nc.stats().lost, 0);
      });
      for (const w of [0, 1, 2]) assertAllInOrder(a, w, count);
      assert.equal(a.reports.length, 0);
    });
  }
});

describe("overflow 'drop': losses are counted and reported in-band", () => {
  for (const sender of SENDERS) {
    test(`${sender} sender, 64 KiB ring, 50,000 records without a pause: received + lost = logged, and the reports' N add up to the losses`, async (t) => {
      if (!requireSender(t, sender)) return;
      let lost = 0;
      const a = await withSink({ sender, ringSize: SMALL_RING, overflow: 'drop' }, async (nc) => {
        for (let i = 0; i < 50_000; i++) nc.info(recordText(0, i));
        await nc.flush();
        lost = nc.stats().targets[0].lost;
        assert.ok(lost > 0, 'records were dropped');
        nc.info(recordText(9, 0)); // the record after the last loss carries its report
        await nc.flush();
        const t = nc.stats().targets[0];
        assert.equal(t.reported, t.lost, 'every loss was reported');
        assert.equal(t.lost, t.dropped, 'on loopback, only the ring drops');
      });
      const got = a.records.get(0) ?? [];
      assert.equal(got.length + lost, 50_000, `received ${got.length} + lost ${lost}`);
      assert.equal(
        a.reports.reduce((x, y) => x + y, 0),
        lost,
        `reports: ${a.reports.length}`,
      );
      assert.ok(
        got.every((v, i) => i === 0 || v > got[i - 1]),
        'what arrived is in order',
      );
      assert.deepEqual(a.records.get(9), [0]);
      assert.deepEqual([a.incomplete, a.bad.length], [0, 0]);
    });
  }

  test('reportLosses: false sends no report (the losses are still counted)', async () => {
    const a = await withSink(
      { sender: 'dgram', ringSize: SMALL_RING, overflow: 'drop', reportLosses: false },
      async (nc) => {
        for (let i = 0; i < 5000; i++) nc.info(recordText(0, i));
        await nc.flush();
        nc.info(recordText(9, 0));
        const t = nc.stats().targets[0];
        assert.ok(t.lost > 0 && t.reported === 0);
      },
    );
    assert.equal(a.reports.length, 0);
  });
});

describe('close(): configuration in flight, log calls after it', () => {
  for (const sender of SENDERS) {
    test(`${sender} sender: a log call after close() returns 0 (main thread and a worker) and sends nothing`, async (t) => {
      if (!requireSender(t, sender)) return;
      const a = await withSink({ sender }, async (nc) => {
        const handle = nc.handle();
        assert.equal(nc.info(recordText(0, 0)), 1);
        await nc.close();
        assert.equal(nc.info(recordText(0, 1)), 0);
        const w = new Worker(WORKER, { workerData: { handle, writer: 1, count: 3 } });
        const [m] = (await once(w, 'message')) as [{ offered: number }];
        assert.equal(m.offered, 0);
      });
      assert.deepEqual(a.records.get(0), [0]);
      assert.equal(a.records.get(1), undefined);
    });

    test(`${sender} sender: close() waits for an enable() started before it, disables the target and frees its port; one started after rejects ESHUTDOWN`, async (ctx) => {
      if (!requireSender(ctx, sender)) return;
      const port = await freePort();
      const nc = await Netconsole.create({ devices: 'none', env: false, sender });
      const t = await nc.targets.create('t', { remote_ip: '127.0.0.1', remote_port: 9, local_port: port });
      const enabling = t.enable();
      const closing = nc.close();
      assert.strictEqual(nc.close(), closing, 'close() returns the same promise every time');
      await assert.rejects(t.disable(), (e: unknown) => e instanceof NetconsoleError && e.code === 'ESHUTDOWN');
      await assert.rejects(
        nc.targets.create('u', { remote_ip: '127.0.0.1' }),
        (e: unknown) => e instanceof NetconsoleError && e.code === 'ESHUTDOWN',
      );
      await enabling;
      await closing;
      assert.equal(t.state, 'disabled');
      assert.equal(await bindsExclusively(port), true, `local port ${port} is free again`);
    });
  }
});

describe('a target removed and a device event handled while writers wait on a full ring', () => {
  for (const sender of SENDERS) {
    test(`${sender} sender: both complete, the writers finish, the removed target sends nothing after remove() resolved`, async (t) => {
      if (!requireSender(t, sender)) return;
      const keep = await CSink.open({ idleMs: 400 });
      const gone = await CSink.open({ idleMs: 400 });
      const marker = createSocket('udp4');
      const nc = await Netconsole.create({ devices: 'none', env: false, sender, ringSize: SMALL_RING });
      const lo = Number(readFileSync('/sys/class/net/lo/ifindex', 'utf8'));
      try {
        await nc.targets.create('keep', {
          remote_ip: '127.0.0.1',
          remote_port: keep.port,
          local_port: 0,
          extended: 1,
          enabled: 1,
        });
        const t = await nc.targets.create('gone', {
          remote_ip: '127.0.0.1',
          remote_port: gone.port,
          local_port: 0,
          extended: 1,
          enabled: 1,
        });
        const workers = [1, 2].map(
          (writer) => new Worker(WORKER, { workerData: { handle: nc.handle(), writer, count: 20_000 } }),
        );
        const done = workers.map((w) => once(w, 'message'));
        for (let i = 0; i < 5000 && nc.stats().waits.waited === 0; i++) await new Promise((r) => setTimeout(r, 1));
        assert.ok(nc.stats().waits.waited > 0, 'the writers are waiting for room');
        await nc.deviceEvent({ type: 'down', name: 'lo', ifindex: lo });
        await nc.deviceEvent({ type: 'up', name: 'lo', ifindex: lo });
        await t.remove();
        // Loopback queues datagrams to one socket in the order of the send calls: nothing of the
        // removed target may come after this marker.
        await new Promise<void>((r) => marker.send('MARK', gone.port, '127.0.0.1', () => r()));
        await Promise.all(done); // (while the device was down, log calls reached no target: not counted as offered)
        assert.ok(nc.stats().waits.waited > 0);
      } finally {
        await nc.close();
        marker.close();
      }
      const g = await gone.done();
      const k = await keep.done();
      const mark = g.datagrams.findIndex((d) => d.toString() === 'MARK');
      assert.ok(
        mark >= 0 && mark === g.datagrams.length - 1,
        `${g.datagrams.length - 1 - mark} datagrams after remove() resolved`,
      );
      assert.ok(mark > 0, 'the removed target had sent before');
      // The other target got every record, those skipped while its device was down reported in-band.
      const a = arrived(k.datagrams);
      const got = (a.records.get(1)?.length ?? 0) + (a.records.get(2)?.length ?? 0);
      assert.equal(got + a.reports.reduce((x, y) => x + y, 0), 40_000);
      assert.equal(a.bad.length, 0);
    });
  }
});
