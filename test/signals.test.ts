// A service stopped by a signal loses nothing it logged before: SIGTERM, SIGINT or SIGHUP in the
// middle of a 300,000-record burst, with no listener of the application's own (the library drains,
// then re-raises: the process still dies of the signal) and with one that calls process.exit(n)
// (the exit drain runs: the code is n). Arrivals are counted at a C receiver with a 64 MiB buffer
// whose own drops are checked (test/helpers/csink.ts), so what is counted is what arrived.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { Netconsole } from '../src/index.js';
import { CSink } from './helpers/csink.js';
import { withNetns } from '../harness/netns.js';
import { requireNative, requireSender, SENDERS, requireRoot } from './helpers/requires.js';

const SCRIPT = new URL('./workers/signal-logger.js', import.meta.url).pathname;
const IDLE = new URL('./workers/signal-idle.js', import.meta.url).pathname;
const TOTAL = 300_000;
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
/** The signal goes once the child says it has logged this many. */
const SIGNAL_AT = 60_000;
/** The longest a child may take to end after the signal, on a loaded machine (the drain is 1 s). */
const END_MS = 30_000;
/** How long the receiver keeps receiving after the child ended, on the slow link. */
const SLOW_LINK_SETTLE_MS = 3000;

interface Config {
  sender: 'native' | 'dgram';
  handler: 'none' | 'exit' | 'once' | 'signal-exit';
  total?: number;
  style?: 'chunks' | 'loop';
  instances?: number;
  options?: object;
  address?: string;
}

interface Run {
  /** The child's last count on stdout: records logged before it ended. */
  logged: number;
  lines: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Records 0..logged-1 that did not arrive. */
  missing: number;
  arrived: number;
  /** The size of the records' datagrams. */
  datagramBytes: number;
}

/**
 * Runs the child with `c`, sends `sig` once it has logged `at` records (and again at each
 * `handled` line it writes, for handler 'once'), and counts what arrived by record number.
 */
async function burst(
  c: Config,
  sig: NodeJS.Signals,
  at = SIGNAL_AT,
  ns?: { run: (args: string[]) => ChildProcess; sink: CSink },
): Promise<Run> {
  const total = c.total ?? TOTAL;
  const sink = ns?.sink ?? (await CSink.open({ idleMs: 60_000 }));
  const config = JSON.stringify({ port: sink.port, total, style: 'chunks', ...c });
  const child = ns
    ? ns.run([config])
    : spawn(process.execPath, [SCRIPT, config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let logged = 0;
  let sent = false;
  let stderr = '';
  const lines: string[] = [];
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  createInterface({ input: child.stdout! }).on('line', (l) => {
    if (/^\d+$/.test(l)) logged = Math.max(logged, Number(l));
    else lines.push(l);
    if ((!sent && logged >= at) || l.startsWith('handled')) {
      sent = true;
      child.kill(sig);
    }
  });
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
    child.once('close', (code, s) => r([code, s])),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), END_MS + (total / 10_000) * 1000);
  const [code, signal] = await closed;
  clearTimeout(timer);
  // On loopback, all the child sent is in the receiver's queue by now (delivered in sendmsg); on
  // the slow link it may still be on its way: at most its qdisc's backlog, well under a second here.
  if (ns) await new Promise((r) => setTimeout(r, SLOW_LINK_SETTLE_MS));
  sink.stop();
  const { datagrams, drops } = await sink.done();
  assert.equal(drops, 0, 'the receiver lost nothing (else this test could not tell)');
  const seen = new Uint8Array(total);
  let datagramBytes = 0;
  for (const d of datagrams) {
    const m = /rec (\d{6}) /.exec(d.toString('latin1'));
    if (m) seen[Number(m[1])] = 1;
    datagramBytes = d.length;
  }
  let missing = 0;
  for (let i = 0; i < logged; i++) missing += seen[i]! ^ 1;
  return { logged, lines, code, signal, stderr, missing, arrived: seen.reduce((a, b) => a + b, 0), datagramBytes };
}

function assertAllArrived(r: Run, what: string): void {
  assert.ok(r.logged > 0, `the child logged nothing; stderr ${r.stderr}`);
  assert.equal(
    r.missing,
    0,
    `${r.missing} of the ${r.logged} records logged before ${what} did not arrive; stderr ${r.stderr}`,
  );
}

