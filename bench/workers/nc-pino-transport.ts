// bench/e2e, subject netconsole-pino-transport: the library's own pino transport
// (netconsole/pino's default export), unchanged, plus one thing the bench needs from pino's worker
// thread: the Netconsole's stats() written to `statsFile` when the stream ends (before it closes).
import { writeFileSync } from 'node:fs';
import pinoTransport, { type PinoTransportOptions } from '../../src/faces/integrations/pino.js';

export default async function benchPinoTransport(opts: PinoTransportOptions & { statsFile: string }) {
  const { statsFile, ...options } = opts;
  const stream = await pinoTransport(options);
  const final = stream._final.bind(stream);
  stream._final = (callback) => {
    stream.netconsole.flush().then(() => {
      writeFileSync(statsFile, JSON.stringify(stream.netconsole.stats()));
      final(callback);
    }, callback);
  };
  return stream;
}
