/*
 * admin.c: the admin socket. See admin.h for the protocol, admin_cmd.c for
 * the commands.
 *
 * Design
 * ------
 * Everything here runs in the main thread's event loop except the three
 * worker_call functions (collect_sessions, collect_digests, kill_session),
 * which run in a worker's thread and touch only that worker's sessions or
 * digest table and their own part of the job.
 *
 * A connection reads into a fixed line buffer and answers one command at a
 * time: while an answer is being gathered from the workers or written, its
 * read watcher is stopped, so the kernel's socket buffer is the only queue
 * and a client that never reads holds one answer at most.
 *
 * A command's handler (admin_verbs[], admin_cmd.c) writes its answer, or
 * says how the answer comes: from the workers (a job, below), from the
 * failover thread (fo_start), or once a drained backend is idle
 * (drain_wait).
 *
 * A job (show sessions, show digests, kill session) has one part per
 * worker. Each part is handed to its worker with worker_call(); when the
 * worker has filled it, it sets `finished` and wakes the main loop through
 * `parts_async`. The job is answered when every part is finished or its
 * timer fires, and freed only when every part is finished (a worker may
 * still hold a part after a timeout), or at admin_destroy(), after the
 * workers have been joined.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "halyard/protocol/tls.h"
#include "halyard/admin/admin.h"
#include "halyard/cluster/backend.h"
#include "halyard/core/audit.h"
#include "halyard/config/config.h"
#include "halyard/cluster/failover_exec.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/cluster/pool_stats.h"
#include "halyard/session/session.h"
#include "halyard/core/takeover.h"
#include "halyard/cluster/users.h"
#include "halyard/session/worker.h"

#include "admin_int.h"

/* ---- the socket -------------------------------------------------------- */

struct admin_conn;

struct admin {
    struct status *st;
    struct ev_loop *loop;
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t dev; /* of the socket file we created, to remove only ours */
    ino_t ino;
    ev_io accept_io;
    ev_async parts_async; /* a worker finished a part */
    struct admin_conn *conns;
    int n_conns;
    struct admin_job *jobs; /* gathering, or answered and waiting for late parts */
    ev_async fo_async;      /* the failover thread finished a request */
    struct admin_fo *fo;    /* the switchover or failover under way, NULL = none */
    struct admin_sql *sql;  /* the SQL admin port (admin_sql.c), NULL = none */
};

struct admin_conn {
    struct admin_conn *next, *prev;
    struct admin *a;
    int fd;
    ev_io rio, wio;
    ev_timer idle;
    char who[160]; /* "uid=0 pid=123" on the socket; the SQL port's account and address */
    /* An inner connection (admin_sql.c): no socket; each answer goes to
     * `answer` instead, its lines given by admin_conn_submit. */
    admin_answer_fn answer;
    void *answer_arg;
    char in[ADMIN_LINE_MAX];
    size_t in_len;
    struct textbuf out;
    size_t out_off;
    struct admin_job *job; /* the answer being gathered */
    bool fo_wait;          /* waiting for the failover thread (a->fo) */
    /* `backend NAME drain`: waiting until the server is idle (drain_tick) */
    struct backend_rt *drain_rt;
    double drain_since;
    bool drain_json;
    ev_timer drain_t;
    bool eof;            /* the client has shut down its side */
    char audit_cmd[128]; /* the command whose answer goes to the audit log, "" = none */
    bool close_after;    /* close once `out` is written */
};

struct admin_part {
    struct worker_call call;
    struct admin_job *job;
    int worker;
    atomic_bool finished;
    /* filled in the worker thread */
    struct admin_session_row *rows;
    size_t n_rows;
    struct admin_pool_row *pools; /* show pools */
    size_t n_pools, cap_pools;
    bool found;                     /* kill: the session was this worker's */
    struct digest_snapshot digests; /* show digests */
    struct takeover_sock *socks;    /* takeover: duplicates of the worker's listening sockets */
    size_t n_socks;
    bool nomem; /* the worker could not copy its part */
};

struct admin_job {
    struct admin_job *next;
    struct admin *a;
    struct admin_conn *conn; /* NULL once the connection is gone */
    struct admin_cmd cmd;
    char line[128]; /* for the audit line */
    bool answered;
    ev_timer timer;
    int n_parts;
    struct admin_part parts[];
};

static void aconn_close(struct admin_conn *c);

/* ---- worker side: these three run in the worker's thread ---- */

/* What `show sessions` says about one session (session_describe). */
static void describe_session(const struct session *s, int worker, struct admin_session_row *r)
{
    struct session_row sr;
    session_describe(s, &sr);
    memset(r, 0, sizeof(*r));
    r->id = sr.id;
    r->worker = worker;
    memcpy(r->user, sr.user, sizeof(r->user));
    memcpy(r->client, sr.client, sizeof(r->client));
    memcpy(r->via, sr.via, sizeof(r->via));
    memcpy(r->schema, sr.schema, sizeof(r->schema));
    memcpy(r->backend, sr.backend, sizeof(r->backend));
    r->thread = sr.thread;
    r->state = sr.state;
    r->command = sr.command;
    r->command_age_ms = sr.command_age_ms;
    r->statements = sr.statements;
    memcpy(r->holds, sr.holds, sizeof(r->holds));
    memcpy(r->statement, sr.statement, sizeof(r->statement));
}

static void collect_sessions(struct worker *w, struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    size_t n = 0;
    for (struct session *s = w->sessions; s != NULL; s = s->next)
        n++;
    p->rows = n > 0 ? calloc(n, sizeof(*p->rows)) : NULL;
    if (p->rows == NULL)
        return;
    for (struct session *s = w->sessions; s != NULL; s = s->next)
        describe_session(s, w->id, &p->rows[p->n_rows++]);
}

