/*
 * Node-API glue: one JavaScript class, NativeEngine, over any engine (engine.h).
 *
 * Responsibilities, and nothing more:
 *  - turn JavaScript values into (opcode, fd, memory, offset, user) and back;
 *  - watch the engine's fd on the event loop of the environment that created it (never
 *    uv_default_loop; a waiter thread where the runtime has no loop to poll, waiter.h), and hand
 *    completions to JavaScript in batches through a shared Int32Array of (user, result) pairs,
 *    one call per batch;
 *  - keep everything the kernel may still touch alive: while any operation is in flight the
 *    wrapper object and the JavaScript completion handler are held by strong references, and the
 *    watcher is ref'd so the process does not exit under them. The buffers live through that
 *    chain: the handler is a closure of the JavaScript EngineBackend (src/backend/engine.ts),
 *    whose `requests[slot]` holds each started Request until its completion is handled, and the
 *    Request holds its views (request.data). Native memory the kernel reads (an iovec array, path
 *    copies) is the slot's `owned` and is freed when the completion is reaped;
 *  - on environment teardown (process exit, worker exit or termination) cancel what is in flight
 *    and wait for every completion before the memory behind it can be freed, then stop the
 *    watcher and let the teardown finish only once its last callback has run (see teardown()).
 *
 * Kernel errors are returned to JavaScript as negative errno numbers; JavaScript builds the error
 * objects. Exceptions are thrown here only for calls that break the internal contract.
 */
#define _GNU_SOURCE /* pipe2, F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "direct.h"
#include "engine.h"
#include "memory.h"
#include "aio.h"
#include "uring.h"
#include "waiter.h"
#include "limits.h"
#include "args.h"
#include "owned_fds.h"
#include "registered.h"
#include "splice.h"

/*
 * libuv's functions come from the runtime that loads the addon: Node exports them, Deno and Bun
 * do not (there completions come through the waiter thread, and none of these is called). Weak
 * references let the prebuilt binary, linked with -z now, load everywhere: on a runtime without
 * them they are NULL, and an engine asked for on the event loop there refuses with -ENOTSUP.
 */
#pragma weak uv_close
#pragma weak uv_poll_init
#pragma weak uv_poll_start
#pragma weak uv_poll_stop
#pragma weak uv_prepare_init
#pragma weak uv_prepare_start
#pragma weak uv_prepare_stop
#pragma weak uv_ref
#pragma weak uv_unref

#define TEARDOWN_USER UINT32_MAX /* completions of cancels issued while tearing down */

struct slot {
  /* Native memory the kernel reads until completion, freed then: an iovec, or path copies. */
  void *owned;
  int op; /* enum aiofs_op */
  unsigned char busy;
};

/* Per-environment state: each worker thread loads the addon into its own environment. */
struct addon_data {
  napi_ref engine_class;
  struct native_engine *constructing; /* handed from wrap_engine to the constructor */
  struct owned_fds owned;
  /* Completions come through a waiter thread, not uv_poll (runtimes without a pollable loop). */
  int use_waiter;
};

struct native_engine {
  const struct aiofs_engine_ops *ops;
  void *impl; /* NULL once destroyed */
  napi_env env;
  /* What watches the engine's fd: a uv_poll handle on Node, a waiter thread elsewhere. */
  uv_poll_t poll;
  struct aiofs_waiter *waiter;
  int watching;
  /*
   * On Node the fd is in the loop's epoll set only while the loop may wait for a completion: an
   * fd in an epoll set makes the kernel wake its waiters for every completion posted, even one
   * posted inside the submit and reaped before the call returns (a page-cache hit; what that
   * costs: docs/benchmarks.md, "Measurements the code relies on"). So `prepare`, which runs
   * before each wait of the loop, starts the poll handle when an operation submitted to the
   * kernel is not reaped yet, and stops it when none is (`polling` says which). It is also what keeps the loop alive while anything is in
   * flight (watch_ref). `handles` counts the handles not closed yet (watcher_gone after both).
   */
  uv_prepare_t prepare;
  int polling;
  int handles;
  napi_ref wrapper;     /* weak; strong while anything is in flight */
  napi_ref handler;     /* weak; strong while anything is in flight */
  napi_ref completions; /* the Int32Array JavaScript reads completions from */
  struct aiofs_completion *out;
  unsigned out_capacity;
  struct slot *slots;
  unsigned nslots;
  /* The registered buffers, sorted by address, each with its index in the kernel's table. */
  struct registered *registered;
  unsigned nregistered;
  unsigned in_flight;
  /* The wrapper and handler references are strong and the watcher ref'd: whenever in_flight > 0
     once control is back in JavaScript (hold()). `strong` says which references hold() made
     strong (HELD_WRAPPER, HELD_HANDLER), so that only those are released. */
  int held;
  unsigned strong;
  napi_async_context async_context;
  /*
   * Registered when the engine is wrapped, removed exactly once: when the watcher is gone (the
   * close callback of the last of the two loop handles, or the waiter's thread-safe function
   * finalized). While it is registered the environment's teardown waits for us, so the addon's
   * code (that callback included) stays mapped until it has run.
   */
  napi_async_cleanup_hook_handle cleanup;
  struct addon_data *data; /* outlives every engine of its environment */
  int refs; /* the wrapper, the watcher and each bound method; freed when all are gone */
};

#define CHECK(call)                                                                           \
  do {                                                                                        \
    if ((call) != napi_ok) return NULL;                                                       \
  } while (0)

enum { HELD_WRAPPER = 1, HELD_HANDLER = 2 };

static void release(struct native_engine *e) {
  if (--e->refs == 0) {
    free(e->slots);
    free(e);
  }
}

/*
 * The last thing of ours the runtime runs for an engine. Removing the cleanup hook here, and
 * nowhere else, is what makes teardown safe: if the environment is tearing down, the removal tells
 * the runtime our asynchronous cleanup is done; otherwise it unregisters a hook that has not run.
 */
static void watcher_gone(void *arg) {
  struct native_engine *e = arg;
  if (e->cleanup) {
    napi_remove_async_cleanup_hook(e->cleanup);
    e->cleanup = NULL;
  }
  release(e);
}

static void on_handle_closed(uv_handle_t *handle) {
  struct native_engine *e = handle->data;
  if (--e->handles == 0) watcher_gone(e);
}

