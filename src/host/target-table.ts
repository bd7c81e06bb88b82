// The target table (TargetTable): the configuration operations on targets, with configfs
// semantics (docs/targets.md 3): mkdir (create), attribute writes and reads, userdata and sysdata,
// enabled_store, send_msg, rmdir, close. Each runs under the configuration mutex (configOp).
// The records, the life cycle and the lock order: target-lifecycle.ts; device events:
// device-events.ts.
import { DEFAULT_ATTRIBUTES, isSysdataToggle, type SysdataToggle } from '../config/attributes.js';
import { formatAttribute } from '../config/attribute-read.js';
import { parseAttributeWrite } from '../config/attribute-write.js';
import { parseBoolWrite, toAttributeText } from '../config/store-text.js';
import { attributeFields, checkTargetName } from '../config/create.js';
import { parseSysdataToggle, validateUserdata } from '../config/userdata.js';
import { invalid, InvalidValueError, NetconsoleError } from '../base/errors.js';
import { L } from '../core/layout.js';
import { SEND_LEVEL, trimLastNewline } from './heartbeats.js';
import { reliableCounters } from './reliable.js';
import { DeviceEvents } from './device-events.js';
import type { TargetRecord } from './target-lifecycle.js';
export type { TargetState } from './reports.js';
export type { DeviceLookup, Mode } from './target-setup.js';

export class TargetTable extends DeviceEvents {
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
      if (this.byName.has(name))
        throw new InvalidValueError('EEXIST', 'name', name, 'a name not already in use', 'target exists:');
      const index = this.freeSlot();
      if (index < 0)
        throw new InvalidValueError(
          'ENOSPC',
          'name',
          name,
          `at most ${L.MAX_TARGETS} targets`,
          'no free target slot for',
        );
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
      const enable =
        enabled !== undefined &&
        parseBoolWrite('enabled', enabled) &&
        parseAttributeWrite(name, 'enabled', enabled, { ...rec.attrs, enabled: false }).enabled === true;
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
      if (attr === 'send_msg')
        return this.send(rec, typeof value === 'string' ? value : toAttributeText(value, attr, false), SEND_LEVEL);
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
    if (rec.state === 'enabled' && ('ratelimit_interval_ms' in change || 'ratelimit_burst' in change))
      this.writeRatelimit(rec);
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
    if (typeof text !== 'string' && !(text instanceof Uint8Array))
      throw invalid('send_msg', text, 'a string or a Uint8Array: the text to send');
    const body = trimLastNewline(text);
    if (rec.state !== 'enabled') {
      throw new InvalidValueError(
        'EINVAL',
        'send_msg',
        text,
        'a write to an enabled target',
        `target (${rec.name}) is ${rec.state}, not enabled; cannot send`,
      );
    }
    if (!this.core.targets.deviceUp(rec.index)) {
      throw new InvalidValueError(
        'EINVAL',
        'send_msg',
        text,
        "a write while the target's device is running",
        `target (${rec.name}): device ${rec.binding?.device.name ?? ''} is not running; cannot send`,
      );
    }
    if (this.writer === null || this.writer.writeTo(rec.index, level, body) === 0) {
      throw new InvalidValueError(
        'EINVAL',
        'send_msg',
        text,
        'a write to an enabled target',
        `target (${rec.name}) could not take it`,
      );
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
      const { enabled } = parseAttributeWrite(rec.name, 'enabled', value, {
        ...rec.attrs,
        enabled: rec.state === 'enabled',
      });
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
      if (!rec.userdata.delete(key))
        throw new InvalidValueError('ENOENT', 'userdata key', key, 'an existing key', 'no such entry:');
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
    const all: Record<string, unknown> = {
      ...rec.reliableCounters,
      kept: n.kept,
      unacked: n.unacked,
      unheard: n.unheard,
    };
    return Object.entries(all)
      .map(([k, v]) => `${k}=${v ?? '-'}`)
      .join(' ');
  }

  private setSysdata(rec: TargetRecord, toggle: SysdataToggle, value: unknown): void {
    rec.sysdata[toggle] = parseSysdataToggle(toggle, value);
    if (rec.state === 'enabled') this.writeSysdata(rec);
  }

  /** A removed target answers ENOENT to everything, reads included, as its configfs directory
   *  would after rmdir. */
  assertLive(rec: TargetRecord): void {
    if (rec.removed || this.byName.get(rec.name) !== rec)
      throw new InvalidValueError('ENOENT', 'target', rec.name, 'an existing target', 'no such target (removed):');
  }
}
