/*
 * io_uring engine.
 *
 * Memory ordering follows the kernel's contract for the shared rings: we publish SQ entries with a
 * store-release of the SQ tail, read the kernel's SQ head and CQ tail with load-acquire, and hand
 * consumed CQ entries back with a store-release of the CQ head. With SQPOLL a full fence sits
 * between publishing the tail and reading the NEED_WAKEUP flag, so that the kernel thread either
 * sees the new tail or we see that it sleeps.
 */
#define _GNU_SOURCE
#include "uring.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_TASKRUN_FLAG
#define IORING_SETUP_TASKRUN_FLAG (1U << 9)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_ATTACH_WQ
#define IORING_SETUP_ATTACH_WQ (1U << 5)
#endif
#ifndef IORING_SQ_TASKRUN
#define IORING_SQ_TASKRUN (1U << 2)
#endif

/* Registered ring fds (5.18), by number: older UAPI headers lack them (uapi_check.c). */
enum {
  URING_REGISTER_RING_FDS = 20,
  URING_UNREGISTER_RING_FDS = 21,
  URING_ENTER_REGISTERED_RING = 1U << 4,
};
/* struct io_uring_rsrc_update (5.13), the argument of the ring-fd registration. */
struct ring_fd_update {
  uint32_t offset;
  uint32_t resv;
  uint64_t data;
};

/*
 * io_uring opcodes of the metadata operations, by number: older UAPI headers lack the newer
 * ones (uapi_check.c checks these against the header where it has them).
 */
enum {
  URING_OP_FALLOCATE = 17,
  URING_OP_OPENAT = 18,
  URING_OP_CLOSE = 19,
  URING_OP_STATX = 21,
  URING_OP_RENAMEAT = 35,
  URING_OP_UNLINKAT = 36,
  URING_OP_MKDIRAT = 37,
  URING_OP_SYMLINKAT = 38,
  URING_OP_LINKAT = 39,
  URING_OP_FTRUNCATE = 55,
  URING_OP_POLL_ADD = 6,
  URING_OP_SPLICE = 30,
  URING_OP_OPENAT2 = 28,
};

#define PROBE_OPS 256

struct aiofs_uring {
  int fd;
  /*
   * How io_uring_enter names the ring from the thread that created it, once registered with that
   * thread: the index of its registration, with URING_ENTER_REGISTERED_RING in enter_flags (0 when
   * the kernel refused). A registration is the thread's own: any other thread uses the fd.
   */
  int enter_fd;
  unsigned enter_flags;
  pthread_t owner;
  unsigned setup_flags;
  unsigned features;

  unsigned *sq_khead;
  unsigned *sq_ktail;
  unsigned *sq_kflags;
  unsigned sq_mask;
  unsigned sq_entries;
  unsigned sq_tail;      /* entries we have filled; published to *sq_ktail by submit */
  unsigned sq_published; /* the tail submit last published */
  struct io_uring_sqe *sqes;

  unsigned *cq_khead;
  unsigned *cq_ktail;
  unsigned cq_mask;
  struct io_uring_cqe *cqes;

  void *sq_ring;
  size_t sq_ring_size;
  void *cq_ring; /* equals sq_ring with IORING_FEAT_SINGLE_MMAP */
  size_t cq_ring_size;
  size_t sqes_size;

  unsigned char supported[PROBE_OPS];
  unsigned refuse_ops;

  /* uring_await_posted's memory: waits that saw nothing in a row (capped), and how many of the
     next calls return at once because of them. */
  unsigned await_misses;
  unsigned await_skips;

  /* The next live SQPOLL ring of the process (sqpoll_rings), when this one has SQPOLL, and which
     of the process's polling threads serves it (rings that share one have the same number). */
  struct aiofs_uring *sqpoll_next;
  unsigned sqpoll_thread;
  /* errno of the kernel's refusal of the polling thread asked for (0: none); the ring has none. */
  int sqpoll_refused;
};

/*
 * The live SQPOLL rings of the process, newest first. A new SQPOLL ring attaches to a polling
 * thread that another ring already has (IORING_SETUP_ATTACH_WQ) once the process has as many as
 * its limit (aiofs_uring_options.sqpoll_threads; by default half the CPUs the creating thread may
 * run on, at least one): a thread per ring would keep a CPU busy per context (a program with a
 * context per worker, or the default context beside its own) for sq_thread_idle after each
 * submission, and on a machine of few CPUs those are the program's own. It attaches to the
 * thread that serves the fewest rings. Below the limit a ring gets a thread of its own, since one
 * thread does the kernel's side of every read it submits (the page-cache copy of a cached read
 * included): on many CPUs, busy rings sharing one thread would be held to what one CPU can copy.
 * The kernel keeps a thread while any ring uses it, whichever ring created it and whichever
 * thread has since exited. sqpoll_lock is held from the choice through the setup to the ring's
 * entry in the list (the fd a setup names must stay open until the kernel has taken its own
 * reference), and while a ring leaves the list, which it does before its fd is closed.
 */
