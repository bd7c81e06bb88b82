// Child process for test/signals.test.ts: logs a burst of 100-byte numbered records
// (`rec 000123 xxx...`) as fast as the ring takes them and writes on stdout, synchronously, how
// many it has logged so far; the test sends a signal mid-burst and counts what arrived.
//   style 'chunks': CHUNK records per turn of the event loop, as a service logs; a signal's
//     listener runs between chunks, so the last count on stdout is what was logged before the end.
//   style 'loop': one synchronous loop (a count every CHUNK records); a listener runs after it.
// handler: 'none'; 'exit' (SIGTERM, SIGINT and SIGHUP call process.exit(7)); 'once' (a listener
// that does not exit: at the first signal it removes itself and writes `handled <sig>`);
// 'signal-exit' (a listener that, like the signal-exit package, acts only when it is alone, and
// publishes its count as signal-exit does). After the burst it stays alive until a signal ends it.
// Args: one JSON object, Config below.
import { writeSync } from 'node:fs';
import { Netconsole, type NetconsoleOptions } from '../../src/index.js';

interface Config {
  port: number;
  address?: string;
  sender: 'native' | 'dgram';
  handler: 'none' | 'exit' | 'once' | 'signal-exit';
  total: number;
  style: 'chunks' | 'loop';
  /** Netconsoles to the same target; record i goes through number i % instances. */
  instances?: number;
  options?: NetconsoleOptions;
}

const CHUNK = 1000;
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
const c = JSON.parse(process.argv[2]!) as Config;
const ncs: Netconsole[] = [];
for (let k = 0; k < (c.instances ?? 1); k++) {
  ncs.push(
    await Netconsole.create({
      devices: 'none',
      env: false,
      sender: c.sender,
      targets: `@/,${c.port}@${c.address ?? '127.0.0.1'}/`,
      ...c.options,
    }),
  );
}

if (c.handler === 'exit') for (const sig of SIGNALS) process.on(sig, () => process.exit(7));
if (c.handler === 'once') {
  for (const sig of SIGNALS) {
    const once = (): void => {
      for (const s of SIGNALS) process.off(s, once);
      writeSync(1, `handled ${sig}\n`);
    };
    process.on(sig, once);
  }
}
if (c.handler === 'signal-exit') {
  // What signal-exit v4 does (tapjs/signal-exit src/index.ts): a global emitter counts its loaded
  // copies; a copy's listener acts only when the signal's listeners are exactly that many.
  const emitter = { count: 1 };
  Object.defineProperty(globalThis, Symbol.for('signal-exit emitter'), { value: emitter });
  const listeners = new Map<string, () => void>();
  for (const sig of SIGNALS) {
    listeners.set(sig, () => {
      if (process.listeners(sig).length !== emitter.count) return;
      for (const [s, l] of listeners) process.off(s, l);
      writeSync(1, `signal-exit ${sig}\n`);
      process.kill(process.pid, sig);
    });
    process.on(sig, listeners.get(sig)!);
  }
}

const pad = 'x'.repeat(100 - 'rec 000000 '.length);
const log = (i: number): number => ncs[i % ncs.length]!.info(`rec ${String(i).padStart(6, '0')} ${pad}`);
setInterval(() => {}, 1 << 30); // alive after the burst, until a signal ends it
let i = 0;
if (c.style === 'loop') {
  while (i < c.total) {
    log(i++);
    if (i % CHUNK === 0 || i === c.total) writeSync(1, `${i}\n`);
  }
} else {
  const chunk = (): void => {
    for (const end = Math.min(i + CHUNK, c.total); i < end;) log(i++);
    writeSync(1, `${i}\n`);
    if (i < c.total) setImmediate(chunk);
  };
  chunk();
}
