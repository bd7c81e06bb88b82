// One test per rule of src/receiver/ncrx-parse.ts, fragments.ts and seq-window.ts (N1..N19): what
// netconsd's libncrx accepts and what it refuses (N19, a restarted sender, is ours), with the
// exact line `netconsole listen` prints (formatMessage, the source left out). Each case is fed to a Reassembler of its own, as if from
// its own source. A refused datagram is printed as it came: a legacy line, `text` only.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMessage, MAX_DATAGRAM, Reassembler, type Message } from '../src/receiver/receiver.js';
import { OOS_INTERVAL_MS, SEQ_WINDOW, SeqWindow, STREAMS_KEPT } from '../src/receiver/seq-window.js';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Feeds the datagrams, flushes what is pending; returns the messages and the lines printed (no source). */
function feed(datagrams: Array<string | Buffer>): { messages: Message[]; lines: string[] } {
  const r = new Reassembler({ fragmentTimeoutMs: 60_000 });
  const messages: Message[] = [];
  r.on('message', (m: Message) => messages.push(m));
  r.on('gap', () => {});
  for (const d of datagrams) r.push(typeof d === 'string' ? B(d) : d, 'src:1');
  r.flushPending();
  return { messages, lines: messages.map((m) => formatMessage(m).slice('src:1 '.length)) };
}

interface Case {
  name: string;
  in: Array<string | Buffer>;
  /** The lines printed; a refused datagram prints as it came. */
  out: string[];
  /** Fields of the first message, where the rule is about them. */
  fields?: Partial<Message>;
}

function rule(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases) {
      test(`${c.name}: ${JSON.stringify(c.in.map((d) => (typeof d === 'string' ? d : `<${d.length} bytes>`)))} prints ${JSON.stringify(c.out)}`, () => {
        const { messages, lines } = feed(c.in);
        assert.deepEqual(lines, c.out);
        if (c.fields) {
          const m = messages[0] as unknown as Record<string, unknown>;
          for (const [k, v] of Object.entries(c.fields)) assert.deepEqual(m[k], v, k);
        }
      });
    }
  });
}

const A1023 = `6,1,0,-;${'A'.repeat(MAX_DATAGRAM - 8)}`;

rule('N1 (listener.c RCVBUF_SIZE): bytes past 1,023 are lost', [
  { name: 'legacy, 1,500 bytes', in: [Buffer.alloc(1500, 0x62)], out: ['b'.repeat(1023)] },
  { name: 'extended, exactly 1,023 bytes: whole', in: [A1023], out: [`<6>1 ${'A'.repeat(1015)}`] },
  { name: 'extended, 1,024 bytes: the last one lost', in: [`${A1023}Z`], out: [`<6>1 ${'A'.repeat(1015)}`] },
]);

rule('N2 (consume_msgbuf, strchr/strlen, %s): a datagram is a C string, cut at its first NUL', [
  { name: 'legacy', in: ['abc\0def'], out: ['abc'] },
  { name: 'extended text', in: ['6,1,0,-;hello\0world'], out: ['<6>1 hello'] },
  { name: 'a NUL in the header leaves no ";": legacy', in: ['6,1,0\0,-;x'], out: ['6,1,0'] },
  {
    name: 'a NUL inside a fragment shortens it: ncfrag=0/4 with "ab\\0d" is 2 bytes of 4, incomplete',
    in: ['6,1,0,-,ncfrag=0/4;ab\0d'],
    out: ['<6>1 [incomplete] ab'],
  },
]);

rule('N3 (parse_packet strchr ";"): without a ";" a datagram is a legacy line', [
  { name: 'text', in: ['no semicolon at all'], out: ['no semicolon at all'] },
  { name: 'a header alone', in: ['6,1,2,-'], out: ['6,1,2,-'] },
  { name: 'empty', in: [''], out: [''] },
  { name: 'a basic console line', in: ['[   12.345678] eth0: link up\n'], out: ['[   12.345678] eth0: link up\n'] },
]);

