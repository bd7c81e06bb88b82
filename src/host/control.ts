// The control socket: reconfigure a running process the way configfs reconfigures the kernel's
// netconsole. Off by default; `Netconsole.create({ control: '/run/app/netconsole.sock' })`.
//
// A Unix socket, mode 0600 (created under umask 077, then checked), speaking the line protocol of
// src/control-protocol.ts. A line longer than MAX_REQUEST is answered EMSGSIZE and the connection
// closed: the server cannot tell where the next request starts. Every change goes through the
// target table, so concurrent clients are serialized by the configuration mutex, like configfs
// writers.
//
// The server never throws into the application: what goes wrong in its callbacks reaches the
// reporter the Netconsole gives it (its `events` 'error' listeners, else a process warning).
import type { Server, Socket } from 'node:net';
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  answer,
  checkSocketPath,
  checkSocketPermissions,
  MAX_REQUEST,
  REQUEST_SHAPE,
  type ControlReply,
  type Reporter,
} from './control-protocol.js';
import { NetconsoleError, type ErrnoCode } from '../base/errors.js';
import type { Targets } from './target-api.js';

// node:net is loaded when a control socket is asked for (the `control` option, the CLI), not at
// every import: 0.8 ms of a process's start.
const net = (): typeof import('node:net') => process.getBuiltinModule('node:net');

function warn(err: unknown): void {
  process.emitWarning(`netconsole: control socket: ${err instanceof Error ? err.message : String(err)}`, {
    code: 'NETCONSOLE_CONTROL',
  });
}

/** A reporter that cannot throw either (an 'error' listener may). */
function safe(report: Reporter): Reporter {
  return (err) => {
    try {
      report(err);
    } catch (again) {
      warn(again);
    }
  };
}

/** An event handler that reports what it throws instead of throwing into the emitter. */
function guard<A extends unknown[]>(report: Reporter, fn: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      fn(...args);
    } catch (err) {
      report(err);
    }
  };
}

export class ControlServer {
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly server: Server,
    private readonly clients: Set<Socket>,
    readonly path: string,
  ) {}

  /**
   * Listens on `path`. A socket file left by an earlier run (nothing accepts on it) is replaced; a
   * live one is refused (EADDRINUSE), and a path that is not a socket (EEXIST): both left alone.
   */
  static async listen(path: string, targets: Targets, reporter: Reporter = warn): Promise<ControlServer> {
    checkSocketPath('control', path);
    const report = safe(reporter);
    const clients = new Set<Socket>();
    const server = await bindSocket(
      path,
      guard(report, (socket: Socket) => {
        clients.add(socket);
        socket.on('close', () => clients.delete(socket));
        new Connection(socket, targets, report).start();
      }),
    );
    try {
      chmodSync(path, 0o600);
      checkSocketPermissions(path);
    } catch (err) {
      await new Promise((resolve) => server.close(resolve)); // and libuv unlinks the file it made
      throw err;
    }
    server.on('error', report); // after listening: accept() failing, e.g. EMFILE
    server.unref();
    return new ControlServer(server, clients, path);
  }

  /** Stops listening, disconnects every client (a request being executed still completes) and removes the socket file. */
  close(): Promise<void> {
    return (this.closing ??= new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.clients) socket.destroy();
    }));
  }
}

/** Errors of bind(2) on a Unix socket that keep their errno; any other is EADDRNOTAVAIL. */
const BIND_ERRNOS: ReadonlySet<string> = new Set(['EADDRINUSE', 'EACCES', 'EPERM', 'ENOENT', 'ENAMETOOLONG', 'EEXIST']);

function bindError(path: string, cause: unknown): NetconsoleError {
  if (cause instanceof NetconsoleError) return cause;
  const errno = (cause as NodeJS.ErrnoException).code ?? '';
  // libuv turns bind's ENOENT into EACCES (uv_pipe_bind, "for compatibility with Windows").
  if (errno === 'EACCES' && !existsSync(dirname(path))) {
    return new NetconsoleError('ENOENT', `control socket ${path}: the directory ${dirname(path)} does not exist`, {
      option: 'control',
      value: path,
      cause,
    });
  }
  const code = (BIND_ERRNOS.has(errno) ? errno : 'EADDRNOTAVAIL') as ErrnoCode;
  return new NetconsoleError(code, `control socket ${path}: ${(cause as Error).message}`, {
    option: 'control',
    value: path,
    cause,
  });
}

async function bindSocket(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  try {
    return await bindOnce(path, onConnection);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw bindError(path, cause);
  }
  try {
    await removeStale(path);
    return await bindOnce(path, onConnection);
  } catch (cause) {
    throw bindError(path, cause);
  }
}

/** A listening server, or a rejection that leaves nothing behind (bind failed: no handle, no file). */
function bindOnce(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  // allowHalfOpen: a client may send its requests and shut down its side (socat, nc -U) and still
  // read the replies.
  const server = net().createServer({ allowHalfOpen: true }, onConnection);
  const oldMask = process.umask(0o077);
  return new Promise<Server>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve(server);
    });
  }).finally(() => process.umask(oldMask));
}

