// When a reliable target counts a message lost (src/host/reliable.ts, "Losses"; docs/reliable.md).
// A message pushed out of the retention before its ack may well have arrived: it is counted lost
// (`unacked`, told in-band) only when the receiver asks for it after the push-out (once, however
// often it asks), or when the receiver never settles it: silent for SILENT_MS, or the target stops
// first. An ack that passes it releases it without a word.
//
// ReliableLink is driven here by hand: a retention whose pushed-out boundary the test moves (the
// sender's RT_PUSHED), a socket that keeps what is resent, replies the test makes up, and a clock
// the test sets; tick() is the link's timer, called directly. A seeded walk checks the count
// against a model of the rule after each step (NETCONSOLE_RELIABLE_SEED replays it).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:dgram';
import { ReliableLink, SILENT_MS, reliableCounters } from '../src/host/reliable.js';
import type { Kept, Retention } from '../src/core/retention.js';
import { mulberry32, seedFrom } from '../harness/random.js';

/** The retention as the link sees it: seqs from `pushedSeq` to `next` are kept. */
class FakeRetention {
  next: bigint;
  pushedSeq: bigint;
  unacked = 0;
  /** Seqs the sender has not kept yet (still in the ring): read() finds nothing, not pushed. */
  unkept = 0n;
  constructor(
    start: bigint,
    readonly slots = 64,
  ) {
    this.next = this.pushedSeq = start;
  }
  nextSeq(): bigint {
    return this.next;
  }
  pushed(): bigint {
    return this.pushedSeq;
  }
  countUnacked(n: number): void {
    this.unacked += n;
  }
  setHeard(): void {}
  setAcked(): void {}
  counters(): { kept: number; unacked: number; unheard: number } {
    return { kept: Number(this.next - this.unkept - this.pushedSeq), unacked: this.unacked, unheard: 0 };
  }
  read(seq: bigint): Kept | null {
    if (seq < this.pushedSeq || seq >= this.next - this.unkept) return null;
    const message = Buffer.from(`6,${seq},0,-;m${seq}`);
    return { seq, message, prefixLen: message.indexOf(';') };
  }
  /** `n` messages written and kept, then the oldest pushed out until at most `slots` are kept. */
  write(n: number): void {
    this.next += BigInt(n);
    const oldest = this.next - BigInt(this.slots);
    if (oldest > this.pushedSeq) this.pushedSeq = oldest;
  }
}

class FakeSocket extends EventEmitter {
  sent: Buffer[] = [];
  send(b: Buffer, cb?: (err: Error | null) => void): void {
    this.sent.push(b);
    cb?.(null);
  }
  close(): void {}
}

function setup(start = 1000n, slots = 64) {
  const retention = new FakeRetention(start, slots);
  const socket = new FakeSocket();
  let now = 0;
  const link = new ReliableLink(
    socket as unknown as Socket,
    retention as unknown as Retention,
    reliableCounters(),
    () => now,
  );
  const reply = (text: string): void => void socket.emit('message', Buffer.from(text));
  const tick = (): void => (link as unknown as { tick(): void }).tick();
  /** Moves the clock, ticking every 100 ms as the link's timer does. */
  const advance = (ms: number): void => {
    for (const end = now + ms; now < end;) {
      now = Math.min(end, now + 100);
      tick();
    }
  };
  return { retention, socket, link, reply, advance, counters: link.counters };
}

