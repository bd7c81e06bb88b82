// Scenario latency: how long one log call takes (p50, p99, p99.9, max; ns), from a worker thread:
//   idle      - the sender keeps up (a 1 ms pause every 1,024 calls);
//   cleanup   - while a deliberately slow cleanup runs on the host (a socket that takes 200 ms to
//               close, so the cleanup mutex is held that long). docs/locking.md invariant 5: the write
//               path never waits on a mutex, so this stays within noise of idle;
//   ring-full - a 64 KiB ring and no pauses: the ring is full most of the time. With overflow
//               'drop' a message that does not fit is dropped (counted); with 'wait' (the
//               default) the log call waits for room, at most overflowWaitMs.
// The figure is p99; p50, p99.9 and max are extras. Two hrtime.bigint() calls are in every sample
// (timerFloorNs is their cost).
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Netconsole, type NetconsoleOptions } from '../src/host/netconsole.js';
import { native } from '../src/core/native.js';
import type { SocketPool, SocketRef } from '../src/sender/sockets.js';
import { percentile, timerFloorNs, type Case, type Sample, type Scenario } from './harness.js';

const SLOW_MS = 200;
const OVERFLOW_WAIT_MS = 100;
const COUNT = { full: 100_000, quick: 30_000, smoke: 5_000 };
const WRITER = new URL('./workers/latency-writer.js', import.meta.url);

type Phase = 'idle' | 'cleanup' | 'ring-full';

async function sample(w: Worker, count: number, pause: boolean): Promise<Float64Array> {
  w.postMessage({ count, pause });
  const [ns] = (await once(w, 'message')) as [Float64Array];
  return ns;
}

/** Samples in chunks until `done` settles, so every phase of the cleanup is covered. */
async function sampleUntil(w: Worker, done: Promise<void>): Promise<Float64Array> {
  let settled = false;
  void done.finally(() => (settled = true));
  const chunks: Float64Array[] = [];
  while (!settled) chunks.push(await sample(w, 10_000, true));
  const all = new Float64Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) all.set(c, (o += c.length) - c.length);
  return all.sort();
}

async function run(phase: Phase, count: number, extraOptions: Record<string, unknown>): Promise<Sample> {
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  const port = sink.address().port;
  const target = (name: string) => ({
    name,
    remote_ip: '127.0.0.1',
    remote_port: port,
    local_port: 0,
    extended: 1,
    enabled: 1,
  });
  const nc = await Netconsole.create({
    env: false,
    devices: 'none',
    ringSize: phase === 'ring-full' ? 64 << 10 : 32 << 20,
    targets: phase === 'cleanup' ? [target('steady'), target('slow')] : [target('steady')],
    ...extraOptions,
  } as NetconsoleOptions);
  const w = new Worker(WRITER, { workerData: { handle: nc.handle() } });
  try {
    await sample(w, Math.min(count, 10_000), true); // warm up
    const before = nc.stats().targets[0];
    let ns: Float64Array;
    let cleanupMs: number | null = null;
    if (phase === 'cleanup') {
      // A socket that takes SLOW_MS to close: the cleanup mutex is held that long.
      const pool = (nc as unknown as { sockets: SocketPool }).sockets;
      const release = pool.release.bind(pool);
      pool.release = async (ref: SocketRef) => {
        await new Promise((r) => setTimeout(r, SLOW_MS));
        return release(ref);
      };
      const t0 = performance.now();
      ns = await sampleUntil(w, nc.targets.get('slow')!.disable());
      cleanupMs = performance.now() - t0;
    } else {
      ns = await sample(w, count, phase === 'idle');
    }
    const after = nc.stats().targets[0];
    return {
      value: percentile(ns, 99),
      extra: {
        calls: ns.length,
        p50: percentile(ns, 50),
        p99: percentile(ns, 99),
        p999: percentile(ns, 99.9),
        max: percentile(ns, 100),
        dropped: after.dropped - before.dropped,
        cleanupMs,
        timerFloorNs: timerFloorNs(),
      },
    };
  } finally {
    await w.terminate();
    await nc.close();
    sink.close();
  }
}

export const scenario: Scenario = {
  name: 'latency',
  about: 'log call latency from a worker (p50/p99/p99.9/max): idle, during a 200 ms cleanup, with the ring full',
  async cases(ctx) {
    const count = COUNT[ctx.profile];
    const phases: Array<{ phase: Phase; options: Record<string, unknown>; note?: string }> = [
      { phase: 'idle', options: {} },
      { phase: 'cleanup', options: {}, note: `samples cover the grace period and the ${SLOW_MS} ms close` },
      { phase: 'ring-full', options: { overflow: 'drop' } },
      { phase: 'ring-full', options: { overflow: 'wait', overflowWaitMs: OVERFLOW_WAIT_MS } },
    ];
    return phases.map(({ phase, options, note }): Case => ({
      scenario: 'latency',
      params: { phase, percentile: 'p99', ...(options as Record<string, string | number>) },
      unit: 'ns',
      higherIsBetter: false,
      subjects: [native ? 'netconsole-udp' : 'netconsole-dgram'], // the default sender: native where the addon loaded
      note,
      measure: () => run(phase, count, { ...ctx.ncOptions, ...options }),
    }));
  },
};
