// Configuration that speaks up (issue 16, findings 1, 4, 10, 12): a target that did not come up,
// no target at all and an addon that did not load are process warnings with a stable code, the
// option they came from, the cause and what is accepted; `{ address, port }` configures a target
// where pino-socket users expect it; the types refuse a misspelt attribute name.
//
// The once-per-process warnings (no target, no addon) are looked at in child processes: in this
// one, an earlier create() may have said them already.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import ts from 'typescript';
import winston from 'winston';
import { Netconsole, NetconsoleError } from '../src/index.js';
import { NetconsoleTransport } from '../src/faces/integrations/winston.js';
import { Sink } from './helpers/udp.js';

const INDEX = new URL('../src/index.js', import.meta.url).href;
const PINO_JS = fileURLToPath(new URL('../src/faces/integrations/pino.js', import.meta.url));
const WINSTON_JS = new URL('../src/faces/integrations/winston.js', import.meta.url).href;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TYPO = '+@/,6666@10.0.0.300/';
const FORM = '[+][r][src-port]@[src-ip]/[<dev>|<src-mac>],[tgt-port]@<tgt-ip>/[tgt-mac]';

interface Warned {
  code?: string;
  message: string;
  detail?: string;
}

/** The process warnings emitted while `fn` runs (and the ticks after it, where emitWarning delivers them). */
async function warningsOf(fn: () => Promise<void>): Promise<Warned[]> {
  const seen: Warned[] = [];
  const listener = (w: Error & { code?: string; detail?: string }): void =>
    void seen.push({ code: w.code, message: w.message, detail: w.detail });
  process.on('warning', listener);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

const ours = (ws: Warned[]): Warned[] => ws.filter((w) => w.code?.startsWith('NETCONSOLE_'));

/** Node's own print of a warning on stderr: `(node:PID) [CODE] Warning: message` (and its detail below). */
function printed(stderr: string, code: string): string[] {
  return stderr.split('\n').filter((l) => l.includes(`[${code}] Warning:`));
}

/** A child Node running `code` (an ES module, top-level await), each process warning a JSON line on stdout. */
async function child(
  code: string,
  opts: { env?: Record<string, string>; execArgv?: string[] } = {},
): Promise<{ warnings: Warned[]; stdout: string[]; stderr: string }> {
  const prelude =
    "process.on('warning', (w) => console.log(JSON.stringify({ warning: { code: w.code, message: w.message, detail: w.detail } })));\n";
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  if (!opts.env || !('NETCONSOLE' in opts.env)) delete env.NETCONSOLE;
  if (!opts.env || !('NETCONSOLE_NO_NATIVE' in opts.env)) delete env.NETCONSOLE_NO_NATIVE;
  const r = await promisify(execFile)(
    process.execPath,
    [...(opts.execArgv ?? []), '--input-type=module', '-e', prelude + code],
    { env, timeout: 60_000 },
  );
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  const warnings = lines
    .filter((l) => l.startsWith('{"warning"'))
    .map((l) => (JSON.parse(l) as { warning: Warned }).warning);
  return { warnings, stdout: lines.filter((l) => !l.startsWith('{"warning"')), stderr: r.stderr };
}

describe('a target that did not come up is a process warning, NETCONSOLE_TARGET', () => {
  test(`a typo in the targets option ('${TYPO}'): one warning naming the option, the target, remote_ip and the accepted form; startupErrors keeps it`, async () => {
    let nc: Netconsole | undefined;
    const ws = await warningsOf(async () => {
      nc = await Netconsole.create({ devices: 'none', env: false, targets: TYPO });
    });
    try {
      assert.equal(nc!.targets.list().length, 0);
      assert.deepEqual(
        nc!.startupErrors.map((e) => e.code),
        ['EINVAL'],
        'startupErrors as before',
      );
      const w = ours(ws);
      assert.equal(w.length, 1, JSON.stringify(ws));
      assert.equal(w[0].code, 'NETCONSOLE_TARGET');
      assert.match(
        w[0].message,
        /^netconsole: the targets option: target '\+@\/,6666@10\.0\.0\.300\/' did not come up: couldn't parse config at '10\.0\.0\.300\/'.*remote_ip: invalid value "10\.0\.0\.300"/,
      );
      assert.ok(w[0].detail?.includes(FORM), w[0].detail);
      assert.match(w[0].detail!, /\{ address: '10\.0\.0\.2', port: 6666 \}/);
    } finally {
      await nc?.close();
    }
  });

  test('a bad piece among good ones: one warning for it, the good target comes up', async () => {
    const sink = await Sink.open();
    let nc: Netconsole | undefined;
    const ws = await warningsOf(async () => {
      nc = await Netconsole.create({
        devices: 'none',
        env: false,
        targets: `@/,${sink.port}@127.0.0.1/;@/,99999@127.0.0.1/`,
      });
    });
    try {
      assert.deepEqual(
        nc!.targets.list().map((t) => [t.name, t.state]),
        [['cmdline0', 'enabled']],
      );
      const w = ours(ws);
      assert.deepEqual(
        w.map((x) => x.code),
        ['NETCONSOLE_TARGET'],
      );
      assert.match(w[0].message, /target '@\/,99999@127\.0\.0\.1\/' did not come up: .*remote_port/);
    } finally {
      await nc?.close();
      await sink.close();
    }
  });

  test('a typo in the NETCONSOLE variable: the warning names the variable', async () => {
    const saved = process.env.NETCONSOLE;
    process.env.NETCONSOLE = TYPO;
    let nc: Netconsole | undefined;
    try {
      const ws = await warningsOf(async () => {
        nc = await Netconsole.create({ devices: 'none' });
      });
      const w = ours(ws);
      assert.equal(w.length, 1, JSON.stringify(ws));
      assert.equal(w[0].code, 'NETCONSOLE_TARGET');
      assert.match(
        w[0].message,
        /^netconsole: the NETCONSOLE environment variable: target '\+@\/,6666@10\.0\.0\.300\/' did not come up/,
      );
    } finally {
      if (saved === undefined) delete process.env.NETCONSOLE;
      else process.env.NETCONSOLE = saved;
      await nc?.close();
    }
  });

  test('a target that parses but cannot be set up (no such device): it stays, disabled, and the warning says so', async () => {
    let nc: Netconsole | undefined;
    const ws = await warningsOf(async () => {
      nc = await Netconsole.create({ devices: 'none', env: false, targets: '@/nosuchdev7,6666@127.0.0.1/' });
    });
    try {
      assert.deepEqual(
        nc!.targets.list().map((t) => [t.name, t.state]),
        [['cmdline0', 'disabled']],
      );
      const w = ours(ws);
      assert.deepEqual(
        w.map((x) => x.code),
        ['NETCONSOLE_TARGET'],
        JSON.stringify(ws),
      );
      assert.match(
        w[0].message,
        /^netconsole: the targets option: target cmdline0 \(to 127\.0\.0\.1 port 6666\) did not come up: .*nosuchdev7/,
      );
      assert.match(w[0].detail!, /stays, disabled.*nc\.targets\.get\('cmdline0'\)/);
    } finally {
      await nc?.close();
    }
  });

  test('strict: the first bad target rejects create() (no warning needed, as before)', async () => {
    const ws = await warningsOf(async () => {
      await assert.rejects(
        Netconsole.create({ devices: 'none', env: false, strict: true, targets: TYPO }),
        (e: unknown) => e instanceof NetconsoleError && e.code === 'EINVAL',
      );
    });
    assert.deepEqual(ours(ws), []);
  });

  test("a typo in the winston transport's options.targets: the warning names NetconsoleTransport's options", async () => {
    let transport: NetconsoleTransport | undefined;
    const ws = await warningsOf(async () => {
      transport = new NetconsoleTransport({ options: { targets: TYPO, env: false, devices: 'none' } });
      await (transport as unknown as { ready: Promise<void> }).ready;
    });
    try {
      const w = ours(ws);
      assert.equal(w.length, 1, JSON.stringify(ws));
      assert.equal(w[0].code, 'NETCONSOLE_TARGET');
      assert.match(
        w[0].message,
        /^netconsole: NetconsoleTransport's options\.targets: target '\+@\/,6666@10\.0\.0\.300\/' did not come up/,
      );
    } finally {
      await transport?.close();
    }
  });

  test("a typo in the pino transport's options.targets: the warning, from pino's worker thread, reaches stderr", async () => {
    const r = await child(`
      const { default: pino } = await import('pino');
      const alive = setInterval(() => {}, 1000); // pino's worker is unref()'d: the wait for 'close' keeps the loop
      const transport = pino.transport({ target: ${JSON.stringify(PINO_JS)}, options: { targets: ${JSON.stringify(TYPO)}, env: false } });
      const logger = pino(transport);
      logger.info('nothing goes anywhere');
      await new Promise((resolve) => logger.flush(resolve));
      const closed = new Promise((resolve) => transport.once('close', resolve));
      transport.end();
      await closed;
      clearInterval(alive);
    `);
    const lines = printed(r.stderr, 'NETCONSOLE_TARGET');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0],
      /netconsole: the pino transport's options\.targets: target '\+@\/,6666@10\.0\.0\.300\/' did not come up: couldn't parse config/,
    );
  });
});

