// Scenario e2e: messages delivered whole, end to end, to a counting receiver in another process
// (harness/c/receiver.c: it polls without blocking, has a 512 MiB receive buffer and reassembles
// ncfrag fragments), from each subject in a fresh process (bench/workers/e2e-sender.ts), or from
// the C sendmmsg sender (harness/c/sender.c), the practical limit every ratio is taken against.
//
// Load shapes: burst = `count` log calls, 1,000 per event-loop turn, then wait for delivery;
// paced = a fixed offered rate (messages/s) in 1 ms ticks. Texts of 100, 1,000 and 2,000 bytes:
// peers send their own formats around them (pino's JSON line, winston's message), this library
// extended netconsole records (fragmented above 1,000 bytes), the C sender and dgram the bare text.
//
// Paths: loopback for everything; over a veth pair between two namespaces (created per case and
// always removed; root only) for raw mode, with the C sender and UDP mode beside it.
//
// The figure is delivered messages/s: messages delivered whole over the time from the first log
// call to the last message's arrival (CLOCK_MONOTONIC in both processes).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { native, nativeError } from '../src/core/native.js';
import { isRoot, withNetns } from '../harness/netns.js';
import { compile } from '../harness/cc.js';
import type { Case, Sample, Scenario, ScenarioContext } from './harness.js';
import { CountingReceiver, type CountMode, type RxCounts } from './receiver.js';
import type { SenderArgs } from './workers/e2e-sender.js';

export const LOOPBACK_SUBJECTS = [
  'c-sendmmsg',
  'netconsole-udp',
  'netconsole-udp-nogso',
  'netconsole-dgram',
  'netconsole-pino',
  'netconsole-pino-transport',
  'netconsole-winston',
  'pino-transport-dgram',
  'pino-transport-discard',
  'dgram',
  'pino-socket',
  'pino-socket-transport',
  'winston-udp',
];
/** `c-raw-txring` (harness/c/raw-txring.c): what raw mode's TX ring could reach here, nothing else in the way. */
export const VETH_SUBJECTS = [
  'c-sendmmsg',
  'c-raw-txring',
  'netconsole-udp',
  'netconsole-udp-nogso',
  'netconsole-raw',
  'netconsole-raw-sendmmsg',
];
/** The large bursts (200,000 x 100 B) run for these only. */
export const LARGE_SUBJECTS = ['c-sendmmsg', 'netconsole-udp', 'netconsole-udp-nogso', 'dgram', 'pino-socket'];
const NATIVE_SUBJECTS = [
  'netconsole-udp',
  'netconsole-udp-nogso',
  'netconsole-raw',
  'netconsole-raw-sendmmsg',
  'netconsole-pino',
  'netconsole-pino-transport',
  'netconsole-winston',
];

const SENDER_JS = new URL('./workers/e2e-sender.js', import.meta.url).pathname;
const VETH = { a: '10.99.0.1', b: '10.99.0.2', devA: 'bA', devB: 'bB' };

export interface Veth {
  nsA: string;
  nsB: string;
  macB: string;
}

export interface RunSpec {
  subject: string;
  size: number;
  count: number;
  /** 0: burst; else the offered rate, messages/s. */
  rate: number;
  veth?: Veth;
  ncOptions?: Record<string, unknown>;
  /** How long nothing must arrive, after the sender is done, before the count is final. */
  quietMs?: number;
  timeoutMs?: number;
}

export interface RunResult {
  sent: number;
  delivered: number;
  rx: RxCounts;
  rcvbufErrors: number;
  seconds: number;
  cpuUs: number;
  /** The native sender's thread alone (part of cpuUs); null for other subjects. */
  senderCpuUs: number | null;
  /** The main thread alone (part of cpuUs; the rest is the sender's and V8's own threads: its
   *  compiler and GC); null for the C subjects. */
  mainCpuUs: number | null;
  /** Paced: the same process pacing the same ticks without log calls (the Node floor); else null. */
  pacingCpuUs: number | null;
  maxRssKb: number;
  stats: unknown;
  latency: {
    p50: number;
    p99: number;
    p999: number;
    max: number;
    timerFloorNs: number;
    every: number;
    timed: number;
  } | null;
}

