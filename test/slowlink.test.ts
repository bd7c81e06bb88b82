// A real slow link: a veth pair between two namespaces, the sender's side shaped by a `tbf`
// qdisc to 10 Mbit/s. The native sender meets a full socket buffer (EAGAIN: a small send buffer
// before a long qdisc queue) or a full qdisc (ENOBUFS: a short queue; UDP sockets see it through
// IP_RECVERR, AF_PACKET sockets directly), in UDP and in raw mode, raw mode through the device
// socket's TX ring (native/txring.h: a frame the kernel did not take stays until it does) and
// through sendmmsg (nativeSender.txRing: false). With overflow 'wait' nothing is lost; with 'drop'
// every loss is counted and reported in-band. The dgram sender (no addon) meets the full socket
// buffer in Node's send queue: from a worker's log calls it keeps at most one datagram there (its
// target waits in the ring meanwhile); from the host thread's, which cannot wait for the event
// loop, it spills into the queue (bounded); nothing lost either way.
//   a:vA 10.89.0.1/24 (tbf 10mbit)  <->  b:vB 10.89.0.2/24 (a C receiver, test/helpers/csink.ts)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { CSink } from './helpers/csink.js';
import { lastLine } from './helpers/json-child.js';
import { withNetns } from '../harness/netns.js';
import { writerRecords } from './helpers/records.js';
import { requireNative, requireRoot } from './helpers/requires.js';

const SENDER = fileURLToPath(new URL('./workers/slowlink-sender.js', import.meta.url));
const A = '10.89.0.1';
const B = '10.89.0.2';
const PORT = 6666;
const COUNT = 2000; // about 2.5 MB of records: 2 s at 10 Mbit/s

interface Case {
  mode: 'udp' | 'raw';
  overflow: 'wait' | 'drop';
  /** The qdisc's queue: 'long' holds seconds (the socket buffer fills first), 'short' 20 ms. */
  queue: 'long' | 'short';
  sendBufferBytes: number;
  ringSize?: number;
  expect: 'eagain' | 'enobufs' | 'either';
  /** Raw mode without the TX ring (sendmmsg). */
  noRing?: true;
  /** The dgram sender, the log calls made on the host thread or in a worker. */
  dgram?: 'host' | 'worker';
}

const CASES: Case[] = [
  { mode: 'udp', overflow: 'wait', queue: 'long', sendBufferBytes: 64 << 10, expect: 'eagain' },
  { mode: 'udp', overflow: 'wait', queue: 'short', sendBufferBytes: 4 << 20, expect: 'enobufs' },
  { mode: 'raw', overflow: 'wait', queue: 'long', sendBufferBytes: 64 << 10, expect: 'eagain' },
  { mode: 'raw', overflow: 'wait', queue: 'short', sendBufferBytes: 4 << 20, expect: 'enobufs' },
  { mode: 'raw', overflow: 'wait', queue: 'long', sendBufferBytes: 64 << 10, expect: 'eagain', noRing: true },
  { mode: 'raw', overflow: 'wait', queue: 'short', sendBufferBytes: 4 << 20, expect: 'enobufs', noRing: true },
  { mode: 'udp', overflow: 'drop', queue: 'short', sendBufferBytes: 4 << 20, ringSize: 64 << 10, expect: 'either' },
  { mode: 'raw', overflow: 'drop', queue: 'long', sendBufferBytes: 64 << 10, ringSize: 64 << 10, expect: 'either' },
  { mode: 'udp', overflow: 'wait', queue: 'long', sendBufferBytes: 64 << 10, expect: 'either', dgram: 'worker' },
  // A ring smaller than the records: the host thread's log calls have to make room.
  {
    mode: 'udp',
    overflow: 'wait',
    queue: 'long',
    sendBufferBytes: 64 << 10,
    ringSize: 256 << 10,
    expect: 'either',
    dgram: 'host',
  },
];
/** A datagram is at most 1,000 bytes, header included (MAX_PRINT_CHUNK): Node's queue holds one. */
const ONE_DATAGRAM = 1000;

interface Stats {
  lost: number;
  transmit: {
    eagain: number;
    enobufs: number;
    stalls: number;
    ringFrames: number;
    bypassFrames: number;
    spills: number;
    gsoDatagrams: number;
    gsoFallbacks: number;
  };
  targets: Array<{ lost: number; reported: number; dropped: number; lostInTransmit: number; mode: string }>;
}

