// Crash capture, the oops_only of this world: a child process that crashes; the receiver gets the
// error and its stack before the child has exited, and Node's own crash handling is unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { requireNative } from './helpers/requires.js';
import { Sink } from './helpers/udp.js';

const SCRIPT = new URL('./workers/crasher.js', import.meta.url).pathname;

for (const [how, prio, oopsOnly] of [
  ['throw', 8, '0'],
  ['reject', 10, '0'],
  ['throw', 8, '1'],
] as const) {
  test(`${how === 'throw' ? 'an uncaught exception (emerg)' : 'an unhandled rejection (crit)'}${oopsOnly === '1' ? ', oopsOnly' : ''}: the stack arrives before the process exits`, async (t) => {
    if (!requireNative(t)) return; // a synchronous drain needs the native sender
    const sink = await Sink.open();
    try {
      const child = spawn(process.execPath, [SCRIPT, String(sink.port), how, oopsOnly], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
      assert.equal(code, 1, "Node's exit code for a crash is unchanged");
      assert.match(stderr, new RegExp(`Error: the crash \\(${how}\\)`), "Node's report on stderr is unchanged");
      await sink.until((g) => g.some((x) => x.data.toString().includes('Error: the crash')));
      const ring = /ring used=(\d+) records=(\d+) sent=(\d+)/.exec(stdout);
      assert.ok(
        ring && ring[1] === '0' && Number(ring[3]) > 0,
        `the crash record was in the kernel before Node's crash handling went on (${stdout.trim()})`,
      );
      const texts = sink.texts();
      const crash = texts.find((x) => x.includes('Error: the crash'))!;
      assert.match(
        crash,
        new RegExp(`^${prio},\\d+,\\d+,-;Error: the crash \\(${how}\\)\\\\x0a    at `),
        'level and stack',
      );
      assert.equal(
        texts.some((x) => x.includes('an ordinary record')),
        oopsOnly === '0',
        'oopsOnly sends nothing else',
      );
    } finally {
      await sink.close();
    }
  });
}
