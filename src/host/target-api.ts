// A target as users see it: the configfs directory /sys/kernel/config/netconsole/<name>, with
// attributes read and written by their kernel names, userdata entries and sysdata toggles.
import {
  isSysdataToggle,
  type AttributeName,
  type SysdataToggle,
  type TargetAttributes,
} from '../config/attributes.js';
export type { AttributeName } from '../config/attributes.js';
import type { TargetRecord } from './target-lifecycle.js';
import type { TargetState, TargetTable } from './target-table.js';
import { SEND_LEVEL } from './heartbeats.js';
import { levelNumber, type Level } from '../core/writer.js';

/** The options of Target.send. */
export interface SendOptions {
  /** The record's level (default 4, warning: what the kernel gives text without a level). */
  level?: Level;
}

/** The yes/no attributes: the only ones that take true and false. */
type YesNoAttribute = 'enabled' | 'extended' | 'timestamps' | 'release';

/** The attributes a target can be written: its configfs files that have a store method
 *  (`send_msg`, write-only, sends what is written: Target.send). */
export type WritableAttribute = keyof TargetAttributes | 'send_msg';
/** What a write of attribute `A` takes: text as written to configfs, or an integer; booleans for yes/no ones. */
export type AttributeValue<A extends WritableAttribute> = A extends YesNoAttribute
  ? string | number | boolean
  : string | number;

/** Attributes by kernel name (strings as written to configfs, or integer numbers; booleans for the
 *  yes/no ones), plus userdata; null or undefined: the default. */
export type TargetOptions = Partial<Record<YesNoAttribute, string | number | boolean | null>> &
  Partial<Record<Exclude<keyof TargetAttributes, YesNoAttribute>, string | number | null>> &
  Partial<Record<SysdataToggle, string | number | boolean>> & {
    name?: string;
    /** userdata/<key> entries, in order. */
    userdata?: Record<string, string>;
  };

export class Target {
  readonly userdata: Userdata;

  constructor(
    private readonly table: TargetTable,
    private readonly rec: TargetRecord,
  ) {
    this.userdata = new Userdata(table, rec);
  }

  get name(): string {
    return this.rec.name;
  }

  /** DISABLED, ENABLED or DEACTIVATED (its device went away; it resumes when it comes back). */
  get state(): TargetState {
    return this.rec.state;
  }

  /** The device it is bound to while enabled (also when picked by the route), else null. */
  get device(): string | null {
    return this.rec.state === 'enabled' ? (this.rec.binding?.device.name ?? null) : null;
  }

  /** The text a configfs read of `attr` returns (`enabled`, `remote_ip`, `local_mac`, `transmit_errors`, ...).
   *  Throws ENOENT once the target is removed (as a read after rmdir fails). */
  get(attr: AttributeName): string {
    return this.table.read(this.rec, attr);
  }

  /** A configfs write: kernel-exact validation; a rejected write changes nothing. */
  set<A extends WritableAttribute>(attr: A, value: AttributeValue<A>): Promise<void> {
    return this.table.set(this.rec, attr, value);
  }

  /**
   * The kernel's `send_msg` (net-next, November 2025): sends `text` to this target alone, now,
   * without going through the log (no level threshold, no oopsOnly, no other target), as one
   * record in the target's format: basic lines, or an extended record with the next seq, the
   * target's userdata and sysdata. It goes through the ring like any record and is counted in this
   * target's stats; it is not rate limited. One trailing '\n' is trimmed. For announcements (a
   * workload starting or leaving) and liveness pings (see the `heartbeat_ms` attribute).
   * Synchronous, like a log call (and like it, it may wait for room in a full ring, overflow
   * 'wait'). Throws EINVAL when the target is not enabled or its device is not running (as the
   * kernel's write fails), ENOENT once it is removed, ESHUTDOWN once the Netconsole closes.
   * `set('send_msg', text)` and `netconsole ctl set <target>/send_msg <text>` do the same at level 4.
   */
  send(text: string | Uint8Array, opts?: SendOptions): void {
    const level = opts?.level === undefined ? SEND_LEVEL : levelNumber(opts.level);
    this.table.send(this.rec, text, level);
  }

  enable(): Promise<void> {
    return this.table.enable(this.rec);
  }

  disable(): Promise<void> {
    return this.table.disable(this.rec);
  }

  /** rmdir: disables it if needed, waits until nothing of it is in flight, and frees it. */
  remove(): Promise<void> {
    return this.table.remove(this.rec);
  }
}

/** `<target>/userdata/`: entries sent as ` key=value` lines, and the four sysdata toggles. */
export class Userdata {
  constructor(
    private readonly table: TargetTable,
    private readonly rec: TargetRecord,
  ) {}

  /** Sets an entry (or a toggle: cpu_nr_enabled, taskname_enabled, release_enabled, msgid_enabled). */
  set(key: string, value: string | number | boolean): Promise<void> {
    return this.table.setUserdata(this.rec, key, value);
  }

  /** An entry's value (undefined when there is none) or a toggle's '1'/'0'; ENOENT once the target is removed. */
  get(key: string): string | undefined {
    this.table.assertLive(this.rec);
    // Own names only: a key such as 'toString' is a userdata entry, not Object.prototype's.
    if (isSysdataToggle(key)) return this.rec.sysdata[key] ? '1' : '0';
    return this.rec.userdata.get(key);
  }

  delete(key: string): Promise<void> {
    return this.table.deleteUserdata(this.rec, key);
  }

  /** The entries in creation order; ENOENT once the target is removed. */
  entries(): Array<[string, string]> {
    this.table.assertLive(this.rec);
    return [...this.rec.userdata];
  }
}

/** `nc.targets`: the configfs directory of targets. */
export class Targets {
  constructor(private readonly table: TargetTable) {}

  /** The target named `name`, or undefined when there is none (check it: `nc.targets.get('cmdline0')?.get('remote_ip')`). */
  get(name: string): Target | undefined {
    const rec = this.table.get(name);
    return rec ? new Target(this.table, rec) : undefined;
  }

  list(): Target[] {
    return this.table.list().map((r) => new Target(this.table, r));
  }

  /** Creates a target (mkdir) and writes its attributes (by kernel name; undefined or null: none;
   *  anything but an object is EINVAL naming `attributes`); with `enabled: 1` among them it is
   *  enabled too. All or nothing: a create that fails leaves no target. */
  async create(name: string, attrs?: Omit<TargetOptions, 'name'> | null): Promise<Target> {
    return new Target(this.table, await this.table.create(name, attrs));
  }
}
