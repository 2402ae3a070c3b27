/*
 * alerts.c: the notifier thread (alerts.h).
 *
 * Everything here but the history and the counters is the thread's own:
 * the coalescing table, the exec queue and its running children, the
 * webhook queue and its transfers. The main thread hands a new config
 * over under `mu` (alerts_set_config), reads the history under `hist_mu`
 * and the counters as relaxed atomics.
 *
 * Children are reaped with waitpid(pid) on their own pids: the main loop
 * is not libev's default loop, so nothing else in the process reaps them.
 */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/clock.h"
#include "halyard/admin/alerts.h"
#include "halyard/config/config.h"
#include "halyard/core/log.h"
#include "halyard/core/spawn.h"

/* ---- coalescing ----------------------------------------------------------- */

hy_status_t coalesce_init(struct coalesce *c, size_t n)
{
    c->slots = calloc(n, sizeof(*c->slots));
    c->n = c->slots != NULL ? n : 0;
    return c->slots != NULL ? HY_OK : HY_NOMEM;
}

void coalesce_free(struct coalesce *c)
{
    free(c->slots);
    c->slots = NULL;
    c->n = 0;
}

static bool same_key(const struct coalesce_slot *s, const struct event *e)
{
    return s->used && s->last.type == e->type && strcmp(s->last.backend, e->backend) == 0;
}

bool coalesce_offer(struct coalesce *c, const struct event *e, uint64_t now_ms, uint64_t repeat_ms)
{
    if (repeat_ms == 0)
        return true;
    struct coalesce_slot *free_slot = NULL;
    for (size_t i = 0; i < c->n; i++) {
        struct coalesce_slot *s = &c->slots[i];
        if (same_key(s, e)) {
            s->repeat_ms = repeat_ms;
            if (now_ms < s->window_end_ms) {
                s->held++;
                s->last = *e;
                return false;
            }
            /* The interval is over (a held event would have been due first). */
            s->window_end_ms = now_ms + repeat_ms;
            s->held = 0;
            s->last = *e;
            return true;
        }
        if (free_slot == NULL && (!s->used || (s->held == 0 && now_ms >= s->window_end_ms)))
            free_slot = s;
    }
    if (free_slot != NULL) {
        free_slot->used = true;
        free_slot->window_end_ms = now_ms + repeat_ms;
        free_slot->repeat_ms = repeat_ms;
        free_slot->held = 0;
        free_slot->last = *e;
    }
    return true;
}

bool coalesce_due(struct coalesce *c, uint64_t now_ms, struct event *out)
{
    for (size_t i = 0; i < c->n; i++) {
        struct coalesce_slot *s = &c->slots[i];
        if (!s->used || s->held == 0 || now_ms < s->window_end_ms)
            continue;
        *out = s->last;
        out->coalesced = s->held;
        s->held = 0;
        s->window_end_ms = now_ms + s->repeat_ms;
        return true;
    }
    return false;
}

uint64_t coalesce_next_ms(const struct coalesce *c)
{
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < c->n; i++) {
        if (c->slots[i].used && c->slots[i].held > 0 && c->slots[i].window_end_ms < next)
            next = c->slots[i].window_end_ms;
    }
    return next;
}

/* ---- the thread's state ------------------------------------------------------ */

struct child {
    pid_t pid; /* 0 = free */
    uint64_t seq;
    uint64_t started_ms;
    bool killed;
};

struct transfer {
    bool busy;
    struct event ev;
    char *json;
    int attempts;
    uint64_t next_ms; /* 0 = in flight */
    uint64_t started_ms;
    CURL *h;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
};

/* A bounded FIFO of events waiting for one notifier. */
struct equeue {
    struct event *v;
    size_t cap, head, n;
};

static struct {
    pthread_mutex_t mu;
    struct config *cfg_new;
    bool stop;     /* under mu */
    bool stopping; /* the thread's copy of stop */
    pthread_t thread;
    bool running;