rule('N4 (release_prepended): a "." before the first "," within 64 bytes makes the first field a release', [
  {
    name: 'a release',
    in: ['6.4.0,6,444,501151268,-;started'],
    out: ['<6>444 started'],
    fields: { release: '6.4.0', level: 6, facility: 0, tsUsec: '501151268' },
  },
  { name: 'a release and nothing else: prio 0', in: ['5.10,;x'], out: ['<0>0 x'], fields: { release: '5.10' } },
  { name: 'a "," first: no release; seq "1.5" is refused', in: ['6,1.5,2,-;x'], out: ['6,1.5,2,-;x'] },
  {
    name: 'the "," past 64 bytes: no release; the release is then the priority, refused',
    in: [`${'6.'.repeat(32)}x,6,1,2,-;x`],
    out: [`${'6.'.repeat(32)}x,6,1,2,-;x`],
  },
  {
    name: 'a "." only in a later field: no release',
    in: ['6,1,2,-,k=v.w;x'],
    out: ['<6>1 x'],
    fields: { release: undefined },
  },
]);

rule('N5 (parse_packet case 1): the priority is strtoul(field, 0) of the whole field, at most 255', [
  { name: 'hex', in: ['0x0e,1,2,-;hex'], out: ['<6>1 hex'], fields: { facility: 1, level: 6 } },
  { name: 'octal', in: ['010,1,2,-;oct'], out: ['<0>1 oct'], fields: { facility: 1, level: 0 } },
  { name: 'a leading space', in: [' 6,1,2,-;lead'], out: ['<6>1 lead'] },
  { name: 'a sign', in: ['+6,1,2,-;plus'], out: ['<6>1 plus'] },
  { name: '-0', in: ['-0,1,2,-;zero'], out: ['<0>1 zero'] },
  { name: '255: facility 31', in: ['255,1,2,-;max'], out: ['<7>1 max'], fields: { facility: 31, level: 7 } },
  {
    name: '"12;text", the header a priority alone',
    in: ['12;text'],
    out: ['<4>0 text'],
    fields: { facility: 1, level: 4, seq: '0', tsUsec: '0' },
  },
  { name: '256 refused', in: ['256,1,2,-;x'], out: ['256,1,2,-;x'] },
  { name: '-1 (ULONG_MAX) refused', in: ['-1,1,2,-;x'], out: ['-1,1,2,-;x'] },
  { name: 'a trailing space refused', in: ['6 ,1,2,-;x'], out: ['6 ,1,2,-;x'] },
  { name: '08 (not octal) refused', in: ['08,1,2,-;x'], out: ['08,1,2,-;x'] },
  { name: '0x without a digit refused', in: ['0x,1,2,-;x'], out: ['0x,1,2,-;x'] },
  { name: 'a word refused', in: ['not,a,header,-;text\n'], out: ['not,a,header,-;text\n'] },
]);

rule('N6 (parse_packet cases 2, 3): seq and timestamp are strtoull(field, 0), any 64-bit value', [
  { name: 'hex', in: ['6,0x10,0x20,-;x'], out: ['<6>16 x'], fields: { seq: '16', tsUsec: '32' } },
  { name: 'octal', in: ['6,010,017,-;x'], out: ['<6>8 x'], fields: { tsUsec: '15' } },
  { name: 'a negative seq wraps modulo 2^64', in: ['6,-1,2,-;x'], out: ['<6>18446744073709551615 x'] },
  {
    name: 'too large saturates at 2^64 - 1',
    in: ['6,1,99999999999999999999999,-;x'],
    out: ['<6>1 x'],
    fields: { tsUsec: '18446744073709551615' },
  },
  { name: 'a leading space', in: ['6, 7,\t8,-;x'], out: ['<6>7 x'], fields: { tsUsec: '8' } },
  { name: '"1x" refused', in: ['6,1x,2,-;x'], out: ['6,1x,2,-;x'] },
  { name: 'a trailing space refused', in: ['6,1,2 ,-;x'], out: ['6,1,2 ,-;x'] },
  { name: 'a decimal point refused', in: ['6,1,2.5,-;x'], out: ['6,1,2.5,-;x'] },
]);

rule(
  'N7 (parse_packet case 4): the flag is its first character: "c" starts a continued message, "+" continues one, anything else is neither',
  [
    { name: 'c', in: ['6,1,2,c;x'], out: ['<6>1 x'], fields: { cont: true, continuation: undefined } },
    { name: '+', in: ['6,1,2,+;x'], out: ['<6>1 x'], fields: { cont: false, continuation: true } },
    { name: '-', in: ['6,1,2,-;x'], out: ['<6>1 x'], fields: { cont: false, continuation: undefined } },
    { name: '"cfoo"', in: ['6,1,2,cfoo;x'], out: ['<6>1 x'], fields: { cont: true } },
    {
      name: '"xyz" is accepted, neither',
      in: ['6,1,2,xyz;x'],
      out: ['<6>1 x'],
      fields: { cont: false, continuation: undefined },
    },
    { name: 'empty', in: ['6,1,2,;x'], out: ['<6>1 x'], fields: { cont: false } },
  ],
);

