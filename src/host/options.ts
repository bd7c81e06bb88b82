// The options of Netconsole.create, and their validation: in one place, before anything exists
// (no memory, thread, socket, listener or file is made for a call that is then rejected). Every
// option is checked for its type and range, an unknown name is refused with the closest known one
// suggested, and each error is an EINVAL or ERANGE naming the option, the value and what is accepted.
import { readFile } from 'node:fs/promises';
import { invalid, NetconsoleError, type ErrnoCode } from '../base/errors.js';
import { unknownName } from '../base/names.js';
import { DEFAULT_FACILITY, FACILITY_MAX, MAX_TOTAL_MAX } from '../base/limits.js';
import { L } from '../core/layout.js';
import { native, nativeError, type NativeTuning } from '../core/native.js';
import { rtnetlinkAvailable } from '../netdev/rtnetlink-dump.js';
import { DEFAULT_SEND_BUFFER } from '../sender/sockets.js';
import { DEFAULT_RING_SIZE } from '../core/wasm.js';
import { bool as checkBool, given, guarded, int as checkInt, object, oneOf as checkOneOf, path, readFields } from '../base/check.js';
import type { TargetOptions } from './target-api.js';
import { fromTargetAddress, isTargetAddress, type TargetAddress } from './shorthand.js';
import type { DeviceLookup, Mode } from './target-setup.js';
import { levelNumber, type Level, type Overflow } from '../core/writer.js';
import { DRAIN_SIGNALS, type DrainSignal } from './signals.js';

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
}

/** The options as Netconsole.create uses them: every default applied, every value checked. */
export interface ResolvedOptions {
  targets: string | TargetOptions[] | undefined;
  /** Where a parameter string came from: 'targets' (the option or a config file) or 'NETCONSOLE'. */
  targetsOption: string;
  /** Where the targets came from, for the warnings: the option, a config file's, the variable, or none. */
  targetsFrom: 'targets' | 'config' | 'NETCONSOLE' | undefined;
  /** The config file, when one was given. */
  config: string | undefined;
  /** Whether the NETCONSOLE variable was looked at (option env). */
  env: boolean;
  /** The sender asked for, before the addon's absence made 'auto' the dgram sender. */
  senderAsked: 'auto' | 'native' | 'dgram';
  strict: boolean;
  facility: number;
  ringSize: number;
  maxTotal: number;
  seqStart: number;
  sender: 'native' | 'dgram';
  mode: Mode;
  devices: 'rtnetlink' | 'poll' | 'none';
  pollIntervalMs: number;
  lookup: DeviceLookup | undefined;
  debug: boolean;
  oopsOnly: boolean;
  control: string | undefined;
  overflow: Overflow;
  overflowWaitMs: number;
  holdMs: number;
  sendBufferBytes: number;
  nativeTuning: NativeTuning;
  reportLosses: boolean;
  signals: ReadonlySet<DrainSignal>;
  exitDrainMs: number;
  ackWaitMs: number;
  /** 0..7 */
  level: number;
  throwOnLogError: boolean;
}

export const DEFAULT_EXIT_DRAIN_MS = 1000;
export const DEFAULT_ACK_WAIT_MS = 2000;
export const DEFAULT_OVERFLOW_WAIT_MS = 500; // twice the native sender's stall bound: README
export const DEFAULT_HOLD_MS = 2000; // native/drain.h kHoldMsDefault
export const OVERFLOW_WAIT_MAX_MS = 60_000;
const KNOWN: ReadonlySet<string> = new Set([
  'targets', 'config', 'env', 'strict', 'facility', 'ringSize', 'maxTotal', 'seqStart', 'sender', 'mode', 'devices', 'pollIntervalMs',
  'lookup', 'debug', 'oopsOnly', 'control', 'overflow', 'overflowWaitMs', 'holdMs', 'sendBufferBytes', 'nativeSender', 'reportLosses',
  'signals', 'exitDrainMs', 'ackWaitMs', 'level', 'throwOnLogError',
]);

function checkNames(o: object, where: string): void {
  for (const [name, value] of Object.entries(o)) if (!KNOWN.has(name)) throw unknownName(name, value, KNOWN, where);
}

/** An integer option in [lo, hi], `dflt` when not given. */
function int(name: string, v: unknown, lo: number, hi: number, dflt: number): number {
  return given(v, dflt, (x) => checkInt(name, x, lo, hi));
}

function bool(name: string, v: unknown, dflt: boolean): boolean {
  return given(v, dflt, (x) => checkBool(name, x));
}

function oneOf<T extends string>(name: string, v: unknown, values: readonly T[], dflt: T): T {
  return given(v, dflt, (x) => checkOneOf(name, x, values));
}

function ringSize(v: unknown): number {
  const n = int('ringSize', v, L.RING_MIN, L.RING_MAX, DEFAULT_RING_SIZE);
  if ((n & (n - 1)) !== 0) throw invalid('ringSize', v, `a power of two, ${L.RING_MIN}..${L.RING_MAX} bytes`);
  return n;
}

