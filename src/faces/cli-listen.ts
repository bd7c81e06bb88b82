// `netconsole listen`: a Receiver on a UDP port, one line per message on stdout (or JSON), gaps,
// restarts and losses on stderr, a summary on exit. Its arguments are defined in cli.ts.
import { BoundedLines } from '../receiver/line-output.js';
import { formatMessage, Receiver, type LostEvent, type LostReason, type Message } from '../receiver/receiver.js';
import { printable } from './printable.js';

export interface ListenOptions {
  address: string;
  port: number;
  json?: boolean;
  fragmentTimeout: number;
  ack?: boolean;
  ackInterval: number;
  retxInterval: number;
  msgTimeout: number;
}

const LOST_WHY: Record<LostReason, string> = {
  timeout: 'given up (not received within --msg-timeout)',
  pushed: 'given up (pushed out by the window or the memory bound)',
  restart: 'given up (the sender restarted)',
  closed: 'given up (the receiver stopped)',
};

/** An extended message's dictionary (userdata, sysdata, a record's fields) under its line, as the
 *  wire carries it (` KEY=value`), escaped so that a value cannot forge a line of its own. */
function dictLines(m: Message): string {
  let lines = '';
  for (const [k, v] of Object.entries(m.dict ?? {})) lines += ` ${printable(k)}=${printable(v)}\n`;
  return lines;
}

const ACK_OUT_MAX = 32 << 20;

/** `netconsole listen`: output bounded on slow pipes (what could not be printed is counted), a summary on exit. */
export async function listen(o: ListenOptions): Promise<void> {
  const ack = o.ack
    ? { intervalMs: o.ackInterval, retxIntervalMs: o.retxInterval, msgTimeoutMs: o.msgTimeout }
    : undefined;
  const r = new Receiver({ fragmentTimeoutMs: o.fragmentTimeout, ack });
  const err = new BoundedLines(process.stderr);
  // With --ack, a filled hole releases every message held behind it at once (in seq order): up to
  // the 16 MiB the streams may hold, already in memory, so stdout may buffer as much (twice, for
  // the JSON escaping) before it drops lines; without --ack, 1 MiB as before.
  const out = new BoundedLines(
    process.stdout,
    (n) => err.write(`netconsole: ${n} messages not printed: stdout did not keep up\n`),
    ack ? ACK_OUT_MAX : undefined,
  );
  r.on('message', (m: Message) => {
    if (o.json) out.write(`${JSON.stringify(m)}\n`);
    else out.write(`${formatMessage(m)}\n${dictLines(m)}`);
  });
  r.on('gap', (g: { source: string; expected: string; got: string }) =>
    err.write(`gap from ${g.source}: expected seq ${g.expected}, got ${g.got}\n`),
  );
  r.on('restart', (e: { source: string; from: string; to: string }) =>
    err.write(`new stream from ${e.source}: seq ${e.to} after ${e.from} (the sender restarted)\n`),
  );
  // --ack: a seq given up is part of the record stream (--json: an event among the messages).
  r.on('lost', (e: LostEvent) => {
    if (o.json) return out.write(`${JSON.stringify({ event: 'lost', ...e })}\n`);
    const seqs = e.count === 1 ? `seq ${e.seq}` : `seqs ${e.seq}..${BigInt(e.seq) + BigInt(e.count - 1)} (${e.count})`;
    err.write(`lost from ${e.source}: ${seqs}: ${LOST_WHY[e.reason]}\n`);
  });
  const a = await r.listen(o.address, o.port);
  process.stderr.write(`listening on ${a.address}:${a.port}\n`);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await r.close();
    await out.flush(2000);
    const c = r.counters;
    err.write(
      `netconsole: ${c.datagrams} datagrams, ${c.messages} messages (${c.incomplete} incomplete, ${c.evicted} of them evicted; ${c.oos} out of sequence, ${c.restarts} restarts), ` +
        `${c.duplicates} duplicates dropped, ${c.gaps} gaps, ${c.sourcesEvicted} sources forgotten, ${out.dropped} messages not printed (stdout too slow)\n`,
    );
    if (o.ack) {
      const a = r.ackCounters;
      err.write(
        `netconsole: ${a.replies} replies (${a.requested} seqs asked for again, ${a.replyErrors} not sent), ${a.lost} seqs given up, ${a.emergency} emergency datagrams\n`,
      );
    }
    await err.flush(1000);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  // The reader went away (`| head`): stop as for a signal.
  process.stdout.on('error', () => void stop());
}