rule('N8 (the strsep loop): a short header leaves the missing fields at zero', [
  { name: 'no flag', in: ['6,1,1000;a'], out: ['<6>1 a'], fields: { tsUsec: '1000', cont: false } },
  { name: 'a priority only', in: ['6;b'], out: ['<6>0 b'], fields: { seq: '0', tsUsec: '0' } },
  { name: 'nothing before ";"', in: [';x'], out: ['<0>0 x'], fields: { facility: 0 } },
  { name: '";" alone', in: [';'], out: ['<0>0 '] },
  { name: 'empty fields', in: [',;x'], out: ['<0>0 x'] },
  { name: 'a ";" first, then what looks like a header', in: [';6,1,2,-'], out: ['<0>0 6,1,2,-'] },
]);

rule('N9 (the KEY=VAL loop): fields without "=" are skipped, unknown keys ignored', [
  { name: 'an unknown key', in: ['6,1,2,-,foo=bar;x'], out: ['<6>1 x'] },
  { name: 'no "="', in: ['6,1,2,-,noequals;x'], out: ['<6>1 x'] },
  { name: 'an empty key', in: ['6,1,2,-,=;x'], out: ['<6>1 x'] },
  {
    name: '" ncfrag" (a space) is another key: the datagram is a whole message',
    in: ['6,1,2,-, ncfrag=0/9;ab'],
    out: ['<6>1 ab'],
  },
  { name: 'NCFRAG is another key', in: ['6,1,2,-,NCFRAG=0/9;ab'], out: ['<6>1 ab'] },
  { name: 'ncfrag in the flag position is the flag', in: ['6,1,2,ncfrag=0/9;ab'], out: ['<6>1 ab'] },
]);

rule('N10 (sscanf "%u/%u" == 2): ncfrag is two decimal numbers around a "/"', [
  { name: 'plain', in: ['6,1,0,-,ncfrag=0/5;abcde'], out: ['<6>1 abcde'] },
  { name: 'white space before each number', in: ['6,1,0,-,ncfrag= 0/ 5;abcde'], out: ['<6>1 abcde'] },
  { name: 'a sign', in: ['6,1,0,-,ncfrag=+0/+5;abcde'], out: ['<6>1 abcde'] },
  { name: 'anything after the second number is ignored', in: ['6,1,0,-,ncfrag=0/5xyz=7;abcde'], out: ['<6>1 abcde'] },
  { name: '2^32 wraps to 0 (unsigned int)', in: ['6,1,0,-,ncfrag=4294967296/5;abcde'], out: ['<6>1 abcde'] },
  {
    name: '-4294967291 wraps to 5',
    in: ['6,1,0,-,ncfrag=-4294967291/10;fghij', '6,1,0,-,ncfrag=0/10;abcde'],
    out: ['<6>1 abcdefghij'],
  },
  { name: 'not numbers refused', in: ['6,1,0,-,ncfrag=x/5;abcde'], out: ['6,1,0,-,ncfrag=x/5;abcde'] },
  {
    name: 'hex refused (0, then "x" is not "/")',
    in: ['6,1,0,-,ncfrag=0x0/5;abcde'],
    out: ['6,1,0,-,ncfrag=0x0/5;abcde'],
  },
  { name: 'a space before "/" refused', in: ['6,1,0,-,ncfrag=0 /5;abcde'], out: ['6,1,0,-,ncfrag=0 /5;abcde'] },
  { name: 'one number refused', in: ['6,1,0,-,ncfrag=0/;abcde'], out: ['6,1,0,-,ncfrag=0/;abcde'] },
  { name: 'empty refused', in: ['6,1,0,-,ncfrag=;abcde'], out: ['6,1,0,-,ncfrag=;abcde'] },
  { name: '"1e3/5000" refused', in: ['6,1,0,-,ncfrag=1e3/5000;abcde'], out: ['6,1,0,-,ncfrag=1e3/5000;abcde'] },
]);

