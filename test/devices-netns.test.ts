// Device events against real devices (docs/targets.md section 4), end to end: a Netconsole with
// `devices: 'poll'` (pollIntervalMs 50) runs inside network namespace a (test/workers/devices-probe.ts;
// /sys/class/net shows the namespace of the reading process), its targets send over a veth pair
// a:vA 10.77.0.1/24 fd77::1/64 <-> b:vB 10.77.0.2/24 fd77::2/64 to a UDP receiver in namespace b
// (test/workers/udp-sink.ts), and the test drives the devices with `ip` in namespace a.
//
// Re-creating a device is several `ip` commands (add, addresses, up). A device that has just been
// registered is not running and (as sysfs.ts documents) shows no IPv4 address, so a resume attempted
// on the poll that sees the bare device fails (EDESTADDRREQ -> DISABLED, which is what docs/targets.md
// section 4 says for a failed set-up). To test the resume itself, the probe process is stopped
// (SIGSTOP) while the device is re-created and continued (SIGCONT) afterwards: its next poll sees
// the finished device as one register (+ up). That is `frozen()` below.
//
// Polling compares snapshots, so a change that reverts between two polls is not seen at all
// (poller.ts POLLING_LIMITS), and a veth's operstate (what "running" is read from) becomes `up` only
// when the kernel's linkwatch gets to it, some time after `ip link set up`. So every step waits
// until the link has settled (operstate up) and until the Netconsole's poller has seen it (a
// `netdev` line of the probe, or its snapshot) before the next change.
//
// IPv6: both namespaces set net.ipv6.conf.all.keep_addr_on_down=1, since otherwise taking vA down
// (needed to rename a veth) would flush fd77::1 and the IPv6 target's bound source address with it,
// and taking vB down (carrier loss for vA) would flush the destination fd77::2.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { macOf, waitOperUp } from './helpers/ip.js';
import { JsonChild } from './helpers/json-child.js';
import { withNetns, type NetnsHandle } from '../harness/netns.js';
import { requireRoot } from './helpers/requires.js';

const PROBE = fileURLToPath(new URL('./workers/devices-probe.js', import.meta.url));
const SINK = fileURLToPath(new URL('./workers/udp-sink.js', import.meta.url));
const PORT = 6666; // the receiver's port in namespace b (fresh namespace: free)
const WAIT_MS = 5000; // bounded waits for states and datagrams (the poller interval is 50 ms)
const QUIET_MS = 500; // how long "nothing arrives" / "nothing changes" is watched (10 polls)
const A4 = '10.77.0.1';
const B4 = '10.77.0.2';
const A6 = 'fd77::1';
const B6 = 'fd77::2';

// ---------------------------------------------------------------------------------------------
// The probe (Netconsole in namespace a) and the sink (receiver in namespace b)

interface TargetEvent {
  name: string;
  state: string;
  device?: string;
  reason?: string;
  error?: { code: string; message: string };
}

interface NetdevLine {
  type: string;
  name: string;
  oldName?: string;
  ifindex: number;
  mac?: string;
  master?: string;
}

interface TargetStats {
  name: string;
  state: string;
  sent: number;
  skipped: number;
  dropped: number;
  transmit_errors: number;
  holds: number;
  lost: number;
}

interface StateReply {
  state: string;
  device: string | null;
  stats: TargetStats;
}

class Probe extends JsonChild {
  pid = 0;

  static async start(ns: NetnsHandle, targets: unknown): Promise<Probe> {
    const p = new Probe('probe', ns.runNode('a', PROBE, [JSON.stringify(targets)]), WAIT_MS);
    await p.ready();
    p.pid = (await p.ok('pid')).pid as number;
    assert.ok(Number.isInteger(p.pid) && p.pid > 0, `probe pid ${String(p.pid)}`);
    return p;
  }

  async log(text: string): Promise<number> {
    return (await this.ok(`log ${text}`)).logged as number;
  }

  /** Logs without waiting for it to be handed over (a held target's record waits). */
  async post(text: string): Promise<number> {
    return (await this.ok(`post ${text}`)).logged as number;
  }

  async state(name: string): Promise<StateReply> {
    return (await this.ok(`state ${name}`)) as unknown as StateReply;
  }

