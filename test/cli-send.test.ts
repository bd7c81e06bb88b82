// `netconsole send` with a million lines on stdin: every line arrives (it reads stdin with
// back-pressure and its log calls wait for room), with either sender; and when lines are lost, or
// cut (to the 64 KiB a record carries, to an extended target's maxTotal), it says how many and to
// what, and exits 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSink } from './helpers/csink.js';
import { requireSender, SENDERS } from './helpers/requires.js';

const CLI = new URL('../src/faces/cli.js', import.meta.url).pathname;
const LINES = 1_000_000;
const LINE = 100; // bytes with its newline

/** Line i: its number, padded to LINE - 1 bytes. */
function line(i: number): string {
  const head = `${i} `;
  return head + 'x'.repeat(LINE - 1 - head.length);
}

async function feed(stdin: NodeJS.WritableStream, n: number): Promise<void> {
  const chunk = 1000;
  for (let i = 0; i < n; i += chunk) {
    let block = '';
    for (let k = i; k < Math.min(n, i + chunk); k++) block += `${line(k)}\n`;
    if (!stdin.write(block)) await once(stdin, 'drain');
  }
  stdin.end();
}

for (const sender of SENDERS) {
  test(`${sender} sender: 1,000,000 lines on stdin, every one delivered once; exit 0, nothing on stderr`, async (t) => {
    if (!requireSender(t, sender)) return;
    const sink = await CSink.open({ idleMs: 1000 });
    const child = spawn(process.execPath, [CLI, 'send', '--sender', sender, '-t', `@/,${sink.port}@127.0.0.1/`], {
      stdio: ['pipe', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'close');
    await feed(child.stdin!, LINES);
    const [code] = await exited;
    const { datagrams, drops } = await sink.done();
    assert.equal(drops, 0, 'the receiver lost nothing');
    const seen = new Uint8Array(LINES);
    let bad = 0;
    for (const d of datagrams) {
      // A basic target's datagram: "[sssss.uuuuuu] " + the line + "\n".
      const m = /^(\[ *\d+\.\d{6}\] )(\d+) x+\n$/.exec(d.toString('latin1'));
      const i = m ? Number(m[2]) : -1;
      if (!m || d.length - m[1].length !== LINE || !(i < LINES) || seen[i]) bad++;
      else seen[i] = 1;
    }
    assert.equal(bad, 0, 'no duplicates, no malformed lines');
    assert.equal(
      seen.reduce((a, b) => a + b, 0),
      LINES,
      `${datagrams.length} datagrams`,
    );
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
}

test('lines that cannot be sent are counted on stderr and the exit code is 1', async () => {
  // A target whose device is "down" cannot be made here without a namespace; a ring too small for
  // the record can: 64 KiB of text to a basic target needs more than a 64 KiB ring holds.
  const sink = await CSink.open({ idleMs: 300 });
  const child = spawn(
    process.execPath,
    [CLI, 'send', '--sender', 'dgram', '--ring-size', String(64 << 10), '-t', `@/,${sink.port}@127.0.0.1/`],
    {
      stdio: ['pipe', 'inherit', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'close');
  child.stdin!.end(`short\n${'y'.repeat(65_000)}\nshort again\n`);
  const [code] = await exited;
  sink.stop();
  await sink.done();
  assert.match(stderr, /target cmdline0: 1 of 3 records lost \(ring full 1,/);
  assert.equal(code, 1);
});

/** `netconsole send ...args` with `stdin`, to a C sink: its exit code, its stderr, what arrived. */
async function sendTo(
  args: string[],
  stdin: string,
  before?: (port: number) => void,
): Promise<{ code: number; stderr: string; datagrams: Buffer[] }> {
  const sink = await CSink.open({ idleMs: 500 });
  before?.(sink.port);
  const child = spawn(
    process.execPath,
    [CLI, 'send', '--sender', 'dgram', ...args.map((a) => a.replace('PORT', String(sink.port)))],
    { stdio: ['pipe', 'inherit', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'close');
  child.stdin!.end(stdin);
  const [code] = (await exited) as [number];
  sink.stop();
  const { datagrams } = await sink.done();
  return { code, stderr, datagrams };
}

test('a line longer than an extended message may be (maxTotal 8,191 bytes) goes out cut: said on stderr, how many and to what; exit 1', async () => {
  const r = await sendTo(['-e', '-t', '@/,PORT@127.0.0.1/'], `short\n${'z'.repeat(200_000)}\nshort again\n`);
  // The text is cut twice: to the 64 KiB a record carries, then to the extended target's cap.
  assert.match(r.stderr, /^netconsole send: 1 of 3 records cut to 65,536 bytes \(the most a record carries\)$/m);
  assert.match(r.stderr, /^netconsole send: target cmdline0: 1 of 3 records cut to fit 8,191 bytes \(maxTotal\)$/m);
  assert.doesNotMatch(r.stderr, /lost/);
  assert.equal(r.stderr.trimEnd().split('\n').length, 2, r.stderr);
  assert.equal(r.code, 1);
  const totals = r.datagrams
    .map((d) => /ncfrag=\d+\/(\d+);/.exec(d.toString('latin1'))?.[1])
    .filter((t) => t !== undefined)
    .map(Number);
  assert.ok(
    totals.length > 0 && totals.every((t) => t <= 8191),
    `the long record went out in fragments of a message of at most 8,191 bytes: ${totals.join(', ')}`,
  );
});

test("the cap is the --config file's maxTotal where it sets one", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nc-send-'));
  try {
    const config = join(dir, 'nc.json');
    writeFileSync(config, JSON.stringify({ targets: '+@/,PORT@127.0.0.1/', maxTotal: 1000 }));
    const r = await sendTo(['-c', config], `${'z'.repeat(5000)}\n`, (port) =>
      writeFileSync(config, readFileSync(config, 'utf8').replace('PORT', String(port))),
    );
    assert.equal(r.stderr, 'netconsole send: target cmdline0: 1 of 1 records cut to fit 1,000 bytes (maxTotal)\n');
    assert.equal(r.code, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a line longer than a record carries (64 KiB) to a basic target goes out cut: said on stderr; exit 1', async () => {
  const r = await sendTo(['-t', '@/,PORT@127.0.0.1/'], `${'z'.repeat(70_000)}\n`);
  assert.match(r.stderr, /^netconsole send: 1 of 1 records cut to 65,536 bytes \(the most a record carries\)$/m);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.equal(r.code, 1);
  const bytes = r.datagrams.reduce((n, d) => n + (d.toString('latin1').match(/z/g)?.length ?? 0), 0);
  assert.equal(bytes, 65_536, 'what arrived is the line cut to 65,536 bytes');
});
