/*
 * Runs a command under a seccomp filter built from a list of system calls, as a container
 * runtime applies its profile to the processes of a container: for the tests of what aiofs does
 * where Docker 25+, containerd or Kubernetes' RuntimeDefault refuse io_uring
 * (test/container.test.ts), and for `aiofs bench --sandbox docker` (bench/sandbox.ts).
 * Only this process and what it runs are filtered, never the host.
 *
 *   container-sandbox RULES COMMAND [ARG...]
 *
 * RULES holds one system call per line, by name: `NAME` is allowed; `NAME ERRNO` fails with that
 * errno (as Docker answers clone3 with ENOSYS, so that the C library falls back to clone). A call
 * numbered above every call RULES names fails with ENOSYS, as runc answers the calls newer than
 * its profile (so that a program falls back as on a kernel without them); every other call fails
 * with EPERM, Docker's answer. A name this libseccomp or architecture does not know is skipped.
 * Only the native architecture's calls are filtered (a 32-bit call is refused outright, where
 * Docker also lists x86 and x32). Exits 125 (as `docker run` does) when the filter cannot be set up.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How many call numbers above the list's highest answer ENOSYS rather than EPERM. */
#define NEWER_CALLS 64

static int fail(const char *what, int error) {
  fprintf(stderr, "container-sandbox: %s: %s\n", what, strerror(error));
  return 125;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: container-sandbox RULES COMMAND [ARG...]\n");
    return 125;
  }
  FILE *rules = fopen(argv[1], "r");
  if (!rules) return fail(argv[1], errno);
  scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (!filter) return fail("seccomp_init", ENOMEM);
  char line[256];
  int highest = -1;
  while (fgets(line, sizeof line, rules)) {
    char name[128];
    int error = 0;
    int fields = sscanf(line, "%127s %d", name, &error);
    if (fields < 1) continue;
    int call = seccomp_syscall_resolve_name(name);
    if (call == __NR_SCMP_ERROR) continue;
    int rc = seccomp_rule_add(filter, fields == 2 ? SCMP_ACT_ERRNO((unsigned)error) : SCMP_ACT_ALLOW, call, 0);
    if (rc < 0 && rc != -EEXIST) return fail(name, -rc);
    if (call > highest) highest = call;
  }
  fclose(rules);
  /* The calls newer than the list, up to a margin of kernels to come: ENOSYS, as runc does. */
  for (int call = highest + 1; highest >= 0 && call <= highest + NEWER_CALLS; call++) {
    int rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), call, 0);
    if (rc < 0 && rc != -EEXIST) return fail("a call newer than the list", -rc);
  }
  int rc = seccomp_load(filter);
  if (rc < 0) return fail("seccomp_load", -rc);
  seccomp_release(filter);
  execvp(argv[2], argv + 2);
  return fail(argv[2], errno);
}
