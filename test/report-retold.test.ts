// A lost in-band report tells nothing: the losses it carried are told again. The write path puts
// the number of losses a report tells in its first slot (SLOT_AUX); a sender that loses the report
// hands them back (Core.targets.countReportLost, TGT_CNT_REPORT_LOST), and the next record to the target
// is preceded by a report of them, plus any since. A lost report is not a lost message.
// End to end (a carrier lost past holdMs, both senders): test/linkfault.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { L } from '../src/core/layout.js';
import { Core } from '../src/core/wasm.js';
import { enableBareTarget } from '../harness/bare-target.js';

interface Seen {
  report: boolean;
  first: boolean;
  aux: number;
  text: string;
}

function log(core: Core, text: string): number {
  const len = core.putTextBytes(new TextEncoder().encode(text));
  return core.write(6, 0, len, 0, 0);
}

/** The slots since the last call, consumed as the senders do (Core.ring.walk). */
function take(core: Core): Seen[] {
  const seen: Seen[] = [];
  const { end } = core.ring.walk(core.ring.tail(), Infinity, (_t, kind, _gen, bytes, aux) => {
    const text = new TextDecoder().decode(bytes);
    seen.push({
      report: (kind & L.KF_REPORT) !== 0,
      first: (kind & L.KF_FIRST) !== 0,
      aux,
      text: text.slice(text.indexOf(';') + 1),
    });
    return 'done';
  });
  core.ring.publishTail(end);
  return seen;
}

function skip(core: Core, n: number): void {
  core.targets.setDeviceUp(0, false);
  for (let i = 0; i < n; i++) log(core, `skipped ${i}`);
  core.targets.setDeviceUp(0, true);
}

/** What arrived, reports as `report N` (N from the text, checked against SLOT_AUX). */
function shown(seen: Seen[]): string[] {
  return seen.map((s) => {
    if (!s.report) return s.text.trimEnd();
    const n = /^\*\* (\d+) messages dropped \*\*\n$/.exec(s.text);
    assert.ok(s.first && n !== null, s.text);
    assert.equal(s.aux, Number(n[1]), 'SLOT_AUX holds the count the report tells');
    return `report ${n[1]}`;
  });
}

describe('in-band reports: a lost report is told again', () => {
  test('a report carries its count in SLOT_AUX; once lost, the next report tells it again with the losses since', () => {
    const core = Core.create({ ringSize: 64 << 10 });
    try {
      enableBareTarget(core);
      skip(core, 3);
      assert.equal(log(core, 'a'), 1);
      assert.deepEqual(shown(take(core)), ['report 3', 'a']);
      assert.equal(log(core, 'b'), 1);
      assert.deepEqual(shown(take(core)), ['b'], 'told once: nothing more to report');
      // The sender lost that report: its 3 losses are handed back.
      core.targets.countReportLost(0, 3);
      skip(core, 2);
      assert.equal(log(core, 'c'), 1);
      assert.deepEqual(shown(take(core)), ['report 5', 'c']);
      const n = core.targets.targetCounters(0);
      // A lost report is not a lost message: lost is the 5 skipped; reported (net) tells all of them.
      assert.deepEqual([n.skipped, n.lostInTransmit, n.reported, n.reportLost], [5, 0, 8, 3]);
      assert.equal(n.reported - n.reportLost, n.skipped);
    } finally {
      core.release();
    }
  });

  test('a report tells at most 2^32 - 1 losses (SLOT_AUX is a u32): the next one tells the rest', () => {
    const core = Core.create({ ringSize: 64 << 10 });
    try {
      enableBareTarget(core);
      core.targets.countReportLost(0, 2 ** 32 + 4); // as if reports of that many losses were lost
      assert.equal(log(core, 'a'), 1);
      assert.deepEqual(shown(take(core)), [`report ${2 ** 32 - 1}`, 'a']);
      assert.equal(log(core, 'b'), 1);
      assert.deepEqual(shown(take(core)), ['report 5', 'b']);
      assert.equal(log(core, 'c'), 1);
      assert.deepEqual(shown(take(core)), ['c']);
    } finally {
      core.release();
    }
  });

  test('the write path notices a lost report at once: its scan is not skipped (LOST_TOTAL moves)', () => {
    const core = Core.create({ ringSize: 64 << 10 });
    try {
      enableBareTarget(core);
      assert.equal(log(core, 'a'), 1);
      assert.deepEqual(shown(take(core)), ['a'], 'nothing to report: the scan records LOST_SEEN');
      core.targets.countReportLost(0, 7);
      assert.equal(log(core, 'b'), 1);
      assert.deepEqual(shown(take(core)), ['report 7', 'b']);
    } finally {
      core.release();
    }
  });
});