/* Keep the environment's loop alive while anything is in flight, and only then. */
static void watch_ref(struct native_engine *e, int ref) {
  if (e->waiter) {
    if (ref) aiofs_waiter_ref(e->waiter, e->env);
    else aiofs_waiter_unref(e->waiter, e->env);
  } else if (ref) {
    uv_ref((uv_handle_t *)&e->prepare);
  } else {
    uv_unref((uv_handle_t *)&e->prepare);
  }
}

/* Account for one completion: free its slot (and what it owns) if it belongs to a tracked operation. */
static void settle(struct native_engine *e, const struct aiofs_completion *c) {
  uint32_t user = (uint32_t)c->user;
  if (user >= e->nslots || !e->slots[user].busy) return;
  struct slot *s = &e->slots[user];
  /* An fd opened for JavaScript; one opened while tearing down is closed with the rest. */
  if ((s->op == AIOFS_OP_OPENAT || s->op == AIOFS_OP_OPENAT2) && c->result >= 0)
    own_fd(&e->data->owned, c->result);
  s->busy = 0;
  free(s->owned);
  s->owned = NULL;
  if (--e->in_flight == 0 && e->held) {
    e->held = 0;
    watch_ref(e, 0);
    if (e->strong & HELD_WRAPPER) napi_reference_unref(e->env, e->wrapper, NULL);
    if (e->strong & HELD_HANDLER) napi_reference_unref(e->env, e->handler, NULL);
    e->strong = 0;
  }
}

/* Take the references that keep the engine, its handler and the loop alive, if not held yet. */
static void hold(struct native_engine *e) {
  if (e->held) return;
  e->held = 1;
  watch_ref(e, 1);
  /* Node-API refuses only a missing reference, which a wrapped engine always has; should it
     refuse anyway, the reference stays weak and is not released later (see `strong`). */
  if (napi_reference_ref(e->env, e->wrapper, NULL) == napi_ok) e->strong |= HELD_WRAPPER;
  if (napi_reference_ref(e->env, e->handler, NULL) == napi_ok) e->strong |= HELD_HANDLER;
}

/* Count the operation in `user` as in flight. Unless the caller holds the references itself
   before it returns to JavaScript (submitRw), they are taken now. */
static void track_only(struct native_engine *e, uint32_t user, int op, void *owned) {
  e->slots[user].busy = 1;
  e->slots[user].op = op;
  e->slots[user].owned = owned;
  e->in_flight++;
}

static void track(struct native_engine *e, uint32_t user, int op, void *owned) {
  track_only(e, user, op, owned);
  hold(e);
}

/*
 * With a waiter thread: let it watch the fd only while a completion is due (an operation the
 * kernel has and we have not reaped), as on_prepare does for uv_poll on Node. Called after each
 * reap and after submit(), the calls that change it (flush() relies on the reap its caller makes
 * next): a read the kernel finishes inside the submit is reaped before the answer is asked, and
 * never makes the fd wanted, so it wakes no thread.
 */
static void watch_due(struct native_engine *e) {
  if (e->waiter && e->watching && e->impl)
    aiofs_waiter_want(e->waiter, e->in_flight > e->ops->pending(e->impl));
}

/* Reap into the shared array; returns how many entries JavaScript should read. */
static unsigned reap(struct native_engine *e) {
  unsigned n = e->ops->reap(e->impl, e->out, e->out_capacity);
  for (unsigned i = 0; i < n; i++) settle(e, &e->out[i]);
  watch_due(e);
  return n;
}

/* Stop watching the engine's fd; watcher_gone follows, later. Idempotent. */
static void stop_watching(struct native_engine *e) {
  if (!e->watching) return;
  e->watching = 0;
  if (e->waiter) {
    aiofs_waiter_stop(e->waiter);
  } else {
    e->polling = 0;
    uv_poll_stop(&e->poll);
    uv_prepare_stop(&e->prepare);
    uv_close((uv_handle_t *)&e->poll, on_handle_closed);
    uv_close((uv_handle_t *)&e->prepare, on_handle_closed);
  }
}

/* Stop watching, then release the kernel objects (whose fd is the one watched). Only called
   with nothing in flight. */
static void destroy(struct native_engine *e) {
  if (!e->impl) return;
  void *impl = e->impl;
  e->impl = NULL;
  stop_watching(e);
  e->ops->destroy(impl);
}

/*
 * The environment's asynchronous cleanup hook (process exit, a worker's exit or termination).
 * The runtime keeps running the environment's loop after calling it until the hook is removed,
 * which watcher_gone does: so the watcher's last callback runs while the addon is still loaded,
 * and nothing of ours is left on the loop when the environment (and perhaps the addon's code)
 * goes away. The handle passed here is e->cleanup.
 */
static void teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  struct native_engine *e = arg;
  if (!e->impl) return; /* closed already: its close callback is on its way and removes us */
  /*
   * The environment is going away and with it the memory of every buffer. Submit what is still
   * queued, ask the kernel to cancel everything, and wait for each completion: after this no
   * operation can touch memory JavaScript owned.
   */
  e->ops->submit(e->impl);
  for (uint32_t user = 0; user < e->nslots && e->in_flight > 0; user++) {
    if (!e->slots[user].busy) continue;
    while (e->ops->prep_cancel(e->impl, user, TEARDOWN_USER) == -EBUSY) {
      e->ops->submit(e->impl);
      reap(e);
    }
  }
  e->ops->submit(e->impl);
  while (e->in_flight > 0) {
    if (reap(e) == 0 && e->ops->wait(e->impl) < 0) break;
    if (e->ops->pending(e->impl)) e->ops->submit(e->impl);
  }
  if (e->in_flight > 0) {
    /* The kernel refused to wait: keep its objects (leaking beats a use-after-free), but close
       the loop handle so that the teardown can finish. */
    stop_watching(e);
    return;
  }
  destroy(e);
}

