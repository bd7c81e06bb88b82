// Benchmark harness: the types every scenario shares, and the in-process timing loop.
//
// A scenario (one file each) returns cases. A case is one set of parameters (a message size, a
// load shape, a thread count ...) and the subjects measured under it; the runner calls
// measure(subject, run) for run 1..N of every subject, interleaved (run 1 of each subject, then
// run 2 of each ...), so that a burst of noise on this shared machine hits every subject alike.
// It reports the median of the runs with their min-max and the ratio to the case's baseline.
import { readFileSync } from 'node:fs';

// Moved into the package with netconsole tune: the case, its runs' summary, the load shape.
export { median, summarize, type Case, type Sample, type Summary } from '../src/faces/tune/measure.js';
import type { Case } from '../src/faces/tune/measure.js';
export { BURST_CHUNK, inTurns, text } from '../src/faces/tune/load.js';

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
