// Test helpers for the control socket: the `ctl` command run as a child process, raw exchanges of
// bytes with a server, stand-in servers that misbehave, and a snapshot of every target's state.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSDATA_TOGGLES, ATTRIBUTE_NAMES } from '../../src/config/attributes.js';
import type { Netconsole } from '../../src/host/netconsole.js';

const CLI = new URL('../../src/faces/cli.js', import.meta.url).pathname;

const dirs: string[] = [];
process.once('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A path for a socket in a new private directory (removed when the process exits). */
export function socketPath(name = 'ctl.sock'): string {
  const dir = mkdtempSync(join(tmpdir(), 'nc-ctl-'));
  dirs.push(dir);
  return join(dir, name);
}

/** `node dist/src/faces/cli.js ctl --socket <socket> ...args`; killed after `killMs` (a hang is a failure, code null). */
export function ctl(
  socket: string,
  args: string[],
  killMs = 30_000,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'ctl', '--socket', socket, ...args],
      { timeout: killMs, maxBuffer: 1 << 24 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, out: stdout.trim(), err: stderr.trim() });
      },
    );
  });
}

/** Rejects after `ms` with `what` did not happen: turns a hang into a failure that says what hung. */
export function within<T>(what: string, p: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout;
  const bound = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)),
  );
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

export interface Exchange {
  /** The reply lines, parsed (a line that is not JSON is kept as the string). */
  replies: unknown[];
  /** The server closed the connection. */
  hungUp: boolean;
}

/**
 * Sends `bytes` on a new connection and collects reply lines until `expect` of them arrived or the
 * server hung up (`end`: also shut down the sending side after the bytes).
 */
export function exchange(path: string, bytes: Uint8Array | string, expect: number, end = false): Promise<Exchange> {
  const run = new Promise<Exchange>((resolve, reject) => {
    const socket = createConnection(path);
    const replies: unknown[] = [];
    let buffered = '';
    const done = (hungUp: boolean): void => {
      socket.destroy();
      resolve({ replies, hungUp });
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          replies.push(JSON.parse(line));
        } catch {
          replies.push(line);
        }
      }
      if (replies.length >= expect) done(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' || err.code === 'EPIPE' ? done(true) : reject(err),
    );
    socket.on('close', () => done(true));
    if (end) socket.end(bytes);
    else socket.write(bytes);
  });
  return within(`${expect} replies`, run);
}

/** A stand-in control server (mode 0600, as the client demands) that does `behave` with each connection. */
export async function fakeServer(
  behave: (socket: Socket) => void,
): Promise<{ path: string; server: Server; close(): Promise<void> }> {
  const path = socketPath('fake.sock');
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    behave(s);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  chmodSync(path, 0o600);
  return {
    path,
    server,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every target as `ls`/`get` shows it: attributes, userdata, sysdata toggles, state. */
export function snapshot(nc: Netconsole): unknown {
  return nc.targets.list().map((t) => ({
    name: t.name,
    state: t.state,
    attrs: Object.fromEntries(ATTRIBUTE_NAMES.map((a) => [a, t.get(a)])),
    userdata: t.userdata.entries(),
    sysdata: SYSDATA_TOGGLES.map((s) => t.userdata.get(s)),
  }));
}

/** A reply is a success (`value` absent, a string or strings) or an errno-coded error with a message. */
export function wellFormedReply(r: unknown): r is { ok: boolean; code?: string; message?: string; value?: unknown } {
  if (r === null || typeof r !== 'object') return false;
  const o = r as Record<string, unknown>;
  if (o.ok === true) {
    const v = o.value;
    return (
      Object.keys(o).every((k) => k === 'ok' || k === 'value') &&
      (v === undefined || typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')))
    );
  }
  return (
    o.ok === false &&
    Object.keys(o).length === 3 &&
    typeof o.code === 'string' &&
    /^E[A-Z]+$/.test(o.code) &&
    typeof o.message === 'string' &&
    o.message.length > 0 &&
    !/TypeError|is not a function|Cannot read|\[object Object\]/.test(o.message)
  );
}
