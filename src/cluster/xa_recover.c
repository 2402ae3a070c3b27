/*
 * xa_recover.c: transactions across groups left in doubt, resolved
 * (xa_recover.h). One thread, one loop; a round walks the groups one
 * after the other with one sqlclient: connect, XA RECOVER, then XA COMMIT
 * or XA ROLLBACK for each of this instance's prepared XIDs, as the log
 * says. The list `show xa` reads is published under a mutex at the end of
 * each round (and after each group's XA RECOVER).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "halyard/core/text.h"
#include "halyard/config/config.h"
#include "halyard/config/group.h"
#include "halyard/core/log.h"
#include "halyard/cluster/primary_client.h"
#include "halyard/protocol/mysql_errors.h"
#include "halyard/protocol/sqlclient.h"
#include "halyard/core/textbuf.h"
#include "halyard/cluster/xa_recover.h"

#define TICK_S           1.0
#define MAX_INDOUBT      4096
#define ROLLBACK_GRACE_S 3 /* an undecided XID found is rolled back this much later */

struct branch { /* a prepared XID found on the group being read */
    char gtrid[XA_GTRID_MAX + 1];
    char bqual[XA_GROUP_MAX + 1];
};

static struct {
    pthread_mutex_t mu;
    pthread_t thread;
    bool running;
    struct ev_loop *loop;
    ev_timer tick;
    ev_async wake;
    /* under mu */
    struct config *cfg_new;
    bool stop;
    bool kick;
    char (*abandoned)[XA_GTRID_MAX + 1]; /* this process's undecided XIDs no session holds */
    size_t n_abandoned;
    struct xa_in_doubt *pub;
    size_t n_pub;
    /* the thread's */
    struct config *cfg;
    bool want;     /* a round is to run (xa on, not all resolved yet) */
    bool in_round; /* one runs */
    bool clean;    /* every group read and every resolution done this round */
    size_t g;
    struct sqlclient *c;
    char prefix[40], own[64];
    struct xa_in_doubt *v; /* the round's list */
    size_t n;
    bool *resolved; /* per entry of v: its branches found this round all resolved */
    struct branch *br;
    size_t n_br, at;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER};

static _Atomic size_t in_doubt;

static void group_next(void);

/* Whether a session of this process gave `gtrid` up (xa_recover_abandon). */
static bool abandoned(const char *gtrid)
{
    bool found = false;
    pthread_mutex_lock(&R.mu);
    for (size_t i = 0; i < R.n_abandoned && !found; i++)
        found = strcmp(R.abandoned[i], gtrid) == 0;
    pthread_mutex_unlock(&R.mu);
    return found;
}

static void publish(void)
{
    struct xa_in_doubt *copy = NULL;
    if (R.n > 0 && (copy = malloc(R.n * sizeof(*copy))) == NULL)
        return;
    if (R.n > 0)
        memcpy(copy, R.v, R.n * sizeof(*copy));
    pthread_mutex_lock(&R.mu);
    free(R.pub);
    R.pub = copy;
    R.n_pub = R.n;
    pthread_mutex_unlock(&R.mu);
    atomic_store(&in_doubt, R.n);
}

static struct xa_in_doubt *entry_find(const char *gtrid)
{
    for (size_t i = 0; i < R.n; i++) {
        if (strcmp(R.v[i].gtrid, gtrid) == 0)
            return &R.v[i];
    }
    return NULL;
}

static struct xa_in_doubt *entry_add(const char *gtrid, bool commit, int64_t since)
{
    struct xa_in_doubt *e = entry_find(gtrid);
    if (e != NULL || R.n == MAX_INDOUBT)
        return e;
    e = &R.v[R.n];
    memset(e, 0, sizeof(*e));
    snprintf(e->gtrid, sizeof(e->gtrid), "%s", gtrid);
    e->commit = commit;
    e->since = since;
    R.resolved[R.n] = true;
    R.n++;
    return e;
}

