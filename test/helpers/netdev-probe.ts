// The probe of the device tests, inside a network namespace: test/workers/netdev-probe.ts (the
// sysfs poller, for test/netdev.test.ts) or test/workers/rtnetlink-probe.ts (the rtnetlink source,
// for test/rtnetlink.test.ts). Both print {ready, devices}, then {event, t?} lines as devices
// change ({overrun} and {resync} too for rtnetlink), and answer look-up commands with {result}.
import type { DeviceInfo, NetdevEvent } from '../../src/netdev/types.js';
import { JsonChild, type Line } from './json-child.js';
import type { NetnsHandle } from '../../harness/netns.js';

/** How long an expected event may take (the poller's interval is 50 ms). */
const EVENT_TIMEOUT_MS = 5000;

export interface Timed {
  event: NetdevEvent;
  /** Date.now() in the probe when it saw the event (rtnetlink-probe only). */
  t: number;
}

export const is =
  (type: NetdevEvent['type'], name: string) =>
  (e: NetdevEvent): boolean =>
    e.type === type && e.name === name;

export class NetdevProbe extends JsonChild {
  /** Every event, in order; not kept in `lines`. */
  readonly events: Timed[] = [];
  overruns = 0;
  resyncs = 0;
  /** The devices of the namespace when the probe started. */
  initial: DeviceInfo[] = [];

  /** Starts `script` (with `args`) in namespace `name` and waits for its first table. */
  static async start(ns: NetnsHandle, name: string, script: string, args: string[] = []): Promise<NetdevProbe> {
    const probe = new NetdevProbe('probe', ns.runNode(name, script, args));
    probe.initial = (await probe.ready()).devices as DeviceInfo[];
    return probe;
  }

  protected override take(l: Line): boolean {
    if ('event' in l) this.events.push({ event: l.event as NetdevEvent, t: l.t as number });
    else if ('overrun' in l) this.overruns++;
    else if ('resync' in l) this.resyncs++;
    else return false;
    return true;
  }

  override describe(): string {
    return `${super.describe()}; last events ${JSON.stringify(this.events.slice(-20))}`;
  }

  /** Runs one command line in the probe; its result (JSON round trip). An {error} reply throws. */
  async cmd<T>(line: string): Promise<T> {
    return (await this.ok(line)).result as T;
  }

  /** The index the next event will get: pass it to the event waits to look only at later events. */
  eventMark(): number {
    return this.events.length;
  }

  /** The events from index `m` on. */
  since(m: number): NetdevEvent[] {
    return this.events.slice(m).map((e) => e.event);
  }

  /** The first event at index >= since matching `pred`, with its time, waiting up to a few seconds. */
  async waitTimed(since: number, what: string, pred: (e: NetdevEvent) => boolean): Promise<Timed> {
    let found: Timed | undefined;
    await this.until(
      what,
      () => (found = this.events.slice(since).find((e) => pred(e.event))) !== undefined,
      EVENT_TIMEOUT_MS,
    );
    return found!;
  }

  /** The first event at index >= since matching `pred`. */
  async waitEvent(since: number, what: string, pred: (e: NetdevEvent) => boolean): Promise<NetdevEvent> {
    return (await this.waitTimed(since, what, pred)).event;
  }
}