/* Reap what completed and hand it to JavaScript, as any I/O callback would. */
static void deliver(struct native_engine *e) {
  if (!e->impl) return;
  unsigned n = reap(e);
  if (n == 0) return;
  napi_env env = e->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value handler, wrapper, argv[1], result;
  if (napi_get_reference_value(env, e->handler, &handler) == napi_ok && handler &&
      napi_get_reference_value(env, e->wrapper, &wrapper) == napi_ok && wrapper) {
    argv[0] = make_int(env, n);
    /* make_callback runs the microtask queue afterwards, as for any I/O callback. */
    if (napi_make_callback(env, e->async_context, wrapper, handler, 1, argv, &result) ==
        napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)events;
  if (status < 0) return;
  deliver(handle->data);
}

/*
 * Before the loop waits: watch the fd if a completion is due (an operation the kernel has and we
 * have not reaped; one still in our submission queue waits for our own submit), else stop
 * watching it. libuv takes a stopped fd out of the epoll set when it next reports an event for
 * it, and puts it back when the poll starts again, which reports completions already posted.
 */
static void on_prepare(uv_prepare_t *handle) {
  struct native_engine *e = handle->data;
  if (!e->impl) return;
  int due = e->in_flight > e->ops->pending(e->impl);
  if (due && !e->polling) {
    e->polling = uv_poll_start(&e->poll, UV_READABLE, on_poll) == 0;
  } else if (!due && e->polling) {
    uv_poll_stop(&e->poll);
    e->polling = 0;
  }
}

static void on_ready(napi_env env, void *arg) {
  (void)env;
  deliver(arg);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  struct native_engine *e = data;
  /* Reached only with nothing in flight: the wrapper is strongly held otherwise. */
  destroy(e);
  forget_registered(env, e->registered, e->nregistered);
  e->registered = NULL;
  e->nregistered = 0;
  napi_delete_reference(env, e->handler);
  napi_delete_reference(env, e->completions);
  napi_delete_reference(env, e->wrapper);
  napi_async_destroy(env, e->async_context);
  release(e);
}

static struct native_engine *unwrap(napi_env env, napi_callback_info info, size_t *argc,
                                    napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, &data) != napi_ok) return NULL;
  /* An engine's own method (bind_hot_methods) carries its engine: no lookup on `this`. */
  if (data) return data;
  if (napi_unwrap(env, self, &data) != napi_ok || !data) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "not a NativeEngine");
    return NULL;
  }
  return data;
}

static int check_user(struct native_engine *e, uint32_t user) {
  if (!e->impl) return -EBADF;
  if (user >= e->nslots) return -EINVAL;
  if (e->slots[user].busy) return -EEXIST;
  return 0;
}

/*
 * registerBuffers(views[]) -> 0 | -errno. Replaces the registration (an empty array drops it).
 * JavaScript keeps the views alive while they are registered; -EBUSY while anything is in
 * flight, since an operation queued against the old table must not see the new one.
 */
static napi_value js_register_buffers(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct native_engine *e = unwrap(env, info, &argc, argv);
  if (!e) return NULL;
  if (!e->impl) return make_int(env, -EBADF);
  if (!e->ops->register_buffers) return make_int(env, -EOPNOTSUPP);
  if (e->in_flight > 0 || e->ops->pending(e->impl) > 0) return make_int(env, -EBUSY);
  bool is_array;
  uint32_t count;
  if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &count) != napi_ok || count > AIOFS_MAX_REGISTERED)
    return make_int(env, -EINVAL);
  struct iovec *iov = calloc(count ? count : 1, sizeof(*iov));
  struct registered *table = calloc(count ? count : 1, sizeof(*table));
  int ret = iov && table ? 0 : -ENOMEM;
  for (uint32_t i = 0; ret == 0 && i < count; i++) {
    napi_value view, owner;
    size_t length;
    if (napi_get_element(env, argv[0], i, &view) != napi_ok) ret = -EINVAL;
    else if ((ret = get_memory_of(env, view, &iov[i].iov_base, &length, &owner)) == 0) {
      iov[i].iov_len = length;
      table[i] = (struct registered){(uintptr_t)iov[i].iov_base, length, (int)i, NULL};
      if (length == 0 || napi_create_reference(env, owner, 1, &table[i].owner) != napi_ok)
        ret = -EINVAL;
    }
  }
  if (ret == 0) ret = e->ops->register_buffers(e->impl, NULL, 0); /* drop the old table */
  if (ret == 0) {
    forget_registered(env, e->registered, e->nregistered);
    e->registered = NULL;
    e->nregistered = 0;
    if (count > 0) ret = e->ops->register_buffers(e->impl, iov, count);
  }
  if (ret == 0 && count > 0) {
    sort_registered(table, count);
    e->registered = table;
    e->nregistered = count;
    table = NULL;
  }
  free(iov);
  if (table) forget_registered(env, table, count);
  return make_int(env, ret);
}

/* Queue the read or write of (op, fd, view, offset, user), the arguments of prepRw and submitRw;
   `hold_now` as for track_only. */
static int prep_rw(napi_env env, struct native_engine *e, napi_value *argv, int hold_now) {
  int32_t op, fd;
  uint32_t user;
  int64_t offset;
  void *data;
  size_t length;
  int ret;
  if ((ret = get_i32(env, argv[0], &op)) || (ret = get_i32(env, argv[1], &fd)) ||
      (ret = get_memory(env, argv[2], &data, &length)) ||
      (ret = get_position(env, argv[3], &offset)) || (ret = get_u32(env, argv[4], &user)) ||
      (ret = check_user(e, user)))
    return ret;
  ret = e->ops->prep_rw(e->impl, op, fd, data, (uint32_t)length, offset,
                        registered_index(env, e->registered, e->nregistered, data, length), user);
  if (ret == 0) {
    track_only(e, user, op, NULL);
    if (hold_now) hold(e);
  }
  return ret;
}

/* Submit what is queued; then, if the kernel took any and the engine can (SQPOLL), wait briefly
   for a first completion (engine.h, await_posted). Returns what submit returned. */
static int submit_awaiting(struct native_engine *e) {
  int ret = e->ops->submit(e->impl);
  if (ret > 0 && e->ops->await_posted) e->ops->await_posted(e->impl);
  return ret;
}

/* prepRw(op, fd, view, offset, user) -> 0 | -errno */
static napi_value js_prep_rw(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  struct native_engine *e = unwrap(env, info, &argc, argv);
  if (!e) return NULL;
  return make_int(env, prep_rw(env, e, argv, 1));
}

/*
 * submitRw(op, fd, view, offset, user) -> completions now in the shared array (>= 0) | -errno
 * prepRw, then submit everything queued, then reap: one crossing for an operation the kernel
 * may finish inside the submit (a page-cache hit), where prepRw + submit + reap take three.
 * -errno means the operation was refused and is not in flight. A submit the kernel refused
 * (EAGAIN, EBUSY) leaves the operation queued: pending() says so, and the next submit sends it.
 */
