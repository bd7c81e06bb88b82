// The invariants of docs/locking.md, each with a test that fails if it breaks.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncResource } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { LockOrderError } from '../src/base/errors.js';
import { HostLocks } from '../src/host/locks.js';
import { Netconsole } from '../src/host/netconsole.js';
import * as sysfs from '../src/netdev/sysfs.js';
import type { DeviceLookup } from '../src/host/target-table.js';
import { requireSender } from './helpers/requires.js';
import { Marker, Sink } from './helpers/udp.js';

const LO = Number(readFileSync('/sys/class/net/lo/ifindex', 'utf8'));
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('invariant 1: no datagram for a target after its disable() or remove() resolved', () => {
  for (const [how, sender] of [
    ['disable', 'native'],
    ['remove', 'native'],
    ['disable', 'dgram'],
    ['remove', 'dgram'],
  ] as const) {
    test(`${how}, ${sender} sender: 25 cycles under continuous logging; a marker sent after ${how} resolves is never followed by the target's datagrams`, async (t) => {
      if (!requireSender(t, sender)) return;
      const sink = await Sink.open();
      const marker = await Marker.open();
      const nc = await Netconsole.create({ devices: 'none', sender });
      let stop = false;
      // Continuous logging, interleaved with the host's work on the same event loop.
      // Continuous logging at a bounded rate (about 10 records per millisecond): a receiver that
      // overflowed would lose markers too (and its drops are asserted 0 below).
      const logging = (async () => {
        for (let i = 0; !stop; i++) {
          for (let k = 0; k < 10; k++) nc.info(`record ${i}.${k}`);
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      try {
        for (let cycle = 0; cycle < 25; cycle++) {
          await marker.send(sink, `ENABLING ${cycle}`);
          const tg = await nc.targets.create(`t${cycle}`, {
            remote_ip: '127.0.0.1',
            remote_port: sink.port,
            local_port: 0,
            enabled: 1,
          });
          await new Promise((r) => setTimeout(r, 5));
          for (let k = 0; k < 200; k++) nc.info(`burst ${cycle}.${k}`); // a backlog in the ring at the cut
          await (how === 'disable' ? tg.disable() : tg.remove());
          await marker.send(sink, `OFF ${cycle}`);
          await sink.waitFor((g) => g.from === marker.port && g.data.toString() === `OFF ${cycle}`, 20_000);
          if (how === 'disable') await tg.remove();
        }
        await marker.send(sink, 'END');
        await sink.waitFor((g) => g.from === marker.port && g.data.toString() === 'END', 20_000);
        let off = false;
        let violations = 0;
        let delivered = 0;
        for (const g of sink.got) {
          const s = g.data.toString();
          if (g.from === marker.port) off = s.startsWith('OFF');
          else if (off) violations++;
          else delivered++;
        }
        assert.ok(delivered > 25, `the targets did send (${delivered} datagrams)`);
        assert.equal(sink.drops(), 0, 'the kernel dropped nothing at the receiver (markers are reliable)');
        assert.equal(violations, 0, 'datagrams after disable/remove resolved');
        assert.equal(nc.stats().senderDiscarded, 0, 'nothing written before the disable was discarded');
      } finally {
        stop = true;
        await logging;
        await nc.close();
        await marker.close();
        await sink.close();
      }
    });
  }
});

describe('invariant 3: a target being enabled cannot be cleaned up by a device event before it is marked enabled', () => {
  test('an unregister event fired in the middle of setup is applied after the enable: the target ends DEACTIVATED, its socket closed', async () => {
    const sink = await Sink.open();
    let fire: (() => void) | null = null;
    const lookup: DeviceLookup = {
      ...sysfs,
      getDevice(name) {
        const d = sysfs.getDevice(name);
        if (fire) queueMicrotask(fire); // the event arrives while setup is under way (socket bind pending)
        return d;
      },
    };
    const nc = await Netconsole.create({ devices: 'none', lookup });
    const order: string[] = [];
    nc.events.on('target', (e: { name: string; state: string }) => order.push(`${e.name}:${e.state}`));
    try {
      const t = await nc.targets.create('race', {
        remote_ip: '127.0.0.1',
        remote_port: sink.port,
        local_port: 0,
        dev_name: 'lo',
      });
      let event!: Promise<void>;
      // Bound to this (lock-free) context: a device event comes from the poller's timer, never from
      // inside the enable's own async context (where taking rtnl again would be a real deadlock).
      fire = AsyncResource.bind(() => {
        fire = null;
        event = nc.deviceEvent({ type: 'unregister', name: 'lo', ifindex: LO });
      });
      await t.enable();
      await event;
      assert.deepEqual(order, ['race:enabled', 'race:deactivated'], 'enable completed before the event was applied');
      assert.equal(t.state, 'deactivated');
      nc.info('not sent: the target is deactivated');
      await nc.flush();
      assert.equal(nc.stats().targets[0].sent, 0);
    } finally {
      await nc.close();
      await sink.close();
    }
  });
});

describe('invariant 4: the lock-order checker throws on any acquisition against config -> rtnl -> cleanup -> spinlock', () => {
  const cases: Array<[string, (l: HostLocks) => Promise<unknown>]> = [
    ['config inside rtnl', (l) => l.rtnl.run(() => l.config.run(() => 0))],
    ['config inside cleanup', (l) => l.cleanup.run(() => l.config.run(() => 0))],
    ['rtnl inside cleanup', (l) => l.cleanup.run(() => l.rtnl.run(() => 0))],
    ['rtnl inside rtnl (self-deadlock)', (l) => l.rtnl.run(() => l.rtnl.run(() => 0))],
    ['cleanup inside cleanup (self-deadlock)', (l) => l.cleanup.run(() => l.cleanup.run(() => 0))],
    ['a mutex inside the spinlock', (l) => l.spin(() => l.cleanup.run(() => 0))],
    ['an await under the spinlock', async (l) => l.spin(async () => tick())],
    // The checker's storage is off between operations (locks-cost.test.ts): on again, it still sees.
    [
      'config inside rtnl, after an earlier operation ended',
      async (l) => {
        await l.config.run(() => l.rtnl.run(() => 0));
        await l.rtnl.run(async () => {
          await tick();
          await l.config.run(() => 0);
        });
      },
    ],
    [
      'config inside rtnl after an await',
      (l) =>
        l.rtnl.run(async () => {
          await tick();
          await l.config.run(() => 0);
        }),
    ],
  ];
  for (const [name, fn] of cases) {
    test(`${name} -> LockOrderError (EDEADLK)`, async () => {
      const locks = new HostLocks();
      await assert.rejects(
        async () => fn(locks),
        (e: unknown) => e instanceof LockOrderError && e.code === 'EDEADLK',
      );
      assert.ok(locks.checker.violations >= 1);
      // The locks are usable afterwards (released on the error).
      await locks.config.run(() => locks.rtnl.run(() => locks.cleanup.run(() => locks.spin(() => 1))));
    });
  }
  test("the orders the design uses are accepted, and concurrent operations do not see each other's locks", async () => {
    const locks = new HostLocks();
    await Promise.all([
      locks.config.run(() => locks.rtnl.run(async () => locks.spin(() => 1))),
      locks.config.run(() => locks.cleanup.run(() => locks.spin(() => 1))),
      locks.rtnl.run(() => locks.cleanup.run(async () => locks.spin(() => 1))),
      locks.cleanup.run(() => 1),
    ]);
    assert.equal(locks.checker.violations, 0);
  });
});

describe('invariants 6 and 7: whole messages or none; a full ring drops and counts without blocking', () => {
  test('a flood of fragmented messages into a 64 KiB ring (overflow drop): each message arrives with all its fragments or none', async () => {
    const sink = await Sink.open();
    const nc = await Netconsole.create({
      devices: 'none',
      ringSize: 64 << 10,
      overflow: 'drop',
      targets: [
        { name: 'ext', remote_ip: '127.0.0.1', remote_port: sink.port, local_port: 0, extended: 1, enabled: 1 },
      ],
    });
    try {
      const text = 'f'.repeat(7000); // 8 fragments per message
      const t0 = performance.now();
      for (let i = 0; i < 400; i++) nc.info(`${i} ${text}`); // no await: the sender cannot drain meanwhile
      const ms = performance.now() - t0;
      const s = nc.stats();
      assert.ok(s.targets[0].dropped > 0 && s.ringFull > 0, 'messages were dropped when the ring was full');
      assert.equal(
        s.targets[0].sent + s.targets[0].dropped,
        400,
        'every message was either written whole or dropped and counted',
      );
      assert.ok(ms < 2000, `the writer never blocked (${ms.toFixed(0)} ms for 400 records)`);
      await nc.flush();
      await sink.until((got) => got.length >= s.targets[0].datagrams);
      const frags = new Map<string, number>();
      let reported = 0;
      for (const d of sink.texts()) {
        const report = /;\*\* (\d+) messages dropped \*\*\n$/.exec(d);
        if (report) {
          reported += Number(report[1]);
          continue;
        }
        const seq = d.split(',')[1];
        frags.set(seq, (frags.get(seq) ?? 0) + 1);
      }
      assert.equal(frags.size, s.targets[0].sent, 'messages received = messages written');
      for (const [seq, n] of frags) assert.equal(n, 8, `message seq ${seq}: ${n} of 8 fragments`);
      assert.equal(reported, nc.stats().targets[0].reported, 'every report that was written arrived');
    } finally {
      await nc.close();
      await sink.close();
    }
  });
});
