// `netconsole listen` when things go wrong: an address it cannot use (a one-line errno-coded
// error, no stack trace, a non-zero exit), and a stdout slower than the datagrams (bounded
// output buffer, what was not printed counted and reported). Also BoundedLines on its own.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { NetconsoleError } from '../src/base/errors.js';
import { BoundedLines } from '../src/receiver/line-output.js';
import { Receiver } from '../src/receiver/receiver.js';

const CLI = fileURLToPath(new URL('../src/faces/cli.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

async function boundSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

describe('listen on an address it cannot use: one errno-coded line saying what to do, exit 2', () => {
  const cases = [
    {
      name: 'not an IP address (999.1.1.1)',
      args: ['--address', '999.1.1.1'],
      code: 'EINVAL',
      says: /not an IP address: "999\.1\.1\.1"; accepted: an IPv4 or IPv6 address/,
    },
    {
      name: 'a host name (localhost)',
      args: ['--address', 'localhost'],
      code: 'EINVAL',
      says: /not an IP address: "localhost"/,
    },
    {
      name: 'not an address of this host (192.0.2.1, TEST-NET-1)',
      args: ['--address', '192.0.2.1', '--port', '0'],
      code: 'EADDRNOTAVAIL',
      says: /192\.0\.2\.1:0: it is not an address of this host: give one of its addresses, or 0\.0\.0\.0/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = spawnSync(process.execPath, [CLI, 'listen', ...c.args], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line, no stack trace: ${r.stderr}`);
      assert.ok(lines[0].startsWith(`netconsole: ${c.code}: `), lines[0]);
      assert.match(lines[0], c.says);
    });
  }

  test('a port in use (a UDP socket bound to it): EADDRINUSE, stop the other or choose another port', async () => {
    const holder = await boundSocket();
    try {
      const { port } = holder.address();
      const child = spawn(process.execPath, [CLI, 'listen', '--port', String(port)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 2, stderr);
      assert.equal(
        stderr,
        `netconsole: EADDRINUSE: cannot listen on UDP 127.0.0.1:${port}: another socket has it (a netconsole listen, netconsd or syslog daemon?): stop it or choose another port\n`,
      );
    } finally {
      holder.close();
    }
  });

  test('Receiver.listen rejects with a NetconsoleError (the API, not only the CLI): EINVAL, ERANGE, EADDRINUSE', async () => {
    const holder = await boundSocket();
    try {
      const r = new Receiver();
      await assert.rejects(r.listen('::g', 0), (e: unknown) => e instanceof NetconsoleError && e.code === 'EINVAL');
      await assert.rejects(
        r.listen('127.0.0.1', 70000),
        (e: unknown) => e instanceof NetconsoleError && e.code === 'ERANGE',
      );
      await assert.rejects(
        r.listen('127.0.0.1', holder.address().port),
        (e: unknown) => e instanceof NetconsoleError && e.code === 'EADDRINUSE' && e.cause !== undefined,
      );
      await r.close();
    } finally {
      holder.close();
    }
  });
});

/** A Writable whose reader is paused until `resume()`: it takes one chunk and holds it. */
class StalledReader extends Writable {
  private held: (() => void) | null = null;
  readonly chunks: string[] = [];
  constructor() {
    super({ highWaterMark: 1024, decodeStrings: false });
  }
  override _write(chunk: string, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    this.held = done;
  }
  resume(): void {
    // Everything buffered behind the held chunk goes through at once, from now on.
    this._write = (chunk: string, _e, done: () => void): void => {
      this.chunks.push(chunk);
      done();
    };
    const d = this.held;
    this.held = null;
    d?.();
  }
}

describe('BoundedLines: lines to a stream whose reader stalls', () => {
  for (const maxBuffered of [4096, 65536]) {
    test(`maxBuffered ${maxBuffered}: 100,000 lines of 100 bytes buffer at most ${maxBuffered} + one line; the rest is counted as dropped and reported once the reader catches up`, async () => {
      const stream = new StalledReader();
      const reports: number[] = [];
      const out = new BoundedLines(stream, (n) => reports.push(n), maxBuffered);
      const line = `${'x'.repeat(99)}\n`;
      let peak = 0;
      for (let i = 0; i < 100_000; i++) {
        out.write(line);
        peak = Math.max(peak, stream.writableLength);
      }
      assert.ok(peak <= maxBuffered + line.length, `buffered ${peak}`);
      const written = 100_000 - out.dropped;
      assert.ok(out.dropped > 90_000, `dropped ${out.dropped}`);
      assert.deepEqual(reports, [], 'reported when the reader catches up, not before');
      stream.resume();
      await out.flush(5000);
      assert.deepEqual(reports, [out.dropped]);
      assert.equal(stream.chunks.length, written, 'every line not dropped reached the reader');
    });
  }
});

describe('listen with a stdout nobody reads for a while', () => {
  test('3,000 messages of 900 bytes (2.7 MB) while stdout is not read: the listener buffers at most 1 MiB; printed + "not printed" (stderr) = messages; the summary at exit counts them', async () => {
    const holder = await boundSocket();
    const { port } = holder.address();
    holder.close();
    const child = spawn(process.execPath, [CLI, 'listen', '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.pause();
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    const client = await boundSocket();
    try {
      await until(() => stderr.includes('listening on'), 'listening on');
      const N = 3000;
      for (let i = 0; i < N; i++) {
        await new Promise<void>((r) =>
          client.send(Buffer.from(`6,${i + 1},0,-;${'m'.repeat(900)}`), port, '127.0.0.1', () => r()),
        );
        if (i % 50 === 49) await sleep(2); // paced, so that the kernel does not drop datagrams
      }
      await sleep(300);
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stdout.resume();
      await until(
        () => /not printed: stdout did not keep up/.test(stderr),
        'the stderr report of what was not printed',
      );
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0);
      const printed = stdout.split('\n').filter((l) => l.length > 0).length;
      const notPrinted = Number(/(\d+) messages not printed: stdout did not keep up/.exec(stderr)![1]);
      const summary =
        /netconsole: (\d+) datagrams, (\d+) messages .* (\d+) messages not printed \(stdout too slow\)/.exec(stderr);
      assert.ok(summary, stderr);
      const [received, messages, dropped] = summary.slice(1).map(Number);
      assert.equal(messages, received, 'one message per datagram');
      assert.ok(received > N * 0.9, `received ${received} of ${N}`);
      assert.equal(dropped, notPrinted);
      assert.ok(dropped > 0, 'stdout did not keep up: something was dropped');
      assert.ok(
        printed * 950 <= (1 << 20) + 65536 * 4 + 950,
        `printed ${printed} lines: at most 1 MiB buffered plus what the pipe holds`,
      );
      assert.equal(printed + dropped, messages, 'every message is printed or counted');
    } finally {
      client.close();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('listen across an application restart (issue 16, finding 7)', () => {
  test("two `netconsole send` processes in turn from one source port (seqStart 'time', the default): the second's lines are not [oos]; stderr says a new stream began; the summary counts 0 out of sequence, 1 restart", async () => {
    const listener = spawn(process.execPath, [CLI, 'listen', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    listener.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    listener.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await until(() => /listening on 127\.0\.0\.1:\d+/.test(stderr), 'listen to start');
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
      const src = await boundSocket(); // a free source port, released for the senders
      const localPort = src.address().port;
      src.close();
      for (const run of [1, 2]) {
        const r = spawnSync(process.execPath, [CLI, 'send', '-t', `+${localPort}@127.0.0.1/,${port}@127.0.0.1/`], {
          input: `run ${run} a\nrun ${run} b\nrun ${run} c\n`,
          encoding: 'utf8',
          timeout: 20_000,
        });
        assert.equal(r.status, 0, r.stderr);
        await until(
          () => stdout.split('\n').filter((l) => l.includes(`run ${run} c`)).length === 1,
          `run ${run}'s last line`,
        );
      }
      listener.kill('SIGTERM');
      await once(listener, 'exit');
    } finally {
      listener.kill('SIGKILL');
    }
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines.length, 6, stdout);
    for (const [i, line] of lines.entries()) {
      assert.match(line, new RegExp(`^127\\.0\\.0\\.1:\\d+ <6>\\d+ run ${i < 3 ? 1 : 2} [abc]$`), 'no [oos]');
    }
    const notes = stderr.split('\n').filter((l) => l.startsWith('new stream from'));
    assert.equal(notes.length, 1, stderr);
    assert.match(notes[0], /^new stream from 127\.0\.0\.1:\d+: seq \d+ after \d+ \(the sender restarted\)$/);
    assert.match(stderr, /0 out of sequence, 1 restarts\)/);
    assert.doesNotMatch(stderr, /^gap from/m);
  });
});

describe('listen shows what an extended message carries beside its text (issue 16, finding 14)', () => {
  test('userdata and sysdata lines print under the message as ` KEY=value`, escaped (a value cannot forge a line)', async () => {
    const listener = spawn(process.execPath, [CLI, 'listen', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    listener.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    listener.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await until(() => /listening on 127\.0\.0\.1:\d+/.test(stderr), 'listen to start');
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
      const r = spawnSync(
        process.execPath,
        [
          CLI,
          'send',
          '-t',
          `+0@127.0.0.1/,${port}@127.0.0.1/`,
          '-u',
          'region=eu-west-1',
          '-u',
          'evil=a\nb',
          '--sysdata',
          'msgid',
          'hello',
        ],
        {
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
      assert.equal(r.status, 0, r.stderr);
      await until(() => stdout.includes('msgid='), 'the message and its dictionary');
      listener.kill('SIGTERM');
      await once(listener, 'exit');
    } finally {
      listener.kill('SIGKILL');
    }
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0], /^127\.0\.0\.1:\d+ <6>\d+ hello$/);
    assert.deepEqual(lines.slice(1).sort(), [' evil=a\\nb', ' msgid=1', ' region=eu-west-1'].sort(), stdout);
  });
});