describe('a slow link (tbf 10 Mbit/s on a veth pair)', () => {
  for (const c of CASES) {
    const who =
      c.dgram === undefined
        ? ''
        : `, dgram sender, log calls ${c.dgram === 'host' ? 'on the host thread' : 'in a worker'}`;
    const title = `${c.mode} mode${c.noRing ? ' (sendmmsg, no TX ring)' : ''}${who}, overflow '${c.overflow}', ${c.queue} qdisc queue, ${c.sendBufferBytes >> 10} KiB send buffer: ${
      c.dgram === 'worker'
        ? "at most one datagram in Node's send queue, nothing lost"
        : c.dgram === 'host'
          ? 'the log calls make room by spilling, nothing lost'
          : c.overflow === 'wait'
            ? `meets ${c.expect.toUpperCase()}, nothing lost`
            : 'every loss counted and reported in-band'
    }`;
    test(title, async (t) => {
      if ((c.dgram === undefined && !requireNative(t)) || !requireRoot(t)) return;
      await withNetns(['a', 'b'], async (ns) => {
        await ns.vethPair('a', 'vA', 'b', 'vB', `${A}/24`, `${B}/24`);
        await ns.steerToOneCpu('b', 'vB'); // tbf dequeues on any CPU: keep the order it dequeued in
        await ns.slowLink('a', 'vA', '10mbit', c.queue === 'long' ? '10s' : '20ms');
        const sink = await CSink.open({ ns: { handle: ns, name: 'b' }, address: B, port: PORT, idleMs: 1500 });
        const opts = {
          mode: c.mode,
          overflow: c.overflow,
          sendBufferBytes: c.sendBufferBytes,
          ringSize: c.ringSize,
          nativeSender: c.noRing ? { txRing: false } : undefined,
          ...(c.dgram ? { sender: 'dgram', writer: c.dgram === 'worker' ? 'worker' : undefined } : {}),
        };
        const { stats, peakQueued } = await lastLine<{ stats: Stats; peakQueued: number }>(
          ns.runNode('a', SENDER, [JSON.stringify(opts), B, String(PORT), String(COUNT)]),
        );
        const { datagrams, drops } = await sink.done();
        assert.equal(drops, 0, 'the receiver lost nothing');
        const tgt = stats.targets[0];
        assert.equal(tgt.mode, c.mode);
        const { eagain, enobufs } = stats.transmit;
        if (c.expect === 'eagain') assert.ok(eagain > 0, `EAGAIN met (${JSON.stringify(stats.transmit)})`);
        if (c.expect === 'enobufs') assert.ok(enobufs > 0, `ENOBUFS met (${JSON.stringify(stats.transmit)})`);
        assert.equal(tgt.lostInTransmit, 0, 'the sender retried; it lost nothing');
        assert.equal(
          stats.transmit.ringFrames > 0,
          c.mode === 'raw' && !c.noRing,
          'raw mode through the TX ring, unless asked not to',
        );
        assert.equal(stats.transmit.bypassFrames, 0, 'a configured qdisc (tbf) is never bypassed');
        // GSO runs (the native sender: UDP mode, and raw mode through the TX ring, where a run is one
        // frame with a GSO vnet header) pass the qdisc and the full buffers as single sends do; raw
        // mode's sendmmsg fallback sends its frames one by one (they have no vnet header).
        assert.equal(
          stats.transmit.gsoDatagrams > 0,
          c.dgram === undefined && (c.mode === 'udp' || !c.noRing),
          `GSO in UDP mode and through the TX ring only (${JSON.stringify(stats.transmit)})`,
        );
        assert.equal(stats.transmit.gsoFallbacks, 0, 'the kernel took every GSO send');
        if (c.dgram === 'worker') {
          assert.ok(peakQueued > 0, "the socket buffer filled: a datagram waited in Node's send queue");
          assert.ok(peakQueued <= ONE_DATAGRAM, `Node's send queue held at most one datagram (peak ${peakQueued} B)`);
        }
        if (c.dgram === 'host') assert.ok(stats.transmit.spills > 0, 'the log calls made room by spilling');

        const { records, reports, incomplete } = writerRecords(datagrams);
        assert.equal(incomplete, 0);
        if (c.overflow === 'wait') {
          assert.equal(stats.lost, 0);
          assert.equal(records.length, COUNT);
          assert.ok(
            records.every((v, i) => v === i),
            'in order',
          );
          assert.equal(reports.length, 0);
        } else {
          assert.ok(tgt.lost > 0, 'the ring overflowed');
          assert.equal(records.length + tgt.lost, COUNT, `received ${records.length} + lost ${tgt.lost}`);
          assert.equal(tgt.reported, tgt.lost);
          assert.equal(
            reports.reduce((x, y) => x + y, 0),
            tgt.lost,
          );
        }
      });
    });
  }
});
