/*
 * failover_exec.c: the failover thread (failover_exec.h).
 *
 * Procedures are written as sequences of steps over `struct link`s, one
 * sqlclient connection per backend. A step starts a query on each link it
 * concerns (link_query), then fx_wait() runs the thread's private loop until
 * every one has answered; the answer is copied into the link (cells by row
 * and column) so the next step can read it. Nothing else runs on that loop,
 * so running it from inside a procedure is safe and keeps the code in the
 * order a DBA would type the statements.
 *
 * Every procedure opens its own links and closes them at its end; closing
 * also releases GET_LOCK('halyard_failover'), which is session-scoped.
 *
 * Shared with other threads: the request slot and the config (under
 * fx.mu) and the backends' run-time state (backend.h), which is lock-free
 * or behind its own mutex; the thread publishes that a procedure is under
 * way there (backend_set_failover_busy), for the sessions.
 */
#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "halyard/audit.h"
#include "halyard/backend.h"
#include "halyard/config.h"
#include "halyard/failover.h"
#include "halyard/events.h"
#include "halyard/failover_exec.h"
#include "halyard/gtid.h"
#include "halyard/log.h"
#include "halyard/spawn.h"
#include "halyard/sqlclient.h"
#include "halyard/status.h"
#include "halyard/tls.h"

#define REPORT_MAX 16384

struct fx;

/* One connection of the failover thread to one backend, and the last
 * answer it got. */
struct link {
    struct fx *fx;
    size_t idx; /* in cfg->backends; witness idx - n_backends after them */
    struct sqlclient *c;
    bool connected;
    bool busy; /* an operation is in flight */
    /* the last answer */
    bool ok;
    uint16_t err_code;
    char err[256];
    size_t n_rows, n_cols;
    char **cols;  /* n_cols */
    char **cells; /* n_rows * n_cols; NULL for SQL NULL */
};

struct fx {
    pthread_t thread;
    bool running;
    struct ev_loop *loop;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool notified;
    struct config *cfg_new; /* handed over by failover_exec_set_config */
    bool req_pending;
    enum failover_request req_kind;
    char req_target[128];
    failover_done_fn req_done;
    void *req_arg;

    /* the thread's own */
    struct config *cfg;
    struct link *links;      /* cfg->n_backends, then cfg->n_witnesses, during a procedure */
    size_t n_links;          /* the backends' */
    size_t n_all;            /* and the witnesses' */
    int down_idx;            /* the primary we saw unreachable; -1 = none */
    uint64_t down_since_ms;  /* since when */
    uint64_t *last_fence_ms; /* per backend: rate limits */
    uint64_t *last_rejoin_ms;
    size_t n_rate;
    char report[REPORT_MAX]; /* the steps of the procedure, for an admin request */
    size_t report_len;
    uint64_t t0_ms;       /* the procedure's start */
    uint64_t next_try_ms; /* after a failed attempt, no new one before this */
    unsigned seed;        /* for the jitter of next_try_ms */
    /* The last automatic attempt found no majority for the lock: the
     * same attempt again logs at debug level (quiet) until the count of
     * grants changes (last_got, last_voters). */
    bool no_majority;
    bool quiet;
    bool vetoed;              /* the procedure that just ran was vetoed by alerts.pre_failover */
    int cut_off_idx;          /* the primary cut_off_check() fenced; -1 = none */
    uint64_t last_cut_off_ms; /* its last look */
    size_t last_got, last_voters;
};

static struct fx FX = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
    .down_idx = -1,
    .cut_off_idx = -1,
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One line of the procedure: logged, and kept for the admin answer. */
static void step(struct fx *fx, enum log_level lvl, const char *fmt, ...) HY_PRINTF(3, 4);

static void step(struct fx *fx, enum log_level lvl, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    uint64_t t = now_ms() - fx->t0_ms;
    if (fx->quiet && lvl > LOG_LEVEL_ERROR)
        lvl = LOG_LEVEL_DEBUG;
    if (lvl <= log_level_current)
        log_write(lvl, "failover: [+%llu ms] %s", (unsigned long long)t, line);
    int n = snprintf(fx->report + fx->report_len, sizeof(fx->report) - fx->report_len,
                     "[+%llu ms] %s\n", (unsigned long long)t, line);
    if (n > 0)
        fx->report_len = HY_MIN(fx->report_len + (size_t)n, sizeof(fx->report) - 1);
}

/* The procedure that just ended, as an event (events.h) whose action is
 * its steps: one failover is one page. A fence or rejoin that did not
 * happen is no event (it is logged, audited, and tried again). */
static void procedure_event(const struct fx *fx, const struct audit_procedure *p)
{
    int t = -1;
    if (fx->vetoed)
        return; /* failover_vetoed was the event */
    if (strcmp(p->event, "failover") == 0)
        t = p->ok ? EVENT_FAILOVER_DONE : EVENT_FAILOVER_FAILED;
    else if (strcmp(p->event, "switchover") == 0)
        t = p->ok ? EVENT_SWITCHOVER_DONE : EVENT_FAILOVER_FAILED;
    else if (strcmp(p->event, "fence") == 0 && p->ok)
        t = EVENT_FENCED;
    else if (strcmp(p->event, "rejoin") == 0 && p->ok)
        t = EVENT_REJOINED;
    if (t < 0)
        return;
    char reason[EVENT_TEXT_MAX];
    snprintf(reason, sizeof(reason), "%s (%s, %s): %s", p->event, p->trigger,
             p->result != NULL ? p->result : "", p->reason != NULL ? p->reason : "");
    events_emit((enum event_type)t, p->backend, p->from, p->to, reason, fx->report);
}

/* The procedure that just ended, as one audit record: `p` says what it
 * was; its steps are the report so far, its result the last step. */
static void procedure_audit(const struct fx *fx, struct audit_procedure *p)
{
    char result[1024] = "";
    size_t end = fx->report_len;
    while (end > 0 && fx->report[end - 1] == '\n')
        end--;
    size_t start = end;
    while (start > 0 && fx->report[start - 1] != '\n')
        start--;
    const char *line = fx->report + start, *text = memchr(line, ']', end - start);
    if (text != NULL && (size_t)(text - line) + 2 <= end - start)
        line = text + 2; /* past "[+12 ms] " */
    snprintf(result, sizeof(result), "%.*s", (int)(end - (size_t)(line - fx->report)), line);
    p->result = result;
    p->steps = fx->report;
    p->steps_len = fx->report_len;
    p->duration_ms = now_ms() - fx->t0_ms;
    audit_procedure(p);
    procedure_event(fx, p);
}

/* ---- links ---------------------------------------------------------------- */

static void link_clear(struct link *l)
{
    for (size_t i = 0; i < l->n_rows * l->n_cols; i++)
        free(l->cells[i]);
    for (size_t i = 0; i < l->n_cols; i++)
        free(l->cols[i]);
    free(l->cells);
    free(l->cols);
    l->cells = NULL;
    l->cols = NULL;
    l->n_rows = l->n_cols = 0;
}

