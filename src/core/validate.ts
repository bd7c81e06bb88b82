// Validation and normalisation of the encoding API's inputs, shared by the WebAssembly path and
// the reference so that both see exactly the same canonical record and target. Everything is
// checked here, in TypeScript, before anything crosses into WebAssembly (ARCHITECTURE.md, convention 6).
//
// The rules are base/check.ts's ("not given" is `undefined` or left out; `null` only where the
// type says so: a target's `release`), with its checkers; 64-bit fields also take a bigint. Text is a string (well-formed UTF-16)
// or a Uint8Array. The objects given (record, target, sysdata, options, frame) are read once,
// field by field: a getter or Proxy trap that throws becomes EINVAL naming that object; a field
// they do not have is EINVAL naming it, the closest known name suggested (a misspelt one would
// otherwise be ignored). Text that would break the line structure is refused: a release with
// ',' ';' or a control byte, a control byte in a userdata key or a sysdata release, an empty
// dictionary key; a userdata value's control bytes are sent escaped (core/userdata.ts).
// readFields, checkFieldNames and guarded (base/check.ts) are exported here too for the files that
// took them from here.
import { L } from './layout.js';
import { checkUserdataFits } from './userdata.js';
import type { CanonicalRecord, CanonicalTarget } from '../base/wire-types.js';
import { isWellFormed, U64_MAX } from '../base/text.js';
import { invalid, InvalidValueError, outOfRange, TooLargeError } from '../base/errors.js';
export { checkFieldNames, fieldValue, guarded, readFields } from '../base/check.js';
import { bool, checkFieldNames, given, guarded, int, object } from '../base/check.js';
import {
  FACILITY_MAX,
  LEVEL_MAX,
  MAX_TASKNAME,
  MAX_TOTAL_MAX,
  PRIO_MAX,
  RELEASE_MAX,
  USERDATA_ITEMS_MAX,
  USERDATA_KEY_MAX,
  USERDATA_VALUE_MAX,
} from '../base/limits.js';
import {
  DEFAULT_MAX_TOTAL,
  type EncodeOptions,
  type U64,
  type WireRecord,
  type WireSysdata,
  type WireTarget,
} from '../base/wire-types.js';

const U32_MAX = 0xffffffff;
/** The largest record text and encoded dictionary: the sizes of a thread's areas in the shared
 *  memory. */
const { TEXT_MAX, DICT_MAX } = L;

export type { CanonicalRecord, CanonicalTarget } from '../base/wire-types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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

function toU64(option: string, value: U64): bigint {
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
  return given(value, absent, (v) => bool(option, v));
}

/** An object the caller gave (not null, not an array): the object itself, or `absent` when not given. */
export function toObject<T extends object>(option: string, value: unknown, accepted: string, absent?: T): T {
  if (value === undefined && absent !== undefined) return absent;
  return object<T>(option, value, accepted);
}

/** An integer in [min, max] (base/check.ts int), an ERANGE saying `min..max`. */
export function toInt(option: string, value: unknown, min: number, max: number): number {
  return int(option, value, min, max, `an integer ${min}..${max}`, `${min}..${max}`);
}

function toPrio(record: WireRecord): number {
  if (record.prio !== undefined) {
    if (record.level !== undefined || record.facility !== undefined) {
      throw invalid('prio', record.prio, 'either prio, or level and facility, not both');
    }
    return toInt('prio', record.prio, 0, PRIO_MAX);
  }
  if (record.level === undefined) {
    throw invalid(
      'prio',
      undefined,
      `prio 0..${PRIO_MAX}, or level 0..${LEVEL_MAX} (and facility 0..${FACILITY_MAX}, default 1)`,
      'neither prio nor level given:',
    );
  }
  const level = toInt('level', record.level, 0, LEVEL_MAX);
  const facility = record.facility === undefined ? 1 : toInt('facility', record.facility, 0, FACILITY_MAX);
  return facility * 8 + level;
}

