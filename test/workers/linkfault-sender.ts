// Child process for test/linkfault.test.ts, run INSIDE a network namespace:
//
//   ip netns exec <ns> node dist/test/workers/linkfault-sender.js '<options JSON>' <remote ip> <port> <ms> <rate> <small|mixed>
//
// Creates a Netconsole with one extended target, says "go" on stdout, logs records at `rate` per
// second for `ms` (recordText(0, i): 100-byte ones, or the mixed sizes that fragment), then
// waits for everything to be handed over or given up (flush), pauses, waits for a line on stdin
// (the parent's word that the fault is over), logs recordText(9, 0) (the record after the last
// loss carries its in-band report), flushes again, and prints
// {"logged": n, "stats": <nc.stats()>} on one line.
import { Netconsole, type NetconsoleOptions } from '../../src/index.js';
import { recordText } from '../helpers/records.js';

const [optsJson, remoteIp, remotePort, msText, rateText, size] = process.argv.slice(2);
const opts = JSON.parse(optsJson) as NetconsoleOptions;
const nc = await Netconsole.create({
  env: false,
  ...opts,
  targets: [{ name: 't', remote_ip: remoteIp, remote_port: Number(remotePort), extended: 1, enabled: 1 }],
});
const text = (i: number): string => (size === 'mixed' ? recordText(0, i) : `w0 r${i} `.padEnd(100, 'x'));
const total = Math.round((Number(msText) / 1000) * Number(rateText));
const perMs = Number(rateText) / 1000;
process.stdout.write('go\n');
const t0 = performance.now();
for (let i = 0; i < total;) {
  const due = Math.min(total, Math.floor((performance.now() - t0 + 1) * perMs));
  for (; i < due; i++) nc.info(text(i));
  await new Promise((r) => setTimeout(r, 1));
}
await nc.flush();
await new Promise((r) => setTimeout(r, 300));
await new Promise((r) => process.stdin.once('data', r));
nc.info(recordText(9, 0));
await nc.flush();
process.stdout.write(`${JSON.stringify({ logged: total, stats: nc.stats() })}\n`);
await nc.close();
