// The control socket's protocol: one JSON request per line, one JSON reply line per request, in
// order. The requests mirror the configfs tree of the kernel's netconsole:
//   {"op":"ls","path":""}                      -> target names
//   {"op":"ls","path":"t1"}                    -> its attributes, and "userdata/"
//   {"op":"ls","path":"t1/userdata"}           -> its userdata keys and the sysdata toggles
//   {"op":"get","path":"t1/remote_ip"}         -> the configfs text
//   {"op":"set","path":"t1/enabled","value":"1"}
//   {"op":"set","path":"t1/userdata/region","value":"eu-west-1"}   (creates the entry if needed)
//   {"op":"set","path":"t1/send_msg","value":"leaving"}  -> sent to t1 alone (a get is EACCES)
//   {"op":"mkdir","path":"t2"}   {"op":"rmdir","path":"t2"}   {"op":"rmdir","path":"t1/userdata/region"}
// A reply is {"ok":true,"value":...} or {"ok":false,"code":"EINVAL","message":"..."}. A line that
// is not one of these requests is answered EINVAL, saying what was wrong and what is accepted, and
// changes nothing. The server is src/host/control.ts, the client src/control-client.ts.
import { lstatSync } from 'node:fs';
import {
  ATTRIBUTE_NAMES,
  READ_ONLY_ATTRIBUTES,
  SYSDATA_TOGGLES,
  WRITE_ONLY_ATTRIBUTES,
  type AttributeName,
} from '../config/attributes.js';
import { closest } from '../base/names.js';
import { invalid, InvalidValueError, NetconsoleError } from '../base/errors.js';
import type { Targets, WritableAttribute } from './target-api.js';

export const OPS = ['ls', 'get', 'set', 'mkdir', 'rmdir'] as const;

export interface ControlRequest {
  op: (typeof OPS)[number];
  path?: string;
  value?: string;
}

export type ControlReply = { ok: true; value?: unknown } | { ok: false; code: string; message: string };

/** Where background failures go: never thrown (src/host/netconsole.ts report()). */
export type Reporter = (err: unknown) => void;

/** The longest request line, in bytes without its '\n'. A request names one attribute or userdata
 *  entry (values are at most 199 bytes), so this leaves room for any escaping a client does. */
export const MAX_REQUEST = 64 << 10;

export const REQUEST_SHAPE =
  'one JSON object per line: {"op":"ls|get|set|mkdir|rmdir","path":"t1/remote_ip"}, with "value":"..." for set';

function noEntry(path: string): NetconsoleError {
  return new InvalidValueError(
    'ENOENT',
    'path',
    path,
    'an existing target, attribute or userdata entry',
    'no such file or directory:',
  );
}

/** ENOENT for a path whose first part names no target: which name, the closest one, the names there are. */
function noTarget(targets: Targets, name: string, path: string): NetconsoleError {
  const names = targets.list().map((t) => t.name);
  const close = closest(name, names);
  const accepted =
    names.length === 0
      ? 'a target made with mkdir (there is none)'
      : `an existing target: ${names.slice(0, 16).join(', ')}${names.length > 16 ? ', ...' : ''}`;
  return new NetconsoleError(
    'ENOENT',
    `no target ${JSON.stringify(excerpt(name))}${close !== undefined ? ` (did you mean '${close}'?)` : ''} in path ${JSON.stringify(excerpt(path))}; accepted: ${accepted}`,
    { option: 'path', value: path, accepted },
  );
}

/** Executes one (well-formed) request against the targets. */
export async function execute(targets: Targets, req: ControlRequest): Promise<unknown> {
  const path = req.path ?? '';
  const parts = path.split('/').filter((p) => p !== '');
  const [name, attr, key] = parts;
  const target = name === undefined ? undefined : targets.get(name);
  // A path that names a target that is not there says so (mkdir t2 makes one: not for it).
  if (name !== undefined && !target && !(req.op === 'mkdir' && parts.length === 1)) throw noTarget(targets, name, path);
  switch (req.op) {
    case 'ls':
      if (parts.length === 0) return targets.list().map((t) => t.name);
      if (!target) throw noEntry(path);
      // send_msg (write-only) before the read-only ones: every file of the target's directory.
      if (parts.length === 1)
        return [
          ...ATTRIBUTE_NAMES.filter((a) => !READ_ONLY_ATTRIBUTES.has(a)),
          ...WRITE_ONLY_ATTRIBUTES,
          ...READ_ONLY_ATTRIBUTES,
          'userdata/',
        ];
      if (attr === 'userdata' && parts.length === 2)
        return [...target.userdata.entries().map(([k]) => k), ...SYSDATA_TOGGLES];
      throw noEntry(path);
    case 'get':
      if (!target || attr === undefined) throw noEntry(path);
      if (attr === 'userdata') {
        const v = key === undefined || parts.length !== 3 ? undefined : target.userdata.get(key);
        if (v === undefined) throw noEntry(path);
        return v;
      }
      if (parts.length !== 2) throw noEntry(path);
      return target.get(attr as AttributeName); // any name: the table answers ENOENT for one that is not
    case 'set':
      if (!target || attr === undefined) throw noEntry(path);
      if (attr === 'userdata' && key !== undefined && parts.length === 3) return target.userdata.set(key, req.value!);
      if (parts.length !== 2) throw noEntry(path);
      return target.set(attr as WritableAttribute, req.value!); // as get: the table checks the name
    case 'mkdir':
      if (parts.length === 1) return void (await targets.create(name!));
      if (target && attr === 'userdata' && parts.length === 3) {
        // As configfs: mkdir over an entry refuses, it does not empty it.
        if (target.userdata.get(key!) !== undefined)
          throw new InvalidValueError('EEXIST', 'path', path, 'a userdata entry not already there', 'entry exists:');
        return target.userdata.set(key!, '');
      }
      throw noEntry(path);
    case 'rmdir':
      if (target && parts.length === 1) return target.remove();
      if (target && attr === 'userdata' && parts.length === 3) return target.userdata.delete(key!);
      throw noEntry(path);
  }
}