/** How long a connect(2) to an existing socket may take before it counts as someone else's. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * `path` exists and bind(2) refused it: unlinks it only if it is a socket that refuses connections
 * (its server is gone). Someone listening: EADDRINUSE; not a socket: EEXIST.
 */
async function removeStale(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // gone since: bind again
  }
  const details = { option: 'control', value: path };
  if (!isSocket)
    throw new NetconsoleError(
      'EEXIST',
      `control socket ${path}: the path exists and is not a socket; accepted: a path that does not exist, or a socket left by an earlier run`,
      details,
    );
  const probe = await connectProbe(path);
  if (probe === 'gone') return;
  if (probe !== 'refused')
    throw new NetconsoleError(
      'EADDRINUSE',
      `control socket ${path}: another process is listening on it (${probe}); stop it or give another path`,
      details,
    );
  try {
    unlinkSync(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
  }
}

/** Connects to `path` and hangs up: 'refused', 'gone', or why it counts as in use. */
function connectProbe(path: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net().createConnection(path);
    const done = (result: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`no answer to connect within ${PROBE_TIMEOUT_MS} ms`), PROBE_TIMEOUT_MS);
    socket.once('connect', () => done('it accepted a connection'));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ENOENT' ? 'gone' : `connect: ${err.message}`),
    );
  });
}

// ---------------------------------------------------------------- one client

const OVERSIZED = Symbol('oversized');

/**
 * One client connection. Its lines are answered one at a time, in order; reading pauses while a
 * line is answered and while a reply waits for the client to read the previous ones, so a client
 * can make the server hold at most one read chunk and one line (MAX_REQUEST) for it.
 */
class Connection {
  private readonly inbox: Buffer[] = []; // chunks read, not yet split into lines
  private offset = 0; // into inbox[0]
  private line: Buffer[] = []; // the pieces of the line being read
  private lineBytes = 0;
  private busy = false;
  private ended = false; // the client shut down its side

  constructor(
    private readonly socket: Socket,
    private readonly targets: Targets,
    private readonly report: Reporter,
  ) {}

  start(): void {
    const s = this.socket;
    s.on(
      'data',
      guard(this.report, (chunk: Buffer) => {
        this.inbox.push(chunk);
        this.pump();
      }),
    );
    s.on(
      'end',
      guard(this.report, () => {
        this.ended = true;
        this.pump();
      }),
    );
    s.on('error', () => s.destroy()); // the client went away: nothing to answer, nothing to report
  }

  private pump(): void {
    if (this.busy) return;
    this.busy = true;
    this.socket.pause();
    this.drain().catch((err: unknown) => {
      this.report(err);
      this.socket.destroy();
    });
  }

  /** Answers the lines read so far, then reads on. A connection that ends here stays busy: nothing more is read from it. */
  private async drain(): Promise<void> {
    for (;;) {
      if (this.socket.destroyed) return;
      const line = this.nextLine();
      if (line === OVERSIZED) return this.refuseOversized();
      if (line === undefined) break;
      await this.send(await answer(line, this.targets, this.report));
    }
    // Not busy before reading resumes, so the next chunk starts the next pump.
    this.busy = false;
    if (this.ended) this.socket.end();
    else this.socket.resume();
  }

  /** The next complete line; at the client's end of input, what is left of an unterminated one. */
  private nextLine(): Buffer | undefined | typeof OVERSIZED {
    while (this.inbox.length > 0) {
      const chunk = this.inbox[0];
      const nl = chunk.indexOf(10, this.offset);
      const piece = chunk.subarray(this.offset, nl < 0 ? chunk.length : nl);
      if (this.lineBytes + piece.length > MAX_REQUEST) return OVERSIZED;
      this.line.push(piece);
      this.lineBytes += piece.length;
      this.offset = nl < 0 ? chunk.length : nl + 1;
      if (this.offset === chunk.length) {
        this.inbox.shift();
        this.offset = 0;
      }
      if (nl >= 0) return this.takeLine();
    }
    return this.ended && this.lineBytes > 0 ? this.takeLine() : undefined;
  }

  private takeLine(): Buffer {
    const line = Buffer.concat(this.line);
    this.line = [];
    this.lineBytes = 0;
    return line;
  }

  /** Answers EMSGSIZE and hangs up: what follows is the rest of that line, not a request. */
  private refuseOversized(): void {
    const err = new NetconsoleError(
      'EMSGSIZE',
      `request: a line longer than the limit of ${MAX_REQUEST} bytes; accepted: ${REQUEST_SHAPE}, at most ${MAX_REQUEST} bytes`,
    );
    this.socket.end(`${JSON.stringify({ ok: false, code: err.code, message: err.message })}\n`, () =>
      this.socket.destroy(),
    );
  }

  /** Writes one reply; resolves once the client has room for more (or is gone). */
  private send(reply: ControlReply): Promise<void> {
    const s = this.socket;
    if (s.destroyed || s.writableEnded || s.write(`${JSON.stringify(reply)}\n`)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }
}
