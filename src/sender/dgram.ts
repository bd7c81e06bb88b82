// The dgram sender: drains the transmit ring on the host's event loop, one socket.send per
// datagram. The fallback when the native addon is missing (and what NETCONSOLE_NO_NATIVE=1 forces).
//
// Waiting: when the ring is empty it sets RING_SLEEPING and waits on RING_WAKE with
// Atomics.waitAsync; a writer on any thread that publishes while RING_SLEEPING is set notifies it
// (assembly/ring.ts ringPublish). A pending waitAsync does not keep the process alive.
// Copies: each datagram is copied out of the ring into its own Buffer before socket.send, so the
// ring slot is free at once and a send still in flight never reads a reused slot.
import type { Core } from '../wasm.js';
import { L } from '../layout.js';
import type { Route, Sender } from './types.js';

/** Atomics.waitAsync exists in Node 20 (V8 11.3) but is typed only in lib es2024. */
const waitAsync = (Atomics as unknown as {
  waitAsync(ta: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

const BATCH = 256; // slots per turn of the event loop: keeps the host responsive under a flood

interface Waiter {
  pos: number;
  resolve: () => void;
}

export class DgramSender implements Sender {
  readonly name = 'dgram';
  private readonly routes: Array<Route | undefined> = [];
  private inflight = 0;
  private waiters: Waiter[] = [];
  private running = false;
  private closed = false;
  private scheduled = false;
  private sleeping = false;
  discarded = 0;

  constructor(private readonly core: Core) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  setRoute(t: number, route: Route): void {
    this.routes[t] = route;
  }

  clearRoute(t: number): void {
    this.routes[t] = undefined;
  }

  kick(): void {
    if (this.sleeping || !this.scheduled) this.schedule();
  }

  waitPast(pos: number): Promise<void> {
    if (this.passed(pos)) return Promise.resolve();
    this.kick();
    return new Promise((resolve) => this.waiters.push({ pos, resolve }));
  }

  async close(): Promise<void> {
    await this.waitPast(this.core.ringHead());
    this.closed = true;
    this.running = false;
    this.wake();
  }

  private passed(pos: number): boolean {
    return this.core.ringTail() >= pos && this.inflight === 0;
  }

  private settle(): void {
    if (this.waiters.length === 0) return;
    const tail = this.core.ringTail();
    if (this.inflight !== 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) (tail >= w.pos ? w.resolve : () => still.push(w))();
    this.waiters = still;
  }

  private schedule(): void {
    if (this.scheduled || !this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.turn();
    });
  }

  private wake(): void {
    Atomics.add(this.core.i32, L.RING_WAKE >> 2, 1);
    Atomics.notify(this.core.i32, L.RING_WAKE >> 2);
  }

  private turn(): void {
    if (!this.running) return;
    const n = this.core.drain((t, _kind, gen, bytes) => this.send(t, gen, bytes), BATCH);
    this.settle();
    if (n > 0) return this.schedule();
    this.sleep();
  }

  private sleep(): void {
    const i32 = this.core.i32;
    const seen = Atomics.load(i32, L.RING_WAKE >> 2);
    Atomics.store(i32, L.RING_SLEEPING >> 2, 1);
    // Re-check after announcing sleep: a writer that published before it saw RING_SLEEPING did
    // not notify (ring.ts: store head, then load sleeping; here: store sleeping, then load head).
    if (this.core.ringHead() !== this.core.ringTail()) {
      Atomics.store(i32, L.RING_SLEEPING >> 2, 0);
      return this.schedule();
    }
    this.sleeping = true;
    const r = waitAsync(i32, L.RING_WAKE >> 2, seen);
    const resume = (): void => {
      this.sleeping = false;
      Atomics.store(i32, L.RING_SLEEPING >> 2, 0);
      if (!this.closed) this.schedule();
    };
    if (r.async) (r.value as Promise<string>).then(resume);
    else resume();
  }

  private send(t: number, gen: number, bytes: Uint8Array): void {
    const route = this.routes[t];
    if (route === undefined || route.gen !== gen || route.raw) {
      this.discarded++;
      return;
    }
    this.inflight++;
    route.socket.socket!.send(Buffer.from(bytes), route.port, route.address, (err) => {
      this.inflight--;
      if (err) this.core.addTargetCounter(t, L.TGT_CNT_TX_ERRORS, 1);
      this.settle();
    });
  }
}
