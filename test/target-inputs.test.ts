// What a target takes, at the doors that once took too much or answered with the wrong code: the
// attributes argument of targets.create(), a target's name, booleans for attributes that are not
// yes/no, NUL in dev_name, reads of a removed target, and control characters in userdata (a
// newline in a key refused; one in a value sent escaped, so it cannot forge a line of its own).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Netconsole, NetconsoleError, type TargetOptions } from '../src/index.js';
import { DEFAULT_ATTRIBUTES, type TargetAttributes } from '../src/config/attributes.js';
import { parseAttributeWrite } from '../src/config/attribute-write.js';
import { parseParamString } from '../src/config/params.js';
import { normalizeUserdataValue, validateUserdata, validateUserdataKey } from '../src/config/userdata.js';
import { renderUserdata } from '../src/core/userdata.js';
import { encodeMessage } from '../src/core/wire.js';
import { throwing } from './helpers/hostile.js';
import { Sink } from './helpers/udp.js';
import { withNetconsole } from './helpers/netconsole.js';

const base = { devices: 'none', sender: 'dgram', env: false } as const;
// Port 9 (discard) on loopback; local_port 0: an ephemeral port, no clash with other tests.
const loop = { remote_ip: '127.0.0.1', remote_port: 9, local_port: 0 };

const withNc = (
  fn: (nc: Netconsole) => Promise<void>,
  options: Parameters<typeof Netconsole.create>[0] = {},
): Promise<void> => withNetconsole({ ...base, ...options }, fn);

/** `call` throws (or rejects with) a NetconsoleError of this code naming this option. */
async function refused(code: string, option: string, call: () => unknown, message?: RegExp): Promise<NetconsoleError> {
  let err: unknown;
  try {
    await call();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof NetconsoleError, `a NetconsoleError, got ${err instanceof Error ? err.stack : String(err)}`);
  assert.deepEqual([err.code, err.option], [code, option], err.message);
  assert.ok(err.accepted, `says what is accepted: ${err.message}`);
  if (message) assert.match(err.message, message);
  return err;
}

const text = (v: Uint8Array): string => Buffer.from(v).toString('latin1');

describe('targets.create(name, attributes): the attributes argument', () => {
  // Before: 5 and [] made a target, null was a TypeError, 'x' was ENOENT naming attribute '0'.
  for (const [what, attrs] of [
    ['a number', 5],
    ['an array', []],
    ['a string', 'x'],
    ['true', true],
    ['a function', () => ({})],
  ] as const) {
    test(`${what}: EINVAL naming attributes, no target made`, () =>
      withNc(async (nc) => {
        await refused(
          'EINVAL',
          'attributes',
          () => nc.targets.create('t', attrs as never),
          /accepted: an object of attributes/,
        );
        assert.deepEqual(nc.targets.list(), []);
      }));
  }
  test('undefined, null or nothing: no attributes, the defaults', () =>
    withNc(async (nc) => {
      for (const [name, t] of [
        ['u', await nc.targets.create('u', undefined)],
        ['n', await nc.targets.create('n', null)],
        ['none', await nc.targets.create('none')],
      ] as const) {
        assert.equal(t.name, name);
        assert.equal(t.get('remote_port'), String(DEFAULT_ATTRIBUTES.remote_port));
        assert.equal(t.state, 'disabled');
      }
    }));
  // Before: an attribute given as null or undefined was the default, but \`enabled: null\` was EINVAL.
  test('an attribute given as undefined or null: not given, the default (enabled and userdata too)', () =>
    withNc(async (nc) => {
      const t = await nc.targets.create('t', {
        remote_port: null,
        enabled: null,
        userdata: null,
        extended: undefined,
      } as never);
      assert.equal(t.get('remote_port'), String(DEFAULT_ATTRIBUTES.remote_port));
      assert.equal(t.state, 'disabled');
    }));
  // Before: the getter's or the trap's own Error came through (no code, no option).
  test('an attribute whose read throws: EINVAL naming it, the thrown error as the cause, no target made', () =>
    withNc(async (nc) => {
      const getter = Object.defineProperty({ ...loop }, 'remote_port', { enumerable: true, get: throwing('getter') });
      const err = await refused('EINVAL', 'remote_port', () => nc.targets.create('t', getter), /reading it threw/);
      assert.equal((err.cause as Error).message, 'getter');
      const keys = await refused(
        'EINVAL',
        'attributes',
        () => nc.targets.create('t', new Proxy({}, { ownKeys: throwing('ownKeys trap') })),
        /threw/,
      );
      assert.equal((keys.cause as Error).message, 'ownKeys trap');
      await refused('EINVAL', 'userdata/k', () =>
        nc.targets.create('t', {
          ...loop,
          userdata: Object.defineProperty({}, 'k', { enumerable: true, get: throwing('getter') }),
        }),
      );
      assert.deepEqual(nc.targets.list(), []);
    }));
  test('each attribute is read once', () =>
    withNc(async (nc) => {
      let reads = 0;
      const attrs = Object.defineProperty({ ...loop }, 'extended', { enumerable: true, get: () => (reads++, 1) });
      const t = await nc.targets.create('t', attrs as TargetOptions);
      assert.equal(t.get('extended'), '1');
      assert.equal(reads, 1);
    }));
  test('an unknown attribute: ENOENT, the closest name suggested', () =>
    withNc(async (nc) => {
      await refused(
        'ENOENT',
        'remote_prot',
        () => nc.targets.create('t', { remote_prot: 6666 } as never),
        /did you mean 'remote_port'/,
      );
      assert.deepEqual(nc.targets.list(), []);
    }));
});

