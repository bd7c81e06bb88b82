// The package as an app gets it: the tarball `npm pack` makes, installed from npm's cache into
// fresh apps in a temporary directory, where ESM, CommonJS and strict TypeScript programs log to a
// UDP receiver this test runs, and the test counts what arrived.
//
// The tarball is packed with --ignore-scripts from the dist/ `npm test` has just built (prepack
// would build it again, and prebuildify would rebuild this checkout's addon). Its prebuild is made
// once, by the first app's install: with no prebuild in the tarball, the install script builds the
// addon from source; that addon, put where prebuildify puts one (prebuilds/<platform>-<arch>/),
// is the prebuild the next tarball carries. Apps are plain `npm init` apps, so npm hoists the
// package's dependencies (node-gyp-build among them) to the app's node_modules.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installApp, npmEnv, run, senderLine, told } from './helpers/pack.js';
import { unmet } from './helpers/requires.js';
import { Sink } from './helpers/udp.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const TYPES = join(REPO, 'node_modules', '@types');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const PLATFORM = `${process.platform}-${process.arch}`;
/** Messages each program logs. */
const N = 50;

// Each program logs N messages `<label> <i>` (label: argv[3]) to the target given as argv[2], closes (which flushes),
// and prints the sender that carried them.
const PROGRAMS = {
  'esm.mjs': `import { Netconsole } from 'netconsole';
const nc = await Netconsole.create({ targets: process.argv[2] });
for (let i = 0; i < ${N}; i++) nc.info(\`\${process.argv[3]} \${i}\`);
await nc.close();
console.log(JSON.stringify({ sender: nc.stats().sender }));
`,
  'cjs.cjs': `const { Netconsole } = require('netconsole');
// Every entry that needs no peer dependency loads by require() too (none has a top-level await).
require('netconsole/wire');
require('netconsole/console');
require('netconsole/pino');
Netconsole.create({ targets: process.argv[2] }).then(async (nc) => {
  for (let i = 0; i < ${N}; i++) nc.info(\`\${process.argv[3]} \${i}\`);
  await nc.close();
  console.log(JSON.stringify({ sender: nc.stats().sender }));
});
`,
  'ts.mts': `import { Netconsole, type Stats } from 'netconsole';
const nc: Netconsole = await Netconsole.create({ targets: process.argv[2] });
for (let i = 0; i < ${N}; i++) nc.info(\`\${process.argv[3]} \${i}\`);
await nc.close();
const stats: Stats = nc.stats();
console.log(JSON.stringify({ sender: stats.sender }));
`,
  'cts.cts': `import netconsole = require('netconsole');
netconsole.Netconsole.create({ targets: process.argv[2] }).then(async (nc: netconsole.Netconsole) => {
  for (let i = 0; i < ${N}; i++) nc.info(\`\${process.argv[3]} \${i}\`);
  await nc.close();
  console.log(JSON.stringify({ sender: nc.stats().sender }));
});
`,
};

