// ring.ts: the transmit ring's producer side (layout.ts "transmit ring"), over a memory laid out
// by mem_init/mem_attach (index.ts). The consumer is simulated by storing RING_TAIL.
import { mem_attach, mem_init } from '../../assembly/index';
import {
  E_BADARG,
  GEO_MEM_END,
  GEO_RING_SIZE,
  HDR_MAGIC,
  K_DATAGRAM,
  K_FRAME,
  K_PAD,
  MAGIC,
  RING_HEAD,
  RING_OFF,
  RING_SLEEPING,
  RING_TAIL,
  RING_WAKE,
  SLOT_GEN,
  SLOT_HDR,
  SLOT_KIND,
  SLOT_LEN,
  SLOT_AUX,
  SLOT_TARGET,
  THR_TEXT,
} from '../../assembly/layout';
import { ringBegin, ringCursor, ringFits, ringPublish, ringReady, slotBegin } from '../../assembly/ring';
import { threadAt } from '../../assembly/offsets';
import { heapBelowRegions } from './support';

const R: u64 = 64 << 10; // RING_MIN: small, so that the specs wrap it many times
const MASK: u64 = R - 1;
const SENTINEL: u8 = 0xee;

/** Lays out the memory once per file (mem_init refuses a second time) and attaches. */
function setup(): i32 {
  if (load<u32>(HDR_MAGIC) == 0) {
    const need = RING_OFF + <usize>R;
    const have = <usize>memory.size() << 16;
    if (have < need) memory.grow(<i32>((need - have + 0xffff) >> 16));
    const r = mem_init(<u32>R, 8191, 0, 1, 1);
    if (r != 0) return r;
  }
  return mem_attach(1);
}

function setPositions(head: u64, tail: u64): void {
  atomic.store<u64>(RING_HEAD, head);
  atomic.store<u64>(RING_TAIL, tail);
}

@inline function at(pos: u64): usize {
  return RING_OFF + <usize>(pos & MASK);
}

@inline function slotBytes(len: i32): u64 {
  return 16 + ((<u64>len + 15) & ~15);
}

describe('index.mem_init / mem_attach (ring geometry)', () => {
  it('lays out a 64 KiB ring: magic, GEO_RING_SIZE, GEO_MEM_END; attach makes the ring ready', () => {
    expect<i32>(setup()).toBe(0);
    expect<u32>(load<u32>(HDR_MAGIC)).toBe(MAGIC);
    expect<u32>(load<u32>(GEO_RING_SIZE)).toBe(<u32>R);
    expect<u32>(load<u32>(GEO_MEM_END)).toBe(<u32>(RING_OFF + <usize>R));
    expect<bool>(ringReady()).toBe(true);
    expect<usize>(RING_OFF & 15).toBe(0, 'the ring starts 16-byte aligned');
  });

  it('refuses a second init (E_BADARG), a size that is not a power of two, and one below RING_MIN', () => {
    expect<i32>(setup()).toBe(0);
    expect<i32>(mem_init(<u32>R, 8191, 0, 1, 1)).toBe(E_BADARG);
    expect<i32>(mem_init(<u32>R + 16, 8191, 0, 1, 1)).toBe(E_BADARG);
    expect<i32>(mem_init(<u32>R >> 1, 8191, 0, 1, 1)).toBe(E_BADARG);
    expect<u32>(load<u32>(GEO_RING_SIZE)).toBe(<u32>R, 'the geometry is unchanged');
  });
});

