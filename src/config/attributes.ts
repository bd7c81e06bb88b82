// A target's attributes and the validation of one write to them, exactly as netconsole's configfs
// store methods do it (docs/targets.md section 1; Linux drivers/net/netconsole.c where the spec is
// silent). Pure functions: nothing here mutates a target, so a rejected write leaves it as it was.
//
// Values arrive as the text a configfs store would receive (usually with one trailing '\n', as
// `echo` writes it); JS values given to the API are first turned into that text by
// toAttributeText, so `true`, 1 and '1\n' all mean the same write to a yes/no attribute (a
// boolean is refused for any other).
import { formatIp, formatMac, parseIp, parseMac, type IpFamily } from '../base/addr.js';
import { invalid, InvalidValueError, NetconsoleError, outOfRange } from '../base/errors.js';
import { closest, unknownName } from '../base/names.js';
import { byteLength, isWellFormed, U64_MAX } from '../base/text.js';

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

/** IFNAMSIZ - 1: the longest interface name, in bytes. */
const DEV_NAME_MAX = 15;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
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
const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
const BOOL_ACCEPTED = 'a kstrtobool value: 1 y Y t T on (true), 0 n N f F off (false)';
const LOCK_ACCEPTED = 'no change while the target is enabled; write 0 to enabled first';

/** What a store sees after the kernel's trim_newline(): one trailing '\n' removed. */
export function trimNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/**
 * The kernel's kstrtobool(): only the first character decides (the second for `o`), so `yes`,
 * `true`, `1\n` and, as in the kernel, `10` or `nope` are accepted. Undefined when not a bool.
 */
export function kstrtobool(text: string): boolean | undefined {
  switch (text[0]) {
    case '1':
    case 'y':
    case 'Y':
    case 't':
    case 'T':
      return true;
    case '0':
    case 'n':
    case 'N':
    case 'f':
    case 'F':
      return false;
    case 'o':
    case 'O':
      switch (text[1]) {
        case 'n':
        case 'N':
          return true;
        case 'f':
        case 'F':
          return false;
      }
  }
  return undefined;
}

/**
 * The kernel's kstrtou16/kstrtouint(text, 10) with `max` as the type's limit: an optional '+',
 * decimal digits, one optional trailing '\n'. Empty, signs '-', spaces and junk: EINVAL; a value
 * past 2^64-1 (the kstrtoull overflow) or past `max`: ERANGE. As in _kstrtoull, the overflow is
 * reported before trailing junk, and junk before the type's range.
 */
export function parseDecimal(option: string, text: string, max: number, given: unknown = text): number {
  const accepted = `a decimal integer 0..${max}`;
  let i = text.startsWith('+') ? 1 : 0;
  const first = i;
  let value = 0n;
  let overflow = false;
  for (; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) break;
    if (!overflow) {
      value = value * 10n + BigInt(digit);
      overflow = value > U64_MAX;
    }
  }
  if (overflow) throw outOfRange(option, given, accepted);
  if (i === first) throw invalid(option, given, accepted);
  if (text[i] === '\n') i++;
  if (i !== text.length) throw invalid(option, given, accepted);
  if (value > BigInt(max)) throw outOfRange(option, given, accepted);
  return Number(value);
}

/** The yes/no attributes (kstrtobool): the only ones a boolean is written to. */
const BOOLEAN_ATTRIBUTES: ReadonlySet<string> = new Set([
  'enabled',
  'extended',
  'timestamps',
  'release',
  'reliable',
  ...SYSDATA_TOGGLES,
]);

/**
 * The text the kernel would see for a JS value: strings as they are, integer numbers in decimal
 * (never exponent notation), and, where `booleans` (a yes/no attribute), booleans as '1'/'0'.
 * Anything else is EINVAL: a boolean for a port, a name or a userdata value would be the text
 * '1' or '0' (remote_port 1), which no caller means.
 */
export function toAttributeText(value: unknown, option = 'value', booleans = true): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') {
    if (booleans) return value ? '1' : '0';
    throw invalid(
      option,
      value,
      'a string or an integer number (true and false only for yes/no attributes)',
      'a boolean for an attribute that is not yes/no:',
    );
  }
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value).toString();
  throw invalid(option, value, booleans ? 'a string, a boolean or an integer number' : 'a string or an integer number');
}

/** `given` is the caller's value, which every error carries (the text may be derived from it). */
export function parseBool(option: string, text: string, given: unknown): boolean {
  const value = kstrtobool(text);
  if (value === undefined) throw invalid(option, given, BOOL_ACCEPTED);
  return value;
}

