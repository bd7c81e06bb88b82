/// <reference types="node" preserve="true" />
// (kept in the .d.ts for apps on TypeScript 6+: docs/toolchain.md 1; test/pack.test.ts checks it)
// Console capture: console.log and friends also become records (or only records).
//
//   const restore = captureConsole(nc);                          // output kept, records sent too
//   const restore = captureConsole(nc, { passthrough: false });  // records only
//   restore();                                                   // the original methods are back
/**
 * console.log and friends as records.
 * @packageDocumentation
 * @module netconsole/console
 */
import { format } from 'node:util';
import { invalid } from '../../base/errors.js';
import { guarded } from '../../core/validate.js';
import type { LogOptions } from '../../core/writer.js';
import { booleanOption, facilityOption, logSink, readOptions, type LogSink } from './common.js';

/** The console methods captured and their syslog levels. */
export const CONSOLE_LEVELS = { log: 6, info: 6, warn: 4, error: 3, debug: 7, trace: 7 } as const;
type Method = keyof typeof CONSOLE_LEVELS;

const OPTION_NAMES = ['passthrough', 'facility', 'console'];

export interface CaptureConsoleOptions {
  /** Keep the original output too (default true); false: only records. */
  passthrough?: boolean;
  /** Syslog facility of these records, 0..23 (default: the logger's). */
  facility?: number;
  /** The console to capture (default the global one). */
  console?: Console;
}

/**
 * Routes console.log/info (info), warn (warning), error (err), debug and trace (debug) to `nc`,
 * the arguments formatted as the console does (util.format; trace: `Trace: ...` and the stack).
 * Methods that go through these (console.assert, count, timeEnd, ...) are captured with them.
 * Returns the function that puts the originals back (a capture installed later over this one
 * keeps working, without sending records). Arguments util.format cannot render (a throwing
 * toString for `%s`, a throwing custom inspect), which the console itself would throw for, make
 * the call throw EINVAL: nothing is sent, nothing printed.
 */
export function captureConsole(nc: LogSink, opts?: CaptureConsoleOptions): () => void {
  const sink = logSink('nc', nc);
  const read = readOptions<CaptureConsoleOptions>('options', opts, OPTION_NAMES, "captureConsole's options");
  const passthrough = booleanOption('passthrough', read.passthrough, true);
  const logOpts: LogOptions | undefined = facilityOption(read.facility);
  const target = read.console ?? console;
  const methods = target as unknown as Record<Method, (...args: unknown[]) => void>;
  const notConsole = (Object.keys(CONSOLE_LEVELS) as Method[]).find(
    (name) => typeof guarded('console', target, () => methods[name]) !== 'function',
  );
  if (notConsole !== undefined)
    throw invalid(
      'console',
      target,
      `a console: an object with ${Object.keys(CONSOLE_LEVELS).join(', ')} methods`,
      `no ${notConsole} method in`,
    );
  const installed: Array<[Method, (...args: unknown[]) => void, (...args: unknown[]) => void]> = [];
  let active = true;
  // Console calls made while a record is sent (a warning, say) or by an original method pass through.
  let inside = false;

  for (const name of Object.keys(CONSOLE_LEVELS) as Method[]) {
    const original = methods[name];
    const level = CONSOLE_LEVELS[name];
    const wrapper = function (...args: unknown[]): void {
      if (!active || inside) {
        original.apply(target, args);
        return;
      }
      // Also while the original runs: console.trace prints through this.error, which must not
      // become a second record.
      inside = true;
      try {
        let text: string;
        try {
          text = format(...args);
        } catch (err) {
          throw invalid(`console.${name}`, args, 'arguments util.format can render', 'formatting threw for', err);
        }
        if (name === 'trace') {
          const err = { name: 'Trace', message: text, stack: '' };
          Error.captureStackTrace(err, wrapper);
          text = err.stack;
        }
        try {
          sink.write(level, text, logOpts);
        } catch {
          // A string at a fixed level with options checked at set-up is never refused: what is
          // left (the logger failing) must not break the console call.
        }
        if (passthrough) original.apply(target, args);
      } finally {
        inside = false;
      }
    };
    methods[name] = wrapper;
    installed.push([name, original, wrapper]);
  }

  return function restore(): void {
    if (!active) return;
    active = false;
    for (const [name, original, wrapper] of installed) if (methods[name] === wrapper) methods[name] = original;
  };
}
