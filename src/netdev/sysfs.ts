// Device facts without the native addon: /sys/class/net, /proc/net/{route,ipv6_route,if_inet6,
// fib_trie} and os.networkInterfaces(), all of the network namespace of the calling process.
//
// Every function reads the current state afresh (no caching: callers poll). Linux only.
//
// What these sources can and cannot see:
// * /sys/class/net lists every device at once, up or down, with or without addresses. Its `flags`
//   file is dev->flags: it holds IFF_UP but never IFF_RUNNING / IFF_LOWER_UP, so "running" is
//   derived from `operstate` (and `carrier` for devices such as lo whose operstate is 'unknown').
// * IPv6 addresses come from /proc/net/if_inet6, which lists them whatever the link state
//   (including tentative ones, and those of devices that are down but kept them).
// * IPv4 addresses come from os.networkInterfaces() (libuv over getifaddrs), and libuv drops every
//   interface that is not both IFF_UP and IFF_RUNNING: the IPv4 addresses of a device that is down
//   or has no carrier are NOT listed, even when configured. There is no /proc file that maps IPv4
//   addresses to devices (only `ip addr` / rtnetlink do), so DeviceInfo.addresses of a device that
//   is not running holds its IPv6 addresses only, and sourceAddress(dev, 4) is null for it.
// * /proc/net/route shows the main table only (unicast, blackhole as Iface '*', unreachable and
//   prohibit with RTF_REJECT); the first nexthop only of a multipath route. Policy routing (ip rule),
//   other tables, VRFs and source-specific routes are not modelled. Local IPv4 destinations are
//   found in the local table through /proc/net/fib_trie (LOCAL entries) and the host's addresses.
// * /proc/net/ipv6_route shows all tables; local-table entries carry RTF_LOCAL (or RTF_ANYCAST)
//   and are routed via lo here, as `ip route get` does.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { endianness, networkInterfaces } from 'node:os';
import { basename } from 'node:path';
import { formatIp, parseIp, type IpFamily } from '../base/addr.js';
import { IFA_F_DADFAILED, IFA_F_TENTATIVE, type DeviceAddress, type DeviceInfo } from './types.js';
import { lookupsOver, pickIpv6Source } from './lookup.js';

const SYS_NET = '/sys/class/net';

const IFF_UP = 0x1;

// Route flags (linux/route.h, linux/ipv6_route.h).
const RTF_UP = 0x0001;
const RTF_GATEWAY = 0x0002;
const RTF_REJECT = 0x0200;
const RTF_ANYCAST = 0x00100000;
const RTF_LOCAL = 0x80000000;

/** Scope field of /proc/net/if_inet6 for link-local addresses (IPV6_ADDR_LINKLOCAL). */
const IPV6_SCOPE_LINK = 0x20;

// ---------------------------------------------------------------------------------------------
// Small readers

/** The trimmed text of a file, or null when it cannot be read (EINVAL for `carrier` when down). */
function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Thrown inside listDevices when a device vanished (deleted or renamed) while being read. */
class Vanished extends Error {}

function readRequired(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Vanished(path);
    throw err;
  }
}

function readLines(path: string): string[] {
  const text = readText(path);
  return text === null ? [] : text.split('\n').filter((l) => l.trim() !== '');
}

/** 32 hex digits (as in /proc/net/if_inet6 and ipv6_route) to 16 bytes. */
function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * /proc/net/route prints each __be32 as the host's native u32 in %08X: on little-endian machines the
 * bytes read backwards. Returns the 4 bytes in network order.
 */
function routeHexBytes(hex: string): Uint8Array {
  const v = parseInt(hex, 16) >>> 0;
  const be = new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
  return endianness() === 'LE' ? be.reverse() : be;
}

