/* See args.h. */
#include "args.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "limits.h"

#include <linux/openat2.h>

napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

int get_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok ? 0 : -EINVAL;
}

int get_i32(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -EINVAL;
}

/* A non-negative integral number up to 2^53, or a non-negative int64 bigint. */
int get_offset(napi_env env, napi_value v, int64_t *out) {
  double d;
  /* A number, the common case, in one call; napi_number_expected for anything else. */
  if (napi_get_value_double(env, v, &d) == napi_ok) {
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(int64_t)d) return -EINVAL;
    *out = (int64_t)d;
    return 0;
  }
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return -EINVAL;
  if (t == napi_bigint) {
    bool lossless;
    if (napi_get_value_bigint_int64(env, v, out, &lossless) != napi_ok || !lossless ||
        *out < 0)
      return -EINVAL;
    return 0;
  }
  return -EINVAL;
}

/* A transfer's position: an offset as get_offset takes it, or the number -1 for the file's own
   position (AIOFS_CURRENT_POSITION). */
int get_position(napi_env env, napi_value v, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) == napi_ok && d == -1) {
    *out = AIOFS_CURRENT_POSITION;
    return 0;
  }
  return get_offset(env, v, out);
}

/* The memory behind an ArrayBufferView (and, if `owner` is set, its ArrayBuffer); a detached one is refused. */
int get_memory_of(napi_env env, napi_value v, void **data, size_t *length, napi_value *owner) {
  bool is;
  napi_value arraybuffer;
  size_t offset;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count;
    if (napi_get_typedarray_info(env, v, &type, &count, data, &arraybuffer, &offset) != napi_ok)
      return -EINVAL;
    static const size_t sizes[] = {
        [napi_int8_array] = 1,    [napi_uint8_array] = 1,         [napi_uint8_clamped_array] = 1,
        [napi_int16_array] = 2,   [napi_uint16_array] = 2,        [napi_int32_array] = 4,
        [napi_uint32_array] = 4,  [napi_float32_array] = 4,       [napi_float64_array] = 8,
        [napi_bigint64_array] = 8, [napi_biguint64_array] = 8,
    };
    if ((size_t)type >= sizeof(sizes) / sizeof(sizes[0]) || sizes[type] == 0) return -EINVAL;
    *length = count * sizes[type];
  } else if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    if (napi_get_dataview_info(env, v, length, data, &arraybuffer, &offset) != napi_ok)
      return -EINVAL;
  } else {
    return -EINVAL;
  }
  /* A view of a detached buffer reports no bytes (and no memory): only an empty one can be. */
  bool detached = false;
  if (*length == 0 &&
      (napi_is_detached_arraybuffer(env, arraybuffer, &detached) != napi_ok || detached))
    return -EINVAL;
  if (*length > AIOFS_MAX_RW_COUNT) *length = AIOFS_MAX_RW_COUNT;
  if (owner) *owner = arraybuffer;
  return 0;
}

int get_memory(napi_env env, napi_value v, void **data, size_t *length) {
  return get_memory_of(env, v, data, length, NULL);
}

int path_arg(napi_env env, napi_value v, struct path_arg *out) {
  napi_valuetype t;
  out->view = NULL;
  out->string = NULL;
  out->length = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return -EINVAL;
  if (t == napi_undefined || t == napi_null) return 0;
  if (t == napi_string) {
    out->string = v;
    /* The length of its UTF-8 form (lone surrogates become U+FFFD, as Buffer.from makes them). */
    return napi_get_value_string_utf8(env, v, NULL, 0, &out->length) == napi_ok ? 0 : -EINVAL;
  }
  void *data;
  int ret = get_memory(env, v, &data, &out->length);
  if (ret < 0) return ret;
  /* An empty view may have no memory at all (data == NULL): neither memchr nor memcpy may see it. */
  out->view = out->length > 0 ? data : "";
  return 0;
}

