// The control socket and `netconsole ctl`: every command end to end, names and values printed
// escaped (a name cannot forge a line), refusal of a socket with the wrong permissions, concurrent
// writers serialized by the configuration mutex; requests the server cannot serve (malformed,
// oversized), close() with clients connected, listening where a file already is, and failures
// inside the server reported, never thrown.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { control } from '../src/faces/control-client.js';
import { MAX_REQUEST } from '../src/host/control-protocol.js';
import { Netconsole } from '../src/host/netconsole.js';
import { ctl, exchange, snapshot, socketPath, within, wellFormedReply } from './helpers/control.js';
import { Sink } from './helpers/udp.js';

function failedWithCode(r: { code: number | null; out: string; err: string }, err: RegExp): void {
  assert.equal(r.code, 2, JSON.stringify(r));
  assert.match(r.err, err);
}

async function withControl(fn: (nc: Netconsole, socket: string, sink: Sink) => Promise<void>): Promise<void> {
  const socket = socketPath();
  const sink = await Sink.open();
  const nc = await Netconsole.create({ devices: 'none', env: false, control: socket });
  try {
    await fn(nc, socket, sink);
  } finally {
    await within('nc.close()', nc.close());
    await sink.close();
  }
}

describe('netconsole ctl', () => {
  test('ls, mkdir, set, get, userdata, rmdir end to end; errors are errno-coded on stderr with exit code 2', () =>
    withControl(async (nc, socket, sink) => {
      assert.equal((statSync(socket).mode & 0o777).toString(8), '600');
      assert.deepEqual(await ctl(socket, ['ls']), { code: 0, out: '', err: '' });
      assert.equal((await ctl(socket, ['mkdir', 't2'])).code, 0);
      for (const [attr, value] of [
        ['remote_ip', '127.0.0.1'],
        ['remote_port', String(sink.port)],
        ['local_port', '0'],
        ['extended', '1'],
      ]) {
        assert.equal((await ctl(socket, ['set', `t2/${attr}`, value])).code, 0, attr);
      }
      assert.equal((await ctl(socket, ['set', 't2/userdata/region', 'eu-west-1'])).code, 0);
      assert.equal((await ctl(socket, ['set', 't2/enabled', '1'])).code, 0);
      assert.deepEqual(await ctl(socket, ['get', 't2/enabled']), { code: 0, out: '1', err: '' });
      assert.equal((await ctl(socket, ['get', 't2/userdata/region'])).out, 'eu-west-1');
      assert.match((await ctl(socket, ['ls', 't2/userdata'])).out, /^region\ncpu_nr_enabled\n/);
      assert.match((await ctl(socket, ['ls', 't2'])).out, /remote_ip/);
      assert.deepEqual((await ctl(socket, ['ls'])).out, 't2');
      nc.info('configured through ctl');
      await nc.flush();
      await sink.until((g) => g.length === 1);
      assert.match(sink.texts()[0], /;configured through ctl\n region=eu-west-1\n$/);
      const locked = await ctl(socket, ['set', 't2/remote_port', '1']);
      assert.equal(locked.code, 2);
      assert.match(locked.err, /EINVAL: .*target \(t2\) is enabled, disable to update parameters/);
      assert.match((await ctl(socket, ['get', 'nope/enabled'])).err, /ENOENT/);
      assert.match((await ctl(socket, ['set', 't2/local_port', 'x'])).err, /EINVAL/);
      assert.match(
        (await ctl(socket, ['get', 't2/enabled', 'extra'])).err,
        /^netconsole: EINVAL: value: given to get, which takes none; accepted: a value with set only$/,
      );
      assert.match(
        (await ctl(socket, ['set', 't2/enabled'])).err,
        /^netconsole: EINVAL: value: missing; accepted: a string/,
      );
      assert.equal((await ctl(socket, ['rmdir', 't2/userdata/region'])).code, 0);
      assert.equal((await ctl(socket, ['rmdir', 't2'])).code, 0);
      assert.equal((await ctl(socket, ['ls'])).out, '');
      assert.equal(nc.targets.get('t2'), undefined);
      assert.match((await ctl(socket, ['frobnicate'])).err, /unknown operation/);
    }));

  test('ls of a target names each attribute once; mkdir over an existing userdata entry is EEXIST and keeps its value', () =>
    withControl(async (nc, socket) => {
      await nc.targets.create('t1', { userdata: { region: 'eu' } });
      const names = (await ctl(socket, ['ls', 't1'])).out.split('\n');
      assert.deepEqual(names, [...new Set(names)]);
      assert.deepEqual(names.slice(-4), ['local_mac', 'transmit_errors', 'reliable_stats', 'userdata/']);
      failedWithCode(
        await ctl(socket, ['mkdir', 't1/userdata/region']),
        /^netconsole: EEXIST: path: entry exists: "t1\/userdata\/region"; accepted: /,
      );
      failedWithCode(await ctl(socket, ['mkdir', 't1/userdata/cpu_nr_enabled']), /^netconsole: EEXIST: /);
      assert.equal(nc.targets.get('t1')!.userdata.get('region'), 'eu');
      assert.equal((await ctl(socket, ['mkdir', 't1/userdata/zone'])).code, 0);
      assert.equal(nc.targets.get('t1')!.userdata.get('zone'), '');
    }));

  test('names and values are printed escaped, one per line: a target name cannot forge a line, a terminal escape or a reordering', () =>
    withControl(async (nc, socket) => {
      // Every name the API takes: a newline, CR, ESC (a colour), U+2028, RLO (bidi), a backslash.
      const evil = 'ok\nt9 forged\r\x1b[31mred\u2028\u202e\\x';
      const shown = 'ok\\nt9 forged\\r\\x1b[31mred\\u{2028}\\u{202e}\\\\x';
      // A userdata key may not hold a control character (EINVAL), but may hold U+2028 or RLO.
      await assert.rejects(nc.targets.create('k', { userdata: { 'k\x1bey': 'v' } }), { code: 'EINVAL' });
      await nc.targets.create(evil, { userdata: { 'k\u202eey': 'v\ra\x07l' } });
      await nc.targets.create('plain');
      assert.deepEqual(await ctl(socket, ['ls']), { code: 0, out: `${shown}\nplain`, err: '' });
      assert.equal((await ctl(socket, ['ls', `${evil}/userdata`])).out.split('\n')[0], 'k\\u{202e}ey');
      assert.deepEqual(await ctl(socket, ['get', `${evil}/userdata/k\u202eey`]), {
        code: 0,
        out: 'v\\ra\\x07l',
        err: '',
      });
      // An error that echoes the name: one line, nothing a terminal would act on.
      const e = await ctl(socket, ['get', `${evil}/nope`]);
      assert.equal(e.code, 2);
      assert.equal(e.err.split('\n').length, 1, e.err);
      assert.doesNotMatch(e.err, /[\p{Cc}\p{Cf}\u2028\u2029]/u, e.err);
    }));

  test('a control socket with the wrong permissions is refused (EACCES) by the client', () =>
    withControl(async (_nc, socket) => {
      chmodSync(socket, 0o666);
      const r = await ctl(socket, ['ls']);
      assert.equal(r.code, 2);
      assert.match(r.err, /EACCES: control socket .* mode 0600/);
      await assert.rejects(control(socket, { op: 'ls' }), (e: unknown) => (e as { code?: string }).code === 'EACCES');
      chmodSync(socket, 0o600);
      assert.equal((await ctl(socket, ['ls'])).code, 0);
    }));

  test('concurrent writers are serialized by the configuration mutex', () =>
    withControl(async (nc, socket, sink) => {
      // 20 clients create the same target at once: exactly one succeeds.
      const mk = await Promise.all(Array.from({ length: 20 }, () => control(socket, { op: 'mkdir', path: 'c' })));
      assert.equal(mk.filter((r) => r.ok).length, 1);
      assert.ok(mk.filter((r) => !r.ok).every((r) => !r.ok && r.code === 'EEXIST'));
      for (const [p, v] of [
        ['c/remote_ip', '127.0.0.1'],
        ['c/remote_port', String(sink.port)],
        ['c/local_port', '0'],
      ]) {
        assert.deepEqual(await control(socket, { op: 'set', path: p, value: v }), { ok: true });
      }
      // 20 clients enable it at once: one does; the others find it already enabled.
      const en = await Promise.all(
        Array.from({ length: 20 }, () => control(socket, { op: 'set', path: 'c/enabled', value: '1' })),
      );
      assert.equal(en.filter((r) => r.ok).length, 1);
      // 50 userdata entries written concurrently: all present, in a consistent order.
      const ud = await Promise.all(
        Array.from({ length: 50 }, (_, i) => control(socket, { op: 'set', path: `c/userdata/k${i}`, value: `v${i}` })),
      );
      assert.ok(ud.every((r) => r.ok));
      assert.equal(nc.targets.get('c')!.userdata.entries().length, 50);
      assert.equal(nc.stats().lockOrderViolations, 0);
    }));
});

