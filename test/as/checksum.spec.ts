// checksum.ts: the RFC 1071 Internet checksum (folded, not inverted) against a naive model that
// sums big-endian byte pairs and folds the carries at the end.
import { csumAdd, csumBytes, csumScalar, csumSimd } from '../../assembly/checksum';
import { THR_TEXT } from '../../assembly/layout';
import { threadAt } from '../../assembly/offsets';
import { fillRandom, fold, heapBelowRegions, naiveSum, putHex } from './support';

const BUF: usize = threadAt(0) + THR_TEXT; // 64 KiB of input, 64 KiB + 8 KiB of room after it
const MAX_LEN = 1501;

function naive(p: usize, n: i32): u32 {
  return fold(naiveSum(p, n));
}

/** First length in 0..max (step `step`) where csumSimd (simd = true) or csumScalar differs from
 *  the model over the bytes at p, or -1. */
function firstBadLen(p: usize, max: i32, step: i32, simd: bool): i32 {
  for (let len = 0; len <= max; len += step) {
    const got = simd ? csumSimd(p, len) : csumScalar(p, len);
    if (got != naive(p, len)) return len;
  }
  return -1;
}

const OFFSETS: i32[] = [0, 1, 2, 3];
let offCursor = 0;
let offCursor2 = 0;

describe('checksum.csumSimd', () => {
  for (let k = 0; k < OFFSETS.length; k++) {
    it('pseudo-random bytes, every length 0..1501, start offset ' + OFFSETS[k].toString(), () => {
      const p = BUF + <usize>OFFSETS[offCursor++];
      fillRandom(BUF, 2048, 0x9e3779b9);
      expect<i32>(firstBadLen(p, MAX_LEN, 1, true)).toBe(-1, 'first failing length');
    });
  }

  it('all-0xff bytes, every length 0..1501', () => {
    memory.fill(BUF, 0xff, 2048);
    expect<i32>(firstBadLen(BUF, MAX_LEN, 1, true)).toBe(-1, 'first failing length');
  });

  it('all-0xff and pseudo-random bytes, every 251st length up to 65535 (largest UDP datagram)', () => {
    memory.fill(BUF, 0xff, 65536);
    expect<i32>(firstBadLen(BUF, 65535, 251, true)).toBe(-1, 'all-0xff: first failing length');
    expect<u32>(csumSimd(BUF, 65535)).toBe(naive(BUF, 65535), 'all-0xff, 65535 bytes');
    fillRandom(BUF, 65536, 12345);
    expect<i32>(firstBadLen(BUF, 65535, 251, true)).toBe(-1, 'random: first failing length');
    expect<u32>(csumSimd(BUF, 65535)).toBe(naive(BUF, 65535), 'random, 65535 bytes');
  });

  it('all-zero bytes sum to 0 (length 0, 1, 32, 1500)', () => {
    memory.fill(BUF, 0, 2048);
    expect<u32>(csumSimd(BUF, 0)).toBe(0);
    expect<u32>(csumSimd(BUF, 1)).toBe(0);
    expect<u32>(csumSimd(BUF, 32)).toBe(0);
    expect<u32>(csumSimd(BUF, 1500)).toBe(0);
  });

  it('RFC 1071 example: 00 01 f2 03 f4 f5 f6 f7 folds to 0xddf2', () => {
    putHex(BUF, '0001f203f4f5f6f7');
    expect<u32>(csumSimd(BUF, 8)).toBe(0xddf2);
  });

  it('RFC 1071 example repeated 4 times (32 bytes: one SIMD block) folds to 0x77cb', () => {
    // 4 * 0x2ddf0 = 0xb77c0 -> 0x77c0 + 0xb
    for (let i = 0; i < 4; i++) putHex(BUF + <usize>(8 * i), '0001f203f4f5f6f7');
    expect<u32>(csumSimd(BUF, 32)).toBe(0x77cb);
  });

  it('odd lengths: ab -> 0xab00, 01 02 03 -> 0x0402, 33 bytes of 0x01 -> 0x1110', () => {
    putHex(BUF, 'ab');
    expect<u32>(csumSimd(BUF, 1)).toBe(0xab00);
    putHex(BUF, '010203');
    expect<u32>(csumSimd(BUF, 3)).toBe(0x0402);
    memory.fill(BUF, 0x01, 33);
    // 16 words of 0x0101 + 0x0100 = 0x1010 + 0x0100
    expect<u32>(csumSimd(BUF, 33)).toBe(0x1110);
  });
});

