// The logger conventions of the ecosystem (issue 16, finding 3): what pino, winston and console
// users write, checked on what ARRIVES at a loopback receiver: util.format arguments, plain
// objects as JSON, pino's merging object as dictionary entries (and the text alone on a basic
// target), Errors, bytes, trace and fatal, the level threshold at run time, child loggers
// (nested), a log call that never throws (returns 0, counted in stats().logErrors, one process
// warning per cause) unless throwOnLogError, and all of it from a worker's logger.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { format } from 'node:util';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { Netconsole, NetconsoleError, type Level, type NetconsoleOptions } from '../src/index.js';
import { Receiver, type Message } from '../src/receiver/receiver.js';
import { L } from '../src/core/layout.js';
import type { ConventionsReport } from './workers/conventions-worker.js';
import { cyclicObject, hostileProxy, revoked, throwing } from './helpers/hostile.js';
import { FUZZ } from './helpers/fuzz-parts.js';
import { Sink } from './helpers/udp.js';

// Every NETCONSOLE_LOG_* warning of this process, in order: each cause must be warned about once.
const warnings: string[] = [];
process.on('warning', (w: Error & { code?: string }) => {
  if (w.code?.startsWith('NETCONSOLE_LOG')) warnings.push(w.code);
});

interface Harness {
  nc: Netconsole;
  /** The records that arrived at the extended target, in order. */
  got: Message[];
  /** The datagrams that arrived at the basic target, as text. */
  basic: Sink;
  /** Flushes, then waits until the extended target has `n` records in all. */
  arrived(n: number): Promise<Message[]>;
}

/** A Netconsole with an extended target (a Receiver: text, level and dictionary of each record)
 *  and a basic one (raw datagrams), both given as a parameter string. */
