// Writer thread of the tuner's sender (sender.ts, netconsole tune's --threads): attaches to the
// Netconsole, waits for the start word to turn 1 (so that all writers start together), makes its
// share of the log calls in the run's load shape, the texts of the mix in turn, and posts 'done'.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type NetconsoleHandle } from '../../host/netconsole.js';
import { inTurns } from './load.js';

const { handle, texts, count, rate, start } = workerData as {
  handle: NetconsoleHandle;
  texts: string[];
  count: number;
  rate: number;
  start: Int32Array;
};
const log = attach(handle);
parentPort!.postMessage('ready');
Atomics.wait(start, 0, 0);
await inTurns(count, rate, (from, to) => {
  for (let i = from; i < to; i++) log.info(texts[i % texts.length]);
});
log.detach();
parentPort!.postMessage('done');
