// Fuzz of the surfaces that take the caller's values: log calls and the integrations (pino log
// objects through destination(nc), winston info objects, console arguments); netconsole/wire is
// fuzzed in test/wire-fuzz.test.ts. Random values, hostile ones among them (throwing getters and
// toStrings, Proxies, cycles, huge strings, lone surrogates): no input crashes or hangs the call,
// every rejection is a NetconsoleError with an errno code naming the option, a rejected log call
// writes nothing (stats().records unchanged), and a log call is taken exactly when every part of
// it is acceptable by the rules of src/core/writer.ts (toText): nothing bad taken silently, nothing
// good refused.
//
// NETCONSOLE_FUZZ_RUNS sets the cases per surface (default 300: a few seconds in all); run it with
// 1,000,000 for a long manual soak. NETCONSOLE_FUZZ_SEED replays a run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import pino from 'pino';
import { NetconsoleError } from '../src/base/errors.js';
import { Netconsole } from '../src/index.js';
import { captureConsole } from '../src/faces/integrations/console.js';
import { destination } from '../src/faces/integrations/pino.js';
import { NetconsoleTransport } from '../src/faces/integrations/winston.js';
import { L } from '../src/core/layout.js';
import { LEVELS, type Level, type Loggable, type LogOptions } from '../src/core/writer.js';
import {
  attempt,
  byString,
  describeParts,
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
import { cyclicArray, cyclicObject, hostileProxy, revoked, throwing } from './helpers/hostile.js';
import { withSinkNetconsole } from './helpers/netconsole.js';

// throwOnLogError: a refused call is seen as the typed error it is (by default it returns 0).
const withFuzzTarget = (fn: (nc: Netconsole) => Promise<void> | void): Promise<void> =>
  withSinkNetconsole(
    (sink) => ({
      throwOnLogError: true,
      targets: [
        { name: 'fuzz', remote_ip: '127.0.0.1', remote_port: sink.port, local_port: 0, extended: 1, enabled: 1 },
      ],
    }),
    (nc) => fn(nc),
  );

// ---------------------------------------------------------------- log-call values
const HUGE = ['z'.repeat(70_000), 'z'.repeat(1 << 20)];
const hostileValues: Array<[string, () => unknown]> = [
  ['a symbol', () => Symbol('s')],
  ['a throwing toString', () => ({ toString: throwing('toString') })],
  [
    'a throwing toString getter',
    () => ({
      get toString(): never {
        throw new Error('getter');
      },
    }),
  ],
  ['a null-prototype object', () => Object.assign(Object.create(null) as object, { a: 1 })],
  ['a Proxy whose traps throw', hostileProxy],
  ['a revoked Proxy', revoked],
  ['a Proxy of a Uint8Array', () => new Proxy(Uint8Array.of(1, 2), {})],
  [
    'an Error whose stack getter throws',
    () => Object.defineProperty(new Error('x'), 'stack', { get: throwing('stack') }),
  ],
  ['toString and valueOf giving objects', () => ({ toString: () => ({}), valueOf: () => ({}) })],
];
const oddButFine: Array<[string, () => unknown]> = [
  ['a cyclic object', cyclicObject],
  ['a cyclic array', cyclicArray],
  [
    'a Map holding itself',
    () => {
      const m = new Map<unknown, unknown>();
      m.set('m', m);
      return m;
    },
  ],
  [
    'an object with a throwing getter',
    () => ({
      get a(): never {
        throw new Error('getter');
      },
    }),
  ],
  ['a Proxy without traps', () => new Proxy({ a: 1 }, {})],
];
const bigButFine: Array<[string, () => unknown]> = [
  ['an Error', () => new Error('fuzz')],
  ['an Error without a stack', () => Object.assign(new Error('no stack'), { stack: undefined })],
  ['a 70,000-character string', () => HUGE[0]],
  ['a 1 MiB string', () => HUGE[1]],
];
/** A log call's value; `small`: a dictionary key or value (that keeps a dictionary under 8 KiB). */
function loggable(small: boolean): fc.Arbitrary<Part> {
  const max = small ? 40 : 300;
  return fc.oneof(
    { weight: 4, arbitrary: parts(fc.string({ unit: 'binary', maxLength: max })) },
    {
      weight: 2,
      arbitrary: parts(fc.string({ unit: fc.constantFrom('a', '\ud800', '\udfff', '\n', '\\', 'é'), maxLength: 40 })),
    },
    { weight: 2, arbitrary: parts(fc.uint8Array({ maxLength: max })) },
    {
      weight: 2,
      arbitrary: parts(fc.oneof(fc.constant(null), fc.constant(undefined), fc.double(), fc.boolean(), fc.bigInt())),
    },
    {
      weight: 2,
      arbitrary: byString(
        fc.anything({
          maxDepth: 2,
          withBigInt: true,
          withMap: true,
          withSet: true,
          withDate: true,
          withTypedArray: true,
          withSparseArray: true,
          withBoxedValues: true,
          withNullPrototype: !small,
        }),
      ),
    },
    { weight: 2, arbitrary: named(true, small ? oddButFine : [...oddButFine, ...bigButFine]) },
    { weight: 2, arbitrary: named(false, hostileValues) },
  );
}
const smallValue = loggable(true);

const LEVEL_NAMES = [...LEVELS, 'error', 'warn', 'trace', 'fatal'];
const levelPart = fc.oneof(
  { weight: 3, arbitrary: parts(fc.integer({ min: 0, max: 7 })) },
  { weight: 3, arbitrary: parts(fc.constantFrom(...LEVEL_NAMES)) },
  parts(
    fc.constantFrom(
      'toString',
      'constructor',
      '__proto__',
      'hasOwnProperty',
      '',
      'INFO',
      '3',
      -1,
      8,
      1.5,
      NaN,
      Infinity,
      3n,
      null,
      undefined,
      true,
      {},
    ),
    false,
  ),
  named(false, [
    ['a hostile Proxy', hostileProxy],
    ['a throwing toString', () => ({ toString: throwing('toString') })],
  ]),
);

const pairsOf = (value: fc.Arbitrary<Part>): fc.Arbitrary<Array<[Part, Part]>> =>
  fc.array(fc.tuple(value, value), { maxLength: 4 });
/** Whether an acceptable key's text is empty (toText's rule: an empty string, no bytes, an Error's
 *  empty stack, or String() giving ''): such a key is refused. */
function emptyText(key: Part): boolean {
  if (!key.ok) return false;
  const v = key.make();
  if (typeof v === 'string') return v === '';
  if (v instanceof Uint8Array) return v.length === 0;
  if (v instanceof Error && typeof v.stack === 'string') return v.stack === '';
  return String(v) === '';
}
/** A dictionary key the rules take: acceptable, and not empty as text. */
const goodKey = (key: Part): boolean => key.ok && !emptyText(key);
const showPairs = (ps: Array<[Part | string, Part]>): string =>
  ps.map(([k, v]) => `${typeof k === 'string' ? k : k.what}=${v.what}`).join(' ');
const dictPart = fc.oneof(
  { weight: 3, arbitrary: parts(fc.constantFrom(undefined, null)) },
  pairsOf(smallValue).map((ps): Part => ({
    ok: ps.every(([k, v]) => goodKey(k) && v.ok),
    make: () => ps.map(([k, v]) => [k.make(), v.make()]),
    what: `pairs ${showPairs(ps)}`,
  })),
  pairsOf(smallValue).map((ps): Part => {
    const keys = ps.map(([k]) => k.make());
    const kept = new Map(keys.map((key, i) => [key, ps[i]])); // of a repeated key, a Map keeps the last
    return {
      ok: [...kept.values()].every(([k, v]) => goodKey(k) && v.ok),
      make: () => new Map(keys.map((key, i) => [key, ps[i][1].make()])),
      what: `a Map ${showPairs(ps)}`,
    };
  }),
  fc.array(fc.tuple(fc.string({ maxLength: 20 }), smallValue), { maxLength: 4 }).map((ps): Part => {
    const kept = new Map(ps); // of a repeated key, an object keeps the last
    return {
      ok: [...kept].every(([k, v]) => k !== '' && v.ok),
      make: () => Object.fromEntries(ps.map(([k, v]) => [k, v.make()])),
      what: `an object ${showPairs(ps)}`,
    };
  }),
  named(false, [
    ['a Set', () => new Set([['K', 'v']])],
    ['a string', () => 'K=v'],
    ['a number', () => 5],
    ['a function', () => () => 1],
    ['bytes', () => Uint8Array.of(1)],
    ['a pair of one', () => [['K']]],
    ['a pair that is a number', () => [5]],
    ['a hostile Proxy', hostileProxy],
    [
      'a throwing getter',
      () => ({
        get K(): never {
          throw new Error('getter');
        },
      }),
    ],
    ['more than 8 KiB', () => ({ K: 'v'.repeat(L.DICT_MAX) })],
  ]),
);
const optsPart = fc.oneof(
  { weight: 3, arbitrary: parts(fc.constantFrom(undefined, null, {})) },
  {
    weight: 3,
    arbitrary: objectOf(
      fc.record({
        facility: mostly(
          parts(fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer({ min: 0, max: 23 }))),
          parts(fc.constantFrom(-1, 24, 1.5, '1', 1n, NaN), false),
        ),
        cont: mostly(
          parts(fc.constantFrom(undefined, null, true, false)),
          parts(fc.constantFrom('yes', 1, 0, 'false'), false),
        ),
        dict: dictPart,
      }),
    ),
  },
  named(false, [
    ['a number', () => 5],
    ['a string', () => 'opts'],
    ['an array', () => [['K', 'v']]],
    ['a hostile Proxy', hostileProxy],
    [
      'a throwing getter',
      () => ({
        get facility(): never {
          throw new Error('getter');
        },
      }),
    ],
    // Unknown names are refused (they were ignored: the record went out without its dictionary).
    ['a dictionary under the name Dict', () => ({ Dict: { K: 'v' } })],
    ['a misspelt facilty', () => ({ facilty: 3 })],
    ['an unknown name beside good ones', () => ({ cont: true, level: 3 })],
  ]),
);