describe('no target at all is a process warning, NETCONSOLE_NO_TARGETS, once', () => {
  test('create() with nothing configured, twice: one warning that says how to configure one; targets: [] (none on purpose) and a control socket say nothing', async () => {
    const quiet = await child(`
      const { Netconsole } = await import(${JSON.stringify(INDEX)});
      await (await Netconsole.create({ devices: 'none', env: false, targets: [] })).close();
      console.log('quiet done');
    `);
    assert.deepEqual(ours(quiet.warnings), [], quiet.stderr);
    const r = await child(`
      const { Netconsole } = await import(${JSON.stringify(INDEX)});
      const nc = await Netconsole.create({ devices: 'none' });
      console.log(JSON.stringify({ sent: nc.info('to nobody') }));
      await nc.close();
      await (await Netconsole.create({ devices: 'none', env: false })).close();
    `);
    const w = ours(r.warnings);
    assert.deepEqual(
      w.map((x) => x.code),
      ['NETCONSOLE_NO_TARGETS'],
      r.stderr,
    );
    assert.equal(
      w[0].message,
      'netconsole: no target is configured, log calls send nothing: no targets option, and the NETCONSOLE environment variable is not set',
    );
    assert.ok(
      w[0].detail?.includes("Netconsole.create({ targets: [{ address: '10.0.0.2', port: 6666 }] })"),
      w[0].detail,
    );
    assert.ok(w[0].detail?.includes("NETCONSOLE='+@/,6666@10.0.0.2/'"), w[0].detail);
    assert.ok(w[0].detail?.includes('targets: []'), w[0].detail);
    assert.deepEqual(r.stdout, ['{"sent":0}']);
    assert.equal(printed(r.stderr, 'NETCONSOLE_NO_TARGETS').length, 1, 'Node prints it');
  });

  test("the winston transport with no targets: the warning names NetconsoleTransport's options", async () => {
    const r = await child(`
      const { NetconsoleTransport } = await import(${JSON.stringify(WINSTON_JS)});
      const t = new NetconsoleTransport({ options: { env: false, devices: 'none' } });
      await t.ready;
      await t.close();
    `);
    const w = ours(r.warnings);
    assert.deepEqual(
      w.map((x) => x.code),
      ['NETCONSOLE_NO_TARGETS'],
      r.stderr,
    );
    assert.match(w[0].message, /NetconsoleTransport's options have no address and no targets, and env is false/);
    assert.match(w[0].detail!, /Give one in NetconsoleTransport's options: \{ address: '10\.0\.0\.2', port: 6666 \}/);
  });
});

describe('the addon not loading is a process warning, NETCONSOLE_NO_ADDON, once, with why', () => {
  // What a platform without a prebuild and without a toolchain meets: no build/Release in the
  // package, so the load goes to node-gyp-build, and it throws. NETCONSOLE_PREBUILD (node-gyp-build's
  // own override) sends the load there although this checkout has a build.
  const NO_BUILD =
    'No native build was found for platform=linux arch=riscv64 runtime=node abi=115 uv=1 libc=glibc node=20.19.0';
  const preload = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'nc-noaddon-'));
    const file = join(dir, 'no-addon.mjs');
    writeFileSync(
      file,
      `import Module from 'node:module';
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'node-gyp-build') return () => { throw new Error(${JSON.stringify(`${NO_BUILD}\n    loaded from: /app/node_modules/netconsole\n`)}); };
  return load.call(this, request, ...rest);
};
`,
    );
    return file;
  };

  test("sender 'auto' without the addon: the reason, what it means and how to fix it; sender 'dgram' first says nothing", async () => {
    const file = preload();
    try {
      const r = await child(
        `
        const { Netconsole } = await import(${JSON.stringify(INDEX)});
        await (await Netconsole.create({ targets: [], sender: 'dgram' })).close();
        console.log(JSON.stringify({ after: 'dgram' }));
        const nc = await Netconsole.create({ targets: [] });
        console.log(JSON.stringify({ sender: nc.stats().sender }));
        await nc.close();
        await (await Netconsole.create({ targets: [] })).close();
      `,
        { execArgv: ['--import', file], env: { NETCONSOLE_PREBUILD: join(file, '..') } },
      );
      assert.deepEqual(r.stdout, ['{"after":"dgram"}', '{"sender":"dgram"}']);
      const w = ours(r.warnings);
      assert.deepEqual(
        w.map((x) => x.code),
        ['NETCONSOLE_NO_ADDON'],
        r.stderr,
      );
      assert.equal(
        w[0].message,
        `netconsole: the native addon did not load (${NO_BUILD}): the pure-JS 'dgram' sender sends on the event loop, device events are polled from /sys/class/net every 500 ms, and mode 'raw' is not available`,
      );
      assert.match(w[0].detail!, /npm rebuild netconsole/);
      assert.match(w[0].detail!, /NETCONSOLE_NO_NATIVE=1/);
    } finally {
      rmSync(join(file, '..'), { recursive: true, force: true });
    }
  });

  test('NETCONSOLE_NO_NATIVE=1 asked for the fallback: no warning', async () => {
    const r = await child(
      `
      const { Netconsole } = await import(${JSON.stringify(INDEX)});
      const nc = await Netconsole.create({ targets: [] });
      console.log(JSON.stringify({ sender: nc.stats().sender }));
      await nc.close();
    `,
      { env: { NETCONSOLE_NO_NATIVE: '1' } },
    );
    assert.deepEqual(r.stdout, ['{"sender":"dgram"}']);
    assert.deepEqual(ours(r.warnings), [], r.stderr);
  });
});

