#ifndef AIOFS_DIRECT_H
#define AIOFS_DIRECT_H

#include <stdint.h>

/* What an open fd says about O_DIRECT. Zero alignments mean the kernel did not say. */
struct aiofs_direct_info {
  int direct;            /* O_DIRECT is set on the open file */
  uint32_t mem_align;    /* statx STATX_DIOALIGN: buffer address alignment */
  uint32_t offset_align; /* ... file offset and length alignment */
  uint32_t dev_major;    /* the device holding the file, for finding its logical block size */
  uint32_t dev_minor;
};

/* Set or clear O_DIRECT on `fd`: 0, or -errno (-EINVAL: the filesystem cannot do direct I/O). */
int aiofs_set_direct(int fd, int enable);

/* Fill `out` for `fd`: 0, or -errno (-EBADF for a closed fd). */
int aiofs_direct_info(int fd, struct aiofs_direct_info *out);

#endif
