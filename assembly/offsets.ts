// Where the records of assembly/layout.ts are: the address of target t and of thread slot i.
// Beside the layout (not in it: index.ts re-exports the layout's constants, and these are not
// module exports).
import { TARGET_SIZE, TARGETS_OFF, THREAD_SIZE, THREADS_OFF } from './layout';

/** Where target `t`'s record is. */
@inline export function targetAt(t: i32): usize {
  return TARGETS_OFF + <usize>t * TARGET_SIZE;
}

/** Where thread slot `i` is. */
@inline export function threadAt(i: i32): usize {
  return THREADS_OFF + <usize>i * THREAD_SIZE;
}
