// Canary for the Node 20 / V8 11.3 Liftoff bug (docs/toolchain.md 2.2): a local that is
// live across memory.atomic.wait32 gets clobbered by the baseline compiler. The library never
// waits inside WebAssembly (the spinlock parks through the env.futexWait import), and npm test runs
// the specs with --no-liftoff; this spec fails on plain `node` as long as the bug is there, and
// tells us when a runtime upgrade fixes (or re-breaks) it.
const CANARY: usize = 1024; // header region, unused by the layout

function keepAcrossWait(p: usize, x: i32): i32 {
  const keep = x + 41;
  atomic.wait<i32>(p, 12345, 0); // the value differs: returns "not-equal" at once
  return keep;
}

describe('V8 Liftoff canary', () => {
  it('a local survives memory.atomic.wait32', () => {
    store<i32>(CANARY, 0);
    expect<i32>(keepAcrossWait(CANARY, 1)).toBe(42);
  });
});
