// The bench's C programs (bench/c/*.c), compiled on first use into bench/out/ (and again when the
// source changes): the counting receiver, the sendmmsg sender, the raw
// TX ring sender, the checksum loop, an empty N-API
// function. Sources are read from the source tree: tsc does not copy them into dist/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;
const SRC = join(ROOT, 'bench', 'c');
const OUT = join(ROOT, 'bench', 'out');

/** Compiles bench/c/<name>.c (extra flags after -O2) unless the same source was built already. */
export function compile(name: string, flags: string[] = [], suffix = ''): string {
  mkdirSync(OUT, { recursive: true });
  const src = readFileSync(join(SRC, `${name}.c`), 'utf8');
  const bin = join(OUT, `${name}${suffix}`);
  const stamp = `${bin}.built-from`;
  const key = `${flags.join(' ')}\n${src}`;
  if (!existsSync(bin) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== key) {
    // Built aside and renamed: another bench or test process may be running the old binary.
    const tmp = `${bin}.${process.pid}.tmp`;
    execFileSync('cc', ['-O2', '-Wall', ...flags, '-o', tmp, join(SRC, `${name}.c`)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    renameSync(tmp, bin);
    writeFileSync(stamp, key);
  }
  return bin;
}

/** Node's own headers (node_api.h): next to the binary in an official build, else the distro's. */
export function nodeIncludeDir(): string | null {
  for (const dir of [
    join(dirname(dirname(process.execPath)), 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ]) {
    if (existsSync(join(dir, 'node_api.h'))) return dir;
  }
  return null;
}
