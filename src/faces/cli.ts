#!/usr/bin/env node
// The `netconsole` command: demo, send, listen, ctl, tune (and bench in a source checkout): the
// commands and their arguments (what send and listen do: cli-send.ts, cli-listen.ts).
//
// Exit status: 0 done (help and --version too); 2 the command line was refused (a usage error:
// one line, then a hint to --help) or what it asked was refused (a NetconsoleError: one line with
// its errno-style code); 1 it ran, but records were lost or cut, or it failed unexpectedly.
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { control, DEFAULT_TIMEOUT_MS } from './control-client.js';
import { OPS, type ControlRequest } from '../host/control-protocol.js';
import { demo } from './demo.js';
import { listen, type ListenOptions } from './cli-listen.js';
import { send, type SendOptions } from './cli-send.js';
import { NetconsoleError } from '../base/errors.js';
import { DEFAULT_FACILITY, FACILITY_MAX } from '../base/limits.js';
import { levelNumber } from '../core/writer.js';
import { printableMessage, printableValue } from './printable.js';

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
  .action((words: string[], o: SendOptions) => send(words, o));

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
