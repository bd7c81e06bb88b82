// What a log call's arguments become (Writer.write, host/log-args.ts): the value and a
// dictionary's keys and values as text or bytes (toText, the one rule), the options read once and
// checked, a logger's own entries under a call's. Off the hot path but for the types: a string
// value goes straight to the writer (writer.ts), everything else is converted here first.
import { TextEncoder, types } from 'node:util'; // TextEncoder from util: its type is @types/node's, not the DOM lib's
import { invalid, NetconsoleError, TooLargeError } from '../base/errors.js';
import { unknownName } from '../base/names.js';
import { FACILITY_MAX } from '../base/limits.js';
import { L } from './layout.js';
import { fieldValue, guarded, isBytes, toInt } from './validate.js';

/** The one encoder of the log call (UTF-8; a lone surrogate becomes U+FFFD). */
export const encoder = new TextEncoder();

/** A record's dictionary, converted: [key, value] bytes. */
export type Pairs = Array<[Uint8Array, Uint8Array]>;

/** What the exact log call (write(level, value, opts)) takes as its value: see toText() for what
 *  each kind becomes. The level methods take more: host/log-args.ts. */
export type Loggable =
  string | Uint8Array | Error | null | undefined | number | boolean | bigint | { toString(): string };

/** A dictionary: an object's own enumerable string-keyed properties, a Map's entries, or [key, value] pairs. */
export type Dict =
  Readonly<Record<string, Loggable>> | ReadonlyMap<Loggable, Loggable> | ReadonlyArray<readonly [Loggable, Loggable]>;

/** The per-record options of write(level, value, opts); undefined or null (the options, or any
 *  of them) is "not given". */
export interface LogOptions {
  /** Dictionary pairs sent by extended targets (` KEY=value` lines): SUBSYSTEM, DEVICE, ... */
  dict?: Dict | null;
  /** A continuation record (extended flag `c`). */
  cont?: boolean | null;
  /** Syslog facility 0..23 for this record (default: the logger's, 1 "user"). */
  facility?: number | null;
}

const VALUE_ACCEPTED = 'a string, a Uint8Array, an Error, or a value whose String() gives text (not a symbol)';
const DICT_ACCEPTED = 'an object (its own enumerable string keys), a Map, or an array of [key, value] pairs';

/**
 * What a log call's value becomes: the one rule for the value and for every key and value of a
 * dictionary.
 *   string             as is, UTF-8 (a lone surrogate becomes U+FFFD, as TextEncoder does)
 *   Uint8Array         its bytes (a Buffer too; a Proxy of one is an "other object")
 *   Error              its stack (String() of it when the stack is not a string); an Error
 *                      of another realm (a vm context's) too
 *   null, undefined    the text 'null', 'undefined' (as String() and console.log print them: a
 *                      record is not lost, nor the call turned into an exception, for a missing value)
 *   number, boolean, bigint   String()
 *   symbol             rejected, EINVAL: not text (a template literal throws for one too)
 *   other objects      String(), guarded: when it throws (a throwing toString, an object without
 *                      a prototype, a revoked Proxy, a Proxy whose traps throw) EINVAL naming the
 *                      value's kind; nothing is written
 * Text past the 64 KiB a record carries is cut (counted in stats().textCut). The string path is
 * the log call's own (Writer.write); this is the rest, off the hot path.
 */
export function toText(value: unknown, option = 'value'): string | Uint8Array {
  if (typeof value === 'string') return value;
  if (isBytes(value)) return value;
  if (typeof value === 'symbol') throw invalid(option, value, VALUE_ACCEPTED, 'a symbol is not text:');
  try {
    if (types.isNativeError(value) || value instanceof Error) {
      const stack = value.stack;
      if (typeof stack === 'string') return stack;
    }
    return String(value);
  } catch (err) {
    throw invalid(option, value, VALUE_ACCEPTED, `${kindOf(value)} whose conversion to text threw:`, err);
  }
}

/** The kind of a value for an error message, read without running any of its code. */
function kindOf(value: unknown): string {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return String(value);
  if (types.isProxy(value)) return 'a Proxy';
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === null) return 'an object with a null prototype';
  const ctor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  const name: unknown = typeof ctor === 'function' ? Object.getOwnPropertyDescriptor(ctor, 'name')?.value : undefined;
  const kind = typeof name === 'string' && name !== '' ? name : typeof value;
  return `${/^[aeiou]/i.test(kind) ? 'an' : 'a'} ${kind}`;
}

/** The names a log call's options take: anything else is refused (a typo such as `Dict` would
 *  otherwise send the record without its dictionary, unnoticed). */