describe('fuzz: log calls', () => {
  test(
    `${RUNS} random exact log calls (write): taken exactly when acceptable; refused with a typed error and nothing written otherwise`,
    TIMEOUT,
    async (t) => {
      const counts = { taken: 0, refused: 0 };
      await withFuzzTarget((nc) => {
        fc.assert(
          fc.property(
            fc.constantFrom('any', ...LEVEL_NAMES),
            levelPart,
            loggable(false),
            optsPart,
            (method, level, value, opts) => {
              const input: Record<string, Part> = method === 'any' ? { level, value, opts } : { value, opts };
              const before = nc.stats().records;
              const r = attempt(() =>
                nc.write(
                  (method === 'any' ? level.make() : method) as Level,
                  value.make() as Loggable,
                  opts.make() as LogOptions,
                ),
              );
              assert.equal(
                r.ok,
                Object.values(input).every((p) => p.ok),
                `${verdict(r)} ${method}(${describeParts(input)})`,
              );
              assert.equal(nc.stats().records, before + (r.ok ? 1 : 0), 'one record when taken, none when refused');
              counts[r.ok ? 'taken' : 'refused']++;
            },
          ),
          FUZZ,
        );
      });
      t.diagnostic(`log calls: ${counts.taken} taken, ${counts.refused} refused, 0 raw errors, 0 silent acceptances`);
    },
  );
});