static void link_cb(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct link *l = arg;
    l->busy = false;
    link_clear(l);
    l->ok = res->ok;
    l->err_code = res->err_code;
    snprintf(l->err, sizeof(l->err), "%s", res->ok ? "" : res->err_msg);
    if (!res->ok || res->n_cols == 0)
        return;
    l->cols = calloc(res->n_cols, sizeof(char *));
    l->cells = calloc(res->n_rows * res->n_cols + 1, sizeof(char *));
    if (l->cols == NULL || l->cells == NULL) {
        free(l->cols);
        free(l->cells);
        l->cols = NULL;
        l->cells = NULL;
        l->ok = false;
        snprintf(l->err, sizeof(l->err), "out of memory");
        return;
    }
    l->n_cols = res->n_cols;
    l->n_rows = res->n_rows;
    for (size_t i = 0; i < res->n_cols; i++)
        l->cols[i] = strdup(res->col_names[i] != NULL ? res->col_names[i] : "");
    for (size_t r = 0; r < res->n_rows; r++) {
        for (size_t i = 0; i < res->n_cols; i++) {
            const char *v = res->rows[r][i];
            l->cells[r * res->n_cols + i] = v != NULL ? strdup(v) : NULL;
        }
    }
}

static void connect_cb(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct link *l = arg;
    link_cb(c, res, arg);
    l->connected = res->ok;
}

/* The cell of column `name` in row `row` of the last answer; NULL when
 * absent or SQL NULL. */
static const char *link_get(const struct link *l, size_t row, const char *name)
{
    if (row >= l->n_rows)
        return NULL;
    for (size_t i = 0; i < l->n_cols; i++) {
        if (l->cols[i] != NULL && strcasecmp(l->cols[i], name) == 0)
            return l->cells[row * l->n_cols + i];
    }
    return NULL;
}

/* Column i of row 0. */
static const char *link_cell(const struct link *l, size_t i)
{
    if (l->n_rows == 0 || i >= l->n_cols)
        return NULL;
    return l->cells[i];
}

static void link_query(struct link *l, const char *sql, int timeout_ms)
{
    if (!l->connected)
        return;
    /* The loop sleeps between procedures: its clock must be fresh before a
     * timeout is armed against it. */
    ev_now_update(l->fx->loop);
    sqlclient_set_timeout(l->c, timeout_ms);
    link_clear(l);
    if (sqlclient_query(l->c, sql, link_cb, l) != HY_OK) {
        l->ok = false;
        snprintf(l->err, sizeof(l->err), "cannot send the query");
        return;
    }
    l->busy = true;
}

/* Run the loop until no link has an operation in flight. Links that lost
 * their connection are marked so. */
static void fx_wait(struct fx *fx)
{
    for (;;) {
        bool busy = false;
        for (size_t i = 0; i < fx->n_all; i++)
            busy |= fx->links[i].busy;
        if (!busy)
            break;
        ev_run(fx->loop, EVRUN_ONCE);
    }
    for (size_t i = 0; i < fx->n_all; i++) {
        struct link *l = &fx->links[i];
        if (l->connected && !l->ok && l->err_code == 0)
            l->connected = false; /* a local failure (timeout, lost connection) */
    }
}

/* Run `sql` on one link and wait; true when it succeeded. */
static bool link_run(struct fx *fx, struct link *l, const char *sql, int timeout_ms)
{
    if (!l->connected) {
        snprintf(l->err, sizeof(l->err), "not connected");
        return false;
    }
    link_query(l, sql, timeout_ms);
    fx_wait(fx);
    return l->ok;
}

static void links_close(struct fx *fx)
{
    for (size_t i = 0; i < fx->n_all; i++) {
        link_clear(&fx->links[i]);
        sqlclient_destroy(fx->links[i].c);
    }
    free(fx->links);
    fx->links = NULL;
    fx->n_links = 0;
    fx->n_all = 0;
}

/* Open a link to every backend and witness in parallel; false when out of
 * memory. */
static bool links_open(struct fx *fx)
{
    const struct config *cfg = fx->cfg;
    size_t nb = cfg->n_backends;
    fx->links = calloc(nb + cfg->n_witnesses, sizeof(struct link));
    if (fx->links == NULL)
        return false;
    fx->n_links = nb;
    fx->n_all = nb + cfg->n_witnesses;
    ev_now_update(fx->loop);
    for (size_t i = 0; i < fx->n_all; i++) {
        struct link *l = &fx->links[i];
        l->fx = fx;
        l->idx = i < nb ? i : i - nb;
        struct sqlclient_target t = {
            .user = cfg->monitor.user,
            .password = cfg->monitor.password,
            .tls = TLS_OFF,
        };
        if (i < nb) {
            const struct config_backend *b = &cfg->backends[i];
            t.name = b->name;
            t.address = b->address;
            t.port = b->port;
            t.tls = b->tls; /* as the monitor: the data path's TLS towards this backend */
            t.tls_ctx = b->tls_ctx;
        } else {
            const struct config_witness *w = &cfg->witnesses[i - nb];
            t.name = w->name;
            t.address = w->address;
            t.port = w->port;
        }
        l->c = sqlclient_create(fx->loop, &t, cfg->connect_timeout_ms);
        if (l->c == NULL) {
            links_close(fx);
            return false;
        }
        if (sqlclient_connect(l->c, connect_cb, l) == HY_OK)
            l->busy = true;
    }
    fx_wait(fx);
    return true;
}

/* ---- reading the topology from the servers -------------------------------- */

static int backend_by_addr(const struct config *cfg, const char *host, int port)
{
    for (size_t i = 0; i < cfg->n_backends; i++) {
        if (cfg->backends[i].port == port && host != NULL &&
            strcmp(cfg->backends[i].address, host) == 0)
            return (int)i;
    }
    return -1;
}

static bool parse_pos(const char *s, struct gtid_pos *out)
{
    return gtid_pos_parse(s != NULL ? s : "", s != NULL ? strlen(s) : 0, out) == HY_OK;
}

/* What a procedure reads the servers into (cfg order), with the links it
 * reads them over. survey_end() undoes survey_begin(), whatever it returned. */
struct survey {
    struct failover_node *nodes;
    struct gtid_pos *states;
};

static bool survey_begin(struct fx *fx, struct survey *sv)
{
    size_t nb = fx->cfg->n_backends;
    sv->nodes = calloc(nb, sizeof(*sv->nodes));
    sv->states = calloc(nb, sizeof(*sv->states));
    return sv->nodes != NULL && sv->states != NULL && links_open(fx);
}

static void survey_end(struct fx *fx, struct survey *sv)
{
    links_close(fx);
    free(sv->nodes);
    free(sv->states);
}

/* Backend i's zone for the failover view: its own, halyard's when it has
 * none; NULL without zones. */
static const char *node_zone(const struct config *cfg, size_t i)
{
    if (cfg->zone == NULL || cfg->zone[0] == '\0')
        return NULL;
    const char *z = cfg->backends[i].zone;
    return z != NULL && z[0] != '\0' ? z : cfg->zone;
}

/* Ask every connected server what it is; fill nodes[] (cfg order) and, for
 * each, its @@gtid_binlog_state in states[]. */
