// A target enabled straight in a Core, without a Netconsole (no host, no socket, no sender): for
// the tests and benchmarks of the write path alone, which drain the ring themselves.
import { L } from '../src/core/layout.js';
import { renderUserdata } from '../src/core/userdata.js';
import type { Core } from '../src/core/wasm.js';

/** Target `t` of `core`, extended (or `flags`), no userdata, its device up, ENABLED. */
export function enableBareTarget(core: Core, t = 0, flags: number = L.F_EXTENDED): void {
  core.targets.clearTarget(t);
  core.targets.listAdd(t);
  core.targets.setTargetLocked(t, flags, null, null);
  core.targets.setUserdata(t, renderUserdata([]));
  core.targets.setDeviceUp(t, true);
  core.targets.setTargetState(t, L.ST_ENABLED);
}
