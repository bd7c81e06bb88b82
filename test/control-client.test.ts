// The control client, `control()` and `netconsole ctl`, against servers that misbehave: one that
// hangs up without a reply, one that never replies, one that replies garbage; and requests too
// large to send. Each is a typed error (and for the command a one-line message on stderr and
// exit code 2), never a hang, never an exit 0 without output. What a server says (names, values,
// messages) is printed escaped, one line each: it cannot forge lines or talk to the terminal.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { control, DEFAULT_TIMEOUT_MS } from '../src/faces/control-client.js';
import { MAX_REQUEST } from '../src/host/control-protocol.js';
import { NetconsoleError } from '../src/base/errors.js';
import { Netconsole } from '../src/host/netconsole.js';
import { ctl, fakeServer, socketPath, within } from './helpers/control.js';

/** `control()` rejects with a NetconsoleError with `code` (within a bound: a hang fails). */
async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await within(
    `control() settling (${code})`,
    assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof NetconsoleError, String(e));
      assert.equal((e as { code?: string }).code, code);
      assert.match((e as Error).message, message);
      return true;
    }),
  );
}

/** `netconsole ctl` failed with `code`: exit 2, nothing on stdout, one line on stderr. */
function failedWith(r: { code: number | null; out: string; err: string }, code: string): void {
  assert.equal(r.code, 2, JSON.stringify(r));
  assert.equal(r.out, '');
  assert.equal(r.err.split('\n').length, 1, r.err);
  assert.match(r.err, new RegExp(`^netconsole: ${code}: `));
}

/** Servers that hang up without a reply. */
const DROPS: Array<[string, (s: Socket) => void]> = [
  ['hangs up on connect', (s) => s.destroy()],
  ['hangs up after reading the request', (s) => s.once('data', () => s.destroy())],
  ['ends after half a reply', (s) => s.once('data', () => s.end('{"ok":tr'))],
];

describe('ctl client: the server hangs up without a reply', () => {
  for (const [label, behave] of DROPS) {
    test(`a server that ${label}: ECONNRESET from control() and from netconsole ctl`, async () => {
      const fake = await fakeServer(behave);
      try {
        await rejectsWith(
          control(fake.path, { op: 'ls' }),
          'ECONNRESET',
          /^control socket .*: the (connection dropped|server closed the connection)/,
        );
        failedWith(await ctl(fake.path, ['ls']), 'ECONNRESET');
      } finally {
        await fake.close();
      }
    });
  }
});

describe('ctl client: no reply', () => {
  test('a server that never replies: ETIMEDOUT after timeoutMs / --timeout', async () => {
    const fake = await fakeServer(() => {});
    try {
      await rejectsWith(
        control(fake.path, { op: 'ls' }, { timeoutMs: 200 }),
        'ETIMEDOUT',
        /^control socket .*: no reply within 200 ms$/,
      );
      failedWith(await ctl(fake.path, ['--timeout', '200', 'ls']), 'ETIMEDOUT');
    } finally {
      await fake.close();
    }
  });

  test(`a server that never replies, no --timeout: ETIMEDOUT after the default ${DEFAULT_TIMEOUT_MS} ms`, async () => {
    const fake = await fakeServer(() => {});
    try {
      const r = await ctl(fake.path, ['get', 't1/enabled']);
      failedWith(r, 'ETIMEDOUT');
      assert.match(r.err, new RegExp(`no reply within ${DEFAULT_TIMEOUT_MS} ms`));
    } finally {
      await fake.close();
    }
  });

  for (const bad of [0, -1, 1.5, Number.NaN]) {
    test(`timeoutMs ${bad}: EINVAL`, async () => {
      const fake = await fakeServer(() => {});
      try {
        await rejectsWith(
          control(fake.path, { op: 'ls' }, { timeoutMs: bad }),
          'EINVAL',
          /^timeoutMs: invalid value .*; accepted: an integer number of milliseconds/,
        );
      } finally {
        await fake.close();
      }
    });
  }
});

