// The public API end to end on loopback: configuration sources, targets with configfs semantics,
// the log call's inputs, flush/stats/close, workers, and the device-event table (injected events).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Netconsole, NetconsoleError, type NetconsoleOptions, type Target } from '../src/index.js';
import { Sink } from './helpers/udp.js';
import { withSinkNetconsole } from './helpers/netconsole.js';

const LO = Number(readFileSync('/sys/class/net/lo/ifindex', 'utf8'));
const ATTRS = [
  'enabled',
  'extended',
  'timestamps',
  'release',
  'dev_name',
  'local_port',
  'remote_port',
  'local_ip',
  'remote_ip',
  'remote_mac',
  'local_mac',
] as const;

const withNc = (opts: NetconsoleOptions, fn: (nc: Netconsole, sink: Sink) => Promise<void>): Promise<void> =>
  withSinkNetconsole(opts, fn);

function snapshot(t: Target): Record<string, string> {
  return Object.fromEntries([
    ...ATTRS.map((a) => [a, t.get(a)]),
    ['state', t.state],
    ['userdata', JSON.stringify(t.userdata.entries())],
  ]);
}

async function rejects(code: string, p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof NetconsoleError && e.code === code);
}

describe('configuration sources', () => {
  test('a parameter string: targets cmdline0, cmdline1 come up; a bad piece is reported and skipped', async () => {
    const sink = await Sink.open();
    const nc = await Netconsole.create({
      devices: 'none',
      targets: `+@/,${sink.port}@127.0.0.1/;bad;@/,${sink.port}@127.0.0.1/`,
    });
    try {
      assert.deepEqual(
        nc.targets.list().map((t) => [t.name, t.state, t.get('extended')]),
        [
          ['cmdline0', 'enabled', '1'],
          ['cmdline1', 'enabled', '0'],
        ],
      );
      assert.equal(nc.startupErrors.length, 1);
      assert.equal(nc.startupErrors[0].code, 'EINVAL');
      assert.match(nc.startupErrors[0].message, /couldn't parse config at 'bad'/);
    } finally {
      await nc.close();
      await sink.close();
    }
  });

  test('the NETCONSOLE environment variable, when no targets are given', async () => {
    const sink = await Sink.open();
    process.env.NETCONSOLE = `@/,${sink.port}@127.0.0.1/`;
    try {
      const nc = await Netconsole.create({ devices: 'none' });
      assert.equal(nc.targets.get('cmdline0')?.state, 'enabled');
      await nc.close();
      const off = await Netconsole.create({ devices: 'none', env: false });
      assert.equal(off.targets.list().length, 0);
      await off.close();
    } finally {
      delete process.env.NETCONSOLE;
      await sink.close();
    }
  });

  test('a JSON config file with targets and options; a missing or bad file rejects', async () => {
    const sink = await Sink.open();
    const dir = mkdtempSync(join(tmpdir(), 'nc-'));
    const file = join(dir, 'netconsole.json');
    writeFileSync(
      file,
      JSON.stringify({
        facility: 3,
        targets: [
          { name: 'fromfile', remote_ip: '127.0.0.1', remote_port: sink.port, local_port: 0, extended: 1, enabled: 1 },
        ],
      }),
    );
    try {
      const nc = await Netconsole.create({ devices: 'none', config: file });
      nc.info('from a config file');
      await nc.flush();
      await sink.until((g) => g.length === 1);
      assert.match(sink.texts()[0], /^30,\d+,\d+,-;from a config file\n$/, 'facility 3, level 6: prio 30');
      await nc.close();
      await rejects('ENOENT', Netconsole.create({ devices: 'none', config: join(dir, 'missing.json') }));
      writeFileSync(file, '{ not json');
      await rejects('EINVAL', Netconsole.create({ devices: 'none', config: file }));
    } finally {
      await sink.close();
    }
  });

  test('an array of targets is strict: a bad attribute rejects create() and leaves nothing open', async () => {
    await rejects(
      'ERANGE',
      Netconsole.create({
        devices: 'none',
        env: false,
        targets: [{ name: 'x', remote_ip: '127.0.0.1', remote_port: 70000, enabled: 1 }],
      }),
    );
    await rejects(
      'EDESTADDRREQ',
      Netconsole.create({ devices: 'none', env: false, targets: [{ name: 'x', enabled: 1 }] }),
    );
  });
});

describe('targets: configfs semantics through the API', () => {
  test('create, get, set, enable, disable, remove; names are unique; a removed target is gone', () =>
    withNc({}, async (nc, sink) => {
      const t = await nc.targets.create('t1', { remote_ip: '::1', extended: 1 });
      assert.equal(t.state, 'disabled');
      assert.equal(t.get('remote_ip'), '::1');
      await t.set('remote_ip', '127.0.0.1');
      await t.set('remote_port', String(sink.port));
      await t.set('local_port', 0);
      await t.enable();
      assert.equal(t.get('enabled'), '1');
      assert.equal(t.get('local_mac'), '00:00:00:00:00:00', 'the MAC of lo, the device of the route');
      assert.equal(t.device, 'lo');
      await rejects('EEXIST', nc.targets.create('t1'));
      await rejects('EINVAL', t.enable());
      await t.disable();
      await rejects('EINVAL', t.disable());
      await t.remove();
      assert.equal(nc.targets.get('t1'), undefined);
      await rejects('ENOENT', t.set('extended', 0));
    }));

  const rejected: Array<[string, string, string | number, string]> = [
    ['a locked attribute while enabled', 'remote_port', 1234, 'EINVAL'],
    ['extended while enabled', 'extended', 0, 'EINVAL'],
    ['a bad port', 'local_port', 'x1', 'EINVAL'],
    ['a port out of range', 'local_port', 65536, 'EINVAL'],
    ['a read-only attribute', 'local_mac', '02:00:00:00:00:01', 'EACCES'],
    ['an unknown attribute', 'nonsense', 1, 'ENOENT'],
    ['a bad boolean', 'timestamps', 'maybe', 'EINVAL'],
  ];
  for (const [name, attr, value, code] of rejected) {
    test(`a rejected write leaves the target exactly as it was: ${name} (${attr}=${value}) -> ${code}`, () =>
      withNc({}, async (nc, sink) => {
        const t = await nc.targets.create('t', {
          remote_ip: '127.0.0.1',
          remote_port: sink.port,
          local_port: 0,
          enabled: 1,
          userdata: { k: 'v' },
        });
        const before = snapshot(t);
        await assert.rejects(
          t.set(attr as never, value as never), // names the types refuse too: the run-time check
          (e: unknown) =>
            e instanceof NetconsoleError && (e.code === code || (code === 'EINVAL' && e.code === 'ERANGE')),
        );
        assert.deepEqual(snapshot(t), before);
      }));
  }

  test('userdata entries and sysdata toggles through userdata.set, visible in the next message', () =>
    withNc({}, async (nc, sink) => {
      const t = await nc.targets.create('u', {
        remote_ip: '127.0.0.1',
        remote_port: sink.port,
        local_port: 0,
        extended: 1,
        enabled: 1,
      });
      await t.userdata.set('region', 'eu-west-1\n');
      await t.userdata.set('msgid_enabled', 1);
      assert.equal(t.userdata.get('region'), 'eu-west-1');
      assert.equal(t.userdata.get('msgid_enabled'), '1');
      nc.info('one');
      await t.userdata.delete('region');
      await rejects('ENOENT', t.userdata.delete('region'));
      await rejects('ENAMETOOLONG', t.userdata.set('k'.repeat(54), 'v'));
      await rejects('EMSGSIZE', t.userdata.set('k', 'v'.repeat(200)));
      nc.info('two');
      await nc.flush();
      await sink.until((g) => g.length === 2);
      assert.match(sink.texts()[0], /;one\n region=eu-west-1\n msgid=1\n$/);
      assert.match(sink.texts()[1], /;two\n msgid=2\n$/);
    }));
});

describe('the log call', () => {
  test('levels by name and number, facility, Buffers, Errors with their stack, dict and cont (write)', () =>
    withNc({ facility: 0, throwOnLogError: true }, async (nc, sink) => {
      await nc.targets.create('e', {
        remote_ip: '127.0.0.1',
        remote_port: sink.port,
        local_port: 0,
        extended: 1,
        enabled: 1,
      });
      nc.emerg('e0');
      nc.debug('d7');
      nc.log(4, 'n4');
      nc.write('warn', 'w4', { facility: 23 });
      nc.info(Buffer.from('bytes \xff', 'latin1'));
      nc.err(new Error('kaput'));
      nc.write('notice', 'part', { cont: true, dict: { SUBSYSTEM: 'x' } });
      assert.throws(
        () => nc.log('loud' as never, 'x'),
        (e: unknown) => e instanceof NetconsoleError && e.code === 'EINVAL',
      );
      assert.throws(
        () => nc.log(8 as never, 'x'),
        (e: unknown) => e instanceof NetconsoleError && e.code === 'ERANGE',
      );
      await nc.flush();
      await sink.until((g) => g.length === 7);
      const d = sink.texts();
      assert.match(d[0], /^0,\d+,\d+,-;e0\n$/);
      assert.match(d[1], /^7,/);
      assert.match(d[2], /^4,/);
      assert.match(d[3], /^188,/, 'facility 23 * 8 + 4');
      assert.match(d[4], /;bytes \\xff\n$/);
      assert.match(d[5], /^3,\d+,\d+,-;Error: kaput\\x0a    at /);
      assert.match(d[6], /^5,\d+,\d+,c;part\n SUBSYSTEM=x\n$/);
      const seqs = d.map((x) => BigInt(x.split(',')[1]));
      for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1n, 'seq increases by one per record');
    }));

  test('records from a worker arrive; a worker terminated while logging does not wedge the others, and its slot is freed', () =>
    withNc({}, async (nc, sink) => {
      const url = new URL('../src/faces/demo-worker.js', import.meta.url);
      // The victim logs flat out (no target yet: nothing to flood the sink with) and is killed
      // mid-write, possibly holding the spinlock.
      const victim = new Worker(url, { workerData: { handle: nc.handle(), count: 1e9 } });
      nc.watchWorker(victim);
      await new Promise((r) => setTimeout(r, 100));
      await victim.terminate();
      await nc.targets.create('w', {
        remote_ip: '127.0.0.1',
        remote_port: sink.port,
        local_port: 0,
        enabled: 1,
        timestamps: 0,
      });
      const ok = new Worker(url, { workerData: { handle: nc.handle(), count: 500 } });
      const [msg] = (await once(ok, 'message')) as [{ count: number }];
      assert.equal(msg.count, 500);
      nc.info('main still logs');
      await nc.flush();
      await sink.until((g) => g.some((x) => x.data.toString() === 'main still logs\n'), 10_000);
      assert.ok(
        sink.texts().filter((x) => /^worker \d+ message \d+\n$/.test(x)).length === 500,
        "the second worker's records arrived",
      );
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(nc.stats().threads, 1, 'only the host thread still holds a slot');
      nc.info('the lock is free');
    }));
});

