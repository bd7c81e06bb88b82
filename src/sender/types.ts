// The one interface behind which a sender drains the transmit ring: the dgram sender on the
// host's event loop (the fallback, always available), or the native sender thread of the addon.
import type { SocketRef } from './sockets.js';

/** Where a target's datagrams go. */
export interface Route {
  socket: SocketRef;
  family: 4 | 6;
  address: string;
  port: number;
  /** The target's generation (TGT_GEN) this route belongs to: older slots are not sent. */
  gen: number;
  /** Raw mode: the slots are whole Ethernet frames for this device's AF_PACKET socket. */
  raw?: { ifindex: number; dstMac: Uint8Array };
  /** The device the datagrams leave through (its name follows renames: the binding's own object). */
  device: { name: string; ifindex: number };
  /**
   * UDP mode: the next hop whose neighbour entry must be resolved for a datagram to go out (the
   * route's gateway, or remote_ip on a direct route); null in raw mode. The sender holds the
   * target's datagrams while it is not (native/path.h, dgram.ts).
   */
  nextHop: string | null;
}

/** What a sender counted, for stats(). */
export interface SenderCounters {
  /**
   * Slots consumed without a route for their target and generation. Deferred cleanup waits for
   * the sender before it clears a route, so this stays 0; anything else is a lost message.
   */
  discarded: number;
  /** Sends refused for a full socket buffer (EAGAIN) or a full queue (ENOBUFS), waited for and retried (native). */
  eagain: number;
  enobufs: number;
  /** Sends retried at once after another error (native: a pending ICMP error fails one send). */
  retries: number;
  /** Times a target's socket stayed unwritable past the stall bound (native). */
  stalls: number;
  /** Times a log call on the host thread sent from the ring to make room (dgram). */
  spills: number;
  /** Bytes handed to sockets and not yet to the kernel (dgram: Node's send queues). */
  queued: number;
  /** Times a target's path could not carry its datagrams and the sender held them. */
  holds: number;
  /** Datagrams sent alone to start the resolution of a held target's next hop. */
  probes: number;
  /** Messages counted lost that the kernel may have sent (handed over as the carrier was lost). */
  unconfirmed: number;
  /**
   * Raw-mode frames handed to the kernel through a PACKET_TX_RING (native; the rest by sendmmsg),
   * counted as they leave the device: a GSO run's datagrams each.
   */
  ringFrames: number;
  /** Of ringFrames, those sent with PACKET_QDISC_BYPASS (the device's root qdisc was noqueue). */
  bypassFrames: number;
  /**
   * Datagrams handed to the kernel in runs (native): a run of one target's datagrams of one length
   * as one UDP GSO send (raw mode: one GSO frame of the TX ring), which the kernel cuts into those
   * same datagrams.
   */
  gsoDatagrams: number;
  /** Times the kernel refused a GSO send on a target's path, whose datagrams then went one by one (native). */
  gsoFallbacks: number;
}

export interface Sender {
  readonly name: 'native' | 'dgram';
  /** Starts draining. */
  start(): void;
  /** From now on, slots of target `t` with generation `route.gen` go to `route`. */
  setRoute(t: number, route: Route): void;
  /** Slots of `t` are no longer sent (only after the grace period: see waitPast). */
  clearRoute(t: number): void;
  /**
   * Resolves once every slot before ring position `pos` has been consumed and every datagram of
   * those has been handed to the kernel (the grace period of deferred cleanup, and flush()).
   */
  waitPast(pos: number): Promise<void>;
  /** Wakes the sender after the host thread wrote (cheap when it is awake). */
  kick(): void;
  /** Stops after draining what was published. */
  close(): Promise<void>;
  /**
   * Hands everything published to the kernel before it returns, or until `timeoutMs` passed;
   * returns whether it all went: for a crash or a process exit, where the event loop will not
   * turn again. The native sender waits for its thread; the dgram sender sends synchronously.
   */
  drainSync(timeoutMs: number): boolean;
  counters(): SenderCounters;
}
