// What the integrations need of a logger: a Netconsole, or a worker's logger from attach().
import { outOfRange } from '../errors.js';
import type { Logger } from '../netconsole.js';
import type { LogOptions } from '../writer.js';

/** A Netconsole (flush() waits until the kernel has everything) or a WorkerLogger (no flush()). */
export type LogSink = Pick<Logger, 'log'> & { flush?(): Promise<void> };

/** The per-record options for a `facility` option, checked up front (ERANGE at set-up, not per record). */
export function facilityOption(facility: number | undefined): LogOptions | undefined {
  if (facility === undefined) return undefined;
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) throw outOfRange('facility', facility, '0..23');
  return { facility };
}
