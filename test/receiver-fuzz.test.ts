// Fuzzing the receiver (src/receiver/receiver.ts) with fast-check: random bytes and mutated valid
// datagrams never throw and never grow memory past the bounds; valid messages cut into
// overlapping, duplicated, out-of-order fragments from several sources are each printed once,
// complete and exact.
//
// NETCONSOLE_RECEIVER_FUZZ_RUNS sets the number of random cases per property (default 1,000, a
// few seconds); run it with 100,000 for a long manual soak. NETCONSOLE_PROPERTY_SEED replays one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_TOTAL, Reassembler, type Message, type ReceiverOptions } from '../src/receiver/receiver.js';
import { encodeDatagrams } from '../src/core/wire.js';

const RUNS = Number(process.env.NETCONSOLE_RECEIVER_FUZZ_RUNS ?? 1000);
const SEED = process.env.NETCONSOLE_PROPERTY_SEED ? Number(process.env.NETCONSOLE_PROPERTY_SEED) : undefined;
const B = (s: string): Buffer => Buffer.from(s, 'latin1');

/** The Reassembler's private state that its bounds are about. */
interface Inside {
  pendingBytes: number;
  sources: Map<string, { pending: Map<string, unknown> }>;
}

const BOUNDS: Required<Omit<ReceiverOptions, 'fragmentTimeoutMs'>> = {
  maxPending: 16,
  maxPendingBytes: 96 * 1024,
  maxPendingPerSource: 4,
  maxSources: 8,
};

function checkBounds(r: Reassembler): void {
  const inside = r as unknown as Inside;
  assert.ok(r.pendingCount <= BOUNDS.maxPending, `pending ${r.pendingCount}`);
  assert.ok(inside.pendingBytes <= BOUNDS.maxPendingBytes, `pending bytes ${inside.pendingBytes}`);
  assert.ok(inside.sources.size <= BOUNDS.maxSources, `sources ${inside.sources.size}`);
  for (const s of inside.sources.values())
    assert.ok(s.pending.size <= BOUNDS.maxPendingPerSource, `pending for one source ${s.pending.size}`);
}

function wellFormed(m: Message): void {
  assert.equal(typeof m.text, 'string');
  assert.equal(typeof m.extended, 'boolean');
  if (!m.extended) return;
  assert.match(m.seq!, /^\d+$/);
  assert.ok(BigInt(m.seq!) < 1n << 64n);
  assert.match(m.tsUsec!, /^\d+$/);
  assert.ok(m.level! >= 0 && m.level! <= 7 && m.facility! >= 0 && m.facility! <= 31);
  assert.equal(typeof m.dict, 'object');
}

// ---------------------------------------------------------------- garbage in

/** Datagrams a real sender makes: whole, fragmented, with release and dictionary. */
const SEEDS: Buffer[] = [
  ...encodeDatagrams(
    { level: 6, seq: 77n, tsUsec: 5n, text: 'fuzz '.repeat(700), dict: [['K', 'v']] },
    { extended: true, release: '6.1.0', userdata: [['a', 'b']] },
  ).map((d) => Buffer.from(d)),
  B('6,1,2,-;short\n'),
  B('5.10.0,6,1,2,c,ncfrag=0/20;0123456789'),
  B('6,3,4,+,ncemg=1,ncfrag=10/20;abcdefghij'),
  B('0x0e,010,0x1f,-;hex and octal'),
];
const ALPHABET = B('0123456789,;-+c/=.x\\\n ncfragem\0');

const mutated = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(fc.tuple(fc.nat({ max: 80 }), fc.oneof(fc.constantFrom(...ALPHABET), fc.integer({ min: 0, max: 255 }))), {
      minLength: 1,
      maxLength: 6,
    }),
  )
  .map(([seed, edits]) => {
    const b = Buffer.from(seed);
    for (const [at, byte] of edits) if (b.length > 0) b[at % Math.min(b.length, 80)] = byte;
    return b;
  });
const garbage = fc.uint8Array({ maxLength: 1500 }).map((u) => Buffer.from(u));
const header = fc
  .tuple(
    fc.nat({ max: 300 }),
    fc.nat({ max: 40 }),
    fc.nat({ max: 9000 }),
    fc.nat({ max: 9000 }),
    fc.string({ maxLength: 30 }),
  )
  .map(([prio, seq, off, total, text]) => B(`${prio},${seq},0,-,ncfrag=${off}/${total};${text}`));
const datagram = fc.oneof(
  { weight: 1, arbitrary: garbage },
  { weight: 3, arbitrary: mutated },
  { weight: 2, arbitrary: header },
);

