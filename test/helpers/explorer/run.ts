// One run of the schedule explorer: two targets on one (simulated) device, a few operations
// started at chosen microtask offsets, everything observed (calls, settlements, results, a log
// call at each settlement, markers to the receivers, the final state, the ports held), then
// checked against the kernel model (checker.ts) and the invariants:
//   no datagram of a target after a settlement from which on it is not enabled (until enabled
//   again); no port bound that no enabled target uses; every promise settles; the state the kernel
//   reaches for some order of the steps; no EIO from an internal check; the lock order kept.
//
// The device is simulated (a DeviceLookup the run changes, events injected with nc.deviceEvent):
// the targets still send for real, over loopback, to receivers of the test.
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Netconsole, NetconsoleError, type Target } from '../../../src/index.js';
import type { DeviceInfo } from '../../../src/netdev/types.js';
import type { DeviceLookup, TargetTable } from '../../../src/host/target-table.js';
import { freePort, Sink } from '../udp.js';
import { check, type FinalTarget, type ObservedEvent, type ObservedOp } from './checker.js';
import { changeWorld, DEVICE_OPS, NAMES, possible, type MState, type MWorld, type OpKind } from './model.js';

const MAC = '02:00:00:00:00:01';
const TARGETS = ['a', 'b'] as const;
/** Longest a run's operations may take to settle (a hang is a failure, not a timeout). */
const SETTLE_MS = 5000;

export interface PlannedOp {
  kind: OpKind;
  /** Microtasks after the run's first call (0: in the same tick, in list order). */
  at: number;
}

/** The device as the library's look-ups see it. */
class World implements DeviceLookup {
  w!: MWorld;
  reset(ifindex: number): void {
    this.w = { present: true, name: NAMES.first, mac: MAC, ifindex, running: true, enslaved: false };
  }
  private info(): DeviceInfo | null {
    const w = this.w;
    if (!w.present) return null;
    return {
      name: w.name,
      ifindex: w.ifindex,
      mac: w.mac,
      up: true,
      running: w.running,
      master: w.enslaved ? 'br0' : null,
      addresses: [{ family: 4, address: '127.0.0.1' }],
    };
  }
  getDevice(name: string): DeviceInfo | null {
    return this.w.present && this.w.name === name ? this.info() : null;
  }
  deviceByMac(mac: string): DeviceInfo | null {
    return this.w.present && this.w.mac === mac ? this.info() : null;
  }
  routeDevice(): { dev: string; gateway: string | null } | null {
    return this.w.present ? { dev: this.w.name, gateway: null } : null;
  }
  sourceAddress(): string {
    return '127.0.0.1';
  }
}

/** A UDP socket whose sends reach the kernel before send() returns (markers must be in order). */
function markerSocket(): Socket {
  return createSocket({
    type: 'udp4',
    lookup: ((a: string, f: unknown, cb: unknown) =>
      (typeof f === 'function' ? f : (cb as (...x: unknown[]) => void))(null, a, 4)) as never,
  });
}

/** Local UDP ports bound on 127.0.0.1 (from /proc/net/udp). */
function boundPorts(): Set<number> {
  const out = new Set<number>();
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const m = /^\s*\d+: 0100007F:([0-9A-F]{4}) /.exec(line);
    if (m) out.add(parseInt(m[1], 16));
  }
  return out;
}

export interface RunOptions {
  sender: 'native' | 'dgram';
  init: 'enabled' | 'deactivated';
  /** The target configuration ops act on: 'a' (bound by name) or 'b' (bound by MAC). */
  on: 'a' | 'b';
  ops: PlannedOp[];
}

/** A Netconsole with two receivers, reused across runs (a run with close() gets a fresh one). */
export class Bench {
  private nc: Netconsole | null = null;
  private readonly world = new World();
  private ifindex = 900;
  private runNo = 0;
  runs = 0;

  private constructor(
    readonly sender: 'native' | 'dgram',
    private readonly sinks: Record<'a' | 'b', Sink>,
    private readonly ports: Record<'a' | 'b', number>,
    private readonly marker: Socket,
  ) {}

  static async open(sender: 'native' | 'dgram'): Promise<Bench> {
    const sinks = { a: await Sink.open(), b: await Sink.open() };
    const marker = markerSocket();
    await new Promise<void>((r) => marker.bind(0, '127.0.0.1', r));
    return new Bench(sender, sinks, { a: await freePort(), b: await freePort() }, marker);
  }

