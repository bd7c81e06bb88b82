// Builds (or finds a prebuilt) native addon at install time. The library works without it
// (UDP mode, dgram sender, /sys/class/net polling), so a failed build is a warning, not an
// install failure. NETCONSOLE_NO_NATIVE=1 skips the attempt entirely.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.NETCONSOLE_NO_NATIVE === '1') {
  console.log('netconsole: NETCONSOLE_NO_NATIVE=1, not building the native addon');
  process.exit(0);
}
if (!existsSync(join(root, 'node_modules', 'node-gyp-build'))) {
  console.warn('netconsole: node-gyp-build is missing; the native addon is not built (pure-JS fallback)');
  process.exit(0);
}
const env = { ...process.env };
// These machines have Node's headers in /usr/include/node and no internet to download them.
if (!env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
const r = spawnSync(process.execPath, [join(root, 'node_modules', 'node-gyp-build', 'bin.js')], { cwd: root, stdio: 'inherit', env });
if (r.status !== 0) {
  console.warn('netconsole: the native addon could not be built; falling back to the pure-JS sender (UDP mode only)');
}
process.exit(0);
