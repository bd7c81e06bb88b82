// Scenario: raw mode against UDP, over a veth pair between two network namespaces this benchmark
// creates (and always removes): frames on loopback are dropped as martians, so raw mode cannot be
// measured there. From namespace A to a C recvmmsg receiver in B, delivered datagrams/s of
// the C sendmmsg UDP sender, this library in UDP mode and in raw mode (AF_PACKET frames built in
// WebAssembly), each as a ratio to the C sender. Needs root; otherwise it says so and skips.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { C_RECEIVER, C_SENDER, compile } from './udp-throughput.js';

const NODE = process.execPath;
const WORKER = new URL('./workers/ns-sender.js', import.meta.url).pathname;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

async function receive(nsB: string, bin: string, send: (port: number) => { seconds: number; sent: number }): Promise<{ delivered: number; seconds: number; sent: number }> {
  const rx = spawn('ip', ['netns', 'exec', nsB, bin, '0', '10.99.0.2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  rx.stdout!.on('data', (d: Buffer) => (out += d));
  while (!/ready (\d+)/.test(out)) await new Promise((r) => setTimeout(r, 5));
  const r = send(Number(/ready (\d+)/.exec(out)![1]));
  await once(rx, 'exit');
  return { ...r, delivered: Number(out.trim().split('\n').pop()) };
}

export async function run(): Promise<{ report: string }> {
  if (process.getuid?.() !== 0) return { report: '## Raw mode over veth\n\nskipped: needs root (network namespaces, AF_PACKET)' };
  const sender = compile('sendmmsg-sender', C_SENDER);
  const receiver = compile('recvmmsg-receiver', C_RECEIVER);
  const [a, b] = [`ncbench-a-${process.pid}`, `ncbench-b-${process.pid}`];
  const rows: string[] = [];
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip('link', 'add', 'bA', 'netns', a, 'type', 'veth', 'peer', 'name', 'bB', 'netns', b);
    ip('-n', a, 'addr', 'add', '10.99.0.1/24', 'dev', 'bA');
    ip('-n', b, 'addr', 'add', '10.99.0.2/24', 'dev', 'bB');
    for (const [ns, dev] of [[a, 'bA'], [b, 'bB']]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
    const macB = /link\/ether (\S+)/.exec(ip('-n', b, 'link', 'show', 'bB'))![1];
    for (const size of [100, 1000]) {
      const count = size === 100 ? 1_000_000 : 200_000;
      const c = await receive(b, receiver, (port) => {
        const [sent, seconds] = execFileSync('ip', ['netns', 'exec', a, sender, String(port), String(size), String(count), '10.99.0.2'], { encoding: 'utf8' }).trim().split(' ').map(Number);
        return { sent, seconds };
      });
      const ours = async (mode: string) =>
        receive(b, receiver, (port) => JSON.parse(execFileSync('ip', ['netns', 'exec', a, NODE, WORKER, mode, 'bA', '10.99.0.2', String(port), macB, String(size), String(count)], { encoding: 'utf8' })) as { seconds: number; sent: number });
      const udp = await ours('udp');
      const raw = await ours('raw');
      const rate = (x: { delivered: number; seconds: number }) => x.delivered / x.seconds;
      for (const [name, x] of [['C sendmmsg (UDP)', c], ['netconsole UDP mode', udp], ['netconsole raw mode', raw]] as const) {
        rows.push(`| ${name} | ${size} B | ${x.sent} | ${x.delivered} | ${(rate(x) / 1e6).toFixed(3)} M | ${(rate(x) / rate(c)).toFixed(2)}x |`);
      }
    }
  } finally {
    for (const ns of [a, b]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  }
  return {
    report: ['## Raw mode over a veth pair: delivered datagrams/s (C recvmmsg receiver in the peer namespace)', '', '| sender | payload | sent | delivered | delivered/s | ratio to C UDP |', '| --- | ---: | ---: | ---: | ---: | ---: |', ...rows].join('\n'),
  };
}