describe('fuzz: garbage and mutated datagrams', () => {
  test(`${RUNS} runs of up to 200 datagrams from up to 12 sources (bounds: ${JSON.stringify(BOUNDS)}): no throw, every message well-formed and counted, bounds kept, nothing left after a flush`, () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(datagram, fc.nat({ max: 11 })), { maxLength: 200, size: 'max' }), (input) => {
        const r = new Reassembler({ fragmentTimeoutMs: 60_000, ...BOUNDS });
        let emitted = 0;
        r.on('message', (m: Message) => {
          wellFormed(m);
          emitted++;
        });
        r.on('gap', () => {});
        for (const [d, src] of input) {
          r.push(d, `10.0.0.${src}:6665`);
          checkBounds(r);
        }
        r.flushPending();
        assert.equal(r.pendingCount, 0);
        assert.equal((r as unknown as Inside).pendingBytes, 0);
        assert.equal(r.counters.datagrams, input.length);
        assert.equal(r.counters.messages, emitted);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

// ---------------------------------------------------------------- valid messages, fragments in any order

/** Text without NUL (the datagram is a C string), newline (the dictionary starts there) or backslash (an escape). */
const body = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', ' ', '=', ';', ',', '/'), minLength: 1, maxLength: 3000, size: 'max' }),
  fc.integer({ min: 1, max: MAX_TOTAL }).map((n) => 'y'.repeat(n)),
  fc.string({ minLength: 1, maxLength: 40 }).map((s) => s.replace(/[\0\n\\\u0080-\uffff]/g, '.') || '.'),
);

interface Plan {
  seq: number;
  text: string;
  /** [offset, end) of each fragment, in the order sent; none: sent whole. */
  pieces: Array<[number, number]> | null;
}

/** Fragments covering [0, total): a partition at random cut points, then extra overlapping pieces and repeats. */
function pieces(
  total: number,
  cuts: number[],
  extra: Array<[number, number]>,
  maxPiece: number,
): Array<[number, number]> {
  const points = [...new Set(cuts.map((c) => c % total))].filter((c) => c > 0).sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  let from = 0;
  for (const p of [...points, total]) {
    for (let s = from; s < p; s += maxPiece) out.push([s, Math.min(p, s + maxPiece)]);
    from = p;
  }
  for (const [a, len] of extra) {
    const s = a % total;
    out.push([s, Math.min(total, s + 1 + (len % maxPiece))]);
  }
  return out;
}

const message = fc
  .record({
    text: body,
    fragmented: fc.boolean(),
    cuts: fc.array(fc.nat({ max: 1 << 20 }), { maxLength: 40, size: 'max' }),
    extra: fc.array(fc.tuple(fc.nat({ max: 1 << 20 }), fc.nat({ max: 2000 })), { maxLength: 30, size: 'max' }),
    order: fc.array(fc.nat(), { maxLength: 200, size: 'max' }),
  })
  .map(({ text, fragmented, cuts, extra, order }) => ({
    text,
    fragmented: fragmented || text.length > 900,
    cuts,
    extra,
    order,
  }));

function datagramsOf(plan: Plan): Buffer[] {
  const head = `6,${plan.seq},${plan.seq * 10},-`;
  if (!plan.pieces) return [B(`${head};${plan.text}`)];
  return plan.pieces.map(([s, e]) => B(`${head},ncfrag=${s}/${plan.text.length};${plan.text.slice(s, e)}`));
}

describe('fuzz: valid messages in overlapping, duplicated, out-of-order fragments', () => {
  test(`${RUNS} runs of up to 8 messages from each of 3 sources, interleaved: each printed once, complete and exact; no gap, no message out of sequence`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(message, { minLength: 1, maxLength: 8, size: 'max' }), {
          minLength: 1,
          maxLength: 3,
          size: 'max',
        }),
        fc.array(fc.nat(), { maxLength: 2000, size: 'max' }),
        (perSource, interleave) => {
          const queues = perSource.map((msgs, s) => {
            const out: Array<{ d: Buffer; src: string }> = [];
            msgs.forEach((m, i) => {
              const plan: Plan = {
                seq: 1000 + i,
                text: m.text,
                pieces: m.fragmented ? pieces(m.text.length, m.cuts, m.extra, 900) : null,
              };
              const ds = datagramsOf(plan);
              // Out of order within the message; then its datagrams again, some of them.
              for (let k = ds.length - 1; k > 0; k--) {
                const j = (m.order[k % Math.max(1, m.order.length)] ?? 0) % (k + 1);
                [ds[k], ds[j]] = [ds[j], ds[k]];
              }
              for (const d of [...ds, ...ds.filter((_, k) => (m.order[k] ?? 1) % 3 === 0)])
                out.push({ d, src: `10.1.0.${s}:6665` });
            });
            return out;
          });
          const r = new Reassembler({ fragmentTimeoutMs: 60_000 });
          const got: Message[] = [];
          r.on('message', (m: Message) => got.push(m));
          let gaps = 0;
          r.on('gap', () => gaps++);
          // Interleave the sources: each step sends the next datagram of one of them.
          let k = 0;
          while (queues.some((q) => q.length > 0)) {
            const live = queues.filter((q) => q.length > 0);
            const { d, src } = live[(interleave[k++] ?? 0) % live.length].shift()!;
            r.push(d, src);
          }
          assert.equal(r.pendingCount, 0, 'every message completed');
          r.flushPending();
          const want = perSource
            .flatMap((msgs, s) => msgs.map((m, i) => `10.1.0.${s}:6665 ${1000 + i} ${m.text}`))
            .sort();
          assert.deepEqual(got.map((m) => `${m.source} ${m.seq} ${m.text}`).sort(), want);
          for (const m of got) assert.deepEqual([m.extended, m.incomplete, m.oos], [true, undefined, undefined]);
          assert.equal(r.counters.oos, 0);
          assert.equal(gaps, 0);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