    /* the thread's own */
    struct config *cfg;
    struct coalesce co;
    struct equeue exec_q, hook_q;
    struct child *children;
    size_t n_children;
    struct transfer hooks[ALERTS_WEBHOOK_PARALLEL];
    CURLM *multi;
    char instance[256];

    pthread_mutex_t hist_mu;
    struct alerts_record hist[ALERTS_HISTORY];
    size_t hist_n, hist_next;

    _Atomic uint64_t events, dropped, coalesced;
    _Atomic uint64_t delivered[ALERTS__N], failed[ALERTS__N];
} A = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .hist_mu = PTHREAD_MUTEX_INITIALIZER,
};

const char *alerts_notifier_name(enum alerts_notifier n)
{
    return n == ALERTS_EXEC ? "exec" : n == ALERTS_WEBHOOK ? "webhook" : "?";
}

static void count(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- history ----------------------------------------------------------------- */

static void hist_add(const struct event *e, const char *note)
{
    pthread_mutex_lock(&A.hist_mu);
    struct alerts_record *r = &A.hist[A.hist_next];
    memset(r->result, 0, sizeof(r->result));
    r->ev = *e;
    snprintf(r->note, sizeof(r->note), "%s", note);
    A.hist_next = (A.hist_next + 1) % ALERTS_HISTORY;
    if (A.hist_n < ALERTS_HISTORY)
        A.hist_n++;
    pthread_mutex_unlock(&A.hist_mu);
}

/* The record of event `seq` (still in the history): note, or a notifier's
 * result. */
static void hist_set(uint64_t seq, int notifier, const char *fmt, ...) HY_PRINTF(3, 4);

static void hist_set(uint64_t seq, int notifier, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&A.hist_mu);
    for (size_t i = 0; i < A.hist_n; i++) {
        struct alerts_record *r = &A.hist[i];
        if (r->ev.seq != seq)
            continue;
        va_start(ap, fmt);
        if (notifier < 0)
            vsnprintf(r->note, sizeof(r->note), fmt, ap);
        else
            vsnprintf(r->result[notifier], sizeof(r->result[notifier]), fmt, ap);
        va_end(ap);
        break;
    }
    pthread_mutex_unlock(&A.hist_mu);
}

size_t alerts_history(struct alerts_record *out, size_t max)
{
    pthread_mutex_lock(&A.hist_mu);
    size_t n = HY_MIN(max, A.hist_n);
    size_t first = (A.hist_next + ALERTS_HISTORY - n) % ALERTS_HISTORY;
    for (size_t i = 0; i < n; i++)
        out[i] = A.hist[(first + i) % ALERTS_HISTORY];
    pthread_mutex_unlock(&A.hist_mu);
    return n;
}

void alerts_get_stats(struct alerts_stats *out)
{
    out->events = atomic_load(&A.events);
    out->dropped = atomic_load(&A.dropped) + events_dropped();
    out->coalesced = atomic_load(&A.coalesced);
    for (int i = 0; i < ALERTS__N; i++) {
        out->delivered[i] = atomic_load(&A.delivered[i]);
        out->failed[i] = atomic_load(&A.failed[i]);
    }
}

/* ---- queues -------------------------------------------------------------------- */

static hy_status_t equeue_init(struct equeue *q, size_t cap)
{
    q->v = calloc(cap, sizeof(*q->v));
    q->cap = q->v != NULL ? cap : 0;
    q->head = q->n = 0;
    return q->v != NULL ? HY_OK : HY_NOMEM;
}

static bool equeue_push(struct equeue *q, const struct event *e)
{
    if (q->n == q->cap)
        return false;
    q->v[(q->head + q->n) % q->cap] = *e;
    q->n++;
    return true;
}

static bool equeue_pop(struct equeue *q, struct event *out)
{
    if (q->n == 0)
        return false;
    *out = q->v[q->head];
    q->head = (q->head + 1) % q->cap;
    q->n--;
    return true;
}