// 'time': a restart lands above every seq sent before, so no receiver takes the new records for
// repeats of old ones (netconsd drops a repeat seen less than 5 s ago); the jump is a new stream
// (docs/wire.md section 1: `listen` starts one at once, netconsd after 19 of 32 out of sequence).
function seqStart(v: unknown): number {
  if (v === undefined || v === 'time') return Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return int('seqStart', v, 0, Number.MAX_SAFE_INTEGER, 0);
}

function lookup(v: unknown): DeviceLookup | undefined {
  if (v === undefined) return undefined;
  const fns = ['getDevice', 'deviceByMac', 'routeDevice', 'sourceAddress'];
  const accepted = `an object with the functions ${fns.join(', ')}`;
  if (v === null || typeof v !== 'object') throw invalid('lookup', v, accepted);
  for (const f of fns) {
    if (typeof guarded(`lookup.${f}`, v, () => (v as Record<string, unknown>)[f]) !== 'function') throw invalid('lookup', v, accepted, `no ${f} function in`);
  }
  return v as DeviceLookup;
}

function control(v: unknown): string | undefined {
  return given(v, undefined, (x) => path('control', x, 'the path of a Unix socket to create'));
}

/** The targets: a parameter string, or an array of target objects, each copied (its fields read
 *  once: a getter or Proxy trap that throws is EINVAL naming that field, `targets[i].<name>`);
 *  one given as `{ address, port, ... }` becomes its kernel attributes (shorthand.ts). */
function targets(v: unknown): string | TargetOptions[] | undefined {
  if (v === undefined || typeof v === 'string') return v;
  const accepted = "a parameter string, or an array of targets ({ address, port } or kernel attributes { remote_ip, remote_port, enabled: 1 })";
  const list = guarded('targets', v, () => (Array.isArray(v) ? [...(v as unknown[])] : null));
  if (list === null) throw invalid('targets', v, accepted);
  return list.map((t, i) => {
    if (t === null || typeof t !== 'object' || guarded(`targets[${i}]`, t, () => Array.isArray(t))) throw invalid(`targets[${i}]`, t, 'an object: { address, port } or target attributes');
    const fields = readFields(`targets[${i}]`, t, `targets[${i}].`);
    if (isTargetAddress(fields)) return fromTargetAddress(fields, `targets[${i}].`, `targets[${i}]`);
    return Object.fromEntries(fields) as TargetOptions;
  });
}

/** The native sender thread's tuning. */
function nativeTuning(o: unknown): NativeTuning {
  if (o === undefined) return {};
  const s = Object.fromEntries(readFields('nativeSender', object('nativeSender', o, 'an object { batch, wake, spin, timerUs }'), 'nativeSender.')) as NativeSenderOptions;
  const names = ['batch', 'wake', 'spin', 'timerUs'];
  for (const [k, v] of Object.entries(s)) if (!names.includes(k)) throw unknownName(k, v, names, 'nativeSender', { option: `nativeSender.${k}` });
  const opt = (name: keyof NativeSenderOptions, lo: number, hi: number): number | undefined =>
    s[name] === undefined ? undefined : int(`nativeSender.${name}`, s[name], lo, hi, 0);
  const wake = oneOf('nativeSender.wake', s.wake, ['spin', 'futex', 'timer'] as const, 'spin');
  return { batch: opt('batch', 1, 1024), spin: wake === 'futex' ? 0 : opt('spin', 0, 1 << 24), timer: wake === 'timer', timerUs: opt('timerUs', 1, 1_000_000) };
}

function signals(v: unknown): ReadonlySet<DrainSignal> {
  if (v === undefined || v === true) return new Set(DRAIN_SIGNALS);
  if (v === false) return new Set();
  const accepted = `true, false, or an array of ${DRAIN_SIGNALS.map((s) => `'${s}'`).join(', ')}`;
  if (!Array.isArray(v) || v.some((s) => !(DRAIN_SIGNALS as readonly unknown[]).includes(s))) throw invalid('signals', v, accepted);
  return new Set(v as DrainSignal[]);
}

/** What a config file's read error means. */
const FILE_CODES: ReadonlySet<string> = new Set(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'EPERM']);

