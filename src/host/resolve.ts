// Netconsole.create's options resolved: read once, the names checked, a config file merged in,
// each value checked and each default applied from the table of options (host/options.ts), and
// what needs the addon checked against it. All before anything exists: no memory, thread,
// socket, listener or file is made for a call that is then rejected. Every error is an EINVAL or
// ERANGE (ENOTSUP for what this machine cannot do) naming the option, the value and what is
// accepted; an unknown name is refused with the closest known one suggested.
import { invalid, NetconsoleError, type ErrnoCode } from '../base/errors.js';
import { unknownName } from '../base/names.js';
import { object, readFields } from '../base/check.js';
import { native, nativeError, type NativeTuning } from '../core/native.js';
import { rtnetlinkAvailable } from '../netdev/rtnetlink-dump.js';
import type { TargetOptions } from './target-api.js';
import {
  OPTION_NAMES,
  OPTIONS,
  optionValue,
  type NetconsoleOptions,
  type OptionName,
  type Resolved,
} from './options.js';

/** Each option of the table as its checker or its default made it (host/options.ts Resolved). */
export type CheckedOptions = { -readonly [K in OptionName]: Resolved<K> };

/** The options as Netconsole.create uses them: every default applied, every value checked. Every
 *  option of the table is here under its name (CheckedOptions), but those resolve.ts decides
 *  further: the targets (from NETCONSOLE), strict (from where the targets came), the sender and
 *  devices ('auto' and the addon), nativeSender (as the addon's tuning, with holdMs). */
export interface ResolvedOptions extends Omit<
  CheckedOptions,
  'targets' | 'strict' | 'sender' | 'devices' | 'nativeSender'
> {
  targets: string | TargetOptions[] | undefined;
  /** Where a parameter string came from: 'targets' (the option or a config file) or 'NETCONSOLE'. */
  targetsOption: string;
  /** Where the targets came from, for the warnings: the option, a config file's, the variable, or none. */
  targetsFrom: 'targets' | 'config' | 'NETCONSOLE' | undefined;
  /** The sender asked for, before the addon's absence made 'auto' the dgram sender. */
  senderAsked: 'auto' | 'native' | 'dgram';
  strict: boolean;
  sender: 'native' | 'dgram';
  devices: 'rtnetlink' | 'poll' | 'none';
  nativeTuning: NativeTuning;
}

function checkNames(o: object, where: string): void {
  for (const [name, value] of Object.entries(o))
    if (!(OPTION_NAMES as readonly string[]).includes(name)) throw unknownName(name, value, OPTION_NAMES, where);
}

/** What a config file's read error means. */
const FILE_CODES: ReadonlySet<string> = new Set([
  'ENOENT',
  'EACCES',
  'EISDIR',
  'ENOTDIR',
  'ELOOP',
  'ENAMETOOLONG',
  'EPERM',
]);

async function readConfigFile(given: unknown): Promise<NetconsoleOptions> {
  const path = OPTIONS.config.check(given, 'config');
  let text: string;
  try {
    // node:fs/promises loaded here, for a config file, not at every import (1 ms of a start).
    text = await process.getBuiltinModule('node:fs/promises').readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? '';
    throw new NetconsoleError(
      (FILE_CODES.has(code) ? code : 'EIO') as ErrnoCode,
      `config file ${path}: ${(cause as Error).message}`,
      { option: 'config', value: path, cause },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw invalid(
      'config',
      path,
      'a JSON object like {"targets": "+@/,6666@127.0.0.1/"}',
      `${(cause as Error).message} in`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('config', path, 'a JSON object like {"targets": "+@/,6666@127.0.0.1/"}', 'not a JSON object:');
  }
  checkNames(parsed, `config file ${path}`);
  if ('config' in parsed)
    throw invalid(
      'config',
      path,
      'options other than config (a config file does not name another)',
      'nested config in',
    );
  return parsed as NetconsoleOptions;
}

/** Checks every option and applies every default; throws (and makes nothing) on the first problem. */
export async function resolveOptions(opts: NetconsoleOptions = {}): Promise<ResolvedOptions> {
  // Each option read once, into a plain object: a getter or Proxy trap that throws is EINVAL naming it.
  const passed: Record<string, unknown> = Object.fromEntries(
    readFields('options', object('options', opts, 'an object of options')),
  );
  checkNames(passed, 'Netconsole.create()');
  const file = passed.config !== undefined ? await readConfigFile(passed.config) : undefined;
  const o: Record<string, unknown> = {
    ...file,
    ...passed,
    targets: passed.targets !== undefined ? passed.targets : file?.targets,
  };
  // Every option checked, or its default taken, in the table's order: a bad value is EINVAL or
  // ERANGE whatever this machine can do; what needs the addon is checked after.
  const c = {} as Record<OptionName, unknown>;
  for (const name of OPTION_NAMES) c[name] = optionValue(name, o[name]);
  const { targets, strict, sender: which, devices: dev, nativeSender, ...checked } = c as CheckedOptions;
  let t = targets;
  // Which option a parameter string came from, for its errors.
  let targetsOption = 'targets';
  let targetsFrom: ResolvedOptions['targetsFrom'] =
    t === undefined ? undefined : passed.targets !== undefined ? 'targets' : 'config';
  if (t === undefined && checked.env && process.env.NETCONSOLE)
    [t, targetsOption, targetsFrom] = [process.env.NETCONSOLE, 'NETCONSOLE', 'NETCONSOLE'];

  if (which === 'native' && native === null) {
    throw new NetconsoleError(
      'ENOTSUP',
      `sender 'native': the native addon is not available (${nativeError?.message})`,
      { option: 'sender', value: which },
    );
  }
  const sender = native !== null && which !== 'dgram' ? 'native' : 'dgram';
  if (checked.mode === 'raw' && sender !== 'native') {
    throw new NetconsoleError(
      'ENOTSUP',
      `mode 'raw' needs the native sender (${nativeError?.message ?? `sender: '${which}'`})`,
      { option: 'mode', value: 'raw' },
    );
  }
  if (dev === 'rtnetlink' && !rtnetlinkAvailable()) {
    throw new NetconsoleError('ENOTSUP', `devices 'rtnetlink': the native addon's netlink watcher is not available`, {
      option: 'devices',
      value: dev,
    });
  }
  return {
    ...checked,
    targets: t,
    targetsOption,
    targetsFrom,
    senderAsked: which,
    // A config file and an array are strict; a parameter string is not (kernel semantics).
    strict: strict ?? (file !== undefined || typeof t !== 'string'),
    sender,
    // Raw mode needs the native sender; 'auto' falls back to UDP without it.
    mode: sender === 'native' ? checked.mode : 'udp',
    devices: dev === 'auto' ? (rtnetlinkAvailable() ? 'rtnetlink' : 'poll') : dev,
    nativeTuning: { ...nativeSender, holdMs: checked.holdMs },
  };
}
