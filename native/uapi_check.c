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

#include <linux/aio_abi.h>

_Static_assert(sizeof(struct iocb) == 64, "iocb is 64 bytes");
_Static_assert(offsetof(struct iocb, aio_lio_opcode) == 16, "iocb.aio_lio_opcode");
_Static_assert(offsetof(struct iocb, aio_buf) == 24, "iocb.aio_buf");
_Static_assert(offsetof(struct iocb, aio_offset) == 40, "iocb.aio_offset");
_Static_assert(offsetof(struct iocb, aio_flags) == 56, "iocb.aio_flags");
_Static_assert(offsetof(struct iocb, aio_resfd) == 60, "iocb.aio_resfd");
_Static_assert(sizeof(struct io_event) == 32, "io_event is 32 bytes");
