// The shape of bench/results/latest.json:
//   { machine, date, node, profile, scenarios: [{ name, params, unit, results: [{ subject, median,
//     min, max, runs }] }] }
// plus, per scenario entry, higherIsBetter, baseline, note and skipped, and per result the
// ratio to the baseline's median, `extra` (the median over runs of each numeric extra), `samples`
// (every run's extras) and the errors of runs that failed.
// Moved into the package with netconsole tune.
export type { ScenarioResult, SubjectResult } from '../src/faces/tune/measure.js';
import type { ScenarioResult } from '../src/faces/tune/measure.js';

export interface Results {
  machine: {
    hostname: string;
    cpus: number;
    cpuModel: string;
    memGiB: number;
    kernel: string;
    arch: string;
    loadAvg: number[];
  };
  date: string;
  node: string;
  profile: string;
  argv: string[];
  seconds: number;
  scenarios: ScenarioResult[];
}
