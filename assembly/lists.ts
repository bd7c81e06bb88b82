// The host's changes to the target table and the two lists. Each exported operation is one call
// that takes the spinlock, makes its whole change, and releases it: the lock is never released in
// the middle of a list walk (docs/locking.md invariant 2). Called by the host thread only, which owns
// configuration; `tid` is the host's lock owner id.
//
// Lock order: the host calls these holding (some of) config -> rtnl -> cleanup, so the spinlock
// is always innermost here too.
import {
  E_BADARG,
  E_BADTARGET,
  LIST_CLEANUP,
  LIST_TARGETS,
  MAX_TARGETS,
  NIL,
  ON_CLEANUP,
  ON_NONE,
  ON_TARGETS,
  ST_ENABLED,
  ST_FREE,
  TGT_CLEANUP_POS,
  TGT_GEN,
  TGT_LIST,
  TGT_NEXT,
  TGT_RL_BEGIN,
  TGT_RL_BURST,
  TGT_RL_INTERVAL,
  TGT_RL_MISSED,
  TGT_RL_PRINTED,
  TGT_STATE,
  TGT_SYSDATA,
  TGT_UD_ACTIVE,
  TGT_UD_LEN,
  UD_BUF_SIZE,
  RING_HEAD,
  LOST_SEEN,
  TGT_ADDR,
  ADDR_SIZE,
} from './layout';
import { lockAcquire, lockAssertHeld, lockRelease } from './lock';
import { targetAt } from './offsets';

@inline function valid(t: i32): bool {
  return <u32>t < <u32>MAX_TARGETS;
}

/** Removes t from the list headed at `head` (lock held). Returns false when it is not there. */
function unlinkFrom(tid: i32, head: usize, t: i32): bool {
  lockAssertHeld(tid);
  let prev = NIL;
  for (let i = load<i32>(head); i != NIL; i = load<i32>(targetAt(i) + TGT_NEXT)) {
    if (i == t) {
      const next = load<i32>(targetAt(t) + TGT_NEXT);
      if (prev == NIL) store<i32>(head, next);
      else store<i32>(targetAt(prev) + TGT_NEXT, next);
      store<i32>(targetAt(t) + TGT_NEXT, NIL);
      store<i32>(targetAt(t) + TGT_LIST, ON_NONE);
      return true;
    }
    prev = i;
  }
  return false;
}

function pushHead(tid: i32, head: usize, t: i32, list: i32): void {
  lockAssertHeld(tid);
  store<i32>(targetAt(t) + TGT_NEXT, load<i32>(head));
  store<i32>(head, t);
  store<i32>(targetAt(t) + TGT_LIST, list);
}

/** A free slot becomes a DISABLED target at the head of the target list (docs/targets.md 3). */
export function listAdd(tid: i32, t: i32, state: i32): i32 {
  if (!valid(t)) return E_BADTARGET;
  lockAcquire(tid);
  const tp = targetAt(t);
  let r = E_BADARG;
  if (load<i32>(tp + TGT_LIST) == ON_NONE && state != ST_FREE && state != ST_ENABLED) {
    store<i32>(tp + TGT_STATE, state);
    pushHead(tid, LIST_TARGETS, t, ON_TARGETS);
    r = 0;
  }
  lockRelease(tid);
  return r;
}

/**
 * Deferred cleanup, step 1 (docs/locking.md): in one spinlock section, the target takes `state` (not
 * enabled), leaves the target list for the cleanup list, and records the ring position from which
 * on no writer can have queued anything for it. Returns 0, or E_BADARG if it is not on the list.
 */
export function listToCleanup(tid: i32, t: i32, state: i32): i32 {
  if (!valid(t) || state == ST_ENABLED || state == ST_FREE) return E_BADTARGET;
  lockAcquire(tid);
  const tp = targetAt(t);
  let r = E_BADARG;
  if (load<i32>(tp + TGT_LIST) == ON_TARGETS && unlinkFrom(tid, LIST_TARGETS, t)) {
    store<i32>(tp + TGT_STATE, state);
    store<u64>(tp + TGT_CLEANUP_POS, atomic.load<u64>(RING_HEAD));
    pushHead(tid, LIST_CLEANUP, t, ON_CLEANUP);
    r = 0;
  }
  lockRelease(tid);
  return r;
}

/**
 * Step 1 for a device event: every target in `list` (`n` i32 indices at `list`, in the caller's
 * thread slot) moves to the cleanup list in ONE spinlock section, never releasing the lock in the
 * middle of the walk (the race the kernel's dual-lock fix removed). Returns how many moved.
 */
export function listToCleanupBatch(tid: i32, list: usize, n: i32, state: i32): i32 {
  if (state == ST_ENABLED || state == ST_FREE || n < 0 || n > MAX_TARGETS) return E_BADARG;
  lockAcquire(tid);
  let moved = 0;
  const pos = atomic.load<u64>(RING_HEAD);
  for (let i = 0; i < n; i++) {
    const t = load<i32>(list + (<usize>i << 2));
    if (!valid(t)) continue;
    const tp = targetAt(t);
    if (load<i32>(tp + TGT_LIST) == ON_TARGETS && unlinkFrom(tid, LIST_TARGETS, t)) {
      store<i32>(tp + TGT_STATE, state);
      store<u64>(tp + TGT_CLEANUP_POS, pos);
      pushHead(tid, LIST_CLEANUP, t, ON_CLEANUP);
      moved++;
    }
  }
  lockRelease(tid);
  return moved;
}

