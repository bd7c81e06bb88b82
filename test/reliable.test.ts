// Reliable targets, the sender half of the ncrx protocol (docs/reliable.md), against a receiver
// the test plays by hand: a UDP socket that keeps every datagram (test/helpers/udp.ts Sink) and
// sends the `ncrx<ack> <seq>...` replies the test chooses to the target's source port. What is
// checked is what arrives: resends byte for byte, every fragment, ncemg, in-band reports, and the
// counters beside them. Waits are for events with generous deadlines; nothing asserts a speed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Netconsole } from '../src/index.js';
import { RESEND_GAP_MS } from '../src/host/reliable.js';
import { UNDER_TEST, withSinkNetconsole } from './helpers/netconsole.js';
import { Sink, type Received } from './helpers/udp.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Head {
  seq: bigint;
  emg: boolean;
  frag: [number, number] | null;
  text: string;
}

function head(d: Buffer): Head {
  const s = d.toString('latin1');
  const semi = s.indexOf(';');
  const fields = s.slice(0, semi).split(',');
  const frag = fields.find((f) => f.startsWith('ncfrag='));
  const [off, total] = frag ? frag.slice(7).split('/').map(Number) : [0, 0];
  return {
    seq: BigInt(fields[1]),
    emg: fields.includes('ncemg=1'),
    frag: frag ? [off, total] : null,
    text: s.slice(semi + 1),
  };
}

/** The datagrams of seq, in arrival order. */
const of = (got: Received[], seq: bigint, emg = false): Buffer[] =>
  got.filter((g) => head(g.data).seq === seq && head(g.data).emg === emg).map((g) => g.data);

function reply(sink: Sink, to: number, text: string, address = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) =>
    sink.socket.send(text, to, address, (err) => (err ? reject(err) : resolve())),
  );
}

const target = (sink: Sink, more: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'r',
  remote_ip: '127.0.0.1',
  remote_port: sink.port,
  extended: 1,
  reliable: 1,
  enabled: 1,
  ...more,
});

const rel = (nc: Netconsole): NonNullable<ReturnType<Netconsole['stats']>['targets'][number]['reliable']> =>
  nc.stats().targets.find((t) => t.name === 'r')!.reliable!;

