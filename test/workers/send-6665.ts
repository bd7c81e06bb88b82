// Child process for test/selftests.test.ts ("two processes on one host, both on source port 6665").
//
//   node dist/test/workers/send-6665.js <remote_port>
//
// Creates a Netconsole with one target { remote_ip: 127.0.0.1, remote_port, enabled: 1 } whose
// local_port is left at its default (6665), then follows a tiny barrier on stdin so that the test
// can make two of these overlap:
//   stdout {"ready":true,"pid":N}      the target is enabled (its socket is bound to :6665)
//   stdin  log                         -> logs `send-6665 pid=<pid>`, flushes
//   stdout {"logged":true}
//   stdin  close                       -> closes the Netconsole
//   stdout {"closed":true}             and exits 0
// Any failure: stdout {"error":"..."} and exit code 1.
import { createInterface } from 'node:readline';
import { Netconsole } from '../../src/index.js';

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const rl = createInterface({ input: process.stdin });
const lines = rl[Symbol.asyncIterator]();

async function waitFor(cmd: string): Promise<void> {
  for (;;) {
    const r = await lines.next();
    if (r.done) throw new Error(`stdin closed while waiting for "${cmd}"`);
    if (r.value.trim() === cmd) return;
  }
}

async function main(): Promise<void> {
  const remotePort = Number(process.argv[2]);
  if (!Number.isInteger(remotePort) || remotePort <= 0 || remotePort > 65535) throw new Error(`bad remote port ${process.argv[2]}`);
  const nc = await Netconsole.create({
    targets: [{ name: 'send6665', remote_ip: '127.0.0.1', remote_port: remotePort, enabled: 1 }],
    devices: 'none',
    env: false,
  });
  try {
    out({ ready: true, pid: process.pid, local_port: nc.targets.get('send6665')?.get('local_port') });
    await waitFor('log');
    nc.info(`send-6665 pid=${process.pid}`);
    await nc.flush();
    out({ logged: true, stats: nc.stats().targets[0] });
    await waitFor('close');
  } finally {
    await nc.close();
  }
  out({ closed: true });
  rl.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    out({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    process.exit(1);
  },
);
