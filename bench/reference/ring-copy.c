/*
 * A reference point for `aiofs cp` (docs/benchmarks.md): the same copy in C on io_uring, without
 * Node or aiofs: blocks of 1 MiB, 8 in flight, each read at its offset and then written at the same
 * offset, buffered, as `aiofs cp` does. If this is as slow as aiofs against cp, the gap is the
 * method (two copies through user memory against copy_file_range's one inside the kernel), not aiofs.
 *
 *   cc -O2 -o ring-copy bench/reference/ring-copy.c && ./ring-copy SRC DST
 *
 * Not built or run by npm scripts.
 */
#include "ring.h" /* first: it defines _GNU_SOURCE */

#include <fcntl.h>
#include <sys/stat.h>

#define BLOCK (1 << 20)
#define IN_FLIGHT 8

static struct ring r;
static char buffers[IN_FLIGHT][BLOCK];
static off_t offsets[IN_FLIGHT];

/* user_data: worker * 2 + (0 read, 1 write) */
static void prep(unsigned worker, int fd, int write, unsigned length) {
  struct io_uring_sqe *sqe = ring_sqe(&r, worker * 2 + (unsigned)write);
  sqe->opcode = write ? IORING_OP_WRITE : IORING_OP_READ;
  sqe->fd = fd;
  sqe->addr = (uintptr_t)buffers[worker];
  sqe->len = length;
  sqe->off = (uint64_t)offsets[worker];
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s SRC DST\n", argv[0]);
    return 2;
  }
  double start = now();
  ring_setup(&r, 2 * IN_FLIGHT, 0);
  int in = open(argv[1], O_RDONLY), out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (in < 0 || out < 0) die("open");
  struct stat st;
  if (fstat(in, &st) < 0) die("fstat");
  off_t next = 0;
  unsigned busy = 0;
  for (unsigned w = 0; w < IN_FLIGHT && next < st.st_size; w++, busy++) {
    offsets[w] = next;
    next += BLOCK;
    prep(w, in, 0, BLOCK);
  }
  while (busy > 0) {
    ring_enter(&r, 1);
    unsigned head = *r.cq_head;
    for (; head != __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE); head++) {
      struct io_uring_cqe *cqe = &r.cqes[head & r.cq_mask];
      unsigned w = (unsigned)(cqe->user_data / 2);
      if (cqe->res < 0) {
        fprintf(stderr, "%s failed: %s\n", cqe->user_data % 2 ? "write" : "read", strerror(-cqe->res));
        return 1;
      }
      if (cqe->user_data % 2 == 0) {
        prep(w, out, 1, (unsigned)cqe->res); /* short only at the end of the file */
      } else if (next < st.st_size) {
        offsets[w] = next;
        next += BLOCK;
        prep(w, in, 0, BLOCK);
      } else {
        busy--;
      }
    }
    __atomic_store_n(r.cq_head, head, __ATOMIC_RELEASE);
  }
  if (close(out) < 0) die("close");
  printf("copied %lld bytes in %.2f s\n", (long long)st.st_size, now() - start);
  return 0;
}
