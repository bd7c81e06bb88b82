// The process's disposition of a signal, saved and put back (src/host/signals.ts). Node handles
// SIGINT and SIGTERM itself until a JavaScript listener takes them: its handler restores the
// terminal modes and the stdio descriptors' O_NONBLOCK flags of startup, then dies of the signal.
// Adding a listener replaces that handler with libuv's, and removing the last one leaves SIG_DFL,
// not Node's handler. The signal hook saves the disposition before it adds its listener and puts
// it back before it re-raises (and when it removes its listener at close()), so the process ends
// exactly as Node would have ended it. The bytes live in JavaScript: no state here.
#include <signal.h>

#include "common.h"

namespace nc {

namespace {

// signalAction(signum) -> Buffer: the current struct sigaction of `signum`. Throws with errno.
Napi::Value SignalAction(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct sigaction sa;
  if (sigaction(info[0].As<Napi::Number>().Int32Value(), nullptr, &sa) < 0) return ThrowErrno(env, "sigaction", errno);
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&sa), sizeof sa);
}

// setSignalAction(signum, saved): puts back a disposition signalAction() returned. Throws with errno.
Napi::Value SetSignalAction(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* p;
  size_t len;
  if (!ViewOf(info[1], &p, &len) || len != sizeof(struct sigaction)) return ThrowErrno(env, "sigaction", EINVAL);
  struct sigaction sa;
  memcpy(&sa, p, sizeof sa);
  if (sigaction(info[0].As<Napi::Number>().Int32Value(), &sa, nullptr) < 0) return ThrowErrno(env, "sigaction", errno);
  return env.Undefined();
}

}  // namespace

void InitSignals(Napi::Env env, Napi::Object exports) {
  exports.Set("signalAction", Napi::Function::New(env, SignalAction, "signalAction"));
  exports.Set("setSignalAction", Napi::Function::New(env, SetSignalAction, "setSignalAction"));
}

}  // namespace nc
