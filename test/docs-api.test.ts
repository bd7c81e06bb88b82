// docs/api/ is generated from the types (`npm run docs:api`, TypeDoc with its markdown plugin) and
// committed, so that it reads on the registry and in the repository without a build. This keeps it
// true: the reference generated now from src/ must be the one committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO } from './helpers/vectors.js';

const root = fileURLToPath(REPO);

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

test('docs/api is the reference TypeDoc generates from the current types (npm run docs:api)', () => {
  const out = mkdtempSync(join(tmpdir(), 'nc-api-'));
  try {
    const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const now = files(out);
    const committed = files(join(root, 'docs', 'api'));
    assert.deepEqual([...committed.keys()].sort(), [...now.keys()].sort(), 'the same pages');
    for (const [name, text] of now)
      assert.equal(committed.get(name), text, `docs/api/${name} is stale: run npm run docs:api`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
