// Netconsole.create's options, checked in one place before anything exists; what a rejected
// create() leaves (nothing: threads, descriptors, listeners, files); memory returned at close()
// (a create()/close() loop in bounded address space; a closed Netconsole's handle stays dead).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Netconsole, NetconsoleError, type NetconsoleOptions } from '../src/index.js';
import { requireSender, SENDERS } from './helpers/requires.js';
import { Sink } from './helpers/udp.js';
import { OPTION_NAMES, OPTIONS, type OptionName } from '../src/host/options.js';
import { resolveOptions } from '../src/host/resolve.js';

const BASE: NetconsoleOptions = { devices: 'none', env: false };
const CYCLES = Number(process.env.NETCONSOLE_CREATE_CYCLES ?? 1000);

async function rejects(opts: unknown, code: string, option?: string | RegExp): Promise<NetconsoleError> {
  let err: unknown;
  try {
    await (await Netconsole.create(opts as NetconsoleOptions)).close();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof NetconsoleError, `${JSON.stringify(opts)}: a NetconsoleError, got ${String(err)}`);
  assert.equal(err.code, code, `${JSON.stringify(opts)}: ${err.message}`);
  if (typeof option === 'string') assert.equal(err.option, option, err.message);
  if (option instanceof RegExp) assert.match(err.message, option);
  return err;
}

describe('the table of options (host/options.ts): names, defaults, README', () => {
  test("README's table of create() options lists exactly the table's names (lookup, for tests, aside)", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Options of `Netconsole.create`'));
    const rows = section
      .slice(0, section.indexOf('\n\n', section.indexOf('| ---')))
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    const named = rows.map((l) => /^\| `(\w+)`/.exec(l)![1]).sort();
    assert.deepEqual(named, OPTION_NAMES.filter((n) => n !== 'lookup').sort());
  });
  test('the NetconsoleOptions interface names exactly the options of the table (and tsc says so too)', () => {
    // At compile time: the table satisfies a type mapped over the interface's keys (host/options.ts),
    // and this line fails tsc when the two sets of names differ.
    const same: [keyof NetconsoleOptions] extends [OptionName]
      ? [OptionName] extends [keyof NetconsoleOptions]
        ? true
        : false
      : false = true;
    assert.equal(same, true);
    // At run time, from the source: the interface's properties, in its text.
    const src = readFileSync(new URL('../../src/host/options.ts', import.meta.url), 'utf8');
    const body = src.slice(
      src.indexOf('export interface NetconsoleOptions {'),
      src.indexOf('\n}\n', src.indexOf('export interface NetconsoleOptions {')),
    );
    const declared = [...body.matchAll(/^  (\w+)\?:/gm)].map((m) => m[1]).sort();
    assert.ok(declared.length >= 25, declared.join());
    assert.deepEqual(declared, [...OPTION_NAMES].sort());
  });
  test('every option of the table reaches what create() uses, under its name (nativeSender as nativeTuning)', async () => {
    const r = await resolveOptions({ env: false, devices: 'none' });
    for (const n of OPTION_NAMES) assert.ok((n === 'nativeSender' ? 'nativeTuning' : n) in r, n);
  });
  test('every option of the table refuses a value of no type it takes, naming itself (the table writes each name once)', async () => {
    for (const n of OPTION_NAMES) {
      const err = await resolveOptions({ env: false, devices: 'none', [n]: Symbol('x') } as NetconsoleOptions).then(
        () => null,
        (e: NetconsoleError) => e,
      );
      assert.ok(err instanceof NetconsoleError, n);
      assert.equal(err.code, 'EINVAL', n);
      assert.equal(err.option, n);
    }
  });
  test('create() with no options resolves to the defaults of the table', async () => {
    const r = (await resolveOptions({ env: false, devices: 'none' })) as unknown as Record<string, unknown>;
    const fixed = OPTION_NAMES.filter(
      (n) => OPTIONS[n].default !== undefined && !['nativeSender', 'devices', 'env'].includes(n),
    );
    assert.ok(fixed.length >= 15, fixed.join());
    for (const n of fixed) assert.deepEqual(r[n === 'sender' ? 'senderAsked' : n], OPTIONS[n].default, n);
  });
});

