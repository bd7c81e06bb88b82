// The checkers of create()'s options that are more than base/check.ts's int, bool, oneOf and path:
// each takes a value that is given (not undefined: base/check.ts's rule) and returns what
// Netconsole.create uses, or throws the EINVAL or ERANGE naming the option. The table of options
// (host/options.ts) says which checker and which default each option has.
import { invalid } from '../base/errors.js';
import { unknownName } from '../base/names.js';
import { bool, given, guarded, int, object, oneOf, readFields } from '../base/check.js';
import { L } from '../core/layout.js';
import type { NativeTuning } from '../core/native.js';
import type { TargetOptions } from './target-api.js';
import { fromTargetAddress, isTargetAddress } from './shorthand.js';
import type { DeviceLookup } from './target-setup.js';
import { DRAIN_SIGNALS, type DrainSignal } from './signals.js';

/** A power of two in [RING_MIN, RING_MAX]. */
export function ringSize(v: unknown): number {
  const n = int('ringSize', v, L.RING_MIN, L.RING_MAX);
  if ((n & (n - 1)) !== 0) throw invalid('ringSize', v, `a power of two, ${L.RING_MIN}..${L.RING_MAX} bytes`);
  return n;
}

/** Microseconds since the epoch, now. */
export function timeSeq(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

// 'time': a restart lands above every seq sent before, so no receiver takes the new records for
// repeats of old ones (netconsd drops a repeat seen less than 5 s ago); the jump is a new stream
// (docs/wire.md section 1: `listen` starts one at once, netconsd after 19 of 32 out of sequence).
export function seqStart(v: unknown): number {
  return v === 'time' ? timeSeq() : int('seqStart', v, 0, Number.MAX_SAFE_INTEGER);
}

export function lookup(v: unknown): DeviceLookup {
  const fns = ['getDevice', 'deviceByMac', 'routeDevice', 'sourceAddress'];
  const accepted = `an object with the functions ${fns.join(', ')}`;
  if (v === null || typeof v !== 'object') throw invalid('lookup', v, accepted);
  for (const f of fns) {
    if (typeof guarded(`lookup.${f}`, v, () => (v as Record<string, unknown>)[f]) !== 'function')
      throw invalid('lookup', v, accepted, `no ${f} function in`);
  }
  return v as DeviceLookup;
}

/** The targets: a parameter string, or an array of target objects, each copied (its fields read
 *  once: a getter or Proxy trap that throws is EINVAL naming that field, `targets[i].<name>`);
 *  one given as `{ address, port, ... }` becomes its kernel attributes (shorthand.ts). */
export function targets(v: unknown): string | TargetOptions[] {
  if (typeof v === 'string') return v;
  const accepted =
    'a parameter string, or an array of targets ({ address, port } or kernel attributes { remote_ip, remote_port, enabled: 1 })';
  const list = guarded('targets', v, () => (Array.isArray(v) ? [...(v as unknown[])] : null));
  if (list === null) throw invalid('targets', v, accepted);
  return list.map((t, i) => {
    if (t === null || typeof t !== 'object' || guarded(`targets[${i}]`, t, () => Array.isArray(t)))
      throw invalid(`targets[${i}]`, t, 'an object: { address, port } or target attributes');
    const fields = readFields(`targets[${i}]`, t, `targets[${i}].`);
    if (isTargetAddress(fields)) return fromTargetAddress(fields, `targets[${i}].`, `targets[${i}]`);
    return Object.fromEntries(fields) as TargetOptions;
  });
}

const TUNING = ['batch', 'wake', 'spin', 'timerUs', 'txRing', 'gso'];

/** The native sender thread's tuning (NativeSenderOptions). */
export function nativeTuning(o: unknown): NativeTuning {
  const s = Object.fromEntries(
    readFields(
      'nativeSender',
      object('nativeSender', o, 'an object { batch, wake, spin, timerUs, txRing, gso }'),
      'nativeSender.',
    ),
  );
  for (const [k, v] of Object.entries(s))
    if (!TUNING.includes(k)) throw unknownName(k, v, TUNING, 'nativeSender', { option: `nativeSender.${k}` });
  const opt = (name: string, lo: number, hi: number): number | undefined =>
    given(s[name], undefined, (v) => int(`nativeSender.${name}`, v, lo, hi));
  const wake = given(s.wake, 'spin', (v) => oneOf('nativeSender.wake', v, ['spin', 'futex', 'timer'] as const));
  // Not given: the ring, unless NETCONSOLE_NO_TX_RING=1 chooses sendmmsg (docs/configuration.md).
  const txRing = given(s.txRing, process.env.NETCONSOLE_NO_TX_RING !== '1', (v) => bool('nativeSender.txRing', v));
  // Not given: GSO, unless NETCONSOLE_NO_GSO=1 sends one datagram per mmsghdr (docs/configuration.md).
  const gso = given(s.gso, process.env.NETCONSOLE_NO_GSO !== '1', (v) => bool('nativeSender.gso', v));
  return {
    batch: opt('batch', 1, 1024),
    spin: wake === 'futex' ? 0 : opt('spin', 0, 1 << 24),
    timer: wake === 'timer',
    timerUs: opt('timerUs', 1, 1_000_000),
    txRing,
    gso,
  };
}

/** true: every drain signal; false or []: none; or a list of them. */
export function signals(v: unknown): ReadonlySet<DrainSignal> {
  if (v === true) return new Set(DRAIN_SIGNALS);
  if (v === false) return new Set();
  const accepted = `true, false, or an array of ${DRAIN_SIGNALS.map((s) => `'${s}'`).join(', ')}`;
  if (!Array.isArray(v) || v.some((s) => !(DRAIN_SIGNALS as readonly unknown[]).includes(s)))
    throw invalid('signals', v, accepted);
  return new Set(v as DrainSignal[]);
}
