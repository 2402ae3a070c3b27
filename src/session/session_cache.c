/*
 * session_cache.c: a session's side of the query cache (cache.h).
 *
 * Four hooks, called from the command loop:
 *   - session_cache_rules (session_route.c, with the rule that matched a
 *     text statement): notes what the statement is, and for a rule with
 *     action = "cache" looks the answer up. A hit is ROUTE_CACHE (the
 *     stored packets ready in s->query.cache); a miss that may be kept is
 *     sent to the primary, its ticket taken now, before it is sent;
 *   - session_cache_packet (down_parse's on_packet hook): each packet of that
 *     answer is copied while it stays under the rule's max_result_bytes;
 *   - session_cache_done (command_done's on_done hook): kept if it ended
 *     well (no error, no warning, one result, outside a transaction, on the
 *     primary, not at READ UNCOMMITTED: reads_dirty); and any command that
 *     is not such a read marks the session's last write
 *     (session_cache_answered, as its answer's last packet is parsed; a DML
 *     statement that leaves a transaction open, at the transaction's end:
 *     write_now), its hits (and every session's, with
 *     cache.read_your_writes = "global") waiting until the cache's
 *     reader has applied a position of the primary read after it
 *     (read-your-writes);
 *   - session_cache_answer (ROUTE_CACHE): the stored packets sent, and
 *     FOUND_ROWS() / ROW_COUNT() made the hit's (its rows; -1), its
 *     diagnostics area empty (values.diag_hit: a statement reading it
 *     clears the connection's first, session_pool.c).
 * And for prepared statements: session_cache_rules keeps the rule a
 * COM_STMT_PREPARE's text matched (session_cache_ps_rule, into its
 * pstmt), and session_cache_execute (session_ps.c's ps_execute) looks a
 * COM_STMT_EXECUTE up or arms its fill as session_cache_rules does a text
 * statement's: its tables and point-lookup keys from its text with the
 * parameters written in (ps_text.h), its key the binary protocol's
 * (key_exec).
 *
 * The key is everything that changes the answer: the user, the default
 * schema, the login's character set, the capabilities (the answer's
 * framing), the session state the client set (varstate.h, as the SETs
 * that rebuild it, which hold sql_mode, time_zone, the character sets,
 * the role ...), and the statement's exact text.
 *
 * The answer kept is the packets this client was sent, as it was sent
 * them: the column count packet halyard rewrites for a client with
 * MARIADB_CLIENT_CACHE_METADATA (session_colmeta.c) is recorded as
 * rewritten, and a fill whose packets do not run from sequence id 1 with
 * no gap is not kept. The key holds the capabilities (DEPRECATE_EOF, the
 * MariaDB extended ones), so a hit goes only to a client that negotiated
 * the same framing. It was filled outside a transaction with autocommit
 * on, one result, no warnings, and is served only under the same
 * conditions, so its sequence ids, status flags and warning count are the
 * asking session's: byte for byte what the server would have sent it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/cache/cache.h"
#include "halyard/config/group.h"
#include "halyard/config/rules.h"
#include "halyard/sql/cache_sql.h"
#include "halyard/sql/lexer.h"
#include "halyard/sql/ps_text.h"
#include "halyard/sql/pstmt.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/core/textbuf.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/sql/varstate.h"
#include "session_int.h"
#include "session_cache.h"
#include "session_diag.h"
#include "session_pool.h"
#include "session_state.h"

#define KEY_STATE_MAX 8192 /* state larger than this: not cached */

struct session_cache {
    /* the key's session state, as of vars.vs_gen */
    uint8_t *state;
    size_t state_len;
    uint32_t state_gen;
    bool state_ok;
    bool state_known;
    bool tainted; /* temporary tables, or state out of sight: never again */
    /* READ UNCOMMITTED (dirty reads: neither served nor kept) as the
     * session's level, and as the next transaction's only (SET
     * TRANSACTION), spent by the command in flight if `spends` */
    bool dirty_session, dirty_next, spends;
    /* sql_log_bin = 0 (or may be): the session's writes are in no binary
     * log, so each empties the cache when noted (write_note); `_stmt`: a
     * statement naming sql_log_bin otherwise (SET STATEMENT ... FOR), up to
     * the next write noted. A SET of it in flight (`set_pending`): turning
     * it off counts at once, on only once the server has said OK; a SET
     * alone that the server refuses (inside a transaction, 1694) changes
     * nothing: `unlogged_was` again */
    bool unlogged, unlogged_stmt;
    bool set_pending, set_alone, unlogged_was, unlogged_to;
    /* the fill in flight */
    bool armed;
    struct cache_ticket ticket;
    uint8_t *key;
    size_t key_len;
    struct cache_sql tables;
    int ttl_ms;
    uint32_t rule;
    struct textbuf ans; /* the answer as the client gets it, up to the rule's max_result_bytes */
    bool too_big;
    /* the COM_STMT_PREPARE being routed: 1 + its cache rule, 0 = none */
    uint32_t ps_rule;
    /* the command in flight, if its answer leaves a transaction open, may
     * wait to be noted as a write (write_now) */
    enum { DEFER_NO, DEFER_DML, DEFER_BEGIN } defer;
    bool trx_wrote; /* DML ran in the transaction open now, not yet noted */
    double began;   /* when the command in flight was sent (session_cache_begin) */
    /* a hit ready to go out: the store's answer, shared (cache_answer_put) */
    struct cache_answer *hit;
};

