// bench/e2e: one run of one subject, in a fresh process. argv[2] is the JSON of SenderArgs.
// Prints {"ready":true} once its logger is set up; on "go" (stdin) it makes `count` log calls in
// the load shape and prints {"sent":...} when its logger says everything was handed on; on "stop"
// (the bench saw the receiver settle) it prints the result: CPU time of the whole process (every
// thread: process.cpuUsage) from the first log call to the stop, peak RSS, the library's stats(),
// and the log calls' latency.
//
// (netconsole tune has its own sender, src/faces/tune/sender.ts: mixes, writer threads, the
// operator's targets.)
//
// Latency: every 8th log call is timed (two process.hrtime.bigint() calls, ~70 ns a pair here), so
// the timing adds about 9 ns per log call to every subject's rate; `timerFloorNs`, the median of
// an empty timed pair, is the floor under every latency figure. `max` is the largest timed call.
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import type { Netconsole, NetconsoleOptions } from '../../src/host/netconsole.js';
import { inTurns, percentile, procStatusKb, text as makeText, timerFloorNs } from '../harness.js';
import { command, print } from './stdio.js';

export interface SenderArgs {
  subject: string;
  size: number;
  count: number;
  /** 0: burst (1,000 log calls per event-loop turn); else messages per second, in 1 ms ticks. */
  rate: number;
  port: number;
  address: string;
  /** Over a veth pair: the sending device and the receiver's MAC (raw mode). */
  dev?: string;
  mac?: string;
  ncOptions: Record<string, unknown>;
  statsFile: string;
}

const args = JSON.parse(process.argv[2]) as SenderArgs;
const require = createRequire(import.meta.url);
const TIME_EVERY = 8; // every 8th log call is timed
/** The native sender's thread's name (native/drain.cc): its CPU is reported apart. */
const SENDER_THREAD = 'nc-sender';

interface Subject {
  log(text: string): void;
  /** Resolves when the logger has handed everything on (to the kernel, its worker, its socket). */
  done(): Promise<unknown>;
  /** The library's counters (null for peers). */
  stats(): unknown;
  close(): Promise<unknown>;
}

function until(pred: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => (pred() ? resolve() : void setTimeout(check, 2));
    check();
  });
}

// Each subject loads only what it uses, as an app would: the library by the package's name (its
// bundle, dist/lib/es/, what `import 'netconsole'` loads), pino and winston only for their
// subjects; so no process's memory or start holds a module its subject does not use. Names in
// variables, so that tsc does not look for the package's own types here.
const PKG = { main: 'netconsole', pino: 'netconsole/pino', winston: 'netconsole/winston' };
const library = (): Promise<typeof import('../../src/index.js')> => import(PKG.main);
const libraryPino = (): Promise<typeof import('../../src/faces/integrations/pino.js')> => import(PKG.pino);
const libraryWinston = (): Promise<typeof import('../../src/faces/integrations/winston.js')> => import(PKG.winston);
const loadPino = async (): Promise<typeof import('pino').default> => (await import('pino')).default;

async function netconsole(opts: NetconsoleOptions = {}): Promise<Netconsole> {
  const { Netconsole } = await library();
  const target = args.dev
    ? `+@/${args.dev},${args.port}@${args.address}/${args.mac ?? ''}`
    : `+@/,${args.port}@${args.address}/`;
  return Netconsole.create({ targets: target, env: false, devices: 'none', strict: true, ...opts, ...args.ncOptions });
}

function ncSubject(nc: Netconsole, log: (t: string) => void, handedOn = (): boolean => true): Subject {
  return { log, done: () => until(handedOn).then(() => nc.flush()), stats: () => nc.stats(), close: () => nc.close() };
}

/** pino over a transport of ours (bench/workers/), its worker up before the first log call. */
async function pinoTransport(file: string, options: Record<string, unknown>): Promise<Subject> {
  const pino = await loadPino();
  const transport = pino.transport({ target: new URL(file, import.meta.url).pathname, options });
  await once(transport, 'ready'); // its worker is up: the first log calls are not buffered behind its start
  const logger = pino(transport);
  return {
    log: (t) => logger.info(t),
    done: () => new Promise((r) => logger.flush(r)),
    stats: () => null,
    close: () => new Promise((r) => (transport.once('close', r), transport.end())),
  };
}

