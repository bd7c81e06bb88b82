// The README's code cannot go stale: every fenced ```js, ```cjs and ```ts block is checked, and the
// blocks marked `run` (```js run) are run as an application would run them, against the package by
// its name (`import 'netconsole'` resolves through node_modules/netconsole, a link to this checkout,
// and its package.json "exports"), with a UDP receiver on loopback standing in for the one the example names.
//
//   ```js / ```cjs   syntax-checked (node --check); ESM when it imports, CommonJS for cjs
//   ```ts            compiled with the project's TypeScript, strict, module NodeNext, against the
//                    package's declarations (dist/src/*.d.ts): what a strict TypeScript app sees
//   ... run          also run (ts: the compiled JavaScript). The example's port 6666 becomes the
//                    test receiver's port; `// sends: <text>` lines in the block are texts that
//                    must arrive at the receiver, `// prints: <text>` texts it must print; the
//                    program must exit 0 within 20 s.
//
// The blocks are written under dist/readme/ (inside the checkout, so that pino and winston resolve
// from its node_modules as in an app that installed them).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO } from './helpers/vectors.js';
import { Sink } from './helpers/udp.js';
import { npmEnv } from './helpers/pack.js';

const root = fileURLToPath(REPO);
const work = join(root, 'dist', 'readme');

interface Block {
  lang: 'js' | 'cjs' | 'ts';
  run: boolean;
  code: string;
  line: number;
}

/** The README's fenced blocks of the languages above, with the line each starts on. */
export function readmeBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(js|cjs|ts)((?:\s+\w+)*)\s*$/.exec(lines[i]);
    if (open === null) {
      if (lines[i].startsWith('```')) for (i++; i < lines.length && !lines[i].startsWith('```'); i++);
      continue;
    }
    const start = i + 1;
    for (i++; i < lines.length && !lines[i].startsWith('```'); i++);
    blocks.push({
      lang: open[1] as Block['lang'],
      run: /\brun\b/.test(open[2]),
      code: lines.slice(start, i).join('\n'),
      line: start,
    });
  }
  return blocks;
}

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
    skipLibCheck: true,
    outDir: 'out',
  },
};

/** Runs `file` with node; resolves with its exit code, stdout and stderr (killed after `ms`). */
function runNode(file: string, env: NodeJS.ProcessEnv, ms = 20_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? -1 : null), out });
    });
  });
}

const blocks = readmeBlocks(readFileSync(join(root, 'README.md'), 'utf8'));

describe('README code blocks', () => {
  before(() => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(join(work, 'node_modules'), { recursive: true });
    symlinkSync(root, join(work, 'node_modules', 'netconsole')); // as `npm install` would place it
    // An app of its own: outside this package's scope, `netconsole` is a dependency, not itself.
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'readme-app', private: true, type: 'module' }));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('the README has runnable examples in ESM, CommonJS and TypeScript', () => {
    for (const lang of ['js', 'cjs', 'ts'] as const)
      assert.ok(
        blocks.some((b) => b.lang === lang && b.run),
        `a \`\`\`${lang} run block`,
      );
  });

  test('every relative link and image of the README is a file the package ships (the registry shows the README without the repository)', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      env: npmEnv(),
    });
    assert.equal(r.status, 0, r.stderr);
    const shipped = new Set(
      (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path),
    );
    const text = readFileSync(join(root, 'README.md'), 'utf8');
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:|^#/.test(l));
    assert.ok(links.length > 0);
    for (const link of links) assert.ok(shipped.has(link.replace(/#.*$/, '')), `${link} is not in the package`);
  });

  test('every TypeScript block compiles under strict against the package types', () => {
    const ts = blocks.filter((b) => b.lang === 'ts');
    const dir = join(work, 'ts');
    mkdirSync(dir, { recursive: true });
    const files = ts.map((b) => {
      const f = `line${b.line}.mts`;
      // Each block is a module of its own (top-level await, no names shared between blocks).
      writeFileSync(join(dir, f), `${b.code}\nexport {};\n`);
      return f;
    });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, files }));
    const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
  });

  for (const b of blocks.filter((x) => x.lang !== 'ts')) {
    test(`README line ${b.line} (${b.lang}) parses`, () => {
      const file = join(work, `check${b.line}.${b.lang === 'cjs' ? 'cjs' : 'mjs'}`);
      writeFileSync(file, b.code);
      const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
  }

  for (const b of blocks.filter((x) => x.run)) {
    test(`README line ${b.line} (${b.lang}) runs and what it sends arrives`, async () => {
      const sink = await Sink.open('127.0.0.1');
      try {
        const code = b.code.replaceAll('6666', String(sink.port));
        let file: string;
        if (b.lang === 'ts') {
          const name = `run${b.line}`;
          writeFileSync(join(work, 'ts', `${name}.mts`), `${code}\nexport {};\n`);
          writeFileSync(
            join(work, 'ts', `tsconfig.${name}.json`),
            JSON.stringify({ ...TSCONFIG, files: [`${name}.mts`] }),
          );
          const r = spawnSync(
            process.execPath,
            [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(work, 'ts', `tsconfig.${name}.json`)],
            { encoding: 'utf8' },
          );
          assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
          file = join(work, 'ts', 'out', `${name}.mjs`);
        } else {
          file = join(work, `run${b.line}.${b.lang === 'cjs' ? 'cjs' : 'mjs'}`);
          writeFileSync(file, code);
        }
        const env = { ...process.env };
        delete env.NETCONSOLE;
        delete env.NODE_OPTIONS;
        const { code: status, out } = await runNode(file, env);
        assert.equal(status, 0, `exit ${status}:\n${out}`);
        for (const m of b.code.matchAll(/\/\/ prints: (.+)$/gm))
          assert.ok(out.includes(m[1].trim()), `"${m[1].trim()}" was not printed:\n${out}`);
        const expected = [...b.code.matchAll(/\/\/ sends: (.+)$/gm)].map((m) => m[1].trim());
        for (const text of expected) {
          await sink
            .until(() => sink.texts().some((t) => t.includes(text)), 5000)
            .catch(() => {
              assert.fail(`"${text}" did not arrive; arrived:\n${sink.texts().join('\n')}`);
            });
        }
      } finally {
        await sink.close();
      }
    });
  }
});
