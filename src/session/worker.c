/*
 * worker.c: worker threads. See worker.h.
 *
 * Each worker runs one libev loop with its listening sockets, its sessions
 * and their backend connections. The main thread reaches a worker only by
 * setting atomic flags (stopping, force_stop, kill_pending) or publishing a
 * new config in `pending_cfg`, then waking it with ev_async_send.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "halyard/core/clock.h"
#include "halyard/core/selfwatch.h"
#include "halyard/core/log.h"
#include "halyard/sql/classify_memo.h"
#include "halyard/session/session.h"
#include "halyard/session/worker.h"

#define ACCEPT_BATCH 64

static void heartbeat_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct worker *w = container_of(t, struct worker, heartbeat);
    atomic_store_explicit(&w->beat_us, hy_mono_us(), memory_order_relaxed);
}

static void accept_resume_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct worker *w = container_of(t, struct worker, accept_pause);
    for (size_t i = 0; i < w->n_ls; i++) {
        if (w->ls[i].fd >= 0)
            ev_io_start(loop, &w->ls[i].io);
    }
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)revents;
    struct listener_sock *l = container_of(io, struct listener_sock, io);
    struct worker *w = l->w;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: pause accepting instead of spinning. */
                hy_log_warn("worker %d: accept on %s: %s; pausing accepts for 100 ms", w->id,
                            l->cfg->name, strerror(errno));
                for (size_t j = 0; j < w->n_ls; j++)
                    ev_io_stop(loop, &w->ls[j].io);
                ev_timer_set(&w->accept_pause, 0.1, 0.);
                ev_timer_start(loop, &w->accept_pause);
            }
            return;
        }
        session_create(w, fd, l->cfg);
    }
}

static void close_listeners(struct worker *w)
{
    for (size_t i = 0; i < w->n_ls; i++) {
        if (w->ls[i].fd >= 0) {
            ev_io_stop(w->loop, &w->ls[i].io);
            close(w->ls[i].fd);
            w->ls[i].fd = -1;
        }
    }
    ev_timer_stop(w->loop, &w->accept_pause);
}

/* Index of the listener of `cfg` on address:port, or -1. */
static int listener_find(const struct config *cfg, const char *address, int port)
{
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        if (cfg->listeners[i].port == port && strcmp(cfg->listeners[i].address, address) == 0)
            return (int)i;
    }
    return -1;
}

struct worker_update {
    struct worker_call call;
    struct config *cfg;
    size_t n_add;
    struct worker_listen add[];
};

/* Start watching l (its fd and cfg set) unless accepts are paused. */
static void listener_watch(struct worker *w, struct listener_sock *l)
{
    l->w = w;
    ev_io_init(&l->io, accept_cb, l->fd, EV_READ);
    if (!ev_is_active(&w->accept_pause))
        ev_io_start(w->loop, &l->io);
}

/* The worker's thread: move to u->cfg. Listening sockets of listeners the
 * new config keeps (same address and port) stay open, so no connection in
 * their accept queue is lost; a removed listener's queue is accepted one
 * last time and its socket closed; new listeners' sockets (opened by the
 * main thread) are added. Then every idle session is offered the new
 * config. */
static void apply_update(struct worker *w, struct worker_call *call)
{
    struct worker_update *u = container_of(call, struct worker_update, call);
    struct config *cfg = u->cfg;
    bool stopping = atomic_load(&w->stopping);
    struct listener_sock *nls = calloc(w->n_ls + u->n_add + 1, sizeof(*nls));
    if (nls == NULL) {
        hy_log_error("worker %d: out of memory applying a reload; keeping its listeners", w->id);
        for (size_t i = 0; i < u->n_add; i++)
            close(u->add[i].fd);
    } else {
        size_t n = 0;
        for (size_t i = 0; i < w->n_ls; i++) {
            struct listener_sock *l = &w->ls[i];
            if (l->fd < 0)
                continue;
            int li = stopping ? -1 : listener_find(cfg, l->cfg->address, l->cfg->port);
            ev_io_stop(w->loop, &l->io);
            if (li < 0) {
                for (int k = 0; k < 16; k++) /* what is queued already (64 a call) */
                    accept_cb(w->loop, &l->io, EV_READ);
                close(l->fd);
                l->fd = -1;
                continue;
            }
            nls[n].fd = l->fd;
            nls[n].cfg = &cfg->listeners[li];
            if (nls[n].cfg->backlog != l->cfg->backlog && listen(l->fd, nls[n].cfg->backlog) != 0)
                hy_log_warn("worker %d: listener '%s': cannot change the backlog: %s", w->id,
                            nls[n].cfg->name, strerror(errno));
            listener_watch(w, &nls[n++]);
        }
        for (size_t i = 0; i < u->n_add; i++) {
            if (stopping) {
                close(u->add[i].fd);
                continue;
            }
            nls[n].fd = u->add[i].fd;
            nls[n].cfg = &cfg->listeners[u->add[i].listener];
            listener_watch(w, &nls[n++]);
        }
        free(w->ls);
        w->ls = nls;
        w->n_ls = n;
        config_put(w->cfg);
        w->cfg = config_get(cfg);
    }
    config_put(w->session_cfg);
    w->session_cfg = config_get(cfg);
    for (struct session *s = w->sessions; s != NULL; s = s->next)
        session_config_coming(s);
    pool_drop_others(&w->conns, cfg); /* sessions move to cfg at their next statement */
    for (struct session *s = w->sessions, *next; s != NULL; s = next) {
        next = s->next;
        session_config_changed(s);
    }
}

