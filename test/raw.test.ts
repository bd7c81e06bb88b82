// Raw mode end to end (docs/wire.md section 4): whole Ethernet frames built in WebAssembly, sent by the
// native sender thread through an AF_PACKET socket on the target's device, received by the kernel
// of another namespace. Namespace a runs the Netconsole (test/workers/raw-sender.ts), namespace b a
// plain UDP receiver (test/workers/raw-sink.ts); they are joined by a veth pair
//   a:vA 10.88.0.1/24 fd88::1/64  <->  b:vB 10.88.0.2/24 fd88::2/64
// b's kernel checks what the WebAssembly built (IPv4 header checksum -> IpInHdrErrors, UDP
// checksums -> UdpInCsumErrors / Udp6InCsumErrors, lengths -> InErrors), and b's /proc/net/snmp
// and /proc/net/snmp6 tell whether it accepted every frame. Runs of a target's equal-length
// datagrams go as one GSO frame (native/txring.h) whose datagrams a's kernel cuts and sums: vA's
// transmit checksum offload is off, so that it sums each of them in software and b checks those
// sums too (with it on, they would cross the pair unsummed, and b would trust them).
//
// The sender is paced: a batch is sent only after the sink has printed every datagram of the batch
// before, so b's receive buffers never overflow (an overflow would show as UdpInErrors).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parseDatagram, type ParsedDatagram } from '../src/receiver/receiver.js';
import { encodeDatagrams } from '../src/core/wire.js';
import { macOf, setTxChecksum, waitOperUp } from './helpers/ip.js';
import { JsonChild, type Line } from './helpers/json-child.js';
import { withNetns, type NetnsHandle } from '../harness/netns.js';
import { requireNative, requireRoot } from './helpers/requires.js';
import { mulberry32, seedFrom } from '../harness/random.js';

const SENDER = fileURLToPath(new URL('./workers/raw-sender.js', import.meta.url));
const SINK = fileURLToPath(new URL('./workers/raw-sink.js', import.meta.url));
const A4 = '10.88.0.1';
const B4 = '10.88.0.2';
const A6 = 'fd88::1';
const B6 = 'fd88::2';
const P4 = 6666; // the sink's IPv4 port (on B4)
const P6 = 6667; // the sink's IPv6 port (on B6)
const LOCAL_PORT = 6665; // the default local_port
const WRONG_MAC = '02:00:00:00:00:99';
const WAIT_MS = 10_000;
const PRIO_INFO = 14; // facility 1 (user) * 8 + level 6 (info)
const SEQ_START = 1_000_000_000_000_000; // 16 digits for every seq of these tests

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Seeded randomness (the seed is in every failure message; NC_RAW_SEED=<n> replays a run)

const SEED = seedFrom('NC_RAW_SEED');

interface TargetStats {
  name: string;
  state: string;
  mode: string | null;
  sent: number;
  datagrams: number;
  bytes: number;
  dropped: number;
  truncated: number;
  skipped: number;
  transmit_errors: number;
}

interface Stats {
  transmit: { gsoDatagrams: number; ringFrames: number };
  ringFull: number;
  sender: string;
  senderDiscarded: number;
  targets: TargetStats[];
}

class Sender extends JsonChild {
  static async start(
    ns: NetnsHandle,
    targets: unknown[],
    opts: Record<string, unknown> = { seqStart: SEQ_START },
  ): Promise<Sender> {
    const s = new Sender(
      'raw-sender',
      ns.runNode('a', SENDER, [JSON.stringify(targets), JSON.stringify(opts)]),
      WAIT_MS,
    );
    const ready = await s.ready();
    assert.equal(ready.sender, 'native', 'raw mode runs on the native sender');
    for (const t of ready.targets as Array<{ name: string; state: string; mode: string; device: string }>) {
      assert.deepEqual(
        { state: t.state, mode: t.mode, device: t.device },
        { state: 'enabled', mode: 'raw', device: 'vA' },
        `target ${t.name}`,
      );
    }
    return s;
  }

