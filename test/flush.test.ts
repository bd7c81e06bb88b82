// flush() with the native sender (src/sender/native.ts): the sender thread tells the host when its
// RING_TAIL passed the position a flush waits for (a thread-safe function, armed with notifyAt),
// instead of the host polling for it. Checked: each flush resolves only once what it waited for
// was handed to the kernel (and it arrives), flushes waiting at once for different positions all
// resolve, the thread counted the notifications it made (a broken notification would leave them
// to the 50 ms safety net: tailNotifies 0), and a script whose
// last line is `await nc.flush()` is kept alive until it resolves (the notification is unref'd).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { withSinkNetconsole } from './helpers/netconsole.js';
import { requireNative } from './helpers/requires.js';
import { Sink } from './helpers/udp.js';

const LIBRARY = fileURLToPath(new URL('../src/host/netconsole.js', import.meta.url));

interface Internals {
  core: { ring: { head(): number; tail(): number } };
  sender: { thread: { stats(): { tailNotifies: number } } };
}

test('native sender: each flush() resolves once its records are in the kernel, told by the thread; flushes waiting at once all resolve', async (t) => {
  if (!requireNative(t)) return;
  await withSinkNetconsole(
    (sink) => ({ sender: 'native', targets: `@/,${sink.port}@127.0.0.1/` }),
    async (nc, sink) => {
      const inner = nc as unknown as Internals;
      const ring = inner.core.ring;
      for (let i = 0; i < 50; i++) {
        nc.info(`one ${i}`);
        const pos = ring.head();
        await nc.flush();
        assert.ok(ring.tail() >= pos, `flush ${i} resolved at tail ${ring.tail()} before ${pos}`);
      }
      await sink.until((g) => g.length >= 50);
      // Several at once, each for its own position, resolved in any order but each after its own.
      const waits: Array<Promise<void>> = [];
      for (let i = 0; i < 20; i++) {
        for (let k = 0; k <= i; k++) nc.info(`many ${i}.${k}`);
        const pos = ring.head();
        waits.push(nc.flush().then(() => assert.ok(ring.tail() >= pos, `a concurrent flush before ${pos}`)));
      }
      await Promise.all(waits);
      await sink.until((g) => g.length >= 50 + 210);
      assert.equal(sink.got.length, 260);
      const told = inner.sender.thread.stats().tailNotifies;
      assert.ok(told >= 1, `the thread told the waiters (tailNotifies ${told})`);
    },
  );
});

test('native sender: a script whose last line is `await nc.flush()` stays until it resolves, and its records arrive', async (t) => {
  if (!requireNative(t)) return;
  const sink = await Sink.open();
  try {
    const script = [
      `const { Netconsole } = await import(${JSON.stringify(LIBRARY)});`,
      `const nc = await Netconsole.create({ devices: 'none', env: false, sender: 'native', targets: '@/,${sink.port}@127.0.0.1/' });`,
      `for (let i = 0; i < 500; i++) nc.info('line ' + i);`,
      `await nc.flush();`,
      `console.log('flushed ' + (nc.stats().targets[0].sent ?? ''));`,
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, 'exit 0: not "unsettled top-level await" (13)');
    assert.match(out, /^flushed/);
    await sink.until((g) => g.length >= 500);
    assert.equal(sink.got.length, 500);
  } finally {
    await sink.close();
  }
});
