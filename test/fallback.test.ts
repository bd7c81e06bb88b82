// Without the native addon (NETCONSOLE_NO_NATIVE=1 forces what a failed build would leave), the
// library still works with default options: UDP mode, the dgram sender, device events by polling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Sink } from './helpers/udp.js';

const SCRIPT = new URL('./workers/fallback.js', import.meta.url).pathname;

test('NETCONSOLE_NO_NATIVE=1: default options pick the dgram sender and polling, records arrive, and options that need the addon are refused (ENOTSUP), after a bad value of any option', async () => {
  const sink = await Sink.open();
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, String(sink.port)], {
      env: { ...process.env, NETCONSOLE_NO_NATIVE: '1' },
    });
    const [first, second] = stdout.trim().split('\n');
    const r = JSON.parse(first) as Record<string, unknown>;
    assert.deepEqual(JSON.parse(second), {
      refused: ['ENOTSUP sender', 'ENOTSUP mode', 'ENOTSUP devices', 'ERANGE facility'],
    });
    assert.deepEqual(r, {
      native: false,
      why: 'NETCONSOLE_NO_NATIVE=1',
      sender: 'dgram',
      devices: 'SysfsPoller',
      state: 'enabled',
    });
    await sink.until((g) => g.length === 100);
    assert.match(sink.texts()[99], /;fallback 99\n$/);
  } finally {
    await sink.close();
  }
});
