// Scenario checksum: the Internet checksum (RFC 1071) raw mode computes for every frame, in
// GB/s over 64 B, 1,500 B (a frame) and 9,000 B (a jumbo frame): the WebAssembly SIMD loop the
// frame builder uses (export csum_simd), its scalar loop (csum_scalar), the C build of that same
// scalar loop (harness/c/csum.c, gcc -O2, one process per run), and the TypeScript reference.
import { execFileSync } from 'node:child_process';
import { onesComplementSum } from '../src/reference/checksum.js';
import { Core } from '../src/core/wasm.js';
import { compile } from '../harness/cc.js';
import { opsPerSec, type Case, type Scenario } from './harness.js';

const SIZES = { full: [64, 1500, 9000], quick: [1500], smoke: [1500] };
const ROUND_MS = { full: 200, quick: 60, smoke: 10 };

export const scenario: Scenario = {
  name: 'checksum',
  about: 'Internet checksum GB/s: WebAssembly SIMD and scalar vs a C build of the same loop (and the TS reference)',
  cases(ctx) {
    const targetMs = ROUND_MS[ctx.profile];
    return SIZES[ctx.profile].map((bytes): Case => {
      let core: Core;
      const data = new Uint8Array(bytes).map((_, i) => (i * 131 + 7) & 0xff);
      return {
        scenario: 'checksum',
        params: { bytes },
        unit: 'GB/s',
        higherIsBetter: true,
        baseline: 'c',
        subjects: ['wasm-simd', 'wasm-scalar', 'c', 'reference'],
        async around(body) {
          core = Core.create({ ringSize: 64 << 10 });
          core.text.set(data);
          try {
            await body();
          } finally {
            core.release();
          }
        },
        measure(subject) {
          if (subject === 'c') {
            const n = Math.max(1000, Math.round((targetMs * 1e6) / (bytes / 8)));
            const ns = Number(
              execFileSync(compile('csum'), [String(bytes), String(n)], { encoding: 'utf8' }).split(' ')[0],
            );
            return { value: bytes / ns };
          }
          let sink = 0;
          const ptr = core.textAt;
          const f = subject === 'wasm-simd' ? core.exports.csum_simd : core.exports.csum_scalar;
          const run =
            subject === 'reference'
              ? (n: number): void => {
                  for (let i = 0; i < n; i++) sink += onesComplementSum(data);
                }
              : (n: number): void => {
                  for (let i = 0; i < n; i++) sink += f(ptr, bytes);
                };
          const value = (opsPerSec(run, { targetMs }) * bytes) / 1e9;
          return { value, extra: { checksum: sink & 0xffff } };
        },
      };
    });
  },
};
