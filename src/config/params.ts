// The `netconsole=` parameter string (docs/targets.md section 2), parsed the way the kernel's
// init_netconsole() / alloc_param_target() / netpoll_parse_options() do it:
//
//   [+][r][src-port]@[src-ip]/[<dev>|<src-mac>],[tgt-port]@<tgt-ip>/[tgt-mac]   (';' between targets)
//
// Each field is found by scanning to its separator with strchr(), so an IPv6 literal (which has
// ':' but never '/', ',' or '@') needs no brackets. A piece that does not parse is reported and
// skipped; the others still come up, as with CONFIG_NETCONSOLE_DYNAMIC.
import { formatIp, formatMac, parseIp, parseMac, type IpFamily } from '../base/addr.js';
import { invalid, InvalidValueError, NetconsoleError } from '../base/errors.js';
import { DEFAULT_ATTRIBUTES, type TargetAttributes } from './attributes.js';
import { checkDevNameNul, checkDevNameSize } from './attribute-write.js';
import { parseDecimal } from './store-text.js';

/**
 * The longest parameter string, in bytes of UTF-8: MAX_PARAM_LENGTH (256) counts the NUL, so the
 * module parameter takes 255 bytes (param_set_copystring: ENOSPC when strnlen reaches maxlen) and
 * the built-in `netconsole=` keeps 255 (strscpy).
 */
export const PARAM_MAX = 255;
/** NETCONSOLE_PARAM_TARGET_PREFIX */
const PARAM_TARGET_PREFIX = 'cmdline';
export const PARAM_ACCEPTED = '[+][r][src-port]@[src-ip]/[<dev>|<src-mac>],[tgt-port]@<tgt-ip>/[tgt-mac]';

export interface ParamTarget {
  /** cmdline0, cmdline1, ... counted over the pieces that parsed. */
  name: string;
  /** Every attribute: the defaults where the string left a field empty; enabled is true. */
  attributes: TargetAttributes;
  /** Lowercase MAC when the device field was a MAC: bind to the device with that hardware address. */
  bindMac?: string;
}

export interface ParamParseResult {
  targets: ParamTarget[];
  errors: NetconsoleError[];
}

/**
 * The failure of one piece, at `pos`: the kernel's "couldn't parse config at '%s'", then what the
 * API says of the field (its name, the value, what is accepted), so that `send -t`, create() and
 * the NETCONSOLE variable all say which field is wrong and how to write it. The code is the
 * field's own error's (ERANGE, ENAMETOOLONG, EDESTADDRREQ, ...), so callers see the reason
 * without digging into `cause`; EINVAL when the piece itself is malformed (a separator missing).
 */
function failure(piece: string, pos: number, field: string, cause?: NetconsoleError, sep?: string): NetconsoleError {
  const why =
    cause !== undefined
      ? cause.message
      : `${field}: no '${sep}' after it in ${JSON.stringify(piece)}; a target is ${PARAM_ACCEPTED}`;
  return new NetconsoleError(cause?.code ?? 'EINVAL', `couldn't parse config at '${piece.slice(pos)}': ${why}`, {
    option: field,
    value: piece,
    accepted: PARAM_ACCEPTED,
    cause,
  });
}

/** Runs one field's parser; its error becomes the piece's failure at `pos`, with it as the cause. */
function field<T>(piece: string, pos: number, name: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof NetconsoleError)) throw err;
    throw failure(piece, pos, name, err);
  }
}

