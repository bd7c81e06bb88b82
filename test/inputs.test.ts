// What the library does with every value it is given: log calls (the value, the level, the
// options and the dictionary), the integrations (pino, winston, console) and `netconsole/wire`.
// A value either becomes text by the rules of src/writer.ts (toText) and src/validate.ts, or is
// rejected with a NetconsoleError carrying an errno code, and a rejected log call writes nothing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Core } from '../src/wasm.js';
import { ENCODER_CACHE, encodeMessage, type WireRecord } from '../src/wire.js';

// ---------------------------------------------------------------- netconsole/wire's encoders
describe('netconsole/wire: a bounded number of encoder memories', () => {
  const rec: WireRecord = { prio: 13, seq: 1n, tsUsec: 2n, text: 'x'.repeat(3000) };
  const ext = { extended: true };

  test(`the last ${ENCODER_CACHE} maxTotals keep theirs; the others are released`, () => {
    const made: Core[] = [];
    const released = new Set<Core>();
    const create = Core.create;
    const release = Core.prototype.release;
    Core.create = (...args) => {
      const core = create.apply(Core, args);
      made.push(core);
      return core;
    };
    Core.prototype.release = function (this: Core) {
      released.add(this);
      release.call(this);
    };
    try {
      // maxTotals no other test uses, so that none is cached already
      const caps = Array.from({ length: 3 * ENCODER_CACHE }, (_, i) => 4001 + i);
      for (const maxTotal of caps) encodeMessage(rec, ext, { maxTotal });
      assert.equal(made.length, caps.length, 'one memory for each new maxTotal');
      assert.equal(made.filter((c) => !released.has(c)).length, ENCODER_CACHE, 'only the last ones are kept');
      encodeMessage(rec, ext, { maxTotal: caps.at(-1) });
      assert.equal(made.length, caps.length, 'the most recent one is used again');
      const again = encodeMessage(rec, ext, { maxTotal: caps[0] });
      assert.equal(made.length, caps.length + 1, 'an evicted one is made anew');
      assert.deepEqual(again, encodeMessage(rec, ext, { maxTotal: caps[0], impl: 'reference' }));
    } finally {
      Core.create = create;
      Core.prototype.release = release;
    }
  });
});
