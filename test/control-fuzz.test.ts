// Fuzzing the control socket (src/host/control.ts) with fast-check: well-formed requests with random
// fields, the same with random byte edits, random bytes, several of them in one write, and lines
// around the size limit, all sent to a live server. Whatever arrives: the server neither throws
// nor hangs, every line gets one reply that is a success or an errno-coded error with a message
// (an oversized line: EMSGSIZE, then the server hangs up), nothing is reported to the
// application, and a rejected request leaves every target exactly as it was.
//
// NETCONSOLE_CONTROL_FUZZ_RUNS sets the number of cases per property (default 1,000, a few
// seconds); run it with 20,000 for a long manual soak. NETCONSOLE_PROPERTY_SEED replays one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_REQUEST, OPS } from '../src/host/control-protocol.js';
import { Netconsole } from '../src/host/netconsole.js';
import { exchange, snapshot, socketPath, wellFormedReply } from './helpers/control.js';
import { Sink } from './helpers/udp.js';

const RUNS = Number(process.env.NETCONSOLE_CONTROL_FUZZ_RUNS ?? 1000);
const SEED = process.env.NETCONSOLE_PROPERTY_SEED ? Number(process.env.NETCONSOLE_PROPERTY_SEED) : undefined;

// ---------------------------------------------------------------- inputs

/** Paths that exist, almost exist, or are names JavaScript objects treat specially. */
const PATHS = [
  '',
  't1',
  't2',
  't1/remote_ip',
  't1/remote_port',
  't1/local_port',
  't1/enabled',
  't1/extended',
  't1/release',
  't1/dev_name',
  't1/local_mac',
  't1/transmit_errors',
  't1/ratelimit_burst',
  't1/userdata',
  't1/userdata/k',
  't1/userdata/new',
  't1/userdata/msgid_enabled',
  't1/userdata/k/deeper',
  't2/enabled',
  'nope',
  'nope/enabled',
  't1/nope',
  '__proto__',
  '__proto__/enabled',
  't1/__proto__',
  't1/constructor',
  't1/hasOwnProperty',
  't1/userdata/__proto__',
  't1/userdata/toString',
  '.',
  '..',
  '../t1',
  't1//enabled',
  '/t1/',
  't1/userdata/.',
  'é/ü',
  '\0',
  'x'.repeat(300),
];
const VALUES = [
  '',
  '0',
  '1',
  '2',
  '-1',
  '1\n',
  ' 1',
  '127.0.0.1',
  '::1',
  '10.0.0.300',
  '6666',
  '65536',
  'eth0',
  'ff:ff:ff:ff:ff:ff',
  'v',
  'a=b',
  '\0',
  'x'.repeat(250),
];

const anyJson = fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }));

type Defect =
  ['drop', 'op' | 'path' | 'value'] | ['retype', 'op' | 'path' | 'value', unknown] | ['extra', string, unknown];

const field = fc.constantFrom('op' as const, 'path' as const, 'value' as const);
const defect: fc.Arbitrary<Defect> = fc.oneof(
  fc.tuple(fc.constant('drop' as const), field),
  fc.tuple(fc.constant('retype' as const), field, anyJson),
  fc.tuple(
    fc.constant('extra' as const),
    fc.oneof(fc.constantFrom('__proto__', 'constructor', 'vaule'), fc.string({ maxLength: 6 })),
    fc.jsonValue({ maxDepth: 1 }),
  ),
);

/** One request line: a well-formed request (a value with set only), with up to 2 defects in half of them. */
const request = fc
  .record({
    op: fc.constantFrom(...OPS),
    path: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...PATHS) },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    ),
    value: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...VALUES) },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    ),
    defects: fc.oneof(fc.constant([]), fc.array(defect, { minLength: 1, maxLength: 2 })),
  })
  .map(({ op, path, value, defects }) => {
    const o: Record<string, unknown> = op === 'set' ? { op, path, value } : { op, path };
    for (const d of defects) {
      if (d[0] === 'drop') delete o[d[1]];
      // defineProperty: '__proto__' becomes a key of the JSON, not the object's prototype.
      else Object.defineProperty(o, d[1], { value: d[2], enumerable: true, configurable: true, writable: true });
    }
    return Buffer.from(`${JSON.stringify(o)}\n`);
  });

/** Bytes that matter to JSON and to the line framing, and any byte at all. */
const EDIT_BYTES = Buffer.from('{}[]":,\\ 0123456789eE.-+tfnul/\n\r\t\0');
const editByte = fc.oneof(fc.constantFrom(...EDIT_BYTES), fc.integer({ min: 0, max: 255 }));

