#ifndef AIOFS_OWNED_FDS_H
#define AIOFS_OWNED_FDS_H

#include <stddef.h>
#include <stdint.h>

/*
 * The fds the addon opened in one environment (a ring's opens, the pipes and duplicates made for
 * splicing) that nobody has closed through aiofs since, a bit per fd. Node closes the fds of its own FileHandles when a worker's environment goes away; these
 * are closed then too (free_addon_data), after every engine of the environment was torn down.
 * Only fds the kernel handed to this addon are ever set, so nothing else is ever closed.
 */
struct owned_fds {
  uint64_t *bits;
  size_t words;
};

/* Remember `fd` as opened by the addon. Without memory for the bit it is not remembered: a leak
   at teardown, never a wrong close. */
void own_fd(struct owned_fds *o, int fd);
/* `fd` was closed (or given away) other than by the environment's teardown. Returns 1 if it was
   remembered, 0 if not. */
int disown_fd(struct owned_fds *o, int fd);
/* Close every fd still remembered, and forget them. */
void close_owned(struct owned_fds *o);

#endif
