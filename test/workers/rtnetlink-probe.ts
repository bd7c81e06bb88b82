// Child process for test/rtnetlink.test.ts, run inside a network namespace (`ip netns exec <ns>
// node dist/test/workers/rtnetlink-probe.js [rcvbufBytes]`): an rtnetlink socket sees the
// namespace of the process that opens it.
//
// stdout, one JSON object a line (`t` is Date.now() when it happened here):
//   {"ready":true,"devices":[...]}            once the source has its initial table
//   {"event":NetdevEvent,"t":ms}               each 'event' of the RtnetlinkSource
//   {"address":AddressEvent,"t":ms}            each 'address'
//   {"overrun":true,"t":ms} / {"resync":true,"t":ms}
//   {"reply":"<command line>","result":...} or {"reply":...,"error":"..."} for each command
// stdin, one command a line:
//   snapshot | list | device <name> | mac <mac> | index <n> | source <dev> <4|6> [remote] |
//   sysfs-device <name> | sysfs-source <dev> <4|6> [remote] | neighbors | stop | start |
//   block <ms> (the event loop sleeps: notifications pile up in the socket) | overruns
// Exits when stdin closes.
import { createInterface } from 'node:readline';
import { RtnetlinkSource, neighbors, rtnetlinkLookup } from '../../src/netdev/rtnetlink.js';
import { getDevice as sysfsGetDevice, sourceAddress as sysfsSourceAddress } from '../../src/netdev/sysfs.js';

const rcvbufBytes = process.argv[2] ? Number(process.argv[2]) : undefined;

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const source = new RtnetlinkSource({ rcvbufBytes });
source.on('event', (event) => out({ event, t: Date.now() }));
source.on('address', (address) => out({ address, t: Date.now() }));
source.on('overrun', () => out({ overrun: true, t: Date.now() }));
source.on('resync', () => out({ resync: true, t: Date.now() }));
source.on('error', (err) => out({ sourceError: err.message }));
source.start();
out({ ready: true, devices: [...source.snapshot().values()] });

function execute(line: string): unknown {
  const [cmd, ...args] = line.trim().split(/\s+/);
  switch (cmd) {
    case 'snapshot':
      return [...source.snapshot().values()];
    case 'list':
      return rtnetlinkLookup.listDevices();
    case 'device':
      return rtnetlinkLookup.getDevice(args[0] ?? '');
    case 'mac':
      return rtnetlinkLookup.deviceByMac(args[0] ?? '');
    case 'index':
      return rtnetlinkLookup.deviceByIfindex(Number(args[0]));
    case 'source':
      return rtnetlinkLookup.sourceAddress(args[0] ?? '', Number(args[1]) === 6 ? 6 : 4, args[2]);
    case 'sysfs-device':
      return sysfsGetDevice(args[0] ?? '');
    case 'sysfs-source':
      return sysfsSourceAddress(args[0] ?? '', Number(args[1]) === 6 ? 6 : 4, args[2]);
    case 'neighbors':
      return neighbors();
    case 'stop':
      source.stop();
      return source.running;
    case 'start':
      source.start();
      return source.running;
    case 'block':
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(args[0]));
      return true;
    case 'overruns':
      return source.overruns;
    default:
      throw new Error(`unknown command ${JSON.stringify(cmd)}`);
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  try {
    out({ reply: line, result: execute(line) });
  } catch (err) {
    out({ reply: line, error: err instanceof Error ? err.message : String(err) });
  }
});
rl.on('close', () => {
  source.stop();
  process.exit(0);
});
