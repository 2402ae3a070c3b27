/*
 * failover_steps.c: what the failover thread's procedures are made of
 * (failover_int.h).
 *
 * Procedures are written as sequences of steps over `struct link`s, one
 * sqlclient connection per backend. A step starts a query on each link it
 * concerns (fx_link_query), then fx_wait() runs the thread's private loop
 * until every one has answered; the answer is copied into the link (cells
 * by row and column) so the next step can read it. Nothing else runs on
 * that loop, so running it from inside a procedure is safe and keeps the
 * code in the order a DBA would type the statements.
 *
 * Every procedure opens its own links and closes them at its end; closing
 * also releases GET_LOCK('halyard_failover'), which is session-scoped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "failover_int.h"
#include "halyard/core/text.h"
#include "halyard/core/clock.h"
#include "halyard/config/group.h"
#include "halyard/cluster/backend.h"
#include "halyard/core/events.h"
#include "halyard/core/spawn.h"
#include "halyard/protocol/sqlclient.h"
#include "halyard/sql/quote.h"
#include "halyard/protocol/tls.h"

/* [switchover][ok]: see failover_exec_count(). */
static _Atomic uint64_t failover_counts[2][2];

uint64_t failover_exec_count(bool switchover, bool ok)
{
    return atomic_load_explicit(&failover_counts[switchover][ok], memory_order_relaxed);
}

