// The package's loader: what the entry points an app imports (dist/lib/es/index.js, pino.js ...)
// stand on. scripts/bundle.mjs puts the whole library into one CommonJS module, written wrapped in
// the function this calls (dist/lib/es/library.js); this runs it once per thread through a V8 code
// cache, and every entry point takes its names from the one copy (one NetconsoleError class).
//
// Why: a fresh process spent more of its start compiling the library's code than running it. The
// code cache holds that code compiled, the top level and, written once the first Netconsole is set
// up (base/code-cache.ts), the set-up's functions too: import + create + first line + close went
// from about 30 to about 17 ms after Node's boot (docs/benchmarks.md, `startup`). Node 20 has no
// such cache for ES modules, and Node 22's module.enableCompileCache() is the application's call.
//
// The cache is a file per build of the bundle (its hash, given by the bundler), Node version,
// architecture and V8 flags, in $NETCONSOLE_CODE_CACHE, else $XDG_CACHE_HOME/netconsole, else
// ~/.cache/netconsole: a directory of this user's, never a shared one such as /tmp, since the
// file holds code this process runs. A file this user does not own, or one others may write, is
// not read. V8 checks a cache's version and flags but, in Node's builds, not its bytes: a damaged
// one crashes the process as it loads (tried: "Fatal error ... unreachable code"). So the file
// starts with a sum of what follows (assembly/cache-sum.ts, a WebAssembly module of 189 bytes),
// checked before V8 sees it; a file that fails it, or one V8 refuses, is written again. The sum
// was node:crypto's SHA-1 until loading node:crypto was found to take 2.2 - 3.7 ms of a start
// (the module and its sum of a 290 KB cache: 0.5 - 0.7 ms).
// NETCONSOLE_CODE_CACHE=off (or 0, false, no) turns it off. Nothing about the cache can fail a
// load: a directory that cannot be made or written means no cache, silently.
import type { Script as VmScript } from 'node:vm';
import { CODE_CACHE_KEY } from '../base/code-cache.js';

// Node's built-ins taken as CommonJS does: an ES import of one builds its ES facade first (node:fs'
// took 3 - 5 ms of a start that is 15 with everything else).
const {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} = process.getBuiltinModule('node:fs');
const { createRequire } = process.getBuiltinModule('node:module');
const { dirname, isAbsolute, join } = process.getBuiltinModule('node:path');
const { fileURLToPath } = process.getBuiltinModule('node:url');
const { Script } = process.getBuiltinModule('node:vm');

/** The file: the sum of the cache (8 bytes, little-endian), then the cache. */
const SUM = 8;

/** assembly/cache-sum.ts's build: dist/wasm/, two levels above this file as bundled
 *  (dist/lib/es/load.js) and as compiled (dist/src/faces/load.js) alike. */
const SUM_MODULE = new URL('../../wasm/cache-sum.wasm', import.meta.url);

/**
 * The sum of `data` (assembly/cache-sum.ts). Its module is made for each sum, at most two a
 * thread (read, write), so that its memory, a copy of the cache, is not kept. Throws when the
 * module cannot be read (a build without it): the cache is then neither read nor written.
 */
function sum(data: Uint8Array): Buffer {
  const bytes = readFileSync(SUM_MODULE);
  const summer = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as {
    memory: WebAssembly.Memory;
    sum: (len: number) => bigint;
  };
  const pages = Math.ceil(data.length / 65536) - summer.memory.buffer.byteLength / 65536;
  if (pages > 0) summer.memory.grow(pages);
  new Uint8Array(summer.memory.buffer).set(data);
  const out = Buffer.allocUnsafe(SUM);
  out.writeBigUInt64LE(BigInt.asUintN(64, summer.sum(data.length)));
  return out;
}

/**
 * What became of the code cache on this thread:
 * - `off`: turned off, or no directory for it (no HOME);
 * - `used`: read and taken by V8;
 * - `none` / `refused` / `damaged` / `rejected`: no file yet / not this user's, or writable by
 *   others / its bytes not the ones written / V8 refused it: to be written once the first
 *   Netconsole is set up;
 * - `written` / `failed`: written then / could not be.
 */
export type CodeCacheStatus = 'off' | 'used' | 'none' | 'refused' | 'damaged' | 'rejected' | 'written' | 'failed';