/** Lines the server must refuse: the label, the bytes, the field the message must name first. */
const MALFORMED: Array<[string, string | Uint8Array, RegExp]> = [
  ['not JSON', 'ls t1\n', /^request: not JSON: "ls t1"; accepted: one JSON object per line/],
  ['an empty line', '\n', /^request: not JSON: ""; accepted:/],
  ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), /^request: not UTF-8 text: <4 bytes>; accepted:/],
  ['JSON null', 'null\n', /^request: not a JSON object: "null"; accepted:/],
  ['a JSON array', '["ls"]\n', /^request: not a JSON object: "\[\\"ls\\"\]"; accepted:/],
  ['a JSON string', '"ls"\n', /^request: not a JSON object:/],
  [
    'an unknown key',
    '{"op":"set","path":"t1/enabled","vaule":"1"}\n',
    /^request: unknown key "vaule"; accepted: the keys "op", "path" and "value"$/,
  ],
  ['no op', '{"path":"t1"}\n', /^op: missing; accepted: ls, get, set, mkdir or rmdir$/],
  ['an unknown op', '{"op":"frob"}\n', /^op: unknown operation "frob"; accepted: ls, get, set, mkdir or rmdir$/],
  ['an op that is a number', '{"op":5}\n', /^op: a number 5, not a string; accepted: ls, get/],
  [
    'a path that is a number',
    '{"op":"ls","path":5}\n',
    /^path: a number 5, not a string; accepted: a string such as "t1\/remote_ip"/,
  ],
  [
    'a path that is an array',
    '{"op":"get","path":["t1","remote_ip"]}\n',
    /^path: an array \["t1","remote_ip"\], not a string; accepted:/,
  ],
  ['a path that is null', '{"op":"rmdir","path":null}\n', /^path: null, not a string; accepted:/],
  [
    'a path that is an object',
    '{"op":"mkdir","path":{"name":"t9"}}\n',
    /^path: an object \{"name":"t9"\}, not a string; accepted:/,
  ],
  [
    'set without a value',
    '{"op":"set","path":"t1/enabled"}\n',
    /^value: missing; accepted: a string, the text set writes/,
  ],
  [
    'set with a number',
    '{"op":"set","path":"t1/remote_port","value":7}\n',
    /^value: a number 7, not a string; accepted: a string/,
  ],
  [
    'a value with get',
    '{"op":"get","path":"t1/enabled","value":"1"}\n',
    /^value: given to get, which takes none; accepted: a value with set only$/,
  ],
];

