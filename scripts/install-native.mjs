// Builds (or finds a prebuilt) native addon at install time. The library works without it
// (UDP mode, dgram sender, /sys/class/net polling), so for a user a failed build is a warning,
// not an install failure. In this project's own CI (CI=true, and npm run in this package's
// directory, not in a project that depends on it) it is a failure, exit 1: the tests that need the
// addon would otherwise not run (test/helpers/requires.ts fails them there too). A dependent
// project's CI also sets CI=true; its install only warns. NETCONSOLE_NO_NATIVE=1 skips the attempt
// entirely, also under CI.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.NETCONSOLE_NO_NATIVE === '1') {
  console.log('netconsole: NETCONSOLE_NO_NATIVE=1, not building the native addon');
  process.exit(0);
}
// npm sets INIT_CWD to where it was run; run by hand (no INIT_CWD), this is its own install.
const ownInstall = process.env.INIT_CWD === undefined || resolve(process.env.INIT_CWD) === resolve(root);

/** A user's install goes on without the addon; this project's CI run stops. */
function notBuilt(why) {
  if (process.env.CI === 'true' && ownInstall) {
    console.error(`netconsole: ${why}; CI=true, so this is an error`);
    process.exit(1);
  }
  console.warn(`netconsole: ${why}; falling back to the pure-JS sender (UDP mode only)`);
  process.exit(0);
}
if (!existsSync(join(root, 'node_modules', 'node-gyp-build'))) notBuilt('node-gyp-build is missing, the native addon is not built');
const env = { ...process.env };
// These machines have Node's headers in /usr/include/node and no internet to download them.
if (!env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
const r = spawnSync(process.execPath, [join(root, 'node_modules', 'node-gyp-build', 'bin.js')], { cwd: root, stdio: 'inherit', env });
if (r.status !== 0) notBuilt('the native addon could not be built');
process.exit(0);
