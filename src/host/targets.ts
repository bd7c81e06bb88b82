// Targets: their configuration (configfs semantics), their life cycle, deferred cleanup, and
// device events (docs/targets.md 3, 4; docs/locking.md), as the kernel's netconsole.c does them.
//
// Lock order: config -> rtnl -> cleanup -> spinlock (src/host/locks.ts checks it on every acquisition).
//   create / set / userdata   config (dev_name: config -> rtnl, its owner)
//   enable                    config -> cleanup (a DEACTIVATED target becomes DISABLED first, as
//                             enabled_store does) -> rtnl: set up -> cleanup -> spinlock (ENABLED),
//                             before rtnl is released: no device event slips between setup and enable
//   disable                   config -> cleanup -> spinlock (DISABLED, moved to the cleanup list, in
//                             the step that checked it was enabled);
//                             then rtnl -> cleanup: grace period, release, back on the target list
//   remove                    config -> cleanup -> spinlock (unlinked from whichever list it is on);
//                             then, if it held anything, rtnl -> cleanup: grace period, release
//   device event              rtnl -> cleanup -> spinlock (every affected target moved in one
//                             section, its new state decided there); then rtnl -> cleanup: the
//                             cleanup list; then a resume per matching DEACTIVATED target, each one
//                             config -> rtnl, re-checking that the target is still DEACTIVATED
//                             (process_resume_target): a target a user disabled or removed meanwhile
//                             stays as the user left it
//
// Who writes which field of a TargetRecord (each is written under one lock, named beside it, and
// read under any): the lock's holder decides and writes in one synchronous step, so a value read
// under that lock is never stale within the step. A function that needs a lock asserts it.
//   attrs (but dev_name), userdata, sysdata      config
//   attrs.dev_name, binding, resumeName           rtnl (binding is set and cleared holding cleanup too)
//   state, removed, and the lists in shared memory cleanup (list changes inside the spinlock)
import { EventEmitter } from 'node:events';
import { release as osRelease } from 'node:os';
import { parseMac } from '../base/addr.js';
import {
  DEFAULT_ATTRIBUTES,
  formatAttribute,
  parseAttributeWrite,
  parseBoolWrite,
  isSysdataToggle,
  SYSDATA_TOGGLES,
  toAttributeText,
  type SysdataToggle,
  type TargetAttributes,
} from '../config/attributes.js';
import { attributeFields, checkTargetName } from '../config/create.js';
import { parseSysdataToggle, validateUserdata } from '../config/userdata.js';
import { asNetconsoleError, invalid, InvalidValueError, NetconsoleError } from '../base/errors.js';
import { L } from '../core/layout.js';
import type { HostLocks, LockName } from './locks.js';
import type { NetdevEvent } from '../netdev/types.js';
import type { Sender } from '../sender/types.js';
import type { SocketPool } from '../sender/sockets.js';
import { NUD_UNUSABLE, setupTarget, type Binding, type DeviceLookup, type Mode } from './target-setup.js';
import { renderUserdata } from '../core/userdata.js';
import type { Core } from '../core/wasm.js';
import type { TargetEvent, TargetState } from './reports.js';
import type { Writer } from '../core/writer.js';
import { Heartbeats, SEND_LEVEL, trimLastNewline } from './heartbeats.js';
import { memoryBytes } from '../core/layout.js';
import { regionBytes, Retention, RetentionSpace } from '../core/retention.js';
import { openReplySocket, ReliableLink, reliableCounters, type ReliableCounters } from './reliable.js';
export type { TargetState } from './reports.js';

export type { DeviceLookup, Mode } from './target-setup.js';


