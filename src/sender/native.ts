// The native sender: a thread of the addon drains the ring with sendmmsg, or in raw mode through
// the device socket's PACKET_TX_RING (native/sender.cc, native/txring.h).
// The host side only sets and clears routes, waits for the thread's RING_TAIL to pass a position
// (grace periods, flush), and stops it.
import { parseIp } from '../base/addr.js';
import { L } from '../core/layout.js';
import { MEMORY_MAX_BYTES } from '../core/module.js';
import type { NativeBinding, NativeSenderThread, NativeTuning } from '../core/native.js';
import type { Core } from '../core/wasm.js';
import { NetconsoleError } from '../base/errors.js';
import type { Route, Sender, SenderCounters } from './types.js';

const POLL_MS = 1; // how often an async waiter checks the thread's progress
const QUICK_LOOKS = 8;
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

  constructor(
    private readonly core: Core,
    binding: NativeBinding,
    tuning: NativeTuning = {},
  ) {
    const layout: Record<string, number> = { ...L, ringSize: core.ring.size, memMax: MEMORY_MAX_BYTES };
    this.thread = new binding.Sender(new Uint8Array(core.memory.buffer), layout, tuning);
  }

  counters(): SenderCounters {
    const s = this.thread.stats();
    const { discarded, eagain, enobufs, retries, stalls, holds, probes, unconfirmed, ringFrames, bypassFrames } = s;
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

  async waitPast(pos: number): Promise<void> {
    if (this.core.ring.tail() >= pos) return;
    this.thread.wake();
    // The thread usually gets there within microseconds: look again on the next turns of the
    // loop first, then every POLL_MS.
    for (let i = 0; i < QUICK_LOOKS && this.core.ring.tail() < pos && !this.stopped; i++)
      await new Promise((r) => setImmediate(r));
    while (this.core.ring.tail() < pos && !this.stopped) await new Promise((r) => setTimeout(r, POLL_MS));
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
  }
}
