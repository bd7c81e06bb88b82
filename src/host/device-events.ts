// Device events and the target table (docs/targets.md 4; kernel netconsole_netdev_event,
// process_resume_target): what an event does to the targets bound to its device, in one step
// under rtnl and cleanup; the resumes it allows; a neighbour's new address for raw targets. The
// records, the locks' order and the life cycle are target-lifecycle.ts's.
import { parseMac } from '../base/addr.js';
import { NetconsoleError } from '../base/errors.js';
import { L } from '../core/layout.js';
import type { NetdevEvent } from '../netdev/types.js';
import { NUD_UNUSABLE } from './target-setup.js';
import type { TargetState } from './reports.js';

export type { DeviceLookup, Mode } from './target-setup.js';
import { STATE_CODE, TargetLifecycle, type TargetRecord } from './target-lifecycle.js';

export abstract class DeviceEvents extends TargetLifecycle {
  // ---------------------------------------------------------------- device events (rtnl)
  /** A neighbour entry changed (rtnetlink): raw targets with remote_mac 'auto' follow it. */
  neighborChanged(n: {
    ifindex: number;
    dst: string | null;
    lladdr: string | null;
    state: number;
    deleted?: boolean;
  }): Promise<void> {
    return this.locks.rtnl.run(() => {
      if (this.closing || n.deleted || n.lladdr === null || (n.state & NUD_UNUSABLE) !== 0) return;
      for (const r of this.list()) {
        const b = r.binding;
        if (
          r.state !== 'enabled' ||
          b === null ||
          b.addr === null ||
          b.nextHop !== n.dst ||
          b.device.ifindex !== n.ifindex
        )
          continue;
        const mac = parseMac('remote_mac', n.lladdr);
        if (mac.every((x, i) => b.addr![L.ADDR_DST_MAC + i] === x)) continue;
        const addr = b.addr.slice();
        addr.set(mac, L.ADDR_DST_MAC);
        this.locks.spin(() => this.core.targets.setTargetAddr(r.index, addr));
        b.addr = addr;
        this.emit('target', {
          name: r.name,
          state: r.state,
          device: b.device.name,
          reason: `next hop ${n.dst} is now ${n.lladdr}`,
        });
      }
    });
  }

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
    const after: TargetState | null =
      ev.type === 'unregister' ? 'deactivated' : ev.type === 'enslave' || ev.type === 'release' ? 'disabled' : null;
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
      this.locks.spin(() =>
        this.core.targets.listToCleanupBatch(
          moved.map((r) => r.index),
          STATE_CODE[after!],
        ),
      );
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
        this.emit('target', {
          name: r.name,
          state: 'disabled',
          device: ev.name,
          reason: 'resume failed',
          error: err as NetconsoleError,
        });
        return;
      }
      this.emit('target', { name: r.name, state: 'enabled', device: ev.name, reason: 'resumed' });
    });
  }
}
