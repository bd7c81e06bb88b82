// Device facts (src/netdev/sysfs.ts) and the polling event source (src/netdev/poller.ts) against
// the real kernel: the host namespace read-only, and throw-away network namespaces (root) where
// veths and a bridge are created, renamed, enslaved, downed and deleted while a probe process
// inside the namespace polls and prints what it sees.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NetconsoleError } from '../src/base/errors.js';
import { diffSnapshots } from '../src/netdev/diff.js';
import { POLLING_LIMITS, SysfsPoller } from '../src/netdev/poller.js';
import {
  deviceByIfindex,
  deviceByMac,
  getDevice,
  listDevices,
  routeDevice,
  sourceAddress,
  type RouteResult,
} from '../src/netdev/sysfs.js';
import type { DeviceInfo } from '../src/netdev/types.js';
import { ipJson, type IpLink } from './helpers/ip.js';
import { is, NetdevProbe } from './helpers/netdev-probe.js';
import { withNetns } from '../harness/netns.js';
import { requireRoot } from './helpers/requires.js';

const PROBE = fileURLToPath(new URL('./workers/netdev-probe.js', import.meta.url));

// ---------------------------------------------------------------------------------------------
// `ip -j` output

interface IpAddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  scope: string;
  prefixlen: number;
}

interface IpRouteGet {
  type?: string;
  dst: string;
  dev: string;
  gateway?: string;
  prefsrc?: string;
}

/** What routeDevice should say, from `ip -j route get`: null when the kernel has no route. */
async function kernelRoute(dst: string, ns?: string): Promise<RouteResult | null> {
  let got: IpRouteGet[];
  try {
    got = await ipJson<IpRouteGet[]>(['route', 'get', dst], ns);
  } catch {
    return null; // unreachable, prohibit, blackhole, no route
  }
  const r = got[0]!;
  if (r.type === 'local') return { dev: 'lo', gateway: null };
  if (r.type !== undefined && r.type !== 'unicast') return null;
  return { dev: r.dev, gateway: r.gateway ?? null };
}

function runningPerIp(l: IpLink): boolean {
  const up = l.flags.includes('UP');
  return up && (l.operstate === 'UP' || (l.operstate === 'UNKNOWN' && l.flags.includes('LOWER_UP')));
}

function assertAgreesWithIp(ours: DeviceInfo, ip: IpLink): void {
  const what = `device ${ip.ifname} (#${ip.ifindex})`;
  assert.equal(ours.name, ip.ifname, what);
  assert.equal(ours.ifindex, ip.ifindex, what);
  if (ip.address !== undefined && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(ip.address)) {
    assert.equal(ours.mac, ip.address.toLowerCase(), `${what}: mac`);
  }
  assert.equal(ours.up, ip.flags.includes('UP'), `${what}: up`);
  assert.equal(ours.running, runningPerIp(ip), `${what}: running (ip says ${ip.operstate} ${ip.flags.join(',')})`);
  assert.equal(ours.master, ip.master ?? null, `${what}: master`);
}

/** An address inside a route's destination prefix, e.g. '10.9.0.0/24' -> '10.9.0.5'. */
function addressIn(dst: string, family: 4 | 6): string | null {
  if (dst === 'default') return family === 4 ? '198.51.100.1' : '2001:db8::1';
  const [net, lenText] = dst.split('/');
  const len = Number(lenText ?? (family === 4 ? 32 : 128));
  if (family === 4) {
    if (len > 29) return net!;
    const parts = net!.split('.').map(Number);
    parts[3] = (parts[3]! & 0xf8) + 5;
    return parts.join('.');
  }
  if (len > 120) return net!;
  return net!.endsWith('::') ? `${net}5` : net!;
}

// ---------------------------------------------------------------------------------------------
// Without root

