// The real-device scenarios of devices-netns.test.ts (rename, down/up, carrier, delete and
// re-create by name and by MAC, failed resume, enslave to a bridge), with the Netconsole in the
// namespace taking its device events and look-ups from rtnetlink (the native addon) instead of
// polling /sys/class/net. Where the addon (with rtnetlink) is not built, one test stands for them
// and is skipped with the reason, or fails under CI=true (requireNative).
import { test } from 'node:test';
import { rtnetlinkAvailable } from '../src/netdev/rtnetlink-dump.js';
import { requireNative } from './helpers/requires.js';

if (rtnetlinkAvailable()) {
  process.env.NC_DEVICES = 'rtnetlink';
  await import('./devices-netns.test.js');
} else {
  test('device events from rtnetlink', (t) => void requireNative(t, 'netlink'));
}
