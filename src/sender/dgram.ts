// The dgram sender: drains the transmit ring on the host's event loop, one socket.send per
// datagram. The fallback when the native addon is missing (and what NETCONSOLE_NO_NATIVE=1 forces).
//
// Waiting: when the ring is empty it sets RING_SLEEPING and waits on RING_WAKE with
// Atomics.waitAsync; a writer on any thread that published while RING_SLEEPING is set notifies it
// (Core.ring.wakeSender). A pending waitAsync does not keep the process alive.
// Sending: the sockets resolve addresses synchronously (sockets.ts), so socket.send hands a
// datagram to the kernel before it returns whenever the socket's buffer has room; what it cannot
// take yet waits in Node's send queue (libuv retries it when the socket becomes writable). Each
// datagram is copied out of the ring into its own Buffer, so its slot is free at once.
// Room (overflow 'wait'): workers sleep in Atomics.wait and are notified after each tail store;
// a log call on the host's own thread cannot wait for this loop, so makeRoom() sends from the
// ring at once, up to SPILL_MAX bytes waiting in the sockets' send queues (room.ts).
// Exit: drainSync() sends everything published, synchronously, as far as the sockets take it.
// Paths (path.ts): a target whose path cannot carry is held as the native sender holds it: its
// slots stay in the ring (Core.ring.walk) while later slots of other targets go out, RING_TAIL stays at
// its oldest one; its next hop is probed with its oldest datagram; past holdMs (or once it is no
// longer enabled) what it holds is lost, counted. After each turn, a device that lost its carrier
// makes its targets' messages still in flight (handed to sockets, no callback yet) unconfirmed.
import type { Socket } from 'node:dgram';
import type { Core } from '../core/wasm.js';
import { L } from '../core/layout.js';
import type { RoomMaker } from '../core/room.js';
import type { WalkAnswer } from '../core/ring.js';
import { TargetPath, type GateHooks, type NeighbourStates, type Verdict } from './path.js';
import type { Route, Sender, SenderCounters } from './types.js';
import { PassLog } from './pass-log.js';

const BATCH = 256; // slots per turn of the event loop: keeps the host responsive under a flood
const HELD_LOOK_MS = 1; // holding with nothing else to send: look at the paths again this often
/** Bytes that may wait in the sockets' send queues before a host-thread log call stops making room. */
const SPILL_MAX = 16 << 20;

interface Waiter {
  pos: number;
  resolve: () => void;
}

/** A message with datagrams handed to a socket and not yet called back. */
interface InFlight {
  pending: number;
  lost: boolean;
  /** The losses it tells when it is an in-band report (0: a log message). */
  report: number;
}

