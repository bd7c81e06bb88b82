// bench/e2e: the practical limit, a C sender with sendmmsg (batches of 64) from one thread.
// usage: sender PORT SIZE COUNT RATE [IPV4]: COUNT datagrams of SIZE bytes ('x'); RATE 0 sends
// them as fast as it can (burst), else RATE datagrams/s in 1 ms ticks (paced). Prints one JSON
// line: sent, the CLOCK_MONOTONIC ns of the first and last send, its CPU time (user + system,
// getrusage) in microseconds, and its peak RSS in KiB (VmHWM: getrusage's maxrss keeps the RSS
// of the process that forked this one from before the exec).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 64

static uint64_t ns(const struct timespec* t) { return (uint64_t)t->tv_sec * 1000000000u + t->tv_nsec; }

int main(int argc, char** argv) {
  if (argc < 5) { fprintf(stderr, "usage: sender PORT SIZE COUNT RATE [IPV4]\n"); return 2; }
  int port = atoi(argv[1]), size = atoi(argv[2]);
  long count = atol(argv[3]), rate = atol(argv[4]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sb = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(0x7f000001);
  if (argc > 5) inet_pton(AF_INET, argv[5], &a.sin_addr);
  static char buf[65507];
  memset(buf, 'x', size);
  struct iovec iov[BATCH];
  struct mmsghdr m[BATCH];
  memset(m, 0, sizeof m);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = buf; iov[i].iov_len = size;
    m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1;
    m[i].msg_hdr.msg_name = &a; m[i].msg_hdr.msg_namelen = sizeof a;
  }
  struct timespec t0, t1, tick;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  tick = t0;
  long sent = 0;
  while (sent < count) {
    long due = count;
    if (rate > 0) {
      tick.tv_nsec += 1000000;
      if (tick.tv_nsec >= 1000000000) { tick.tv_sec++; tick.tv_nsec -= 1000000000; }
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
      due = (long)((double)(ns(&tick) - ns(&t0)) * rate / 1e9);
      if (due > count) due = count;
    }
    while (sent < due) {
      int n = due - sent < BATCH ? due - sent : BATCH;
      int r = sendmmsg(fd, m, n, 0);
      if (r > 0) sent += r;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long hwm = -1;
  char line[256];
  FILE* st = fopen("/proc/self/status", "r");
  while (st && fgets(line, sizeof line, st)) sscanf(line, "VmHWM: %ld kB", &hwm);
  if (st) fclose(st);
  long cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  printf("{\"sent\":%ld,\"t0Ns\":%llu,\"t1Ns\":%llu,\"cpuUs\":%ld,\"maxRssKb\":%ld}\n", sent,
         (unsigned long long)ns(&t0), (unsigned long long)ns(&t1), cpu, hwm);
  return 0;
}
