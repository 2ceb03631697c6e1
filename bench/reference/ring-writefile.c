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
 * Raw system calls against the kernel's UAPI header (Linux 5.19+ for the linked form); not built
 * or run by npm scripts.
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

#define FILES 10000
#define IN_FLIGHT 64
#define SIZE 4096

enum step { OPEN, WRITE, CLOSE };

static int ring;
static struct io_uring_sqe *sqes;
static unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, cq_mask, to_submit;
static struct io_uring_cqe *cqes;
static char names[FILES][64];
static char data[SIZE];
static int fds[IN_FLIGHT];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static struct io_uring_sqe *next_sqe(unsigned worker, enum step step) {
  unsigned tail = *sq_tail, index = tail & *sq_mask;
  struct io_uring_sqe *sqe = &sqes[index];
  memset(sqe, 0, sizeof *sqe);
  sqe->user_data = worker * 4 + step;
  sq_array[index] = index;
  __atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
  to_submit++;
  return sqe;
}

static void prep_open(unsigned worker, unsigned file, int linked) {
  struct io_uring_sqe *sqe = next_sqe(worker, OPEN);
  sqe->opcode = IORING_OP_OPENAT;
  sqe->fd = AT_FDCWD;
  sqe->addr = (uintptr_t)names[file];
  sqe->open_flags = O_WRONLY | O_CREAT | O_TRUNC;
  sqe->len = 0644;
  if (!linked) return;
  sqe->file_index = worker + 1; /* into fixed slot `worker` */
  sqe->flags = IOSQE_IO_LINK;
  sqe = next_sqe(worker, WRITE);
  sqe->opcode = IORING_OP_WRITE;
  sqe->fd = (int)worker;
  sqe->flags = IOSQE_FIXED_FILE | IOSQE_IO_LINK;
  sqe->addr = (uintptr_t)data;
  sqe->len = SIZE;
  sqe = next_sqe(worker, CLOSE);
  sqe->opcode = IORING_OP_CLOSE;
  sqe->file_index = worker + 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [linked] [SECONDS]\n", argv[0]);
    return 2;
  }
  int linked = argc > 2 && strcmp(argv[2], "linked") == 0;
  double seconds = argc > 3 ? atof(argv[3]) : 3;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = 1024;
  ring = (int)syscall(__NR_io_uring_setup, 256, &p);
  if (ring < 0) die("io_uring_setup");
  size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char *rings = mmap(NULL, sq_size > cq_size ? sq_size : cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
  sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
  if (rings == MAP_FAILED || sqes == MAP_FAILED) die("mmap");
  sq_tail = (unsigned *)(rings + p.sq_off.tail);
  sq_mask = (unsigned *)(rings + p.sq_off.ring_mask);
  sq_array = (unsigned *)(rings + p.sq_off.array);
  cq_head = (unsigned *)(rings + p.cq_off.head);
  cq_tail = (unsigned *)(rings + p.cq_off.tail);
  cq_mask = *(unsigned *)(rings + p.cq_off.ring_mask);
  cqes = (struct io_uring_cqe *)(rings + p.cq_off.cqes);
  if (linked) {
    struct io_uring_rsrc_register files;
    memset(&files, 0, sizeof files);
    files.nr = IN_FLIGHT;
    files.flags = IORING_RSRC_REGISTER_SPARSE;
    if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES2, &files, sizeof files) < 0) die("IORING_REGISTER_FILES2");
  }
  for (unsigned i = 0; i < FILES; i++) snprintf(names[i], sizeof names[i], "%s/f%u", argv[1], i);
  memset(data, 7, sizeof data);

  unsigned next_file = 0;
  long written = 0;
  for (unsigned w = 0; w < IN_FLIGHT; w++) prep_open(w, next_file++ % FILES, linked);
  double start = now();
  while (now() - start < seconds) {
    if (syscall(__NR_io_uring_enter, ring, to_submit, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) die("io_uring_enter");
    to_submit = 0;
    unsigned head = *cq_head;
    for (; head != __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE); head++) {
      struct io_uring_cqe *cqe = &cqes[head & cq_mask];
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
        struct io_uring_sqe *sqe = next_sqe(worker, WRITE);
        sqe->opcode = IORING_OP_WRITE;
        sqe->fd = fds[worker];
        sqe->addr = (uintptr_t)data;
        sqe->len = SIZE;
      } else if (!linked && step == WRITE) {
        next_sqe(worker, CLOSE)->fd = fds[worker];
        sqes[(*sq_tail - 1) & *sq_mask].opcode = IORING_OP_CLOSE;
      }
    }
    __atomic_store_n(cq_head, head, __ATOMIC_RELEASE);
  }
  printf("%s: %.0f writeFiles/s\n", linked ? "linked" : "one step at a time", written / (now() - start));
  return 0;
}
