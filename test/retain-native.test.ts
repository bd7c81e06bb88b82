// The sender keeps a reliable target's messages (docs/reliable.md): the dgram sender through
// assembly/retain.ts (Core.ring.publishTail), the addon's thread through native/retain.cc. Two copies of
// one procedure over one memory, so this test runs both over the same ring, round after round
// (seeded; the seed is printed), and checks after each round that
//   * they leave the same bytes: every reliable target's region, its slot's words from TGT_RSEQ on,
//     and LOST_TOTAL;
//   * what they keep is what was sent: every entry the host can read is the message its datagrams
//     carried, reassembled independently here from the ring (UDP datagrams and raw frames, IPv4 and
//     IPv6, with a release prefix, fragmented or not), and the newest message is always there;
//   * the bounds hold (messages and bytes); RT_PUSHED is the oldest seq kept; push-outs are counted
//     unheard before the receiver replied, and not at all after (a push-out is no loss: the host
//     counts one when the receiver asks for it, host/reliable.ts).
// The ring is walked in pieces cut at chosen slot boundaries: a tail published mid-message leaves a
// fragmented entry half written until the next piece.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { L, memoryBytes, slotBytes, targetOffset } from '../src/core/layout.js';
import { native } from '../src/core/native.js';
import { regionBytes, Retention, RetentionSpace } from '../src/core/retention.js';
import { addressingBlock } from '../src/core/wire.js';
import { Core } from '../src/core/wasm.js';
import { enableBareTarget } from '../harness/bare-target.js';
import { mulberry32, seedFrom } from '../harness/random.js';

const RING = 1 << 20;
const ROUNDS = 60;

interface Reliable {
  t: number;
  flags: number;
  slots: number;
  bytes: number;
  retention?: Retention;
  /** seq -> the whole message, as reassembled from the ring */
  sent: Map<bigint, Buffer>;
}

/** The message of one target's datagrams (payloads, in ring order), reassembled here: fragments
 *  merged by their ncfrag offsets, prefix without the ncfrag field. */
function reassemble(payloads: Buffer[]): Array<{ seq: bigint; message: Buffer }> {
  const out: Array<{ seq: bigint; message: Buffer }> = [];
  let open: { seq: bigint; prefix: string; data: Buffer; filled: number } | null = null;
  for (const p of payloads) {
    const s = p.toString('latin1');
    const semi = s.indexOf(';');
    const fields = s.slice(0, semi).split(',');
    const frag = fields[fields.length - 1].startsWith('ncfrag=') ? fields.pop()!.slice(7).split('/').map(Number) : null;
    const prefix = fields.join(',');
    const hdr = prefix.split(',');
    // "[release,]prio,seq,ts,flag[,ncfirst=N]": the seq is the field after the prio
    const prioAt = /^\d+$/.test(hdr[0]) ? 0 : 1;
    const mseq = BigInt(hdr[prioAt + 1]);
    const data = p.subarray(semi + 1);
    if (frag === null) {
      out.push({ seq: mseq, message: Buffer.from(p) });
      continue;
    }
    const [off, total] = frag;
    if (off === 0) open = { seq: mseq, prefix, data: Buffer.alloc(total), filled: 0 };
    assert.ok(open && open.seq === mseq && open.filled === off, `fragments in order (seq ${mseq}, offset ${off})`);
    data.copy(open.data, off);
    open.filled += data.length;
    if (open.filled === total) {
      out.push({ seq: mseq, message: Buffer.concat([Buffer.from(`${open.prefix};`, 'latin1'), open.data]) });
      open = null;
    }
  }
  return out;
}

function overhead(family: number): number {
  return L.ETH_HLEN + (family === 6 ? L.IPV6_HLEN : L.IPV4_HLEN) + L.UDP_HLEN;
}

