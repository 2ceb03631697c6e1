#ifndef AIOFS_MEMORY_H
#define AIOFS_MEMORY_H

#include <node_api.h>

/*
 * misalignment(view, alignment) -> the view's start address modulo `alignment` (a power of two),
 * or -EINVAL. ArrayBuffer memory never moves, so JavaScript can carve aligned views from it.
 * Portable: every platform's addon has it.
 */
napi_value aiofs_js_misalignment(napi_env env, napi_callback_info info);

#endif