/* One line of the procedure: logged, and kept for the admin answer. */
void fx_step(struct fx *fx, enum log_level lvl, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    uint64_t t = (uint64_t)hy_mono_ms() - fx->t0_ms;
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

static _Atomic(failover_span_fn) span_fn;

void failover_exec_set_span_fn(failover_span_fn fn)
{
    atomic_store_explicit(&span_fn, fn, memory_order_release);
}

/* The procedure that just ended, as one audit record: `p` says what it
 * was; its steps are the report so far, its result the last step. */
void fx_audit(const struct fx *fx, struct audit_procedure *p)
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
    p->duration_ms = (uint64_t)hy_mono_ms() - fx->t0_ms;
    audit_procedure(p);
    procedure_event(fx, p);
    failover_span_fn fn = atomic_load_explicit(&span_fn, memory_order_acquire);
    if (fn != NULL) { /* a span of it (trace_export.c) */
        struct timespec now = hy_now_ts();
        int64_t end_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
        fn(p, end_ns - (int64_t)p->duration_ms * 1000000, end_ns);
    }
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
const char *fx_link_get(const struct link *l, size_t row, const char *name)
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
const char *fx_link_cell(const struct link *l, size_t i)
{
    if (l->n_rows == 0 || i >= l->n_cols)
        return NULL;
    return l->cells[i];
}

void fx_link_query(struct link *l, const char *sql, int timeout_ms)
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
void fx_wait(struct fx *fx)
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
bool fx_link_run(struct fx *fx, struct link *l, const char *sql, int timeout_ms)
{
    if (!l->connected) {
        snprintf(l->err, sizeof(l->err), "not connected");
        return false;
    }
    fx_link_query(l, sql, timeout_ms);
    fx_wait(fx);
    return l->ok;
}

void fx_links_close(struct fx *fx)
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
bool fx_links_open(struct fx *fx)
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
            /* A witness is no group's: the top level's monitor account. */
            const struct config *root = cfg->parent != NULL ? cfg->parent : cfg;
            const struct config_witness *w = &cfg->witnesses[i - nb];
            t.user = root->monitor.user;
            t.password = root->monitor.password;
            t.name = w->name;
            t.address = w->address;
            t.port = w->port;
        }
        l->c = sqlclient_create(fx->loop, &t, cfg->connect_timeout_ms);
        if (l->c == NULL) {
            fx_links_close(fx);
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

bool fx_parse_pos(const char *s, struct gtid_pos *out)
{
    return gtid_pos_parse(s != NULL ? s : "", s != NULL ? strlen(s) : 0, out) == HY_OK;
}

bool fx_survey_begin(struct fx *fx, struct survey *sv)
{
    size_t nb = fx->cfg->n_backends;
    sv->nodes = calloc(nb, sizeof(*sv->nodes));
    sv->states = calloc(nb, sizeof(*sv->states));
    return sv->nodes != NULL && sv->states != NULL && fx_links_open(fx);
}

void fx_survey_end(struct fx *fx, struct survey *sv)
{
    fx_links_close(fx);
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
void fx_probe(struct fx *fx, struct failover_node *nodes, struct gtid_pos *states)
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
        n->fenced = cfg->backends[i].rt != NULL && atomic_load(&cfg->backends[i].rt->fenced);
        n->maint = backend_state(cfg->backends[i].rt) == BACKEND_MAINT ||
                   backend_state(cfg->backends[i].rt) == BACKEND_DRAINING;
        fx_link_query(&fx->links[i],
                      "SELECT @@read_only, @@gtid_current_pos, @@gtid_binlog_pos, "
                      "@@gtid_binlog_state, @@server_id, @@gtid_strict_mode, "
                      "@@rpl_semi_sync_slave_enabled, @@gtid_slave_pos, @@log_slave_updates",
                      t);
    }
    fx_wait(fx);
    for (size_t i = 0; i < fx->n_links; i++) {
        struct link *l = &fx->links[i];
        struct failover_node *n = &nodes[i];
        if (!l->connected || !l->ok || l->n_rows != 1)
            continue;
        n->reachable = true;
        const char *ro = fx_link_cell(l, 0);
        n->read_only = ro != NULL && strcmp(ro, "0") != 0;
        n->has_gtid = fx_parse_pos(fx_link_cell(l, 1), &n->current_pos) &&
                      fx_parse_pos(fx_link_cell(l, 2), &n->binlog_pos) &&
                      gtid_state_parse(fx_link_cell(l, 3) ? fx_link_cell(l, 3) : "",
                                       fx_link_cell(l, 3) ? strlen(fx_link_cell(l, 3)) : 0,
                                       &states[i]) == HY_OK;
        const char *sid = fx_link_cell(l, 4), *strict = fx_link_cell(l, 5),
                   *semi = fx_link_cell(l, 6);
        uint64_t u;
        n->server_id = hy_str_u64(sid, UINT32_MAX, &u) ? (uint32_t)u : 0; /* 0: not known */
        n->strict_mode = strict != NULL && strcmp(strict, "0") != 0;
        n->semisync_slave = semi != NULL && strcmp(semi, "0") != 0;
        if (!fx_parse_pos(fx_link_cell(l, 7), &n->slave_pos))
            n->slave_pos.n = 0;
        const char *lsu = fx_link_cell(l, 8);
        n->log_slave_updates = lsu != NULL && strcmp(lsu, "0") != 0;
    }
    for (size_t i = 0; i < fx->n_links; i++) {
        if (nodes[i].reachable)
            fx_link_query(&fx->links[i], "SHOW ALL SLAVES STATUS", t);
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
        const char *host = fx_link_get(l, 0, "Master_Host");
        const char *port = fx_link_get(l, 0, "Master_Port");
        uint64_t p;
        n->source = backend_by_addr(cfg, host, hy_str_u64(port, 65535, &p) ? (int)p : 0);
        const char *io = fx_link_get(l, 0, "Slave_IO_Running");
        n->io_running = io != NULL && strcmp(io, "Yes") == 0;
        const char *sql = fx_link_get(l, 0, "Slave_SQL_Running");
        n->sql_running = sql != NULL && strcmp(sql, "Yes") == 0;
        const char *sqlerr = fx_link_get(l, 0, "Last_SQL_Errno");
        n->sql_error = sqlerr != NULL && strcmp(sqlerr, "0") != 0;
        const char *ioerr = fx_link_get(l, 0, "Last_IO_Errno");
        uint64_t e = 0; /* NULL: none; not a number: 2000, CR_UNKNOWN_ERROR */
        if (ioerr != NULL && !hy_str_u64(ioerr, UINT32_MAX, &e))
            e = 2000;
        n->io_errno = (unsigned)e;
        if (!fx_parse_pos(fx_link_get(l, 0, "Gtid_IO_Pos"), &n->io_pos))
            n->has_gtid = false;
    }
    for (size_t i = 0; i < fx->n_links; i++) {
        if (nodes[i].reachable)
            fx_link_query(&fx->links[i], "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_slave_status'", t);
    }
    fx_wait(fx);
    for (size_t i = 0; i < fx->n_links; i++) {
        const char *v = fx_link_cell(&fx->links[i], 1);
        nodes[i].semisync_replica = nodes[i].reachable && v != NULL && strcmp(v, "ON") == 0;
    }
}

/* What the monitor last saw, without asking the servers: enough to decide
 * whether to start (the procedure then reads the servers themselves). */
void fx_view_from_monitor(const struct config *cfg, struct failover_node *nodes)
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
        n->refused = info.refused;
        enum backend_state st = backend_state(rt);
        n->maint = st == BACKEND_MAINT || st == BACKEND_DRAINING;
        n->fenced = atomic_load(&rt->fenced);
        n->read_only = info.read_only;
        n->replicating = info.replicating;
        n->source = backend_by_addr(cfg, info.source_host, info.source_port);
        n->io_running = info.io_running;
        n->sql_running = info.sql_running;
        n->sql_error = info.replicating && !info.sql_running && info.sql_errno != 0;
        n->io_errno = info.replicating ? info.io_errno : 0;
        n->has_gtid = fx_parse_pos(info.gtid_current, &n->current_pos) &&
                      fx_parse_pos(info.gtid_binlog, &n->binlog_pos);
    }
}

/* The primary halyard routes to, whatever its state; a fenced one is not. */
int fx_current_primary(const struct config *cfg)
{
    return backend_primary_any_index(cfg);
}

/* ---- steps ------------------------------------------------------------------ */

/* A link that answered: a backend the procedure found reachable, or a
 * witness that took the connection. */
