/*
 * users.c: the servers' accounts shared by the workers, and their loader
 * on the monitor's loop (see users.h).
 *
 * The table is replaced whole under `users_lock`; a lookup copies the one
 * account it needs out under the same lock. Reads are counted: a read
 * asked for by a worker gets a ticket (the reads started so far), and the
 * read that serves it is the next one to finish past it, so a waiter
 * never takes an older table for a fresh one.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/core/grow.h"
#include "halyard/cluster/backend.h"
#include "halyard/config/group.h"
#include "halyard/cluster/primary_client.h"
#include "halyard/config/config.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_errors.h"
#include "halyard/protocol/sqlclient.h"
#include "halyard/cluster/users.h"
#include "halyard/core/hash.h"

/* Priv is JSON: the server's own JSON_VALUE() takes out what a login
 * needs, so halyard parses no JSON. The columns are accounts.h's ACOL_*. */
/* clang-format off */
#define J(path) "JSON_VALUE(Priv, '$." path "'), "
static const char USERS_SQL[] =
    "SELECT User, Host, "
    J("is_role") J("plugin") J("authentication_string")
    J("auth_or[0].plugin") J("auth_or[0].authentication_string")
    J("auth_or[1].plugin") J("auth_or[1].authentication_string")
    J("auth_or[2].plugin") J("auth_or[2].authentication_string")
    "JSON_LENGTH(Priv, '$.auth_or'), "
    J("account_locked") J("password_last_changed") J("password_lifetime")
    J("ssl_type") J("x509_subject") J("x509_issuer") J("max_user_connections")
    "@@default_password_lifetime, @@skip_name_resolve, @@disconnect_on_expired_password, "
    "@@secure_auth, MD5(Priv) "
    "FROM mysql.global_priv";
#undef J
/* clang-format on */

/* Reads a login asks for start at most this often (seconds): a scanner's
 * logins wait for the next one, they do not make more. */
#define REQUEST_MIN_S 1.0

/* Each group's accounts (group.h), by the group's name: read from its
 * own primary, they serve the logins of its listeners. */
#define USERS_GROUPS 64
struct group_table {
    char name[48];
    struct account_table t;
    bool loaded;     /* a read has succeeded */
    char error[256]; /* the last read's failure; "" = it succeeded */
};
static pthread_mutex_t users_lock = PTHREAD_MUTEX_INITIALIZER;
static struct group_table tables[USERS_GROUPS]; /* under users_lock */
static size_t n_tables;                         /* under users_lock */
static atomic_bool users_resolve;               /* the first group's server's */

static _Atomic uint64_t loads_started, loads_done;
static atomic_bool read_wanted; /* a login asked for a read */
static _Atomic(struct users_loader *) the_loader;
static atomic_int the_source; /* enum users_source of the loader's config */

struct users_loader {
    struct ev_loop *loop;
    ev_async wake;
    ev_timer timer;    /* every users_refresh_ms */
    ev_timer soon;     /* a read logins asked for, REQUEST_MIN_S after the last */
    double last_start; /* ev_now() when the last read started */
    struct config *cfg;
    struct sqlclient *sc;
    char backend[64];            /* the server being read */
    size_t g;                    /* ... the primary of this group of cfg */
    bool busy;                   /* a read is under way */
    bool again;                  /* asked for during it: one more after */
    bool failing[USERS_GROUPS];  /* per group: its last read failed (logged once a streak) */
    size_t last_n[USERS_GROUPS]; /* per group: accounts of its last read (logged on change) */
    uint64_t sum[USERS_GROUPS];  /* per group: privs_sum() of its last read, 0 = none yet */
    /* the read under way, its rows taken one by one (row_cb): 15,000
     * accounts are more than one answer of the SQL client may hold */
    struct account_table read;
    size_t read_cap, read_rows;
    uint64_t read_sum;    /* privs_sum() of the rows so far */
    const char *read_bad; /* why a row could not be taken, NULL */
};

/* When privileges last changed, in microseconds of ev_time(); 0 = never. */
static _Atomic uint64_t privileges_changed_us;

