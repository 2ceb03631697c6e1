/*
 * Platforms without io_uring or Linux AIO get an addon that offers no kernel engine, so that
 * `npm install` still succeeds and the `threads` backend (node:fs) carries every operation.
 * Aligned allocation works everywhere.
 */
#include <node_api.h>

#include "memory.h"

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"misalignment", NULL, aiofs_js_misalignment, NULL, NULL, NULL, napi_default_method, NULL}};
  if (napi_define_properties(env, exports, 1, fns) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