describe('control socket: requests it cannot serve', () => {
  for (const [label, line, message] of MALFORMED) {
    test(`${label}: EINVAL saying what was wrong and what is accepted; nothing changes; the connection goes on`, () =>
      withControl(async (nc, socket) => {
        await nc.targets.create('t1', { remote_ip: '127.0.0.1', userdata: { k: 'v' } });
        const before = snapshot(nc);
        const { replies, hungUp } = await exchange(
          socket,
          Buffer.concat([Buffer.from(line), Buffer.from('{"op":"ls"}\n')]),
          2,
        );
        assert.equal(hungUp, false);
        const [refused, next] = replies as Array<{ ok: boolean; code: string; message: string }>;
        assert.ok(wellFormedReply(refused), JSON.stringify(refused));
        assert.equal(refused.code, 'EINVAL');
        assert.match(refused.message, message);
        assert.deepEqual(next, { ok: true, value: ['t1'] });
        assert.deepEqual(snapshot(nc), before);
      }));
  }

  // A request padded with spaces inside the JSON object to `size` bytes (without the '\n').
  const padded = (size: number): string => `{"op":"ls"${' '.repeat(size - 11)}}\n`;
  for (const size of [MAX_REQUEST - 1, MAX_REQUEST, MAX_REQUEST + 1, 2 * MAX_REQUEST]) {
    const over = size > MAX_REQUEST;
    test(`a request line of ${size} bytes (limit ${MAX_REQUEST}): ${over ? 'EMSGSIZE naming the limit, then the server hangs up' : 'answered, and the connection goes on'}`, () =>
      withControl(async (nc, socket) => {
        await nc.targets.create('t1');
        const before = snapshot(nc);
        const line = padded(size);
        assert.equal(Buffer.byteLength(line), size + 1);
        const { replies, hungUp } = await exchange(socket, line + '{"op":"ls"}\n', 2);
        if (over) {
          assert.equal(replies.length, 1);
          assert.equal(hungUp, true);
          const r = replies[0] as { ok: boolean; code: string; message: string };
          assert.ok(wellFormedReply(r));
          assert.equal(r.code, 'EMSGSIZE');
          assert.match(
            r.message,
            new RegExp(
              `^request: a line longer than the limit of ${MAX_REQUEST} bytes; accepted: one JSON object per line`,
            ),
          );
        } else {
          assert.deepEqual(replies, [
            { ok: true, value: ['t1'] },
            { ok: true, value: ['t1'] },
          ]);
        }
        assert.deepEqual(snapshot(nc), before);
        assert.deepEqual(
          await control(socket, { op: 'ls' }),
          { ok: true, value: ['t1'] },
          'the server serves the next client',
        );
      }));
  }

  test('requests sent in one write are answered in order; at the end of input an unterminated last line is answered too, then the server ends', () =>
    withControl(async (_nc, socket) => {
      const { replies, hungUp } = await exchange(
        socket,
        '{"op":"mkdir","path":"a"}\n{"op":"ls"}\n{"op":"get","path":"a/enabled"}\n{"op":"ls","path":"b"}',
        5,
        true,
      );
      assert.equal(hungUp, true);
      assert.equal(replies.length, 4);
      assert.deepEqual(replies.slice(0, 3), [{ ok: true }, { ok: true, value: ['a'] }, { ok: true, value: '0' }]);
      assert.equal((replies[3] as { code: string }).code, 'ENOENT');
    }));
});

