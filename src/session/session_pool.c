/*
 * session_pool.c: the session's side of pool_mode = "transaction" (pool.h).
 *
 * Between statements the session gives back every backend connection it
 * does not have to keep (pool_hold decides: a transaction, an XA
 * transaction, state only that connection has, a cursor, warnings the
 * next statement may ask for...). A statement that needs a backend then
 * takes a connection from the worker's pool: the one it gave back, when
 * nobody took it meanwhile (its state, statements and all, are still the
 * session's), or another of the same key, which is brought to the
 * session's state first (session_state.c: state_sync_now):
 *
 *  - the session's own statement ids for that backend are forgotten:
 *    where a statement runs next it takes the one the connection keeps
 *    prepared for its text and schema (ps_cache.h), or is prepared there
 *    (session_ps.c); what the session prepared there joins that cache
 *    when it gives the connection back (ps_cache_fill, on_lend);
 *  - variables, schema and options: varstate_apply from what the
 *    connection has run to what the session has set;
 *  - warnings the previous owner left are cleared by a statement that uses
 *    a table (MariaDB keeps them across statements that use none), so SHOW
 *    WARNINGS never shows another session's;
 *  - LAST_INSERT_ID(): a connection whose value may have changed (an OK
 *    with an insert id, which an explicit id gives too, or a statement
 *    naming it) goes back with the value unread, marked as the session's
 *    (bc->lid_owner, s->values.lid_lent). It is read (`SELECT
 *    LAST_INSERT_ID()`) only when needed: by the session that takes that
 *    connection next, for its owner, before its own state is set; or by the
 *    owner before it runs a statement on another backend. The owner taking
 *    it back reads nothing. A connection closed unread loses the value: a
 *    statement that uses it then ends the session (session_lid_lost). A
 *    connection whose value is not the session's gets it set first
 *    (`SET last_insert_id = N`);
 *  - an error the session's previous statement ended in is raised again
 *    there (SIGNAL) before a statement that reads the diagnostics: such an
 *    error does not keep the connection (session_pool_diag_err).
 *
 * A service of the cycle's "backend ready" stage: it keeps the books of a
 * connection's hand-over and calls neither the cycle nor a feature (of a
 * feature it reads only the login schema, session_login_db). What is done
 * to a connection is said by its verbs' verdicts (enum pool_verdict:
 * close it, read its LAST_INSERT_ID() first, it is yours) and carried
 * out by session_backend.c (backend_release, backend_take,
 * backend_lid_read); a KILL on its way keeps them (the may_release hook).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/core/text.h"
#include "halyard/cluster/backend.h"
#include "halyard/core/events.h"
#include "halyard/pool/pool.h"
#include "halyard/cluster/pool_stats.h"
#include "halyard/cluster/users.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_pool.h"
#include "session_ps.h"
#include "session_shard.h"

/* The statement that empties a connection's diagnostics area: a statement
 * that uses a table clears it, and a derived table counts. */
#define DIAG_CLEAR_SQL "DO (SELECT 1 FROM (SELECT 1) AS halyard_clear)"

void session_pool_name_drop(struct session *s)
{
    pool_name_put(&s->w->conns, s->conns.lease.name);
    s->conns.lease.name = NULL;
    s->conns.lease.name_db = NULL;
}

/* The session's user and login schema `db` interned, asked of the pool
 * once until they change: its keys are then matched by pointer. NULL when
 * out of memory (the key is matched by its strings). */
static struct pool_name *lease_name(struct session *s, const char *db)
{
    struct sess_lease *l = &s->conns.lease;
    if (l->name == NULL || l->name_db != db) {
        session_pool_name_drop(s);
        l->name = pool_name_get(&s->w->conns, s->who.user, db);
        l->name_db = db;
    }
    return l->name;
}

static void pool_key_of(struct session *s, uint32_t idx, struct pool_key *k)
{
    const char *db = session_login_db(s);
    *k = (struct pool_key){
        .cfg = s->cfg,
        .idx = (uint16_t)idx,
        .user = s->who.user,
        .db = db,
        .name = lease_name(s, db),
        .charset = s->who.charset,
        .caps = s->who.caps,
        .ext_caps = BACKEND_EXT_CAPS(s),
    };
}

/* Who logs into backend connections: the session's user, with the
 * SHA1(password) pair its own login yielded (mysql_client.h). The pointers
 * stay valid while a connection logs in: COM_CHANGE_USER closes them all
 * before it replaces the user. */
void session_creds(const struct session *s, const struct config_backend *be,
                   struct mysql_client_creds *cr)
{
    *cr = (struct mysql_client_creds){
        .user = s->who.user,
        .db = session_login_db(s),
        .attrs = s->who.attrs,
        .attrs_len = s->who.attrs_len,
        .h1 = s->who.no_password || s->who.old_pw ? NULL : s->who.h1,
        .h2 = s->who.no_password || s->who.old_pw ? NULL : s->who.h2,
        .old_hash = s->who.old_pw && !s->who.no_password ? s->who.old_hash : NULL,
        .charset = s->who.charset,
        .max_packet = 0x40000000u,
        .want_caps = s->who.caps | CLIENT_SESSION_TRACK, /* session_state_tracking.c */
        .need_caps = s->who.caps & FRAMING_CAPS,
        .want_ext_caps = BACKEND_EXT_CAPS(s),
        .need_ext_caps = s->who.ext_caps & SERVER_EXT_CAPS_NEEDED, /* session_int.h */
        .tls = be->tls,
    };
}

/* Why the session keeps `bc` between statements; NULL = it may go. */
const char *session_pool_hold(const struct session *s, const struct bconn *bc)
{
    uint32_t idx = bc->idx;
    struct pool_hold_in in = {
        .session_mode = !s->cfg->pool_transaction,
        .is_primary = idx == s->route.primary,
        .pinned = s->route.pinned,
        .uvars_opaque = s->route.uvars_opaque,
        .in_trans = idx == s->route.primary && (s->route.status & SERVER_STATUS_IN_TRANS),
        .ro_trans = s->route.ro_idx == (int)idx,
        .xa = bc->xa,
        .ps_bound = pstmt_backend_bound(&s->prep.map, idx),
        .found_rows = bc->found_rows,
        /* an error the session can raise again elsewhere keeps nothing */
        .diag = bc->diag_dirty && s->route.diag_idx == idx &&
                !(s->values.diag_err != NULL &&
                  (s->values.diag_own || s->values.diag_err_stamp == bc->stamp)),
    };
    return pool_hold(&in);
}

