/*
 * A reference point for the small-files writeFile case (docs/benchmarks.md): what io_uring itself
 * achieves for "open(O_WRONLY|O_CREAT|O_TRUNC), write 4 KiB, close" over 10,000 files with 64 in
 * flight, in C, without Node or aiofs, in two ways: each step submitted when the previous one
 * completes (what aiofs/promises does), or the three linked (IOSQE_IO_LINK) through a fixed-file
 * slot, so that the write and the close follow the open in the same io-wq worker.
 *
 *   cc -O2 -o ring-writefile bench/reference/ring-writefile.c
 *   ./ring-writefile DIR [linked] [SECONDS]      (DIR: an empty directory on the filesystem to measure)
 *
 * Linux 5.19+ for the linked form. Not built or run by npm scripts.
 */
#include "ring.h" /* first: it defines _GNU_SOURCE */

#include <fcntl.h>

#define FILES 10000
#define IN_FLIGHT 64
#define SIZE 4096

enum step { OPEN, WRITE, CLOSE };

static struct ring r;
static char names[FILES][64];
static char data[SIZE];
static int fds[IN_FLIGHT];

static struct io_uring_sqe *prep(unsigned worker, enum step step, unsigned opcode) {
  struct io_uring_sqe *sqe = ring_sqe(&r, worker * 4 + step);
  sqe->opcode = (uint8_t)opcode;
  return sqe;
}

static void prep_write(unsigned worker, int fd, int fixed) {
  struct io_uring_sqe *sqe = prep(worker, WRITE, IORING_OP_WRITE);
  sqe->fd = fd;
  sqe->addr = (uintptr_t)data;
  sqe->len = SIZE;
  if (fixed) sqe->flags = IOSQE_FIXED_FILE | IOSQE_IO_LINK;
}

static void prep_open(unsigned worker, unsigned file, int linked) {
  struct io_uring_sqe *sqe = prep(worker, OPEN, IORING_OP_OPENAT);
  sqe->fd = AT_FDCWD;
  sqe->addr = (uintptr_t)names[file];
  sqe->open_flags = O_WRONLY | O_CREAT | O_TRUNC;
  sqe->len = 0644;
  if (!linked) return;
  sqe->file_index = worker + 1; /* into fixed slot `worker` */
  sqe->flags = IOSQE_IO_LINK;
  prep_write(worker, (int)worker, 1);
  prep(worker, CLOSE, IORING_OP_CLOSE)->file_index = worker + 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [linked] [SECONDS]\n", argv[0]);
    return 2;
  }
  int linked = argc > 2 && strcmp(argv[2], "linked") == 0;
  double seconds = argc > 3 ? atof(argv[3]) : 3;
  ring_setup(&r, 256, 1024);
  if (linked) {
    struct io_uring_rsrc_register files;
    memset(&files, 0, sizeof files);
    files.nr = IN_FLIGHT;
    files.flags = IORING_RSRC_REGISTER_SPARSE;
    if (syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_FILES2, &files, sizeof files) < 0) die("IORING_REGISTER_FILES2");
  }
  for (unsigned i = 0; i < FILES; i++) snprintf(names[i], sizeof names[i], "%s/f%u", argv[1], i);
  memset(data, 7, sizeof data);

  unsigned next_file = 0;
  long written = 0;
  for (unsigned w = 0; w < IN_FLIGHT; w++) prep_open(w, next_file++ % FILES, linked);
  double start = now();
  while (now() - start < seconds) {
    ring_enter(&r, 1);
    unsigned head = *r.cq_head;
    for (; head != __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE); head++) {
      struct io_uring_cqe *cqe = &r.cqes[head & r.cq_mask];
      unsigned worker = (unsigned)(cqe->user_data / 4);
      enum step step = (enum step)(cqe->user_data % 4);
      if (cqe->res < 0 || (step == WRITE && cqe->res != SIZE)) {
        fprintf(stderr, "step %d failed: %d\n", step, cqe->res);
        return 1;
      }
      if (step == CLOSE) {
        written++;
        prep_open(worker, next_file++ % FILES, linked);
      } else if (!linked && step == OPEN) {
        fds[worker] = cqe->res;
        prep_write(worker, fds[worker], 0);
      } else if (!linked && step == WRITE) {
        prep(worker, CLOSE, IORING_OP_CLOSE)->fd = fds[worker];
      }
    }
    __atomic_store_n(r.cq_head, head, __ATOMIC_RELEASE);
  }
  printf("%s: %.0f writeFiles/s\n", linked ? "linked" : "one step at a time", written / (now() - start));
  return 0;
}
