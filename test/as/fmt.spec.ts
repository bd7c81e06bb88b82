// fmt.ts: extended-message escaping (docs/wire.md 3.1), escape-safe truncation (docs/wire.md 3.4),
// decimals, and the newline scans of the basic console path (docs/wire.md 2).
import {
  countNewlines,
  cutEscaped,
  DEC_DIGITS,
  decCached,
  decLen,
  escConsumed,
  escape,
  findNewline,
  putDec,
  putDecPadded,
} from '../../assembly/fmt';
import { THR_DESC, THR_ESC, THR_TEXT } from '../../assembly/layout';
import { threadAt } from '../../assembly/offsets';
import { diffByte, diffMem, diffStr, heapBelowRegions, putStr } from './support';

// Inputs and outputs live in thread slot 0's scratch areas, never on the heap.
const SRC: usize = threadAt(0) + THR_TEXT; // 64 KiB: inputs
const OUT: usize = threadAt(0) + THR_ESC; // 64 KiB: output of the unit under test
const MODEL: usize = threadAt(0) + THR_DESC; // 32 KiB: output of the scalar model
const SENTINEL: u8 = 0xee;

const HEX = '0123456789abcdef';

function special(b: u32): bool {
  return b < 0x20 || b >= 0x7f || b == 0x5c;
}

// ---------------------------------------------------------------- the scalar model of escape()
// Byte by byte, stopping at the first byte whose (escaped) form does not fit in `cap`.
let modelConsumed = 0;
function modelEscape(dst: usize, src: usize, len: i32, cap: i32): i32 {
  let o = 0;
  let i = 0;
  for (; i < len; i++) {
    const b = <u32>load<u8>(src + <usize>i);
    if (special(b)) {
      if (o + 4 > cap) break;
      store<u8>(dst + <usize>o, 0x5c);
      store<u8>(dst + <usize>o + 1, 0x78);
      store<u8>(dst + <usize>o + 2, <u8>HEX.charCodeAt(b >> 4));
      store<u8>(dst + <usize>o + 3, <u8>HEX.charCodeAt(b & 15));
      o += 4;
    } else {
      if (o + 1 > cap) break;
      store<u8>(dst + <usize>o, <u8>b);
      o += 1;
    }
  }
  modelConsumed = i;
  return o;
}

/** Runs escape() and the model on the same input; returns a failure code (0 = same result):
 *  1 length, 2 consumed, 3 bytes, 4 wrote past cap. */
function checkEscape(src: usize, len: i32, cap: i32): i32 {
  memory.fill(OUT, SENTINEL, <usize>cap + 64);
  const o = escape(OUT, src, len, cap);
  const consumed = escConsumed;
  const m = modelEscape(MODEL, src, len, cap);
  if (o != m) return 1;
  if (consumed != modelConsumed) return 2;
  if (diffMem(OUT, MODEL, o) >= 0) return 3;
  if (diffByte(OUT + <usize>cap, SENTINEL, 64) >= 0) return 4;
  return 0;
}

/** A clean (never escaped) byte for index i: cycles through 0x20..0x7e without the backslash. */
function cleanByte(i: i32): u8 {
  let b = 0x20 + (i * 7) % 95;
  if (b == 0x5c) b = 0x41;
  return <u8>b;
}

// ---------------------------------------------------------------- parameter tables
const BYTE_CLASSES: u32[] = [0x00, 0x1f, 0x20, 0x7e, 0x5c, 0x5c, 0x7f, 0xff]; // [lo, hi] pairs
let classCursor = 0;

const RUN_OFFSETS: i32[] = [0, 3]; // aligned and unaligned source
let lenCursor = 0;
let posCursor = 0;
// Bytes put in a clean 48-byte buffer: the escaped ones at the edges of each range, and the
// unescaped neighbours of each edge (a signed or off-by-one SIMD compare gets one of them wrong).
const PROBES: u8[] = [0x00, 0x0a, 0x1f, 0x20, 0x21, 0x5b, 0x5c, 0x5d, 0x7e, 0x7f, 0x80, 0xc3, 0xfe, 0xff];

