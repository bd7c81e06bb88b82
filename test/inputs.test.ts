// What a log call does with every value it is given (the value, the level, the options, the
// dictionary): it becomes text by the rules of src/core/writer.ts (toText), or the call is rejected with
// a NetconsoleError carrying an errno code and writes nothing. And netconsole/wire's encoder
// memories are bounded. test/inputs-fuzz.test.ts fuzzes these and the integrations.
import { enableBareTarget } from '../harness/bare-target.js';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { NetconsoleError } from '../src/base/errors.js';
import { Netconsole } from '../src/index.js';
import { L } from '../src/core/layout.js';
import { Core } from '../src/core/wasm.js';
import { ENCODER_CACHE, encodeMessage, type WireRecord } from '../src/core/wire.js';
import { cyclicArray, hostileProxy, revoked, throwing } from './helpers/hostile.js';
import {
  LEVELS,
  levelNumber,
  Writer,
  type Dict,
  type Level,
  type Loggable,
  type LogOptions,
} from '../src/core/writer.js';

// ---------------------------------------------------------------- netconsole/wire's encoders
describe('netconsole/wire: a bounded number of encoder memories', () => {
  const rec: WireRecord = { prio: 13, seq: 1n, tsUsec: 2n, text: 'x'.repeat(3000) };
  const ext = { extended: true };

  test(`the last ${ENCODER_CACHE} maxTotals keep theirs; the others are released`, () => {
    const made: Core[] = [];
    const released = new Set<Core>();
    const create = Core.create;
    const release = Core.prototype.release;
    Core.create = (...args) => {
      const core = create.apply(Core, args);
      made.push(core);
      return core;
    };
    Core.prototype.release = function (this: Core) {
      released.add(this);
      release.call(this);
    };
    try {
      // maxTotals no other test uses, so that none is cached already
      const caps = Array.from({ length: 3 * ENCODER_CACHE }, (_, i) => 4001 + i);
      for (const maxTotal of caps) encodeMessage(rec, ext, { maxTotal });
      assert.equal(made.length, caps.length, 'one memory for each new maxTotal');
      assert.equal(made.filter((c) => !released.has(c)).length, ENCODER_CACHE, 'only the last ones are kept');
      encodeMessage(rec, ext, { maxTotal: caps.at(-1) });
      assert.equal(made.length, caps.length, 'the most recent one is used again');
      const again = encodeMessage(rec, ext, { maxTotal: caps[0] });
      assert.equal(made.length, caps.length + 1, 'an evicted one is made anew');
      assert.deepEqual(again, encodeMessage(rec, ext, { maxTotal: caps[0], impl: 'reference' }));
    } finally {
      Core.create = create;
      Core.prototype.release = release;
    }
  });
});

// ---------------------------------------------------------------- a writer and what it sent
/** A Writer on a private memory with one enabled extended target; sent() drains what it wrote. */
class Harness {
  readonly core = Core.create({ ringSize: 1 << 20 });
  readonly writer: Writer;

  constructor() {
    enableBareTarget(this.core);
    this.writer = new Writer(this.core, { overflow: 'drop', taskname: 'test' });
  }

  records(): number {
    return this.core.counters().records;
  }

  textCut(): number {
    return this.core.counters().textCut;
  }

  datagrams(): string[] {
    const out: string[] = [];
    this.core.ring.drain((_t, _k, _g, bytes) => out.push(Buffer.from(bytes).toString('latin1')));
    return out;
  }

