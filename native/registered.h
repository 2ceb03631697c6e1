/*
 * The table of buffers registered with the kernel (io_uring's fixed buffers), kept sorted by
 * address so that an operation's memory finds its index by binary search. Each entry holds a
 * reference to its ArrayBuffer, so that a buffer detached since registration is noticed.
 */
#ifndef AIOFS_REGISTERED_H
#define AIOFS_REGISTERED_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

struct registered {
  uintptr_t start;
  size_t length;
  int index;
  napi_ref owner; /* the ArrayBuffer: once detached, its memory may be another's */
};

/* Sort a freshly built table by address (its indexes are the kernel's, and stay). */
void sort_registered(struct registered *table, unsigned n);
/*
 * The index of the registered buffer holding all of [data, data + length), or -1. A buffer
 * detached since registration no longer counts: its address may now belong to memory the
 * kernel's table does not map.
 */
int registered_index(napi_env env, const struct registered *table, unsigned n, void *data,
                     size_t length);
/* Drop the references the table holds and the table itself. */
void forget_registered(napi_env env, struct registered *table, unsigned n);

#endif
