// The shapes taken by the public encoding API (`netconsole/wire`). Field names are exactly
// those of the known-answer cases (test/fixtures/wire.json), so a vector case can be passed as it is
// (after decoding its hex fields). What each field accepts, and the typed error for anything
// else, is in validate.ts.

/** A 64-bit unsigned field: a safe integer number, or a bigint. */
export type U64 = number | bigint;

/** Bytes: a JS string is UTF-8 encoded (and must be valid UTF-16: no lone surrogates). */
export type Text = string | Uint8Array;

export interface WireRecord {
  /** facility * 8 + level, 0..191. Give either `prio`, or `level` (and optionally `facility`, default 1 "user"). */
  prio?: number;
  level?: number;
  facility?: number;
  /** Record sequence number, 0 .. 2^64-1. */
  seq: U64;
  /** Microseconds of CLOCK_MONOTONIC, 0 .. 2^64-1. */
  tsUsec: U64;
  /** Continuation record: flag `c` instead of `-` (extended targets only). */
  cont?: boolean;
  text: Text;
  /** Dictionary pairs, sent escaped after the text by extended targets: ` KEY=value\n`. */
  dict?: ReadonlyArray<readonly [string, string]>;
}

export interface WireSysdata {
  /** `cpu=<n>` when present. */
  cpu?: number;
  /** `taskname=<name>` when present (at most 15 bytes). */
  taskname?: string;
  /** `release=<release>` when present. */
  release?: string;
  /** `msgid=<n>` when present: the value this message carries (the per-target counter after its increment). */
  msgid?: number;
}

export interface WireTarget {
  /** Default false (a basic target), as the kernel's. */
  extended?: boolean;
  /** The release prefix (`<release>,`) when a string; off when null or absent. Extended targets only. */
  release?: string | null;
  /** Userdata entries in creation order; entries with an empty value are not sent. */
  userdata?: ReadonlyArray<readonly [string, string]>;
  sysdata?: WireSysdata;
  /** Basic targets: the `[seconds.micros] ` line prefix. Default true. */
  timestamps?: boolean;
}

export interface WireFrame {
  payload: Text;
  /** `xx:xx:xx:xx:xx:xx` */
  srcMac: string;
  dstMac: string;
  /** IPv4 dotted quad or IPv6 text; both of one family. */
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** IPv4 identification field (low 16 bits are used). Ignored for IPv6. */
  ipId?: number;
}

export interface EncodeOptions {
  /** 'wasm' (default): the WebAssembly write path. 'reference': the plain-TypeScript reference. */
  impl?: 'wasm' | 'reference';
  /**
   * Extended targets: the largest `total` (body + userdata + sysdata, see docs/wire.md 3.3) before the
   * escaped text is truncated, 1..65532 as in create(). Default 8191 (netconsd reassembles only below 8192). The
   * WebAssembly path keeps an encoder memory for each of the last 8 maxTotals used (ENCODER_CACHE).
   */
  maxTotal?: number;
}

export interface EncodeResult {
  datagrams: Uint8Array[];
  /** True when the escaped text was cut to respect `maxTotal`. */
  truncated: boolean;
}

/** The wire constants of docs/wire.md. */
export const MAX_PRINT_CHUNK = 1000;
export const DEFAULT_MAX_TOTAL = 8191;
export { MAX_TASKNAME } from './limits.js';

/** A record as the implementations take it: every field checked and in bytes (validate.ts makes it). */
export interface CanonicalRecord {
  prio: number;
  seq: bigint;
  tsUsec: bigint;
  cont: boolean;
  text: Uint8Array;
  dict: Array<[Uint8Array, Uint8Array]>;
}

/** A target as the implementations take it (validate.ts makes it). */
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