async function setup(): Promise<Subject> {
  const { subject, port, address } = args;
  switch (subject) {
    case 'netconsole-udp':
    case 'netconsole-dgram':
    case 'netconsole-raw': {
      const nc = await netconsole({
        sender: subject === 'netconsole-dgram' ? 'dgram' : 'native',
        mode: subject === 'netconsole-raw' ? 'raw' : 'udp',
      });
      return ncSubject(nc, (t) => nc.info(t));
    }
    case 'netconsole-udp-nogso': {
      // UDP mode without GSO runs (one datagram per mmsghdr, the fallback): GSO's gain, in the same run.
      const nc = await netconsole({ sender: 'native', nativeSender: { gso: false } });
      return ncSubject(nc, (t) => nc.info(t));
    }
    case 'netconsole-raw-sendmmsg': {
      // Raw mode without the TX ring (the fallback): the ring's gain, measured in the same run.
      const nc = await netconsole({ sender: 'native', mode: 'raw', nativeSender: { txRing: false } });
      return ncSubject(nc, (t) => nc.info(t));
    }
    case 'netconsole-pino': {
      const nc = await netconsole({ sender: 'native' });
      const [pino, { destination }] = await Promise.all([loadPino(), libraryPino()]);
      const logger = pino(destination(nc));
      return ncSubject(nc, (t) => logger.info(t));
    }
    case 'netconsole-winston': {
      const nc = await netconsole({ sender: 'native' });
      const [{ default: winston }, { NetconsoleTransport }] = await Promise.all([import('winston'), libraryWinston()]);
      const logger = winston.createLogger({ transports: [new NetconsoleTransport({ netconsole: nc })] });
      return ncSubject(
        nc,
        (t) => logger.info(t),
        () => nc.stats().records >= args.count,
      );
    }
    case 'netconsole-pino-transport':
      return pinoTransport('./nc-pino-transport.js', {
        targets: `+@/,${port}@${address}/`,
        env: false,
        devices: 'none',
        sender: 'native',
        ...args.ncOptions,
        statsFile: args.statsFile,
      });
    case 'pino-transport-discard':
      return pinoTransport('./discard-transport.js', { address, port });
    case 'pino-transport-dgram':
      return pinoTransport('./dgram-transport.js', { address, port });
    case 'dgram': {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.connect(port, address, r));
      let acked = 0;
      let errors = 0;
      const ack = (err: Error | null): void => void (err ? errors++ : acked++);
      return {
        log: (t) => s.send(t, ack),
        done: () => until(() => acked + errors >= args.count),
        stats: () => ({ sendErrors: errors }),
        close: () => new Promise<void>((r) => s.close(r)),
      };
    }
    case 'pino-socket': {
      const socketTransport = require('pino-socket') as (
        o: object,
      ) => Promise<NodeJS.WritableStream & { writableLength: number; destroy(): void }>;
      const stream = await socketTransport({ address, port, mode: 'udp' });
      const pino = await loadPino();
      let errors = 0;
      stream.on('error', () => errors++);
      const logger = pino(stream);
      return {
        log: (t) => logger.info(t),
        done: () => until(() => stream.writableLength === 0),
        stats: () => ({ streamErrors: errors }),
        close: async () => stream.destroy(),
      };
    }
    case 'pino-socket-transport': {
      // Its worker writes what it reads from pino's buffer, many lines at once, as one datagram.
      const pino = await loadPino();
      const transport = pino.transport({ target: 'pino-socket', options: { address, port, mode: 'udp' } });
      let errors = 0;
      let firstError = '';
      let closed = false;
      transport.on('error', (err: Error) => void (errors++ === 0 && (firstError = err.message)));
      transport.once('close', () => (closed = true));
      await once(transport, 'ready');
      const logger = pino(transport);
      return {
        log: (t) => logger.info(t),
        done: () => new Promise((r) => (closed ? r(null) : (transport.once('close', r), logger.flush(r)))),
        stats: () => ({ transportErrors: errors, transportError: firstError }),
        close: () => new Promise((r) => (closed ? r(null) : (transport.once('close', r), transport.end()))),
      };
    }
    case 'winston-udp': {
      // winston-udp is a winston 2 transport: it runs on the winston 2 it depends on. Its socket and
      // options are module globals; after a send error it sends nothing more (and calls no callback).
      const wreq = createRequire(require.resolve('winston-udp'));
      const winston2 = wreq('winston') as {
        Logger: new (o: object) => {
          info(m: string, cb: (err: unknown) => void): void;
          on(e: string, f: (err: unknown) => void): void;
        };
      };
      const { UDP } = wreq('winston-udp') as { UDP: new (o: object) => object };
      const logger = new winston2.Logger({ transports: [new UDP({ server: address, port })] });
      let acked = 0;
      let errors = 0;
      logger.on('error', () => errors++);
      const ack = (err: unknown): void => void (err ? errors++ : acked++);
      return {
        log: (t) => logger.info(t, ack),
        done: () => until(() => acked >= args.count || errors > 0),
        stats: () => ({ sendErrors: errors }),
        close: async () => undefined,
      };
    }
    default:
      throw new Error(`unknown subject ${subject}`);
  }
}

