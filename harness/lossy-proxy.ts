// A UDP relay on loopback for the tests and the bench of the ncrx reliable-delivery protocol
// (docs/reliable.md): it sits between senders and one receiver and drops datagrams either way, at
// random from a seed (a failure names its seed and replays with it) or on demand.
//
// One listening socket (`port`) takes every sender's datagrams. Each sender (source address:port)
// gets an upstream socket of its own, so the receiver sees one stream per sender; what the receiver
// sends back to that socket is relayed to the sender from the listening socket, so a sender whose
// socket is connect()ed to the proxy gets its replies. Bytes are relayed unchanged.
//
// Drops are decided by two seeded streams (one forward, one for replies), each drawn once per
// datagram whatever the loss rates, holdReplies or dropNext: the nth forward datagram's draw
// depends only on the seed and n. Replies may also be held back a while (replyDelayMs), in order:
// a sender slow to read them, as under load, answering requests the receiver made long ago.
import { createSocket, type Socket } from 'node:dgram';
import { mulberry32 } from './random.js';

export type DatagramHook = (datagram: Buffer, dropped: boolean) => void;

export interface LossyProxyOptions {
  /** The real receiver (e.g. `netconsole listen --ack`). */
  upstream: { address: string; port: number };
  /** Seeds the drop decisions. */
  seed: number;
  /** Share 0..1 of sender->receiver datagrams dropped at random; default 0. */
  forwardLoss?: number;
  /** Share 0..1 of receiver->sender datagrams dropped at random; default 0. */
  replyLoss?: number;
  /** Receiver->sender datagrams not dropped are relayed this long after they came, in order; default 0. */
  replyDelayMs?: number;
  /** Where the proxy listens (its upstream sockets bind here too); default 127.0.0.1, port ephemeral. */
  address?: string;
  /** Called for every sender->receiver datagram, dropped or not (the proxy keeps none). */
  onForward?: DatagramHook;
  /** Called for every receiver->sender datagram, dropped or not. */
  onReply?: DatagramHook;
}

export interface LossyProxyStats {
  /** Sender->receiver datagrams relayed. */
  forwarded: number;
  /** Sender->receiver datagrams dropped (at random or by dropNext). */
  forwardDropped: number;
  /** Receiver->sender datagrams relayed. */
  replies: number;
  /** Receiver->sender datagrams dropped (at random or held). */
  replyDropped: number;
  /** Relayed sender->receiver datagrams whose header has ncemg=1. */
  emergency: number;
}

/** Whether an extended datagram's header (before the first `;`) has `ncemg=1`. */
export function isEmergency(d: Buffer): boolean {
  const semi = d.indexOf(0x3b);
  return `${d.toString('latin1', 0, semi < 0 ? d.length : semi)},`.includes(',ncemg=1,');
}

const BUFFER = 4 << 20;

function udpSocket(address: string): Socket {
  return createSocket({
    type: address.includes(':') ? 'udp6' : 'udp4',
    recvBufferSize: BUFFER,
    sendBufferSize: BUFFER,
  });
}

