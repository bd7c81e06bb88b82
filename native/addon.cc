// netconsole native addon: the kernel-facing half of the library.
//   addon.cc   getcpu(): the CPU of the calling thread (sysdata `cpu=`), and the module's init;
//   sender.cc  the sender thread (sendmmsg out of the ring);
//   sockets.cc UDP and AF_PACKET sockets, futexWake and futexWait;
//   common.h   ThrowErrno (every system error, with errno, code and syscall), ViewOf, Futex;
//   netlink.cc the rtnetlink watcher (device events), netlink-dump.cc its dumps (look-ups);
//   signals.cc a signal's disposition, saved and put back (the signal hook's re-raise).
#include <sched.h>

#include <cstdint>

#include "common.h"

namespace {

// getcpu() -> number: sched_getcpu() of the calling thread, -1 when unavailable.
Napi::Value GetCpu(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), sched_getcpu()); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 7));
  exports.Set("getcpu", Napi::Function::New(env, GetCpu, "getcpu"));
  nc::InitSender(env, exports);
  nc::InitSockets(env, exports);
  nc::InitFutex(env, exports);
  nc::InitNetlink(env, exports);
  nc::InitSignals(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(netconsole, Init)