void session_pool_holds(const struct session *s, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    if (!s->cfg->pool_transaction)
        return;
    for (uint32_t i = 0; i < s->conns.n_bc && n < len; i++) {
        const struct bconn *bc = s->conns.bc[i];
        if (bc == NULL || bc->state != BCONN_READY)
            continue;
        const char *why = session_pool_hold(s, bc);
        if (why == NULL)
            why = s->state == SS_IDLE ? "not given back yet" : "statement";
        int m = snprintf(out + n, len - n, "%s%s: %s", n ? "; " : "", bc->be->name, why);
        if (m < 0)
            break;
        n += (size_t)m;
    }
    if (n >= len)
        out[len - 1] = '\0';
}

/* The command that just ended on s->conns.cur: what it left on the connection
 * that decides whether the session may give it back. */
void session_pool_note(struct session *s)
{
    struct bconn *bc = s->conns.cur;
    if (bc == NULL)
        return;
    bool dirty = s->io.resp.err_code != 0 || s->io.resp.warnings > 0;
    bc->diag_dirty = dirty || (bc->diag_dirty && !s->query.cmd_clears_diag);
    if (s->io.resp.insert_id_seen || s->query.cmd_lid)
        bc->lid_dirty = true;
    if (s->io.resp.insert_id_seen && s->values.lid_unknown != NULL) {
        free(s->values.lid_unknown); /* an id of the session's own statement there */
        s->values.lid_unknown = NULL;
    }
    if (s->query.cmd_xa != 0 && s->io.resp.err_code == 0) {
        bc->xa = s->query.cmd_xa > 0;
        bc->xa_ended = s->query.cmd_xa == 2;
    }
    /* A cursor's rows come by COM_STMT_FETCH, and FOUND_ROWS() counts
     * them all (the server has them at the EXECUTE), which halyard does not
     * see: the connection is kept for the next statement, as after
     * SQL_CALC_FOUND_ROWS. */
    bool cursor = s->io.resp.cmd == COM_STMT_FETCH ||
                  (s->io.resp.cmd == COM_STMT_EXECUTE && s->io.resp.cursor_asked);
    /* So is it after a COM_STMT_BULK_EXECUTE: ROW_COUNT() is the last
     * row's count, its OK the sum */
    bool bulk = s->io.resp.cmd == COM_STMT_BULK_EXECUTE;
    bc->found_rows = (s->query.cmd_calc_found || cursor || bulk) && s->io.resp.err_code == 0;
    s->query.cmd_lid = false;
    s->query.cmd_xa = 0;
    s->query.cmd_calc_found = false;
    if (s->query.cmd_privs) /* answered: it took effect, if it did */
        users_privileges_changed(ev_time());
    s->query.cmd_privs = false;
    if (s->query.internal != NULL)
        return;
    /* What FOUND_ROWS() and ROW_COUNT() give after it, as MariaDB keeps
     * them: a result set sets both (its rows; -1), an OK the row count (its
     * affected rows), an error the row count (-1), a cursor's FETCH the
     * row count (-1). A COM_STMT_PREPARE leaves both as they were (whatever
     * its answer), and the connection of the statement before it still has
     * them. */
    bool values = s->io.resp.cmd != COM_STMT_PREPARE;
    bool found = values && s->io.resp.err_code == 0 && s->io.resp.rs_last && !cursor;
    if (values && s->io.resp.err_code != 0) {
        s->values.row_count = -1;
    } else if (found) {
        s->values.found_rows = s->io.resp.rs_rows;
        s->values.row_count = -1;
    } else if (values && cursor) {
        s->values.row_count = -1;
    } else if (values) {
        s->values.row_count = (int64_t)s->io.resp.affected;
    }
    uint64_t before = bc->stamp;

    bc->stamp = ++s->w->conns.serial;
    if (values || s->values.prev_stamp == before)
        s->values.prev_stamp = bc->stamp;
    /* FOUND_ROWS() there is the session's while no other session ran a
     * statement there since its last result set or cursor (an OK or an
     * error leaves it as it was). */
    if (found || cursor || s->values.found_stamp == before)
        s->values.found_stamp = bc->stamp;
    /* session pooling: an error kept (session_pool_diag_err) is followed
     * too, for a read on another connection than its own (a session pinned
     * to the primary since, which closed its replica's) */
    if (!s->cfg->pool_transaction && !s->values.diag_own && s->values.diag_err == NULL &&
        !s->values.diag_err_new)
        return;
    /* The session's diagnostics area, as session_diag_follow() moves it:
     * still the error kept, now this one, or something halyard cannot
     * raise again (warnings it only counted). */
    bool err = s->io.resp.err_code != 0;
    if (!s->query.cmd_diag && err && s->values.diag_err_new) {
        s->values.diag_err_stamp = bc->stamp;
        s->values.diag_own = false;
    } else if (!s->query.cmd_diag && (err || s->io.resp.warnings > 0 || s->query.cmd_clears_diag)) {
        free(s->values.diag_err);
        s->values.diag_err = NULL;
        s->values.diag_own = false;
    } else if (s->values.diag_err != NULL && before == s->values.diag_err_stamp) {
        s->values.diag_err_stamp = bc->stamp; /* left as it was there */
    }
    s->values.diag_err_new = false;
}

/* ---- an error as the session's diagnostics --------------------------------
 * After a statement fails, MariaDB keeps its error in the session's
 * diagnostics area (SHOW WARNINGS, SHOW ERRORS, @@warning_count,
 * @@error_count, GET DIAGNOSTICS) until a statement that uses a table or
 * raises a condition. halyard has the whole ERR, so the connection does not
 * stay with the session for it: it goes back to the pool, and a statement
 * that reads the diagnostics on a connection without them (another session
 * ran there since, or another connection) has them raised there first:
 *   SIGNAL SQLSTATE 'xxxxx' SET MYSQL_ERRNO = n, MESSAGE_TEXT = X'...'
 * answered by the same error (a hex literal: no escaping, whatever the
 * sql_mode). Warnings halyard only counted (an OK's warning count) still
 * keep the connection (pool_hold's "warnings"). */