/** Reply lines that are not replies. */
const GARBAGE = [
  'hello',
  '[]',
  'null',
  '{"ok":"yes"}',
  '{"ok":false}',
  '{"ok":false,"code":5,"message":"x"}',
  '{"ok":false,"code":"nope","message":"x"}',
  '{"ok":false,"code":"EINVAL"}',
];

describe('ctl client: a malformed reply', () => {
  for (const line of GARBAGE) {
    test(`reply ${line}: EPROTO from control() and from netconsole ctl`, async () => {
      const fake = await fakeServer((s) => s.once('data', () => s.write(`${line}\n`)));
      try {
        await rejectsWith(
          control(fake.path, { op: 'ls' }),
          'EPROTO',
          /^control socket .*: a reply (that is not JSON|of the wrong shape): /,
        );
        failedWith(await ctl(fake.path, ['ls']), 'EPROTO');
      } finally {
        await fake.close();
      }
    });
  }

  test('an error reply whose message spans lines is printed on one line', async () => {
    const fake = await fakeServer((s) =>
      s.once('data', () => s.write('{"ok":false,"code":"EINVAL","message":"first\\nsecond\\r\\n third"}\n')),
    );
    try {
      const r = await ctl(fake.path, ['ls']);
      failedWith(r, 'EINVAL');
      assert.equal(r.err, 'netconsole: EINVAL: first second third');
    } finally {
      await fake.close();
    }
  });
});

describe('ctl client: a request larger than the server accepts', () => {
  test(`a value making the request over ${MAX_REQUEST} bytes: EMSGSIZE, not sent; the server still serves`, async () => {
    const socket = socketPath();
    const nc = await Netconsole.create({ devices: 'none', env: false, control: socket });
    try {
      await nc.targets.create('t1');
      const value = 'x'.repeat(MAX_REQUEST);
      await rejectsWith(
        control(socket, { op: 'set', path: 't1/userdata/k', value }),
        'EMSGSIZE',
        new RegExp(`^request: \\d+ bytes is larger than the limit of ${MAX_REQUEST} bytes$`),
      );
      failedWith(await ctl(socket, ['set', 't1/userdata/k', value]), 'EMSGSIZE');
      assert.deepEqual(nc.targets.get('t1')!.userdata.entries(), []);
      assert.deepEqual(await control(socket, { op: 'ls' }), { ok: true, value: ['t1'] });
    } finally {
      await nc.close();
    }
  });
});

describe('ctl client: what a server says is printed escaped', () => {
  test('names and values with newlines, escapes and bidi controls are printed one per line, escaped; other values as one line of JSON', async () => {
    const replies = [
      '{"ok":true,"value":["t1\\nforged line","\\u001b[2J\\u009b","\\u202eevil","back\\\\slash"]}\n',
      '{"ok":true,"value":{"a":"b\\nc","d":[1,2]}}\n',
      '{"ok":false,"code":"EINVAL","message":"bad\\u001b]0;title\\u0007 name\\u2029here"}\n',
    ];
    let i = 0;
    const fake = await fakeServer((s) => s.once('data', () => s.end(replies[i++])));
    try {
      assert.deepEqual(await ctl(fake.path, ['ls']), {
        code: 0,
        out: 't1\\nforged line\n\\x1b[2J\\x9b\n\\u{202e}evil\nback\\\\slash',
        err: '',
      });
      assert.deepEqual(await ctl(fake.path, ['get', 't1/x']), { code: 0, out: '{"a":"b\\nc","d":[1,2]}', err: '' });
      const e = await ctl(fake.path, ['get', 't1/x']);
      failedWith(e, 'EINVAL');
      assert.equal(e.err, 'netconsole: EINVAL: bad\\x1b]0;title\\x07 name\\u{2029}here');
    } finally {
      await fake.close();
    }
  });
});