bool fx_link_votes(const struct fx *fx, const struct failover_node *nodes, size_t i)
{
    return i < fx->n_links ? nodes[i].reachable : fx->links[i].connected;
}

/* GET_LOCK on every reachable backend and witness; true when enough of
 * them granted it (failover_lock_needed: with `strict`, a majority of all
 * that are configured). A refusal for want of a majority is published for
 * the sessions whose writes wait for a primary. */
bool fx_take_lock(struct fx *fx, const struct failover_node *nodes, bool strict)
{
    const struct config *cfg = fx->cfg;
    size_t reachable = 0, got = 0;
    char quoted[200], sql[260];
    if (sql_quote(quoted, sizeof(quoted), fx->lock_name, SQ_BACKSLASH) == 0)
        return false; /* cannot be: lock names are short */
    snprintf(sql, sizeof(sql), "SELECT GET_LOCK(%s, 0)", quoted);
    for (size_t i = 0; i < fx->n_all; i++) {
        if (fx_link_votes(fx, nodes, i)) {
            reachable++;
            fx_link_query(&fx->links[i], sql, cfg->connect_timeout_ms);
        }
    }
    fx_wait(fx);
    for (size_t i = 0; i < fx->n_all; i++) {
        const char *v =
            fx_link_votes(fx, nodes, i) && fx->links[i].ok ? fx_link_cell(&fx->links[i], 0) : NULL;
        if (v != NULL && strcmp(v, "1") == 0)
            got++;
    }
    size_t configured = fx->n_all;
    size_t needed = failover_lock_needed(reachable, configured, strict);
    bool ok = needed > 0 && got >= needed;
    fx->g->no_majority = false;
    if (ok) {
        fx_step(fx, LOG_LEVEL_INFO, "lock %s: granted by %zu of %zu servers (%zu %s, %zu needed)",
                fx->lock_name, got, strict ? configured : reachable, reachable,
                strict ? "reachable" : "reachable: the admin's command", needed);
        return true;
    }
    if (!strict || reachable >= needed) {
        /* Enough voters answered: another halyard took the lock on some. */
        fx_step(fx, LOG_LEVEL_WARN,
                "lock %s: granted by %zu of %zu reachable servers, %zu needed: another halyard "
                "holds it, not promoting",
                fx->lock_name, got, reachable, needed);
        return false;
    }
    fx->g->no_majority = true;
    if (got != fx->g->last_got || configured != fx->g->last_voters)
        fx->quiet = false; /* something changed: say it again */
    fx->g->last_got = got;
    fx->g->last_voters = configured;
    const char *zone = cfg->zone != NULL ? cfg->zone : "";
    char note[400];
    snprintf(note, sizeof(note),
             "halyard%s%s%s reaches %zu of the %zu servers that vote in the failover lock (%zu "
             "backends, %zu witnesses) and needs %zu: it may be cut off from the rest, so it "
             "promotes no replica%s",
             zone[0] ? " (zone " : "", zone, zone[0] ? ")" : "", reachable, configured,
             cfg->n_backends, cfg->n_witnesses, needed,
             configured == 2 ? "; with two backends, configure a witness" : "");
    fx_step(fx, LOG_LEVEL_WARN, "lock %s: %s", fx->lock_name, note);
    if (!fx->quiet) /* once while nothing changes, as the log */
        events_emit(EVENT_FAILOVER_FAILED, "", "", "", note,
                    "no promotion: no majority for the lock");
    backend_set_failover_note(group_of(fx->cfg)->name, note);
    return false;
}

/* CHANGE MASTER on link l to replicate from backend `to`. */
bool fx_repoint(struct fx *fx, struct link *l, size_t to, const char *use_gtid,
                bool with_credentials)
{
    const struct config *cfg = fx->cfg;
    const struct config_backend *b = &cfg->backends[to];
    char host[600], user[200], pw[600], sql[2048];
    if (sql_quote(host, sizeof(host), b->address, SQ_BACKSLASH) == 0) {
        snprintf(l->err, sizeof(l->err), "the address of %s is too long to quote", b->name);
        return false;
    }
    int n = snprintf(sql, sizeof(sql), "CHANGE MASTER TO MASTER_HOST = %s, MASTER_PORT = %d", host,
                     b->port);
    if (with_credentials && cfg->replication_user[0] != '\0') {
        if (sql_quote(user, sizeof(user), cfg->replication_user, SQ_BACKSLASH) == 0 ||
            sql_quote(pw, sizeof(pw), cfg->replication_password, SQ_BACKSLASH) == 0) {
            explicit_bzero(pw, sizeof(pw));
            snprintf(l->err, sizeof(l->err), "replication_user or _password too long to quote");
            return false;
        }
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", MASTER_USER = %s, MASTER_PASSWORD = %s",
                      user, pw);
        explicit_bzero(pw, sizeof(pw));
    }
    snprintf(sql + n, sizeof(sql) - (size_t)n, ", MASTER_USE_GTID = %s", use_gtid);
    int t = cfg->connect_timeout_ms;
    bool ok = fx_link_run(fx, l, "STOP SLAVE", t) && fx_link_run(fx, l, sql, t) &&
              fx_link_run(fx, l, "START SLAVE", t);
    explicit_bzero(sql, sizeof(sql));
    return ok;
}

