// The lock-order checker costs the application nothing while no configuration runs: the
// AsyncLocalStorage that tracks mutex holders is enabled only while one runs (src/host/locks.ts).
// An enabled one keeps Node's promise hooks on for the whole process, which made every `await` of
// the application about 2.7x slower (Node 20), from the first create() on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const WORKER = new URL('./workers/locks-cost.js', import.meta.url).pathname;

test('after create, configuration changes, stats and close, no AsyncLocalStorage of the library stays enabled', () => {
  const out = execFileSync(process.execPath, [WORKER], {
    encoding: 'utf8',
    env: { ...process.env, NETCONSOLE_NO_NATIVE: undefined },
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { runs: number; instances: number; atRest: number[] };
  // The checker did run (the watch sees it), so its being off at rest is not an accident of a path
  // that never took a mutex.
  assert.ok(r.runs >= 10 && r.instances >= 1, JSON.stringify(r));
  assert.deepEqual(r.atRest, [0, 0, 0, 0, 0], `instances still enabled at each rest point: ${JSON.stringify(r)}`);
});
