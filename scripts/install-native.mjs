// npm's `install` script. Ends with one line saying which sender this install produced:
//   netconsole: native sender (prebuild linux-x64)   a prebuild in prebuilds/ matched and loads
//   netconsole: native sender (built from source)    none did; node-gyp built the addon here
//   netconsole: dgram sender: <why>                  no addon: UDP mode, the pure-JS sender
// The library works without the addon, so in an app a missing addon is that last line, not an
// install failure. In this package's own source checkout it also builds the WebAssembly and the
// TypeScript (what `prepare` did: a `prepare` in the published package.json is listed by npm's
// install-script approval though an app never runs it), and with CI=true a missing addon exits 1:
// the tests that need it would otherwise not run (test/helpers/requires.ts fails them there too).
// An app's CI also sets CI=true; its install only reports. NETCONSOLE_NO_NATIVE=1 skips the addon,
// also under CI; npm's --build-from-source (npm_config_build_from_source) skips the prebuilds.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// npm sets INIT_CWD to where it was run and npm_config_local_prefix to the project it installs
// (the same, unless run from a subfolder); run by hand (no INIT_CWD), this is its own install.
const { INIT_CWD, npm_config_local_prefix: project } = process.env;
const ownInstall =
  INIT_CWD === undefined || resolve(INIT_CWD) === root || (project !== undefined && resolve(project) === root);
// The published package has neither: dist/ ships built.
const sourceCheckout = existsSync(join(root, 'asconfig.json')) && existsSync(join(root, 'src'));
// Resolved from the package's directory upward, as Node resolves it at run time: npm hoists
// dependencies to the app's node_modules, so the package's own node_modules is usually empty.
const requireHere = createRequire(join(root, 'package.json'));
const platform = `${process.platform}-${process.arch}`;

function say(line) {
  console.log(`netconsole: ${line}`);
}

function dgram(why) {
  if (process.env.CI === 'true' && ownInstall) {
    console.error(`netconsole: dgram sender: ${why}; CI=true in this package's own checkout, so this is an error`);
    process.exit(1);
  }
  say(`dgram sender: ${why}`);
  process.exit(0);
}

/** `npm run <script>` with the npm that runs this install (npm_execpath), else the one on PATH. */
function npmRun(script) {
  const npm = process.env.npm_execpath;
  const [cmd, args] = npm && /\.[cm]?js$/.test(npm) ? [process.execPath, [npm]] : [npm || 'npm', []];
  const r = spawnSync(cmd, [...args, 'run', script], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`netconsole: npm run ${script} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }
}

function onPath(name) {
  if (isAbsolute(name)) return isExecutable(name);
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && isExecutable(join(dir, name)));
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** What node-gyp needs on Linux and is not there: make, a C++ compiler, Python 3. */
function missingTools() {
  const missing = [];
  if (!onPath('make')) missing.push('make');
  const cxx = process.env.CXX ? [process.env.CXX.split(' ')[0]] : ['c++', 'g++', 'clang++'];
  if (!cxx.some(onPath)) missing.push(cxx.join(' or '));
  const python = [process.env.npm_config_python, process.env.PYTHON].filter(Boolean);
  if (!(python.length > 0 ? python : ['python3', 'python']).some(onPath)) missing.push('python3');
  return missing;
}

/**
 * node-gyp: the one npm runs scripts with (npm_config_node_gyp), else a dependency's, else (run
 * by hand) the one of the npm installed beside this node, else PATH's.
 */
function nodeGyp() {
  const beside = join(
    dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  );
  for (const file of [process.env.npm_config_node_gyp, resolveHere('node-gyp/bin/node-gyp.js'), beside]) {
    if (file && existsSync(file)) return [process.execPath, [file]];
  }
  return ['node-gyp', []];
}

function resolveHere(id) {
  try {
    return requireHere.resolve(id);
  } catch {
    return undefined;
  }
}

// Loads the file argv[1] names and checks that it is this package's addon.
const LOAD = `try {
  if (typeof require(process.argv[1]).abiVersion !== 'number') throw new Error("not this package's addon");
} catch (err) { console.error(String(err.message).split('\\n')[0]); process.exit(1); }`;

/** The addon node-gyp-build's loader picks for this platform and ABI, loaded; or why there is none. */
function find(gypBuild) {
  let file;
  try {
    file = gypBuild.path(root);
  } catch {
    return { file: null, why: `no prebuild for ${platform}` };
  }
  // Loaded in a child: a second dlopen of a rebuilt file in this process would return the first.
  const r = spawnSync(process.execPath, ['-e', LOAD, file], { encoding: 'utf8' });
  if (r.status === 0) return { file, why: null };
  const error = (r.stderr.trim() || r.error?.message || `exit ${r.status ?? r.signal}`).split('\n')[0];
  return { file: null, why: `${relative(root, file)} does not load (${error})` };
}

/**
 * In the source checkout, an addon built (or prebuilt by `npm pack`) before native/ or binding.gyp
 * last changed (a pull, another branch). Not in an app: there the files' times are the tarball's.
 */
function stale(file) {
  if (!sourceCheckout) return false;
  const built = statSync(file).mtimeMs;
  const sources = [join(root, 'binding.gyp'), ...readdirSync(join(root, 'native')).map((f) => join(root, 'native', f))];
  return sources.some((f) => statSync(f).mtimeMs > built);
}

if (sourceCheckout && ownInstall) {
  npmRun('build:wasm');
  npmRun('build:package');
}
if (process.env.NETCONSOLE_NO_NATIVE === '1') {
  say('dgram sender: NETCONSOLE_NO_NATIVE=1, the native addon was neither looked for nor built');
  process.exit(0);
}

let gypBuild;
try {
  gypBuild = requireHere('node-gyp-build');
} catch (err) {
  dgram(`node-gyp-build, which finds and loads the addon, cannot be loaded (${String(err.message).split('\n')[0]})`);
}

const fromSource = process.env.npm_config_build_from_source === 'true';
let before = fromSource
  ? { file: null, why: 'building from source was asked (npm_config_build_from_source=true)' }
  : find(gypBuild);
if (before.file !== null && stale(before.file))
  before = { file: null, why: `${relative(root, before.file)} is older than native/` };
if (before.file !== null) {
  const rel = relative(root, before.file);
  const [dir, tag] = rel.split(sep);
  say(dir === 'prebuilds' ? `native sender (prebuild ${tag})` : `native sender (${rel}, built earlier)`);
  process.exit(0);
}

const missing = missingTools();
if (missing.length > 0) dgram(`${before.why}, and no toolchain to build from source (missing ${missing.join(', ')})`);
const [cmd, args] = nodeGyp();
console.log(`netconsole: ${before.why}; building the native addon from source`);
const r = spawnSync(cmd, [...args, 'rebuild'], { cwd: root, stdio: 'inherit' });
// Run by hand, node-gyp lacks npm's configuration (nodedir among it): `npm run install` passes it.
const byHand =
  process.env.npm_lifecycle_event === undefined ? "; npm run install gives node-gyp npm's configuration" : '';
if (r.status !== 0)
  dgram(
    `${before.why}, and building from source failed (node-gyp ${r.error?.message ?? `exit ${r.status ?? r.signal}`}: its output is above${byHand})`,
  );
const after = find(gypBuild);
if (after.file === null) dgram(`built from source, but ${after.why}`);
say('native sender (built from source)');
