// Test helpers: UDP receivers on loopback that keep every datagram with its source, and markers
// (datagrams from the test's own socket) that order events against the target's datagrams:
// sends to one receiving socket on loopback are queued in the order of the send syscalls.
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';

/** Udp RcvbufErrors of this network namespace: datagrams lost because a receiver was full. A test
 *  that orders events by markers asserts this did not move, or a lost marker could hide a failure. */
export function rcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')]);
}

/**
 * Datagrams the kernel dropped for the UDP socket(s) bound to local `port` because their queue was
 * full (the drops column of /proc/net/udp and udp6): what a test that orders events by markers
 * asserts stayed 0, exact for its own sockets whatever else runs on the machine.
 */
export function socketDrops(port: number): number {
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 12 && parseInt(f[1].split(':')[1], 16) === port) drops += Number(f[f.length - 1]);
    }
  }
  return drops;
}

export interface Received {
  from: number;
  data: Buffer;
}

export class Sink {
  readonly got: Received[] = [];
  private waiters: Array<() => void> = [];
  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (data, r) => {
      this.got.push({ from: r.port, data });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(address = '127.0.0.1'): Promise<Sink> {
    const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 << 20 });
    await new Promise<void>((r) => socket.bind(0, address, r));
    return new Sink(socket, socket.address().port);
  }

  /** Waits until `pred` holds over what arrived, or throws after `ms`. */
  async until(pred: (got: Received[]) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.got)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms with ${this.got.length} datagrams`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }

  /** Waits for a datagram that matches, scanning each one once (until() rescans everything). */
  async waitFor(match: (r: Received) => boolean, ms = 5000): Promise<Received> {
    let cursor = 0;
    let found: Received | undefined;
    await this.until((got) => {
      for (; cursor < got.length && !found; cursor++) if (match(got[cursor])) found = got[cursor];
      return found !== undefined;
    }, ms);
    return found!;
  }

  /** Datagrams the kernel dropped for this receiver (its queue was full). */
  drops(): number {
    return socketDrops(this.port);
  }

  texts(): string[] {
    return this.got.map((g) => g.data.toString('latin1'));
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

/** Sends marker datagrams to sinks from one socket of its own. */
export class Marker {
  private constructor(readonly socket: Socket) {}

  static async open(address = '127.0.0.1'): Promise<Marker> {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((r) => socket.bind(0, address, r));
    return new Marker(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(sink: Sink, text: string, address = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(text, sink.port, address, (err) => (err ? reject(err) : resolve())),
    );
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

/** A UDP port that was free a moment ago (bound on 127.0.0.1 by the kernel's choice, then closed). */
export async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Whether a socket without SO_REUSEADDR can bind `address`:`port` (nothing else holds it). */
export async function bindsExclusively(port: number, address = '0.0.0.0'): Promise<boolean> {
  const s = createSocket({ type: 'udp4', reuseAddr: false });
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ port, address, exclusive: true }, resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}
