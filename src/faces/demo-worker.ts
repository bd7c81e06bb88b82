// A worker of `netconsole demo`: attaches to the demo's Netconsole and logs `count` records in
// bursts of `burst` (pausing `pauseMs` between them, so that one receiver thread keeps up; 0 for
// flat out), timing only the log calls.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { attach, type NetconsoleHandle } from '../host/netconsole.js';

const {
  handle,
  count,
  burst = count,
  pauseMs = 0,
} = workerData as { handle: NetconsoleHandle; count: number; burst?: number; pauseMs?: number };
const log = attach(handle);
log.notice(`worker ${threadId} attached`);
const nap = new Int32Array(new SharedArrayBuffer(4));
let ms = 0;
for (let i = 0; i < count;) {
  const t0 = performance.now();
  for (const end = Math.min(count, i + burst); i < end; i++) log.info(`worker ${threadId} message ${i}`);
  ms += performance.now() - t0;
  if (pauseMs > 0 && i < count) Atomics.wait(nap, 0, 0, pauseMs);
}
log.detach();
parentPort?.postMessage({ threadId, count, ms });
