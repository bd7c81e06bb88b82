// Setting a target up (kernel: netcons_netpoll_setup): find its device, check it, pick the
// source address, resolve raw mode's addressing, and only then acquire the socket. The result is
// one value, a Binding: everything that can fail happens before the socket is acquired, so a
// failed setup holds nothing, and committing a Binding (target-lifecycle.ts) cannot fail.
//
// Lock: rtnl held (device look-ups and sockets), by the caller.
import type { Socket as DgramSocket } from 'node:dgram';
import type { Retention } from '../core/retention.js';
import { createSocket } from 'node:dgram';
import { parseIp, parseMac } from '../base/addr.js';
import type { TargetAttributes } from '../config/attributes.js';
import { InvalidValueError } from '../base/errors.js';
import { L } from '../core/layout.js';
import type { DeviceInfo, DeviceLookup } from '../netdev/types.js';
export type { DeviceLookup } from '../netdev/types.js';
import type { Route } from '../sender/types.js';
import type { SocketPool, SocketRef } from '../sender/sockets.js';
import { addressingBlock } from '../core/wire.js';

/** UDP: through a UDP socket (the kernel writes the headers). Raw: whole Ethernet frames built in
 *  WebAssembly through the device's AF_PACKET socket, as netpoll does. Auto: raw when the native
 *  sender is in use and the device is not loopback (raw frames into lo are dropped as martians). */
export type Mode = 'udp' | 'raw' | 'auto';

/** The device a target is bound to. */
export interface BoundDevice {
  name: string;
  ifindex: number;
  mac: string;
}

/** What an enabled target holds: released together by deferred cleanup. */
export interface Binding {
  socket: SocketRef;
  route: Route;
  device: BoundDevice;
  mode: 'udp' | 'raw';
  /** The device was running at setup (the write path skips the target until its 'up'). */
  running: boolean;
  /** F_* flags of the target's slot. */
  flags: number;
  /** Raw mode: the addressing block; with remote_mac 'auto', the next hop it follows. */
  addr: Uint8Array | null;
  nextHop: string | null;
  /** A reliable target (host/reliable.ts): its replies' socket and its retention region, set up
   *  by the table after the rest (host/target-lifecycle.ts setup). */
  reliable?: { replies: DgramSocket; retention: Retention };
}

export interface SetupContext {
  lookup: DeviceLookup;
  sockets: SocketPool;
  mode: Mode;
}

/** NUD_INCOMPLETE | NUD_FAILED: neighbour entries without a usable link-layer address. */
export const NUD_UNUSABLE = 0x01 | 0x20;
const DISCARD_PORT = 9;
/** How long enabling with remote_mac 'auto' waits for the kernel to resolve the next hop. */
const NEIGH_WAIT_MS = 1000;

function findDevice(ctx: SetupContext, a: Readonly<TargetAttributes>, bindMac: string | null): DeviceInfo {
  if (a.dev_name !== '') {
    const dev = ctx.lookup.getDevice(a.dev_name);
    if (!dev)
      throw new InvalidValueError('ENODEV', 'dev_name', a.dev_name, 'an existing network device', 'no such device:');
    return dev;
  }
  if (bindMac !== null) {
    const dev = ctx.lookup.deviceByMac(bindMac);
    if (!dev)
      throw new InvalidValueError(
        'ENODEV',
        'local_mac',
        bindMac,
        'the MAC of an existing device',
        'no device with MAC',
      );
    return dev;
  }
  const route = ctx.lookup.routeDevice(a.remote_ip!);
  const dev = route ? ctx.lookup.getDevice(route.dev) : null;
  if (!dev)
    throw new InvalidValueError(
      'ENETUNREACH',
      'remote_ip',
      a.remote_ip,
      'an address with a route (or set dev_name)',
      'no route to',
    );
  return dev;
}

/**
 * Sets a target up for generation `gen` (the slot's next TGT_GEN). Throws (holding nothing) when
 * the target cannot come up; otherwise returns its Binding, socket acquired.
 */
