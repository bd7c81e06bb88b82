// Child process for test/devices-netns.test.ts, run INSIDE a network namespace:
//
//   ip netns exec <ns> node dist/test/workers/devices-probe.js '<targets JSON>'
//
// /sys/class/net shows the namespace of the process reading it, so the Netconsole whose device
// events are under test must live in there. It is created with `devices: 'poll', pollIntervalMs: 50`
// (NC_DEVICES and NC_POLL_MS in the environment change them) and `targets` = the JSON of argv[2]:
// an array of target option objects, or a parameter string.
//
// stdout, one JSON object a line:
//   {"ready":true,"targets":[{name,state,device}],"startupErrors":[{code,message}]}
//   {"event":{name,state,device?,reason?,error?}}   each 'target' event of nc.events
//   {"netdev":NetdevEvent}                          each event of the Netconsole's own poller (seen
//                                                   after the Netconsole's handler was called)
//   {"ncError":{code,message}}                      an 'error' event of nc.events
//   {"pollError":{code,message}}                    a failed poll of the Netconsole's poller
//   {"reply":"<command line>", ...}                 one per command, in order (see below)
//   {"fatal":{code,message}}                        then exit 1 (create failed, uncaught error)
// stdin, one command a line, run one after the other (commandLoop of test/helpers/worker.ts):
//   log <text>                 nc.info(text) + flush          -> {logged:<targets offered to>}
//   post <text>                nc.info(text), no flush (a held target's records wait) -> {logged}
//   state <name>               -> {state, device, stats:<nc.stats().targets entry>}
//   get <name> <attr>          a configfs read                -> {value}
//   set <name> <attr> <value>  a configfs write               -> {ok:true} | {error:{code,message}}
//   enable <name> | disable <name>                            -> {ok:true} | {error:{code,message}}
//   create <name> <json attrs>                                -> {ok:true} | {error:{code,message}}
//   devices                    the poller's latest snapshot -> {devices:[DeviceInfo]}
//   poll                       the poller polls now (devices 'poll') -> {events:[NetdevEvent]}
//   pid                        -> {pid}
//   quit                       nc.close(), then exit 0 (also when stdin closes)
// A command that fails replies {error:{code,message}}; the probe keeps going.
import { Netconsole } from '../../src/index.js';
import type { NetdevEvent } from '../../src/netdev/types.js';
import type { SysfsPoller } from '../../src/netdev/poller.js';
import { coded, commandLoop, errInfo, fatal, fatalOnUncaught, out, quitAfter, words } from '../helpers/worker.js';

fatalOnUncaught();

async function main(): Promise<void> {
  const spec = process.argv[2];
  if (spec === undefined) throw new Error('usage: devices-probe.js <targets JSON>');
  const targets = JSON.parse(spec) as unknown;
  if (typeof targets !== 'string' && !Array.isArray(targets))
    throw new Error('targets JSON must be a string or an array');

  const nc = await Netconsole.create({
    targets: targets as string | [],
    // NC_DEVICES=rtnetlink runs the same scenarios on the addon's netlink watcher.
    devices: (process.env.NC_DEVICES ?? 'poll') as 'poll' | 'rtnetlink',
    pollIntervalMs: Number(process.env.NC_POLL_MS ?? 50),
    // Records logged while a device is down wait for it (the sender holds them): long enough that
    // the scenarios' pauses never give them up.
    holdMs: 30_000,
    env: false,
  });
  nc.events.on('target', (e) => {
    const { error, ...rest } = e;
    out({ event: error === undefined ? rest : { ...rest, error: errInfo(error) } });
  });
  nc.events.on('error', (err: unknown) => out({ ncError: errInfo(err) }));
  // The Netconsole's own poller (a private field): its listeners run in registration order, so a
  // line printed here comes after the Netconsole has handed the same event to deviceEvent().
  const poller = (nc as unknown as { poller?: SysfsPoller | null }).poller;
  if (poller) {
    poller.on('event', (ev: NetdevEvent) => out({ netdev: ev }));
    // Without an 'error' listener a failed poll is silently skipped; make it visible.
    poller.on('error', (err: Error) => out({ pollError: errInfo(err) }));
  } else
    out({ ncError: { code: 'NOPOLLER', message: 'the Netconsole has no poller field: netdev lines will be missing' } });

  out({
    ready: true,
    targets: nc.targets.list().map((t) => ({ name: t.name, state: t.state, device: t.device })),
    startupErrors: nc.startupErrors.map(errInfo),
  });

  const target = (name: string | undefined) => {
    const t = nc.targets.get(name ?? '');
    if (!t) throw coded('ENOENT', `no such target ${JSON.stringify(name)}`);
    return t;
  };

  const quit = quitAfter(() => nc.close());

  // Each command first lets pending device-event handling run (commandLoop yields before it).
  commandLoop(async (line) => {
    const { cmd, args, rest } = words(line);
    switch (cmd) {
      case 'log': {
        const logged = nc.info(rest);
        await nc.flush();
        return { logged };
      }
      case 'post':
        return { logged: nc.info(rest) }; // no flush: for a target whose records are held

      case 'state': {
        const t = target(args[0]);
        return { state: t.state, device: t.device, stats: nc.stats().targets.find((s) => s.name === t.name) ?? null };
      }
      case 'get':
        return { value: target(args[0]).get((args[1] ?? '') as never) };
      case 'set':
        await target(args[0]).set((args[1] ?? '') as never, args.slice(2).join(' ') as never);
        return { ok: true };
      case 'enable':
        await target(args[0]).enable();
        return { ok: true };
      case 'disable':
        await target(args[0]).disable();
        return { ok: true };
      case 'create': {
        const name = args[0] ?? '';
        const json = rest.slice(name.length).trim();
        await nc.targets.create(name, json === '' ? {} : (JSON.parse(json) as Record<string, never>));
        return { ok: true };
      }
      case 'devices':
        return { devices: poller ? [...poller.snapshot().values()] : null };
      case 'poll':
        if (!(poller && 'poll' in poller)) throw coded('ENOTSUP', 'no sysfs poller');
        return { events: poller.poll() };
      case 'pid':
        return { pid: process.pid };
      case 'quit':
        await quit();
        return {};
      default:
        throw coded('EINVAL', `unknown command ${JSON.stringify(cmd)}`);
    }
  }, quit);
}

main().catch(fatal);
