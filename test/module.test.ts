// The shipped WebAssembly modules: their imports and exports, their layout agreement with the host,
// and the rules that keep them safe to run on several threads at once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkLayout, L } from '../src/core/layout.js';
import { LayoutMismatchError } from '../src/base/errors.js';
import { Core } from '../src/core/wasm.js';
import { native } from '../src/core/native.js';
import { requireNative } from './helpers/requires.js';
import { REPO } from './helpers/vectors.js';

const FUNCTIONS = [
  'mem_init',
  'mem_attach',
  'mem_heap_base',
  'thread_claim',
  'thread_release',
  'thread_reap',
  'lock_acquire',
  'lock_release',
  'lock_recover',
  'lock_owner',
  'write_record',
  'write_target',
  'sender_retain',
  'list_add',
  'list_to_cleanup',
  'list_to_cleanup_batch',
  'list_from_cleanup',
  'list_remove',
  'list_read',
  'target_set_state',
  'target_set',
  'target_swap_userdata',
  'target_set_addr',
  'frame_build',
  'frame_overhead',
  'csum_simd',
  'csum_scalar',
  'fmt_escape',
  'fmt_cut_escaped',
];

for (const build of ['netconsole.wasm', 'netconsole.debug.wasm']) {
  describe(`dist/wasm/${build}`, () => {
    const bytes = readFileSync(new URL(`dist/wasm/${build}`, REPO));
    const module = new WebAssembly.Module(bytes);
    test('imports a shared memory and only the lock helpers (and abort in debug)', () => {
      const imports = WebAssembly.Module.imports(module)
        .map((i) => `${i.module}.${i.name}:${i.kind}`)
        .sort();
      const expected = ['env.futexWait:function', 'env.lockStalled:function', 'env.memory:memory'];
      if (build.includes('debug')) expected.push('env.abort:function', 'env.nowNs:function');
      assert.deepEqual(imports, expected.sort());
    });
    test('exports every function of the boundary', () => {
      const exported = new Set(
        WebAssembly.Module.exports(module)
          .filter((e) => e.kind === 'function')
          .map((e) => e.name),
      );
      for (const f of FUNCTIONS) assert.ok(exported.has(f), f);
      assert.equal(exported.size, FUNCTIONS.length, `no undeclared exports: ${[...exported].join(' ')}`);
    });
  });
}

describe('text format of the release build', () => {
  const wat = readFileSync(new URL('dist/wasm/netconsole.wat', REPO), 'utf8');
  test('no allocation anywhere: every instance has its own allocator at the same address', () => {
    assert.doesNotMatch(wat, /call \$~lib\/rt\/stub\/__(new|alloc|renew)/);
  });
  test('no wait inside WebAssembly (Node 20 Liftoff clobbers locals across it): waits go through env.futexWait', () => {
    assert.doesNotMatch(wat, /memory\.atomic\.wait(32|64)/);
  });
});

describe('layout agreement', () => {
  test('the host mirror matches the module, and the check catches a difference', () => {
    const core = Core.create({ ringSize: 64 << 10 });
    const exports = core.exports as unknown as WebAssembly.Exports;
    checkLayout(exports);
    const tampered = { ...exports, TGT_NEXT: new WebAssembly.Global({ value: 'i32', mutable: false }, 8) };
    assert.throws(() => checkLayout(tampered), LayoutMismatchError);
    assert.ok(core.exports.mem_heap_base() < L.REGION_BASE, 'static data stays below the regions');
    core.release();
  });
});

