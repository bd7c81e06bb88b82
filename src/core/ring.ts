// The transmit ring as the host sees it (Core.ring): its positions, the consumer side (the dgram
// sender's walk and drain; RING_TAIL published once reliable targets' messages are kept), and the
// sender's sleep and wake-up, both sides: the sender announcing sleep, a writer waking it after
// its write (assembly/layout.ts, "Waking the sender"). The views over the ring and its words are
// this file's alone.
import { native } from './native.js';
import { L, slotBytes } from './layout.js';
import type { CoreExports } from './module.js';

/** What the consumer did with a slot (Ring.walk). */
export type WalkAnswer = 'done' | 'held' | 'stop';

/** Atomics.waitAsync exists in Node 20 (V8 11.3) but is typed only in lib es2024. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(ta: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/** The i32 word a sleeping sender waits on. */
const WAKE_WORD = L.RING_WAKE >> 2;

export class Ring {
  private readonly u8: Uint8Array;
  private readonly i32: Int32Array;
  private readonly u32: Uint32Array;
  private readonly dv: DataView;
  /** The ring positions (64-bit atomics). */
  private readonly u64: BigUint64Array;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly exports: CoreExports,
  ) {
    this.u8 = new Uint8Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.dv = new DataView(buffer);
    this.u64 = new BigUint64Array(buffer, 0, L.RING_OFF / 8);
  }

  /** The transmit ring's size in bytes. */
  get size(): number {
    return this.u32[L.GEO_RING_SIZE >> 2]!;
  }

  /** Ring positions are byte counts since init; as numbers they stay exact up to 2^53 bytes. */
  head(): number {
    return Number(Atomics.load(this.u64, L.RING_HEAD >> 3));
  }

  tail(): number {
    return Number(Atomics.load(this.u64, L.RING_TAIL >> 3));
  }

  // ------------------------------------------------------------------ the consumer side
  /**
   * Visits every slot between the tail and the published head (PAD slots skipped), then frees
   * them by publishing the new tail. `visit` gets the slot's target, kind (K_* | KF_*), generation and a view
   * of its bytes, valid only during the call. Single consumer only. Returns the slots visited.
   */
  drain(visit: (target: number, kind: number, gen: number, bytes: Uint8Array) => void, max = Infinity): number {
    const head = this.head();
    const start = this.tail();
    let tail = start;
    const size = this.size;
    let n = 0;
    while (tail < head && n < max) {
      const at = L.RING_OFF + (tail % size);
      const len = this.u32[(at + L.SLOT_LEN) >> 2]!;
      const kind = this.dv.getUint16(at + L.SLOT_KIND, true);
      if ((kind & L.K_MASK) !== L.K_PAD) {
        visit(
          this.dv.getUint16(at + L.SLOT_TARGET, true),
          kind,
          this.u32[(at + L.SLOT_GEN) >> 2]!,
          this.u8.subarray(at + L.SLOT_HDR, at + L.SLOT_HDR + len),
        );
        n++;
      }
      tail += slotBytes(len);
    }
    if (tail !== start) this.advanceTail(start, tail);
    return n;
  }

  /**
   * The consumer side with held targets (the dgram sender's: native/drain-pass.cc Collect does the same in
   * the addon). Visits the slots from `from` up to the published head, at most `max`, skipping PAD
   * slots and those marked done. `visit` answers 'done' (sent or lost: marked KF_DONE, never
   * visited again), 'held' (left in the ring; the first such position is returned as `held`) or
   * 'stop' (left, and the walk ends there: another batch). Returns where the walk stopped and
   * the first held slot (or -1). The caller publishes RING_TAIL (publishTail) at the first slot
   * still needed. Single consumer only.
   */
  walk(
    from: number,
    max: number,
    visit: (target: number, kind: number, gen: number, bytes: Uint8Array, aux: number) => WalkAnswer,
  ): { end: number; held: number } {
    const head = this.head();
    const size = this.size;
    let pos = from;
    let held = -1;
    let n = 0;
    while (pos < head && n < max) {
      const at = L.RING_OFF + (pos % size);
      const len = this.u32[(at + L.SLOT_LEN) >> 2]!;
      const kind = this.dv.getUint16(at + L.SLOT_KIND, true);
      const next = pos + slotBytes(len);
      if ((kind & L.K_MASK) !== L.K_PAD && (kind & L.KF_DONE) === 0) {
        const bytes = this.u8.subarray(at + L.SLOT_HDR, at + L.SLOT_HDR + len);
        const a = visit(
          this.dv.getUint16(at + L.SLOT_TARGET, true),
          kind,
          this.u32[(at + L.SLOT_GEN) >> 2]!,
          bytes,
          this.u32[(at + L.SLOT_AUX) >> 2]!,
        );
        if (a === 'stop') break;
        if (a === 'held') {
          if (held < 0) held = pos;
        } else {
          this.dv.setUint16(at + L.SLOT_KIND, kind | L.KF_DONE, true);
        }
        n++;
      }
      pos = next;
    }
    return { end: pos, held };
  }

  /** The consumer is done with every slot before `pos` (it must not go back). */
  publishTail(pos: number): void {
    const tail = this.tail();
    if (pos > tail) this.advanceTail(tail, pos);
  }

  /** RING_TAIL moves from `from` to `to`: first the sender keeps reliable targets' messages among
   *  those slots (assembly/retain.ts; the addon does the same in native/retain.cc). */
  private advanceTail(from: number, to: number): void {
    if (Atomics.load(this.i32, L.RELIABLE_TARGETS >> 2) !== 0) this.exports.sender_retain(from, to);
    Atomics.store(this.u64, L.RING_TAIL >> 3, BigInt(to));
  }

  // ------------------------------------------------------------------ the sender's sleep and wake-up
  /** Sender side of "Waking the sender": announces sleep (`how`: 1 dgram, 2 native) and returns
   *  the RING_WAKE value to wait on, or null when something was published meanwhile. */
  senderSleep(how: 1 | 2): number | null {
    const i32 = this.i32;
    const seen = Atomics.load(i32, WAKE_WORD);
    Atomics.store(i32, L.RING_SLEEPING >> 2, how);
    // Store sleeping, then load head (writers: store head, then load sleeping).
    if (this.head() === this.tail()) return seen;
    Atomics.store(i32, L.RING_SLEEPING >> 2, 0);
    return null;
  }

  /** The dgram sender sleeps (after senderSleep(1) gave `seen`) until RING_WAKE moves from it. */
  sleepAsync(seen: number): { async: boolean; value: Promise<string> | string } {
    return waitAsync(this.i32, WAKE_WORD, seen);
  }

  senderAwake(): void {
    Atomics.store(this.i32, L.RING_SLEEPING >> 2, 0);
  }

  /** Wakes a dgram sender however it sleeps (its own close()). */
  wakeDgramSender(): void {
    Atomics.add(this.i32, WAKE_WORD, 1);
    Atomics.notify(this.i32, WAKE_WORD);
  }

  /** After a write: wakes the sender if it sleeps (assembly/layout.ts, "Waking the sender"). */
  wakeSender(): void {
    const i32 = this.i32;
    const sleeping = Atomics.load(i32, L.RING_SLEEPING >> 2);
    if (sleeping === 0) return;
    // The first writer to see it asleep takes RING_SLEEPING down and wakes it; the writes after
    // it, until the sender sleeps again, see 0 and make no system call. Without this, every log
    // call until the woken thread ran made one: up to 11,178 futex wakes in a fresh process's
    // burst of 20,000 on this 2-core machine, against 9 to 224 with it.
    if (Atomics.compareExchange(i32, L.RING_SLEEPING >> 2, sleeping, 0) !== sleeping) return;
    Atomics.add(i32, WAKE_WORD, 1);
    if (sleeping === 1) Atomics.notify(i32, WAKE_WORD, 1);
    else native?.futexWake(i32, WAKE_WORD);
  }
}
