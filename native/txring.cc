// The TX ring of a raw-mode socket (txring.h says what the kernel does and what this relies on).
#include "txring.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace nc {

namespace {

constexpr uint32_t kFramesPerBlock = kTxBlockSize / kTxFrameSize;
constexpr uint32_t kBlocks = kTxFrames / kFramesPerBlock;
static_assert(kTxBlockSize % kTxFrameSize == 0 && kTxFrames % kFramesPerBlock == 0, "whole blocks of whole frames");
// struct virtio_net_hdr (<linux/virtio_net.h>, which does not compile as C++; little-endian, as
// packet sockets read it on a little-endian host). hdr_len: the bytes the kernel copies into the
// skb's linear area. A single datagram: flags 0, GSO_NONE. A run: its UDP checksum left to the
// device (NEEDS_CSUM, from csum_start, stored at csum_offset), cut into gso_size-byte payloads
// (GSO_UDP_L4).
struct VnetHdr {
  uint8_t flags, gsoType;
  uint16_t hdrLen, gsoSize, csumStart, csumOffset;
};
static_assert(sizeof(VnetHdr) == 10, "virtio_net_hdr");
constexpr uint8_t kNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr uint8_t kGsoUdpL4 = 5;   // VIRTIO_NET_HDR_GSO_UDP_L4 (Linux 6.2; before, the frame is refused)
static_assert(kTxRunBytes == kTxFrameSize - kTxDataOff - sizeof(VnetHdr), "txring.h's kTxRunBytes");
constexpr uint32_t kIp4 = 20, kIp6 = 40, kUdp = 8;

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void Put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
uint32_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}
// `sum` plus the ones' complement sum of n bytes (n even, at most a few hundred), folded to 16 bits.
uint32_t Sum16(const uint8_t* p, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += Get16(p + i);
  return Fold(sum);
}

// Writes a run's frame at `d`: the first datagram's frame, then the payloads of the others. Its
// headers tell the whole run's length, and its UDP checksum field holds the pseudo-header's sum (what
// CHECKSUM_PARTIAL means: the kernel adjusts it to each datagram's length and the device, or the
// kernel where it cannot, sums the rest); the kernel's segmentation gives each datagram the
// first one's headers with its own lengths, checksums and the next IPv4 identification
// (inet_gso_segment, __udp_gso_segment). Returns its vnet header; `len` gets the frame's length.
VnetHdr Run(uint8_t* d, const iovec* frames, int n, uint32_t hdr, size_t* len) {
  const iovec& first = frames[0];
  memcpy(d, first.iov_base, first.iov_len);
  size_t at = first.iov_len;
  for (int k = 1; k < n; k++) {
    memcpy(d + at, static_cast<const uint8_t*>(frames[k].iov_base) + hdr, frames[k].iov_len - hdr);
    at += frames[k].iov_len - hdr;
  }
  const bool v6 = hdr == ETH_HLEN + kIp6 + kUdp;
  uint8_t* ip = d + ETH_HLEN;
  uint8_t* udp = ip + (v6 ? kIp6 : kIp4);
  const uint32_t udpLen = static_cast<uint32_t>(at) - (hdr - kUdp);
  Put16(udp + 4, udpLen);
  uint32_t pseudo = v6 ? Sum16(ip + 8, 32, 0) : Sum16(ip + 12, 8, 0);  // the addresses
  pseudo = Fold(pseudo + IPPROTO_UDP + udpLen);
  Put16(udp + 6, pseudo);
  if (v6) {
    Put16(ip + 4, udpLen);
  } else {
    Put16(ip + 2, kIp4 + udpLen);
    Put16(ip + 10, 0);
    Put16(ip + 10, ~Sum16(ip, kIp4, 0) & 0xffff);
  }
  *len = at;
  const uint16_t seg = static_cast<uint16_t>(first.iov_len - hdr);
  const uint16_t csumStart = static_cast<uint16_t>(udp - d);
  return VnetHdr{kNeedsCsum, kGsoUdpL4, static_cast<uint16_t>(at), seg, csumStart, 6};
}
// Timestamp bits the kernel may add to AVAILABLE when it frees the skb (SO_TIMESTAMPING).
constexpr uint32_t kTsBits = TP_STATUS_TS_SOFTWARE | TP_STATUS_TS_SYS_HARDWARE | TP_STATUS_TS_RAW_HARDWARE;

