// bench/raw-throughput, inside the sending namespace: logs `count` records of `size` bytes to one
// target (mode 'raw' or 'udp') and prints the seconds from the first log call to the flush.
import { Netconsole } from '../../src/netconsole.js';

const [mode, dev, remoteIp, port, remoteMac, size, count] = process.argv.slice(2);
const nc = await Netconsole.create({
  devices: 'none',
  env: false,
  sender: 'native',
  mode: mode as 'raw' | 'udp',
  ringSize: 256 << 20,
  targets: [{ name: 't', dev_name: dev, remote_ip: remoteIp, remote_port: Number(port), remote_mac: remoteMac, local_port: 6665, timestamps: 0, enabled: 1 }],
});
const text = 'x'.repeat(Number(size) - 1);
const t0 = performance.now();
for (let i = 0; i < Number(count); i++) nc.info(text);
await nc.flush();
const seconds = (performance.now() - t0) / 1000;
const s = nc.stats().targets[0];
await nc.close();
console.log(JSON.stringify({ seconds, sent: s.datagrams, dropped: s.dropped, mode: s.mode }));