// ---------------------------------------------------------------- requests

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function excerpt(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A JSON value that is not a string, in words: `a number 5`, `an array ["a"]`, `null`. */
function nonString(v: unknown): string {
  if (v === null) return 'null';
  const article = Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
  return `${article} ${excerpt(JSON.stringify(v))}`;
}

/** EINVAL for one field of a request: missing, not a string, or a string not accepted. */
function badField(field: string, got: unknown, accepted: string, why = 'invalid value'): NetconsoleError {
  const what =
    got === undefined
      ? 'missing'
      : typeof got === 'string'
        ? `${why} ${JSON.stringify(excerpt(got))}`
        : `${nonString(got)}, not a string`;
  return new NetconsoleError('EINVAL', `${field}: ${what}; accepted: ${accepted}`, {
    option: field,
    value: got,
    accepted,
  });
}

/** One request line (without its '\n'), checked: EINVAL naming what is wrong and what is accepted. */
export function parseRequest(line: Uint8Array): ControlRequest {
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    throw invalid('request', line, REQUEST_SHAPE, 'not UTF-8 text:');
  }
  let req: unknown;
  try {
    req = JSON.parse(text);
  } catch {
    throw invalid('request', text, REQUEST_SHAPE, 'not JSON:');
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req))
    throw invalid('request', text, REQUEST_SHAPE, 'not a JSON object:');
  const { op, path, value, ...rest } = req as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw invalid('request', extra[0], 'the keys "op", "path" and "value"', 'unknown key');
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op))
    throw badField('op', op, 'ls, get, set, mkdir or rmdir', 'unknown operation');
  if (path !== undefined && typeof path !== 'string')
    throw badField('path', path, 'a string such as "t1/remote_ip" ("" or none for the top)');
  if (op === 'set' && typeof value !== 'string')
    throw badField('value', value, 'a string, the text set writes (such as "1")');
  if (op !== 'set' && value !== undefined)
    throw new NetconsoleError('EINVAL', `value: given to ${op}, which takes none; accepted: a value with set only`, {
      option: 'value',
      value,
    });
  return { op: op as ControlRequest['op'], path, value: value as string | undefined };
}

/** The reply to one line: never rejects; what is not a NetconsoleError is a bug, reported. */
export async function answer(line: Uint8Array, targets: Targets, report: Reporter): Promise<ControlReply> {
  try {
    const value = await execute(targets, parseRequest(line));
    return value === undefined ? { ok: true } : { ok: true, value };
  } catch (err) {
    if (err instanceof NetconsoleError) return { ok: false, code: err.code, message: err.message };
    // A bug, not a bad request: the client gets EIO, the application hears of it.
    report(err);
    return { ok: false, code: 'EIO', message: `internal error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** sizeof(sockaddr_un.sun_path) - 1 on Linux: libuv silently truncates a longer path, so a server
 *  would listen, and a client connect, somewhere else. */
export const SOCKET_PATH_MAX = 107;

/** A Unix socket path given as `option`: a non-empty string without NUL (EINVAL) of at most SOCKET_PATH_MAX bytes (ENAMETOOLONG). */
export function checkSocketPath(option: string, path: unknown): asserts path is string {
  if (typeof path !== 'string' || path === '' || path.includes('\0'))
    throw invalid(option, path, 'a path for a Unix socket, such as "/run/app/netconsole.sock"');
  const size = Buffer.byteLength(path);
  if (size > SOCKET_PATH_MAX)
    throw new InvalidValueError(
      'ENAMETOOLONG',
      option,
      path,
      `at most ${SOCKET_PATH_MAX} bytes (a Unix socket address)`,
      `${size} bytes is too long:`,
    );
}

/** Checks that `path` is a socket only its owner (this user) can use; throws EACCES otherwise. */
export function checkSocketPermissions(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (cause) {
    throw new NetconsoleError('ENOENT', `control socket ${path}: ${(cause as Error).message}`, {
      option: 'socket',
      value: path,
      cause,
    });
  }
  const uid = process.getuid?.() ?? st.uid;
  if (!st.isSocket() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new NetconsoleError(
      'EACCES',
      `control socket ${path}: must be a socket owned by uid ${uid} with mode 0600 (is ${st.isSocket() ? 'a socket' : 'not a socket'}, uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`,
      { option: 'socket', value: path },
    );
  }
}
