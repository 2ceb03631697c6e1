/* See owned_fds.h. */
#include "owned_fds.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void own_fd(struct owned_fds *o, int fd) {
  if (fd < 0) return;
  size_t word = (size_t)fd / 64;
  if (word >= o->words) {
    size_t words = o->words ? o->words : 16;
    while (words <= word) words *= 2;
    uint64_t *bits = realloc(o->bits, words * sizeof(*bits));
    if (!bits) return;
    memset(bits + o->words, 0, (words - o->words) * sizeof(*bits));
    o->bits = bits;
    o->words = words;
  }
  o->bits[word] |= UINT64_C(1) << (fd % 64);
}

int disown_fd(struct owned_fds *o, int fd) {
  if (fd < 0 || (size_t)fd / 64 >= o->words) return 0;
  uint64_t bit = UINT64_C(1) << (fd % 64);
  int owned = (o->bits[fd / 64] & bit) != 0;
  o->bits[fd / 64] &= ~bit;
  return owned;
}

void close_owned(struct owned_fds *o) {
  for (size_t word = 0; word < o->words; word++)
    for (int bit = 0; bit < 64; bit++)
      if (o->bits[word] & (UINT64_C(1) << bit)) close((int)(word * 64 + bit));
  free(o->bits);
  o->bits = NULL;
  o->words = 0;
}