describe('{ address, port }: one target as pino-socket takes it', () => {
  test('the pino transport: options { address, port, extended, localPort } deliver to a receiver on loopback', async () => {
    const sink = await Sink.open();
    try {
      const transport = pino.transport({
        target: PINO_JS,
        options: { address: '127.0.0.1', port: sink.port, extended: true, localPort: 0, env: false },
      });
      const logger = pino({ base: null, timestamp: false }, transport);
      logger.info('by address');
      await sink.until((g) => g.length === 1, 20_000);
      const closed = once(transport, 'close');
      transport.end();
      await closed;
      assert.match(
        sink.texts()[0],
        /^14,\d+,\d+,-;\{"level":30,"msg":"by address"\}\n$/,
        'extended, at info (facility user)',
      );
    } finally {
      await sink.close();
    }
  });

  test('the winston transport: options { address, port } deliver; the target is target0, enabled, basic', async () => {
    const sink = await Sink.open();
    try {
      const transport = new NetconsoleTransport({
        options: { address: '127.0.0.1', port: sink.port, localPort: 0, env: false, devices: 'none' },
      });
      const logger = winston.createLogger({
        format: winston.format.printf((i) => String(i.message)),
        transports: [transport],
      });
      logger.info('by address');
      await sink.until((g) => g.length === 1, 20_000);
      assert.match(sink.texts()[0], /^\[ *\d+\.\d{6}\] by address\n$/, 'basic, with its timestamp');
      const nc = transport.netconsole as Netconsole;
      assert.deepEqual(
        nc.targets.list().map((t) => [t.name, t.state, t.get('remote_ip'), t.get('remote_port'), t.get('extended')]),
        [['target0', 'enabled', '127.0.0.1', String(sink.port), '0']],
      );
      const finished = once(transport, 'finish');
      logger.end();
      await finished;
    } finally {
      await sink.close();
    }
  });

  test('create(): targets [{ address, port }] beside kernel attributes', async () => {
    const sink = await Sink.open();
    const nc = await Netconsole.create({
      devices: 'none',
      env: false,
      targets: [{ address: '127.0.0.1', port: sink.port, localPort: 0, name: 'short' }],
    });
    try {
      assert.deepEqual(
        nc.targets.list().map((t) => [t.name, t.state]),
        [['short', 'enabled']],
      );
      nc.info('hello');
      await sink.until((g) => g.length === 1);
      assert.match(sink.texts()[0], /^\[ *\d+\.\d{6}\] hello\n$/);
    } finally {
      await nc.close();
      await sink.close();
    }
  });

  const typed =
    (code: string, option: string, accepted: RegExp) =>
    (e: unknown): boolean => {
      assert.ok(e instanceof NetconsoleError, String(e));
      assert.deepEqual([e.code, e.option], [code, option], e.message);
      assert.match(e.message, accepted);
      return true;
    };

  test('bad shorthand values: typed errors naming the field the caller wrote', async () => {
    const bad = { env: false, devices: 'none' } as const;
    assert.throws(
      () => new NetconsoleTransport({ options: { ...bad, address: '10.0.0.300' } }),
      typed('EINVAL', 'address', /an IPv4 or IPv6 address/),
    );
    assert.throws(
      () => new NetconsoleTransport({ options: { ...bad, address: '10.0.0.2', port: 70000 } }),
      typed('ERANGE', 'port', /1\.\.65535/),
    );
    assert.throws(
      () => new NetconsoleTransport({ options: { ...bad, address: '10.0.0.2', extended: 'yes' as never } }),
      typed('EINVAL', 'extended', /true or false/),
    );
    assert.throws(
      () => new NetconsoleTransport({ options: { ...bad, port: 6666 } }),
      typed('EINVAL', 'address', /no receiver address/),
    );
    assert.throws(
      () => new NetconsoleTransport({ options: { ...bad, address: '10.0.0.2', targets: '@/,6666@10.0.0.3/' } }),
      typed('EINVAL', 'targets', /either \{ address, port \} or targets/),
    );
    assert.throws(
      () => new NetconsoleTransport({ options: { ...bad, address: 'fd00::2', localAddress: '10.0.0.1' } }),
      typed('EINVAL', 'localAddress', /IPv6/),
    );
    await assert.rejects(
      Netconsole.create({ ...bad, targets: [{ address: '10.0.0.2', prot: 6666 } as never] }),
      typed('EINVAL', 'targets[0].prot', /did you mean 'port'/),
    );
    await assert.rejects(
      Netconsole.create({ ...bad, targets: [{ address: '0.0.0.0' }] }),
      typed('EDESTADDRREQ', 'targets[0].address', /not all zeros/),
    );
    const transport = pino.transport({ target: PINO_JS, options: { address: 'logs.example', port: 6666, env: false } });
    const [err] = (await once(transport, 'error')) as [Error];
    assert.match(String(err?.message), /^address: invalid value "logs\.example"; accepted: an IPv4 or IPv6 address/);
  });
});

