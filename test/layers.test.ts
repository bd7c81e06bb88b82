// The layers of src/ (ARCHITECTURE.md): a file may import from its own folder's layer or a layer
// below it, never above; the reference and the receiver stand on the base alone (the reference
// must not share code with what it checks); no import cycle between files. Reads the TypeScript
// sources, `import type` included: a type from above is a dependency on above.
// And the checkout's top-level folders: src/ imports nothing outside itself, harness/ only src/,
// bench/ src/ and harness/ (never test/), test/ any of them (it tests the bench too).
//
// And the tree's shape (issue 19), read as text: no source file of src/, native/ or assembly/ over
// 400 lines (convention 5; the generated ones are their source's size); every one named in
// ARCHITECTURE.md's tree, in its folder's entry; every setsockopt of the addon checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The checkout's folders of TypeScript, and what each may import besides itself. */
export const FOLDERS: Record<string, string[]> = {
  src: [],
  harness: ['src'],
  bench: ['src', 'harness'],
  // lib/: dist/lib, the bundle of src/ an app loads (scripts/bundle.mjs), built beside dist/test.
  test: ['src', 'harness', 'bench', 'lib'],
};
/** Imports FOLDERS does not allow, allowed one by one, each with why. */
const EXCEPTIONS: Record<string, string> = {
  'src/faces/cli.ts -> bench/run.ts':
    "netconsole bench: loaded at run time, and listed, only where bench/ was built beside src/ (a checkout's tool; not in the package)",
  'bench/workers/startup.ts -> lib/es/load.ts':
    "the startup scenario checks each run's code cache (used, or off) in the loader the package's name loaded: the same URL, so the same instance, read after the timed phases",
};
/** Not TypeScript of the host (AssemblyScript specs, compiled by as-pect). */
const NOT_HOST = ['test/as'];

/** Bottom to top. A layer may import the ones listed before it, unless `only` narrows that. */
export const LAYERS: { name: string; only?: string[] }[] = [
  { name: 'base' },
  { name: 'reference', only: ['base'] },
  { name: 'receiver', only: ['base'] },
  { name: 'core', only: ['base', 'reference'] },
  { name: 'config', only: ['base', 'core'] },
  { name: 'netdev', only: ['base', 'core'] },
  { name: 'sender', only: ['base', 'core'] },
  { name: 'host' },
  { name: 'faces' },
  { name: '.' }, // src/index.ts, the package's entry
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"](\.[^'"]+)['"]|\bimport\s*\(\s*['"](\.[^'"]+)['"]|\bnew URL\(\s*['"](\.[^'"]+\.js)['"]/g;

/** The files (relative to root, .ts) that `file`'s relative imports name inside root. */
function importsOf(root: string, file: string): string[] {
  const rel = relative(root, file);
  const deps: string[] = [];
  for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    const target = normalize(join(dirname(rel), spec)).replace(/\.js$/, '.ts');
    if (!target.startsWith('..')) deps.push(target);
  }
  return deps;
}

/** file (relative to src/, .ts) -> the src files it imports. */
export function importGraph(root = SRC): Map<string, string[]> {
  return new Map(sources(root).map((file) => [relative(root, file), importsOf(root, file)]));
}

/** file (relative to the checkout, .ts) -> the checkout's files it imports, for every folder of FOLDERS. */
export function folderGraph(root = ROOT): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const folder of Object.keys(FOLDERS))
    for (const file of sources(join(root, folder))) {
      const rel = relative(root, file);
      if (!NOT_HOST.some((d) => rel.startsWith(`${d}/`))) graph.set(rel, importsOf(root, file));
    }
  return graph;
}

/** "a.ts imports b.ts (folder x may not import y)" for every import between folders that FOLDERS does not allow. */
export function folderViolations(graph: Map<string, string[]>): string[] {
  const top = (f: string): string => f.slice(0, f.indexOf('/'));
  const out: string[] = [];
  for (const [file, deps] of graph)
    for (const dep of deps) {
      const from = top(file);
      const to = top(dep);
      if (to !== from && !(FOLDERS[from] ?? []).includes(to) && !(`${file} -> ${dep}` in EXCEPTIONS))
        out.push(`${file} imports ${dep}: ${from}/ may not import ${to || dep}`);
    }
  return out;
}

const layerOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');

/** "a.ts imports b.ts (layer x above layer y)" for every import that crosses a layer the wrong way. */
export function layerViolations(graph: Map<string, string[]>): string[] {
  const rank = new Map(LAYERS.map((l, i) => [l.name, i]));
  const out: string[] = [];
  for (const [file, deps] of graph) {
    const from = layerOf(file);
    const layer = LAYERS[rank.get(from) ?? -1];
    if (!layer) {
      out.push(`${file}: folder ${from}/ is not a layer (add it to LAYERS and ARCHITECTURE.md)`);
      continue;
    }
    for (const dep of deps) {
      const to = layerOf(dep);
      if (to === from) continue;
      const allowed = layer.only ? layer.only.includes(to) : (rank.get(to) ?? Infinity) < rank.get(from)!;
      if (!allowed) out.push(`${file} imports ${dep}: ${from} may not depend on ${to}`);
    }
  }
  return out;
}

/** Every import cycle between files, each once, as "a -> b -> a". */
export function cycles(graph: Map<string, string[]>): string[] {
  const found = new Set<string>();
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 1);
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 1) {
        const loop = stack.slice(stack.indexOf(d));
        const start = loop.indexOf([...loop].sort()[0]!);
        found.add([...loop.slice(start), ...loop.slice(0, start), loop[start]].join(' -> '));
      } else if (!state.has(d) && graph.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return [...found];
}

test('every import in src/ goes to its own layer or one below', () => {
  const graph = importGraph();
  assert.ok(graph.size > 40, `read ${graph.size} sources under ${SRC}`);
  assert.deepEqual(layerViolations(graph), []);
});

test('no import cycle between the files of src/', () => {
  assert.deepEqual(cycles(importGraph()), []);
});

test('the check catches an upward import and a cycle (a made-up graph)', () => {
  const bad = new Map([
    ['base/errors.ts', ['core/wasm.ts']],
    ['core/wasm.ts', ['base/errors.ts']],
    ['reference/frame.ts', ['core/validate.ts']],
    ['netdev/rtnetlink.ts', ['host/device-events.ts']],
    ['host/device-events.ts', []],
    ['core/validate.ts', []],
    ['extra/x.ts', []],
  ]);
  assert.deepEqual(layerViolations(bad), [
    'base/errors.ts imports core/wasm.ts: base may not depend on core',
    'reference/frame.ts imports core/validate.ts: reference may not depend on core',
    'netdev/rtnetlink.ts imports host/device-events.ts: netdev may not depend on host',
    'extra/x.ts: folder extra/ is not a layer (add it to LAYERS and ARCHITECTURE.md)',
  ]);
  assert.deepEqual(cycles(bad), ['base/errors.ts -> core/wasm.ts -> base/errors.ts']);
});

test('bench/ never imports test/, harness/ neither test/ nor bench/, src/ nothing outside itself', () => {
  const graph = folderGraph();
  for (const folder of Object.keys(FOLDERS))
    assert.ok(
      [...graph.keys()].some((f) => f.startsWith(`${folder}/`)),
      `read the sources of ${folder}/ under ${ROOT}`,
    );
  assert.ok(
    [...graph].some(([f, deps]) => f.startsWith('bench/') && deps.some((d) => d.startsWith('harness/'))),
    'the imports of bench/ into harness/ are seen',
  );
  assert.deepEqual(folderViolations(graph), []);
});

