// Scenario threads: 1, 2 and 4 writer threads (worker_threads) logging 100-byte records into one
// Netconsole (native sender, one extended target to a local socket that nobody reads: the kernel
// drops there, not the library). The ring (256 MiB) holds every record of a run, so the figure is
// the write path under contention, not the sender: records/s over the span from the first
// writer's first call to the last writer's last call.
//
// The spinlock counts acquisitions that found it taken (stats().lockContended); it does not count
// spin iterations, so those are not reported. contendedPct = lockContended / records.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Netconsole } from '../src/host/netconsole.js';
import { native } from '../src/core/native.js';
import { text, type Case, type Scenario } from './harness.js';

const THREADS = { full: [1, 2, 4], quick: [1, 2, 4], smoke: [1, 2] };
const PER_THREAD = { full: 250_000, quick: 50_000, smoke: 5_000 };
const WRITER = new URL('./workers/thread-writer.js', import.meta.url);

async function run(
  threads: number,
  count: number,
  ncOptions: Record<string, unknown>,
): Promise<{ value: number; extra: Record<string, number> }> {
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  const nc = await Netconsole.create({
    targets: `+@/,${sink.address().port}@127.0.0.1/`,
    env: false,
    devices: 'none',
    strict: true,
    ringSize: 256 << 20,
    ...ncOptions,
  });
  try {
    const start = new Int32Array(new SharedArrayBuffer(4));
    const workers = Array.from(
      { length: threads },
      () => new Worker(WRITER, { workerData: { handle: nc.handle(), count, text: text(100), start } }),
    );
    await Promise.all(workers.map((w) => once(w, 'message')));
    const before = nc.stats();
    const results = workers.map((w) => once(w, 'message') as Promise<[{ t0: string; t1: string }]>);
    Atomics.store(start, 0, 1);
    Atomics.notify(start, 0);
    const spans = (await Promise.all(results)).map(([m]) => [BigInt(m.t0), BigInt(m.t1)]);
    const after = nc.stats();
    await Promise.all(workers.map((w) => w.terminate()));
    const t0 = spans.reduce((a, [s]) => (s < a ? s : a), spans[0][0]);
    const t1 = spans.reduce((a, [, e]) => (e > a ? e : a), spans[0][1]);
    const records = after.records - before.records;
    const contended = after.lockContended - before.lockContended;
    const dropped = after.targets[0].dropped - before.targets[0].dropped;
    return {
      value: (threads * count) / (Number(t1 - t0) / 1e9),
      extra: { records, dropped, lockContended: contended, contendedPct: (100 * contended) / records },
    };
  } finally {
    await nc.close();
    sink.close();
  }
}

export const scenario: Scenario = {
  name: 'threads',
  about: 'records/s from 1, 2 and 4 writer threads into one Netconsole, and how often the spinlock was contended',
  cases(ctx) {
    return THREADS[ctx.profile].map((threads): Case => ({
      scenario: 'threads',
      params: { threads, size: 100, perThread: PER_THREAD[ctx.profile] },
      unit: 'records/s',
      higherIsBetter: true,
      subjects: [native ? 'netconsole-udp' : 'netconsole-dgram'], // the default sender: native where the addon loaded
      note: 'spin iterations per acquisition are not observable (the lock counts contended acquisitions only)',
      measure: () => run(threads, PER_THREAD[ctx.profile], ctx.ncOptions),
    }));
  },
};
