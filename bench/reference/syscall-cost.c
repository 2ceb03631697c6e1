/*
 * A reference point for the one-at-a-time cases (docs/benchmarks.md, "One read at a time"): what
 * one system call costs on this machine, and what it costs the memory accesses that follow it.
 * Three loops, taking turns for ROUNDS rounds, median of each:
 *
 *   syscall         getppid(2), the cheapest system call there is;
 *   pages           one byte read from each of PAGES pages, 64 KiB apart (no system call);
 *   syscall + pages the two in turn.
 *
 * A program the size of a JavaScript runtime touches many pages between two system calls (its
 * code, its heap, its stack). Where entering the kernel empties the TLB of the program's
 * mappings (page-table isolation without PCID), the third loop costs more than the first two
 * together, and the difference divided by PAGES is what each page costs after a system call.
 *
 *   cc -O2 -o syscall-cost bench/reference/syscall-cost.c && ./syscall-cost [PAGES] [ROUNDS]
 *
 * Not built or run by npm scripts.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CALLS 200000
#define STRIDE (64 * 1024)

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static volatile long sink;

/* Nanoseconds per iteration of one loop: a getppid if `call`, then a byte of each of `pages`. */
static double loop(const volatile char *memory, int pages, int call) {
  double start = now_ns();
  long sum = 0;
  for (int i = 0; i < CALLS; i++) {
    if (call) sum += syscall(SYS_getppid);
    for (int p = 0; p < pages; p++) sum += memory[(size_t)p * STRIDE + (p % 64) * 64];
  }
  sink = sum;
  return (now_ns() - start) / CALLS;
}

int main(int argc, char **argv) {
  int pages = argc > 1 ? atoi(argv[1]) : 100;
  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  if (pages < 1 || rounds < 1) {
    fprintf(stderr, "usage: %s [PAGES >= 1] [ROUNDS >= 1]\n", argv[0]);
    return 2;
  }
  size_t size = (size_t)pages * STRIDE;
  char *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  for (size_t i = 0; i < size; i += 4096) memory[i] = 1; /* every page present before timing */

  double *times = malloc(sizeof(double) * 3 * (size_t)rounds);
  if (!times) return 1;
  loop(memory, pages, 1); /* warm up */
  for (int r = 0; r < rounds; r++) {
    times[r] = loop(memory, 0, 1);
    times[rounds + r] = loop(memory, pages, 0);
    times[2 * rounds + r] = loop(memory, pages, 1);
  }
  double median[3];
  for (int k = 0; k < 3; k++) {
    qsort(times + k * rounds, (size_t)rounds, sizeof(double), compare);
    median[k] = times[k * rounds + rounds / 2];
  }
  double extra = median[2] - median[0] - median[1];
  printf("syscall %.0f ns, %d pages %.0f ns, syscall + pages %.0f ns: %.1f ns more per page after a system call\n",
         median[0], pages, median[1], median[2], extra / pages);
  free(times);
  munmap(memory, size);
  return 0;
}
