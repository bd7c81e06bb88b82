// Records logged just before a process ends still go out, without flush() or close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { requireSender } from './helpers/requires.js';
import { Sink } from './helpers/udp.js';

const SCRIPT = new URL('./workers/exit-logger.js', import.meta.url).pathname;
const cases = [
  ['native', 'natural'],
  ['native', 'exit'],
  ['dgram', 'natural'],
  ['dgram', 'exit'],
] as const;

for (const [sender, how] of cases) {
  test(`${sender} sender: all 2,000 records arrive when the process ends ${how === 'exit' ? 'by process.exit()' : 'naturally'}`, async (t) => {
    if (!requireSender(t, sender)) return;
    const sink = await Sink.open();
    try {
      const child = spawn(process.execPath, [SCRIPT, String(sink.port), how, sender], { stdio: 'inherit' });
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
      await sink.until((g) => g.length >= 2000);
      assert.equal(sink.got.length, 2000);
    } finally {
      await sink.close();
    }
  });
}
