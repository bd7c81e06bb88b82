// The map of the shared WebAssembly memory, its one owner. The host's table (src/core/layout-table.ts)
// is generated from the `export const` lines here by scripts/gen-layout.mjs at every build:ts
// (each line: `export const NAME: type = expression; // note`); the host compares it with the
// module at load time (index.ts exports every constant here as a global; src/core/layout.ts
// checkLayout reads them by name), so a module built from another version refuses to load
// instead of corrupting memory.
//
//   0        64            4096        65536           1 MiB
//   +--------+-------------+-----------+---------------+----------------+------------------+------------------+-----------+
//   | magic  | header      | (unused)  | AS static     | target table   | thread slots     | userdata buffers | transmit  |
//   | guard  | lock, seq,  |           | data (read-   | 64 x 512 B     | 64 x 256 KiB     | 64 x 2 x 64 KiB  | ring      |
//   |        | ring, lists |           | only!)        |                | (record+scratch) | (double-buffered)| 2^k bytes |
//   +--------+-------------+-----------+---------------+----------------+------------------+------------------+-----------+
//
// Every instance (main thread, each worker) re-applies the module's data segments when it is
// instantiated, and has its own globals: so static data is read-only, and every piece of mutable
// state that threads share lives here, at fixed offsets, never in AS globals or static arrays.
//
// Who writes what, and how (W = writer thread under the spinlock, H = host thread, S = the sender:
// the addon's thread, or the dgram sender on the host thread):
// each slot's comment says it. "under lock" means plain loads and stores made while holding the
// target-list spinlock (the lock's acquire/release give the ordering); "atomic" means the word is
// read or written outside the lock and uses atomic operations on both sides.

export const LAYOUT_VERSION: u32 = 7; // 3: THR_STATE counts claims (shared slots); 4: SLOT_AUX, TGT_CNT_REPORT_LOST; 5: reliable targets (TGT_RSEQ .. TGT_CNT_UNACKED_REPORTED); 6: the sender keeps their messages (RELIABLE_TARGETS); 7: TGT_RT_PUSHED, UNACKED counted by the host
export const MAGIC: u32 = 0x4e434f4e; // "NCON", written last by mem_init: a memory is ready when it is there
export const NIL: i32 = -1; // end of a list, no target

// ---------------------------------------------------------------- header, [0, 4096)
export const HDR_MAGIC: usize = 0; // u32 H once at init; read by attach
export const HDR_VERSION: usize = 4; // u32 H once at init
// Which life of this memory: a closed Netconsole's memory is laid out again for the next one
// (src/core/wasm.ts pools them), with the next epoch. An instance attached for another epoch (a
// worker still holding a closed Netconsole's handle) writes nothing.
export const HDR_EPOCH: usize = 8; // u32 H once at init

// The target-list spinlock (kernel: target_list_lock). Spin, not sleep: a writer may not wait on
// anything that sleeps, and holds it only to format one message into the ring. Own cache line.
export const LOCK_WORD: usize = 64; // i32 atomic: 0 free, else owner tid | LOCK_WAITERS
export const LOCK_CONTENDED: usize = 68; // u32 atomic add: acquisitions that missed the fast path
export const LOCK_RECOVERED: usize = 72; // u32 atomic add: forced releases of a dead owner's lock
export const LOCK_HOLD_MAX_NS: usize = 80; // f64 under lock, debug builds: longest hold seen
export const LOCK_ACQUIRED_AT: usize = 88; // f64 under lock, debug builds: when the holder took it
export const LOCK_WAITERS: i32 = 0x40000000; // a parked waiter needs a notify on release

