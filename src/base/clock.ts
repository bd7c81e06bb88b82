// Record timestamps: microseconds of CLOCK_MONOTONIC (since boot), the clock the kernel stamps
// its own records with, so that application and kernel lines from one host sort together.
//
// process.hrtime.bigint() reads CLOCK_MONOTONIC (libuv uv_hrtime) but allocates a bigint;
// performance.now() is a double from the same clock relative to this thread's time origin. The
// offset between the two is taken once per thread, then each record costs one performance.now().
const offsetUsec = Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000;

export function monotonicUsec(): number {
  return offsetUsec + performance.now() * 1000;
}
