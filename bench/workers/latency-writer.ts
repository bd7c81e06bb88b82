// Writer thread of bench/latency: on each request { count, nap }, times `count` log calls one by
// one (two process.hrtime.bigint() calls each: their cost is in every sample) and returns the
// latencies (ns), sorted. nap: a 1 ms pause every 1,024 calls lets the sender drain (idle and
// cleanup phases); without it the writer keeps the ring full.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type NetconsoleHandle } from '../../src/host/netconsole.js';

const { handle } = workerData as { handle: NetconsoleHandle };
const log = attach(handle);
const text = 'latency probe: a typical log line of about one hundred bytes, with a number at its end ';
const nap = new Int32Array(new SharedArrayBuffer(4));
parentPort!.on('message', ({ count, pause }: { count: number; pause: boolean }) => {
  const ns = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    log.info(text + i);
    ns[i] = Number(process.hrtime.bigint() - t0);
    if (pause && (i & 1023) === 1023) Atomics.wait(nap, 0, 0, 1);
  }
  ns.sort();
  parentPort!.postMessage(ns, [ns.buffer]);
});
