// The runner's command line shares the tuner's mends (moved into the package with netconsole tune).
export * from '../src/faces/tune/args.js';
