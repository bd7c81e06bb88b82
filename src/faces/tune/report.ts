// What the tuner (and the bench runner) prints: a progress bar on a terminal (plain lines
// otherwise), and one Markdown table per case: median with min-max over the runs, the ratio to the
// case's baseline, and the extras. Moved here from bench/ with netconsole tune.
import type { ScenarioResult } from './results.js';

/** A figure in 3 significant digits with k, M, G: 61.2k. */
export function fmtNum(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

export class Progress {
  private done = 0;
  private readonly t0 = performance.now();
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
  }

  private elapsed(): string {
    const s = Math.round((performance.now() - this.t0) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }

  /** Announces the step about to run. */
  step(label: string): void {
    this.done++;
    if (!this.tty) {
      this.stream.write(`[${this.done}/${this.total} ${this.elapsed()}] ${label}\n`);
      return;
    }
    const width = 24;
    const filled = Math.round((width * (this.done - 1)) / Math.max(1, this.total));
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const line = `[${bar}] ${this.done}/${this.total} ${this.elapsed()} ${label}`;
    this.stream.write(`\r\x1b[2K${line.slice(0, (this.stream.columns ?? 100) - 1)}`);
  }

  /** Clears the bar so that a table can be printed; the next step redraws it. */
  clear(): void {
    if (this.tty) this.stream.write('\r\x1b[2K');
  }

  get seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }
}

function cell(v: unknown): string {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '-';
  if (typeof v === 'number') return fmtNum(v);
  return String(v).replace(/\|/g, '/').slice(0, 60);
}

function title(s: ScenarioResult): string {
  const p = Object.entries(s.params)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `## ${s.name}${p ? `: ${p}` : ''} (${s.unit}, ${s.higherIsBetter ? 'higher' : 'lower'} is better)`;
}

/** A Markdown table of one case; `columns` picks the extras shown (key -> header). */
export function table(s: ScenarioResult, columns: Record<string, string>): string {
  const ratioHead = s.baseline ? `ratio to ${s.baseline}` : 'ratio';
  const head = [
    'subject',
    `median ${s.unit}`,
    'min - max',
    'runs',
    ...(s.baseline ? [ratioHead] : []),
    ...Object.values(columns),
  ];
  const lines = [title(s), ''];
  if (s.note) lines.push(`${s.note}`, '');
  lines.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
  for (const r of s.results) {
    const row = [r.subject, cell(r.median), `${cell(r.min)} - ${cell(r.max)}`, String(r.runs.length)];
    if (s.baseline) row.push(r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`);
    for (const k of Object.keys(columns)) row.push(cell(r.extra[k]));
    lines.push(`| ${row.join(' | ')} |`);
  }
  for (const k of s.skipped) lines.push(`\nskipped ${k.subject}: ${k.reason}`);
  for (const r of s.results) for (const e of r.errors ?? []) lines.push(`\nerror in a run of ${r.subject}: ${e}`);
  return lines.join('\n');
}
