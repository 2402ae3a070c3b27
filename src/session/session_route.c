/*
 * session_route.c: where a session's statement runs, part of the session module
 * (session_int.h): the session's view of its backends for router.c's
 * route_decide(), what a statement tells about the session (transactions,
 * sql_mode, diagnostics, secrets for the logs), the health of its backends,
 * the causal wait, and session_route(), the statement's backend or its refusal.
 */
#include <ctype.h>
#include <stdarg.h>
#include <strings.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "halyard/cache/cache.h"
#include "halyard/core/audit.h"
#include "halyard/core/clock.h"
#include "halyard/core/text.h"
#include "halyard/protocol/auth.h"
#include "halyard/cluster/backend.h"
#include "halyard/cluster/global_pos.h"
#include "halyard/config/group.h"
#include "halyard/sql/classify.h"
#include "halyard/sql/classify_memo.h"
#include "halyard/sql/lexer.h"
#include "halyard/protocol/compress.h"
#include "halyard/limits/limits.h"
#include "halyard/sql/digest.h"
#include "halyard/route/firewall.h"
#include "halyard/session/guard.h"
#include "halyard/route/scatter_plan.h"
#include "halyard/protocol/proxyproto.h"
#include "halyard/session/registry.h"
#include "halyard/protocol/relay.h"
#include "halyard/route/router.h"
#include "halyard/pool/server.h"
#include "halyard/session/session.h"
#include "halyard/cluster/users.h"
#include "halyard/session/session_err.h"
#include "halyard/core/stats.h"
#include "halyard/protocol/tls.h"
#include "halyard/sql/track.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_kill.h"
#include "session_begin.h"
#include "session_cache.h"
#include "session_diag.h"
#include "session_fanout.h"
#include "session_inflight.h"
#include "session_ps.h"
#include "session_pool.h"
#include "session_replay.h"
#include "session_shard.h"
#include "session_state.h"
#include "session_sysview.h"
#include "session_track.h"

/* ---- routing ------------------------------------------------------------ */

static _Thread_local uint32_t replica_rr; /* per worker: spreads sessions too */

/* Sessions of this process that hold LOCK TABLES on their primary: while
 * there are any, the reads of the others run on the primary, where they
 * wait on those locks as they would on one server (route_read()). */
static _Atomic uint32_t sessions_locking;

void session_tables_locked(struct session *s, bool locked)
{
    if (locked == s->route.tables_locked)
        return;
    s->route.tables_locked = locked;
    if (locked)
        atomic_fetch_add_explicit(&sessions_locking, 1, memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&sessions_locking, 1, memory_order_relaxed);
}

/* COM_CHANGE_USER made a new session on the backends (session_login.c):
 * no pin, no table locks, no transaction. */
void route_renew(struct session *s)
{
    s->route.pinned = false;
    session_tables_locked(s, false);
    s->route.status = SERVER_STATUS_AUTOCOMMIT;
    s->route.ro_idx = -1;
}

/* Index of the primary for `cfg` now: the monitor's, else the config's. */
uint16_t primary_now(const struct config *cfg, uint32_t spread, int current)
{
    int p = cfg->cluster == CLUSTER_GALERA && cfg->max_writers > 1
                ? backend_writer_index(cfg, spread, current)
                : backend_primary_index(cfg);
    if (p < 0)
        p = backend_primary_any_index(cfg);
    return p >= 0 ? (uint16_t)p : (uint16_t)(config_primary(cfg) - cfg->backends);
}

/* The session moves to view `to` (session_view_move, session_reload.c),
 * s->cfg still the old one: its primary looked up in `to`, the backends of
 * its previous statement, its diagnostics and its last write named by
 * their index there (the primary when gone; a write's -2), and the rule
 * that blocked its last statement, the old config's, forgotten. */
void route_view_moved(struct session *s, const struct config *to)
{
    int last = config_backend_match(to, &s->cfg->backends[s->route.last_idx]);
    int diag = config_backend_match(to, &s->cfg->backends[s->route.diag_idx]);
    int wrote = s->route.write_idx; /* -1 stays -1, -2 stays -2 */
    if (wrote >= 0 && (wrote = config_backend_match(to, &s->cfg->backends[wrote])) < 0)
        wrote = -2; /* gone from the new config */
    s->route.topo_gen = backend_generation();
    s->route.primary = primary_now(to, s->id, -1);
    s->route.last_idx = last >= 0 ? (uint16_t)last : s->route.primary;
    s->route.diag_idx = diag >= 0 ? (uint16_t)diag : s->route.primary;
    s->route.write_idx = wrote;
    s->query.block_rule = NULL;
}

bool session_in_trans(const struct session *s)
{
    return (s->route.status & SERVER_STATUS_IN_TRANS) ||
           !(s->route.status & SERVER_STATUS_AUTOCOMMIT) || session_groups(s)->xa != NULL;
}

/* A transaction halyard began or ended itself (a BEGIN it answered, one
 * across groups, one lost or replayed), or whose end it found: the
 * status's IN_TRANS says so until the primary's next answer. */
void route_trx_opened(struct session *s)
{
    s->route.status |= SERVER_STATUS_IN_TRANS;
}

void route_trx_closed(struct session *s)
{
    s->route.status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
}

/* The status of the primary's answer to a command halyard ran itself (in
 * s->io.resp), when it carried one, is the session's. */
void route_status_follow(struct session *s)
{
    if (s->io.resp.status_seen)
        s->route.status = s->io.resp.status;
}

/* The transaction lost with a backend (route.trx_lost, session_trx_lost):
 * the client was told, or the caller takes the backend's name (heap) to
 * tell it; none is lost after. */
void route_trx_lost_told(struct session *s)
{
    free(s->route.trx_lost);
    s->route.trx_lost = NULL;
}

char *route_trx_lost_take(struct session *s)
{
    char *name = s->route.trx_lost;
    s->route.trx_lost = NULL;
    return name;
}

/* What stays of a transaction lost (enum trx_nontrx), for the 1927 that
 * says so (session_reply.c). */
void route_trx_lost_keeps(struct session *s, uint8_t keeps)
{
    s->route.trx_lost_keeps = keeps;
}

/* The backends as this session sees them, for route_decide(): one per
 * worker, grown to the largest config seen. */
static _Thread_local struct {
    struct route_backend *be;
    char (*why)[sizeof(((struct backend_info *)0)->why)];
    uint32_t cap;
} rview;

void session_thread_exit(void)
{
    free(rview.be);
    free(rview.why);
    rview.be = NULL;
    rview.why = NULL;
    rview.cap = 0;
    session_hooks_thread_exit(); /* the features' (session_hooks.c) */
}

static struct global_pos *session_gpos(const struct session *s);
static bool view_of(struct session *s, const struct config *cfg, enum route_op op,
                    struct route_in *in);

/* Fill `in` with this session's view and its backends' for `op`; false
 * when out of memory. */
bool route_view(struct session *s, enum route_op op, struct route_in *in)
{
    return view_of(s, s->cfg, op, in);
}

bool route_view_group(struct session *s, const struct config *view, struct route_in *in)
{
    if (!view_of(s, view, ROUTE_STATEMENT, in))
        return false;
    int p = backend_primary_index(view);
    in->primary = p >= 0 ? (uint32_t)p : 0;
    in->in_trans = false;
    in->pinned = false;
    in->uvars_opaque = false;
    in->ro_idx = -1;
    in->last_idx = in->primary;
    in->diag_idx = in->primary;
    in->exclude = -1;
    in->sticky = false;
    in->fell_back = false;
    for (uint32_t i = 0; i < view->n_backends; i++)
        rview.be[i].conn = false; /* a fan-out opens its own */
    return true;
}

/* cluster = galera: the session's primary `rt` is not the writer by role
 * (after the monitor's first decision): no node writes now (the writer
 * hands the role over once its transactions have ended, monitor_roles.c
 * galera_handover), and a write waits for the next writer rather than go
 * to a node that is not one. view_of and gate_open ask it alike. */
static bool primary_not_writer(const struct config *cfg, struct backend_rt *rt)
{
    return cfg->cluster == CLUSTER_GALERA && backend_role(rt) != ROLE_PRIMARY &&
           atomic_load(&rt->role_seen);
}

/* ---- replicas found behind (sess_route.behind) ----------------------- */

/* A read's wait on replica `bc` ended without the position (causal or
 * global): the session's reads take other replicas while one can serve
 * (route_pick_replica), until behind_now() lets it go. Without it every
 * read after a write may pick the lagging replica again and wait the whole
 * causal_timeout_ms there first. `need`: the group's commits the read had
 * to see (0: unknown). A full list drops its oldest entry. A replica
 * without health checks (no rt) is not noted: no check would ever let its
 * entry go, and the route view does not look it up. */
static void behind_note(struct session *s, const struct bconn *bc, uint64_t need)
{
    struct sess_route *r = &s->route;
    if (bc->be->rt == NULL)
        return;
    uint8_t i = 0;
    while (i < r->n_behind && r->behind[i].rt != bc->be->rt)
        i++;
    if (i == SESS_BEHIND_MAX) {
        memmove(&r->behind[0], &r->behind[1], (SESS_BEHIND_MAX - 1) * sizeof(r->behind[0]));
        i = SESS_BEHIND_MAX - 1;
    } else if (i == r->n_behind) {
        r->n_behind++;
    }
    r->behind[i] = (struct sess_behind){.rt = bc->be->rt, .at_us = hy_now_us(), .need = need};
}

/* Is `rt` still behind for this session's reads? Not once a check of it
 * began after the miss and (when the group counts commits) saw it hold the
 * commits the read needed: the entry is dropped then. */
static bool behind_now(struct session *s, struct backend_rt *rt)
{
    struct sess_route *r = &s->route;
    for (uint8_t i = 0; i < r->n_behind; i++) {
        if (r->behind[i].rt != rt)
            continue;
        struct global_pos *g = session_gpos(s);
        if (atomic_load(&rt->ok_check_began_us) <= r->behind[i].at_us ||
            (g != NULL && r->behind[i].need > 0 && global_pos_applied(g, rt) < r->behind[i].need))
            return true;
        r->behind[i] = r->behind[--r->n_behind];
        return false;
    }
    return false;
}

