// The command line's doors: bad flags and values are one line on stderr (an errno code, or
// commander's message for a usage error) and exit status 2 (1 when records were lost); never a
// stack trace, a hang or a silent exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Netconsole } from '../src/host/netconsole.js';
import { ctl, socketPath } from './helpers/control.js';

const CLI = new URL('../src/faces/cli.js', import.meta.url).pathname;
const T = ['-t', '@/,9@127.0.0.1/'];

async function cli(args: string[], stdin = ''): Promise<{ code: number; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NETCONSOLE: '' },
  });
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
  [
    'a sysdata toggle that does not exist',
    ['send', ...T, '--sysdata', 'bogus', 'x'],
    2,
    /EINVAL: --sysdata: no sysdata named "bogus"/,
  ],
  [
    '--sysdata given nothing',
    ['send', ...T, '--sysdata', '', 'x'],
    2,
    /^netconsole: EINVAL: --sysdata: empty; accepted: a comma-separated list of cpu, taskname, release, msgid\n$/,
  ],
  [
    '--sysdata with an empty name in its list',
    ['send', ...T, '--sysdata', 'cpu,,msgid', 'x'],
    2,
    /EINVAL: --sysdata: no sysdata named ""/,
  ],
  // An empty number is not 0 (Number('') is): facility 0 would be kern, port 0 any port.
  ['a facility given empty', ['send', ...T, '--facility', '', 'x'], 2, /--facility must be an integer 0\.\.23, got ""/],
  [
    'demo with --workers given blank',
    ['demo', '--workers', ' ', '--records', '1'],
    2,
    /--workers must be an integer 0\.\.16, got " "/,
  ],
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
    assert.ok(
      r.code === 0 || (r.code === 1 && /1 of 1 records lost/.test(r.stderr)),
      `${sender}: exit ${r.code}: ${r.stderr}`,
    );
  }
});

// Issue 16: the first hour with the command line.
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

test('--version and -V print the package version (read from package.json at run time), exit 0', async () => {
  for (const flag of ['--version', '-V']) {
    const r = await cli([flag]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${VERSION}\n`, '']);
  }
});

const USAGE_ERRORS: Array<[string, string[], RegExp, string]> = [
  [
    'an unknown flag',
    ['send', '--frob', 'x'],
    /^netconsole: error: unknown option '--frob'$/,
    'see netconsole send --help',
  ],
  ['an unknown command', ['frobnicate'], /^netconsole: error: unknown command 'frobnicate'$/, 'see netconsole --help'],
  [
    'a command with a typo (did you mean, on the same line)',
    ['sned', 'x'],
    /^netconsole: error: unknown command 'sned' \(Did you mean send\?\)$/,
    'see netconsole --help',
  ],
  [
    'a bad value',
    ['send', ...T, '--facility', '24', 'x'],
    /^netconsole: error: .*--facility must be an integer 0\.\.23, got "24"$/,
    'see netconsole send --help',
  ],
  ['a missing argument', ['ctl'], /^netconsole: error: missing required argument 'op'$/, 'see netconsole ctl --help'],
  [
    'ctl without a socket (refused by its action)',
    ['ctl', 'ls'],
    /^netconsole: error: --socket \(or NETCONSOLE_CTL\) is required$/,
    'see netconsole ctl --help',
  ],
];
for (const [what, args, first, second] of USAGE_ERRORS) {
  test(`a usage error is two lines, the error and a hint to --help, exit 2: ${what}`, async () => {
    const r = await cli(args);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0], first);
    assert.equal(lines[1], second);
    assert.equal(r.stdout, '');
  });
}

test('send -t with a bad remote_ip: one line naming remote_ip, the value and the accepted forms, exit 2', async () => {
  const r = await cli(['send', '-t', '+@/,7777@10.0.0.300/', 'x']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(
    r.stderr,
    /^netconsole: EINVAL: couldn't parse config at '10\.0\.0\.300\/': remote_ip: invalid value "10\.0\.0\.300"; accepted: an IPv4 dotted quad/,
  );
});

test('ctl on a target or attribute that is not there: one line with its errno code, a did-you-mean, never "undefined", exit 2', async () => {
  const socket = socketPath();
  const nc = await Netconsole.create({ devices: 'none', env: false, control: socket });
  try {
    await nc.targets.create('t1');
    const cases: Array<[string[], RegExp]> = [
      [
        ['get', 't2/nosuch'],
        /^netconsole: ENOENT: no target "t2" \(did you mean 't1'\?\) in path "t2\/nosuch"; accepted: an existing target: t1$/,
      ],
      [['rmdir', 't3'], /^netconsole: ENOENT: no target "t3" .*accepted: an existing target: t1$/],
      [['get', 't1/nosuch'], /^netconsole: ENOENT: nosuch: no such attribute; accepted: one of enabled, /],
      [
        ['get', 't1/remote_prot'],
        /^netconsole: ENOENT: remote_prot: no such attribute \(did you mean 'remote_port'\?\); accepted: /,
      ],
      [
        ['set', 't1/remote_port', '99999'],
        /^netconsole: ERANGE: remote_port: out of range: "99999"; accepted: a decimal integer 0\.\.65535$/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await ctl(socket, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.out, '');
      assert.equal(r.err.split('\n').length, 1, r.err);
      assert.match(r.err, message);
      assert.doesNotMatch(r.err, /undefined/);
    }
  } finally {
    await nc.close();
  }
});