const TSCONFIG = {
  compilerOptions: {
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    strict: true,
    // A Node app's lib, without the DOM (as @tsconfig/node20): the package's .d.ts files must not
    // need it (WebAssembly's types are declared only there: core/wasm-types.ts).
    lib: ['ES2022'],
    // The package's .d.ts files are checked too (no skipLibCheck), against this checkout's @types/node.
    // No global types, as TypeScript 6 and later assume when `types` is unset: the package's
    // declarations must bring @types/node themselves (/// <reference types="node" />), and the
    // programs' own `process` comes through them.
    types: [],
    typeRoots: [TYPES],
    outDir: 'out',
  },
  files: ['ts.mts', 'cts.cts'],
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

describe('the packed tarball, installed into fresh apps', { timeout: 600_000 }, () => {
  let tmp = '';
  let sink: Sink;
  let stage = ''; // the tarball unpacked: <stage>/package
  let bare = ''; // the tarball without prebuilds
  let built = ''; // the addon the from-source install built
  const timings: string[] = [];

  async function tar(args: string[]): Promise<void> {
    const r = await run('tar', args, { cwd: tmp });
    assert.equal(r.status, 0, told(r));
  }

  /** Runs PROGRAMS[file] in app `dir` (TypeScript: compiled to out/ before); what arrived from it. */
  async function program(dir: string, file: keyof typeof PROGRAMS): Promise<{ sender: string; arrived: number }> {
    writeFileSync(join(dir, file), PROGRAMS[file]);
    const target = `@/,${sink.port}@127.0.0.1/`;
    const js = file.endsWith('.mts')
      ? join('out', file.replace(/\.mts$/, '.mjs'))
      : file.endsWith('.cts')
        ? join('out', file.replace(/\.cts$/, '.cjs'))
        : file;
    const label = `${basename(dir)}-${file.split('.')[0]}`;
    const r = await run(process.execPath, [js, target, label], { cwd: dir, env: npmEnv(), timeoutMs: 60_000 });
    assert.equal(r.status, 0, `${file}: ${told(r)}`);
    // close() resolved once every datagram was handed to the kernel: on loopback they are queued
    // at the receiver before the program exits; the wait is for this loop to read them.
    const mine = (): Set<string> =>
      new Set(sink.texts().flatMap((s) => s.match(new RegExp(`\\b${label} (\\d+)\\n?$`))?.[1] ?? []));
    await sink.until(() => mine().size >= N, 10_000).catch(() => undefined);
    assert.equal(sink.drops(), 0, 'the receiver dropped nothing');
    return {
      sender: (JSON.parse(r.stdout.trim().split('\n').pop()!) as { sender: string }).sender,
      arrived: mine().size,
    };
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'nc-pack-'));
    sink = await Sink.open();
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
      cwd: REPO,
      env: npmEnv(),
    });
    assert.equal(packed.status, 0, told(packed));
    const [{ filename }] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
    stage = join(tmp, 'stage');
    mkdirSync(stage);
    await tar(['-xzf', join(tmp, filename), '-C', stage]);
    // This checkout may hold prebuilds from an earlier `npm pack`: the apps get this test's own.
    rmSync(join(stage, 'package', 'prebuilds'), { recursive: true, force: true });
    bare = join(tmp, 'netconsole-bare.tgz');
    await tar(['-czf', bare, '-C', stage, 'package']);
  });

  after(async () => {
    await sink?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (timings.length > 0) console.log(`# pack.test timings: ${timings.join(', ')}`);
  });

  test('the tarball holds what runs: no assembly/, no src/, no test/, bench/ or harness/, no source map, LICENSE, no prepare for the app to approve', () => {
    const pkg = join(stage, 'package');
    const files = filesUnder(pkg);
    assert.deepEqual(
      files.filter((f) => /^(assembly|src|test|bench|harness)\//.test(f)),
      [],
      'sources that do not run are not shipped',
    );
    assert.deepEqual(
      files.filter((f) => f.startsWith('dist/') && !/^dist\/(src|lib|wasm)\//.test(f)),
      [],
      "of dist/, only the library's: not the tests, the benches, the harness or its compiled C helpers",
    );
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
      'no source map: they would point at src/*.ts, which is not shipped',
    );
    for (const f of files.filter((f) => /\.(m?js|d\.ts)$/.test(f))) {
      const url = readFileSync(join(pkg, f), 'utf8').match(/[#@] sourceMappingURL=(\S+)/)?.[1];
      if (url !== undefined)
        assert.ok(existsSync(join(pkg, dirname(f), url)), `${f} points at ${url}, which the tarball lacks`);
    }
    for (const f of [
      'LICENSE',
      'README.md',
      'dist/wasm/netconsole.wasm',
      'dist/wasm/cache-sum.wasm',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/lib/es/index.js',
      'dist/lib/es/pino.js',
      'binding.gyp',
      'scripts/install-native.mjs',
    ]) {
      assert.ok(files.includes(f), `${f} is shipped`);
    }
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
      exports: Record<string, string | { types?: string }>;
      scripts: Record<string, string>;
      license: string;
      engines: { node: string };
      keywords?: string[];
      author?: string;
    };
    // An app on TypeScript 6+ that imports one entry point alone gets @types/node only through
    // that entry's declarations (the TypeScript program below imports 'netconsole' only).
    const typed = Object.entries(manifest.exports).flatMap(([k, v]) =>
      typeof v === 'object' && v.types ? [[k, v.types] as const] : [],
    );
    assert.equal(typed.length, 5, 'netconsole, /wire, /pino, /winston, /console');
    for (const [entry, dts] of typed) {
      assert.match(
        readFileSync(join(pkg, dts), 'utf8'),
        /^\/\/\/ <reference types="node" preserve="true" \/>\n/,
        `${entry}'s ${dts} brings @types/node itself`,
      );
    }
    assert.match(readFileSync(join(pkg, 'LICENSE'), 'utf8'), /^MIT License/);
    assert.equal(manifest.license, 'MIT');
    assert.ok(manifest.author && manifest.keywords && manifest.keywords.length > 0, 'author and keywords');
    // npm 11 lists these for approval in every app that installs the package: only what an app runs.
    const lifecycle = Object.keys(manifest.scripts).filter((s) =>
      ['preinstall', 'install', 'postinstall', 'prepare'].includes(s),
    );
    assert.deepEqual(lifecycle, ['install']);
    // require() of an ES module works unflagged from these versions on.
    assert.equal(manifest.engines.node, '^20.19.0 || >=22.12.0');
  });

  test(`no prebuild for ${PLATFORM}: the install builds the addon from source, says so, and the native sender carries the logs`, async (t) => {
    const app = join(tmp, 'app-source');
    const install = await installApp(app, bare);
    timings.push(`install building from source ${install.ms} ms`);
    assert.equal(install.status, 0, told(install));
    const line = senderLine(install);
    if (line?.includes('no toolchain')) {
      unmet(t, `no toolchain to build the addon: ${line}`);
      return;
    }
    assert.equal(line, 'netconsole: native sender (built from source)', told(install));
    assert.ok(
      !existsSync(join(app, 'node_modules', 'netconsole', 'node_modules', 'node-gyp-build')),
      'node-gyp-build is hoisted to the app',
    );
    built = join(app, 'node_modules', 'netconsole', 'build', 'Release', 'netconsole.node');
    assert.ok(existsSync(built), built);
    assert.deepEqual(await program(app, 'esm.mjs'), { sender: 'native', arrived: N });
  });

  test(`with a prebuild for ${PLATFORM}: the install uses it (no compiler run) and says so; ESM, CommonJS and strict TypeScript programs deliver`, async (t) => {
    if (built === '') {
      unmet(t, 'no addon was built from source to serve as the prebuild');
      return;
    }
    const prebuilds = join(stage, 'package', 'prebuilds', PLATFORM);
    mkdirSync(prebuilds, { recursive: true });
    copyFileSync(built, join(prebuilds, 'netconsole.node'));
    const tarball = join(tmp, 'netconsole-prebuilt.tgz');
    await tar(['-czf', tarball, '-C', stage, 'package']);
    rmSync(join(stage, 'package', 'prebuilds'), { recursive: true });

    const app = join(tmp, 'app');
    const install = await installApp(app, tarball);
    timings.push(`install with a prebuild ${install.ms} ms`);
    assert.equal(install.status, 0, told(install));
    assert.equal(senderLine(install), `netconsole: native sender (prebuild ${PLATFORM})`, told(install));
    assert.ok(!existsSync(join(app, 'node_modules', 'netconsole', 'build')), 'nothing was compiled');
    assert.ok(existsSync(join(app, 'node_modules', 'node-gyp-build')), 'node-gyp-build is hoisted to the app');

    for (const [file, text] of Object.entries(PROGRAMS)) writeFileSync(join(app, file), text);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    const tsc = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: app, timeoutMs: 120_000 });
    timings.push(`tsc ${tsc.ms} ms`);
    assert.equal(
      tsc.status,
      0,
      `strict TypeScript (module NodeNext) compiles against the package's types: ${told(tsc)}`,
    );
    for (const file of Object.keys(PROGRAMS) as Array<keyof typeof PROGRAMS>) {
      assert.deepEqual(await program(app, file), { sender: 'native', arrived: N }, file);
    }
  });

  test('the installed bin runs: --help and --version', async (t) => {
    const bin = join(tmp, 'app', 'node_modules', '.bin', 'netconsole');
    if (!existsSync(bin)) {
      unmet(t, 'the app with the prebuild was not installed');
      return;
    }
    const help = await run(bin, ['--help'], { cwd: tmp });
    assert.equal(help.status, 0, told(help));
    assert.match(help.stdout, /Usage: netconsole/);
    const version = await run(bin, ['--version'], { cwd: tmp });
    assert.equal(version.status, 0, told(version));
    assert.equal(version.stdout.trim(), VERSION);
  });

  test('no prebuild and no toolchain: the install says which sender and why, and the dgram sender carries the logs', async () => {
    const app = join(tmp, 'app-dgram');
    const install = await installApp(app, bare, { CXX: '/nonexistent/c++' });
    timings.push(`install without a toolchain ${install.ms} ms`);
    assert.equal(install.status, 0, `an app's install does not fail for want of the addon: ${told(install)}`);
    assert.equal(
      senderLine(install),
      `netconsole: dgram sender: no prebuild for ${PLATFORM}, and no toolchain to build from source (missing /nonexistent/c++)`,
      told(install),
    );
    assert.deepEqual(await program(app, 'esm.mjs'), { sender: 'dgram', arrived: N });
  });
});
