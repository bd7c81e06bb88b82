// Seeded randomness for the tests and the lossy relay: a failure names its seed and can be
// replayed with it.

/** mulberry32: a small deterministic PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed in environment variable `name` (to replay a run), else a random one. */
export function seedFrom(name: string): number {
  const v = process.env[name];
  return v !== undefined ? Number(v) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}
