// The host's mirror of assembly/layout.ts: the map of the shared memory (see the box diagram and
// the who-writes-what notes there). checkLayout() compares every entry with the global of the
// same name that the module exports, and every exported layout global with this table, so a
// one-sided change refuses to load instead of corrupting memory.
import { LayoutMismatchError } from '../base/errors.js';

export const L = {
  LAYOUT_VERSION: 5, // 3: THR_STATE counts claims (shared slots); 4: SLOT_AUX, TGT_CNT_REPORT_LOST; 5: reliable targets
  MAGIC: 0x4e434f4e, // "NCON", written last by mem_init: a memory is ready when it is there
  NIL: -1, // end of a list, no target
  // ---------------------------------------------------------------- header, [0, 4096)
  HDR_MAGIC: 0, // u32 H once at init; read by attach
  HDR_VERSION: 4, // u32 H once at init
  HDR_EPOCH: 8, // u32 H once at init: which life of this memory (pooled memories are laid out again)
  LOCK_WORD: 64, // i32 atomic: 0 free, else owner tid | LOCK_WAITERS
  LOCK_CONTENDED: 68, // u32 atomic add: acquisitions that missed the fast path
  LOCK_RECOVERED: 72, // u32 atomic add: forced releases of a dead owner's lock
  LOCK_HOLD_MAX_NS: 80, // f64 under lock, debug builds: longest hold seen
  LOCK_ACQUIRED_AT: 88, // f64 under lock, debug builds: when the holder took it
  LOCK_WAITERS: 1073741824, // a parked waiter needs a notify on release
  SEQ_NEXT: 128, // u64 W: next record seq (start chosen by the host at init)
  IP_ID: 136, // u32 W: last IPv4 ID used; the next frame takes +1 (first is 1)
  RECORDS: 144, // u64 W: records written
  RING_FULL: 152, // u64 W: target messages dropped because the ring was full
  TEXT_CUT: 164, // u32 atomic add (any writer, JS side): records whose text was cut to TEXT_MAX
  WANT_SYS: 160, // i32 atomic: H stores the S_* bits some enabled target sends; writers read it
  CLOSED: 168, // i32 atomic: H stores 1 when the Netconsole closes; W then writes nothing
  REPORT_LOSSES: 172, // i32: H once at init: 1 = in-band loss reports
  LOST_TOTAL: 176, // u64 atomic add (W, S): every lost target message and lost report
  LOST_SEEN: 184, // u64 under lock (W; H resets it at each enable): LOST_TOTAL when a scan found nothing to report
  RING_HEAD: 192, // u64: W atomic store after a record's slots are written; S/H atomic load
  RING_WAKE: 200, // i32: W atomic add when RING_SLEEPING is set (assembly/layout.ts: waking the sender); S waits on it
  RING_SLEEPING: 204, // i32: S atomic store before waiting on RING_WAKE (1 dgram sender, 2 native), 0 after
  RING_TAIL: 256, // u64: S atomic store after it is done with slots; W atomic load
  ROOM_WAITERS: 264, // i32 atomic add/sub (waiting writers); S atomic load (src/core/room.ts)
  ROOM_WAITS: 268, // u32 atomic add (writers): log calls that waited for room
  ROOM_AT: 272, // u64 atomic: the lowest tail a waiter wants (CAS); S resets it to ROOM_NONE when it wakes them
  ROOM_STALL: 280, // u64 atomic: RING_TAIL + 1 where a writer gave up waiting; 0 none
  ROOM_TIMEOUTS: 288, // u32 atomic add (writers): log calls that gave up waiting
  LOG_ERRORS: 292, // u32 atomic add (any writer, JS side): log calls refused by the logger's policy (returned 0)
  LIST_TARGETS: 320, // i32: head of the target list (kernel: target_list)
  LIST_CLEANUP: 324, // i32: head of the cleanup list (target_cleanup_list)
  GEO_RING_SIZE: 384, // u32: bytes, a power of two
  GEO_MAX_TOTAL: 388, // u32: extended `total` cap (docs/wire.md 3.4), default 8191
  GEO_MEM_END: 392, // u32: first byte past the ring
  HEADER_END: 4096,
  STATIC_BASE: 65536, // asc --memoryBase: AS static data starts here
  // ---------------------------------------------------------------- target table
  REGION_BASE: 1048576,
  MAX_TARGETS: 64,
  TARGET_SIZE: 512,
  TARGETS_OFF: 1048576,
  ST_FREE: 0,
  ST_DISABLED: 1,
  ST_ENABLED: 2,
  ST_DEACTIVATED: 3,
  ON_NONE: 0,
  ON_TARGETS: 1,
  ON_CLEANUP: 2,
  TGT_STATE: 0, // i32 under lock: ST_*
  TGT_NEXT: 4, // i32 under lock: next index on its list, NIL at the end
  TGT_LIST: 8, // i32 under lock: ON_*
  TGT_FLAGS: 12, // i32: F_*; H writes only while the target is not enabled
  TGT_SYSDATA: 16, // i32 under lock: S_* toggles (editable while enabled)
  TGT_DEV_UP: 20, // i32 atomic: H stores on device events; W skips when 0
  TGT_MSGID: 24, // u32 under lock: W increments per message when S_MSGID
  TGT_GEN: 28, // u32 under lock: H bumps at each enable; copied into ring slots
  TGT_RL_INTERVAL: 32, // u32 under lock: ratelimit_interval_ms, 0 = off
  TGT_RL_BURST: 36, // u32 under lock: ratelimit_burst
  TGT_RL_PRINTED: 40, // u32 under lock (W): messages let through this interval
  TGT_RL_MISSED: 44, // u32 under lock (W): messages suppressed this interval
  TGT_RL_BEGIN: 48, // i64 under lock (W): start of the interval, usec; 0 = none
  TGT_UD_ACTIVE: 56, // i32 under lock: which userdata buffer (0/1) is live
  TGT_UD_LEN: 60, // i32 under lock: bytes of rendered userdata in it
  TGT_CNT_SENT: 64, // messages written whole into the ring
  TGT_CNT_DATAGRAMS: 72, // datagrams (or frames) written into the ring
  TGT_CNT_DROPPED: 80, // messages dropped whole: ring full (after the wait, if any)
  TGT_CNT_TRUNCATED: 88, // messages whose escaped text was cut (docs/wire.md 3.4)
  TGT_CNT_RATELIMITED: 96, // messages suppressed by the rate limit
  TGT_CNT_SKIPPED: 104, // messages skipped: device not running
  TGT_CNT_TX_ERRORS: 112, // S atomic add: datagrams that could not be sent (after retries)
  TGT_CNT_BYTES: 120, // payload bytes written into the ring
  TGT_CLEANUP_POS: 128, // u64 under lock: RING_HEAD when moved to cleanup
  TGT_REL_LEN: 136, // i32: release prefix length; H writes while not enabled
  TGT_SYSREL_LEN: 140, // i32 under lock: sysdata release length
  TGT_REL: 144, // 64 bytes: release prefix string (without the comma)
  TGT_SYSREL: 208, // 64 bytes under lock: sysdata `release=` string
  TGT_ADDR: 272, // addressing block (raw mode); H writes while not enabled
  TGT_CNT_TX_LOST: 336, // u64 S atomic add: messages lost in transmission
  TGT_CNT_REPORTED: 344, // u64 under lock (W): lost messages already reported in-band
  TGT_CNT_STALLS: 352, // u64 S atomic add: times S gave up waiting for the target's socket
  TGT_CNT_UNCONFIRMED: 360, // u64 S atomic add: messages counted lost that the kernel may have sent
  TGT_CNT_HOLDS: 368, // u64 S atomic add: times S held the target: its path could not carry
  TGT_CNT_REPORT_LOST: 376, // u64 S atomic add: losses whose in-band report was lost (told again)
  TGT_RSEQ: 384, // u64 under lock (W takes one per message); H sets it before the first enable
  TGT_RT_BASE: 392, // u32 H while not enabled: the retention region (index, then entries); 0 none
  TGT_RT_SIZE: 396, // u32 H while not enabled: bytes of entries, a multiple of 8
  TGT_RT_SLOTS: 400, // u32 H while not enabled: messages kept at most
  TGT_RT_COUNT: 404, // u32 under lock (W): messages kept now
  TGT_RT_HEAD: 408, // u64 W atomic store after an entry is written: the position past it
  TGT_RT_TAIL: 416, // u64 W atomic store before it reuses the bytes; H atomic load after copying
  TGT_RT_ACKED: 424, // u64 H atomic store: the first seq not acked; W atomic load
  TGT_RT_HEARD: 432, // i32 H atomic store: 1 once the receiver replied
  TGT_RT_REPORTED_AT: 440, // u64 under lock (W): usec time of the last report of unacked messages
  TGT_CNT_UNACKED: 448, // u64 under lock (W): pushed out unacked after the receiver replied
  TGT_CNT_UNHEARD: 456, // u64 under lock (W): pushed out before the receiver ever replied
  TGT_CNT_UNACKED_REPORTED: 464, // u64 under lock (W): of UNACKED, told in-band
  TGT_END: 472,
  RT_ENTRY_LEN: 0, // u32: message bytes, or RT_PAD
  RT_ENTRY_PREFIX: 4, // u32: bytes of "[release,]header" (before the ';')
  RT_ENTRY_SEQ: 8, // u64: the target's seq of the message
  RT_ENTRY_HDR: 16,
  RT_PAD: -1, // u32 0xffffffff, read as an i32 (the module exports its u32 globals as i32)
  F_EXTENDED: 1,
  F_RELEASE: 2,
  F_TIMESTAMPS: 4,
  F_RAW: 8,
  F_RELIABLE: 16, // needs F_EXTENDED and a retention region
  S_CPU: 1,
  S_TASKNAME: 2,
  S_RELEASE: 4,
  S_MSGID: 8,
  ADDR_DST_MAC: 0, // 6 bytes
  ADDR_SRC_MAC: 6, // 6 bytes
  ADDR_FAMILY: 12, // u8: 4 or 6
  ADDR_SRC_PORT: 14, // u16, host order
  ADDR_DST_PORT: 16, // u16, host order
  ADDR_SRC_IP: 20, // 4 or 16 bytes
  ADDR_DST_IP: 36, // 4 or 16 bytes
  ADDR_SIZE: 52,
  // ---------------------------------------------------------------- thread slots
  MAX_THREADS: 64,
  THREAD_SIZE: 262144,
  THREADS_OFF: 1081344,
  THR_STATE: 0, // i32 atomic: 0 free, else the claims of its thread (0 -> 1 by CAS; the owner adds and drops)
  THR_NODE_ID: 4, // i32 atomic: worker_threads.threadId of the owner (owner writes; 0 when free)
  THR_OS_TID: 8, // i32 atomic: the OS thread id of the owner (dead-owner checks; 0 when free)
  THR_CPU: 12, // i32: the CPU for sysdata `cpu=` (owner writes before a record)
  THR_TASK_LEN: 16, // i32: bytes of taskname (owner writes)
  THR_TASK: 20, // 16 bytes: taskname, at most 15 used
  THR_SEQ: 40, // u64: explicit seq (REC_EXPLICIT), written by the owner
  THR_TS: 48, // u64: explicit tsUsec (REC_EXPLICIT)
  THR_NEED: 56, // f64: W stores with E_NOROOM: the RING_TAIL from which the record fits
  THR_TEXT: 64, // the record's text, UTF-8, written by the owner
  TEXT_MAX: 65536,
  THR_DICT: 65600, // dict: repeated [u16 klen][key][u16 vlen][value]
  DICT_MAX: 8192,
  THR_ESC: 73792, // escaped text, capped at max total + 4
  ESC_MAX: 65536,
  THR_DESC: 139328, // "\n" + escaped dict lines
  DESC_MAX: 32896, // "\n" + every dict byte escaped (x4) + the " =\n" of each pair
  THR_HDR: 172224, // "<prio>,<seq>,<ts>,<flag>"
  THR_SYS: 172352, // one target's rendered sysdata
  THR_TSPFX: 172608, // basic targets' "[sssss.uuuuuu] "
  THR_ADDR: 172672, // addressing block for frame_build
  THR_OUT: 172736, // output of frame_build (one frame)
  THR_RPT: 174784, // an in-band loss report: its text (64 bytes), then its header (64)
  THR_END: 174912,
  // ---------------------------------------------------------------- userdata buffers
  UD_BUF_SIZE: 65536, // 256 entries x (1 + 53 + 1 + 199 + 1) = 65280 bytes
  USERDATA_OFF: 17858560,
  RING_OFF: 26247168,
  // ---------------------------------------------------------------- transmit ring
  SLOT_LEN: 0, // u32: payload bytes (PAD: bytes to skip after the header)
  SLOT_TARGET: 4, // u16: target index
  SLOT_KIND: 6, // u16: K_* in the low byte, KF_* flags above it
  SLOT_GEN: 8, // u32: the target's TGT_GEN when written
  SLOT_AUX: 12, // u32: low 32 bits of the slot's ring position; a report's first datagram: the losses it tells
  SLOT_HDR: 16,
  K_DATAGRAM: 1,
  K_FRAME: 2,
  K_PAD: 3,
  K_MASK: 255,
  KF_FIRST: 256, // the first datagram of a message (S counts lost messages by it)
  KF_REPORT: 512, // a datagram of an in-band loss report
  KF_DONE: 1024, // S: a slot sent or lost while an older held slot keeps RING_TAIL behind
  RING_MIN: 65536,
  RING_MAX: 268435456,
  // ---------------------------------------------------------------- write_record flags and status
  REC_CONT: 1, // continuation record
  REC_EXPLICIT: 2, // seq and tsUsec come from THR_SEQ/THR_TS, not the counters
  REC_WAIT: 4, // no room: return E_NOROOM (nothing written) instead of dropping
  REC_FAC_SHIFT: 8, // flags >> 8: the logger's facility, for in-band loss reports
  OK: 0,
  E_BADTHREAD: -1,
  E_TOOBIG: -2,
  E_BADPRIO: -3,
  E_NOTINIT: -4,
  E_BADTARGET: -5,
  E_BADARG: -6,
  E_NOROOM: -7, // REC_WAIT only: the record fits once RING_TAIL reaches THR_NEED
  E_NOSLOT: -8, // thread_claim: every thread slot is taken
  MAX_PRINT_CHUNK: 1000,
  DEFAULT_MAX_TOTAL: 8191,
  ETH_HLEN: 14,
  IPV4_HLEN: 20,
  IPV6_HLEN: 40,
  UDP_HLEN: 8,
} as const;

