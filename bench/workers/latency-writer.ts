// Writer thread of bench/cleanup-latency: on each request, times `count` log calls one by one
// and returns the sorted latencies (ns).
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type NetconsoleHandle } from '../../src/netconsole.js';

const { handle } = workerData as { handle: NetconsoleHandle };
const log = attach(handle);
const text = 'latency probe: a typical log line of about one hundred bytes, with a number at its end ';
parentPort!.on('message', (count: number) => {
  const ns = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    log.info(text + i);
    ns[i] = Number(process.hrtime.bigint() - t0);
    if ((i & 1023) === 1023) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); // let the sender drain
  }
  ns.sort();
  parentPort!.postMessage(ns, [ns.buffer]);
});
