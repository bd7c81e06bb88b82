// Targets' life cycle, as the kernel's netconsole.c has it (docs/targets.md 3, 4; docs/locking.md):
// the records and their slots, enable (set up, commit), disable and remove (deferred cleanup),
// the heartbeat. The target table is three files, each a class of one chain: this one;
// device-events.ts (DeviceEvents: what a device event does to the targets); target-table.ts
// (TargetTable: the configuration operations, configfs semantics). The lock order and who
// writes what, below, hold for all three.
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
import { SYSDATA_TOGGLES, type SysdataToggle, type TargetAttributes } from '../config/attributes.js';
import { asNetconsoleError } from '../base/errors.js';
import { L } from '../core/layout.js';
import type { HostLocks, LockName } from './locks.js';
import type { Sender } from '../sender/types.js';
import type { SocketPool } from '../sender/sockets.js';
import { setupTarget, type Binding, type DeviceLookup, type Mode } from './target-setup.js';
import { renderUserdata } from '../core/userdata.js';
import type { Core } from '../core/wasm.js';
import type { TargetEvent, TargetState } from './reports.js';
import type { Writer } from '../core/writer.js';
import { Heartbeats, SEND_LEVEL } from './heartbeats.js';
import { memoryBytes } from '../core/layout.js';
import { regionBytes, Retention, RetentionSpace } from '../core/retention.js';
import { openReplySocket, ReliableLink, type ReliableCounters } from './reliable.js';

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

export const STATE_CODE: Record<TargetState, number> = {
  disabled: L.ST_DISABLED,
  enabled: L.ST_ENABLED,
  deactivated: L.ST_DEACTIVATED,
};
const SYSDATA_BIT: Record<SysdataToggle, number> = {
  cpu_nr_enabled: L.S_CPU,
  taskname_enabled: L.S_TASKNAME,
  release_enabled: L.S_RELEASE,
  msgid_enabled: L.S_MSGID,
};
const encoder = new TextEncoder();

export abstract class TargetLifecycle extends EventEmitter<{ target: [TargetEvent] }> {
  protected readonly byName = new Map<string, TargetRecord>();
  protected readonly byIndex: Array<TargetRecord | undefined> = [];
  protected readonly release = encoder.encode(osRelease());
  protected closing = false;
  /** The running heartbeats (heartbeat_ms), by target: a timer only while the target is enabled. */
  protected readonly heartbeats = new Heartbeats<TargetRecord>();
  /** Where reliable targets' retention regions go: past the ring (rtnl: taken at setup, given back
   *  at release). */
  protected readonly space: RetentionSpace;