describe('ring.slotBegin', () => {
  it('slots are 16-byte aligned and contiguous, header per SLOT_*, for payload lengths 0..40', () => {
    setup();
    const start: u64 = 5 * R;
    setPositions(start, start);
    ringBegin();
    let pos = start;
    let bad = -1;
    for (let len = 0; len <= 40; len++) {
      const p = slotBegin(3, K_DATAGRAM, 0xabcdef01, len);
      const h = at(pos);
      let ok = p == h + SLOT_HDR && (p & 15) == 0;
      ok = ok && load<u32>(h + SLOT_LEN) == <u32>len && load<u16>(h + SLOT_TARGET) == 3;
      ok = ok && load<u16>(h + SLOT_KIND) == K_DATAGRAM && load<u32>(h + SLOT_GEN) == 0xabcdef01;
      ok = ok && load<u32>(h + SLOT_AUX) == <u32>pos;
      pos += slotBytes(len);
      ok = ok && ringCursor() == pos;
      if (!ok && bad < 0) bad = len;
    }
    expect<i32>(bad).toBe(-1, 'first failing payload length');
  });

  it('target and kind are u16, gen u32: target 63, K_FRAME, gen 0xffffffff', () => {
    setup();
    setPositions(0, 0);
    ringBegin();
    const p = slotBegin(63, K_FRAME, 0xffffffff, 1062);
    const h = p - SLOT_HDR;
    expect<usize>(h).toBe(RING_OFF);
    expect<u32>(load<u32>(h + SLOT_LEN)).toBe(1062);
    expect<u16>(load<u16>(h + SLOT_TARGET)).toBe(63);
    expect<u16>(load<u16>(h + SLOT_KIND)).toBe(K_FRAME);
    expect<u32>(load<u32>(h + SLOT_GEN)).toBe(0xffffffff);
    expect<u32>(load<u32>(h + SLOT_AUX)).toBe(0);
    expect<u64>(ringCursor()).toBe(16 + 1072);
  });

  it('a slot that would cross the end is preceded by a K_PAD slot to the end and starts at offset 0 (head at R-48, len 40)', () => {
    setup();
    const head: u64 = 3 * R - 48;
    setPositions(head, head);
    memory.fill(RING_OFF, SENTINEL, 64);
    ringBegin();
    const p = slotBegin(7, K_DATAGRAM, 9, 40);
    const pad = at(head);
    expect<u32>(load<u32>(pad + SLOT_LEN)).toBe(32, 'PAD: bytes to skip after its header');
    expect<u16>(load<u16>(pad + SLOT_TARGET)).toBe(0xffff, 'PAD target');
    expect<u16>(load<u16>(pad + SLOT_KIND)).toBe(K_PAD);
    expect<u32>(load<u32>(pad + SLOT_GEN)).toBe(0);
    expect<u32>(load<u32>(pad + SLOT_AUX)).toBe(<u32>head);
    expect<usize>(p).toBe(RING_OFF + SLOT_HDR, 'the slot starts at offset 0');
    expect<u32>(load<u32>(RING_OFF + SLOT_AUX)).toBe(<u32>(3 * R));
    expect<u32>(load<u32>(RING_OFF + SLOT_LEN)).toBe(40);
    expect<u64>(ringCursor()).toBe(3 * R + 64);
  });

  it('a slot that ends exactly at the end of the ring needs no PAD (head at R-48, len 32)', () => {
    setup();
    const head: u64 = 3 * R - 48;
    setPositions(head, head);
    memory.fill(RING_OFF, SENTINEL, 64);
    ringBegin();
    const p = slotBegin(7, K_DATAGRAM, 9, 32);
    expect<usize>(p).toBe(at(head) + SLOT_HDR);
    expect<u16>(load<u16>(at(head) + SLOT_KIND)).toBe(K_DATAGRAM);
    expect<u64>(ringCursor()).toBe(3 * R, 'the next slot goes at offset 0');
    expect<u8>(load<u8>(RING_OFF)).toBe(SENTINEL, 'offset 0 untouched');
  });

  it('the smallest PAD is a bare header: head at R-16, len 1', () => {
    setup();
    const head: u64 = 2 * R - 16;
    setPositions(head, head);
    ringBegin();
    const p = slotBegin(1, K_DATAGRAM, 1, 1);
    expect<u16>(load<u16>(at(head) + SLOT_KIND)).toBe(K_PAD);
    expect<u32>(load<u32>(at(head) + SLOT_LEN)).toBe(0);
    expect<usize>(p).toBe(RING_OFF + SLOT_HDR);
    expect<u64>(ringCursor()).toBe(2 * R + 32);
  });

  it('SLOT_AUX is the low 32 bits of the position across 2^32 (PAD at 2^32-48, slot at 2^32)', () => {
    setup();
    const head: u64 = 0x100000000 - 48;
    setPositions(head, head);
    ringBegin();
    slotBegin(2, K_DATAGRAM, 5, 40);
    expect<u32>(load<u32>(at(head) + SLOT_AUX)).toBe(0xffffffd0);
    expect<u16>(load<u16>(at(head) + SLOT_KIND)).toBe(K_PAD);
    expect<u32>(load<u32>(RING_OFF + SLOT_AUX)).toBe(0);
    expect<u64>(ringCursor()).toBe(0x100000000 + 64);
  });
});

