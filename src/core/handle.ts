// A CoreHandle as a caller gives it to attach(), checked before anything is claimed (ARCHITECTURE.md,
// convention 6): read once, field by field (a getter or Proxy trap that throws is EINVAL naming the
// handle), each field its own type by the engine's brand checks (a Proxy of a module or a memory
// is not one). What only the module can tell (a memory never laid out by a Netconsole; a module
// and a memory that do not fit together) is checked by Core when it attaches, still before a claim.
import { invalid, outOfRange } from '../base/errors.js';
import { L, memoryBytes } from './layout.js';
import { guarded } from './validate.js';
import type { CoreHandle } from './wasm.js';

const ACCEPTED = 'the value of nc.handle() (or of its `core`), as given or structured-cloned';
/** The engine's own accessor: it throws for anything that is not a WebAssembly.Memory. */
const memoryBuffer = Object.getOwnPropertyDescriptor(WebAssembly.Memory.prototype, 'buffer')!.get!;

export function readCoreHandle(value: unknown, option: string): CoreHandle {
  if (typeof value !== 'object' || value === null) throw invalid(option, value, ACCEPTED);
  const f = guarded(option, value, () => {
    const h = value as Record<string, unknown>;
    return { module: h.module, memory: h.memory, debug: h.debug, epoch: h.epoch };
  });
  return {
    module: netconsoleModule(`${option}.module`, f.module),
    memory: sharedMemory(`${option}.memory`, f.memory),
    debug: flag(`${option}.debug`, f.debug),
    epoch: u32(`${option}.epoch`, f.epoch),
  };
}

function netconsoleModule(option: string, value: unknown): WebAssembly.Module {
  let exported: WebAssembly.ModuleExportDescriptor[];
  try {
    exported = WebAssembly.Module.exports(value as WebAssembly.Module);
  } catch (err) {
    throw invalid(option, value, 'the WebAssembly.Module of nc.handle()', 'not a WebAssembly.Module:', err);
  }
  if (!exported.some((e) => e.name === 'thread_claim' && e.kind === 'function')) {
    throw invalid(option, value, 'the WebAssembly.Module of nc.handle()', "a module that is not netconsole's:");
  }
  return value as WebAssembly.Module;
}

function sharedMemory(option: string, value: unknown): WebAssembly.Memory {
  const accepted = 'the shared WebAssembly.Memory of nc.handle()';
  let buffer: unknown;
  try {
    buffer = memoryBuffer.call(value);
  } catch (err) {
    throw invalid(option, value, accepted, 'not a WebAssembly.Memory:', err);
  }
  if (!(buffer instanceof SharedArrayBuffer)) throw invalid(option, value, accepted, 'a memory that is not shared:');
  if (buffer.byteLength < memoryBytes(L.RING_MIN))
    throw invalid(option, value, accepted, `a memory of ${buffer.byteLength} bytes, too small for a Netconsole's:`);
  return value as WebAssembly.Memory;
}

function flag(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid(option, value, 'true or false');
  return value;
}

function u32(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(option, value, 'an integer 0..4294967295');
  if (value < 0 || value > 0xffffffff) throw outOfRange(option, value, '0..4294967295');
  return value;
}
