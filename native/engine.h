/*
 * The contract between the Node-API glue (addon.c) and the kernel engines (uring.c, aio.c).
 *
 * An engine queues operations described only by an opcode, fds, memory, offsets and (for the
 * metadata operations) NUL-terminated path strings, hands them to the kernel in batches, and
 * reports each completion as (user, result). It knows nothing of files' contents or JavaScript. Every function returns a result >= 0 or -errno; none sets or
 * relies on the global errno as its way to report failure.
 */
#ifndef AIOFS_ENGINE_H
#define AIOFS_ENGINE_H

#include <stdint.h>
#include <sys/uio.h>

/* Operation codes shared with JavaScript (src/backend/op.ts mirrors them). */
enum aiofs_op {
  AIOFS_OP_READ = 0,
  AIOFS_OP_WRITE = 1,
  AIOFS_OP_READV = 2,
  AIOFS_OP_WRITEV = 3,
  AIOFS_OP_FSYNC = 4,
  AIOFS_OP_FDATASYNC = 5,
  AIOFS_OP_OPENAT = 6,
  AIOFS_OP_CLOSE = 7,
  AIOFS_OP_STATX = 8,
  AIOFS_OP_RENAMEAT = 9,
  AIOFS_OP_UNLINKAT = 10,
  AIOFS_OP_MKDIRAT = 11,
  AIOFS_OP_SYMLINKAT = 12,
  AIOFS_OP_LINKAT = 13,
  AIOFS_OP_FALLOCATE = 14,
  AIOFS_OP_FTRUNCATE = 15,
  AIOFS_OP_SPLICE = 16,
  AIOFS_OP_POLL = 17,
  AIOFS_OP_OPENAT2 = 18,
};

/*
 * A metadata operation: `op` says which member of `args` holds its arguments, named as the
 * system call it stands for names them. Paths are NUL-terminated and, like `statx`, must stay
 * valid until the completion has been reaped.
 */
/* renameat2's and linkat's arguments, which have the same shape. */
struct aiofs_two_paths {
  int olddirfd;
  const char *oldpath;
  int newdirfd;
  const char *newpath;
  unsigned flags;
};

struct aiofs_meta {
  int op;
  union {
    struct { int dirfd; const char *path; int flags; uint32_t mode; } openat; /* -> the new fd */
    struct { int fd; } close;
    struct { int dirfd; const char *path; int flags; uint32_t mask; void *statx; } statx;
    struct aiofs_two_paths renameat;
    struct { int dirfd; const char *path; int flags; } unlinkat; /* AT_REMOVEDIR: rmdir */
    struct { int dirfd; const char *path; uint32_t mode; } mkdirat;
    struct { const char *target; int newdirfd; const char *linkpath; } symlinkat;
    struct aiofs_two_paths linkat;
    struct { int fd; int mode; int64_t offset; int64_t length; } fallocate;
    struct { int fd; int64_t length; } ftruncate;
    /* splice(fd_in, off_in, fd_out, NULL, len, flags): off_in -1 for a pipe's own position. */
    struct { int fd_in; int64_t off_in; int fd_out; uint32_t len; unsigned flags; } splice;
    /* Completes when `fd` is ready for `events` (POLLOUT...), with the events it is ready for. */
    struct { int fd; unsigned events; } poll;
    /* openat2(dirfd, path, how, sizeof *how) -> the new fd; `how` (a struct open_how) must stay
       valid until the completion, as the path does. */
    struct { int dirfd; const char *path; const void *how; } openat2;
  } args;
};

/* The offset of a transfer at the file's own position (read(2) rather than pread(2)). */
#define AIOFS_CURRENT_POSITION ((int64_t)-1)

/* One completion as delivered to JavaScript: two int32 per entry. */
struct aiofs_completion {
  int32_t user;
  int32_t result;
};

struct aiofs_engine_ops {
  /*
   * Queue one operation. `user` identifies it in its completion. The memory at `buf` (or every
   * iovec) must stay valid until that completion has been reaped; `iov` itself must stay valid
   * until then too (the kernel may read it late). Returns 0, or -EBUSY when the submission queue
   * is full (call submit, then try again), or another -errno for an operation the engine refuses.
   * `buf_index` >= 0 says that [buf, buf + len) lies inside the registered buffer of that index
   * (see register_buffers); -1 for any other memory. `offset` AIOFS_CURRENT_POSITION (prep_rw and
   * prep_rwv) reads or writes at the file's own position and moves it, as read(2) and write(2)
   * do; an engine that cannot answers -EOPNOTSUPP, and the caller does it another way.
   */
  int (*prep_rw)(void *engine, int op, int fd, void *buf, uint32_t len, int64_t offset,
                 int buf_index, uint32_t user);
  int (*prep_rwv)(void *engine, int op, int fd, const struct iovec *iov, unsigned iovcnt,
                  int64_t offset, uint32_t user);
  int (*prep_fsync)(void *engine, int fd, int datasync, uint32_t user);
  /*
   * Queue a metadata operation. Its strings and statx buffer must stay valid until the
   * completion has been reaped. -EOPNOTSUPP when the engine (or the running kernel) lacks it:
   * the caller then does it another way.
   */
  int (*prep_meta)(void *engine, const struct aiofs_meta *meta, uint32_t user);
  /*
   * Register `n` buffers (n = 0: drop the registration) so that prep_rw can name them by index
   * and the kernel skips pinning their pages on every operation. The memory must stay valid
   * until it is unregistered or the engine destroyed. Only called with nothing in flight.
   * -EOPNOTSUPP for an engine without the notion; -ENOMEM when the memlock limit is reached.
   */
  int (*register_buffers)(void *engine, const struct iovec *iov, unsigned n);
  /* Ask the kernel to cancel the operation queued as `target`; its own completion is `user`. */
  int (*prep_cancel)(void *engine, uint32_t target, uint32_t user);
  /*
   * Hand every queued operation to the kernel. Returns how many the kernel took, or -errno.
   * -EAGAIN and -EBUSY mean the kernel took none for now: the operations stay queued, nothing is
   * lost or submitted twice, and a later submit (best after reaping) retries them.
   */
  int (*submit)(void *engine);
  /*
   * Optional (NULL for an engine whose completions come only from this thread's system calls).
   * Called right after a submit that handed over one operation awaited alone, or the batch a
   * tick of the event loop made: where a kernel thread takes the submissions (io_uring's
   * SQPOLL), wait a bounded time, polling memory and making no system call, for a completion to
   * be posted; the reap that follows takes it, and a completion posted later reaches the event
   * loop as any other. How long it waits, and whether, is the engine's choice, and never long
   * enough to be noticed by the loop.
   */
  void (*await_posted)(void *engine);
  /* Number of operations queued but not yet taken by the kernel. */
  unsigned (*pending)(void *engine);
  /* Move up to `max` available completions to `out`; returns how many, never blocks. */
  unsigned (*reap)(void *engine, struct aiofs_completion *out, unsigned max);
  /*
   * Block until at least one completion is available (used only when tearing down). Operations
   * still queued are submitted or withdrawn first, so that the wait can end.
   */
  int (*wait)(void *engine);
  /* The fd the event loop watches: readable when completions may be waiting. */
  int (*poll_fd)(void *engine);
  /* Release the kernel objects. Only called once nothing is in flight. */
  void (*destroy)(void *engine);
};

#endif
