// Device events and device facts from rtnetlink, through the native addon (native/netlink.cc):
// the event-driven counterpart of poller.ts (SysfsPoller) and sysfs.ts (the look-ups).
//
// * Parsers (pure, no addon needed) for the rtnetlink messages we use: RTM_NEWLINK/DELLINK,
//   RTM_NEWADDR/DELADDR, RTM_NEWNEIGH/DELNEIGH, NLMSG_DONE/NLMSG_ERROR.
// * RtnetlinkSource: the same NetdevEvent 'event's as SysfsPoller, from kernel notifications,
//   within milliseconds and without losing changes that revert quickly (a down then up is seen as
//   both). It keeps a device table taken from an initial RTM_GETLINK + RTM_GETADDR dump and diffs
//   each RTM_NEWLINK / RTM_DELLINK against it (diffSnapshots from poller.ts, one device at a
//   time). When the kernel drops notifications (the socket's receive buffer overran: ENOBUFS), it
//   resyncs with a fresh dump on the same socket and reports the difference, as a poll would.
// * rtnetlinkLookup: the DeviceLookup functions of sysfs.ts on synchronous dumps; unlike sysfs,
//   the IPv4 addresses of a device that is down or has no carrier are visible.
//
// Limits:
// * Only the network namespace of the calling thread's process is seen.
// * Administrative up / down, renames, masters, registration and deletion are notified
//   synchronously by the kernel. Carrier and operstate changes (what `running` follows) come
//   from the kernel's linkwatch work, which may merge a quick carrier blip into no change at all
//   and, for devices it does not treat as urgent, delay the report by up to a second (a veth
//   whose peer has the same ifindex in its own namespace is such a device: use distinct indexes
//   in tests). These events are as prompt as the kernel's own view of the link, not more.
// * Between the watcher socket being bound and the initial dump (one synchronous call in start())
//   a notification may be queued that is older than the dump; if that device changed twice within
//   those microseconds, a transient pair of events (e.g. down, up) can be reported.
// * After an overrun the lost changes are reported collapsed, in diffSnapshots order (as polling
//   would report them), once the resync dump is complete.
// * Renaming a master does not raise events for its ports; their `master` names follow.
// * Changes of MAC address and addresses update the snapshot; addresses also raise 'address'
//   events, MAC changes raise nothing (NetdevEvent has no type for them).
import { EventEmitter } from 'node:events';
import { formatIp, parseIp } from '../base/addr.js';
import { asNetconsoleError, NetconsoleError } from '../base/errors.js';
import { native, nativeError, type NativeBinding, type NativeNetlinkWatcher } from '../core/native.js';
import type { DeviceLookup } from './types.js';
import { diffSnapshots } from './poller.js';
import { routeDevice as sysfsRouteDevice, type RouteResult } from './sysfs.js';
import { IFA_F_SECONDARY, type DeviceAddress, type DeviceInfo, type NetdevEvent } from './types.js';
import { lookupsOver, pickIpv6Source } from './lookup.js';

// ---------------------------------------------------------------------------------------------
// Constants (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h, linux/neighbour.h)

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

export const RTMGRP_LINK = 0x1;
export const RTMGRP_NEIGH = 0x4;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV6_IFADDR = 0x100;
/** The groups RtnetlinkSource subscribes to. */
export const RTNETLINK_GROUPS = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_NEIGH;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MASTER = 10;
export const IFLA_OPERSTATE = 16;

export const IF_OPER_UNKNOWN = 0;
export const IF_OPER_DOWN = 2;
export const IF_OPER_LOWERLAYERDOWN = 3;
export const IF_OPER_UP = 6;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_FLAGS = 8;

export { IFA_F_DADFAILED, IFA_F_DEPRECATED, IFA_F_PERMANENT, IFA_F_SECONDARY, IFA_F_TENTATIVE } from './types.js';

export const RT_SCOPE_LINK = 253;

export const NDA_DST = 1;
export const NDA_LLADDR = 2;

