// What a log call's arguments become: the conventions pino, winston and console users write
// (README, "Logging"), turned into one record's text and dictionary. Off the hot path: a plain
// string alone never comes here (host/logger.ts writes it at once).
//
//   first argument    alone                        followed by more arguments
//   string            as is                        util.format(first, ...rest)
//   Error             its stack (toText)           util.format(...rest), a newline, the stack
//   Uint8Array        its bytes                    util.format(...rest), a newline, the bytes
//   plain object      its JSON                     pino's merging object: its fields become
//                                                  dictionary entries; the text is util.format(...rest)
//   array             its JSON                     util.format(first, ...rest)
//   anything else     toText (String(); a symbol   util.format(first, ...rest), as console.log
//                     or a throwing toString is refused)
//
// A "plain object" is one without a toString of its own: its toString is Object.prototype's (an
// object literal, a class instance, a Map), or it has none (a null prototype). Objects with their
// own toString (a Date, a URL, a boxed string, { toString() {...} }) keep toText's rule, as they
// did before: String().
//
// JSON is safe-stable-stringify's (insertion order kept, as pino's): a cycle is "[Circular]", a
// BigInt a number, an Error {type, message, stack} (pino's err serializer's fields), past 64
// levels "[Object]". A value it cannot read (a throwing getter, toJSON or Proxy trap) is read
// again field by field, and each read that throws becomes "[Throws]": the record is sent. (A
// Proxy whose getPrototypeOf trap throws is refused: what kind of value it is cannot be told.)
//
// Dictionary values: a string as is, an Error its stack, a Uint8Array its bytes, anything else
// its JSON; a field whose JSON is nothing (undefined, a function, a symbol) is left out, as
// JSON.stringify leaves it out. Extended targets send them as ` KEY=value` lines; basic targets
// carry the text alone (as the kernel's basic format drops a printk dictionary).
import { format, types } from 'node:util';
import { configure } from 'safe-stable-stringify';
import { invalid, TooLargeError } from '../base/errors.js';
import { L } from '../core/layout.js';
import { isBytes } from '../core/validate.js';
import { toText, type Pairs } from '../core/values.js';

const encoder = new TextEncoder();
/** How deep JSON goes (deeper objects are "[Object]", arrays "[Array]"): bounded, so that a
 *  deeply nested value cannot overflow the stack of a log call. */
const MAX_DEPTH = 64;
const THROWS = '[Throws]';

const stringify = configure({
  bigint: true,
  circularValue: '[Circular]',
  deterministic: false,
  maximumDepth: MAX_DEPTH,
});

function isError(value: object): value is Error {
  return types.isNativeError(value) || value instanceof Error;
}

/** pino's err serializer's fields, for an Error inside a value turned to JSON. */
function errorFields(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || !isError(value)) return value;
  return { ...value, type: value.name, message: value.message, stack: value.stack };
}

/** A value's JSON (undefined for undefined, a function, a symbol), never throwing for a value
 *  that cannot be read: see the top of the file. */
export function json(value: unknown): string | undefined {
  try {
    return stringify(value, errorFields);
  } catch {
    return stringify(readable(value, 0, new Map()), errorFields);
  }
}

/** A copy of `value` made of what can be read: each read that throws becomes THROWS. Cycles are
 *  kept as cycles (stringify prints them "[Circular]"). */
function readable(value: unknown, depth: number, seen: Map<object, unknown>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (depth > MAX_DEPTH) return '[Object]';
  try {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return readable(toJSON.call(value), depth + 1, seen);
    const out: unknown[] | Record<string, unknown> = Array.isArray(value)
      ? []
      : (Object.create(null) as Record<string, unknown>);
    seen.set(value, out);
    if (isError(value))
      for (const key of ['type', 'message', 'stack'])
        (out as Record<string, unknown>)[key] = field(value, key === 'type' ? 'name' : key, depth, seen);
    for (const key of Object.keys(value)) (out as Record<string, unknown>)[key] = field(value, key, depth, seen);
    return out;
  } catch {
    return THROWS;
  }
}

function field(obj: object, key: string, depth: number, seen: Map<object, unknown>): unknown {
  try {
    return readable((obj as Record<string, unknown>)[key], depth + 1, seen);
  } catch {
    return THROWS;
  }
}

/** Whether an object is "plain" (see the top of the file). Runs no code of the value's but a
 *  Proxy's traps and a toString getter; what they throw reaches the caller (a refused call). */
function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  const toString = (value as { toString?: unknown }).toString;
  return proto === null ? toString === undefined : toString === Object.prototype.toString;
}

/** util.format, whose %s runs a value's own toString: what it throws is EINVAL naming the arguments. */
function formatted(args: readonly unknown[]): string {
  try {
    return format(...args);
  } catch (err) {
    throw invalid('args', args, 'arguments util.format can render', 'formatting threw for', err);
  }
}

/** A message, a newline, and the text of an Error or bytes after it. */
function messageThen(message: string, text: string | Uint8Array): string | Uint8Array {
  return prefixed(`${message}\n`, text);
}