/** A boolean attribute write's value (kstrtobool), EINVAL when it is not one. */
export function parseBoolWrite(option: string, value: unknown): boolean {
  return parseBool(option, toAttributeText(value, option), value);
}

/**
 * addr.ts reports the text it parsed (newline trimmed); errors here carry the caller's value, so
 * rebuild its EINVAL with it. Its errors are invalid() without a reason, so the message is the same.
 */
function withGiven<T>(given: unknown, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof InvalidValueError) || err.value === given) throw err;
    throw new InvalidValueError(err.code, err.option ?? 'value', given, err.accepted ?? '');
  }
}

function familyOf(canonicalIp: string): IpFamily {
  return canonicalIp.includes(':') ? 6 : 4;
}

/** An IP write: canonical text, or null for the all-zero address (the kernel's "unset"). */
function parseIpWrite(
  option: 'local_ip' | 'remote_ip',
  text: string,
  current: Readonly<TargetAttributes>,
  given: unknown,
): string | null {
  const ip = withGiven(given, () => parseIp(option, trimNewline(text)));
  if (ip.bytes.every((b) => b === 0)) return null;
  const otherName = option === 'local_ip' ? 'remote_ip' : 'local_ip';
  const other = current[otherName];
  if (other !== null && familyOf(other) !== ip.family) {
    const want = familyOf(other);
    throw invalid(
      option,
      given,
      `an IPv${want} address, the family of ${otherName} (${other})`,
      `IPv${ip.family} address family differs from ${otherName}:`,
    );
  }
  return formatIp(ip.family, ip.bytes);
}

/**
 * dev_name_store's first check, made before it takes the lock (so also while enabled): the write,
 * less one trailing '\n', must be under IFNAMSIZ bytes, else ENAMETOOLONG. The parameter string's
 * device field is held to the same size (the kernel would cut it with strscpy, which could bind
 * another device). Returns the name without the '\n'.
 */
export function checkDevNameSize(text: string, given: unknown = text, option = 'dev_name'): string {
  const name = trimNewline(text);
  const size = byteLength(name);
  if (size > DEV_NAME_MAX) {
    throw new InvalidValueError(
      'ENAMETOOLONG',
      option,
      given,
      `at most ${DEV_NAME_MAX} bytes (IFNAMSIZ - 1)`,
      `${size} bytes, name too long:`,
    );
  }
  return name;
}

/** An interface name has no NUL: the kernel's strscpy would cut the name there, binding another
 *  device (or none) without a word. */
export function checkDevNameNul(name: string, given: unknown = name, option = 'dev_name'): void {
  if (name.includes('\0')) throw invalid(option, given, 'an interface name without NUL', 'NUL in');
}

function parseDevName(text: string, given: unknown): string {
  const name = checkDevNameSize(text, given);
  if (!isWellFormed(name)) throw invalid('dev_name', given, 'well-formed text', 'lone surrogate in');
  checkDevNameNul(name, given);
  return name;
}

function lockedError(target: string, attr: string, value: unknown): NetconsoleError {
  return new NetconsoleError('EINVAL', `target (${target}) is enabled, disable to update parameters`, {
    option: attr,
    value,
    accepted: LOCK_ACCEPTED,
  });
}

/**
 * A write of `enabled` (enabled_store). Only validates: the caller performs enable/disable.
 * `current.enabled` must be "state == ENABLED": a DEACTIVATED target counts as not enabled, as in
 * the kernel, which resets it to DISABLED before this comparison.
 */
function parseEnabledWrite(target: string, text: string, current: Readonly<TargetAttributes>, given: unknown): boolean {
  const enabled = parseBool('enabled', text, given);
  if (enabled === current.enabled) {
    // netconsole.c: pr_info("network logging has already %s\n", started/stopped) and -EINVAL.
    const state = enabled ? 'started' : 'stopped';
    throw new NetconsoleError('EINVAL', `target (${target}): network logging has already ${state}`, {
      option: 'enabled',
      value: given,
      accepted: enabled ? '0 (the target is enabled)' : '1 (the target is disabled)',
    });
  }
  if (!enabled) return false;
  if (current.release && !current.extended) {
    throw new NetconsoleError(
      'EINVAL',
      `target (${target}): not enabling netconsole, the release feature requires extended log messages`,
      {
        option: 'release',
        value: current.release,
        accepted: 'release=0, or extended=1 before enabling',
      },
    );
  }
  if (current.reliable && !current.extended) {
    throw new NetconsoleError(
      'EINVAL',
      `target (${target}): not enabling netconsole, reliable delivery requires extended log messages (acks and requests name seqs)`,
      {
        option: 'reliable',
        value: current.reliable,
        accepted: 'reliable=0, or extended=1 before enabling',
      },
    );
  }
  if (current.reliable && current.local_port === 0) {
    throw new NetconsoleError(
      'EINVAL',
      `target (${target}): not enabling netconsole, reliable delivery needs a local_port: the receiver replies to it`,
      {
        option: 'local_port',
        value: 0,
        accepted: 'a local_port of 1..65535 (default 6665), or reliable=0',
      },
    );
  }
  if (current.remote_ip === null) {
    throw new NetconsoleError('EDESTADDRREQ', `target (${target}): not enabling netconsole, remote_ip is not set`, {
      option: 'remote_ip',
      value: current.remote_ip,
      accepted: 'an IPv4 or IPv6 remote_ip before enabling',
    });
  }
  return true;
}

