#!/usr/bin/env node
// The `netconsole` command: demo, send, listen, ctl, tune (and bench in a source checkout).
//
// Exit status: 0 done (help and --version too); 2 the command line was refused (a usage error:
// one line, then a hint to --help) or what it asked was refused (a NetconsoleError: one line with
// its errno-style code); 1 it ran, but records were lost or cut, or it failed unexpectedly.
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { control, DEFAULT_TIMEOUT_MS } from './control-client.js';
import { OPS, type ControlRequest } from '../host/control-protocol.js';
import { demo } from './demo.js';
import { NetconsoleError } from '../base/errors.js';
import { DEFAULT_FACILITY, FACILITY_MAX } from '../base/limits.js';
import { Netconsole } from '../host/netconsole.js';
import { BoundedLines } from '../receiver/line-output.js';
import { formatMessage, Receiver, type LostEvent, type LostReason, type Message } from '../receiver/receiver.js';
import { levelNumber, type Level } from '../core/writer.js';
import { L } from '../core/layout.js';
import { resolveOptions } from '../host/resolve.js';
import { printable, printableMessage, printableValue } from './printable.js';

/** The package's version, read at run time from the package.json of this installed copy. */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown (package.json not found beside dist/)';
  }
}

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = v.trim() === '' ? NaN : Number(v); // Number('') is 0: an empty --port is not port 0
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
    return n;
  };
}

