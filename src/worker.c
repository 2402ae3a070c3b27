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

#include "halyard/log.h"
#include "halyard/session.h"
#include "halyard/worker.h"

#define ACCEPT_BATCH 64

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
    run_calls(w);
    struct config *fresh = atomic_exchange(&w->pending_cfg, NULL);
    if (fresh != NULL) {
        /* New sessions use the new config; running ones keep theirs. */
        config_put(w->session_cfg);
        w->session_cfg = fresh;
    }
    if (atomic_exchange(&w->kill_pending, false)) {
        for (struct session *s = w->sessions, *next; s != NULL; s = next) {
            next = s->next;
            if (atomic_load(&s->kill_req) && (s->state == SS_IDLE || s->state == SS_HANDSHAKE))
                session_close(s, END_KILLED);
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
        for (struct session *s = w->sessions, *next; s != NULL; s = next) {
            next = s->next;
            session_shutdown(s);
        }
        if (w->n_sessions == 0)
            ev_break(loop, EVBREAK_ALL);
    }
}

void worker_session_gone(struct worker *w)
{
    if (w->n_sessions == 0 && atomic_load(&w->stopping))
        ev_break(w->loop, EVBREAK_ALL);
}

hy_status_t worker_init(struct worker *w, int id, struct config *cfg, char *err, size_t errlen)
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
    /* Sized once, at start: a reload does not resize them. */
    if (rules_ctx_init(&w->rules, id) != HY_OK ||
        digest_create((uint32_t)cfg->digest_max_entries, &w->digests) != HY_OK) {
        snprintf(err, errlen, "out of memory");
        return HY_ERROR;
    }
    ev_async_init(&w->wakeup, wakeup_cb);
    ev_async_start(w->loop, &w->wakeup);
    ev_timer_init(&w->accept_pause, accept_resume_cb, 0., 0.);
    w->ls = calloc(cfg->n_listeners, sizeof(*w->ls));
    if (w->ls == NULL) {
        snprintf(err, errlen, "out of memory");
        return HY_ERROR;
    }
    w->n_ls = cfg->n_listeners;
    for (size_t i = 0; i < cfg->n_listeners; i++)
        w->ls[i].fd = -1;
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const struct config_listener *lc = &cfg->listeners[i];
        char why[256];
        int fd = net_listen(lc->address, lc->port, lc->backlog, why, sizeof(why));
        if (fd < 0) {
            snprintf(err, errlen, "listener '%s': %s", lc->name, why);
            return HY_ERROR;
        }
        w->ls[i].fd = fd;
        w->ls[i].cfg = lc;
        w->ls[i].w = w;
        ev_io_init(&w->ls[i].io, accept_cb, fd, EV_READ);
        ev_io_start(w->loop, &w->ls[i].io);
    }
    return HY_OK;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    ev_run(w->loop, 0);
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

void worker_publish_config(struct worker *w, struct config *cfg)
{
    struct config *old = atomic_exchange(&w->pending_cfg, config_get(cfg));
    config_put(old);
    ev_async_send(w->loop, &w->wakeup);
}

void worker_call(struct worker *w, struct worker_call *call)
{
    struct worker_call *head = atomic_load(&w->calls);
    do {
        call->next = head;
    } while (!atomic_compare_exchange_weak(&w->calls, &head, call));
    ev_async_send(w->loop, &w->wakeup);
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
    buf_pool_destroy(&w->pool);
    rules_ctx_destroy(&w->rules);
    digest_destroy(w->digests);
    w->digests = NULL;
    ev_async_stop(w->loop, &w->wakeup);
    ev_loop_destroy(w->loop);
    w->loop = NULL;
    config_put(atomic_exchange(&w->pending_cfg, NULL));
    config_put(w->session_cfg);
    config_put(w->cfg);
}