describe('ring.ringPublish', () => {
  it('stores RING_HEAD (only at publish), leaves RING_TAIL alone', () => {
    setup();
    const h0: u64 = 7 * R + 256;
    setPositions(h0, h0 - 1024);
    ringBegin();
    slotBegin(0, K_DATAGRAM, 1, 10);
    slotBegin(0, K_DATAGRAM, 1, 100);
    slotBegin(0, K_DATAGRAM, 1, 1000);
    expect<u64>(atomic.load<u64>(RING_HEAD)).toBe(h0, 'not published yet');
    ringPublish();
    expect<u64>(atomic.load<u64>(RING_HEAD)).toBe(h0 + 32 + 128 + 1024);
    expect<u64>(atomic.load<u64>(RING_HEAD)).toBe(ringCursor());
    expect<u64>(atomic.load<u64>(RING_TAIL)).toBe(h0 - 1024);
  });

  it('publishes only: the caller wakes a sleeping sender (Core.ring.wakeSender), RING_WAKE unchanged', () => {
    setup();
    setPositions(0, 0);
    atomic.store<i32>(RING_SLEEPING, 1);
    const w0 = atomic.load<i32>(RING_WAKE);
    ringBegin();
    slotBegin(0, K_DATAGRAM, 1, 10);
    ringPublish();
    expect<i32>(atomic.load<i32>(RING_WAKE)).toBe(w0);
    expect<u64>(atomic.load<u64>(RING_HEAD)).toBe(32);
    atomic.store<i32>(RING_SLEEPING, 0);
  });
});

// ---------------------------------------------------------------- ringFits
/** Expected answer of ringFits from first principles: the planned slots, each moved past a PAD to
 *  offset 0 when it would cross the end, must end at most R bytes after the consumer. */
function planEnd(head: u64, count: i32, len: i32, lastLen: i32): u64 {
  let pos = head;
  for (let i = 0; i < count; i++) {
    const size = slotBytes(i == count - 1 ? lastLen : len);
    if ((pos & MASK) + size > R) pos += R - (pos & MASK);
    pos += size;
  }
  return pos;
}