/* ---- exec ---------------------------------------------------------------------- */

static size_t running_children(void)
{
    size_t n = 0;
    for (size_t i = 0; i < A.n_children; i++)
        n += A.children[i].pid != 0;
    return n;
}

static void exec_start(const struct event *e)
{
    char json[EVENT_JSON_MAX], err[256];
    size_t len = event_json(e, A.instance, json, sizeof(json));
    struct spawn_env env;
    spawn_env_from_event(&env, e, A.instance);
    pid_t pid;
    if (spawn_start(A.cfg->alerts.exec, event_name(e->type), env.envp, json, len, &pid, err,
                    sizeof(err)) != HY_OK) {
        count(&A.failed[ALERTS_EXEC]);
        hy_log_warn("alerts.exec: %s", err);
        hist_set(e->seq, ALERTS_EXEC, "failed: %s", err);
        return;
    }
    for (size_t i = 0; i < A.n_children; i++) {
        if (A.children[i].pid == 0) {
            A.children[i] =
                (struct child){.pid = pid, .seq = e->seq, .started_ms = (uint64_t)hy_mono_ms()};
            break;
        }
    }
    hist_set(e->seq, ALERTS_EXEC, "running (pid %d)", (int)pid);
}

/* Reap what ended, kill what ran too long, start what waits. */
static void exec_progress(void)
{
    uint64_t now = (uint64_t)hy_mono_ms();
    int timeout = A.cfg->alerts.exec_timeout_ms;
    for (size_t i = 0; i < A.n_children; i++) {
        struct child *c = &A.children[i];
        if (c->pid == 0)
            continue;
        int st;
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        uint64_t took = now - c->started_ms;
        if (r == c->pid || (r < 0 && errno == ECHILD)) {
            bool ok = r == c->pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
            count(ok ? &A.delivered[ALERTS_EXEC] : &A.failed[ALERTS_EXEC]);
            char how[48];
            spawn_status_str(r == c->pid ? st : -1, how, sizeof(how));
            if (c->killed)
                hist_set(c->seq, ALERTS_EXEC, "killed after %llu ms (exec_timeout_ms)",
                         (unsigned long long)took);
            else
                hist_set(c->seq, ALERTS_EXEC, "%s: %s (%llu ms)", ok ? "ok" : "failed", how,
                         (unsigned long long)took);
            if (!ok)
                hy_log_warn("alerts.exec: event %llu: %s", (unsigned long long)c->seq,
                            c->killed ? "killed after exec_timeout_ms" : "did not exit 0");
            c->pid = 0;
        } else if (!c->killed && took >= (uint64_t)timeout) {
            spawn_kill(c->pid);
            c->killed = true;
        }
    }
    size_t max = HY_MIN((size_t)A.cfg->alerts.exec_max_running, A.n_children);
    struct event e;
    while (A.cfg->alerts.exec[0] != '\0' && running_children() < max && equeue_pop(&A.exec_q, &e))
        exec_start(&e);
}

/* ---- webhook ----------------------------------------------------------------- */

static void hook_release(struct transfer *t)
{
    if (t->h != NULL) {
        curl_multi_remove_handle(A.multi, t->h);
        curl_easy_cleanup(t->h);
    }
    curl_slist_free_all(t->headers);
    free(t->json);
    memset(t, 0, sizeof(*t));
}