static bool view_of(struct session *s, const struct config *cfg, enum route_op op,
                    struct route_in *in)
{
    if (cfg->n_backends > rview.cap) {
        struct route_backend *be = realloc(rview.be, cfg->n_backends * sizeof(*be));
        if (be != NULL)
            rview.be = be;
        void *why = realloc(rview.why, cfg->n_backends * sizeof(rview.why[0]));
        if (why != NULL)
            rview.why = why;
        if (be == NULL || why == NULL)
            return false;
        rview.cap = cfg->n_backends;
    }
    memset(in, 0, sizeof(*in));
    in->op = op;
    in->primary = s->route.primary;
    in->in_trans = session_in_trans(s);
    in->pinned = s->route.pinned;
    in->locks_elsewhere = atomic_load_explicit(&sessions_locking, memory_order_relaxed) >
                          (s->route.tables_locked ? 1u : 0u);
    in->uvars_opaque = s->route.uvars_opaque;
    in->ro_idx = s->route.ro_idx;
    in->consistency = s->route.consistency;
    in->now = ev_now(s->w->loop);
    in->last_write = s->route.last_write;
    in->strong_window_ms = (uint32_t)s->cfg->strong_window_ms;
    in->read_write_split = s->cfg->read_write_split;
    in->pooled = s->cfg->pool_transaction;
    in->zone_reads = s->cfg->zone_reads;
    in->replica_fallback_error = s->cfg->replica_fallback_error;
    in->last_idx = s->route.last_idx;
    in->diag_idx = s->route.diag_idx;
    in->exclude = s->route.retried ? s->route.retry_exclude : -1;
    in->sticky = s->route.route_sticky;
    in->fell_back = s->route.fell_back;
    in->be = rview.be;
    in->n_be = cfg->n_backends;
    in->rr = replica_rr;
    for (uint32_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *be = &cfg->backends[i];
        struct backend_rt *rt = be->rt;
        struct route_backend *b = &rview.be[i];
        *b = (struct route_backend){
            .name = be->name,
            .role = be->role,
            .state = BACKEND_ONLINE,
            .why = "",
            .weight = (uint32_t)be->weight,
            .monitored = rt != NULL,
            .usable = true,
            .usable_in_trx = true,
            .conn = cfg == s->cfg && s->conns.bc[i] != NULL,
            .conn_room = true,
            .far = cfg->zone[0] != '\0' && be->zone[0] != '\0' && strcmp(be->zone, cfg->zone) != 0,
        };
        if (rt == NULL)
            continue;
        b->role = backend_role(rt);
        b->state = backend_state(rt);
        b->usable = b->state == BACKEND_ONLINE;
        /* A transaction open on a LAGGING server goes on: lag, a broken
         * replication or a switchover's pause (the old primary a fenced
         * replica for up to 2 s, fx_pause_writes) leave it reachable. A
         * LAGGING Galera node is not Synced and may not commit. */
        b->usable_in_trx = b->state == BACKEND_ONLINE || b->state == BACKEND_DRAINING ||
                           (b->state == BACKEND_LAGGING && cfg->cluster != CLUSTER_GALERA);
        b->fenced = atomic_load(&rt->fenced);
        b->reads_too = atomic_load(&rt->reads_too);
        if (atomic_load_explicit(&rt->unchecked, memory_order_relaxed)) {
            /* no check has passed: its role, read_only and reachability
             * are unknown. No read, no write (one waits for the check,
             * primary_wait_start); a transaction open there goes on. */
            b->unchecked = true;
            b->usable = false;
            if (b->role != ROLE_PRIMARY)
                b->usable_in_trx = false;
        }
        if (i == in->primary && primary_not_writer(cfg, rt))
            b->usable = false;
        if (backend_reads_refused(rt)) {
            /* a read was refused by its wsrep state (backend_refuse_reads):
             * the writer keeps its writes, any other node is out */
            b->reads_too = false;
            if (b->role != ROLE_PRIMARY)
                b->usable = b->usable_in_trx = false;
        }
        if (s->route.n_behind > 0 && cfg == s->cfg) {
            b->behind = behind_now(s, rt);
            in->any_behind |= b->behind;
        }
        b->outstanding = atomic_load_explicit(&rt->outstanding, memory_order_relaxed);
        b->rtt_ms = (atomic_load_explicit(&rt->rtt_us, memory_order_relaxed) + 500) / 1000;
        b->conn_room =
            be->max_connections == 0 ||
            atomic_load_explicit(&rt->conns, memory_order_relaxed) < (uint64_t)be->max_connections;
        if (op == ROUTE_GATE && !b->usable) {
            struct backend_info info;
            backend_info_get(rt, &info);
            memcpy(rview.why[i], info.why, sizeof(rview.why[i]));
            rview.why[i][sizeof(rview.why[i]) - 1] = '\0';
            b->why = rview.why[i];
        }
    }
    return true;
}

/* route_decide() over `in`: the worker's cursor follows. */
void session_decide(const struct route_in *in, struct route_out *out)
{
    route_decide(in, out);
    replica_rr = out->rr;
}

/* A COM_QUERY (or, `prepared`, COM_STMT_PREPARE) whole at p that runs a
 * KILL halyard cannot map to the server's ids (classify_kill_refusal) is
 * refused with 1235 and taken from the client's stream: true when it was
 * (ROUTE_ANSWERED). Its id never reaches the server, where it names no
 * thread or another client's. Only a text with the word KILL is lexed. */
static bool kill_unmapped(struct session *s, const uint8_t *p, uint32_t len, bool fits,
                          bool prepared)
{
    const char *sql = (const char *)p + 1, *why;
    if (!fits || !hy_text_mentions(sql, len - 1, "KILL") ||
        (why = classify_kill_refusal(sql, len - 1, s->route.lex_opts, prepared)) == NULL)
        return false;
    consume_packet(s, len);
    command_abandon(s); /* what session_route() prepared for it */
    session_err(s, 1, SERR_KILL_NOT_MAPPED, why);
    return true;
}

/* What text_words() finds in a statement's text, anywhere, in any case. */
#define TW_CALC_FOUND_ROWS 0x1u /* SQL_CALC_FOUND_ROWS */
/* A LIMIT with an offset (`LIMIT 2, 1`, `LIMIT 1 OFFSET 2`): FOUND_ROWS()
 * after it counts the rows skipped too (MDEV-9390), which the rows sent do
 * not tell, so the connection is kept for it like SQL_CALC_FOUND_ROWS: a
 * comma or OFFSET anywhere after the first LIMIT (a string that only looks
 * like one keeps a connection one statement longer, never wrong). */
#define TW_LIMIT_OFFSET 0x2u
#define TW_STATE_TABLE  0x4u /* a table show_status() looks for */

/* Whether `word` (upper case letters and '_', wl bytes) starts p[0..n),
 * in any case. */
static bool word_at(const char *p, size_t n, const char *word, size_t wl)
{
    if (n < wl)
        return false;
    for (size_t k = 0; k < wl; k++) {
        char c = p[k];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - ('a' - 'A'));
        if (c != word[k])
            return false;
    }
    return true;
}

/* A word text_words() looks for, found by its letter L or O at `at`
 * (every one of them has one; LIMIT and OFFSET at 0, since their order
 * matters). */
struct tw_word {
    const char *word;
    uint8_t len, at, flag;
};

static const struct tw_word tw_l[] = {
    {"SQL_CALC_FOUND_ROWS", 19, 2, TW_CALC_FOUND_ROWS},
    {"GLOBAL_STATUS", 13, 1, TW_STATE_TABLE},
    {"PROCESSLIST", 11, 7, TW_STATE_TABLE},
    {"INNODB_LOCK", 11, 7, TW_STATE_TABLE},
    {"IS_USED_LOCK", 12, 8, TW_STATE_TABLE},
    {"METADATA_LOCK_INFO", 18, 9, TW_STATE_TABLE},
};

static const struct tw_word tw_o[] = {
    {"SESSION_STATUS", 14, 5, TW_STATE_TABLE},
    {"PERFORMANCE_SCHEMA", 18, 4, TW_STATE_TABLE},
    {"INNODB_TRX", 10, 3, TW_STATE_TABLE},
};

/* The flags of the words of ws[0..n) that p[i], an L or an O, is part of. */
static uint32_t tw_at(const char *p, size_t n, size_t i, const struct tw_word *ws, size_t nw)
{
    uint32_t found = 0;
    for (size_t k = 0; k < nw; k++) {
        size_t at = i - ws[k].at; /* where it would begin: its first letter first */
        if (i >= ws[k].at && ((unsigned char)p[at] & 0xDF) == (unsigned char)ws[k].word[0] &&
            word_at(p + at, n - at, ws[k].word, ws[k].len))
            found |= ws[k].flag;
    }
    return found;
}

/* The TW_* words of the text, in one pass (every statement is read for
 * them: one pass, not one per word), 8 bytes at a time for an L or an O,
 * which each word has; a comma after the first LIMIT by memchr. */
static uint32_t text_words(const char *p, size_t n)
{
    uint32_t found = 0;
    size_t limit = SIZE_MAX; /* just past the first LIMIT */
    for (size_t i = 0; (i = hy_find_letters(p, n, i, 'l', 'o')) < n; i++) {
        if ((p[i] | 0x20) == 'l') {
            if (limit == SIZE_MAX && word_at(p + i, n - i, "LIMIT", 5))
                limit = i + 5;
            found |= tw_at(p, n, i, tw_l, HY_ARRAY_SIZE(tw_l));
        } else {
            if (i >= limit && word_at(p + i, n - i, "OFFSET", 6))
                found |= TW_LIMIT_OFFSET;
            found |= tw_at(p, n, i, tw_o, HY_ARRAY_SIZE(tw_o));
        }
    }
    if (limit < n && memchr(p + limit, ',', n - limit) != NULL)
        found |= TW_LIMIT_OFFSET;
    return found;
}

/* A read of the server instance's own run-time state, which only the
 * primary's answer fits, since that is where the session's writes, locks,
 * transactions and prepared statements run: SHOW [SESSION|GLOBAL] STATUS,
 * SHOW PROFILE(S), SHOW [FULL] PROCESSLIST, SHOW ENGINE, SHOW OPEN TABLES,
 * and a read that names the process list, the status variables
 * (SESSION_STATUS, GLOBAL_STATUS: as SHOW STATUS), InnoDB's transactions
 * and locks, the metadata locks, performance_schema or the holder of a
 * user lock (IS_USED_LOCK(), a thread id of the server's) (found by name
 * anywhere in the text: a string that only mentions one sends a read to
 * the primary, which is never wrong). `words`: text_words() of the text. */
static bool show_status_words(const char *sql, size_t len, uint32_t words)
{
    /* A text that begins with a letter other than S, or with S and a
     * letter other than H (SELECT), is no SHOW: there is no space or
     * comment to skip, and the word is not SHOW */
    const unsigned char c0 = len > 0 ? (unsigned char)(sql[0] | 0x20) : 0,
                        c1 = len > 1 ? (unsigned char)(sql[1] | 0x20) : 0;
    if (c0 >= 'a' && c0 <= 'z' && (c0 != 's' || (c1 >= 'a' && c1 <= 'z' && c1 != 'h')))
        return (words & TW_STATE_TABLE) != 0;
    const char *p = lex_skip_space_comments(sql, sql + len), *end = sql + len;
    if (lex_match_word(&p, end, "SHOW")) {
        (void)(lex_match_word(&p, end, "SESSION") || lex_match_word(&p, end, "GLOBAL") ||
               lex_match_word(&p, end, "LOCAL") || lex_match_word(&p, end, "FULL"));
        if (lex_match_word(&p, end, "STATUS") || lex_match_word(&p, end, "PROFILE") ||
            lex_match_word(&p, end, "PROFILES") || lex_match_word(&p, end, "PROCESSLIST") ||
            lex_match_word(&p, end, "ENGINE") || lex_match_word(&p, end, "OPEN"))
            return true;
    }
    return (words & TW_STATE_TABLE) != 0;
}

bool show_status(const char *sql, size_t len)
{
    return show_status_words(sql, len, text_words(sql, len));
}

/* The query log is on: keep the statement's text (its first
 * QUERY_LOG_TEXT_MAX bytes) for the line command_done writes. */
/* classify_find_ident() callback: a word that introduces a password. */
static bool secret_word(void *ctx, const char *name, size_t len)
{
    (void)ctx;
    static const char *const words[] = {"PASSWORD", "IDENTIFIED", "MASTER_PASSWORD",
                                        "OLD_PASSWORD"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(words); i++) {
        if (len == strlen(words[i]) && strncasecmp(name, words[i], len) == 0)
            return true;
    }
    return false;
}

/* Whether a statement may carry a password in a literal (IDENTIFIED BY,
 * PASSWORD(), SET PASSWORD, MASTER_PASSWORD): a cheap scan for the letters
 * first, the lexer only then. */
/* The lexer options every classification, digest, rule and firewall check
 * of this session uses, from the server's own word: a backend answers with
 * SERVER_STATUS_NO_BACKSLASH_ESCAPES set while the session's sql_mode has
 * it, and the session's sql_mode is the same on every backend it uses (the
 * session state is brought there), so the last answer tells. Without it
 * `SELECT 'a\'; DELETE FROM t; -- '` lexes as one read. The one place
 * s->route.lex_opts changes. */