  /** The datagrams a record of this text and dictionary must give (the reference encoder), with
   *  the prio, seq and timestamp read off the first datagram. */
  static expected(
    first: string,
    text: Uint8Array | string,
    dict: Array<[string | Uint8Array, string | Uint8Array]> = [],
    cont = false,
  ): string[] {
    const [prio, seq, ts] = first.split(/[,;]/);
    const bytes = (t: string | Uint8Array): Uint8Array => (typeof t === 'string' ? new TextEncoder().encode(t) : t);
    const record = {
      prio: Number(prio),
      seq: BigInt(seq),
      tsUsec: BigInt(ts),
      cont,
      text: bytes(text),
      dict: dict.map(([k, v]) => [bytes(k), bytes(v)]),
    };
    return encodeMessage(record as unknown as WireRecord, { extended: true }, { impl: 'reference' }).datagrams.map(
      (d) => Buffer.from(d).toString('latin1'),
    );
  }

  release(): void {
    this.core.release();
  }
}

const h = new Harness();
after(() => h.release());

/** The call is refused with `code`, naming `option` (and the message matching), and writes nothing. */
function refused(code: string, option: string | RegExp, call: () => unknown, message?: RegExp): NetconsoleError {
  const before = h.records();
  let caught: unknown;
  assert.throws(call, (err: unknown) => (caught = err) !== undefined);
  assert.ok(caught instanceof NetconsoleError, `a NetconsoleError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (typeof option === 'string') assert.equal(caught.option, option, caught.message);
  else assert.match(String(caught.option), option, caught.message);
  assert.ok(caught.accepted, 'the error says what is accepted');
  if (message) assert.match(caught.message, message);
  assert.equal(h.records(), before, 'nothing written');
  assert.deepEqual(h.datagrams(), [], 'nothing in the ring');
  return caught;
}

/** The call is taken and sends exactly the record of this text (and dictionary, flag, prio). */
function sent(
  call: () => number,
  text: string | Uint8Array,
  dict: Array<[string | Uint8Array, string | Uint8Array]> = [],
  prio = 14,
  cont = false,
): void {
  const before = h.records();
  assert.equal(call(), 1, 'offered to the one target');
  assert.equal(h.records(), before + 1, 'one record');
  const got = h.datagrams();
  assert.ok(got.length > 0);
  assert.equal(Number(got[0].split(',')[0]), prio, `prio: ${got[0].slice(0, 40)}`);
  assert.deepEqual(got, Harness.expected(got[0], text, dict, cont));
}

/** The bytes TextEncoder.encodeInto puts into a thread's text area (64 KiB): what a record of `text` carries. */
function expectedText(text: string): Uint8Array {
  const area = new Uint8Array(L.TEXT_MAX);
  return area.subarray(0, new TextEncoder().encodeInto(text, area).written);
}

const err = new Error('boom');
const stackless = Object.assign(new Error('no stack'), { stack: undefined });
const vmError = runInNewContext('new Error("from a vm context")') as { stack: string };

// ---------------------------------------------------------------- the value
describe('log-call values: what each kind becomes (toText)', () => {
  const taken: Array<[string, () => unknown, string | Uint8Array]> = [
    ['a string: as is, UTF-8', () => 'héllo wörld', 'héllo wörld'],
    ['a string with a lone surrogate: U+FFFD for it', () => 'a\ud800b', 'a\ufffdb'],
    ['a Uint8Array: its bytes', () => Uint8Array.of(0x61, 0xff, 0x00, 0x0a), Uint8Array.of(0x61, 0xff, 0x00, 0x0a)],
    ['a Buffer: its bytes', () => Buffer.from('buf'), 'buf'],
    ['an Error: its stack', () => err, err.stack!],
    ['an Error without a string stack: String() of it', () => stackless, 'Error: no stack'],
    ['an Error of another realm: its stack', () => vmError, vmError.stack],
    ['null: the text null', () => null, 'null'],
    ['undefined: the text undefined', () => undefined, 'undefined'],
    ['a number', () => 4.5, '4.5'],
    ['a boolean', () => false, 'false'],
    ['a bigint', () => 2n ** 64n, '18446744073709551616'],
    ['an array', () => [1, 'a', null], '1,a,'],
    ['a cyclic array', cyclicArray, '1,'],
    ['a Date', () => new Date(0), String(new Date(0))],
    ['an object with its own toString', () => ({ toString: () => 'custom' }), 'custom'],
    ['a plain object', () => ({ a: 1 }), '[object Object]'],
    [
      'an object with a throwing getter (String() does not read it)',
      () => ({
        get a(): number {
          throw new Error('getter');
        },
      }),
      '[object Object]',
    ],
    ['a Proxy without traps', () => new Proxy({ a: 1 }, {}), '[object Object]'],
  ];
  for (const [name, value, text] of taken) {
    test(`${name}`, () => sent(() => h.writer.write(6, value() as Loggable), text));
  }

  test('a string past 64 KiB: cut, and counted in textCut', () => {
    const cut = h.textCut();
    sent(() => h.writer.write(6, 'y'.repeat(100_000)), 'y'.repeat(L.TEXT_MAX));
    assert.equal(h.textCut(), cut + 1);
  });

  // A string alone goes through writeString (a level method's, and write()'s), which copies it
  // with Buffer's utf8Write where Node has it, else with encodeInto: both must give the record of
  // writeRecord (encodeInto, through send()), cut and counted alike, whole characters only, lone
  // surrogates as U+FFFD.
  const strings: Array<[string, string]> = [
    ['empty', ''],
    ['ASCII', 'plain text'],
    ['two-, three- and four-byte characters', 'é € 😀 日本'],
    ['lone surrogates', 'a\ud800b\udc00c\ud83d'],
    ['a four-byte character that ends exactly at 64 KiB', 'y'.repeat(L.TEXT_MAX - 4) + '😀'],
    ['a four-byte character across 64 KiB', 'y'.repeat(L.TEXT_MAX - 2) + '😀'],
    ['a lone surrogate across 64 KiB', 'y'.repeat(L.TEXT_MAX - 2) + '\ud800'],
    ['a two-byte character one short of 64 KiB', 'y'.repeat(L.TEXT_MAX - 3) + 'é'],
    ['a string past 64 KiB', 'y'.repeat(100_000)],
  ];
  for (const textCopy of ['utf8Write', 'encodeInto'] as const) {
    for (const [name, text] of strings) {
      test(`writeString (${textCopy}): ${name}, as writeRecord sends it`, () => {
        const w = new Writer(h.core, { overflow: 'drop', taskname: 'test', textCopy });
        const cut = h.textCut();
        sent(() => h.writer.writeRecord(6, text, null), expectedText(text));
        const cutBySend = h.textCut() - cut;
        sent(() => w.writeString(6, text), expectedText(text));
        assert.equal(h.textCut() - cut, 2 * cutBySend, 'cut and counted as send() cuts it');
      });
    }
  }

  const rejected: Array<[string, () => unknown, RegExp]> = [
    ['a symbol', () => Symbol('s'), /^value: a symbol is not text: Symbol\(s\)/],
    [
      'an object whose toString throws',
      () => ({ toString: throwing('toString') }),
      /^value: an Object whose conversion to text threw: /,
    ],
    [
      'an object with a null prototype',
      () => Object.create(null),
      /^value: an object with a null prototype whose conversion/,
    ],
    ['a Proxy whose traps throw', hostileProxy, /^value: a Proxy whose conversion to text threw: Proxy \[/],
    ['a revoked Proxy', revoked, /^value: a Proxy whose conversion/],
    [
      'a Proxy of a Uint8Array (no TypedArray methods through it)',
      () => new Proxy(Uint8Array.of(1), {}),
      /^value: a Proxy whose/,
    ],
    [
      'an Error whose stack getter throws',
      () => Object.defineProperty(new Error('x'), 'stack', { get: throwing('stack') }),
      /^value: an Error whose/,
    ],
    [
      'an object whose toString and valueOf give objects',
      () => ({ toString: () => ({}), valueOf: () => ({}) }),
      /^value: an Object whose/,
    ],
    [
      'an instance of a class whose toString throws',
      () =>
        new (class Widget {
          toString(): string {
            throw new Error('widget');
          }
        })(),
      /^value: a Widget whose/,
    ],
  ];
  for (const [name, value, message] of rejected) {
    test(`${name}: EINVAL naming its kind, nothing written`, () => {
      const e = refused('EINVAL', 'value', () => h.writer.write(6, value() as Loggable), message);
      if (!name.startsWith('a symbol')) assert.ok(e.cause !== undefined, 'the conversion error is the cause');
    });
  }
});

// ---------------------------------------------------------------- the level
describe('levels: by number or by one of their own names', () => {
  for (const [level, n] of [
    ...LEVELS.map((name, i) => [name, i] as const),
    ['error', 3],
    ['warn', 4],
    [0, 0],
    [7, 7],
  ] as const) {
    test(`${String(level)} -> ${n}`, () => assert.equal(levelNumber(level), n));
  }
  // Names were looked up through Object.prototype: these were priority 0 (kern.emerg).
  const notLevels: Array<[string, unknown, string]> = [
    ...['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', '', 'INFO', '3'].map(
      (s): [string, unknown, string] => [JSON.stringify(s), s, 'EINVAL'],
    ),
    ['3n', 3n, 'EINVAL'],
    ['1.5', 1.5, 'EINVAL'],
    ['NaN', NaN, 'EINVAL'],
    ['Infinity', Infinity, 'EINVAL'],
    ['-1', -1, 'ERANGE'],
    ['8', 8, 'ERANGE'],
    ['null', null, 'EINVAL'],
    ['undefined', undefined, 'EINVAL'],
    ['an object whose toString is "info"', { toString: () => 'info' }, 'EINVAL'],
    ['an object whose toString throws', { toString: throwing('toString') }, 'EINVAL'],
    ['a Proxy whose traps throw', hostileProxy(), 'EINVAL'],
  ];
  for (const [name, level, code] of notLevels) {
    test(`${name} -> ${code}`, () => void refused(code, 'level', () => levelNumber(level as Level)));
  }
  test('a Netconsole refuses "toString" as a level and sends nothing (stats().records unchanged; throwOnLogError)', async () => {
    const nc = await Netconsole.create({
      devices: 'none',
      env: false,
      throwOnLogError: true,
      targets: [{ name: 'x', remote_ip: '127.0.0.1', remote_port: 9, local_port: 0, enabled: 1 }],
    });
    try {
      for (const name of ['toString', 'constructor', '__proto__']) {
        const before = nc.stats().records;
        assert.throws(
          () => nc.log(name as Level, 'x'),
          (e: unknown) => e instanceof NetconsoleError && e.code === 'EINVAL' && e.option === 'level',
        );
        assert.equal(nc.stats().records, before, name);
      }
    } finally {
      await nc.close();
    }
  });
});

// ---------------------------------------------------------------- the options
describe('log-call options', () => {
  test('null options: as none', () => sent(() => h.writer.write(6, 'x', null as never), 'x'));
  for (const [name, opts] of [
    ['a number', 5],
    ['a string', 'dict'],
    ['an array (a dictionary in the place of the options)', [['K', 'v']]],
    ['a function', () => ({})],
    ['true', true],
  ] as const) {
    test(`options ${name}: EINVAL`, () => void refused('EINVAL', 'opts', () => h.writer.write(6, 'x', opts as never)));
  }
  test('options that cannot be read: EINVAL naming what was being read, the thrown error as the cause', () => {
    // A Proxy whose traps throw: listing its names throws.
    const e = refused('EINVAL', 'opts', () => h.writer.write(6, 'x', hostileProxy() as LogOptions), /reading it threw/);
    assert.equal((e.cause as Error).message, 'ownKeys trap');
    for (const name of ['dict', 'cont', 'facility']) {
      const getter = Object.defineProperty({}, name, { enumerable: true, get: throwing(`${name} getter`) });
      const err = refused('EINVAL', name, () => h.writer.write(6, 'x', getter as LogOptions), /reading it threw/);
      assert.equal((err.cause as Error).message, `${name} getter`);
    }
    // A Proxy whose get trap throws (its names are those of its target: none).
    refused('EINVAL', 'facility', () =>
      h.writer.write(6, 'x', new Proxy({}, { get: throwing('get trap') }) as LogOptions),
    );
  });

  // Before: an unknown name was ignored, and the record went out without what it meant to carry.
  for (const [name, opts, option, message] of [
    ['Dict (a dictionary under the wrong name)', { Dict: { K: 'v' } }, 'Dict', /did you mean 'dict'/],
    ['facilty', { facilty: 3 }, 'facilty', /did you mean 'facility'/],
    ['bogus, beside a good one', { cont: true, bogus: 1 }, 'bogus', /accepted: one of dict, cont, facility/],
    ['an undefined value under an unknown name', { level: undefined }, 'level', /unknown option/],
  ] as const) {
    test(`an unknown option, ${name}: EINVAL naming it, nothing written`, () =>
      void refused('EINVAL', option, () => h.writer.write(6, 'x', opts as unknown as LogOptions), message));
  }
  test('names are own enumerable string keys: inherited, non-enumerable and symbol keys are not options', () => {
    const inherited = Object.create({ bogus: 1, dict: { I: 'i' } }) as LogOptions;
    sent(() => h.writer.write(6, 'x', inherited), 'x', [['I', 'i']]);
    sent(
      () => h.writer.write(6, 'x', Object.defineProperty({ cont: true }, 'hidden', { value: 1, enumerable: false })),
      'x',
      [],
      14,
      true,
    );
    sent(() => h.writer.write(6, 'x', { [Symbol('s')]: 1, facility: 3 } as LogOptions), 'x', [], 30);
    sent(() => h.writer.write(6, 'x', {}), 'x');
  });

  const facilities: Array<[string, unknown, number | string]> = [
    ['3', 3, 3 * 8 + 6],
    ["null: the logger's", null, 14],
    ['"1"', '1', 'EINVAL'],
    ['1.5', 1.5, 'EINVAL'],
    ['24', 24, 'ERANGE'],
    ['-1', -1, 'ERANGE'],
  ];
  for (const [name, facility, want] of facilities) {
    test(`facility ${name} -> ${want}`, () => {
      if (typeof want === 'number') sent(() => h.writer.write(6, 'f', { facility: facility as number }), 'f', [], want);
      else refused(want, 'facility', () => h.writer.write(6, 'f', { facility: facility as number }));
    });
  }
  test('cont true: the c flag; null: not given; "yes" and 1: EINVAL', () => {
    sent(() => h.writer.write(6, 'c', { cont: true }), 'c', [], 14, true);
    sent(() => h.writer.write(6, 'c', { cont: null }), 'c');
    refused('EINVAL', 'cont', () => h.writer.write(6, 'c', { cont: 'yes' as never }));
    refused('EINVAL', 'cont', () => h.writer.write(6, 'c', { cont: 1 as never }));
  });
});

// ---------------------------------------------------------------- the dictionary
describe('dictionaries: an object, a Map or [key, value] pairs, keys and values by the value rules', () => {
  const nullProto = Object.assign(Object.create(null) as Record<string, string>, { K: 'v' });
  const taken: Array<[string, () => unknown, Array<[string | Uint8Array, string | Uint8Array]>]> = [
    [
      'an object: its own enumerable string keys',
      () => ({ SUBSYSTEM: 'net', DEVICE: '+eth0', [Symbol('s')]: 'not a string key' }),
      [
        ['SUBSYSTEM', 'net'],
        ['DEVICE', '+eth0'],
      ],
    ],
    ['an object with a null prototype', () => nullProto, [['K', 'v']]],
    [
      'a Map: its entries (it was dropped)',
      () =>
        new Map<unknown, unknown>([
          ['K', 'v'],
          [5, null],
        ]),
      [
        ['K', 'v'],
        ['5', 'null'],
      ],
    ],
    [
      '[key, value] pairs',
      () => [
        ['K', 1n],
        ['E', undefined],
      ],
      [
        ['K', '1'],
        ['E', 'undefined'],
      ],
    ],
    [
      'bytes and an Error as values',
      () => ({ B: Uint8Array.of(0xff), E: err }),
      [
        ['B', Uint8Array.of(0xff)],
        ['E', err.stack!],
      ],
    ],
    ['null: no dictionary', () => null, []],
  ];
  for (const [name, dict, pairs] of taken) {
    test(name, () => sent(() => h.writer.write(6, 'd', { dict: dict() as Dict }), 'd', pairs));
  }

  const rejected: Array<[string, () => unknown, string, string | RegExp]> = [
    ['a Set (no entries of its own: it was sent empty)', () => new Set([['K', 'v']]), 'EINVAL', 'dict'],
    ['a Uint8Array', () => Uint8Array.of(1), 'EINVAL', 'dict'],
    ['a string', () => 'K=v', 'EINVAL', 'dict'],
    ['a number', () => 5, 'EINVAL', 'dict'],
    ['a function', () => () => 'K', 'EINVAL', 'dict'],
    ['a pair of one', () => [['K']], 'EINVAL', 'dict[0]'],
    ['a pair that is not an array', () => [5], 'EINVAL', 'dict[0]'],
    ['a symbol value', () => ({ K: Symbol('v') }), 'EINVAL', 'dict[0] value'],
    ['a symbol key in a Map', () => new Map([[Symbol('k'), 'v']]), 'EINVAL', 'dict[0] key'],
    ['a value whose toString throws', () => ({ K: { toString: throwing('toString') } }), 'EINVAL', 'dict[0] value'],
    [
      'a throwing getter',
      () => ({
        get K(): string {
          throw new Error('getter');
        },
      }),
      'EINVAL',
      'dict',
    ],
    ['a Proxy whose traps throw', hostileProxy, 'EINVAL', 'dict'],
    ['more than its 8 KiB', () => ({ K: 'v'.repeat(L.DICT_MAX) }), 'EMSGSIZE', 'dict'],
    // Before: sent as a line ` =v`, which no receiver can file under a name.
    ['an empty key in an object', () => ({ '': 'v' }), 'EINVAL', 'dict[0] key'],
    [
      'an empty key in a Map, after a good one',
      () =>
        new Map([
          ['K', 'v'],
          ['', 'v'],
        ]),
      'EINVAL',
      'dict[1] key',
    ],
    ['an empty key as bytes', () => [[new Uint8Array(0), 'v']], 'EINVAL', 'dict[0] key'],
    ['a key whose text is empty (an empty array)', () => [[[], 'v']], 'EINVAL', 'dict[0] key'],
  ];
  for (const [name, dict, code, option] of rejected) {
    test(`${name}: ${code}, nothing written`, () =>
      void refused(code, option, () => h.writer.write(6, 'd', { dict: dict() as Dict })));
  }

  test('a toString that logs: the outer record keeps its own text and dictionary', () => {
    const w = h.writer;
    const logsInside = {
      toString(): string {
        w.write(6, 'inner', { dict: { I: 'i' } });
        return 'v';
      },
    };
    const before = h.records();
    w.write(3, 'outer', { dict: { K: logsInside } });
    w.write(3, { toString: () => String(w.write(6, 'inner too')) }, { dict: { K: 'v' } });
    assert.equal(h.records(), before + 4);
    const got = h.datagrams();
    assert.deepEqual(got, [
      ...Harness.expected(got[0], 'inner', [['I', 'i']]),
      ...Harness.expected(got[1], 'outer', [['K', 'v']]),
      ...Harness.expected(got[2], 'inner too'),
      ...Harness.expected(got[3], '1', [['K', 'v']]),
    ]);
  });
});
