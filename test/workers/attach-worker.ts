// Worker for test/attach.test.ts: attaches to the Netconsole of the handle in workerData as the
// test asks, one message a command, one reply each ({error} for a thrown error):
//   attach [handle]   one more logger (of workerData's handle, or this one), kept
//   detach            detaches the oldest kept logger
//   log <text>        every kept logger logs it; the targets each was offered to
//   cycles <n>        n attach/detach cycles (each logs once), with what they left behind
//   drop              forgets the kept loggers without detaching, and collects them
//   exit              process.exit(0): the thread ends, loggers still attached
import { parentPort, workerData } from 'node:worker_threads';
import { NetconsoleError } from '../../src/base/errors.js';
import { attach, type NetconsoleHandle, type WorkerLogger } from '../../src/host/netconsole.js';
import { gcFunction, processListeners } from '../helpers/gc.js';

export interface Command {
  op: 'attach' | 'detach' | 'log' | 'cycles' | 'drop' | 'exit';
  text?: string;
  n?: number;
  handle?: unknown;
}

/** A thrown error as it crosses back: `typed` when it is a NetconsoleError. */
export interface ErrorReply {
  name: string;
  code: unknown;
  option: unknown;
  message: string;
  typed: boolean;
}

const { handle } = workerData as { handle: NetconsoleHandle };
const gc = gcFunction();
let kept: WorkerLogger[] = [];

/** Heap in use after a full collection (bytes). */
function heap(): number {
  gc?.();
  return process.memoryUsage().heapUsed;
}

function cycles(n: number): Record<string, unknown> {
  const before = { listeners: processListeners(), heap: heap() };
  let offered = 0;
  for (let i = 0; i < n; i++) {
    const log = attach(handle);
    offered += log.info(`cycle ${i}`);
    log.detach();
  }
  return { offered, listeners: [before.listeners, processListeners()], heap: [before.heap, heap()] };
}

async function run(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'attach':
      kept.push(attach('handle' in cmd ? (cmd.handle as NetconsoleHandle) : handle));
      return { kept: kept.length, listeners: processListeners() };
    case 'detach':
      kept.shift()?.detach();
      return { kept: kept.length, listeners: processListeners() };
    case 'log':
      return kept.map((l) => l.info(cmd.text ?? ''));
    case 'cycles':
      return cycles(cmd.n ?? 1);
    case 'drop': {
      if (gc === null) throw new Error('no gc() in this worker');
      kept = [];
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 10)); // FinalizationRegistry callbacks run in a later task
      }
      return { kept: 0 };
    }
    case 'exit':
      process.exit(0);
  }
}

parentPort!.on('message', (cmd: Command) => {
  run(cmd).then(
    (result) => parentPort!.postMessage({ result }),
    (err: unknown) => {
      const e = err as { code?: unknown; option?: unknown; message?: string; constructor?: { name?: string } } | null;
      const error: ErrorReply = {
        name: e?.constructor?.name ?? typeof err,
        code: e?.code,
        option: e?.option,
        message: e?.message ?? String(err),
        typed: err instanceof NetconsoleError,
      };
      parentPort!.postMessage({ error });
    },
  );
});
