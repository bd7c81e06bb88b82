// bench/boundary: an N-API addon with one empty function, to time a JS -> native call and nothing
// else (the library's addon has no empty export; getcpu() is a vDSO call on top).
#include <node_api.h>

static napi_value noop(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "noop", NAPI_AUTO_LENGTH, noop, NULL, &fn);
  napi_set_named_property(env, exports, "noop", fn);
  return exports;
}
