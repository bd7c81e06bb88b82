// Child process for test/rtnetlink.test.ts: lifetime of the native NetlinkWatcher and of
// RtnetlinkSource. `node dist/test/workers/rtnetlink-life.js <mode>`; prints one JSON line a step.
//   source        start a source and do nothing else: must exit on its own (unref'd)
//   ref           start a source and ref() it: must stay alive (the parent kills it)
//   watcher       a raw NetlinkWatcher left open: must exit on its own
//   worker        a worker thread starts a source and a watcher, leaves them open and ends: the
//                 worker's environment teardown must close them (no abort on open handles)
//   throw         the watcher's callback throws: reported as an uncaught exception
//   close-inside  the callback closes the watcher: no callback after that
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { native } from '../../src/core/native.js';
import { RTM_GETADDR, RTM_GETLINK, RTNETLINK_GROUPS } from '../../src/netdev/rtnetlink-messages.js';
import { RtnetlinkSource } from '../../src/netdev/rtnetlink.js';

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const Watcher = native?.NetlinkWatcher;
if (Watcher === undefined) throw new Error('no native NetlinkWatcher');

if (!isMainThread) {
  const source = new RtnetlinkSource().start();
  const w = new Watcher(RTNETLINK_GROUPS, () => {});
  w.request(RTM_GETLINK, 0);
  parentPort!.postMessage({
    started: true,
    devices: source.snapshot().size,
    port: w.portId,
    mode: workerData as string,
  });
} else {
  const mode = process.argv[2];
  switch (mode) {
    case 'source': {
      const s = new RtnetlinkSource().start();
      out({ started: true, devices: s.snapshot().size });
      break;
    }
    case 'ref': {
      new RtnetlinkSource().start().ref();
      out({ started: true });
      break;
    }
    case 'watcher': {
      const w = new Watcher(RTNETLINK_GROUPS, () => {});
      w.request(RTM_GETLINK, 0);
      out({ started: true, port: w.portId });
      break;
    }
    case 'worker': {
      const worker = new Worker(new URL(import.meta.url), { workerData: 'in-worker' });
      worker.on('message', (m) => out({ fromWorker: m }));
      worker.on('error', (e) => out({ workerError: e.message }));
      worker.on('exit', (code) => out({ workerExit: code }));
      break;
    }
    case 'throw': {
      process.on('uncaughtException', (err) => {
        out({ uncaught: err.message });
        process.exit(0);
      });
      const w = new Watcher(RTNETLINK_GROUPS, () => {
        throw new Error('boom from onMessages');
      });
      w.ref();
      w.request(RTM_GETLINK, 0);
      out({ started: true });
      break;
    }
    case 'close-inside': {
      let calls = 0;
      const w = new Watcher(RTNETLINK_GROUPS, () => {
        calls++;
        w.close();
      });
      // Two dumps queued: several recv() buffers are waiting when the first callback runs.
      w.request(RTM_GETLINK, 0);
      w.request(RTM_GETADDR, 0);
      setTimeout(() => {
        let threw = false;
        try {
          w.request(RTM_GETLINK, 0);
        } catch {
          threw = true;
        }
        w.close(); // idempotent
        out({ calls, closed: w.closed, requestAfterCloseThrew: threw });
      }, 200);
      break;
    }
    default:
      throw new Error(`unknown mode ${String(mode)}`);
  }
}
