// The host's view of the shared memory's map. The table itself, L, is generated from
// assembly/layout.ts (its one owner: the box diagram and the who-writes-what notes are there) by
// scripts/gen-layout.mjs into layout-table.ts at every build:ts. checkLayout() still compares
// every entry with the global of the same name that the module exports, and every exported
// layout global with the table, so a stale module build refuses to load instead of corrupting
// memory.
import { LayoutMismatchError } from '../base/errors.js';
import { L } from './layout-table.js';
import type { WasmExports } from './wasm-types.js';

export { L };

export type LayoutKey = keyof typeof L;

/** Compares the mirror with the module's exported layout globals, both ways. */
export function checkLayout(exports: WasmExports): void {
  const problems: string[] = [];
  for (const [name, want] of Object.entries(L)) {
    const g = exports[name];
    if (!(g instanceof WebAssembly.Global)) problems.push(`${name}: not exported by the module`);
    else if (g.value !== want) problems.push(`${name}: module ${g.value}, host ${want}`);
  }
  for (const [name, g] of Object.entries(exports)) {
    if (g instanceof WebAssembly.Global && /^[A-Z][A-Z0-9_]*$/.test(name) && !(name in L)) {
      problems.push(`${name}: exported by the module, missing from src/core/layout-table.ts`);
    }
  }
  if (problems.length > 0) {
    throw new LayoutMismatchError(
      `shared-memory layout mismatch between the module and src/core/layout-table.ts (made from assembly/layout.ts: rebuild both):\n  ${problems.join('\n  ')}`,
    );
  }
}

/** Bytes of shared memory needed for a ring of `ringSize` bytes. */
export function memoryBytes(ringSize: number): number {
  return L.RING_OFF + ringSize;
}

export const targetOffset = (t: number): number => L.TARGETS_OFF + t * L.TARGET_SIZE;
/** The ring bytes of a slot of `len` payload bytes (assembly/ring.ts slotBytes). */
export const slotBytes = (len: number): number => L.SLOT_HDR + ((len + L.SLOT_ALIGN - 1) & -L.SLOT_ALIGN);
export const threadOffset = (i: number): number => L.THREADS_OFF + i * L.THREAD_SIZE;
export const userdataOffset = (t: number, which: number): number => L.USERDATA_OFF + (t * 2 + which) * L.UD_BUF_SIZE;