#define DIAG_ERR_MAX 600 /* bytes of an ERR payload kept (MariaDB's are < 520) */

/* 0xff, code (2), '#', SQLSTATE (5), message: one SIGNAL can raise it. */
static bool err_raisable(const uint8_t *pl, uint32_t len)
{
    if (len < 9 || len > DIAG_ERR_MAX || pl[0] != MYSQL_ERR || pl[3] != '#')
        return false;
    uint16_t code = (uint16_t)(pl[1] | pl[2] << 8);
    if (code == 0 || code == 0xffff)
        return false;
    for (int i = 4; i < 9; i++) {
        if (!isdigit(pl[i]) && !isupper(pl[i]))
            return false;
    }
    /* Class 00 is success, 01 a warning, 02 "no data": SIGNAL would not
     * raise them as this error. */
    return !(pl[4] == '0' && (pl[5] == '0' || pl[5] == '1' || pl[5] == '2'));
}

void session_pool_diag_err(struct session *s, const uint8_t *pl, uint32_t len)
{
    if (!err_raisable(pl, len))
        return;
    uint8_t *p = realloc(s->values.diag_err, len);
    if (p == NULL)
        return; /* not new: dropped at the command's end, the connection kept */
    memcpy(p, pl, len);
    s->values.diag_err = p;
    s->values.diag_err_len = (uint16_t)len;
    s->values.diag_err_new = true;
}

void session_pool_cmd_taken(struct session *s, const struct hook_cmd *hc)
{
    if (hc->cmd != COM_PING)
        return;
    s->values.row_count = 0;
    /* answered here (com_ping: no connection to the primary): the server
     * where the next call runs still has the statement before's value,
     * even on that statement's own connection (session pooling keeps it) */
    if (s->conns.bc[s->route.primary] == NULL)
        s->values.prev_stamp = 0;
}

/* No connection's stamp: an error halyard answered is on none. */
#define DIAG_ON_NONE UINT64_MAX

void session_pool_own_err(struct session *s, const uint8_t *pl, uint32_t len)
{
    s->values.diag_err_new = false;
    s->values.diag_own = false;
    if (!err_raisable(pl, len)) {
        /* not one SIGNAL can raise (never one of halyard's table): the
         * area stays where it was, as before */
        free(s->values.diag_err);
        s->values.diag_err = NULL;
        return;
    }
    uint8_t *p = realloc(s->values.diag_err, len);
    if (p == NULL) {
        /* the area would be an older statement's: the client must not read it */
        session_mark_closing(s, END_NOMEM);
        return;
    }
    memcpy(p, pl, len);
    s->values.diag_err = p;
    s->values.diag_err_len = (uint16_t)len;
    s->values.diag_err_stamp = DIAG_ON_NONE;
    s->values.diag_own = true;
}

bool session_pool_diag_lost(const struct session *s, const struct bconn *bc)
{
    if (s->values.diag_hit && s->query.cmd_diag)
        return true; /* the connection's are older than the hit's (none) */
    /* on the connection that had them, since used; or on another one (a
     * session pinned to the primary since an error on a replica): the
     * server there has its own */
    return s->query.cmd_diag && s->values.diag_err != NULL &&
           bc->stamp != s->values.diag_err_stamp && (bc->idx == s->route.diag_idx || !bc->xa);
}

hy_status_t session_pool_sync_diag(struct session *s, struct bconn *bc, struct varstate_cmds *out)
{
    s->values.sync_signal = 0;
    if (s->values.diag_hit && s->query.cmd_diag) {
        /* a statement that uses a table (a derived one: no privilege),
         * raises nothing and returns nothing: MariaDB empties the area */
        static const char clear[] = "DO (SELECT 1 FROM (SELECT 1) AS halyard_clear)";
        /* XA IDLE or PREPARED reads information_schema's tables alone
         * (a derived table is 1399 there) */
        static const char clear_xa[] = "DO (SELECT 1 FROM information_schema.COLLATIONS LIMIT 1)";
        s->values.diag_hit = false;
        if (bc->xa)
            return varstate_cmds_push(out, COM_QUERY, clear_xa, sizeof(clear_xa) - 1);
        return varstate_cmds_push(out, COM_QUERY, clear, sizeof(clear) - 1);
    }
    if (!session_pool_diag_lost(s, bc))
        return HY_OK;
    const uint8_t *e = s->values.diag_err;
    uint32_t msg_len = s->values.diag_err_len - 9u;
    char sql[128 + 2 * DIAG_ERR_MAX];
    int n =
        snprintf(sql, sizeof(sql), "SIGNAL SQLSTATE '%.5s' SET MYSQL_ERRNO = %u, MESSAGE_TEXT = X'",
                 (const char *)e + 4, (unsigned)(e[1] | e[2] << 8));
    static const char hex[] = "0123456789ABCDEF";
    for (uint32_t i = 0; i < msg_len; i++) {
        sql[n++] = hex[e[9 + i] >> 4];
        sql[n++] = hex[e[9 + i] & 15];
    }
    sql[n++] = '\'';
    hy_status_t rc = varstate_cmds_push(out, COM_QUERY, sql, (size_t)n);
    if (rc == HY_OK)
        s->values.sync_signal = out->n;
    return rc;
}

bool session_pool_sync_err_ok(struct session *s, uint32_t i, uint16_t code)
{
    if (s->values.sync_signal != i + 1 || s->values.diag_err == NULL ||
        code != (uint16_t)(s->values.diag_err[1] | s->values.diag_err[2] << 8))
        return false;
    s->values.diag_err_stamp = s->conns.cur->stamp; /* the area there is the session's now */
    s->conns.cur->diag_dirty = true;
    return true;
}

/* FOUND_ROWS() and ROW_COUNT() as halyard saw them, whether the server
 * knows them or not. */
