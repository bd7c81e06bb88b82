// What tests read from iproute2 and sysfs about the links of a namespace (or of this one): the
// kernel's own view, to compare ours with and to wait on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { NetnsHandle } from '../../harness/netns.js';
import { compile } from '../../harness/cc.js';

const execFileP = promisify(execFile);

/** A link as `ip -j link` shows it. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  operstate: string;
  address?: string;
  master?: string;
}

/** `ip [-n <ns>] -j <args>` parsed; `ns` is a full namespace name, absent for this namespace. */
export async function ipJson<T>(args: string[], ns?: string): Promise<T> {
  const { stdout } = await execFileP('ip', [...(ns ? ['-n', ns] : []), '-j', ...args], { encoding: 'utf8' });
  return JSON.parse(stdout) as T;
}

/** The MAC address of `dev` in namespace `which`, lower case. */
export async function macOf(ns: NetnsHandle, which: string, dev: string): Promise<string> {
  const [link] = await ipJson<IpLink[]>(['link', 'show', dev], ns.name(which));
  return link!.address!.toLowerCase();
}

/**
 * Waits until /sys/class/net/<dev>/operstate in namespace `which` is `up`: a veth becomes running
 * only when the kernel's linkwatch gets to it, some time after `ip link set up`.
 */
export async function waitOperUp(ns: NetnsHandle, which: string, dev: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { stdout } = await ns.exec(which, ['cat', `/sys/class/net/${dev}/operstate`]);
    if (stdout.trim() === 'up') return;
    if (Date.now() > deadline) assert.fail(`${dev} operstate is ${stdout.trim()}, not up, after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Turns the transmit checksum offload of `dev` in namespace `which` on or off (`ethtool -K dev tx`,
 * harness/c/txcsum.c). Off, the kernel sums every UDP datagram it sends there, those it cuts
 * from a GSO run too, so the peer's kernel checks each sum (on, a run's datagrams cross a veth
 * pair with their sums left to a device, and the peer trusts them).
 */
export async function setTxChecksum(ns: NetnsHandle, which: string, dev: string, on: boolean): Promise<void> {
  const { stdout } = await ns.exec(which, [compile('txcsum'), dev, on ? 'on' : 'off']);
  assert.equal(stdout.trim(), `tx ${on ? 'on' : 'off'}`, `${dev}'s transmit checksum offload`);
}