  async get(name: string, attr: string): Promise<string> {
    return (await this.ok(`get ${name} ${attr}`)).value as string;
  }

  /** The error code of a command expected to fail (assertion failure when it succeeds). */
  async failCode(line: string): Promise<string> {
    const r = await this.request(line);
    assert.ok('error' in r, `${line} should fail, got ${JSON.stringify(r)}`);
    return (r.error as { code: string }).code;
  }

  events(since = 0): TargetEvent[] {
    return this.lines.slice(since).flatMap((l) => ('event' in l ? [l.event as TargetEvent] : []));
  }

  waitEvent(what: string, pred: (e: TargetEvent) => boolean, since = 0, ms = WAIT_MS): Promise<TargetEvent> {
    return this.waitFor(
      `'target' event: ${what}`,
      (l) => ('event' in l && pred(l.event as TargetEvent) ? (l.event as TargetEvent) : undefined),
      since,
      ms,
    );
  }

  /** An event of the Netconsole's own poller (printed after the Netconsole got it). */
  waitNetdev(type: string, name: string, since = 0): Promise<NetdevLine> {
    return this.waitFor(
      `netdev ${type} ${name}`,
      (l) => {
        const ev = l.netdev as NetdevLine | undefined;
        return ev && ev.type === type && ev.name === name ? ev : undefined;
      },
      since,
    );
  }

  /** Waits until the snapshot of the Netconsole's poller shows `dev` running (bounded). */
  async waitRunning(dev: string, ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const { devices } = (await this.ok('devices')) as { devices: Array<{ name: string; running: boolean }> | null };
      assert.ok(devices, 'the probe has a poller snapshot');
      if (devices.some((d) => d.name === dev && d.running)) return;
      if (Date.now() > deadline)
        assert.fail(`the poller does not see ${dev} running within ${ms} ms: ${JSON.stringify(devices)}`);
      await sleep(50);
    }
  }

  /** Waits until `state <name>` reports `state` (bounded). */
  async waitState(name: string, state: string, ms = WAIT_MS): Promise<StateReply> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await this.state(name);
      if (s.state === state) return s;
      if (Date.now() > deadline)
        assert.fail(`target ${name} is ${s.state}, expected ${state} within ${ms} ms; ${this.describe()}`);
      await sleep(50);
    }
  }

  /** No fatal line, no 'error' event of nc.events, no unparsable output: nothing crashed. */
  assertHealthy(): void {
    const bad = this.lines.filter((l) => 'fatal' in l || 'ncError' in l || 'pollError' in l || 'unparsed' in l);
    assert.deepEqual(bad, [], `probe reported problems; ${this.describe()}`);
    assert.equal(this.exit, null, `probe exited; ${this.describe()}`);
  }

  /** `quit`: the Netconsole closes and the process exits 0. */
  async quit(): Promise<void> {
    await this.quitWith('quit');
  }
}

interface Datagram {
  from: string;
  port: number;
  family: string;
  text: string;
}

class Sink extends JsonChild {
  static async start(ns: NetnsHandle): Promise<Sink> {
    const s = new Sink('sink', ns.runNode('b', SINK, [String(PORT)]), WAIT_MS);
    await s.ready();
    return s;
  }

  datagrams(since = 0): Datagram[] {
    return this.lines.slice(since).flatMap((l) => ('text' in l ? [l as unknown as Datagram] : []));
  }

  /** Waits for a datagram containing `text` from `from`. */
  arrives(text: string, from: string): Promise<Datagram> {
    return this.waitFor(`a datagram with ${JSON.stringify(text)} from ${from}`, (l) => {
      const d = l as unknown as Datagram;
      return typeof d.text === 'string' && d.text.includes(text) && d.from === from ? d : undefined;
    });
  }

