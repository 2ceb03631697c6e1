/*
 * A thread that waits for an fd to become readable and hands each readiness to the JavaScript
 * thread through a thread-safe function: how completions arrive on runtimes whose event loop an
 * addon cannot poll (Bun has no uv_poll; Deno's reports readiness once). On Node the engine's fd
 * is watched with uv_poll instead, where completions can be reaped inline with no thread hop.
 *
 * Contract:
 *  - `ready(env, arg)` runs on the JavaScript thread after the fd became readable; the waiter does
 *    not wait on the fd again until it has returned, so `ready` must consume what made the fd
 *    readable (reap) or the waiter wakes again at once.
 *  - The waiter watches the fd only while the JavaScript thread wants it (aiofs_waiter_want(w, 1),
 *    off at the start): a readiness found once it is no longer wanted is not handed over, and
 *    until it is wanted again the thread sleeps apart from the fd. A readable fd wakes every
 *    thread waiting on it, and the thread that made it readable pays for the wake-up: so a
 *    caller that consumes what it finishes itself (a completion posted inside its own submit)
 *    wants the fd only while something is due from elsewhere.
 *  - The waiter keeps its environment's loop alive only between aiofs_waiter_ref and _unref.
 *  - aiofs_waiter_stop (JavaScript thread) joins the thread: after it returns `ready` is never
 *    called again. `done(arg)` runs once afterwards, on the JavaScript thread, when the runtime
 *    has finalized the thread-safe function; only then may `arg` be freed.
 * Nothing here knows what the fd is.
 */
#ifndef AIOFS_WAITER_H
#define AIOFS_WAITER_H

#include <node_api.h>

struct aiofs_waiter;

typedef void (*aiofs_waiter_ready)(napi_env env, void *arg);
typedef void (*aiofs_waiter_done)(void *arg);

/* 0, or -errno (the thread or the thread-safe function could not be made; nothing is left). */
int aiofs_waiter_start(napi_env env, int fd, aiofs_waiter_ready ready, aiofs_waiter_done done,
                       void *arg, struct aiofs_waiter **out);
void aiofs_waiter_ref(struct aiofs_waiter *w, napi_env env);
void aiofs_waiter_unref(struct aiofs_waiter *w, napi_env env);
/* JavaScript thread: whether the fd is to be watched now. Free when the answer is unchanged. */
void aiofs_waiter_want(struct aiofs_waiter *w, int want);
void aiofs_waiter_stop(struct aiofs_waiter *w);

#endif
