// One write to a target's attribute validated exactly as netconsole's configfs store method does it
// (docs/targets.md section 1; Linux drivers/net/netconsole.c where the spec is silent). Pure
// functions: nothing here mutates a target, so a rejected write leaves it as it was. Values arrive
// as the text a configfs store would receive (usually with one trailing '\n', as `echo` writes
// it); JS values are first turned into that text (store-text.ts toAttributeText).
import { formatIp, formatMac, ipFamilyOf, parseIp, parseMac } from '../base/addr.js';
import { invalid, InvalidValueError, NetconsoleError, outOfRange } from '../base/errors.js';
import { unknownName } from '../base/names.js';
import { byteLength, isWellFormed } from '../base/text.js';
import {
  ATTRIBUTE_NAMES,
  BOOLEAN_ATTRIBUTES,
  DEFAULT_ATTRIBUTES,
  HEARTBEAT_MAX_MS,
  HEARTBEAT_MIN_MS,
  HEARTBEAT_TEXT_MAX,
  LOCKED_ATTRIBUTES,
  READ_ONLY_ATTRIBUTES,
  RELIABLE_BYTES_MAX,
  RELIABLE_BYTES_MIN,
  RELIABLE_MSGS_MAX,
  RELIABLE_MSGS_MIN,
  WRITE_ONLY_ATTRIBUTES,
  type TargetAttributes,
} from './attributes.js';
import { parseBool, parseDecimal, toAttributeText, trimNewline } from './store-text.js';

/** IFNAMSIZ - 1: the longest interface name, in bytes. */
const DEV_NAME_MAX = 15;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const LOCK_ACCEPTED = 'no change while the target is enabled; write 0 to enabled first';

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
  if (other !== null && ipFamilyOf(other) !== ip.family) {
    const want = ipFamilyOf(other);
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
