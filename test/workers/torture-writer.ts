// Torture-test writer: logs in small batches until told to stop, then reports its count.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { attach, type NetconsoleHandle } from '../../src/host/netconsole.js';

const { handle, stop } = workerData as { handle: NetconsoleHandle; stop: SharedArrayBuffer };
const flag = new Int32Array(stop);
const log = attach(handle);
let n = 0;
while (Atomics.load(flag, 0) === 0) {
  for (let k = 0; k < 20; k++) log.info(`w${threadId} ${n++}`);
  Atomics.wait(flag, 0, 0, 4); // pace: the receiver must keep up for exactly-once to be checkable
}
log.detach();
parentPort!.postMessage({ n });
