#define _GNU_SOURCE /* splice */
#include "splice.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* File types in stx_mode (linux/stat.h spells them only for non-glibc userspace). */
#define AIOFS_S_IFMT 0170000
#define AIOFS_S_IFIFO 0010000
#define AIOFS_S_IFREG 0100000

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
  ssize_t moved;
  do {
    moved = splice(in, off_in, out, NULL, length, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  } while (moved < 0 && errno == EINTR);
  return moved < 0 ? -errno : moved;
}

/*
 * Type and size of an open file, by the raw statx system call (Linux 4.11): glibc's fstat is a
 * symbol of glibc 2.33, newer than the prebuilt binaries may need (scripts/prebuild.sh).
 */
static int file_of(int fd, struct statx *st) {
  if (syscall(__NR_statx, fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, st) < 0) return -errno;
  return 0;
}

static int is_pipe(int fd) {
  struct statx st;
  int ret = file_of(fd, &st);
  if (ret < 0) return ret;
  return (st.stx_mode & AIOFS_S_IFMT) == AIOFS_S_IFIFO ? 1 : 0;
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
  struct statx st;
  if (offset < 0) return -EINVAL;
  int ret = file_of(fd, &st);
  if (ret < 0) return ret;
  int pipe = is_pipe(pipe_fd);
  if (pipe < 0) return pipe;
  if ((st.stx_mode & AIOFS_S_IFMT) != AIOFS_S_IFREG || !pipe) return -EINVAL;
  if ((uint64_t)offset >= st.stx_size || length == 0) return 0;
  if ((uint64_t)length > st.stx_size - (uint64_t)offset) length = (size_t)(st.stx_size - (uint64_t)offset);
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
