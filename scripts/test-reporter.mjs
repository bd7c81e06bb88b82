// The node:test reporter of `npm test` (scripts/test.mjs): the spec reporter, except that a `todo`
// test that fails is an expected failure, not a failing test. node:test counts it under `todo`,
// but spec prints it with ✖ and lists it again under "failing tests", where it reads as a
// regression. Here it prints as `﹣ name # expected failure (todo: reason): error`, and is left
// out of "failing tests". With NETCONSOLE_TEST_SUMMARY set, the totals (tests, not suites: passed,
// failed, cancelled, skipped) and the names of the expected failures and of the todo tests that
// passed (their todo may be stale) are written there as JSON: the runner reads them there, not
// from the printed text.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Transform } from 'node:stream';
import { spec as Spec } from 'node:test/reporters';

/** `name (file:line)`, the file relative to the working directory (the checkout). */
function where(data) {
  return `${data.name} (${data.file ? relative(process.cwd(), data.file) : '?'}:${data.line ?? '?'})`;
}

export default class ExpectedFailures extends Transform {
  #spec = new Spec();
  #summary = { passed: 0, failed: 0, cancelled: 0, skipped: 0, expectedFailures: [], todoPassed: [], failures: [] };

  constructor() {
    super({ writableObjectMode: true });
    this.#spec.on('data', (chunk) => this.push(chunk));
  }

  _transform(event, _encoding, done) {
    const { type, data } = event;
    const todo = data?.todo !== undefined && data.todo !== false && data.details?.type !== 'suite';
    if (type === 'test:coverage') this.#coverage(data.summary);
    if ((type === 'test:pass' || type === 'test:fail') && data.details?.type !== 'suite') this.#count(type, data, todo);
    else if (type === 'test:fail') this.#suiteFailed(data);
    if (todo && type === 'test:fail') {
      const err = data.details?.error;
      const why = String(err?.cause?.message ?? err?.message ?? err).split('\n')[0];
      const reason = typeof data.todo === 'string' ? `: ${data.todo}` : '';
      this.#summary.expectedFailures.push(where(data));
      event = {
        type: 'test:pass',
        data: {
          ...data,
          todo: undefined,
          skip: `expected failure (todo${reason}): ${why}`,
          details: { ...data.details, error: undefined },
        },
      };
    } else if (todo && type === 'test:pass') {
      this.#summary.todoPassed.push(where(data));
    }
    this.#spec.write(event, done);
  }

  // node:test's own counts: a test (not a suite) that passed, was skipped, failed or was cancelled
  // (a test its parent's failure or the file's end cut short). A todo test is counted by the
  // runner from the two lists: passed if it passed, an expected failure if it failed.
  #count(type, data, todo) {
    if (todo) {
      if (type === 'test:pass') this.#summary.passed++;
      return;
    }
    if (type === 'test:pass') {
      if (data.skip !== undefined && data.skip !== false) this.#summary.skipped++;
      else this.#summary.passed++;
    } else if (data.details?.error?.failureType === 'cancelledByParent') {
      this.#summary.cancelled++;
      this.#summary.failures.push(where(data));
    } else {
      this.#summary.failed++;
      this.#summary.failures.push(where(data));
    }
  }

  // A suite fails when a test in it failed (counted there), when a hook threw (its tests fail with
  // it: counted there; a failing after() hook shows only in the exit status, which the runner
  // reads), or when its own body threw: then no test tells it, and it counts as one failure.
  #suiteFailed(data) {
    if (data.details?.error?.failureType === 'testCodeFailure') {
      this.#summary.failed++;
      this.#summary.failures.push(where(data));
    }
  }

  // With --experimental-test-coverage (npm run coverage): the library's own files (dist/src), not
  // the tests and their helpers, summed, per run of node --test.
  #coverage(summary) {
    const c = (this.#summary.coverage ??= {
      files: 0,
      lines: 0,
      coveredLines: 0,
      branches: 0,
      coveredBranches: 0,
      functions: 0,
      coveredFunctions: 0,
    });
    for (const f of summary?.files ?? []) {
      if (!f.path.includes('/dist/src/')) continue;
      c.files++;
      c.lines += f.totalLineCount;
      c.coveredLines += f.coveredLineCount;
      c.branches += f.totalBranchCount;
      c.coveredBranches += f.coveredBranchCount;
      c.functions += f.totalFunctionCount;
      c.coveredFunctions += f.coveredFunctionCount;
    }
  }

  _flush(done) {
    if (process.env.NETCONSOLE_TEST_SUMMARY)
      writeFileSync(process.env.NETCONSOLE_TEST_SUMMARY, JSON.stringify(this.#summary));
    this.#spec.once('end', done);
    this.#spec.end();
  }
}
