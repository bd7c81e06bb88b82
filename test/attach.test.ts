// attach() and the thread slots (README, "Workers"): a thread's loggers share its slot, which comes
// back when the last of them detaches, is garbage-collected, or its thread exits; a full table is a
// typed ENOSPC; a detached logger writes nothing; and attach/detach cycles leave nothing behind
// (no slot, no process listener, no memory). The malformed handles are fuzzed in
// test/attach-fuzz.test.ts.
//
// NETCONSOLE_ATTACH_CYCLES sets the cycles of the long test (default 10,000 on the main thread and
// as many over 4 workers).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { L, threadOffset } from '../src/core/layout.js';
import { attach, Netconsole, type NetconsoleOptions } from '../src/host/netconsole.js';
import type { Command, ErrorReply } from './workers/attach-worker.js';
import { collectUntil, gcFunction, processListeners, wasmMappings } from './helpers/gc.js';
import { Sink } from './helpers/udp.js';
import { withSinkNetconsole } from './helpers/netconsole.js';

const BASE: NetconsoleOptions = { devices: 'none', env: false };
const CYCLES = Number(process.env.NETCONSOLE_ATTACH_CYCLES ?? 10_000);
const MiB = 1 << 20;

/** A worker running test/workers/attach-worker.ts: one command at a time. */
class AttachWorker {
  readonly worker: Worker;
  private constructor(nc: Netconsole) {
    this.worker = new Worker(new URL('./workers/attach-worker.js', import.meta.url), {
      workerData: { handle: nc.handle() },
    });
  }

  static async start(nc: Netconsole): Promise<AttachWorker> {
    const w = new AttachWorker(nc);
    await once(w.worker, 'online');
    return w;
  }

  /** The command's result; a thrown error comes back as {error}. */
  async send<T = unknown>(cmd: Command): Promise<{ result?: T; error?: ErrorReply }> {
    const reply = once(this.worker, 'message') as Promise<[{ result?: T; error?: ErrorReply }]>;
    this.worker.postMessage(cmd);
    return (await reply)[0];
  }

