/*
 * session_state.c: the session's state, part of the session module
 * (session_int.h): what a statement changes (SET, USE, ...), the read-back
 * of the values it assigned, and bringing a backend connection up to the
 * session's state before it runs a statement (varstate.h, readback.h), with
 * the internal queries those run.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/core/text.h"
#include "halyard/cluster/backend.h"
#include "halyard/sql/classify.h"
#include "halyard/sql/lexer.h"
#include "halyard/sql/readback.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/sql/varstate.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_pool.h"
#include "session_replay.h"
#include "session_shard.h"
#include "session_state.h"
#include "session_track.h"

/* ---- session state -------------------------------------------------------
 * Commands that change session state (SET, USE, SET NAMES, COM_INIT_DB,
 * COM_SET_OPTION...) run once, on the primary. Once one succeeds, halyard
 * learns what it set as values (varstate.h): the schema and the option from
 * the command itself, the variables a SET assigned by reading them back on
 * that same connection (readback.h). The read-back query goes out right
 * behind the SET, without waiting for its answer (state_readback_send), so
 * it costs no round trip of its own: the client has the SET's answer as
 * soon as it comes, and the read-back's answer, which follows it on the
 * same connection, is read before the session's next command (a command
 * the client sends meanwhile waits in `up`). A SET that fails is read back
 * too: its answer is already on the way, and what it shows is the truth of
 * that connection.
 * s->vars.vs is the session's state; each backend connection keeps the state it
 * has run (bconn.vs, current when bconn.vs_gen == s->vars.vs_gen). Before another
 * backend runs a command, varstate_apply() gives the SETs that bring it up
 * to date, with literals: `SET @id = LAST_INSERT_ID()` arrives there as
 * `SET @`id` = 42`, never as that server's LAST_INSERT_ID(). A replica that
 * must first catch up with the session's writes (consistency = causal) is
 * waited for before it gets the state.
 *
 * State that cannot move (temporary tables, LOCK TABLES, user variables set
 * by a SELECT, several statements at once, a state past STATE_MAX_BYTES, a
 * read-back that failed or does not fit a buffer) pins the session to the
 * primary instead, until COM_RESET_CONNECTION or COM_CHANGE_USER.
 */

/* The session's state and every connection's are empty again (and its
 * sql_mode the server's global one). */
void state_clear(struct session *s)
{
    session_lex_mode(s, backend_default_lex(s->cfg));
    session_uvars_known(s);
    s->vars.role_pinned = false;
    if (s->vars.vs != NULL)
        varstate_clear(s->vars.vs);
    s->vars.vs_gen++;
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        if (s->conns.bc[i] != NULL) {
            if (s->conns.bc[i]->vs != NULL)
                varstate_clear(s->conns.bc[i]->vs);
            s->conns.bc[i]->vs_gen = s->vars.vs_gen;
        }
    }
    s->vars.chg_pending = false;
    varstate_cmds_free(&s->vars.sync);
    s->vars.sync_i = 0;
}

/* The change record (state_change_begin's) and what it holds. */
static void change_free(struct session *s)
{
    if (s->vars.chg != NULL)
        free(s->vars.chg->stmt);
    free(s->vars.chg);
    s->vars.chg = NULL;
}

void state_free(struct session *s)
{
    varstate_cmds_free(&s->vars.sync);
    varstate_destroy(s->vars.vs);
    s->vars.vs = NULL;
    change_free(s);
}

/* Whether a statement of a state's list is a SET ROLE (the others there:
 * SET SESSION TRANSACTION and the one-shot SET TRANSACTION). */
static bool mentions_role(const char *sql, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++) {
        if (strncasecmp(sql + i, "ROLE", 4) == 0)
            return true;
    }
    return false;
}

/* The last SET ROLE of `vs` (NULL: none): the role a connection that ran
 * vs's statements has. */
static bool state_last_role(const struct varstate *vs, const char **sql, size_t *len)
{
    const char *q;
    size_t n;
    bool found = false;
    for (uint32_t i = 0; vs != NULL && varstate_stmt_get(vs, i, &q, &n); i++) {
        if (mentions_role(q, n)) {
            *sql = q;
            *len = n;
            found = true;
        }
    }
    return found;
}

/* The schema of its last USE (s->vars.schema: followed even while pinned,
 * when s->vars.vs is not) stays the session's and the primary connection's.
 * Without it the connection went back to the pool with its schema unknown
 * to halyard, and the next session of its key ran there (a session with
 * no schema read the tables of this one's). */
static hy_status_t state_reset_keep_schema(struct session *s)
{
    if (s->vars.schema == NULL)
        return HY_OK; /* the login's: what an empty state stands for */
    if (s->vars.vs == NULL && (s->vars.vs = varstate_create(STATE_MAX_BYTES)) == NULL)
        return HY_NOMEM;
    if (varstate_set_schema(s->vars.vs, s->vars.schema, strlen(s->vars.schema)) != HY_OK)
        return HY_NOMEM;
    struct bconn *bc = s->conns.bc[s->route.primary];
    if (bc == NULL)
        return HY_OK;
    if (bc->vs == NULL && (bc->vs = varstate_create(STATE_MAX_BYTES)) == NULL)
        return HY_NOMEM;
    return varstate_set_schema(bc->vs, s->vars.schema, strlen(s->vars.schema));
}

/* The session's role (its last SET ROLE, `role`) stays the session's, and
 * the primary connection keeps the one it had (`bc_role`, NULL = none).
 * One the session will not have closes it: the SETs cannot take a role
 * back, and a connection of its own gets the session's. */
static hy_status_t state_reset_keep_role(struct session *s, const char *role, size_t len,
                                         const char *bc_role, size_t bc_len)
{
    struct bconn *bc = s->conns.bc[s->route.primary];
    bool same = role != NULL && bc_role != NULL && len == bc_len && memcmp(role, bc_role, len) == 0;
    if (bc != NULL && bc_role != NULL && !same)
        bconn_close(bc);
    if (role == NULL)
        return HY_OK;
    if (s->vars.vs == NULL && (s->vars.vs = varstate_create(STATE_MAX_BYTES)) == NULL)
        return HY_NOMEM;
    if (varstate_add_stmt(s->vars.vs, role, len) != HY_OK)
        return HY_NOMEM;
    if (bc == NULL || !same) {
        s->vars.vs_gen++; /* a connection taken next is set to it */
        return HY_OK;
    }
    if (bc->vs == NULL && (bc->vs = varstate_create(STATE_MAX_BYTES)) == NULL)
        return HY_NOMEM;
    return varstate_add_stmt(bc->vs, role, len) == HY_OK ? HY_OK : HY_NOMEM;
}

/* COM_RESET_CONNECTION, and the reset a COM_CHANGE_USER begins with: the
 * state is cleared (state_clear), but MariaDB (10.11) keeps the schema and
 * the role on the connection it resets (the primary's), so they stay the
 * session's. A SET ROLE that ran while the session was pinned is not in
 * its state: the role the primary's connection keeps is not known, and
 * the session stays pinned to it (true). HY_NOMEM: the session must end. */