/* show pools: one row per backend and user, the workers' merged later. */
static struct admin_pool_row *pool_row(struct admin_part *p, const char *backend, const char *user)
{
    for (size_t i = 0; i < p->n_pools; i++) {
        if (strcmp(p->pools[i].backend, backend) == 0 && strcmp(p->pools[i].user, user) == 0)
            return &p->pools[i];
    }
    if (p->n_pools == p->cap_pools) {
        size_t cap = p->cap_pools ? 2 * p->cap_pools : 8;
        struct admin_pool_row *v = realloc(p->pools, cap * sizeof(*v));
        if (v == NULL) {
            p->nomem = true;
            return NULL;
        }
        p->pools = v;
        p->cap_pools = cap;
    }
    struct admin_pool_row *r = &p->pools[p->n_pools++];
    memset(r, 0, sizeof(*r));
    snprintf(r->backend, sizeof(r->backend), "%s", backend);
    snprintf(r->user, sizeof(r->user), "%s", user);
    return r;
}

static void pool_idle_row(void *arg, const char *backend, const char *user, uint32_t idle)
{
    struct admin_pool_row *r = pool_row(arg, backend, user);
    if (r != NULL)
        r->idle += idle;
}

static void collect_pools(struct worker *w, struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    pool_each(&w->conns, pool_idle_row, p);
    for (struct session *s = w->sessions; s != NULL; s = s->next) {
        for (uint32_t i = 0; i < s->conns.n_bc; i++) {
            struct admin_pool_row *r;
            if (s->conns.bc[i] != NULL &&
                (r = pool_row(p, s->conns.bc[i]->be->name,
                              s->who.user != NULL ? s->who.user : "")) != NULL)
                r->in_use++;
        }
    }
}

static void collect_digests(struct worker *w, struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    p->nomem = digest_snapshot(w->digests, &p->digests) != HY_OK;
}

static void kill_session(struct worker *w, struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    for (struct session *s = w->sessions; s != NULL; s = s->next) {
        if (s->id == p->job->cmd.session_id) {
            p->found = true;
            /* Called from the worker's wakeup, not from a session handler:
             * closing at once is allowed (worker.h). */
            session_close(s, END_KILLED);
            return;
        }
    }
}

/* takeover: duplicate every listening socket of the worker (the copies
 * are sent to the new halyard, then closed here). */
static void collect_listeners(struct worker *w, struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    p->socks = calloc(w->n_ls + 1, sizeof(*p->socks));
    if (p->socks == NULL) {
        p->nomem = true;
        return;
    }
    for (size_t i = 0; i < w->n_ls; i++) {
        const struct listener_sock *l = &w->ls[i];
        if (l->fd < 0)
            continue;
        struct takeover_sock *t = &p->socks[p->n_socks];
        if ((t->fd = fcntl(l->fd, F_DUPFD_CLOEXEC, 3)) < 0) {
            p->nomem = true;
            return;
        }
        snprintf(t->name, sizeof(t->name), "%s", l->cfg->name);
        snprintf(t->address, sizeof(t->address), "%s", l->cfg->address);
        t->port = l->cfg->port;
        p->n_socks++;
    }
}

static void part_done(struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    struct admin *a = p->job->a; /* read before `finished`: then the part is no longer ours */
    atomic_store_explicit(&p->finished, true, memory_order_release);
    ev_async_send(a->loop, &a->parts_async);
}

/* ---- main thread: jobs ---- */

static bool part_finished(struct admin_part *p)
{
    return atomic_load_explicit(&p->finished, memory_order_acquire);
}

static void job_free(struct admin_job *j)
{
    for (int i = 0; i < j->n_parts; i++) {
        free(j->parts[i].rows);
        free(j->parts[i].pools);
        digest_snapshot_free(&j->parts[i].digests);
        for (size_t k = 0; k < j->parts[i].n_socks; k++)
            close(j->parts[i].socks[k].fd);
        free(j->parts[i].socks);
    }
    free(j);
}

static int row_cmp(const void *x, const void *y)
{
    const struct admin_session_row *a = x, *b = y;
    return a->id < b->id ? -1 : a->id > b->id;
}

static bool aconn_send_answer(struct admin_conn *c);
static void aconn_process(struct admin_conn *c);
static void drain_wait(struct admin_conn *c, struct backend_rt *rt, bool json);

static int pool_row_cmp(const void *x, const void *y)
{
    const struct admin_pool_row *a = x, *b = y;
    int c = strcmp(a->backend, b->backend);
    return c != 0 ? c : strcmp(a->user, b->user);
}

/* show pools: the workers' rows summed per backend and user. */
static void answer_pools(struct admin_job *j, struct textbuf *out, const int *missing,
                         size_t n_missing)
{
    struct admin_part all = {0};
    /* what the pools did, per backend and user (pool_stats.h) */
    size_t n_figs;
    struct pool_user_figures *figs = pool_stats_snapshot(j->a->st->cfg, &n_figs);
    for (size_t k = 0; k < n_figs; k++) {
        const struct pool_user_figures *f = &figs[k];
        struct admin_pool_row *r = pool_row(&all, f->backend, f->user);
        if (r == NULL)
            break;
        r->waiting = f->waiting;
        r->waits = f->waits;
        r->wait_p50_ms = backend_hist_quantile(f->wait_lat, 0.50) / 1000.0;
        r->wait_p99_ms = backend_hist_quantile(f->wait_lat, 0.99) / 1000.0;
        r->restores = f->restores;
        r->resets = f->resets;
        r->opened = f->opened;
        r->closed = f->closed;
    }
    free(figs);
    for (int i = 0; i < j->n_parts; i++) {
        const struct admin_part *p = &j->parts[i];
        if (!part_finished(&j->parts[i]))
            continue;
        all.nomem |= p->nomem;
        for (size_t k = 0; k < p->n_pools; k++) {
            struct admin_pool_row *r = pool_row(&all, p->pools[k].backend, p->pools[k].user);
            if (r != NULL) {
                r->in_use += p->pools[k].in_use;
                r->idle += p->pools[k].idle;
            }
        }
    }
    if (all.nomem) {
        textbuf_puts(out, "ERR out of memory\n");
    } else {
        if (all.n_pools > 1)
            qsort(all.pools, all.n_pools, sizeof(*all.pools), pool_row_cmp);
        static const struct admin_pool_row zero;
        bool proto = json_prototype(&j->cmd, all.n_pools);
        size_t at = out->len;
        admin_render_pools(out, proto ? &zero : all.pools, proto ? 1 : all.n_pools, missing,
                           n_missing, j->cmd.json);
        if (proto)
            json_prototype_mark(out, at);
    }
    free(all.pools);
}

