// Fuzzing the configuration doors: Netconsole.create's option object (every option good or bad,
// unknown names: the call is taken exactly when every part is good), the parameter string, and
// attribute and userdata writes (a rejection is a typed error and changes nothing; a write that
// is taken reads back). NETCONSOLE_FUZZ_RUNS sets the cases per property (default 300);
// NETCONSOLE_FUZZ_SEED replays a run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { parseParamString } from '../src/config/params.js';
import { Netconsole, NetconsoleError, type AttributeName, type Target } from '../src/index.js';
import { native } from '../src/core/native.js';
import { describeParts, FUZZ, mostly, parts, TIMEOUT, type Part } from './helpers/fuzz-parts.js';

const good = (...values: unknown[]): fc.Arbitrary<Part> => parts(fc.constantFrom(...values));
const bad = (...values: unknown[]): fc.Arbitrary<Part> => parts(fc.constantFrom(...values), false);
const intIn = (lo: number, hi: number): fc.Arbitrary<Part> => parts(fc.integer({ min: lo, max: hi }));

/** Every option with values it takes and values it refuses (the oracle of the first property). */
const OPTIONS: Record<string, fc.Arbitrary<Part>> = {
  facility: mostly(intIn(0, 23), bad(24, -1, 1.5, '1', null, 2 ** 40)),
  ringSize: mostly(good(1 << 16, 1 << 17, 1 << 20), bad(1000, 3 << 16, 2 ** 29, '4M', -65536)),
  maxTotal: mostly(intIn(1, 65532), bad(0, 65533, 2 ** 32 + 100, NaN, '8191')),
  seqStart: mostly(fc.oneof(good('time'), intIn(0, 2 ** 40)), bad('abc', -1, 2 ** 60, 1.5, null)),
  sender: mostly(native ? good('dgram', 'auto', 'native') : good('dgram', 'auto'), bad('fast', 1, '')),
  mode: mostly(good('udp', 'auto'), bad('tcp', 'UDP')),
  devices: mostly(good('none'), bad('all', true)),
  pollIntervalMs: mostly(intIn(10, 60_000), bad(0, 9, 1e9, 'x')),
  overflow: mostly(good('wait', 'drop'), bad('block', 0)),
  overflowWaitMs: mostly(intIn(0, 60_000), bad(-1, 1e9, NaN, 1.5)),
  sendBufferBytes: mostly(intIn(1024, 1 << 22), bad(10, 2 ** 31, '4M')),
  reportLosses: mostly(good(true, false), bad(0, 'no')),
  signals: mostly(
    good(true, false, [], ['SIGTERM'], ['SIGHUP', 'SIGINT']),
    bad('SIGTERM', ['SIGKILL'], ['sigterm'], 1),
  ),
  exitDrainMs: mostly(intIn(0, 60_000), bad(-1, 60_001, 1.5, '1000')),
  ackWaitMs: mostly(intIn(0, 60_000), bad(-1, 60_001, 1.5, '2000')),
  oopsOnly: mostly(good(true, false), bad(1, 'no')),
  strict: mostly(good(true, false), bad('yes')),
  nativeSender: mostly(
    parts(fc.record({ batch: fc.integer({ min: 1, max: 1024 }) })),
    bad({ batch: 0 }, { btach: 1 }, { wake: 'never' }, 'fast'),
  ),
};

/** The parts of one option object: a few options, sometimes an unknown name. */
const optionObject = fc
  .tuple(
    fc.subarray(Object.keys(OPTIONS), { maxLength: 6 }),
    fc.boolean(),
    fc.constantFrom('ringsize', 'colour', 'overfow', '__proto__x', 'Targets'),
  )
  .chain(([keys, unknown, name]) =>
    fc.record(
      Object.fromEntries([...keys.map((k) => [k, OPTIONS[k]] as const), ...(unknown ? [[name, bad(1)] as const] : [])]),
    ),
  );

