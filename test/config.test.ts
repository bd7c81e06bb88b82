// Target attributes and the parameter string (docs/targets.md sections 1 and 2): every rule, the
// exact errno of every refusal, the kernel's value syntax, and the byte boundaries. Every refused
// write throws and leaves the `current` attributes it was given exactly as they were.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Netconsole } from '../src/index.js';
import { NetconsoleError } from '../src/base/errors.js';
import { L } from '../src/core/layout.js';
import { renderUserdata } from '../src/core/userdata.js';
import {
  checkUserdataRoom,
  normalizeUserdataValue,
  parseSysdataToggle,
  validateUserdata,
  validateUserdataKey,
} from '../src/config/userdata.js';
import {
  DEFAULT_ATTRIBUTES,
  LOCKED_ATTRIBUTES,
  SYSDATA_TOGGLES,
  type TargetAttributes,
} from '../src/config/attributes.js';
import { formatAttribute } from '../src/config/attribute-read.js';
import { parseAttributeWrite } from '../src/config/attribute-write.js';
import { kstrtobool, toAttributeText } from '../src/config/store-text.js';
import { PARAM_MAX, parseParamString, type ParamTarget } from '../src/config/params.js';
import { withNetconsole } from './helpers/netconsole.js';

const NAME = 't1';
const LOCK_MESSAGE = `target (${NAME}) is enabled, disable to update parameters`;

function attrs(over: Partial<TargetAttributes> = {}): TargetAttributes {
  return { ...DEFAULT_ATTRIBUTES, remote_ip: '10.0.0.2', ...over };
}
const disabled = attrs();
const enabled = attrs({ enabled: true });