/** One dictionary entry: the key's and the value's bytes, and the key as text (to merge by). */
export interface Binding {
  readonly key: string;
  readonly pair: [Uint8Array, Uint8Array];
}

/** The entries of an object's fields (a merging object, a child's bindings): see the top of the
 *  file for the values; `option` names the object in errors (an empty field name is EINVAL). */
export function bindingsOf(option: string, obj: object): Binding[] {
  let keys: string[];
  try {
    keys = Object.keys(obj);
  } catch (err) {
    throw invalid(option, obj, 'an object whose fields can be listed', 'listing its fields threw:', err);
  }
  const out: Binding[] = [];
  for (const key of keys) {
    if (key === '')
      throw invalid(option, obj, 'fields with a name (a dictionary line needs a key)', 'a field named "" in');
    let v: unknown;
    try {
      v = (obj as Record<string, unknown>)[key];
    } catch {
      v = THROWS;
    }
    const text =
      typeof v === 'string'
        ? v
        : isBytes(v)
          ? v
          : v !== null && typeof v === 'object' && isError(v)
            ? errorText(v)
            : json(v);
    if (text === undefined) continue;
    out.push({ key, pair: [encoder.encode(key), typeof text === 'string' ? encoder.encode(text) : text.slice()] });
  }
  return out;
}

function errorText(err: Error): string | Uint8Array {
  try {
    return toText(err);
  } catch {
    return json(err) ?? THROWS;
  }
}

/** The entries of `base` whose key `over` does not have, then those of `over` (a call's keys win). */
export function merged(base: readonly Binding[], over: readonly Binding[]): Binding[] {
  if (base.length === 0) return over as Binding[];
  if (over.length === 0) return base as Binding[];
  const keys = new Set(over.map((b) => b.key));
  return [...base.filter((b) => !keys.has(b.key)), ...over];
}

/** The dictionary of some entries, checked against the room a record has for one (EMSGSIZE). */
export function pairsOf(bindings: readonly Binding[]): Pairs | null {
  if (bindings.length === 0) return null;
  let size = 0;
  for (const { pair } of bindings) size += 4 + pair[0].length + pair[1].length;
  if (size > L.DICT_MAX) throw new TooLargeError('dict', size, L.DICT_MAX);
  return bindings.map((b) => b.pair);
}

/** What a logger adds to each of its records: a child's (host/logger.ts child()). */
export interface Context {
  readonly prefix: string;
  readonly bindings: readonly Binding[];
  /** pairsOf(bindings), made once. */
  readonly pairs: Pairs | null;
}

/** A record's text and dictionary. */
export interface Shaped {
  text: string | Uint8Array;
  dict: Pairs | null;
}

/** A log call's arguments (`first`, `rest`) as a record of a logger with context `ctx` (null: a
 *  Netconsole or a worker's logger itself). Throws a NetconsoleError for what it refuses. */
export function shape(first: unknown, rest: readonly unknown[], ctx: Context | null): Shaped {
  let text: string | Uint8Array;
  let own: Binding[] | null = null;
  if (typeof first === 'string') {
    text = rest.length === 0 ? first : formatted([first, ...rest]);
  } else if (isBytes(first)) {
    text = rest.length === 0 ? first : messageThen(formatted(rest), first);
  } else if (first !== null && typeof first === 'object') {
    let kind: 'error' | 'array' | 'plain' | 'other';
    try {
      kind = isError(first) ? 'error' : Array.isArray(first) ? 'array' : isPlain(first) ? 'plain' : 'other';
    } catch (err) {
      throw invalid('value', first, 'a value whose kind can be read', 'reading it threw:', err);
    }
    if (kind === 'error') {
      text = rest.length === 0 ? toText(first) : messageThen(formatted(rest), toText(first));
    } else if (kind === 'plain' && rest.length > 0) {
      own = bindingsOf('value', first);
      text = formatted(rest);
    } else if (kind === 'plain' || (kind === 'array' && rest.length === 0)) {
      text = json(first) ?? 'undefined';
    } else {
      text = rest.length === 0 ? toText(first) : formatted([first, ...rest]);
    }
  } else {
    text = rest.length === 0 ? toText(first) : formatted([first, ...rest]);
  }
  if (ctx === null) return { text, dict: own === null ? null : pairsOf(own) };
  if (ctx.prefix !== '') text = typeof text === 'string' ? ctx.prefix + text : prefixed(ctx.prefix, text);
  return { text, dict: own === null ? ctx.pairs : pairsOf(merged(ctx.bindings, own)) };
}

/** `prefix` (text) before `text`. */
export function prefixed(prefix: string, text: string | Uint8Array): string | Uint8Array {
  if (typeof text === 'string') return prefix + text;
  const head = encoder.encode(prefix);
  const out = new Uint8Array(head.length + text.length);
  out.set(head);
  out.set(text, head.length);
  return out;
}
