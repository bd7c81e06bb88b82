// stats() (README, "Stats"): what the write path, the sender and each target counted, read from
// the shared memory and the host's records in one go.
import type { Core } from '../core/wasm.js';
import type { Sender } from '../sender/types.js';
import type { HostLocks } from './locks.js';
import type { Stats } from './reports.js';
import type { TargetRecord } from './target-lifecycle.js';

/** A Netconsole's stats: `records`, its targets' records in the table's order. */
export function collectStats(c: Core, records: readonly TargetRecord[], sender: Sender, locks: HostLocks): Stats {
  const targets = records.map((t) => {
    const n = c.targets.targetCounters(t.index);
    return {
      name: t.name,
      state: t.state,
      mode: t.binding?.mode ?? null,
      sent: n.sent,
      datagrams: n.datagrams,
      bytes: n.bytes,
      dropped: n.dropped,
      truncated: n.truncated,
      ratelimited: n.ratelimited,
      skipped: n.skipped,
      transmit_errors: n.transmitErrors,
      lostInTransmit: n.lostInTransmit,
      lost: n.dropped + n.skipped + (t.attrs.reliable ? n.unacked : n.lostInTransmit),
      reported: n.reported - n.reportLost,
      stalls: n.stalls,
      holds: n.holds,
      unconfirmed: n.unconfirmed,
      msgid: n.msgid,
      reliable: t.attrs.reliable
        ? { ...t.reliableCounters, kept: n.kept, unacked: n.unacked, unheard: n.unheard }
        : null,
    };
  });
  const k = c.counters();
  const transmit = sender.counters();
  return {
    records: k.records,
    ringFull: k.ringFull,
    textCut: k.textCut,
    logErrors: k.logErrors,
    ringSize: c.ring.size,
    ringUsed: c.ring.head() - c.ring.tail(),
    sender: sender.name,
    senderDiscarded: transmit.discarded,
    lost: targets.reduce((sum, t) => sum + t.lost, 0),
    transmit,
    waits: c.room.waits(),
    threads: c.threadsAttached(),
    lockOrderViolations: locks.checker.violations,
    lockContended: k.lockContended,
    lockRecovered: k.lockRecovered,
    targets,
  };
}
