// The sockets the sender thread sends through (UDP, and AF_PACKET for raw mode).
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common.h"

namespace nc {

namespace {

// The send buffer a socket asks for when the caller gives none (bytes; the kernel caps it at
// net.core.wmem_max and doubles it).
constexpr int kDefaultSndbuf = 4 << 20;

// Closes fd and throws for what failed (errno kept from before close()).
Napi::Value CloseThrow(Napi::Env env, int fd, const char* what) {
  int e = errno;
  close(fd);
  return ThrowErrno(env, what, e);
}

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
  if (!MakeSockaddr(family, a, alen, port, &ss, &sl)) return ThrowErrno(env, "udpOpen", EINVAL);
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  int one = 1;
  int sndbuf = SndbufArg(info, 3);
  // Every option is checked: a socket without one of them is not the socket the sender counts on.
  // Without IP_RECVERR in particular, UDP reports a datagram a qdisc dropped as sent (counting it
  // only in /proc/net/snmp SndbufErrors): with it, the send fails ENOBUFS and the sender retries.
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    return CloseThrow(env, fd, "setsockopt(SO_REUSEADDR)");
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0)
    return CloseThrow(env, fd, "setsockopt(SO_SNDBUF)");
  if (family == 4 ? setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one) < 0
                  : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one) < 0) {
    return CloseThrow(env, fd, family == 4 ? "setsockopt(IP_RECVERR)" : "setsockopt(IPV6_RECVERR)");
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), sl) < 0) return CloseThrow(env, fd, "bind");
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
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0)
    return CloseThrow(env, fd, "setsockopt(SO_SNDBUF)");
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) return CloseThrow(env, fd, "bind(AF_PACKET)");
  return Napi::Number::New(env, fd);
}

// closeFd(fd): closes a socket of udpOpen (after the sender's route to it was cleared).
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}
}  // namespace

void InitSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("udpOpen", Napi::Function::New(env, UdpOpen, "udpOpen"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("packetOpen", Napi::Function::New(env, PacketOpen, "packetOpen"));
}

}  // namespace nc