export type LayoutKey = keyof typeof L;

/** Compares the mirror with the module's exported layout globals, both ways. */
export function checkLayout(exports: WebAssembly.Exports): void {
  const problems: string[] = [];
  for (const [name, want] of Object.entries(L)) {
    const g = exports[name];
    if (!(g instanceof WebAssembly.Global)) problems.push(`${name}: not exported by the module`);
    else if (g.value !== want) problems.push(`${name}: module ${g.value}, host ${want}`);
  }
  for (const [name, g] of Object.entries(exports)) {
    if (g instanceof WebAssembly.Global && /^[A-Z][A-Z0-9_]*$/.test(name) && !(name in L)) {
      problems.push(`${name}: exported by the module, missing from src/core/layout.ts`);
    }
  }
  if (problems.length > 0) {
    throw new LayoutMismatchError(`shared-memory layout mismatch between assembly/layout.ts and src/core/layout.ts:\n  ${problems.join('\n  ')}`);
  }
}

/** Bytes of shared memory needed for a ring of `ringSize` bytes. */
export function memoryBytes(ringSize: number): number {
  return L.RING_OFF + ringSize;
}

export const targetOffset = (t: number): number => L.TARGETS_OFF + t * L.TARGET_SIZE;
export const threadOffset = (i: number): number => L.THREADS_OFF + i * L.THREAD_SIZE;
export const userdataOffset = (t: number, which: number): number => L.USERDATA_OFF + (t * 2 + which) * L.UD_BUF_SIZE;
