// Differential tests: the WebAssembly write path and the plain-TypeScript reference agree byte for
// byte, over random records and target settings (fast-check), and over deterministic sweeps of
// every size boundary: 999/1000/1001-byte messages, every fragment-count edge, the truncation
// limit, and ring wrap-around at every slot alignment.
//
// NETCONSOLE_PROPERTY_RUNS sets the number of random cases (default 100,000, the CI amount);
// run it with 10,000,000 for a long manual soak.
import { enableBareTarget } from '../harness/bare-target.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeMessage } from '../src/core/wire.js';
import { L } from '../src/core/layout.js';
import { referenceDatagrams } from '../src/reference/datagrams.js';
import { canonicalRecord, canonicalTarget } from '../src/core/validate.js';
import { Core } from '../src/core/wasm.js';
import type { WireRecord, WireTarget } from '../src/base/wire-types.js';
import { hex } from './helpers/vectors.js';

const RUNS = Number(process.env.NETCONSOLE_PROPERTY_RUNS ?? 100_000);
const enc = new TextEncoder();

function agree(record: WireRecord, target: WireTarget, maxTotal?: number): void {
  const w = encodeMessage(record, target, { impl: 'wasm', maxTotal });
  const r = encodeMessage(record, target, { impl: 'reference', maxTotal });
  assert.equal(w.truncated, r.truncated, 'truncated flag');
  assert.deepEqual(w.datagrams.map(hex), r.datagrams.map(hex));
  for (const d of w.datagrams) assert.ok(d.length <= 1000, `datagram of ${d.length} bytes`);
}

// ---------------------------------------------------------------- random records and targets
const u64 = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.constantFrom(0n, 9n, 10n, 999_999n, 1_000_000n, (1n << 64n) - 1n),
  fc.nat(),
);
// Text that stresses each rule: plain ASCII, bytes that need escaping, newlines, raw bytes.
const textBytes = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .string({ unit: fc.constantFrom('a', 'b', ' ', '=', ';', ',', '\n'), maxLength: 3000 })
      .map((s) => enc.encode(s)),
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2500 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 600 }).map((s) => enc.encode(s)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 9000 }).map((n) => enc.encode('x'.repeat(n))) },
);
const record: fc.Arbitrary<WireRecord> = fc.record({
  prio: fc.integer({ min: 0, max: 191 }),
  seq: u64,
  tsUsec: u64,
  cont: fc.boolean(),
  text: textBytes,
  dict: fc.array(fc.tuple(fc.constantFrom('SUBSYSTEM', 'DEVICE', 'K\\EY', 'é'), fc.string({ maxLength: 80 })), {
    maxLength: 3,
  }),
});
const value = fc.oneof(fc.constant(''), fc.string({ unit: fc.constantFrom('v', 'w', ';', '='), maxLength: 199 }));
const target: fc.Arbitrary<WireTarget> = fc.record({
  extended: fc.boolean(),
  release: fc.option(fc.constantFrom('6.4.0', '6.18.44-fc', 'x'.repeat(64)), { nil: null }),
  userdata: fc.array(
    fc.tuple(fc.string({ unit: fc.constantFrom('k', 'e', 'y', '1'), minLength: 1, maxLength: 53 }), value),
    { maxLength: 12 },
  ),
  sysdata: fc.record(
    {
      cpu: fc.nat({ max: 4096 }),
      taskname: fc.string({ unit: fc.constantFrom('n', 'o', 'd', 'e', '-'), maxLength: 15 }),
      release: fc.constantFrom('6.18.44', '7.0.0'),
      msgid: fc.oneof(fc.constantFrom(0, 1, 0xffffffff), fc.nat({ max: 0xffffffff })),
    },
    { requiredKeys: [] },
  ),
  timestamps: fc.boolean(),
});
// A few caps (each distinct cap is one private shared memory in the encoder).
const maxTotal = fc.constantFrom(undefined, undefined, 8191, 2000, 1001, 300, 60);

describe('differential: WebAssembly = reference', () => {
  test(`${RUNS} random records and targets agree byte for byte`, () => {
    fc.assert(
      fc.property(record, target, maxTotal, (r, t, m) => agree(r, t, m)),
      {
        numRuns: RUNS,
        seed: process.env.NETCONSOLE_PROPERTY_SEED ? Number(process.env.NETCONSOLE_PROPERTY_SEED) : undefined,
      },
    );
  });
});

