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
// * Routes: routes.ts.
//
// A device being deleted while it is read (the kernel's net/core/net-sysfs.c, fs/kernfs): a read of
// /sys/class/net/<dev>/<attr> fails with ENOENT once the directory is gone, EINVAL while the device
// is unregistering (net-sysfs's dev_isalive() check in netdev_show and most *_show functions) and
// ENODEV when kernfs deactivated the file between open() and read(), or from the alive check of the
// attributes that take the rtnl (operstate, carrier, ...). All three mean "this device went away":
// the listing starts again (listDevices); a device going away never makes it fail. Reads that may
// fail for a live device (`carrier` is EINVAL while the device is down; `master` is absent when not
// enslaved) are trusted only if the device's ifindex reads the same afterwards: a device is never
// half read, nor two devices read as one across a rename.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { DeviceAddress, DeviceInfo } from './types.js';
import { lookupsOver, pickIpv6Source } from './lookup.js';
import {
  IPV6_SCOPE_LINK,
  readIfInet6,
  readNetworkInterfaces,
  readText,
  type Inet6Addr,
  type NiEntry,
} from './procfs.js';
import { parseIp } from '../base/addr.js';
import { asNetconsoleError } from '../base/errors.js';

export { routeDevice, type RouteResult } from './routes.js';

const SYS_NET = '/sys/class/net';

const IFF_UP = 0x1;

/** Thrown inside listDevices when a device vanished (deleted or renamed) while being read. */
class Vanished extends Error {}

/** What a read of a device's attribute answers while the device is being deleted (above). */
const GONE: ReadonlySet<string | undefined> = new Set(['ENOENT', 'EINVAL', 'ENODEV']);

function readRequired(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if (GONE.has((err as NodeJS.ErrnoException).code)) throw new Vanished(path);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Devices

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
  // Still the same live device: the optional reads above were of it (see the top of this file).
  if (readRequired(`${dir}/ifindex`) !== ifindexText) throw new Vanished(dir);
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
 * a device missing from one snapshot; after that, vanished devices are left out. Throws (a
 * NetconsoleError) only when /sys/class/net itself cannot be read, never for a device going away.
 */
export function listDevices(): DeviceInfo[] {
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return listOnce(false);
      } catch (err) {
        if (!(err instanceof Vanished)) throw err;
      }
    }
    return listOnce(true);
  } catch (err) {
    // Not a device going away: sysfs itself cannot be read. A look-up says so with a code.
    throw asNetconsoleError(err, 'reading /sys/class/net');
  }
}

const finders = lookupsOver(listDevices);
export const { getDevice, deviceByMac, deviceByIfindex } = finders;

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
