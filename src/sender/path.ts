// Whether a target's path can carry datagrams, for the dgram sender: the same questions as the
// native sender's (native/path.h says why each matters), asked through sysfs, and the hold that
// follows the answers (native/drain-hold.cc Gate) in the same states:
//  * the device: `operstate` (up or unknown: running, its qdisc active; at once "down" when the
//    device is taken down), `flags` (IFF_UP; IFF_LOOPBACK and IFF_NOARP: no neighbour to resolve)
//    and `carrier_changes` (moves at once when the carrier is lost; its parity while the carrier
//    is on is learned from one read of `carrier`), each through a descriptor read again at 0;
//  * the next hop: the host's neighbour table (src/netdev/neighbours.ts).
import { closeSync, openSync, readSync } from 'node:fs';

/** How a sender learns whether a next hop is resolved (the host's NeighbourTable). */
export interface NeighbourStates {
  state(ifindex: number, dev: string, ip: string): 'valid' | 'invalid' | 'unknown';
  /** When the entry last failed or went away (performance.now(); 0: not seen). */
  failedAt(ifindex: number, ip: string): number;
  /** The first decisive change of the entry after `since`: it resolved, or failed / went away. */
  firstChange(ifindex: number, ip: string, since: number): 'resolved' | 'failed' | null;
}

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_NOARP = 0x80;
const LOOK_MS = 1; // a device looked at longer ago is looked at again
const REPROBE_MS = 1000;
const PROBE_RETRY_MS = 10; // a probe the kernel refused (no route yet): the next one
const SYNC_MS = 10; // how often a device up but not running has linkwatch run // given up: one probe a second, so the path can come back

export type Verdict = 'send' | 'hold' | 'lose' | 'probe';

/** What the gate tells its sender: a hold began; a probe's message is lost (`unconfirmed`: maybe not). */
export interface GateHooks {
  held(): void;
  probeLost(msg: number, unconfirmed: boolean): void;
}

const buf = Buffer.alloc(64);

/** One sysfs attribute of a device, read again from offset 0 through a kept descriptor. */
class Attr {
  private fd = -1;
  constructor(private readonly file: string) {}