describe('the host table and the addon header are generated from assembly/layout.ts (scripts/gen-layout.mjs)', () => {
  const GEN = fileURLToPath(new URL('scripts/gen-layout.mjs', REPO));
  test('the committed src/core/layout-table.ts and native/layout.h are what the generator makes now (--check)', () => {
    const r = spawnSync(process.execPath, [GEN, '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
  test('expressions are evaluated in order, u32 values read as JavaScript reads the global, and what it cannot read is refused', async () => {
    const { generate } = (await import(GEN)) as { generate(source: string): string };
    const out = generate(
      [
        '// ---------------------------------------------------------------- a section',
        'export const A: usize = 1 << 20; // a note',
        'export const B: usize = A + <usize>A * 2;',
        'export const P: u32 = 0xffffffff;',
      ].join('\n'),
    );
    assert.match(out, /^ {2}\/\/ -+ a section$/m);
    assert.match(out, /^ {2}A: 1048576, \/\/ a note$/m);
    assert.match(out, /^ {2}B: 3145728,$/m);
    assert.match(out, /^ {2}P: -1,$/m, 'a u32 global of 0xffffffff reads -1');
    assert.throws(() => generate('export const X: usize = foo();'), /does not evaluate/);
    assert.throws(() => generate('export const Y = 3;'), /does not read/);
  });
  test('the header: the same values as C++ constants of the AssemblyScript types (wasm32: usize is 32 bits)', async () => {
    const { generateHeader } = (await import(GEN)) as { generateHeader(source: string): string };
    const out = generateHeader(
      [
        'export const A: usize = 1 << 20; // a note',
        'export const N: i32 = -1;',
        'export const P: u32 = 0xffffffff;',
        'export const K: u16 = 3;',
        'export const Q: u64 = A * 2;',
      ].join('\n'),
    );
    assert.match(out, /^namespace nc::layout \{$/m);
    assert.match(out, /^constexpr uint32_t A = 1048576u; {2}\/\/ a note$/m);
    assert.match(out, /^constexpr int32_t N = -1;$/m);
    assert.match(out, /^constexpr uint32_t P = 0xffffffffu;$/m, 'the u32 as C++ reads it, not as JavaScript does');
    assert.match(out, /^constexpr uint16_t K = 3;$/m);
    assert.match(out, /^constexpr uint64_t Q = 2097152ull;$/m);
  });
});

describe('waking the sender (assembly/layout.ts)', () => {
  test('Core.ring.wakeSender: RING_WAKE + 1 and a notify when the sender sleeps (1: dgram), nothing when it does not', async () => {
    const core = Core.create({ ringSize: 64 << 10 });
    const wake = L.RING_WAKE >> 2;
    const i32 = new Int32Array(core.memory.buffer); // the test's own view of the ring's words
    const w0 = Atomics.load(i32, wake);
    core.ring.wakeSender();
    assert.equal(Atomics.load(i32, wake), w0, 'awake: nothing');
    Atomics.store(i32, L.RING_SLEEPING >> 2, 1);
    const waiting = (
      Atomics as unknown as {
        waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> };
      }
    ).waitAsync(i32, wake, w0);
    core.ring.wakeSender();
    assert.equal(Atomics.load(i32, wake), w0 + 1);
    assert.equal(await waiting.value, 'ok', 'the waiter was notified');
    core.release();
  });

  // The native sender may take a while to run after its wake-up (on a busy machine, milliseconds);
  // every log call in that time finds it still marked asleep. One of them makes the system call.
  for (const how of [1, 2] as const) {
    test(`a burst published before the woken sender runs (${how === 1 ? '1: dgram, Atomics.notify' : '2: native, futexWake'}) wakes it once; the next sleep is woken again`, async (t) => {
      if (how === 2 && !requireNative(t)) return;
      const core = Core.create({ ringSize: 64 << 10 });
      const wake = L.RING_WAKE >> 2;
      const sleeping = L.RING_SLEEPING >> 2;
      const i32 = new Int32Array(core.memory.buffer);
      const binding = native as unknown as { futexWake: (v: Int32Array, i: number) => void } | null;
      const futexWake = binding?.futexWake;
      let calls = 0;
      if (how === 2) binding!.futexWake = (v, i) => (calls++, futexWake!.call(binding, v, i));
      const notify = Atomics.notify;
      if (how === 1)
        Atomics.notify = ((a: Int32Array, i: number, n?: number) => (
          calls++,
          notify(a, i, n)
        )) as typeof Atomics.notify;
      try {
        const w0 = Atomics.load(i32, wake);
        for (const round of [1, 2]) {
          Atomics.store(i32, sleeping, how); // the sender went to sleep
          for (let i = 0; i < 100; i++) core.ring.wakeSender(); // 100 records before it runs
          assert.equal(calls, round, `round ${round}: one wake-up call for 100 records`);
          assert.equal(Atomics.load(i32, sleeping), 0, 'the first writer took the flag down');
          assert.equal(
            Atomics.load(i32, wake),
            w0 + round,
            'RING_WAKE moved once: the sender, woken or not yet asleep, looks at the head again',
          );
        }
      } finally {
        if (how === 2) binding!.futexWake = futexWake!;
        Atomics.notify = notify;
        core.release();
      }
    });
  }
});