/** A request line with 1 to 8 bytes inserted, deleted or replaced (the newline may go, or come twice). */
const mutated = fc
  .tuple(
    request,
    fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), editByte), {
      minLength: 1,
      maxLength: 8,
    }),
  )
  .map(([line, edits]) => {
    let b = [...line];
    for (const [at, how, byte] of edits) {
      const i = at % (b.length + 1);
      if (how === 'insert') b.splice(i, 0, byte);
      else if (how === 'delete') b.splice(i, 1);
      else b[Math.min(i, b.length - 1)] = byte;
    }
    if (b[b.length - 1] !== 10) b = [...b, 10];
    return Buffer.from(b);
  });

const bytes = fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.concat([Buffer.from(u), Buffer.from('\n')]));

/** A line of `size` bytes around MAX_REQUEST: a valid request padded with spaces, or filler. */
const oversized = fc
  .tuple(fc.integer({ min: MAX_REQUEST - 3, max: MAX_REQUEST + 3 }), fc.boolean())
  .map(([size, valid]) => Buffer.from(`${valid ? `{"op":"ls"${' '.repeat(size - 11)}}` : 'x'.repeat(size)}\n`));

// ---------------------------------------------------------------- the property

let nc: Netconsole;
let socket: string;
let sink: Sink;
const reported: unknown[] = [];
const codes = new Map<string, number>();
const onWarning = (w: Error & { code?: string }): void => void (w.code?.startsWith('NETCONSOLE') && reported.push(w));

/** t1 (configured, with userdata) and t2 (bare) exist again, and at most 16 others: requests keep finding something to change. */
async function baseline(): Promise<void> {
  if (!nc.targets.get('t1'))
    await nc.targets.create('t1', {
      remote_ip: '127.0.0.1',
      remote_port: sink.port,
      local_port: 0,
      userdata: { k: 'v' },
    });
  if (!nc.targets.get('t2')) await nc.targets.create('t2');
  for (const t of nc.targets.list().slice(18)) await t.remove();
}

/** Sends `payload` (lines ending in '\n') in one write; checks the replies and, if every line was refused, that nothing changed. */
async function serves(payload: Buffer): Promise<void> {
  await baseline();
  const lines = payload.reduce((n, b) => n + (b === 10 ? 1 : 0), 0);
  const stateBefore = snapshot(nc);
  const { replies, hungUp } = await exchange(socket, payload, lines);
  for (const r of replies) {
    assert.ok(wellFormedReply(r), `not a reply: ${JSON.stringify(r)}`);
    const code = r.ok ? 'ok' : r.code!;
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  const last = replies.at(-1) as { code?: string } | undefined;
  if (replies.length < lines || hungUp)
    assert.equal(last?.code, 'EMSGSIZE', `${replies.length} replies to ${lines} lines, then a hang-up`);
  assert.ok(replies.length <= lines);
  if (replies.every((r) => (r as { ok: boolean }).ok === false))
    assert.deepEqual(snapshot(nc), stateBefore, 'a rejected request changed a target');
  assert.deepEqual(reported, [], 'the server reported a failure to the application');
}

describe('fuzz: the control socket', () => {
  before(async () => {
    socket = socketPath();
    sink = await Sink.open();
    nc = await Netconsole.create({ devices: 'none', env: false, control: socket });
    nc.events.on('error', (err: unknown) => reported.push(err));
    process.on('warning', onWarning);
  });
  after(async () => {
    process.off('warning', onWarning);
    await nc.close();
    await sink.close();
  });

  for (const [label, payload, runs] of [
    ['well-formed requests with random fields', request, RUNS],
    ['requests with random byte edits', mutated, RUNS],
    ['random bytes', bytes, RUNS],
    [
      '1 to 6 of those in one write',
      fc.array(fc.oneof(request, mutated, bytes), { minLength: 1, maxLength: 6 }).map((b) => Buffer.concat(b)),
      RUNS,
    ],
    [
      `lines of ${MAX_REQUEST - 3}..${MAX_REQUEST + 3} bytes after a request`,
      fc.tuple(request, oversized).map((b) => Buffer.concat(b)),
      Math.max(10, RUNS / 10),
    ],
  ] as const) {
    test(`${runs} runs of ${label}: one well-formed reply per line, no report, a refused request changes nothing`, async (t) => {
      await fc.assert(fc.asyncProperty(payload as fc.Arbitrary<Buffer>, serves), { numRuns: runs, seed: SEED });
      t.diagnostic(
        `replies so far: ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])))}; targets now: ${nc.targets.list().length}`,
      );
    });
  }
});
