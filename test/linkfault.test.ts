// Faults on the path to a target, made for real on a veth pair between two namespaces while a
// process logs about 50,000 records a second: the peer's carrier lost for 300 ms, the local device
// taken down and up ten times, the neighbour entry flushed. The kernel drops what it is handed in
// such moments without failing the send (docs/targets.md, "When the path fails"); the library
// holds a target's records while its path cannot carry them and counts what it gives up. So:
// every record arrives whole, once and in order, or is counted lost and reported in-band; the
// only slack is `unconfirmed`, messages handed over in the instant the carrier went, counted lost
// although some of them may have arrived. A carrier lost for longer than `holdMs` is given up:
// what was held is counted lost, and the records logged after the link is back arrive.
//   a:vA 10.91.0.1/24  <->  b:vB 10.91.0.2/24 (a C receiver, test/helpers/csink.ts)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Reassembler, type Message } from '../src/receiver/receiver.js';
import type { TargetStats } from '../src/index.js';
import { CSink } from './helpers/csink.js';
import { withNetns, type NetnsHandle } from '../harness/netns.js';
import { parseRecordText, recordText, reportCount } from './helpers/records.js';
import { requireNative, requireSender, requireRoot } from './helpers/requires.js';

const SENDER = fileURLToPath(new URL('./workers/linkfault-sender.js', import.meta.url));
const A = '10.91.0.1';
const B = '10.91.0.2';
const PORT = 6666;
const BURST_MS = 2000;
const FAULT_AT_MS = 600;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Fault = 'carrier' | 'flap' | 'neigh' | 'outage';
interface Case {
  fault: Fault;
  sender: 'native' | 'dgram';
  mode: 'udp' | 'raw';
  size: 'small' | 'mixed';
  rate: number;
  /** The `holdMs` option, when not the default. */
  holdMs?: number;
  /** Raw mode without the TX ring (sendmmsg). */
  noRing?: true;
}

/** The peer taken down for `ms`: the local device loses its carrier. */
const peerDown =
  (ms: number) =>
  async (ns: NetnsHandle): Promise<void> => {
    await ns.exec('b', ['ip', 'link', 'set', 'vB', 'down']);
    await sleep(ms);
    await ns.exec('b', ['ip', 'link', 'set', 'vB', 'up']);
  };

const FAULTS: Record<Fault, { title: string; make(ns: NetnsHandle): Promise<void> }> = {
  carrier: { title: "the peer's carrier lost for 300 ms", make: peerDown(300) },
  flap: {
    title: 'the local device down and up 10 times',
    async make(ns) {
      for (let k = 0; k < 10; k++) {
        await ns.exec('a', ['ip', 'link', 'set', 'vA', 'down']);
        await ns.exec('a', ['ip', 'link', 'set', 'vA', 'up']);
        await sleep(40);
      }
    },
  },
  outage: { title: "the peer's carrier lost for 1 s, longer than holdMs (300 ms)", make: peerDown(1000) },
  neigh: {
    title: 'the neighbour entry flushed 5 times',
    async make(ns) {
      for (let k = 0; k < 5; k++) {
        // `ip neigh flush` fails when it finds no entry to flush (one may be resolving again)
        await ns.exec('a', ['ip', 'neigh', 'flush', 'dev', 'vA']).catch(() => {});
        await sleep(100);
      }
    },
  },
};

const CASES: Case[] = [];
for (const fault of ['carrier', 'flap', 'neigh'] as const) {
  CASES.push({ fault, sender: 'native', mode: 'udp', size: 'small', rate: 50_000 });
  CASES.push({ fault, sender: 'dgram', mode: 'udp', size: 'small', rate: 50_000 });
  CASES.push({ fault, sender: 'native', mode: 'raw', size: 'small', rate: 50_000 });
}
CASES.push({ fault: 'carrier', sender: 'native', mode: 'raw', size: 'small', rate: 50_000, noRing: true });
CASES.push({ fault: 'outage', sender: 'native', mode: 'udp', size: 'small', rate: 50_000, holdMs: 300 });
CASES.push({ fault: 'outage', sender: 'dgram', mode: 'udp', size: 'small', rate: 50_000, holdMs: 300 });
CASES.push({ fault: 'carrier', sender: 'native', mode: 'udp', size: 'mixed', rate: 8_000 });
CASES.push({ fault: 'flap', sender: 'dgram', mode: 'udp', size: 'mixed', rate: 8_000 });

interface Outcome {
  logged: number;
  t: TargetStats;
  received: number[];
  reported: number[];
  incomplete: number;
  duplicates: number;
  drops: number;
}

