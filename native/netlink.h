// What the rtnetlink watcher (netlink.cc) and the synchronous dump (netlink-dump.cc) share: the
// arguments (type, family) of a dump, the dump request built and sent, the socket's port id.
#pragma once

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "common.h"

namespace nc {

constexpr size_t kNetlinkRecvBuffer = 64 * 1024;  // > the largest dump chunk the kernel builds (32 KiB)

// Size of the family header that follows nlmsghdr in a request of `type`.
inline size_t RequestHeaderSize(uint16_t type) {
  if (type >= RTM_BASE && type < RTM_BASE + 4) return sizeof(ifinfomsg);  // links
  if (type >= RTM_NEWADDR && type < RTM_NEWADDR + 4) return sizeof(ifaddrmsg);
  if (type >= RTM_NEWROUTE && type < RTM_NEWROUTE + 4) return sizeof(rtmsg);
  if (type >= RTM_NEWNEIGH && type < RTM_NEWNEIGH + 4) return sizeof(ndmsg);
  return NLMSG_ALIGN(sizeof(rtgenmsg));
}

// Sends a NLM_F_DUMP request of `type` for `family`, numbered `seq`, to the kernel: 0, or sendto's
// errno.
inline int SendDumpRequest(int fd, uint16_t type, uint8_t family, uint32_t seq) {
  uint8_t req[64] = {};
  size_t len = NLMSG_LENGTH(RequestHeaderSize(type));
  static_assert(NLMSG_LENGTH(sizeof(ifinfomsg)) <= sizeof req, "the largest family header fits");
  nlmsghdr* nlh = reinterpret_cast<nlmsghdr*>(req);
  nlh->nlmsg_len = static_cast<uint32_t>(len);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_pid = 0;
  // The family is the first byte of every rtnetlink family header (rtgenmsg, ifinfomsg, ...).
  req[NLMSG_HDRLEN] = family;
  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  for (;;) {
    if (sendto(fd, req, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

inline bool ArgsTypeFamily(const Napi::CallbackInfo& info, const char* what, uint16_t* type, uint8_t* family) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, std::string(what) + ": expected (type: number, family: number)")
        .ThrowAsJavaScriptException();
    return false;
  }
  uint32_t t = info[0].As<Napi::Number>().Uint32Value();
  uint32_t f = info[1].As<Napi::Number>().Uint32Value();
  if (t < RTM_BASE || t > 0xffff || f > 0xff) {
    Napi::RangeError::New(env, std::string(what) + ": type must be an RTM_* message type, family 0..255")
        .ThrowAsJavaScriptException();
    return false;
  }
  *type = static_cast<uint16_t>(t);
  *family = static_cast<uint8_t>(f);
  return true;
}

inline uint32_t PortIdOf(int fd) {
  sockaddr_nl sa{};
  socklen_t len = sizeof sa;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) return 0;
  return sa.nl_pid;
}

// netlinkDump(type, family) -> Buffer (netlink-dump.cc).
Napi::Value NetlinkDump(const Napi::CallbackInfo& info);

}  // namespace nc
