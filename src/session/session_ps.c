/*
 * session_ps.c: the session's prepared statements (COM_STMT_*), part of
 * the session module (session_int.h). The statement map itself is
 * pstmt.c's; this file routes, prepares, executes and answers for it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/core/text.h"
#include "halyard/core/audit.h"
#include "halyard/cluster/backend.h"
#include "halyard/sql/classify.h"
#include "halyard/sql/digest.h"
#include "halyard/config/group.h"
#include "halyard/sql/ps_text.h"
#include "halyard/route/router.h"
#include "halyard/pool/server.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/sql/shard_key.h"
#include "halyard/core/stats.h"
#include "halyard/sql/varstate.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_cache.h"
#include "session_fanout.h"
#include "session_inflight.h"
#include "session_pool.h"
#include "session_ps.h"
#include "session_shard.h"
#include "session_state.h"

/* ---- prepared statements ------------------------------------------------
 * halyard hands the client its own statement ids (per session, from 1) and
 * keeps for each statement its text, its class, its parameter and column
 * counts, and for every backend that backend's own id (0: not prepared
 * there). The client's COM_STMT_PREPARE is classified like a COM_QUERY of
 * its text (rules included) and runs where a read or a write would; its
 * answer is forwarded with the id in the OK rewritten to halyard's.
 *
 * A COM_STMT_EXECUTE is routed like its text (reads to a replica outside
 * read-write transactions, as the consistency allows; the rest to the
 * primary). Where it lands and the statement is not prepared yet, halyard
 * first brings the connection's session state up to date, then prepares it
 * there itself (int_ps_prepare, answer read and dropped; if a replica
 * refuses, the EXECUTE runs on the primary instead). The EXECUTE goes on
 * with the backend's id written over the client's, in place. A client that
 * does not send the parameter types again (new_params_bound_flag = 0) means
 * "the types of my previous EXECUTE": halyard keeps the last types the
 * client sent and, for a backend that has not received those, rewrites the
 * head of the packet with the flag set and the types.
 *
 * COM_STMT_SEND_LONG_DATA has no answer and is not buffered: it is
 * forwarded at once to the primary (to the replica running the session's
 * READ ONLY transaction, if one is open), prepared there first if need be,
 * and the next EXECUTE of that statement runs there. Memory stays bounded
 * and the server enforces its own max_allowed_packet on the data.
 * COM_STMT_FETCH goes to the backend whose EXECUTE opened the cursor.
 * COM_STMT_RESET is run on every backend that has the statement (the last
 * one's answer goes to the client). COM_STMT_CLOSE is sent to every backend
 * that has the statement and frees it.
 *
 * The server parses a statement at its PREPARE, in the default schema and
 * under the sql_mode and character set of that moment, and an execution
 * runs it so whatever came since: halyard prepares it elsewhere in that
 * schema (int_ps_use) and under those (int_ps_env, a SET), then brings the
 * connection back to the session's state before the execution runs.
 *
 * Losing a backend forgets its ids; the statements are prepared again
 * where they are needed next. A statement whose text does not fit a buffer
 * is not kept, and one with so many parameters that an EXECUTE's head
 * might not fit a buffer cannot have its types read or added: both are
 * prepared on the primary and never move (home_only).
 */

/* What a step of a statement's command says to the cycle (its kind's row,
 * at the end of this file, turns it into the stage's enum next_step). */
enum ps_step {
    PS_ON,   /* the next stage goes on with it */
    PS_STOP, /* it runs (sent) or waits: the cycle stops */
    PS_NEXT, /* refused and answered, or dropped: the next command */
};

/* A session begins with no statement's step under way. */
bool ps_create(struct session *s)
{
    s->prep.ps_step = -1;
    return true;
}

/* The routed command will not run: the statement it would have prepared
 * goes, and no step of a statement's runs on. */
void ps_abandon(struct session *s)
{
    pstmt_free(s->prep.ps_new);
    s->prep.ps_new = NULL;
    s->prep.ps_step = -1;
    s->prep.meta_ps_id = 0;
}

/* The command answered: a COM_STMT_PREPARE whose OK did not come failed,
 * and MariaDB's id -1 now names nothing (before the capture reads it). */
void ps_done(struct session *s)
{
    s->prep.meta_ps_id = 0;
    if (s->query.cmd == COM_STMT_PREPARE && s->prep.ps_new != NULL) {
        pstmt_free(s->prep.ps_new);
        s->prep.ps_new = NULL;
        s->prep.map.last = 0;
    }
}

/* Forget every statement (COM_RESET_CONNECTION, COM_CHANGE_USER, the end). */
void ps_clear(struct session *s)
{
    pstmt_clear(&s->prep.map);
    pstmt_free(s->prep.ps_new);
    s->prep.ps_new = NULL;
    free(s->prep.ps_err);
    s->prep.ps_err = NULL;
}

/* A connection of the session closes (on_conn_gone, session_hooks.c): its
 * statements' ids there are gone (a parked one's are the pool's). */
void ps_conn_gone(struct session *s, struct bconn *bc)
{
    if (!bc->parked)
        ps_backend_gone(s, bc->idx);
}

/* The on_conn_open hook: a new connection, or a pooled one another
 * session used, has none of the session's statements; ids they had for
 * its backend name another connection (pooled: one it gave back). */
void ps_conn_open(struct session *s, struct bconn *bc)
{
    ps_backend_gone(s, bc->idx);
}

/* Backend `idx`'s connection is gone, and the statements it held with it. */
void ps_backend_gone(struct session *s, uint32_t idx)
{
    pstmt_backend_gone(&s->prep.map, idx);
}

/* Reload (session_config_switch): the statements' per-backend arrays for
 * the new config's `n` backends, allocated before anything changes so that
 * a failure leaves the session as it was; NULL without statements. */
struct ps_backend **ps_remap_alloc(struct session *s, size_t n)
{
    if (s->prep.map.count == 0)
        return NULL;
    struct ps_backend **nbe = calloc(s->prep.map.count, sizeof(*nbe));
    if (nbe == NULL)
        return NULL;
    for (uint32_t k = 0; k < s->prep.map.count; k++) {
        if ((nbe[k] = calloc(n, sizeof(**nbe))) == NULL) {
            while (k-- > 0)
                free(nbe[k]);
            free(nbe);
            return NULL;
        }
    }
    return nbe;
}

/* ... then, once the connections have moved (those closed have forgotten
 * their ids), carry each statement's ids over to the new indexes. */
void ps_remap_apply(struct session *s, struct ps_backend **nbe, const struct config *to)
{
    if (nbe == NULL)
        return;
    const struct config *from = s->cfg;
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->prep.map.cap; i++) {
        for (struct pstmt *st = s->prep.map.tab[i]; st != NULL; st = st->next, k++) {
            struct ps_backend *be = nbe[k];
            for (size_t b = 0; b < from->n_backends; b++) {
                int j = config_backend_match(to, &from->backends[b]);
                if (j >= 0)
                    be[j] = st->be[b];
            }
            int home = config_backend_match(to, &from->backends[st->home]);
            int cursor = st->cursor_idx >= 0
                             ? config_backend_match(to, &from->backends[st->cursor_idx])
                             : -1;
            int ld = st->ld_idx >= 0 ? config_backend_match(to, &from->backends[st->ld_idx]) : -1;
            int once =
                st->once_idx >= 0 ? config_backend_match(to, &from->backends[st->once_idx]) : -1;
            if (st->ld_idx >= 0 && ld < 0)
                st->ld_lost = true;
            st->home = home >= 0 ? (uint16_t)home : s->route.primary; /* gone: ps_gone() says so */
            st->cursor_idx = (int16_t)cursor;
            st->ld_idx = (int16_t)ld;
            st->once_idx = (int16_t)once;
            free(st->be);
            st->be = be;
        }
    }
    free(nbe);
}

/* True when the statement lived only on a backend that is gone. */
static bool ps_gone(const struct pstmt *st)
{
    return st->home_only && st->be[st->home].id == 0;
}

/* Drop the client's request at up.scan, all of it, even the part that has
 * not arrived yet (request_skip_progress drops the rest as it comes). */
static void request_skip(struct session *s, uint32_t len)
{
    struct stream *st = &s->io.up;
    uint32_t have = HY_MIN(len, stream_unparsed(st) - MYSQL_HEADER_SIZE);
    st->scan += MYSQL_HEADER_SIZE + have;
    st->head = st->scan;
    s->prep.skip_left = len - have;
    s->prep.skip_cont = len == MYSQL_MAX_PAYLOAD;
}

/* False while part of a dropped request has still to come. */
static bool request_skip_progress(struct session *s)
{
    struct stream *st = &s->io.up;
    while (s->prep.skip_left > 0 || s->prep.skip_cont) {
        if (st->b == NULL)
            return false;
        if (s->prep.skip_left > 0) {
            uint32_t n = HY_MIN(s->prep.skip_left, stream_unparsed(st));
            if (n == 0)
                return false;
            st->scan += n;
            st->head = st->scan;
            s->prep.skip_left -= n;
            continue;
        }
        if (stream_unparsed(st) < MYSQL_HEADER_SIZE)
            return false;
        uint32_t len = mysql_hdr_len(st->b->data + st->scan);
        st->scan += MYSQL_HEADER_SIZE;
        st->head = st->scan;
        s->prep.skip_left = len;
        s->prep.skip_cont = len == MYSQL_MAX_PAYLOAD;
    }
    return true;
}

/* Between commands (session_hooks.c): a request dropped whose rest is
 * still coming is dropped as it comes, before the next command is read. */
enum hook_verdict ps_between(struct session *s)
{
    if (request_skip_progress(s))
        return HOOK_PASS;
    update_reads(s);
    return HOOK_WAIT;
}

/* The PS command at up.scan will not run: drop it (no answer). */
static void ps_drop(struct session *s, uint32_t len)
{
    command_abandon(s);
    s->prep.ps_step = -1;
    if (s->state == SS_WAIT_BACKEND)
        session_set_state(s, SS_IDLE);
    request_skip(s, len);
    stat_inc(&s->w->stats.commands);
}

/* ... and answer it with an ERR. */

void ps_refuse(struct session *s, uint32_t len, uint16_t code, const char *sqlstate,
               const char *fmt, ...)
{
    ps_drop(s, len);
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    send_err(s, 1, code, sqlstate, "%s", msg);
}

/* A FETCH, RESET or SEND_LONG_DATA goes where its statement is: it writes
 * nothing, waits for no GTID and begins no read-only transaction; it
 * begins as every command does. */
static void ps_plain_command(struct session *s)
{
    session_route_begin(s, COM_STMT_FETCH, true);
    s->query.cmd_may_commit = false;
}