static struct session_cache *sc_get(struct session *s)
{
    if (s->query.cache == NULL)
        s->query.cache = calloc(1, sizeof(*s->query.cache));
    return s->query.cache;
}

/* The fill is over, kept or not: its copy of the answer freed (up to the
 * rule's max_result_bytes a session, outside cache.size_mb: not held
 * while the session idles). */
static void fill_disarm(struct session_cache *c)
{
    c->armed = false;
    free(c->key);
    c->key = NULL;
    textbuf_free(&c->ans);
    c->too_big = false;
}

void session_cache_free(struct session *s)
{
    struct session_cache *c = s->query.cache;
    if (c == NULL)
        return;
    fill_disarm(c);
    free(c->state);
    cache_answer_put(c->hit);
    free(c);
    s->query.cache = NULL;
}

/* The session state part of the key, rebuilt when the state changed. */
static bool state_key(struct session *s, struct session_cache *c)
{
    if (c->state_known && c->state_gen == s->vars.vs_gen)
        return c->state_ok;
    c->state_known = true;
    c->state_gen = s->vars.vs_gen;
    c->state_ok = false;
    c->state_len = 0;
    if (s->vars.vs == NULL) {
        c->state_ok = true;
        return true;
    }
    struct varstate *empty = varstate_create(KEY_STATE_MAX);
    struct varstate_cmds cmds = {0};
    if (empty != NULL &&
        varstate_apply(empty, s->vars.vs, s->who.charset, KEY_STATE_MAX, &cmds) == HY_OK) {
        size_t n = 0;
        for (uint32_t i = 0; i < cmds.n; i++)
            n += cmds.v[i].len + 1;
        uint8_t *b = n <= KEY_STATE_MAX ? realloc(c->state, n + 1) : NULL;
        if (b != NULL) {
            c->state = b;
            for (uint32_t i = 0; i < cmds.n; i++) {
                memcpy(b + c->state_len, cmds.v[i].pkt, cmds.v[i].len);
                c->state_len += cmds.v[i].len;
                b[c->state_len++] = '\0';
            }
            c->state_ok = true;
        }
    }
    varstate_cmds_free(&cmds);
    varstate_destroy(empty);
    return c->state_ok;
}

static void put(uint8_t *b, size_t *n, const void *p, size_t len)
{
    if (len == 0)
        return; /* p may be NULL then (no state, no schema): memcpy's is undefined */
    memcpy(b + *n, p, len);
    *n += len;
}

/* The binary protocol's part of a key (key_make): a prepared statement's
 * sql_mode and character set of its PREPARE, its parameters' types, NULL
 * bitmap and values as the client sent them, and for a client with
 * MARIADB_CLIENT_CACHE_METADATA the column definitions halyard last sent
 * it for the statement (pstmt.meta: whether they are known, their
 * signature), since its answer leaves them out when they are the same
 * (session_colmeta.c): such an entry goes only to a client that holds them. */
struct key_exec {
    const char *env; /* pstmt.env_key, NULL = none */
    const uint8_t *types, *nulls, *values, *meta;
    size_t n_types, n_nulls, n_values, n_meta;
};

/* The key of text (len bytes, read in `schema`) for this session, and of
 * its execution `ex` (NULL: a text statement); false when out of memory. */