hy_status_t state_reset(struct session *s, bool *keep_pin)
{
    const struct bconn *bc = s->conns.bc[s->route.primary];
    *keep_pin = s->route.pinned && s->vars.role_pinned && bc != NULL;
    if (*keep_pin) {
        state_clear(s);
        s->vars.role_pinned = true;
        return state_reset_keep_schema(s);
    }
    const char *q = NULL, *bq = NULL;
    size_t n = 0, bn = 0;
    char *role = NULL, *bc_role = NULL;
    if (state_last_role(s->vars.vs, &q, &n) && (role = hy_dupz(q, n)) == NULL)
        return HY_NOMEM;
    if (bc != NULL && state_last_role(bc->vs, &bq, &bn) && (bc_role = hy_dupz(bq, bn)) == NULL) {
        free(role);
        return HY_NOMEM;
    }
    state_clear(s);
    hy_status_t rc = state_reset_keep_schema(s);
    if (rc == HY_OK)
        rc = state_reset_keep_role(s, role, n, bc_role, bn);
    free(role);
    free(bc_role);
    return rc;
}

/* The session was pinned (on_pin, session_hooks.c): its state as values
 * goes, but for session pooling (the primary's connection may be another
 * session's by the next statement: the values bring the one it takes up
 * to date). */
void state_pinned(struct session *s)
{
    if (s->cfg->pool_transaction)
        return;
    const char *role;
    size_t len;
    bool had_role = state_last_role(s->vars.vs, &role, &len);
    state_clear(s);
    s->vars.role_pinned = had_role; /* the primary has it; the values go */
}

/* The session waits for its client: the change record (2 KiB, the
 * read-back's names and values) goes until a statement changes state
 * again, so an idle session costs less. */
void state_idle(struct session *s)
{
    if (!s->vars.chg_pending && s->query.internal == NULL)
        change_free(s);
}

/* A fresh change for the command in flight; NULL (the session pinned)
 * when out of memory. */
static struct state_change *state_change_begin(struct session *s)
{
    if (s->vars.chg == NULL && (s->vars.chg = calloc(1, sizeof(*s->vars.chg))) == NULL) {
        session_pin(s, "out of memory for the session state");
        return NULL;
    }
    free(s->vars.chg->stmt);
    memset(s->vars.chg, 0, sizeof(*s->vars.chg));
    s->vars.chg->option = -1;
    readback_init(&s->vars.chg->rb);
    s->vars.chg_pending = true;
    return s->vars.chg;
}

/* COM_INIT_DB or COM_SET_OPTION (whole at p) is on its way to the primary. */
void state_prepare_cmd(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len)
{
    s->vars.chg_pending = false;
    struct state_change *c;
    if (s->route.pinned || (c = state_change_begin(s)) == NULL)
        return;
    if (cmd == COM_INIT_DB)
        c->schema = true;
    else if (len >= 3)
        c->option = p[1] | p[2] << 8;
}

static bool span_is_default(const char *sql, struct classify_span v)
{
    const char *p = sql + v.off, *end = p + v.len;
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    return end - p == 7 && strncasecmp(p, "DEFAULT", 7) == 0;
}

/* A SET or USE (one statement, whole at p) is on its way to the primary:
 * note what to learn once it succeeds. */
void state_prepare_set(struct session *s, const struct classify_result *r, const uint8_t *p,
                       uint32_t len)
{
    static const char *const charset_vars[] = {"character_set_client", "character_set_connection",
                                               "character_set_results", "collation_connection"};
    s->vars.chg_pending = false;
    struct state_change *c;
    for (uint32_t i = 0; i < r->nvars && s->route.pinned; i++) {
        if (r->vars[i].scope == CLV_ROLE)
            s->vars.role_pinned = true; /* not followed: the primary's connection has it */
    }
    if (s->route.pinned || (c = state_change_begin(s)) == NULL)
        return;
    const char *sql = (const char *)p + 1;
    bool ok = true, verbatim = false;
    c->schema = (r->flags & CLF_USE) != 0;
    if (c->schema && r->schema[0] == '\0')
        ok = false; /* a name too long for the classifier */
    for (uint32_t i = 0; i < r->nvars && ok; i++) {
        const struct classify_var *v = &r->vars[i];
        const char *name = sql + v->name.off;
        switch (v->scope) {
        case CLV_SESSION:
            if (span_is_default(sql, v->value) &&
                !(v->name.len == 8 && strncasecmp(name, "sql_mode", 8) == 0)) {
                /* Not read back: the value DEFAULT gives is not kept (the
                 * time, for timestamp), it is recomputed where replayed.
                 * sql_mode is read back: the lexer must know it. */
                ok = c->n_default < READBACK_MAX &&
                     varstate_name_valid(VS_SYSTEM, name, v->name.len);
                if (ok) {
                    struct readback_var *d = &c->dflt[c->n_default++];
                    d->len = (uint8_t)v->name.len;
                    memcpy(d->name, name, v->name.len);
                    d->name[v->name.len] = '\0';
                }
            } else {
                ok = readback_add(&c->rb, VS_SYSTEM, name, v->name.len) == HY_OK;
            }
            break;
        case CLV_USER:
            ok = readback_add(&c->rb, VS_USER, name, v->name.len) == HY_OK;
            break;
        case CLV_NAMES:
        case CLV_CHARSET:
            for (size_t k = 0; k < HY_ARRAY_SIZE(charset_vars) && ok; k++)
                ok = readback_add(&c->rb, VS_SYSTEM, charset_vars[k], strlen(charset_vars[k])) ==
                     HY_OK;
            break;
        default: /* SET ROLE: no variable to read */
            verbatim = true;
            break;
        }
    }
    if ((r->flags & (CLF_TXN_SESSION | CLF_TXN_NEXT)) || (r->nvars == 0 && !c->schema))
        verbatim = true;
    if (ok && verbatim) {
        if ((c->stmt = malloc(len - 1)) == NULL)
            ok = false;
        else
            memcpy(c->stmt, sql, len - 1);
        c->stmt_len = len - 1;
    }
    char rsql[READBACK_SQL_MAX];
    if (ok && c->rb.n > 0 && readback_sql(&c->rb, rsql, sizeof(rsql)) >= sizeof(rsql))
        ok = false;
    if (!ok) {
        s->vars.chg_pending = false;
        session_pin(s, "session state set in a way that cannot be read back");
    }
}

/* GET DIAGNOSTICS (one statement, whole at p) is on its way: the user
 * variables it assigns (`@n = NUMBER`, `CONDITION 1 @m = MESSAGE_TEXT`: each
 * @name followed by =) are read back behind it, as a SET's are, wherever it
 * runs (the connection that has the diagnostics area). */
void state_prepare_diag(struct session *s, const uint8_t *p, uint32_t len)
{
    s->vars.chg_pending = false;
    struct state_change *c;
    if (s->route.pinned || (c = state_change_begin(s)) == NULL)
        return;
    const char *sql = (const char *)p + 1;
    struct lexer lx;
    lex_init(&lx, sql, len - 1, s->route.lex_opts, NULL);
    struct token t, prev = {.type = T_END};
    bool ok = true;
    for (lex_next(&lx, &t); t.type != T_END && ok; prev = t, lex_next(&lx, &t)) {
        if (t.type == T_EQ && prev.type == T_UVAR)
            ok = readback_add(&c->rb, VS_USER, sql + prev.in_off, prev.in_len) == HY_OK;
    }
    char rsql[READBACK_SQL_MAX];
    if (ok && c->rb.n > 0 && readback_sql(&c->rb, rsql, sizeof(rsql)) >= sizeof(rsql))
        ok = false;
    if (!ok || c->rb.n == 0)
        s->vars.chg_pending = false;
    if (!ok)
        session_pin(s, "GET DIAGNOSTICS assigned user variables that cannot be read back");
}

