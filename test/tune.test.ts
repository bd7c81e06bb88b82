// netconsole tune (src/faces/tune/, through the CLI): the smallest run (one knob, one run, a few
// thousand messages) prints a table per knob and the comparison with the defaults, and writes a
// config file that Netconsole.create({ config }) loads as is: with the targets given, and the
// options of a --config file carried over. A bad command line is refused before anything runs.
// The rule that decides (a value is kept only beyond the run-to-run spread, and so is the
// combination) is checked on made-up figures.
// Figures are not checked (this machine is shared): which setting wins is not the test's business.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netconsole, type NetconsoleOptions } from '../src/index.js';
import { native } from '../src/core/native.js';
import { Progress } from '../src/faces/tune/report.js';
import { KNOBS, sweep, TuneError, type Figure } from '../src/faces/tune/sweep.js';

const CLI = new URL('../src/faces/cli.js', import.meta.url).pathname;
// The native sender's batch where the addon loaded (the test's knob has three values), else a knob every sender has.
const [KNOB, OPTION, VALUES] = native
  ? ['batch', 'nativeSender.batch', ['64 (default)', '16', '256']]
  : ['overflowWaitMs', 'overflowWaitMs', ['500 ms (default)', '100 ms']];

function tune(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'tune', ...args],
      { timeout: 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** The rows of the Markdown table under `title`: the cells of each. */
function rows(stdout: string, title: string): string[][] {
  const lines = stdout.split('\n');
  const at = lines.indexOf(title);
  assert.ok(at >= 0, `no table "${title}" in:\n${stdout}`);
  const table = lines.slice(at + 2);
  const end = table.findIndex((l) => !l.startsWith('|'));
  return table.slice(2, end).map((l) =>
    l
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim()),
  );
}

const where: Array<[string, (dir: string, port: number) => string[], string]> = [
  ['a sink on loopback (no targets)', () => [], 'messages handed to the kernel/s'],
  ['a --target', (_, port) => ['--target', `+@/,${port}@127.0.0.1/`], 'messages handed to the kernel/s'],
  [
    'a --config with targets and options',
    (dir, port) => {
      const file = join(dir, 'in.json');
      writeFileSync(file, JSON.stringify({ targets: `+@/,${port}@127.0.0.1/`, facility: 3 }));
      return ['--config', file];
    },
    'messages handed to the kernel/s',
  ],
];

