// netconsole tune: `netconsole tune [options]` (in a checkout also `npm run tune -- [options]`).
// For the operator's message mix and targets, on the operator's machine: sweeps the options that
// move throughput (sweep.ts), prints a table per knob and the best setting with its gain over the
// defaults (a ratio, measured in the same run), and writes that setting as a config file that
// Netconsole.create({ config }) loads.
//
// Each run is a fresh sender process (sender.ts, through run.ts runOnce). The figure is what the
// library handed to the kernel per second (or the CPU time per message), beside its losses
// (stats()): at the operator's targets nothing can count arrivals; without targets the runs send
// to a sink on loopback. Everything it needs is in the package (no C compiler, no peers).
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NetconsoleError } from '../../base/errors.js';
import { native } from '../../core/native.js';
import { Netconsole } from '../../host/netconsole.js';
import type { NetconsoleOptions } from '../../host/options.js';
import { resolveOptions } from '../../host/resolve.js';
import { intOption, negativeValues, oneLine } from './args.js';
import { BURST_CHUNK } from './load.js';
import { checkWritable, writeAtomically } from './out-file.js';
import { Progress } from './report.js';
import { runOnce } from './run.js';
import { figure, KNOBS, sweep, TuneError, valuesOf, type Goal, type Knob } from './sweep.js';

const USAGE = `usage: netconsole tune [options]

  --size <bytes,...>     text sizes of the mix, each an equal share of the messages (default 100)
  --rate <n>             offered messages/s; 0 (default): bursts of ${BURST_CHUNK} log calls per event-loop turn
  --threads <n>          writer worker threads (default 0: the main thread logs)
  --count <n>            messages per run (default 50000; --quick 10000)
  --runs <n>             runs per setting, interleaved (default 5; --quick 3)
  --target <param>       a target parameter string (repeatable), e.g. +@/,6666@10.0.0.2/
  --config <file>        a config file: its targets, and its options as the baseline
                         (without targets: a sink on loopback)
  --knobs <a,b>          only these knobs: ${KNOBS.map((k) => k.name).join(', ')}
  --goal <rate|cpu>      what to improve: the rate (default), or the CPU time per message
  --quick                fewer values per knob, fewer and shorter runs
  --out <file>           the config file written (default netconsole.tune.json); checked
                         before measuring, written atomically
  -h, --help`;

export interface TuneOptions {
  sizes: number[];
  rate: number;
  threads: number;
  count: number;
  runs: number;
  quick: boolean;
  goal: Goal;
  knobs: Knob[];
  targets: NetconsoleOptions['targets'];
  /** The --config file's options other than targets: the baseline of every run, and written back. */
  base: NetconsoleOptions;
  config?: string;
  out: string;
}

/** The --config file, checked as Netconsole.create checks it (a file is strict). */
async function readConfig(file: string): Promise<NetconsoleOptions> {
  try {
    await resolveOptions({ config: file, env: false });
  } catch (err) {
    if (err instanceof NetconsoleError) throw new TypeError(`--config: ${err.message}`);
    throw err;
  }
  return JSON.parse(readFileSync(file, 'utf8')) as NetconsoleOptions;
}

/** The targets come up with the baseline's options (or every run would fail alike). */
async function checkTargets(targets: NetconsoleOptions['targets'], base: NetconsoleOptions): Promise<void> {
  const { control: _, ...opts } = base;
  try {
    await (await Netconsole.create({ env: false, devices: 'none', ...opts, targets, strict: true })).close();
  } catch (err) {
    if (err instanceof NetconsoleError) throw new TypeError(`the targets cannot be used: ${err.message}`);
    throw err;
  }
}

