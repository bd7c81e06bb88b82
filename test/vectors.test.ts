// Every known-answer case of shared/vectors/wire.json, through the public encoding API, by the
// WebAssembly write path and by the plain-TypeScript reference.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { encodeFrame, encodeMessage } from '../src/core/wire.js';
import { hex, SHARED_VECTORS_URL, toFrame, toRecord, vectors, VECTORS_URL } from './helpers/vectors.js';

const IMPLS = ['wasm', 'reference'] as const;

for (const impl of IMPLS) {
  describe(`${impl}: wire vectors`, () => {
    for (const c of vectors.wire) {
      test(`${impl} wire ${c.name}`, () => {
        const { datagrams, truncated } = encodeMessage(toRecord(c.record), c.target, { impl });
        assert.deepEqual(datagrams.map(hex), c.datagrams_hex);
        assert.equal(truncated, false);
      });
    }
  });
  describe(`${impl}: frame vectors`, () => {
    for (const c of vectors.frames) {
      test(`${impl} frame ${c.name}`, () => {
        assert.equal(hex(encodeFrame(toFrame(c), { impl })), c.frame_hex);
      });
    }
  });
}

test('the vectors are a current copy of shared/vectors/wire.json', (t) => {
  if (!existsSync(SHARED_VECTORS_URL)) return t.skip('no ../shared beside the repository (not a project checkout)');
  assert.equal(readFileSync(VECTORS_URL, 'utf8'), readFileSync(SHARED_VECTORS_URL, 'utf8'));
});
