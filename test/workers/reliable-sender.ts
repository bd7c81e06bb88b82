// Child process for the reliable-delivery tests (test/reliable-lossy.test.ts, two processes on one
// source port; test/reliable-raw.test.ts, raw mode inside a namespace):
//
//   node dist/test/workers/reliable-sender.js '<options JSON>' <remote ip> <remote port> <count> <writer>
//
// Creates a Netconsole (native sender, the options given) with one reliable extended target and no
// local_port given (the kernel's default, 6665), logs `count` records of recordText(writer, i)
// (mixed sizes, some fragmented), paced (20 ms every 50), flushes and prints {"sent":count}. It
// stays, answering the receiver's requests, until its stdin ends; then prints {"result": ...}:
// the target's local_port, mode, lost and reliable counters.
import { Netconsole, type NetconsoleOptions } from '../../src/index.js';
import { recordText } from '../helpers/records.js';

/** What it prints last, under "result". */
export interface SenderResult {
  local_port: string;
  mode: string;
  lost: number;
  reliable: {
    replies: number;
    resends: number;
    requests: number;
    emergencies: number;
    badReplies: number;
    unacked: number;
  };
}

const [optsJson, remoteIp, remotePort, countText, writerText] = process.argv.slice(2);
const opts = JSON.parse(optsJson) as NetconsoleOptions;
const [count, writer] = [Number(countText), Number(writerText)];
process.stdin.resume();
const ended = new Promise((r) => process.stdin.once('end', r));
const nc = await Netconsole.create({
  devices: 'none',
  env: false,
  sender: 'native',
  ...opts,
  targets: [{ name: 'r', remote_ip: remoteIp, remote_port: Number(remotePort), extended: 1, reliable: 1, enabled: 1 }],
});
for (let i = 0; i < count; i++) {
  nc.info(recordText(writer, i));
  if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
}
await nc.flush();
process.stdout.write(`${JSON.stringify({ sent: count })}\n`);
await ended;
const t = nc.stats().targets[0];
const r = nc.targets.get('r')!;
const result: SenderResult = {
  local_port: r.get('local_port'),
  mode: String(t.mode),
  lost: t.lost,
  reliable: t.reliable!,
};
process.stdout.write(`${JSON.stringify({ result })}\n`);
await nc.close();
