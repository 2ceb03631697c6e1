#define _GNU_SOURCE /* splice */
#include "splice.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "limits.h"

#ifndef __NR_cachestat
#define __NR_cachestat 451 /* the same number on every architecture (the generic table) */
#endif

/* include/uapi/linux/mman.h (Linux 6.5), spelled here for older headers. */
struct aiofs_cachestat_range {
  uint64_t off;
  uint64_t len;
};
struct aiofs_cachestat {
  uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

static ssize_t splice_once(int in, loff_t *off_in, int out, size_t length) {
  if (length > AIOFS_MAX_RW_COUNT) length = AIOFS_MAX_RW_COUNT;
  ssize_t moved;
  do {
    moved = splice(in, off_in, out, NULL, length, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  } while (moved < 0 && errno == EINTR);
  return moved < 0 ? -errno : moved;
}

static int is_pipe(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  return S_ISFIFO(st.st_mode) ? 1 : 0;
}

ssize_t aiofs_drain_pipe(int pipe_fd, int out_fd, size_t length) {
  int pipe = is_pipe(pipe_fd);
  if (pipe < 0) return pipe;
  int flags = fcntl(out_fd, F_GETFL);
  if (flags < 0) return -errno;
  if (!pipe || !(flags & O_NONBLOCK)) return -EINVAL;
  return splice_once(pipe_fd, NULL, out_fd, length);
}

ssize_t aiofs_splice_resident(int fd, int64_t offset, int pipe_fd, size_t length) {
  struct stat st;
  if (offset < 0) return -EINVAL;
  if (fstat(fd, &st) < 0) return -errno;
  int pipe = is_pipe(pipe_fd);
  if (pipe < 0) return pipe;
  if (!S_ISREG(st.st_mode) || !pipe) return -EINVAL;
  if (offset >= st.st_size || length == 0) return 0;
  if ((uint64_t)length > (uint64_t)(st.st_size - offset)) length = (size_t)(st.st_size - offset);
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) page = 4096;
  uint64_t first = (uint64_t)offset / (uint64_t)page;
  uint64_t last = ((uint64_t)offset + length - 1) / (uint64_t)page;
  struct aiofs_cachestat_range range = {.off = first * (uint64_t)page, .len = (last - first + 1) * (uint64_t)page};
  struct aiofs_cachestat cs;
  if (syscall(__NR_cachestat, fd, &range, &cs, 0) < 0) return -errno;
  if (cs.nr_cache < last - first + 1) return -EAGAIN;
  loff_t at = offset;
  return splice_once(fd, &at, pipe_fd, length);
}