function expectError(code: string, fn: () => unknown, message?: string): NetconsoleError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof NetconsoleError, `a NetconsoleError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.notEqual(caught.option, undefined, 'the error names the attribute');
  assert.ok(caught.accepted, 'the error says what is accepted');
  if (message !== undefined) assert.equal(caught.message, message);
  return caught;
}

/** A refused write: the errno, the attribute named, and `current` deep-equal before and after. */
function refused(
  code: string,
  attr: string,
  value: unknown,
  current: TargetAttributes,
  message?: string,
): NetconsoleError {
  const before = structuredClone(current);
  let result: unknown = 'not assigned';
  const err = expectError(code, () => (result = parseAttributeWrite(NAME, attr, value, current)), message);
  assert.equal(result, 'not assigned', 'a refused write returns nothing');
  assert.deepEqual(current, before, 'current is unchanged');
  assert.equal(err.value, value, 'the error carries the value given');
  return err;
}

function accepted(attr: string, value: unknown, current: TargetAttributes, want: Partial<TargetAttributes>): void {
  const before = structuredClone(current);
  assert.deepEqual(parseAttributeWrite(NAME, attr, value, current), want);
  assert.deepEqual(current, before, 'current is unchanged');
}

describe('defaults and lock set', () => {
  test('DEFAULT_ATTRIBUTES follow docs/targets.md', () => {
    assert.deepEqual(DEFAULT_ATTRIBUTES, {
      enabled: false,
      extended: false,
      timestamps: true,
      release: false,
      dev_name: '',
      local_port: 6665,
      remote_port: 6666,
      local_ip: null,
      remote_ip: null,
      remote_mac: 'ff:ff:ff:ff:ff:ff',
      ratelimit_interval_ms: 0,
      ratelimit_burst: 10,
      heartbeat_ms: 0,
      heartbeat_text: 'netconsole: heartbeat',
      reliable: false,
      reliable_msgs: 8192,
      reliable_bytes: 4194304,
    });
    assert.ok(Object.isFrozen(DEFAULT_ATTRIBUTES));
  });
  test('LOCKED_ATTRIBUTES are the spec table rows marked locked', () => {
    assert.deepEqual([...LOCKED_ATTRIBUTES].sort(), [
      'dev_name',
      'extended',
      'local_ip',
      'local_port',
      'release',
      'reliable',
      'reliable_bytes',
      'reliable_msgs',
      'remote_ip',
      'remote_mac',
      'remote_port',
    ]);
  });
});

// A valid new value for each locked attribute (accepted while disabled, refused while enabled).
const lockedWrites: Array<[string, unknown, Partial<TargetAttributes>]> = [
  ['extended', '1\n', { extended: true }],
  ['release', 'y', { release: true }],
  ['dev_name', 'eth1\n', { dev_name: 'eth1' }],
  ['local_port', '4444\n', { local_port: 4444 }],
  ['remote_port', 9353, { remote_port: 9353 }],
  ['local_ip', '10.0.0.1\n', { local_ip: '10.0.0.1' }],
  ['remote_ip', '10.0.0.3', { remote_ip: '10.0.0.3' }],
  ['remote_mac', '12:34:56:78:9A:BC\n', { remote_mac: '12:34:56:78:9a:bc' }],
  ['reliable', '1\n', { reliable: true }],
  ['reliable_msgs', '1000\n', { reliable_msgs: 1000 }],
  ['reliable_bytes', 300001, { reliable_bytes: 300008 }],
];

describe('reliable bounds', () => {
  for (const [attr, low, high] of [
    ['reliable_msgs', 15, 1048577],
    ['reliable_bytes', 262143, 268435457],
  ] as const) {
    test(`${attr} outside its range: ERANGE`, () => {
      const range = attr === 'reliable_msgs' ? '16..1048576' : '262144..268435456';
      refused('ERANGE', attr, String(low), disabled, `${attr}: out of range: "${low}"; accepted: ${range}`);
      refused('ERANGE', attr, String(high), disabled, `${attr}: out of range: "${high}"; accepted: ${range}`);
    });
  }
  test('enabling reliable without extended: EINVAL naming both', () => {
    const current = { ...disabled, reliable: true, extended: false };
    const err = expectError(
      'EINVAL',
      () => parseAttributeWrite(NAME, 'enabled', '1', current),
      'target (t1): not enabling netconsole, reliable delivery requires extended log messages (acks and requests name seqs)',
    );
    assert.equal(err.option, 'reliable', 'the error names the attribute to change, as release does');
  });
});

describe('locked attributes', () => {
  for (const [attr, value, want] of lockedWrites) {
    test(`${attr} = ${JSON.stringify(value)} while enabled: EINVAL "${LOCK_MESSAGE}"`, () => {
      refused('EINVAL', attr, value, enabled, LOCK_MESSAGE);
    });
    test(`${attr} = ${JSON.stringify(value)} while disabled is accepted`, () => {
      accepted(attr, value, disabled, want);
    });
    test(`${attr} with bad syntax while enabled still reports the lock first`, () => {
      refused('EINVAL', attr, '\u0000junk', enabled, LOCK_MESSAGE);
    });
  }
  for (const [attr, value, want] of [
    ['timestamps', '0', { timestamps: false }],
    ['ratelimit_interval_ms', '1000\n', { ratelimit_interval_ms: 1000 }],
    ['ratelimit_burst', 50, { ratelimit_burst: 50 }],
  ] as Array<[string, unknown, Partial<TargetAttributes>]>) {
    test(`${attr} is not locked: writable while enabled`, () => {
      accepted(attr, value, enabled, want);
    });
  }
});

describe('attribute names', () => {
  for (const attr of ['local_mac', 'transmit_errors']) {
    for (const current of [disabled, enabled]) {
      test(`${attr} is read only: EACCES, as configfs opening a file without ->store (enabled=${current.enabled})`, () =>
        void refused('EACCES', attr, '1', current));
    }
  }
  for (const attr of ['bogus', 'Enabled', 'constructor', '__proto__', 'toString', 'userdata', '', 'enabled\n']) {
    test(`unknown attribute ${JSON.stringify(attr)}: ENOENT`, () => void refused('ENOENT', attr, '1', disabled));
  }
});

const boolTrue = ['1', 'y', 'Y', 't', 'T', 'on', 'ON', 'oN', 'yes', 'true', '1\n', 'on\n', '10', 'y junk'];
const boolFalse = ['0', 'n', 'N', 'f', 'F', 'off', 'OFF', 'oF', 'no', 'false', '0\n', 'off\n', '01'];
const boolBad = ['', '\n', ' 1', '2', '-1', 'o', 'O', 'o\n', 'ok', 'x', 'enable', '+1', '\t0'];

describe('kstrtobool', () => {
  for (const text of boolTrue)
    test(`accepts ${JSON.stringify(text)} as true`, () => assert.equal(kstrtobool(text), true));
  for (const text of boolFalse)
    test(`accepts ${JSON.stringify(text)} as false`, () => assert.equal(kstrtobool(text), false));
  for (const text of boolBad) test(`rejects ${JSON.stringify(text)}`, () => assert.equal(kstrtobool(text), undefined));
});

describe('bool attributes', () => {
  for (const attr of ['extended', 'timestamps', 'release']) {
    for (const text of boolBad) {
      test(`${attr} = ${JSON.stringify(text)}: EINVAL`, () => void refused('EINVAL', attr, text, disabled));
    }
    for (const [value, want] of [
      [true, true],
      [false, false],
      [1, true],
      [0, false],
      ['on\n', true],
      ['N', false],
    ] as const) {
      test(`${attr} = ${JSON.stringify(value)} gives ${want}`, () => accepted(attr, value, disabled, { [attr]: want }));
    }
    test(`${attr} = 2 (number): EINVAL`, () => void refused('EINVAL', attr, 2, disabled));
  }
});

describe('toAttributeText', () => {
  for (const [value, want] of [
    ['abc', 'abc'],
    ['1\n', '1\n'],
    [true, '1'],
    [false, '0'],
    [0, '0'],
    [-0, '0'],
    [65535, '65535'],
    [-1, '-1'],
    [1e21, '1000000000000000000000'],
  ] as Array<[unknown, string]>) {
    test(`${String(value)} -> ${JSON.stringify(want)}`, () => assert.equal(toAttributeText(value), want));
  }
  for (const value of [1.5, NaN, Infinity, -Infinity, null, undefined, {}, [], 1n, Symbol('s')]) {
    test(`${typeof value} ${String(value)}: EINVAL`, () => void expectError('EINVAL', () => toAttributeText(value)));
  }
});

// kstrtou16(buf, 10): '+' ok, one trailing '\n' ok; empty, '-', junk EINVAL; overflow ERANGE.
const portGood: Array<[unknown, number]> = [
  ['0', 0],
  ['65535', 65535],
  ['+80', 80],
  ['80\n', 80],
  ['+80\n', 80],
  ['007', 7],
  [443, 443],
  [0, 0],
];
const portBad: Array<[unknown, string]> = [
  ['', 'EINVAL'],
  ['\n', 'EINVAL'],
  ['+', 'EINVAL'],
  ['++1', 'EINVAL'],
  ['-1', 'EINVAL'],
  ['-0', 'EINVAL'],
  [-1, 'EINVAL'],
  [' 80', 'EINVAL'],
  ['80 ', 'EINVAL'],
  ['80\n\n', 'EINVAL'],
  ['\n80', 'EINVAL'],
  ['0x50', 'EINVAL'],
  ['80a', 'EINVAL'],
  ['8 0', 'EINVAL'],
  ['1.5', 'EINVAL'],
  [1.5, 'EINVAL'],
  ['70000x', 'EINVAL'],
  ['65536', 'ERANGE'],
  ['70000\n', 'ERANGE'],
  [65536, 'ERANGE'],
  ['18446744073709551615', 'ERANGE'],
  ['18446744073709551616', 'ERANGE'],
  ['99999999999999999999999x', 'ERANGE'],
];

describe('ports', () => {
  for (const attr of ['local_port', 'remote_port']) {
    for (const [value, want] of portGood) {
      test(`${attr} = ${JSON.stringify(value)} gives ${want}`, () => accepted(attr, value, disabled, { [attr]: want }));
    }
    for (const [value, code] of portBad) {
      test(`${attr} = ${JSON.stringify(value)}: ${code}`, () => void refused(code, attr, value, disabled));
    }
  }
});

describe('ratelimit (u32)', () => {
  for (const attr of ['ratelimit_interval_ms', 'ratelimit_burst']) {
    for (const [value, want] of [
      ['0', 0],
      ['4294967295', 4294967295],
      ['+5\n', 5],
      [10, 10],
    ] as Array<[unknown, number]>) {
      test(`${attr} = ${JSON.stringify(value)} gives ${want}`, () => accepted(attr, value, enabled, { [attr]: want }));
    }
    for (const [value, code] of [
      ['4294967296', 'ERANGE'],
      ['', 'EINVAL'],
      ['-1', 'EINVAL'],
      ['1k', 'EINVAL'],
      [2 ** 32, 'ERANGE'],
    ] as Array<[unknown, string]>) {
      test(`${attr} = ${JSON.stringify(value)}: ${code}`, () => void refused(code, attr, value, enabled));
    }
  }
});

describe('IP addresses', () => {
  const good: Array<[string, string | null]> = [
    ['10.0.0.1', '10.0.0.1'],
    ['10.0.0.1\n', '10.0.0.1'],
    ['FD00:0:0::1', 'fd00::1'],
    ['::ffff:1.2.3.4\n', '::ffff:1.2.3.4'],
    ['0.0.0.0', null],
    ['::\n', null],
  ];
  const bad = [
    '',
    '\n',
    '10.0.0',
    '10.0.0.256',
    '010.0.0.1',
    ' 10.0.0.1',
    '10.0.0.1 ',
    '10.0.0.1\n\n',
    'fe80::1%eth0',
    '[::1]',
    '1:2:3:4:5:6:7:8:9',
    'host.example',
    '10.0.0.1/24',
  ];
  for (const attr of ['local_ip', 'remote_ip']) {
    const blank = attrs({ remote_ip: null });
    for (const [text, want] of good) {
      test(`${attr} = ${JSON.stringify(text)} gives ${String(want)}`, () =>
        accepted(attr, text, blank, { [attr]: want }));
    }
    for (const text of bad)
      test(`${attr} = ${JSON.stringify(text)}: EINVAL`, () => void refused('EINVAL', attr, text, blank));
  }
  for (const [attr, other, text] of [
    ['local_ip', { remote_ip: '10.0.0.2' }, 'fd00::1'],
    ['local_ip', { remote_ip: 'fd00::2' }, '10.0.0.1'],
    ['remote_ip', { local_ip: '10.0.0.1', remote_ip: null }, 'fd00::2'],
    ['remote_ip', { local_ip: 'fd00::1', remote_ip: null }, '10.0.0.2'],
    ['remote_ip', { local_ip: 'fd00::1', remote_ip: null }, '::ffff:10.0.0.2x'],
  ] as Array<[string, Partial<TargetAttributes>, string]>) {
    test(`${attr} = ${text} beside ${JSON.stringify(other)}: EINVAL (family)`, () =>
      void refused('EINVAL', attr, text, attrs(other)));
  }
  test('the zero address of the other family unsets, no family conflict', () => {
    accepted('local_ip', '::', attrs({ remote_ip: '10.0.0.2' }), { local_ip: null });
  });
  test('an IPv4-mapped IPv6 address is IPv6', () => {
    accepted('local_ip', '::ffff:10.0.0.1', attrs({ remote_ip: 'fd00::2' }), { local_ip: '::ffff:10.0.0.1' });
  });
});

describe('remote_mac', () => {
  for (const [text, want] of [
    ['12:34:56:78:9a:bc', '12:34:56:78:9a:bc'],
    ['12:34:56:78:9A:BC\n', '12:34:56:78:9a:bc'],
    ['FF:FF:FF:FF:FF:FF', 'ff:ff:ff:ff:ff:ff'],
  ]) {
    test(`remote_mac = ${JSON.stringify(text)} gives ${want}`, () =>
      accepted('remote_mac', text, disabled, { remote_mac: want! }));
  }
  for (const text of [
    '',
    '12-34-56-78-9a-bc',
    '12:34:56:78:9a',
    '12:34:56:78:9a:bc:de',
    '12:34:56:78:9a:bcX',
    '1:34:56:78:9a:bc0',
    'gg:34:56:78:9a:bc',
    ' 12:34:56:78:9a:bc',
    '12:34:56:78:9a:bc\n\n',
    '123456789abc',
  ]) {
    test(`remote_mac = ${JSON.stringify(text)}: EINVAL`, () => void refused('EINVAL', 'remote_mac', text, disabled));
  }
});

describe('dev_name (IFNAMSIZ)', () => {
  const name15 = 'abcdefghijklmno';
  for (const [text, want] of [
    ['', ''],
    ['\n', ''],
    ['eth0\n', 'eth0'],
    [name15, name15],
    [`${name15}\n`, name15],
    [`${'\u00e9'.repeat(7)}x`, `${'\u00e9'.repeat(7)}x`],
  ]) {
    test(`dev_name = ${JSON.stringify(text)} (${new TextEncoder().encode(want!).length} bytes) gives ${JSON.stringify(want)}`, () =>
      accepted('dev_name', text, disabled, { dev_name: want! }));
  }
  for (const text of [`${name15}p`, `${name15}p\n`, '\u00e9'.repeat(8), 'x'.repeat(100)]) {
    test(`dev_name = ${JSON.stringify(text)} (over 15 bytes): ENAMETOOLONG`, () =>
      void refused('ENAMETOOLONG', 'dev_name', text, disabled));
    // dev_name_store checks the length before the lock.
    test(`dev_name = ${JSON.stringify(text)} (over 15 bytes) while enabled: ENAMETOOLONG, not the lock`, () =>
      void refused('ENAMETOOLONG', 'dev_name', text, enabled));
  }
  for (const text of [name15, `${name15}\n`, 1234567890]) {
    test(`dev_name = ${JSON.stringify(text)} (fits) while enabled: the lock, EINVAL`, () =>
      void refused('EINVAL', 'dev_name', text, enabled, LOCK_MESSAGE));
  }
});

describe('enabled', () => {
  test('enabling a disabled target with remote_ip set', () => accepted('enabled', '1\n', disabled, { enabled: true }));
  test('disabling an enabled target', () => accepted('enabled', false, enabled, { enabled: false }));
  test('extended + release may be enabled', () =>
    accepted('enabled', 1, attrs({ extended: true, release: true }), { enabled: true }));
  for (const [current, value, word] of [
    [enabled, '1', 'started'],
    [enabled, 'on\n', 'started'],
    [disabled, '0', 'stopped'],
    [disabled, false, 'stopped'],
  ] as Array<[TargetAttributes, unknown, string]>) {
    test(`writing ${JSON.stringify(value)} when enabled=${current.enabled}: EINVAL already ${word}`, () => {
      refused('EINVAL', 'enabled', value, current, `target (${NAME}): network logging has already ${word}`);
    });
  }
  test('enabling with release=1 and extended=0: EINVAL', () => {
    const err = expectError('EINVAL', () => parseAttributeWrite(NAME, 'enabled', '1', attrs({ release: true })));
    assert.equal(err.option, 'release');
  });
  test('enabling without remote_ip: EDESTADDRREQ', () => {
    const current = attrs({ remote_ip: null });
    const before = structuredClone(current);
    const err = expectError('EDESTADDRREQ', () => parseAttributeWrite(NAME, 'enabled', '1', current));
    assert.equal(err.option, 'remote_ip');
    assert.deepEqual(current, before);
  });
  test('release without extended is checked before remote_ip', () => {
    expectError('EINVAL', () => parseAttributeWrite(NAME, 'enabled', '1', attrs({ release: true, remote_ip: null })));
  });
  test('disabling needs neither remote_ip nor extended', () => {
    accepted('enabled', '0', attrs({ enabled: true, release: true, remote_ip: null }), { enabled: false });
  });
  for (const text of boolBad) {
    test(`enabled = ${JSON.stringify(text)}: EINVAL`, () => void refused('EINVAL', 'enabled', text, disabled));
  }
});

describe('userdata keys', () => {
  const good = ['k', 'release', 'x'.repeat(53), `${'\u00e9'.repeat(26)}x`, 'with space', 'enabled'];
  for (const key of good) {
    test(`key ${JSON.stringify(key)} (${new TextEncoder().encode(key).length} bytes) is accepted`, () =>
      validateUserdataKey(key));
  }
  for (const [key, code] of [
    ['x'.repeat(54), 'ENAMETOOLONG'],
    ['\u00e9'.repeat(27), 'ENAMETOOLONG'],
    ['x'.repeat(300), 'ENAMETOOLONG'],
    ['', 'EINVAL'],
    ['a/b', 'EINVAL'],
    ['/', 'EINVAL'],
    ['a\u0000b', 'EINVAL'],
    ['\ud800', 'EINVAL'],
    ['.', 'EEXIST'],
    ['..', 'EEXIST'],
    ...SYSDATA_TOGGLES.map((t) => [t, 'EEXIST']),
  ] as Array<[string, string]>) {
    test(`key ${JSON.stringify(key.length > 60 ? `${key.slice(0, 20)}...(${key.length})` : key)}: ${code}`, () =>
      void expectError(code, () => validateUserdataKey(key)));
  }
  test('key that is not a string: EINVAL', () =>
    void expectError('EINVAL', () => validateUserdataKey(42 as unknown as string)));
  for (const [existing, code] of [
    [0, null],
    [255, null],
    [256, 'ENOSPC'],
    [1000, 'ENOSPC'],
  ] as Array<[number, string | null]>) {
    test(`room for another entry beside ${existing}: ${code ?? 'ok'}`, () => {
      if (code === null) checkUserdataRoom(existing);
      else expectError(code, () => checkUserdataRoom(existing));
    });
  }
});

/** A title for a value: runs of 10 or more of one character shown as c{n}, e.g. "x{199}\n". */
function show(value: unknown): string {
  if (typeof value !== 'string') return String(value);
  return JSON.stringify(value).replace(/(.)\1{9,}/g, (run: string, c: string) => `${c}{${run.length}}`);
}

describe('userdata values', () => {
  const x199 = 'x'.repeat(199);
  for (const [value, want] of [
    ['v', 'v'],
    ['v\n', 'v'],
    ['v\n\n', 'v\n'],
    ['\n', ''],
    ['', ''],
    ['a\nb', 'a\nb'],
    [x199, x199],
    [`${x199.slice(1)}\n`, x199.slice(1)],
    [`${'\u00e9'.repeat(99)}x`, `${'\u00e9'.repeat(99)}x`],
    [`${'\u00e9'.repeat(99)}\n`, '\u00e9'.repeat(99)],
    [42, '42'],
  ] as Array<[unknown, string]>) {
    test(`value ${show(value)} gives ${show(want)}`, () => assert.equal(normalizeUserdataValue('k', value), want));
  }
  for (const [value, code] of [
    ['x'.repeat(200), 'EMSGSIZE'],
    [`${'x'.repeat(200)}\n`, 'EMSGSIZE'],
    // userdatum_value_store: count >= 200 before the newline is trimmed.
    [`${x199}\n`, 'EMSGSIZE'],
    [`${x199}\n\n`, 'EMSGSIZE'],
    [`${'\u00e9'.repeat(99)}x\n`, 'EMSGSIZE'],
    ['\u00e9'.repeat(100), 'EMSGSIZE'],
    ['a\u0000b', 'EINVAL'],
    ['\u0000', 'EINVAL'],
    ['\udc00', 'EINVAL'],
    [1.5, 'EINVAL'],
    [null, 'EINVAL'],
  ] as Array<[unknown, string]>) {
    test(`value ${show(value)}: ${code}`, () => {
      const err = expectError(code, () => normalizeUserdataValue('k', value));
      assert.equal(err.option, 'userdata/k');
    });
  }
});

// The whole-map check callers run before anything changes: at target creation, at set.
describe('validateUserdata', () => {
  const entries = (n: number, value = 'v', key = (i: number) => `k${i}`): Record<string, string> =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [key(i), value]));
  const existing = (n: number, value = 'v'): Map<string, string> => new Map(Object.entries(entries(n, value)));
  const bytes = (m: Map<string, string>): number =>
    renderUserdata([...m].map(([k, v]) => [new TextEncoder().encode(k), new TextEncoder().encode(v)] as const)).length;

  for (const n of [0, 1, 255, 256]) {
    test(`${n} new entries are accepted, in order`, () => {
      const got = validateUserdata(entries(n));
      assert.equal(got.size, n);
      assert.deepEqual([...got.keys()], Object.keys(entries(n)));
    });
  }
  for (const n of [257, 300]) {
    test(`${n} new entries: ENOSPC at the 257th`, () => {
      const err = expectError('ENOSPC', () => validateUserdata(entries(n)));
      assert.equal(err.value, 'k256', 'the error names the entry that did not fit');
    });
  }
  for (const [have, key, code] of [
    [255, 'new', null],
    [256, 'new', 'ENOSPC'],
    [256, 'k0', null], // an existing key is a value write, not an mkdir
    [256, 'x'.repeat(54), 'ENAMETOOLONG'], // the name is checked before the room, as userdatum_make_item
    [256, '.', 'EEXIST'],
    [256, 'cpu_nr_enabled', 'EEXIST'],
  ] as Array<[number, string, string | null]>) {
    test(`beside ${have} entries, writing ${JSON.stringify(key.length > 20 ? `${key.length} chars` : key)}: ${code ?? 'accepted'}`, () => {
      const before = existing(have);
      const snapshot = new Map(before);
      if (code === null) assert.equal(validateUserdata(new Map([[key, 'w']]), before).get(key), 'w');
      else expectError(code, () => validateUserdata(new Map([[key, 'w']]), before));
      assert.deepEqual(before, snapshot, 'existing is not changed');
    });
  }
  test('existing keys keep their place, new keys are appended, values are normalized', () => {
    const got = validateUserdata(
      new Map<string, unknown>([
        ['z', 1],
        ['b', 'new\n'],
      ]),
      new Map([
        ['b', 'old'],
        ['a', 'x'],
      ]),
    );
    assert.deepEqual(
      [...got],
      [
        ['b', 'new'],
        ['a', 'x'],
        ['z', '1'],
      ],
    );
  });
  test('a bad value anywhere refuses the whole map: EMSGSIZE names userdata/<key>', () => {
    const err = expectError('EMSGSIZE', () => validateUserdata({ ...entries(10), bad: 'x'.repeat(200) }));
    assert.equal(err.option, 'userdata/bad');
  });
  test('the largest map (256 x 53-byte keys x 199-byte values) is accepted and renders within UD_BUF_SIZE', () => {
    const got = validateUserdata(
      entries(256, 'v'.repeat(199), (i) => `${String(i).padStart(3, '0')}${'k'.repeat(50)}`),
    );
    assert.equal(bytes(got), 256 * (1 + 53 + 1 + 199 + 1));
    assert.ok(bytes(got) <= L.UD_BUF_SIZE);
  });
  // Existing entries are trusted, not re-validated, but they count in the rendered total.
  for (const [size, code] of [
    [L.UD_BUF_SIZE, null],
    [L.UD_BUF_SIZE + 1, 'ENOSPC'],
  ] as Array<[number, string | null]>) {
    test(`rendered total of ${size} bytes (UD_BUF_SIZE ${L.UD_BUF_SIZE}): ${code ?? 'accepted'}`, () => {
      const big = new Map([['k', 'v'.repeat(size - 4)]]);
      assert.equal(bytes(big), size);
      if (code === null) validateUserdata({}, big);
      else expectError(code, () => validateUserdata({ other: 'x' }, big));
    });
  }
  test('entries with an empty value count against 256 but render nothing', () => {
    assert.equal(bytes(validateUserdata(entries(256, ''))), 0);
    expectError('ENOSPC', () => validateUserdata(entries(257, '')));
  });
  for (const bad of [null, undefined, 'k=v', 42, [['k', 'v']]]) {
    test(`userdata ${JSON.stringify(bad)}: EINVAL`, () =>
      void expectError('EINVAL', () => validateUserdata(bad as never)));
  }
  test('a Map key that is not a string: EINVAL', () =>
    void expectError('EINVAL', () => validateUserdata(new Map([[1 as unknown as string, 'v']]))));
});

describe('sysdata toggles', () => {
  for (const name of SYSDATA_TOGGLES) {
    for (const [value, want] of [
      ['1\n', true],
      ['off', false],
      [true, true],
      [0, false],
    ] as Array<[unknown, boolean]>) {
      test(`${name} = ${JSON.stringify(value)} gives ${want}`, () =>
        assert.equal(parseSysdataToggle(name, value), want));
    }
    for (const value of ['', 'x', 'o', 2]) {
      test(`${name} = ${JSON.stringify(value)}: EINVAL`, () =>
        void expectError('EINVAL', () => parseSysdataToggle(name, value)));
    }
  }
  for (const name of ['cpu_nr', 'foo', 'taskname_enabled\n']) {
    test(`toggle ${JSON.stringify(name)}: ENOENT`, () =>
      void expectError('ENOENT', () => parseSysdataToggle(name, '1')));
  }
});

describe('formatAttribute', () => {
  const full = attrs({
    enabled: true,
    extended: true,
    dev_name: 'eth1',
    local_port: 4444,
    local_ip: 'fd00::1',
    remote_ip: 'fd00::2',
    remote_mac: '12:34:56:78:9a:bc',
    ratelimit_interval_ms: 1000,
  });
  for (const [name, want] of [
    ['enabled', '1'],
    ['extended', '1'],
    ['timestamps', '1'],
    ['release', '0'],
    ['dev_name', 'eth1'],
    ['local_port', '4444'],
    ['remote_port', '6666'],
    ['local_ip', 'fd00::1'],
    ['remote_ip', 'fd00::2'],
    ['remote_mac', '12:34:56:78:9a:bc'],
    ['ratelimit_interval_ms', '1000'],
    ['ratelimit_burst', '10'],
    ['local_mac', 'ff:ff:ff:ff:ff:ff'],
    ['transmit_errors', '0'],
  ]) {
    test(`${name} reads ${JSON.stringify(want)}`, () => assert.equal(formatAttribute(full, name!), want));
  }
  test('read-only attributes show the runtime values given', () => {
    assert.equal(formatAttribute(full, 'local_mac', { local_mac: '02:00:00:00:00:01' }), '02:00:00:00:00:01');
    assert.equal(formatAttribute(full, 'transmit_errors', { transmit_errors: 7 }), '7');
  });
  for (const [over, local, remote] of [
    [{ local_ip: null, remote_ip: null }, '0.0.0.0', '0.0.0.0'],
    [{ local_ip: null, remote_ip: '10.0.0.2' }, '0.0.0.0', '10.0.0.2'],
    [{ local_ip: null, remote_ip: 'fd00::2' }, '::', 'fd00::2'],
    [{ local_ip: 'fd00::1', remote_ip: null }, 'fd00::1', '::'],
  ] as Array<[Partial<TargetAttributes>, string, string]>) {
    test(`unset IPs read as the zero address: ${JSON.stringify(over)}`, () => {
      const a = attrs(over);
      assert.equal(formatAttribute(a, 'local_ip'), local);
      assert.equal(formatAttribute(a, 'remote_ip'), remote);
    });
  }
  test('unknown attribute: ENOENT', () => void expectError('ENOENT', () => formatAttribute(full, 'bogus')));
  for (const name of Object.keys(DEFAULT_ATTRIBUTES).filter((n) => n !== 'enabled')) {
    test(`${name}: a read written back (with '\\n') gives the same value`, () => {
      for (const a of [
        attrs({ ...full, enabled: false }),
        attrs({ local_ip: null, remote_ip: 'fd00::2' }),
        attrs({ remote_ip: null }),
      ]) {
        const written = parseAttributeWrite(NAME, name, `${formatAttribute(a, name)}\n`, a);
        assert.deepEqual(written, { [name]: a[name as keyof TargetAttributes] });
      }
    });
  }
});

// ---- the parameter string ----

function target(name: string, over: Partial<TargetAttributes>, bindMac?: string): ParamTarget {
  const t: ParamTarget = { name, attributes: { ...DEFAULT_ATTRIBUTES, enabled: true, ...over } };
  if (bindMac !== undefined) t.bindMac = bindMac;
  return t;
}

const goodParams: Array<[string, ParamTarget[]]> = [
  [
    '4444@10.0.0.1/eth1,9353@10.0.0.2/12:34:56:78:9a:bc',
    [
      target('cmdline0', {
        local_port: 4444,
        local_ip: '10.0.0.1',
        dev_name: 'eth1',
        remote_port: 9353,
        remote_ip: '10.0.0.2',
        remote_mac: '12:34:56:78:9a:bc',
      }),
    ],
  ],
  ['@/,@10.0.0.2/', [target('cmdline0', { remote_ip: '10.0.0.2' })]],
  ['+@/,@fd00:1:2:3::1/', [target('cmdline0', { extended: true, remote_ip: 'fd00:1:2:3::1' })]],
  [
    '@/,@10.0.0.2/;@/eth1,6892@10.0.0.3/',
    [
      target('cmdline0', { remote_ip: '10.0.0.2' }),
      target('cmdline1', { dev_name: 'eth1', remote_port: 6892, remote_ip: '10.0.0.3' }),
    ],
  ],
  ['+r@/,@10.0.0.2/', [target('cmdline0', { extended: true, release: true, remote_ip: '10.0.0.2' })]],
  ['+@/,6666@127.0.0.1/', [target('cmdline0', { extended: true, remote_port: 6666, remote_ip: '127.0.0.1' })]],
  ['@/12:34:56:78:9A:BC,@10.0.0.2/', [target('cmdline0', { remote_ip: '10.0.0.2' }, '12:34:56:78:9a:bc')]],
  ['@FD00::1/,@fd00::0:2/', [target('cmdline0', { local_ip: 'fd00::1', remote_ip: 'fd00::2' })]],
  ['@0.0.0.0/,@10.0.0.2/', [target('cmdline0', { remote_ip: '10.0.0.2' })]],
  [
    '@::ffff:10.0.0.1/,@::ffff:10.0.0.2/',
    [target('cmdline0', { local_ip: '::ffff:10.0.0.1', remote_ip: '::ffff:10.0.0.2' })],
  ],
  [
    '0@/abcdefghijklmno,65535@10.0.0.2/',
    [target('cmdline0', { local_port: 0, dev_name: 'abcdefghijklmno', remote_port: 65535, remote_ip: '10.0.0.2' })],
  ],
  [
    '+007@/,+80@10.0.0.2/FF:FF:FF:FF:FF:FF',
    [target('cmdline0', { extended: true, local_port: 7, remote_port: 80, remote_ip: '10.0.0.2' })],
  ],
  // kstrtou16 skips one '+', so after the extended '+' a second '+' is the port's sign.
  ['++5@/,@10.0.0.2/', [target('cmdline0', { extended: true, local_port: 5, remote_ip: '10.0.0.2' })]],
];

describe('parameter string: good', () => {
  for (const [text, want] of goodParams) {
    test(`${JSON.stringify(text)}`, () => assert.deepEqual(parseParamString(text), { targets: want, errors: [] }));
  }
  test('the empty string gives no targets and no errors', () =>
    assert.deepEqual(parseParamString(''), { targets: [], errors: [] }));
});

// [bad piece, the remainder the error points at, the field named, the code: the field's own reason]
const badParams: Array<[string, string, string, string]> = [
  ['', '', 'local_port', 'EINVAL'],
  ['x', 'x', 'local_port', 'EINVAL'],
  ['4444', '4444', 'local_port', 'EINVAL'],
  ['abc@/,@10.0.0.2/', 'abc@/,@10.0.0.2/', 'local_port', 'EINVAL'],
  ['-1@/,@10.0.0.2/', '-1@/,@10.0.0.2/', 'local_port', 'EINVAL'],
  ['65536@/,@10.0.0.2/', '65536@/,@10.0.0.2/', 'local_port', 'ERANGE'],
  [' 4444@/,@10.0.0.2/', ' 4444@/,@10.0.0.2/', 'local_port', 'EINVAL'],
  ['4444 @/,@10.0.0.2/', '4444 @/,@10.0.0.2/', 'local_port', 'EINVAL'],
  ['0x10@/,@10.0.0.2/', '0x10@/,@10.0.0.2/', 'local_port', 'EINVAL'],
  ['r@/,@10.0.0.2/', 'r@/,@10.0.0.2/', 'release', 'EINVAL'],
  ['r+@/,@10.0.0.2/', 'r+@/,@10.0.0.2/', 'release', 'EINVAL'],
  ['+rr@/,@10.0.0.2/', 'r@/,@10.0.0.2/', 'local_port', 'EINVAL'],
  ['++@/,@10.0.0.2/', '+@/,@10.0.0.2/', 'local_port', 'EINVAL'],
  ['+ @/,@10.0.0.2/', ' @/,@10.0.0.2/', 'local_port', 'EINVAL'],
  ['@', '', 'local_ip', 'EINVAL'],
  ['@10.0.0/,@10.0.0.2/', '10.0.0/,@10.0.0.2/', 'local_ip', 'EINVAL'],
  ['@10.0.0.256/,@10.0.0.2/', '10.0.0.256/,@10.0.0.2/', 'local_ip', 'EINVAL'],
  ['@010.0.0.1/,@10.0.0.2/', '010.0.0.1/,@10.0.0.2/', 'local_ip', 'EINVAL'],
  ['@fe80::1%eth0/,@fe80::2/', 'fe80::1%eth0/,@fe80::2/', 'local_ip', 'EINVAL'],
  ['@[::1]/,@::2/', '[::1]/,@::2/', 'local_ip', 'EINVAL'],
  ['@10.0.0.1,@10.0.0.2/', '10.0.0.1,@10.0.0.2/', 'local_ip', 'EINVAL'],
  ['@/', '', 'dev_name', 'EINVAL'],
  ['@/eth0', 'eth0', 'dev_name', 'EINVAL'],
  ['@/abcdefghijklmnop,@10.0.0.2/', 'abcdefghijklmnop,@10.0.0.2/', 'dev_name', 'ENAMETOOLONG'],
  ['@/12:34:56:78:9a,@10.0.0.2/', '12:34:56:78:9a,@10.0.0.2/', 'local_mac', 'EINVAL'],
  ['@/12:34:56:78:9a:bc:de,@10.0.0.2/', '12:34:56:78:9a:bc:de,@10.0.0.2/', 'local_mac', 'EINVAL'],
  ['@/eth:0,@10.0.0.2/', 'eth:0,@10.0.0.2/', 'local_mac', 'EINVAL'],
  ['@/,', '', 'remote_port', 'EINVAL'],
  ['@/,10.0.0.2/', '10.0.0.2/', 'remote_port', 'EINVAL'],
  ['@/,x@10.0.0.2/', 'x@10.0.0.2/', 'remote_port', 'EINVAL'],
  ['@/,70000@10.0.0.2/', '70000@10.0.0.2/', 'remote_port', 'ERANGE'],
  ['@/,-5@10.0.0.2/', '-5@10.0.0.2/', 'remote_port', 'EINVAL'],
  ['@/, 6666@10.0.0.2/', ' 6666@10.0.0.2/', 'remote_port', 'EINVAL'],
  ['@/,@', '', 'remote_ip', 'EINVAL'],
  ['@/,@10.0.0.2', '10.0.0.2', 'remote_ip', 'EINVAL'],
  ['4444@10.0.0.1/eth1,9353@10.0.0.2', '10.0.0.2', 'remote_ip', 'EINVAL'],
  ['@/,@/', '/', 'remote_ip', 'EINVAL'],
  ['@/,@host.example/', 'host.example/', 'remote_ip', 'EINVAL'],
  ['@/,@10.0.0.2\n/', '10.0.0.2\n/', 'remote_ip', 'EINVAL'],
  ['@10.0.0.1/,@fd00::1/', 'fd00::1/', 'remote_ip', 'EINVAL'],
  ['@fd00::1/,@10.0.0.2/', '10.0.0.2/', 'remote_ip', 'EINVAL'],
  ['@0.0.0.0/,@fd00::1/', 'fd00::1/', 'remote_ip', 'EINVAL'],
  ['@/,@0.0.0.0/', '0.0.0.0/', 'remote_ip', 'EDESTADDRREQ'],
  ['@/,@::/', '::/', 'remote_ip', 'EDESTADDRREQ'],
  ['@/,@10.0.0.2/12:34:56:78:9a', '12:34:56:78:9a', 'remote_mac', 'EINVAL'],
  ['@/,@10.0.0.2/12:34:56:78:9a:bcd', '12:34:56:78:9a:bcd', 'remote_mac', 'EINVAL'],
  ['@/,@10.0.0.2/12-34-56-78-9a-bc', '12-34-56-78-9a-bc', 'remote_mac', 'EINVAL'],
  ['@/,@10.0.0.2/zz:34:56:78:9a:bc', 'zz:34:56:78:9a:bc', 'remote_mac', 'EINVAL'],
  ['@/,@10.0.0.2//', '/', 'remote_mac', 'EINVAL'],
  ['@/,@10.0.0.2/ ', ' ', 'remote_mac', 'EINVAL'],
];

const GOOD_A = '@/,@10.0.0.2/';
const GOOD_B = '@/eth1,6892@10.0.0.3/';

function checkFailure(err: NetconsoleError, piece: string, rest: string, field: string, code: string): void {
  assert.ok(err instanceof NetconsoleError);
  assert.equal(err.code, code);
  // The kernel's words, then the field's own error: its name, and (for a bad value) the value and what is accepted.
  assert.ok(err.message.startsWith(`couldn't parse config at '${rest}': ${field}: `), err.message);
  if (err.cause !== undefined) assert.ok(err.message.endsWith((err.cause as Error).message), err.message);
  assert.equal(err.option, field);
  assert.equal(err.value, piece);
  assert.ok(err.accepted);
}