static void session_pool_values(const struct session *s, char *found_rows, char *row_count,
                                size_t len)
{
    /* As MariaDB types them (BIGINT of length 21, like the calls'), in
     * every expression a statement may put them in but `-ROW_COUNT()` of
     * -1: its constant gives a DECIMAL there. */
    snprintf(found_rows, len, "COALESCE(%020llu)",
             (unsigned long long)HY_MIN(s->values.found_rows, (uint64_t)INT64_MAX));
    if (s->values.row_count < 0)
        snprintf(row_count, len, "COALESCE(-(%020llu))",
                 0ull - (unsigned long long)s->values.row_count);
    else
        snprintf(row_count, len, "COALESCE(%020lld)", (long long)s->values.row_count);
}

void session_pool_internal_ran(struct session *s, const struct bconn *bc)
{
    if (bc == NULL)
        return;
    if (s->values.prev_stamp == bc->stamp)
        s->values.prev_stamp = 0;
    if (s->values.found_stamp == bc->stamp)
        s->values.found_stamp = 0;
}

void session_pool_values_set(struct session *s, bool rows, uint64_t n, bool err)
{
    if (err)
        s->values.row_count = -1;
    else if (rows)
        s->values.found_rows = n, s->values.row_count = -1;
    else
        s->values.row_count = (int64_t)HY_MIN(n, (uint64_t)INT64_MAX);
    s->values.prev_stamp = 0;
    s->values.found_stamp = 0;
}

bool session_pool_prev_values(const struct session *s, char num[2][CLASSIFY_CALL_VALUE_MAX + 1],
                              const char **value)
{
    bool prev_there = s->conns.cur != NULL && s->values.prev_stamp != 0 &&
                      s->conns.cur->stamp == s->values.prev_stamp;
    bool found_there = s->conns.cur != NULL && s->values.found_stamp != 0 &&
                       s->conns.cur->stamp == s->values.found_stamp;
    bool differ = !(prev_there && found_there); /* else untouched there: the server knows */
    if (differ)
        session_pool_values(s, num[0], num[1], sizeof(num[0]));
    if (value != NULL) {
        value[CLASSIFY_CALL_FOUND_ROWS] = differ && !found_there ? num[0] : NULL;
        value[CLASSIFY_CALL_ROW_COUNT] = differ && !prev_there ? num[1] : NULL;
    }
    return differ;
}

/* ---- waiting for a backend at its max_connections -----------------------
 * A statement that needs a connection to a backend whose connections, over
 * every worker, are at its max_connections waits in its worker's queue,
 * oldest first, up to pool_wait_timeout_ms. A connection given back on
 * that worker goes to the first waiter for its backend (woken on its own
 * timer, not called from here); one given back on a worker with no such
 * waiter while others wait elsewhere is closed, freeing a slot, and so are
 * the idle ones (pool.c's sweep). Every waiter also tries again every
 * 50 ms. When the wait ends the statement gets the 1040 it would have had
 * at once, and the session goes on. */
#define POOL_WAIT_RETRY_S 0.05

static void wait_leave(struct session *s)
{
    struct worker *w = s->w;
    if (!s->conns.lease.pool_waiting)
        return;
    if (s->conns.lease.pw_prev != NULL)
        s->conns.lease.pw_prev->conns.lease.pw_next = s->conns.lease.pw_next;
    else
        w->pool_waiters = s->conns.lease.pw_next;
    if (s->conns.lease.pw_next != NULL)
        s->conns.lease.pw_next->conns.lease.pw_prev = s->conns.lease.pw_prev;
    else
        w->pool_waiters_tail = s->conns.lease.pw_prev;
    s->conns.lease.pw_next = s->conns.lease.pw_prev = NULL;
    s->conns.lease.pool_waiting = false;
    ev_timer_stop(w->loop, &s->conns.lease.pool_wait);
    if (s->conns.lease.pool_wait_idx < s->conns.n_bc) {
        const struct config_backend *be = &s->cfg->backends[s->conns.lease.pool_wait_idx];
        struct pool_user_stats *u = be->rt != NULL ? pool_stats_user(be->rt, s->who.user) : NULL;
        if (u != NULL) {
            pool_stats_add(&u->waiting, -1);
            pool_stats_wait_done(u, ev_now(w->loop) - (s->conns.lease.pool_wait_until -
                                                       s->cfg->pool_wait_timeout_ms / 1e3));
        }
        if (be->rt != NULL &&
            atomic_fetch_sub_explicit(&be->rt->pool_waiters, 1, memory_order_relaxed) == 1)
            events_emit(EVENT_POOL_AVAILABLE, be->name, "exhausted", "available",
                        "no statement waits for a connection any more", NULL);
    }
}

/* The first session of this worker waiting for backend `idx` as `user`. */
static struct session *first_waiter(struct worker *w, const struct session *like, uint32_t idx)
{
    for (struct session *t = w->pool_waiters; t != NULL; t = t->conns.lease.pw_next) {
        if (t->conns.lease.pool_wait_idx == idx && t->cfg == like->cfg &&
            strcmp(t->who.user, like->who.user) == 0)
            return t;
    }
    return NULL;
}

bool session_pool_create(struct session *s)
{
    s->conns.lease.epoch = ++s->w->conns.serial; /* the session begins */
    return session_pool_resize(s, s->cfg->n_backends) == HY_OK;
}

void session_pool_diag_replaced(struct session *s, bool hit)
{
    free(s->values.diag_err);
    s->values.diag_err = NULL;
    s->values.diag_own = false;
    if (hit)
        s->values.diag_hit = true;
}

void session_pool_diag_unhit(struct session *s)
{
    s->values.diag_hit = false;
}