/* show digests: merge the workers' copies, keep the top N. */
static void answer_digests(struct admin_job *j, struct textbuf *out, const int *missing,
                           size_t n_missing)
{
    struct admin_digest_summary sum = {0};
    size_t n = 0;
    for (int i = 0; i < j->n_parts; i++) {
        const struct admin_part *p = &j->parts[i];
        if (!part_finished(&j->parts[i]))
            continue;
        if (p->nomem) {
            textbuf_puts(out, "ERR out of memory\n");
            return;
        }
        n += p->digests.n;
        sum.evictions += p->digests.evictions;
        sum.capacity += p->digests.capacity;
    }
    struct digest_row *rows = malloc((n ? n : 1) * sizeof(*rows));
    if (rows == NULL) {
        textbuf_puts(out, "ERR out of memory\n");
        return;
    }
    size_t k = 0;
    for (int i = 0; i < j->n_parts; i++) {
        const struct admin_part *p = &j->parts[i];
        if (!part_finished(&j->parts[i]) || p->digests.n == 0)
            continue;
        memcpy(rows + k, p->digests.rows, p->digests.n * sizeof(*rows));
        k += p->digests.n;
    }
    sum.distinct = digest_merge(rows, k);
    size_t shown = HY_MIN(sum.distinct, (size_t)j->cmd.top), at = out->len;
    bool proto = json_prototype(&j->cmd, shown);
    if (proto)
        memset(rows, 0, sizeof(*rows));
    admin_render_digests(out, rows, proto ? 1 : shown, &sum, missing, n_missing, j->cmd.json);
    if (proto)
        json_prototype_mark(out, at);
    free(rows);
}

/* takeover: every worker's sockets, or none. The answer and the
 * descriptors go out at once (takeover_send, bounded by its timeout); the
 * copies are closed when the job is freed. */
static void answer_takeover(struct admin_job *j, struct admin_conn *c, size_t n_missing)
{
    const char *who = c->who;
    char err[256];
    c->audit_cmd[0] = '\0';
    size_t n = 0;
    bool nomem = false;
    for (int i = 0; i < j->n_parts; i++) {
        n += j->parts[i].n_socks;
        nomem |= j->parts[i].nomem;
    }
    struct takeover_sock *all = n_missing == 0 && !nomem ? calloc(n + 1, sizeof(*all)) : NULL;
    if (all == NULL) {
        textbuf_printf(&c->out, "ERR takeover: %s\n",
                       n_missing > 0 ? "a worker did not answer" : "out of memory");
        audit_admin(who, "takeover", "ERR");
        if (aconn_send_answer(c))
            aconn_process(c);
        return;
    }
    size_t k = 0;
    for (int i = 0; i < j->n_parts; i++) {
        memcpy(all + k, j->parts[i].socks, j->parts[i].n_socks * sizeof(*all));
        k += j->parts[i].n_socks;
    }
    hy_status_t rc = takeover_send(c->fd, all, n, err, sizeof(err));
    free(all);
    if (rc != HY_OK) {
        hy_log_error("admin %s: %s", c->who, err);
        audit_admin(who, "takeover", err);
        aconn_close(c);
        return;
    }
    hy_log_info("admin %s: takeover: handed %zu listening sockets over", c->who, n);
    audit_admin(who, "takeover", "OK");
    aconn_process(c);
}

