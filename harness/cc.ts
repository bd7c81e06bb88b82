// The C helpers of the tests and the benches (harness/c/*.c), compiled on first use, one way and
// into one cache: dist/harness/bin/<name>-<key><suffix>, where the key is a hash of the compiler's
// arguments and the source, so an edited source or other flags make another binary and an
// unchanged one is never built twice. Built under a name of its own and renamed into place: two
// processes that compile the same helper at once each rename a whole binary, and a process running
// an older one keeps it. Nothing is pruned (rm -r dist/harness/bin clears the cache). Sources are
// read from the source tree: tsc does not copy them into dist/.
//   receiver.c    the bench's counting receiver (bench/receiver.ts)
//   sender.c      the bench's sendmmsg sender (bench/e2e.ts: c-sendmmsg)
//   raw-txring.c  the bench's C TX ring sender (bench/e2e.ts: c-raw-txring)
//   csum.c        the bench's scalar checksum loop (bench/checksum.ts)
//   noop-addon.c  an N-API function that does nothing (bench/boundary.ts)
//   csink.c       the tests' recording receiver (test/helpers/csink.ts)
//   txcsum.c      the tests' `ethtool -K DEV tx on|off` (test/helpers/ip.ts)
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../harness/c/', import.meta.url));
const OUT = fileURLToPath(new URL('./bin/', import.meta.url));

/** source, flags and suffix -> the binary, for this process: the source is read and hashed once. */
const built = new Map<string, string>();

/**
 * harness/c/<name>.c (or `dir`/<name>.c) compiled with `cc -O2 -Wall` and `flags`, unless built
 * already; the path of the binary (`suffix` ends its name: '.node' for an addon).
 */
export function compile(name: string, flags: string[] = [], suffix = '', dir = SRC): string {
  const src = join(dir, `${name}.c`);
  const asked = JSON.stringify([src, flags, suffix]);
  const known = built.get(asked);
  if (known !== undefined) return known;
  const args = ['-O2', '-Wall', ...flags];
  const key = createHash('sha256')
    .update(JSON.stringify([args, readFileSync(src, 'utf8')]))
    .digest('hex')
    .slice(0, 16);
  const bin = join(OUT, `${name}-${key}${suffix}`);
  if (!existsSync(bin)) {
    mkdirSync(OUT, { recursive: true });
    const tmp = `${bin}.${randomUUID()}.tmp`;
    try {
      execFileSync('cc', [...args, '-o', tmp, src], { stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(tmp, bin);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  built.set(asked, bin);
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
