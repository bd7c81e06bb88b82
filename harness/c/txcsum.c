// The tests' `ethtool -K DEVICE tx on|off` (ethtool is not installed everywhere): turns the device's
// transmit checksum offload on or off with SIOCETHTOOL (ETHTOOL_STXCSUM, which also turns off what
// depends on it, as GSO of UDP), then prints the setting read back (ETHTOOL_GTXCSUM): "tx on" or
// "tx off". Run in the device's namespace. usage: txcsum DEVICE on|off
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3 || (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0)) {
    fprintf(stderr, "usage: txcsum DEVICE on|off\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    fprintf(stderr, "txcsum: socket: %s\n", strerror(errno));
    return 1;
  }
  struct ifreq r;
  memset(&r, 0, sizeof r);
  snprintf(r.ifr_name, sizeof r.ifr_name, "%s", argv[1]);
  struct ethtool_value v = {ETHTOOL_STXCSUM, strcmp(argv[2], "on") == 0};
  r.ifr_data = (char*)&v;
  if (ioctl(fd, SIOCETHTOOL, &r) < 0) {
    fprintf(stderr, "txcsum: ETHTOOL_STXCSUM %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  v.cmd = ETHTOOL_GTXCSUM;
  v.data = 0;
  if (ioctl(fd, SIOCETHTOOL, &r) < 0) {
    fprintf(stderr, "txcsum: ETHTOOL_GTXCSUM %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  printf("tx %s\n", v.data ? "on" : "off");
  close(fd);
  return 0;
}
