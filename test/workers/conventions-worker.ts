// Worker for test/conventions.test.ts: a worker's logger (attach) with the logger conventions:
// the level from the handle, its own level, trace and fatal, a child, calls that are refused
// (returned 0, warned once per cause on this thread), and throwOnLogError through the handle.
// Posts one message with what each call returned, the levels read back, and the warning codes.
import { parentPort, workerData } from 'node:worker_threads';
import { NetconsoleError } from '../../src/base/errors.js';
import { attach, type NetconsoleHandle } from '../../src/host/netconsole.js';

export interface ConventionsReport {
  levelFromHandle: string;
  returned: Record<string, number>;
  levels: Record<string, string>;
  warnings: string[];
  thrown: { typed: boolean; code: unknown } | null;
}

const { handle } = workerData as { handle: NetconsoleHandle };
const warnings: string[] = [];
process.on('warning', (w: Error & { code?: string }) => {
  if (w.code?.startsWith('NETCONSOLE_LOG')) warnings.push(w.code);
});

const log = attach(handle);
const returned: Record<string, number> = {};
const levelFromHandle = log.level; // the Netconsole's when handle() was made: 'info'
returned.debugBelowHandleLevel = log.debug('w: debug below the level');
returned.traceBelowHandleLevel = log.trace('w: trace below the level');
log.level = 'trace';
const afterTrace = log.level;
returned.trace = log.trace('w: trace %d', 7);
returned.fatal = log.fatal({ worker: 'yes' }, 'w: fatal %s', 'now');
const child = log.child({ thread: 'worker' }, { msgPrefix: 'w-child: ' });
const grandchild = child.child({ depth: 2 }, { msgPrefix: '[gc] ' });
returned.child = child.info('hello');
returned.grandchild = grandchild.warn({ depth: 3 }, 'deeper');
child.level = 'warning';
returned.childBelowOwnLevel = child.info('not sent');
returned.parentStillAtDebug = log.debug('w: parent at debug');
returned.symbol = log.info(Symbol('not text'));
returned.symbolAgain = log.info(Symbol('not text either'));
returned.badLevel = log.log('loud' as never, 'x');
returned.badLevelFromChild = child.log('loud' as never, 'x');

let thrown: ConventionsReport['thrown'] = null;
const strict = attach({ ...handle, throwOnLogError: true });
try {
  strict.info(Symbol('thrown'));
} catch (err) {
  thrown = { typed: err instanceof NetconsoleError, code: (err as NetconsoleError).code };
}
strict.detach();

setImmediate(() => {
  // warnings are emitted on the next tick
  const report: ConventionsReport = {
    levelFromHandle,
    returned,
    levels: { afterTrace, log: log.level, child: child.level, grandchild: grandchild.level },
    warnings,
    thrown,
  };
  log.detach();
  parentPort!.postMessage(report);
});
