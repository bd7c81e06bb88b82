// Waiting for room in the transmit ring (overflow 'wait'), outside the spinlock.
//
// A log call whose record does not fit (write_record returned E_NOROOM, having written nothing
// and taken no seq) waits here until the sender has freed the room the record needs, then tries
// again; it gives up at its deadline and writes the record in 'drop' mode (dropped whole and
// counted where it does not fit). Why it cannot deadlock, in docs/locking.md's terms: the waiting
// writer holds no lock at all (write_record released the spinlock before returning), and the
// sender it waits for takes none of the host's locks and never the spinlock: it only needs its
// own routes mutex, which the host holds for a few instructions at a time. Device events,
// configuration and cleanup go on meanwhile; cleanup's grace period waits for the same sender.
//
// The protocol (layout.ts ROOM_*): a waiter adds itself to ROOM_WAITERS, lowers ROOM_AT to the
// tail it wants, re-reads RING_TAIL and sleeps on RING_TAIL's low word while it is unchanged. The
// sender stores RING_TAIL, then reads ROOM_WAITERS and ROOM_AT: one of the two sees the other,
// so no wake-up is lost. It wakes everyone, and each re-checks. A waiter asks for SLACK bytes more
// than its record needs, so that a stream of waiting records costs one wake-up per SLACK bytes,
// not one per record.
//
// How a writer sleeps depends on who drains the ring:
// * the native sender thread: a native futex wait (V8's Atomics.wait is not woken by FUTEX_WAKE);
// * the dgram sender, from a worker: Atomics.wait (the host's event loop notifies it);
// * the dgram sender, from the host's own thread: it cannot sleep (the sender runs on the loop it
//   would block), so it hands the ring's datagrams to the sockets at once (DgramSender.makeRoom):
//   what the kernel cannot take yet waits in Node's send queue, up to the spill bound.
//
// Both sides of the protocol are here (Core.room): the writer's (waitForRoom, Room.want) and the
// sender's (Room.notify after each tail store); the words they share are this file's views alone.
import type { NativeBinding } from './native.js';
import { L, threadOffset } from './layout.js';
import type { Ring } from './ring.js';
import type { WasmMemory } from './wasm-types.js';

/** The longest one sleep lasts before the waiter checks again (a lost wake-up costs at most this). */
const SLICE_MS = 50;
/** Extra room a waiter asks for (bytes; at most 1/16 of the ring). */
const SLACK = 64 << 10;
const ROOM_NONE = 0xffffffffffffffffn; // ROOM_AT when no writer waits for room
/** The i32 word waiters sleep on: RING_TAIL's low half (it changes whenever the tail moves). */
const TAIL_WORD = L.RING_TAIL >> 2;

/** The room protocol's words (layout.ts ROOM_*), for one thread's Core. */
export class Room {
  private readonly i32: Int32Array;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;
  private readonly u64: BigUint64Array;
  /** This thread's THR_NEED (an f64 index). */
  private readonly needAt: number;

  constructor(
    buffer: SharedArrayBuffer,
    /** The ring whose tail the waiters wait for. */
    readonly ring: Ring,
    thread: number,
  ) {
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.f64 = new Float64Array(buffer, 0, L.RING_OFF / 8);
    this.u64 = new BigUint64Array(buffer, 0, L.RING_OFF / 8);
    this.needAt = (threadOffset(thread) + L.THR_NEED) >> 3;
  }

  // ---------------------------------------------------------------- the writer's side
  /** After E_NOROOM: the ring tail from which this thread's record fits. */
  need(): number {
    return this.f64[this.needAt]!;
  }

  /** Registers (+1) or unregisters (-1) a waiting writer. */
  waiters(delta: 1 | -1): void {
    Atomics.add(this.i32, L.ROOM_WAITERS >> 2, delta);
  }

  /** Lowers ROOM_AT to `tail`: the sender wakes the waiters once its tail reaches it. */
  want(tail: number): void {
    const want = BigInt(tail);
    const i = L.ROOM_AT >> 3;
    let cur = Atomics.load(this.u64, i);
    while (cur > want) {
      const prev = Atomics.compareExchange(this.u64, i, cur, want);
      if (prev === cur) return;
      cur = prev;
    }
  }

  /** Sleeps while RING_TAIL's low word is `seen`, at most `ms`: in Atomics.wait, or with `futex`
   *  a native futex wait (the native sender's FUTEX_WAKE does not wake Atomics.wait). */
  sleep(seen: number, ms: number, futex?: NativeBinding): void {
    if (futex) futex.futexWait(this.i32, TAIL_WORD, seen, ms);
    else Atomics.wait(this.i32, TAIL_WORD, seen, ms);
  }