test('the check catches an import between folders the wrong way (a made-up graph)', () => {
  const bad = new Map([
    ['bench/e2e.ts', ['test/helpers/netns.ts', 'harness/netns.ts', 'src/core/native.ts']],
    ['harness/netns.ts', ['test/helpers/requires.ts', 'bench/cc.ts']],
    ['src/core/wasm.ts', ['harness/bare-target.ts', 'src/base/errors.ts']],
    ['test/bench.test.ts', ['bench/e2e.ts', 'harness/cc.ts', 'src/index.ts']],
    ['src/faces/cli.ts', ['bench/run.ts', 'bench/e2e.ts']],
  ]);
  assert.deepEqual(folderViolations(bad), [
    'bench/e2e.ts imports test/helpers/netns.ts: bench/ may not import test',
    'harness/netns.ts imports test/helpers/requires.ts: harness/ may not import test',
    'harness/netns.ts imports bench/cc.ts: harness/ may not import bench',
    'src/core/wasm.ts imports harness/bare-target.ts: src/ may not import harness',
    'src/faces/cli.ts imports bench/e2e.ts: src/ may not import bench',
  ]);
});

// ------------------------------------------------------------------------------- the tree's shape
/** Written by scripts/gen-layout.mjs from assembly/layout.ts: as long as the layout is. */
const GENERATED = new Set(['native/layout.h', 'src/core/layout-table.ts']);
export const LINES_MAX = 400;

/** Every source file of src/, native/ and assembly/, relative to the checkout, sorted. */
function treeSources(): string[] {
  return ['src', 'native', 'assembly']
    .flatMap((d) =>
      readdirSync(join(ROOT, d), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && /\.(ts|cc|h)$/.test(e.name))
        .map((e) => relative(ROOT, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))),
    )
    .sort();
}

const lineCount = (text: string): number => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

/** "file: N lines" for every file (path, text) past LINES_MAX, the generated ones left out. */
export function oversized(files: Array<[string, string]>): string[] {
  return files
    .filter(([f, text]) => !GENERATED.has(f) && lineCount(text) > LINES_MAX)
    .map(([f, text]) => `${f}: ${lineCount(text)} lines (more than ${LINES_MAX}: split it by role)`);
}

/**
 * The entry of ARCHITECTURE.md's tree that speaks of `file`: for src/<folder>/..., the lines from
 * `  <folder>/` to the next entry of src/ (`  index.ts` for src/index.ts); for assembly/ and
 * native/, their lines up to the next folder of the checkout.
 */
function entryOf(tree: string[], file: string): string {
  const parts = file.split('/');
  const [start, end] =
    parts[0] === 'src' ? [`  ${parts.length > 2 ? `${parts[1]}/` : parts[1]}`, /^ {0,2}\S/] : [`${parts[0]}/`, /^\S/];
  const from = tree.findIndex((l) => l === start || l.startsWith(`${start} `));
  if (from < 0) return '';
  const to = tree.findIndex((l, i) => i > from && end.test(l));
  return tree.slice(from, to < 0 ? undefined : to).join('\n');
}

/** "file: ..." for every file whose name its folder's entry in the tree (of `architecture`) does not say. */
export function unnamed(files: string[], architecture: string): string[] {
  const block = /## The tree\n```\n([\s\S]*?)\n```/.exec(architecture)?.[1];
  if (block === undefined) return ['ARCHITECTURE.md: no "## The tree" block'];
  const tree = block.split('\n');
  return files
    .filter((f) => {
      const name = f.slice(f.lastIndexOf('/') + 1).replace(/[.]/g, '\\.');
      return !new RegExp(`(?<![\\w./-])${name}(?![\\w-])`).test(entryOf(tree, f));
    })
    .map((f) => `${f}: not named in ARCHITECTURE.md's tree, in its folder's entry (say what it holds)`);
}

/**
 * "file:line: ..." for every setsockopt whose result nothing looks at: one that is a statement of
 * its own (also as the body of an if or a loop), or cast to void. A request that may be refused
 * goes through a helper that says why (common.h AskRcvbuf), not a bare call.
 */
