// The other half of the package's loader (faces/load.ts). The loader runs the bundled library
// through a V8 code cache; when it had none to use (the first start on a machine, another Node, a
// new build), it leaves the function that writes one under KEY. The library calls codeCacheWarm()
// once its set-up code has run (the first Netconsole made), so that the cache holds that code
// compiled, not only the top level. Elsewhere (dist/src/, the tests and the CLI) nothing is there
// and this does nothing.

/** Where the loader leaves its writer (a symbol of the process, seen by the bundle's copy). */
export const CODE_CACHE_KEY = Symbol.for('netconsole.codeCache.write');

/**
 * Writes the code cache, at most once a thread, off the caller's path: in the event loop's next
 * turn, which it holds (a process that ends right after its first line still writes it).
 */
export function codeCacheWarm(): void {
  const g = globalThis as Record<symbol, unknown>;
  const write = g[CODE_CACHE_KEY];
  if (typeof write !== 'function') return;
  delete g[CODE_CACHE_KEY];
  setImmediate(write as () => void);
}