static void update_done(struct worker_call *call)
{
    struct worker_update *u = container_of(call, struct worker_update, call);
    config_put(u->cfg);
    free(u);
}

/* Run the calls the main thread posted, oldest first. */
static void run_calls(struct worker *w)
{
    struct worker_call *c = atomic_exchange(&w->calls, NULL), *fifo = NULL;
    while (c != NULL) {
        struct worker_call *next = c->next;
        c->next = fifo;
        fifo = c;
        c = next;
    }
    while (fifo != NULL) {
        struct worker_call *next = fifo->next;
        fifo->fn(w, fifo);
        fifo->done(fifo);
        fifo = next;
    }
}

static void wakeup_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)revents;
    struct worker *w = container_of(a, struct worker, wakeup);
    if (atomic_load(&w->stopping))
        close_listeners(w); /* before anything else: the port refuses at once */
    run_calls(w);
    if (atomic_exchange(&w->kill_pending, false)) {
        for (struct session *s = w->sessions, *next; s != NULL; s = next) {
            next = s->next;
            bool killed = registry_kill_requested(&s->kill.reg);
            /* KILL QUERY, or KILL CONNECTION, of a statement on every group:
             * its parts are stopped first; the session ends as it ends */
            if (registry_take_kill_query(&s->kill.reg) || (killed && session_fanout_busy(s))) {
                session_fanout_kill(s);
                continue;
            }
            if (killed &&
                (s->state == SS_IDLE || s->state == SS_HANDSHAKE || s->state == SS_PROXY_HEADER))
                session_close(s, END_KILLED);
            else if (s->kill.kill_kept && s->state == SS_IDLE)
                session_kill_released(s); /* gives back what it kept for a KILL */
            else if (!killed)
                session_kill_wait(s); /* a KILL QUERY of a statement waiting here */
        }
    }
    if (atomic_load(&w->force_stop)) {
        close_listeners(w);
        while (w->sessions != NULL)
            session_close(w->sessions, END_SHUTDOWN);
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    if (atomic_load(&w->stopping)) {
        close_listeners(w);
        for (struct session *s = w->sessions, *next; s != NULL && !atomic_load(&w->draining);
             s = next) {
            next = s->next;
            session_shutdown(s);
        }
        if (w->n_sessions == 0)
            ev_break(loop, EVBREAK_ALL);
    }
}

bool worker_session_add(struct session *s)
{
    struct worker *w = s->w;
    s->prev = NULL;
    s->next = w->sessions;
    if (w->sessions != NULL)
        w->sessions->prev = s;
    w->sessions = s;
    w->n_sessions++;
    return true;
}

void worker_session_remove(struct session *s)
{
    struct worker *w = s->w;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        w->sessions = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    w->n_sessions--;
    /* The loop ends once the handler running now returns. */
    if (w->n_sessions == 0 && atomic_load(&w->stopping))
        ev_break(w->loop, EVBREAK_ALL);
}

