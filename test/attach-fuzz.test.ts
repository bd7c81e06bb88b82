// Fuzz of attach()'s handle: random handles built from the parts of a real nc.handle(), each part
// good or bad (wrong types, out of range, Proxies, throwing getters, a module or a memory that is
// not a Netconsole's), and whole values that are no handle at all. A handle is taken exactly when
// every part is acceptable; every refusal is a NetconsoleError with an errno code naming the field,
// and leaves nothing behind: the claims on the thread slots, the threads attached and the process
// listeners are what they were. A taken handle's logger detaches back to the same.
//
// NETCONSOLE_FUZZ_RUNS sets the cases (default 300); NETCONSOLE_FUZZ_SEED replays a run (the seed
// is in the test's name and its diagnostics).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { L, memoryBytes, threadOffset } from '../src/core/layout.js';
import { attach, Netconsole, type NetconsoleHandle } from '../src/host/netconsole.js';
import { attempt, named, parts, RUNS, TIMEOUT, verdict, type Part } from './helpers/fuzz-parts.js';
import { processListeners } from './helpers/gc.js';
import { hostileProxy, revoked, throwing } from './helpers/hostile.js';
import { seedFrom } from '../harness/random.js';

const SEED = seedFrom('NETCONSOLE_FUZZ_SEED');

let nc: Netconsole;
let real: NetconsoleHandle;
before(async () => {
  nc = await Netconsole.create({ devices: 'none', env: false });
  real = nc.handle();
});
after(() => nc.close());

/** The claims on every thread slot of the memory, summed (THR_STATE). */
function claims(): number {
  const i32 = new Int32Array(real.core.memory.buffer);
  let n = 0;
  for (let i = 0; i < L.MAX_THREADS; i++) n += Atomics.load(i32, (threadOffset(i) + L.THR_STATE) >> 2);
  return n;
}

// Memories made once (each reserves about 10 GiB of address space until it is collected).
let memories: {
  plain: WebAssembly.Memory;
  small: WebAssembly.Memory;
  blank: WebAssembly.Memory;
  tooBig: WebAssembly.Memory;
} | null = null;
const memory = (which: 'plain' | 'small' | 'blank' | 'tooBig') => (): WebAssembly.Memory => {
  const pages = Math.ceil(memoryBytes(L.RING_MIN) / 65536);
  memories ??= {
    plain: new WebAssembly.Memory({ initial: 1 }),
    small: new WebAssembly.Memory({ initial: 1, maximum: 16384, shared: true }),
    blank: new WebAssembly.Memory({ initial: pages, maximum: 16384, shared: true }), // never laid out
    tooBig: new WebAssembly.Memory({ initial: pages, maximum: 20000, shared: true }), // more than the module's maximum
  };
  return memories[which];
};
/** A module that is no Netconsole's: the smallest valid one, and one exporting a memory. */
const EMPTY_MODULE = new WebAssembly.Module(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));

const bad = (what: string, make: () => unknown): [string, () => unknown] => [what, make];
const notAnObject: Array<[string, () => unknown]> = [
  bad('null', () => null),
  bad('undefined', () => undefined),
  bad('5', () => 5),
  bad('a string', () => 'handle'),
  bad('a function', () => () => {}),
  bad('a symbol', () => Symbol('h')),
  bad('a bigint', () => 5n),
];
const hostile: Array<[string, () => unknown]> = [
  bad('a Proxy whose traps throw', hostileProxy),
  bad('a revoked Proxy', revoked),
];

