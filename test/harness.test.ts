// The tests' own harness, where a fault would hide failures: a worker that dies fails the command
// waiting on it at once, with its exit code and stderr (test/helpers/json-child.ts); a missing
// native addon skips a test with the reason, and fails it under CI=true (test/helpers/requires.ts);
// scripts/install-native.mjs fails this project's CI install when the addon cannot be built, and
// only warns anywhere else.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonChild } from './helpers/json-child.js';

const REQUIRES = new URL('./helpers/requires.js', import.meta.url).href;
const INSTALL = fileURLToPath(new URL('../../scripts/install-native.mjs', import.meta.url));

/** A node child running `script` (ES module) with stdio piped. */
const nodeChild = (script: string, env: NodeJS.ProcessEnv = {}) =>
  spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });

describe('JsonChild: commands of a worker that ends', () => {
  for (const [how, script, want] of [
    [
      'exits 3 after a line on stderr',
      "process.stderr.write('boom on stderr\\n'); process.exit(3);",
      /code 3, signal null.*boom on stderr/s,
    ],
    ['is killed (SIGKILL)', "process.kill(process.pid, 'SIGKILL');", /code null, signal SIGKILL/],
  ] as const) {
    test(`a worker that ${how} while two commands wait: both are rejected at once with how it ended`, async () => {
      const child = new JsonChild('worker', nodeChild(`process.stdin.once('data', () => { ${script} });`), 60_000);
      const t0 = Date.now();
      const results = await Promise.allSettled([child.request('first'), child.request('second')]);
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.match((r as PromiseRejectedResult).reason.message, /worker ended before replying to "(first|second)"/);
        assert.match((r as PromiseRejectedResult).reason.message, want);
      }
      assert.ok(Date.now() - t0 < 30_000, 'not by the 60 s timeout');
      await assert.rejects(child.request('third'), /has ended/);
    });
  }

  test('replies go to the commands in order; other lines are kept; an error reply makes ok() throw', async () => {
    const child = new JsonChild(
      'echo',
      nodeChild(`
        import { createInterface } from 'node:readline';
        console.log(JSON.stringify({ ready: true }));
        createInterface({ input: process.stdin }).on('line', (l) => {
          console.log(JSON.stringify({ event: l }));
          console.log(l === 'bad' ? JSON.stringify({ reply: l, error: { code: 'EINVAL', message: 'no' } }) : JSON.stringify({ reply: l, n: l.length }));
        });`),
    );
    assert.deepEqual(await child.ready(), { ready: true });
    const [a, b] = await Promise.all([child.request('a'), child.request('bbb')]);
    assert.deepEqual(
      [a, b],
      [
        { reply: 'a', n: 1 },
        { reply: 'bbb', n: 3 },
      ],
    );
    await assert.rejects(child.ok('bad'), /bad: \{"code":"EINVAL","message":"no"\}/);
    assert.deepEqual(child.lines, [{ ready: true }, { event: 'a' }, { event: 'bbb' }, { event: 'bad' }]);
    await child.stop();
    assert.deepEqual(child.exit, { code: 0, signal: null });
  });
});