/* The SET that state_prepare_set() looked at has gone out to s->conns.cur whole:
 * its read-back follows it there now, before its answer is in. */
void state_readback_send(struct session *s)
{
    struct state_change *c = s->vars.chg;
    if (!s->vars.chg_pending || c->rb.n == 0 || c->rb_sent || s->conns.cur == NULL)
        return;
    char sql[READBACK_SQL_MAX];
    size_t n = readback_sql(&c->rb, sql, sizeof(sql)); /* it fits: state_prepare_set */
    uint8_t hdr[MYSQL_HEADER_SIZE + 1];
    mysql_hdr_write(hdr, (uint32_t)(n + 1), 0);
    hdr[MYSQL_HEADER_SIZE] = COM_QUERY;
    c->rb_sent = true;
    if (conn_send_local(&s->conns.cur->c, s->w->loop, &s->w->pool, hdr, sizeof(hdr)) != HY_OK ||
        conn_send_local(&s->conns.cur->c, s->w->loop, &s->w->pool, sql, n) != HY_OK)
        session_mark_closing(s, END_BACKEND_LOST);
}

/* The command in flight has a read-back behind it on s->conns.cur, whose answer
 * follows the command's own. */
bool state_readback_in_flight(const struct session *s)
{
    return s->vars.chg_pending && s->vars.chg->rb_sent;
}

/* ---- variables a statement moves -----------------------------------------
 * MariaDB changes three session variables without a SET. insert_id (SET
 * insert_id = N: the id the next generated one takes) is forgotten by the
 * statement that generates an id with it (handler::ha_release_auto_increment:
 * an INSERT, REPLACE, INSERT ... SELECT, LOAD DATA, a trigger's or a
 * routine's, even one that then fails on a duplicate key; not one that gives
 * every id itself, nor one that fails before generating). rand_seed1 and
 * rand_seed2 are RAND()'s state, which each RAND() moves on (@@rand_seed1
 * reads where it is now). Kept as they were set, they would be replayed on
 * the session's next connection: the same id again (a duplicate key, or a
 * wrong id), the same random numbers again. So after each statement of a
 * session whose state holds them (bconn.moved), they are read back on the
 * connection it ran on, before the session's next command and before that
 * connection goes back to the pool (moved_readback); an insert_id
 * read back as 0 leaves the state (a connection that still has one gets SET
 * insert_id = DEFAULT). */
static const char *const moving_vars[] = {"insert_id", "rand_seed1", "rand_seed2"};

static bool value_is_zero(const struct varstate_value *v)
{
    if (v->null || v->type == VS_DEFAULT)
        return true;
    bool zero = (v->type == VS_INT || v->type == VS_UINT) && v->len > 0;
    for (size_t i = 0; zero && i < v->len; i++)
        zero = v->data[i] == '0';
    return zero;
}

/* Whether the session's state holds a variable a statement may move. */
static bool moving_held(const struct session *s)
{
    struct varstate_value v;
    for (size_t i = 0; s->vars.vs != NULL && i < HY_ARRAY_SIZE(moving_vars); i++) {
        if (varstate_get(s->vars.vs, VS_SYSTEM, moving_vars[i], strlen(moving_vars[i]), &v) &&
            (i > 0 ? v.type != VS_DEFAULT : !value_is_zero(&v)))
            return true;
    }
    return false;
}

/* A client's statement ended on s->conns.cur. */
static void state_moved_note(struct session *s)
{
    if (s->conns.cur != NULL && s->query.internal == NULL && !s->route.pinned &&
        (s->io.resp.cmd == COM_QUERY || s->io.resp.cmd == COM_STMT_EXECUTE) && moving_held(s)) {
        s->conns.cur->moved = true;
        s->conns.check_due = true;
    }
}

/* Between commands: read back what a statement may have moved. True when
 * the read-back went out (int_readback; the next command waits for it). */
static bool moved_readback(struct session *s)
{
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        struct bconn *bc = s->conns.bc[i];
        if (bc == NULL || !bc->moved)
            continue;
        bc->moved = false;
        if (bc->state != BCONN_READY || s->route.pinned || !moving_held(s))
            continue;
        struct state_change *c = state_change_begin(s);
        if (c == NULL) {
            s->conns.check_due = true; /* the others, next time */
            return false;
        }
        s->vars.chg_pending = false;
        c->ok = true;
        struct varstate_value v;
        for (size_t k = 0; k < HY_ARRAY_SIZE(moving_vars); k++) {
            size_t n = strlen(moving_vars[k]);
            if (varstate_get(s->vars.vs, VS_SYSTEM, moving_vars[k], n, &v) &&
                readback_add(&c->rb, VS_SYSTEM, moving_vars[k], n) != HY_OK) {
                s->conns.check_due = true;
                return false; /* not reached: three valid names */
            }
        }
        char sql[READBACK_SQL_MAX];
        if (readback_sql(&c->rb, sql, sizeof(sql)) >= sizeof(sql)) {
            s->conns.check_due = true;
            return false;
        }
        slog_debug(s, "reads back insert_id/rand_seed on %s", bc->be->name);
        s->conns.cur = bc;
        session_publish_backend(s);
        readback_start(&c->rb, s->who.caps, s->who.ext_caps);
        internal_query(s, &int_readback, sql, s->cfg->connect_timeout_ms);
        return true;
    }
    return false;
}

/* ---- a dropped schema ----------------------------------------------------
 * DROP DATABASE of the current schema leaves the connection that ran it
 * with none, and so the session: MariaDB sets the dropping thread's schema
 * to nothing, while its other connections (the replicas', which apply the
 * drop in a thread of their own) keep the name. Recorded as the login's
 * (an empty state), the schema would come back on the session's other
 * connections, and the pooled connection, taken next by a session of its
 * login schema, would run that session's statements with none (1046). The
 * OK says that a database was dropped (SERVER_STATUS_DB_DROPPED), not
 * which one, nor whether the server took it for the current one (names
 * compare as its lower_case_table_names has them): the connection is asked,
 * before the session's next command and before it goes back to the pool. */
static bool db_check(struct session *s)
{
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        struct bconn *bc = s->conns.bc[i];
        if (bc == NULL || bc->db_check == 0)
            continue;
        if (bc->state != BCONN_READY) {
            bc->db_check = 0;
            continue;
        }
        s->conns.cur = bc;
        session_publish_backend(s);
        internal_query(s, &int_db_check, "SELECT DATABASE() IS NULL", s->cfg->connect_timeout_ms);
        return true;
    }
    return false;
}

/* The old primary's user variables counted before the session follows
 * the new one (session_uvars_due). */
bool session_uvars_ask(struct session *s)
{
    struct bconn *bc = session_uvars_due(s);
    if (bc == NULL)
        return false;
    s->conns.cur = bc;
    session_publish_backend(s);
    internal_query(s, &int_uvars, "SELECT COUNT(*) FROM information_schema.USER_VARIABLES",
                   s->cfg->connect_timeout_ms);
    return true;
}