function toPairs(
  option: string,
  pairs: ReadonlyArray<readonly [string, string]> | undefined,
): Array<[Uint8Array, Uint8Array]> {
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

const RECORD_FIELDS = ['prio', 'level', 'facility', 'seq', 'tsUsec', 'cont', 'text', 'dict'];
const TARGET_FIELDS = ['extended', 'release', 'userdata', 'sysdata', 'timestamps'];
const SYSDATA_FIELDS = ['cpu', 'taskname', 'release', 'msgid'];
const OPTION_FIELDS = ['impl', 'maxTotal'];

export function canonicalRecord(record: WireRecord): CanonicalRecord {
  const r = toObject<WireRecord>('record', record, 'an object { prio or level, seq, tsUsec, text, ... }');
  checkFieldNames('record', r, RECORD_FIELDS, 'a wire record');
  return guarded('record', record, () => ({
    prio: toPrio(r),
    seq: toU64('seq', r.seq),
    tsUsec: toU64('tsUsec', r.tsUsec),
    cont: toBool('cont', r.cont, false),
    text: limited('text', toBytes('text', r.text), TEXT_MAX),
    dict: limitedDict(withKeys(toPairs('dict', r.dict))),
  }));
}

/** A dictionary's keys are not empty: ` =value` is a line no receiver can file under a name. */
function withKeys(pairs: Array<[Uint8Array, Uint8Array]>): Array<[Uint8Array, Uint8Array]> {
  const i = pairs.findIndex(([k]) => k.length === 0);
  if (i >= 0) throw invalid(`dict[${i}] key`, '', 'a key that is not empty', 'empty key:');
  return pairs;
}

function optionalString(
  option: string,
  value: string | null | undefined,
  max: number,
  nullable = false,
): Uint8Array | null {
  if (value === undefined || (nullable && value === null)) return null;
  const bytes = toBytes(option, value);
  if (bytes.length > max) throw new TooLargeError(option, bytes.length, max);
  return bytes;
}

export function canonicalTarget(target: WireTarget): CanonicalTarget {
  const t = toObject<WireTarget>('target', target, 'an object { extended, release, userdata, sysdata, timestamps }');
  checkFieldNames('target', t, TARGET_FIELDS, 'a wire target');
  return guarded('target', target, () => readTarget(t));
}

/** A control byte (C0 or DEL). */
function isControl(byte: number): boolean {
  return byte < 0x20 || byte === 0x7f;
}

/**
 * The release prefix: it is `<release>,` before the header `<prio>,<seq>,<tsUsec>,<flag>;`
 * (docs/wire.md 3.2), so a comma in it reads as one more header field, a ';' ends the header
 * early, and a control byte (a newline) breaks the line: each is EINVAL.
 */
function releasePrefix(value: string | null | undefined): Uint8Array | null {
  const bytes = optionalString('release', value, RELEASE_MAX, true);
  if (bytes === null) return null;
  const i = bytes.findIndex((b) => b === 0x2c || b === 0x3b || isControl(b));
  if (i >= 0) {
    throw invalid(
      'release',
      value,
      "a release without ',', ';' or control characters (it is the first field of the header)",
      `${JSON.stringify(String.fromCharCode(bytes[i]))} in`,
    );
  }
  return bytes;
}

/** A sysdata value is one line (` release=<release>\n`): no control byte. */
function oneLine(option: string, bytes: Uint8Array | null, value: unknown): Uint8Array | null {
  if (bytes !== null && bytes.some(isControl))
    throw invalid(option, value, 'text without control characters (it is sent as one line)', 'a control character in');
  return bytes;
}

function readTarget(target: WireTarget): CanonicalTarget {
  const userdata = toPairs('userdata', target.userdata);
  if (userdata.length > USERDATA_ITEMS_MAX) {
    throw new InvalidValueError(
      'ENOSPC',
      'userdata',
      userdata.length,
      `at most ${USERDATA_ITEMS_MAX} entries`,
      'too many entries:',
    );
  }
  for (const [k, v] of userdata) {
    // An empty key is not "too large": report it as EINVAL rather than EMSGSIZE.
    if (k.length === 0) throw invalid('userdata key', '', `1..${USERDATA_KEY_MAX} bytes`, 'empty');
    if (k.length > USERDATA_KEY_MAX) throw new TooLargeError('userdata key', k.length, USERDATA_KEY_MAX);
    // The key is sent as it is: a newline in it would start a line of its own (a forged field).
    if (k.some(isControl))
      throw invalid(
        'userdata key',
        decoder.decode(k),
        `1..${USERDATA_KEY_MAX} bytes without control characters`,
        'a control character in',
      );
    if (v.length > USERDATA_VALUE_MAX) throw new TooLargeError('userdata value', v.length, USERDATA_VALUE_MAX);
  }
  // A value's control bytes are sent escaped (core/userdata.ts), four bytes each.
  checkUserdataFits(userdata);
  const sys = toObject<WireSysdata>('sysdata', target.sysdata, 'an object { cpu, taskname, release, msgid }', {});
  checkFieldNames('sysdata', sys, SYSDATA_FIELDS, "a wire target's sysdata", 'sysdata.');
  return {
    extended: toBool('extended', target.extended, false),
    release: releasePrefix(target.release),
    userdata: userdata.filter(([, v]) => v.length > 0),
    sysdata: {
      cpu: sys.cpu === undefined ? null : toInt('sysdata.cpu', sys.cpu, 0, 0x7fffffff),
      taskname: optionalString('sysdata.taskname', sys.taskname, MAX_TASKNAME),
      release: oneLine('sysdata.release', optionalString('sysdata.release', sys.release, RELEASE_MAX), sys.release),
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
  checkFieldNames('options', o, OPTION_FIELDS, "netconsole/wire's options");
  return guarded('options', opts, () => ({
    impl: toImpl(o.impl),
    maxTotal: o.maxTotal === undefined ? DEFAULT_MAX_TOTAL : toInt('maxTotal', o.maxTotal, 1, MAX_TOTAL_MAX),
  }));
}

export function toImpl(impl: unknown): 'wasm' | 'reference' {
  return given(impl, 'wasm' as const, (v) => {
    if (v !== 'wasm' && v !== 'reference') throw invalid('impl', v, "'wasm' or 'reference'");
    return v;
  });
}