function holdings(): string {
  return JSON.stringify({
    threads: readdirSync('/proc/self/task').length,
    fds: readdirSync('/proc/self/fd').length,
    exit: process.listenerCount('exit'),
    term: process.listenerCount('SIGTERM'),
  });
}

describe('fuzz: configuration', () => {
  test(
    `Netconsole.create's options: taken exactly when every option is good; refused with a typed error naming it; nothing left (${FUZZ.numRuns} cases)`,
    TIMEOUT,
    async () => {
      await new Promise((r) => setTimeout(r, 50));
      const before = holdings();
      await fc.assert(
        fc.asyncProperty(optionObject, async (f) => {
          const opts = {
            env: false,
            devices: 'none',
            ...Object.fromEntries(Object.entries(f).map(([k, p]) => [k, p.make()])),
          };
          const wanted = Object.values(f).every((p) => p.ok);
          let nc: Netconsole | null = null;
          let err: unknown = null;
          try {
            nc = await Netconsole.create(opts as never);
          } catch (e) {
            err = e;
          }
          await nc?.close();
          if (wanted) assert.equal(err, null, `${describeParts(f)}: refused: ${String(err)}`);
          else {
            assert.ok(
              err instanceof NetconsoleError,
              `${describeParts(f)}: ${err === null ? 'taken' : `a raw error: ${String(err)}`}`,
            );
            assert.ok(err.option && /^E[A-Z]+$/.test(err.code) && err.accepted, err.message);
          }
        }),
        FUZZ,
      );
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(holdings(), before, 'no thread, descriptor or exit listener left');
    },
  );

  test(
    `the parameter string: never a raw error; every piece either a target or a typed error at its place (${FUZZ.numRuns * 10} cases)`,
    TIMEOUT,
    () => {
      const piece = fc.oneof(
        fc.constantFrom(
          '@/,6666@127.0.0.1/',
          '+@/,@10.0.0.2/',
          'r@/,@10.0.0.2/',
          '4444@10.0.0.1/eth1,9353@10.0.0.2/12:34:56:78:9a:bc',
          '+r@/,@fd00::1/',
          '@/12:34:56:78:9a:bc,@10.0.0.2/',
        ),
        fc.string({
          unit: fc.constantFrom(
            '+',
            'r',
            '@',
            '/',
            ',',
            ':',
            '.',
            ';',
            '0',
            '1',
            '6',
            '9',
            'a',
            'f',
            'x',
            ' ',
            '\n',
            'é',
          ),
          maxLength: 60,
        }),
        fc.string({ maxLength: 40 }),
      );
      const mutate = fc
        .tuple(piece, fc.nat(), fc.string({ maxLength: 3 }))
        .map(
          ([p, at, ins]) =>
            p.slice(0, at % (p.length + 1)) + ins + p.slice((at % (p.length + 1)) + (ins.length ? 1 : 0)),
        );
      fc.assert(
        fc.property(fc.array(fc.oneof(piece, mutate), { maxLength: 4 }), (pieces) => {
          const text = pieces.join(';');
          const r = parseParamString(text);
          for (const e of r.errors) {
            assert.ok(
              e instanceof NetconsoleError && /^E[A-Z]+$/.test(e.code),
              `a raw error for ${JSON.stringify(text)}: ${String(e)}`,
            );
          }
          for (const t of r.targets) assert.match(t.name, /^cmdline\d+$/);
        }),
        { ...FUZZ, numRuns: FUZZ.numRuns * 10 },
      );
    },
  );

  test(
    `attribute and userdata writes: refused with a typed error and nothing changed, or taken and read back (${FUZZ.numRuns} cases)`,
    TIMEOUT,
    async () => {
      const nc = await Netconsole.create({ env: false, devices: 'none', sender: 'dgram' });
      try {
        // Names beyond the typed ones ('nope', '__proto__', the toggles): the run-time checks.
        const attrs: Array<AttributeName | 'nope' | '__proto__' | 'cpu_nr_enabled' | 'msgid_enabled'> = [
          'enabled',
          'extended',
          'timestamps',
          'release',
          'dev_name',
          'local_port',
          'remote_port',
          'local_ip',
          'remote_ip',
          'remote_mac',
          'local_mac',
          'transmit_errors',
          'ratelimit_interval_ms',
          'ratelimit_burst',
          'nope',
          '__proto__',
          'cpu_nr_enabled',
          'msgid_enabled',
        ];
        const value = fc.oneof(
          fc.constantFrom(
            '0',
            '1',
            'on',
            'off',
            'y',
            '6666',
            '65535',
            '65536',
            '-1',
            '127.0.0.1',
            '::1',
            '10.0.0.1\n',
            'fd00::1',
            '12:34:56:78:9a:bc',
            'auto',
            'lo',
            'abcdefghijklmnopq',
            '',
            '\n',
          ),
          fc.integer({ min: -2, max: 70_000 }),
          fc.boolean(),
          fc.string({ maxLength: 30 }),
          fc.constantFrom(null, undefined, 1.5, NaN, {}, [], Symbol('s') as unknown),
        );
        const snapshot = (t: Target): string =>
          JSON.stringify([
            t.state,
            ...attrs.filter((a) => !['nope', '__proto__'].includes(a)).map((a) => t.get(a as AttributeName)),
            t.userdata.entries(),
          ]);
        let n = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.boolean(),
            fc.constantFrom(...attrs),
            value,
            fc.boolean(),
            fc.string({ maxLength: 60 }),
            async (enabled, attr, v, userdata, key) => {
              const t = await nc.targets.create(`t${n++}`, {
                remote_ip: '127.0.0.1',
                remote_port: 9,
                local_port: 0,
                enabled: enabled ? 1 : 0,
              });
              try {
                const before = snapshot(t);
                let err: unknown = null;
                try {
                  await (userdata ? t.userdata.set(key, v as never) : t.set(attr as never, v as never));
                } catch (e) {
                  err = e;
                }
                // A boolean is taken by a yes/no attribute or toggle only: elsewhere it would be the text '1' or '0'.
                const yesNo = [
                  'enabled',
                  'extended',
                  'timestamps',
                  'release',
                  'cpu_nr_enabled',
                  'msgid_enabled',
                ].includes(attr);
                if (
                  typeof v === 'boolean' &&
                  (userdata
                    ? !['cpu_nr_enabled', 'taskname_enabled', 'release_enabled', 'msgid_enabled'].includes(key)
                    : !yesNo)
                ) {
                  assert.ok(
                    err instanceof NetconsoleError,
                    `a boolean taken by ${userdata ? `userdata/${key}` : attr}`,
                  );
                }
                if (err !== null) {
                  assert.ok(
                    err instanceof NetconsoleError && /^E[A-Z]+$/.test(err.code) && err.option,
                    `a raw error: ${String(err)}`,
                  );
                  assert.equal(snapshot(t), before, `${err.message}: the target changed`);
                } else if (userdata) {
                  const text = typeof v === 'boolean' ? (v ? '1' : '0') : String(v); // a toggle reads '1' or '0'
                  assert.equal(t.userdata.get(key), text.replace(/\n$/, ''), 'reads back');
                } else if (!['enabled', 'cpu_nr_enabled', 'msgid_enabled'].includes(attr)) {
                  await t
                    .set(attr as never, t.get(attr as AttributeName) as never)
                    .catch((e: unknown) =>
                      assert.ok(
                        e instanceof NetconsoleError && e.code === 'EINVAL' && t.state === 'enabled',
                        `what ${attr} reads back (${t.get(attr as AttributeName)}) is not taken: ${String(e)}`,
                      ),
                    );
                }
              } finally {
                await t.remove();
              }
            },
          ),
          FUZZ,
        );
      } finally {
        await nc.close();
      }
    },
  );
});
