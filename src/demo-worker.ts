// A worker of `netconsole demo`: attaches to the demo's Netconsole and logs as fast as it can.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { attach, type NetconsoleHandle } from './netconsole.js';

const { handle, count } = workerData as { handle: NetconsoleHandle; count: number };
const log = attach(handle);
log.notice(`worker ${threadId} attached`);
const t0 = performance.now();
for (let i = 0; i < count; i++) log.info(`worker ${threadId} message ${i}`);
const ms = performance.now() - t0;
log.detach();
parentPort?.postMessage({ threadId, count, ms });
