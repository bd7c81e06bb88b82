// `npm test`: the lint (formatting), the as-pect specs, then every node:test suite (unit,
// end-to-end), each part's output streamed as it runs, then one closing line
// `total: N passed, N failed, N skipped[, N expected failures]` that CI reads (the node:test counts
// from the reporter's summary file, not from the printed text). A `todo` test
// that fails is an expected failure: counted and named on a line of its own, not a failure (the
// reporter, scripts/test-reporter.mjs, keeps it out of "failing tests"). Exits non-zero when
// anything failed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const totals = { passed: 0, failed: 0, skipped: 0, expectedFailures: 0 };

/** Runs `cmd` with its output streamed as it comes (a long suite shows its progress), and kept. */
function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => {
      process.stdout.write(c);
      chunks.push(c);
    });
    child.stderr.on('data', (c) => {
      process.stderr.write(c);
      chunks.push(c);
    });
    child.on('close', (code, signal) =>
      resolve({ out: Buffer.concat(chunks).toString('utf8'), status: code ?? (signal ? 1 : 0) }),
    );
  });
}

// 0. lint (scripts/lint.mjs): formatting, each check one test. Not in the quick tier.
if (process.argv.length <= 2) {
  const { out } = await run(process.execPath, ['scripts/lint.mjs']);
  const m = /^lint: (\d+) passed, (\d+) failed$/m.exec(out);
  totals.passed += m ? Number(m[1]) : 0;
  totals.failed += m ? Number(m[2]) : 1;
}

// 1. as-pect (AssemblyScript units). Run through lib/test.js with Liftoff off: the `asp` wrapper
//    drops node flags, and the Liftoff canary spec fails on plain node by design.
{
  const { out, status } = await run(process.execPath, [
    '--no-liftoff',
    'node_modules/@as-pect/cli/lib/test.js',
    '--no-logo',
  ]);
  const m = [...out.matchAll(/\[Tests\]: *(\d+) *\/ *(\d+)/g)].pop();
  if (m) {
    totals.passed += Number(m[1]);
    totals.failed += Number(m[2]) - Number(m[1]);
  } else {
    totals.failed += 1;
  }
  if (status !== 0 && (!m || m[1] === m[2])) totals.failed += 1;
  console.log(`as-pect: ${m ? m[1] : 0} passed, ${m ? Number(m[2]) - Number(m[1]) : 1} failed`);
}

// 2. node:test suites, compiled by tsc into dist/test.
{
  const dir = join(root, 'dist', 'test');
  // --quick (npm run test:quick): the unit, known-answer and differential suites with bounded
  // fuzzing, about 20 s here; the end-to-end, namespace, fault and soak suites only in the full run.
  const quick = process.argv[2] === '--quick';
  // --coverage (npm run coverage): the quick tier under node's coverage; one line with what the
  // suites ran of the library's own code (dist/src: the compiled TypeScript, so lines of the
  // JavaScript; the WebAssembly and the addon are not counted, nor code run in child processes).
  const coverage = process.argv.includes('--coverage');
  const QUICK = [
    'layers',
    'owners',
    'module',
    'vectors',
    'reference',
    'differential',
    'wire-fuzz',
    'config.test',
    'options',
    'inputs.test',
    'conventions',
    'receiver-ncrx',
    'errors',
    'bundle',
    'locks-cost',
    'runner',
    'speaks-up',
  ];
  if (quick || coverage) {
    process.env.NETCONSOLE_FUZZ_RUNS ??= '50';
    process.env.NETCONSOLE_PROPERTY_RUNS ??= '2000';
  }
  const only = quick || coverage ? QUICK : process.argv.slice(2);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .sort()
    .map((f) => join('dist', 'test', f));
  const tmp = mkdtempSync(join(tmpdir(), 'netconsole-test-'));
  const summaryFile = join(tmp, 'summary.json');
  const reporter = join(root, 'scripts', 'test-reporter.mjs');
  const { status } = await run(
    process.execPath,
    [
      '--test',
      '--test-concurrency=1',
      ...(coverage ? ['--experimental-test-coverage'] : []),
      `--test-reporter=${reporter}`,
      ...files,
    ],
    {
      NETCONSOLE_TEST_SUMMARY: summaryFile,
      // The package's code cache (src/faces/load.ts) of every process that imports 'netconsole'
      // goes here, removed with the rest, not into the home of whoever runs the tests.
      NETCONSOLE_CODE_CACHE: process.env.NETCONSOLE_CODE_CACHE ?? join(tmp, 'code-cache'),
    },
  );
  let summary = null;
  try {
    summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
  } catch {
    // the run died before its reporter finished: a failure (below)
  }
  rmSync(tmp, { recursive: true, force: true });
  summary ??= {
    passed: 0,
    failed: 0,
    cancelled: 0,
    skipped: 0,
    expectedFailures: [],
    todoPassed: [],
    failures: ['the test run ended before its reporter wrote the totals'],
  };
  const expected = summary.expectedFailures.length;
  const { passed, skipped } = summary;
  const failed = summary.failed + summary.cancelled;
  totals.passed += passed;
  // node --test exits non-zero on a failure it did not report as a test's (a file that would not load)
  totals.failed += failed + (status !== 0 && failed === 0 ? 1 : 0);
  totals.skipped += skipped;
  totals.expectedFailures += expected;
  console.log(`node:test: ${passed} passed, ${failed} failed, ${skipped} skipped, ${expected} expected failures`);
  if (expected > 0) console.log(`${expected} expected failures (todo): ${summary.expectedFailures.join('; ')}`);
  const cov = summary.coverage;
  const pct = (a, b) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);
  if (cov)
    console.log(
      `coverage of dist/src (${cov.files} files): lines ${pct(cov.coveredLines, cov.lines)}, branches ${pct(cov.coveredBranches, cov.branches)}, functions ${pct(cov.coveredFunctions, cov.functions)}`,
    );
  if (summary.failures.length > 0) console.log(`failed: ${summary.failures.join('; ')}`);
  if (summary.todoPassed.length > 0)
    console.log(
      `${summary.todoPassed.length} todo tests passed (is the todo stale?): ${summary.todoPassed.join('; ')}`,
    );
}

const extra = totals.expectedFailures > 0 ? `, ${totals.expectedFailures} expected failures` : '';
console.log(`total: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped${extra}`);
process.exit(totals.failed > 0 ? 1 : 0);
