// The options of Netconsole.create as one table (OPTIONS): each option's name, its checker and its
// default, each written once. The names create() knows ("did you mean"), the defaults, the checks
// and the resolved options' type (resolve.ts) all come from it; the NetconsoleOptions interface
// (kept written out, for its documentation) must name exactly the table's options: the table
// `satisfies` a type mapped over the interface's keys, so tsc fails when one has a name the other
// has not. Checking a value follows base/check.ts's rule ("not given" is undefined or absent);
// resolve.ts applies the table, before anything exists.
import { DEFAULT_FACILITY, FACILITY_MAX, LEVEL_MAX, MAX_TOTAL_MAX } from '../base/limits.js';
import { bool, int, oneOf, path } from '../base/check.js';
import { L } from '../core/layout.js';
import { debugByDefault } from '../core/module.js';
import { DEFAULT_SEND_BUFFER } from '../sender/sockets.js';
import { DEFAULT_RING_SIZE } from '../core/wasm.js';
import type { TargetOptions } from './target-api.js';
import type { TargetAddress } from './shorthand.js';
import type { DeviceLookup, Mode } from './target-setup.js';
import { levelNumber, type Level, type Overflow } from '../core/writer.js';
import { DRAIN_SIGNALS, type DrainSignal } from './signals.js';
import { lookup, nativeTuning, ringSize, seqStart, signals, targets, timeSeq } from './option-checks.js';

export interface NetconsoleOptions {
  /**
   * A parameter string (docs/targets.md 2), or an array of targets, each by its kernel attribute
   * names (`{ remote_ip, remote_port, enabled: 1 }`) or by its receiver (`{ address, port }`,
   * enabled). Default: the NETCONSOLE variable. An empty array: none on purpose (no warning).
   */
  targets?: string | Array<TargetOptions | TargetAddress>;
  /** A JSON file: `{ "targets": <string or array>, ...options }`. */
  config?: string;
  /** Read the NETCONSOLE environment variable when neither targets nor config is given. Default true. */
  env?: boolean;
  /**
   * Reject create() when a target cannot be set up. Default: true for arrays and config files;
   * false for parameter strings, where, as in the kernel, a bad piece is reported and skipped.
   */
  strict?: boolean;
  /** Syslog facility of records, 0..23. Default 1 (user). */
  facility?: number;
  /** Transmit ring bytes (power of two, 64 KiB .. 256 MiB). Default 4 MiB. */
  ringSize?: number;
  /** Extended `total` cap before text is truncated (docs/wire.md 3.4), 1..65532. Default 8191. */
  maxTotal?: number;
  /**
   * First record seq: a number, or 'time' (default): microseconds since the epoch, so that a
   * restarted process continues above the seqs it sent before (the kernel starts at 0 per boot).
   */
  seqStart?: number | 'time';
  /**
   * The sender: 'native' (the addon's sendmmsg thread), 'dgram' (the host's event loop), or
   * 'auto' (default): native when the addon is loaded (NETCONSOLE_NO_NATIVE=1 prevents it).
   */
  sender?: 'auto' | 'native' | 'dgram';
  /**
   * 'udp' (default): datagrams through UDP sockets. 'raw': whole Ethernet frames (headers and
   * checksums built in WebAssembly) through an AF_PACKET socket per device, like netpoll: no
   * routing, no ARP; needs the native sender and CAP_NET_RAW. 'auto': raw where possible (native
   * sender, a device other than loopback), else UDP.
   */
  mode?: Mode;
  /**
   * Where device events come from: 'rtnetlink' (the addon's netlink watcher: every event, within
   * milliseconds), 'poll' (/sys/class/net every pollIntervalMs: see its limits in the README),
   * 'none' (only nc.deviceEvent()), or 'auto' (default): rtnetlink when the addon can, else poll.
   * Device look-ups follow: rtnetlink dumps see what sysfs cannot (IPv4 addresses of a device
   * that is down).
   */
  devices?: 'auto' | 'rtnetlink' | 'poll' | 'none';
  /** Polling interval of devices 'poll', ms (10..60000). Default 500. */
  pollIntervalMs?: number;
  /** Device look-ups (advanced, tests): default /sys/class/net and /proc/net. */
  lookup?: DeviceLookup;
  /** Use the debug build of the WebAssembly module. Default NETCONSOLE_DEBUG=1. */
  debug?: boolean;
  /**
   * Like the kernel's oops_only: ordinary log calls send nothing; only crashes captured by
   * captureCrashes() (and nc.oops()) go out. Default false.
   */
  oopsOnly?: boolean;
  /** A path for the control socket (`netconsole ctl`): a Unix socket, mode 0600. Off by default. */
  control?: string;
  /**
   * When the transmit ring has no room for a record. 'wait' (default): the log call waits for the
   * sender to free room, at most `overflowWaitMs`, and then drops the record (counted, reported
   * in-band). 'drop': it drops the record at once. Workers follow the logger they attached to.
   */
  overflow?: Overflow;
  /** The longest a log call waits for room with overflow 'wait', in ms (0..60000). Default 500. */
  overflowWaitMs?: number;
  /**
   * How long a target's records wait for a path that cannot carry them (its device lost its
   * carrier or went down, its next hop is being resolved) before they are given up, counted and
   * reported in-band, in ms (0..3600000). They wait in the ring, so a full ring meets `overflow`.
   * Default 2000: a lost carrier's neighbour is asked for again within a second.
   */
  holdMs?: number;
  /**
   * SO_SNDBUF of each sending socket, in bytes: how much the kernel may hold for a socket before
   * a send waits (the kernel caps it at net.core.wmem_max and doubles it). Default 4 MiB.
   */
  sendBufferBytes?: number;
  /**
   * The native sender thread's batching and waiting (what `netconsole tune` measures): `batch`
   * datagrams per sendmmsg (1..1024, default 64); when the ring is empty, `wake` 'spin' (default:
   * `spin` polls, default 2000, then a futex wait the writers wake), 'futex' (the wait at once),
   * or 'timer' (a sleep of `timerUs`, default 50, and another look: writers never wake it).
   */
  nativeSender?: NativeSenderOptions;
  /**
   * In-band loss reports: after a target lost messages (ring full, device not running, transmit
   * failures), the next record that reaches it is preceded by "** N messages dropped **". Default true.
   */
  reportLosses?: boolean;
  /**
   * The signals at which, when the application has no listener of its own, what was logged is
   * handed to the kernel before the signal ends the process (then sent again: the process still
   * dies of it). Default true: ['SIGTERM', 'SIGINT', 'SIGHUP']; false (or []) turns it off.
   */
  signals?: boolean | readonly DrainSignal[];
  /**
   * The longest the drain at process exit (also process.exit()) or at a signal waits for the
   * sender, in ms (0..60000). Default 1000. What could not go by then is said on stderr.
   */
  exitDrainMs?: number;
  /**
   * The longest close() waits for the receivers of reliable targets (docs/reliable.md) to ack
   * what they were sent, in ms (0..60000). Default 2000. Meanwhile the newest unacked message is
   * resent with `ncemg=1` every 250 ms, which a receiver that acks answers at once. Only targets
   * whose receiver has replied are waited for; 0 does not wait.
   */
  ackWaitMs?: number;
  /**
   * The level threshold: records of a less severe level are not written (a comparison, before
   * any formatting). A name (`'warning'`, `'warn'`, `'info'`, pino's `'trace'` and `'fatal'`, ...)
   * or 0..7. Default 'debug': everything. Changeable at run time: `nc.level = 'warning'`. Worker
   * loggers start at the level the Netconsole had when its handle() was made.
   */
  level?: Level;
  /**
   * Log calls refused for a bad level, value, argument or per-record option throw their typed
   * NetconsoleError, as before the logger conventions (for tests). Default false: such a call
   * returns 0, is counted in `stats().logErrors` and said once per cause as a process warning.
   * Worker loggers follow the Netconsole's.
   */
  throwOnLogError?: boolean;
}

