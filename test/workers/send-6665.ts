// Child process for test/selftests.test.ts ("two processes on one host, both on source port 6665").
//
//   node dist/test/workers/send-6665.js <remote_port>
//
// Creates a Netconsole with one target { remote_ip: 127.0.0.1, remote_port, enabled: 1 } whose
// local_port is left at its default (6665), then answers commands on stdin (commandLoop of
// test/helpers/worker.ts), a barrier the test uses to make two of these overlap:
//   stdout {"ready":true,"pid":N,"local_port":"6665"}   the target is enabled (its socket is bound to :6665)
//   stdin  log      -> logs `send-6665 pid=<pid>`, flushes   -> {"reply":"log","logged":true,"stats":...}
//   stdin  close    -> closes the Netconsole                 -> {"reply":"close","closed":true}
// Exits 0 when stdin closes; any failure: {"fatal":{code,message}} and exit code 1.
import { Netconsole } from '../../src/index.js';
import { coded, commandLoop, fatal, fatalOnUncaught, out, portArg } from '../helpers/worker.js';

fatalOnUncaught();

async function main(): Promise<void> {
  const remotePort = portArg(process.argv[2]);
  const nc = await Netconsole.create({
    targets: [{ name: 'send6665', remote_ip: '127.0.0.1', remote_port: remotePort, enabled: 1 }],
    devices: 'none',
    env: false,
  });
  out({ ready: true, pid: process.pid, local_port: nc.targets.get('send6665')?.get('local_port') });
  commandLoop(
    async (line) => {
      if (line === 'log') {
        nc.info(`send-6665 pid=${process.pid}`);
        await nc.flush();
        return { logged: true, stats: nc.stats().targets[0] };
      }
      if (line === 'close') {
        await nc.close();
        return { closed: true };
      }
      throw coded('EINVAL', `unknown command ${JSON.stringify(line)}`);
    },
    async () => {
      await nc.close();
      process.exit(0);
    },
  );
}

main().catch(fatal);