static void probe(struct fx *fx, struct failover_node *nodes, struct gtid_pos *states)
{
    const struct config *cfg = fx->cfg;
    int t = cfg->connect_timeout_ms;
    for (size_t i = 0; i < fx->n_links; i++) {
        struct failover_node *n = &nodes[i];
        *n = (struct failover_node){.name = cfg->backends[i].name,
                                    .source = -1,
                                    .zone = node_zone(cfg, i),
                                    .promotion = cfg->backends[i].promotion};
        states[i].n = 0;
        n->maint = backend_state(cfg->backends[i].rt) == BACKEND_MAINT ||
                   backend_state(cfg->backends[i].rt) == BACKEND_DRAINING;
        link_query(&fx->links[i],
                   "SELECT @@read_only, @@gtid_current_pos, @@gtid_binlog_pos, "
                   "@@gtid_binlog_state",
                   t);
    }
    fx_wait(fx);
    for (size_t i = 0; i < fx->n_links; i++) {
        struct link *l = &fx->links[i];
        struct failover_node *n = &nodes[i];
        if (!l->connected || !l->ok || l->n_rows != 1)
            continue;
        n->reachable = true;
        const char *ro = link_cell(l, 0);
        n->read_only = ro != NULL && strcmp(ro, "0") != 0;
        n->has_gtid =
            parse_pos(link_cell(l, 1), &n->current_pos) &&
            parse_pos(link_cell(l, 2), &n->binlog_pos) &&
            gtid_state_parse(link_cell(l, 3) ? link_cell(l, 3) : "",
                             link_cell(l, 3) ? strlen(link_cell(l, 3)) : 0, &states[i]) == HY_OK;
    }
    for (size_t i = 0; i < fx->n_links; i++) {
        if (nodes[i].reachable)
            link_query(&fx->links[i], "SHOW ALL SLAVES STATUS", t);
    }
    fx_wait(fx);
    for (size_t i = 0; i < fx->n_links; i++) {
        struct link *l = &fx->links[i];
        struct failover_node *n = &nodes[i];
        if (!n->reachable)
            continue;
        if (!l->ok) {
            n->reachable = false;
            continue;
        }
        if (l->n_rows == 0)
            continue;
        /* The first connection (multi-source clusters are not ours to manage). */
        n->replicating = true;
        const char *host = link_get(l, 0, "Master_Host");
        const char *port = link_get(l, 0, "Master_Port");
        n->source = backend_by_addr(cfg, host, port != NULL ? atoi(port) : 0);
        const char *io = link_get(l, 0, "Slave_IO_Running");
        n->io_running = io != NULL && strcmp(io, "Yes") == 0;
        const char *sqlerr = link_get(l, 0, "Last_SQL_Errno");
        n->sql_error = sqlerr != NULL && strcmp(sqlerr, "0") != 0;
        if (!parse_pos(link_get(l, 0, "Gtid_IO_Pos"), &n->io_pos))
            n->has_gtid = false;
    }
    for (size_t i = 0; i < fx->n_links; i++) {
        if (nodes[i].reachable)
            link_query(&fx->links[i], "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_slave_status'", t);
    }
    fx_wait(fx);
    for (size_t i = 0; i < fx->n_links; i++) {
        const char *v = link_cell(&fx->links[i], 1);
        nodes[i].semisync_replica = nodes[i].reachable && v != NULL && strcmp(v, "ON") == 0;
    }
}

/* What the monitor last saw, without asking the servers: enough to decide
 * whether to start (the procedure then reads the servers themselves). */
static void view_from_monitor(const struct config *cfg, struct failover_node *nodes)
{
    for (size_t i = 0; i < cfg->n_backends; i++) {
        struct backend_rt *rt = cfg->backends[i].rt;
        struct failover_node *n = &nodes[i];
        *n = (struct failover_node){.name = cfg->backends[i].name,
                                    .source = -1,
                                    .zone = node_zone(cfg, i),
                                    .promotion = cfg->backends[i].promotion};
        if (rt == NULL)
            continue;
        struct backend_info info;
        backend_info_get(rt, &info);
        enum backend_state health =
            (enum backend_state)atomic_load_explicit(&rt->health, memory_order_relaxed);
        n->reachable = health != BACKEND_DOWN && info.last_check_time != 0;
        enum backend_state st = backend_state(rt);
        n->maint = st == BACKEND_MAINT || st == BACKEND_DRAINING;
        n->read_only = info.read_only;
        n->replicating = info.replicating;
        n->source = backend_by_addr(cfg, info.source_host, info.source_port);
        n->io_running = info.io_running;
        n->sql_error = info.replicating && !info.sql_running;
        n->has_gtid = parse_pos(info.gtid_current, &n->current_pos) &&
                      parse_pos(info.gtid_binlog, &n->binlog_pos);
    }
}

/* The primary halyard routes to, whatever its state; a fenced one is not. */
static int current_primary(const struct config *cfg)
{
    return backend_primary_any_index(cfg);
}

/* ---- steps ------------------------------------------------------------------ */

/* Append `s` to `out` as a quoted SQL string literal. */
static void sql_quote(char *out, size_t len, const char *s)
{
    size_t o = 0;
    if (len < 3) {
        if (len > 0)
            out[0] = '\0';
        return;
    }
    out[o++] = '\'';
    for (; *s != '\0' && o + 3 < len; s++) {
        if (*s == '\'' || *s == '\\')
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o++] = '\'';
    out[o] = '\0';
}

/* A link that answered: a backend the procedure found reachable, or a
 * witness that took the connection. */
static bool link_votes(const struct fx *fx, const struct failover_node *nodes, size_t i)
{
    return i < fx->n_links ? nodes[i].reachable : fx->links[i].connected;
}

/* GET_LOCK on every reachable backend and witness; true when enough of
 * them granted it (failover_lock_needed: with `strict`, a majority of all
 * that are configured). A refusal for want of a majority is published for
 * the sessions whose writes wait for a primary. */
static bool take_lock(struct fx *fx, const struct failover_node *nodes, bool strict)
{
    const struct config *cfg = fx->cfg;
    size_t reachable = 0, got = 0;
    for (size_t i = 0; i < fx->n_all; i++) {
        if (link_votes(fx, nodes, i)) {
            reachable++;
            link_query(&fx->links[i], "SELECT GET_LOCK('" FAILOVER_LOCK_NAME "', 0)",
                       cfg->connect_timeout_ms);
        }
    }
    fx_wait(fx);
    for (size_t i = 0; i < fx->n_all; i++) {
        const char *v =
            link_votes(fx, nodes, i) && fx->links[i].ok ? link_cell(&fx->links[i], 0) : NULL;
        if (v != NULL && strcmp(v, "1") == 0)
            got++;
    }
    size_t configured = fx->n_all;
    size_t needed = failover_lock_needed(reachable, configured, strict);
    bool ok = needed > 0 && got >= needed;
    fx->no_majority = false;
    if (ok) {
        step(fx, LOG_LEVEL_INFO, "lock %s: granted by %zu of %zu servers (%zu %s, %zu needed)",
             FAILOVER_LOCK_NAME, got, strict ? configured : reachable, reachable,
             strict ? "reachable" : "reachable: the admin's command", needed);
        return true;
    }
    if (!strict || reachable >= needed) {
        /* Enough voters answered: another halyard took the lock on some. */
        step(fx, LOG_LEVEL_WARN,
             "lock %s: granted by %zu of %zu reachable servers, %zu needed: another halyard "
             "holds it, not promoting",
             FAILOVER_LOCK_NAME, got, reachable, needed);
        return false;
    }
    fx->no_majority = true;
    if (got != fx->last_got || configured != fx->last_voters)
        fx->quiet = false; /* something changed: say it again */
    fx->last_got = got;
    fx->last_voters = configured;
    const char *zone = cfg->zone != NULL ? cfg->zone : "";
    char note[400];
    snprintf(note, sizeof(note),
             "halyard%s%s%s reaches %zu of the %zu servers that vote in the failover lock (%zu "
             "backends, %zu witnesses) and needs %zu: it may be cut off from the rest, so it "
             "promotes no replica%s",
             zone[0] ? " (zone " : "", zone, zone[0] ? ")" : "", reachable, configured,
             cfg->n_backends, cfg->n_witnesses, needed,
             configured == 2 ? "; with two backends, configure a witness" : "");
    step(fx, LOG_LEVEL_WARN, "lock %s: %s", FAILOVER_LOCK_NAME, note);
    if (!fx->quiet) /* once while nothing changes, as the log */
        events_emit(EVENT_FAILOVER_FAILED, "", "", "", note,
                    "no promotion: no majority for the lock");
    backend_set_failover_note(note);
    return false;
}