void users_privileges_changed(double when)
{
    uint64_t us = (uint64_t)(when * 1e6);
    uint64_t old = atomic_load_explicit(&privileges_changed_us, memory_order_relaxed);
    while (old < us &&
           !atomic_compare_exchange_weak_explicit(&privileges_changed_us, &old, us,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

uint64_t users_privileges_changed_us(void)
{
    return atomic_load_explicit(&privileges_changed_us, memory_order_relaxed);
}

/* A checksum of every account's row (user, host, MD5 of Priv), the same
 * whatever their order: the sum of each row's privs_row(), from 1; never
 * 0 (privs_sum). */
static uint64_t privs_row(char *const *row)
{
    uint64_t h = HY_HASH64_INIT;
    const int cols[] = {ACOL_USER, ACOL_HOST, ACOL_PRIV_MD5};
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        h = hy_hash64_str(h, row[cols[i]] != NULL ? row[cols[i]] : "", false);
        h = hy_hash64_byte(h, 0xff); /* the end of a column */
    }
    return h;
}

static uint64_t privs_sum(uint64_t sum)
{
    return sum != 0 ? sum : 1;
}

/* ---- the shared table ---------------------------------------------------- */

/* The table of `group` (users_lock held); a new one when `create`; NULL
 * when none (or no room). */
static struct group_table *table_of(const char *group, bool create)
{
    for (size_t i = 0; i < n_tables; i++) {
        if (strcmp(tables[i].name, group) == 0)
            return &tables[i];
    }
    if (!create || n_tables == USERS_GROUPS)
        return NULL;
    struct group_table *gt = &tables[n_tables++];
    memset(gt, 0, sizeof(*gt));
    snprintf(gt->name, sizeof(gt->name), "%s", group);
    return gt;
}

void users_lookup(const char *group, const char *user, const char *ip, struct users_answer *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&users_lock);
    const struct group_table *gt = table_of(group, false);
    if (gt == NULL || !gt->loaded) {
        pthread_mutex_unlock(&users_lock);
        return;
    }
    out->loaded = true;
    out->name_resolve = gt->t.name_resolve;
    out->disconnect_expired = gt->t.disconnect_expired;
    const char *hostname = out->name_resolve && accounts_loopback(ip) ? "localhost" : NULL;
    const struct account *a = accounts_find(&gt->t, user, hostname, ip);
    if (a != NULL) {
        out->found = true;
        out->acct = *a;
    } else {
        const struct account *st = accounts_stand_in(&gt->t, user);
        out->stand_in_socket = st != NULL && st->fail_no_mention;
        out->stand_in_socket_empty = st != NULL && st->fail_no_mention_empty;
    }
    pthread_mutex_unlock(&users_lock);
}

void users_info_get(struct users_info *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&users_lock);
    for (size_t i = 0; i < n_tables; i++) {
        out->loaded |= tables[i].loaded;
        out->accounts += tables[i].t.n;
        if (tables[i].error[0] != '\0' && out->error[0] == '\0')
            snprintf(out->error, sizeof(out->error), "%s%s%.200s",
                     n_tables > 1 ? tables[i].name : "", n_tables > 1 ? ": " : "", tables[i].error);
    }
    pthread_mutex_unlock(&users_lock);
    out->reads = atomic_load(&loads_done);
}

bool users_name_resolve(void)
{
    return atomic_load_explicit(&users_resolve, memory_order_relaxed);
}

/* `t` becomes group `group`'s table (`first`: the first group's). */
static void publish(const char *group, bool first, struct account_table *t)
{
    pthread_mutex_lock(&users_lock);
    struct group_table *gt = table_of(group, true);
    struct account *old = NULL;
    if (gt != NULL) {
        old = gt->t.v;
        gt->t = *t;
        gt->loaded = true;
    } else {
        old = t->v;
    }
    pthread_mutex_unlock(&users_lock);
    if (first)
        atomic_store(&users_resolve, t->name_resolve);
    free(old);
}

void users_clear(void)
{
    pthread_mutex_lock(&users_lock);
    for (size_t i = 0; i < n_tables; i++)
        free(tables[i].t.v);
    memset(tables, 0, sizeof(tables));
    n_tables = 0;
    pthread_mutex_unlock(&users_lock);
}

bool users_refresh_request(uint64_t *ticket)
{
    struct users_loader *l = atomic_load(&the_loader);
    if (l == NULL || atomic_load(&the_source) == USERS_CONFIG)
        return false;
    /* any read that starts from now on serves this login */
    *ticket = atomic_load(&loads_started);
    atomic_store(&read_wanted, true);
    ev_async_send(l->loop, &l->wake);
    return true;
}

uint64_t users_loads_done(void)
{
    return atomic_load(&loads_done);
}