static napi_value js_submit_rw(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  struct native_engine *e = unwrap(env, info, &argc, argv);
  if (!e) return NULL;
  int ret = prep_rw(env, e, argv, 0);
  if (ret != 0) return make_int(env, ret);
  submit_awaiting(e);
  unsigned n = reap(e);
  /* A page-cache hit is settled already: no references to take and drop again. */
  if (e->in_flight > 0) hold(e);
  return make_int(env, (int)n);
}

/* prepRwv(op, fd, views[], offset, user) -> 0 | -errno; at most 1024 views are used. */
static napi_value js_prep_rwv(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  struct native_engine *e = unwrap(env, info, &argc, argv);
  if (!e) return NULL;
  int32_t op, fd;
  uint32_t user, count;
  int64_t offset;
  int ret;
  bool is_array;
  if ((ret = get_i32(env, argv[0], &op)) || (ret = get_i32(env, argv[1], &fd)) ||
      (ret = get_position(env, argv[3], &offset)) || (ret = get_u32(env, argv[4], &user)) ||
      (ret = check_user(e, user)))
    return make_int(env, ret);
  if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[2], &count) != napi_ok)
    return make_int(env, -EINVAL);
  if (count > AIOFS_IOV_MAX) count = AIOFS_IOV_MAX;
  struct iovec *iov = calloc(count ? count : 1, sizeof(*iov));
  if (!iov) return make_int(env, -ENOMEM);
  for (uint32_t i = 0; i < count; i++) {
    napi_value view;
    size_t length;
    if (napi_get_element(env, argv[2], i, &view) != napi_ok ||
        (ret = get_memory(env, view, &iov[i].iov_base, &length)) < 0) {
      free(iov);
      return make_int(env, ret < 0 ? ret : -EINVAL);
    }
    iov[i].iov_len = length;
  }
  ret = e->ops->prep_rwv(e->impl, op, fd, iov, count, offset, user);
  if (ret == 0)
    track(e, user, op, iov);
  else
    free(iov);
  return make_int(env, ret);
}

/* prepFsync(fd, datasync, user) -> 0 | -errno */
static napi_value js_prep_fsync(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  struct native_engine *e = unwrap(env, info, &argc, argv);
  if (!e) return NULL;
  int32_t fd;
  uint32_t user;
  bool datasync = false;
  int ret;
  if ((ret = get_i32(env, argv[0], &fd)) || (ret = get_u32(env, argv[2], &user)) ||
      (ret = check_user(e, user)))
    return make_int(env, ret);
  if (napi_get_value_bool(env, argv[1], &datasync) != napi_ok) return make_int(env, -EINVAL);
  ret = e->ops->prep_fsync(e->impl, fd, datasync, user);
  if (ret == 0) track(e, user, datasync ? AIOFS_OP_FDATASYNC : AIOFS_OP_FSYNC, NULL);
  return make_int(env, ret);
}

/*
 * prepMeta(op, dirfd, path, dirfd2, path2, flags, mode, offset, length, statx, user) -> 0 | -errno
 * Paths are strings (written as UTF-8) or byte views, copied here, so JavaScript may drop or reuse
 * them at once; `statx` (a view of at least 256 bytes, or null) must be kept alive by JavaScript
 * until the completion.
 */
static napi_value js_prep_meta(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  struct native_engine *e = unwrap(env, info, &argc, argv);
  if (!e) return NULL;
  struct meta_list l = {0};
  struct aiofs_meta m;
  int32_t op;
  uint32_t user;
  int ret;
  if ((ret = get_i32(env, argv[0], &op)) || (ret = get_i32(env, argv[1], &l.dirfd)) ||
      (ret = get_i32(env, argv[3], &l.dirfd2)) || (ret = get_i32(env, argv[5], &l.flags)) ||
      (ret = get_u32(env, argv[6], &l.mode)) || (ret = get_offset(env, argv[7], &l.offset)) ||
      (ret = get_offset(env, argv[8], &l.length)) || (ret = get_u32(env, argv[10], &user)) ||
      (ret = check_user(e, user)))
    return make_int(env, ret);
  napi_valuetype t;
  if (napi_typeof(env, argv[9], &t) != napi_ok) return make_int(env, -EINVAL);
  if (t != napi_null && t != napi_undefined) {
    size_t length;
    if ((ret = get_memory(env, argv[9], &l.statx, &length)) < 0) return make_int(env, ret);
    if (length < 256) return make_int(env, -EINVAL);
  }
  struct path_arg p1, p2;
  if ((ret = path_arg(env, argv[2], &p1)) || (ret = path_arg(env, argv[4], &p2)))
    return make_int(env, ret);
  if (p1.length > PATH_MAX || p2.length > PATH_MAX) return make_int(env, -ENAMETOOLONG);
  size_t room = p1.length + p2.length + 2;
  /* OPENAT2's struct open_how lives in the same block as the paths, first (its alignment). */
  size_t how_room = op == AIOFS_OP_OPENAT2 ? sizeof(struct open_how) : 0;
  char *block = malloc(how_room + room);
  if (!block) return make_int(env, -ENOMEM);
  char *paths = block + how_room;
  if (how_room) l.how = block;
  int used = copy_path(env, &p1, paths, room, &l.path);
  int used2 = used < 0 ? used : copy_path(env, &p2, paths + used, room - used, &l.path2);
  ret = used < 0 ? used : used2 < 0 ? used2 : name_meta_args(op, &l, &m);
  if (ret == 0) ret = e->ops->prep_meta(e->impl, &m, user);
  if (ret == 0) {
    track(e, user, op, block);
    if (op == AIOFS_OP_CLOSE) disown_fd(&e->data->owned, m.args.close.fd);
  } else {
    free(block);
  }
  return make_int(env, ret);
}

/* prepCancel(target, user) -> 0 | -errno. The target must be in flight. */
static napi_value js_prep_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  struct native_engine *e = unwrap(env, info, &argc, argv);
  if (!e) return NULL;
  uint32_t target, user;
  int ret;
  if ((ret = get_u32(env, argv[0], &target)) || (ret = get_u32(env, argv[1], &user)) ||
      (ret = check_user(e, user)))
    return make_int(env, ret);
  if (target >= e->nslots || !e->slots[target].busy) return make_int(env, -ENOENT);
  ret = e->ops->prep_cancel(e->impl, target, user);
  if (ret == 0) track(e, user, -1, NULL);
  return make_int(env, ret);
}

/* submit() -> number taken by the kernel | -errno */
static napi_value js_submit(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  struct native_engine *e = unwrap(env, info, &argc, NULL);
  if (!e) return NULL;
  if (!e->impl) return make_int(env, -EBADF);
  int ret = e->ops->submit(e->impl);
  watch_due(e);
  return make_int(env, ret);
}