const modulePart = fc.oneof(
  { weight: 24, arbitrary: named(true, [['the module', () => real.core.module]]) },
  named(false, [
    ...notAnObject,
    ...hostile,
    bad('{}', () => ({})),
    bad('a Proxy of the module', () => new Proxy(real.core.module, {})),
    bad('an empty module', () => EMPTY_MODULE),
    bad('the memory', () => real.core.memory),
    bad('an object posing as a module', () => Object.create(WebAssembly.Module.prototype)),
  ]),
);
const memoryPart = fc.oneof(
  { weight: 24, arbitrary: named(true, [['the memory', () => real.core.memory]]) },
  named(false, [
    ...notAnObject,
    ...hostile,
    bad('{}', () => ({})),
    bad('a Proxy of the memory', () => new Proxy(real.core.memory, {})),
    bad("the memory's buffer", () => real.core.memory.buffer),
    bad('a memory that is not shared', memory('plain')),
    bad('a shared memory of one page', memory('small')),
    bad('a shared memory never laid out', memory('blank')),
    bad("a shared memory whose maximum is past the module's", memory('tooBig')),
    bad('the module', () => real.core.module),
    bad('an object posing as a memory', () => Object.create(WebAssembly.Memory.prototype)),
  ]),
);
const ints = (min: number, max: number, badOnes: unknown[]): fc.Arbitrary<Part> =>
  fc.oneof(
    { weight: 24, arbitrary: parts(fc.integer({ min, max })) },
    parts(fc.constantFrom(...badOnes), false),
    parts(fc.oneof(fc.integer({ max: min - 1 }), fc.integer({ min: max + 1 })), false),
  );
const NOT_INTS = [1.5, NaN, Infinity, -Infinity, '1', null, undefined, true, 1n, {}, [1]];
// A good epoch other than the real one is a closed Netconsole's handle: taken, writes nothing.
const epochPart = fc.oneof(
  { weight: 20, arbitrary: named(true, [['the epoch', () => real.core.epoch]]) },
  { weight: 4, arbitrary: parts(fc.integer({ min: 0, max: 0xffffffff })) },
  parts(fc.constantFrom(-1, 2 ** 32, ...NOT_INTS), false),
);
const debugPart = fc.oneof(
  { weight: 24, arbitrary: parts(fc.boolean()) },
  parts(fc.constantFrom(0, 1, 'true', null, undefined, {}), false),
);
const choice = (good: string[], badOnes: unknown[]): fc.Arbitrary<Part> =>
  fc.oneof(
    { weight: 24, arbitrary: parts(fc.constantFrom(...good)) },
    parts(fc.constantFrom(...badOnes), false),
    parts(
      fc.string({ maxLength: 8 }).filter((x) => !good.includes(x)),
      false,
    ),
  );

/** An object of parts, each field maybe missing (bad), maybe read through a getter (fine) or one
 *  that throws (bad). */
function objectOf(fields: Record<string, fc.Arbitrary<Part>>): fc.Arbitrary<Part> {
  const how = fc.oneof(
    { weight: 40, arbitrary: fc.constant('value' as const) },
    { weight: 4, arbitrary: fc.constant('getter' as const) },
    fc.constant('throwing getter' as const),
    fc.constant('missing' as const),
  );
  const entries = Object.entries(fields).map(([k, arb]) => fc.tuple(fc.constant(k), arb, how));
  return fc.tuple(...entries).map((fs): Part => {
    const ok = fs.every(([, p, h]) => p.ok && (h === 'value' || h === 'getter'));
    const what = `{ ${fs.map(([k, p, h]) => `${k}=${h === 'missing' ? '(missing)' : h === 'throwing getter' ? '(a throwing getter)' : `${p.what}${h === 'getter' ? ' (a getter)' : ''}${p.ok ? '' : ' (bad)'}`}`).join(', ')} }`;
    const make = (): unknown => {
      const o: Record<string, unknown> = {};
      for (const [k, p, h] of fs) {
        if (h === 'value') o[k] = p.make();
        else if (h === 'getter') Object.defineProperty(o, k, { get: () => p.make(), enumerable: true });
        else if (h === 'throwing getter')
          Object.defineProperty(o, k, { get: throwing(`getter ${k}`), enumerable: true });
      }
      return o;
    };
    return { ok, make, what };
  });
}