describe('fmt.escape', () => {
  for (let c = 0; c < BYTE_CLASSES.length; c += 2) {
    const lo = BYTE_CLASSES[c];
    const hi = BYTE_CLASSES[c + 1];
    it('single byte, every value in 0x' + lo.toString(16) + '..0x' + hi.toString(16), () => {
      const lo = BYTE_CLASSES[classCursor];
      const hi = BYTE_CLASSES[classCursor + 1];
      classCursor += 2;
      let bad = -1;
      for (let b = lo; b <= hi; b++) {
        store<u8>(SRC, <u8>b);
        memory.fill(OUT, SENTINEL, 8);
        const o = escape(OUT, SRC, 1, 16);
        let ok = escConsumed == 1;
        if (special(b)) {
          // \xHH with two lowercase hex digits
          ok = ok && o == 4 && load<u8>(OUT) == 0x5c && load<u8>(OUT + 1) == 0x78;
          ok = ok && <i32>load<u8>(OUT + 2) == HEX.charCodeAt(b >> 4) && <i32>load<u8>(OUT + 3) == HEX.charCodeAt(b & 15);
        } else {
          ok = ok && o == 1 && <u32>load<u8>(OUT) == b;
        }
        ok = ok && load<u8>(OUT + <usize>o) == SENTINEL;
        if (!ok && bad < 0) bad = <i32>b;
      }
      expect<i32>(bad).toBe(-1, 'first byte value escaped wrongly');
    });
  }

  it('single bytes: 0x0a is \\x0a, 0x5c is \\x5c, 0xc3 0xa9 (UTF-8 e-acute) is \\xc3\\xa9', () => {
    store<u8>(SRC, 0x0a);
    expect<i32>(escape(OUT, SRC, 1, 16)).toBe(4);
    expect<i32>(diffStr(OUT, '\\x0a')).toBe(-1);
    store<u8>(SRC, 0x5c);
    expect<i32>(escape(OUT, SRC, 1, 16)).toBe(4);
    expect<i32>(diffStr(OUT, '\\x5c')).toBe(-1);
    store<u8>(SRC, 0xc3);
    store<u8>(SRC + 1, 0xa9);
    expect<i32>(escape(OUT, SRC, 2, 16)).toBe(8);
    expect<i32>(diffStr(OUT, '\\xc3\\xa9')).toBe(-1);
  });

  it('every byte value inside a clean 48-byte run (at 0, 7, 15, 16, 31, 47)', () => {
    let bad = -1;
    for (let b = 0; b < 256 && bad < 0; b++) {
      for (let k = 0; k < 6; k++) {
        const at = k == 0 ? 0 : k == 1 ? 7 : k == 2 ? 15 : k == 3 ? 16 : k == 4 ? 31 : 47;
        for (let i = 0; i < 48; i++) store<u8>(SRC + <usize>i, cleanByte(i));
        store<u8>(SRC + <usize>at, <u8>b);
        if (checkEscape(SRC, 48, 4 * 48) != 0) {
          bad = b * 100 + at;
          break;
        }
      }
    }
    expect<i32>(bad).toBe(-1, 'first failure: byte * 100 + position');
  });

  for (let len = 0; len <= 70; len++) {
    it('clean run, len ' + len.toString() + ' (source offsets 0 and 3)', () => {
      const len = lenCursor++;
      let fail = 0;
      for (let k = 0; k < RUN_OFFSETS.length && fail == 0; k++) {
        const src = SRC + <usize>RUN_OFFSETS[k];
        for (let i = 0; i < len; i++) store<u8>(src + <usize>i, cleanByte(i));
        store<u8>(src + <usize>len, 0x0a); // a special byte just past the input must not be read
        fail = checkEscape(src, len, 4 * len + 16);
        if (fail == 0 && escape(OUT, src, len, 4 * len + 16) != len) fail = 5;
        if (fail == 0 && diffMem(OUT, src, len) >= 0) fail = 6;
      }
      expect<i32>(fail).toBe(0, '1 length, 2 consumed, 3 bytes, 4 past cap, 5 not len, 6 not a copy');
    });
  }

  for (let pos = 0; pos < 48; pos++) {
    it('48-byte buffer, one probe byte at position ' + pos.toString(), () => {
      const pos = posCursor++;
      let bad = -1;
      for (let k = 0; k < PROBES.length; k++) {
        for (let i = 0; i < 48; i++) store<u8>(SRC + <usize>i, cleanByte(i + 1));
        store<u8>(SRC + <usize>pos, PROBES[k]);
        const fail = checkEscape(SRC, 48, 4 * 48);
        if (fail != 0 && bad < 0) bad = <i32>PROBES[k] * 10 + fail;
      }
      expect<i32>(bad).toBe(-1, 'first failure: probe byte * 10 + code (1 length, 2 consumed, 3 bytes, 4 past cap)');
    });
  }

  it('cap: clean 40-byte run, every cap 0..41: writes min(cap, 40), consumes as much', () => {
    for (let i = 0; i < 40; i++) store<u8>(SRC + <usize>i, cleanByte(i));
    let bad = -1;
    for (let cap = 0; cap <= 41 && bad < 0; cap++) {
      memory.fill(OUT, SENTINEL, 128);
      const o = escape(OUT, SRC, 40, cap);
      const want = cap < 40 ? cap : 40;
      if (o != want || escConsumed != want || diffMem(OUT, SRC, o) >= 0 || diffByte(OUT + <usize>cap, SENTINEL, 64) >= 0) bad = cap;
    }
    expect<i32>(bad).toBe(-1, 'first failing cap');
  });

  it('cap: mixed 72-byte input, every cap 0..full+2: never over cap, never a partial escape, escConsumed right', () => {
    // Escapes at the start, inside and across 16-byte blocks, at the end; clean blocks between.
    for (let i = 0; i < 72; i++) store<u8>(SRC + <usize>i, cleanByte(i));
    const at: i32[] = [0, 3, 16, 17, 18, 19, 30, 47, 48, 70, 71];
    const specials: u8[] = [0x0a, 0x5c, 0x80, 0x00, 0xff, 0x1f, 0x7f, 0xc3, 0x5c, 0x01, 0x0a];
    for (let k = 0; k < at.length; k++) store<u8>(SRC + <usize>at[k], specials[k]);
    const full = modelEscape(MODEL, SRC, 72, 1 << 20);
    let bad = -1;
    let partial = -1;
    let overCap = -1;
    let consumed = -1;
    for (let cap = 0; cap <= full + 2; cap++) {
      const fail = checkEscape(SRC, 72, cap);
      const o = escape(OUT, SRC, 72, cap);
      if (fail != 0 && bad < 0) bad = cap;
      if (o > cap && overCap < 0) overCap = cap;
      // Every backslash in the output starts a complete \xHH.
      for (let j = 0; j < o; j++) if (load<u8>(OUT + <usize>j) == 0x5c && (j + 4 > o || load<u8>(OUT + <usize>j + 1) != 0x78)) partial = cap;
      // escConsumed input bytes escape to exactly the output.
      if (modelEscape(MODEL, SRC, escConsumed, 1 << 20) != o && consumed < 0) consumed = cap;
    }
    expect<i32>(overCap).toBe(-1, 'first cap exceeded');
    expect<i32>(partial).toBe(-1, 'first cap with a partial escape');
    expect<i32>(consumed).toBe(-1, 'first cap where escConsumed does not match the output');
    expect<i32>(bad).toBe(-1, 'first cap where escape() differs from the scalar model');
  });

  it('cap: an escape that does not fit stops the output there (a later clean byte is not taken)', () => {
    putStr(SRC, 'ab');
    store<u8>(SRC + 2, 0x0a);
    putStr(SRC + 3, 'cd');
    for (let cap = 2; cap <= 5; cap++) {
      const o = escape(OUT, SRC, 5, cap);
      expect<i32>(o).toBe(2, 'cap ' + cap.toString());
      expect<i32>(escConsumed).toBe(2, 'cap ' + cap.toString());
    }
    expect<i32>(escape(OUT, SRC, 5, 6)).toBe(6);
    expect<i32>(escConsumed).toBe(3);
    expect<i32>(diffStr(OUT, 'ab\\x0a')).toBe(-1);
  });

  it('cap 0 and len 0 write nothing', () => {
    memory.fill(OUT, SENTINEL, 32);
    store<u8>(SRC, 0x41);
    expect<i32>(escape(OUT, SRC, 1, 0)).toBe(0);
    expect<i32>(escConsumed).toBe(0);
    expect<i32>(escape(OUT, SRC, 0, 16)).toBe(0);
    expect<i32>(escConsumed).toBe(0);
    expect<i32>(diffByte(OUT, SENTINEL, 32)).toBe(-1);
  });
});

