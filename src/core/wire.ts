/// <reference types="node" preserve="true" />
// (kept in the .d.ts for apps on TypeScript 6+: docs/toolchain.md 1; test/pack.test.ts checks it)
// `netconsole/wire`: the encoding API. The exact datagrams and frames Linux netconsole would send
// for a record and a target, from the WebAssembly write path (default) or the plain-TypeScript
// reference ({ impl: 'reference' }). Field names are those of the known-answer cases (test/fixtures/wire.json).
//
// The WebAssembly path runs the real write path: a private shared memory per thread and maxTotal
// (the last ENCODER_CACHE maxTotals used are kept) with one target, whose ring is drained after
// each record. What is accepted, and the typed errors for the rest: validate.ts.
/**
 * The exact datagrams and frames Linux netconsole would send for a record and a target.
 * @packageDocumentation
 * @module netconsole/wire
 */
import { parseIp, parseMac } from '../base/addr.js';
import { invalid, TooLargeError } from '../base/errors.js';
import { L } from './layout.js';
import { referenceDatagrams } from '../reference/datagrams.js';
import { referenceFrame, type FrameAddresses } from '../reference/frame.js';
import { renderUserdata } from './userdata.js';
import {
  canonicalOptions,
  canonicalRecord,
  canonicalTarget,
  checkFieldNames,
  guarded,
  toBytes,
  toImpl,
  toInt,
  toObject,
  type CanonicalRecord,
  type CanonicalTarget,
} from './validate.js';
import { check, Core } from './wasm.js';
import type { EncodeOptions, EncodeResult, WireFrame, WireRecord, WireTarget } from '../base/wire-types.js';

export type {
  EncodeOptions,
  EncodeResult,
  WireFrame,
  WireRecord,
  WireSysdata,
  WireTarget,
  Text,
  U64,
} from '../base/wire-types.js';
export { MAX_PRINT_CHUNK, DEFAULT_MAX_TOTAL, MAX_TASKNAME } from '../base/wire-types.js';

/** The datagram payloads for one record sent to one target. */
export function encodeDatagrams(record: WireRecord, target: WireTarget, opts?: EncodeOptions): Uint8Array[] {
  return encodeMessage(record, target, opts).datagrams;
}

/** Like encodeDatagrams, and says whether the text was truncated (docs/wire.md 3.4). */
export function encodeMessage(record: WireRecord, target: WireTarget, opts?: EncodeOptions): EncodeResult {
  const rec = canonicalRecord(record);
  const tgt = canonicalTarget(target);
  const { impl, maxTotal } = canonicalOptions(opts);
  if (impl === 'reference') return referenceDatagrams(rec, tgt, maxTotal);
  return wasmDatagrams(rec, tgt, maxTotal);
}

/** One raw-mode frame: Ethernet + IPv4/IPv6 + UDP headers with both checksums, around `payload`. */
export function encodeFrame(frame: WireFrame, opts?: Pick<EncodeOptions, 'impl'>): Uint8Array {
  const { payload, addresses } = canonicalFrame(frame);
  if (frameImpl(opts) === 'reference') return referenceFrame(payload, addresses);
  return encoderCore(L.DEFAULT_MAX_TOTAL).buildFrame(
    addressingBlock(addresses),
    payload,
    addresses.family,
    addresses.ipId,
  );
}

function frameImpl(opts: Pick<EncodeOptions, 'impl'> | undefined): 'wasm' | 'reference' {
  const o = toObject<Pick<EncodeOptions, 'impl'>>('options', opts, 'an object { impl }, or undefined', {});
  checkFieldNames('options', o, ['impl'], "encodeFrame's options");
  return toImpl(guarded('options', opts, () => o.impl));
}

const FRAME_FIELDS = ['payload', 'srcMac', 'dstMac', 'srcIp', 'dstIp', 'srcPort', 'dstPort', 'ipId'];

/** MTU 1500: a netpoll frame is never fragmented, so its payload fits one Ethernet frame. */
const MTU = 1500;

function canonicalFrame(frame: WireFrame): { payload: Uint8Array; addresses: FrameAddresses } {
  const f = toObject<WireFrame>(
    'frame',
    frame,
    'an object { payload, srcMac, dstMac, srcIp, dstIp, srcPort, dstPort, ipId }',
  );
  checkFieldNames('frame', f, FRAME_FIELDS, 'a wire frame');
  return guarded('frame', frame, () => readFrame(f));
}

function readFrame(frame: WireFrame): { payload: Uint8Array; addresses: FrameAddresses } {
  const src = parseIp('srcIp', frame.srcIp);
  const dst = parseIp('dstIp', frame.dstIp);
  if (src.family !== dst.family)
    throw invalid('dstIp', frame.dstIp, `an IPv${src.family} address like srcIp`, 'address family differs:');
  const payload = toBytes('payload', frame.payload);
  const max = MTU - (src.family === 6 ? 40 : 20) - 8;
  if (payload.length > max) throw new TooLargeError('payload', payload.length, max);
  return {
    payload,
    addresses: {
      srcMac: parseMac('srcMac', frame.srcMac),
      dstMac: parseMac('dstMac', frame.dstMac),
      family: src.family,
      srcIp: src.bytes,
      dstIp: dst.bytes,
      srcPort: toInt('srcPort', frame.srcPort, 0, 0xffff),
      dstPort: toInt('dstPort', frame.dstPort, 0, 0xffff),
      ipId: frame.ipId === undefined ? 1 : toInt('ipId', frame.ipId, 0, 0xffffffff),
    },
  };
}

