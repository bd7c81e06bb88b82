// The Netconsole under test: created, handed to the test, closed after it whether it passed or threw.
// One fixture for the test files, so that what "a Netconsole under test" means is written once.
import { Netconsole, type NetconsoleOptions } from '../../src/index.js';
import { Sink } from './udp.js';

/** What a Netconsole under test is created with unless the test says otherwise: no device events
 *  (no netlink socket, no poller to wait for) and no NETCONSOLE_* variables of the environment. */
export const UNDER_TEST: NetconsoleOptions = { devices: 'none', env: false };

/** `fn` with a Netconsole created from UNDER_TEST and `options`; closed afterwards. */
export async function withNetconsole<T>(
  options: NetconsoleOptions,
  fn: (nc: Netconsole) => Promise<T> | T,
): Promise<T> {
  const nc = await Netconsole.create({ ...UNDER_TEST, ...options });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

/** The same with a UDP sink opened first (`options` may be built from it, for its port): the
 *  Netconsole is closed, then the sink, also when create() throws. */
export async function withSinkNetconsole<T>(
  options: NetconsoleOptions | ((sink: Sink) => NetconsoleOptions),
  fn: (nc: Netconsole, sink: Sink) => Promise<T> | T,
): Promise<T> {
  const sink = await Sink.open();
  try {
    return await withNetconsole(typeof options === 'function' ? options(sink) : options, (nc) => fn(nc, sink));
  } finally {
    await sink.close();
  }
}