void session_lex_follow(struct session *s, uint16_t status)
{
    /* ANSI_QUOTES has no status flag: it comes from a sql_mode the backend
     * reported through session tracking (session_track_note()), and stays
     * as it was when the answer reported none. */
    if (s->route.tracked_lex >= 0) {
        s->route.lex_opts = (s->route.lex_opts & ~CLO_ANSI_QUOTES) |
                            ((unsigned)s->route.tracked_lex & CLO_ANSI_QUOTES);
        s->route.tracked_lex = -1;
    }
    if (status & SERVER_STATUS_NO_BACKSLASH_ESCAPES)
        s->route.lex_opts |= CLO_NO_BACKSLASH_ESCAPES;
    else
        s->route.lex_opts &= ~CLO_NO_BACKSLASH_ESCAPES;
}

/* The command in flight ended on s->conns.cur: the session's diagnostics area
 * is there now when the command raised a warning or an error, or used a
 * table (MariaDB cleared it before); a SELECT 1 elsewhere leaves it where
 * it was, as it leaves it on the server. The one place s->route.diag_idx changes
 * but for a reload's renumbering. */
void session_diag_follow(struct session *s)
{
    if (s->conns.cur != NULL && !s->query.cmd_diag &&
        (s->io.resp.err_code != 0 || s->io.resp.warnings > 0 || s->query.cmd_clears_diag)) {
        s->route.diag_idx = s->conns.cur->idx;
        session_diag_drop(s); /* replaced there */
        session_pool_diag_unhit(s);
    }
    s->query.cmd_clears_diag = false;
    s->query.cmd_diag = false;
}

/* The session's sql_mode is now one whose lexer options are `opts`
 * (classify_sql_mode): both modes are known. */
void session_lex_mode(struct session *s, unsigned opts)
{
    s->route.tracked_lex = (int)opts;
    session_lex_follow(s,
                       (opts & CLO_NO_BACKSLASH_ESCAPES) ? SERVER_STATUS_NO_BACKSLASH_ESCAPES : 0);
}

/* An OK of the answer in flight, whole in `pl`: remember the sql_mode its
 * session-state block reports, for session_lex_follow() at the end of the
 * statement (an answer to several statements carries one OK each; the last
 * report counts). The packet is forwarded as it is. */
void session_track_note(struct session *s, const uint8_t *pl, uint32_t len)
{
    struct mysql_ok ok;
    struct track_changes tc;

    if (mysql_ok_decode(pl, len, s->io.resp.caps, &ok) != HY_OK || ok.session_state == NULL)
        return;
    if (track_parse(ok.session_state, ok.session_state_len, &tc) != HY_OK)
        slog_debug(s, "malformed session-state block from the backend: read up to the fault");
    if (tc.sql_mode)
        s->route.tracked_lex = (int)tc.lex_opts;
}

bool may_hold_secret(const char *text, size_t len, unsigned lex_opts)
{
    bool seen = false;
    for (size_t i = 0; i + 5 <= len && !seen; i++) {
        char c = (char)(text[i] | 0x20);
        seen = (c == 'p' && strncasecmp(text + i, "passw", 5) == 0) ||
               (c == 'i' && strncasecmp(text + i, "ident", 5) == 0);
    }
    return seen && classify_find_ident(text, len, lex_opts, secret_word, NULL);
}

/* Keep the first bytes of the statement a command runs, for `show
 * sessions` (session_describe): a COM_QUERY's or COM_STMT_PREPARE's text,
 * an EXECUTE's prepared statement. `avail` bytes of the payload are there. */
void session_note_statement(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t avail)
{
    const char *text = NULL;
    size_t len = 0;
    if ((cmd == COM_QUERY || cmd == COM_STMT_PREPARE) && avail > 1) {
        text = (const char *)p + 1;
        len = avail - 1;
    } else if (cmd == COM_STMT_EXECUTE && avail >= 5) {
        const struct pstmt *ps = pstmt_find(&s->prep.map, mysql_stmt_id_get(p));
        if (ps != NULL && ps->sql != NULL) {
            text = ps->sql;
            len = ps->sql_len;
        }
    }
    s->query.stmt_len = (uint8_t)HY_MIN(len, sizeof(s->query.stmt));
    if (s->query.stmt_len > 0)
        memcpy(s->query.stmt, text, s->query.stmt_len);
}

void qlog_note(struct session *s, const char *text, size_t len, uint64_t digest)
{
    if (s->query.qlog_text == NULL && (s->query.qlog_text = malloc(QUERY_LOG_TEXT_MAX)) == NULL)
        return;
    if (may_hold_secret(text, len, s->route.lex_opts)) {
        /* No password in the log: the digest, literals as ?, stands for it. */
        size_t dlen = 0;
        (void)classify_digest(text, len, s->route.lex_opts, s->query.qlog_text, QUERY_LOG_TEXT_MAX,
                              &dlen);
        s->query.qlog_len = HY_MIN(dlen, (size_t)QUERY_LOG_TEXT_MAX - 1);
        s->query.qlog_digest = digest;
        s->query.qlog_pending = true;
        return;
    }
    s->query.qlog_len = HY_MIN(len, (size_t)QUERY_LOG_TEXT_MAX);
    memcpy(s->query.qlog_text, text, s->query.qlog_len);
    s->query.qlog_digest = digest;
    s->query.qlog_pending = true;
}

/* Close the connections of a pinned session that only the primary serves.
 * Its state as values is dropped: the primary connection has it. Pooled,
 * that connection may be in the pool still (or gone to another session):
 * the values bring the one it takes up to date, and it keeps it then. */
void session_pin(struct session *s, const char *why)
{
    if (!s->route.pinned)
        slog_debug(s, "pinned to the primary: %s", why);
    s->route.pinned = true;
    s->route.pin_why = why;
    session_hooks_pin(s); /* what the features keep to move the session goes */
    /* not the read-only transaction's: it goes on there (a user lock's
     * pin inside it, whose PREPARE ran on the primary: before 2026-11-29
     * the transaction ended unsaid, and XA START was taken) */
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        if (s->conns.bc[i] != NULL && i != s->route.primary && s->conns.bc[i] != s->conns.cur &&
            (int)i != s->route.ro_idx)
            bconn_close(s->conns.bc[i]);
    }
}

void session_uvars_known(struct session *s)
{
    s->route.uvars_opaque = false;
}

/* Act on a ROUTE_STATEMENT decision: the pin, the read-only transaction,
 * the causal check. The target, or ROUTE_REFUSE (no replica can serve the
 * read and replica_fallback = error). */
static uint32_t route_apply(struct session *s, const struct route_out *out)
{
    if (out->trx_end && out->close_idx >= 0) {
        /* A statement that commits the read-only transaction implicitly:
         * the transaction ends with the connection it ran on. */
        if (s->conns.bc[out->close_idx] != NULL)
            bconn_close(s->conns.bc[out->close_idx]);
        s->route.ro_idx = -1;
    }
    if (out->pin != NULL)
        session_pin(s, out->pin);
    if (out->uvars_opaque)
        s->route.uvars_opaque = true;
    s->route.route_sticky = out->sticky;
    s->route.causal_read = out->causal;
    s->route.global_read = out->global;
    if (out->causal || out->global)
        s->route.causal_check = true;
    if (out->verdict == ROUTE_RO_TRX_WRITE)
        return ROUTE_RO_WRITE;
    if (out->verdict != ROUTE_GO && out->verdict != ROUTE_RO_TRX_STATE &&
        out->verdict != ROUTE_RO_TRX_PREPARE)
        return ROUTE_REFUSE;
    if (out->ro_begin) {
        s->route.ro_idx = (int)out->target;
        s->query.cmd_ro_begin = true;
    }
    return out->target;
}

/* The session's consistency as user `u` logged in (session_login.c), or
 * as a reload to `cfg` left it (session_reload.c): the user's own, else
 * its listener's, else cfg's. */
void route_consistency_set(struct session *s, const struct config_user *u, const struct config *cfg)
{
    s->route.consistency = u->consistency != CONSISTENCY_DEFAULT ? u->consistency
                           : s->listener->consistency != CONSISTENCY_DEFAULT
                               ? s->listener->consistency
                               : cfg->consistency;
}

/* The consistency a statement's read is routed with: its hint's, else
 * the session's. */
static enum consistency stmt_consistency(const struct session *s, enum classify_consistency c)
{
    switch (c) {
    case CLC_EVENTUAL:
        return CONSISTENCY_EVENTUAL;
    case CLC_CAUSAL:
        return CONSISTENCY_CAUSAL;
    case CLC_STRONG:
        return CONSISTENCY_STRONG;
    case CLC_GLOBAL:
        return CONSISTENCY_GLOBAL;
    case CLC_NONE:
        break;
    }
    return s->route.consistency;
}

/* Where a prepared statement's read runs outside a transaction (see
 * route_decide). */
uint32_t route_read(struct session *s, enum classify_hint hint, const char *hint_backend,
                    enum classify_consistency cons, bool prev_stmt, bool show_status_stmt)
{
    struct route_in in;
    struct route_out out;
    if (!route_view(s, ROUTE_STATEMENT, &in)) {
        session_mark_closing(s, END_NOMEM);
        return s->route.primary;
    }
    in.kind = CL_READ;
    in.flags = (prev_stmt ? CLF_PREV_STMT : 0) | (s->query.cmd_diag ? CLF_DIAG : 0);
    in.hint = hint;
    in.hint_backend = hint_backend;
    in.consistency = stmt_consistency(s, cons);
    in.show_status = show_status_stmt;
    in.fits = true;
    session_decide(&in, &out);
    return route_apply(s, &out);
}

/* ---- health (backend.h) --------------------------------------------------- */

/* A Galera writer change that a transaction open on the old writer may
 * outlive: the old writer still takes a transaction's statements (ONLINE,
 * or DRAINING, which lets open transactions end), and Galera certifies a
 * commit from any node. A planned change (a node back online taking the
 * writer role by priority) then loses no transaction: new ones begin on
 * the new writer, this one ends where it began. */
static bool writer_outlived(const struct session *s, const struct config_backend *old)
{
    return s->cfg->cluster == CLUSTER_GALERA && (s->route.status & SERVER_STATUS_IN_TRANS) &&
           s->route.ro_idx < 0 && session_groups(s)->begin_sql[0] == '\0' && !s->route.pinned &&
           old->rt != NULL && backend_usable_in_trx(old->rt);
}

/* User variables halyard could not copy (uvars_opaque: a CALL, an EXECUTE,
 * a stored function, or a write whose OK reported a session state change,
 * which MariaDB reports for a trigger that sets one and for one that only
 * reads @@server_id alike) live on the connection to the primary only.
 * When the primary moved and that connection is still there (a
 * switchover), the session asks it how many user variables it holds
 * (information_schema.USER_VARIABLES, built into MariaDB since 10.2.6),
 * before it follows: none, and nothing is lost. One round trip per
 * session and move, on a connection about to be closed (its diagnostics
 * area no longer the session's): session_uvars_ask (session_state.c). */
struct bconn *session_uvars_due(struct session *s)
{
    uint64_t gen = backend_generation();
    if (!s->route.uvars_opaque || s->route.pinned || gen == s->route.topo_gen ||
        gen == s->route.uvars_asked_gen || s->state != SS_IDLE || s->query.internal != NULL)
        return NULL;
    struct bconn *bc = s->conns.bc[s->route.primary];
    if (bc == NULL || bc->state != BCONN_READY ||
        primary_now(s->cfg, s->id, s->route.primary) == s->route.primary ||
        writer_outlived(s, &s->cfg->backends[s->route.primary]))
        return NULL;
    s->route.uvars_asked_gen = gen;
    slog_debug(s, "the primary moved: counts its user variables on %s first", bc->be->name);
    return bc;
}

static void uvars_answered(struct session *s, bool ok, const char *value)
{
    if (ok && strcmp(value, "0") == 0) {
        slog_info(s, "no user variable on the old primary: the session follows the new one");
        s->route.uvars_opaque = false;
    }
}