describe('netdev: snapshot diffing (no devices touched)', () => {
  const dev = (ifindex: number, name: string, extra: Partial<DeviceInfo> = {}): DeviceInfo => ({
    name,
    ifindex,
    mac: `02:00:00:00:00:${ifindex.toString(16).padStart(2, '0')}`,
    up: true,
    running: true,
    master: null,
    addresses: [],
    ...extra,
  });
  const map = (...ds: DeviceInfo[]): Map<number, DeviceInfo> => new Map(ds.map((d) => [d.ifindex, d]));

  test('rename comes before the other changes of that device; master change is release + enslave', () => {
    const events = diffSnapshots(
      map(dev(5, 'eth1', { master: 'br0' })),
      map(dev(5, 'eth2', { master: 'bond0', running: false })),
    );
    assert.deepEqual(
      events.map((e) => [e.type, e.name, e.oldName, e.master]),
      [
        ['rename', 'eth2', 'eth1', undefined],
        ['release', 'eth2', undefined, undefined],
        ['enslave', 'eth2', undefined, 'bond0'],
        ['down', 'eth2', undefined, undefined],
      ],
    );
    assert.ok(events.every((e) => e.ifindex === 5 && e.mac === '02:00:00:00:00:05'));
  });

  test('unregister first, register last (with enslave / up of a new device), by ifindex', () => {
    const events = diffSnapshots(
      map(dev(1, 'lo'), dev(7, 'vx0')),
      map(dev(1, 'lo'), dev(9, 'vx0', { master: 'br0' }), dev(8, 'br0', { running: false })),
    );
    assert.deepEqual(
      events.map((e) => [e.type, e.ifindex, e.name]),
      [
        ['unregister', 7, 'vx0'],
        ['register', 8, 'br0'],
        ['register', 9, 'vx0'],
        ['enslave', 9, 'vx0'],
        ['up', 9, 'vx0'],
      ],
    );
    assert.deepEqual(diffSnapshots(map(dev(1, 'lo')), map(dev(1, 'lo'))), []);
  });

  test('POLLING_LIMITS is one paragraph naming what polling misses', () => {
    assert.ok(!POLLING_LIMITS.includes('\n'));
    for (const word of ['revert', 'interval', 'order', 'unregister', 'register']) {
      assert.ok(POLLING_LIMITS.includes(word), word);
    }
  });

  test('a device observed by a look-up and gone by the next poll is reported registered, then unregistered, ahead of the rest', () => {
    const poller = new SysfsPoller({ intervalMs: 60_000 });
    const ghost = {
      name: 'ghost0',
      ifindex: 0x7ffffff0,
      mac: '02:00:00:00:00:99',
      up: true,
      running: true,
      master: null,
      addresses: [],
    };
    poller.observe(ghost); // before start(): nothing to compare with, ignored
    poller.start();
    const events: string[] = [];
    poller.on('event', (e) => events.push(`${e.type} ${e.name}`));
    poller.observe(ghost);
    poller.observe(ghost); // twice: one register
    const here = [...poller.snapshot().values()][0]!;
    poller.observe(here); // in the snapshot already: nothing
    poller.poll();
    assert.deepEqual(events.slice(0, 3), ['register ghost0', 'up ghost0', 'unregister ghost0']);
    assert.ok(!events.slice(3).some((e) => e.endsWith('ghost0') || e === `register ${here.name}`), events.join(', '));
    events.length = 0;
    poller.poll();
    assert.ok(!events.some((e) => e.endsWith('ghost0')), 'reported once');
    poller.stop();
  });

  test('the poller timer never keeps the process alive; stop() is idempotent', async () => {
    const poller = new SysfsPoller({ intervalMs: 20 });
    assert.equal(poller.intervalMs, 20);
    poller.start().start();
    assert.ok(poller.running);
    assert.ok(poller.snapshot().size >= 1);
    poller.stop().stop();
    assert.ok(!poller.running);
    assert.throws(
      () => new SysfsPoller({ intervalMs: 0 }),
      (e: unknown) => e instanceof NetconsoleError && e.code === 'ERANGE',
    );
    assert.equal(new SysfsPoller().intervalMs, 500);

    // A process whose only work is a started poller must exit by itself.
    const script =
      `import(${JSON.stringify(new URL('../src/netdev/poller.js', import.meta.url).href)})` +
      '.then(({ SysfsPoller }) => { new SysfsPoller({ intervalMs: 10 }).start(); console.log("started"); });';
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('still running after 5 s');
      }, 5000);
      child.once('exit', (c, s) => {
        clearTimeout(timer);
        resolve(c ?? String(s));
      });
    });
    assert.equal(code, 0);
    assert.equal(out.trim(), 'started');
  });
});