/* Render the job's answer from the parts that are in. */
static void job_answer(struct admin_job *j)
{
    struct admin *a = j->a;
    ev_timer_stop(a->loop, &j->timer);
    j->answered = true;
    struct admin_conn *c = j->conn;
    j->conn = NULL;
    if (c == NULL)
        return;
    c->job = NULL;

    int missing[256];
    size_t n_missing = 0, n_rows = 0;
    for (int i = 0; i < j->n_parts; i++) {
        if (!part_finished(&j->parts[i])) {
            if (n_missing < HY_ARRAY_SIZE(missing))
                missing[n_missing++] = j->parts[i].worker;
        } else {
            n_rows += j->parts[i].n_rows;
        }
    }

    if (j->cmd.verb == ADMIN_TAKEOVER) {
        answer_takeover(j, c, n_missing);
        return;
    }
    if (j->cmd.verb == ADMIN_KILL_SESSION) {
        bool found = false;
        for (int i = 0; i < j->n_parts; i++)
            found |= part_finished(&j->parts[i]) && j->parts[i].found;
        if (found && j->cmd.json)
            textbuf_printf(&c->out,
                           "{\"ok\":true,\"message\":\"session %" PRIu32
                           " killed\",\"session\":%" PRIu32 "}\n",
                           j->cmd.session_id, j->cmd.session_id);
        else if (found)
            textbuf_printf(&c->out, "OK session %" PRIu32 " killed\n", j->cmd.session_id);
        else if (n_missing > 0)
            textbuf_printf(&c->out,
                           "ERR session %" PRIu32 " not found; worker %d did not answer within "
                           "%.1f s\n",
                           j->cmd.session_id, missing[0], ADMIN_GATHER_TIMEOUT);
        else
            textbuf_printf(&c->out, "ERR no session %" PRIu32 "\n", j->cmd.session_id);
        log_audit("admin %s: %s: %s", c->who, j->line, found ? "killed" : "not found");
    } else if (j->cmd.verb == ADMIN_SHOW_DIGESTS) {
        answer_digests(j, &c->out, missing, n_missing);
    } else if (j->cmd.verb == ADMIN_SHOW_POOLS) {
        answer_pools(j, &c->out, missing, n_missing);
    } else {
        struct admin_session_row *rows = calloc(n_rows ? n_rows : 1, sizeof(*rows));
        if (rows == NULL) {
            textbuf_puts(&c->out, "ERR out of memory\n");
        } else {
            size_t k = 0;
            for (int i = 0; i < j->n_parts; i++) {
                if (!part_finished(&j->parts[i]) || j->parts[i].n_rows == 0)
                    continue;
                memcpy(rows + k, j->parts[i].rows, j->parts[i].n_rows * sizeof(*rows));
                k += j->parts[i].n_rows;
            }
            qsort(rows, k, sizeof(*rows), row_cmp);
            bool proto = json_prototype(&j->cmd, k); /* rows[0] is calloc's zeroes */
            size_t at = c->out.len;
            admin_render_sessions(&c->out, rows, proto ? 1 : k, missing, n_missing, j->cmd.json);
            if (proto)
                json_prototype_mark(&c->out, at);
            free(rows);
        }
    }
    if (aconn_send_answer(c))
        aconn_process(c);
}

/* Answer the jobs whose parts are all in and free them; a job answered on
 * its timer stays until its late parts are in. Answering may start a new
 * job (the connection's next command), so the list is scanned again after
 * each one. */
static void jobs_check(struct admin *a)
{
    for (;;) {
        struct admin_job **pp = &a->jobs, *j = NULL;
        for (; *pp != NULL; pp = &(*pp)->next) {
            bool all = true;
            for (int i = 0; i < (*pp)->n_parts && all; i++)
                all = part_finished(&(*pp)->parts[i]);
            if (all) {
                j = *pp;
                *pp = j->next;
                break;
            }
        }
        if (j == NULL)
            return;
        if (!j->answered)
            job_answer(j);
        job_free(j);
    }
}

static void parts_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    jobs_check(container_of(w, struct admin, parts_async));
}

static void job_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin_job *j = container_of(w, struct admin_job, timer);
    if (!j->answered)
        job_answer(j);
}

static void job_start(struct admin_conn *c, const struct admin_cmd *cmd, const char *line)
{
    struct admin *a = c->a;
    int n = a->st->n_workers;
    struct admin_job *j = calloc(1, sizeof(*j) + (size_t)n * sizeof(j->parts[0]));
    if (j == NULL) {
        textbuf_puts(&c->out, "ERR out of memory\n");
        if (aconn_send_answer(c))
            aconn_process(c);
        return;
    }
    j->a = a;
    j->conn = c;
    j->cmd = *cmd;
    snprintf(j->line, sizeof(j->line), "%s", line);
    j->n_parts = n;
    c->job = j;
    j->next = a->jobs;
    a->jobs = j;
    ev_timer_init(&j->timer, job_timer_cb, ADMIN_GATHER_TIMEOUT, 0.);
    ev_timer_start(a->loop, &j->timer);
    for (int i = 0; i < n; i++) {
        struct admin_part *p = &j->parts[i];
        p->job = j;
        p->worker = i;
        atomic_init(&p->finished, false);
        switch (cmd->verb) {
        case ADMIN_KILL_SESSION:
            p->call.fn = kill_session;
            break;
        case ADMIN_SHOW_DIGESTS:
            p->call.fn = collect_digests;
            break;
        case ADMIN_SHOW_POOLS:
            p->call.fn = collect_pools;
            break;
        case ADMIN_TAKEOVER:
            p->call.fn = collect_listeners;
            break;
        default:
            p->call.fn = collect_sessions;
            break;
        }
        p->call.done = part_done;
        struct worker *w = &a->st->workers[i];
        if (atomic_load(&w->done)) {
            /* Stopped: it has no sessions and will run nothing. */
            atomic_store(&p->finished, true);
            continue;
        }
        worker_call(w, &p->call);
    }
    /* Every worker may have stopped already: check from the loop, not from
     * inside this command's handling. */
    ev_async_send(a->loop, &a->parts_async);
}

/* ---- main thread: switchover and failover ---- */

/* A request the failover thread runs (failover_exec.h). It answers from
 * its own thread through `done`, which hands the text over and wakes the
 * main loop; the connection may be gone by then. */
struct admin_fo {
    struct admin *a;
    struct admin_conn *conn; /* NULL once the connection is gone */
    struct admin_cmd cmd;
    atomic_bool finished;
    bool ok;
    char *text; /* the steps, one a line */
};

static void fo_done(void *arg, bool ok, const char *text)
{
    struct admin_fo *fo = arg;
    struct admin *a = fo->a;
    fo->ok = ok;
    fo->text = strdup(text != NULL ? text : "");
    atomic_store_explicit(&fo->finished, true, memory_order_release);
    ev_async_send(a->loop, &a->fo_async);
}