static pthread_mutex_t sqpoll_lock = PTHREAD_MUTEX_INITIALIZER;
static struct aiofs_uring *sqpoll_rings;
static unsigned sqpoll_threads_made;

/* How many CPUs the calling thread may run on (0 if the kernel does not say). A polling thread
   may run only on those: the kernel gives it the affinity of the thread that set up its ring. */
static unsigned affinity_cpus(void) {
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0) return 0;
  return (unsigned)CPU_COUNT(&cpus);
}

/* The default limit: half the CPUs the calling thread may run on, at least one. */
static unsigned sqpoll_default_limit(unsigned cpus) {
  return cpus / 2 > 1 ? cpus / 2 : 1;
}

/*
 * Under sqpoll_lock: a ring whose polling thread a new ring should share, or NULL for a thread
 * of its own, when the process has fewer than `limit` threads. Of the threads, the one that
 * serves the fewest rings (the newest of those on a tie). Rings are few: quadratic is fine.
 */
static struct aiofs_uring *sqpoll_share_with(unsigned limit) {
  unsigned threads = 0, fewest = 0;
  struct aiofs_uring *choice = NULL;
  for (struct aiofs_uring *r = sqpoll_rings; r; r = r->sqpoll_next) {
    struct aiofs_uring *q = sqpoll_rings;
    while (q != r && q->sqpoll_thread != r->sqpoll_thread) q = q->sqpoll_next;
    if (q != r) continue; /* its thread was counted with a newer ring */
    threads++;
    unsigned rings = 0;
    for (q = r; q; q = q->sqpoll_next) rings += q->sqpoll_thread == r->sqpoll_thread;
    if (!choice || rings < fewest) {
      choice = r;
      fewest = rings;
    }
  }
  return threads >= limit ? choice : NULL;
}

static void sqpoll_leave(struct aiofs_uring *r) {
  pthread_mutex_lock(&sqpoll_lock);
  for (struct aiofs_uring **link = &sqpoll_rings; *link; link = &(*link)->sqpoll_next) {
    if (*link == r) {
      *link = r->sqpoll_next;
      break;
    }
  }
  pthread_mutex_unlock(&sqpoll_lock);
}

/*
 * Whether the kernel takes submitted entries only inside io_uring_enter (liburing's
 * sq_ring_needs_enter, inverted for SQPOLL): then whatever lies between its head and our tail is
 * still ours. With SQPOLL a kernel thread may read the queue at any moment, and what is still
 * ours is only what we have not published.
 */
static int sq_ring_needs_enter(const struct aiofs_uring *r) {
  return !(r->setup_flags & IORING_SETUP_SQPOLL);
}

static int sys_setup(unsigned entries, struct io_uring_params *p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_enter(const struct aiofs_uring *r, unsigned to_submit, unsigned min_complete,
                     unsigned flags) {
  if (r->enter_flags && pthread_equal(pthread_self(), r->owner))
    return (int)syscall(__NR_io_uring_enter, r->enter_fd, to_submit, min_complete,
                        flags | r->enter_flags, NULL, 0);
  return (int)syscall(__NR_io_uring_enter, r->fd, to_submit, min_complete, flags, NULL, 0);
}

static int sys_register(int fd, unsigned opcode, void *arg, unsigned nr_args) {
  return (int)syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);
}

static void unmap(struct aiofs_uring *r) {
  if (r->sqes && r->sqes != MAP_FAILED) munmap(r->sqes, r->sqes_size);
  if (r->cq_ring && r->cq_ring != MAP_FAILED && r->cq_ring != r->sq_ring)
    munmap(r->cq_ring, r->cq_ring_size);
  if (r->sq_ring && r->sq_ring != MAP_FAILED) munmap(r->sq_ring, r->sq_ring_size);
}

