// `netconsole demo` (what `npm start` runs): a receiver on loopback, a basic and an extended
// target, records from the main thread and two workers (one long enough to fragment, one with
// userdata and sysdata), an injected device event, then what arrived and the throughput.
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Netconsole } from '../host/netconsole.js';
import type { Message } from '../receiver/receiver.js';

export interface DemoOptions {
  workers: number;
  perWorker: number;
  out: (line: string) => void;
}

function show(m: Message): string {
  if (!m.extended) return `basic     ${JSON.stringify(m.text.length > 90 ? `${m.text.slice(0, 87)}...` : m.text)}`;
  const text = m.text.length > 60 ? `${m.text.slice(0, 40)}... (${m.text.length} chars)` : m.text;
  const dict = m.dict && Object.keys(m.dict).length ? ` ${JSON.stringify(m.dict)}` : '';
  return `extended  <${m.level}> seq=${m.seq} ${m.release ? `release=${m.release} ` : ''}${JSON.stringify(text)}${dict}`;
}

export async function demo(opts: DemoOptions): Promise<void> {
  const { out } = opts;
  const receiver = new Worker(new URL('./demo-receiver.js', import.meta.url));
  const [{ address }] = (await once(receiver, 'message')) as [{ address: { port: number } }];
  const port = address.port;
  out(`receiver listening on 127.0.0.1:${port} (its own thread)`);
  const rcvbufErrors0 = udpRcvbufErrors();

  const nc = await Netconsole.create({
    devices: 'none',
    ringSize: 16 << 20,
    targets: [
      { name: 'basic', remote_ip: '127.0.0.1', remote_port: port, local_port: 0, enabled: 1 },
      {
        name: 'extended',
        remote_ip: '127.0.0.1',
        remote_port: port,
        local_port: 0,
        extended: 1,
        release: 1,
        userdata: { region: 'demo-1' },
        taskname_enabled: 1,
        msgid_enabled: 1,
        enabled: 1,
      },
    ],
  });
  for (const t of nc.targets.list())
    out(
      `target ${t.name}: ${t.state}, ${t.get('extended') === '1' ? 'extended' : 'basic'}, to ${t.get('remote_ip')}:${t.get('remote_port')} via ${t.device}${t.get('dev_name') ? '' : ' (the route to it)'}`,
    );

  nc.info('hello from the main thread');
  nc.warning('a long line that is fragmented: ' + 'lorem ipsum dolor sit amet '.repeat(60));
  nc.err(new Error('an error, with its stack'));
  nc.notice(
    { SUBSYSTEM: 'demo', DEVICE: '+demo:1' },
    'with a dictionary (%s: its fields are dictionary entries)',
    "pino's merging object",
  );

  // A device event: lo goes down (records are skipped and counted), then up again.
  const ifindex = Number(readFileSync('/sys/class/net/lo/ifindex', 'utf8'));
  await nc.deviceEvent({ type: 'down', name: 'lo', ifindex });
  nc.info('this one is skipped: lo is down (as far as netconsole knows)');
  await nc.deviceEvent({ type: 'up', name: 'lo', ifindex });
  nc.info('lo is up again');
  await nc.flush();

  out(`\n${opts.workers} workers x ${opts.perWorker} records each, to both targets:`);
  const url = new URL('./demo-worker.js', import.meta.url);
  const t0 = performance.now();
  // Bursts of 250 with 40 ms pauses: the demo's one receiver thread (which parses every datagram) keeps up.
  const workers = Array.from(
    { length: opts.workers },
    () => new Worker(url, { workerData: { handle: nc.handle(), count: opts.perWorker, burst: 250, pauseMs: 40 } }),
  );
  workers.forEach((w) => nc.watchWorker(w));
  const results = await Promise.all(
    workers.map(async (w) => (await once(w, 'message'))[0] as { threadId: number; count: number; ms: number }),
  );
  await nc.flush();
  const flushed = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 200));
  receiver.postMessage('report');
  const [report] = (await once(receiver, 'message')) as [
    { sample: Message[]; counters: { datagrams: number; messages: number } },
  ];
  await receiver.terminate();

  out("\nwhat arrived (the main thread's records, then the first of the workers'):");
  for (const m of report.sample) out(`  ${show(m)}`);
  const stats = nc.stats();
  const records = opts.workers * opts.perWorker;
  out('\nthroughput:');
  for (const r of results)
    out(
      `  worker ${r.threadId}: ${r.count} records, ${r.ms.toFixed(0)} ms inside log calls: ${((r.count / r.ms) * 1000).toFixed(0)} records/s while writing (cold start, two targets, bursts of 250 paced for the receiver)`,
    );
  out(
    `  all ${records} records handed to the kernel within ${flushed.toFixed(0)} ms by the ${stats.sender} sender (npm run bench measures the write path and the sender flat out)`,
  );
  const sent = stats.targets.reduce((n, t) => n + t.datagrams, 0);
  const lost = udpRcvbufErrors() - rcvbufErrors0;
  out(
    `  receiver: ${report.counters.datagrams} of ${sent} datagrams, ${report.counters.messages} messages` +
      (lost > 0
        ? `; the kernel dropped ${lost} at the receiver's socket buffer (Udp RcvbufErrors): one receiver thread on this machine drains less than the sender sends`
        : ''),
  );
  for (const t of stats.targets)
    out(
      `  target ${t.name}: sent ${t.sent}, datagrams ${t.datagrams}, dropped ${t.dropped} (ring full), skipped ${t.skipped} (device down), msgid ${t.msgid}`,
    );
  await nc.close();
}

/** Udp RcvbufErrors from /proc/net/snmp: datagrams the kernel dropped because a receiver was full. */
function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  if (lines.length < 2) return 0;
  const names = lines[0].split(/\s+/);
  return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')] ?? 0);
}