/* The monitor moved the primary role: follow it. The connection to the old
 * primary is closed, so nothing of this session is written there again; a
 * transaction open on it is lost (the next statement says so), and a
 * session whose state only the old primary had (temporary tables, locks,
 * user variables it holds and halyard could not copy: session_uvars_ask)
 * cannot go on. But a transaction open on a Galera writer that lives on
 * ends there first (writer_outlived): the change is followed at the first
 * command after it. */
void session_follow_primary(struct session *s)
{
    uint64_t gen = backend_generation();
    if (gen == s->route.topo_gen)
        return;
    uint16_t p = primary_now(s->cfg, s->id, s->route.primary);
    const struct config_backend *old = &s->cfg->backends[s->route.primary];
    struct bconn *bc = s->conns.bc[s->route.primary];
    if (p != s->route.primary && bc != NULL && writer_outlived(s, old)) {
        if (!s->route.follow_deferred)
            slog_info(s, "writer %s -> %s: the transaction open on %s ends there first", old->name,
                      s->cfg->backends[p].name, old->name);
        s->route.follow_deferred = true;
        return; /* topo_gen kept: looked at again at the next command */
    }
    s->route.follow_deferred = false;
    s->route.topo_gen = gen;
    if (p == s->route.primary)
        return;
    slog_info(s, "primary %s -> %s", old->name, s->cfg->backends[p].name);
    if (bc != NULL) {
        /* As when that connection breaks (session_conn_lost): what only
         * it had, a pin's state or user variables set unseen, is gone. */
        if (s->route.pinned || s->route.uvars_opaque) {
            slog_warn(s, "its session state is on the old primary %s: closing", old->name);
            session_mark_closing(s, END_BACKEND_LOST);
            return;
        }
        if (session_in_trans(s) && s->route.ro_idx < 0 && session_groups(s)->begin_sql[0] == '\0')
            session_trx_lost(s, old->name);
        bconn_close(bc);
    }
    if (session_groups(s)->begin_sql[0] ==
        '\0') /* else not begun yet: it begins on the new primary */
        s->route.status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
    s->route.primary = p;
}

/* Health gate for a routed backend (route_decide, ROUTE_GATE): `idx` if
 * it may take the statement, else another one, or ROUTE_NOBODY with the
 * reason in `why`. A transaction whose backend is out ends here. */
/* Whether the gate lets `idx` through as it is (route_gate's first test,
 * read from that one backend alone): unmonitored, or ONLINE and checked, taking reads
 * unless it is the primary by role, and not fenced if it is the session's
 * primary. The common case, without the view of every backend. */
static bool gate_open(const struct session *s, uint32_t idx)
{
    if (idx >= s->cfg->n_backends)
        return false;
    struct backend_rt *rt = s->cfg->backends[idx].rt;
    if (rt == NULL)
        return true;
    if (backend_state(rt) != BACKEND_ONLINE ||
        atomic_load_explicit(&rt->unchecked, memory_order_relaxed))
        return false;
    if (backend_reads_refused(rt) && backend_role(rt) != ROLE_PRIMARY)
        return false;
    if (idx != s->route.primary)
        return true;
    return !primary_not_writer(s->cfg, rt) && !atomic_load(&rt->fenced);
}

uint32_t route_health(struct session *s, uint32_t idx, char *why, size_t whylen)
{
    struct route_in in;
    struct route_out out;
    if (gate_open(s, idx))
        return idx; /* route_gate's ROUTE_GO, as the view would give it */
    if (!route_view(s, ROUTE_GATE, &in)) {
        session_mark_closing(s, END_NOMEM);
        return ROUTE_NOBODY;
    }
    in.target = idx;
    session_decide(&in, &out);
    if (out.close_idx >= 0 && s->conns.bc[out.close_idx] != NULL)
        bconn_close(s->conns.bc[out.close_idx]);
    if (out.trx_end) {
        s->route.ro_idx = -1;
        s->route.status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
    }
    if (out.verdict == ROUTE_GO)
        return out.target;
    size_t n = strnlen(out.why, whylen - 1); /* whylen > 0 */
    memcpy(why, out.why, n);
    why[n] = '\0';
    return ROUTE_NOBODY;
}

/* Whether a read bound for the primary may be kept to run again elsewhere
 * if the primary dies before answering: `safe` (classify_retry_safe), the
 * config allows it, and the primary holds no state that dies with it (a
 * pinned session ends with its primary instead). */
bool retry_primary_ok(const struct session *s, bool safe)
{
    return safe && s->cfg->retry_primary_reads && !s->route.pinned && !s->route.uvars_opaque;
}

/* The command at `pkt` (`n` bytes, whole in `up` when `fits`) goes to
 * `idx`: kept to run again elsewhere when it is an autocommit read that may
 * (retry_keep), else marked as not to be retried (unless it is the retry). */
void retry_note(struct session *s, uint32_t idx, uint8_t cmd, const uint8_t *pkt, uint32_t n,
                bool fits)
{
    if (s->route.retried)
        return;
    if (idx < s->conns.n_bc && cmd == COM_QUERY && fits && !session_in_trans(s) &&
        s->route.ro_idx < 0 &&
        (idx != s->route.primary || retry_primary_ok(s, s->query.cmd_retry_safe)))
        retry_keep(s, pkt, n);
    else
        s->route.retry_ok = false;
}

/* The command is not to run again elsewhere if its server dies. */
void retry_drop(struct session *s)
{
    s->route.retry_ok = false;
}

/* Keep an autocommit read (whole in `up` at scan) bound for a replica, or
 * for the primary when retry_primary_ok, to run it once more elsewhere if
 * its server dies before it answers. */
void retry_keep(struct session *s, const uint8_t *pkt, uint32_t n)
{
    s->route.retry_ok = false;
    if (n > s->route.retry_cap) {
        uint8_t *b = realloc(s->route.retry_pkt, n);
        if (b == NULL)
            return;
        s->route.retry_pkt = b;
        s->route.retry_cap = n;
    }
    memcpy(s->route.retry_pkt, pkt, n);
    s->route.retry_len = n;
    s->route.retry_ok = true;
}

/* Whether the answer parsed so far stays in `down` rather than go to the
 * client: a read that may still run elsewhere (retry_keep) keeps its
 * answer until it is complete, up to retry_buffer_size bytes and while the
 * buffer has room, so that a server dying in the middle of it leaves the
 * client nothing to see (session_retry). No copy: the bytes wait where
 * they were read. */
bool down_hold(const struct session *s, const struct stream *st)
{
    if (!s->route.retry_ok || s->route.retried || s->io.down_sent || s->io.resp_done ||
        s->io.resp_broken || s->io.infile || s->io.down_flush)
        return false; /* (down_flush: the parse waits for what is parsed to go out) */
    uint32_t bound = HY_MIN(s->cfg->retry_buffer_size, st->b->cap);
    return st->tail - st->head < bound && st->tail < st->b->cap;
}

/* The statement in flight on q_rt ended (answered, failed or lost). */
void query_end(struct session *s, bool error)
{
    if (s->route.q_rt == NULL)
        return;
    double usec = (ev_now(s->w->loop) - s->query.cmd_started) * 1e6;
    backend_query_end(s->route.q_rt, s->w->id, usec > 0 ? (uint64_t)usec : 0, error);
    s->route.q_rt = NULL;
}

/* The statement in flight was lost with its backend, and runs again (or
 * is answered another way): ended as failed on the backend's count, and
 * neither the digests nor the query log have it. */
void query_lost(struct session *s)
{
    query_end(s, true);
    s->query.digest_pending = false;
    s->query.qlog_pending = false;
}

/* Halyard's own command in flight failed with its connection: none is in
 * flight now (the command's `failed` function, the caller, goes on). */
void query_internal_failed(struct session *s)
{
    s->query.internal = NULL;
}

/* Whether a statement's text may call CONNECTION_ID() (a cheap look
 * before classifying). */
static bool mentions_connid(const uint8_t *p, uint32_t n)
{
    return hy_text_mentions((const char *)p, n, "CONNECTION_ID");
}

/* Whether the text is a GET [CURRENT | STACKED] DIAGNOSTICS. */
static bool is_get_diagnostics(const uint8_t *p, uint32_t n)
{
    const char *t = (const char *)p, *end = t + n;
    t = lex_skip_space_comments(t, end);
    return lex_match_word(&t, end, "GET");
}

/* Whether the text is an SQL PREPARE (of a named statement). */
static bool sql_prepare(const uint8_t *p, uint32_t n)
{
    /* Most statements begin with their first word: one that begins with
     * another letter than P is answered without lexing. */
    unsigned char c0 = n > 0 ? (unsigned char)(p[0] | 0x20) : 0;
    if (c0 >= 'a' && c0 <= 'z' && c0 != 'p')
        return false;
    const char *t = (const char *)p, *end = t + n;
    t = lex_skip_space_comments(t, end);
    return lex_match_word(&t, end, "PREPARE");
}

/* ROUTE_SQL_PREPARE for an SQL PREPARE, ROUTE_SQL_DEALLOCATE for a
 * DEALLOCATE PREPARE or DROP PREPARE, else 0 (route_in.sql_ps). */
static uint8_t sql_ps_word(const uint8_t *p, uint32_t n)
{
    const char *t = (const char *)p, *end = t + n;
    t = lex_skip_space_comments(t, end);
    if (lex_match_word(&t, end, "PREPARE"))
        return ROUTE_SQL_PREPARE;
    if (lex_match_word(&t, end, "DEALLOCATE") || lex_match_word(&t, end, "DROP"))
        return lex_match_word(&t, end, "PREPARE") ? ROUTE_SQL_DEALLOCATE : 0;
    return 0;
}

/* Whether the text changes accounts or privileges: GRANT, REVOKE,
 * CREATE/ALTER/DROP/RENAME USER, CREATE/DROP ROLE, SET PASSWORD, SET
 * DEFAULT ROLE, FLUSH PRIVILEGES (its first statement only). The server
 * gives a connection its global privileges at login, so the pooled ones
 * logged in before are not given to the sessions after
 * (users_privileges_changed). */
static bool changes_privileges(const uint8_t *p, uint32_t n)
{
    const char *t = (const char *)p, *end = t + n;
    t = lex_skip_space_comments(t, end);
    if (lex_match_word(&t, end, "GRANT") || lex_match_word(&t, end, "REVOKE"))
        return true;
    if (lex_match_word(&t, end, "CREATE")) {
        if (lex_match_word(&t, end, "OR"))
            lex_match_word(&t, end, "REPLACE");
        return lex_match_word(&t, end, "USER") || lex_match_word(&t, end, "ROLE");
    }
    if (lex_match_word(&t, end, "DROP"))
        return lex_match_word(&t, end, "USER") || lex_match_word(&t, end, "ROLE");
    if (lex_match_word(&t, end, "ALTER") || lex_match_word(&t, end, "RENAME"))
        return lex_match_word(&t, end, "USER");
    if (lex_match_word(&t, end, "SET"))
        return lex_match_word(&t, end, "PASSWORD") ||
               (lex_match_word(&t, end, "DEFAULT") && lex_match_word(&t, end, "ROLE"));
    return lex_match_word(&t, end, "FLUSH") && lex_match_word(&t, end, "PRIVILEGES");
}

/* The statement may commit a transaction open when it began: COMMIT (not
 * ROLLBACK), XA COMMIT, a statement that commits implicitly (DDL, account
 * statements, BEGIN, SET autocommit = 1, LOCK/UNLOCK TABLES), or one not
 * known to be otherwise. A transaction whose connection broke with such a
 * statement in flight may have committed: it is not said rolled back. */
bool session_may_commit(const struct classify_result *r, const uint8_t *p, uint32_t avail)
{
    if (r->flags & (CLF_MULTI | CLF_UNTERMINATED | CLF_TOO_LONG | CLF_ROUTINE_CALL |
                    CLF_AUTOCOMMIT | CLF_LOCK_TABLES | CLF_UNLOCK_TABLES))
        return true;
    switch (r->kind) {
    case CL_TXN_END: {
        const char *end = (const char *)p + avail,
                   *t = lex_skip_space_comments((const char *)p + 1, end);
        return !lex_match_word(&t, end, "ROLLBACK"); /* ROLLBACK [WORK] [AND [NO] CHAIN] */
    }
    case CL_TXN_BEGIN:
    case CL_TXN_BEGIN_RO:
        return true;
    case CL_WRITE:
        return !(r->flags & CLF_DML);
    default:
        return false;
    }
}