/*
 * flush() -> as submit(), at the end of a tick's batch: then, where a kernel thread takes the
 * submissions (SQPOLL), wait briefly for it to post a first completion (engine.h, await_posted),
 * so that the reap that follows finds it rather than a turn of the event loop. The caller must
 * reap before control returns to the event loop: on a waiter thread, that reap is what lets the
 * thread watch for what is still due (watch_due), so that a batch the kernel finished inside the
 * flush wakes no thread.
 */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  struct native_engine *e = unwrap(env, info, &argc, NULL);
  if (!e) return NULL;
  if (!e->impl) return make_int(env, -EBADF);
  return make_int(env, submit_awaiting(e));
}

/* pending() -> operations queued but not yet taken by the kernel */
static napi_value js_pending(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  struct native_engine *e = unwrap(env, info, &argc, NULL);
  if (!e) return NULL;
  return make_int(env, e->impl ? e->ops->pending(e->impl) : 0);
}

/* reap() -> number of (user, result) pairs now in the completions array */
static napi_value js_reap(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  struct native_engine *e = unwrap(env, info, &argc, NULL);
  if (!e) return NULL;
  return make_int(env, e->impl ? reap(e) : 0);
}

/* close() -> 0 | -EBUSY while operations are in flight */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  struct native_engine *e = unwrap(env, info, &argc, NULL);
  if (!e) return NULL;
  if (e->in_flight > 0) return make_int(env, -EBUSY);
  destroy(e);
  return make_int(env, 0);
}

static void free_addon_data(napi_env env, void *data, void *hint) {
  (void)hint;
  struct addon_data *d = data;
  close_owned(&d->owned);
  napi_delete_reference(env, d->engine_class);
  free(d);
}

/* Only wrap_engine may construct: a direct `new NativeEngine()` from JavaScript throws. */
static napi_value engine_constructor(napi_env env, napi_callback_info info) {
  napi_value self;
  struct addon_data *d;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok ||
      napi_get_instance_data(env, (void **)&d) != napi_ok || !d || !d->constructing) {
    napi_throw_type_error(env, "ERR_ILLEGAL_CONSTRUCTOR", "Illegal constructor");
    return NULL;
  }
  struct native_engine *e = d->constructing;
  d->constructing = NULL;
  if (napi_wrap(env, self, e, finalize, NULL, &e->wrapper) != napi_ok) return NULL;
  return self;
}

static void release_bound(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release(data);
}

/*
 * The methods called once or more per operation become the engine's own functions, each bound
 * to `e` through its callback data: finding the engine behind `this` (napi_unwrap, a private
 * property lookup) is a measurable part of a cached 4 KiB read (docs/benchmarks.md,
 * "Measurements the code relies on"). Each function holds a
 * count on `e` (freed once the wrapper, the watcher and every function are gone); once the engine
 * is destroyed they answer like any method of a closed engine.
 */
static napi_status bind_hot_methods(napi_env env, napi_value obj, struct native_engine *e) {
  static const struct {
    const char *name;
    napi_callback cb;
  } hot[] = {{"submitRw", js_submit_rw}, {"prepRw", js_prep_rw},   {"prepRwv", js_prep_rwv},
             {"prepFsync", js_prep_fsync}, {"prepMeta", js_prep_meta}, {"submit", js_submit},
             {"flush", js_flush},          {"pending", js_pending},    {"reap", js_reap}};
  for (size_t i = 0; i < sizeof(hot) / sizeof(hot[0]); i++) {
    napi_value fn;
    napi_status st = napi_create_function(env, hot[i].name, NAPI_AUTO_LENGTH, hot[i].cb, e, &fn);
    if (st != napi_ok) return st;
    e->refs++;
    if ((st = napi_add_finalizer(env, fn, e, release_bound, NULL, NULL)) != napi_ok) {
      e->refs--;
      return st;
    }
    napi_property_descriptor d = {hot[i].name, NULL, NULL, NULL, NULL, fn, napi_default, NULL};
    if ((st = napi_define_properties(env, obj, 1, &d)) != napi_ok) return st;
  }
  return napi_ok;
}

static napi_status set_uint(napi_env env, napi_value obj, const char *name, uint32_t v) {
  napi_value n;
  napi_status st = napi_create_uint32(env, v, &n);
  return st == napi_ok ? napi_set_named_property(env, obj, name, n) : st;
}

/*
 * Wrap a freshly created engine whose completion queue holds `capacity` entries. `completions`
 * is an Int32Array of at least 2 * capacity elements; `handler(count)` is called on the loop
 * when `count` completions are waiting in it. On failure the engine is destroyed and an
 * exception is pending.
 */
