// rtnetlink (src/netdev/rtnetlink.ts over native/netlink.cc): the parsers on hand-made buffers,
// the event source's diffing and resync logic on a stand-in binding, the look-ups against sysfs
// on the host, the watcher's lifetime (unref, worker teardown, close) in child processes, and,
// in throw-away network namespaces (root), the events of real veths and a bridge: the sequence
// test/netdev.test.ts checks for the sysfs poller, but each within milliseconds, plus what polling
// cannot see (a down and up faster than any poll) and an overrun that forces a resync.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { native } from '../src/core/native.js';
import { NetconsoleError } from '../src/base/errors.js';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  IFA_ADDRESS,
  IFA_F_PERMANENT,
  IFA_F_SECONDARY,
  IFA_F_TENTATIVE,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  IFF_LOWER_UP,
  IFF_RUNNING,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_MASTER,
  IFLA_OPERSTATE,
  IF_OPER_DOWN,
  IF_OPER_LOWERLAYERDOWN,
  IF_OPER_UNKNOWN,
  IF_OPER_UP,
  NDA_DST,
  NDA_LLADDR,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_MULTI,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  parseAddrMessage,
  parseAttributes,
  parseError,
  parseLinkMessage,
  parseMessages,
  parseNeighMessage,
  splitMessages,
} from '../src/netdev/rtnetlink-messages.js';
import { RtnetlinkSource, type AddressEvent } from '../src/netdev/rtnetlink.js';
import { rtnetlinkLookup, type RtnetlinkBinding } from '../src/netdev/rtnetlink-dump.js';
import { listDevices as sysfsListDevices } from '../src/netdev/sysfs.js';
import type { NativeNetlinkWatcher } from '../src/core/native.js';
import type { DeviceInfo, NetdevEvent } from '../src/netdev/types.js';
import { ipJson, type IpLink } from './helpers/ip.js';
import { is, NetdevProbe } from './helpers/netdev-probe.js';
import { withNetns } from '../harness/netns.js';
import { requireNative, requireRoot } from './helpers/requires.js';

const PROBE = fileURLToPath(new URL('./workers/rtnetlink-probe.js', import.meta.url));
const LIFE = fileURLToPath(new URL('./workers/rtnetlink-life.js', import.meta.url));
/** How late after the command that caused it an event may arrive (polling: up to an interval). */
const PROMPT_MS = 500;

// ---------------------------------------------------------------------------------------------
// Hand-made netlink messages

function rta(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}
const rtaStr = (type: number, s: string): Buffer => rta(type, Buffer.from(`${s}\0`));
const rtaU32 = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return rta(type, b);
};
const rtaU8 = (type: number, v: number): Buffer => rta(type, Buffer.from([v]));
const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((x) => parseInt(x, 16)));

function nlmsg(
  type: number,
  body: Buffer,
  opts: { flags?: number; seq?: number; pid?: number; pad?: boolean } = {},
): Buffer {
  const len = 16 + body.length;
  const out = Buffer.alloc(opts.pad === false ? len : (len + 3) & ~3);
  out.writeUInt32LE(len, 0);
  out.writeUInt16LE(type, 4);
  out.writeUInt16LE(opts.flags ?? 0, 6);
  out.writeUInt32LE(opts.seq ?? 0, 8);
  out.writeUInt32LE(opts.pid ?? 0, 12);
  body.copy(out, 16);
  return out;
}

interface LinkSpec {
  ifindex: number;
  name?: string;
  flags?: number;
  change?: number;
  mac?: string;
  master?: number;
  oper?: number;
  family?: number;
}

function ifinfo(s: LinkSpec): Buffer {
  const h = Buffer.alloc(16);
  h[0] = s.family ?? 0;
  h.writeUInt16LE(1, 2); // ARPHRD_ETHER
  h.writeInt32LE(s.ifindex, 4);
  h.writeUInt32LE((s.flags ?? 0) >>> 0, 8);
  h.writeUInt32LE((s.change ?? 0) >>> 0, 12);
  const attrs = [
    ...(s.name !== undefined ? [rtaStr(IFLA_IFNAME, s.name)] : []),
    ...(s.mac !== undefined ? [rta(IFLA_ADDRESS, macBytes(s.mac))] : []),
    ...(s.master !== undefined ? [rtaU32(IFLA_MASTER, s.master)] : []),
    ...(s.oper !== undefined ? [rtaU8(IFLA_OPERSTATE, s.oper)] : []),
  ];
  return Buffer.concat([h, ...attrs]);
}

const RUNNING = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;
const newlink = (s: LinkSpec, o?: { seq?: number; pid?: number; flags?: number }): Buffer =>
  nlmsg(RTM_NEWLINK, ifinfo(s), o);
const dellink = (s: LinkSpec): Buffer => nlmsg(RTM_DELLINK, ifinfo(s));
const upLink = (ifindex: number, name: string, mac: string, extra: Partial<LinkSpec> = {}): LinkSpec => ({
  ifindex,
  name,
  mac,
  flags: RUNNING,
  oper: IF_OPER_UP,
  ...extra,
});
const downLink = (ifindex: number, name: string, mac: string, extra: Partial<LinkSpec> = {}): LinkSpec => ({
  ifindex,
  name,
  mac,
  flags: 0,
  oper: IF_OPER_DOWN,
  ...extra,
});

function ifaddr(
  family: number,
  prefix: number,
  flags: number,
  scope: number,
  ifindex: number,
  attrs: Buffer[],
): Buffer {
  const h = Buffer.alloc(8);
  h[0] = family;
  h[1] = prefix;
  h[2] = flags;
  h[3] = scope;
  h.writeUInt32LE(ifindex, 4);
  return Buffer.concat([h, ...attrs]);
}
const v4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
const newaddr4 = (ifindex: number, addr: string, prefix = 24, o?: { seq?: number; pid?: number }): Buffer =>
  nlmsg(
    RTM_NEWADDR,
    ifaddr(AF_INET, prefix, IFA_F_PERMANENT, 0, ifindex, [rta(IFA_ADDRESS, v4(addr)), rta(IFA_LOCAL, v4(addr))]),
    o,
  );
const done = (seq: number, pid: number): Buffer => {
  const b = Buffer.alloc(4);
  return nlmsg(NLMSG_DONE, b, { seq, pid, flags: NLM_F_MULTI });
};

// ---------------------------------------------------------------------------------------------
// A stand-in binding: the test plays the kernel

class FakeKernel {
  links: Buffer[] = [];
  addrs: Buffer[] = [];
  watcher: FakeWatcher | null = null;
  readonly binding: RtnetlinkBinding;

