// A winston transport: one record per log entry, the formatted message (info[MESSAGE], what the
// logger's or the transport's format produced) as text, the winston level mapped to syslog.
//
//   new NetconsoleTransport({ netconsole: nc })                           // the caller's Netconsole
//   new NetconsoleTransport({ options: { targets: '+@/,6666@10.0.0.2/' } }) // its own: close() closes it
import { format } from 'node:util';
import TransportStream from 'winston-transport';
import { Netconsole, type NetconsoleOptions } from '../netconsole.js';
import { levelNumber, type Level, type Loggable, type LogOptions } from '../writer.js';
import { facilityOption, type LogSink } from './common.js';

const MESSAGE = Symbol.for('message');
const LEVEL = Symbol.for('level');

/** winston's npm levels and syslog levels (winston.config.npm / .syslog) by name. */
export const WINSTON_LEVELS: Readonly<Record<string, number>> = {
  emerg: 0,
  alert: 1,
  crit: 2,
  error: 3,
  warning: 4,
  warn: 4,
  notice: 5,
  info: 6,
  http: 6,
  verbose: 7,
  debug: 7,
  silly: 7,
};

export interface NetconsoleTransportOptions extends TransportStream.TransportStreamOptions {
  /** Log through this Netconsole (or a worker's logger); the caller closes it. */
  netconsole?: LogSink;
  /** Create a Netconsole with these options (when `netconsole` is not given); close() closes it. */
  options?: NetconsoleOptions;
  /** Syslog levels of custom winston levels (names or 0..7), over the built-in table. Unknown: info. */
  levels?: Record<string, Level>;
  /** Syslog facility of these records, 0..23 (default: the Netconsole's). */
  facility?: number;
}

interface Info {
  level?: unknown;
  message?: unknown;
  [LEVEL]?: unknown;
  [MESSAGE]?: unknown;
}

export class NetconsoleTransport extends TransportStream {
  private sink: LogSink | null;
  private readonly owned: boolean;
  /** Resolves when the transport can log (its own Netconsole is created, or creation failed). */
  private readonly ready: Promise<void>;
  private readonly syslogLevels: Record<string, number>;
  private readonly logOpts: LogOptions | undefined;
  private stopped = false;

  constructor(opts: NetconsoleTransportOptions = {}) {
    super(opts);
    this.logOpts = facilityOption(opts.facility);
    this.syslogLevels = { ...WINSTON_LEVELS };
    for (const [name, level] of Object.entries(opts.levels ?? {})) this.syslogLevels[name] = levelNumber(level);
    if (opts.netconsole) {
      if (opts.options) throw new TypeError('NetconsoleTransport: give either netconsole or options, not both');
      this.sink = opts.netconsole;
      this.owned = false;
      this.ready = Promise.resolve();
    } else {
      this.sink = null;
      this.owned = true;
      this.ready = Netconsole.create(opts.options ?? {}).then(
        async (nc) => {
          if (this.stopped) await nc.close();
          else this.sink = nc;
        },
        (err: unknown) => {
          this.emit('error', err);
        },
      );
    }
  }

  /** The Netconsole (or logger) records go to; null until an owned one is created. */
  get netconsole(): LogSink | null {
    return this.sink;
  }

  /** The syslog level (0..7) of a winston level name. */
  levelOf(name: unknown): number {
    return (typeof name === 'string' ? this.syslogLevels[name] : undefined) ?? 6;
  }

  override log(info: Info, callback: () => void): void {
    if (this.sink === null && !this.stopped) {
      // Its own Netconsole is still being created: the entry waits (the stream buffers the rest).
      this.ready.then(() => this.log(info, callback));
      return;
    }
    if (this.sink !== null && !this.stopped) {
      // info.level may be colorized by format.colorize(); info[LEVEL] is the level's name.
      const level = this.levelOf(info[LEVEL] ?? info.level);
      const m = info[MESSAGE] !== undefined ? info[MESSAGE] : info.message;
      const text: Loggable = typeof m === 'string' || m instanceof Uint8Array || m instanceof Error ? m : m === undefined ? '' : format(m);
      try {
        this.sink.log(level, text, this.logOpts);
      } catch (err) {
        this.emit('error', err);
      }
    }
    setImmediate(() => this.emit('logged', info));
    callback();
  }

  /** The stream's end (logger.end()): everything logged is handed to the kernel before 'finish'. */
  override _final(callback: (error?: Error | null) => void): void {
    this.ready
      .then(() => (this.stopped ? undefined : this.sink?.flush?.()))
      .then(
        () => callback(),
        (err: Error) => callback(err),
      );
  }

  /** Called by winston when the transport is removed or the logger has ended. Closes an owned Netconsole. */
  override close(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    if (!this.owned) return Promise.resolve();
    return this.ready
      .then(async () => {
        const nc = this.sink as Netconsole | null;
        this.sink = null;
        await nc?.close();
      })
      .catch((err: unknown) => {
        this.emit('error', err);
      });
  }
}

export default NetconsoleTransport;
