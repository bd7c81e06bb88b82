// The device table from rtnetlink dumps, kept current by notifications (applyLink, applyAddr), and
// the look-ups (DeviceLookup) on synchronous dumps: unlike sysfs, the IPv4 addresses of a device
// that is down or has no carrier are visible. Routes come from routes.ts (no route dump here).
import { parseIp } from '../base/addr.js';
import { asNetconsoleError, NetconsoleError } from '../base/errors.js';
import { native, nativeError, type NativeBinding } from '../core/native.js';
import { lookupsOver, pickIpv6Source } from './lookup.js';
import { routeDevice as readRoute, type RouteResult } from './routes.js';
import { IFA_F_SECONDARY, type DeviceAddress, type DeviceInfo, type DeviceLookup } from './types.js';
import {
  AF_UNSPEC,
  NLM_F_DUMP_INTR,
  NLMSG_DONE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RT_SCOPE_LINK,
  parseAddrMessage,
  parseLinkMessage,
  parseNeighMessage,
  splitMessages,
  type AddrMessage,
  type LinkMessage,
  type NeighMessage,
  type NlMessage,
} from './rtnetlink-messages.js';

// ---------------------------------------------------------------------------------------------
// Device tables

export interface LinkState {
  name: string;
  ifindex: number;
  mac: string;
  up: boolean;
  running: boolean;
  master: number | null;
}

export interface AddrState {
  family: 4 | 6;
  address: string;
  prefixLen: number;
  scope: number;
  flags: number;
}

/** Links by ifindex, and each link's addresses in kernel order. */
export interface Tables {
  links: Map<number, LinkState>;
  addrs: Map<number, AddrState[]>;
}

export const newTables = (): Tables => ({ links: new Map(), addrs: new Map() });

function linkState(m: LinkMessage): LinkState {
  return {
    name: m.name ?? `if${m.ifindex}`,
    ifindex: m.ifindex,
    mac: m.mac,
    up: m.up,
    running: m.running,
    master: m.master,
  };
}

function addrState(m: AddrMessage): AddrState {
  return { family: m.family, address: m.address, prefixLen: m.prefixLen, scope: m.scope, flags: m.flags };
}

const sameAddr = (a: AddrState, b: AddrState): boolean =>
  a.family === b.family && a.address === b.address && a.prefixLen === b.prefixLen;

/** Applies one link message to `t`; true when it was a device message (AF_UNSPEC). */
export function applyLink(t: Tables, m: LinkMessage): boolean {
  if (m.family !== AF_UNSPEC) return false;
  if (m.deleted) {
    t.links.delete(m.ifindex);
    t.addrs.delete(m.ifindex);
  } else {
    t.links.set(m.ifindex, linkState(m));
  }
  return true;
}

export function applyAddr(t: Tables, m: AddrMessage): void {
  const list = t.addrs.get(m.ifindex) ?? [];
  const s = addrState(m);
  const i = list.findIndex((a) => sameAddr(a, s));
  if (m.deleted) {
    if (i >= 0) list.splice(i, 1);
  } else if (i >= 0) {
    list[i] = s;
  } else {
    list.push(s);
  }
  if (list.length > 0) t.addrs.set(m.ifindex, list);
  else t.addrs.delete(m.ifindex);
}

export function deviceInfo(t: Tables, l: LinkState): DeviceInfo {
  const list = t.addrs.get(l.ifindex) ?? [];
  const addresses: DeviceAddress[] = [...list.filter((a) => a.family === 4), ...list.filter((a) => a.family === 6)].map(
    (a) => ({ family: a.family, address: a.address }),
  );
  const master = l.master === null ? null : (t.links.get(l.master)?.name ?? null);
  return { name: l.name, ifindex: l.ifindex, mac: l.mac, up: l.up, running: l.running, master, addresses };
}

