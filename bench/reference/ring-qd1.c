/*
 * A reference point for the O_DIRECT one-at-a-time case (docs/benchmarks.md): the least a
 * program can do with io_uring, in C, without Node, an event loop or aiofs. One 4 KiB O_DIRECT
 * read at a time at the offsets bench/randread.ts gives its first worker (the same xorshift32,
 * the same seed), each submitted and waited for with one io_uring_enter, for SECONDS seconds.
 * If aiofs matches this, aiofs adds nothing measurable per read; what separates both from fio is
 * then fio's own (its offset sequence, on a virtual disk whose host caches).
 *
 * With `epoll` as the third argument, each read is submitted alone and its completion awaited in
 * epoll_wait on the ring's fd, as aiofs's event loop does, instead of inside io_uring_enter: the
 * difference between the two modes is what the wake-up through epoll costs by itself.
 *
 *   cc -O2 -o ring-qd1 bench/reference/ring-qd1.c && ./ring-qd1 FILE [SECONDS] [wait|epoll]
 *
 * Not built or run by npm scripts.
 */
#include "ring.h" /* first: it defines _GNU_SOURCE */

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE [SECONDS] [wait|epoll]\n", argv[0]);
    return 2;
  }
  double seconds = argc > 2 ? atof(argv[2]) : 3;
  int use_epoll = argc > 3 && strcmp(argv[3], "epoll") == 0;
  struct ring r;
  ring_setup(&r, 4, 0);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ready = {.events = EPOLLIN};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, r.fd, &ready) < 0) die("epoll");
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
    ring_enter(&r, use_epoll ? 0 : 1);
    unsigned head = *r.cq_head;
    while (head == __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE)) {
      if (!use_epoll) {
        ring_enter(&r, 1);
      } else if (epoll_wait(ep, &ready, 1, -1) < 0 && errno != EINTR) {
        die("epoll_wait"); /* EINTR: the completion's task work interrupted the wait */
      }
    }
    if (r.cqes[head & r.cq_mask].res != 4096) errors++;
    __atomic_store_n(r.cq_head, head + 1, __ATOMIC_RELEASE);
    reads++;
  }
  printf("%.0f IOPS (%ld reads, %ld errors, %s)\n", reads / (now() - start), reads, errors, use_epoll ? "epoll" : "wait");
  return errors != 0;
}
