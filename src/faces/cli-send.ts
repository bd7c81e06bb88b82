// `netconsole send`: a message, or stdin line by line, to the targets of the command line (or
// --config, or NETCONSOLE); what was lost or cut said on stderr after the flush (exit 1). Its
// arguments are defined in cli.ts.
import { createInterface } from 'node:readline';
import { NetconsoleError } from '../base/errors.js';
import { L } from '../core/layout.js';
import type { Level } from '../core/writer.js';
import { Netconsole } from '../host/netconsole.js';
import { resolveOptions } from '../host/resolve.js';
import { printable } from './printable.js';

export interface SendOptions {
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

/** The command's action: `words` the message (stdin when empty). */
export async function send(words: string[], o: SendOptions): Promise<void> {
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
}
