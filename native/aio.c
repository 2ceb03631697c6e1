/*
 * Linux native AIO engine.
 *
 * Reads and writes are submitted with RWF_NOWAIT: the kernel serves them from the page cache (or
 * the device, with O_DIRECT) when it can do so without blocking, and otherwise completes them
 * with -EAGAIN (or a short count) instead of blocking io_submit, which would block the event
 * loop. JavaScript hands those to the thread pool. Without RWF_NOWAIT, Linux AIO on a buffered
 * file is synchronous: io_submit itself does the I/O.
 *
 * Completions are counted by an eventfd (IOCB_FLAG_RESFD). Its counter is drained into `owed`
 * before io_getevents, so that a reap limited by `max` never loses the wake-up for the rest.
 */
#define _GNU_SOURCE
#include "aio.h"

#include <errno.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct aiofs_aio {
  aio_context_t ctx;
  int efd;
  unsigned capacity;
  struct iocb *iocbs;    /* by user: the kernel and io_cancel refer to them by address */
  struct iocb **queue;   /* prepared, not yet submitted, in order */
  unsigned queued;
  struct aiofs_completion *synthetic; /* results known without the kernel's ring */
  unsigned nsynthetic;
  struct io_event *events;
  uint64_t owed; /* completions the eventfd counted that we have not collected yet */
};

static long sys_io_setup(unsigned nr, aio_context_t *ctx) { return syscall(__NR_io_setup, nr, ctx); }
static long sys_io_destroy(aio_context_t ctx) { return syscall(__NR_io_destroy, ctx); }
static long sys_io_submit(aio_context_t ctx, long n, struct iocb **iocbs) {
  return syscall(__NR_io_submit, ctx, n, iocbs);
}
static long sys_io_cancel(aio_context_t ctx, struct iocb *iocb, struct io_event *result) {
  return syscall(__NR_io_cancel, ctx, iocb, result);
}
static long sys_io_getevents(aio_context_t ctx, long min, long max, struct io_event *events,
                             struct timespec *timeout) {
  return syscall(__NR_io_getevents, ctx, min, max, events, timeout);
}

int aiofs_aio_create(unsigned capacity, struct aiofs_aio **out) {
  struct aiofs_aio *a = calloc(1, sizeof(*a));
  if (!a) return -ENOMEM;
  a->efd = -1;
  a->capacity = capacity;
  a->iocbs = calloc(capacity, sizeof(*a->iocbs));
  a->queue = calloc(capacity, sizeof(*a->queue));
  a->synthetic = calloc(capacity, sizeof(*a->synthetic));
  a->events = calloc(capacity, sizeof(*a->events));
  int ret = -ENOMEM;
  if (!a->iocbs || !a->queue || !a->synthetic || !a->events) goto fail;
  if (sys_io_setup(capacity, &a->ctx) < 0) {
    ret = -errno;
    a->ctx = 0;
    goto fail;
  }
  a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (a->efd < 0) {
    ret = -errno;
    goto fail;
  }
  *out = a;
  return 0;
fail:
  if (a->ctx) sys_io_destroy(a->ctx);
  if (a->efd >= 0) close(a->efd);
  free(a->iocbs);
  free(a->queue);
  free(a->synthetic);
  free(a->events);
  free(a);
  return ret;
}

static struct iocb *prepare(struct aiofs_aio *a, uint32_t user, int fd, unsigned opcode) {
  if (a->queued == a->capacity || user >= a->capacity) return NULL;
  struct iocb *cb = &a->iocbs[user];
  memset(cb, 0, sizeof(*cb));
  cb->aio_data = user;
  cb->aio_lio_opcode = opcode;
  cb->aio_fildes = (uint32_t)fd;
  cb->aio_flags = IOCB_FLAG_RESFD;
  cb->aio_resfd = (uint32_t)a->efd;
  a->queue[a->queued++] = cb;
  return cb;
}

static int aio_prep_rw(void *e, int op, int fd, void *buf, uint32_t len, int64_t offset,
                       int buf_index, uint32_t user) {
  (void)buf_index; /* never set: aio_register_buffers refuses */
  if (op != AIOFS_OP_READ && op != AIOFS_OP_WRITE) return -EINVAL;
  if (offset < 0) return -EOPNOTSUPP; /* AIO has no "the file's own position" */
  struct iocb *cb = prepare(e, user, fd, op == AIOFS_OP_READ ? IOCB_CMD_PREAD : IOCB_CMD_PWRITE);
  if (!cb) return -EBUSY;
  cb->aio_buf = (uintptr_t)buf;
  cb->aio_nbytes = len;
  cb->aio_offset = offset;
  cb->aio_rw_flags = RWF_NOWAIT;
  return 0;
}

static int aio_prep_rwv(void *e, int op, int fd, const struct iovec *iov, unsigned iovcnt,
                        int64_t offset, uint32_t user) {
  if (op != AIOFS_OP_READV && op != AIOFS_OP_WRITEV) return -EINVAL;
  if (offset < 0) return -EOPNOTSUPP;
  struct iocb *cb =
      prepare(e, user, fd, op == AIOFS_OP_READV ? IOCB_CMD_PREADV : IOCB_CMD_PWRITEV);
  if (!cb) return -EBUSY;
  cb->aio_buf = (uintptr_t)iov;
  cb->aio_nbytes = iovcnt;
  cb->aio_offset = offset;
  cb->aio_rw_flags = RWF_NOWAIT;
  return 0;
}