// ---------------------------------------------------------------- cutEscaped
const ESC_AT: i32[] = [0, 1, 2, 3, 5, 16];
let escAtCursor = 0;

describe('fmt.cutEscaped', () => {
  it('returns len when len <= limit (len 10: limit 10, 11, 8191; len 0: limit 0)', () => {
    putStr(OUT, 'abc\\x0adef'); // 10 bytes, the escape is complete
    expect<i32>(cutEscaped(OUT, 10, 10)).toBe(10);
    expect<i32>(cutEscaped(OUT, 10, 11)).toBe(10);
    expect<i32>(cutEscaped(OUT, 10, 8191)).toBe(10);
    expect<i32>(cutEscaped(OUT, 0, 0)).toBe(0);
  });

  it('limit <= 0 gives 0 (limit 0, -1, -100)', () => {
    putStr(OUT, 'abcdef');
    expect<i32>(cutEscaped(OUT, 6, 0)).toBe(0);
    expect<i32>(cutEscaped(OUT, 6, -1)).toBe(0);
    expect<i32>(cutEscaped(OUT, 6, -100)).toBe(0);
  });

  it('clean text is cut exactly at the limit (len 20, every limit 1..19)', () => {
    putStr(OUT, 'abcdefghijklmnopqrst');
    let bad = -1;
    for (let limit = 1; limit < 20; limit++) if (cutEscaped(OUT, 20, limit) != limit && bad < 0) bad = limit;
    expect<i32>(bad).toBe(-1, 'first limit not kept');
  });

  for (let k = 0; k < ESC_AT.length; k++) {
    it('escape at ' + ESC_AT[k].toString() + ': limit on each of its 4 bytes, before and after it', () => {
      const p = ESC_AT[escAtCursor++];
      // p clean bytes, \x0a, then 8 clean bytes
      for (let i = 0; i < p; i++) store<u8>(OUT + <usize>i, cleanByte(i));
      putStr(OUT + <usize>p, '\\x0a');
      putStr(OUT + <usize>p + 4, 'ABCDEFGH');
      const len = p + 12;
      expect<i32>(cutEscaped(OUT, len, p)).toBe(p, 'limit just before the escape');
      expect<i32>(cutEscaped(OUT, len, p + 1)).toBe(p, 'limit after the backslash');
      expect<i32>(cutEscaped(OUT, len, p + 2)).toBe(p, "limit after the 'x'");
      expect<i32>(cutEscaped(OUT, len, p + 3)).toBe(p, 'limit after the first hex digit');
      expect<i32>(cutEscaped(OUT, len, p + 4)).toBe(p + 4, 'limit after the whole escape');
      expect<i32>(cutEscaped(OUT, len, p + 5)).toBe(p + 5, 'limit one byte past the escape');
    });
  }

  it('adjacent escapes \\x0a\\x5c\\xff: every limit 0..12 lands on a boundary', () => {
    putStr(OUT, '\\x0a\\x5c\\xff');
    let bad = -1;
    for (let limit = 0; limit < 12; limit++) {
      if (cutEscaped(OUT, 12, limit) != (limit >> 2) << 2 && bad < 0) bad = limit;
    }
    expect<i32>(bad).toBe(-1, 'first failing limit');
    expect<i32>(cutEscaped(OUT, 12, 12)).toBe(12);
  });

  it('every limit over escaped mixed text: a boundary, at most the limit, at most 3 below it', () => {
    for (let i = 0; i < 200; i++) store<u8>(SRC + <usize>i, i % 5 == 0 || i % 17 == 3 ? <u8>(i * 13) : cleanByte(i));
    const len = modelEscape(MODEL, SRC, 200, 1 << 20);
    let bad = -1;
    for (let limit = 0; limit <= len + 2 && bad < 0; limit++) {
      const cut = cutEscaped(MODEL, len, limit);
      const want = limit >= len ? len : limit;
      // a boundary: no backslash in the 3 bytes before the cut
      let boundary = true;
      for (let k = 1; k <= 3; k++) if (cut - k >= 0 && load<u8>(MODEL + <usize>(cut - k)) == 0x5c) boundary = false;
      if (cut > want || want - cut > 3 || !boundary) bad = limit;
      // the longest such prefix: when want itself is a boundary, it is kept
      let wantBoundary = true;
      for (let k = 1; k <= 3; k++) if (want - k >= 0 && load<u8>(MODEL + <usize>(want - k)) == 0x5c) wantBoundary = false;
      if (wantBoundary && cut != want) bad = limit;
    }
    expect<i32>(bad).toBe(-1, 'first failing limit');
  });
});

