// UDP GSO (native/drain.h): the native sender hands a run of one target's datagrams of one length
// (the last maybe shorter) to the kernel as one send with a UDP_SEGMENT size, and the kernel cuts
// it into those datagrams again. What arrives must be exactly what one-by-one sends deliver:
// here, for IPv4 and IPv6, extended and plain targets, the datagrams of the same records sent both
// ways are compared one by one (their timestamps aside), mixed sizes and fragmented messages
// included, and a run that is cut wrongly would arrive as datagrams without a header.
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
      // Records carry their timestamp (extended: the third field; plain: "[seconds.micros] "); the
      // rest must be the same bytes.
      datagrams.push(
        got.datagrams.map((d) =>
          d
            .toString('latin1')
            .replace(/^(\d+,\d+,)\d+/, '$1T')
            .replace(/^\[ *\d+\.\d+\] /, '[T] '),
        ),
      );
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
      for (let k = 0; k < targets; k++) {
        const [a, b] = [on.datagrams[k], off.datagrams[k]];
        assert.equal(a.length, b.length, `target ${k}: as many datagrams`);
        for (let i = 0; i < a.length; i++)
          if (a[i] !== b[i]) assert.fail(`target ${k}, datagram ${i} differs:\n GSO ${a[i]}\n one by one ${b[i]}`);
      }
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