async function until(pred: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

describe('reliable targets: the sender half', () => {
  // Both senders keep the messages (the addon's thread: native/retain.cc; the dgram sender:
  // assembly/retain.ts), so the first case runs with each.
  for (const sender of ['native', 'dgram'] as const) {
    test(`a requested seq is sent again byte for byte, every fragment of it; an ack releases (${sender} sender)`, async () => {
      await withSinkNetconsole(
        (sink) => ({ sender, targets: [target(sink)] }),
        async (nc, sink) => {
          for (let i = 0; i < 10; i++) nc.info(`m${i} ${'x'.repeat(i % 2 === 0 ? 20 : 2500)}`);
          await nc.flush();
          await sink.until((g) => g.length >= 5 + 5 * 3);
          const seqs = [...new Set(sink.got.map((g) => head(g.data).seq))];
          assert.equal(seqs.length, 10);
          for (let i = 1; i < 10; i++)
            assert.equal(seqs[i], seqs[0] + BigInt(i), 'a reliable target numbers its messages one by one');
          const fieldsOf = (d: Buffer): string[] => d.toString('latin1', 0, d.indexOf(';')).split(',');
          assert.ok(
            sink.got.every((g) => fieldsOf(g.data)[4] === `ncfirst=${seqs[0]}`),
            `until the receiver replies, every datagram says where the stream began, after the flags: ${sink.got[0].data.toString('latin1', 0, 60)}`,
          );
          const from = sink.got[0].from;
          const first = sink.got.length;
          const [a, b] = [seqs[2], seqs[3]]; // one datagram, three fragments
          await reply(sink, from, `ncrx${seqs[1]} ${a} ${b}`);
          await sink.until((g) => g.length >= first + 4);
          const again = sink.got.slice(first).map((g) => g.data);
          assert.deepEqual(
            again,
            [...of(sink.got.slice(0, first), a), ...of(sink.got.slice(0, first), b)],
            'the same datagrams, in order',
          );
          const r = rel(nc);
          assert.equal(r.replies, 1);
          assert.equal(r.acks, 1);
          assert.equal(r.acked, String(seqs[1]));
          assert.equal(r.requests, 2);
          assert.equal(r.resends, 2);
          assert.equal(r.kept, 10, 'acked messages stay until their room is needed');
          const line = nc.targets.get('r')!.get('reliable_stats'); // what `netconsole ctl get r/reliable_stats` prints
          assert.match(
            line,
            new RegExp(`^replies=1 acks=1 requests=2 resends=2 .* acked=${seqs[1]} kept=10 unacked=0 unheard=0$`),
          );
          // Asked again at once: not resent twice within the gap (a burst of copies of one reply).
          await reply(sink, from, `ncrx${seqs[1]} ${a}`);
          await until(() => rel(nc).requests === 3, 'the third request');
          assert.equal(rel(nc).resends, 2);
          assert.equal(rel(nc).refused, 1);
          // Answered: new messages no longer carry ncfirst.
          const before = sink.got.length;
          nc.info('after the first reply');
          await sink.until((g) => g.length > before);
          assert.deepEqual(
            fieldsOf(sink.got[before].data).slice(4),
            [],
            `no ncfirst once answered: ${sink.got[before].data.toString('latin1')}`,
          );
        },
      );
    });
  }

  test('a receiver that never replies: nothing resent, memory within the bound, push-outs counted apart and not told in-band', async () => {
    await withSinkNetconsole(
      (sink) => ({ targets: [target(sink, { reliable_msgs: 16 })] }),
      async (nc, sink) => {
        for (let i = 0; i < 40; i++) nc.info(`quiet ${i}`);
        await nc.flush();
        await sink.until((g) => g.length >= 40);
        await sleep(4000); // past the emergency wait: a receiver never heard from gets nothing extra
        assert.equal(sink.got.length, 40, 'no resend, no report');
        const r = rel(nc);
        assert.deepEqual(
          {
            replies: r.replies,
            resends: r.resends,
            emergencies: r.emergencies,
            kept: r.kept,
            unheard: r.unheard,
            unacked: r.unacked,
          },
          { replies: 0, resends: 0, emergencies: 0, kept: 16, unheard: 24, unacked: 0 },
        );
        assert.equal(nc.stats().targets[0].lost, 0);
      },
    );
  });

  test('after a reply, a message pushed out unacked is counted lost only once the receiver asks for it (once, however often), and told in-band before the next record; one an ack passes is not', async () => {
    await withSinkNetconsole(
      (sink) => ({ targets: [target(sink, { reliable_msgs: 16 })] }),
      async (nc, sink) => {
        nc.info('first');
        await sink.until((g) => g.length >= 1);
        const s0 = head(sink.got[0].data).seq;
        const from = sink.got[0].from;
        await reply(sink, from, `ncrx${s0}`);
        await until(() => rel(nc).acks === 1, 'the ack');
        for (let i = 0; i < 20; i++) nc.info(`unacked ${i}`);
        // flush(): the sender sent them all, and kept them (it keeps what it is done with): 21
        // messages in 16 slots, so 'first' (acked) and s0+1 .. s0+4 (not acked) are pushed out.
        // They all arrived: none is lost for being pushed out.
        await nc.flush();
        await sink.until((g) => g.length >= 21);
        assert.equal(rel(nc).kept, 16);
        assert.equal(rel(nc).unacked, 0, 'pushed out before the ack, but nobody said it was missing');
        assert.equal(nc.stats().targets[0].lost, 0);
        // The receiver misses s0+2 and s0+3 (pushed out: lost) and s0+10 (kept: resent), and asks
        // twice, as a receiver does until the hole is filled or given up.
        const asked = [s0 + 2n, s0 + 3n, s0 + 10n];
        await reply(sink, from, `ncrx${s0} ${asked.join(' ')}`);
        await until(() => rel(nc).requests === 3, 'the requests');
        await sleep(RESEND_GAP_MS + 20);
        await reply(sink, from, `ncrx${s0} ${asked.join(' ')}`);
        await until(() => rel(nc).requests === 6, 'the requests again');
        assert.equal(rel(nc).unacked, 2, 'two lost, counted once each');
        assert.equal(rel(nc).resends, 2, 's0+10, each time it was asked for');
        // The receiver gives them up, and acks everything: the other pushed-out ones arrived.
        await reply(sink, from, `ncrx${s0 + 20n}`);
        await until(() => rel(nc).acks === 2, 'the last ack');
        nc.info('after');
        await sink.until((g) => g.some((x) => head(x.data).text.startsWith('after')));
        const texts = sink.got.map((g) => head(g.data).text.split('\n')[0]);
        const at = texts.findIndex((t) => t.includes('unacknowledged'));
        assert.ok(at >= 0 && at < texts.indexOf('after'), `a report before 'after' among ${JSON.stringify(texts)}`);
        assert.equal(texts[at], '** 2 messages unacknowledged **');
        const r = rel(nc);
        assert.equal(r.unacked, 2);
        assert.equal(nc.stats().targets[0].lost, 2);
        // The report takes a seq of the target's own: the stream has no hole.
        const seqs = [...new Set(sink.got.map((g) => head(g.data).seq))];
        for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1n);
      },
    );
  });

  test('a lost last message: resent with ncemg=1 once acks stop, then no more once acked', async () => {
    await withSinkNetconsole(
      (sink) => ({ targets: [target(sink)] }),
      async (nc, sink) => {
        nc.info('one');
        nc.info('two (its ack never comes: lost, as far as the sender knows)');
        await sink.until((g) => g.length >= 2);
        const [s1, s2] = sink.got.map((g) => head(g.data).seq);
        await reply(sink, sink.got[0].from, `ncrx${s1}`);
        const emg = await sink.waitFor((g) => head(g.data).emg, 10_000);
        assert.equal(head(emg.data).seq, s2);
        assert.equal(head(emg.data).text, head(sink.got[1].data).text, 'the same message, marked ncemg');
        await reply(sink, sink.got[0].from, `ncrx${s2}`);
        await until(() => rel(nc).acked === String(s2), 'the ack of the last');
        const n = rel(nc).emergencies;
        assert.ok(n >= 1);
        await sleep(4000);
        assert.equal(rel(nc).emergencies, n, 'acked: no more emergency resends');
      },
    );
  });

  test('close() gives the receiver ackWaitMs to ack: the newest unacked message is resent with ncemg at once, and close resolves on the ack; a receiver silent from then on holds it ackWaitMs, no longer', async () => {
    for (const acks of [true, false]) {
      const sink = await Sink.open();
      const nc = await Netconsole.create({ ...UNDER_TEST, targets: [target(sink)], ackWaitMs: acks ? 60_000 : 400 });
      let closed = false;
      try {
        for (let i = 0; i < 3; i++) nc.info(`closing ${i}`);
        await sink.until((g) => g.length >= 3);
        const [s0, , s2] = sink.got.map((g) => head(g.data).seq);
        const from = sink.got[0].from;
        await reply(sink, from, `ncrx${s0}`); // heard; 2 unacked
        await until(() => rel(nc).acks === 1, 'the first ack');
        const closing = nc.close().then(() => (closed = true));
        const emg = await sink.waitFor((g) => head(g.data).emg, 10_000);
        assert.equal(head(emg.data).seq, s2, 'the newest unacked, at once (not 3 s later)');
        assert.equal(closed, false, 'close() waits for the ack');
        if (acks) {
          await reply(sink, from, `ncrx${s2}`);
          await closing; // resolves on the ack, long before its 60 s
        } else {
          await closing; // resolves after its 400 ms
          const emergencies = sink.got.filter((g) => head(g.data).emg).length;
          assert.ok(emergencies >= 1 && emergencies <= 4, `resent every 250 ms while it waited: ${emergencies}`);
        }
        assert.equal(closed, true);
      } finally {
        await nc.close();
        await sink.close();
      }
    }
  });

  test('hostile replies never crash it, never make it resend without bound, and are counted', async () => {
    await withSinkNetconsole(
      (sink) => ({ targets: [target(sink)] }),
      async (nc, sink) => {
        for (let i = 0; i < 5; i++) nc.info(`h${i}`);
        await sink.until((g) => g.length >= 5);
        const from = sink.got[0].from;
        const [s0] = sink.got.map((g) => head(g.data).seq);
        const next = s0 + 5n;
        const hostile = [
          'garbage',
          'ncrx',
          `ncrx${s0} `,
          `ncrx${s0}\n`,
          'ncrx' + '9'.repeat(25),
          `ncrx${next}`, // acks a seq never sent
          `ncrx${s0} ${next + 100n}`, // asks for a seq never sent
          `ncrx18446744073709551616`, // past 2^64 - 1
          `ncrx${s0} ${Array.from({ length: 3000 }, (_, i) => s0 + 1n + BigInt(i % 4)).join(' ')}`, // 3,000 seqs (what a datagram holds): over 1,000 bytes
          'x'.repeat(1001),
        ];
        for (const h of hostile) await reply(sink, from, h);
        await until(
          () => rel(nc).badReplies === hostile.length,
          `${hostile.length} bad replies counted (${rel(nc).badReplies})`,
        );
        // 2^64 - 1 is "nothing done yet": a reply, no ack; its requests are answered.
        await reply(sink, from, `ncrx18446744073709551615 ${s0}`);
        await until(() => rel(nc).resends === 1, 'the one resend');
        // The same seq asked 200 times at once is resent once per RESEND_GAP_MS (once, unless
        // sending the 200 took longer than the gap: a busy machine).
        const before = sink.got.length;
        const t0 = performance.now();
        for (let i = 0; i < 200; i++) await reply(sink, from, `ncrx18446744073709551615 ${s0 + 1n}`);
        await until(() => rel(nc).requests === 201, 'all requests seen');
        const most = 1 + Math.floor((performance.now() - t0) / RESEND_GAP_MS);
        await sleep(100);
        const resent = sink.got.length - before;
        assert.ok(resent >= 1 && resent <= most, `${resent} resends for 200 requests (at most ${most})`);
        // From another address: a connected socket never sees it.
        const other = createSocket('udp4');
        await new Promise<void>((r) => other.bind(0, '127.0.0.2', r));
        const r0 = rel(nc);
        await new Promise<void>((r) => other.send(`ncrx${s0 + 3n} ${s0 + 4n}`, from, '127.0.0.1', () => r()));
        await sleep(300);
        await new Promise<void>((r) => other.close(() => r()));
        const r1 = rel(nc);
        assert.deepEqual(
          [r1.replies, r1.badReplies, r1.requests],
          [r0.replies, r0.badReplies, r0.requests],
          'a reply from elsewhere never reaches the target',
        );
        nc.info('still logging');
        await sink.until((g) => g.some((x) => head(x.data).text.startsWith('still logging')));
      },
    );
  });

  test("another target's records and send_msg leave no hole in a reliable target's seqs", async () => {
    await withSinkNetconsole(
      (sink) => ({
        targets: [target(sink), { name: 'plain', remote_ip: '127.0.0.1', remote_port: 9, extended: 1, enabled: 1 }],
      }),
      async (nc, sink) => {
        const plain = nc.targets.get('plain')!;
        nc.info('a');
        plain.send('to plain alone');
        nc.info('b');
        plain.send('to plain alone');
        nc.info('c');
        await sink.until((g) => g.length >= 3);
        const seqs = sink.got.map((g) => head(g.data).seq);
        assert.deepEqual(seqs, [seqs[0], seqs[0] + 1n, seqs[0] + 2n]);
      },
    );
  });

  test('reliable without extended, or on local_port 0, is refused at enable, naming the attribute', async () => {
    await withSinkNetconsole(
      () => ({ targets: [] }),
      async (nc, sink) => {
        const t = await nc.targets.create('b', { remote_ip: '127.0.0.1', remote_port: sink.port, reliable: 1 });
        await assert.rejects(
          t.enable(),
          (e: NodeJS.ErrnoException & { option?: string }) => e.code === 'EINVAL' && e.option === 'reliable',
        );
        await t.set('extended', 1);
        await t.set('local_port', 0);
        await assert.rejects(
          t.enable(),
          (e: NodeJS.ErrnoException & { option?: string }) => e.code === 'EINVAL' && e.option === 'local_port',
        );
        await t.set('local_port', 6665);
        await t.enable();
        await assert.rejects(
          t.set('reliable_msgs', 100),
          (e: NodeJS.ErrnoException) => e.code === 'EINVAL',
          'locked while enabled',
        );
      },
    );
  });

  test('a disabled reliable target resends nothing; enabled again, its seqs go on where they were', async () => {
    await withSinkNetconsole(
      (sink) => ({ targets: [target(sink)] }),
      async (nc, sink) => {
        nc.info('before');
        await sink.until((g) => g.length >= 1);
        const s0 = head(sink.got[0].data).seq;
        const from = sink.got[0].from;
        const t = nc.targets.get('r')!;
        await t.disable();
        await reply(sink, from, `ncrx18446744073709551615 ${s0}`);
        await sleep(300);
        assert.equal(sink.got.length, 1, 'nothing sent by a disabled target');
        await t.enable();
        nc.info('after');
        await sink.until((g) => g.length >= 2);
        assert.equal(head(sink.got[1].data).seq, s0 + 1n);
      },
    );
  });
});
