// Child process: harness/lossy-proxy.ts as a program, for tests that need the relay inside a
// network namespace (test/reliable-raw.test.ts):
//
//   node dist/test/workers/lossy-relay.js <address> <upstream port> <seed> <forward loss 0..1>
//
// Relays datagrams sent to <address>:<port it prints> to 127.0.0.1:<upstream port>, dropping the
// given share (seeded), and the upstream's replies back. Prints {"port":N} once listening; when
// its stdin ends, {"stats":...} and exits.
import { LossyProxy } from '../../harness/lossy-proxy.js';

const [address, upstreamPort, seed, loss] = process.argv.slice(2);
const proxy = await LossyProxy.start({
  address,
  upstream: { address: '127.0.0.1', port: Number(upstreamPort) },
  seed: Number(seed),
  forwardLoss: Number(loss),
});
process.stdout.write(`${JSON.stringify({ port: proxy.port })}\n`);
process.stdin.resume();
await new Promise((r) => process.stdin.once('end', r));
process.stdout.write(`${JSON.stringify({ stats: proxy.stats, errors: proxy.errors.map((e) => e.message) })}\n`);
await proxy.close();
