// A target's send_msg (the kernel's write-only configfs attribute, net-next November 2025) and the
// heartbeat beyond it: a message to one target alone, in its format (basic lines; an extended
// record with the next seq, the target's userdata, level 4), through Target.send, Target.set and
// `netconsole ctl`; the heartbeat_ms/heartbeat_text attributes: beats while the target is enabled,
// none for the other targets, none once it is disabled, deactivated or removed, no timer left after
// close (a process with a heartbeat exits by itself).
//
// Nothing here is timed: counts are waited for with generous deadlines, and "nothing more came" is
// checked against a marker record sent to the same receiver after the fact (datagrams of one
// socket to one receiver arrive in the order they were sent), or against the table's timers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Netconsole } from '../src/host/netconsole.js';
import { ctl, socketPath, within } from './helpers/control.js';
import { Sink } from './helpers/udp.js';

const LO = 1;

interface Ext {
  prio: number;
  seq: number;
  text: string;
  dict: Record<string, string>;
}

/** An extended datagram (one, not a fragment) parsed: header, text, ` key=value` lines. */
function ext(data: Buffer): Ext {
  const m = /^(\d+),(\d+),(\d+),[-c];([^\n]*)\n((?: [^\n]*\n)*)$/.exec(data.toString('latin1'));
  assert.ok(m, `an extended datagram: ${JSON.stringify(data.toString('latin1'))}`);
  const dict: Record<string, string> = {};
  for (const line of m[5].split('\n').filter((l) => l !== ''))
    dict[line.slice(1, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  return { prio: Number(m[1]), seq: Number(m[2]), text: m[4], dict };
}

function target(sink: Sink, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { remote_ip: '127.0.0.1', remote_port: sink.port, local_port: 0, enabled: 1, ...over };
}

/** The heartbeat timers the table runs (a private map: checked so that no timer can be left). */
function heartbeats(nc: Netconsole): number {
  return (nc as unknown as { table: { heartbeats: Map<unknown, unknown> } }).table.heartbeats.size;
}

async function withNc(fn: (nc: Netconsole) => Promise<void>, opts: Record<string, unknown> = {}): Promise<void> {
  const nc = await Netconsole.create({ devices: 'none', env: false, targets: [], ...opts });
  try {
    await fn(nc);
  } finally {
    await within('nc.close()', nc.close());
  }
}

describe('send_msg', () => {
  test('extended: reaches its target alone (a second target on the same receiver sees nothing), with the next seq, level 4 and its userdata', async () => {
    const sink = await Sink.open();
    try {
      await withNc(async (nc) => {
        const a = await nc.targets.create('a', target(sink, { extended: 1, userdata: { who: 'a' } }));
        await nc.targets.create('b', target(sink, { extended: 1, userdata: { who: 'b' } }));
        nc.info('before');
        a.send('hello a\n'); // one trailing newline trimmed, as a configfs store sees `echo`
        a.send('at info', { level: 'info' });
        nc.info('after');
        await nc.flush();
        await sink.until((g) => g.length >= 6);
        const got = sink.got.map((g) => ext(g.data));
        assert.equal(got.length, 6, JSON.stringify(got));
        const toA = got.filter((r) => r.dict.who === 'a');
        const toB = got.filter((r) => r.dict.who === 'b');
        assert.deepEqual(
          toA.map((r) => r.text),
          ['before', 'hello a', 'at info', 'after'],
        );
        assert.deepEqual(
          toB.map((r) => r.text),
          ['before', 'after'],
          "b saw nothing of a's messages",
        );
        const before = toA[0].seq;
        assert.deepEqual(
          toA.map((r) => r.seq),
          [before, before + 1, before + 2, before + 3],
          'each message takes the next seq',
        );
        assert.deepEqual(
          toB.map((r) => r.seq),
          [before, before + 3],
          'b sees the seqs it did not get missing',
        );
        assert.equal(toA[1].prio, 1 * 8 + 4, 'facility user, level 4 (warning) by default');
        assert.equal(toA[2].prio, 1 * 8 + 6, 'the level asked for');
        const [sa, sb] = nc.stats().targets;
        assert.equal(sa.sent, 4, "counted in its target's stats");
        assert.equal(sb.sent, 2);
      });
    } finally {
      await sink.close();
    }
  });

  test("basic: the text as console lines, to its receiver alone; set('send_msg', ...) does the same", async () => {
    const one = await Sink.open();
    const two = await Sink.open();
    try {
      await withNc(async (nc) => {
        const c = await nc.targets.create('c', target(one, { timestamps: 0 }));
        await nc.targets.create('d', target(two, { timestamps: 0 }));
        c.send('two\nlines');
        await c.set('send_msg', 'through set\n');
        nc.info('marker');
        await nc.flush();
        await one.until((g) => g.length >= 3);
        await two.until((g) => g.length >= 1);
        assert.deepEqual(one.texts(), ['two\nlines\n', 'through set\n', 'marker\n']);
        assert.deepEqual(two.texts(), ['marker\n'], 'the other target got the marker only: nothing before it');
      });
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('refused as the kernel refuses it: disabled or device not running EINVAL, removed ENOENT, a read EACCES; not a setting; closed ESHUTDOWN', async () => {
    const sink = await Sink.open();
    try {
      await withNc(async (nc) => {
        const t = await nc.targets.create('t', target(sink, { enabled: 0 }));
        assert.throws(
          () => t.send('x'),
          (e: NodeJS.ErrnoException) => e.code === 'EINVAL' && /is disabled, not enabled/.test(e.message),
        );
        await assert.rejects(t.set('send_msg', 'x'), { code: 'EINVAL' });
        assert.throws(() => t.get('send_msg' as never), { code: 'EACCES' });
        await assert.rejects(nc.targets.create('u', { send_msg: 'x' } as never), { code: 'EINVAL' });
        assert.equal(nc.targets.get('u'), undefined);
        await t.enable();
        assert.throws(() => t.send('x', { level: 9 as never }), { code: 'ERANGE' });
        assert.throws(() => t.send(42 as never), { code: 'EINVAL' });
        await nc.deviceEvent({ type: 'down', name: 'lo', ifindex: LO });
        assert.throws(
          () => t.send('x'),
          (e: NodeJS.ErrnoException) => e.code === 'EINVAL' && /not running/.test(e.message),
        );
        await nc.deviceEvent({ type: 'up', name: 'lo', ifindex: LO });
        t.send('ok');
        await nc.flush();
        await sink.until((g) => g.length >= 1);
        assert.match(sink.texts()[0], /ok\n$/);
        assert.equal(nc.stats().targets[0].skipped, 0, 'a refused send is not a loss');
        await t.remove();
        assert.throws(() => t.send('x'), { code: 'ENOENT' });
        const v = await nc.targets.create('v', target(sink));
        void nc.close();
        assert.throws(() => v.send('x'), { code: 'ESHUTDOWN' });
      });
      assert.equal(sink.got.length, 1);
    } finally {
      await sink.close();
    }
  });

  test('netconsole ctl: set <target>/send_msg sends to that target alone; get is EACCES; ls lists it', async () => {
    const one = await Sink.open();
    const two = await Sink.open();
    const socket = socketPath();
    try {
      await withNc(
        async (nc) => {
          await nc.targets.create('t1', target(one, { extended: 1 }));
          await nc.targets.create('t2', target(two, { extended: 1 }));
          assert.deepEqual(await ctl(socket, ['set', 't1/send_msg', 'via ctl']), { code: 0, out: '', err: '' });
          const read = await ctl(socket, ['get', 't1/send_msg']);
          assert.equal(read.code, 2);
          assert.match(read.err, /EACCES: send_msg: write-only attribute/);
          const ls = (await ctl(socket, ['ls', 't1'])).out.split('\n');
          for (const name of ['send_msg', 'heartbeat_ms', 'heartbeat_text']) assert.ok(ls.includes(name), name);
          assert.match((await ctl(socket, ['set', 't1/heartbeat_ms', '5'])).err, /ERANGE/);
          nc.info('marker');
          await nc.flush();
          await one.until((g) => g.length >= 2);
          await two.until((g) => g.length >= 1);
          assert.deepEqual(
            one.got.map((g) => ext(g.data).text),
            ['via ctl', 'marker'],
          );
          assert.deepEqual(
            two.got.map((g) => ext(g.data).text),
            ['marker'],
          );
        },
        { control: socket },
      );
    } finally {
      await one.close();
      await two.close();
    }
  });
});

describe('heartbeat (heartbeat_ms, heartbeat_text: beyond the kernel)', () => {
  test('beats to its target alone while it is enabled; stops when it is disabled, deactivated, removed', async () => {
    const sink = await Sink.open();
    const other = await Sink.open();
    try {
      await withNc(async (nc) => {
        const t = await nc.targets.create(
          'hb',
          target(sink, { extended: 1, heartbeat_ms: 100, heartbeat_text: 'alive\n' }),
        );
        await nc.targets.create('quiet', target(other, { extended: 1 }));
        assert.equal(t.get('heartbeat_ms'), '100');
        assert.equal(t.get('heartbeat_text'), 'alive');
        // At least 5 beats: 500 ms of intervals, given 20 s on a busy machine.
        await sink.until((g) => g.length >= 5, 20_000);
        const beats = sink.got.map((g) => ext(g.data));
        assert.ok(
          beats.every((b) => b.text === 'alive' && b.prio === 12),
          JSON.stringify(beats),
        );
        nc.info('marker');
        await nc.flush();
        await other.until((g) => g.length >= 1);
        assert.deepEqual(
          other.texts().map((x) => ext(Buffer.from(x, 'latin1')).text),
          ['marker'],
          'no beat reached the other target',
        );

        // Disabled: no timer, and nothing after a marker logged once the disable is done.
        await t.disable();
        assert.equal(heartbeats(nc), 0);
        const atDisable = sink.got.length;
        await t.enable();
        await sink.until((g) => g.length >= atDisable + 2, 20_000); // beats again once enabled
        // A new interval and text apply at once.
        await t.set('heartbeat_text', 'still here');
        await t.set('heartbeat_ms', 200);
        await sink.waitFor((g) => g.data.includes('still here'), 20_000);
        assert.equal(heartbeats(nc), 1);

        // Deactivated by its device's unregister: no timer; it resumes with the device.
        await nc.deviceEvent({ type: 'unregister', name: 'lo', ifindex: LO });
        assert.equal(t.state, 'deactivated');
        assert.equal(heartbeats(nc), 0);

        await t.set('heartbeat_ms', 0);
        await t.set('enabled', 1);
        assert.equal(heartbeats(nc), 0, 'heartbeat_ms 0: none');
        await t.set('heartbeat_ms', 100);
        assert.equal(heartbeats(nc), 1);
        await t.remove();
        assert.equal(heartbeats(nc), 0);
        // After the remove: a marker through another target on the same receiver comes last.
        const atRemove = sink.got.length;
        await nc.targets.create('last', target(sink, { extended: 1 }));
        await new Promise((r) => setTimeout(r, 300)); // three intervals of the removed heartbeat
        nc.info('end');
        await nc.flush();
        await sink.waitFor((g) => g.data.includes(';end\n'));
        assert.equal(sink.got.length, atRemove + 1, 'no beat after the remove');
      });
    } finally {
      await sink.close();
      await other.close();
    }
  });

  test('out-of-range or empty values are refused, and changing them while enabled is allowed', async () => {
    await withNc(async (nc) => {
      const t = await nc.targets.create('t', { remote_ip: '127.0.0.1' });
      await assert.rejects(t.set('heartbeat_ms', 99), { code: 'ERANGE' });
      await assert.rejects(t.set('heartbeat_ms', 2 ** 31), { code: 'ERANGE' });
      await assert.rejects(t.set('heartbeat_ms', '-1'), { code: 'EINVAL' });
      await assert.rejects(t.set('heartbeat_text', '\n'), { code: 'EINVAL' });
      await assert.rejects(t.set('heartbeat_text', 'x'.repeat(4096)), { code: 'EMSGSIZE' });
      await t.set('heartbeat_ms', '1000\n');
      assert.equal(t.get('heartbeat_ms'), '1000');
      assert.equal(heartbeats(nc), 0, 'not enabled: no timer');
    });
  });

  test("a process with a heartbeat target exits by itself, closed or not (the timer is unref'd and cleared)", async () => {
    const sink = await Sink.open();
    try {
      const lib = new URL('../src/index.js', import.meta.url).href;
      for (const close of [true, false]) {
        const before = sink.got.length;
        const code = `
          import { Netconsole } from ${JSON.stringify(lib)};
          const nc = await Netconsole.create({ devices: 'none', env: false, targets: [{ remote_ip: '127.0.0.1', remote_port: ${sink.port}, local_port: 0, enabled: 1, heartbeat_ms: 100, heartbeat_text: 'child alive' }] });
          while (nc.stats().targets[0].sent < 2) await new Promise((r) => setTimeout(r, 20));
          ${close ? 'await nc.close(); console.log(nc.targets.list().length, nc["table"].heartbeats.size);' : ''}
        `;
        const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        const [status, signal] = await once(child, 'exit');
        clearTimeout(killer);
        assert.deepEqual([status, signal], [0, null], `the child exited by itself (close: ${close})`);
        if (close) assert.equal(out.trim(), '1 0', 'no heartbeat timer after close');
        await sink.until((g) => g.length > before, 5000);
        assert.match(sink.got[sink.got.length - 1].data.toString(), /child alive\n$/);
      }
    } finally {
      await sink.close();
    }
  });
});
