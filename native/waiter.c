/* See waiter.h. */
#define _GNU_SOURCE
#include "waiter.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct aiofs_waiter {
  int fd;
  int stop_fd; /* an eventfd: readable once stop was asked */
  pthread_t thread;
  napi_threadsafe_function tsfn;
  aiofs_waiter_ready ready;
  aiofs_waiter_done done;
  void *arg;
  pthread_mutex_t lock;
  pthread_cond_t delivered;
  pthread_cond_t wanted; /* signalled when `want` becomes 1 while the thread is idle, and on stop */
  int delivering; /* a readiness was handed over and `ready` has not returned yet */
  int stopping;
  int started; /* the thread runs, so `done` is owed once the function is finalized */
  /*
   * `want` (stored by the JavaScript thread) and `idle` (by the waiter) are sequentially
   * consistent, so that of the two stores at least one is seen by the other side's load: either
   * the waiter sees want = 1 before it sleeps, or aiofs_waiter_want sees idle = 1 and signals,
   * under the lock the waiter holds until it sleeps. `asked` is the JavaScript thread's own copy
   * of `want`, so that an unchanged answer costs no atomic store.
   */
  atomic_int want;
  atomic_int idle;
  int asked;
};

/* Until the fd is wanted or the waiter stops: returns whether it stops. */
static int wait_until_wanted(struct aiofs_waiter *w) {
  pthread_mutex_lock(&w->lock);
  while (!w->stopping) {
    atomic_store(&w->idle, 1);
    if (atomic_load(&w->want)) break;
    pthread_cond_wait(&w->wanted, &w->lock);
  }
  atomic_store(&w->idle, 0);
  int stopping = w->stopping;
  pthread_mutex_unlock(&w->lock);
  return stopping;
}

static void *wait_loop(void *data) {
  struct aiofs_waiter *w = data;
  struct pollfd fds[2] = {{.fd = w->fd, .events = POLLIN}, {.fd = w->stop_fd, .events = POLLIN}};
  int delivered = 0;
  for (;;) {
    /*
     * Straight after a delivery the fd is watched again whatever is wanted: a program awaiting
     * one operation at a time on the device wants it again at once, and waking an idle thread
     * would cost it a system call per operation. The thread goes idle once a readiness finds
     * the fd unwanted.
     */
    if (!delivered && wait_until_wanted(w)) break;
    delivered = 0;
    int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[1].revents) break;
    /* Readable, but no longer wanted: the JavaScript thread took what was there itself. */
    if (!fds[0].revents || !atomic_load(&w->want)) continue;
    pthread_mutex_lock(&w->lock);
    w->delivering = 1;
    pthread_mutex_unlock(&w->lock);
    /* The queue is unbounded, so this never blocks; it fails only once the function is closing. */
    if (napi_call_threadsafe_function(w->tsfn, NULL, napi_tsfn_nonblocking) != napi_ok) break;
    pthread_mutex_lock(&w->lock);
    while (w->delivering && !w->stopping) pthread_cond_wait(&w->delivered, &w->lock);
    int stopping = w->stopping;
    pthread_mutex_unlock(&w->lock);
    if (stopping) break;
    delivered = 1;
  }
  return NULL;
}

/*
 * On the JavaScript thread. env is NULL when the runtime drops a call queued before the stop
 * while it closes the function: Node does so after finalized() has freed the waiter, so then
 * nothing of it may be touched (the thread was joined before the release, and waits for no one).
 */
static void call_ready(napi_env env, napi_value js_callback, void *context, void *data) {
  (void)js_callback;
  (void)data;
  if (!env) return;
  struct aiofs_waiter *w = context;
  pthread_mutex_lock(&w->lock);
  int stopping = w->stopping;
  pthread_mutex_unlock(&w->lock);
  if (!stopping) w->ready(env, w->arg);
  pthread_mutex_lock(&w->lock);
  w->delivering = 0;
  pthread_cond_signal(&w->delivered);
  pthread_mutex_unlock(&w->lock);
}

static void finalized(napi_env env, void *finalize_data, void *hint) {
  (void)env;
  (void)hint;
  struct aiofs_waiter *w = finalize_data;
  aiofs_waiter_done done = w->done;
  void *arg = w->arg;
  pthread_mutex_destroy(&w->lock);
  pthread_cond_destroy(&w->delivered);
  pthread_cond_destroy(&w->wanted);
  close(w->stop_fd);
  int started = w->started;
  free(w);
  if (started) done(arg);
}

int aiofs_waiter_start(napi_env env, int fd, aiofs_waiter_ready ready, aiofs_waiter_done done,
                       void *arg, struct aiofs_waiter **out) {
  struct aiofs_waiter *w = calloc(1, sizeof(*w));
  if (!w) return -ENOMEM;
  w->fd = fd;
  w->ready = ready;
  w->done = done;
  w->arg = arg;
  w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->stop_fd < 0) {
    int err = -errno;
    free(w);
    return err;
  }
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->delivered, NULL);
  pthread_cond_init(&w->wanted, NULL);
  napi_value name;
  if (napi_create_string_utf8(env, "aiofs completions", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, w, finalized, w, call_ready,
                                      &w->tsfn) != napi_ok) {
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->delivered);
    pthread_cond_destroy(&w->wanted);
    close(w->stop_fd);
    free(w);
    return -ENOMEM;
  }
  /* Until something is in flight the waiter must not keep the process alive. */
  napi_unref_threadsafe_function(env, w->tsfn);
  int err = pthread_create(&w->thread, NULL, wait_loop, w);
  if (err) {
    /* finalized() frees w; arg stays the caller's. */
    w->stopping = 1;
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
    return -err;
  }
  w->started = 1;
  /* Names it in ps and /proc (at most 15 characters); only a nicety, so a failure is ignored. */
  pthread_setname_np(w->thread, "aiofs-waiter");
  *out = w;
  return 0;
}

void aiofs_waiter_want(struct aiofs_waiter *w, int want) {
  want = want != 0;
  if (want == w->asked) return;
  w->asked = want;
  atomic_store(&w->want, want);
  if (want && atomic_load(&w->idle)) {
    pthread_mutex_lock(&w->lock);
    pthread_cond_signal(&w->wanted);
    pthread_mutex_unlock(&w->lock);
  }
}

void aiofs_waiter_ref(struct aiofs_waiter *w, napi_env env) {
  napi_ref_threadsafe_function(env, w->tsfn);
}

void aiofs_waiter_unref(struct aiofs_waiter *w, napi_env env) {
  napi_unref_threadsafe_function(env, w->tsfn);
}

void aiofs_waiter_stop(struct aiofs_waiter *w) {
  pthread_mutex_lock(&w->lock);
  w->stopping = 1;
  pthread_cond_signal(&w->delivered);
  pthread_cond_signal(&w->wanted);
  pthread_mutex_unlock(&w->lock);
  uint64_t one = 1;
  while (write(w->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  pthread_join(w->thread, NULL);
  napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
}