void session_pool_reset(struct session *s)
{
    /* A new session on the server: the global variables of now are its
     * defaults, on every connection it takes from here on. */
    s->conns.lease.epoch = ++s->w->conns.serial;
    free(s->values.diag_err);
    s->values.diag_err = NULL;
    s->values.diag_err_new = false;
    s->values.diag_own = false;
    session_pool_lid_drop(s);
    s->values.lid = 0;
    free(s->values.lid_lost); /* the server's is 0 again */
    s->values.lid_lost = NULL;
    free(s->values.lid_unknown);
    s->values.lid_unknown = NULL;
    /* MariaDB keeps FOUND_ROWS() across COM_RESET_CONNECTION and
     * COM_CHANGE_USER (10.11: 7 after a read of 7 rows, then either);
     * ROW_COUNT() is 0 again */
    s->values.row_count = 0;
    s->values.found_stamp = 0;
    s->values.prev_stamp = 0;
    struct bconn *pc = s->conns.bc[s->route.primary];
    if (pc != NULL) {
        /* COM_RESET_CONNECTION goes to it: as young as the session, and
         * the statements it kept prepared for others are gone (a
         * COM_CHANGE_USER closes it) */
        pc->epoch = s->conns.lease.epoch;
        pc->defaults_at = ev_now(s->w->loop);
        ps_cache_clear(&pc->psc);
    }
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        s->conns.lease.lent[i] = 0;
        struct bconn *bc = s->conns.bc[i];
        if (bc != NULL) { /* the server resets it (or it is closed) */
            bc->lid = 0;
            bc->lid_dirty = false;
            bc->diag_dirty = false;
            bc->xa = false;
            bc->found_rows = false;
        }
    }
}

void session_pool_forget(struct session *s)
{
    wait_leave(s);
    s->conns.lease.pool_wait_over = false;
}

bool session_pool_wait_cancel(struct session *s)
{
    if (!s->conns.lease.pool_waiting)
        return false;
    session_pool_forget(s);
    return true;
}

bool session_pool_wait(struct session *s, uint32_t idx)
{
    const struct config_backend *be = &s->cfg->backends[idx];
    if (!s->cfg->pool_transaction || be->rt == NULL || be->max_connections == 0)
        return false;
    bool full =
        atomic_load_explicit(&be->rt->conns, memory_order_relaxed) >= (uint64_t)be->max_connections;
    if (!full || s->conns.lease.pool_wait_over || s->cfg->pool_wait_timeout_ms == 0) {
        wait_leave(s); /* a connection now, or the 1040 */
        s->conns.lease.pool_wait_over = false;
        return false;
    }
    struct worker *w = s->w;
    if (!s->conns.lease.pool_waiting || s->conns.lease.pool_wait_idx != idx) {
        wait_leave(s);
        s->conns.lease.pool_waiting = true;
        s->conns.lease.pool_wait_idx = (uint16_t)idx;
        s->conns.lease.pool_wait_until = ev_now(w->loop) + s->cfg->pool_wait_timeout_ms / 1e3;
        s->conns.lease.pw_prev = w->pool_waiters_tail;
        s->conns.lease.pw_next = NULL;
        if (w->pool_waiters_tail != NULL)
            w->pool_waiters_tail->conns.lease.pw_next = s;
        else
            w->pool_waiters = s;
        w->pool_waiters_tail = s;
        if (atomic_fetch_add_explicit(&be->rt->pool_waiters, 1, memory_order_relaxed) == 0) {
            char why[160];
            snprintf(why, sizeof(why),
                     "statements wait for a connection: max_connections %d reached "
                     "(pool_wait_timeout_ms %d)",
                     be->max_connections, s->cfg->pool_wait_timeout_ms);
            events_emit(EVENT_POOL_EXHAUSTED, be->name, "available", "exhausted", why, NULL);
        }
        POOL_COUNT(s, be, waiting);
        slog_debug(s, "waits for a connection to %s (max_connections %d)", be->name,
                   be->max_connections);
        session_wait_note(s, HOOK_WAIT_POOL, true);
    }
    double left = s->conns.lease.pool_wait_until - ev_now(w->loop);
    ev_timer_stop(w->loop, &s->conns.lease.pool_wait);
    ev_timer_set(&s->conns.lease.pool_wait,
                 left < POOL_WAIT_RETRY_S ? HY_MAX(left, 0.) : POOL_WAIT_RETRY_S, 0.);
    ev_timer_start(w->loop, &s->conns.lease.pool_wait);
    return true;
}

/* Give `bc` to the pool: the session forgets it, and remembers the serial
 * it was lent under to ask for it back. False: it is to be closed instead. */
static bool give_back(struct session *s, struct bconn *bc)
{
    uint32_t idx = bc->idx;
    /* Its statements stay prepared there, in its cache, for whoever takes
     * it next; the session keeps their ids, good as long as it gets this
     * connection back. */
    if (!session_hooks_lend(s, bc))
        return false; /* they could not be kept: closed with it */
    struct session *next = first_waiter(s->w, s, idx);
    struct backend_rt *rt = bc->be->rt;
    if (next == NULL && rt != NULL &&
        atomic_load_explicit(&rt->pool_waiters, memory_order_relaxed) > 0)
        return false; /* Statements on other workers wait for a slot: closing frees it. */
    s->conns.bc[idx] = NULL;
    if (s->conns.cur == bc) /* the KILL registry's thread was cleared (session_kill_may_release) */
        s->conns.cur = NULL;
    /* What its watcher saw is not the pool's to act on; the watcher stays
     * on (pool_put watches the idle connection with it, on_event changed):
     * no stop and start again of the same fd */
    ev_clear_pending(s->w->loop, &bc->c.rio);
    connreg_serve(&bc->reg, 0);
    struct pool_key k;
    pool_key_of(s, idx, &k);
    /* the login only for a pool that opens connections itself */
    struct mysql_client_creds cr;
    if (s->cfg->pool_min_idle > 0)
        session_creds(s, bc->be, &cr);
    s->conns.lease.lent[idx] =
        pool_put(&s->w->conns, bc, &k, s->cfg->pool_min_idle > 0 ? &cr : NULL, ev_now(s->w->loop));
    if (next != NULL) { /* the oldest waiter takes it, on its own timer */
        ev_timer_stop(s->w->loop, &next->conns.lease.pool_wait);
        ev_timer_set(&next->conns.lease.pool_wait, 0., 0.);
        ev_timer_start(s->w->loop, &next->conns.lease.pool_wait);
    }
    return true;
}