/* The statement a COM_STMT_EXECUTE/FETCH/RESET names, or NULL after
 * refusing the command as the server does; `what` names the command in
 * the message ("mysqld_stmt_execute"). */
static struct pstmt *ps_lookup(struct session *s, const uint8_t *p, uint32_t len, const char *what)
{
    uint32_t cid = len >= 5 ? mysql_stmt_id_get(p) : 0;
    struct pstmt *st = len >= 5 ? pstmt_find(&s->prep.map, cid) : NULL;
    if (st == NULL)
        ps_refuse(s, len, ER_UNKNOWN_STMT_HANDLER, "HY000",
                  "Unknown prepared statement handler (%u) given to %s", cid, what);
    return st;
}

/* At most how many parameters `sql` can have: its '?' characters. */
static uint32_t ps_max_params(const char *sql, uint32_t len)
{
    uint32_t n = 0;
    for (const char *q = sql, *end = sql + len; (q = memchr(q, '?', (size_t)(end - q))) != NULL;
         q++)
        n++;
    return n;
}

/* True when the head of an EXECUTE with `n_params` parameters, types
 * included, may not fit a buffer: halyard could not read or add the types,
 * so such a statement never moves from the backend that prepared it. */
static bool ps_head_too_large(const struct session *s, uint32_t n_params)
{
    return MYSQL_HEADER_SIZE + mysql_stmt_exec_head_max((uint16_t)HY_MIN(n_params, 65535u)) >
           s->w->pool.size;
}

/* FOUND_ROWS() and ROW_COUNT() in the text of the client's PREPARE
 * (s->query.connid, pool_mode = "transaction"): where they are in st->sql (which
 * has the session's id in place of CONNECTION_ID() and the items named),
 * for executions elsewhere to put the session's values there. */
static hy_status_t ps_calls_find(struct session *s, struct pstmt *st)
{
    bool any = false;
    for (uint32_t k = 0; s->query.connid != NULL && k < s->query.connid->n; k++)
        any |= s->query.connid->kind[k] != CLASSIFY_CALL_CONNECTION_ID;
    if (!any)
        return HY_OK;
    struct classify_result r;
    classify(st->sql, st->sql_len, s->route.lex_opts, &r, NULL);
    if (r.connid.n == 0)
        return HY_OK;
    if ((st->calls = malloc(sizeof(*st->calls))) == NULL)
        return HY_NOMEM;
    *st->calls = r.connid;
    return HY_OK;
}

/* ---- the sql_mode and character set of a PREPARE ---------------------- */

/* What the server parses a statement's text under (ANSI_QUOTES,
 * NO_BACKSLASH_ESCAPES, PIPES_AS_CONCAT...; the text's and its literals'
 * character set). character_set_results is the execution's. */
static const char *const ps_env_vars[] = {"sql_mode", "character_set_client",
                                          "character_set_connection", "collation_connection"};

/* Those `vs` has set (NULL: none) as text, "name=literal;" each; NULL when
 * none is set, or out of memory (*nomem). */
static char *ps_env_key(const struct varstate *vs, bool *nomem)
{
    struct varstate_value v;
    char one[1];
    size_t len = 0, o = 0;
    *nomem = false;
    for (size_t k = 0; vs != NULL && k < HY_ARRAY_SIZE(ps_env_vars); k++) {
        if (varstate_get(vs, VS_SYSTEM, ps_env_vars[k], strlen(ps_env_vars[k]), &v))
            len += strlen(ps_env_vars[k]) + 2 + varstate_literal(&v, one, sizeof(one));
    }
    if (len == 0)
        return NULL;
    char *key = malloc(len + 1);
    if (key == NULL) {
        *nomem = true;
        return NULL;
    }
    for (size_t k = 0; k < HY_ARRAY_SIZE(ps_env_vars); k++) {
        if (!varstate_get(vs, VS_SYSTEM, ps_env_vars[k], strlen(ps_env_vars[k]), &v))
            continue;
        o += (size_t)snprintf(key + o, len + 1 - o, "%s=", ps_env_vars[k]);
        o += varstate_literal(&v, key + o, len + 1 - o);
        key[o++] = ';';
    }
    key[o] = '\0';
    return key;
}

/* The client's PREPARE of `st`: keep the session's sql_mode and character
 * set (st->env, st->env_key). */
static hy_status_t ps_env_keep(struct session *s, struct pstmt *st)
{
    bool nomem;
    st->env_key = ps_env_key(s->vars.vs, &nomem);
    if (st->env_key == NULL)
        return nomem ? HY_NOMEM : HY_OK;
    if ((st->env = varstate_create(STATE_MAX_BYTES)) == NULL)
        return HY_NOMEM;
    struct varstate_value v;
    for (size_t k = 0; k < HY_ARRAY_SIZE(ps_env_vars); k++) {
        size_t n = strlen(ps_env_vars[k]);
        if (varstate_get(s->vars.vs, VS_SYSTEM, ps_env_vars[k], n, &v) &&
            varstate_set(st->env, VS_SYSTEM, ps_env_vars[k], n, &v) != HY_OK)
            return HY_NOMEM;
    }
    return HY_OK;
}

/* What s->conns.cur is set to for preparing `st`: its state with st->env's
 * values, and the login's for those st->env lacks and the connection has
 * (sql_mode's DEFAULT, the global one; a character set variable the
 * collation of the handshake, as the login set it: DEFAULT would give the
 * global one). NULL when the connection is under st->env already, or out
 * of memory (*nomem). One per worker, reused. */
static _Thread_local struct varstate *env_want;

static const struct varstate *ps_env_target(struct session *s, const struct pstmt *st, bool *nomem)
{
    struct bconn *bc = s->conns.cur;
    char *have = ps_env_key(bc->vs, nomem);
    if (*nomem)
        return NULL;
    bool same =
        have == NULL ? st->env_key == NULL : st->env_key != NULL && strcmp(have, st->env_key) == 0;
    free(have);
    if (same)
        return NULL;
    *nomem = true;
    if ((env_want == NULL && (env_want = varstate_create(STATE_MAX_BYTES)) == NULL) ||
        bc->vs == NULL || varstate_copy(env_want, bc->vs) != HY_OK)
        return NULL;
    char id[8];
    snprintf(id, sizeof(id), "%u", (unsigned)s->who.charset);
    const struct varstate_value login_mode = {.type = VS_DEFAULT};
    const struct varstate_value login_charset = {
        .type = VS_INT, .data = (const uint8_t *)id, .len = strlen(id)};
    for (size_t k = 0; k < HY_ARRAY_SIZE(ps_env_vars); k++) {
        size_t n = strlen(ps_env_vars[k]);
        struct varstate_value v;
        const struct varstate_value *to = &v;
        if (st->env == NULL || !varstate_get(st->env, VS_SYSTEM, ps_env_vars[k], n, &v)) {
            if (!varstate_get(bc->vs, VS_SYSTEM, ps_env_vars[k], n, &v))
                continue; /* the login's on both sides */
            to = k == 0 ? &login_mode : &login_charset;
        }
        if (varstate_set(env_want, VS_SYSTEM, ps_env_vars[k], n, to) != HY_OK)
            return NULL;
    }
    *nomem = false;
    return env_want;
}

void ps_thread_exit(void)
{
    varstate_destroy(env_want);
    env_want = NULL;
}

/* Before preparing `st` on s->conns.cur: set the connection to the sql_mode and
 * character set of its PREPARE if it is not under them (int_ps_env; true:
 * the prepare waits for it). */
static bool ps_env_move(struct session *s, const struct pstmt *st)
{
    bool nomem;
    const struct varstate *want = ps_env_target(s, st, &nomem);
    if (want == NULL) {
        if (nomem)
            session_mark_closing(s, END_NOMEM);
        return nomem;
    }
    struct varstate_cmds cmds = {0};
    size_t max_cmd = (size_t)s->cfg->buffer_size - MYSQL_HEADER_SIZE - 1;
    if (varstate_apply(s->conns.cur->vs, want, s->who.charset, max_cmd, &cmds) != HY_OK ||
        cmds.n != 1 || cmds.v[0].pkt[0] != COM_QUERY) {
        /* (four variables make one SET) */
        varstate_cmds_free(&cmds);
        session_mark_closing(s, END_NOMEM);
        return true;
    }
    slog_debug(s,
               "statement %u was prepared under another sql_mode or character set: "
               "preparing it under those on %s",
               st->id, s->conns.cur->be->name);
    internal_send(s, &int_ps_env, COM_QUERY, cmds.v[0].pkt + 1, cmds.v[0].len - 1,
                  s->cfg->connect_timeout_ms);
    varstate_cmds_free(&cmds);
    return true;
}

/* int_ps_env answered OK: s->conns.cur is under the statement's sql_mode and
 * character set; it is brought back before the command runs. */
static void ps_env_done(struct session *s)
{
    struct bconn *bc = s->conns.cur;
    struct pstmt *st = pstmt_find(&s->prep.map, s->prep.ps_int_id);
    bool nomem;
    const struct varstate *want = st != NULL ? ps_env_target(s, st, &nomem) : NULL;
    if (want == NULL || varstate_copy(bc->vs, want) != HY_OK) {
        session_mark_closing(s, END_NOMEM); /* (st is the waiting command's) */
        return;
    }
    bc->vs_gen = s->vars.vs_gen - 1;
    ps_prepare_send(s);
}

/* session_route() for a COM_STMT_PREPARE: the statement to be is s->prep.ps_new, its
 * PREPARE runs where its EXECUTE would now. `r` is NULL when there is only
 * one backend and nothing was classified. */
