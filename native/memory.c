/* Addresses of JavaScript memory, for the aligned allocator (src/direct/aligned.ts). */
#include <errno.h>
#include <stdint.h>

#include "memory.h"

static napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  return napi_create_int64(env, v, &r) == napi_ok ? r : NULL;
}

napi_value aiofs_js_misalignment(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  void *data = NULL;
  bool is = false;
  uint32_t alignment;
  if (argc < 2 || napi_get_value_uint32(env, argv[1], &alignment) != napi_ok || alignment == 0 ||
      (alignment & (alignment - 1)) != 0)
    return make_int(env, -EINVAL);
  if (napi_is_typedarray(env, argv[0], &is) == napi_ok && is) {
    if (napi_get_typedarray_info(env, argv[0], NULL, NULL, &data, NULL, NULL) != napi_ok)
      return make_int(env, -EINVAL);
  } else if (napi_is_dataview(env, argv[0], &is) == napi_ok && is) {
    if (napi_get_dataview_info(env, argv[0], NULL, &data, NULL, NULL) != napi_ok)
      return make_int(env, -EINVAL);
  } else {
    return make_int(env, -EINVAL);
  }
  return make_int(env, (int64_t)((uintptr_t)data & (alignment - 1)));
}
