// Child process for test/slowlink.test.ts, run INSIDE a network namespace:
//
//   ip netns exec <ns> node dist/test/workers/slowlink-sender.js '<options JSON>' <remote ip> <remote port> <count>
//
// Creates a Netconsole (native sender, the options given) with one extended target, logs `count`
// records of recordText(0, i), 1,000 per turn of the event loop, flushes, logs recordText(9, 0)
// (the record after the last loss carries its in-band report), flushes again, and prints
// {"stats": <nc.stats()>} on one line.
import { Netconsole, type NetconsoleOptions } from '../../src/index.js';
import { recordText } from '../helpers/records.js';

const [optsJson, remoteIp, remotePort, countText] = process.argv.slice(2);
const opts = JSON.parse(optsJson) as NetconsoleOptions;
const nc = await Netconsole.create({
  ...opts,
  devices: 'none',
  env: false,
  sender: 'native',
  targets: [{ name: 't', remote_ip: remoteIp, remote_port: Number(remotePort), extended: 1, enabled: 1 }],
});
const count = Number(countText);
for (let i = 0; i < count;) {
  for (let k = 0; k < 1000 && i < count; k++, i++) nc.info(recordText(0, i));
  await new Promise((r) => setImmediate(r));
}
await nc.flush();
nc.info(recordText(9, 0));
await nc.flush();
process.stdout.write(`${JSON.stringify({ stats: nc.stats() })}\n`);
await nc.close();
