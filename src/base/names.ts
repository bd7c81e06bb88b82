// Unknown names in the caller's objects (an option, a field, an attribute): refused, with the
// closest known name suggested ("did you mean"). One rule for every door that takes named values:
// Netconsole.create, a log call's options, the integrations' options, netconsole/wire's records,
// targets and frames, a target's attributes.
import { InvalidValueError, type ErrnoCode } from './errors.js';

/** Levenshtein distance, case-insensitive, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
}

/** The known name closest to `name`, when it is close enough to be a typo of it (at most 2 edits,
 *  or a third of the name's length); else undefined. */
export function closest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, name.length / 3) ? best : undefined;
}

/**
 * The error for an unknown `name` (its `value` as given) where only `known` are taken: EINVAL (or
 * `code`) naming `option` (the name itself by default), saying what it is (`what`: 'option',
 * 'field', ...) and where, with the closest known name suggested, else the list of names.
 */
export function unknownName(
  name: string,
  value: unknown,
  known: Iterable<string>,
  where: string,
  opts: { option?: string; code?: ErrnoCode; what?: string } = {},
): InvalidValueError {
  const all = [...known];
  const close = closest(name, all);
  const why = `unknown ${opts.what ?? 'option'} in ${where}${close !== undefined ? ` (did you mean '${close}'?)` : ''}, given`;
  const accepted = close !== undefined ? `'${close}'` : `one of ${all.join(', ')}`;
  return new InvalidValueError(opts.code ?? 'EINVAL', opts.option ?? name, value, accepted, why);
}
