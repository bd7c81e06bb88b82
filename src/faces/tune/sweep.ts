// netconsole tune, the sweep: the knobs (options of Netconsole.create that move throughput), the
// figure of one run, and the coordinate descent over the knobs.
//
// Coordinate descent: from the baseline (the library's defaults, plus the options of a --config
// file), one knob at a time, every value of it with the other knobs as kept so far; a value is kept
// only if it beats the knob's baseline value beyond the run-to-run spread (its slowest run faster
// than the baseline's fastest: the ranges do not overlap). Then the combination is measured again
// against the baseline, interleaved in the same run, and kept only on the same terms. Runs are
// interleaved (measure.ts runCase) so that noise on a shared machine hits every setting alike.
import type { NativeSenderOptions, NetconsoleOptions } from '../../host/options.js';
import { DEFAULT_OVERFLOW_WAIT_MS } from '../../host/options.js';
import { DEFAULT_SEND_BUFFER } from '../../sender/sockets.js';
import { DEFAULT_RING_SIZE } from '../../core/wasm.js';
import { runCase, type Case, type Sample, type ScenarioResult, type SubjectResult } from './measure.js';
import { table, type Progress } from './report.js';
import type { RunResult } from './run.js';

const KiB = 1 << 10;
const MiB = 1 << 20;
const NATIVE_BATCH = 64; // native/sender.cc kBatchDefault
const NATIVE_TIMER_US = 50; // native/sender.cc Tuning::timerUs

type Wake = { wake: NonNullable<NativeSenderOptions['wake']>; timerUs?: number };

export interface Knob {
  /** Its name for --knobs. */
  name: string;
  /** The option it sets, for the output. */
  option: string;
  /** The values tried (all, and with --quick); the baseline's value is always tried too. */
  values: readonly unknown[];
  quick: readonly unknown[];
  /** Only the native sender has it. */
  native: boolean;
  /** The value in effect (the library's default where the options have none). */
  get(o: NetconsoleOptions): unknown;
  set(o: NetconsoleOptions, v: unknown): NetconsoleOptions;
  show(v: unknown): string;
}

const bytes = (v: unknown): string =>
  (v as number) >= MiB ? `${(v as number) / MiB} MiB` : `${(v as number) / KiB} KiB`;

function wakeOf(o: NetconsoleOptions): Wake {
  const wake = o.nativeSender?.wake ?? 'spin';
  return wake === 'timer' ? { wake, timerUs: o.nativeSender?.timerUs ?? NATIVE_TIMER_US } : { wake };
}

export const KNOBS: readonly Knob[] = [
  {
    name: 'ringSize',
    option: 'ringSize',
    values: [1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB],
    quick: [1 * MiB, 4 * MiB, 16 * MiB],
    native: false,
    get: (o) => o.ringSize ?? DEFAULT_RING_SIZE,
    set: (o, v) => ({ ...o, ringSize: v as number }),
    show: bytes,
  },
  {
    name: 'batch',
    option: 'nativeSender.batch',
    values: [16, 64, 256],
    quick: [16, 64, 256],
    native: true,
    get: (o) => o.nativeSender?.batch ?? NATIVE_BATCH,
    set: (o, v) => ({ ...o, nativeSender: { ...o.nativeSender, batch: v as number } }),
    show: String,
  },
  {
    name: 'wake',
    option: 'nativeSender.wake',
    values: [{ wake: 'spin' }, { wake: 'futex' }, { wake: 'timer', timerUs: 50 }, { wake: 'timer', timerUs: 200 }],
    quick: [{ wake: 'spin' }, { wake: 'futex' }, { wake: 'timer', timerUs: 50 }],
    native: true,
    get: wakeOf,
    set: (o, v) => {
      const { timerUs: _, ...rest } = o.nativeSender ?? {}; // a timerUs is kept only with the timer
      return { ...o, nativeSender: { ...rest, ...(v as Wake) } };
    },
    show: (v) => ((v as Wake).wake === 'timer' ? `timer ${(v as Wake).timerUs} us` : (v as Wake).wake),
  },
  {
    name: 'sendBufferBytes',
    option: 'sendBufferBytes',
    values: [256 * KiB, 1 * MiB, 4 * MiB],
    quick: [256 * KiB, 4 * MiB],
    native: false,
    get: (o) => o.sendBufferBytes ?? DEFAULT_SEND_BUFFER,
    set: (o, v) => ({ ...o, sendBufferBytes: v as number }),
    show: bytes,
  },
  {
    name: 'overflowWaitMs',
    option: 'overflowWaitMs',
    values: [100, 500],
    quick: [100, 500],
    native: false,
    get: (o) => o.overflowWaitMs ?? DEFAULT_OVERFLOW_WAIT_MS,
    set: (o, v) => ({ ...o, overflowWaitMs: v as number }),
    show: (v) => `${v as number} ms`,
  },
];

