// Child process for test/devices-churn.test.ts, run INSIDE a network namespace in which the test
// creates and deletes veth pairs in a loop:
//
//   ip netns exec <ns> node dist/test/workers/churn-probe.js <poll|rtnetlink> <durationMs> <port> [targets JSON]
//
// For durationMs it goes round: Netconsole.create() (devices as given, pollIntervalMs 10, a target
// on lo sending to a socket of this process on <port>, and the targets of the JSON array, all
// enabled at creation), a few disable / enable / log rounds of every target, flush, close. Beside
// it, BACKGROUND Netconsoles without targets stay open the whole time: their device sources (polls
// every 10 ms, or rtnetlink) read the devices all along. No target is on a churning device, so
// every failure is one the churn caused: a device being deleted somewhere in the namespace must
// not disturb a target on another device, nor a device source.
//
// Its one stdout line, at the end (then exit 0):
//   {"summary":{cycles, enables, received (datagrams on lo), createRejections, enableRejections,
//                errorEvents, leaks, start, end}}
// where each *Rejections / errorEvents entry is {code, message, typed} (typed: a NetconsoleError),
// `leaks` lists the rejected creates after which the process had more threads or fds than before,
// and `start` / `end` are the process's threads and fds before the first and after the last cycle.
import { readdirSync } from 'node:fs';
import { Netconsole, NetconsoleError } from '../../src/index.js';
import { bindUdp, errInfo, fatalOnUncaught, out, portArg } from '../helpers/worker.js';

fatalOnUncaught();

interface Resources {
  threads: number;
  fds: number;
}

const BACKGROUND = 4;

const resources = (): Resources => ({
  threads: readdirSync('/proc/self/task').length,
  fds: readdirSync('/proc/self/fd').length,
});
const info = (err: unknown): { code: string; message: string; typed: boolean } => ({
  ...errInfo(err),
  typed: err instanceof NetconsoleError,
});

async function main(): Promise<void> {
  const devices = process.argv[2];
  if (devices !== 'poll' && devices !== 'rtnetlink')
    throw new Error('usage: churn-probe.js <poll|rtnetlink> <durationMs> <port> [targets JSON]');
  const durationMs = Number(process.argv[3]);
  const port = portArg(process.argv[4]);
  const more = JSON.parse(process.argv[5] ?? '[]') as Array<{ name: string }>;
  let received = 0;
  const sink = await bindUdp('udp4', '127.0.0.1', port, 1 << 20, () => received++);

  const createRejections: ReturnType<typeof info>[] = [];
  const enableRejections: ReturnType<typeof info>[] = [];
  const errorEvents: ReturnType<typeof info>[] = [];
  const leaks: Array<{ before: Resources; after: Resources; error: ReturnType<typeof info> }> = [];
  const targets = [{ name: 'lo', dev_name: 'lo', remote_ip: '127.0.0.1', remote_port: port, enabled: true }, ...more];

  // One cycle first, outside the count: libuv's thread pool and the addon load once per process.
  // `targets: []`: none on purpose (targets come later), so no NETCONSOLE_NO_TARGETS warning,
  // whose first write to a piped stderr opens libuv's one reserve fd (/dev/null) mid-count.
  await (await Netconsole.create({ devices, env: false, targets: [] })).close();
  const start = resources();
  const background: Netconsole[] = [];
  for (let i = 0; i < BACKGROUND; i++) {
    const nc = await Netconsole.create({ devices, pollIntervalMs: 10, env: false, targets: [] });
    nc.events.on('error', (err: unknown) => errorEvents.push(info(err)));
    background.push(nc);
  }
  const end = Date.now() + durationMs;
  let cycles = 0;
  let enables = 0;
  while (Date.now() < end) {
    cycles++;
    const before = resources();
    let nc: Netconsole;
    try {
      nc = await Netconsole.create({ devices, pollIntervalMs: 10, env: false, targets });
    } catch (err) {
      createRejections.push(info(err));
      const after = resources();
      if (after.threads > before.threads || after.fds > before.fds) leaks.push({ before, after, error: info(err) });
      continue;
    }
    nc.events.on('error', (err: unknown) => errorEvents.push(info(err)));
    for (let k = 0; k < 4; k++) {
      for (const t of nc.targets.list()) {
        try {
          if (t.state === 'enabled') await t.disable();
          await t.enable();
          enables++;
        } catch (err) {
          enableRejections.push({ ...info(err), message: `${t.name}: ${info(err).message}` });
        }
      }
      nc.info(`cycle ${cycles} round ${k}`);
      // Let the poller's timer and rtnetlink's notifications in between.
      await new Promise((r) => setImmediate(r));
    }
    await nc.flush();
    await nc.close();
  }
  for (const nc of background) await nc.close();
  const after = resources();
  // Datagrams still in flight to the sink.
  await new Promise((r) => setTimeout(r, 50));
  sink.close();
  out({
    summary: { cycles, enables, received, createRejections, enableRejections, errorEvents, leaks, start, end: after },
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    out({ fatal: errInfo(err) });
    process.exit(1);
  },
);
