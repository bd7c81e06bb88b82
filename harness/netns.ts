// Network namespaces for the tests and the benches (root and iproute2's `ip netns`).
//
//   await withNetns(['a', 'b'], async (ns) => {
//     await ns.vethPair('a', 'veth0', 'b', 'veth1', '10.9.0.1/24', '10.9.0.2/24');
//     const { stdout } = await ns.exec('a', ['ip', '-j', 'link']);
//     const child = ns.runNode('a', 'dist/test/workers/x.js', []);
//   });
//
// A test asks first with requireRoot (test/helpers/requires.ts), which skips it (or fails it under
// CI=true) with netnsUnavailable()'s reason; the bench skips its veth path without root.
//
// Namespaces are named `nctest-<pid>-<n>-<name>` and are ALWAYS deleted afterwards: when fn returns,
// when it throws, and (synchronously) on process exit or SIGINT/SIGTERM for any left behind. Node
// children started with runNode are killed (SIGKILL) first. Namespaces of earlier test processes that
// are no longer running are removed on first use. Helpers accept the short name given to withNetns
// (or the full name).
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface NetnsHandle {
  /** Short name -> full namespace name. */
  readonly names: Readonly<Record<string, string>>;
  /** The full namespace name of a short (or full) name. */
  name(ns: string): string;
  /** `ip netns exec <ns> cmd...`; rejects (with stderr in the message) when it exits non-zero. */
  exec(ns: string, cmd: string[]): Promise<ExecResult>;
  /**
   * A veth pair nameA (in nsA) <-> nameB (in nsB, which may equal nsA), with optional CIDR
   * addresses (IPv6 ones are added `nodad`, usable at once), both links set up.
   */
  vethPair(nsA: string, nameA: string, nsB: string, nameB: string, addrA?: string, addrB?: string): Promise<void>;
  /**
   * Steers what `dev` (in `ns`) receives to one CPU (RPS), so that packets handed over in order
   * arrive in order. A veth gives each packet to the backlog of the CPU that sends it; behind a
   * qdisc such as tbf, of the CPU that dequeues it (the sending thread or a timer softirq, any
   * CPU), and backlogs drain independently: two packets can arrive swapped (seen: slowlink's raw
   * 'wait' case beside two CPU hogs, every record there, 1 run in 12 out of order; 0 in 24 with
   * this). Only where a qdisc spreads the dequeues: on a pair without one it is the cause of
   * reordering, not the cure (the neighbour's reply then runs on another CPU than the sender, and
   * a flushed neighbour's queued packets are overtaken: linkfault's neighbour case reordered in 7
   * runs of 10 with it on both ends, 0 of 10 without).
   */
  steerToOneCpu(ns: string, dev: string): Promise<void>;
  /**
   * A slow link: `dev` (in `ns`) sends through a tbf qdisc of `rate` (e.g. '10mbit', burst 32
   * kbit) that queues up to `latency` of traffic (e.g. '10s', '20ms') before it drops.
   */
  slowLink(ns: string, dev: string, rate: string, latency: string): Promise<void>;
  /** `ip netns exec <ns> node <script> ...args`, stdio piped; killed before the namespace goes. */
  runNode(ns: string, scriptPath: string, args?: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** `ip netns exec <ns> cmd ...args`, stdio piped; killed (SIGKILL) before the namespace goes. */
  spawn(ns: string, cmd: string, args?: string[], env?: NodeJS.ProcessEnv): ChildProcess;
}

const PREFIX = `nctest-${process.pid}-`;
let counter = 0;
/** Every namespace created and not yet deleted, for the exit handler. */
const live = new Set<string>();
let handlersInstalled = false;
let staleSwept = false;

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function run(cmd: string, args: string[]): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${[cmd, ...args].join(' ')} failed: ${stderr.trim() || err.message}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/** Delete a namespace; it stays on the list for the exit handler when that fails. */
function deleteSync(full: string): void {
  const r = spawnSync('ip', ['netns', 'del', full], { stdio: 'ignore' });
  if (r.status === 0) live.delete(full);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const full of [...live]) deleteSync(full);
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      for (const full of [...live]) deleteSync(full);
      process.off(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove `nctest-<pid>-*` namespaces whose process is gone (a crashed earlier run). */
function sweepStale(): void {
  if (staleSwept) return;
  staleSwept = true;
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return;
  for (const line of r.stdout.split('\n')) {
    const full = line.trim().split(/\s+/)[0] ?? '';
    const m = /^nctest-(\d+)-\d+-/.exec(full);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
      spawnSync('ip', ['netns', 'del', full], { stdio: 'ignore' });
    }
  }
}

let netnsProbe: string | null | undefined;

/** Why namespaces cannot be used here, or null when they can (checked once, by creating one). */
export function netnsUnavailable(): string | null {
  if (!isRoot()) return 'needs root (uid 0) for network namespaces';
  if (netnsProbe !== undefined) return netnsProbe;
  const full = `${PREFIX}${counter++}-probe`;
  const add = spawnSync('ip', ['netns', 'add', full], { encoding: 'utf8' });
  if (add.error) {
    netnsProbe = `\`ip\` (iproute2) cannot be run: ${add.error.message}`;
  } else if (add.status !== 0) {
    netnsProbe = `\`ip netns add\` fails: ${(add.stderr || '').trim() || `exit ${String(add.status)}`}`;
  } else {
    netnsProbe = null;
  }
  spawnSync('ip', ['netns', 'del', full], { stdio: 'ignore' });
  return netnsProbe;
}

export async function withNetns(names: string[], fn: (ns: NetnsHandle) => Promise<void>): Promise<void> {
  installHandlers();
  sweepStale();
  const map: Record<string, string> = {};
  const children = new Set<ChildProcess>();
  const full = (ns: string): string => {
    if (Object.prototype.hasOwnProperty.call(map, ns)) return map[ns]!;
    if (Object.values(map).includes(ns)) return ns;
    throw new Error(`unknown namespace ${JSON.stringify(ns)} (have ${Object.keys(map).join(', ')})`);
  };

  const handle: NetnsHandle = {
    names: map,
    name: full,
    exec: (ns, cmd) => run('ip', ['netns', 'exec', full(ns), ...cmd]),
    async vethPair(nsA, nameA, nsB, nameB, addrA, addrB) {
      const a = full(nsA);
      const b = full(nsB);
      await run('ip', ['-n', a, 'link', 'add', nameA, 'type', 'veth', 'peer', 'name', nameB, 'netns', b]);
      for (const [n, dev, addr] of [
        [a, nameA, addrA],
        [b, nameB, addrB],
      ] as const) {
        if (addr !== undefined) {
          const extra = addr.includes(':') ? ['nodad'] : [];
          await run('ip', ['-n', n, 'addr', 'add', addr, 'dev', dev, ...extra]);
        }
        await run('ip', ['-n', n, 'link', 'set', dev, 'up']);
      }
    },
    async steerToOneCpu(ns, dev) {
      await run('ip', [
        'netns',
        'exec',
        full(ns),
        'sh',
        '-c',
        `for q in /sys/class/net/${dev}/queues/rx-*/rps_cpus; do echo 1 > "$q"; done`,
      ]);
    },
    async slowLink(ns, dev, rate, latency) {
      const tbf = ['tbf', 'rate', rate, 'burst', '32kbit', 'latency', latency];
      await run('ip', ['netns', 'exec', full(ns), 'tc', 'qdisc', 'add', 'dev', dev, 'root', ...tbf]);
    },
    spawn(ns, cmd, args = [], env) {
      const child = spawn('ip', ['netns', 'exec', full(ns), cmd, ...args], {
        env: { ...process.env, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    runNode(ns, scriptPath, args = [], env) {
      return handle.spawn(ns, process.execPath, [scriptPath, ...args], env);
    },
  };

  try {
    for (const short of names) {
      if (Object.prototype.hasOwnProperty.call(map, short)) throw new Error(`duplicate namespace name ${short}`);
      const name = `${PREFIX}${counter++}-${short}`;
      await run('ip', ['netns', 'add', name]);
      live.add(name);
      map[short] = name;
      await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    }
    await fn(handle);
  } finally {
    await Promise.all(
      [...children].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    for (const name of Object.values(map)) deleteSync(name);
  }
}