/* ---- the loader ------------------------------------------------------------ */

static void load_start(struct users_loader *l);
static void read_asked(struct users_loader *l);
static void group_start(struct users_loader *l);

/* The read of group l->g's accounts ended: the next group's, or the read
 * is over. */
static void load_end(struct users_loader *l, bool ok, const char *why)
{
    if (l->sc != NULL) {
        sqlclient_destroy(l->sc);
        l->sc = NULL;
    }
    /* A reload during the read may have left fewer groups. */
    const char *group = l->g < l->cfg->n_groups ? l->cfg->groups[l->g].name : "";
    size_t slot = l->g < USERS_GROUPS ? l->g : USERS_GROUPS - 1;
    if (!ok && !l->failing[slot])
        hy_log_warn("users: cannot read the accounts from %s: %s (group %s)", l->backend, why,
                    group);
    else if (ok && l->failing[slot])
        hy_log_info("users: the accounts are read from %s again (group %s)", l->backend, group);
    l->failing[slot] = !ok;
    pthread_mutex_lock(&users_lock);
    struct group_table *gt = table_of(group, true);
    if (gt != NULL)
        snprintf(gt->error, sizeof(gt->error), "%s", ok ? "" : why);
    pthread_mutex_unlock(&users_lock);
    if (++l->g < l->cfg->n_groups) {
        group_start(l);
        return;
    }
    l->busy = false;
    atomic_store(&loads_done, atomic_load(&loads_started));
    if (l->again) {
        l->again = false;
        read_asked(l);
    }
}

/* The read under way forgotten (its table freed). */
static void read_reset(struct users_loader *l)
{
    free(l->read.v);
    memset(&l->read, 0, sizeof(l->read));
    l->read_cap = l->read_rows = 0;
    l->read_sum = 1;
    l->read_bad = NULL;
}

/* A row of the answer to USERS_SQL: an account into l->read. */
static void row_cb(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct users_loader *l = arg;
    struct account_table *t = &l->read;
    if (l->read_bad != NULL)
        return;
    if (res->n_cols != ACOL__COUNT) {
        l->read_bad = "unexpected columns in the answer";
        return;
    }
    char *const *row = res->rows[0];
    if (l->read_rows++ == 0) { /* the server's settings, the same in every row */
        const char *skip = row[ACOL_SKIP_NAME_RESOLVE], *disc = row[ACOL_DISCONNECT_EXPIRED];
        t->name_resolve = skip != NULL && strcmp(skip, "0") == 0;
        t->disconnect_expired = disc != NULL && strcmp(disc, "1") == 0;
    }
    if (t->n == l->read_cap && !HY_GROW(t->v, l->read_cap, 64)) {
        l->read_bad = "out of memory";
        return;
    }
    char bad[80];
    hy_status_t st = accounts_parse_row((const char *const *)row, t->name_resolve, &t->v[t->n], bad,
                                        sizeof(bad));
    if (st == HY_OK)
        t->n++;
    else if (st == HY_ERROR)
        hy_log_warn("users: account '%.80s'@'%.80s' on %s skipped: %s",
                    row[ACOL_USER] ? row[ACOL_USER] : "", row[ACOL_HOST] ? row[ACOL_HOST] : "",
                    l->backend, bad);
    l->read_sum += privs_row(row);
}

/* The end of the answer to USERS_SQL: the table read, published. */
static void rows_cb(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct users_loader *l = arg;
    char why[400];
    if (!res->ok) {
        snprintf(why, sizeof(why), "%.256s%s (%u)", res->err_msg,
                 res->err_code == ER_TABLEACCESS_DENIED_ERROR
                     ? "; it needs GRANT SELECT ON mysql.global_priv"
                     : "",
                 res->err_code);
        read_reset(l);
        load_end(l, false, why);
        return;
    }
    if (l->read_bad != NULL || res->n_cols != ACOL__COUNT) {
        snprintf(why, sizeof(why), "%s",
                 l->read_bad != NULL ? l->read_bad : "unexpected columns in the answer");
        read_reset(l);
        load_end(l, false, why);
        return;
    }
    struct account_table t = l->read;
    l->read.v = NULL; /* published below: no longer the loader's */
    uint64_t sum = privs_sum(l->read_sum);
    read_reset(l);
    accounts_sort(&t);
    size_t slot = l->g < USERS_GROUPS ? l->g : USERS_GROUPS - 1;
    const char *group = l->g < l->cfg->n_groups ? l->cfg->groups[l->g].name : "";
    if (t.n != l->last_n[slot]) /* each read is logged only when the count changes */
        hy_log_info("users: %zu accounts from %s (group %s)", t.n, l->backend, group);
    l->last_n[slot] = t.n;
    /* An account changed on the server since the last read (a GRANT made
     * there directly, or by another halyard): pooled connections that
     * logged in before may hold the old global privileges. */
    if (l->sum[slot] != 0 && l->sum[slot] != sum)
        users_privileges_changed(ev_time());
    l->sum[slot] = sum;
    publish(group, l->g == 0, &t);
    load_end(l, true, NULL);
}

