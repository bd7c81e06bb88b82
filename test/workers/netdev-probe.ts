// Child process for test/netdev.test.ts, run inside a network namespace (`ip netns exec <ns> node
// dist/test/workers/netdev-probe.js [intervalMs]`): /sys/class/net shows the namespace of the
// process that reads it, so the reading must happen in there.
//
// stdout, one JSON object a line:
//   {"ready":true,"devices":[...]}      once the poller has its first snapshot
//   {"event":NetdevEvent}                each event of the SysfsPoller
//   {"reply":"<command line>","result":...} or {"reply":...,"error":"..."} for each command
// stdin, one command a line:
//   snapshot | poller-snapshot | device <name> | mac <mac> | index <n> | route <ip> |
//   source <dev> <4|6> [remote]
// Exits when stdin closes.
import { createInterface } from 'node:readline';
import { SysfsPoller } from '../../src/netdev/poller.js';
import {
  deviceByIfindex,
  deviceByMac,
  getDevice,
  listDevices,
  routeDevice,
  sourceAddress,
} from '../../src/netdev/sysfs.js';

const intervalMs = Number(process.argv[2] ?? 50);

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const poller = new SysfsPoller({ intervalMs });
poller.on('event', (event) => out({ event }));
poller.on('error', (err) => out({ pollError: err.message }));
poller.start();
out({ ready: true, devices: [...poller.snapshot().values()] });

function execute(line: string): unknown {
  const [cmd, ...args] = line.trim().split(/\s+/);
  switch (cmd) {
    case 'snapshot':
      return listDevices();
    case 'poller-snapshot':
      return [...poller.snapshot().values()];
    case 'device':
      return getDevice(args[0] ?? '');
    case 'mac':
      return deviceByMac(args[0] ?? '');
    case 'index':
      return deviceByIfindex(Number(args[0]));
    case 'route':
      return routeDevice(args[0] ?? '');
    case 'source':
      return sourceAddress(args[0] ?? '', Number(args[1]) === 6 ? 6 : 4, args[2]);
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
  poller.stop();
  process.exit(0);
});