async function readConfigFile(path: unknown): Promise<NetconsoleOptions> {
  if (typeof path !== 'string' || path === '') throw invalid('config', path, 'the path of a JSON file');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? '';
    throw new NetconsoleError((FILE_CODES.has(code) ? code : 'EIO') as ErrnoCode, `config file ${path}: ${(cause as Error).message}`, { option: 'config', value: path, cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw invalid('config', path, 'a JSON object like {"targets": "+@/,6666@127.0.0.1/"}', `${(cause as Error).message} in`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('config', path, 'a JSON object like {"targets": "+@/,6666@127.0.0.1/"}', 'not a JSON object:');
  }
  checkNames(parsed, `config file ${path}`);
  if ('config' in parsed) throw invalid('config', path, 'options other than config (a config file does not name another)', 'nested config in');
  return parsed as NetconsoleOptions;
}

/** Checks every option and applies every default; throws (and makes nothing) on the first problem. */
export async function resolveOptions(opts: NetconsoleOptions = {}): Promise<ResolvedOptions> {
  // Each option read once, into a plain object: a getter or Proxy trap that throws is EINVAL naming it.
  const given = Object.fromEntries(readFields('options', object('options', opts, 'an object of options'))) as NetconsoleOptions;
  checkNames(given, 'Netconsole.create()');
  const file = given.config !== undefined ? await readConfigFile(given.config) : undefined;
  const o: NetconsoleOptions = { ...file, ...given, targets: given.targets !== undefined ? given.targets : file?.targets };
  let t = targets(o.targets);
  // Which option a parameter string came from, for its errors.
  let targetsOption = 'targets';
  let targetsFrom: ResolvedOptions['targetsFrom'] = t === undefined ? undefined : given.targets !== undefined ? 'targets' : 'config';
  const env = bool('env', o.env, true);
  if (t === undefined && env && process.env.NETCONSOLE) [t, targetsOption, targetsFrom] = [process.env.NETCONSOLE, 'NETCONSOLE', 'NETCONSOLE'];

  // Every option that needs the addon is checked here too.
  const which = oneOf('sender', o.sender, ['auto', 'native', 'dgram'] as const, 'auto');
  if (which === 'native' && native === null) {
    throw new NetconsoleError('ENOTSUP', `sender 'native': the native addon is not available (${nativeError?.message})`, { option: 'sender', value: which });
  }
  const sender = native !== null && which !== 'dgram' ? 'native' : 'dgram';
  const mode = oneOf('mode', o.mode, ['udp', 'raw', 'auto'] as const, 'udp');
  if (mode === 'raw' && sender !== 'native') {
    throw new NetconsoleError('ENOTSUP', `mode 'raw' needs the native sender (${nativeError?.message ?? `sender: '${which}'`})`, { option: 'mode', value: 'raw' });
  }
  const dev = oneOf('devices', o.devices, ['auto', 'rtnetlink', 'poll', 'none'] as const, 'auto');
  if (dev === 'rtnetlink' && !rtnetlinkAvailable()) {
    throw new NetconsoleError('ENOTSUP', `devices 'rtnetlink': the native addon's netlink watcher is not available`, { option: 'devices', value: dev });
  }
  const holdMs = int('holdMs', o.holdMs, 0, 3_600_000, DEFAULT_HOLD_MS);
  return {
    targets: t,
    targetsOption,
    targetsFrom,
    config: given.config,
    env,
    senderAsked: which,
    // A config file and an array are strict; a parameter string is not (kernel semantics).
    strict: bool('strict', o.strict, file !== undefined || typeof t !== 'string'),
    facility: int('facility', o.facility, 0, FACILITY_MAX, DEFAULT_FACILITY),
    ringSize: ringSize(o.ringSize),
    maxTotal: int('maxTotal', o.maxTotal, 1, MAX_TOTAL_MAX, L.DEFAULT_MAX_TOTAL),
    seqStart: seqStart(o.seqStart),
    sender,
    // Raw mode needs the native sender; 'auto' falls back to UDP without it.
    mode: sender === 'native' ? mode : 'udp',
    devices: dev === 'auto' ? (rtnetlinkAvailable() ? 'rtnetlink' : 'poll') : dev,
    pollIntervalMs: int('pollIntervalMs', o.pollIntervalMs, 10, 60_000, 500),
    lookup: lookup(o.lookup),
    debug: bool('debug', o.debug, process.env.NETCONSOLE_DEBUG === '1'),
    oopsOnly: bool('oopsOnly', o.oopsOnly, false),
    control: control(o.control),
    overflow: oneOf('overflow', o.overflow, ['wait', 'drop'] as const, 'wait'),
    holdMs,
    overflowWaitMs: int('overflowWaitMs', o.overflowWaitMs, 0, OVERFLOW_WAIT_MAX_MS, DEFAULT_OVERFLOW_WAIT_MS),
    sendBufferBytes: int('sendBufferBytes', o.sendBufferBytes, 1024, 1 << 30, DEFAULT_SEND_BUFFER),
    nativeTuning: { ...nativeTuning(o.nativeSender), holdMs },
    reportLosses: bool('reportLosses', o.reportLosses, true),
    signals: signals(o.signals),
    exitDrainMs: int('exitDrainMs', o.exitDrainMs, 0, 60_000, DEFAULT_EXIT_DRAIN_MS),
    ackWaitMs: int('ackWaitMs', o.ackWaitMs, 0, 60_000, DEFAULT_ACK_WAIT_MS),
    level: o.level === undefined ? 7 : levelNumber(o.level),
    throwOnLogError: bool('throwOnLogError', o.throwOnLogError, false),
  };
}