/* A replica fx_repoint_others() points at `to`. */
static bool repointed(const struct failover_node *nodes, size_t i, size_t to, int skip1, int skip2)
{
    return (int)i != skip1 && (int)i != skip2 && i != to && nodes[i].reachable &&
           nodes[i].replicating;
}

/* Replica i stays where it replicates from: it lacks what `to` applied
 * (up to `pos`) and cannot get it from `to`. It takes no reads from now
 * on (backend_set_left_behind): its source, the old primary, may itself
 * be a replica of `to` without log_slave_updates soon, which gives it
 * nothing more while it reports no lag. */
static void left_behind(struct fx *fx, const struct failover_node *nodes, size_t i, size_t to,
                        const char *pos)
{
    fx_step(fx, LOG_LEVEL_ERROR,
            "%s stays where it replicates from: it has not applied all %s applied (%s), "
            "and %s runs without log_slave_updates, so its binary log cannot give it "
            "the rest (error 1236). Rebuild %s from %s",
            nodes[i].name, nodes[to].name, pos, nodes[to].name, nodes[i].name, nodes[to].name);
    char why[200];
    snprintf(why, sizeof(why),
             "left by a failover where it replicates from: it lacks what %s applied, and %s "
             "runs without log_slave_updates",
             nodes[to].name, nodes[to].name);
    struct backend_rt *rt = fx->cfg->backends[i].rt;
    if (rt != NULL)
        backend_set_left_behind(rt, why);
}

/* Without log_slave_updates, `to`'s binary log holds nothing it applied as
 * a replica, and MariaDB starts a replica from it only at `to`'s own
 * gtid_slave_pos, never behind it: error 1236, and that replica receives
 * nothing more. Semi-sync then has no replica to wait for (wait_no_slave
 * off), `to` acknowledges every commit alone, and the next failover may
 * promote the replica that has none of them (issue 41). So each replica
 * first applies, from its relay log, what `to` applied: all at once, within
 * switchover_timeout_ms. `final`: their source is dead, what they received
 * cannot grow, so one that did not receive it all is left at once, as is
 * one whose SQL thread stopped on an error (it would only hold the others up).
 * Sets may[i] for those that may then follow `to`; asked[] is scratch. */
static void level_with(struct fx *fx, const struct failover_node *nodes, size_t to, int skip1,
                       int skip2, bool final, bool *may, bool *asked)
{
    int t = fx->cfg->connect_timeout_ms, wait_ms = fx->cfg->switchover_timeout_ms;
    struct link *tl = &fx->links[to];
    struct gtid_pos want;
    char pos[GTID_STR_MAX] = "", q[GTID_STR_MAX + 8], sql[GTID_STR_MAX + 64];
    for (size_t i = 0; i < fx->n_links; i++)
        may[i] = false;
    if (!fx_link_run(fx, tl, "SELECT @@gtid_slave_pos", t) ||
        !fx_parse_pos(fx_link_cell(tl, 0), &want)) {
        fx_step(fx, LOG_LEVEL_ERROR,
                "%s: reading its gtid_slave_pos failed (%s): no replica repointed to it",
                nodes[to].name, tl->err);
        return;
    }
    gtid_pos_format(&want, pos, sizeof(pos));
    if (sql_quote(q, sizeof(q), pos, SQ_BACKSLASH) == 0)
        return;
    snprintf(sql, sizeof(sql), "SELECT MASTER_GTID_WAIT(%s, %.3f)", q, wait_ms / 1000.0);
    for (size_t i = 0; i < fx->n_links; i++) {
        asked[i] = false;
        if (!repointed(nodes, i, to, skip1, skip2))
            continue;
        struct gtid_pos got;
        failover_eventual_pos(&nodes[i], &got);
        if ((final && !gtid_pos_covers(&got, &want)) || nodes[i].sql_error)
            continue;
        /* what fx_repoint() would do next anyway (a stopped one applies nothing) */
        fx_link_query(&fx->links[i], "START SLAVE SQL_THREAD", t);
        asked[i] = true;
    }
    fx_wait(fx);
    uint64_t t0 = (uint64_t)hy_mono_ms();
    for (size_t i = 0; i < fx->n_links; i++) {
        if (asked[i])
            fx_link_query(&fx->links[i], sql, wait_ms + t);
    }
    fx_wait(fx);
    for (size_t i = 0; i < fx->n_links; i++) {
        const char *v = asked[i] && fx->links[i].ok ? fx_link_cell(&fx->links[i], 0) : NULL;
        may[i] = v != NULL && strcmp(v, "0") == 0;
        if (may[i])
            fx_step(fx, LOG_LEVEL_INFO,
                    "%s has applied %s, all %s applied, which runs without log_slave_updates "
                    "(%llu ms)",
                    nodes[i].name, pos, nodes[to].name,
                    (unsigned long long)((uint64_t)hy_mono_ms() - t0));
        else if (repointed(nodes, i, to, skip1, skip2))
            left_behind(fx, nodes, i, to, pos);
    }
}

