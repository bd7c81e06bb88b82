// The benchmark runner: `npm run bench [-- options]` and `netconsole bench [options]`.
//
// Runs the cases of every scenario (one file each), each subject several times (interleaved, see
// harness.ts), prints a table per case (median, min-max, ratio to the baseline, extras), writes
// <out>/latest.json and draws SVG charts into <out>: bench/out/results/ (ignored by git) unless
// --update-results (a full run) or --out says otherwise, so that running the bench leaves the
// committed figures, which the README shows, as they were. These machines are shared and noisy: compare
// ratios within one run, not absolutes across runs.
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { cpus, freemem, hostname, loadavg, release, arch, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NetconsoleError } from '../src/base/errors.js';
import { runCase } from '../src/faces/tune/measure.js';
import { resolveOptions } from '../src/host/resolve.js';
import { intOption, negativeValues, oneLine } from './args.js';
import { scenario as boundary } from './boundary.js';
import { drawCharts } from './charts.js';
import { scenario as checksum } from './checksum.js';
import { scenario as e2e } from './e2e.js';
import type { Case, Profile, Scenario } from './harness.js';
import { scenario as latency } from './latency.js';
import { scenario as memory } from './memory.js';
import { scenario as reliable } from './reliable.js';
import { scenario as startup } from './startup.js';
import { checkWritable, fsReason, writeAtomically, WriteError } from './out-file.js';
import { COLUMNS, Progress, table } from './report.js';
import type { Results, ScenarioResult } from './results.js';
import { scenario as threads } from './threads.js';
import { scenario as writePath } from './write-path.js';

/** The checkout (bench/out/results and bench/results are under it). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Moved into the package with netconsole tune.
export { runCase };

export const SCENARIOS: Scenario[] = [boundary, writePath, checksum, threads, latency, e2e, memory, reliable, startup];
const RUNS: Record<Profile, number> = { full: 5, quick: 3, smoke: 1 };

const USAGE = `usage: npm run bench -- [options] [scenario...]    (or: netconsole bench [options] [scenario...])

  --quick               a reduced set: about 90 s on a 2-core machine with little else running,
                        about 2.5 min when it is busy (load 12)
  --smoke               the smallest set that runs every scenario and subject once (the test's)
  --runs <n>            runs of each subject per case (default: full 5, quick 3, smoke 1)
  --scenario <a,b>      only these scenarios (also as plain arguments): ${SCENARIOS.map((s) => s.name).join(', ')}
  --subject <a,b>       only these subjects (see --list)
  --out <dir>           where latest.json and the charts go (default bench/out/results, which
                        git ignores); made and checked before the run
  --update-results      write them into bench/results, the committed figures the README shows
                        (a full run only)
  --nc-options <json>   extra Netconsole.create options for the library's subjects, e.g. '{"overflow":"wait"}';
                        checked as Netconsole.create checks them
  --list                the scenarios and their subjects, without running anything
  -h, --help`;

export interface RunOptions {
  profile: Profile;
  runs: number;
  scenarios: string[];
  subjects: string[];
  out: string;
  ncOptions: Record<string, unknown>;
}

const OPTIONS = {
  quick: { type: 'boolean' },
  smoke: { type: 'boolean' },
  runs: { type: 'string' },
  scenario: { type: 'string', multiple: true },
  subject: { type: 'string', multiple: true },
  out: { type: 'string' },
  'update-results': { type: 'boolean' },
  'nc-options': { type: 'string' },
  list: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * --nc-options: a JSON object of Netconsole.create options, checked as create checks them (the
 * same messages), so that a bad one is refused here rather than by every library subject in turn.
 */
