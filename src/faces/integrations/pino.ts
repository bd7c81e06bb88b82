/// <reference types="node" preserve="true" />
// (kept in the .d.ts for apps on TypeScript 6+: docs/toolchain.md 1; test/pack.test.ts checks it)
// pino integrations. Each pino line (one JSON object and a newline) becomes one record: the JSON
// itself (without the newline) is the text, and the pino level picks the syslog level.
//
//   pino.transport({ target: 'netconsole/pino', options: { address: '10.0.0.2', port: 6666 } })
//   pino.transport({ target: 'netconsole/pino', options: { targets: '+@/,6666@10.0.0.2/' } })
//     the default export: runs in pino's worker thread and owns a Netconsole made from `options`
//   pino(destination(nc))
//     a destination in the caller's thread, writing through a Netconsole (or a worker's logger)
/**
 * A pino transport (`target: 'netconsole/pino'`) and a pino destination on a Netconsole.
 * @packageDocumentation
 * @module netconsole/pino
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { invalid } from '../../base/errors.js';
import { createFrom, type Netconsole, type NetconsoleOptions } from '../../host/netconsole.js';
import { isBytes } from '../../core/validate.js';
import type { Level, LogOptions } from '../../core/writer.js';
import {
  facilityOption,
  integrationOptions,
  logSink,
  readOptions,
  type AddressOptions,
  type LogSink,
} from './common.js';

// Maps, so that a label is one of these and never a property of Object.prototype ('toString').
const PINO_LABELS = new Map<string, number>([
  ['trace', 10],
  ['debug', 20],
  ['info', 30],
  ['warn', 40],
  ['error', 50],
  ['fatal', 60],
]);
// Lines whose level is a label (formatters.level) may carry syslog names too.
const SYSLOG_LABELS = new Map<string, number>([
  ['emerg', 0],
  ['alert', 1],
  ['crit', 2],
  ['err', 3],
  ['warning', 4],
  ['notice', 5],
]);

/**
 * The syslog level of a pino level: fatal (60) emerg 0, error (50) err 3, warn (40) warning 4,
 * info (30) info 6, debug (20) and trace (10) debug 7. A custom number takes the level of the
 * nearest standard level at or below it (35 is info; below 10 is debug). A label (from
 * `formatters.level`) is a pino or syslog level name; anything else is info.
 */
export function syslogLevel(level: unknown): number {
  if (typeof level === 'string') {
    const n = PINO_LABELS.get(level);
    if (n !== undefined) return syslogLevel(n);
    const s = SYSLOG_LABELS.get(level);
    if (s !== undefined) return s;
    return level !== '' && Number.isFinite(Number(level)) ? syslogLevel(Number(level)) : 6;
  }
  if (typeof level !== 'number' || Number.isNaN(level)) return 6;
  if (level >= 60) return 0;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

const LEVEL_PREFIX = '{"level":';

/** The level of one pino line: read off the front as pino writes it, else from the parsed JSON. */
function lineLevel(line: string): number {
  if (line.startsWith(LEVEL_PREFIX)) {
    let n = 0;
    let i = LEVEL_PREFIX.length;
    for (let c = line.charCodeAt(i); c >= 0x30 && c <= 0x39 && i < LEVEL_PREFIX.length + 9; c = line.charCodeAt(++i))
      n = n * 10 + c - 0x30;
    const end = line.charCodeAt(i);
    if (i > LEVEL_PREFIX.length && (end === 0x2c || end === 0x7d)) return syslogLevel(n); // , or }
  }
  try {
    const obj: unknown = JSON.parse(line);
    if (obj !== null && typeof obj === 'object') return syslogLevel((obj as { level?: unknown }).level);
  } catch {
    // not JSON: sent as it is, at info
  }
  return 6;
}

/** A line longer than this without a newline is sent as it is (the write path keeps 64 KiB of it). */
const MAX_PARTIAL = 1 << 20;

/** Splits what is written into lines and logs each non-empty one. */
class LineLogger {
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly sink: LogSink,
    private readonly opts: LogOptions | undefined,
  ) {}

  push(chunk: string | Uint8Array): void {
    const s = typeof chunk === 'string' ? chunk : this.decoder.write(chunk as Buffer);
    let start = 0;
    let nl = s.indexOf('\n');
    // The chunk is searched as it came, never as `partial + chunk`: V8 searches a concatenated
    // (cons) string without flattening it for good, so every indexOf would copy the whole chunk
    // again (thread-stream hands a transport up to 4 MiB at a time: 15 us a 2 KB line, measured).
    if (this.partial !== '') {
      if (nl === -1) {
        this.hold(this.partial + s);
        return;
      }
      const first = this.partial + s.slice(0, nl);
      this.partial = '';
      if (first !== '') this.line(first);
      start = nl + 1;
      nl = s.indexOf('\n', start);
    }
    for (; nl !== -1; nl = s.indexOf('\n', start)) {
      if (nl > start) this.line(start === 0 && nl === s.length - 1 ? s.slice(0, -1) : s.slice(start, nl));
      start = nl + 1;
    }
    if (start < s.length) this.hold(start === 0 ? s : s.slice(start));
  }

  /** Keeps the start of a line until its newline comes; one longer than MAX_PARTIAL goes as it is. */
  private hold(rest: string): void {
    if (rest.length <= MAX_PARTIAL) {
      this.partial = rest;
      return;
    }
    this.partial = '';
    this.line(rest);
  }

  /** Sends a last line that had no newline. */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest !== '') this.line(rest);
  }

  private line(line: string): void {
    this.sink.write(lineLevel(line) as Level, line, this.opts);
  }
}