/* Whether the first statement of the text at p (`avail` bytes, the
 * command byte first) ends the open transaction before the rest runs:
 * BEGIN [WORK] (not BEGIN NOT ATOMIC), START TRANSACTION, COMMIT, ROLLBACK
 * (not ROLLBACK [WORK] TO SAVEPOINT). Read for a text of several
 * statements inside a read-only transaction only (route_decide). */
static bool first_ends_trx(const uint8_t *p, uint32_t avail)
{
    const char *end = (const char *)p + avail,
               *t = lex_skip_space_comments((const char *)p + 1, end);
    if (lex_match_word(&t, end, "COMMIT"))
        return true;
    if (lex_match_word(&t, end, "ROLLBACK")) {
        (void)lex_match_word(&t, end, "WORK");
        return !lex_match_word(&t, end, "TO");
    }
    if (lex_match_word(&t, end, "BEGIN"))
        return !lex_match_word(&t, end, "NOT");
    return lex_match_word(&t, end, "START") && lex_match_word(&t, end, "TRANSACTION");
}

/* Whether the statement ends the open transaction, as the server does
 * before it runs: a BEGIN or START TRANSACTION (1: and begins another), a
 * COMMIT or ROLLBACK, chained or not, or a statement that commits
 * implicitly (-1: DDL and the like; SET autocommit = 1, which is followed
 * by the answer's status alone). 0 otherwise. A new transaction open after
 * one of them starts the replay record and the mark again
 * (session_replay_done, session_inflight_done). */
static int8_t trx_bound(const struct classify_result *r)
{
    if (r->kind == CL_TXN_BEGIN || r->kind == CL_TXN_BEGIN_RO)
        return 1;
    if (r->kind == CL_TXN_END || (r->flags & (CLF_LOCK_TABLES | CLF_UNLOCK_TABLES)) ||
        (r->kind == CL_WRITE && !(r->flags & (CLF_DML | CLF_ROUTINE_CALL))))
        return -1;
    return 0;
}

/* A new command, of any kind: what the previous one noted for its end is
 * cleared, and a read routed now waits for what is committed now (the
 * global position is taken again). Every command passes here once before
 * it is routed: a text one in session_route(), a prepared statement's
 * execution, fetch, reset or long data in session_ps.c; one that skipped
 * it read with the position of the command before (issue 54: a prepared
 * SELECT missed the session's own INSERT). */
void session_route_begin(struct session *s, uint8_t cmd, bool fits)
{
    s->query.limit_known = false;
    s->query.cmd_writes = cmd == COM_QUERY && !fits;
    s->query.cmd_class = STMT_OTHER;
    /* what it is not known to be may commit (COM_QUERY classified below) */
    s->query.cmd_may_commit = cmd != COM_QUERY || !fits;
    s->query.cmd_privs = false;
    s->query.cmd_txn_next = false; /* an unclassified command: the server's rule is not known */
    s->query.cmd_trx_bound = 0;
    s->query.cmd_trx_track = false;
    s->query.cmd_retry_safe = false;
    s->route.causal_check = false;
    s->route.causal_read = s->route.global_read = false;
    s->route.global_need = s->route.global_at =
        0; /* a read routed now sees what is committed now */
    s->query.cmd_ro_begin = false;
    s->query.qlog_pending = false;
    s->route.route_sticky = false;
    if (s->query.connid != NULL) /* the last statement's calls and names */
        s->query.connid->n = s->query.connid->n_connid = s->query.connid->nalias = 0;
    s->query.cmd_lid = false;
    s->query.cmd_xa = 0;
    s->query.cmd_one = false;
    s->query.cmd_calc_found = false;
    s->query.cache_read = false;
    session_sysview_clear(s); /* read by session_route, when the text may name one */
}

uint8_t session_stmt_class(const struct classify_result *r)
{
    if (r->kind == CL_WRITE || (r->flags & CLF_SEQUENCE))
        return STMT_WRITE;
    return r->kind == CL_READ ? STMT_READ : STMT_OTHER;
}

/* Whether an XA statement is XA END or XA PREPARE (its first two words,
 * comments between them skipped as the server skips them): after its OK
 * the transaction is IDLE or PREPARED, where the server reads no table but
 * information_schema's (session_sysview.c). */
static bool xa_ends_active(const char *t, size_t n)
{
    const char *end = t + n, *p = lex_skip_space_comments(t, end);
    return lex_match_word(&p, end, "XA") &&
           (lex_match_word(&p, end, "END") || lex_match_word(&p, end, "PREPARE"));
}

/* Classify the statement's text (p + 1, `avail` - 1 bytes) into *r, its
 * digest into *dg when wanted, and note what its end needs: what the pool
 * asks of its connection, the digest, the query log, the schema a USE
 * selects. Returns the digest text's length (0: none). */
static size_t route_classify(struct session *s, const uint8_t *p, uint32_t avail,
                             struct classify_result *r, struct classify_digest *dg,
                             bool want_digest, uint32_t *words)
{
    classify_memo_classify(s->w->memo, (const char *)p + 1, avail - 1, s->route.lex_opts, r,
                           want_digest ? dg : NULL);
    /* What pool_hold() asks of the connection it ran on (session_pool.c). */
    s->query.cmd_lid = (r->flags & CLF_LAST_INSERT_ID) != 0;
    s->query.cmd_one = r->nstmt == 1 && !(r->flags & CLF_MULTI);
    if (r->flags & CLF_XA)
        s->query.cmd_xa = r->kind == CL_TXN_BEGIN                                              ? 1
                          : r->kind == CL_TXN_END                                              ? -1
                          : s->query.cmd_one && xa_ends_active((const char *)p + 1, avail - 1) ? 2
                                                                                               : 0;
    /* the classifier saw none of its words: the scan would find none */
    *words = r->lo_words ? text_words((const char *)p + 1, avail - 1) : 0;
    s->query.cmd_calc_found =
        s->cfg->pool_transaction && (*words & (TW_CALC_FOUND_ROWS | TW_LIMIT_OFFSET)) != 0;
    /* a transaction's start releases the session's table locks */
    s->query.cmd_locks =
        (r->flags & CLF_LOCK_TABLES) ? 1
        : (r->flags & CLF_UNLOCK_TABLES) || r->kind == CL_TXN_BEGIN || r->kind == CL_TXN_BEGIN_RO
            ? -1
            : 0;
    /* in session pooling too: its EXECUTEs run where it lives, and so does
     * a read-only transaction after it (before 2026-11-30 one ran on a
     * replica there, and an EXECUTE in it answered 1243); inside one it
     * is refused (route_decide, ROUTE_RO_TRX_PREPARE) */
    if (s->route.ro_idx < 0 && sql_prepare(p + 1, avail - 1))
        session_pin(s, "PREPARE: the named statement lives on its connection");
    size_t dlen = want_digest ? HY_MIN(dg->len, dg->cap - 1) : 0;
    if (want_digest)
        session_hooks_digest(s, dg->buf, dlen);
    if (s->w->digests != NULL) {
        digest_note(s->w->digests, dg->hash, dg->buf, dlen);
        s->query.digest_hash = dg->hash;
        s->query.digest_pending = true;
    }
    if (query_log_enabled())
        qlog_note(s, (const char *)p + 1, avail - 1, want_digest ? dg->hash : 0);
    if (r->flags & CLF_USE) {
        free(s->query.pend_schema);
        s->query.pend_schema = r->schema[0] != '\0' ? strdup(r->schema) : NULL;
    }
    return dlen;
}

/* The diagnostics halyard holds, and a sharded listener's groups: where
 * the statement goes, or UINT32_MAX to route it as usual. */
static uint32_t route_groups(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                             uint32_t avail, bool fits, const struct classify_result *r)
{
    /* only these have rows there: the common statement calls none */
    if (s->values.ldiag == NULL && !s->listener->shards)
        return UINT32_MAX;
    /* the features' (session_hooks.c): a fan-out's diagnostics, SHOW
     * DATABASES, a BEGIN across groups, the statement's group */
    struct hook_route hr = {.r = r, .p = p, .len = len, .avail = avail, .cmd = cmd, .fits = fits};
    return session_hooks_route(s, &hr);
}

struct rules_input session_rules_who(struct session *s)
{
    return (struct rules_input){
        .user = s->who.user,
        .schema = session_schema(s),
        .client = &s->who.client_addr,
        .listener = s->listener->name,
    };
}

/* The fair-share limit that governs the statement, some limits having a
 * match_digest: found now, while its digest is at hand
 * (session_limits.c takes it). */
static void route_limit(struct session *s, const char *digest, size_t digest_len)
{
    struct rules_input in = session_rules_who(s);
    in.digest = digest;
    in.digest_len = digest_len;
    s->query.limit_cl = limits_match(&s->w->rules, s->cfg, &in);
    s->query.limit_known = true;
}

/* The query rules: ROUTE_BLOCK for a statement a rule blocks, else
 * UINT32_MAX, a rule's route put in r->hint unless the statement has one.
 * `digest`: the statement's digest text (NULL when none was made). */
static uint32_t route_rules(struct session *s, uint8_t cmd, bool fits, struct classify_result *r,
                            const char *text, size_t text_len, const char *digest,
                            size_t digest_len)
{
    struct rules_input in = session_rules_who(s);
    in.text = text;
    in.text_len = text_len;
    in.digest = digest;
    in.digest_len = digest_len;
    in.lex_opts = s->route.lex_opts;
    in.text_cut = !fits;
    in.tables_later = cmd == COM_STMT_PREPARE;
    const struct config_rule *rule = rules_match(&s->w->rules, s->cfg, &in);
    /* a part of a text with a KILL (session_kill_chain.c) is not answered
     * by a feature (the cache): its answer goes on from the parts before it */
    if (!s->kill.chain_on) {
        struct hook_rule hr = {
            .cmd = cmd, .rule = rule, .r = r, .text = text, .len = text_len, .fits = fits};
        uint32_t to = session_hooks_rule(s, &hr);
        if (to != UINT32_MAX)
            return to;
    }
    if (rule != NULL && rule->action == RULE_ACTION_CACHE)
        return UINT32_MAX; /* a cache rule does not route (a miss goes to the primary: r->hint) */
    if (rule != NULL && rule->action == RULE_ACTION_BLOCK) {
        s->query.block_rule = rule;
        return ROUTE_BLOCK;
    }
    if (rule != NULL && r->hint == CLH_NONE) {
        /* A rule routes as a hint does (reads, outside transactions);
         * a hint in the statement itself wins. */
        r->hint = rule->route == RULE_ROUTE_PRIMARY   ? CLH_PRIMARY
                  : rule->route == RULE_ROUTE_REPLICA ? CLH_REPLICA
                                                      : CLH_BACKEND;
        if (r->hint == CLH_BACKEND)
            snprintf(r->hint_backend, sizeof(r->hint_backend), "%s",
                     config_root(s->cfg)->backends[rule->backend].name);
    }
    return UINT32_MAX;
}

/* A classified COM_QUERY (not a PREPARE): the router decides among the
 * backends, and what it changes of the session's state is prepared. */
