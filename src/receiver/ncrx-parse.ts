// What Meta's netconsd accepts as an extended netconsole datagram, rule by rule (N1..N14), after
// libncrx's parse_packet() (facebook/netconsd, ncrx/libncrx.c) and the code that feeds it
// (listener.c, worker.c). The rules across datagrams follow in fragments.ts (N15, N17) and
// seq-window.ts (N16, N18; N19, ours: a restarted sender). test/receiver-ncrx.test.ts has one test per
// rule, named by its number.
//
// A datagram that libncrx refuses is not lost: netconsd prints it as it came, as a legacy line
// (worker.c consume_msgbuf: when ncrx_process() fails, the output gets the raw buffer). So
// "refused" here means "a legacy line", never "dropped".
import { U64_MAX } from '../base/text.js';

/** N1 (listener.c: RCVBUF_SIZE 1024, read with iov_len RCVBUF_SIZE - 1): bytes past 1,023 are lost. */
export const MAX_DATAGRAM = 1023;

/** N11 (parse_packet: `nf_len >= NCRX_LINE_MAX` is refused, NCRX_LINE_MAX 8192). */
export const MAX_TOTAL = 8191;
/** N5 (parse_packet case 1: `v > UINT8_MAX` is refused). */
const MAX_PRIO = 255n;
/** N4 (release_prepended: memchr over NCRX_KVERSION_MAX_LEN bytes). */
const RELEASE_SCAN = 64;

export interface ParsedDatagram {
  extended: boolean;
  release?: string;
  prio?: number;
  /** Decimal, whatever base it was written in (N6). */
  seq?: string;
  tsUsec?: string;
  /** The flag was `c`: the first of continued messages (libncrx cont_start). */
  cont?: boolean;
  /** The flag was `+`: continues the previous message (libncrx cont). */
  continuation?: boolean;
  frag?: { offset: number; total: number };
  /** `ncemg=<n>` with n not 0: an emergency resend (libncrx msg->emg), acked at once by a receiver that acks. */
  emg?: boolean;
  /** `ncfirst=<seq>` (decimal), this library's reliable sender until its receiver first replied:
   *  where its unacked messages begin (docs/reliable.md). Not netconsd's: it ignores the key. */
  first?: string;
  /** Legacy: the datagram (N1, N2); extended: the text after the first ';' (N14). */
  body: Buffer;
}

/** N1 + N2: the bytes netconsd looks at. */
export function datagramBytes(buf: Buffer): Buffer {
  const data = buf.length > MAX_DATAGRAM ? buf.subarray(0, MAX_DATAGRAM) : buf;
  // N2 (worker.c consume_msgbuf NUL-terminates the buffer; parse_packet uses strchr and strlen;
  // the printer uses %s): the datagram is a C string, so everything from its first NUL on is ignored.
  const nul = data.indexOf(0);
  return nul < 0 ? data : data.subarray(0, nul);
}

/** C isspace() in the C locale: what strtoul and scanf skip. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function digit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : 99;
}

/** strtoul's result for the digits it read: saturated at ULONG_MAX, a '-' negates modulo 2^64. */
function unsignedLong(digits: bigint, negative: boolean): bigint {
  if (digits > U64_MAX) return U64_MAX;
  return negative ? BigInt.asUintN(64, -digits) : digits;
}

/**
 * N5/N6: `strtoull(tok, &endp, 0)` where `*endp` must be the end of the token. Leading white
 * space and one sign are allowed; `0x` means hex and a leading `0` octal; an empty token is 0
 * (no conversion leaves endp at the token's start, which is its end). Undefined when refused.
 */
export function strtoulWhole(tok: string): bigint | undefined {
  if (tok.length === 0) return 0n;
  let i = 0;
  while (i < tok.length && isSpace(tok.charCodeAt(i))) i++;
  const negative = tok[i] === '-';
  if (negative || tok[i] === '+') i++;
  let base = 10;
  let prefix = '';
  if (tok[i] === '0' && (tok[i + 1] === 'x' || tok[i + 1] === 'X')) {
    // glibc: "0x" without a hex digit after it converts the 0 and stops at the x: refused here.
    if (digit(tok.charCodeAt(i + 2)) >= 16) return undefined;
    base = 16;
    prefix = '0x';
    i += 2;
  } else if (tok[i] === '0') {
    base = 8;
    prefix = '0o';
  }
  const start = i;
  while (i < tok.length && digit(tok.charCodeAt(i)) < base) i++;
  if (i === start || i !== tok.length) return undefined;
  return unsignedLong(BigInt(prefix + tok.slice(start, i)), negative);
}

/** scanf("%u") at `s[i]`: white space, one sign, decimal digits; the value cut to 32 bits. */
function scanUnsigned(s: string, i: number): { value: number; end: number } | undefined {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  const negative = s[i] === '-';
  if (negative || s[i] === '+') i++;
  const start = i;
  while (i < s.length && digit(s.charCodeAt(i)) < 10) i++;
  if (i === start) return undefined;
  return { value: Number(BigInt.asUintN(32, unsignedLong(BigInt(s.slice(start, i)), negative))), end: i };
}

