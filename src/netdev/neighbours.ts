// The neighbour (ARP / NDP) entries the dgram sender needs to know whether a next hop is resolved
// (src/sender/path.ts; the native sender watches them itself: native/path.cc). With rtnetlink, a
// dump when a next hop is first asked for, then the 'neighbor' notifications; without it, IPv4
// entries are read from /proc/net/arp each time (IPv6 has no such file: 'unknown').
import { readLines } from './procfs.js';

/** NUD_VALID (linux/neighbour.h): a datagram goes out at once. */
const NUD_VALID = 0x80 | 0x40 | 0x02 | 0x10 | 0x04 | 0x08;
const NUD_FAILED = 0x20;
/** ATF_COM (linux/if_arp.h): a /proc/net/arp entry with a hardware address. */
const ATF_COM = 0x02;

export type NeighState = 'valid' | 'invalid' | 'unknown';

export interface NeighbourEntry {
  ifindex: number;
  dst: string | null;
  state: number;
  deleted?: boolean;
}

export class NeighbourTable {
  private readonly entries = new Map<string, number>();
  /** Each entry's latest decisive changes (performance.now(), resolved or not), oldest first. */
  private readonly changes = new Map<string, Array<{ at: number; resolved: boolean }>>();
  private loaded = false;

  /** `dump`: every entry (rtnetlink), or null to read /proc/net/arp instead. */
  constructor(private readonly dump: (() => NeighbourEntry[]) | null) {}

  /** A notification (rtnetlink 'neighbor'). */
  apply(n: NeighbourEntry): void {
    if (n.dst === null || !this.loaded) return;
    const key = `${n.ifindex} ${n.dst}`;
    if (n.deleted) this.entries.delete(key);
    else this.entries.set(key, n.state);
    const failed = n.deleted === true || (n.state & NUD_FAILED) !== 0;
    if (!failed && (n.state & NUD_VALID) === 0) return;
    let list = this.changes.get(key);
    if (list === undefined) this.changes.set(key, (list = []));
    list.push({ at: performance.now(), resolved: !failed });
    if (list.length > 8) list.shift();
  }

  /** Notifications were lost (an overrun): read the table again when next asked. */
  reset(): void {
    this.loaded = false;
    this.entries.clear();
  }

  /** When the entry of `ip` on `ifindex` last failed or went away (0: not seen; not known without rtnetlink). */
  failedAt(ifindex: number, ip: string): number {
    const list = this.changes.get(`${ifindex} ${ip}`) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (!list[i]!.resolved) return list[i]!.at;
    return 0;
  }

  /** The first decisive change of the entry after `since`: it resolved, or failed / went away. */
  firstChange(ifindex: number, ip: string, since: number): 'resolved' | 'failed' | null {
    const c = (this.changes.get(`${ifindex} ${ip}`) ?? []).find((x) => x.at > since);
    return c === undefined ? null : c.resolved ? 'resolved' : 'failed';
  }

  /** Whether a datagram to `ip` through the device (`ifindex`, `dev`) would go out at once. */
  state(ifindex: number, dev: string, ip: string): NeighState {
    if (this.dump === null) return arpState(dev, ip);
    if (!this.loaded) {
      this.loaded = true;
      for (const n of this.dump()) this.apply(n);
    }
    const s = this.entries.get(`${ifindex} ${ip}`);
    return s !== undefined && (s & NUD_VALID) !== 0 ? 'valid' : 'invalid';
  }
}

/** /proc/net/arp: "IP address  HW type  Flags  HW address  Mask  Device". */
function arpState(dev: string, ip: string): NeighState {
  if (ip.includes(':')) return 'unknown';
  for (const line of readLines('/proc/net/arp').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[0] === ip && f[5] === dev) return (Number.parseInt(f[2]!, 16) & ATF_COM) !== 0 ? 'valid' : 'invalid';
  }
  return 'invalid';
}
