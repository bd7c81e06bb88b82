// bench/checksum: the C build of the Internet checksum loop of assembly/checksum.ts (csumScalar):
// 32-bit little-endian loads summed into 64 bits, a 16-bit and a byte tail, folded and swapped.
// usage: csum BYTES ITERATIONS; prints the ns per call and the checksum (so nothing is optimized
// away). Built at -O2 (what gcc may vectorize there, it does).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint32_t fold_swap(uint64_t sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  uint32_t s = (uint32_t)sum;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return ((s & 0xff) << 8) | (s >> 8);
}

__attribute__((noinline)) static uint32_t csum(const uint8_t* p, int len) {
  uint64_t sum = 0;
  int i = 0;
  for (; i + 4 <= len; i += 4) { uint32_t w; memcpy(&w, p + i, 4); sum += w; }
  for (; i + 2 <= len; i += 2) { uint16_t w; memcpy(&w, p + i, 2); sum += w; }
  if (i < len) sum += p[i];
  return fold_swap(sum);
}

int main(int argc, char** argv) {
  int len = atoi(argv[1]);
  long n = atol(argv[2]);
  uint8_t* buf = malloc(len + 16);
  for (int i = 0; i < len; i++) buf[i] = (uint8_t)(i * 131 + 7);
  uint32_t acc = 0;
  for (long i = 0; i < n / 10 + 1; i++) acc += csum(buf, len); /* warm up */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) { buf[0] = (uint8_t)i; acc += csum(buf, len); }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n;
  printf("%.3f %u\n", ns, acc);
  return 0;
}