static napi_value wrap_engine(napi_env env, const struct aiofs_engine_ops *ops, void *impl,
                              unsigned capacity, napi_value completions, napi_value handler) {
  napi_typedarray_type type;
  size_t length, ab_offset;
  void *data;
  napi_value cls, obj, ab, resource_name;
  napi_valuetype handler_type;
  struct addon_data *d;
  if (napi_get_typedarray_info(env, completions, &type, &length, &data, &ab, &ab_offset) !=
          napi_ok ||
      type != napi_int32_array || length < 2 * (size_t)capacity ||
      napi_typeof(env, handler, &handler_type) != napi_ok || handler_type != napi_function) {
    ops->destroy(impl);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "expected an Int32Array of 2 * capacity elements and a function");
    return NULL;
  }
  struct native_engine *e = calloc(1, sizeof(*e));
  struct slot *slots = calloc(capacity, sizeof(*slots));
  napi_get_instance_data(env, (void **)&d);
  int ret = e && slots ? 0 : -ENOMEM;
  if (ret == 0 && d->use_waiter) {
    ret = aiofs_waiter_start(env, ops->poll_fd(impl), on_ready, watcher_gone, e, &e->waiter);
  } else if (ret == 0) {
    uv_loop_t *loop = NULL;
    if (!uv_poll_init || napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) ret = -ENOTSUP;
    else if ((ret = uv_poll_init(loop, &e->poll, ops->poll_fd(impl))) == 0)
      uv_prepare_init(loop, &e->prepare); /* cannot fail: it only links the handle to the loop */
  }
  if (ret < 0) {
    /* The backend reports itself unavailable with this errno. */
    free(e);
    free(slots);
    ops->destroy(impl);
    return make_int(env, ret);
  }
  e->watching = 1;
  e->ops = ops;
  e->impl = impl;
  e->env = env;
  e->data = d;
  e->poll.data = e;
  e->prepare.data = e;
  e->out = data;
  e->out_capacity = capacity;
  e->slots = slots;
  e->nslots = capacity;
  e->refs = 2;
  if (!e->waiter) {
    e->handles = 2;
    uv_unref((uv_handle_t *)&e->poll);
    uv_prepare_start(&e->prepare, on_prepare);
    uv_unref((uv_handle_t *)&e->prepare);
  }

  d->constructing = e;
  napi_status st = napi_get_reference_value(env, d->engine_class, &cls);
  if (st == napi_ok) st = napi_new_instance(env, cls, 0, NULL, &obj);
  d->constructing = NULL;
  if (st != napi_ok) {
    /* Nothing wraps e: undo by hand. The watcher goes and frees e. */
    e->refs = 1;
    destroy(e);
    return NULL;
  }
  if (napi_create_reference(env, handler, 0, &e->handler) != napi_ok ||
      napi_create_reference(env, completions, 1, &e->completions) != napi_ok ||
      napi_create_string_utf8(env, "aiofs", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, obj, resource_name, &e->async_context) != napi_ok) {
    /* An engine whose completions could not be delivered must not run; the wrapper's finalizer
       frees what was made. */
    destroy(e);
    return make_int(env, -ENOMEM);
  }
  if (napi_add_async_cleanup_hook(env, teardown, e, &e->cleanup) != napi_ok) {
    /* Without the hook a teardown could unload us under the loop handle: refuse the engine,
       and the backend reports itself unavailable with this errno. */
    destroy(e);
    return make_int(env, -ENOTSUP);
  }
  if (set_uint(env, obj, "capacity", capacity) != napi_ok ||
      bind_hot_methods(env, obj, e) != napi_ok) {
    /* JavaScript cannot use an engine without its capacity or methods: stop it (an exception
       is pending);
       the wrapper's finalizer frees what was made. */
    destroy(e);
    return NULL;
  }
  return obj;
}

/*
 * createUring(entries, sqpoll, sqThreadIdle, refuseOps, completions, handler, sqpollThreads?)
 *   -> NativeEngine | -errno. sqpollThreads: aiofs_uring_options.sqpoll_threads (0 or undefined:
 *   the default).
 * The engine's capacity (completion queue size) is on its `capacity` property, and whether a
 * kernel thread polls its submission queue on `sqpoll` (not on one CPU: aiofs_uring_polls), and
 * on `sqpollRefused` the errno with which the kernel refused that thread (0: it did not).
 */
static napi_value js_create_uring(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  struct aiofs_uring_options o = {0};
  bool sqpoll = false;
  napi_valuetype threads = napi_undefined;
  if (argc < 6 || napi_get_value_uint32(env, argv[0], &o.entries) != napi_ok ||
      o.entries == 0 || o.entries > 32768 ||
      napi_get_value_bool(env, argv[1], &sqpoll) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &o.sq_thread_idle) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &o.refuse_ops) != napi_ok ||
      (argc > 6 && (napi_typeof(env, argv[6], &threads) != napi_ok ||
                    (threads != napi_undefined &&
                     napi_get_value_uint32(env, argv[6], &o.sqpoll_threads) != napi_ok)))) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "createUring(entries, sqpoll, idle, "
                                                       "refuseOps, completions, handler, "
                                                       "sqpollThreads?)");
    return NULL;
  }
  o.sqpoll = sqpoll;
  struct aiofs_uring *ring;
  unsigned cq_entries;
  int ret = aiofs_uring_create(&o, &ring, &cq_entries);
  if (ret < 0) return make_int(env, ret);
  int polls = aiofs_uring_polls(ring), refused = aiofs_uring_sqpoll_refused(ring);
  napi_value engine = wrap_engine(env, &aiofs_uring_ops, ring, cq_entries, argv[4], argv[5]);
  napi_value value;
  if (!engine || napi_get_boolean(env, polls, &value) != napi_ok ||
      napi_set_named_property(env, engine, "sqpoll", value) != napi_ok ||
      set_uint(env, engine, "sqpollRefused", (uint32_t)refused) != napi_ok)
    return NULL;
  return engine;
}

/* createAio(capacity, completions, handler) -> NativeEngine | -errno */
static napi_value js_create_aio(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint32_t capacity;
  if (argc < 3 || napi_get_value_uint32(env, argv[0], &capacity) != napi_ok || capacity == 0 ||
      capacity > 65536) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "createAio(capacity, completions, handler)");
    return NULL;
  }
  struct aiofs_aio *aio;
  int ret = aiofs_aio_create(capacity, &aio);
  if (ret < 0) return make_int(env, ret);
  return wrap_engine(env, &aiofs_aio_ops, aio, capacity, argv[1], argv[2]);
}

/* setDirect(fd, enable) -> 0 | -errno (-EINVAL: the filesystem refuses O_DIRECT). */
static napi_value js_set_direct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t fd;
  bool enable;
  if (argc < 2 || get_i32(env, argv[0], &fd) < 0 || napi_get_value_bool(env, argv[1], &enable) != napi_ok)
    return make_int(env, -EINVAL);
  return make_int(env, aiofs_set_direct(fd, enable));
}

/*
 * directInfo(fd) -> { direct, memAlign, offsetAlign, devMajor, devMinor } | -errno.
 * Alignments are 0 where the kernel does not report them (before 6.1, or filesystems that do not).
 */
static napi_value js_direct_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, value;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t fd;
  if (argc < 1 || get_i32(env, argv[0], &fd) < 0) return make_int(env, -EINVAL);
  struct aiofs_direct_info d;
  int ret = aiofs_direct_info(fd, &d);
  if (ret < 0) return make_int(env, ret);
  CHECK(napi_create_object(env, &result));
  CHECK(napi_get_boolean(env, d.direct, &value));
  CHECK(napi_set_named_property(env, result, "direct", value));
  CHECK(set_uint(env, result, "memAlign", d.mem_align));
  CHECK(set_uint(env, result, "offsetAlign", d.offset_align));
  CHECK(set_uint(env, result, "devMajor", d.dev_major));
  CHECK(set_uint(env, result, "devMinor", d.dev_minor));
  return result;
}

/*
 * The addon data and the one fd argument of forgetFd, closeFd and dupFd. Returns 0; -EBADF for a
 * missing or negative fd; 1 when the call itself failed (return NULL to JavaScript then).
 */