function prefixMatches(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (a[i] !== b[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((a[i]! ^ b[i]!) & mask) === 0;
}

function maskBits(mask: Uint8Array): number {
  let n = 0;
  for (const b of mask) n += (b.toString(2).match(/1/g) ?? []).length;
  return n;
}

function canonical(text: string): DeviceAddress | null {
  try {
    const { family, bytes } = parseIp('address', text);
    return { family, address: formatIp(family, bytes) };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// /proc/net/if_inet6

interface Inet6Addr {
  bytes: Uint8Array;
  address: string;
  ifindex: number;
  prefixLen: number;
  scope: number;
  flags: number;
  dev: string;
}

/** `address ifindex prefixlen scope flags name`, all hex but the name. Empty when IPv6 is off. */
function readIfInet6(): Inet6Addr[] {
  const out: Inet6Addr[] = [];
  for (const line of readLines('/proc/net/if_inet6')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || f[0]!.length !== 32) continue;
    const bytes = hexBytes(f[0]!);
    out.push({
      bytes,
      address: formatIp(6, bytes),
      ifindex: parseInt(f[1]!, 16),
      prefixLen: parseInt(f[2]!, 16),
      scope: parseInt(f[3]!, 16),
      flags: parseInt(f[4]!, 16),
      dev: f[5]!,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Devices

interface NiEntry {
  family: IpFamily;
  address: string;
}

/** os.networkInterfaces() by name, canonical text; `family` is 'IPv4' (or 4 on Node 18.0-18.3). */
function readNetworkInterfaces(): Map<string, NiEntry[]> {
  const out = new Map<string, NiEntry[]>();
  for (const [name, list] of Object.entries(networkInterfaces())) {
    const entries: NiEntry[] = [];
    for (const a of list ?? []) {
      const fam = a.family as unknown;
      const family: IpFamily | null = fam === 'IPv4' || fam === 4 ? 4 : fam === 'IPv6' || fam === 6 ? 6 : null;
      if (family === null) continue;
      const c = canonical(a.address);
      if (c !== null && c.family === family) entries.push(c);
    }
    out.set(name, entries);
  }
  return out;
}

function groupByIndex(list: Inet6Addr[]): Map<number, Inet6Addr[]> {
  const out = new Map<number, Inet6Addr[]>();
  for (const a of list) {
    const l = out.get(a.ifindex);
    if (l) l.push(a);
    else out.set(a.ifindex, [a]);
  }
  return out;
}

/** One device, or null when `name` is not a device (the bonding driver's `bonding_masters` file). */
function readOneDevice(
  name: string,
  ni: Map<string, NiEntry[]>,
  v6ByIndex: Map<number, Inet6Addr[]>,
): DeviceInfo | null {
  const dir = `${SYS_NET}/${name}`;
  let ifindexText: string;
  try {
    ifindexText = readRequired(`${dir}/ifindex`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw err;
  }
  const ifindex = Number.parseInt(ifindexText, 10);
  if (!Number.isInteger(ifindex)) return null;
  const mac = readRequired(`${dir}/address`).toLowerCase();
  const flags = Number.parseInt(readRequired(`${dir}/flags`), 16) >>> 0;
  const operstate = readRequired(`${dir}/operstate`);
  // `carrier` fails with EINVAL while the device is administratively down.
  const carrierText = readText(`${dir}/carrier`);
  const carrier = carrierText === null ? null : Number.parseInt(carrierText, 10);
  let master: string | null = null;
  try {
    master = basename(readlinkSync(`${dir}/master`));
  } catch {
    master = null;
  }
  const up = (flags & IFF_UP) !== 0;
  const running = up && (operstate === 'up' || (operstate === 'unknown' && carrier === 1));

  const addresses: DeviceAddress[] = [];
  const seen = new Set<string>();
  const add = (a: DeviceAddress): void => {
    const key = `${a.family} ${a.address}`;
    if (seen.has(key)) return;
    seen.add(key);
    addresses.push(a);
  };
  const fromNi = ni.get(name) ?? [];
  for (const a of fromNi) if (a.family === 4) add(a);
  for (const a of v6ByIndex.get(ifindex) ?? []) add({ family: 6, address: a.address });
  for (const a of fromNi) if (a.family === 6) add(a);

  return { name, ifindex, mac, up, running, master, addresses };
}

/** One pass; `tolerant` skips devices that vanish mid-read instead of throwing Vanished. */
function listOnce(tolerant: boolean): DeviceInfo[] {
  const names = readdirSync(SYS_NET);
  const ni = readNetworkInterfaces();
  const v6ByIndex = groupByIndex(readIfInet6());
  const out: DeviceInfo[] = [];
  for (const name of names) {
    try {
      const dev = readOneDevice(name, ni, v6ByIndex);
      if (dev !== null) out.push(dev);
    } catch (err) {
      if (!(tolerant && err instanceof Vanished)) throw err;
    }
  }
  return out.sort((a, b) => a.ifindex - b.ifindex);
}

/**
 * Every device of the current network namespace, sorted by ifindex. A device deleted or renamed
 * while being read makes the listing start again (up to 5 times), so that a rename never shows as
 * a device missing from one snapshot; after that, vanished devices are left out.
 */
export function listDevices(): DeviceInfo[] {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return listOnce(false);
    } catch (err) {
      if (!(err instanceof Vanished)) throw err;
    }
  }
  return listOnce(true);
}

const finders = lookupsOver(listDevices);
export const { getDevice, deviceByMac, deviceByIfindex } = finders;

// ---------------------------------------------------------------------------------------------
// Routes

export interface RouteResult {
  /** The device the packet leaves by ('lo' for local destinations). */
  dev: string;
  /** The next hop when the route has one, else null (on-link). */
  gateway: string | null;
}

interface LocalPrefix {
  bytes: Uint8Array;
  len: number;
}

/** LOCAL entries of the IPv4 local table, from /proc/net/fib_trie (any table section). */
function readFibTrieLocals(): LocalPrefix[] {
  const out: LocalPrefix[] = [];
  let leaf: Uint8Array | null = null;
  for (const line of readLines('/proc/net/fib_trie')) {
    const m = /^\s*\|--\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (m) {
      try {
        leaf = parseIp('address', m[1]!).bytes;
      } catch {
        leaf = null;
      }
      continue;
    }
    const r = /^\s*\/(\d+)\s+\S+\s+LOCAL\b/.exec(line);
    if (r && leaf !== null) out.push({ bytes: leaf, len: Number(r[1]) });
  }
  return out;
}

/** The host's own addresses of `family` that a packet would be delivered to locally. */
function isLocalV4(bytes: Uint8Array): boolean {
  if (bytes[0] === 127 || bytes.every((b) => b === 0)) return true;
  for (const p of readFibTrieLocals()) if (prefixMatches(bytes, p.bytes, p.len)) return true;
  for (const list of readNetworkInterfaces().values()) {
    for (const a of list) if (a.family === 4 && a.address === formatIp(4, bytes)) return true;
  }
  return false;
}

function routeV4(dst: Uint8Array): RouteResult | null {
  if (isLocalV4(dst)) return { dev: 'lo', gateway: null };
  let best: { len: number; metric: number; iface: string; flags: number; gw: Uint8Array } | null = null;
  const lines = readLines('/proc/net/route');
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const iface = f[0]!;
    const flags = parseInt(f[3]!, 16);
    const metric = parseInt(f[6]!, 10);
    if ((flags & RTF_UP) === 0) continue;
    const dest = routeHexBytes(f[1]!);
    const mask = routeHexBytes(f[7]!);
    const len = maskBits(mask);
    if (!prefixMatches(dst, dest, len)) continue;
    if (best === null || len > best.len || (len === best.len && metric < best.metric)) {
      best = { len, metric, iface, flags, gw: routeHexBytes(f[2]!) };
    }
  }
  // Blackhole routes show Iface '*'; unreachable / prohibit carry RTF_REJECT.
  if (best === null || best.iface === '*' || (best.flags & RTF_REJECT) !== 0) return null;
  const hasGw = (best.flags & RTF_GATEWAY) !== 0 && best.gw.some((b) => b !== 0);
  return { dev: best.iface, gateway: hasGw ? formatIp(4, best.gw) : null };
}

function routeV6(dst: Uint8Array): RouteResult | null {
  const loopback = dst.every((b, i) => (i === 15 ? b === 1 : b === 0));
  if (loopback || dst.every((b) => b === 0)) return { dev: 'lo', gateway: null };
  if (readIfInet6().some((a) => a.bytes.every((b, i) => b === dst[i]) && (a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) === 0)) {
    return { dev: 'lo', gateway: null };
  }
  let best: { len: number; metric: number; local: boolean; iface: string; flags: number; gw: Uint8Array } | null = null;
  for (const line of readLines('/proc/net/ipv6_route')) {
    // dest plen src splen nexthop metric refcnt use flags dev
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const len = parseInt(f[1]!, 16);
    const srcLen = parseInt(f[3]!, 16);
    const metric = parseInt(f[5]!, 16) >>> 0;
    const flags = parseInt(f[8]!, 16) >>> 0;
    if ((flags & RTF_UP) === 0 && (flags & RTF_REJECT) === 0) continue;
    if (srcLen !== 0) continue; // source-specific routes: not modelled
    if (!prefixMatches(dst, hexBytes(f[0]!), len)) continue;
    const local = (flags & (RTF_LOCAL | RTF_ANYCAST)) !== 0;
    if (
      best === null ||
      len > best.len ||
      (len === best.len && local && !best.local) ||
      (len === best.len && local === best.local && metric < best.metric)
    ) {
      best = { len, metric, local, iface: f[9]!, flags, gw: hexBytes(f[4]!) };
    }
  }
  if (best === null || (best.flags & RTF_REJECT) !== 0) return null;
  if (best.local) return { dev: 'lo', gateway: null };
  const hasGw = (best.flags & RTF_GATEWAY) !== 0 && best.gw.some((b) => b !== 0);
  return { dev: best.iface, gateway: hasGw ? formatIp(6, best.gw) : null };
}

/**
 * The device (and next hop) of the route to `remoteIp`, or null when there is none (no route,
 * unreachable / prohibit / blackhole). The host's own addresses, 127.0.0.0/8 and ::1 go via lo.
 * A link-local IPv6 destination has a route on every IPv6 device: the first best one is returned.
 * Throws an InvalidValueError when `remoteIp` is not an address.
 */
export function routeDevice(remoteIp: string): RouteResult | null {
  const { family, bytes } = parseIp('remote_ip', remoteIp);
  return family === 4 ? routeV4(bytes) : routeV6(bytes);
}

// ---------------------------------------------------------------------------------------------
// Source address

/**
 * The address to bind a target to when local_ip is unset, as the kernel's netpoll_setup picks it:
 * - lo: 127.0.0.1 / ::1;
 * - IPv4: the device's first (primary) IPv4 address; null when the device is not running, as its
 *   IPv4 addresses are then invisible here (see the top of this file);
 * - IPv6: an address whose link-locality matches the remote's: link-local only when `remoteIp` is
 *   link-local, else a global one (remote unset counts as global). Among those, usable addresses
 *   (not tentative, not deprecated) first, then the longest common prefix with the remote.
 *   DAD-failed addresses are never returned.
 */
export function sourceAddress(dev: string, family: 4 | 6, remoteIp?: string): string | null {
  if (dev === 'lo') return family === 4 ? '127.0.0.1' : '::1';
  const remote = remoteIp === undefined ? null : parseIp('remote_ip', remoteIp);
  if (family === 4) {
    const list = readNetworkInterfaces().get(dev) ?? [];
    return list.find((a) => a.family === 4)?.address ?? null;
  }
  const candidates = readIfInet6()
    .filter((a) => a.dev === dev)
    .map((a) => ({ address: a.address, bytes: a.bytes, flags: a.flags, linkScope: a.scope === IPV6_SCOPE_LINK }));
  return pickIpv6Source(candidates, remote);
}
