// Validation and normalisation of the encoding API's inputs, shared by the WebAssembly path and
// the reference so that both see exactly the same canonical record and target. Everything is
// checked here, in TypeScript, before anything crosses into WebAssembly (CONVENTIONS 6).
import { invalid, InvalidValueError, outOfRange, TooLargeError } from './errors.js';
import {
  DEFAULT_MAX_TOTAL,
  MAX_TASKNAME,
  type EncodeOptions,
  type Text,
  type U64,
  type WireRecord,
  type WireTarget,
} from './wire-types.js';

export const U64_MAX = (1n << 64n) - 1n;
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
 *  memory (assembly/layout.ts TEXT_MAX, DICT_MAX; checked against src/layout.ts at load). */
export const TEXT_MAX = 64 << 10;
export const DICT_MAX = 8 << 10;

export interface CanonicalRecord {
  prio: number;
  seq: bigint;
  tsUsec: bigint;
  cont: boolean;
  text: Uint8Array;
  dict: Array<[Uint8Array, Uint8Array]>;
}

export interface CanonicalTarget {
  extended: boolean;
  release: Uint8Array | null;
  /** Only the entries that are sent (non-empty value), in order. */
  userdata: Array<[Uint8Array, Uint8Array]>;
  sysdata: {
    cpu: number | null;
    taskname: Uint8Array | null;
    release: Uint8Array | null;
    msgid: number | null;
  };
  timestamps: boolean;
}

const encoder = new TextEncoder();

// String.prototype.isWellFormed exists from Node 20 (V8 11.1) but is typed only in lib es2024,
// and tsconfig targets ES2022, so reach it through a typed view instead of widening the lib.
function isWellFormed(value: string): boolean {
  return (value as string & { isWellFormed(): boolean }).isWellFormed();
}

export function toBytes(option: string, value: Text): Uint8Array {
  if (value instanceof Uint8Array) return value;
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
  if (record === null || typeof record !== 'object') throw invalid('record', record, 'an object');
  return {
    prio: toPrio(record),
    seq: toU64('seq', record.seq),
    tsUsec: toU64('tsUsec', record.tsUsec),
    cont: record.cont === undefined ? false : Boolean(record.cont),
    text: limited('text', toBytes('text', record.text), TEXT_MAX),
    dict: limitedDict(toPairs('dict', record.dict)),
  };
}

function optionalString(option: string, value: string | null | undefined, max: number): Uint8Array | null {
  if (value === null || value === undefined) return null;
  const bytes = toBytes(option, value);
  if (bytes.length > max) throw new TooLargeError(option, bytes.length, max);
  return bytes;
}

export function canonicalTarget(target: WireTarget): CanonicalTarget {
  if (target === null || typeof target !== 'object') throw invalid('target', target, 'an object');
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
  const sys = target.sysdata ?? {};
  return {
    extended: Boolean(target.extended),
    release: optionalString('release', target.release, RELEASE_MAX),
    userdata: userdata.filter(([, v]) => v.length > 0),
    sysdata: {
      cpu: sys.cpu === undefined ? null : toInt('sysdata.cpu', sys.cpu, 0, 0x7fffffff),
      taskname: optionalString('sysdata.taskname', sys.taskname, MAX_TASKNAME),
      release: optionalString('sysdata.release', sys.release, RELEASE_MAX),
      msgid: sys.msgid === undefined ? null : toInt('sysdata.msgid', sys.msgid, 0, U32_MAX),
    },
    timestamps: target.timestamps === undefined ? true : Boolean(target.timestamps),
  };
}

export function canonicalMaxTotal(opts: EncodeOptions | undefined): number {
  if (opts?.maxTotal === undefined) return DEFAULT_MAX_TOTAL;
  return toInt('maxTotal', opts.maxTotal, 1, MAX_TOTAL_LIMIT);
}
