// Raw mode's transmit path: a PACKET_TX_RING (TPACKET_V2) mapped over the device's AF_PACKET
// socket. The sender thread copies a batch of frames from the WebAssembly ring's slots into the
// mapped frames, marks them TP_STATUS_SEND_REQUEST and hands them all over with one send() (one
// system call and no per-message msghdr walk, where sendmmsg makes a sendmsg per datagram). Without
// a ring (it could not be set up, or the host asked for the fallback) drain-pass.cc sends with
// sendmmsg.
//
// Each frame starts with a virtio_net_hdr (PACKET_VNET_HDR) whose hdr_len is the whole frame: the
// kernel then copies it into the skb's linear area, as packet_snd does. Without it the skb's data
// stays in the ring's pages as fragments, which a veth peer's receive path (run in this thread's
// send()) must pull into a new head. Measured over the bench's veth pair, 100-byte records,
// interleaved in one run (docs/benchmarks.md, 2026-12-06): 381 k/s delivered without the header,
// 440 k/s with it, sendmmsg 441 k/s. A vnet header also turns off the kernel's MTU check, so Send
// makes it: a frame longer than the device's MTU + Ethernet header fails EMSGSIZE, as sendmmsg's
// would. The MTU is cached (SIOCGIFMTU, re-read after 100 ms, when the route is set again on a
// device event, and before a frame is refused), not asked for each send.
//
// PACKET_QDISC_BYPASS is set where the device's root qdisc is noqueue (veth, loopback, tunnels;
// RTM_GETLINK's IFLA_QDISC, read again with the MTU when the route is set again): there is no
// queue to skip, and the bypass saves the qdisc layer's locking and hooks: 504 k/s against 440 k/s
// over the same veth pair (it did not help without the vnet header: 343 k/s). A device with a
// qdisc keeps it: a shaper someone configured still shapes, and a NIC's full driver queue behind a
// bypass would drop frames (packet(7)). stats.transmit.bypassFrames counts frames sent past it.
//
// GSO runs (nativeSender.gso, as UDP mode's UDP_SEGMENT sends): drain-pass.cc's Plan groups a
// target's consecutive datagrams of the same headers and length (the last may be shorter; IPv4:
// consecutive identifications) into a run, and a run goes as ONE frame of the ring: the first
// datagram's frame, the others' payloads after it, the headers' lengths those of the whole run,
// and a vnet header asking the kernel to cut it (GSO_UDP_L4, gso_size the payload length) and to
// leave each datagram's UDP checksum to the device (NEEDS_CSUM; the checksum field holds the
// pseudo-header's sum). The kernel's segmentation (inet_gso_segment, ipv6_gso_segment,
// __udp_gso_segment) gives each datagram the first one's headers with its own lengths, IPv4
// header checksum and the next identification: the frames the single sends would have been, but
// for the UDP checksum, which the device (or the kernel, where the device cannot) computes anew.
// On a veth pair the run crosses whole and the peer's UDP layer cuts it, with no checksum summed
// at all (the peer trusts a CHECKSUM_PARTIAL skb). Over the bench's veth pair, a C probe of this
// path, 200,000 x 100 B, runs of 64: 1.44 - 1.67 M datagrams/s delivered, against 0.38 - 0.52 M
// single frames and 0.28 - 0.30 M for C's UDP sendmmsg (docs/benchmarks.md, "Raw mode and GSO").
// A device that cannot take a run whole (no GSO of UDP, or no checksum offload) has it cut and
// summed in software on the qdisc's path (validate_xmit_skb), but the qdisc bypass drops what it
// would have to cut (packet_direct_xmit: NET_XMIT_DROP, ENOBUFS): the first run dropped so turns
// the bypass off for the socket (RunsNeedQdisc) and goes again. A kernel without GSO_UDP_L4 in
// vnet headers (before 6.2) refuses the frame (EINVAL): its target then sends one frame per
// datagram until its route changes, as in UDP mode (stats.transmit.gsoFallbacks). The runs' bytes
// are bounded by a ring frame (kTxRunBytes).
//
// Send() answers like sendmmsg, so that drain-pass.cc's error policy (retry a full socket, back off,
// hold, lose and count) is the same for both paths: it returns how many of the frames, from the
// first, the kernel took, or -1 with errno for the first one it did not take. What the kernel did
// not take is put back (TP_STATUS_AVAILABLE, the head rewound to it): the next pass collects it
// again from the WebAssembly ring, as it does a datagram sendmmsg did not send.
//
// The kernel's side (net/packet/af_packet.c, tpacket_snd), what this relies on:
//  * it walks the frames from its own head while they are SEND_REQUEST, and moves its head only
//    past a frame it took (SENDING; AVAILABLE again once the skb is freed). So this side's head is
//    always the kernel's: the first frame of a send that was not taken;
//  * a frame it cannot build (a bad vnet header, shorter than the link header) is left
//    WRONG_FORMAT, its head on it, and send() fails (EINVAL): counted as sendmmsg's failure is,
//    and the frame is used for the next one;
//  * a full send buffer (sock_alloc_send_skb, MSG_DONTWAIT) leaves the frame SEND_REQUEST and
//    fails EAGAIN (or returns the bytes taken before it); a qdisc or driver that dropped the skb
//    (NET_XMIT_DROP: its destructor already made the frame AVAILABLE) is set back to SEND_REQUEST
//    and fails ENOBUFS: both retried by drain-pass.cc, as with sendmmsg;
//  * a frame stays SENDING while its skb lives (in a qdisc, until TX completion): it is not
//    written until the kernel set it AVAILABLE (a full ring: Send fails EBUSY, drain.cc waits).
// Only the sender thread calls send() on the socket, and the kernel reads the ring only inside
// it: frames are written and put back with no race but the kernel's status stores, which are
// read with acquire loads.
#pragma once

