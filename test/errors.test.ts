// Bad input gets a typed error with an errno code, never a crash and never a corrupted ring:
// after every rejected call, the next good one still gives the known answer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NetconsoleError } from '../src/errors.js';
import { L } from '../src/layout.js';
import { DICT_MAX, TEXT_MAX } from '../src/validate.js';
import { encodeDatagrams, encodeFrame, type WireRecord, type WireTarget } from '../src/wire.js';
import { Core } from '../src/wasm.js';
import { hex, toRecord, vectors } from './helpers/vectors.js';

const good = vectors.wire.find((c) => c.name === 'ext-short')!;
const goodRecord = toRecord(good.record);
const ext: WireTarget = { extended: true };

function expectCode(code: string, fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof NetconsoleError, `a NetconsoleError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(err.option, 'the error names the option');
    return true;
  });
}

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
  ['257 userdata entries', 'ENOSPC', { extended: true, userdata: Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v'] as [string, string]) }],
  ['an empty userdata key', 'EINVAL', { extended: true, userdata: [['', 'v']] }],
  ['msgid 2^32', 'ERANGE', { extended: true, sysdata: { msgid: 2 ** 32 } }],
  ['cpu -1', 'ERANGE', { extended: true, sysdata: { cpu: -1 } }],
];

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
});

describe('bad frames: typed errors', () => {
  const frame = { payload: 'hi', srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcIp: '192.0.2.1', dstIp: '192.0.2.2', srcPort: 6665, dstPort: 6666, ipId: 1 };
  const bad: Array<[string, string, Record<string, unknown>]> = [
    ['a short MAC', 'EINVAL', { srcMac: '02:00:00:00:01' }],
    ['a bad IPv4 octet', 'EINVAL', { dstIp: '192.0.2.256' }],
    ['mixed families', 'EINVAL', { dstIp: 'fc00::2' }],
    ['port 65536', 'ERANGE', { srcPort: 65536 }],
    ['a payload beyond one 1500-byte frame', 'EMSGSIZE', { payload: new Uint8Array(1473) }],
  ];
  for (const [name, code, patch] of bad) {
    for (const impl of ['wasm', 'reference'] as const) {
      test(`${impl}: ${name} -> ${code}`, () => expectCode(code, () => encodeFrame({ ...frame, ...patch } as never, { impl })));
    }
  }
});

describe('the module refuses bad arguments without writing', () => {
  test('write_record: bad thread, sizes and prio return a status and leave the ring alone', () => {
    const core = Core.create({ ringSize: 64 << 10 });
    const head = core.ringHead();
    const x = core.exports;
    assert.equal(x.write_record(L.MAX_THREADS, 13, 0, 1, 0, 0), L.E_BADTHREAD);
    assert.equal(x.write_record(-1, 13, 0, 1, 0, 0), L.E_BADTHREAD);
    assert.equal(x.write_record(core.thread, 13, 0, L.TEXT_MAX + 1, 0, 0), L.E_TOOBIG);
    assert.equal(x.write_record(core.thread, 13, 0, -1, 0, 0), L.E_TOOBIG);
    assert.equal(x.write_record(core.thread, 13, 0, 1, L.DICT_MAX + 1, 0), L.E_TOOBIG);
    assert.equal(x.write_record(core.thread, 192, 0, 1, 0, 0), L.E_BADPRIO);
    assert.equal(x.mem_init(1 << 20, 8191, 0, 1), L.E_BADARG, 'a laid-out memory is not laid out again');
    assert.equal(core.ringHead(), head);
    assert.equal(x.lock_owner(), 0);
    core.release();
  });
});