/* Map the rings the kernel created for `r->fd`. Returns 0 or -errno. */
static int map_rings(struct aiofs_uring *r, const struct io_uring_params *p) {
  r->sq_ring_size = p->sq_off.array + p->sq_entries * sizeof(unsigned);
  r->cq_ring_size = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
  if (p->features & IORING_FEAT_SINGLE_MMAP) {
    if (r->cq_ring_size > r->sq_ring_size) r->sq_ring_size = r->cq_ring_size;
    r->cq_ring_size = r->sq_ring_size;
  }
  r->sq_ring = mmap(NULL, r->sq_ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                    r->fd, IORING_OFF_SQ_RING);
  if (r->sq_ring == MAP_FAILED) return -errno;
  if (p->features & IORING_FEAT_SINGLE_MMAP) {
    r->cq_ring = r->sq_ring;
  } else {
    r->cq_ring = mmap(NULL, r->cq_ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                      r->fd, IORING_OFF_CQ_RING);
    if (r->cq_ring == MAP_FAILED) return -errno;
  }
  r->sqes_size = p->sq_entries * sizeof(struct io_uring_sqe);
  r->sqes = mmap(NULL, r->sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                 IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) return -errno;

  char *sq = r->sq_ring, *cq = r->cq_ring;
  r->sq_khead = (unsigned *)(sq + p->sq_off.head);
  r->sq_ktail = (unsigned *)(sq + p->sq_off.tail);
  r->sq_kflags = (unsigned *)(sq + p->sq_off.flags);
  r->sq_mask = *(unsigned *)(sq + p->sq_off.ring_mask);
  r->sq_entries = *(unsigned *)(sq + p->sq_off.ring_entries);
  r->sq_tail = *r->sq_ktail;
  /* The SQ index array maps ring slots to SQEs; an identity map lets slot i use sqes[i]. */
  unsigned *array = (unsigned *)(sq + p->sq_off.array);
  for (unsigned i = 0; i < r->sq_entries; i++) array[i] = i;

  r->cq_khead = (unsigned *)(cq + p->cq_off.head);
  r->cq_ktail = (unsigned *)(cq + p->cq_off.tail);
  r->cq_mask = *(unsigned *)(cq + p->cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p->cq_off.cqes);
  return 0;
}

/* Learn which opcodes the running kernel implements. Kernels before 5.6 have no probe. */
static int probe(struct aiofs_uring *r) {
  size_t size = sizeof(struct io_uring_probe) + PROBE_OPS * sizeof(struct io_uring_probe_op);
  struct io_uring_probe *p = calloc(1, size);
  if (!p) return -ENOMEM;
  int ret = sys_register(r->fd, IORING_REGISTER_PROBE, p, PROBE_OPS);
  if (ret < 0) {
    ret = -errno;
  } else {
    for (unsigned i = 0; i < p->ops_len && i < PROBE_OPS; i++)
      r->supported[i] = (p->ops[i].flags & IO_URING_OP_SUPPORTED) != 0;
  }
  free(p);
  return ret < 0 ? ret : 0;
}

/*
 * Register the ring's fd with the calling thread (5.18), so that io_uring_enter names it by an
 * index and the kernel skips looking the file up and counting a reference to it on every call.
 * Best effort: older kernels answer EINVAL, and a thread holds at most 16 such registrations;
 * then enter uses the fd, as before. The registration holds a reference to the ring: it is
 * dropped in uring_destroy, from this thread.
 */
static void register_ring_fd(struct aiofs_uring *r) {
  r->owner = pthread_self();
  struct ring_fd_update update = {.offset = UINT32_MAX, .data = (uint64_t)r->fd};
  if (sys_register(r->fd, URING_REGISTER_RING_FDS, &update, 1) != 1) return;
  r->enter_fd = (int)update.offset;
  r->enter_flags = URING_ENTER_REGISTERED_RING;
}

/*
 * Drop the thread's registration of the ring. From another thread the index would name that
 * thread's registrations: then it is left, and the ring's memory is freed when the creating
 * thread exits.
 */
static void unregister_ring_fd(struct aiofs_uring *r) {
  if (!r->enter_flags || !pthread_equal(pthread_self(), r->owner)) return;
  struct ring_fd_update update = {.offset = (uint32_t)r->enter_fd};
  sys_register(r->fd, URING_UNREGISTER_RING_FDS, &update, 1);
  r->enter_flags = 0;
}

/*
 * io_uring_setup with the flags worth having, dropped one by one (last first) while the kernel
 * answers EINVAL. sq_thread_idle >= 0: with SQPOLL, attached to *share's polling thread if there
 * is one; a refused attach is retried with a thread of the ring's own (*share becomes NULL),
 * after the optional flags for EINVAL. Returns the ring's fd (p filled in) or -errno.
 */
static int setup_ring(unsigned entries, long sq_thread_idle, struct aiofs_uring **share,
                      struct io_uring_params *p) {
  static const unsigned optional[] = {IORING_SETUP_SUBMIT_ALL,
                                      IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
                                      IORING_SETUP_SINGLE_ISSUER};
  const unsigned all_optional = sizeof(optional) / sizeof(optional[0]);
  unsigned nopt = all_optional;
  for (;;) {
    memset(p, 0, sizeof(*p));
    p->flags = IORING_SETUP_CQSIZE;
    p->cq_entries = entries * 2;
    for (unsigned i = 0; i < nopt; i++) p->flags |= optional[i];
    if (sq_thread_idle >= 0) {
      /* A kernel thread submits for us: SINGLE_ISSUER and COOP_TASKRUN do not apply. */
      p->flags &= ~(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
                    IORING_SETUP_TASKRUN_FLAG);
      p->flags |= IORING_SETUP_SQPOLL;
      p->sq_thread_idle = (unsigned)sq_thread_idle;
      if (*share) {
        p->flags |= IORING_SETUP_ATTACH_WQ;
        p->wq_fd = (unsigned)(*share)->fd;
      }
    }
    int ret = sys_setup(entries, p);
    if (ret >= 0) return ret;
    ret = -errno;
    if (*share && (ret != -EINVAL || nopt == 0)) {
      *share = NULL;
      nopt = all_optional;
      continue;
    }
    if (ret != -EINVAL || nopt == 0) return ret;
    nopt--;
  }
}