static uint32_t ps_route_prepare(struct session *s, const uint8_t *p, uint32_t len, bool fits,
                                 const struct classify_result *r)
{
    pstmt_free(s->prep.ps_new);
    struct pstmt *st = pstmt_new(s->conns.n_bc);
    s->prep.ps_new = st;
    if (st == NULL) {
        session_mark_closing(s, END_NOMEM);
        return s->route.primary;
    }
    st->home = s->route.primary;
    st->digest = s->query.digest_hash;
    st->lex_opts = s->route.lex_opts;
    st->text_cs = session_shard_text_cs(s);
    s->query.digest_pending = false; /* executions are counted, not the PREPARE */
    st->writes = true;
    st->may_commit = true; /* until its text says otherwise */
    /* the XA step of its text is its executions': a prepared XA COMMIT
     * ends nothing (before 2026-11-29 the PREPARE's OK marked the branch
     * ended, and a read then ran on its connection in IDLE: 1399) */
    st->xa = (int8_t)s->query.cmd_xa;
    s->query.cmd_xa = 0;
    /* and FOUND_ROWS() after an execution counts what it found (before
     * 2026-11-29 the connection was kept after the PREPARE only, and
     * FOUND_ROWS() after an execution said the rows it sent) */
    st->calc_found = s->query.cmd_calc_found;
    s->query.cmd_calc_found = false;
    if (!fits) {
        st->home_only = true; /* too large to keep: it stays on the primary */
        return s->route.primary;
    }
    if (s->query.connid == NULL || s->query.connid->n == 0) {
        st->sql = hy_dupz(p + 1, len - 1);
        st->sql_len = len - 1;
    } else { /* kept as it is prepared: with the session's id */
        size_t cap = classify_connid_bound(s->query.connid, len - 1);
        if ((st->sql = malloc(cap)) != NULL)
            st->sql_len = (uint32_t)classify_connid_rewrite((const char *)p + 1, len - 1,
                                                            s->query.connid, s->id, st->sql, cap);
    }
    const char *db = session_schema(s);
    if (st->sql == NULL || (db != NULL && (st->db = strdup(db)) == NULL)) {
        session_mark_closing(s, END_NOMEM);
        return s->route.primary;
    }
    if (ps_head_too_large(s, ps_max_params(st->sql, st->sql_len))) {
        st->home_only = true; /* so many parameters it cannot move: the primary keeps it */
        return s->route.primary;
    }
    if (ps_calls_find(s, st) != HY_OK || ps_env_keep(s, st) != HY_OK) {
        session_mark_closing(s, END_NOMEM);
        return s->route.primary;
    }
    if (r == NULL)
        return s->route.primary;
    st->cache_rule = session_cache_ps_rule(s); /* the query cache's rule for its executions */
    st->cache_cfg = s->cfg->load_id;
    st->pin = r->kind == CL_SESSION || (r->nvars > 0 && !(r->flags & CLF_SET_STATEMENT)) ||
              (r->flags & (CLF_USE | CLF_AUTOCOMMIT | CLF_SET_NAMES | CLF_TXN_SESSION |
                           CLF_TEMP_TABLE_CREATED | CLF_LOCK_TABLES | CLF_USER_VAR_SET));
    st->user_lock = (r->flags & CLF_USER_LOCK) != 0;
    st->writes = r->kind != CL_READ || st->pin;
    st->cls = session_stmt_class(r);
    st->retry_safe = !st->writes && classify_retry_safe(r);
    st->hint = (uint8_t)r->hint;
    st->hint_cons = (uint8_t)r->hint_consistency;
    if (r->hint == CLH_BACKEND) {
        st->hint_backend = strdup(r->hint_backend);
        if (st->hint_backend == NULL) {
            session_mark_closing(s, END_NOMEM);
            return s->route.primary;
        }
    }
    st->prev_stmt = (r->flags & CLF_PREV_STMT) != 0;
    st->uvars_opaque = (r->flags & CLF_UVARS_OPAQUE) != 0;
    st->uvar_ref = (r->flags & CLF_USER_VAR_REF) != 0;
    st->clears_diag = r->clears_diag;
    st->txn_next = state_txn_next_ends(r, st->sql, st->sql_len, s->route.lex_opts);
    st->may_commit = session_may_commit(r, p, len);
    st->diag = (r->flags & CLF_DIAG) != 0;
    st->lid = (r->flags & CLF_LAST_INSERT_ID) != 0;
    st->dml = r->kind == CL_WRITE && (r->flags & CLF_DML) &&
              !(r->flags & (CLF_MULTI | CLF_UNTERMINATED | CLF_TOO_LONG | CLF_XA));
    /* inside START TRANSACTION READ ONLY, as route_decide routes text */
    st->ro_next = (r->flags & CLF_TXN_NEXT) && r->nstmt == 1;
    st->ro_ends = (r->kind == CL_TXN_BEGIN && !(r->flags & CLF_XA)) ||
                  (r->kind == CL_WRITE && !(r->flags & CLF_DML) &&
                   !(r->flags & (CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE | CLF_ROUTINE_CALL | CLF_XA)));
    st->ro_refused = (r->kind == CL_WRITE && (r->flags & CLF_DML)) ||
                     (r->flags & (CLF_LOCKING_READ | CLF_TEMP_TABLE_CREATED));
    st->show_status = show_status(st->sql, st->sql_len);
    if (s->route.ro_idx >= 0 && st->ro_refused && !(r->flags & CLF_TEMP_TABLE_CREATED)) {
        /* The server refuses its PREPARE there (1792), before it looks for
         * its tables; a CREATE TEMPORARY TABLE's at its execution. Before
         * 2026-11-30 the PREPARE ran on the primary, outside the
         * transaction: prepared (the execution then refused), or 1146 for
         * a missing table (tools/server-check, --with-known) */
        pstmt_free(st);
        s->prep.ps_new = NULL;
        return ROUTE_RO_WRITE;
    }
    if (s->conns.n_bc == 1 || st->writes)
        return s->route.primary;
    if (s->route.ro_idx >= 0)
        return (uint32_t)s->route.ro_idx;
    if (s->route.pinned || session_in_trans(s))
        return s->route.primary;
    uint32_t idx = route_read(s, r->hint, st->hint_backend, r->hint_consistency, st->prev_stmt,
                              st->show_status);
    if (idx == ROUTE_REFUSE) {
        session_route_uncausal(s);
        idx = s->route.primary; /* preparing reads no data */
    }
    return idx;
}

/* The OK of the client's COM_STMT_PREPARE (its first bytes at `p`) came
 * from s->conns.cur: register the statement to be (s->prep.ps_new, if
 * routing made one) and give the client halyard's id. */
static void ps_prepare_ok(struct session *s, uint8_t *p, uint32_t len)
{
    struct pstmt *st = s->prep.ps_new;
    if (st == NULL)
        return;
    struct mysql_prepare_ok ok;
    if (mysql_prepare_ok_decode(p, len, &ok) != HY_OK)
        return; /* the tracker calls it broken */
    s->prep.ps_new = NULL;
    st->id = pstmt_id_next(&s->prep.map);
    st->n_params = ok.n_params;
    st->n_cols = ok.n_cols;
    st->home = s->conns.cur->idx;
    st->be[st->home].id = ok.stmt_id;
    /* An EXECUTE's head (types included) must fit a buffer for halyard to
     * read the types and move the statement. */
    if (ps_head_too_large(s, ok.n_params) || st->sql == NULL)
        st->home_only = true;
    mysql_stmt_id_set(p, st->id);
    s->prep.meta_ps_id = st->id; /* its column definitions reach the client (session_colmeta.c) */
    if (pstmt_insert(&s->prep.map, st) != HY_OK) {
        pstmt_free(st);
        session_mark_closing(s, END_NOMEM);
        return;
    }
}

/* Prepare statement `st` on s->conns.cur for a command waiting in `up` (`once`:
 * its one-off text, never cached); true when it is there already (pooled:
 * the connection's cache has it, the command goes on), false when the
 * command waits for the prepare. The
 * server runs a statement in the schema of its PREPARE, whatever USE came
 * since: when the session has moved on (s->conns.cur is in its state), the
 * connection goes to that schema first (int_ps_use, then ps_prepare_send)
 * and is brought back before the command runs (db_moved: state_target). */
static bool ps_prepare_here(struct session *s, struct pstmt *st, bool once)
{
    struct bconn *bc = s->conns.cur;
    uint32_t id = s->cfg->pool_transaction && !once
                      ? ps_cache_find(&bc->psc, st->sql, st->sql_len, st->db, st->env_key)
                      : 0;
    if (id != 0) {
        slog_debug(s, "statement %u is prepared on %s already (%u)", st->id, bc->be->name, id);
        stat_inc(&s->w->stats.pool_stmt_cached);
        st->be[bc->idx].id = id;
        st->be[bc->idx].types_gen = 0; /* another session's types, maybe */
        return true;
    }
    s->prep.ps_int_id = st->id;
    s->prep.ps_once = once;
    free(s->prep.ps_err);
    s->prep.ps_err = NULL;
    const char *cur = session_schema(s);
    /* Sharded: a schema of another group is not there (session_shard.c). */
    if (st->db != NULL && cur != NULL && strcmp(st->db, cur) != 0 &&
        session_schema_here(s, st->db)) {
        slog_debug(s, "statement %u was prepared in schema %s: preparing it there on %s", st->id,
                   st->db, s->conns.cur->be->name);
        internal_send(s, &int_ps_use, COM_INIT_DB, st->db, strlen(st->db),
                      s->cfg->connect_timeout_ms);
        return false;
    }
    if (!ps_env_move(s, st))
        ps_prepare_send(s);
    return false;
}

/* Close statement `id` on `bc`: no answer comes. */
static void stmt_close_send(struct session *s, struct bconn *bc, uint32_t id)
{
    uint8_t pkt[MYSQL_HEADER_SIZE + 5];
    mysql_hdr_write(pkt, 5, 0);
    pkt[MYSQL_HEADER_SIZE] = COM_STMT_CLOSE;
    mysql_stmt_id_set(pkt + MYSQL_HEADER_SIZE, id);
    if (conn_send_local(&bc->c, s->w->loop, &s->w->pool, pkt, sizeof(pkt)) != HY_OK)
        slog_warn(s, "cannot close statement %u on %s", id, bc->be->name);
}

/* Close `st`'s one-off statement, if it has one (on a connection the
 * session holds: give_back closes it before the connection goes). */
static void ps_once_close(struct session *s, struct pstmt *st)
{
    if (st->once_idx < 0)
        return;
    struct bconn *bc = s->conns.bc[st->once_idx];
    if (bc != NULL && bc->state == BCONN_READY)
        stmt_close_send(s, bc, st->once_id);
    if (st->cursor_idx == st->once_idx)
        st->cursor_idx = -1;
    st->once_idx = -1;
    st->once_id = 0;
    st->once_marked = false;
}

/* `bc` goes back to the pool (session_pool.c): the statements the session
 * has there join its cache, for whoever takes it next. One whose text and
 * schema the cache has under another id is closed, the session taking
 * that one. Past pool_stmt_cache, earlier sessions' statements are closed,
 * least recently used first (on_lend, session_hooks.c). False when out of
 * memory: close the connection (what the cache does not list would be left
 * prepared there). */