export interface TargetRecord {
  readonly name: string;
  readonly index: number;
  /** Bound by hardware address (a parameter string whose device field is a MAC). */
  readonly bindMac: string | null;
  /** config (dev_name: rtnl). */
  attrs: TargetAttributes;
  /** config. */
  userdata: Map<string, string>;
  /** config. */
  sysdata: Record<SysdataToggle, boolean>;
  /** cleanup. */
  state: TargetState;
  /** cleanup: rmdir happened; nothing may bring it back. */
  removed: boolean;
  /** rtnl (null-ness also under cleanup): what setup acquired, until deferred cleanup releases it. */
  binding: Binding | null;
  /** rtnl: the device a DEACTIVATED target resumes on when its dev_name is empty (picked by route). */
  resumeName: string | null;
  /** cleanup: a reliable target's sender half while it is ENABLED (host/reliable.ts). */
  link: ReliableLink | null;
  /** What its sender half counted, over every enable. */
  reliableCounters: ReliableCounters;
  /** rtnl: a reliable target's next own seq, kept from its last enable (null: start at the
   *  Netconsole's next seq): its receiver sees one stream across a disable. */
  nextSeq: bigint | null;
}

const STATE_CODE: Record<TargetState, number> = { disabled: L.ST_DISABLED, enabled: L.ST_ENABLED, deactivated: L.ST_DEACTIVATED };
const SYSDATA_BIT: Record<SysdataToggle, number> = {
  cpu_nr_enabled: L.S_CPU,
  taskname_enabled: L.S_TASKNAME,
  release_enabled: L.S_RELEASE,
  msgid_enabled: L.S_MSGID,
};
const encoder = new TextEncoder();

export class TargetTable extends EventEmitter<{ target: [TargetEvent] }> {
  private readonly byName = new Map<string, TargetRecord>();
  private readonly byIndex: Array<TargetRecord | undefined> = [];
  private readonly release = encoder.encode(osRelease());
  private closing = false;
  /** The running heartbeats (heartbeat_ms), by target: a timer only while the target is enabled. */
  private readonly heartbeats = new Heartbeats<TargetRecord>();
  /** Where reliable targets' retention regions go: past the ring (rtnl: taken at setup, given back
   *  at release). */
  private readonly space: RetentionSpace;

  constructor(
    private readonly core: Core,
    private readonly locks: HostLocks,
    private readonly sockets: SocketPool,
    private readonly sender: Sender,
    private readonly lookup: DeviceLookup,
    private readonly mode: Mode = 'udp',
    /** The host thread's writer (the Netconsole's): send_msg and heartbeats write through it. */
    private readonly writer: Writer | null = null,
  ) {
    super();
    this.space = new RetentionSpace(core.memory, memoryBytes(core.ring.size));
  }

  get(name: string): TargetRecord | undefined {
    return this.byName.get(name);
  }

  list(): TargetRecord[] {
    return [...this.byName.values()];
  }

  // ---------------------------------------------------------------- configuration (config mutex)
  /**
   * mkdir, and the attributes written in the order given. `attrs`: an object of attributes by
   * their kernel names (read once each: a getter or Proxy trap that throws is EINVAL naming that
   * attribute), or undefined or null for none.
   */
  create(name: string, attrs: unknown = undefined, bindMac: string | null = null): Promise<TargetRecord> {
    return this.configOp(async () => {
      checkTargetName(name);
      // Read before anything is looked at or made: a rejected create leaves nothing behind.
      const fields = attributeFields(attrs);
      if (this.byName.has(name)) throw new InvalidValueError('EEXIST', 'name', name, 'a name not already in use', 'target exists:');
      const index = this.freeSlot();
      if (index < 0) throw new InvalidValueError('ENOSPC', 'name', name, `at most ${L.MAX_TARGETS} targets`, 'no free target slot for');
      const enabled = fields.get('enabled');
      const userdata = fields.get('userdata');
      fields.delete('enabled');
      fields.delete('userdata');
      const rec: TargetRecord = {
        name,
        index,
        bindMac,
        attrs: { ...DEFAULT_ATTRIBUTES },
        userdata: userdata != null ? validateUserdata(userdata as never) : new Map(),
        sysdata: { cpu_nr_enabled: false, taskname_enabled: false, release_enabled: false, msgid_enabled: false },
        state: 'disabled',
        removed: false,
        binding: null,
        resumeName: null,
        link: null,
        reliableCounters: reliableCounters(),
        nextSeq: null,
      };
      for (const [k, v] of fields) {
        if (v === undefined || v === null) continue; // not given: the default
        if (isSysdataToggle(k)) rec.sysdata[k] = parseSysdataToggle(k, v);
        else Object.assign(rec.attrs, parseAttributeWrite(name, k, v, rec.attrs));
      }
      // enabled: 0 (or false) is what a new target is; 1 is checked as a write of it would be.
      const enable = enabled !== undefined && parseBoolWrite('enabled', enabled) && parseAttributeWrite(name, 'enabled', enabled, { ...rec.attrs, enabled: false }).enabled === true;
      this.core.targets.clearTarget(index);
      this.byName.set(name, rec);
      this.byIndex[index] = rec;
      await this.locks.cleanup.run(() => this.locks.spin(() => this.core.targets.listAdd(index)));
      if (enable) {
        try {
          await this.enableLocked(rec);
        } catch (err) {
          await this.removeLocked(rec, false); // all or nothing: a create that fails leaves no target
          throw err;
        }
      }
      return rec;
    });
  }

