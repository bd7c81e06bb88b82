/// <reference types="node" preserve="true" />
// (kept in the .d.ts for apps on TypeScript 6+: docs/toolchain.md 1; test/pack.test.ts checks it)
// netconsole: ship Node.js logs over UDP in the Linux netconsole wire format.
/**
 * The logger (`Netconsole`), worker loggers (`attach`), targets, levels and errors.
 * @packageDocumentation
 * @module netconsole
 */
export { Netconsole, Targets, WorkerLogger, attach, Logger, ChildLogger } from './host/netconsole.js';
export type {
  NetconsoleOptions,
  NetconsoleHandle,
  Stats,
  TargetStats,
  ChildOptions,
  LevelMethodName,
  LogMethod,
} from './host/netconsole.js';
export { Target, Userdata } from './host/target-api.js';
export type {
  AttributeName,
  AttributeValue,
  SendOptions,
  TargetOptions,
  WritableAttribute,
} from './host/target-api.js';
export type { TargetAddress } from './host/shorthand.js';
export type { TargetState } from './host/target-table.js';
export { LEVELS, levelNumber } from './core/writer.js';
export type { Level, LevelName, LogOptions, Loggable } from './core/writer.js';
export type { NetdevEvent, NetdevEventType, DeviceInfo } from './netdev/types.js';
export {
  NetconsoleError,
  InvalidValueError,
  TooLargeError,
  LockOrderError,
  LayoutMismatchError,
} from './base/errors.js';
export type { ErrnoCode } from './base/errors.js';
export { encodeDatagrams, encodeFrame, encodeMessage } from './core/wire.js';