// ---------------------------------------------------------------- decimals
const DEC_VALUES: u64[] = [0, 9, 10, 99, 100, 4294967295, 18446744073709551615];
const DEC_TEXT: string[] = ['0', '9', '10', '99', '100', '4294967295', '18446744073709551615'];
let decCursor = 0;

describe('fmt.putDec / decLen', () => {
  for (let k = 0; k < DEC_VALUES.length; k++) {
    it('value ' + DEC_TEXT[k], () => {
      const v = DEC_VALUES[decCursor];
      const s = DEC_TEXT[decCursor];
      decCursor++;
      memory.fill(OUT, SENTINEL, 32);
      expect<i32>(decLen(v)).toBe(s.length, 'decLen');
      expect<usize>(putDec(OUT, v)).toBe(OUT + <usize>s.length, 'returned address');
      expect<i32>(diffStr(OUT, s)).toBe(-1, 'digits');
      expect<u8>(load<u8>(OUT + <usize>s.length)).toBe(SENTINEL, 'byte after the digits');
    });
  }
});

// decCached: a reliable target's own seq, stepped in place from one message to the next. Its
// digits must always be putDec's, across every carry, a jump, a step back and a fresh cache.
const CACHE: usize = threadAt(0) + THR_TEXT + 32768; // 36 bytes of SRC's second half

