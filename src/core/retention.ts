// The host's side of a reliable target's retention (assembly/retain.ts; layout.ts TGT_RSEQ ..
// TGT_CNT_UNACKED_REPORTED; docs/reliable.md): where its region is in the shared memory, and the
// reads and the few words the host writes. The sender keeps the messages (it copies them from the
// ring before it moves RING_TAIL past them); this side takes no lock: it copies an entry that
// RT_HEAD passed (the sender moves RT_HEAD past an entry once it is whole) and then checks that
// RT_TAIL did not pass it (the sender moves RT_TAIL past an entry before it reuses the entry's
// bytes), so a copy it keeps is whole.
//
// Regions live past the ring, in memory grown for them (RetentionSpace): a Netconsole's memory is
// laid out at creation for the ring alone, and most Netconsoles have no reliable target.
import { L, targetOffset } from './layout.js';
import { NetconsoleError } from '../base/errors.js';
import type { WasmMemory } from './wasm-types.js';

const PAGE = 65536;

/** The bytes a region of `slots` messages and `bytes` of entries takes: the index, then the entries. */
export function regionBytes(slots: number, bytes: number): number {
  return slots * 8 + bytes;
}

/**
 * The memory past the ring, handed out as retention regions: grown when nothing freed fits (a
 * WebAssembly memory never shrinks; a region freed by a disable is reused by the next enable of
 * the same size, which is the common case: a target enabled again with its bounds unchanged).
 */
export class RetentionSpace {
  private top: number;
  private readonly free: Array<{ at: number; bytes: number }> = [];

  constructor(
    private readonly memory: WasmMemory,
    end: number,
  ) {
    this.top = Math.ceil(end / 8) * 8;
  }

  /** A region of `bytes` (a multiple of 8); ENOMEM when the memory cannot grow that far. */
  take(bytes: number): number {
    const i = this.free.findIndex((f) => f.bytes === bytes);
    if (i >= 0) return this.free.splice(i, 1)[0].at;
    const at = this.top;
    const need = at + bytes - this.memory.buffer.byteLength;
    if (need > 0) {
      try {
        this.memory.grow(Math.ceil(need / PAGE));
      } catch (cause) {
        throw new NetconsoleError(
          'ENOMEM',
          `cannot grow the shared memory by ${need} bytes for a reliable target's retention (${String(cause)})`,
          { option: 'reliable_bytes', value: bytes, cause },
        );
      }
    }
    this.top = at + bytes;
    return at;
  }

  give(at: number, bytes: number): void {
    this.free.push({ at, bytes });
  }
}

/** A message kept for resending: "[release,]header;data" and where the ';' is. */
export interface Kept {
  seq: bigint;
  message: Buffer;
  prefixLen: number;
}

/** What the sender counted for a reliable target's retention (layout.ts). */
export interface RetentionCounters {
  /** Messages kept now (acked ones included until their room is needed). */
  kept: number;
  /** Pushed out unacked, then asked for again by the receiver, or never acked before it fell
   *  silent (host/reliable.ts): lost, told in-band. */
  unacked: number;
  /** Pushed out before the receiver ever replied. */
  unheard: number;
}

/** One reliable target's retention, as the host sees it. */
export class Retention {
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  private readonly i32: Int32Array;
  private readonly u64: BigUint64Array;
  private readonly tp: number;
  private readonly ring: number;

  constructor(
    memory: WasmMemory,
    t: number,
    readonly base: number,
    readonly slots: number,
    readonly size: number,
  ) {
    const buffer = memory.buffer as unknown as SharedArrayBuffer; // grown for this region: a fresh view covers it
    this.u8 = new Uint8Array(buffer);
    this.dv = new DataView(buffer);
    this.i32 = new Int32Array(buffer, 0, (L.TARGETS_OFF + L.MAX_TARGETS * L.TARGET_SIZE) / 4);
    this.u64 = new BigUint64Array(buffer, 0, (L.TARGETS_OFF + L.MAX_TARGETS * L.TARGET_SIZE) / 8);
    this.tp = targetOffset(t);
    this.ring = base + slots * 8;
  }

