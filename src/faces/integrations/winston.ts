/// <reference types="node" preserve="true" />
// (kept in the .d.ts for apps on TypeScript 6+: docs/toolchain.md 1; test/pack.test.ts checks it)
// A winston transport: one record per log entry, the formatted message (info[MESSAGE], what the
// logger's or the transport's format produced) as text, the winston level mapped to syslog.
//
//   new NetconsoleTransport({ netconsole: nc })                           // the caller's Netconsole
//   new NetconsoleTransport({ options: { address: '10.0.0.2', port: 6666 } })  // its own: close() closes it
//   new NetconsoleTransport({ options: { targets: '+@/,6666@10.0.0.2/' } })   // the same, as the kernel's parameter
/**
 * A winston transport.
 * @packageDocumentation
 * @module netconsole/winston
 */
import { format } from 'node:util';
import TransportStream from 'winston-transport';
import { invalid } from '../../base/errors.js';
import { createFrom, type Netconsole, type NetconsoleOptions } from '../../host/netconsole.js';
import { guarded, isBytes, toInt } from '../../core/validate.js';
import { given, none } from '../../base/check.js';
import { levelNumber, type Level, type Loggable, type LogOptions } from '../../core/writer.js';
import {
  booleanOption,
  facilityOption,
  integrationOptions,
  logSink,
  optionsObject,
  readOptions,
  type AddressOptions,
  type LogSink,
} from './common.js';

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
  /**
   * Create a Netconsole with these options (when `netconsole` is not given); close() closes it:
   * Netconsole.create's, or, for one target, `{ address, port }` (with `extended`, `localPort`,
   * `localAddress`, `dev`).
   */
  options?: NetconsoleOptions & AddressOptions;
  /** Syslog levels of custom winston levels (names or 0..7), over the built-in table. Unknown: info. */
  levels?: Record<string, Level>;
  /** Syslog facility of these records, 0..23 (default: the Netconsole's). */
  facility?: number;
  /** Passed to the stream by winston-transport. */
  highWaterMark?: number;
}

interface Info {
  level?: unknown;
  message?: unknown;
  [LEVEL]?: unknown;
  [MESSAGE]?: unknown;
}

/** The names the transport takes: its own, and winston-transport's (TransportStreamOptions, and
 *  highWaterMark, which it passes to the stream). */
const OPTION_NAMES = [
  'netconsole',
  'options',
  'levels',
  'facility',
  'format',
  'level',
  'silent',
  'handleExceptions',
  'handleRejections',
  'highWaterMark',
  'log',
  'logv',
  'close',
];

/** The transport's options, checked (typed errors, at construction: an unknown name, a value
 *  winston-transport would misread) and copied (each getter runs once) before winston-transport
 *  reads them. */
function transportOptions(opts: unknown): NetconsoleTransportOptions {
  const o = readOptions<NetconsoleTransportOptions>('options', opts, OPTION_NAMES, "NetconsoleTransport's options");
  if (o.netconsole !== undefined && o.netconsole !== null) {
    logSink('netconsole', o.netconsole);
    if (o.options !== undefined && o.options !== null)
      throw invalid('options', o.options, 'either netconsole or options, not both');
  }
  // A level that is not a string is never one of the logger's: every entry would be skipped.
  if (o.level !== undefined && o.level !== null && typeof o.level !== 'string')
    throw invalid('level', o.level, "the name of one of the logger's levels");
  for (const name of ['silent', 'handleExceptions', 'handleRejections'] as const) booleanOption(name, o[name], false);
  if (
    o.format !== undefined &&
    o.format !== null &&
    typeof guarded('format', o.format, () => (o.format as { transform?: unknown }).transform) !== 'function'
  ) {
    throw invalid('format', o.format, 'a winston format (winston.format.*())');
  }
  given(none(o.highWaterMark), 0, (v) => toInt('highWaterMark', v, 0, 2 ** 31 - 1));
  for (const name of ['log', 'logv', 'close'] as const) {
    if (o[name] !== undefined && o[name] !== null && typeof o[name] !== 'function')
      throw invalid(name, o[name], 'a function');
  }
  return o;
}