export class DgramSender implements Sender, RoomMaker {
  readonly name = 'dgram';
  private readonly routes: Array<Route | undefined> = [];
  private readonly paths: Array<TargetPath | undefined> = [];
  /** Sockets sent through, for the spill bound and the exit drain. */
  private readonly sockets = new Set<Socket>();
  // Loss counting per message (a message's datagrams share its number; KF_FIRST starts the next).
  private readonly msgNo = new Float64Array(L.MAX_TARGETS);
  private readonly lostNo = new Float64Array(L.MAX_TARGETS).fill(-1);
  private readonly inFlight: Array<Map<number, InFlight>> = Array.from({ length: L.MAX_TARGETS }, () => new Map());
  /** The losses the current message (msgNo) tells when it is an in-band report, and the probe's. */
  private readonly reportOf = new Float64Array(L.MAX_TARGETS);
  private readonly probeReport = new Float64Array(L.MAX_TARGETS);
  /** Some slot of the target between RING_TAIL and `scan` waits for its path. */
  private readonly hasHeld = new Uint8Array(L.MAX_TARGETS);
  /** Gate's answer per target, once per turn (-1: not asked yet). */
  private readonly verdict = new Int8Array(L.MAX_TARGETS);
  private readonly touched = new Uint8Array(L.MAX_TARGETS);
  /** What each pass handed over, checked against neighbour failures at the next (pass-log.ts). */
  private readonly passLog = new PassLog();
  /** The last messages counted lost, per target (each is counted once). */
  private readonly lostRecent: number[][] = Array.from({ length: L.MAX_TARGETS }, () => []);
  private static readonly VERDICTS: readonly Verdict[] = ['send', 'hold', 'lose', 'probe'];
  /** [RING_TAIL, scan): slots sent or lost (KF_DONE), PAD, or held. */
  private scan = 0;
  private routesChanged = false;
  private neighbours: NeighbourStates | null = null;
  private now = 0;
  private visited = 0;
  private inflight = 0;
  private waiters: Waiter[] = [];
  private running = false;
  private closed = false;
  private scheduled = false;
  private sleeping = false;
  private discarded = 0;
  private spills = 0;
  private holds = 0;
  private probes = 0;
  private unconfirmed = 0;
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
    if (route.socket.socket) this.sockets.add(route.socket.socket);
  }

  clearRoute(t: number): void {
    this.routes[t] = undefined;
    this.paths[t]?.close();
    this.paths[t] = undefined;
    this.routesChanged = true;
  }

  kick(): void {
    if (this.sleeping || !this.scheduled) this.schedule();
  }

  counters(): SenderCounters {
    const { discarded, spills, holds, probes, unconfirmed } = this;
    return {
      discarded,
      eagain: 0,
      enobufs: 0,
      retries: 0,
      stalls: 0,
      spills,
      queued: this.queued(),
      holds,
      probes,
      unconfirmed,
      ringFrames: 0,
      bypassFrames: 0,
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
      if (this.queued() > SPILL_MAX) return false;
      const before = this.core.ring.tail();
      this.drainSome(BATCH);
      if (this.core.ring.tail() === before) return false;
    }
    return true;
  }

  /** Sends everything published, synchronously (process exit); true when the kernel has it all. */
  drainSync(timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    while (this.core.ring.tail() < this.core.ring.head() && performance.now() < deadline) this.drainSome(BATCH);
    return this.core.ring.tail() >= this.core.ring.head() && this.queued() === 0;
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
    const rescan = this.routesChanged || (this.holding() && this.heldMayMove());
    this.routesChanged = false;
    if (rescan) this.hasHeld.fill(0);
    const from = rescan ? tail : Math.max(this.scan, tail);
    this.verdict.fill(-1);
    this.touched.fill(0);
    this.visited = 0;
    const { end, held } = this.core.ring.walk(from, max, this.visit);
    this.scan = end;
    this.core.ring.publishTail(!rescan && tail < from ? tail : held >= 0 ? held : end);
    this.confirm();
    this.core.room.notify();
    return this.visited;
  }

  private turn(): void {
    if (!this.running) return;
    const n = this.drainSome(BATCH);
    this.settle();
    if (n > 0) return this.schedule();
    if (this.holding()) {
      setTimeout(() => this.schedule(), HELD_LOOK_MS); // look at the held paths again soon
      return;
    }
    this.sleep();
  }

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

  /** Whether some target is held, has slots waiting or a probe out: its path is looked at again soon. */
  private holding(): boolean {
    for (let t = 0; t < L.MAX_TARGETS; t++) {
      const p = this.paths[t];
      if (this.hasHeld[t] !== 0 || p?.probe != null || p?.holding === true) return true;
    }
    return false;
  }

  /** Whether some held target can move on (its path is back, it is given up, or it may probe). */
  private heldMayMove(): boolean {
    let move = false;
    for (let t = 0; t < L.MAX_TARGETS; t++) {
      const p = this.paths[t];
      if (this.hasHeld[t] !== 0) {
        if (p === undefined || this.gate(t) !== 'hold') move = true;
      } else if (p?.holding === true && p.probe === null) {
        p.settle(this.now); // its path may be back with nothing waiting: the hold ends there
      }
    }
    return move;
  }

  private slot(t: number, kind: number, gen: number, bytes: Uint8Array, aux: number): WalkAnswer {
    this.visited++;
    const route = this.routes[t];
    if (route === undefined || route.gen !== gen || route.raw) {
      this.discarded++;
      return 'done';
    }
    let v: Verdict = 'hold'; // an older slot of it waits: so does this one
    if (this.hasHeld[t] === 0) {
      if (this.verdict[t] < 0) this.verdict[t] = DgramSender.VERDICTS.indexOf(this.gate(t));
      v = DgramSender.VERDICTS[this.verdict[t]]!;
    }
    if (v === 'hold') {
      this.hasHeld[t] = 1;
      return 'held';
    }
    const first = (kind & L.KF_FIRST) !== 0;
    const msg = first ? this.msgNo[t] + 1 : this.msgNo[t];
    this.msgNo[t] = msg;
    if (first) this.reportOf[t] = (kind & L.KF_REPORT) !== 0 ? aux : 0;
    const report = this.reportOf[t]!;
    if (!first && this.lostNo[t] === msg) return 'done'; // the rest of a lost message is not sent
    if (v === 'lose') {
      this.core.targets.countTransmitError(t, false);
      this.loseMessage(t, msg, false, report);
      return 'done';
    }
    if (v === 'probe') {
      this.paths[t]!.probed(msg, this.now);
      this.probeReport[t] = report;
      this.probes++;
      this.verdict[t] = 1; // 'hold': its later slots wait for the probe's outcome
    }
    this.send(t, route, msg, report, bytes);
    return 'done';
  }

  private send(t: number, route: Route, msg: number, report: number, bytes: Uint8Array): void {
    const inFlight = this.inFlight[t]!;
    let entry = inFlight.get(msg);
    if (entry === undefined) inFlight.set(msg, (entry = { pending: 0, lost: false, report }));
    entry.pending++;
    this.inflight++;
    this.touched[t] = 1;
    this.passLog.sent(t, msg, report);
    const e = entry;
    const done = (err: unknown): void => {
      this.inflight--;
      if (--e.pending === 0) inFlight.delete(msg);
      if (err) {
        this.core.targets.countTransmitError(t, false);
        this.loseMessage(t, msg, false, report, e);
        this.paths[t]?.sendFailed(msg, performance.now());
      }
      this.settle();
    };
    try {
      route.socket.socket!.send(Buffer.from(bytes), route.port, route.address, done);
    } catch (err) {
      done(err); // a socket closed under it, or a destination the kernel cannot take
    }
  }

  /**
   * Message `msg` of target t is lost (`unconfirmed`: handed to the kernel as its device lost its
   * carrier): counted once; the rest of it is not sent. A lost in-band report (`report`: the losses
   * it tells) is not a lost message: its losses are told again (native/drain.cc Lose).
   */
  private loseMessage(
    t: number,
    msg: number,
    unconfirmed: boolean,
    report: number,
    entry = this.inFlight[t]!.get(msg),
  ): void {
    const recent = this.lostRecent[t]!;
    if (entry?.lost || recent.includes(msg)) return;
    if (entry !== undefined) entry.lost = true;
    recent.push(msg);
    if (recent.length > 16) recent.shift();
    if (msg === this.msgNo[t]) this.lostNo[t] = msg;
    const probe = this.paths[t]?.probe;
    if (probe != null && probe.msg === msg) probe.counted = true;
    if (report !== 0) return this.core.targets.countReportLost(t, report);
    if (unconfirmed) this.unconfirmed++;
    this.core.targets.countMessageLost(t, unconfirmed);
  }

  /** After a pass: the messages in flight through a device that lost its carrier are unconfirmed. */
  private confirm(): void {
    for (let t = 0; t < L.MAX_TARGETS; t++) {
      const p = this.paths[t];
      if ((this.touched[t] === 0 && this.inFlight[t]!.size === 0) || p === undefined) continue;
      if (p.keptCarrier(this.now)) continue;
      this.touched[t] = 0;
      for (const [msg, e] of this.inFlight[t]!) this.loseMessage(t, msg, true, e.report, e);
    }
    this.passLog.endPass(this.now, this.touched);
  }
}
