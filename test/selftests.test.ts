// The Linux netconsole selftests (tools/testing/selftests/drivers/net/netcons_*.sh and
// lib_netcons.sh), end to end on loopback: this library is the sender, a plain node:dgram UDP
// socket is the receiver (what socat is in the kernel's scripts), and every check is made on the
// raw datagrams.
//
// Beyond the scripts' grep-level checks, every datagram whose bytes are deterministic is compared
// twice: with the bytes built by hand from docs/wire.md, and with what the wire encoder
// (encodeDatagrams) produces for the same record and target (seq and tsUsec, cpu and msgid taken
// from the received header).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release as osRelease } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Netconsole, type TargetOptions } from '../src/index.js';
import { encodeDatagrams } from '../src/core/wire.js';
import type { WireRecord, WireSysdata, WireTarget } from '../src/base/wire-types.js';
import { JsonChild } from './helpers/json-child.js';
import { withNetconsole } from './helpers/netconsole.js';

const RECV_TIMEOUT_MS = 4000;
const QUIET_MS = 150;
const RELEASE = osRelease();
const MAX_PRINT_CHUNK = 1000;
const INFO = 6;
const PRIO_INFO = 1 * 8 + INFO; // facility user, level info
const SEND_6665 = fileURLToPath(new URL('./workers/send-6665.js', import.meta.url));
const INDEX_URL = new URL('../src/index.js', import.meta.url).href;

const FAMILIES = [
  { fam: 'IPv4', host: '127.0.0.1' },
  { fam: 'IPv6', host: '::1' },
] as const;

// ---------------------------------------------------------------------------------------------
// The receiver: a plain UDP socket (socat UDP-LISTEN in the kernel's scripts)

interface Datagram {
  data: Buffer;
  address: string;
  port: number;
}

class Receiver {
  private readonly queue: Datagram[] = [];
  private wake: (() => void) | null = null;

  private constructor(
    private readonly socket: Socket,
    readonly host: string,
    readonly port: number,
  ) {
    socket.on('message', (data, rinfo) => {
      this.queue.push({ data, address: rinfo.address, port: rinfo.port });
      this.wake?.();
    });
  }