/** Deferred cleanup, step 3: back to the head of the target list, or dropped (state FREE). */
export function listFromCleanup(tid: i32, t: i32, state: i32): i32 {
  if (!valid(t) || state == ST_ENABLED) return E_BADTARGET;
  lockAcquire(tid);
  const tp = targetAt(t);
  let r = E_BADARG;
  if (load<i32>(tp + TGT_LIST) == ON_CLEANUP && unlinkFrom(tid, LIST_CLEANUP, t)) {
    store<i32>(tp + TGT_STATE, state);
    if (state != ST_FREE) pushHead(tid, LIST_TARGETS, t, ON_TARGETS);
    r = 0;
  }
  lockRelease(tid);
  return r;
}

/**
 * rmdir: the target leaves whichever list it is on (the target list, or the cleanup list where a
 * device event put it), its state becomes FREE, and the ring position from which on no writer can
 * have queued anything for it is recorded (its grace period). Returns the list it was on
 * (ON_TARGETS or ON_CLEANUP), or E_BADARG when it was on none.
 */
export function listRemove(tid: i32, t: i32): i32 {
  if (!valid(t)) return E_BADTARGET;
  lockAcquire(tid);
  const tp = targetAt(t);
  const list = load<i32>(tp + TGT_LIST);
  let r = E_BADARG;
  if ((list == ON_TARGETS && unlinkFrom(tid, LIST_TARGETS, t)) || (list == ON_CLEANUP && unlinkFrom(tid, LIST_CLEANUP, t))) {
    store<i32>(tp + TGT_STATE, ST_FREE);
    store<u64>(tp + TGT_CLEANUP_POS, atomic.load<u64>(RING_HEAD));
    r = list;
  }
  lockRelease(tid);
  return r;
}

/**
 * Marks a target on the target list ENABLED (its sending state was set up first), or sets
 * another state, which a target on the cleanup list may take too (a user's write of `enabled`
 * makes a DEACTIVATED target DISABLED before the device event that moved it was processed).
 * Enabling starts a new generation, so ring slots of an earlier life are told apart.
 */
export function targetSetState(tid: i32, t: i32, state: i32): i32 {
  if (!valid(t) || state == ST_FREE) return E_BADTARGET;
  lockAcquire(tid);
  const tp = targetAt(t);
  const list = load<i32>(tp + TGT_LIST);
  let r = E_BADARG;
  if (list == ON_TARGETS || (list == ON_CLEANUP && state != ST_ENABLED)) {
    if (state == ST_ENABLED && load<i32>(tp + TGT_STATE) != ST_ENABLED) {
      store<u32>(tp + TGT_GEN, load<u32>(tp + TGT_GEN) + 1);
      store<u64>(LOST_SEEN, 0); // losses from before it was disabled are reported again
    }
    store<i32>(tp + TGT_STATE, state);
    r = 0;
  }
  lockRelease(tid);
  return r;
}

/** Changes one of the settings that may change while a target is enabled. */
export function targetSet(tid: i32, t: i32, field: i32, value: i32): i32 {
  if (!valid(t)) return E_BADTARGET;
  const off = <usize>field;
  if (off != TGT_SYSDATA && off != TGT_RL_INTERVAL && off != TGT_RL_BURST) return E_BADARG;
  lockAcquire(tid);
  const tp = targetAt(t);
  store<i32>(tp + off, value);
  if (off != TGT_SYSDATA) {
    // A new rate limit starts a new interval.
    store<u64>(tp + TGT_RL_BEGIN, 0);
    store<u32>(tp + TGT_RL_PRINTED, 0);
    store<u32>(tp + TGT_RL_MISSED, 0);
  }
  lockRelease(tid);
  return 0;
}

/** Replaces an enabled target's addressing block (raw mode: remote_mac 'auto' following a
 *  neighbour change) from ADDR_SIZE bytes at `src`, under the lock: a frame is built with the old
 *  block or the new one, never a mix. */
export function targetSetAddr(tid: i32, t: i32, src: usize): i32 {
  if (!valid(t)) return E_BADARG;
  lockAcquire(tid);
  memory.copy(targetAt(t) + TGT_ADDR, src, ADDR_SIZE);
  lockRelease(tid);
  return 0;
}

/** Makes the userdata buffer that is not live (already rendered by the host, `len` bytes) live. */
export function targetSwapUserdata(tid: i32, t: i32, len: i32): i32 {
  if (!valid(t) || <u32>len > <u32>UD_BUF_SIZE) return E_BADARG;
  lockAcquire(tid);
  const tp = targetAt(t);
  store<i32>(tp + TGT_UD_ACTIVE, load<i32>(tp + TGT_UD_ACTIVE) ^ 1);
  store<i32>(tp + TGT_UD_LEN, len);
  lockRelease(tid);
  return 0;
}

/** Walks a list (under the lock) into `out` as i32 indices; returns the count. For the host's
 *  checks and tests: the lists' shape is otherwise private to the module. */
export function listRead(tid: i32, which: i32, out: usize, max: i32): i32 {
  lockAcquire(tid);
  let n = 0;
  const head = which == ON_CLEANUP ? LIST_CLEANUP : LIST_TARGETS;
  for (let i = load<i32>(head); i != NIL && n < max; i = load<i32>(targetAt(i) + TGT_NEXT)) {
    store<i32>(out + (<usize>n << 2), i);
    n++;
  }
  lockRelease(tid);
  return n;
}