describe('checksum.csumScalar', () => {
  for (let k = 0; k < OFFSETS.length; k++) {
    it('pseudo-random bytes, every length 0..1501, start offset ' + OFFSETS[k].toString(), () => {
      const p = BUF + <usize>OFFSETS[offCursor2++];
      fillRandom(BUF, 2048, 0x85ebca6b);
      expect<i32>(firstBadLen(p, MAX_LEN, 1, false)).toBe(-1, 'first failing length');
    });
  }

  it('all-0xff bytes, every length 0..1501', () => {
    memory.fill(BUF, 0xff, 2048);
    expect<i32>(firstBadLen(BUF, MAX_LEN, 1, false)).toBe(-1, 'first failing length');
  });

  it('RFC 1071 example: 00 01 f2 03 f4 f5 f6 f7 folds to 0xddf2', () => {
    putHex(BUF, '0001f203f4f5f6f7');
    expect<u32>(csumScalar(BUF, 8)).toBe(0xddf2);
  });

  it('odd lengths: ab -> 0xab00, 01 02 03 -> 0x0402', () => {
    putHex(BUF, 'ab');
    expect<u32>(csumScalar(BUF, 1)).toBe(0xab00);
    putHex(BUF, '010203');
    expect<u32>(csumScalar(BUF, 3)).toBe(0x0402);
  });

  it('equals csumSimd for every length 0..1501 (pseudo-random bytes)', () => {
    fillRandom(BUF, 2048, 777);
    let bad = -1;
    for (let len = 0; len <= MAX_LEN; len++) if (csumScalar(BUF, len) != csumSimd(BUF, len) && bad < 0) bad = len;
    expect<i32>(bad).toBe(-1, 'first failing length');
  });
});

describe('checksum.csumAdd / csumBytes', () => {
  it('folds the carry: 0xffff + 0x0001 = 0x0001, 0x8000 + 0x8000 = 0x0001, 0xffff + 0xffff = 0xffff', () => {
    expect<u32>(csumAdd(0xffff, 0x0001)).toBe(0x0001);
    expect<u32>(csumAdd(0x8000, 0x8000)).toBe(0x0001);
    expect<u32>(csumAdd(0xffff, 0xffff)).toBe(0xffff);
    expect<u32>(csumAdd(0xfffe, 0x0001)).toBe(0xffff);
  });

  it('without a carry it is a plain sum: 0x1234 + 0x4321 = 0x5555, 0 + 0 = 0, 0 + 0xffff = 0xffff', () => {
    expect<u32>(csumAdd(0x1234, 0x4321)).toBe(0x5555);
    expect<u32>(csumAdd(0, 0)).toBe(0);
    expect<u32>(csumAdd(0, 0xffff)).toBe(0xffff);
  });

  it('adding the sums of two even-length halves equals the sum of the whole (every split of 64 bytes)', () => {
    fillRandom(BUF, 64, 4242);
    let bad = -1;
    for (let cut = 0; cut <= 64; cut += 2) {
      if (csumAdd(csumSimd(BUF, cut), csumSimd(BUF + <usize>cut, 64 - cut)) != naive(BUF, 64) && bad < 0) bad = cut;
    }
    expect<i32>(bad).toBe(-1, 'first failing split');
  });

  it('csumBytes(p, n, init) = csumAdd(sum of the bytes, init) (n 4 and 16, init 0, 17, 0xffff)', () => {
    fillRandom(BUF, 16, 99);
    expect<u32>(csumBytes(BUF, 4, 0)).toBe(naive(BUF, 4));
    expect<u32>(csumBytes(BUF, 16, 17)).toBe(fold(naiveSum(BUF, 16) + 17));
    expect<u32>(csumBytes(BUF, 16, 0xffff)).toBe(fold(naiveSum(BUF, 16) + 0xffff));
  });
});

describe('checksum spec hygiene', () => {
  it("as-pect's heap stayed below REGION_BASE (the input buffer was not overwritten)", () => {
    expect<bool>(heapBelowRegions()).toBe(true);
  });
});