// Record counters. Under lock.
export const SEQ_NEXT: usize = 128; // u64 W: next record seq (start chosen by the host at init)
export const IP_ID: usize = 136; // u32 W: last IPv4 ID used; the next frame takes +1 (first is 1)
export const RECORDS: usize = 144; // u64 W: records written
export const RING_FULL: usize = 152; // u64 W: target messages dropped because the ring was full
export const TEXT_CUT: usize = 164; // u32 atomic add (any writer, JS side): records whose text was cut to TEXT_MAX
export const WANT_SYS: usize = 160; // i32 atomic: H stores the S_* bits some enabled target sends;
// writers read it (JS side) to decide whether to refresh their CPU and thread name
export const CLOSED: usize = 168; // i32 atomic: H stores 1 when the Netconsole closes; W then writes nothing
export const REPORT_LOSSES: usize = 172; // i32: H once at init: 1 = in-band loss reports (see write.ts)
// In-band loss reports. LOST_TOTAL counts every lost target message and every lost report (W under
// the lock, S and H outside it: atomic add on every side, after the counter it is for); W compares it with LOST_SEEN to skip the scan for unreported
// losses while nothing was lost since the last scan that found none.
export const LOST_TOTAL: usize = 176; // u64 atomic add (W, S, H); W atomic load
export const LOST_SEEN: usize = 184; // u64 under lock (W; H resets it to 0 at each enable)

// Transmit ring, producer line. Positions are byte counts since init (u64, never wrap in practice).
//
// Waking the sender. A sender with nothing to send stores RING_SLEEPING (1: the dgram sender,
// which waits in Atomics.waitAsync; 2: the native one, in a futex), reads RING_WAKE, re-reads
// RING_HEAD, and sleeps on RING_WAKE unless the head moved. A writer, after publishing RING_HEAD,
// reads RING_SLEEPING and, when it is set, takes it down (compare-exchange to 0: of the writers
// that publish before the woken sender runs, one makes the system call), adds 1 to RING_WAKE and
// wakes the sender the way it sleeps (Atomics.notify for 1; the addon's futexWake for 2, which
// V8's notify does not reach): store head, then load sleeping; store sleeping, then load head:
// one sees the other, no wake-up is lost (a writer that finds 0 published before the sender's
// next look at the head, which follows its wake-up). Writer side: Core.wakeSender (src/core/wasm.ts); sender side: DgramSender.sleep and the
// native thread's Idle (native/sender.cc).
export const RING_HEAD: usize = 192; // u64: W atomic store after a record's slots are written; S/H atomic load
export const RING_WAKE: usize = 200; // i32: W atomic add when RING_SLEEPING is set; S waits on it
export const RING_SLEEPING: usize = 204; // i32: S atomic store before waiting on RING_WAKE (1 dgram sender, 2 native), 0 after; W compare-exchange to 0 (the writer that wakes it)
// Transmit ring, consumer line (own cache line: written on every drain).
export const RING_TAIL: usize = 256; // u64: S atomic store after it is done with slots; W atomic load
// Room for writers that wait (overflow 'wait'; the protocol is in src/core/room.ts): a writer that found
// no room adds itself to ROOM_WAITERS, lowers ROOM_AT to the tail it needs (compare-exchange),
// re-reads RING_TAIL and sleeps on RING_TAIL's low word. S, after each RING_TAIL store: when
// ROOM_WAITERS > 0 and the tail reached ROOM_AT, it stores ROOM_NONE there and wakes them all.
// (Store tail, then load waiters; add waiter, then load tail: one of the two sees the other.)
export const ROOM_WAITERS: usize = 264; // i32 atomic add/sub (writers); S atomic load
export const ROOM_WAITS: usize = 268; // u32 atomic add (writers): log calls that waited for room
export const ROOM_AT: usize = 272; // u64 atomic: writers lower it (CAS), S resets it to ROOM_NONE
// A writer that gave up waiting stores RING_TAIL + 1 here; others do not wait while the tail is
// still there (a stalled sender costs one wait, not one per log call). 0: none.
export const ROOM_STALL: usize = 280; // u64 atomic (writers)
export const ROOM_TIMEOUTS: usize = 288; // u32 atomic add (writers): log calls that gave up waiting
// Log calls refused by the logger's policy (a bad level, value or option: returned 0, not thrown).
export const LOG_ERRORS: usize = 292; // u32 atomic add (any writer, JS side)
// Reliable targets' retention regions installed (H atomic add at install, sub at uninstall): while
// 0, S skips retain_range (assembly/retain.ts) when it publishes RING_TAIL.
export const RELIABLE_TARGETS: usize = 296; // i32 atomic

// The two lists, linked through TGT_NEXT. Under lock; changed only by list_* (one call each).
export const LIST_TARGETS: usize = 320; // i32: head of the target list (kernel: target_list)
export const LIST_CLEANUP: usize = 324; // i32: head of the cleanup list (target_cleanup_list)