  async close(): Promise<void> {
    await this.nc?.close();
    this.marker.close();
    await this.sinks.a.close();
    await this.sinks.b.close();
  }

  private async netconsole(): Promise<Netconsole> {
    if (this.nc) return this.nc;
    this.nc = await Netconsole.create({ devices: 'none', env: false, sender: this.sender, lookup: this.world });
    return this.nc;
  }

  private mark(text: string): void {
    for (const t of TARGETS) this.marker.send(text, this.sinks[t].port, '127.0.0.1');
  }

  /** Runs the plan; returns null when every check passed, else why not (with the plan and what happened). */
  async run(opts: RunOptions): Promise<string | null> {
    const n = ++this.runNo;
    this.runs++;
    this.world.reset(++this.ifindex);
    const nc = await this.netconsole();
    const table = (nc as unknown as { table: TargetTable }).table; // the MAC-bound target: only a parameter string makes one otherwise
    const base = { remote_ip: '127.0.0.1', local_ip: '127.0.0.1', extended: 1 };
    await table.create('a', {
      ...base,
      dev_name: NAMES.first,
      remote_port: this.sinks.a.port,
      local_port: this.ports.a,
      enabled: 1,
    });
    await table.create('b', { ...base, remote_port: this.sinks.b.port, local_port: this.ports.b, enabled: 1 }, MAC);
    const initial: MState = {
      world: { ...this.world.w },
      targets: [
        {
          name: 'a',
          exists: true,
          state: 'enabled',
          devName: NAMES.first,
          bindMac: null,
          bound: this.world.w.ifindex,
          up: true,
        },
        { name: 'b', exists: true, state: 'enabled', devName: '', bindMac: MAC, bound: this.world.w.ifindex, up: true },
      ],
      closing: false,
    };
    if (opts.init === 'deactivated') {
      changeWorld(this.world.w, 'unregister', 0);
      await nc.deviceEvent({ type: 'unregister', name: this.world.w.name, ifindex: this.world.w.ifindex, mac: MAC });
      initial.world.present = false;
      for (const t of initial.targets) ((t.state = 'deactivated'), (t.bound = null));
    }
    const handles = { a: nc.targets.get('a')!, b: nc.targets.get('b')! }; // kept: a removed target's handle still answers
    this.mark(`B${n}`);
    for (let i = 0; i < 20; i++) nc.info(`burst ${n} ${i}`); // in flight while the operations run

    // The operations, each started at its microtask offset; calls and settlements observed in order.
    const ops: ObservedOp[] = [];
    const events: ObservedEvent[] = [];
    const settled: Array<Promise<void>> = [];
    const start = (i: number): void => {
      const p = opts.ops[i];
      if (!possible(this.world.w, p.kind)) return; // e.g. a registration of a device that is there
      const nextIfindex = ++this.ifindex;
      i = ops.length;
      ops[i] = { kind: p.kind, on: opts.on, nextIfindex, result: 'pending' };
      events.push({ call: i });
      settled.push(
        this.invoke(nc, p.kind, handles[opts.on], nextIfindex).then(
          () => this.settle(nc, n, i, 'ok', ops, events),
          (err: unknown) =>
            this.settle(
              nc,
              n,
              i,
              err instanceof NetconsoleError ? err.code : `raw ${(err as Error)?.name}: ${(err as Error)?.message}`,
              ops,
              events,
            ),
        ),
      );
    };
    const order = opts.ops.map((o, i) => ({ ...o, i })).sort((x, y) => x.at - y.at || x.i - y.i);
    let tick = 0;
    for (const o of order) {
      while (tick < o.at) {
        await Promise.resolve();
        tick++;
      }
      start(o.i);
    }
    const timedOut = await Promise.race([
      Promise.all(settled).then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), SETTLE_MS).unref()),
    ]);
    const plan = JSON.stringify({ ...opts, ops: opts.ops.map((o) => `${o.kind}@${o.at}`) });
    if (timedOut) return `${plan}: an operation did not settle within ${SETTLE_MS} ms (${JSON.stringify(ops)})`;

    // What the run left.
    const final: FinalTarget[] = TARGETS.map((name) => {
      const t = nc.targets.get(name);
      return t
        ? { name, exists: true, state: t.state, devName: t.get('dev_name'), device: t.device }
        : { name, exists: false };
    });
    const problems: string[] = [];
    const ports = boundPorts();
    for (const f of final) {
      const held = ports.has(this.ports[f.name as 'a' | 'b']);
      if (held !== (f.state === 'enabled'))
        problems.push(
          `target ${f.name} is ${f.exists ? f.state : 'removed'} and its port is ${held ? '' : 'not '}bound`,
        );
    }
    const raw = ops.filter((o) => o.result.startsWith('raw') || o.result === 'EIO');
    if (raw.length > 0)
      problems.push(`internal errors reached the caller: ${raw.map((o) => `${o.kind}: ${o.result}`).join('; ')}`);
    const violations = nc.stats().lockOrderViolations;
    if (violations > 0) problems.push(`lock order violations: ${violations}`);
    const verdict = check(initial, { ops, events, final });
    if (!verdict.ok)
      problems.push(
        `not linearizable against the kernel model: ${verdict.reason}\n  observed: ${JSON.stringify({ events, ops: ops.map((o) => [o.kind, o.result]) })}`,
      );

    // Clean up for the next run, then the datagrams of this one.
    if (opts.ops.some((o) => o.kind === 'close')) {
      this.nc = null; // closed: the next run gets a fresh one
    } else {
      for (const name of TARGETS) await nc.targets.get(name)?.remove();
      const left = boundPorts();
      for (const t of TARGETS)
        if (left.has(this.ports[t])) problems.push(`target ${t} removed and its port still bound`);
    }
    this.mark(`E${n}`);
    for (const t of TARGETS) await this.sinks[t].waitFor((r) => r.data.toString() === `E${n}`);
    if (verdict.ok) {
      for (const t of TARGETS) {
        const texts = this.take(t, n);
        let dead = false;
        for (const x of texts) {
          const m = /^M\d+:(\d+)$/.exec(x);
          if (m) dead = dead || verdict.deadAfter.get(Number(m[1]))?.has(t) === true;
          else if (dead)
            problems.push(
              `target ${t} sent after it stopped for good: ${JSON.stringify(x.slice(0, 60))} (${texts.join(' | ').replace(/\n/g, '')}) ${verdict.order.join(', ')}`,
            );
        }
      }
    }
    if (problems.length === 0) return null;
    return `${plan}\n  results: ${ops.map((o, i) => `${i} ${o.kind}: ${o.result}`).join(', ')}\n  final: ${JSON.stringify(final)}\n  ${problems.join('\n  ')}`;
  }

  private invoke(nc: Netconsole, kind: OpKind, t: Target, nextIfindex: number): Promise<void> {
    if (DEVICE_OPS.has(kind)) {
      const w = this.world.w;
      const before = { name: w.name, ifindex: w.ifindex };
      changeWorld(w, kind, nextIfindex); // the device changes at once; the notifier runs under rtnl
      const type = kind === 'register-name' || kind === 'register-mac' ? 'register' : kind;
      return nc.deviceEvent({
        type: type as never,
        name: w.name,
        oldName: kind === 'rename' ? before.name : undefined,
        ifindex: kind === 'unregister' ? before.ifindex : w.ifindex,
        mac: w.mac,
        master: kind === 'enslave' ? 'br0' : undefined,
      });
    }
    switch (kind) {
      case 'enable':
        return t.enable();
      case 'disable':
        return t.disable();
      case 'remove':
        return t.remove();
      case 'set': {
        // The value it has (ports are where the sinks listen). A removed target's get() throws
        // ENOENT; its set() then rejects ENOENT through the configuration mutex, as it always did.
        let port: string | number = 0;
        try {
          port = t.get('remote_port');
        } catch {
          // removed: the set below is refused before it reads the value
        }
        return t.set('remote_port', port);
      }
      case 'userdata':
        return t.userdata.set('k', 'v');
      case 'close':
        return nc.close();
    }
    throw new Error(`unknown op ${kind}`);
  }

  /** At each settlement: its result, a log call (how many targets it reached), a marker. */
  private settle(
    nc: Netconsole,
    n: number,
    i: number,
    result: string,
    ops: ObservedOp[],
    events: ObservedEvent[],
  ): void {
    ops[i].result = result;
    events.push({ settle: i, reached: nc.info(`probe ${n} ${i}`) });
    this.mark(`M${n}:${i}`);
  }

  /** The texts a sink got between this run's begin and end markers (and forgets them). */
  private take(t: 'a' | 'b', n: number): string[] {
    const got = this.sinks[t].got.splice(0).map((r) => r.data.toString('latin1'));
    const from = got.indexOf(`B${n}`);
    const to = got.indexOf(`E${n}`);
    return got.slice(from + 1, to);
  }
}
