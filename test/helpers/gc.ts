// Forcing garbage collections from a test, in the main thread or a worker, without starting node
// with --expose-gc: the flag is set at run time and a new context gets the gc() function.
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { setImmediate as tick } from 'node:timers/promises';

/** gc(), or null when it cannot be had. */
export function gcFunction(): (() => void) | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    if (typeof gc === 'function') return gc as () => void;
  } catch {
    // not available
  }
  return null;
}

/** Collects until `done()` holds (FinalizationRegistry callbacks run in a later task, so each
 *  round lets the event loop turn), at most `rounds` rounds; returns whether it held. */
export async function collectUntil(gc: () => void, done: () => boolean, rounds = 50): Promise<boolean> {
  for (let i = 0; i < rounds; i++) {
    if (done()) return true;
    gc();
    await tick();
    await new Promise((r) => setTimeout(r, 10));
  }
  return done();
}

/** The listeners on `process`, all events together. */
export function processListeners(): number {
  return process.eventNames().reduce((n, e) => n + process.listenerCount(e), 0);
}

/** WebAssembly memories mapped: V8 reserves about 10 GiB of address space for each, so every
 *  mapping of 4 GiB or more in /proc/self/maps is one. */
export function wasmMappings(): number {
  let n = 0;
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (m && BigInt(`0x${m[2]}`) - BigInt(`0x${m[1]}`) >= 4n << 30n) n++;
  }
  return n;
}
