// Child process for test/signals.test.ts: creates a Netconsole (the options JSON in argv[2]),
// writes its pid through process.stdout (which makes Node set up stdout: O_NONBLOCK on a pipe),
// and waits for a signal.
import { Netconsole, type NetconsoleOptions } from '../../src/index.js';

await Netconsole.create({ devices: 'none', env: false, ...(JSON.parse(process.argv[2]!) as NetconsoleOptions) });
process.stdout.write(`${process.pid}\n`);
setInterval(() => {}, 1 << 30);
