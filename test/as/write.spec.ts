// write.ts: write_record end to end inside WebAssembly: the record is formatted into ring slots
// exactly as docs/wire.md says (extended message 3.1, fragments 3.3, size limits 3.4, basic targets 2,
// frames 4), and the per-target counters say what happened.
import { list_add, mem_attach, mem_init, target_set_state, write_record } from '../../assembly/index';
import {
  ADDR_DST_IP,
  ADDR_DST_MAC,
  ADDR_DST_PORT,
  ADDR_FAMILY,
  ADDR_SRC_IP,
  ADDR_SRC_MAC,
  ADDR_SRC_PORT,
  F_EXTENDED,
  F_RAW,
  F_TIMESTAMPS,
  HDR_MAGIC,
  IP_ID,
  K_DATAGRAM,
  K_FRAME,
  K_PAD,
  K_MASK,
  KF_FIRST,
  ON_NONE,
  RECORDS,
  REC_CONT,
  REC_EXPLICIT,
  RING_FULL,
  RING_HEAD,
  RING_OFF,
  RING_TAIL,
  SLOT_GEN,
  SLOT_HDR,
  SLOT_KIND,
  SLOT_LEN,
  SLOT_AUX,
  SLOT_TARGET,
  ST_DISABLED,
  ST_ENABLED,
  TGT_ADDR,
  TGT_CNT_BYTES,
  TGT_CNT_DATAGRAMS,
  TGT_CNT_DROPPED,
  TGT_CNT_SENT,
  TGT_CNT_SKIPPED,
  TGT_CNT_TRUNCATED,
  TGT_DEV_UP,
  TGT_FLAGS,
  TGT_GEN,
  TGT_LIST,
  THR_SEQ,
  THR_TEXT,
  THR_TS,
} from '../../assembly/layout';
import { targetAt, threadAt } from '../../assembly/offsets';
import { diffMem, diffStr, heapBelowRegions, putHex, putStr } from './support';

const R: u64 = 64 << 10;
const MASK: u64 = R - 1;
const HOST: i32 = 1; // lock owner id of thread slot 0 (index + 1)
const T0: usize = targetAt(0);
const T1: usize = targetAt(1);
const TEXT: usize = threadAt(0) + THR_TEXT; // write_record's input
const WANT: usize = threadAt(1) + THR_TEXT; // expected bytes (thread slots 1 and 2 are unused here)
const GOT: usize = threadAt(2) + THR_TEXT; // fragments reassembled
const SENTINEL: u8 = 0xee;

const HEADER = '13,434,54928466,-'; // prio 13, seq 434, tsUsec 54928466 (docs/wire.md 3.3 example)

/** Lays out the memory once per file, attaches, and adds target 0 as an enabled extended target. */
function setup(): void {
  if (load<u32>(HDR_MAGIC) == 0) {
    const need = RING_OFF + <usize>R;
    const have = <usize>memory.size() << 16;
    if (have < need) memory.grow(<i32>((need - have + 0xffff) >> 16));
    mem_init(<u32>R, 8191, 0, 1, 1);
  }
  mem_attach(1);
  if (load<i32>(T0 + TGT_LIST) == ON_NONE) {
    list_add(HOST, 0, ST_DISABLED);
    store<i32>(T0 + TGT_FLAGS, F_EXTENDED); // flags are written while the target is not enabled
    atomic.store<i32>(T0 + TGT_DEV_UP, 1);
    target_set_state(HOST, 0, ST_ENABLED);
  }
  // The sender has consumed everything so far.
  atomic.store<u64>(RING_TAIL, atomic.load<u64>(RING_HEAD));
  store<u64>(threadAt(0) + THR_SEQ, 434);
  store<u64>(threadAt(0) + THR_TS, 54928466);
}

function writeText(text: string, flags: i32): i32 {
  const n = putStr(TEXT, text);
  return write_record(0, 13, REC_EXPLICIT | flags, n, 0, 0);
}

function head(): u64 {
  return atomic.load<u64>(RING_HEAD);
}

@inline function at(pos: u64): usize {
  return RING_OFF + <usize>(pos & MASK);
}