async function ncOptions(text: string | undefined): Promise<Record<string, unknown>> {
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TypeError(`--nc-options must be a JSON object: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new TypeError(`--nc-options must be a JSON object of Netconsole.create options, got ${text}`);
  try {
    await resolveOptions({ env: false, ...parsed });
  } catch (err) {
    if (err instanceof NetconsoleError) throw new TypeError(`--nc-options: ${err.message}`);
    throw err;
  }
  return parsed as Record<string, unknown>;
}

/**
 * The directory for latest.json and the charts, made now and checked by writing a file in it, so
 * that a place that cannot take them is found before the run, not after it. What this made is
 * removed again when the check fails. (Made level by level: mkdirSync's recursive mode says ENOENT
 * where the file system is read-only.)
 */
function checkOutDir(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.unshift(d);
  const made: string[] = [];
  try {
    try {
      for (const d of missing) {
        mkdirSync(d);
        made.push(d);
      }
    } catch (err) {
      throw new TypeError(`--out ${dir}: cannot make the directory: ${fsReason(err)}`);
    }
    checkWritable(join(dir, 'latest.json'), `--out ${dir}`);
  } catch (err) {
    for (const d of made.reverse()) rmdirSync(d);
    throw err;
  }
}

/** Parses the command line; throws a TypeError saying what is wrong on a bad one. */
export async function parseOptions(argv: string[]): Promise<RunOptions | 'help' | 'list'> {
  const { values, positionals } = parseArgs({
    args: negativeValues(argv, OPTIONS),
    allowPositionals: true,
    options: OPTIONS,
  });
  if (values.help) return 'help';
  if (values.list) return 'list';
  const profile: Profile = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const runs = intOption('--runs', values.runs, 1, 1000, RUNS[profile]);
  const split = (v: string[] | undefined): string[] => (v ?? []).flatMap((x) => x.split(',')).filter(Boolean);
  const scenarios = [...split(values.scenario), ...positionals];
  const unknown = scenarios.filter((s) => !SCENARIOS.some((x) => x.name === s));
  if (unknown.length > 0)
    throw new TypeError(`unknown scenario ${unknown.join(', ')}: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const nc = await ncOptions(values['nc-options']);
  if (values['update-results'] && values.out !== undefined)
    throw new TypeError('--update-results writes bench/results: give it or --out, not both');
  if (values['update-results'] && profile !== 'full')
    throw new TypeError(`--update-results takes a full run (the committed figures are one), not --${profile}`);
  const out = resolve(values.out ?? join(ROOT, 'bench', values['update-results'] ? 'results' : join('out', 'results')));
  checkOutDir(out);
  return { profile, runs, scenarios, subjects: split(values.subject), out, ncOptions: nc };
}

function machine(): Results['machine'] {
  const c = cpus();
  return {
    hostname: hostname(),
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    arch: arch(),
    loadAvg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Runs the benchmarks; returns the results (also written to <out>/latest.json). */
export async function runBench(o: RunOptions, out: (line: string) => void = (l) => console.log(l)): Promise<Results> {
  const chosen = SCENARIOS.filter((s) => o.scenarios.length === 0 || o.scenarios.includes(s.name));
  const ctx = { profile: o.profile, ncOptions: o.ncOptions };
  const plan: Array<{ c: Case; subjects: string[] }> = [];
  for (const s of chosen) {
    for (const c of await s.cases(ctx)) {
      const subjects = c.skip
        ? []
        : c.subjects.filter(
            (x) => (o.subjects.length === 0 || o.subjects.includes(x)) && !(c.unavailable && x in c.unavailable),
          );
      plan.push({ c, subjects });
    }
  }
  const known = new Set(plan.flatMap((p) => p.c.subjects));
  const unknown = o.subjects.filter((s) => !known.has(s));
  if (unknown.length > 0)
    throw new TypeError(
      `unknown subject ${unknown.join(', ')} in ${chosen.map((s) => s.name).join(', ')}: ${[...known].join(', ')}`,
    );
  const progress = new Progress(plan.reduce((n, p) => n + p.subjects.length * o.runs * (p.c.runScale ?? 1), 0));
  out(
    `# netconsole benchmarks: ${o.profile} run, ${o.runs} run(s) per subject, node ${process.version}, ${new Date().toISOString()}\n`,
  );
  const scenarios: ScenarioResult[] = [];
  for (const { c, subjects } of plan) {
    if (c.skip) {
      scenarios.push({
        name: c.scenario,
        params: c.params,
        unit: c.unit,
        higherIsBetter: c.higherIsBetter,
        baseline: c.baseline,
        note: c.note,
        results: [],
        skipped: c.subjects.map((subject) => ({ subject, reason: c.skip! })),
      });
    } else if (subjects.length > 0) {
      scenarios.push(await runCase(c, subjects, o.runs, progress));
    } else {
      continue;
    }
    progress.clear();
    out(`${table(scenarios[scenarios.length - 1], COLUMNS[c.scenario] ?? {})}\n`);
  }
  progress.clear();
  const results: Results = {
    machine: machine(),
    date: new Date().toISOString(),
    node: process.version,
    profile: o.profile,
    argv: process.argv.slice(2),
    seconds: Math.round(progress.seconds),
    scenarios,
  };
  mkdirSync(o.out, { recursive: true });
  const json = join(o.out, 'latest.json');
  writeAtomically(json, `${JSON.stringify(results, null, 1)}\n`);
  const charts = drawCharts(results, o.out);
  out(
    `wrote ${json}${charts.length ? ` and ${charts.join(', ')}` : ''} (${results.seconds} s; free memory ${Math.round(freemem() / 2 ** 20)} MiB)`,
  );
  return results;
}

/** The command line: returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let o: Awaited<ReturnType<typeof parseOptions>>;
  try {
    o = await parseOptions(argv);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    // One line; a hint to --help after it for parseArgs's errors (an unknown option, a missing value).
    const shape = (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    process.stderr.write(`bench: ${oneLine(err.message)}\n${shape ? 'see npm run bench -- --help\n' : ''}`);
    return 2;
  }
  if (o === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (o === 'list') {
    for (const s of SCENARIOS) {
      const subjects = new Set((await s.cases({ profile: 'full', ncOptions: {} })).flatMap((c) => c.subjects));
      console.log(`${s.name}: ${s.about}\n  subjects: ${[...subjects].join(', ')}`);
    }
    return 0;
  }
  try {
    await runBench(o);
  } catch (err) {
    if (err instanceof WriteError) {
      // The disk filled up (or the directory went) during the run: the tables above are what was measured.
      process.stderr.write(`bench: cannot write ${err.message}; the results are the tables above\n`);
      return 1;
    }
    if (!(err instanceof TypeError)) throw err;
    process.stderr.write(`bench: ${err.message}\n`);
    return 2;
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  process.exitCode = await main(process.argv.slice(2));
}
