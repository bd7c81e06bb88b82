// The plain-TypeScript reference against the known-answer vectors, plus focused checks of each
// rule the vectors only exercise indirectly (escaping, checksum, truncation, size boundaries,
// address parsing). The WebAssembly path has its own tests.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { formatIp, formatMac, parseIp, parseMac } from '../src/base/addr.js';
import { escapeExtended, internetChecksum, onesComplementSum, referenceDatagrams } from '../src/reference/index.js';
import { canonicalRecord, canonicalTarget } from '../src/core/validate.js';
import type { WireRecord, WireTarget } from '../src/base/wire-types.js';
import { hex, unhex } from './helpers/vectors.js';

const DEFAULT_MAX_TOTAL = 8191;
const enc = new TextEncoder();
const ascii = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

function encode(record: WireRecord, target: WireTarget, maxTotal = DEFAULT_MAX_TOTAL) {
  return referenceDatagrams(canonicalRecord(record), canonicalTarget(target), maxTotal);
}

function assertEinval(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => (err as { code?: string }).code === 'EINVAL');
}

describe('reference: escapeExtended', () => {
  for (let b = 0; b < 256; b++) {
    test(`byte 0x${b.toString(16).padStart(2, '0')}`, () => {
      const escaped = b < 0x20 || b >= 0x7f || b === 0x5c;
      const want = escaped ? enc.encode(`\\x${b.toString(16).padStart(2, '0')}`) : Uint8Array.of(b);
      assert.deepEqual(escapeExtended(Uint8Array.of(b)), want);
    });
  }
  test('mixed text "tab\\there é"', () => {
    assert.equal(ascii(escapeExtended(enc.encode('tab\there é'))), 'tab\\x09here \\xc3\\xa9');
  });
});

describe('reference: checksum', () => {
  const rfc1071 = unhex('0001f203f4f5f6f7');
  test('RFC 1071 example 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2', () => {
    assert.equal(onesComplementSum(rfc1071), 0xddf2);
    assert.equal(internetChecksum(rfc1071), 0x220d);
  });
  test('odd length pads a zero low byte', () => {
    assert.equal(onesComplementSum(unhex('0102ab')), 0x0102 + 0xab00);
  });
  test('init is added and folded', () => {
    assert.equal(onesComplementSum(unhex('ffff'), 1), 1);
    assert.equal(onesComplementSum(rfc1071.subarray(4), onesComplementSum(rfc1071.subarray(0, 4))), 0xddf2);
  });
});

// Header of the record used below: `13,1,2,-` (8 bytes).
const SMALL = { prio: 13, seq: 1, tsUsec: 2 } as const;
const EXT: WireTarget = { extended: true };

describe('reference: truncation (docs/wire.md 3.4)', () => {
  // Escaped text: "ab" + 4 escapes of 4 bytes + "cd" = 20 bytes; fixed part is 1 (the `\n`).
  const text = Uint8Array.of(0x61, 0x62, 0x0a, 0xc3, 0xa9, 0x5c, 0x63, 0x64);
  const escText = escapeExtended(text);
  for (let maxTotal = 1; maxTotal <= escText.length + 2; maxTotal++) {
    test(`maxTotal ${maxTotal}`, () => {
      const { datagrams, truncated } = encode({ ...SMALL, text }, EXT, maxTotal);
      assert.equal(datagrams.length, 1);
      const msg = ascii(datagrams[0]!);
      assert.ok(msg.startsWith('13,1,2,-;'));
      const data = msg.slice('13,1,2,-;'.length);
      assert.ok(data.length <= maxTotal, `total ${data.length} > ${maxTotal}`);
      assert.ok(data.endsWith('\n'));
      const kept = data.slice(0, -1);
      assert.ok(ascii(escText).startsWith(kept), 'kept text is a prefix of the escaped text');
      assert.match(kept, /^(?:[^\\]|\\x[0-9a-f]{2})*$/, 'no escape is split');
      // The cut is the largest escape boundary that fits.
      const fits = maxTotal - 1;
      assert.ok(kept.length <= fits && kept.length > fits - 4);
      assert.equal(truncated, kept.length < escText.length);
      assert.equal(truncated, escText.length + 1 > maxTotal);
    });
  }
  test('cut in the middle of an escape: maxTotal 5 keeps "ab"', () => {
    const { datagrams, truncated } = encode({ ...SMALL, text }, EXT, 5);
    assert.equal(ascii(datagrams[0]!), '13,1,2,-;ab\n');
    assert.equal(truncated, true);
  });
  test('userdata and sysdata count against maxTotal and are never cut', () => {
    const target: WireTarget = { extended: true, userdata: [['k', 'v']], sysdata: { msgid: 7 } };
    const { datagrams, truncated } = encode({ ...SMALL, text: 'x'.repeat(100) }, target, 30);
    const data = ascii(datagrams[0]!).slice('13,1,2,-;'.length);
    assert.equal(truncated, true);
    assert.equal(data.length, 30);
    assert.ok(data.endsWith('\n k=v\n msgid=7\n'));
  });
});

