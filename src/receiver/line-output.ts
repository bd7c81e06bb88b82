// Lines to a stream that may be slower than what arrives (`netconsole listen` on a slow pipe).
// A UDP socket cannot be paused, so back-pressure cannot reach the senders: past `maxBuffered`
// bytes waiting for the reader, lines are dropped and counted instead of buffered without bound
// (stdout on a pipe that nobody read grew to 1 GiB after 100,000 messages).
import type { Writable } from 'node:stream';

/** Bytes a slow reader may leave waiting before lines are dropped. */
export const DEFAULT_MAX_BUFFERED = 1 << 20;

export class BoundedLines {
  /** Lines dropped since start. */
  dropped = 0;
  private droppedSinceDrain = 0;

  private readonly maxBuffered: number;

  /** `onDrained(n)` is called when the reader caught up after n lines were dropped. */
  constructor(
    private readonly stream: Writable,
    private readonly onDrained: (dropped: number) => void = () => {},
    maxBuffered = DEFAULT_MAX_BUFFERED,
  ) {
    // At or past the high-water mark write() has returned false, so a 'drain' is sure to come.
    this.maxBuffered = Math.max(maxBuffered, stream.writableHighWaterMark);
  }

  /** Writes `line`, or drops and counts it when the reader is `maxBuffered` bytes behind. */
  write(line: string): void {
    if (this.stream.destroyed) {
      this.dropped++; // the reader went away (EPIPE)
      return;
    }
    if (this.stream.writableLength < this.maxBuffered) {
      this.stream.write(line);
      return;
    }
    this.dropped++;
    if (this.droppedSinceDrain++ === 0) {
      this.stream.once('drain', () => {
        const n = this.droppedSinceDrain;
        this.droppedSinceDrain = 0;
        this.onDrained(n);
      });
    }
  }

  /** Resolves when everything written reached the stream's reader, or after `ms`. */
  async flush(ms: number): Promise<void> {
    if (this.stream.writableLength === 0 || this.stream.destroyed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      // An empty write's callback runs once everything before it was written.
      this.stream.write('', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