/* Point every reachable replica but `skip1`/`skip2` at `to`. `final`: the
 * replicas' source is dead (a failover), not read_only (a switchover). */
void fx_repoint_others(struct fx *fx, const struct failover_node *nodes, size_t to, int skip1,
                       int skip2, bool final)
{
    bool *may = calloc(2 * fx->n_links + 1, sizeof(*may));
    if (may == NULL) {
        fx_step(fx, LOG_LEVEL_ERROR, "out of memory: no replica repointed to %s", nodes[to].name);
        return;
    }
    for (size_t i = 0; i < fx->n_links; i++)
        may[i] = true;
    if (!nodes[to].log_slave_updates)
        level_with(fx, nodes, to, skip1, skip2, final, may, may + fx->n_links);
    for (size_t i = 0; i < fx->n_links; i++) {
        if (!repointed(nodes, i, to, skip1, skip2) || !may[i])
            continue;
        uint64_t t = (uint64_t)hy_mono_ms();
        if (fx_repoint(fx, &fx->links[i], to, "slave_pos", false))
            fx_step(fx, LOG_LEVEL_INFO, "%s now replicates from %s (%llu ms)", nodes[i].name,
                    nodes[to].name, (unsigned long long)((uint64_t)hy_mono_ms() - t));
        else
            fx_step(fx, LOG_LEVEL_ERROR, "%s: repointing to %s failed: %s", nodes[i].name,
                    nodes[to].name, fx->links[i].err);
    }
    free(may);
}

/* Wait, at most wait_ms, until candidate c's SQL thread has applied
 * wait_pos (what it received: its relay log). */
bool fx_apply_relay_log(struct fx *fx, const struct failover_node *nodes, size_t c,
                        const char *wait_pos, int wait_ms)
{
    struct link *l = &fx->links[c];
    int t = fx->cfg->connect_timeout_ms;
    uint64_t t0 = (uint64_t)hy_mono_ms();
    char sql[GTID_STR_MAX + 128], q[GTID_STR_MAX + 8];
    if (sql_quote(q, sizeof(q), wait_pos, SQ_BACKSLASH) == 0) {
        fx_step(fx, LOG_LEVEL_ERROR, "%s: the position %.64s is too long", nodes[c].name, wait_pos);
        return false;
    }
    snprintf(sql, sizeof(sql), "SELECT MASTER_GTID_WAIT(%s, %.3f)", q, wait_ms / 1000.0);
    if (!fx_link_run(fx, l, sql, wait_ms + t)) {
        fx_step(fx, LOG_LEVEL_ERROR, "%s: waiting for %s failed: %s", nodes[c].name, wait_pos,
                l->err);
        return false;
    }
    const char *v = fx_link_cell(l, 0);
    if (v == NULL || strcmp(v, "0") != 0) {
        fx_step(fx, LOG_LEVEL_ERROR, "%s did not reach %s within %d ms", nodes[c].name, wait_pos,
                wait_ms);
        return false;
    }
    fx_step(fx, LOG_LEVEL_INFO, "%s has applied %s (%llu ms)", nodes[c].name, wait_pos,
            (unsigned long long)((uint64_t)hy_mono_ms() - t0));
    return true;
}

/* Candidate c takes the transactions it lacks from replica d (ahead of it:
 * promotion = never, maintenance or a zone rule kept d from being the
 * candidate): d applies what it received, so that its binlog holds it, then
 * c replicates from d until it has d's position. False when that could not
 * be done within wait_ms; c then replicates from d, or from whom it did. */
bool fx_catch_up(struct fx *fx, const struct failover_node *nodes, size_t c, size_t d, int wait_ms)
{
    struct gtid_pos target;
    char pos[GTID_STR_MAX];
    failover_eventual_pos(&nodes[d], &target);
    gtid_pos_format(&target, pos, sizeof(pos));
    uint64_t t0 = (uint64_t)hy_mono_ms();
    fx_step(fx, LOG_LEVEL_WARN, "%s lacks transactions %s has (%s): it takes them first",
            nodes[c].name, nodes[d].name, pos);
    if (!fx_apply_relay_log(fx, nodes, d, pos, wait_ms))
        return false;
    if (!fx_repoint(fx, &fx->links[c], d, "slave_pos", false)) {
        fx_step(fx, LOG_LEVEL_ERROR, "%s: replicating from %s failed: %s", nodes[c].name,
                nodes[d].name, fx->links[c].err);
        return false;
    }
    if (!fx_apply_relay_log(fx, nodes, c, pos, wait_ms))
        return false;
    fx_step(fx, LOG_LEVEL_INFO, "%s took from %s what it lacked, up to %s (%llu ms)", nodes[c].name,
            nodes[d].name, pos, (unsigned long long)((uint64_t)hy_mono_ms() - t0));
    return true;
}