/** The position of the first non-PAD slot at or after pos. */
function dataSlot(pos: u64): u64 {
  if ((load<u16>(at(pos) + SLOT_KIND) & K_MASK) == K_PAD) pos += 16 + <u64>load<u32>(at(pos) + SLOT_LEN);
  return pos;
}

function nextPos(pos: u64): u64 {
  return pos + 16 + ((<u64>load<u32>(at(pos) + SLOT_LEN) + 15) & ~15);
}

function slotLen(pos: u64): i32 {
  return <i32>load<u32>(at(pos) + SLOT_LEN);
}

function payload(pos: u64): usize {
  return at(pos) + SLOT_HDR;
}

/** Parses a decimal at p up to the byte `end`; returns the value, or -1; advances parseAt. */
let parseAt: usize = 0;
function parseDec(p: usize, end: u8): i32 {
  let v = 0;
  let q = p;
  while (load<u8>(q) != end) {
    const c = <i32>load<u8>(q) - 48;
    if (c < 0 || c > 9 || q - p > 6) return -1;
    v = v * 10 + c;
    q++;
  }
  parseAt = q + 1;
  return q == p ? -1 : v;
}

/**
 * Reads the fragments of one message from `from` to RING_HEAD: each must be
 * HEADER ",ncfrag=" sent "/" total ";" data, with sent = the data so far, the same total,
 * every fragment but the last exactly 1000 bytes. Reassembles the data at GOT.
 * Returns the fragment count, or a negative code: -1 prefix, -2 sent, -3 total, -4 not 1000,
 * -5 not a datagram of target 0, -6 data short of total.
 */
let fragTotal = 0;
function readFragments(from: u64, total: i32): i32 {
  let pos = from;
  let sent = 0;
  let count = 0;
  const end = head();
  while (pos < end) {
    pos = dataSlot(pos);
    if ((load<u16>(at(pos) + SLOT_KIND) & K_MASK) != K_DATAGRAM || load<u16>(at(pos) + SLOT_TARGET) != 0) return -5;
    const p = payload(pos);
    const len = slotLen(pos);
    if (diffStr(p, HEADER) >= 0 || diffStr(p + <usize>HEADER.length, ',ncfrag=') >= 0) return -1;
    const s = parseDec(p + <usize>HEADER.length + 8, 0x2f);
    if (s != sent) return -2;
    const t = parseDec(parseAt, 0x3b);
    if (t != total) return -3;
    const n = len - <i32>(parseAt - p);
    memory.copy(GOT + <usize>sent, parseAt, <usize>n);
    sent += n;
    count++;
    pos = nextPos(pos);
    if (pos < end && len != 1000) return -4;
  }
  fragTotal = sent;
  return sent == total ? count : -6;
}

/** Counter snapshot of target 0. */
let sent0: u64 = 0;
let dgrams0: u64 = 0;
let bytes0: u64 = 0;
let dropped0: u64 = 0;
let skipped0: u64 = 0;
let records0: u64 = 0;
let ringFull0: u64 = 0;
function snapshot(): void {
  sent0 = load<u64>(T0 + TGT_CNT_SENT);
  dgrams0 = load<u64>(T0 + TGT_CNT_DATAGRAMS);
  bytes0 = load<u64>(T0 + TGT_CNT_BYTES);
  dropped0 = load<u64>(T0 + TGT_CNT_DROPPED);
  skipped0 = load<u64>(T0 + TGT_CNT_SKIPPED);
  records0 = load<u64>(RECORDS);
  ringFull0 = load<u64>(RING_FULL);
}

/** A clean (never escaped) byte for index i. */
function cleanByte(i: i32): u8 {
  let b = 0x21 + (i * 7) % 94;
  if (b == 0x5c) b = 0x41;
  return <u8>b;
}

