// remote_mac 'auto' (beyond the kernel): in raw mode, the destination MAC is the next hop's,
// resolved through the neighbour table when the target is enabled, and followed when the
// neighbour entry changes (rtnetlink). Over a veth pair between namespaces the test creates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonChild, type Line } from './helpers/json-child.js';
import { withNetns } from '../harness/netns.js';
import { requireNative, requireRoot } from './helpers/requires.js';

const SENDER = new URL('./workers/raw-sender.js', import.meta.url).pathname;
const SINK = new URL('./workers/raw-sink.js', import.meta.url).pathname;

test(
  "remote_mac 'auto': the next hop's MAC is resolved at enable and followed when the neighbour entry changes",
  { timeout: 60_000 },
  async (t) => {
    if (!requireRoot(t) || !requireNative(t)) return;
    await withNetns(['a', 'b'], async (ns) => {
      await ns.vethPair('a', 'vA', 'b', 'vB', '10.88.0.1/24', '10.88.0.2/24');
      await ns.exec('a', ['ip', 'addr', 'add', 'fd88::1/64', 'dev', 'vA', 'nodad']);
      await ns.exec('b', ['ip', 'addr', 'add', 'fd88::2/64', 'dev', 'vB', 'nodad']);
      const sink = new JsonChild('raw-sink', ns.runNode('b', SINK, []));
      const sender = new JsonChild(
        'raw-sender',
        ns.runNode('a', SENDER, [
          JSON.stringify([
            {
              name: 'auto',
              dev_name: 'vA',
              remote_ip: '10.88.0.2',
              remote_port: 6666,
              remote_mac: 'auto',
              extended: 1,
              enabled: 1,
            },
          ]),
          JSON.stringify({ devices: 'rtnetlink' }),
        ]),
      );
      try {
        await sink.ready();
        const ready = await sender.ready();
        assert.deepEqual(
          ready.targets,
          [{ name: 'auto', state: 'enabled', device: 'vA', mode: 'raw' }],
          JSON.stringify(ready),
        );
        const has = (text: string) => (o: Line) =>
          Buffer.from(String(o.data ?? ''), 'base64')
            .toString('latin1')
            .includes(text);

        await sender.ok(JSON.stringify({ send: ['via the resolved MAC'] }));
        await sink.waitLine('the datagram via the resolved MAC', has('via the resolved MAC'));

        // The peer changes its MAC, and A's neighbour entry follows (as ARP would).
        const mac = '02:00:00:00:88:42';
        await ns.exec('b', ['ip', 'link', 'set', 'vB', 'address', mac]);
        await ns.exec('a', ['ip', 'neigh', 'replace', '10.88.0.2', 'lladdr', mac, 'dev', 'vA', 'nud', 'permanent']);
        await new Promise((r) => setTimeout(r, 200));
        await sender.ok(JSON.stringify({ send: ['via the new MAC'] }));
        await sink.waitLine('the datagram via the new MAC', has('via the new MAC'));
        await sender.quitWith(JSON.stringify({ quit: true }));
        await sink.stop();
      } finally {
        await sender.kill();
        await sink.kill();
      }
    });
  },
);