/* Make candidate c a primary: apply what it received, leave replication,
 * writable. */
bool fx_make_primary(struct fx *fx, const struct failover_node *nodes, size_t c,
                     const char *wait_pos, int wait_ms)
{
    struct link *l = &fx->links[c];
    int t = fx->cfg->connect_timeout_ms;
    if (wait_pos != NULL && wait_pos[0] != '\0' &&
        !fx_apply_relay_log(fx, nodes, c, wait_pos, wait_ms))
        return false;
    uint64_t t0 = (uint64_t)hy_mono_ms();
    if (!fx_link_run(fx, l, "STOP ALL SLAVES", t) || !fx_link_run(fx, l, "RESET SLAVE ALL", t) ||
        !fx_link_run(fx, l, "SET GLOBAL read_only = 0", t)) {
        fx_step(fx, LOG_LEVEL_ERROR, "%s: promotion failed: %s", nodes[c].name, l->err);
        return false;
    }
    fx_step(fx, LOG_LEVEL_INFO,
            "%s promoted: STOP ALL SLAVES, RESET SLAVE ALL, SET GLOBAL read_only = 0 (%llu ms)",
            nodes[c].name, (unsigned long long)((uint64_t)hy_mono_ms() - t0));
    return true;
}

void fx_publish_primary(struct fx *fx, size_t c, int old, const char *why, enum proof_promotion how)
{
    const struct config *cfg = fx->cfg;
    struct backend_rt *rt = cfg->backends[c].rt;
    atomic_store(&rt->promoted_how, (int)how); /* before: the sessions read it after */
    backend_mark_failover(rt);
    backend_set_fenced(rt, false, why);
    backend_set_role(rt, ROLE_PRIMARY, why);
    if (old >= 0 && (size_t)old != c) {
        backend_mark_failover(cfg->backends[old].rt);
        backend_set_fenced(cfg->backends[old].rt, true, why);
        backend_set_role(cfg->backends[old].rt, ROLE_REPLICA, why);
    }
    fx_step(fx, LOG_LEVEL_INFO, "routing: writes go to %s", cfg->backends[c].name);
}

bool fx_switchover_allowed(struct fx *fx, bool promote, const char *reason, int old, size_t c)
{
    if (!promote) {
        fx_step(fx, LOG_LEVEL_ERROR, "switchover refused: %s", reason);
        return false;
    }
    fx_step(fx, LOG_LEVEL_INFO, "%s", reason);
    return fx_pre_failover_allows(fx, "switchover", true, old, c, reason);
}

/* alerts.pre_failover: run it with the failover_started event the
 * procedure is about to be, and wait (this thread only). True: go on.
 * Anything but exit 0 within the timeout, or a command that cannot run,
 * vetoes: logged as a step (so audited with the procedure), and an event. */
bool fx_pre_failover_allows(struct fx *fx, const char *procedure, bool manual, int old, size_t c,
                            const char *reason)
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
    uint64_t t0 = (uint64_t)hy_mono_ms();
    pid_t pid;
    bool killed = false;
    int st = -1;
    if (spawn_start(ac->pre_failover, procedure, env.envp, json, len, &pid, err, sizeof(err)) !=
        HY_OK) {
        snprintf(how, sizeof(how), "could not run: %s", err);
    } else {
        st = spawn_wait(pid, ac->pre_failover_timeout_ms, &killed);
        if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && !killed) {
            fx_step(fx, LOG_LEVEL_INFO, "alerts.pre_failover: exit 0 (%llu ms): %s goes on",
                    (unsigned long long)((uint64_t)hy_mono_ms() - t0), procedure);
            return true;
        }
        if (killed) {
            snprintf(how, sizeof(how), "killed after pre_failover_timeout_ms (%d ms)",
                     ac->pre_failover_timeout_ms);
        } else {
            char code[48];
            spawn_status_str(st, code, sizeof(code));
            snprintf(how, sizeof(how), "%s (%llu ms)", code,
                     (unsigned long long)((uint64_t)hy_mono_ms() - t0));
        }
    }
    fx->vetoed = true;
    fx_step(fx, LOG_LEVEL_WARN, "%s vetoed by alerts.pre_failover: %s", procedure, how);
    char why[EVENT_TEXT_MAX];
    snprintf(why, sizeof(why), "%s (%s) of %s by %s vetoed by alerts.pre_failover: %s", procedure,
             manual ? "admin" : "auto", oldn, cand, how);
    events_emit(EVENT_FAILOVER_VETOED, cand, oldn, cand, why,
                manual ? "nothing changed" : "nothing changed; asked again in 5 s");
    return false;
}

/* Wait until no statement runs on backend i (in-flight writes finish
 * before read_only is set) and no session of this halyard has a
 * transaction open there (its statements still go there), at most ms. */
