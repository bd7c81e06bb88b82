// Targets: their configuration (configfs semantics), their life cycle, deferred cleanup, and
// device events (targets.md 3, 4; locking.md).
//
// Lock order: config -> rtnl -> cleanup -> spinlock.
//   create / set / userdata        config
//   enable                         config -> rtnl (look-up, sockets) -> spinlock (ENABLED), before
//                                  rtnl is released: no device event can slip between setup and enable
//   disable / remove               config -> cleanup -> spinlock (mark, move to cleanup list);
//                                  then rtnl -> cleanup (grace period, close sockets) -> spinlock (back / unlink)
//   device event                   rtnl -> cleanup -> spinlock (move all affected in one section);
//                                  then, still under rtnl -> cleanup, process the cleanup list
// Each field of a TargetRecord is guarded by `config`, except `state`, `device` and `socket`, which
// change under `rtnl` (and are read under either).
import { createSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { release as osRelease } from 'node:os';
import { parseIp, parseMac } from './addr.js';
import {
  DEFAULT_ATTRIBUTES,
  checkUserdataRoom,
  formatAttribute,
  normalizeUserdataValue,
  parseAttributeWrite,
  parseSysdataToggle,
  SYSDATA_TOGGLES,
  validateUserdataKey,
  type SysdataToggle,
  type TargetAttributes,
} from './config/attributes.js';
import { invalid, InvalidValueError, NetconsoleError } from './errors.js';
import { L } from './layout.js';
import type { HostLocks } from './locks.js';
import type { DeviceInfo, NetdevEvent } from './netdev/types.js';
import type { Sender } from './sender/types.js';
import type { SocketPool, SocketRef } from './sockets.js';
import { renderUserdata } from './userdata.js';
import type { Core } from './wasm.js';
import { check } from './wasm.js';
import { addressingBlock } from './wire.js';

/** UDP: through a UDP socket (the kernel writes the headers). Raw: whole Ethernet frames built in
 *  WebAssembly through the device's AF_PACKET socket, as netpoll does. Auto: raw when the native
 *  sender is in use and the device is not loopback (raw frames into lo are dropped as martians). */
export type Mode = 'udp' | 'raw' | 'auto';

export type TargetState = 'disabled' | 'enabled' | 'deactivated';

/** Device facts the host needs; sysfs by default, rtnetlink through the addon when present. */
export interface DeviceLookup {
  /** Neighbour table entries (rtnetlink only): what remote_mac 'auto' resolves through. */
  neighbors?(): Array<{ ifindex: number; dst: string | null; lladdr: string | null; state: number }>;
  getDevice(name: string): DeviceInfo | null;
  deviceByMac(mac: string): DeviceInfo | null;
  routeDevice(remoteIp: string): { dev: string; gateway: string | null } | null;
  sourceAddress(dev: string, family: 4 | 6, remoteIp?: string): string | null;
}

export interface TargetRecord {
  readonly name: string;
  readonly index: number;
  attrs: TargetAttributes;
  userdata: Map<string, string>;
  sysdata: Record<SysdataToggle, boolean>;
  state: TargetState;
  /** Bound by hardware address (a parameter string whose device field is a MAC). */
  bindMac: string | null;
  /** The device it is (or, deactivated, was) bound to. */
  device: { name: string; ifindex: number; mac: string } | null;
  socket: SocketRef | null;
  /** The mode it was enabled in. */
  mode: 'udp' | 'raw' | null;
  /** Raw mode: its addressing block, and with remote_mac 'auto' the next hop it follows. */
  addr: Uint8Array | null;
  nextHop: string | null;
  /** What the target becomes when its cleanup is done. */
  afterCleanup: TargetState | 'free';
}

const STATE_CODE: Record<TargetState, number> = { disabled: L.ST_DISABLED, enabled: L.ST_ENABLED, deactivated: L.ST_DEACTIVATED };
const SYSDATA_BIT: Record<SysdataToggle, number> = {
  cpu_nr_enabled: L.S_CPU,
  taskname_enabled: L.S_TASKNAME,
  release_enabled: L.S_RELEASE,
  msgid_enabled: L.S_MSGID,
};
const NAME_MAX = 255;
/** NUD_INCOMPLETE | NUD_FAILED: neighbour entries without a usable link-layer address. */
const NUD_UNUSABLE = 0x01 | 0x20;
const DISCARD_PORT = 9;
/** How long enabling with remote_mac 'auto' waits for the kernel to resolve the next hop. */
const NEIGH_WAIT_MS = 1000;
const encoder = new TextEncoder();

export class TargetTable extends EventEmitter {
  private readonly byName = new Map<string, TargetRecord>();
  private readonly byIndex: Array<TargetRecord | undefined> = [];
  private readonly release = encoder.encode(osRelease());
  private closing = false;

  constructor(
    private readonly core: Core,
    private readonly locks: HostLocks,
    private readonly sockets: SocketPool,
    private readonly sender: Sender,
    private readonly lookup: DeviceLookup,
    private readonly mode: Mode = 'udp',
  ) {
    super();
  }

  get(name: string): TargetRecord | undefined {
    return this.byName.get(name);
  }

  list(): TargetRecord[] {
    return [...this.byName.values()];
  }

  // ---------------------------------------------------------------- configuration (config mutex)
  create(name: string, attrs: Record<string, unknown> = {}, bindMac: string | null = null): Promise<TargetRecord> {
    return this.configOp(async () => {
      if (typeof name !== 'string' || name.length === 0 || name.length > NAME_MAX || name.includes('/') || name === '.' || name === '..') {
        throw invalid('name', name, 'a non-empty configfs directory name without "/"');
      }
      if (this.byName.has(name)) throw new InvalidValueError('EEXIST', 'name', name, 'a name not already in use', 'target exists:');
      const index = this.byIndex.findIndex((r, i) => r === undefined && i < L.MAX_TARGETS);
      const slot = index >= 0 ? index : this.byIndex.length;
      if (slot >= L.MAX_TARGETS) throw new InvalidValueError('ENOSPC', 'name', name, `at most ${L.MAX_TARGETS} targets`, 'no free target slot for');
      const rec: TargetRecord = {
        name,
        index: slot,
        attrs: { ...DEFAULT_ATTRIBUTES },
        userdata: new Map(),
        sysdata: { cpu_nr_enabled: false, taskname_enabled: false, release_enabled: false, msgid_enabled: false },
        state: 'disabled',
        bindMac,
        device: null,
        socket: null,
        mode: null,
        addr: null,
        nextHop: null,
        afterCleanup: 'disabled',
      };
      // Validate everything before the target exists: a rejected create leaves nothing behind.
      const { enabled, userdata, ...rest } = attrs as Record<string, unknown> & { userdata?: Record<string, unknown> };
      for (const [k, v] of Object.entries(rest)) {
        if (v === undefined || v === null) continue; // not given: the default
        if ((SYSDATA_TOGGLES as readonly string[]).includes(k)) rec.sysdata[k as SysdataToggle] = parseSysdataToggle(k, v);
        else Object.assign(rec.attrs, parseAttributeWrite(name, k, v, rec.attrs));
      }
      for (const [k, v] of Object.entries(userdata ?? {})) this.checkUserdata(rec, k, v);
      for (const [k, v] of Object.entries(userdata ?? {})) rec.userdata.set(k, normalizeUserdataValue(k, v));
      this.core.clearTarget(slot);
      this.byName.set(name, rec);
      this.byIndex[slot] = rec;
      this.locks.spin(() => check(this.core.exports.list_add(this.core.tid, slot, L.ST_DISABLED), 'list_add'));
      if (enabled !== undefined && parseAttributeWrite(name, 'enabled', enabled, { ...rec.attrs, enabled: false }).enabled) {
        try {
          await this.enableLocked(rec);
        } catch (err) {
          await this.removeLocked(rec);
          throw err;
        }
      }
      return rec;
    });
  }

  /** Writes one attribute by its kernel name (`enabled` enables or disables). */
  set(rec: TargetRecord, attr: string, value: unknown): Promise<void> {
    return this.configOp(async () => {
      this.assertLive(rec);
      if ((SYSDATA_TOGGLES as readonly string[]).includes(attr)) return this.setSysdata(rec, attr as SysdataToggle, value);
      // As in the kernel, a DEACTIVATED target is not enabled: its attributes can change, and
      // writing enabled=1 sets it up again now (or fails, leaving it DEACTIVATED).
      const change = parseAttributeWrite(rec.name, attr, value, { ...rec.attrs, enabled: rec.state === 'enabled' });
      if ('enabled' in change) {
        if (change.enabled) return this.enableLocked(rec);
        return this.disableLocked(rec, 'disabled');
      }
      Object.assign(rec.attrs, change);
      if (rec.state === 'enabled' && ('ratelimit_interval_ms' in change || 'ratelimit_burst' in change)) this.writeRatelimit(rec);
    });
  }

  enable(rec: TargetRecord): Promise<void> {
    return this.set(rec, 'enabled', 1);
  }

  disable(rec: TargetRecord): Promise<void> {
    return this.set(rec, 'enabled', 0);
  }

  remove(rec: TargetRecord): Promise<void> {
    return this.configOp(() => {
      this.assertLive(rec);
      return this.removeLocked(rec);
    });
  }

  /** userdata/<key> (a value of '' keeps the entry but sends nothing), or a sysdata toggle. */
  setUserdata(rec: TargetRecord, key: string, value: unknown): Promise<void> {
    return this.configOp(() => {
      this.assertLive(rec);
      if ((SYSDATA_TOGGLES as readonly string[]).includes(key)) return this.setSysdata(rec, key as SysdataToggle, value);
      this.checkUserdata(rec, key, value);
      rec.userdata.set(key, normalizeUserdataValue(key, value));
      if (rec.state === 'enabled') this.writeUserdata(rec);
    });
  }

  deleteUserdata(rec: TargetRecord, key: string): Promise<void> {
    return this.configOp(() => {
      this.assertLive(rec);
      if (!rec.userdata.delete(key)) throw new InvalidValueError('ENOENT', 'userdata key', key, 'an existing key', 'no such entry:');
      if (rec.state === 'enabled') this.writeUserdata(rec);
    });
  }

  /**
   * The Netconsole closes: operations already started finish (the configuration mutex is FIFO),
   * later ones reject ESHUTDOWN, device events are ignored, and every target ends disabled.
   */
  close(): Promise<void> {
    this.closing = true;
    return this.locks.config.run(async () => {
      for (const r of this.list()) {
        if (r.state === 'enabled') await this.disableLocked(r, 'disabled');
        else if (r.state === 'deactivated') await this.locks.rtnl.run(() => this.setDisabled(r));
      }
    });
  }

  /** A configuration operation: serialized by the configuration mutex; refused once closing. */
  private configOp<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.closing) return Promise.reject(new NetconsoleError('ESHUTDOWN', 'this Netconsole is closed (or closing)'));
    return this.locks.config.run(fn);
  }

  /** A configfs read: an attribute, a userdata key or a sysdata toggle. */
  read(rec: TargetRecord, attr: string): string {
    if ((SYSDATA_TOGGLES as readonly string[]).includes(attr)) return rec.sysdata[attr as SysdataToggle] ? '1' : '0';
    return formatAttribute({ ...rec.attrs, enabled: rec.state === 'enabled' }, attr, {
      local_mac: rec.device?.mac,
      transmit_errors: Number(this.core.targetCounter(rec.index, L.TGT_CNT_TX_ERRORS)),
    });
  }

  private checkUserdata(rec: TargetRecord, key: string, value: unknown): void {
    validateUserdataKey(key);
    if (!rec.userdata.has(key)) checkUserdataRoom(rec.userdata.size);
    normalizeUserdataValue(key, value);
  }

  private setSysdata(rec: TargetRecord, toggle: SysdataToggle, value: unknown): void {
    rec.sysdata[toggle] = parseSysdataToggle(toggle, value);
    if (rec.state === 'enabled') this.writeSysdata(rec);
  }

  private assertLive(rec: TargetRecord): void {
    if (this.byName.get(rec.name) !== rec) throw new InvalidValueError('ENOENT', 'target', rec.name, 'an existing target', 'no such target:');
  }

  // ---------------------------------------------------------------- slot writes
  private writeUserdata(rec: TargetRecord): void {
    const entries = [...rec.userdata].map(([k, v]) => [encoder.encode(k), encoder.encode(v)] as [Uint8Array, Uint8Array]);
    this.core.setUserdata(rec.index, renderUserdata(entries));
  }

  private writeSysdata(rec: TargetRecord): void {
    let bits = 0;
    for (const t of SYSDATA_TOGGLES) if (rec.sysdata[t]) bits |= SYSDATA_BIT[t];
    check(this.core.exports.target_set(this.core.tid, rec.index, L.TGT_SYSDATA, bits), 'target_set');
    this.updateWantSys();
  }

  private writeRatelimit(rec: TargetRecord): void {
    check(this.core.exports.target_set(this.core.tid, rec.index, L.TGT_RL_INTERVAL, rec.attrs.ratelimit_interval_ms | 0), 'target_set');
    check(this.core.exports.target_set(this.core.tid, rec.index, L.TGT_RL_BURST, rec.attrs.ratelimit_burst | 0), 'target_set');
  }

  /** Tells writers which per-thread sysdata (cpu, taskname) some enabled target sends. */
  private updateWantSys(): void {
    let want = 0;
    for (const r of this.list()) if (r.state === 'enabled') for (const t of SYSDATA_TOGGLES) if (r.sysdata[t]) want |= SYSDATA_BIT[t];
    Atomics.store(this.core.i32, L.WANT_SYS >> 2, want);
  }

  // ---------------------------------------------------------------- enable (config -> rtnl -> spinlock)
  private async enableLocked(rec: TargetRecord): Promise<void> {
    this.locks.checker.assertHeld('config', 'enable');
    await this.locks.rtnl.run(async () => {
      await this.setup(rec);
      this.markEnabled(rec);
    });
    this.emit('target', { name: rec.name, state: 'enabled', device: rec.device?.name });
  }

  /** Finds the device, checks it, picks the source address and opens the socket (rtnl held). */
  private async setup(rec: TargetRecord): Promise<void> {
    this.locks.checker.assertHeld('rtnl', 'target setup');
    const a = rec.attrs;
    const remote = parseIp('remote_ip', a.remote_ip!);
    let dev: DeviceInfo | null;
    if (a.dev_name !== '') {
      dev = this.lookup.getDevice(a.dev_name);
      if (!dev) throw new InvalidValueError('ENODEV', 'dev_name', a.dev_name, 'an existing network device', 'no such device:');
    } else if (rec.bindMac !== null) {
      dev = this.lookup.deviceByMac(rec.bindMac);
      if (!dev) throw new InvalidValueError('ENODEV', 'local_mac', rec.bindMac, 'the MAC of an existing device', 'no device with MAC');
    } else {
      const route = this.lookup.routeDevice(a.remote_ip!);
      dev = route ? this.lookup.getDevice(route.dev) : null;
      if (!dev) throw new InvalidValueError('ENETUNREACH', 'remote_ip', a.remote_ip, 'an address with a route (or set dev_name)', 'no route to');
    }
    if (dev.master !== null) {
      throw new InvalidValueError('EBUSY', 'dev_name', dev.name, 'a device that is not enslaved', `enslaved to ${dev.master}:`);
    }
    const local = a.local_ip ?? this.lookup.sourceAddress(dev.name, remote.family, a.remote_ip!);
    if (local === null) {
      throw new InvalidValueError('EDESTADDRREQ', 'local_ip', null, `an IPv${remote.family} address on ${dev.name}`, `${dev.name} has no IPv${remote.family} address; local_ip is`);
    }
    const flags = (a.extended ? L.F_EXTENDED : 0) | (a.release ? L.F_RELEASE : 0) | (a.timestamps ? L.F_TIMESTAMPS : 0);
    const raw = this.mode === 'raw' || (this.mode === 'auto' && dev.name !== 'lo' && dev.mac !== '00:00:00:00:00:00');
    const gen = this.core.targetWord(rec.index, L.TGT_GEN) + 1; // target_set_state(ENABLED) bumps it
    let socket: SocketRef;
    let addr: Uint8Array | undefined;
    let route;
    if (raw) {
      // netpoll: destination remote_mac (default broadcast), source the device's MAC, no routing.
      // 'auto': the MAC of the next hop (the route's gateway, or remote_ip on a direct route).
      let dstMac: Uint8Array;
      if (a.remote_mac === 'auto') {
        rec.nextHop = this.lookup.routeDevice(a.remote_ip!)?.gateway ?? a.remote_ip!;
        dstMac = parseMac('remote_mac', await this.resolveNeighbor(dev.ifindex, rec.nextHop, remote.family));
      } else {
        dstMac = parseMac('remote_mac', a.remote_mac);
      }
      addr = addressingBlock({
        dstMac,
        srcMac: parseMac('local_mac', dev.mac),
        family: remote.family,
        srcIp: parseIp('local_ip', local).bytes,
        dstIp: remote.bytes,
        srcPort: a.local_port,
        dstPort: a.remote_port,
      });
      socket = this.sockets.acquireRaw(dev.ifindex, dev.name);
      rec.addr = addr;
      route = { socket, family: remote.family, address: a.remote_ip!, port: a.remote_port, gen, raw: { ifindex: dev.ifindex, dstMac } };
    } else {
      socket = await this.sockets.acquire(remote.family, local, a.local_port);
      route = { socket, family: remote.family, address: a.remote_ip!, port: a.remote_port, gen };
    }
    // Nothing below can fail: the target's slot is written only once the socket is there.
    this.core.setTargetLocked(rec.index, flags | (raw ? L.F_RAW : 0), this.release, this.release, addr);
    this.writeUserdata(rec);
    this.writeSysdata(rec);
    this.writeRatelimit(rec);
    this.core.setTargetWord(rec.index, L.TGT_DEV_UP, dev.running ? 1 : 0);
    rec.socket = socket;
    rec.mode = raw ? 'raw' : 'udp';
    rec.device = { name: dev.name, ifindex: dev.ifindex, mac: dev.mac };
    this.sender.setRoute(rec.index, route);
  }

  /** The link-layer address of `ip` on device `ifindex`, asking the kernel to resolve it when the
   *  neighbour table has none (one empty datagram to the discard port starts ARP / ND). */
  private async resolveNeighbor(ifindex: number, ip: string, family: 4 | 6): Promise<string> {
    const table = this.lookup.neighbors;
    if (!table) {
      throw new InvalidValueError('ENOTSUP', 'remote_mac', 'auto', 'an explicit MAC (auto needs rtnetlink: the native addon)', 'cannot resolve');
    }
    const find = (): string | undefined =>
      table().find((n) => n.ifindex === ifindex && n.dst === ip && n.lladdr !== null && (n.state & NUD_UNUSABLE) === 0)?.lladdr ?? undefined;
    let mac = find();
    if (mac === undefined) {
      const probe = createSocket(family === 6 ? 'udp6' : 'udp4');
      await new Promise<void>((resolve) => probe.send(Buffer.alloc(0), DISCARD_PORT, ip, () => resolve()));
      probe.close();
      for (let i = 0; i < NEIGH_WAIT_MS / 20 && mac === undefined; i++) {
        await new Promise((r) => setTimeout(r, 20));
        mac = find();
      }
    }
    if (mac === undefined) {
      throw new InvalidValueError('EHOSTUNREACH', 'remote_mac', 'auto', `a next hop (${ip}) that answers ARP/ND, or an explicit MAC`, `no neighbour entry for ${ip}:`);
    }
    return mac;
  }

  /** A neighbour entry changed (rtnetlink): raw targets with remote_mac 'auto' follow it. */
  neighborChanged(n: { ifindex: number; dst: string | null; lladdr: string | null; state: number; deleted?: boolean }): Promise<void> {
    return this.locks.rtnl.run(() => {
      if (this.closing || n.deleted || n.lladdr === null || (n.state & NUD_UNUSABLE) !== 0) return;
      for (const r of this.list()) {
        if (r.state !== 'enabled' || r.addr === null || r.nextHop !== n.dst || r.device?.ifindex !== n.ifindex) continue;
        const mac = parseMac('remote_mac', n.lladdr);
        if (mac.every((b, i) => r.addr![L.ADDR_DST_MAC + i] === b)) continue;
        const addr = r.addr.slice();
        addr.set(mac, L.ADDR_DST_MAC);
        this.locks.spin(() => this.core.setTargetAddr(r.index, addr));
        r.addr = addr;
        this.emit('target', { name: r.name, state: r.state, device: r.device.name, reason: `next hop ${n.dst} is now ${n.lladdr}` });
      }
    });
  }

  private markEnabled(rec: TargetRecord): void {
    this.locks.spin(() => check(this.core.exports.target_set_state(this.core.tid, rec.index, L.ST_ENABLED), 'target_set_state'));
    rec.state = 'enabled';
    rec.attrs.enabled = true;
    this.updateWantSys();
  }

  // ---------------------------------------------------------------- disable / remove: deferred cleanup
  private async disableLocked(rec: TargetRecord, after: TargetState | 'free'): Promise<void> {
    this.locks.checker.assertHeld('config', 'disable');
    rec.afterCleanup = after;
    await this.locks.cleanup.run(() =>
      // Not enabled from here on: no writer reaches it. Its final state is set in step 3.
      this.locks.spin(() => check(this.core.exports.list_to_cleanup(this.core.tid, rec.index, L.ST_DISABLED), 'list_to_cleanup')),
    );
    rec.state = 'disabled';
    rec.attrs.enabled = false;
    this.updateWantSys();
    await this.locks.rtnl.run(() => this.locks.cleanup.run(() => this.processCleanup()));
    if (after !== 'free') this.emit('target', { name: rec.name, state: rec.state });
  }

  private async removeLocked(rec: TargetRecord): Promise<void> {
    await this.disableLocked(rec, 'free');
    this.emit('target', { name: rec.name, state: 'removed' });
  }

  /**
   * Step 2 and 3 of deferred cleanup for every target on the cleanup list (rtnl and cleanup held):
   * wait until the sender has passed the ring position recorded when the target left the target
   * list, close its socket, then put it back (or drop it). No datagram of it can follow.
   */
  private async processCleanup(): Promise<void> {
    this.locks.checker.assertHeld('cleanup', 'cleanup processing');
    for (const t of this.locks.spin(() => this.core.listRead(L.ON_CLEANUP))) {
      const rec = this.byIndex[t];
      if (!rec) continue;
      await this.sender.waitPast(Number(this.core.targetCounter(t, L.TGT_CLEANUP_POS)));
      this.sender.clearRoute(t);
      if (rec.socket) {
        await this.sockets.release(rec.socket);
        rec.socket = null;
      }
      const after = rec.afterCleanup;
      const code = after === 'free' ? L.ST_FREE : STATE_CODE[after === 'enabled' ? 'disabled' : after];
      this.locks.spin(() => check(this.core.exports.list_from_cleanup(this.core.tid, t, code), 'list_from_cleanup'));
      if (after === 'free') {
        this.byName.delete(rec.name);
        this.byIndex[t] = undefined;
        this.core.clearTarget(t);
      } else {
        rec.state = after === 'enabled' ? 'disabled' : after;
        if (after !== 'deactivated') rec.device = null;
      }
      rec.attrs.enabled = false;
    }
  }

  // ---------------------------------------------------------------- device events (rtnl)
  /** The one entry point for device events (targets.md 4). Serialized by rtnl. */
  deviceEvent(ev: NetdevEvent): Promise<void> {
    return this.locks.rtnl.run(async () => {
      if (this.closing) return;
      const bound = this.list().filter((r) => r.state === 'enabled' && r.device !== null && r.device.ifindex === ev.ifindex);
      const move: TargetRecord[] = [];
      switch (ev.type) {
        case 'rename':
          // Only targets bound to the device follow it (kernel: nt->np.dev == dev); a disabled
          // target keeps the name it was given, a DEACTIVATED one may resume under the new name.
          for (const r of bound) {
            r.device!.name = ev.name;
            if (r.attrs.dev_name !== '') r.attrs.dev_name = ev.name;
          }
          break;
        case 'up':
        case 'down':
          for (const r of bound) this.core.setTargetWord(r.index, L.TGT_DEV_UP, ev.type === 'up' ? 1 : 0);
          break;
        case 'unregister':
          for (const r of bound) (r.afterCleanup = 'deactivated'), move.push(r);
          break;
        case 'enslave':
        case 'release':
          for (const r of bound) (r.afterCleanup = 'disabled'), move.push(r);
          break;
        case 'register':
          break;
      }
      if (move.length > 0) {
        await this.locks.cleanup.run(() =>
          this.locks.spin(() => this.core.listToCleanupBatch(move.map((r) => r.index), L.ST_DISABLED)),
        );
        for (const r of move) {
          r.state = 'disabled';
          r.attrs.enabled = false;
        }
        this.updateWantSys();
        await this.locks.cleanup.run(() => this.processCleanup());
        for (const r of move) this.emit('target', { name: r.name, state: r.state, device: ev.name, reason: ev.type });
      }
      if (ev.type === 'register' || ev.type === 'rename') await this.resume(ev);
    });
  }

  /** A target on the target list that is not enabled (DEACTIVATED) becomes DISABLED (rtnl held). */
  private setDisabled(r: TargetRecord): void {
    this.locks.checker.assertHeld('rtnl', 'setDisabled');
    this.locks.spin(() => check(this.core.exports.target_set_state(this.core.tid, r.index, L.ST_DISABLED), 'target_set_state'));
    r.state = 'disabled';
    r.device = null;
  }

  /** DEACTIVATED targets whose device is back (by MAC when bound by MAC, else by name). */
  private async resume(ev: NetdevEvent): Promise<void> {
    for (const r of this.list()) {
      if (r.state !== 'deactivated') continue;
      const wanted = r.bindMac !== null ? r.bindMac === ev.mac : (r.attrs.dev_name || r.device?.name) === ev.name;
      if (!wanted) continue;
      try {
        await this.setup(r);
        this.markEnabled(r);
        this.emit('target', { name: r.name, state: 'enabled', device: ev.name, reason: 'resumed' });
      } catch (err) {
        this.setDisabled(r);
        this.emit('target', { name: r.name, state: 'disabled', device: ev.name, reason: 'resume failed', error: err as NetconsoleError });
      }
    }
  }
}