static bool key_make(struct session *s, struct session_cache *c, const char *schema,
                     const char *text, size_t len, const struct key_exec *ex)
{
    const char *user = s->who.user != NULL ? s->who.user : "";
    schema = schema != NULL ? schema : "";
    const char *env = ex != NULL && ex->env != NULL ? ex->env : "";
    size_t exn = ex != NULL
                     ? strlen(env) + 1 + 16 + ex->n_types + ex->n_nulls + ex->n_values + ex->n_meta
                     : 0;
    size_t n = strlen(user) + 1 + strlen(schema) + 1 + 9 + c->state_len + 2 + exn + len;
    free(c->key);
    if ((c->key = malloc(n)) == NULL)
        return false;
    size_t k = 0;
    put(c->key, &k, user, strlen(user) + 1);
    put(c->key, &k, schema, strlen(schema) + 1);
    c->key[k++] = s->who.charset;
    put(c->key, &k, &s->who.caps, 4);
    put(c->key, &k, &s->who.ext_caps, 4);
    put(c->key, &k, c->state, c->state_len);
    c->key[k++] = '\0';
    c->key[k++] = ex != NULL; /* the protocol: the answer's rows differ */
    if (ex != NULL) {         /* each part's length first: no two keys run together */
        uint32_t lens[4] = {(uint32_t)ex->n_types, (uint32_t)ex->n_nulls, (uint32_t)ex->n_values,
                            (uint32_t)ex->n_meta};
        put(c->key, &k, env, strlen(env) + 1);
        put(c->key, &k, lens, sizeof(lens));
        put(c->key, &k, ex->types, ex->n_types);
        put(c->key, &k, ex->nulls, ex->n_nulls);
        put(c->key, &k, ex->values, ex->n_values);
        put(c->key, &k, ex->meta, ex->n_meta);
    }
    put(c->key, &k, text, len);
    c->key_len = k;
    return true;
}

/* The statement's answer may be cached (the classifier's view). */
static bool stmt_eligible(const struct classify_result *r)
{
    const uint32_t refuse = CLF_MULTI | CLF_UNTERMINATED | CLF_TOO_LONG | CLF_HINT_INVALID |
                            CLF_LOCKING_READ | CLF_SELECT_INTO | CLF_USER_VAR_SET |
                            CLF_USER_VAR_REF | CLF_LAST_INSERT_ID | CLF_PREV_STMT | CLF_USER_LOCK |
                            CLF_SEQUENCE | CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE |
                            CLF_DIAG | CLF_TEMP_TABLE_CREATED;
    return r->kind == CL_READ && r->nstmt == 1 && !(r->flags & refuse) && r->connid.n == 0 &&
           !r->connid_overflow;
}

/* This session may be served or filled now. */
static bool session_eligible(const struct session *s)
{
    return !session_in_trans(s) && !s->route.pinned && !s->route.tables_locked &&
           s->route.ro_idx < 0 && !s->listener->shards && s->route.trx_lost == NULL;
}

/* Whether text (len bytes) holds `word`, in any case. A plain scan: the
 * word in a string or a comment counts too, which refuses at worst. */
static bool has_word(const char *text, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(text + i, word, n) == 0)
            return true;
    return false;
}

/* A value of tx_isolation / transaction_isolation other than a level
 * known not to be READ UNCOMMITTED (a number, an expression) counts as
 * that level. */
static bool level_value_dirty(const char *v, size_t n)
{
    return has_word(v, n, "UNCOMMITTED") ||
           !(has_word(v, n, "READ-COMMITTED") || has_word(v, n, "REPEATABLE-READ") ||
             has_word(v, n, "SERIALIZABLE"));
}

/* What a statement sets of the transaction isolation level the session
 * reads at (READ UNCOMMITTED: dirty). SET [SESSION] TRANSACTION ISOLATION
 * LEVEL (the next transaction's, or the session's), SET [SESSION]
 * tx_isolation or transaction_isolation (DEFAULT: the server's default,
 * cache_dirty_default); a SET cut short, or with more assignments than the
 * classifier reports, naming an isolation: dirty. */
static void level_note(struct session_cache *c, const struct classify_result *r, const char *text,
                       size_t len, bool fits)
{
    if (r->kind != CL_SESSION || (r->flags & CLF_SET_STATEMENT))
        return;
    if (!fits || (r->flags & CLF_VARS_TRUNCATED)) {
        if (!fits || has_word(text, len, "ISOLATION"))
            c->dirty_session = true;
        return;
    }
    if (r->flags & (CLF_TXN_NEXT | CLF_TXN_SESSION)) {
        if (!has_word(text, len, "ISOLATION"))
            return; /* READ ONLY / READ WRITE alone */
        bool dirty = has_word(text, len, "UNCOMMITTED");
        if (r->flags & CLF_TXN_NEXT)
            c->dirty_next = dirty;
        else
            c->dirty_session = dirty;
        return;
    }
    for (uint32_t i = 0; i < r->nvars; i++) {
        const struct classify_var *v = &r->vars[i];
        const char *name = text + v->name.off;
        if (v->scope != CLV_SESSION ||
            !((v->name.len == 12 && strncasecmp(name, "tx_isolation", 12) == 0) ||
              (v->name.len == 21 && strncasecmp(name, "transaction_isolation", 21) == 0)))
            continue;
        const char *val = text + v->value.off;
        c->dirty_session = !(v->value.len == 7 && strncasecmp(val, "DEFAULT", 7) == 0) &&
                           level_value_dirty(val, v->value.len);
    }
}

