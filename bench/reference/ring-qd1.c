/*
 * A reference point for the O_DIRECT one-at-a-time case (docs/benchmarks.md): the least a
 * program can do with io_uring, in C, without Node, an event loop or aiofs. One 4 KiB O_DIRECT
 * read at a time at the offsets bench/randread.ts gives its first worker (the same xorshift32,
 * the same seed), each submitted and waited for with one io_uring_enter, for SECONDS seconds.
 * If aiofs matches this, aiofs adds nothing measurable per read; what separates both from fio is
 * then fio's own (its offset sequence, on a virtual disk whose host caches).
 *
 *   cc -O2 -o ring-qd1 bench/reference/ring-qd1.c && ./ring-qd1 FILE [SECONDS]
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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE [SECONDS]\n", argv[0]);
    return 2;
  }
  double seconds = argc > 2 ? atof(argv[2]) : 3;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int ring = (int)syscall(__NR_io_uring_setup, 4, &p);
  if (ring < 0) die("io_uring_setup");
  size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  size_t ring_size = sq_size > cq_size ? sq_size : cq_size; /* one mapping: IORING_FEAT_SINGLE_MMAP */
  char *rings = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
  struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
  if (rings == MAP_FAILED || sqes == MAP_FAILED) die("mmap");
  unsigned *sq_tail = (unsigned *)(rings + p.sq_off.tail), *sq_mask = (unsigned *)(rings + p.sq_off.ring_mask);
  unsigned *sq_array = (unsigned *)(rings + p.sq_off.array);
  unsigned *cq_head = (unsigned *)(rings + p.cq_off.head), *cq_tail = (unsigned *)(rings + p.cq_off.tail);
  struct io_uring_cqe *cqes = (struct io_uring_cqe *)(rings + p.cq_off.cqes);
  unsigned cq_mask = *(unsigned *)(rings + p.cq_off.ring_mask);

  int fd = open(argv[1], O_RDONLY | O_DIRECT);
  if (fd < 0) die(argv[1]);
  uint32_t blocks = (uint32_t)(lseek(fd, 0, SEEK_END) / 4096);
  void *buffer;
  if (blocks == 0 || posix_memalign(&buffer, 4096, 4096) != 0) die("setup");

  uint32_t x = 0x9e3779b9u | 1; /* bench/randread.ts, worker 0 */
  long reads = 0, errors = 0;
  double start = now();
  while (now() - start < seconds) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    unsigned tail = *sq_tail, index = tail & *sq_mask;
    struct io_uring_sqe *sqe = &sqes[index];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_READ;
    sqe->fd = fd;
    sqe->addr = (uintptr_t)buffer;
    sqe->len = 4096;
    sqe->off = (uint64_t)(x % blocks) * 4096;
    sq_array[index] = index;
    __atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
    if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) die("io_uring_enter");
    unsigned head = *cq_head;
    while (head == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE))
      if (syscall(__NR_io_uring_enter, ring, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) die("io_uring_enter");
    if (cqes[head & cq_mask].res != 4096) errors++;
    __atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
    reads++;
  }
  printf("%.0f IOPS (%ld reads, %ld errors)\n", reads / (now() - start), reads, errors);
  return errors != 0;
}