bool ps_cache_fill(struct session *s, struct bconn *bc)
{
    uint32_t idx = bc->idx;
    ps_cache_mark(&bc->psc);
    /* (no statement: no bucket of the map to walk, at every give-back) */
    for (uint32_t i = 0; i < s->prep.map.cap && s->prep.map.count > 0; i++) {
        for (struct pstmt *st = s->prep.map.tab[i]; st != NULL; st = st->next) {
            uint32_t id = st->be[idx].id, use;
            if (st->once_idx == (int)idx)
                ps_once_close(s, st);
            if (id == 0)
                continue;
            if (st->sql == NULL) /* home_only: the connection is held, never here */
                return false;
            if (ps_cache_keep(&bc->psc, st->sql, st->sql_len, st->db, st->env_key, id, &use) !=
                HY_OK)
                return false;
            if (use != id) {
                stmt_close_send(s, bc, id);
                st->be[idx].id = use;
                st->be[idx].types_gen = 0;
            }
        }
    }
    uint32_t out[16], n;
    do {
        n = ps_cache_trim(&bc->psc, s->cfg->pool_stmt_cache, out, HY_ARRAY_SIZE(out));
        for (uint32_t k = 0; k < n; k++) {
            stmt_close_send(s, bc, out[k]);
            stat_inc(&s->w->stats.pool_stmt_evicted);
        }
    } while (n == HY_ARRAY_SIZE(out));
    return true;
}

/* int_ps_use answered OK: s->conns.cur is in the statement's schema. */
static void ps_use_done(struct session *s)
{
    struct bconn *bc = s->conns.cur;
    struct pstmt *st = pstmt_find(&s->prep.map, s->prep.ps_int_id);
    if (bc->vs == NULL && (bc->vs = varstate_create(STATE_MAX_BYTES)) == NULL) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    if (st == NULL || varstate_set_schema(bc->vs, st->db, strlen(st->db)) != HY_OK) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    bc->db_moved = true;
    bc->vs_gen = s->vars.vs_gen - 1; /* brought back before the command runs */
    if (!ps_env_move(s, st))
        ps_prepare_send(s);
}

/* COM_STMT_PREPARE of statement s->prep.ps_int_id on s->conns.cur, for halyard. */
void ps_prepare_send(struct session *s)
{
    struct pstmt *st = pstmt_find(&s->prep.map, s->prep.ps_int_id);
    if (st == NULL) { /* cannot be: the waiting command names it */
        session_mark_closing(s, END_NOMEM);
        return;
    }
    if (!s->prep.ps_once) {
        slog_debug(s, "preparing statement %u on %s", st->id, s->conns.cur->be->name);
        internal_send(s, &int_ps_prepare, COM_STMT_PREPARE, st->sql, st->sql_len,
                      s->cfg->connect_timeout_ms);
        return;
    }
    if (s->prep.ps_mark) { /* its text with the mark of the write in flight */
        size_t n;
        char *sql = session_inflight_ps_text(s, st->sql, st->sql_len, &n);
        if (sql == NULL) {
            session_mark_closing(s, END_NOMEM);
            return;
        }
        slog_debug(s, "preparing statement %u on %s with its write's mark", st->id,
                   s->conns.cur->be->name);
        internal_send(s, &int_ps_prepare, COM_STMT_PREPARE, sql, n, s->cfg->connect_timeout_ms);
        free(sql);
        return;
    }
    char num[2][CLASSIFY_CALL_VALUE_MAX + 1];
    const char *value[CLASSIFY_CALL__COUNT] = {NULL};
    size_t cap = classify_connid_bound(st->calls, st->sql_len);
    char *sql = malloc(cap);
    if (sql == NULL) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    /* a value the server has there stays a call (ROW_COUNT() after a bulk) */
    (void)session_pool_prev_values(s, num, value);
    size_t n = classify_calls_rewrite(st->sql, st->sql_len, st->calls, value, sql, cap);
    slog_debug(
        s, "preparing statement %u on %s with FOUND_ROWS() %s, ROW_COUNT() %s", st->id,
        s->conns.cur->be->name,
        value[CLASSIFY_CALL_FOUND_ROWS] != NULL ? value[CLASSIFY_CALL_FOUND_ROWS] : "(a call)",
        value[CLASSIFY_CALL_ROW_COUNT] != NULL ? value[CLASSIFY_CALL_ROW_COUNT] : "(a call)");
    internal_send(s, &int_ps_prepare, COM_STMT_PREPARE, sql, n, s->cfg->connect_timeout_ms);
    free(sql);
}

/* Whether an EXECUTE of `st` on s->conns.cur runs its one-off text: it calls
 * FOUND_ROWS() or ROW_COUNT(), s->conns.cur is not the untouched connection of
 * the session's previous statement, and no long data waits for the
 * statement itself. */
static bool ps_once_wanted(struct session *s, const struct pstmt *st)
{
    char num[2][CLASSIFY_CALL_VALUE_MAX + 1];
    return st->calls != NULL && st->ld_idx < 0 &&
           MYSQL_HEADER_SIZE + 1 + classify_connid_bound(st->calls, st->sql_len) <=
               s->w->pool.size &&
           session_pool_prev_values(s, num, NULL);
}

/* Whether an EXECUTE (not bulk) of `st` on `idx` goes with the mark of
 * its write (resolve_in_flight_writes, session_inflight.c): one
 * INSERT/UPDATE/DELETE/REPLACE answering no rows, bound for the primary,
 * whole in `up`, its long data not elsewhere, its text kept and not
 * rewritten for FOUND_ROWS()/ROW_COUNT(). */
static bool ps_mark_wanted(const struct session *s, const struct pstmt *st, uint32_t idx,
                           uint32_t len, uint32_t avail, bool bulk)
{
    return s->cfg->resolve_in_flight_writes && !bulk && st->dml && st->n_cols == 0 &&
           st->calls == NULL && st->ld_idx < 0 && !st->home_only && st->sql != NULL &&
           idx == s->route.primary && s->route.ro_idx < 0 && s->feat.groups == NULL && avail == len;
}

/* A prepared user lock's pin: its lock lives on that connection (before
 * 2026-11-29 an execution ran on the primary unpinned, and the pool handed
 * the connection, the lock with it, to another session; inside START
 * TRANSACTION READ ONLY it ran on the transaction's replica). */
#define PS_USER_LOCK_PIN "user lock (GET_LOCK): it lives on the primary connection"

/* An EXECUTE of `st` inside START TRANSACTION READ ONLY, which runs on its
 * replica (s->route.ro_idx): where route_decide sends the same statement
 * as text. SET TRANSACTION stays there (the server refuses it: 1568); a
 * write the server refuses in a READ ONLY transaction is refused (1792);
 * session state halyard cannot carry (a prepared SET, a user variable
 * set: it would run on the primary while the transaction goes on on the
 * replica without it) is refused whole, 1235, as a text of several SETs
 * is; a statement that commits the transaction first (START TRANSACTION
 * READ WRITE, DDL) ends it with its connection and runs on the primary;
 * anything else runs there. ROUTE_ANSWERED when refused here. */
static uint32_t ps_route_in_ro_trx(struct session *s, const struct pstmt *st, uint32_t len)
{
    uint32_t ro = (uint32_t)s->route.ro_idx;
    if (st->ro_next)
        return ro;
    if (st->ro_refused)
        return ROUTE_RO_WRITE;
    if (st->user_lock) { /* where the other sessions' locks are, as text (route_decide) */
        session_pin(s, PS_USER_LOCK_PIN);
        return s->route.primary;
    }
    if (st->pin) {
        ps_drop(s, len);
        session_err(s, 1, SERR_RO_TRX_STATE);
        return ROUTE_ANSWERED;
    }
    if (!st->ro_ends)
        return ro;
    if (s->conns.bc[ro] != NULL)
        bconn_close(s->conns.bc[ro]); /* the transaction ends with its connection */
    session_route_ro_end(s);
    return s->route.primary;
}

/* Where an EXECUTE of `st` runs (`ex` NULL when its head was not read);
 * a bulk execution (`bulk`) runs where a write does. */
static uint32_t ps_route_execute(struct session *s, struct pstmt *st,
                                 const struct mysql_stmt_exec *ex, uint32_t len, bool bulk)
{
    s->query.cmd_writes = st->writes || bulk;
    s->query.cmd_class = bulk ? STMT_WRITE : st->cls;
    s->query.cmd_clears_diag = st->clears_diag;
    s->query.cmd_txn_next = st->txn_next;
    s->query.cmd_diag = st->diag;
    s->query.cmd_lid = st->lid; /* read back after it, as a text statement naming it */
    s->query.cmd_xa = bulk ? 0 : st->xa;
    s->query.cmd_calc_found = !bulk && st->calc_found;
    s->query.cmd_may_commit = st->may_commit;
    if (s->values.ldiag != NULL && st->diag)
        return session_fanout_refuse(s, "halyard: the previous statement ran on every group: "
                                        "its warnings and errors are answered to SHOW WARNINGS "
                                        "as a plain query, not as a prepared statement");
    if (st->ld_idx >= 0)
        return (uint32_t)st->ld_idx; /* its long data is there */
    if (st->home_only)
        return st->home;
    if (s->route.ro_idx >= 0 && !st->home_only)
        return ps_route_in_ro_trx(s, st, len);
    if (st->pin || st->user_lock) {
        session_pin(s,
                    st->pin ? "session state changed by a prepared statement" : PS_USER_LOCK_PIN);
        return s->route.primary;
    }
    if (st->uvars_opaque)
        session_route_uvars_opaque(s);
    if (st->uvar_ref && s->route.uvars_opaque)
        return s->route.primary; /* as session_route.c's route_statement() for text */
    if (s->conns.n_bc == 1 || session_cache_capturing(s))
        return s->route.primary; /* a query cache's fill too: the primary has what it applied */
    if (ex != NULL && !ex->new_params_bound && st->n_params > 0 && st->types != NULL &&
        (len >= MYSQL_MAX_PAYLOAD - 2u * st->n_params)) {
        /* too large to add the types to: where the types are known */
        for (uint32_t i = 0; i < s->conns.n_bc; i++) {
            if (st->be[i].id != 0 && st->be[i].types_gen == st->types_gen)
                return i;
        }
    }
    if (s->route.ro_idx >= 0)
        return st->ro_refused ? ROUTE_RO_WRITE : (uint32_t)s->route.ro_idx;
    if (st->writes || bulk || s->route.pinned || session_in_trans(s))
        return s->route.primary;
    return route_read(s, (enum classify_hint)st->hint, st->hint_backend,
                      (enum classify_consistency)st->hint_cons, st->prev_stmt, st->show_status);
}

/* Send `head` (n bytes, built by the caller: the client's head of
 * `head_len` bytes with the types `added` bytes added) to s->conns.cur in
 * place of the client's header and head; the rest of the client's packet
 * of `len` bytes follows from `up`. */
