// The native addon, typed through an explicit interface, loaded once and checked for its ABI
// version. There is no stand-in object of the same shape: without the addon (not built, another
// ABI, or NETCONSOLE_NO_NATIVE=1) `native` is null and each consumer takes its own way
// (ARCHITECTURE.md, convention 7): the dgram sender (host/options.ts), the sysfs poller instead
// of rtnetlink (netdev/rtnetlink-dump.ts), getcpu from /proc (below), waiting for room by polling
// (core/room.ts), the signal hook without the saved disposition (host/signals.ts).
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';

/** What the sender thread counted (native/sender.cc). */
export interface NativeSenderStats {
  datagrams: number;
  batches: number;
  /** Datagrams that could not be sent (after retries): the sum of the targets' transmit_errors. */
  errors: number;
  discarded: number;
  wakeups: number;
  /** Sends the kernel refused for a full socket buffer (EAGAIN) or a full queue (ENOBUFS): waited for, then retried. */
  eagain: number;
  enobufs: number;
  /** Sends retried at once after another error (a pending ICMP error fails one send). */
  retries: number;
  /** Times a target's socket stayed unwritable past the stall bound (its datagrams then got one try each). */
  stalls: number;
  /** Times waiting writers were woken because the tail reached the room they need. */
  roomWakes: number;
  /** Times a target's path could not carry and the thread held its datagrams (native/path.h). */
  holds: number;
  /** Datagrams sent alone to start the resolution of a held target's next hop. */
  probes: number;
  /** Messages counted lost that the kernel may have sent (the device lost its carrier meanwhile). */
  unconfirmed: number;
  /** Raw-mode frames the kernel took from a PACKET_TX_RING (the rest went by sendmmsg). */
  ringFrames: number;
  /** Of ringFrames, those sent past the qdisc layer (PACKET_QDISC_BYPASS: a noqueue device). */
  bypassFrames: number;
  /** Times the thread called onTail: RING_TAIL reached the position the host armed (notifyAt). */
  tailNotifies: number;
  /** UDP GSO sends (runs of one target's datagrams of one length, as one sendmmsg entry). */
  gsoSends: number;
  /** The datagrams of those runs. */
  gsoDatagrams: number;
  /** GSO sends the kernel refused (EINVAL, EIO, EMSGSIZE, EOPNOTSUPP): their target's datagrams go one by one since. */
  gsoFallbacks: number;
}

/** How the sender thread batches and waits (native/sender.cc Tuning). */
export interface NativeTuning {
  batch?: number;
  spin?: number;
  timer?: boolean;
  timerUs?: number;
  /** How long a target's datagrams wait for a path that cannot carry them, ms. */
  holdMs?: number;
  /** Raw mode through a PACKET_TX_RING where one can be set up (default true; false: sendmmsg). */
  txRing?: boolean;
  /** UDP mode: runs of equal-length datagrams as UDP GSO sends (default true; false: one by one). */
  gso?: boolean;
}

/** The sender thread of one shared memory (native/sender.cc). */
export interface NativeSenderThread {
  /** hopFamily 0 (no next hop to resolve: raw mode) or 4 / 6, with the next hop's address bytes.
   *  Returns, for a raw-mode socket that could not have a TX ring, why (its frames go by sendmmsg). */
  setRoute(
    t: number,
    fd: number,
    gen: number,
    family: number,
    address: Uint8Array,
    port: number,
    device: string,
    ifindex: number,
    hopFamily: number,
    hop: Uint8Array,
  ): string | undefined;
  clearRoute(t: number): void;
  wake(): void;
  stop(): void;
  stats(): NativeSenderStats;
  /** The thread calls onTail (on the creating thread's loop) once RING_TAIL >= pos; the lowest
   *  position armed since the last call wins. */
  notifyAt(pos: number): void;
}

/** An rtnetlink socket bound to multicast groups, polled on the creating thread's loop (native/netlink.cc). */
export interface NativeNetlinkWatcher {
  /** The socket's netlink port id: replies to request() carry it as nlmsg_pid. */
  readonly portId: number;
  readonly closed: boolean;
  /** Sends an NLM_F_REQUEST|NLM_F_DUMP request; the replies arrive through onMessages. Returns its nlmsg_seq. */
  request(type: number, family: number): number;
  /** Keep the process alive while open (default: not). */
  ref(): void;
  unref(): void;
  /** Stops polling and closes the socket; idempotent. */
  close(): void;
}

