// The dgram sender: drains the transmit ring on the host's event loop, one socket.send per
// datagram. The fallback when the native addon is missing (and what NETCONSOLE_NO_NATIVE=1 forces).
//
// Waiting: when the ring is empty it sets RING_SLEEPING and waits on RING_WAKE with
// Atomics.waitAsync; a writer on any thread that published while RING_SLEEPING is set notifies it
// (Core.wakeSender). A pending waitAsync does not keep the process alive.
// Sending: the sockets resolve addresses synchronously (sockets.ts), so socket.send hands a
// datagram to the kernel before it returns whenever the socket's buffer has room; what it cannot
// take yet waits in Node's send queue (libuv retries it when the socket becomes writable). Each
// datagram is copied out of the ring into its own Buffer, so its slot is free at once.
// Room (overflow 'wait'): workers sleep in Atomics.wait and are notified after each tail store;
// a log call on the host's own thread cannot wait for this loop, so makeRoom() sends from the
// ring at once, up to SPILL_MAX bytes waiting in the sockets' send queues (room.ts).
// Exit: drainSync() sends everything published, synchronously, as far as the sockets take it.
import type { Socket } from 'node:dgram';
import type { Core } from '../core/wasm.js';
import { L } from '../core/layout.js';
import type { RoomMaker } from '../core/room.js';
import type { Route, Sender, SenderCounters } from './types.js';

/** Atomics.waitAsync exists in Node 20 (V8 11.3) but is typed only in lib es2024. */
const waitAsync = (Atomics as unknown as {
  waitAsync(ta: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

const BATCH = 256; // slots per turn of the event loop: keeps the host responsive under a flood
/** Bytes that may wait in the sockets' send queues before a host-thread log call stops making room. */
export const SPILL_MAX = 16 << 20;

interface Waiter {
  pos: number;
  resolve: () => void;
}

export class DgramSender implements Sender, RoomMaker {
  readonly name = 'dgram';
  private readonly routes: Array<Route | undefined> = [];
  /** Sockets sent through, for the spill bound and the exit drain. */
  private readonly sockets = new Set<Socket>();
  // Loss counting per message (a message's datagrams share its number; KF_FIRST starts the next).
  private readonly msgNo = new Float64Array(L.MAX_TARGETS);
  private readonly lostNo = new Float64Array(L.MAX_TARGETS).fill(-1);
  private inflight = 0;
  private waiters: Waiter[] = [];
  private running = false;
  private closed = false;
  private scheduled = false;
  private sleeping = false;
  private discarded = 0;
  private spills = 0;
  private readonly visit = (t: number, kind: number, gen: number, bytes: Uint8Array): void => this.send(t, kind, gen, bytes);

  constructor(private readonly core: Core) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  setRoute(t: number, route: Route): void {
    this.routes[t] = route;
    if (route.socket.socket) this.sockets.add(route.socket.socket);
  }

  clearRoute(t: number): void {
    this.routes[t] = undefined;
  }

  kick(): void {
    if (this.sleeping || !this.scheduled) this.schedule();
  }

  counters(): SenderCounters {
    return { discarded: this.discarded, eagain: 0, enobufs: 0, retries: 0, stalls: 0, spills: this.spills, queued: this.queued(), holds: 0, probes: 0, unconfirmed: 0 };
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
    this.core.wakeDgramSender();
  }

  /** A log call on the host thread found no room: send from the ring now (room.ts). */
  makeRoom(need: number): boolean {
    this.spills++;
    while (this.core.ringTail() < need) {
      if (this.queued() > SPILL_MAX) return false;
      const before = this.core.ringTail();
      this.drainSome(BATCH);
      if (this.core.ringTail() === before) return false;
    }
    return true;
  }

  /** Sends everything published, synchronously (process exit); true when the kernel has it all. */
  drainSync(timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    while (this.core.ringTail() < this.core.ringHead() && performance.now() < deadline) this.drainSome(BATCH);
    return this.core.ringTail() >= this.core.ringHead() && this.queued() === 0;
  }

  /** Bytes waiting in the sockets' send queues (handed to socket.send, not yet to the kernel). */
  private queued(): number {
    let n = 0;
    for (const s of this.sockets) {
      try {
        n += s.getSendQueueSize();
      } catch {
        this.sockets.delete(s); // closed
      }
    }
    return n;
  }

  private passed(pos: number): boolean {
    return this.core.ringTail() >= pos && this.inflight === 0;
  }

  private settle(): void {
    if (this.waiters.length === 0 || this.inflight !== 0) return;
    const tail = this.core.ringTail();
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

  private drainSome(max: number): number {
    const n = this.core.drain(this.visit, max);
    this.core.notifyRoom();
    return n;
  }

  private turn(): void {
    if (!this.running) return;
    const n = this.drainSome(BATCH);
    this.settle();
    if (n > 0) return this.schedule();
    this.sleep();
  }

  private sleep(): void {
    const seen = this.core.senderSleep(1);
    if (seen === null) return this.schedule(); // a writer published meanwhile
    this.sleeping = true;
    const r = waitAsync(this.core.i32, this.core.wakeWord, seen);
    const resume = (): void => {
      this.sleeping = false;
      this.core.senderAwake();
      if (!this.closed) this.schedule();
    };
    if (r.async) (r.value as Promise<string>).then(resume);
    else resume();
  }

  private send(t: number, kind: number, gen: number, bytes: Uint8Array): void {
    const route = this.routes[t];
    if (route === undefined || route.gen !== gen || route.raw) {
      this.discarded++;
      return;
    }
    if (kind & L.KF_FIRST) this.msgNo[t]++;
    const msg = this.msgNo[t];
    if (this.lostNo[t] === msg) return; // the rest of a lost message is not sent
    this.inflight++;
    try {
      route.socket.socket!.send(Buffer.from(bytes), route.port, route.address, (err) => {
        this.inflight--;
        if (err) this.lose(t, msg);
        this.settle();
      });
    } catch {
      this.inflight--; // a socket closed under it, or a destination the kernel cannot take
      this.lose(t, msg);
    }
  }

  /** A datagram of message `msg` could not be sent: a transmit error, and the message is lost. */
  private lose(t: number, msg: number): void {
    const first = this.lostNo[t] !== msg;
    this.lostNo[t] = msg;
    this.core.countTransmitError(t, first);
  }
}
