// Devices created and deleted anywhere in the namespace must not disturb a Netconsole whose
// targets are elsewhere (issue 15). One `ip -batch` in namespace a adds a veth pair, sets it up
// and deletes it, over and over (about 30 pairs a second on a busy 2-core machine); beside it,
// test/workers/churn-probe.ts (in the same namespace: /sys/class/net and rtnetlink show the
// namespace of the process) creates Netconsoles with a target on lo and one on a veth that stays
// (a:vs0 10.78.0.1/24 <-> b:vs1 10.78.0.2/24), enables, logs and closes them, for a few seconds,
// with devices 'poll' and 'rtnetlink', while four more Netconsoles read the devices all along.
//
// What the kernel answers while a device is being deleted (src/netdev/sysfs.ts says more): a read
// of /sys/class/net/<dev>/<attr> fails with ENOENT (the directory is gone), EINVAL (the device is
// unregistering: net-sysfs's dev_isalive() check) or ENODEV (kernfs deactivated the file between
// open and read, or the rtnl-locked attributes' alive check). Only ENOENT used to count as "the
// device went away": the poller emitted 'error', enable() rejected with the raw fs Error, and a
// create() whose poller's first listing met it rejected and left its sender thread running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ipJson, waitOperUp, type IpLink } from './helpers/ip.js';
import { JsonChild } from './helpers/json-child.js';
import { withNetns, type NetnsHandle } from '../harness/netns.js';
import { requireRoot } from './helpers/requires.js';

const PROBE = fileURLToPath(new URL('./workers/churn-probe.js', import.meta.url));
const DEVICES_PROBE = fileURLToPath(new URL('./workers/devices-probe.js', import.meta.url));
const PORT = 6680;
const DURATION_MS = 6000;
/** The churn must have made and deleted at least this many veth pairs while the probe ran (about 190). */
const MIN_CHURN = 20;

interface ErrInfo {
  code: string;
  message: string;
  typed: boolean;
}

interface Summary {
  cycles: number;
  enables: number;
  received: number;
  createRejections: ErrInfo[];
  enableRejections: ErrInfo[];
  errorEvents: ErrInfo[];
  leaks: unknown[];
  start: { threads: number; fds: number };
  end: { threads: number; fds: number };
}

/**
 * Adds, sets up and deletes a veth pair in namespace `which` over and over, through one
 * `ip -force -batch -` fed from here (no fork per command: as many deletions as the kernel does),
 * until the returned function is called (it kills that ip, nothing else runs in the namespace).
 */
function churn(ns: NetnsHandle, which: string): () => void {
  const ip = ns.spawn(which, 'ip', ['-force', '-batch', '-']);
  ip.stdout!.resume();
  ip.stderr!.resume();
  ip.stdin!.on('error', () => {}); // EPIPE once killed
  const chunk = 'link add vc0 type veth peer name vc1\nlink set vc0 up\nlink set vc1 up\nlink del vc0\n'.repeat(50);
  let stopped = false;
  const feed = (): void => {
    while (!stopped && ip.stdin!.write(chunk));
    if (!stopped) ip.stdin!.once('drain', feed);
  };
  feed();
  return () => {
    stopped = true;
    ip.kill('SIGKILL');
  };
}

/** How many devices namespace `which` has made so far: ifindexes are handed out in order. */
async function devicesMade(ns: NetnsHandle, which: string): Promise<number> {
  await ns.exec(which, ['ip', 'link', 'add', 'vmark0', 'type', 'veth', 'peer', 'name', 'vmark1']);
  const [link] = await ipJson<IpLink[]>(['link', 'show', 'vmark0'], ns.name(which));
  await ns.exec(which, ['ip', 'link', 'del', 'vmark0']);
  return link!.ifindex;
}