export interface NativeBinding {
  readonly abiVersion: number;
  /**
   * new NetlinkWatcher(groups, onMessages, rcvbufBytes?): onMessages gets each recv() buffer (whole
   * netlink messages), or a zero-length buffer after an overrun (ENOBUFS: state lost, resync).
   */
  NetlinkWatcher: new (groups: number, onMessages: (buf: Buffer) => void, rcvbufBytes?: number) => NativeNetlinkWatcher;
  /** A synchronous dump on its own socket: every reply message up to and including NLMSG_DONE. Throws with `errno`. */
  netlinkDump(type: number, family: number): Buffer;
  Sender: new (
    memory: Uint8Array,
    layout: Record<string, number>,
    tuning?: NativeTuning,
    onTail?: () => void,
  ) => NativeSenderThread;
  /** The sender thread's retention (native/retain.h) over the ring ranges [r[0], r[1]), [r[2], r[3]) ...,
   *  on the calling thread: for the test that compares it with assembly/retain.ts. */
  retainRange(memory: Uint8Array, layout: Record<string, number>, ranges: number[]): void;
  /** Wakes a native sender sleeping on word `index` of the memory. */
  futexWake(view: Int32Array, index: number): void;
  /** Sleeps on word `index` while it holds `expected`, at most `timeoutMs`: 0 woken, 1 not equal, 2 timed out. */
  futexWait(view: Int32Array, index: number, expected: number, timeoutMs: number): number;
  /** A UDP socket with SO_REUSEADDR (and IP_RECVERR) bound to address:port, with a send buffer of
   *  `sndbuf` bytes (default 4 MiB); returns its fd. Throws with `errno`. */
  udpOpen(family: 4 | 6, address: Uint8Array, port: number, sndbuf?: number): number;
  closeFd(fd: number): void;
  /** An AF_PACKET raw socket bound to a device (raw mode); returns its fd. Throws with `errno`. */
  packetOpen(ifindex: number, sndbuf?: number): number;
  /** sched_getcpu() of the calling thread. */
  getcpu(): number;
  /**
   * The process's disposition of signal `signum` (its struct sigaction), and putting one back
   * (native/signals.cc). Throw with `errno`.
   */
  signalAction(signum: number): Buffer;
  setSignalAction(signum: number, saved: Buffer): void;
}

/** The fallback: the CPU the thread last ran on, from /proc (field 39 of stat). */
function procGetcpu(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[36]) || 0; // field 39 overall; fields here start at field 3
  } catch {
    return 0;
  }
}

const ABI_VERSION = 7;

/** Whether NETCONSOLE_NO_NATIVE=1 asked for the fallback (then its absence is not news to warn of). */
export const nativeDisabled = process.env.NETCONSOLE_NO_NATIVE === '1';

/**
 * The addon file node-gyp-build would pick in the package at `root` (a path ending in '/'), where
 * the package's layout makes that choice plain, so that it is required without node-gyp-build
 * (its require and its look through build/ and prebuilds/ took 2.6 - 4.2 ms of every import; a
 * direct require 0.7): the addon built here, else, with no debug build, the prebuild of this
 * platform (the only file in its folder, untagged, so node-gyp-build's choice whatever the libc).
 * null: node-gyp-build decides (a debug build, no file, or one of its overrides of where and what
 * to look for). test/native-load.test.ts checks it against node-gyp-build's own choice.
 */
export function addonFile(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: string = process.platform,
  arch: string = process.arch,
): string | null {
  // Its overrides of where and what to look for: then it decides.
  if (env.NETCONSOLE_PREBUILD !== undefined || env.PREBUILDS_ONLY || env.npm_config_arch || env.npm_config_platform)
    return null;
  const built = `${root}build/Release/netconsole.node`;
  if (existsSync(built)) return built;
  const prebuilt = `${root}prebuilds/${platform}-${arch}/netconsole.node`;
  return !existsSync(`${root}build/Debug`) && existsSync(prebuilt) ? prebuilt : null;
}

function load(): { binding: NativeBinding | null; error: Error | null } {
  if (nativeDisabled) return { binding: null, error: new Error('NETCONSOLE_NO_NATIVE=1') };
  try {
    const require = createRequire(import.meta.url);
    const root = new URL('../../..', import.meta.url).pathname;
    const direct = addonFile(root);
    const binding = (
      direct !== null ? require(direct) : (require('node-gyp-build') as (dir: string) => unknown)(root)
    ) as NativeBinding;
    if (binding.abiVersion !== ABI_VERSION)
      throw new Error(
        `the addon found is ABI ${binding.abiVersion}, this version of netconsole needs ${ABI_VERSION} (a build left from another version)`,
      );
    return { binding, error: null };
  } catch (error) {
    return { binding: null, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

const loaded = load();
/** The addon, or null (then `nativeError` says why). */
export const native: NativeBinding | null = loaded.binding;
export const nativeError: Error | null = loaded.error;

/**
 * Why the addon did not load, in one line (node-gyp-build's "No native build was found for
 * platform=linux arch=arm64 ..." runs on with the folder it looked in; a dlopen error names the
 * file and the missing symbol or library): null when it did load.
 */
export function nativeWhy(): string | null {
  if (nativeError === null) return null;
  const first = nativeError.message.split('\n')[0]!.trim();
  return first === '' ? String(nativeError.name) : first;
}

/** The CPU of the calling thread: the addon's sched_getcpu(), else /proc (a file read). */
export const getcpu: () => number = native ? () => native.getcpu() : procGetcpu;
/** Whether getcpu() is cheap enough to call for every record (the addon's is a vDSO call). */
export const getcpuIsCheap = native !== null;