#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nc {

// Frames of 16 KiB, 64 of them (1 MiB a device socket). A datagram's frame is at most 1,062 bytes
// (a 1,000-byte netconsole payload, IPv6 and UDP headers, Ethernet); a run sent as one GSO frame
// (below) up to kTxRunBytes. A frame is the kernel's until its skb is freed (on a veth pair, as
// the source reads, when the peer's IP layer takes it: ip_rcv_core orphans it); with 64 frames of
// 16 KiB single datagrams went as fast as with 512 of 2 KiB (a C probe over the bench's veth pair: 394 - 469 k/s
// against 379 - 442 k/s, 100-byte datagrams, docs/benchmarks.md "Raw mode and GSO").
constexpr uint32_t kTxFrameSize = 16384;
constexpr uint32_t kTxFrames = 64;
constexpr uint32_t kTxBlockSize = 1 << 16;  // 4 frames a block (order-4 pages, vmalloc'ed if need be)
// Where a frame's data starts (the kernel's default for TX without PACKET_TX_HAS_OFF: tp_hdrlen -
// sizeof(sockaddr_ll), the aligned tpacket2_hdr), after it the virtio_net_hdr (10 bytes), then the
// frame: the most a frame's data may be, and so the bytes a run's datagrams' frames may add up to
// (a run's frame is shorter: one set of headers).
constexpr uint32_t kTxDataOff = TPACKET2_HDRLEN - sizeof(sockaddr_ll);
constexpr uint32_t kTxRunBytes = kTxFrameSize - kTxDataOff - 10;

class TxRing {
 public:
  TxRing() = default;
  ~TxRing() { Close(); }
  TxRing(const TxRing&) = delete;
  TxRing& operator=(const TxRing&) = delete;

  // Sets up the ring on `fd` (an AF_PACKET SOCK_RAW socket no one has sent on): "" when it is
  // mapped, else why not (then the socket is left as it was, for sendmmsg; or, should that fail,
  // broken(): Send fails every frame).
  std::string Open(int fd, int ifindex);
  bool broken() const { return broken_; }
  // Reads the device's MTU and root qdisc again (PACKET_QDISC_BYPASS on a noqueue device only).
  void Refresh();
  bool bypass() const { return bypass_; }
  // A run's frame was dropped past the qdisc (ENOBUFS): the device cannot take it whole, and only
  // the qdisc's path (validate_xmit_skb) cuts it in software; packet_direct_xmit drops what it
  // would have to cut. Turns the bypass off for the socket's life; false when it was off already.
  bool RunsNeedQdisc();
  // Unmaps the ring (the socket keeps it until it is closed, and is freed only once unmapped).
  void Close();
  int fd() const { return fd_; }

  // Sends ng frames through the ring to `addr`, frame g made of the datagrams' frames
  // frames[start[g] .. start[g] + count[g]): one, or a run (a GSO frame, above). Returns how many
  // frames the kernel took, from the first (> 0), or -1 with errno for the first (EBUSY: no free
  // frame; EMSGSIZE: a datagram's frame longer than the device's MTU allows).
  int Send(const iovec* frames, const int* start, const int* count, int ng, const sockaddr* addr, socklen_t addrLen);
  // The header bytes of a raw-mode datagram's frame that a run's frame has once (Ethernet, IPv4 or
  // IPv6, UDP), or 0 when it is neither (it goes alone).
  static uint32_t HeaderBytes(const iovec& frame);
  // The IPv4 identification of a raw-mode datagram's frame, or -1 (IPv6): the kernel numbers a
  // run's datagrams on from its first, so a run holds consecutive ones only.
  static int32_t IpId(const iovec& frame);

 private:
  uint8_t* Frame(uint32_t i) const { return map_ + static_cast<size_t>(i) * kTxFrameSize; }

  int fd_ = -1;
  uint8_t* map_ = nullptr;
  size_t mapLen_ = 0;
  // The longest frame the device takes (MTU + Ethernet header, at most a ring frame's room), read
  // at most every kMtuTtlNs (SIOCGIFMTU), when the route is set again, and before a frame is refused.
  size_t Max(bool now);
  static constexpr uint64_t kMtuTtlNs = 100'000'000;

  int ifindex_ = 0;
  char name_[IFNAMSIZ] = {};
  size_t max_ = 0;
  uint64_t mtuAt_ = 0;
  bool bypass_ = false;
  bool runsNeedQdisc_ = false;  // RunsNeedQdisc
  bool broken_ = false;         // set up half, and the socket could not be put back (Open)
  uint32_t head_ = 0;           // the kernel's head: the next frame it looks at
};

// The rings of a sender thread, one per raw-mode socket (a device's, shared by its targets). Used
// under the Drain's mutex: set up when a route on a new socket is set, unmapped once no route uses
// that socket (before the host closes it: a mapped socket is not freed by close()), and when the
// thread stops.
class TxRings {
 public:
  // The ring of `fd`, set up now when it has none: "" when it has one, else why it could not.
  std::string Use(int fd, int ifindex);
  TxRing* Of(int fd) const;
  // Unmaps the rings of sockets not among used[0..n).
  void Keep(const int* used, int n);
  void CloseAll() { rings_.clear(); }

 private:
  std::vector<std::unique_ptr<TxRing>> rings_;
};

}  // namespace nc