/* Whether `v` (n bytes), a value of sql_log_bin, certainly turns the
 * binary log on: 1, ON, TRUE, DEFAULT. */
static bool logged_value(const char *v, size_t n)
{
    static const char *const on[] = {"1", "ON", "TRUE", "DEFAULT", "'ON'", "'1'"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(on); i++)
        if (n == strlen(on[i]) && strncasecmp(v, on[i], n) == 0)
            return true;
    return false;
}

/* What a statement sets of the session's sql_log_bin: a SET of it to
 * anything but a value that turns it on, or any other statement naming it
 * (SET STATEMENT sql_log_bin = 0 FOR ..., a SET cut short): unlogged at
 * once. A SET: as its answer says (binlog_set_answered). */
static void binlog_note(struct session_cache *c, const struct classify_result *r, const char *text,
                        size_t len, bool fits)
{
    if (!has_word(text, len, "sql_log_bin"))
        return;
    if (r->kind != CL_SESSION || !fits || (r->flags & (CLF_SET_STATEMENT | CLF_VARS_TRUNCATED))) {
        c->unlogged_stmt = true;
        if (r->kind == CL_SESSION && !(r->flags & CLF_SET_STATEMENT))
            c->unlogged = true;
        return;
    }
    bool named = false, to = c->unlogged;
    for (uint32_t i = 0; i < r->nvars; i++) {
        const struct classify_var *v = &r->vars[i];
        if (v->name.len == 11 && strncasecmp(text + v->name.off, "sql_log_bin", 11) == 0) {
            named = true;
            to = !logged_value(text + v->value.off, v->value.len);
        }
    }
    if (!named)
        return;
    c->set_pending = true;
    c->set_alone = !(r->flags & CLF_MULTI);
    c->unlogged_was = c->unlogged;
    c->unlogged_to = to;
    c->unlogged = c->unlogged || to; /* off at once, on once it is OK */
}

/* The answer to a SET of sql_log_bin (binlog_note): OK, the value it
 * set; an error to it alone, the value before (the server changed
 * nothing); an error in a multi-statement text, or no answer: unlogged
 * if either may be. */
static void binlog_set_answered(struct session_cache *c, const struct mysql_resp *rs)
{
    if (!c->set_pending)
        return;
    c->set_pending = false;
    if (rs->status_seen && rs->err_code == 0)
        c->unlogged = c->unlogged_to;
    else if (rs->err_code != 0 && c->set_alone)
        c->unlogged = c->unlogged_was;
}

/* The session reads at READ UNCOMMITTED, or may: its level, the next
 * transaction's, or the server's default its connection `b` (NULL: one
 * to be opened) may still have (cache_dirty_default). Checked whatever the
 * session set: a pooled connection may not carry its level. */
static bool reads_dirty(const struct session_cache *c, const struct bconn *b)
{
    return c->dirty_session || c->dirty_next ||
           cache_dirty_default(b != NULL ? b->defaults_at : -1);
}

/* The connection a lookup would be served from: the session's own on the
 * primary, NULL when it has none. */
static const struct bconn *primary_conn(const struct session *s)
{
    return s->route.primary < s->conns.n_bc ? s->conns.bc[s->route.primary] : NULL;
}

/* The session's connection on the primary (or the one it would open)
 * may read dirty rows (reads_dirty), or hold global defaults or
 * privileges the primary has changed since it opened (cache_old_defaults,
 * cache_old_privileges): no lookup, no fill, counted. */
static bool conn_refused(const struct session_cache *c, const struct session *s)
{
    const struct bconn *b = primary_conn(s);
    if (reads_dirty(c, b)) {
        cache_fill_dirty();
        return true;
    }
    if (cache_old_defaults(b != NULL ? b->defaults_at : -1)) {
        cache_refused_defaults();
        return true;
    }
    return cache_old_privileges(b != NULL ? b->born : -1);
}

/* The name of the session's primary (its writer), where its lookups
 * would be filled from. */
static const char *primary_name(const struct session *s)
{
    return s->route.primary < s->cfg->n_backends ? s->cfg->backends[s->route.primary].name : NULL;
}

/* Arm the fill of a miss (its ticket taken now, before it is sent). */
static bool fill_arm(struct session_cache *c, const struct session *s,
                     const struct config_rule *rule, uint32_t rule_idx)
{
    cache_stamp(&c->ticket, rule, primary_name(s));
    if (!c->ticket.valid)
        return false;
    c->armed = true;
    c->ttl_ms = rule->ttl_ms;
    c->rule = rule_idx;
    textbuf_free(&c->ans);
    textbuf_init(&c->ans, (size_t)rule->max_result_bytes);
    c->too_big = false;
    return true;
}

