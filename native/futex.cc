// The futex calls writers make on the shared memory: the sender's wake-up (futexWake) and the
// wait for room (futexWait), which V8's Atomics cannot make because the other side is a native
// thread (a native FUTEX_WAKE does not wake Atomics.wait, nor the reverse).
#include <cmath>

#include "common.h"

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

}  // namespace

void InitFutex(Napi::Env env, Napi::Object exports) {
  exports.Set("futexWake", Napi::Function::New(env, FutexWake, "futexWake"));
  exports.Set("futexWait", Napi::Function::New(env, FutexWait, "futexWait"));
}

}  // namespace nc