static void ps_forward_head(struct session *s, uint8_t cmd, uint8_t exec_flags, uint8_t *pkt,
                            size_t n, size_t head_len, uint32_t added, uint32_t len)
{
    mysql_hdr_write(pkt, len + added, 0);
    command_forward_head(s, cmd, exec_flags, pkt, MYSQL_HEADER_SIZE + n, head_len, len);
}

/* EXECUTE of `st` on s->conns.cur, where it is prepared: rewrite the head with
 * the types it lacks and send it, the values following from `up`. */
static void ps_forward_with_types(struct session *s, struct pstmt *st, uint32_t id,
                                  const uint8_t *p, const struct mysql_stmt_exec *ex, uint32_t len)
{
    size_t cap = MYSQL_HEADER_SIZE + ex->head_len + 2 * (size_t)st->n_params;
    uint8_t *pkt = malloc(cap);
    if (pkt == NULL) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    size_t n = mysql_stmt_exec_bind_types(p, ex, st->n_params, st->types, id,
                                          pkt + MYSQL_HEADER_SIZE, cap - MYSQL_HEADER_SIZE);
    ps_forward_head(s, COM_STMT_EXECUTE, ex->flags, pkt, n, ex->head_len, 2u * st->n_params, len);
    free(pkt);
}

/* An EXECUTE of `st` bound for `idx` (its whole packet, `p`, is in `up`):
 * an autocommit read on a replica (or one safe to run twice on the primary,
 * retry_primary_ok) is kept to run once more elsewhere if its server dies
 * before it answers, as a text read is (retry_keep); the statement is
 * prepared there on the way. Not when its long data went to that backend:
 * the data dies with it. Kept before the statement id in the packet is
 * rewritten for the backend. */
static void ps_retry_keep(struct session *s, const struct pstmt *st, uint32_t idx, const uint8_t *p,
                          uint32_t len, uint32_t avail)
{
    if (s->route.retried)
        return;
    if (idx < s->conns.n_bc && (idx != s->route.primary || retry_primary_ok(s, st->retry_safe)) &&
        avail == len && st->ld_idx < 0 && !st->writes && !session_in_trans(s) &&
        s->route.ro_idx < 0)
        retry_keep(s, p - MYSQL_HEADER_SIZE, MYSQL_HEADER_SIZE + len);
    else
        retry_drop(s);
}

/* Each ps_* command handler below works on the packet at up.scan (`p`, of
 * which `avail` bytes are there) and returns true when it is done with it
 * (answered or dropped: take the next command), false when the command
 * runs or waits (a backend being opened, synchronized, or preparing). */

/* The health gate a text statement passes after its route (route_health),
 * for an execution routed to *idx outside a transaction: a backend that
 * may not take it now (a primary whose writes a switchover paused, fenced
 * or down) is replaced by the gate's choice, or the execution waits for a
 * primary as a text write does (the ROUTE_NOBODY outcome's `before`:
 * session_hooks.c), or is refused with the reason. PS_ON: it goes to
 * *idx. In a transaction the execution goes where the transaction is: a
 * loss there is found by next_lost_execute or by the connection's end
 * (the gate would end the transaction quietly and run the rest of it
 * elsewhere, issue 54). */
static enum ps_step ps_gate(struct session *s, uint32_t *idx, const uint8_t *p, uint32_t len,
                            uint32_t avail)
{
    if (*idx >= s->conns.n_bc || session_in_trans(s) || s->route.ro_idx >= 0)
        return PS_ON;
    char why[160];
    uint32_t to = route_health(s, *idx, why, sizeof(why));
    if (s->state == SS_CLOSING)
        return PS_STOP;
    if (to != ROUTE_NOBODY) {
        *idx = to;
        return PS_ON;
    }
    const struct hook_answer *a = session_hooks_answer(ROUTE_NOBODY);
    struct hook_cmd hc = {
        .p = p, .len = len, .idx = ROUTE_NOBODY, .cmd = p[0], .fits = avail == len};
    if (a->before != NULL && a->before(s, &hc, *idx == s->route.primary))
        return PS_STOP; /* primary_wait_start: s->route.wait_idx is set */
    ps_drop(s, len);
    a->answer(s, &hc, why);
    return PS_NEXT;
}

/* An EXECUTE or BULK_EXECUTE (`bulk`) of `st` (`ex`: the EXECUTE's head,
 * NULL when not read): route it to *idx, once (a route kept in
 * s->route.wait_idx serves it when it runs again after a wait). */
static enum ps_step ps_exec_route_to(struct session *s, struct pstmt *st,
                                     const struct mysql_stmt_exec *ex, const uint8_t *p,
                                     uint32_t len, uint32_t avail, bool bulk, uint32_t *idx)
{
    if (s->route.wait_idx >= 0) {
        *idx = (uint32_t)s->route.wait_idx;
        if (*idx == s->route.primary && s->query.cmd_writes) {
            /* routed before it waited (its connection opened, its state
             * restored, the statement prepared there): the primary's
             * writes may have been paused meanwhile */
            enum ps_step gate = ps_gate(s, idx, p, len, avail);
            if (gate != PS_ON)
                return gate;
            session_route_wait_at(s, (int)*idx);
        }
    } else {
        session_route_uncausal(s);
        s->query.cmd_ro_begin = false;
        if (!session_in_trans(s)) {
            /* as next_route() does for a text statement: a write goes to
             * the primary the monitor publishes now (a transaction open on
             * the old one fails there, as it must) */
            session_follow_primary(s);
            if (s->state == SS_CLOSING)
                return PS_STOP;
        }
        if (st->ld_lost || ps_gone(st)) {
            ps_refuse(s, len, ER_CONNECTION_KILLED, "70100",
                      "Lost connection to the backend holding %sprepared statement %u",
                      st->ld_lost ? "the long data of " : "", st->id);
            st->ld_lost = false;
            return PS_NEXT;
        }
        /* the last execution's values; a marked one serves the rest of
         * its transaction (the mark is the transaction's) */
        if (!st->once_marked || !session_inflight_ps_same_trx(s, st->once_seq))
            ps_once_close(s, st);
        if (session_pool_lid_wait(s))
            return PS_STOP; /* another session reads its LAST_INSERT_ID() for it */
        if (st->lid && s->values.lid_lent != 0 && backend_lid_fetch(s))
            return PS_STOP; /* its LAST_INSERT_ID() read first (or found lost) */
        if (st->lid && s->values.lid_lost != NULL) {
            /* as a text statement naming it: another connection's value
             * would be wrong */
            slog_warn(s, "a statement uses LAST_INSERT_ID(), lost with %s: closing",
                      s->values.lid_lost);
            ps_drop(s, len);
            session_err(s, 1, SERR_LID_LOST, s->values.lid_lost);
            session_mark_closing(s, END_BACKEND_LOST);
            return PS_STOP;
        }
        if (st->lid && s->values.lid_unknown != NULL) {
            ps_refuse(s, len, ER_UNKNOWN_ERROR, "HY000",
                      "halyard: LAST_INSERT_ID() is not known after the previous statement: "
                      "%.150s",
                      s->values.lid_unknown);
            return PS_NEXT;
        }
        *idx = ps_route_execute(s, st, ex, len, bulk);
        if (s->state == SS_CLOSING)
            return PS_STOP;
        if (*idx == ROUTE_REFUSE) {
            ps_refuse(s, len, ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "HY000",
                      "No replica can serve this read (replica_fallback = error)");
            return PS_NEXT;
        }
        if (*idx == ROUTE_ANSWERED)
            return PS_NEXT; /* refused inside a READ ONLY transaction (ps_route_in_ro_trx) */
        if (*idx == ROUTE_RO_WRITE) {
            ps_refuse(s, len, ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, "25006",
                      "Cannot execute statement in a READ ONLY transaction");
            return PS_NEXT;
        }
        enum ps_step gate = ps_gate(s, idx, p, len, avail);
        if (gate != PS_ON)
            return gate;
        session_route_wait_at(s, (int)*idx);
        ps_retry_keep(s, st, *idx, p, len, avail);
        if (s->w->digests != NULL) {
            s->query.digest_hash = st->digest;
            s->query.digest_pending = true;
        }
        if (query_log_enabled() && st->sql != NULL)
            qlog_note(s, st->sql, st->sql_len, st->digest);
    }
    return PS_ON;
}

/* The execution's backend idx is ready (next_forward): the statement
 * prepared there for it, or its one-off text (a BULK_EXECUTE the
 * connection cannot take is refused). */
static enum ps_step ps_exec_prepared(struct session *s, struct pstmt *st, uint32_t len,
                                     uint32_t avail, bool bulk, uint32_t idx)
{
    if (st->once_idx == (int)idx)
        return PS_ON; /* prepared for this execution */
    if (ps_mark_wanted(s, st, idx, len, avail, bulk) && session_inflight_ps_mark(s)) {
        ps_once_close(s, st); /* one kept for its transaction, elsewhere */
        s->prep.ps_mark = true;
        ps_prepare_here(s, st, true);
        return PS_STOP;
    }
    if (ps_once_wanted(s, st)) {
        s->prep.ps_mark = false;
        ps_prepare_here(s, st, true);
        return PS_STOP;
    }
    if (st->be[idx].id == 0) {
        if (st->sql == NULL) {
            ps_refuse(s, len, ER_CONNECTION_KILLED, "70100",
                      "Lost connection to the backend holding prepared statement %u", st->id);
            return PS_NEXT;
        }
        if (!ps_prepare_here(s, st, false))
            return PS_STOP;
    }
    if (bulk && !(s->conns.cur->login.ext_caps & MARIADB_CLIENT_STMT_BULK_OPERATIONS)) {
        ps_refuse(s, len, ER_UNSUPPORTED_PS, "HY000",
                  "This command is not supported in the prepared statement protocol yet");
        return PS_NEXT;
    }
    return PS_ON;
}

/* What an execution of `st` on the backend of `pb` needs for parameter
 * types: the client sent `types` (NULL: none, "the last ones"), in a
 * packet of `len` whose head was read (`head_ok`). */
enum ps_types {
    PS_TYPES_AS_IS, /* forward the head as it is */
    PS_TYPES_ADD,   /* the backend lacks the last types: add them to the head */
    PS_TYPES_NOMEM, /* the session is closing */
};

static enum ps_types ps_types_need(struct session *s, struct pstmt *st, struct ps_backend *pb,
                                   bool head_ok, const uint8_t *types, uint32_t len)
{
    if (!head_ok)
        return PS_TYPES_AS_IS;
    if (types != NULL) {
        if (pstmt_types_remember(st, types) != HY_OK) {
            session_mark_closing(s, END_NOMEM);
            return PS_TYPES_NOMEM;
        }
        pb->types_gen = st->types_gen;
        return PS_TYPES_AS_IS;
    }
    if (st->n_params == 0 || st->types == NULL || pb->types_gen == st->types_gen ||
        len >= MYSQL_MAX_PAYLOAD - 2u * st->n_params)
        return PS_TYPES_AS_IS;
    pb->types_gen = st->types_gen;
    return PS_TYPES_ADD;
}