describe('write.write_record: one datagram', () => {
  it('known answer: "13,434,54928466,-;netconsole selftest\\n" (REC_EXPLICIT seq 434, ts 54928466)', () => {
    setup();
    snapshot();
    const h0 = head();
    expect<i32>(writeText('netconsole selftest', 0)).toBe(1, 'targets offered');
    const pos = dataSlot(h0);
    expect<u16>(load<u16>(at(pos) + SLOT_KIND)).toBe(K_DATAGRAM | KF_FIRST);
    expect<u16>(load<u16>(at(pos) + SLOT_TARGET)).toBe(0);
    expect<u32>(load<u32>(at(pos) + SLOT_GEN)).toBe(load<u32>(T0 + TGT_GEN));
    expect<u32>(load<u32>(at(pos) + SLOT_AUX)).toBe(<u32>pos);
    expect<i32>(slotLen(pos)).toBe(38);
    expect<i32>(diffStr(payload(pos), '13,434,54928466,-;netconsole selftest\n')).toBe(-1);
    expect<u64>(head()).toBe(pos + 16 + 48, 'RING_HEAD published past the slot');
    expect<u64>(load<u64>(T0 + TGT_CNT_SENT)).toBe(sent0 + 1);
    expect<u64>(load<u64>(T0 + TGT_CNT_DATAGRAMS)).toBe(dgrams0 + 1);
    expect<u64>(load<u64>(T0 + TGT_CNT_BYTES)).toBe(bytes0 + 38);
    expect<u64>(load<u64>(RECORDS)).toBe(records0 + 1);
    expect<u64>(load<u64>(threadAt(0) + THR_SEQ)).toBe(434, 'an explicit seq is kept');
  });

  it('escapes the text: a LF b backslash e-acute -> a\\x0ab\\x5c\\xc3\\xa9', () => {
    setup();
    const h0 = head();
    expect<i32>(writeText('a\nb\\\u00c3\u00a9', 0)).toBe(1);
    const pos = dataSlot(h0);
    const want = '13,434,54928466,-;a\\x0ab\\x5c\\xc3\\xa9\n';
    expect<i32>(slotLen(pos)).toBe(want.length);
    expect<i32>(diffStr(payload(pos), want)).toBe(-1);
  });

  it('REC_CONT sets the flag to c: "13,434,54928466,c;x\\n"', () => {
    setup();
    const h0 = head();
    expect<i32>(writeText('x', REC_CONT)).toBe(1);
    const pos = dataSlot(h0);
    expect<i32>(slotLen(pos)).toBe(20);
    expect<i32>(diffStr(payload(pos), '13,434,54928466,c;x\n')).toBe(-1);
  });

  it('empty text: "13,434,54928466,-;\\n"', () => {
    setup();
    const h0 = head();
    expect<i32>(write_record(0, 13, REC_EXPLICIT, 0, 0, 0)).toBe(1);
    const pos = dataSlot(h0);
    expect<i32>(slotLen(pos)).toBe(19);
    expect<i32>(diffStr(payload(pos), '13,434,54928466,-;\n')).toBe(-1);
  });
});

// Composed length L = 17 (header) + 1 (;) + text + 1 (\n): 999, 1000, 1001, and two larger ones.
const TEXT_LENS: i32[] = [980, 981, 982, 1001, 1199, 2500];
let textCursor = 0;

