// What a configfs store reads from the text written to it, as the kernel reads it: one trailing
// '\n' trimmed (trim_newline), a yes/no (kstrtobool), a decimal (kstrtou16, kstrtouint); and the
// text a JS value given to the API stands for (toAttributeText), so that `true`, 1 and '1\n' all
// mean the same write to a yes/no attribute (a boolean is refused for any other).
import { invalid, outOfRange } from '../base/errors.js';
import { U64_MAX } from '../base/text.js';

const BOOL_ACCEPTED = 'a kstrtobool value: 1 y Y t T on (true), 0 n N f F off (false)';

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
