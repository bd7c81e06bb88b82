// A rejected Netconsole.create() leaves nothing behind (issue 15): whatever throws after the
// sender started (its start, the constructor, the device source's start, the configured targets,
// the control socket) closes what was started before it. Each point is made to fail here, by a
// patched method or a real failure, and the process's threads (/proc/self/task: the native
// sender's thread), open fds (/proc/self/fd: sockets, the netlink watcher), live timers (the
// poller's, the reaper's; async_hooks, as unref()ed timers are not in getActiveResourcesInfo) and
// process listeners must be back where they were.
//
// Before the fix, the constructor ran outside the try that closes, and started the device source
// itself: a first listing that failed (a device being deleted: test/devices-churn.test.ts) left
// the sender's thread running.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Netconsole, NetconsoleError } from '../src/index.js';
import * as sysfs from '../src/netdev/sysfs.js';
import type { DeviceLookup } from '../src/netdev/types.js';
import { SysfsPoller } from '../src/netdev/poller.js';
import { RtnetlinkSource } from '../src/netdev/rtnetlink.js';
import { TargetTable } from '../src/host/target-table.js';
import { NativeSender } from '../src/sender/native.js';
import { DgramSender } from '../src/sender/dgram.js';
import { socketPath } from './helpers/control.js';
import { requireNative, requireSender, SENDERS } from './helpers/requires.js';

// ---------------------------------------------------------------------------------------------
// What a process holds

const timers = new Set<number>();
createHook({
  init(id, type) {
    if (type === 'Timeout') timers.add(id);
  },
  destroy(id) {
    timers.delete(id);
  },
}).enable();

interface Held {
  threads: number;
  fds: number;
  timers: number;
  listeners: Record<string, number>;
}

function held(): Held {
  const listeners: Record<string, number> = {};
  for (const name of process.eventNames()) listeners[String(name)] = process.listenerCount(name);
  return {
    threads: readdirSync('/proc/self/task').length,
    fds: readdirSync('/proc/self/fd').length,
    timers: timers.size,
    listeners,
  };
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Lets timers that fired be destroyed (async_hooks reports it after their callback): until the
 * count held still for three looks 20 ms apart (at most 2 s). One 20 ms wait was not enough on a
 * busy machine: the warm-up's own timers (close()'s looks at the sender) were still counted in
 * `before` and gone by `after` (timers 4 -> 1, under two CPU hogs). A leaked timer or interval
 * stays, so it is still seen.
 */
async function settle(): Promise<void> {
  const deadline = Date.now() + 2000;
  for (let last = -1, same = 0; same < 3 && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 20));
    same = timers.size === last ? same + 1 : 0;
    last = timers.size;
  }
}

class Injected extends Error {}
const injected = (e: unknown): boolean => e instanceof Injected;
let armed = false;

/**
 * Makes `obj[key]` throw an Injected error while `armed` (after running the original when
 * `after`); returns the function that puts the original back.
 */
function injectAt(obj: object, key: string, after: boolean): () => void {
  const target = obj as Record<string, (...args: unknown[]) => unknown>;
  const own = Object.prototype.hasOwnProperty.call(target, key);
  const original = target[key]!;
  target[key] = function (this: unknown, ...args: unknown[]): unknown {
    if (!armed) return original.apply(this, args);
    if (after) original.apply(this, args);
    throw new Injected(`${key} (injected)`);
  };
  return () => {
    if (own) target[key] = original;
    else delete target[key];
  };
}

/**
 * create(opts) rejects (with an error `check` accepts, the injection armed meanwhile) and the
 * process holds what it held before.
 */
async function rejectsLeavingNothing(
  opts: Parameters<typeof Netconsole.create>[0],
  check: (e: unknown) => boolean,
): Promise<void> {
  // What an earlier test left (on broken code) goes when the garbage collector finalizes it,
  // whenever that is: collected now, it cannot cancel out a leak of this test.
  gc();
  // Once, outside the count: libuv's thread pool, the addon and the memory pool start on first use.
  await (await Netconsole.create({ ...opts, targets: undefined, control: undefined })).close();
  await settle();
  const before = held();
  armed = true;
  try {
    await assert.rejects(Netconsole.create(opts), (e: unknown) => {
      assert.ok(check(e), `not the failure that was meant: ${String(e)}`);
      return true;
    });
  } finally {
    armed = false;
  }
  await settle();
  assert.deepEqual(held(), before, 'threads, fds, timers and process listeners after the rejected create()');
}

function requireDevices(t: TestContext, devices: 'poll' | 'rtnetlink'): boolean {
  return devices === 'poll' || requireNative(t, 'netlink');
}

// ---------------------------------------------------------------------------------------------

describe('a rejected create() leaves no thread, fd, timer or process listener behind', () => {
  for (const sender of SENDERS) {
    test(`${sender} sender: its start() throws once the sender runs`, async (t) => {
      if (!requireSender(t, sender)) return;
      t.after(injectAt(sender === 'native' ? NativeSender.prototype : DgramSender.prototype, 'start', true));
      await rejectsLeavingNothing({ devices: 'none', env: false, sender }, injected);
    });

    test(`${sender} sender: the constructor throws`, async (t) => {
      if (!requireSender(t, sender)) return;
      t.after(injectAt(TargetTable.prototype, 'on', false)); // the constructor's first table.on()
      await rejectsLeavingNothing({ devices: 'none', env: false, sender }, injected);
    });
  }

  for (const devices of ['poll', 'rtnetlink'] as const) {
    test(`devices '${devices}': the device source's start throws (its first listing failed)`, async (t) => {
      if (!requireDevices(t, devices)) return;
      t.after(injectAt(devices === 'poll' ? SysfsPoller.prototype : RtnetlinkSource.prototype, 'start', false));
      await rejectsLeavingNothing({ devices, env: false }, injected);
    });
  }

  test('the configured targets fail (a device look-up throws a plain Error): the rejection is typed', async () => {
    const lookup: DeviceLookup = {
      ...sysfs,
      getDevice() {
        throw new Error('look-up failed');
      },
    };
    await rejectsLeavingNothing(
      {
        devices: 'poll',
        env: false,
        lookup,
        targets: [{ name: 't', dev_name: 'lo', remote_ip: '127.0.0.1', remote_port: 9, enabled: true }],
      },
      (e) => e instanceof NetconsoleError && /look-up failed/.test(e.message),
    );
  });

  test('the control socket path is taken by a live server: EADDRINUSE, and that server is untouched', async () => {
    const path = socketPath();
    const other: Server = createServer();
    await new Promise<void>((resolve) => other.listen(path, resolve));
    try {
      await rejectsLeavingNothing(
        {
          devices: 'poll',
          env: false,
          control: path,
          targets: [{ name: 't', dev_name: 'lo', remote_ip: '127.0.0.1', remote_port: 9, enabled: true }],
        },
        (e) => e instanceof NetconsoleError && e.code === 'EADDRINUSE',
      );
      assert.ok(other.listening);
    } finally {
      await new Promise((r) => other.close(r));
    }
  });
});