describe('types (strict TypeScript against dist/src/index.d.ts)', () => {
  test("'remote_prot' and a boolean port do not compile; stats().sender is 'native' | 'dgram'; targets.get() is checked", () => {
    const dir = mkdtempSync(join(tmpdir(), 'nc-types-'));
    try {
      const file = join(dir, 'check.mts');
      writeFileSync(
        file,
        `import { Netconsole, type AttributeName } from ${JSON.stringify(join(ROOT, 'dist/src/index.js'))};
const nc = await Netconsole.create({ targets: [{ address: '10.0.0.2', port: 6666 }] });
const t = nc.targets.get('cmdline0');
const mac: string | undefined = t?.get('local_mac');
if (t !== undefined) {
  await t.set('remote_port', 6666);
  await t.set('extended', true);
  const name: AttributeName = 'transmit_errors';
  t.get(name);
  // @ts-expect-error a misspelt attribute name
  t.get('remote_prot');
  // @ts-expect-error a misspelt attribute name
  await t.set('remote_prot', 6666);
  // @ts-expect-error a boolean for an attribute that is not yes/no
  await t.set('remote_port', true);
  // @ts-expect-error a read-only attribute
  await t.set('local_mac', '02:00:00:00:00:01');
}
// @ts-expect-error get() may be undefined: check it (the README writes ?.)
nc.targets.get('cmdline0').get('local_mac');
const sender: 'native' | 'dgram' = nc.stats().sender;
// @ts-expect-error not a sender
if (nc.stats().sender === 'napi') console.log(mac, sender);
// @ts-expect-error not a field of { address, port }
await Netconsole.create({ targets: [{ address: '10.0.0.2', prot: 6666 }] });
`,
      );
      const program = ts.createProgram([file], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
        skipLibCheck: true,
      });
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
        const where =
          d.file && d.start !== undefined ? `line ${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
        return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
      });
      assert.deepEqual(diagnostics, [], 'every good line compiles, every @ts-expect-error line fails');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
