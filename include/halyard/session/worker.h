/*
 * worker.h: a worker thread, its libev loop, its listening sockets.
 *
 * Each worker listens with its own SO_REUSEPORT socket per listener and owns
 * every session it accepts, with every backend connection of that session,
 * for their whole life: the data path takes no locks. The main thread talks
 * to a worker only through `wakeup` (an ev_async) and atomic flags.
 */
#ifndef HALYARD_WORKER_H
#define HALYARD_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>

#include "halyard/core/buf.h"
#include "halyard/config/config.h"
#include "halyard/pool/pool.h"
#include "halyard/core/core.h"
#include "halyard/sql/digest.h"
#include "halyard/config/rules.h"
#include "halyard/core/stats.h"

struct listener_sock {
    int fd;
    ev_io io;
    const struct config_listener *cfg;
    struct worker *w;
};

/* A function the main thread has a worker run in the worker's own thread,
 * so it may look at that worker's sessions (admin: list or kill sessions).
 * The caller owns the struct and must not touch it between worker_call()
 * and `done`; after `done` the worker no longer touches it. A worker that
 * has stopped never runs it: the caller bounds its wait with a timer. */
struct worker_call {
    struct worker_call *next; /* the worker's inbox */
    void (*fn)(struct worker *w, struct worker_call *call);
    void (*done)(struct worker_call *call); /* in the worker thread, right after fn */
};

/* A worker's loop stamps beat_us this often; the main thread's watchdog
 * (selfwatch.h) reports a worker whose stamp is older than
 * worker_stall_ms: a loop stuck in one callback. */
#define WORKER_HEARTBEAT_S 0.1

struct worker {
    int id;
    pthread_t thread;
    struct ev_loop *loop;
    ev_async wakeup;
    struct buf_pool pool;
    struct pool conns;          /* idle backend connections (pool_mode = "transaction") */
    struct config *cfg;         /* the config this worker's listeners belong to */
    struct config *session_cfg; /* the config new sessions take (reloads replace it) */
    ev_timer accept_pause;      /* accepts pause while out of descriptors */
    ev_timer heartbeat;         /* every WORKER_HEARTBEAT_S: stamps beat_us */
    _Atomic int64_t beat_us;    /* CLOCK_MONOTONIC in us at the last stamp; 0 = not running */
    bool started;
    struct listener_sock *ls;
    size_t n_ls;
    struct session *sessions; /* doubly linked through session.next/prev */
    /* sessions waiting for a connection to a backend at its max_connections,
     * oldest first (session_pool.c), through session.pw_next/pw_prev */
    struct session *pool_waiters, *pool_waiters_tail;
    uint32_t n_sessions;
    atomic_bool stopping;     /* SIGTERM: accept nothing, finish what is in flight */
    atomic_bool force_stop;   /* shutdown timeout: close everything now */
    atomic_bool draining;     /* after a takeover: sessions end when their clients leave */
    atomic_bool kill_pending; /* a session of this worker was asked to close */
    atomic_bool done;
    _Atomic(struct worker_call *) calls; /* posted by the main thread, newest first */
    struct worker_stats stats;
    struct rules_ctx rules;       /* PCRE2 state for matching query rules in this thread */
    struct digest_table *digests; /* NULL when digest_max_entries = 0 (at start) */
    struct classify_memo *memo;   /* the classifications of statements seen (session_route.c) */
    void (*on_done)(struct worker *w); /* called from the worker thread at exit */
    void *on_done_arg;
};

/* A listening socket handed to a worker: listener number `listener` of
 * the config it comes with. The worker owns the descriptor from then on. */
struct worker_listen {
    int fd;
    size_t listener;
};

/* Create the loop; the worker takes the listening sockets `ls` (opened by
 * the main thread, so bind errors come out before any thread starts; a
 * worker may have several sockets for one listener after a hand-over). */
hy_status_t worker_init(struct worker *w, int id, struct config *cfg,
                        const struct worker_listen *ls, size_t n_ls, char *err,
                        size_t errlen) HY_MUSTCHECK;
hy_status_t worker_start(struct worker *w) HY_MUSTCHECK;
/* From another thread: begin a graceful stop, or a forced one. */
void worker_request_stop(struct worker *w, bool force);
/* From another thread, after a takeover: stop accepting, and let every
 * session (idle ones too, and logins in progress, which the new process
 * cannot take) go on until its client leaves; worker_request_stop(w, true)
 * ends the rest. */
void worker_request_drain(struct worker *w);
/* From the main thread, in reload order: the worker moves to `cfg` at its
 * next wake-up. New sessions use it; running ones move to it between
 * statements (session_config_changed). Its listening sockets of listeners
 * `cfg` keeps (same address and port) stay open, those of listeners it
 * dropped are closed after a last accept, and it takes the new sockets
 * `add` (their `listener` indexes `cfg`). HY_NOMEM: nothing was posted and
 * `add` is still the caller's. */
hy_status_t worker_publish_config(struct worker *w, struct config *cfg,
                                  const struct worker_listen *add, size_t n_add) HY_MUSTCHECK;
/* From the main thread: run call->fn in w's thread at its next wakeup. */
void worker_call(struct worker *w, struct worker_call *call);
void worker_join(struct worker *w);
void worker_destroy(struct worker *w);

/* The worker's list of sessions (w->sessions), changed only here, as the
 * session's life hooks (session_hooks.c's first row): a session joins its
 * worker's list as it is created (always true) and leaves it as it is
 * freed. The last session to go while stopping ends the worker's loop. */
bool worker_session_add(struct session *s);
void worker_session_remove(struct session *s);

#endif /* HALYARD_WORKER_H */