/* Between commands: the schema (db_check), then insert_id and rand_seed1/2
 * (moved_readback) read back where a statement may have changed them.
 * Only when s->conns.check_due: set with each connection's flag, cleared
 * here when neither finds one. True when a read-back went out. */
bool state_readback_due(struct session *s)
{
    if (!s->conns.check_due || s->state != SS_IDLE || s->query.internal != NULL)
        return false;
    s->conns.check_due = false;
    if (db_check(s) || moved_readback(s)) {
        s->conns.check_due = true; /* its answer, then the others */
        return true;
    }
    return false;
}

/* What a SET assigned (the schema, insert_id, rand_seed1/2) read back
 * from the connection that ran it. */
enum hook_verdict state_between(struct session *s)
{
    return state_readback_due(s) ? HOOK_WAIT : HOOK_PASS;
}

/* The user variables of an old primary, asked before they are needed. */
enum hook_verdict uvars_between(struct session *s)
{
    return session_uvars_ask(s) ? HOOK_WAIT : HOOK_PASS;
}

/* The session has no schema from now on: it logged in without one, as
 * far as its connections are concerned. Its other connections are in the
 * old one: closed (the DROP committed any transaction there was). */
static void schema_gone(struct session *s, struct bconn *bc)
{
    slog_debug(s, "its schema %s was dropped: the session has none from now on", session_schema(s));
    session_hooks_schema_gone(s); /* the login's schema (session_login.c) */
    state_schema_clear(s);
    registry_set_db(&s->kill.reg, NULL);
    if (s->vars.vs != NULL)
        varstate_clear_schema(s->vars.vs);
    if (bc->vs != NULL)
        varstate_clear_schema(bc->vs);
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        if (s->conns.bc[i] != NULL && s->conns.bc[i] != bc)
            bconn_close(s->conns.bc[i]);
    }
}

static void db_checked(struct session *s, struct bconn *bc, const char *value)
{
    if (value == NULL) {
        /* Not known (a KILL QUERY may have stopped it): asked again, a few
         * times; the session cannot go on not knowing where it runs. */
        if (++bc->db_check > 3) {
            slog_warn(s, "cannot read back the schema on %s after a DROP DATABASE: closing",
                      bc->be->name);
            session_mark_closing(s, END_BACKEND_LOST);
        }
        return;
    }
    bc->db_check = 0;
    if (strcmp(value, "1") == 0 && session_schema(s) != NULL)
        schema_gone(s, bc);
}

/* `SET last_insert_id = N` (or identity, its other name) read back: the
 * session's LAST_INSERT_ID(), which halyard keeps apart from the variables
 * (s->values.lid: read back after each statement that may change it, set on each
 * connection before its next one), not a variable replayed as set. */
static void lid_adopt(struct session *s)
{
    static const char *const names[] = {"last_insert_id", "identity"};
    for (size_t i = 0; s->vars.vs != NULL && i < HY_ARRAY_SIZE(names); i++) {
        struct varstate_value v;
        size_t n = strlen(names[i]);
        if (!varstate_get(s->vars.vs, VS_SYSTEM, names[i], n, &v))
            continue;
        char digits[24];
        bool num = !v.null && (v.type == VS_UINT || v.type == VS_INT) && v.len < sizeof(digits);
        if (num) {
            memcpy(digits, v.data, v.len);
            digits[v.len] = '\0';
        }
        (void)varstate_unset(s->vars.vs, VS_SYSTEM, names[i], n);
        uint64_t lid;
        if (num && hy_str_u64(digits, UINT64_MAX, &lid)) /* a negative INT: not an id */
            session_pool_lid_set(s, lid);
    }
}

/* The session's state changed on s->conns.cur, where it ran: that connection
 * has it all. */
static void state_changed(struct session *s)
{
    struct varstate_value v;
    lid_adopt(s);
    if (s->vars.vs != NULL && varstate_get(s->vars.vs, VS_SYSTEM, "insert_id", 9, &v) &&
        value_is_zero(&v))
        (void)varstate_unset(s->vars.vs, VS_SYSTEM, "insert_id", 9); /* none: 0 is no forced id */
    s->vars.vs_gen++;
    /* a SET of wait_timeout: the client's connection times out by it */
    if (s->vars.vs != NULL && varstate_get(s->vars.vs, VS_SYSTEM, "wait_timeout", 12, &v) &&
        !v.null) {
        char num[24];
        size_t n = v.len < sizeof(num) - 1 ? v.len : sizeof(num) - 1;
        memcpy(num, v.data, n);
        num[n] = '\0';
        double t;
        if (hy_str_double(num, &t) && t > 0 && t != s->io.wait_timeout)
            session_idle_arm(s, t);
    }
    struct bconn *bc = s->conns.cur;
    if (bc == NULL)
        return;
    if ((bc->vs == NULL && (bc->vs = varstate_create(STATE_MAX_BYTES)) == NULL) ||
        varstate_copy(bc->vs, s->vars.vs) != HY_OK) {
        session_pin(s, "out of memory for the session state");
        return;
    }
    bc->vs_gen = s->vars.vs_gen;
}

/* Whether `sql` is a one-shot SET TRANSACTION (no SESSION, no GLOBAL). */
static bool stmt_is_txn_next(const struct session *s, const char *sql, size_t len)
{
    struct classify_result r;
    classify(sql, len, s->route.lex_opts, &r, NULL);
    return (r.flags & CLF_TXN_NEXT) != 0;
}

/* Drop the one-shot SET TRANSACTION statements from `vs`; true when there
 * were some. */
static bool txn_next_drop(const struct session *s, struct varstate *vs)
{
    const char *sql;
    size_t len;
    bool dropped = false;
    for (uint32_t i = 0; vs != NULL && varstate_stmt_get(vs, i, &sql, &len);) {
        if (stmt_is_txn_next(s, sql, len)) {
            (void)varstate_stmt_drop(vs, i);
            dropped = true;
        } else {
            i++;
        }
    }
    return dropped;
}

void state_txn_begun(struct session *s)
{
    if (!txn_next_drop(s, s->vars.vs))
        return;
    slog_debug(s, "the one-shot SET TRANSACTION was consumed on %s",
               s->conns.cur != NULL ? s->conns.cur->be->name : "its connection");
    /* A replay would begin the transaction again without it. */
    session_replay_refuse(s, "a transaction begun under a one-shot SET TRANSACTION");
    state_changed(s); /* s->conns.cur has it: it consumed them */
}

/* ---- the one-shot SET TRANSACTION ----------------------------------------
 * SET TRANSACTION without SESSION or GLOBAL sets what the next transaction
 * runs with (MariaDB's thd->tx_isolation and tx_read_only, apart from the
 * session variables @@tx_isolation and @@tx_read_only, which it leaves as
 * they were). The server forgets it when a transaction ends: a COMMIT or
 * ROLLBACK (one with no transaction open too), an implicit commit, and an
 * autocommit statement that used a transactional table (a plain SELECT of
 * an InnoDB table; not `SELECT 1`, a SET, a SHOW or a read of information_schema
 * alone). halyard keeps it in the
 * session's state until then, so it reaches whatever connection the next
 * transaction runs on (state_sync_now sends it first), and drops it once
 * a statement consumed it (state_txn_next_note): the answer says a
 * transaction is open, or the statement is one that ends it
 * (state_txn_next_ends). The session's other connections that were
 * brought to it and did not run that statement still have it pending:
 * before their next use they get `SET tx_isolation = @@tx_isolation,
 * tx_read_only = @@tx_read_only` (txn_next_undo), which sets the next
 * transaction's characteristics to the session's own, as if none had
 * been given. */