export async function setupTarget(
  ctx: SetupContext,
  a: Readonly<TargetAttributes>,
  bindMac: string | null,
  gen: number,
): Promise<Binding> {
  const remote = parseIp('remote_ip', a.remote_ip!);
  const dev = findDevice(ctx, a, bindMac);
  if (dev.master !== null) {
    throw new InvalidValueError(
      'EBUSY',
      'dev_name',
      dev.name,
      'a device that is not enslaved',
      `enslaved to ${dev.master}:`,
    );
  }
  const local = a.local_ip ?? ctx.lookup.sourceAddress(dev.name, remote.family, a.remote_ip!);
  if (local === null) {
    throw new InvalidValueError(
      'EDESTADDRREQ',
      'local_ip',
      null,
      `an IPv${remote.family} address on ${dev.name}`,
      `${dev.name} has no IPv${remote.family} address; local_ip is`,
    );
  }
  const raw = ctx.mode === 'raw' || (ctx.mode === 'auto' && dev.name !== 'lo' && dev.mac !== '00:00:00:00:00:00');
  const flags =
    (a.extended ? L.F_EXTENDED : 0) |
    (a.release ? L.F_RELEASE : 0) |
    (a.timestamps ? L.F_TIMESTAMPS : 0) |
    (raw ? L.F_RAW : 0);
  const device = { name: dev.name, ifindex: dev.ifindex, mac: dev.mac };
  const base = { family: remote.family, address: a.remote_ip!, port: a.remote_port, gen };
  if (!raw) {
    // The kernel routes the datagrams: the sender watches the route's device and next hop.
    const via = ctx.lookup.routeDevice(a.remote_ip!);
    const out = via !== null && via.dev !== dev.name ? ctx.lookup.getDevice(via.dev) : null;
    const path = {
      device: out !== null ? { name: out.name, ifindex: out.ifindex } : device,
      nextHop: via?.gateway ?? a.remote_ip!,
    };
    const socket = await ctx.sockets.acquire(remote.family, local, a.local_port);
    return {
      socket,
      route: { socket, ...base, ...path },
      device,
      mode: 'udp',
      running: dev.running,
      flags,
      addr: null,
      nextHop: null,
    };
  }
  // netpoll: destination remote_mac (default broadcast), source the device's MAC, no routing.
  // 'auto': the MAC of the next hop (the route's gateway, or remote_ip on a direct route).
  let nextHop: string | null = null;
  let dstMac: Uint8Array;
  if (a.remote_mac === 'auto') {
    nextHop = ctx.lookup.routeDevice(a.remote_ip!)?.gateway ?? a.remote_ip!;
    dstMac = parseMac('remote_mac', await resolveNeighbor(ctx.lookup, dev.ifindex, nextHop, remote.family));
  } else {
    dstMac = parseMac('remote_mac', a.remote_mac);
  }
  const addr = addressingBlock({
    dstMac,
    srcMac: parseMac('local_mac', dev.mac),
    family: remote.family,
    srcIp: parseIp('local_ip', local).bytes,
    dstIp: remote.bytes,
    srcPort: a.local_port,
    dstPort: a.remote_port,
  });
  const socket = ctx.sockets.acquireRaw(dev.ifindex, dev.name);
  const route = { socket, ...base, raw: { ifindex: dev.ifindex, dstMac }, device, nextHop: null };
  return { socket, route, device, mode: 'raw', running: dev.running, flags, addr, nextHop };
}

/** The link-layer address of `ip` on device `ifindex`, asking the kernel to resolve it when the
 *  neighbour table has none (one empty datagram to the discard port starts ARP / ND). */
async function resolveNeighbor(lookup: DeviceLookup, ifindex: number, ip: string, family: 4 | 6): Promise<string> {
  const table = lookup.neighbors;
  if (!table) {
    throw new InvalidValueError(
      'ENOTSUP',
      'remote_mac',
      'auto',
      'an explicit MAC (auto needs rtnetlink: the native addon)',
      'cannot resolve',
    );
  }
  const find = (): string | undefined =>
    table().find((n) => n.ifindex === ifindex && n.dst === ip && n.lladdr !== null && (n.state & NUD_UNUSABLE) === 0)
      ?.lladdr ?? undefined;
  let mac = find();
  if (mac === undefined) {
    const probe = createSocket(family === 6 ? 'udp6' : 'udp4');
    probe.on('error', () => {}); // an unreachable next hop shows as no neighbour entry below
    await new Promise<void>((resolve) => probe.send(Buffer.alloc(0), DISCARD_PORT, ip, () => resolve()));
    probe.close();
    for (let i = 0; i < NEIGH_WAIT_MS / 20 && mac === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
      mac = find();
    }
  }
  if (mac === undefined) {
    throw new InvalidValueError(
      'EHOSTUNREACH',
      'remote_mac',
      'auto',
      `a next hop (${ip}) that answers ARP/ND, or an explicit MAC`,
      `no neighbour entry for ${ip}:`,
    );
  }
  return mac;
}
