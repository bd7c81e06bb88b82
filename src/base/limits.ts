// The limits of a record and of its options, each written once. Everything that checks or documents
// one of these bounds imports it from here; test/owners.test.ts fails when one is written again as a
// bare number in src/. The shared memory's sizes are the layout's (assembly/layout.ts), not these.

/** The largest syslog facility: LOG_LOCAL7 >> 3 (include/linux/syslog.h's facilities 0..23). */
export const FACILITY_MAX = 23;
/** The largest syslog level: LOG_DEBUG. */
export const LEVEL_MAX = 7;
/** The largest prio, facility * 8 + level: 23 * 8 + 7. */
export const PRIO_MAX = FACILITY_MAX * 8 + LEVEL_MAX;
/** The facility of a record that names none: LOG_USER. */
export const DEFAULT_FACILITY = 1;
/** The longest taskname: TASK_COMM_LEN (16) less its NUL, as the kernel's sysdata `taskname=`
 *  prints current->comm. */
export const MAX_TASKNAME = 15;
/** The longest release string: __NEW_UTS_LEN (utsname.release is 65 bytes with its NUL). */
export const RELEASE_MAX = 64;
/**
 * The largest `maxTotal`, for create() and netconsole/wire alike: what mem_init accepts
 * (assembly/index.ts: ESC_MAX - 4, ESC_MAX being the 65536-byte escape area of a thread's scratch
 * in assembly/layout.ts, where the escaped text is cut at maxTotal). test/owners.test.ts checks
 * this figure against the layout.
 */
export const MAX_TOTAL_MAX = 65532;
/** A userdata key's longest, in bytes: MAX_EXTRADATA_NAME_LEN (drivers/net/netconsole.c). */
export const USERDATA_KEY_MAX = 53;
/** A userdata value's longest, in bytes: MAX_EXTRADATA_VALUE_LEN less one (a write must be under 200). */
export const USERDATA_VALUE_MAX = 199;
/** The most userdata entries of a target: MAX_USERDATA_ITEMS. */
export const USERDATA_ITEMS_MAX = 256;
