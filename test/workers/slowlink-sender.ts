// Child process for test/slowlink.test.ts, run INSIDE a network namespace:
//
//   ip netns exec <ns> node dist/test/workers/slowlink-sender.js '<options JSON>' <remote ip> <remote port> <count>
//
// Creates a Netconsole (the native sender unless the options say `sender`) with one extended
// target, logs `count` records of recordText(0, i), 1,000 per turn of the event loop (from a
// worker thread when the options say `writer: 'worker'`), flushes, logs recordText(9, 0) (the
// record after the last loss carries its in-band report), flushes again, and prints
// {"stats": <nc.stats()>, "peakQueued": <the most Node's send queues held, sampled each ms>}.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { once } from 'node:events';
import { attach, Netconsole, type NetconsoleHandle, type NetconsoleOptions } from '../../src/index.js';
import { recordText } from '../helpers/records.js';

async function write(log: { info(text: string): void }, count: number): Promise<void> {
  for (let i = 0; i < count;) {
    for (let k = 0; k < 1000 && i < count; k++, i++) log.info(recordText(0, i));
    await new Promise((r) => setImmediate(r));
  }
}

if (!isMainThread) {
  const { handle, count } = workerData as { handle: NetconsoleHandle; count: number };
  const log = attach(handle);
  await write(log, count);
  log.detach();
  parentPort!.postMessage('done');
} else {
  const [optsJson, remoteIp, remotePort, countText] = process.argv.slice(2);
  const { writer, ...opts } = JSON.parse(optsJson) as NetconsoleOptions & { writer?: 'worker' };
  const nc = await Netconsole.create({
    sender: 'native',
    ...opts,
    devices: 'none',
    env: false,
    targets: [{ name: 't', remote_ip: remoteIp, remote_port: Number(remotePort), extended: 1, enabled: 1 }],
  });
  const count = Number(countText);
  let peakQueued = 0;
  const sample = setInterval(() => (peakQueued = Math.max(peakQueued, nc.stats().transmit.queued)), 1);
  if (writer === 'worker') {
    const w = new Worker(new URL(import.meta.url), { workerData: { handle: nc.handle(), count } });
    nc.watchWorker(w);
    await once(w, 'message');
    await once(w, 'exit');
  } else await write(nc, count);
  await nc.flush();
  clearInterval(sample);
  nc.info(recordText(9, 0));
  await nc.flush();
  process.stdout.write(`${JSON.stringify({ stats: nc.stats(), peakQueued })}\n`);
  await nc.close();
}
