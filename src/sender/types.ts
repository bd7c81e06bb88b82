// The one interface behind which a sender drains the transmit ring: the dgram sender on the
// host's event loop (the fallback, always available), or the native sender thread of the addon.
import type { SocketRef } from '../sockets.js';

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
}

export interface Sender {
  readonly name: string;
  /**
   * Slots consumed without a route for their target and generation. Deferred cleanup waits for
   * the sender before it clears a route, so this stays 0; anything else is a lost message.
   */
  readonly discarded: number;
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
   * Blocks the calling thread until everything published has been handed to the kernel, or
   * `timeoutMs` passed; returns whether it all went. Only a sender that runs on its own thread can
   * (the native one): for process exit, where the event loop will not turn again.
   */
  drainSync?(timeoutMs: number): boolean;
}
