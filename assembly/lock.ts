// The target-list spinlock (kernel: target_list_lock).
//
// Why a spinlock: the write path may be called from any thread at any time and must never wait on
// anything that sleeps (docs/locking.md). Holders keep it for one message's formatting into the ring,
// a few hundred nanoseconds to a few microseconds, and the host takes it only for one list move.
//
// Lock word: 0 = free; otherwise the owner's tid (thread slot index + 1), possibly with
// LOCK_WAITERS set. Recording the owner in the word itself lets a dead owner's lock be recovered
// with a single compare-exchange that cannot race a live owner's release.
//
// Acquire: one compare-exchange on the fast path. On contention: bounded spinning with
// exponential back-off (1, 2, 4, ... 512 polls), then park. Parking is a wait on the lock word
// done in JavaScript through the `env.futexWait` import, because Node 20's baseline compiler
// (Liftoff) clobbers locals across an in-wasm memory.atomic.wait (docs/toolchain.md 2.2).
// Parking is bounded (futexWait times out), and after LOCK_STALL_WAITS timed-out waits on the
// same owner the waiter asks the host (`env.lockStalled`) whether that owner is still alive; the
// host recovers the lock of a thread that died holding it (docs/locking.md invariant 8).
import {
  LOCK_ACQUIRED_AT,
  LOCK_CONTENDED,
  LOCK_HOLD_MAX_NS,
  LOCK_RECOVERED,
  LOCK_WAITERS,
  LOCK_WORD,
} from './layout';

// futexWait(ptr, expected): Atomics.wait on the i32 at ptr with a bounded timeout. Returns
// 0 woken, 1 not-equal, 2 timed-out.
@external('env', 'futexWait')
declare function futexWait(ptr: usize, expected: i32): i32;
// lockStalled(ownerTid): the host checks whether the owner thread is alive and, if it is not,
// recovers the lock (lock_recover). Called only after a long wait.
@external('env', 'lockStalled')
declare function lockStalled(owner: i32): void;
// Monotonic nanoseconds, for the debug-build hold-time maximum only.
@external('env', 'nowNs')
declare function nowNs(): f64;

const SPIN_ROUNDS: i32 = 10; // back-off rounds before parking: 1 + 2 + ... + 512 = 1023 polls
const LOCK_STALL_WAITS: i32 = 20; // timed-out parks (futexWait's timeout each) before asking the host

@inline function ownerOf(word: i32): i32 {
  return word & ~LOCK_WAITERS;
}

export function lockAcquire(tid: i32): void {
  if (atomic.cmpxchg<i32>(LOCK_WORD, 0, tid) != 0) lockSlow(tid);
  if (isDefined(NC_DEBUG)) store<f64>(LOCK_ACQUIRED_AT, nowNs());
}

function lockSlow(tid: i32): void {
  atomic.add<u32>(LOCK_CONTENDED, 1);
  let polls = 1;
  for (let round = 0; round < SPIN_ROUNDS; round++) {
    for (let i = 0; i < polls; i++) {
      if (atomic.load<i32>(LOCK_WORD) == 0) break;
    }
    if (atomic.load<i32>(LOCK_WORD) == 0 && atomic.cmpxchg<i32>(LOCK_WORD, 0, tid) == 0) return;
    polls <<= 1;
  }
  // Park. A thread that took the lock after parking keeps LOCK_WAITERS set: others may still be
  // parked, and a spurious notify on release is cheaper than a lost wake-up.
  let stalledOn = 0;
  let timeouts = 0;
  while (true) {
    let word = atomic.load<i32>(LOCK_WORD);
    if (word == 0) {
      if (atomic.cmpxchg<i32>(LOCK_WORD, 0, tid | LOCK_WAITERS) == 0) return;
      continue;
    }
    if ((word & LOCK_WAITERS) == 0) {
      if (atomic.cmpxchg<i32>(LOCK_WORD, word, word | LOCK_WAITERS) != word) continue;
      word |= LOCK_WAITERS;
    }
    if (futexWait(LOCK_WORD, word) == 2) {
      const owner = ownerOf(word);
      if (owner != stalledOn) {
        stalledOn = owner;
        timeouts = 0;
      }
      if (++timeouts >= LOCK_STALL_WAITS) {
        timeouts = 0;
        lockStalled(owner);
      }
    }
  }
}

export function lockRelease(tid: i32): void {
  if (isDefined(NC_DEBUG)) {
    assert(ownerOf(atomic.load<i32>(LOCK_WORD)) == tid, 'spinlock released by a thread that does not hold it');
    const held = nowNs() - load<f64>(LOCK_ACQUIRED_AT);
    if (held > load<f64>(LOCK_HOLD_MAX_NS)) store<f64>(LOCK_HOLD_MAX_NS, held);
  }
  if ((atomic.xchg<i32>(LOCK_WORD, 0) & LOCK_WAITERS) != 0) atomic.notify(LOCK_WORD, 1);
}

/** Debug builds: assert the caller holds the lock (functions that need it held call this). */
@inline export function lockAssertHeld(tid: i32): void {
  if (isDefined(NC_DEBUG)) assert(ownerOf(atomic.load<i32>(LOCK_WORD)) == tid, 'spinlock not held');
}

/** Release the lock if `tid` holds it (its thread died holding it). Returns 1 if it did. */
export function lockRecover(tid: i32): i32 {
  while (true) {
    const word = atomic.load<i32>(LOCK_WORD);
    if (word == 0 || ownerOf(word) != tid) return 0;
    if (atomic.cmpxchg<i32>(LOCK_WORD, word, 0) == word) {
      atomic.add<u32>(LOCK_RECOVERED, 1);
      atomic.notify(LOCK_WORD, -1);
      return 1;
    }
  }
}

export function lockOwner(): i32 {
  return ownerOf(atomic.load<i32>(LOCK_WORD));
}