static uint32_t route_statement(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                                uint32_t avail, struct classify_result *r, uint32_t words)
{
    bool fits = avail == len;
    s->query.cmd_class = fits ? session_stmt_class(r) : STMT_OTHER;
    s->query.cmd_retry_safe = fits && classify_retry_safe(r);
    session_hooks_classified(s, r, p, avail, fits);
    s->query.cmd_clears_diag = r->clears_diag || !fits;
    s->query.cmd_diag = (r->flags & CLF_DIAG) != 0;
    s->query.cmd_may_commit = session_may_commit(r, p, avail);
    s->query.cmd_trx_bound = trx_bound(r);
    /* a SET of the transaction-state tracker: read by the client's SETs
     * only (session_state_tracking.c) */
    s->query.cmd_trx_track = (r->kind == CL_SESSION || (r->flags & CLF_SET_STATEMENT)) &&
                             session_track_trx_named((const char *)p + 1, avail - 1);
    /* only what the state held before it can be consumed: the statement's
     * own SETs join it at its end (state_commit), none a one-shot */
    s->query.cmd_txn_next =
        state_holds_stmts(s) &&
        state_txn_next_ends(r, (const char *)p + 1, avail - 1, s->route.lex_opts);
    /* One backend: nothing to route; but under pool_mode "transaction"
     * the session's connection goes back to the pool between statements,
     * so what a statement sets is the session's state to bring onto the
     * next one (session_decide: log_state), one backend or many; and with
     * the cache on, that state is part of a cached answer's key. */
    if (s->conns.n_bc == 1 && !s->cfg->pool_transaction && !cache_on())
        return s->route.primary;
    s->query.cmd_writes =
        r->kind == CL_WRITE || r->kind == CL_TXN_END || (r->flags & CLF_SEQUENCE) || !fits;
    if (s->query.cmd_writes && (r->flags & CLF_SET_STATEMENT) &&
        session_track_named((const char *)p + 1, avail - 1))
        /* its state changes go unreported (session_state_tracking.c) */
        s->route.uvars_opaque = true;
    s->query.cmd_privs = s->cfg->pool_transaction &&
                         (r->kind == CL_WRITE || r->kind == CL_SESSION) &&
                         changes_privileges(p + 1, avail - 1);
    struct route_in in;
    struct route_out out;
    if (!route_view(s, ROUTE_STATEMENT, &in)) {
        session_mark_closing(s, END_NOMEM);
        return s->route.primary;
    }
    in.kind = r->kind;
    in.flags = r->flags;
    in.nvars = r->nvars;
    in.nstmt = r->nstmt;
    in.kinds = r->kinds;
    in.hint = r->hint;
    in.hint_backend = r->hint_backend;
    in.consistency = stmt_consistency(s, r->hint_consistency);
    in.show_status = r->kind == CL_READ && !s->route.pinned && !session_in_trans(s) &&
                     show_status_words((const char *)p + 1, avail - 1, words);
    in.fits = fits;
    in.first_ends_trx = (r->flags & CLF_MULTI) && s->route.ro_idx >= 0 && first_ends_trx(p, avail);
    in.sql_ps = s->route.ro_idx >= 0 && r->kind == CL_WRITE ? sql_ps_word(p + 1, avail - 1) : 0;
    session_decide(&in, &out);
    if ((out.verdict == ROUTE_RO_TRX_STATE || out.verdict == ROUTE_RO_TRX_PREPARE) &&
        cmd == COM_QUERY && fits) {
        /* refused whole, before it runs (compatibility.md) */
        consume_packet(s, len);
        command_abandon(s);
        session_err(s, 1,
                    out.verdict == ROUTE_RO_TRX_STATE ? SERR_RO_TRX_STATE : SERR_RO_TRX_PREPARE);
        return ROUTE_ANSWERED;
    }
    if (out.log_state)
        state_prepare_set(s, r, p, len);
    else if (r->kind == CL_READ && (r->flags & CLF_DIAG) && (r->flags & CLF_USER_VAR_REF) && fits &&
             cmd == COM_QUERY && out.pin == NULL && is_get_diagnostics(p + 1, len - 1))
        state_prepare_diag(s, p, len); /* GET DIAGNOSTICS @n = NUMBER: read back */
    return route_apply(s, &out);
}

/* Where a command of one backend, unclassified, goes: its kind's route
 * of its text (a COM_STMT_PREPARE's), else the primary. */
static uint32_t route_kind_text(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                                bool fits, const struct classify_result *r)
{
    const struct cmd_kind *k = session_hooks_kind(cmd);
    return k != NULL && k->route_text != NULL ? k->route_text(s, p, len, fits, r)
                                              : s->route.primary;
}

/* Which backend runs the command at up.scan (`avail` of its `len` payload
 * bytes are in the buffer). Everything goes to the primary but reads a
 * hint sends elsewhere, outside transactions; commands that change session
 * state are prepared for the log on the way. COM_STMT_PREPARE is
 * classified and matched against the rules like a COM_QUERY of its text. */
uint32_t session_route(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                       uint32_t avail)
{
    bool fits = avail == len;
    bool text = cmd == COM_QUERY || cmd == COM_STMT_PREPARE;
    session_route_begin(s, cmd, fits);
    bool fw = s->who.cu != NULL && s->who.cu->firewall != FIREWALL_OFF;
    if (s->listener->shards && cmd == COM_INIT_DB && fits) {
        /* USE by command: to the database's group first (session_hooks.c) */
        struct hook_route hr = {.p = p, .len = len, .avail = avail, .cmd = cmd, .fits = fits};
        uint32_t g = session_hooks_route(s, &hr);
        if (g != UINT32_MAX)
            return g;
    }
    /* Before the shortcut below: with one backend too, the schema is the
     * session's (a pooled connection another session takes is brought
     * back from it; COM_RESET_CONNECTION keeps it). */
    if (cmd == COM_INIT_DB || cmd == COM_SET_OPTION) {
        if (cmd == COM_INIT_DB && fits) {
            free(s->query.pend_schema);
            s->query.pend_schema = hy_dupz(p + 1, len - 1);
        }
        if (fits)
            state_prepare_cmd(s, cmd, p, len);
        else
            session_pin(s, "oversized session command");
        return s->route.primary;
    }
    /* One backend: nothing to route, but rules, digests, the firewall,
     * the session's own CONNECTION_ID() and the process list in the
     * client's terms still apply; and a KILL is refused as below. */
    if (s->conns.n_bc == 1 && !s->listener->shards && (!text || !s->cfg->pool_transaction) &&
        (!text || (s->cfg->n_rules == 0 && s->w->digests == NULL && !query_log_enabled() && !fw &&
                   !s->cfg->limits_need_digest && !mentions_connid(p + 1, avail - 1) &&
                   !session_sysview_route(s, cmd, p, len, fits)))) {
        if (text && kill_unmapped(s, p, len, fits, cmd == COM_STMT_PREPARE))
            return ROUTE_ANSWERED;
        return route_kind_text(s, cmd, p, len, fits, NULL);
    }
    if (!text)
        return s->route.primary;
    struct classify_result r;
    char dtext[DIGEST_TEXT_MAX];
    struct classify_digest dg = {.buf = dtext, .cap = sizeof(dtext)};
    bool want_digest =
        s->w->digests != NULL || s->cfg->rules_need_digest || s->cfg->limits_need_digest || fw;
    uint32_t words;
    size_t dlen = route_classify(s, p, avail, &r, &dg, want_digest, &words);
    /* the scans for KILL and the process list's names, only where the
     * classifier saw the tokens they start from */
    if (r.kill_word && kill_unmapped(s, p, len, fits, cmd == COM_STMT_PREPARE))
        return ROUTE_ANSWERED;
    if (r.sysview_names)
        (void)session_sysview_route(s, cmd, p, len, fits); /* in the client's terms */
    if (s->cfg->limits_need_digest && cmd == COM_QUERY)
        route_limit(s, dtext, dlen);
    if (fw && !firewall_allows(s->who.cu, dg.hash, dtext, dlen)) {
        s->query.fw_hash = dg.hash;
        return ROUTE_FIREWALL;
    }
    uint32_t to = route_groups(s, cmd, p, len, avail, fits, &r);
    if (to != UINT32_MAX)
        return to;
    if (s->cfg->n_rules > 0) {
        uint32_t rr = route_rules(s, cmd, fits, &r, (const char *)p + 1, avail - 1,
                                  want_digest ? dtext : NULL, dlen);
        if (rr == ROUTE_BLOCK || rr == ROUTE_CACHE)
            return rr;
    }
    /* In a read of the server's own run-time state (its transactions and
     * locks, performance_schema) CONNECTION_ID() stays the server's thread
     * id: the rows there carry those ids, so `WHERE ID = CONNECTION_ID()`
     * finds the session's own row as it does on the server. The process
     * list lists halyard's ids (session_sysview.c): there it is halyard's. */
    if (fits && r.connid.n > 0 &&
        (!show_status_words((const char *)p + 1, avail - 1, words) || session_sysview_ids(s))) {
        if (s->query.connid == NULL &&
            (s->query.connid = malloc(sizeof(*s->query.connid))) == NULL) {
            session_mark_closing(s, END_NOMEM);
            return s->route.primary;
        }
        *s->query.connid = r.connid;
        if (classify_connid_bound(&r.connid, len) >= MYSQL_MAX_PAYLOAD)
            s->query.connid->nalias = 0; /* it would take a second packet: names stay */
    }
    const struct cmd_kind *k = session_hooks_kind(cmd);
    if (k != NULL && k->route_text != NULL) /* a COM_STMT_PREPARE's */
        return k->route_text(s, p, len, fits, &r);
    return route_statement(s, cmd, p, len, avail, &r, words);
}

/* The SQL reading the primary's position (the writer's on Galera). */
static const char *gtid_fetch_sql(const struct session *s)
{
    return s->cfg->cluster == CLUSTER_GALERA ? "SELECT WSREP_LAST_SEEN_GTID()"
                                             : "SELECT @@GLOBAL.gtid_binlog_pos";
}

/* A GTID list as MariaDB prints it: digits, '-' and ','. Anything else is
 * not put into a query. */
static bool gtid_valid(const char *g)
{
    for (; *g != '\0'; g++) {
        if (!isdigit((unsigned char)*g) && *g != '-' && *g != ',')
            return false;
    }
    return true;
}

/* The position a read of the primary's (or writer's) GTID captured on bc,
 * when usable: under `cap` bytes, a GTID list, and not empty on Galera;
 * NULL otherwise (an error, no row). */
static const char *position_read(const struct session *s, const struct bconn *bc, size_t cap)
{
    const char *v = internal_value(s, bc);
    if (v == NULL || strlen(v) >= cap || !gtid_valid(v) ||
        (v[0] == '\0' && s->cfg->cluster == CLUSTER_GALERA))
        return NULL;
    return v;
}

/* Whether a wait for a position on bc answered that it was reached
 * (MASTER_GTID_WAIT's 0; Galera's wait, 1). */
static bool position_reached(const struct session *s, const struct bconn *bc)
{
    const char *v = internal_value(s, bc);
    return v != NULL && strcmp(v, s->cfg->cluster == CLUSTER_GALERA ? "1" : "0") == 0;
}

/* Wait for position `gtid` on s->conns.cur's backend, at most causal_timeout_ms:
 * the answer is 0 when applied, -1 on timeout (Galera: 1, or an error).
 *
 * Galera: WSREP_SYNC_WAIT_UPTO_GTID answers 1 at once, applied or not,
 * for a GTID whose domain and server id are not the node's own. They
 * differ between nodes: a node that bootstrapped the cluster after a full
 * restart names its own server id (0-3-N) where the others go on with the
 * first one's (0-1-N). So the wait runs only where the node's
 * WSREP_LAST_SEEN_GTID() has the same domain-server as `gtid`; elsewhere
 * the answer is 0 and the read goes to the writer. */