const text = makeText(args.size);

async function send(s: Subject, lat: Float64Array): Promise<number> {
  let k = 0;
  await inTurns(args.count, args.rate, (from, to) => {
    for (let i = from; i < to; i++) {
      if (i % TIME_EVERY === 0) {
        const t0 = process.hrtime.bigint();
        s.log(text);
        lat[k++] = Number(process.hrtime.bigint() - t0);
      } else {
        s.log(text);
      }
    }
  });
  return k;
}

/** CPU time (µs) of this process's threads that `pick` chooses by tid and name
 *  (/proc/self/task/<tid>/comm), from their schedstat (ns on the CPU, exact, where the stat file
 *  counts 10 ms ticks). */
function threadsCpuUs(pick: (tid: string, name: string) => boolean): number {
  let ns = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (!pick(tid, readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim())) continue;
      ns += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1000;
}
const senderCpu = (): number => threadsCpuUs((_, name) => name === SENDER_THREAD);
const mainCpu = (): number => threadsCpuUs((tid) => tid === String(process.pid));

/** Paced loads: the CPU this process spends on the pacing alone (the same ticks, no log call),
 *  the floor under every Node subject's CPU per message; null for bursts. */
async function pacingFloorUs(): Promise<number | null> {
  if (args.rate === 0) return null;
  const c0 = process.cpuUsage();
  await inTurns(args.count, args.rate, () => {});
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

try {
  const s = await setup();
  const floor = timerFloorNs();
  const pacingUs = await pacingFloorUs();
  print({ ready: true });
  if ((await command()) !== 'go') process.exit(1);
  const lat = new Float64Array(Math.ceil(args.count / TIME_EVERY));
  const cpu0 = process.cpuUsage();
  const [sender0, main0] = [senderCpu(), mainCpu()];
  const t0Ns = process.hrtime.bigint();
  const timedCalls = await send(s, lat);
  const callsEndNs = process.hrtime.bigint();
  await s.done();
  const handedOn = process.cpuUsage(cpu0);
  print({
    sent: args.count,
    t0Ns: String(t0Ns),
    callsEndNs: String(callsEndNs),
    doneNs: String(process.hrtime.bigint()),
    cpuUs: handedOn.user + handedOn.system,
  });
  if ((await command()) !== 'stop') process.exit(1);
  const cpu = process.cpuUsage(cpu0);
  const [senderUs, mainUs] = [senderCpu() - sender0, mainCpu() - main0];
  const sorted = lat.subarray(0, timedCalls).sort();
  let stats = s.stats();
  const maxRssKb = procStatusKb('VmHWM');
  await Promise.race([s.close(), new Promise((r) => setTimeout(r, 3000))]);
  if (args.subject === 'netconsole-pino-transport') {
    try {
      stats = JSON.parse(readFileSync(args.statsFile, 'utf8'));
      rmSync(args.statsFile);
    } catch {
      stats = null; // the transport's worker did not end cleanly
    }
  }
  print({
    cpuUs: cpu.user + cpu.system,
    senderCpuUs: args.subject.startsWith('netconsole') ? senderUs : null,
    mainCpuUs: mainUs,
    pacingCpuUs: pacingUs,
    maxRssKb,
    stats,
    latency: {
      timed: timedCalls,
      every: TIME_EVERY,
      timerFloorNs: floor,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: percentile(sorted, 100),
    },
  });
  process.exit(0);
} catch (err) {
  print({ error: (err as Error).stack ?? String(err) });
  process.exit(1);
}
