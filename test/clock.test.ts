// A record's timestamp is CLOCK_MONOTONIC in microseconds, the clock the kernel stamps its own
// records with (src/base/clock.ts), from a fresh process's first record on: there, the library's
// clock is set up as an app's import sets it up, before anything else read performance.now().
// The child reads CLOCK_MONOTONIC itself (process.hrtime.bigint) around one log call; the record
// that arrives must carry a timestamp between the two, give or take 2 us for the offset's own
// error (the clock's offset was once taken across performance.now()'s first call, which loads
// perf_hooks: every record came 0.5 to 1.3 ms early).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Sink } from './helpers/udp.js';

const CHILD = `
import { Netconsole } from 'netconsole';
const port = Number(process.argv[1]);
const nc = await Netconsole.create({ targets: '+@/,' + port + '@127.0.0.1/', env: false, devices: 'none', strict: true });
const before = process.hrtime.bigint() / 1000n - 2n;
nc.info('clock probe');
const after = (process.hrtime.bigint() + 999n) / 1000n + 2n;
await nc.flush();
await nc.close();
console.log(JSON.stringify({ before: String(before), after: String(after) }));
`;

test("a fresh process's first record is stamped with CLOCK_MONOTONIC, in microseconds", async () => {
  for (let run = 0; run < 3; run++) {
    const sink = await Sink.open();
    try {
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          ['--input-type=module', '-e', CHILD, String(sink.port)],
          { cwd: new URL('../..', import.meta.url).pathname, timeout: 20_000 },
          (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out)),
        ),
      );
      const { before, after } = JSON.parse(stdout) as { before: string; after: string };
      await sink.until((got) => got.some((r) => r.data.toString().includes('clock probe')));
      const line = sink.got.map((r) => r.data.toString()).find((d) => d.includes('clock probe'))!;
      const ts = /^\d+,\d+,(\d+),/.exec(line)?.[1];
      assert.ok(ts !== undefined, `an extended header: ${JSON.stringify(line)}`);
      assert.ok(
        BigInt(before) <= BigInt(ts) && BigInt(ts) <= BigInt(after),
        `run ${run}: the record's timestamp ${ts} within [${before}, ${after}] (CLOCK_MONOTONIC, us): ${Number(BigInt(ts) - BigInt(before))} us from the first`,
      );
    } finally {
      await sink.close();
    }
  }
});
