/*
 * Compile-time checks of the kernel ABI this addon relies on. We use the structs of the UAPI
 * headers directly; these assertions catch a header that disagrees with the ABI the code was
 * written against (fields moved or resized), at build time instead of as memory corruption.
 */
#include <linux/io_uring.h>
#include <stddef.h>

_Static_assert(sizeof(struct io_uring_sqe) == 64, "io_uring_sqe is 64 bytes");
_Static_assert(sizeof(struct io_uring_cqe) == 16, "io_uring_cqe is 16 bytes");
_Static_assert(offsetof(struct io_uring_sqe, opcode) == 0, "sqe.opcode");
_Static_assert(offsetof(struct io_uring_sqe, fd) == 4, "sqe.fd");
_Static_assert(offsetof(struct io_uring_sqe, off) == 8, "sqe.off");
_Static_assert(offsetof(struct io_uring_sqe, addr) == 16, "sqe.addr");
_Static_assert(offsetof(struct io_uring_sqe, len) == 24, "sqe.len");
_Static_assert(offsetof(struct io_uring_sqe, fsync_flags) == 28, "sqe.fsync_flags");
_Static_assert(offsetof(struct io_uring_sqe, user_data) == 32, "sqe.user_data");
_Static_assert(offsetof(struct io_uring_cqe, res) == 8, "cqe.res");
_Static_assert(sizeof(struct io_uring_params) == 120, "io_uring_params is 120 bytes");
_Static_assert(offsetof(struct io_uring_params, sq_off) == 40, "params.sq_off");
_Static_assert(offsetof(struct io_uring_params, cq_off) == 80, "params.cq_off");
_Static_assert(sizeof(struct io_uring_probe_op) == 8, "io_uring_probe_op is 8 bytes");
_Static_assert(sizeof(struct io_uring_probe) == 16, "io_uring_probe is 16 bytes");

_Static_assert(offsetof(struct io_uring_sqe, rw_flags) == 28, "sqe.rw_flags (open/statx/rename/unlink/link flags share it)");
_Static_assert(IORING_OP_FALLOCATE == 17 && IORING_OP_OPENAT == 18 && IORING_OP_CLOSE == 19 &&
                   IORING_OP_STATX == 21,
               "metadata opcodes of 5.6");

_Static_assert(IORING_OP_POLL_ADD == 6 && IORING_OP_SPLICE == 30 && IORING_OP_OPENAT2 == 28,
               "poll of 5.1, openat2 of 5.6, splice of 5.7");
#include <linux/openat2.h>
_Static_assert(sizeof(struct open_how) == 24, "open_how is 24 bytes (OPEN_HOW_SIZE_VER0)");
_Static_assert(offsetof(struct io_uring_sqe, splice_off_in) == 16, "sqe.splice_off_in (addr2)");
_Static_assert(offsetof(struct io_uring_sqe, splice_flags) == 28, "sqe.splice_flags");
_Static_assert(offsetof(struct io_uring_sqe, splice_fd_in) == 44, "sqe.splice_fd_in");
_Static_assert(offsetof(struct io_uring_sqe, poll32_events) == 28, "sqe.poll32_events");

#include <linux/version.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 15, 0)
_Static_assert(IORING_OP_RENAMEAT == 35 && IORING_OP_UNLINKAT == 36 && IORING_OP_MKDIRAT == 37 &&
                   IORING_OP_SYMLINKAT == 38 && IORING_OP_LINKAT == 39,
               "metadata opcodes of 5.11 and 5.15");
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 18, 0)
_Static_assert(IORING_REGISTER_RING_FDS == 20 && IORING_UNREGISTER_RING_FDS == 21 &&
                   IORING_ENTER_REGISTERED_RING == (1U << 4),
               "registered ring fds of 5.18");
_Static_assert(sizeof(struct io_uring_rsrc_update) == 16 &&
                   offsetof(struct io_uring_rsrc_update, data) == 8,
               "io_uring_rsrc_update, the ring fd registration's argument");
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
_Static_assert(IORING_OP_FTRUNCATE == 55, "FTRUNCATE of 6.9");
#endif

/* struct statx as JavaScript decodes it (src/backend/stats.ts). */
#include <linux/stat.h>
_Static_assert(sizeof(struct statx) == 256, "statx is 256 bytes");
_Static_assert(offsetof(struct statx, stx_mask) == 0, "stx_mask");
_Static_assert(offsetof(struct statx, stx_blksize) == 4, "stx_blksize");
_Static_assert(offsetof(struct statx, stx_nlink) == 16, "stx_nlink");
_Static_assert(offsetof(struct statx, stx_uid) == 20, "stx_uid");
_Static_assert(offsetof(struct statx, stx_gid) == 24, "stx_gid");
_Static_assert(offsetof(struct statx, stx_mode) == 28, "stx_mode");
_Static_assert(offsetof(struct statx, stx_ino) == 32, "stx_ino");
_Static_assert(offsetof(struct statx, stx_size) == 40, "stx_size");
_Static_assert(offsetof(struct statx, stx_blocks) == 48, "stx_blocks");
_Static_assert(offsetof(struct statx, stx_atime) == 64, "stx_atime");
_Static_assert(offsetof(struct statx, stx_btime) == 80, "stx_btime");
_Static_assert(offsetof(struct statx, stx_ctime) == 96, "stx_ctime");
_Static_assert(offsetof(struct statx, stx_mtime) == 112, "stx_mtime");
_Static_assert(offsetof(struct statx, stx_rdev_major) == 128, "stx_rdev_major");
_Static_assert(offsetof(struct statx, stx_dev_major) == 136, "stx_dev_major");
_Static_assert(sizeof(struct statx_timestamp) == 16, "statx_timestamp is 16 bytes");
#ifdef STATX_DIOALIGN /* native/direct.c reads these by offset, for older headers' sake */
_Static_assert(offsetof(struct statx, stx_dio_mem_align) == 152, "stx_dio_mem_align");
_Static_assert(offsetof(struct statx, stx_dio_offset_align) == 156, "stx_dio_offset_align");
#endif

#include <linux/aio_abi.h>

_Static_assert(sizeof(struct iocb) == 64, "iocb is 64 bytes");
_Static_assert(offsetof(struct iocb, aio_lio_opcode) == 16, "iocb.aio_lio_opcode");
_Static_assert(offsetof(struct iocb, aio_buf) == 24, "iocb.aio_buf");
_Static_assert(offsetof(struct iocb, aio_offset) == 40, "iocb.aio_offset");
_Static_assert(offsetof(struct iocb, aio_flags) == 56, "iocb.aio_flags");
_Static_assert(offsetof(struct iocb, aio_resfd) == 60, "iocb.aio_resfd");
_Static_assert(sizeof(struct io_event) == 32, "io_event is 32 bytes");
