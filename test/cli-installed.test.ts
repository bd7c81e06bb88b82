// The command line as an installed package has it: package.json and the files it lists (dist/src,
// the .wasm, native/ ...), without bench/ or test/ (the tarball has neither), and with its own
// dependencies only. `tune` runs there against the operator's targets (or a loopback sink);
// `bench` is a source checkout's tool: not listed, and asked for, it says where to find it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netconsole } from '../src/host/netconsole.js';
import { Sink } from './helpers/udp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; files: string[] };
let app: string;
let cli: string;

/** The package as npm would install it: the "files" of package.json, from this build. */
before(() => {
  app = mkdtempSync(join(tmpdir(), 'nc-installed-'));
  const pkg = join(app, 'node_modules', 'netconsole');
  mkdirSync(pkg, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  for (const f of PKG.files) if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(pkg, f), { recursive: true });
  // The prebuild `npm pack` would make from this build (prepack runs prebuildify), not one a pack
  // left in this checkout earlier: after a change to the shared memory's layout that one refuses
  // to load ("built for another layout").
  rmSync(join(pkg, 'prebuilds'), { recursive: true, force: true });
  const addon = join(ROOT, 'build', 'Release', 'netconsole.node');
  if (existsSync(addon)) {
    const dir = join(pkg, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(dir, { recursive: true });
    cpSync(addon, join(dir, 'netconsole.node'));
  }
  // Its dependencies, beside it as npm hoists them (commander, node-gyp-build ...): not the devDependencies'.
  for (const dep of ['commander', 'node-gyp-build', 'node-addon-api', 'safe-stable-stringify']) {
    if (existsSync(join(ROOT, 'node_modules', dep)))
      symlinkSync(join(ROOT, 'node_modules', dep), join(app, 'node_modules', dep));
  }
  cli = join(pkg, 'dist', 'src', 'faces', 'cli.js');
  assert.ok(existsSync(cli), 'the CLI is in the files the package lists');
  assert.ok(!existsSync(join(pkg, 'dist', 'bench')), 'no bench/ in the package');
});
after(() => rmSync(app, { recursive: true, force: true }));

function run(args: string[], timeout = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { cwd: app, timeout, maxBuffer: 16 << 20, env: { ...process.env, NETCONSOLE: '' } },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

test('installed: --version prints the package version', async () => {
  assert.deepEqual(await run(['--version']), { code: 0, stdout: `${PKG.version}\n`, stderr: '' });
});

test('installed: --help lists tune, not bench', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}tune /m);
  assert.doesNotMatch(r.stdout, /^ {2}bench /m);
});

test('installed: bench says, in one line, that it is a source checkout tool; exit 2', async () => {
  const r = await run(['bench', '--quick']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^netconsole: ENOENT: bench: the benchmarks are not in the package .*npm run bench/);
});

test('installed: tune --help prints its options, exit 0', async () => {
  const r = await run(['tune', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^usage: netconsole tune \[options\]/);
  assert.match(r.stdout, /--target <param>/);
});

for (const where of ['a --target', 'no target (a loopback sink)']) {
  test(
    `installed: a short tune run to ${where} measures, and writes a config file Netconsole.create loads`,
    { timeout: 120_000 },
    async () => {
      const sink = await Sink.open();
      try {
        const out = join(app, `tuned-${where.length}.json`);
        const target = `+@/,${sink.port}@127.0.0.1/`;
        const r = await run(
          [
            'tune',
            '--knobs',
            'overflowWaitMs',
            '--count',
            '500',
            '--runs',
            '1',
            '--out',
            out,
            ...(where === 'a --target' ? ['--target', target] : []),
          ],
          100_000,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^measured: messages handed to the kernel\/s/m);
        assert.match(r.stdout, /^## tune: knob overflowWaitMs /m);
        assert.match(r.stdout, /^wrote /m);
        const file = JSON.parse(readFileSync(out, 'utf8')) as { targets?: string };
        assert.equal(file.targets, where === 'a --target' ? target : undefined);
        const nc = await Netconsole.create({ config: out, env: false, devices: 'none' });
        await nc.close();
        if (where === 'a --target')
          assert.ok(sink.got.length >= 500, `the runs sent to the target: ${sink.got.length} datagrams`);
      } finally {
        await sink.close();
      }
    },
  );
}
