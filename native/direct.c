/*
 * O_DIRECT on an open fd: switching it on or off, and what the kernel says about the alignment
 * it then needs. Both calls act on an fd the caller already holds: no path lookup, no I/O (statx
 * of an open file reads the in-memory inode), so they are made inline rather than on a ring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "direct.h"

#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x00002000U /* Linux 6.1 */
#endif
/*
 * Where statx puts the two alignments (Linux 6.1). Older UAPI headers call these bytes __spare3,
 * so they are read by offset; uapi_check.c asserts the offsets where the header names them.
 */
#define STX_DIO_MEM_ALIGN_OFFSET 152
#define STX_DIO_OFFSET_ALIGN_OFFSET 156

int aiofs_set_direct(int fd, int enable) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  int wanted = enable ? flags | O_DIRECT : flags & ~O_DIRECT;
  if (wanted != flags && fcntl(fd, F_SETFL, wanted) < 0) return -errno;
  return 0;
}

int aiofs_direct_info(int fd, struct aiofs_direct_info *out) {
  memset(out, 0, sizeof(*out));
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  out->direct = (flags & O_DIRECT) != 0;
  struct statx st;
  memset(&st, 0, sizeof(st));
  if (syscall(__NR_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &st) < 0) {
    if (errno == ENOSYS) return 0; /* before 4.11: the alignment is unknown, not an error */
    return -errno;
  }
  if (st.stx_mask & STATX_DIOALIGN) {
    memcpy(&out->mem_align, (const char *)&st + STX_DIO_MEM_ALIGN_OFFSET, sizeof(uint32_t));
    memcpy(&out->offset_align, (const char *)&st + STX_DIO_OFFSET_ALIGN_OFFSET, sizeof(uint32_t));
  }
  out->dev_major = st.stx_dev_major;
  out->dev_minor = st.stx_dev_minor;
  return 0;
}
