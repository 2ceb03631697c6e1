/*
 * What the reference programs in this folder share: a clock, a fatal error, and an io_uring
 * set up with raw system calls against the kernel's UAPI header (no liburing), with the next
 * submission entry and the completion queue at hand. Header-only, so each program still builds
 * with one `cc` command.
 */
#ifndef AIOFS_REFERENCE_RING_H
#define AIOFS_REFERENCE_RING_H

#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct ring {
  int fd;
  struct io_uring_sqe *sqes;
  unsigned *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, cq_mask;
  struct io_uring_cqe *cqes;
  unsigned to_submit; /* entries filled since the last ring_enter */
};

static inline double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static inline void die(const char *what) {
  perror(what);
  exit(1);
}

/* A ring of `entries` (and `cq_entries` completions if not 0), or exit. */
static inline void ring_setup(struct ring *r, unsigned entries, unsigned cq_entries) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  if (cq_entries) {
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = cq_entries;
  }
  r->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
  if (r->fd < 0) die("io_uring_setup");
  size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  /* One mapping for both rings: IORING_FEAT_SINGLE_MMAP (5.4+). */
  char *rings = mmap(NULL, sq_size > cq_size ? sq_size : cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  r->sqes = mmap(NULL, p.sq_entries * sizeof(*r->sqes), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (rings == MAP_FAILED || r->sqes == MAP_FAILED) die("mmap");
  r->sq_tail = (unsigned *)(rings + p.sq_off.tail);
  r->sq_mask = (unsigned *)(rings + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(rings + p.sq_off.array);
  r->cq_head = (unsigned *)(rings + p.cq_off.head);
  r->cq_tail = (unsigned *)(rings + p.cq_off.tail);
  r->cq_mask = *(unsigned *)(rings + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(rings + p.cq_off.cqes);
  r->to_submit = 0;
}

/* The next submission entry, zeroed, with `user_data`; published to the kernel at the next ring_enter. */
static inline struct io_uring_sqe *ring_sqe(struct ring *r, uint64_t user_data) {
  unsigned tail = *r->sq_tail, index = tail & *r->sq_mask;
  struct io_uring_sqe *sqe = &r->sqes[index];
  memset(sqe, 0, sizeof *sqe);
  sqe->user_data = user_data;
  r->sq_array[index] = index;
  /* The kernel must see the entry before the tail that covers it. */
  __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
  r->to_submit++;
  return sqe;
}

/* Submit what was filled and wait for at least `wait` completions, or exit. */
static inline void ring_enter(struct ring *r, unsigned wait) {
  if (syscall(__NR_io_uring_enter, r->fd, r->to_submit, wait, wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0) < 0) die("io_uring_enter");
  r->to_submit = 0;
}

#endif