/** The code cache's file and status on this thread (read by the tests and the startup bench). */
export const codeCache: { file: string | null; status: CodeCacheStatus } = { file: null, status: 'off' };

/** Cache files kept in the directory (builds and Node versions side by side); the oldest go first. */
const KEEP = 8;

/**
 * Runs the bundle at `url` (a CommonJS module wrapped in its function) through the code cache for
 * build `key`, and returns its exports.
 */
export function loadBundle(url: URL, key: string): Record<string, unknown> {
  const file = fileURLToPath(url);
  const source = readFileSync(file, 'utf8');
  const dir = cacheDir();
  const cacheFile = dir === null ? null : join(dir, `${key}-${process.version}-${process.arch}-${flagsHash()}.v8`);
  codeCache.file = cacheFile;
  const cachedData = cacheFile === null ? undefined : readOwn(cacheFile);
  // The file is the function, as written by the bundler: compiled as it is, no second copy of a
  // 400 KB text (a wrapper made here showed in the peak RSS: 0.2 - 0.5 MB).
  const script = new Script(source, { filename: file, cachedData });
  if (cachedData !== undefined) codeCache.status = script.cachedDataRejected === true ? 'rejected' : 'used';
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} as Record<string, unknown> };
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file), url.href);
  if (cacheFile !== null && codeCache.status !== 'used')
    (globalThis as Record<symbol, unknown>)[CODE_CACHE_KEY] = () => write(script, dir!, cacheFile);
  return module.exports;
}

/** The cache's directory, or null (off, or no home); a value that is neither says so (once a thread). */
function cacheDir(): string | null {
  const v = process.env.NETCONSOLE_CODE_CACHE;
  if (v !== undefined && v !== '') {
    if (/^(0|off|false|no)$/i.test(v)) return null;
    if (isAbsolute(v)) return v;
    process.emitWarning(
      `netconsole: NETCONSOLE_CODE_CACHE=${JSON.stringify(v)} is neither an absolute directory nor off (0, off, false, no): the library is loaded without a code cache`,
      { code: 'NETCONSOLE_CODE_CACHE' },
    );
    return null;
  }
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'netconsole');
  const home = process.env.HOME;
  return home !== undefined && isAbsolute(home) ? join(home, '.cache', 'netconsole') : null;
}

/** V8 refuses a cache made under other flags: they are part of the file's name (FNV-1a of both). */
function flagsHash(): string {
  const s = `${process.execArgv.join('\0')}\n${process.env.NODE_OPTIONS ?? ''}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The cache in the file if it is a regular file of this user that no one else may write, whole; else undefined. */
function readOwn(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    codeCache.status = 'none';
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid!() || (st.mode & 0o022) !== 0) {
      codeCache.status = 'refused';
      return undefined;
    }
    const bytes = readFileSync(fd);
    const data = bytes.subarray(SUM);
    if (bytes.length <= SUM || !sum(data).equals(bytes.subarray(0, SUM))) {
      codeCache.status = 'damaged';
      return undefined;
    }
    return data;
  } catch {
    codeCache.status = 'none';
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Writes the cache (a new file renamed over the old: a reader never sees half of one), then prunes. */
function write(script: VmScript, dir: string, file: string): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const data = script.createCachedData();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, Buffer.concat([sum(data), data]), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
    codeCache.status = 'written';
  } catch {
    codeCache.status = 'failed';
    try {
      rmSync(tmp, { force: true }); // a full disk's half-written file
    } catch {
      // the directory is not there, or not ours
    }
    return;
  }
  try {
    prune(dir);
  } catch {
    // the directory unreadable now: the cache was written all the same
  }
}

/** Keeps the KEEP newest cache files; removes temporary files a killed process left (a minute old). */
function prune(dir: string): void {
  const now = Date.now();
  const caches: { path: string; mtime: number }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      const mtime = statSync(path).mtimeMs;
      if (name.endsWith('.v8')) caches.push({ path, mtime });
      else if (name.endsWith('.tmp') && now - mtime > 60_000) rmSync(path, { force: true });
    } catch {
      // gone meanwhile (another process pruning)
    }
  }
  caches.sort((a, b) => b.mtime - a.mtime);
  for (const { path } of caches.slice(KEEP)) rmSync(path, { force: true });
}
