// The sockets the sender thread sends through (UDP, and AF_PACKET for raw mode), and the futex
// calls writers make on the shared memory: the sender's wake-up (futexWake) and the wait for
// room (futexWait), which V8's Atomics cannot make because the other side is a native thread.
#include "common.h"

#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmath>

namespace nc {

namespace {

// futexWait(view: Int32Array over the shared memory, index, expected, timeoutMs) -> 0 woken,
// 1 not-equal, 2 timed out: a writer waiting for room sleeps here (a native FUTEX_WAKE from the
// sender thread does not wake V8's Atomics.wait). Blocks the calling JavaScript thread.
Napi::Value FutexWait(const Napi::CallbackInfo& info) {
  uint8_t* p;
  size_t len;
  if (!ViewOf(info[0], &p, &len)) return ThrowErrno(info.Env(), "futexWait", EINVAL);
  size_t index = info[1].As<Napi::Number>().Uint32Value();
  if (index * 4 + 4 > len) return ThrowErrno(info.Env(), "futexWait", ERANGE);
  int32_t expected = info[2].As<Napi::Number>().Int32Value();
  double ms = info[3].As<Napi::Number>().DoubleValue();
  if (!(ms >= 0)) ms = 0;
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(std::fmod(ms, 1000.0) * 1e6)};
  long r = Futex(p + index * 4, FUTEX_WAIT_PRIVATE, expected, &ts);
  int code = r == 0 ? 0 : errno == EAGAIN ? 1 : errno == ETIMEDOUT ? 2 : 0;  // EINTR: as woken
  return Napi::Number::New(info.Env(), code);
}

// futexWake(view: Int32Array over the shared memory, index): wakes a native sender that sleeps
// on that word. Any thread may call it (writers, after they saw RING_SLEEPING == 2).
Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  uint8_t* p;
  size_t len;
  if (!ViewOf(info[0], &p, &len)) return ThrowErrno(info.Env(), "futexWake", EINVAL);
  size_t index = info[1].As<Napi::Number>().Uint32Value();
  if (index * 4 + 4 > len) return ThrowErrno(info.Env(), "futexWake", ERANGE);
  Futex(p + index * 4, FUTEX_WAKE_PRIVATE, 1, nullptr);
  return info.Env().Undefined();
}

// The send buffer a socket asks for when the caller gives none (bytes; the kernel caps it at
// net.core.wmem_max and doubles it).
constexpr int kDefaultSndbuf = 4 << 20;

int SndbufArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().Int32Value() : kDefaultSndbuf;
}

// udpOpen(family 4|6, address: Uint8Array 4|16, port, sndbuf?) -> fd: a UDP socket with SO_REUSEADDR
// (two processes may both send from the default port 6665) bound to address:port.
Napi::Value UdpOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = info[0].As<Napi::Number>().Int32Value();
  uint8_t* a;
  size_t alen;
  if (!ViewOf(info[1], &a, &alen)) return ThrowErrno(env, "udpOpen", EINVAL);
  uint32_t port = info[2].As<Napi::Number>().Uint32Value();
  sockaddr_storage ss{};
  socklen_t sl;
  if (family == 4 && alen == 4) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    memcpy(&s->sin_addr, a, 4);
    sl = sizeof(sockaddr_in);
  } else if (family == 6 && alen == 16) {
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    memcpy(&s->sin6_addr, a, 16);
    sl = sizeof(sockaddr_in6);
  } else {
    return ThrowErrno(env, "udpOpen", EINVAL);
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  int one = 1;
  int sndbuf = SndbufArg(info, 3);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  // Without IP_RECVERR, UDP reports a datagram a qdisc dropped as sent (counting it only in
  // /proc/net/snmp SndbufErrors): with it, the send fails ENOBUFS and the sender retries. A
  // socket without it would lose such datagrams without a word: refuse to open one.
  int recverr = family == 4 ? setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one)
                            : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one);
  if (recverr < 0) {
    int e = errno;
    close(fd);
    return ThrowErrno(env, family == 4 ? "setsockopt(IP_RECVERR)" : "setsockopt(IPV6_RECVERR)", e);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), sl) < 0) {
    int e = errno;
    close(fd);
    return ThrowErrno(env, "bind", e);
  }
  return Napi::Number::New(env, fd);
}

// packetOpen(ifindex, sndbuf?) -> fd: an AF_PACKET SOCK_RAW socket bound to the device, send only
// (protocol 0: nothing is ever queued for reading), for raw mode's whole Ethernet frames.
Napi::Value PacketOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ifindex = info[0].As<Napi::Number>().Int32Value();
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, "socket(AF_PACKET)", errno);
  int sndbuf = SndbufArg(info, 1);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
    int e = errno;
    close(fd);
    return ThrowErrno(env, "bind(AF_PACKET)", e);
  }
  return Napi::Number::New(env, fd);
}

// closeFd(fd): closes a socket of udpOpen (after the sender's route to it was cleared).
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}
}  // namespace

void InitSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("futexWake", Napi::Function::New(env, FutexWake, "futexWake"));
  exports.Set("futexWait", Napi::Function::New(env, FutexWait, "futexWait"));
  exports.Set("udpOpen", Napi::Function::New(env, UdpOpen, "udpOpen"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("packetOpen", Napi::Function::New(env, PacketOpen, "packetOpen"));
}

}  // namespace nc
