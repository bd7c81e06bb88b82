// The device events that turn one snapshot of the devices (by ifindex) into the next: what the
// sysfs poller reports between two polls, and the rtnetlink source for one device's change or
// after an overrun. Order: unregister (by ifindex), then for each remaining device rename,
// release, enslave, down / up, then register (followed by enslave / up when the new device is
// already enslaved / running).
import type { DeviceInfo, NetdevEvent } from './types.js';

/** The events that turn snapshot `prev` into snapshot `next`, in the order above. */
export function diffSnapshots(prev: Map<number, DeviceInfo>, next: Map<number, DeviceInfo>): NetdevEvent[] {
  const events: NetdevEvent[] = [];
  const byIndex = (a: number, b: number): number => a - b;
  const ev = (type: NetdevEvent['type'], d: DeviceInfo, extra: Partial<NetdevEvent> = {}): NetdevEvent => ({
    type,
    name: d.name,
    ifindex: d.ifindex,
    ...(d.mac ? { mac: d.mac } : {}),
    ...extra,
  });

  for (const i of [...prev.keys()].sort(byIndex)) {
    if (!next.has(i)) events.push(ev('unregister', prev.get(i)!));
  }
  for (const i of [...next.keys()].sort(byIndex)) {
    const before = prev.get(i);
    const now = next.get(i)!;
    if (before === undefined) continue;
    if (before.name !== now.name) events.push(ev('rename', now, { oldName: before.name }));
    if (before.master !== now.master) {
      if (before.master !== null) events.push(ev('release', now));
      if (now.master !== null) events.push(ev('enslave', now, { master: now.master }));
    }
    if (before.running !== now.running) events.push(ev(now.running ? 'up' : 'down', now, { up: now.up }));
  }
  for (const i of [...next.keys()].sort(byIndex)) {
    if (prev.has(i)) continue;
    const now = next.get(i)!;
    events.push(ev('register', now));
    if (now.master !== null) events.push(ev('enslave', now, { master: now.master }));
    if (now.running) events.push(ev('up', now, { up: true }));
  }
  return events;
}
