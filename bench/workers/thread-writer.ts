// Writer thread of bench/threads: attaches to the Netconsole, waits for the start word to turn 1
// (so that all writers start together), makes `count` log calls as fast as it can, and posts the
// hrtime (ns, one clock for all threads) of its first and last call.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type NetconsoleHandle } from '../../src/host/netconsole.js';

const { handle, count, text, start } = workerData as {
  handle: NetconsoleHandle;
  count: number;
  text: string;
  start: Int32Array;
};
const log = attach(handle);
for (let i = 0; i < 1000; i++) log.info(text); // warm up: tier up the write path
parentPort!.postMessage('ready');
Atomics.wait(start, 0, 0);
const t0 = process.hrtime.bigint();
for (let i = 0; i < count; i++) log.info(text);
const t1 = process.hrtime.bigint();
log.detach();
parentPort!.postMessage({ t0: String(t0), t1: String(t1) });