/* Whether token t (of lx) is the word or quoted name `w`. */
static bool tok_is(const struct lexer *lx, const struct token *t, const char *w)
{
    size_t n = strlen(w);
    const char *p = (const char *)lx->s + (t->type == T_QIDENT ? t->in_off : t->off);
    size_t len = t->type == T_QIDENT ? t->in_len : t->len;
    return (t->type == T_WORD || t->type == T_QIDENT) && len == n && strncasecmp(p, w, n) == 0;
}

/* Whether every table `sql` reads is one of information_schema's, which
 * no transactional engine holds: each FROM and JOIN names
 * `information_schema.x`, and no FROM list goes on past a comma. False
 * when unsure (another word after FROM, several statements). */
static bool reads_information_schema_only(const char *sql, size_t len, unsigned lex_opts)
{
    static const char *const from_ends[] = {"WHERE", "GROUP", "ORDER",  "HAVING",
                                            "LIMIT", "UNION", "WINDOW", "FOR"};
    static const char is[] = "information_schema";
    bool named = false; /* the text names it: a scan with no lexer first */
    for (size_t i = 0; !named && i + sizeof(is) - 1 <= len; i++)
        named = (sql[i] | 0x20) == 'i' && strncasecmp(sql + i, is, sizeof(is) - 1) == 0;
    if (!named)
        return false;
    struct lexer lx;
    struct token t;
    lex_init(&lx, sql, len, lex_opts, NULL);
    unsigned depth = 0;
    uint64_t in_from = 0; /* bit d: a FROM list is open at depth d */
    bool any = false;
    for (lex_next(&lx, &t); t.type != T_END; lex_next(&lx, &t)) {
        if (t.type == T_SEMI || (t.type == T_RPAREN && depth == 0) ||
            (t.type == T_COMMA && (in_from >> depth & 1)))
            return false;
        if (t.type == T_LPAREN || t.type == T_RPAREN) {
            in_from &= ~(1ull << depth);
            if (t.type == T_LPAREN && ++depth >= 64)
                return false;
            depth -= t.type == T_RPAREN;
            continue;
        }
        if (tok_is(&lx, &t, "FROM") || tok_is(&lx, &t, "JOIN")) {
            lex_next(&lx, &t);
            if (!tok_is(&lx, &t, "information_schema"))
                return false;
            lex_next(&lx, &t);
            if (t.type != T_DOT)
                return false;
            any = true;
            in_from |= 1ull << depth;
            continue;
        }
        for (size_t i = 0; i < sizeof(from_ends) / sizeof(from_ends[0]); i++) {
            if (tok_is(&lx, &t, from_ends[i]))
                in_from &= ~(1ull << depth);
        }
    }
    return any;
}

bool state_txn_next_ends(const struct classify_result *r, const char *sql, size_t len,
                         unsigned lex_opts)
{
    if (r->flags & CLF_TXN_NEXT)
        return false;
    switch (r->kind) {
    case CL_WRITE:
    case CL_TXN_BEGIN:
    case CL_TXN_BEGIN_RO:
    case CL_TXN_END:
        return true;
    case CL_READ:
    case CL_PIN_PRIMARY:
        break;
    default:
        return false;
    }
    if (!r->clears_diag)
        return false; /* a SELECT that uses no table */
    struct lexer lx;
    struct token t;
    lex_init(&lx, sql, len, lex_opts, NULL);
    lex_next(&lx, &t);
    /* SHOW, DESCRIBE and HELP lock no table of a transactional engine,
     * nor does a read of information_schema alone */
    return !(t.kw == KW_SHOW || t.kw == KW_DESCRIBE || t.kw == KW_DESC || t.kw == KW_HELP) &&
           !reads_information_schema_only(sql, len, lex_opts);
}

bool state_holds_stmts(const struct session *s)
{
    const char *sql;
    size_t len;
    return s->vars.vs != NULL && varstate_stmt_get(s->vars.vs, 0, &sql, &len);
}

static void state_txn_next_note(struct session *s)
{
    bool ends = s->query.cmd_txn_next;
    s->query.cmd_txn_next = false;
    if (s->conns.cur == NULL || s->query.internal != NULL || s->vars.vs == NULL)
        return;
    bool open = s->io.resp.status_seen && (s->io.resp.status & SERVER_STATUS_IN_TRANS);
    if (open || (ends && s->io.resp.err_code == 0))
        state_txn_begun(s);
}

/* `bc` still has a one-shot SET TRANSACTION the session's state no longer
 * holds as bc has it (another connection consumed it, and the session may
 * have given another since): the command that takes it back, pushed on
 * `out`, and the one-shot out of bc->vs (varstate_apply then sends the
 * session's, if any). */
static hy_status_t txn_next_undo(const struct session *s, struct bconn *bc,
                                 const struct varstate *want, struct varstate_cmds *out)
{
    static const char undo[] = "SET tx_isolation = @@tx_isolation, tx_read_only = @@tx_read_only";
    const char *sql, *wsql;
    size_t len, wlen;
    bool prefix = true; /* bc's statements are the first of the session's */
    for (uint32_t i = 0; prefix && varstate_stmt_get(bc->vs, i, &sql, &len); i++)
        prefix = want != NULL && varstate_stmt_get(want, i, &wsql, &wlen) && wlen == len &&
                 memcmp(wsql, sql, len) == 0;
    if (prefix || !txn_next_drop(s, bc->vs))
        return HY_OK;
    return varstate_cmds_push(out, COM_QUERY, undo, sizeof(undo) - 1);
}

/* The command in flight ended (ok: it succeeded). Returns true when the
 * variables it set are to be read back (its answer follows: state_readback_expect). */
static bool state_commit(struct session *s, bool ok)
{
    struct state_change *c = s->vars.chg;
    if (!s->vars.chg_pending)
        return false;
    s->vars.chg_pending = false;
    c->ok = ok;
    if (s->conns.cur == NULL) /* its answer was abandoned, and the connection closed */
        return false;
    if (s->vars.vs == NULL && (s->vars.vs = varstate_create(STATE_MAX_BYTES)) == NULL) {
        session_pin(s, "out of memory for the session state");
        return c->rb_sent; /* its answer is on the way all the same */
    }
    if (!ok || s->route.pinned)
        return c->rb_sent;
    hy_status_t rc = HY_OK;
    if (c->schema && s->vars.schema != NULL)
        rc = varstate_set_schema(s->vars.vs, s->vars.schema, strlen(s->vars.schema));
    if (c->option >= 0)
        varstate_set_option(s->vars.vs, c->option);
    if (rc == HY_OK && c->stmt != NULL)
        rc = varstate_add_stmt(s->vars.vs, (const char *)c->stmt, c->stmt_len);
    for (uint32_t i = 0; i < c->n_default && rc == HY_OK; i++) {
        const struct varstate_value dflt = {.type = VS_DEFAULT};
        rc = varstate_set(s->vars.vs, VS_SYSTEM, c->dflt[i].name, c->dflt[i].len, &dflt);
    }
    if (rc != HY_OK) {
        session_pin(s, "session state past its bounds");
        return false;
    }
    if (c->rb_sent)
        return true;
    state_changed(s);
    return false;
}

