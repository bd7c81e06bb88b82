// Scenario write-path: records per second through the write path, one thread, to one extended
// target, texts of 100 B to 8,000 B (8,190 is the most an extended record carries untruncated
// under the default maxTotal), the WebAssembly path against the plain-TypeScript reference.
//
// wasm: what a log call costs: the string copied (UTF-8) into the thread's area of the shared
// memory, and one write_record call that takes the spinlock, formats, fragments and writes the
// datagrams into the ring. A consumer is simulated by moving the ring's tail up to its head every
// 256 records; `dropped` (extra) shows the ring never filled.
// wasm-reliable: the same to one reliable target (docs/reliable.md) whose receiver has replied:
// the log call numbers the message with the target's own seq; the sender keeps it (the retention
// copy and push-outs are the sender's work, assembly/retain.ts), so the consumer here moves the
// tail as for wasm. The goal of issue 17: within 5% of wasm.
// wasm-reliable+keep: the same, the consumer publishing the tail as the dgram sender does
// (Core.ring.publishTail: every message copied into the target's retention region, full after the first
// records, so each also pushes the oldest, acked, one out; acks move every 256 records): the log
// call and the sender's keeping on one thread, what the two cost together.
// wasm-wait: the same as wasm under overflow 'wait' (the default: REC_WAIT, a record that does not
// fit is not dropped; the writer waits for room outside the lock), which must cost what 'drop' does.
// reference: the same record from the same string through canonicalRecord + referenceDatagrams.
import { enableBareTarget } from '../harness/bare-target.js';
import { L, memoryBytes } from '../src/core/layout.js';
import { regionBytes, Retention, RetentionSpace } from '../src/core/retention.js';
import { referenceDatagrams } from '../src/reference/datagrams.js';
import { canonicalRecord, canonicalTarget } from '../src/core/validate.js';
import { Core } from '../src/core/wasm.js';
import { opsPerSec, text, type Case, type Scenario } from './harness.js';

const SIZES = { full: [100, 1000, 2000, 4000, 8000], quick: [100, 1000, 8000], smoke: [100, 2000] };
const ROUND_MS = { full: 200, quick: 60, smoke: 10 };

const RING = 16 << 20;

function extendedCore(reliable: boolean): { core: Core; retention?: Retention } {
  const core = Core.create({ ringSize: RING });
  if (!reliable) {
    enableBareTarget(core);
    return { core };
  }
  const [slots, bytes] = [8192, 4 << 20]; // the defaults of reliable_msgs and reliable_bytes
  const base = new RetentionSpace(core.memory, memoryBytes(RING)).take(regionBytes(slots, bytes));
  enableBareTarget(core, 0, L.F_EXTENDED | L.F_RELIABLE);
  const retention = new Retention(core.memory, 0, base, slots, bytes);
  retention.install(0n); // no writer yet
  retention.setHeard();
  return { core, retention };
}

export const scenario: Scenario = {
  name: 'write-path',
  about: 'records/s through the write path on one thread: WebAssembly vs the TypeScript reference, 100 B to 8,000 B',
  cases(ctx) {
    const targetMs = ROUND_MS[ctx.profile];
    return SIZES[ctx.profile].map((size): Case => {
      let core: Core;
      let reliableCore: Core;
      let retention: Retention | undefined;
      const msg = text(size);
      const tgt = canonicalTarget({ extended: true });
      return {
        scenario: 'write-path',
        params: { size },
        unit: 'records/s',
        higherIsBetter: true,
        baseline: 'reference',
        subjects: ['wasm', 'wasm-wait', 'wasm-reliable', 'wasm-reliable+keep', 'reference'],
        async around(body) {
          core = extendedCore(false).core;
          ({ core: reliableCore, retention } = extendedCore(true));
          try {
            await body();
          } finally {
            core.release();
            reliableCore.release();
          }
        },
        measure(subject) {
          if (subject === 'reference') {
            const value = opsPerSec(
              (n) => {
                for (let i = 0; i < n; i++)
                  referenceDatagrams(canonicalRecord({ prio: 14, seq: i, tsUsec: i, text: msg }), tgt, 8191);
              },
              { targetMs },
            );
            return { value };
          }
          const reliable = subject.startsWith('wasm-reliable');
          const keep = subject === 'wasm-reliable+keep';
          const c = reliable ? reliableCore : core;
          const buf = c.memory.buffer as unknown as SharedArrayBuffer;
          const tail = new BigUint64Array(buf, L.RING_TAIL, 1);
          const head = new BigUint64Array(buf, L.RING_HEAD, 1);
          const write = c.exports.write_record;
          const u8 = c.text;
          const encoder = new TextEncoder();
          const thread = c.thread;
          const acks = reliable ? retention : undefined;
          const flags = subject === 'wasm-wait' ? L.REC_WAIT : 0; // the ring never fills here: no E_NOROOM
          const value = opsPerSec(
            (n) => {
              for (let i = 0; i < n; i++) {
                const len = encoder.encodeInto(msg, u8).written!;
                write(thread, 14, flags, len, 0, i);
                if ((i & 255) === 255) {
                  if (keep) c.ring.publishTail(c.ring.head());
                  else Atomics.store(tail, 0, Atomics.load(head, 0));
                  acks?.setAcked(acks.nextSeq());
                }
              }
            },
            { targetMs },
          );
          const n = c.targets.targetCounters(0);
          return {
            value,
            extra: {
              dropped: n.dropped,
              truncated: n.truncated,
              ...(reliable ? { kept: n.kept, unacked: n.unacked } : {}),
            },
          };
        },
      };
    });
  },
};