void fx_wait_quiet(const struct config *cfg, size_t i, int ms)
{
    uint64_t until = (uint64_t)hy_mono_ms() + (uint64_t)ms;
    struct backend_rt *rt = cfg->backends[i].rt;
    while ((atomic_load_explicit(&rt->outstanding, memory_order_relaxed) > 0 ||
            atomic_load_explicit(&rt->trx_open, memory_order_relaxed) > 0) &&
           (uint64_t)hy_mono_ms() < until) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* SET GLOBAL read_only on backend i as the procedure `ap` (the caller
 * fills its event, backend, from, to and reason): the reason logged as the
 * step when it is done, the error when not, and the procedure audited.
 * Returns ap->ok. */
bool fx_read_only_procedure(struct fx *fx, size_t i, bool on, struct audit_procedure *ap)
{
    const char *sql = on ? "SET GLOBAL read_only = 1" : "SET GLOBAL read_only = 0";
    ap->ok = fx_link_run(fx, &fx->links[i], sql, fx->cfg->connect_timeout_ms);
    if (ap->ok)
        fx_step(fx, LOG_LEVEL_WARN, "%s", ap->reason);
    else
        fx_step(fx, LOG_LEVEL_ERROR, "%s: %s failed: %s", ap->backend, sql, fx->links[i].err);
    fx_audit(fx, ap);
    return ap->ok;
}

/* The primary `p` (-1 = none) is `reachable` or not at `now`: since when it
 * has been lost (fx->g->down_idx, down_since_ms), announced once
 * (primary_lost); a refusal's note is withdrawn when it answers again. */
void fx_track_primary(struct fx *fx, int p, bool reachable, uint64_t now)
{
    const struct config *cfg = fx->cfg;
    if (p >= 0 && !reachable) {
        if (fx->g->down_idx != p) {
            fx->g->down_idx = p;
            fx->g->down_since_ms = now;
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
        if ((fx->g->down_idx >= 0 || fx->g->no_majority) && fx->g->cut_off_idx < 0)
            backend_set_failover_note(group_of(fx->cfg)->name,
                                      NULL); /* a cut-off primary's note stays while it holds */
        fx->g->down_idx = -1;
        fx->g->no_majority = fx->quiet = false;
    }
}

/* Transactions open on the server of link `l` (other than the link's own,
 * and the server's internal ones) are left to end, within `ms`: their
 * statements still go there (a transaction finishes where it began) while
 * new writes wait. Returns how many are still open (-1: not known). */
static int wait_transactions(struct fx *fx, struct link *l, int ms)
{
    uint64_t until = (uint64_t)hy_mono_ms() + (uint64_t)ms;
    for (;;) {
        if (!fx_link_run(fx, l,
                         "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE "
                         "trx_mysql_thread_id NOT IN (0, CONNECTION_ID())",
                         fx->cfg->connect_timeout_ms))
            return -1;
        const char *n = fx_link_cell(l, 0);
        int64_t open; /* NULL or not a number: -1, not known */
        if (!hy_str_i64(n, 0, INT32_MAX, &open))
            open = -1;
        if (open == 0 || (uint64_t)hy_mono_ms() >= until)
            return open;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* The first half of a switchover from `old`: new writes wait (sessions look
 * for a primary and find none), statements in flight there finish, then the
 * transactions open there (both bounded), then read_only = 1; its @@gtid_binlog_pos then, what the
 * new primary must apply, in pos. False when it could not be made read-only: undo with
 * fx_resume_writes(). */
bool fx_pause_writes(struct fx *fx, const struct failover_node *nodes, size_t old, char *pos,
                     size_t poslen)
{
    const struct config *cfg = fx->cfg;
    int t = cfg->connect_timeout_ms;
    struct link *ol = &fx->links[old];
    struct backend_rt *ort = cfg->backends[old].rt;
    backend_set_failover_busy(group_of(fx->cfg)->name, true);
    backend_mark_failover(ort);
    backend_set_fenced(ort, true, "switchover: writes paused");
    backend_set_role(ort, ROLE_REPLICA, "switchover: writes paused");
    uint64_t t0 = (uint64_t)hy_mono_ms();
    fx_wait_quiet(cfg, old, HY_MIN(2000, cfg->switchover_timeout_ms));
    fx_step(fx, LOG_LEVEL_INFO, "writes paused; statements in flight on %s done (%llu ms)",
            nodes[old].name, (unsigned long long)((uint64_t)hy_mono_ms() - t0));
    t0 = (uint64_t)hy_mono_ms();
    int open = wait_transactions(fx, ol, HY_MIN(2000, cfg->switchover_timeout_ms));
    fx_step(fx, open == 0 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN,
            "%s: %d transaction(s) still open after %llu ms%s", nodes[old].name, open,
            (unsigned long long)((uint64_t)hy_mono_ms() - t0),
            open == 0 ? "" : ": their next statement fails (read_only)");
    t0 = (uint64_t)hy_mono_ms();
    if (!fx_link_run(fx, ol, "SET GLOBAL read_only = 1", cfg->switchover_timeout_ms + t) ||
        !fx_link_run(fx, ol, "SELECT @@gtid_binlog_pos", t)) {
        fx_step(fx, LOG_LEVEL_ERROR, "%s: SET GLOBAL read_only = 1 failed: %s", nodes[old].name,
                ol->err);
        return false;
    }
    snprintf(pos, poslen, "%s", fx_link_cell(ol, 0) != NULL ? fx_link_cell(ol, 0) : "");
    fx_step(fx, LOG_LEVEL_INFO, "%s is read_only at %s (%llu ms)", nodes[old].name, pos,
            (unsigned long long)((uint64_t)hy_mono_ms() - t0));
    return true;
}

/* Undo fx_pause_writes(): `old` writable and the primary again. */
void fx_resume_writes(struct fx *fx, const struct failover_node *nodes, size_t old)
{
    struct link *ol = &fx->links[old];
    struct backend_rt *ort = fx->cfg->backends[old].rt;
    if (fx_link_run(fx, ol, "SET GLOBAL read_only = 0", fx->cfg->connect_timeout_ms))
        fx_step(fx, LOG_LEVEL_WARN, "rolled back: %s is writable again", nodes[old].name);
    else
        fx_step(fx, LOG_LEVEL_ERROR, "rollback: SET GLOBAL read_only = 0 on %s failed: %s",
                nodes[old].name, ol->err);
    backend_mark_failover(ort);
    backend_set_fenced(ort, false, "switchover rolled back");
    backend_set_role(ort, ROLE_PRIMARY, "switchover rolled back");
}

/* An automatic failover that was not done: try again after a random
 * 100-500 ms, since two halyards that each got the lock on half of the
 * servers would meet again at every tick. Without a majority in reach,
 * once a second; after a veto by alerts.pre_failover, in 5 s (ask again,
 * not in a loop). */
void fx_retry_later(struct fx *fx)
{
    uint64_t wait = (fx->g->no_majority ? 1000 : 100) + (uint64_t)(rand_r(&fx->seed) % 400);
    if (fx->vetoed)
        wait = 5000;
    fx->g->next_try_ms = (uint64_t)hy_mono_ms() + wait;
    fx_step(fx, LOG_LEVEL_WARN, "failover not done; trying again in %llu ms",
            (unsigned long long)wait);
}

/* The end of a failover or switchover: counted in halyard_failovers_total
 * once it was attempted, audited when it is a record (the caller says), the
 * sessions' writes resumed, the links closed. Returns o->ok. */
bool fx_procedure_end(struct fx *fx, struct survey *sv, const struct fx_outcome *o)
{
    const struct config *cfg = fx->cfg;
    if (o->attempted)
        atomic_fetch_add_explicit(&failover_counts[o->switchover][o->ok], 1, memory_order_relaxed);
    if (o->record) {
        const char *to = o->to >= 0 ? cfg->backends[o->to].name : NULL;
        const char *from = o->from >= 0 ? cfg->backends[o->from].name : NULL;
        struct audit_procedure ap = {.event = o->switchover ? "switchover" : "failover",
                                     .trigger = o->manual ? "admin" : "auto",
                                     .backend = to != NULL ? to : o->target,
                                     .from = from,
                                     .to = o->ok ? to : from,
                                     .reason = o->reason,
                                     .ok = o->ok};
        fx_audit(fx, &ap);
    }
    backend_set_failover_busy(group_of(fx->cfg)->name, false);
    fx_survey_end(fx, sv);
    return o->ok;
}

/* The procedure's last step: writes go to c now, in place of old (-1 =
 * none), published with the reason "<procedure>: c replaces old"; `what`
 * is what c is called ("primary", "active"). */
void fx_publish_done(struct fx *fx, const char *procedure, size_t c, int old, const char *what,
                     enum proof_promotion how)
{
    const struct config *cfg = fx->cfg;
    const char *oldn = old >= 0 ? cfg->backends[old].name : "(none)";
    char why[200];
    snprintf(why, sizeof(why), "%s: %s replaces %s", procedure, cfg->backends[c].name, oldn);
    fx_publish_primary(fx, c, old, why, how);
    fx_step(fx, LOG_LEVEL_WARN, "%s done: %s is the %s (%llu ms since the decision)", procedure,
            cfg->backends[c].name, what, (unsigned long long)((uint64_t)hy_mono_ms() - fx->t0_ms));
}

/* fx_procedure_end() for an admin's switchover. */
bool fx_switchover_end(struct fx *fx, struct survey *sv, bool attempted, bool ok, int to, int from,
                       const char *target, const char *reason)
{
    return fx_procedure_end(fx, sv,
                            &(struct fx_outcome){.switchover = true,
                                                 .manual = true,
                                                 .attempted = attempted,
                                                 .record = true,
                                                 .ok = ok,
                                                 .to = to,
                                                 .from = from,
                                                 .target = target,
                                                 .reason = reason});
}
