// The worker processes' line protocol (moved into the package with netconsole tune's sender).
export * from '../../src/faces/tune/stdio.js';
