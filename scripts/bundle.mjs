// The package's entry points (dist/lib/es/), built from the compiled dist/src/ by esbuild: what
// `import 'netconsole'` loads. The CLI, the tests and the benches keep using dist/src/.
//
// * library.js: the whole library as one CommonJS module, every entry point's module in it as a
//   namespace (index, wire, pino, console; winston behind a function, so that its peer dependency
//   winston-transport is required only by who imports netconsole/winston), written wrapped in
//   the function the loader calls: (function (exports, require, module, __filename, __dirname,
//   __nc_url) { "use strict"; ... }), strict as the ES modules it was made of. The file is the
//   script V8 compiles, as it is (its line numbers are the stack traces'), and the loader makes
//   no second copy of it.
// * load.js: the loader (src/faces/load.ts) with this build's key, the hash of library.js: it
//   runs the file once per thread through a V8 code cache kept per build.
// * index.js, wire.js, pino.js, winston.js, console.js: ES modules that take their names from the
//   loaded library, so every entry point shares one copy (one NetconsoleError class).
//
// Why: a fresh process spent most of its start reading and compiling the library. Node 20 resolves,
// reads, links and compiles every ES module of an import one by one (62 modules: 47 ms to import;
// bundled as ES modules: 21), and has no code cache for ES modules. Through a code cache, import +
// set-up + first line + close after Node's boot went from 41 to 28 ms, pino's 30 (docs/benchmarks.md,
// `startup`); the price, 2.8 MiB more peak RSS than the ES modules.
//
// The output sits as deep below the package root as dist/src/core/, so that the paths the code
// builds from its own URL (core/module.ts: ../../wasm/; core/native.ts: ../../..) hold in both:
// import.meta.url becomes the bundle's own URL, which the loader passes in. Left outside:
// node-gyp-build (it require()s the addon by a path found at run time) and the peer dependency
// winston-transport (the app's own copy). safe-stable-stringify is bundled.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'dist', 'src');
const outdir = join(root, 'dist', 'lib', 'es');

/** Entry point (its file in dist/lib/es/ and its namespace in the library) -> its module in dist/src/. */
const ENTRIES = {
  index: { module: 'index' },
  wire: { module: 'core/wire' },
  pino: { module: 'faces/integrations/pino' },
  console: { module: 'faces/integrations/console' },
  winston: { module: 'faces/integrations/winston', lazy: true },
};

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const lines = Object.entries(ENTRIES).map(([name, { module, lazy }]) =>
  lazy ? `export const ${name} = () => require('./${module}.js');` : `export * as ${name} from './${module}.js';`,
);
const result = await build({
  stdin: { contents: lines.join('\n'), resolveDir: src, sourcefile: 'library.js' },
  outfile: join(outdir, 'library.js'),
  write: false,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['node-gyp-build', 'winston-transport'],
  define: { 'import.meta.url': '__nc_url' },
  // Not keepNames: it wraps each of the 439 functions and classes in a __name() call, which cost
  // 3 ms of a fresh process's import + set-up here (30 alternating pairs, 32.6 against 29.2 ms).
  // Names stay what the source says (a function's name is inferred from its binding), except
  // where esbuild renames one that two modules share (warn, warn2): that is allowed of a function
  // (its stack frames say warn2), never of a class, checked below (an error's name is its class's).
  keepNames: false,
  metafile: true,
  logLevel: 'warning',
});
const CLASS = /\bclass ([A-Za-z_$][\w$]*)|\b([A-Za-z_$][\w$]*) = class\b/g;
const classes = (text) => new Set([...text.matchAll(CLASS)].map((m) => m[1] ?? m[2]));
const sourceClasses = new Set(
  Object.keys(result.metafile.inputs)
    .filter((f) => resolve(f) !== join(src, 'library.js')) // the entry above, no file
    .flatMap((f) => [...classes(readFileSync(resolve(f), 'utf8'))]),
);
const renamed = [...classes(result.outputFiles[0].text)].filter((c) => !sourceClasses.has(c));
if (renamed.length > 0)
  throw new Error(`the bundle renamed classes (two modules share a name: rename one): ${renamed.join(', ')}`);
const wrapped = `(function (exports, require, module, __filename, __dirname, __nc_url) {"use strict";${result.outputFiles[0].text}\n})\n`;
writeFileSync(join(outdir, 'library.js'), wrapped);
const key = createHash('sha256').update(wrapped).digest('hex').slice(0, 16);

await build({
  stdin: {
    contents: [
      `import { loadBundle } from './faces/load.js';`,
      `export { codeCache } from './faces/load.js';`,
      `export const library = loadBundle(new URL('./library.js', import.meta.url), ${JSON.stringify(key)});`,
    ].join('\n'),
    resolveDir: src,
    sourcefile: 'load.js',
  },
  outfile: join(outdir, 'load.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  keepNames: true,
  logLevel: 'warning',
});

// Each entry point: the names its source module exports, taken from the library's namespace.
for (const [name, { module, lazy }] of Object.entries(ENTRIES)) {
  const names = Object.keys(await import(pathToFileURL(join(src, `${module}.js`)).href));
  const named = names.filter((n) => n !== 'default');
  const out = [
    `// netconsole${name === 'index' ? '' : `/${name}`}: ${module}.ts of the library, loaded by ./load.js (scripts/bundle.mjs).`,
    `import { library } from './load.js';`,
    `const m = library.${name}${lazy ? '()' : ''};`,
    `export const { ${named.join(', ')} } = m;`,
    ...(names.includes('default') ? ['export default m.default;'] : []),
  ];
  writeFileSync(join(outdir, `${name}.js`), `${out.join('\n')}\n`);
}