export type Goal = 'rate' | 'cpu';

/**
 * What one run measures: what the library handed to the kernel (per second, or CPU time per
 * message), beside its losses. Nothing counts arrivals at the operator's targets; without targets
 * the runs send to a sink on loopback (run.ts), measured the same way.
 */
export interface Figure {
  unit: string;
  higherIsBetter: boolean;
  /** The extras the tables show (key -> header). */
  columns: Record<string, string>;
  of(r: RunResult): Sample;
}

export function figure(goal: Goal): Figure {
  const rateUnit = 'messages handed to the kernel/s';
  const columns: Record<string, string> = {
    handed: 'handed on',
    ...(goal === 'cpu' ? { rate: rateUnit } : { cpuNsPerMsg: 'CPU ns/msg' }),
    lost: 'lib lost',
    gaveUp: 'waits given up',
    eagain: 'EAGAIN',
    enobufs: 'ENOBUFS',
    stalls: 'stalls',
  };
  return {
    unit: goal === 'cpu' ? 'CPU ns/message' : rateUnit,
    higherIsBetter: goal === 'rate',
    columns,
    of(r) {
      const s = r.stats;
      const handed = s.targets.reduce((n, t) => n + t.sent - t.lostInTransmit, 0);
      const rate = handed / r.seconds;
      const cpuNsPerMsg = handed > 0 ? (r.cpuUs * 1000) / handed : Infinity;
      const extra = {
        handed,
        rate,
        cpuNsPerMsg,
        lost: s.lost,
        ringFull: s.ringFull,
        gaveUp: s.waits.gaveUp,
        eagain: s.transmit.eagain,
        enobufs: s.transmit.enobufs,
        stalls: s.transmit.stalls,
      };
      return { value: goal === 'cpu' ? cpuNsPerMsg : rate, extra };
    },
  };
}

export interface SweepPlan {
  knobs: readonly Knob[];
  quick: boolean;
  /** The baseline: the library's defaults plus the options of a --config file. */
  base: NetconsoleOptions;
  runs: number;
  figure: Figure;
  measure(o: NetconsoleOptions): Promise<Sample>;
}

export interface Outcome {
  /** The options to write: the baseline's, with the kept knobs if their combination won. */
  options: NetconsoleOptions;
  /** The knobs kept by the sweep, e.g. "ringSize 16 MiB" (none: every default won its knob). */
  changes: string[];
  /** The combination against the baseline (null when no knob was kept, or it could not be measured). */
  final: { tuned: SubjectResult; base: SubjectResult; gain: number; won: boolean } | null;
}

/** The values of a knob to try: the baseline's value first, then the others, each once. */
export function valuesOf(k: Knob, base: NetconsoleOptions, quick: boolean): unknown[] {
  const current = k.get(base);
  return [current, ...(quick ? k.quick : k.values).filter((v) => k.show(v) !== k.show(current))];
}

