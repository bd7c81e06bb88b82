// A module of its own, apart from the core (index.ts): the sum that the package's loader
// (src/faces/load.ts) checks a V8 code cache file by before it gives the file to V8, which in
// Node's builds does not check a cache's bytes and crashes on a damaged one. The loader ran it
// through node:crypto's SHA-1 before; loading node:crypto took 2.2 - 3.7 ms of a process's start
// here, this module 0.5 - 0.7 ms (docs/benchmarks.md, `startup`).
//
// Not a defence against someone who writes the file on purpose (the loader reads only a file of
// this user that no one else may write), but against a file cut short or damaged: the length is
// hashed in, and every step below is a bijection of the state for a given word, so a file that
// differs from the one summed in one 8-byte word always sums differently; in more, the chance
// that it sums the same is about 2^-64.

/** The sum of the bytes [0, len) of this module's own memory (the caller copies them there). */
export function sum(len: usize): u64 {
  let h: u64 = 0x9e3779b97f4a7c15 ^ (len as u64);
  const words = len & ~(<usize>7);
  let i: usize = 0;
  for (; i < words; i += 8) h = mix(h, load<u64>(i));
  for (; i < len; i++) h = mix(h, <u64>load<u8>(i));
  return mix(h, 0);
}

// @ts-ignore: decorator
@inline
function mix(h: u64, w: u64): u64 {
  h = (h ^ w) * 0x100000001b3; // odd: a bijection
  return h ^ (h >> 29); // an xorshift: a bijection
}
