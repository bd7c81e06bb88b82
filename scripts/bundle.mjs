// The package's entry points as one set of ES modules (dist/lib/es/), built from the compiled
// dist/src/ by esbuild: what `import 'netconsole'` loads. Why: Node 20 resolves, reads, links and
// compiles every ES module of an import one by one; the library's 62 modules took 47 ms to import
// where the same code bundled takes 21 (docs/benchmarks.md, `startup`). Splitting keeps one copy
// of what the entry points share (one NetconsoleError class for `netconsole` and
// `netconsole/pino` alike). The CLI, the tests and the benches keep using dist/src/.
//
// The output sits as deep below the package root as dist/src/core/, so that the paths the code
// builds from its own URL (core/module.ts: ../../wasm/; core/native.ts: ../../..) hold in both.
// Left outside: node-gyp-build (it require()s the addon by a path found at run time) and the
// peer dependency winston-transport (the app's own copy). safe-stable-stringify is bundled.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ENTRIES = [
  'index',
  'core/wire',
  'faces/integrations/pino',
  'faces/integrations/winston',
  'faces/integrations/console',
];
const outdir = join(root, 'dist', 'lib', 'es');

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: Object.fromEntries(ENTRIES.map((e) => [e.split('/').pop(), join(root, 'dist', 'src', `${e}.js`)])),
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['node-gyp-build', 'winston-transport'],
  // Class and function names stay what the source says (error names, stack traces).
  keepNames: true,
  logLevel: 'warning',
  chunkNames: 'shared-[hash]',
});