int aiofs_uring_sqpoll_refused(const struct aiofs_uring *r) {
  return r->sqpoll_refused;
}

int aiofs_uring_polls(const struct aiofs_uring *r) {
  return !sq_ring_needs_enter(r);
}

int aiofs_uring_create(const struct aiofs_uring_options *o, struct aiofs_uring **out,
                       unsigned *cq_entries) {
  struct aiofs_uring *r = calloc(1, sizeof(*r));
  if (!r) return -ENOMEM;
  r->fd = -1;
  r->refuse_ops = o->refuse_ops;

  struct io_uring_params p;
  /* With SQPOLL, a polling thread the process has already once it has its limit of them
     (sqpoll_rings). On one CPU the polling thread could only run when the program does not: it
     would take that CPU away from the program without ever working beside it (docs/benchmarks.md,
     "Measurements the code relies on"), and the ring is set up without it. */
  struct aiofs_uring *share = NULL;
  unsigned cpus = o->sqpoll ? affinity_cpus() : 0;
  const int sqpoll = o->sqpoll && cpus != 1;
  if (sqpoll) {
    unsigned limit = o->sqpoll_threads ? o->sqpoll_threads : sqpoll_default_limit(cpus);
    pthread_mutex_lock(&sqpoll_lock);
    share = sqpoll_share_with(limit);
  }
  int ret = sqpoll && (o->refuse_ops & AIOFS_URING_REFUSE_SQPOLL)
                ? -EPERM
                : setup_ring(o->entries, sqpoll ? (long)o->sq_thread_idle : -1, &share, &p);
  if (ret >= 0 && (p.flags & IORING_SETUP_SQPOLL)) {
    /* In the list from now on, so that the next ring's choice sees it (its fd with it); out again
       on failure. */
    r->fd = ret;
    r->setup_flags = p.flags;
    r->sqpoll_thread = share ? share->sqpoll_thread : ++sqpoll_threads_made;
    r->sqpoll_next = sqpoll_rings;
    sqpoll_rings = r;
  }
  if (sqpoll) pthread_mutex_unlock(&sqpoll_lock);
  if (ret < 0 && sqpoll) {
    /* The kernel refused the polling thread (before 5.11 it needs CAP_SYS_ADMIN: EPERM): a ring
       without one, the refusal kept for aiofs_uring_sqpoll_refused. */
    r->sqpoll_refused = -ret;
    share = NULL;
    ret = setup_ring(o->entries, -1, &share, &p);
  }
  if (ret < 0) goto fail;
  r->fd = ret;
  r->setup_flags = p.flags;
  r->features = p.features;
  if (!(p.features & IORING_FEAT_NODROP)) {
    ret = -ENOSYS; /* before 5.5: completions could be dropped */
    goto fail;
  }
  ret = map_rings(r, &p);
  if (ret < 0) goto fail;
  ret = probe(r);
  if (ret < 0 || !r->supported[IORING_OP_READ] || !r->supported[IORING_OP_WRITE] ||
      !r->supported[IORING_OP_ASYNC_CANCEL]) {
    ret = -ENOSYS; /* before 5.6 */
    goto fail;
  }

  register_ring_fd(r);
  *cq_entries = p.cq_entries;
  *out = r;
  return 0;

fail:
  if (r->setup_flags & IORING_SETUP_SQPOLL) sqpoll_leave(r);
  unmap(r);
  if (r->fd >= 0) close(r->fd);
  free(r);
  return ret;
}

/*
 * Next free SQE for `opcode` (an io_uring opcode, standing for our `op`), zeroed. NULL with
 * *error set: -EOPNOTSUPP for an opcode the kernel lacks, -EBUSY when the queue is full.
 */
static struct io_uring_sqe *get_sqe(struct aiofs_uring *r, unsigned opcode, int op, int *error) {
  if (opcode >= PROBE_OPS || !r->supported[opcode] || (op >= 0 && (r->refuse_ops >> op) & 1)) {
    *error = -EOPNOTSUPP;
    return NULL;
  }
  *error = -EBUSY;
  unsigned head = __atomic_load_n(r->sq_khead, __ATOMIC_ACQUIRE);
  if (r->sq_tail - head >= r->sq_entries) return NULL;
  struct io_uring_sqe *sqe = &r->sqes[r->sq_tail & r->sq_mask];
  r->sq_tail++;
  memset(sqe, 0, sizeof(*sqe));
  return sqe;
}

