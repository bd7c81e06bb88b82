// The route to a destination, read from /proc/net/route, /proc/net/ipv6_route and
// /proc/net/fib_trie (with the host's own addresses): what both device sources use (rtnetlink has
// no route dump here), and what picks a target's device when dev_name is empty.
//
// * /proc/net/route shows the main table only (unicast, blackhole as Iface '*', unreachable and
//   prohibit with RTF_REJECT); the first nexthop only of a multipath route. Policy routing (ip rule),
//   other tables, VRFs and source-specific routes are not modelled. Local IPv4 destinations are
//   found in the local table through /proc/net/fib_trie (LOCAL entries) and the host's addresses.
// * /proc/net/ipv6_route shows all tables; local-table entries carry RTF_LOCAL (or RTF_ANYCAST)
//   and are routed via lo here, as `ip route get` does.
import { endianness } from 'node:os';
import { formatIp, parseIp } from '../base/addr.js';
import { IFA_F_DADFAILED, IFA_F_TENTATIVE } from './types.js';
import { hexBytes, prefixMatches, readIfInet6, readLines, readNetworkInterfaces } from './procfs.js';

// Route flags (linux/route.h, linux/ipv6_route.h).
const RTF_UP = 0x0001;
const RTF_GATEWAY = 0x0002;
const RTF_REJECT = 0x0200;
const RTF_ANYCAST = 0x00100000;
const RTF_LOCAL = 0x80000000;

/**
 * /proc/net/route prints each __be32 as the host's native u32 in %08X: on little-endian machines the
 * bytes read backwards. Returns the 4 bytes in network order.
 */
function routeHexBytes(hex: string): Uint8Array {
  const v = parseInt(hex, 16) >>> 0;
  const be = new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
  return endianness() === 'LE' ? be.reverse() : be;
}

function maskBits(mask: Uint8Array): number {
  let n = 0;
  for (const b of mask) n += (b.toString(2).match(/1/g) ?? []).length;
  return n;
}

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
  if (
    readIfInet6().some(
      (a) => a.bytes.every((b, i) => b === dst[i]) && (a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) === 0,
    )
  ) {
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
