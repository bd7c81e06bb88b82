// The tests' own harness, where a fault would hide failures: a worker that dies fails the command
// waiting on it at once, with its exit code and stderr (test/helpers/json-child.ts); a missing
// native addon skips a test with the reason, and fails it under CI=true (test/helpers/requires.ts);
// scripts/install-native.mjs fails this project's CI install when the addon cannot be built, and
// only warns anywhere else; the C helpers' one compile cache (harness/cc.ts) builds a helper once
// per source and flags, whole, however many processes ask at once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../harness/cc.js';
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

describe('harness/cc.ts: one compile cache for the C helpers', () => {
  const CC = new URL('../harness/cc.js', import.meta.url).href;
  const program = (n: number): string => `#include <stdio.h>\nint main(void) { printf("%d\\n", ${n}); return 0; }\n`;
  const output = (bin: string): string => spawnSync(bin, [], { encoding: 'utf8' }).stdout.trim();

  test('two processes compiling a new helper at once get the same whole binary; an edited source or other flags another', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nc-cc-'));
    const name = `cc-test-${process.pid}-${Date.now()}`;
    const made: string[] = [];
    try {
      writeFileSync(join(dir, `${name}.c`), program(1));
      const both = await Promise.all(
        [0, 1].map(
          () =>
            new Promise<string>((resolve, reject) => {
              const child = nodeChild(
                `const { compile } = await import(${JSON.stringify(CC)}); console.log(compile(${JSON.stringify(name)}, [], '', ${JSON.stringify(dir)}));`,
              );
              let out = '';
              let err = '';
              child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
              child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
              child.once('close', (code) =>
                code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}: ${err}`)),
              );
            }),
        ),
      );
      made.push(both[0]!);
      assert.equal(both[0], both[1], 'one binary for one source and flags');
      assert.equal(output(both[0]!), '1');
      assert.equal(compile(name, [], '', dir), both[0], 'built once: this process finds it');
      const bin = dirname(both[0]!);
      assert.deepEqual(
        readdirSync(bin).filter((f) => f.startsWith(name)),
        [basename(both[0]!)],
        'nothing half-built left beside it',
      );

      const flagged = compile(name, ['-DUNUSED=1'], '', dir);
      made.push(flagged);
      assert.notEqual(flagged, both[0], 'other flags, another binary');

      // A fresh process (this one remembers what it compiled) after the source changed.
      writeFileSync(join(dir, `${name}.c`), program(2));
      const edited = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { compile } = await import(${JSON.stringify(CC)}); console.log(compile(${JSON.stringify(name)}, [], '', ${JSON.stringify(dir)}));`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(edited.status, 0, edited.stderr);
      const again = edited.stdout.trim();
      made.push(again);
      assert.notEqual(again, both[0], 'an edited source, another binary');
      assert.equal(output(again), '2');
      assert.ok(existsSync(both[0]!) && output(both[0]!) === '1', 'the older binary is kept for whoever runs it');
    } finally {
      for (const f of made) rmSync(f, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
