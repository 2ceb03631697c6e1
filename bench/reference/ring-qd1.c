/*
 * A reference point for the one-at-a-time cases (docs/benchmarks.md): the least a program can do
 * with io_uring, in C, without Node, an event loop or aiofs. One 4 KiB read at a time at the
 * offsets bench/randread.ts gives its first worker (the same xorshift32, the same seed), each
 * submitted and waited for with one io_uring_enter, for SECONDS seconds. O_DIRECT by default;
 * `cached` reads through the page cache (randread-qd1: the file is cached, so each read is a
 * copy done inside the submit). It prints IOPS and the CPU time per read, user and system
 * (getrusage): what the kernel costs per read, against which aiofs's own figures are read.
 *
 * With `epoll`, each read is submitted alone and its completion awaited in epoll_wait on the
 * ring's fd, as aiofs's event loop does, instead of inside io_uring_enter: the difference between
 * the two modes is what the wake-up through epoll costs by itself.
 *
 *   cc -O2 -o ring-qd1 bench/reference/ring-qd1.c && ./ring-qd1 FILE [SECONDS] [wait|epoll] [direct|cached]
 *
 * Not built or run by npm scripts.
 */
#include "ring.h" /* first: it defines _GNU_SOURCE */

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>

static double cpu_seconds(const struct timeval *t) { return t->tv_sec + t->tv_usec / 1e6; }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE [SECONDS] [wait|epoll] [direct|cached]\n", argv[0]);
    return 2;
  }
  double seconds = argc > 2 ? atof(argv[2]) : 3;
  int use_epoll = 0, cached = 0;
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "epoll") == 0) use_epoll = 1;
    else if (strcmp(argv[i], "cached") == 0) cached = 1;
    else if (strcmp(argv[i], "wait") != 0 && strcmp(argv[i], "direct") != 0) die("mode: wait, epoll, direct or cached");
  }
  struct ring r;
  ring_setup(&r, 4, 0);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ready = {.events = EPOLLIN};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, r.fd, &ready) < 0) die("epoll");
  int fd = open(argv[1], O_RDONLY | (cached ? 0 : O_DIRECT));
  if (fd < 0) die(argv[1]);
  uint32_t blocks = (uint32_t)(lseek(fd, 0, SEEK_END) / 4096);
  void *buffer;
  if (blocks == 0 || posix_memalign(&buffer, 4096, 4096) != 0) die("setup");

  uint32_t x = 0x9e3779b9u | 1; /* bench/randread.ts, worker 0 */
  long reads = 0, errors = 0;
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
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
  double elapsed = now() - start;
  getrusage(RUSAGE_SELF, &after);
  double user = cpu_seconds(&after.ru_utime) - cpu_seconds(&before.ru_utime);
  double system = cpu_seconds(&after.ru_stime) - cpu_seconds(&before.ru_stime);
  printf("%.0f IOPS, %.2f us user + %.2f us system per read (%ld reads, %ld errors, %s, %s)\n", reads / elapsed,
         user * 1e6 / reads, system * 1e6 / reads, reads, errors, use_epoll ? "epoll" : "wait", cached ? "cached" : "direct");
  return errors != 0;
}