  /** A slot no target uses, including one still being cleaned up after its rmdir. */
  private freeSlot(): number {
    for (let i = 0; i < L.MAX_TARGETS; i++) if (this.byIndex[i] === undefined) return i;
    return -1;
  }

  /** Writes one attribute by its kernel name (`enabled` enables or disables; `send_msg` sends). */
  set(rec: TargetRecord, attr: string, value: unknown): Promise<void> {
    return this.configOp(async () => {
      this.assertLive(rec);
      if (isSysdataToggle(attr)) return this.setSysdata(rec, attr, value);
      if (attr === 'send_msg') return this.send(rec, typeof value === 'string' ? value : toAttributeText(value, attr, false), SEND_LEVEL);
      if (attr === 'enabled') return this.setEnabled(rec, value);
      if (attr === 'dev_name') return this.locks.rtnl.run(() => this.writeAttribute(rec, attr, value));
      this.writeAttribute(rec, attr, value);
    });
  }

  /** Validates and applies one write (config held; rtnl too for dev_name): synchronous, so the
   *  "locked while enabled" check and the write see the same state. */
  private writeAttribute(rec: TargetRecord, attr: string, value: unknown): void {
    this.locks.checker.assertHeld(attr === 'dev_name' ? 'rtnl' : 'config', `writing ${attr}`);
    const change = parseAttributeWrite(rec.name, attr, value, { ...rec.attrs, enabled: rec.state === 'enabled' });
    Object.assign(rec.attrs, change);
    if (rec.state === 'enabled' && ('ratelimit_interval_ms' in change || 'ratelimit_burst' in change)) this.writeRatelimit(rec);
    if ('heartbeat_ms' in change) this.syncHeartbeat(rec);
  }

  // ---------------------------------------------------------------- send_msg and the heartbeat
  /**
   * send_msg_store: `text` to this target alone, not through the log (no level threshold, no
   * oopsOnly, no other target), as one record in the target's format: the next seq, the target's
   * userdata and sysdata, through the ring like any record (its counters count it). One trailing
   * '\n' is trimmed (the record ends its own line). As the kernel: EINVAL unless the target is
   * enabled and its device running; ENOENT once removed. Synchronous: the write path checks the
   * target's state under the spinlock, so a disable or remove that has begun is never written past.
   */
  send(rec: TargetRecord, text: string | Uint8Array, level: number): void {
    this.assertLive(rec);
    if (this.closing) throw new NetconsoleError('ESHUTDOWN', 'this Netconsole is closed (or closing)');
    if (typeof text !== 'string' && !(text instanceof Uint8Array)) throw invalid('send_msg', text, 'a string or a Uint8Array: the text to send');
    const body = trimLastNewline(text);
    if (rec.state !== 'enabled') {
      throw new InvalidValueError('EINVAL', 'send_msg', text, 'a write to an enabled target', `target (${rec.name}) is ${rec.state}, not enabled; cannot send`);
    }
    if (!this.core.targets.deviceUp(rec.index)) {
      throw new InvalidValueError('EINVAL', 'send_msg', text, 'a write while the target\'s device is running', `target (${rec.name}): device ${rec.binding?.device.name ?? ''} is not running; cannot send`);
    }
    if (this.writer === null || this.writer.writeTo(rec.index, level, body) === 0) {
      throw new InvalidValueError('EINVAL', 'send_msg', text, 'a write to an enabled target', `target (${rec.name}) could not take it`);
    }
  }

