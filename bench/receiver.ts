// The counting receiver (harness/c/receiver.c) in its own process, seen from the bench: start it,
// ask it for its counts, wait until what was sent has arrived (or nothing more arrives), stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { compile } from '../harness/cc.js';

export type CountMode = 'dgram' | 'lines' | 'netconsole';

export interface RxCounts {
  datagrams: number;
  bytes: number;
  /** Messages delivered whole (netconsole: all fragments of the record arrived). */
  messages: number;
  /** netconsole: messages of which some fragments arrived, not all (still being reassembled). */
  pending: number;
  evicted: number;
  /** Datagrams (or lines) that were not a whole message. */
  malformed: number;
  /** CLOCK_MONOTONIC ns of the first datagram and of the last message completed (0: none). */
  firstNs: number;
  lastNs: number;
  /** This socket's drops (/proc/net/udp), and the namespace's Udp RcvbufErrors (/proc/net/snmp). */
  drops: number;
  rcvbufErrors: number;
}

export class CountingReceiver {
  private readonly lines: Interface;
  private readonly replies: Array<(line: string) => void> = [];
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    lines: Interface,
  ) {
    this.lines = lines;
    this.lines.on('line', (l) => this.replies.shift()?.(l));
    child.once('exit', () => {
      this.exited = true;
      for (const r of this.replies.splice(0)) r('');
    });
  }

  /** Starts a receiver on `address` (in namespace `netns` when given), on an ephemeral port. */
  static async start(mode: CountMode, address = '127.0.0.1', netns?: string): Promise<CountingReceiver> {
    const bin = compile('receiver');
    const args = [mode, '0', address];
    const child = netns
      ? spawn('ip', ['netns', 'exec', netns, bin, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
      : spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`receiver exited (${String(code)}) before it was ready`)));
    });
    const m = /^ready (\d+)$/.exec(first);
    if (!m) throw new Error(`receiver: unexpected first line ${JSON.stringify(first)}`);
    return new CountingReceiver(child, Number(m[1]), lines);
  }

  counts(): Promise<RxCounts> {
    if (this.exited) return Promise.reject(new Error('receiver exited'));
    return new Promise((resolve, reject) => {
      this.replies.push((l) => (l === '' ? reject(new Error('receiver exited')) : resolve(JSON.parse(l) as RxCounts)));
      this.child.stdin!.write('s\n');
    });
  }

  /**
   * Waits until `expected` messages arrived, or until nothing more arrived for `quietMs` once
   * `sendingDone` has settled (a sender that lost messages), then returns the counts.
   */
  async settle(expected: number, sendingDone: Promise<unknown>, quietMs: number): Promise<RxCounts> {
    let done = false;
    void sendingDone.finally(() => (done = true)).catch(() => undefined);
    let last = await this.counts();
    let since = performance.now();
    for (;;) {
      if (last.messages >= expected && done) return last;
      await new Promise((r) => setTimeout(r, 20));
      const c = await this.counts();
      if (c.datagrams !== last.datagrams || !done) since = performance.now();
      else if (performance.now() - since >= quietMs) return c;
      last = c;
    }
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end('q\n');
    await gone;
  }
}