async function withNc(opts: NetconsoleOptions, fn: (h: Harness) => Promise<void>): Promise<void> {
  const rx = new Receiver();
  const got: Message[] = [];
  rx.on('message', (m: Message) => got.push(m));
  const { port } = await rx.listen('127.0.0.1', 0);
  const basic = await Sink.open();
  const nc = await Netconsole.create({
    devices: 'none',
    env: false,
    targets: `+@/,${port}@127.0.0.1/;@/,${basic.port}@127.0.0.1/`,
    ...opts,
  });
  assert.equal(nc.targets.list().length, 2);
  const arrived = async (n: number): Promise<Message[]> => {
    await nc.flush();
    const deadline = Date.now() + 10_000;
    while (got.length < n) {
      if (Date.now() > deadline)
        throw new Error(`${got.length} of ${n} records arrived: ${JSON.stringify(got.map((m) => m.text))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return got;
  };
  try {
    await fn({ nc, got, basic, arrived });
  } finally {
    await nc.close();
    await rx.close();
    await basic.close();
  }
}

describe('arguments as pino, winston and console users write them', () => {
  test("util.format's rules for a string first (printf-style %s %d %i %f %j %o %O %%, extra arguments appended); a string alone as is", () =>
    withNc({}, async ({ nc, arrived }) => {
      const calls: unknown[][] = [
        ['user %s', 'bob'],
        ['%d items at %f, %i%%', 3, 1.5, 42.9],
        ['json %j', { a: [1, 'x'] }],
        ['%o and %O', { deep: { er: 1 } }, [1]],
        ['a', 'b', 3, null, undefined],
        ['too few %s %s', 'one'],
        ['100% sure %s'],
        ['%s alone, no arguments: as is'],
      ];
      for (const args of calls)
        assert.equal((nc.info as (...a: unknown[]) => number)(...args), 2, JSON.stringify(args));
      const got = await arrived(calls.length);
      assert.deepEqual(
        got.map((m) => m.text),
        calls.map((args) => (args.length === 1 ? args[0] : format(...args))),
      );
      assert.equal(got[0].text, 'user bob');
      assert.equal(got[1].text, '3 items at 1.5, 42%');
      assert.deepEqual(got[0].dict, {}, 'no dictionary');
    }));

  test('a plain object alone: its JSON (cycles, BigInt, a throwing getter, a null prototype, nested Errors handled); an array too', () =>
    withNc({}, async ({ nc, arrived }) => {
      const withGetter = {
        ok: 1,
        get bad(): never {
          throw new Error('getter');
        },
      };
      const err = new Error('inner');
      const values: Array<[unknown, string | RegExp]> = [
        [{ id: 1 }, '{"id":1}'],
        [{ big: 12345678901234567890n }, '{"big":12345678901234567890}'],
        [cyclicObject(), '{"a":1,"self":"[Circular]"}'],
        [withGetter, '{"ok":1,"bad":"[Throws]"}'],
        [Object.assign(Object.create(null) as object, { n: null }), '{"n":null}'],
        [{ err }, /^\{"err":\{"type":"Error","message":"inner","stack":"Error: inner\\n {4}at /],
        [[1, 'two', { three: 3 }], '[1,"two",{"three":3}]'],
        [{ u: undefined, f: () => 1, s: 'kept' }, '{"s":"kept"}'],
      ];
      for (const [v] of values) assert.equal(nc.info(v), 2);
      const got = await arrived(values.length);
      values.forEach(([, want], i) =>
        typeof want === 'string' ? assert.equal(got[i].text, want) : assert.match(got[i].text, want),
      );
      assert.equal(nc.stats().logErrors, 0, 'none refused');
    }));

  test("pino's merging object: its fields are dictionary entries (non-strings as JSON, an Error as its stack) on the extended target; the basic target carries the text alone", () =>
    withNc({}, async ({ nc, arrived, basic }) => {
      assert.equal(
        nc.info(
          { user: 'bob', n: 5, o: { x: [1] }, ok: true, gone: undefined, err: new Error('why') },
          'login %d of %s',
          3,
          'bob',
        ),
        2,
      );
      const [m] = await arrived(1);
      assert.equal(m.text, 'login 3 of bob');
      assert.equal(m.level, 6);
      const { err, ...rest } = m.dict!;
      assert.deepEqual(rest, { user: 'bob', n: '5', o: '{"x":[1]}', ok: 'true' });
      assert.match(err, /^Error: why\n {4}at /);
      await basic.until((g) => g.length === 1);
      assert.match(
        basic.texts()[0],
        /^\[ *\d+\.\d+\] login 3 of bob\n$/,
        'the basic format has no dictionary (as the kernel drops a printk dictionary)',
      );
    }));

  test('an Error: its stack; with a message: the message, then the stack. Bytes: as they are; with a message, after it', () =>
    withNc({}, async ({ nc, arrived }) => {
      const err = new Error('kaput');
      nc.err(err);
      nc.error(err, 'while %s', 'saving');
      nc.info(Buffer.from('bytes \xff', 'latin1'));
      nc.info(Uint8Array.of(0x41, 0x42), 'label');
      const got = await arrived(4);
      assert.equal(got[0].text, err.stack);
      assert.equal(got[1].text, `while saving\n${err.stack}`);
      assert.equal(got[0].level, 3);
      assert.equal(got[2].text, 'bytes \ufffd');
      assert.equal(got[3].text, 'label\nAB');
    }));

  test('other values alone keep their text (String()); with more arguments, util.format as console.log', () =>
    withNc({}, async ({ nc, arrived }) => {
      const date = new Date(0);
      nc.info(42);
      nc.info(null);
      nc.info(date);
      nc.info(42, 'and', { a: 1 });
      const got = await arrived(4);
      assert.deepEqual(
        got.map((m) => m.text),
        ['42', 'null', String(date), format(42, 'and', { a: 1 })],
      );
    }));
});

describe('levels', () => {
  test('trace and fatal, with the pino integration mapping: trace is debug (7), fatal emerg (0); also through log()', () =>
    withNc({}, async ({ nc, arrived }) => {
      nc.trace('t');
      nc.fatal('f');
      nc.log('trace', 'lt %d', 1);
      nc.log('fatal', { k: 'v' }, 'lf');
      nc.log(5, 'n5');
      const got = await arrived(5);
      assert.deepEqual(
        got.map((m) => [m.level, m.text]),
        [
          [7, 't'],
          [0, 'f'],
          [7, 'lt 1'],
          [0, 'lf'],
          [5, 'n5'],
        ],
      );
      assert.deepEqual(got[3].dict, { k: 'v' });
    }));

  test('the level threshold: from create(), changed at run time (nc.level reads back the name), isLevelEnabled; nothing below it is written', () =>
    withNc({ level: 'warn' }, async ({ nc, arrived }) => {
      assert.equal(nc.level, 'warning');
      assert.equal(nc.isLevelEnabled('warning'), true);
      assert.equal(nc.isLevelEnabled('info'), false);
      const before = nc.stats().records;
      assert.equal(nc.info('not sent'), 0);
      assert.equal(nc.debug('not sent %s', 'either'), 0);
      assert.equal(nc.log('notice', 'not sent'), 0);
      assert.equal(nc.write('info', 'not sent', { dict: { K: 'v' } }), 0);
      // Below the level nothing is even looked at: a value that would be refused is not counted.
      assert.equal(nc.info(Symbol('never looked at')), 0);
      assert.equal(nc.stats().records, before);
      assert.equal(nc.stats().logErrors, 0);
      assert.equal(nc.warn('sent 1'), 2);
      nc.level = 'trace';
      assert.equal(nc.level, 'debug');
      assert.equal(nc.debug('sent 2'), 2);
      nc.level = 3;
      assert.equal(nc.level, 'err');
      assert.equal(nc.warning('not sent'), 0);
      assert.equal(nc.crit('sent 3'), 2);
      for (const bad of ['loud', 8, 1.5, 'toString']) {
        assert.throws(
          () => {
            nc.level = bad as Level;
          },
          (e: unknown) => e instanceof NetconsoleError && e.option === 'level',
        );
      }
      assert.equal(nc.level, 'err', 'a refused level leaves it as it was');
      const got = await arrived(3);
      assert.deepEqual(
        got.map((m) => m.text),
        ['sent 1', 'sent 2', 'sent 3'],
      );
    }));

  test("the default level is 'debug' (everything, as before the option); a bad level option is refused at create()", async () => {
    await withNc({}, async ({ nc }) => assert.equal(nc.level, 'debug'));
    await assert.rejects(
      Netconsole.create({ env: false, level: 'verbose' as never }),
      (e: unknown) => e instanceof NetconsoleError && e.code === 'EINVAL' && e.option === 'level',
    );
    await assert.rejects(
      Netconsole.create({ env: false, throwOnLogError: 1 as never }),
      (e: unknown) => e instanceof NetconsoleError && e.option === 'throwOnLogError',
    );
  });
});

/** Compile-time checks (issue 16, finding 10): tsc fails the build when a line marked as an
 *  expected error compiles. Never called. */
function levelTypes(nc: Netconsole, level: number): void {
  // @ts-expect-error 42 is not a level (it compiled, then threw)
  nc.log(42, 'x');
  // @ts-expect-error nor is any number
  nc.write(level, 'x');
  // @ts-expect-error nor an unknown name
  nc.level = 'verbose';
  nc.log(7, 'x');
  nc.log('trace', 'x');
  nc.level = 'fatal';
}

test('Level: the names, the aliases (error, warn, trace, fatal) and 0..7, nothing else (checked by tsc)', () => {
  assert.equal(typeof levelTypes, 'function');
});

describe('child loggers', () => {
  test("bindings on every record (merged with a call's merging object: the call wins), nested children merge, msgPrefix concatenates", () =>
    withNc({}, async ({ nc, arrived, basic }) => {
      const child = nc.child({ svc: 'api', req: 7 }, { msgPrefix: '[api] ' });
      const grandchild = child.child({ req: 8, user: { id: 1 } }, { msgPrefix: '[h] ' });
      assert.equal(child.info('plain'), 2);
      assert.equal(grandchild.info({ req: 9, extra: 'x' }, 'nested %s', 'call'), 2);
      assert.equal(grandchild.warn('no call object'), 2);
      assert.equal(child.write('notice', 'exact', { dict: { svc: 'override' }, cont: true }), 2);
      assert.equal(nc.info('the parent has none'), 2);
      const got = await arrived(5);
      assert.deepEqual(
        got.map((m) => [m.text, m.dict]),
        [
          ['[api] plain', { svc: 'api', req: '7' }],
          ['[api] [h] nested call', { svc: 'api', user: '{"id":1}', req: '9', extra: 'x' }],
          ['[api] [h] no call object', { svc: 'api', req: '8', user: '{"id":1}' }],
          ['[api] exact', { req: '7', svc: 'override' }],
          ['the parent has none', {}],
        ],
      );
      assert.equal(got[3].cont, true);
      await basic.until((g) => g.length === 5);
      assert.match(basic.texts()[1], /^\[ *\d+\.\d+\] \[api\] \[h\] nested call\n$/);
      await child.flush();
    }));

  test("a child's level is its parent's at creation, its own thereafter (pino's semantics); child({}, { level })", () =>
    withNc({ level: 'info' }, async ({ nc, arrived }) => {
      const child = nc.child({ c: 1 });
      assert.equal(child.level, 'info');
      nc.level = 'err';
      assert.equal(child.level, 'info', "the parent's change does not reach it");
      assert.equal(child.info('child info'), 2);
      assert.equal(nc.info('parent info'), 0);
      child.level = 'emerg';
      assert.equal(nc.err('parent err'), 2);
      assert.equal(child.err('child err'), 0);
      const quiet = nc.child({}, { level: 'debug' });
      assert.equal(quiet.debug('own level'), 2);
      const got = await arrived(3);
      assert.deepEqual(
        got.map((m) => m.text),
        ['child info', 'parent err', 'own level'],
      );
    }));

  test('bad bindings or options: child() throws a typed error (set-up, not a log call)', () =>
    withNc({}, async ({ nc }) => {
      const typed = (option: string, fn: () => unknown, code = 'EINVAL'): void =>
        assert.throws(
          fn,
          (e: unknown) => e instanceof NetconsoleError && e.code === code && e.option === option,
          option,
        );
      typed('bindings', () => nc.child(null as never));
      typed('bindings', () => nc.child('svc' as never));
      typed('bindings', () => nc.child({ '': 1 }));
      typed('msgPrefix', () => nc.child({}, { msgPrefix: 5 as never }));
      typed('level', () => nc.child({}, { level: 'loud' as never }));
      typed('msgPrefx', () => nc.child({}, { msgPrefx: '' } as never));
      typed('dict', () => nc.child({ big: 'v'.repeat(L.DICT_MAX) }), 'EMSGSIZE');
    }));
});

/** Calls the library refuses, each with the field its warning code names. */
const BAD_CALLS: Array<[string, string, (nc: Netconsole) => number]> = [
  ['a symbol', 'NETCONSOLE_LOG_VALUE_EINVAL', (nc) => nc.info(Symbol('s'))],
  ['a throwing toString', 'NETCONSOLE_LOG_VALUE_EINVAL', (nc) => nc.info({ toString: throwing('toString') })],
  ['a Proxy whose traps throw', 'NETCONSOLE_LOG_VALUE_EINVAL', (nc) => nc.info(hostileProxy())],
  [
    '%s of a throwing toString',
    'NETCONSOLE_LOG_ARGS_EINVAL',
    (nc) => nc.info('%s', { toString: throwing('toString') }),
  ],
  ['an unknown level', 'NETCONSOLE_LOG_LEVEL_EINVAL', (nc) => nc.log('loud' as never, 'x')],
  ['level 42', 'NETCONSOLE_LOG_LEVEL_ERANGE', (nc) => nc.log(42 as never, 'x')],
  ['an unknown per-record option', 'NETCONSOLE_LOG_OPTS_EINVAL', (nc) => nc.write('info', 'x', { Dict: {} } as never)],
  ['facility 24', 'NETCONSOLE_LOG_OPTS_ERANGE', (nc) => nc.write('info', 'x', { facility: 24 })],
  ['a dictionary past its room', 'NETCONSOLE_LOG_DICT_EMSGSIZE', (nc) => nc.info({ K: 'v'.repeat(L.DICT_MAX) }, 'big')],
  ['a revoked Proxy as the value of write()', 'NETCONSOLE_LOG_VALUE_EINVAL', (nc) => nc.write('info', revoked())],
];

describe('a log call never throws by default', () => {
  test('a bad level, value, argument or option: returns 0, writes nothing, counted in stats().logErrors, one process warning per cause', () =>
    withNc({}, async ({ nc, arrived }) => {
      const child = nc.child({ c: 1 });
      for (const [what, , call] of BAD_CALLS) {
        const before = nc.stats();
        let n: number | undefined;
        assert.doesNotThrow(() => (n = call(nc)), what);
        assert.equal(n, 0, what);
        assert.doesNotThrow(() => (n = call(child as unknown as Netconsole)), `${what}, from a child`);
        assert.equal(n, 0, `${what}, from a child`);
        const after = nc.stats();
        assert.equal(after.records, before.records, `${what}: nothing written`);
        assert.equal(after.logErrors, before.logErrors + 2, `${what}: counted`);
      }
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      const codes = new Set(BAD_CALLS.map(([, code]) => code));
      assert.deepEqual(new Set(warnings), codes, 'one warning per cause');
      assert.equal(warnings.length, codes.size, `each once: ${warnings.join(', ')}`);
      assert.equal(nc.info('still logging'), 2);
      const [m] = await arrived(1);
      assert.equal(m.text, 'still logging');
    }));

  test('throwOnLogError: true keeps the throwing (for tests), not counted', () =>
    withNc({ throwOnLogError: true }, async ({ nc }) => {
      for (const [what, code, call] of BAD_CALLS) {
        const errno = code.split('_').pop();
        assert.throws(
          () => call(nc),
          (e: unknown) => e instanceof NetconsoleError && e.code === errno,
          what,
        );
        assert.throws(
          () => call(nc.child({}) as unknown as Netconsole),
          (e: unknown) => e instanceof NetconsoleError && e.code === errno,
          `${what}, from a child`,
        );
      }
      assert.equal(nc.stats().logErrors, 0);
    }));

  test('random arguments to random methods: never a throw; each call is one record or one counted refusal', () =>
    withNc({}, async ({ nc }) => {
      const methods = [
        'emerg',
        'alert',
        'crit',
        'err',
        'error',
        'warning',
        'warn',
        'notice',
        'info',
        'debug',
        'trace',
        'fatal',
      ] as const;
      const hostile = fc.constantFrom(Symbol('s'), { toString: throwing('toString') }, hostileProxy(), cyclicObject(), {
        get g(): never {
          throw new Error('g');
        },
      });
      const arg = fc.oneof(
        fc.anything({
          maxDepth: 2,
          withBigInt: true,
          withMap: true,
          withSet: true,
          withDate: true,
          withTypedArray: true,
          withNullPrototype: true,
        }),
        fc.string(),
        hostile,
      );
      const child = nc.child({ k: 'v' }, { msgPrefix: '> ' });
      fc.assert(
        fc.property(
          fc.constantFrom(...methods),
          fc.boolean(),
          fc.oneof(fc.string(), fc.constantFrom('%s %d %j %o', '%s'), arg),
          fc.array(arg, { maxLength: 3 }),
          (method, fromChild, first, rest) => {
            const logger = fromChild ? child : nc;
            const before = nc.stats();
            let n = -1;
            assert.doesNotThrow(() => (n = (logger[method] as (...a: unknown[]) => number)(first, ...rest)));
            const after = nc.stats();
            const written = after.records - before.records;
            const refused = after.logErrors - before.logErrors;
            assert.equal(written + refused, 1, `one record or one refusal: ${String(n)}`);
            assert.equal(n, written === 1 ? 2 : 0);
          },
        ),
        FUZZ,
      );
    }));
});

describe("a worker's logger (attach)", () => {
  test('the level from the handle and its own; trace, fatal, children; refused calls counted in the shared memory and warned once on its thread; throwOnLogError through the handle', () =>
    withNc({ level: 'info' }, async ({ nc, arrived }) => {
      const logErrors = nc.stats().logErrors;
      const worker = new Worker(new URL('./workers/conventions-worker.js', import.meta.url), {
        workerData: { handle: nc.handle() },
      });
      const [report] = (await once(worker, 'message')) as [ConventionsReport];
      await once(worker, 'exit');
      assert.equal(report.levelFromHandle, 'info');
      assert.deepEqual(report.levels, { afterTrace: 'debug', log: 'debug', child: 'warning', grandchild: 'debug' });
      assert.deepEqual(report.returned, {
        debugBelowHandleLevel: 0,
        traceBelowHandleLevel: 0,
        trace: 2,
        fatal: 2,
        child: 2,
        grandchild: 2,
        childBelowOwnLevel: 0,
        parentStillAtDebug: 2,
        symbol: 0,
        symbolAgain: 0,
        badLevel: 0,
        badLevelFromChild: 0,
      });
      assert.deepEqual(
        report.warnings,
        ['NETCONSOLE_LOG_VALUE_EINVAL', 'NETCONSOLE_LOG_LEVEL_EINVAL'],
        'once per cause, on its thread',
      );
      assert.deepEqual(report.thrown, { typed: true, code: 'EINVAL' });
      assert.equal(nc.stats().logErrors, logErrors + 4, "the worker's refusals, in the shared counter");
      const got = await arrived(5);
      assert.deepEqual(
        got.map((m) => [m.level, m.text, m.dict]),
        [
          [7, 'w: trace 7', {}],
          [0, 'w: fatal now', { worker: 'yes' }],
          [6, 'w-child: hello', { thread: 'worker' }],
          [4, 'w-child: [gc] deeper', { thread: 'worker', depth: '3' }],
          [7, 'w: parent at debug', {}],
        ],
      );
    }));
});
