// Benchmark harness: each case is a function that runs its own loop of n iterations (so the
// harness adds no per-iteration call), warmed up, then timed in several rounds; the median round
// is reported. These machines are shared and noisy: compare ratios within one run, not absolutes.
export interface Measurement {
  name: string;
  opsPerSec: number;
  nsPerOp: number;
  rounds: number[];
}

export interface MeasureOptions {
  /** Iterations per round (default: calibrated to ~200 ms). */
  n?: number;
  rounds?: number;
  targetMs?: number;
}

export function measure(name: string, run: (n: number) => void, opts: MeasureOptions = {}): Measurement {
  const rounds = opts.rounds ?? 7;
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
  const results: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    run(n);
    const ns = Number(process.hrtime.bigint() - t0);
    results.push((n * 1e9) / ns);
  }
  const sorted = [...results].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return { name, opsPerSec: median, nsPerOp: 1e9 / median, rounds: results };
}

export function fmtRate(opsPerSec: number): string {
  if (opsPerSec >= 1e6) return `${(opsPerSec / 1e6).toFixed(2)} M/s`;
  if (opsPerSec >= 1e3) return `${(opsPerSec / 1e3).toFixed(1)} k/s`;
  return `${opsPerSec.toFixed(0)} /s`;
}

/** Prints measurements as a table, each with its ratio to `baseline` (a name in the list). */
export function table(title: string, ms: Measurement[], baseline?: string): string {
  const base = ms.find((m) => m.name === baseline);
  const lines = [`## ${title}`, '', `| case | rate | ns/op | ratio${base ? ` to ${base.name}` : ''} |`, '| --- | ---: | ---: | ---: |'];
  for (const m of ms) {
    const ratio = base ? `${(m.opsPerSec / base.opsPerSec).toFixed(2)}x` : '';
    lines.push(`| ${m.name} | ${fmtRate(m.opsPerSec)} | ${m.nsPerOp.toFixed(1)} | ${ratio} |`);
  }
  return lines.join('\n');
}
