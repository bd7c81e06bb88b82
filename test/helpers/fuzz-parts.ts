// The pieces of the input fuzz tests (test/inputs-fuzz.test.ts, test/wire-fuzz.test.ts): an input
// is built of parts, each of which the rules accept or not, so that a property can say that an
// input is taken exactly when every part of it is acceptable.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NetconsoleError } from '../../src/base/errors.js';

/** NETCONSOLE_FUZZ_RUNS cases per property (default 300); NETCONSOLE_FUZZ_SEED replays a run. */
export const RUNS = Number(process.env.NETCONSOLE_FUZZ_RUNS ?? 300);
export const FUZZ = {
  numRuns: RUNS,
  seed: process.env.NETCONSOLE_FUZZ_SEED ? Number(process.env.NETCONSOLE_FUZZ_SEED) : undefined,
};
/** A hang fails the test; a long manual run may take what it takes. */
export const TIMEOUT = { timeout: process.env.NETCONSOLE_FUZZ_RUNS ? Infinity : 120_000 };

/** One part of an input: whether the rules accept it, how to make it (fresh: Proxies are made at
 *  call time, never printed by fast-check), and what it is. */
export interface Part {
  ok: boolean;
  make: () => unknown;
  what: string;
}
export const parts = <V>(arb: fc.Arbitrary<V>, ok = true): fc.Arbitrary<Part> =>
  arb.map((v) => ({ ok, make: () => v, what: fc.stringify(v).slice(0, 200) }));
export const named = (ok: boolean, list: Array<[string, () => unknown]>): fc.Arbitrary<Part> =>
  fc.constantFrom(...list.map(([what, make]): Part => ({ ok, make, what })));
/** Mostly `good` (weight 24), sometimes `bad`. */
export const mostly = (good: fc.Arbitrary<Part>, ...bad: Array<fc.Arbitrary<Part>>): fc.Arbitrary<Part> =>
  fc.oneof({ weight: 24, arbitrary: good }, ...bad);
/** An object of parts: acceptable when every field is. */
export const objectOf = (fields: fc.Arbitrary<Record<string, Part>>): fc.Arbitrary<Part> =>
  fields.map((f) => ({
    ok: Object.values(f).every((p) => p.ok),
    what: `{ ${describeParts(f)} }`,
    make: () => Object.fromEntries(Object.entries(f).map(([k, p]) => [k, p.make()])),
  }));
/** A part the rules accept when String() works on it (for fc.anything's values). */
export const byString = (arb: fc.Arbitrary<unknown>): fc.Arbitrary<Part> =>
  arb.map((v) => {
    let ok = true;
    try {
      String(v);
    } catch {
      ok = false;
    }
    return { ok, make: () => v, what: 'a value of fc.anything' };
  });
export const describeParts = (f: Record<string, Part>): string =>
  Object.entries(f)
    .map(([k, p]) => `${k}=${p.what}${p.ok ? '' : ' (bad)'}`)
    .join(', ');

/** Runs `call`: its result, or the NetconsoleError it threw (anything else fails the test). */
export function attempt<R>(call: () => R): { ok: true; result: R } | { ok: false; error: NetconsoleError } {
  try {
    return { ok: true, result: call() };
  } catch (e) {
    assert.ok(e instanceof NetconsoleError, `a raw error: ${e instanceof Error ? e.stack : String(e)}`);
    assert.match(e.code, /^E[A-Z]+$/);
    assert.ok(typeof e.option === 'string' && e.option !== '', `the error names the option: ${e.message}`);
    return { ok: false, error: e };
  }
}

export const verdict = (r: { ok: boolean; error?: NetconsoleError }): string =>
  r.ok ? 'took' : `refused (${r.error!.message})`;