bool state_end(struct session *s)
{
    bool readback = state_commit(s, s->io.resp.err_code == 0);
    state_txn_next_note(s);
    state_moved_note(s);
    return readback;
}

/* The end of the command's answer is parsed, not yet passed on: with a
 * read-back behind it, the connection serves no session in the process
 * list (connreg.h) from now until the session's next command
 * (state_command_serves). The client has the answer once it is passed on
 * and may read the process list at once, from another worker: it shows
 * this session's idle row (session_sysview.c), not halyard's read-back
 * running. Done when the answer was passed on, a worker descheduled in
 * between (CI, 2 cores) let a read see the read-back. The database a
 * USE or COM_INIT_DB that succeeded chose is the process list's now too,
 * as the server changes it before it answers (command_done keeps it as
 * the session's): written there once the answer had gone on, it listed
 * the old one to such a read (CI; tests/integration/test_answer_order.py). */
void state_answer_end(struct session *s)
{
    if (s->conns.cur != NULL && state_readback_in_flight(s))
        connreg_serve(&s->conns.cur->reg, 0);
    if (s->query.pend_schema != NULL && s->query.internal == NULL && s->io.resp.err_code == 0)
        registry_set_db(&s->kill.reg, s->query.pend_schema);
}

/* The command ended and its read-back's answer comes next on s->conns.cur:
 * read it (internal_progress) as an internal query's. */
void state_readback_expect(struct session *s)
{
    readback_start(&s->vars.chg->rb, s->who.caps, s->who.ext_caps);
    internal_expect(s, &int_readback, COM_QUERY, s->cfg->connect_timeout_ms);
}

/* The session's next command has come: the connection a read-back left
 * serving no session (state_readback_end) is the session's again. */
void state_command_serves(struct session *s)
{
    s->conns.idle_unserved = false;
    if (s->conns.cur != NULL)
        connreg_serve(&s->conns.cur->reg, s->id);
}

/* The read-back's answer has been read (readback_feed): keep the values,
 * or pin the session when they could not all be read. */
static void readback_end(struct session *s)
{
    struct state_change *c = s->vars.chg;
    /* The server may list the thread `Query`, with the read-back's text,
     * for a moment after it has sent the answer: the connection serves
     * the session again only when its next command comes
     * (state_command_serves), so the session stays idle (Sleep). */
    s->conns.idle_unserved = s->conns.cur != NULL;
    session_track_readback(s, &c->rb);
    if (s->route.pinned)
        return; /* nothing to keep */
    if (!c->ok) {
        /* The SET failed. Whatever the read-back learned is what that
         * connection holds (all of it, when the SET failed before assigning
         * anything): other connections are brought to it. */
        if (s->io.resp.err_code == 0 && readback_done(&c->rb) == HY_OK)
            state_changed(s);
        else
            s->vars.vs_gen++;
        return;
    }
    if (s->io.resp.err_code != 0 || readback_done(&c->rb) != HY_OK) {
        slog_debug(s, "reading back the session's variables failed (error %u)",
                   s->io.resp.err_code);
        session_pin(s, "the session's variables could not be read back");
        return;
    }
    /* A new sql_mode, by any expression (or DEFAULT, read back too):
     * statements are lexed as the server now lexes them, whether or not
     * the client asked for session tracking. */
    struct varstate_value mode;
    for (uint32_t i = 0; i < s->vars.chg->rb.n; i++) {
        const struct readback_var *v = &s->vars.chg->rb.var[i];
        if (v->scope == VS_SYSTEM && strcasecmp(v->name, "sql_mode") == 0 &&
            varstate_get(s->vars.vs, VS_SYSTEM, "sql_mode", 8, &mode) && !mode.null)
            session_lex_mode(s, classify_sql_mode((const char *)mode.data, mode.len));
    }
    state_changed(s);
}

/* What a connection another session ran (pool_mode = "transaction") is
 * brought to: the session's state, or an empty one when it has none; a
 * schema the connection was moved to is brought back to the login's. One
 * per worker, reused. NULL when out of memory. */
static _Thread_local struct varstate *sync_want;
static _Thread_local struct varstate *reset_base; /* state_reset_cmds() */

static const struct varstate *state_target_base(struct session *s, const struct bconn *bc)
{
    const char *db = session_login_db(s);
    if (!(bc->foreign || bc->db_moved) ||
        (s->vars.vs != NULL &&
         (varstate_schema(s->vars.vs) != NULL || db == NULL || varstate_schema(bc->vs) == NULL)))
        return s->vars.vs;
    if (sync_want == NULL && (sync_want = varstate_create(STATE_MAX_BYTES)) == NULL)
        return NULL;
    if (s->vars.vs == NULL)
        varstate_clear(sync_want);
    else if (varstate_copy(sync_want, s->vars.vs) != HY_OK)
        return NULL;
    if (db != NULL && varstate_schema(bc->vs) != NULL &&
        varstate_set_schema(sync_want, db, strlen(db)) != HY_OK)
        return NULL;
    return sync_want;
}

/* Sharded (session_shard.c): a schema of another group is not brought to
 * this group's connection, which keeps its own. */
static const struct varstate *state_target(struct session *s, const struct bconn *bc)
{
    const struct varstate *want = state_target_base(s, bc);
    if (want == NULL || session_schema_here(s, varstate_schema(want)))
        return want;
    if (want != sync_want) {
        if (sync_want == NULL && (sync_want = varstate_create(STATE_MAX_BYTES)) == NULL)
            return NULL;
        if (varstate_copy(sync_want, want) != HY_OK)
            return NULL;
    }
    const char *keep = varstate_schema(bc->vs);
    if (keep == NULL)
        varstate_clear_schema(sync_want);
    else if (varstate_set_schema(sync_want, keep, strlen(keep)) != HY_OK)
        return NULL;
    return sync_want;
}

void state_thread_exit(void)
{
    varstate_destroy(sync_want);
    sync_want = NULL;
    varstate_destroy(reset_base);
    reset_base = NULL;
}

/* ---- restoring by COM_RESET_CONNECTION -----------------------------------
 * A connection another session used is brought to the session's state by
 * SETs that undo what that session set and set what this one did
 * (varstate_apply). COM_RESET_CONNECTION undoes it all in one command
 * (variables back to the global values, the character set to the
 * handshake's, user variables, SET SESSION TRANSACTION, temporary tables,
 * prepared statements, LAST_INSERT_ID() 0, the diagnostics area), leaving
 * the schema and COM_SET_OPTION's option as they were, and SET ROLE too
 * (MariaDB 10.11): then only the session's own state is set. It costs the
 * statements the connection kept prepared for the sessions after, so it is
 * used when it takes fewer commands (the other session left more than one
 * SET's worth of state), or when SET cannot undo what it left (SET SESSION
 * TRANSACTION) and the other choice is a new connection.
 *
 * Two cases take the reset whatever it costs (issue 33), as nothing else
 * is exact:
 *  - the connection logged in (or was last reset) before the session
 *    began (bc->epoch < s->conns.lease.epoch): its session defaults are the global
 *    variables of then, and a SET GLOBAL since (through halyard or on the
 *    server) must reach a session that begins after it, as it would on
 *    the server. COM_RESET_CONNECTION takes the globals of now. So each
 *    session resets the first pooled connection of each backend it takes
 *    that is older than itself, once: the reset makes it younger.
 *  - another session left user variables there that this one has not set
 *    alike: `SET @a = NULL` would keep the old variable's type (a column
 *    length of 20 where a new variable gives 16777216), so they go. */

