// Worker for test/overflow.test.ts: attaches to a Netconsole and logs `count` records of the
// sizes `recordText` gives for writer `writer`, as fast as it can (each log call may wait for
// room); reports how many log calls were offered to a target.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type NetconsoleHandle } from '../../src/host/netconsole.js';
import { recordText } from '../helpers/records.js';

const { handle, writer, count, start } = workerData as {
  handle: NetconsoleHandle;
  writer: number;
  count: number;
  start?: SharedArrayBuffer;
};
const log = attach(handle);
if (start) Atomics.wait(new Int32Array(start), 0, 0); // all writers begin together
let offered = 0;
for (let i = 0; i < count; i++) offered += log.info(recordText(writer, i)) > 0 ? 1 : 0;
log.detach();
parentPort!.postMessage({ offered });