export function deviceMap(t: Tables): Map<number, DeviceInfo> {
  const out = new Map<number, DeviceInfo>();
  for (const i of [...t.links.keys()].sort((a, b) => a - b)) out.set(i, deviceInfo(t, t.links.get(i)!));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Synchronous dumps

/** The native functions rtnetlink uses (the addon's, or a stand-in in tests). */
export type RtnetlinkBinding = Pick<NativeBinding, 'NetlinkWatcher' | 'netlinkDump'>;

export function defaultBinding(): RtnetlinkBinding {
  if (native === null) {
    throw new NetconsoleError(
      'ENOTSUP',
      `rtnetlink needs the native addon, which is not loaded: ${nativeError?.message ?? 'unknown reason'}`,
      { option: 'devices', value: 'rtnetlink' },
    );
  }
  return native;
}

/**
 * A dump's messages; dumps interrupted by concurrent changes (NLM_F_DUMP_INTR) are retried. A
 * failed dump (the addon's errno error) throws a NetconsoleError with the errno's name.
 */
export function dump(backend: RtnetlinkBinding, type: number, family: number): NlMessage[] {
  let msgs: NlMessage[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    let buf: Buffer;
    try {
      buf = backend.netlinkDump(type, family);
    } catch (err) {
      throw asNetconsoleError(err, 'rtnetlink dump');
    }
    msgs = splitMessages(buf);
    if (!msgs.some((m) => (m.flags & NLM_F_DUMP_INTR) !== 0)) break;
  }
  return msgs;
}

export function dumpTables(backend: RtnetlinkBinding): Tables {
  const t = newTables();
  for (const m of dump(backend, RTM_GETLINK, AF_UNSPEC)) {
    const l = parseLinkMessage(m);
    if (l !== null && !l.deleted) applyLink(t, l);
  }
  for (const m of dump(backend, RTM_GETADDR, AF_UNSPEC)) {
    const a = parseAddrMessage(m);
    if (a !== null && !a.deleted && t.links.has(a.ifindex)) applyAddr(t, a);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Look-ups (DeviceLookup) on synchronous dumps

/** Every device of the current network namespace, sorted by ifindex, with all its addresses. */
export function listDevices(): DeviceInfo[] {
  return [...deviceMap(dumpTables(defaultBinding())).values()];
}

const finders = lookupsOver(listDevices);
export const { getDevice, deviceByMac, deviceByIfindex } = finders;

/** The route to `remoteIp`: routes.ts (the /proc route tables). */
export function routeDevice(remoteIp: string): RouteResult | null {
  return readRoute(remoteIp);
}

/**
 * The address to bind a target to when local_ip is unset, with sysfs.ts's rules (lo: 127.0.0.1 /
 * ::1; IPv6: link-locality matching the remote's, usable before tentative / deprecated, longest
 * common prefix, never DAD-failed), except that for IPv4 the device's primary address is returned
 * whether or not the device is running.
 */
export function sourceAddress(dev: string, family: 4 | 6, remoteIp?: string): string | null {
  if (dev === 'lo') return family === 4 ? '127.0.0.1' : '::1';
  const remote = remoteIp === undefined ? null : parseIp('remote_ip', remoteIp);
  const t = dumpTables(defaultBinding());
  const link = [...t.links.values()].find((l) => l.name === dev);
  if (link === undefined) return null;
  const list = (t.addrs.get(link.ifindex) ?? []).filter((a) => a.family === family);
  if (family === 4) {
    return (list.find((a) => (a.flags & IFA_F_SECONDARY) === 0) ?? list[0])?.address ?? null;
  }
  const candidates = list.map((a) => ({
    address: a.address,
    bytes: parseIp('address', a.address).bytes,
    flags: a.flags,
    linkScope: a.scope === RT_SCOPE_LINK,
  }));
  return pickIpv6Source(candidates, remote);
}

/** The IPv4 and IPv6 neighbour (ARP / NDP) entries of the namespace. */
export function neighbors(): NeighMessage[] {
  const out: NeighMessage[] = [];
  for (const m of dump(defaultBinding(), RTM_GETNEIGH, AF_UNSPEC)) {
    const n = parseNeighMessage(m);
    if (n !== null && !n.deleted) out.push(n);
  }
  return out;
}

/** The DeviceLookup of targets.ts on rtnetlink (plus listDevices and deviceByIfindex). */
export const rtnetlinkLookup: DeviceLookup & {
  listDevices(): DeviceInfo[];
  deviceByIfindex(ifindex: number): DeviceInfo | null;
} = { getDevice, deviceByMac, deviceByIfindex, listDevices, routeDevice, sourceAddress, neighbors };

let availability: boolean | undefined;

/** Whether the addon is loaded with netlink support and a link dump works here (checked once). */
export function rtnetlinkAvailable(): boolean {
  if (availability === undefined) {
    try {
      const b = defaultBinding();
      availability = splitMessages(b.netlinkDump(RTM_GETLINK, AF_UNSPEC)).some((m) => m.type === NLMSG_DONE);
    } catch {
      availability = false;
    }
  }
  return availability;
}
