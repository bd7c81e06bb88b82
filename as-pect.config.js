// as-pect: the AssemblyScript unit specs in test/as. as-pect hands over a NON-shared memory, so
// this config makes a shared one matching asconfig.json (imported, shared; initial >= 32 pages,
// maximum <= 16384) and supplies every import the module declares (shared/notes/toolchain.md 4).
export default {
  entries: ['test/as/**/*.spec.ts'],
  include: ['test/as/**/*.include.ts'],
  disclude: [/node_modules/],
  async instantiate(_memory, createImports, instantiate, binary) {
    // Room for the whole layout (regions start at 1 MiB; the ring is last).
    const memory = new WebAssembly.Memory({ initial: 512, maximum: 16384, shared: true });
    const i32 = new Int32Array(memory.buffer);
    return instantiate(
      binary,
      createImports({
        env: {
          memory,
          futexWait(ptr, expected) {
            const r = Atomics.wait(i32, ptr >>> 2, expected, 5);
            return r === 'ok' ? 0 : r === 'not-equal' ? 1 : 2;
          },
          lockStalled() {},
          nowNs() {
            return performance.now() * 1e6;
          },
        },
      }),
    );
  },
  outputBinary: false,
};
