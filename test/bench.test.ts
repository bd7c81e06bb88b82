// The benchmark harness (bench/): the runner's --smoke set runs every scenario and subject once
// and writes latest.json in the documented shape (figures are not checked: this machine is shared),
// and the counting receiver counts what arrived whole, nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runOnce } from '../bench/e2e.js';
import { SUBJECTS as MEMORY_SUBJECTS } from '../bench/memory.js';
import { CountingReceiver, type CountMode } from '../bench/receiver.js';
import type { Results } from '../bench/results.js';
import { requireNative } from './helpers/requires.js';

const RUNNER = new URL('../bench/run.js', import.meta.url).pathname;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCENARIOS = ['boundary', 'write-path', 'checksum', 'threads', 'latency', 'e2e', 'memory', 'reliable', 'startup'];

test(
  'bench --smoke: every scenario runs, latest.json has the documented shape, the charts are SVG',
  { timeout: 180_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'ncbench-'));
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [RUNNER, '--smoke', '--out', out], {
        maxBuffer: 16 << 20,
      });
      assert.match(stdout, /## e2e: path loopback, shape burst/);
      const r = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
      assert.equal(typeof r.machine.cpus, 'number');
      assert.ok(!Number.isNaN(Date.parse(r.date)));
      assert.equal(r.node, process.version);
      assert.deepEqual([...new Set(r.scenarios.map((s) => s.name))].sort(), [...SCENARIOS].sort());
      for (const s of r.scenarios) {
        assert.equal(typeof s.params, 'object');
        assert.equal(typeof s.unit, 'string');
        assert.ok(Array.isArray(s.results) && Array.isArray(s.skipped));
        for (const x of s.results) {
          assert.equal(typeof x.subject, 'string');
          assert.ok(x.runs.length >= 1 && x.runs.every((v) => typeof v === 'number'), `${s.name} ${x.subject}: runs`);
          assert.ok(x.min <= x.median && x.median <= x.max, `${s.name} ${x.subject}: min <= median <= max`);
        }
      }
      const e2e = r.scenarios.find((s) => s.name === 'e2e' && s.params.path === 'loopback')!;
      const subjects = e2e.results.map((x) => x.subject).concat(e2e.skipped.map((x) => x.subject));
      for (const s of [
        'c-sendmmsg',
        'netconsole-udp',
        'netconsole-dgram',
        'netconsole-pino',
        'netconsole-pino-transport',
        'netconsole-winston',
        'pino-transport-dgram',
        'pino-transport-discard',
        'dgram',
        'pino-socket',
        'pino-socket-transport',
        'winston-udp',
      ]) {
        assert.ok(subjects.includes(s), `e2e subject ${s} measured or skipped with a reason`);
      }
      for (const x of e2e.results) {
        assert.equal(x.extra.sent, e2e.params.count);
        assert.equal(typeof x.extra.delivered, 'number');
        assert.ok(x.ratio !== null, `${x.subject}: a ratio to c-sendmmsg`);
      }
      // reliable: what arrived, counted at listen --ack through the 20% relay.
      const rel = r.scenarios.find((s) => s.name === 'reliable')!;
      const by = (subject: string): (typeof rel.results)[number] => rel.results.find((x) => x.subject === subject)!;
      for (const subject of ['plain', 'reliable', 'reliable-20%'])
        assert.equal(
          by(subject).extra.delivered,
          rel.params.count,
          `reliable scenario, ${subject}: every message delivered`,
        );
      assert.ok(
        Number(by('plain-20%').extra.delivered) < Number(rel.params.count),
        'reliable scenario, plain-20%: the loss shows',
      );
      assert.ok(Number(by('reliable-20%').extra.resends) > 0);
      const startup = r.scenarios.find((s) => s.name === 'startup')!;
      for (const x of startup.results) {
        // Each run's figure is its phases after Node's boot, and with the boot they add up to its
        // total (each rounded to 0.1 ms); the runner checked that netconsole's first line arrived.
        (x.samples as Array<Record<string, number>>).forEach((p, i) => {
          const after = p.import + p.create + p.first + p.close;
          const figure = (x.runs as number[])[i];
          assert.ok(
            Math.abs(after - figure) < 0.5,
            `startup ${x.subject} run ${i + 1}: phases ${JSON.stringify(p)} against ${figure} ms`,
          );
          assert.ok(
            Math.abs(p.boot + after - p.total) < 0.6,
            `startup ${x.subject} run ${i + 1}: boot + phases = total`,
          );
          assert.ok(p.import > 0 && p.boot > 0, `startup ${x.subject}: the import and Node's boot are timed`);
        });
      }
      // netconsole through its code cache, written before the runs; netconsole-first with the cache
      // off: the runner checked each run's status, a run that was not what it claims is an error.
      assert.deepEqual(startup.results.map((x) => x.subject).sort(), ['netconsole', 'netconsole-first', 'pino']);
      for (const x of startup.results)
        assert.equal(x.errors, undefined, `startup ${x.subject}: ${x.errors?.join('; ')}`);
      const memory = r.scenarios.filter((s) => s.name === 'memory');
      assert.deepEqual(
        memory.map((s) => s.params.targets),
        [1, 8],
      );
      for (const m of memory) {
        const measured = m.results.map((x) => x.subject).concat(m.skipped.map((x) => x.subject));
        assert.deepEqual(
          measured.sort(),
          [...MEMORY_SUBJECTS].sort(),
          `memory, ${m.params.targets} targets: every subject measured or skipped`,
        );
        for (const k of m.skipped)
          assert.match(
            k.reason,
            /native addon/,
            `memory, ${m.params.targets} targets: ${k.subject} skipped only for want of the addon`,
          );
        for (const x of m.results) {
          assert.equal(
            x.extra.sent,
            x.subject === 'node' ? 0 : Number(m.params.count) * Number(m.params.targets),
            `memory ${x.subject}: sent = records x targets`,
          );
          assert.equal(typeof x.extra.delivered, 'number');
          assert.ok(
            typeof x.extra.setupRssMiB === 'number' && x.extra.setupRssMiB <= x.median,
            `memory ${x.subject}: RSS after setup, at most the peak`,
          );
          assert.ok(x.ratio !== null, `memory ${x.subject}: a ratio to node`);
        }
      }
      const svgs = readdirSync(out).filter((f) => f.endsWith('.svg'));
      assert.ok(
        svgs.includes('e2e-size.svg') && svgs.includes('threads.svg') && svgs.includes('latency.svg'),
        svgs.join(', '),
      );
      for (const f of svgs) assert.match(readFileSync(join(out, f), 'utf8'), /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

// A bad command line is refused before anything runs: exit 2, one line naming the option, nothing
// measured, nothing written. --nc-options is checked as Netconsole.create checks its options (with
// its messages), not found out by every library subject failing in turn.
const refused: Array<[string[], RegExp]> = [
  [
    ['--nc-options', '{"ringSize":3}'],
    /^bench: --nc-options: ringSize: out of range: 3; accepted: an integer 65536\.\.268435456$/,
  ],
  [
    ['--nc-options', '{"ringSize":100000}'],
    /^bench: --nc-options: ringSize: invalid value 100000; accepted: a power of two, 65536\.\.268435456 bytes$/,
  ],
  [['--nc-options', '{"ringsize":1048576}'], /^bench: --nc-options: .*did you mean 'ringSize'/],
  [['--nc-options', '{"sender":"fast"}'], /^bench: --nc-options: sender: /],
  [['--nc-options', '5'], /^bench: --nc-options must be a JSON object of Netconsole\.create options, got 5$/],
  [['--nc-options', '[]'], /^bench: --nc-options must be a JSON object/],
  [['--nc-options', '{'], /^bench: --nc-options must be a JSON object: /],
  [['--runs', '-1'], /^bench: --runs must be an integer 1\.\.1000, got -1$/],
  [['--update-results'], /^bench: --update-results writes bench\/results: give it or --out, not both$/],
];
for (const [args, message] of refused) {
  test(
    `bench ${args.join(' ')}: refused before anything runs, exit 2, one line saying why`,
    { timeout: 120_000 },
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'ncbench-'));
      try {
        // --smoke boundary: where the check is missing, the run that follows is short.
        const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
          execFile(
            process.execPath,
            [RUNNER, '--smoke', 'boundary', '--out', join(out, 'results'), ...args],
            { timeout: 100_000 },
            (err, stdout, stderr) =>
              resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
          ),
        );
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr.trimEnd(), message);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
        assert.equal(r.stdout, '', 'nothing measured');
        assert.deepEqual(readdirSync(out), [], 'nothing written');
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    },
  );
}

