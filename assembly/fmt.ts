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

export function decLen(v: u64): i32 {
  let n = 1;
  while (v >= 10) {
    v /= 10;
    n++;
  }
  return n;
}

/** Decimal, no padding; returns the address after it. */
export function putDec(dst: usize, v: u64): usize {
  const n = decLen(v);
  let p = dst + <usize>n;
  do {
    p--;
    store<u8>(p, <u8>(48 + <u32>(v % 10)));
    v /= 10;
  } while (v != 0);
  return dst + <usize>n;
}

/** Decimal, left-padded with `pad` to at least `width` characters. */
export function putDecPadded(dst: usize, v: u64, width: i32, pad: u8): usize {
  const n = decLen(v);
  for (let i = n; i < width; i++) dst = putByte(dst, pad);
  return putDec(dst, v);
}

// Extended-message escaping (wire.md 3.1): bytes < 0x20, >= 0x7f and the backslash become \xHH.
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
 * Sixteen bytes at a time when none of them needs escaping (SIMD compare), which is the
 * common case of log text: the 2,000-byte scenario of bench/write-path measures it.
 */
export function escape(dst: usize, src: usize, len: i32, cap: i32): i32 {
  let i = 0;
  let o = 0;
  const lo = i8x16.splat(0x20);
  const hi = i8x16.splat(0x7e);
  const bs = i8x16.splat(0x5c);
  while (i + 16 <= len && o + 16 <= cap) {
    const v = v128.load(src + <usize>i);
    const bad = v128.or(v128.or(i8x16.lt_u(v, lo), i8x16.gt_u(v, hi)), i8x16.eq(v, bs));
    if (!v128.any_true(bad)) {
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