  /**
   * Starts, restarts or stops rec's heartbeat so that it runs exactly while rec is enabled with a
   * heartbeat_ms (called at every change of either). The timer is unref'd: it never keeps the
   * process alive, and it is cleared when the target leaves ENABLED, is removed, or the
   * Netconsole closes.
   */
  private syncHeartbeat(rec: TargetRecord): void {
    const on = !this.closing && !rec.removed && rec.state === 'enabled' && this.writer !== null;
    this.heartbeats.set(rec, on ? rec.attrs.heartbeat_ms : 0, () => this.beat(rec));
  }

  /** One heartbeat: heartbeat_text to rec alone, as a send_msg write. A device that is not running
   *  gets none (the silence is the news); what else fails is a bug, said as a process warning. */
  private beat(rec: TargetRecord): void {
    if (this.closing || rec.removed || rec.state !== 'enabled') return this.syncHeartbeat(rec);
    if (!this.core.targets.deviceUp(rec.index)) return;
    try {
      this.writer!.writeTo(rec.index, SEND_LEVEL, rec.attrs.heartbeat_text);
    } catch (err) {
      process.emitWarning(`netconsole: target ${rec.name}: heartbeat: ${err instanceof Error ? err.message : String(err)}`, { code: 'NETCONSOLE_BACKGROUND' });
    }
  }