static void group_add(struct xa_in_doubt *e, const char *group)
{
    size_t gl = strlen(group);
    for (const char *p = e->groups; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t l = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (l == gl && memcmp(p, group, gl) == 0)
            return;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    size_t n = strlen(e->groups);
    snprintf(e->groups + n, sizeof(e->groups) - n, "%s%s", n ? "," : "", group);
}

static void note_all(const char *fmt, const char *a, const char *b)
{
    for (size_t i = 0; i < R.n; i++)
        snprintf(R.v[i].note, sizeof(R.v[i].note), fmt, a, b);
}

static bool held(void)
{
    const char *hold = getenv("HALYARD_TEST_XA_RECOVER_HOLD");
    return hold != NULL && access(hold, F_OK) != 0;
}

static void round_end(void)
{
    const struct config *cfg = R.cfg;
    size_t out = 0;
    for (size_t i = 0; i < R.n; i++) {
        struct xa_in_doubt *e = &R.v[i];
        if (R.clean && R.resolved[i]) {
            if (e->commit) {
                char rec[XA_GTRID_MAX + 8];
                snprintf(rec, sizeof(rec), "D %s\n", e->gtrid);
                if (xa_log_append(cfg->xa_log, rec, strlen(rec)) != HY_OK) {
                    hy_log_warn("xa recovery: cannot mark %s done in %s: %s", e->gtrid, cfg->xa_log,
                                strerror(errno));
                    R.clean = false;
                    R.v[out++] = *e;
                    continue;
                }
            }
            hy_log_info("xa recovery: %s resolved (%s on %s)", e->gtrid,
                        e->commit ? "committed" : "rolled back",
                        e->groups[0] ? e->groups : "no group: nothing was prepared");
            continue;
        }
        R.v[out++] = *e;
    }
    R.n = out;
    publish();
    R.in_round = false;
    if (R.clean && R.n == 0) {
        R.want = false;
        hy_log_info("xa recovery: nothing in doubt");
    }
}

static void client_done(void)
{
    sqlclient_destroy(R.c);
    R.c = NULL;
    R.g++;
    group_next();
}

static void resolve_next(void);

static void on_resolved(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    (void)arg;
    struct branch *b = &R.br[R.at];
    struct xa_in_doubt *e = entry_find(b->gtrid);
    const char *gname = R.cfg->groups[R.g].name;
    if (!res->ok && res->err_code == ER_XAER_NOTA) {
        /* Gone since XA RECOVER listed it: ended by the live session of
         * this process that decided it (its XA COMMIT came first), the
         * outcome the log says. Done, not a failure: a round that counted
         * it as one would never be clean under load, and would come back
         * every second reading the whole log. */
        hy_log_info("xa recovery: '%s','%s' on group %s already ended (XAER_NOTA)", b->gtrid,
                    b->bqual, gname);
    } else if (!res->ok) {
        R.clean = false;
        hy_log_warn("xa recovery: XA %s '%s','%s' on group %s failed: %s",
                    e != NULL && e->commit ? "COMMIT" : "ROLLBACK", b->gtrid, b->bqual, gname,
                    res->err_msg);
        if (e != NULL) {
            R.resolved[e - R.v] = false;
            snprintf(e->note, sizeof(e->note), "group %s: %s", gname, res->err_msg);
        }
    } else {
        hy_log_info("xa recovery: %s '%s','%s' on group %s",
                    e != NULL && e->commit ? "committed" : "rolled back", b->gtrid, b->bqual,
                    gname);
    }
    R.at++;
    resolve_next();
}

static void resolve_next(void)
{
    if (R.at == R.n_br) {
        client_done();
        return;
    }
    struct branch *b = &R.br[R.at];
    struct xa_in_doubt *e = entry_find(b->gtrid);
    if (held()) {
        R.clean = false;
        if (e != NULL) {
            R.resolved[e - R.v] = false;
            snprintf(e->note, sizeof(e->note), "held (HALYARD_TEST_XA_RECOVER_HOLD)");
        }
        R.at++;
        resolve_next();
        return;
    }
    if (e != NULL && !e->commit && (int64_t)time(NULL) - e->since < ROLLBACK_GRACE_S) {
        /* Not decided: rolled back only once no live process can still
         * decide it (a takeover's old process finishing its commits). */
        R.clean = false;
        R.resolved[e - R.v] = false;
        snprintf(e->note, sizeof(e->note), "undecided: rolled back %d s after it was found",
                 ROLLBACK_GRACE_S);
        R.at++;
        resolve_next();
        return;
    }
    char sql[200];
    snprintf(sql, sizeof(sql), "XA %s '%s','%s'", e != NULL && e->commit ? "COMMIT" : "ROLLBACK",
             b->gtrid, b->bqual);
    if (sqlclient_query(R.c, sql, on_resolved, NULL) != HY_OK) {
        R.clean = false;
        client_done();
    }
}

static void on_recover(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    (void)arg;
    const char *gname = R.cfg->groups[R.g].name;
    if (!res->ok) {
        R.clean = false;
        hy_log_warn("xa recovery: XA RECOVER on group %s failed: %s", gname, res->err_msg);
        for (size_t i = 0; i < R.n; i++)
            snprintf(R.v[i].note, sizeof(R.v[i].note), "group %s: XA RECOVER failed: %s", gname,
                     res->err_msg);
        client_done();
        return;
    }
    int cg = sqlresult_col(res, "gtrid_length"), cb = sqlresult_col(res, "bqual_length"),
        cd = sqlresult_col(res, "data");
    free(R.br);
    R.br = calloc(res->n_rows ? res->n_rows : 1, sizeof(*R.br));
    R.n_br = 0;
    R.at = 0;
    if (R.br == NULL) {
        R.clean = false;
        client_done();
        return;
    }
    size_t plen = strlen(R.prefix), olen = strlen(R.own);
    for (size_t r = 0; r < res->n_rows; r++) {
        const char *gl = sqlresult_get(res, r, cg), *bl = sqlresult_get(res, r, cb),
                   *d = sqlresult_get(res, r, cd);
        if (gl == NULL || bl == NULL || d == NULL)
            continue;
        uint64_t g, b; /* a length that is not a number: not a branch of ours */
        if (!hy_str_u64(gl, XA_GTRID_MAX, &g) || !hy_str_u64(bl, XA_GROUP_MAX, &b) || g == 0 ||
            strlen(d) != g + b)
            continue;
        struct branch *x = &R.br[R.n_br];
        memcpy(x->gtrid, d, g);
        x->gtrid[g] = '\0';
        memcpy(x->bqual, d + g, b);
        x->bqual[b] = '\0';
        /* this instance's; of this process, only the decided ones (an
         * undecided one is a live session's) */
        if (strncmp(x->gtrid, R.prefix, plen) != 0 || !xa_log_name_ok(x->gtrid, XA_GTRID_MAX))
            continue;
        if (strncmp(x->gtrid, R.own, olen) == 0 &&
            (entry_find(x->gtrid) == NULL || !entry_find(x->gtrid)->commit) && !abandoned(x->gtrid))
            continue;
        struct xa_in_doubt *e = entry_add(x->gtrid, false, (int64_t)time(NULL));
        if (e == NULL)
            continue;
        group_add(e, x->bqual[0] ? x->bqual : gname);
        e->note[0] = '\0';
        R.n_br++;
    }
    publish();
    resolve_next();
}

static void on_connect(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)arg;
    const char *gname = R.cfg->groups[R.g].name;
    if (!res->ok) {
        R.clean = false;
        note_all("group %s unreachable: %s", gname, res->err_msg);
        client_done();
        return;
    }
    if (sqlclient_query(c, "XA RECOVER", on_recover, NULL) != HY_OK) {
        R.clean = false;
        client_done();
    }
}

