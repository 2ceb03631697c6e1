/**
 * The limits every layer must agree with, and the native core too: native/limits.h holds the same
 * numbers, and test/native.test.ts checks that they agree.
 */

/** Linux never transfers more bytes in one read or write (MAX_RW_COUNT); longer ones come back short. */
export const MAX_RW_COUNT = 0x7ffff000;
/** Linux takes at most this many buffers in one vectored read or write (IOV_MAX). */
export const IOV_MAX = 1024;
/** io_uring registers at most this many buffers. */
export const MAX_REGISTERED_BUFFERS = 16384;
/** The largest buffer io_uring registers (1 GiB). */
export const MAX_REGISTERED_BYTES = 1 << 30;
/**
 * The offset of a transfer at the file's own position, which it moves (read(2) and write(2) rather
 * than pread(2) and pwrite(2)): what node:fs's position null means (AIOFS_CURRENT_POSITION).
 */
export const CURRENT_POSITION = -1;