describe('ring.ringFits', () => {
  it('empty ring at offset 0: one slot of R-16 payload bytes fits, R-15 does not', () => {
    setup();
    setPositions(4 * R, 4 * R);
    ringBegin();
    expect<bool>(ringFits(1, <i32>R - 16, <i32>R - 16)).toBe(true);
    expect<bool>(ringFits(1, <i32>R - 15, <i32>R - 15)).toBe(false);
    expect<bool>(ringFits(1, 0, 0)).toBe(true);
  });

  it('empty ring at offset 1024: a slot up to the end fits, one byte more (a PAD of the rest, then 64 KiB - 1024 + 16) does not', () => {
    setup();
    const h: u64 = 4 * R + 1024;
    setPositions(h, h);
    ringBegin();
    expect<bool>(ringFits(1, 0, <i32>R - 1024 - 16)).toBe(true);
    expect<bool>(ringFits(1, 0, <i32>R - 1024 - 15)).toBe(false);
  });

  it('empty ring at offset R-1024: PAD (1024) + slot fits when the sum is at most R', () => {
    setup();
    const h: u64 = 5 * R - 1024;
    setPositions(h, h);
    ringBegin();
    expect<bool>(ringFits(1, 0, 2048 - 16)).toBe(true, 'PAD 1024 + 2048');
    expect<bool>(ringFits(1, 0, <i32>R - 1024 - 16)).toBe(true, 'PAD 1024 + (R - 1024) = R');
    expect<bool>(ringFits(1, 0, <i32>R - 1024 - 15)).toBe(false, 'PAD 1024 + (R - 1024 + 16) > R');
  });

  it('false when the planned slots exceed the free space: every tail lag 0..R (step 16), 1..5 slots, lengths 0, 1, 1000, 1062', () => {
    setup();
    const lens: i32[] = [0, 1, 1000, 1062];
    const h: u64 = 9 * R; // offset 0: no PAD unless a plan wraps
    let bad: i64 = -1;
    for (let used: u64 = 0; used <= R && bad < 0; used += 16) {
      setPositions(h, h - used);
      ringBegin();
      for (let l = 0; l < lens.length; l++) {
        for (let count = 1; count <= 5; count++) {
          const len = lens[l];
          const want = planEnd(h, count, len, len) - (h - used) <= R;
          const got = ringFits(count, len, len);
          // lastLen differs from len: the last slot is a short one
          const want2 = planEnd(h, count, len, 10) - (h - used) <= R;
          const got2 = ringFits(count, len, 10);
          if ((got != want || got2 != want2) && bad < 0) bad = <i64>used * 100 + l * 10 + count;
        }
      }
    }
    expect<i64>(bad).toBe(-1, 'first failure: used * 100 + length index * 10 + count');
  });

  it('counts the PAD: head at R-32, a 64-byte slot needs 96 free bytes (80 is not enough)', () => {
    setup();
    const h: u64 = 3 * R - 32;
    setPositions(h, h - (R - 96));
    ringBegin();
    expect<bool>(ringFits(1, 48, 48)).toBe(true, 'free 96');
    setPositions(h, h - (R - 80));
    ringBegin();
    expect<bool>(ringFits(1, 48, 48)).toBe(false, 'free 80: 64 would fit without the PAD');
    expect<bool>(ringFits(1, 16, 16)).toBe(true, 'a 32-byte slot fits before the end');
  });

  it('counts what this record already wrote: room for 2 slots, then 1 after slotBegin', () => {
    setup();
    const h: u64 = 11 * R;
    setPositions(h, h - (R - 2 * 1024)); // free: exactly two 1024-byte slots
    ringBegin();
    expect<bool>(ringFits(2, 1000, 1000)).toBe(true);
    expect<bool>(ringFits(3, 1000, 1000)).toBe(false);
    slotBegin(0, K_DATAGRAM, 1, 1000);
    expect<bool>(ringFits(2, 1000, 1000)).toBe(false);
    expect<bool>(ringFits(1, 1000, 1000)).toBe(true);
    expect<bool>(ringFits(1, 1009, 1009)).toBe(false);
  });
});

// ---------------------------------------------------------------- wrap-around with a consumer
// The writer's log of data slots (pos u64, len u32, seed u32), a FIFO in thread slot 1's scratch.
const QUEUE: usize = threadAt(1) + THR_TEXT;
const QCAP: u32 = 8192; // > R / 16: more than can ever be live
let qHead: u32 = 0;
let qTail: u32 = 0;
let tail: u64 = 0; // the simulated consumer's position
let padsSeen = 0;
let consumerError = 0; // first error code of the consumer
let consumerErrorPos: u64 = 0;

function patternByte(seed: u32, i: i32): u8 {
  return <u8>((seed * 0x9e3779b1 + <u32>i * 131) >>> 13);
}

function fail(code: i32, pos: u64): void {
  if (consumerError == 0) {
    consumerError = code;
    consumerErrorPos = pos;
  }
}

/** Consumes one slot (skipping a PAD first); checks it against the writer's log. Returns false
 *  when there is nothing published to consume. */
function consumeOne(): bool {
  const head = atomic.load<u64>(RING_HEAD);
  if (tail == head) return false;
  let h = at(tail);
  if (load<u32>(h + SLOT_AUX) != <u32>tail) fail(1, tail); // self-check: low 32 bits of the position
  if (load<u16>(h + SLOT_KIND) == K_PAD) {
    padsSeen++;
    if (load<u16>(h + SLOT_TARGET) != 0xffff) fail(2, tail);
    if ((tail & MASK) + 16 + <u64>load<u32>(h + SLOT_LEN) != R) fail(3, tail); // fills to the end
    tail += 16 + <u64>load<u32>(h + SLOT_LEN);
    if ((tail & MASK) != 0) fail(4, tail);
    h = at(tail);
    if (load<u32>(h + SLOT_AUX) != <u32>tail) fail(1, tail);
  }
  const e = QUEUE + <usize>((qTail % QCAP) * 16);
  qTail++;
  const len = load<u32>(h + SLOT_LEN);
  const seed = load<u32>(e + 12);
  if (load<u64>(e) != tail) fail(5, tail); // the next data slot is where the writer put it
  if (load<u16>(h + SLOT_KIND) != K_DATAGRAM) fail(6, tail);
  if (len != load<u32>(e + 8)) fail(7, tail);
  if (load<u16>(h + SLOT_TARGET) != <u16>(seed & 63)) fail(8, tail);
  if (load<u32>(h + SLOT_GEN) != seed) fail(9, tail);
  if ((tail & MASK) + slotBytes(<i32>len) > R) fail(10, tail); // a slot never wraps
  for (let i = 0; i < <i32>len; i++) {
    if (load<u8>(h + SLOT_HDR + <usize>i) != patternByte(seed, i)) {
      fail(11, tail); // overwritten before it was consumed
      break;
    }
  }
  tail += slotBytes(<i32>len);
  atomic.store<u64>(RING_TAIL, tail);
  return true;
}