describe('parameter string: bad pieces', () => {
  test(`at least 40 bad pieces are listed (${badParams.length})`, () => assert.ok(badParams.length >= 40));
  for (const [piece, rest, field, code] of badParams) {
    test(`${JSON.stringify(piece)}: ${code} at ${JSON.stringify(rest)} (${field}), the pieces beside it come up`, () => {
      const { targets, errors } = parseParamString(`${GOOD_A};${piece};${GOOD_B}`);
      assert.equal(errors.length, 1);
      checkFailure(errors[0]!, piece, rest, field, code);
      assert.deepEqual(targets, [
        target('cmdline0', { remote_ip: '10.0.0.2' }),
        target('cmdline1', { dev_name: 'eth1', remote_port: 6892, remote_ip: '10.0.0.3' }),
      ]);
    });
    test(`${JSON.stringify(piece)} first: the next piece is still cmdline0`, () => {
      const { targets, errors } = parseParamString(`${piece};${GOOD_B}`);
      assert.equal(errors.length, 1);
      checkFailure(errors[0]!, piece, rest, field, code);
      assert.deepEqual(
        targets.map((t) => [t.name, t.attributes.remote_ip]),
        [['cmdline0', '10.0.0.3']],
      );
    });
  }
  test("a field's own error is the code, and is kept as the cause", () => {
    const { errors } = parseParamString('@/,70000@10.0.0.2/;@/,@0.0.0.0/;@/,@10.0.0.1x/');
    assert.deepEqual(
      errors.map((e) => [e.code, (e.cause as NetconsoleError).code]),
      [
        ['ERANGE', 'ERANGE'],
        ['EDESTADDRREQ', 'EDESTADDRREQ'],
        ['EINVAL', 'EINVAL'],
      ],
    );
  });
  test('";" alone: two empty pieces, two errors, no targets', () => {
    const { targets, errors } = parseParamString(';');
    assert.equal(targets.length, 0);
    assert.deepEqual(
      errors.map((e) => /^couldn't parse config at '': local_port: no '@' after it/.test(e.message)),
      [true, true],
    );
  });
  test('names count only the pieces that parsed', () => {
    const { targets, errors } = parseParamString(`x;${GOOD_A};y;${GOOD_B};z`);
    assert.equal(errors.length, 3);
    assert.deepEqual(
      targets.map((t) => [t.name, t.attributes.remote_ip]),
      [
        ['cmdline0', '10.0.0.2'],
        ['cmdline1', '10.0.0.3'],
      ],
    );
  });
  test('not a string: EINVAL', () => {
    const { targets, errors } = parseParamString(42 as unknown as string);
    assert.equal(targets.length, 0);
    assert.equal(errors[0]!.code, 'EINVAL');
  });
});

describe('parameter string: MAX_PARAM_LENGTH (256 with its NUL)', () => {
  test('PARAM_MAX is 255 bytes', () => assert.equal(PARAM_MAX, 255));
  // kstrtou16 takes leading zeros, so a port padded with zeros sizes a valid string exactly.
  const padded = (bytes: number, dev = ''): string => {
    const tail = `4444@/${dev},@10.0.0.2/`;
    return `${'0'.repeat(bytes - new TextEncoder().encode(tail).length)}${tail}`;
  };
  for (const [size, dev] of [
    [254, ''],
    [255, ''],
    [255, 'eth\u00e9'],
  ] as Array<[number, string]>) {
    test(`${size} bytes (dev ${JSON.stringify(dev)}): parses`, () => {
      const text = padded(size, dev);
      assert.equal(new TextEncoder().encode(text).length, size);
      const { targets, errors } = parseParamString(text);
      assert.deepEqual(errors, []);
      assert.deepEqual(targets, [target('cmdline0', { local_port: 4444, dev_name: dev, remote_ip: '10.0.0.2' })]);
    });
  }
  for (const [size, dev] of [
    [256, ''],
    [256, 'eth\u00e9'],
    [257, ''],
    [1000, ''],
  ] as Array<[number, string]>) {
    test(`${size} bytes (dev ${JSON.stringify(dev)}): one EMSGSIZE error saying the limit, no targets`, () => {
      const text = padded(size, dev);
      const { targets, errors } = parseParamString(text);
      assert.equal(targets.length, 0);
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.code, 'EMSGSIZE');
      assert.equal(errors[0]!.option, 'netconsole');
      assert.match(errors[0]!.accepted!, /^at most 255 bytes/);
    });
  }
  test('255 bytes of several pieces: all come up', () => {
    const pieces = Array.from({ length: 17 }, (_, i) => `@/,@10.0.0.${i + 1}/`);
    let text = pieces.join(';');
    text = `${'0'.repeat(255 - text.length - 1)}4${text}`;
    assert.equal(text.length, 255);
    const { targets, errors } = parseParamString(text);
    assert.deepEqual(errors, []);
    assert.equal(targets.length, 17);
    assert.equal(targets[16]!.name, 'cmdline16');
  });
});