describe('reliable targets: a pushed-out message is lost only when the receiver says so', () => {
  test('pushed out, then passed by an ack: nothing counted, however many were pushed out', () => {
    const { retention, link, reply } = setup();
    reply('ncrx999'); // heard: nothing done yet but the seq before the first
    retention.write(1000); // 936 pushed out before any ack came
    assert.equal(retention.pushed(), 1936n);
    reply('ncrx1999');
    assert.equal(retention.unacked, 0);
    link.stop();
    assert.equal(retention.unacked, 0, 'stop counts nothing the receiver acked');
  });

  test('asked for after the push-out: counted once per seq, however often it is asked for; a kept seq is resent, an unkept one waits', () => {
    const { retention, socket, link, reply, advance, counters } = setup();
    reply('ncrx999');
    retention.write(100); // 1000..1035 pushed out, 1036..1099 kept
    retention.unkept = 2n; // 1098, 1099 not kept yet by the sender
    reply('ncrx1009 1010 1011 1040 1098');
    assert.equal(retention.unacked, 2, '1010 and 1011: pushed out, asked for');
    assert.equal(counters.resends, 1, '1040 resent');
    assert.equal(socket.sent.length, 1);
    assert.equal(counters.refused, 3);
    advance(1000); // the receiver's retransmission interval
    reply('ncrx1009 1010 1011 1040 1098');
    reply('ncrx1009 1010 1011');
    assert.equal(retention.unacked, 2, 'asked again: not counted again');
    assert.equal(counters.resends, 2, '1040 resent again, the gap having passed');
    reply('ncrx1500 1200'); // a seq never written is a bad reply: nothing counted
    assert.equal(counters.badReplies, 1);
    reply('ncrx1011'); // the receiver gave 1010, 1011 up: the ack moves past them
    retention.unkept = 0n;
    reply('ncrx1099');
    link.stop();
    assert.equal(retention.unacked, 2);
  });

  test('a receiver silent for SILENT_MS: what was pushed out unacked is counted then, once; while it is heard, nothing', () => {
    const { retention, link, reply, advance } = setup();
    reply('ncrx999');
    retention.write(100); // 1000..1035 pushed out
    reply('ncrx1004 1006'); // 1006 counted now
    assert.equal(retention.unacked, 1);
    advance(SILENT_MS - 200);
    assert.equal(retention.unacked, 1, 'not silent for long enough yet');
    reply('ncrx1004'); // still there
    advance(SILENT_MS - 200);
    assert.equal(retention.unacked, 1);
    advance(400);
    assert.equal(retention.unacked, 31, '1005..1035 but 1006, counted as the silence passed SILENT_MS');
    retention.write(10); // 1036..1045 pushed out while silent: counted at the next tick
    advance(100);
    assert.equal(retention.unacked, 41);
    reply('ncrx1045 1007'); // back: counted already, nothing twice
    assert.equal(retention.unacked, 41);
    retention.write(10); // heard again: a push-out is not counted
    advance(SILENT_MS - 200);
    assert.equal(retention.unacked, 41);
    link.stop();
    assert.equal(retention.unacked, 51, 'stop: 1046..1055 never settled');
  });

  test('a receiver never heard from: nothing is counted, not even at stop (netconsd never replies)', () => {
    const { retention, link, advance } = setup();
    retention.write(500);
    advance(SILENT_MS * 2);
    link.stop();
    assert.equal(retention.unacked, 0);
  });

  test('a seeded walk of writes, acks, requests, silences and a stop: the count is the model rule after every step', () => {
    const seed = seedFrom('NETCONSOLE_RELIABLE_SEED');
    console.log(`# seed ${seed} (NETCONSOLE_RELIABLE_SEED=${seed} replays it)`);
    for (let walk = 0; walk < 40; walk++) {
      const random = mulberry32(seed + walk);
      const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
      const start = 5000n;
      const { retention, link, reply, advance } = setup(start, 32);
      // The model: acked below `acked`; counted: seqs lost by the rule, a set.
      let acked = start;
      let heard = false;
      let lastReply = 0;
      let clock = 0;
      const counted = new Set<bigint>();
      const countSilent = (): void => {
        for (let s = acked; s < retention.pushed(); s++) counted.add(s);
      };
      const steps: string[] = [];
      for (let step = 0; step < 60; step++) {
        const what = random();
        if (what < 0.35) {
          const n = int(1, 40);
          retention.write(n);
          steps.push(`write ${n}`);
        } else if (what < 0.8 && retention.next > start) {
          // A reply: an ack somewhere between the last one and the newest, and holes above it
          // (among the last 64 seqs: half of them pushed out, the retention keeping 32).
          const next = retention.next;
          const ack = BigInt(int(Number(acked), Number(next))) - 1n;
          const missing: bigint[] = [];
          const low = ack + 1n > next - 64n ? ack + 1n : next - 64n;
          for (let s = low; s < next; s++) if (random() < 0.1) missing.push(s);
          const text = `ncrx${ack < start ? (2n ** 64n - 1n).toString() : ack}${missing.map((s) => ` ${s}`).join('')}`;
          reply(text);
          steps.push(text);
          heard = true;
          lastReply = clock;
          if (ack + 1n > acked) acked = ack + 1n;
          for (const s of missing) if (s >= acked && s < retention.pushed()) counted.add(s);
        } else {
          const ms = random() < 0.3 ? SILENT_MS + int(0, 500) : int(100, 3000);
          advance(ms);
          clock += ms;
          steps.push(`wait ${ms}`);
          if (heard && clock - lastReply >= SILENT_MS) countSilent();
        }
        // Counted once is counted for good: an ack later does not take it back.
        assert.equal(retention.unacked, counted.size, `seed ${seed}, walk ${walk}, after ${steps.join(' | ')}`);
      }
      link.stop();
      if (heard) countSilent();
      assert.equal(retention.unacked, counted.size, `seed ${seed}, walk ${walk}: at stop`);
    }
  });
});
