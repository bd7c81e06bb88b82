// One error module, stable errno-style codes (undici's lib/core/errors.js is the model).
// Every failure the library reports is a NetconsoleError (or subclass) carrying:
//   code     - the errno name the kernel would return (EINVAL, ERANGE, EBUSY, ...)
//   option   - the attribute, option or field at fault, when there is one
//   value    - the value that was given
//   accepted - what would have been accepted, in words
// Async APIs reject with these; synchronous ones throw them.
import { constants as osConstants } from 'node:os';
import { inspect, type InspectOptions } from 'node:util';

export type ErrnoCode =
  | 'EINVAL'
  | 'ERANGE'
  | 'EBUSY'
  | 'ENOENT'
  | 'EEXIST'
  | 'ENOSPC'
  | 'ENOMEM'
  | 'EMSGSIZE'
  | 'ENAMETOOLONG'
  | 'EDESTADDRREQ'
  | 'ENODEV'
  | 'EADDRNOTAVAIL'
  | 'EADDRINUSE'
  | 'ENETUNREACH'
  | 'EHOSTUNREACH'
  | 'ECONNREFUSED'
  | 'EACCES'
  | 'EPERM'
  | 'ENOTSUP'
  | 'EDEADLK'
  | 'ESHUTDOWN'
  | 'ECONNRESET'
  | 'ETIMEDOUT'
  | 'EPROTO'
  | 'EISDIR'
  | 'ENOTDIR'
  | 'ELOOP'
  | 'EIO';

export interface ErrorDetails {
  option?: string;
  value?: unknown;
  accepted?: string;
  cause?: unknown;
}

/** inspect, never the value's own code: no toString, no getters, no custom inspect, no Proxy traps
 *  (String() would print `[]` as nothing, and throw for a hostile object). */
const INSPECT: InspectOptions = {
  depth: 1,
  breakLength: Infinity,
  maxArrayLength: 8,
  maxStringLength: 80,
  customInspect: false,
  showProxy: true,
};

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value !== 'object' && typeof value !== 'function') return String(value);
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value) && value instanceof Uint8Array) return `<${value.length} bytes>`;
  let text: string;
  try {
    text = inspect(value, INSPECT).replace(/\s*\n\s*/g, ' ');
  } catch {
    // inspect reads Symbol.toStringTag, which a getter can make throw
    return `a${typeof value === 'object' ? 'n object' : ' function'} that cannot be inspected`;
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export class NetconsoleError extends Error {
  readonly code: ErrnoCode;
  readonly option: string | undefined;
  readonly value: unknown;
  readonly accepted: string | undefined;

  constructor(code: ErrnoCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.option = details.option;
    this.value = details.value;
    this.accepted = details.accepted;
  }
}

/** A value that is not acceptable for an option, attribute or record field. */
export class InvalidValueError extends NetconsoleError {
  constructor(code: ErrnoCode, option: string, value: unknown, accepted: string, why?: string, cause?: unknown) {
    super(code, `${option}: ${why ?? 'invalid value'} ${describe(value)}; accepted: ${accepted}`, {
      option,
      value,
      accepted,
      cause,
    });
  }
}

/** Text, dictionary or userdata larger than the space the library reserves for it. */
export class TooLargeError extends NetconsoleError {
  constructor(option: string, size: number, limit: number) {
    super('EMSGSIZE', `${option}: ${size} bytes is larger than the limit of ${limit} bytes`, {
      option,
      value: size,
      accepted: `at most ${limit} bytes`,
    });
  }
}

/** The WebAssembly module and the host disagree about the shared-memory layout, or the module is missing. */
export class LayoutMismatchError extends NetconsoleError {
  constructor(message: string) {
    super('EIO', message);
  }
}

/** A lock was taken against the order config -> rtnl -> cleanup -> spinlock. */
export class LockOrderError extends NetconsoleError {
  constructor(message: string) {
    super('EDEADLK', message);
  }
}

const CODES: ReadonlySet<string> = new Set<ErrnoCode>([
  'EINVAL',
  'ERANGE',
  'EBUSY',
  'ENOENT',
  'EEXIST',
  'ENOSPC',
  'EMSGSIZE',
  'ENAMETOOLONG',
  'EDESTADDRREQ',
  'ENODEV',
  'EADDRNOTAVAIL',
  'EADDRINUSE',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNREFUSED',
  'EACCES',
  'EPERM',
  'ENOTSUP',
  'EDEADLK',
  'ESHUTDOWN',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPROTO',
  'EISDIR',
  'ENOTDIR',
  'ELOOP',
  'EIO',
]);
const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** The ErrnoCode of a system call's error: its `code` (libuv's) or `errno` (the addon's); EIO
 *  when it is none this library reports. The one place errno numbers become names. */
export function errnoCode(err: unknown): ErrnoCode {
  const e = err as { code?: unknown; errno?: unknown } | null;
  const name =
    typeof e?.code === 'string' ? e.code : typeof e?.errno === 'number' ? ERRNO_NAMES.get(e.errno) : undefined;
  return name !== undefined && CODES.has(name) ? (name as ErrnoCode) : 'EIO';
}

/** A failure from below (a system call, a callback) as a NetconsoleError: itself when it is one. */
export function asNetconsoleError(err: unknown, what: string): NetconsoleError {
  if (err instanceof NetconsoleError) return err;
  return new NetconsoleError(errnoCode(err), `${what}: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

export function invalid(
  option: string,
  value: unknown,
  accepted: string,
  why?: string,
  cause?: unknown,
): InvalidValueError {
  return new InvalidValueError('EINVAL', option, value, accepted, why, cause);
}

export function outOfRange(option: string, value: unknown, accepted: string): InvalidValueError {
  return new InvalidValueError('ERANGE', option, value, accepted, 'out of range:');
}