int copy_path(napi_env env, const struct path_arg *p, char *dst, size_t room, const char **out) {
  if (!p->view && !p->string) {
    *out = NULL;
    return 0;
  }
  if (p->length + 1 > room) return -ENAMETOOLONG;
  if (p->string) {
    size_t copied;
    if (napi_get_value_string_utf8(env, p->string, dst, p->length + 1, &copied) != napi_ok ||
        copied != p->length)
      return -EINVAL;
  } else {
    memcpy(dst, p->view, p->length);
  }
  if (memchr(dst, 0, p->length)) return -EINVAL;
  dst[p->length] = 0;
  *out = dst;
  return (int)p->length + 1;
}

int name_meta_args(int op, const struct meta_list *l, struct aiofs_meta *m) {
  m->op = op;
  switch (op) {
    case AIOFS_OP_OPENAT:
      m->args.openat.dirfd = l->dirfd;
      m->args.openat.path = l->path;
      m->args.openat.flags = l->flags;
      m->args.openat.mode = l->mode;
      return l->path ? 0 : -EINVAL;
    case AIOFS_OP_CLOSE:
      m->args.close.fd = l->dirfd;
      return 0;
    case AIOFS_OP_STATX:
      m->args.statx.dirfd = l->dirfd;
      m->args.statx.path = l->path;
      m->args.statx.flags = l->flags;
      m->args.statx.mask = l->mode;
      m->args.statx.statx = l->statx;
      return l->path && l->statx ? 0 : -EINVAL;
    case AIOFS_OP_RENAMEAT:
    case AIOFS_OP_LINKAT: {
      struct aiofs_two_paths *t = op == AIOFS_OP_RENAMEAT ? &m->args.renameat : &m->args.linkat;
      t->olddirfd = l->dirfd;
      t->oldpath = l->path;
      t->newdirfd = l->dirfd2;
      t->newpath = l->path2;
      t->flags = (unsigned)l->flags;
      return l->path && l->path2 ? 0 : -EINVAL;
    }
    case AIOFS_OP_UNLINKAT:
      m->args.unlinkat.dirfd = l->dirfd;
      m->args.unlinkat.path = l->path;
      m->args.unlinkat.flags = l->flags;
      return l->path ? 0 : -EINVAL;
    case AIOFS_OP_MKDIRAT:
      m->args.mkdirat.dirfd = l->dirfd;
      m->args.mkdirat.path = l->path;
      m->args.mkdirat.mode = l->mode;
      return l->path ? 0 : -EINVAL;
    case AIOFS_OP_SYMLINKAT:
      m->args.symlinkat.target = l->path;
      m->args.symlinkat.newdirfd = l->dirfd2;
      m->args.symlinkat.linkpath = l->path2;
      return l->path && l->path2 ? 0 : -EINVAL;
    case AIOFS_OP_FALLOCATE:
      m->args.fallocate.fd = l->dirfd;
      m->args.fallocate.mode = l->flags;
      m->args.fallocate.offset = l->offset;
      m->args.fallocate.length = l->length;
      return 0;
    case AIOFS_OP_FTRUNCATE:
      m->args.ftruncate.fd = l->dirfd;
      m->args.ftruncate.length = l->length;
      return 0;
    case AIOFS_OP_SPLICE:
      if (l->length < 0 || l->length > UINT32_MAX) return -EINVAL;
      m->args.splice.fd_in = l->dirfd;
      m->args.splice.off_in = l->mode ? l->offset : -1;
      m->args.splice.fd_out = l->dirfd2;
      m->args.splice.len = (uint32_t)l->length;
      m->args.splice.flags = (unsigned)l->flags;
      return 0;
    case AIOFS_OP_POLL:
      m->args.poll.fd = l->dirfd;
      m->args.poll.events = l->mode;
      return 0;
    case AIOFS_OP_OPENAT2: {
      if (!l->path || !l->how) return -EINVAL;
      struct open_how *how = l->how;
      memset(how, 0, sizeof(*how));
      how->flags = (uint64_t)(uint32_t)l->flags;
      how->mode = l->mode;
      how->resolve = (uint64_t)l->length;
      m->args.openat2.dirfd = l->dirfd;
      m->args.openat2.path = l->path;
      m->args.openat2.how = how;
      return 0;
    }
    default:
      return -EINVAL;
  }
}