describe('write.write_record: 999 / 1000 / 1001 bytes and fragments (docs/wire.md 3.3)', () => {
  for (let k = 0; k < TEXT_LENS.length; k++) {
    const n = TEXT_LENS[k];
    it('text ' + n.toString() + ' bytes (composed ' + (n + 19).toString() + ')' + (n + 19 <= 1000 ? ': one datagram' : ': ncfrag fragments'), () => {
      setup();
      snapshot();
      const n = TEXT_LENS[textCursor++];
      for (let i = 0; i < n; i++) store<u8>(TEXT + <usize>i, n == 1199 ? 0x41 : cleanByte(i));
      memory.copy(WANT, TEXT, <usize>n);
      store<u8>(WANT + <usize>n, 0x0a);
      const h0 = head();
      expect<i32>(write_record(0, 13, REC_EXPLICIT, n, 0, 0)).toBe(1);
      if (n + 19 <= 1000) {
        const pos = dataSlot(h0);
        expect<i32>(slotLen(pos)).toBe(n + 19);
        expect<i32>(diffStr(payload(pos), '13,434,54928466,-;')).toBe(-1);
        expect<i32>(diffMem(payload(pos) + 18, WANT, n + 1)).toBe(-1);
        expect<u64>(nextPos(pos)).toBe(head(), 'exactly one slot');
      } else {
        const total = n + 1;
        const count = readFragments(h0, total);
        const want = n == 2500 ? 3 : 2;
        expect<i32>(count).toBe(want, 'fragments (negative: -1 prefix, -2 sent, -3 total, -4 not 1000, -5 kind, -6 short)');
        expect<i32>(diffMem(GOT, WANT, total)).toBe(-1, 'reassembled data');
        const first = dataSlot(h0);
        expect<i32>(slotLen(first)).toBe(1000, 'the first fragment is exactly 1000 bytes');
        expect<u64>(load<u64>(T0 + TGT_CNT_DATAGRAMS)).toBe(dgrams0 + <u64>want);
        if (n == 1199) {
          // docs/wire.md worked example: 968 bytes of data, then 232.
          expect<i32>(diffStr(payload(first), '13,434,54928466,-,ncfrag=0/1200;')).toBe(-1);
          const second = dataSlot(nextPos(first));
          expect<i32>(diffStr(payload(second), '13,434,54928466,-,ncfrag=968/1200;')).toBe(-1);
          expect<i32>(slotLen(second)).toBe(34 + 232);
        }
      }
      expect<u64>(load<u64>(T0 + TGT_CNT_SENT)).toBe(sent0 + 1, 'one message');
    });
  }
});

describe('write.write_record: size limit (docs/wire.md 3.4, max total 8191)', () => {
  it('9000-byte text is cut so that total = 8191; counted in TGT_CNT_TRUNCATED', () => {
    setup();
    const tr0 = load<u64>(T0 + TGT_CNT_TRUNCATED);
    for (let i = 0; i < 9000; i++) store<u8>(TEXT + <usize>i, cleanByte(i));
    const h0 = head();
    expect<i32>(write_record(0, 13, REC_EXPLICIT, 9000, 0, 0)).toBe(1);
    memory.copy(WANT, TEXT, 8190);
    store<u8>(WANT + 8190, 0x0a);
    expect<bool>(readFragments(h0, 8191) > 0).toBe(true, 'well-formed fragments');
    expect<i32>(diffMem(GOT, WANT, 8191)).toBe(-1);
    expect<u64>(load<u64>(T0 + TGT_CNT_TRUNCATED)).toBe(tr0 + 1);
  });

  it('the cut never splits an escape: 8188 clean bytes then LF LF -> 8188 bytes + "\\n" (total 8189)', () => {
    setup();
    for (let i = 0; i < 8188; i++) store<u8>(TEXT + <usize>i, cleanByte(i));
    store<u8>(TEXT + 8188, 0x0a);
    store<u8>(TEXT + 8189, 0x0a);
    const h0 = head();
    expect<i32>(write_record(0, 13, REC_EXPLICIT, 8190, 0, 0)).toBe(1);
    memory.copy(WANT, TEXT, 8188);
    store<u8>(WANT + 8188, 0x0a);
    expect<bool>(readFragments(h0, 8189) > 0).toBe(true, 'well-formed fragments');
    expect<i32>(diffMem(GOT, WANT, 8189)).toBe(-1);
  });
});

describe('write.write_record: targets that get nothing', () => {
  it('a disabled target gets nothing (returns 0, RING_HEAD and counters unchanged); re-enabling bumps TGT_GEN', () => {
    setup();
    snapshot();
    const gen0 = load<u32>(T0 + TGT_GEN);
    expect<i32>(target_set_state(HOST, 0, ST_DISABLED)).toBe(0);
    const h0 = head();
    expect<i32>(writeText('nobody hears this', 0)).toBe(0);
    expect<u64>(head()).toBe(h0);
    expect<u64>(load<u64>(T0 + TGT_CNT_SENT)).toBe(sent0);
    expect<u64>(load<u64>(T0 + TGT_CNT_SKIPPED)).toBe(skipped0);
    expect<u64>(load<u64>(T0 + TGT_CNT_DROPPED)).toBe(dropped0);
    expect<u64>(load<u64>(RECORDS)).toBe(records0 + 1, 'the record itself is counted');
    expect<i32>(target_set_state(HOST, 0, ST_ENABLED)).toBe(0);
    expect<u32>(load<u32>(T0 + TGT_GEN)).toBe(gen0 + 1);
    expect<i32>(writeText('back', 0)).toBe(1);
    expect<u32>(load<u32>(at(dataSlot(h0)) + SLOT_GEN)).toBe(gen0 + 1, 'slots carry the new generation');
  });

  it('TGT_DEV_UP = 0 skips the target and counts TGT_CNT_SKIPPED', () => {
    setup();
    snapshot();
    atomic.store<i32>(T0 + TGT_DEV_UP, 0);
    const h0 = head();
    const r = writeText('device down', 0);
    atomic.store<i32>(T0 + TGT_DEV_UP, 1);
    expect<i32>(r).toBe(0);
    expect<u64>(head()).toBe(h0);
    expect<u64>(load<u64>(T0 + TGT_CNT_SKIPPED)).toBe(skipped0 + 1);
    expect<u64>(load<u64>(T0 + TGT_CNT_SENT)).toBe(sent0);
  });
});