describe('reference: 1000-byte boundary (docs/wire.md 3.3)', () => {
  // Extended: L = len("13,1,2,-;") + n + len("\n") = n + 10.
  for (const L of [999, 1000, 1001]) {
    test(`extended L=${L}`, () => {
      const text = 'A'.repeat(L - 10);
      const { datagrams } = encode({ ...SMALL, text }, EXT);
      if (L <= 1000) {
        assert.deepEqual(
          datagrams.map((d) => d.length),
          [L],
        );
        return;
      }
      const data = `${text}\n`;
      const sizes = datagrams.map((d) => d.length);
      assert.ok(
        sizes.slice(0, -1).every((s) => s === 1000),
        `sizes ${sizes}`,
      );
      let sent = 0;
      for (const d of datagrams) {
        const head = `13,1,2,-,ncfrag=${sent}/${data.length};`;
        const s = ascii(d);
        assert.ok(s.startsWith(head), s.slice(0, 40));
        assert.equal(s.slice(head.length), data.slice(sent, sent + d.length - head.length));
        sent += d.length - head.length;
      }
      assert.equal(sent, data.length);
    });
  }
  // Basic without timestamps: L = n + 1 (the `\n`).
  for (const L of [999, 1000, 1001]) {
    test(`basic L=${L}`, () => {
      const { datagrams } = encode({ ...SMALL, text: 'B'.repeat(L - 1) }, { extended: false, timestamps: false });
      assert.deepEqual(
        datagrams.map((d) => d.length),
        L <= 1000 ? [L] : [1000, L - 1000],
      );
    });
  }
});

describe('reference: basic targets (docs/wire.md 2)', () => {
  const basic: WireTarget = { extended: false };
  test('empty text sends nothing', () => {
    assert.deepEqual(encode({ ...SMALL, text: '' }, basic).datagrams, []);
  });
  for (const [text, want] of [
    ['one\n', '[    0.000002] one\n'],
    ['one\n\n', '[    0.000002] one\n[    0.000002] \n'],
    ['\n', '[    0.000002] \n'],
    ['a\nb', '[    0.000002] a\n[    0.000002] b\n'],
  ] as const) {
    test(`text ${JSON.stringify(text)}`, () => {
      const { datagrams } = encode({ ...SMALL, text }, basic);
      assert.deepEqual(datagrams.map(ascii), [want]);
    });
  }
  for (const [tsUsec, want] of [
    [0n, '[    0.000000] '],
    [12345678n, '[   12.345678] '],
    [123456000001n, '[123456.000001] '],
    [(1n << 64n) - 1n, '[18446744073709.551615] '],
  ] as const) {
    test(`timestamp ${tsUsec}`, () => {
      const { datagrams } = encode({ ...SMALL, tsUsec, text: 'x' }, basic);
      assert.deepEqual(datagrams.map(ascii), [`${want}x\n`]);
    });
  }
  test('extended empty text still sends the header', () => {
    assert.deepEqual(encode({ ...SMALL, text: '' }, EXT).datagrams.map(ascii), ['13,1,2,-;\n']);
  });
});