/* CHANGE MASTER on link l to replicate from backend `to`. */
static bool repoint(struct fx *fx, struct link *l, size_t to, const char *use_gtid,
                    bool with_credentials)
{
    const struct config *cfg = fx->cfg;
    const struct config_backend *b = &cfg->backends[to];
    char host[600], user[200], pw[600], sql[2048];
    sql_quote(host, sizeof(host), b->address);
    int n = snprintf(sql, sizeof(sql), "CHANGE MASTER TO MASTER_HOST = %s, MASTER_PORT = %d", host,
                     b->port);
    if (with_credentials && cfg->replication_user[0] != '\0') {
        sql_quote(user, sizeof(user), cfg->replication_user);
        sql_quote(pw, sizeof(pw), cfg->replication_password);
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", MASTER_USER = %s, MASTER_PASSWORD = %s",
                      user, pw);
        explicit_bzero(pw, sizeof(pw));
    }
    snprintf(sql + n, sizeof(sql) - (size_t)n, ", MASTER_USE_GTID = %s", use_gtid);
    int t = cfg->connect_timeout_ms;
    bool ok = link_run(fx, l, "STOP SLAVE", t) && link_run(fx, l, sql, t) &&
              link_run(fx, l, "START SLAVE", t);
    explicit_bzero(sql, sizeof(sql));
    return ok;
}

/* Point every reachable replica but `skip1`/`skip2` at `to`. */
static void repoint_others(struct fx *fx, const struct failover_node *nodes, size_t to, int skip1,
                           int skip2)
{
    for (size_t i = 0; i < fx->n_links; i++) {
        if ((int)i == skip1 || (int)i == skip2 || i == to || !nodes[i].reachable ||
            !nodes[i].replicating)
            continue;
        uint64_t t = now_ms();
        if (repoint(fx, &fx->links[i], to, "slave_pos", false))
            step(fx, LOG_LEVEL_INFO, "%s now replicates from %s (%llu ms)", nodes[i].name,
                 nodes[to].name, (unsigned long long)(now_ms() - t));
        else
            step(fx, LOG_LEVEL_ERROR, "%s: repointing to %s failed: %s", nodes[i].name,
                 nodes[to].name, fx->links[i].err);
    }
}

/* Make candidate c a primary: apply what it received, leave replication,
 * writable. */
static bool make_primary(struct fx *fx, const struct failover_node *nodes, size_t c,
                         const char *wait_pos, int wait_ms)
{
    struct link *l = &fx->links[c];
    int t = fx->cfg->connect_timeout_ms;
    uint64_t t0 = now_ms();
    if (wait_pos != NULL && wait_pos[0] != '\0') {
        char sql[GTID_STR_MAX + 128], q[GTID_STR_MAX + 8];
        sql_quote(q, sizeof(q), wait_pos);
        snprintf(sql, sizeof(sql), "SELECT MASTER_GTID_WAIT(%s, %.3f)", q, wait_ms / 1000.0);
        if (!link_run(fx, l, sql, wait_ms + t)) {
            step(fx, LOG_LEVEL_ERROR, "%s: waiting for %s failed: %s", nodes[c].name, wait_pos,
                 l->err);
            return false;
        }
        const char *v = link_cell(l, 0);
        if (v == NULL || strcmp(v, "0") != 0) {
            step(fx, LOG_LEVEL_ERROR, "%s did not reach %s within %d ms", nodes[c].name, wait_pos,
                 wait_ms);
            return false;
        }
        step(fx, LOG_LEVEL_INFO, "%s has applied %s (%llu ms)", nodes[c].name, wait_pos,
             (unsigned long long)(now_ms() - t0));
    }
    t0 = now_ms();
    if (!link_run(fx, l, "STOP ALL SLAVES", t) || !link_run(fx, l, "RESET SLAVE ALL", t) ||
        !link_run(fx, l, "SET GLOBAL read_only = 0", t)) {
        step(fx, LOG_LEVEL_ERROR, "%s: promotion failed: %s", nodes[c].name, l->err);
        return false;
    }
    step(fx, LOG_LEVEL_INFO,
         "%s promoted: STOP ALL SLAVES, RESET SLAVE ALL, SET GLOBAL read_only = 0 (%llu ms)",
         nodes[c].name, (unsigned long long)(now_ms() - t0));
    return true;
}

static void publish_primary(struct fx *fx, size_t c, int old, const char *why)
{
    const struct config *cfg = fx->cfg;
    struct backend_rt *rt = cfg->backends[c].rt;
    backend_mark_failover(rt);
    backend_set_fenced(rt, false, why);
    backend_set_role(rt, ROLE_PRIMARY, why);
    if (old >= 0 && (size_t)old != c) {
        backend_mark_failover(cfg->backends[old].rt);
        backend_set_fenced(cfg->backends[old].rt, true, why);
        backend_set_role(cfg->backends[old].rt, ROLE_REPLICA, why);
    }
    step(fx, LOG_LEVEL_INFO, "routing: writes go to %s", cfg->backends[c].name);
}

/* ---- procedures ------------------------------------------------------------- */

/* alerts.pre_failover: run it with the failover_started event the
 * procedure is about to be, and wait (this thread only). True: go on.
 * Anything but exit 0 within the timeout, or a command that cannot run,
 * vetoes: logged as a step (so audited with the procedure), and an event. */
static bool pre_failover_allows(struct fx *fx, const char *procedure, bool manual, int old,
                                size_t c, const char *reason)
{
    const struct config *cfg = fx->cfg;
    const struct config_alerts *ac = &cfg->alerts;
    if (ac->pre_failover[0] == '\0')
        return true;
    const char *oldn = old >= 0 ? cfg->backends[old].name : "";
    const char *cand = cfg->backends[c].name;
    char action[EVENT_TEXT_MAX], err[256], how[300];
    snprintf(action, sizeof(action), "%s (%s): promote %s", procedure, manual ? "admin" : "auto",
             cand);
    struct event e;
    event_fill(&e, EVENT_FAILOVER_STARTED, cand, oldn, cand, reason, action);
    char json[EVENT_JSON_MAX];
    size_t len = event_json(&e, cfg->instance_name, json, sizeof(json));
    struct spawn_env env;
    spawn_env_from_event(&env, &e, cfg->instance_name);
    uint64_t t0 = now_ms();
    pid_t pid;
    bool killed = false;
    int st = -1;
    if (spawn_start(ac->pre_failover, procedure, env.envp, json, len, &pid, err, sizeof(err)) !=
        HY_OK) {
        snprintf(how, sizeof(how), "could not run: %s", err);
    } else {
        st = spawn_wait(pid, ac->pre_failover_timeout_ms, &killed);
        if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && !killed) {
            step(fx, LOG_LEVEL_INFO, "alerts.pre_failover: exit 0 (%llu ms): %s goes on",
                 (unsigned long long)(now_ms() - t0), procedure);
            return true;
        }
        if (killed) {
            snprintf(how, sizeof(how), "killed after pre_failover_timeout_ms (%d ms)",
                     ac->pre_failover_timeout_ms);
        } else {
            char code[48];
            spawn_status_str(st, code, sizeof(code));
            snprintf(how, sizeof(how), "%s (%llu ms)", code, (unsigned long long)(now_ms() - t0));
        }
    }
    fx->vetoed = true;
    step(fx, LOG_LEVEL_WARN, "%s vetoed by alerts.pre_failover: %s", procedure, how);
    char why[EVENT_TEXT_MAX];
    snprintf(why, sizeof(why), "%s (%s) of %s by %s vetoed by alerts.pre_failover: %s", procedure,
             manual ? "admin" : "auto", oldn, cand, how);
    events_emit(EVENT_FAILOVER_VETOED, cand, oldn, cand, why,
                manual ? "nothing changed" : "nothing changed; asked again in 5 s");
    return false;
}

