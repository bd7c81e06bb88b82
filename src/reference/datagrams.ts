// The reference composition of docs/wire.md sections 2 and 3: one record, one target, the UDP
// payloads. Written to be read next to the spec, not to be fast: it allocates freely and builds
// every part as its own byte array. The WebAssembly path is tested against it.
import { MAX_PRINT_CHUNK, type CanonicalRecord, type CanonicalTarget } from '../base/wire-types.js';
import { ESCAPE_LEN, escapeExtended, escapeUserdataValue } from './escape.js';

export interface ReferenceResult {
  datagrams: Uint8Array[];
  /** True when the escaped text was cut to respect maxTotal (extended targets only). */
  truncated: boolean;
}

const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
const encoder = new TextEncoder();

function ascii(text: string): Uint8Array {
  return encoder.encode(text);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Consecutive slices of at most `size` bytes; none for empty input. */
function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

/** `[%5lu.%06lu] ` of printk.time; tsUsec is up to 2^64-1, hence bigint. */
export function timestampPrefix(tsUsec: bigint): string {
  const seconds = (tsUsec / 1_000_000n).toString().padStart(5, ' ');
  const micros = (tsUsec % 1_000_000n).toString().padStart(6, '0');
  return `[${seconds}.${micros}] `;
}

/** The lines of `text` split at `\n`; a final `\n` does not start another line; empty text has none. */
function splitLines(text: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(NEWLINE, start);
    if (end < 0) end = text.length;
    lines.push(text.subarray(start, end));
    start = end + 1;
  }
  return lines;
}

/** docs/wire.md 2: what the kernel's plain console prints, cut into 1000-byte datagrams. */
function basicDatagrams(rec: CanonicalRecord, tgt: CanonicalTarget): Uint8Array[] {
  const prefix = ascii(tgt.timestamps ? timestampPrefix(rec.tsUsec) : '');
  const newline = Uint8Array.of(NEWLINE);
  const console = concat(splitLines(rec.text).flatMap((line) => [prefix, line, newline]));
  return chunks(console, MAX_PRINT_CHUNK);
}

/** ` key=value\n` for each pair; the dictionary's keys and values escaped (escapeExtended), a
 *  userdata value's control bytes only (escapeUserdataValue), its key never (it has none). */
function pairLines(
  pairs: Array<[Uint8Array, Uint8Array]>,
  escapeKey: (b: Uint8Array) => Uint8Array,
  escapeValue: (b: Uint8Array) => Uint8Array,
): Uint8Array {
  return concat(pairs.flatMap(([k, v]) => [ascii(' '), escapeKey(k), ascii('='), escapeValue(v), ascii('\n')]));
}

/** docs/wire.md 3.2: the sysdata lines, in their fixed order, each only when present. */
function sysdataLines(sys: CanonicalTarget['sysdata']): Uint8Array {
  const parts: Uint8Array[] = [];
  if (sys.cpu !== null) parts.push(ascii(` cpu=${sys.cpu}\n`));
  if (sys.taskname !== null) parts.push(ascii(' taskname='), sys.taskname, ascii('\n'));
  if (sys.release !== null) parts.push(ascii(' release='), sys.release, ascii('\n'));
  if (sys.msgid !== null) parts.push(ascii(` msgid=${sys.msgid}\n`));
  return concat(parts);
}

/**
 * docs/wire.md 3.4: the largest cut <= allowed that does not split a `\xHH` escape. A literal
 * backslash never survives escaping, so a backslash in the 3 bytes before the cut starts an
 * escape that the cut would split; cut before it instead.
 */
export function escapeSafeCut(escText: Uint8Array, allowed: number): number {
  if (escText.length <= allowed) return escText.length;
  for (let p = allowed - 1; p >= 0 && p > allowed - ESCAPE_LEN; p--) {
    if (escText[p] === BACKSLASH) return p;
  }
  return allowed;
}

/** docs/wire.md 3.3 step 3: `prefix,ncfrag=<sent>/<total>;` + the next slice of data, each <= 1000 bytes. */
function fragments(prefix: Uint8Array, data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const total = data.length;
  let sent = 0;
  while (sent < total) {
    const head = concat([prefix, ascii(`,ncfrag=${sent}/${total};`)]);
    const count = Math.min(total - sent, MAX_PRINT_CHUNK - head.length);
    out.push(concat([head, data.subarray(sent, sent + count)]));
    sent += count;
  }
  return out;
}

/** docs/wire.md 3: the extended message with release, userdata and sysdata; truncated, then fragmented. */
function extendedDatagrams(rec: CanonicalRecord, tgt: CanonicalTarget, maxTotal: number): ReferenceResult {
  const header = `${rec.prio},${rec.seq},${rec.tsUsec},${rec.cont ? 'c' : '-'}`;
  // Kept as bytes: the release is copied as given, never decoded and re-encoded.
  const rel = tgt.release === null ? new Uint8Array(0) : concat([tgt.release, ascii(',')]);
  const escText = escapeExtended(rec.text);
  const dictPart = pairLines(rec.dict, escapeExtended, escapeExtended);
  const ud = pairLines(tgt.userdata, (b) => b, escapeUserdataValue);
  const sys = sysdataLines(tgt.sysdata);

  // Only the escaped text gives way; 1 is the `\n` that ends the text line.
  const fixed = 1 + dictPart.length + ud.length + sys.length;
  const cut = escapeSafeCut(escText, Math.max(0, maxTotal - fixed));
  const truncated = cut < escText.length;

  const data = concat([escText.subarray(0, cut), Uint8Array.of(NEWLINE), dictPart, ud, sys]);
  // docs/wire.md 3.3: L = len(rel) + len(header) + len(';') + total.
  const prefix = concat([rel, ascii(header)]);
  if (prefix.length + 1 + data.length <= MAX_PRINT_CHUNK) {
    return { datagrams: [concat([prefix, ascii(';'), data])], truncated };
  }
  return { datagrams: fragments(prefix, data), truncated };
}

export function referenceDatagrams(rec: CanonicalRecord, tgt: CanonicalTarget, maxTotal: number): ReferenceResult {
  if (!tgt.extended) return { datagrams: basicDatagrams(rec, tgt), truncated: false };
  return extendedDatagrams(rec, tgt, maxTotal);
}