const OPTIONS = {
  size: { type: 'string' },
  rate: { type: 'string' },
  threads: { type: 'string' },
  count: { type: 'string' },
  runs: { type: 'string' },
  target: { type: 'string', multiple: true },
  config: { type: 'string' },
  knobs: { type: 'string' },
  goal: { type: 'string' },
  quick: { type: 'boolean' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Parses the command line; throws a TypeError with what is wrong on a bad one. Everything that can
 * be checked before measuring is: the values, the targets and config, and that --out can be written.
 */
export async function parseOptions(argv: string[]): Promise<TuneOptions | 'help'> {
  const { values } = parseArgs({ args: negativeValues(argv, OPTIONS), options: OPTIONS });
  if (values.help) return 'help';
  const quick = values.quick === true;
  const sizes = (values.size ?? '100').split(',').map((s) => intOption('--size', s.trim(), 1, 60_000, 0));
  if (values.goal !== undefined && values.goal !== 'rate' && values.goal !== 'cpu')
    throw new TypeError(`--goal must be rate or cpu, got ${values.goal}`);
  const { targets: fileTargets, ...base } = values.config ? await readConfig(values.config) : {};
  const targets = values.target?.length ? values.target.join(';') : fileTargets;
  if (targets !== undefined) await checkTargets(targets, base);
  const dgram = native === null || base.sender === 'dgram';
  const names = values.knobs
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names ?? []) {
    const k = KNOBS.find((x) => x.name === n);
    if (!k) throw new TypeError(`unknown knob ${n}: ${KNOBS.map((x) => x.name).join(', ')}`);
    if (k.native && dgram)
      throw new TypeError(
        `knob ${n} is the native sender's, which is not in use here (${native === null ? 'the addon is not loaded' : "sender: 'dgram'"})`,
      );
  }
  const out = resolve(values.out ?? 'netconsole.tune.json');
  checkWritable(out, `--out ${out}`);
  return {
    sizes,
    rate: intOption('--rate', values.rate, 0, 100_000_000, 0),
    threads: intOption('--threads', values.threads, 0, 64, 0),
    count: intOption('--count', values.count, 1, 1e9, quick ? 10_000 : 50_000),
    runs: intOption('--runs', values.runs, 1, 1000, quick ? 3 : 5),
    quick,
    goal: (values.goal ?? 'rate') as Goal,
    knobs: KNOBS.filter((k) => (names ? names.includes(k.name) : !(k.native && dgram))),
    targets,
    base,
    config: values.config,
    out,
  };
}

const num = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

function header(o: TuneOptions, unit: string): string[] {
  const shape =
    o.rate === 0 ? `bursts of ${num(BURST_CHUNK)} log calls per event-loop turn` : `${num(o.rate)} messages/s offered`;
  const who = o.threads === 0 ? 'the main thread' : `${o.threads} writer thread${o.threads > 1 ? 's' : ''}`;
  const mix =
    o.sizes.length === 1
      ? `texts of ${num(o.sizes[0])} B`
      : `texts of ${o.sizes.map(num).join(', ')} B in equal shares`;
  const lines = [
    `# netconsole tune: ${mix}, ${shape}, from ${who}; ${num(o.count)} messages per run, ${o.runs} run${o.runs > 1 ? 's' : ''} per setting (interleaved); node ${process.version}, ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}`,
    '',
    o.targets === undefined
      ? `measured: ${unit}, to a sink on loopback (no targets given; arrivals are not counted); the library's losses (stats().lost) are in the tables`
      : `measured: ${unit}, to the targets given (${typeof o.targets === 'string' ? o.targets : `${o.targets.length} target objects`}): arrivals cannot be counted there; the library's losses (stats().lost) are in the tables`,
    `baseline ("default"): the library's defaults${o.config ? ` with the options of ${o.config}` : ''}`,
    `knobs: ${o.knobs.map((k) => `${k.option} (${valuesOf(k, o.base, o.quick).map(k.show).join(', ')})`).join('; ')}`,
  ];
  if (o.runs === 1)
    lines.push(
      'one run per setting: there is no run-to-run spread to compare with, so any difference counts (for smoke runs only)',
    );
  try {
    const wmemMax = Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8'));
    if (o.knobs.some((k) => k.name === 'sendBufferBytes'))
      lines.push(`net.core.wmem_max is ${num(wmemMax)}: the kernel caps sendBufferBytes there`);
  } catch {
    // not Linux's /proc: nothing to say
  }
  return [...lines, ''];
}

/** Runs the tuner; returns the options written to o.out. */
async function runTune(
  o: TuneOptions,
  out: (line: string) => void = (l) => console.log(l),
): Promise<NetconsoleOptions> {
  const fig = figure(o.goal);
  out(header(o, fig.unit).join('\n'));
  const steps = o.knobs.reduce((n, k) => n + valuesOf(k, o.base, o.quick).length, 2) * o.runs;
  const progress = new Progress(steps);
  const outcome = await sweep(
    {
      knobs: o.knobs,
      quick: o.quick,
      base: o.base,
      runs: o.runs,
      figure: fig,
      async measure(opts) {
        const { control: _, ...ncOptions } = opts; // a control socket per run would be in the way of the operator's
        const r = await runOnce({
          sizes: o.sizes,
          count: o.count,
          rate: o.rate,
          threads: o.threads,
          targets: o.targets,
          ncOptions: ncOptions as Record<string, unknown>,
        });
        return fig.of(r);
      },
    },
    progress,
    out,
  );
  progress.clear();
  const f = outcome.final;
  const range = (r: { min: number; max: number }): string => `${num(r.min)} - ${num(r.max)}`;
  if (f && f.won) {
    out(
      `best: ${outcome.changes.join(', ')}: ${f.gain.toFixed(2)}x the defaults' ${fig.unit} (median ${num(f.tuned.median)} vs ${num(f.base.median)}; runs ${range(f.tuned)} vs ${range(f.base)}), measured in this run`,
    );
  } else if (f) {
    out(
      `nothing beats the defaults beyond the run-to-run spread: the knobs kept one by one (${outcome.changes.join(', ')}) make ${f.gain.toFixed(2)}x the defaults' ${fig.unit} together, runs ${range(f.tuned)} vs ${range(f.base)}`,
    );
  } else {
    out(
      `nothing beats the defaults beyond the run-to-run spread${outcome.changes.length ? ' (the combination could not be measured)' : ''}`,
    );
  }
  const file: NetconsoleOptions = { ...(o.targets !== undefined ? { targets: o.targets } : {}), ...outcome.options };
  await writeTuned(o.out, file);
  const none = o.targets === undefined ? ' (no targets: give them to create(), or NETCONSOLE)' : '';
  out(`wrote ${o.out}${none}: ${JSON.stringify(file)}\nuse it: Netconsole.create({ config: '${o.out}' })`);
  return file;
}

/**
 * Writes the tuned options to `out`, checked first as Netconsole.create({ config }) checks a
 * config file, then written atomically. A write that fails (the disk filled up while measuring)
 * leaves no file, and is a TuneError that says why and what the settings were: one line.
 */
export async function writeTuned(out: string, file: NetconsoleOptions): Promise<void> {
  await resolveOptions({ ...file, env: false });
  try {
    writeAtomically(out, `${JSON.stringify(file, null, 2)}\n`);
  } catch (err) {
    throw new TuneError(`cannot write ${(err as Error).message}; the settings measured were ${JSON.stringify(file)}`);
  }
}

/** The command line: returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let o: Awaited<ReturnType<typeof parseOptions>>;
  try {
    o = await parseOptions(argv);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    // One line; a hint to --help after it when the command line's shape was wrong (parseArgs's
    // errors: an unknown option, a missing value), not for a value refused.
    const shape = (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    process.stderr.write(`tune: ${oneLine(err.message)}\n${shape ? 'see netconsole tune --help\n' : ''}`);
    return 2;
  }
  if (o === 'help') {
    console.log(USAGE);
    return 0;
  }
  try {
    await runTune(o);
  } catch (err) {
    if (!(err instanceof TuneError)) throw err;
    process.stderr.write(`tune: ${err.message}; nothing written\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  process.exitCode = await main(process.argv.slice(2));
}
