// Scenario memory: the peak RSS (VmHWM) of a process that logs a burst of 100-byte records to 1
// and to 8 targets on loopback, each target a counting receiver in its own process
// (harness/c/receiver.c), one fresh sending process per run (bench/workers/memory-sender.ts).
// The baseline `node` is that same worker process importing and sending nothing: what Node itself
// takes here; `dgram` is plain dgram.send of the same text to each target, a callback each (what
// a sender on Node's sockets pays, the library's `dgram` sender's peer). The project's goal is a
// peak of at most 64 MiB at 8 targets (issue 11).
//
// The peak is read after every record arrived (or the receivers went quiet): what the logger
// holds until delivery counts. Each row also reports what arrived whole at the receivers out of
// what was sent (records x targets), the RSS after import and set-up (before the first log call),
// the library's stats().lost, and the receivers' socket drops, so that a loss the receivers
// caused is not read as the sender's.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { native, nativeError } from '../src/core/native.js';
import { countMode, lines, next } from './e2e.js';
import type { Case, Sample, Scenario, ScenarioContext } from './harness.js';
import { CountingReceiver } from './receiver.js';
import type { MemoryArgs } from './workers/memory-sender.js';

export const SUBJECTS = ['node', 'netconsole-udp', 'netconsole-dgram', 'dgram', 'pino-socket'];
const TARGETS = [1, 8];
const SIZE = 100;
const PLANS: Record<ScenarioContext['profile'], { count: number; quietMs: number }> = {
  full: { count: 100_000, quietMs: 500 },
  quick: { count: 20_000, quietMs: 300 },
  smoke: { count: 1_000, quietMs: 300 },
};
const WORKER = new URL('./workers/memory-sender.js', import.meta.url).pathname;

const mib = (kb: number): number => kb / 1024;

/** One run of one subject: fresh receivers (none for node), a fresh sending process. */
export async function runMemory(
  subject: string,
  targets: number,
  count: number,
  quietMs: number,
  ncOptions: Record<string, unknown>,
): Promise<Sample> {
  const rxs =
    subject === 'node'
      ? []
      : await Promise.all(Array.from({ length: targets }, () => CountingReceiver.start(countMode(subject))));
  let child: ReturnType<typeof spawn> | null = null;
  let stderr = '';
  const timer = setTimeout(() => child?.kill('SIGKILL'), 120_000);
  try {
    const before = await Promise.all(rxs.map((r) => r.counts()));
    const args: MemoryArgs = {
      subject,
      size: SIZE,
      count: subject === 'node' ? 0 : count,
      ports: rxs.map((r) => r.port),
      address: '127.0.0.1',
      ncOptions,
    };
    child = spawn(process.execPath, [WORKER, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const out = lines(child);
    const ready = await next(out, `${subject} setup`);
    child.stdin!.write('go\n');
    const sent = next(out, subject);
    const counts = await Promise.all(rxs.map((r) => r.settle(args.count, sent, quietMs)));
    await sent;
    child.stdin!.write('stop\n');
    const { maxRssKb, ...counters } = await next(out, `${subject} result`);
    if (typeof maxRssKb !== 'number')
      throw new Error(`${subject}: no peak RSS in its result line (did something else write to its stdout?)`);
    if (child.exitCode === null) await once(child, 'exit');
    const sum = (k: 'messages' | 'datagrams' | 'drops'): number => counts.reduce((t, c) => t + c[k], 0);
    const total = args.count * rxs.length;
    // VmHWM is not a true peak: the kernel raises its high-water mark only at some events
    // (munmap, exit), and V8 gives pages back with madvise, so a VmHWM read at the end can be
    // below the VmRSS read after set-up (seen once with the dgram sender beside two CPU hogs).
    // The peak is the largest figure seen.
    const peakKb = Math.max(maxRssKb, ready.setupRssKb as number, ready.setupHwmKb as number);
    return {
      value: mib(peakKb),
      extra: {
        sent: total,
        delivered: sum('messages'),
        deliveredPct: total > 0 ? (100 * sum('messages')) / total : null,
        datagrams: sum('datagrams'),
        incomplete: counts.reduce((t, c) => t + c.pending + c.evicted, 0),
        notWhole: counts.reduce((t, c) => t + c.malformed, 0),
        setupRssMiB: mib(ready.setupRssKb as number),
        setupPeakMiB: mib(ready.setupHwmKb as number),
        ...(counters as Record<string, number>),
        socketDrops: sum('drops'),
        // The namespace's counter, the same in every receiver: read once.
        rcvbufErrors: rxs.length > 0 ? counts[0].rcvbufErrors - before[0].rcvbufErrors : 0,
      },
    };
  } catch (err) {
    const tail = stderr.trim().split('\n').slice(-3).join(' | ');
    throw new Error(`${(err as Error).message}${tail ? ` (stderr: ${tail})` : ''}`);
  } finally {
    clearTimeout(timer);
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(rxs.map((r) => r.stop()));
  }
}

export const scenario: Scenario = {
  name: 'memory',
  about:
    'peak RSS (VmHWM) of a process logging a burst to 1 and 8 targets, vs the same process importing and sending nothing',
  cases(ctx) {
    const { count, quietMs } = PLANS[ctx.profile];
    return TARGETS.map((targets): Case => ({
      scenario: 'memory',
      params: { targets, size: SIZE, count },
      unit: 'peak RSS MiB',
      higherIsBetter: false,
      baseline: 'node',
      subjects: SUBJECTS,
      note:
        'VmHWM of the sending process once everything arrived (one fresh process per run); node: the same worker, importing and sending nothing. ' +
        'sent = records x targets, delivered = whole records counted at the receivers; after setup = after import and set-up, before the first log call.',
      unavailable:
        native === null ? { 'netconsole-udp': `the native addon is not loaded (${nativeError?.message})` } : undefined,
      measure: (subject) => runMemory(subject, targets, count, quietMs, ctx.ncOptions),
    }));
  },
};