describe('addr: parseMac', () => {
  for (const text of ['12:34:56:78:9a:bc', '12:34:56:78:9A:BC', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00']) {
    test(`accepts ${text}`, () => {
      assert.equal(formatMac(parseMac('mac', text)), text.toLowerCase());
    });
  }
  for (const text of [
    '',
    '12:34:56:78:9a',
    '12:34:56:78:9a:bc:de',
    '12-34-56-78-9a-bc',
    '12:34:56:78:9a:bg',
    '1:234:56:78:9a:bc',
    ' 12:34:56:78:9a:bc',
    '12:34:56:78:9a:bc ',
    '123:4:56:78:9a:bc',
    '+1:34:56:78:9a:bc',
  ]) {
    test(`rejects ${JSON.stringify(text)} with EINVAL`, () => assertEinval(() => parseMac('mac', text)));
  }
});

describe('addr: parseIp', () => {
  for (const [text, family, bytesHex, canonical] of [
    ['192.0.2.1', 4, 'c0000201', '192.0.2.1'],
    ['0.0.0.0', 4, '00000000', '0.0.0.0'],
    ['255.255.255.255', 4, 'ffffffff', '255.255.255.255'],
    ['fc00::1', 6, 'fc000000000000000000000000000001', 'fc00::1'],
    ['::', 6, '00000000000000000000000000000000', '::'],
    ['::1', 6, '00000000000000000000000000000001', '::1'],
    ['1::', 6, '00010000000000000000000000000000', '1::'],
    ['2001:DB8:0:0:0:0:0:1', 6, '20010db8000000000000000000000001', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', 6, '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', 6, '20010000000000010000000000000001', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', 6, '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['1:2:3:4:5:6:7::', 6, '00010002000300040005000600070000', '1:2:3:4:5:6:7:0'],
    ['::ffff:1.2.3.4', 6, '00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
    ['::1.2.3.4', 6, '00000000000000000000000001020304', '::102:304'],
    ['1:2:3:4:5:6:1.2.3.4', 6, '00010002000300040005000601020304', '1:2:3:4:5:6:102:304'],
    ['0001:0002:0003:0004:0005:0006:0007:0008', 6, '00010002000300040005000600070008', '1:2:3:4:5:6:7:8'],
  ] as const) {
    test(`accepts ${text}`, () => {
      const ip = parseIp('ip', text);
      assert.equal(ip.family, family);
      assert.equal(hex(ip.bytes), bytesHex);
      assert.equal(formatIp(ip.family, ip.bytes), canonical);
      assert.ok(family === 4 ? isIPv4(text) : isIPv6(text), 'node:net agrees');
      assert.ok(family === 4 ? isIPv4(canonical) : isIPv6(canonical), 'node:net accepts the canonical form');
    });
  }
  for (const text of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.256',
    '1..3.4',
    '+1.2.3.4',
    '01.2.3.4',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.4x',
    'localhost',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7',
    '1::2::3',
    ':::',
    ':1::',
    '1:2:3:4:5:6:7:',
    'fc00::g',
    'fc00::12345',
    'fe80::1%eth0',
    '[fc00::1]',
    '::ffff:1.2.3.256',
    '::1.2.3.4:5',
    '1.2.3.4::',
    '1:2:3:4:5:6:7:1.2.3.4',
    ' ::1',
    '::1 ',
  ]) {
    test(`rejects ${JSON.stringify(text)} with EINVAL`, () => {
      assertEinval(() => parseIp('ip', text));
      // node:net accepts zone ids; we do not (a target address has no scope).
      if (!text.includes('%')) assert.ok(!isIPv4(text) && !isIPv6(text), 'node:net agrees');
    });
  }
});

describe('addr: properties', () => {
  test('IPv6 bytes -> formatIp -> parseIp round-trips and node:net accepts the text', () => {
    // Few distinct group values so that zero runs (and the :: choice) are common.
    const group = fc.constantFrom(0, 0, 0, 1, 0xffff, 0xabc);
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const bytes = new Uint8Array(16);
        groups.forEach((g, i) => bytes.set([g >> 8, g & 0xff], 2 * i));
        const text = formatIp(6, bytes);
        assert.ok(isIPv6(text), text);
        assert.equal(hex(parseIp('ip', text).bytes), hex(bytes));
        // RFC 5952: no single zero group compressed, at most one ::.
        assert.ok(text.split('::').length <= 2, text);
      }),
    );
  });
  test('parseIp accepts exactly what node:net accepts over short random strings', () => {
    const ch = fc.constantFrom(...'0123456789abcdefg:.%'.split(''));
    fc.assert(
      fc.property(fc.array(ch, { maxLength: 20 }), (chars) => {
        const text = chars.join('');
        let ours = true;
        try {
          parseIp('ip', text);
        } catch {
          ours = false;
        }
        const theirs = !text.includes('%') && (isIPv4(text) || isIPv6(text));
        assert.equal(ours, theirs, JSON.stringify(text));
      }),
      { numRuns: 20000 },
    );
  });
});

describe('reference: properties', () => {
  test('every extended datagram is at most 1000 bytes and total <= maxTotal when the fixed part fits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 40, max: 9000 }), (text, maxTotal) => {
        const target: WireTarget = { extended: true, release: '6.4.0', userdata: [['k', 'v']], sysdata: { msgid: 1 } };
        const { datagrams, truncated } = encode({ ...SMALL, text }, target, maxTotal);
        assert.ok(datagrams.every((d) => d.length <= 1000));
        const lastHead = /ncfrag=(\d+)\/(\d+);/.exec(ascii(datagrams.at(-1)!));
        const total = lastHead === null ? datagrams[0]!.length - '6.4.0,13,1,2,-;'.length : Number(lastHead[2]);
        assert.ok(total <= maxTotal);
        assert.equal(truncated, escapeExtended(text).length + 1 + ' k=v\n msgid=1\n'.length > maxTotal);
      }),
      { numRuns: 300 },
    );
  });
});