const NLMSG_HDRLEN = 16;
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const NDMSG_LEN = 12;

const align4 = (n: number): number => (n + 3) & ~3;

// ---------------------------------------------------------------------------------------------
// Parsing

/** One netlink message of a buffer. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The bytes after the 16-byte nlmsghdr (a view into the buffer). */
  data: Buffer;
}

/**
 * The messages of one recv() (or dump) buffer, in order. Parsing stops at a malformed header
 * (length below 16 or past the end of the buffer): what follows cannot be framed.
 */
export function splitMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  for (let off = 0; off + NLMSG_HDRLEN <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      data: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/**
 * The rtattrs of `data` from byte `start`, by type (NLA_F_NESTED / NLA_F_NET_BYTEORDER masked
 * off; the last of a repeated type wins). Stops at a malformed attribute.
 */
export function parseAttributes(data: Buffer, start: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let off = start; off + 4 <= data.length; ) {
    const len = data.readUInt16LE(off);
    const type = data.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > data.length) break;
    out.set(type, data.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

/** For NLMSG_ERROR: the errno (positive) it carries, 0 for an ACK. */
export function parseError(msg: NlMessage): number {
  if (msg.type !== NLMSG_ERROR || msg.data.length < 4) return 0;
  const error = msg.data.readInt32LE(0);
  return error === 0 ? 0 : -error;
}

function hexColons(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

function cString(b: Buffer | undefined): string | null {
  if (b === undefined) return null;
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

export interface LinkMessage {
  kind: 'link';
  deleted: boolean;
  /** ifi_family: AF_UNSPEC for devices; AF_BRIDGE messages describe bridge ports, not devices. */
  family: number;
  ifindex: number;
  /** ifi_flags (IFF_*). */
  flags: number;
  /** ifi_change: the flags that changed (0xffffffff for new and deleted devices). */
  change: number;
  /** IFLA_IFNAME, or null when absent. */
  name: string | null;
  /** IFLA_ADDRESS as lowercase colon-separated hex, '' when the device has no hardware address. */
  mac: string;
  /** IFLA_MASTER, or null when not enslaved. */
  master: number | null;
  /** IFLA_OPERSTATE (IF_OPER_*), or null when absent. */
  operstate: number | null;
  up: boolean;
  /** As sysfs.ts derives it: up, and operstate UP (or UNKNOWN with carrier, like lo). */
  running: boolean;
}

/** An RTM_NEWLINK / RTM_DELLINK, or null for any other message or a short one. */
export function parseLinkMessage(msg: NlMessage): LinkMessage | null {
  if ((msg.type !== RTM_NEWLINK && msg.type !== RTM_DELLINK) || msg.data.length < IFINFOMSG_LEN) return null;
  const d = msg.data;
  const flags = d.readUInt32LE(8);
  const attrs = parseAttributes(d, IFINFOMSG_LEN);
  const master = attrs.get(IFLA_MASTER);
  const oper = attrs.get(IFLA_OPERSTATE);
  const addr = attrs.get(IFLA_ADDRESS);
  const operstate = oper !== undefined && oper.length >= 1 ? oper[0]! : null;
  const up = (flags & IFF_UP) !== 0;
  const running =
    up &&
    (operstate === null
      ? (flags & IFF_RUNNING) !== 0
      : operstate === IF_OPER_UP || (operstate === IF_OPER_UNKNOWN && (flags & IFF_LOWER_UP) !== 0));
  const masterIndex = master !== undefined && master.length >= 4 ? master.readUInt32LE(0) : 0;
  return {
    kind: 'link',
    deleted: msg.type === RTM_DELLINK,
    family: d[0]!,
    ifindex: d.readInt32LE(4),
    flags,
    change: d.readUInt32LE(12),
    name: cString(attrs.get(IFLA_IFNAME)),
    mac: addr === undefined ? '' : hexColons(addr),
    master: masterIndex === 0 ? null : masterIndex,
    operstate,
    up,
    running,
  };
}

export interface AddrMessage {
  kind: 'addr';
  deleted: boolean;
  ifindex: number;
  family: 4 | 6;
  /** IFA_LOCAL when present (IPv4; the peer is then IFA_ADDRESS), else IFA_ADDRESS; canonical text. */
  address: string;
  /** IFA_ADDRESS when it differs from `address` (point-to-point peer), else null. */
  peer: string | null;
  prefixLen: number;
  /** ifa_scope (RT_SCOPE_*). */
  scope: number;
  /** IFA_F_* flags: IFA_FLAGS when present (32 bits), else ifa_flags. */
  flags: number;
  /** IFA_LABEL (IPv4), or null. */
  label: string | null;
}

function ipText(family: 4 | 6, b: Buffer | undefined): string | null {
  const n = family === 4 ? 4 : 16;
  if (b === undefined || b.length < n) return null;
  return formatIp(family, new Uint8Array(b.subarray(0, n)));
}

/** An RTM_NEWADDR / RTM_DELADDR of an IPv4 or IPv6 address, or null. */
export function parseAddrMessage(msg: NlMessage): AddrMessage | null {
  if ((msg.type !== RTM_NEWADDR && msg.type !== RTM_DELADDR) || msg.data.length < IFADDRMSG_LEN) return null;
  const d = msg.data;
  const af = d[0]!;
  if (af !== AF_INET && af !== AF_INET6) return null;
  const family = af === AF_INET ? 4 : 6;
  const attrs = parseAttributes(d, IFADDRMSG_LEN);
  const local = ipText(family, attrs.get(IFA_LOCAL));
  const address = ipText(family, attrs.get(IFA_ADDRESS));
  const main = local ?? address;
  if (main === null) return null;
  const flagsAttr = attrs.get(IFA_FLAGS);
  return {
    kind: 'addr',
    deleted: msg.type === RTM_DELADDR,
    ifindex: d.readUInt32LE(4),
    family,
    address: main,
    peer: local !== null && address !== null && address !== local ? address : null,
    prefixLen: d[1]!,
    scope: d[3]!,
    flags: flagsAttr !== undefined && flagsAttr.length >= 4 ? flagsAttr.readUInt32LE(0) : d[2]!,
    label: cString(attrs.get(IFA_LABEL)),
  };
}

export interface NeighMessage {
  kind: 'neigh';
  deleted: boolean;
  ifindex: number;
  family: 4 | 6;
  /** NDA_DST, canonical text, or null. */
  dst: string | null;
  /** NDA_LLADDR as lowercase colon-separated hex, or null (e.g. an incomplete entry). */
  lladdr: string | null;
  /** ndm_state (NUD_*). */
  state: number;
  /** ndm_flags (NTF_*). */
  flags: number;
}

/** An RTM_NEWNEIGH / RTM_DELNEIGH of an IPv4 or IPv6 neighbour, or null (bridge FDB entries too). */
export function parseNeighMessage(msg: NlMessage): NeighMessage | null {
  if ((msg.type !== RTM_NEWNEIGH && msg.type !== RTM_DELNEIGH) || msg.data.length < NDMSG_LEN) return null;
  const d = msg.data;
  const af = d[0]!;
  if (af !== AF_INET && af !== AF_INET6) return null;
  const family = af === AF_INET ? 4 : 6;
  const attrs = parseAttributes(d, NDMSG_LEN);
  const ll = attrs.get(NDA_LLADDR);
  return {
    kind: 'neigh',
    deleted: msg.type === RTM_DELNEIGH,
    ifindex: d.readInt32LE(4),
    family,
    dst: ipText(family, attrs.get(NDA_DST)),
    lladdr: ll === undefined || ll.length === 0 ? null : hexColons(ll),
    state: d.readUInt16LE(8),
    flags: d[10]!,
  };
}

export type RtMessage = LinkMessage | AddrMessage | NeighMessage;

/** The link, address and neighbour messages of a buffer, in order; everything else is skipped. */
export function parseMessages(buf: Buffer): RtMessage[] {
  const out: RtMessage[] = [];
  for (const m of splitMessages(buf)) {
    const r = parseLinkMessage(m) ?? parseAddrMessage(m) ?? parseNeighMessage(m);
    if (r !== null) out.push(r);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Device tables

interface LinkState {
  name: string;
  ifindex: number;
  mac: string;
  up: boolean;
  running: boolean;
  master: number | null;
}

interface AddrState {
  family: 4 | 6;
  address: string;
  prefixLen: number;
  scope: number;
  flags: number;
}

/** Links by ifindex, and each link's addresses in kernel order. */
interface Tables {
  links: Map<number, LinkState>;
  addrs: Map<number, AddrState[]>;
}

const newTables = (): Tables => ({ links: new Map(), addrs: new Map() });

function linkState(m: LinkMessage): LinkState {
  return { name: m.name ?? `if${m.ifindex}`, ifindex: m.ifindex, mac: m.mac, up: m.up, running: m.running, master: m.master };
}

function addrState(m: AddrMessage): AddrState {
  return { family: m.family, address: m.address, prefixLen: m.prefixLen, scope: m.scope, flags: m.flags };
}

const sameAddr = (a: AddrState, b: AddrState): boolean =>
  a.family === b.family && a.address === b.address && a.prefixLen === b.prefixLen;

/** Applies one link message to `t`; true when it was a device message (AF_UNSPEC). */
function applyLink(t: Tables, m: LinkMessage): boolean {
  if (m.family !== AF_UNSPEC) return false;
  if (m.deleted) {
    t.links.delete(m.ifindex);
    t.addrs.delete(m.ifindex);
  } else {
    t.links.set(m.ifindex, linkState(m));
  }
  return true;
}

function applyAddr(t: Tables, m: AddrMessage): void {
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

function deviceInfo(t: Tables, l: LinkState): DeviceInfo {
  const list = t.addrs.get(l.ifindex) ?? [];
  const addresses: DeviceAddress[] = [
    ...list.filter((a) => a.family === 4),
    ...list.filter((a) => a.family === 6),
  ].map((a) => ({ family: a.family, address: a.address }));
  const master = l.master === null ? null : (t.links.get(l.master)?.name ?? null);
  return { name: l.name, ifindex: l.ifindex, mac: l.mac, up: l.up, running: l.running, master, addresses };
}

function deviceMap(t: Tables): Map<number, DeviceInfo> {
  const out = new Map<number, DeviceInfo>();
  for (const i of [...t.links.keys()].sort((a, b) => a - b)) out.set(i, deviceInfo(t, t.links.get(i)!));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Synchronous dumps

/** The native functions rtnetlink.ts uses (the addon's, or a stand-in in tests). */
export type RtnetlinkBinding = Required<Pick<NativeBinding, 'NetlinkWatcher' | 'netlinkDump'>>;
type Backend = RtnetlinkBinding;

function defaultBackend(): Backend {
  if (native === null) {
    throw new NetconsoleError('ENOTSUP', `rtnetlink needs the native addon, which is not loaded: ${nativeError?.message ?? 'unknown reason'}`, { option: 'devices', value: 'rtnetlink' });
  }
  if (typeof native.netlinkDump !== 'function' || typeof native.NetlinkWatcher !== 'function') {
    throw new NetconsoleError('ENOTSUP', 'rtnetlink: the native addon was built without netlink.cc: run npm run build:native', { option: 'devices', value: 'rtnetlink' });
  }
  return native as Backend;
}

/** A dump's messages; dumps interrupted by concurrent changes (NLM_F_DUMP_INTR) are retried. */
function dump(backend: Backend, type: number, family: number): NlMessage[] {
  let msgs: NlMessage[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    msgs = splitMessages(backend.netlinkDump(type, family));
    if (!msgs.some((m) => (m.flags & NLM_F_DUMP_INTR) !== 0)) break;
  }
  return msgs;
}

function dumpTables(backend: Backend): Tables {
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
// The event source

/** An address added to or removed from a device (RTM_NEWADDR / RTM_DELADDR), with the device's name. */
export interface AddressEvent extends AddrMessage {
  name: string;
}

export interface RtnetlinkSourceOptions {
  /** SO_RCVBUF of the watcher socket (default 4 MiB); small values make overruns (and resyncs) likely. */
  rcvbufBytes?: number;
  /** The native functions to use (tests); default: the addon's. */
  binding?: Backend;
}

export interface RtnetlinkSource {
  on(event: 'event', listener: (ev: NetdevEvent) => void): this;
  on(event: 'address', listener: (ev: AddressEvent) => void): this;
  on(event: 'neighbor', listener: (ev: NeighMessage) => void): this;
  on(event: 'overrun', listener: () => void): this;
  on(event: 'resync', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'event', listener: (ev: NetdevEvent) => void): this;
  once(event: 'address', listener: (ev: AddressEvent) => void): this;
  once(event: 'neighbor', listener: (ev: NeighMessage) => void): this;
  once(event: 'overrun', listener: () => void): this;
  once(event: 'resync', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  off(event: 'event', listener: (ev: NetdevEvent) => void): this;
  off(event: 'address', listener: (ev: AddressEvent) => void): this;
  off(event: 'neighbor', listener: (ev: NeighMessage) => void): this;
  off(event: 'overrun', listener: () => void): this;
  off(event: 'resync', listener: () => void): this;
  off(event: 'error', listener: (err: Error) => void): this;
  emit(event: 'event', ev: NetdevEvent): boolean;
  emit(event: 'address', ev: AddressEvent): boolean;
  emit(event: 'neighbor', ev: NeighMessage): boolean;
  emit(event: 'overrun'): boolean;
  emit(event: 'resync'): boolean;
  emit(event: 'error', err: Error): boolean;
}

/** A resync in progress: a link dump, then an address dump, on the watcher socket. */
interface Resync {
  phase: 'link' | 'addr';
  seq: number;
  next: Tables;
  /** Another overrun, or an interrupted dump: resync again once this one is done. */
  again: boolean;
}

/**
 * Emits 'event' with a NetdevEvent for each device change the kernel notifies, as SysfsPoller
 * does for each difference between polls (types, fields and, for collapsed changes after an
 * overrun, order are the same). start() takes the initial table synchronously (no events for the
 * devices already there). The watcher never keeps the process alive unless ref() is called.
 * Also emits 'address' (address added / removed), 'neighbor' (neighbour table changes), 'overrun'
 * (notifications were lost; a resync follows), 'resync' (the resync's differences have been
 * emitted) and 'error' (a resync dump failed; it is retried), the last only when listened for.
 * After stop() and start() again, the changes made while stopped are reported collapsed, once the
 * resync dump that start() sends is complete.
 */
export class RtnetlinkSource extends EventEmitter {
  private readonly rcvbufBytes: number | undefined;
  private readonly backendOpt: Backend | undefined;
  private watcher: NativeNetlinkWatcher | null = null;
  private tables: Tables | null = null;
  private resync: Resync | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private refed = false;
  /** Bumped by stop(): events of a buffer being processed are not emitted after it. */
  private generation = 0;
  /** Overruns seen since construction. */
  overruns = 0;

  constructor(opts: RtnetlinkSourceOptions = {}) {
    super();
    this.rcvbufBytes = opts.rcvbufBytes;
    this.backendOpt = opts.binding;
  }

  private get backend(): Backend {
    return this.backendOpt ?? defaultBackend();
  }

  get running(): boolean {
    return this.watcher !== null;
  }

  /** True while a resync dump is in progress. */
  get resyncing(): boolean {
    return this.resync !== null;
  }

  start(): this {
    if (this.watcher !== null) return this;
    const backend = this.backend;
    const gen = this.generation;
    this.watcher = new backend.NetlinkWatcher(RTNETLINK_GROUPS, (buf) => this.onMessages(buf, gen), this.rcvbufBytes);
    if (this.refed) this.watcher.ref();
    if (this.tables === null) {
      try {
        this.tables = dumpTables(backend);
      } catch (err) {
        this.watcher.close();
        this.watcher = null;
        throw err;
      }
    } else {
      this.beginResync();
    }
    return this;
  }

  stop(): this {
    if (this.watcher !== null) {
      this.watcher.close();
      this.watcher = null;
    }
    this.generation++;
    this.resync = null;
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    return this;
  }

  /** Keep the process alive while started. */
  ref(): this {
    this.refed = true;
    this.watcher?.ref();
    return this;
  }

  /** The default: the source does not keep the process alive. */
  unref(): this {
    this.refed = false;
    this.watcher?.unref();
    return this;
  }

  /** A copy of the device table, by ifindex (taken now by a dump when there is none yet). */
  snapshot(): Map<number, DeviceInfo> {
    if (this.tables === null) this.tables = dumpTables(this.backend);
    return deviceMap(this.tables);
  }

  // ------------------------------------------------------------------ messages

  private onMessages(buf: Buffer, gen: number): void {
    if (gen !== this.generation) return;
    if (buf.length === 0) {
      this.overruns++;
      if (this.resync !== null) this.resync.again = true;
      else this.beginResync();
      this.emit('overrun');
      return;
    }
    const out: Array<() => void> = [];
    for (const m of splitMessages(buf)) this.handle(m, out);
    for (const emit of out) {
      if (gen !== this.generation) return;
      emit();
    }
  }

  private handle(m: NlMessage, out: Array<() => void>): void {
    const t = this.tables!;
    const r = this.resync;
    if (r !== null && this.watcher !== null && m.pid === this.watcher.portId && m.seq === r.seq) {
      this.handleDumpReply(r, m, out);
      return;
    }
    const link = parseLinkMessage(m);
    if (link !== null) {
      if (link.family !== AF_UNSPEC) return; // AF_BRIDGE: bridge port state, not a device
      const before = new Map<number, DeviceInfo>();
      const prev = t.links.get(link.ifindex);
      if (prev !== undefined) before.set(link.ifindex, deviceInfo(t, prev));
      if (r !== null) applyLink(r.next, link);
      if (link.deleted && prev === undefined) return;
      applyLink(t, link);
      const after = new Map<number, DeviceInfo>();
      const now = t.links.get(link.ifindex);
      if (now !== undefined) {
        if (now.master !== null && !t.links.has(now.master)) this.learnLink(now.master);
        after.set(link.ifindex, deviceInfo(t, now));
      }
      for (const e of diffSnapshots(before, after)) out.push(() => this.emit('event', e));
      return;
    }
    const addr = parseAddrMessage(m);
    if (addr !== null) {
      const l = t.links.get(addr.ifindex);
      if (l === undefined) return;
      applyAddr(t, addr);
      if (r !== null) applyAddr(r.next, addr);
      const ev: AddressEvent = { ...addr, name: l.name };
      out.push(() => this.emit('address', ev));
      return;
    }
    const neigh = parseNeighMessage(m);
    if (neigh !== null) out.push(() => this.emit('neighbor', neigh));
  }

  /** A master the table does not know (only after lost notifications): read it now. */
  private learnLink(ifindex: number): void {
    try {
      for (const m of dump(this.backend, RTM_GETLINK, AF_UNSPEC)) {
        const l = parseLinkMessage(m);
        if (l !== null && l.ifindex === ifindex && !l.deleted) applyLink(this.tables!, l);
      }
    } catch {
      // the name stays unknown (master: null) until the next notification or resync
    }
  }

  private handleDumpReply(r: Resync, m: NlMessage, out: Array<() => void>): void {
    if ((m.flags & NLM_F_DUMP_INTR) !== 0) r.again = true;
    if (m.type === NLMSG_ERROR) {
      const errno = parseError(m);
      if (errno === 0) return;
      this.resync = null;
      const err = asNetconsoleError({ errno, message: `errno ${errno}` }, 'rtnetlink resync dump failed');
      if (this.listenerCount('error') > 0) out.push(() => this.emit('error', err));
      this.scheduleRetry();
      return;
    }
    if (m.type === NLMSG_DONE) {
      if (r.phase === 'link') {
        r.phase = 'addr';
        r.seq = this.request(RTM_GETADDR);
        if (r.seq < 0) this.resync = null;
        return;
      }
      this.resync = null;
      const t = this.tables!;
      const events = diffSnapshots(deviceMap(t), deviceMap(r.next));
      this.tables = r.next;
      for (const e of events) out.push(() => this.emit('event', e));
      out.push(() => this.emit('resync'));
      if (r.again) out.push(() => this.beginResync());
      return;
    }
    if (r.phase === 'link') {
      const l = parseLinkMessage(m);
      if (l !== null && !l.deleted) applyLink(r.next, l);
    } else {
      const a = parseAddrMessage(m);
      if (a !== null && !a.deleted && r.next.links.has(a.ifindex)) applyAddr(r.next, a);
    }
  }

  private beginResync(): void {
    if (this.watcher === null || this.resync !== null) return;
    const seq = this.request(RTM_GETLINK);
    if (seq < 0) return;
    this.resync = { phase: 'link', seq, next: newTables(), again: false };
  }

  /** Sends a dump request on the watcher; -1 (and a retry later) when that fails. */
  private request(type: number): number {
    try {
      return this.watcher!.request(type, AF_UNSPEC);
    } catch (err) {
      if (this.listenerCount('error') > 0) this.emit('error', asNetconsoleError(err, 'rtnetlink dump request'));
      this.scheduleRetry();
      return -1;
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== null || this.watcher === null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.beginResync();
    }, 100);
    this.retryTimer.unref();
  }
}

// ---------------------------------------------------------------------------------------------
// Look-ups (DeviceLookup) on synchronous dumps

/** Every device of the current network namespace, sorted by ifindex, with all its addresses. */
export function listDevices(): DeviceInfo[] {
  return [...deviceMap(dumpTables(defaultBackend())).values()];
}

const finders = lookupsOver(listDevices);
export const { getDevice, deviceByMac, deviceByIfindex } = finders;

/** The route to `remoteIp`: sysfs.ts's routeDevice (the /proc route tables). */
export function routeDevice(remoteIp: string): RouteResult | null {
  return sysfsRouteDevice(remoteIp);
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
  const t = dumpTables(defaultBackend());
  const link = [...t.links.values()].find((l) => l.name === dev);
  if (link === undefined) return null;
  const list = (t.addrs.get(link.ifindex) ?? []).filter((a) => a.family === family);
  if (family === 4) {
    return (list.find((a) => (a.flags & IFA_F_SECONDARY) === 0) ?? list[0])?.address ?? null;
  }
  const candidates = list.map((a) => ({ address: a.address, bytes: parseIp('address', a.address).bytes, flags: a.flags, linkScope: a.scope === RT_SCOPE_LINK }));
  return pickIpv6Source(candidates, remote);
}

/** The IPv4 and IPv6 neighbour (ARP / NDP) entries of the namespace. */
export function neighbors(): NeighMessage[] {
  const out: NeighMessage[] = [];
  for (const m of dump(defaultBackend(), RTM_GETNEIGH, AF_UNSPEC)) {
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
      const b = defaultBackend();
      availability = splitMessages(b.netlinkDump(RTM_GETLINK, AF_UNSPEC)).some((m) => m.type === NLMSG_DONE);
    } catch {
      availability = false;
    }
  }
  return availability;
}
