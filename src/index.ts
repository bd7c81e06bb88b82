// netconsole: ship Node.js logs over UDP in the Linux netconsole wire format.
export { Netconsole, Targets, WorkerLogger, attach, Logger } from './netconsole.js';
export type { NetconsoleOptions, NetconsoleHandle, Stats, TargetStats } from './netconsole.js';
export { Target, Userdata } from './target.js';
export type { TargetOptions } from './target.js';
export type { TargetState } from './targets.js';
export { LEVELS, levelNumber } from './writer.js';
export type { Level, LevelName, LogOptions, Loggable } from './writer.js';
export type { NetdevEvent, NetdevEventType, DeviceInfo } from './netdev/types.js';
export { NetconsoleError, InvalidValueError, TooLargeError, LockOrderError, LayoutMismatchError } from './errors.js';
export type { ErrnoCode } from './errors.js';
export { encodeDatagrams, encodeFrame, encodeMessage } from './wire.js';
