// Record timestamps: microseconds of CLOCK_MONOTONIC (since boot), the clock the kernel stamps
// its own records with, so that application and kernel lines from one host sort together.
//
// process.hrtime.bigint() reads CLOCK_MONOTONIC (libuv uv_hrtime) but allocates a bigint;
// performance.now() is a double from the same clock relative to this thread's time origin (about
// 70 ns a call here, warm: a native clock through the addon was no faster). The offset between
// the two is taken once per thread, then each record costs one performance.now().
//
// The offset is taken after a first performance.now(), which loads perf_hooks: taken across that
// first call, as it once was, every record of the thread was stamped 0.5 - 1.3 ms early. Of a few
// tries, the one whose two performance.now() are closest around the hrtime is kept.
performance.now();
export const clockOffsetUsec = ((): number => {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 5; i++) {
    const before = performance.now();
    const ns = process.hrtime.bigint();
    const after = performance.now();
    if (after - before < best) {
      best = after - before;
      offset = Number(ns) / 1000 - ((before + after) / 2) * 1000;
    }
  }
  return offset;
})();

export function monotonicUsec(): number {
  return clockOffsetUsec + performance.now() * 1000;
}