// Geometry chosen by the host at init; read-only afterwards, loaded into globals by attach.
export const GEO_RING_SIZE: usize = 384; // u32: bytes, a power of two
export const GEO_MAX_TOTAL: usize = 388; // u32: extended `total` cap (docs/wire.md 3.4), default 8191
export const GEO_MEM_END: usize = 392; // u32: first byte past the ring

export const HEADER_END: usize = 4096;
export const STATIC_BASE: usize = 65536; // asc --memoryBase: AS static data starts here

// ---------------------------------------------------------------- target table
export const REGION_BASE: usize = 1 << 20;
export const MAX_TARGETS: i32 = 64;
export const TARGET_SIZE: usize = 512;
export const TARGETS_OFF: usize = REGION_BASE;

// Target states (docs/targets.md 3). H under lock.
export const ST_FREE: i32 = 0;
export const ST_DISABLED: i32 = 1;
export const ST_ENABLED: i32 = 2;
export const ST_DEACTIVATED: i32 = 3;
// Which list a target is on. H under lock.
export const ON_NONE: i32 = 0;
export const ON_TARGETS: i32 = 1;
export const ON_CLEANUP: i32 = 2;

export const TGT_STATE: usize = 0; // i32 under lock: ST_*
export const TGT_NEXT: usize = 4; // i32 under lock: next index on its list, NIL at the end
export const TGT_LIST: usize = 8; // i32 under lock: ON_*
export const TGT_FLAGS: usize = 12; // i32: F_*; H writes only while the target is not enabled
export const TGT_SYSDATA: usize = 16; // i32 under lock: S_* toggles (editable while enabled)
export const TGT_DEV_UP: usize = 20; // i32 atomic: H stores on device events; W skips when 0
export const TGT_MSGID: usize = 24; // u32 under lock: W increments per message when S_MSGID
export const TGT_GEN: usize = 28; // u32 under lock: H bumps at each enable; copied into ring slots
export const TGT_RL_INTERVAL: usize = 32; // u32 under lock: ratelimit_interval_ms, 0 = off
export const TGT_RL_BURST: usize = 36; // u32 under lock: ratelimit_burst
export const TGT_RL_PRINTED: usize = 40; // u32 under lock (W): messages let through this interval
export const TGT_RL_MISSED: usize = 44; // u32 under lock (W): messages suppressed this interval
export const TGT_RL_BEGIN: usize = 48; // i64 under lock (W): start of the interval, usec; 0 = none
export const TGT_UD_ACTIVE: usize = 56; // i32 under lock: which userdata buffer (0/1) is live
export const TGT_UD_LEN: usize = 60; // i32 under lock: bytes of rendered userdata in it
// Per-target counters, u64. W adds under lock to SENT .. BYTES here and to REPORTED; S adds
// atomically to TX_ERRORS here and to TX_LOST, STALLS, UNCONFIRMED, HOLDS and REPORT_LOST below
// (native/drain.cc; the dgram sender through src/core/wasm.ts); H reads them all atomically.
export const TGT_CNT_SENT: usize = 64; // messages written whole into the ring
export const TGT_CNT_DATAGRAMS: usize = 72; // datagrams (or frames) written into the ring
export const TGT_CNT_DROPPED: usize = 80; // messages dropped whole: ring full (after the wait, if any)
export const TGT_CNT_TRUNCATED: usize = 88; // messages whose escaped text was cut (docs/wire.md 3.4)
export const TGT_CNT_RATELIMITED: usize = 96; // messages suppressed by the rate limit
export const TGT_CNT_SKIPPED: usize = 104; // messages skipped: device not running
export const TGT_CNT_TX_ERRORS: usize = 112; // S atomic add: datagrams that could not be sent (after retries)
export const TGT_CNT_BYTES: usize = 120; // payload bytes written into the ring
export const TGT_CLEANUP_POS: usize = 128; // u64 under lock: RING_HEAD when moved to cleanup
export const TGT_REL_LEN: usize = 136; // i32: release prefix length; H writes while not enabled
export const TGT_SYSREL_LEN: usize = 140; // i32 under lock: sysdata release length
export const TGT_REL: usize = 144; // 64 bytes: release prefix string (without the comma)
export const TGT_SYSREL: usize = 208; // 64 bytes under lock: sysdata `release=` string
export const TGT_ADDR: usize = 272; // addressing block (raw mode); H writes while not enabled
export const TGT_CNT_TX_LOST: usize = 336; // u64 S atomic add: messages lost in transmission (a datagram of them failed)
export const TGT_CNT_REPORTED: usize = 344; // u64 under lock (W): lost messages already reported in-band
export const TGT_CNT_STALLS: usize = 352; // u64 S atomic add: times S gave up waiting for the target's socket
// u64 S atomic add: messages counted lost (in TX_LOST) that the kernel may still have sent: handed
// over while the device lost its carrier, or a probe whose next hop never answered
export const TGT_CNT_UNCONFIRMED: usize = 360;
export const TGT_CNT_HOLDS: usize = 368; // u64 S atomic add: times S held the target: its path could not carry
// u64 S atomic add: losses whose in-band report was lost (the write path tells them again)
export const TGT_CNT_REPORT_LOST: usize = 376;
// Reliable delivery (F_RELIABLE; docs/reliable.md, assembly/retain.ts): the target numbers its own
// messages (W, so a hole its receiver sees is a loss, never another target's record), and the
// sender keeps every message it is done with, whole, in a retention region the host allocated for
// it past the ring, until the receiver acks it or the region's bounds push it out. The host reads
// entries without a lock (RT_HEAD passed it, copy, then RT_TAIL has not passed it) to resend them.
export const TGT_RSEQ: usize = 384; // u64 under lock (W takes one per message); H sets it before the first enable
export const TGT_RT_BASE: usize = 392; // u32 H while not enabled: the region (an index of RT_SLOTS u64 positions, then RT_SIZE bytes of entries); 0 none
export const TGT_RT_SIZE: usize = 396; // u32 H while not enabled: bytes of entries, a multiple of 8
export const TGT_RT_SLOTS: usize = 400; // u32 H while not enabled: messages kept at most
export const TGT_RT_COUNT: usize = 404; // u32 S atomic store: messages kept now
export const TGT_RT_HEAD: usize = 408; // u64 S atomic store after an entry is written: the position past it
export const TGT_RT_TAIL: usize = 416; // u64 S atomic store BEFORE it reuses the bytes; H atomic load after copying
export const TGT_RT_ACKED: usize = 424; // u64 H atomic store: the first seq not acked (everything before is released); W, S atomic load
export const TGT_RT_HEARD: usize = 432; // i32 H atomic store: 1 once the receiver replied (S counts push-outs as unheard until then; W stops writing ncfirst)
export const TGT_RT_REPORTED_AT: usize = 440; // u64 under lock (W): the usec time of the last report of unacked messages
export const TGT_CNT_UNACKED: usize = 448; // u64 H atomic add: pushed out, then asked for or never settled (host/reliable.ts); W, H atomic load
export const TGT_CNT_UNHEARD: usize = 456; // u64 S atomic add: messages pushed out before the receiver ever replied; H atomic load
export const TGT_CNT_UNACKED_REPORTED: usize = 464; // u64 under lock (W): of UNACKED, told in-band
// 32 bytes under lock (W): the digits of the target's own seq last written (fmt.ts decCached),
// stepped by one per message instead of formatted again
export const TGT_RSEQ_DEC: usize = 472;
// A request for a seq below RT_PUSHED finds nothing, ever (a message too long to keep is passed by
// the next push-out)
export const TGT_RT_PUSHED: usize = 504; // u64 S atomic store: the seq after the last message pushed out; H sets it before the first enable, atomic load
export const TGT_END: usize = 512;