describe('target names: as mkdir in configfs takes them', () => {
  // Before: NUL was taken; the limit was 255 UTF-16 units (not bytes) and past it EINVAL.
  for (const [what, name, code] of [
    ['NUL', 'a\0b', 'EINVAL'],
    ['"/"', 'a/b', 'EINVAL'],
    ['empty', '', 'EINVAL'],
    ['"."', '.', 'EINVAL'],
    ['a lone surrogate', 'a\ud800', 'EINVAL'],
    ['300 bytes', 'n'.repeat(300), 'ENAMETOOLONG'],
    ['256 bytes', 'n'.repeat(256), 'ENAMETOOLONG'],
    ['128 characters, 256 bytes of UTF-8', '\u00e9'.repeat(128), 'ENAMETOOLONG'],
  ] as const) {
    test(`${what}: ${code}`, () =>
      withNc(async (nc) => {
        const err = await refused(code, 'name', () => nc.targets.create(name));
        if (code === 'ENAMETOOLONG') assert.match(err.accepted!, /1\.\.255 bytes/);
        assert.deepEqual(nc.targets.list(), []);
      }));
  }
  test('255 bytes: taken', () => withNc(async (nc) => void (await nc.targets.create(`${'\u00e9'.repeat(127)}n`))));
});

describe('booleans: for yes/no attributes only', () => {
  const current: TargetAttributes = { ...DEFAULT_ATTRIBUTES };
  // Before: true was written as '1' (remote_port 1, dev_name "1").
  for (const attr of [
    'remote_port',
    'local_port',
    'ratelimit_burst',
    'ratelimit_interval_ms',
    'dev_name',
    'remote_ip',
    'remote_mac',
    'local_ip',
  ]) {
    for (const value of [true, false]) {
      test(`${attr} = ${value}: EINVAL`, async () =>
        void (await refused(
          'EINVAL',
          attr,
          () => parseAttributeWrite('t', attr, value, current),
          /a boolean for an attribute that is not yes\/no/,
        )));
    }
  }
  for (const attr of ['extended', 'timestamps', 'release']) {
    test(`${attr} = true: taken`, () =>
      assert.deepEqual(parseAttributeWrite('t', attr, true, current), { [attr]: true }));
  }
  test('a userdata value true: EINVAL (it would be the text "1"); 42 is "42"', async () => {
    await refused('EINVAL', 'userdata/k', () => normalizeUserdataValue('k', true));
    assert.equal(normalizeUserdataValue('k', 42), '42');
  });
  test('end to end: create with remote_port true is refused, no target; enabled: true and cpu_nr_enabled: true are taken', () =>
    withNc(async (nc) => {
      await refused('EINVAL', 'remote_port', () =>
        nc.targets.create('t', { remote_ip: '127.0.0.1', remote_port: true as never }),
      );
      assert.deepEqual(nc.targets.list(), []);
      const t = await nc.targets.create('t', { ...loop, enabled: true, cpu_nr_enabled: true });
      assert.deepEqual([t.state, t.userdata.get('cpu_nr_enabled')], ['enabled', '1']);
    }));
});

