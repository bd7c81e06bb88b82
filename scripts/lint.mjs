// `npm run lint`, and the first step of `npm test`: the checkout's formatting, checked, not
// changed (`npm run format` changes it). Each check prints one line `lint: <check> ok` or what is
// wrong, and counts as one test in `npm test`'s totals.
//  * prettier (.prettierrc.json) over the TypeScript of src/, test/, bench/ and the scripts; not
//    assembly/ and test/as/ (AssemblyScript's decorators on functions, `@inline function`, are not
//    TypeScript, and prettier refuses them) and not the generated layout-table.ts (.prettierignore);
//  * clang-format (.clang-format) over native/, but for the generated native/layout.h;
//  * with --types, `tsc --noEmit` over everything (npm test compiles it anyway, so it does not).
// Both formatters are devDependencies, pinned: a formatter's output changes between versions.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const fix = process.argv.includes('--fix');
const types = process.argv.includes('--types');

/** Runs a check; its output is shown only when it fails. */
function check(name, cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ok = r.status === 0;
  if (!ok) process.stdout.write(`${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `${r.error.message}\n` : ''}`);
  console.log(
    `lint: ${name} ${ok ? 'ok' : fix ? 'failed' : `FAILED${name === 'tsc' ? '' : ' (npm run format fixes it)'}`}`,
  );
  return ok;
}

const TS = ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'harness/**/*.ts', 'scripts/**/*.mjs'];
const prettier = join(require.resolve('prettier/package.json'), '..', 'bin', 'prettier.cjs');
const clangFormat = join(
  require.resolve('clang-format/package.json'),
  '..',
  'bin',
  `${process.platform}_${process.arch}`,
  'clang-format',
);
const native = readdirSync(join(root, 'native'))
  .filter((f) => /\.(cc|h)$/.test(f) && f !== 'layout.h')
  .map((f) => join('native', f));

const results = [
  check('prettier', process.execPath, [prettier, fix ? '--write' : '--check', '--log-level', 'warn', ...TS]),
  check('clang-format', clangFormat, [fix ? '-i' : '--dry-run', ...(fix ? [] : ['--Werror']), ...native]),
];
if (types)
  results.push(
    check('tsc', process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit']),
  );
const failed = results.filter((ok) => !ok).length;
console.log(`lint: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