/* Failover: the primary is gone. `manual`: asked by the admin socket. */
static bool run_failover(struct fx *fx, bool manual, uint64_t down_ms)
{
    fx->vetoed = false;
    const struct config *cfg = fx->cfg;
    size_t nb = cfg->n_backends;
    struct survey sv;
    bool have = survey_begin(fx, &sv);
    struct failover_node *nodes = sv.nodes;
    struct gtid_pos *states = sv.states;
    bool ok = false, attempted = false;
    struct failover_verdict vd = {.action = FAILOVER_NONE, .candidate = -1};
    int old = current_primary(cfg);
    snprintf(vd.reason, sizeof(vd.reason), "%s",
             manual ? "requested by the admin socket" : "the primary is unreachable");
    if (!have) {
        step(fx, LOG_LEVEL_ERROR, "out of memory");
        goto out;
    }
    /* The lock first, on the servers that took the connection; then the
     * topology, read under the lock: another halyard may have just
     * finished a promotion. */
    for (size_t i = 0; i < nb; i++)
        nodes[i].reachable = fx->links[i].connected;
    if (!take_lock(fx, nodes, !manual))
        goto out;
    probe(fx, nodes, states);
    old = current_primary(cfg);
    struct failover_view v = {.nodes = nodes,
                              .n = nb,
                              .primary = old,
                              .primary_down_ms = down_ms,
                              .zones = fx->cfg->failover_zones};
    struct failover_settings set = {
        .mode = FAILOVER_AUTO, .delay_ms = 0, .auto_rejoin = cfg->auto_rejoin};
    failover_decide(&v, &set, &vd);
    step(fx, LOG_LEVEL_INFO, "topology under the lock: %s: %s", failover_action_to_str(vd.action),
         vd.reason);
    if (vd.action == FAILOVER_FOLLOW) {
        publish_primary(fx, (size_t)vd.candidate, old, "promoted elsewhere: following it");
        ok = true;
        goto out;
    }
    if (vd.action != FAILOVER_PROMOTE) {
        if (manual && vd.action == FAILOVER_NONE && old >= 0 && nodes[old].reachable)
            step(fx, LOG_LEVEL_WARN, "the primary is reachable: use switchover");
        goto out;
    }
    size_t c = (size_t)vd.candidate;
    if (!pre_failover_allows(fx, "failover", manual, old, c, vd.reason))
        goto out;
    attempted = true; /* counted in halyard_failovers_total from here on */
    {
        char action[EVENT_TEXT_MAX];
        snprintf(action, sizeof(action), "promoting %s", nodes[c].name);
        events_emit(EVENT_FAILOVER_STARTED, nodes[c].name, old >= 0 ? nodes[old].name : "",
                    nodes[c].name, vd.reason, action);
    }
    struct gtid_pos target;
    char pos[GTID_STR_MAX];
    gtid_pos_merge(&nodes[c].current_pos, &nodes[c].io_pos, &target);
    gtid_pos_format(&target, pos, sizeof(pos));
    backend_set_failover_busy(true);
    if (!make_primary(fx, nodes, c, pos, cfg->switchover_timeout_ms))
        goto out;
    repoint_others(fx, nodes, c, old, -1);
    char why[200];
    snprintf(why, sizeof(why), "failover: %s replaces %s", nodes[c].name,
             old >= 0 ? nodes[old].name : "(none)");
    publish_primary(fx, c, old, why);
    step(fx, LOG_LEVEL_WARN, "failover done: %s is the primary (%llu ms since the decision)",
         nodes[c].name, (unsigned long long)(now_ms() - fx->t0_ms));
    ok = true;
out:
    if (attempted)
        status_count_failover(false, ok);
    /* An automatic attempt that did not get as far as promoting is tried
     * again at the next tick: only what changed something, and every
     * admin request, is a record. */
    if (attempted || manual || fx->vetoed || (ok && vd.action == FAILOVER_FOLLOW)) {
        const char *to = vd.candidate >= 0 ? cfg->backends[vd.candidate].name : NULL;
        struct audit_procedure ap = {
            .event = "failover",
            .trigger = manual ? "admin" : "auto",
            .backend = to,
            .from = old >= 0 ? cfg->backends[old].name : NULL,
            .to = ok ? to : (old >= 0 ? cfg->backends[old].name : NULL),
            .reason = vd.reason,
            .ok = ok,
        };
        procedure_audit(fx, &ap);
    }
    backend_set_failover_busy(false);
    survey_end(fx, &sv);
    return ok;
}

/* Wait until no statement runs on backend i (in-flight writes finish
 * before read_only is set), at most ms. */