bool session_pool_give_parked(struct session *s, struct bconn *bc, struct config *view)
{
    /* Whatever would hold it, or that the session's per-backend state
     * (indexed by its own view's backends) would have to follow: closed. */
    if (!view->pool_transaction || bc->state != BCONN_READY || conn_has_local(&bc->c) || bc->xa ||
        bc->srv_trans || bc->lid_dirty || bc->diag_dirty || bc->found_rows || s->route.pinned ||
        s->route.uvars_opaque || s->prep.map.count > 0 || bc->idx >= view->n_backends ||
        bc->be != &view->backends[bc->idx] || !registry_release_ok(&s->kill.reg))
        return false;
    struct backend_rt *rt = bc->be->rt;
    struct session *next = NULL;
    for (struct session *t = s->w->pool_waiters; t != NULL && next == NULL;
         t = t->conns.lease.pw_next) {
        if (t->conns.lease.pool_wait_idx == bc->idx && t->cfg == view &&
            strcmp(t->who.user, s->who.user) == 0)
            next = t;
    }
    if (next == NULL && rt != NULL &&
        atomic_load_explicit(&rt->pool_waiters, memory_order_relaxed) > 0)
        return false; /* statements on other workers wait for its slot: closing frees it */
    ev_io_stop(s->w->loop, &bc->c.rio);
    connreg_serve(&bc->reg, 0);
    bc->parked = false;
    struct pool_key k = {
        .cfg = view,
        .idx = bc->idx,
        .user = s->who.user,
        .db = session_login_db(s),
        .charset = s->who.charset,
        .caps = s->who.caps,
        .ext_caps = BACKEND_EXT_CAPS(s),
    };
    struct mysql_client_creds cr;
    session_creds(s, bc->be, &cr);
    (void)pool_put(&s->w->conns, bc, &k, &cr, ev_now(s->w->loop));
    if (next != NULL) { /* the oldest waiter takes it, on its own timer */
        ev_timer_stop(s->w->loop, &next->conns.lease.pool_wait);
        ev_timer_set(&next->conns.lease.pool_wait, 0., 0.);
        ev_timer_start(s->w->loop, &next->conns.lease.pool_wait);
    }
    return true;
}

/* ---- LAST_INSERT_ID() left unread on a pooled connection ----------------- */

/* Whether `bc`, whose LAST_INSERT_ID() may have changed, may go back with
 * the value unread: not when the pool would close it (its age, or another
 * worker waiting for its slot: give_back), nor on a shards listener
 * (session_lid_follow's), nor beside another unread value. */
static bool lid_may_wait(const struct session *s, const struct bconn *bc)
{
    const struct backend_rt *rt = bc->be->rt;
    return !s->listener->shards && s->values.lid_lent == 0 &&
           (rt == NULL || atomic_load_explicit(&rt->pool_waiters, memory_order_relaxed) == 0) &&
           !pool_too_old(bc, s->cfg, ev_now(s->w->loop));
}

void session_lid_lost(struct session *s, const char *name)
{
    if (s->state == SS_CLOSING)
        return;
    slog_warn(s,
              "its LAST_INSERT_ID() was on %s, unread: a statement that uses it ends the session",
              name);
    free(s->values.lid_lost);
    if ((s->values.lid_lost = strdup(name)) == NULL)
        session_mark_closing(s, END_NOMEM); /* never another value in its place */
}

/* The connection to `idx` went back with the session's value unread. */
static void lid_lend(struct session *s, uint32_t idx)
{
    struct bconn *bc = pool_lent(&s->w->conns, s->conns.lease.lent[idx]);
    if (bc == NULL) { /* closed on the way (out of memory) */
        session_lid_lost(s, s->cfg->backends[idx].name);
        return;
    }
    bc->lid_owner = s;
    s->values.lid_lent = bc->lend;
    s->values.lid_idx = idx;
}

/* The session's value is lost: its connection closed unread. */
static void lid_lent_lost(struct session *s)
{
    uint32_t idx = s->values.lid_idx;
    session_pool_lid_drop(s);
    session_lid_lost(s, idx < s->cfg->n_backends ? s->cfg->backends[idx].name : "a backend");
}

/* The owner of a value read for a session that has forgotten it (or
 * ended) meanwhile: the answer is nobody's (session_pool_lid_read). */
static char lid_nobody;

/* Forget the session's value on `bc`: whoever uses it next sets its own. */
static void lid_disown(struct session *s, struct bconn *bc)
{
    (void)s;
    bc->lid_owner = NULL;
    bc->lid_dirty = false;
    bc->lid = UINT64_MAX;
}

void session_pool_lid_drop(struct session *s)
{
    if (s->values.lid_lent == 0)
        return;
    struct bconn *bc = pool_lent(&s->w->conns, s->values.lid_lent);
    s->values.lid_lent = 0;
    if (bc != NULL) {
        if (bc->lid_owner == s)
            lid_disown(s, bc);
        return;
    }
    /* Taken by another session of the worker, which reads it for this one
     * (rare: found by walking them). */
    for (struct session *t = s->w->sessions; t != NULL; t = t->next) {
        for (uint32_t i = 0; i < t->conns.n_bc; i++) {
            struct bconn *b = t->conns.bc[i];
            if (b == NULL || b->lid_owner != s)
                continue;
            if (t->query.internal == &int_lid && t->conns.cur == b)
                b->lid_owner = &lid_nobody; /* its read is under way */
            else
                lid_disown(s, b);
        }
    }
}

/* The owner's statement waited for the value (session_pool_lid_wait): it
 * is routed again, from its pool_wait timer (pool_wait_cb). */
static void lid_wake(struct session *o)
{
    if (!o->values.lid_wait)
        return;
    o->values.lid_wait = false;
    o->conns.lease.pool_wait_until = ev_now(o->w->loop) + 3600.; /* not a pool wait's end */
    ev_timer_stop(o->w->loop, &o->conns.lease.pool_wait);
    ev_timer_set(&o->conns.lease.pool_wait, 0., 0.);
    ev_timer_start(o->w->loop, &o->conns.lease.pool_wait);
}

