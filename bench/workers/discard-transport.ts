// bench/e2e, subject pino-transport-discard: a pino transport that takes every chunk and does
// nothing with it. What pino's own hop costs (the app's thread copying each line into
// thread-stream's shared buffer, the worker decoding it back, pino holding what the worker has
// not read yet), before any transport sends anything: the floor under every pino transport's CPU
// and memory, netconsole/pino's included. Nothing arrives at the receiver.
import { Writable } from 'node:stream';

export default async function discardTransport(): Promise<Writable> {
  return new Writable({
    decodeStrings: false,
    write(_chunk: string | Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
      callback();
    },
  });
}
