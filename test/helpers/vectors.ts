// The known-answer vectors (test/fixtures/wire.json, a copy of shared/vectors/wire.json) decoded
// into the encoding API's shapes.
import { readFileSync } from 'node:fs';
import type { WireFrame, WireRecord, WireTarget } from '../../src/base/wire-types.js';

/** dist/test/helpers/*.js -> the repository root. */
export const REPO = new URL('../../../', import.meta.url);
export const VECTORS_URL = new URL('test/fixtures/wire.json', REPO);
/** Where the project's shared folder keeps the authoritative copy, beside the repository. */
export const SHARED_VECTORS_URL = new URL('../shared/vectors/wire.json', REPO);

export interface WireCase {
  name: string;
  target: WireTarget;
  record: { prio: number; seq: string; tsUsec: string; cont: boolean; text_hex: string; dict: [string, string][] };
  datagrams_hex: string[];
}

export interface FrameCase {
  name: string;
  payload_hex: string;
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  ipId: number;
  frame_hex: string;
}

export const vectors = JSON.parse(readFileSync(VECTORS_URL, 'utf8')) as { wire: WireCase[]; frames: FrameCase[] };

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

export function toRecord(r: WireCase['record']): WireRecord {
  return {
    prio: r.prio,
    seq: BigInt(r.seq),
    tsUsec: BigInt(r.tsUsec),
    cont: r.cont,
    text: unhex(r.text_hex),
    dict: r.dict,
  };
}

export function toFrame(c: FrameCase): WireFrame {
  const { payload_hex, frame_hex: _frame, name: _name, ...rest } = c;
  return { ...rest, payload: unhex(payload_hex) };
}