const corePart = fc.oneof(
  { weight: 24, arbitrary: objectOf({ module: modulePart, memory: memoryPart, debug: debugPart, epoch: epochPart }) },
  named(false, [...notAnObject, ...hostile, bad('{}', () => ({})), bad('the memory', () => real.core.memory)]),
);
const handlePart = fc.oneof(
  {
    weight: 24,
    arbitrary: objectOf({
      core: corePart,
      facility: ints(0, 23, NOT_INTS),
      overflow: choice(['wait', 'drop'], ['WAIT', '', null, undefined, 1, {}, ['wait']]),
      overflowWaitMs: ints(0, 60_000, NOT_INTS),
      sender: choice(['native', 'dgram'], ['auto', 'NATIVE', '', null, undefined, 5, {}]),
    }),
  },
  named(false, [
    ...notAnObject,
    ...hostile,
    bad('{}', () => ({})),
    bad('an array', () => [real]),
    bad('{ core: null }', () => ({ core: null })),
  ]),
);

describe(`attach() fuzz: ${RUNS} random handles (seed ${SEED}; NETCONSOLE_FUZZ_SEED=${SEED} replays them)`, () => {
  test(
    'a handle is taken exactly when every part is acceptable; a refusal is typed, names the field, and leaves nothing behind',
    TIMEOUT,
    (t) => {
      const counts = { taken: 0, stale: 0, refused: 0 };
      const codes = new Map<string, number>();
      fc.assert(
        fc.property(handlePart, (h) => {
          const before = { claims: claims(), threads: nc.stats().threads, listeners: processListeners() };
          const value = h.make();
          const r = attempt(() => attach(value as NetconsoleHandle));
          const why = `${verdict(r)}: ${h.what}`;
          assert.equal(r.ok, h.ok, why);
          if (r.ok) {
            const live = claims() - before.claims; // 1: a claim on the host's slot; 0: a closed Netconsole's epoch
            assert.ok(live === 0 || live === 1, `${why}: ${live} claims`);
            counts[live === 1 ? 'taken' : 'stale']++;
            r.result.detach();
          } else {
            assert.ok(r.error.option!.startsWith('handle'), `names a field of the handle: ${r.error.option} (${why})`);
            codes.set(r.error.code, (codes.get(r.error.code) ?? 0) + 1);
            counts.refused++;
          }
          assert.deepEqual(
            { claims: claims(), threads: nc.stats().threads, listeners: processListeners() },
            before,
            `nothing left behind: ${why}`,
          );
        }),
        { numRuns: RUNS, seed: SEED },
      );
      t.diagnostic(
        `seed ${SEED}: ${counts.taken} taken, ${counts.stale} taken with a closed Netconsole's epoch (write nothing), ${counts.refused} refused (${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}); 0 raw errors`,
      );
    },
  );

  test('the malformed handles of issue 15, each typed before anything is claimed', () => {
    const h = real;
    const cases: Array<[string, unknown, string]> = [
      ['null', null, 'handle'],
      ['{}', {}, 'handle.facility'],
      ['5', 5, 'handle'],
      ['{ core: null }', { ...h, core: null }, 'handle.core'],
      ["overflow 'sometimes'", { ...h, overflow: 'sometimes' }, 'handle.overflow'],
      ['overflow undefined', { ...h, overflow: undefined }, 'handle.overflow'],
      ['sender 5', { ...h, sender: 5 }, 'handle.sender'],
      ["sender 'auto'", { ...h, sender: 'auto' }, 'handle.sender'],
      ['core.memory the buffer', { ...h, core: { ...h.core, memory: h.core.memory.buffer } }, 'handle.core.memory'],
      ['core.module {}', { ...h, core: { ...h.core, module: {} } }, 'handle.core.module'],
      ['core.memory never laid out', { ...h, core: { ...h.core, memory: memory('blank')() } }, 'handle.core.memory'],
      [
        "core.memory's maximum past the module's",
        { ...h, core: { ...h.core, memory: memory('tooBig')() } },
        'handle.core',
      ],
    ];
    for (const [what, value, option] of cases) {
      const before = { claims: claims(), listeners: processListeners() };
      const r = attempt(() => attach(value as NetconsoleHandle));
      assert.ok(!r.ok, `${what}: refused`);
      assert.equal(r.error.option, option, `${what}: ${r.error.message}`);
      assert.deepEqual({ claims: claims(), listeners: processListeners() }, before, what);
    }
  });
});
