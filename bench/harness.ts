// Benchmark harness: the types every scenario shares, and the in-process timing loop.
//
// A scenario (one file each) returns cases. A case is one set of parameters (a message size, a
// load shape, a thread count ...) and the subjects measured under it; the runner calls
// measure(subject, run) for run 1..N of every subject, interleaved (run 1 of each subject, then
// run 2 of each ...), so that a burst of noise on this shared machine hits every subject alike.
// It reports the median of the runs with their min-max and the ratio to the case's baseline.
import { readFileSync } from 'node:fs';

export interface Sample {
  /** The case's figure for this run, in the case's unit. */
  value: number;
  /** Further figures of this run (counts, CPU, latency ...): kept per run, and their medians. */
  extra?: Record<string, number | string | boolean | null>;
}

export interface Case {
  /** The scenario name in the JSON (e2e, write-path, threads, latency, checksum, boundary). */
  scenario: string;
  params: Record<string, string | number | boolean>;
  unit: string;
  /** true: more is better (rates); false: less is better (latency, time). */
  higherIsBetter: boolean;
  /** The subject ratios are given against, when it was measured. */
  baseline?: string;
  subjects: string[];
  /** What the reader must know to read the figures (written into the JSON and the report). */
  note?: string;
  /** Why this case was not measured here (no root ...): it is listed as skipped. */
  skip?: string;
  /** Subjects that cannot run here, with the reason (no addon ...): listed as skipped. */
  unavailable?: Record<string, string>;
  /** Wraps all runs of the case (namespaces created before, always removed after). */
  around?(body: () => Promise<void>): Promise<void>;
  measure(subject: string, run: number): Promise<Sample> | Sample;
}

export type Profile = 'full' | 'quick' | 'smoke';

export interface ScenarioContext {
  profile: Profile;
  /** Extra options for every Netconsole.create of the library's subjects (--nc-options). */
  ncOptions: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  /** One line: what is measured, for --list and the report. */
  about: string;
  cases(ctx: ScenarioContext): Case[] | Promise<Case[]>;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(values: readonly number[]): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** The p-th percentile (0..100) of values sorted ascending (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The median cost of an empty timed pair: the floor under every latency figure. */
export function timerFloorNs(): number {
  const ns = new Float64Array(20_000);
  for (let i = 0; i < ns.length; i++) {
    const t0 = process.hrtime.bigint();
    ns[i] = Number(process.hrtime.bigint() - t0);
  }
  return percentile(ns.sort(), 50);
}

export interface MeasureOptions {
  /** Iterations per timed round (default: calibrated to about targetMs). */
  n?: number;
  /** Milliseconds one timed round should take (default 200). */
  targetMs?: number;
}

/**
 * Operations per second of `run(n)`, a function that runs its own loop of n iterations (so the
 * harness adds no call per iteration): warmed up, calibrated, then one timed round.
 */
export function opsPerSec(run: (n: number) => void, opts: MeasureOptions = {}): number {
  const targetMs = opts.targetMs ?? 200;
  let n = opts.n ?? 1000;
  run(Math.min(n, 1000)); // warm up: tier up the loop and the calls
  if (opts.n === undefined) {
    for (;;) {
      const t0 = performance.now();
      run(n);
      const ms = performance.now() - t0;
      if (ms > targetMs / 4 || n > 1e9) {
        n = Math.max(1, Math.round((n * targetMs) / Math.max(ms, 0.001)));
        break;
      }
      n *= 4;
    }
  }
  const t0 = process.hrtime.bigint();
  run(n);
  return (n * 1e9) / Number(process.hrtime.bigint() - t0);
}

/** Log calls per event-loop turn in a burst (the e2e load shape; netconsole tune's rate 0). */
export const BURST_CHUNK = 1000;

/**
 * Runs `count` log calls in a load shape: `turn(from, to)` makes the calls due in one turn of the
 * event loop, BURST_CHUNK of them (rate 0), or as many as the offered rate (messages/s) allows by
 * now, in 1 ms ticks. One callback per turn, so the shape adds nothing to a log call.
 */
export async function inTurns(count: number, rate: number, turn: (from: number, to: number) => void): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < count; ) {
    const end = rate === 0 ? Math.min(count, i + BURST_CHUNK) : Math.min(count, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    turn(i, end);
    i = end;
    await new Promise((r) => (rate === 0 ? setImmediate(r) : setTimeout(r, 1)));
  }
}

/** A message text of exactly `bytes` ASCII bytes that needs no escaping (netconsole, JSON). */
export function text(bytes: number): string {
  const words = 'netconsole ships logs over udp to every target without blocking the caller ';
  return words.repeat(Math.ceil(bytes / words.length) + 1).slice(0, bytes);
}

/**
 * A figure of this process image from /proc/self/status, in kB: VmHWM (peak RSS) or VmRSS.
 * (getrusage's maxrss is no good for the peak: it keeps the RSS of the process that forked this
 * one, the bench runner, from before the exec.)
 */
export function procStatusKb(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`/proc/self/status has no ${field}`);
  return Number(m[1]);
}
