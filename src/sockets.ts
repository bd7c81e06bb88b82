// Sending sockets, one per (family, local address, local port), shared and reference-counted by
// the targets that use them (netpoll's per-device state, in socket form).
//
// Unlike netpoll, a socket binds a port: two processes on one host that both use the default
// source port 6665 must both work, so the sockets set SO_REUSEADDR (`reuseAddr`), which on Linux
// lets several UDP sockets bind the same address and port. They are unref()'d: a logger never
// keeps the process alive.
import { createSocket, type Socket } from 'node:dgram';
import { NetconsoleError, type ErrnoCode } from './errors.js';

export interface SocketRef {
  readonly key: string;
  readonly socket: Socket;
}

interface Entry {
  socket: Socket;
  refs: number;
}

const SEND_BUFFER = 4 << 20; // bytes; bursts from many threads land here before the kernel drains them

export class SocketPool {
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  async acquire(family: 4 | 6, address: string, port: number): Promise<SocketRef> {
    const key = `${family}|${address}|${port}`;
    const existing = this.entries.get(key);
    if (existing) {
      existing.refs++;
      return { key, socket: existing.socket };
    }
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: true, sendBufferSize: SEND_BUFFER });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        socket.close();
        const code = (err.code as ErrnoCode | undefined) ?? 'EIO';
        reject(new NetconsoleError(code, `cannot bind a UDP socket to ${family === 6 ? `[${address}]` : address}:${port}: ${err.message}`, { option: 'local_ip', value: address, cause: err }));
      };
      socket.once('error', onError);
      socket.bind({ address, port, exclusive: false }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    // A send error is reported through each send's callback; keep 'error' from crashing the host.
    socket.on('error', () => {});
    socket.unref();
    this.entries.set(key, { socket, refs: 1 });
    return { key, socket };
  }

  release(ref: SocketRef): Promise<void> {
    const entry = this.entries.get(ref.key);
    if (!entry) return Promise.resolve();
    if (--entry.refs > 0) return Promise.resolve();
    this.entries.delete(ref.key);
    return new Promise((resolve) => entry.socket.close(() => resolve()));
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => new Promise<void>((resolve) => e.socket.close(() => resolve()))));
  }
}