/* What holds the hits of `rule` (cache_get). */
static struct cache_gate rule_gate(const struct config_rule *rule)
{
    struct cache_gate g = {.ryw = rule->read_your_writes == RULE_RYW_GLOBAL    ? CACHE_RYW_GLOBAL
                                  : rule->read_your_writes == RULE_RYW_SESSION ? CACHE_RYW_SESSION
                                                                               : CACHE_RYW_DEFAULT,
                           .max_stale_ms = rule->max_stale_ms};
    return g;
}

/* Whether a statement's write may be noted at its transaction's end: one
 * INSERT, UPDATE, DELETE or REPLACE (none commits, implicitly or not), or
 * BEGIN / START TRANSACTION (which writes nothing, but commits what was
 * open). */
static int defer_kind(const struct classify_result *r, const char *text, size_t len)
{
    if (r->nstmt != 1 || (r->flags & (CLF_MULTI | CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE)))
        return DEFER_NO;
    if (r->kind == CL_TXN_BEGIN && !(r->flags & CLF_XA))
        return DEFER_BEGIN;
    if (r->kind != CL_WRITE || !(r->flags & CLF_DML))
        return DEFER_NO;
    static const char *const dml[] = {"INSERT", "UPDATE", "DELETE", "REPLACE"};
    const char *end = text + len, *p = lex_skip_space_comments(text, end);
    for (size_t i = 0; i < HY_ARRAY_SIZE(dml); i++) {
        const char *q = p;
        if (lex_match_word(&q, end, dml[i]))
            return DEFER_DML;
    }
    return DEFER_NO;
}

uint32_t session_cache_rules(struct session *s, const struct hook_rule *hr)
{
    uint8_t cmd = hr->cmd;
    const struct config_rule *rule = hr->rule;
    struct classify_result *r = hr->r;
    const char *text = hr->text;
    size_t len = hr->len;
    bool fits = hr->fits;
    s->query.cache_read = false;
    if (!cache_on())
        return UINT32_MAX;
    struct session_cache *c = sc_get(s);
    if (c == NULL)
        return UINT32_MAX;
    c->ps_rule = 0;
    c->defer = cmd == COM_QUERY && fits ? defer_kind(r, text, len) : DEFER_NO;
    if (r->flags &
        (CLF_TEMP_TABLE_CREATED | CLF_STATE_OPAQUE | CLF_UVARS_OPAQUE | CLF_ROUTINE_CALL))
        c->tainted = true; /* a temporary table may shadow a table: never again */
    level_note(c, r, text, len, fits);
    binlog_note(c, r, text, len, fits);
    /* a statement that certainly ends a transaction spends the next
     * transaction's level when it succeeds (session_cache_done) */
    c->spends = c->dirty_next && fits && r->nstmt == 1 &&
                ((r->kind == CL_READ && stmt_eligible(r)) || r->kind == CL_TXN_END ||
                 (r->kind == CL_WRITE && (r->flags & CLF_DML)));
    /* what cannot write (a read, a SET of the session's own state) */
    s->query.cache_read =
        (cmd == COM_QUERY || cmd == COM_STMT_PREPARE) && fits &&
        (r->kind == CL_READ || r->kind == CL_SESSION || r->kind == CL_EMPTY) &&
        !(r->flags & (CLF_ROUTINE_CALL | CLF_SET_GLOBAL | CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE |
                      CLF_SEQUENCE | CLF_USER_LOCK | CLF_SELECT_INTO));
    if (!fits || !stmt_eligible(r) || rule == NULL || rule->action != RULE_ACTION_CACHE ||
        c->tainted || ((r->flags & CLF_SET_STATEMENT) && has_word(text, len, "ISOLATION")))
        return UINT32_MAX;
    uint32_t rule_idx = (uint32_t)(rule - s->cfg->rules);
    if (cmd == COM_STMT_PREPARE) { /* its executions, with their parameters */
        c->ps_rule = rule_idx + 1;
        return UINT32_MAX;
    }
    if (cmd != COM_QUERY || !session_eligible(s))
        return UINT32_MAX;
    if (conn_refused(c, s))
        return UINT32_MAX;
    if (cache_sql_tables(text, len, s->route.lex_opts, session_schema(s), &c->tables) !=
            CACHE_SQL_OK ||
        !state_key(s, c) || !key_make(s, c, session_schema(s), text, len, NULL))
        return UINT32_MAX;
    cache_answer_put(c->hit);
    c->hit = NULL;
    struct cache_gate g = rule_gate(rule);
    if (cache_get(c->key, c->key_len, s->query.cache_wrote_at, rule_idx, &g, primary_name(s),
                  &c->hit))
        return ROUTE_CACHE;
    /* a miss: to the primary (which has all the reader applied), stamped now */
    if (fill_arm(c, s, rule, rule_idx))
        r->hint = CLH_PRIMARY;
    return UINT32_MAX;
}