  /** Asserts no datagram containing `text` arrives within QUIET_MS. */
  async nothing(text: string): Promise<void> {
    await sleep(QUIET_MS);
    const got = this.datagrams().filter((d) => d.text.includes(text));
    assert.deepEqual(got, [], `nothing with ${JSON.stringify(text)} should have arrived`);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Namespace set-up

async function sh(ns: NetnsHandle, which: string, script: string): Promise<void> {
  await ns.exec(which, ['sh', '-c', script]);
}

/** Namespaces a and b joined by vA <-> vB with IPv4 and IPv6 addresses; IPv6 addresses kept on down. */
async function setUp(ns: NetnsHandle, mac?: string): Promise<void> {
  for (const n of ['a', 'b']) await sh(ns, n, 'echo 1 > /proc/sys/net/ipv6/conf/all/keep_addr_on_down');
  await createPair(ns, 'vA', mac);
}

/** (Re-)creates the pair as `nameA` (in a, optionally with `mac`) <-> vB (in b), addressed and up. */
async function createPair(ns: NetnsHandle, nameA: string, mac?: string): Promise<void> {
  await ns.exec('a', [
    'ip',
    'link',
    'add',
    nameA,
    ...(mac ? ['address', mac] : []),
    'type',
    'veth',
    'peer',
    'name',
    'vB',
    'netns',
    ns.name('b'),
  ]);
  await ns.exec('a', ['ip', 'addr', 'add', `${A4}/24`, 'dev', nameA]);
  await ns.exec('a', ['ip', '-6', 'addr', 'add', `${A6}/64`, 'dev', nameA, 'nodad']);
  await ns.exec('b', ['ip', 'addr', 'add', `${B4}/24`, 'dev', 'vB']);
  await ns.exec('b', ['ip', '-6', 'addr', 'add', `${B6}/64`, 'dev', 'vB', 'nodad']);
  await ns.exec('b', ['ip', 'link', 'set', 'vB', 'up']);
  await ns.exec('a', ['ip', 'link', 'set', nameA, 'up']);
  await waitOperUp(ns, 'a', nameA);
}

/** Runs `fn` with the probe stopped, so that its poller sees only the end result (see the top). */
async function frozen(probe: Probe, fn: () => Promise<void>): Promise<void> {
  process.kill(probe.pid, 'SIGSTOP');
  try {
    await fn();
  } finally {
    process.kill(probe.pid, 'SIGCONT');
  }
}

const ip = (ns: NetnsHandle, ...args: string[]): Promise<unknown> => ns.exec('a', ['ip', ...args]);

/**
 * Per scenario: namespaces, the pair (vA with `mac` when given), the sink and the probe with
 * `targets` (an array of target options or a parameter string); the probe quits cleanly at the end.
 */
async function scenario(
  targets: unknown,
  fn: (ns: NetnsHandle, probe: Probe, sink: Sink) => Promise<void>,
  mac?: string,
): Promise<void> {
  await withNetns(['a', 'b'], async (ns) => {
    let probe: Probe | undefined;
    let sink: Sink | undefined;
    try {
      await setUp(ns, mac);
      sink = await Sink.start(ns);
      probe = await Probe.start(ns, targets);
      await probe.waitRunning('vA');
      await fn(ns, probe, sink);
      probe.assertHealthy();
      await probe.quit();
    } finally {
      // withNetns SIGKILLs its children too; this makes sure a stopped probe is not left stopped.
      if (probe && probe.exit === null && probe.pid > 0) process.kill(probe.pid, 'SIGCONT');
      for (const c of [probe, sink]) await c?.kill();
    }
  });
}

const target = (name: string, remote_ip: string, dev_name = 'vA'): Record<string, unknown> => ({
  name,
  dev_name,
  remote_ip,
  remote_port: PORT,
  enabled: 1,
});

// ---------------------------------------------------------------------------------------------

describe(
  'device events on real devices (docs/targets.md section 4), Netconsole polling inside a namespace',
  { concurrency: false },
  () => {
    test(
      'a target bound to dev_name vA (IPv4 and IPv6): delivery, rename vA -> vA2 followed, admin down skips and counts, ' +
        'delete deactivates, re-created under the name the rename left (vA2) resumes',
      { timeout: 90_000 },
      async (t) => {
        if (!requireRoot(t)) return;
        await scenario([target('t4', B4), target('t6', B6)], async (ns, probe, sink) => {
          const names = ['t4', 't6'] as const;
          for (const n of names) {
            const s = await probe.state(n);
            assert.equal(s.state, 'enabled', n);
            assert.equal(s.device, 'vA', n);
          }

          // baseline
          assert.equal(await probe.log('baseline'), 2, 'offered to both targets');
          await sink.arrives('baseline', A4);
          await sink.arrives('baseline', A6);

          // rename: a veth is renamed while down
          let m = probe.mark();
          await ip(ns, 'link', 'set', 'vA', 'down');
          await probe.waitNetdev('down', 'vA', m);
          await ip(ns, 'link', 'set', 'vA', 'name', 'vA2');
          const ren = await probe.waitNetdev('rename', 'vA2', m);
          assert.equal(ren.oldName, 'vA');
          for (const n of names) {
            assert.equal(await probe.get(n, 'dev_name'), 'vA2', `${n}: dev_name follows the rename`);
            assert.equal((await probe.state(n)).state, 'enabled', `${n}: a rename changes no state`);
          }
          await ip(ns, 'link', 'set', 'vA2', 'up');
          await probe.waitNetdev('up', 'vA2', m);
          for (const n of names) {
            const s = await probe.state(n);
            assert.equal(s.state, 'enabled', n);
            assert.equal(s.device, 'vA2', `${n}: device follows the rename`);
          }
          assert.deepEqual(probe.events(m), [], 'rename and down/up raise no target event');
          assert.equal(await probe.log('after-rename'), 2);
          await sink.arrives('after-rename', A4);
          await sink.arrives('after-rename', A6);

          // admin down: still enabled; the records wait for the device (held, not skipped: the
          // kernel would skip them) and go out when it is back, before the later ones
          const before = new Map<string, TargetStats>();
          for (const n of names) before.set(n, (await probe.state(n)).stats);
          m = probe.mark();
          await ip(ns, 'link', 'set', 'vA2', 'down');
          await probe.waitNetdev('down', 'vA2', m);
          assert.equal(await probe.post('while-down-1'), 2, 'offered to both targets: they wait for the device');
          assert.equal(await probe.post('while-down-2'), 2);
          await sink.nothing('while-down');
          for (const n of names) {
            const s = await probe.state(n);
            assert.equal(s.state, 'enabled', `${n}: admin down changes no state`);
            assert.equal(await probe.get(n, 'enabled'), '1', n);
            assert.equal(s.stats.skipped, before.get(n)!.skipped, `${n}: nothing skipped`);
            assert.ok(s.stats.holds > before.get(n)!.holds, `${n}: held: ${JSON.stringify(s.stats)}`);
            assert.equal(s.stats.lost, before.get(n)!.lost, `${n}: nothing lost`);
          }
          await ip(ns, 'link', 'set', 'vA2', 'up');
          await probe.waitNetdev('up', 'vA2', m);
          assert.deepEqual(probe.events(m), [], 'admin down/up raise no target event');
          for (const text of ['while-down-1', 'while-down-2']) {
            await sink.arrives(text, A4);
            await sink.arrives(text, A6);
          }
          assert.equal(await probe.log('after-up'), 2);
          await sink.arrives('after-up', A4);
          await sink.arrives('after-up', A6);

          // carrier loss: the peer goes down in namespace b; held the same way
          for (const n of names) before.set(n, (await probe.state(n)).stats);
          m = probe.mark();
          await ns.exec('b', ['ip', 'link', 'set', 'vB', 'down']);
          await probe.waitNetdev('down', 'vA2', m);
          assert.equal(await probe.post('while-no-carrier'), 2);
          await sink.nothing('while-no-carrier');
          for (const n of names) {
            const s = await probe.state(n);
            assert.equal(s.state, 'enabled', `${n}: carrier loss changes no state`);
            assert.equal(s.stats.skipped, before.get(n)!.skipped, `${n}: nothing skipped`);
            assert.ok(s.stats.holds > before.get(n)!.holds, `${n}: held: ${JSON.stringify(s.stats)}`);
          }
          await ns.exec('b', ['ip', 'link', 'set', 'vB', 'up']);
          await probe.waitNetdev('up', 'vA2', m);
          assert.deepEqual(probe.events(m), [], 'carrier loss/return raise no target event');
          await sink.arrives('while-no-carrier', A4);
          await sink.arrives('while-no-carrier', A6);
          assert.equal(await probe.log('after-carrier'), 2);
          await sink.arrives('after-carrier', A4);
          await sink.arrives('after-carrier', A6);
          for (const n of names)
            assert.equal((await probe.state(n)).stats.lost, before.get(n)!.lost, `${n}: nothing lost`);

          // delete (deletes the pair): DEACTIVATED, nothing sent
          m = probe.mark();
          await ip(ns, 'link', 'del', 'vA2');
          for (const n of names) {
            const e = await probe.waitEvent(`${n} deactivated`, (x) => x.name === n && x.state === 'deactivated', m);
            assert.equal(e.reason, 'unregister', n);
            assert.equal(e.device, 'vA2', n);
            const s = await probe.state(n);
            assert.equal(s.state, 'deactivated', n);
            assert.equal(s.device, null, `${n}: no device while deactivated`);
            assert.equal(await probe.get(n, 'enabled'), '0', `${n}: a deactivated target reads enabled=0`);
            assert.equal(await probe.get(n, 'dev_name'), 'vA2', `${n}: dev_name kept`);
          }
          const sentBefore = new Map<string, number>();
          for (const n of names) sentBefore.set(n, (await probe.state(n)).stats.sent);
          assert.equal(await probe.log('while-deleted'), 0, 'offered to no target while deactivated');
          for (const n of names)
            assert.equal((await probe.state(n)).stats.sent, sentBefore.get(n), `${n}: nothing sent`);
          // enabling while the device is missing fails, and (enabled_store) the user's write made the
          // DEACTIVATED target DISABLED first: it no longer follows its device
          assert.equal(await probe.failCode('enable t4'), 'ENODEV');
          assert.equal((await probe.state('t4')).state, 'disabled', 't4 is disabled after a failed enable');
          await sink.nothing('while-deleted');

          // re-create as vA2: the deactivated target resumes, the one the user took over does not
          m = probe.mark();
          await frozen(probe, () => createPair(ns, 'vA2'));
          const e = await probe.waitEvent('t6 resumed', (x) => x.name === 't6' && x.state !== 'deactivated', m);
          assert.deepEqual(e, { name: 't6', state: 'enabled', device: 'vA2', reason: 'resumed' });
          const s6 = await probe.state('t6');
          assert.equal(s6.state, 'enabled');
          assert.equal(s6.device, 'vA2');
          assert.equal((await probe.state('t4')).state, 'disabled', 't4 is not resumed');
          assert.equal(await probe.log('after-resume'), 1);
          await sink.arrives('after-resume', A6);
          assert.equal(
            sink.datagrams().filter((d) => d.text.includes('while-deleted')).length,
            0,
            'nothing logged while deactivated was sent later',
          );
        });
      },
    );

    test(
      'resume by name, fresh target: bound to vA, vA deleted and re-created under the same name (new MAC)',
      { timeout: 60_000 },
      async (t) => {
        if (!requireRoot(t)) return;
        await scenario([target('byname', B4)], async (ns, probe, sink) => {
          const oldMac = await macOf(ns, 'a', 'vA');
          assert.equal(await probe.get('byname', 'local_mac'), oldMac);
          assert.equal(await probe.log('one'), 1);
          await sink.arrives('one', A4);

          let m = probe.mark();
          await ip(ns, 'link', 'del', 'vA');
          await probe.waitEvent('deactivated', (e) => e.name === 'byname' && e.state === 'deactivated', m);
          assert.equal(await probe.log('gone'), 0);

          // a device of another name does not resume it
          m = probe.mark();
          await frozen(probe, () => createPair(ns, 'vZ'));
          await probe.waitNetdev('register', 'vZ', m);
          await sleep(QUIET_MS);
          assert.equal((await probe.state('byname')).state, 'deactivated', 'another name does not resume it');
          assert.deepEqual(probe.events(m), []);
          await ip(ns, 'link', 'del', 'vZ');
          await probe.waitNetdev('unregister', 'vZ', m);

          m = probe.mark();
          await frozen(probe, () => createPair(ns, 'vA'));
          const e = await probe.waitEvent('resumed', (x) => x.name === 'byname' && x.state !== 'deactivated', m);
          assert.deepEqual(e, { name: 'byname', state: 'enabled', device: 'vA', reason: 'resumed' });
          const newMac = await macOf(ns, 'a', 'vA');
          assert.notEqual(newMac, oldMac, 'a new veth gets a new random MAC');
          assert.equal(await probe.get('byname', 'local_mac'), newMac, 'local_mac is the new device MAC');
          assert.equal(await probe.log('two'), 1);
          await sink.arrives('two', A4);
          await sink.nothing('gone');
        });
      },
    );

    test(
      'resume by MAC: a parameter-string target bound by MAC resumes on a device with that MAC under another name',
      { timeout: 60_000 },
      async (t) => {
        if (!requireRoot(t)) return;
        // The MAC is only known once the pair exists: set it explicitly so the parameter string is fixed.
        const mac = '02:77:00:00:00:0a';
        const params = `6665@/${mac},${PORT}@${B4}/`;
        await scenario(
          params,
          async (ns, probe, sink) => {
            const ready = probe.lines.find((l) => 'ready' in l) as { startupErrors: unknown[] };
            assert.deepEqual(ready.startupErrors, [], 'the parameter string parses and the target comes up');
            const s0 = await probe.state('cmdline0');
            assert.equal(s0.state, 'enabled');
            assert.equal(s0.device, 'vA', 'found by MAC');
            assert.equal(await probe.get('cmdline0', 'local_mac'), mac);
            assert.equal(await probe.log('mac-one'), 1);
            await sink.arrives('mac-one', A4);

            let m = probe.mark();
            await ip(ns, 'link', 'del', 'vA');
            const d = await probe.waitEvent(
              'deactivated',
              (e) => e.name === 'cmdline0' && e.state === 'deactivated',
              m,
            );
            assert.equal(d.reason, 'unregister');
            assert.equal(await probe.log('mac-gone'), 0);

            // the old name with another MAC does not resume a target bound by MAC
            m = probe.mark();
            await frozen(probe, () => createPair(ns, 'vA', '02:77:00:00:00:0b'));
            await probe.waitNetdev('register', 'vA', m);
            await sleep(QUIET_MS);
            assert.equal((await probe.state('cmdline0')).state, 'deactivated', 'same name, other MAC: not resumed');
            assert.deepEqual(probe.events(m), []);
            await ip(ns, 'link', 'del', 'vA');
            await probe.waitNetdev('unregister', 'vA', m);

            m = probe.mark();
            await frozen(probe, () => createPair(ns, 'vM', mac));
            const e = await probe.waitEvent('resumed', (x) => x.name === 'cmdline0' && x.state !== 'deactivated', m);
            assert.deepEqual(e, { name: 'cmdline0', state: 'enabled', device: 'vM', reason: 'resumed' });
            const s = await probe.state('cmdline0');
            assert.equal(s.device, 'vM');
            assert.equal(await probe.get('cmdline0', 'local_mac'), mac);
            assert.equal(await probe.log('mac-two'), 1);
            await sink.arrives('mac-two', A4);
            await sink.nothing('mac-gone');
          },
          mac,
        );
      },
    );

    test(
      'a device renamed to the name of a DEACTIVATED target resumes it (IPv6 target; the renamed veth is down until set up)',
      { timeout: 60_000 },
      async (t) => {
        if (!requireRoot(t)) return;
        await scenario([target('r6', B6)], async (ns, probe, sink) => {
          let m = probe.mark();
          await ip(ns, 'link', 'del', 'vA');
          await probe.waitEvent('deactivated', (e) => e.name === 'r6' && e.state === 'deactivated', m);

          m = probe.mark();
          await frozen(probe, () => createPair(ns, 'vZ'));
          await probe.waitNetdev('register', 'vZ', m);
          await sleep(QUIET_MS);
          assert.equal((await probe.state('r6')).state, 'deactivated', 'vZ is not its device');

          // a veth is renamed while down: the rename resumes it on a device that is not running
          m = probe.mark();
          await ip(ns, 'link', 'set', 'vZ', 'down');
          await probe.waitNetdev('down', 'vZ', m);
          await ip(ns, 'link', 'set', 'vZ', 'name', 'vA');
          const e = await probe.waitEvent(
            'resumed by the rename',
            (x) => x.name === 'r6' && x.state !== 'deactivated',
            m,
          );
          assert.deepEqual(e, { name: 'r6', state: 'enabled', device: 'vA', reason: 'resumed' });
          assert.equal(await probe.log('renamed-down'), 0, 'enabled, but its device is not running: skipped');
          assert.equal((await probe.state('r6')).stats.skipped, 1);
          await ip(ns, 'link', 'set', 'vA', 'up');
          await probe.waitNetdev('up', 'vA', m);
          assert.equal(await probe.log('renamed-up'), 1);
          await sink.arrives('renamed-up', A6);
          await sink.nothing('renamed-down');
        });
      },
    );

    test(
      'a resume that fails (device re-created without addresses) leaves the target DISABLED; it is not retried',
      { timeout: 60_000 },
      async (t) => {
        if (!requireRoot(t)) return;
        await scenario([target('rf', B4)], async (ns, probe, sink) => {
          let m = probe.mark();
          await ip(ns, 'link', 'del', 'vA');
          await probe.waitEvent('deactivated', (e) => e.name === 'rf' && e.state === 'deactivated', m);

          m = probe.mark();
          await frozen(probe, () =>
            ip(ns, 'link', 'add', 'vA', 'type', 'veth', 'peer', 'name', 'vB', 'netns', ns.name('b')).then(
              () => undefined,
            ),
          );
          const e = await probe.waitEvent('resume failed', (x) => x.name === 'rf' && x.state !== 'deactivated', m);
          assert.equal(e.state, 'disabled');
          assert.equal(e.reason, 'resume failed');
          assert.equal(e.device, 'vA');
          assert.equal(e.error?.code, 'EDESTADDRREQ', `no IPv4 address on the new vA: ${JSON.stringify(e.error)}`);
          assert.equal((await probe.state('rf')).state, 'disabled');

          // the address and the link come: a DISABLED target stays disabled
          m = probe.mark();
          await ns.exec('a', ['ip', 'addr', 'add', `${A4}/24`, 'dev', 'vA']);
          await ns.exec('b', ['ip', 'addr', 'add', `${B4}/24`, 'dev', 'vB']);
          await ns.exec('b', ['ip', 'link', 'set', 'vB', 'up']);
          await ns.exec('a', ['ip', 'link', 'set', 'vA', 'up']);
          await probe.waitNetdev('up', 'vA', m);
          await sleep(QUIET_MS);
          assert.equal((await probe.state('rf')).state, 'disabled', 'not retried');
          assert.deepEqual(probe.events(m), []);
          assert.equal(await probe.log('rf-disabled'), 0);
          await probe.ok('enable rf');
          assert.equal(await probe.log('rf-enabled'), 1);
          await sink.arrives('rf-enabled', A4);
          await sink.nothing('rf-disabled');
        });
      },
    );

    // LIMITATION (src/netdev/sysfs.ts, documented there; reached through src/host/targets.ts setup()): a
    // veth is renamed while down, and the IPv4 addresses of a device that is not running are not
    // visible to the sysfs look-ups, so with local_ip unset the resume fails EDESTADDRREQ ("vA has no
    // IPv4 address") although vA has 10.77.0.1 configured; docs/targets.md section 3 says EDESTADDRREQ only
    // when the device has no address of the family. (The kernel's netpoll_setup would open the device.)
    test(
      'a device renamed to the name of a DEACTIVATED IPv4 target (local_ip unset) resumes it although the renamed veth is down',
      {
        timeout: 60_000,
        // A limit of polling only: rtnetlink look-ups (devices-rtnetlink.test.ts) see those addresses.
        todo:
          process.env.NC_DEVICES === 'rtnetlink'
            ? undefined
            : 'sysfs.ts cannot see IPv4 addresses of a device that is not running: resume fails EDESTADDRREQ -> DISABLED',
      },
      async (t) => {
        if (!requireRoot(t)) return;
        await scenario([target('r4', B4)], async (ns, probe, sink) => {
          let m = probe.mark();
          await ip(ns, 'link', 'del', 'vA');
          await probe.waitEvent('deactivated', (e) => e.name === 'r4' && e.state === 'deactivated', m);
          m = probe.mark();
          await frozen(probe, () => createPair(ns, 'vZ'));
          await probe.waitNetdev('register', 'vZ', m);
          await ip(ns, 'link', 'set', 'vZ', 'down');
          await probe.waitNetdev('down', 'vZ', m);
          await ip(ns, 'link', 'set', 'vZ', 'name', 'vA');
          const e = await probe.waitEvent(
            'resumed by the rename',
            (x) => x.name === 'r4' && x.state !== 'deactivated',
            m,
          );
          assert.deepEqual(e, { name: 'r4', state: 'enabled', device: 'vA', reason: 'resumed' });
          await ip(ns, 'link', 'set', 'vA', 'up');
          await probe.waitNetdev('up', 'vA', m);
          assert.equal(await probe.log('r4-up'), 1);
          await sink.arrives('r4-up', A4);
        });
      },
    );

    // docs/targets.md section 4 limits the effects to "targets bound to that device", and the kernel
    // renames only targets with nt->np.dev == dev (NULL while disabled).
    test(
      'a DISABLED target is bound to no device: its dev_name does not follow a rename (kernel: only np.dev == dev targets)',
      { timeout: 60_000 },
      async (t) => {
        if (!requireRoot(t)) return;
        await scenario(
          [target('on', B4), { name: 'off', dev_name: 'vA', remote_ip: B4, remote_port: PORT }],
          async (ns, probe) => {
            assert.equal((await probe.state('off')).state, 'disabled');
            const m = probe.mark();
            await ip(ns, 'link', 'set', 'vA', 'down');
            await probe.waitNetdev('down', 'vA', m);
            await ip(ns, 'link', 'set', 'vA', 'name', 'vA2');
            await probe.waitNetdev('rename', 'vA2', m);
            assert.equal(await probe.get('on', 'dev_name'), 'vA2', 'the enabled target follows');
            assert.equal(await probe.get('off', 'dev_name'), 'vA', 'the disabled target keeps the name it was given');
          },
        );
      },
    );

    test(
      'enslaved to a bridge: DISABLED and not resumed; enable fails EBUSY while enslaved; nomaster does not re-enable',
      { timeout: 60_000 },
      async (t) => {
        if (!requireRoot(t)) return;
        await scenario([target('sl', B4)], async (ns, probe, sink) => {
          assert.equal(await probe.log('sl-one'), 1);
          await sink.arrives('sl-one', A4);

          let m = probe.mark();
          await ip(ns, 'link', 'add', 'br0', 'type', 'bridge');
          await probe.waitNetdev('register', 'br0', m);
          await ip(ns, 'link', 'set', 'vA', 'master', 'br0');
          const e = await probe.waitEvent('disabled by enslave', (x) => x.name === 'sl', m);
          assert.deepEqual(e, { name: 'sl', state: 'disabled', device: 'vA', reason: 'enslave' });
          let s = await probe.state('sl');
          assert.equal(s.state, 'disabled');
          assert.equal(s.device, null);
          assert.equal(await probe.get('sl', 'enabled'), '0');
          assert.equal(await probe.log('sl-enslaved'), 0);

          assert.equal(await probe.failCode('enable sl'), 'EBUSY', 'enable while enslaved');
          assert.equal((await probe.state('sl')).state, 'disabled', 'a failed enable leaves it disabled');
          await sleep(QUIET_MS);
          assert.equal((await probe.state('sl')).state, 'disabled', 'not resumed while enslaved');

          m = probe.mark();
          await ip(ns, 'link', 'set', 'vA', 'nomaster');
          await probe.waitNetdev('release', 'vA', m);
          await sleep(QUIET_MS);
          s = await probe.state('sl');
          assert.equal(s.state, 'disabled', 'release does not re-enable it');
          assert.deepEqual(probe.events(m), [], 'no target event on release');
          assert.equal(await probe.log('sl-released'), 0);
          await sink.nothing('sl-enslaved');
          await sink.nothing('sl-released');

          // released, it can be enabled again by hand
          await probe.ok('enable sl');
          assert.equal((await probe.state('sl')).state, 'enabled');
          assert.equal(await probe.log('sl-two'), 1);
          await sink.arrives('sl-two', A4);
        });
      },
    );
  },
);
