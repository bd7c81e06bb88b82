// Byte formatting for the write path: literals, decimals, escaping, newline counting.
// Everything writes into caller-given addresses and allocates nothing (a worker may call it).

/** Writes an ASCII literal; returns the address after it. AS string literals live in read-only
 *  static data, and charCodeAt on one is a plain load: no allocation. */
@inline export function putLit(dst: usize, s: string): usize {
  const n = s.length;
  for (let i = 0; i < n; i++) store<u8>(dst + <usize>i, <u8>s.charCodeAt(i));
  return dst + <usize>n;
}

@inline export function putByte(dst: usize, b: u8): usize {
  store<u8>(dst, b);
  return dst + 1;
}

// Decimal formatting, at most two 64-bit divisions per number: values are split into base-10^8
// chunks written with 32-bit arithmetic (seq and tsUsec are u64; most fit in 32 bits anyway).
const E8: u64 = 100000000;

@inline function decLen32(v: u32): i32 {
  if (v < 10) return 1;
  if (v < 100) return 2;
  if (v < 1000) return 3;
  if (v < 10000) return 4;
  if (v < 100000) return 5;
  if (v < 1000000) return 6;
  if (v < 10000000) return 7;
  if (v < 100000000) return 8;
  if (v < 1000000000) return 9;
  return 10;
}

export function decLen(v: u64): i32 {
  if (v <= 0xffffffff) return decLen32(<u32>v);
  if (v < E8 * E8) return 8 + decLen32(<u32>(v / E8));
  return 16 + decLen32(<u32>(v / (E8 * E8)));
}

/** Writes the `n` low decimal digits of v (v < 10^n), zero-padded, ending at end; u32 arithmetic. */
@inline function putDigits32(end: usize, v: u32, n: i32): void {
  let p = end;
  for (let i = 0; i < n; i++) {
    p--;
    const q = v / 10;
    store<u8>(p, <u8>(48 + (v - q * 10)));
    v = q;
  }
}

/** Decimal, no padding; returns the address after it. */
export function putDec(dst: usize, v: u64): usize {
  if (v <= 0xffffffff) {
    const n = decLen32(<u32>v);
    putDigits32(dst + <usize>n, <u32>v, n);
    return dst + <usize>n;
  }
  const n = decLen(v);
  const end = dst + <usize>n;
  const low = <u32>(v % E8);
  let rest = v / E8;
  putDigits32(end, low, 8);
  if (rest < E8) {
    putDigits32(end - 8, <u32>rest, n - 8);
  } else {
    putDigits32(end - 8, <u32>(rest % E8), 8);
    putDigits32(end - 16, <u32>(rest / E8), n - 16);
  }
  return end;
}

/** Copies n bytes (a header's few: no bulk-memory call), each part with two overlapping loads
 *  and stores of the widest size that fits, no loop below 16 bytes. */
@inline export function copyShort(dst: usize, src: usize, n: usize): void {
  if (n >= 8) {
    let i: usize = 0;
    for (; i + 8 <= n; i += 8) store<u64>(dst + i, load<u64>(src + i));
    if (i < n) store<u64>(dst + n - 8, load<u64>(src + n - 8)); // the last 8, overlapping
  } else if (n >= 4) {
    const a = load<u32>(src);
    const b = load<u32>(src + n - 4);
    store<u32>(dst, a);
    store<u32>(dst + n - 4, b);
  } else if (n >= 2) {
    const a = load<u16>(src);
    const b = load<u16>(src + n - 2);
    store<u16>(dst, a);
    store<u16>(dst + n - 2, b);
  } else if (n == 1) {
    store<u8>(dst, load<u8>(src));
  }
}

// A cached decimal (32 bytes, layout.ts TGT_RSEQ_DEC): [u64 value][i32 digits, 0: none][20
// bytes: the digits, from DEC_DIGITS; a u64 has at most 20, and stepping by one adds a digit only
// below 10^19].
export const DEC_DIGITS: usize = 12;

/**
 * The decimal digits of v, at cache + DEC_DIGITS, kept from one call to the next: a counter that moves by
 * one (a target's own seq) is stepped in place instead of formatted again. Returns their count.
 */
@inline export function decCached(cache: usize, v: u64): i32 {
  let n = load<i32>(cache + 8);
  const was = load<u64>(cache);
  const d = cache + DEC_DIGITS;
  if (n > 0 && was == v) return n;
  if (n > 0 && was + 1 == v && v != 0) {
    let i = n - 1;
    while (i >= 0 && load<u8>(d + <usize>i) == 0x39) {
      store<u8>(d + <usize>i, 0x30);
      i--;
    }
    if (i >= 0) {
      store<u8>(d + <usize>i, load<u8>(d + <usize>i) + 1);
    } else {
      for (let k = n; k > 0; k--) store<u8>(d + <usize>k, load<u8>(d + <usize>(k - 1)));
      store<u8>(d, 0x31);
      n++;
    }
  } else {
    n = <i32>(putDec(d, v) - d);
  }
  store<i32>(cache + 8, n);
  store<u64>(cache, v);
  return n;
}

/** Decimal, left-padded with `pad` to at least `width` characters. */
export function putDecPadded(dst: usize, v: u64, width: i32, pad: u8): usize {
  const n = decLen(v);
  for (let i = n; i < width; i++) dst = putByte(dst, pad);
  return putDec(dst, v);
}