uint32_t session_cache_ps_rule(struct session *s)
{
    struct session_cache *c = s->query.cache;
    uint32_t r = c != NULL ? c->ps_rule : 0;
    if (c != NULL)
        c->ps_rule = 0;
    return r;
}

/* An answer (whole packets) whose column definitions follow its count:
 * always, but for a client with MARIADB_CLIENT_CACHE_METADATA whose count
 * says they do not. */
static bool defs_follow(const struct session *s, const uint8_t *p, size_t n)
{
    if (!(s->who.ext_caps & MARIADB_CLIENT_CACHE_METADATA))
        return true;
    uint32_t len = mysql_hdr_len(p);
    return n < MYSQL_HEADER_SIZE + len || len < 2 || p[MYSQL_HEADER_SIZE + len - 1] != 0;
}

/* The rule an execution of `st` falls under now, NULL when none. */
static const struct config_rule *exec_rule(const struct session *s, const struct pstmt *st)
{
    if (st->cache_rule == 0 || st->cache_cfg != s->cfg->load_id || st->cache_rule > s->cfg->n_rules)
        return NULL; /* none, or matched under another config: not cached */
    const struct config_rule *rule = &s->cfg->rules[st->cache_rule - 1];
    return rule->action == RULE_ACTION_CACHE ? rule : NULL;
}

bool session_cache_execute(struct session *s, struct pstmt *st, const uint8_t *p, uint32_t len,
                           uint32_t avail, const struct mysql_stmt_exec *ex)
{
    if (!cache_on())
        return false;
    /* what cannot write, as session_cache_rules says of a text read */
    s->query.cache_read = !st->writes && !st->pin && !st->uvars_opaque;
    struct session_cache *c = sc_get(s);
    const struct config_rule *rule = exec_rule(s, st);
    /* whole here; no cursor, long data, one-off text or unknown types */
    if (c == NULL || c->armed || c->tainted || rule == NULL || ex == NULL || avail < len ||
        ex->flags != 0 || st->ld_idx >= 0 || st->sql == NULL || st->home_only ||
        st->calls != NULL || (st->n_params > 0 && !ex->new_params_bound && st->types == NULL) ||
        !session_eligible(s))
        return false;
    c->spends = c->dirty_next;
    if (conn_refused(c, s))
        return false;
    /* the text with the values in: its tables and point-lookup keys */
    char *text = NULL, why[160];
    size_t tlen = 0;
    if (ps_text_interpolate(st->sql, st->sql_len, st->lex_opts, p, len, st->n_params, st->types,
                            state_client_charset(s), &text, &tlen, why, sizeof(why)) != HY_OK)
        return false;
    uint8_t meta[1 + COLMETA_SIG_LEN];
    struct key_exec kx = {.env = st->env_key};
    if (s->who.ext_caps & MARIADB_CLIENT_CACHE_METADATA) {
        meta[0] = st->meta.known;
        memcpy(meta + 1, st->meta.sig, COLMETA_SIG_LEN);
        kx.meta = meta;
        kx.n_meta = st->meta.known ? sizeof(meta) : 1;
    }
    if (st->n_params > 0) {
        kx.types = ex->new_params_bound ? ex->types : st->types;
        kx.n_types = 2u * st->n_params;
        kx.nulls = ex->null_bitmap;
        kx.n_nulls = ex->null_len;
        kx.values = p + ex->head_len;
        kx.n_values = len - ex->head_len;
    }
    /* the server runs it in the schema of its PREPARE */
    bool keyed = cache_sql_tables(text, tlen, st->lex_opts, st->db, &c->tables) == CACHE_SQL_OK &&
                 state_key(s, c) && key_make(s, c, st->db, text, tlen, &kx);
    free(text);
    /* the rule's `tables`, left by its PREPARE to each execution (rules.h) */
    if (!keyed || (rule->tables.n > 0 && !rules_tables_cover(&rule->tables, &c->tables)))
        return false;
    /* types bound now hold for the next executions, a hit's too (they go
     * to a backend that lacks them then: session_ps.c's ps_types_need) */
    if (st->n_params > 0 && ex->new_params_bound && pstmt_types_remember(st, ex->types) != HY_OK)
        return false; /* out of memory: the EXECUTE's own path says so */
    uint32_t rule_idx = st->cache_rule - 1;
    cache_answer_put(c->hit);
    c->hit = NULL;
    struct cache_gate g = rule_gate(rule);
    if (cache_get(c->key, c->key_len, s->query.cache_wrote_at, rule_idx, &g, primary_name(s),
                  &c->hit)) {
        /* a hit that carries its definitions: the client holds those now
         * (not known here: the next answer sends them again); and as on
         * the server, an execution closes the statement's cursor */
        if (defs_follow(s, c->hit->data, c->hit->len))
            st->meta.known = false;
        st->cursor_idx = -1;
        return true;
    }
    (void)fill_arm(c, s, rule, rule_idx);
    return false;
}