describe('text longer than a record can carry', () => {
  test('is cut to 64 KiB and counted in stats().textCut (strings and bytes)', () =>
    withNc({}, async (nc, sink) => {
      await nc.targets.create('big', {
        remote_ip: '127.0.0.1',
        remote_port: sink.port,
        local_port: 0,
        timestamps: 0,
        enabled: 1,
      });
      nc.info('y'.repeat(70_000));
      nc.info(new Uint8Array(70_000).fill(0x7a));
      nc.info('fits');
      assert.equal(nc.stats().textCut, 2);
      await nc.flush();
      await sink.until((g) => g.some((x) => x.data.toString() === 'fits\n'));
      const ys = sink
        .texts()
        .filter((x) => x.startsWith('y'))
        .join('');
      assert.equal(ys.length, 64 * 1024 + 1, 'the first 64 KiB and the newline');
    }));
});

describe('device events (injected): the table of docs/targets.md 4', () => {
  const target = (port: number) => ({
    remote_ip: '127.0.0.1',
    remote_port: port,
    local_port: 0,
    dev_name: 'lo',
    enabled: 1,
  });

  test('admin down: no state change, messages skipped, counted and reported in-band; up: sent again', () =>
    withNc({}, async (nc, sink) => {
      const t = await nc.targets.create('d', target(sink.port));
      await nc.deviceEvent({ type: 'down', name: 'lo', ifindex: LO });
      nc.info('skipped');
      nc.info('skipped too');
      assert.equal(t.state, 'enabled');
      await nc.deviceEvent({ type: 'up', name: 'lo', ifindex: LO });
      nc.info('sent');
      await nc.flush();
      await sink.until((g) => g.length === 2);
      assert.match(sink.texts()[0], /\] \*\* 2 messages dropped \*\*\n$/);
      assert.match(sink.texts()[1], /\] sent\n$/);
      const s = nc.stats().targets[0];
      assert.deepEqual([s.skipped, s.lost, s.reported, s.sent], [2, 2, 2, 1]);
    }));

  test('unregister: DEACTIVATED and cleaned up; register of the same name: resumed (ENABLED)', () =>
    withNc({}, async (nc, sink) => {
      const t = await nc.targets.create('r', target(sink.port));
      const events: string[] = [];
      nc.events.on('target', (e: { state: string; reason?: string }) => events.push(`${e.state}:${e.reason ?? ''}`));
      await nc.deviceEvent({ type: 'unregister', name: 'lo', ifindex: LO });
      assert.equal(t.state, 'deactivated');
      nc.info('lost: deactivated');
      await nc.deviceEvent({ type: 'register', name: 'lo', ifindex: LO });
      assert.equal(t.state, 'enabled');
      nc.info('after resume');
      await nc.flush();
      await sink.until((g) => g.length === 1);
      assert.match(sink.texts()[0], /after resume\n$/);
      assert.deepEqual(events, ['deactivated:unregister', 'enabled:resumed']);
    }));

  test('enslave: DISABLED, cleaned up, not resumed by a later release or register', () =>
    withNc({}, async (nc, sink) => {
      const t = await nc.targets.create('s', target(sink.port));
      await nc.deviceEvent({ type: 'enslave', name: 'lo', ifindex: LO, master: 'br0' });
      assert.equal(t.state, 'disabled');
      await nc.deviceEvent({ type: 'release', name: 'lo', ifindex: LO });
      await nc.deviceEvent({ type: 'register', name: 'lo', ifindex: LO });
      assert.equal(t.state, 'disabled');
    }));

  test('rename: dev_name follows the new name', () =>
    withNc({}, async (nc, sink) => {
      const t = await nc.targets.create('n', target(sink.port));
      await nc.deviceEvent({ type: 'rename', name: 'lo2', oldName: 'lo', ifindex: LO });
      assert.equal(t.get('dev_name'), 'lo2');
      assert.equal(t.state, 'enabled');
    }));

  test('one event moves every affected target in one step; unaffected targets keep sending', () =>
    withNc({}, async (nc, sink) => {
      const names = ['a', 'b', 'c'];
      for (const n of names) await nc.targets.create(n, target(sink.port));
      const other = await nc.targets.create('other', {
        remote_ip: '127.0.0.1',
        remote_port: sink.port,
        local_port: 0,
        enabled: 1,
      });
      await nc.deviceEvent({ type: 'unregister', name: 'lo', ifindex: LO + 1000 });
      assert.ok(
        names.every((n) => nc.targets.get(n)!.state === 'enabled'),
        'another device: nothing changes',
      );
      await nc.deviceEvent({ type: 'unregister', name: 'lo', ifindex: LO });
      assert.deepEqual(
        names.map((n) => nc.targets.get(n)!.state),
        ['deactivated', 'deactivated', 'deactivated'],
      );
      assert.equal(other.state, 'deactivated', 'bound to lo by its route');
    }));
});
