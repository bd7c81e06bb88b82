// bench/e2e, subject netconsole-pino-transport: the library's own pino transport
// (netconsole/pino's default export, imported by the package's name as pino's worker loads it in
// an app: the bundle, dist/lib/es/pino.js), unchanged, plus one thing the bench needs from pino's
// worker thread: the Netconsole's stats() written to `statsFile` when the stream ends (before it
// closes).
import { writeFileSync } from 'node:fs';
import type { PinoTransportOptions, PinoTransportStream } from '../../src/faces/integrations/pino.js';

// A variable, so that tsc does not look for the package's own types here.
const name = 'netconsole/pino';

export default async function benchPinoTransport(opts: PinoTransportOptions & { statsFile: string }) {
  const { statsFile, ...options } = opts;
  const { default: pinoTransport } = (await import(name)) as typeof import('../../src/faces/integrations/pino.js');
  const stream: PinoTransportStream = await pinoTransport(options);
  const final = stream._final.bind(stream);
  stream._final = (callback) => {
    stream.netconsole.flush().then(() => {
      writeFileSync(statsFile, JSON.stringify(stream.netconsole.stats()));
      final(callback);
    }, callback);
  };
  return stream;
}