export function countMode(subject: string): CountMode {
  if (subject.startsWith('netconsole')) return 'netconsole';
  if (subject.startsWith('pino-socket') || subject === 'pino-transport-dgram') return 'lines';
  return 'dgram';
}

export function lines(child: ReturnType<typeof spawn>): AsyncIterableIterator<string> {
  return createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
}

export async function next(it: AsyncIterableIterator<string>, what: string): Promise<Record<string, unknown>> {
  const r = await it.next();
  if (r.done) throw new Error(`${what}: the sender exited early`);
  const o = JSON.parse(r.value) as Record<string, unknown>;
  if (typeof o.error === 'string') throw new Error(`${what}: ${o.error}`);
  return o;
}

/** One run of one subject: a fresh receiver, a fresh sender process. */
export async function runOnce(spec: RunSpec): Promise<RunResult> {
  const { subject, size, count, rate, veth } = spec;
  const address = veth ? VETH.b : '127.0.0.1';
  const rx = await CountingReceiver.start(countMode(subject), address, veth?.nsB);
  const inA = (cmd: string, args: string[]): ReturnType<typeof spawn> =>
    spawn(veth ? 'ip' : cmd, veth ? ['netns', 'exec', veth.nsA, cmd, ...args] : args, {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  let child: ReturnType<typeof spawn> | null = null;
  let stderr = '';
  const timer = setTimeout(() => child?.kill('SIGKILL'), spec.timeoutMs ?? 120_000);
  try {
    const before = await rx.counts();
    let t0Ns: bigint;
    let cpuUs: number;
    let [senderCpuUs, mainCpuUs, pacingCpuUs]: Array<number | null> = [null, null, null];
    let maxRssKb: number;
    let stats: unknown = null;
    let latency: RunResult['latency'] = null;
    let counts: RxCounts;
    if (subject === 'c-sendmmsg' || subject === 'c-raw-txring') {
      const common = [String(rx.port), String(size), String(count), String(rate), address];
      if (subject === 'c-raw-txring' && !veth) throw new Error('c-raw-txring runs over the veth pair only');
      child =
        subject === 'c-sendmmsg'
          ? inA(compile('sender'), common)
          : inA(compile('raw-txring'), [...common, VETH.devA, veth!.macB, VETH.a]);
      child.stderr!.on('data', (d: Buffer) => (stderr += d));
      const out = lines(child);
      const result = next(out, subject);
      counts = await rx.settle(count, result, spec.quietMs ?? 500);
      const r = await result;
      [t0Ns, cpuUs, maxRssKb] = [BigInt(r.t0Ns as number), r.cpuUs as number, r.maxRssKb as number];
    } else {
      const args: SenderArgs = {
        subject,
        size,
        count,
        rate,
        port: rx.port,
        address,
        dev: veth ? VETH.devA : undefined,
        mac: veth?.macB,
        ncOptions: spec.ncOptions ?? {},
        statsFile: join(tmpdir(), `ncbench-stats-${process.pid}-${Date.now()}.json`),
      };
      child = inA(process.execPath, [SENDER_JS, JSON.stringify(args)]);
      child.stderr!.on('data', (d: Buffer) => (stderr += d));
      const out = lines(child);
      await next(out, `${subject} setup`);
      child.stdin!.write('go\n');
      const sent = next(out, subject);
      counts = await rx.settle(count, sent, spec.quietMs ?? 500);
      const s = await sent;
      t0Ns = BigInt(s.t0Ns as string);
      child.stdin!.write('stop\n');
      const r = await next(out, `${subject} result`);
      [senderCpuUs, mainCpuUs, pacingCpuUs] = [r.senderCpuUs, r.mainCpuUs, r.pacingCpuUs] as Array<number | null>;
      [cpuUs, maxRssKb, stats, latency] = [
        r.cpuUs as number,
        r.maxRssKb as number,
        r.stats,
        r.latency as RunResult['latency'],
      ];
    }
    if (child.exitCode === null) await once(child, 'exit');
    const seconds = counts.lastNs > 0 ? (counts.lastNs - Number(t0Ns)) / 1e9 : NaN;
    return {
      sent: count,
      delivered: counts.messages,
      rx: counts,
      rcvbufErrors: counts.rcvbufErrors - before.rcvbufErrors,
      seconds,
      cpuUs,
      senderCpuUs,
      mainCpuUs,
      pacingCpuUs,
      maxRssKb,
      stats,
      latency,
    };
  } catch (err) {
    const tail = stderr.trim().split('\n').slice(-3).join(' | ');
    throw new Error(`${(err as Error).message}${tail ? ` (stderr: ${tail})` : ''}`);
  } finally {
    clearTimeout(timer);
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rx.stop();
  }
}

/** The library's loss counters, summed over its targets. */
function libraryCounters(stats: unknown): Record<string, number> {
  if (stats === null || typeof stats !== 'object' || !('targets' in stats)) return {};
  const s = stats as {
    records: number;
    ringFull: number;
    senderDiscarded: number;
    targets: Array<Record<string, number>>;
  };
  const sum = (k: string): number => s.targets.reduce((t, x) => t + (x[k] ?? 0), 0);
  return {
    libRecords: s.records,
    libRingFull: s.ringFull,
    libDropped: sum('dropped'),
    libTruncated: sum('truncated'),
    libTransmitErrors: sum('transmit_errors'),
    libSenderDiscarded: s.senderDiscarded,
  };
}

export function sample(r: RunResult): Sample {
  const rate = r.delivered > 0 && r.seconds > 0 ? r.delivered / r.seconds : 0;
  const peerErrors =
    r.stats !== null && typeof r.stats === 'object' && !('targets' in r.stats)
      ? (r.stats as Record<string, number>)
      : {};
  return {
    value: rate,
    extra: {
      sent: r.sent,
      delivered: r.delivered,
      deliveredPct: (100 * r.delivered) / r.sent,
      datagrams: r.rx.datagrams,
      incomplete: r.rx.pending + r.rx.evicted,
      notWhole: r.rx.malformed,
      seconds: r.seconds,
      cpuNsPerMsg: r.delivered > 0 ? (r.cpuUs * 1000) / r.delivered : null,
      // Per log call, whether or not it arrived: the figure of a subject that delivers nothing.
      cpuNsPerSent: (r.cpuUs * 1000) / r.sent,
      cpuMs: r.cpuUs / 1000,
      senderNsPerMsg: r.delivered > 0 && r.senderCpuUs !== null ? (r.senderCpuUs * 1000) / r.delivered : null,
      mainNsPerMsg: r.delivered > 0 && r.mainCpuUs !== null ? (r.mainCpuUs * 1000) / r.delivered : null,
      pacingNsPerMsg: r.pacingCpuUs !== null ? (r.pacingCpuUs * 1000) / r.sent : null,
      maxRssMiB: r.maxRssKb / 1024,
      ...libraryCounters(r.stats),
      ...peerErrors,
      socketDrops: r.rx.drops,
      rcvbufErrors: r.rcvbufErrors,
      latP50Ns: r.latency?.p50 ?? null,
      latP99Ns: r.latency?.p99 ?? null,
      latP999Ns: r.latency?.p999 ?? null,
      latMaxNs: r.latency?.max ?? null,
      timerFloorNs: r.latency?.timerFloorNs ?? null,
    },
  };
}

/** A veth pair bA (10.99.0.1, namespace a) <-> bB (10.99.0.2, namespace b) for the runs of `body`. */
export async function withVeth(body: (v: Veth) => Promise<void>): Promise<void> {
  await withNetns(['a', 'b'], async (ns) => {
    await ns.vethPair('a', VETH.devA, 'b', VETH.devB, `${VETH.a}/24`, `${VETH.b}/24`);
    const macB = /link\/ether (\S+)/.exec(
      execFileSync('ip', ['-n', ns.name('b'), 'link', 'show', VETH.devB], { encoding: 'utf8' }),
    )![1];
    await body({ nsA: ns.name('a'), nsB: ns.name('b'), macB });
  });
}

interface Plan {
  quietMs: number;
  sizes: number[];
  burst: Record<number, number>;
  paced: { rate: number; seconds: number; sizes: number[] };
  large: Array<{ size: number; count: number }>;
  veth: { sizes: number[]; paced: boolean };
}

const PLANS: Record<ScenarioContext['profile'], Plan> = {
  full: {
    quietMs: 500,
    sizes: [100, 1000, 2000],
    burst: { 100: 50_000, 1000: 50_000, 2000: 20_000 },
    paced: { rate: 50_000, seconds: 1, sizes: [100, 1000, 2000] },
    large: [{ size: 100, count: 200_000 }],
    veth: { sizes: [100, 1000, 2000], paced: true },
  },
  quick: {
    quietMs: 300,
    sizes: [100, 2000],
    burst: { 100: 20_000, 2000: 5_000 },
    paced: { rate: 50_000, seconds: 0.4, sizes: [100] },
    large: [],
    veth: { sizes: [100], paced: false },
  },
  smoke: {
    quietMs: 300,
    sizes: [2000],
    burst: { 100: 1_000, 2000: 1_000 },
    paced: { rate: 50_000, seconds: 0.4, sizes: [] },
    large: [],
    veth: { sizes: [100], paced: false },
  },
};

function unavailable(subjects: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (native === null)
    for (const s of subjects.filter((x) => NATIVE_SUBJECTS.includes(x)))
      out[s] = `the native addon is not loaded (${nativeError?.message})`;
  return out;
}

export const scenario: Scenario = {
  name: 'e2e',
  about: 'messages delivered whole to a counting receiver in another process, per subject, vs the C sendmmsg sender',
  cases(ctx) {
    const plan = PLANS[ctx.profile];
    const cases: Case[] = [];
    const add = (size: number, count: number, rate: number, subjects: string[], veth: boolean): void => {
      let pair: Veth | undefined;
      const params: Case['params'] = {
        path: veth ? 'veth' : 'loopback',
        shape: rate === 0 ? 'burst' : 'paced',
        size,
        count,
      };
      if (rate > 0) params.rate = rate;
      cases.push({
        scenario: 'e2e',
        params,
        unit: 'messages/s',
        higherIsBetter: true,
        baseline: 'c-sendmmsg',
        subjects,
        unavailable: {
          ...unavailable(subjects),
          ...(subjects.includes('c-raw-txring') && size > 1472
            ? { 'c-raw-txring': 'one unfragmented frame a datagram: at most 1,472 B' }
            : {}),
        },
        skip: veth && !isRoot() ? 'needs root (network namespaces, AF_PACKET)' : undefined,
        around: veth
          ? (body) =>
              withVeth(async (v) => {
                pair = v;
                await body();
              })
          : undefined,
        measure: async (subject) =>
          sample(
            await runOnce({ subject, size, count, rate, veth: pair, ncOptions: ctx.ncOptions, quietMs: plan.quietMs }),
          ),
      });
    };
    for (const size of plan.sizes) add(size, plan.burst[size], 0, LOOPBACK_SUBJECTS, false);
    for (const { size, count } of plan.large) add(size, count, 0, LARGE_SUBJECTS, false);
    for (const size of plan.paced.sizes)
      add(size, plan.paced.rate * plan.paced.seconds, plan.paced.rate, LOOPBACK_SUBJECTS, false);
    for (const size of plan.veth.sizes) {
      add(size, plan.burst[size] ?? PLANS.full.burst[size], 0, VETH_SUBJECTS, true);
      if (plan.veth.paced) add(size, plan.paced.rate * plan.paced.seconds, plan.paced.rate, VETH_SUBJECTS, true);
    }
    return cases;
  },
};