const counted: Array<[string, number]> = [
  ['c-sendmmsg', 100],
  ['dgram', 100],
  ['c-sendmmsg', 2000],
  ['dgram', 2000],
  ['netconsole-udp', 2000],
];
for (const [subject, size] of counted) {
  test(
    `e2e at a low rate (2,000/s): the receiver counts every message of ${subject} at ${size} B, once`,
    { timeout: 60_000 },
    async (t) => {
      if (subject.startsWith('netconsole') && !requireNative(t)) return;
      const r = await runOnce({ subject, size, count: 600, rate: 2000, quietMs: 200 });
      assert.equal(r.delivered, 600);
      assert.equal(r.rx.datagrams, subject.startsWith('netconsole') && size > 1000 ? 1800 : 600);
      assert.equal(r.rx.pending + r.rx.evicted + r.rx.malformed, 0);
      // The CPU split: the main thread for every Node subject, the sender thread (found by its
      // name) for the library's native sender; the pacing floor for every paced Node subject.
      const node = subject !== 'c-sendmmsg';
      assert.equal(r.mainCpuUs !== null && r.mainCpuUs > 0, node, `main thread ${r.mainCpuUs}`);
      assert.equal(
        r.senderCpuUs !== null && r.senderCpuUs > 0,
        subject === 'netconsole-udp',
        `sender ${r.senderCpuUs}`,
      );
      assert.equal(r.pacingCpuUs !== null && r.pacingCpuUs > 0, node, `pacing ${r.pacingCpuUs}`);
      if (node) assert.ok(r.mainCpuUs! + (r.senderCpuUs ?? 0) <= r.cpuUs * 1.05 + 1000, 'parts within the whole');
    },
  );
}

