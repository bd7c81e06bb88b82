// The target-list spinlock under real threads: exact mutual exclusion for four workers and the
// main thread, and no deadlock when a worker dies holding it (docs/locking.md invariant 8).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { Core } from '../src/core/wasm.js';

const WORKER = new URL('./workers/lock-worker.js', import.meta.url);
const N = 1_000_000;

function spawn(core: Core, control: SharedArrayBuffer, mode: 'count' | 'hold', n = N): Worker {
  return new Worker(WORKER, { workerData: { handle: core.handle(), control, mode, n } });
}

async function ready(ctl: Int32Array, count: number): Promise<void> {
  while (Atomics.load(ctl, 0) < count) await new Promise((r) => setTimeout(r, 2));
}

function countOnMain(core: Core, ctl: Int32Array, n: number): void {
  const { lock_acquire, lock_release } = core.exports;
  for (let i = 0; i < n; i++) {
    lock_acquire(core.tid);
    ctl[2] = ctl[2] + 1;
    lock_release(core.tid);
  }
}

describe('spinlock', () => {
  test(`4 workers + main thread x ${N} lock/unlock pairs: the shared counter is exact`, async () => {
    const core = Core.create({ ringSize: 64 << 10 });
    const control = new SharedArrayBuffer(64);
    const ctl = new Int32Array(control);
    const workers = [0, 1, 2, 3].map(() => spawn(core, control, 'count'));
    const exits = workers.map((w) => once(w, 'exit'));
    await ready(ctl, 4);
    Atomics.store(ctl, 1, 1);
    Atomics.notify(ctl, 1);
    countOnMain(core, ctl, N);
    for (const [code] of await Promise.all(exits)) assert.equal(code, 0);
    assert.equal(ctl[2], 5 * N);
    assert.equal(core.exports.lock_owner(), 0, 'the lock is free at the end');
    const contended = core.counters().lockContended;
    assert.ok(contended > 0, 'the test produced contention');
    core.release();
  });

  test('a worker terminated while holding the lock does not hang the main thread or the other workers', async () => {
    const core = Core.create({ ringSize: 64 << 10 });
    const control = new SharedArrayBuffer(64);
    const ctl = new Int32Array(control);
    Atomics.store(ctl, 1, 1); // no start barrier: every worker goes as soon as it is up
    const holder = spawn(core, control, 'hold');
    const [msg] = (await once(holder, 'message')) as [{ holding: number }];
    assert.equal(core.exports.lock_owner(), msg.holding + 1, 'the worker holds the lock');
    // Two counting workers start while the lock is held: they park.
    const workers = [0, 1].map(() => spawn(core, control, 'count', 100_000));
    const exits = workers.map((w) => once(w, 'exit'));
    await ready(ctl, 3);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ctl[2], 0, 'nobody got past the held lock');
    await holder.terminate();
    // The main thread takes the lock too: the waiters find the owner's thread gone and recover it.
    const t0 = performance.now();
    countOnMain(core, ctl, 100_000);
    for (const [code] of await Promise.all(exits)) assert.equal(code, 0);
    assert.equal(ctl[2], 300_000);
    assert.ok(core.counters().lockRecovered >= 1, 'the lock was recovered');
    assert.ok(performance.now() - t0 < 30_000);
    core.release();
  });

  test("the host releasing a dead worker's thread slot frees the lock it held", async () => {
    const core = Core.create({ ringSize: 64 << 10 });
    const control = new SharedArrayBuffer(64);
    const ctl = new Int32Array(control);
    Atomics.store(ctl, 1, 1);
    const holder = spawn(core, control, 'hold');
    const [msg] = (await once(holder, 'message')) as [{ holding: number }];
    await holder.terminate();
    assert.equal(core.exports.lock_owner(), msg.holding + 1, 'still held by the dead thread');
    assert.equal(core.exports.thread_release(msg.holding), 0); // what the host does on 'exit'
    assert.equal(core.exports.lock_owner(), 0);
    core.exports.lock_acquire(core.tid);
    core.exports.lock_release(core.tid);
    core.release();
  });
});