static int uring_prep_rw(void *e, int op, int fd, void *buf, uint32_t len, int64_t offset,
                         int buf_index, uint32_t user) {
  if (op != AIOFS_OP_READ && op != AIOFS_OP_WRITE) return -EINVAL;
  if (offset == AIOFS_CURRENT_POSITION && !(((struct aiofs_uring *)e)->features & IORING_FEAT_RW_CUR_POS))
    return -EOPNOTSUPP;
  unsigned opcode = buf_index >= 0 ? (op == AIOFS_OP_READ ? IORING_OP_READ_FIXED : IORING_OP_WRITE_FIXED)
                                   : (op == AIOFS_OP_READ ? IORING_OP_READ : IORING_OP_WRITE);
  int error;
  struct io_uring_sqe *sqe = get_sqe(e, opcode, op, &error);
  if (!sqe) return error;
  sqe->opcode = opcode;
  sqe->fd = fd;
  sqe->addr = (uintptr_t)buf;
  sqe->len = len;
  sqe->off = (uint64_t)offset;
  if (buf_index >= 0) sqe->buf_index = (uint16_t)buf_index;
  sqe->user_data = user;
  return 0;
}

static int uring_register_buffers(void *e, const struct iovec *iov, unsigned n) {
  struct aiofs_uring *r = e;
  if (n == 0) {
    int ret = sys_register(r->fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
    return ret < 0 && errno != ENXIO ? -errno : 0; /* ENXIO: nothing was registered */
  }
  return sys_register(r->fd, IORING_REGISTER_BUFFERS, (void *)iov, n) < 0 ? -errno : 0;
}

static int uring_prep_rwv(void *e, int op, int fd, const struct iovec *iov, unsigned iovcnt,
                          int64_t offset, uint32_t user) {
  if (op != AIOFS_OP_READV && op != AIOFS_OP_WRITEV) return -EINVAL;
  if (offset == AIOFS_CURRENT_POSITION && !(((struct aiofs_uring *)e)->features & IORING_FEAT_RW_CUR_POS))
    return -EOPNOTSUPP;
  unsigned opcode = op == AIOFS_OP_READV ? IORING_OP_READV : IORING_OP_WRITEV;
  int error;
  struct io_uring_sqe *sqe = get_sqe(e, opcode, op, &error);
  if (!sqe) return error;
  sqe->opcode = opcode;
  sqe->fd = fd;
  sqe->addr = (uintptr_t)iov;
  sqe->len = iovcnt;
  sqe->off = (uint64_t)offset;
  sqe->user_data = user;
  return 0;
}

static int uring_prep_fsync(void *e, int fd, int datasync, uint32_t user) {
  int error;
  struct io_uring_sqe *sqe =
      get_sqe(e, IORING_OP_FSYNC, datasync ? AIOFS_OP_FDATASYNC : AIOFS_OP_FSYNC, &error);
  if (!sqe) return error;
  sqe->opcode = IORING_OP_FSYNC;
  sqe->fd = fd;
  sqe->fsync_flags = datasync ? IORING_FSYNC_DATASYNC : 0;
  sqe->user_data = user;
  return 0;
}

/*
 * One prep per metadata opcode, each filling the SQE fields its opcode reads, as the kernel's
 * io_uring_prep_* helpers in liburing do. The per-operation flags (open_flags, statx_flags,
 * rename_flags, unlink_flags, hardlink_flags) share one 32-bit union in the SQE: rw_flags names it
 * in every header version.
 */
static void prep_openat(struct io_uring_sqe *sqe, int dirfd, const char *path, int flags,
                        uint32_t mode) {
  sqe->fd = dirfd;
  sqe->addr = (uintptr_t)path;
  sqe->len = mode;
  sqe->rw_flags = flags;
}

static void prep_close(struct io_uring_sqe *sqe, int fd) { sqe->fd = fd; }

static void prep_statx(struct io_uring_sqe *sqe, int dirfd, const char *path, int flags,
                       uint32_t mask, void *statx) {
  sqe->fd = dirfd;
  sqe->addr = (uintptr_t)path;
  sqe->len = mask;
  sqe->off = (uintptr_t)statx;
  sqe->rw_flags = flags;
}

/* renameat2 and linkat take the same shape: (olddirfd, oldpath, newdirfd, newpath, flags). */
static void prep_two_paths(struct io_uring_sqe *sqe, const struct aiofs_two_paths *t) {
  sqe->fd = t->olddirfd;
  sqe->addr = (uintptr_t)t->oldpath;
  sqe->len = (uint32_t)t->newdirfd;
  sqe->off = (uintptr_t)t->newpath;
  sqe->rw_flags = t->flags;
}

static void prep_unlinkat(struct io_uring_sqe *sqe, int dirfd, const char *path, int flags) {
  sqe->fd = dirfd;
  sqe->addr = (uintptr_t)path;
  sqe->rw_flags = flags;
}

static void prep_mkdirat(struct io_uring_sqe *sqe, int dirfd, const char *path, uint32_t mode) {
  sqe->fd = dirfd;
  sqe->addr = (uintptr_t)path;
  sqe->len = mode;
}

static void prep_symlinkat(struct io_uring_sqe *sqe, const char *target, int newdirfd,
                           const char *linkpath) {
  sqe->fd = newdirfd;
  sqe->addr = (uintptr_t)target;
  sqe->off = (uintptr_t)linkpath;
}

static void prep_fallocate(struct io_uring_sqe *sqe, int fd, int mode, int64_t offset,
                           int64_t length) {
  sqe->fd = fd;
  sqe->off = (uint64_t)offset;
  sqe->addr = (uint64_t)length;
  sqe->len = (uint32_t)mode;
}

static void prep_ftruncate(struct io_uring_sqe *sqe, int fd, int64_t length) {
  sqe->fd = fd;
  sqe->off = (uint64_t)length;
}

/* splice(2) with no output offset (a socket or a pipe): off_in -1 reads a pipe at its position. */
static void prep_splice(struct io_uring_sqe *sqe, int fd_in, int64_t off_in, int fd_out,
                        uint32_t len, unsigned flags) {
  sqe->fd = fd_out;
  sqe->off = (uint64_t)-1;
  sqe->splice_off_in = (uint64_t)off_in;
  sqe->splice_fd_in = fd_in;
  sqe->len = len;
  sqe->splice_flags = flags;
}

/* A one-shot poll: completes with the ready events (the kernel's poll mask) once `fd` has one. */
static void prep_poll(struct io_uring_sqe *sqe, int fd, unsigned events) {
  sqe->fd = fd;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  events = (events << 16) | (events >> 16); /* the kernel reads poll32_events word-swapped there */
#endif
  sqe->poll32_events = events;
}

/* openat2: `how` is a struct open_how, its size what the kernel reads. */
static void prep_openat2(struct io_uring_sqe *sqe, int dirfd, const char *path, const void *how) {
  sqe->fd = dirfd;
  sqe->addr = (uintptr_t)path;
  sqe->len = sizeof(struct open_how);
  sqe->off = (uintptr_t)how;
}

static int uring_prep_meta(void *e, const struct aiofs_meta *m, uint32_t user) {
  static const unsigned opcodes[] = {
      [AIOFS_OP_OPENAT] = URING_OP_OPENAT,       [AIOFS_OP_CLOSE] = URING_OP_CLOSE,
      [AIOFS_OP_STATX] = URING_OP_STATX,         [AIOFS_OP_RENAMEAT] = URING_OP_RENAMEAT,
      [AIOFS_OP_UNLINKAT] = URING_OP_UNLINKAT,   [AIOFS_OP_MKDIRAT] = URING_OP_MKDIRAT,
      [AIOFS_OP_SYMLINKAT] = URING_OP_SYMLINKAT, [AIOFS_OP_LINKAT] = URING_OP_LINKAT,
      [AIOFS_OP_FALLOCATE] = URING_OP_FALLOCATE, [AIOFS_OP_FTRUNCATE] = URING_OP_FTRUNCATE,
      [AIOFS_OP_SPLICE] = URING_OP_SPLICE,       [AIOFS_OP_POLL] = URING_OP_POLL_ADD,
      [AIOFS_OP_OPENAT2] = URING_OP_OPENAT2,
  };
  if (m->op < AIOFS_OP_OPENAT || m->op > AIOFS_OP_OPENAT2) return -EINVAL;
  unsigned opcode = opcodes[m->op];
  int error;
  struct io_uring_sqe *sqe = get_sqe(e, opcode, m->op, &error);
  if (!sqe) return error;
  sqe->opcode = opcode;
  sqe->user_data = user;
  const typeof(m->args) *a = &m->args;
  switch (m->op) {
    case AIOFS_OP_OPENAT:
      prep_openat(sqe, a->openat.dirfd, a->openat.path, a->openat.flags, a->openat.mode);
      break;
    case AIOFS_OP_CLOSE:
      prep_close(sqe, a->close.fd);
      break;
    case AIOFS_OP_STATX:
      prep_statx(sqe, a->statx.dirfd, a->statx.path, a->statx.flags, a->statx.mask, a->statx.statx);
      break;
    case AIOFS_OP_RENAMEAT:
      prep_two_paths(sqe, &a->renameat);
      break;
    case AIOFS_OP_LINKAT:
      prep_two_paths(sqe, &a->linkat);
      break;
    case AIOFS_OP_UNLINKAT:
      prep_unlinkat(sqe, a->unlinkat.dirfd, a->unlinkat.path, a->unlinkat.flags);
      break;
    case AIOFS_OP_MKDIRAT:
      prep_mkdirat(sqe, a->mkdirat.dirfd, a->mkdirat.path, a->mkdirat.mode);
      break;
    case AIOFS_OP_SYMLINKAT:
      prep_symlinkat(sqe, a->symlinkat.target, a->symlinkat.newdirfd, a->symlinkat.linkpath);
      break;
    case AIOFS_OP_FALLOCATE:
      prep_fallocate(sqe, a->fallocate.fd, a->fallocate.mode, a->fallocate.offset,
                     a->fallocate.length);
      break;
    case AIOFS_OP_FTRUNCATE:
      prep_ftruncate(sqe, a->ftruncate.fd, a->ftruncate.length);
      break;
    case AIOFS_OP_SPLICE:
      prep_splice(sqe, a->splice.fd_in, a->splice.off_in, a->splice.fd_out, a->splice.len,
                  a->splice.flags);
      break;
    case AIOFS_OP_POLL:
      prep_poll(sqe, a->poll.fd, a->poll.events);
      break;
    case AIOFS_OP_OPENAT2:
      prep_openat2(sqe, a->openat2.dirfd, a->openat2.path, a->openat2.how);
      break;
  }
  return 0;
}

/*
 * Marks the user_data of an operation withdrawn before the kernel saw it (uring_prep_cancel): its
 * completion reports -ECANCELED. Users are 32-bit, so the bit never collides with one.
 */
#define WITHDRAWN (UINT64_C(1) << 32)

/*
 * Cancel `target`; the cancel's own completion is `user`. An operation still in the submission
 * queue, not yet seen by the kernel, is withdrawn: rewritten into a NOP that completes as
 * -ECANCELED, so an abort that comes before the submit always wins (an ASYNC_CANCEL would run
 * after it, when a cached read has already completed). With SQPOLL the kernel thread may be
 * reading the queue at any moment, so there only ASYNC_CANCEL is used.
 */
static int uring_prep_cancel(void *e, uint32_t target, uint32_t user) {
  struct aiofs_uring *r = e;
  int error;
  struct io_uring_sqe *sqe = get_sqe(r, IORING_OP_ASYNC_CANCEL, -1, &error);
  if (!sqe) return error;
  if (sq_ring_needs_enter(r)) {
    /* The kernel reads entries only inside io_uring_enter: [head, tail) is ours. */
    unsigned head = __atomic_load_n(r->sq_khead, __ATOMIC_ACQUIRE);
    for (unsigned i = head; i != r->sq_tail - 1; i++) {
      struct io_uring_sqe *queued = &r->sqes[i & r->sq_mask];
      if (queued->user_data != target) continue;
      memset(queued, 0, sizeof(*queued));
      queued->opcode = IORING_OP_NOP;
      queued->user_data = target | WITHDRAWN;
      sqe->opcode = IORING_OP_NOP;
      sqe->user_data = user;
      return 0;
    }
  }
  sqe->opcode = IORING_OP_ASYNC_CANCEL;
  sqe->fd = -1;
  sqe->addr = target;
  sqe->user_data = user;
  return 0;
}

static unsigned uring_pending(void *e) {
  struct aiofs_uring *r = e;
  if (!sq_ring_needs_enter(r)) return r->sq_tail - r->sq_published;
  return r->sq_tail - __atomic_load_n(r->sq_khead, __ATOMIC_ACQUIRE);
}

/* With SQPOLL, publishing hands the entries to the kernel's polling thread, which takes them on
   its own time: they count as taken. The thread is woken only if it went to sleep. */
static int sqpoll_submit(struct aiofs_uring *r) {
  unsigned published = r->sq_tail - r->sq_published;
  r->sq_published = r->sq_tail;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (__atomic_load_n(r->sq_kflags, __ATOMIC_RELAXED) & IORING_SQ_NEED_WAKEUP) {
    while (sys_enter(r, 0, 0, IORING_ENTER_SQ_WAKEUP) < 0) {
      if (errno != EINTR) return -errno;
    }
  }
  return (int)published;
}

/*
 * How long uring_await_posted polls for the SQPOLL thread's completion. A page-cache hit is
 * posted a microsecond or two after it is published (the thread runs on another CPU); a read the
 * device must serve takes far longer, and the event loop then waits for it as for any other.
 */
#define AWAIT_POSTED_NS 20000
/* After a poll that saw nothing, the next 2^misses - 1 calls return at once: a program whose reads
   all go to the device polls once in 64 at most. */
#define AWAIT_MAX_MISSES 6

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static uint64_t monotonic_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * With SQPOLL the submitting thread makes no system call, and a completion would otherwise cost
 * it a turn of the event loop (a wait in epoll, a wake-up): one read at a time, that is most of
 * the time per read. Reading the CQ tail until the kernel thread posts costs neither. Without
 * SQPOLL the completion of a page-cache hit is already posted when the submit returns, and a
 * read that is not can only be waited for in the kernel: nothing to poll for.
 */
static void uring_await_posted(void *e) {
  struct aiofs_uring *r = e;
  if (sq_ring_needs_enter(r)) return;
  if (r->await_skips > 0) {
    r->await_skips--;
    return;
  }
  uint64_t deadline = 0;
  for (unsigned i = 0;; i++) {
    if (__atomic_load_n(r->cq_ktail, __ATOMIC_ACQUIRE) != *r->cq_khead) {
      r->await_misses = 0;
      return;
    }
    if ((i & 15) == 0) {
      uint64_t now = monotonic_ns();
      if (deadline == 0)
        deadline = now + AWAIT_POSTED_NS;
      else if (now >= deadline)
        break;
    }
    cpu_relax();
  }
  if (r->await_misses < AWAIT_MAX_MISSES) r->await_misses++;
  r->await_skips = (1u << r->await_misses) - 1;
}

static int uring_submit(void *e) {
  struct aiofs_uring *r = e;
  __atomic_store_n(r->sq_ktail, r->sq_tail, __ATOMIC_RELEASE);
  if (!sq_ring_needs_enter(r)) return sqpoll_submit(r);
  for (;;) {
    /* Recomputed from the kernel's head on every try: an entry is never submitted twice. */
    unsigned pending = r->sq_tail - __atomic_load_n(r->sq_khead, __ATOMIC_ACQUIRE);
    if (pending == 0) return 0;
    int ret = sys_enter(r, pending, 0, 0);
    if (ret >= 0) return ret;
    if (errno != EINTR) return -errno;
  }
}

static unsigned uring_reap(void *e, struct aiofs_completion *out, unsigned max) {
  struct aiofs_uring *r = e;
  unsigned head = *r->cq_khead;
  unsigned tail = __atomic_load_n(r->cq_ktail, __ATOMIC_ACQUIRE);
  if (head == tail) {
    /*
     * Nothing posted yet, but the kernel may hold completions back: deferred task work
     * (COOP_TASKRUN) or an overflow backlog. Entering with GETEVENTS flushes both.
     */
    unsigned flags = __atomic_load_n(r->sq_kflags, __ATOMIC_RELAXED);
    if (!(flags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))) return 0;
    while (sys_enter(r, 0, 0, IORING_ENTER_GETEVENTS) < 0 && errno == EINTR) {
    }
    tail = __atomic_load_n(r->cq_ktail, __ATOMIC_ACQUIRE);
  }
  unsigned n = 0;
  while (head != tail && n < max) {
    const struct io_uring_cqe *cqe = &r->cqes[head & r->cq_mask];
    out[n].user = (int32_t)(uint32_t)cqe->user_data;
    out[n].result = cqe->user_data & WITHDRAWN ? -ECANCELED : cqe->res;
    n++;
    head++;
  }
  __atomic_store_n(r->cq_khead, head, __ATOMIC_RELEASE);
  return n;
}