static int fd_argument(napi_env env, napi_callback_info info, struct addon_data **d, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
      napi_get_instance_data(env, (void **)d) != napi_ok || !*d)
    return 1;
  if (argc < 1 || get_i32(env, argv[0], fd) < 0 || *fd < 0) return -EBADF;
  return 0;
}

/*
 * forgetFd(fd): JavaScript closed `fd` (or gave it away) other than through a ring's close, so the
 * environment's teardown must not close it. A no-op for fds the ring did not open.
 */
static napi_value js_forget_fd(napi_env env, napi_callback_info info) {
  struct addon_data *d;
  int32_t fd;
  if (fd_argument(env, info, &d, &fd) == 0) disown_fd(&d->owned, fd);
  return NULL;
}

/*
 * closeFd(fd) -> 0 | -errno | 1: close `fd` now and forget it if the addon owns it (a ring of this
 * environment opened it, or makePipe or dupFd made it); 1, and nothing done, for any other fd,
 * which node:fs must close. Each route keeps its opener's books: Node warns when a worker closes
 * through node:fs an fd node:fs did not open, and closes at a worker's end the fds node:fs opened
 * there and did not close. close(2) of a regular file or a pipe does not wait on a device.
 */
static napi_value js_close_fd(napi_env env, napi_callback_info info) {
  struct addon_data *d;
  int32_t fd;
  int ret = fd_argument(env, info, &d, &fd);
  if (ret) return ret == 1 ? NULL : make_int(env, ret);
  if (!disown_fd(&d->owned, fd)) return make_int(env, 1);
  /* Linux releases the fd even when close(2) is interrupted: EINTR is not a failure here. */
  ret = close(fd) == 0 || errno == EINTR ? 0 : -errno;
  return make_int(env, ret);
}

/*
 * makePipe(size) -> [readFd, writeFd, capacity] | -errno: a close-on-exec pipe for splicing,
 * grown to `size` bytes where the kernel allows (pipe-max-size, the per-user page budget; the
 * default 64 KiB otherwise). Both ends are closed at the environment's end unless closeFd closed
 * them first.
 */
static napi_value js_make_pipe(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, value;
  struct addon_data *d;
  uint32_t size;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
      napi_get_instance_data(env, (void **)&d) != napi_ok || !d)
    return NULL;
  if (argc < 1 || get_u32(env, argv[0], &size) < 0 || size > INT32_MAX) return make_int(env, -EINVAL);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return make_int(env, -errno);
  (void)fcntl(fds[1], F_SETPIPE_SZ, (int)size); /* refused: the smaller pipe still works */
  int capacity = fcntl(fds[1], F_GETPIPE_SZ);
  if (capacity < 0) capacity = 65536;
  own_fd(&d->owned, fds[0]);
  own_fd(&d->owned, fds[1]);
  if (napi_create_array_with_length(env, 3, &result) != napi_ok) goto fail;
  int values[3] = {fds[0], fds[1], capacity};
  for (uint32_t i = 0; i < 3; i++)
    if (napi_create_int32(env, values[i], &value) != napi_ok ||
        napi_set_element(env, result, i, value) != napi_ok)
      goto fail;
  return result;
fail:
  disown_fd(&d->owned, fds[0]);
  disown_fd(&d->owned, fds[1]);
  close(fds[0]);
  close(fds[1]);
  return NULL;
}

/*
 * dupFd(fd) -> newFd | -errno: a close-on-exec duplicate of `fd`, ours to close (closeFd), so that
 * operations queued on it never reach another file should the owner of `fd` close it meanwhile.
 */
static napi_value js_dup_fd(napi_env env, napi_callback_info info) {
  struct addon_data *d;
  int32_t fd;
  int ret = fd_argument(env, info, &d, &fd);
  if (ret) return ret == 1 ? NULL : make_int(env, ret);
  int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return make_int(env, -errno);
  /* Remembered, so that the environment's end closes it if JavaScript does not. */
  own_fd(&d->owned, dup);
  return make_int(env, dup);
}

/*
 * seekFd(fd, offset, whence) -> position | -errno: lseek(2) of `fd`, `offset` an integer within
 * +-2^53 and `whence` SEEK_SET, SEEK_CUR or SEEK_END (else -EINVAL). Never waits on a device: it
 * moves a number in the open file description (-ESPIPE for a pipe, a FIFO, a socket).
 */
static napi_value js_seek_fd(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, whence;
  double offset;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3 || get_i32(env, argv[0], &fd) < 0 || fd < 0) return make_int(env, -EBADF);
  if (napi_get_value_double(env, argv[1], &offset) != napi_ok || offset != offset || offset > 9007199254740992.0 ||
      offset < -9007199254740992.0 || offset != (double)(int64_t)offset || get_i32(env, argv[2], &whence) < 0 ||
      (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END))
    return make_int(env, -EINVAL);
  off_t at = lseek(fd, (off_t)offset, whence);
  napi_value result;
  if (at < 0) return make_int(env, -errno);
  if (napi_create_double(env, (double)at, &result) != napi_ok) return NULL;
  return result;
}

/* statusFlags(fd) -> flags | -errno: the file status flags of `fd` (fcntl F_GETFL: O_APPEND...). */
static napi_value js_status_flags(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || get_i32(env, argv[0], &fd) < 0 || fd < 0) return make_int(env, -EBADF);
  int flags = fcntl(fd, F_GETFL);
  return make_int(env, flags < 0 ? -errno : flags);
}

/*
 * corkFd(fd, on) -> 0 | -errno: set TCP_CORK on the socket `fd` (on: true) or clear it (false,
 * which sends what the cork held). Never blocks; -ENOTSOCK or -EOPNOTSUPP for what is not TCP.
 */
static napi_value js_cork_fd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  bool on;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || get_i32(env, argv[0], &fd) < 0 || fd < 0) return make_int(env, -EBADF);
  if (napi_get_value_bool(env, argv[1], &on) != napi_ok) return make_int(env, -EINVAL);
  int value = on ? 1 : 0;
  if (setsockopt(fd, IPPROTO_TCP, TCP_CORK, &value, sizeof value) < 0) return make_int(env, -errno);
  return make_int(env, 0);
}

