// One target as pino-socket and winston-udp users write a destination: `{ address, port }`, beside
// the kernel's attribute names and parameter string, which a Node developer would otherwise have
// to learn first. It is turned into those attribute names here; the target table then validates
// them as a configfs write would. Each field is checked first, so that an error names the field
// the caller wrote (`address`, not `remote_ip`).
import { formatIp, parseIp } from '../base/addr.js';
import { invalid, InvalidValueError } from '../base/errors.js';
import { unknownName } from '../base/names.js';
import { checkDevNameNul, checkDevNameSize } from '../config/attribute-write.js';
import { toInt } from '../core/validate.js';
import type { TargetOptions } from './target-api.js';

/** One target by its receiver's address and port (and optionally a little more). */
export interface TargetAddress {
  /** The receiver's IPv4 or IPv6 address. A host name is not resolved (nor does the kernel). */
  address: string;
  /** The receiver's UDP port, 1..65535. Default 6666. */
  port?: number;
  /** Extended messages (seq, level, dictionary, fragmentation: what netconsd reads). Default false. */
  extended?: boolean;
  /** The source port, 0..65535 (0: one the kernel picks). Default 6665, the kernel's. */
  localPort?: number;
  /** The source address. Default: the one of the route to `address`. */
  localAddress?: string;
  /** The device to send through. Default: the one of the route to `address`. */
  dev?: string;
  /** The target's name (under `nc.targets`). Default `target<i>`. */
  name?: string;
}

/** The fields of the shorthand, `name` aside. */
export const ADDRESS_FIELDS = ['address', 'port', 'extended', 'localPort', 'localAddress', 'dev'] as const;
const ALL_FIELDS: readonly string[] = [...ADDRESS_FIELDS, 'name'];

const IP_ACCEPTED = 'an IPv4 or IPv6 address, e.g. 10.0.0.2 or fd00::2 (a host name is not resolved)';

/** Whether an object's fields are the shorthand's: it has an `address`. */
export function isTargetAddress(fields: ReadonlyArray<readonly [string, unknown]>): boolean {
  return fields.some(([k]) => k === 'address');
}

/**
 * The target attributes of one `{ address, port, ... }` (its fields, each read once by the
 * caller), enabled: a destination one names is meant to be sent to. `prefix` goes before each
 * field's name in errors (`targets[0].`), `where` says where the object was (for unknown names).
 * EINVAL (ERANGE for a port out of range, EDESTADDRREQ for the zero address) naming the field.
 */
export function fromTargetAddress(
  fields: ReadonlyArray<readonly [string, unknown]>,
  prefix: string,
  where: string,
): TargetOptions {
  const given = new Map<string, unknown>();
  for (const [k, v] of fields) {
    if (!ALL_FIELDS.includes(k)) throw unknownName(k, v, ALL_FIELDS, where, { option: prefix + k, what: 'field' });
    if (v !== undefined && v !== null) given.set(k, v);
  }
  const address = given.get('address');
  if (address === undefined) throw invalid(`${prefix}address`, address, IP_ACCEPTED, 'no receiver address given:');
  const remote = ip(`${prefix}address`, address);
  if (remote.bytes.every((b) => b === 0))
    throw new InvalidValueError(
      'EDESTADDRREQ',
      `${prefix}address`,
      address,
      'a receiver address that is not all zeros',
      'no destination in',
    );
  const out: TargetOptions = { remote_ip: formatIp(remote.family, remote.bytes) };
  if (given.has('name')) out.name = given.get('name') as string;
  out.remote_port = given.has('port') ? toInt(`${prefix}port`, given.get('port'), 1, 0xffff) : 6666;
  const extended = given.get('extended');
  if (extended !== undefined && typeof extended !== 'boolean')
    throw invalid(`${prefix}extended`, extended, 'true or false');
  if (extended === true) out.extended = 1;
  if (given.has('localPort')) out.local_port = toInt(`${prefix}localPort`, given.get('localPort'), 0, 0xffff);
  if (given.has('localAddress')) {
    const local = ip(`${prefix}localAddress`, given.get('localAddress'));
    if (local.family !== remote.family) {
      throw invalid(
        `${prefix}localAddress`,
        given.get('localAddress'),
        `an IPv${remote.family} address, the family of ${prefix}address`,
        'address family differs from address:',
      );
    }
    out.local_ip = formatIp(local.family, local.bytes);
  }
  if (given.has('dev')) {
    const dev = given.get('dev');
    if (typeof dev !== 'string') throw invalid(`${prefix}dev`, dev, 'the name of a network interface, e.g. eth0');
    checkDevNameSize(dev, dev, `${prefix}dev`);
    checkDevNameNul(dev, dev, `${prefix}dev`);
    out.dev_name = dev;
  }
  out.enabled = 1;
  return out;
}

function ip(option: string, value: unknown): ReturnType<typeof parseIp> {
  if (typeof value !== 'string') throw invalid(option, value, IP_ACCEPTED);
  try {
    return parseIp(option, value);
  } catch {
    throw invalid(option, value, IP_ACCEPTED);
  }
}
