// The reporter of `npm test` (scripts/test-reporter.mjs, used by scripts/test.mjs): a `todo` test
// that fails is an expected failure, printed as such and not listed under "failing tests" (the
// spec reporter listed it there, beside the real failures); a real failure still is. The totals the
// runner prints come from the reporter's summary (counted from the test events), not from the text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPORTER = fileURLToPath(new URL('../../scripts/test-reporter.mjs', import.meta.url));

const DEMO = `import { before, describe, test } from 'node:test';
test('passes', () => {});
describe('a suite', () => {
  test('known bug', { todo: 'the bug' }, () => { throw new Error('boom'); });
});
test('stale todo', { todo: 'fixed?' }, () => {});
test('skipped', { skip: 'why' }, () => {});
test('real failure', () => { throw new Error('real'); });
describe('broken hook', () => {
  before(() => { throw new Error('hook'); });
  test('never runs', () => {});
});
describe('broken body', () => {
  throw new Error('body');
});
test('parent', (t) => { t.test('left running', async () => { await new Promise((r) => setTimeout(r, 50)); }); });
`;

test("a failing todo test is an expected failure: '﹣ ... # expected failure (todo: reason): error', not under 'failing tests'; a real failure is; the summary file names both kinds of todo", () => {
  const dir = mkdtempSync(join(tmpdir(), 'netconsole-runner-'));
  try {
    writeFileSync(join(dir, 'demo.test.mjs'), DEMO);
    const summaryFile = join(dir, 'summary.json');
    const r = spawnSync(process.execPath, ['--test', `--test-reporter=${REPORTER}`, 'demo.test.mjs'], {
      cwd: dir,
      encoding: 'utf8',
      // Without NODE_TEST_CONTEXT: under `node --test` the child would report to this run instead.
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, NETCONSOLE_TEST_SUMMARY: summaryFile },
      timeout: 60_000,
    });
    assert.equal(r.status, 1, 'the real failure fails the run');
    assert.match(r.stdout, /^ +﹣ known bug \([\d.]+ms\) # expected failure \(todo: the bug\): boom$/m);
    const failing = r.stdout.slice(r.stdout.indexOf('failing tests:'));
    assert.ok(r.stdout.includes('failing tests:'), r.stdout);
    assert.match(failing, /✖ real failure/);
    assert.doesNotMatch(failing, /known bug|boom/, 'the expected failure is not listed among the failing tests');
    // node:test's own counts, and the summary's: the same, but for the suite whose body threw (no
    // test tells that one) and the passed todo test (counted as passed).
    assert.match(r.stdout, /^ℹ pass 1$/m);
    assert.match(r.stdout, /^ℹ fail 2$/m);
    assert.match(r.stdout, /^ℹ cancelled 2$/m);
    assert.match(r.stdout, /^ℹ skipped 1$/m);
    assert.match(r.stdout, /^ℹ todo 2$/m);
    assert.deepEqual(JSON.parse(readFileSync(summaryFile, 'utf8')), {
      passed: 2,
      failed: 3,
      cancelled: 2,
      skipped: 1,
      expectedFailures: ['known bug (demo.test.mjs:4)'],
      todoPassed: ['stale todo (demo.test.mjs:6)'],
      failures: [
        'real failure (demo.test.mjs:8)',
        'never runs (demo.test.mjs:11)',
        'broken body (demo.test.mjs:13)',
        'left running (demo.test.mjs:16)',
        'parent (demo.test.mjs:16)',
      ],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
