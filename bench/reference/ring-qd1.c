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
 * Not built or run by npm scripts.
 */
#include "ring.h" /* first: it defines _GNU_SOURCE */

#include <fcntl.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE [SECONDS]\n", argv[0]);
    return 2;
  }
  double seconds = argc > 2 ? atof(argv[2]) : 3;
  struct ring r;
  ring_setup(&r, 4, 0);
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
    struct io_uring_sqe *sqe = ring_sqe(&r, 0);
    sqe->opcode = IORING_OP_READ;
    sqe->fd = fd;
    sqe->addr = (uintptr_t)buffer;
    sqe->len = 4096;
    sqe->off = (uint64_t)(x % blocks) * 4096;
    ring_enter(&r, 1);
    unsigned head = *r.cq_head;
    while (head == __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE)) ring_enter(&r, 1);
    if (r.cqes[head & r.cq_mask].res != 4096) errors++;
    __atomic_store_n(r.cq_head, head + 1, __ATOMIC_RELEASE);
    reads++;
  }
  printf("%.0f IOPS (%ld reads, %ld errors)\n", reads / (now() - start), reads, errors);
  return errors != 0;
}
