// The control socket's client (`netconsole ctl`): one request, one reply, and a typed error for
// every way that can fail; never a hang.
import { createConnection } from 'node:net';
import {
  checkSocketPath,
  checkSocketPermissions,
  excerpt,
  MAX_REQUEST,
  type ControlReply,
  type ControlRequest,
} from '../host/control-protocol.js';
import { invalid, NetconsoleError, type ErrnoCode } from '../base/errors.js';

export interface ControlOptions {
  /** How long to wait for the reply, from the call, in milliseconds (default 5,000). */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 5000;

/** The longest reply line the client reads (an `ls` of every target is under 100 KiB). */
const MAX_REPLY = 1 << 20;

/**
 * Sends one request and resolves with the reply. Rejects (never hangs) with a NetconsoleError:
 * EACCES (a socket with the wrong permissions, not contacted), EMSGSIZE (a request over
 * MAX_REQUEST, not sent), ECONNREFUSED or ENOENT (nobody listening), ECONNRESET (the connection
 * dropped before the reply), ETIMEDOUT (no reply in time), EPROTO (a reply that is not one).
 */
export async function control(path: string, req: ControlRequest, options: ControlOptions = {}): Promise<ControlReply> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 0x7fffffff)
    throw invalid('timeoutMs', timeoutMs, `an integer number of milliseconds, 1..${0x7fffffff}`);
  checkSocketPath('socket', path);
  checkSocketPermissions(path);
  const line = `${JSON.stringify(req)}\n`;
  const size = Buffer.byteLength(line) - 1;
  if (size > MAX_REQUEST)
    throw new NetconsoleError('EMSGSIZE', `request: ${size} bytes is larger than the limit of ${MAX_REQUEST} bytes`, {
      option: 'request',
      value: size,
      accepted: `at most ${MAX_REQUEST} bytes`,
    });
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const chunks: Buffer[] = [];
    let received = 0;
    let connected = false;
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const fail = (code: ErrnoCode, why: string, cause?: unknown): void =>
      settle(() =>
        reject(new NetconsoleError(code, `control socket ${path}: ${why}`, { option: 'socket', value: path, cause })),
      );
    const timer = setTimeout(() => fail('ETIMEDOUT', `no reply within ${timeoutMs} ms`), timeoutMs);
    socket.on('connect', () => (connected = true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) fail('ECONNRESET', `the connection dropped before the reply (${err.message})`, err);
      else fail(err.code === 'ENOENT' || err.code === 'EACCES' ? err.code : 'ECONNREFUSED', err.message, err);
    });
    socket.on('close', () => fail('ECONNRESET', 'the server closed the connection without a reply'));
    socket.on('data', (chunk: Buffer) => {
      const nl = chunk.indexOf(10);
      chunks.push(nl < 0 ? chunk : chunk.subarray(0, nl));
      received += nl < 0 ? chunk.length : nl;
      if (received > MAX_REPLY) return fail('EPROTO', `a reply longer than ${MAX_REPLY} bytes`);
      if (nl < 0) return;
      const text = Buffer.concat(chunks).toString('utf8');
      settle(() => {
        try {
          resolve(parseReply(text));
        } catch (err) {
          reject(
            new NetconsoleError('EPROTO', `control socket ${path}: ${(err as Error).message}`, {
              option: 'socket',
              value: path,
            }),
          );
        }
      });
    });
    socket.write(line);
  });
}

/** A reply line, checked: `{"ok":true[,"value":...]}` or `{"ok":false,"code":"E...","message":"..."}`. */
function parseReply(text: string): ControlReply {
  let reply: unknown;
  try {
    reply = JSON.parse(text);
  } catch {
    throw new Error(`a reply that is not JSON: ${JSON.stringify(excerpt(text))}`);
  }
  const r = reply as Record<string, unknown> | null;
  if (r !== null && typeof r === 'object' && !Array.isArray(r)) {
    if (r.ok === true) return r.value === undefined ? { ok: true } : { ok: true, value: r.value };
    if (r.ok === false && typeof r.code === 'string' && /^E[A-Z0-9]+$/.test(r.code) && typeof r.message === 'string')
      return { ok: false, code: r.code, message: r.message };
  }
  throw new Error(
    `a reply of the wrong shape: ${JSON.stringify(excerpt(text))}; expected {"ok":true,"value":...} or {"ok":false,"code":"E...","message":"..."}`,
  );
}