/** The end of the field starting at `pos`: the index of `sep`, or a failure when there is none. */
function fieldEnd(piece: string, pos: number, sep: string, name: string): number {
  const end = piece.indexOf(sep, pos);
  if (end < 0) throw failure(piece, pos, name, undefined, sep);
  return end;
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

/** The device field: an interface name, or (containing ':') a MAC to bind by hardware address. */
function parseDevice(text: string): { dev_name: string } | { bindMac: string } {
  if (text.includes(':')) return { bindMac: formatMac(parseMac('local_mac', text)) };
  // A '\n' cannot end this field (',' follows it), so the name is the text as given.
  checkDevNameSize(text);
  checkDevNameNul(text);
  return { dev_name: text };
}

/** netpoll_parse_options() after the '+'/'r' prefix of alloc_param_target(). Throws a failure. */
function parsePiece(piece: string): Omit<ParamTarget, 'name'> {
  const attributes: TargetAttributes = { ...DEFAULT_ATTRIBUTES, enabled: true };
  let bindMac: string | undefined;
  let cur = 0;
  if (piece[cur] === '+') {
    attributes.extended = true;
    cur++;
  }
  if (piece[cur] === 'r') {
    if (!attributes.extended) {
      throw failure(piece, cur, 'release', invalid('release', 'r', "'r' after '+'", 'release requires extended:'));
    }
    attributes.release = true;
    cur++;
  }
  if (piece[cur] !== '@') {
    const end = fieldEnd(piece, cur, '@', 'local_port');
    attributes.local_port = field(piece, cur, 'local_port', () =>
      parseDecimal('local_port', piece.slice(cur, end), 0xffff),
    );
    cur = end;
  }
  cur++;
  // The family of src-ip when it is given, even as the zero address (the kernel's ipversion_set).
  let localFamily: IpFamily | undefined;
  if (piece[cur] !== '/') {
    const end = fieldEnd(piece, cur, '/', 'local_ip');
    const ip = field(piece, cur, 'local_ip', () => parseIp('local_ip', piece.slice(cur, end)));
    localFamily = ip.family;
    attributes.local_ip = isZero(ip.bytes) ? null : formatIp(ip.family, ip.bytes);
    cur = end;
  }
  cur++;
  if (piece[cur] !== ',') {
    const end = fieldEnd(piece, cur, ',', 'dev_name');
    const text = piece.slice(cur, end);
    const device = field(piece, cur, text.includes(':') ? 'local_mac' : 'dev_name', () => parseDevice(text));
    if ('bindMac' in device) bindMac = device.bindMac;
    else attributes.dev_name = device.dev_name;
    cur = end;
  }
  cur++;
  if (piece[cur] !== '@') {
    const end = fieldEnd(piece, cur, '@', 'remote_port');
    attributes.remote_port = field(piece, cur, 'remote_port', () =>
      parseDecimal('remote_port', piece.slice(cur, end), 0xffff),
    );
    cur = end;
  }
  cur++;
  // The target IP is required, and so is the '/' after it.
  const ipEnd = fieldEnd(piece, cur, '/', 'remote_ip');
  const remote = field(piece, cur, 'remote_ip', () => parseIp('remote_ip', piece.slice(cur, ipEnd)));
  if (localFamily !== undefined && localFamily !== remote.family) {
    throw failure(
      piece,
      cur,
      'remote_ip',
      invalid(
        'remote_ip',
        piece.slice(cur, ipEnd),
        `an IPv${localFamily} address, the family of src-ip`,
        'address family differs from src-ip:',
      ),
    );
  }
  if (isZero(remote.bytes)) {
    throw failure(
      piece,
      cur,
      'remote_ip',
      new InvalidValueError(
        'EDESTADDRREQ',
        'remote_ip',
        piece.slice(cur, ipEnd),
        'a non-zero address',
        'no destination in',
      ),
    );
  }
  attributes.remote_ip = formatIp(remote.family, remote.bytes);
  cur = ipEnd + 1;
  if (cur < piece.length) {
    const text = piece.slice(cur);
    attributes.remote_mac = field(piece, cur, 'remote_mac', () => formatMac(parseMac('remote_mac', text)));
  }
  return bindMac === undefined ? { attributes } : { attributes, bindMac };
}

/**
 * Parses a whole parameter string; `option` names where it came from in its errors (`targets`,
 * the `NETCONSOLE` variable; the kernel's parameter is `netconsole`). A string over 255 bytes is
 * refused whole with one EMSGSIZE error that says the limit (the kernel's module parameter
 * refuses it too, as ENOSPC, which reads as a full disk; its built-in `netconsole=` would
 * truncate, which could silently turn a cut `/12:34:..` into the broadcast MAC). An empty string
 * gives nothing; an empty piece (as in `a;;b` or a trailing ';') fails like any other piece, as
 * in the kernel.
 */
export function parseParamString(text: string, option = 'netconsole'): ParamParseResult {
  const result: ParamParseResult = { targets: [], errors: [] };
  if (typeof text !== 'string') {
    result.errors.push(invalid(option, text, `a string: ${PARAM_ACCEPTED}`));
    return result;
  }
  const size = new TextEncoder().encode(text).length;
  if (size > PARAM_MAX) {
    const why = `${size} bytes, longer than a parameter string can be (the kernel's MAX_PARAM_LENGTH, less its NUL):`;
    result.errors.push(
      new InvalidValueError('EMSGSIZE', option, text, `at most ${PARAM_MAX} bytes: ${PARAM_ACCEPTED}`, why),
    );
    return result;
  }
  if (text === '') return result;
  for (const piece of text.split(';')) {
    try {
      const parsed = parsePiece(piece);
      result.targets.push({ name: `${PARAM_TARGET_PREFIX}${result.targets.length}`, ...parsed });
    } catch (err) {
      result.errors.push(err as NetconsoleError);
    }
  }
  return result;
}
