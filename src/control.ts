// The control socket: reconfigure a running process the way configfs reconfigures the kernel's
// netconsole. Off by default; `Netconsole.create({ control: '/run/app/netconsole.sock' })`.
//
// A Unix socket, mode 0600 (created under umask 077, then checked), one JSON request per line:
//   {"op":"ls","path":""}                      -> target names
//   {"op":"ls","path":"t1"}                    -> its attributes, and "userdata/"
//   {"op":"ls","path":"t1/userdata"}           -> its userdata keys and the sysdata toggles
//   {"op":"get","path":"t1/remote_ip"}         -> the configfs text
//   {"op":"set","path":"t1/enabled","value":"1"}
//   {"op":"set","path":"t1/userdata/region","value":"eu-west-1"}   (creates the entry if needed)
//   {"op":"mkdir","path":"t2"}   {"op":"rmdir","path":"t2"}   {"op":"rmdir","path":"t1/userdata/region"}
// Each reply is one line: {"ok":true,"value":...} or {"ok":false,"code":"EINVAL","message":"..."}.
// Every change goes through the target table, so concurrent clients are serialized by the
// configuration mutex, like configfs writers.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { ATTRIBUTE_NAMES, SYSDATA_TOGGLES } from './config/attributes.js';
import { InvalidValueError, NetconsoleError } from './errors.js';
import type { Targets } from './netconsole.js';

export interface ControlRequest {
  op: 'ls' | 'get' | 'set' | 'mkdir' | 'rmdir';
  path?: string;
  value?: string;
}

export type ControlReply = { ok: true; value?: unknown } | { ok: false; code: string; message: string };

const MAX_LINE = 64 << 10;

function noEntry(path: string): NetconsoleError {
  return new InvalidValueError('ENOENT', 'path', path, 'an existing target, attribute or userdata entry', 'no such file or directory:');
}

/** Executes one request against the targets. */
export async function execute(targets: Targets, req: ControlRequest): Promise<unknown> {
  const parts = (req.path ?? '').split('/').filter((p) => p !== '');
  const [name, attr, key] = parts;
  const target = name === undefined ? undefined : targets.get(name);
  switch (req.op) {
    case 'ls':
      if (parts.length === 0) return targets.list().map((t) => t.name);
      if (!target) throw noEntry(req.path!);
      if (parts.length === 1) return [...ATTRIBUTE_NAMES, 'local_mac', 'transmit_errors', 'userdata/'];
      if (attr === 'userdata' && parts.length === 2) return [...target.userdata.entries().map(([k]) => k), ...SYSDATA_TOGGLES];
      throw noEntry(req.path!);
    case 'get':
      if (!target || attr === undefined) throw noEntry(req.path ?? '');
      if (attr === 'userdata') {
        const v = key === undefined ? undefined : target.userdata.get(key);
        if (v === undefined) throw noEntry(req.path!);
        return v;
      }
      if (parts.length !== 2) throw noEntry(req.path!);
      return target.get(attr);
    case 'set':
      if (!target || attr === undefined) throw noEntry(req.path ?? '');
      if (typeof req.value !== 'string') throw new InvalidValueError('EINVAL', 'value', req.value, 'a string', 'missing value:');
      if (attr === 'userdata' && key !== undefined && parts.length === 3) return target.userdata.set(key, req.value);
      if (parts.length !== 2) throw noEntry(req.path!);
      return target.set(attr, req.value);
    case 'mkdir':
      if (parts.length === 1) return void (await targets.create(name!));
      if (target && attr === 'userdata' && parts.length === 3) return target.userdata.set(key!, '');
      throw noEntry(req.path ?? '');
    case 'rmdir':
      if (target && parts.length === 1) return target.remove();
      if (target && attr === 'userdata' && parts.length === 3) return target.userdata.delete(key!);
      throw noEntry(req.path ?? '');
    default:
      throw new InvalidValueError('EINVAL', 'op', (req as { op: unknown }).op, 'ls, get, set, mkdir or rmdir', 'unknown operation:');
  }
}

/** Checks that `path` is a socket only its owner (this user) can use; throws EACCES otherwise. */
export function checkSocketPermissions(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (cause) {
    throw new NetconsoleError('ENOENT', `control socket ${path}: ${(cause as Error).message}`, { option: 'socket', value: path, cause });
  }
  const uid = process.getuid?.() ?? st.uid;
  if (!st.isSocket() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new NetconsoleError('EACCES', `control socket ${path}: must be a socket owned by uid ${uid} with mode 0600 (is ${st.isSocket() ? 'a socket' : 'not a socket'}, uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`, { option: 'socket', value: path });
  }
}

export class ControlServer {
  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  static async listen(path: string, targets: Targets): Promise<ControlServer> {
    try {
      if (lstatSync(path).isSocket()) unlinkSync(path); // a stale socket of an earlier run
    } catch {
      // not there: fine
    }
    const server = createServer((socket) => serve(socket, targets));
    const oldMask = process.umask(0o077);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } catch (cause) {
      throw new NetconsoleError('EADDRNOTAVAIL', `control socket ${path}: ${(cause as Error).message}`, { option: 'control', value: path, cause });
    } finally {
      process.umask(oldMask);
    }
    chmodSync(path, 0o600);
    checkSocketPermissions(path);
    server.unref();
    return new ControlServer(server, path);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function serve(socket: Socket, targets: Targets): void {
  let buffered = '';
  let chain = Promise.resolve();
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_LINE) return void socket.destroy();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      // Requests of one connection are answered in order.
      chain = chain.then(() => answer(line, targets)).then((reply) => void socket.write(`${JSON.stringify(reply)}\n`));
    }
  });
}

async function answer(line: string, targets: Targets): Promise<ControlReply> {
  try {
    const req = JSON.parse(line) as ControlRequest;
    const value = await execute(targets, req);
    return value === undefined ? { ok: true } : { ok: true, value };
  } catch (err) {
    if (err instanceof NetconsoleError) return { ok: false, code: err.code, message: err.message };
    return { ok: false, code: 'EINVAL', message: err instanceof SyntaxError ? `not a JSON request: ${err.message}` : String(err) };
  }
}

/** A client: sends one request and resolves with the reply (refuses a socket with wrong permissions). */
export async function control(path: string, req: ControlRequest): Promise<ControlReply> {
  checkSocketPermissions(path);
  const socket = createConnection(path);
  socket.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let buffered = '';
    socket.on('error', (cause) => reject(new NetconsoleError('ECONNREFUSED', `control socket ${path}: ${cause.message}`, { option: 'socket', value: path, cause })));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      socket.end();
      try {
        resolve(JSON.parse(buffered.slice(0, nl)) as ControlReply);
      } catch (err) {
        reject(err);
      }
    });
    socket.write(`${JSON.stringify(req)}\n`);
  });
}
