// Scenario: write latency while a deliberately slow cleanup (200 ms in the cleanup mutex: a
// socket that takes that long to close) runs on the host, against idle, from a worker thread.
// locking.md invariant 5: the write path never waits on a mutex, so p50/p99/p99.9 stay within
// noise of each other. The timer itself (two hrtime.bigint calls) is in every sample.
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { Netconsole } from '../src/netconsole.js';
import type { SocketPool, SocketRef } from '../src/sockets.js';

const SLOW_MS = 200;
const COUNT = 100_000;

function pct(ns: Float64Array, p: number): number {
  return ns[Math.min(ns.length - 1, Math.floor((p / 100) * ns.length))];
}

async function sample(w: Worker, count = COUNT): Promise<Float64Array> {
  w.postMessage(count);
  const [ns] = (await once(w, 'message')) as [Float64Array];
  return ns;
}

/** Samples in chunks until `done` settles, so every phase of the cleanup is covered. */
async function sampleUntil(w: Worker, done: Promise<void>): Promise<Float64Array> {
  let settled = false;
  void done.finally(() => (settled = true));
  const chunks: Float64Array[] = [];
  while (!settled) chunks.push(await sample(w, 10_000));
  const all = new Float64Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) all.set(c, (o += c.length) - c.length);
  return all.sort();
}

export async function run(): Promise<{ report: string }> {
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  const port = sink.address().port;
  const nc = await Netconsole.create({
    devices: 'none',
    ringSize: 32 << 20,
    targets: [
      { name: 'steady', remote_ip: '127.0.0.1', remote_port: port, local_port: 0, extended: 1, enabled: 1 },
      { name: 'slow', remote_ip: '127.0.0.1', remote_port: port, local_port: 0, extended: 1, enabled: 1 },
    ],
  });
  // A socket that takes SLOW_MS to close: the cleanup mutex is held that long.
  const pool = (nc as unknown as { sockets: SocketPool }).sockets;
  const release = pool.release.bind(pool);
  pool.release = async (ref: SocketRef) => {
    await new Promise((r) => setTimeout(r, SLOW_MS));
    return release(ref);
  };
  const w = new Worker(new URL('./workers/latency-writer.js', import.meta.url), { workerData: { handle: nc.handle() } });
  await sample(w); // warm up
  const idle = await sample(w);
  const t0 = performance.now();
  const cleanup = nc.targets.get('slow')!.disable();
  const during = await sampleUntil(w, cleanup);
  const cleanupMs = performance.now() - t0;
  await w.terminate();
  await nc.close();
  sink.close();
  const row = (name: string, ns: Float64Array) =>
    `| ${name} | ${pct(ns, 50).toFixed(0)} | ${pct(ns, 99).toFixed(0)} | ${pct(ns, 99.9).toFixed(0)} |`;
  const ratio = (p: number) => (pct(during, p) / pct(idle, p)).toFixed(2);
  return {
    report: [
      '## Cleanup latency: write latency (ns per log call, from a worker) while a 200 ms cleanup runs',
      '',
      '| phase | p50 | p99 | p99.9 |',
      '| --- | ---: | ---: | ---: |',
      row('idle', idle),
      row(`during cleanup (${during.length} calls over its ${cleanupMs.toFixed(0)} ms: grace period, then the 200 ms close)`, during),
      '',
      `during / idle: p50 ${ratio(50)}x, p99 ${ratio(99)}x, p99.9 ${ratio(99.9)}x`,
    ].join('\n'),
  };
}
