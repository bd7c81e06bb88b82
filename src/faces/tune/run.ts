// One run of the tuner: a fresh sender process (sender.ts) makes `count` log calls in the load
// shape with the options under test, and says how long it took to hand them all to the kernel, its
// CPU time, and the library's stats(). A fresh process per run: no run inherits another's warmed-up
// code, ring or socket buffers.
//
// Without the operator's targets, the runs send to a sink on loopback: a UDP socket in this
// process that reads and discards (a port nobody bound would answer ICMP port unreachable, and the
// sends would fail). Arrivals are not counted (a JavaScript receiver would measure itself), so the
// figure is the same as with real targets: what the library handed to the kernel.
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { TargetOptions } from '../../host/target-api.js';
import type { SenderArgs, SenderResult } from './sender.js';

const SENDER_JS = new URL('./sender.js', import.meta.url).pathname;

export interface RunSpec {
  /** The text sizes of the mix: log call i sends sizes[i % sizes.length] bytes. */
  sizes: number[];
  count: number;
  /** 0: bursts of BURST_CHUNK log calls per event-loop turn; else the offered rate, messages/s. */
  rate: number;
  /** Writer worker threads; 0: the main thread logs. */
  threads: number;
  /** The operator's targets; none: the loopback sink. */
  targets?: string | TargetOptions[];
  ncOptions: Record<string, unknown>;
  timeoutMs?: number;
}

export type RunResult = SenderResult;

/** A UDP socket on loopback that reads and drops what it gets: the target of runs without targets. */
async function openSink(): Promise<{ target: string; close(): Promise<void> }> {
  const s: Socket = createSocket('udp4');
  s.on('message', () => undefined);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { target: `+@/,${s.address().port}@127.0.0.1/`, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** One run in a fresh process; rejects with the sender's error (and the tail of its stderr). */
export async function runOnce(spec: RunSpec): Promise<RunResult> {
  const sink = spec.targets === undefined ? await openSink() : null;
  const args: SenderArgs = {
    sizes: spec.sizes,
    count: spec.count,
    rate: spec.rate,
    threads: spec.threads,
    targets: spec.targets ?? sink!.target,
    ncOptions: spec.ncOptions,
  };
  const child = spawn(process.execPath, [SENDER_JS, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs ?? 120_000);
  try {
    const out = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async (what: string): Promise<Record<string, unknown>> => {
      const r = await out.next();
      if (r.done) throw new Error(`the sender exited before ${what}`);
      const o = JSON.parse(r.value as string) as Record<string, unknown>;
      if (typeof o.error === 'string') throw new Error(o.error.split('\n')[0]);
      return o;
    };
    await next('it was ready');
    child.stdin!.write('go\n');
    const result = (await next('its result')) as unknown as RunResult;
    if (child.exitCode === null) await once(child, 'exit');
    return result;
  } catch (err) {
    const tail = stderr.trim().split('\n').slice(-3).join(' | ');
    throw new Error(`${(err as Error).message}${tail ? ` (stderr: ${tail})` : ''}`);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await sink?.close();
  }
}
