// Run with NETCONSOLE_NO_NATIVE=1: a Netconsole with default options must work without the addon.
import { Netconsole } from '../../src/host/netconsole.js';
import { native, nativeError } from '../../src/core/native.js';

const nc = await Netconsole.create({ env: false, targets: `+@/,${process.argv[2]}@127.0.0.1/` });
for (let i = 0; i < 100; i++) nc.info(`fallback ${i}`);
await nc.flush();
const poller = (nc as unknown as { poller: object | null }).poller;
console.log(
  JSON.stringify({
    native: native !== null,
    why: nativeError?.message,
    sender: nc.stats().sender,
    devices: poller?.constructor.name,
    state: nc.targets.get('cmdline0')?.state,
  }),
);
await nc.close();
// Options that need the addon are refused before anything is created (no thread, no memory); a
// bad value of any option is refused as such first (the same EINVAL or ERANGE on any machine).
const refused: string[] = [];
for (const o of [
  { sender: 'native' },
  { mode: 'raw' },
  { devices: 'rtnetlink' },
  { sender: 'native', facility: 99 },
] as const) {
  await Netconsole.create({ env: false, devices: 'none', ...o }).then(
    () => refused.push('accepted'),
    (e: { code: string; option: string }) => refused.push(`${e.code} ${e.option}`),
  );
}
console.log(JSON.stringify({ refused }));
