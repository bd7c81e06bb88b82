// A process that watches the AsyncLocalStorage instances it creates (the library's lock-order
// checker is one) while a Netconsole is created, configured and closed, and prints one JSON line:
// how many runs there were, and how many instances were still enabled each time no configuration
// was in progress. An enabled one keeps Node's promise hooks on for the whole process
// (test/locks-cost.test.ts).
import { AsyncLocalStorage } from 'node:async_hooks';
import dgram from 'node:dgram';

const instances = new Set<AsyncLocalStorage<unknown>>();
let runs = 0;
const run = AsyncLocalStorage.prototype.run;
AsyncLocalStorage.prototype.run = function (this: AsyncLocalStorage<unknown>, ...args: Parameters<typeof run>) {
  instances.add(this);
  runs++;
  return run.apply(this, args);
} as typeof run;
const enabled = (): number => [...instances].filter((a) => (a as unknown as { enabled: boolean }).enabled).length;

const { Netconsole } = await import('../../src/index.js');
const sink = dgram.createSocket('udp4');
await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
const port = sink.address().port;
const atRest: number[] = [];
const nc = await Netconsole.create({
  devices: 'none',
  env: false,
  targets: [{ name: 't1', address: '127.0.0.1', port }],
});
atRest.push(enabled());
nc.info('one');
await nc.flush();
const t = nc.targets.get('t1')!;
await t.disable();
atRest.push(enabled());
await t.set('remote_port', port);
await t.enable();
const t2 = await nc.targets.create('t2', { remote_ip: '127.0.0.1', remote_port: port, local_port: 0, enabled: 1 });
await Promise.all([t2.disable(), t.disable(), t.set('extended', 1)]);
await t2.remove();
atRest.push(enabled());
nc.stats();
atRest.push(enabled());
await nc.close();
atRest.push(enabled());
sink.close();
process.stdout.write(`${JSON.stringify({ runs, instances: instances.size, atRest })}\n`);
