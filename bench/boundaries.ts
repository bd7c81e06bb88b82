// Scenario: the cost of crossing each boundary on the write path, as a baseline for the others:
// an empty JS -> WebAssembly call, the UTF-8 copy of a 100-byte string into shared memory, and an
// uncontended spinlock acquire/release pair.
import { Core } from '../src/wasm.js';
import { measure, table, type Measurement } from './harness.js';

export function run(): { report: string; results: Measurement[] } {
  const core = Core.create({ ringSize: 64 << 10 });
  const x = core.exports;
  const u8 = core.u8.subarray(core.textAt, core.textAt + 4096);
  const encoder = new TextEncoder();
  const msg = 'x'.repeat(100);
  const tid = core.tid;
  const results = [
    measure('call: lock_owner() (empty JS -> wasm call)', (n) => {
      for (let i = 0; i < n; i++) x.lock_owner();
    }),
    measure('copy: encodeInto 100 B into shared memory', (n) => {
      for (let i = 0; i < n; i++) encoder.encodeInto(msg, u8);
    }),
    measure('lock: acquire + release, uncontended', (n) => {
      for (let i = 0; i < n; i++) {
        x.lock_acquire(tid);
        x.lock_release(tid);
      }
    }),
  ];
  core.release();
  return { report: table('Boundaries: the cost of each crossing', results), results };
}
