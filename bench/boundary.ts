// Scenario boundary: the cost of each crossing on the write path, the baseline for the others:
// an empty JS -> WebAssembly call (lock_owner: one atomic load), an empty JS -> native call (an
// N-API function that does nothing, harness/c/noop-addon.c, compiled against Node's headers), the
// addon's getcpu() (the native call a record with cpu= makes), the UTF-8 copy of a 100-byte
// string into shared memory (TextEncoder.encodeInto), and an uncontended spinlock acquire+release.
import { createRequire } from 'node:module';
import { native } from '../src/core/native.js';
import { Core } from '../src/core/wasm.js';
import { compile, nodeIncludeDir } from '../harness/cc.js';
import { opsPerSec, text, type Case, type Scenario } from './harness.js';

const ROUND_MS = { full: 200, quick: 60, smoke: 10 };

/** The empty native function, or why there is none. */
function noopAddon(): { noop: () => void } | string {
  const inc = nodeIncludeDir();
  if (inc === null) return "Node's headers (node_api.h) are not installed";
  try {
    const so = compile('noop-addon', ['-shared', '-fPIC', `-I${inc}`], '.node');
    return createRequire(import.meta.url)(so) as { noop: () => void };
  } catch (err) {
    return `cannot build it: ${(err as Error).message.split('\n')[0]}`;
  }
}

export const scenario: Scenario = {
  name: 'boundary',
  about: 'ns per crossing: empty JS->wasm call, empty JS->native call, getcpu(), 100 B UTF-8 copy, lock+unlock',
  cases(ctx) {
    const targetMs = ROUND_MS[ctx.profile];
    const addon = noopAddon();
    let core: Core;
    const unavailable: Record<string, string> = {};
    if (typeof addon === 'string') unavailable['native-call'] = addon;
    if (native === null) unavailable['native-getcpu'] = 'the native addon is not loaded';
    const c: Case = {
      scenario: 'boundary',
      params: { bytes: 100 },
      unit: 'ns/op',
      higherIsBetter: false,
      subjects: ['wasm-call', 'native-call', 'native-getcpu', 'utf8-copy', 'lock'],
      unavailable,
      async around(body) {
        core = Core.create({ ringSize: 64 << 10 });
        try {
          await body();
        } finally {
          core.release();
        }
      },
      measure(subject) {
        const x = core.exports;
        const tid = core.tid;
        const u8 = core.text.subarray(0, 4096);
        const encoder = new TextEncoder();
        const msg = text(100);
        const loops: Record<string, (n: number) => void> = {
          'wasm-call': (n) => {
            for (let i = 0; i < n; i++) x.lock_owner();
          },
          'native-call': (n) => {
            const f = (addon as { noop: () => void }).noop;
            for (let i = 0; i < n; i++) f();
          },
          'native-getcpu': (n) => {
            const f = native!.getcpu;
            for (let i = 0; i < n; i++) f();
          },
          'utf8-copy': (n) => {
            for (let i = 0; i < n; i++) encoder.encodeInto(msg, u8);
          },
          lock: (n) => {
            for (let i = 0; i < n; i++) {
              x.lock_acquire(tid);
              x.lock_release(tid);
            }
          },
        };
        return { value: 1e9 / opsPerSec(loops[subject], { targetMs }) };
      },
    };
    return [c];
  },
};
