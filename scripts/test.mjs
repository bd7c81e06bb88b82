// `npm test`: the as-pect specs, then every node:test suite (unit, end-to-end), then one closing
// line `total: N passed, N failed, N skipped[, N expected failures]` that CI reads. A `todo` test
// that fails is an expected failure: counted and named on a line of its own, not a failure (the
// reporter, scripts/test-reporter.mjs, keeps it out of "failing tests"). Exits non-zero when
// anything failed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const totals = { passed: 0, failed: 0, skipped: 0, expectedFailures: 0 };

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 256 << 20 });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return { out: `${r.stdout}\n${r.stderr}`, status: r.status ?? 1 };
}

function count(out, re) {
  const m = [...out.matchAll(re)].pop();
  return m ? Number(m[1]) : 0;
}

// 1. as-pect (AssemblyScript units). Run through lib/test.js with Liftoff off: the `asp` wrapper
//    drops node flags, and the Liftoff canary spec fails on plain node by design.
{
  const { out, status } = run(process.execPath, ['--no-liftoff', 'node_modules/@as-pect/cli/lib/test.js', '--no-logo']);
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
  const QUICK = ['layers', 'owners', 'module', 'vectors', 'reference', 'differential', 'wire-fuzz', 'config.test', 'options', 'inputs.test', 'conventions', 'receiver-ncrx', 'errors', 'bundle', 'locks-cost'];
  if (quick) {
    process.env.NETCONSOLE_FUZZ_RUNS ??= '50';
    process.env.NETCONSOLE_PROPERTY_RUNS ??= '2000';
  }
  const only = quick ? QUICK : process.argv.slice(2);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .sort()
    .map((f) => join('dist', 'test', f));
  const tmp = mkdtempSync(join(tmpdir(), 'netconsole-test-'));
  const summaryFile = join(tmp, 'summary.json');
  const reporter = join(root, 'scripts', 'test-reporter.mjs');
  const { out, status } = run(process.execPath, ['--test', '--test-concurrency=1', `--test-reporter=${reporter}`, ...files], { NETCONSOLE_TEST_SUMMARY: summaryFile });
  let summary = { expectedFailures: [], todoPassed: [] };
  try {
    summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
  } catch {
    // the run died before its reporter finished: counted below as a failure (status)
  }
  rmSync(tmp, { recursive: true, force: true });
  // node:test counts a todo test under `todo` whether it failed or passed.
  const expected = summary.expectedFailures.length;
  const passed = count(out, /^ℹ pass (\d+)/gm) + summary.todoPassed.length;
  const failed = count(out, /^ℹ fail (\d+)/gm) + count(out, /^ℹ cancelled (\d+)/gm);
  const skipped = count(out, /^ℹ skipped (\d+)/gm);
  totals.passed += passed;
  totals.failed += failed + (status !== 0 && failed === 0 ? 1 : 0);
  totals.skipped += skipped;
  totals.expectedFailures += expected;
  console.log(`node:test: ${passed} passed, ${failed} failed, ${skipped} skipped, ${expected} expected failures`);
  if (expected > 0) console.log(`${expected} expected failures (todo): ${summary.expectedFailures.join('; ')}`);
  if (summary.todoPassed.length > 0) console.log(`${summary.todoPassed.length} todo tests passed (is the todo stale?): ${summary.todoPassed.join('; ')}`);
}

const extra = totals.expectedFailures > 0 ? `, ${totals.expectedFailures} expected failures` : '';
console.log(`total: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped${extra}`);
process.exit(totals.failed > 0 ? 1 : 0);