test(
  'the addon keeps what retain.ts keeps, byte for byte, and both keep what was sent',
  { skip: native === null ? 'no addon' : false },
  () => {
    const seed = seedFrom('NETCONSOLE_RETAIN_SEED');
    console.log(`# seed ${seed} (NETCONSOLE_RETAIN_SEED=${seed} replays it)`);
    const random = mulberry32(seed);
    const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
    const core = Core.create({ ringSize: RING });
    try {
      const release = new TextEncoder().encode('6.1.0-test');
      const targets: Reliable[] = [
        { t: 0, flags: L.F_EXTENDED | L.F_RELIABLE | L.F_RELEASE, slots: 24, bytes: 64 << 10, sent: new Map() }, // the message bound
        { t: 1, flags: L.F_EXTENDED | L.F_RELIABLE | L.F_RAW, slots: 4096, bytes: 20 << 10, sent: new Map() }, // the byte bound
        { t: 2, flags: L.F_EXTENDED | L.F_RELIABLE | L.F_RAW, slots: 256, bytes: 256 << 10, sent: new Map() },
      ];
      const families = [4, 4, 6];
      const space = new RetentionSpace(core.memory, memoryBytes(RING));
      for (const r of targets) {
        enableBareTarget(core, r.t, r.flags);
        if (r.flags & L.F_RELEASE) core.targets.setTargetLocked(r.t, r.flags, release, null);
        if (r.flags & L.F_RAW) {
          const v6 = families[r.t] === 6;
          core.targets.setTargetAddr(
            r.t,
            addressingBlock({
              dstMac: new Uint8Array(6).fill(2),
              srcMac: new Uint8Array(6).fill(4),
              family: v6 ? 6 : 4,
              srcPort: 6665,
              dstPort: 6666,
              srcIp: new Uint8Array(v6 ? 16 : 4).fill(1),
              dstIp: new Uint8Array(v6 ? 16 : 4).fill(3),
            }),
          );
        }
        r.retention = new Retention(core.memory, r.t, space.take(regionBytes(r.slots, r.bytes)), r.slots, r.bytes);
        r.retention.install(BigInt(r.t) * 1000n);
      }
      enableBareTarget(core, 3, L.F_EXTENDED); // not reliable: its slots lie between theirs
      const layout = { ...L, ringSize: RING };
      let heard = false;
      const unheardAtReply: number[] = [];
      const pushedAtReply: bigint[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const records = int(1, 12);
        for (let i = 0; i < records; i++) {
          const kind = random();
          const len = kind < 0.6 ? int(0, 300) : kind < 0.85 ? int(940, 1060) : int(1000, 9000);
          const text = Buffer.alloc(len);
          for (let k = 0; k < len; k++) text[k] = random() < 0.02 ? int(0, 31) : int(0x20, 0x7e);
          assert.equal(core.write(14, 0, core.putTextBytes(text), 0, 1e6 + round), 4, 'offered to the four targets');
        }
        // What was sent, per reliable target, read from the ring before anyone keeps it.
        const tail = core.ring.tail();
        const head = core.ring.head();
        const payloads = new Map<number, Buffer[]>(targets.map((r) => [r.t, []]));
        const mem = core.memory.buffer as unknown as SharedArrayBuffer; // the test's own views of the ring
        const [u8, u32, dv] = [new Uint8Array(mem), new Uint32Array(mem), new DataView(mem)];
        const bounds: number[] = [];
        for (let pos = tail; pos < head;) {
          const at = L.RING_OFF + (pos % RING);
          const len = u32[(at + L.SLOT_LEN) >> 2]!;
          const kind = dv.getUint16(at + L.SLOT_KIND, true);
          const t = dv.getUint16(at + L.SLOT_TARGET, true);
          if ((kind & L.K_MASK) !== L.K_PAD && payloads.has(t)) {
            const skip = (kind & L.K_MASK) === L.K_FRAME ? overhead(families[t]) : 0;
            payloads.get(t)!.push(Buffer.from(u8.subarray(at + L.SLOT_HDR + skip, at + L.SLOT_HDR + len)));
          }
          pos += slotBytes(len);
          bounds.push(pos);
        }
        for (const r of targets) for (const m of reassemble(payloads.get(r.t)!)) r.sent.set(m.seq, m.message);
        // Acks: the receiver replies from some round on, and acks what it likes.
        if (round === 20) {
          heard = true;
          for (const r of targets) {
            r.retention!.setHeard();
            unheardAtReply[r.t] = r.retention!.counters().unheard;
            pushedAtReply[r.t] = r.retention!.pushed();
          }
        }
        if (heard && random() < 0.5)
          for (const r of targets) r.retention!.setAcked(r.retention!.nextSeq() - BigInt(int(0, 40)));
        // The pieces: up to 3 cuts at slot boundaries, then the head.
        const cuts = [...new Set(Array.from({ length: int(0, 3) }, () => bounds[int(0, bounds.length - 1)]))]
          .sort((a, b) => a - b)
          .filter((c) => c < head);
        const ranges: number[] = [];
        let from = tail;
        for (const c of [...cuts, head]) {
          ranges.push(from, c);
          from = c;
        }
        const mirror = new Uint8Array(core.memory.buffer.byteLength);
        mirror.set(new Uint8Array(core.memory.buffer));
        native!.retainRange(mirror, layout, ranges);
        for (const c of [...cuts, head]) core.ring.publishTail(c); // the dgram sender's way
        const mine = new Uint8Array(core.memory.buffer);
        const same = (from: number, to: number, what: string): void => {
          const i = mine.subarray(from, to).findIndex((b, k) => b !== mirror[from + k]);
          assert.equal(i, -1, `round ${round} (seed ${seed}): ${what} differs at byte ${i}`);
        };
        same(L.LOST_TOTAL, L.LOST_TOTAL + 8, 'LOST_TOTAL');
        for (const r of targets) {
          const tp = targetOffset(r.t);
          same(tp + L.TGT_RSEQ, tp + L.TGT_END, `target ${r.t}'s words`);
          same(r.retention!.base, r.retention!.base + regionBytes(r.slots, r.bytes), `target ${r.t}'s region`);
          // What it keeps is what was sent; the newest is kept; the bounds hold.
          const next = r.retention!.nextSeq();
          const { kept, unacked } = r.retention!.counters();
          assert.ok(kept <= r.slots, `round ${round}: ${kept} kept, at most ${r.slots}`);
          let bytes = 0;
          let readable = 0;
          for (let seq = next - BigInt(kept); seq < next; seq++) {
            const k = r.retention!.read(seq);
            assert.ok(k, `round ${round} (seed ${seed}): target ${r.t} keeps seq ${seq} (${kept} kept, next ${next})`);
            assert.ok(
              k.message.equals(r.sent.get(seq)!),
              `round ${round} (seed ${seed}): target ${r.t} seq ${seq} is what was sent`,
            );
            assert.equal(k.message[k.prefixLen], 0x3b);
            bytes += k.message.length;
            readable++;
          }
          assert.ok(bytes <= r.bytes, `${bytes} bytes kept, at most ${r.bytes}`);
          assert.equal(readable, kept);
          if (next > BigInt(r.t) * 1000n) assert.ok(kept >= 1, 'the newest message is kept');
          assert.equal(r.retention!.read(next - BigInt(kept) - 1n), null, 'what was pushed out is not read');
          assert.equal(r.retention!.pushed(), next - BigInt(kept), `round ${round}: RT_PUSHED is the oldest kept`);
          assert.equal(unacked, 0, 'the sender never counts a push-out lost');
        }
      }
      // Every bound was reached and push-outs were counted both ways.
      const c = targets.map((r) => r.retention!.counters());
      assert.equal(c[0].kept, targets[0].slots, 'target 0 is full by messages');
      assert.ok(
        c[0].unheard > 0 && c[0].unheard === unheardAtReply[0] && targets[0].retention!.pushed() > pushedAtReply[0],
        `target 0 counted push-outs before the first reply, pushed out more after it: ${JSON.stringify(c[0])}`,
      );
      assert.ok(c[1].kept < targets[1].slots && c[1].unheard > 0, `target 1 is full by bytes: ${JSON.stringify(c[1])}`);
    } finally {
      core.release();
    }
  },
);