const LEFT =
  /^netconsole: (\d+) bytes of log records could not be handed to the kernel before the process died of (SIG\w+) \(sender (\w+)\)$/m;

describe('signals mid-burst: everything logged before arrives, the exit status is unchanged', () => {
  for (const sender of SENDERS) {
    for (const sig of SIGNALS) {
      test(`${sender} sender, ${sig}, no listener of the application's: every record logged before arrives, the process dies of ${sig}`, async (t) => {
        if (!requireSender(t, sender)) return;
        const r = await burst({ sender, handler: 'none' }, sig);
        t.diagnostic(`${r.arrived} of ${TOTAL} arrived; ${r.logged} logged before the process died`);
        assertAllArrived(r, sig);
        assert.deepEqual({ code: r.code, signal: r.signal }, { code: null, signal: sig }, r.stderr);
        assert.equal(r.stderr, '');
      });
      test(`${sender} sender, ${sig}, the application's listener calls process.exit(7): every record logged before arrives, code 7`, async (t) => {
        if (!requireSender(t, sender)) return;
        const r = await burst({ sender, handler: 'exit' }, sig);
        t.diagnostic(`${r.arrived} of ${TOTAL} arrived; ${r.logged} logged before the process exited`);
        assertAllArrived(r, sig);
        assert.deepEqual({ code: r.code, signal: r.signal }, { code: 7, signal: null }, r.stderr);
        assert.equal(r.stderr, '');
      });
    }

    test(`${sender} sender, SIGTERM during one synchronous loop of 300,000 log calls: all 300,000 arrive (the listener runs after the loop)`, async (t) => {
      if (!requireSender(t, sender)) return;
      const r = await burst({ sender, handler: 'none', style: 'loop' }, 'SIGTERM');
      t.diagnostic(`${r.arrived} of ${TOTAL} arrived`);
      assert.equal(r.logged, TOTAL);
      assertAllArrived(r, 'SIGTERM');
      assert.equal(r.signal, 'SIGTERM', r.stderr);
    });
  }
});

describe('whose listener decides', () => {
  test("a listener of the application's added after create() decides (the process lives on); once it is removed, the next SIGTERM drains and ends the process", async (t) => {
    if (!requireSender(t, 'native')) return;
    const r = await burst({ sender: 'native', handler: 'once' }, 'SIGTERM');
    assert.deepEqual(r.lines, ['handled SIGTERM']);
    assert.ok(r.logged > SIGNAL_AT, `it logged on after the first SIGTERM (${r.logged})`);
    assertAllArrived(r, 'the second SIGTERM');
    assert.equal(r.signal, 'SIGTERM', r.stderr);
  });

  test('two Netconsoles in one process: one listener, both drained', async (t) => {
    if (!requireSender(t, 'native')) return;
    const r = await burst({ sender: 'native', handler: 'none', instances: 2 }, 'SIGINT');
    assertAllArrived(r, 'SIGINT');
    assert.equal(r.signal, 'SIGINT', r.stderr);
  });

  test('with a listener that acts only when alone (signal-exit): neither waits for the other, the process dies of SIGTERM', async (t) => {
    if (!requireSender(t, 'dgram')) return;
    const r = await burst({ sender: 'dgram', handler: 'signal-exit' }, 'SIGTERM');
    assertAllArrived(r, 'SIGTERM');
    assert.deepEqual(r.lines, ['signal-exit SIGTERM']);
    assert.equal(r.signal, 'SIGTERM', r.stderr);
  });

  test('the listeners: one per signal however many Netconsoles, none with signals: false, none after close()', async () => {
    const count = (): number[] => SIGNALS.map((s) => process.listenerCount(s));
    const before = count();
    const opts = { devices: 'none', env: false, sender: 'dgram' } as const;
    const a = await Netconsole.create(opts);
    const b = await Netconsole.create(opts);
    assert.deepEqual(
      count(),
      before.map((n) => n + 1),
    );
    const c = await Netconsole.create({ ...opts, signals: false });
    const d = await Netconsole.create({ ...opts, signals: ['SIGHUP'] });
    assert.deepEqual(
      count(),
      before.map((n) => n + 1),
    );
    await a.close();
    await b.close();
    assert.deepEqual(count(), [before[0]!, before[1]!, before[2]! + 1], 'SIGHUP only, for d');
    await d.close();
    assert.deepEqual(count(), before);
    await c.close();
  });
});