  constructor() {
    const kernel = this;
    class Watcher implements NativeNetlinkWatcher {
      readonly portId = 777;
      closed = false;
      refed = false;
      seq = 0;
      readonly requests: Array<{ type: number; family: number; seq: number }> = [];
      constructor(
        readonly groups: number,
        readonly onMessages: (buf: Buffer) => void,
      ) {
        kernel.watcher = this;
      }
      request(type: number, family: number): number {
        if (this.closed) throw new Error('closed');
        this.requests.push({ type, family, seq: ++this.seq });
        return this.seq;
      }
      ref(): void {
        this.refed = true;
      }
      unref(): void {
        this.refed = false;
      }
      close(): void {
        this.closed = true;
      }
    }
    this.binding = {
      NetlinkWatcher: Watcher,
      netlinkDump: (type: number) =>
        Buffer.concat([...(type === RTM_GETLINK ? this.links : type === RTM_GETADDR ? this.addrs : []), done(1, 0)]),
    };
  }

  /** Deliver one recv() buffer to the watcher. */
  deliver(...msgs: Buffer[]): void {
    assert.ok(this.watcher && !this.watcher.closed, 'a watcher is open');
    this.watcher.onMessages(Buffer.concat(msgs));
  }

  lastRequest(): { type: number; family: number; seq: number } {
    const r = this.watcher!.requests.at(-1);
    assert.ok(r, 'a request was sent');
    return r;
  }
}
type FakeWatcher = NativeNetlinkWatcher & {
  requests: Array<{ type: number; family: number; seq: number }>;
  onMessages: (buf: Buffer) => void;
  refed: boolean;
  groups: number;
};

function collect(source: RtnetlinkSource): NetdevEvent[] {
  const events: NetdevEvent[] = [];
  source.on('event', (e) => events.push(e));
  return events;
}

const brief = (events: NetdevEvent[]): string[] =>
  events.map((e) => `${e.type} ${e.name}${e.oldName ? ` from ${e.oldName}` : ''}${e.master ? ` to ${e.master}` : ''}`);

// ---------------------------------------------------------------------------------------------