/* The step that says why it failed: the last line at ERROR or refused, else the last line. */
static void fo_reason(const char *text, char *out, size_t len)
{
    const char *best = NULL, *last = NULL;
    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (n > 0)
            last = p;
        if (n > 0 && (memmem(p, n, "failed", 6) != NULL || memmem(p, n, "refused", 7) != NULL ||
                      memmem(p, n, "did not", 7) != NULL || memmem(p, n, "lock", 4) != NULL))
            best = p;
        p = nl != NULL ? nl + 1 : NULL;
    }
    const char *p = best != NULL ? best : last;
    if (p == NULL) {
        snprintf(out, len, "no step ran");
        return;
    }
    const char *nl = strchr(p, '\n');
    const char *body = p;
    if (*body == '[') { /* drop the "[+N ms] " prefix */
        const char *e = strstr(body, "] ");
        if (e != NULL && (nl == NULL || e < nl))
            body = e + 2;
    }
    snprintf(out, len, "%.*s", (int)(nl != NULL ? nl - body : (ptrdiff_t)strlen(body)), body);
}

static void fo_answer(struct admin_fo *fo)
{
    struct admin_conn *c = fo->conn;
    if (c == NULL)
        return;
    c->fo_wait = false;
    const char *what = fo->cmd.verb == ADMIN_SWITCHOVER ? "switchover" : "failover";
    const char *text = fo->text != NULL ? fo->text : "";
    if (!fo->ok) {
        char why[512];
        fo_reason(text, why, sizeof(why));
        textbuf_printf(&c->out, "ERR %s failed: ", what);
        textbuf_cell(&c->out, why);
        textbuf_putc(&c->out, '\n');
    } else if (fo->cmd.json) {
        textbuf_printf(&c->out,
                       "{\"ok\":true,\"message\":\"%s done\",\"result\":\"ok\",\"command\":"
                       "\"%s\",\"steps\":[",
                       what, what);
        bool first = true;
        for (const char *p = text; *p != '\0';) {
            const char *nl = strchr(p, '\n');
            size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
            char line[1100];
            snprintf(line, sizeof(line), "%.*s", (int)HY_MIN(n, sizeof(line) - 1), p);
            if (!first)
                textbuf_putc(&c->out, ',');
            textbuf_json_str(&c->out, line);
            first = false;
            p = nl != NULL ? nl + 1 : p + n;
        }
        textbuf_puts(&c->out, "]}\n");
    } else {
        textbuf_printf(&c->out, "OK %s done\n", what);
        for (const char *p = text; *p != '\0';) {
            const char *nl = strchr(p, '\n');
            size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
            char line[1100];
            snprintf(line, sizeof(line), "%.*s", (int)HY_MIN(n, sizeof(line) - 1), p);
            textbuf_cell(&c->out, line);
            textbuf_putc(&c->out, '\n');
            p = nl != NULL ? nl + 1 : p + n;
        }
    }
    if (aconn_send_answer(c))
        aconn_process(c);
}

static void fo_free(struct admin_fo *fo)
{
    if (fo == NULL)
        return;
    free(fo->text);
    free(fo);
}

static void fo_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin *a = container_of(w, struct admin, fo_async);
    struct admin_fo *fo = a->fo;
    if (fo == NULL || !atomic_load_explicit(&fo->finished, memory_order_acquire))
        return;
    a->fo = NULL;
    fo_answer(fo);
    fo_free(fo);
}

static void fo_start(struct admin_conn *c, const struct admin_cmd *cmd)
{
    struct admin *a = c->a;
    char err[256];
    struct admin_fo *fo = calloc(1, sizeof(*fo));
    if (fo == NULL) {
        textbuf_puts(&c->out, "ERR out of memory\n");
    } else if (a->fo != NULL) {
        textbuf_puts(&c->out, "ERR a switchover or failover is already under way\n");
        free(fo);
    } else {
        fo->a = a;
        fo->conn = c;
        fo->cmd = *cmd;
        atomic_init(&fo->finished, false);
        enum failover_request kind =
            cmd->verb == ADMIN_SWITCHOVER ? FAILOVER_REQ_SWITCHOVER : FAILOVER_REQ_FAILOVER;
        if (failover_exec_request(kind, cmd->target, fo_done, fo, err, sizeof(err)) != HY_OK) {
            textbuf_printf(&c->out, "ERR %s\n", err);
            free(fo);
        } else {
            a->fo = fo;
            c->fo_wait = true;
            return;
        }
    }
    if (aconn_send_answer(c))
        aconn_process(c);
}

/* ---- main thread: commands ---- */

static bool aconn_send_answer(struct admin_conn *c);

/* Answer one command line by its row of admin_verbs[] (admin_cmd.c). false
 * when the connection was closed. */
static bool run_command(struct admin_conn *c, const char *line, size_t len)
{
    struct admin_cmd cmd;
    char err[512], shown[128];
    quote_line(shown, sizeof(shown), line, len);
    hy_status_t rc = admin_parse(line, len, &cmd, err, sizeof(err));
    if (rc == HY_AGAIN)
        return true;
    /* Commands that change something (and refused ones) go to the audit log with their
     * answer's first line; `show` and `help` do not. */
    if (strncasecmp(shown, "show", 4) != 0 && strncasecmp(shown, "help", 4) != 0)
        snprintf(c->audit_cmd, sizeof(c->audit_cmd), "%s", shown);
    if (rc != HY_OK) {
        hy_log_info("admin %s: %s: refused", c->who, shown);
        textbuf_printf(&c->out, "%s\n", err);
        return aconn_send_answer(c);
    }
    const struct admin_verb_def *def = &admin_verbs[cmd.verb];
    if (!def->logs_outcome)
        hy_log_info("admin %s: %s", c->who, shown);
    struct admin_req req = {
        .st = c->a->st, .cmd = &cmd, .shown = shown, .who = c->who, .out = &c->out};
    switch (def->run(&req)) {
    case ADMIN_REPLY_NOW:
        break;
    case ADMIN_REPLY_WORKERS: /* kill session: audited when answered */
        job_start(c, &cmd, shown);
        return true;
    case ADMIN_REPLY_FAILOVER: /* answered when the failover thread is done */
        fo_start(c, &cmd);
        return true;
    case ADMIN_REPLY_DRAIN: /* answered once the server is idle */
        drain_wait(c, req.drain_rt, cmd.json);
        return true;
    }
    return aconn_send_answer(c);
}

