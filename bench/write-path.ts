// Scenario: records per second through the write path, 100-byte and 2,000-byte messages to one
// extended target, the WebAssembly path against the plain-TypeScript reference, in one run.
//
// WebAssembly: what a log call costs on one thread: the string copied (UTF-8) into the thread's
// area of the shared memory, and one write_record call that takes the spinlock, formats, fragments
// and writes the datagrams into the ring. A consumer is simulated by moving the ring's tail up to
// its head every 256 records (the ring never fills: checked, no message is dropped).
// Reference: the same record from the same string through canonicalRecord + referenceDatagrams.
import assert from 'node:assert/strict';
import { L } from '../src/layout.js';
import { referenceDatagrams } from '../src/reference/datagrams.js';
import { renderUserdata } from '../src/userdata.js';
import { canonicalRecord, canonicalTarget } from '../src/validate.js';
import { Core } from '../src/wasm.js';
import { measure, table, type Measurement } from './harness.js';

function text(bytes: number): string {
  const words = 'netconsole ships logs over udp to every target without blocking the caller ';
  return words.repeat(Math.ceil(bytes / words.length)).slice(0, bytes);
}

function extendedCore(): Core {
  const core = Core.create({ ringSize: 16 << 20 });
  core.clearTarget(0);
  core.exports.list_add(core.tid, 0, L.ST_DISABLED);
  core.setTargetLocked(0, L.F_EXTENDED, null, null);
  core.setUserdata(0, renderUserdata([]));
  core.setTargetWord(0, L.TGT_DEV_UP, 1);
  core.exports.target_set_state(core.tid, 0, L.ST_ENABLED);
  return core;
}

export function run(): { report: string; results: Measurement[] } {
  const core = extendedCore();
  const tail = new BigUint64Array(core.memory.buffer as unknown as SharedArrayBuffer, L.RING_TAIL, 1);
  const head = new BigUint64Array(core.memory.buffer as unknown as SharedArrayBuffer, L.RING_HEAD, 1);
  const results: Measurement[] = [];
  const tgt = canonicalTarget({ extended: true });
  for (const size of [100, 2000]) {
    const msg = text(size);
    const write = core.exports.write_record;
    const u8 = core.u8.subarray(core.textAt, core.textAt + L.TEXT_MAX);
    const encoder = new TextEncoder();
    const thread = core.thread;
    const wasm = measure(`wasm ${size} B`, (n) => {
      for (let i = 0; i < n; i++) {
        const len = encoder.encodeInto(msg, u8).written!;
        write(thread, 14, 0, len, 0, i);
        if ((i & 255) === 255) Atomics.store(tail, 0, Atomics.load(head, 0));
      }
    });
    const ref = measure(`reference ${size} B`, (n) => {
      for (let i = 0; i < n; i++) {
        referenceDatagrams(canonicalRecord({ prio: 14, seq: i, tsUsec: i, text: msg }), tgt, 8191);
      }
    });
    results.push(wasm, ref);
  }
  assert.equal(core.targetCounter(0, L.TGT_CNT_DROPPED), 0n, 'no message was dropped: the ring never filled');
  const rows = table('Write path: records/s to one extended target, one thread', results, 'reference 100 B');
  const ratios = [100, 2000].map((s) => {
    const w = results.find((r) => r.name === `wasm ${s} B`)!;
    const r = results.find((r) => r.name === `reference ${s} B`)!;
    return `wasm / reference at ${s} B: ${(w.opsPerSec / r.opsPerSec).toFixed(2)}x`;
  });
  core.release();
  return { report: `${rows}\n\n${ratios.join('\n')}`, results };
}
