// The dgram sender: drains the transmit ring on the host's event loop, one socket.send per
// datagram. The fallback when the native addon is missing (and what NETCONSOLE_NO_NATIVE=1 forces).
//
// Waiting: when the ring is empty it sets RING_SLEEPING and waits on RING_WAKE with
// Atomics.waitAsync; a writer on any thread that published while RING_SLEEPING is set notifies it
// (Core.ring.wakeSender). A pending waitAsync does not keep the process alive.
// Sending: the sockets resolve addresses synchronously (sockets.ts), so socket.send hands a
// datagram to the kernel before it returns whenever the socket's buffer has room, from a scratch
// copy of its slot; what the kernel cannot take yet waits in Node's send queue, and then the
// socket gets nothing more until it is called back: its target's slots are held in the ring
// meanwhile (outlets.ts). So Node's queues hold at most one datagram per socket. One callback
// per socket tells each datagram's outcome. A turn sends up to TURN_MAX slots, a pass of BATCH at
// a time with the passes' callbacks run between.
// Room (overflow 'wait'): workers sleep in Atomics.wait and are notified after each tail store;
// a log call on the host's own thread cannot wait for this loop, so makeRoom() sends from the
// ring at once (the spill): to a socket whose queue is not empty it queues copies, up to
// SPILL_MAX bytes waiting in the sockets' send queues (room.ts).
// Exit: drainSync() sends everything published, synchronously, as far as the sockets take it
// (spilling as makeRoom does).
// Paths (path.ts): a target whose path cannot carry is held as the native sender holds it: its
// slots stay in the ring (Core.ring.walk) while later slots of other targets go out, RING_TAIL stays at
// its oldest one; its next hop is probed with its oldest datagram; past holdMs (or once it is no
// longer enabled) what it holds is lost, counted. After each turn, a device that lost its carrier
// makes its targets' messages still in flight (handed to sockets, no callback yet) unconfirmed.
import type { Core } from '../core/wasm.js';
import { L } from '../core/layout.js';
import type { RoomMaker } from '../core/room.js';
import type { WalkAnswer } from '../core/ring.js';
import { TargetPath, type GateHooks, type NeighbourStates, type Verdict } from './path.js';
import type { Route, Sender, SenderCounters } from './types.js';
import { PassLog } from './pass-log.js';
import { Outlets, type Outlet } from './outlets.js';
import { MessageBook } from './message-book.js';
import { Holds } from './holds.js';

/** Slots a turn of the event loop sends at most: the host's other work gets a turn between. */
const TURN_MAX = 8192;
/**
 * Slots a pass visits at most (and so the most messages a carrier loss during one can leave
 * unconfirmed). A turn sends a pass, then lets the sends' callbacks run (Node calls each back on
 * a tick of its own) before the next: fewer of those wait at once, so fewer survive V8's
 * young-generation collections, which then grow the heap less (8 targets, 1,000 records a turn:
 * a peak of 21 MiB of heap for plain dgram.send in chunks of 256 or 1,024, 37 MiB in one go).
 */
const BATCH = 256;
const HELD_LOOK_MS = 1; // holding with nothing else to send: look at the paths again this often
/** Bytes that may wait in the sockets' send queues before a host-thread log call stops making room. */
const SPILL_MAX = 16 << 20;

interface Waiter {
  pos: number;
  resolve: () => void;
}

export class DgramSender implements Sender, RoomMaker {
  readonly name = 'dgram';
  private readonly routes: Array<Route | undefined> = [];
  private readonly paths: Array<TargetPath | undefined> = [];
  /** Each target's socket's outlet (outlets.ts). */
  private readonly outletOf: Array<Outlet | undefined> = [];
  private readonly outlets = new Outlets(
    (err, t, msg, report, lost) => this.sent(err, t, msg, report, lost),
    () => this.schedule(),
  );
  private readonly book: MessageBook;
  /** Datagrams handed to sockets and not yet called back, per target and in all. */
  private readonly inflightOf = new Int32Array(L.MAX_TARGETS);
  private inflight = 0;
  /** The losses a probe's message tells when it is an in-band report. */
  private readonly probeReport = new Float64Array(L.MAX_TARGETS);
  /** The targets whose slots between RING_TAIL and `scan` were left in the ring (holds.ts). */
  private readonly heldTargets = new Holds(this.paths, this.outletOf, (t) => this.gate(t));
  private readonly touched = new Uint8Array(L.MAX_TARGETS);
  /** What each pass handed over, checked against neighbour failures at the next (pass-log.ts). */
  private readonly passLog = new PassLog();
  /** [RING_TAIL, scan): slots sent or lost (KF_DONE), PAD, or held. */
  private scan = 0;
  private routesChanged = false;
  private neighbours: NeighbourStates | null = null;
  private now = 0;
  private visited = 0;
  /** Slots this turn visited so far. */
  private turnSlots = 0;
  private waiters: Waiter[] = [];
  private running = false;
  /** Making room or draining at exit: a socket with a queued datagram gets copies (the spill). */
  private spilling = false;
  private closed = false;
  private scheduled = false;
  private sleeping = false;
  private discarded = 0;
  private spills = 0;
  private holds = 0;
  private probes = 0;
  private readonly visit = (t: number, kind: number, gen: number, bytes: Uint8Array, aux: number): WalkAnswer =>
    this.slot(t, kind, gen, bytes, aux);
  private readonly loseUnconfirmed = (t: number, msg: number, report: number): void =>
    this.loseMessage(t, msg, true, report);