uint32_t Status(uint8_t* f) {
  return __atomic_load_n(&reinterpret_cast<tpacket2_hdr*>(f)->tp_status, __ATOMIC_ACQUIRE) & ~kTsBits;
}
void SetStatus(uint8_t* f, uint32_t s) {
  __atomic_store_n(&reinterpret_cast<tpacket2_hdr*>(f)->tp_status, s, __ATOMIC_RELEASE);
}

std::string Why(const char* what, int e) { return std::string(what) + ": " + strerror(e); }

uint64_t NowNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}

// The name of the device's root qdisc (RTM_GETLINK's IFLA_QDISC), "" when it cannot be had.
std::string RootQdisc(int ifindex) {
  int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (nl < 0) return "";
  struct {
    nlmsghdr h;
    ifinfomsg i;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.h.nlmsg_seq = 1;
  req.i.ifi_family = AF_UNSPEC;
  req.i.ifi_index = ifindex;
  timeval tv{1, 0};  // the kernel answers at once; never hang the sender on it
  if (setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
    close(nl);
    return "";  // without the bound, not asked: unknown, so no bypass (Refresh)
  }
  std::string q;
  alignas(nlmsghdr) char buf[16384];
  ssize_t n = send(nl, &req, sizeof req, 0) == static_cast<ssize_t>(sizeof req) ? recv(nl, buf, sizeof buf, 0) : -1;
  for (auto* h = reinterpret_cast<nlmsghdr*>(buf); n > 0 && NLMSG_OK(h, static_cast<uint32_t>(n));
       h = NLMSG_NEXT(h, n)) {
    if (h->nlmsg_type != RTM_NEWLINK) continue;
    int len = static_cast<int>(IFLA_PAYLOAD(h));
    for (auto* a = IFLA_RTA(static_cast<ifinfomsg*>(NLMSG_DATA(h))); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type == IFLA_QDISC)
        q.assign(static_cast<const char*>(RTA_DATA(a)), strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
    }
  }
  close(nl);
  return q;
}

}  // namespace

std::string TxRing::Open(int fd, int ifindex) {
  Close();
  int version = TPACKET_V2;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0)
    return Why("setsockopt(PACKET_VERSION)", errno);
  int vnet = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &vnet, sizeof vnet) < 0)
    return Why("setsockopt(PACKET_VNET_HDR)", errno);
  // On failure from here on, the socket is put back as sendmmsg needs it: no ring, no vnet header.
  // Neither step fails on a socket whose ring was never mapped and never sent on (packet_set_ring
  // refuses a release only while the ring is mapped or has frames in flight; PACKET_VNET_HDR only
  // while a ring is set, so the ring goes first). Should one fail anyway, sendmmsg cannot use the
  // socket either (its frames would go to the ring's send path, or lose their first bytes to a
  // vnet header): the ring stays, unusable, and Send fails every frame (EBADFD), which drain.cc
  // counts as transmit errors; the reason says so.
  auto undo = [&](const char* what, int e, bool ring) {
    tpacket_req none{};  // no blocks: the ring is released
    const char* step = nullptr;
    if (ring && setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &none, sizeof none) < 0) step = "PACKET_TX_RING";
    vnet = 0;
    if (step == nullptr && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &vnet, sizeof vnet) < 0)
      step = "PACKET_VNET_HDR";
    if (step == nullptr) return Why(what, e);
    int stuck = errno;
    fd_ = fd;
    broken_ = true;
    return Why(what, e) + "; the socket could not be put back for sendmmsg (" + step +
           " stays set: " + strerror(stuck) + "): its frames fail (EBADFD), counted as transmit errors";
  };
  tpacket_req req{kTxBlockSize, kBlocks, kTxFrameSize, kTxFrames};
  if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0)
    return undo("setsockopt(PACKET_TX_RING)", errno, false);
  size_t len = static_cast<size_t>(kTxBlockSize) * kBlocks;
  void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return undo("mmap(PACKET_TX_RING)", errno, true);
  fd_ = fd;
  ifindex_ = ifindex;
  map_ = static_cast<uint8_t*>(m);
  mapLen_ = len;
  head_ = 0;
  Refresh();
  return "";
}

