// What the integrations need of a logger (a Netconsole, or a worker's logger from attach()), and
// the checks of their set-up options: typed errors at set-up, not a TypeError at the first record.
import { invalid } from '../../base/errors.js';
import { unknownName } from '../../base/names.js';
import { FACILITY_MAX } from '../../base/limits.js';
import type { Logger, NetconsoleOptions } from '../../host/netconsole.js';
import { ADDRESS_FIELDS, fromTargetAddress, type TargetAddress } from '../../host/shorthand.js';
import { bool, given, none, object, readFields } from '../../base/check.js';
import { toInt } from '../../core/validate.js';
import type { LogOptions } from '../../core/writer.js';

/** A Netconsole (flush() waits until the kernel has everything), a WorkerLogger (no flush()), or
 *  a child of either. The integrations call write(level, value, opts): one record, exactly. */
export type LogSink = Pick<Logger, 'write'> & { flush?(): Promise<void> };

/** A logger given to an integration: anything with a write(level, value, opts) method. */
export function logSink(option: string, value: unknown): LogSink {
  if (value === null || typeof value !== 'object' || typeof (value as LogSink).write !== 'function') {
    throw invalid(option, value, 'a Netconsole, or the logger of attach()');
  }
  return value as LogSink;
}

/** An integration's options: an object, or undefined or null for none (base/check.ts none()). */
export function optionsObject<T extends object>(option: string, value: unknown): Partial<T> {
  return given(none(value), {}, (v) => object<Partial<T>>(option, v, 'an object, or undefined'));
}

/**
 * An integration's options (an object, or undefined or null for none), copied: each field read
 * once (a getter or Proxy trap that throws is EINVAL naming it), and a name that is not one of
 * `known` refused (EINVAL, the closest known name suggested): a misspelt option would otherwise
 * be ignored without a word.
 */
export function readOptions<T extends object>(
  option: string,
  value: unknown,
  known: readonly string[],
  where: string,
): Partial<T> {
  const o = optionsObject<T>(option, value);
  const fields = readFields(option, o);
  for (const [name, v] of fields) if (!known.includes(name)) throw unknownName(name, v, known, where);
  return Object.fromEntries(fields) as Partial<T>;
}

/** A boolean option: true or false, or undefined or null for the default. */
export function booleanOption(option: string, value: unknown, absent: boolean): boolean {
  return given(none(value), absent, (v) => bool(option, v));
}

/** The per-record options for a `facility` option, checked up front (at set-up, not per record);
 *  undefined or null: none. */
export function facilityOption(facility: unknown): LogOptions | undefined {
  return given(none(facility), undefined, (v) => ({ facility: toInt('facility', v, 0, FACILITY_MAX) }));
}

/** One target by its receiver, as pino-socket takes it: `{ address, port }` among the options. */
export type AddressOptions = Partial<Omit<TargetAddress, 'name'>>;

/**
 * The options of the Netconsole an integration creates: Netconsole.create's, and the one-target
 * shorthand `{ address, port, extended, localPort, localAddress, dev }` (pino-socket's names) at
 * their top level, which becomes `targets: [...]` here, checked at once (EINVAL or ERANGE naming
 * the field: `address`, `port`, ...). `where` names the options in errors ("the pino transport's
 * options"). Each field is read once.
 */
export function integrationOptions(option: string, value: unknown, where: string): NetconsoleOptions {
  const fields = readFields(option, optionsObject<object>(option, value));
  const isAddress = ([k]: readonly [string, unknown]): boolean => (ADDRESS_FIELDS as readonly string[]).includes(k);
  const address = fields.filter(isAddress);
  const rest = Object.fromEntries(fields.filter((f) => !isAddress(f))) as NetconsoleOptions;
  if (address.length === 0) return rest;
  if (rest.targets !== undefined) {
    throw invalid(
      'targets',
      rest.targets,
      `either { address, port } or targets in ${where}, not both`,
      'targets beside address:',
    );
  }
  return { ...rest, targets: [fromTargetAddress(address, '', where)] };
}