/** The layout's addressing block (assembly/layout.ts ADDR_*) for a target or a frame. */
export function addressingBlock(a: Omit<FrameAddresses, 'ipId'>): Uint8Array {
  const block = new Uint8Array(L.ADDR_SIZE);
  const dv = new DataView(block.buffer);
  block.set(a.dstMac, L.ADDR_DST_MAC);
  block.set(a.srcMac, L.ADDR_SRC_MAC);
  block[L.ADDR_FAMILY] = a.family;
  dv.setUint16(L.ADDR_SRC_PORT, a.srcPort, true); // the module loads these as little-endian u16
  dv.setUint16(L.ADDR_DST_PORT, a.dstPort, true);
  block.set(a.srcIp, L.ADDR_SRC_IP);
  block.set(a.dstIp, L.ADDR_DST_IP);
  return block;
}

// ---------------------------------------------------------------- the WebAssembly path
const ENCODER_RING = 1 << 20; // room for the largest record: 64 KiB of text as basic datagrams
const ENCODER_TARGET = 0;
/** The encoder memories kept: those of the last 8 maxTotals used. Each is a shared memory that
 *  reserves its maximum size (1 GiB of address space) and holds over 1 MiB: one per distinct
 *  maxTotal for the life of the process grew without bound. 8, not fewer: a caller that cycles
 *  through more caps than are kept makes a new memory for nearly every call (the differential
 *  test's 5 caps made 15,000 of them with 4 kept). An evicted one is released, then garbage. */
export const ENCODER_CACHE = 8;
/** By maxTotal, least recently used first (a Map iterates in insertion order). */
const encoders = new Map<number, Core>();

function encoderCore(maxTotal: number): Core {
  let core = encoders.get(maxTotal);
  if (core !== undefined) {
    encoders.delete(maxTotal);
    encoders.set(maxTotal, core);
    return core;
  }
  core = Core.create({ ringSize: ENCODER_RING, maxTotal });
  core.targets.clearTarget(ENCODER_TARGET);
  core.targets.listAdd(ENCODER_TARGET);
  core.targets.setDeviceUp(ENCODER_TARGET, true);
  encoders.set(maxTotal, core);
  for (const [oldest, old] of encoders) {
    if (encoders.size <= ENCODER_CACHE) break;
    encoders.delete(oldest);
    old.release();
  }
  return core;
}

function sysdataFlags(tgt: CanonicalTarget): number {
  const s = tgt.sysdata;
  return (
    (s.cpu !== null ? L.S_CPU : 0) |
    (s.taskname !== null ? L.S_TASKNAME : 0) |
    (s.release !== null ? L.S_RELEASE : 0) |
    (s.msgid !== null ? L.S_MSGID : 0)
  );
}

function wasmDatagrams(rec: CanonicalRecord, tgt: CanonicalTarget, maxTotal: number): EncodeResult {
  const core = encoderCore(maxTotal);
  const t = ENCODER_TARGET;
  const dictLen = check(core.putDict(rec.dict), 'putDict'); // sizes were checked by canonicalRecord

  // Reconfigure the private target as the host does: disabled while locked settings change.
  core.targets.setTargetState(t, L.ST_DISABLED);
  const flags =
    (tgt.extended ? L.F_EXTENDED : 0) |
    (tgt.release !== null ? L.F_RELEASE : 0) |
    (tgt.timestamps ? L.F_TIMESTAMPS : 0);
  core.targets.setTargetLocked(t, flags, tgt.release, tgt.sysdata.release);
  core.targets.setSysdata(t, sysdataFlags(tgt));
  core.targets.setNextMsgid(t, tgt.sysdata.msgid ?? 0);
  core.targets.setUserdata(t, renderUserdata(tgt.userdata));
  core.setCpu(tgt.sysdata.cpu ?? 0);
  core.setTaskname(tgt.sysdata.taskname ?? new Uint8Array(0));
  core.targets.setTargetState(t, L.ST_ENABLED);

  core.setExplicit(rec.seq, rec.tsUsec);
  const textLen = core.putTextBytes(rec.text);
  const before = core.targets.targetCounters(t);
  core.writeExplicit(rec.prio, rec.cont, textLen, dictLen);
  const datagrams: Uint8Array[] = [];
  core.ring.drain((_target, _kind, _gen, bytes) => datagrams.push(bytes.slice()));
  const after = core.targets.targetCounters(t);
  if (after.dropped !== before.dropped) throw new TooLargeError('record', textLen, ENCODER_RING); // cannot happen within TEXT_MAX
  return { datagrams, truncated: after.truncated !== before.truncated };
}