describe('control socket: close', () => {
  for (const clients of [1, 3]) {
    test(`nc.close() with ${clients} client(s) connected (idle, half a request sent, a full one sent): resolves, disconnects them, removes the socket file`, async () => {
      const socket = socketPath();
      const nc = await Netconsole.create({ devices: 'none', env: false, control: socket });
      const conns = await Promise.all(
        Array.from(
          { length: clients },
          (_, i) =>
            new Promise<Socket>((resolve, reject) => {
              const c = createConnection(socket, () => resolve(c));
              c.on('error', reject);
              c.write(['', '{"op":"l', '{"op":"ls"}\n'][i % 3]);
            }),
        ),
      );
      const closed = conns.map((c) => new Promise<void>((resolve) => c.on('close', () => resolve())));
      for (const c of conns) c.on('error', () => {});
      await within('nc.close() with clients connected', nc.close());
      await within('every client disconnected', Promise.all(closed));
      assert.equal(existsSync(socket), false);
    });
  }

  test('a ctl request racing nc.close() settles: a reply or a typed error, never a hang', async () => {
    const socket = socketPath();
    const nc = await Netconsole.create({ devices: 'none', env: false, control: socket });
    const requests = Array.from({ length: 10 }, (_, i) =>
      control(socket, { op: 'mkdir', path: `r${i}` }).then(
        (r) => (r.ok ? 'ok' : r.code),
        (e: { code: string }) => e.code,
      ),
    );
    await within('nc.close()', nc.close());
    const settled = await within('every request settled', Promise.all(requests));
    for (const s of settled) assert.match(s, /^(ok|ESHUTDOWN|ECONNRESET|ENOENT|ECONNREFUSED)$/);
  });
});