/**
 * N10 (parse_packet: `sscanf(val, "%u/%u", &nf_off, &nf_len) != 2` is refused): two decimal
 * numbers around a '/', each after optional white space and a sign (wrapped to 32 bits, as
 * glibc stores strtoul's result in an unsigned int); anything after the second is ignored.
 */
export function scanFragment(val: string): [number, number] | undefined {
  const off = scanUnsigned(val, 0);
  if (!off || val[off.end] !== '/') return undefined;
  const len = scanUnsigned(val, off.end + 1);
  return len ? [off.value, len.value] : undefined;
}

/**
 * N4 (release_prepended): the header starts with a kernel release when its first 64 bytes hold
 * a '.' before the first ','. libncrx scans 64 bytes of a stack buffer even past a shorter
 * header (bytes left from earlier datagrams); we scan the header only.
 */
function releasePrepended(header: string): boolean {
  const head = header.slice(0, RELEASE_SCAN);
  const dot = head.indexOf('.');
  const comma = head.indexOf(',');
  return dot >= 0 && comma >= 0 && dot < comma;
}

/** Parses one datagram as netconsd does; anything libncrx refuses is a legacy line. */
export function parseDatagram(buf: Buffer): ParsedDatagram {
  const data = datagramBytes(buf);
  const legacy: ParsedDatagram = { extended: false, body: data };
  // N3 (parse_packet: strchr(payload, ';') == NULL is refused): no ';', not extended. (The
  // header-longer-than-1024 refusal cannot happen after N1.)
  const semi = data.indexOf(0x3b);
  if (semi < 0) return legacy;
  // N14 (parse_packet: text = after the first ';', text_len = strlen): the text is the rest.
  const body = data.subarray(semi + 1);
  const header = data.toString('latin1', 0, semi);
  const out: ParsedDatagram = { extended: true, prio: 0, seq: '0', tsUsec: '0', cont: false, body };
  let fragSeen = false;
  let emgSeen = false;
  // N8 (the strsep loop): the header is cut at every ','; fields that are not there keep their
  // zero value, so "6;" and even ";" are extended messages.
  let idx = releasePrepended(header) ? 0 : 1;
  for (const tok of header.split(',')) {
    switch (idx++) {
      case 0:
        out.release = tok; // at most 63 bytes: N4 found its ',' within 64
        continue;
      case 1: {
        // N5 (case 1): the priority is strtoul(.., 0) of the whole field, at most 255.
        const v = strtoulWhole(tok);
        if (v === undefined || v > MAX_PRIO) return legacy;
        out.prio = Number(v);
        continue;
      }
      case 2:
      case 3: {
        // N6 (cases 2, 3): seq and timestamp are strtoull(.., 0) of the whole field, any 64-bit value.
        const v = strtoulWhole(tok);
        if (v === undefined) return legacy;
        out[idx === 3 ? 'seq' : 'tsUsec'] = v.toString(); // idx is already the next field's
        continue;
      }
      case 4:
        // N7 (case 4): only the flag's first character counts: 'c' starts a continued message,
        // '+' continues one, anything else (the usual '-', nothing, "xyz") is neither. Never refused.
        if (tok[0] === 'c') out.cont = true;
        else if (tok[0] === '+') out.continuation = true;
        continue;
    }
    // N9 (the KEY=VAL loop): a field without '=' is skipped; keys other than ncfrag and ncemg are ignored.
    const eq = tok.indexOf('=');
    if (eq < 0) continue;
    const key = tok.slice(0, eq);
    const val = tok.slice(eq + 1);
    if (key === 'ncfrag') {
      // N12 (is_frag_seen): a second ncfrag is refused.
      if (fragSeen) return legacy;
      fragSeen = true;
      const nf = scanFragment(val);
      if (!nf) return legacy;
      const [offset, total] = nf;
      // N11: refused when the fragment is empty, the total is 8192 or more, the offset is not
      // inside the total, or the fragment runs past the total.
      if (body.length === 0 || total > MAX_TOTAL || offset >= total || offset + body.length > total) return legacy;
      out.frag = { offset, total };
    } else if (key === 'ncemg') {
      // N13 (is_emg_seen, strtoul): ncemg must be one whole number, given once.
      const emg = emgSeen ? undefined : strtoulWhole(val);
      if (emg === undefined) return legacy;
      emgSeen = true;
      if (emg !== 0n) out.emg = true;
    } else if (key === 'ncfirst') {
      // Ours, not libncrx's (which ignores it, N9): a value that does not parse is ignored too.
      const first = strtoulWhole(val);
      if (first !== undefined) out.first = first.toString();
    }
  }
  return out;
}