/**
 * Validates ONE write of attribute `attr` the way its configfs store would, given the target's
 * current attributes (`target` is its name, for messages), and returns the written field (also
 * when the value is unchanged: such a write is a no-op, not an error, except for `enabled`).
 * Never mutates `current`. Order as in the kernel: the attribute must exist and be writable, a
 * locked attribute is refused while enabled before its value is even read (except dev_name's
 * size, see checkDevNameSize), then the value.
 */
export function parseAttributeWrite(
  target: string,
  attr: string,
  value: unknown,
  current: Readonly<TargetAttributes>,
): Partial<TargetAttributes> {
  if (READ_ONLY_ATTRIBUTES.has(attr)) {
    throw new InvalidValueError(
      'EACCES',
      attr,
      value,
      'nothing: the attribute is read only',
      'read-only attribute, cannot write',
    );
  }
  if (WRITE_ONLY_ATTRIBUTES.has(attr)) {
    // Not a setting: a message, sent when written to an enabled target (Target.send, ctl set
    // <target>/send_msg), never stored, so not given at creation nor in a configuration.
    throw invalid(
      attr,
      value,
      'a write to an enabled target (Target.send, or ctl set <target>/send_msg), not a setting',
      'send_msg sends a message; it is not a setting:',
    );
  }
  if (!Object.prototype.hasOwnProperty.call(DEFAULT_ATTRIBUTES, attr)) {
    throw unknownName(attr, value, ATTRIBUTE_NAMES, `target ${target}`, { code: 'ENOENT', what: 'attribute' });
  }
  const booleans = BOOLEAN_ATTRIBUTES.has(attr);
  // dev_name_store measures the write before it takes the lock: too long is ENAMETOOLONG even
  // while enabled. Every other store reports the lock before it reads the value.
  if (attr === 'dev_name') checkDevNameSize(toAttributeText(value, attr, booleans), value);
  if (current.enabled && LOCKED_ATTRIBUTES.has(attr)) throw lockedError(target, attr, value);
  const text = toAttributeText(value, attr, booleans);
  switch (attr as keyof TargetAttributes) {
    case 'enabled':
      return { enabled: parseEnabledWrite(target, text, current, value) };
    case 'extended':
    case 'timestamps':
    case 'release':
      return { [attr]: parseBool(attr, text, value) };
    case 'dev_name':
      return { dev_name: parseDevName(text, value) };
    case 'local_port':
    case 'remote_port':
      return { [attr]: parseDecimal(attr, text, U16_MAX, value) };
    case 'local_ip':
    case 'remote_ip':
      return { [attr]: parseIpWrite(attr as 'local_ip' | 'remote_ip', text, current, value) };
    case 'remote_mac':
      // Beyond the kernel: 'auto' resolves the next hop's MAC (raw mode) and follows it.
      if (trimNewline(text) === 'auto') return { remote_mac: 'auto' };
      return { remote_mac: formatMac(withGiven(value, () => parseMac('remote_mac', trimNewline(text)))) };
    case 'ratelimit_interval_ms':
    case 'ratelimit_burst':
      return { [attr]: parseDecimal(attr, text, U32_MAX, value) };
    case 'heartbeat_ms':
      return { heartbeat_ms: parseHeartbeatMs(text, value) };
    case 'heartbeat_text':
      return { heartbeat_text: parseHeartbeatText(text, value) };
    case 'reliable':
      return { reliable: parseBool(attr, text, value) };
    case 'reliable_msgs':
      return { reliable_msgs: parseBounded(attr, text, value, RELIABLE_MSGS_MIN, RELIABLE_MSGS_MAX, 1) };
    case 'reliable_bytes':
      return { reliable_bytes: parseBounded(attr, text, value, RELIABLE_BYTES_MIN, RELIABLE_BYTES_MAX, 8) };
  }
}

