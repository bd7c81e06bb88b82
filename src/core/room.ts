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
import type { Core } from './wasm.js';
import type { NativeBinding } from './native.js';

/** The longest one sleep lasts before the waiter checks again (a lost wake-up costs at most this). */
const SLICE_MS = 50;
/** Extra room a waiter asks for (bytes; at most 1/16 of the ring). */
const SLACK = 64 << 10;

export interface RoomWaiter {
  /** Sleeps while RING_TAIL's low word is `seen`, at most `ms`. */
  sleep(core: Core, seen: number, ms: number): void;
}

/** Makes room by sending from the calling thread (the dgram sender on the host thread). */
export interface RoomMaker {
  /** Sends until RING_TAIL reaches `need` or the spill bound is reached; returns whether it did. */
  makeRoom(need: number): boolean;
}

export function futexWaiter(native: NativeBinding): RoomWaiter {
  return { sleep: (core, seen, ms) => void native.futexWait(core.i32, core.tailWord, seen, ms) };
}

export const atomicsWaiter: RoomWaiter = {
  sleep: (core, seen, ms) => void Atomics.wait(core.i32, core.tailWord, seen, ms),
};

const nap = new Int32Array(new SharedArrayBuffer(4));
/** For a thread that cannot wait the way its sender wakes (the native sender, no addon here): polls. */
export const pollingWaiter: RoomWaiter = {
  sleep: (_core, _seen, ms) => void Atomics.wait(nap, 0, 0, Math.min(ms, 1)),
};

/** The dgram senders of the Netconsoles of this thread, by memory: a logger attached on the host's
 *  own thread makes room as the host's logger does (it cannot sleep for its own event loop). */
const makers = new WeakMap<WebAssembly.Memory, RoomMaker>();

/** The host's dgram sender makes room for `memory` on this thread (null: no more, it closed). */
export function setRoomMaker(memory: WebAssembly.Memory, maker: RoomMaker | null): void {
  if (maker) makers.set(memory, maker);
  else makers.delete(memory);
}

/** How an attached writer waits for room in `memory` drained by the sender `sender`. */
export function waiterFor(sender: string, binding: NativeBinding | null, memory: WebAssembly.Memory): RoomWaiter | RoomMaker {
  if (sender !== 'native') return makers.get(memory) ?? atomicsWaiter;
  return binding ? futexWaiter(binding) : pollingWaiter;
}

/**
 * Waits until the ring's tail reaches `need` or `deadline` (performance.now()) passes; returns
 * whether the room is there. A writer that gives up marks the tail as stalled: until the sender
 * moves again, other log calls do not wait at all (a dead sender costs one wait, not one per call).
 */
export function waitForRoom(core: Core, how: RoomWaiter | RoomMaker, need: number, deadline: number): boolean {
  for (;;) {
    const tail = core.ringTail();
    if (tail >= need) return true;
    if (core.roomStalledAt() === tail) return false;
    const now = performance.now();
    if (now >= deadline) {
      core.setRoomStalled(tail);
      return false;
    }
    if ('makeRoom' in how) return how.makeRoom(need);
    core.roomWaiters(1);
    core.roomWant(Math.max(need, Math.min(need + SLACK, need + core.ringSize / 16, core.ringHead())));
    const again = core.ringTail();
    if (again < need) how.sleep(core, again | 0, Math.min(deadline - now, SLICE_MS)); // | 0: the low word
    core.roomWaiters(-1);
  }
}
