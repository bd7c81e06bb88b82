// Sending sockets, one per (family, local address, local port), shared and reference-counted by
// the targets that use them (netpoll's per-device state, in socket form).
//
// Unlike netpoll, a socket binds a port: two processes on one host that both use the default
// source port 6665 must both work, so the sockets set SO_REUSEADDR (`reuseAddr`), which on Linux
// lets several UDP sockets bind the same address and port. They are unref()'d: a logger never
// keeps the process alive.
import { createSocket, type Socket } from 'node:dgram';
import { parseIp } from '../base/addr.js';
import { errnoCode, NetconsoleError } from '../base/errors.js';
import type { NativeBinding } from '../core/native.js';

/** A bound socket: a dgram Socket (dgram sender) or a file descriptor (native sender). */
export interface SocketRef {
  readonly key: string;
  readonly socket?: Socket;
  readonly fd?: number;
}

interface Entry {
  socket?: Socket;
  fd?: number;
  refs: number;
}

/** Bytes; bursts from many threads land here before the kernel drains them. */
export const DEFAULT_SEND_BUFFER = 4 << 20;

/**
 * Destinations are IP literals (validated as such): resolve them synchronously, so that
 * socket.send() hands the datagram to the kernel before it returns (dns.lookup, the default,
 * defers that to the next tick, and a process.exit() in between would lose it).
 */
function literalLookup(address: string, family: unknown, callback: unknown): void {
  const cb = (typeof family === 'function' ? family : callback) as (
    err: Error | null,
    address: string,
    family: number,
  ) => void;
  cb(null, address, address.includes(':') ? 6 : 4);
}

export class SocketPool {
  private readonly entries = new Map<string, Entry>();

  /** With a binding, sockets are the addon's (fds for the native sender); else dgram Sockets. */
  constructor(
    private readonly native: NativeBinding | null = null,
    /** SO_SNDBUF each socket asks for (the kernel caps it at net.core.wmem_max, and doubles it). */
    private readonly sendBuffer = DEFAULT_SEND_BUFFER,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Raw mode: the device's AF_PACKET socket (the addon's), shared by the targets on it. */
  acquireRaw(ifindex: number, device: string): SocketRef {
    const key = `raw|${ifindex}`;
    const existing = this.entries.get(key);
    if (existing) {
      existing.refs++;
      return { key, fd: existing.fd };
    }
    if (!this.native)
      throw new NetconsoleError('ENOTSUP', 'raw mode needs the native addon', { option: 'mode', value: 'raw' });
    let fd: number;
    try {
      fd = this.native.packetOpen(ifindex, this.sendBuffer);
    } catch (err) {
      throw new NetconsoleError(
        errnoCode(err),
        `cannot open an AF_PACKET socket on ${device}: ${(err as Error).message}`,
        { option: 'mode', value: 'raw', cause: err },
      );
    }
    this.entries.set(key, { fd, refs: 1 });
    return { key, fd };
  }

  async acquire(family: 4 | 6, address: string, port: number): Promise<SocketRef> {
    const key = `${family}|${address}|${port}`;
    const existing = this.entries.get(key);
    if (existing) {
      existing.refs++;
      return { key, socket: existing.socket, fd: existing.fd };
    }
    if (this.native) {
      let fd: number;
      try {
        fd = this.native.udpOpen(family, parseIp('local_ip', address).bytes, port, this.sendBuffer);
      } catch (err) {
        throw new NetconsoleError(
          errnoCode(err),
          `cannot bind a UDP socket to ${family === 6 ? `[${address}]` : address}:${port}: ${(err as Error).message}`,
          { option: 'local_ip', value: address, cause: err },
        );
      }
      this.entries.set(key, { fd, refs: 1 });
      return { key, fd };
    }
    const socket = createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      reuseAddr: true,
      sendBufferSize: this.sendBuffer,
      lookup: literalLookup,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        socket.close();
        const code = errnoCode(err);
        reject(
          new NetconsoleError(
            code,
            `cannot bind a UDP socket to ${family === 6 ? `[${address}]` : address}:${port}: ${err.message}`,
            { option: 'local_ip', value: address, cause: err },
          ),
        );
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
    return this.closeEntry(entry);
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => this.closeEntry(e)));
  }

  private closeEntry(e: Entry): Promise<void> {
    if (e.fd !== undefined) {
      this.native!.closeFd(e.fd);
      return Promise.resolve();
    }
    return new Promise((resolve) => e.socket!.close(() => resolve()));
  }
}
