// The receiver (src/receiver/receiver.ts) and `netconsole listen` (src/faces/cli-listen.ts): tested against this
// library's own sender on loopback, end to end through the CLI, and with hand-made datagrams
// (built with encodeDatagrams, or by hand when they must be malformed) fed to Reassembler.push.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { release as osRelease } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Netconsole, type Level, type TargetOptions } from '../src/index.js';
import { monotonicUsec } from '../src/base/clock.js';
import {
  MAX_DATAGRAM,
  MAX_TOTAL,
  parseDatagram,
  Reassembler,
  Receiver,
  splitBody,
  unescape,
  type Message,
} from '../src/receiver/receiver.js';
import { encodeDatagrams } from '../src/core/wire.js';
import type { WireRecord, WireTarget } from '../src/base/wire-types.js';
import { mulberry32 } from '../harness/random.js';
import { freePort } from './helpers/udp.js';

const CLI = fileURLToPath(new URL('../src/faces/cli.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const B = (s: string): Buffer => Buffer.from(s, 'latin1');

interface Gap {
  source: string;
  expected: string;
  got: string;
}

/** Everything a Reassembler (or Receiver) emits, in order. */
function collect(r: Reassembler): { messages: Message[]; gaps: Gap[] } {
  const out = { messages: [] as Message[], gaps: [] as Gap[] };
  r.on('message', (m: Message) => out.messages.push(m));
  r.on('gap', (g: Gap) => out.gaps.push(g));
  return out;
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

function datagrams(record: WireRecord, target: WireTarget): Buffer[] {
  return encodeDatagrams(record, target).map((d) => Buffer.from(d));
}

/** The body of an extended datagram (after its first ';'), by the receiver's own parse (whose rules
 *  receiver-ncrx.test.ts checks one by one): these tests are about reassembly, not parsing. */
const bodyOf = (d: Buffer): Buffer => parseDatagram(d).body;

function target(port: number, extra: TargetOptions): TargetOptions {
  return { name: 'x', remote_ip: '127.0.0.1', remote_port: port, local_port: 0, enabled: 1, ...extra };
}

// ---------------------------------------------------------------- the library's own sender

interface Case {
  level: number;
  text: string;
  opts?: { dict?: Record<string, string>; facility?: number };
}

const LONG = 'L'.repeat(4900) + 'é'.repeat(50); // 5,000 bytes; 5,200 once escaped: fragmented
const CASES: Case[] = [
  { level: 6, text: 'short message' },
  { level: 3, text: 'first line\nsecond line\n\nfourth line' },
  {
    level: 4,
    text: 'tab\there, esc \x1b[31m, del \x7f, soh \x01, nul \0, backslash \\ and a literal \\x41; UTF-8: é 日本語 🙂',
  },
  { level: 5, text: 'device event', opts: { dict: { SUBSYSTEM: 'x' } } },
  {
    level: 2,
    text: 'dictionary value that needs escaping',
    opts: { dict: { SUBSYSTEM: 'net', DEVICE: 'n=1 é\\ \x01' } },
  },
  { level: 7, text: 'facility local0', opts: { facility: 16 } },
  { level: 1, text: LONG },
];
assert.equal(Buffer.byteLength(LONG), 5000);

/** Logs CASES through a Netconsole with `targets`, to a Receiver; returns what arrived. */
async function sendCases(
  targets: (port: number) => TargetOptions[],
  expectedMessages: number,
): Promise<{
  got: { messages: Message[]; gaps: Gap[] };
  receiver: Receiver;
  seqStart: number;
  before: number;
  after: number;
}> {
  const receiver = new Receiver({ fragmentTimeoutMs: 2000 });
  const got = collect(receiver);
  const { port } = await receiver.listen('127.0.0.1', 0);
  const seqStart = 7_000_000 + Math.floor(Math.random() * 1_000_000);
  const nc = await Netconsole.create({ devices: 'none', env: false, seqStart, targets: targets(port) });
  let before = 0;
  let after = 0;
  try {
    before = monotonicUsec();
    for (const c of CASES) assert.equal(nc.write(c.level as Level, c.text, c.opts), 1);
    after = monotonicUsec();
    await nc.flush();
    await until(
      () => got.messages.length >= expectedMessages && receiver.pendingCount === 0,
      `${expectedMessages} messages`,
    );
    await sleep(100); // anything extra (a duplicate) would arrive by now
  } finally {
    await nc.close();
    await receiver.close();
  }
  return { got, receiver, seqStart, before, after };
}

describe("against this library's own sender (Netconsole -> Receiver on loopback)", () => {
  test('extended target with userdata and msgid: short, multi-line, escaped, dictionary, other facility and a 5,000-byte fragmented message each arrive once, exact', async () => {
    const { got, receiver, seqStart, before, after } = await sendCases(
      (port) => [target(port, { extended: 1, userdata: { k: 'v' }, msgid_enabled: 1 })],
      CASES.length,
    );
    assert.equal(got.messages.length, CASES.length, 'each message arrives once');
    const sources = new Set(got.messages.map((m) => m.source));
    assert.equal(sources.size, 1);
    assert.match([...sources][0], /^127\.0\.0\.1:\d+$/);
    let expectedDatagrams = 0;
    CASES.forEach((c, i) => {
      const m = got.messages[i];
      const seq = String(seqStart + i);
      assert.equal(m.extended, true);
      assert.equal(m.seq, seq, `case ${i}: seq`);
      assert.equal(m.text, c.text, `case ${i}: text`);
      assert.equal(m.level, c.level, `case ${i}: level`);
      assert.equal(m.facility, c.opts?.facility ?? 1, `case ${i}: facility`);
      assert.equal(m.cont, false);
      assert.deepEqual(
        m.dict,
        { ...(c.opts?.dict ?? {}), k: 'v', msgid: String(i + 1) },
        `case ${i}: dict (dictionary, userdata, sysdata)`,
      );
      assert.equal(m.release, undefined, 'no release prefix unless release=1');
      assert.equal(m.incomplete, undefined);
      assert.match(m.tsUsec!, /^\d+$/);
      const ts = Number(m.tsUsec);
      assert.ok(
        ts >= Math.floor(before) - 1 && ts <= Math.ceil(after) + 1,
        `case ${i}: tsUsec ${ts} within [${before}, ${after}] (CLOCK_MONOTONIC)`,
      );
      // The datagrams the wire encoder makes for this very record: the receiver saw exactly those.
      const dict = Object.entries(c.opts?.dict ?? {});
      const enc = datagrams(
        {
          level: c.level,
          facility: c.opts?.facility ?? 1,
          seq: BigInt(seq),
          tsUsec: BigInt(m.tsUsec!),
          text: c.text,
          dict,
        },
        { extended: true, userdata: [['k', 'v']], sysdata: { msgid: i + 1 } },
      );
      expectedDatagrams += enc.length;
      if (c.text === LONG) assert.ok(enc.length >= 6, 'the long message is fragmented');
    });
    assert.equal(receiver.counters.datagrams, expectedDatagrams);
    assert.deepEqual(
      { ...receiver.counters, datagrams: 0 },
      {
        datagrams: 0,
        messages: CASES.length,
        incomplete: 0,
        duplicates: 0,
        evicted: 0,
        gaps: 0,
        oos: 0,
        restarts: 0,
        sourcesEvicted: 0,
      },
    );
    assert.deepEqual(got.gaps, []);
  });

  test('release=1: every message (also each fragment of the long one) carries the release, os.release()', async () => {
    const { got, receiver, seqStart } = await sendCases(
      (port) => [target(port, { extended: 1, release: 1 })],
      CASES.length,
    );
    assert.equal(got.messages.length, CASES.length);
    CASES.forEach((c, i) => {
      const m = got.messages[i];
      assert.equal(m.release, osRelease(), `case ${i}: release`);
      assert.equal(m.seq, String(seqStart + i));
      assert.equal(m.text, c.text);
      assert.equal(m.level, c.level);
      assert.deepEqual(m.dict, c.opts?.dict ?? {});
      assert.equal(m.incomplete, undefined);
    });
    assert.equal(receiver.counters.incomplete, 0);
    assert.equal(receiver.counters.duplicates, 0);
  });

  test('basic target: the console lines, `[seconds.micros] line\\n`, a 5,000-byte line cut into datagrams of at most 1,000 bytes', async () => {
    // netconsd (and so the receiver) reads a datagram as a C string: a NUL would end the line there (N2).
    const basicCases = CASES.filter((c) => c.text !== LONG).map((c) => ({ ...c, text: c.text.replace(/\0/g, '') }));
    const longAscii = 'B'.repeat(5000);
    const expectedLines = [...basicCases.map((c) => c.text), longAscii].flatMap((t) => t.split('\n'));
    // short 1, multi-line 4, escaped 1, dict 1, dict 1, facility 1 (+ 5000-byte line, sent below)
    const { got } = await (async () => {
      const receiver = new Receiver();
      const got = collect(receiver);
      const { port } = await receiver.listen('127.0.0.1', 0);
      const nc = await Netconsole.create({ devices: 'none', env: false, targets: [target(port, { extended: 0 })] });
      try {
        for (const c of basicCases) nc.write(c.level as Level, c.text, c.opts);
        nc.log('info', longAscii);
        await nc.flush();
        const want = expectedLines.reduce((n, l) => n + Buffer.byteLength(`[ 1234.567890] ${l}\n`), 0);
        await until(() => got.messages.reduce((n, m) => n + Buffer.byteLength(m.text), 0) >= want, 'the basic lines');
        await sleep(100);
      } finally {
        await nc.close();
        await receiver.close();
      }
      return { got };
    })();
    for (const m of got.messages) {
      assert.equal(m.extended, false);
      assert.deepEqual(Object.keys(m).sort(), ['extended', 'source', 'text']);
      assert.ok(Buffer.byteLength(m.text) <= 1000, 'a basic datagram is at most 1,000 bytes');
    }
    const stream = got.messages.map((m) => m.text).join('');
    const lines = stream.split('\n');
    assert.equal(lines.pop(), '', 'the stream ends with a newline');
    assert.equal(lines.length, expectedLines.length);
    lines.forEach((line, i) => {
      const m = /^\[ *(\d+)\.(\d{6})\] ([^]*)$/.exec(line);
      assert.ok(m, `line ${i} has the timestamp prefix: ${JSON.stringify(line.slice(0, 40))}`);
      assert.equal(m[3], expectedLines[i], `line ${i}`);
    });
    assert.ok(got.messages.length >= basicCases.length + 5, 'the long line took several datagrams');
  });
});

// ---------------------------------------------------------------- the `listen` CLI

interface Listener {
  child: ChildProcess;
  port: number;
  lines: string[];
  stderr: () => string;
}

/** Spawns `netconsole listen` on a free port and waits for its "listening on" line. */
async function startListen(args: string[]): Promise<Listener> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'listen', '--port', String(port), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let err = '';
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = once(child, 'exit');
    const ready = (async () => {
      while (!err.includes('listening on') && child.exitCode === null) await sleep(10);
    })();
    await Promise.race([ready, exited, sleep(10_000)]);
    if (err.includes(`listening on 127.0.0.1:${port}`)) return { child, port, lines, stderr: () => err };
    if (child.exitCode === null) child.kill('SIGKILL');
    if (attempt >= 2) throw new Error(`netconsole listen did not start: ${err}`);
  }
}

async function stopListen(l: Listener): Promise<{ code: number | null; signal: string | null }> {
  if (l.child.exitCode !== null || l.child.signalCode !== null)
    return { code: l.child.exitCode, signal: l.child.signalCode };
  const exited = once(l.child, 'exit') as Promise<[number | null, string | null]>;
  l.child.kill('SIGTERM');
  const [code, signal] = await exited;
  return { code, signal };
}

async function udpClient(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

function sendTo(s: Socket, port: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => s.send(data, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

describe('netconsole listen (the CLI, end to end)', () => {
  test('--json: one JSON object per message from a Netconsole (extended with release and userdata, basic) and hand-made datagrams; fragments reassembled; a missing fragment reported after --fragment-timeout; gaps on stderr; SIGTERM exits 0', async () => {
    const l = await startListen(['--json', '--fragment-timeout', '100']);
    const client = await udpClient();
    try {
      const seqStart = 9_000_000;
      const nc = await Netconsole.create({
        devices: 'none',
        env: false,
        seqStart,
        targets: [
          target(l.port, { name: 'ext', extended: 1, release: 1, userdata: { k: 'v' }, msgid_enabled: 1 }),
          target(l.port, { name: 'basic', extended: 0, timestamps: 0 }),
        ],
      });
      try {
        nc.write('notice', 'hello from the CLI test é\\', { dict: { SUBSYSTEM: 'x' } });
        nc.log('err', LONG);
        await nc.flush();
      } finally {
        await nc.close();
      }
      // Hand-made: a fragmented message sent out of order with a duplicate, a sequence gap, and
      // a message with a missing fragment.
      const frags = datagrams({ level: 6, seq: 100, tsUsec: 5, text: 'F'.repeat(2500) }, { extended: true });
      assert.equal(frags.length, 3);
      for (const i of [2, 0, 0, 1]) await sendTo(client, l.port, frags[i]);
      await sendTo(client, l.port, B('6,105,7,-;after the gap\n'));
      const holed = datagrams({ level: 6, seq: 106, tsUsec: 8, text: 'H'.repeat(2500) }, { extended: true });
      await sendTo(client, l.port, holed[0]);

      const parsed = (): Array<Message & Record<string, unknown>> =>
        l.lines.map((line) => JSON.parse(line) as Message & Record<string, unknown>);
      const isOurs = (m: Message): boolean => m.extended && m.seq !== undefined && BigInt(m.seq) >= BigInt(seqStart);
      const basicText = `hello from the CLI test é\\\n${LONG}\n`;
      await until(
        () => {
          const msgs = parsed();
          return (
            msgs.filter(isOurs).length >= 2 &&
            msgs.filter((m) => m.extended && !isOurs(m)).length >= 3 &&
            Buffer.byteLength(
              msgs
                .filter((m) => !m.extended)
                .map((m) => m.text)
                .join(''),
            ) >= Buffer.byteLength(basicText)
          );
        },
        'the JSON lines',
        10_000,
      );
      await sleep(150);
      const msgs = parsed();
      const ext = msgs.filter(isOurs);
      const basic = msgs.filter((m) => !m.extended);
      const hand = msgs.filter((m) => m.extended && !isOurs(m));

      assert.equal(ext.length, 2, 'each extended message once');
      assert.match(ext[0].source, /^127\.0\.0\.1:\d+$/);
      assert.deepEqual(ext[0], {
        source: ext[0].source,
        extended: true,
        level: 5,
        facility: 1,
        seq: String(seqStart),
        tsUsec: ext[0].tsUsec,
        cont: false,
        text: 'hello from the CLI test é\\',
        dict: { SUBSYSTEM: 'x', k: 'v', msgid: '1' },
        release: osRelease(),
      });
      assert.match(ext[0].tsUsec!, /^\d+$/);
      assert.deepEqual(
        { ...ext[1], tsUsec: '' },
        {
          source: ext[0].source,
          extended: true,
          level: 3,
          facility: 1,
          seq: String(seqStart + 1),
          tsUsec: '',
          cont: false,
          text: LONG,
          dict: { k: 'v', msgid: '2' },
          release: osRelease(),
        },
      );
      assert.equal(basic.map((m) => m.text).join(''), basicText);
      for (const m of basic) assert.deepEqual(Object.keys(m).sort(), ['extended', 'source', 'text']);

      const src = `127.0.0.1:${client.address().port}`;
      assert.deepEqual(
        hand.map((m) => [m.source, m.seq, m.text, m.incomplete ?? false]),
        [
          [src, '100', 'F'.repeat(2500), false],
          [src, '105', 'after the gap', false],
          [src, '106', hand[2]?.text, true],
        ],
      );
      assert.ok(
        hand[2].text.startsWith(bodyOf(holed[0]).toString('latin1')),
        'the incomplete message keeps the text it has',
      );
      assert.match(l.stderr(), new RegExp(`gap from ${src.replace(/\./g, '\\.')}: expected seq 101, got 105`));
    } finally {
      client.close();
      const { code, signal } = await stopListen(l);
      assert.equal(signal, null);
      assert.equal(code, 0, 'SIGTERM: closes and exits 0');
    }
  });

  test('text mode: `<source> <level>seq text` lines; SIGTERM reports a message still waiting for fragments as [incomplete], then exits 0', async () => {
    const l = await startListen([]); // default --fragment-timeout 2000
    const client = await udpClient();
    const src = `127.0.0.1:${client.address().port}`;
    try {
      await sendTo(client, l.port, B('6,1,2,-;plain text\n'));
      await sendTo(client, l.port, B('just a basic line'));
      await sendTo(
        client,
        l.port,
        datagrams({ level: 3, seq: 2, tsUsec: 3, text: 'P'.repeat(1500) }, { extended: true })[0],
      );
      await until(() => l.lines.length >= 2, 'two lines');
      await sleep(50);
      assert.deepEqual(l.lines, [`${src} <6>1 plain text`, `${src} just a basic line`]);
    } finally {
      client.close();
      const { code } = await stopListen(l);
      assert.equal(code, 0);
    }
    assert.equal(l.lines.length, 3);
    assert.match(l.lines[2], new RegExp(`^${src.replace(/\./g, '\\.')} <3>2 \\[incomplete\\] P{900,}`));
  });
});

// ---------------------------------------------------------------- hand-made datagrams

describe('hand-made datagrams (Reassembler.push)', () => {
  const REC: WireRecord = {
    level: 6,
    seq: 42,
    tsUsec: 12345678,
    text: 'é'.repeat(1000) + ' control \x01\x1f\x7f backslash \\ \\x41 🙂',
    dict: [
      ['SUBSYSTEM', 'net'],
      ['DEVICE', 'n2'],
    ],
  };
  const TGT: WireTarget = { extended: true, userdata: [['host', 'web01']], sysdata: { msgid: 3 } };
  const DICT = { SUBSYSTEM: 'net', DEVICE: 'n2', host: 'web01', msgid: '3' };

  test('fragments in order: one message, text and dictionary exact (fragment boundaries fall inside \\xHH escapes)', () => {
    const frags = datagrams(REC, TGT);
    assert.ok(frags.length >= 6);
    const r = new Reassembler({ fragmentTimeoutMs: 50 });
    const got = collect(r);
    for (const f of frags) r.push(f, 's:1');
    assert.equal(got.messages.length, 1);
    assert.deepEqual(got.messages[0], {
      source: 's:1',
      extended: true,
      level: 6,
      facility: 1,
      seq: '42',
      tsUsec: '12345678',
      cont: false,
      text: REC.text,
      dict: DICT,
    });
    assert.equal(r.pendingCount, 0);
  });

  for (const messages of [1, 3]) {
    test(`${messages} x 8,189 overlapping 2-byte fragments (offset i covers bytes i and i + 1 of 8,190), shuffled together: ${messages} complete messages (reassembly is linear in the bytes: this took 5 s per message with a sorted range list)`, () => {
      const rand = mulberry32(messages);
      const frags: Buffer[] = [];
      for (let m = 0; m < messages; m++)
        for (let i = 0; i < 8189; i++)
          frags.push(B(`6,${7 + m},0,-,ncfrag=${i}/8190;${String.fromCharCode(97 + (i % 26), 97 + ((i + 1) % 26))}`));
      for (let i = frags.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [frags[i], frags[j]] = [frags[j], frags[i]];
      }
      const r = new Reassembler({ fragmentTimeoutMs: 60_000 });
      const got = collect(r);
      for (const f of frags) r.push(f, 's:1');
      const text = Array.from({ length: 8190 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
      assert.deepEqual(
        got.messages.map((m) => [m.seq, m.incomplete ?? false, m.text === text]).sort(),
        Array.from({ length: messages }, (_, m) => [String(7 + m), false, true]),
      );
      assert.equal(r.pendingCount, 0);
    });
  }

  test('fragments out of order and duplicated: delivered once, complete, when the last missing piece arrives; duplicates counted', () => {
    const frags = datagrams(REC, TGT);
    const n = frags.length;
    const order = [n - 1, 3, 3, 0, n - 1, 1, 0, ...Array.from({ length: n - 4 }, (_, i) => n - 2 - i), 2];
    const distinct = new Set(order).size;
    assert.equal(distinct, n);
    const r = new Reassembler({ fragmentTimeoutMs: 50 });
    const got = collect(r);
    order.forEach((i, k) => {
      r.push(frags[i], 's:1');
      if (k < order.length - 1)
        assert.equal(got.messages.length, 0, `nothing before the last piece (after ${k + 1} datagrams)`);
    });
    assert.equal(got.messages.length, 1);
    assert.equal(got.messages[0].text, REC.text);
    assert.deepEqual(got.messages[0].dict, DICT);
    assert.equal(got.messages[0].incomplete, undefined);
    assert.equal(r.counters.duplicates, order.length - n);
    assert.equal(r.counters.messages, 1);
    assert.equal(r.pendingCount, 0);
  });

  test('a duplicate fragment arriving after its message completed is not delivered again', async () => {
    const frags = datagrams(REC, TGT);
    const r = new Reassembler({ fragmentTimeoutMs: 50 });
    const got = collect(r);
    for (const f of frags) r.push(f, 's:1');
    r.push(frags[0], 's:1'); // UDP may duplicate a datagram, late
    await sleep(150);
    assert.deepEqual(
      got.messages.map((m) => [m.seq, m.incomplete ?? false]),
      [['42', false]],
    );
  });

  test('a missing middle fragment: nothing until the fragment timeout (50 ms), then one incomplete message with the text before the hole (N17)', async () => {
    const rec: WireRecord = {
      level: 4,
      seq: 7,
      tsUsec: 1,
      text: 'a'.repeat(990) + 'b'.repeat(990) + 'c'.repeat(500),
      dict: [['SUBSYSTEM', 'x']],
    };
    const frags = datagrams(rec, { extended: true });
    assert.equal(frags.length, 3);
    const r = new Reassembler({ fragmentTimeoutMs: 50 });
    const got = collect(r);
    r.push(frags[0], 's:1');
    r.push(frags[2], 's:1');
    assert.equal(r.pendingCount, 1);
    await sleep(20);
    assert.equal(got.messages.length, 0, 'not before the timeout');
    await until(() => got.messages.length > 0, 'the timeout', 2000);
    const m = got.messages[0];
    assert.equal(m.incomplete, true);
    assert.equal(m.seq, '7');
    assert.equal(m.level, 4);
    assert.equal(m.text, bodyOf(frags[0]).toString('latin1'), 'the text up to the hole, as netconsd prints it');
    assert.deepEqual(m.dict, {}, 'the dictionary was in the last fragment, after the hole');
    assert.equal(r.counters.incomplete, 1);
    assert.equal(r.counters.evicted, 0);
    assert.equal(r.pendingCount, 0);
    await sleep(100);
    assert.equal(got.messages.length, 1, 'reported once');
  });

  test('a missing last fragment: reported incomplete after the timeout with the text received', async () => {
    const frags = datagrams({ level: 6, seq: 8, tsUsec: 1, text: 'z'.repeat(2500) }, { extended: true });
    const r = new Reassembler({ fragmentTimeoutMs: 50 });
    const got = collect(r);
    r.push(frags[0], 's:1');
    r.push(frags[1], 's:1');
    await until(() => got.messages.length > 0, 'the timeout', 2000);
    assert.equal(got.messages[0].incomplete, true);
    assert.equal(
      got.messages[0].text.replace(/\0+$/, ''),
      'z'.repeat(bodyOf(frags[0]).length + bodyOf(frags[1]).length),
    );
  });

  test('Receiver.close() (and flushPending) report what is still waiting, as incomplete', async () => {
    const r = new Receiver({ fragmentTimeoutMs: 60_000 });
    const got = collect(r);
    await r.listen('127.0.0.1', 0);
    r.push(datagrams({ level: 6, seq: 1, tsUsec: 1, text: 'q'.repeat(2000) }, { extended: true })[0], 's:1');
    assert.equal(r.pendingCount, 1);
    await r.close();
    assert.equal(got.messages.length, 1);
    assert.equal(got.messages[0].incomplete, true);
    assert.equal(r.pendingCount, 0);
  });

  test('bad ncfrag values (offset >= total, total 0, total > 8191): treated as basic, never reassembled, no crash', () => {
    const r = new Reassembler({ fragmentTimeoutMs: 50 });
    const got = collect(r);
    const bad = ['10/10', '20/10', '0/0', '5/0', `0/${MAX_TOTAL + 1}`, '0/99999', '8191/8191'];
    for (const f of bad) {
      const d = B(`6,1,0,-,ncfrag=${f};some text\n`);
      assert.deepEqual(parseDatagram(d), { extended: false, body: d }, f);
      assert.doesNotThrow(() => r.push(d, 's:1'));
    }
    assert.equal(r.pendingCount, 0);
    assert.deepEqual(
      got.messages.map((m) => [m.extended, m.text]),
      bad.map((f) => [false, `6,1,0,-,ncfrag=${f};some text\n`]),
    );
    // The largest valid total is reassembled.
    const ok = B(`6,2,0,-,ncfrag=0/${MAX_TOTAL};x`);
    assert.deepEqual(parseDatagram(ok).frag, { offset: 0, total: MAX_TOTAL });
  });

  test('non-numeric, negative or over-long ncfrag values: treated as basic (or dropped), never as a complete extended message', () => {
    for (const f of ['x/y', '-1/10', '1e3/5000', '123456/200', '', '/10', '10/']) {
      const d = B(`6,1,0,-,ncfrag=${f};some text\n`);
      const r = new Reassembler({ fragmentTimeoutMs: 50 });
      const got = collect(r);
      assert.doesNotThrow(() => r.push(d, 's:1'));
      r.flushPending();
      for (const m of got.messages)
        assert.equal(m.extended, false, `ncfrag=${f}: got an extended message with text ${JSON.stringify(m.text)}`);
    }
  });

  test(`datagrams over ${MAX_DATAGRAM} bytes are truncated to ${MAX_DATAGRAM} bytes, like netconsd`, async () => {
    const r = new Reassembler({ fragmentTimeoutMs: 50 });
    const got = collect(r);
    r.push(Buffer.alloc(1500, 0x62), 's:1');
    assert.equal(got.messages[0].text, 'b'.repeat(MAX_DATAGRAM));
    const head = '6,1,0,-;';
    r.push(B(head + 'A'.repeat(1992)), 's:1');
    assert.equal(got.messages[1].text, 'A'.repeat(MAX_DATAGRAM - head.length));
    assert.equal(got.messages[1].extended, true);
    // A fragment over the limit loses its tail: the message is then incomplete.
    const fhead = '6,2,0,-,ncfrag=0/1500;';
    r.push(B(fhead + 'C'.repeat(1500)), 's:1');
    assert.equal(r.pendingCount, 1);
    await until(() => got.messages.length === 3, 'the timeout', 2000);
    assert.equal(got.messages[2].incomplete, true);
    assert.equal(got.messages[2].text.replace(/\0+$/, ''), 'C'.repeat(MAX_DATAGRAM - fhead.length));
    assert.equal(parseDatagram(Buffer.alloc(5000, 0x41)).body.length, MAX_DATAGRAM);
  });

  test('a release prefix: `6.4.0,6,444,501151268,-;...` gives release, prio, seq, tsUsec; also on fragments', () => {
    const r = new Reassembler();
    const got = collect(r);
    r.push(B('6.4.0,6,444,501151268,-;netconsole: network logging started\n'), 's:1');
    assert.deepEqual(got.messages[0], {
      source: 's:1',
      extended: true,
      level: 6,
      facility: 0,
      seq: '444',
      tsUsec: '501151268',
      cont: false,
      text: 'netconsole: network logging started',
      dict: {},
      release: '6.4.0',
    });
    const frags = datagrams(
      { level: 2, seq: 445, tsUsec: 9, text: 'r'.repeat(3000) },
      { extended: true, release: '6.18.0-rc1-test+' },
    );
    assert.ok(frags.length > 1);
    for (const f of frags.reverse()) r.push(f, 's:1');
    assert.deepEqual(
      { ...got.messages[1], text: got.messages[1].text.length },
      {
        source: 's:1',
        extended: true,
        level: 2,
        facility: 1,
        seq: '445',
        tsUsec: '9',
        cont: false,
        text: 3000,
        dict: {},
        release: '6.18.0-rc1-test+',
      },
    );
  });

  test('sequence gaps per source: a gap event with expected/got; none across sources, none for lower seqs; a repeat is dropped (N16); a jump past the 512-message window is a new stream, not a gap (N19)', () => {
    const r = new Reassembler();
    const got = collect(r);
    const push = (seq: number | string, src: string): void => r.push(B(`6,${seq},0,-;m${seq}\n`), src);
    push(1, 'A:1');
    push(100, 'B:1'); // another source: its own sequence, no gap
    push(2, 'A:1');
    push(101, 'B:1');
    push(5, 'A:1'); // 3 and 4 missing
    push(6, 'A:1');
    push(6, 'A:1'); // a repeat: netconsd drops it
    push(3, 'A:1'); // late: printed
    push(105, 'B:1'); // 102..104 missing
    push(1, 'C:1');
    assert.deepEqual(got.gaps, [
      { source: 'A:1', expected: '3', got: '5' },
      { source: 'B:1', expected: '102', got: '105' },
    ]);
    assert.equal(r.counters.gaps, 2);
    assert.deepEqual(
      got.messages.map((m) => `${m.source} ${m.seq}`),
      ['A:1 1', 'B:1 100', 'A:1 2', 'B:1 101', 'A:1 5', 'A:1 6', 'A:1 3', 'B:1 105', 'C:1 1'],
    );
    assert.equal(r.counters.duplicates, 1);
    // 64-bit seqs
    push('9007199254740993', 'D:1'); // 2^53 + 1: beyond a double's precision
    push('9007199254740996', 'D:1');
    assert.deepEqual(got.gaps.at(-1), { source: 'D:1', expected: '9007199254740994', got: '9007199254740996' });
    r.push(B('6,18446744073709551615,0,-;max\n'), 'D:1');
    assert.equal(r.counters.gaps, 3, 'a jump of 2^64 - 2^53 is another stream, not a gap');
    assert.deepEqual(
      [got.messages.at(-1)!.seq, got.messages.at(-1)!.oos, r.counters.restarts],
      ['18446744073709551615', undefined, 1],
    );
  });

  test('no gap for a seq whose fragments are still arriving (UDP may reorder datagrams)', () => {
    const r = new Reassembler({ fragmentTimeoutMs: 50 });
    const got = collect(r);
    r.push(B('6,9,0,-;nine\n'), 'A:1');
    r.push(B('6,10,0,-,ncfrag=0/10;01234'), 'A:1');
    r.push(B('6,11,0,-;eleven\n'), 'A:1');
    r.push(B('6,10,0,-,ncfrag=5/10;56789'), 'A:1');
    assert.deepEqual(
      got.messages.map((m) => m.seq),
      ['9', '11', '10'],
    );
    assert.deepEqual(got.gaps, []);
  });

  test('parse helpers: unescape reverses the escaping, splitBody separates the text from the KEY=value lines', () => {
    assert.equal(unescape('a\\x0ab\\x5cx41\\xc3\\xa9'), 'a\nb\\x41é');
    assert.deepEqual(splitBody('text\\x0aline2\n SUBSYSTEM=net\n DEVICE=a=b\\x20c\n\n'), {
      text: 'text\nline2',
      dict: { SUBSYSTEM: 'net', DEVICE: 'a=b c' },
    });
  });

  test('binary garbage: 10,000 random buffers and 10,000 mutated valid datagrams never throw; every message is well-formed; nothing stays pending', () => {
    const rand = mulberry32(0x5eed);
    const r = new Reassembler({ fragmentTimeoutMs: 60_000, maxPending: 64 });
    let bad = 0;
    r.on('message', (m: Message) => {
      if (typeof m.text !== 'string' || typeof m.extended !== 'boolean' || m.source !== 'g:1') bad++;
      if (
        m.extended &&
        (!/^\d+$/.test(m.seq!) ||
          !/^\d+$/.test(m.tsUsec!) ||
          m.level! > 7 ||
          m.facility! > 31 ||
          typeof m.dict !== 'object')
      )
        bad++;
    });
    r.on('gap', () => {});
    for (let i = 0; i < 10_000; i++) {
      const len = Math.floor(rand() * 1600);
      const b = Buffer.alloc(len);
      for (let k = 0; k < len; k++) b[k] = Math.floor(rand() * 256);
      assert.doesNotThrow(() => r.push(b, 'g:1'), `random buffer ${i}`);
    }
    const seeds = [
      ...datagrams(
        { level: 6, seq: 77, tsUsec: 5, text: 'fuzz '.repeat(700), dict: [['K', 'v']] },
        { extended: true, release: '6.1.0', userdata: [['a', 'b']] },
      ),
      B('6,1,2,-;short\n'),
      B('5.10.0,6,1,2,c,ncfrag=0/20;0123456789'),
    ];
    const alphabet = B('0123456789,;-c/=.x\\\n ncfrag');
    for (let i = 0; i < 10_000; i++) {
      const b = Buffer.from(seeds[Math.floor(rand() * seeds.length)]);
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * Math.min(b.length, 60));
        b[at] = rand() < 0.7 ? alphabet[Math.floor(rand() * alphabet.length)] : Math.floor(rand() * 256);
      }
      assert.doesNotThrow(() => r.push(b, 'g:1'), `mutated datagram ${i}: ${b.subarray(0, 60).toString('latin1')}`);
    }
    assert.ok(r.pendingCount <= 64);
    assert.doesNotThrow(() => r.flushPending());
    assert.equal(r.pendingCount, 0);
    assert.equal(bad, 0);
    assert.equal(r.counters.datagrams, 20_000);
  });
});

// ---------------------------------------------------------------- a restarted application

describe('an application restarted: runs in sequence from one source (address and local_port) to one Receiver', () => {
  // Each run is a Netconsole of its own, as after a restart: the same local_port (6665 by default;
  // a free one here), a new seqStart. A trickle of 5 records per run: fewer than the 19 that reset
  // a stream after a far jump by the out-of-sequence rule alone (netconsd's).
  const RUNS: Array<{ name: string; starts: Array<number | 'time'> }> = [
    { name: "a first run from 1000, then seqStart 'time' (far ahead)", starts: [1000, 'time'] },
    { name: "seqStart 'time' twice (the default)", starts: ['time', 'time'] },
    { name: "seqStart 'time', then a run starting lower (0, as a rebooted kernel)", starts: ['time', 0] },
  ];
  for (const c of RUNS) {
    test(`${c.name}: no record of the second run out of sequence, no gap, one restart; each run's records in order`, async () => {
      const receiver = new Receiver();
      const got = collect(receiver);
      const restarts: Array<{ from: string; to: string }> = [];
      receiver.on('restart', (e: { from: string; to: string }) => restarts.push(e));
      const { port } = await receiver.listen('127.0.0.1', 0);
      const localPort = await freePort();
      try {
        for (const [run, seqStart] of c.starts.entries()) {
          const nc = await Netconsole.create({
            devices: 'none',
            env: false,
            seqStart,
            targets: [target(port, { extended: 1, local_port: localPort })],
          });
          try {
            for (let i = 0; i < 5; i++) assert.equal(nc.info(`run ${run} record ${i}`), 1);
            await nc.flush();
          } finally {
            await nc.close();
          }
          await until(() => got.messages.length === 5 * (run + 1), `run ${run}'s 5 records`);
        }
      } finally {
        await receiver.close();
      }
      assert.deepEqual(new Set(got.messages.map((m) => m.source)), new Set([`127.0.0.1:${localPort}`]), 'one source');
      assert.deepEqual(
        got.messages.map((m) => m.text),
        [0, 1].flatMap((run) => [0, 1, 2, 3, 4].map((i) => `run ${run} record ${i}`)),
      );
      assert.deepEqual(
        got.messages.filter((m) => m.oos).map((m) => m.text),
        [],
        'no record flagged [oos]',
      );
      assert.equal(receiver.counters.oos, 0);
      assert.deepEqual(got.gaps, []);
      const seqs = got.messages.map((m) => BigInt(m.seq!));
      for (const run of [0, 1]) {
        const first = seqs[5 * run];
        assert.deepEqual(
          seqs.slice(5 * run, 5 * run + 5),
          [0n, 1n, 2n, 3n, 4n].map((i) => first + i),
          `run ${run}: consecutive seqs`,
        );
        if (c.starts[run] !== 'time') assert.equal(first, BigInt(c.starts[run]));
      }
      assert.deepEqual(restarts, [{ source: `127.0.0.1:${localPort}`, from: String(seqs[4]), to: String(seqs[5]) }]);
    });
  }
});

// ---------------------------------------------------------------- memory under a flood

/** A gc() function: --expose-gc set at run time (v8.setFlagsFromString), or a no-op. */
function gcFunction(): () => void {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    if (typeof gc === 'function') return gc as () => void;
  } catch {
    // not available: measure without forcing collections
  }
  return () => {};
}

describe('a flood of incomplete messages', () => {
  const MiB = 1 << 20;
  const HEAP_BOUND = 64 * MiB;
  const FLOOD = 100_000;

  for (const shape of [
    { name: 'byte-bound', total: MAX_TOTAL, maxPending: 1024, maxPendingBytes: 4 * MiB },
    { name: 'count-bound', total: 1200, maxPending: 1000, maxPendingBytes: 8 * MiB },
  ]) {
    test(`${shape.name}: ${FLOOD.toLocaleString('en')} messages with one fragment each (total ${shape.total}): pending <= maxPending ${shape.maxPending}, bytes <= maxPendingBytes ${shape.maxPendingBytes / MiB} MiB, heapUsed growth < 64 MiB, under 30 s, no throw`, () => {
      const gc = gcFunction();
      const r = new Reassembler({
        fragmentTimeoutMs: 600_000,
        maxPending: shape.maxPending,
        maxPendingBytes: shape.maxPendingBytes,
      });
      let delivered = 0;
      let complete = 0;
      r.on('message', (m: Message) => {
        delivered++;
        if (!m.incomplete) complete++;
      });
      r.on('gap', () => {});
      const privateBytes = (): number | undefined => (r as unknown as { pendingBytes?: number }).pendingBytes;
      const body = Buffer.alloc(1000 - `6,${1e9},${1e9},-,ncfrag=0/${shape.total};`.length, 0x46);
      gc();
      const base = process.memoryUsage();
      let peakHeap = 0;
      let peakPending = 0;
      let peakBytes = 0;
      const t0 = performance.now();
      for (let i = 0; i < FLOOD; i++) {
        const seq = 1e9 + i;
        r.push(Buffer.concat([B(`6,${seq},${seq},-,ncfrag=0/${shape.total};`), body]), '203.0.113.9:6665');
        const bytes = privateBytes() ?? r.pendingCount * shape.total;
        if (r.pendingCount > peakPending) peakPending = r.pendingCount;
        if (bytes > peakBytes) peakBytes = bytes;
        if (i % 500 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed - base.heapUsed);
      }
      const ms = performance.now() - t0;
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed - base.heapUsed);
      assert.ok(peakPending <= shape.maxPending, `pending ${peakPending} <= ${shape.maxPending}`);
      assert.ok(peakBytes <= shape.maxPendingBytes, `pending bytes ${peakBytes} <= ${shape.maxPendingBytes}`);
      assert.ok(r.pendingCount * shape.total <= shape.maxPendingBytes);
      assert.equal(r.counters.evicted, FLOOD - r.pendingCount, 'every message not pending was evicted');
      assert.equal(delivered, r.counters.evicted, 'each evicted message is reported (incomplete)');
      assert.equal(complete, 0);
      assert.equal(r.counters.incomplete, r.counters.evicted);
      assert.equal(r.counters.gaps, 0, 'consecutive seqs: no gap');
      assert.ok(peakHeap < HEAP_BOUND, `heapUsed grew ${(peakHeap / MiB).toFixed(1)} MiB (< 64 MiB)`);
      assert.ok(ms < 30_000, `the flood took ${ms.toFixed(0)} ms`);
      r.flushPending();
      assert.equal(r.pendingCount, 0);
      assert.equal(privateBytes() ?? 0, 0);
      assert.equal(delivered, FLOOD);
    });
  }
});
