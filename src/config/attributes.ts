// A target's attributes, as netconsole's configfs directory has them (docs/targets.md section 1;
// Linux drivers/net/netconsole.c where the spec is silent): their names and defaults, which are
// locked while the target is enabled, which are read only or write only, which are yes/no, the
// sysdata toggles of userdata/, and the bounds of those beyond the kernel. A write is validated by
// attribute-write.ts, a read formatted by attribute-read.ts, the text of both by store-text.ts.

export interface TargetAttributes {
  enabled: boolean;
  extended: boolean;
  timestamps: boolean;
  release: boolean;
  dev_name: string;
  local_port: number;
  remote_port: number;
  /** Canonical text (formatIp); null when unset (the kernel's all-zero address). */
  local_ip: string | null;
  remote_ip: string | null;
  /** Lowercase xx:xx:xx:xx:xx:xx. */
  remote_mac: string;
  ratelimit_interval_ms: number;
  ratelimit_burst: number;
  /** Beyond the kernel: a heartbeat, `heartbeat_text` sent to this target alone every this many
   *  ms while it is enabled (as a write of send_msg would); 0, the default: none. */
  heartbeat_ms: number;
  /** Beyond the kernel: the heartbeat's text. */
  heartbeat_text: string;
  /** Beyond the kernel: acks and resends over netconsd's ncrx protocol (docs/reliable.md); needs
   *  extended. The target keeps what it sent until its receiver acks it. */
  reliable: boolean;
  /** Beyond the kernel: the most messages a reliable target keeps for resending. */
  reliable_msgs: number;
  /** Beyond the kernel: the most bytes of messages a reliable target keeps for resending. */
  reliable_bytes: number;
}

export const DEFAULT_ATTRIBUTES: Readonly<TargetAttributes> = Object.freeze({
  enabled: false,
  extended: false,
  timestamps: true,
  release: false,
  dev_name: '',
  local_port: 6665,
  remote_port: 6666,
  local_ip: null,
  remote_ip: null,
  remote_mac: 'ff:ff:ff:ff:ff:ff',
  ratelimit_interval_ms: 0,
  ratelimit_burst: 10,
  heartbeat_ms: 0,
  heartbeat_text: 'netconsole: heartbeat',
  reliable: false,
  reliable_msgs: 8192,
  reliable_bytes: 4 << 20,
});

/**
 * Attributes that cannot change while the target is enabled (docs/targets.md section 1, "locked").
 * `timestamps` is deliberately NOT here: the spec table gives it no locked rule, and it is the
 * counterpart of the kernel's `printk.time`, which is writable at runtime too. Flipping it only
 * changes the text prefix of later basic (non-extended) lines; receivers see it as message text.
 * The ratelimit attributes and `enabled` itself are not locked either.
 */
export const LOCKED_ATTRIBUTES: ReadonlySet<string> = new Set([
  'extended',
  'release',
  'dev_name',
  'local_port',
  'remote_port',
  'local_ip',
  'remote_ip',
  'remote_mac',
  'reliable',
  'reliable_msgs',
  'reliable_bytes',
]);

/**
 * Attributes that exist but have no store method: writing them fails EACCES, as configfs refuses
 * to open such a file for writing (__configfs_open_file: no ->store, -EACCES).
 */
export const READ_ONLY_ATTRIBUTES: ReadonlySet<string> = new Set(['local_mac', 'transmit_errors', 'reliable_stats']);

/**
 * Attributes with a store method but no show method: `send_msg` (net-next, November 2025), which
 * sends what is written to it to this target alone. Reading one fails EACCES, as configfs refuses
 * to open such a file for reading (__configfs_open_file: no ->show, -EACCES). Its write is not a
 * setting (host/targets.ts sends it), so it is not among TargetAttributes.
 */
export const WRITE_ONLY_ATTRIBUTES: ReadonlySet<string> = new Set(['send_msg']);

/** The name of an attribute of a target directory: the writable ones and the read-only `local_mac`, `transmit_errors`, `reliable_stats`. */
export type AttributeName = keyof TargetAttributes | 'local_mac' | 'transmit_errors' | 'reliable_stats';

/** Every attribute of a target directory, in the kernel's configfs order. */
export const ATTRIBUTE_NAMES: readonly AttributeName[] = Object.freeze([
  ...(Object.keys(DEFAULT_ATTRIBUTES) as Array<keyof TargetAttributes>),
  ...(READ_ONLY_ATTRIBUTES as ReadonlySet<AttributeName>),
]);

/** The sysdata toggles of `userdata/` (netconsole.c: sysdata_*_enabled). */
export const SYSDATA_TOGGLES = ['cpu_nr_enabled', 'taskname_enabled', 'release_enabled', 'msgid_enabled'] as const;
export type SysdataToggle = (typeof SYSDATA_TOGGLES)[number];
/** Whether `name` is one of the sysdata toggles (userdata/<name>_enabled). */
export function isSysdataToggle(name: string): name is SysdataToggle {
  return (SYSDATA_TOGGLES as readonly string[]).includes(name);
}

/** The heartbeat's interval: 0 (none), or HEARTBEAT_MIN_MS up to what setInterval takes (2^31 - 1). */
export const HEARTBEAT_MIN_MS = 100;
export const HEARTBEAT_MAX_MS = 0x7fffffff;
/** The longest heartbeat_text, in bytes as written: what a configfs store receives at most
 *  (configfs_write_iter: SIMPLE_ATTR_SIZE - 1; the kernel cuts a longer write, this refuses it). */
export const HEARTBEAT_TEXT_MAX = 4095;
/**
 * A reliable target's bounds (docs/reliable.md, "Bounds"). reliable_msgs' default, 8,192, is
 * libncrx's window (nr_slots): a receiver gives up on a seq that far behind the newest, so keeping
 * more cannot help. reliable_bytes' default, 4 MiB, keeps the whole window of 512-byte messages
 * (more than a second of 50,000 100-byte messages a second, a second being the ack interval of
 * `listen --ack` and of netconsd's sample receiver); its least, 256 KiB, holds two messages of the
 * largest size (maxTotal 65,532 plus header), so every message can be kept.
 */
export const RELIABLE_MSGS_MIN = 16;
export const RELIABLE_MSGS_MAX = 1 << 20;
export const RELIABLE_BYTES_MIN = 256 << 10;
export const RELIABLE_BYTES_MAX = 256 << 20;

/** The yes/no attributes (kstrtobool): the only ones a boolean is written to. */
export const BOOLEAN_ATTRIBUTES: ReadonlySet<string> = new Set([
  'enabled',
  'extended',
  'timestamps',
  'release',
  'reliable',
  ...SYSDATA_TOGGLES,
]);