  /** One command; its reply (errors throw). */
  cmd(obj: Record<string, unknown>): Promise<Line> {
    return this.ok(JSON.stringify(obj));
  }

  async send(texts: string[]): Promise<{ offered: number; stats: Stats }> {
    const r = await this.cmd({ send: texts });
    assert.equal(r.logged, texts.length);
    return { offered: r.offered as number, stats: r.stats as Stats };
  }

  async get(name: string, attr: string): Promise<string> {
    return (await this.cmd({ get: [name, attr] })).value as string;
  }

  async stats(): Promise<Stats> {
    return (await this.cmd({ stats: true })).stats as Stats;
  }

  /** `quit`: the Netconsole closes and the process exits 0. */
  async quit(): Promise<void> {
    await this.quitWith(JSON.stringify({ quit: true }));
    const bad = this.lines.filter((l) => 'fatal' in l || 'ncError' in l || 'unparsed' in l);
    assert.deepEqual(bad, [], `raw-sender reported problems; ${this.describe()}`);
  }
}

interface Datagram {
  family: 'IPv4' | 'IPv6';
  from: string;
  port: number;
  to: number;
  data: Buffer;
}

class Sink extends JsonChild {
  count = 0;
  /** Every datagram, unless `onDatagram` consumes them. */
  readonly got: Datagram[] = [];
  onDatagram: ((d: Datagram) => void) | null = null;

  static async start(ns: NetnsHandle): Promise<Sink> {
    const s = new Sink('raw-sink', ns.runNode('b', SINK, [B4, String(P4), B6, String(P6)]), WAIT_MS);
    await s.ready();
    return s;
  }

  /** Datagram lines are taken, not kept in `lines`: 100,000 of them a test. */
  protected override take(l: Line): boolean {
    if (typeof l.data !== 'string') return false;
    const d: Datagram = {
      family: l.family as Datagram['family'],
      from: l.from as string,
      port: l.port as number,
      to: l.to as number,
      data: Buffer.from(l.data, 'base64'),
    };
    this.count++;
    if (this.onDatagram) this.onDatagram(d);
    else this.got.push(d);
    return true;
  }

  waitCount(n: number, ms = WAIT_MS): Promise<void> {
    return this.until(`${n} datagrams (have ${this.count})`, () => this.count >= n, ms);
  }

