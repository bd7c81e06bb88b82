// What the runner prints: the progress bar and the tables are the tuner's (src/faces/tune/report.ts);
// here, the extras each scenario's table shows.

// Moved into the package with netconsole tune.
export { Progress, table } from '../src/faces/tune/report.js';

/** The extras each scenario's table shows. */
export const COLUMNS: Record<string, Record<string, string>> = {
  e2e: {
    sent: 'sent',
    delivered: 'delivered whole',
    deliveredPct: 'delivered %',
    datagrams: 'datagrams',
    cpuNsPerMsg: 'CPU ns/msg',
    mainNsPerMsg: 'of it main thread',
    senderNsPerMsg: 'sender thread',
    pacingNsPerMsg: 'pacing alone ns/msg',
    maxRssMiB: 'peak RSS MiB',
    libDropped: 'lib dropped',
    socketDrops: 'rx socket drops',
    rcvbufErrors: 'RcvbufErrors',
    latP50Ns: 'call p50 ns',
    latP99Ns: 'p99',
    latP999Ns: 'p99.9',
    latMaxNs: 'max',
  },
  'write-path': { dropped: 'dropped', kept: 'kept', unacked: 'unacked' },
  startup: {
    boot: 'Node boot ms',
    import: 'import ms',
    create: 'set-up ms',
    first: 'first line ms',
    close: 'close ms',
    total: 'total ms, boot included',
  },
  reliable: {
    delivered: 'delivered whole',
    deliveredPct: 'delivered %',
    cpuNsPerMsg: 'CPU ns/msg',
    seconds: 's',
    dropped: 'relay dropped',
    resends: 'resends',
    emergencies: 'emergency',
    incomplete: 'printed incomplete',
    givenUp: 'given up',
    libLost: 'counted lost',
  },
  threads: { records: 'records', dropped: 'dropped', lockContended: 'contended', contendedPct: 'contended %' },
  latency: {
    p50: 'p50',
    p99: 'p99',
    p999: 'p99.9',
    max: 'max',
    calls: 'calls',
    dropped: 'dropped',
    cleanupMs: 'cleanup ms',
    timerFloorNs: 'timer ns',
  },
  checksum: {},
  boundary: {},
  memory: {
    sent: 'sent',
    delivered: 'delivered whole',
    deliveredPct: 'delivered %',
    setupRssMiB: 'RSS after setup MiB',
    setupPeakMiB: 'peak after setup MiB',
    libLost: 'lib lost',
    streamErrors: 'stream errors',
    socketDrops: 'rx socket drops',
    rcvbufErrors: 'RcvbufErrors',
  },
};