function level(v: string): number {
  try {
    return levelNumber(/^\d+$/.test(v) ? Number(v) : (v as never));
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

interface SendOptions {
  target: string[];
  config?: string;
  level: number;
  facility: number;
  extended?: boolean;
  userdata: string[];
  sysdata?: string;
  sender: 'auto' | 'native' | 'dgram';
  ringSize?: number;
}

/** Lines of stdin `send` logs before it lets the sender catch up (flush). */
const STDIN_CHUNK = 4096;

const program = new Command('netconsole')
  .description('Ship logs over UDP in the Linux netconsole wire format')
  .version(packageVersion(), '-V, --version', 'print the package version')
  // A usage error is one line (commander's message, its "did you mean" joined on), then the
  // hint that each command sets below; never the whole help.
  .configureOutput({ outputError: (str, write) => write(`netconsole: ${printableMessage(str.trim())}\n`) })
  // Usage errors (a bad flag or value, an unknown command, no command) exit 2; help and version exit 0.
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

/** The command being run (for the hint after an error its action throws). */
let running: Command = program;
program.hook('preAction', (_, cmd) => {
  running = cmd;
});

/** "see netconsole send --help": the second and last line of a usage error. */
function hint(cmd: Command): string {
  return `see netconsole${cmd === program ? '' : ` ${cmd.name()}`} --help`;
}

/** --sysdata names: the userdata/*_enabled toggles without their suffix (cpu for cpu_nr). */
const SYSDATA_NAMES: Record<string, string> = {
  cpu: 'cpu_nr_enabled',
  taskname: 'taskname_enabled',
  release: 'release_enabled',
  msgid: 'msgid_enabled',
};

/** --userdata key=value entries, checked for their shape (the target checks the rest). */
function userdataPairs(entries: string[]): Array<[string, string]> {
  return entries.map((kv) => {
    const eq = kv.indexOf('=');
    if (eq < 1)
      throw new NetconsoleError('EINVAL', `--userdata: expected key=value, got ${JSON.stringify(kv)}`, {
        option: '--userdata',
        value: kv,
      });
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

/** --sysdata's toggles. Given, it names at least one: `--sysdata ''` is refused, not taken as none. */
function sysdataToggles(list: string | undefined): string[] {
  if (list === undefined) return [];
  const accepted = 'a comma-separated list of cpu, taskname, release, msgid';
  if (list === '')
    throw new NetconsoleError('EINVAL', `--sysdata: empty; accepted: ${accepted}`, {
      option: '--sysdata',
      value: list,
      accepted,
    });
  return list.split(',').map((s) => {
    if (!Object.hasOwn(SYSDATA_NAMES, s))
      throw new NetconsoleError(
        'EINVAL',
        `--sysdata: no sysdata named ${JSON.stringify(s)}; accepted: cpu, taskname, release, msgid`,
        { option: '--sysdata', value: s, accepted },
      );
    return SYSDATA_NAMES[s];
  });
}

/**
 * What `send` says on stderr after the flush: each record lost (per target, by cause) and each
 * record cut (to the 64 KiB a record carries, for every target; to an extended target's maxTotal).
 * Either is something the operator's text did not get through whole, so either makes exit 1.
 */
async function reportLosses(nc: Netconsole, records: number, config: string | undefined): Promise<string[]> {
  const s = nc.stats();
  const num = (n: number): string => n.toLocaleString('en-US');
  const lines: string[] = [];
  if (s.textCut > 0)
    lines.push(`${s.textCut} of ${records} records cut to ${num(L.TEXT_MAX)} bytes (the most a record carries)`);
  let maxTotal: number | undefined;
  for (const t of s.targets) {
    const name = printable(t.name);
    if (t.lost > 0)
      lines.push(
        `target ${name}: ${t.lost} of ${records} records lost (ring full ${t.dropped}, device not running ${t.skipped}, transmit failed ${t.lostInTransmit})`,
      );
    if (t.truncated > 0) {
      maxTotal ??= (await resolveOptions({ config, env: false })).maxTotal; // the --config file's, or the default
      lines.push(`target ${name}: ${t.truncated} of ${records} records cut to fit ${num(maxTotal)} bytes (maxTotal)`);
    }
  }
  return lines;
}

program
  .command('demo')
  .description('a receiver on loopback, logs from the main thread and workers, what arrived and the throughput')
  .option('--workers <n>', 'worker threads', int('--workers', 0, 16), 2)
  .option('--records <n>', 'records per worker', int('--records', 0, 10_000_000), 5_000)
  .action(async (o: { workers: number; records: number }) => {
    await demo({ workers: o.workers, perWorker: o.records, out: (l) => console.log(l) });
  });

program
  .command('send')
  .description('send a message (or stdin, line by line) to netconsole targets')
  .argument('[text...]', 'the message; stdin when absent')
  .option('-t, --target <param>', 'a target parameter string (repeatable), e.g. +@/,6666@127.0.0.1/', collect, [])
  .option('-c, --config <file>', 'a JSON config file with "targets"')
  .option(
    '-l, --level <level>',
    'syslog level 0..7 or a name (emerg alert crit err warning notice info debug)',
    level,
    6,
  )
  .option(
    '-f, --facility <n>',
    `syslog facility 0..${FACILITY_MAX}`,
    int('--facility', 0, FACILITY_MAX),
    DEFAULT_FACILITY,
  )
  .option('-e, --extended', 'make every --target extended (as a leading +)')
  .option('-u, --userdata <key=value>', 'userdata entry for every target (repeatable)', collect, [])
  .option('--sysdata <list>', 'sysdata toggles for every target: cpu,taskname,release,msgid')
  .addOption(
    new Option('--sender <sender>', "the sender: native (the addon's sendmmsg thread) or dgram")
      .choices(['auto', 'native', 'dgram'])
      .default('auto'),
  )
  .option(
    '--ring-size <bytes>',
    'the transmit ring: a power of two, 65536..268435456',
    int('--ring-size', 1 << 16, 1 << 28),
  )
  .action(async (words: string[], o: SendOptions) => {
    const params = o.target.map((t) => (o.extended && !t.startsWith('+') ? `+${t}` : t)).join(';');
    const userdata = userdataPairs(o.userdata);
    const sysdata = sysdataToggles(o.sysdata);
    const nc = await Netconsole.create({
      targets: params || undefined,
      config: o.config,
      facility: o.facility,
      devices: 'none',
      strict: true,
      sender: o.sender,
      ringSize: o.ringSize,
    });
    try {
      if (nc.targets.list().length === 0)
        throw new NetconsoleError('EDESTADDRREQ', 'no targets: give --target, --config or NETCONSOLE', {
          option: '--target',
        });
      for (const t of nc.targets.list()) {
        for (const [k, v] of userdata) await t.userdata.set(k, v);
        for (const toggle of sysdata) await t.userdata.set(toggle, 1);
      }
      let records = 0;
      if (words.length > 0) {
        nc.write(o.level as Level, words.join(' '));
        records++;
      } else {
        // Back-pressure: readline pauses stdin while lines wait to be read, a log call waits for
        // room in the ring (overflow 'wait'), and every STDIN_CHUNK lines the sender gets the
        // event loop (the dgram sender runs there) before more is read.
        for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
          nc.write(o.level as Level, line);
          if (++records % STDIN_CHUNK === 0) await nc.flush();
        }
      }
      await nc.flush();
      const losses = await reportLosses(nc, records, o.config);
      for (const line of losses) process.stderr.write(`netconsole send: ${line}\n`);
      if (losses.length > 0) process.exitCode = 1;
    } finally {
      await nc.close();
    }
  });

program
  .command('listen')
  .description(
    'receive netconsole datagrams and print one line per message, as netconsd parses them (development and tests; fleets use netconsd)',
  )
  .option('-a, --address <ip>', 'address to listen on (0.0.0.0 or :: for all)', '127.0.0.1')
  .option('-p, --port <n>', 'UDP port', int('--port', 0, 65535), 6666)
  .option('--json', 'one JSON object per message')
  .option(
    '--fragment-timeout <ms>',
    'report a message with missing fragments after this long',
    int('--fragment-timeout', 1, 600_000),
    2000,
  )
  .option(
    '--ack',
    "reply to each sender as libncrx does (ncrx protocol, docs/reliable.md): ack, ask for missing seqs, print each sender's messages in seq order",
  )
  .option(
    '--ack-interval <ms>',
    'with --ack: at most one ack per this long while the ack moves',
    int('--ack-interval', 1, 600_000),
    1000,
  )
  .option(
    '--retx-interval <ms>',
    'with --ack: ask for a missing seq again at most this often',
    int('--retx-interval', 1, 600_000),
    1000,
  )
  .option(
    '--msg-timeout <ms>',
    'with --ack: give up a missing seq after this long (printed, and a "lost" event with --json)',
    int('--msg-timeout', 1, 3_600_000),
    30_000,
  )
  .action(async (o: ListenOptions, cmd: Command) => {
    for (const name of ['ackInterval', 'retxInterval', 'msgTimeout']) {
      if (!o.ack && cmd.getOptionValueSource(name) === 'cli')
        throw new InvalidArgumentError(
          `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies only with --ack`,
        );
    }
    await listen(o);
  });

interface ListenOptions {
  address: string;
  port: number;
  json?: boolean;
  fragmentTimeout: number;
  ack?: boolean;
  ackInterval: number;
  retxInterval: number;
  msgTimeout: number;
}

const LOST_WHY: Record<LostReason, string> = {
  timeout: 'given up (not received within --msg-timeout)',
  pushed: 'given up (pushed out by the window or the memory bound)',
  restart: 'given up (the sender restarted)',
  closed: 'given up (the receiver stopped)',
};

/** An extended message's dictionary (userdata, sysdata, a record's fields) under its line, as the
 *  wire carries it (` KEY=value`), escaped so that a value cannot forge a line of its own. */
function dictLines(m: Message): string {
  let lines = '';
  for (const [k, v] of Object.entries(m.dict ?? {})) lines += ` ${printable(k)}=${printable(v)}\n`;
  return lines;
}

const ACK_OUT_MAX = 32 << 20;

/** `netconsole listen`: output bounded on slow pipes (what could not be printed is counted), a summary on exit. */
async function listen(o: ListenOptions): Promise<void> {
  const ack = o.ack
    ? { intervalMs: o.ackInterval, retxIntervalMs: o.retxInterval, msgTimeoutMs: o.msgTimeout }
    : undefined;
  const r = new Receiver({ fragmentTimeoutMs: o.fragmentTimeout, ack });
  const err = new BoundedLines(process.stderr);
  // With --ack, a filled hole releases every message held behind it at once (in seq order): up to
  // the 16 MiB the streams may hold, already in memory, so stdout may buffer as much (twice, for
  // the JSON escaping) before it drops lines; without --ack, 1 MiB as before.
  const out = new BoundedLines(
    process.stdout,
    (n) => err.write(`netconsole: ${n} messages not printed: stdout did not keep up\n`),
    ack ? ACK_OUT_MAX : undefined,
  );
  r.on('message', (m: Message) => {
    if (o.json) out.write(`${JSON.stringify(m)}\n`);
    else out.write(`${formatMessage(m)}\n${dictLines(m)}`);
  });
  r.on('gap', (g: { source: string; expected: string; got: string }) =>
    err.write(`gap from ${g.source}: expected seq ${g.expected}, got ${g.got}\n`),
  );
  r.on('restart', (e: { source: string; from: string; to: string }) =>
    err.write(`new stream from ${e.source}: seq ${e.to} after ${e.from} (the sender restarted)\n`),
  );
  // --ack: a seq given up is part of the record stream (--json: an event among the messages).
  r.on('lost', (e: LostEvent) => {
    if (o.json) return out.write(`${JSON.stringify({ event: 'lost', ...e })}\n`);
    const seqs = e.count === 1 ? `seq ${e.seq}` : `seqs ${e.seq}..${BigInt(e.seq) + BigInt(e.count - 1)} (${e.count})`;
    err.write(`lost from ${e.source}: ${seqs}: ${LOST_WHY[e.reason]}\n`);
  });
  const a = await r.listen(o.address, o.port);
  process.stderr.write(`listening on ${a.address}:${a.port}\n`);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await r.close();
    await out.flush(2000);
    const c = r.counters;
    err.write(
      `netconsole: ${c.datagrams} datagrams, ${c.messages} messages (${c.incomplete} incomplete, ${c.evicted} of them evicted; ${c.oos} out of sequence, ${c.restarts} restarts), ` +
        `${c.duplicates} duplicates dropped, ${c.gaps} gaps, ${c.sourcesEvicted} sources forgotten, ${out.dropped} messages not printed (stdout too slow)\n`,
    );
    if (o.ack) {
      const a = r.ackCounters;
      err.write(
        `netconsole: ${a.replies} replies (${a.requested} seqs asked for again, ${a.replyErrors} not sent), ${a.lost} seqs given up, ${a.emergency} emergency datagrams\n`,
      );
    }
    await err.flush(1000);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  // The reader went away (`| head`): stop as for a signal.
  process.stdout.on('error', () => void stop());
}

program
  .command('ctl')
  .description('reconfigure a running process through its control socket (the configfs tree)')
  .argument('<op>', 'ls, get, set, mkdir or rmdir')
  .argument('[path]', 'e.g. t1, t1/remote_ip, t1/userdata/region')
  .argument('[value]', 'for set')
  .option('-s, --socket <path>', 'the control socket (default: $NETCONSOLE_CTL)')
  .option(
    '--timeout <ms>',
    'give up waiting for the reply after this long',
    int('--timeout', 1, 600_000),
    DEFAULT_TIMEOUT_MS,
  )
  .addHelpText(
    'after',
    '\nExamples:\n  netconsole ctl ls\n  netconsole ctl get t1/remote_ip\n  netconsole ctl set t1/enabled 1\n  netconsole ctl mkdir t2\n  netconsole ctl set t1/userdata/region eu-west-1\n  netconsole ctl rmdir t2',
  )
  .action(
    async (
      op: string,
      path: string | undefined,
      value: string | undefined,
      o: { socket?: string; timeout: number },
    ) => {
      const socket = o.socket ?? process.env.NETCONSOLE_CTL;
      if (!socket) throw new InvalidArgumentError('--socket (or NETCONSOLE_CTL) is required');
      if (!(OPS as readonly string[]).includes(op))
        throw new InvalidArgumentError(`unknown operation ${op}: ls, get, set, mkdir or rmdir`);
      const reply = await control(
        socket,
        { op: op as ControlRequest['op'], path: path ?? '', value },
        { timeoutMs: o.timeout },
      );
      // What the server says is printed escaped, one line per name or value: a name cannot forge a
      // line of the listing or talk to the terminal (printable.ts).
      if (!reply.ok) throw new NetconsoleError(reply.code as never, reply.message);
      if (Array.isArray(reply.value)) for (const v of reply.value) console.log(printableValue(v));
      else if (reply.value !== undefined) console.log(printableValue(reply.value));
    },
  );

program
  .command('tune')
  .description(
    'find the fastest settings for your message mix and targets, write them as a config file; tune --help for its options',
  )
  .helpOption(false)
  .allowUnknownOption()
  .argument('[args...]', 'options, passed on (tune --help)')
  .action(async (args: string[]) => {
    const { main } = await import('./tune/main.js');
    process.exitCode = await main(args);
  });

// The benchmarks compare with peers (pino-socket, winston-udp, a C sender) that are development
// dependencies, and compile C programs: a source checkout's tool (npm run bench). Listed only
// where bench/ was built beside src/; an installed package says where to find it.
const BENCH = new URL('../../bench/run.js', import.meta.url);
program
  .command('bench', { hidden: !existsSync(BENCH) })
  .description("run the benchmarks, as npm run bench does (a source checkout's tool); bench --help for its options")
  .helpOption(false)
  .allowUnknownOption()
  .argument('[args...]', 'options (and scenario names), passed on')
  .action(async (args: string[]) => {
    if (!existsSync(BENCH))
      throw new NetconsoleError(
        'ENOENT',
        'bench: the benchmarks are not in the package (they need the peers and a C compiler): run them from a source checkout, npm install && npm run bench',
      );
    const { main } = (await import(BENCH.href)) as { main(argv: string[]): Promise<number> };
    process.exitCode = await main(args);
  });

// Each command's usage errors end with the hint to its own help.
for (const cmd of [program, ...program.commands]) cmd.showHelpAfterError(hint(cmd));

program.parseAsync().catch((err: unknown) => {
  // One line whatever the message holds (it can quote a target name, or a server's words).
  if (err instanceof InvalidArgumentError) {
    process.stderr.write(`netconsole: error: ${printableMessage(err.message)}\n${hint(running)}\n`);
    process.exit(2);
  }
  if (err instanceof NetconsoleError) {
    process.stderr.write(`netconsole: ${err.code}: ${printableMessage(err.message)}\n`);
    process.exit(2);
  }
  process.stderr.write(`netconsole: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
