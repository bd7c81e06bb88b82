// A small tmpfs for tests of what happens where a file cannot be written: read-only, or full.
//
//   await withTmpfs(t, { size: '16k', readOnly: true }, async (dir) => { ... });
//
// The mount point is a new directory under the system's temporary directory; it is ALWAYS
// unmounted (lazily if it is busy) and removed afterwards, when fn returns and when it throws.
// Needs root (mount(2)); without it the test is skipped, or fails under CI=true (unmet()).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { isRoot } from '../../harness/netns.js';
import { unmet } from './requires.js';

export interface TmpfsOptions {
  /** tmpfs's size= (rounded up to whole pages by the kernel). Default '16k'. */
  size?: string;
  /** Mounted read-only (EROFS on every write). */
  readOnly?: boolean;
  /** Filled up before fn runs: a file `filler` takes every free byte (ENOSPC on the next write). */
  full?: boolean;
}

function run(cmd: string, args: string[]): { ok: boolean; why: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, why: (r.stderr || r.error?.message || `exit ${r.status}`).trim() };
}

/** Runs fn with the path of a fresh tmpfs mount; returns false (test skipped) when none can be made. */
export async function withTmpfs(t: TestContext, o: TmpfsOptions, fn: (dir: string) => Promise<void>): Promise<boolean> {
  if (!isRoot()) return unmet(t, 'needs root to mount a tmpfs');
  const dir = mkdtempSync(join(tmpdir(), 'nc-tmpfs-'));
  const mounted = run('mount', [
    '-t',
    'tmpfs',
    '-o',
    `size=${o.size ?? '16k'},mode=0755${o.readOnly ? ',ro' : ''}`,
    'tmpfs',
    dir,
  ]);
  if (!mounted.ok) {
    rmdirSync(dir);
    return unmet(t, `mount -t tmpfs failed: ${mounted.why}`);
  }
  try {
    if (o.full) {
      try {
        writeFileSync(join(dir, 'filler'), Buffer.alloc(1 << 20));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
    await fn(dir);
  } finally {
    if (!run('umount', [dir]).ok) run('umount', ['-l', dir]);
    rmdirSync(dir);
  }
  return true;
}
