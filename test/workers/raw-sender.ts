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
//   {"reply":<command line>,"logged":N,"offered":M,"stats":<nc.stats()>}   after {"send":[texts...]}
//   {"reply":<command line>,"value":"..."}                                 after {"get":[name,attr]}
//   {"reply":<command line>,"stats":<nc.stats()>}                          after {"stats":true}
//   {"reply":<command line>,"error":{code,message}}                        a command that failed
//   {"ncError":{code,message}}                                             an 'error' event of nc.events
//   {"fatal":{code,message}}                                               then exit 1
// stdin, one JSON command a line, run one after the other (commandLoop of test/helpers/worker.ts):
//   {"send":[texts...]}  nc.info(text) for each, then nc.flush()
//   {"get":[name,attr]}  a configfs read of a target
//   {"stats":true}
//   {"quit":true}        nc.close(), then exit 0 (also when stdin closes)
import { Netconsole, type NetconsoleOptions } from '../../src/index.js';
import { coded, commandLoop, errInfo, fatal, fatalOnUncaught, out, quitAfter } from '../helpers/worker.js';

fatalOnUncaught();

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
    targets: nc.targets.list().map((t) => ({
      name: t.name,
      state: t.state,
      device: t.device,
      mode: stats.targets.find((s) => s.name === t.name)?.mode ?? null,
    })),
  });

  const quit = quitAfter(() => nc.close());

  commandLoop(async (line) => {
    const cmd = JSON.parse(line) as Record<string, unknown>;
    if (Array.isArray(cmd.send)) {
      let offered = 0;
      for (const text of cmd.send) offered += nc.info(String(text));
      await nc.flush();
      return { logged: cmd.send.length, offered, stats: nc.stats() };
    }
    if (Array.isArray(cmd.get)) {
      const [name, attr] = cmd.get as [string, string];
      const t = nc.targets.get(name);
      if (!t) throw coded('ENOENT', `no such target ${JSON.stringify(name)}`);
      return { value: t.get(attr as never) };
    }
    if (cmd.stats === true) return { stats: nc.stats() };
    if (cmd.quit === true) {
      await quit();
      return {};
    }
    throw coded('EINVAL', `unknown command ${line.slice(0, 200)}`);
  }, quit);
}

main().catch(fatal);
