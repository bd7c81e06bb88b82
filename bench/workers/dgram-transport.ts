// bench/e2e, subject pino-transport-dgram: the thinnest pino transport that delivers: every line
// pino's worker reads is one datagram, sent with Node's dgram.send on a connected socket, no
// library. Beside pino-transport-discard (the hop alone) it shows what any transport that sends
// costs in pino's worker, and how much pino holds while such a worker is behind.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { Writable } from 'node:stream';

export default async function dgramTransport(opts: { address: string; port: number }): Promise<Writable> {
  const socket = createSocket('udp4');
  socket.on('error', () => {}); // counted at the receiver: what did not arrive
  socket.connect(opts.port, opts.address);
  await once(socket, 'connect');
  let partial = '';
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
      const s = partial + String(chunk);
      let start = 0;
      for (let nl = s.indexOf('\n'); nl !== -1; nl = s.indexOf('\n', start)) {
        socket.send(s.slice(start, nl + 1));
        start = nl + 1;
      }
      partial = s.slice(start);
      callback();
    },
    final(callback: (error?: Error | null) => void): void {
      socket.close(() => callback());
    },
  });
}
