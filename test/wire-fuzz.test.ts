// Fuzz of netconsole/wire: random records, targets, options and frames, each field from the values
// validate.ts accepts or from those it must refuse (wrong types, out-of-range numbers,
// non-integers, NaN, bigints where numbers go and numbers where bigints go, oversize text, lone
// surrogates, bad MACs, IPs, ports and payloads, hostile objects). Encoded exactly when every field
// is acceptable, else a NetconsoleError with an errno code naming the field; never a raw error.
// NETCONSOLE_FUZZ_RUNS / NETCONSOLE_FUZZ_SEED as in test/inputs-fuzz.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { L } from '../src/core/layout.js';
import {
  encodeFrame,
  encodeMessage,
  type EncodeOptions,
  type WireFrame,
  type WireRecord,
  type WireTarget,
} from '../src/core/wire.js';
import {
  attempt,
  FUZZ,
  mostly,
  named,
  objectOf,
  parts,
  RUNS,
  TIMEOUT,
  verdict,
  type Part,
} from './helpers/fuzz-parts.js';
import { hostileProxy } from './helpers/hostile.js';
import { MAX_TOTAL_MAX } from '../src/base/limits.js';

const intPart = (min: number, max: number): fc.Arbitrary<Part> =>
  mostly(
    parts(fc.integer({ min, max })),
    parts(fc.constantFrom(min - 1, max + 1, 1.5, NaN, Infinity, BigInt(min), String(min), null, true, {}), false),
  );
const u64Part = mostly(
  parts(fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.maxSafeNat())),
  parts(fc.constantFrom(-1, -1n, 1n << 64n, 1.5, NaN, Infinity, 2 ** 53, '1', null, undefined, {}), false),
);
const boolPart = mostly(
  parts(fc.constantFrom(true, false, undefined)),
  parts(fc.constantFrom('false', 'yes', 1, 0, null, {}), false),
);
const ascii = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: 'grapheme-ascii', minLength: min, maxLength: max });
const absent = parts(fc.constant(undefined));
const textPart = mostly(
  parts(
    fc.oneof(
      { weight: 10, arbitrary: fc.string({ unit: 'binary', maxLength: 2000 }) },
      { weight: 5, arbitrary: fc.uint8Array({ maxLength: 2000 }) },
      fc.constant('x'.repeat(L.TEXT_MAX)),
    ),
  ),
  parts(
    fc.constantFrom(
      'a\ud800',
      '\udc00',
      'x'.repeat(L.TEXT_MAX + 1),
      42,
      null,
      undefined,
      [],
      {},
      1n,
      true,
      new Uint16Array(2),
    ),
    false,
  ),
  named(false, [
    ['a Proxy of a Uint8Array', () => new Proxy(Uint8Array.of(1), {})],
    ['a symbol', () => Symbol('t')],
    ['a hostile Proxy', hostileProxy],
  ]),
);
const pairsPart = (
  key: fc.Arbitrary<string>,
  value: fc.Arbitrary<string>,
  bad: Array<[string, () => unknown]>,
): fc.Arbitrary<Part> =>
  mostly(
    parts(fc.option(fc.array(fc.tuple(key, value), { maxLength: 4 }), { nil: undefined })),
    named(false, [
      ['null', () => null],
      ['a string', () => 'K=v'],
      ['a Map', () => new Map([['K', 'v']])],
      ['an object', () => ({ K: 'v' })],
      ['a pair of one', () => [['K']]],
      ['a pair of three', () => [['K', 'v', 'w']]],
      ['a number key', () => [[1, 'v']]],
      ['a null value', () => [['K', null]]],
      ['a lone surrogate', () => [['K', '\ud800']]],
      ['a hostile Proxy', hostileProxy],
      ...bad,
    ]),
  );