describe('rtnetlink parsers (hand-made buffers)', () => {
  test('splitMessages frames several messages, honours padding and stops at a bad length', () => {
    const a = newlink({ ifindex: 2, name: 'abc' }, { seq: 7, pid: 9, flags: NLM_F_MULTI });
    const b = nlmsg(RTM_DELLINK, ifinfo({ ifindex: 3, name: 'x' }));
    const oddBody = Buffer.from([1, 2, 3, 4, 5]); // 21 bytes: padded to 24 between messages
    const c = nlmsg(99, oddBody);
    const msgs = splitMessages(Buffer.concat([a, c, b]));
    assert.deepEqual(
      msgs.map((m) => [m.type, m.seq, m.pid, m.flags]),
      [
        [RTM_NEWLINK, 7, 9, NLM_F_MULTI],
        [99, 0, 0, 0],
        [RTM_DELLINK, 0, 0, 0],
      ],
    );
    assert.deepEqual([...msgs[1]!.data], [1, 2, 3, 4, 5]);
    // The last message need not be padded.
    assert.equal(splitMessages(nlmsg(99, oddBody, { pad: false })).length, 1);
    // A length past the end, or below the header size, ends the parse.
    const bad = Buffer.from(a);
    bad.writeUInt32LE(bad.length + 4, 0);
    assert.equal(splitMessages(Buffer.concat([b, bad])).length, 1);
    const tiny = Buffer.from(a);
    tiny.writeUInt32LE(8, 0);
    assert.equal(splitMessages(Buffer.concat([tiny, b])).length, 0);
    assert.equal(splitMessages(Buffer.alloc(10)).length, 0);
    assert.equal(splitMessages(Buffer.alloc(0)).length, 0);
  });

  test('parseAttributes: padding, nested-flag masking, malformed tail', () => {
    const body = Buffer.concat([rtaStr(3, 'eth0'), rta(0x8000 | 5, Buffer.from([9])), rtaU32(10, 42)]);
    const attrs = parseAttributes(body, 0);
    assert.equal(attrs.get(3)!.toString(), 'eth0\0');
    assert.deepEqual([...attrs.get(5)!], [9]);
    assert.equal(attrs.get(10)!.readUInt32LE(0), 42);
    const broken = Buffer.concat([rtaU32(10, 1), Buffer.from([0xff, 0x00, 0x01, 0x00])]);
    assert.deepEqual([...parseAttributes(broken, 0).keys()], [10]);
  });

  test('RTM_NEWLINK / RTM_DELLINK: ifindex, name, flags, MAC, master, operstate, running', () => {
    const [m] = splitMessages(newlink(upLink(5, 'vx0', 'AA:bb:0c:0d:0e:0F', { master: 9, change: 1 })));
    const l = parseLinkMessage(m!)!;
    assert.deepEqual(l, {
      kind: 'link',
      deleted: false,
      family: 0,
      ifindex: 5,
      flags: RUNNING,
      change: 1,
      name: 'vx0',
      mac: 'aa:bb:0c:0d:0e:0f',
      master: 9,
      operstate: IF_OPER_UP,
      up: true,
      running: true,
    });
    // up, peer down: operstate LOWERLAYERDOWN is not running (IFF_RUNNING may lag behind)
    const noCarrier = parseLinkMessage(
      splitMessages(
        newlink(upLink(5, 'vx0', '02:00:00:00:00:01', { flags: IFF_UP, oper: IF_OPER_LOWERLAYERDOWN })),
      )[0]!,
    )!;
    assert.equal(noCarrier.up, true);
    assert.equal(noCarrier.running, false);
    // lo: operstate UNKNOWN with carrier (IFF_LOWER_UP) is running, without it is not
    const lo = (flags: number): boolean =>
      parseLinkMessage(
        splitMessages(newlink({ ifindex: 1, name: 'lo', mac: '00:00:00:00:00:00', flags, oper: IF_OPER_UNKNOWN }))[0]!,
      )!.running;
    assert.equal(lo(IFF_UP | IFF_RUNNING | IFF_LOWER_UP), true);
    assert.equal(lo(IFF_UP | IFF_RUNNING), false);
    // administratively down: never running, whatever a stale operstate says
    assert.equal(
      parseLinkMessage(splitMessages(newlink(upLink(5, 'vx0', '02:00:00:00:00:01', { flags: 0 })))[0]!)!.running,
      false,
    );
    // no IFLA_OPERSTATE: IFF_RUNNING decides
    assert.equal(
      parseLinkMessage(splitMessages(newlink({ ifindex: 7, name: 'x', flags: IFF_UP | IFF_RUNNING }))[0]!)!.running,
      true,
    );
    // no IFLA_ADDRESS (e.g. a tun device): mac ''; no IFLA_MASTER (or 0): master null
    const bare = parseLinkMessage(splitMessages(newlink({ ifindex: 7, name: 'tun0', master: 0 }))[0]!)!;
    assert.equal(bare.mac, '');
    assert.equal(bare.master, null);
    const del = parseLinkMessage(splitMessages(dellink({ ifindex: 5, name: 'vx0', change: 0xffffffff }))[0]!)!;
    assert.equal(del.deleted, true);
    assert.equal(del.change, 0xffffffff);
    const br = parseLinkMessage(splitMessages(newlink({ ifindex: 5, name: 'vx0', family: AF_BRIDGE, master: 9 }))[0]!)!;
    assert.equal(br.family, AF_BRIDGE);
    // other types, or a short body
    assert.equal(parseLinkMessage(splitMessages(newaddr4(2, '10.0.0.1'))[0]!), null);
    assert.equal(parseLinkMessage(splitMessages(nlmsg(RTM_NEWLINK, Buffer.alloc(8)))[0]!), null);
  });

  test('RTM_NEWADDR / RTM_DELADDR: IPv4 local vs peer, IPv6, IFA_FLAGS, label', () => {
    const [m4] = splitMessages(
      nlmsg(
        RTM_NEWADDR,
        ifaddr(AF_INET, 24, IFA_F_PERMANENT | IFA_F_SECONDARY, 0, 4, [
          rta(IFA_ADDRESS, v4('10.9.0.1')),
          rta(IFA_LOCAL, v4('10.9.0.1')),
          rtaStr(IFA_LABEL, 'vx0'),
        ]),
      ),
    );
    assert.deepEqual(parseAddrMessage(m4!), {
      kind: 'addr',
      deleted: false,
      ifindex: 4,
      family: 4,
      address: '10.9.0.1',
      peer: null,
      prefixLen: 24,
      scope: 0,
      flags: IFA_F_PERMANENT | IFA_F_SECONDARY,
      label: 'vx0',
    });
    // point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer
    const ptp = parseAddrMessage(
      splitMessages(
        nlmsg(
          RTM_NEWADDR,
          ifaddr(AF_INET, 32, 0, 0, 4, [rta(IFA_ADDRESS, v4('10.0.0.2')), rta(IFA_LOCAL, v4('10.0.0.1'))]),
        ),
      )[0]!,
    )!;
    assert.equal(ptp.address, '10.0.0.1');
    assert.equal(ptp.peer, '10.0.0.2');
    // IPv6: IFA_ADDRESS only; IFA_FLAGS (32 bits) wins over the 8-bit ifa_flags
    const v6 = Buffer.alloc(16);
    v6.writeUInt16BE(0xfe80, 0);
    v6[15] = 1;
    const a6 = parseAddrMessage(
      splitMessages(
        nlmsg(
          RTM_DELADDR,
          ifaddr(AF_INET6, 64, 0, 253, 4, [rta(IFA_ADDRESS, v6), rtaU32(IFA_FLAGS, IFA_F_TENTATIVE | 0x100)]),
        ),
      )[0]!,
    )!;
    assert.equal(a6.deleted, true);
    assert.equal(a6.family, 6);
    assert.equal(a6.address, 'fe80::1');
    assert.equal(a6.scope, 253);
    assert.equal(a6.flags, IFA_F_TENTATIVE | 0x100);
    assert.equal(a6.label, null);
    // other families, no address, short body
    assert.equal(parseAddrMessage(splitMessages(nlmsg(RTM_NEWADDR, ifaddr(17, 0, 0, 0, 4, [])))[0]!), null);
    assert.equal(parseAddrMessage(splitMessages(nlmsg(RTM_NEWADDR, ifaddr(AF_INET, 24, 0, 0, 4, [])))[0]!), null);
    assert.equal(parseAddrMessage(splitMessages(nlmsg(RTM_NEWADDR, Buffer.alloc(4)))[0]!), null);
  });

  test('RTM_NEWNEIGH: ifindex, dst, lladdr, state; bridge FDB entries are skipped', () => {
    const nd = (family: number, attrs: Buffer[], state = 0x02): Buffer => {
      const h = Buffer.alloc(12);
      h[0] = family;
      h.writeInt32LE(4, 4);
      h.writeUInt16LE(state, 8);
      h[10] = 0;
      h[11] = 1;
      return nlmsg(RTM_NEWNEIGH, Buffer.concat([h, ...attrs]));
    };
    const n = parseNeighMessage(
      splitMessages(nd(AF_INET, [rta(NDA_DST, v4('10.9.0.2')), rta(NDA_LLADDR, macBytes('02:00:00:00:00:aa'))]))[0]!,
    )!;
    assert.deepEqual(n, {
      kind: 'neigh',
      deleted: false,
      ifindex: 4,
      family: 4,
      dst: '10.9.0.2',
      lladdr: '02:00:00:00:00:aa',
      state: 2,
      flags: 0,
    });
    const incomplete = parseNeighMessage(splitMessages(nd(AF_INET, [rta(NDA_DST, v4('10.9.0.3'))], 0x01))[0]!)!;
    assert.equal(incomplete.lladdr, null);
    assert.equal(incomplete.state, 1);
    assert.equal(
      parseNeighMessage(splitMessages(nd(AF_BRIDGE, [rta(NDA_LLADDR, macBytes('02:00:00:00:00:aa'))]))[0]!),
      null,
    );
  });

  test('parseMessages keeps link, address and neighbour messages in order; parseError reads errno', () => {
    const buf = Buffer.concat([
      newlink(upLink(2, 'a', '02:00:00:00:00:01')),
      done(1, 1),
      newaddr4(2, '192.0.2.1'),
      dellink({ ifindex: 2, name: 'a' }),
    ]);
    assert.deepEqual(
      parseMessages(buf).map((m) => `${m.kind}${m.deleted ? '-' : '+'}`),
      ['link+', 'addr+', 'link-'],
    );
    const err = Buffer.alloc(20);
    err.writeInt32LE(-16, 0); // -EBUSY, then the offending request's header
    assert.equal(parseError(splitMessages(nlmsg(NLMSG_ERROR, err))[0]!), 16);
    assert.equal(parseError(splitMessages(nlmsg(NLMSG_ERROR, Buffer.alloc(20)))[0]!), 0);
  });
});