async function receive(mode: CountMode, datagrams: string[]) {
  const rx = await CountingReceiver.start(mode);
  const s = createSocket('udp4');
  try {
    for (const d of datagrams)
      await new Promise<void>((r, j) => s.send(d, rx.port, '127.0.0.1', (err) => (err ? j(err) : r())));
    return await rx.settle(Number.MAX_SAFE_INTEGER, Promise.resolve(), 200);
  } finally {
    s.close();
    await rx.stop();
  }
}

test('receiver, netconsole mode: a fragmented message counts once all its bytes arrived; one missing a fragment does not', async () => {
  const c = await receive('netconsole', [
    '14,1,5,-;whole\n',
    '14,2,5,-,ncfrag=0/10;abcde',
    '14,3,5,-,ncfrag=0/10;abcde',
    '14,2,5,-,ncfrag=5/10;fghi\n',
    'no header',
  ]);
  assert.deepEqual(
    { messages: c.messages, datagrams: c.datagrams, pending: c.pending, malformed: c.malformed },
    { messages: 2, datagrams: 5, pending: 1, malformed: 1 },
  );
});

test('receiver, lines mode: only whole JSON lines count (pino-socket packs several into one datagram)', async () => {
  const c = await receive('lines', ['{"a":1}\n{"b":2}\n{"c":', '3}\n', '{"d":4}\n']);
  assert.deepEqual(
    { messages: c.messages, datagrams: c.datagrams, malformed: c.malformed },
    { messages: 3, datagrams: 3, malformed: 1 },
  );
});

/** Every file of bench/results (the committed figures) and its bytes. */
function committedResults(): Map<string, string> {
  const dir = join(ROOT, 'bench', 'results');
  return new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'latin1')]));
}

// Issue 16: a bench run left `git status` dirty (it overwrote the committed bench/results).
test(
  'bench without --out writes into bench/out/results (ignored), not the committed bench/results',
  { timeout: 120_000 },
  async () => {
    const before = committedResults();
    const r = await promisify(execFile)(process.execPath, [RUNNER, '--smoke', 'boundary'], { maxBuffer: 16 << 20 });
    assert.ok(r.stdout.includes(`wrote ${join(ROOT, 'bench', 'out', 'results', 'latest.json')}`), r.stdout);
    assert.deepEqual(committedResults(), before, 'bench/results untouched');
  },
);

test(
  'bench --update-results takes a full run: with --smoke (or --quick) it is refused before anything runs, exit 2',
  { timeout: 60_000 },
  async () => {
    const before = committedResults();
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [RUNNER, '--smoke', 'boundary', '--update-results'],
        { timeout: 50_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, 'bench: --update-results takes a full run (the committed figures are one), not --smoke\n');
    assert.equal(r.stdout, '');
    assert.deepEqual(committedResults(), before, 'bench/results untouched');
  },
);
