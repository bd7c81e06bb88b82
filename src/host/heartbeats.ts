// What send_msg and the heartbeat share beside the target table (host/target-lifecycle.ts, target-table.ts): their level,
// the trimming of a write, and the heartbeat's timers (docs/targets.md 6).
//
// Timers: one setInterval per target whose heartbeat runs, unref'd (a heartbeat never keeps the
// process alive). The table decides when one runs (exactly while its target is ENABLED with a
// heartbeat_ms) and calls set() at every change of either; close() clears them all.

/**
 * The level of a send_msg write and of a heartbeat (the kernel's send_msg has none: it sends the
 * written bytes as they are, with no header, so no level and no seq; an extended record here
 * carries both, so that receivers can order it and ncrx can ack it). 4, warning: what the kernel
 * gives text that comes without a level (printk's default_message_loglevel,
 * CONFIG_MESSAGE_LOGLEVEL_DEFAULT; /dev/kmsg writes too). A liveness ping that a receiver's level
 * filter drops would tell nothing, so the default is not info or debug. Target.send takes another.
 */
export const SEND_LEVEL = 4;

/** A send_msg write without one trailing newline (`echo` adds one; the record ends its own line). */
export function trimLastNewline(text: string | Uint8Array): string | Uint8Array {
  if (typeof text === 'string') return text.endsWith('\n') ? text.slice(0, -1) : text;
  return text.length > 0 && text[text.length - 1] === 10 ? text.subarray(0, text.length - 1) : text;
}

/** The running heartbeats, by key (a target's record). */
export class Heartbeats<K> {
  private readonly timers = new Map<K, { ms: number; timer: NodeJS.Timeout }>();

  /** How many run. */
  get size(): number {
    return this.timers.size;
  }

  /** `beat` every `ms` for `key` from now (a running one with another interval restarts), or,
   *  with `ms` 0, none. */
  set(key: K, ms: number, beat: () => void): void {
    const running = this.timers.get(key);
    if (running !== undefined && running.ms === ms) return;
    if (running !== undefined) {
      clearInterval(running.timer);
      this.timers.delete(key);
    }
    if (ms > 0) this.timers.set(key, { ms, timer: setInterval(beat, ms).unref() });
  }

  /** Stops every one. */
  clear(): void {
    for (const { timer } of this.timers.values()) clearInterval(timer);
    this.timers.clear();
  }
}
