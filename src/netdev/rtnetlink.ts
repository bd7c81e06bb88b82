// Device events from rtnetlink, through the native addon (native/netlink.cc): the event-driven
// counterpart of poller.ts (SysfsPoller). The messages are parsed in rtnetlink-messages.ts; the
// device table and the look-ups on dumps are in rtnetlink-dump.ts.
//
// RtnetlinkSource emits the same NetdevEvent 'event's as SysfsPoller, from kernel notifications,
// within milliseconds and without losing changes that revert quickly (a down then up is seen as
// both). It keeps a device table taken from an initial RTM_GETLINK + RTM_GETADDR dump and diffs
// each RTM_NEWLINK / RTM_DELLINK against it (diff.ts, one device at a time). When the kernel drops
// notifications (the socket's receive buffer overran: ENOBUFS), it resyncs with a fresh dump on
// the same socket and reports the difference, as a poll would.
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
import { asNetconsoleError } from '../base/errors.js';
import type { NativeNetlinkWatcher } from '../core/native.js';
import { diffSnapshots } from './diff.js';
import {
  applyAddr,
  applyLink,
  defaultBinding,
  deviceInfo,
  deviceMap,
  dump,
  dumpTables,
  newTables,
  type RtnetlinkBinding,
  type Tables,
} from './rtnetlink-dump.js';
import {
  AF_UNSPEC,
  NLM_F_DUMP_INTR,
  RTNETLINK_GROUPS,
  NLMSG_DONE,
  NLMSG_ERROR,
  RTM_GETADDR,
  RTM_GETLINK,
  parseAddrMessage,
  parseError,
  parseLinkMessage,
  parseNeighMessage,
  splitMessages,
  type AddrMessage,
  type NeighMessage,
  type NlMessage,
} from './rtnetlink-messages.js';
import type { DeviceInfo, NetdevEvent } from './types.js';

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
  binding?: RtnetlinkBinding;
}

/** What an RtnetlinkSource emits (see the class). */
export interface RtnetlinkSourceEvents {
  event: [NetdevEvent];
  address: [AddressEvent];
  neighbor: [NeighMessage];
  overrun: [];
  resync: [];
  error: [Error];
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
export class RtnetlinkSource extends EventEmitter<RtnetlinkSourceEvents> {
  private readonly rcvbufBytes: number | undefined;
  private readonly backendOpt: RtnetlinkBinding | undefined;
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

  private get backend(): RtnetlinkBinding {
    return this.backendOpt ?? defaultBinding();
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
