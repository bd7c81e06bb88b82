// Scenario reliable: what a reliable target (docs/reliable.md) costs and what it buys, end to end.
// One extended target sends paced messages through a relay that drops a seeded share of the
// datagrams (harness/lossy-proxy.ts, in this process) to `netconsole listen --ack` (another
// process, which acks and asks for holes). Subjects, the same library each time:
//   plain           reliable 0, no loss: the baseline
//   reliable        reliable 1, no loss: what keeping and acking costs
//   reliable-20%    reliable 1, 20% of the datagrams dropped: what recovering costs
//   plain-20%       reliable 0, 20% dropped: what is lost without it (delivered %; the receiver
//                   gives a hole up after 1 s here, as nothing will fill it)
// The sender is bench/workers/e2e-sender.ts (subject netconsole-udp, the native sender) in a fresh
// process. The figure is delivered messages/s: messages printed whole by the receiver over the
// time from the first log call to the last one's arrival, so recovery time counts (a lost last
// message arrives by an emergency resend about 3 s after it was written; once the sender stops,
// the last holes are asked for once per retransmission interval, 1 s by default). CPU per delivered
// message is the sender process's (every thread, until the receiver settled: resends included).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LossyProxy } from '../harness/lossy-proxy.js';
import { lines, next } from './e2e.js';
import type { Case, Sample, Scenario, ScenarioContext } from './harness.js';
import type { SenderArgs } from './workers/e2e-sender.js';

const SENDER_JS = fileURLToPath(new URL('./workers/e2e-sender.js', import.meta.url));
const CLI = fileURLToPath(new URL('../src/faces/cli.js', import.meta.url));
export const RELIABLE_SUBJECTS = ['plain', 'reliable', 'reliable-20%', 'plain-20%'];
const SEED = 20261206;

const PLANS: Record<ScenarioContext['profile'], { sizes: number[]; count: number; rate: number }> = {
  full: { sizes: [100, 2000], count: 20_000, rate: 10_000 },
  quick: { sizes: [100], count: 10_000, rate: 10_000 },
  smoke: { sizes: [2000], count: 500, rate: 10_000 },
};

interface Listener {
  port: number;
  /** Messages printed whole, and when the last one was read (process.hrtime, ns). */
  messages: number;
  incomplete: number;
  lost: number;
  lastNs: bigint;
  lastChangeMs: number;
  stop(): Promise<void>;
}

/** `netconsole listen --ack --json`, its defaults but for `--msg-timeout` when given. */
async function listen(msgTimeoutMs?: number): Promise<Listener> {
  const timeout = msgTimeoutMs === undefined ? [] : ['--msg-timeout', String(msgTimeoutMs)];
  const child = spawn(
    process.execPath,
    [CLI, 'listen', '--address', '127.0.0.1', '--port', '0', '--ack', '--json', ...timeout],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const l: Listener = {
    port: 0,
    messages: 0,
    incomplete: 0,
    lost: 0,
    lastNs: 0n,
    lastChangeMs: performance.now(),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
  // One JSON line per message; an event line (lost, ...) starts with {"event". Counted without
  // parsing every line: the receiver's speed is not what is measured here.
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      if (p.startsWith('{"event":"lost"')) l.lost += (JSON.parse(p) as { count: number }).count;
      else if (p.startsWith('{"event"') || p === '') continue;
      else if (p.includes('"incomplete":true')) l.incomplete++;
      else {
        l.messages++;
        l.lastNs = process.hrtime.bigint();
      }
      l.lastChangeMs = performance.now();
    }
  });
  const deadline = Date.now() + 15_000;
  while (!/listening on .*:(\d+)/.test(stderr)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`listen --ack did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  l.port = Number(/listening on .*:(\d+)/.exec(stderr)![1]);
  return l;
}

export async function runOnce(
  subject: string,
  size: number,
  count: number,
  rate: number,
  ncOptions: Record<string, unknown>,
): Promise<Sample> {
  const reliable = subject.startsWith('reliable');
  const loss = subject.endsWith('-20%') ? 0.2 : 0;
  // Without reliable, nothing fills a hole: the receiver gives holes up after 1 s (not its 30 s)
  // so that what arrived behind them is printed, and counted, within the run.
  const rx = await listen(!reliable && loss > 0 ? 1000 : undefined);
  const proxy = await LossyProxy.start({
    upstream: { address: '127.0.0.1', port: rx.port },
    seed: SEED,
    forwardLoss: loss,
  });
  const args: SenderArgs = {
    subject: 'netconsole-udp',
    size,
    count,
    rate,
    port: proxy.port,
    address: '127.0.0.1',
    ncOptions: {
      ...ncOptions,
      targets: [
        {
          name: 'b',
          remote_ip: '127.0.0.1',
          remote_port: proxy.port,
          extended: 1,
          reliable: reliable ? 1 : 0,
          enabled: 1,
        },
      ],
    },
    statsFile: '',
  };
  const child = spawn(process.execPath, [SENDER_JS, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  try {
    const out = lines(child);
    await next(out, `${subject} setup`);
    child.stdin!.write('go\n');
    const sent = await next(out, subject);
    // Settled: everything arrived, or nothing new for a while (a reliable target's lost last
    // message comes back within about 3 s, and emergency resends are at most 8 s apart).
    const quietMs = reliable ? 25_000 : 2500;
    const deadline = performance.now() + 120_000;
    while (
      rx.messages + rx.incomplete < count &&
      performance.now() - rx.lastChangeMs < quietMs &&
      performance.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 20));
    child.stdin!.write('stop\n');
    const r = await next(out, `${subject} result`);
    const t0Ns = BigInt(sent.t0Ns as string);
    const seconds = rx.lastNs > 0n ? Number(rx.lastNs - t0Ns) / 1e9 : NaN;
    const stats = r.stats as { targets: Array<{ lost: number; reliable: Record<string, number> | null }> };
    const rel = stats.targets[0].reliable;
    return {
      value: rx.messages > 0 && seconds > 0 ? rx.messages / seconds : 0,
      extra: {
        sent: count,
        delivered: rx.messages,
        deliveredPct: (100 * rx.messages) / count,
        incomplete: rx.incomplete,
        givenUp: rx.lost,
        seconds,
        cpuNsPerMsg: rx.messages > 0 ? ((r.cpuUs as number) * 1000) / rx.messages : null,
        dropped: proxy.stats.forwardDropped,
        resends: rel?.resends ?? 0,
        emergencies: rel?.emergencies ?? 0,
        libLost: stats.targets[0].lost,
      },
    };
  } catch (err) {
    throw new Error(
      `${(err as Error).message}${stderr ? ` (stderr: ${stderr.trim().split('\n').slice(-3).join(' | ')})` : ''}`,
    );
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await proxy.close();
    await rx.stop();
  }
}

export const scenario: Scenario = {
  name: 'reliable',
  about:
    'delivered messages/s and CPU per delivered message to listen --ack: a reliable target at 20% loss vs the same library without loss, with and without reliable',
  cases(ctx) {
    const plan = PLANS[ctx.profile];
    return plan.sizes.map((size): Case => ({
      scenario: 'reliable',
      params: { path: 'loopback relay', shape: 'paced', size, count: plan.count, rate: plan.rate },
      unit: 'messages/s',
      higherIsBetter: true,
      baseline: 'plain',
      subjects: RELIABLE_SUBJECTS,
      measure: (subject) => runOnce(subject, size, plan.count, plan.rate, ctx.ncOptions),
    }));
  },
};