static void hook_send(struct transfer *t)
{
    const struct config_alerts *ac = &A.cfg->alerts;
    t->attempts++;
    t->next_ms = 0;
    t->started_ms = (uint64_t)hy_mono_ms();
    t->errbuf[0] = '\0';
    t->h = curl_easy_init();
    if (t->h == NULL) {
        count(&A.failed[ALERTS_WEBHOOK]);
        hist_set(t->ev.seq, ALERTS_WEBHOOK, "failed: out of memory");
        hook_release(t);
        return;
    }
    curl_easy_setopt(t->h, CURLOPT_URL, ac->webhook);
    curl_easy_setopt(t->h, CURLOPT_POSTFIELDS, t->json);
    curl_easy_setopt(t->h, CURLOPT_POSTFIELDSIZE, (long)strlen(t->json));
    curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(t->h, CURLOPT_TIMEOUT_MS, (long)ac->webhook_timeout_ms);
    curl_easy_setopt(t->h, CURLOPT_CONNECTTIMEOUT_MS, (long)ac->webhook_timeout_ms);
    curl_easy_setopt(t->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->h, CURLOPT_SSL_VERIFYPEER, ac->webhook_tls_verify ? 1L : 0L);
    curl_easy_setopt(t->h, CURLOPT_SSL_VERIFYHOST, ac->webhook_tls_verify ? 2L : 0L);
    curl_easy_setopt(t->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t->h, CURLOPT_USERAGENT, "halyard");
    curl_easy_setopt(t->h, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(t->h, CURLOPT_PRIVATE, t);
    curl_multi_add_handle(A.multi, t->h);
}

static uint64_t backoff_ms(int attempts)
{
    uint64_t ms = 500;
    for (int i = 1; i < attempts && ms < 60000; i++)
        ms *= 2;
    return HY_MIN(ms, 60000u);
}

/* A transfer ended: delivered, retried later, or failed for good. */
static void hook_done(struct transfer *t, CURLcode rc)
{
    long code = 0;
    curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &code);
    uint64_t took = (uint64_t)hy_mono_ms() - t->started_ms;
    curl_multi_remove_handle(A.multi, t->h);
    curl_easy_cleanup(t->h);
    t->h = NULL;
    if (rc == CURLE_OK && code >= 200 && code < 300) {
        count(&A.delivered[ALERTS_WEBHOOK]);
        hist_set(t->ev.seq, ALERTS_WEBHOOK, "ok: HTTP %ld (%llu ms, attempt %d)", code,
                 (unsigned long long)took, t->attempts);
        hook_release(t);
        return;
    }
    char why[CURL_ERROR_SIZE + 32];
    if (rc != CURLE_OK)
        snprintf(why, sizeof(why), "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
    else
        snprintf(why, sizeof(why), "HTTP %ld", code);
    if (t->attempts <= A.cfg->alerts.webhook_retries && !A.stopping) {
        t->next_ms = (uint64_t)hy_mono_ms() + backoff_ms(t->attempts);
        hist_set(t->ev.seq, ALERTS_WEBHOOK, "retrying: %s (attempt %d)", why, t->attempts);
        return;
    }
    count(&A.failed[ALERTS_WEBHOOK]);
    hy_log_warn("alerts.webhook: event %llu (%s): %s after %d attempts",
                (unsigned long long)t->ev.seq, event_name(t->ev.type), why, t->attempts);
    hist_set(t->ev.seq, ALERTS_WEBHOOK, "failed: %s (%d attempts)", why, t->attempts);
    hook_release(t);
}

static void hook_progress(void)
{
    int running;
    curl_multi_perform(A.multi, &running);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(A.multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct transfer *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t != NULL)
            hook_done(t, m->data.result);
    }
    uint64_t now = (uint64_t)hy_mono_ms();
    for (size_t i = 0; i < ALERTS_WEBHOOK_PARALLEL; i++) {
        struct transfer *t = &A.hooks[i];
        if (t->busy && t->h == NULL && t->next_ms != 0 && now >= t->next_ms)
            hook_send(t);
    }
    for (size_t i = 0; i < ALERTS_WEBHOOK_PARALLEL && A.cfg->alerts.webhook[0] != '\0'; i++) {
        struct transfer *t = &A.hooks[i];
        if (t->busy || A.hook_q.n == 0)
            continue;
        struct event e;
        equeue_pop(&A.hook_q, &e);
        t->busy = true;
        t->ev = e;
        t->json = malloc(EVENT_JSON_MAX);
        t->headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (t->json == NULL || t->headers == NULL) {
            count(&A.failed[ALERTS_WEBHOOK]);
            hist_set(e.seq, ALERTS_WEBHOOK, "failed: out of memory");
            hook_release(t);
            continue;
        }
        event_json(&e, A.instance, t->json, EVENT_JSON_MAX);
        hook_send(t);
    }
    curl_multi_perform(A.multi, &running);
}

