// The pino, winston and console integrations end to end: real loggers, a Netconsole with an
// extended target, a receiver on loopback, and the exact bytes that arrived.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import pino from 'pino';
import winston from 'winston';
import { format, inspect } from 'node:util';
import { Netconsole, NetconsoleError, type Level, type TargetOptions } from '../src/index.js';
import { escapeExtended } from '../src/reference/escape.js';
import { destination, syslogLevel } from '../src/faces/integrations/pino.js';
import { NetconsoleTransport } from '../src/faces/integrations/winston.js';
import { captureConsole } from '../src/faces/integrations/console.js';
import { Sink } from './helpers/udp.js';
import { withSinkNetconsole } from './helpers/netconsole.js';

const PINO_JS = fileURLToPath(new URL('../src/faces/integrations/pino.js', import.meta.url));

function extended(sink: Sink): TargetOptions[] {
  return [{ name: 'ext', remote_ip: '127.0.0.1', remote_port: sink.port, local_port: 0, extended: 1, enabled: 1 }];
}

/** The text a record must carry (a predicate: over the unescaped text), its level and facility (default 1, user). */
type Expected = [level: number, text: string | ((text: string) => boolean), facility?: number];

/** The extended escaping undone: the text as logged. */
function unescape(escaped: string): string {
  return Buffer.from(
    escaped.replace(/\\x([0-9a-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

/** Waits for `want.length` datagrams and checks each is `<prio>,<seq>,<ts>,-;<escaped text>\n`, seqs consecutive. */
async function expectRecords(sink: Sink, want: Expected[]): Promise<void> {
  await sink.until((g) => g.length >= want.length);
  await new Promise((r) => setTimeout(r, 50)); // and nothing more
  const got = sink.texts();
  assert.equal(got.length, want.length, `datagrams: ${JSON.stringify(got)}`);
  let seq: bigint | null = null;
  got.forEach((datagram, i) => {
    const [level, text, facility = 1] = want[i];
    const m = /^(\d+),(\d+),(\d+),-;([^]*)\n$/.exec(datagram);
    assert.ok(m, `record ${i} is extended: ${JSON.stringify(datagram)}`);
    assert.equal(Number(m[1]), facility * 8 + level, `record ${i} prio: ${JSON.stringify(datagram)}`);
    if (typeof text === 'string')
      assert.equal(m[4], Buffer.from(escapeExtended(Buffer.from(text, 'utf8'))).toString('latin1'), `record ${i} text`);
    else assert.ok(text(unescape(m[4])), `record ${i} text: ${JSON.stringify(datagram)}`);
    if (seq !== null) assert.equal(BigInt(m[2]), seq + 1n, `record ${i} seq follows`);
    seq = BigInt(m[2]);
  });
}

const withNc = (fn: (nc: Netconsole, sink: Sink) => Promise<void>): Promise<void> =>
  withSinkNetconsole((sink) => ({ targets: extended(sink) }), fn);

const pinoLine = (level: number, msg: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ level, ...extra, msg });

/** A logger that keeps what it is given (level, text as a string). */
function fakeSink(): { write: (level: unknown, text: unknown) => number; got: Array<[unknown, string]> } {
  const got: Array<[unknown, string]> = [];
  return {
    got,
    write: (level, text) => got.push([level, text instanceof Uint8Array ? Buffer.from(text).toString() : String(text)]),
  };
}

/** `fn` throws a NetconsoleError with this code naming this option. */
function typed(code: string, option: string, fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NetconsoleError, `a NetconsoleError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.option, option, e.message);
    return true;
  });
}

const throwsOnEveryRead = (): object =>
  new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
      getPrototypeOf() {
        throw new Error('trap');
      },
      ownKeys() {
        throw new Error('trap');
      },
    },
  );
const hostileInspect = {
  [inspect.custom]: (): never => {
    throw new Error('custom inspect');
  },
};
const hostileToString = {
  toString: (): never => {
    throw new Error('toString');
  },
};

describe('pino', () => {
  test('syslogLevel: standard levels, custom numbers to the nearest lower, labels', () => {
    assert.deepEqual([10, 20, 30, 40, 50, 60].map(syslogLevel), [7, 7, 6, 4, 3, 0]);
    assert.deepEqual([0, 15, 35, 45, 55, 70, Infinity].map(syslogLevel), [7, 7, 6, 4, 3, 0, 0]);
    assert.deepEqual(
      ['trace', 'info', 'fatal', 'warning', 'notice', '50', 'custom', undefined].map(syslogLevel),
      [7, 6, 0, 4, 5, 3, 6, 6],
    );
  });

  test('the package name resolves to the transport (self-reference through exports, to the bundle an app loads)', () => {
    assert.equal(
      createRequire(import.meta.url).resolve('netconsole/pino'),
      fileURLToPath(new URL('../lib/es/pino.js', import.meta.url)),
    );
  });

  for (const [how, target] of [
    ['the package name', 'netconsole/pino'],
    ['an absolute path', PINO_JS],
  ] as const) {
    test(`pino.transport in its worker thread, target by ${how}: levels, escaping, custom level, flush at end`, async () => {
      const sink = await Sink.open();
      try {
        const transport = pino.transport({ target, options: { targets: extended(sink), env: false } });
        const logger = pino({ base: null, timestamp: false, level: 'trace', customLevels: { audit: 35 } }, transport);
        logger.trace('t');
        logger.debug('d');
        logger.info('say "hi" \u2603\nnext\\');
        logger.audit('custom');
        logger.warn({ disk: 91 }, 'w');
        logger.error('e');
        logger.fatal('f');
        // logger.flush() reaches the worker's stream: everything is with the kernel before the end.
        await new Promise<void>((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())));
        await sink.until((g) => g.length === 7);
        logger.info('last');
        const closed = once(transport, 'close');
        transport.end();
        await closed;
        await expectRecords(sink, [
          [7, pinoLine(10, 't')],
          [7, pinoLine(20, 'd')],
          [6, pinoLine(30, 'say "hi" \u2603\nnext\\')],
          [6, pinoLine(35, 'custom')],
          [4, pinoLine(40, 'w', { disk: 91 })],
          [3, pinoLine(50, 'e')],
          [0, pinoLine(60, 'f')],
          [6, pinoLine(30, 'last')],
        ]);
      } finally {
        await sink.close();
      }
    });
  }

  test('a bad target makes the transport fail (strict with arrays) instead of dropping silently', async () => {
    const transport = pino.transport({
      target: PINO_JS,
      options: { targets: [{ name: 'bad', remote_ip: 'not-an-ip', enabled: 1 }], env: false },
    });
    const [err] = (await once(transport, 'error')) as [Error];
    assert.match(String(err?.message), /^remote_ip: invalid value "not-an-ip"/);
  });

  test('destination in the same thread: one record per line, split writes, flush(cb), formatted levels', async () => {
    await withNc(async (nc, sink) => {
      const dest = destination(nc);
      const logger = pino({ base: null, timestamp: false, level: 'trace' }, dest);
      logger.info({ user: 'ü' }, 'hello');
      logger.trace('t');
      logger.error(new Error('boom'));
      // A writer that does not write whole lines: partial lines wait for their newline.
      dest.write('{"level":50,"ms');
      dest.write('g":"x"}\n{"level":10}\n\n{"lev');
      dest.write(Buffer.from('el":40}\nnot json\n'));
      const byLabel = pino(
        { base: null, timestamp: false, formatters: { level: (label) => ({ level: label }) } },
        dest,
      );
      byLabel.warn('labelled');
      await new Promise<void>((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())));
      const isBoom = (line: string): boolean => {
        const o = JSON.parse(line) as {
          level: number;
          err: { type: string; message: string; stack: string };
          msg: string;
        };
        return (
          line.startsWith('{"level":50,"err":') &&
          o.err.type === 'Error' &&
          o.err.message === 'boom' &&
          o.err.stack.startsWith('Error: boom\n    at ') &&
          o.msg === 'boom'
        );
      };
      await expectRecords(sink, [
        [6, pinoLine(30, 'hello', { user: 'ü' })],
        [7, pinoLine(10, 't')],
        [3, isBoom],
        [3, '{"level":50,"msg":"x"}'],
        [7, '{"level":10}'],
        [4, '{"level":40}'],
        [6, 'not json'],
        [4, '{"level":"warn","msg":"labelled"}'],
      ]);
    });
  });
});

describe('pino: what the destination takes', () => {
  test('labels are looked up among their own names: toString, constructor and __proto__ are info', () => {
    assert.deepEqual(['toString', 'constructor', '__proto__', 'valueOf'].map(syslogLevel), [6, 6, 6, 6]);
  });

  test('a chunk that is neither a string nor bytes: EINVAL, nothing logged; options null: none', () => {
    const sink = fakeSink();
    const dest = destination(sink, null as never);
    for (const chunk of [5, null, undefined, { level: 30 }, new Proxy(Buffer.from('{"level":30}\n'), {})])
      typed('EINVAL', 'chunk', () => dest.write(chunk as never));
    dest.write('{"level":30}\n');
    assert.deepEqual(sink.got, [[6, '{"level":30}']]);
  });

  // The transport gets what thread-stream read at once (up to 4 MiB, lines cut anywhere); the
  // destination gets pino's lines, or whatever a writer writes.
  test('lines cut anywhere into chunks, strings or UTF-8 bytes: the same records as the lines whole', () => {
    const noNewline = fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replaceAll('\n', ' '));
    fc.assert(
      fc.property(
        fc.array(noNewline, { maxLength: 12 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 10 }),
        (lines, lastNewline, asBytes, cutsAt) => {
          const text = lines.join('\n') + (lastNewline && lines.length > 0 ? '\n' : '');
          const whole: string | Buffer = asBytes ? Buffer.from(text) : text;
          const cuts = [...new Set(cutsAt.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
          const sink = fakeSink();
          const dest = destination(sink);
          let from = 0;
          for (const to of [...cuts, whole.length]) {
            dest.write(typeof whole === 'string' ? whole.slice(from, to) : whole.subarray(from, to));
            from = to;
          }
          dest.end();
          assert.deepEqual(
            sink.got.map(([, t]) => t),
            lines.filter((l) => l !== ''),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a line held without its newline waits for it up to 1 MiB, and past 1 MiB is sent as it is', () => {
    const sink = fakeSink();
    const dest = destination(sink);
    const mib = 1 << 20;
    dest.write('a'.repeat(mib / 2));
    dest.write('b'.repeat(mib / 2)); // 1 MiB held: not yet past
    assert.equal(sink.got.length, 0);
    dest.write('c\nd');
    dest.write('e'.repeat(mib + 1)); // 'd' and these: past 1 MiB
    dest.write('f\n');
    const got = sink.got.map(([, t]) => t);
    const want = ['a'.repeat(mib / 2) + 'b'.repeat(mib / 2) + 'c', 'd' + 'e'.repeat(mib + 1), 'f'];
    const shape = (ts: string[]): string[] => ts.map((t) => `${t.length} ${t.slice(0, 2)}..${t.slice(-2)}`);
    assert.deepEqual(shape(got), shape(want));
    assert.ok(got.every((t, i) => t === want[i]));
  });

  test('a destination on something that is not a logger, or with a bad facility: typed errors at set-up', () => {
    typed('EINVAL', 'nc', () => destination({} as never));
    typed('EINVAL', 'nc', () => destination(null as never));
    typed('EINVAL', 'options', () => destination(fakeSink(), 'x' as never));
    typed('EINVAL', 'facility', () => destination(fakeSink(), { facility: '3' as never }));
    typed('EINVAL', 'options', () => destination(fakeSink(), throwsOnEveryRead() as never));
  });

  // Before: an unknown name was ignored (the records went out at the default facility).
  test("destination's options: an unknown name is EINVAL, the closest one suggested", () => {
    typed('EINVAL', 'facilty', () => destination(fakeSink(), { facilty: 3 } as never));
    assert.throws(() => destination(fakeSink(), { facilty: 3 } as never), /did you mean 'facility'/);
  });
});

describe('winston', () => {
  test('custom levels named toString and constructor: sent as their mapping or info, never an error', async () => {
    await withNc(async (nc, sink) => {
      const transport = new NetconsoleTransport({ netconsole: nc, levels: { toString: 'err' as Level } });
      const errors: unknown[] = [];
      transport.on('error', (e) => errors.push(e));
      const logger = winston.createLogger({
        levels: { toString: 0, constructor: 1, __proto__: 2, info: 3 },
        level: 'info',
        format: winston.format.printf((i) => String(i.message)),
        transports: [transport],
      });
      logger.log('toString', 'mapped to err');
      logger.log('constructor', 'unknown: info');
      logger.log('info', 'info');
      await nc.flush();
      await expectRecords(sink, [
        [3, 'mapped to err'],
        [6, 'unknown: info'],
        [6, 'info'],
      ]);
      assert.deepEqual(errors, []);
    });
  });

  test('levels and options that are not: typed errors at construction (not a TypeError)', () => {
    typed(
      'EINVAL',
      'levels.audit',
      () => new NetconsoleTransport({ netconsole: fakeSink(), levels: { audit: 'toString' as never } }),
    );
    typed(
      'ERANGE',
      'levels.audit',
      () => new NetconsoleTransport({ netconsole: fakeSink(), levels: { audit: 9 as never } }),
    );
    typed('EINVAL', 'levels', () => new NetconsoleTransport({ netconsole: fakeSink(), levels: 'info' as never }));
    typed('EINVAL', 'options', () => new NetconsoleTransport({ netconsole: fakeSink(), options: {} }));
    typed('EINVAL', 'netconsole', () => new NetconsoleTransport({ netconsole: {} as never }));
    typed('EINVAL', 'options', () => new NetconsoleTransport('x' as never));
    typed('EINVAL', 'options', () => new NetconsoleTransport(throwsOnEveryRead() as never));
  });

  // Before: each of these was taken; a misspelt or mistyped option was ignored, and a level that
  // is not a string (or not one of the logger's levels) made winston skip every entry.
  test('options winston-transport would misread, and unknown names: typed errors at construction', () => {
    const nc = fakeSink();
    const cases: Array<[string, string, object, RegExp?]> = [
      ['EINVAL', 'bogus', { bogus: 1 }, /accepted: one of netconsole, options, levels, facility, format/],
      ['EINVAL', 'facilty', { facilty: 3 }, /did you mean 'facility'/],
      ['EINVAL', 'Levels', { Levels: {} }, /did you mean 'levels'/],
      ['EINVAL', 'level', { level: 5 }],
      ['EINVAL', 'silent', { silent: 'yes' }],
      ['EINVAL', 'handleExceptions', { handleExceptions: 1 }],
      ['EINVAL', 'format', { format: {} }],
      ['ERANGE', 'highWaterMark', { highWaterMark: -1 }],
      ['EINVAL', 'log', { log: 'x' }],
    ];
    for (const [code, option, opts, message] of cases) {
      typed(code, option, () => new NetconsoleTransport({ netconsole: nc, ...opts } as never));
      if (message) assert.throws(() => new NetconsoleTransport({ netconsole: nc, ...opts } as never), message);
    }
    // winston-transport's own options, well typed, are taken.
    new NetconsoleTransport({
      netconsole: nc,
      level: 'info',
      silent: false,
      handleExceptions: false,
      format: winston.format.simple(),
      highWaterMark: 16,
    });
  });

  test("a level that is not one of the logger's: an EINVAL error when it is added (createLogger throws it when unheard)", () => {
    const transport = (): NetconsoleTransport => new NetconsoleTransport({ netconsole: fakeSink(), level: 'warning' });
    assert.throws(
      () => winston.createLogger({ transports: [transport()] }),
      (e: unknown) =>
        e instanceof NetconsoleError &&
        e.code === 'EINVAL' &&
        e.option === 'level' &&
        /one of the logger's levels: error, warn/.test(e.message),
    );
    const errors: unknown[] = [];
    const logger = winston.createLogger();
    logger.on('error', (e) => errors.push(e));
    logger.add(transport());
    assert.equal((errors[0] as NetconsoleError | undefined)?.option, 'level');
    // The same name is one of the syslog levels: taken.
    winston.createLogger({ levels: winston.config.syslog.levels, transports: [transport()] });
  });

  test('an entry that cannot be read or rendered: an EINVAL error event, nothing sent, the callback called', async () => {
    const sink = fakeSink();
    const transport = new NetconsoleTransport({ netconsole: sink });
    const errors: unknown[] = [];
    transport.on('error', (e) => errors.push(e));
    const entries: Array<[string, unknown, string]> = [
      ['a Proxy whose traps throw', throwsOnEveryRead(), 'info'],
      ['a message whose custom inspect throws', { level: 'info', message: hostileInspect }, 'info.message'],
      ['a message that is a hostile Proxy', { level: 'info', message: throwsOnEveryRead() }, 'info.message'],
      ['null', null, 'info'],
    ];
    for (const [, info, option] of entries) {
      let called = false;
      transport.log(info as never, () => (called = true));
      assert.ok(called, 'the callback is called');
      const e = errors.pop();
      assert.ok(e instanceof NetconsoleError && e.code === 'EINVAL', `a NetconsoleError: ${String(e)}`);
      assert.equal(e.option, option);
    }
    assert.deepEqual(sink.got, []);
    transport.log({ level: 'info', message: hostileToString } as never, () => {});
    assert.deepEqual(sink.got, [[6, '{ toString: [Function: toString] }']], 'util.format renders what it can');
  });

  test('npm levels through a given Netconsole: the formatted message, levels mapped', async () => {
    await withNc(async (nc, sink) => {
      const transport = new NetconsoleTransport({ netconsole: nc });
      const logger = winston.createLogger({ level: 'silly', format: winston.format.json(), transports: [transport] });
      const levels = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];
      for (const l of levels) logger.log(l, `at ${l}`);
      logger.info('with meta "q"', { id: 7 });
      const finished = once(transport, 'finish');
      logger.end();
      await finished;
      await expectRecords(sink, [
        ...levels.map((l, i): Expected => [[3, 4, 6, 6, 7, 7, 7][i], JSON.stringify({ level: l, message: `at ${l}` })]),
        [6, JSON.stringify({ id: 7, level: 'info', message: 'with meta "q"' })],
      ]);
      assert.equal(transport.netconsole, nc, 'the given Netconsole stays the caller’s');
      nc.info('still open');
      await nc.flush();
      await sink.until((g) => g.length === levels.length + 2);
    });
  });

  test('syslog levels 1:1 with its own Netconsole, a colorized level, facility; close() closes it', async () => {
    const sink = await Sink.open();
    try {
      const transport = new NetconsoleTransport({
        options: { targets: extended(sink), devices: 'none', env: false },
        facility: 3,
      });
      const logger = winston.createLogger({
        levels: winston.config.syslog.levels,
        level: 'debug',
        format: winston.format.combine(
          winston.format.colorize(),
          winston.format.printf((i) => `${i.message}`),
        ),
        transports: [transport],
      });
      const levels = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug'];
      for (const l of levels) logger.log(l, `syslog ${l}`); // logged before the Netconsole exists: they wait
      const finished = once(transport, 'finish');
      logger.end();
      await finished;
      await expectRecords(
        sink,
        levels.map((l, i): Expected => [i, `syslog ${l}`, 3]),
      );
      await transport.close(); // winston called it already on unpipe; a second call is a no-op
      assert.equal(transport.netconsole, null);
    } finally {
      await sink.close();
    }
  });

  test('without a formatted message: info.message; custom levels; unknown levels are info', async () => {
    await withNc(async (nc, sink) => {
      const transport = new NetconsoleTransport({ netconsole: nc, levels: { audit: 'notice' } });
      const log = (info: Record<string | symbol, unknown>): Promise<void> => new Promise((r) => transport.log(info, r));
      await log({ level: 'warn', [Symbol.for('level')]: 'warn', message: 'plain' });
      await log({ level: 'audit', message: 'custom' });
      await log({ level: 'whatever', message: { a: 1 } });
      await nc.flush();
      await expectRecords(sink, [
        [4, 'plain'],
        [5, 'custom'],
        [6, '{ a: 1 }'],
      ]);
      await transport.close();
      nc.info('the given Netconsole is not closed by the transport');
      await nc.flush();
      await sink.until((g) => g.length === 4);
    });
  });
});

describe('console', () => {
  const calls = (): void => {
    console.log('a %d and %s', 1, 'two');
    console.info({ x: 1 });
    console.warn('w');
    console.error('e', new Error('inside'));
    console.debug('d');
    console.trace('t %s', 'here');
  };

  /** Runs `fn` with process.stdout/stderr.write replaced (synchronously: the test runner's own
   *  output cannot interleave) and returns what was written. */
  function output(fn: () => void): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    const stdout = process.stdout.write;
    const stderr = process.stderr.write;
    process.stdout.write = ((chunk: string | Uint8Array) =>
      out.push(['stdout', String(chunk)]) > 0) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) =>
      out.push(['stderr', String(chunk)]) > 0) as typeof process.stderr.write;
    try {
      fn();
    } finally {
      process.stdout.write = stdout;
      process.stderr.write = stderr;
    }
    return out;
  }

  /** Stack frames differ between two calls' lines: compare traces by their first line. */
  const firstLines = (out: Array<[string, string]>): Array<[string, string]> =>
    out.map(([s, t]) => [s, t.startsWith('Trace:') ? t.split('\n')[0] : t.replace(/\n {4}at [^]*$/, '')]);

  const expected: Expected[] = [
    [6, 'a 1 and two'],
    [6, '{ x: 1 }'],
    [4, 'w'],
    [3, (t) => t.startsWith('e Error: inside\n    at ')],
    [7, 'd'],
    [7, (t) => t.startsWith('Trace: t here\n    at ')],
  ];

  test('passthrough (default): the original output is unchanged, and records are sent', async () => {
    await withNc(async (nc, sink) => {
      const before = output(calls);
      let restore: () => void = () => {};
      const during = output(() => {
        restore = captureConsole(nc);
        try {
          calls();
        } finally {
          restore();
        }
      });
      assert.equal(before.length, 6);
      assert.deepEqual(firstLines(during), firstLines(before));
      assert.deepEqual(
        before.map(([s]) => s),
        ['stdout', 'stdout', 'stderr', 'stderr', 'stdout', 'stderr'],
      );
      await nc.flush();
      await expectRecords(sink, expected);
    });
  });

  test('passthrough false: nothing written, records sent; facility', async () => {
    await withNc(async (nc, sink) => {
      const during = output(() => {
        const restore = captureConsole(nc, { passthrough: false, facility: 16 });
        try {
          calls();
        } finally {
          restore();
        }
      });
      assert.deepEqual(during, []);
      await nc.flush();
      await expectRecords(
        sink,
        expected.map(([level, text]): Expected => [level, text, 16]),
      );
    });
  });

  test('restore puts the originals back; a later capture over it keeps working without sending', () => {
    const names = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
    const originals = names.map((n) => console[n]);
    const got: Array<[unknown, unknown]> = [];
    const fake = { write: (level: unknown, text: unknown) => got.push([level, text]) };
    const restore = captureConsole(fake, { passthrough: false });
    assert.ok(names.every((n, i) => console[n] !== originals[i]));
    console.log('captured');
    restore();
    assert.ok(
      names.every((n, i) => console[n] === originals[i]),
      'the originals are back',
    );
    assert.deepEqual(got, [[6, 'captured']]);
    output(() => console.log('not captured'));
    assert.equal(got.length, 1);

    // Another wrapper installed over ours: restoring leaves it, and ours only passes through.
    const restore2 = captureConsole(fake, { passthrough: false });
    const ours = console.log;
    const theirs = (...args: unknown[]): void => ours(...args);
    console.log = theirs;
    restore2();
    assert.equal(console.log, theirs);
    const out = output(() => console.log('through'));
    assert.deepEqual(out, [['stdout', 'through\n']]);
    assert.equal(got.length, 1);
    console.log = originals[0];
  });

  /** A console of our own: captured without touching the process's. */
  function fakeConsole(): Console & { out: string[] } {
    const out: string[] = [];
    const write = (...args: unknown[]): void => void out.push(format(...args));
    return {
      out,
      log: write,
      info: write,
      warn: write,
      error: write,
      debug: write,
      trace: write,
    } as unknown as Console & { out: string[] };
  }

  test('arguments util.format cannot render: EINVAL from the console call, nothing sent or printed', () => {
    const sink = fakeSink();
    const con = fakeConsole();
    const restore = captureConsole(sink, { console: con });
    try {
      typed('EINVAL', 'console.log', () => con.log('%s', hostileToString));
      typed('EINVAL', 'console.warn', () => con.warn(hostileInspect));
      typed('EINVAL', 'console.trace', () => con.trace('%s', hostileToString));
      assert.deepEqual(sink.got, []);
      assert.deepEqual(con.out, []);
      con.log('%s and %s', null, undefined);
      con.log(throwsOnEveryRead()); // inspect shows a Proxy without running its traps
      assert.deepEqual(sink.got, [
        [6, 'null and undefined'],
        [6, format(throwsOnEveryRead())],
      ]);
    } finally {
      restore();
    }
  });

  test('options: null is none; bad ones are typed errors at set-up', () => {
    const con = fakeConsole();
    captureConsole(fakeSink(), { console: con, passthrough: null as never })();
    typed('EINVAL', 'passthrough', () => captureConsole(fakeSink(), { console: con, passthrough: 'no' as never }));
    typed('EINVAL', 'nc', () => captureConsole({} as never, { console: con }));
    typed('EINVAL', 'console', () => captureConsole(fakeSink(), { console: {} as Console }));
    typed('EINVAL', 'options', () => captureConsole(fakeSink(), 5 as never));
    typed('ERANGE', 'facility', () => captureConsole(fakeSink(), { console: con, facility: 24 }));
  });
  // Before: an unknown name was ignored: { pasthrough: false } printed everything still.
  test('options: an unknown name is EINVAL, the closest one suggested; nothing is captured', () => {
    const con = fakeConsole();
    const log = con.log;
    typed('EINVAL', 'pasthrough', () => captureConsole(fakeSink(), { console: con, pasthrough: false } as never));
    assert.throws(
      () => captureConsole(fakeSink(), { console: con, pasthrough: false } as never),
      /did you mean 'passthrough'/,
    );
    assert.equal(con.log, log, 'the console is as it was');
  });
});
