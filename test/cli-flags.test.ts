// The command line's doors: bad flags and values are one line on stderr (an errno code, or
// commander's message for a usage error) and exit status 2 (1 when records were lost); never a
// stack trace, a hang or a silent exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

const CLI = new URL('../src/faces/cli.js', import.meta.url).pathname;
const T = ['-t', '@/,9@127.0.0.1/'];

async function cli(args: string[], stdin = ''): Promise<{ code: number; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NETCONSOLE: '' } });
  let stderr = '';
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d));
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  child.stdin!.end(stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code] = (await once(child, 'close')) as [number];
  clearTimeout(timer);
  return { code, stderr, stdout };
}

const CASES: Array<[string, string[], number, RegExp]> = [
  ['a level out of range', ['send', ...T, '--level', '9', 'x'], 2, /level/],
  ['a level that is not one', ['send', ...T, '--level', 'toString', 'x'], 2, /level/],
  ['a facility out of range', ['send', ...T, '--facility', '24', 'x'], 2, /facility/],
  ['a parameter string that does not parse', ['send', '-t', 'bad', 'x'], 2, /EINVAL: .*couldn't parse config at 'bad'/],
  ['no target at all', ['send', 'x'], 2, /EDESTADDRREQ/],
  ['a ring size that is not a power of two', ['send', ...T, '--ring-size', '100000', 'x'], 2, /ringSize/],
  ['a sender that does not exist', ['send', ...T, '--sender', 'fast', 'x'], 2, /sender/],
  ['userdata without =', ['send', ...T, '-u', 'novalue', 'x'], 2, /EINVAL: --userdata/],
  ['a sysdata toggle that does not exist', ['send', ...T, '--sysdata', 'bogus', 'x'], 2, /EINVAL: --sysdata: no sysdata named "bogus"/],
  ['--sysdata given nothing', ['send', ...T, '--sysdata', '', 'x'], 2, /^netconsole: EINVAL: --sysdata: empty; accepted: a comma-separated list of cpu, taskname, release, msgid\n$/],
  ['--sysdata with an empty name in its list', ['send', ...T, '--sysdata', 'cpu,,msgid', 'x'], 2, /EINVAL: --sysdata: no sysdata named ""/],
  // An empty number is not 0 (Number('') is): facility 0 would be kern, port 0 any port.
  ['a facility given empty', ['send', ...T, '--facility', '', 'x'], 2, /--facility must be an integer 0\.\.23, got ""/],
  ['demo with --workers given blank', ['demo', '--workers', ' ', '--records', '1'], 2, /--workers must be an integer 0\.\.16, got " "/],
  // A negative number is the option's value, refused for what it is.
  ['a negative facility', ['send', ...T, '--facility', '-5', 'x'], 2, /--facility must be an integer 0\.\.23/],
  ['a negative ctl timeout', ['ctl', '--timeout', '-5', 'ls'], 2, /--timeout must be an integer 1\.\.600000/],
  ['a config file that is not there', ['send', '-c', '/nonexistent/nc.json', 'x'], 2, /ENOENT: config file/],
  ['listen on a port out of range', ['listen', '--port', '70000'], 2, /port/],
  ['listen on an address that is not one', ['listen', '--address', 'not-an-ip'], 2, /EINVAL/],
  ['ctl without a socket', ['ctl', 'ls'], 2, /--socket/],
  ['an unknown command', ['frobnicate'], 2, /unknown command/],
  ['an unknown flag', ['send', '--frob', 'x'], 2, /unknown option/],
];

for (const [what, args, code, message] of CASES) {
  test(`${what}: exit ${code}, one line, no stack (netconsole ${args.join(' ')})`, async () => {
    const r = await cli(args);
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
}

test('remote_port 0 (the kernel takes it): nothing crashes; what could not be sent is counted and said, exit 1', async () => {
  for (const sender of ['dgram', 'auto']) {
    const r = await cli(['send', '--sender', sender, '-t', '@/,0@127.0.0.1/', 'x']);
    assert.doesNotMatch(r.stderr, /\n\s+at |ERR_SOCKET/, r.stderr);
    assert.ok(r.code === 0 || (r.code === 1 && /1 of 1 records lost/.test(r.stderr)), `${sender}: exit ${r.code}: ${r.stderr}`);
  }
});
