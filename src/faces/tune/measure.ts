// One comparison, measured: a case (a set of parameters and the subjects measured under it), run
// as netconsole tune and the bench runner (bench/run.ts) both run them: each subject `runs` times,
// interleaved (run 1 of each subject, then run 2 of each ...), so that a burst of noise on a shared
// machine hits every subject alike; the median of the runs with their min-max and the ratio to the
// case's baseline. Moved here from bench/ with netconsole tune, which the package ships.
import type { Progress } from './report.js';
import type { Case, Sample, ScenarioResult, SubjectResult, Summary } from './results.js';

export type { Case, Sample, ScenarioResult, SubjectResult, Summary };

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(values: readonly number[]): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

function label(c: Case): string {
  return `${c.scenario} ${Object.values(c.params).join(' ')}`;
}

/** Runs one case: every subject `runs` times, interleaved; failures are kept per subject. */
export async function runCase(c: Case, subjects: string[], runs: number, progress: Progress): Promise<ScenarioResult> {
  const samples = new Map<string, Sample[]>(subjects.map((s) => [s, []]));
  const errors = new Map<string, string[]>();
  const skipped = Object.entries(c.unavailable ?? {})
    .filter(([s]) => c.subjects.includes(s))
    .map(([subject, reason]) => ({ subject, reason }));
  const n = runs * (c.runScale ?? 1);
  const body = async (): Promise<void> => {
    for (let run = 1; run <= n; run++) {
      for (const subject of subjects) {
        progress.step(`${label(c)}: ${subject} run ${run}/${n}`);
        try {
          samples.get(subject)!.push(await c.measure(subject, run));
        } catch (err) {
          errors.set(subject, [...(errors.get(subject) ?? []), (err as Error).message.split('\n')[0]]);
        }
      }
    }
  };
  try {
    if (c.around) await c.around(body);
    else await body();
  } catch (err) {
    skipped.push(
      ...subjects
        .filter((s) => samples.get(s)!.length === 0)
        .map((subject) => ({ subject, reason: `set-up failed: ${(err as Error).message.split('\n')[0]}` })),
    );
  }
  const results: SubjectResult[] = [];
  for (const subject of subjects) {
    const ss = samples.get(subject)!;
    const errs = errors.get(subject);
    if (ss.length === 0) {
      if (errs) skipped.push({ subject, reason: `every run failed: ${errs[0]}` });
      continue;
    }
    const values = ss.map((s) => s.value);
    const keys = [...new Set(ss.flatMap((s) => Object.keys(s.extra ?? {})))];
    const extra: SubjectResult['extra'] = {};
    for (const k of keys) {
      const vs = ss.map((s) => s.extra?.[k]);
      const nums = vs.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      extra[k] = nums.length > 0 ? median(nums) : (vs.find((v) => v !== null && v !== undefined) ?? null);
    }
    results.push({
      subject,
      ...summarize(values),
      runs: values,
      ratio: null,
      extra,
      samples: ss.map((s) => s.extra ?? {}),
      ...(errs ? { errors: errs } : {}),
    });
  }
  const base = results.find((r) => r.subject === c.baseline);
  if (base) for (const r of results) r.ratio = base.median > 0 ? r.median / base.median : null;
  return {
    name: c.scenario,
    params: c.params,
    unit: c.unit,
    higherIsBetter: c.higherIsBetter,
    baseline: c.baseline,
    note: c.note,
    results,
    skipped,
  };
}
