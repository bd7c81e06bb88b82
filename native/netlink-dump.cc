// netlinkDump: a synchronous rtnetlink dump on a socket of its own, for look-ups
// (src/netdev/rtnetlink-dump.ts).
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "netlink.h"

namespace nc {

// netlinkDump(type, family) -> Buffer: every reply message of one dump, concatenated, up to and
// including NLMSG_DONE (whose flags may carry NLM_F_DUMP_INTR). Throws with `errno` on failure
// (an NLMSG_ERROR reply included).
Napi::Value NetlinkDump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t type;
  uint8_t family;
  if (!ArgsTypeFamily(info, "netlinkDump", &type, &family)) return env.Undefined();

  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timeval tv{5, 0};  // a dump always ends; this only guards against a wedged kernel
  // Without it a wedged kernel would hang the caller's thread (the event loop) for good: refused.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
    return ThrowErrno(env, "setsockopt(SO_RCVTIMEO)", errno);
  // Best effort: the kernel builds a dump's replies one chunk at a time as they are read
  // (netlink_dump runs again from recvmsg once the queue is half empty), so even the default
  // buffer holds what is queued; a larger one only saves wake-ups.
  static_cast<void>(AskRcvbuf(fd, 1 << 20, true));
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return ThrowErrno(env, "bind", errno);
  uint32_t portId = PortIdOf(fd);

  const uint32_t seq = 1;
  if (int e = SendDumpRequest(fd, type, family, seq)) return ThrowErrno(env, "sendto", e);

  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(kNetlinkRecvBuffer);
  for (;;) {
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ThrowErrno(env, "recvmsg", errno);
    }
    if ((msg.msg_flags & MSG_TRUNC) != 0) return ThrowErrno(env, "recvmsg", EMSGSIZE);
    if (n == 0) return ThrowErrno(env, "recvmsg", EPIPE);
    size_t rem = static_cast<size_t>(n);
    for (nlmsghdr* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(nlh, rem); nlh = NLMSG_NEXT(nlh, rem)) {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portId) continue;
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return ThrowErrno(env, "netlink", EBADMSG);
        const nlmsgerr* err = static_cast<const nlmsgerr*>(NLMSG_DATA(nlh));
        if (err->error == 0) continue;  // an ACK
        return ThrowErrno(env, "netlink dump", -err->error);
      }
      const uint8_t* p = reinterpret_cast<const uint8_t*>(nlh);
      // Keep every message 4-aligned in the output, as in a recv() buffer.
      out.insert(out.end(), p, p + nlh->nlmsg_len);
      out.resize(NLMSG_ALIGN(out.size()), 0);
      if (nlh->nlmsg_type == NLMSG_DONE) {
        return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
      }
    }
  }
}

}  // namespace nc