describe('RtnetlinkSource logic (a stand-in binding)', () => {
  const MAC_A = '02:00:00:00:00:0a';
  const MAC_B = '02:00:00:00:00:0b';
  const MAC_BR = '02:00:00:00:00:bb';

  function started(): { k: FakeKernel; s: RtnetlinkSource; events: NetdevEvent[] } {
    const k = new FakeKernel();
    k.links = [
      newlink({ ifindex: 1, name: 'lo', mac: '00:00:00:00:00:00', flags: RUNNING, oper: IF_OPER_UNKNOWN }),
      newlink(downLink(2, 'va', MAC_A)),
    ];
    k.addrs = [newaddr4(1, '127.0.0.1', 8), newaddr4(2, '10.1.0.1')];
    const s = new RtnetlinkSource({ binding: k.binding });
    const events = collect(s);
    s.start();
    return { k, s, events };
  }

  test('start() takes the initial table (IPv4 of a down device included), unref by default, no events', () => {
    const { k, s, events } = started();
    const snap = s.snapshot();
    assert.deepEqual([...snap.keys()], [1, 2]);
    assert.deepEqual(snap.get(2), {
      name: 'va',
      ifindex: 2,
      mac: MAC_A,
      up: false,
      running: false,
      master: null,
      addresses: [{ family: 4, address: '10.1.0.1' }],
    });
    assert.equal(k.watcher!.refed, false);
    assert.equal((k.watcher as unknown as FakeWatcher).groups, 0x1 | 0x4 | 0x10 | 0x100);
    s.ref();
    assert.equal(k.watcher!.refed, true);
    s.unref();
    assert.equal(k.watcher!.refed, false);
    assert.deepEqual(events, []);
    s.stop();
    assert.equal(k.watcher!.closed, true);
  });

  test('each RTM_NEWLINK is diffed against the table: up, down, rename, enslave, release, register, unregister', () => {
    const { k, s, events } = started();
    k.deliver(newlink(upLink(2, 'va', MAC_A, { flags: IFF_UP, oper: IF_OPER_DOWN })));
    assert.deepEqual(brief(events), [], 'admin up without carrier: not running yet');
    k.deliver(newlink(upLink(2, 'va', MAC_A)));
    k.deliver(newlink(upLink(2, 'va', MAC_A)), newlink(upLink(2, 'va', MAC_A, { change: 0 }))); // repeats: no event
    k.deliver(newlink(downLink(2, 'va', MAC_A)), newlink(upLink(2, 'va', MAC_A))); // down+up in one buffer: both
    k.deliver(newlink(downLink(2, 'vb', MAC_A)));
    k.deliver(newlink(downLink(9, 'br0', MAC_BR)));
    k.deliver(newlink(downLink(2, 'vb', MAC_A, { master: 9 })));
    k.deliver(
      newlink(downLink(2, 'vb', MAC_A, { master: 9, family: AF_BRIDGE })),
      dellink({ ifindex: 2, name: 'vb', family: AF_BRIDGE }),
    );
    k.deliver(newlink(downLink(2, 'vb', MAC_A)));
    k.deliver(newlink(upLink(3, 'vc', MAC_B, { master: 9 })));
    k.deliver(newlink(downLink(3, 'vc', MAC_B, { master: 9 })), dellink(downLink(3, 'vc', MAC_B)));
    k.deliver(dellink(downLink(3, 'vc', MAC_B))); // unknown by now: nothing
    assert.deepEqual(brief(events), [
      'up va',
      'down va',
      'up va',
      'rename vb from va',
      'down vb',
      'register br0',
      'enslave vb to br0',
      'release vb',
      'register vc',
      'enslave vc to br0',
      'up vc',
      'down vc',
      'unregister vc',
    ]);
    const ren = events.find((e) => e.type === 'rename')!;
    assert.deepEqual(ren, { type: 'rename', name: 'vb', oldName: 'va', ifindex: 2, mac: MAC_A });
    assert.deepEqual(events.at(-1), { type: 'unregister', name: 'vc', ifindex: 3, mac: MAC_B });
    assert.equal(s.snapshot().has(3), false);
    s.stop();
  });

  test('addresses follow RTM_NEWADDR / RTM_DELADDR and raise address events', () => {
    const { k, s } = started();
    const seen: AddressEvent[] = [];
    s.on('address', (a) => seen.push(a));
    k.deliver(newaddr4(2, '10.1.0.9', 16));
    assert.deepEqual(s.snapshot().get(2)!.addresses, [
      { family: 4, address: '10.1.0.1' },
      { family: 4, address: '10.1.0.9' },
    ]);
    k.deliver(nlmsg(RTM_DELADDR, ifaddr(AF_INET, 24, 0, 0, 2, [rta(IFA_LOCAL, v4('10.1.0.1'))])));
    assert.deepEqual(s.snapshot().get(2)!.addresses, [{ family: 4, address: '10.1.0.9' }]);
    assert.deepEqual(
      seen.map((a) => `${a.deleted ? '-' : '+'}${a.name} ${a.address}/${a.prefixLen}`),
      ['+va 10.1.0.9/16', '-va 10.1.0.1/24'],
    );
    k.deliver(dellink(downLink(2, 'va', MAC_A)));
    assert.equal(s.snapshot().has(2), false);
    s.stop();
  });

  test('an overrun resyncs with dumps on the watcher socket; notifications interleaved with them are not lost or doubled', () => {
    const { k, s, events } = started();
    const port = k.watcher!.portId;
    let overruns = 0;
    let resyncs = 0;
    s.on('overrun', () => overruns++);
    s.on('resync', () => resyncs++);
    // An old notification still queued before the overrun, then the overrun itself.
    k.deliver(newlink(upLink(2, 'va', MAC_A)));
    k.watcher!.onMessages(Buffer.alloc(0));
    assert.equal(overruns, 1);
    assert.equal(s.resyncing, true);
    const linkReq = k.lastRequest();
    assert.equal(linkReq.type, RTM_GETLINK);
    // While the link dump runs: a notification for a device already dumped (newer: must win), for
    // one not dumped yet (older: the dump must win) and a device deleted before its turn.
    const r = { seq: linkReq.seq, pid: port, flags: NLM_F_MULTI };
    k.deliver(
      newlink({ ifindex: 1, name: 'lo', mac: '00:00:00:00:00:00', flags: RUNNING, oper: IF_OPER_UNKNOWN }, r),
      newlink(downLink(4, 'vd', MAC_B), r), // lost: created while we overran
    );
    k.deliver(newlink(upLink(4, 'vd', MAC_B))); // newer than its dump entry
    k.deliver(newlink(upLink(6, 'vf', '02:00:00:00:00:0f'))); // lost register... then notified
    k.deliver(newlink(upLink(2, 'va', MAC_A, { name: 'va2', flags: IFF_UP, oper: IF_OPER_LOWERLAYERDOWN }), r)); // lost rename + carrier loss
    k.deliver(done(linkReq.seq, port));
    const addrReq = k.lastRequest();
    assert.equal(addrReq.type, RTM_GETADDR);
    k.deliver(
      newaddr4(2, '10.1.0.1', 24, { seq: addrReq.seq, pid: port }),
      newaddr4(4, '10.4.0.1', 24, { seq: addrReq.seq, pid: port }),
    );
    assert.equal(resyncs, 0, 'not done before NLMSG_DONE of the address dump');
    k.deliver(done(addrReq.seq, port));
    assert.equal(resyncs, 1);
    assert.equal(s.resyncing, false);
    assert.deepEqual(brief(events), [
      'up va', // the old queued notification
      'register vd', // notified during the dump: a device the table did not know yet
      'up vd',
      'register vf',
      'up vf',
      // the collapsed difference after the dump (what was lost), in diffSnapshots order
      'rename va2 from va',
      'down va2',
    ]);
    const snap = s.snapshot();
    assert.deepEqual([...snap.keys()], [1, 2, 4, 6]);
    assert.equal(snap.get(4)!.running, true, 'the notification newer than the dump entry wins');
    assert.deepEqual(snap.get(4)!.addresses, [{ family: 4, address: '10.4.0.1' }]);
    assert.equal(snap.get(2)!.name, 'va2');
    s.stop();
  });

  test('an overrun during a resync runs another one; a failed dump is reported and retried; stop() ends all', async () => {
    const { k, s } = started();
    const port = k.watcher!.portId;
    const errors: Error[] = [];
    s.on('error', (e) => errors.push(e));
    k.watcher!.onMessages(Buffer.alloc(0));
    const first = k.lastRequest();
    k.watcher!.onMessages(Buffer.alloc(0));
    assert.equal(k.watcher!.requests.length, 1, 'no second dump while one runs');
    const lo = newlink(
      { ifindex: 1, name: 'lo', mac: '00:00:00:00:00:00', flags: RUNNING, oper: IF_OPER_UNKNOWN },
      { seq: first.seq, pid: port },
    );
    k.deliver(lo, newlink(downLink(2, 'va', MAC_A), { seq: first.seq, pid: port }), done(first.seq, port));
    const addr = k.lastRequest();
    k.deliver(done(addr.seq, port));
    const again = k.lastRequest();
    assert.equal(again.type, RTM_GETLINK, 'the second overrun gets its own resync');
    assert.ok(again.seq > addr.seq);
    // The kernel refuses the dump: 'error', then a retry after a short delay.
    const err = Buffer.alloc(20);
    err.writeInt32LE(-16, 0);
    k.deliver(nlmsg(NLMSG_ERROR, err, { seq: again.seq, pid: port }));
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as unknown as { code: string }).code, 'EBUSY', 'errno 16, by name');
    assert.equal(s.resyncing, false);
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(k.lastRequest().type, RTM_GETLINK);
    assert.ok(k.lastRequest().seq > again.seq, 'retried');
    // Messages of another socket's dump (other pid) are notifications, not replies.
    const events = collect(s);
    k.deliver(newlink(upLink(2, 'va', MAC_A), { seq: k.lastRequest().seq, pid: port + 1 }));
    assert.deepEqual(brief(events), ['up va']);
    // stop(): closed, and a buffer being emitted stops emitting
    const w = k.watcher!;
    s.removeAllListeners('event');
    const afterStop: NetdevEvent[] = [];
    s.on('event', (e) => {
      afterStop.push(e);
      s.stop();
    });
    w.onMessages(Buffer.concat([newlink(downLink(2, 'va', MAC_A)), newlink(upLink(7, 'vg', MAC_B))]));
    assert.deepEqual(brief(afterStop), ['down va']);
    assert.equal(w.closed, true);
    w.onMessages(newlink(upLink(8, 'vh', MAC_B)));
    assert.deepEqual(brief(afterStop), ['down va'], 'nothing after stop()');
  });

  test('stop() then start(): the changes made while stopped are reported after a resync', () => {
    const { k, s, events } = started();
    s.stop();
    s.start();
    const req = k.lastRequest();
    const port = k.watcher!.portId;
    k.deliver(
      newlink(
        { ifindex: 1, name: 'lo', mac: '00:00:00:00:00:00', flags: RUNNING, oper: IF_OPER_UNKNOWN },
        { seq: req.seq, pid: port },
      ),
      done(req.seq, port),
    );
    const addr = k.lastRequest();
    k.deliver(done(addr.seq, port));
    assert.deepEqual(brief(events), ['unregister va']);
    s.stop();
  });

  test('a dump the kernel refuses is a NetconsoleError named by its errno; start() closes its watcher', () => {
    const k = new FakeKernel();
    const refused = Object.assign(new Error('netlink dump: No such device'), {
      errno: 19,
      code: 'ENODEV',
      syscall: 'netlink dump',
    });
    const s = new RtnetlinkSource({
      binding: {
        ...k.binding,
        netlinkDump: () => {
          throw refused; // as native/common.h's ThrowErrno makes it
        },
      },
    });
    assert.throws(
      () => s.start(),
      (e: unknown) => e instanceof NetconsoleError && e.code === 'ENODEV' && e.cause === refused,
    );
    assert.equal(k.watcher!.closed, true);
    assert.equal(s.running, false);
  });
});