/** a beats b beyond the run-to-run spread: their min - max ranges do not overlap. */
function beyond(a: SubjectResult, b: SubjectResult, higherIsBetter: boolean): boolean {
  return higherIsBetter ? a.min > b.max : a.max < b.min;
}

function best(rs: SubjectResult[], higherIsBetter: boolean): SubjectResult | undefined {
  return [...rs].sort((a, b) => (higherIsBetter ? b.median - a.median : a.median - b.median))[0];
}

/** Runs every setting of one comparison `runs` times, interleaved, and prints its table. */
async function compare(
  plan: SweepPlan,
  params: Case['params'],
  settings: Map<string, NetconsoleOptions>,
  baseline: string,
  progress: Progress,
  out: (l: string) => void,
): Promise<ScenarioResult> {
  const { unit, higherIsBetter, columns } = plan.figure;
  const c: Case = {
    scenario: 'tune',
    params,
    unit,
    higherIsBetter,
    baseline,
    subjects: [...settings.keys()],
    measure: (subject) => plan.measure(settings.get(subject)!),
  };
  const result = await runCase(c, c.subjects, plan.runs, progress);
  progress.clear();
  out(`${table(result, columns)}\n`);
  return result;
}

/** The tuner cannot measure what it was asked to: it stops, and the command exits 1. */
export class TuneError extends Error {}

export async function sweep(plan: SweepPlan, progress: Progress, out: (line: string) => void): Promise<Outcome> {
  const { higherIsBetter, unit } = plan.figure;
  let options = plan.base;
  const changes: string[] = [];
  for (const k of plan.knobs) {
    const values = valuesOf(k, plan.base, plan.quick);
    const label = (v: unknown, i: number): string => `${k.show(v)}${i === 0 ? ' (default)' : ''}`;
    const settings = new Map(values.map((v, i) => [label(v, i), k.set(options, v)]));
    const r = await compare(plan, { knob: k.option }, settings, label(values[0], 0), progress, out);
    const base = r.results.find((x) => x.subject === label(values[0], 0));
    const top = best(
      r.results.filter((x) => x !== base),
      higherIsBetter,
    );
    if (!base) {
      // Nothing can be compared with a baseline that did not run: a tuner that went on would
      // report "nothing beats the defaults" and write a file, as if it had measured something.
      const why = r.skipped.find((x) => x.subject === label(values[0], 0))?.reason ?? 'no run succeeded';
      throw new TuneError(`the defaults could not be measured (${k.option}: ${why})`);
    }
    if (!top) {
      out(`-> ${k.option}: the default kept (no other value measured)\n`);
    } else if (beyond(top, base, higherIsBetter)) {
      options = settings.get(top.subject)!;
      changes.push(`${k.option} ${top.subject}`);
      out(
        `-> ${k.option}: ${top.subject} kept (${top.ratio!.toFixed(2)}x the default's ${unit}, beyond the run-to-run spread)\n`,
      );
    } else {
      out(
        `-> ${k.option}: the default kept (the best other value, ${top.subject}, makes ${top.ratio!.toFixed(2)}x its ${unit}: within the run-to-run spread)\n`,
      );
    }
  }
  if (changes.length === 0) return { options: plan.base, changes, final: null };
  const settings = new Map([
    ['defaults', plan.base],
    ['tuned', options],
  ]);
  const r = await compare(
    plan,
    { compare: `tuned (${changes.join(', ')}) vs defaults` },
    settings,
    'defaults',
    progress,
    out,
  );
  const tuned = r.results.find((x) => x.subject === 'tuned');
  const base = r.results.find((x) => x.subject === 'defaults');
  if (!tuned || !base || tuned.ratio === null) return { options: plan.base, changes, final: null };
  const won = beyond(tuned, base, higherIsBetter);
  return { options: won ? options : plan.base, changes, final: { tuned, base, gain: tuned.ratio, won } };
}
