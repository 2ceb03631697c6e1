/*
 * Platforms without io_uring or Linux AIO get an addon that offers no kernel engine, so that
 * `npm install` still succeeds and the `threads` backend (node:fs) carries every operation.
 */
#include <node_api.h>

static napi_value init(napi_env env, napi_value exports) {
  (void)env;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
