// The load shape of a run: log calls in bursts per event-loop turn, or at an offered rate; the texts
// sent. Moved here from bench/harness.ts with netconsole tune (its sender and writer threads).

/** Log calls per event-loop turn in a burst (the e2e load shape; netconsole tune's rate 0). */
export const BURST_CHUNK = 1000;

/**
 * Runs `count` log calls in a load shape: `turn(from, to)` makes the calls due in one turn of the
 * event loop, BURST_CHUNK of them (rate 0), or as many as the offered rate (messages/s) allows by
 * now, in 1 ms ticks. One callback per turn, so the shape adds nothing to a log call.
 */
export async function inTurns(count: number, rate: number, turn: (from: number, to: number) => void): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < count;) {
    const end =
      rate === 0
        ? Math.min(count, i + BURST_CHUNK)
        : Math.min(count, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    turn(i, end);
    i = end;
    await new Promise((r) => (rate === 0 ? setImmediate(r) : setTimeout(r, 1)));
  }
}

/** A message text of exactly `bytes` ASCII bytes that needs no escaping (netconsole, JSON). */
export function text(bytes: number): string {
  const words = 'netconsole ships logs over udp to every target without blocking the caller ';
  return words.repeat(Math.ceil(bytes / words.length) + 1).slice(0, bytes);
}