void TxRing::Refresh() {
  if (broken_) return;  // its frames fail whatever the device is (Open)
  ifreq r{};
  r.ifr_ifindex = ifindex_;
  if (ioctl(fd_, SIOCGIFNAME, &r) == 0) memcpy(name_, r.ifr_name, sizeof name_);
  Max(true);
  // The qdisc is bypassed only where there is none to bypass (noqueue: veth, loopback, tunnels):
  // a qdisc someone configured (a shaper, a filter) or a NIC's queue keeps its say, and a full
  // driver queue behind a bypass would drop the frame (packet(7), PACKET_QDISC_BYPASS).
  // Set only when it changes (a new socket goes through the qdisc). packet_setsockopt refuses it
  // only for a short option, but either failure is harmless or shown: not turned on, the frames
  // go through the noqueue qdisc as sendmmsg's do (slower, nothing lost); not turned off (a qdisc
  // configured since), bypass_ stays true and stats.transmit.bypassFrames counts what skips it.
  bool want = !runsNeedQdisc_ && RootQdisc(ifindex_) == "noqueue";
  int on = want ? 1 : 0;
  if (want != bypass_ && setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &on, sizeof on) == 0) bypass_ = want;
}

bool TxRing::RunsNeedQdisc() {
  runsNeedQdisc_ = true;
  int off = 0;
  if (!bypass_ || setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &off, sizeof off) != 0) return false;
  bypass_ = false;
  return true;
}

size_t TxRing::Max(bool now) {
  uint64_t t = NowNs();
  if (!now && t - mtuAt_ < kMtuTtlNs) return max_;
  mtuAt_ = t;
  ifreq r{};
  memcpy(r.ifr_name, name_, sizeof name_);
  if (ioctl(fd_, SIOCGIFMTU, &r) < 0) {  // renamed, or gone: its name again
    r = ifreq{};
    r.ifr_ifindex = ifindex_;
    if (ioctl(fd_, SIOCGIFNAME, &r) == 0) memcpy(name_, r.ifr_name, sizeof name_);
    if (ioctl(fd_, SIOCGIFMTU, &r) < 0) return max_ = kTxRunBytes;  // the kernel's own checks then
  }
  return max_ = std::min<size_t>(kTxRunBytes, static_cast<size_t>(r.ifr_mtu) + ETH_HLEN);
}

void TxRing::Close() {
  if (map_ != nullptr) munmap(map_, mapLen_);
  map_ = nullptr;
  fd_ = -1;
  broken_ = false;
}

uint32_t TxRing::HeaderBytes(const iovec& frame) {
  const auto* f = static_cast<const uint8_t*>(frame.iov_base);
  const size_t n = frame.iov_len;
  if (n >= ETH_HLEN + kIp4 + kUdp && Get16(f + 12) == ETH_P_IP && f[ETH_HLEN] == 0x45 && f[ETH_HLEN + 9] == IPPROTO_UDP)
    return ETH_HLEN + kIp4 + kUdp;
  if (n >= ETH_HLEN + kIp6 + kUdp && Get16(f + 12) == ETH_P_IPV6 && f[ETH_HLEN + 6] == IPPROTO_UDP)
    return ETH_HLEN + kIp6 + kUdp;
  return 0;
}

