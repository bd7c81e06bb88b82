// Device look-ups by name, MAC and ifindex over a device list, shared by the sysfs and the
// rtnetlink sources (each lists devices its own way).
import { IFA_F_DADFAILED, IFA_F_DEPRECATED, IFA_F_TENTATIVE, type DeviceInfo } from './types.js';

export interface DeviceFinders {
  /** The device named `name`, or null. */
  getDevice(name: string): DeviceInfo | null;
  /** The first device (lowest ifindex) whose MAC is `mac` (either case), or null. */
  deviceByMac(mac: string): DeviceInfo | null;
  deviceByIfindex(ifindex: number): DeviceInfo | null;
}

export function lookupsOver(listDevices: () => DeviceInfo[]): DeviceFinders {
  return {
    getDevice(name) {
      // Names become sysfs paths in one source: nothing that could leave /sys/class/net.
      if (typeof name !== 'string' || name === '' || name.includes('/') || name === '.' || name === '..') return null;
      return listDevices().find((d) => d.name === name) ?? null;
    },
    deviceByMac(mac) {
      if (typeof mac !== 'string') return null;
      const want = mac.toLowerCase();
      return listDevices().find((d) => d.mac === want) ?? null;
    },
    deviceByIfindex(ifindex) {
      return listDevices().find((d) => d.ifindex === ifindex) ?? null;
    },
  };
}

/** An IPv6 address of a device, as either source reads it. */
export interface Ipv6Candidate {
  address: string;
  bytes: Uint8Array;
  /** IFA_F_* flags. */
  flags: number;
  /** The source's own link-scope marker (if_inet6 0x20, rtnetlink RT_SCOPE_LINK). */
  linkScope: boolean;
}

function isV6LinkLocal(bytes: Uint8Array): boolean {
  return bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80;
}

function commonPrefixBits(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! ^ b[i]!;
    if (x === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(x) - 24;
  }
  return n;
}

/**
 * The IPv6 source address for a remote, as netpoll_setup picks it: link-local only for a
 * link-local remote (and never the other kind), never DAD-failed or ::1, usable before tentative
 * or deprecated, then the longest prefix shared with the remote. Null when none qualifies.
 */
export function pickIpv6Source(
  candidates: readonly Ipv6Candidate[],
  remote: { family: 4 | 6; bytes: Uint8Array } | null,
): string | null {
  const wantLinkLocal = remote !== null && remote.family === 6 && isV6LinkLocal(remote.bytes);
  const eligible = candidates.filter(
    (a) =>
      (a.flags & IFA_F_DADFAILED) === 0 &&
      (a.linkScope || isV6LinkLocal(a.bytes)) === wantLinkLocal &&
      !a.bytes.every((b, i) => (i === 15 ? b === 1 : b === 0)),
  );
  if (eligible.length === 0) return null;
  const usable = (a: Ipv6Candidate): number => ((a.flags & (IFA_F_TENTATIVE | IFA_F_DEPRECATED)) === 0 ? 1 : 0);
  const match = (a: Ipv6Candidate): number =>
    remote !== null && remote.family === 6 ? commonPrefixBits(a.bytes, remote.bytes) : 0;
  let best = eligible[0]!;
  for (const c of eligible.slice(1)) {
    if (usable(c) > usable(best) || (usable(c) === usable(best) && match(c) > match(best))) best = c;
  }
  return best.address;
}
