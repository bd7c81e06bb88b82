// A process that crashes: an uncaught exception or an unhandled rejection, with crash capture on.
import { Netconsole } from '../../src/host/netconsole.js';

const [port, how, oopsOnly] = process.argv.slice(2);
const nc = await Netconsole.create({
  devices: 'none',
  env: false,
  oopsOnly: oopsOnly === '1',
  targets: `+@/,${port}@127.0.0.1/`,
});
nc.captureCrashes();
// Runs after the capture's monitor: by then the crash record must be in the kernel.
process.on('uncaughtExceptionMonitor', () => {
  const s = nc.stats();
  process.stdout.write(`ring used=${s.ringUsed} records=${s.records} sent=${s.targets[0].sent}\n`);
});
nc.info('an ordinary record before the crash');
function deep(): never {
  throw new Error(`the crash (${how})`);
}
if (how === 'throw') setImmediate(() => deep());
else void Promise.reject(new Error(`the crash (${how})`));
