// UDP GSO (native/drain.h): the native sender hands a run of one target's datagrams of one length
// (the last maybe shorter) to the kernel as one send with a UDP_SEGMENT size, and the kernel cuts
// it into those datagrams again. What arrives must be exactly what one-by-one sends deliver:
// here, for IPv4 and IPv6, extended and plain targets, the datagrams of the same records sent both
// ways are compared one by one (their timestamps aside), mixed sizes and fragmented messages
// included, and a run that is cut wrongly would arrive as datagrams without a header.
// Raw mode does the same through the device socket's TX ring (native/txring.h: a run is one frame
// with a GSO vnet header, which the kernel cuts): over a veth pair, with the device's checksum
// offload on (the run crosses the pair whole, past the qdisc; IPv4 and IPv6) and off (a run
// dropped past the qdisc turns the bypass off, and the qdisc's path cuts and sums it in software;
// b's kernel checks the sums), the frames of the same records sent both ways deliver the same
// datagrams.
// Where the kernel refuses GSO on a target's path (here an MTU of 576 below 1,000-byte
// datagrams: EMSGSIZE, where a single send is fragmented by IP instead), the target falls back to
// one datagram per send and nothing is lost.
//   a:gA 10.93.0.1/24 mtu 576  <->  b:gB 10.93.0.2/24 mtu 576 (a C receiver, test/helpers/csink.ts)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Netconsole } from '../src/index.js';
import { CSink } from './helpers/csink.js';
import { lastLine } from './helpers/json-child.js';
import { setTxChecksum, waitOperUp } from './helpers/ip.js';
import { withNetns } from '../harness/netns.js';
import { recordText, writerRecords } from './helpers/records.js';
import { requireNative, requireRoot } from './helpers/requires.js';

const SENDER = fileURLToPath(new URL('./workers/slowlink-sender.js', import.meta.url));
/** Records of recordText's mixed sizes (some fragmented), then runs of one size. */
const MIXED = 400;
const RUN = 3000;

interface Transmit {
  gsoDatagrams: number;
  gsoFallbacks: number;
  ringFrames: number;
  bypassFrames: number;
}

/** Extended and plain records carry their timestamps; the rest of a datagram is compared. */
function untimed(d: Buffer): string {
  return d
    .toString('latin1')
    .replace(/^(\d+,\d+,)\d+/, '$1T')
    .replace(/^\[ *\d+\.\d+\] /, '[T] ');
}

/** The same datagrams, or the first that differs. */
function sameDatagrams(a: string[], b: string[], what: string): void {
  assert.equal(a.length, b.length, `${what}: as many datagrams`);
  for (let i = 0; i < a.length; i++)
    if (a[i] !== b[i]) assert.fail(`${what}, datagram ${i} differs:\n GSO ${a[i]}\n one by one ${b[i]}`);
}

/**
 * Logs the records to `targets` targets on loopback (one socket: the same source address and
 * port, so their slots take turns in each batch); returns what each target's receiver got and
 * the sender's counters.
 */