for (const [name, args, unit] of where) {
  test(
    `tune --knobs ${KNOB} --count 2000 --runs 1 to ${name}: a table per knob, a verdict, a config file Netconsole.create loads`,
    { timeout: 90_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nctune-'));
      const sink = createSocket('udp4');
      await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
      try {
        const port = sink.address().port;
        const out = join(dir, 'tuned.json');
        const r = await tune(['--knobs', KNOB, '--count', '2000', '--runs', '1', '--out', out, ...args(dir, port)]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^measured: ${unit}`, 'm'));
        const knob = rows(r.stdout, `## tune: knob ${OPTION} (${unit}, higher is better)`);
        assert.deepEqual(
          knob.map((c) => c[0]),
          VALUES,
        );
        for (const c of knob) {
          assert.equal(c[3], '1', `${c[0]}: one run`);
          assert.match(c[4], /^\d+\.\d\dx$/, `${c[0]}: a ratio to the default`);
        }
        assert.equal(knob[0][4], '1.00x');
        assert.match(r.stdout, /^-> .*(kept|the default kept)/m);
        assert.match(r.stdout, /^(best: .* the defaults'|nothing beats the defaults beyond the run-to-run spread)/m);
        const file = JSON.parse(readFileSync(out, 'utf8')) as NetconsoleOptions;
        if (!name.startsWith('a sink')) assert.equal(file.targets, `+@/,${port}@127.0.0.1/`);
        if (name.includes('--config')) assert.equal(file.facility, 3);
        const nc = await Netconsole.create({ config: out, env: false, devices: 'none' });
        try {
          assert.equal(nc.targets.list().length, file.targets === undefined ? 0 : 1);
        } finally {
          await nc.close();
        }
      } finally {
        sink.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

const refused: Array<[string[], RegExp]> = [
  [['--knobs', 'ringsize'], /unknown knob ringsize: ringSize, batch/],
  [['--size', '100,0'], /--size must be an integer 1\.\.60000, got 0/],
  [['--goal', 'latency'], /--goal must be rate or cpu/],
  [['--target', '+@/,6666@not-an-ip/'], /the targets cannot be used/],
  [['--config', '{"ringsize":1048576}'], /did you mean 'ringSize'/],
  // A negative number is the value of the option before it (node's parseArgs called it "ambiguous").
  [['--count', '-5'], /^tune: --count must be an integer 1\.\.1000000000, got -5$/],
  [['--runs', '-1'], /^tune: --runs must be an integer 1\.\.1000, got -1$/],
  [['--rate', '-100'], /^tune: --rate must be an integer 0\.\.100000000, got -100$/],
  [['--threads', '-2'], /^tune: --threads must be an integer 0\.\.64, got -2$/],
  [['--size', '-100,200'], /^tune: --size must be an integer 1\.\.60000, got -100$/],
  // An empty value is not 0.
  [['--rate', ''], /^tune: --rate must be an integer 0\.\.100000000, got ""$/],
  [['--threads', ' '], /^tune: --threads must be an integer 0\.\.64, got " "$/],
];
for (const [args, message] of refused) {
  test(`tune ${args.map((a) => JSON.stringify(a)).join(' ')}: refused before anything runs, exit 2, one line saying why`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nctune-'));
    try {
      const a = args[0] === '--config' ? ['--config', join(dir, 'bad.json')] : args;
      if (args[0] === '--config') writeFileSync(a[1], args[1]);
      const r = await tune([...a, '--out', join(dir, 'out.json')]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr.trimEnd(), message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.equal(r.stdout, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// Made-up figures per nativeSender.batch value, one per run (3 runs, interleaved): whether 256 (or
// 16, where lower is better) is kept depends only on whether its range overlaps the default's.
const rules: Array<[string, boolean, Record<number, number[]>, string[]]> = [
  [
    'higher is better, 256 beyond the spread',
    true,
    { 64: [100, 110, 105], 16: [90, 95, 92], 256: [120, 125, 130] },
    ['nativeSender.batch 256'],
  ],
  [
    'higher is better, 256 better but within the spread',
    true,
    { 64: [100, 110, 105], 16: [90, 95, 92], 256: [108, 125, 130] },
    [],
  ],
  [
    'lower is better, 16 beyond the spread',
    false,
    { 64: [100, 110, 105], 16: [80, 85, 82], 256: [120, 125, 130] },
    ['nativeSender.batch 16'],
  ],
];
for (const [name, higherIsBetter, figures, kept] of rules) {
  test(`sweep, ${name}: kept ${kept.join(', ') || 'nothing'}`, async () => {
    const calls = new Map<number, number>();
    const figure: Figure = { unit: 'u', higherIsBetter, columns: {}, of: () => assert.fail('no runs here') };
    const quiet = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
    const lines: string[] = [];
    const outcome = await sweep(
      {
        knobs: KNOBS.filter((k) => k.name === 'batch'),
        quick: false,
        base: { facility: 3 },
        runs: 3,
        figure,
        async measure(o) {
          const batch = o.nativeSender?.batch ?? 64;
          const n = calls.get(batch) ?? 0;
          calls.set(batch, n + 1);
          return { value: figures[batch][n % 3] };
        },
      },
      new Progress(0, quiet),
      (l) => lines.push(l),
    );
    assert.deepEqual(outcome.changes, kept);
    assert.equal(outcome.final?.won ?? false, kept.length > 0, lines.join('\n'));
    const batch = kept.length > 0 ? Number(kept[0].split(' ')[1]) : undefined;
    assert.deepEqual(outcome.options, batch === undefined ? { facility: 3 } : { facility: 3, nativeSender: { batch } });
  });
}

test('sweep: a default that cannot be measured stops the tuner (TuneError, with the reason), instead of a verdict', async () => {
  const figure: Figure = { unit: 'u', higherIsBetter: true, columns: {}, of: () => assert.fail('no runs here') };
  const quiet = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
  const lines: string[] = [];
  const run = sweep(
    {
      knobs: KNOBS.filter((k) => k.name === 'batch'),
      quick: false,
      base: {},
      runs: 2,
      figure,
      async measure(o) {
        if ((o.nativeSender?.batch ?? 64) === 64) throw new Error('the sender exited early');
        return { value: 1 };
      },
    },
    new Progress(0, quiet),
    (l) => lines.push(l),
  );
  await assert.rejects(
    run,
    (e: unknown) =>
      e instanceof TuneError &&
      /defaults could not be measured \(nativeSender\.batch: .*the sender exited early/.test(e.message),
  );
  assert.ok(!lines.some((l) => /nothing beats/.test(l)), 'no verdict');
});

test('tune with an unknown option: the error and a hint to --help, two lines (was the whole usage), exit 2', async () => {
  const r = await tune(['--frob']);
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(r.stderr.trimEnd().split('\n'), ["tune: Unknown option '--frob'", 'see netconsole tune --help']);
  assert.equal(r.stdout, '');
});