export function uncheckedSetsockopt(file: string, text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of code.matchAll(/\bsetsockopt\s*\(/g)) {
    const before = code.slice(0, m.index);
    const statement = before.slice(
      Math.max(before.lastIndexOf(';'), before.lastIndexOf('{'), before.lastIndexOf('}')) + 1,
    );
    const lead = statement.replace(/\s+/g, ' ').trim();
    if (lead === '' || /\)$|\belse$|\bdo$|\(void\)$|static_cast<void>\($/.test(lead)) {
      const line = before.split('\n').length;
      out.push(`${file}:${line}: setsockopt's result unchecked: ${text.split('\n')[line - 1]!.trim()}`);
    }
  }
  return out;
}

test(`no source file of src/, native/ or assembly/ is over ${LINES_MAX} lines (the generated ones aside)`, () => {
  const files = treeSources();
  assert.ok(files.length > 100, `read ${files.length} files under ${ROOT}`);
  assert.ok(files.includes('native/drain.cc') && files.includes('assembly/write.ts'));
  assert.deepEqual(oversized(files.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')])), []);
});

test("every source file of src/, native/ and assembly/ is named in ARCHITECTURE.md's tree, in its folder's entry", () => {
  const architecture = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
  assert.deepEqual(unnamed(treeSources(), architecture), []);
});

test('every setsockopt of the addon is checked', () => {
  const files = treeSources().filter((f) => f.startsWith('native/'));
  const found = files.flatMap((f) => uncheckedSetsockopt(f, readFileSync(join(ROOT, f), 'utf8')));
  assert.ok(
    files.some((f) => readFileSync(join(ROOT, f), 'utf8').includes('setsockopt(')),
    'the addon was read',
  );
  assert.deepEqual(found, []);
});

test('the checks catch a long file, a file the tree does not name, an unchecked setsockopt (made-up inputs)', () => {
  const lines = (n: number): string => 'x\n'.repeat(n);
  assert.deepEqual(
    oversized([
      ['src/core/a.ts', lines(400)],
      ['native/b.cc', lines(401)],
      ['src/core/layout-table.ts', lines(900)],
    ]),
    ['native/b.cc: 401 lines (more than 400: split it by role)'],
  );
  const architecture = [
    '## The tree',
    '```',
    'assembly/        the write path',
    '  write.ts         one record (core/ring.ts is not this folder)',
    'native/          the addon: drain.cc (its loop),',
    '                 drain.h',
    'src/',
    '  core/          wasm.ts (Core), layout.ts (the table; assembly/lists.ts)',
    '  host/          netconsole.ts',
    '  index.ts       the entry',
    'bench/           ring.ts',
    '```',
  ].join('\n');
  const named = [
    'assembly/write.ts',
    'native/drain.cc',
    'native/drain.h',
    'src/core/wasm.ts',
    'src/host/netconsole.ts',
  ];
  const files = [
    ...named,
    'src/core/layout.ts',
    'src/index.ts',
    'assembly/ring.ts', // named only in bench/'s entry and as core/ring.ts
    'assembly/lists.ts', // named only in src/core's entry
    'src/host/wasm.ts', // named only in core/'s entry
    'native/drain-pass.cc', // its name's start only
  ];
  assert.deepEqual(
    unnamed(files, architecture).map((l) => l.slice(0, l.indexOf(':'))),
    ['assembly/ring.ts', 'assembly/lists.ts', 'src/host/wasm.ts', 'native/drain-pass.cc'],
  );
  const cc = [
    'if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof n) < 0) return Throw();',
    'bool ok = setsockopt(fd, a, b, &v, sizeof v) == 0;',
    'return (force && setsockopt(fd, a, b, &v, sizeof v) == 0) ||',
    '       setsockopt(fd, a, c, &v, sizeof v) == 0;',
    '  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);',
    '  if (ring) setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &none, sizeof none);',
    '  static_cast<void>(setsockopt(fd, a, b, &v, sizeof v));',
    '  // setsockopt(fd, a, b, &v, sizeof v); in a comment',
  ].join('\n');
  assert.deepEqual(
    uncheckedSetsockopt('native/x.cc', cc).map((l) => l.slice(0, l.indexOf(': '))),
    ['native/x.cc:5', 'native/x.cc:6', 'native/x.cc:7'],
  );
});