static bool hooks_idle(void)
{
    for (size_t i = 0; i < ALERTS_WEBHOOK_PARALLEL; i++) {
        if (A.hooks[i].busy)
            return false;
    }
    return A.hook_q.n == 0;
}

/* ---- dispatch ------------------------------------------------------------------ */

/* Queue `e` for one notifier (set in the config), or drop and count it. */
static void enqueue(struct equeue *q, enum alerts_notifier n, const char *target,
                    const struct event *e)
{
    if (target[0] == '\0')
        return;
    if (equeue_push(q, e)) {
        hist_set(e->seq, n, "queued");
    } else {
        count(&A.dropped);
        hist_set(e->seq, n, "dropped: queue full");
    }
}

static void deliver(const struct event *e)
{
    enqueue(&A.exec_q, ALERTS_EXEC, A.cfg->alerts.exec, e);
    enqueue(&A.hook_q, ALERTS_WEBHOOK, A.cfg->alerts.webhook, e);
    if (e->coalesced > 0)
        hist_set(e->seq, -1, "delivered for %u held", e->coalesced);
}

static void take_event(struct event *e)
{
    count(&A.events);
    const struct config_alerts *ac = &A.cfg->alerts;
    if (ac->event_severity[e->type] >= 0)
        e->severity = (enum event_severity)ac->event_severity[e->type];
    if (ac->disabled_mask & (1ull << e->type)) {
        hist_add(e, "disabled");
        return;
    }
    if ((int)e->severity < ac->min_severity) {
        hist_add(e, "below min_severity");
        return;
    }
    int repeat_ms =
        ac->event_repeat_ms[e->type] >= 0 ? ac->event_repeat_ms[e->type] : ac->repeat_ms;
    if (e->type != EVENT_TEST_ALERT &&
        !coalesce_offer(&A.co, e, (uint64_t)hy_mono_ms(), (uint64_t)repeat_ms)) {
        count(&A.coalesced);
        hist_add(e, "held (repeat_ms)");
        return;
    }
    hist_add(e, "");
    deliver(e);
}

static void take_new_config(void)
{
    pthread_mutex_lock(&A.mu);
    struct config *fresh = A.cfg_new;
    A.cfg_new = NULL;
    pthread_mutex_unlock(&A.mu);
    if (fresh == NULL)
        return;
    config_put(A.cfg);
    A.cfg = fresh;
    snprintf(A.instance, sizeof(A.instance), "%s", fresh->instance_name);
    /* A notifier the reload removed: what waited for it is not delivered. */
    struct event e;
    while (fresh->alerts.exec[0] == '\0' && equeue_pop(&A.exec_q, &e))
        hist_set(e.seq, ALERTS_EXEC, "dropped: alerts.exec removed by a reload");
    while (fresh->alerts.webhook[0] == '\0' && equeue_pop(&A.hook_q, &e))
        hist_set(e.seq, ALERTS_WEBHOOK, "dropped: alerts.webhook removed by a reload");
}

