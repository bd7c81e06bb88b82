// bench/e2e: the counting receiver. usage: receiver MODE PORT [IPV4]
//   MODE dgram       every datagram is one message (dgram.send, winston-udp, the C sender);
//        lines       every whole JSON line ("{...}\n") inside a datagram is one message (pino-socket,
//                    whose transport packs many lines into one datagram);
//        netconsole  extended records; ncfrag fragments reassembled by seq, so a message counts
//                    once all of its bytes arrived (delivered whole).
// It never sleeps on the socket: recvmmsg(MSG_DONTWAIT), and when nothing is there a 100 us nap
// (nanosleep). A receiver blocked in poll() or recv() sits on the socket's wait queue and every
// send must wake it, which the kernel charges to the sender; a napping poller is not on that queue.
// Prints "ready <port>" once bound, then one JSON line of counts for each "s" line on stdin; "q"
// (or the end of stdin) exits. drops: this socket's drop count (/proc/self/net/udp), rcvbufErrors:
// the namespace's Udp RcvbufErrors (/proc/self/net/snmp), both read when asked.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VLEN 64
#define SLOT 65536 /* the largest UDP payload fits */
#define TABLE 65536 /* messages being reassembled, by seq; a collision evicts (counted) */

enum { DGRAM, LINES, NETCONSOLE };

static struct { uint64_t seq1; uint32_t got, total; } table[TABLE]; /* seq1 = seq + 1; 0 = free */
static long datagrams, bytes, messages, malformed, evicted, pending;
static uint64_t first_ns, last_ns;
static unsigned long inode;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + t.tv_nsec;
}

static void delivered(uint64_t now) {
  messages++;
  last_ns = now;
}

/* One extended netconsole datagram: "<prio>,<seq>,<ts>,<flag>[,ncfrag=<off>/<total>];<data>". */
static void netconsole(const char* p, int n, uint64_t now) {
  const char* semi = memchr(p, ';', n);
  const char* comma = memchr(p, ',', n);
  if (!semi || !comma || comma > semi) { malformed++; return; }
  uint64_t seq = strtoull(comma + 1, NULL, 10);
  const char* frag = memmem(p, semi - p, ",ncfrag=", 8);
  if (!frag) { delivered(now); return; }
  unsigned off, total;
  if (sscanf(frag + 8, "%u/%u", &off, &total) != 2 || total == 0) { malformed++; return; }
  uint32_t chunk = n - (semi + 1 - p);
  unsigned h = (unsigned)(seq * 0x9E3779B97F4A7C15ull >> 48) & (TABLE - 1);
  if (table[h].seq1 != seq + 1) {
    if (table[h].seq1 != 0) { evicted++; pending--; }
    table[h].seq1 = seq + 1; table[h].got = 0; table[h].total = total;
    pending++;
  }
  table[h].got += chunk;
  if (table[h].got >= table[h].total) { table[h].seq1 = 0; pending--; delivered(now); }
}

/* Whole lines only: one that starts in an earlier datagram, or ends in a later one, is not counted. */
static void lines(const char* p, int n, uint64_t now) {
  const char* s = p;
  const char* end = p + n;
  for (const char* nl; s < end && (nl = memchr(s, '\n', end - s)); s = nl + 1) {
    if (nl - s >= 2 && s[0] == '{' && nl[-1] == '}') delivered(now);
    else malformed++;
  }
}

static long proc_field(const char* path, const char* row, const char* name) {
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  char names[4096], values[4096];
  long v = -1;
  while (fgets(names, sizeof names, f)) {
    if (strncmp(names, row, strlen(row)) != 0 || !fgets(values, sizeof values, f)) continue;
    char *sn, *sv;
    char* a = strtok_r(names, " \n", &sn);
    char* b = strtok_r(values, " \n", &sv);
    for (; a && b; a = strtok_r(NULL, " \n", &sn), b = strtok_r(NULL, " \n", &sv))
      if (strcmp(a, name) == 0) v = atol(b);
    break;
  }
  fclose(f);
  return v;
}

static long socket_drops(void) {
  FILE* f = fopen("/proc/self/net/udp", "r");
  if (!f) return -1;
  char line[512];
  long drops = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long ino, d;
    /* sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops */
    if (sscanf(line, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %*s %*s %lu", &ino, &d) == 2 && ino == inode) drops = d;
  }
  fclose(f);
  return drops;
}

static void report(void) {
  printf("{\"datagrams\":%ld,\"bytes\":%ld,\"messages\":%ld,\"pending\":%ld,\"evicted\":%ld,\"malformed\":%ld,"
         "\"firstNs\":%llu,\"lastNs\":%llu,\"drops\":%ld,\"rcvbufErrors\":%ld}\n",
         datagrams, bytes, messages, pending, evicted, malformed, (unsigned long long)first_ns,
         (unsigned long long)last_ns, socket_drops(), proc_field("/proc/self/net/snmp", "Udp:", "RcvbufErrors"));
  fflush(stdout);
}

/* Handles the commands waiting on stdin; returns 0 when it is time to exit. */
static int commands(void) {
  char buf[64];
  ssize_t r = read(0, buf, sizeof buf);
  if (r == 0) return 0;
  for (ssize_t i = 0; i < r; i++) {
    if (buf[i] == 's') report();
    if (buf[i] == 'q') return 0;
  }
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 3) { fprintf(stderr, "usage: receiver dgram|lines|netconsole PORT [IPV4]\n"); return 2; }
  int mode = strcmp(argv[1], "lines") == 0 ? LINES : strcmp(argv[1], "netconsole") == 0 ? NETCONSOLE : DGRAM;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int rb = 256 << 20; /* the kernel doubles it: 512 MiB of backlog, so a burst is not dropped here */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof rb) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[2])); a.sin_addr.s_addr = htonl(0x7f000001);
  if (argc > 3) inet_pton(AF_INET, argv[3], &a.sin_addr);
  if (bind(fd, (struct sockaddr*)&a, sizeof a) < 0) { perror("bind"); return 1; }
  socklen_t l = sizeof a;
  getsockname(fd, (struct sockaddr*)&a, &l);
  struct stat st;
  fstat(fd, &st);
  inode = st.st_ino;
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  printf("ready %d\n", ntohs(a.sin_port));
  fflush(stdout);
  static char buf[VLEN][SLOT];
  static struct iovec iov[VLEN];
  static struct mmsghdr m[VLEN];
  for (int i = 0; i < VLEN; i++) {
    iov[i].iov_base = buf[i]; iov[i].iov_len = SLOT;
    m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1;
  }
  const struct timespec nap = {0, 100000};
  for (long batches = 0;; batches++) {
    int n = recvmmsg(fd, m, VLEN, MSG_DONTWAIT, NULL);
    if (n <= 0) {
      if (!commands()) return 0;
      nanosleep(&nap, NULL);
      continue;
    }
    uint64_t now = now_ns();
    if (first_ns == 0) first_ns = now;
    for (int i = 0; i < n; i++) {
      int len = m[i].msg_len;
      datagrams++;
      bytes += len;
      if (mode == DGRAM) delivered(now);
      else if (mode == LINES) lines(buf[i], len, now);
      else netconsole(buf[i], len, now);
    }
    if ((batches & 255) == 255 && !commands()) return 0; /* answer even under a flood */
  }
}
