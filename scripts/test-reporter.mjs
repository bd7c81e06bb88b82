// The node:test reporter of `npm test` (scripts/test.mjs): the spec reporter, except that a `todo`
// test that fails is an expected failure, not a failing test. node:test counts it under `todo`,
// but spec prints it with ✖ and lists it again under "failing tests", where it reads as a
// regression. Here it prints as `﹣ name # expected failure (todo: reason): error`, and is left
// out of "failing tests". With NETCONSOLE_TEST_SUMMARY set, the names of the expected failures
// and of the todo tests that passed (their todo may be stale) are written there as JSON.
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
  #summary = { expectedFailures: [], todoPassed: [] };

  constructor() {
    super({ writableObjectMode: true });
    this.#spec.on('data', (chunk) => this.push(chunk));
  }

  _transform(event, _encoding, done) {
    const { type, data } = event;
    const todo = data?.todo !== undefined && data.todo !== false && data.details?.type !== 'suite';
    if (todo && type === 'test:fail') {
      const err = data.details?.error;
      const why = String(err?.cause?.message ?? err?.message ?? err).split('\n')[0];
      const reason = typeof data.todo === 'string' ? `: ${data.todo}` : '';
      this.#summary.expectedFailures.push(where(data));
      event = { type: 'test:pass', data: { ...data, todo: undefined, skip: `expected failure (todo${reason}): ${why}`, details: { ...data.details, error: undefined } } };
    } else if (todo && type === 'test:pass') {
      this.#summary.todoPassed.push(where(data));
    }
    this.#spec.write(event, done);
  }

  _flush(done) {
    if (process.env.NETCONSOLE_TEST_SUMMARY) writeFileSync(process.env.NETCONSOLE_TEST_SUMMARY, JSON.stringify(this.#summary));
    this.#spec.once('end', done);
    this.#spec.end();
  }
}