describe('netdev: host namespace (read-only)', () => {
  test('lo: zero MAC, up and running, 127.0.0.1; routes and sources', () => {
    const lo = getDevice('lo');
    assert.ok(lo, 'lo is listed');
    assert.equal(lo.mac, '00:00:00:00:00:00');
    assert.equal(lo.up, true);
    assert.equal(lo.running, true);
    assert.equal(lo.master, null);
    assert.ok(
      lo.addresses.some((a) => a.family === 4 && a.address === '127.0.0.1'),
      JSON.stringify(lo.addresses),
    );
    assert.ok(listDevices().some((d) => d.name === 'lo'));
    assert.deepEqual(deviceByIfindex(lo.ifindex), lo);
    assert.equal(deviceByIfindex(-1), null);
    assert.equal(getDevice('no-such-dev0'), null);
    assert.equal(getDevice('../lo'), null);
    assert.equal(deviceByMac('00:00:00:00:00:00')?.name, 'lo');

    assert.deepEqual(routeDevice('127.0.0.1'), { dev: 'lo', gateway: null });
    assert.deepEqual(routeDevice('127.8.9.10'), { dev: 'lo', gateway: null });
    assert.deepEqual(routeDevice('::1'), { dev: 'lo', gateway: null });
    assert.equal(sourceAddress('lo', 4), '127.0.0.1');
    assert.equal(sourceAddress('lo', 6), '::1');
    assert.throws(() => routeDevice('not-an-ip'), /remote_ip/);
  });

  test('listDevices agrees with `ip -j link`', async () => {
    const before = listDevices();
    const links = await ipJson<IpLink[]>(['link']);
    const after = listDevices();
    const ours = new Map([...before, ...after].map((d) => [d.ifindex, d]));
    for (const l of links) {
      const d = ours.get(l.ifindex);
      assert.ok(d, `ip lists #${l.ifindex} ${l.ifname}, listDevices does not`);
      // Compare with the listing taken closest to the same moment that still has it.
      assertAgreesWithIp(after.find((x) => x.ifindex === l.ifindex) ?? d, l);
    }
    assert.ok(links.some((l) => l.ifname === 'lo'));
  });

  test('addresses of running devices agree with `ip -j addr`', async () => {
    const addrs = await ipJson<Array<IpLink & { addr_info: IpAddrInfo[] }>>(['addr']);
    const ours = new Map(listDevices().map((d) => [d.ifindex, d]));
    for (const l of addrs) {
      const d = ours.get(l.ifindex);
      if (!d || !d.running) continue; // IPv4 of devices not running is invisible (documented)
      const want = l.addr_info.map((a) => `${a.family === 'inet' ? 4 : 6} ${a.local}`).sort();
      const got = d.addresses.map((a) => `${a.family} ${a.address}`).sort();
      assert.deepEqual(got, want, `addresses of ${l.ifname}`);
    }
  });

  test('routeDevice agrees with `ip -j route get`; sourceAddress with the primary address', async () => {
    const dsts = new Set<string>(['127.0.0.1', '127.1.2.3', '::1', '198.51.100.1', '2001:db8::1']);
    const addrs = await ipJson<Array<IpLink & { addr_info: IpAddrInfo[] }>>(['addr']);
    for (const l of addrs) for (const a of l.addr_info) if (a.scope !== 'link') dsts.add(a.local);
    for (const fam of [4, 6] as const) {
      const routes = await ipJson<Array<{ dst: string; type?: string }>>([`-${fam}`, 'route']);
      for (const r of routes) {
        if (r.type !== undefined && r.type !== 'unicast') continue;
        if (fam === 6 && (r.dst.startsWith('fe80:') || r.dst.startsWith('ff'))) continue;
        const a = addressIn(r.dst, fam);
        if (a) dsts.add(a);
      }
    }
    let compared = 0;
    for (const dst of dsts) {
      const want = await kernelRoute(dst);
      assert.deepEqual(routeDevice(dst), want, `route to ${dst}`);
      compared++;
    }
    assert.ok(compared >= 5);

    for (const l of addrs) {
      if (l.ifname === 'lo') continue;
      const d = getDevice(l.ifname);
      if (!d || !d.running) continue;
      const v4 = l.addr_info.filter((a) => a.family === 'inet');
      assert.equal(sourceAddress(l.ifname, 4), v4[0]?.local ?? null, `IPv4 source of ${l.ifname}`);
      const global6 = l.addr_info.filter((a) => a.family === 'inet6' && a.scope === 'global').map((a) => a.local);
      const src6 = sourceAddress(l.ifname, 6);
      if (global6.length === 0) assert.equal(src6, null);
      else assert.ok(src6 !== null && global6.includes(src6), `IPv6 source of ${l.ifname}: ${String(src6)}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// In network namespaces (root)

describe('netdev: in network namespaces', () => {
  test(
    'poller events: register, up/down (admin and carrier), rename, enslave/release, unregister, re-create',
    { timeout: 90_000 },
    async (t) => {
      if (!requireRoot(t)) return;
      await withNetns(['a', 'b'], async (ns) => {
        const a = ns.name('a');
        const probe = await NetdevProbe.start(ns, 'a', PROBE, ['50']);
        const initial = probe.initial;
        assert.deepEqual(
          initial.map((d) => d.name),
          ['lo'],
          'a fresh namespace has lo only',
        );

        // register + up
        let m = probe.eventMark();
        await ns.vethPair('a', 'vx0', 'b', 'vy0', '10.9.0.1/24', '10.9.0.2/24');
        const reg = await probe.waitEvent(m, 'register vx0', is('register', 'vx0'));
        const ifindex = reg.ifindex;
        const [link] = await ipJson<IpLink[]>(['link', 'show', 'vx0'], a);
        const mac = link!.address!;
        assert.equal(reg.mac, mac);
        assert.equal(ifindex, link!.ifindex);
        await probe.waitEvent(m, 'up vx0', is('up', 'vx0'));
        assert.ok(
          probe.since(m).findIndex(is('register', 'vx0')) < probe.since(m).findIndex(is('up', 'vx0')),
          'register before up',
        );

        // carrier loss: the peer goes down in the other namespace
        m = probe.eventMark();
        await ns.exec('b', ['ip', 'link', 'set', 'vy0', 'down']);
        const down1 = await probe.waitEvent(m, 'down vx0 (carrier)', is('down', 'vx0'));
        assert.equal(down1.ifindex, ifindex);
        const noCarrier = await probe.cmd<DeviceInfo>('device vx0');
        assert.equal(noCarrier.up, true);
        assert.equal(noCarrier.running, false);
        m = probe.eventMark();
        await ns.exec('b', ['ip', 'link', 'set', 'vy0', 'up']);
        await probe.waitEvent(m, 'up vx0 (carrier)', is('up', 'vx0'));

        // administratively down / up
        m = probe.eventMark();
        await ns.exec('a', ['ip', 'link', 'set', 'vx0', 'down']);
        await probe.waitEvent(m, 'down vx0 (admin)', is('down', 'vx0'));
        const adminDown = await probe.cmd<DeviceInfo>('device vx0');
        assert.equal(adminDown.up, false);
        assert.equal(adminDown.running, false);
        m = probe.eventMark();
        await ns.exec('a', ['ip', 'link', 'set', 'vx0', 'up']);
        await probe.waitEvent(m, 'up vx0 (admin)', is('up', 'vx0'));

        // rename (a veth must be down to be renamed)
        m = probe.eventMark();
        await ns.exec('a', ['ip', 'link', 'set', 'vx0', 'down']);
        await ns.exec('a', ['ip', 'link', 'set', 'vx0', 'name', 'vx0r']);
        const ren = await probe.waitEvent(m, 'rename vx0 -> vx0r', (e) => e.type === 'rename');
        assert.equal(ren.name, 'vx0r');
        assert.equal(ren.oldName, 'vx0');
        assert.equal(ren.ifindex, ifindex);
        assert.equal(ren.mac, mac);
        await probe.waitEvent(m, 'down of vx0/vx0r', (e) => e.type === 'down' && e.ifindex === ifindex);
        assert.ok(
          !probe.since(m).some((e) => e.type === 'unregister' || e.type === 'register'),
          'a rename is not unregister + register',
        );
        m = probe.eventMark();
        await ns.exec('a', ['ip', 'link', 'set', 'vx0r', 'up']);
        await probe.waitEvent(m, 'up vx0r', is('up', 'vx0r'));

        // enslave to a bridge, release
        m = probe.eventMark();
        await ns.exec('a', ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
        const brReg = await probe.waitEvent(m, 'register br0', is('register', 'br0'));
        m = probe.eventMark();
        await ns.exec('a', ['ip', 'link', 'set', 'vx0r', 'master', 'br0']);
        const ens = await probe.waitEvent(m, 'enslave vx0r', is('enslave', 'vx0r'));
        assert.equal(ens.master, 'br0');
        assert.equal(ens.ifindex, ifindex);
        const enslaved = await probe.cmd<DeviceInfo>(`index ${ifindex}`);
        assert.equal(enslaved.master, 'br0');
        // the whole snapshot against `ip -j link` inside the namespace, while enslaved
        const snap = await probe.cmd<DeviceInfo[]>('snapshot');
        const links = await ipJson<IpLink[]>(['link'], a);
        assert.deepEqual(
          snap.map((d) => d.ifindex),
          links.map((l) => l.ifindex),
        );
        for (const l of links)
          assertAgreesWithIp(
            snap.find((d) => d.ifindex === l.ifindex)!,
            l,
          );
        m = probe.eventMark();
        await ns.exec('a', ['ip', 'link', 'set', 'vx0r', 'nomaster']);
        const rel = await probe.waitEvent(m, 'release vx0r', is('release', 'vx0r'));
        assert.equal(rel.ifindex, ifindex);
        assert.equal((await probe.cmd<DeviceInfo>('device vx0r')).master, null);

        // delete
        m = probe.eventMark();
        await ns.exec('a', ['ip', 'link', 'del', 'vx0r']);
        const unreg = await probe.waitEvent(m, 'unregister vx0r', is('unregister', 'vx0r'));
        assert.equal(unreg.ifindex, ifindex);
        assert.equal(unreg.mac, mac);
        assert.equal(await probe.cmd('device vx0r'), null);
        assert.equal(await probe.cmd(`index ${ifindex}`), null);
        assert.equal(await probe.cmd(`mac ${mac}`), null);

        // re-create with the same name and the same MAC: a new ifindex, found by MAC
        m = probe.eventMark();
        await ns.exec('a', [
          'ip',
          'link',
          'add',
          'vx0r',
          'address',
          mac,
          'type',
          'veth',
          'peer',
          'name',
          'vy0',
          'netns',
          ns.name('b'),
        ]);
        const reg2 = await probe.waitEvent(m, 'register vx0r', is('register', 'vx0r'));
        assert.notEqual(reg2.ifindex, ifindex);
        assert.equal(reg2.mac, mac);
        const byMac = await probe.cmd<DeviceInfo>(`mac ${mac.toUpperCase()}`);
        assert.equal(byMac.name, 'vx0r');
        assert.equal(byMac.ifindex, reg2.ifindex);

        // deleted and re-created in one go (likely within one poll): unregister, then register
        m = probe.eventMark();
        await ns.exec('a', ['sh', '-c', `ip link del vx0r && ip link add vx0r address ${mac} type veth peer name vy0`]);
        const reg3 = await probe.waitEvent(m, 'register vx0r again', (e) => e.type === 'register' && e.name === 'vx0r');
        const idxUnreg = probe.since(m).findIndex((e) => e.type === 'unregister' && e.ifindex === reg2.ifindex);
        const idxReg = probe.since(m).indexOf(reg3);
        assert.ok(idxUnreg >= 0 && idxUnreg < idxReg, `unregister #${reg2.ifindex} before register #${reg3.ifindex}`);
        assert.notEqual(reg3.ifindex, reg2.ifindex);

        // the bridge goes too
        m = probe.eventMark();
        await ns.exec('a', ['ip', 'link', 'del', 'br0']);
        const brGone = await probe.waitEvent(m, 'unregister br0', is('unregister', 'br0'));
        assert.equal(brGone.ifindex, brReg.ifindex);
      });
    },
  );

  test(
    'routeDevice, sourceAddress and deviceByMac inside a namespace agree with the kernel',
    { timeout: 60_000 },
    async (t) => {
      if (!requireRoot(t)) return;
      await withNetns(['a', 'b'], async (ns) => {
        const a = ns.name('a');
        await ns.vethPair('a', 'vx0', 'b', 'vy0', '10.9.0.1/24', '10.9.0.2/24');
        await ns.vethPair('a', 'vx1', 'b', 'vy1', '10.8.0.1/24', '10.8.0.2/24');
        const ipA = (...args: string[]): Promise<unknown> => ns.exec('a', ['ip', ...args]);
        await ipA('-6', 'addr', 'add', 'fd09::1/64', 'dev', 'vx0', 'nodad');
        await ns.exec('b', ['ip', '-6', 'addr', 'add', 'fd09::2/64', 'dev', 'vy0', 'nodad']);
        await ipA('route', 'add', 'default', 'via', '10.9.0.2');
        await ipA('route', 'add', '198.51.100.0/24', 'via', '10.8.0.2');
        await ipA('route', 'add', '203.0.113.0/24', 'dev', 'vx0', 'metric', '100');
        await ipA('route', 'add', '203.0.113.0/24', 'dev', 'vx1', 'metric', '50');
        await ipA('route', 'add', 'unreachable', '192.0.2.0/24');
        await ipA('route', 'add', 'blackhole', '100.64.0.0/16');
        await ipA('-6', 'route', 'add', 'default', 'via', 'fd09::2');
        await ipA('-6', 'route', 'add', '2001:db8:1::/48', 'dev', 'vx1');
        await ipA('-6', 'route', 'add', 'unreachable', '2001:db8:2::/48');

        const probe = await NetdevProbe.start(ns, 'a', PROBE, ['50']);
        const cases: Array<[string, RouteResult | null]> = [
          ['10.9.0.77', { dev: 'vx0', gateway: null }],
          ['10.9.0.1', { dev: 'lo', gateway: null }], // own address: local table, not in /proc/net/route
          ['10.8.0.1', { dev: 'lo', gateway: null }],
          ['127.0.0.1', { dev: 'lo', gateway: null }],
          ['127.9.9.9', { dev: 'lo', gateway: null }],
          ['8.8.8.8', { dev: 'vx0', gateway: '10.9.0.2' }], // default route
          ['198.51.100.9', { dev: 'vx1', gateway: '10.8.0.2' }], // longer prefix beats default
          ['203.0.113.5', { dev: 'vx1', gateway: null }], // same prefix: lower metric
          ['192.0.2.1', null], // unreachable
          ['100.64.1.1', null], // blackhole
          ['fd09::77', { dev: 'vx0', gateway: null }],
          ['fd09::1', { dev: 'lo', gateway: null }],
          ['::1', { dev: 'lo', gateway: null }],
          ['2001:db8::5', { dev: 'vx0', gateway: 'fd09::2' }],
          ['2001:db8:1::5', { dev: 'vx1', gateway: null }],
          ['2001:db8:2::5', null],
        ];
        for (const [dst, want] of cases) {
          assert.deepEqual(await probe.cmd(`route ${dst}`), want, `routeDevice(${dst})`);
          assert.deepEqual(await kernelRoute(dst, a), want, `ip route get ${dst} (the test's own expectation)`);
        }

        assert.equal(await probe.cmd('source vx0 4'), '10.9.0.1');
        assert.equal(await probe.cmd('source vx1 4 10.8.0.2'), '10.8.0.1');
        assert.equal(await probe.cmd('source vx0 6'), 'fd09::1');
        assert.equal(await probe.cmd('source vx0 6 2001:db8::5'), 'fd09::1');
        assert.equal(await probe.cmd('source vx1 6'), null, 'vx1 has a link-local IPv6 address only');
        assert.equal(await probe.cmd('source lo 4'), '127.0.0.1');
        assert.equal(await probe.cmd('source lo 6'), '::1');
        assert.equal(await probe.cmd('source nosuch0 4'), null);
        const [vx0] = await ipJson<Array<IpLink & { addr_info: IpAddrInfo[] }>>(['addr', 'show', 'dev', 'vx0'], a);
        const ll = vx0!.addr_info.find((x) => x.family === 'inet6' && x.scope === 'link');
        assert.ok(ll, 'vx0 has a link-local address');
        assert.equal(await probe.cmd('source vx0 6 fe80::2'), ll.local, 'link-local remote: link-local source');

        const byMac = await probe.cmd<DeviceInfo>(`mac ${vx0!.address!}`);
        assert.equal(byMac.name, 'vx0');
        assert.equal(byMac.ifindex, vx0!.ifindex);
        assert.deepEqual(
          byMac.addresses.map((x) => `${x.family} ${x.address}`).sort(),
          vx0!.addr_info.map((x) => `${x.family === 'inet' ? 4 : 6} ${x.local}`).sort(),
        );
        assert.equal(await probe.cmd('mac 02:de:ad:be:ef:00'), null);
      });
    },
  );
});