static void gtid_wait(struct session *s, const struct internal_cmd *op, const char *gtid)
{
    char sql[448];
    const char *dash = strrchr(gtid, '-');
    if (s->cfg->cluster == CLUSTER_GALERA && dash != NULL) /* whole seconds, at least 1 */
        snprintf(sql, sizeof(sql),
                 "SELECT IF(SUBSTRING_INDEX(WSREP_LAST_SEEN_GTID(), '-', 2) = '%.*s', "
                 "WSREP_SYNC_WAIT_UPTO_GTID('%s', %d), 0)",
                 (int)(dash - gtid), gtid, gtid,
                 HY_MAX(1, (s->cfg->causal_timeout_ms + 999) / 1000));
    else if (s->cfg->cluster == CLUSTER_GALERA) /* not a GTID: read on the writer */
        snprintf(sql, sizeof(sql), "SELECT 0");
    else
        snprintf(sql, sizeof(sql), "SELECT MASTER_GTID_WAIT('%s', %.3f)", gtid,
                 s->cfg->causal_timeout_ms / 1e3);
    internal_query(s, op, sql, s->cfg->causal_timeout_ms + s->cfg->connect_timeout_ms);
}

static bool global_ready(struct session *s, uint32_t idx);
static bool fast_to_primary(struct session *s);

/* A Galera writer's position once it applied every commit the cluster
 * made before (wsrep_sync_wait), and how long that may take: part of a
 * writer change, as long as a write waits for the new writer (after a
 * node died, nothing commits anywhere until Galera evicted it), and at
 * least as long as a read waits for a node to catch up. */
#define WRITER_SYNC_SQL "SET STATEMENT wsrep_sync_wait = 1 FOR SELECT WSREP_LAST_SEEN_GTID()"
static int writer_sync_ms(const struct session *s)
{
    return HY_MAX(s->cfg->failover_write_wait_ms, s->cfg->causal_timeout_ms) +
           s->cfg->connect_timeout_ms;
}

/* Start the catch-up on s->conns.cur, the writer: int_gtid_sync for the
 * session's own writes, int_gpos_sync for the group's (global). */
static void writer_catchup(struct session *s, const struct internal_cmd *op)
{
    stat_inc(&s->w->stats.writer_catchups);
    internal_query(s, op, WRITER_SYNC_SQL, writer_sync_ms(s));
}

/* The catch-up on `writer` failed (error `err`) or outlived its bound
 * (err 0): the statement is refused (next_route, session_writer_refusal). */
static void writer_refuse(struct session *s, const char *writer, unsigned err)
{
    if (err != 0)
        slog_warn(s,
                  "writer %s could not apply the cluster's commits (error %u): refusing the "
                  "statement",
                  writer, err);
    else
        slog_warn(s,
                  "writer %s has not applied the cluster's commits within %d ms: refusing the "
                  "statement",
                  writer, writer_sync_ms(s));
    s->route.causal_refused = true;
    stat_inc(&s->w->stats.writer_catchups_refused);
}

/* Galera: the writer moved since the session's last write (a drain, a
 * failure, a node put back online taking the role by priority). Galera
 * certifies a commit on every node before the writer answers it, but each
 * node applies it in its own time: the new writer may not have it yet. */
static bool writer_moved(const struct session *s)
{
    return s->cfg->cluster == CLUSTER_GALERA && s->route.write_idx != -1 &&
           s->route.write_idx != (int)s->route.primary;
}

/* The primary's position, wherever the session's writes are known to be
 * in it. After the Galera writer moved, the new writer first applies
 * every commit the cluster made before (wsrep_sync_wait), so the position
 * it gives holds the session's writes; session_writer_synced() takes it. */
static void gtid_fetch(struct session *s)
{
    if (writer_moved(s)) {
        slog_debug(s, "writer %s: waiting for it to apply the session's writes",
                   s->cfg->backends[s->route.primary].name);
        writer_catchup(s, &int_gtid_sync);
        return;
    }
    internal_query(s, &int_gtid_fetch, gtid_fetch_sql(s), s->cfg->connect_timeout_ms);
}

/* consistency = global on Galera: the group's last commit ran on another
 * node than the writer now (it moved), which may not have applied it. */
static bool global_writer_behind(const struct session *s, struct global_pos *g)
{
    return s->cfg->cluster == CLUSTER_GALERA && g != NULL &&
           !global_pos_written_on(g, s->cfg->backends[s->route.primary].rt);
}

/* A statement about to run on the primary: true when it may. After the
 * Galera writer moved, whatever the session's consistency, the new writer
 * must have the session's writes before it runs anything of the session
 * (one server would show them): false when that wait started; the
 * statement runs again when it ends. */
bool session_writer_sync(struct session *s)
{
    if (writer_moved(s)) {
        if (!ensure_backend(s, s->route.primary))
            return false;
        gtid_fetch(s);
        return false;
    }
    /* A global read sees the commits other sessions made on the old writer. */
    if (s->cfg->cluster != CLUSTER_GALERA ||
        (!s->route.global_read && s->route.consistency != CONSISTENCY_GLOBAL))
        return true;
    struct global_pos *g = session_gpos(s);
    if (!global_writer_behind(s, g))
        return true;
    if (s->route.global_need == 0)
        s->route.global_need = global_pos_need(g);
    if (global_pos_applied(g, s->cfg->backends[s->route.primary].rt) >= s->route.global_need)
        return true;
    if (!ensure_backend(s, s->route.primary))
        return false;
    s->route.global_at = global_pos_need(g);
    writer_catchup(s, &int_gpos_sync);
    return false;
}

static void writer_synced(struct session *s, struct bconn *bc)
{
    if (s->io.resp.err_code != 0) {
        writer_refuse(s, bc->be->name, s->io.resp.err_code);
        return;
    }
    s->route.write_idx = bc->idx; /* it has applied them: the session's writes are there */
    if (bc->captured && bc->capture[0] != '\0' && strlen(bc->capture) < sizeof(s->route.gtid) &&
        gtid_valid(bc->capture)) {
        s->route.need_gtid = false;
        s->route.gtid_epoch++;
        memcpy(s->route.gtid, bc->capture, strlen(bc->capture) + 1);
        bc->gtid_epoch = s->route.gtid_epoch;
        slog_debug(s, "writer %s has applied the session's writes: position '%s'", bc->be->name,
                   s->route.gtid);
        return;
    }
    /* No position: a read elsewhere reads it again first (int_gtid_fetch,
     * which reads on the writer when it cannot have one either). */
    s->route.need_gtid = true;
}

/* int_gtid_sync or int_gpos_sync outlived writer_sync_ms(): the
 * connection it runs on is closed (the wait goes on in the server till its
 * own repl.causal_read_timeout), and the statement refused. The writer is
 * not failed: it lags. */
void session_writer_sync_late(struct session *s)
{
    writer_refuse(s, s->conns.cur->be->name, 0);
    s->query.internal = NULL;
    session_timer_stop(s);
    bconn_close(s->conns.cur);
    stream_release(&s->io.down, &s->w->pool);
    command_end(s);
}

/* The statement next_route answers instead of running it (causal_refused). */
void session_writer_refusal(struct session *s, char *why, size_t cap)
{
    s->route.causal_refused = false;
    s->route.wait_idx = -1;
    snprintf(why, cap,
             "The Galera writer moved to '%s', which has not applied the writes this statement "
             "must see yet; try again",
             s->cfg->backends[s->route.primary].name);
}

/* consistency = causal (or global: global_ready): true when the read may
 * run now on s->route.wait_idx: replica `idx`, or with causal_fast the
 * primary when `idx` is not known to have what the read must see; false
 * when an internal step started (learning the primary's binlog position
 * after the session's writes, or waiting for it on the replica): the read
 * runs again when it ends.
 *
 * The position is @@gtid_binlog_pos, read after the session wrote, not the
 * session's @@last_gtid: MariaDB empties last_gtid after any statement that
 * wrote nothing to the binlog (a no-op UPDATE), which would hide an earlier
 * write; the binlog position covers every write the primary has committed,
 * the session's and those it has seen. */
static bool causal_ready(struct session *s, uint32_t idx)
{
    if (s->route.global_read)
        return global_ready(s, idx);
    if (s->cfg->causal_fast && (s->route.need_gtid || s->route.gtid[0] != '\0')) {
        /* The replica holds the session's writes when it was seen to hold
         * a position counted after them (a global wait, a health check). */
        struct global_pos *g = session_gpos(s);
        struct bconn *c = s->conns.bc[idx];
        bool seen = !s->route.need_gtid && c != NULL && c->gtid_epoch == s->route.gtid_epoch;
        if (seen || (g != NULL && s->route.write_at > 0 &&
                     global_pos_applied(g, s->cfg->backends[idx].rt) >= s->route.write_at))
            return true;
        if (fast_to_primary(s))
            return true;
    }
    /* Galera: the writer's last committed write set, which the reader
     * waits to have applied (its own GTIDs, whether or not there is a
     * binary log); replication: the primary's binlog position. */
    if (s->route.need_gtid) {
        if (!ensure_backend(s, s->route.primary))
            return false;
        gtid_fetch(s);
        return false;
    }
    struct bconn *bc = s->conns.bc[idx];
    if (s->route.gtid[0] == '\0' || (bc != NULL && bc->gtid_epoch == s->route.gtid_epoch))
        return true;
    if (!ensure_connected(s, idx))
        return false;
    gtid_wait(s, &int_gtid_wait, s->route.gtid);
    return false;
}

/* The last gate before a command's backend, for a text command and an
 * execution alike: a read that must see the session's writes waits for
 * replica *idx (false: an internal step started, the command comes back);
 * then *idx is where it runs (causal_fast: the primary instead), and a
 * write waits for the Galera writer to be in step. The hooks see the
 * consistency wait begin and end (the wait's own reads clear causal_check
 * before the command comes back, so the end is said on every pass). */
/* The command goes to backend idx (a ROUTE_* outcome's or -1: none yet):
 * taken again after a wait, it is routed there, not anew. */
void session_route_wait_at(struct session *s, int idx)
{
    s->route.wait_idx = idx;
}

/* The command reads nothing a causal read waits for: no wait for the
 * primary's position before it. */
void session_route_uncausal(struct session *s)
{
    s->route.causal_check = false;
}

/* The session's read-only transaction ended (its connection closed). */
void session_route_ro_end(struct session *s)
{
    s->route.ro_idx = -1;
}

/* A statement left user variables the router cannot follow: later reads
 * naming one go to the primary. */
void session_route_uvars_opaque(struct session *s)
{
    s->route.uvars_opaque = true;
}

bool session_route_due(struct session *s, uint32_t *idx)
{
    if (s->route.causal_check && *idx != s->route.primary && !causal_ready(s, *idx)) {
        session_wait_note(s, HOOK_WAIT_CONSISTENCY, true);
        return false;
    }
    session_wait_note(s, HOOK_WAIT_CONSISTENCY, false);
    *idx = (uint32_t)s->route.wait_idx;
    s->route.causal_check = false;
    return *idx != s->route.primary || session_writer_sync(s);
}

/* ---- consistency = global (global_pos.h) ---------------------------------- */

static struct global_pos *session_gpos(const struct session *s)
{
    const struct config_group *g = group_of(s->cfg);
    return g != NULL ? g->gpos : NULL;
}

void session_global_commit(struct session *s)
{
    struct global_pos *g = session_gpos(s);
    if (g != NULL) {
        global_pos_commit_on(g, s->conns.cur != NULL ? s->conns.cur->be->rt : NULL);
        s->route.write_at = global_pos_need(g); /* at least its own count */
    }
}

/* A statement on every group wrote on their primaries (session_fanout.c;
 * DDL keeps what succeeded): with consistency = causal or strong the
 * session's next read on a replica waits for it, as after any write of
 * its own; no replica is known to have it (causal_fast). */
void route_fanout_wrote(struct session *s)
{
    s->route.need_gtid = true;
    s->route.write_at = UINT64_MAX;
    s->route.write_idx = s->route.primary;
    s->route.last_write = ev_now(s->w->loop);
}

/* The session moved to another group (session_shard.c). A GTID position
 * is one group's: a session that wrote reads the new group's primary
 * position before its next read on a replica there (its writes to this
 * group, if any, are in it). */