async function send(
  family: 4 | 6,
  extended: boolean,
  gso: boolean,
  targets = 1,
): Promise<{ datagrams: string[][]; transmit: Transmit; lost: number }> {
  const address = family === 4 ? '127.0.0.1' : '::1';
  const sinks = await Promise.all(Array.from({ length: targets }, () => CSink.open({ address, idleMs: 300 })));
  const nc = await Netconsole.create({
    sender: 'native',
    env: false,
    devices: 'none',
    strict: true,
    nativeSender: { gso },
    seqStart: 1, // both ways number the records alike
    targets: sinks.map((sink, i) => ({
      name: `t${i}`,
      remote_ip: address,
      remote_port: sink.port,
      extended: extended ? 1 : 0,
      enabled: 1,
    })),
  });
  try {
    for (let i = 0; i < MIXED; i++) nc.info(recordText(0, i));
    await nc.flush();
    for (let i = 0; i < RUN; i++) {
      nc.info(`run ${String(i).padStart(6, '0')} ${'x'.repeat(90)}`);
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    await nc.flush();
    const { lost, transmit } = nc.stats();
    const datagrams: string[][] = [];
    for (const sink of sinks) {
      const got = await sink.done();
      assert.equal(got.drops, 0, 'the receiver lost nothing');
      datagrams.push(got.datagrams.map(untimed));
    }
    return { datagrams, transmit, lost };
  } finally {
    await nc.close();
  }
}

describe('UDP GSO', () => {
  const cases = [
    ...([4, 6] as const).flatMap((family) => [true, false].map((extended) => ({ family, extended, targets: 1 }))),
    { family: 4 as const, extended: true, targets: 3 },
  ];
  for (const { family, extended, targets } of cases) {
    const what = targets === 1 ? 'target' : `targets on one socket, ${targets}`;
    test(`IPv${family}, ${extended ? 'extended' : 'plain'} ${what}, on loopback: GSO delivers the datagrams one-by-one sends deliver`, async (t) => {
      if (!requireNative(t)) return;
      const on = await send(family, extended, true, targets);
      const off = await send(family, extended, false, targets);
      assert.equal(on.lost, 0);
      assert.equal(off.lost, 0);
      assert.ok(
        on.transmit.gsoDatagrams >= (targets * RUN) / 2,
        `runs went as GSO sends (${JSON.stringify(on.transmit)})`,
      );
      assert.equal(on.transmit.gsoFallbacks, 0);
      assert.equal(off.transmit.gsoDatagrams, 0, 'gso: false sends one by one');
      for (let k = 0; k < targets; k++) sameDatagrams(on.datagrams[k], off.datagrams[k], `target ${k}`);
    });
  }

  for (const { family, offload } of [
    { family: 4, offload: true },
    { family: 4, offload: false },
    { family: 6, offload: true },
  ]) {
    test(`raw mode over a veth pair, IPv${family}, checksum offload ${offload ? 'on' : 'off'}: GSO frames through the TX ring deliver the datagrams single frames deliver`, async (t) => {
      if (!requireNative(t) || !requireRoot(t)) return;
      const [A, B] = family === 4 ? ['10.94.0.1', '10.94.0.2'] : ['fd94::1', 'fd94::2'];
      const COUNT = 1000; // recordText's sizes: the fragments of the longer ones are runs
      await withNetns(['a', 'b'], async (ns) => {
        await ns.vethPair('a', 'gA', 'b', 'gB', '10.94.0.1/24', '10.94.0.2/24');
        if (family === 6) {
          await ns.exec('a', ['ip', '-6', 'addr', 'add', `${A}/64`, 'dev', 'gA', 'nodad']);
          await ns.exec('b', ['ip', '-6', 'addr', 'add', `${B}/64`, 'dev', 'gB', 'nodad']);
        }
        await waitOperUp(ns, 'a', 'gA');
        await waitOperUp(ns, 'b', 'gB');
        if (!offload) await setTxChecksum(ns, 'a', 'gA', false);
        const run = async (
          gso: boolean,
        ): Promise<{ datagrams: string[]; stats: { lost: number; transmit: Transmit } }> => {
          const sink = await CSink.open({ ns: { handle: ns, name: 'b' }, address: B, port: 6666, idleMs: 500 });
          const opts = { mode: 'raw', overflow: 'wait', seqStart: 1, nativeSender: { gso } };
          const { stats } = await lastLine<{ stats: { lost: number; transmit: Transmit } }>(
            ns.runNode('a', SENDER, [JSON.stringify(opts), B, '6666', String(COUNT)]),
          );
          const got = await sink.done();
          assert.equal(got.drops, 0, 'the receiver lost nothing');
          return { datagrams: got.datagrams.map(untimed), stats };
        };
        const on = await run(true);
        const off = await run(false);
        for (const r of [on, off]) {
          assert.equal(r.stats.lost, 0);
          assert.equal(r.stats.transmit.ringFrames, r.datagrams.length, 'every datagram through the TX ring');
        }
        const tx = on.stats.transmit;
        assert.ok(tx.gsoDatagrams > COUNT / 2, `runs went as GSO frames (${JSON.stringify(tx)})`);
        assert.equal(tx.gsoFallbacks, 0);
        assert.equal(off.stats.transmit.gsoDatagrams, 0, 'gso: false sends one by one');
        if (offload) assert.equal(tx.bypassFrames, tx.ringFrames, 'past the qdisc: the device takes a run whole');
        else assert.ok(tx.bypassFrames < tx.ringFrames, `runs through the qdisc (${JSON.stringify(tx)})`);
        sameDatagrams(on.datagrams, off.datagrams, 'raw mode');
      });
    });
  }

  test('a path whose MTU is below the datagrams refuses GSO: the target sends one by one, nothing lost', async (t) => {
    if (!requireNative(t) || !requireRoot(t)) return;
    const A = '10.93.0.1';
    const B = '10.93.0.2';
    const COUNT = 1000;
    await withNetns(['a', 'b'], async (ns) => {
      await ns.vethPair('a', 'gA', 'b', 'gB', `${A}/24`, `${B}/24`);
      await ns.exec('a', ['ip', 'link', 'set', 'gA', 'mtu', '576']);
      await ns.exec('b', ['ip', 'link', 'set', 'gB', 'mtu', '576']);
      const sink = await CSink.open({ ns: { handle: ns, name: 'b' }, address: B, port: 6666, idleMs: 1000 });
      const { stats } = await lastLine<{
        stats: { lost: number; transmit: Transmit; targets: Array<{ lostInTransmit: number }> };
      }>(ns.runNode('a', SENDER, [JSON.stringify({ overflow: 'wait' }), B, '6666', String(COUNT)]));
      const { datagrams, drops } = await sink.done();
      assert.equal(drops, 0, 'the receiver lost nothing');
      assert.ok(stats.transmit.gsoFallbacks >= 1, `the kernel refused GSO (${JSON.stringify(stats.transmit)})`);
      assert.equal(stats.lost, 0);
      assert.equal(stats.targets[0].lostInTransmit, 0);
      const { records, reports, incomplete } = writerRecords(datagrams);
      assert.equal(incomplete, 0);
      assert.equal(reports.length, 0, 'nothing to report');
      assert.equal(records.length, COUNT);
      assert.ok(
        records.every((v, i) => v === i),
        'in order',
      );
    });
  });
});