void session_cache_packet(struct session *s, const uint8_t *pl, uint32_t len, bool whole)
{
    if (!session_cache_capturing(s))
        return;
    struct session_cache *c = s->query.cache;
    size_t n = MYSQL_HEADER_SIZE + (size_t)len;
    size_t at = c->ans.len;
    if (whole)
        textbuf_append(&c->ans, pl - MYSQL_HEADER_SIZE, n); /* the header is before the payload */
    if (!whole || c->ans.overflow) { /* past max_result_bytes, or out of memory */
        c->too_big = true;           /* given up: the answer passes on as always */
        return;
    }
    c->ans.data[at + 3] =
        (char)s->io.rdown.seq; /* as the client gets it: lowered past left-out ones */
}

bool session_cache_capturing(const struct session *s)
{
    const struct session_cache *c = s->query.cache;
    return c != NULL && c->armed && !c->too_big && s->query.internal == NULL;
}

/* The answer kept is the one this client was sent: whole packets whose
 * sequence ids run from 1 with no gap (a packet the client got that the
 * fill missed, or one it kept that the client did not get, breaks that). */
static bool answer_framed(const uint8_t *p, size_t n)
{
    uint8_t seq = 1;
    size_t at = 0;
    while (at < n) {
        if (n - at < MYSQL_HEADER_SIZE || p[at + 3] != seq)
            return false;
        at += MYSQL_HEADER_SIZE + mysql_hdr_len(p + at);
        seq++;
    }
    return at == n && n > 0;
}

/* Whether the command whose answer was parsed is noted as a write now.
 * Its rows are seen by no other session while its transaction stays open,
 * and this session is served no hit meanwhile (session_eligible): a DML
 * statement whose answer says a transaction is still open is noted when a
 * later command's answer says none is (its COMMIT, a SET autocommit = 1,
 * a DDL, an error), or at a BEGIN, which commits it; so a transaction is
 * one note, not one per statement (each of which would have the reader
 * read the primary's position). Anything else that may write, now. */
static bool write_now(struct session *s)
{
    struct session_cache *c = s->query.cache;
    const struct mysql_resp *rs = &s->io.resp;
    bool open = rs->status_seen && rs->err_code == 0 && (rs->status & SERVER_STATUS_IN_TRANS) != 0;
    bool wrote = c != NULL && c->trx_wrote;
    if (s->query.cache_read)
        return wrote && !open;
    if (c != NULL && open && c->defer == DEFER_DML) {
        c->trx_wrote = true;
        return false;
    }
    if (c != NULL && open && c->defer == DEFER_BEGIN)
        return wrote;
    return true;
}

static void write_note(struct session *s)
{
    struct session_cache *c = s->query.cache;
    s->query.cache_wrote_at = cache_clock();
    /* sent when the command went to its backend (session_cache_begin);
     * not known: since ever (every fill stored meanwhile goes) */
    double sent = c != NULL ? c->began : 0;
    if (c != NULL)
        c->trx_wrote = false;
    cache_note_write(sent, s->query.cache_wrote_at);
    if (c != NULL && (c->unlogged || c->unlogged_stmt))
        cache_drop_unlogged(); /* no binary log shows it */
    if (c != NULL)
        c->unlogged_stmt = false;
}

void session_cache_begin(struct session *s)
{
    struct session_cache *c = s->query.cache;
    if (c != NULL && cache_on())
        c->began = cache_clock();
}

void session_cache_answered(struct session *s)
{
    if (s->query.cache_noted || !cache_on())
        return;
    if (write_now(s)) {
        write_note(s);
        s->query.cache_noted = true;
    }
}

