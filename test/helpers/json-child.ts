// A child process that speaks JSON lines (the workers under test/workers/, and their command loop
// in test/helpers/worker.ts): every stdout line parsed (a line that is not JSON is kept as
// {unparsed}), stderr collected, waits that fail with what the child said, and commands whose
// reply is the next {"reply":...} line.
//
//   const c = new JsonChild('probe', ns.runNode('a', PROBE, []));
//   await c.waitLine('ready', (l) => 'ready' in l);
//   const r = await c.ok('state t0');     // the reply; an {error} reply throws
//
// A command still waiting when the child ends is rejected with the child's exit code, signal and
// stderr: a crashed worker fails the test at once, with its reasons, instead of at its timeout.
// The end is the child's 'close' (after its last stdout line was read), so no line is lost to it.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export type Line = Record<string, unknown>;

/** Waits for a child that prints one JSON line at its end (and maybe others before): exit 0
 *  asserted (stderr in the message), its last stdout line parsed. */
export async function lastLine<T = Line>(child: ChildProcess): Promise<T> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, err);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Request {
  line: string;
  resolve: (l: Line) => void;
  reject: (e: Error) => void;
}

export class JsonChild {
  /** Every line not taken by take() and not a reply to a command. */
  readonly lines: Line[] = [];
  stderr = '';
  exit: Exit | null = null;
  readonly exited: Promise<void>;
  private readonly waiters = new Set<() => void>();
  private readonly pending: Request[] = [];

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
    /** The default bound of waits and commands. */
    readonly waitMs = 10_000,
  ) {
    child.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        line = { unparsed: text.slice(0, 500) };
      }
      if ('reply' in line && this.pending.length > 0) this.pending.shift()!.resolve(line);
      else if (!this.take(line)) this.lines.push(line);
      this.wake();
    });
    this.exited = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        this.exit = { code, signal };
        for (const r of this.pending.splice(0))
          r.reject(
            new Error(
              `${this.label} ended before replying to ${JSON.stringify(r.line.slice(0, 200))}: ${this.describe()}`,
            ),
          );
        this.wake();
        resolve();
      }),
    );
    child.stdin?.on('error', () => {}); // EPIPE after the end is reported through `exit`
  }

  /** For subclasses: true when the line is consumed (kept elsewhere, not in `lines`). */
  protected take(_line: Line): boolean {
    return false;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** The label, how it ended (if it did), its last lines and stderr: for failure messages. */
  describe(): string {
    const exit = this.exit ? ` exited with code ${String(this.exit.code)}, signal ${String(this.exit.signal)};` : '';
    return `${this.label}:${exit} last lines ${JSON.stringify(this.lines.slice(-15)).slice(-3000)}; stderr ${JSON.stringify(this.stderr.slice(-2000))}`;
  }

  /** The index the next line will get: pass it to a wait to look only at later lines. */
  mark(): number {
    return this.lines.length;
  }

  /** Waits until `cond()` holds (checked now, on every line and at the end), up to `ms`. */
  until(what: string, cond: () => boolean, ms = this.waitMs): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (cond()) {
          done();
          resolve();
        } else if (this.exit) {
          done();
          reject(new Error(`waiting for ${what}: ${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; ${this.describe()}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The first line at index >= since for which `pick` returns a value, waiting up to `ms`. */
  async waitFor<T>(what: string, pick: (l: Line) => T | undefined, since = 0, ms = this.waitMs): Promise<T> {
    let found: T | undefined;
    await this.until(
      what,
      () => {
        for (let i = since; i < this.lines.length; i++) if ((found = pick(this.lines[i]!)) !== undefined) return true;
        return false;
      },
      ms,
    );
    return found!;
  }

  /** The first line at index >= since that `pred` accepts. */
  waitLine(what: string, pred: (l: Line) => boolean, since = 0, ms = this.waitMs): Promise<Line> {
    return this.waitFor(what, (l) => (pred(l) ? l : undefined), since, ms);
  }

  /** Waits for the {ready} line; a {fatal} line (or the end) before it throws. */
  async ready(): Promise<Line> {
    const l = await this.waitLine(`${this.label} to be ready`, (x) => 'ready' in x || 'fatal' in x);
    if ('fatal' in l) throw new Error(`${this.label} failed to start: ${this.describe()}`);
    return l;
  }

  /** Writes one command line; its reply line (errors included), bounded by `ms`. */
  request(line: string, ms = this.waitMs): Promise<Line> {
    return new Promise((resolve, reject) => {
      if (this.exit)
        return reject(
          new Error(`${this.label} has ended, cannot run ${JSON.stringify(line.slice(0, 200))}: ${this.describe()}`),
        );
      // A reply that comes after the timeout still belongs to this command: it stays queued.
      const timer = setTimeout(() => {
        reject(
          new Error(
            `timed out after ${ms} ms waiting for the reply to ${JSON.stringify(line.slice(0, 200))}; ${this.describe()}`,
          ),
        );
      }, ms);
      const req: Request = {
        line,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.pending.push(req);
      this.child.stdin!.write(`${line}\n`);
    });
  }

  /** A command that must not fail: its reply; an {error} reply throws. */
  async ok(line: string, ms = this.waitMs): Promise<Line> {
    const r = await this.request(line, ms);
    if ('error' in r) throw new Error(`${line.slice(0, 200)}: ${JSON.stringify(r.error)}`);
    return r;
  }

  /** Closes stdin (the workers exit on that) and waits for the end, killing after `ms`. */
  async stop(ms = this.waitMs): Promise<void> {
    if (this.exit === null) {
      this.child.stdin!.end();
      await this.endWithin(ms);
    }
  }

  /** Writes `line`, a command after which the worker exits, and asserts that it exits 0 (killed after `ms`). */
  async quitWith(line: string, ms = this.waitMs): Promise<void> {
    this.child.stdin!.write(`${line}\n`);
    await this.endWithin(ms);
    assert.deepEqual(this.exit, { code: 0, signal: null }, `${this.label} did not exit cleanly; ${this.describe()}`);
  }

  private async endWithin(ms: number): Promise<void> {
    const t = setTimeout(() => this.child.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(t);
  }

  /** SIGKILL unless it has ended; waits for the end. */
  async kill(): Promise<void> {
    if (this.exit === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
