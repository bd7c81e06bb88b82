// What the addon's files share: the one way a system call's failure becomes a JavaScript error,
// the pointer into the shared memory, and the futex system call.
#pragma once

#include <errno.h>
#include <linux/futex.h>
#include <linux/if_packet.h>
#include <napi.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <cstdint>
#include <string>

#include "layout.h"

namespace nc {

constexpr int kMaxTargets = layout::MAX_TARGETS;

// The ring bytes of a slot of `len` payload bytes (assembly/ring.ts slotBytes).
inline uint64_t SlotBytes(uint32_t len) {
  return layout::SLOT_HDR + ((uint64_t{len} + layout::SLOT_ALIGN - 1) & ~uint64_t{layout::SLOT_ALIGN - 1});
}

// Throws an Error like Node's own system errors: message "<what>: <strerror>", `errno` (positive),
// `code` ('EAGAIN', ...) and `syscall`. src/base/errors.ts (asNetconsoleError) keeps these fields.
inline Napi::Value ThrowErrno(Napi::Env env, const char* what, int err) {
  Napi::Error e = Napi::Error::New(env, std::string(what) + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("syscall", Napi::String::New(env, what));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

// The bytes of a typed array (over an ArrayBuffer or a SharedArrayBuffer). napi_get_arraybuffer_info
// refuses a SharedArrayBuffer; a view's info gives the pointer, which never moves when the
// WebAssembly memory grows.
inline bool ViewOf(const Napi::Value& v, uint8_t** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  napi_typedarray_type type;
  size_t length;
  void* p;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(v.Env(), ta, &type, &length, &p, &ab, &offset) != napi_ok) return false;
  *data = static_cast<uint8_t*>(p);
  *len = ta.ByteLength();
  return true;
}

// A socket address from a family (4, 6, or AF_PACKET), its address bytes (4, 16, or a 6-byte MAC)
// and a port (for AF_PACKET: the device's ifindex). False when they do not go together.
inline bool MakeSockaddr(int family, const uint8_t* a, size_t alen, uint32_t port, sockaddr_storage* ss,
                         socklen_t* sl) {
  *ss = sockaddr_storage{};
  if (family == 4 && alen == 4) {
    auto* s = reinterpret_cast<sockaddr_in*>(ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    memcpy(&s->sin_addr, a, 4);
    *sl = sizeof(sockaddr_in);
  } else if (family == 6 && alen == 16) {
    auto* s = reinterpret_cast<sockaddr_in6*>(ss);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    memcpy(&s->sin6_addr, a, 16);
    *sl = sizeof(sockaddr_in6);
  } else if (family == AF_PACKET && alen == 6) {
    auto* s = reinterpret_cast<sockaddr_ll*>(ss);
    s->sll_family = AF_PACKET;
    s->sll_ifindex = static_cast<int>(port);
    s->sll_halen = 6;
    memcpy(s->sll_addr, a, 6);
    *sl = sizeof(sockaddr_ll);
  } else {
    return false;
  }
  return true;
}

// Asks for a receive buffer of `bytes`: with `force`, SO_RCVBUFFORCE first (past
// net.core.rmem_max; CAP_NET_ADMIN); else, or refused, SO_RCVBUF, which the kernel caps at
// rmem_max without a word. Returns false when refused: the socket keeps its default buffer
// (net.core.rmem_default). A request, never a need: a buffer smaller than asked is what the cap
// gives anyway, so each caller says why an overrun costs it nothing but time.
[[nodiscard]] inline bool AskRcvbuf(int fd, int bytes, bool force) {
  return (force && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) == 0) ||
         setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0;
}

inline long Futex(void* addr, int op, int val, const timespec* ts) {
  return syscall(SYS_futex, addr, op, val, ts, nullptr, 0);
}

void InitSender(Napi::Env env, Napi::Object exports);   // sender.cc: the sender thread
void InitSockets(Napi::Env env, Napi::Object exports);  // sockets.cc: sockets
void InitFutex(Napi::Env env, Napi::Object exports);    // futex.cc: futexWake, futexWait
void InitNetlink(Napi::Env env, Napi::Object exports);  // netlink.cc: rtnetlink watcher and dumps
void InitSignals(Napi::Env env, Napi::Object exports);  // signals.cc: a signal's disposition, saved and put back

}  // namespace nc
