// bench/memory: one run of one subject, in a fresh process. argv[2] is the JSON of MemoryArgs.
// It imports only what its subject needs, when it sets it up (node: nothing), so that the peak
// RSS is the subject's and the `node` subject is this same process without any of it.
// Prints {"ready":...} with VmRSS and VmHWM once its logger is set up (before the first log
// call); on "go" (stdin) it makes `count` log calls, 1,000 per event-loop turn, and prints
// {"sent":...} when its logger says everything was handed on; on "stop" (the bench saw the
// receivers settle) it prints VmHWM and the library's stats().lost (the peers' error counts).
import { createRequire } from 'node:module';
import { inTurns, procStatusKb, text } from '../harness.js';
import { command, print } from './stdio.js';

export interface MemoryArgs {
  subject: string;
  size: number;
  count: number;
  /** One target (destination) per port, all on `address`. */
  ports: number[];
  address: string;
  ncOptions: Record<string, unknown>;
}

const args = JSON.parse(process.argv[2]) as MemoryArgs;

interface Subject {
  log(text: string): void;
  /** Resolves when the logger has handed everything on (to the kernel, to its sockets). */
  done(): Promise<unknown>;
  /** The library's stats().lost; the peers' error counts. */
  counters(): Record<string, number>;
}

function until(pred: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => (pred() ? resolve() : void setTimeout(check, 2));
    check();
  });
}

async function setup(): Promise<Subject> {
  const { subject, ports, address } = args;
  switch (subject) {
    case 'node':
      return { log: () => undefined, done: async () => undefined, counters: () => ({}) };
    case 'netconsole-udp':
    case 'netconsole-dgram': {
      // What an app's `import 'netconsole'` loads (the package's exports: dist/lib/es/, the bundle),
      // as the startup scenario does: the compiled modules one by one would take 10 MiB more.
      const name = 'netconsole';
      const { Netconsole } = (await import(name)) as typeof import('../../src/index.js');
      // Default options but the targets (strict: a target that does not come up fails the run) and
      // env (no NETCONSOLE from the environment); the default sender is the native one.
      const nc = await Netconsole.create({
        targets: ports.map((p) => `+@/,${p}@${address}/`).join(';'),
        env: false,
        strict: true,
        ...(subject === 'netconsole-dgram' ? { sender: 'dgram' as const } : {}),
        ...args.ncOptions,
      });
      return {
        log: (t) => nc.info(t),
        done: () => nc.flush(),
        counters: () => ({ libLost: nc.stats().lost, libRecords: nc.stats().records }),
      };
    }
    case 'dgram': {
      // Plain dgram.send, a socket connected to each target, a callback each (as the e2e peer).
      const { createSocket } = await import('node:dgram');
      const sockets = await Promise.all(
        ports.map(async (port) => {
          const s = createSocket('udp4');
          await new Promise<void>((r) => s.connect(port, address, r));
          return s;
        }),
      );
      let acked = 0;
      let errors = 0;
      const ack = (err: Error | null): void => void (err ? errors++ : acked++);
      return {
        log: (t) => {
          for (const s of sockets) s.send(t, ack);
        },
        done: () => until(() => acked + errors >= args.count * ports.length),
        counters: () => ({ sendErrors: errors }),
      };
    }
    case 'pino-socket': {
      const { default: pino } = await import('pino');
      const socketTransport = createRequire(import.meta.url)('pino-socket') as (
        o: object,
      ) => Promise<NodeJS.WritableStream & { writableLength: number }>;
      const streams = await Promise.all(ports.map((port) => socketTransport({ address, port, mode: 'udp' })));
      let errors = 0;
      for (const s of streams) s.on('error', () => errors++);
      const logger =
        streams.length === 1 ? pino(streams[0]) : pino({}, pino.multistream(streams.map((stream) => ({ stream }))));
      return {
        log: (t) => logger.info(t),
        done: () => until(() => streams.every((s) => s.writableLength === 0)),
        counters: () => ({ streamErrors: errors }),
      };
    }
    default:
      throw new Error(`unknown subject ${subject}`);
  }
}

try {
  const s = await setup();
  const message = text(args.size);
  print({ ready: true, setupRssKb: procStatusKb('VmRSS'), setupHwmKb: procStatusKb('VmHWM') });
  if ((await command()) !== 'go') process.exit(1);
  await inTurns(args.count, 0, (from, to) => {
    for (let i = from; i < to; i++) s.log(message);
  });
  await s.done();
  print({ sent: args.count });
  if ((await command()) !== 'stop') process.exit(1);
  print({ maxRssKb: procStatusKb('VmHWM'), ...s.counters() });
  process.exit(0);
} catch (err) {
  print({ error: (err as Error).stack ?? String(err) });
  process.exit(1);
}
