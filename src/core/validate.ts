// Validation and normalisation of the encoding API's inputs, shared by the WebAssembly path and
// the reference so that both see exactly the same canonical record and target. Everything is
// checked here, in TypeScript, before anything crosses into WebAssembly (ARCHITECTURE.md, convention 6).
//
// The rules: a field given as `undefined` (or left out) is absent; `null` only where the type says
// so (a target's `release`). Booleans are `true` or `false`, not truthy values (`'false'` is not
// false). Numbers are integers in range (EINVAL for a non-integer or another type, ERANGE for an
// integer out of range); 64-bit fields also take a bigint. Text is a string (well-formed UTF-16)
// or a Uint8Array. The objects given (record, target, sysdata, options, frame) are read once,
// field by field: a getter or Proxy trap that throws becomes EINVAL naming that object.
import { L } from './layout.js';
import type { CanonicalRecord, CanonicalTarget } from '../base/wire-types.js';
import { isWellFormed, U64_MAX } from '../base/text.js';
import { invalid, InvalidValueError, NetconsoleError, outOfRange, TooLargeError } from '../base/errors.js';
import {
  DEFAULT_MAX_TOTAL,
  MAX_TASKNAME,
  type EncodeOptions,
  type U64,
  type WireRecord,
  type WireSysdata,
  type WireTarget,
} from '../base/wire-types.js';

const U32_MAX = 0xffffffff;
/** Largest accepted maxTotal: the escape area of a thread's scratch (see layout). */
export const MAX_TOTAL_LIMIT = 60000;
/** Kernel limits on userdata (drivers/net/netconsole.c: MAX_EXTRADATA_*). */
export const USERDATA_KEY_MAX = 53;
export const USERDATA_VALUE_MAX = 199;
export const USERDATA_ITEMS_MAX = 256;
/** __NEW_UTS_LEN */
export const RELEASE_MAX = 64;
/** The largest record text and encoded dictionary: the sizes of a thread's areas in the shared
 *  memory. */
const { TEXT_MAX, DICT_MAX } = L;

export type { CanonicalRecord, CanonicalTarget } from '../base/wire-types.js';

const encoder = new TextEncoder();


/** A Uint8Array (a Buffer too), not a Proxy that claims to be one: the write path copies it with
 *  TypedArray methods, which a Proxy does not have. */
export function isBytes(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && value instanceof Uint8Array;
}

export function toBytes(option: string, value: unknown): Uint8Array {
  if (isBytes(value)) return value;
  if (typeof value !== 'string') throw invalid(option, value, 'a string or a Uint8Array');
  if (!isWellFormed(value)) throw invalid(option, value, 'well-formed UTF-16 text', 'lone surrogate in');
  return encoder.encode(value);
}

export function toU64(option: string, value: U64): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) throw outOfRange(option, value, '0 .. 2^64-1');
    return value;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalid(option, value, 'an integer number or a bigint');
  }
  if (value < 0) throw outOfRange(option, value, '0 .. 2^64-1');
  if (!Number.isSafeInteger(value)) throw invalid(option, value, 'a safe integer number, or a bigint beyond 2^53');
  return BigInt(value);
}

export function toBool(option: string, value: unknown, absent: boolean): boolean {
  if (value === undefined) return absent;
  if (typeof value !== 'boolean') throw invalid(option, value, 'true or false');
  return value;
}

/** An object the caller gave (not null, not an array): the object itself, or `absent` when undefined. */
export function toObject<T extends object>(option: string, value: unknown, accepted: string, absent?: T): T {
  if (value === undefined && absent !== undefined) return absent;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(option, value, accepted);
  return value as T;
}

/** Runs `read` over an object the caller gave: whatever its getters or Proxy traps throw becomes
 *  EINVAL naming that object (with the thrown value as `cause`); our own errors pass through. */
export function guarded<T>(option: string, value: unknown, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof NetconsoleError) throw err;
    throw invalid(option, value, 'an object whose fields can be read', 'reading it threw:', err);
  }
}

export function toInt(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(option, value, `an integer ${min}..${max}`);
  if (value < min || value > max) throw outOfRange(option, value, `${min}..${max}`);
  return value;
}

function toPrio(record: WireRecord): number {
  if (record.prio !== undefined) {
    if (record.level !== undefined || record.facility !== undefined) {
      throw invalid('prio', record.prio, 'either prio, or level and facility, not both');
    }
    return toInt('prio', record.prio, 0, 191);
  }
  if (record.level === undefined) {
    throw invalid('prio', undefined, 'prio 0..191, or level 0..7 (and facility 0..23, default 1)', 'neither prio nor level given:');
  }
  const level = toInt('level', record.level, 0, 7);
  const facility = record.facility === undefined ? 1 : toInt('facility', record.facility, 0, 23);
  return facility * 8 + level;
}

