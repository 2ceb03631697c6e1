/*
 * A reference point for `aiofs cp` (docs/benchmarks.md): the same copy in C on io_uring, without
 * Node or aiofs: blocks of 1 MiB, 8 in flight, each read at its offset and then written at the same
 * offset, buffered, as `aiofs cp` does. If this is as slow as aiofs against cp, the gap is the
 * method (two copies through user memory against copy_file_range's one inside the kernel), not aiofs.
 *
 *   cc -O2 -o ring-copy bench/reference/ring-copy.c && ./ring-copy SRC DST
 *
 * Raw system calls against the kernel's UAPI header; not built or run by npm scripts.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (1 << 20)
#define IN_FLIGHT 8

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s SRC DST\n", argv[0]);
    return 2;
  }
  double start = now();
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int ring = (int)syscall(__NR_io_uring_setup, 2 * IN_FLIGHT, &p);
  if (ring < 0) die("io_uring_setup");
  size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char *rings = mmap(NULL, sq_size > cq_size ? sq_size : cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
  struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
  if (rings == MAP_FAILED || sqes == MAP_FAILED) die("mmap");
  unsigned *sq_tail = (unsigned *)(rings + p.sq_off.tail), *sq_mask = (unsigned *)(rings + p.sq_off.ring_mask);
  unsigned *sq_array = (unsigned *)(rings + p.sq_off.array);
  unsigned *cq_head = (unsigned *)(rings + p.cq_off.head), *cq_tail = (unsigned *)(rings + p.cq_off.tail);
  unsigned cq_mask = *(unsigned *)(rings + p.cq_off.ring_mask);
  struct io_uring_cqe *cqes = (struct io_uring_cqe *)(rings + p.cq_off.cqes);

  int in = open(argv[1], O_RDONLY), out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (in < 0 || out < 0) die("open");
  struct stat st;
  if (fstat(in, &st) < 0) die("fstat");
  static char buffers[IN_FLIGHT][BLOCK];
  off_t offsets[IN_FLIGHT], next = 0;
  unsigned to_submit = 0, busy = 0;

  /* user_data: worker * 2 + (0 read, 1 write) */
#define PREP(worker, write_, length)                                                            \
  do {                                                                                          \
    unsigned tail_ = *sq_tail, index_ = tail_ & *sq_mask;                                       \
    struct io_uring_sqe *sqe_ = &sqes[index_];                                                  \
    memset(sqe_, 0, sizeof *sqe_);                                                              \
    sqe_->opcode = (write_) ? IORING_OP_WRITE : IORING_OP_READ;                                 \
    sqe_->fd = (write_) ? out : in;                                                             \
    sqe_->addr = (uintptr_t)buffers[worker];                                                    \
    sqe_->len = (length);                                                                       \
    sqe_->off = (uint64_t)offsets[worker];                                                      \
    sqe_->user_data = (worker) * 2 + (write_);                                                  \
    sq_array[index_] = index_;                                                                  \
    __atomic_store_n(sq_tail, tail_ + 1, __ATOMIC_RELEASE);                                     \
    to_submit++;                                                                                \
  } while (0)

  for (unsigned w = 0; w < IN_FLIGHT && next < st.st_size; w++, busy++) {
    offsets[w] = next;
    next += BLOCK;
    PREP(w, 0, BLOCK);
  }
  while (busy > 0) {
    if (syscall(__NR_io_uring_enter, ring, to_submit, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) die("io_uring_enter");
    to_submit = 0;
    unsigned head = *cq_head;
    for (; head != __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE); head++) {
      struct io_uring_cqe *cqe = &cqes[head & cq_mask];
      unsigned w = (unsigned)(cqe->user_data / 2);
      if (cqe->res < 0) {
        fprintf(stderr, "%s failed: %s\n", cqe->user_data % 2 ? "write" : "read", strerror(-cqe->res));
        return 1;
      }
      if (cqe->user_data % 2 == 0) {
        PREP(w, 1, (unsigned)cqe->res); /* short only at the end of the file */
      } else if (next < st.st_size) {
        offsets[w] = next;
        next += BLOCK;
        PREP(w, 0, BLOCK);
      } else {
        busy--;
      }
    }
    __atomic_store_n(cq_head, head, __ATOMIC_RELEASE);
  }
  if (close(out) < 0) die("close");
  printf("copied %lld bytes in %.2f s\n", (long long)st.st_size, now() - start);
  return 0;
}
