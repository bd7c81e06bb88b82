// Bad input gets a typed error with an errno code, never a crash and never a corrupted ring:
// after every rejected call, the next good one still gives the known answer. The rules of what
// the encoding API accepts are in src/core/validate.ts; test/inputs.test.ts fuzzes them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NetconsoleError } from '../src/base/errors.js';
import { L } from '../src/core/layout.js';

const { TEXT_MAX, DICT_MAX } = L;
import { encodeDatagrams, encodeFrame, type WireFrame, type WireRecord, type WireTarget } from '../src/core/wire.js';
import { Core } from '../src/core/wasm.js';
import { hex, toRecord, vectors } from './helpers/vectors.js';

const good = vectors.wire.find((c) => c.name === 'ext-short')!;
const goodRecord = toRecord(good.record);
const ext: WireTarget = { extended: true };

function expectCode(code: string, fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof NetconsoleError, `a NetconsoleError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(err.option, 'the error names the option');
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** An object whose every read throws, as a hostile Proxy does. */
const throwingProxy = (): object =>
  new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
    },
  );
const throwingGetter = (field: string, over: object): object =>
  Object.defineProperty({ ...over }, field, {
    enumerable: true,
    get() {
      throw new Error('getter');
    },
  });

const badRecords: Array<[string, string, Partial<WireRecord> & Record<string, unknown>]> = [
  ['text larger than the scratch area', 'EMSGSIZE', { text: 'x'.repeat(TEXT_MAX + 1) }],
  ['bytes larger than the scratch area', 'EMSGSIZE', { text: new Uint8Array(TEXT_MAX + 1) }],
  ['a dictionary larger than its area', 'EMSGSIZE', { dict: [['K', 'v'.repeat(DICT_MAX)]] }],
  ['a lone high surrogate in text', 'EINVAL', { text: 'abc\ud800def' }],
  ['a lone low surrogate in text', 'EINVAL', { text: '\udc00' }],
  ['a lone surrogate in a dict value', 'EINVAL', { dict: [['K', '\ud800']] }],
  ['text neither string nor bytes', 'EINVAL', { text: 42 as unknown as string }],
  ['prio 192', 'ERANGE', { prio: 192 }],
  ['prio -1', 'ERANGE', { prio: -1 }],
  ['prio 1.5', 'EINVAL', { prio: 1.5 }],
  ['level 8', 'ERANGE', { prio: undefined, level: 8 }],
  ['level -1', 'ERANGE', { prio: undefined, level: -1 }],
  ['facility 24', 'ERANGE', { prio: undefined, level: 3, facility: 24 }],
  ['facility -1', 'ERANGE', { prio: undefined, level: 3, facility: -1 }],
  ['prio and level both', 'EINVAL', { level: 3 }],
  ['seq -1', 'ERANGE', { seq: -1 }],
  ['seq -1n', 'ERANGE', { seq: -1n }],
  ['seq 1.5', 'EINVAL', { seq: 1.5 }],
  ['seq NaN', 'EINVAL', { seq: NaN }],
  ['seq 2^53 as a number', 'EINVAL', { seq: 2 ** 53 }],
  ['seq 2^64 as a bigint', 'ERANGE', { seq: 1n << 64n }],
  ['seq a string', 'EINVAL', { seq: '1' as unknown as number }],
  ['tsUsec -5', 'ERANGE', { tsUsec: -5 }],
  ['a dict entry that is not a pair', 'EINVAL', { dict: [['K']] as unknown as [string, string][] }],
  // Booleans are true or false: 'false' was taken as true, 1 and 0 as booleans.
  ['cont "false"', 'EINVAL', { cont: 'false' as unknown as boolean }],
  ['cont 1', 'EINVAL', { cont: 1 as unknown as boolean }],
  ['cont null', 'EINVAL', { cont: null as unknown as boolean }],
  ['text a Proxy of a Uint8Array', 'EINVAL', { text: new Proxy(new Uint8Array(2), {}) }],
  [
    'dict a Map (the encoding API takes pairs)',
    'EINVAL',
    { dict: new Map([['K', 'v']]) as unknown as [string, string][] },
  ],
];

describe('bad records: typed errors, ring intact', () => {
  for (const impl of ['wasm', 'reference'] as const) {
    for (const [name, code, patch] of badRecords) {
      test(`${impl}: ${name} -> ${code}`, () => {
        expectCode(code, () => encodeDatagrams({ ...goodRecord, ...patch } as WireRecord, ext, { impl }));
        assert.deepEqual(encodeDatagrams(goodRecord, ext, { impl }).map(hex), good.datagrams_hex);
      });
    }
  }
});

const badTargets: Array<[string, string, WireTarget]> = [
  ['taskname over 15 bytes', 'EMSGSIZE', { extended: true, sysdata: { taskname: 'x'.repeat(16) } }],
  ['release over 64 bytes', 'EMSGSIZE', { extended: true, release: 'r'.repeat(65) }],
  ['userdata key over 53 bytes', 'EMSGSIZE', { extended: true, userdata: [['k'.repeat(54), 'v']] }],
  ['userdata value of 200 bytes', 'EMSGSIZE', { extended: true, userdata: [['k', 'v'.repeat(200)]] }],
  [
    '257 userdata entries',
    'ENOSPC',
    { extended: true, userdata: Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v'] as [string, string]) },
  ],
  ['an empty userdata key', 'EINVAL', { extended: true, userdata: [['', 'v']] }],
  ['msgid 2^32', 'ERANGE', { extended: true, sysdata: { msgid: 2 ** 32 } }],
  ['cpu -1', 'ERANGE', { extended: true, sysdata: { cpu: -1 } }],
  ['extended "false"', 'EINVAL', { extended: 'false' as unknown as boolean }],
  ['extended 1', 'EINVAL', { extended: 1 as unknown as boolean }],
  ['timestamps "no"', 'EINVAL', { extended: false, timestamps: 'no' as unknown as boolean }],
  ['sysdata a string', 'EINVAL', { extended: true, sysdata: 'cpu' as never }],
  ['sysdata an array', 'EINVAL', { extended: true, sysdata: [] as never }],
  ['sysdata null', 'EINVAL', { extended: true, sysdata: null as never }],
  ['sysdata.taskname null', 'EINVAL', { extended: true, sysdata: { taskname: null as never } }],
  ['a Proxy whose traps throw', 'EINVAL', throwingProxy() as WireTarget],
  ['a throwing getter for sysdata', 'EINVAL', throwingGetter('sysdata', { extended: true }) as WireTarget],
];

describe('records that cannot be read, or are not records: typed errors', () => {
  const cases: Array<[string, () => unknown]> = [
    ['a Proxy whose traps throw', throwingProxy],
    ['a throwing getter for text', () => throwingGetter('text', goodRecord)],
    ['an array', () => []],
    ['a string', () => 'text'],
  ];
  for (const impl of ['wasm', 'reference'] as const) {
    for (const [name, make] of cases) {
      test(`${impl}: ${name} -> EINVAL naming the record`, () => {
        expectCode('EINVAL', () => encodeDatagrams(make() as WireRecord, ext, { impl }), /^record: /);
        assert.deepEqual(encodeDatagrams(goodRecord, ext, { impl }).map(hex), good.datagrams_hex);
      });
    }
  }
});

describe('error messages show the value given', () => {
  const cases: Array<[string, Partial<WireRecord> & Record<string, unknown>, RegExp]> = [
    [
      'an empty array as text',
      { text: [] as unknown as string },
      /^text: invalid value \[\]; accepted: a string or a Uint8Array$/,
    ],
    [
      'a one-element dict pair',
      { dict: [['K']] as unknown as [string, string][] },
      /^dict\[0\]: invalid value \[ 'K' \]; accepted: a \[key, value\] pair$/,
    ],
    [
      'neither prio nor level',
      { prio: undefined },
      /^prio: neither prio nor level given: undefined; accepted: prio 0\.\.191, or level 0\.\.7/,
    ],
    [
      'a Uint16Array as text',
      { text: new Uint16Array(2) as unknown as Uint8Array },
      /^text: invalid value Uint16Array\(2\) \[ 0, 0 \];/,
    ],
  ];
  for (const [name, patch, message] of cases) {
    test(`${name}: ${message.source.slice(1, 40)}...`, () =>
      expectCode('EINVAL', () => encodeDatagrams({ ...goodRecord, ...patch } as WireRecord, ext), message));
  }
});

describe('bad targets and options: typed errors', () => {
  for (const [name, code, target] of badTargets) {
    test(`${name} -> ${code}`, () => {
      expectCode(code, () => encodeDatagrams(goodRecord, target));
      expectCode(code, () => encodeDatagrams(goodRecord, target, { impl: 'reference' }));
    });
  }
  test('maxTotal 0 and 1e6 -> ERANGE; impl "x" -> EINVAL', () => {
    expectCode('ERANGE', () => encodeDatagrams(goodRecord, ext, { maxTotal: 0 }));
    expectCode('ERANGE', () => encodeDatagrams(goodRecord, ext, { maxTotal: 1e6 }));
    expectCode('EINVAL', () => encodeDatagrams(goodRecord, ext, { impl: 'x' as 'wasm' }));
  });
  // Options that are not an object were ignored: 'reference' as the options gave the wasm path.
  const badOptions: Array<[string, unknown]> = [
    ['the string "reference"', 'reference'],
    ['the number 5', 5],
    ['null', null],
    ['impl null', { impl: null }],
    ['a Proxy whose traps throw', throwingProxy()],
  ];
  for (const [name, opts] of badOptions) {
    test(`options ${name} -> EINVAL`, () => {
      expectCode('EINVAL', () => encodeDatagrams(goodRecord, ext, opts as never));
      expectCode('EINVAL', () => encodeFrame(vectorsFrame(), opts as never));
    });
  }
});

// Before: an unknown field was ignored (a misspelt `extnded: true` gave a basic target), and a
// release with a comma went out as `6.1,x,<prio>,...`, one header field too many.
describe('unknown fields, and text that would break the header or forge a line: EINVAL naming it', () => {
  const frame = (): WireFrame => vectorsFrame();
  const cases: Array<[string, string, () => unknown, RegExp?]> = [
    [
      'a record field Dict',
      'Dict',
      () => encodeDatagrams({ ...goodRecord, Dict: [['K', 'v']] } as WireRecord, ext),
      /did you mean 'dict'/,
    ],
    [
      "a vector's text_hex given as it is",
      'text_hex',
      () => encodeDatagrams({ ...goodRecord, text_hex: '6869' } as WireRecord, ext),
    ],
    [
      'a target field extnded',
      'extnded',
      () => encodeDatagrams(goodRecord, { extnded: true } as WireTarget),
      /did you mean 'extended'/,
    ],
    [
      'a sysdata field cpus',
      'sysdata.cpus',
      () => encodeDatagrams(goodRecord, { extended: true, sysdata: { cpus: 1 } } as never),
      /did you mean 'cpu'/,
    ],
    [
      'an option maxtotal',
      'maxtotal',
      () => encodeDatagrams(goodRecord, ext, { maxtotal: 100 } as never),
      /did you mean 'maxTotal'/,
    ],
    ['a frame field ipid', 'ipid', () => encodeFrame({ ...frame(), ipid: 7 } as WireFrame), /did you mean 'ipId'/],
    [
      "maxTotal in encodeFrame's options (a frame has no total)",
      'maxTotal',
      () => encodeFrame(frame(), { maxTotal: 100 } as never),
    ],
    [
      'a release with a comma',
      'release',
      () => encodeDatagrams(goodRecord, { extended: true, release: '6.1,x' }),
      /"," in/,
    ],
    ['a release with a semicolon', 'release', () => encodeDatagrams(goodRecord, { extended: true, release: '6.1;x' })],
    ['a release with a newline', 'release', () => encodeDatagrams(goodRecord, { extended: true, release: '6.1\n' })],
    [
      'a sysdata release with a newline',
      'sysdata.release',
      () => encodeDatagrams(goodRecord, { extended: true, sysdata: { release: '6.1\n FAKE=1' } }),
    ],
    [
      'an empty dictionary key',
      'dict[1] key',
      () =>
        encodeDatagrams(
          {
            ...goodRecord,
            dict: [
              ['K', 'v'],
              ['', 'v'],
            ],
          },
          ext,
        ),
    ],
  ];
  for (const [name, option, call, message] of cases) {
    test(`${name} -> EINVAL`, () => {
      expectCode('EINVAL', call, message);
      assert.throws(call, (e: unknown) => (e as NetconsoleError).option === option);
    });
  }
  test('every field of a vector case is a known one (they are passed as they are)', () => {
    for (const c of vectors.wire) encodeDatagrams(toRecord(c.record), c.target);
  });
});

function vectorsFrame(): WireFrame {
  return {
    payload: 'hi',
    srcMac: '02:00:00:00:00:01',
    dstMac: '02:00:00:00:00:02',
    srcIp: '192.0.2.1',
    dstIp: '192.0.2.2',
    srcPort: 6665,
    dstPort: 6666,
    ipId: 1,
  };
}

describe('bad frames: typed errors', () => {
  const frame = vectorsFrame();
  const bad: Array<[string, string, object]> = [
    ['a short MAC', 'EINVAL', { srcMac: '02:00:00:00:01' }],
    ['a bad IPv4 octet', 'EINVAL', { dstIp: '192.0.2.256' }],
    ['mixed families', 'EINVAL', { dstIp: 'fc00::2' }],
    ['port 65536', 'ERANGE', { srcPort: 65536 }],
    ['a payload beyond one 1500-byte frame', 'EMSGSIZE', { payload: new Uint8Array(1473) }],
    ['a payload that is a Proxy of a Uint8Array', 'EINVAL', { payload: new Proxy(new Uint8Array(2), {}) }],
    ['a throwing getter for srcIp', 'EINVAL', throwingGetter('srcIp', {})],
  ];
  for (const [name, code, patch] of bad) {
    for (const impl of ['wasm', 'reference'] as const) {
      test(`${impl}: ${name} -> ${code}`, () =>
        expectCode(code, () =>
          encodeFrame(Object.defineProperties({ ...frame }, Object.getOwnPropertyDescriptors(patch)) as never, {
            impl,
          }),
        ));
    }
  }
});

describe('the module refuses bad arguments without writing', () => {
  test('write_record: bad thread, sizes and prio return a status and leave the ring alone', () => {
    const core = Core.create({ ringSize: 64 << 10 });
    const head = core.ring.head();
    const x = core.exports;
    assert.equal(x.write_record(L.MAX_THREADS, 13, 0, 1, 0, 0), L.E_BADTHREAD);
    assert.equal(x.write_record(-1, 13, 0, 1, 0, 0), L.E_BADTHREAD);
    assert.equal(x.write_record(core.thread, 13, 0, L.TEXT_MAX + 1, 0, 0), L.E_TOOBIG);
    assert.equal(x.write_record(core.thread, 13, 0, -1, 0, 0), L.E_TOOBIG);
    assert.equal(x.write_record(core.thread, 13, 0, 1, L.DICT_MAX + 1, 0), L.E_TOOBIG);
    assert.equal(x.write_record(core.thread, 192, 0, 1, 0, 0), L.E_BADPRIO);
    assert.equal(x.mem_init(1 << 20, 8191, 0, 1, 1), L.E_BADARG, 'a laid-out memory is not laid out again');
    assert.equal(core.ring.head(), head);
    assert.equal(x.lock_owner(), 0);
    core.release();
  });
});
