// The layers of src/ (ARCHITECTURE.md): a file may import from its own folder's layer or a layer
// below it, never above; the reference and the receiver stand on the base alone (the reference
// must not share code with what it checks); no import cycle between files. Reads the TypeScript
// sources, `import type` included: a type from above is a dependency on above.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

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

/** file (relative to src/, .ts) -> the src files it imports. */
export function importGraph(root = SRC): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(root)) {
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      const target = normalize(join(dirname(rel), spec)).replace(/\.js$/, '.ts');
      if (!target.startsWith('..')) deps.push(target);
    }
    graph.set(rel, deps);
  }
  return graph;
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
