// csink: the tests' recording UDP receiver (test/helpers/csink.ts runs it). usage: csink ADDRESS
// PORT OUTFILE IDLE_MS. Prints "ready <port>", records [u32 len][bytes] per datagram, exits after
// idle_ms without one (once one came) or on SIGTERM, printing the count and its socket's drops.
// (The bench's receiver.c counts instead, without keeping a byte: a different job.)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
static volatile sig_atomic_t stop = 0;
static void on_term(int s) { (void)s; stop = 1; }
static long now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000L; }
int main(int argc, char** argv) {
  const char* addr = argv[1]; int port = atoi(argv[2]); FILE* out = fopen(argv[3], "wb"); long idle = atol(argv[4]);
  if (!out) { perror("fopen"); return 1; }
  signal(SIGTERM, on_term);
  int v6 = strchr(addr, ':') != NULL;
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  int rb = 64 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof rb) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
  struct sockaddr_storage ss; memset(&ss, 0, sizeof ss); socklen_t sl;
  if (v6) { struct sockaddr_in6* a = (struct sockaddr_in6*)&ss; a->sin6_family = AF_INET6; a->sin6_port = htons(port); inet_pton(AF_INET6, addr, &a->sin6_addr); sl = sizeof *a; }
  else { struct sockaddr_in* a = (struct sockaddr_in*)&ss; a->sin_family = AF_INET; a->sin_port = htons(port); inet_pton(AF_INET, addr, &a->sin_addr); sl = sizeof *a; }
  if (bind(fd, (struct sockaddr*)&ss, sl) < 0) { perror("bind"); return 1; }
  getsockname(fd, (struct sockaddr*)&ss, &sl);
  printf("ready %d\n", ntohs(v6 ? ((struct sockaddr_in6*)&ss)->sin6_port : ((struct sockaddr_in*)&ss)->sin_port)); fflush(stdout);
  static char buf[256][2048]; struct iovec iov[256]; struct mmsghdr m[256];
  for (int i = 0; i < 256; i++) { iov[i].iov_base = buf[i]; iov[i].iov_len = sizeof buf[i]; memset(&m[i], 0, sizeof m[i]); m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1; }
  long count = 0, last = 0; struct pollfd p = { fd, POLLIN, 0 };
  for (;;) {
    int n = recvmmsg(fd, m, 256, MSG_DONTWAIT, NULL);
    if (n > 0) {
      for (int i = 0; i < n; i++) { uint32_t len = m[i].msg_len; fwrite(&len, 4, 1, out); fwrite(buf[i], 1, len, out); }
      count += n; last = now_ms(); continue;
    }
    if (stop || (count > 0 && now_ms() - last >= idle)) break;
    poll(&p, 1, 50);
  }
  fclose(out);
  // This socket's own drops (the last column of /proc/net/udp{,6}): exact, whatever else runs.
  long drops = -1; char line[512]; unsigned lport = ntohs(v6 ? ((struct sockaddr_in6*)&ss)->sin6_port : ((struct sockaddr_in*)&ss)->sin_port);
  FILE* f = fopen(v6 ? "/proc/net/udp6" : "/proc/net/udp", "r");
  while (f && fgets(line, sizeof line, f)) {
    char local[64]; unsigned port; long d;
    if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*s %*x %*s %*s %*s %*s %*s %*s %*s %*s %ld", local, &port, &d) == 3 && port == lport) drops = d;
  }
  if (f) fclose(f);
  printf("%ld %ld\n", count, drops); fflush(stdout);
  return 0;
}