static void wait_quiet(const struct config *cfg, size_t i, int ms)
{
    uint64_t until = now_ms() + (uint64_t)ms;
    while (atomic_load_explicit(&cfg->backends[i].rt->outstanding, memory_order_relaxed) > 0 &&
           now_ms() < until) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static bool run_switchover(struct fx *fx, const char *target)
{
    fx->vetoed = false;
    const struct config *cfg = fx->cfg;
    size_t nb = cfg->n_backends;
    struct survey sv;
    bool have = survey_begin(fx, &sv);
    struct failover_node *nodes = sv.nodes;
    struct gtid_pos *states = sv.states;
    bool ok = false, attempted = false;
    struct failover_verdict vd = {.action = FAILOVER_NONE, .candidate = -1};
    int old = current_primary(cfg);
    snprintf(vd.reason, sizeof(vd.reason), "requested by the admin socket");
    if (!have) {
        step(fx, LOG_LEVEL_ERROR, "out of memory");
        goto out;
    }
    probe(fx, nodes, states);
    old = current_primary(cfg);
    struct failover_view v = {
        .nodes = nodes, .n = nb, .primary = old, .zones = fx->cfg->failover_zones};
    failover_switchover_check(&v, target, &vd);
    if (vd.action != FAILOVER_PROMOTE) {
        step(fx, LOG_LEVEL_ERROR, "switchover refused: %s", vd.reason);
        goto out;
    }
    size_t c = (size_t)vd.candidate;
    step(fx, LOG_LEVEL_INFO, "%s", vd.reason);
    if (!pre_failover_allows(fx, "switchover", true, old, c, vd.reason))
        goto out;
    if (!take_lock(fx, nodes, true))
        goto out;
    attempted = true; /* counted in halyard_failovers_total from here on */
    int t = cfg->connect_timeout_ms;
    struct link *ol = &fx->links[old];
    struct backend_rt *ort = cfg->backends[old].rt;

    /* New writes wait (sessions look for a primary and find none). */
    backend_set_failover_busy(true);
    backend_mark_failover(ort);
    backend_set_fenced(ort, true, "switchover: writes paused");
    backend_set_role(ort, ROLE_REPLICA, "switchover: writes paused");
    uint64_t t0 = now_ms();
    wait_quiet(cfg, (size_t)old, HY_MIN(2000, cfg->switchover_timeout_ms));
    step(fx, LOG_LEVEL_INFO, "writes paused; statements in flight on %s done (%llu ms)",
         nodes[old].name, (unsigned long long)(now_ms() - t0));
    t0 = now_ms();
    if (!link_run(fx, ol, "SET GLOBAL read_only = 1", cfg->switchover_timeout_ms + t) ||
        !link_run(fx, ol, "SELECT @@gtid_binlog_pos", t)) {
        step(fx, LOG_LEVEL_ERROR, "%s: SET GLOBAL read_only = 1 failed: %s", nodes[old].name,
             ol->err);
        goto rollback;
    }
    char pos[GTID_STR_MAX];
    snprintf(pos, sizeof(pos), "%s", link_cell(ol, 0) != NULL ? link_cell(ol, 0) : "");
    step(fx, LOG_LEVEL_INFO, "%s is read_only at %s (%llu ms)", nodes[old].name, pos,
         (unsigned long long)(now_ms() - t0));
    if (!make_primary(fx, nodes, c, pos, cfg->switchover_timeout_ms))
        goto rollback;
    repoint_others(fx, nodes, c, old, -1);
    t0 = now_ms();
    if (cfg->replication_user[0] == '\0') {
        step(fx, LOG_LEVEL_WARN,
             "%s stays read_only outside replication: set replication_user to make it a replica",
             nodes[old].name);
    } else if (repoint(fx, ol, c, "current_pos", true)) {
        step(fx, LOG_LEVEL_INFO, "%s now replicates from %s (%llu ms)", nodes[old].name,
             nodes[c].name, (unsigned long long)(now_ms() - t0));
    } else {
        step(fx, LOG_LEVEL_ERROR, "%s: making it a replica of %s failed: %s", nodes[old].name,
             nodes[c].name, ol->err);
    }
    char why[200];
    snprintf(why, sizeof(why), "switchover: %s replaces %s", nodes[c].name, nodes[old].name);
    publish_primary(fx, c, old, why);
    step(fx, LOG_LEVEL_WARN, "switchover done: %s is the primary (%llu ms)", nodes[c].name,
         (unsigned long long)(now_ms() - fx->t0_ms));
    ok = true;
    goto out;

rollback:
    if (link_run(fx, ol, "SET GLOBAL read_only = 0", t))
        step(fx, LOG_LEVEL_WARN, "rolled back: %s is writable again", nodes[old].name);
    else
        step(fx, LOG_LEVEL_ERROR, "rollback: SET GLOBAL read_only = 0 on %s failed: %s",
             nodes[old].name, ol->err);
    backend_mark_failover(ort);
    backend_set_fenced(ort, false, "switchover rolled back");
    backend_set_role(ort, ROLE_PRIMARY, "switchover rolled back");
out:
    if (attempted)
        status_count_failover(true, ok);
    {
        const char *to = vd.candidate >= 0 ? cfg->backends[vd.candidate].name : NULL;
        const char *from = old >= 0 ? cfg->backends[old].name : NULL;
        struct audit_procedure ap = {.event = "switchover",
                                     .trigger = "admin",
                                     .backend = to != NULL ? to : target,
                                     .from = from,
                                     .to = ok ? to : from,
                                     .reason = vd.reason,
                                     .ok = ok};
        procedure_audit(fx, &ap);
    }
    backend_set_failover_busy(false);
    survey_end(fx, &sv);
    return ok;
}

/* A reachable backend outside replication beside the primary: fence it,
 * and with auto_rejoin make it a replica. */
/* SET GLOBAL read_only on backend i as the procedure `ap` (the caller
 * fills its event, backend, from, to and reason): the reason logged as the
 * step when it is done, the error when not, and the procedure audited.
 * Returns ap->ok. */
static bool read_only_procedure(struct fx *fx, size_t i, bool on, struct audit_procedure *ap)
{
    const char *sql = on ? "SET GLOBAL read_only = 1" : "SET GLOBAL read_only = 0";
    ap->ok = link_run(fx, &fx->links[i], sql, fx->cfg->connect_timeout_ms);
    if (ap->ok)
        step(fx, LOG_LEVEL_WARN, "%s", ap->reason);
    else
        step(fx, LOG_LEVEL_ERROR, "%s: %s failed: %s", ap->backend, sql, fx->links[i].err);
    procedure_audit(fx, ap);
    return ap->ok;
}

static void run_rejoin(struct fx *fx, size_t i, int primary, bool fence)
{
    fx->vetoed = false;
    const struct config *cfg = fx->cfg;
    size_t nb = cfg->n_backends;
    struct survey sv;
    bool have = survey_begin(fx, &sv);
    struct failover_node *nodes = sv.nodes;
    struct gtid_pos *states = sv.states;
    if (!have)
        goto out;
    probe(fx, nodes, states);
    struct failover_view v = {
        .nodes = nodes, .n = nb, .primary = primary, .zones = fx->cfg->failover_zones};
    struct failover_settings set = {.mode = cfg->failover_auto ? FAILOVER_AUTO : FAILOVER_OFF,
                                    .auto_rejoin = cfg->auto_rejoin};
    char why[1024];
    enum rejoin_action a =
        failover_rejoin_decide(&v, (int)i, &set, &states[primary], why, sizeof(why));
    char replica_of[160];
    snprintf(replica_of, sizeof(replica_of), "replica of %s", cfg->backends[primary].name);
    struct audit_procedure ap = {.event = "rejoin",
                                 .trigger = "auto",
                                 .backend = nodes[i].name,
                                 .from = "read_only outside replication",
                                 .to = replica_of,
                                 .reason = why};
    if (a == REJOIN_FENCE) {
        ap = (struct audit_procedure){.event = "fence",
                                      .trigger = "auto",
                                      .backend = nodes[i].name,
                                      .from = "writable outside replication",
                                      .to = "read_only",
                                      .reason = why};
        read_only_procedure(fx, i, true, &ap);
        goto out;
    }
    if (fence)
        goto out; /* only fencing was due */
    if (a == REJOIN_REPLICATE) {
        if (cfg->replication_user[0] == '\0') {
            step(fx, LOG_LEVEL_WARN, "%s cannot rejoin: replication_user is not set",
                 nodes[i].name);
        } else if ((ap.ok = repoint(fx, &fx->links[i], (size_t)primary, "current_pos", true))) {
            step(fx, LOG_LEVEL_WARN, "%s", why);
        } else {
            step(fx, LOG_LEVEL_ERROR, "%s: rejoin failed: %s", nodes[i].name, fx->links[i].err);
        }
    } else {
        step(fx, LOG_LEVEL_WARN, "%s", why); /* refused: it stays out, and the record says why */
    }
    if (!ap.ok)
        ap.to = ap.from;
    procedure_audit(fx, &ap);
out:
    survey_end(fx, &sv);
}

/* ---- a primary cut off from the majority ------------------------------------ */

/* fence_cut_off_primary: this halyard reaches the primary but not a
 * majority of the failover lock's voters (backends and witnesses), as on
 * the primary's side of a partition. The other side, holding the majority,
 * may promote one of its replicas once its failover_delay_ms has passed:
 * before that, the primary is made read-only and fenced (no session
 * writes there), so that two primaries never take writes. When the
 * majority is back, under the failover lock: if nobody was promoted
 * meanwhile, the primary gets its writes back; if somebody was, it stays
 * fenced and rejoins as a replica of the new one (run_rejoin). Runs at
 * most once a second while it has something to look into. True when it
 * fenced the primary: the monitor's view is stale then. */
static bool cut_off_check(struct fx *fx, const struct failover_node *mon, int p, uint64_t now)
{
    const struct config *cfg = fx->cfg;
    size_t nb = cfg->n_backends, needed = failover_lock_needed(0, nb + cfg->n_witnesses, true);
    size_t seen = 0;
    for (size_t i = 0; i < nb; i++)
        seen += mon[i].reachable;
    int ours = fx->cut_off_idx;
    if (ours >= (int)nb)
        ours = fx->cut_off_idx = -1; /* a reload took it away */
    if (!cfg->fence_cut_off && ours < 0)
        return false;
    if (ours < 0 && (p < 0 || !mon[p].reachable || mon[p].read_only || seen >= needed))
        return false; /* the primary's writes are safe, or out of reach anyway */
    if (ours >= 0 && seen < needed)
        return false; /* still cut off */
    if (now - fx->last_cut_off_ms < 1000)
        return false;
    fx->last_cut_off_ms = now;
    bool fenced = false;
    struct survey sv;
    if (!survey_begin(fx, &sv)) {
        survey_end(fx, &sv);
        return false;
    }
    probe(fx, sv.nodes, sv.states);
    size_t got = 0;
    for (size_t i = 0; i < fx->n_all; i++)
        got += link_votes(fx, sv.nodes, i);
    fx->t0_ms = now;
    fx->report_len = 0;
    if (ours < 0) {
        const char *name = cfg->backends[p].name;
        if (got >= needed || !sv.nodes[p].reachable || sv.nodes[p].read_only)
            goto out; /* the monitor saw a moment's trouble: the servers say otherwise */
        const char *zone = cfg->zone != NULL ? cfg->zone : "";
        char note[400];
        snprintf(note, sizeof(note),
                 "halyard%s%s%s reaches the primary %s but only %zu of the %zu servers that "
                 "vote in the failover lock and needs %zu: the other side may promote a "
                 "replica, so %s is made read-only and takes no writes until the majority is "
                 "back",
                 zone[0] ? " (zone " : "", zone, zone[0] ? ")" : "", name, got, fx->n_all, needed,
                 name);
        struct audit_procedure ap = {.event = "fence",
                                     .trigger = "auto",
                                     .backend = name,
                                     .from = "primary",
                                     .to = "read_only (cut off)",
                                     .reason = note};
        if (read_only_procedure(fx, (size_t)p, true, &ap)) {
            fenced = true;
            fx->cut_off_idx = p;
            backend_set_fenced(cfg->backends[p].rt, true, "cut off from the majority");
            backend_set_cut_off(cfg->backends[p].rt, true);
            backend_set_failover_note(note);
        }
        goto out;
    }
    if (got < needed || !take_lock(fx, sv.nodes, true))
        goto out; /* not yet: again in a second */
    const char *name = cfg->backends[ours].name;
    int other = -1;
    for (size_t i = 0; i < nb; i++) {
        if ((int)i != ours && sv.nodes[i].reachable && !sv.nodes[i].read_only &&
            !sv.nodes[i].replicating)
            other = (int)i;
    }
    fx->cut_off_idx = -1;
    backend_set_cut_off(cfg->backends[ours].rt, false);
    backend_set_failover_note(NULL);
    if (other >= 0 || !sv.nodes[ours].reachable || sv.nodes[ours].replicating) {
        step(fx, LOG_LEVEL_WARN, "the majority is back; %s stays fenced: %s%s", name,
             other >= 0 ? cfg->backends[other].name : "",
             other >= 0 ? " was promoted meanwhile" : "it is no longer the primary it was");
        goto out;
    }
    char why[300];
    snprintf(why, sizeof(why),
             "the majority is back (%zu of %zu servers) and nobody was promoted: %s takes "
             "writes again",
             got, fx->n_all, name);
    struct audit_procedure ap = {.event = "unfence",
                                 .trigger = "auto",
                                 .backend = name,
                                 .from = "read_only (cut off)",
                                 .to = "primary",
                                 .reason = why};
    if (read_only_procedure(fx, (size_t)ours, false, &ap)) {
        backend_set_fenced(cfg->backends[ours].rt, false, "the majority is back");
    } else {
        fx->cut_off_idx = ours; /* try again */
        backend_set_cut_off(cfg->backends[ours].rt, true);
    }
out:
    survey_end(fx, &sv);
    return fenced;
}

/* ---- the thread --------------------------------------------------------------- */

static void tick(struct fx *fx)
{
    const struct config *cfg = fx->cfg;
    size_t nb = cfg->n_backends;
    /* Galera: every node is writable and the monitor moves the writer role
     * (galera.h). Failover, fencing and rejoin would set read_only on
     * writable nodes: none of it runs. */
    if (cfg->cluster == CLUSTER_GALERA)
        return;
    struct failover_node *nodes = calloc(nb, sizeof(*nodes));
    if (nodes == NULL)
        return;
    view_from_monitor(cfg, nodes);
    int p = current_primary(cfg);
    uint64_t now = now_ms();

    /* A fenced server that replicates again is an ordinary replica. */
    for (size_t i = 0; i < nb; i++) {
        struct backend_rt *rt = cfg->backends[i].rt;
        if (rt != NULL && atomic_load(&rt->fenced) && nodes[i].reachable && nodes[i].replicating)
            backend_set_fenced(rt, false, "replicates again");
    }

    if (p >= 0 && !nodes[p].reachable) {
        if (fx->down_idx != p) {
            fx->down_idx = p;
            fx->down_since_ms = now;
            char action[160];
            if (cfg->failover_auto)
                snprintf(action, sizeof(action),
                         "failover after failover_delay_ms (%d ms) if a majority agrees",
                         cfg->failover_delay_ms);
            else
                snprintf(action, sizeof(action), "failover = off: writes wait for an operator");
            events_emit(EVENT_PRIMARY_LOST, cfg->backends[p].name, "reachable", "unreachable",
                        "the primary does not answer the health checks", action);
        }
    } else {
        if ((fx->down_idx >= 0 || fx->no_majority) && fx->cut_off_idx < 0)
            backend_set_failover_note(NULL); /* a cut-off primary's note stays while it holds */
        fx->down_idx = -1;
        fx->no_majority = fx->quiet = false;
    }
    if (cut_off_check(fx, nodes, p, now)) {
        free(nodes);
        return;
    }
    struct failover_view v = {.nodes = nodes,
                              .n = nb,
                              .primary = p,
                              .primary_down_ms = fx->down_idx >= 0 ? now - fx->down_since_ms : 0,
                              .zones = cfg->failover_zones};
    struct failover_settings set = {.mode = cfg->failover_auto ? FAILOVER_AUTO : FAILOVER_OFF,
                                    .delay_ms = cfg->failover_delay_ms,
                                    .auto_rejoin = cfg->auto_rejoin};
    struct failover_verdict vd;
    failover_decide(&v, &set, &vd);
    if ((vd.action == FAILOVER_PROMOTE || vd.action == FAILOVER_FOLLOW) && now >= fx->next_try_ms) {
        fx->t0_ms = now;
        fx->report_len = 0;
        /* The same refusal as last time is logged at debug level. */
        fx->quiet = fx->no_majority;
        step(fx, LOG_LEVEL_WARN, "%s: %s", failover_action_to_str(vd.action), vd.reason);
        if (run_failover(fx, false, v.primary_down_ms)) {
            fx->down_idx = -1;
            fx->no_majority = false;
            backend_set_failover_note(NULL);
        } else {
            /* Two halyards that each got the lock on half of the servers
             * would meet again at every tick: try again after a random
             * 100-500 ms. Without a majority in reach, once a second. */
            uint64_t wait = (fx->no_majority ? 1000 : 100) + (uint64_t)(rand_r(&fx->seed) % 400);
            if (fx->vetoed)
                wait = 5000; /* the operator's command said no: ask again, not in a loop */
            fx->next_try_ms = now_ms() + wait;
            step(fx, LOG_LEVEL_WARN, "failover not done; trying again in %llu ms",
                 (unsigned long long)wait);
        }
        fx->quiet = false;
        free(nodes);
        return;
    }
    /* Servers outside replication beside a usable primary. */
    if (p >= 0 && nodes[p].reachable && !nodes[p].read_only) {
        for (size_t i = 0; i < nb && i < fx->n_rate; i++) {
            const struct failover_node *n = &nodes[i];
            if ((int)i == p || !n->reachable || n->replicating || n->maint)
                continue;
            bool fence = !n->read_only;
            uint64_t *last = fence ? &fx->last_fence_ms[i] : &fx->last_rejoin_ms[i];
            uint64_t every = fence ? 1000 : 30000; /* an errant server is logged twice a minute */
            if (!fence && !cfg->auto_rejoin)
                continue;
            if (*last != 0 && now - *last < every)
                continue;
            *last = now;
            fx->t0_ms = now;
            fx->report_len = 0;
            run_rejoin(fx, i, p, fence);
        }
    }
    free(nodes);
}

static void take_new_config(struct fx *fx)
{
    struct config *fresh = NULL;
    pthread_mutex_lock(&fx->mu);
    fresh = fx->cfg_new;
    fx->cfg_new = NULL;
    pthread_mutex_unlock(&fx->mu);
    if (fresh == NULL)
        return;
    config_put(fx->cfg);
    fx->cfg = fresh;
    size_t nb = fresh->n_backends;
    if (nb != fx->n_rate) {
        free(fx->last_fence_ms);
        free(fx->last_rejoin_ms);
        fx->last_fence_ms = calloc(nb, sizeof(uint64_t));
        fx->last_rejoin_ms = calloc(nb, sizeof(uint64_t));
        fx->n_rate = fx->last_fence_ms != NULL && fx->last_rejoin_ms != NULL ? nb : 0;
    }
}

static void *fx_main(void *arg)
{
    struct fx *fx = arg;
    for (;;) {
        pthread_mutex_lock(&fx->mu);
        if (!fx->stop && !fx->notified && !fx->req_pending) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += FAILOVER_EXEC_TICK_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&fx->cv, &fx->mu, &ts);
        }
        bool stop = fx->stop;
        fx->notified = false;
        bool req = fx->req_pending;
        enum failover_request kind = fx->req_kind;
        char target[128];
        snprintf(target, sizeof(target), "%s", fx->req_target);
        failover_done_fn done = fx->req_done;
        void *done_arg = fx->req_arg;
        pthread_mutex_unlock(&fx->mu);
        if (stop)
            break;
        take_new_config(fx);
        if (req) {
            fx->t0_ms = now_ms();
            fx->report_len = 0;
            fx->report[0] = '\0';
            bool ok;
            if (fx->cfg->cluster == CLUSTER_GALERA) {
                /* Promotion would set read_only on writable nodes. */
                step(fx, LOG_LEVEL_WARN,
                     "%s refused: cluster = galera (the writer follows priority and the nodes' "
                     "wsrep state; drain a node to move it)",
                     kind == FAILOVER_REQ_SWITCHOVER ? "switchover" : "failover");
                ok = false;
            } else if (kind == FAILOVER_REQ_SWITCHOVER) {
                step(fx, LOG_LEVEL_WARN, "switchover requested%s%s", target[0] ? " to " : "",
                     target);
                ok = run_switchover(fx, target);
            } else {
                step(fx, LOG_LEVEL_WARN, "failover requested");
                ok = run_failover(fx, true, 0);
            }
            pthread_mutex_lock(&fx->mu);
            fx->req_pending = false;
            pthread_mutex_unlock(&fx->mu);
            if (done != NULL)
                done(done_arg, ok, fx->report);
            continue;
        }
        tick(fx);
    }
    return NULL;
}

