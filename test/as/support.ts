// Shared helpers for the as-pect specs (imported, not an entry: only *.spec.ts files are).
//
// Why the specs look the way they do:
// * as-pect's own bookkeeping allocates on the stub runtime's heap, which starts at __heap_base
//   (just above 64 KiB) and is never freed: about 380 bytes per `expect` and per `it`. The layout's
//   regions start at REGION_BASE (1 MiB), so a spec that made a few thousand `expect` calls would
//   grow the heap into the target table and the thread slots and corrupt its own inputs. The specs
//   therefore compare in plain loops and make one `expect` per property, on the first failing
//   parameter (-1 when none), and each file ends with heapBelowRegions().
// * AssemblyScript has no closures over locals: a parameterised `it` reads its parameter from a
//   module-level table through a cursor (the tests of a file run in registration order).
import { REGION_BASE } from '../../assembly/layout';

/** Writes the ASCII string `s` at `dst`; returns its length. */
export function putStr(dst: usize, s: string): i32 {
  const n = s.length;
  for (let i = 0; i < n; i++) store<u8>(dst + <usize>i, <u8>s.charCodeAt(i));
  return n;
}

/** First index where memory at `p` differs from the ASCII string `s`, or -1. */
export function diffStr(p: usize, s: string): i32 {
  const n = s.length;
  for (let i = 0; i < n; i++) if (<i32>load<u8>(p + <usize>i) != s.charCodeAt(i)) return i;
  return -1;
}

/** First index where the `n` bytes at `a` and `b` differ, or -1. */
export function diffMem(a: usize, b: usize, n: i32): i32 {
  for (let i = 0; i < n; i++) if (load<u8>(a + <usize>i) != load<u8>(b + <usize>i)) return i;
  return -1;
}

/** First index in [0, n) where the byte at `p` is not `v`, or -1. */
export function diffByte(p: usize, v: u8, n: i32): i32 {
  for (let i = 0; i < n; i++) if (load<u8>(p + <usize>i) != v) return i;
  return -1;
}

function hexNibble(c: i32): u32 {
  return <u32>(c <= 57 ? c - 48 : (c | 0x20) - 87);
}

/** Decodes a hex string into bytes at `dst`; returns the byte count. */
export function putHex(dst: usize, hex: string): i32 {
  const n = hex.length >> 1;
  for (let i = 0; i < n; i++) {
    const hi = hexNibble(hex.charCodeAt(2 * i));
    const lo = hexNibble(hex.charCodeAt(2 * i + 1));
    store<u8>(dst + <usize>i, <u8>((hi << 4) | lo));
  }
  return n;
}

/** Big-endian 16-bit load. */
export function be16(p: usize): u32 {
  return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p + 1);
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function fillRandom(p: usize, n: i32, seed: u32): void {
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    store<u8>(p + <usize>i, <u8>(x >> 24));
  }
}

/** The textbook Internet checksum sum: bytes taken as big-endian 16-bit words (an odd last byte
 *  padded with a zero byte), summed without folding. */
export function naiveSum(p: usize, n: i32): u64 {
  let s: u64 = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) s += <u64>((<u32>load<u8>(p + <usize>i) << 8) | <u32>load<u8>(p + <usize>i + 1));
  if (i < n) s += <u64>(<u32>load<u8>(p + <usize>i) << 8);
  return s;
}

/** End-around-carry fold of a sum to 16 bits (not inverted). */
export function fold(s: u64): u32 {
  while (s > 0xffff) s = (s & 0xffff) + (s >> 16);
  return <u32>s;
}

/** Whether the stub runtime's heap (used by as-pect itself) is still below the layout's regions,
 *  i.e. nothing the spec put there has been overwritten by the test framework. */
export function heapBelowRegions(): bool {
  return heap.alloc(16) + 16 <= REGION_BASE;
}