  /**
   * enabled_store: the value's syntax first (a bad one changes nothing); then, in one step under
   * the cleanup mutex, a DEACTIVATED target becomes DISABLED (also when the write then fails: the
   * user took it over from the device events), the same-value and enable checks, and a disable's
   * move to the cleanup list, so that no device event can come between the check and the move.
   */
  private async setEnabled(rec: TargetRecord, value: unknown): Promise<void> {
    parseBoolWrite('enabled', value);
    const enable = await this.locks.cleanup.run(() => {
      if (rec.state === 'deactivated') this.setState(rec, 'disabled');
      const { enabled } = parseAttributeWrite(rec.name, 'enabled', value, { ...rec.attrs, enabled: rec.state === 'enabled' });
      if (!enabled) this.stop(rec);
      return enabled === true;
    });
    if (enable) return this.enableLocked(rec);
    await this.finishCleanup();
    this.emit('target', { name: rec.name, state: rec.state });
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
      return this.removeLocked(rec, true);
    });
  }

  /** userdata/<key> (a value of '' keeps the entry but sends nothing), or a sysdata toggle. */
  setUserdata(rec: TargetRecord, key: string, value: unknown): Promise<void> {
    return this.configOp(() => {
      this.assertLive(rec);
      if (isSysdataToggle(key)) return this.setSysdata(rec, key, value);
      rec.userdata = validateUserdata(new Map([[key, value]]), rec.userdata);
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

  /** close(): waits (at most `ms`) until every enabled reliable target's receiver acked what it
   *  was sent (host/reliable.ts ReliableLink.settle). */
  settleReliable(ms: number): Promise<void> {
    return Promise.all(this.list().map((r) => r.link?.settle(ms))).then(() => undefined);
  }

  /**
   * The Netconsole closes: operations already started finish (the configuration mutex is FIFO),
   * later ones reject ESHUTDOWN, device events are ignored, and every target ends disabled.
   */
  close(): Promise<void> {
    this.closing = true;
    this.heartbeats.clear();
    return this.locks.config.run(async () => {
      await this.locks.cleanup.run(() => {
        for (const r of this.list()) {
          if (r.state === 'enabled') this.stop(r);
          else if (r.state === 'deactivated') this.setState(r, 'disabled');
        }
      });
      await this.finishCleanup();
    });
  }

  /** A configuration operation: serialized by the configuration mutex; refused once closing. */
  private configOp<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.closing) return Promise.reject(new NetconsoleError('ESHUTDOWN', 'this Netconsole is closed (or closing)'));
    return this.locks.config.run(fn);
  }

  /** A configfs read: an attribute, a userdata key or a sysdata toggle. */
  read(rec: TargetRecord, attr: string): string {
    this.assertLive(rec);
    if (isSysdataToggle(attr)) return rec.sysdata[attr] ? '1' : '0';
    return formatAttribute({ ...rec.attrs, enabled: rec.state === 'enabled' }, attr, {
      local_mac: rec.binding?.device.mac,
      transmit_errors: this.core.targets.targetCounters(rec.index).transmitErrors,
      reliable_stats: attr === 'reliable_stats' ? this.reliableStats(rec) : undefined,
    });
  }

  /** reliable_stats (read-only, beyond the kernel): what the target's sender half and retention
   *  counted, `name=value` pairs on one line (the names of stats().targets[i].reliable). */
  private reliableStats(rec: TargetRecord): string {
    const n = this.core.targets.targetCounters(rec.index);
    const all: Record<string, unknown> = { ...rec.reliableCounters, kept: n.kept, unacked: n.unacked, unheard: n.unheard };
    return Object.entries(all).map(([k, v]) => `${k}=${v ?? '-'}`).join(' ');
  }

  private setSysdata(rec: TargetRecord, toggle: SysdataToggle, value: unknown): void {
    rec.sysdata[toggle] = parseSysdataToggle(toggle, value);
    if (rec.state === 'enabled') this.writeSysdata(rec);
  }

  /** A removed target answers ENOENT to everything, reads included, as its configfs directory
   *  would after rmdir. */
  assertLive(rec: TargetRecord): void {
    if (rec.removed || this.byName.get(rec.name) !== rec) throw new InvalidValueError('ENOENT', 'target', rec.name, 'an existing target', 'no such target (removed):');
  }

  // ---------------------------------------------------------------- slot writes
  private writeUserdata(rec: TargetRecord): void {
    const entries = [...rec.userdata].map(([k, v]) => [encoder.encode(k), encoder.encode(v)] as [Uint8Array, Uint8Array]);
    this.core.targets.setUserdata(rec.index, renderUserdata(entries));
  }

  private writeSysdata(rec: TargetRecord): void {
    let bits = 0;
    for (const t of SYSDATA_TOGGLES) if (rec.sysdata[t]) bits |= SYSDATA_BIT[t];
    this.core.targets.setSysdata(rec.index, bits);
    this.updateWantSys();
  }

  private writeRatelimit(rec: TargetRecord): void {
    this.core.targets.setRatelimit(rec.index, rec.attrs.ratelimit_interval_ms, rec.attrs.ratelimit_burst);
  }

  /** Tells writers which per-thread sysdata (cpu, taskname) some enabled target sends. */
  private updateWantSys(): void {
    let want = 0;
    for (const r of this.list()) if (r.state === 'enabled') for (const t of SYSDATA_TOGGLES) if (r.sysdata[t]) want |= SYSDATA_BIT[t];
    this.core.setWantedSysdata(want);
  }

  /** A state change of a target on the target list (cleanup held; the slot's state under the spinlock). */
  private setState(rec: TargetRecord, state: TargetState): void {
    this.locks.checker.assertHeld('cleanup', 'a state change');
    this.locks.spin(() => this.core.targets.setTargetState(rec.index, STATE_CODE[state]));
    rec.state = state;
    if (state !== 'enabled') this.updateWantSys();
    this.syncHeartbeat(rec);
  }

  // ---------------------------------------------------------------- enable (config -> rtnl -> cleanup -> spinlock)
  private async enableLocked(rec: TargetRecord): Promise<void> {
    this.locks.checker.assertHeld('config', 'enable');
    await this.locks.rtnl.run(async () => this.commit(rec, await this.setup(rec)));
    this.emit('target', { name: rec.name, state: 'enabled', device: rec.binding?.device.name });
  }

  /** Sets the target up; whatever fails (a device look-up that could not read the devices
   *  included) rejects with a NetconsoleError. */
  private async setup(rec: TargetRecord): Promise<Binding> {
    this.locks.checker.assertHeld('rtnl', 'target setup');
    const gen = this.core.targets.nextGeneration(rec.index); // target_set_state(ENABLED) bumps it
    let b: Binding;
    try {
      b = await setupTarget({ lookup: this.lookup, sockets: this.sockets, mode: this.mode }, rec.attrs, rec.bindMac, gen);
    } catch (err) {
      throw asNetconsoleError(err, `target ${rec.name}: setting up`);
    }
    if (!rec.attrs.reliable) return b;
    // A reliable target: its replies' socket and its retention region, or nothing at all.
    const a = rec.attrs;
    const bytes = regionBytes(a.reliable_msgs, a.reliable_bytes);
    let base = -1;
    try {
      base = this.space.take(bytes);
      const replies = await openReplySocket({ family: a.remote_ip!.includes(':') ? 6 : 4, localIp: a.local_ip, localPort: a.local_port, remoteIp: a.remote_ip!, remotePort: a.remote_port });
      b.reliable = { replies, retention: new Retention(this.core.memory, rec.index, base, a.reliable_msgs, a.reliable_bytes) };
      return b;
    } catch (err) {
      if (base >= 0) this.space.give(base, bytes);
      await this.sockets.release(b.socket);
      throw asNetconsoleError(err, `target ${rec.name}: setting up`);
    }
  }

  /** Writes a set-up target's slot, gives the sender its route, and marks it ENABLED (rtnl held,
   *  then cleanup and the spinlock): plain memory writes, nothing here can fail. */
  private commit(rec: TargetRecord, b: Binding): Promise<void> {
    this.locks.checker.assertHeld('rtnl', 'commit');
    return this.locks.cleanup.run(() => {
      this.core.targets.setTargetLocked(rec.index, b.flags | (b.reliable ? L.F_RELIABLE : 0), this.release, this.release, b.addr ?? undefined);
      if (b.reliable) {
        b.reliable.retention.install(rec.nextSeq ?? this.core.seqNext());
        rec.link = new ReliableLink(b.reliable.replies, b.reliable.retention, rec.reliableCounters);
      }
      this.writeUserdata(rec);
      this.writeSysdata(rec);
      this.writeRatelimit(rec);
      // As the kernel: a target set up on a device that is not running is skipped until the
      // device's 'up'; one that loses its carrier or goes down later is held by the sender.
      this.core.targets.setDeviceUp(rec.index, b.running);
      this.sender.setRoute(rec.index, b.route);
      rec.binding = b;
      rec.resumeName = null;
      this.setState(rec, 'enabled');
      this.updateWantSys();
    });
  }

  /** A neighbour entry changed (rtnetlink): raw targets with remote_mac 'auto' follow it. */
  neighborChanged(n: { ifindex: number; dst: string | null; lladdr: string | null; state: number; deleted?: boolean }): Promise<void> {
    return this.locks.rtnl.run(() => {
      if (this.closing || n.deleted || n.lladdr === null || (n.state & NUD_UNUSABLE) !== 0) return;
      for (const r of this.list()) {
        const b = r.binding;
        if (r.state !== 'enabled' || b === null || b.addr === null || b.nextHop !== n.dst || b.device.ifindex !== n.ifindex) continue;
        const mac = parseMac('remote_mac', n.lladdr);
        if (mac.every((x, i) => b.addr![L.ADDR_DST_MAC + i] === x)) continue;
        const addr = b.addr.slice();
        addr.set(mac, L.ADDR_DST_MAC);
        this.locks.spin(() => this.core.targets.setTargetAddr(r.index, addr));
        b.addr = addr;
        this.emit('target', { name: r.name, state: r.state, device: b.device.name, reason: `next hop ${n.dst} is now ${n.lladdr}` });
      }
    });
  }

  // ---------------------------------------------------------------- disable / remove: deferred cleanup
  /** Deferred cleanup, step 1 (cleanup held): DISABLED and off the target list in one spinlock
   *  section, the ring position recorded: no writer reaches it from here on. */
  private stop(rec: TargetRecord): void {
    this.locks.checker.assertHeld('cleanup', 'stopping a target');
    this.locks.spin(() => this.core.targets.listToCleanup(rec.index));
    this.stopLink(rec);
    rec.state = 'disabled';
    this.updateWantSys();
    this.syncHeartbeat(rec);
  }

  /** Steps 2 and 3 for whatever is on the cleanup list (netconsole_process_cleanups). */
  private finishCleanup(): Promise<void> {
    return this.locks.rtnl.run(() => this.locks.cleanup.run(() => this.processCleanup()));
  }

  /**
   * rmdir (drop_netconsole_target): the target leaves whichever list it is on in one spinlock
   * section (a device event may have put it on the cleanup list, not yet processed: then this path
   * releases what it holds, as the kernel's does), and nothing can bring it back.
   */
  private async removeLocked(rec: TargetRecord, announce: boolean): Promise<void> {
    this.locks.checker.assertHeld('config', 'remove');
    const held = await this.locks.cleanup.run(() => {
      this.locks.spin(() => this.core.targets.listRemove(rec.index));
      this.stopLink(rec);
      rec.removed = true;
      rec.state = 'disabled';
      this.byName.delete(rec.name);
      this.updateWantSys();
      this.syncHeartbeat(rec);
      return rec.binding !== null;
    });
    if (held) await this.locks.rtnl.run(() => this.locks.cleanup.run(() => this.release_(rec)));
    this.core.targets.clearTarget(rec.index);
    this.byIndex[rec.index] = undefined;
    if (announce) this.emit('target', { name: rec.name, state: 'removed' });
  }

  /** After its grace period, a target's route goes and its socket is released (rtnl and cleanup held). */
  private async release_(rec: TargetRecord): Promise<void> {
    this.assertHeld(['rtnl', 'cleanup'], 'releasing a binding');
    const b = rec.binding;
    if (b === null) return;
    await this.sender.waitPast(this.core.targets.cleanupPosition(rec.index));
    this.sender.clearRoute(rec.index);
    await this.sockets.release(b.socket);
    if (b.reliable) {
      const r = b.reliable.retention;
      rec.nextSeq = r.nextSeq();
      r.uninstall();
      this.space.give(r.base, regionBytes(r.slots, r.size));
    }
    rec.binding = null;
  }

  /** A reliable target leaves the target list (cleanup held): from here on it resends nothing,
   *  as no writer reaches it (its replies' socket closes; its region waits for release_). */
  private stopLink(rec: TargetRecord): void {
    rec.link?.stop();
    rec.link = null;
  }

  /**
   * Deferred cleanup, steps 2 and 3, for every target on the cleanup list (rtnl and cleanup held):
   * wait until the sender passed the ring position recorded when it left the target list, release
   * what it holds, and put it back on the target list in the state it was given when it was moved
   * (netconsole_process_cleanups_core). No datagram of it can follow.
   */
  private async processCleanup(): Promise<void> {
    this.assertHeld(['rtnl', 'cleanup'], 'cleanup processing');
    for (const t of this.locks.spin(() => this.core.targets.listRead(L.ON_CLEANUP))) {
      const rec = this.byIndex[t]!;
      await this.release_(rec);
      this.locks.spin(() => this.core.targets.listFromCleanup(t, STATE_CODE[rec.state]));
    }
  }

  private assertHeld(names: LockName[], what: string): void {
    for (const n of names) this.locks.checker.assertHeld(n, what);
  }

  // ---------------------------------------------------------------- device events (rtnl)
  /** The one entry point for device events (docs/targets.md 4). Resolves when they are handled,
   *  resumes included. */
  async deviceEvent(ev: NetdevEvent): Promise<void> {
    const resume = await this.locks.rtnl.run(async () => {
      if (this.closing) return [];
      const { moved, resume } = await this.locks.cleanup.run(() => this.applyEvent(ev));
      if (moved.length > 0) {
        await this.locks.cleanup.run(() => this.processCleanup());
        for (const r of moved) this.emit('target', { name: r.name, state: r.state, device: ev.name, reason: ev.type });
      }
      return resume;
    });
    for (const r of resume) await this.resume(r, ev);
  }

  /**
   * netconsole_netdev_event, in one synchronous step (rtnl and cleanup held): every target bound
   * to the device follows the event, and those that stop are moved to the cleanup list in one
   * spinlock section, in the state they end in. Returns them, and the DEACTIVATED targets the
   * event may resume.
   */
  private applyEvent(ev: NetdevEvent): { moved: TargetRecord[]; resume: TargetRecord[] } {
    this.assertHeld(['rtnl', 'cleanup'], 'a device event');
    const moved: TargetRecord[] = [];
    const resume: TargetRecord[] = [];
    const after: TargetState | null = ev.type === 'unregister' ? 'deactivated' : ev.type === 'enslave' || ev.type === 'release' ? 'disabled' : null;
    for (const r of this.list()) {
      const b = r.binding;
      if (r.state === 'enabled' && b !== null && b.device.ifindex === ev.ifindex) {
        if (ev.type === 'rename') {
          // Only targets bound to the device follow it (kernel: nt->np.dev == dev); a disabled
          // target keeps the name it was given, a DEACTIVATED one may resume under the new name.
          b.device.name = ev.name;
          if (r.attrs.dev_name !== '') r.attrs.dev_name = ev.name;
        } else if (ev.type === 'up' || ev.type === 'down') {
          // From a device source (which says `up`), nothing for the write path: the sender looks
          // at the device itself and holds the records while it cannot carry them (holdMs). An
          // injected 'down' makes the write path skip the target, as the kernel skips a device
          // that is not running.
          this.core.targets.setDeviceUp(r.index, ev.type === 'up' || ev.up !== undefined);
        } else if (after !== null) {
          moved.push(r);
        }
      }
      if ((ev.type === 'register' || ev.type === 'rename') && this.resumes(r, ev)) resume.push(r);
    }
    if (moved.length > 0) {
      this.locks.spin(() => this.core.targets.listToCleanupBatch(moved.map((r) => r.index), STATE_CODE[after!]));
      for (const r of moved) {
        this.stopLink(r);
        r.state = after!;
        if (after === 'deactivated') r.resumeName = r.binding!.device.name;
        this.syncHeartbeat(r);
      }
      this.updateWantSys();
    }
    return { moved, resume };
  }

  /** deactivated_target_match: by MAC when bound by MAC, else by name. */
  private resumes(r: TargetRecord, ev: NetdevEvent): boolean {
    if (r.state !== 'deactivated') return false;
    if (r.bindMac !== null) return r.bindMac === ev.mac;
    return (r.attrs.dev_name || r.resumeName) === ev.name;
  }

  /**
   * process_resume_target: under the configuration mutex, only if the target is still
   * DEACTIVATED (a user who disabled, enabled or removed it meanwhile decided for it); set up
   * again: ENABLED, or on failure DISABLED, not retried.
   */
  private resume(r: TargetRecord, ev: NetdevEvent): Promise<void> {
    return this.locks.config.run(async () => {
      if (this.closing || r.removed || r.state !== 'deactivated') return;
      try {
        await this.locks.rtnl.run(async () => this.commit(r, await this.setup(r)));
      } catch (err) {
        await this.locks.cleanup.run(() => this.setState(r, 'disabled'));
        this.emit('target', { name: r.name, state: 'disabled', device: ev.name, reason: 'resume failed', error: err as NetconsoleError });
        return;
      }
      this.emit('target', { name: r.name, state: 'enabled', device: ev.name, reason: 'resumed' });
    });
  }
}
