// Scenario startup: what a process that logs a line and exits pays for the library, against
// pino (issue 18, item 7). Each run is a fresh process (bench/workers/startup.ts) timed from its
// own start: Node's boot, the import, the set-up (Netconsole.create with one target on loopback;
// pino(destination)), the first line (netconsole: handed to the kernel, and counted here on
// arrival; pino: written to /dev/null, synchronously) and the close. The figure is what the
// issue names, import + set-up + first line + close, from the end of Node's boot: the boot is the
// same Node for both subjects and spreads 58 - 91 ms here in two clusters, which moved a ratio of
// totals between 0.99x and 1.19x from one run to the next while the phases after it did not
// (docs/benchmarks.md). The boot and the total are in the extra columns.
//
// The library is loaded through its code cache (src/faces/load.ts) as an app's every start after
// its first on a machine is: `netconsole`, with the cache in a directory of the case's own, written
// by one process before the runs. `netconsole-first` is the first start (the cache turned off),
// what a process pays where no cache can be kept. Each run's cache status is checked.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Case, Sample, Scenario } from './harness.js';

const WORKER = new URL('./workers/startup.js', import.meta.url).pathname;
const RUNS_NOTE =
  'ms of import + set-up + first line + close (from the end of Node boot), median of the runs; phases, boot and total in ms';

/** What each subject's process is: the worker's subject, and the code cache it must have seen. */
const SUBJECTS: Record<string, { worker: string; cache: 'dir' | 'off' | null; status: string | undefined }> = {
  netconsole: { worker: 'netconsole', cache: 'dir', status: 'used' },
  'netconsole-first': { worker: 'netconsole', cache: 'off', status: 'off' },
  pino: { worker: 'pino', cache: null, status: undefined },
};

async function runOnce(subject: string, cacheDir: string, expect = SUBJECTS[subject]!.status): Promise<Sample> {
  const s = SUBJECTS[subject]!;
  const rx = createSocket('udp4');
  rx.bind(0, '127.0.0.1');
  await once(rx, 'listening');
  let arrived = 0;
  rx.on('message', () => arrived++);
  try {
    const env = { ...process.env };
    if (s.cache !== null) env.NETCONSOLE_CODE_CACHE = s.cache === 'dir' ? cacheDir : 'off';
    const child = spawn(process.execPath, [WORKER, s.worker, String(rx.address().port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0)
      throw new Error(`startup ${subject}: exit ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`);
    const t = JSON.parse(out.trim()) as Record<string, number> & { codeCache?: string };
    if (t.codeCache !== expect) throw new Error(`startup ${subject}: the code cache was ${t.codeCache}, not ${expect}`);
    if (s.worker === 'netconsole') {
      const deadline = Date.now() + 2000;
      while (arrived === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      if (arrived !== 1) throw new Error(`startup ${subject}: ${arrived} datagrams arrived, 1 expected`);
    }
    const round = (x: number): number => Math.round(x * 10) / 10;
    return {
      value: t.total - t.boot,
      extra: {
        boot: round(t.boot),
        import: round(t.import),
        create: round(t.create),
        first: round(t.first),
        close: round(t.close),
        total: round(t.total),
      },
    };
  } finally {
    rx.close();
  }
}

export const scenario: Scenario = {
  name: 'startup',
  about:
    "a fresh process: import + set-up + first line + close, against pino's import + pino(destination) + first line; the library with its code cache and without (a first start)",
  cases(): Case[] {
    let cacheDir = '';
    return [
      {
        scenario: 'startup',
        params: { line: 'one' },
        unit: 'ms',
        higherIsBetter: false,
        baseline: 'pino',
        subjects: Object.keys(SUBJECTS),
        runScale: 2, // a fresh process's figure spreads: the median of 10 in a full run
        note: RUNS_NOTE,
        async around(body) {
          cacheDir = mkdtempSync(join(tmpdir(), 'netconsole-bench-cache-'));
          try {
            await runOnce('netconsole', cacheDir, 'written'); // an app's first start writes the cache
            await body();
          } finally {
            rmSync(cacheDir, { recursive: true, force: true });
          }
        },
        measure: (subject) => runOnce(subject, cacheDir),
      },
    ];
  },
};
