// Where the runner writes: the tuner's atomic writes (moved into the package with netconsole tune).
export * from '../src/faces/tune/out-file.js';
