// The WebAssembly module (loaded once per build, shared by every thread) and the memories it runs
// over (pooled, because each one reserves address space until it is garbage-collected): what
// Core (wasm.ts) is made from.
import { readFileSync, readlinkSync } from 'node:fs';
import { LayoutMismatchError, NetconsoleError } from '../base/errors.js';
import { L, threadOffset } from './layout.js';
import type { WasmMemory, WasmModule } from './wasm-types.js';

/** The module's exports (assembly/index.ts): integers in, integers out. */
export interface CoreExports {
  mem_init(ringSize: number, maxTotal: number, seqStart: number, reportLosses: number, epoch: number): number;
  mem_attach(epoch: number): number;
  mem_heap_base(): number;
  thread_claim(nodeThreadId: number, osTid: number): number;
  thread_release(index: number): number;
  thread_reap(index: number, osTid: number): number;
  lock_acquire(tid: number): void;
  lock_release(tid: number): void;
  lock_recover(tid: number): number;
  lock_owner(): number;
  write_record(thread: number, prio: number, flags: number, textLen: number, dictLen: number, tsUsec: number): number;
  write_target(
    thread: number,
    t: number,
    prio: number,
    flags: number,
    textLen: number,
    dictLen: number,
    tsUsec: number,
  ): number;
  list_add(tid: number, t: number, state: number): number;
  list_to_cleanup(tid: number, t: number, state: number): number;
  list_to_cleanup_batch(tid: number, list: number, n: number, state: number): number;
  list_from_cleanup(tid: number, t: number, state: number): number;
  list_remove(tid: number, t: number): number;
  list_read(tid: number, which: number, out: number, max: number): number;
  target_set_state(tid: number, t: number, state: number): number;
  target_set(tid: number, t: number, field: number, value: number): number;
  target_swap_userdata(tid: number, t: number, len: number): number;
  target_set_addr(tid: number, t: number, src: number): number;
  frame_build(thread: number, payloadLen: number, ipId: number): number;
  frame_overhead(family: number): number;
  sender_retain(from: number, to: number): void;
  csum_simd(ptr: number, len: number): number;
  csum_scalar(ptr: number, len: number): number;
  fmt_escape(dst: number, src: number, len: number, cap: number): number;
  fmt_cut_escaped(esc: number, len: number, limit: number): number;
}

const MAX_PAGES = 16384; // asconfig.json maximumMemory
/** The most bytes a shared memory can ever have (its maximum). */
export const MEMORY_MAX_BYTES = MAX_PAGES * 65536;

const modules = new Map<boolean, WasmModule>();

/**
 * Memories of closed Netconsoles, by size, laid out again for the next one: V8 reserves about
 * 10 GiB of address space for every WebAssembly memory and returns it only when the memory is
 * garbage-collected, which nothing prompts, so a create()/close() loop would run out of address
 * space (after about 12,900 of them here). At most POOL_MAX per size are kept.
 */
const pooled = new Map<number, WasmMemory[]>();
const POOL_MAX = 2;

/** A memory of `bytes` (rounded up to pages) for a new Netconsole: a pooled one laid out again,
 *  or a new one; and the epoch (life) it starts. */
export function takeMemory(bytes: number, what: string): { memory: WasmMemory; epoch: number } {
  const pages = Math.ceil(bytes / 65536);
  if (pages > MAX_PAGES) throw new LayoutMismatchError(`${what} needs ${pages} pages, more than ${MAX_PAGES}`);
  const memory = pooled.get(pages)?.pop();
  if (memory) return { memory, epoch: relayout(memory) + 1 };
  return { memory: new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true }), epoch: 1 };
}

/** A closed Netconsole's memory, kept for the next create() of its size (at most POOL_MAX). */
export function poolMemory(memory: WasmMemory): void {
  const pages = memory.buffer.byteLength / 65536;
  const list = pooled.get(pages) ?? [];
  if (list.length < POOL_MAX) list.push(memory);
  pooled.set(pages, list);
}

function moduleBytes(debug: boolean): Buffer {
  const url = new URL(`../../wasm/netconsole${debug ? '.debug' : ''}.wasm`, import.meta.url);
  try {
    return readFileSync(url);
  } catch (cause) {
    throw new LayoutMismatchError(`cannot read ${url.pathname}: run \`npm run build:wasm\` (${String(cause)})`);
  }
}

/** The module, compiled once per thread and build. */
export function loadModule(debug: boolean): WasmModule {
  let m = modules.get(debug);
  if (m === undefined) {
    m = new WebAssembly.Module(moduleBytes(debug) as Uint8Array<ArrayBuffer>);
    modules.set(debug, m);
  }
  return m;
}

/** Whether the debug build is used when no option says: NETCONSOLE_DEBUG=1. */
export function debugByDefault(): boolean {
  return process.env.NETCONSOLE_DEBUG === '1';
}

/**
 * Makes a pooled memory ready for mem_init: the state that decides anything is zeroed (the
 * header, the target table, each thread slot's fields before its text), the rest is scratch that
 * is written before it is read. Returns the epoch the memory had.
 */
function relayout(memory: WasmMemory): number {
  const u8 = new Uint8Array(memory.buffer);
  const epoch = new Uint32Array(memory.buffer, L.HDR_EPOCH, 1)[0];
  u8.fill(0, 0, L.HEADER_END);
  u8.fill(0, L.TARGETS_OFF, L.TARGETS_OFF + L.MAX_TARGETS * L.TARGET_SIZE);
  for (let i = 0; i < L.MAX_THREADS; i++) u8.fill(0, threadOffset(i), threadOffset(i) + L.THR_TEXT);
  return epoch;
}

/** The OS thread id of the calling thread, for dead-owner checks of the spinlock (0 if unknown). */
export function osThreadId(): number {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return 0;
  }
}

const statusText: Record<number, string> = {
  [L.E_BADTHREAD]: 'bad thread slot',
  [L.E_TOOBIG]: 'text or dictionary larger than the thread slot',
  [L.E_BADPRIO]: 'priority out of range',
  [L.E_NOTINIT]: 'shared memory not initialised',
  [L.E_BADTARGET]: 'bad target index',
  [L.E_BADARG]: 'bad argument',
  [L.E_NOSLOT]: 'every thread slot is taken',
};

/** Throws for a negative status from the module (a host bug: inputs are validated before). */
export function check(status: number, what: string): number {
  if (status < 0) throw new NetconsoleError('EIO', `${what}: ${statusText[status] ?? `status ${status}`}`);
  return status;
}
