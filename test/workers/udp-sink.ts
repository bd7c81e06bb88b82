// A UDP receiver for test/devices-netns.test.ts, run inside a network namespace:
//
//   ip netns exec <ns> node dist/test/workers/udp-sink.js <port>
//
// Binds <port> on 0.0.0.0 (udp4) and on :: (udp6, IPv6 only), so that it keeps receiving while
// the devices and addresses of its namespace come and go. stdout, one JSON object a line:
//   {"ready":true,"port":N}
//   {"from":"<address>","port":N,"family":"IPv4"|"IPv6","text":"<datagram as latin1>"}
//   {"fatal":{code,message}} and exit 1 on any error.
// Exits when stdin closes.
import { bindUdp, fatal, fatalOnUncaught, exitOnStdinEnd, out, portArg } from '../helpers/worker.js';

fatalOnUncaught();

async function main(): Promise<void> {
  const port = portArg(process.argv[2]);
  const print = (data: Buffer, r: { address: string; port: number; family: string }): void =>
    out({ from: r.address, port: r.port, family: r.family, text: data.toString('latin1') });
  const sockets = [
    await bindUdp('udp4', '0.0.0.0', port, 1 << 20, print),
    await bindUdp('udp6', '::', port, 1 << 20, print),
  ];
  out({ ready: true, port });
  exitOnStdinEnd(sockets);
}

main().catch(fatal);