  /** The tail at which a writer last gave up waiting (the sender made no progress), or -1. */
  stalledAt(): number {
    return Number(Atomics.load(this.u64, L.ROOM_STALL >> 3)) - 1;
  }

  setStalled(tail: number): void {
    Atomics.store(this.u64, L.ROOM_STALL >> 3, BigInt(tail + 1));
  }

  /** A log call waited for room (`gaveUp`: and gave up at its deadline). */
  countWait(gaveUp: boolean): void {
    Atomics.add(this.u32, (gaveUp ? L.ROOM_TIMEOUTS : L.ROOM_WAITS) >> 2, 1);
  }

  /** Log calls (any thread) that waited for room, and those that gave up. */
  waits(): { waited: number; gaveUp: number } {
    return { waited: Atomics.load(this.u32, L.ROOM_WAITS >> 2), gaveUp: Atomics.load(this.u32, L.ROOM_TIMEOUTS >> 2) };
  }

  // ---------------------------------------------------------------- the sender's side
  /** After a tail store: wakes the writers waiting for room (in Atomics.wait) once the tail
   *  reached what they need. */
  notify(): void {
    if (this.reached(this.ring.tail())) Atomics.notify(this.i32, TAIL_WORD);
  }

  /** Whether waiters are due a wake-up (then ROOM_AT resets). */
  private reached(tail: number): boolean {
    if (Atomics.load(this.i32, L.ROOM_WAITERS >> 2) <= 0) return false;
    if (BigInt(tail) < Atomics.load(this.u64, L.ROOM_AT >> 3)) return false;
    Atomics.store(this.u64, L.ROOM_AT >> 3, ROOM_NONE);
    return true;
  }
}

export interface RoomWaiter {
  /** Sleeps while RING_TAIL's low word is `seen`, at most `ms`. */
  sleep(room: Room, seen: number, ms: number): void;
}

/** Makes room by sending from the calling thread (the dgram sender on the host thread). */
export interface RoomMaker {
  /** Sends until RING_TAIL reaches `need` or the spill bound is reached; returns whether it did. */
  makeRoom(need: number): boolean;
}

export function futexWaiter(native: NativeBinding): RoomWaiter {
  return { sleep: (room, seen, ms) => room.sleep(seen, ms, native) };
}

export const atomicsWaiter: RoomWaiter = {
  sleep: (room, seen, ms) => room.sleep(seen, ms),
};

const nap = new Int32Array(new SharedArrayBuffer(4));
/** For a thread that cannot wait the way its sender wakes (the native sender, no addon here): polls. */
export const pollingWaiter: RoomWaiter = {
  sleep: (_room, _seen, ms) => void Atomics.wait(nap, 0, 0, Math.min(ms, 1)),
};

/** The dgram senders of the Netconsoles of this thread, by memory: a logger attached on the host's
 *  own thread makes room as the host's logger does (it cannot sleep for its own event loop). */
const makers = new WeakMap<WasmMemory, RoomMaker>();

/** The host's dgram sender makes room for `memory` on this thread (null: no more, it closed). */
export function setRoomMaker(memory: WasmMemory, maker: RoomMaker | null): void {
  if (maker) makers.set(memory, maker);
  else makers.delete(memory);
}

/** How an attached writer waits for room in `memory` drained by the sender `sender`. */
export function waiterFor(sender: string, binding: NativeBinding | null, memory: WasmMemory): RoomWaiter | RoomMaker {
  if (sender !== 'native') return makers.get(memory) ?? atomicsWaiter;
  return binding ? futexWaiter(binding) : pollingWaiter;
}

/**
 * Waits until the ring's tail reaches `need` or `deadline` (performance.now()) passes; returns
 * whether the room is there. A writer that gives up marks the tail as stalled: until the sender
 * moves again, other log calls do not wait at all (a dead sender costs one wait, not one per call).
 */
export function waitForRoom(room: Room, how: RoomWaiter | RoomMaker, need: number, deadline: number): boolean {
  const ring = room.ring;
  for (;;) {
    const tail = ring.tail();
    if (tail >= need) return true;
    if (room.stalledAt() === tail) return false;
    const now = performance.now();
    if (now >= deadline) {
      room.setStalled(tail);
      return false;
    }
    if ('makeRoom' in how) return how.makeRoom(need);
    room.waiters(1);
    room.want(Math.max(need, Math.min(need + SLACK, need + ring.size / 16, ring.head())));
    const again = ring.tail();
    if (again < need) how.sleep(room, again | 0, Math.min(deadline - now, SLICE_MS)); // | 0: the low word
    room.waiters(-1);
  }
}