const OPTION_NAMES: readonly string[] = ['dict', 'cont', 'facility'];
export const OPTS_ACCEPTED = 'an object { dict, cont, facility }, or undefined';
const hasOwn = Object.prototype.hasOwnProperty;
/** optionBits(): the facility + 1 in the low 5 bits (0: not given), and the cont flag. */
export const OPT_FACILITY = 0x1f;
export const OPT_CONT = 0x20;

/**
 * A log call's options but the dictionary, in one number (no allocation per call): their names
 * are checked (own enumerable string keys: a for-in, not Object.keys, which makes an array), then
 * facility and cont are read once each. A getter or Proxy trap that throws is EINVAL naming what
 * was being read (`opts` while listing the names), with what it threw as the cause.
 */
export function optionBits(opts: object): number {
  let reading = 'opts';
  let unknown: string | undefined;
  let facility: unknown;
  let cont: unknown;
  try {
    if (Array.isArray(opts)) throw invalid('opts', opts, OPTS_ACCEPTED);
    for (const name in opts) {
      if (name !== 'dict' && name !== 'cont' && name !== 'facility' && hasOwn.call(opts, name)) {
        unknown = name;
        break;
      }
    }
    if (unknown === undefined) {
      reading = 'facility';
      facility = (opts as LogOptions).facility;
      reading = 'cont';
      cont = (opts as LogOptions).cont;
    }
  } catch (err) {
    throw unreadable(reading, opts, err);
  }
  if (unknown !== undefined)
    throw unknownName(unknown, fieldValue(opts, unknown), OPTION_NAMES, "a log call's options");
  if (cont !== undefined && cont !== null && typeof cont !== 'boolean') throw invalid('cont', cont, 'true or false');
  return (
    (facility === undefined || facility === null ? 0 : toInt('facility', facility, 0, FACILITY_MAX) + 1) |
    (cont === true ? OPT_CONT : 0)
  );
}

/** The dictionary of a log call's options (read once), converted: null when there is none. */
export function optionDict(opts: object): Array<[Uint8Array, Uint8Array]> | null {
  let dict: unknown;
  try {
    dict = (opts as LogOptions).dict;
  } catch (err) {
    throw unreadable('dict', opts, err);
  }
  return dict === undefined || dict === null ? null : dictBytes(dict);
}

function unreadable(option: string, opts: object, err: unknown): NetconsoleError {
  if (err instanceof NetconsoleError) return err;
  return invalid(option, opts, 'options whose fields can be read', 'reading it threw:', err);
}

/** The pairs of a dictionary (see Dict), each key and value converted by toText and encoded. An
 *  empty key is refused: ` =value` is a line no receiver can file under a name. */
function dictBytes(dict: unknown): Array<[Uint8Array, Uint8Array]> {
  const pairs = guarded('dict', dict, () => dictPairs(dict));
  let size = 0;
  const out = pairs.map(([k, v], i): [Uint8Array, Uint8Array] => {
    const key = bytesOf(toText(k, `dict[${i}] key`));
    if (key.length === 0) throw invalid(`dict[${i}] key`, k, 'a key that is not empty as text', 'empty key:');
    const value = bytesOf(toText(v, `dict[${i}] value`));
    size += 4 + key.length + value.length;
    return [key, value];
  });
  if (size > L.DICT_MAX) throw new TooLargeError('dict', size, L.DICT_MAX);
  return out;
}

function dictPairs(dict: unknown): Array<readonly [unknown, unknown]> {
  if (Array.isArray(dict)) {
    return dict.map((pair: unknown, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw invalid(`dict[${i}]`, pair, 'a [key, value] pair');
      return [pair[0], pair[1]] as const;
    });
  }
  if (types.isMap(dict)) return [...(dict as Map<unknown, unknown>)];
  // Other iterables (a Set, a typed array, a generator) would give no entries: refused, not sent empty.
  if (dict === null || typeof dict !== 'object' || Symbol.iterator in dict) throw invalid('dict', dict, DICT_ACCEPTED);
  return Object.entries(dict);
}

/** A logger's own entries (`base`: a child's bindings) under a call's dictionary: those whose key
 *  the call's has not, then the call's (the call's keys win); the size checked again. */
export function withBase(base: Pairs, own: Pairs): Pairs {
  const out = base.filter(([key]) => !own.some(([k]) => sameBytes(k, key)));
  out.push(...own);
  const size = out.reduce((t, [k, v]) => t + 4 + k.length + v.length, 0);
  if (size > L.DICT_MAX) throw new TooLargeError('dict', size, L.DICT_MAX);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bytesOf(text: string | Uint8Array): Uint8Array {
  return typeof text === 'string' ? encoder.encode(text) : text;
}
