/* io_uring engine: raw io_uring_setup/enter/register against <linux/io_uring.h>, no liburing. */
#ifndef AIOFS_URING_H
#define AIOFS_URING_H

#include "engine.h"

struct aiofs_uring;

struct aiofs_uring_options {
  unsigned entries;        /* submission queue size; the completion queue gets twice as many */
  int sqpoll;              /* non-zero: a kernel thread polls the submission queue, unless the
                              calling thread may run on one CPU only or the kernel refuses the
                              thread (aiofs_uring_polls, aiofs_uring_sqpoll_refused) */
  unsigned sq_thread_idle; /* SQPOLL: milliseconds before that thread sleeps */
  unsigned sqpoll_threads; /* SQPOLL: the polling threads the process may have before rings share
                              them; 0: half the CPUs the calling thread may run on, at least 1 */
  unsigned refuse_ops;     /* bit (1 << AIOFS_OP_x): prep answers -EOPNOTSUPP, as for an opcode
                              the kernel lacks; lets tests exercise the thread-pool fallback.
                              AIOFS_URING_REFUSE_SQPOLL: the SQPOLL setup answers -EPERM */
};

/* refuse_ops: the setup with SQPOLL fails with EPERM, as before Linux 5.11 without CAP_SYS_ADMIN. */
#define AIOFS_URING_REFUSE_SQPOLL (1u << 31)

extern const struct aiofs_engine_ops aiofs_uring_ops;

/*
 * Create a ring. Every prep answers -EOPNOTSUPP for an opcode the kernel does not list as
 * supported (IORING_REGISTER_PROBE), so the caller can run that operation another way. Flags the kernel refuses with EINVAL (SINGLE_ISSUER, COOP_TASKRUN, SUBMIT_ALL)
 * are dropped one at a time; a kernel without IORING_FEAT_NODROP or IORING_OP_READ is refused
 * with -ENOSYS. Returns 0 and sets *out and *cq_entries (the completion queue's size the kernel
 * granted: the capacity JavaScript enforces), or -errno (ENOSYS: no io_uring or too old; EPERM:
 * kernel.io_uring_disabled or seccomp; ENOMEM: memlock limit).
 */
int aiofs_uring_create(const struct aiofs_uring_options *options, struct aiofs_uring **out,
                       unsigned *cq_entries);

/* Whether a kernel thread polls the ring's submission queue: options.sqpoll asked for it, the
   calling thread could run on more than one CPU, and the kernel set it up. */
int aiofs_uring_polls(const struct aiofs_uring *ring);

/* The errno with which the kernel refused the polling thread options.sqpoll asked for (the ring
   was then set up without one), or 0. */
int aiofs_uring_sqpoll_refused(const struct aiofs_uring *ring);


#endif
