// The arguments of a target's creation as configfs mkdir takes them (docs/targets.md 1, "Creating
// a target"): its name, a directory name; and the attributes argument, read once, field by field.
// Pure functions, like attribute-write.ts: nothing exists yet when they throw.
import { invalid, InvalidValueError } from '../base/errors.js';
import { byteLength, isWellFormed } from '../base/text.js';
import { given, none, object, readFields } from '../base/check.js';

/** NAME_MAX: the longest name of a configfs directory, in bytes. */
const NAME_MAX = 255;
const NAME_ACCEPTED = `a configfs directory name: 1..${NAME_MAX} bytes of UTF-8, without '/' or NUL, not . or ..`;

/** A target's name as mkdir in configfs takes it: EINVAL for an empty name, '.', '..', '/' or NUL
 *  (which a path cannot carry) or a lone surrogate (which UTF-8 cannot); ENAMETOOLONG past
 *  NAME_MAX bytes. */
export function checkTargetName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..')
    throw invalid('name', name, NAME_ACCEPTED);
  if (name.includes('/') || name.includes('\0')) throw invalid('name', name, NAME_ACCEPTED, "'/' or NUL in");
  if (!isWellFormed(name)) throw invalid('name', name, NAME_ACCEPTED, 'lone surrogate in');
  const size = byteLength(name);
  if (size > NAME_MAX)
    throw new InvalidValueError('ENAMETOOLONG', 'name', name, NAME_ACCEPTED, `${size} bytes, name too long:`);
}

/** The attributes argument of a create: its fields in order, each read once (readFields). The
 *  argument, and each attribute, takes null as none (base/check.ts none()): an attribute that is
 *  undefined or null is not given (the default), `enabled` and `userdata` included. */
export function attributeFields(attrs: unknown): Map<string, unknown> {
  const accepted = 'an object of attributes by their kernel names, or undefined or null for none';
  const o = given(none(attrs), undefined, (v) => object<object>('attributes', v, accepted));
  return new Map(o === undefined ? [] : readFields('attributes', o).filter(([, v]) => none(v) !== undefined));
}
