// bench/startup: one fresh process, one subject, timed from the process's start
// (performance.now() counts from there): Node's own boot, then the subject's import, its set-up,
// its first line written and handed on, and its close. Prints one JSON line. Nothing is imported
// at the top: the subject's import is what is measured.
//   netconsole: import('netconsole') (the bundle an app loads), Netconsole.create({ targets: [{ address, port }] }),
//               nc.info(line), await nc.flush() (the datagram is with the kernel), await nc.close();
//               then, not timed, what became of the package's code cache (faces/load.ts): the
//               runner says where it is (NETCONSOLE_CODE_CACHE) and checks the status
//   pino:       import('pino'), pino(pino.destination({ dest: '/dev/null', sync: true })),
//               logger.info(line) (written: sync), logger.flush()
const boot = performance.now();
const [subject, portArg] = process.argv.slice(2);
const t: Record<string, number> = { boot };
let mark = boot;
let status: string | undefined;
const phase = (name: string): void => {
  const now = performance.now();
  t[name] = now - mark;
  mark = now;
};

if (subject === 'netconsole') {
  // What an app's `import 'netconsole'` loads (the package's exports: dist/lib/es/, the bundle),
  // through the package's own name; a variable, so that tsc does not look for its types here.
  const name = 'netconsole';
  const { Netconsole } = (await import(name)) as typeof import('../../src/index.js');
  phase('import');
  const nc = await Netconsole.create({ targets: [{ address: '127.0.0.1', port: Number(portArg) }] });
  phase('create');
  nc.info('the first line');
  await nc.flush();
  phase('first');
  await nc.close();
  phase('close');
  // The total ends here: what follows checks the cache and is no phase (it once added 0.1 - 0.5
  // ms to the figure, the total less the boot, and more on a busy machine).
  t.total = mark;
  const load = new URL('../../lib/es/load.js', import.meta.url).href; // the instance 'netconsole' loaded
  const { codeCache } = (await import(load)) as typeof import('../../src/faces/load.js');
  // The cache is written in the turn of the event loop after the set-up (base/code-cache.ts): an
  // immediate queued now runs after that one. Once, in a full run, the status was read before
  // it ('none'), failing the case.
  await new Promise((resolve) => setImmediate(resolve));
  status = codeCache.status;
} else if (subject === 'pino') {
  const { default: pino } = await import('pino');
  phase('import');
  const logger = pino(pino.destination({ dest: '/dev/null', sync: true }));
  phase('create');
  logger.info('the first line');
  phase('first');
  logger.flush();
  phase('close');
} else {
  throw new Error(`unknown subject ${subject}`);
}
t.total ??= performance.now();
process.stdout.write(`${JSON.stringify({ ...t, codeCache: status })}\n`);