enum ps_shard { PS_SHARD_GO, PS_SHARD_REFUSED, PS_SHARD_CLOSING, PS_SHARD_WAIT, PS_SHARD_FANOUT };

/* A prepared statement on every group: a read (KEY_SCATTER: no key, a NULL
 * key parameter, keys on several groups) or a write (KEY_ALL, KEY_SPLIT):
 * its text with the parameters written in as literals (ps_text.h), run as
 * the text statement is (session_fanout.c); a read's merged rows sent in
 * binary, a write's OK or ERR as it is. The whole packet is
 * needed (WAIT); a cursor, long data or a parameter that cannot be written
 * as a literal is refused (1105). FANOUT: running, it answers and reads
 * the next command. */
static enum ps_shard ps_scatter(struct session *s, struct pstmt *st, const uint8_t *p, uint32_t len,
                                uint32_t avail, const struct key_out *ko)
{
    const struct config *root = config_root_c(s->cfg);
    const struct shard_table *x = ko->table >= 0 ? &root->key_tables.v[ko->table] : NULL;
    bool write = ko->verdict != KEY_SCATTER;
    char about[300];
    if (write)
        snprintf(about, sizeof(about), "%s %.64s", x != NULL ? "sharded table" : "reference table",
                 x != NULL ? x->table : ko->why);
    else
        snprintf(about, sizeof(about), "sharded table %.64s without a usable %.64s.%.64s",
                 x != NULL ? x->table : ko->why, x != NULL ? x->table : "",
                 x != NULL ? x->key : "");
    char why[300] = "";
    char *text = NULL;
    size_t text_len = 0;
    uint8_t flags = len >= 6 ? p[5] : 0;
    if (avail < len) {
        if ((size_t)len + MYSQL_HEADER_SIZE <= (size_t)s->cfg->buffer_size) {
            update_reads(s);
            return PS_SHARD_WAIT;
        }
        snprintf(why, sizeof(why), "an EXECUTE larger than buffer_size is not rewritten as text");
    } else if (flags & CURSOR_TYPE_READ_ONLY) {
        snprintf(why, sizeof(why),
                 "a cursor (CURSOR_TYPE_READ_ONLY, COM_STMT_FETCH) is not supported on it");
    } else if (st->ld_idx >= 0) {
        snprintf(why, sizeof(why),
                 "parameters sent with COM_STMT_SEND_LONG_DATA are not supported on it");
    } else if ((st->db == NULL) != (session_schema(s) == NULL) ||
               (st->db != NULL && strcmp(st->db, session_schema(s)) != 0)) {
        /* its text runs in the session's schema: its names would mean
         * another schema's tables than the PREPARE's */
        snprintf(why, sizeof(why),
                 "the session's schema is not the one it was prepared in (%.64s): USE it again "
                 "or prepare it anew",
                 st->db != NULL ? st->db : "none");
    } else {
        /* Types bound now hold for the next executions, wherever they run
         * (they go to a backend that lacks them then: ps_types_need). */
        struct mysql_stmt_exec ex;
        if (st->n_params > 0 && mysql_stmt_exec_decode(p, len, st->n_params, &ex) == HY_OK &&
            ex.new_params_bound && pstmt_types_remember(st, ex.types) != HY_OK) {
            session_mark_closing(s, END_NOMEM);
            return PS_SHARD_CLOSING;
        }
        switch (ps_text_interpolate(st->sql, st->sql_len, s->route.lex_opts, p, len, st->n_params,
                                    st->types, state_client_charset(s), &text, &text_len, why,
                                    sizeof(why))) {
        case HY_OK:
            break;
        case HY_NOMEM:
            session_mark_closing(s, END_NOMEM);
            return PS_SHARD_CLOSING;
        default:
            break;
        }
    }
    if (text == NULL) {
        slog_info(s, "prepared scatter refused: %s", why);
        ps_refuse(s, len, ER_UNKNOWN_ERROR, "HY000",
                  "halyard: a prepared %s of %s runs on every group, but %s",
                  write ? "statement" : "read", about, why);
        return PS_SHARD_REFUSED;
    }
    if (write) {
        /* DDL, a reference table's write, a multi-row INSERT across groups:
         * its text decides again, with the values written in, and runs as
         * the same text statement would; the answer is an OK or an ERR,
         * the same in both protocols */
        uint32_t to = session_shard_route(s, text, text_len, SHARD_FANOUT_OK);
        free(text);
        if (s->state == SS_CLOSING)
            return PS_SHARD_CLOSING;
        ps_drop(s, len);
        if (to == ROUTE_SHARD) {
            session_shard_refuse(s);
            return PS_SHARD_REFUSED;
        }
        if (to != ROUTE_FANOUT) {
            send_err(s, 1, ER_UNKNOWN_ERROR, "HY000",
                     "halyard: a prepared statement on %s decided every group by its parameters "
                     "but one group by its text with their values: refused",
                     about);
            return PS_SHARD_REFUSED;
        }
        if (session_fanout_start(s))
            return PS_SHARD_FANOUT;
        return s->state == SS_CLOSING ? PS_SHARD_CLOSING : PS_SHARD_REFUSED;
    }
    (void)session_fanout_prepare(s, text, text_len, about);
    free(text);
    if (s->state == SS_CLOSING)
        return PS_SHARD_CLOSING;
    session_fanout_binary(s);
    st->meta.known = false; /* the client gets the definitions again */
    st->cursor_idx = -1;
    ps_drop(s, len);
    if (session_fanout_start(s))
        return PS_SHARD_FANOUT;
    return s->state == SS_CLOSING ? PS_SHARD_CLOSING : PS_SHARD_REFUSED;
}

/* A sharded listener's EXECUTE or BULK_EXECUTE goes to the group of its
 * text, its PREPARE's schema standing for the session's, or of its key
 * parameters' values (key shards: session_shard_ps_key) (session_shard.c):
 * the session moved there (GO), or refused with the packet dropped, or
 * the rest of the packet awaited (WAIT: its key is in it). */
static enum ps_shard ps_shard_route(struct session *s, struct pstmt *st, const uint8_t *p,
                                    uint32_t len, uint32_t avail, bool bulk)
{
    if (!s->listener->shards || s->route.wait_idx >= 0 || st->sql == NULL)
        return PS_SHARD_GO;
    const struct config *root = config_root_c(s->cfg);
    struct key_out ko, *key = NULL;
    if (root->key_tables.n > 0 || root->key_tables.n_ref > 0) {
        switch (session_shard_ps_key(s, st, p, len, avail, bulk, &ko)) {
        case PS_KEY_WAIT:
            update_reads(s);
            return PS_SHARD_WAIT;
        case PS_KEY_NOMEM:
            session_mark_closing(s, END_NOMEM);
            return PS_SHARD_CLOSING;
        case PS_KEY_OK:
            break;
        }
        key = &ko;
        if ((ko.verdict == KEY_SCATTER || ko.verdict == KEY_ALL || ko.verdict == KEY_SPLIT) &&
            !bulk)
            return ps_scatter(s, st, p, len, avail, &ko);
    }
    if (session_shard_route_schema(s, st->sql, st->sql_len, st->db, key) == ROUTE_SHARD) {
        ps_drop(s, len);
        session_shard_refuse(s);
        return PS_SHARD_REFUSED;
    }
    return s->state == SS_CLOSING ? PS_SHARD_CLOSING : PS_SHARD_GO;
}

void ps_exec_digest(struct session *s, const uint8_t *p, uint32_t len, const char **digest,
                    size_t *digest_len)
{
    struct pstmt *st = len >= 5 ? pstmt_find(&s->prep.map, mysql_stmt_id_get(p)) : NULL;
    *digest = NULL;
    *digest_len = 0;
    if (st == NULL || st->sql == NULL)
        return;
    if (st->digest_text == NULL) {
        char buf[DIGEST_TEXT_MAX];
        struct classify_digest dg = {.buf = buf, .cap = sizeof(buf)};
        struct classify_result r;
        classify(st->sql, st->sql_len, st->lex_opts, &r, &dg);
        size_t n = HY_MIN(dg.len, dg.cap - 1);
        if ((st->digest_text = malloc(n + 1)) == NULL)
            return;
        memcpy(st->digest_text, buf, n);
        st->digest_text[n] = '\0';
        st->digest_len = (uint32_t)n;
    }
    *digest = st->digest_text;
    *digest_len = st->digest_len;
}

/* ---- a statement's commands in the cycle's stages ------------------------
 * session.c's cycle[] runs COM_STMT_EXECUTE, BULK_EXECUTE, FETCH, RESET
 * and SEND_LONG_DATA through the stages a text statement passes: an
 * execution's command stage takes it (ps_exec_take: the statement, its
 * group, its head, the query cache), the route stage routes each to its
 * backend (ps_route), the limit stage holds an execution, and the forward
 * (next_forward, its hook points) readies the backend, has the statement
 * there (ps_ready) and sends it (ps_send). A wait in any of them runs the
 * stages again from the gate once it ends, the route kept in
 * s->route.wait_idx; the statement is in s->prep.x_st (an execution's
 * head in s->prep.x_*), for the stages after it in the same pass. */

/* COM_STMT_BULK_EXECUTE: one execution per row of parameters. A client
 * without MARIADB_CLIENT_STMT_BULK_OPERATIONS, or whose backend connection
 * lacks it, is refused as MariaDB refuses such a client. Otherwise it runs
 * as a write (on the primary) with the statement's id there, and the types
 * the backend lacks added, as for an EXECUTE: the same two bytes per
 * parameter, shared with EXECUTE's (pstmt.types). */
static bool ps_bulk_refused(struct session *s, uint32_t len)
{
    if (len < MYSQL_STMT_BULK_HEAD) { /* MariaDB looks at this first */
        ps_refuse(s, len, ER_MALFORMED_PACKET, "HY000", "Malformed communication packet");
        return true;
    }
    if (!(s->who.ext_caps & MARIADB_CLIENT_STMT_BULK_OPERATIONS)) {
        ps_refuse(s, len, ER_UNSUPPORTED_PS, "HY000",
                  "This command is not supported in the prepared statement protocol yet");
        return true;
    }
    return false;
}