describe('the end is the one Node gives without this library', () => {
  /**
   * A shell runs the child, then prints its status and the flags of its own stdout, a pipe it
   * shares with the child: Node sets O_NONBLOCK on it and, at SIGINT and SIGTERM, its own handler
   * clears that flag again before the process dies (SIG_DFL would leave it set, and the next
   * program writing to the pipe would meet EAGAIN).
   */
  async function end(sig: NodeJS.Signals, signals: boolean): Promise<{ status: string; nonblock: boolean }> {
    const sh = spawn(
      'sh',
      [
        '-c',
        `"$0" "$1" "$2"; echo "status $?"; cat /proc/self/fdinfo/1`,
        process.execPath,
        IDLE,
        JSON.stringify({ signals }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    sh.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const pid = /^(\d+)\n/.exec(out);
      if (pid && !out.includes('sent')) {
        out += 'sent\n';
        process.kill(Number(pid[1]), sig);
      }
    });
    await new Promise((r) => sh.once('close', r));
    const status = /status (\d+)/.exec(out)?.[1];
    const flags = /flags:\s*([0-7]+)/.exec(out)?.[1];
    assert.ok(status && flags, out);
    return { status, nonblock: (parseInt(flags, 8) & 0o4000) !== 0 };
  }

  for (const sig of SIGNALS) {
    test(`${sig}: the exit status and the stdio flags are those of Node's own handling`, async (t) => {
      if (!requireNative(t)) return;
      const without = await end(sig, false);
      const hooked = await end(sig, true);
      assert.equal(without.status, String(128 + constants.signals[sig]));
      assert.deepEqual(hooked, without);
    });
  }
});

describe('on a slow link (tbf 10 Mbit/s on a veth pair): what a full socket buffer refused', () => {
  // 3,000 records are about 0.4 MB: 0.3 s at 10 Mbit/s. With a 64 KiB send buffer the socket
  // refuses most of them at first: the dgram sender's libuv queue and the native sender's ring hold
  // them and send them as the link takes them. So when the signal comes, right after the last log
  // call, a backlog is certain, whatever the machine's speed (on loopback a fast kernel may already
  // have taken the whole burst, and a cut-short drain would have nothing to say).
  const A = '10.89.1.1';
  const B = '10.89.1.2';
  for (const sender of SENDERS) {
    for (const bound of [5000, 20, 0]) {
      test(
        bound > 1000
          ? `${sender} sender: goes out within the exit drain's bound: all arrive, the process dies of SIGTERM`
          : `${sender} sender, exitDrainMs ${bound}: stderr says how many bytes were not handed to the kernel; the process dies of SIGTERM`,
        async (t) => {
          if (!requireRoot(t) || !requireSender(t, sender)) return;
          await withNetns(['a', 'b'], async (ns) => {
            await ns.vethPair('a', 'vA', 'b', 'vB', `${A}/24`, `${B}/24`);
            await ns.slowLink('a', 'vA', '10mbit', '10s');
            const sink = await CSink.open({ ns: { handle: ns, name: 'b' }, address: B, port: 6666, idleMs: 60_000 });
            const total = 3000;
            const config: Config = {
              sender,
              handler: 'none',
              total,
              address: B,
              options: { sendBufferBytes: 64 << 10, exitDrainMs: bound },
            };
            const r = await burst(config, 'SIGTERM', total, { run: (args) => ns.runNode('a', SCRIPT, args), sink });
            t.diagnostic(`${r.arrived} of ${total} arrived; stderr ${r.stderr.trim()}`);
            assert.equal(r.logged, total);
            assert.equal(r.signal, 'SIGTERM', r.stderr);
            if (bound > 1000) {
              assertAllArrived(r, 'SIGTERM');
              assert.equal(r.stderr, '');
            } else {
              const m = LEFT.exec(r.stderr);
              assert.ok(m, `stderr says what was not delivered: ${JSON.stringify(r.stderr)}`);
              assert.deepEqual([m[2], m[3]], ['SIGTERM', sender]);
              // Every record missing was among the bytes said (the sender may still send some
              // before the end, so the bytes said may be more than the bytes missing).
              assert.ok(
                r.missing > 0 && r.missing * r.datagramBytes <= Number(m[1]),
                `${r.missing} records of ${r.datagramBytes} bytes missing, ${m[1]} bytes said`,
              );
            }
          });
        },
      );
    }
  }
});
