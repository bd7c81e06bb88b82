// Test helpers for the package as an app gets it (test/pack.test.ts): commands run without
// blocking the test's event loop (its UDP receiver keeps reading), npm run the way an app's
// developer runs it, and fresh apps in a temporary directory.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end (or kills it after timeoutMs); never throws for a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  o: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Ran> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: o.cwd,
      env: o.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: o.timeoutMs ?? 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, ms: Math.round(performance.now() - start) }));
  });
}

/** "exit 1" and the output, for an assertion's message. */
export function told(r: Ran): string {
  return `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

// What an outer `npm test` exports to its scripts that would mislead an npm run inside it:
// INIT_CWD (the install script would take the app for its own checkout), the package's and the
// lifecycle's variables, and npm_config_local_prefix (the outer project). The settings a machine
// may give only through the environment (.ci/run does for nodedir) are kept.
const KEPT = new Set([
  'npm_config_nodedir',
  'npm_config_cache',
  'npm_config_userconfig',
  'npm_config_globalconfig',
  'npm_config_registry',
  'npm_config_cafile',
  'npm_config_python',
]);

/** The environment of an npm command run by an app's developer from this machine's shell. */
export function npmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (k !== 'INIT_CWD' && (!k.toLowerCase().startsWith('npm_') || KEPT.has(k.toLowerCase()))) env[k] = v;
  // Nor the outer project's node_modules/.bin on PATH: there `npm` is npm 6 (@as-pect/cli ->
  // glob-promise -> npm-install-peers brings it), not the developer's.
  if (env.PATH !== undefined)
    env.PATH = env.PATH.split(':')
      .filter((p) => !p.endsWith('/node_modules/.bin'))
      .join(':');
  return { ...env, ...extra };
}

/**
 * A fresh app in `dir` (a CommonJS package.json, as `npm init` writes) with the tarball installed
 * from npm's cache, its install script approved (npm 11 asks) and shown (npm hides a script's
 * output unless --foreground-scripts).
 */
export async function installApp(dir: string, tarball: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  mkdirSync(dir, { recursive: true });
  // allowScripts: what `npm install-scripts approve netconsole` writes for a tarball (npm 11 warns,
  // or with strict-allow-scripts skips, an install script that is not approved).
  const allowScripts = { [`file:${tarball}`]: true };
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', private: true, allowScripts }),
  );
  const args = [
    'install',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--no-update-notifier',
    '--foreground-scripts',
    tarball,
  ];
  return run('npm', args, { cwd: dir, env: npmEnv(env), timeoutMs: 300_000 });
}

/** The install script's last line: which sender the install produced. */
export function senderLine(install: Ran): string | undefined {
  return `${install.stdout}\n${install.stderr}`
    .split('\n')
    .filter((l) => /^netconsole: (native sender|dgram sender)/.test(l))
    .pop();
}