static enum ps_step ps_exec_take(struct session *s, uint8_t *p, uint32_t len, uint32_t avail)
{
    bool bulk = p[0] == COM_STMT_BULK_EXECUTE;
    if (bulk && ps_bulk_refused(s, len))
        return PS_NEXT;
    if (s->route.wait_idx < 0) /* not routed yet: it begins as a text command does */
        session_route_begin(s, p[0], avail == len);
    /* (MariaDB 10.11 names mysqld_stmt_execute in the bulk's error too) */
    struct pstmt *st = ps_lookup(s, p, len, "mysqld_stmt_execute");
    if (st == NULL)
        return PS_NEXT;
    enum ps_shard to = ps_shard_route(s, st, p, len, avail, bulk);
    if (to != PS_SHARD_GO) /* refused: answered; closing, waiting, on every group: nothing more */
        return to == PS_SHARD_REFUSED ? PS_NEXT : PS_STOP;
    size_t need = bulk ? MYSQL_STMT_BULK_HEAD + (st->home_only ? 0 : 2 * (size_t)st->n_params)
                  : st->home_only ? 10
                                  : mysql_stmt_exec_head_max(st->n_params);
    if (avail < HY_MIN(len, need)) {
        update_reads(s); /* the head is still coming */
        return PS_STOP;
    }
    s->prep.x_st = st;
    s->prep.x_need = need;
    if (bulk) {
        s->prep.x_head_ok = !st->home_only &&
                            mysql_stmt_bulk_decode(p, avail, st->n_params, &s->prep.x_bk) == HY_OK;
        return PS_ON;
    }
    s->prep.x_head_ok =
        !st->home_only && mysql_stmt_exec_decode(p, avail, st->n_params, &s->prep.x_ex) == HY_OK;
    if (session_cache_execute(s, st, p, len, avail, s->prep.x_head_ok ? &s->prep.x_ex : NULL)) {
        ps_drop(s, len); /* answered from the query cache */
        session_cache_answer(s);
        return PS_NEXT;
    }
    return PS_ON;
}

/* Send the EXECUTE taken, its backend ready with the statement. */
static void ps_exec_send(struct session *s, struct pstmt *st, uint8_t *p, uint32_t len,
                         uint32_t idx)
{
    bool head_ok = s->prep.x_head_ok;
    const struct mysql_stmt_exec *ex = &s->prep.x_ex;
    struct ps_backend once = {.id = st->once_id}; /* it has received no types */
    struct ps_backend *pb = st->once_idx == (int)idx ? &once : &st->be[idx];
    uint8_t flags = len >= 6 ? p[5] : 0;
    s->prep.meta_ps_id = st->id; /* session_colmeta.c */
    st->cursor_idx = (flags & CURSOR_TYPE_READ_ONLY) ? (int16_t)idx : -1;
    st->ld_idx = -1; /* the server forgets long data once it executed */
    if (s->cfg->resolve_in_flight_writes && st->writes && idx == s->route.primary)
        session_inflight_ps_sent(s, st->once_idx == (int)idx && st->once_marked, p, len, st->sql,
                                 st->sql_len); /* kept before the id is the backend's */
    switch (ps_types_need(s, st, pb, head_ok, head_ok && ex->new_params_bound ? ex->types : NULL,
                          len)) {
    case PS_TYPES_NOMEM:
        return;
    case PS_TYPES_ADD:
        ps_forward_with_types(s, st, pb->id, p, ex, len);
        return;
    case PS_TYPES_AS_IS:
        break;
    }
    mysql_stmt_id_set(p, pb->id);
    command_forward(s, COM_STMT_EXECUTE, len, flags);
}

/* Send the BULK_EXECUTE taken, its backend ready with the statement. */
static void ps_bulk_send(struct session *s, struct pstmt *st, uint8_t *p, uint32_t len,
                         uint32_t idx)
{
    bool head_ok = s->prep.x_head_ok;
    const struct mysql_stmt_bulk *bk = &s->prep.x_bk;
    size_t need = s->prep.x_need;
    struct ps_backend once = {.id = st->once_id};
    struct ps_backend *pb = st->once_idx == (int)idx ? &once : &st->be[idx];
    s->prep.meta_ps_id =
        st->id;          /* session_colmeta.c: its results leave the client's definitions unknown */
    st->cursor_idx = -1; /* an execution closes the statement's cursor */
    st->ld_idx = -1;
    if (s->cfg->resolve_in_flight_writes && idx == s->route.primary) /* never marked */
        session_inflight_ps_sent(s, false, p, len, NULL, 0);
    enum ps_types need_types = ps_types_need(s, st, pb, head_ok, head_ok ? bk->types : NULL, len);
    if (need_types == PS_TYPES_NOMEM)
        return;
    if (need_types == PS_TYPES_ADD) {
        uint8_t *pkt = malloc(MYSQL_HEADER_SIZE + need);
        if (pkt == NULL) {
            session_mark_closing(s, END_NOMEM);
            return;
        }
        size_t n = mysql_stmt_bulk_bind_types(p, bk, st->n_params, st->types, pb->id,
                                              pkt + MYSQL_HEADER_SIZE, need);
        ps_forward_head(s, COM_STMT_BULK_EXECUTE, 0, pkt, n, bk->head_len, 2u * st->n_params, len);
        free(pkt);
        return;
    }
    mysql_stmt_id_set(p, pb->id);
    command_forward(s, COM_STMT_BULK_EXECUTE, len, 0);
}

/* COM_STMT_SEND_LONG_DATA goes where the statement's long data is, else
 * where it runs alone, else to the read-only transaction's replica or the
 * primary; an unknown statement's is dropped, as MariaDB drops it (no
 * answer). */
static enum ps_step ps_long_data_route(struct session *s, uint32_t len, struct pstmt *st,
                                       uint32_t *idx)
{
    if (st == NULL || (s->route.wait_idx < 0 && ps_gone(st))) {
        ps_drop(s, len);
        return PS_NEXT;
    }
    if (s->route.wait_idx < 0)
        session_route_wait_at(s, st->ld_idx >= 0        ? st->ld_idx
                                 : st->home_only        ? (int)st->home
                                 : s->route.ro_idx >= 0 ? s->route.ro_idx
                                                        : (int)s->route.primary);
    *idx = (uint32_t)s->route.wait_idx;
    return PS_ON;
}

/* COM_STMT_RESET goes where the statement's cursor or long data is, if
 * any, else to a backend that has it; the others reset it first, one at a
 * time, their answers dropped (PS_STOP while one is sent). Prepared
 * nowhere now: nothing to reset, OK. */
static enum ps_step ps_reset_route(struct session *s, uint32_t len, struct pstmt *st, uint32_t *idx)
{
    if (s->route.wait_idx < 0) {
        int fin = st->cursor_idx >= 0 ? st->cursor_idx : st->ld_idx;
        for (uint32_t i = 0; fin < 0 && i < s->conns.n_bc; i++) {
            if (st->be[i].id != 0)
                fin = (int)i;
        }
        st->cursor_idx = st->ld_idx = -1;
        st->ld_lost = false;
        if (fin < 0) {
            ps_drop(s, len);
            send_ok(s, 1);
            return PS_NEXT;
        }
        session_route_wait_at(s, fin);
        s->prep.ps_step = 0;
    }
    while (s->prep.ps_step >= 0 && (uint32_t)s->prep.ps_step < s->conns.n_bc) {
        uint32_t b = (uint32_t)s->prep.ps_step++;
        struct bconn *bc = s->conns.bc[b];
        if ((int)b == s->route.wait_idx || st->be[b].id == 0 || bc == NULL ||
            bc->state != BCONN_READY)
            continue;
        session_backend_use(s, bc);
        uint8_t body[4] = {(uint8_t)st->be[b].id, (uint8_t)(st->be[b].id >> 8),
                           (uint8_t)(st->be[b].id >> 16), (uint8_t)(st->be[b].id >> 24)};
        s->prep.ps_int_id = st->id;
        internal_send(s, &int_ps_reset, COM_STMT_RESET, body, sizeof(body),
                      s->cfg->connect_timeout_ms);
        return PS_STOP;
    }
    *idx = (uint32_t)s->route.wait_idx;
    return PS_ON;
}

/* A command of the statement at p other than an execution: a FETCH, a
 * RESET or a SEND_LONG_DATA, routed to its statement. */
static enum ps_step ps_stmt_route(struct session *s, uint8_t *p, uint32_t len, uint32_t *idx)
{
    struct pstmt *st;
    if (p[0] == COM_STMT_SEND_LONG_DATA)
        st = len >= 7 ? pstmt_find(&s->prep.map, mysql_stmt_id_get(p)) : NULL;
    else if ((st = ps_lookup(s, p, len,
                             p[0] == COM_STMT_FETCH ? "mysqld_stmt_fetch" : "mysqld_stmt_reset")) ==
             NULL)
        return PS_NEXT;
    s->prep.x_st = st;
    if (s->route.wait_idx < 0 && st != NULL)
        ps_plain_command(s);
    switch (p[0]) {
    case COM_STMT_SEND_LONG_DATA:
        return ps_long_data_route(s, len, st, idx);
    case COM_STMT_RESET:
        return ps_reset_route(s, len, st, idx);
    default: /* COM_STMT_FETCH: where its cursor is */
        if (s->route.wait_idx < 0)
            session_route_wait_at(s, st->cursor_idx);
        if (s->route.wait_idx < 0) {
            ps_refuse(s, len, ER_STMT_HAS_NO_OPEN_CURSOR, "HY000",
                      "The statement (%u) has no open cursor", st->id);
            return PS_NEXT;
        }
        *idx = (uint32_t)s->route.wait_idx;
        return PS_ON;
    }
}

static enum ps_step ps_route(struct session *s, uint8_t *p, uint32_t len, uint32_t avail,
                             uint32_t *idx)
{
    if (p[0] != COM_STMT_EXECUTE && p[0] != COM_STMT_BULK_EXECUTE)
        return ps_stmt_route(s, p, len, idx);
    bool bulk = p[0] == COM_STMT_BULK_EXECUTE;
    const struct mysql_stmt_exec *ex = !bulk && s->prep.x_head_ok ? &s->prep.x_ex : NULL;
    return ps_exec_route_to(s, s->prep.x_st, ex, p, len, avail, bulk, idx);
}

