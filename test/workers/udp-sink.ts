// A UDP receiver for test/devices-netns.test.ts, run inside a network namespace:
//
//   ip netns exec <ns> node dist/test/workers/udp-sink.js <port>
//
// Binds <port> on 0.0.0.0 (udp4) and on :: (udp6, IPv6 only), so that it keeps receiving while
// the devices and addresses of its namespace come and go. stdout, one JSON object a line:
//   {"ready":true,"port":N}
//   {"from":"<address>","port":N,"family":"IPv4"|"IPv6","text":"<datagram as latin1>"}
//   {"fatal":"..."} and exit 1 on any error.
// Exits when stdin closes.
import { createSocket, type Socket } from 'node:dgram';

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function fail(err: unknown): never {
  out({ fatal: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

process.on('uncaughtException', fail);

async function bind(type: 'udp4' | 'udp6', address: string, port: number): Promise<Socket> {
  const s = createSocket({ type, ipv6Only: type === 'udp6', recvBufferSize: 1 << 20 });
  s.on('message', (data, r) => out({ from: r.address, port: r.port, family: r.family, text: data.toString('latin1') }));
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

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port ${process.argv[2]}`);
  const sockets = [await bind('udp4', '0.0.0.0', port), await bind('udp6', '::', port)];
  out({ ready: true, port });
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const s of sockets) s.close();
    process.exit(0);
  });
}

main().catch(fail);