hy_status_t worker_init(struct worker *w, int id, struct config *cfg,
                        const struct worker_listen *ls, size_t n_ls, char *err, size_t errlen)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (w->loop == NULL) {
        snprintf(err, errlen, "cannot create an event loop");
        return HY_ERROR;
    }
    w->cfg = config_get(cfg);
    w->session_cfg = config_get(cfg);
    buf_pool_init(&w->pool, (uint32_t)cfg->buffer_size, 256);
    pool_init(&w->conns, w->loop, &w->pool, &w->stats);
    /* Sized once, at start: a reload does not resize them. */
    if (rules_ctx_init(&w->rules, id) != HY_OK ||
        digest_create((uint32_t)cfg->digest_max_entries, &w->digests) != HY_OK ||
        (w->memo = classify_memo_create(&w->stats)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return HY_ERROR;
    }
    ev_async_init(&w->wakeup, wakeup_cb);
    ev_async_start(w->loop, &w->wakeup);
    ev_timer_init(&w->accept_pause, accept_resume_cb, 0., 0.);
    ev_timer_init(&w->heartbeat, heartbeat_cb, WORKER_HEARTBEAT_S, WORKER_HEARTBEAT_S);
    w->ls = calloc(n_ls + 1, sizeof(*w->ls));
    if (w->ls == NULL) {
        snprintf(err, errlen, "out of memory");
        for (size_t i = 0; i < n_ls; i++)
            close(ls[i].fd);
        return HY_ERROR;
    }
    w->n_ls = n_ls;
    for (size_t i = 0; i < n_ls; i++) {
        w->ls[i].fd = ls[i].fd;
        w->ls[i].cfg = &cfg->listeners[ls[i].listener];
        listener_watch(w, &w->ls[i]);
    }
    return HY_OK;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* Named as its events and logs name it ("worker 3"): top -H, gdb and
     * /proc/PID/task/TID/comm tell the threads apart. */
    char name[16];
    snprintf(name, sizeof(name), "worker %d", w->id);
    pthread_setname_np(pthread_self(), name);
    atomic_store(&w->beat_us, hy_mono_us());
    ev_timer_start(w->loop, &w->heartbeat);
    ev_unref(w->loop); /* the heartbeat alone does not keep the loop running */
    ev_run(w->loop, 0);
    ev_ref(w->loop);
    ev_timer_stop(w->loop, &w->heartbeat);
    atomic_store(&w->beat_us, 0);
    session_thread_exit();
    atomic_store(&w->done, true);
    if (w->on_done != NULL)
        w->on_done(w);
    return NULL;
}

hy_status_t worker_start(struct worker *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return HY_ERROR;
    w->started = true;
    return HY_OK;
}

hy_status_t worker_publish_config(struct worker *w, struct config *cfg,
                                  const struct worker_listen *add, size_t n_add)
{
    struct worker_update *u = calloc(1, sizeof(*u) + n_add * sizeof(u->add[0]));
    if (u == NULL)
        return HY_NOMEM;
    u->cfg = config_get(cfg);
    u->n_add = n_add;
    if (n_add > 0)
        memcpy(u->add, add, n_add * sizeof(*add));
    u->call.fn = apply_update;
    u->call.done = update_done;
    worker_call(w, &u->call);
    return HY_OK;
}

void worker_call(struct worker *w, struct worker_call *call)
{
    struct worker_call *head = atomic_load(&w->calls);
    do {
        call->next = head;
    } while (!atomic_compare_exchange_weak(&w->calls, &head, call));
    ev_async_send(w->loop, &w->wakeup);
}

void worker_request_drain(struct worker *w)
{
    atomic_store(&w->draining, true);
    worker_request_stop(w, false);
}

void worker_request_stop(struct worker *w, bool force)
{
    if (force)
        atomic_store(&w->force_stop, true);
    atomic_store(&w->stopping, true);
    ev_async_send(w->loop, &w->wakeup);
}

void worker_join(struct worker *w)
{
    if (w->started)
        pthread_join(w->thread, NULL);
    w->started = false;
}

void worker_destroy(struct worker *w)
{
    if (w->loop == NULL)
        return;
    while (w->sessions != NULL)
        session_close(w->sessions, END_SHUTDOWN);
    close_listeners(w);
    free(w->ls);
    w->ls = NULL;
    pool_destroy(&w->conns);
    buf_pool_destroy(&w->pool);
    rules_ctx_destroy(&w->rules);
    digest_destroy(w->digests);
    w->digests = NULL;
    classify_memo_destroy(w->memo);
    w->memo = NULL;
    ev_async_stop(w->loop, &w->wakeup);
    ev_loop_destroy(w->loop);
    w->loop = NULL;
    config_put(w->session_cfg);
    config_put(w->cfg);
}
