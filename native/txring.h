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

#include <net/if.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nc {

// Frames of 2 KiB: a raw-mode frame is at most 1,062 bytes (a 1,000-byte netconsole payload, IPv6
// and UDP headers, Ethernet), and a 1,500-MTU device's whole frame (1,514) fits 2,048 - 32 (the
// frame header) - 10 (the vnet header). Two frames a page.
constexpr uint32_t kTxFrameSize = 2048;
// 512 frames (1 MiB a device socket): more than the frames the kernel can hold in flight under
// the default send buffer (4 MiB asked, capped at 2 x net.core.wmem_max, about 2 KiB of truesize a
// frame), so a busy ring shows as the socket's EAGAIN, as with sendmmsg; 8 default batches.
constexpr uint32_t kTxFrames = 512;
constexpr uint32_t kTxBlockSize = 1 << 16;  // 32 frames a block (order-4 pages, vmalloc'ed if need be)

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
  // Unmaps the ring (the socket keeps it until it is closed, and is freed only once unmapped).
  void Close();
  int fd() const { return fd_; }

  // Sends frames[0..n) through the ring to `addr`: returns how many the kernel took, from the first
  // (> 0), or -1 with errno for the first (EBUSY: no free frame; EMSGSIZE: longer than a frame).
  int Send(const iovec* frames, int n, const sockaddr* addr, socklen_t addrLen);

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
  bool broken_ = false;  // set up half, and the socket could not be put back (Open)
  uint32_t head_ = 0;    // the kernel's head: the next frame it looks at
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
