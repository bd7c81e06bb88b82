// The TX ring of a raw-mode socket (txring.h says what the kernel does and what this relies on).
#include "txring.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

namespace nc {

namespace {

constexpr uint32_t kFramesPerBlock = kTxBlockSize / kTxFrameSize;
constexpr uint32_t kBlocks = kTxFrames / kFramesPerBlock;
static_assert(kTxBlockSize % kTxFrameSize == 0 && kTxFrames % kFramesPerBlock == 0, "whole blocks of whole frames");
// Where a frame's data starts: the kernel's default for TX without PACKET_TX_HAS_OFF
// (tp_hdrlen - sizeof(sockaddr_ll), the aligned tpacket2_hdr).
constexpr uint32_t kDataOff = TPACKET2_HDRLEN - sizeof(sockaddr_ll);
constexpr uint32_t kDataMax = kTxFrameSize - kDataOff;
// Timestamp bits the kernel may add to AVAILABLE when it frees the skb (SO_TIMESTAMPING).
constexpr uint32_t kTsBits = TP_STATUS_TS_SOFTWARE | TP_STATUS_TS_SYS_HARDWARE | TP_STATUS_TS_RAW_HARDWARE;

uint32_t Status(uint8_t* f) {
  return __atomic_load_n(&reinterpret_cast<tpacket2_hdr*>(f)->tp_status, __ATOMIC_ACQUIRE) & ~kTsBits;
}
void SetStatus(uint8_t* f, uint32_t s) {
  __atomic_store_n(&reinterpret_cast<tpacket2_hdr*>(f)->tp_status, s, __ATOMIC_RELEASE);
}

std::string Why(const char* what, int e) { return std::string(what) + ": " + strerror(e); }

}  // namespace

std::string TxRing::Open(int fd) {
  Close();
  int version = TPACKET_V2;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) return Why("setsockopt(PACKET_VERSION)", errno);
  tpacket_req req{kTxBlockSize, kBlocks, kTxFrameSize, kTxFrames};
  if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0) return Why("setsockopt(PACKET_TX_RING)", errno);
  size_t len = static_cast<size_t>(kTxBlockSize) * kBlocks;
  void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    int e = errno;
    tpacket_req none{};  // no blocks: the ring is released, sends go through sendmmsg again
    setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &none, sizeof none);
    return Why("mmap(PACKET_TX_RING)", e);
  }
  fd_ = fd;
  map_ = static_cast<uint8_t*>(m);
  mapLen_ = len;
  head_ = 0;
  return "";
}

void TxRing::Close() {
  if (map_ != nullptr) munmap(map_, mapLen_);
  map_ = nullptr;
  fd_ = -1;
}

int TxRing::Send(const iovec* frames, int n, const sockaddr* addr, socklen_t addrLen) {
  int put = 0;
  for (; put < n; put++) {
    uint8_t* f = Frame((head_ + put) % kTxFrames);
    size_t len = frames[put].iov_len;
    if (Status(f) != TP_STATUS_AVAILABLE || len > kDataMax) break;  // still the kernel's, or too long
    memcpy(f + kDataOff, frames[put].iov_base, len);
    reinterpret_cast<tpacket2_hdr*>(f)->tp_len = static_cast<uint32_t>(len);
    SetStatus(f, TP_STATUS_SEND_REQUEST);  // after the bytes (release)
  }
  if (put == 0) {
    errno = frames[0].iov_len > kDataMax ? EMSGSIZE : EBUSY;
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

std::string TxRings::Use(int fd) {
  if (Of(fd) != nullptr) return "";
  auto r = std::make_unique<TxRing>();
  std::string why = r->Open(fd);
  if (why.empty()) rings_.push_back(std::move(r));
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