static void *alerts_main(void *arg)
{
    (void)arg;
    struct curl_waitfd wfd = {.fd = events_wake_fd(), .events = CURL_WAIT_POLLIN};
    uint64_t stop_deadline = 0;
    for (;;) {
        take_new_config();
        uint64_t buf;
        ssize_t r HY_UNUSED = read(wfd.fd, &buf, sizeof(buf));
        struct event e;
        while (events_next(&e))
            take_event(&e);
        uint64_t now = (uint64_t)hy_mono_ms();
        while (coalesce_due(&A.co, now, &e))
            deliver(&e); /* its record, "held", says now what it was delivered for */
        exec_progress();
        hook_progress();

        pthread_mutex_lock(&A.mu);
        bool stop = A.stop;
        pthread_mutex_unlock(&A.mu);
        A.stopping = stop;
        if (stop) {
            if (stop_deadline == 0)
                stop_deadline = now + 2000;
            if ((running_children() == 0 && A.exec_q.n == 0 && hooks_idle()) ||
                now >= stop_deadline)
                break;
        }
        /* Wait for an event, a transfer's socket, or the next thing due. */
        uint64_t next = coalesce_next_ms(&A.co);
        for (size_t i = 0; i < ALERTS_WEBHOOK_PARALLEL; i++) {
            if (A.hooks[i].busy && A.hooks[i].next_ms != 0 && A.hooks[i].next_ms < next)
                next = A.hooks[i].next_ms;
        }
        int wait = 1000;
        if (next != UINT64_MAX)
            wait = next <= now ? 0 : (int)HY_MIN(next - now, 1000u);
        if (running_children() > 0 || stop)
            wait = HY_MIN(wait, 20); /* reaping and timeouts */
        curl_multi_poll(A.multi, &wfd, 1, wait, NULL);
    }
    for (size_t i = 0; i < A.n_children; i++) {
        if (A.children[i].pid != 0) {
            spawn_kill(A.children[i].pid);
            waitpid(A.children[i].pid, NULL, 0);
        }
    }
    for (size_t i = 0; i < ALERTS_WEBHOOK_PARALLEL; i++) {
        if (A.hooks[i].busy)
            hook_release(&A.hooks[i]);
    }
    return NULL;
}

hy_status_t alerts_start(struct config *cfg, char *err, size_t errlen)
{
    size_t q = (size_t)cfg->alerts.queue_size;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "alerts: libcurl initialisation failed");
        return HY_ERROR;
    }
    A.multi = curl_multi_init();
    A.n_children = 256; /* exec_max_running's bound: a reload may raise it */
    A.children = calloc(A.n_children, sizeof(*A.children));
    if (A.multi == NULL || A.children == NULL ||
        coalesce_init(&A.co, ALERTS_COALESCE_SLOTS) != HY_OK ||
        equeue_init(&A.exec_q, q) != HY_OK || equeue_init(&A.hook_q, q) != HY_OK) {
        snprintf(err, errlen, "alerts: out of memory");
        return HY_NOMEM;
    }
    A.cfg = config_get(cfg);
    snprintf(A.instance, sizeof(A.instance), "%s", cfg->instance_name);
    /* The thread takes no signals: they are the main loop's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&A.thread, NULL, alerts_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "alerts: cannot start the notifier thread: %s", strerror(rc));
        return HY_ERROR;
    }
    A.running = true;
    return HY_OK;
}

void alerts_set_config(struct config *cfg)
{
    if (!A.running)
        return;
    pthread_mutex_lock(&A.mu);
    config_put(A.cfg_new);
    A.cfg_new = config_get(cfg);
    pthread_mutex_unlock(&A.mu);
    uint64_t one = 1;
    ssize_t w HY_UNUSED = write(events_wake_fd(), &one, sizeof(one));
}

void alerts_stop(void)
{
    if (!A.running)
        return;
    pthread_mutex_lock(&A.mu);
    A.stop = true;
    pthread_mutex_unlock(&A.mu);
    uint64_t one = 1;
    ssize_t w HY_UNUSED = write(events_wake_fd(), &one, sizeof(one));
    pthread_join(A.thread, NULL);
    A.running = false;
    config_put(A.cfg);
    config_put(A.cfg_new);
    A.cfg = A.cfg_new = NULL;
    curl_multi_cleanup(A.multi);
    A.multi = NULL;
    curl_global_cleanup();
    coalesce_free(&A.co);
    free(A.exec_q.v);
    free(A.hook_q.v);
    free(A.children);
}