  assertHealthy(): void {
    const bad = this.lines.filter((l) => 'fatal' in l || 'unparsed' in l);
    assert.deepEqual(bad, [], `raw-sink reported problems; ${this.describe()}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Namespaces, counters

/** vB's received-packet count (every frame that reached vB, whatever b's stack did with it). */
async function rxPackets(ns: NetnsHandle): Promise<number> {
  const { stdout } = await ns.exec('b', ['ip', '-j', '-s', 'link', 'show', 'vB']);
  const [link] = JSON.parse(stdout) as Array<{ stats64: { rx: { packets: number } } }>;
  return link!.stats64.rx.packets;
}

/** b's /proc/net/snmp (as `<Proto><Field>`, e.g. UdpInCsumErrors) and /proc/net/snmp6 counters. */
async function snmp(ns: NetnsHandle): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const v4 = (await ns.exec('b', ['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i + 1 < v4.length; i += 2) {
    const names = v4[i]!.split(/\s+/);
    const values = v4[i + 1]!.split(/\s+/);
    const proto = names[0]!.replace(/:$/, '');
    for (let k = 1; k < names.length; k++) out[`${proto}${names[k]}`] = Number(values[k]);
  }
  for (const line of (await ns.exec('b', ['cat', '/proc/net/snmp6'])).stdout.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name && value !== undefined) out[name] = Number(value);
  }
  return out;
}

const ERROR_COUNTERS = [
  'IpInHdrErrors',
  'IpInAddrErrors',
  'UdpInCsumErrors',
  'UdpInErrors',
  'UdpRcvbufErrors',
  'Ip6InHdrErrors',
  'Udp6InCsumErrors',
  'Udp6InErrors',
  'Udp6RcvbufErrors',
] as const;

function delta(
  before: Record<string, number>,
  after: Record<string, number>,
  names: readonly string[],
): Record<string, number> {
  const d: Record<string, number> = {};
  for (const n of names) {
    assert.ok(n in after, `b's counters have ${n}`);
    d[n] = after[n]! - (before[n] ?? 0);
  }
  return d;
}

/** Namespaces a and b joined by vA <-> vB (IPv4 and IPv6), both links operationally up. */
async function setUp(ns: NetnsHandle): Promise<{ macA: string; macB: string }> {
  await ns.vethPair('a', 'vA', 'b', 'vB', `${A4}/24`, `${B4}/24`);
  await ns.exec('a', ['ip', '-6', 'addr', 'add', `${A6}/64`, 'dev', 'vA', 'nodad']);
  await ns.exec('b', ['ip', '-6', 'addr', 'add', `${B6}/64`, 'dev', 'vB', 'nodad']);
  await waitOperUp(ns, 'a', 'vA', WAIT_MS);
  await waitOperUp(ns, 'b', 'vB', WAIT_MS);
  await setTxChecksum(ns, 'a', 'vA', false); // a's kernel sums the datagrams of GSO runs (above)
  return { macA: await macOf(ns, 'a', 'vA'), macB: await macOf(ns, 'b', 'vB') };
}

/** Per test: namespaces, the pair, the sink, the sender with `targets(macs)`; clean exits at the end. */
async function scenario(
  targets: (m: { macA: string; macB: string }) => unknown[],
  fn: (ctx: { ns: NetnsHandle; sender: Sender; sink: Sink; macA: string; macB: string }) => Promise<void>,
): Promise<void> {
  await withNetns(['a', 'b'], async (ns) => {
    let sender: Sender | undefined;
    let sink: Sink | undefined;
    try {
      const macs = await setUp(ns);
      sink = await Sink.start(ns);
      sender = await Sender.start(ns, targets(macs));
      await fn({ ns, sender, sink, ...macs });
      await sender.quit();
      sink.assertHealthy();
      await sink.stop();
    } finally {
      for (const c of [sender, sink]) await c?.kill();
    }
  });
}

function target(name: string, family: 4 | 6, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    dev_name: 'vA',
    remote_ip: family === 4 ? B4 : B6,
    remote_port: family === 4 ? P4 : P6,
    extended: 1,
    enabled: 1,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// Extended datagrams

/**
 * An extended datagram as the receiver parses it (src/receiver/ncrx-parse.ts, netconsd's rules), seq and
 * tsUsec as bigints; null when it is not one. The bytes themselves are compared with
 * encodeDatagrams(), so a lenient parse cannot hide a malformed header.
 */
function parseExtended(
  data: Buffer,
): (Omit<ParsedDatagram, 'prio' | 'seq' | 'tsUsec'> & { prio: number; seq: bigint; tsUsec: bigint }) | null {
  const p = parseDatagram(data);
  return p.extended ? { ...p, prio: p.prio!, seq: BigInt(p.seq!), tsUsec: BigInt(p.tsUsec!) } : null;
}

/** Bytes of a character once escaped (docs/wire.md 3.1): printable ASCII but `\` as is, else `\xHH`. */
function escapedCost(ch: string): number {
  let n = 0;
  for (const b of Buffer.from(ch, 'utf8')) n += b >= 0x20 && b < 0x7f && b !== 0x5c ? 1 : 4;
  return n;
}

const SPECIALS = ['\\', '\t', '\n', '\x01', '\x7f', 'é', 'ß', 'Ω', '€', '中', '😀'];

/** A text starting `r<i>:` whose escaped form is exactly `budget` bytes (budget >= the tag). */
function randomText(rand: () => number, i: number, budget: number): string {
  let s = `r${i}:`;
  let cost = s.length;
  while (cost < budget) {
    let ch: string;
    if (rand() < 0.08) ch = SPECIALS[Math.floor(rand() * SPECIALS.length)]!;
    else ch = String.fromCharCode(0x20 + Math.floor(rand() * 95));
    const c = escapedCost(ch);
    if (cost + c > budget) {
      ch = 'x';
    }
    s += ch;
    cost += escapedCost(ch);
  }
  return s;
}

const digits = (n: bigint): number => n.toString().length;
const monoUsec = (): bigint => process.hrtime.bigint() / 1000n;

// ---------------------------------------------------------------------------------------------

describe(
  'raw mode: Ethernet frames from WebAssembly through AF_PACKET into another namespace',
  { concurrency: false },
  () => {
    test(
      "100,000 frames (IPv4 and IPv6, payloads up to 1000 bytes) all arrive byte-exact and pass b's header and checksum checks",
      { timeout: 60_000 },
      async (t) => {
        if (!requireRoot(t) || !requireNative(t)) return;
        const RECORDS = 50_000; // each goes to both targets: 100,000 frames
        const BATCH = 500;
        const rand = mulberry32(SEED);
        const why = `(seed ${SEED}: NC_RAW_SEED=${SEED} replays it)`;

        await scenario(
          ({ macB }) => [target('r4', 4, { remote_mac: macB }), target('r6', 6, { remote_mac: macB })],
          async ({ ns, sender, sink }) => {
            // `<prio>,<seq>,<tsUsec>,-;` + escaped text + `\n` <= 1000: the tsUsec digits for the next
            // few minutes (CLOCK_MONOTONIC is the same clock in every namespace).
            const now = monoUsec();
            const tsDigits = Math.max(digits(now), digits(now + 300_000_000n));
            const maxBudget =
              1000 - (`${PRIO_INFO},`.length + String(SEQ_START).length + 1 + tsDigits + ',-;'.length) - 1;
            const texts: string[] = [];
            const budgets: number[] = []; // each text's escaped length
            const seen = { IPv4: new Uint8Array(RECORDS), IPv6: new Uint8Array(RECORDS) };
            const lastTs = { IPv4: 0n, IPv6: 0n };
            const problems: string[] = [];
            const sizes = { min: Infinity, max: 0, at1000: 0 };
            const problem = (msg: string): void => {
              if (problems.length < 10) problems.push(msg);
            };
            const tStart = monoUsec();
            sink.onDatagram = (d) => {
              const h = parseExtended(d.data);
              if (!h || h.frag !== undefined)
                return problem(
                  `not a single extended datagram: ${JSON.stringify(d.data.toString('latin1').slice(0, 120))}`,
                );
              const tag = /^r(\d+):/.exec(h.body.subarray(0, 16).toString('latin1'));
              const i = tag ? Number(tag[1]) : -1;
              if (!(i >= 0 && i < texts.length))
                return problem(`unknown record: ${JSON.stringify(d.data.toString('latin1').slice(0, 120))}`);
              const fam = d.family;
              const [from, to] = fam === 'IPv4' ? [A4, P4] : [A6, P6];
              if (d.from !== from || d.port !== LOCAL_PORT || d.to !== to)
                problem(`record ${i} ${fam}: from ${d.from}:${d.port} to ${d.to}`);
              if (seen[fam][i]++ !== 0) problem(`record ${i} arrived twice over ${fam}`);
              if (h.prio !== PRIO_INFO || h.cont || h.continuation)
                problem(`record ${i}: prio ${h.prio}, flag ${h.cont ? 'c' : h.continuation ? '+' : '-'}`);
              if (h.seq !== BigInt(SEQ_START + i)) problem(`record ${i} has seq ${h.seq}, expected ${SEQ_START + i}`);
              if (h.tsUsec < lastTs[fam] || h.tsUsec < tStart)
                problem(`record ${i} ${fam}: tsUsec ${h.tsUsec} after ${lastTs[fam]} (start ${tStart})`);
              lastTs[fam] = h.tsUsec;
              const want = encodeDatagrams(
                { prio: PRIO_INFO, seq: h.seq, tsUsec: h.tsUsec, text: texts[i]! },
                { extended: true },
              );
              if (want.length !== 1)
                return problem(`record ${i}: encodeDatagrams gives ${want.length} datagrams (text budget wrong)`);
              if (!d.data.equals(want[0]!)) {
                problem(
                  `record ${i} ${fam} differs: got ${JSON.stringify(d.data.toString('latin1'))}, want ${JSON.stringify(Buffer.from(want[0]!).toString('latin1'))}`,
                );
              }
              sizes.min = Math.min(sizes.min, d.data.length);
              sizes.max = Math.max(sizes.max, d.data.length);
              if (d.data.length === 1000) sizes.at1000++;
            };

            const before = await snmp(ns);
            const rxBefore = await rxPackets(ns);
            let stats: Stats | undefined;
            for (let start = 0; start < RECORDS; start += BATCH) {
              const batch: string[] = [];
              for (let i = start; i < Math.min(start + BATCH, RECORDS); i++) {
                const tagLen = `r${i}:`.length;
                const r = rand();
                // A third of the records are as long as the one before (with the same tag length):
                // runs of equal-length datagrams, sent as GSO frames.
                const same = r >= 0.05 && r < 0.38 && i > start && `r${i - 1}:`.length === tagLen;
                const budget = same
                  ? budgets[i - 1]!
                  : r < 0.05
                    ? maxBudget
                    : tagLen + Math.floor(rand() * (maxBudget - tagLen + 1));
                const text = randomText(rand, i, budget);
                budgets.push(budget);
                texts.push(text);
                batch.push(text);
              }
              const sent = await sender.send(batch);
              assert.equal(sent.offered, 2 * batch.length, `every record offered to both targets ${why}`);
              stats = sent.stats;
              // Paced: the next batch only once the sink has printed all of this one.
              try {
                await sink.waitCount(2 * texts.length, 5000);
              } catch (err) {
                const d = delta(before, await snmp(ns), ERROR_COUNTERS);
                throw new Error(
                  `${(err as Error).message}; b's error counters moved by ${JSON.stringify(d)}; sender stats ${JSON.stringify(stats)} ${why}`,
                );
              }
              if (problems.length > 0) break;
            }
            assert.deepEqual(problems, [], `received datagrams differ from encodeDatagrams ${why}`);
            await sleep(100); // anything extra (a duplicate) would be here by now
            assert.equal(sink.count, 2 * RECORDS, 'exactly one datagram per record and target');
            for (const fam of ['IPv4', 'IPv6'] as const)
              assert.equal(seen[fam].indexOf(0), -1, `every record arrived over ${fam}`);
            assert.ok(
              sizes.max === 1000 && sizes.at1000 > 0 && sizes.min < 100,
              `payload sizes cover up to 1000 bytes: ${JSON.stringify(sizes)}`,
            );

            const after = await snmp(ns);
            const zero = Object.fromEntries(ERROR_COUNTERS.map((n) => [n, 0]));
            assert.deepEqual(
              delta(before, after, ERROR_COUNTERS),
              zero,
              "b's kernel rejected no frame (headers, lengths, checksums) and no receive buffer overflowed",
            );
            assert.deepEqual(delta(before, after, ['UdpInDatagrams', 'Udp6InDatagrams']), {
              UdpInDatagrams: RECORDS,
              Udp6InDatagrams: RECORDS,
            });
            assert.ok((await rxPackets(ns)) - rxBefore >= 2 * RECORDS, 'vB received the frames');

            stats = await sender.stats();
            // The runs went as GSO frames, and b checked each of their datagrams above.
            assert.ok(stats.transmit.gsoDatagrams > RECORDS / 10, `GSO runs: ${JSON.stringify(stats.transmit)}`);
            assert.equal(stats.transmit.ringFrames, 2 * RECORDS, 'every frame through the TX ring');
            assert.equal(stats.ringFull, 0);
            assert.equal(stats.senderDiscarded, 0);
            for (const s of stats.targets) {
              assert.deepEqual(
                {
                  name: s.name,
                  mode: s.mode,
                  sent: s.sent,
                  datagrams: s.datagrams,
                  dropped: s.dropped,
                  truncated: s.truncated,
                  skipped: s.skipped,
                  transmit_errors: s.transmit_errors,
                },
                {
                  name: s.name,
                  mode: 'raw',
                  sent: RECORDS,
                  datagrams: RECORDS,
                  dropped: 0,
                  truncated: 0,
                  skipped: 0,
                  transmit_errors: 0,
                },
              );
            }
          },
        );
      },
    );

    test(
      "remote_mac: explicit (vB's MAC) and broadcast (default) are delivered; a wrong unicast MAC is dropped by vB but counted as sent; local_mac is vA's MAC",
      { timeout: 30_000 },
      async (t) => {
        if (!requireRoot(t) || !requireNative(t)) return;
        const N = 10;
        // One target per case and family, told apart by their local_port (the datagrams' source port).
        const cases = [
          { name: 'x4', family: 4, port: 7001, mac: 'vB', delivered: true },
          { name: 'b4', family: 4, port: 7002, mac: null, delivered: true },
          { name: 'w4', family: 4, port: 7003, mac: WRONG_MAC, delivered: false },
          { name: 'x6', family: 6, port: 7011, mac: 'vB', delivered: true },
          { name: 'b6', family: 6, port: 7012, mac: null, delivered: true },
          { name: 'w6', family: 6, port: 7013, mac: WRONG_MAC, delivered: false },
        ] as const;
        await scenario(
          ({ macB }) =>
            cases.map((c) =>
              target(c.name, c.family, {
                local_port: c.port,
                ...(c.mac === null ? {} : { remote_mac: c.mac === 'vB' ? macB : c.mac }),
              }),
            ),
          async ({ ns, sender, sink, macA, macB }) => {
            for (const c of cases) {
              assert.equal(await sender.get(c.name, 'local_mac'), macA, `${c.name}: the frames' source MAC is vA's`);
              assert.equal(
                await sender.get(c.name, 'remote_mac'),
                c.mac === null ? 'ff:ff:ff:ff:ff:ff' : c.mac === 'vB' ? macB : c.mac,
              );
            }
            const before = await snmp(ns);
            const rxBefore = await rxPackets(ns);
            const texts = Array.from({ length: N }, (_, k) => `mac-check ${k}`);
            const { offered } = await sender.send(texts);
            assert.equal(offered, N * cases.length);
            const delivered = cases.filter((c) => c.delivered);
            await sink.waitCount(N * delivered.length);
            await sleep(300); // the wrong-MAC frames were sent in the same batches: nothing more comes

            const byPort = new Map<number, Datagram[]>();
            for (const d of sink.got) byPort.set(d.port, [...(byPort.get(d.port) ?? []), d]);
            for (const c of cases) {
              const got = byPort.get(c.port) ?? [];
              if (!c.delivered) {
                assert.equal(got.length, 0, `${c.name}: remote_mac ${WRONG_MAC} is not vB's, vB drops the frames`);
                continue;
              }
              assert.equal(got.length, N, `${c.name}: every record delivered`);
              got.forEach((d, k) => {
                assert.equal(d.family, c.family === 4 ? 'IPv4' : 'IPv6');
                assert.equal(d.from, c.family === 4 ? A4 : A6);
                const h = parseExtended(d.data);
                assert.ok(h, `extended datagram: ${d.data.toString('latin1')}`);
                const [want] = encodeDatagrams(
                  { prio: PRIO_INFO, seq: h.seq, tsUsec: h.tsUsec, text: texts[k]! },
                  { extended: true },
                );
                assert.equal(d.data.toString('latin1'), Buffer.from(want!).toString('latin1'), `${c.name} record ${k}`);
              });
            }
            assert.equal(sink.count, N * delivered.length, 'nothing else arrived');

            const stats = await sender.stats();
            for (const c of cases) {
              const s = stats.targets.find((x) => x.name === c.name)!;
              assert.deepEqual(
                { sent: s.sent, datagrams: s.datagrams, dropped: s.dropped, transmit_errors: s.transmit_errors },
                { sent: N, datagrams: N, dropped: 0, transmit_errors: 0 },
                `${c.name}: counted as sent whether or not the receiver takes it`,
              );
              assert.equal(await sender.get(c.name, 'transmit_errors'), '0');
            }
            const after = await snmp(ns);
            // The wrong-MAC frames did reach vB (rx packets), and b's IP layer dropped them as
            // PACKET_OTHERHOST before any counter of its own: no UDP datagram, no error.
            assert.ok(
              (await rxPackets(ns)) - rxBefore >= N * cases.length,
              'vB received every frame, the wrong-MAC ones too',
            );
            assert.deepEqual(delta(before, after, ['UdpInDatagrams', 'Udp6InDatagrams']), {
              UdpInDatagrams: 2 * N,
              Udp6InDatagrams: 2 * N,
            });
            assert.deepEqual(
              delta(before, after, ERROR_COUNTERS),
              Object.fromEntries(ERROR_COUNTERS.map((n) => [n, 0])),
            );
          },
        );
      },
    );

    test(
      'an extended message over 1000 bytes (3000-byte text) arrives as ncfrag fragments that reassemble to the text',
      { timeout: 30_000 },
      async (t) => {
        if (!requireRoot(t) || !requireNative(t)) return;
        const rand = mulberry32(SEED ^ 0x5a5a5a5a);
        // Printable ASCII without the backslash: the body is the text itself (no escapes), plus `\n`.
        let text = '';
        while (text.length < 3000) {
          const ch = String.fromCharCode(0x20 + Math.floor(rand() * 95));
          if (ch !== '\\') text += ch;
        }
        await scenario(
          ({ macB }) => [target('f4', 4, { remote_mac: macB }), target('f6', 6)],
          async ({ ns, sender, sink }) => {
            const before = await snmp(ns);
            await sender.send([text]);
            // 3001 bytes of data, at most 1000 - len(header) each: 4 fragments per target.
            await sink.waitCount(8);
            await sleep(200);
            assert.equal(sink.count, 8, `4 fragments per target, got ${sink.got.map((d) => d.data.length).join(',')}`);
            for (const fam of ['IPv4', 'IPv6'] as const) {
              const frags = sink.got.filter((d) => d.family === fam);
              const hs = frags.map((d) => parseExtended(d.data)!);
              assert.ok(
                hs.every((h) => h !== null && h.frag !== undefined),
                `${fam}: every datagram is an ncfrag fragment`,
              );
              assert.ok(
                frags.every((d) => d.data.length <= 1000),
                `${fam}: fragments are at most 1000 bytes`,
              );
              assert.equal(new Set(hs.map((h) => h.seq)).size, 1, 'one record');
              const { seq, tsUsec } = hs[0]!;
              assert.equal(seq, BigInt(SEQ_START));
              // In order, contiguous, covering `total`.
              let offset = 0;
              const parts: Buffer[] = [];
              for (const h of [...hs].sort((x, y) => x.frag!.offset - y.frag!.offset)) {
                assert.equal(h.frag!.offset, offset, `${fam}: fragment at ${offset}`);
                assert.equal(h.frag!.total, text.length + 1);
                parts.push(h.body);
                offset += h.body.length;
              }
              assert.equal(offset, text.length + 1);
              assert.equal(
                Buffer.concat(parts).toString('latin1'),
                `${text}\n`,
                `${fam}: the fragments reassemble to the text`,
              );
              const want = encodeDatagrams({ prio: PRIO_INFO, seq, tsUsec, text }, { extended: true }).map((b) =>
                Buffer.from(b).toString('latin1'),
              );
              assert.deepEqual(
                frags.map((d) => d.data.toString('latin1')),
                want,
                `${fam}: byte-exact, in order`,
              );
            }
            const stats = await sender.stats();
            for (const s of stats.targets) {
              assert.deepEqual(
                { sent: s.sent, datagrams: s.datagrams, transmit_errors: s.transmit_errors },
                { sent: 1, datagrams: 4, transmit_errors: 0 },
                s.name,
              );
            }
            assert.deepEqual(
              delta(before, await snmp(ns), ERROR_COUNTERS),
              Object.fromEntries(ERROR_COUNTERS.map((n) => [n, 0])),
            );
          },
        );
      },
    );
  },
);