describe('control socket: listening where a file is', () => {
  const pipeServers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'PipeServerWrap').length;

  /** Netconsole.create on `path` rejects with `code`, and leaves no server, listener or socket of its own behind. */
  async function refused(path: string, code: string): Promise<void> {
    const servers = pipeServers();
    const exits = process.listenerCount('exit');
    await assert.rejects(Netconsole.create({ devices: 'none', env: false, control: path }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, code, String(e));
      assert.match((e as Error).message, new RegExp(`^control socket ${path}: `));
      return true;
    });
    assert.equal(pipeServers(), servers, 'no listening server left');
    assert.equal(process.listenerCount('exit'), exits, 'no process listener left');
  }

  test("a live socket (another Netconsole listens there): EADDRINUSE, and the socket stays the other one's", () =>
    withControl(async (nc, socket) => {
      await nc.targets.create('mine');
      const inode = statSync(socket).ino;
      await refused(socket, 'EADDRINUSE');
      assert.equal(statSync(socket).ino, inode);
      assert.deepEqual(await control(socket, { op: 'ls' }), { ok: true, value: ['mine'] });
    }));

  test('a live socket of another process: EADDRINUSE, left alone', async () => {
    const path = socketPath();
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('net').createServer(s => s.on('error', () => {}).end('{"ok":true,"value":["other"]}\\n')).listen(${JSON.stringify(path)}, () => { require('fs').chmodSync(${JSON.stringify(path)}, 0o600); console.log('up') })`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await within('the other process listening', new Promise((resolve) => child.stdout.once('data', resolve)));
      await refused(path, 'EADDRINUSE');
      assert.deepEqual(await control(path, { op: 'ls' }), { ok: true, value: ['other'] });
    } finally {
      child.kill();
    }
  });

  test('a stale socket (its process was killed): replaced, and served', async () => {
    const path = socketPath();
    const r = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(statSync(path).isSocket());
    const nc = await Netconsole.create({ devices: 'none', env: false, control: path });
    try {
      await nc.targets.create('fresh');
      assert.deepEqual(await control(path, { op: 'ls' }), { ok: true, value: ['fresh'] });
    } finally {
      await nc.close();
    }
  });

  for (const kind of ['a regular file', 'a directory']) {
    test(`${kind} at the path: EEXIST, left as it was`, async () => {
      const path = socketPath();
      if (kind === 'a directory') mkdirSync(path);
      else writeFileSync(path, 'precious\n');
      await refused(path, 'EEXIST');
      if (kind === 'a directory') assert.ok(statSync(path).isDirectory());
      else assert.equal(readFileSync(path, 'utf8'), 'precious\n');
    });
  }

  const dir = dirname(socketPath());
  for (const [label, path, code] of [
    ['in a directory that does not exist', `${socketPath()}/missing/ctl.sock`, 'ENOENT'],
    [
      'of 108 bytes (one over sun_path, which libuv would truncate)',
      `${dir}/${'a'.repeat(108 - dir.length - 1)}`,
      'ENAMETOOLONG',
    ],
    ['that is not a string', 6666, 'EINVAL'],
  ] as const) {
    test(`a path ${label}: ${code}, no file made`, async () => {
      const servers = pipeServers();
      await assert.rejects(
        Netconsole.create({ devices: 'none', env: false, control: path as string }),
        (e: unknown) => (e as { code?: string }).code === code,
      );
      assert.equal(pipeServers(), servers);
      if (typeof path === 'string') {
        assert.equal(existsSync(path), false);
        assert.equal(existsSync(path.slice(0, 107)), false, 'nor one at the truncated path');
      }
    });
  }
});

describe('control socket: a failure inside the server is reported, never thrown', () => {
  for (const listener of [true, false]) {
    test(`a handler that throws (a bug): the client gets EIO, the application ${listener ? "gets it on nc.events 'error'" : 'a process warning'}`, () =>
      withControl(async (nc, socket) => {
        // Stand in for a bug: the target table throwing something that is not a NetconsoleError.
        nc.targets.get = () => {
          throw new TypeError('boom');
        };
        const heard = new Promise<unknown>((resolve) => {
          if (listener) nc.events.once('error', resolve);
          else process.once('warning', resolve);
        });
        const reply = await control(socket, { op: 'get', path: 't1/enabled' });
        assert.deepEqual(reply, { ok: false, code: 'EIO', message: 'internal error: boom' });
        const err = await within('the report', heard);
        assert.match((err as Error).message, /boom/);
      }));
  }
});