  read(dev: string): string | null {
    try {
      if (this.fd < 0) this.fd = openSync(`/sys/class/net/${dev}/${this.file}`, 'r');
      const n = readSync(this.fd, buf, 0, buf.length, 0);
      return buf.toString('latin1', 0, n).trim();
    } catch {
      this.close();
      return null;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function readOnce(path: string): string | null {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('latin1', 0, n).trim();
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** One target's path and hold state. */
export class TargetPath {
  private readonly operstate = new Attr('operstate');
  private readonly flags = new Attr('flags');
  private readonly changes = new Attr('carrier_changes');
  private onParity = -1;
  private changesSeen = -1;
  private devOk = false;
  private arp = false;
  private lookedAt = -Infinity;
  private syncedAt = -Infinity;
  private heldSince = 0;
  givenUp = false;
  /** A probe in flight: its message, since when; `counted` when its message was counted lost. */
  probe: { msg: number; at: number; counted: boolean } | null = null;
  private probedAt = 0;
  private retryAt = 0;

  constructor(
    readonly device: { name: string; ifindex: number },
    readonly nextHop: string | null,
    private readonly neighbours: NeighbourStates | null,
  ) {}

  close(): void {
    this.operstate.close();
    this.flags.close();
    this.changes.close();
  }

  private look(now: number): void {
    this.lookedAt = now;
    const dev = this.device.name;
    const flags = Number.parseInt(this.flags.read(dev) ?? '', 16);
    const oper = this.operstate.read(dev);
    if (!Number.isInteger(flags) || oper === null) {
      // No such device (it went away, or the host's look-ups are not the kernel's): nothing to
      // watch; the host's device events take it from here.
      this.devOk = true;
      this.arp = false;
      return;
    }
    this.arp = (flags & (IFF_LOOPBACK | IFF_NOARP)) === 0;
    let running = (flags & IFF_UP) !== 0 && (oper === 'up' || oper === 'unknown');
    if (!running && (flags & IFF_UP) !== 0 && (flags & IFF_LOOPBACK) === 0 && now - this.syncedAt >= SYNC_MS) {
      // Up but not running: linkwatch may not have run yet (up to a second); reading `carrier`
      // runs it for this device (native/path.cc says more).
      this.syncedAt = now;
      if (readOnce(`/sys/class/net/${dev}/carrier`) === '1') {
        const again = this.operstate.read(dev);
        running = again === 'up' || again === 'unknown';
      }
    }
    if ((flags & IFF_LOOPBACK) !== 0) {
      this.devOk = running;
      return;
    }
    const c = Number(this.changes.read(dev) ?? NaN);
    if (this.onParity < 0 && running && Number.isInteger(c)) {
      const on = readOnce(`/sys/class/net/${dev}/carrier`);
      if (on === '1' || on === '0') this.onParity = (c + (on === '1' ? 0 : 1)) & 1;
    }
    this.changesSeen = c;
    this.devOk = running && Number.isInteger(c) && this.onParity >= 0 && (c & 1) === this.onParity;
  }

  /** Whether the device is up, running and with carrier (looked at now). */
  deviceOk(now: number): boolean {
    this.look(now);
    return this.devOk;
  }

  private resolving(): boolean {
    return this.devOk && this.arp && this.neighbourState() === 'invalid';
  }

  private neighbourState(): 'valid' | 'invalid' | 'unknown' {
    if (this.nextHop === null || this.neighbours === null || !this.arp) return 'valid';
    return this.neighbours.state(this.device.ifindex, this.device.name, this.nextHop);
  }

  private ready(now: number): boolean {
    if (now - this.lookedAt >= LOOK_MS) this.look(now);
    return this.devOk && (!this.arp || this.neighbourState() !== 'invalid');
  }

  /** After datagrams went out: whether the device kept its carrier meanwhile (native KeptCarrier). */
  keptCarrier(now: number): boolean {
    const dev = this.device.name;
    const oper = this.operstate.read(dev);
    if (oper === null) {
      this.look(now); // no such device: nothing to tell
      return true;
    }
    const kept =
      (oper === 'up' || oper === 'unknown') &&
      (this.changesSeen < 0 || Number(this.changes.read(dev)) === this.changesSeen);
    if (!kept) this.look(now);
    else this.lookedAt = now;
    return kept;
  }

  get holding(): boolean {
    return this.heldSince !== 0;
  }

  /** Ends the hold when the path can carry again (nothing of the target waits). */
  settle(now: number): void {
    if (this.ready(now)) {
      this.heldSince = 0;
      this.givenUp = false;
    }
  }

  /** What the target's next datagram does (native/drain-hold.cc Gate). */
  gate(now: number, holdMs: number, enabled: boolean, hooks: GateHooks): Verdict {
    const lostProbe = (unconfirmed: boolean): void => {
      const p = this.probe!;
      this.probe = null;
      if (!p.counted) hooks.probeLost(p.msg, unconfirmed);
    };
    if (this.probe !== null && this.nextHop !== null && this.neighbours !== null) {
      // Its next hop resolved (it went out), or failed or went away first (it was dropped with its
      // entry; when is not known, so: unconfirmed).
      const change = this.neighbours.firstChange(this.device.ifindex, this.nextHop, this.probe.at);
      if (change === 'resolved') {
        this.probe = null; // it went out: the path carried it, this hold is over
        this.heldSince = 0;
        this.givenUp = false;
      } else if (change === 'failed') lostProbe(true);
    }
    if (this.ready(now)) {
      this.heldSince = 0;
      this.givenUp = false;
      this.probe = null; // its next hop resolved: the probe went out
      return 'send';
    }
    if (this.heldSince === 0) {
      this.heldSince = now;
      this.probedAt = 0;
      hooks.held();
    }
    if (!this.givenUp && (!enabled || now - this.heldSince >= holdMs)) {
      this.givenUp = true;
      if (this.probe !== null) lostProbe(true); // its fate is not known
    }
    if (enabled && this.resolving()) {
      if (this.probe !== null && this.givenUp && now - this.probe.at >= REPROBE_MS) lostProbe(true);
      const retry = now >= this.retryAt;
      if (this.probe === null && retry && (!this.givenUp || this.probedAt === 0 || now - this.probedAt >= REPROBE_MS))
        return 'probe';
    }
    return this.givenUp ? 'lose' : 'hold';
  }

  /**
   * The send of message `msg` failed: when it was the probe, the probe never went out (a device
   * just up may have no route yet) and no neighbour entry will change for it: it is over, and the
   * next one goes out shortly.
   */
  sendFailed(msg: number, now: number): void {
    if (this.probe === null || this.probe.msg !== msg) return;
    this.probe = null;
    this.retryAt = now + PROBE_RETRY_MS;
  }

  /** The probe datagram (of message `msg`) went out now. */
  probed(msg: number, now: number): void {
    this.probe = { msg, at: now, counted: false };
    this.probedAt = now;
  }
}