  constructor(
    protected readonly core: Core,
    protected readonly locks: HostLocks,
    protected readonly sockets: SocketPool,
    protected readonly sender: Sender,
    protected readonly lookup: DeviceLookup,
    protected readonly mode: Mode = 'udp',
    /** The host thread's writer (the Netconsole's): send_msg and heartbeats write through it. */
    protected readonly writer: Writer | null = null,
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

  // ---------------------------------------------------------------- the heartbeat
  /**
   * Starts, restarts or stops rec's heartbeat so that it runs exactly while rec is enabled with a
   * heartbeat_ms (called at every change of either). The timer is unref'd: it never keeps the
   * process alive, and it is cleared when the target leaves ENABLED, is removed, or the
   * Netconsole closes.
   */
  protected syncHeartbeat(rec: TargetRecord): void {
    const on = !this.closing && !rec.removed && rec.state === 'enabled' && this.writer !== null;
    this.heartbeats.set(rec, on ? rec.attrs.heartbeat_ms : 0, () => this.beat(rec));
  }

  /** One heartbeat: heartbeat_text to rec alone, as a send_msg write. A device that is not running
   *  gets none (the silence is the news); what else fails is a bug, said as a process warning. */
  protected beat(rec: TargetRecord): void {
    if (this.closing || rec.removed || rec.state !== 'enabled') return this.syncHeartbeat(rec);
    if (!this.core.targets.deviceUp(rec.index)) return;
    try {
      this.writer!.writeTo(rec.index, SEND_LEVEL, rec.attrs.heartbeat_text);
    } catch (err) {
      process.emitWarning(
        `netconsole: target ${rec.name}: heartbeat: ${err instanceof Error ? err.message : String(err)}`,
        { code: 'NETCONSOLE_BACKGROUND' },
      );
    }
  }

  // ---------------------------------------------------------------- slot writes
  protected writeUserdata(rec: TargetRecord): void {
    const entries = [...rec.userdata].map(
      ([k, v]) => [encoder.encode(k), encoder.encode(v)] as [Uint8Array, Uint8Array],
    );
    this.core.targets.setUserdata(rec.index, renderUserdata(entries));
  }

  protected writeSysdata(rec: TargetRecord): void {
    let bits = 0;
    for (const t of SYSDATA_TOGGLES) if (rec.sysdata[t]) bits |= SYSDATA_BIT[t];
    this.core.targets.setSysdata(rec.index, bits);
    this.updateWantSys();
  }

  protected writeRatelimit(rec: TargetRecord): void {
    this.core.targets.setRatelimit(rec.index, rec.attrs.ratelimit_interval_ms, rec.attrs.ratelimit_burst);
  }

  /** Tells writers which per-thread sysdata (cpu, taskname) some enabled target sends. */
  protected updateWantSys(): void {
    let want = 0;
    for (const r of this.list())
      if (r.state === 'enabled') for (const t of SYSDATA_TOGGLES) if (r.sysdata[t]) want |= SYSDATA_BIT[t];
    this.core.setWantedSysdata(want);
  }

  /** A state change of a target on the target list (cleanup held; the slot's state under the spinlock). */
  protected setState(rec: TargetRecord, state: TargetState): void {
    this.locks.checker.assertHeld('cleanup', 'a state change');
    this.locks.spin(() => this.core.targets.setTargetState(rec.index, STATE_CODE[state]));
    rec.state = state;
    if (state !== 'enabled') this.updateWantSys();
    this.syncHeartbeat(rec);
  }

  // ---------------------------------------------------------------- enable (config -> rtnl -> cleanup -> spinlock)
  protected async enableLocked(rec: TargetRecord): Promise<void> {
    this.locks.checker.assertHeld('config', 'enable');
    await this.locks.rtnl.run(async () => this.commit(rec, await this.setup(rec)));
    this.emit('target', { name: rec.name, state: 'enabled', device: rec.binding?.device.name });
  }

  /** Sets the target up; whatever fails (a device look-up that could not read the devices
   *  included) rejects with a NetconsoleError. */
  protected async setup(rec: TargetRecord): Promise<Binding> {
    this.locks.checker.assertHeld('rtnl', 'target setup');
    const gen = this.core.targets.nextGeneration(rec.index); // target_set_state(ENABLED) bumps it
    let b: Binding;
    try {
      b = await setupTarget(
        { lookup: this.lookup, sockets: this.sockets, mode: this.mode },
        rec.attrs,
        rec.bindMac,
        gen,
      );
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
      const replies = await openReplySocket({
        family: a.remote_ip!.includes(':') ? 6 : 4,
        localIp: a.local_ip,
        localPort: a.local_port,
        remoteIp: a.remote_ip!,
        remotePort: a.remote_port,
      });
      b.reliable = {
        replies,
        retention: new Retention(this.core.memory, rec.index, base, a.reliable_msgs, a.reliable_bytes),
      };
      return b;
    } catch (err) {
      if (base >= 0) this.space.give(base, bytes);
      await this.sockets.release(b.socket);
      throw asNetconsoleError(err, `target ${rec.name}: setting up`);
    }
  }

  /** Writes a set-up target's slot, gives the sender its route, and marks it ENABLED (rtnl held,
   *  then cleanup and the spinlock): plain memory writes, nothing here can fail. */
  protected commit(rec: TargetRecord, b: Binding): Promise<void> {
    this.locks.checker.assertHeld('rtnl', 'commit');
    return this.locks.cleanup.run(() => {
      this.core.targets.setTargetLocked(
        rec.index,
        b.flags | (b.reliable ? L.F_RELIABLE : 0),
        this.release,
        this.release,
        b.addr ?? undefined,
      );
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

  // ---------------------------------------------------------------- disable / remove: deferred cleanup
  /** Deferred cleanup, step 1 (cleanup held): DISABLED and off the target list in one spinlock
   *  section, the ring position recorded: no writer reaches it from here on. */
  protected stop(rec: TargetRecord): void {
    this.locks.checker.assertHeld('cleanup', 'stopping a target');
    this.locks.spin(() => this.core.targets.listToCleanup(rec.index));
    this.stopLink(rec);
    rec.state = 'disabled';
    this.updateWantSys();
    this.syncHeartbeat(rec);
  }

  /** Steps 2 and 3 for whatever is on the cleanup list (netconsole_process_cleanups). */
  protected finishCleanup(): Promise<void> {
    return this.locks.rtnl.run(() => this.locks.cleanup.run(() => this.processCleanup()));
  }

  /**
   * rmdir (drop_netconsole_target): the target leaves whichever list it is on in one spinlock
   * section (a device event may have put it on the cleanup list, not yet processed: then this path
   * releases what it holds, as the kernel's does), and nothing can bring it back.
   */
  protected async removeLocked(rec: TargetRecord, announce: boolean): Promise<void> {
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
    if (held) await this.locks.rtnl.run(() => this.locks.cleanup.run(() => this.releaseBinding(rec)));
    this.core.targets.clearTarget(rec.index);
    this.byIndex[rec.index] = undefined;
    if (announce) this.emit('target', { name: rec.name, state: 'removed' });
  }

  /** After its grace period, a target's route goes and its socket is released (rtnl and cleanup held). */
  protected async releaseBinding(rec: TargetRecord): Promise<void> {
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
   *  as no writer reaches it (its replies' socket closes; its region waits for releaseBinding). */
  protected stopLink(rec: TargetRecord): void {
    rec.link?.stop();
    rec.link = null;
  }

  /**
   * Deferred cleanup, steps 2 and 3, for every target on the cleanup list (rtnl and cleanup held):
   * wait until the sender passed the ring position recorded when it left the target list, release
   * what it holds, and put it back on the target list in the state it was given when it was moved
   * (netconsole_process_cleanups_core). No datagram of it can follow.
   */
  protected async processCleanup(): Promise<void> {
    this.assertHeld(['rtnl', 'cleanup'], 'cleanup processing');
    for (const t of this.locks.spin(() => this.core.targets.listRead(L.ON_CLEANUP))) {
      const rec = this.byIndex[t]!;
      await this.releaseBinding(rec);
      this.locks.spin(() => this.core.targets.listFromCleanup(t, STATE_CODE[rec.state]));
    }
  }

  protected assertHeld(names: LockName[], what: string): void {
    for (const n of names) this.locks.checker.assertHeld(n, what);
  }
}