// A retention entry (assembly/retain.ts), at RT_BASE + 8 * RT_SLOTS + (position % RT_SIZE): the
// message as its one unfragmented datagram would carry it, "[release,]header;data", after a
// header; an entry never wraps (RT_PAD, or fewer than RT_ENTRY_HDR bytes left: skip to the start).
export const RT_ENTRY_LEN: usize = 0; // u32: message bytes, or RT_PAD
export const RT_ENTRY_PREFIX: usize = 4; // u32: bytes of "[release,]header" (before the ';')
export const RT_ENTRY_SEQ: usize = 8; // u64: the target's seq of the message
export const RT_ENTRY_HDR: usize = 16;
export const RT_PAD: u32 = 0xffffffff;

// Target flags (locked while enabled).
export const F_EXTENDED: i32 = 1;
export const F_RELEASE: i32 = 2;
export const F_TIMESTAMPS: i32 = 4;
export const F_RAW: i32 = 8;
export const F_RELIABLE: i32 = 16; // needs F_EXTENDED and a retention region (TGT_RT_BASE)
// Sysdata toggles (docs/targets.md: userdata/*_enabled).
export const S_CPU: i32 = 1;
export const S_TASKNAME: i32 = 2;
export const S_RELEASE: i32 = 4;
export const S_MSGID: i32 = 8;