export interface NativeSenderOptions {
  batch?: number;
  wake?: 'spin' | 'futex' | 'timer';
  spin?: number;
  timerUs?: number;
  /**
   * Raw mode: frames go through a PACKET_TX_RING on the device's socket, one send() a batch
   * (default true). false: sendmmsg, as where the ring cannot be set up (then a NETCONSOLE_TX_RING
   * warning says why). NETCONSOLE_NO_TX_RING=1 in the environment makes false the default.
   */
  txRing?: boolean;
  /**
   * UDP mode: a run of one target's datagrams of the same length (the last may be shorter) goes to
   * the kernel as one UDP GSO send, which it cuts into those same datagrams (default true): the
   * kernel's work for one send instead of one per datagram. Where the kernel refuses GSO on a
   * target's path (an MTU below the datagrams, a device without checksum offload, IPsec), that
   * target's datagrams go one by one, counted in `stats().transmit.gsoFallbacks`. false: one by one
   * always. NETCONSOLE_NO_GSO=1 in the environment makes false the default.
   */
  gso?: boolean;
}

export const DEFAULT_EXIT_DRAIN_MS = 1000;
export const DEFAULT_ACK_WAIT_MS = 2000;
export const DEFAULT_OVERFLOW_WAIT_MS = 500; // twice the native sender's stall bound: README
export const DEFAULT_HOLD_MS = 2000; // native/drain.h kHoldMsDefault
/** A minute: the longest of the waits (pollIntervalMs, overflowWaitMs, exitDrainMs, ackWaitMs). */
const MINUTE_MS = 60_000;
export const OVERFLOW_WAIT_MAX_MS = MINUTE_MS;

/** One option of create(): what a given value becomes (or the EINVAL or ERANGE naming the option),
 *  and what stands when it is not given. What each one is: the interface above, and README. */
