// The checks of the values a caller gives: every door that takes options or fields (create()'s
// options, netconsole/wire's record, target and options, a target's attributes argument, the
// integrations' options, a worker's handle) checks them with these, so that one value is
// refused everywhere in the same words and with the same code (ARCHITECTURE.md, convention 6).
//
// "Not given", one rule: a value is not given when it is `undefined`, and a key that is absent
// reads as `undefined` (the caller's objects are read into plain objects first: readFields), so
// `{}` and `{ facility: undefined }` are the same options. `null` is a value like any other: a
// checker refuses it (EINVAL naming the option) unless the option says it takes null, and the
// ones that do say what it means with `none()`: the integrations' options and their option
// objects (null: none, as pino and winston take it), a wire target's `release` (no release), a
// new target's attributes argument (none). Booleans are `true` or `false`, not truthy values;
// numbers are integers in range: EINVAL for a non-integer or another type, ERANGE for an
// integer out of range.
import { invalid, NetconsoleError, outOfRange } from './errors.js';
import { unknownName } from './names.js';

/** Whether a value is given: everything but `undefined` (an absent key reads as undefined). */
export function isGiven(value: unknown): boolean {
  return value !== undefined;
}

/** `absent` when the value is not given (undefined), else the checked value. */
export function given<T, D = T>(value: unknown, absent: D, check: (value: unknown) => T): T | D {
  return value === undefined ? absent : check(value);
}

/** For the options documented to take null as "none": null read as not given (undefined). */
export function none(value: unknown): unknown {
  return value === null ? undefined : value;
}

/**
 * An integer in [lo, hi]: EINVAL when not an integer (another type, NaN, a fraction), ERANGE when
 * outside. `accepted` says what is accepted (default `an integer lo..hi`); `inRange`, what an
 * ERANGE says (default the same).
 */
export function int(
  option: string,
  value: unknown,
  lo: number,
  hi: number,
  accepted = `an integer ${lo}..${hi}`,
  inRange = accepted,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(option, value, accepted);
  if (value < lo || value > hi) throw outOfRange(option, value, inRange);
  return value;
}

/** `true` or `false`: EINVAL for anything else (`'false'`, 0, null). */
export function bool(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid(option, value, 'true or false');
  return value;
}

/** One of `values` (strings): EINVAL for anything else, listing them. */
export function oneOf<T extends string>(option: string, value: unknown, values: readonly T[]): T {
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value))
    throw invalid(option, value, values.map((x) => `'${x}'`).join(', '));
  return value as T;
}

/** A path the library creates or opens: a non-empty string without NUL. */
export function path(option: string, value: unknown, accepted: string): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) throw invalid(option, value, accepted);
  return value;
}

/** An object the caller gave, not null and not an array (a Proxy whose look throws: EINVAL naming it). */
export function object<T extends object>(option: string, value: unknown, accepted: string): T {
  if (value === null || typeof value !== 'object' || guarded(option, value, () => Array.isArray(value)))
    throw invalid(option, value, accepted);
  return value as T;
}

const READABLE = 'an object whose fields can be read';

/** Runs `read` over an object the caller gave: whatever its getters or Proxy traps throw becomes
 *  EINVAL naming that object (with the thrown value as `cause`); our own errors pass through. */
export function guarded<T>(option: string, value: unknown, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof NetconsoleError) throw err;
    throw invalid(option, value, READABLE, 'reading it threw:', err);
  }
}

/** The own enumerable string-keyed fields of an object the caller gave, each read once, in order:
 *  when listing them throws (a Proxy trap) EINVAL names `option`; when reading one throws (a
 *  getter, a trap) EINVAL names that field (`prefix` + its name); the thrown value is the cause. */
export function readFields(option: string, value: object, prefix = ''): Array<[string, unknown]> {
  return keysOf(option, value).map((key): [string, unknown] => {
    try {
      return [key, (value as Record<string, unknown>)[key]];
    } catch (err) {
      throw invalid(prefix + key, value, READABLE, 'reading it threw:', err);
    }
  });
}

/** Refuses a field of `value` (an object the caller gave) that is not one of `known`: EINVAL naming
 *  it (`prefix` + its name), the closest known name suggested. */
export function checkFieldNames(
  option: string,
  value: object,
  known: readonly string[],
  where: string,
  prefix = '',
): void {
  for (const key of keysOf(option, value))
    if (!known.includes(key))
      throw unknownName(key, fieldValue(value, key), known, where, { option: prefix + key, what: 'field' });
}

/** The own enumerable string keys of an object the caller gave: a Proxy trap that throws is EINVAL naming it. */
function keysOf(option: string, value: object): string[] {
  try {
    return Object.keys(value);
  } catch (err) {
    throw invalid(option, value, READABLE, 'listing its fields threw:', err);
  }
}

/** A field's value for an error message: undefined when reading it throws. */
export function fieldValue(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}