function checkLoss(name: string, v: number): number {
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} is a share 0..1: ${v}`);
  return v;
}

interface Upstream {
  socket: Socket;
  /** Datagrams that came before the socket was bound; null once bound. */
  queue: Buffer[] | null;
}

export class LossyProxy {
  readonly stats: LossyProxyStats = { forwarded: 0, forwardDropped: 0, replies: 0, replyDropped: 0, emergency: 0 };
  /** Socket errors (none expected on loopback); a test may assert this stays empty. */
  readonly errors: Error[] = [];
  forwardLoss: number;
  replyLoss: number;
  /** When true every reply is dropped: a receiver that stops acking. */
  holdReplies = false;
  /** Replies are relayed this long after they came (in order); 0: at once. */
  replyDelayMs: number;
  onForward?: DatagramHook;
  onReply?: DatagramHook;

  private readonly upstreams = new Map<string, Upstream>();
  private readonly pending: Array<(d: Buffer) => boolean> = [];
  /** Replies waiting out replyDelayMs (cleared by close()). */
  private readonly delayed = new Set<NodeJS.Timeout>();
  private readonly forwardRandom: () => number;
  private readonly replyRandom: () => number;
  private closing?: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    private readonly o: LossyProxyOptions & { address: string },
    readonly port: number,
  ) {
    this.forwardLoss = checkLoss('forwardLoss', o.forwardLoss ?? 0);
    this.replyLoss = checkLoss('replyLoss', o.replyLoss ?? 0);
    this.replyDelayMs = o.replyDelayMs ?? 0;
    this.forwardRandom = mulberry32(o.seed);
    this.replyRandom = mulberry32(o.seed ^ 0x9e3779b9);
    this.onForward = o.onForward;
    this.onReply = o.onReply;
    socket.on('error', (e) => this.errors.push(e));
    socket.on('message', (d, from) => this.forward(d, from.address, from.port));
  }

  static async start(o: LossyProxyOptions): Promise<LossyProxy> {
    const address = o.address ?? '127.0.0.1';
    const socket = udpSocket(address);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new LossyProxy(socket, { ...o, address }, socket.address().port);
  }

  /** Drops the next sender->receiver datagram that matches `pred` (once; before any random drop). */
  dropNext(pred: (datagram: Buffer) => boolean): void {
    this.pending.push(pred);
  }

  private forward(d: Buffer, address: string, port: number): void {
    if (this.closing) return;
    const draw = this.forwardRandom();
    const i = this.pending.findIndex((p) => p(d));
    if (i >= 0) this.pending.splice(i, 1);
    const dropped = i >= 0 || draw < this.forwardLoss;
    this.onForward?.(d, dropped);
    if (dropped) {
      this.stats.forwardDropped++;
      return;
    }
    this.stats.forwarded++;
    if (isEmergency(d)) this.stats.emergency++;
    const up = this.upstream(address, port);
    if (up.queue) up.queue.push(d);
    else up.socket.send(d, this.o.upstream.port, this.o.upstream.address);
  }

  private upstream(address: string, port: number): Upstream {
    const key = `${address}:${port}`;
    let up = this.upstreams.get(key);
    if (up) return up;
    const socket = udpSocket(this.o.address);
    const created: Upstream = { socket, queue: [] };
    up = created;
    this.upstreams.set(key, created);
    socket.on('error', (e) => this.errors.push(e));
    socket.on('message', (r) => this.reply(r, address, port));
    socket.bind(0, this.o.address, () => {
      const queue = created.queue ?? [];
      created.queue = null;
      if (this.closing) return;
      for (const d of queue) socket.send(d, this.o.upstream.port, this.o.upstream.address);
    });
    return created;
  }

  private reply(r: Buffer, address: string, port: number): void {
    if (this.closing) return;
    const draw = this.replyRandom();
    const dropped = this.holdReplies || draw < this.replyLoss;
    this.onReply?.(r, dropped);
    if (dropped) {
      this.stats.replyDropped++;
      return;
    }
    if (this.replyDelayMs <= 0) return this.relay(r, address, port);
    const t = setTimeout(() => {
      this.delayed.delete(t);
      this.relay(r, address, port);
    }, this.replyDelayMs);
    this.delayed.add(t);
  }

  private relay(r: Buffer, address: string, port: number): void {
    if (this.closing) return;
    this.stats.replies++;
    this.socket.send(r, port, address);
  }

  /** Closes the listening socket and every upstream socket. */
  close(): Promise<void> {
    for (const t of this.delayed) clearTimeout(t);
    this.delayed.clear();
    this.closing ??= Promise.all(
      [this.socket, ...[...this.upstreams.values()].map((u) => u.socket)].map(
        (s) => new Promise<void>((r) => s.close(() => r())),
      ),
    ).then(() => undefined);
    return this.closing;
  }
}