  static async open(host: string): Promise<Receiver> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: host, port: 0 }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new Receiver(socket, host, socket.address().port);
  }

  /** The next `n` datagrams, waiting at most `timeoutMs` in all. */
  async take(n: number, timeoutMs = RECV_TIMEOUT_MS): Promise<Datagram[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const got = this.queue.map((d) => JSON.stringify(d.data.toString('latin1'))).join(', ');
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${n} datagram(s) on [${this.host}]:${this.port}; got ${this.queue.length}: ${got}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = null;
    }
    return this.queue.splice(0, n);
  }

  /** One whole message: a single datagram, or every ncfrag fragment of it (in arrival order). */
  async takeMessage(timeoutMs = RECV_TIMEOUT_MS): Promise<Datagram[]> {
    const [first] = await this.take(1, timeoutMs);
    const frag = fragInfo(first.data);
    if (frag === null) return [first];
    const all = [first];
    let got = first.data.length - frag.headerLen;
    while (got < frag.total) {
      const [d] = await this.take(1, timeoutMs);
      const f = fragInfo(d.data);
      assert.ok(f !== null, `expected another fragment, got ${JSON.stringify(d.data.toString('latin1'))}`);
      got += d.data.length - f.headerLen;
      all.push(d);
    }
    return all;
  }

  /** Asserts that nothing (more) arrives within `ms`. */
  async expectNothing(ms = QUIET_MS): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    assert.deepEqual(
      this.queue.map((d) => d.data.toString('latin1')),
      [],
      'no further datagram expected',
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

async function withReceiver<T>(host: string, fn: (rx: Receiver) => Promise<T>): Promise<T> {
  const rx = await Receiver.open(host);
  try {
    return await fn(rx);
  } finally {
    await rx.close();
  }
}

/** A Netconsole without device polling or the NETCONSOLE variable, always closed. */
const withTargets = <T>(targets: TargetOptions[] | undefined, fn: (nc: Netconsole) => Promise<T>): Promise<T> =>
  withNetconsole({ targets }, fn);

/** A target towards `rx` from an ephemeral source port. */
function targetFor(rx: Receiver, name: string, attrs: Omit<TargetOptions, 'name'> = {}): TargetOptions {
  return { name, remote_ip: rx.host, remote_port: rx.port, local_port: 0, enabled: 1, ...attrs };
}

/** Logs `text` at info, flushes, and returns the datagrams of that one message. */
async function sendOne(nc: Netconsole, rx: Receiver, text: string): Promise<Datagram[]> {
  const offered = nc.info(text);
  assert.ok(offered >= 1, `the record was offered to ${offered} targets`);
  await nc.flush();
  return rx.takeMessage();
}

// ---------------------------------------------------------------------------------------------
// Parsing what arrived, and building what should have (docs/wire.md)
//
// On purpose by hand from the spec, and strict (the exact header grammar of docs/wire.md), not with
// the receiver's parseDatagram (src/receiver/ncrx-parse.ts): that one accepts what netconsd accepts (other
// bases, signs, any flag), so it could not tell a malformed header from a good one, and these
// checks must stand apart from the code of this library.

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** docs/wire.md 3.1: bytes < 0x20, >= 0x7f and the backslash as \xHH; the result is ASCII. */
function escapeText(text: string): string {
  let s = '';
  for (const c of Buffer.from(text, 'utf8')) {
    s += c < 0x20 || c >= 0x7f || c === 0x5c ? `\\x${c.toString(16).padStart(2, '0')}` : String.fromCharCode(c);
  }
  return s;
}

/** `[%5lu.%06lu] ` of a tsUsec. */
function tsPrefix(tsUsec: bigint): string {
  return `[${String(tsUsec / 1_000_000n).padStart(5, ' ')}.${String(tsUsec % 1_000_000n).padStart(6, '0')}] `;
}

function fragInfo(data: Buffer): { offset: number; total: number; headerLen: number } | null {
  const semi = data.indexOf(0x3b);
  if (semi < 0) return null;
  const m = /,ncfrag=(\d+)\/(\d+)$/.exec(data.subarray(0, semi).toString('latin1'));
  return m ? { offset: Number(m[1]), total: Number(m[2]), headerLen: semi + 1 } : null;
}

interface ExtHeader {
  prio: number;
  seq: bigint;
  tsUsec: bigint;
  flag: string;
  /** Everything before `;` (release prefix and ncfrag included). */
  header: string;
  frag: { offset: number; total: number } | null;
  payload: Buffer;
}

/** `[<release>,]<prio>,<seq>,<ts>,<flag>[,ncfrag=<off>/<total>];<payload>` */
function parseExtended(data: Buffer, release: string | null): ExtHeader {
  const semi = data.indexOf(0x3b);
  assert.ok(semi > 0, `no ";" in ${JSON.stringify(latin1(data))}`);
  const header = data.subarray(0, semi).toString('latin1');
  let rest = header;
  if (release !== null) {
    assert.ok(header.startsWith(`${release},`), `release prefix "${release}," expected: ${JSON.stringify(header)}`);
    rest = header.slice(release.length + 1);
  }
  const m = /^(\d+),(\d+),(\d+),([-c])(?:,ncfrag=(\d+)\/(\d+))?$/.exec(rest);
  assert.ok(m, `header does not match <prio>,<seq>,<ts>,<flag>[,ncfrag=o/t]: ${JSON.stringify(header)}`);
  return {
    prio: Number(m[1]),
    seq: BigInt(m[2]),
    tsUsec: BigInt(m[3]),
    flag: m[4],
    header,
    frag: m[5] === undefined ? null : { offset: Number(m[5]), total: Number(m[6]) },
    payload: data.subarray(semi + 1),
  };
}

/**
 * Checks the fragments of one message (docs/wire.md 3.3) and returns the reassembled data, and the
 * header (without ncfrag) they share.
 */
function reassemble(datagrams: Datagram[], release: string | null): { header: ExtHeader; data: Buffer } {
  assert.ok(datagrams.length >= 2, `expected fragments, got ${datagrams.length} datagram(s)`);
  const parts = datagrams.map((d) => ({ d, h: parseExtended(d.data, release) }));
  const total = parts[0].h.frag?.total;
  assert.ok(total !== undefined, 'the first datagram carries ncfrag=');
  const prefix = parts[0].h.header.replace(/,ncfrag=\d+\/\d+$/, '');
  parts.sort((a, b) => a.h.frag!.offset - b.h.frag!.offset);
  let expectOffset = 0;
  parts.forEach(({ d, h }, i) => {
    assert.ok(h.frag, `fragment ${i} carries ncfrag=`);
    assert.equal(h.frag.total, total, `fragment ${i}: the same total`);
    assert.equal(h.frag.offset, expectOffset, `fragment ${i}: offsets are contiguous`);
    assert.equal(h.header, `${prefix},ncfrag=${h.frag.offset}/${total}`, `fragment ${i}: the same header`);
    if (i < parts.length - 1)
      assert.equal(d.data.length, MAX_PRINT_CHUNK, `fragment ${i} (not the last) is exactly 1000 bytes`);
    else assert.ok(d.data.length <= MAX_PRINT_CHUNK, `the last fragment is at most 1000 bytes (${d.data.length})`);
    expectOffset += h.payload.length;
  });
  assert.equal(expectOffset, total, 'the fragments add up to total');
  return { header: { ...parts[0].h, header: prefix, frag: null }, data: Buffer.concat(parts.map((p) => p.h.payload)) };
}

function record(text: string, seq: bigint, tsUsec: bigint): WireRecord {
  return { level: INFO, facility: 1, seq, tsUsec, text };
}

/** The datagrams must be exactly what the wire encoder produces for the same record and target. */
function assertEncoderAgrees(got: Datagram[], rec: WireRecord, target: WireTarget): void {
  const want = encodeDatagrams(rec, target).map(latin1);
  assert.deepEqual(
    got.map((d) => latin1(d.data)),
    want,
    'the datagrams equal encodeDatagrams() for this record and target',
  );
}

function userdataLines(entries: ReadonlyArray<readonly [string, string]>): string {
  return entries
    .filter(([, v]) => v !== '')
    .map(([k, v]) => ` ${k}=${v}\n`)
    .join('');
}

function sysdataLines(s: WireSysdata): string {
  let out = '';
  if (s.cpu !== undefined) out += ` cpu=${s.cpu}\n`;
  if (s.taskname !== undefined) out += ` taskname=${s.taskname}\n`;
  if (s.release !== undefined) out += ` release=${s.release}\n`;
  if (s.msgid !== undefined) out += ` msgid=${s.msgid}\n`;
  return out;
}

/** The comm of the calling thread (what the kernel prints as taskname). */
function threadComm(): string {
  return readFileSync('/proc/thread-self/comm', 'utf8').replace(/\n$/, '');
}

/** Parses the sysdata lines at the end of `tail`: in order, each at most once. */
function parseSysdata(tail: string): { fields: Array<[string, string]>; rest: string } {
  const fields: Array<[string, string]> = [];
  let rest = tail;
  for (;;) {
    const m = / (cpu|taskname|release|msgid)=([^\n]*)\n$/.exec(rest);
    if (!m) break;
    fields.unshift([m[1], m[2]]);
    rest = rest.slice(0, m.index);
  }
  return { fields, rest };
}

function count(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// netcons_basic.sh: basic and extended, IPv4 and IPv6, userdata, release

describe('netcons_basic', () => {
  const USERDATA: Array<[string, string]> = [['key', 'value']];

  for (const { fam, host } of FAMILIES) {
    test(`basic over ${fam}: the message arrives, userdata is not sent`, async () => {
      await withReceiver(host, (rx) =>
        withTargets([targetFor(rx, 'basic', { extended: 0, userdata: { key: 'value' } })], async (nc) => {
          const msg = `netconsole selftest basic ${fam} ${process.pid}`;
          const got = await sendOne(nc, rx, msg);
          assert.equal(got.length, 1);
          const [d] = got;
          assert.equal(d.address, host, 'sent from the loopback address of the family');
          const text = latin1(d.data);
          const m = /^\[ *(\d+)\.(\d{6})\] /.exec(text);
          assert.ok(m, `basic line starts with [%5lu.%06lu]: ${JSON.stringify(text)}`);
          const tsUsec = BigInt(m[1]) * 1_000_000n + BigInt(m[2]);
          assert.equal(text, `${tsPrefix(tsUsec)}${msg}\n`);
          assert.ok(!text.includes('key=value'), 'basic targets send no userdata');
          assertEncoderAgrees(got, record(msg, 0n, tsUsec), { extended: false, userdata: USERDATA });
          await rx.expectNothing();
        }),
      );
    });

    test(`basic over ${fam}: a multi-line message, each line with its timestamp`, async () => {
      await withReceiver(host, (rx) =>
        withTargets([targetFor(rx, 'basic', { userdata: { key: 'value' } })], async (nc) => {
          const msg = 'first line\nsecond line\n';
          const [d] = await sendOne(nc, rx, msg);
          const text = latin1(d.data);
          const m = /^\[ *(\d+)\.(\d{6})\] /.exec(text);
          assert.ok(m, JSON.stringify(text));
          const tsUsec = BigInt(m[1]) * 1_000_000n + BigInt(m[2]);
          assert.equal(text, `${tsPrefix(tsUsec)}first line\n${tsPrefix(tsUsec)}second line\n`);
          assertEncoderAgrees([d], record(msg, 0n, tsUsec), { extended: false });
        }),
      );
    });

    for (const release of [0, 1]) {
      test(`extended over ${fam}, release=${release}: <prio>,<seq>,<ts>,-;<msg> with userdata`, async () => {
        await withReceiver(host, (rx) =>
          withTargets([targetFor(rx, 'ext', { extended: 1, release, userdata: { key: 'value' } })], async (nc) => {
            const rel = release ? RELEASE : null;
            const msgs = [
              `netconsole selftest extended ${fam} ${process.pid}`,
              'second message: tab\there, back\\slash, é',
            ];
            let lastSeq = -1n;
            for (const msg of msgs) {
              const got = await sendOne(nc, rx, msg);
              assert.equal(got.length, 1);
              const [d] = got;
              assert.equal(d.address, host);
              const h = parseExtended(d.data, rel);
              if (release) assert.ok(latin1(d.data).startsWith(`${RELEASE},`), 'the "$(uname -r)," prefix');
              else assert.ok(!latin1(d.data).startsWith(`${RELEASE},`), 'no release prefix');
              assert.equal(h.prio, PRIO_INFO);
              assert.equal(h.flag, '-');
              assert.equal(h.frag, null);
              assert.ok(h.seq > lastSeq, 'seq increases');
              lastSeq = h.seq;
              const want = `${rel === null ? '' : `${rel},`}${PRIO_INFO},${h.seq},${h.tsUsec},-;${escapeText(msg)}\n key=value\n`;
              assert.equal(latin1(d.data), want);
              assert.equal(count(latin1(d.data), 'key=value'), 1, 'userdata appears once');
              assertEncoderAgrees(got, record(msg, h.seq, h.tsUsec), {
                extended: true,
                release: rel,
                userdata: USERDATA,
              });
            }
            await rx.expectNothing();
          }),
        );
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// netcons_fragmented_msg.sh: a message over 1000 bytes with userdata arrives in ncfrag fragments

describe('netcons_fragmented_msg', () => {
  // A few KB, with bytes that are escaped (\x5c, \x09, UTF-8) so that the body is longer than the text.
  const TEXT = `fragmented selftest ${'randomstring'.repeat(280)} tab\tback\\slash é ${'0123456789'.repeat(40)} end`;
  const USERDATA: Array<[string, string]> = [
    ['key', 'value'],
    ['fragkey', 'fragmented-userdata-value'],
  ];

  for (const { fam, host } of FAMILIES) {
    for (const release of [0, 1]) {
      test(`${fam}, release=${release}: ncfrag fragments of 1000 bytes, reassembled text + userdata once`, async () => {
        await withReceiver(host, (rx) =>
          withTargets(
            [targetFor(rx, 'frag', { extended: 1, release, userdata: Object.fromEntries(USERDATA) })],
            async (nc) => {
              const rel = release ? RELEASE : null;
              const got = await sendOne(nc, rx, TEXT);
              const expectData = `${escapeText(TEXT)}\n${userdataLines(USERDATA)}`;
              assert.ok(expectData.length > 3000 && expectData.length < 8191);
              const { header, data } = reassemble(got, rel);
              assert.equal(header.prio, PRIO_INFO);
              assert.equal(header.flag, '-');
              assert.equal(
                header.header,
                `${rel === null ? '' : `${rel},`}${PRIO_INFO},${header.seq},${header.tsUsec},-`,
              );
              assert.equal(data.toString('latin1'), expectData, 'reassembled body = escaped text + "\\n" + userdata');
              assert.equal(count(data.toString('latin1'), ' key=value\n'), 1, 'userdata appears exactly once');
              assert.equal(count(data.toString('latin1'), 'fragkey=fragmented-userdata-value'), 1);
              assert.ok(got.length >= 4, `a few KB arrive in several fragments (${got.length})`);
              for (const d of got) assert.equal(d.address, host);
              assertEncoderAgrees(got, record(TEXT, header.seq, header.tsUsec), {
                extended: true,
                release: rel,
                userdata: USERDATA,
              });
              await rx.expectNothing();
            },
          ),
        );
      });
    }
  }

  for (const size of [1000, 1001]) {
    test(`a composition of ${size} bytes: ${size === 1000 ? 'one datagram, no ncfrag' : 'two fragments'}`, async () => {
      await withReceiver('127.0.0.1', (rx) =>
        withTargets([targetFor(rx, 'edge', { extended: 1, userdata: { key: 'value' } })], async (nc) => {
          // The header's length (seq and timestamp digits) is learnt from a probe message; retried
          // in the unlikely case that the timestamp gains a digit in between.
          for (let attempt = 0; ; attempt++) {
            const [probe] = await sendOne(nc, rx, 'probe');
            const p = parseExtended(probe.data, null);
            const fixed = `${p.header};`.length + 1 + ' key=value\n'.length; // header ';' text '\n' userdata
            const text = 'z'.repeat(size - fixed);
            const got = await sendOne(nc, rx, text);
            const h = parseExtended(got[0].data, null);
            if (String(h.tsUsec).length !== String(p.tsUsec).length && attempt < 3) continue;
            assert.equal(String(h.seq).length, String(p.seq).length);
            if (size <= MAX_PRINT_CHUNK) {
              assert.equal(got.length, 1);
              assert.equal(got[0].data.length, size);
              assert.equal(h.frag, null);
              assert.equal(latin1(got[0].data), `${h.header};${text}\n key=value\n`);
            } else {
              const { header, data } = reassemble(got, null);
              assert.equal(got.length, 2);
              assert.equal(data.toString('latin1'), `${text}\n key=value\n`);
              assert.equal(header.frag, null);
            }
            assertEncoderAgrees(got, record(text, h.seq, h.tsUsec), { extended: true, userdata: [['key', 'value']] });
            return;
          }
        }),
      );
    });
  }

  test('basic: a long line is cut into datagrams of at most 1000 bytes, without ncfrag', async () => {
    await withReceiver('::1', (rx) =>
      withTargets([targetFor(rx, 'basiclong', { userdata: { key: 'value' } })], async (nc) => {
        const text = `basic long ${'abcdefghij'.repeat(250)}`;
        nc.info(text);
        await nc.flush();
        const first = (await rx.take(1))[0];
        const m = /^\[ *(\d+)\.(\d{6})\] /.exec(latin1(first.data));
        assert.ok(m);
        const tsUsec = BigInt(m[1]) * 1_000_000n + BigInt(m[2]);
        const line = `${tsPrefix(tsUsec)}${text}\n`;
        const n = Math.ceil(line.length / MAX_PRINT_CHUNK);
        const got = [first, ...(await rx.take(n - 1))];
        assert.equal(got.map((d) => latin1(d.data)).join(''), line);
        for (const d of got.slice(0, -1)) assert.equal(d.data.length, MAX_PRINT_CHUNK);
        assert.ok(!got.some((d) => latin1(d.data).includes('ncfrag=') || latin1(d.data).includes('key=value')));
        assertEncoderAgrees(got, record(text, 0n, tsUsec), { extended: false, userdata: [['key', 'value']] });
        await rx.expectNothing();
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// netcons_sysdata.sh: cpu, taskname, release, msgid

const TOGGLES = [
  ['cpu_nr_enabled', 'cpu'],
  ['taskname_enabled', 'taskname'],
  ['release_enabled', 'release'],
  ['msgid_enabled', 'msgid'],
] as const;
const ALL_SYSDATA = { cpu_nr_enabled: 1, taskname_enabled: 1, release_enabled: 1, msgid_enabled: 1 } as const;

/** Checks one extended single-datagram message carrying `userdata` then sysdata; returns the sysdata fields. */
function checkSysdataMessage(
  d: Datagram,
  msg: string,
  userdata: Array<[string, string]>,
): { h: ExtHeader; sys: Map<string, string>; order: string[] } {
  const h = parseExtended(d.data, null);
  const payload = h.payload.toString('latin1');
  const head = `${escapeText(msg)}\n${userdataLines(userdata)}`;
  assert.ok(payload.startsWith(head), `payload starts with text and userdata: ${JSON.stringify(payload)}`);
  const { fields, rest } = parseSysdata(payload.slice(head.length));
  assert.equal(rest, '', `only sysdata lines after userdata: ${JSON.stringify(payload.slice(head.length))}`);
  const order = fields.map(([k]) => k);
  assert.equal(new Set(order).size, order.length, `each sysdata field once: ${order}`);
  return { h, sys: new Map(fields), order };
}

describe('netcons_sysdata', () => {
  const USERDATA: Array<[string, string]> = [['key', 'value']];

  for (const { fam, host } of FAMILIES) {
    test(`${fam}: cpu, taskname, release, msgid, in that order, after userdata`, async () => {
      await withReceiver(host, (rx) =>
        withTargets([targetFor(rx, 'sys', { extended: 1, userdata: { key: 'value' }, ...ALL_SYSDATA })], async (nc) => {
          const msg = `netconsole selftest sysdata ${fam}`;
          const got = await sendOne(nc, rx, msg);
          assert.equal(got.length, 1);
          const { h, sys, order } = checkSysdataMessage(got[0], msg, USERDATA);
          assert.deepEqual(order, ['cpu', 'taskname', 'release', 'msgid']);
          const cpu = sys.get('cpu')!;
          assert.match(cpu, /^\d+$/, 'cpu is a number');
          assert.ok(Number(cpu) < cpus().length, `cpu ${cpu} is one of the ${cpus().length} CPUs`);
          assert.equal(sys.get('taskname'), threadComm(), "taskname is the writing thread's comm");
          assert.equal(sys.get('release'), RELEASE, 'release is uname -r');
          assert.equal(sys.get('msgid'), '1', 'the first message of a target has msgid 1');
          const sysdata: WireSysdata = { cpu: Number(cpu), taskname: threadComm(), release: RELEASE, msgid: 1 };
          assert.equal(
            latin1(got[0].data),
            `${PRIO_INFO},${h.seq},${h.tsUsec},-;${escapeText(msg)}\n key=value\n${sysdataLines(sysdata)}`,
          );
          assertEncoderAgrees(got, record(msg, h.seq, h.tsUsec), { extended: true, userdata: USERDATA, sysdata });
        }),
      );
    });
  }

  test('msgid increases by one per message and is not reset by disable/enable', async () => {
    await withReceiver('127.0.0.1', (rx) =>
      withTargets([targetFor(rx, 'msgid', { extended: 1, msgid_enabled: 1 })], async (nc) => {
        const target = nc.targets.get('msgid')!;
        const ids: number[] = [];
        const one = async (i: number): Promise<void> => {
          const [d] = await sendOne(nc, rx, `msgid message ${i}`);
          const { sys, order } = checkSysdataMessage(d, `msgid message ${i}`, []);
          assert.deepEqual(order, ['msgid']);
          ids.push(Number(sys.get('msgid')));
        };
        for (let i = 0; i < 5; i++) await one(i);
        await target.disable();
        assert.equal(target.get('enabled'), '0');
        nc.info('not sent: the target is disabled');
        await nc.flush();
        await rx.expectNothing();
        await target.enable();
        for (let i = 5; i < 8; i++) await one(i);
        assert.deepEqual(ids, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert.equal(nc.stats().targets[0].msgid, 8);
      }),
    );
  });

  for (const [toggle, field] of TOGGLES) {
    test(`${toggle}=0 removes ${field}= while the target stays enabled; =1 brings it back`, async () => {
      await withReceiver('127.0.0.1', (rx) =>
        withTargets(
          [targetFor(rx, 'toggle', { extended: 1, userdata: { key: 'value' }, ...ALL_SYSDATA })],
          async (nc) => {
            const target = nc.targets.get('toggle')!;
            const all = ['cpu', 'taskname', 'release', 'msgid'];
            let [d] = await sendOne(nc, rx, 'all fields');
            assert.deepEqual(checkSysdataMessage(d, 'all fields', USERDATA).order, all);

            await target.userdata.set(toggle, 0);
            assert.equal(target.userdata.get(toggle), '0');
            assert.equal(target.get('enabled'), '1', 'the target stays enabled');
            assert.equal(target.state, 'enabled');
            [d] = await sendOne(nc, rx, `without ${field}`);
            const off = checkSysdataMessage(d, `without ${field}`, USERDATA);
            assert.deepEqual(
              off.order,
              all.filter((f) => f !== field),
            );
            assert.ok(!latin1(d.data).includes(` ${field}=`), `no ${field}= once ${toggle} is 0`);

            await target.userdata.set(toggle, 1);
            [d] = await sendOne(nc, rx, `with ${field} again`);
            const on = checkSysdataMessage(d, `with ${field} again`, USERDATA);
            assert.deepEqual(on.order, all);
            if (field === 'msgid') assert.ok(Number(on.sys.get('msgid')) > 1, 'msgid is not reset by the toggle');
            else assert.equal(on.sys.get('msgid'), '3', 'msgid counts every message');
          },
        ),
      );
    });
  }

  test('all toggles off: no sysdata at all, userdata still sent', async () => {
    await withReceiver('::1', (rx) =>
      withTargets([targetFor(rx, 'none', { extended: 1, userdata: { key: 'value' }, ...ALL_SYSDATA })], async (nc) => {
        const target = nc.targets.get('none')!;
        for (const [toggle] of TOGGLES) await target.userdata.set(toggle, 'n');
        const [d] = await sendOne(nc, rx, 'no sysdata');
        const h = parseExtended(d.data, null);
        assert.equal(latin1(d.data), `${PRIO_INFO},${h.seq},${h.tsUsec},-;no sysdata\n key=value\n`);
      }),
    );
  });

  test('a fragmented message carries the sysdata once, at the end, after userdata', async () => {
    await withReceiver('127.0.0.1', (rx) =>
      withTargets(
        [targetFor(rx, 'fragsys', { extended: 1, release: 1, userdata: { key: 'value' }, ...ALL_SYSDATA })],
        async (nc) => {
          const text = `sysdata fragmented ${'x'.repeat(2500)}`;
          const got = await sendOne(nc, rx, text);
          const { header, data } = reassemble(got, RELEASE);
          const body = data.toString('latin1');
          const head = `${text}\n key=value\n`;
          assert.ok(body.startsWith(head));
          const { fields, rest } = parseSysdata(body.slice(head.length));
          assert.equal(rest, '');
          assert.deepEqual(
            fields.map(([k]) => k),
            ['cpu', 'taskname', 'release', 'msgid'],
          );
          for (const f of ['cpu=', 'taskname=', 'release=', 'msgid='])
            assert.equal(count(body, ` ${f}`), 1, `${f} once`);
          const sys = new Map(fields);
          assert.equal(sys.get('msgid'), '1');
          const sysdata: WireSysdata = {
            cpu: Number(sys.get('cpu')),
            taskname: threadComm(),
            release: RELEASE,
            msgid: 1,
          };
          assertEncoderAgrees(got, record(text, header.seq, header.tsUsec), {
            extended: true,
            release: RELEASE,
            userdata: [['key', 'value']],
            sysdata,
          });
        },
      ),
    );
  });

  test("taskname of a message written by a worker thread is that thread's comm", async () => {
    await withReceiver('127.0.0.1', (rx) =>
      withTargets([targetFor(rx, 'wrk', { extended: 1, taskname_enabled: 1 })], async (nc) => {
        const comm = `ncsel${process.pid % 100000}`.slice(0, 15);
        // The worker names its own thread (as `taskset`/prctl would), then attaches and logs.
        const code = `
          const { workerData, parentPort } = require('node:worker_threads');
          require('node:fs').writeFileSync('/proc/thread-self/comm', workerData.comm);
          import(workerData.url).then(({ attach }) => {
            const log = attach(workerData.handle);
            log.info('from a worker');
            log.detach();
            parentPort.postMessage('done');
          }, (err) => parentPort.postMessage(String(err)));
        `;
        const worker = new Worker(code, { eval: true, workerData: { comm, url: INDEX_URL, handle: nc.handle() } });
        nc.watchWorker(worker);
        try {
          const reply = await new Promise((resolve, reject) => {
            worker.once('message', resolve);
            worker.once('error', reject);
          });
          assert.equal(reply, 'done');
        } finally {
          await worker.terminate();
        }
        await nc.flush();
        const [d] = await rx.takeMessage();
        const { sys, order } = checkSysdataMessage(d, 'from a worker', []);
        assert.deepEqual(order, ['taskname']);
        assert.equal(sys.get('taskname'), comm);
        assert.notEqual(comm, threadComm());
      }),
    );
  });

  // The kernel prints current->comm at the time of each message. Reading the comm costs a file
  // read, so a writer re-reads it at most every 100 ms (src/core/writer.ts): a rename (process.title on
  // the main thread, or a write to /proc/thread-self/comm) shows in messages within 100 ms.
  test('taskname follows a rename of the writing thread within 100 ms (process.title)', async () => {
    await withReceiver('127.0.0.1', (rx) =>
      withTargets([targetFor(rx, 'rename', { extended: 1, taskname_enabled: 1 })], async (nc) => {
        const title = process.title;
        const comm = threadComm();
        try {
          let [d] = await sendOne(nc, rx, 'before rename');
          assert.equal(checkSysdataMessage(d, 'before rename', []).sys.get('taskname'), comm);
          process.title = 'ncsel-renamed';
          assert.equal(threadComm(), 'ncsel-renamed', 'process.title renames the main thread');
          await new Promise((r) => setTimeout(r, 120));
          [d] = await sendOne(nc, rx, 'after rename');
          assert.equal(checkSysdataMessage(d, 'after rename', []).sys.get('taskname'), 'ncsel-renamed');
        } finally {
          process.title = title;
          writeFileSync('/proc/thread-self/comm', comm);
        }
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// userdata (lib_netcons.sh set_user_data): entries set, changed and deleted while enabled

describe('netcons_userdata', () => {
  for (const { fam, host } of FAMILIES) {
    test(`${fam}: set, change and delete entries while enabled; the next message reflects each`, async (t) => {
      await withReceiver(host, (rx) =>
        withTargets(undefined, async (nc) => {
          // As the scripts do: mkdir the target, configure it, set userdata, then enable it.
          const target = await nc.targets.create('ud', {
            remote_ip: host,
            remote_port: rx.port,
            local_port: 0,
            extended: 1,
          });
          await target.userdata.set('key', 'value');
          await target.enable();
          assert.equal(target.get('enabled'), '1');

          const steps: Array<{ title: string; op: () => Promise<void>; want: Array<[string, string]> }> = [
            { title: 'the entry set before enabling', op: async () => {}, want: [['key', 'value']] },
            {
              title: 'a second entry set while enabled',
              op: () => target.userdata.set('region', 'eu-west-1'),
              want: [
                ['key', 'value'],
                ['region', 'eu-west-1'],
              ],
            },
            {
              title: 'a changed value, same position',
              op: () => target.userdata.set('key', 'changed'),
              want: [
                ['key', 'changed'],
                ['region', 'eu-west-1'],
              ],
            },
            {
              title: 'an entry set to an empty value is not sent',
              op: () => target.userdata.set('key', ''),
              want: [['region', 'eu-west-1']],
            },
            {
              title: 'a value with a trailing newline (echo) has it trimmed',
              op: () => target.userdata.set('key', 'echoed\n'),
              want: [
                ['key', 'echoed'],
                ['region', 'eu-west-1'],
              ],
            },
            {
              title: 'a deleted entry is no longer sent',
              op: () => target.userdata.delete('key'),
              want: [['region', 'eu-west-1']],
            },
            {
              title: 'an entry created again goes last',
              op: () => target.userdata.set('key', 'again'),
              want: [
                ['region', 'eu-west-1'],
                ['key', 'again'],
              ],
            },
            {
              title: 'all entries deleted: nothing after the text',
              op: async () => {
                await target.userdata.delete('region');
                await target.userdata.delete('key');
              },
              want: [],
            },
          ];
          for (const [i, step] of steps.entries()) {
            await t.test(step.title, async () => {
              await step.op();
              assert.equal(target.state, 'enabled', 'still enabled');
              const msg = `userdata step ${i}`;
              const got = await sendOne(nc, rx, msg);
              assert.equal(got.length, 1);
              const h = parseExtended(got[0].data, null);
              assert.equal(
                latin1(got[0].data),
                `${PRIO_INFO},${h.seq},${h.tsUsec},-;${msg}\n${userdataLines(step.want)}`,
              );
              assertEncoderAgrees(got, record(msg, h.seq, h.tsUsec), { extended: true, userdata: step.want });
            });
          }
        }),
      );
    });
  }

  // The kernel trims one newline and sends what is left raw: "two\n\n" goes out as ` key=two\n\n`,
  // an empty line after the entry (and `v\nFAKE=1` a forged entry). Here the stored value is the
  // kernel's, and its control bytes are sent as \xHH (docs/kernel-rules.md, "userdata value newline").
  for (const [given, stored, sent] of [
    ['value\n', 'value', 'value'],
    ['value', 'value', 'value'],
    ['two\n\n', 'two\n', 'two\\x0a'],
  ] as const) {
    test(`userdata value ${JSON.stringify(given)} is stored as ${JSON.stringify(stored)} and sent as ${JSON.stringify(sent)}`, async () => {
      await withReceiver('127.0.0.1', (rx) =>
        withTargets([targetFor(rx, 'trim', { extended: 1 })], async (nc) => {
          const target = nc.targets.get('trim')!;
          await target.userdata.set('key', given);
          assert.equal(target.userdata.get('key'), stored);
          const [d] = await sendOne(nc, rx, 'trim');
          const h = parseExtended(d.data, null);
          assert.equal(latin1(d.data), `${PRIO_INFO},${h.seq},${h.tsUsec},-;trim\n key=${sent}\n`);
        }),
      );
    });
  }

  test('an entry with an empty value set before enabling is not sent', async () => {
    await withReceiver('::1', (rx) =>
      withTargets(
        [targetFor(rx, 'empty', { extended: 1, userdata: { empty: '', key: 'value', nl: '\n' } })],
        async (nc) => {
          const [d] = await sendOne(nc, rx, 'empty');
          const h = parseExtended(d.data, null);
          assert.equal(latin1(d.data), `${PRIO_INFO},${h.seq},${h.tsUsec},-;empty\n key=value\n`);
          assert.ok(!latin1(d.data).includes('empty='));
          assert.ok(!latin1(d.data).includes('nl='));
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Two processes on one host, both on the default source port 6665 (the kernel has one netpoll per
// device; here each process binds its own socket, so they must share the port).

function spawnSender(port: number): JsonChild {
  return new JsonChild(
    'send-6665',
    spawn(process.execPath, [SEND_6665, String(port)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NETCONSOLE: '' },
    }),
  );
}

describe('default source port 6665 shared by two processes', () => {
  test('two child processes, both bound to 6665 at the same time, both deliver', async () => {
    await withReceiver('127.0.0.1', async (rx) => {
      const children = [spawnSender(rx.port), spawnSender(rx.port)];
      try {
        // Barrier 1: both targets enabled, i.e. both sockets bound to :6665 at once.
        const ready = await Promise.all(children.map((c) => c.ready()));
        for (const [i, r] of ready.entries()) {
          assert.equal(r.ready, true);
          assert.equal(r.pid, children[i].child.pid);
          assert.equal(r.local_port, '6665', 'local_port defaults to 6665');
        }
        // Barrier 2: both log while both are open; neither closes before both have logged.
        const logged = await Promise.all(children.map((c) => c.ok('log')));
        for (const l of logged) assert.equal(l.logged, true);
        const got = await rx.take(2);
        const byPid = new Map<number, Datagram>();
        for (const d of got) {
          const m = /^\[ *\d+\.\d{6}\] send-6665 pid=(\d+)\n$/.exec(latin1(d.data));
          assert.ok(m, `unexpected datagram ${JSON.stringify(latin1(d.data))}`);
          byPid.set(Number(m[1]), d);
        }
        for (const c of children) {
          const d = byPid.get(c.child.pid!);
          assert.ok(d, `the line of child ${c.child.pid} arrived`);
          assert.equal(d.port, 6665, 'from source port 6665');
          assert.equal(d.address, '127.0.0.1');
        }
        for (const r of await Promise.all(children.map((c) => c.ok('close'))))
          assert.deepEqual(r, { reply: 'close', closed: true });
        for (const c of children) {
          await c.stop();
          assert.deepEqual(c.exit, { code: 0, signal: null });
          assert.deepEqual(c.lines, [ready[children.indexOf(c)]], 'nothing but the replies after ready');
        }
        await rx.expectNothing();
      } finally {
        for (const c of children) await c.kill();
      }
    });
  });
});