hy_status_t failover_exec_start(struct config *cfg, char *err, size_t errlen)
{
    struct fx *fx = &FX;
    fx->loop = ev_loop_new(EVFLAG_AUTO);
    if (fx->loop == NULL) {
        snprintf(err, errlen, "failover: cannot create an event loop");
        return HY_ERROR;
    }
    fx->cfg_new = config_get(cfg);
    fx->stop = false;
    fx->seed = (unsigned)getpid() ^ (unsigned)now_ms();
    int rc = pthread_create(&fx->thread, NULL, fx_main, fx);
    if (rc != 0) {
        config_put(fx->cfg_new);
        fx->cfg_new = NULL;
        ev_loop_destroy(fx->loop);
        fx->loop = NULL;
        snprintf(err, errlen, "failover: cannot start its thread: %s", strerror(rc));
        return HY_ERROR;
    }
    fx->running = true;
    return HY_OK;
}

void failover_exec_stop(void)
{
    struct fx *fx = &FX;
    if (!fx->running)
        return;
    pthread_mutex_lock(&fx->mu);
    fx->stop = true;
    pthread_cond_signal(&fx->cv);
    pthread_mutex_unlock(&fx->mu);
    pthread_join(fx->thread, NULL);
    fx->running = false;
    links_close(fx);
    ev_loop_destroy(fx->loop);
    fx->loop = NULL;
    config_put(fx->cfg);
    config_put(fx->cfg_new);
    fx->cfg = fx->cfg_new = NULL;
    free(fx->last_fence_ms);
    free(fx->last_rejoin_ms);
    fx->last_fence_ms = fx->last_rejoin_ms = NULL;
    fx->n_rate = 0;
}

