// write.ts recordBound: under REC_WAIT a record is written without planning it when the ring has
// recordBound(textLen, dictLen) bytes of room, so the bound must hold for every record at every
// target configuration: what write_record puts in the ring never exceeds it. Worst cases here:
// texts of newlines (a time prefix per line for basic targets, escaped by extended ones) and of
// control bytes (escaped x4), the largest dictionary of escaped values, 65,280 bytes of userdata,
// a 63-byte release prefix, every sysdata field, IPv6 raw frames, maxTotal at its largest, all
// targets at once. A 4 MiB ring, so that the largest of them fit.
import { list_add, mem_attach, mem_init, target_set_state, write_record } from '../../assembly/index';
import {
  ADDR_FAMILY,
  F_EXTENDED,
  F_RAW,
  F_RELEASE,
  F_TIMESTAMPS,
  HDR_MAGIC,
  REC_EXPLICIT,
  RING_HEAD,
  RING_OFF,
  RING_TAIL,
  S_CPU,
  S_MSGID,
  S_RELEASE,
  S_TASKNAME,
  ST_DISABLED,
  ST_ENABLED,
  TEXT_MAX,
  DICT_MAX,
  TGT_ADDR,
  TGT_CNT_DROPPED,
  TGT_DEV_UP,
  TGT_FLAGS,
  TGT_REL,
  TGT_REL_LEN,
  TGT_SYSDATA,
  TGT_UD_ACTIVE,
  TGT_UD_LEN,
  THR_DICT,
  THR_SEQ,
  THR_TEXT,
  THR_TS,
  UD_BUF_SIZE,
  USERDATA_OFF,
} from '../../assembly/layout';
import { targetAt, threadAt } from '../../assembly/offsets';
import { recordBound } from '../../assembly/write';
import { heapBelowRegions } from './support';

const R: u64 = 4 << 20;
const HOST: i32 = 1;
const TEXT: usize = threadAt(0) + THR_TEXT;
const DICT: usize = threadAt(0) + THR_DICT;

// Target configurations: extended (release, sysdata, userdata), basic with timestamps, extended
// raw IPv6 (with userdata), basic plain.
const FLAGS: i32[] = [F_EXTENDED | F_RELEASE, F_TIMESTAMPS, F_EXTENDED | F_RAW, 0];

function setup(): void {
  if (load<u32>(HDR_MAGIC) != 0) return;
  const need = RING_OFF + <usize>R;
  const have = <usize>memory.size() << 16;
  if (have < need) memory.grow(<i32>((need - have + 0xffff) >> 16));
  mem_init(<u32>R, 65532, 0, 1, 1); // maxTotal at its largest (ESC_MAX - 4)
  mem_attach(1);
  for (let t = 0; t < FLAGS.length; t++) {
    const tp = targetAt(t);
    list_add(HOST, t, ST_DISABLED);
    store<i32>(tp + TGT_FLAGS, FLAGS[t]);
    store<i32>(tp + TGT_SYSDATA, S_CPU | S_TASKNAME | S_RELEASE | S_MSGID);
    store<i32>(tp + TGT_REL_LEN, 63);
    memory.fill(tp + TGT_REL, 0x72, 63);
    store<u8>(tp + TGT_ADDR + ADDR_FAMILY, 6);
    if (FLAGS[t] & F_EXTENDED) {
      store<i32>(tp + TGT_UD_ACTIVE, 0);
      store<i32>(tp + TGT_UD_LEN, 65280);
      memory.fill(USERDATA_OFF + <usize>t * 2 * UD_BUF_SIZE, 0x75, 65280);
    }
    atomic.store<i32>(tp + TGT_DEV_UP, 1);
    target_set_state(HOST, t, ST_ENABLED);
  }
}

/** A dictionary of `pairs` pairs "K" = `vlen` control bytes (escaped x4); returns its length. */
function putDict(pairs: i32, vlen: i32): i32 {
  let p = DICT;
  for (let i = 0; i < pairs; i++) {
    if (p + 6 + <usize>vlen - DICT > <usize>DICT_MAX) break;
    store<u16>(p, 1);
    store<u8>(p + 2, 0x4b);
    store<u16>(p + 3, <u16>vlen);
    memory.fill(p + 5, 0x01, <usize>vlen);
    p += 5 + <usize>vlen;
  }
  return <i32>(p - DICT);
}

/** Bytes the record takes in the ring, minus its bound (> 0: the bound is wrong). */
function overBound(textByte: u8, textLen: i32, dictLen: i32): i64 {
  atomic.store<u64>(RING_TAIL, atomic.load<u64>(RING_HEAD)); // the sender caught up
  memory.fill(TEXT, textByte, <usize>textLen);
  store<u64>(threadAt(0) + THR_SEQ, 18446744073709551000);
  store<u64>(threadAt(0) + THR_TS, 18446744073709000000);
  const bound = recordBound(textLen, dictLen);
  const h0 = atomic.load<u64>(RING_HEAD);
  write_record(0, 191, REC_EXPLICIT, textLen, dictLen, 0);
  return <i64>(atomic.load<u64>(RING_HEAD) - h0) - <i64>bound;
}

describe('write.recordBound: never less than what a record takes', () => {
  it('texts of 0..64 KiB of newlines, control bytes and plain bytes, with and without the largest dictionary, at all four target kinds at once', () => {
    setup();
    const lens: i32[] = [0, 1, 100, 999, 1000, 1001, 4000, 8191, 30000, TEXT_MAX];
    const bytes: u8[] = [0x0a, 0x01, 0x61];
    let worst: i64 = -0x7fffffffffffffff;
    let failed = -1;
    for (let d = 0; d < 2; d++) {
      const dictLen = d == 0 ? 0 : putDict(1000, 60);
      for (let b = 0; b < bytes.length; b++) {
        for (let i = 0; i < lens.length; i++) {
          const over = overBound(bytes[b], lens[i], dictLen);
          if (over > worst) worst = over;
          if (over > 0 && failed < 0) failed = (d * 100 + b) * 100 + i;
        }
      }
    }
    expect<i32>(failed).toBe(-1, 'the first case over its bound (dict * 10000 + byte * 100 + length index)');
    expect<bool>(worst <= 0).toBe(true);
    for (let t = 0; t < FLAGS.length; t++) expect<u64>(load<u64>(targetAt(t) + TGT_CNT_DROPPED)).toBe(0, 'nothing dropped: every record fitted');
  });
});

describe('bound spec hygiene', () => {
  it("as-pect's heap stayed below REGION_BASE", () => {
    expect<bool>(heapBelowRegions()).toBe(true);
  });
});
