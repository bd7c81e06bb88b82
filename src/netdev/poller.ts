// Device events by polling /sys/class/net (through listDevices) and diffing snapshots keyed by
// ifindex: the fallback source of NetdevEvents when the native addon's rtnetlink watcher is not
// available (fs.watch on sysfs gives no events; os.networkInterfaces misses devices without
// addresses).
//
// What polling cannot see (also exported as POLLING_LIMITS):
// * Only the state at each poll is known. A change that reverts between two polls is invisible:
//   down then up again, a carrier blip, a rename and back, enslave then release, a device added and
//   deleted again (unless a target was set up on it meanwhile: below). Several changes of one device
//   in one interval collapse into its net change.
// * The order of events inside one interval is not the order they happened in. Within one poll the
//   events come out as: unregister (by ifindex), then for each remaining device rename, release,
//   enslave, down / up, then register (followed by enslave / up when the new device is already
//   enslaved / running).
// * Latency is up to one interval (plus the time to read sysfs).
// * A device created and deleted between two polls is seen only when a look-up found it meanwhile
//   (observe(): a target was set up on it): then that poll reports it registered, then what changed
//   since (its unregister), ahead of the other events of the poll. Without that, a target bound to
//   it would stay enabled on a device that is gone.
// * A device deleted and re-created between polls gets a new ifindex, so it shows as unregister +
//   register (which is what target handling wants); a re-created device that reuses the old
//   ifindex (only possible when asked for explicitly) shows as the net change of one device.
// * The MAC address, MTU and addresses can change without any event: they are only visible in the
//   snapshot. IPv4 addresses of a device that is not running are not visible at all (sysfs.ts).
// * Only the network namespace of this process is seen.
import { EventEmitter } from 'node:events';
import { asNetconsoleError, outOfRange } from '../base/errors.js';
import { listDevices } from './sysfs.js';
import type { DeviceInfo, DeviceLookup, NetdevEvent } from './types.js';
import { diffSnapshots } from './diff.js';

export const POLLING_LIMITS =
  'Device events from polling /sys/class/net only compare the state at one poll with the state at ' +
  'the previous one, so: a change that reverts between two polls is not seen at all (down then up, ' +
  'a carrier blip, a rename and back, enslave then release, a device created and deleted again unless ' +
  'a target was set up on it meanwhile); ' +
  'several changes of one device in one interval collapse into its net change; the order of events ' +
  'within one interval is not the order in which they happened (each poll reports unregisters first, ' +
  'then renames, releases, enslaves, downs and ups, then registers, except that a device a target was ' +
  'set up on since the last poll comes first); an event is reported up to one ' +
  'polling interval late; a device deleted and re-created between two polls gets a new ifindex and ' +
  'shows as unregister followed by register; changes of MAC address, MTU or addresses raise no event; ' +
  'IPv4 addresses of a device that is not running are not visible; and only the network namespace of ' +
  'the process is seen. Use the native rtnetlink watcher when these matter.';

export interface SysfsPollerOptions {
  /** Milliseconds between polls; default 500. */
  intervalMs?: number;
}

function toMap(list: DeviceInfo[]): Map<number, DeviceInfo> {
  return new Map(list.map((d) => [d.ifindex, d]));
}

export interface SysfsPollerEvents {
  event: [NetdevEvent];
  error: [Error];
}

/**
 * Polls the devices every `intervalMs` and emits 'event' with a NetdevEvent for each difference
 * from the previous poll. start() takes the first snapshot synchronously (no events for the devices
 * already there). The timer is unref()ed: it never keeps the process alive. A failed poll emits
 * 'error' when someone listens for it, and is otherwise ignored (the next poll tries again).
 * After stop() and start() again, the first poll reports what changed while stopped, collapsed.
 */
export class SysfsPoller extends EventEmitter<SysfsPollerEvents> {
  readonly intervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private current: Map<number, DeviceInfo> | null = null;
  /** Devices a look-up found since the last poll that the snapshot does not have, by ifindex. */
  private observed = new Map<number, DeviceInfo>();

  constructor(opts: SysfsPollerOptions = {}) {
    super();
    const ms = opts.intervalMs ?? 500;
    if (!Number.isFinite(ms) || ms <= 0) throw outOfRange('pollIntervalMs', ms, 'a positive number of milliseconds');
    this.intervalMs = ms;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  start(): this {
    if (this.timer !== null) return this;
    if (this.current === null) this.current = toMap(listDevices());
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): this {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    return this;
  }

  /** A copy of the latest snapshot, by ifindex (taken now when there is none yet). */
  snapshot(): Map<number, DeviceInfo> {
    if (this.current === null) this.current = toMap(listDevices());
    return new Map(this.current);
  }

  /**
   * Poll now: read the devices, emit the events of the difference and return them. Throws when
   * the devices cannot be read (the timer's polls emit 'error' instead).
   */
  poll(): NetdevEvent[] {
    const events = this.collect();
    for (const e of events) this.emit('event', e);
    return events;
  }

  /**
   * A device a look-up found now. When the snapshot does not have it (it appeared since the last
   * poll), the next poll reports it registered and then what changed since, its deletion included.
   */
  observe(dev: DeviceInfo): void {
    if (this.current !== null && !this.current.has(dev.ifindex)) this.observed.set(dev.ifindex, dev);
  }

  /** `lookup` (the sysfs look-ups) with every device it finds by name or MAC observed. */
  observing(lookup: DeviceLookup): DeviceLookup {
    const seen = (d: DeviceInfo | null): DeviceInfo | null => {
      if (d !== null) this.observe(d);
      return d;
    };
    return {
      ...lookup,
      getDevice: (name) => seen(lookup.getDevice(name)),
      deviceByMac: (mac) => seen(lookup.deviceByMac(mac)),
    };
  }

  /** Read the devices, replace the snapshot, and return the events of the difference. */
  private collect(): NetdevEvent[] {
    const next = toMap(listDevices());
    const prev = this.current;
    this.current = next;
    if (prev === null) return [];
    const observed = this.observed;
    if (observed.size === 0) return diffSnapshots(prev, next);
    this.observed = new Map();
    // As if a poll had run when each was looked up: prev -> prev with them -> next.
    const mid = new Map(prev);
    for (const [i, d] of observed) if (!mid.has(i)) mid.set(i, d);
    return [...diffSnapshots(prev, mid), ...diffSnapshots(mid, next)];
  }

  private tick(): void {
    let events: NetdevEvent[];
    try {
      events = this.collect();
    } catch (err) {
      if (this.listenerCount('error') > 0) this.emit('error', asNetconsoleError(err, 'reading /sys/class/net'));
      return;
    }
    // Outside the try: a throwing listener is the listener's bug, reported as such.
    for (const e of events) this.emit('event', e);
  }
}
