// The control socket and `netconsole ctl`: every command end to end, refusal of a socket with
// the wrong permissions, and concurrent writers serialized by the configuration mutex.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { control } from '../src/control.js';
import { Netconsole } from '../src/netconsole.js';
import { Sink } from './helpers/udp.js';

const CLI = new URL('../src/cli.js', import.meta.url).pathname;
const run = promisify(execFile);

async function ctl(socket: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'ctl', '--socket', socket, ...args]);
    return { code: 0, out: stdout.trim(), err: stderr.trim() };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout.trim(), err: x.stderr.trim() };
  }
}

async function withControl(fn: (nc: Netconsole, socket: string, sink: Sink) => Promise<void>): Promise<void> {
  const socket = join(mkdtempSync(join(tmpdir(), 'nc-ctl-')), 'ctl.sock');
  const sink = await Sink.open();
  const nc = await Netconsole.create({ devices: 'none', env: false, control: socket });
  try {
    await fn(nc, socket, sink);
  } finally {
    await nc.close();
    await sink.close();
  }
}

describe('netconsole ctl', () => {
  test('ls, mkdir, set, get, userdata, rmdir end to end; errors are errno-coded on stderr with exit code 2', () =>
    withControl(async (nc, socket, sink) => {
      assert.equal((statSync(socket).mode & 0o777).toString(8), '600');
      assert.deepEqual(await ctl(socket, 'ls'), { code: 0, out: '', err: '' });
      assert.equal((await ctl(socket, 'mkdir', 't2')).code, 0);
      for (const [attr, value] of [['remote_ip', '127.0.0.1'], ['remote_port', String(sink.port)], ['local_port', '0'], ['extended', '1']]) {
        assert.equal((await ctl(socket, 'set', `t2/${attr}`, value)).code, 0, attr);
      }
      assert.equal((await ctl(socket, 'set', 't2/userdata/region', 'eu-west-1')).code, 0);
      assert.equal((await ctl(socket, 'set', 't2/enabled', '1')).code, 0);
      assert.deepEqual(await ctl(socket, 'get', 't2/enabled'), { code: 0, out: '1', err: '' });
      assert.equal((await ctl(socket, 'get', 't2/userdata/region')).out, 'eu-west-1');
      assert.match((await ctl(socket, 'ls', 't2/userdata')).out, /^region\ncpu_nr_enabled\n/);
      assert.match((await ctl(socket, 'ls', 't2')).out, /remote_ip/);
      assert.deepEqual((await ctl(socket, 'ls')).out, 't2');
      nc.info('configured through ctl');
      await nc.flush();
      await sink.until((g) => g.length === 1);
      assert.match(sink.texts()[0], /;configured through ctl\n region=eu-west-1\n$/);
      const locked = await ctl(socket, 'set', 't2/remote_port', '1');
      assert.equal(locked.code, 2);
      assert.match(locked.err, /EINVAL: .*target \(t2\) is enabled, disable to update parameters/);
      assert.match((await ctl(socket, 'get', 'nope/enabled')).err, /ENOENT/);
      assert.match((await ctl(socket, 'set', 't2/local_port', 'x')).err, /EINVAL/);
      assert.equal((await ctl(socket, 'rmdir', 't2/userdata/region')).code, 0);
      assert.equal((await ctl(socket, 'rmdir', 't2')).code, 0);
      assert.equal((await ctl(socket, 'ls')).out, '');
      assert.equal(nc.targets.get('t2'), undefined);
      assert.match((await ctl(socket, 'frobnicate')).err, /unknown operation/);
    }));

  test('a control socket with the wrong permissions is refused (EACCES) by the client', () =>
    withControl(async (_nc, socket) => {
      chmodSync(socket, 0o666);
      const r = await ctl(socket, 'ls');
      assert.equal(r.code, 2);
      assert.match(r.err, /EACCES: control socket .* mode 0600/);
      await assert.rejects(control(socket, { op: 'ls' }), (e: unknown) => (e as { code?: string }).code === 'EACCES');
      chmodSync(socket, 0o600);
      assert.equal((await ctl(socket, 'ls')).code, 0);
    }));

  test('concurrent writers are serialized by the configuration mutex', () =>
    withControl(async (nc, socket, sink) => {
      // 20 clients create the same target at once: exactly one succeeds.
      const mk = await Promise.all(Array.from({ length: 20 }, () => control(socket, { op: 'mkdir', path: 'c' })));
      assert.equal(mk.filter((r) => r.ok).length, 1);
      assert.ok(mk.filter((r) => !r.ok).every((r) => !r.ok && r.code === 'EEXIST'));
      for (const [p, v] of [['c/remote_ip', '127.0.0.1'], ['c/remote_port', String(sink.port)], ['c/local_port', '0']]) {
        assert.deepEqual(await control(socket, { op: 'set', path: p, value: v }), { ok: true });
      }
      // 20 clients enable it at once: one does; the others find it already enabled.
      const en = await Promise.all(Array.from({ length: 20 }, () => control(socket, { op: 'set', path: 'c/enabled', value: '1' })));
      assert.equal(en.filter((r) => r.ok).length, 1);
      // 50 userdata entries written concurrently: all present, in a consistent order.
      const ud = await Promise.all(Array.from({ length: 50 }, (_, i) => control(socket, { op: 'set', path: `c/userdata/k${i}`, value: `v${i}` })));
      assert.ok(ud.every((r) => r.ok));
      assert.equal(nc.targets.get('c')!.userdata.entries().length, 50);
      assert.equal(nc.lockChecker.violations, 0);
    }));
});