/** A decimal in min..max (ERANGE outside), rounded up to a multiple of `multiple`. */
function parseBounded(attr: string, text: string, given: unknown, min: number, max: number, multiple: number): number {
  const n = parseDecimal(attr, text, U32_MAX, given);
  if (n < min || n > max) throw outOfRange(attr, given, `${min}..${max}`);
  return Math.ceil(n / multiple) * multiple;
}

/** heartbeat_ms (beyond the kernel): 0, or HEARTBEAT_MIN_MS..HEARTBEAT_MAX_MS (ERANGE between). */
function parseHeartbeatMs(text: string, given: unknown): number {
  const accepted = `0 (no heartbeat) or ${HEARTBEAT_MIN_MS}..${HEARTBEAT_MAX_MS} ms`;
  const ms = parseDecimal('heartbeat_ms', text, HEARTBEAT_MAX_MS, given);
  if (ms !== 0 && ms < HEARTBEAT_MIN_MS) throw outOfRange('heartbeat_ms', given, accepted);
  return ms;
}

/** heartbeat_text (beyond the kernel): text, one trailing '\n' trimmed (as other stores do), not
 *  empty, well-formed, at most HEARTBEAT_TEXT_MAX bytes as written. */
function parseHeartbeatText(text: string, given: unknown): string {
  const accepted = `text of 1..${HEARTBEAT_TEXT_MAX} bytes`;
  const size = byteLength(text);
  if (size > HEARTBEAT_TEXT_MAX)
    throw new InvalidValueError('EMSGSIZE', 'heartbeat_text', given, accepted, `${size} bytes, too long:`);
  const trimmed = trimNewline(text);
  if (trimmed === '') throw invalid('heartbeat_text', given, accepted, 'a heartbeat needs text; empty:');
  if (!isWellFormed(trimmed)) throw invalid('heartbeat_text', given, accepted, 'lone surrogate in');
  return trimmed;
}

/** What the target's read-only attributes show; defaults per docs/targets.md. */
export interface RuntimeAttributes {
  local_mac?: string;
  transmit_errors?: number;
  /** Beyond the kernel: a reliable target's counters as `name=value` pairs (docs/reliable.md). */
  reliable_stats?: string;
}

function formatUnsetIp(other: string | null): string {
  // The kernel keeps one family flag (np.ipv6) for both addresses and prints an unset one as the
  // zero address of that family.
  return other !== null && familyOf(other) === 6 ? '::' : '0.0.0.0';
}

/**
 * The text a configfs read returns, without the trailing newline. An unset IP reads as the
 * kernel shows it, the zero address ('0.0.0.0', or '::' when the other IP is IPv6), and writing
 * that text back leaves it unset, so reads round-trip through parseAttributeWrite.
 */
export function formatAttribute(attrs: TargetAttributes, name: string, runtime: RuntimeAttributes = {}): string {
  switch (name) {
    case 'local_mac':
      return runtime.local_mac ?? BROADCAST_MAC;
    case 'transmit_errors':
      return String(runtime.transmit_errors ?? 0);
    case 'reliable_stats':
      return runtime.reliable_stats ?? '';
    case 'local_ip':
      return attrs.local_ip ?? formatUnsetIp(attrs.remote_ip);
    case 'remote_ip':
      return attrs.remote_ip ?? formatUnsetIp(attrs.local_ip);
  }
  if (WRITE_ONLY_ATTRIBUTES.has(name)) {
    throw new NetconsoleError(
      'EACCES',
      `${name}: write-only attribute, cannot read; accepted: a write (the text to send to this target)`,
      { option: name, accepted: 'a write' },
    );
  }
  if (!Object.prototype.hasOwnProperty.call(DEFAULT_ATTRIBUTES, name)) {
    // A read has no value to quote (InvalidValueError would print "undefined"): the name, a
    // did-you-mean, the names there are.
    const close = closest(name, ATTRIBUTE_NAMES);
    const accepted = `one of ${ATTRIBUTE_NAMES.join(', ')}`;
    throw new NetconsoleError(
      'ENOENT',
      `${name}: no such attribute${close !== undefined ? ` (did you mean '${close}'?)` : ''}; accepted: ${accepted}`,
      { option: name, accepted },
    );
  }
  const value = attrs[name as keyof TargetAttributes];
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}
