// What an app's `import 'netconsole'` loads: the package's exports point at dist/lib/es/, the
// entry points bundled by scripts/bundle.mjs from dist/src/ (which the tests, the CLI and the
// benches use). Every entry point exports what its source module does, resolves to the bundle, and
// the entry points share one copy of the library (one NetconsoleError class among them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  main: string;
  exports: Record<string, { default: string; types: string } | string>;
};
const SOURCE: Record<string, string> = {
  '.': 'index.js',
  './wire': 'core/wire.js',
  './pino': 'faces/integrations/pino.js',
  './winston': 'faces/integrations/winston.js',
  './console': 'faces/integrations/console.js',
};
// A variable: the package's own name resolves through its exports (self-reference), at run time.
const load = (spec: string): Promise<Record<string, unknown>> => import(spec) as Promise<Record<string, unknown>>;

test('every export of package.json is bundled, and exports what its source module does', async () => {
  const entries = Object.entries(pkg.exports).filter(([k]) => k !== './package.json');
  assert.deepEqual(
    entries.map(([k]) => k).sort(),
    Object.keys(SOURCE).sort(),
    'an export without a source module here (or the reverse)',
  );
  assert.equal(pkg.main, (pkg.exports['.'] as { default: string }).default);
  for (const [key, target] of entries) {
    const spec = `netconsole${key.slice(1)}`;
    const file = (target as { default: string }).default;
    assert.match(file, /^\.\/dist\/lib\/es\/[a-z]+\.js$/, key);
    assert.equal(fileURLToPath(import.meta.resolve(spec)), `${root}${file.slice(2)}`, `${spec} resolves to the bundle`);
    const bundled = await load(spec);
    const source = await load(`${root}dist/src/${SOURCE[key]!}`);
    assert.deepEqual(Object.keys(bundled).sort(), Object.keys(source).sort(), `${spec}: the same names`);
    for (const name of Object.keys(source)) assert.equal(typeof bundled[name], typeof source[name], `${spec}: ${name}`);
  }
});

test('the entry points share one copy of the library: an error of netconsole/wire is a NetconsoleError of netconsole', async () => {
  const { NetconsoleError } = (await load('netconsole')) as { NetconsoleError: new (...a: never[]) => Error };
  const { encodeDatagrams } = (await load('netconsole/wire')) as { encodeDatagrams: (...a: unknown[]) => unknown };
  const source = (await load(`${root}dist/src/index.js`)) as { NetconsoleError: unknown };
  assert.notEqual(NetconsoleError, source.NetconsoleError, 'the bundle is its own copy (loaded apart from dist/src)');
  assert.throws(
    () => encodeDatagrams({ text: 'x', level: 99 }, { extended: true }),
    (e: unknown) => e instanceof NetconsoleError && e.name === 'InvalidValueError',
  );
});
