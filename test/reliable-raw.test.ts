// A reliable target in raw mode (docs/reliable.md): its messages leave as frames the library
// builds, on an AF_PACKET socket; the receiver's replies come back through the kernel's UDP stack
// to the replies' socket bound to the target's local port, and resends go out on that socket.
// Inside two namespaces the test makes (removed also on failure):
//   a:vA 10.91.0.1/24  the sender (raw mode, the native sender)
//   b:vB 10.91.0.2/24  a relay dropping a seeded 5% of the datagrams (test/workers/lossy-relay.ts),
//                      then `netconsole listen --ack` on b's loopback
// Counts what arrived: every message whole and in order, and the resends that made it so.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { withNetns } from '../harness/netns.js';
import { recordText } from './helpers/records.js';
import { requireNative, requireRoot } from './helpers/requires.js';
import type { SenderResult } from './workers/reliable-sender.js';

const CLI = fileURLToPath(new URL('../src/faces/cli.js', import.meta.url));
const SENDER = fileURLToPath(new URL('./workers/reliable-sender.js', import.meta.url));
const RELAY = fileURLToPath(new URL('./workers/lossy-relay.js', import.meta.url));
const [A, B] = ['10.91.0.1', '10.91.0.2'];
const COUNT = 2000;
const SEED = Number(process.env.NETCONSOLE_PROXY_SEED ?? Math.floor(Math.random() * 2 ** 32));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The child's stdout as lines (as they come) and its stderr. */
function collect(child: ChildProcess): { lines: string[]; err: () => string } {
  const lines: string[] = [];
  let partial = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    lines.push(...parts.filter((p) => p !== ''));
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return { lines, err: () => err };
}

async function until(pred: () => boolean, what: () => string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await sleep(20);
  }
}

describe('a reliable target in raw mode, over a veth pair', () => {
  test(`frames out, replies and resends through the UDP stack: ${COUNT} messages through a 5% lossy relay all arrive whole and in order (seed ${SEED})`, async (t) => {
    if (!requireNative(t) || !requireRoot(t)) return;
    await withNetns(['a', 'b'], async (ns) => {
      await ns.vethPair('a', 'vA', 'b', 'vB', `${A}/24`, `${B}/24`);
      const listen = ns.spawn('b', process.execPath, [
        CLI,
        'listen',
        '--address',
        '127.0.0.1',
        '--port',
        '0',
        '--ack',
        '--json',
        '--ack-interval',
        '200',
        '--retx-interval',
        '200',
        '--msg-timeout',
        '60000',
      ]);
      const rx = collect(listen);
      await until(
        () => /listening on .*:(\d+)/.test(rx.err()),
        () => `listen to start: ${rx.err()}`,
        15_000,
      );
      const relay = ns.runNode('b', RELAY, [B, /listening on .*:(\d+)/.exec(rx.err())![1], String(SEED), '0.05']);
      const rl = collect(relay);
      await until(
        () => rl.lines.length > 0,
        () => `the relay to start: ${rl.err()}`,
        15_000,
      );
      const port = (JSON.parse(rl.lines[0]) as { port: number }).port;
      const sender = ns.runNode('a', SENDER, [JSON.stringify({ mode: 'raw' }), B, String(port), String(COUNT), '0']);
      const tx = collect(sender);
      const messages = (): Array<Record<string, unknown>> =>
        rx.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === undefined);
      await until(
        () => rx.lines.length >= COUNT,
        () => `${COUNT} messages (${rx.lines.length}; sender: ${tx.lines.join(' ')} ${tx.err()})`,
        60_000,
      );
      sender.stdin!.end();
      const [code] = await once(sender, 'exit');
      assert.equal(code, 0, tx.err());
      relay.stdin!.end();
      await once(relay, 'exit');
      const result = (JSON.parse(tx.lines.at(-1)!) as { result: SenderResult }).result;
      const stats = (JSON.parse(rl.lines.at(-1)!) as { stats: { forwardDropped: number; replies: number } }).stats;
      const got = messages();
      assert.equal(got.length, COUNT, `exactly ${COUNT} messages, nothing else (seed ${SEED})`);
      assert.deepEqual(
        got.map((l) => l.text),
        Array.from({ length: COUNT }, (_, i) => recordText(0, i)),
        `whole, in order (seed ${SEED})`,
      );
      assert.equal(result.mode, 'raw');
      assert.ok(
        stats.forwardDropped > 0 && stats.replies > 0,
        `the relay dropped and the receiver replied: ${JSON.stringify(stats)}`,
      );
      assert.ok(
        result.reliable.replies > 0 && result.reliable.resends > 0,
        `the replies reached the raw target's socket and it resent: ${JSON.stringify(result.reliable)}`,
      );
      assert.equal(result.lost, 0);
      listen.kill('SIGINT');
      await once(listen, 'exit');
    });
  });
});