void session_cache_done(struct session *s)
{
    bool noted = s->query.cache_noted;
    s->query.cache_noted = false;
    if (!cache_on())
        return;
    if (!noted && write_now(s)) /* may have written: read-your-writes */
        write_note(s);
    struct session_cache *c = s->query.cache;
    if (c != NULL) {
        binlog_set_answered(c, &s->io.resp);
        c->ps_rule = 0; /* the PREPARE's, taken or not */
        c->defer = DEFER_NO;
        if (c->spends && s->io.resp.err_code == 0)
            c->dirty_next = false;
        c->spends = false;
    }
    s->query.cache_read = false;
    if (c == NULL || !c->armed)
        return;
    const struct mysql_resp *rs = &s->io.resp;
    bool keep = !c->too_big && rs->err_code == 0 && rs->warnings == 0 && rs->status_seen &&
                rs->results == 1 &&
                !(rs->status & (SERVER_MORE_RESULTS_EXISTS | SERVER_STATUS_IN_TRANS |
                                SERVER_SESSION_STATE_CHANGED)) &&
                (rs->status & SERVER_STATUS_AUTOCOMMIT) && s->conns.cur != NULL &&
                s->conns.cur->idx == s->route.primary && !s->io.resp_broken &&
                answer_framed((const uint8_t *)c->ans.data, c->ans.len);
    if (keep && cache_dirty_default(s->conns.cur->defaults_at)) { /* seen since the lookup */
        cache_fill_dirty();
        keep = false;
    }
    if (keep && cache_old_defaults(s->conns.cur->defaults_at)) {
        cache_refused_defaults();
        keep = false;
    }
    if (keep && cache_old_privileges(s->conns.cur->born))
        keep = false;
    if (keep) {
        (void)cache_put(&c->ticket, c->key, c->key_len, (const uint8_t *)c->ans.data, c->ans.len,
                        &c->tables, c->ttl_ms, c->rule);
    } else {
        cache_fill_abandoned();
    }
    fill_disarm(c);
}

void session_cache_config(struct session *s, const struct config *from, const struct config *to)
{
    if (config_root_c(from)->cache.enabled || !config_root_c(to)->cache.enabled)
        return;
    struct session_cache *c = sc_get(s);
    if (c != NULL)
        c->tainted = true;
    else
        session_mark_closing(s, END_NOMEM); /* untainted, it could be served wrong */
}

void session_cache_abandon(struct session *s)
{
    struct session_cache *c = s->query.cache;
    if (c != NULL && c->trx_wrote && cache_on())
        write_note(s); /* its transaction's end is not known: it may have committed */
    if (c != NULL) {
        c->defer = DEFER_NO;
        c->set_pending = false; /* no answer: unlogged if either may be */
    }
    if (c != NULL && c->armed) {
        cache_fill_abandoned();
        fill_disarm(c);
    }
}

/* The rows of a stored answer (one result set: a column count, its
 * definitions, an EOF unless DEPRECATE_EOF, the rows, the EOF or OK that
 * ends it); false when it is not of that form. A row of 16 MiB or more
 * runs on in the packets after a full one. */
static bool answer_rows(const uint8_t *p, size_t n, bool deprecate_eof, uint64_t *rows)
{
    size_t off = 0;
    uint64_t k = 0, ncols = 0, defs = 0;
    bool cont = false;
    *rows = 0;
    while (off + MYSQL_HEADER_SIZE <= n) {
        uint32_t len = (uint32_t)(p[off] | p[off + 1] << 8 | p[off + 2] << 16);
        const uint8_t *pl = p + off + MYSQL_HEADER_SIZE;
        off += MYSQL_HEADER_SIZE + len;
        if (off > n || len == 0)
            return false;
        bool was_cont = cont;
        cont = len == MYSQL_MAX_PAYLOAD;
        if (k++ == 0) {
            struct mysql_rd rd;
            mysql_rd_init(&rd, pl, len);
            ncols = mysql_rd_lenenc(&rd);
            defs = ncols + (deprecate_eof ? 0 : 1);
            if (rd.bad || ncols == 0)
                return false;
        } else if (defs > 0) {
            defs--;
        } else if (!was_cont && mysql_is_eof(pl[0], len, deprecate_eof)) {
            return off == n;
        } else if (!was_cont) {
            ++*rows;
        }
    }
    return false;
}

void session_cache_answer(struct session *s)
{
    struct session_cache *c = s->query.cache;
    if (c == NULL || c->hit == NULL)
        return;
    /* FOUND_ROWS() and ROW_COUNT() after it are its own (its rows; -1),
     * not those of the statement before it on the backend connection:
     * halyard answers them (session_pool_prev_values) */
    uint64_t rows;
    if (answer_rows(c->hit->data, c->hit->len, (s->who.caps & CLIENT_DEPRECATE_EOF) != 0, &rows))
        session_pool_values_set(s, true, rows, false);
    else
        session_pool_values_set(s, false, 0, true); /* not known: -1, FOUND_ROWS() kept */
    /* and the diagnostics area is the hit's: empty (it used a table and
     * raised nothing), not the connection's of an earlier statement */
    session_diag_drop(s);
    session_pool_diag_replaced(s, true);
    /* from the store's own bytes: what the socket does not take at once
     * is copied to the client's output buffer, as any local answer */
    send_local(s, c->hit->data, c->hit->len);
    cache_answer_put(c->hit);
    c->hit = NULL;
}