/* ---- main thread: connections ---- */

/* Close a socket whose peer may have sent more than we read. Closing a Unix
 * socket with unread input resets the peer, which may then lose the answer
 * still waiting in its receive queue: read what is there first (bounded). */
static void close_drained(int fd)
{
    char sink[4096];
    for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        ;
    close(fd);
}

static void aconn_close(struct admin_conn *c)
{
    struct admin *a = c->a;
    if (c->job != NULL)
        c->job->conn = NULL; /* the job finishes without us */
    if (c->fo_wait && a->fo != NULL)
        a->fo->conn = NULL; /* the switchover goes on without us */
    ev_timer_stop(a->loop, &c->drain_t);
    ev_io_stop(a->loop, &c->rio);
    ev_io_stop(a->loop, &c->wio);
    ev_timer_stop(a->loop, &c->idle);
    textbuf_free(&c->out);
    if (c->answer != NULL) { /* inner: not in the list */
        free(c);
        return;
    }
    close_drained(c->fd);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    a->n_conns--;
    free(c);
}

/* `backend NAME drain`: the answer once the monitor's first check begun
 * after the drain finds no client connection running a statement or
 * holding a transaction there (backend_rt.drain_busy), or it is DOWN, or
 * ADMIN_DRAIN_WAIT has passed, or somebody set another state meanwhile. */
static void drain_answer(struct admin_conn *c, const char *how, int64_t busy)
{
    struct backend_rt *rt = c->drain_rt;
    double waited = ev_time() - c->drain_since;
    ev_timer_stop(c->a->loop, &c->drain_t);
    c->drain_rt = NULL;
    const char *state = backend_state_to_str(backend_state(rt));
    if (c->drain_json) {
        char msg[200];
        snprintf(msg, sizeof(msg), "backend %s is %s, %s (waited %.1f s)", rt->name, state, how,
                 waited);
        json_ok_begin(&c->out, msg);
        textbuf_puts(&c->out, ",\"backend\":");
        textbuf_json_str(&c->out, rt->name);
        textbuf_puts(&c->out, ",\"state\":");
        textbuf_json_str(&c->out, state);
        textbuf_printf(&c->out,
                       ",\"idle\":%s,\"busy\":", strcmp(how, "idle") == 0 ? "true" : "false");
        if (busy >= 0)
            textbuf_printf(&c->out, "%lld", (long long)busy);
        else
            textbuf_puts(&c->out, "null");
        textbuf_printf(&c->out, ",\"waited_s\":%.1f,\"result\":", waited);
        textbuf_json_str(&c->out, how);
        textbuf_puts(&c->out, "}\n");
    } else {
        textbuf_puts(&c->out, "OK backend ");
        textbuf_cell(&c->out, rt->name);
        textbuf_printf(&c->out, " is %s, %s (waited %.1f s)\n", state, how, waited);
    }
    if (aconn_send_answer(c))
        aconn_process(c);
}

static void drain_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin_conn *c = container_of(w, struct admin_conn, drain_t);
    struct backend_rt *rt = c->drain_rt;
    int64_t busy = atomic_load(&rt->drain_busy);
    bool fresh =
        atomic_load(&rt->drain_checked_us) >= (int64_t)(c->drain_since * 1e6) && busy != -1;
    char how[160];
    if (backend_state(rt) != BACKEND_DRAINING) {
        drain_answer(c, "the drain was ended meanwhile", -1);
    } else if (atomic_load(&rt->health) == BACKEND_DOWN) {
        drain_answer(c, "down: its checks fail", -1);
    } else if (fresh && busy == 0) {
        drain_answer(c, "idle", 0);
    } else if (fresh && busy == -3) {
        drain_answer(c, "not waited for: the server did not say how busy it is", -1);
    } else if (fresh && busy == -2) {
        drain_answer(c,
                     "not waited for: monitor.user lacks the PROCESS privilege to see "
                     "other accounts' connections",
                     -1);
    } else if (ev_time() - c->drain_since >= ADMIN_DRAIN_WAIT) {
        snprintf(how, sizeof(how),
                 "still busy after %.0f s: %lld connection(s) run a statement or hold a "
                 "transaction there",
                 ADMIN_DRAIN_WAIT, (long long)(fresh ? busy : -1));
        drain_answer(c, how, fresh ? busy : -1);
    }
}

static void drain_wait(struct admin_conn *c, struct backend_rt *rt, bool json)
{
    c->drain_rt = rt;
    c->drain_since = ev_time();
    c->drain_json = json;
    ev_timer_again(c->a->loop, &c->drain_t);
}

static bool aconn_busy(const struct admin_conn *c)
{
    return c->job != NULL || c->fo_wait || c->drain_rt != NULL || c->out.len > 0;
}

/* Try to write what is pending. false when the connection was closed. */
static bool aconn_flush(struct admin_conn *c)
{
    if (c->answer != NULL) {
        c->answer(c->answer_arg, c->out.data != NULL ? c->out.data : "", c->out.len);
        textbuf_reset(&c->out);
        return true;
    }
    switch (textbuf_send(&c->out, &c->out_off, c->fd)) {
    case HY_AGAIN:
        ev_io_start(c->a->loop, &c->wio);
        return true;
    case HY_OK:
        break;
    default:
        aconn_close(c);
        return false;
    }
    ev_io_stop(c->a->loop, &c->wio);
    textbuf_reset(&c->out);
    c->out_off = 0;
    if (c->close_after) {
        aconn_close(c);
        return false;
    }
    return true;
}