function cachedIsPutDec(v: u64): i32 {
  const n = decCached(CACHE, v);
  const m = <i32>(putDec(MODEL, v) - MODEL);
  if (n != m) return -2;
  return diffMem(CACHE + DEC_DIGITS, MODEL, n);
}

describe('fmt.decCached', () => {
  it('stepping 0 to 100,010 by one: every value putDec\'s digits (9 -> 10, 99 -> 100 ... carries)', () => {
    memory.fill(CACHE, 0, 36); // a fresh target: no digits yet
    let bad: i64 = -1;
    for (let v: u64 = 0; v <= 100010 && bad < 0; v++) if (cachedIsPutDec(v) != -1) bad = <i64>v;
    expect<i64>(bad).toBe(-1, 'first value whose digits differ');
  });
  it('the same value twice, a jump, a step back, 2^53 - 1 and 2^64 - 1 stepped from below', () => {
    memory.fill(CACHE, 0, 36);
    const values: u64[] = [41, 41, 42, 1000000, 999999, 1000000, 9007199254740990, 9007199254740991, 18446744073709551614, 18446744073709551615, 0, 1];
    let bad = -1;
    for (let i = 0; i < values.length && bad < 0; i++) if (cachedIsPutDec(values[i]) != -1) bad = i;
    expect<i32>(bad).toBe(-1, 'first index whose digits differ');
  });
});

