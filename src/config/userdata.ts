// A target's userdata entries and sysdata toggles (its configfs userdata/ directory), validated as
// the kernel's userdata store methods do it (docs/targets.md section 1). Pure functions, like
// attribute-write.ts: a rejected write changes nothing.
import { invalid, InvalidValueError } from '../base/errors.js';
import { byteLength, isWellFormed } from '../base/text.js';
import { checkUserdataFits } from '../core/userdata.js';
import { guarded, readFields } from '../base/check.js';
import { USERDATA_ITEMS_MAX, USERDATA_KEY_MAX, USERDATA_VALUE_MAX } from '../base/limits.js';
import { isSysdataToggle, SYSDATA_TOGGLES } from './attributes.js';
import { parseBool, toAttributeText, trimNewline } from './store-text.js';

/** A control character (C0 or DEL): none may be in a userdata key. */
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * A userdata key, which is a configfs directory name: non-empty, no '/' or NUL (EINVAL), at most
 * 53 bytes of UTF-8 (ENAMETOOLONG, MAX_EXTRADATA_NAME_LEN), and not a name the userdata directory
 * already holds: '.', '..' and the sysdata toggles (EEXIST, as mkdir over an existing entry).
 * Beyond the kernel, no control character (EINVAL): the key is sent as it is, and a newline in it
 * would start a line of its own (the kernel's configfs takes one and sends it raw).
 */
export function validateUserdataKey(key: string): void {
  const accepted = `1..${USERDATA_KEY_MAX} bytes of UTF-8, without '/' or control characters`;
  if (typeof key !== 'string') throw invalid('userdata key', key, accepted);
  if (key === '') throw invalid('userdata key', key, accepted, 'empty');
  if (key.includes('/') || key.includes('\0')) throw invalid('userdata key', key, accepted, "'/' or NUL in");
  if (CONTROL.test(key))
    throw invalid('userdata key', key, accepted, 'a control character (a newline would forge a line) in');
  if (!isWellFormed(key)) throw invalid('userdata key', key, accepted, 'lone surrogate in');
  const size = byteLength(key);
  if (size > USERDATA_KEY_MAX) {
    throw new InvalidValueError('ENAMETOOLONG', 'userdata key', key, accepted, `${size} bytes, name too long:`);
  }
  if (key === '.' || key === '..' || isSysdataToggle(key)) {
    throw new InvalidValueError(
      'EEXIST',
      'userdata key',
      key,
      `${accepted}, other than . .. and ${SYSDATA_TOGGLES.join(' ')}`,
      'name already exists in userdata/:',
    );
  }
}

/** Room for one more userdata entry when the target has `existing` ones (ENOSPC past 256). */
export function checkUserdataRoom(existing: number, key?: string): void {
  if (existing >= USERDATA_ITEMS_MAX) {
    throw new InvalidValueError(
      'ENOSPC',
      'userdata',
      key ?? existing,
      `at most ${USERDATA_ITEMS_MAX} entries`,
      `no room beside ${existing} entries for`,
    );
  }
}

/**
 * A userdata value write, as userdatum_value_store: the text as written (a trailing '\n'
 * included) must be under 200 bytes (`count >= MAX_EXTRADATA_VALUE_LEN` is EMSGSIZE, so 199 bytes
 * and a '\n' are refused, as `echo` of a 199-byte value is in the kernel); then one trailing '\n'
 * is trimmed. A NUL is refused (EINVAL): the kernel's strscpy would silently cut the value there.
 * An empty value is valid: the entry exists but is not sent. Other control characters (a newline
 * inside the value) are kept, and sent as `\xHH` (core/userdata.ts). The value is text: a string
 * or an integer number, not a boolean (which would be the text '1' or '0').
 */
export function normalizeUserdataValue(key: string, value: unknown): string {
  const option = `userdata/${key}`;
  const written = toAttributeText(value, option, false);
  if (!isWellFormed(written)) throw invalid(option, value, 'well-formed text', 'lone surrogate in');
  const size = byteLength(written);
  if (size > USERDATA_VALUE_MAX) {
    throw new InvalidValueError(
      'EMSGSIZE',
      option,
      value,
      `at most ${USERDATA_VALUE_MAX} bytes as written, a trailing newline included`,
      `${size} bytes, too long:`,
    );
  }
  if (written.includes('\0')) throw invalid(option, value, 'text without NUL', 'NUL in');
  return trimNewline(written);
}

const encoder = new TextEncoder();

export type UserdataWrites = Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>;

/**
 * Validates userdata writes as a whole and returns the entries the target would have after them;
 * pure, so a caller validates before it changes anything. `existing` are the target's current
 * (already validated) entries. Each write in order, as the kernel checks an mkdir then a value
 * write: the key (validateUserdataKey), room for a new key (the 257th is ENOSPC), the value
 * (normalizeUserdataValue). Then the rendered total must fit the userdata buffer (UD_BUF_SIZE,
 * 64 KiB; ENOSPC as update_userdata's bound of MAX_EXTRADATA_ENTRY_LEN * MAX_USERDATA_ITEMS).
 * Existing keys keep their place, new ones are appended (configfs lists items in creation order).
 * A Map keeps the caller's order; a plain object lists integer-like keys first (JS semantics).
 */
export function validateUserdata(
  writes: UserdataWrites,
  existing: ReadonlyMap<string, string> = new Map(),
): Map<string, string> {
  const accepted = 'an object or a Map of userdata entries (key: value)';
  if (writes === null || typeof writes !== 'object' || guarded('userdata', writes, () => Array.isArray(writes)))
    throw invalid('userdata', writes, accepted);
  const next = new Map(existing);
  // A plain object's entries read once each: a getter or Proxy trap that throws is EINVAL naming it.
  for (const [key, value] of writes instanceof Map ? writes : readFields('userdata', writes, 'userdata/')) {
    validateUserdataKey(key);
    if (!next.has(key)) checkUserdataRoom(next.size, key);
    next.set(key, normalizeUserdataValue(key, value));
  }
  // What the write path sends for them (core/userdata.ts, the one count).
  checkUserdataFits([...next].map(([k, v]) => [encoder.encode(k), encoder.encode(v)] as const));
  return next;
}

/**
 * A write of `userdata/<name>` for a sysdata toggle: kstrtobool (EINVAL); ENOENT for a name that
 * is not a toggle. Editable while enabled; writing the current value is a no-op, as in the kernel.
 */
export function parseSysdataToggle(name: string, value: unknown): boolean {
  const option = `userdata/${name}`;
  if (!isSysdataToggle(name)) {
    throw new InvalidValueError(
      'ENOENT',
      option,
      value,
      `one of ${SYSDATA_TOGGLES.join(', ')}`,
      'no such sysdata toggle, cannot write',
    );
  }
  return parseBool(option, toAttributeText(value, option), value);
}