/* An answer is complete in `out`: close it with the empty line and start
 * sending. false when the connection was closed. */
static bool aconn_send_answer(struct admin_conn *c)
{
    if (c->out.overflow) {
        textbuf_reset(&c->out);
        textbuf_printf(&c->out, "ERR the answer is larger than %u bytes\n", ADMIN_OUT_MAX);
    }
    if (c->audit_cmd[0] != '\0') {
        const char *who = c->who;
        char result[256];
        const char *nl = c->out.data != NULL ? memchr(c->out.data, '\n', c->out.len) : NULL;
        snprintf(result, sizeof(result), "%.*s", nl != NULL ? (int)(nl - c->out.data) : 0,
                 c->out.data != NULL ? c->out.data : "");
        /* A JSON answer of a command that succeeded says so in its own terms. */
        audit_admin(who, c->audit_cmd, result[0] == '{' ? "OK" : result);
        c->audit_cmd[0] = '\0';
    }
    textbuf_putc(&c->out, '\n');
    return aconn_flush(c);
}

/* Read only when idle (no answer pending); close once the client has shut
 * down its side and nothing is left to answer. */
static void aconn_update(struct admin_conn *c)
{
    struct admin *a = c->a;
    bool busy = aconn_busy(c);
    if (c->answer != NULL)
        return; /* inner: lines come from admin_conn_submit */
    if (c->eof && !busy) {
        aconn_close(c);
        return;
    }
    if (busy || c->eof)
        ev_io_stop(a->loop, &c->rio);
    else
        ev_io_start(a->loop, &c->rio);
}

/* Answer the complete lines received, one at a time. */
static void aconn_process(struct admin_conn *c)
{
    while (!aconn_busy(c)) {
        char *nl = memchr(c->in, '\n', c->in_len);
        if (nl == NULL)
            break;
        char line[ADMIN_LINE_MAX];
        size_t len = (size_t)(nl - c->in);
        memcpy(line, c->in, len);
        c->in_len -= len + 1;
        memmove(c->in, nl + 1, c->in_len);
        if (!run_command(c, line, len))
            return;
    }
    aconn_update(c);
}

static void aconn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin_conn *c = container_of(w, struct admin_conn, rio);
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n < 0) {
        aconn_close(c);
        return;
    }
    ev_timer_again(c->a->loop, &c->idle);
    if (n == 0) {
        c->eof = true;
    } else {
        c->in_len += (size_t)n;
        if (c->in_len == sizeof(c->in) && memchr(c->in, '\n', c->in_len) == NULL) {
            hy_log_warn("admin %s: command line longer than %d bytes; closing", c->who,
                        ADMIN_LINE_MAX);
            c->in_len = 0;
            c->close_after = true;
            textbuf_printf(&c->out, "ERR command line longer than %d bytes\n", ADMIN_LINE_MAX);
            aconn_send_answer(c);
            return;
        }
    }
    aconn_process(c);
}

static void aconn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin_conn *c = container_of(w, struct admin_conn, wio);
    if (aconn_flush(c))
        aconn_process(c);
}

static void aconn_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin_conn *c = container_of(w, struct admin_conn, idle);
    if (aconn_busy(c)) {
        ev_timer_again(c->a->loop, &c->idle); /* busy: not idle */
        return;
    }
    hy_log_info("admin %s: idle for %.0f s; closing", c->who, ADMIN_IDLE_TIMEOUT);
    aconn_close(c);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct admin *a = container_of(w, struct admin, accept_io);
    for (;;) {
        int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                hy_log_warn("admin socket: accept: %s", strerror(errno));
            return;
        }
        struct ucred cred = {.pid = 0, .uid = (uid_t)-1};
        socklen_t clen = sizeof(cred);
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
        struct admin_conn *c = a->n_conns < ADMIN_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
        if (c == NULL) {
            static const char msg[] = "ERR too many admin connections\n\n";
            ssize_t n HY_UNUSED = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            hy_log_warn("admin socket: refused a connection from uid %u pid %d: %d open",
                        (unsigned)cred.uid, (int)cred.pid, a->n_conns);
            close_drained(fd);
            continue;
        }
        c->a = a;
        c->fd = fd;
        snprintf(c->who, sizeof(c->who), "uid=%u pid=%d", (unsigned)cred.uid, (int)cred.pid);
        textbuf_init(&c->out, ADMIN_OUT_MAX);
        ev_io_init(&c->rio, aconn_read_cb, fd, EV_READ);
        ev_io_init(&c->wio, aconn_write_cb, fd, EV_WRITE);
        ev_init(&c->idle, aconn_idle_cb);
        ev_init(&c->drain_t, drain_tick);
        c->drain_t.repeat = 0.1;
        c->idle.repeat = ADMIN_IDLE_TIMEOUT;
        ev_timer_again(loop, &c->idle);
        c->next = a->conns;
        if (a->conns != NULL)
            a->conns->prev = c;
        a->conns = c;
        a->n_conns++;
        ev_io_start(loop, &c->rio);
    }
}

/* Is a process serving the socket at `path`? */
static bool socket_alive(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return false;
    /* A full backlog (EAGAIN) means someone listens too. */
    bool alive = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN;
    close(fd);
    return alive;
}

/* Check what is at `path` now and remove it if it is a stale socket of
 * ours; HY_ERROR with `err` if halyard must not take the path. */