// Extended-message escaping (docs/wire.md 3.1): bytes < 0x20, >= 0x7f and the backslash become \xHH.
@inline function needsEscape(b: u32): bool {
  return b < 0x20 || b >= 0x7f || b == 0x5c;
}

@inline function hexDigit(d: u32): u8 {
  return <u8>(d < 10 ? 48 + d : 87 + d);
}

/** Writes byte `b`, escaped if it needs it, when it fits in `room`; returns bytes written (0: no room). */
@inline function escapeByte(dst: usize, b: u32, room: i32): i32 {
  if (needsEscape(b)) {
    if (room < 4) return 0;
    store<u8>(dst, 0x5c);
    store<u8>(dst + 1, 0x78);
    store<u8>(dst + 2, hexDigit(b >> 4));
    store<u8>(dst + 3, hexDigit(b & 15));
    return 4;
  }
  if (room < 1) return 0;
  store<u8>(dst, <u8>b);
  return 1;
}

// Results of the last escape() call, read by the caller (per-instance globals: one per thread).
export let escConsumed: i32 = 0; // input bytes consumed

/**
 * Escapes `len` bytes at `src` into `dst`, writing at most `cap` bytes and never a partial
 * `\xHH`. Returns the bytes written; `escConsumed` says how much input that covered.
 * Clean runs go 32 then 16 bytes at a time (SIMD range check), the common case of log text:
 * 1,000 clean bytes took 264 ns with 16-byte blocks and three compares, 132 ns like this
 * (fmt_escape in a loop; the 2,000-byte scenario of bench/write-path shows the effect).
 */
export function escape(dst: usize, src: usize, len: i32, cap: i32): i32 {
  let i = 0;
  let o = 0;
  // Clean bytes are 0x20..0x7e except the backslash: (b - 0x20) as u8 <= 0x5e, and b != 0x5c.
  const bias = i8x16.splat(0x20);
  const top = i8x16.splat(0x5e);
  const bs = i8x16.splat(0x5c);
  for (;;) {
    // Two blocks per iteration while both are clean (the common case of log text).
    while (i + 32 <= len && o + 32 <= cap) {
      const x = v128.load(src + <usize>i);
      const y = v128.load(src + <usize>i + 16);
      const bad = v128.or(
        v128.or(i8x16.gt_u(i8x16.sub(x, bias), top), i8x16.eq(x, bs)),
        v128.or(i8x16.gt_u(i8x16.sub(y, bias), top), i8x16.eq(y, bs)),
      );
      if (v128.any_true(bad)) break;
      v128.store(dst + <usize>o, x);
      v128.store(dst + <usize>o + 16, y);
      i += 32;
      o += 32;
    }
    if (i + 16 > len || o + 16 > cap) break;
    const v = v128.load(src + <usize>i);
    if (!v128.any_true(v128.or(i8x16.gt_u(i8x16.sub(v, bias), top), i8x16.eq(v, bs)))) {
      v128.store(dst + <usize>o, v);
      i += 16;
      o += 16;
      continue;
    }
    // A block with something to escape: byte by byte.
    const end = i + 16;
    while (i < end) {
      const w = escapeByte(dst + <usize>o, <u32>load<u8>(src + <usize>i), cap - o);
      if (w == 0) break;
      o += w;
      i++;
    }
    if (i < end) break; // cap reached inside the block
  }
  while (i < len) {
    const w = escapeByte(dst + <usize>o, <u32>load<u8>(src + <usize>i), cap - o);
    if (w == 0) break;
    o += w;
    i++;
  }
  escConsumed = i;
  return o;
}

/**
 * The longest prefix of escaped text `esc` (length `len`) that is at most `limit` bytes and
 * does not split an escape: a backslash within the last three bytes before the cut starts an
 * escape that would be split (literal backslashes are always escaped, so any backslash starts one).
 */
export function cutEscaped(esc: usize, len: i32, limit: i32): i32 {
  if (len <= limit) return len;
  if (limit <= 0) return 0;
  let cut = limit;
  for (let k = 1; k <= 3 && cut - k >= 0; k++) {
    if (load<u8>(esc + <usize>(limit - k)) == 0x5c) {
      cut = limit - k;
      break;
    }
  }
  return cut;
}

/** Number of 0x0a bytes in [src, src+len). */
export function countNewlines(src: usize, len: i32): i32 {
  let n = 0;
  let i = 0;
  const nl = i8x16.splat(0x0a);
  for (; i + 16 <= len; i += 16) {
    n += popcnt<i32>(i8x16.bitmask(i8x16.eq(v128.load(src + <usize>i), nl)));
  }
  for (; i < len; i++) if (load<u8>(src + <usize>i) == 0x0a) n++;
  return n;
}

/** Index of the first 0x0a at or after `from`, or `len` when there is none. */
export function findNewline(src: usize, from: i32, len: i32): i32 {
  let i = from;
  const nl = i8x16.splat(0x0a);
  for (; i + 16 <= len; i += 16) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(src + <usize>i), nl));
    if (m != 0) return i + ctz<i32>(m);
  }
  for (; i < len; i++) if (load<u8>(src + <usize>i) == 0x0a) return i;
  return len;
}