  /**
   * Lays the target's slot out for this region (the target is not enabled: no writer reads it):
   * empty, nothing acked, the receiver not heard yet, its next seq `nextSeq`.
   */
  install(nextSeq: bigint): void {
    const tp = this.tp;
    this.dv.setBigUint64(tp + L.TGT_RSEQ, nextSeq, true);
    this.dv.setUint32(tp + L.TGT_RT_BASE, this.base, true);
    this.dv.setUint32(tp + L.TGT_RT_SIZE, this.size, true);
    this.dv.setUint32(tp + L.TGT_RT_SLOTS, this.slots, true);
    this.dv.setUint32(tp + L.TGT_RT_COUNT, 0, true);
    this.dv.setBigUint64(tp + L.TGT_RT_HEAD, 0n, true);
    this.dv.setBigUint64(tp + L.TGT_RT_TAIL, 0n, true);
    Atomics.store(this.u64, (tp + L.TGT_RT_ACKED) >> 3, nextSeq);
    Atomics.store(this.u64, (tp + L.TGT_RT_PUSHED) >> 3, nextSeq);
    Atomics.store(this.i32, (tp + L.TGT_RT_HEARD) >> 2, 0);
    Atomics.add(this.i32, L.RELIABLE_TARGETS >> 2, 1); // the sender keeps messages from now on
  }

  /** The region is given back (the target left the lists and its grace period passed: the sender
   *  is past its slots). */
  uninstall(): void {
    this.dv.setUint32(this.tp + L.TGT_RT_BASE, 0, true);
    Atomics.sub(this.i32, L.RELIABLE_TARGETS >> 2, 1);
  }

  /** The seq the target's next message takes: everything before it was written. */
  nextSeq(): bigint {
    return Atomics.load(this.u64, (this.tp + L.TGT_RSEQ) >> 3);
  }

  /** The receiver acked everything before `seq`: the writers may reuse its room. */
  setAcked(seq: bigint): void {
    Atomics.store(this.u64, (this.tp + L.TGT_RT_ACKED) >> 3, seq);
  }

  /** The receiver replied: from now on a message pushed out unacked is told in-band. */
  setHeard(): void {
    Atomics.store(this.i32, (this.tp + L.TGT_RT_HEARD) >> 2, 1);
  }

  /** The seq after the last message pushed out of the region: one below it is never read again
   *  (read() returning null for a seq at or past it means "not kept yet"). */
  pushed(): bigint {
    return Atomics.load(this.u64, (this.tp + L.TGT_RT_PUSHED) >> 3);
  }

  /** `n` more messages lost unacked (host/reliable.ts decides which): the write path tells them
   *  in-band before the target's next record, as it tells ring losses. */
  countUnacked(n: number): void {
    if (n <= 0) return;
    Atomics.add(this.u64, (this.tp + L.TGT_CNT_UNACKED) >> 3, BigInt(n));
    Atomics.add(this.u64, L.LOST_TOTAL >> 3, BigInt(n)); // after UNACKED: the write path's scan looks again
  }

  counters(): RetentionCounters {
    const n = (f: number): number => Number(Atomics.load(this.u64, (this.tp + f) >> 3));
    return {
      kept: Atomics.load(this.i32, (this.tp + L.TGT_RT_COUNT) >> 2),
      unacked: n(L.TGT_CNT_UNACKED),
      unheard: n(L.TGT_CNT_UNHEARD),
    };
  }

  /** A copy of the message of `seq`, or null when it is not kept (pushed out, not yet kept by the
   *  sender, or never written: the caller checks the seq against nextSeq first). */
  read(seq: bigint): Kept | null {
    const head = Atomics.load(this.u64, (this.tp + L.TGT_RT_HEAD) >> 3); // first: what is whole
    const pos = this.dv.getBigUint64(this.base + Number(seq % BigInt(this.slots)) * 8, true);
    if (pos >= head) return null;
    const size = BigInt(this.size);
    const off = Number(pos % size);
    if (off + L.RT_ENTRY_HDR > this.size) return null;
    const e = this.ring + off;
    const len = this.dv.getInt32(e + L.RT_ENTRY_LEN, true);
    const prefixLen = this.dv.getUint32(e + L.RT_ENTRY_PREFIX, true);
    if (len === L.RT_PAD || this.dv.getBigUint64(e + L.RT_ENTRY_SEQ, true) !== seq) return null;
    if (off + L.RT_ENTRY_HDR + len > this.size || prefixLen >= len) return null;
    const message = Buffer.from(this.u8.slice(e + L.RT_ENTRY_HDR, e + L.RT_ENTRY_HDR + len));
    // Still there after the copy? The writer moves the tail past an entry before reusing it.
    if (Atomics.load(this.u64, (this.tp + L.TGT_RT_TAIL) >> 3) > pos) return null;
    return { seq, message, prefixLen };
  }
}
