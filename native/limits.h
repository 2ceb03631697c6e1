/*
 * The limits JavaScript must agree with, in one place: src/limits.ts holds the same numbers, and
 * test/native.test.ts compares the two through the addon's `constants` export.
 */
#ifndef AIOFS_LIMITS_H
#define AIOFS_LIMITS_H

#define AIOFS_MAX_RW_COUNT 0x7ffff000u  /* Linux never transfers more in one read or write */
#define AIOFS_IOV_MAX 1024              /* IOV_MAX on Linux: iovecs in one vectored call */
#define AIOFS_MAX_REGISTERED 16384      /* io_uring's limit on registered buffers */

#endif