describe('options: type and range, each naming the option, the value and what is accepted', () => {
  const cases: Array<[string, unknown, string]> = [
    ['facility', 24, 'ERANGE'],
    ['facility', 1.5, 'EINVAL'],
    ['facility', '1', 'EINVAL'],
    ['ringSize', 1000, 'ERANGE'],
    ['ringSize', 3 << 16, 'EINVAL'],
    ['ringSize', 2 ** 29, 'ERANGE'],
    ['ringSize', '4M', 'EINVAL'],
    ['maxTotal', 0, 'ERANGE'],
    ['maxTotal', 2 ** 32 + 100, 'ERANGE'],
    ['maxTotal', NaN, 'EINVAL'],
    ['seqStart', 'abc', 'EINVAL'],
    ['seqStart', -1, 'ERANGE'],
    ['seqStart', 2 ** 60, 'ERANGE'],
    ['sender', 'fast', 'EINVAL'],
    ['mode', 'tcp', 'EINVAL'],
    ['devices', 'all', 'EINVAL'],
    ['pollIntervalMs', 0, 'ERANGE'],
    ['oopsOnly', 'no', 'EINVAL'],
    ['debug', 1, 'EINVAL'],
    ['env', 'false', 'EINVAL'],
    ['strict', 'yes', 'EINVAL'],
    ['reportLosses', 0, 'EINVAL'],
    ['signals', 'SIGTERM', 'EINVAL'],
    ['signals', ['SIGTERM', 'SIGKILL'], 'EINVAL'],
    ['signals', 0, 'EINVAL'],
    ['exitDrainMs', -1, 'ERANGE'],
    ['exitDrainMs', 60_001, 'ERANGE'],
    ['exitDrainMs', 1.5, 'EINVAL'],
    ['ackWaitMs', -1, 'ERANGE'],
    ['ackWaitMs', 60_001, 'ERANGE'],
    ['ackWaitMs', '2000', 'EINVAL'],
    ['overflow', 'block', 'EINVAL'],
    ['overflowWaitMs', -1, 'ERANGE'],
    ['overflowWaitMs', 1e9, 'ERANGE'],
    ['sendBufferBytes', 10, 'ERANGE'],
    ['control', '', 'EINVAL'],
    ['control', 5, 'EINVAL'],
    ['lookup', {}, 'EINVAL'],
    ['targets', 5, 'EINVAL'],
    ['targets', [5], 'EINVAL'],
    // Before: null fell through `??` to a config file's targets or the NETCONSOLE variable (not
    // given), where every other option refuses null (base/check.ts, the rule for "not given").
    ['targets', null, 'EINVAL'],
    ['facility', null, 'EINVAL'],
    ['config', 5, 'EINVAL'],
    ['nativeSender', { batch: 0 }, 'ERANGE'],
    ['nativeSender', { wake: 'never' }, 'EINVAL'],
    ['nativeSender', { btach: 1 }, 'EINVAL'],
  ];
  for (const [option, value, code] of cases) {
    test(`${option}: ${JSON.stringify(value) ?? String(value)} is ${code}`, async () => {
      const err = await rejects({ ...BASE, [option]: value }, code);
      assert.ok(err.option?.startsWith(option), `${err.option}: ${err.message}`);
      assert.ok(err.accepted, 'says what is accepted');
    });
  }
  test('an unknown option is refused, with the closest known name', async () => {
    await rejects(
      { ...BASE, ringsize: 1 << 20 },
      'EINVAL',
      /ringsize: unknown option in Netconsole.create\(\) \(did you mean 'ringSize'\?\)/,
    );
    await rejects({ ...BASE, overfow: 'drop' }, 'EINVAL', /did you mean 'overflow'/);
    await rejects({ ...BASE, color: true }, 'EINVAL', /color: unknown option.*accepted: one of targets/);
  });
  test('not an object: EINVAL', async () => {
    await rejects('targets', 'EINVAL', 'options');
    await rejects(null, 'EINVAL', 'options');
  });
  // Before: the getter's own Error came through as it was (no code, no option).
  test('an option whose read throws (a getter, a Proxy trap): EINVAL naming it, the thrown error as the cause', async () => {
    const boom = (): never => {
      throw new Error('boom');
    };
    const cases: Array<[string, unknown, string]> = [
      ['a getter', Object.defineProperty({ ...BASE }, 'facility', { enumerable: true, get: boom }), 'facility'],
      ['a Proxy whose ownKeys trap throws', new Proxy({}, { ownKeys: boom }), 'options'],
      ['a Proxy whose get trap throws', new Proxy({ ...BASE }, { get: boom }), 'devices'],
      [
        'a getter in nativeSender',
        {
          ...BASE,
          nativeSender: {
            get batch(): never {
              return boom();
            },
          },
        },
        'nativeSender.batch',
      ],
      [
        'a getter in a target',
        {
          ...BASE,
          targets: [
            {
              name: 't',
              get remote_port(): never {
                return boom();
              },
            },
          ],
        },
        'targets[0].remote_port',
      ],
      [
        'a getter in lookup',
        {
          ...BASE,
          lookup: {
            get getDevice(): never {
              return boom();
            },
          },
        },
        'lookup.getDevice',
      ],
    ];
    for (const [what, opts, option] of cases) {
      // Not rejects(): its messages print the options, which would run the getters.
      const err = await Netconsole.create(opts as NetconsoleOptions).then(
        (nc) => nc.close(),
        (e: unknown) => e,
      );
      assert.ok(err instanceof NetconsoleError, `${what}: a NetconsoleError, got ${String(err)}`);
      assert.deepEqual([err.code, err.option], ['EINVAL', option], `${what}: ${err.message}`);
      assert.match(err.message, /threw/, what);
      assert.equal((err.cause as Error).message, 'boom', what);
    }
  });
  test('each option is read once', async () => {
    let reads = 0;
    const opts = Object.defineProperty({ ...BASE }, 'facility', { enumerable: true, get: () => (reads++, 3) });
    await (await Netconsole.create(opts)).close();
    assert.equal(reads, 1);
  });
});

