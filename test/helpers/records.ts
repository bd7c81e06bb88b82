// Records whose text says who wrote it and which one it is, in deterministic mixed sizes (some
// one datagram, some fragmented: up to 3 KiB), so a receiver can check each arrived whole, once,
// and in its writer's order.
import { Reassembler, type Message } from '../../src/receiver/receiver.js';

/** Text sizes cycle through short, around one datagram, and several fragments. */
const SIZES = [40, 100, 700, 998, 1000, 1500, 2100, 3000, 10, 260];

export function recordText(writer: number, i: number): string {
  const head = `w${writer} r${i} `;
  const size = SIZES[(i * 7 + writer) % SIZES.length];
  return (
    head + 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(size / 36)).slice(0, Math.max(0, size - head.length))
  );
}

/** The writer and index a text of recordText() names, or null. */
export function parseRecordText(text: string): { writer: number; i: number } | null {
  const m = /^w(\d+) r(\d+) /.exec(text);
  return m ? { writer: Number(m[1]), i: Number(m[2]) } : null;
}

const REPORT = /^\*\* (\d+) messages dropped \*\*$/;

/** N of an in-band loss report's text, or null. */
export function reportCount(text: string): number | null {
  const m = REPORT.exec(text.replace(/\n$/, ''));
  return m ? Number(m[1]) : null;
}

/** What arrived of writer 0's records (their indexes, in arrival order) and of in-band reports. */
export interface WriterRecords {
  records: number[];
  /** N of each `** N messages dropped **` report. */
  reports: number[];
  /** Messages printed incomplete (a fragment missing). */
  incomplete: number;
}

/** Reassembles `datagrams` (fragments included) and reads writer 0's whole records and the reports. */
export function writerRecords(datagrams: Buffer[]): WriterRecords {
  const r = new Reassembler({ maxPending: 1 << 16, maxPendingBytes: 1 << 30 });
  const out: WriterRecords = { records: [], reports: [], incomplete: 0 };
  r.on('message', (m: Message) => {
    if (m.incomplete) out.incomplete++;
    const n = reportCount(m.text);
    if (n !== null) return void out.reports.push(n);
    const id = parseRecordText(m.text);
    if (id && id.writer === 0 && m.text === recordText(0, id.i)) out.records.push(id.i);
  });
  for (const d of datagrams) r.push(d, 'a');
  r.flushPending();
  return out;
}