/* Submits whatever is still queued (it could otherwise never complete), then waits for one. */
static int uring_wait(void *e) {
  struct aiofs_uring *r = e;
  __atomic_store_n(r->sq_ktail, r->sq_tail, __ATOMIC_RELEASE);
  unsigned flags = IORING_ENTER_GETEVENTS;
  if (r->setup_flags & IORING_SETUP_SQPOLL) flags |= IORING_ENTER_SQ_WAKEUP;
  for (;;) {
    unsigned pending = uring_pending(e);
    if (sys_enter(r, pending, 1, flags) >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

static int uring_poll_fd(void *e) { return ((struct aiofs_uring *)e)->fd; }

static void uring_destroy(void *e) {
  struct aiofs_uring *r = e;
  if (r->setup_flags & IORING_SETUP_SQPOLL) sqpoll_leave(r);
  unregister_ring_fd(r);
  unmap(r);
  close(r->fd);
  free(r);
}

const struct aiofs_engine_ops aiofs_uring_ops = {
    .prep_rw = uring_prep_rw,
    .prep_rwv = uring_prep_rwv,
    .prep_fsync = uring_prep_fsync,
    .prep_meta = uring_prep_meta,
    .register_buffers = uring_register_buffers,
    .prep_cancel = uring_prep_cancel,
    .submit = uring_submit,
    .await_posted = uring_await_posted,
    .pending = uring_pending,
    .reap = uring_reap,
    .wait = uring_wait,
    .poll_fd = uring_poll_fd,
    .destroy = uring_destroy,
};
