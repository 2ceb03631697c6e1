/* See waiter.h. */
#define _GNU_SOURCE
#include "waiter.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
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
  int delivering; /* a readiness was handed over and `ready` has not returned yet */
  int stopping;
  int started; /* the thread runs, so `done` is owed once the function is finalized */
};

static void *wait_loop(void *data) {
  struct aiofs_waiter *w = data;
  struct pollfd fds[2] = {{.fd = w->fd, .events = POLLIN}, {.fd = w->stop_fd, .events = POLLIN}};
  for (;;) {
    int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[1].revents) break;
    if (!fds[0].revents) continue;
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
  napi_value name;
  if (napi_create_string_utf8(env, "aiofs completions", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, w, finalized, w, call_ready,
                                      &w->tsfn) != napi_ok) {
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->delivered);
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
  *out = w;
  return 0;
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
  pthread_mutex_unlock(&w->lock);
  uint64_t one = 1;
  while (write(w->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  pthread_join(w->thread, NULL);
  napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
}