static void group_next(void)
{
    while (R.g < R.cfg->n_groups) {
        const struct config_group *grp = &R.cfg->groups[R.g];
        char name[64];
        const char *why = NULL;
        R.c = primary_client_create(R.loop, group_view(R.cfg, R.g), name, sizeof(name), &why);
        if (R.c != NULL && sqlclient_connect(R.c, on_connect, NULL) == HY_OK)
            return;
        sqlclient_destroy(R.c);
        R.c = NULL;
        R.clean = false;
        note_all("group %s unreachable: %s", grp->name, why != NULL ? why : "cannot connect");
        R.g++;
    }
    round_end();
}

static void round_start(void)
{
    const struct config *cfg = R.cfg;
    struct xa_log_state st;
    if (xa_log_load(cfg->xa_log, &st) != HY_OK) {
        hy_log_warn("xa recovery: cannot read %s: %s", cfg->xa_log, strerror(errno));
        return; /* the next tick tries again */
    }
    xa_log_prefix(cfg->xa_log, R.prefix, sizeof(R.prefix));
    snprintf(R.own, sizeof(R.own), "%s%" PRId64 "-", R.prefix, xa_log_process_start());
    if (st.torn)
        hy_log_warn("xa recovery: %s ends in a torn line (a crash while it was written): "
                    "ignored",
                    cfg->xa_log);
    if (st.bad_lines > 0)
        hy_log_warn("xa recovery: %s: %zu line(s) that are no record, skipped", cfg->xa_log,
                    st.bad_lines);
    R.n = 0;
    for (size_t i = 0; i < st.n; i++) {
        const struct xa_decision *d = &st.v[i];
        struct xa_in_doubt *e = entry_add(d->gtrid, true, d->when);
        if (e == NULL)
            continue;
        for (size_t k = 0; k < d->n_groups; k++)
            group_add(e, d->groups[k]);
    }
    /* keep what was listed before (since, notes) for those still in doubt */
    pthread_mutex_lock(&R.mu);
    for (size_t i = 0; i < R.n_pub; i++) {
        struct xa_in_doubt *e = entry_find(R.pub[i].gtrid);
        if (e != NULL) {
            e->since = R.pub[i].since;
            snprintf(e->note, sizeof(e->note), "%s", R.pub[i].note);
        } else if (!R.pub[i].commit && R.n < MAX_INDOUBT) {
            R.v[R.n] = R.pub[i]; /* to roll back: found again on its groups, or gone */
            R.v[R.n].groups[0] = '\0';
            R.resolved[R.n] = true;
            R.n++;
        }
    }
    pthread_mutex_unlock(&R.mu);
    xa_log_state_free(&st);
    R.in_round = true;
    R.clean = true;
    R.g = 0;
    group_next();
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    pthread_mutex_lock(&R.mu);
    bool stop = R.stop;
    struct config *fresh = R.cfg_new;
    bool kick = R.kick;
    R.kick = false;
    if (!R.in_round)
        R.cfg_new = NULL;
    pthread_mutex_unlock(&R.mu);
    if (stop) {
        sqlclient_destroy(R.c);
        R.c = NULL;
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    if (fresh != NULL && !R.in_round) {
        config_put(R.cfg);
        R.cfg = fresh;
        R.want = R.cfg->shards_xa && R.cfg->xa_log[0] != '\0';
    }
    if (kick && R.cfg != NULL && R.cfg->shards_xa)
        R.want = true;
    if (R.want && !R.in_round)
        round_start();
}

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)w;
    tick_cb(loop, &R.tick, revents);
}