bool session_pool_lid_wait(struct session *s)
{
    if (s->values.lid_lent == 0 || pool_lent(&s->w->conns, s->values.lid_lent) != NULL)
        return false;
    for (struct session *t = s->w->sessions; t != NULL; t = t->next) {
        for (uint32_t i = 0; i < t->conns.n_bc; i++) {
            struct bconn *b = t->conns.bc[i];
            if (b != NULL && b->lid_owner == s) {
                s->values.lid_wait = true;
                session_set_state(s, SS_WAIT_BACKEND);
                ev_io_stop(s->w->loop, &s->client.rio);
                return true;
            }
        }
    }
    lid_lent_lost(s); /* closed by the pool meanwhile */
    return false;
}

/* `bc`, taken out of the pool, is the session's for backend `idx`: it is
 * told of what the connection says from now on. */
static void take_as(struct session *s, struct bconn *bc, uint32_t idx)
{
    bc->owner = s;
    bc->on_event = session_server_event;
    bc->idx = (uint16_t)idx;
    connreg_serve(&bc->reg, s->id);
    s->conns.bc[idx] = bc;
    s->conns.check_due |= bc->moved || bc->db_check != 0;
    conn_io_start(s->w->loop, &bc->c.rio);
}

void session_pool_lid_keep(struct session *s)
{
    uint32_t idx = s->values.lid_idx;
    if (s->values.lid_lent == 0 || s->query.internal != NULL || idx >= s->conns.n_bc ||
        s->conns.bc[idx] != NULL)
        return;
    /* not in the pool: another session took it and reads it for this
     * one, or it closed (lost, found so at the next statement) */
    struct bconn *bc = pool_take_lent(&s->w->conns, s->values.lid_lent);
    if (bc == NULL)
        return;
    s->conns.lease.lent[idx] = 0;
    bc->lid_owner = NULL; /* the session's again, its value unread there */
    s->values.lid_lent = 0;
    s->values.lid_kept = true;
    take_as(s, bc, idx);
    slog_debug(s, "reload: takes back its connection to %s, its LAST_INSERT_ID() unread there",
               bc->be->name);
}

bool session_pool_lid_keep_end(struct session *s)
{
    if (!s->values.lid_kept || s->state != SS_IDLE)
        return false;
    s->values.lid_kept = false;
    return true;
}

void session_pool_conn_gone(struct session *s, struct bconn *bc)
{
    if (bc->lid_dirty)
        session_lid_lost(s, bc->be->name); /* the session's own value, unread there */
    if (bc->lid_owner != NULL)
        session_pool_lid_orphan(bc);
}

void session_pool_close(struct session *s)
{
    session_pool_lid_drop(s); /* its value, unread on a pooled connection */
    session_pool_name_drop(s);
}

void session_pool_lid_orphan(struct bconn *bc)
{
    struct session *owner = bc->lid_owner == &lid_nobody ? NULL : bc->lid_owner;
    bc->lid_owner = NULL;
    if (owner != NULL && owner->values.lid_lent == bc->lend) {
        owner->values.lid_lent = 0;
        session_lid_lost(owner, bc->be->name);
        lid_wake(owner);
    }
}

enum pool_verdict session_pool_lid_fetch(struct session *s)
{
    uint32_t idx = s->values.lid_idx;
    if (idx >= s->conns.n_bc || s->conns.bc[idx] != NULL) {
        lid_lent_lost(s); /* a reload renumbered the backends */
        return POOL_DONE;
    }
    if (!session_pool_take(s, idx))
        return POOL_DONE; /* gone: lost (session_pool_take) */
    struct bconn *bc = s->conns.bc[idx];
    if (!bc->lid_dirty && bc->lid_owner == NULL)
        return POOL_TAKEN;
    return POOL_READ_LID;
}

bool session_pool_lid_for_owner(const struct session *s, const struct bconn *bc)
{
    (void)s;
    return bc->lid_owner != NULL && bc->state == BCONN_READY;
}

enum pool_verdict session_pool_may_go(const struct session *s, const struct bconn *bc)
{
    if (bc->state != BCONN_READY || conn_has_local(&bc->c))
        return POOL_DONE;
    /* Another session's value, unread (taken by a login, which reads
     * nothing: session_login_backend): read for it now, even if the
     * connection stays here (the previous owner's warnings hold it), for
     * its owner's next statement waits for it. */
    if (bc->lid_owner != NULL)
        return POOL_READ_LID;
    const char *why = session_pool_hold(s, bc);
    if (why != NULL) {
        slog_debug(s, "keeps its connection to %s: %s", bc->be->name, why);
        return POOL_DONE;
    }
    if (bc->srv_trans) {
        /* The server says a transaction is open there that the session
         * does not know of: whoever took the connection next would read
         * in its snapshot and hold its locks. It ends with the
         * connection. */
        slog_warn(s,
                  "closing its connection to %s: the server reports a transaction open "
                  "that the session did not begin there",
                  bc->be->name);
        return POOL_CLOSE;
    }
    /* Read LAST_INSERT_ID() before it goes: the session's value. */
    if (bc->lid_dirty && !lid_may_wait(s, bc))
        return POOL_READ_LID;
    return POOL_GIVE;
}

enum pool_verdict session_pool_give(struct session *s, struct bconn *bc)
{
    bool lid_unread = bc->lid_dirty;
    uint32_t idx = bc->idx;
    s->conns.lease.lent[idx] = 0;
    if (!give_back(s, bc))
        return POOL_CLOSE;
    if (lid_unread)
        lid_lend(s, idx);
    return POOL_DONE;
}

void session_pool_lid_set(struct session *s, uint64_t lid)
{
    session_pool_lid_drop(s);
    s->values.lid = lid;
    s->values.lid_epoch++;
    free(s->values.lid_unknown);
    s->values.lid_unknown = NULL;
    free(s->values.lid_lost); /* a value the session has again */
    s->values.lid_lost = NULL;
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        struct bconn *bc = s->conns.bc[i];
        if (bc == NULL)
            continue;
        /* what it holds is not the session's: not read back, set first */
        bc->lid_dirty = false;
        bc->lid = UINT64_MAX;
        bc->lid_epoch = s->values.lid_epoch - 1;
    }
}

void session_pool_lid_unknown(struct session *s, const char *why)
{
    free(s->values.lid_unknown);
    if ((s->values.lid_unknown = strdup(why)) == NULL)
        session_mark_closing(s, END_NOMEM); /* the client must not read a wrong one */
}

