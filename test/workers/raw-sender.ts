// Child process for test/raw.test.ts, run INSIDE a network namespace:
//
//   ip netns exec <ns> node dist/test/workers/raw-sender.js '<targets JSON>' ['<options JSON>']
//
// Creates a Netconsole in raw mode (`mode: 'raw'`, native sender, `devices: 'none'`, env ignored)
// with `targets` = the JSON array of target option objects of argv[2]; argv[3] may add options
// (e.g. {"seqStart": 1000000000000000}).
//
// stdout, one JSON object a line:
//   {"ready":true,"targets":[{name,state,device,mode}],"sender":"native"}
//   {"reply":"send","logged":N,"offered":M,"stats":<nc.stats()>}   after {"send":[texts...]}
//   {"reply":"get","value":"..."}                                   after {"get":[name,attr]}
//   {"reply":"stats","stats":<nc.stats()>}                          after {"stats":true}
//   {"reply":"<cmd>","error":{code,message}}                        a command that failed
//   {"fatal":{code,message}}                                        then exit 1
// stdin, one JSON command a line, run one after the other:
//   {"send":[texts...]}  nc.info(text) for each, then nc.flush()
//   {"get":[name,attr]}  a configfs read of a target
//   {"stats":true}
//   {"quit":true}        nc.close(), then exit 0 (also when stdin closes)
import { createInterface } from 'node:readline';
import { Netconsole, type NetconsoleOptions } from '../../src/index.js';

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function errInfo(err: unknown): { code: string; message: string } {
  if (err instanceof Error) return { code: String((err as { code?: unknown }).code ?? err.name), message: err.message };
  return { code: 'UNKNOWN', message: String(err) };
}

function fatal(err: unknown): never {
  out({ fatal: errInfo(err) });
  process.exit(1);
}

process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

async function main(): Promise<void> {
  const spec = process.argv[2];
  if (spec === undefined) throw new Error('usage: raw-sender.js <targets JSON> [<options JSON>]');
  const targets = JSON.parse(spec) as unknown;
  if (!Array.isArray(targets)) throw new Error('targets JSON must be an array of target options');
  const extra = process.argv[3] === undefined ? {} : (JSON.parse(process.argv[3]) as Partial<NetconsoleOptions>);

  const nc = await Netconsole.create({
    ...extra,
    targets: targets as NetconsoleOptions['targets'],
    mode: 'raw',
    sender: 'native',
    devices: (extra as { devices?: 'none' | 'rtnetlink' }).devices ?? 'none',
    env: false,
  });
  nc.events.on('error', (err: unknown) => out({ ncError: errInfo(err) }));
  const stats = nc.stats();
  out({
    ready: true,
    sender: stats.sender,
    targets: nc.targets.list().map((t) => ({ name: t.name, state: t.state, device: t.device, mode: stats.targets.find((s) => s.name === t.name)?.mode ?? null })),
  });

  let closing = false;
  const quit = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    try {
      await nc.close();
    } catch (err) {
      out({ ncError: errInfo(err) });
    }
    process.exit(0);
  };

  async function execute(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (Array.isArray(cmd.send)) {
      let offered = 0;
      for (const text of cmd.send) offered += nc.info(String(text));
      await nc.flush();
      return { reply: 'send', logged: cmd.send.length, offered, stats: nc.stats() };
    }
    if (Array.isArray(cmd.get)) {
      const [name, attr] = cmd.get as [string, string];
      const t = nc.targets.get(name);
      if (!t) throw Object.assign(new Error(`no such target ${JSON.stringify(name)}`), { code: 'ENOENT' });
      return { reply: 'get', value: t.get(attr) };
    }
    if (cmd.stats === true) return { reply: 'stats', stats: nc.stats() };
    if (cmd.quit === true) {
      await quit();
      return { reply: 'quit' };
    }
    throw Object.assign(new Error(`unknown command ${JSON.stringify(cmd).slice(0, 200)}`), { code: 'EINVAL' });
  }

  let chain = Promise.resolve();
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    chain = chain.then(async () => {
      let cmd: Record<string, unknown>;
      try {
        cmd = JSON.parse(line) as Record<string, unknown>;
      } catch (err) {
        out({ reply: 'parse', error: errInfo(err) });
        return;
      }
      try {
        out(await execute(cmd));
      } catch (err) {
        out({ reply: Object.keys(cmd)[0] ?? '?', error: errInfo(err) });
      }
    });
  });
  rl.on('close', () => {
    chain = chain.then(quit);
  });
}

main().catch(fatal);
