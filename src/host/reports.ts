// What a Netconsole reports: its events (nc.events) and stats() (README, "Stats").
import type { NetconsoleError } from '../base/errors.js';
import type { SenderCounters } from '../sender/types.js';
import type { ReliableCounters } from './reliable.js';

/** A target's state, as the kernel's (enabled_store, netconsole_netdev_event). */
export type TargetState = 'disabled' | 'enabled' | 'deactivated';

/** What a target event says: its new state (or 'removed'), the device, and why. */
export interface TargetEvent {
  name: string;
  state: TargetState | 'removed';
  device?: string;
  /** The device event that changed it ('unregister', 'resumed', 'resume failed', ...). */
  reason?: string;
  error?: NetconsoleError;
}

export interface LossEvent {
  name: string;
  /** Messages lost since the last 'loss' event of this target. */
  lost: number;
  total: number;
}

export interface NetconsoleEvents {
  target: [TargetEvent];
  loss: [LossEvent];
  error: [unknown];
}

/**
 * A target's counters. Names are camelCase, except a counter that is also an attribute of the
 * kernel's target directory (configfs): it keeps the kernel's name, `transmit_errors`.
 */
export interface TargetStats {
  name: string;
  state: string;
  /** 'udp' or 'raw' while enabled. */
  mode: 'udp' | 'raw' | null;
  sent: number;
  datagrams: number;
  bytes: number;
  dropped: number;
  truncated: number;
  ratelimited: number;
  skipped: number;
  transmit_errors: number;
  /** Messages lost in transmission (a datagram of theirs could not be sent, after retries). */
  lostInTransmit: number;
  /** Every message this target lost: dropped + skipped + lostInTransmit; for a reliable target,
   *  which resends what the sender could not send, dropped + skipped + reliable.unacked. */
  lost: number;
  /**
   * Lost messages already reported in-band ("** N messages dropped **") by reports that were not
   * lost themselves: a report the sender could not deliver is told again by the next record.
   */
  reported: number;
  /** Times the sender gave up waiting for this target's socket (unwritable past its bound). */
  stalls: number;
  /**
   * Times this target's path could not carry its records (its device lost its carrier or went
   * down, its next hop was being resolved) and the sender held them (holdMs).
   */
  holds: number;
  /**
   * Of lostInTransmit: messages handed to the kernel in the moment the device lost its carrier (or
   * a probe whose next hop never answered). The kernel drops such datagrams without a word, so
   * they are counted lost, but some of them may have arrived.
   */
  unconfirmed: number;
  msgid: number;
  /** A reliable target's acks and resends (docs/reliable.md); null for the others. */
  reliable: ReliableStats | null;
}

/** What a reliable target counted: its sender half's replies, acks and resends, and what its
 *  retention holds and pushed out. */
export interface ReliableStats extends ReliableCounters {
  /** Messages kept for resending now (acked ones included until their room is needed). */
  kept: number;
  /** Messages pushed out of the retention before their ack that the receiver then asked for again
   *  (it does not have them), or that it never acked before it fell silent for 35 s or the target
   *  stopped (they may not have arrived). Told in-band ("** N messages unacknowledged **") and
   *  counted in `lost`. One a later ack passes is not counted: an ack means delivered or given up,
   *  and a receiver reports what it gave up itself (`netconsole listen --ack` prints each). */
  unacked: number;
  /** Messages pushed out before the receiver ever replied (a receiver that does not ack, such as
   *  netconsd): sent once, like any target's, and not told in-band. */
  unheard: number;
}

export interface Stats {
  records: number;
  ringFull: number;
  /** Records (from any thread) whose text was cut to the 64 KiB a record can carry. */
  textCut: number;
  /**
   * Log calls (from any thread, children included) refused for a bad level, value, argument or
   * per-record option: each returned 0 and wrote nothing (with throwOnLogError they throw instead,
   * and are not counted).
   */
  logErrors: number;
  ringSize: number;
  ringUsed: number;
  /** Who drains the ring: 'native' (the addon's thread) or 'dgram' (the event loop: the addon did not load, or was not asked for). */
  sender: 'native' | 'dgram';
  /** Ring slots the sender could not route (0 unless something is wrong). */
  senderDiscarded: number;
  /** Every message lost, summed over the targets. */
  lost: number;
  /** What the sender met on the way to the kernel. */
  transmit: SenderCounters;
  /** Log calls (any thread) that waited for room in a full ring (overflow 'wait'), and those of them that gave up. */
  waits: { waited: number; gaveUp: number };
  /** Threads attached to the shared memory (this one and workers), each holding a slot. */
  threads: number;
  /** Acquisitions against the lock order config -> rtnl -> cleanup -> spinlock (each was refused): 0. */
  lockOrderViolations: number;
  lockContended: number;
  lockRecovered: number;
  targets: TargetStats[];
}
