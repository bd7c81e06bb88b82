// Logs 2,000 records and ends the process without flush() or close(): naturally, or by process.exit().
import { Netconsole } from '../../src/host/netconsole.js';

const [port, how, sender] = process.argv.slice(2);
const nc = await Netconsole.create({
  devices: 'none',
  env: false,
  sender: sender as 'native' | 'dgram',
  targets: `@/,${port}@127.0.0.1/`,
});
for (let i = 0; i < 2000; i++) nc.info(`line ${i}`);
if (how === 'exit') process.exit(0);