const recordPart = mostly(
  objectOf(
    fc
      .record({
        prio: fc.oneof(
          fc.record({ prio: intPart(0, 191) }),
          fc.record({ level: intPart(0, 7), facility: fc.oneof(absent, intPart(0, 23)) }),
        ),
        seq: u64Part,
        tsUsec: u64Part,
        cont: boolPart,
        text: textPart,
        dict: pairsPart(
          fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
          fc.string({ unit: 'binary', maxLength: 100 }),
          [
            ['more than 8 KiB', () => [['K', 'v'.repeat(L.DICT_MAX)]]],
            [
              'an empty key',
              () => [
                ['K', 'v'],
                ['', 'v'],
              ],
            ],
          ],
        ),
      })
      .map(({ prio, ...rest }) => ({ ...(prio as Record<string, Part>), ...rest })),
  ),
  named(false, [
    ['an unknown field Dict', () => ({ prio: 13, seq: 1, tsUsec: 1, text: '', Dict: [['K', 'v']] })],
    ["a vector's text_hex", () => ({ prio: 13, seq: 1, tsUsec: 1, text: '', text_hex: '00' })],
    ['a hostile Proxy', hostileProxy],
    [
      'a throwing getter',
      () => ({
        prio: 13,
        seq: 1,
        tsUsec: 1,
        get text(): never {
          throw new Error('getter');
        },
      }),
    ],
    ['prio and level', () => ({ prio: 13, level: 3, seq: 1, tsUsec: 1, text: '' })],
    ['neither prio nor level', () => ({ seq: 1, tsUsec: 1, text: '' })],
    ['null', () => null],
    ['an array', () => []],
  ]),
);
const sysdataPart = fc.oneof(
  absent,
  objectOf(
    fc.record({
      cpu: fc.oneof(absent, intPart(0, 0x7fffffff)),
      taskname: mostly(
        parts(fc.option(ascii(0, 15), { nil: undefined })),
        parts(fc.constantFrom('x'.repeat(16), null, 5, '\ud800'), false),
      ),
      release: mostly(
        parts(fc.option(ascii(0, 64), { nil: undefined })),
        parts(fc.constantFrom('r'.repeat(65), null, 5, '6.1\n FAKE=1'), false),
      ),
      msgid: fc.oneof(absent, intPart(0, 0xffffffff)),
    }),
  ),
  parts(fc.constantFrom(null, 'cpu', [], 5, true, { cpus: 1 }), false),
);
/** A release prefix: no ',' (one more header field), ';' (the header's end) or control character. */
const release = ascii(0, 64).filter((r) => !/[,;]/.test(r));
const targetPart = mostly(
  objectOf(
    fc.record({
      extended: boolPart,
      release: mostly(
        parts(fc.option(release, { nil: null })),
        parts(fc.constantFrom(42, 'r'.repeat(65), 'a\ud800', {}, true, '6.1,x', '6.1;x', '6.1\n'), false),
      ),
      // A value's control characters are sent escaped; a key may have none.
      userdata: pairsPart(
        ascii(1, 53),
        fc.oneof({ weight: 9, arbitrary: ascii(0, 199) }, fc.constantFrom('v\nFAKE=1', 'a\tb', '\x7f')),
        [
          ['an empty key', () => [['', 'v']]],
          ['a key with a newline', () => [['a\nb', 'v']]],
          ['a 54-byte key', () => [['k'.repeat(54), 'v']]],
          ['a 200-byte value', () => [['k', 'v'.repeat(200)]]],
          ['257 entries', () => Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v'])],
        ],
      ),
      sysdata: sysdataPart,
      timestamps: boolPart,
    }),
  ),
  named(false, [
    ['a hostile Proxy', hostileProxy],
    [
      'a throwing getter',
      () => ({
        extended: true,
        get sysdata(): never {
          throw new Error('getter');
        },
      }),
    ],
    ['null', () => null],
    ['a string', () => 'extended'],
    ['an unknown field extnded', () => ({ extnded: true })],
  ]),
);
const encodeOptionsPart = fc.oneof(
  absent,
  objectOf(
    fc.record({
      impl: mostly(parts(fc.constantFrom(undefined, 'wasm', 'reference')), parts(fc.constantFrom('x', null, 5), false)),
      // few caps: each is an encoder memory (ENCODER_CACHE of them are kept)
      maxTotal: mostly(
        parts(fc.constantFrom(undefined, 100, 8191, MAX_TOTAL_MAX)),
        parts(fc.constantFrom(0, MAX_TOTAL_MAX + 1, 1.5, NaN, '100', 100n, null), false),
      ),
    }),
  ),
  named(false, [
    ['null', () => null],
    ['a string', () => 'reference'],
    ['a number', () => 5],
    ['a hostile Proxy', hostileProxy],
    ['an unknown field maxtotal', () => ({ maxtotal: 100 })],
  ]),
);
const hex2 = fc.integer({ min: 0, max: 255 }).map((b) => b.toString(16).padStart(2, '0'));
const macPart = mostly(
  parts(fc.array(hex2, { minLength: 6, maxLength: 6 }).map((o) => o.join(':'))),
  parts(
    fc.constantFrom(
      '02:00:00:00:01',
      'zz:00:00:00:00:01',
      '02-00-00-00-00-01',
      ' 2:00:00:00:00:01',
      '+2:00:00:00:00:01',
      5,
      null,
      undefined,
    ),
    false,
  ),
);
const framePart = mostly(
  fc.constantFrom(4, 6).chain((family) => {
    const ipPart = mostly(
      parts(family === 4 ? fc.ipV4() : fc.ipV6()),
      parts(fc.constantFrom('1.2.3', '256.0.0.1', '01.2.3.4', 'fe80::1%eth0', '[::1]', '1::2::3', 5, null), false),
    );
    const otherFamily = parts(family === 4 ? fc.ipV6() : fc.ipV4(), false);
    const max = family === 4 ? 1472 : 1452; // 1500 less the IP and UDP headers
    return objectOf(
      fc.record({
        payload: mostly(
          parts(fc.oneof(fc.uint8Array({ maxLength: max }), ascii(0, max))),
          parts(fc.constantFrom(new Uint8Array(max + 1), 'a\ud800', 42, null), false),
          named(false, [['a Proxy of a Uint8Array', () => new Proxy(Uint8Array.of(1), {})]]),
        ),
        srcMac: macPart,
        dstMac: macPart,
        srcIp: ipPart,
        dstIp: mostly(ipPart, otherFamily),
        srcPort: intPart(0, 0xffff),
        dstPort: intPart(0, 0xffff),
        ipId: fc.oneof(absent, intPart(0, 0xffffffff)),
      }),
    );
  }),
  named(false, [
    ['a hostile Proxy', hostileProxy],
    ['null', () => null],
    [
      'a throwing getter',
      () => ({
        get payload(): never {
          throw new Error('getter');
        },
      }),
    ],
    [
      'an unknown field ipid',
      () => ({
        payload: 'x',
        srcMac: '02:00:00:00:00:01',
        dstMac: '02:00:00:00:00:02',
        srcIp: '10.0.0.1',
        dstIp: '10.0.0.2',
        srcPort: 1,
        dstPort: 2,
        ipid: 3,
      }),
    ],
  ]),
);

describe('fuzz: netconsole/wire', () => {
  test(
    `${RUNS} random records, targets and options: encoded exactly when every field is acceptable, else a typed error`,
    TIMEOUT,
    (t) => {
      const counts = { encoded: 0, refused: 0 };
      fc.assert(
        fc.property(recordPart, targetPart, encodeOptionsPart, (record, target, opts) => {
          const r = attempt(() =>
            encodeMessage(record.make() as WireRecord, target.make() as WireTarget, opts.make() as EncodeOptions),
          );
          assert.equal(
            r.ok,
            record.ok && target.ok && opts.ok,
            `${verdict(r)}: record ${record.what}; target ${target.what}; options ${opts.what}`,
          );
          if (r.ok) assert.ok(r.result.datagrams.every((d) => d instanceof Uint8Array && d.length <= 1000));
          counts[r.ok ? 'encoded' : 'refused']++;
        }),
        FUZZ,
      );
      t.diagnostic(
        `wire records: ${counts.encoded} encoded, ${counts.refused} refused, 0 raw errors, 0 silent acceptances`,
      );
    },
  );

  test(`${RUNS} random frames: built exactly when every field is acceptable, else a typed error`, TIMEOUT, (t) => {
    const counts = { built: 0, refused: 0 };
    fc.assert(
      fc.property(framePart, fc.constantFrom('wasm' as const, 'reference' as const), (frame, impl) => {
        const r = attempt(() => encodeFrame(frame.make() as WireFrame, { impl }));
        assert.equal(r.ok, frame.ok, `${verdict(r)}: ${frame.what}`);
        counts[r.ok ? 'built' : 'refused']++;
      }),
      FUZZ,
    );
    t.diagnostic(`wire frames: ${counts.built} built, ${counts.refused} refused, 0 raw errors, 0 silent acceptances`);
  });
});