/** A winston level name to its syslog level: winston's npm and syslog levels, then `custom` over them. */
function levelTable(custom: unknown): Map<string, number> {
  const table = new Map(Object.entries(WINSTON_LEVELS));
  const o = optionsObject<Record<string, Level>>('levels', custom);
  for (const [name, level] of guarded('levels', custom, () => Object.entries(o)))
    table.set(name, levelNumber(level as Level, `levels.${name}`));
  return table;
}

export class NetconsoleTransport extends TransportStream {
  private sink: LogSink | null;
  private readonly owned: boolean;
  /** Resolves when the transport can log (its own Netconsole is created, or creation failed). */
  private readonly ready: Promise<void>;
  /** A Map: a level is looked up among its names only, never through Object.prototype ('toString'). */
  private readonly syslogLevels: Map<string, number>;
  private readonly logOpts: LogOptions | undefined;
  private stopped: boolean;

  constructor(opts?: NetconsoleTransportOptions) {
    const o = transportOptions(opts);
    super(o);
    this.stopped = false;
    this.logOpts = facilityOption(o.facility);
    this.syslogLevels = levelTable(o.levels);
    // The level names the logger's levels only once it is added to one (winston-transport reads
    // them on 'pipe'): one it does not have would skip every entry, so it is refused there, as an
    // 'error' event (winston emits it on the logger; unheard, it throws from logger.add()).
    const level = o.level;
    if (typeof level === 'string') {
      this.once('pipe', () => {
        const levels = (this as unknown as { levels?: Record<string, number> }).levels;
        if (levels !== undefined && !Object.prototype.hasOwnProperty.call(levels, level)) {
          this.emit(
            'error',
            invalid(
              'level',
              level,
              `one of the logger's levels: ${Object.keys(levels).join(', ')}`,
              'not a level of the logger this transport was added to:',
            ),
          );
        }
      });
    }
    if (o.netconsole) {
      this.sink = o.netconsole;
      this.owned = false;
      this.ready = Promise.resolve();
    } else {
      this.sink = null;
      this.owned = true;
      // Checked here (a bad address throws from the constructor); the rest by create().
      const where = "NetconsoleTransport's options";
      this.ready = createFrom(where, integrationOptions('options', o.options, where)).then(
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
    return (typeof name === 'string' ? this.syslogLevels.get(name) : undefined) ?? 6;
  }

  /** The level and text of an entry. The message is info[MESSAGE] (the format's output) or
   *  info.message: a string, bytes or an Error as they are, nothing as '', anything else as
   *  util.format renders it. An entry that cannot be read or rendered is EINVAL. */
  private entry(info: Info): [level: number, text: Loggable] {
    if (info === null || typeof info !== 'object') throw invalid('info', info, 'a winston info object');
    const [level, m] = guarded('info', info, () => {
      // info.level may be colorized by format.colorize(); info[LEVEL] is the level's name.
      const m = info[MESSAGE] !== undefined ? info[MESSAGE] : info.message;
      return [this.levelOf(info[LEVEL] ?? info.level), m] as const;
    });
    if (typeof m === 'string' || isBytes(m)) return [level, m];
    if (m === undefined) return [level, ''];
    try {
      return [level, m instanceof Error ? m : format(m)];
    } catch (err) {
      throw invalid('info.message', m, 'a value util.format can render', 'formatting threw for', err);
    }
  }

  override log(info: Info, callback: () => void): void {
    if (this.sink === null && !this.stopped) {
      // Its own Netconsole is still being created: the entry waits (the stream buffers the rest).
      this.ready.then(() => this.log(info, callback));
      return;
    }
    if (this.sink !== null && !this.stopped) {
      try {
        const [level, text] = this.entry(info);
        this.sink.write(level as Level, text, this.logOpts);
      } catch (err) {
        // winston's way to report a failed entry (a refused one: a NetconsoleError)
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
