// The WebAssembly types the package's declarations name, written here: an app's TypeScript finds
// WebAssembly's namespace only in the DOM lib (@types/node 20 does not declare it), and a Node
// app often compiles without it (lib: ES2022, as @tsconfig/node20), checking libraries' .d.ts
// files too (skipLibCheck false). Structurally the same as WebAssembly.Memory and
// WebAssembly.Module, so the engine's objects are these and these are the engine's.

/** A WebAssembly.Memory (here always shared: its buffer is a SharedArrayBuffer). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}

/** A compiled WebAssembly.Module (the engine's object; it declares no members). */
export type WasmModule = object;

/** An instance's exports, before checkLayout has looked at them. */
export type WasmExports = Record<string, unknown>;
