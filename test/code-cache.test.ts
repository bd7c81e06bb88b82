// The package's loader runs the bundled library through a V8 code cache (src/faces/load.ts): a
// fresh process as an app starts (test/workers/code-cache-child.ts, through the package's own
// name), its cache directory and environment given, and what became of the cache and of the line
// it logged. The cache is written once the first Netconsole is set up, used by the next process,
// kept per build of the bundle, and never read when another user could have written it; nothing
// about it can fail a start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sink } from './helpers/udp.js';

const CHILD = fileURLToPath(new URL('./workers/code-cache-child.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../lib/es/library.js', import.meta.url));

interface Outcome {
  file: string | null;
  status: string;
  worker: string | null;
  stderr: string;
}

/** One start of an app: `env` over a clean one (no NETCONSOLE_CODE_CACHE, XDG_CACHE_HOME, HOME unless given). */
async function start(env: Record<string, string>, worker = false): Promise<Outcome> {
  const sink = await Sink.open();
  const text = `code-cache ${Math.random().toString(36).slice(2)}`;
  try {
    const base = { ...process.env };
    for (const k of ['NETCONSOLE_CODE_CACHE', 'XDG_CACHE_HOME', 'HOME']) delete base[k];
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        process.execPath,
        [CHILD, String(sink.port), text, ...(worker ? ['worker'] : [])],
        { env: { ...base, ...env }, timeout: 20_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve({ stdout, stderr })),
      ),
    );
    await sink.waitFor((r) => r.data.toString().includes(text));
    return { ...(JSON.parse(stdout) as Omit<Outcome, 'stderr'>), stderr };
  } finally {
    await sink.close();
  }
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netconsole-code-cache-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const mode = (path: string): number => statSync(path).mode & 0o777;

test(
  'the first start writes the cache (this user only), the next uses it, a worker thread too; the file is named by the build',
  withDir(async (dir) => {
    const first = await start({ NETCONSOLE_CODE_CACHE: dir });
    assert.equal(first.status, 'written', first.stderr);
    const key = createHash('sha256').update(readFileSync(BUNDLE)).digest('hex').slice(0, 16);
    assert.match(first.file!, new RegExp(`^${dir}/${key}-${process.version}-${process.arch}-[0-9a-f]{8}\\.v8$`));
    assert.deepEqual(readdirSync(dir), [first.file!.slice(dir.length + 1)], 'one file, no temporary one left');
    assert.equal(mode(first.file!), 0o600);
    assert.equal(mode(dir), 0o700);
    const next = await start({ NETCONSOLE_CODE_CACHE: dir }, true);
    assert.equal(next.status, 'used', next.stderr);
    assert.equal(next.worker, 'used');
    assert.equal(next.file, first.file);
    assert.equal(next.stderr, '');
  }),
);

test(
  'a cache file others may write, or a link, is not read: written again, as this user, 0600',
  withDir(async (dir) => {
    const { file } = await start({ NETCONSOLE_CODE_CACHE: dir });
    chmodSync(file!, 0o666);
    const shared = await start({ NETCONSOLE_CODE_CACHE: dir });
    assert.equal(shared.status, 'written', `${shared.stderr} (a group- and world-writable file was read)`);
    assert.equal(mode(file!), 0o600);
    assert.equal((await start({ NETCONSOLE_CODE_CACHE: dir })).status, 'used');
    // A symbolic link where the file should be (to a good cache of this user's): not followed.
    const elsewhere = join(dir, 'elsewhere.bin');
    const good = readFileSync(file!);
    writeFileSync(elsewhere, good, { mode: 0o600 });
    rmSync(file!);
    symlinkSync(elsewhere, file!);
    const linked = await start({ NETCONSOLE_CODE_CACHE: dir });
    assert.equal(linked.status, 'written', linked.stderr);
    assert.ok(lstatSync(file!).isFile(), 'the link was replaced by a file, not written through');
    assert.deepEqual(readFileSync(elsewhere), good, "the link's target is as it was");
    assert.equal((await start({ NETCONSOLE_CODE_CACHE: dir })).status, 'used');
  }),
);

test(
  'a damaged cache is not given to V8 (it would crash the process: tried): written again; the start works all the same',
  withDir(async (dir) => {
    const { file } = await start({ NETCONSOLE_CODE_CACHE: dir });
    const bytes = readFileSync(file!);
    for (let i = 64; i < bytes.length; i += 97) bytes[i] ^= 0x5a;
    writeFileSync(file!, bytes);
    const damaged = await start({ NETCONSOLE_CODE_CACHE: dir });
    assert.equal(damaged.status, 'written', damaged.stderr);
    assert.equal((await start({ NETCONSOLE_CODE_CACHE: dir })).status, 'used');
    writeFileSync(file!, 'not a cache');
    assert.equal((await start({ NETCONSOLE_CODE_CACHE: dir })).status, 'written');
  }),
);

