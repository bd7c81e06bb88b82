// Hand-written SVG line charts for the results: one line per series, a whisker for each point's
// min-max over the runs, labelled axes with units, linear, logarithmic or category scales.
export interface Point {
  x: number | string;
  y: number;
  lo?: number;
  hi?: number;
}

export interface Series {
  name: string;
  points: Point[];
}

export interface ChartSpec {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  /** category: x values are labels, spaced evenly in the order of `categories`. */
  xScale: 'linear' | 'log' | 'category';
  yScale: 'linear' | 'log';
  categories?: string[];
  series: Series[];
}

const W = 820;
const H = 460;
const M = { left: 90, right: 210, top: 56, bottom: 64 };
const COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#393b79',
  '#637939',
  '#843c39',
];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** 1234567 -> "1.23M"; 0.5 -> "0.5". */
// Moved into the package with netconsole tune (its tables).
export { fmtNum } from '../src/faces/tune/report.js';
import { fmtNum } from '../src/faces/tune/report.js';

interface Axis {
  map(v: number): number;
  ticks: Array<{ v: number; label: string }>;
}

function axis(scale: 'linear' | 'log', values: number[], from: number, to: number): Axis {
  const pos = values.filter((v) => Number.isFinite(v) && (scale === 'linear' || v > 0));
  let lo = pos.length ? Math.min(...pos) : 1;
  let hi = pos.length ? Math.max(...pos) : 10;
  if (scale === 'log') {
    const a = Math.floor(Math.log10(lo));
    const b = Math.max(a + 1, Math.ceil(Math.log10(hi)));
    const ticks: Axis['ticks'] = [];
    for (let e = a; e <= b; e++)
      for (const m of b - a <= 2 ? [1, 2, 5] : [1])
        if (m * 10 ** e <= 10 ** b) ticks.push({ v: m * 10 ** e, label: fmtNum(m * 10 ** e) });
    return { map: (v) => from + ((Math.log10(Math.max(v, 10 ** a)) - a) / (b - a)) * (to - from), ticks };
  }
  lo = Math.min(0, lo);
  if (hi === lo) hi = lo + 1;
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 5));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= 8)!;
  hi = Math.ceil(hi / nice) * nice;
  const ticks: Axis['ticks'] = [];
  for (let v = lo; v <= hi + nice / 2; v += nice) ticks.push({ v, label: fmtNum(v) });
  return { map: (v) => from + ((v - lo) / (hi - lo)) * (to - from), ticks };
}

export function lineChart(spec: ChartSpec): string {
  const px0 = M.left;
  const px1 = W - M.right;
  const py0 = H - M.bottom;
  const py1 = M.top;
  const ys = spec.series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]));
  const yAxis = axis(spec.yScale, ys, py0, py1);
  let xMap: (x: number | string) => number;
  let xTicks: Array<{ v: number | string; label: string }>;
  if (spec.xScale === 'category') {
    const cats = spec.categories ?? [...new Set(spec.series.flatMap((s) => s.points.map((p) => String(p.x))))];
    const step = (px1 - px0) / cats.length;
    xMap = (x) => px0 + step * (cats.indexOf(String(x)) + 0.5);
    xTicks = cats.map((c) => ({ v: c, label: c }));
  } else {
    const xs = [...new Set(spec.series.flatMap((s) => s.points.map((p) => Number(p.x))))].sort((a, b) => a - b);
    const pad = spec.xScale === 'log' ? 1.25 : 0;
    const a = axis(spec.xScale, spec.xScale === 'log' ? [xs[0] / pad, xs[xs.length - 1] * pad] : [0, ...xs], px0, px1);
    xMap = (x) => a.map(Number(x));
    xTicks = xs.map((v) => ({ v, label: fmtNum(v) }));
  }
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(
    `<text x="${W / 2 - M.right / 2 + M.left / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
  );
  if (spec.subtitle)
    out.push(
      `<text x="${W / 2 - M.right / 2 + M.left / 2}" y="40" text-anchor="middle" fill="#555">${esc(spec.subtitle)}</text>`,
    );
  for (const t of yAxis.ticks) {
    const y = yAxis.map(t.v).toFixed(1);
    out.push(`<line x1="${px0}" x2="${px1}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${px0 - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(t.label)}</text>`);
  }
  for (const t of xTicks) {
    const x = xMap(t.v).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${py0}" y2="${py0 + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${py0 + 18}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  out.push(
    `<line x1="${px0}" x2="${px1}" y1="${py0}" y2="${py0}" stroke="#333"/><line x1="${px0}" x2="${px0}" y1="${py0}" y2="${py1}" stroke="#333"/>`,
  );
  out.push(`<text x="${(px0 + px1) / 2}" y="${H - 18}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(
    `<text transform="translate(20 ${(py0 + py1) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}${spec.yScale === 'log' ? ' (log scale)' : ''}</text>`,
  );
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter((p) => Number.isFinite(p.y) && (spec.yScale === 'linear' || p.y > 0));
    if (pts.length > 1)
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${xMap(p.x).toFixed(1)},${yAxis.map(p.y).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const p of pts) {
      const x = xMap(p.x).toFixed(1);
      if (p.lo !== undefined && p.hi !== undefined && p.hi > p.lo)
        out.push(
          `<line x1="${x}" x2="${x}" y1="${yAxis.map(p.lo).toFixed(1)}" y2="${yAxis.map(p.hi).toFixed(1)}" stroke="${color}" stroke-width="1"/>`,
        );
      out.push(
        `<circle cx="${x}" cy="${yAxis.map(p.y).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(`${s.name}: ${fmtNum(p.y)}`)}</title></circle>`,
      );
    }
    const ly = M.top + 10 + i * 20;
    const name = pts.length === 0 && s.points.length > 0 ? `${s.name} (0: not drawn)` : s.name;
    out.push(
      `<line x1="${px1 + 16}" x2="${px1 + 36}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/><text x="${px1 + 42}" y="${ly}" dominant-baseline="middle">${esc(name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
