// The host's locks (docs/locking.md), and the lock-order checker.
//
// Lock order: config -> rtnl -> cleanup -> spinlock (outermost first).
//   config   (kernel: dynamic_netconsole_mutex) an async mutex around every configuration change;
//   rtnl     (kernel: RTNL) an async mutex serializing device events, device look-ups and socket setup;
//   cleanup  (kernel: target_cleanup_list_lock) an async mutex; holders may wait (close sockets,
//            wait for the sender to pass a ring position);
//   spinlock the target-list spinlock in shared memory, taken inside each list operation of the
//            WebAssembly module; the host never holds it across an await (it cannot: every list
//            operation is one synchronous call).
//
// Why async mutexes and not Atomics-based ones: their holders wait (for sockets to close, for the
// sender to drain), and only the host thread takes them; waiting on them must not block the
// event loop that completes those waits.
//
// The checker tracks which of these locks the current logical operation holds, and throws
// LockOrderError (EDEADLK) on any acquisition against the order, including taking a lock the
// operation already holds, which would deadlock. It is always on: configuration is rare and the
// write path never touches it. What it costs the application around it is nothing while no
// mutex is held:
//  * a mutex is held across awaits, so its holders are tracked per async context, with an
//    AsyncLocalStorage; but an enabled AsyncLocalStorage turns on Node's promise hooks for the
//    whole process (Node 20: every `await` in the application 2.7x slower: 107 -> 285 ns measured
//    in a loop of awaits), so the storage is enabled only while some mutex holder runs, and
//    disabled again when the last one ends (test/locks-cost.test.ts);
//  * the spinlock is held only for one synchronous call, so a plain stack tracks it exactly (no
//    other code runs meanwhile); a function that returns a promise under it is refused, since
//    the spinlock is never held across an await.
import { AsyncLocalStorage } from 'node:async_hooks';
import { LockOrderError } from '../base/errors.js';

export type LockName = 'config' | 'rtnl' | 'cleanup' | 'spinlock';
const LOCK_ORDER: readonly LockName[] = ['config', 'rtnl', 'cleanup', 'spinlock'];
const RANK: Record<LockName, number> = { config: 0, rtnl: 1, cleanup: 2, spinlock: 3 };
const NONE: readonly LockName[] = [];

class LockOrderChecker {
  private readonly held = new AsyncLocalStorage<readonly LockName[]>();
  /** Mutex holders running now: while 0, `held` is disabled and no context holds a mutex. */
  private holders = 0;
  /** The synchronous holdings (the spinlock), innermost last. */
  private readonly sync: LockName[] = [];
  /** Violations seen (also thrown); the torture test asserts there were none. */
  violations = 0;

  current(): readonly LockName[] {
    const mutexes = this.holders > 0 ? (this.held.getStore() ?? NONE) : NONE;
    return this.sync.length === 0 ? mutexes : [...mutexes, ...this.sync];
  }

  /** Throws if `name` may not be taken now. */
  check(name: LockName): void {
    const held = this.current();
    for (const h of held) {
      if (RANK[h] >= RANK[name]) {
        this.violations++;
        throw new LockOrderError(
          `lock order violation: taking ${name} while holding ${held.join(' -> ')} (order: ${LOCK_ORDER.join(' -> ')})`,
        );
      }
    }
  }

  /** The assertion of functions that need a lock held (always on, like check()). */
  assertHeld(name: LockName, what: string): void {
    if (!this.current().includes(name)) {
      this.violations++;
      throw new LockOrderError(
        `${what} needs the ${name} lock held (holding: ${this.current().join(' -> ') || 'nothing'})`,
      );
    }
  }

  /** Runs fn holding mutex `name` in fn's async context (checked by the caller). */
  async runHolding<T>(name: LockName, fn: () => Promise<T> | T): Promise<T> {
    const store = [...this.current(), name];
    this.holders++;
    try {
      return await this.held.run(store, fn);
    } finally {
      // The last holder gone: no context holds a mutex, and the promise hooks go off.
      if (--this.holders === 0) this.held.disable();
    }
  }

  /** Runs the synchronous fn holding `name` (the spinlock). */
  runHoldingSync<T>(name: LockName, fn: () => T): T {
    this.sync.push(name);
    try {
      const r = fn();
      if (r instanceof Promise) {
        this.violations++;
        r.catch(() => {}); // refused below: its rejection is not news
        throw new LockOrderError(`the ${name} is held for one synchronous call, never across an await`);
      }
      return r;
    } finally {
      this.sync.pop();
    }
  }
}

/** A fair (FIFO) async mutex checked against the lock order. */
class AsyncMutex {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly name: Exclude<LockName, 'spinlock'>,
    private readonly checker: LockOrderChecker,
  ) {}

  /** Runs fn holding the mutex; the checker sees it held in fn's async context. */
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    this.checker.check(this.name);
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.tail;
    this.tail = before.then(() => mine);
    await before;
    try {
      return await this.checker.runHolding(this.name, fn);
    } finally {
      release();
    }
  }
}

/** The three host mutexes and the checker of one Netconsole. */
export class HostLocks {
  readonly checker = new LockOrderChecker();
  readonly config = new AsyncMutex('config', this.checker);
  readonly rtnl = new AsyncMutex('rtnl', this.checker);
  readonly cleanup = new AsyncMutex('cleanup', this.checker);

  /** Every host call into a list operation of the module goes through here. */
  spin<T>(fn: () => T): T {
    this.checker.check('spinlock');
    return this.checker.runHoldingSync('spinlock', fn);
  }
}
