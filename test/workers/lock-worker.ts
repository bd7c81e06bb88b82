// Worker for test/spinlock.test.ts: attaches to the shared memory and either counts under the
// spinlock, or takes the lock and never lets go (to be terminated while holding it).
import { parentPort, workerData } from 'node:worker_threads';
import { Core, type CoreHandle } from '../../src/core/wasm.js';

interface Job {
  handle: CoreHandle;
  /** Int32Array over a plain SharedArrayBuffer: [0] ready count, [1] go, [2] the counter. */
  control: SharedArrayBuffer;
  mode: 'count' | 'hold';
  n: number;
}

const job = workerData as Job;
const core = Core.attach(job.handle);
const ctl = new Int32Array(job.control);
Atomics.add(ctl, 0, 1);
Atomics.notify(ctl, 0);
Atomics.wait(ctl, 1, 0);

if (job.mode === 'count') {
  const { lock_acquire, lock_release } = core.exports;
  const tid = core.tid;
  for (let i = 0; i < job.n; i++) {
    lock_acquire(tid);
    ctl[2] = ctl[2] + 1; // a plain, non-atomic read-modify-write: only the lock makes it exact
    lock_release(tid);
  }
  core.release();
  parentPort?.postMessage({ thread: core.thread });
} else {
  core.exports.lock_acquire(core.tid);
  parentPort?.postMessage({ holding: core.thread });
  for (;;) {
    // Hold the lock until terminated.
  }
}
