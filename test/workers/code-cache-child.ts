// Child of test/code-cache.test.ts: a process as an app starts, through the package's own name
// (the bundle and its loader, src/faces/load.ts): import, create with one target on loopback, one
// line, flush, close; then, with `worker`, a worker thread that imports the package too. Prints
// one JSON line: the code cache's status and file on the main thread (and the worker's status).
//   node code-cache-child.js PORT TEXT [worker]
import { Worker } from 'node:worker_threads';

const [port, text, worker] = process.argv.slice(2);
const name = 'netconsole'; // a variable, so that tsc does not look for the package's types here
const { Netconsole } = (await import(name)) as typeof import('../../src/index.js');
const nc = await Netconsole.create({ targets: [{ address: '127.0.0.1', port: Number(port) }] });
nc.info(text!);
await nc.flush();
await nc.close();
await new Promise((r) => setImmediate(r)); // after the cache's writing, queued by create()
// The loader's module as 'netconsole' loaded it (the same URL, so the same instance).
const load = new URL('../../lib/es/load.js', import.meta.url).href;
const { codeCache } = (await import(load)) as typeof import('../../src/faces/load.js');
let workerStatus: unknown = null;
if (worker === 'worker') {
  const w = new Worker(
    `import(${JSON.stringify(name)}).then(() => import(${JSON.stringify(load)})).then((m) => require('node:worker_threads').parentPort.postMessage(m.codeCache.status))`,
    { eval: true },
  );
  workerStatus = await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}
process.stdout.write(`${JSON.stringify({ ...codeCache, worker: workerStatus })}\n`);