/* drainPipe(pipeFd, outFd, length) -> bytes | -errno: aiofs_drain_pipe (splice.h). */
static napi_value js_drain_pipe(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t in, out;
  int64_t length; /* a non-negative integer: get_u32 would wrap -1 round */
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3 || get_i32(env, argv[0], &in) < 0 || get_i32(env, argv[1], &out) < 0 || in < 0 || out < 0)
    return make_int(env, -EBADF);
  if (get_offset(env, argv[2], &length) < 0) return make_int(env, -EINVAL);
  if (length > AIOFS_MAX_RW_COUNT) length = AIOFS_MAX_RW_COUNT;
  return make_int(env, aiofs_drain_pipe(in, out, (size_t)length));
}

/* spliceResident(fd, offset, pipeFd, length) -> bytes | 0 | -errno: aiofs_splice_resident (splice.h). */
static napi_value js_splice_resident(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd, pipe;
  int64_t offset, length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4 || get_i32(env, argv[0], &fd) < 0 || get_i32(env, argv[2], &pipe) < 0 || fd < 0 || pipe < 0)
    return make_int(env, -EBADF);
  if (get_offset(env, argv[1], &offset) < 0 || get_offset(env, argv[3], &length) < 0) return make_int(env, -EINVAL);
  if (length > AIOFS_MAX_RW_COUNT) length = AIOFS_MAX_RW_COUNT;
  return make_int(env, aiofs_splice_resident(fd, offset, pipe, (size_t)length));
}

/*
 * useWaiterThread(): engines made from now on in this environment deliver completions through a
 * waiter thread (waiter.h) instead of uv_poll: for runtimes whose loop cannot be polled.
 */
static napi_value js_use_waiter_thread(napi_env env, napi_callback_info info) {
  (void)info;
  struct addon_data *d;
  if (napi_get_instance_data(env, (void **)&d) == napi_ok && d) d->use_waiter = 1;
  return NULL;
}

#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default_method, NULL}

/*
 * exports.constants: { ops: { READ: 0, ... }, maxRwCount, iovMax, maxRegistered, currentPosition }, the numbers
 * JavaScript must share with this core (engine.h, limits.h); test/native.test.ts
 * compares them with src/backend/backend.ts and src/limits.ts.
 */
static napi_status export_constants(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    int value;
  } ops[] = {
      {"READ", AIOFS_OP_READ},         {"WRITE", AIOFS_OP_WRITE},
      {"READV", AIOFS_OP_READV},       {"WRITEV", AIOFS_OP_WRITEV},
      {"FSYNC", AIOFS_OP_FSYNC},       {"FDATASYNC", AIOFS_OP_FDATASYNC},
      {"OPENAT", AIOFS_OP_OPENAT},     {"CLOSE", AIOFS_OP_CLOSE},
      {"STATX", AIOFS_OP_STATX},       {"RENAMEAT", AIOFS_OP_RENAMEAT},
      {"UNLINKAT", AIOFS_OP_UNLINKAT}, {"MKDIRAT", AIOFS_OP_MKDIRAT},
      {"SYMLINKAT", AIOFS_OP_SYMLINKAT}, {"LINKAT", AIOFS_OP_LINKAT},
      {"FALLOCATE", AIOFS_OP_FALLOCATE}, {"FTRUNCATE", AIOFS_OP_FTRUNCATE},
      {"SPLICE", AIOFS_OP_SPLICE},     {"POLL", AIOFS_OP_POLL},
      {"OPENAT2", AIOFS_OP_OPENAT2},
  };
  napi_value constants, table, value;
  napi_status st = napi_create_object(env, &constants);
  if (st == napi_ok) st = napi_create_object(env, &table);
  for (size_t i = 0; st == napi_ok && i < sizeof(ops) / sizeof(ops[0]); i++) {
    st = napi_create_int32(env, ops[i].value, &value);
    if (st == napi_ok) st = napi_set_named_property(env, table, ops[i].name, value);
  }
  if (st == napi_ok) st = napi_set_named_property(env, constants, "ops", table);
  const struct {
    const char *name;
    uint32_t value;
  } limits[] = {{"maxRwCount", AIOFS_MAX_RW_COUNT},
                {"iovMax", AIOFS_IOV_MAX},
                {"maxRegistered", AIOFS_MAX_REGISTERED}};
  for (size_t i = 0; st == napi_ok && i < sizeof(limits) / sizeof(limits[0]); i++) {
    st = napi_create_uint32(env, limits[i].value, &value);
    if (st == napi_ok) st = napi_set_named_property(env, constants, limits[i].name, value);
  }
  if (st == napi_ok) st = napi_create_int64(env, AIOFS_CURRENT_POSITION, &value);
  if (st == napi_ok) st = napi_set_named_property(env, constants, "currentPosition", value);
  if (st == napi_ok) st = napi_set_named_property(env, exports, "constants", constants);
  return st;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      /* submitRw, prepRw, submit, pending and reap are each engine's own (bind_hot_methods). */
      METHOD("prepRwv", js_prep_rwv),
      METHOD("prepFsync", js_prep_fsync),   METHOD("prepCancel", js_prep_cancel),
      METHOD("prepMeta", js_prep_meta),     METHOD("registerBuffers", js_register_buffers),
      METHOD("close", js_close),
  };
  napi_value cls;
  struct addon_data *d = calloc(1, sizeof(*d));
  if (!d) return NULL;
  if (napi_define_class(env, "NativeEngine", NAPI_AUTO_LENGTH, engine_constructor, NULL,
                        sizeof(methods) / sizeof(methods[0]), methods, &cls) != napi_ok ||
      napi_create_reference(env, cls, 1, &d->engine_class) != napi_ok ||
      napi_set_instance_data(env, d, free_addon_data, NULL) != napi_ok) {
    free(d);
    return NULL;
  }
  napi_property_descriptor fns[] = {METHOD("createUring", js_create_uring),
                                    METHOD("createAio", js_create_aio),
                                    METHOD("forgetFd", js_forget_fd), METHOD("closeFd", js_close_fd),
                                    METHOD("makePipe", js_make_pipe), METHOD("dupFd", js_dup_fd),
                                    METHOD("seekFd", js_seek_fd), METHOD("statusFlags", js_status_flags),
                                    METHOD("corkFd", js_cork_fd), METHOD("drainPipe", js_drain_pipe),
                                    METHOD("spliceResident", js_splice_resident),
                                    METHOD("useWaiterThread", js_use_waiter_thread),
                                    METHOD("misalignment", aiofs_js_misalignment),
                                    METHOD("setDirect", js_set_direct),
                                    METHOD("directInfo", js_direct_info)};
  CHECK(napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns));
  if (export_constants(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