describe('config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netconsole-options-'));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  test('a missing file ENOENT, a directory EISDIR, bad JSON or not an object EINVAL', async () => {
    await rejects({ ...BASE, config: join(dir, 'nope.json') }, 'ENOENT', 'config');
    await rejects({ ...BASE, config: dir }, 'EISDIR', 'config');
    await rejects({ ...BASE, config: file('bad.json', '{') }, 'EINVAL', 'config');
    await rejects({ ...BASE, config: file('array.json', '[]') }, 'EINVAL', 'config');
  });
  test('an unknown option in a file is refused like one given directly', async () => {
    await rejects(
      { ...BASE, config: file('unknown.json', '{"ringsize": 65536}') },
      'EINVAL',
      /ringsize: unknown option in config file/,
    );
  });
  // Before: ENOSPC ("no space left on device") naming the kernel's parameter, `netconsole`.
  test('a 1 MiB parameter string in a file: EMSGSIZE naming targets, saying the limit', async () => {
    const err = await rejects(
      { ...BASE, config: file('big.json', JSON.stringify({ targets: `${'0'.repeat(1 << 20)}@/,6666@127.0.0.1/` })) },
      'EMSGSIZE',
      'targets',
    );
    assert.match(err.accepted!, /^at most 255 bytes/);
    assert.match(err.message, /1048594 bytes, longer than a parameter string can be/);
  });
  test('the NETCONSOLE variable over 255 bytes: EMSGSIZE naming NETCONSOLE, in startupErrors (not strict)', async () => {
    const saved = process.env.NETCONSOLE;
    process.env.NETCONSOLE = `${'0'.repeat(300)}@/,6666@127.0.0.1/`;
    try {
      const nc = await Netconsole.create({ devices: 'none' });
      await nc.close();
      assert.deepEqual(
        nc.startupErrors.map((e) => [e.code, e.option]),
        [['EMSGSIZE', 'NETCONSOLE']],
      );
    } finally {
      if (saved === undefined) delete process.env.NETCONSOLE;
      else process.env.NETCONSOLE = saved;
    }
  });
  test('a file is strict also when its targets are a parameter string: a bad piece rejects create()', async () => {
    await rejects(
      { ...BASE, config: file('strict.json', '{"targets": "@/,6666@127.0.0.1/;bad"}') },
      'EINVAL',
      /couldn't parse config at 'bad'/,
    );
  });
});

/** What this process holds: threads, descriptors, process listeners. */
function holdings(): { threads: number; fds: number; listeners: number } {
  const listeners = ['exit', 'beforeExit', 'uncaughtExceptionMonitor', 'warning', 'SIGTERM', 'SIGINT', 'SIGHUP'].reduce(
    (n, e) => n + process.listenerCount(e),
    0,
  );
  return { threads: readdirSync('/proc/self/task').length, fds: readdirSync('/proc/self/fd').length, listeners };
}