// ---------------------------------------------------------------------------------------------
// Against the kernel

interface LifeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: Array<Record<string, unknown>>;
  stderr: string;
  ms: number;
}

/** Runs the lifetime child; kills it (SIGKILL) after `killAfterMs`. */
function runLife(mode: string, killAfterMs: number): Promise<LifeResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [LIFE, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, signal, lines, stderr, ms: Date.now() - t0 });
    });
  });
}

describe('rtnetlink on the host (no root needed)', () => {
  test('listDevices agrees with sysfs.ts on every device; dumps find lo', (t) => {
    if (!requireNative(t, 'netlink')) return;
    const ours = rtnetlinkLookup.listDevices();
    const theirs = sysfsListDevices();
    assert.ok(
      ours.some((d) => d.name === 'lo' && d.ifindex === 1 && d.addresses.some((a) => a.address === '127.0.0.1')),
    );
    const strip = (d: DeviceInfo): unknown => ({
      name: d.name,
      ifindex: d.ifindex,
      mac: d.mac,
      up: d.up,
      running: d.running,
      master: d.master,
    });
    assert.deepEqual(ours.map(strip), theirs.map(strip));
    for (const d of ours.filter((x) => x.running)) {
      const key = (a: { family: number; address: string }): string => `${a.family} ${a.address}`;
      assert.deepEqual(
        d.addresses.map(key).sort(),
        theirs
          .find((x) => x.ifindex === d.ifindex)!
          .addresses.map(key)
          .sort(),
        `addresses of running ${d.name}`,
      );
    }
    assert.equal(rtnetlinkLookup.getDevice('lo')!.ifindex, 1);
    assert.equal(rtnetlinkLookup.getDevice('nosuch-dev0'), null);
    assert.equal(rtnetlinkLookup.getDevice(''), null);
    assert.equal(rtnetlinkLookup.sourceAddress('lo', 4), '127.0.0.1');
  });

  test('netlinkDump and NetlinkWatcher argument checks', (t) => {
    if (!requireNative(t, 'netlink')) return;
    const n = native!;
    assert.throws(() => n.netlinkDump!(1, 0), RangeError);
    assert.throws(() => (n.netlinkDump as unknown as (a: string) => Buffer)('x'), TypeError);
    assert.throws(() => new n.NetlinkWatcher!(1, 'nope' as unknown as () => void), TypeError);
    assert.throws(() => new n.NetlinkWatcher!(1, () => {}, -5), RangeError);
    const buf = n.netlinkDump!(RTM_GETLINK, 0);
    const msgs = splitMessages(buf);
    assert.equal(msgs.at(-1)!.type, NLMSG_DONE, 'ends with NLMSG_DONE');
    assert.ok(msgs.filter((m) => m.type === RTM_NEWLINK).length >= 1);
  });

  test(
    'a process with only a started source (or watcher) exits on its own; ref() keeps it alive',
    { timeout: 30_000 },
    async (t) => {
      if (!requireNative(t, 'netlink')) return;
      const [src, watcher, refd] = await Promise.all([
        runLife('source', 10_000),
        runLife('watcher', 10_000),
        runLife('ref', 1500),
      ]);
      assert.equal(src.code, 0, `source: ${src.stderr}`);
      assert.equal(src.stderr, '');
      assert.ok(src.ms < 5000, `exited after ${src.ms} ms`);
      assert.ok(src.lines[0]!.started);
      assert.equal(watcher.code, 0, `watcher: ${watcher.stderr}`);
      assert.equal(watcher.stderr, '');
      assert.equal(refd.signal, 'SIGKILL', `ref(): still alive when killed (${refd.stderr})`);
      assert.ok(refd.lines[0]!.started);
    },
  );

  test(
    'a worker thread that ends with a source and a watcher open tears them down cleanly',
    { timeout: 30_000 },
    async (t) => {
      if (!requireNative(t, 'netlink')) return;
      const r = await runLife('worker', 10_000);
      assert.equal(r.code, 0, `exit ${String(r.code ?? r.signal)}: ${r.stderr}`);
      assert.equal(r.stderr, '');
      assert.deepEqual(
        r.lines.map((l) => Object.keys(l)[0]),
        ['fromWorker', 'workerExit'],
        JSON.stringify(r.lines),
      );
      assert.equal((r.lines[0]!.fromWorker as { started: boolean }).started, true);
      assert.equal(r.lines[1]!.workerExit, 0);
    },
  );

  test(
    'a throwing callback is an uncaught exception; close() inside the callback stops the rest',
    { timeout: 30_000 },
    async (t) => {
      if (!requireNative(t, 'netlink')) return;
      const [thrown, inside] = await Promise.all([runLife('throw', 10_000), runLife('close-inside', 10_000)]);
      assert.equal(thrown.code, 0, thrown.stderr);
      assert.deepEqual(thrown.lines.at(-1), { uncaught: 'boom from onMessages' });
      assert.equal(inside.code, 0, inside.stderr);
      assert.deepEqual(inside.lines.at(-1), { calls: 1, closed: true, requestAfterCloseThrew: true });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Inside network namespaces

describe('rtnetlink events inside network namespaces (root)', () => {
  test(
    'veth add, up, carrier, down, rename, enslave / release, delete, re-create: every event within milliseconds',
    { timeout: 90_000 },
    async (t) => {
      if (!requireRoot(t) || !requireNative(t, 'netlink')) return;
      await withNetns(['a', 'b'], async (ns) => {
        const a = ns.name('a');
        const latencies: Array<[string, number]> = [];
        /** Runs `cmd` in namespace `where` and waits for the event; it must come within PROMPT_MS of the command's end. */
        const expect = async (
          probe: NetdevProbe,
          where: string,
          cmd: string[],
          what: string,
          pred: (e: NetdevEvent) => boolean,
        ): Promise<NetdevEvent> => {
          const m = probe.eventMark();
          await ns.exec(where, cmd);
          const tDone = Date.now();
          const got = await probe.waitTimed(m, what, pred);
          const late = got.t - tDone;
          latencies.push([what, late]);
          assert.ok(late < PROMPT_MS, `${what}: ${late} ms after the command returned`);
          return got.event;
        };

        const probe = await NetdevProbe.start(ns, 'a', PROBE);
        assert.deepEqual(
          probe.initial.map((d) => d.name),
          ['lo'],
        );
        // Explicit, distinct ifindexes: a veth whose peer has the same ifindex (both 2 in fresh
        // namespaces) gets its operstate from the kernel's rate-limited linkwatch (up to 1 s late),
        // which would measure the kernel, not us.
        const reg = await expect(
          probe,
          'a',
          [
            'ip',
            'link',
            'add',
            'vx0',
            'index',
            '10',
            'type',
            'veth',
            'peer',
            'name',
            'vy0',
            'index',
            '20',
            'netns',
            ns.name('b'),
          ],
          'register vx0',
          is('register', 'vx0'),
        );
        const [link] = await ipJson<IpLink[]>(['link', 'show', 'vx0'], a);
        const mac = link!.address!;
        assert.equal(reg.ifindex, 10);
        assert.equal(reg.mac, mac);
        await ns.exec('b', ['ip', 'link', 'set', 'vy0', 'up']);
        await expect(probe, 'a', ['ip', 'link', 'set', 'vx0', 'up'], 'up vx0', is('up', 'vx0'));

        // carrier loss and back: the peer goes down / up in the other namespace
        const down1 = await expect(
          probe,
          'b',
          ['ip', 'link', 'set', 'vy0', 'down'],
          'down vx0 (carrier)',
          is('down', 'vx0'),
        );
        assert.equal(down1.ifindex, 10);
        const noCarrier = await probe.cmd<DeviceInfo>('device vx0');
        assert.equal(noCarrier.up, true);
        assert.equal(noCarrier.running, false);
        await expect(probe, 'b', ['ip', 'link', 'set', 'vy0', 'up'], 'up vx0 (carrier)', is('up', 'vx0'));

        // administratively down / up
        await expect(probe, 'a', ['ip', 'link', 'set', 'vx0', 'down'], 'down vx0 (admin)', is('down', 'vx0'));
        const adminDown = await probe.cmd<DeviceInfo>('device vx0');
        assert.equal(adminDown.up, false);
        assert.equal(adminDown.running, false);
        await expect(probe, 'a', ['ip', 'link', 'set', 'vx0', 'up'], 'up vx0 (admin)', is('up', 'vx0'));

        // rename (a veth must be down to be renamed)
        await expect(probe, 'a', ['ip', 'link', 'set', 'vx0', 'down'], 'down vx0 (before rename)', is('down', 'vx0'));
        let m = probe.eventMark();
        const ren = await expect(
          probe,
          'a',
          ['ip', 'link', 'set', 'vx0', 'name', 'vx0r'],
          'rename vx0 -> vx0r',
          (e) => e.type === 'rename',
        );
        assert.deepEqual(ren, { type: 'rename', name: 'vx0r', oldName: 'vx0', ifindex: 10, mac });
        assert.ok(
          !probe.since(m).some((e) => e.type === 'unregister' || e.type === 'register'),
          'a rename is not unregister + register',
        );
        await expect(probe, 'a', ['ip', 'link', 'set', 'vx0r', 'up'], 'up vx0r', is('up', 'vx0r'));

        // enslave to a bridge, release
        const brReg = await expect(
          probe,
          'a',
          ['ip', 'link', 'add', 'br0', 'index', '30', 'type', 'bridge'],
          'register br0',
          is('register', 'br0'),
        );
        const ens = await expect(
          probe,
          'a',
          ['ip', 'link', 'set', 'vx0r', 'master', 'br0'],
          'enslave vx0r',
          is('enslave', 'vx0r'),
        );
        assert.equal(ens.master, 'br0');
        assert.equal(ens.ifindex, 10);
        assert.equal((await probe.cmd<DeviceInfo>('index 10')).master, 'br0');
        // the source's table and the dump look-up, against `ip -j link`, while enslaved
        const links = await ipJson<IpLink[]>(['link'], a);
        for (const which of ['snapshot', 'list']) {
          const snap = await probe.cmd<DeviceInfo[]>(which);
          assert.deepEqual(
            snap.map((d) => [d.ifindex, d.name, d.mac, d.up, d.master]),
            links.map((l) => [l.ifindex, l.ifname, l.address, l.flags.includes('UP'), l.master ?? null]),
            which,
          );
        }
        const rel = await expect(
          probe,
          'a',
          ['ip', 'link', 'set', 'vx0r', 'nomaster'],
          'release vx0r',
          is('release', 'vx0r'),
        );
        assert.equal(rel.ifindex, 10);
        assert.equal((await probe.cmd<DeviceInfo>('device vx0r')).master, null);

        // delete
        const unreg = await expect(
          probe,
          'a',
          ['ip', 'link', 'del', 'vx0r'],
          'unregister vx0r',
          is('unregister', 'vx0r'),
        );
        assert.equal(unreg.ifindex, 10);
        assert.equal(unreg.mac, mac);
        assert.equal(await probe.cmd('device vx0r'), null);
        assert.equal(await probe.cmd('index 10'), null);
        assert.equal(await probe.cmd(`mac ${mac}`), null);

        // re-create with the same name and the same MAC: a new ifindex, found by MAC
        const reg2 = await expect(
          probe,
          'a',
          [
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
            'index',
            '21',
            'netns',
            ns.name('b'),
          ],
          'register vx0r',
          is('register', 'vx0r'),
        );
        assert.notEqual(reg2.ifindex, 10);
        assert.equal(reg2.mac, mac);
        const byMac = await probe.cmd<DeviceInfo>(`mac ${mac.toUpperCase()}`);
        assert.equal(byMac.name, 'vx0r');
        assert.equal(byMac.ifindex, reg2.ifindex);

        // deleted and re-created in one go: unregister, then register, each seen
        m = probe.eventMark();
        const reg3 = await expect(
          probe,
          'a',
          ['sh', '-c', `ip link del vx0r && ip link add vx0r address ${mac} type veth peer name vy0`],
          'register vx0r again',
          (e) => e.type === 'register' && e.name === 'vx0r' && e.ifindex !== reg2.ifindex,
        );
        const seq = probe.since(m);
        const idxUnreg = seq.findIndex((e) => e.type === 'unregister' && e.ifindex === reg2.ifindex);
        assert.ok(
          idxUnreg >= 0 && idxUnreg < seq.indexOf(reg3),
          `unregister #${reg2.ifindex} before register #${reg3.ifindex}`,
        );

        // the bridge goes too
        const brGone = await expect(
          probe,
          'a',
          ['ip', 'link', 'del', 'br0'],
          'unregister br0',
          is('unregister', 'br0'),
        );
        assert.equal(brGone.ifindex, brReg.ifindex);
        assert.equal(probe.overruns, 0);
        t.diagnostic(`latency after the command returned (ms): ${latencies.map(([w, l]) => `${w} ${l}`).join(', ')}`);
      });
    },
  );

  test(
    'a down and up faster than any poll interval is seen as both events, in order',
    { timeout: 60_000 },
    async (t) => {
      if (!requireRoot(t) || !requireNative(t, 'netlink')) return;
      await withNetns(['a', 'b'], async (ns) => {
        await ns.exec('a', [
          'ip',
          'link',
          'add',
          'vx0',
          'index',
          '10',
          'type',
          'veth',
          'peer',
          'name',
          'vy0',
          'index',
          '20',
          'netns',
          ns.name('b'),
        ]);
        await ns.exec('b', ['ip', 'link', 'set', 'vy0', 'up']);
        await ns.exec('a', ['ip', 'link', 'set', 'vx0', 'up']);
        const probe = await NetdevProbe.start(ns, 'a', PROBE);
        for (let i = 0; i < 50 && !(await probe.cmd<DeviceInfo>('device vx0')).running; i++)
          await new Promise((r) => setTimeout(r, 20));
        assert.equal((await probe.cmd<DeviceInfo>('device vx0')).running, true);

        for (const round of [1, 2, 3]) {
          const m = probe.eventMark();
          // One `ip` process, two requests: microseconds apart.
          const t0 = Date.now();
          await ns.exec('a', ['sh', '-c', 'printf "link set vx0 down\\nlink set vx0 up\\n" | ip -batch -']);
          const took = Date.now() - t0;
          const up = await probe.waitTimed(
            m,
            `up vx0 after the blip (round ${round})`,
            (e) => e.type === 'up' && e.name === 'vx0',
          );
          const seq = probe.since(m).filter((e) => e.name === 'vx0');
          const iDown = seq.findIndex((e) => e.type === 'down');
          assert.ok(
            iDown >= 0 && iDown < seq.indexOf(up.event),
            `down before up (round ${round}): ${JSON.stringify(seq)} (the blip took ${took} ms with process start-up)`,
          );
        }
        // And it really was too fast for polling: the sysfs view after the fact shows no change.
        assert.equal((await probe.cmd<DeviceInfo>('sysfs-device vx0')).running, true);
      });
    },
  );

  test(
    'rtnetlinkLookup sees the IPv4 address of a down veth (sysfs cannot); sourceAddress uses it',
    { timeout: 60_000 },
    async (t) => {
      if (!requireRoot(t) || !requireNative(t, 'netlink')) return;
      await withNetns(['a', 'b'], async (ns) => {
        await ns.vethPair('a', 'vx0', 'b', 'vy0', '10.9.0.1/24', '10.9.0.2/24');
        await ns.exec('a', ['ip', 'addr', 'add', '10.9.1.1/24', 'dev', 'vx0']);
        await ns.exec('a', ['ip', '-6', 'addr', 'add', 'fd09::1/64', 'dev', 'vx0', 'nodad']);
        await ns.exec('a', ['ip', 'link', 'set', 'vx0', 'down']);
        const probe = await NetdevProbe.start(ns, 'a', PROBE);
        const dev = await probe.cmd<DeviceInfo>('device vx0');
        assert.equal(dev.up, false);
        assert.equal(dev.running, false);
        assert.deepEqual(
          dev.addresses.filter((x) => x.family === 4),
          [
            { family: 4, address: '10.9.0.1' },
            { family: 4, address: '10.9.1.1' },
          ],
        );
        // IPv6 addresses go when a device goes down (net.ipv6.conf.*.keep_addr_on_down=0): compare with ip.
        const [ipAddr] = await ipJson<Array<{ addr_info: Array<{ family: string; local: string }> }>>(
          ['addr', 'show', 'dev', 'vx0'],
          ns.name('a'),
        );
        assert.deepEqual(
          dev.addresses.map((x) => `${x.family} ${x.address}`).sort(),
          ipAddr!.addr_info.map((x) => `${x.family === 'inet' ? 4 : 6} ${x.local}`).sort(),
          'the same addresses as ip addr',
        );
        const viaSysfs = await probe.cmd<DeviceInfo>('sysfs-device vx0');
        assert.deepEqual(
          viaSysfs.addresses.filter((x) => x.family === 4),
          [],
          'sysfs.ts cannot see it (the documented limit)',
        );
        assert.equal(await probe.cmd('source vx0 4'), '10.9.0.1');
        assert.equal(await probe.cmd('sysfs-source vx0 4'), null);
        assert.equal(await probe.cmd('source nosuch0 4'), null);
        // IPv6 source selection, with the device up again (the manual address is re-added: nodad).
        await ns.exec('a', ['ip', 'link', 'set', 'vx0', 'up']);
        await ns.exec('a', ['ip', '-6', 'addr', 'replace', 'fd09::1/64', 'dev', 'vx0', 'nodad']);
        assert.equal(await probe.cmd('source vx0 6'), 'fd09::1');
        assert.equal(await probe.cmd('source vx0 6 2001:db8::1'), 'fd09::1');
        assert.equal(
          await probe.cmd('source vx0 6 fe80::2'),
          await probe.cmd('sysfs-source vx0 6 fe80::2'),
          'link-local: the same choice as sysfs.ts',
        );
        await ns.exec('a', ['ip', 'link', 'set', 'vx0', 'down']);
        // The source's table has them too, and follows address changes.
        assert.deepEqual(
          (await probe.cmd<DeviceInfo[]>('snapshot'))
            .find((d) => d.name === 'vx0')!
            .addresses.filter((x) => x.family === 4).length,
          2,
        );
        await ns.exec('a', ['ip', 'addr', 'del', '10.9.0.1/24', 'dev', 'vx0']);
        let v4: string[] = [];
        for (let i = 0; i < 50; i++) {
          v4 = (await probe.cmd<DeviceInfo[]>('snapshot'))
            .find((d) => d.name === 'vx0')!
            .addresses.filter((x) => x.family === 4)
            .map((x) => x.address);
          if (v4.length === 1) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.deepEqual(v4, ['10.9.1.1']);
        assert.equal(await probe.cmd('source vx0 4'), '10.9.1.1');
        // a neighbour entry, through the dump
        await ns.exec('a', [
          'ip',
          'neigh',
          'add',
          '10.9.1.7',
          'lladdr',
          '02:00:00:00:00:07',
          'dev',
          'vx0',
          'nud',
          'permanent',
        ]);
        const neigh = await probe.cmd<Array<{ dst: string; lladdr: string }>>('neighbors');
        assert.ok(
          neigh.some((n) => n.dst === '10.9.1.7' && n.lladdr === '02:00:00:00:00:07'),
          JSON.stringify(neigh),
        );
      });
    },
  );

  test(
    'stop() (close) ends the events; start() again reports what changed meanwhile',
    { timeout: 60_000 },
    async (t) => {
      if (!requireRoot(t) || !requireNative(t, 'netlink')) return;
      await withNetns(['a'], async (ns) => {
        const probe = await NetdevProbe.start(ns, 'a', PROBE);
        assert.equal(await probe.cmd('stop'), false);
        const m = probe.eventMark();
        await ns.exec('a', ['ip', 'link', 'add', 'vq0', 'type', 'veth', 'peer', 'name', 'vq1']);
        await ns.exec('a', ['ip', 'link', 'set', 'vq0', 'up']);
        await new Promise((r) => setTimeout(r, 300));
        await probe.cmd('snapshot'); // a round trip: every line the probe wrote before it is in
        assert.deepEqual(probe.since(m), [], 'no events after stop()');
        assert.equal(await probe.cmd('start'), true);
        await probe.until('a resync after the restart', () => probe.resyncs >= 1);
        const names = probe
          .since(m)
          .filter((e) => e.type === 'register')
          .map((e) => e.name);
        assert.deepEqual(names.sort(), ['vq0', 'vq1'], 'the devices added while stopped, reported by the resync');
      });
    },
  );

  test(
    'an overrun (tiny receive buffer, blocked event loop) is followed by a resync that reports every change',
    { timeout: 90_000 },
    async (t) => {
      if (!requireRoot(t) || !requireNative(t, 'netlink')) return;
      await withNetns(['a'], async (ns) => {
        const a = ns.name('a');
        const probe = await NetdevProbe.start(ns, 'a', PROBE, ['1']); // the kernel's minimum SO_RCVBUF: a few messages
        const N = 40;
        const m = probe.eventMark();
        const blocked = probe.cmd('block 1500');
        const script = Array.from(
          { length: N },
          (_, i) => `link add ov${i} type veth peer name ow${i}\nlink set ov${i} up\n`,
        ).join('');
        const child = spawn('ip', ['-n', a, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (b: Buffer) => (err += b.toString()));
        child.stdin.end(script);
        const code = await new Promise<number | null>((r) => child.on('exit', r));
        assert.equal(code, 0, err);
        await blocked;
        await probe.until('overrun and resync', () => probe.overruns >= 1 && probe.resyncs >= 1);
        const want = new Set(Array.from({ length: N }, (_, i) => [`ov${i}`, `ow${i}`]).flat());
        const missing = (): string[] => {
          const got = new Set(
            probe
              .since(m)
              .filter((e) => e.type === 'register')
              .map((e) => e.name),
          );
          return [...want].filter((n) => !got.has(n));
        };
        // 30 s: under the whole suite beside two CPU hogs a run took 6 overruns and 4 resyncs and
        // was still short of 24 registers after 10 s; whether more time completes it, or a register
        // is lost for good, the message below tells.
        await probe
          .until('a register for each of the new devices', () => missing().length === 0, 30_000)
          .catch((err: Error) => {
            // Say which, and how far the source got, so that a failure can be read without a rerun.
            throw new Error(
              `${err.message}\nmissing: ${missing().join(' ')}; overruns ${probe.overruns}, resyncs ${probe.resyncs}`,
            );
          });
        // No device was registered twice, and the table equals the kernel's.
        const regs = probe
          .since(m)
          .filter((e) => e.type === 'register')
          .map((e) => e.name);
        assert.equal(regs.length, new Set(regs).size, `registered once each: ${regs.join(' ')}`);
        const links = await ipJson<IpLink[]>(['link'], a);
        const snap = await probe.cmd<DeviceInfo[]>('snapshot');
        assert.deepEqual(
          snap.map((d) => [d.ifindex, d.name, d.mac, d.up]),
          links.map((l) => [l.ifindex, l.ifname, l.address, l.flags.includes('UP')]),
        );
        t.diagnostic(`overruns: ${probe.overruns}, resyncs: ${probe.resyncs}, events: ${probe.since(m).length}`);
      });
    },
  );
});
