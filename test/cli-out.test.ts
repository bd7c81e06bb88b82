// Where `netconsole tune --out` and `netconsole bench --out` write: checked before anything is
// measured (a directory that is not there, a read-only file system, a full one: exit 2, one line,
// nothing measured, nothing left behind), and written atomically, so that a write that fails when
// it happens leaves no empty or partial file (src/faces/tune/out-file.ts).
// The file systems are small tmpfs mounts the tests make and always unmount (helpers/tmpfs.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAtomically } from '../src/faces/tune/out-file.js';
import { writeTuned } from '../src/faces/tune/main.js';
import { TuneError } from '../src/faces/tune/sweep.js';
import { withTmpfs } from './helpers/tmpfs.js';

const CLI = new URL('../src/faces/cli.js', import.meta.url).pathname;
// Where a check is missing, the measurement that follows is short: one knob every sender has, one run.
const SHORT_TUNE = ['--knobs', 'overflowWaitMs', '--count', '200', '--runs', '1'];
const SHORT_BENCH = ['--smoke', 'boundary'];

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 100_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** Refused before anything ran: exit 2, one line matching `message`, nothing measured (stdout is empty). */
function refused(r: { code: number | null; stdout: string; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr.trimEnd(), message);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stdout, '', 'nothing measured');
}

test('tune --out in a directory that does not exist: refused before measuring', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nc-out-'));
  try {
    const out = join(dir, 'missing', 'tuned.json');
    refused(
      await run(['tune', ...SHORT_TUNE, '--out', out]),
      /^tune: --out .*\/missing\/tuned\.json: the directory .*\/missing does not exist$/,
    );
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tune --out naming a directory: refused before measuring', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nc-out-'));
  try {
    refused(await run(['tune', ...SHORT_TUNE, '--out', dir]), /^tune: --out (.*): \1 is a directory, not a file$/);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'tune --out on a read-only file system: refused before measuring, nothing left',
  { timeout: 120_000 },
  async (t) => {
    await withTmpfs(t, { readOnly: true }, async (dir) => {
      refused(
        await run(['tune', ...SHORT_TUNE, '--out', join(dir, 'tuned.json')]),
        /^tune: --out .*tuned\.json: cannot write in .*: EROFS: read-only file system$/,
      );
      assert.deepEqual(readdirSync(dir), []);
    });
  },
);

test('tune --out on a full file system: refused before measuring, nothing left', { timeout: 120_000 }, async (t) => {
  await withTmpfs(t, { full: true }, async (dir) => {
    refused(
      await run(['tune', ...SHORT_TUNE, '--out', join(dir, 'tuned.json')]),
      /^tune: --out .*tuned\.json: cannot write in .*: ENOSPC: no space left on device$/,
    );
    assert.deepEqual(readdirSync(dir), ['filler']);
  });
});

test(
  'bench --out on a read-only or a full file system, or under a file: refused before measuring, nothing left',
  { timeout: 240_000 },
  async (t) => {
    await withTmpfs(t, { readOnly: true }, async (dir) => {
      refused(
        await run(['bench', ...SHORT_BENCH, '--out', join(dir, 'results')]),
        /^bench: --out .*results: cannot (make|write in) .*EROFS: read-only file system$/,
      );
      assert.deepEqual(readdirSync(dir), []);
    });
    await withTmpfs(t, { full: true }, async (dir) => {
      refused(
        await run(['bench', ...SHORT_BENCH, '--out', join(dir, 'results')]),
        /^bench: --out .*results: cannot write in .*ENOSPC: no space left on device$/,
      );
      assert.deepEqual(readdirSync(dir), ['filler'], 'the directory it made for the results is removed too');
    });
    const dir = mkdtempSync(join(tmpdir(), 'nc-out-'));
    try {
      writeFileSync(join(dir, 'file'), 'x');
      refused(
        await run(['bench', ...SHORT_BENCH, '--out', join(dir, 'file', 'results')]),
        /^bench: --out .*file\/results: cannot make .*ENOTDIR/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

// The write that fails when it happens (the disk filled up while measuring): here, more than the
// file system holds. No partial file, no temporary file; a file that was there stays as it was.
test('writeAtomically on a file system that fills up during the write: nothing left, an existing file unchanged, one line saying why', async (t) => {
  await withTmpfs(t, { size: '16k' }, async (dir) => {
    const file = join(dir, 'tuned.json');
    assert.throws(
      () => writeAtomically(file, 'x'.repeat(64 << 10)),
      (e: unknown) => /^.*tuned\.json: ENOSPC: no space left on device$/.test((e as Error).message),
    );
    assert.deepEqual(readdirSync(dir), [], 'no partial file, no temporary file');
    writeFileSync(file, '{"old":1}\n', { mode: 0o640 });
    assert.throws(() => writeAtomically(file, 'x'.repeat(64 << 10)), /ENOSPC/);
    assert.deepEqual(readdirSync(dir), ['tuned.json']);
    assert.equal(readFileSync(file, 'utf8'), '{"old":1}\n', 'the file that was there is as it was');
    writeAtomically(file, '{"new":1}\n');
    assert.equal(readFileSync(file, 'utf8'), '{"new":1}\n');
    assert.equal(statSync(file).mode & 0o777, 0o640, 'a file replaced keeps its permissions');
    assert.deepEqual(readdirSync(dir), ['tuned.json']);
  });
});

test("the tuner's last step on a full file system: a TuneError in one line with the settings it could not write; no file", async (t) => {
  await withTmpfs(t, { full: true }, async (dir) => {
    const out = join(dir, 'tuned.json');
    await assert.rejects(writeTuned(out, { nativeSender: { batch: 256 } }), (e: unknown) => {
      assert.ok(e instanceof TuneError, String(e));
      assert.match(
        e.message,
        /^cannot write .*tuned\.json: ENOSPC: no space left on device; the settings measured were \{"nativeSender":\{"batch":256\}\}$/,
      );
      return true;
    });
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(dir), ['filler']);
  });
});