describe('dev_name: no NUL', () => {
  // Before: taken; the kernel's strscpy would cut "lo\0x" to "lo", another device.
  test('a configfs write: EINVAL', async () =>
    void (await refused(
      'EINVAL',
      'dev_name',
      () => parseAttributeWrite('t', 'dev_name', 'lo\0x', DEFAULT_ATTRIBUTES),
      /NUL/,
    )));
  test('the parameter string: the piece fails, EINVAL at dev_name', () => {
    const { targets, errors } = parseParamString('@/lo\0x,@10.0.0.2/');
    assert.deepEqual(targets, []);
    assert.deepEqual(
      errors.map((e) => [e.code, e.option]),
      [['EINVAL', 'dev_name']],
    );
  });
});

describe('a removed target: ENOENT for reads too, as after rmdir', () => {
  // Before: get() went on returning the last values.
  test('get, userdata.get and userdata.entries throw ENOENT; set rejects ENOENT', () =>
    withNc(async (nc) => {
      const t = await nc.targets.create('t', { ...loop, userdata: { k: 'v' } });
      assert.equal(t.get('remote_port'), '9');
      await t.remove();
      await refused('ENOENT', 'target', () => t.get('remote_port'));
      await refused('ENOENT', 'target', () => t.get('cpu_nr_enabled' as never));
      await refused('ENOENT', 'target', () => t.userdata.get('k'));
      await refused('ENOENT', 'target', () => t.userdata.entries());
      await refused('ENOENT', 'target', () => t.set('remote_port', 1));
      // A new target of the same name is another one: the old handle stays removed.
      await nc.targets.create('t', loop);
      await refused('ENOENT', 'target', () => t.get('remote_port'));
    }));
});

describe('userdata: control characters', () => {
  // Before: a newline in a key was taken and sent raw.
  for (const key of ['a\nb', 'k\n', '\tk', 'k\r', 'k\x7f']) {
    test(`key ${JSON.stringify(key)}: EINVAL`, async () =>
      void (await refused('EINVAL', 'userdata key', () => validateUserdataKey(key), /control character/)));
  }
  test('a value with a newline is kept as given, and rendered with the newline as \\x0a: one line per entry', () => {
    const entries = validateUserdata({ k: 'v\nFAKE=1', tab: 'a\tb', plain: 'x\\y é' });
    assert.equal(entries.get('k'), 'v\nFAKE=1');
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    const rendered = text(renderUserdata([...entries].map(([k, v]) => [enc(k), enc(v)] as const)));
    // Before: " k=v\nFAKE=1\n", a forged FAKE line. The backslash and UTF-8 stay as the kernel sends them.
    assert.equal(rendered, ` k=v\\x0aFAKE=1\n tab=a\\x09b\n plain=x\\y ${text(enc('é'))}\n`);
  });
  test('the rendered size counts the escapes: entries that fit raw but not escaped are ENOSPC', async () => {
    const value = `x${'\n'.repeat(197)}x`; // 199 bytes as written, 787 rendered
    const writes = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, value]));
    await refused('ENOSPC', 'userdata', () => validateUserdata(writes), /does not fit/);
  });
  test('netconsole/wire: a key with a newline is EINVAL; a value with one is escaped, both implementations alike', async () => {
    const record = { prio: 14, seq: 1, tsUsec: 1, text: 'hi' };
    for (const impl of ['wasm', 'reference'] as const) {
      await refused('EINVAL', 'userdata key', () =>
        encodeMessage(record, { extended: true, userdata: [['a\nb', 'v']] }, { impl }),
      );
      const { datagrams } = encodeMessage(record, { extended: true, userdata: [['k', 'v\nFAKE=1']] }, { impl });
      assert.deepEqual(datagrams.map(text), ['14,1,1,-;hi\n k=v\\x0aFAKE=1\n'], impl);
    }
  });
  test('end to end: what arrives has one userdata line, the newline escaped', async () => {
    const sink = await Sink.open();
    try {
      await withNc(async (nc) => {
        const t = await nc.targets.create('t', {
          remote_ip: '127.0.0.1',
          remote_port: sink.port,
          local_port: 0,
          extended: 1,
          userdata: { k: 'v\nFAKE=1' },
        });
        await t.enable();
        nc.info('hello');
        await nc.flush();
        const got = await sink.waitFor((r) => r.data.toString('latin1').includes('hello'));
        assert.match(got.data.toString('latin1'), /^\d+,\d+,\d+,-;hello\n k=v\\x0aFAKE=1\n$/);
        assert.equal(t.userdata.get('k'), 'v\nFAKE=1', 'reads back as written');
      });
    } finally {
      await sink.close();
    }
  });
});