describe('ring: wrap-around with a consumer', () => {
  it('4000 records of 1..3 slots (payload 0..1200) over a 64 KiB ring from 2^32 - 5R: every slot checked', () => {
    setup();
    const start: u64 = 0x100000000 - 5 * R;
    setPositions(start, start);
    tail = start;
    qHead = 0;
    qTail = 0;
    let x: u32 = 0x12345678;
    let written = 0;
    let neverFit = -1;
    let publishBad = -1;
    let overrun = -1;
    for (let r = 0; r < 4000; r++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      const count = <i32>(x % 3) + 1;
      const len = <i32>((x >> 8) % 1201);
      const lastLen = <i32>((x >> 20) % 1201);
      ringBegin();
      // The consumer frees space one slot at a time until the record fits.
      while (!ringFits(count, len, lastLen)) {
        if (!consumeOne()) break;
        ringBegin();
      }
      if (!ringFits(count, len, lastLen)) {
        if (neverFit < 0) neverFit = r;
        continue;
      }
      for (let i = 0; i < count; i++) {
        const n = i == count - 1 ? lastLen : len;
        const seed = <u32>(written * 2654435761 + 1);
        const p = slotBegin(<i32>(seed & 63), K_DATAGRAM, seed, n);
        for (let k = 0; k < n; k++) store<u8>(p + <usize>k, patternByte(seed, k));
        const e = QUEUE + <usize>((qHead % QCAP) * 16);
        store<u64>(e, ringCursor() - slotBytes(n));
        store<u32>(e + 8, <u32>n);
        store<u32>(e + 12, seed);
        qHead++;
        written++;
      }
      ringPublish();
      const head = atomic.load<u64>(RING_HEAD);
      if (head != ringCursor() && publishBad < 0) publishBad = r;
      if (head - tail > R && overrun < 0) overrun = r;
      // Now and then the consumer catches up a little on its own.
      if ((x & 7) == 0) consumeOne();
    }
    while (consumeOne()) {}
    const head = atomic.load<u64>(RING_HEAD);
    expect<i32>(neverFit).toBe(-1, 'first record that did not fit an empty ring');
    expect<i32>(publishBad).toBe(-1, 'first record whose RING_HEAD is not the writer head');
    expect<i32>(overrun).toBe(-1, 'first record that left more than R bytes unconsumed');
    expect<i32>(consumerError).toBe(0, '1 POS, 2 PAD target, 3 PAD end, 4 after PAD, 5 position, 6 kind, 7 len, 8 target, 9 gen, 10 wraps, 11 content');
    expect<u64>(consumerErrorPos).toBe(0, 'position of the first consumer error');
    expect<u32>(qTail).toBe(qHead, 'every written slot consumed');
    expect<u64>(tail).toBe(head, 'the consumer ends at RING_HEAD');
    expect<bool>(head - start > 20 * R).toBe(true, 'wrapped more than 20 times');
    expect<bool>(head > 0x100000000).toBe(true, 'crossed 2^32');
    expect<bool>(padsSeen > 10).toBe(true, 'PAD slots were needed');
  });
});

describe('ring spec hygiene', () => {
  it("as-pect's heap stayed below REGION_BASE", () => {
    expect<bool>(heapBelowRegions()).toBe(true);
  });
});