// ---------------------------------------------------------------- deterministic sweeps
const base = { prio: 13, seq: 434n, tsUsec: 54928466n, cont: false, dict: [] as [string, string][] };
const SWEEP_TARGETS: Array<[string, WireTarget]> = [
  ['extended', { extended: true }],
  ['extended+release', { extended: true, release: '6.18.44' }],
  [
    'extended+userdata+sysdata',
    {
      extended: true,
      userdata: [['region', 'eu-west-1']],
      sysdata: { cpu: 3, taskname: 'node', release: '6.18.44', msgid: 7 },
    },
  ],
  ['basic', { extended: false }],
  ['basic no timestamps', { extended: false, timestamps: false }],
];

function messageLength(t: WireTarget, textLen: number): number {
  const out = encodeMessage({ ...base, text: 'a'.repeat(textLen) }, t, { impl: 'reference' }).datagrams;
  return out.length === 1 ? out[0].length : -1;
}

describe('differential: 999 / 1000 / 1001-byte messages', () => {
  for (const [name, t] of SWEEP_TARGETS) {
    // The text length that makes the unfragmented message exactly 1000 bytes.
    const overhead = messageLength(t, 1) - 1;
    for (const L of [999, 1000, 1001]) {
      test(`${name}: ${L}-byte message`, () => {
        const text = 'a'.repeat(L - overhead);
        agree({ ...base, text }, t);
        const n = encodeMessage({ ...base, text }, t).datagrams.length;
        assert.equal(n, L <= 1000 ? 1 : 2, `datagrams for a ${L}-byte message`);
      });
    }
  }
});

describe('differential: every text length across fragment edges', () => {
  for (const [name, t] of SWEEP_TARGETS) {
    test(`${name}: text lengths 0..4200`, () => {
      for (let n = 0; n <= 4200; n++) agree({ ...base, text: 'é'.repeat(n >> 1) + 'z'.repeat(n & 1) }, t);
    });
  }
});

describe('differential: the truncation limit', () => {
  const ext: WireTarget = { extended: true, userdata: [['k', 'v'.repeat(100)]], sysdata: { msgid: 1 } };
  for (const cap of [8191, 1200]) {
    test(`maxTotal ${cap}: escaped text cut at every offset near the cap, never inside an escape`, () => {
      const fixed = 1 + 104 + 9; // "\n" + " k=" + 100 v + "\n" + " msgid=1\n"
      for (let n = cap - fixed - 12; n <= cap - fixed + 12; n++) {
        for (const text of [
          'a'.repeat(n),
          'a'.repeat(n - 3) + '\\\n\t' + 'b'.repeat(9),
          '\x01'.repeat(Math.ceil(n / 4) + 2),
        ]) {
          const opts = { maxTotal: cap === 8191 ? undefined : cap };
          agree({ ...base, text }, ext, opts.maxTotal);
          const { datagrams, truncated } = encodeMessage({ ...base, text }, ext, opts);
          // The total as written, not through parseDatagram: that refuses a total over 8191 (N11), the very fault checked here.
          const total = Number(/ncfrag=\d+\/(\d+);/.exec(Buffer.from(datagrams[0]).toString('latin1'))?.[1] ?? 0);
          if (total > 0) assert.ok(total <= cap, `total ${total} <= ${cap}`);
          assert.equal(truncated, text.length + (text.match(/[\x00-\x1f\\]/g)?.length ?? 0) * 3 > cap - fixed);
        }
      }
    });
  }
});

describe('differential: ring wrap-around', () => {
  test('a 64 KiB ring wrapped at every slot alignment gives the reference bytes, pads skipped', () => {
    const core = Core.create({ ringSize: 64 << 10 });
    try {
      enableBareTarget(core);
      const tgt = canonicalTarget({ extended: true });
      let pads = 0;
      for (let i = 0; i < 3000; i++) {
        // Lengths chosen to land slot boundaries on every 16-byte offset of the ring end.
        const text = enc.encode('w'.repeat((i * 37) % 2900));
        const rec = canonicalRecord({ ...base, seq: BigInt(i), text });
        core.setExplicit(rec.seq, rec.tsUsec);
        const len = core.putTextBytes(text);
        const before = core.ring.head();
        assert.equal(core.exports.write_record(core.thread, rec.prio, L.REC_EXPLICIT, len, 0, 0), 1);
        const got: string[] = [];
        core.ring.drain((_t, _k, _g, bytes) => got.push(hex(bytes)));
        const want = referenceDatagrams(rec, tgt, 8191).datagrams.map(hex);
        assert.deepEqual(got, want, `record ${i}`);
        const used = core.ring.head() - before;
        const slots = want.reduce((n, d) => n + 16 + ((d.length / 2 + 15) & ~15), 0);
        if (used > slots) pads++;
      }
      assert.ok(core.ring.head() > 20 * (64 << 10), 'the ring wrapped many times');
      assert.ok(pads > 50, `pad slots were exercised (${pads})`);
    } finally {
      core.release();
    }
  });
});
