// netconsole native addon: the kernel-facing half of the library.
// This first cut exposes what the write path needs from the OS that Node itself cannot give:
// the CPU the calling thread runs on (sysdata `cpu=`), and the raw address of a view over the
// shared WebAssembly memory (napi_get_arraybuffer_info refuses a SharedArrayBuffer in Node 20,
// so the pointer is taken from a typed-array view; it never moves when the memory grows).
// sender.cc: the sender thread (sendmmsg out of the ring) and its sockets.
#include <napi.h>
#include <sched.h>

#include <cstdint>

namespace nc {
void InitSender(Napi::Env env, Napi::Object exports);
void InitNetlink(Napi::Env env, Napi::Object exports);  // netlink.cc: rtnetlink watcher and dumps
}

namespace {

// getcpu() -> number: sched_getcpu() of the calling thread, -1 when unavailable.
Napi::Value GetCpu(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), sched_getcpu());
}

// viewAddress(view) -> bigint: address of byte 0 of a TypedArray (SharedArrayBuffer-backed ok).
Napi::Value ViewAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "viewAddress: expected a TypedArray").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, ta, &type, &length, &data, &ab, &offset) != napi_ok) {
    Napi::Error::New(env, "viewAddress: napi_get_typedarray_info failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data)));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 2));
  exports.Set("getcpu", Napi::Function::New(env, GetCpu, "getcpu"));
  exports.Set("viewAddress", Napi::Function::New(env, ViewAddress, "viewAddress"));
  nc::InitSender(env, exports);
  nc::InitNetlink(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(netconsole, Init)
