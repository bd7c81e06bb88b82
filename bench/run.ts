// `npm run bench`: every scenario in one run, each printing its peers and ratios.
// Pass scenario names to run only those: `npm run bench -- write-path`.
import * as boundaries from './boundaries.js';
import * as cleanupLatency from './cleanup-latency.js';
import * as rawThroughput from './raw-throughput.js';
import * as udpThroughput from './udp-throughput.js';
import * as writePath from './write-path.js';

const scenarios: Record<string, { run(): { report: string } | Promise<{ report: string }> }> = {
  boundaries,
  'write-path': writePath,
  'cleanup-latency': cleanupLatency,
  'udp-throughput': udpThroughput,
  'raw-throughput': rawThroughput,
};

const only = process.argv.slice(2);
console.log(`# netconsole benchmarks (node ${process.version}, ${new Date().toISOString()})\n`);
for (const [name, s] of Object.entries(scenarios)) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log((await s.run()).report);
  console.log('');
}