for (const devices of ['poll', 'rtnetlink'] as const) {
  test(
    `devices '${devices}': veth pairs created and deleted in a loop disturb nothing of targets on other devices`,
    { timeout: 120_000 },
    async (t) => {
      if (!requireRoot(t)) return;
      await withNetns(['a', 'b'], async (ns) => {
        await ns.vethPair('a', 'vs0', 'b', 'vs1', '10.78.0.1/24', '10.78.0.2/24');
        await waitOperUp(ns, 'a', 'vs0');
        const veth = { name: 'veth', dev_name: 'vs0', remote_ip: '10.78.0.2', remote_port: 9, enabled: true };
        const first = await devicesMade(ns, 'a');
        const stopChurn = churn(ns, 'a');
        const probe = new JsonChild(
          'churn-probe',
          ns.runNode('a', PROBE, [devices, String(DURATION_MS), String(PORT), JSON.stringify([veth])]),
          DURATION_MS + 60_000,
        );
        let s: Summary;
        try {
          s = await probe.waitFor('the summary', (l) => l.summary as Summary | undefined);
        } finally {
          stopChurn();
          await probe.kill();
        }
        const during = Math.floor(((await devicesMade(ns, 'a')) - first) / 2) - 1; // veth pairs
        const context = `${devices}: ${JSON.stringify({ ...s, during })}`.slice(0, 4000);
        t.diagnostic(
          `${s.cycles} creates, ${s.enables} enables, ${s.received} datagrams on lo, ${during} veth pairs made and deleted meanwhile; ` +
            `failures: ${s.errorEvents.length} 'error' events, ${s.createRejections.length} create() and ${s.enableRejections.length} enable() rejections, ${s.leaks.length} leaks`,
        );
        assert.ok(
          during >= MIN_CHURN,
          `the churn made and deleted only ${during} veth pairs while the probe ran: ${context}`,
        );
        assert.ok(s.cycles > 0 && s.enables > 0, context);
        assert.deepEqual(s.errorEvents, [], `nc.events 'error': ${context}`);
        assert.deepEqual(s.createRejections, [], `create() rejected: ${context}`);
        assert.deepEqual(s.enableRejections, [], `enable() rejected: ${context}`);
        assert.deepEqual(s.leaks, [], `a rejected create() left threads or fds behind: ${context}`);
        // Nothing left behind: no more threads or fds than before the first cycle. Fewer is not a
        // leak: beside two CPU hogs the start was once counted while an earlier cycle's thread was
        // still exiting (12 threads, then 11 at the end).
        assert.ok(
          s.end.threads <= s.start.threads && s.end.fds <= s.start.fds,
          `threads / fds after the last close: ${context}`,
        );
        assert.ok(s.received > 0, `nothing arrived on lo: ${context}`);
      });
    },
  );
}

// A device created and deleted between two polls is invisible to polling (poller.ts), unless a
// target was set up on it in between: enable()'s look-up found it, the target holds it, and its
// deletion must deactivate the target as an unregister does (the kernel's netconsole holds the
// device and hears NETDEV_UNREGISTER). The probe polls only when told (pollIntervalMs 60000), so
// "between two polls" is certain.
test(
  "devices 'poll': a device the poller never saw, enabled on and deleted before the next poll, deactivates its target; re-created, it resumes it",
  { timeout: 60_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    await withNetns(['a', 'b'], async (ns) => {
      const probe = new JsonChild(
        'devices-probe',
        ns.runNode('a', DEVICES_PROBE, ['[]'], { NC_POLL_MS: '60000' }),
        10_000,
      );
      try {
        await probe.ready();
        const pair = async (): Promise<void> => {
          await ns.vethPair('a', 'vq0', 'b', 'vq1', '10.79.0.1/24', '10.79.0.2/24');
          await waitOperUp(ns, 'a', 'vq0');
        };
        await pair();
        await probe.ok('create q {"dev_name":"vq0","remote_ip":"10.79.0.2","remote_port":9,"enabled":true}');
        assert.equal((await probe.ok('state q')).state, 'enabled');
        await ns.exec('a', ['ip', 'link', 'del', 'vq0']);
        const since = probe.mark();
        const { events } = (await probe.ok('poll')) as { events: Array<{ type: string; name: string }> };
        assert.deepEqual(
          events
            .map((e) => `${e.type} ${e.name}`)
            .filter((e) => e.endsWith('vq0'))
            .at(-1),
          'unregister vq0',
          JSON.stringify(events),
        );
        const off = await probe.waitLine(
          'target q deactivated',
          (l) => (l.event as { name?: string; state?: string } | undefined)?.state === 'deactivated',
          since,
        );
        assert.deepEqual(off.event, { name: 'q', state: 'deactivated', device: 'vq0', reason: 'unregister' });
        await pair();
        const again = probe.mark();
        await probe.ok('poll');
        const on = await probe.waitLine(
          'target q resumed',
          (l) => (l.event as { state?: string } | undefined)?.state !== undefined,
          again,
        );
        assert.deepEqual(on.event, { name: 'q', state: 'enabled', device: 'vq0', reason: 'resumed' });
        assert.deepEqual(
          probe.lines.filter((l) => 'ncError' in l || 'pollError' in l || 'fatal' in l),
          [],
        );
        await probe.quitWith('quit');
      } finally {
        await probe.kill();
      }
    });
  },
);
