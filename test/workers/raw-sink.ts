// A UDP receiver for test/raw.test.ts, run inside a network namespace:
//
//   ip netns exec <ns> node dist/test/workers/raw-sink.js [<addr4> <port4> <addr6> <port6>]
//
// Binds udp4 <addr4>:<port4> (default 10.88.0.2:6666) and udp6 <addr6>:<port6> (default
// [fd88::2]:6667), each with a large receive buffer (the kernel caps it at 2 * net.core.rmem_max).
// (test/workers/udp-sink.ts binds one port on the wildcard addresses and prints latin1 text, and is
// used by another test; this one is byte-oriented.)
// stdout, one JSON object a line:
//   {"ready":true,"rcvbuf":[bytes4,bytes6]}
//   {"family":"IPv4"|"IPv6","from":"<address>","port":<source port>,"to":<local port>,"data":"<base64>"}
//   {"fatal":"..."} and exit 1 on any error.
// Lines are written in batches (once per turn of the event loop). Exits when stdin closes.
import { createSocket, type Socket } from 'node:dgram';

let pending: string[] = [];
let scheduled = false;

function flushOut(): void {
  scheduled = false;
  if (pending.length === 0) return;
  const text = pending.join('');
  pending = [];
  process.stdout.write(text);
}

function out(obj: unknown): void {
  pending.push(`${JSON.stringify(obj)}\n`);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushOut);
  }
}

function fail(err: unknown): never {
  flushOut();
  process.stdout.write(`${JSON.stringify({ fatal: err instanceof Error ? err.message : String(err) })}\n`);
  process.exit(1);
}

process.on('uncaughtException', fail);

async function bind(type: 'udp4' | 'udp6', address: string, port: number): Promise<Socket> {
  const s = createSocket({ type, ipv6Only: type === 'udp6', recvBufferSize: 4 << 20 });
  s.on('message', (data, r) => out({ family: r.family, from: r.address, port: r.port, to: port, data: data.toString('base64') }));
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      s.on('error', fail);
      resolve();
    });
  });
  return s;
}

function portArg(v: string | undefined, dflt: number): number {
  const port = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port ${String(v)}`);
  return port;
}

async function main(): Promise<void> {
  const [a4 = '10.88.0.2', p4, a6 = 'fd88::2', p6] = process.argv.slice(2);
  const sockets = [await bind('udp4', a4, portArg(p4, 6666)), await bind('udp6', a6, portArg(p6, 6667))];
  out({ ready: true, rcvbuf: sockets.map((s) => s.getRecvBufferSize()) });
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const s of sockets) s.close();
    flushOut();
    process.exit(0);
  });
}

main().catch(fail);
