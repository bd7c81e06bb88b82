// Small readers of /proc and of os.networkInterfaces(), shared by the device listing (sysfs.ts) and
// the route reader (routes.ts). Every call reads afresh; nothing is cached. Linux only.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { formatIp, parseIp, type IpFamily } from '../base/addr.js';
import type { DeviceAddress } from './types.js';

/** Scope field of /proc/net/if_inet6 for link-local addresses (IPV6_ADDR_LINKLOCAL). */
export const IPV6_SCOPE_LINK = 0x20;

/** The trimmed text of a file, or null when it cannot be read (EINVAL for `carrier` when down). */
export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

export function readLines(path: string): string[] {
  const text = readText(path);
  return text === null ? [] : text.split('\n').filter((l) => l.trim() !== '');
}

/** 32 hex digits (as in /proc/net/if_inet6 and ipv6_route) to 16 bytes. */
export function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function prefixMatches(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (a[i] !== b[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((a[i]! ^ b[i]!) & mask) === 0;
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

export interface Inet6Addr {
  bytes: Uint8Array;
  address: string;
  ifindex: number;
  prefixLen: number;
  scope: number;
  flags: number;
  dev: string;
}

/** `address ifindex prefixlen scope flags name`, all hex but the name. Empty when IPv6 is off. */
export function readIfInet6(): Inet6Addr[] {
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
// os.networkInterfaces()

export interface NiEntry {
  family: IpFamily;
  address: string;
}

/** os.networkInterfaces() by name, canonical text; `family` is 'IPv4' (or 4 on Node 18.0-18.3). */
export function readNetworkInterfaces(): Map<string, NiEntry[]> {
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