hy_status_t session_pool_sync_lid(struct session *s, struct bconn *bc, struct varstate_cmds *out)
{
    if (bc->lid_epoch == s->values.lid_epoch)
        return HY_OK;
    bc->lid_epoch = s->values.lid_epoch;
    if (bc->lid == s->values.lid)
        return HY_OK;
    char sql[64];
    int n =
        snprintf(sql, sizeof(sql), "SET last_insert_id = %llu", (unsigned long long)s->values.lid);
    bc->lid = s->values.lid;
    return varstate_cmds_push(out, COM_QUERY, sql, (size_t)n);
}

bool session_pool_lid_read(struct session *s, struct bconn *bc, const char *value)
{
    if (value == NULL) {
        slog_warn(s, "cannot read LAST_INSERT_ID() back on %s: closing that connection",
                  bc->be->name);
        return false; /* the value is lost: its owner's (session_pool_conn_gone) */
    }
    /* the value of the session that gave the connection back unread, or
     * this one's own */
    struct session *o = bc->lid_owner != NULL ? bc->lid_owner : s;
    bc->lid_owner = NULL;
    uint64_t lid;
    if (!hy_str_u64(value, UINT64_MAX, &lid)) { /* NULL or not a number: as not read */
        slog_warn(s, "LAST_INSERT_ID() on %s read back as %s: closing that connection",
                  bc->be->name, value != NULL ? value : "NULL");
        return false;
    }
    if (o == (void *)&lid_nobody) { /* its owner forgot it meanwhile */
        bc->lid = lid;
        bc->lid_dirty = false;
        return true;
    }
    if (o != s) {
        o->values.lid_lent = 0;
        lid_wake(o);
    }
    o->values.lid = lid;
    if (o->values.lid_lost != NULL && o->values.lid != bc->lid) {
        /* the session's own statements set it here since the connection
         * was brought to the session's (stale) value: known again */
        slog_info(o, "LAST_INSERT_ID() known again (%llu)", (unsigned long long)o->values.lid);
        free(o->values.lid_lost);
        o->values.lid_lost = NULL;
    }
    if (!o->cfg->pool_transaction && bc->lid != o->values.lid) {
        /* the session's other connections get it set (session_pool_sync_lid) */
        o->values.lid_epoch++;
    }
    bc->lid = o->values.lid;
    if (o == s)
        bc->lid_epoch = s->values.lid_epoch;
    bc->lid_dirty = false;
    return true;
}

bool session_pool_take(struct session *s, uint32_t idx)
{
    if (!s->cfg->pool_transaction)
        return false;
    struct pool_key k;
    pool_key_of(s, idx, &k);
    struct bconn *bc = pool_take(&s->w->conns, &k, s->conns.lease.lent[idx]);
    if (bc == NULL && s->values.lid_lent != 0 && idx == s->values.lid_idx)
        lid_lent_lost(s);
    if (bc == NULL) {
        if (s->conns.lease.lent[idx] != 0) {
            /* The connection lent is gone (dropped by the pool, or taken
             * by another session), and the statements prepared there: the
             * one opened now prepares them again. */
            s->conns.lease.lent[idx] = 0;
            session_hooks_lent_gone(s, idx);
        }
        return false;
    }
    wait_leave(s);
    bool own = s->conns.lease.lent[idx] != 0 && bc->lend == s->conns.lease.lent[idx];
    s->conns.lease.lent[idx] = 0;
    if (s->values.lid_lent != 0 && idx == s->values.lid_idx) {
        if (bc->lend == s->values.lid_lent) {
            bc->lid_owner = NULL; /* the session's again, its value unread there */
            s->values.lid_lent = 0;
        } else {
            lid_lent_lost(s);
        }
    }
    if (bc->lid_owner != NULL)
        bc->lid_dirty = false; /* another session's value: read for it first */
    take_as(s, bc, idx);
    s->conns.cur = bc; /* the backend stage publishes its thread (backend_take) */
    slog_debug(s, "takes %s pooled connection to %s (thread %u)", own ? "its own" : "a",
               bc->be->name, bc->login.thread_id);
    if (own)
        return true; /* still the session's: its statements are there */
    /* Its statements are another connection's ids: those this one has
     * cached are found at their next execution (ps_prepare_here). */
    session_hooks_conn_open(s, bc);
    POOL_COUNT(s, bc->be, restores);
    bc->foreign = true;
    bc->vs_gen = s->vars.vs_gen - 1;          /* brought to the session's state first */
    bc->gtid_epoch = s->route.gtid_epoch - 1; /* the session's writes not known there */
    return true;
}

/* What a connection taken from another session needs besides variables:
 * appended to `out` (state_sync_now). */
hy_status_t session_pool_sync_extra(struct session *s, struct bconn *bc, struct varstate_cmds *out)
{
    hy_status_t rc = HY_OK;
    if (bc->diag_dirty) {
        rc = varstate_cmds_push(out, COM_QUERY, DIAG_CLEAR_SQL, strlen(DIAG_CLEAR_SQL));
        bc->diag_dirty = false;
    }
    /* Always, not only for a statement that reads it: one that changes
     * nothing leaves the value the read-back then takes for the session's. */
    if (rc == HY_OK && bc->lid != s->values.lid) {
        char sql[64];
        int n = snprintf(sql, sizeof(sql), "SET last_insert_id = %llu",
                         (unsigned long long)s->values.lid);
        rc = varstate_cmds_push(out, COM_QUERY, sql, (size_t)n);
        bc->lid = s->values.lid;
    }
    return rc;
}

/* The lent serials follow a reload's renumbering: none survives it. */
hy_status_t session_pool_resize(struct session *s, uint32_t n)
{
    uint64_t *lent = calloc(n > 0 ? n : 1, sizeof(*lent));
    if (lent == NULL)
        return HY_NOMEM;
    free(s->conns.lease.lent);
    s->conns.lease.lent = lent;
    if (s->values.lid_lent != 0)
        lid_lent_lost(s); /* its connection is dropped with the old config */
    return HY_OK;
}