async function run(ns: NetnsHandle, c: Case): Promise<Outcome> {
  await ns.vethPair('a', 'vA', 'b', 'vB', `${A}/24`, `${B}/24`);
  const sink = await CSink.open({ ns: { handle: ns, name: 'b' }, address: B, port: PORT, idleMs: 2500 });
  const opts = {
    sender: c.sender,
    mode: c.mode,
    devices: 'rtnetlink',
    ...(c.holdMs === undefined ? {} : { holdMs: c.holdMs }),
    ...(c.noRing ? { nativeSender: { txRing: false } } : {}),
  };
  const child = ns.runNode('a', SENDER, [
    JSON.stringify(opts),
    B,
    String(PORT),
    String(BURST_MS),
    String(c.rate),
    c.size,
  ]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const closed = once(child, 'close');
  while (!out.includes('go\n')) {
    if (child.exitCode !== null) break;
    await sleep(10);
  }
  await sleep(FAULT_AT_MS);
  await FAULTS[c.fault].make(ns);
  // The record that carries the last report is logged once the fault is over.
  child.stdin!.end('over\n');
  const [code] = await closed;
  assert.equal(code, 0, err);
  const { logged, stats } = JSON.parse(out.trim().split('\n').pop()!) as {
    logged: number;
    stats: { targets: TargetStats[]; transmit: { ringFrames: number } };
  };
  assert.equal(
    stats.transmit.ringFrames > 0,
    c.mode === 'raw' && !c.noRing,
    'raw mode through the TX ring, unless asked not to',
  );
  const { datagrams, drops } = await sink.done();

  const r = new Reassembler({ maxPending: 1 << 16, maxPendingBytes: 1 << 30 });
  const received: number[] = [];
  const reported: number[] = [];
  const seen = new Set<number>();
  let incomplete = 0;
  let duplicates = 0;
  r.on('message', (m: Message) => {
    if (m.incomplete) return void incomplete++;
    const n = reportCount(m.text);
    if (n !== null) return void reported.push(n);
    const id = parseRecordText(m.text);
    if (id === null || id.writer !== 0) return;
    const want = c.size === 'mixed' ? recordText(0, id.i) : `w0 r${id.i} `.padEnd(100, 'x');
    assert.equal(m.text, want, `record ${id.i} arrived whole`);
    if (seen.has(id.i)) duplicates++;
    seen.add(id.i);
    received.push(id.i);
  });
  for (const d of datagrams) r.push(d, 'a');
  r.flushPending();
  return { logged, t: stats.targets[0]!, received, reported, incomplete, duplicates, drops };
}

describe('faults on the path: nothing lost without a word', () => {
  for (const c of CASES) {
    const title = `${FAULTS[c.fault].title}, ${c.sender} sender, ${c.mode} mode${c.noRing ? ' (sendmmsg, no TX ring)' : ''}, ${c.size} records at ${c.rate}/s: delivered or counted, reported`;
    test(title, { timeout: 120_000 }, async (t) => {
      if (!requireRoot(t) || !requireSender(t, c.sender) || (c.mode === 'raw' && !requireNative(t))) return;
      await withNetns(['a', 'b'], async (ns) => {
        const o = await run(ns, c);
        const missing = o.logged - o.received.length;
        const detail = `logged ${o.logged}, received ${o.received.length}, lost ${o.t.lost} (skipped ${o.t.skipped}, dropped ${o.t.dropped}, in transmit ${o.t.lostInTransmit}, unconfirmed ${o.t.unconfirmed}), holds ${o.t.holds}, reported ${o.t.reported}, reports ${o.reported.join('+')}`;
        t.diagnostic(detail);
        assert.equal(o.drops, 0, 'the receiver lost nothing');
        assert.equal(o.duplicates, 0, 'each record once');
        assert.ok(
          o.received.every((v, i) => i === 0 || v > o.received[i - 1]!),
          'in order',
        );
        // Every record that did not arrive is counted; what is counted beyond them was handed to
        // the kernel as the carrier went (unconfirmed).
        assert.ok(o.t.lost >= missing, `every missing record counted: ${detail}`);
        assert.ok(
          o.t.lost - missing <= o.t.unconfirmed,
          `counted beyond the missing only what is unconfirmed: ${detail}`,
        );
        // ... and reported in-band: the reports arrived and add up to every loss. A report the
        // path lost is told again; one handed over as the carrier went may also have arrived (then
        // some losses are told twice, never none).
        const told = o.reported.reduce((x, y) => x + y, 0);
        assert.equal(o.t.reported, o.t.lost, detail);
        assert.ok(told >= o.t.lost, `the reports arrived: ${detail}`);
        if (o.t.unconfirmed === 0) assert.equal(told, o.t.lost, `each loss told once: ${detail}`);
        if (c.fault !== 'neigh' || c.mode === 'udp') assert.ok(o.t.holds > 0, `the path was held: ${detail}`);
        if (c.fault === 'carrier') assert.equal(o.t.skipped, 0, 'a lost carrier skips nothing: the records wait');
        // A flap or a flush holds the path for milliseconds, far less than the ring's 4 MiB; on a
        // busy machine (two CPU hogs) a hold outlasted it once by 711 of 100,000 records. A probe
        // refused with ENETUNREACH (the device up before its route) once stayed "in flight" and held
        // the target for holdMs: 22-30% of the records were dropped for want of room.
        if (c.fault === 'flap' || c.fault === 'neigh')
          assert.ok(o.t.dropped <= o.logged / 20, `each hold ended with its fault: ${detail}`);
        if (c.fault === 'outage') {
          // Held for holdMs, then given up and counted; flush() did not wait for the link.
          assert.ok(o.t.lostInTransmit > 0, `what was held was given up: ${detail}`);
          assert.ok(o.received.includes(o.logged - 1), `records logged after the link came back arrived: ${detail}`);
        }
      });
    });
  }
});