/* The commands that restore `bc` to `want` by a reset, appended to *out;
 * HY_ERROR when a reset cannot (a role `want` does not begin with: the
 * reset keeps bc's; a schema the login had not).
 * `login_db`: the schema bc logged in with (its pool's key), NULL = none. */
static hy_status_t state_reset_cmds(const struct bconn *bc, const struct varstate *want,
                                    const char *login_db, uint8_t login_cs, size_t max_cmd,
                                    struct varstate_cmds *out)
{
    const char *role;
    size_t role_len;
    if (reset_base == NULL && (reset_base = varstate_create(STATE_MAX_BYTES)) == NULL)
        return HY_NOMEM;
    varstate_clear(reset_base);
    const char *db = varstate_schema(bc->vs);
    if (db != NULL && varstate_set_schema(reset_base, db, strlen(db)) != HY_OK)
        return HY_NOMEM;
    if (state_last_role(bc->vs, &role, &role_len) &&
        varstate_add_stmt(reset_base, role, role_len) != HY_OK)
        return HY_NOMEM;
    varstate_set_option(reset_base, varstate_option(bc->vs));
    hy_status_t rc = varstate_cmds_push(out, COM_RESET_CONNECTION, NULL, 0);
    /* The reset keeps the schema but sets @@character_set_database and
     * @@collation_database to the server's defaults: selecting the schema
     * again reads them from it, as the session had them. */
    const char *cur = db != NULL ? db : login_db;
    if (rc == HY_OK && cur != NULL)
        rc = varstate_cmds_push(out, COM_INIT_DB, cur, strlen(cur));
    return rc == HY_OK ? varstate_apply(reset_base, want, login_cs, max_cmd, out) : rc;
}

/* Whether `bc` (foreign) must be reset before it serves the session,
 * whatever the SETs would cost (see above); `why` says why. */
static bool state_reset_due(const struct session *s, const struct bconn *bc,
                            const struct varstate *want, const char **why)
{
    if (bc->epoch < s->conns.lease.epoch) {
        *why = "it logged in before the session began";
        return true;
    }
    if (varstate_count(bc->vs, VS_USER) > 0 && !varstate_scope_equal(bc->vs, want, VS_USER)) {
        *why = "another session's user variables are there";
        return true;
    }
    return false;
}

/* s->conns.cur (foreign) is restored by the SETs in s->vars.sync (`set_ok`: they
 * can): restore it by a reset instead when that is due (state_reset_due),
 * takes fewer commands, or when the SETs cannot. True when s->vars.sync holds
 * what restores it; false when only a new connection can. */
static bool state_reset_choose(struct session *s, const struct varstate *want, size_t max_cmd,
                               bool set_ok)
{
    struct bconn *bc = s->conns.cur;
    struct varstate_cmds alt = {0};
    const char *due = NULL;
    bool must = state_reset_due(s, bc, want, &due);
    /* what the reset also does: the diagnostics cleared, LAST_INSERT_ID() 0 */
    uint32_t by_set =
        s->vars.sync.n + (bc->diag_dirty ? 1u : 0u) + (bc->lid != s->values.lid ? 1u : 0u);
    if (set_ok && !must && by_set == 0)
        return true; /* nothing to send: a reset is one command at least */
    if (state_reset_cmds(bc, want, session_login_db(s), s->who.charset, max_cmd, &alt) != HY_OK) {
        varstate_cmds_free(&alt);
        return set_ok && !must;
    }
    uint32_t by_reset = alt.n + (s->values.lid != 0 ? 1u : 0u);
    if (set_ok && !must && by_reset >= by_set) {
        varstate_cmds_free(&alt);
        return true;
    }
    if (must)
        slog_debug(s, "resets %s (thread %u): %s", bc->be->name, bc->login.thread_id, due);
    else
        slog_debug(s, "restores %s by COM_RESET_CONNECTION: %u commands, not %s%u", bc->be->name,
                   by_reset, set_ok ? "" : "a new connection or ", by_set);
    bc->epoch = ++s->w->conns.serial; /* the globals of now: younger than the session */
    bc->defaults_at = ev_now(s->w->loop);
    bc->track_on = bc->trx_track_on = bc->gtid_track_on = false;
    varstate_cmds_free(&s->vars.sync);
    s->vars.sync = alt;
    bc->diag_dirty = false;
    bc->lid = 0;
    ps_cache_clear(&bc->psc);
    stat_inc(&s->w->stats.pool_restore_resets);
    return true;
}

static bool state_sync_finish(struct session *s);

/* What brings s->conns.cur (ready, idle) up to the session's state, into
 * s->vars.sync (empty when nothing does). False when the session is
 * closing or the command waits on another connection or an error. */
static bool state_sync_plan(struct session *s)
{
    struct bconn *bc = s->conns.cur;
    varstate_cmds_free(&s->vars.sync);
    s->vars.sync_i = 0;
    if (bc->vs == NULL && (bc->vs = varstate_create(STATE_MAX_BYTES)) == NULL) {
        session_mark_closing(s, END_NOMEM);
        return false;
    }
    const struct varstate *want = state_target(s, bc);
    if (want == NULL && (bc->foreign || s->vars.vs != NULL)) {
        session_mark_closing(s, END_NOMEM);
        return false;
    }
    if (txn_next_undo(s, bc, want, &s->vars.sync) != HY_OK) {
        session_mark_closing(s, END_NOMEM);
        return false;
    }
    size_t max_cmd = (size_t)s->cfg->buffer_size - MYSQL_HEADER_SIZE - 1;
    bool set_ok = want == NULL ||
                  varstate_apply(bc->vs, want, s->who.charset, max_cmd, &s->vars.sync) == HY_OK;
    if (want != NULL && bc->foreign)
        set_ok = state_reset_choose(s, want, max_cmd, set_ok);
    if (!set_ok) {
        if (bc->foreign) {
            /* The other session's state cannot be undone by SET nor reset
             * (a schema or option it set, SET ROLE): a connection of its
             * own. */
            uint32_t idx = bc->idx;
            bconn_close(bc);
            bconn_open(s, idx);
            return false;
        }
        session_backend_failed(s, NULL, 0, "cannot bring the session state there");
        return false;
    }
    if ((bc->foreign && session_pool_sync_extra(s, bc, &s->vars.sync) != HY_OK) ||
        session_track_sync(s, bc, &s->vars.sync) != HY_OK || /* after the session's SETs */
        session_pool_sync_lid(s, bc, &s->vars.sync) != HY_OK ||
        session_pool_sync_diag(s, bc, &s->vars.sync) != HY_OK) { /* last: nothing clears it after */
        session_mark_closing(s, END_NOMEM);
        return false;
    }
    return true;
}

