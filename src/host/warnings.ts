// Configuration that did not work, said as a process warning: a logger that sends nothing must
// not look like one that works. Each has a stable code, a message that names where the
// configuration came from, what failed and why, and a detail that says what is accepted or how
// to fix it. Node prints them on stderr ("(node:PID) [CODE] Warning: message", the detail
// below); `process.on('warning')` sees them (filter by `code`); `--no-warnings` silences them.
//
//   NETCONSOLE_TARGET      a target of the configuration did not come up (once for each)
//   NETCONSOLE_NO_TARGETS  no target is configured at all (once per process)
//   NETCONSOLE_NO_ADDON    the native addon did not load, and the fallback was not asked for
//                          (once per process)
import type { NetconsoleError } from '../base/errors.js';
import { PARAM_ACCEPTED } from '../config/params.js';
import type { ResolvedOptions } from './resolve.js';

export type WarningCode = 'NETCONSOLE_TARGET' | 'NETCONSOLE_NO_TARGETS' | 'NETCONSOLE_NO_ADDON';

const EXAMPLE = "'+@/,6666@10.0.0.2/'";
const said = new Set<WarningCode>();

function warn(code: WarningCode, message: string, detail?: string): void {
  process.emitWarning(message, detail === undefined ? { code } : { code, detail });
}

/** Where the targets were read from, in the user's words. `origin` names an integration's options. */
export function targetsSource(o: Pick<ResolvedOptions, 'targetsFrom' | 'config'>, origin: string | undefined): string {
  switch (o.targetsFrom) {
    case 'NETCONSOLE':
      return 'the NETCONSOLE environment variable';
    case 'config':
      return `targets of the config file ${o.config}`;
    default:
      return origin !== undefined ? `${origin}.targets` : 'the targets option';
  }
}

/** An error and its cause in one line (the parameter string's "couldn't parse config at" says where, its cause what). */
function reason(err: NetconsoleError): string {
  const cause = err.cause instanceof Error ? err.cause.message : '';
  return cause !== '' && !err.message.includes(cause) ? `${err.message}: ${cause}` : err.message;
}

function quoted(text: unknown): string {
  const s = typeof text === 'string' ? text : String(text);
  return `'${s.length > 80 ? `${s.slice(0, 77)}...` : s}'`;
}

/** A piece of a parameter string (or the whole string) that did not parse. */
export function warnUnparsed(source: string, err: NetconsoleError, origin: string | undefined): void {
  const shorthand =
    origin !== undefined
      ? `or, in ${origin}, { address: '10.0.0.2', port: 6666 }`
      : "or targets: [{ address: '10.0.0.2', port: 6666 }]";
  warn(
    'NETCONSOLE_TARGET',
    `netconsole: ${source}: target ${quoted(err.value)} did not come up: ${reason(err)}`,
    `A target is ${PARAM_ACCEPTED} (';' between targets), e.g. ${EXAMPLE}: extended messages to UDP port 6666 of 10.0.0.2; ${shorthand}. The other targets are not affected.`,
  );
}

/** A target that parsed (or was given as an object) and could not be set up. */
export function warnNotSetUp(
  source: string,
  name: string,
  attrs: Record<string, unknown>,
  err: NetconsoleError,
  kept: boolean,
): void {
  const to =
    typeof attrs.remote_ip === 'string'
      ? ` (to ${attrs.remote_ip}${attrs.remote_port !== undefined ? ` port ${String(attrs.remote_port)}` : ''})`
      : '';
  warn(
    'NETCONSOLE_TARGET',
    `netconsole: ${source}: target ${name}${to} did not come up: ${reason(err)}`,
    kept
      ? `It stays, disabled, as the kernel keeps it: nc.targets.get('${name}') shows it; set() its attributes, then enable() it.`
      : 'It was not created; the other targets are not affected.',
  );
}

/** Nothing configured: every log call would send nothing. */
export function warnNoTargets(
  o: Pick<ResolvedOptions, 'targetsFrom' | 'config' | 'env'>,
  origin: string | undefined,
): void {
  if (said.has('NETCONSOLE_NO_TARGETS')) return;
  said.add('NETCONSOLE_NO_TARGETS');
  const env = o.env ? 'the NETCONSOLE environment variable is not set' : 'env is false (NETCONSOLE is not read)';
  const why =
    o.targetsFrom !== undefined
      ? `${targetsSource(o, origin)} is empty`
      : origin !== undefined
        ? `${origin} have no address and no targets, and ${env}`
        : `no targets option${o.config !== undefined ? ` (nor in the config file ${o.config})` : ''}, and ${env}`;
  const detail =
    origin !== undefined
      ? `Give one in ${origin}: { address: '10.0.0.2', port: 6666 }, or targets: ${EXAMPLE} (${PARAM_ACCEPTED}), or NETCONSOLE=${EXAMPLE} in the environment.`
      : `Give one: Netconsole.create({ targets: [{ address: '10.0.0.2', port: 6666 }] }), or a parameter string as the kernel takes it, targets: ${EXAMPLE} or NETCONSOLE=${EXAMPLE} in the environment (${PARAM_ACCEPTED}). To add targets later with nc.targets.create() without this warning: targets: [].`;
  warn('NETCONSOLE_NO_TARGETS', `netconsole: no target is configured, log calls send nothing: ${why}`, detail);
}

/** The addon did not load and the fallback was not asked for: what that costs and how to fix it. */
export function warnNoAddon(why: string, o: Pick<ResolvedOptions, 'devices' | 'pollIntervalMs'>): void {
  if (said.has('NETCONSOLE_NO_ADDON')) return;
  said.add('NETCONSOLE_NO_ADDON');
  const polled =
    o.devices === 'poll' ? `, device events are polled from /sys/class/net every ${o.pollIntervalMs} ms` : '';
  warn(
    'NETCONSOLE_NO_ADDON',
    `netconsole: the native addon did not load (${why}): the pure-JS 'dgram' sender sends on the event loop${polled}, and mode 'raw' is not available`,
    "To build the addon: npm rebuild netconsole (it needs python3, make and a C++ compiler). To use the pure-JS sender without this warning: sender: 'dgram', or NETCONSOLE_NO_NATIVE=1 in the environment.",
  );
}
