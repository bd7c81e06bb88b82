// Address parsing and formatting shared by the whole library (target attributes, the frame
// builder, the CLI). Hand-written rather than delegated to node:net because we need the bytes,
// not just a yes/no, and because the accepted forms must be exactly what netconsole's configfs
// accepts: no zone ids, no brackets, no ports, no leading/trailing junk.
import { invalid } from './errors.js';

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  /** 4 bytes for IPv4, 16 for IPv6, network byte order. */
  bytes: Uint8Array;
}

const MAC_ACCEPTED = 'six colon-separated hex octets, like 12:34:56:78:9a:bc';
const IP_ACCEPTED =
  'an IPv4 dotted quad like 192.0.2.1, or IPv6 text like fc00::1 or ::ffff:192.0.2.1 (no zone id, no brackets)';

const HEX = /^[0-9a-fA-F]+$/;
/** One decimal IPv4 octet: 0..255 with no leading zero (a leading zero reads as octal to inet_aton). */
const IPV4_OCTET = /^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;

/** `hh:hh:hh:hh:hh:hh`, exactly 17 characters, hex digits of either case. */
export function parseMac(option: string, text: string): Uint8Array {
  if (typeof text !== 'string' || text.length !== 17) throw invalid(option, text, MAC_ACCEPTED);
  const parts = text.split(':');
  if (parts.length !== 6) throw invalid(option, text, MAC_ACCEPTED);
  const out = new Uint8Array(6);
  parts.forEach((part, i) => {
    // length 2 per part follows from 17 chars and 6 parts only if no part is empty, so check it.
    if (part.length !== 2 || !HEX.test(part)) throw invalid(option, text, MAC_ACCEPTED);
    out[i] = parseInt(part, 16);
  });
  return out;
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The 4 bytes of a dotted quad, or null when `text` is not one. */
function parseIpv4Bytes(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!IPV4_OCTET.test(parts[i]!)) return null;
    out[i] = Number(parts[i]);
  }
  return out;
}

/** The 8 16-bit groups of a run of `h16` separated by ':', or null; an IPv4 tail is allowed when `tail`. */
function parseGroups(text: string, tail: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4Bytes(part);
      if (v4 === null) return null;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      if (part.length < 1 || part.length > 4 || !HEX.test(part)) return null;
      groups.push(parseInt(part, 16));
    }
  }
  return groups;
}

/** The 16 bytes of RFC 4291 section 2.2 text, or null when `text` is not one. */
function parseIpv6Bytes(text: string): Uint8Array | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  let groups: number[];
  if (halves.length === 2) {
    // The IPv4 tail may only end the address, so only the right half may hold one.
    const left = parseGroups(halves[0]!, false);
    const right = parseGroups(halves[1]!, true);
    if (left === null || right === null) return null;
    // `::` stands for one or more zero groups (RFC 4291), so at most 7 explicit groups.
    const missing = 8 - left.length - right.length;
    if (missing < 1) return null;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    const all = parseGroups(text, true);
    if (all === null || all.length !== 8) return null;
    groups = all;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** The family of an address's text: the presence of ':' decides it, as inet_pton callers (and
 *  netconsole) do. */
export function ipFamilyOf(text: string): IpFamily {
  return text.includes(':') ? 6 : 4;
}

export function parseIp(option: string, text: string): ParsedIp {
  if (typeof text !== 'string') throw invalid(option, text, IP_ACCEPTED);
  if (ipFamilyOf(text) === 6) {
    const bytes = parseIpv6Bytes(text);
    if (bytes !== null) return { family: 6, bytes };
  } else {
    const bytes = parseIpv4Bytes(text);
    if (bytes !== null) return { family: 4, bytes };
  }
  throw invalid(option, text, IP_ACCEPTED);
}

function formatIpv4(bytes: Uint8Array): string {
  return Array.from(bytes).join('.');
}

/** RFC 5952: lowercase, no leading zeros, the longest run (first on a tie) of 2+ zero groups as `::`. */
function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 section 5: IPv4-mapped addresses are written with the dotted tail (as inet_ntop does).
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIpv4(bytes.subarray(12))}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed (RFC 5952 section 4.2.2)
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function formatIp(family: IpFamily, bytes: Uint8Array): string {
  const want = family === 4 ? 4 : 16;
  if (bytes.length !== want) throw invalid('address', bytes, `${want} bytes for IPv${family}`);
  return family === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
}