rule(
  'N11 (parse_packet ncfrag checks): refused when empty, total >= 8192, offset >= total, or offset + length > total',
  [
    {
      name: 'offset + length past the total (5/10 with 10 bytes)',
      in: ['6,1,0,-,ncfrag=5/10;0123456789'],
      out: ['6,1,0,-,ncfrag=5/10;0123456789'],
    },
    { name: 'an empty fragment', in: ['6,1,0,-,ncfrag=0/10;'], out: ['6,1,0,-,ncfrag=0/10;'] },
    { name: 'offset = total', in: ['6,1,0,-,ncfrag=10/10;x'], out: ['6,1,0,-,ncfrag=10/10;x'] },
    { name: 'total 0', in: ['6,1,0,-,ncfrag=0/0;x'], out: ['6,1,0,-,ncfrag=0/0;x'] },
    { name: 'total 8192', in: ['6,1,0,-,ncfrag=0/8192;x'], out: ['6,1,0,-,ncfrag=0/8192;x'] },
    { name: 'total 8191 accepted (incomplete here)', in: ['6,1,0,-,ncfrag=0/8191;x'], out: ['<6>1 [incomplete] x'] },
    {
      name: 'the last byte exactly',
      in: ['6,1,0,-,ncfrag=9/10;9', '6,1,0,-,ncfrag=0/10;012345678'],
      out: ['<6>1 0123456789'],
    },
  ],
);

rule('N12 (is_frag_seen): a second ncfrag is refused', [
  { name: 'twice', in: ['6,1,0,-,ncfrag=0/2,ncfrag=0/2;ab'], out: ['6,1,0,-,ncfrag=0/2,ncfrag=0/2;ab'] },
]);

rule('N13 (parse_packet ncemg): ncemg is one whole strtoul number, given once', [
  { name: 'a number', in: ['6,1,0,-,ncemg=1;x'], out: ['<6>1 x'] },
  { name: 'hex', in: ['6,1,0,-,ncemg=0x1;x'], out: ['<6>1 x'] },
  { name: 'empty (0)', in: ['6,1,0,-,ncemg=;x'], out: ['<6>1 x'] },
  { name: 'a word refused', in: ['6,1,0,-,ncemg=yes;x'], out: ['6,1,0,-,ncemg=yes;x'] },
  { name: 'twice refused', in: ['6,1,0,-,ncemg=1,ncemg=1;x'], out: ['6,1,0,-,ncemg=1,ncemg=1;x'] },
]);

rule(
  'N14 (parse_packet, terminate_msg_and_dict): the text is after the first ";" up to the first newline; the dictionary follows',
  [
    {
      name: 'a dictionary',
      in: ['6,1,0,-;line one\n SUBSYSTEM=net\n DEVICE=n1\n'],
      out: ['<6>1 line one'],
      fields: { dict: { SUBSYSTEM: 'net', DEVICE: 'n1' } },
    },
    { name: 'a ";" in the text', in: ['6,1,0,-;a;b'], out: ['<6>1 a;b'] },
    {
      name: 'escapes are undone (netconsd prints them as they are)',
      in: ['6,1,0,-;tab\\x09 nl\\x0a \\xc3\\xa9'],
      out: ['<6>1 tab\t nl\n é'],
    },
  ],
);

rule(
  'N15 (ncrx_queue_payload): fragments of a message share source and seq; the first sizes the buffer; a later one that does not fit is refused; the first copy of a byte wins',
  [
    { name: 'out of order', in: ['6,1,0,-,ncfrag=5/10;56789', '6,1,0,-,ncfrag=0/10;01234'], out: ['<6>1 0123456789'] },
    {
      name: 'a later fragment with another total that fits is merged',
      in: ['6,1,0,-,ncfrag=0/10;01234', '6,1,0,-,ncfrag=5/20;56789'],
      out: ['<6>1 0123456789'],
    },
    {
      name: 'a later fragment past the first total is printed as it came',
      in: ['6,1,0,-,ncfrag=0/10;01234', '6,1,0,-,ncfrag=8/20;89abc'],
      out: ['6,1,0,-,ncfrag=8/20;89abc', '<6>1 [incomplete] 01234'],
    },
    {
      name: 'overlapping fragments with other bytes: the first wins',
      in: ['6,1,0,-,ncfrag=0/6;abcd', '6,1,0,-,ncfrag=2/6;XXef'],
      out: ['<6>1 abcdef'],
    },
    {
      name: 'the same seq written in hex is the same message',
      in: ['6,16,0,-,ncfrag=0/4;ab', '6,0x10,0,-,ncfrag=2/4;cd'],
      out: ['<6>16 abcd'],
    },
    {
      name: 'the header of the first fragment counts',
      in: ['3,1,0,-,ncfrag=0/4;ab', '6,1,0,-,ncfrag=2/4;cd'],
      out: ['<3>1 abcd'],
    },
  ],
);