int32_t TxRing::IpId(const iovec& frame) {
  const auto* f = static_cast<const uint8_t*>(frame.iov_base);
  return Get16(f + 12) == ETH_P_IP ? Get16(f + ETH_HLEN + 4) : -1;
}

int TxRing::Send(const iovec* frames, const int* start, const int* count, int ng, const sockaddr* addr,
                 socklen_t addrLen) {
  if (broken_) {
    errno = EBADFD;  // the socket could be put back neither for the ring nor for sendmmsg (Open)
    return -1;
  }
  // With a vnet header the kernel leaves the MTU to the caller: the check packet_snd makes, on
  // each datagram's frame (a run's first is its longest).
  size_t max = Max(false);
  int put = 0;
  for (; put < ng; put++) {
    uint8_t* f = Frame((head_ + put) % kTxFrames);
    const iovec* run = frames + start[put];
    const int n = count[put];
    size_t len = run[0].iov_len;
    if (len > max) max = Max(true);                            // the MTU may have grown: read it again before refusing
    if (Status(f) != TP_STATUS_AVAILABLE || len > max) break;  // still the kernel's, or too long
    uint8_t* d = f + kTxDataOff + sizeof(VnetHdr);
    VnetHdr v{0, 0, static_cast<uint16_t>(len), 0, 0, 0};  // the whole frame linear: txring.h
    if (n > 1) {
      v = Run(d, run, n, HeaderBytes(run[0]), &len);
    } else {
      memcpy(d, run[0].iov_base, len);
    }
    memcpy(f + kTxDataOff, &v, sizeof v);
    reinterpret_cast<tpacket2_hdr*>(f)->tp_len = static_cast<uint32_t>(sizeof v + len);
    SetStatus(f, TP_STATUS_SEND_REQUEST);  // after the bytes (release)
  }
  if (put == 0) {
    errno = frames[start[0]].iov_len > max ? EMSGSIZE : EBUSY;
    return -1;
  }
  ssize_t r = sendto(fd_, nullptr, 0, MSG_DONTWAIT, addr, addrLen);
  int e = errno;
  int took = 0;
  while (took < put) {
    uint32_t s = Status(Frame((head_ + took) % kTxFrames));
    if (s == TP_STATUS_SEND_REQUEST || s == TP_STATUS_WRONG_FORMAT) break;
    took++;  // SENDING, or AVAILABLE again: its skb was already freed
  }
  for (int k = took; k < put; k++) SetStatus(Frame((head_ + k) % kTxFrames), TP_STATUS_AVAILABLE);  // put back
  head_ = (head_ + took) % kTxFrames;
  if (took > 0) return took;
  errno = r < 0 ? e : EAGAIN;  // nothing taken, no error: a full send buffer (tpacket_snd returns 0)
  return -1;
}

std::string TxRings::Use(int fd, int ifindex) {
  if (TxRing* r = Of(fd)) {
    r->Refresh();  // a route set again (a device event): its MTU and qdisc may have changed
    return "";
  }
  auto r = std::make_unique<TxRing>();
  std::string why = r->Open(fd, ifindex);
  if (why.empty() || r->broken()) rings_.push_back(std::move(r));  // broken: its frames fail (Open)
  return why;
}

TxRing* TxRings::Of(int fd) const {
  for (const auto& r : rings_) {
    if (r->fd() == fd) return r.get();
  }
  return nullptr;
}

void TxRings::Keep(const int* used, int n) {
  for (size_t i = 0; i < rings_.size();) {
    bool keep = false;
    for (int k = 0; k < n && !keep; k++) keep = used[k] == rings_[i]->fd();
    if (keep) {
      i++;
      continue;
    }
    rings_.erase(rings_.begin() + static_cast<long>(i));  // ~TxRing unmaps it
  }
}

}  // namespace nc