  async call<T = unknown>(cmd: Command): Promise<T> {
    const r = await this.send<T>(cmd);
    if (r.error) assert.fail(`${cmd.op}: ${r.error.name} ${String(r.error.code)}: ${r.error.message}`);
    return r.result as T;
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/** The claims on each thread slot of nc's memory (THR_STATE: how many loggers of its thread). */
function slotClaims(nc: Netconsole): number[] {
  const i32 = new Int32Array(nc.handle().core.memory.buffer);
  return Array.from({ length: L.MAX_THREADS }, (_, i) => Atomics.load(i32, (threadOffset(i) + L.THR_STATE) >> 2));
}
const claims = (nc: Netconsole): number => slotClaims(nc).reduce((a, b) => a + b, 0);

/** Waits (bounded, generous for a loaded machine) until `done()` holds. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function withNc(fn: (nc: Netconsole, sink: Sink) => Promise<void>, opts: NetconsoleOptions = {}): Promise<void> {
  return withSinkNetconsole(
    (sink) => ({
      ...BASE,
      ...opts,
      targets: [
        { name: 't', remote_ip: '127.0.0.1', remote_port: sink.port, local_port: 0, timestamps: 0, enabled: 1 },
      ],
    }),
    fn,
  );
}

describe('attach(): a thread slot per thread', () => {
  test('70 attach() calls in one worker share its one slot; it is freed when the last logger detaches', () =>
    withNc(async (nc) => {
      const w = await AttachWorker.start(nc);
      try {
        const listeners = (await w.call<{ listeners: [number, number] }>({ op: 'cycles', n: 0 })).listeners[0];
        for (let i = 1; i <= 70; i++) {
          const r = await w.call<{ kept: number; listeners: number }>({ op: 'attach' });
          assert.equal(r.kept, i);
          assert.equal(r.listeners, listeners, `attach ${i} added no process listener`);
        }
        assert.equal(nc.stats().threads, 2, 'the host and the worker');
        assert.deepEqual(
          slotClaims(nc)
            .filter((n) => n > 0)
            .sort(),
          [1, 70],
        );
        assert.deepEqual(await w.call({ op: 'log', text: 'all of them log' }), Array(70).fill(1));
        for (let i = 69; i >= 1; i--) {
          await w.call({ op: 'detach' });
          assert.equal(nc.stats().threads, 2, `${i} loggers left: the slot stays`);
        }
        await w.call({ op: 'detach' });
        assert.equal(nc.stats().threads, 1, 'the last detach freed the slot');
        assert.equal(claims(nc), 1);
      } finally {
        await w.stop();
      }
    }));

  test("on the thread of the Netconsole, attach() shares the host's slot; detach() leaves the host's logger working", () =>
    withNc(async (nc, sink) => {
      const listeners = processListeners();
      const loggers = Array.from({ length: 70 }, () => attach(nc.handle()));
      assert.equal(nc.stats().threads, 1);
      assert.equal(slotClaims(nc)[0], 71, 'the host and 70 loggers');
      assert.equal(processListeners(), listeners, 'no process listener added');
      assert.equal(loggers[69].info('from an attached logger'), 1);
      for (const l of loggers) l.detach();
      assert.equal(claims(nc), 1);
      assert.equal(nc.info('from the host'), 1);
      await nc.flush();
      await sink.until((g) => g.length === 2);
      assert.deepEqual(sink.texts().sort(), ['from an attached logger\n', 'from the host\n']);
    }));

  test("a detached logger writes nothing (its slot may be another thread's by now), also while its thread keeps another", () =>
    withNc(async (nc, sink) => {
      const a = attach(nc.handle());
      const b = attach(nc.handle());
      a.detach();
      a.detach(); // twice: nothing more
      const records = nc.stats().records;
      assert.equal(a.info('after detach'), 0);
      assert.equal(a.log('info', 'after detach'), 0);
      assert.equal(a.error('after detach'), 0);
      assert.equal(nc.stats().records, records);
      assert.equal(b.info('b still logs'), 1);
      b.detach();
      assert.equal(claims(nc), 1);
      await nc.flush();
      await sink.until((g) => g.length === 1);
      assert.deepEqual(sink.texts(), ['b still logs\n']);
    }));

  test('every slot taken by other threads: attach() in a new thread is ENOSPC (typed, nothing claimed); the threads attached already still attach', () =>
    withNc(async (nc) => {
      // 63 claims of threads that are alive (this one's OS thread id) but are not this thread (their node ids).
      const i32 = new Int32Array(nc.handle().core.memory.buffer);
      const osTid = Number(readlinkSync('/proc/thread-self').split('/').pop());
      for (let i = 1; i < L.MAX_THREADS; i++) {
        const at = threadOffset(i);
        Atomics.store(i32, (at + L.THR_NODE_ID) >> 2, 1_000_000 + i);
        Atomics.store(i32, (at + L.THR_OS_TID) >> 2, osTid);
        Atomics.store(i32, (at + L.THR_STATE) >> 2, 1);
      }
      const w = await AttachWorker.start(nc);
      try {
        const r = await w.send({ op: 'attach' });
        assert.ok(r.error, 'refused');
        assert.ok(r.error.typed, `${r.error.name}: ${r.error.message}`);
        assert.equal(r.error.code, 'ENOSPC', r.error.message);
        assert.match(r.error.message, /64 thread slots/);
        assert.equal(nc.stats().threads, 64);
        assert.equal(claims(nc), 64, 'nothing claimed');
        const here = attach(nc.handle()); // this thread has a slot: it shares it
        assert.equal(slotClaims(nc)[0], 2);
        here.detach();
        Atomics.store(i32, (threadOffset(5) + L.THR_STATE) >> 2, 0); // one comes free
        assert.equal((await w.call<{ kept: number }>({ op: 'attach' })).kept, 1);
        assert.equal(slotClaims(nc)[5], 1, 'the worker took the free slot');
      } finally {
        await w.stop();
        for (let i = 1; i < L.MAX_THREADS; i++) Atomics.store(i32, (threadOffset(i) + L.THR_STATE) >> 2, 0);
      }
    }));
});

test('malformed handles in a worker: each a typed error before anything is claimed', () =>
  withNc(async (nc) => {
    const h = nc.handle();
    const bad: Array<[string, unknown]> = [
      ['null', null],
      ['{}', {}],
      ['5', 5],
      ['{ core: null }', { core: null }],
      ['a bad overflow', { ...h, overflow: 'sometimes' }],
      ['a bad sender', { ...h, sender: 'carrier pigeon' }],
      ['a negative overflowWaitMs', { ...h, overflowWaitMs: -1 }],
      ['facility 24', { ...h, facility: 24 }],
      [
        "a memory too small to be a Netconsole's",
        { ...h, core: { ...h.core, memory: new WebAssembly.Memory({ initial: 1, maximum: 16384, shared: true }) } },
      ],
      ["the memory's buffer for the memory", { ...h, core: { ...h.core, memory: h.core.memory.buffer } }],
      ['no epoch', { ...h, core: { ...h.core, epoch: undefined } }],
    ];
    const w = await AttachWorker.start(nc);
    try {
      const listeners = (await w.call<{ listeners: [number, number] }>({ op: 'cycles', n: 0 })).listeners[0];
      for (const [what, handle] of bad) {
        const r = await w.send({ op: 'attach', handle });
        assert.ok(r.error?.typed, `${what}: ${r.error ? `${r.error.name}: ${r.error.message}` : 'taken'}`);
        assert.match(String(r.error.code), /^E[A-Z]+$/);
        assert.ok(
          typeof r.error.option === 'string' && r.error.option.startsWith('handle'),
          `${what}: names the field (${String(r.error.option)})`,
        );
        assert.equal(nc.stats().threads, 1, `${what}: nothing claimed`);
        assert.equal(claims(nc), 1);
      }
      assert.equal(
        (await w.call<{ listeners: [number, number] }>({ op: 'cycles', n: 0 })).listeners[0],
        listeners,
        'no process listener added',
      );
      assert.equal((await w.call<{ kept: number }>({ op: 'attach' })).kept, 1, 'a good handle still attaches');
      assert.equal(nc.stats().threads, 2);
    } finally {
      await w.stop();
    }
  }));

describe('attach(): a slot comes back without detach()', () => {
  test('when its loggers are garbage-collected (a worker)', () =>
    withNc(async (nc) => {
      const w = await AttachWorker.start(nc);
      try {
        for (let i = 0; i < 3; i++) await w.call({ op: 'attach' });
        assert.equal(nc.stats().threads, 2);
        await w.call({ op: 'drop' });
        await until(() => nc.stats().threads === 1, 10_000, 'the worker slot freed by the finalizer');
      } finally {
        await w.stop();
      }
    }));

  test("when its loggers are garbage-collected (the main thread, sharing the host's slot)", async (t) => {
    const gc = gcFunction();
    if (gc === null) return t.skip('no gc() here');
    await withNc(async (nc) => {
      const make = (): void => {
        for (let i = 0; i < 3; i++) attach(nc.handle()).info('then forgotten');
      };
      make();
      assert.equal(claims(nc), 4);
      assert.ok(await collectUntil(gc, () => claims(nc) === 1), `claims left: ${slotClaims(nc).join(',')}`);
      assert.equal(nc.info('the host logs on'), 1);
    });
  });

  for (const watched of [true, false]) {
    test(`when its thread exits (${watched ? 'nc.watchWorker(): at once' : "the host's reaper: within its period"})`, () =>
      withNc(async (nc) => {
        const w = await AttachWorker.start(nc);
        if (watched) nc.watchWorker(w.worker);
        await w.call({ op: 'attach' });
        await w.call({ op: 'attach' });
        assert.ok(nc.stats().threads > 1);
        const exited = once(w.worker, 'exit');
        w.worker.postMessage({ op: 'exit' } satisfies Command);
        await exited;
        await until(() => nc.stats().threads === 1, watched ? 2000 : 10_000, "the dead thread's slot freed");
        assert.equal(claims(nc), 1);
      }));
  }
});

describe(`attach()/detach() cycles: ${CYCLES} over 4 workers, ${CYCLES} on the main thread`, () => {
  test('no slot, no process listener and no memory is left behind', { timeout: 600_000 }, (t) =>
    withNc(
      async (nc) => {
        const gc = gcFunction();
        const workers = await Promise.all([0, 1, 2, 3].map(() => AttachWorker.start(nc)));
        try {
          type Cycles = { offered: number; listeners: [number, number]; heap: [number, number] };
          const mainCycles = (n: number): Cycles => {
            const listeners = processListeners();
            gc?.();
            const heap = process.memoryUsage().heapUsed;
            let offered = 0;
            for (let i = 0; i < n; i++) {
              const log = attach(nc.handle());
              offered += log.info(`main cycle ${i}`);
              log.detach();
            }
            gc?.();
            return {
              offered,
              listeners: [listeners, processListeners()],
              heap: [heap, process.memoryUsage().heapUsed],
            };
          };
          // Warm-up: code compiled, the heaps and the allocator's per-thread arenas at their working
          // size (RSS levels off after about 2,000 cycles a worker, with nothing left on the heap).
          await Promise.all(workers.map((w) => w.call({ op: 'cycles', n: 2000 })));
          mainCycles(2000);
          await nc.flush();
          gc?.();
          const before = {
            rss: process.memoryUsage().rss,
            wasm: wasmMappings(),
            threads: nc.stats().threads,
            listeners: processListeners(),
          };

          const perWorker = Math.ceil(CYCLES / workers.length);
          let maxThreads = 0;
          const sampler = setInterval(() => (maxThreads = Math.max(maxThreads, nc.stats().threads)), 5);
          const results = await Promise.all(workers.map((w) => w.call<Cycles>({ op: 'cycles', n: perWorker })));
          clearInterval(sampler);
          const main = mainCycles(CYCLES);
          await nc.flush();
          gc?.();
          const after = {
            rss: process.memoryUsage().rss,
            wasm: wasmMappings(),
            threads: nc.stats().threads,
            listeners: processListeners(),
          };

          const show = (b: number): string => `${(b / MiB).toFixed(1)} MiB`;
          t.diagnostic(
            `threads attached: ${before.threads} before, ${after.threads} after, at most ${maxThreads} during the workers' cycles`,
          );
          t.diagnostic(
            `process listeners (main): ${before.listeners} before, ${after.listeners} after; workers: ${results.map((r) => r.listeners.join('->')).join(', ')}`,
          );
          t.diagnostic(
            `RSS: ${show(before.rss)} before, ${show(after.rss)} after (${show(after.rss - before.rss)}); WebAssembly memories mapped: ${before.wasm} before, ${after.wasm} after`,
          );
          t.diagnostic(
            `heap after gc: main ${show(main.heap[0])} -> ${show(main.heap[1])}; workers ${results.map((r) => `${show(r.heap[0])} -> ${show(r.heap[1])}`).join(', ')}${gc ? '' : ' (no gc() here)'}`,
          );

          for (const r of results) {
            assert.equal(r.offered, perWorker, 'every cycle logged to the target');
            assert.equal(r.listeners[1], r.listeners[0], 'no process listener left in a worker');
            if (gc)
              assert.ok(
                r.heap[1] - r.heap[0] < 16 * MiB,
                `a worker's heap grew ${show(r.heap[1] - r.heap[0])} over ${perWorker} cycles`,
              );
          }
          assert.equal(main.offered, CYCLES);
          assert.equal(main.listeners[1], main.listeners[0], 'no process listener left on the main thread');
          if (gc)
            assert.ok(
              main.heap[1] - main.heap[0] < 32 * MiB,
              `the main heap grew ${show(main.heap[1] - main.heap[0])} over ${CYCLES} cycles`,
            );
          assert.equal(after.threads, 1, 'only the host holds a slot');
          assert.equal(claims(nc), 1);
          assert.ok(maxThreads <= 1 + workers.length, `at most one slot a worker (${maxThreads})`);
          assert.equal(after.wasm, before.wasm, 'no WebAssembly memory more mapped');
          assert.ok(after.rss - before.rss < 96 * MiB, `RSS grew ${show(after.rss - before.rss)}`);
        } finally {
          await Promise.all(workers.map((w) => w.stop()));
        }
      },
      { sender: 'auto' },
    ),
  );
});
