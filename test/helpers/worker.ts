// What the worker processes under test/workers/ share (the test side is test/helpers/json-child.ts):
// one JSON object a stdout line, errors as {code, message}, an uncaught error as a {fatal} line and
// exit 1, the command loop on stdin, and UDP sockets for the receivers.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createInterface } from 'node:readline';
import type { DeviceLookup } from '../../src/host/target-setup.js';
import type { DeviceInfo } from '../../src/netdev/types.js';

export type Reply = Record<string, unknown>;

/** One line of stdout. (Writes to a pipe are synchronous on Linux: a line is out before an exit.) */
export function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

export function errInfo(err: unknown): { code: string; message: string } {
  if (err instanceof Error) return { code: String((err as { code?: unknown }).code ?? err.name), message: err.message };
  return { code: 'UNKNOWN', message: String(err) };
}

/** {fatal} on stdout, the stack on stderr (the test shows both), exit 1. */
export function fatal(err: unknown): never {
  out({ fatal: errInfo(err) });
  if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

/** An uncaught exception or unhandled rejection is fatal(); `before` runs first (e.g. to flush). */
export function fatalOnUncaught(before: () => void = () => {}): void {
  const handler = (err: unknown): never => {
    before();
    fatal(err);
  };
  process.on('uncaughtException', handler);
  process.on('unhandledRejection', handler);
}

/**
 * Runs each stdin line through `execute`, strictly one after the other, and prints
 * {"reply":<line>, ...result} or {"reply":<line>,"error":{code,message}} (the line cut to 200
 * characters: it names the command, a long one is not sent back); blank lines are ignored.
 * Each command first lets the I/O callbacks that are due run (setImmediate), so that its reply
 * comes after the events already readable. When stdin closes, `end` runs after the queued commands.
 */
export function commandLoop(execute: (line: string) => Reply | Promise<Reply>, end: () => void | Promise<void>): void {
  let chain = Promise.resolve();
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    const reply = line.length > 200 ? `${line.slice(0, 200)}...` : line;
    chain = chain.then(async () => {
      await new Promise((r) => setImmediate(r));
      try {
        out({ reply, ...(await execute(line.trim())) });
      } catch (err) {
        out({ reply, error: errInfo(err) });
      }
    });
  });
  rl.on('close', () => {
    chain = chain.then(end);
  });
}

/** A command's words: the first, and the rest split on white space. */
export function words(line: string): { cmd: string; args: string[]; rest: string } {
  const sp = line.search(/\s/);
  const cmd = sp < 0 ? line : line.slice(0, sp);
  const rest = sp < 0 ? '' : line.slice(sp + 1).trim();
  return { cmd, args: rest === '' ? [] : rest.split(/\s+/), rest };
}

/** A worker's quit around a Netconsole: closes it once (a failed close is an {ncError} line), then exit 0. */
export function quitAfter(close: () => Promise<void>): () => Promise<void> {
  let closing = false;
  return async () => {
    if (closing) return;
    closing = true;
    try {
      await close();
    } catch (err) {
      out({ ncError: errInfo(err) });
    }
    process.exit(0);
  };
}

/** Commands by name, each given the words after the name. */
export type Commands = Record<string, (args: string[]) => unknown>;

/** commandLoop's `execute` for a table of commands: {result: <what it returned>}; an unknown one is EINVAL. */
export function resultOf(commands: Commands): (line: string) => Reply {
  return (line) => {
    const { cmd, args } = words(line);
    if (!Object.prototype.hasOwnProperty.call(commands, cmd))
      throw coded('EINVAL', `unknown command ${JSON.stringify(cmd)}`);
    return { result: commands[cmd]!(args) };
  };
}

/**
 * The look-up commands of the device probes, answered by `l` (sysfs.ts, or rtnetlinkLookup), each
 * name after `prefix`: list | device <name> | mac <mac> | index <n> | route <ip> |
 * source <dev> <4|6> [remote].
 */
export function lookupCommands(
  l: DeviceLookup & { listDevices(): DeviceInfo[]; deviceByIfindex(ifindex: number): DeviceInfo | null },
  prefix = '',
): Commands {
  const table: Commands = {
    list: () => l.listDevices(),
    device: ([name]) => l.getDevice(name ?? ''),
    mac: ([mac]) => l.deviceByMac(mac ?? ''),
    index: ([n]) => l.deviceByIfindex(Number(n)),
    route: ([ip]) => l.routeDevice(ip ?? ''),
    source: ([dev, family, remote]) => l.sourceAddress(dev ?? '', Number(family) === 6 ? 6 : 4, remote),
  };
  return Object.fromEntries(Object.entries(table).map(([k, f]) => [`${prefix}${k}`, f]));
}

/** An error with an errno-style code, as the workers reply it. */
export function coded(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A UDP socket bound to address:port (udp6: IPv6 only); an error after the bind is uncaught (fatal). */
export async function bindUdp(
  type: 'udp4' | 'udp6',
  address: string,
  port: number,
  recvBufferSize: number,
  onMessage: (data: Buffer, r: RemoteInfo) => void,
): Promise<Socket> {
  const s = createSocket({ type, ipv6Only: type === 'udp6', recvBufferSize });
  s.on('message', onMessage);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      s.on('error', (err) => {
        throw err;
      });
      resolve();
    });
  });
  return s;
}

/** A port number argument (1..65535), `dflt` when absent. */
export function portArg(v: string | undefined, dflt?: number): number {
  const port = v === undefined && dflt !== undefined ? dflt : Number(v);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port ${String(v)}`);
  return port;
}

/** Closes the sockets and exits 0 when stdin ends (the receivers' way to stop). */
export function exitOnStdinEnd(sockets: Socket[], before: () => void = () => {}): void {
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const s of sockets) s.close();
    before();
    process.exit(0);
  });
}