describe('write.write_record: ring full (whole or nothing)', () => {
  it('a 619-byte datagram with 512 free bytes is dropped whole: TGT_CNT_DROPPED, RING_FULL, no slot, RING_HEAD unchanged', () => {
    setup();
    snapshot();
    const h0 = head();
    atomic.store<u64>(RING_TAIL, h0 - (R - 512)); // the sender is behind: 512 bytes free
    // Where a slot would go (possibly after a PAD): make it recognisable.
    memory.fill(at(h0), SENTINEL, <usize>(R - (h0 & MASK) < 1024 ? R - (h0 & MASK) : 1024));
    memory.fill(RING_OFF, SENTINEL, 1024);
    for (let i = 0; i < 600; i++) store<u8>(TEXT + <usize>i, cleanByte(i));
    expect<i32>(write_record(0, 13, REC_EXPLICIT, 600, 0, 0)).toBe(1, 'offered (and dropped)');
    expect<u64>(head()).toBe(h0, 'RING_HEAD unchanged');
    expect<u64>(load<u64>(T0 + TGT_CNT_DROPPED)).toBe(dropped0 + 1);
    expect<u64>(load<u64>(RING_FULL)).toBe(ringFull0 + 1);
    expect<u64>(load<u64>(T0 + TGT_CNT_SENT)).toBe(sent0);
    expect<u8>(load<u8>(at(h0))).toBe(SENTINEL, 'no slot header written at the head');
    expect<u8>(load<u8>(RING_OFF)).toBe(SENTINEL, 'nor at offset 0');
  });

  it('two fragments (1024 + 96 slot bytes) with 1112 free: nothing written (not even the first); with 1120 free: both', () => {
    setup();
    snapshot();
    const h0 = head();
    for (let i = 0; i < 1001; i++) store<u8>(TEXT + <usize>i, cleanByte(i));
    // Keep the plan away from the end of the ring, so that no PAD changes the arithmetic.
    const room = R - (h0 & MASK);
    if (room < 2048) {
      // Move the head to the next lap's start (as if the sender had consumed a PAD's worth).
      atomic.store<u64>(RING_HEAD, h0 + room);
      atomic.store<u64>(RING_TAIL, h0 + room);
    }
    const h1 = head();
    // 1001-byte text: fragment 0 is 1000 bytes (slot 16 + 1008), fragment 1 is 34 + 34 (slot 16 + 80).
    atomic.store<u64>(RING_TAIL, h1 - (R - 1112));
    memory.fill(at(h1), SENTINEL, 1200);
    expect<i32>(write_record(0, 13, REC_EXPLICIT, 1001, 0, 0)).toBe(1);
    expect<u64>(head()).toBe(h1, 'RING_HEAD unchanged');
    expect<u64>(load<u64>(T0 + TGT_CNT_DROPPED)).toBe(dropped0 + 1);
    expect<u8>(load<u8>(at(h1))).toBe(SENTINEL, 'the first fragment (which would fit) was not written either');
    atomic.store<u64>(RING_TAIL, h1 - (R - 1120));
    expect<i32>(write_record(0, 13, REC_EXPLICIT, 1001, 0, 0)).toBe(1);
    expect<u64>(head()).toBe(h1 + 1120);
    expect<u64>(load<u64>(T0 + TGT_CNT_DROPPED)).toBe(dropped0 + 1);
    expect<u64>(load<u64>(T0 + TGT_CNT_SENT)).toBe(sent0 + 1);
    expect<i32>(readFragments(h1, 1002)).toBe(2);
  });
});