function toPairs(option: string, pairs: ReadonlyArray<readonly [string, string]> | undefined): Array<[Uint8Array, Uint8Array]> {
  if (pairs === undefined) return [];
  if (!Array.isArray(pairs)) throw invalid(option, pairs, 'an array of [key, value] pairs');
  return pairs.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw invalid(`${option}[${i}]`, pair, 'a [key, value] pair');
    return [toBytes(`${option}[${i}] key`, pair[0]), toBytes(`${option}[${i}] value`, pair[1])];
  });
}

function limited(option: string, bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length > max) throw new TooLargeError(option, bytes.length, max);
  return bytes;
}

/** The dictionary as the thread slot stores it: [u16 klen][key][u16 vlen][value] per pair. */
function limitedDict(pairs: Array<[Uint8Array, Uint8Array]>): Array<[Uint8Array, Uint8Array]> {
  const size = pairs.reduce((n, [k, v]) => n + 4 + k.length + v.length, 0);
  if (size > DICT_MAX) throw new TooLargeError('dict', size, DICT_MAX);
  return pairs;
}

export function canonicalRecord(record: WireRecord): CanonicalRecord {
  const r = toObject<WireRecord>('record', record, 'an object { prio or level, seq, tsUsec, text, ... }');
  return guarded('record', record, () => ({
    prio: toPrio(r),
    seq: toU64('seq', r.seq),
    tsUsec: toU64('tsUsec', r.tsUsec),
    cont: toBool('cont', r.cont, false),
    text: limited('text', toBytes('text', r.text), TEXT_MAX),
    dict: limitedDict(toPairs('dict', r.dict)),
  }));
}

function optionalString(option: string, value: string | null | undefined, max: number, nullable = false): Uint8Array | null {
  if (value === undefined || (nullable && value === null)) return null;
  const bytes = toBytes(option, value);
  if (bytes.length > max) throw new TooLargeError(option, bytes.length, max);
  return bytes;
}

export function canonicalTarget(target: WireTarget): CanonicalTarget {
  const t = toObject<WireTarget>('target', target, 'an object { extended, release, userdata, sysdata, timestamps }');
  return guarded('target', target, () => readTarget(t));
}

function readTarget(target: WireTarget): CanonicalTarget {
  const userdata = toPairs('userdata', target.userdata);
  if (userdata.length > USERDATA_ITEMS_MAX) {
    throw new InvalidValueError('ENOSPC', 'userdata', userdata.length, `at most ${USERDATA_ITEMS_MAX} entries`, 'too many entries:');
  }
  for (const [k, v] of userdata) {
    // An empty key is not "too large": report it as EINVAL rather than EMSGSIZE.
    if (k.length === 0) throw invalid('userdata key', '', `1..${USERDATA_KEY_MAX} bytes`, 'empty');
    if (k.length > USERDATA_KEY_MAX) throw new TooLargeError('userdata key', k.length, USERDATA_KEY_MAX);
    if (v.length > USERDATA_VALUE_MAX) throw new TooLargeError('userdata value', v.length, USERDATA_VALUE_MAX);
  }
  const sys = toObject<WireSysdata>('sysdata', target.sysdata, 'an object { cpu, taskname, release, msgid }', {});
  return {
    extended: toBool('extended', target.extended, false),
    release: optionalString('release', target.release, RELEASE_MAX, true),
    userdata: userdata.filter(([, v]) => v.length > 0),
    sysdata: {
      cpu: sys.cpu === undefined ? null : toInt('sysdata.cpu', sys.cpu, 0, 0x7fffffff),
      taskname: optionalString('sysdata.taskname', sys.taskname, MAX_TASKNAME),
      release: optionalString('sysdata.release', sys.release, RELEASE_MAX),
      msgid: sys.msgid === undefined ? null : toInt('sysdata.msgid', sys.msgid, 0, U32_MAX),
    },
    timestamps: toBool('timestamps', target.timestamps, true),
  };
}

export interface CanonicalOptions {
  impl: 'wasm' | 'reference';
  maxTotal: number;
}

export function canonicalOptions(opts: EncodeOptions | undefined): CanonicalOptions {
  const o = toObject<EncodeOptions>('options', opts, 'an object { impl, maxTotal }, or undefined', {});
  return guarded('options', opts, () => ({
    impl: toImpl(o.impl),
    maxTotal: o.maxTotal === undefined ? DEFAULT_MAX_TOTAL : toInt('maxTotal', o.maxTotal, 1, MAX_TOTAL_LIMIT),
  }));
}

export function toImpl(impl: unknown): 'wasm' | 'reference' {
  if (impl === undefined) return 'wasm';
  if (impl !== 'wasm' && impl !== 'reference') throw invalid('impl', impl, "'wasm' or 'reference'");
  return impl;
}
