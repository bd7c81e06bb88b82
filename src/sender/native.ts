// The native sender: a thread of the addon drains the ring with sendmmsg, or in raw mode through
// the device socket's PACKET_TX_RING (native/sender.cc, native/txring.h).
// The host side only sets and clears routes, waits for the thread's RING_TAIL to pass a position
// (grace periods, flush), and stops it. A waiter is told by the thread itself: it arms the lowest
// position waited for (notifyAt), and the thread calls onTail through a thread-safe function once
// its tail store passes it. Polling for it (setImmediate, then every 1 ms) made the first flush()
// of a process take 1.4 ms for one record, most of it the 1 ms timer, and close() wait the same
// for each grace period.
import { parseIp } from '../base/addr.js';
import { L } from '../core/layout.js';
import { MEMORY_MAX_BYTES } from '../core/module.js';
import type { NativeBinding, NativeSenderThread, NativeTuning } from '../core/native.js';
import type { Core } from '../core/wasm.js';
import { NetconsoleError } from '../base/errors.js';
import type { Route, Sender, SenderCounters } from './types.js';

/** A safety net only: how often waiters look at the tail themselves (onTail tells them first). */
const POLL_MS = 50;
const AF_PACKET = 17; // <sys/socket.h>
let toldNoRing = false; // NETCONSOLE_TX_RING is said once per process

/** A raw-mode socket without its TX ring: its frames go by sendmmsg, as fast as before the ring. */
function warnNoRing(device: string, why: string): void {
  if (toldNoRing) return;
  toldNoRing = true;
  process.emitWarning(`netconsole: raw mode on ${device}: no PACKET_TX_RING (${why}): frames are sent with sendmmsg`, {
    code: 'NETCONSOLE_TX_RING',
    detail:
      'Every frame is still sent and counted; only the rate is lower. nativeSender: { txRing: false } (or NETCONSOLE_NO_TX_RING=1) chooses sendmmsg without this warning.',
  });
}

export class NativeSender implements Sender {
  readonly name = 'native';
  private readonly thread: NativeSenderThread;
  private stopped = false;
  /** waitPast()'s callers: the position each waits for. */
  private readonly waiters: Array<{ pos: number; resolve: () => void }> = [];
  private poll: NodeJS.Timeout | null = null;

  constructor(
    private readonly core: Core,
    binding: NativeBinding,
    tuning: NativeTuning = {},
  ) {
    const layout: Record<string, number> = { ...L, ringSize: core.ring.size, memMax: MEMORY_MAX_BYTES };
    this.thread = new binding.Sender(new Uint8Array(core.memory.buffer), layout, tuning, () => this.onTail());
  }

  /** Resolves the waiters the tail passed (all of them once stopped) and arms the thread for the
   *  lowest one left. */
  private onTail(): void {
    for (;;) {
      const tail = this.core.ring.tail();
      let lowest = Infinity;
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i];
        if (this.stopped || tail >= w.pos) {
          this.waiters.splice(i, 1);
          w.resolve();
        } else if (w.pos < lowest) lowest = w.pos;
      }
      if (lowest === Infinity) {
        if (this.poll !== null) clearInterval(this.poll);
        this.poll = null;
        return;
      }
      this.thread.notifyAt(lowest);
      if (this.core.ring.tail() < lowest) break; // armed before the tail moved past it: told
    }
    // Not unref'd: while something waits (an awaited flush() at the end of a script), the process
    // stays for it, as it did for the polling timer (the thread-safe function is unref'd).
    this.poll ??= setInterval(() => this.onTail(), POLL_MS);
  }

  counters(): SenderCounters {
    const s = this.thread.stats();
    const { discarded, eagain, enobufs, retries, stalls, holds, probes, unconfirmed, ringFrames, bypassFrames } = s;
    const { gsoDatagrams, gsoFallbacks } = s;
    return {
      discarded,
      eagain,
      enobufs,
      retries,
      stalls,
      spills: 0,
      queued: 0,
      holds,
      probes,
      unconfirmed,
      ringFrames,
      bypassFrames,
      gsoDatagrams,
      gsoFallbacks,
    };
  }

  start(): void {}

  setRoute(t: number, route: Route): void {
    const fd = route.socket.fd;
    if (fd === undefined) throw new NetconsoleError('EIO', 'native sender: a route without a native socket');
    const { name, ifindex } = route.device;
    const hop = route.nextHop === null ? null : parseIp('remote_ip', route.nextHop);
    const path = [name, ifindex, hop?.family ?? 0, hop?.bytes ?? new Uint8Array(0)] as const;
    if (route.raw) {
      const why = this.thread.setRoute(t, fd, route.gen, AF_PACKET, route.raw.dstMac, route.raw.ifindex, ...path);
      if (why !== undefined) warnNoRing(name, why);
    } else
      this.thread.setRoute(
        t,
        fd,
        route.gen,
        route.family,
        parseIp('remote_ip', route.address).bytes,
        route.port,
        ...path,
      );
  }

  clearRoute(t: number): void {
    this.thread.clearRoute(t); // returns once no batch of the thread uses the route's socket
  }

  kick(): void {
    this.thread.wake();
  }

  waitPast(pos: number): Promise<void> {
    if (this.core.ring.tail() >= pos || this.stopped) return Promise.resolve();
    this.thread.wake();
    return new Promise((resolve) => {
      this.waiters.push({ pos, resolve });
      this.onTail();
    });
  }

  drainSync(timeoutMs: number): boolean {
    const head = this.core.ring.head();
    if (this.stopped) return this.core.ring.tail() >= head;
    this.thread.wake();
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = performance.now() + timeoutMs;
    while (this.core.ring.tail() < head && performance.now() < deadline) Atomics.wait(nap, 0, 0, 1);
    return this.core.ring.tail() >= head;
  }

  async close(): Promise<void> {
    await this.waitPast(this.core.ring.head());
    this.stopped = true;
    this.thread.stop();
    this.onTail(); // anyone still waiting: nothing moves the tail any more
  }
}