describe('requireNative', () => {
  /** requireNative in a child with the addon forced off (NETCONSOLE_NO_NATIVE=1): what it did. */
  const withoutAddon = (ci: string) =>
    spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { requireNative } = await import(${JSON.stringify(REQUIRES)});
         const t = { skip: (r) => console.log(JSON.stringify({ skipped: r })) };
         try { console.log(JSON.stringify({ returned: requireNative(t) })); } catch (e) { console.log(JSON.stringify({ threw: e.message })); }`,
      ],
      { encoding: 'utf8', env: { ...process.env, NETCONSOLE_NO_NATIVE: '1', CI: ci } },
    )
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  for (const ci of ['', 'true']) {
    test(`without the addon, CI=${JSON.stringify(ci)}: ${ci === 'true' ? 'throws (the test fails)' : 'skips with the reason and returns false'}`, () => {
      const got = withoutAddon(ci);
      if (ci === 'true') {
        assert.equal(got.length, 1, JSON.stringify(got));
        assert.match(
          String(got[0]!.threw),
          /^CI=true and this test cannot run: needs the native addon .*NETCONSOLE_NO_NATIVE=1/,
        );
      } else {
        assert.deepEqual(
          got.map((o) => Object.keys(o)[0]),
          ['skipped', 'returned'],
          JSON.stringify(got),
        );
        assert.match(String(got[0]!.skipped), /needs the native addon .*NETCONSOLE_NO_NATIVE=1/);
        assert.equal(got[1]!.returned, false);
      }
    });
  }
});

describe('scripts/install-native.mjs when the build fails', () => {
  /** The script in a stand-in package whose node-gyp-build fails; its exit code. */
  const install = (env: NodeJS.ProcessEnv): number | null => {
    const root = mkdtempSync(join(tmpdir(), 'nc-install-'));
    try {
      mkdirSync(join(root, 'scripts'));
      mkdirSync(join(root, 'node_modules', 'node-gyp-build'), { recursive: true });
      copyFileSync(INSTALL, join(root, 'scripts', 'install-native.mjs'));
      writeFileSync(join(root, 'node_modules', 'node-gyp-build', 'bin.js'), 'process.exit(1);\n');
      const e: NodeJS.ProcessEnv = { ...process.env, CI: '', NETCONSOLE_NO_NATIVE: '', INIT_CWD: root, ...env };
      for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
      return spawnSync(process.execPath, [join(root, 'scripts', 'install-native.mjs')], { stdio: 'ignore', env: e })
        .status;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
  const cases: Array<[string, NodeJS.ProcessEnv, number]> = [
    ["this project's install, CI=true: exit 1", { CI: 'true' }, 1],
    ['run by hand (no INIT_CWD), CI=true: exit 1', { CI: 'true', INIT_CWD: undefined }, 1],
    ["this project's install, no CI: a warning, exit 0", {}, 0],
    [
      "a dependent project's install (INIT_CWD elsewhere), CI=true: a warning, exit 0",
      { CI: 'true', INIT_CWD: tmpdir() },
      0,
    ],
    ['NETCONSOLE_NO_NATIVE=1, CI=true: not attempted, exit 0', { CI: 'true', NETCONSOLE_NO_NATIVE: '1' }, 0],
  ];
  for (const [what, env, code] of cases) {
    test(what, () => assert.equal(install(env), code));
  }
});

describe('CSink: a receiver never outlives its test', () => {
  const CSINK = new URL('./helpers/csink.js', import.meta.url).href;
  const NETNS = new URL('../harness/netns.js', import.meta.url).href;
  for (const where of ['on loopback', 'in a namespace'] as const) {
    test(`a test process that ends before done() (${where}) takes its receiver with it`, async (t) => {
      if (where === 'in a namespace') {
        const { requireRoot } = (await import(REQUIRES)) as typeof import('./helpers/requires.js');
        if (!requireRoot(t)) return;
      }
      // The child opens a sink that would wait for datagrams forever, prints its pid, and exits
      // (as a test process does when a test failed before done()).
      const open =
        where === 'on loopback'
          ? `const s = await CSink.open({ idleMs: 100 }); console.log(s.pid); process.exit(1);`
          : `await withNetns(['b'], async (ns) => { const s = await CSink.open({ ns: { handle: ns, name: 'b' }, idleMs: 100 }); console.log(s.pid); throw new Error('failed'); }).catch(() => process.exit(1));`;
      const child = nodeChild(
        `import { CSink } from ${JSON.stringify(CSINK)}; import { withNetns } from ${JSON.stringify(NETNS)}; ${open}`,
      );
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise((r) => child.once('close', r));
      assert.equal(code, 1);
      const pid = Number(out.trim());
      assert.ok(pid > 0, `the child printed the sink's pid (${out})`);
      let alive = true;
      for (let i = 0; i < 100 && alive; i++) {
        try {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 20));
        } catch {
          alive = false;
        }
      }
      assert.equal(alive, false, `csink ${pid} is gone`);
    });
  }
});
