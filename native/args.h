/*
 * JavaScript values into what the engines take: integers, offsets, the memory behind views, path
 * copies, and the argument list of a metadata operation read as its system call names them.
 * Each returns 0 (or a length) or -errno; none throws.
 */
#ifndef AIOFS_ARGS_H
#define AIOFS_ARGS_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

napi_value make_int(napi_env env, int64_t v);
int get_u32(napi_env env, napi_value v, uint32_t *out);
int get_i32(napi_env env, napi_value v, int32_t *out);
/* A non-negative integral number up to 2^53, or a non-negative int64 bigint. */
int get_offset(napi_env env, napi_value v, int64_t *out);
/* get_offset, or the number -1: AIOFS_CURRENT_POSITION. */
int get_position(napi_env env, napi_value v, int64_t *out);
/* The memory behind an ArrayBufferView (at most MAX_RW_COUNT of it), and, if `owner` is set,
   its ArrayBuffer; a detached one is refused. */
int get_memory_of(napi_env env, napi_value v, void **data, size_t *length, napi_value *owner);
int get_memory(napi_env env, napi_value v, void **data, size_t *length);
/*
 * A path argument: a string (copied as UTF-8), a byte view, or undefined or null for none.
 * path_arg reads it once and measures it (`length`, bytes without the NUL); copy_path then copies
 * it to `dst` with a NUL after it and returns the bytes used, or 0 with *out = NULL for none.
 * Both return -errno for anything else; a path with a NUL inside is -EINVAL.
 */
struct path_arg {
  const void *view;
  napi_value string;
  size_t length;
};
int path_arg(napi_env env, napi_value v, struct path_arg *out);
int copy_path(napi_env env, const struct path_arg *p, char *dst, size_t room, const char **out);

/*
 * The boundary's argument list, read as the system call each operation stands for names its
 * arguments (the JavaScript side writes it in one place, prepMeta in src/backend/metadata.ts):
 *   OPENAT    openat(dirfd, path, flags, mode)
 *   CLOSE     close(dirfd as fd)
 *   STATX     statx(dirfd, path, flags, mode as mask, statx)
 *   RENAMEAT  renameat2(dirfd, path, dirfd2, path2, flags)
 *   UNLINKAT  unlinkat(dirfd, path, flags)
 *   MKDIRAT   mkdirat(dirfd, path, mode)
 *   SYMLINKAT symlinkat(path as target, dirfd2, path2)
 *   LINKAT    linkat(dirfd, path, dirfd2, path2, flags)
 *   FALLOCATE fallocate(dirfd as fd, flags as mode, offset, length)
 *   FTRUNCATE ftruncate(dirfd as fd, length)
 *   SPLICE    splice(dirfd as fd_in, offset as off_in (mode 0: none, a pipe's own position),
 *             dirfd2 as fd_out, length as len, flags)
 *   POLL      poll(dirfd as fd, mode as events)
 *   OPENAT2   openat2(dirfd, path, {flags, mode, length as resolve})
 */
struct meta_list {
  int dirfd, dirfd2, flags;
  uint32_t mode;
  const char *path, *path2;
  int64_t offset, length;
  void *statx;
  /* OPENAT2: where its struct open_how is to be written (memory that lives as the path does). */
  void *how;
};

int name_meta_args(int op, const struct meta_list *l, struct aiofs_meta *m);

#endif
