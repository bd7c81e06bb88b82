// The rtnetlink messages this library reads, parsed (pure: no addon needed, tested on bytes):
// RTM_NEWLINK/DELLINK, RTM_NEWADDR/DELADDR, RTM_NEWNEIGH/DELNEIGH, NLMSG_DONE/NLMSG_ERROR.
import { formatIp } from '../base/addr.js';

// ---------------------------------------------------------------------------------------------
// Constants (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h, linux/neighbour.h)

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

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
const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

const RTMGRP_LINK = 0x1;
const RTMGRP_NEIGH = 0x4;
const RTMGRP_IPV4_IFADDR = 0x10;
const RTMGRP_IPV6_IFADDR = 0x100;
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
  for (let off = 0; off + NLMSG_HDRLEN <= buf.length;) {
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
  for (let off = start; off + 4 <= data.length;) {
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