rule('N16 (ncrx_queue_payload, get_seq_slot ENOENT): a datagram for a seq already received is dropped', [
  { name: 'the same datagram twice', in: ['6,1,0,-;once', '6,1,0,-;once'], out: ['<6>1 once'] },
  { name: 'another text with the same seq', in: ['6,1,0,-;first', '6,1,0,-;second'], out: ['<6>1 first'] },
  {
    name: 'a fragment again after its message completed',
    in: ['6,1,0,-,ncfrag=0/4;ab', '6,1,0,-,ncfrag=2/4;cd', '6,1,0,-,ncfrag=2/4;cd'],
    out: ['<6>1 abcd'],
  },
  {
    name: 'a whole message with the seq of one being reassembled',
    in: ['6,1,0,-,ncfrag=0/4;ab', '6,1,0,-;whole', '6,1,0,-,ncfrag=2/4;cd'],
    out: ['<6>1 abcd'],
  },
  { name: 'a legacy line twice is printed twice (no seq)', in: ['plain', 'plain'], out: ['plain', 'plain'] },
]);

rule('N17 (ncrx_process timeout, printer %s): an incomplete message prints the text before its first missing byte', [
  {
    name: 'a hole in the middle',
    in: ['6,1,0,-,ncfrag=0/12;abc', '6,1,0,-,ncfrag=6/12;ghijkl'],
    out: ['<6>1 [incomplete] abc'],
  },
  { name: 'the first bytes missing: no text', in: ['6,1,0,-,ncfrag=3/6;def'], out: ['<6>1 [incomplete] '] },
  {
    name: 'the dictionary after the hole is lost',
    in: ['6,1,0,-,ncfrag=0/20;text', '6,1,0,-,ncfrag=10/20;\n K=v\n'],
    out: ['<6>1 [incomplete] text'],
    fields: { dict: {} },
  },
]);

describe(`N18 (get_seq_slot ERANGE, queue_oos_msg): a repeat older than ${OOS_INTERVAL_MS} ms is out of sequence; 19 of 32 reset the stream`, () => {
  test(`a repeat: a duplicate within ${OOS_INTERVAL_MS} ms, out of sequence after (SeqWindow with given times)`, () => {
    const w = new SeqWindow();
    assert.deepEqual(w.see(5n, 1000), { kind: 'new' });
    assert.deepEqual(w.see(5n, 1000 + OOS_INTERVAL_MS - 1), { kind: 'duplicate' });
    assert.deepEqual(w.see(5n, 1000 + OOS_INTERVAL_MS), { kind: 'oos' });
    assert.deepEqual(w.see(3n, 1000), { kind: 'late' });
    assert.deepEqual(w.see(8n, 1000), { kind: 'new', gapFrom: 6n });
  });

  test('a sender that restarts at the seqs it sent before (a fixed seqStart), after 5 s: 18 stale repeats out of sequence, the 19th resets the stream, then in sequence', () => {
    const w = new SeqWindow();
    for (let seq = 1n; seq <= 40n; seq++) w.see(seq, 0);
    const kinds = [];
    for (let seq = 1n; seq <= 21n; seq++) kinds.push(w.see(seq, OOS_INTERVAL_MS + 1).kind);
    assert.deepEqual(kinds, [...Array<string>(18).fill('oos'), 'reset', 'new', 'new']);
  });
});

