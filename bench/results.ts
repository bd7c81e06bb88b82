// The shape of bench/results/latest.json:
//   { machine, date, node, profile, scenarios: [{ name, params, unit, results: [{ subject, median,
//     min, max, runs }] }] }
// plus, per scenario entry, higherIsBetter, baseline, note and skipped, and per result the
// ratio to the baseline's median, `extra` (the median over runs of each numeric extra), `samples`
// (every run's extras) and the errors of runs that failed.
export interface SubjectResult {
  subject: string;
  median: number;
  min: number;
  max: number;
  /** The figure of each run. */
  runs: number[];
  /** median / the baseline's median (null without a baseline). */
  ratio: number | null;
  extra: Record<string, number | string | boolean | null>;
  samples: Array<Record<string, number | string | boolean | null>>;
  errors?: string[];
}

export interface ScenarioResult {
  name: string;
  params: Record<string, string | number | boolean>;
  unit: string;
  higherIsBetter: boolean;
  baseline?: string;
  note?: string;
  results: SubjectResult[];
  skipped: Array<{ subject: string; reason: string }>;
}

export interface Results {
  machine: { hostname: string; cpus: number; cpuModel: string; memGiB: number; kernel: string; arch: string; loadAvg: number[] };
  date: string;
  node: string;
  profile: string;
  argv: string[];
  seconds: number;
  scenarios: ScenarioResult[];
}