/** Waits for the native sender threads of closed instances to be gone (joined at close). */
async function settled(): Promise<ReturnType<typeof holdings>> {
  await new Promise((r) => setTimeout(r, 50));
  return holdings();
}

describe('a rejected create() leaves nothing behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netconsole-reject-'));
  const rejections: Array<[string, NetconsoleOptions, string]> = [
    ['a bad option (before anything exists)', { ...BASE, facility: 99 }, 'ERANGE'],
    [
      'a target that cannot come up (after the memory and the sender exist)',
      { ...BASE, targets: [{ name: 't', remote_ip: 'nope' }] },
      'EINVAL',
    ],
    [
      'a control socket that cannot listen (after the targets came up)',
      {
        ...BASE,
        targets: [{ name: 't', remote_ip: '127.0.0.1', local_port: 0, enabled: 1 }],
        control: join(dir, 'missing', 'ctl.sock'),
      },
      'ENOENT',
    ],
  ];
  for (const sender of SENDERS) {
    for (const [what, opts, code] of rejections) {
      test(`${sender} sender, 100 times ${what}: no thread, descriptor or listener more; no file`, async (t) => {
        if (!requireSender(t, sender)) return;
        const before = await settled();
        for (let i = 0; i < 100; i++) await rejects({ ...opts, sender }, code);
        const after = await settled();
        assert.deepEqual(after, before);
        assert.deepEqual(readdirSync(dir), [], 'no file left');
      });
    }
  }
});

describe('memory returned at close()', () => {
  test(`a create()/close() loop of ${CYCLES} runs in bounded address space, threads and descriptors`, async () => {
    const vm = (): number => Number(/VmSize:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
    const before = await settled();
    const vm0 = vm();
    for (let i = 0; i < CYCLES; i++) {
      const nc = await Netconsole.create({
        ...BASE,
        targets: [{ name: 't', remote_ip: '127.0.0.1', remote_port: 9, local_port: 0, enabled: 1 }],
      });
      nc.info('x');
      await nc.close();
    }
    const grew = vm() - vm0;
    // V8 reserves about 10 GiB of address space per WebAssembly memory until it is collected;
    // the pool reuses a closed Netconsole's memory, so the loop holds one or two of them.
    assert.ok(grew < 40 * 2 ** 30, `address space grew ${(grew / 2 ** 30).toFixed(1)} GiB over ${CYCLES} cycles`);
    assert.deepEqual(await settled(), before);
  });

  test("a closed Netconsole's handle stays dead: a worker attaching with it writes nothing, also after its memory is reused", async () => {
    const sink = await Sink.open();
    try {
      const old = await Netconsole.create({
        ...BASE,
        targets: [{ name: 't', remote_ip: '127.0.0.1', remote_port: sink.port, local_port: 0, enabled: 1 }],
      });
      const handle = old.handle();
      await old.close();
      const nc = await Netconsole.create({
        ...BASE,
        targets: [{ name: 't', remote_ip: '127.0.0.1', remote_port: sink.port, local_port: 0, enabled: 1 }],
      });
      try {
        assert.equal(nc.handle().core.memory, handle.core.memory, 'the memory was reused');
        const w = new Worker(new URL('./workers/overflow-writer.js', import.meta.url), {
          workerData: { handle, writer: 7, count: 50 },
        });
        const [m] = (await once(w, 'message')) as [{ offered: number }];
        assert.equal(m.offered, 0);
        nc.info('live');
        await nc.flush();
        await sink.waitFor((r) => r.data.toString().includes('live'));
        assert.ok(!sink.texts().some((x) => x.includes('w7 ')), 'nothing of the stale handle arrived');
        assert.equal(nc.stats().records, 1);
      } finally {
        await nc.close();
      }
    } finally {
      await sink.close();
    }
  });

  for (const sender of SENDERS) {
    test(`${sender} sender: flush() after close() resolves; a second close() is the first`, async (t) => {
      if (!requireSender(t, sender)) return;
      const nc = await Netconsole.create({ ...BASE, sender });
      const first = nc.close();
      assert.strictEqual(nc.close(), first);
      await first;
      await nc.flush();
      assert.equal(nc.info('after'), 0);
    });
  }
});