static void connected_cb(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct users_loader *l = arg;
    if (!res->ok) {
        load_end(l, false, res->err_msg);
        return;
    }
    read_reset(l);
    if (sqlclient_query_rows(c, USERS_SQL, row_cb, rows_cb, l) != HY_OK)
        load_end(l, false, "the query could not start");
}

static void load_start(struct users_loader *l)
{
    if (l->busy) {
        l->again = true;
        return;
    }
    if (l->cfg->users_source == USERS_CONFIG)
        return;
    l->busy = true;
    l->last_start = ev_now(l->loop);
    atomic_fetch_add(&loads_started, 1);
    l->g = 0;
    group_start(l);
}

/* Read group l->g's accounts from its primary (group.h), as the group's
 * monitor account; the groups one after the other. */
static void group_start(struct users_loader *l)
{
    const char *why = NULL;
    l->sc = primary_client_create(l->loop, group_view(l->cfg, l->g), l->backend, sizeof(l->backend),
                                  &why);
    if (l->sc == NULL) {
        load_end(l, false, why);
        return;
    }
    if (sqlclient_connect(l->sc, connected_cb, l) != HY_OK)
        load_end(l, false, "the connect could not start");
}

/* Logins asked for a read: one now, or REQUEST_MIN_S after the last. */
static void read_asked(struct users_loader *l)
{
    if (l->busy) {
        l->again = true;
        return;
    }
    double wait = l->last_start + REQUEST_MIN_S - ev_now(l->loop);
    if (wait > 0) {
        if (!ev_is_active(&l->soon)) {
            ev_timer_set(&l->soon, wait, 0.);
            ev_timer_start(l->loop, &l->soon);
        }
        return;
    }
    ev_timer_stop(l->loop, &l->soon);
    hy_log_info("users: reading the accounts again: a login as an unknown user");
    load_start(l);
}

static void wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)loop;
    (void)revents;
    if (atomic_exchange(&read_wanted, false))
        read_asked(container_of(a, struct users_loader, wake));
}

static void soon_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    read_asked(container_of(t, struct users_loader, soon));
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    load_start(container_of(t, struct users_loader, timer));
}

struct users_loader *users_loader_create(struct ev_loop *loop, struct config *cfg)
{
    struct users_loader *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->loop = loop;
    ev_async_init(&l->wake, wake_cb);
    ev_async_start(loop, &l->wake);
    ev_init(&l->timer, timer_cb);
    ev_init(&l->soon, soon_cb);
    l->last_start = -REQUEST_MIN_S;
    users_loader_configure(l, cfg);
    atomic_store(&the_loader, l);
    return l;
}

void users_loader_configure(struct users_loader *l, struct config *cfg)
{
    struct config *old = l->cfg;
    l->cfg = config_get(cfg);
    config_put(old);
    atomic_store(&the_source, (int)cfg->users_source);
    if (cfg->users_source == USERS_CONFIG) {
        ev_timer_stop(l->loop, &l->timer);
        users_clear();
        return;
    }
    /* at once (a first read, or a reload that may name another primary or
     * account), then every users_refresh_ms */
    ev_timer_stop(l->loop, &l->timer);
    ev_timer_set(&l->timer, 0., cfg->users_refresh_ms / 1000.0);
    ev_timer_start(l->loop, &l->timer);
}

void users_loader_destroy(struct users_loader *l)
{
    if (l == NULL)
        return;
    atomic_store(&the_loader, NULL);
    sqlclient_destroy(l->sc);
    ev_timer_stop(l->loop, &l->timer);
    ev_timer_stop(l->loop, &l->soon);
    ev_async_stop(l->loop, &l->wake);
    config_put(l->cfg);
    read_reset(l);
    free(l);
    users_clear();
}