test(
  'one bit changed anywhere, or one byte cut off or added, and the file is damaged: written again',
  withDir(async (dir) => {
    const { file } = await start({ NETCONSOLE_CODE_CACHE: dir });
    const good = readFileSync(file!);
    const seed = Date.now() % 100_000;
    let x = seed;
    const bit = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31) % (good.length * 8);
    const flip = (at: number): Buffer => {
      const b = Buffer.from(good);
      b[at >> 3] ^= 1 << (at & 7);
      return b;
    };
    // The sum's first byte, a bit of the cache, the cache's last byte; a byte less, a byte more.
    const cases = [
      flip(0),
      flip(bit()),
      flip(good.length * 8 - 1),
      good.subarray(0, -1),
      Buffer.concat([good, Buffer.of(0)]),
    ];
    for (const [i, bytes] of cases.entries()) {
      writeFileSync(file!, bytes);
      const o = await start({ NETCONSOLE_CODE_CACHE: dir });
      assert.equal(o.status, 'written', `case ${i} (seed ${seed}): ${o.stderr}`);
      assert.equal((await start({ NETCONSOLE_CODE_CACHE: dir })).status, 'used');
    }
  }),
);

test('the sum (assembly/cache-sum.ts) tells apart every one-bit change of 4 KiB, and every length', async () => {
  const bytes = readFileSync(new URL('../wasm/cache-sum.wasm', import.meta.url));
  const { memory, sum } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as {
    memory: WebAssembly.Memory;
    sum: (len: number) => bigint;
  };
  memory.grow(1);
  const u8 = new Uint8Array(memory.buffer);
  for (let i = 0; i < 4096; i++) u8[i] = (i * 131) & 0xff;
  const seen = new Set<bigint>();
  for (let len = 0; len <= 4096; len++) seen.add(sum(len));
  assert.equal(seen.size, 4097, 'every length of the same bytes sums differently');
  const whole = sum(4096);
  seen.clear();
  seen.add(whole);
  for (let at = 0; at < 4096 * 8; at++) {
    u8[at >> 3]! ^= 1 << (at & 7);
    seen.add(sum(4096));
    u8[at >> 3]! ^= 1 << (at & 7);
  }
  assert.equal(seen.size, 4096 * 8 + 1, 'every one-bit change sums differently (from the whole and from each other)');
});

test(
  'where it goes: $XDG_CACHE_HOME/netconsole, else ~/.cache/netconsole, else nowhere; off turns it off; a bad value says so',
  withDir(async (dir) => {
    const home = join(dir, 'home');
    const xdg = join(dir, 'xdg');
    mkdirSync(home);
    const byHome = await start({ HOME: home });
    assert.equal(byHome.status, 'written');
    assert.ok(byHome.file!.startsWith(join(home, '.cache', 'netconsole') + '/'), byHome.file!);
    const byXdg = await start({ HOME: home, XDG_CACHE_HOME: xdg });
    assert.ok(byXdg.file!.startsWith(join(xdg, 'netconsole') + '/'), byXdg.file!);
    assert.equal((await start({})).status, 'off', 'no HOME: no cache');
    for (const off of ['off', '0', 'false', 'NO']) {
      const o = await start({ HOME: join(dir, 'other'), NETCONSOLE_CODE_CACHE: off });
      assert.deepEqual([o.status, o.file, o.stderr], ['off', null, '']);
    }
    const bad = await start({ HOME: join(dir, 'other'), NETCONSOLE_CODE_CACHE: 'relative/dir' });
    assert.equal(bad.status, 'off');
    assert.match(bad.stderr, /NETCONSOLE_CODE_CACHE="relative\/dir" is neither an absolute directory nor off/);
    assert.deepEqual(readdirSync(dir).sort(), ['home', 'xdg'], 'nothing written for off or a bad value');
  }),
);

test(
  'a directory that cannot be made leaves the start without a cache, silently; old files are pruned to the 8 newest',
  withDir(async (dir) => {
    const notADir = join(dir, 'file');
    writeFileSync(notADir, '');
    const failed = await start({ NETCONSOLE_CODE_CACHE: join(notADir, 'cache') });
    assert.deepEqual([failed.status, failed.stderr], ['failed', '']);
    const cache = join(dir, 'cache');
    mkdirSync(cache);
    const old = Date.now() / 1000 - 3600;
    for (let i = 0; i < 10; i++) {
      writeFileSync(join(cache, `old${i}.v8`), 'x');
      utimesSync(join(cache, `old${i}.v8`), old + i, old + i);
    }
    writeFileSync(join(cache, 'left.v8.1.abc.tmp'), 'x'); // a temporary file a killed process left
    utimesSync(join(cache, 'left.v8.1.abc.tmp'), old, old);
    const { file } = await start({ NETCONSOLE_CODE_CACHE: cache });
    const left = readdirSync(cache).sort();
    assert.deepEqual(
      left,
      [
        ...['old3', 'old4', 'old5', 'old6', 'old7', 'old8', 'old9'].map((n) => `${n}.v8`),
        file!.slice(cache.length + 1),
      ].sort(),
    );
  }),
);
