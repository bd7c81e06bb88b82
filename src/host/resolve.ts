// Netconsole.create's options resolved: read once, the names checked, a config file merged in,
// each value checked and each default applied from the table of options (host/options.ts), and
// what needs the addon checked against it. All before anything exists: no memory, thread,
// socket, listener or file is made for a call that is then rejected. Every error is an EINVAL or
// ERANGE (ENOTSUP for what this machine cannot do) naming the option, the value and what is
// accepted; an unknown name is refused with the closest known one suggested.
import { readFile } from 'node:fs/promises';
import { invalid, NetconsoleError, type ErrnoCode } from '../base/errors.js';
import { unknownName } from '../base/names.js';
import { object, readFields } from '../base/check.js';
import { native, nativeError, type NativeTuning } from '../core/native.js';
import { rtnetlinkAvailable } from '../netdev/rtnetlink-dump.js';
import type { TargetOptions } from './target-api.js';
import type { DeviceLookup, Mode } from './target-setup.js';
import type { Overflow } from '../core/writer.js';
import type { DrainSignal } from './signals.js';
import { OPTION_NAMES, OPTIONS, optionValue, type NetconsoleOptions, type OptionName } from './options.js';

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


function checkNames(o: object, where: string): void {
  for (const [name, value] of Object.entries(o)) if (!(OPTION_NAMES as readonly string[]).includes(name)) throw unknownName(name, value, OPTION_NAMES, where);
}

/** What a config file's read error means. */
const FILE_CODES: ReadonlySet<string> = new Set(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'EPERM']);

async function readConfigFile(given: unknown): Promise<NetconsoleOptions> {
  const path = OPTIONS.config.check(given);
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
  const passed: Record<string, unknown> = Object.fromEntries(readFields('options', object('options', opts, 'an object of options')));
  checkNames(passed, 'Netconsole.create()');
  const file = passed.config !== undefined ? await readConfigFile(passed.config) : undefined;
  const o: Record<string, unknown> = { ...file, ...passed, targets: passed.targets !== undefined ? passed.targets : file?.targets };
  const v = <K extends OptionName>(name: K) => optionValue(name, o[name]);
  let t = v('targets');
  // Which option a parameter string came from, for its errors.
  let targetsOption = 'targets';
  let targetsFrom: ResolvedOptions['targetsFrom'] = t === undefined ? undefined : passed.targets !== undefined ? 'targets' : 'config';
  const env = v('env');
  if (t === undefined && env && process.env.NETCONSOLE) [t, targetsOption, targetsFrom] = [process.env.NETCONSOLE, 'NETCONSOLE', 'NETCONSOLE'];

  // Every option that needs the addon is checked here too.
  const which = v('sender');
  if (which === 'native' && native === null) {
    throw new NetconsoleError('ENOTSUP', `sender 'native': the native addon is not available (${nativeError?.message})`, { option: 'sender', value: which });
  }
  const sender = native !== null && which !== 'dgram' ? 'native' : 'dgram';
  const mode = v('mode');
  if (mode === 'raw' && sender !== 'native') {
    throw new NetconsoleError('ENOTSUP', `mode 'raw' needs the native sender (${nativeError?.message ?? `sender: '${which}'`})`, { option: 'mode', value: 'raw' });
  }
  const dev = v('devices');
  if (dev === 'rtnetlink' && !rtnetlinkAvailable()) {
    throw new NetconsoleError('ENOTSUP', `devices 'rtnetlink': the native addon's netlink watcher is not available`, { option: 'devices', value: dev });
  }
  const holdMs = v('holdMs');
  return {
    targets: t,
    targetsOption,
    targetsFrom,
    config: v('config'),
    env,
    senderAsked: which,
    // A config file and an array are strict; a parameter string is not (kernel semantics).
    strict: v('strict') ?? (file !== undefined || typeof t !== 'string'),
    facility: v('facility'),
    ringSize: v('ringSize'),
    maxTotal: v('maxTotal'),
    seqStart: v('seqStart'),
    sender,
    // Raw mode needs the native sender; 'auto' falls back to UDP without it.
    mode: sender === 'native' ? mode : 'udp',
    devices: dev === 'auto' ? (rtnetlinkAvailable() ? 'rtnetlink' : 'poll') : dev,
    pollIntervalMs: v('pollIntervalMs'),
    lookup: v('lookup'),
    debug: v('debug'),
    oopsOnly: v('oopsOnly'),
    control: v('control'),
    overflow: v('overflow'),
    holdMs,
    overflowWaitMs: v('overflowWaitMs'),
    sendBufferBytes: v('sendBufferBytes'),
    nativeTuning: { ...v('nativeSender'), holdMs },
    reportLosses: v('reportLosses'),
    signals: v('signals'),
    exitDrainMs: v('exitDrainMs'),
    ackWaitMs: v('ackWaitMs'),
    level: v('level'),
    throwOnLogError: v('throwOnLogError'),
  };
}