static bool state_sync_next(struct session *s);

bool state_synced(const struct session *s, const struct bconn *bc)
{
    return bc->vs_gen == s->vars.vs_gen && session_track_ready(s, bc);
}

bool state_sync_now(struct session *s)
{
    if (!state_sync_plan(s))
        return false;
    if (s->vars.sync.n > 0) {
        (void)state_sync_next(s); /* the commands, then the command waiting goes on */
        return false;
    }
    if (!state_sync_finish(s))
        return false;
    session_timer_stop(s);
    return true;
}

void state_schema_clear(struct session *s)
{
    free(s->vars.schema);
    s->vars.schema = NULL;
}

void state_done(struct session *s)
{
    if (s->query.pend_schema == NULL)
        return;
    if (s->io.resp.err_code == 0) {
        free(s->vars.schema);
        s->vars.schema = s->query.pend_schema; /* the USE's, the session's now */
        registry_set_db(&s->kill.reg, s->vars.schema);
    } else {
        free(s->query.pend_schema);
    }
    s->query.pend_schema = NULL;
}

void state_change_drop(struct session *s)
{
    s->vars.chg_pending = false;
}

/* The connection answered the sync's current command (int_sync): the
 * next; an error that is not the raise it was meant to be leaves the
 * connection in a state no one knows (a failure of it). */
static enum internal_next sync_answered(struct session *s, struct bconn *bc)
{
    (void)bc;
    if (s->io.resp.err_code != 0 &&
        !session_pool_sync_err_ok(s, s->vars.sync_i, s->io.resp.err_code)) {
        char why[96];
        snprintf(why, sizeof(why), "replaying session state failed with error %u",
                 s->io.resp.err_code);
        session_backend_failed(s, NULL, 0, why);
        return INTERNAL_WENT_ON;
    }
    s->vars.sync_i++;
    return state_sync_next(s) ? INTERNAL_END : INTERNAL_WENT_ON;
}

static const struct internal_cmd int_sync = {.name = "a command of the session's state",
                                             .answered = sync_answered};

/* The connection has the session's state (s->vars.sync all sent, or
 * nothing to send): noted so. False when the session is closing. */
static bool state_sync_finish(struct session *s)
{
    struct bconn *bc = s->conns.cur;
    varstate_cmds_free(&s->vars.sync);
    s->vars.sync_i = 0;
    s->values.sync_signal = 0;
    /* A schema of another group stayed off this connection
     * (state_target): it keeps its own. */
    char *keep = NULL;
    bool other = s->vars.vs != NULL && !session_schema_here(s, varstate_schema(s->vars.vs));
    if (other && varstate_schema(bc->vs) != NULL &&
        (keep = strdup(varstate_schema(bc->vs))) == NULL) {
        session_mark_closing(s, END_NOMEM);
        return false;
    }
    if (s->vars.vs != NULL && varstate_copy(bc->vs, s->vars.vs) != HY_OK) {
        free(keep);
        session_mark_closing(s, END_NOMEM);
        return false;
    }
    if (other) {
        varstate_clear_schema(bc->vs);
        hy_status_t krc = keep != NULL ? varstate_set_schema(bc->vs, keep, strlen(keep)) : HY_OK;
        free(keep);
        if (krc != HY_OK) {
            session_mark_closing(s, END_NOMEM);
            return false;
        }
    }
    if (s->vars.vs == NULL)
        varstate_clear(bc->vs);
    bc->foreign = false;
    bc->db_moved = false;
    bc->vs_gen = s->vars.vs_gen;
    return true;
}

/* Send s->conns.cur the next command of s->vars.sync as a command of
 * halyard's own (int_sync): false. When none is left, it has the
 * session's state: true, and the waiting command goes on (the caller ends
 * the sync's command: sync_answered's INTERNAL_END); false when the
 * session closes. */
static bool state_sync_next(struct session *s)
{
    struct bconn *bc = s->conns.cur;
    if (s->vars.sync_i == s->vars.sync.n)
        return state_sync_finish(s);
    const struct varstate_cmd *e = &s->vars.sync.v[s->vars.sync_i];
    uint8_t hdr[MYSQL_HEADER_SIZE];
    mysql_hdr_write(hdr, e->len, 0);
    internal_expect(s, &int_sync, e->pkt[0], s->cfg->connect_timeout_ms);
    if (conn_send_local(&bc->c, s->w->loop, &s->w->pool, hdr, sizeof(hdr)) != HY_OK ||
        conn_send_local(&bc->c, s->w->loop, &s->w->pool, e->pkt, e->len) != HY_OK)
        session_backend_failed(s, NULL, 0, "cannot send session state");
    return false;
}

/* ---- the read-back's and the schema check's answers (internal_progress) */

static void readback_packet(struct session *s, const struct hook_packet *pk)
{
    if (s->vars.vs != NULL && !s->route.pinned)
        readback_feed(&s->vars.chg->rb, pk->pl, pk->len, pk->whole, s->vars.vs);
}

static enum internal_next readback_answered(struct session *s, struct bconn *bc)
{
    (void)bc;
    readback_end(s);
    return INTERNAL_END;
}

static enum internal_next db_check_answered(struct session *s, struct bconn *bc)
{
    db_checked(s, bc, internal_value(s, bc));
    return s->state == SS_CLOSING ? INTERNAL_WENT_ON : INTERNAL_END;
}

const struct internal_cmd int_readback = {.name = "the read-back of a SET",
                                          .flags = INTERNAL_WHOLE | INTERNAL_OWN_STATE,
                                          .packet = readback_packet,
                                          .answered = readback_answered};
const struct internal_cmd int_db_check = {.name = "the schema after a DROP DATABASE",
                                          .flags = INTERNAL_CAPTURE | INTERNAL_OWN_STATE,
                                          .answered = db_check_answered};

/* The collation id whose character set the server lexes a statement's
 * text in (character_set_client), for ps_text.h: the login's, unless SET
 * NAMES or SET character_set_client changed it since (read back as a
 * name: a utf8, latin1, ascii or binary one stands as utf8mb4's id 45;
 * a number as itself; anything else, sjis or DEFAULT, as 0, which lets
 * only ASCII strings through). */
uint16_t state_client_charset(const struct session *s)
{
    static const char var[] = "character_set_client";
    static const char *const safe[] = {"utf8", "latin1", "ascii", "binary"};
    struct varstate_value v;
    if (s->vars.vs == NULL || !varstate_get(s->vars.vs, VS_SYSTEM, var, sizeof(var) - 1, &v))
        return s->who.charset;
    char buf[32] = "";
    if (v.data != NULL) {
        size_t n = HY_MIN(v.len, sizeof(buf) - 1);
        memcpy(buf, v.data, n);
        buf[n] = '\0';
    }
    if (v.type == VS_INT || v.type == VS_UINT) {
        uint64_t x;
        return hy_str_u64(buf, 255, &x) ? (uint16_t)x : 0;
    }
    for (size_t k = 0; (v.type == VS_STRING || v.type == VS_BINARY) && k < HY_ARRAY_SIZE(safe);
         k++) {
        if (strncasecmp(buf, safe[k], strlen(safe[k])) == 0)
            return 45;
    }
    return 0;
}