static int aio_prep_fsync(void *e, int fd, int datasync, uint32_t user) {
  return prepare(e, user, fd, datasync ? IOCB_CMD_FDSYNC : IOCB_CMD_FSYNC) ? 0 : -EBUSY;
}

static void synthesize(struct aiofs_aio *a, uint32_t user, int32_t result) {
  a->synthetic[a->nsynthetic].user = (int32_t)user;
  a->synthetic[a->nsynthetic].result = result;
  a->nsynthetic++;
}

/*
 * A cancel completes at once, as a synthetic completion for `user`. A target still in our queue
 * is withdrawn and completes with -ECANCELED; otherwise io_cancel decides (most files answer
 * -EINVAL: Linux AIO cannot cancel file I/O once submitted).
 */
static int aio_prep_cancel(void *e, uint32_t target, uint32_t user) {
  struct aiofs_aio *a = e;
  if (target >= a->capacity || user >= a->capacity) return -EINVAL;
  struct iocb *cb = &a->iocbs[target];
  for (unsigned i = 0; i < a->queued; i++) {
    if (a->queue[i] != cb) continue;
    memmove(&a->queue[i], &a->queue[i + 1], (a->queued - i - 1) * sizeof(*a->queue));
    a->queued--;
    synthesize(a, target, -ECANCELED);
    synthesize(a, user, 0);
    return 0;
  }
  struct io_event event;
  long ret = sys_io_cancel(a->ctx, cb, &event);
  if (ret == 0) {
    synthesize(a, target, (int32_t)event.res); /* kernels that return the event directly */
    synthesize(a, user, 0);
  } else {
    synthesize(a, user, -errno);
  }
  return 0;
}

static int aio_submit(void *e) {
  struct aiofs_aio *a = e;
  unsigned taken = 0;
  while (a->queued > 0) {
    long ret = sys_io_submit(a->ctx, a->queued, a->queue);
    if (ret < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN) return taken ? (int)taken : -EAGAIN; /* out of resources: retry later */
      /* The first iocb was refused (bad fd, unsupported op): it completes with that error. */
      synthesize(a, (uint32_t)a->queue[0]->aio_data, -err);
      ret = 1;
    } else {
      taken += (unsigned)ret;
    }
    memmove(a->queue, a->queue + ret, (a->queued - ret) * sizeof(*a->queue));
    a->queued -= (unsigned)ret;
  }
  return (int)taken;
}

static unsigned aio_pending(void *e) { return ((struct aiofs_aio *)e)->queued; }

static unsigned aio_reap(void *e, struct aiofs_completion *out, unsigned max) {
  struct aiofs_aio *a = e;
  unsigned n = 0;
  while (a->nsynthetic > 0 && n < max) {
    out[n++] = a->synthetic[--a->nsynthetic];
  }
  uint64_t count;
  if (read(a->efd, &count, sizeof(count)) == sizeof(count)) a->owed += count;
  while (a->owed > 0 && n < max) {
    long want = (long)(max - n);
    if ((uint64_t)want > a->owed) want = (long)a->owed;
    if (want > (long)a->capacity) want = a->capacity;
    struct timespec zero = {0, 0};
    long got = sys_io_getevents(a->ctx, 0, want, a->events, &zero);
    if (got <= 0) {
      if (got < 0 && errno == EINTR) continue;
      break;
    }
    for (long i = 0; i < got; i++) {
      out[n].user = (int32_t)a->events[i].data;
      out[n].result = (int32_t)a->events[i].res;
      n++;
    }
    a->owed -= (uint64_t)got;
  }
  return n;
}

static int aio_wait(void *e) {
  struct aiofs_aio *a = e;
  /* What the kernel will not take now never reached it: withdraw it, so the wait can end. */
  if (aio_submit(e) == -EAGAIN) {
    while (a->queued > 0) {
      struct iocb *cb = a->queue[--a->queued];
      synthesize(a, (uint32_t)cb->aio_data, -ECANCELED);
    }
  }
  if (a->nsynthetic > 0 || a->owed > 0) return 0;
  struct pollfd p = {.fd = a->efd, .events = POLLIN};
  for (;;) {
    int ret = poll(&p, 1, -1);
    if (ret > 0) return 0;
    if (ret < 0 && errno != EINTR) return -errno;
  }
}

static int aio_poll_fd(void *e) { return ((struct aiofs_aio *)e)->efd; }

static void aio_destroy(void *e) {
  struct aiofs_aio *a = e;
  sys_io_destroy(a->ctx);
  close(a->efd);
  free(a->iocbs);
  free(a->queue);
  free(a->synthetic);
  free(a->events);
  free(a);
}

/* Linux AIO has no metadata commands: every one of them is done another way. */
static int aio_prep_meta(void *e, const struct aiofs_meta *meta, uint32_t user) {
  (void)e;
  (void)meta;
  (void)user;
  return -EOPNOTSUPP;
}

/* Linux AIO cannot pre-register memory. */
static int aio_register_buffers(void *e, const struct iovec *iov, unsigned n) {
  (void)e;
  (void)iov;
  (void)n;
  return -EOPNOTSUPP;
}

const struct aiofs_engine_ops aiofs_aio_ops = {
    .prep_rw = aio_prep_rw,
    .prep_rwv = aio_prep_rwv,
    .prep_fsync = aio_prep_fsync,
    .prep_meta = aio_prep_meta,
    .register_buffers = aio_register_buffers,
    .prep_cancel = aio_prep_cancel,
    .submit = aio_submit,
    .pending = aio_pending,
    .reap = aio_reap,
    .wait = aio_wait,
    .poll_fd = aio_poll_fd,
    .destroy = aio_destroy,
};
