// A netconsole receiver for development and tests (fleets use netconsd): a UDP socket feeding a
// Reassembler (reassembler.ts: the parse, the fragments, the sequence numbers, the bounds, --ack),
// and the acks it sends back. The receiver's entry point: what the CLI and the tests import.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { invalid, NetconsoleError, outOfRange, type ErrnoCode } from '../base/errors.js';
import { Reassembler } from './reassembler.js';

export { REPLY_MAX, type AckOptions, type LostReason } from './acks.js';
export { MAX_DATAGRAM, MAX_TOTAL, parseDatagram, type ParsedDatagram } from './ncrx-parse.js';
export { formatMessage, splitBody, unescape, type Message } from './message.js';
export {
  ACK_TICK_MAX_MS,
  Reassembler,
  type AckingReceiverOptions,
  type LostEvent,
  type ReceiverOptions,
} from './reassembler.js';

/** What to do about a bind error, by errno. */
const BIND_ADVICE: Partial<Record<string, string>> = {
  EADDRINUSE: 'another socket has it (a netconsole listen, netconsd or syslog daemon?): stop it or choose another port',
  EADDRNOTAVAIL: 'it is not an address of this host: give one of its addresses, or 0.0.0.0 (:: for IPv6) for all',
  EACCES: 'ports below 1024 need CAP_NET_BIND_SERVICE: choose a port from 1024 up',
};

function bindError(err: NodeJS.ErrnoException, address: string, port: number): NetconsoleError {
  const where = `${address.includes(':') ? `[${address}]` : address}:${port}`;
  const code = (err.code && err.code in BIND_ADVICE ? err.code : 'EIO') as ErrnoCode;
  const advice = BIND_ADVICE[err.code ?? ''] ?? `${err.code ?? 'error'}: ${err.message}`;
  return new NetconsoleError(code, `cannot listen on UDP ${where}: ${advice}`, {
    option: 'address',
    value: where,
    cause: err,
  });
}

/** A UDP socket feeding a Reassembler. */
export class Receiver extends Reassembler {
  private socket: Socket | null = null;

  /** Rejects with a NetconsoleError (EINVAL, ERANGE, EADDRINUSE, EADDRNOTAVAIL, EACCES, EIO) that says what to do. */
  async listen(address = '127.0.0.1', port = 6666): Promise<{ address: string; port: number }> {
    const family = isIP(address);
    if (family === 0)
      throw invalid(
        'address',
        address,
        'an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::',
        'not an IP address:',
      );
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw outOfRange('port', port, '0..65535');
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', recvBufferSize: 8 << 20 });
    socket.on('message', (buf: Buffer, r: RemoteInfo) => this.push(buf, `${r.address}:${r.port}`));
    // A reply goes to the source address and port of its stream (the name is `address:port`).
    this.on('reply', (source: string, text: string) => {
      const colon = source.lastIndexOf(':');
      // A send error (no route, the sender's port closed) is the sender's problem, not the receiver's.
      this.socket?.send(text, Number(source.slice(colon + 1)), source.slice(0, colon), (err) => {
        if (err) this.ackCounters.replyErrors++;
      });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      socket.close();
      throw bindError(err as NodeJS.ErrnoException, address, port);
    }
    this.socket = socket;
    const a = socket.address();
    return { address: a.address, port: a.port };
  }

  async close(): Promise<void> {
    this.flushPending();
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
