// netconsole tune: one run, in a fresh process (run.ts). argv[2] is the JSON of SenderArgs. Prints
// {"ready":true} once its Netconsole (and writer threads) are set up; on "go" (stdin) makes `count`
// log calls in the load shape, waits until everything was handed to the kernel (flush), prints
// the SenderResult and exits.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Netconsole } from '../../host/netconsole.js';
import type { TargetOptions } from '../../host/target-api.js';
import { inTurns, text } from './load.js';
import { command, print } from './stdio.js';

export interface SenderArgs {
  sizes: number[];
  count: number;
  rate: number;
  threads: number;
  targets: string | TargetOptions[];
  ncOptions: Record<string, unknown>;
}

export interface SenderResult {
  /** From the first log call until everything was handed to the kernel. */
  seconds: number;
  /** The process's CPU time (every thread) over those seconds, in microseconds. */
  cpuUs: number;
  stats: {
    lost: number;
    ringFull: number;
    waits: { gaveUp: number };
    transmit: Record<string, number>;
    targets: Array<{ sent: number; lostInTransmit: number }>;
  };
}

/** Writer threads (writer.ts), attached and waiting; `go()` starts them all and resolves when all are done. */
async function writers(nc: Netconsole, args: SenderArgs, texts: string[]): Promise<{ go(): Promise<void> }> {
  const handle = nc.handle();
  const start = new Int32Array(new SharedArrayBuffer(4));
  const { count, threads } = args;
  const share = (w: number): number => Math.floor(count / threads) + (w < count % threads ? 1 : 0);
  const workers = Array.from(
    { length: threads },
    (_, w) =>
      new Worker(new URL('./writer.js', import.meta.url), {
        workerData: { handle, texts, count: share(w), rate: args.rate / threads, start },
      }),
  );
  await Promise.all(workers.map((w) => once(w, 'message')));
  return {
    async go() {
      const done = workers.map((w) => once(w, 'message'));
      Atomics.store(start, 0, 1);
      Atomics.notify(start, 0);
      await Promise.all(done);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

async function main(args: SenderArgs): Promise<void> {
  const nc = await Netconsole.create({
    env: false,
    devices: 'none',
    strict: true,
    ...args.ncOptions,
    targets: args.targets,
  });
  const texts = args.sizes.map(text);
  const threads = args.threads > 0 ? await writers(nc, args, texts) : null;
  print({ ready: true });
  if ((await command()) !== 'go') process.exit(1);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  if (threads) await threads.go();
  else
    await inTurns(args.count, args.rate, (from, to) => {
      for (let i = from; i < to; i++) nc.info(texts[i % texts.length]);
    });
  await nc.flush();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const result: SenderResult = {
    seconds,
    cpuUs: cpu.user + cpu.system,
    stats: nc.stats() as unknown as SenderResult['stats'],
  };
  print(result);
  await Promise.race([nc.close(), new Promise((r) => setTimeout(r, 3000))]);
}

try {
  await main(JSON.parse(process.argv[2]) as SenderArgs);
  process.exit(0);
} catch (err) {
  print({ error: (err as Error).stack ?? String(err) });
  process.exit(1);
}