describe('fmt.putDecPadded', () => {
  it('"[    7.000001]" (7 in width 5 with spaces, 1 in width 6 with zeros)', () => {
    let p = OUT;
    store<u8>(p++, 0x5b);
    p = putDecPadded(p, 7, 5, 0x20);
    store<u8>(p++, 0x2e);
    p = putDecPadded(p, 1, 6, 0x30);
    store<u8>(p++, 0x5d);
    expect<i32>(<i32>(p - OUT)).toBe(14);
    expect<i32>(diffStr(OUT, '[    7.000001]')).toBe(-1);
  });

  it('"[   12.345678]" (docs/wire.md 2: tsUsec 12345678)', () => {
    const ts: u64 = 12345678;
    let p = OUT;
    store<u8>(p++, 0x5b);
    p = putDecPadded(p, ts / 1000000, 5, 0x20);
    store<u8>(p++, 0x2e);
    p = putDecPadded(p, ts % 1000000, 6, 0x30);
    store<u8>(p++, 0x5d);
    expect<i32>(<i32>(p - OUT)).toBe(14);
    expect<i32>(diffStr(OUT, '[   12.345678]')).toBe(-1);
  });

  it('value as wide as or wider than the width is not padded (12345 w5, 1234567 w5, 7 w0)', () => {
    expect<usize>(putDecPadded(OUT, 12345, 5, 0x20)).toBe(OUT + 5);
    expect<i32>(diffStr(OUT, '12345')).toBe(-1);
    expect<usize>(putDecPadded(OUT, 1234567, 5, 0x20)).toBe(OUT + 7);
    expect<i32>(diffStr(OUT, '1234567')).toBe(-1);
    expect<usize>(putDecPadded(OUT, 7, 0, 0x20)).toBe(OUT + 1);
    expect<i32>(diffStr(OUT, '7')).toBe(-1);
    expect<usize>(putDecPadded(OUT, 0, 6, 0x30)).toBe(OUT + 6);
    expect<i32>(diffStr(OUT, '000000')).toBe(-1);
  });
});

// ---------------------------------------------------------------- newline scans
const NL_PATTERNS = 10;
/** Whether byte i of a buffer of `len` bytes is a newline under pattern `p`. */
function isNl(p: i32, i: i32, len: i32): bool {
  switch (p) {
    case 0: return false;
    case 1: return true;
    case 2: return i % 3 == 0;
    case 3: return i == 0;
    case 4: return i == 15 || i == 16;
    case 5: return i == 31 || i == 32 || i == 47 || i == 48;
    case 6: return i == len - 1;
    case 7: return i % 16 == 15;
    case 8: return i >= 64;
    default: return i % 7 == 5;
  }
}
// Non-newline bytes: near misses of 0x0a (0x0b, 0x8a, 0x09, 0x1a, 0x0d, 0x00, 0xff, 0x4a).
const NEAR: u8[] = [0x0b, 0x8a, 0x09, 0x1a, 0x0d, 0x00, 0xff, 0x4a];
const NL_OFFSETS: i32[] = [0, 5];
let nlCursor = 0;

describe('fmt.countNewlines / findNewline', () => {
  for (let len = 0; len <= 70; len++) {
    it('len ' + len.toString() + ', ' + NL_PATTERNS.toString() + ' newline patterns, source offsets 0 and 5, every from', () => {
      const len = nlCursor++;
      let badCount = -1;
      let badFind = -1;
      for (let o = 0; o < NL_OFFSETS.length; o++) {
        const src = SRC + <usize>NL_OFFSETS[o];
        for (let p = 0; p < NL_PATTERNS; p++) {
          let n = 0;
          for (let i = 0; i < len; i++) {
            const nl = isNl(p, i, len);
            store<u8>(src + <usize>i, nl ? 0x0a : NEAR[i & 7]);
            if (nl) n++;
          }
          // Newlines right after the input: a scan that reads past len would count them.
          memory.fill(src + <usize>len, 0x0a, 32);
          if (countNewlines(src, len) != n && badCount < 0) badCount = p;
          for (let from = 0; from <= len; from++) {
            let want = len;
            for (let i = from; i < len; i++) {
              if (load<u8>(src + <usize>i) == 0x0a) {
                want = i;
                break;
              }
            }
            if (findNewline(src, from, len) != want && badFind < 0) badFind = p * 1000 + from;
          }
        }
      }
      expect<i32>(badCount).toBe(-1, 'countNewlines: first failing pattern');
      expect<i32>(badFind).toBe(-1, 'findNewline: first failing pattern * 1000 + from');
    });
  }
});

describe('fmt spec hygiene', () => {
  it("as-pect's heap stayed below REGION_BASE (the scratch areas were not overwritten)", () => {
    expect<bool>(heapBelowRegions()).toBe(true);
  });
});
