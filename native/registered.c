/* See registered.h. */
#include "registered.h"

#include <stdlib.h>

int registered_index(napi_env env, const struct registered *table, unsigned n, void *data,
                     size_t length) {
  uintptr_t start = (uintptr_t)data;
  unsigned lo = 0, hi = n;
  while (lo < hi) { /* the last buffer starting at or before `start` */
    unsigned mid = lo + (hi - lo) / 2;
    if (table[mid].start <= start) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0 || length == 0) return -1;
  const struct registered *r = &table[lo - 1];
  if (start - r->start > r->length || length > r->length - (start - r->start)) return -1;
  napi_value owner;
  bool detached = true;
  if (napi_get_reference_value(env, r->owner, &owner) != napi_ok || !owner ||
      napi_is_detached_arraybuffer(env, owner, &detached) != napi_ok || detached)
    return -1;
  return r->index;
}

static int by_start(const void *a, const void *b) {
  uintptr_t x = ((const struct registered *)a)->start, y = ((const struct registered *)b)->start;
  return x < y ? -1 : x > y;
}

void sort_registered(struct registered *table, unsigned n) {
  qsort(table, n, sizeof(*table), by_start);
}

void forget_registered(napi_env env, struct registered *table, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    if (table[i].owner) napi_delete_reference(env, table[i].owner);
  free(table);
}
