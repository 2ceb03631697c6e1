/* Linux native AIO engine: raw io_setup/io_submit/io_getevents/io_cancel, no libaio. */
#ifndef AIOFS_AIO_H
#define AIOFS_AIO_H

#include "engine.h"

struct aiofs_aio;

extern const struct aiofs_engine_ops aiofs_aio_ops;

/*
 * Create a context for `capacity` operations in flight, with an eventfd (IOCB_FLAG_RESFD) the
 * event loop watches. Returns 0 and sets *out, or -errno: -EAGAIN when fs.aio-max-nr would be
 * exceeded, -ENOSYS without AIO support.
 */
int aiofs_aio_create(unsigned capacity, struct aiofs_aio **out);

#endif