// Addressing block: what a frame needs (used for targets and for the encodeFrame API).
export const ADDR_DST_MAC: usize = 0; // 6 bytes
export const ADDR_SRC_MAC: usize = 6; // 6 bytes
export const ADDR_FAMILY: usize = 12; // u8: 4 or 6
export const ADDR_SRC_PORT: usize = 14; // u16, host order
export const ADDR_DST_PORT: usize = 16; // u16, host order
export const ADDR_SRC_IP: usize = 20; // 4 or 16 bytes
export const ADDR_DST_IP: usize = 36; // 4 or 16 bytes
export const ADDR_SIZE: usize = 52;

// ---------------------------------------------------------------- thread slots
// One per attached thread (the host's thread is slot 0). Its lock owner id (tid) is index + 1.
export const MAX_THREADS: i32 = 64;
export const THREAD_SIZE: usize = 256 << 10;
export const THREADS_OFF: usize = TARGETS_OFF + <usize>MAX_TARGETS * TARGET_SIZE;

export const THR_STATE: usize = 0; // i32 atomic: 0 free, else the claims of its thread (0 -> 1 by CAS; the owner adds and drops)
export const THR_NODE_ID: usize = 4; // i32 atomic: worker_threads.threadId of the owner (owner writes; 0 when free)
export const THR_OS_TID: usize = 8; // i32 atomic: the OS thread id of the owner (dead-owner checks; 0 when free)
export const THR_CPU: usize = 12; // i32: the CPU for sysdata `cpu=` (owner writes before a record)
export const THR_TASK_LEN: usize = 16; // i32: bytes of taskname (owner writes)
export const THR_TASK: usize = 20; // 16 bytes: taskname, at most 15 used
export const THR_SEQ: usize = 40; // u64: explicit seq (REC_EXPLICIT), written by the owner
export const THR_TS: usize = 48; // u64: explicit tsUsec (REC_EXPLICIT)
export const THR_NEED: usize = 56; // f64: W stores with E_NOROOM: the RING_TAIL from which the record fits
export const THR_TEXT: usize = 64; // the record's text, UTF-8, written by the owner
export const TEXT_MAX: i32 = 64 << 10;
export const THR_DICT: usize = THR_TEXT + <usize>TEXT_MAX; // dict: repeated [u16 klen][key][u16 vlen][value]
export const DICT_MAX: i32 = 8 << 10;
// Work areas, written only by the write path on the owner's behalf:
export const THR_ESC: usize = THR_DICT + <usize>DICT_MAX; // escaped text, capped at max total + 4
export const ESC_MAX: i32 = 64 << 10;
export const THR_DESC: usize = THR_ESC + <usize>ESC_MAX; // "\n" + escaped dict lines
export const DESC_MAX: i32 = 4 * DICT_MAX + 128; // "\n" + every dict byte escaped (x4) + the " =\n" of each pair
export const THR_HDR: usize = THR_DESC + <usize>DESC_MAX; // "<prio>,<seq>,<ts>,<flag>"
export const THR_SYS: usize = THR_HDR + 128; // one target's rendered sysdata
export const THR_TSPFX: usize = THR_SYS + 256; // basic targets' "[sssss.uuuuuu] "
export const THR_ADDR: usize = THR_TSPFX + 64; // addressing block for frame_build
export const THR_OUT: usize = THR_ADDR + 64; // output of frame_build (one frame)
export const THR_RPT: usize = THR_OUT + 2048; // an in-band loss report: its text (64 bytes), then its header (64)
// A reliable target's "header" with the target's own seq (and ncfirst): formatted once per message
// (extended.ts), copied into each of its datagrams
export const THR_RHDR: usize = THR_RPT + 128;
export const THR_END: usize = THR_RHDR + 128;

