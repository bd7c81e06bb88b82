// A UDP receiver in C (harness/c/csink.c, compiled by harness/cc.ts), in its own process, for
// tests that must not lose a datagram to their own receiver: a 64 MiB receive buffer
// (SO_RCVBUFFORCE, as root; else what SO_RCVBUF allows), a recvmmsg loop that never blocks the
// sender, every datagram recorded to a file. Its socket's own drop count (/proc/net/udp) is read
// at the end, so a loss at the receiver is never blamed on the sender, nor hidden by it.
//
//   const sink = await CSink.open({ idleMs: 500 });      // or { ns: 'b', address: '10.9.0.2' } with a NetnsHandle
//   ... send to sink.port ...
//   const { datagrams, drops } = await sink.done(); // after idleMs without a datagram (or stop())
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../harness/cc.js';
import type { NetnsHandle } from '../../harness/netns.js';

/** Udp RcvbufErrors of a namespace (or this one). */
function rcvbufErrors(ns?: { handle: NetnsHandle; name: string }): number {
  const text = ns
    ? execFileSync('ip', ['netns', 'exec', ns.handle.name(ns.name), 'cat', '/proc/net/snmp'], { encoding: 'utf8' })
    : readFileSync('/proc/net/snmp', 'utf8');
  const lines = text.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')]);
}

export interface CSinkOptions {
  address?: string;
  port?: number;
  /** Stop this long after the last datagram (once one came). Default 1000 ms. */
  idleMs?: number;
  /** Run inside a network namespace of a NetnsHandle. */
  ns?: { handle: NetnsHandle; name: string };
}

export interface CSinkResult {
  datagrams: Buffer[];
  /** Datagrams the receiver's socket dropped (its queue was full): 0 unless the receiver lost some. */
  drops: number;
  /** RcvbufErrors of the receiver's namespace that moved while it ran (other sockets' too). */
  rcvbufErrors: number;
}

export class CSink {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly dir: string,
    private readonly output: Promise<string>,
    private readonly errorsBefore: number,
    private readonly ns?: CSinkOptions['ns'],
  ) {}

  static async open(opts: CSinkOptions = {}): Promise<CSink> {
    const bin = compile('csink');
    const dir = mkdtempSync(join(tmpdir(), 'netconsole-csink-run-'));
    const args = [opts.address ?? '127.0.0.1', String(opts.port ?? 0), join(dir, 'out'), String(opts.idleMs ?? 1000)];
    const errorsBefore = rcvbufErrors(opts.ns);
    // In a namespace, withNetns kills it before the namespace goes; anywhere, it dies with this
    // process: a test that fails before done() must not leave a receiver waiting for datagrams.
    const child = opts.ns ? opts.ns.handle.spawn(opts.ns.name, bin, args) : spawn(bin, args);
    const kill = (): void => void child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.off('exit', kill));
    let text = '';
    child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    const output = new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`csink exited ${code}: ${text}`)))); // 'close': after its output
    });
    const port = await new Promise<number>((resolve, reject) => {
      const check = (): void => {
        const m = /ready (\d+)/.exec(text);
        if (m) {
          child.stdout!.off('data', check);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on('data', check);
      output.catch(reject);
    });
    return new CSink(child, port, dir, output, errorsBefore, opts.ns);
  }

  /** The receiver's process id. */
  get pid(): number {
    return this.child.pid!;
  }

  /** Ends it now (SIGTERM) instead of waiting for idleMs. */
  stop(): void {
    this.child.kill('SIGTERM');
  }

  /**
   * Waits until it stopped; every datagram it got, in order of arrival. With `each`, the datagrams
   * are handed to it one by one instead and not kept (`datagrams` is empty): for millions of them.
   */
  async done(each?: (datagram: Buffer) => void): Promise<CSinkResult> {
    try {
      const text = await this.output;
      const last = /(\d+) (-?\d+)\s*$/.exec(text);
      const drops = last ? Number(last[2]) : -1;
      if (drops < 0) throw new Error(`csink: its socket's drop count is unknown: ${text}`);
      const raw = readFileSync(join(this.dir, 'out'));
      const datagrams: Buffer[] = [];
      for (let o = 0; o + 4 <= raw.length;) {
        const len = raw.readUInt32LE(o);
        if (each) each(raw.subarray(o + 4, o + 4 + len));
        else datagrams.push(raw.subarray(o + 4, o + 4 + len));
        o += 4 + len;
      }
      return { datagrams, drops, rcvbufErrors: rcvbufErrors(this.ns) - this.errorsBefore };
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