describe(`N19 (ours, not libncrx: seq-window.ts): more than ${SEQ_WINDOW} from the highest seq, forward or back, is a restarted sender: a new stream at once, not out of sequence`, () => {
  rule('a new stream (printed unflagged)', [
    {
      name: `a jump of ${SEQ_WINDOW + 1}`,
      in: ['6,1,0,-;a', `6,${SEQ_WINDOW + 2},0,-;b`],
      out: ['<6>1 a', `<6>${SEQ_WINDOW + 2} b`],
    },
    {
      name: `${SEQ_WINDOW} back`,
      in: [`6,${SEQ_WINDOW + 1},0,-;a`, '6,1,0,-;b'],
      out: [`<6>${SEQ_WINDOW + 1} a`, '<6>1 b'],
    },
    {
      name: `a jump of ${SEQ_WINDOW}: a gap, in sequence`,
      in: ['6,1,0,-;a', `6,${SEQ_WINDOW + 1},0,-;b`],
      out: ['<6>1 a', `<6>${SEQ_WINDOW + 1} b`],
    },
  ]);

  test("a source that restarts its sequence (a reboot: back to 0; seqStart 'time': far ahead): every message of the new stream in sequence, one restart event, no gap", () => {
    for (const restartAt of [0, 1_765_000_000_000_000]) {
      const r = new Reassembler();
      const messages: Message[] = [];
      const gaps: unknown[] = [];
      const restarts: unknown[] = [];
      r.on('message', (m: Message) => messages.push(m));
      r.on('gap', (g) => gaps.push(g));
      r.on('restart', (e) => restarts.push(e));
      r.push(B('6,100000,0,-;before'), 's:1');
      for (let i = 0; i < 25; i++) r.push(B(`6,${restartAt + i},0,-;after ${i}`), 's:1');
      assert.deepEqual(
        messages.map((m) => m.oos ?? false),
        Array<boolean>(26).fill(false),
      );
      assert.deepEqual(gaps, []);
      assert.deepEqual(restarts, [{ source: 's:1', from: '100000', to: String(restartAt) }]);
      assert.deepEqual([r.counters.oos, r.counters.restarts], [0, 1]);
    }
  });

  test('within the new stream the rules stand: a gap is reported, a late seq printed, a repeat dropped, a repeat after 5 s out of sequence', () => {
    const r = new Reassembler();
    const got: string[] = [];
    r.on('message', (m: Message) => got.push(formatMessage(m).slice('s:1 '.length)));
    r.on('gap', (g: { expected: string; got: string }) => got.push(`gap ${g.expected}..${g.got}`));
    r.on('restart', (e: { from: string; to: string }) => got.push(`restart ${e.from}->${e.to}`));
    for (const seq of [100, 101, 5000, 5002, 5001, 5002]) r.push(B(`6,${seq},0,-;m`), 's:1');
    assert.deepEqual(got, [
      '<6>100 m',
      '<6>101 m',
      'restart 101->5000',
      '<6>5000 m',
      'gap 5001..5002',
      '<6>5002 m',
      '<6>5001 m',
    ]);
    const w = new SeqWindow();
    assert.deepEqual(
      [w.see(100n, 0), w.see(5000n, 0), w.see(5000n, OOS_INTERVAL_MS)],
      [{ kind: 'new' }, { kind: 'restart', from: 100n }, { kind: 'oos' }],
    );
  });

  test('two streams interleaved behind one address and port (two processes on local_port 6665): each keeps its own window, one restart, gaps per stream', () => {
    const r = new Reassembler();
    const gaps: Array<{ expected: string; got: string }> = [];
    let messages = 0;
    r.on('message', () => messages++);
    r.on('gap', (g: { expected: string; got: string }) => gaps.push(g));
    const T = 1_765_000_000_000_000;
    for (let i = 0; i < 50; i++) {
      if (i !== 30) r.push(B(`6,${1000 + i},0,-;kernel`), 's:1'); // 1030 lost
      r.push(B(`6,${T + i},0,-;app`), 's:1');
    }
    assert.equal(messages, 99);
    assert.deepEqual([r.counters.restarts, r.counters.oos, r.counters.duplicates], [1, 0, 0]);
    assert.deepEqual(
      gaps.map((g) => `${g.expected}..${g.got}`),
      ['1030..1031'],
    );
  });

  test(`a third stream: the oldest of the ${STREAMS_KEPT} kept is forgotten`, () => {
    const w = new SeqWindow();
    assert.deepEqual(
      [w.see(1000n, 0), w.see(1_000_000n, 0), w.see(2_000_000n, 0)].map((v) => v.kind),
      ['new', 'restart', 'restart'],
    );
    assert.deepEqual(w.see(1_000_001n, 0), { kind: 'new' }, 'the one it left');
    assert.deepEqual(w.see(1001n, 0), { kind: 'restart', from: 1_000_001n }, 'forgotten: a new stream again');
  });
});