  /** `holdMs`: how long a target's datagrams wait for a path that cannot carry them. */
  constructor(
    private readonly core: Core,
    private readonly holdMs = 2000,
  ) {
    this.scan = core.ring.tail();
    this.book = new MessageBook(core.targets);
  }

  /** Where next hops' states come from (the host's neighbour table); without it none is waited for. */
  watchNeighbours(n: NeighbourStates): void {
    this.neighbours = n;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  setRoute(t: number, route: Route): void {
    this.paths[t]?.close();
    this.routes[t] = route;
    this.paths[t] = new TargetPath(route.device, route.raw ? null : route.nextHop, this.neighbours);
    this.routesChanged = true;
    this.outletOf[t] = route.socket.socket ? this.outlets.get(route.socket.socket) : undefined;
  }

  clearRoute(t: number): void {
    this.routes[t] = undefined;
    this.paths[t]?.close();
    this.paths[t] = undefined;
    this.outletOf[t] = undefined;
    this.routesChanged = true;
  }

  kick(): void {
    if (this.sleeping || !this.scheduled) this.schedule();
  }

  counters(): SenderCounters {
    const { discarded, spills, holds, probes } = this;
    const { unconfirmed } = this.book;
    return {
      discarded,
      eagain: 0,
      enobufs: 0,
      retries: 0,
      stalls: 0,
      spills,
      queued: this.outlets.queued(),
      holds,
      probes,
      unconfirmed,
      ringFrames: 0,
      bypassFrames: 0,
      gsoDatagrams: 0,
      gsoFallbacks: 0,
    };
  }

  waitPast(pos: number): Promise<void> {
    if (this.passed(pos)) return Promise.resolve();
    this.kick();
    return new Promise((resolve) => this.waiters.push({ pos, resolve }));
  }

  async close(): Promise<void> {
    await this.waitPast(this.core.ring.head());
    this.closed = true;
    this.running = false;
    for (const p of this.paths) p?.close();
    this.core.ring.wakeDgramSender();
  }

  /** A log call on the host thread found no room: send from the ring now (room.ts). */
  makeRoom(need: number): boolean {
    this.spills++;
    while (this.core.ring.tail() < need) {
      if (this.outlets.queued() > SPILL_MAX) return false;
      const before = this.core.ring.tail();
      this.spill(BATCH);
      if (this.core.ring.tail() === before) return false;
    }
    return true;
  }

  /** Sends everything published, synchronously (process exit); true when the kernel has it all. */
  drainSync(timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    while (this.core.ring.tail() < this.core.ring.head() && performance.now() < deadline) this.spill(BATCH);
    return this.core.ring.tail() >= this.core.ring.head() && this.outlets.queued() === 0;
  }

  /** A pass that cannot wait for the event loop: sockets with a queued datagram get copies. */
  private spill(max: number): void {
    this.spilling = true;
    try {
      this.drainSome(max);
    } finally {
      this.spilling = false;
    }
  }

  private passed(pos: number): boolean {
    return this.core.ring.tail() >= pos && this.inflight === 0;
  }

  private settle(): void {
    if (this.waiters.length === 0 || this.inflight !== 0) return;
    const tail = this.core.ring.tail();
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

  /** One pass over at most `max` slots (native/drain.cc Run, one iteration); returns the slots visited. */
  private drainSome(max: number): number {
    this.now = performance.now();
    this.passLog.check(this.neighbours, this.paths, this.now, this.loseUnconfirmed);
    const tail = this.core.ring.tail();
    const h = this.heldTargets;
    // Back to RING_TAIL when a held target may move on, or, to spill, when one waits for its socket.
    const held = h.pathHolding() || h.socketHolding();
    const rescan = this.routesChanged || (this.spilling && h.socketHolding()) || (held && h.mayMove(this.now));
    this.routesChanged = false;
    h.startPass(rescan);
    const from = rescan ? tail : Math.max(this.scan, tail);
    this.touched.fill(0);
    this.visited = 0;
    const { end, held: firstHeld } = this.core.ring.walk(from, max, this.visit);
    this.scan = end;
    this.core.ring.publishTail(!rescan && tail < from ? tail : firstHeld >= 0 ? firstHeld : end);
    this.confirm();
    this.core.room.notify();
    return this.visited;
  }

  private turn(): void {
    this.turnSlots = 0;
    this.chunk();
  }

  private readonly chunk = (): void => {
    if (!this.running) return;
    const n = this.drainSome(BATCH);
    this.turnSlots += n;
    this.settle();
    if (n === BATCH && this.turnSlots < TURN_MAX) return process.nextTick(this.chunk); // after their callbacks
    if (n > 0) return this.schedule();
    if (this.heldTargets.pathHolding()) {
      setTimeout(() => this.schedule(), HELD_LOOK_MS); // look at the held paths again soon
      return;
    }
    // Held for a socket's queue only: its callback schedules the next turn (outlets.ts).
    if (this.heldTargets.socketHolding() && this.outlets.anyBlocked()) return;
    this.sleep();
  };

  private sleep(): void {
    const seen = this.core.ring.senderSleep(1);
    if (seen === null) return this.schedule(); // a writer published meanwhile
    this.sleeping = true;
    const r = this.core.ring.sleepAsync(seen);
    const resume = (): void => {
      this.sleeping = false;
      this.core.ring.senderAwake();
      if (!this.closed) this.schedule();
    };
    if (r.async) (r.value as Promise<string>).then(resume);
    else resume();
  }

  private hooks(t: number): GateHooks {
    return {
      held: () => {
        this.holds++;
        this.core.targets.countHold(t);
      },
      probeLost: (msg, unconfirmed) => this.loseMessage(t, msg, unconfirmed, this.probeReport[t]!),
    };
  }

  private gate(t: number): Verdict {
    return this.paths[t]!.gate(this.now, this.holdMs, this.core.targets.targetEnabled(t), this.hooks(t));
  }

  private slot(t: number, kind: number, gen: number, bytes: Uint8Array, aux: number): WalkAnswer {
    this.visited++;
    const route = this.routes[t];
    if (route === undefined || route.gen !== gen || route.raw) {
      this.discarded++;
      return 'done';
    }
    const v = this.heldTargets.verdictOf(t);
    const outlet = this.outletOf[t]!;
    const forSocket = v !== 'lose' && outlet.blocked && !this.spilling; // Node's queue has one of its socket's
    if (v === 'hold' || forSocket) {
      this.heldTargets.hold(t, forSocket);
      return 'held';
    }
    const msg = this.book.take(t, kind, aux);
    const report = this.book.report(t);
    if (this.book.restOfLost(t, msg, kind)) return 'done'; // the rest of a lost message is not sent
    if (v === 'lose') {
      this.core.targets.countTransmitError(t, false);
      this.loseMessage(t, msg, false, report);
      return 'done';
    }
    if (v === 'probe') {
      this.paths[t]!.probed(msg, this.now);
      this.probeReport[t] = report;
      this.probes++;
      this.heldTargets.probing(t);
    }
    this.send(t, route, outlet, msg, report, bytes);
    return 'done';
  }

  private send(t: number, route: Route, outlet: Outlet, msg: number, report: number, bytes: Uint8Array): void {
    this.touched[t] = 1;
    if (this.neighbours !== null) this.passLog.sent(t, msg, report);
    try {
      if (outlet.blocked) outlet.sendCopy(bytes, route.port, route.address, t, msg, report);
      else outlet.send(bytes, route.port, route.address, t, msg, report);
      this.inflight++;
      this.inflightOf[t]++;
    } catch (err) {
      // A socket closed under it, or a destination the kernel cannot take.
      this.sent(err as Error, t, msg, report, false, false);
    }
  }

  /** A datagram of target t's message `msg` was called back (`err`: it did not go out). */
  private sent(err: Error | null, t: number, msg: number, report: number, lost: boolean, inFlight = true): void {
    if (inFlight) {
      this.inflight--;
      this.inflightOf[t]--;
    }
    if (err) {
      this.core.targets.countTransmitError(t, false);
      if (!lost) this.loseMessage(t, msg, false, report);
      this.paths[t]?.sendFailed(msg, performance.now());
    }
    this.settle();
  }

  /**
   * Message `msg` of target t is lost (`unconfirmed`: handed to the kernel as its device lost its
   * carrier): counted once; the rest of it is not sent, and its datagrams still in flight are not
   * counted again when called back.
   */
  private loseMessage(t: number, msg: number, unconfirmed: boolean, report: number): void {
    for (const o of this.outlets) o.markLost(t, msg);
    this.countLost(t, msg, unconfirmed, report);
  }

  /** Counts message `msg` of target t lost, once (message-book.ts). */
  private countLost(t: number, msg: number, unconfirmed: boolean, report: number): void {
    if (!this.book.count(t, msg, unconfirmed, report)) return;
    const probe = this.paths[t]?.probe;
    if (probe != null && probe.msg === msg) probe.counted = true;
  }

  /** After a pass: the messages in flight through a device that lost its carrier are unconfirmed. */
  private confirm(): void {
    for (let t = 0; t < L.MAX_TARGETS; t++) {
      const p = this.paths[t];
      if (p === undefined || (this.touched[t] === 0 && this.inflightOf[t] === 0)) continue;
      if (p.keptCarrier(this.now)) continue;
      this.touched[t] = 0;
      const lose = (msg: number, report: number): void => this.countLost(t, msg, true, report);
      for (const o of this.outlets) o.markLost(t, -1, lose); // a carrier lost: rare
    }
    this.passLog.endPass(this.now, this.touched);
  }
}