// ---- end to end, through the public API (loopback, the dgram sender, no device events) ----

describe('end to end: Netconsole.create', () => {
  const base = { devices: 'none', sender: 'dgram', env: false } as const;
  // Port 9 (discard) on loopback; local_port 0: an ephemeral port, no clash with other tests.
  const loop = { remote_ip: '127.0.0.1', remote_port: 9, local_port: 0 };
  const isError = (code: string, message?: RegExp) => (e: unknown) =>
    e instanceof NetconsoleError && e.code === code && (message === undefined || message.test(e.message));

  const withNc = (
    options: Parameters<typeof Netconsole.create>[0],
    fn: (nc: Netconsole) => Promise<void>,
  ): Promise<void> => withNetconsole({ ...base, ...options }, fn);

  test('parameter string, strict: a port out of range rejects create() with ERANGE, "couldn\'t parse config at"', async () => {
    await assert.rejects(
      Netconsole.create({ ...base, targets: '@/,70000@127.0.0.1/', strict: true }),
      isError('ERANGE', /^couldn't parse config at '70000@127\.0\.0\.1\/': remote_port: .*70000.*; accepted: /),
    );
  });

  test('parameter string: a device name over 15 bytes is ENAMETOOLONG in startupErrors; the next piece comes up', () =>
    withNc({ targets: '0@/abcdefghijklmnop,9@127.0.0.1/;0@/,9@127.0.0.1/' }, async (nc) => {
      assert.deepEqual(
        nc.startupErrors.map((e) => [e.code, e.option]),
        [['ENAMETOOLONG', 'dev_name']],
      );
      assert.deepEqual(
        nc.targets.list().map((t) => [t.name, t.state]),
        [['cmdline0', 'enabled']],
      );
    }));

  test('an enabled target: dev_name over 15 bytes is ENAMETOOLONG (not the lock), local_mac is EACCES, nothing changes', () =>
    withNc({ targets: [{ name: 't', ...loop, enabled: 1 }] }, async (nc) => {
      const t = nc.targets.get('t')!;
      await assert.rejects(t.set('dev_name', 'abcdefghijklmnop'), isError('ENAMETOOLONG'));
      await assert.rejects(t.set('dev_name', 'eth1'), isError('EINVAL', /is enabled, disable to update parameters/));
      await assert.rejects(t.set('local_mac' as never, '02:00:00:00:00:01' as never), isError('EACCES'));
      assert.equal(t.get('dev_name'), '');
      assert.equal(t.state, 'enabled');
    }));

  test('userdata.set: 199 bytes and a newline is EMSGSIZE; the 257th entry is ENOSPC', () =>
    withNc({ targets: [{ name: 't', ...loop }] }, async (nc) => {
      const t = nc.targets.get('t')!;
      await assert.rejects(t.userdata.set('k', `${'v'.repeat(199)}\n`), isError('EMSGSIZE'));
      await t.userdata.set('k', `${'v'.repeat(198)}\n`);
      for (let i = 1; i < 256; i++) await t.userdata.set(`k${i}`, 'v');
      await assert.rejects(t.userdata.set('k256', 'v'), isError('ENOSPC'));
      assert.equal(t.userdata.entries().length, 256);
    }));

  test('256 userdata entries of the largest size at create: accepted, and enable() fits them', () =>
    withNc({}, async (nc) => {
      const userdata = Object.fromEntries(
        Array.from({ length: 256 }, (_, i) => [`${String(i).padStart(3, '0')}${'k'.repeat(50)}`, 'v'.repeat(199)]),
      );
      const t = await nc.targets.create('t', { ...loop, extended: 1, userdata });
      await t.enable();
      assert.equal(t.state, 'enabled');
    }));

  test('300 userdata entries at create: ENOSPC, and no target is left behind', () =>
    withNc({}, async (nc) => {
      const userdata = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'v']));
      await assert.rejects(nc.targets.create('t', { ...loop, userdata }), isError('ENOSPC'));
      assert.equal(nc.targets.get('t'), undefined);
    }));
});
