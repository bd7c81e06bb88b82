// The schedule explorer: the dual-lock host under every interleaving of two operations on one
// target (and its device), both orders, started in the same tick and at several microtask
// offsets, from an enabled and from a deactivated target, with both senders; plus seeded random
// walks of longer sequences. Each run is checked against a model of the kernel's netconsole and
// the invariants (test/helpers/explorer/run.ts).
//
//   NETCONSOLE_EXPLORE_OFFSETS=0,1,2,5   the microtask offsets (default 0,1,3)
//   NETCONSOLE_EXPLORE_WALKS=40          random walks per sender (default 40)
//   NETCONSOLE_EXPLORE_SEED=<n>          replay the walks of a seed (printed on failure)
//   NETCONSOLE_EXPLORE_LONG=1            a long run: offsets 0..8, 2,000 walks per sender
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bench, type PlannedOp } from './helpers/explorer/run.js';
import { OP_KINDS, type OpKind } from './helpers/explorer/model.js';
import { mulberry32, seedFrom } from '../harness/random.js';
import { requireSender, SENDERS } from './helpers/requires.js';

const LONG = process.env.NETCONSOLE_EXPLORE_LONG === '1';
const OFFSETS = (process.env.NETCONSOLE_EXPLORE_OFFSETS ?? (LONG ? '0,1,2,3,4,5,6,7,8' : '0,1,3'))
  .split(',')
  .map(Number);
const WALKS = Number(process.env.NETCONSOLE_EXPLORE_WALKS ?? (LONG ? 2000 : 40));
const SEED = seedFrom('NETCONSOLE_EXPLORE_SEED');
const WALK_LENGTH = 8;

/** Configuration ops act on the target bound by MAC when a registration by MAC is in play. */
function onFor(ops: PlannedOp[]): 'a' | 'b' {
  return ops.some((o) => o.kind === 'register-mac') ? 'b' : 'a';
}

for (const sender of SENDERS) {
  describe(`schedule explorer, ${sender} sender`, () => {
    test(`every ordered pair of ${OP_KINDS.length} operations, at microtask offsets ${OFFSETS.join(', ')}, from enabled and from deactivated`, async (t) => {
      if (!requireSender(t, sender)) return;
      const bench = await Bench.open(sender);
      const failures: string[] = [];
      try {
        for (const init of ['enabled', 'deactivated'] as const) {
          for (const first of OP_KINDS) {
            for (const second of OP_KINDS) {
              for (const at of OFFSETS) {
                const ops: PlannedOp[] = [
                  { kind: first, at: 0 },
                  { kind: second, at },
                ];
                const r = await bench.run({ sender, init, on: onFor(ops), ops });
                if (r !== null) failures.push(r);
                if (failures.length >= 5) break;
              }
            }
          }
        }
      } finally {
        await bench.close();
      }
      console.log(`# schedule explorer (${sender}): ${bench.runs} pair runs`);
      assert.deepEqual(failures, [], failures.join('\n\n'));
    });

    test(`${WALKS} seeded random walks of ${WALK_LENGTH} operations (seed ${SEED})`, async (t) => {
      if (!requireSender(t, sender)) return;
      const bench = await Bench.open(sender);
      const rnd = mulberry32(SEED ^ (sender === 'native' ? 0 : 0x9e3779b9));
      const failures: string[] = [];
      const pick = (): OpKind => {
        // close ends a walk: rarer
        const kinds = rnd() < 0.03 ? OP_KINDS : OP_KINDS.filter((k) => k !== 'close');
        return kinds[Math.floor(rnd() * kinds.length)];
      };
      try {
        for (let w = 0; w < WALKS && failures.length < 3; w++) {
          const ops: PlannedOp[] = [];
          let at = 0;
          for (let i = 0; i < WALK_LENGTH; i++) {
            at += Math.floor(rnd() * 4); // 0..3 microtasks after the one before: some overlap, some not
            ops.push({ kind: pick(), at });
          }
          const init = rnd() < 0.5 ? 'enabled' : 'deactivated';
          const r = await bench.run({ sender, init, on: onFor(ops), ops });
          if (r !== null) failures.push(`walk ${w} (seed ${SEED}): ${r}`);
        }
      } finally {
        await bench.close();
      }
      console.log(`# schedule explorer (${sender}): ${bench.runs} walks, seed ${SEED}`);
      assert.deepEqual(
        failures,
        [],
        `seed ${SEED} (NETCONSOLE_EXPLORE_SEED=${SEED} replays it)\n${failures.join('\n\n')}`,
      );
    });
  });
}
