// The charts drawn from a run's results (each only when its scenario ran):
//   e2e-size.svg       delivered messages/s against text size (e2e, loopback, burst)
//   write-path-size.svg records/s against text size (write-path)
//   threads.svg        records/s against writer threads (threads)
//   latency.svg        log call latency percentiles per phase (latency)
//   e2e-latency.svg    log call latency percentiles per subject during the burst (e2e, loopback, 100 B)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Results, ScenarioResult } from './results.js';
import { lineChart, type Series } from './svg.js';

/** One series per subject across cases, x taken from a param. */
function bySubject(cases: ScenarioResult[], x: string): Series[] {
  const map = new Map<string, Series>();
  for (const c of cases) {
    for (const r of c.results) {
      if (!map.has(r.subject)) map.set(r.subject, { name: r.subject, points: [] });
      map.get(r.subject)!.points.push({ x: Number(c.params[x]), y: r.median, lo: r.min, hi: r.max });
    }
  }
  for (const s of map.values()) s.points.sort((a, b) => Number(a.x) - Number(b.x));
  return [...map.values()];
}

const PCTS: Array<[string, string]> = [
  ['p50', 'p50'],
  ['p99', 'p99'],
  ['p99.9', 'p999'],
  ['max', 'max'],
];

export function drawCharts(results: Results, dir: string): string[] {
  const written: string[] = [];
  const put = (name: string, svg: string): void => {
    writeFileSync(join(dir, name), svg);
    written.push(name);
  };
  const of = (name: string): ScenarioResult[] =>
    results.scenarios.filter((s) => s.name === name && s.results.length > 0);
  const when = `${results.date.slice(0, 10)}, node ${results.node}, ${results.machine.cpus} CPUs, ${results.profile} run; whiskers: min-max over runs`;

  // e2e: for each size the loopback burst case with the most subjects (not the large bursts).
  const bursts = new Map<number, ScenarioResult>();
  for (const c of of('e2e').filter((c) => c.params.path === 'loopback' && c.params.shape === 'burst')) {
    const prev = bursts.get(Number(c.params.size));
    if (!prev || c.results.length > prev.results.length) bursts.set(Number(c.params.size), c);
  }
  if (bursts.size > 0) {
    put(
      'e2e-size.svg',
      lineChart({
        title: 'End to end: messages delivered whole per second (loopback, burst)',
        subtitle: when,
        xLabel: 'message text size (bytes)',
        yLabel: 'delivered messages/s',
        xScale: 'log',
        yScale: 'log',
        series: bySubject([...bursts.values()], 'size'),
      }),
    );
    const small = bursts.get(Math.min(...bursts.keys()))!;
    const series = small.results
      .filter((r) => typeof r.extra.latP50Ns === 'number')
      .map((r) => ({
        name: r.subject,
        points: PCTS.map(([label, k]) => ({
          x: label,
          y: r.extra[`lat${k[0].toUpperCase()}${k.slice(1)}Ns`] as number,
        })),
      }));
    if (series.length > 0) {
      put(
        'e2e-latency.svg',
        lineChart({
          title: `Log call latency during a burst (${small.params.size} B, ${small.params.count} calls)`,
          subtitle: `${when}; every 8th call timed`,
          xLabel: 'percentile',
          yLabel: 'log call latency, ns',
          xScale: 'category',
          categories: PCTS.map(([l]) => l),
          yScale: 'log',
          series,
        }),
      );
    }
  }
  const wp = of('write-path');
  if (wp.length > 0)
    put(
      'write-path-size.svg',
      lineChart({
        title: 'Write path: records per second, one thread',
        subtitle: when,
        xLabel: 'message text size (bytes)',
        yLabel: 'records/s',
        xScale: 'log',
        yScale: 'log',
        series: bySubject(wp, 'size'),
      }),
    );
  const th = of('threads');
  if (th.length > 0)
    put(
      'threads.svg',
      lineChart({
        title: 'Writer threads into one Netconsole: records per second',
        subtitle: when,
        xLabel: 'writer threads (worker_threads)',
        yLabel: 'records/s (all threads)',
        xScale: 'linear',
        yScale: 'linear',
        series: bySubject(th, 'threads'),
      }),
    );
  const lat = of('latency');
  if (lat.length > 0) {
    const series = lat.map((c) => ({
      name: [c.params.phase, c.params.overflow].filter(Boolean).join(', overflow '),
      points: PCTS.map(([label, k]) => ({ x: label, y: c.results[0].extra[k] as number })),
    }));
    put(
      'latency.svg',
      lineChart({
        title: 'Log call latency from a worker thread',
        subtitle: when,
        xLabel: 'percentile',
        yLabel: 'log call latency, ns',
        xScale: 'category',
        categories: PCTS.map(([l]) => l),
        yScale: 'log',
        series,
      }),
    );
  }
  return written;
}