void failover_exec_set_config(struct config *cfg)
{
    struct fx *fx = &FX;
    if (!fx->running)
        return;
    pthread_mutex_lock(&fx->mu);
    config_put(fx->cfg_new);
    fx->cfg_new = config_get(cfg);
    pthread_cond_signal(&fx->cv);
    pthread_mutex_unlock(&fx->mu);
}

void failover_exec_notify(void)
{
    struct fx *fx = &FX;
    pthread_mutex_lock(&fx->mu);
    fx->notified = true;
    pthread_cond_signal(&fx->cv);
    pthread_mutex_unlock(&fx->mu);
}

hy_status_t failover_exec_request(enum failover_request kind, const char *target,
                                  failover_done_fn done, void *arg, char *err, size_t errlen)
{
    struct fx *fx = &FX;
    hy_status_t rc = HY_OK;
    pthread_mutex_lock(&fx->mu);
    if (!fx->running) {
        snprintf(err, errlen, "the failover thread is not running");
        rc = HY_ERROR;
    } else if (fx->req_pending) {
        snprintf(err, errlen, "a switchover or failover is already under way");
        rc = HY_ERROR;
    } else {
        fx->req_pending = true;
        fx->req_kind = kind;
        snprintf(fx->req_target, sizeof(fx->req_target), "%s", target != NULL ? target : "");
        fx->req_done = done;
        fx->req_arg = arg;
        pthread_cond_signal(&fx->cv);
    }
    pthread_mutex_unlock(&fx->mu);
    return rc;
}