static hy_status_t clear_path(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT)
            return HY_OK;
        snprintf(err, errlen, "admin_socket %s: %s", path, strerror(errno));
        return HY_ERROR;
    }
    if (S_ISLNK(sb.st_mode)) {
        snprintf(err, errlen, "admin_socket %s is a symbolic link; refusing to use it", path);
        return HY_ERROR;
    }
    if (sb.st_uid != geteuid()) {
        snprintf(err, errlen,
                 "admin_socket %s is owned by uid %u, not by halyard's uid %u; refusing to "
                 "replace it",
                 path, (unsigned)sb.st_uid, (unsigned)geteuid());
        return HY_ERROR;
    }
    if (!S_ISSOCK(sb.st_mode)) {
        snprintf(err, errlen, "admin_socket %s exists and is not a socket; refusing to replace it",
                 path);
        return HY_ERROR;
    }
    if (socket_alive(path)) {
        snprintf(err, errlen,
                 "admin_socket %s is in use by another process (another halyard?); stop it or "
                 "choose another path",
                 path);
        return HY_ERROR;
    }
    if (unlink(path) != 0) {
        snprintf(err, errlen, "admin_socket %s: cannot remove the stale socket: %s", path,
                 strerror(errno));
        return HY_ERROR;
    }
    hy_log_info("admin socket: removed the stale socket file %s", path);
    return HY_OK;
}

/* The admin's loop work without a socket: jobs, the failover thread's
 * answers. */
static struct admin *admin_alloc(struct status *st, char *err, size_t errlen)
{
    struct admin *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->st = st;
    a->loop = st->loop;
    a->fd = -1;
    ev_async_init(&a->parts_async, parts_async_cb);
    ev_async_start(a->loop, &a->parts_async);
    ev_async_init(&a->fo_async, fo_async_cb);
    ev_async_start(a->loop, &a->fo_async);
    return a;
}

struct admin *admin_create(struct status *st, const char *path, char *err, size_t errlen)
{
    if (path[0] == '\0')
        return admin_alloc(st, err, errlen);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "admin_socket %s: longer than %zu bytes", path,
                 sizeof(sun.sun_path) - 1);
        return NULL;
    }
    if (clear_path(path, err, errlen) != HY_OK)
        return NULL;
    struct admin *a = admin_alloc(st, err, errlen);
    if (a == NULL)
        return NULL;
    snprintf(a->path, sizeof(a->path), "%s", path);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->fd < 0) {
        snprintf(err, errlen, "admin_socket %s: socket: %s", path, strerror(errno));
        admin_destroy(a);
        return NULL;
    }
    /* Created 0600 from the start: no window where others may connect. */
    mode_t old = umask(0177);
    int rc = bind(a->fd, (struct sockaddr *)&sun, sizeof(sun));
    int e = errno;
    umask(old);
    struct stat sb;
    if (rc != 0 || listen(a->fd, ADMIN_MAX_CONNS) != 0 || lstat(path, &sb) != 0) {
        if (rc == 0)
            e = errno;
        snprintf(err, errlen, "admin_socket %s: cannot listen: %s", path, strerror(e));
        if (rc == 0)
            unlink(path);
        close(a->fd);
        a->fd = -1;
        admin_destroy(a);
        return NULL;
    }
    a->dev = sb.st_dev;
    a->ino = sb.st_ino;
    ev_io_init(&a->accept_io, accept_cb, a->fd, EV_READ);
    ev_io_start(a->loop, &a->accept_io);
    hy_log_info("admin socket: %s", path);
    return a;
}

void admin_destroy(struct admin *a)
{
    if (a == NULL)
        return;
    admin_sql_destroy(a->sql);
    while (a->conns != NULL)
        aconn_close(a->conns);
    while (a->jobs != NULL) {
        struct admin_job *j = a->jobs;
        a->jobs = j->next;
        ev_timer_stop(a->loop, &j->timer);
        job_free(j);
    }
    ev_io_stop(a->loop, &a->accept_io);
    ev_async_stop(a->loop, &a->parts_async);
    ev_async_stop(a->loop, &a->fo_async);
    /* The failover thread has been stopped: a request it did not answer is ours to free. */
    fo_free(a->fo);
    if (a->fd >= 0) {
        close(a->fd);
        /* Remove the file only if it is still the one we created. */
        struct stat sb;
        if (lstat(a->path, &sb) == 0 && sb.st_dev == a->dev && sb.st_ino == a->ino)
            unlink(a->path);
    }
    free(a);
}

/* ---- inner connections (admin_sql.c) ---------------------------------- */

struct admin_conn *admin_conn_inner(struct admin *a, const char *who, admin_answer_fn answer,
                                    void *arg)
{
    struct admin_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->a = a;
    c->fd = -1;
    c->answer = answer;
    c->answer_arg = arg;
    snprintf(c->who, sizeof(c->who), "%s", who);
    textbuf_init(&c->out, ADMIN_OUT_MAX);
    ev_init(&c->idle, aconn_idle_cb);
    ev_init(&c->drain_t, drain_tick);
    c->drain_t.repeat = 0.1;
    return c;
}

hy_status_t admin_conn_submit(struct admin_conn *c, const char *line, size_t len)
{
    if (aconn_busy(c) || len + 1 > sizeof(c->in) - c->in_len || memchr(line, '\n', len) != NULL)
        return HY_ERROR;
    memcpy(c->in + c->in_len, line, len);
    c->in[c->in_len + len] = '\n';
    c->in_len += len + 1;
    aconn_process(c);
    return HY_OK;
}

void admin_conn_release(struct admin_conn *c)
{
    if (c != NULL)
        aconn_close(c);
}

struct status *admin_status(const struct admin *a)
{
    return a->st;
}

struct ev_loop *admin_loop(const struct admin *a)
{
    return a->loop;
}

struct admin_sql **admin_sql_slot(struct admin *a)
{
    return &a->sql;
}
