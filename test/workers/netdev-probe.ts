// Child process for test/netdev.test.ts, run inside a network namespace (`ip netns exec <ns> node
// dist/test/workers/netdev-probe.js [intervalMs]`): /sys/class/net shows the namespace of the
// process that reads it, so the reading must happen in there.
//
// stdout, one JSON object a line:
//   {"ready":true,"devices":[...]}      once the poller has its first snapshot
//   {"event":NetdevEvent}                each event of the SysfsPoller
//   {"pollError":{code,message}}         a failed poll
//   {"reply":"<command line>","result":...} or {"reply":...,"error":{code,message}} for each command
//   {"fatal":{code,message}}             then exit 1
// stdin, one command a line, run one after the other (commandLoop of test/helpers/worker.ts):
//   snapshot (listDevices) | poller-snapshot | the look-ups of sysfs.ts (lookupCommands of
//   test/helpers/worker.ts): list | device <name> | mac <mac> | index <n> | route <ip> |
//   source <dev> <4|6> [remote]
// Exits when stdin closes.
import { SysfsPoller } from '../../src/netdev/poller.js';
import * as sysfs from '../../src/netdev/sysfs.js';
import { commandLoop, errInfo, fatalOnUncaught, lookupCommands, out, resultOf } from '../helpers/worker.js';

fatalOnUncaught();
const intervalMs = Number(process.argv[2] ?? 50);
const poller = new SysfsPoller({ intervalMs });
poller.on('event', (event) => out({ event }));
poller.on('error', (err) => out({ pollError: errInfo(err) }));
poller.start();
out({ ready: true, devices: [...poller.snapshot().values()] });

commandLoop(
  resultOf({
    ...lookupCommands(sysfs),
    snapshot: () => sysfs.listDevices(),
    'poller-snapshot': () => [...poller.snapshot().values()],
  }),
  () => {
    poller.stop();
    process.exit(0);
  },
);
