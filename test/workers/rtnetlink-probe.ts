// Child process for test/rtnetlink.test.ts, run inside a network namespace (`ip netns exec <ns>
// node dist/test/workers/rtnetlink-probe.js [rcvbufBytes]`): an rtnetlink socket sees the
// namespace of the process that opens it.
//
// stdout, one JSON object a line (`t` is Date.now() when it happened here):
//   {"ready":true,"devices":[...]}            once the source has its initial table
//   {"event":NetdevEvent,"t":ms}               each 'event' of the RtnetlinkSource
//   {"address":AddressEvent,"t":ms}            each 'address'
//   {"overrun":true,"t":ms} / {"resync":true,"t":ms}
//   {"sourceError":{code,message}}             an 'error' of the source
//   {"reply":"<command line>","result":...} or {"reply":...,"error":{code,message}} for each command
//   {"fatal":{code,message}}                   then exit 1
// stdin, one command a line, run one after the other (commandLoop of test/helpers/worker.ts):
//   snapshot (the source's table) | neighbors | stop | start | overruns |
//   block <ms> (the event loop sleeps: notifications pile up in the socket) |
//   the look-ups (lookupCommands of test/helpers/worker.ts) of rtnetlinkLookup: list |
//   device <name> | mac <mac> | index <n> | route <ip> | source <dev> <4|6> [remote];
//   and of sysfs.ts, the same prefixed `sysfs-` (sysfs-device <name>, sysfs-source ...)
// Exits when stdin closes.
import { RtnetlinkSource } from '../../src/netdev/rtnetlink.js';
import { neighbors, rtnetlinkLookup } from '../../src/netdev/rtnetlink-dump.js';
import * as sysfs from '../../src/netdev/sysfs.js';
import { commandLoop, errInfo, fatalOnUncaught, lookupCommands, out, resultOf } from '../helpers/worker.js';

fatalOnUncaught();
const rcvbufBytes = process.argv[2] ? Number(process.argv[2]) : undefined;
const source = new RtnetlinkSource({ rcvbufBytes });
source.on('event', (event) => out({ event, t: Date.now() }));
source.on('address', (address) => out({ address, t: Date.now() }));
source.on('overrun', () => out({ overrun: true, t: Date.now() }));
source.on('resync', () => out({ resync: true, t: Date.now() }));
source.on('error', (err) => out({ sourceError: errInfo(err) }));
source.start();
out({ ready: true, devices: [...source.snapshot().values()] });

commandLoop(
  resultOf({
    ...lookupCommands(rtnetlinkLookup),
    ...lookupCommands(sysfs, 'sysfs-'),
    snapshot: () => [...source.snapshot().values()],
    neighbors: () => neighbors(),
    stop: () => {
      source.stop();
      return source.running;
    },
    start: () => {
      source.start();
      return source.running;
    },
    // The event loop sleeps: notifications pile up in the socket.
    block: ([ms]) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(ms));
      return true;
    },
    overruns: () => source.overruns,
  }),
  () => {
    source.stop();
    process.exit(0);
  },
);