export interface OptionRow<R, D extends R | undefined = R | undefined> {
  /** A given value (anything but undefined: base/check.ts) checked; `name`, the option's, names it
   *  in the errors, so that the table writes each name once. */
  readonly check: (value: unknown, name: string) => R;
  /** The value when not given; undefined where resolve.ts decides it from other options
   *  (targets, strict) or where none is none (config, lookup, control). */
  readonly default: D;
  /** A default read at each create() (the clock, an environment variable), instead of `default`. */
  readonly defaultAt?: () => R;
}

function row<R, D extends R | undefined>(check: (value: unknown, name: string) => R, dflt: D): OptionRow<R, D> {
  return { check, default: dflt };
}

/** An option whose default is read at each create(). */
function rowAt<R>(check: (value: unknown, name: string) => R, defaultAt: () => R): OptionRow<R, never> {
  return { check, default: undefined as never, defaultAt };
}

const intIn =
  (lo: number, hi: number) =>
  (v: unknown, name: string): number =>
    int(name, v, lo, hi);
const boolean = (v: unknown, name: string): boolean => bool(name, v);
const among =
  <T extends string>(...values: T[]) =>
  (v: unknown, name: string): T =>
    oneOf(name, v, values);
const pathTo =
  (accepted: string) =>
  (v: unknown, name: string): string =>
    path(name, v, accepted);

/** Every option of create(), in the order they are checked (resolve.ts), each with its checker and
 *  its default. The names create() knows (OPTION_NAMES) and what it resolves (resolve.ts
 *  CheckedOptions) come from here. */
export const OPTIONS = {
  targets: row(targets, undefined), // not given: NETCONSOLE (option env)
  config: row(pathTo('the path of a JSON file'), undefined),
  env: row(boolean, true),
  sender: row(among('auto', 'native', 'dgram'), 'auto'),
  mode: row(among<Mode>('udp', 'raw', 'auto'), 'udp'),
  devices: row(among('auto', 'rtnetlink', 'poll', 'none'), 'auto'),
  holdMs: row(intIn(0, 3_600_000), DEFAULT_HOLD_MS),
  strict: row(boolean, undefined), // not given: true for arrays and config files, false for strings
  facility: row(intIn(0, FACILITY_MAX), DEFAULT_FACILITY),
  ringSize: row(ringSize, DEFAULT_RING_SIZE),
  maxTotal: row(intIn(1, MAX_TOTAL_MAX), L.DEFAULT_MAX_TOTAL),
  seqStart: rowAt(seqStart, timeSeq), // 'time', the default: microseconds since the epoch
  pollIntervalMs: row(intIn(10, MINUTE_MS), 500),
  lookup: row(lookup, undefined), // not given: /sys/class/net and /proc/net, or rtnetlink
  debug: rowAt(boolean, debugByDefault),
  oopsOnly: row(boolean, false),
  control: row(pathTo('the path of a Unix socket to create'), undefined),
  overflow: row(among<Overflow>('wait', 'drop'), 'wait'),
  overflowWaitMs: row(intIn(0, OVERFLOW_WAIT_MAX_MS), DEFAULT_OVERFLOW_WAIT_MS),
  sendBufferBytes: row(intIn(1024, 1 << 30), DEFAULT_SEND_BUFFER),
  nativeSender: rowAt(nativeTuning, () => nativeTuning({})), // its defaults are nativeTuning's
  reportLosses: row(boolean, true),
  signals: rowAt(signals, () => new Set(DRAIN_SIGNALS)),
  exitDrainMs: row(intIn(0, MINUTE_MS), DEFAULT_EXIT_DRAIN_MS),
  ackWaitMs: row(intIn(0, MINUTE_MS), DEFAULT_ACK_WAIT_MS),
  level: row(levelNumber, LEVEL_MAX), // 'debug': everything
  throwOnLogError: row(boolean, false),
} as const satisfies { readonly [K in keyof NetconsoleOptions]-?: OptionRow<unknown> };

export type OptionName = keyof typeof OPTIONS;
/** What an option resolves to: its checker's result, or its default (undefined where it has none). */
export type Resolved<K extends OptionName> = ReturnType<(typeof OPTIONS)[K]['check']> | (typeof OPTIONS)[K]['default'];

/** The names create() knows, from the table. */
export const OPTION_NAMES: readonly OptionName[] = Object.freeze(Object.keys(OPTIONS) as OptionName[]);

/** An option's value: checked when given (anything but undefined: base/check.ts), else its default
 *  (undefined for the options that have none in the table). */
export function optionValue<K extends OptionName>(name: K, value: unknown): Resolved<K> {
  const r = OPTIONS[name] as OptionRow<Resolved<K>>;
  if (value !== undefined) return r.check(value, name);
  return r.defaultAt !== undefined ? r.defaultAt() : (r.default as Resolved<K>);
}
