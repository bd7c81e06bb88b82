// The shapes of a comparison: a case (a set of parameters and the subjects measured under it), a
// run's sample, and what the runs of a case come to (bench/results/latest.json holds these too).

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
  /** Runs of each subject, as a multiple of the profile's (startup: 2, its median of 10 in a full run). */
  runScale?: number;
  /** Wraps all runs of the case (namespaces created before, always removed after). */
  around?(body: () => Promise<void>): Promise<void>;
  measure(subject: string, run: number): Promise<Sample> | Sample;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
}

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