// ---------------------------------------------------------------- integrations
describe('fuzz: integrations', () => {
  test(
    `${RUNS} random pino log objects through destination(nc), and chunks written to it: one record per line`,
    TIMEOUT,
    async (t) => {
      const counts = { records: 0, pinoRefused: 0, chunksRefused: 0 };
      await withFuzzTarget((nc) => {
        const dest = destination(nc);
        let lines = 0;
        const write = dest.write.bind(dest);
        dest.write = (chunk) => {
          lines++;
          return write(chunk); // a throw here fails the property: the destination takes every line pino writes
        };
        const logger = pino({ base: null, timestamp: false, level: 'trace' }, dest);
        const info = logger.info.bind(logger) as (...args: unknown[]) => void;
        fc.assert(
          fc.property(
            loggable(false),
            fc.constantFrom('object', 'object, message', 'format, arguments'),
            smallValue,
            (value, form, extra) => {
              const before = nc.stats().records;
              const linesBefore = lines;
              const v = value.make();
              try {
                if (form === 'object') info(v);
                else if (form === 'object, message') info(v, 'msg');
                else info('msg %s %j %o', v, extra.make(), v);
              } catch (e) {
                // pino's own serialisation refused it (a throwing getter, a Proxy): nothing reached netconsole
                assert.equal(lines, linesBefore, `pino threw after writing: ${String(e)}`);
                counts.pinoRefused++;
              }
              assert.equal(nc.stats().records - before, lines - linesBefore, `one record per line (${value.what})`);
              counts.records += lines - linesBefore;
            },
          ),
          FUZZ,
        );
        const chunk = mostly(
          parts(
            fc.oneof(
              fc.string({ unit: 'binary', maxLength: 200 }).map((s) => `${s}\n`),
              fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([b, Buffer.from('\n')])),
            ),
          ),
          parts(fc.constantFrom(5, null, undefined, {}, []), false),
          named(
            false,
            hostileValues.filter(([what]) => what !== 'a symbol'),
          ),
        );
        fc.assert(
          fc.property(chunk, (c) => {
            const before = nc.stats().records;
            const r = attempt(() => write(c.make() as string));
            assert.equal(r.ok, c.ok, `${verdict(r)} ${c.what}`);
            if (!r.ok) assert.equal(nc.stats().records, before, 'a refused chunk logs nothing');
            else counts.records += nc.stats().records - before;
            if (!r.ok) counts.chunksRefused++;
          }),
          FUZZ,
        );
      });
      t.diagnostic(
        `pino: ${counts.records} records; ${counts.pinoRefused} objects pino itself refused; ${counts.chunksRefused} chunks refused (typed); 0 raw errors from netconsole`,
      );
    },
  );

  test(`${RUNS} random winston info objects: one record, or a typed 'error' event and nothing`, TIMEOUT, async (t) => {
    const counts = { records: 0, errorEvents: 0 };
    await withFuzzTarget((nc) => {
      const transport = new NetconsoleTransport({ netconsole: nc, levels: { audit: 'notice' } });
      const errors: unknown[] = [];
      transport.on('error', (e) => errors.push(e));
      const MESSAGE = Symbol.for('message');
      const LEVEL = Symbol.for('level');
      const level = parts(
        fc.constantFrom(
          'info',
          'error',
          'audit',
          'toString',
          'constructor',
          '__proto__',
          '\x1b[32minfo\x1b[39m',
          undefined,
          5,
          null,
        ),
      );
      const infoObject = fc
        .record(
          {
            level,
            [LEVEL]: level,
            message: loggable(false),
            [MESSAGE]: fc.oneof(parts(fc.constant(undefined)), loggable(false)),
          },
          { requiredKeys: [] },
        )
        .map((f): Part => ({
          ok: true, // acceptability is the Writer's (already fuzzed above); here: typed or taken
          what: 'an info object',
          make: () =>
            Object.fromEntries(Reflect.ownKeys(f).map((k) => [k, (f as Record<string | symbol, Part>)[k].make()])),
        }));
      const info = mostly(
        infoObject,
        named(false, [
          ['a hostile Proxy', hostileProxy],
          ['null', () => null],
          ['a string', () => 'info'],
        ]),
      );
      fc.assert(
        fc.property(info, (entry) => {
          const before = nc.stats().records;
          let called = false;
          transport.log(entry.make() as never, () => (called = true));
          assert.ok(called, 'the callback is called');
          const taken = nc.stats().records - before;
          const e = errors.pop();
          if (e === undefined) {
            assert.equal(taken, 1, 'one record');
            counts.records++;
          } else {
            assert.ok(
              e instanceof NetconsoleError && /^E[A-Z]+$/.test(e.code) && e.option,
              `a typed error event: ${e instanceof Error ? e.stack : String(e)}`,
            );
            assert.equal(taken, 0, 'nothing sent with an error event');
            counts.errorEvents++;
          }
        }),
        FUZZ,
      );
    });
    t.diagnostic(`winston: ${counts.records} records, ${counts.errorEvents} typed error events, 0 raw errors`);
  });

  test(`${RUNS} random console calls: one record, or EINVAL from the call and nothing`, TIMEOUT, (t) => {
    const got: unknown[] = [];
    const sink = { write: (level: unknown, text: unknown) => got.push([level, text]) };
    const noop = (): void => {};
    const con = { log: noop, info: noop, warn: noop, error: noop, debug: noop, trace: noop } as unknown as Console;
    const restore = captureConsole(sink, { console: con, passthrough: false });
    const counts = { records: 0, refused: 0 };
    try {
      const format = fc.option(fc.constantFrom('%s', '%d', '%i', '%f', '%j', '%o', '%O', '%c', '%s %s'), {
        nil: undefined,
      });
      fc.assert(
        fc.property(
          fc.constantFrom('log', 'info', 'warn', 'error', 'debug', 'trace'),
          format,
          fc.array(loggable(false), { maxLength: 3 }),
          (method, fmt, args) => {
            const before = got.length;
            const values = args.map((a) => a.make());
            const r = attempt(() =>
              (con[method as 'log'] as (...a: unknown[]) => void)(...(fmt === undefined ? values : [fmt, ...values])),
            );
            assert.equal(got.length - before, r.ok ? 1 : 0);
            if (!r.ok) assert.equal(r.error.option, `console.${method}`);
            counts[r.ok ? 'records' : 'refused']++;
          },
        ),
        FUZZ,
      );
    } finally {
      restore();
    }
    t.diagnostic(
      `console: ${counts.records} records, ${counts.refused} refused (util.format could not render them), 0 raw errors`,
    );
  });
});
