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
//   {"fatal":{code,message}} and exit 1 on any error.
// Lines are written in batches (once per turn of the event loop). Exits when stdin closes.
import { bindUdp, fatal, fatalOnUncaught, exitOnStdinEnd, portArg } from '../helpers/worker.js';

// Batched: one write per turn of the event loop, not one per datagram (100,000 of them a test).
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

fatalOnUncaught(flushOut);

async function main(): Promise<void> {
  const [a4 = '10.88.0.2', p4, a6 = 'fd88::2', p6] = process.argv.slice(2);
  const sockets = await Promise.all(
    (
      [
        ['udp4', a4, portArg(p4, 6666)],
        ['udp6', a6, portArg(p6, 6667)],
      ] as const
    ).map(([type, address, port]) =>
      bindUdp(type, address, port, 4 << 20, (data, r) =>
        out({ family: r.family, from: r.address, port: r.port, to: port, data: data.toString('base64') }),
      ),
    ),
  );
  out({ ready: true, rcvbuf: sockets.map((s) => s.getRecvBufferSize()) });
  exitOnStdinEnd(sockets, flushOut);
}

main().catch((err) => {
  flushOut();
  fatal(err);
});
