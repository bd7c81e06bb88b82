// bench/e2e over the veth pair: what raw mode could reach on this machine, a C sender that does
// only what native/txring.cc does with a frame, with nothing of the library around it. One thread
// copies a prebuilt Ethernet + IPv4 + UDP frame (UDP checksum 0) into a PACKET_TX_RING (TPACKET_V2,
// 512 x 2 KiB frames, a virtio_net_hdr each, PACKET_QDISC_BYPASS) and sends a batch of 64 with one
// send(); a frame the kernel has not taken is waited for, so every datagram is sent.
// usage: raw-txring PORT SIZE COUNT RATE DST-IPV4 DEVICE DST-MAC SRC-IPV4: as sender.c (the same
// JSON line, the same 'x' payloads), the frames on DEVICE to DST-MAC.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 64
#define FRAMES 512
#define FRAME 2048
#define BLOCK (1 << 16)

struct vnet { uint8_t flags, gso; uint16_t hdr_len, gso_size, csum_start, csum_off; };

static uint64_t ns(const struct timespec* t) { return (uint64_t)t->tv_sec * 1000000000u + t->tv_nsec; }

static uint16_t csum(const uint8_t* p, int n) {
  uint32_t s = 0;
  for (int i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

static void die(const char* what) { fprintf(stderr, "raw-txring: %s: %s\n", what, strerror(errno)); exit(1); }

int main(int argc, char** argv) {
  if (argc < 9) { fprintf(stderr, "usage: raw-txring PORT SIZE COUNT RATE DST-IPV4 DEVICE DST-MAC SRC-IPV4\n"); return 2; }
  int port = atoi(argv[1]), size = atoi(argv[2]);
  long count = atol(argv[3]), rate = atol(argv[4]);
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) die("socket");
  int sb = 4 << 20, v = TPACKET_V2, one = 1;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
  struct ifreq r; memset(&r, 0, sizeof r);
  snprintf(r.ifr_name, sizeof r.ifr_name, "%s", argv[6]);
  if (ioctl(fd, SIOCGIFINDEX, &r) < 0) die("SIOCGIFINDEX");
  int ifindex = r.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &r) < 0) die("SIOCGIFHWADDR");
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0) die("PACKET_VERSION");
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) die("PACKET_VNET_HDR");
  if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) die("PACKET_QDISC_BYPASS");
  struct tpacket_req req = {BLOCK, FRAMES * FRAME / BLOCK, FRAME, FRAMES};
  if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0) die("PACKET_TX_RING");
  uint8_t* ring = mmap(NULL, (size_t)FRAMES * FRAME, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (ring == MAP_FAILED) die("mmap");

  // The frame: Ethernet, IPv4 (ID 0, no DF), UDP (checksum 0), SIZE bytes of 'x'.
  static uint8_t f[ETH_HLEN + 20 + 8 + 65507];
  int len = ETH_HLEN + 20 + 8 + size;
  unsigned m[6];
  if (sscanf(argv[7], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) { fprintf(stderr, "raw-txring: bad MAC\n"); return 2; }
  for (int i = 0; i < 6; i++) f[i] = (uint8_t)m[i];
  memcpy(f + 6, r.ifr_hwaddr.sa_data, 6);
  f[12] = 0x08; f[13] = 0x00;
  uint8_t* ip = f + ETH_HLEN;
  ip[0] = 0x45; ip[2] = (uint8_t)((20 + 8 + size) >> 8); ip[3] = (uint8_t)(20 + 8 + size); ip[8] = 64; ip[9] = 17;
  inet_pton(AF_INET, argv[8], ip + 12);
  inet_pton(AF_INET, argv[5], ip + 16);
  uint16_t c = csum(ip, 20); ip[10] = (uint8_t)(c >> 8); ip[11] = (uint8_t)c;
  uint8_t* udp = ip + 20;
  udp[0] = 6665 >> 8; udp[1] = 6665 & 0xff; udp[2] = (uint8_t)(port >> 8); udp[3] = (uint8_t)port;
  udp[4] = (uint8_t)((8 + size) >> 8); udp[5] = (uint8_t)(8 + size);
  memset(udp + 8, 'x', size);
  const uint32_t off = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
  if (len + off + sizeof(struct vnet) > FRAME) { fprintf(stderr, "raw-txring: SIZE too large for a frame\n"); return 2; }

  struct sockaddr_ll to; memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET; to.sll_ifindex = ifindex; to.sll_halen = 6; memcpy(to.sll_addr, f, 6);
  struct timespec t0, t1, tick;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  tick = t0;
  long sent = 0;
  uint32_t head = 0;
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
      int n = due - sent < BATCH ? (int)(due - sent) : BATCH, put = 0;
      for (; put < n; put++) {
        struct tpacket2_hdr* h = (struct tpacket2_hdr*)(ring + (size_t)((head + put) % FRAMES) * FRAME);
        if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) break;
        struct vnet vh = {0, 0, (uint16_t)len, 0, 0, 0};
        memcpy((uint8_t*)h + off, &vh, sizeof vh);
        memcpy((uint8_t*)h + off + sizeof vh, f, len);
        h->tp_len = sizeof vh + len;
        __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
      }
      if (put == 0) {  // the next frame is still the kernel's: wait for it
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, 1);
        continue;
      }
      sendto(fd, NULL, 0, MSG_DONTWAIT, (struct sockaddr*)&to, sizeof to);
      int took = 0;  // frames the kernel took (SENDING, or AVAILABLE again); the rest go back
      for (; took < put; took++) {
        struct tpacket2_hdr* h = (struct tpacket2_hdr*)(ring + (size_t)((head + took) % FRAMES) * FRAME);
        uint32_t s = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
        if (s == TP_STATUS_SEND_REQUEST || s == TP_STATUS_WRONG_FORMAT) break;
      }
      for (int k = took; k < put; k++) {
        struct tpacket2_hdr* h = (struct tpacket2_hdr*)(ring + (size_t)((head + k) % FRAMES) * FRAME);
        __atomic_store_n(&h->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELEASE);
      }
      head = (head + took) % FRAMES;
      sent += took;
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