export interface DestinationOptions {
  /** Syslog facility of these records, 0..23 (default: the logger's). */
  facility?: number;
}

/**
 * pino's destination contract in the caller's thread: `write(line)` logs at once (synchronous; like
 * every log call it waits only for room in a full ring, under overflow 'wait', at most
 * overflowWaitMs: docs/logging.md), `flush(cb)` calls back when everything written is with the kernel (with a
 * Netconsole; at once with a worker's logger), `end()` sends an unterminated last line. The
 * Netconsole stays the caller's: ending the destination does not close it.
 */
export class NetconsoleDestination extends EventEmitter {
  private readonly lines: LineLogger;
  private ended = false;

  private readonly sink: LogSink;

  constructor(sink: LogSink, opts?: DestinationOptions) {
    super();
    this.sink = logSink('nc', sink);
    const o = readOptions<DestinationOptions>('options', opts, ['facility'], "destination's options");
    this.lines = new LineLogger(this.sink, facilityOption(o.facility));
  }

  get writable(): boolean {
    return !this.ended;
  }

  /** A chunk of pino's output: a string (what pino writes) or UTF-8 bytes; anything else is EINVAL. */
  write(chunk: string | Uint8Array): boolean {
    if (typeof chunk !== 'string' && !isBytes(chunk))
      throw invalid('chunk', chunk, 'a string or a Uint8Array (pino output)');
    if (this.ended) return false;
    this.lines.push(chunk);
    return true;
  }

  flush(cb?: (err?: Error | null) => void): Promise<void> {
    const p = this.sink.flush ? this.sink.flush() : Promise.resolve();
    if (cb)
      p.then(
        () => cb(null),
        (err: Error) => cb(err),
      );
    return p;
  }

  /** No-op: records are handed over at write(). For pino's `flushSync` users. */
  flushSync(): void {}

  end(cb?: () => void): this {
    if (!this.ended) {
      this.ended = true;
      this.lines.end();
      this.flush().then(
        () => {
          this.emit('finish');
          this.emit('close');
          cb?.();
        },
        (err: Error) => this.emit('error', err),
      );
    }
    return this;
  }
}

/** A destination for `pino(destination(nc))`: one record per line, levels as in syslogLevel(). */
export function destination(nc: LogSink, opts?: DestinationOptions): NetconsoleDestination {
  return new NetconsoleDestination(nc, opts);
}

/** The stream the transport returns: ending it sends the last line, flushes and closes the Netconsole. */
export class PinoTransportStream extends Writable {
  private readonly lines: LineLogger;

  constructor(readonly netconsole: Netconsole) {
    super({ decodeStrings: false });
    this.lines = new LineLogger(netconsole, undefined);
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      this.lines.push(chunk);
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    try {
      this.lines.end();
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.netconsole.flush().then(() => this.netconsole.close().then(() => callback(), callback), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.netconsole.close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** thread-stream calls this for pino's `logger.flush()`: resolves when the kernel has everything. */
  flush(cb: (err?: Error | null) => void): void {
    this.netconsole.flush().then(() => cb(null), cb);
  }
}

/** What pino itself puts into a transport's options (thread-stream, pino's transport.js). */
const PINO_KEYS: ReadonlySet<string> = new Set(['pinoWillSendConfig']);

/**
 * Options of the transport: those of Netconsole.create (`devices` defaults to 'none' here), or,
 * for one target, `{ address, port }` as pino-socket takes them (with `extended`, `localPort`,
 * `localAddress`, `dev`).
 */
export type PinoTransportOptions = NetconsoleOptions & AddressOptions;

/**
 * The pino transport, run by thread-stream in pino's worker thread: creates a Netconsole from
 * `options` (it must survive structured cloning: no `lookup`) and returns the stream pino's
 * lines are written to.
 */
export default async function pinoTransport(options: PinoTransportOptions = {}): Promise<PinoTransportStream> {
  // pino adds keys of its own to a transport's options ($context: the worker's thread id and
  // pino's settings; pinoWillSendConfig); the rest are Netconsole.create's, which refuses names
  // it does not know.
  const ours = Object.fromEntries(Object.entries(options).filter(([k]) => !PINO_KEYS.has(k) && !k.startsWith('$')));
  const where = "the pino transport's options";
  const nc = await createFrom(where, { devices: 'none', ...integrationOptions('options', ours, where) });
  return new PinoTransportStream(nc);
}