static enum ps_step ps_ready(struct session *s, uint8_t *p, uint32_t len, uint32_t avail,
                             uint32_t idx)
{
    struct pstmt *st = s->prep.x_st;
    switch (p[0]) {
    case COM_STMT_SEND_LONG_DATA:
        if (st->be[idx].id != 0)
            return PS_ON;
        if (st->sql == NULL) { /* the EXECUTE will say */
            st->ld_lost = true;
            ps_drop(s, len);
            return PS_NEXT;
        }
        return ps_prepare_here(s, st, false) ? PS_ON : PS_STOP;
    case COM_STMT_FETCH:
        if (pstmt_exec_id(st, idx) == 0 || st->cursor_idx != (int)idx) {
            ps_refuse(s, len, ER_STMT_HAS_NO_OPEN_CURSOR, "HY000",
                      "The statement (%u) has no open cursor", st->id);
            return PS_NEXT;
        }
        return PS_ON;
    case COM_STMT_RESET:
        s->prep.ps_step = -1;
        if (pstmt_exec_id(st, idx) == 0) {
            ps_drop(s, len);
            send_ok(s, 1);
            return PS_NEXT;
        }
        return PS_ON;
    default:
        return ps_exec_prepared(s, st, len, avail, p[0] == COM_STMT_BULK_EXECUTE, idx);
    }
}

static void ps_send(struct session *s, uint8_t *p, uint32_t len, uint32_t idx)
{
    struct pstmt *st = s->prep.x_st;
    switch (p[0]) {
    case COM_STMT_EXECUTE:
        ps_exec_send(s, st, p, len, idx);
        return;
    case COM_STMT_BULK_EXECUTE:
        ps_bulk_send(s, st, p, len, idx);
        return;
    case COM_STMT_SEND_LONG_DATA: /* for the statement itself, not a one-off */
        st->ld_idx = (int16_t)idx;
        mysql_stmt_id_set(p, st->be[idx].id);
        break;
    default:
        mysql_stmt_id_set(p, pstmt_exec_id(st, idx));
        break;
    }
    command_forward(s, p[0], len, 0);
}

void ps_close(struct session *s, const uint8_t *p, uint32_t len)
{
    struct pstmt *st = len >= 5 ? pstmt_find(&s->prep.map, mysql_stmt_id_get(p)) : NULL;
    ps_drop(s, len); /* no answer, whatever happens */
    if (st == NULL)
        return;
    ps_once_close(s, st);
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        struct bconn *bc = s->conns.bc[i];
        if (st->be[i].id == 0 || bc == NULL || bc->state != BCONN_READY)
            continue;
        /* A pooled connection keeps what its cache has for the next
         * session, unless a cursor or long data of this one is on it. */
        if (ps_cache_has(&bc->psc, st->be[i].id)) {
            if (st->cursor_idx != (int)i && st->ld_idx != (int)i)
                continue;
            ps_cache_forget(&bc->psc, st->be[i].id);
        }
        stmt_close_send(s, bc, st->be[i].id);
    }
    pstmt_remove(&s->prep.map, st);
}

/* An internal prepare failed on s->conns.cur: try the primary instead, or give
 * its ERR to the waiting command. */
static void ps_prepare_failed(struct session *s)
{
    struct bconn *bc = s->conns.cur;
    struct stream *st = &s->io.up;
    struct pstmt *ps = pstmt_find(&s->prep.map, s->prep.ps_int_id);
    uint8_t cmd = st->b->data[st->scan + MYSQL_HEADER_SIZE];
    slog_info(s, "preparing statement %u on %s failed with error %u", s->prep.ps_int_id,
              bc->be->name, s->io.resp.err_code);
    if (bc->idx != s->route.primary && !s->cfg->replica_fallback_error && ps != NULL &&
        !ps->home_only && s->route.ro_idx < 0 && cmd == COM_STMT_EXECUTE) {
        session_route_wait_at(s, (int)s->route.primary); /* a replica behind on the schema */
        session_route_uncausal(s);
        return;
    }
    uint32_t len = mysql_hdr_len(st->b->data + st->scan);
    if (cmd == COM_STMT_SEND_LONG_DATA) { /* the EXECUTE will say */
        if (ps != NULL)
            ps->ld_lost = true;
        ps_drop(s, len);
        return;
    }
    ps_drop(s, len);
    if (s->prep.ps_err != NULL)
        send_err_payload(s, 1, s->prep.ps_err, s->prep.ps_err_len);
    else
        send_err(s, 1, s->io.resp.err_code, "HY000", "Preparing the statement on %s failed",
                 bc->be->name);
}

/* ---- the answers of the commands an EXECUTE waits for (internal_progress) */

/* int_ps_use or int_ps_env answered: an error fails the prepare, an OK
 * goes on to the next step (`done`). */
static enum internal_next ps_step_answered(struct session *s, void (*done)(struct session *))
{
    if (s->io.resp.err_code != 0) {
        ps_prepare_failed(s);
        return INTERNAL_END;
    }
    session_timer_stop(s);
    done(s);
    return INTERNAL_WENT_ON;
}

static enum internal_next ps_use_answered(struct session *s, struct bconn *bc)
{
    (void)bc;
    return ps_step_answered(s, ps_use_done);
}

static enum internal_next ps_env_answered(struct session *s, struct bconn *bc)
{
    (void)bc;
    return ps_step_answered(s, ps_env_done);
}

/* A packet of int_ps_prepare's answer: its ERR, whole, is kept for the
 * EXECUTE that waits. */
static void ps_prepare_packet(struct session *s, const struct hook_packet *pk)
{
    if (pk->len == 0 || pk->pl[0] != MYSQL_ERR || !pk->whole || s->io.resp.err_code == 0)
        return;
    free(s->prep.ps_err);
    s->prep.ps_err_len = (uint16_t)HY_MIN(pk->len, 1024u);
    if ((s->prep.ps_err = malloc(s->prep.ps_err_len)) != NULL)
        memcpy(s->prep.ps_err, pk->pl, s->prep.ps_err_len);
}

static enum internal_next ps_prepare_answered(struct session *s, struct bconn *bc)
{
    if (s->io.resp.err_code != 0) {
        ps_prepare_failed(s);
        return INTERNAL_END;
    }
    struct pstmt *ps = pstmt_find(&s->prep.map, s->prep.ps_int_id);
    if (ps != NULL && s->prep.ps_once) { /* for the waiting EXECUTE alone */
        ps->once_id = s->io.resp.stmt_id;
        ps->once_idx = (int16_t)bc->idx;
        ps->once_marked = s->prep.ps_mark;
        ps->once_seq = s->prep.ps_mark ? session_inflight_ps_seq(s) : 0;
    } else if (ps != NULL) {
        ps->be[bc->idx].id = s->io.resp.stmt_id;
        ps->be[bc->idx].types_gen = 0;
    }
    return INTERNAL_END;
}

/* Its answer does not matter: the last backend's goes to the client. */
static enum internal_next ps_reset_answered(struct session *s, struct bconn *bc)
{
    (void)s, (void)bc;
    return INTERNAL_END;
}

const struct internal_cmd int_ps_use = {.name = "the schema of a statement's PREPARE",
                                        .answered = ps_use_answered};
const struct internal_cmd int_ps_env = {.name = "the sql_mode and character set of a PREPARE",
                                        .answered = ps_env_answered};
const struct internal_cmd int_ps_prepare = {.name = "a PREPARE where an EXECUTE lands",
                                            .flags = INTERNAL_WHOLE | INTERNAL_KEEPS_VALUES,
                                            .packet = ps_prepare_packet,
                                            .answered = ps_prepare_answered};
const struct internal_cmd int_ps_reset = {.name = "a COM_STMT_RESET on another backend",
                                          .answered = ps_reset_answered};

/* ---- the statements' command kinds (session_hooks.c's kind table) ----- */

static enum next_step com_stmt_prepare(struct session *s, const struct next_cmd *c)
{
    if (s->route.wait_idx < 0 && s->prep.map.count >= (uint32_t)s->cfg->max_prepared_statements) {
        ps_refuse(s, c->len, ER_MAX_PREPARED_STMT_COUNT, "42000",
                  "Can't create more than max_prepared_stmt_count statements "
                  "(current value: %d)",
                  s->cfg->max_prepared_statements);
        return NEXT_AGAIN;
    }
    return NEXT_ROUTE;
}

static enum next_step com_stmt_close(struct session *s, const struct next_cmd *c)
{
    ps_close(s, c->p, c->len);
    return NEXT_AGAIN;
}

/* What a step of the statement's says, as the cycle's stage says it. */
static enum next_step ps_next(enum ps_step step)
{
    return step == PS_ON ? NEXT_ROUTE : step == PS_STOP ? NEXT_STOP : NEXT_AGAIN;
}

/* The payload bytes of the command at up.scan that are in the buffer. */
static uint32_t ps_avail(const struct session *s, uint32_t len)
{
    return HY_MIN(len, stream_unparsed(&s->io.up) - MYSQL_HEADER_SIZE);
}

/* An execution is taken at the command stage (its statement, group,
 * head; the query cache); each of a statement's commands is routed where
 * it is, readied there in the forward (the statement had there) and sent
 * with the statement's id there. */
static enum next_step ps_kind_take(struct session *s, const struct next_cmd *c)
{
    return ps_next(ps_exec_take(s, c->p, c->len, ps_avail(s, c->len)));
}

static enum next_step ps_kind_route(struct session *s, struct next_cmd *c)
{
    return ps_next(ps_route(s, c->p, c->len, ps_avail(s, c->len), &c->idx));
}

static enum next_step ps_kind_ready(struct session *s, const struct next_cmd *c)
{
    return ps_next(ps_ready(s, c->p, c->len, ps_avail(s, c->len), c->idx));
}

static void ps_kind_send(struct session *s, const struct next_cmd *c)
{
    ps_send(s, c->p, c->len, c->idx);
}

/* COM_STMT_PREPARE: refused past max_prepared_stmt_count, routed as its
 * text is, and its OK given halyard's id. */
const struct cmd_kind ps_kind_prepare = {
    .take = com_stmt_prepare, .route_text = ps_route_prepare, .answer_ok = ps_prepare_ok};
/* COM_STMT_EXECUTE and COM_STMT_BULK_EXECUTE: a lost transaction met
 * before the take, as next_route meets it for a text statement. */
const struct cmd_kind ps_kind_execute = {.take = ps_kind_take,
                                         .route = ps_kind_route,
                                         .ready = ps_kind_ready,
                                         .send = ps_kind_send,
                                         .stages = KIND_LOST_FIRST};
/* COM_STMT_FETCH, RESET and SEND_LONG_DATA: they wait for nothing, the
 * execution they follow did. */
const struct cmd_kind ps_kind_follow = {
    .route = ps_kind_route, .ready = ps_kind_ready, .send = ps_kind_send, .stages = KIND_FOLLOWS};
/* COM_STMT_CLOSE, which has no answer, is done at its take. */
const struct cmd_kind ps_kind_close = {.take = com_stmt_close};