static void *recover_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "xa-recover");
    ev_run(R.loop, 0);
    return NULL;
}

hy_status_t xa_recover_start(struct config *cfg, char *err, size_t errlen)
{
    R.v = calloc(MAX_INDOUBT, sizeof(*R.v));
    R.resolved = calloc(MAX_INDOUBT, sizeof(*R.resolved));
    R.loop = ev_loop_new(EVFLAG_AUTO);
    if (R.v == NULL || R.resolved == NULL || R.loop == NULL) {
        snprintf(err, errlen, "xa recovery: out of memory");
        return HY_ERROR;
    }
    (void)xa_log_process_start();
    R.cfg_new = config_get(cfg);
    ev_timer_init(&R.tick, tick_cb, 0., TICK_S);
    ev_timer_start(R.loop, &R.tick);
    ev_async_init(&R.wake, wake_cb);
    ev_async_start(R.loop, &R.wake);
    int rc = pthread_create(&R.thread, NULL, recover_main, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "xa recovery: cannot start its thread: %s", strerror(rc));
        return HY_ERROR;
    }
    R.running = true;
    return HY_OK;
}

void xa_recover_set_config(struct config *cfg)
{
    if (!R.running)
        return;
    pthread_mutex_lock(&R.mu);
    if (R.cfg_new != NULL)
        config_put(R.cfg_new);
    R.cfg_new = config_get(cfg);
    pthread_mutex_unlock(&R.mu);
    ev_async_send(R.loop, &R.wake);
}

void xa_recover_stop(void)
{
    if (!R.running)
        return;
    pthread_mutex_lock(&R.mu);
    R.stop = true;
    pthread_mutex_unlock(&R.mu);
    ev_async_send(R.loop, &R.wake);
    pthread_join(R.thread, NULL);
    R.running = false;
    ev_loop_destroy(R.loop);
    if (R.cfg_new != NULL)
        config_put(R.cfg_new);
    if (R.cfg != NULL)
        config_put(R.cfg);
    free(R.pub);
    free(R.abandoned);
    free(R.v);
    free(R.resolved);
    free(R.br);
}

void xa_recover_kick(void)
{
    if (!R.running)
        return;
    pthread_mutex_lock(&R.mu);
    R.kick = true;
    pthread_mutex_unlock(&R.mu);
    ev_async_send(R.loop, &R.wake);
}

void xa_recover_abandon(const char *gtrid)
{
    if (!R.running)
        return;
    pthread_mutex_lock(&R.mu);
    if (R.n_abandoned < MAX_INDOUBT) {
        if (R.abandoned == NULL)
            R.abandoned = calloc(MAX_INDOUBT, sizeof(*R.abandoned));
        if (R.abandoned != NULL)
            snprintf(R.abandoned[R.n_abandoned++], sizeof(R.abandoned[0]), "%s", gtrid);
    }
    R.kick = true;
    pthread_mutex_unlock(&R.mu);
    ev_async_send(R.loop, &R.wake);
}

size_t xa_recover_list(struct xa_in_doubt **out)
{
    pthread_mutex_lock(&R.mu);
    size_t n = R.n_pub;
    *out = NULL;
    if (n > 0 && (*out = malloc(n * sizeof(**out))) != NULL)
        memcpy(*out, R.pub, n * sizeof(**out));
    else
        n = 0;
    pthread_mutex_unlock(&R.mu);
    return n;
}

size_t xa_recover_count(void)
{
    return atomic_load(&in_doubt);
}
