// The dgram sender's sockets, one Outlet each: what was handed to the socket and not yet called
// back, in order, and whether a datagram of ours waits in Node's send queue.
//
// How Node sends (lib/dgram.js doSend, src/udp_wrap.cc): socket.send first tries the kernel at
// once (uv_udp_try_send); what it takes is done when send returns, and the callback comes on the
// next tick. Only what the kernel refuses (a full socket buffer) waits in libuv's queue, holding
// its buffer until libuv sends it when the socket is writable again; while anything waits there,
// every later send waits behind it. So the callbacks of one socket come in the order of its sends,
// and one bound callback per socket, popping the oldest entry, tells which message each is.
//
// A datagram goes out from a scratch buffer (the ring slot's bytes copied in; what is allocated
// per datagram is a view of it and the objects of Node's own send): when the kernel took it, the
// scratch is free again; when it was queued instead, the scratch is the queue's now and a new one
// is made. This needs the socket to be bound and to resolve addresses synchronously (sockets.ts):
// with dns.lookup, send waits for the next tick and would read a scratch written again meanwhile
// (test/outlets.test.ts shows it). The sender sends nothing more to a socket with a queued
// datagram (`blocked`) until that one is called back: Node's queue holds at most one of ours per
// socket. Only a log call on the host thread making room (and the exit drain), which cannot wait
// for the event loop, queues more: copies, bounded by the spill bound (dgram.ts).
import type { Socket } from 'node:dgram';

/** A callback's outcome for the datagram it called back: target, message, the losses it tells
 *  when it is an in-band report (0: a log message), whether its message was counted lost meanwhile. */
export type SendOutcome = (err: Error | null, t: number, msg: number, report: number, lost: boolean) => void;

/** Fields per in-flight entry: target, message, report, lost. */
const F = 4;
const SCRATCH_MIN = 4096;

export class Outlet {
  /** A datagram of ours waits in Node's send queue: send nothing more now (the spill aside). */
  blocked = false;
  /** In-flight entries, oldest first, F numbers each, from `head`. */
  private fifo: number[] = [];
  private head = 0;
  /** The bound callback every send of this socket gets. */
  private readonly done: (err: Error | null) => void;

  constructor(
    readonly socket: Socket,
    outcome: SendOutcome,
    /** Called when the socket's queue emptied (blocked no more). */
    unblocked: () => void,
  ) {
    this.done = (err) => {
      const q = this.fifo;
      const i = this.head;
      if (i >= q.length) return; // not ours (cannot happen: every send here is recorded)
      const t = q[i]!;
      const msg = q[i + 1]!;
      const report = q[i + 2]!;
      const lost = q[i + 3] === 1;
      this.head = i + F;
      if (this.head === q.length) {
        q.length = 0;
        this.head = 0;
      } else if (this.head >= 4096 && this.head * 2 >= q.length) {
        this.fifo = q.slice(this.head);
        this.head = 0;
      }
      outcome(err, t, msg, report, lost);
      if (this.blocked && this.queueCount() <= 0) {
        this.blocked = false;
        unblocked();
      }
    };
  }

  /** Datagrams handed over and not yet called back. */
  get inFlight(): number {
    return (this.fifo.length - this.head) / F;
  }

  /**
   * Hands `bytes` (valid only during the call) to the socket for target t's message `msg`, from
   * the scratch; if it was queued, the scratch is the queue's and the socket is blocked. Throws
   * what socket.send throws (a socket closed under it); the entry is not recorded then.
   */
  send(bytes: Uint8Array, port: number, address: string, t: number, msg: number, report: number): void {
    const buf = Outlets.scratchFor(bytes);
    this.socket.send(buf, port, address, this.done);
    this.fifo.push(t, msg, report, 0);
    if (this.queueCount() > 0) {
      this.blocked = true;
      Outlets.scratchTaken();
    }
  }

  /** Sends a copy of its own that may wait in Node's queue (the spill, the exit drain). */
  sendCopy(bytes: Uint8Array, port: number, address: string, t: number, msg: number, report: number): void {
    this.socket.send(Buffer.from(bytes), port, address, this.done);
    this.fifo.push(t, msg, report, 0);
    if (this.queueCount() > 0) this.blocked = true;
  }

  /** Marks target t's in-flight entries of message `msg` (every message when msg < 0) lost: a
   *  callback for them does not count them again. Calls `each` for every message newly marked. */
  markLost(t: number, msg: number, each?: (msg: number, report: number) => void): void {
    const q = this.fifo;
    for (let i = this.head; i < q.length; i += F) {
      if (q[i] !== t || q[i + 3] === 1 || (msg >= 0 && q[i + 1] !== msg)) continue;
      q[i + 3] = 1;
      each?.(q[i + 1]!, q[i + 2]!);
    }
  }

  /** Bytes waiting in Node's send queue (0 once the socket is closed). */
  queueSize(): number {
    try {
      return this.socket.getSendQueueSize();
    } catch {
      return 0; // closed
    }
  }

  /** Datagrams waiting in Node's send queue; -1 once the socket is closed. */
  private queueCount(): number {
    try {
      return this.socket.getSendQueueCount();
    } catch {
      return -1; // closed
    }
  }

  /** The socket was closed (by its pool, when no target uses it any more). */
  get closed(): boolean {
    return this.queueCount() < 0;
  }
}

/** The outlets by socket, and the one scratch buffer they send from. */
export class Outlets {
  private static scratch = Buffer.allocUnsafeSlow(SCRATCH_MIN);
  private readonly bySocket = new Map<Socket, Outlet>();

  constructor(
    private readonly outcome: SendOutcome,
    private readonly unblocked: () => void,
  ) {}

  /** The scratch holding a copy of `bytes`, as a view of their length (valid until the next send). */
  static scratchFor(bytes: Uint8Array): Buffer {
    let s = Outlets.scratch;
    if (s.length < bytes.length) s = Outlets.scratch = Buffer.allocUnsafeSlow(Math.max(bytes.length, SCRATCH_MIN));
    s.set(bytes);
    return s.subarray(0, bytes.length);
  }

  /** The scratch went into a send queue: later sends take a new one. */
  static scratchTaken(): void {
    Outlets.scratch = Buffer.allocUnsafeSlow(SCRATCH_MIN);
  }

  get(socket: Socket): Outlet {
    let o = this.bySocket.get(socket);
    if (o === undefined) this.bySocket.set(socket, (o = new Outlet(socket, this.outcome, this.unblocked)));
    return o;
  }

  *[Symbol.iterator](): IterableIterator<Outlet> {
    yield* this.bySocket.values();
  }

  /** Bytes waiting in Node's send queues; a closed socket is forgotten once nothing of it is in flight. */
  queued(): number {
    let n = 0;
    for (const [s, o] of this.bySocket) {
      n += o.queueSize();
      if (o.inFlight === 0 && !o.blocked && o.closed) this.bySocket.delete(s);
    }
    return n;
  }

  /** Whether some socket has a datagram of ours queued. */
  anyBlocked(): boolean {
    for (const o of this.bySocket.values()) if (o.blocked) return true;
    return false;
  }
}
