// The real-device scenarios of devices-netns.test.ts (rename, down/up, carrier, delete and
// re-create by name and by MAC, failed resume, enslave to a bridge), with the Netconsole in the
// namespace taking its device events and look-ups from rtnetlink (the native addon) instead of
// polling /sys/class/net. Skipped, with the reason, where the addon is not built.
import { test } from 'node:test';
import { rtnetlinkAvailable } from '../src/netdev/rtnetlink.js';

if (rtnetlinkAvailable()) {
  process.env.NC_DEVICES = 'rtnetlink';
  await import('./devices-netns.test.js');
} else {
  test('device events from rtnetlink', (t) => t.skip('the native addon (rtnetlink) is not available'));
}