void route_group_changed(struct session *s)
{
    s->route.gtid[0] = '\0';
    s->route.gtid_epoch++;
    s->route.need_gtid = s->route.last_write != 0;
    s->route.write_at = s->route.need_gtid ? UINT64_MAX : 0; /* another group's count */
    s->route.write_idx = -1; /* its writes here, if any, are in that position */
}

/* causal_fast: the read goes to the primary now instead of waiting for a
 * replica (callers read s->route.wait_idx again). Not for the first read
 * of START TRANSACTION READ ONLY, whose transaction stays on its replica. */
static bool fast_to_primary(struct session *s)
{
    if (!s->cfg->causal_fast || s->query.cmd_ro_begin)
        return false;
    s->route.wait_idx = (int)s->route.primary;
    s->route.causal_check = false;
    return true;
}

/* Like causal_ready(), for the group's position: the commits counted when
 * the read was routed (global_need) must be applied on replica `idx`. One
 * that was seen to have them serves the read at once; else it waits for a
 * position that holds them, the one kept for the group or, when that one
 * is older, one read from the primary now (and kept for the others). */
static bool global_ready(struct session *s, uint32_t idx)
{
    struct global_pos *g = session_gpos(s);
    if (g == NULL) /* a loaded config always has a group: not reached */
        return true;
    if (s->route.global_need == 0)
        s->route.global_need = global_pos_need(g);
    if (global_pos_applied(g, s->cfg->backends[idx].rt) >= s->route.global_need)
        return true;
    if (fast_to_primary(s))
        return true;
    if (s->route.global_at < s->route.global_need &&
        !global_pos_known(g, s->route.global_need, s->route.global_gtid,
                          sizeof(s->route.global_gtid), &s->route.global_at)) {
        if (!ensure_backend(s, s->route.primary))
            return false;
        /* whatever the counter holds now was committed before the query */
        s->route.global_at = global_pos_need(g);
        s->route.global_gtid[0] = '\0';
        if (global_writer_behind(s, g))
            writer_catchup(s, &int_gpos_sync);
        else
            internal_query(s, &int_gpos_fetch, gtid_fetch_sql(s), s->cfg->connect_timeout_ms);
        return false;
    }
    if (!ensure_connected(s, idx))
        return false;
    gtid_wait(s, &int_gpos_wait, s->route.global_gtid);
    return false;
}

static void global_answer(struct session *s, struct bconn *bc, const struct internal_cmd *op)
{
    struct global_pos *g = session_gpos(s);
    bool galera = s->cfg->cluster == CLUSTER_GALERA;
    if (op == &int_gpos_sync && s->io.resp.err_code != 0) { /* no node is known to have them */
        writer_refuse(s, bc->be->name, s->io.resp.err_code);
        s->route.global_at = 0;
        return;
    }
    if (op == &int_gpos_sync && g != NULL) /* the writer has them all now */
        global_pos_applied_set(g, bc->be->rt, s->route.global_at);
    if (op == &int_gpos_fetch || op == &int_gpos_sync) {
        const char *v = position_read(s, bc, sizeof(s->route.global_gtid));
        if (g != NULL && v != NULL) {
            memcpy(s->route.global_gtid, v, strlen(v) + 1);
            global_pos_publish(g, s->route.global_at, s->route.global_gtid);
            slog_debug(s, "primary GTID position for global reads: '%s'", s->route.global_gtid);
            return;
        }
        slog_warn(s, "cannot read the %s's GTID position (error %u): reading from it",
                  galera ? "writer" : "primary", s->io.resp.err_code);
    } else if (position_reached(s, bc)) {
        if (g != NULL)
            global_pos_applied_set(g, bc->be->rt, s->route.global_at);
        s->route.causal_check = false; /* the read runs there now */
        return;
    } else {
        slog_debug(s, "replica %s has not applied %s within %d ms: reading from the primary",
                   bc->be->name, s->route.global_gtid, s->cfg->causal_timeout_ms);
        behind_note(s, bc, s->route.global_need);
    }
    s->route.global_at = 0;
    s->route.wait_idx = (int)s->route.primary;
    s->route.causal_check = false;
}

/* ---- the statement's text as it goes out ------------------------------ */

/* The client's COM_QUERY or COM_STMT_PREPARE (whole at p) calls
 * CONNECTION_ID(): it goes to s->conns.cur with the session's id there, the id
 * of the handshake, whichever backend runs it (s->query.connid, from session_route()).
 * A COM_QUERY a feature rewrites (the process list or the status
 * variables: derived tables in their place, session_sysview.c) goes
 * through its rewrite hook (session_hooks.c). The packet as it
 * goes (its header written, *out its payload's bytes after the command's),
 * or NULL: nothing to change, or out of memory (the session is closing). */
static uint8_t *connid_packet(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                              size_t *out)
{
    static const struct classify_connid none = {0};
    const struct classify_connid *cid = s->query.connid != NULL ? s->query.connid : &none;
    bool rewrites = cmd == COM_QUERY && session_hooks_rewrites(s); /* the features' */
    /* FOUND_ROWS() and ROW_COUNT() are the session's previous statement's,
     * which ran on another connection (or this one ran another session's
     * since): halyard gives the values it saw (session_pool_prev_values).
     * In a prepared statement's text they stay calls: an execution
     * elsewhere runs a one-off statement with the values (session_ps.c). */
    char num[3][CLASSIFY_CALL_VALUE_MAX + 1];
    const char *value[CLASSIFY_CALL__COUNT] = {num[0], NULL, NULL};
    snprintf(num[0], sizeof(num[0]), "%u", s->id);
    bool values = cmd == COM_QUERY && session_pool_prev_values(s, num + 1, value);
    if (!values && cid->n_connid == 0 && !rewrites)
        return NULL; /* nothing to change */
    size_t cap = classify_connid_bound(cid, len - 1);
    uint8_t *pkt = malloc(MYSQL_HEADER_SIZE + 1 + cap);
    if (pkt == NULL) {
        session_mark_closing(s, END_NOMEM);
        return NULL;
    }
    pkt[MYSQL_HEADER_SIZE] = cmd;
    size_t n = classify_calls_rewrite((const char *)p + 1, len - 1, cid, value,
                                      (char *)pkt + MYSQL_HEADER_SIZE + 1, cap);
    if (rewrites && !session_hooks_rewrite(s, &pkt, &n, (const char *)p + 1, len - 1)) {
        free(pkt);
        session_mark_closing(s, END_NOMEM);
        return NULL;
    }
    mysql_hdr_write(pkt, (uint32_t)(n + 1), 0);
    *out = n;
    return pkt;
}

/* The client's statement, taken from `up` and rewritten by a feature as
 * `pkt` (`len` bytes, header included), goes to s->conns.cur as the
 * client's own: whether it writes stays as it was routed. */
void command_send_rewritten(struct session *s, uint8_t cmd, const uint8_t *pkt, size_t len)
{
    bool writes = s->query.cmd_writes;
    command_send_own(s, cmd, pkt, len);
    s->query.cmd_writes = writes;
}

void command_forward_connid(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len)
{
    size_t n = 0;
    uint8_t *pkt = connid_packet(s, cmd, p, len, &n);
    if (pkt == NULL) {
        if (s->state != SS_CLOSING)
            command_forward(s, cmd, len, 0); /* nothing to change */
        return;
    }
    /* (the process list shows the client's text: the kill's on_send) */
    consume_packet(s, len);
    bool writes = s->query.cmd_writes;
    command_send_own(s, cmd, pkt, MYSQL_HEADER_SIZE + 1 + n);
    s->query.cmd_writes = writes;
    free(pkt);
}

/* A read of the process list or the status tables that the session's
 * connection cannot run (session_sysview_elsewhere): its text, rewritten as
 * it would go there, runs on a second connection of the session's user and
 * state (session_fanout_prepare_own). ROUTE_FANOUT, or the primary when out
 * of memory (the session is closing). */
uint32_t command_elsewhere(struct session *s, const uint8_t *p, uint32_t len)
{
    size_t n = 0;
    uint8_t *pkt = connid_packet(s, COM_QUERY, p, len, &n);
    uint32_t to = pkt != NULL
                      ? session_fanout_prepare_own(s, (const char *)pkt + MYSQL_HEADER_SIZE + 1, n)
                      : s->route.primary;
    free(pkt);
    return to;
}

/* ---- the answers of the position reads and waits (internal_progress) */

static enum internal_next gtid_fetched(struct session *s, struct bconn *bc)
{
    s->route.need_gtid = false;
    s->route.gtid_epoch++;
    s->route.gtid[0] = '\0';
    const char *v = position_read(s, bc, sizeof(s->route.gtid));
    if (v != NULL) {
        memcpy(s->route.gtid, v, strlen(v) + 1);
        slog_debug(s, "primary GTID position: '%s'", s->route.gtid);
    } else {
        /* Without the position, only the primary is sure to have the write. */
        slog_warn(s, "cannot read the %s's GTID position (error %u): reading from it",
                  s->cfg->cluster == CLUSTER_GALERA ? "writer" : "primary", s->io.resp.err_code);
        s->route.wait_idx = (int)s->route.primary;
        s->route.causal_check = false;
    }
    return INTERNAL_END;
}

static enum internal_next gtid_waited(struct session *s, struct bconn *bc)
{
    if (position_reached(s, bc)) {
        slog_debug(s, "replica %s (thread %u) has applied %s", bc->be->name, bc->login.thread_id,
                   s->route.gtid);
        bc->gtid_epoch = s->route.gtid_epoch;
    } else {
        slog_debug(s, "replica %s has not applied %s within %d ms: reading from the primary",
                   bc->be->name, s->route.gtid, s->cfg->causal_timeout_ms);
        behind_note(s, bc, s->route.write_at);
        s->route.wait_idx = (int)s->route.primary;
        s->route.causal_check = false;
    }
    return INTERNAL_END;
}

static enum internal_next gtid_synced(struct session *s, struct bconn *bc)
{
    writer_synced(s, bc);
    return INTERNAL_END;
}

static enum internal_next gpos_fetched(struct session *s, struct bconn *bc)
{
    global_answer(s, bc, &int_gpos_fetch);
    return INTERNAL_END;
}

static enum internal_next gpos_waited(struct session *s, struct bconn *bc)
{
    global_answer(s, bc, &int_gpos_wait);
    return INTERNAL_END;
}

static enum internal_next gpos_synced(struct session *s, struct bconn *bc)
{
    global_answer(s, bc, &int_gpos_sync);
    return INTERNAL_END;
}

static enum internal_next uvars_counted(struct session *s, struct bconn *bc)
{
    const char *v = internal_value(s, bc);
    uvars_answered(s, v != NULL, v);
    return INTERNAL_END;
}

const struct internal_cmd int_gtid_fetch = {
    .name = "the primary's GTID position", .flags = INTERNAL_CAPTURE, .answered = gtid_fetched};
const struct internal_cmd int_gtid_wait = {
    .name = "a wait for a GTID position", .flags = INTERNAL_CAPTURE, .answered = gtid_waited};
const struct internal_cmd int_gtid_sync = {.name = "a new writer's catch-up",
                                           .flags = INTERNAL_CAPTURE | INTERNAL_WRITER_SYNC,
                                           .answered = gtid_synced};
const struct internal_cmd int_gpos_fetch = {.name = "the primary's position for global reads",
                                            .flags = INTERNAL_CAPTURE,
                                            .answered = gpos_fetched};
const struct internal_cmd int_gpos_wait = {
    .name = "a wait for the global position", .flags = INTERNAL_CAPTURE, .answered = gpos_waited};
const struct internal_cmd int_gpos_sync = {.name = "a writer's catch-up for global reads",
                                           .flags = INTERNAL_CAPTURE | INTERNAL_WRITER_SYNC,
                                           .answered = gpos_synced};
const struct internal_cmd int_uvars = {.name = "the old primary's user variables",
                                       .flags = INTERNAL_CAPTURE | INTERNAL_OWN_STATE,
                                       .answered = uvars_counted};
