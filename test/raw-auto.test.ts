// remote_mac 'auto' (beyond the kernel): in raw mode, the destination MAC is the next hop's,
// resolved through the neighbour table when the target is enabled, and followed when the
// neighbour entry changes (rtnetlink). Over a veth pair between namespaces the test creates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { requireRoot, withNetns } from './helpers/netns.js';

const SENDER = new URL('./workers/raw-sender.js', import.meta.url).pathname;
const SINK = new URL('./workers/raw-sink.js', import.meta.url).pathname;

/** JSON lines of a child, awaited one predicate at a time. */
function lines(child: ChildProcess): (pred: (o: Record<string, unknown>) => boolean, ms?: number) => Promise<Record<string, unknown>> {
  const seen: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      seen.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      return;
    }
    for (const w of waiters.splice(0)) w();
  });
  let cursor = 0;
  return async (pred, ms = 10_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      for (; cursor < seen.length; cursor++) if (pred(seen[cursor])) return seen[cursor++];
      if (Date.now() > deadline) throw new Error(`timed out; last lines: ${JSON.stringify(seen.slice(-3))}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
}

test("remote_mac 'auto': the next hop's MAC is resolved at enable and followed when the neighbour entry changes", { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t)) return;
  await withNetns(['a', 'b'], async (ns) => {
    await ns.vethPair('a', 'vA', 'b', 'vB', '10.88.0.1/24', '10.88.0.2/24');
    await ns.exec('a', ['ip', 'addr', 'add', 'fd88::1/64', 'dev', 'vA', 'nodad']);
    await ns.exec('b', ['ip', 'addr', 'add', 'fd88::2/64', 'dev', 'vB', 'nodad']);
    const sink = ns.runNode('b', SINK, []);
    const sent = ns.runNode('a', SENDER, [
      JSON.stringify([{ name: 'auto', dev_name: 'vA', remote_ip: '10.88.0.2', remote_port: 6666, remote_mac: 'auto', extended: 1, enabled: 1 }]),
      JSON.stringify({ devices: 'rtnetlink' }),
    ]);
    try {
      const fromSink = lines(sink);
      const fromSender = lines(sent);
      await fromSink((o) => o.ready === true);
      const ready = await fromSender((o) => o.ready === true || o.fatal !== undefined);
      assert.deepEqual(ready.targets, [{ name: 'auto', state: 'enabled', device: 'vA', mode: 'raw' }], JSON.stringify(ready));
      const text = (o: Record<string, unknown>) => Buffer.from(String(o.data ?? ''), 'base64').toString('latin1');

      sent.stdin!.write(`${JSON.stringify({ send: ['via the resolved MAC'] })}\n`);
      await fromSink((o) => text(o).includes('via the resolved MAC'));

      // The peer changes its MAC, and A's neighbour entry follows (as ARP would).
      const mac = '02:00:00:00:88:42';
      await ns.exec('b', ['ip', 'link', 'set', 'vB', 'address', mac]);
      await ns.exec('a', ['ip', 'neigh', 'replace', '10.88.0.2', 'lladdr', mac, 'dev', 'vA', 'nud', 'permanent']);
      await new Promise((r) => setTimeout(r, 200));
      sent.stdin!.write(`${JSON.stringify({ send: ['via the new MAC'] })}\n`);
      await fromSink((o) => text(o).includes('via the new MAC'));
    } finally {
      sent.stdin?.end(`${JSON.stringify({ quit: true })}\n`);
      sink.kill();
      sent.kill();
    }
  });
});