describe('write.write_record: basic target (docs/wire.md 2)', () => {
  it('timestamps: "plain line" at ts 12345678 -> "[   12.345678] plain line\\n"; "a\\nb" -> two prefixed lines', () => {
    setup();
    target_set_state(HOST, 0, ST_DISABLED);
    store<i32>(T0 + TGT_FLAGS, F_TIMESTAMPS);
    target_set_state(HOST, 0, ST_ENABLED);
    store<u64>(threadAt(0) + THR_TS, 12345678);
    let h0 = head();
    expect<i32>(writeText('plain line', 0)).toBe(1);
    let pos = dataSlot(h0);
    expect<i32>(slotLen(pos)).toBe(26);
    expect<i32>(diffStr(payload(pos), '[   12.345678] plain line\n')).toBe(-1);
    h0 = head();
    expect<i32>(writeText('a\nb', 0)).toBe(1);
    pos = dataSlot(h0);
    expect<i32>(slotLen(pos)).toBe(34);
    expect<i32>(diffStr(payload(pos), '[   12.345678] a\n[   12.345678] b\n')).toBe(-1);
    h0 = head();
    expect<i32>(write_record(0, 13, REC_EXPLICIT, 0, 0, 0)).toBe(1);
    expect<u64>(head()).toBe(h0, 'empty text sends nothing');
    target_set_state(HOST, 0, ST_DISABLED);
    store<i32>(T0 + TGT_FLAGS, F_EXTENDED);
    target_set_state(HOST, 0, ST_ENABLED);
  });
});

describe('write.write_record: raw target (docs/wire.md 4)', () => {
  it('IPv4 frame of the known answer (first IP ID 1): the slot is K_FRAME and equals wire.json frames[0]', () => {
    setup();
    target_set_state(HOST, 0, ST_DISABLED);
    const a = T1 + TGT_ADDR;
    putHex(a + ADDR_DST_MAC, '020000000002');
    putHex(a + ADDR_SRC_MAC, '020000000001');
    store<u8>(a + ADDR_FAMILY, 4);
    store<u16>(a + ADDR_SRC_PORT, 6665);
    store<u16>(a + ADDR_DST_PORT, 6666);
    putHex(a + ADDR_SRC_IP, 'c0000201');
    putHex(a + ADDR_DST_IP, 'c0000202');
    list_add(HOST, 1, ST_DISABLED);
    store<i32>(T1 + TGT_FLAGS, F_EXTENDED | F_RAW);
    atomic.store<i32>(T1 + TGT_DEV_UP, 1);
    target_set_state(HOST, 1, ST_ENABLED);
    store<u32>(IP_ID, 0);
    const h0 = head();
    expect<i32>(writeText('netconsole selftest', 0)).toBe(1);
    const pos = dataSlot(h0);
    expect<u16>(load<u16>(at(pos) + SLOT_KIND)).toBe(K_FRAME | KF_FIRST);
    expect<u16>(load<u16>(at(pos) + SLOT_TARGET)).toBe(1);
    expect<i32>(slotLen(pos)).toBe(80);
    putHex(
      WANT,
      '020000000002020000000001080045000042000100004011f6a6c0000201c00002021a091a0a002e94bd' +
        '31332c3433342c35343932383436362c2d3b6e6574636f6e736f6c652073656c66746573740a',
    );
    expect<i32>(diffMem(payload(pos), WANT, 80)).toBe(-1);
    expect<u32>(load<u32>(IP_ID)).toBe(1);
    target_set_state(HOST, 1, ST_DISABLED);
    target_set_state(HOST, 0, ST_ENABLED);
  });
});

describe('write spec hygiene', () => {
  it("as-pect's heap stayed below REGION_BASE", () => {
    expect<bool>(heapBelowRegions()).toBe(true);
  });
});
