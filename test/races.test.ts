// The races a user found between configuration and device events on one target, through the
// public API (devices 'none', events injected with nc.deviceEvent, the device is loopback), with
// both senders, in both orders, started in the same tick. The schedule explorer
// (test/explorer.test.ts) covers every pair; these are the cases as reported.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Netconsole, NetconsoleError, type Target } from '../src/index.js';
import { requireSender, SENDERS } from './helpers/requires.js';
import { bindsExclusively, freePort, Sink } from './helpers/udp.js';

const LO = Number(readFileSync('/sys/class/net/lo/ifindex', 'utf8'));
const unregister = { type: 'unregister', name: 'lo', ifindex: LO } as const;
const register = { type: 'register', name: 'lo', ifindex: LO } as const;

async function settle(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (e instanceof NetconsoleError ? e.code : `raw: ${String(e)}`),
  );
}

async function withTarget(
  ctx: TestContext,
  sender: 'native' | 'dgram',
  fn: (nc: Netconsole, t: Target, sink: Sink, port: number) => Promise<void>,
): Promise<void> {
  if (!requireSender(ctx, sender)) return;
  const sink = await Sink.open();
  const port = await freePort();
  const nc = await Netconsole.create({ devices: 'none', env: false, sender });
  try {
    const t = await nc.targets.create('t', {
      remote_ip: '127.0.0.1',
      remote_port: sink.port,
      local_port: port,
      dev_name: 'lo',
      enabled: 1,
    });
    await fn(nc, t, sink, port);
  } finally {
    await nc.close();
    await sink.close();
  }
}

for (const sender of SENDERS) {
  describe(`${sender} sender: one target, a configuration write and a device event in the same tick`, () => {
    for (const configFirst of [true, false]) {
      const order = configFirst ? 'the write first' : 'the event first';
      /** Starts both in this tick, in the order of this test; their results as [write, event]. */
      const both = async (write: () => Promise<unknown>, event: () => Promise<unknown>): Promise<string[]> => {
        const [a, b] = configFirst ? [write(), event()] : [event(), write()];
        const r = await Promise.all([settle(a), settle(b)]);
        return configFirst ? r : [r[1], r[0]];
      };

      test(`remove() and an unregister of its device, ${order}: removed for good, no EIO, nothing sent after a register`, (ctx) =>
        withTarget(ctx, sender, async (nc, t, sink, port) => {
          const events: string[] = [];
          nc.events.on('target', (e: { name: string; state: string }) => events.push(`${e.name}:${e.state}`));
          assert.deepEqual(
            await both(
              () => t.remove(),
              () => nc.deviceEvent(unregister),
            ),
            ['ok', 'ok'],
          );
          assert.equal(nc.targets.get('t'), undefined, 'not listed');
          assert.ok(events.includes('t:removed'));
          await nc.deviceEvent(register);
          assert.equal(nc.targets.get('t'), undefined, 'a register brings nothing back');
          assert.equal(nc.info('after'), 0, 'no target reached');
          await nc.flush();
          assert.equal(await bindsExclusively(port, '127.0.0.1'), true, 'its port is free');
          await new Promise((r) => setTimeout(r, 20));
          assert.ok(!sink.texts().some((x) => x.includes('after')));
          assert.equal(await settle(t.enable()), 'ENOENT', 'its handle answers ENOENT');
        }));

      test(`disable() and an unregister of its device, ${order}: no EIO, DISABLED as the kernel ends, not resumed`, (ctx) =>
        withTarget(ctx, sender, async (nc, t, _sink, port) => {
          const [disabled, event] = await both(
            () => t.disable(),
            () => nc.deviceEvent(unregister),
          );
          // The disable's step first: it disables. The event's first: the target is DEACTIVATED,
          // and enabled_store makes it DISABLED before it finds it "already stopped" (EINVAL).
          assert.ok(['ok', 'EINVAL'].includes(disabled), disabled);
          assert.equal(event, 'ok');
          assert.equal(t.state, 'disabled');
          await nc.deviceEvent(register);
          assert.equal(t.state, 'disabled', 'a target the user disabled is not resumed');
          assert.equal(await bindsExclusively(port, '127.0.0.1'), true);
        }));

      test(`enable() and a register that resumes it, ${order}: set up once; after disable() its port is free`, (ctx) =>
        withTarget(ctx, sender, async (nc, t, sink, port) => {
          await nc.deviceEvent(unregister);
          assert.equal(t.state, 'deactivated');
          const [enabled, event] = await both(
            () => t.enable(),
            () => nc.deviceEvent(register),
          );
          assert.ok(enabled === 'ok' || enabled === 'EINVAL', enabled); // EINVAL: the resume came first
          assert.equal(event, 'ok');
          assert.equal(t.state, 'enabled');
          nc.info('once');
          await nc.flush();
          await sink.until((g) => g.some((x) => x.data.toString().includes('once')));
          await t.disable();
          assert.equal(await bindsExclusively(port, '127.0.0.1'), true, 'no second socket was left bound');
          assert.equal(nc.stats().senderDiscarded, 0);
        }));
    }
  });
}