// ---------------------------------------------------------------- userdata buffers
// Rendered userdata (" key=value\n" per non-empty entry), two buffers per target: the host
// renders into the one not live, then flips TGT_UD_ACTIVE under the lock.
export const UD_BUF_SIZE: usize = 64 << 10; // 256 entries x (1 + 53 + 1 + 199 + 1) = 65280 bytes
export const USERDATA_OFF: usize = THREADS_OFF + <usize>MAX_THREADS * THREAD_SIZE;
export const RING_OFF: usize = USERDATA_OFF + <usize>MAX_TARGETS * 2 * UD_BUF_SIZE;

// ---------------------------------------------------------------- transmit ring
// A byte ring of variable-length slots, each 16-byte aligned: a 16-byte slot header, then one
// datagram (UDP mode) or one Ethernet frame (raw mode). A slot never wraps: when one does not fit
// before the end, a PAD slot fills the rest and the slot starts at offset 0.
export const SLOT_LEN: usize = 0; // u32: payload bytes (PAD: bytes to skip after the header)
export const SLOT_TARGET: usize = 4; // u16: target index
export const SLOT_KIND: usize = 6; // u16: K_* in the low byte, KF_* flags above it
export const SLOT_GEN: usize = 8; // u32: the target's TGT_GEN when written
// u32: the low 32 bits of the slot's ring position (a self-check), except in the first datagram of
// an in-band loss report (KF_FIRST | KF_REPORT): the number of losses it reports, so that a sender
// that loses the report can have them told again (TGT_CNT_REPORT_LOST).
export const SLOT_AUX: usize = 12;
export const SLOT_HDR: usize = 16;
export const SLOT_ALIGN: u32 = 16; // a slot's payload is padded to a multiple of this (ring.ts slotBytes)
export const K_DATAGRAM: u16 = 1;
export const K_FRAME: u16 = 2;
export const K_PAD: u16 = 3;
export const K_MASK: u16 = 0xff;
export const KF_FIRST: u16 = 0x100; // the first datagram of a message (S counts lost messages by it)
export const KF_REPORT: u16 = 0x200; // a datagram of an in-band loss report
// S sets it in a slot it sent (or lost) while an older slot of a held target keeps RING_TAIL behind:
// the slot is not looked at again. W writes a fresh kind when it reuses the slot.
export const KF_DONE: u16 = 0x400;
export const RING_MIN: u32 = 64 << 10;
export const RING_MAX: u32 = 256 << 20;

// ---------------------------------------------------------------- write_record flags and status
export const REC_CONT: i32 = 1; // continuation record
export const REC_EXPLICIT: i32 = 2; // seq and tsUsec come from THR_SEQ/THR_TS, not the counters
export const REC_WAIT: i32 = 4; // no room: return E_NOROOM (nothing written) instead of dropping
export const REC_FAC_SHIFT: i32 = 8; // flags >> 8: the logger's facility, for in-band loss reports
export const OK: i32 = 0;
export const E_BADTHREAD: i32 = -1;
export const E_TOOBIG: i32 = -2;
export const E_BADPRIO: i32 = -3;
export const E_NOTINIT: i32 = -4;
export const E_BADTARGET: i32 = -5;
export const E_BADARG: i32 = -6;
export const E_NOROOM: i32 = -7; // REC_WAIT only: the record fits once RING_TAIL reaches THR_NEED
export const E_NOSLOT: i32 = -8; // thread_claim: every thread slot is taken

// Wire constants (docs/wire.md).
export const MAX_PRINT_CHUNK: i32 = 1000;
export const DEFAULT_MAX_TOTAL: i32 = 8191;
export const ETH_HLEN: i32 = 14;
export const IPV4_HLEN: i32 = 20;
export const IPV6_HLEN: i32 = 40;
export const UDP_HLEN: i32 = 8;
