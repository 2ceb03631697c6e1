/*
 * splice(2) made at once, from the event loop, where it cannot wait: the pipe-to-socket and
 * file-to-pipe halves of a body moved inside the kernel (src/http/splice-body.ts). Each returns
 * the bytes moved or -errno, refuses (-EINVAL, -EAGAIN) what could wait, and never throws.
 */
#ifndef AIOFS_SPLICE_H
#define AIOFS_SPLICE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Up to `length` bytes from the pipe `pipe_fd` to `out_fd`, which must be non-blocking (a socket
 * as an event loop holds it): -EAGAIN when it is full or the pipe empty, -EINVAL when `pipe_fd`
 * is no pipe or `out_fd` could block.
 */
ssize_t aiofs_drain_pipe(int pipe_fd, int out_fd, size_t length);

/*
 * Up to `length` bytes of the regular file `fd` from `offset` into the pipe `pipe_fd`, only when
 * every page of that range is in memory (cachestat(2), Linux 6.5): the splice then takes page
 * references and does not wait for the device. 0 at or past the end of the file. -EAGAIN when a
 * page is not in memory, or the pipe is full: the caller goes through the ring instead.
 * -ENOSYS without cachestat, -EINVAL when `fd` is not a regular file or `pipe_fd` not a pipe.
 * A page evicted between the check and the splice is read from the device inside the call: a
 * window of microseconds, under memory pressure only.
 */
ssize_t aiofs_splice_resident(int fd, int64_t offset, int pipe_fd, size_t length);

#endif
