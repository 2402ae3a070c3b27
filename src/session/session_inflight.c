/*
 * session_inflight.c: resolve_in_flight_writes, the fate of an autocommit
 * write or a COMMIT in flight when the primary died; part of the session
 * module (session_int.h). The mark and the binary log's side are in
 * inflight.h.
 *
 * Marking. Each data-changing statement (INSERT, UPDATE, DELETE, REPLACE,
 * one statement, a COM_QUERY) the session sends to the primary goes with
 * the mark of its write transaction at its head (session_inflight_send; a
 * prepared one's EXECUTE: "prepared writes" below): an
 * autocommit one is a transaction of its own, and every such statement of
 * an open transaction carries that transaction's mark, so that a
 * transaction whose first write changed no row is still found by a later
 * one. A COMMIT of a transaction that carried a mark is watched too.
 *
 * Resolving. When the primary's connection breaks with such a statement in
 * flight and none of its answer sent to the client
 * (session_inflight_lost), the session waits for a usable primary other
 * than the one that died (within replay_timeout_ms), connects to it as the
 * monitor account and reads its binary log (each step within what is left
 * of replay_timeout_ms: inflight_budget_ms): SHOW BINARY LOGS, then, from
 * the newest file back, each file's Gtid_list until one began before the
 * write was sent (inflight_file_began_before against the new primary's
 * @@gtid_binlog_pos at a monitor check whose answer had come before the
 * write left), then SHOW BINLOG EVENTS of that file and every later one,
 * looking for the mark:
 *   - found: it committed; the client gets an OK: a COMMIT's, or for an
 *     autocommit write the affected rows and insert id its row events
 *     give (rows_start: a binlog dump of its transaction, then its
 *     table's AUTO_INCREMENT column from information_schema); when
 *     they cannot be read (a statement-format event, the dump refused...:
 *     docs/failover.md says which cases), error 1180 saying it committed
 *     but its affected rows are unknown (inflight_uncounted);
 *   - not found, and not committed is proven: the old primary was a
 *     semi-synchronous primary (Rpl_semi_sync_master_status ON, wait point
 *     AFTER_SYNC) at its last check before the write, the new primary
 *     acknowledged semi-sync then, both had the settings proof.h lists,
 *     and this halyard promoted it after the write was sent, with every
 *     other replica in reach and caught up (so it is the replica that had
 *     received the most: backend_rt.promoted_how):
 *     what the old primary may have committed reached a replica first, and
 *     that replica's log is the one read; and no table the write (or its
 *     transaction) changed has triggers, seen (triggers_check: a BEFORE
 *     trigger's statement takes the write's place in Annotate_rows, the
 *     mark missing though it committed). An autocommit write is run once
 *     on the new primary (put back in front of `up`); a COMMIT is run again
 *     with its transaction by transaction_replay when that is on and the
 *     transaction replayable, else the client gets 1213 (rolled back);
 *   - otherwise (asynchronous replication, another halyard or an operator
 *     promoted, a setting missing, the log not read): error 1180 saying
 *     the outcome is unknown.
 * A dual-master pair is the same case as semi-sync replication (the
 * standby acknowledges the active, this halyard promotes it). On Galera
 * (view_query) the new writer's log is read once its Primary component no
 * longer lists the old writer, with wsrep_sync_wait on: a writeset its
 * writer committed had reached every member first, and a member applies
 * all of a view before it installs the next, so not found is proven not
 * committed when the new writer was Synced and Primary at its check
 * before the write.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/text.h"
#include "halyard/cluster/backend.h"
#include "halyard/cluster/primary_client.h"
#include "halyard/cluster/proof.h"
#include "halyard/core/stats.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_errors.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/protocol/sqlclient.h"
#include "halyard/sql/cache_sql.h"
#include "halyard/replay/inflight.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "halyard/sql/quote.h"
#include "halyard/sql/varstate.h"
#include "session_int.h"
#include "session_begin.h"
#include "session_inflight.h"
#include "session_pool.h"
#include "session_replay.h"

#define INFLIGHT_POLL      0.02                  /* seconds between looks for a new primary */
#define INFLIGHT_SCAN_MAX  (64ull * 1024 * 1024) /* binary log bytes read at most */
#define INFLIGHT_FILES     64                    /* files of SHOW BINARY LOGS looked at */
#define INFLIGHT_PKT_KEEP  16384 /* bytes of marked-statement buffer a session keeps */
#define INFLIGHT_VIEW_POLL 0.05  /* seconds between looks at a Galera node's view */
#define INFLIGHT_NOT_READY 0.1   /* seconds before asking a node that answered 1047 again */

/* What a step the new writer answered with 1047 does again
 * (not_ready_again): its query, its connection, or the binlog dump. */
enum not_ready_step { AGAIN_NONE, AGAIN_ASK, AGAIN_CONNECT, AGAIN_DUMP };

enum inflight_kind {
    IF_NONE,
    IF_WRITE,  /* an autocommit data-changing statement */
    IF_TRX,    /* a data-changing statement in a transaction */
    IF_COMMIT, /* the COMMIT of a transaction that carried a mark */
    IF_BEGIN,  /* BEGIN or START TRANSACTION outside a transaction: nothing to lose */
};

enum inflight_step {
    IS_IDLE,
    IS_WAIT,     /* waiting for a new primary */
    IS_CONNECT,  /* the monitor account's connection to it */
    IS_VIEW,     /* cluster = galera: its view, until the old writer has left it */
    IS_SYNC,     /* cluster = galera: its reads wait for what the cluster ordered before */
    IS_FILES,    /* SHOW BINARY LOGS */
    IS_START,    /* a file's Gtid_list: did it begin before the write? */
    IS_SCAN,     /* a file's events: the mark? */
    IS_ROWS,     /* found: its row events, read by a binlog dump */
    IS_AUTOINC,  /* the AUTO_INCREMENT column of its first inserted row's table */
    IS_TRIGGERS, /* not found: do the tables it wrote have triggers? (inflight.h) */
    IS_ENGINE,   /* found: is its rows' table transactional? */
};

struct sess_inflight {
    struct session *s;
    enum inflight_kind stmt;     /* the statement routed last (session_inflight_note) */
    enum inflight_kind inflight; /* the statement in flight, or IF_NONE */
    bool trx_marked;             /* the open transaction carries mark `seq` */
    bool trx_unmarked;           /* a statement of it that may have written went without the mark:
                                  * its COMMIT is not resolved (not found would prove nothing) */
    bool stmt_harmless; /* the statement routed last writes nothing (session_inflight_note) */
    bool annotate_own;  /* the session set binlog_annotate_row_events itself (proof.h) */
    enum inflight_kind ps_kind; /* the prepared write whose mark was taken */
    bool ps;                    /* the write in flight is an EXECUTE: `pkt` holds it unmarked */
    bool ps_insert;             /* ... of a text beginning with INSERT or REPLACE */
    uint64_t seq;               /* the session's last write transaction */
    /* the tables the marked writes of transaction `seq` change (tables_note) */
    char wrote[INFLIGHT_TABLES][INFLIGHT_TABLE_MAX];
    unsigned n_wrote;
    bool wrote_unknown; /* a write whose tables the text does not tell, or too many */
    char mark[INFLIGHT_MARK_MAX];
    size_t mark_len; /* without its trailing space */
    uint8_t *pkt;    /* the marked statement: header, command, mark, text */
    size_t pkt_cap;
    uint32_t pkt_len;
    /* resolving */
    enum inflight_step step;
    enum inflight_kind kind;
    double sent;     /* ev_now() when the write was sent */
    double deadline; /* past it, the outcome is unknown */
    uint16_t old;    /* the primary that died */
    int newp;        /* the new primary's index */
    char old_name[64], new_name[64];
    bool proven;        /* not found means not committed (see the top) */
    bool galera;        /* cluster = galera: the new writer's view is waited for */
    char old_self[128]; /* galera: how the members list the old writer ("" unknown) */
    bool have_before;   /* `before` was read: else the whole log is read */
    struct gtid_pos before;
    struct sqlclient *sc;
    char **files;
    uint64_t *sizes;
    size_t n_files, file; /* the file being looked at */
    uint64_t insert_id;
    bool lid_generated; /* insert_id is one the server generated: LAST_INSERT_ID() */
    uint64_t affected;
    bool found; /* the mark is in the events read (IS_SCAN) */
    /* found: where its rows begin (the event after its Annotate_rows) */
    bool found_annotate;
    uint64_t found_end;
    char found_file[256];
    struct sqlclient *dc; /* the binlog dump reading them */
    bool dc_set;          /* its SET (the replica's variables) went through */
    struct inflight_rows rows;
    char why[400]; /* why the outcome is unknown */
    char *asked;   /* the step's query, asked again after a 1047 (not_ready_again); heap */
    uint8_t again; /* enum not_ready_step: what f->wait's next expiry does again */
    ev_timer wait;
};

static void inflight_wait_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* This halyard process in the marks: 64 random bits drawn at its first
 * mark (inflight_boot_new), the same in every worker; 0 when the kernel
 * gave none (the write then goes unmarked: its outcome, if lost, unknown). */
static uint64_t boot_id(void)
{
    static _Atomic uint64_t boot;
    uint64_t b = atomic_load(&boot);
    if (b == 0) {
        uint64_t v, zero = 0;
        if (inflight_boot_new(&v) != HY_OK)
            return 0;
        atomic_compare_exchange_strong(&boot, &zero, v);
        b = atomic_load(&boot);
    }
    return b;
}

static struct sess_inflight *inflight_of(struct session *s)
{
    if (s->feat.inflight != NULL)
        return s->feat.inflight;
    struct sess_inflight *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->s = s;
    ev_init(&f->wait, inflight_wait_cb);
    s->feat.inflight = f;
    return f;
}

static void files_free(struct sess_inflight *f)
{
    for (size_t i = 0; i < f->n_files; i++)
        free(f->files[i]);
    free(f->files);
    free(f->sizes);
    f->files = NULL;
    f->sizes = NULL;
    f->n_files = f->file = 0;
}

void session_inflight_free(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    if (f == NULL)
        return;
    ev_timer_stop(s->w->loop, &f->wait);
    if (f->sc != NULL)
        sqlclient_destroy(f->sc);
    sqlclient_destroy(f->dc);
    inflight_rows_free(&f->rows);
    files_free(f);
    free(f->asked);
    free(f->pkt);
    free(f);
    s->feat.inflight = NULL;
}

/* Whether the text names `word` (upper case) anywhere, in any case (a
 * string or comment that only looks like it counts too: never wrong). */
static bool text_names(const char *p, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++)
        if ((p[i] & ~0x20) == word[0] && strncasecmp(p + i, word, w) == 0)
            return true;
    return false;
}

/* Whether the session set completion_type to anything but NO_CHAIN (0):
 * its COMMIT then begins another transaction (CHAIN) or ends the
 * connection (RELEASE), which an OK halyard sends after finding it
 * committed on another server would not do. */
static bool completion_not_plain(const struct session *s)
{
    static const char name[] = "completion_type";
    struct varstate_value v;
    if (s->vars.vs == NULL || !varstate_get(s->vars.vs, VS_SYSTEM, name, sizeof(name) - 1, &v) ||
        v.null)
        return false;
    if (v.type == VS_INT || v.type == VS_UINT)
        return !(v.len == 1 && v.data[0] == '0');
    return !(v.type == VS_STRING && v.len == 8 &&
             strncasecmp((const char *)v.data, "NO_CHAIN", 8) == 0);
}

void session_inflight_note(struct session *s, const struct classify_result *r, const uint8_t *p,
                           uint32_t avail, bool fits)
{
    /* A statement larger than the buffer is read as far as it is there
     * (its kind, from those bytes; its text searched in them): a text
     * search past them read beyond the buffer (a 3 MB INSERT of many rows
     * ended halyard). Its writes are never marked (inflight_send). */
    (void)fits;
    if (!s->cfg->resolve_in_flight_writes) /* off: a load and a branch */
        return;
    struct sess_inflight *f = inflight_of(s);
    if (f == NULL)
        return;
    const uint32_t unsafe = CLF_MULTI | CLF_UNTERMINATED | CLF_TOO_LONG | CLF_XA;
    f->stmt = IF_NONE;
    f->stmt_harmless = !(r->flags & (unsafe | CLF_ROUTINE_CALL | CLF_SELECT_INTO)) &&
                       (r->kind == CL_READ || r->kind == CL_SESSION ||
                        r->kind == CL_TXN_SAVEPOINT || r->kind == CL_EMPTY);
    if (r->kind == CL_WRITE && (r->flags & CLF_DML) && !(r->flags & unsafe))
        f->stmt = session_in_trans(s) ? IF_TRX : IF_WRITE;
    else if (r->kind == CL_TXN_BEGIN && !(r->flags & unsafe) && !session_in_trans(s))
        f->stmt = IF_BEGIN;
    else if (r->kind == CL_TXN_END && f->trx_marked && !f->trx_unmarked && session_in_trans(s) &&
             session_text_is((const char *)p + 1, avail - 1, "COMMIT", NULL) &&
             !completion_not_plain(s))
        f->stmt = IF_COMMIT;
    /* SET [SESSION|STATEMENT] binlog_annotate_row_events: its writes' text
     * may be missing from the binary log from now on */
    if ((r->kind == CL_SESSION || f->stmt == IF_WRITE || f->stmt == IF_TRX) && avail > 1 &&
        text_names((const char *)p + 1, avail - 1, "BINLOG_ANNOTATE_ROW_EVENTS"))
        f->annotate_own = true;
}

/* The client's packet (command byte and payload) kept in f->pkt. */
static bool keep_packet(struct sess_inflight *f, const uint8_t *p, uint32_t len)
{
    size_t n = MYSQL_HEADER_SIZE + (size_t)len;
    if (n > f->pkt_cap) {
        uint8_t *b = realloc(f->pkt, n);
        if (b == NULL)
            return false;
        f->pkt = b;
        f->pkt_cap = n;
    }
    mysql_hdr_write(f->pkt, len, 0);
    memcpy(f->pkt + MYSQL_HEADER_SIZE, p, len);
    f->pkt_len = (uint32_t)n;
    return true;
}

static bool inflight_send(struct session *s, struct sess_inflight *f, enum inflight_kind k,
                          uint8_t cmd, const uint8_t *p, uint32_t len, bool fits, uint32_t idx);

bool session_inflight_send(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                           bool fits, uint32_t idx)
{
    struct sess_inflight *f = s->feat.inflight;
    enum inflight_kind k = f->stmt;
    bool harmless = f->stmt_harmless;
    f->stmt = IF_NONE;
    f->stmt_harmless = false; /* another command than a COM_QUERY is not known to be */
    bool marked = inflight_send(s, f, k, cmd, p, len, fits, idx);
    if (!marked && !harmless && k != IF_COMMIT && idx == s->route.primary && session_in_trans(s))
        f->trx_unmarked = true;
    return marked;
}

void session_inflight_unmarked(struct session *s)
{
    /* not `fits`: never marked, but a write in a transaction is noted */
    uint32_t idx = s->conns.cur != NULL ? s->conns.cur->idx : UINT32_MAX;
    (void)session_inflight_send(s, COM_QUERY, NULL, 0, false, idx);
}

void session_inflight_replayed(struct session *s)
{
    /* A replay runs the statements as the client sent them, without the
     * mark: the transaction's writes on the primary it now runs on do not
     * carry it, and not finding it in a log there would prove nothing (a
     * second failover in one transaction): its COMMIT in flight gets 1927,
     * as when a write of it went unmarked. */
    struct sess_inflight *f = s->feat.inflight;
    if (f != NULL && f->trx_marked)
        f->trx_unmarked = true;
}

void session_inflight_nontrx(struct session *s)
{
    /* The server binlogged that write at once, carrying the transaction's
     * mark: finding the mark proves nothing of the COMMIT. */
    session_inflight_replayed(s);
}

/* The mark of the write transaction a write of kind `k` belongs to; false
 * when there is none (no process id: boot_id), and the write goes unmarked. */
static bool mark_take(struct session *s, struct sess_inflight *f, enum inflight_kind k)
{
    if (k == IF_WRITE || !f->trx_marked) {
        /* an autocommit write is a transaction of its own, or with
         * autocommit off the first of one: later writes carry its mark */
        uint64_t boot = boot_id();
        if (boot == 0)
            return false;
        f->seq++;
        f->trx_marked = true;
        f->n_wrote = 0;
        f->wrote_unknown = false;
        f->mark_len = inflight_mark(f->mark, boot, s->id, f->seq) - 1;
    }
    return true;
}

/* The table the marked write `sql` changes, noted for its transaction
 * (inflight.h, "Triggers"); one the text does not tell (several tables,
 * INSERT ... SELECT, a call of a function that may be stored, a user
 * variable...) leaves the transaction's unknown. A prepared text's `?`
 * marks stand for values: each is read as a 0 (in a string or a comment
 * too, which changes no table's name; not with a quoted name about). */
static void tables_note(struct session *s, struct sess_inflight *f, const char *sql, size_t len,
                        bool prepared)
{
    _Static_assert(INFLIGHT_TABLE_MAX == CACHE_SQL_NAME_MAX, "a table's name as cache_sql's");
    struct cache_sql w;
    char *copy = NULL;
    if (prepared && memchr(sql, '?', len) != NULL) {
        copy = memchr(sql, '`', len) == NULL ? malloc(len) : NULL;
        if (copy == NULL) {
            f->wrote_unknown = true;
            return;
        }
        for (size_t i = 0; i < len; i++)
            copy[i] = sql[i] == '?' ? '0' : sql[i];
        sql = copy;
    }
    enum cache_sql_verdict v =
        cache_sql_written(sql, len, s->route.lex_opts, session_schema(s), &w);
    free(copy);
    if (v != CACHE_SQL_OK) {
        f->wrote_unknown = true;
        return;
    }
    for (unsigned i = 0; i < f->n_wrote; i++)
        if (strcmp(f->wrote[i], w.tables[0]) == 0)
            return;
    if (f->n_wrote == INFLIGHT_TABLES) {
        f->wrote_unknown = true;
        return;
    }
    memcpy(f->wrote[f->n_wrote++], w.tables[0], sizeof(w.tables[0]));
}

/* ---- prepared writes
 * A statement's text is fixed at its PREPARE, and an EXECUTE carries only
 * its values: the mark cannot ride on it. So an EXECUTE of a write bound
 * for the primary runs a statement prepared there for it alone, its text
 * with the mark at its head (the one-off statement of session_ps.c, closed
 * at the statement's next execution). MariaDB logs an execution's text
 * with its values in place (the Annotate_rows of ROW format, the Query of
 * STATEMENT), comments kept, so the mark is found as a COM_QUERY's is. */

bool session_inflight_ps_mark(struct session *s)
{
    struct sess_inflight *f = inflight_of(s);
    if (f == NULL || f->step != IS_IDLE)
        return false;
    f->ps_kind = session_in_trans(s) ? IF_TRX : IF_WRITE;
    return mark_take(s, f, f->ps_kind);
}

uint64_t session_inflight_ps_seq(const struct session *s)
{
    return s->feat.inflight != NULL ? s->feat.inflight->seq : 0;
}

bool session_inflight_ps_same_trx(const struct session *s, uint64_t seq)
{
    const struct sess_inflight *f = s->feat.inflight;
    return f != NULL && f->step == IS_IDLE && f->trx_marked && !f->trx_unmarked &&
           f->ps_kind == IF_TRX && f->seq == seq && session_in_trans(s);
}

char *session_inflight_ps_text(struct session *s, const char *sql, uint32_t len, size_t *n)
{
    struct sess_inflight *f = s->feat.inflight;
    char *out = malloc(f->mark_len + 1 + (size_t)len);
    if (out == NULL)
        return NULL;
    memcpy(out, f->mark, f->mark_len + 1); /* the mark and its space */
    memcpy(out + f->mark_len + 1, sql, len);
    *n = f->mark_len + 1 + (size_t)len;
    tables_note(s, f, sql, len, true);
    return out;
}

void session_inflight_ps_sent(struct session *s, bool marked, const uint8_t *p, uint32_t len,
                              const char *sql, uint32_t sql_len)
{
    struct sess_inflight *f = inflight_of(s);
    if (f == NULL)
        return;
    f->stmt = IF_NONE;
    if (!marked) {
        if (session_in_trans(s))
            f->trx_unmarked = true;
        return;
    }
    f->ps = true;
    f->ps_insert = inflight_is_insert(sql, sql_len);
    if (f->ps_kind == IF_WRITE && !keep_packet(f, p, len))
        return; /* not resolved: the client gets 1927 */
    f->inflight = f->ps_kind;
}

/* session_inflight_send: true when the statement went with its mark. */
static bool inflight_send(struct session *s, struct sess_inflight *f, enum inflight_kind k,
                          uint8_t cmd, const uint8_t *p, uint32_t len, bool fits, uint32_t idx)
{
    if (k == IF_NONE || cmd != COM_QUERY || !fits || idx != s->route.primary ||
        s->route.ro_idx >= 0 || s->feat.groups != NULL)
        return false;
    f->ps = false;
    if (k == IF_COMMIT || k == IF_BEGIN) {
        /* sent as it is; a BEGIN kept to be sent again */
        if (k == IF_BEGIN && !keep_packet(f, p, len))
            return false;
        f->inflight = k;
        return false;
    }
    /* RETURNING: found committed, its rows could not be answered; unmarked,
     * it gets 1927 as without the option, never a wrong answer */
    if (text_names((const char *)p + 1, len - 1, "RETURNING"))
        return false;
    if (!mark_take(s, f, k))
        return false;
    size_t n = MYSQL_HEADER_SIZE + 1 + f->mark_len + 1 + (len - 1);
    if (n - MYSQL_HEADER_SIZE >= MYSQL_MAX_PAYLOAD)
        return false;
    if (n > f->pkt_cap) {
        uint8_t *b = realloc(f->pkt, n);
        if (b == NULL)
            return false;
        f->pkt = b;
        f->pkt_cap = n;
    }
    uint8_t *q = f->pkt + MYSQL_HEADER_SIZE;
    *q++ = COM_QUERY;
    memcpy(q, f->mark, f->mark_len + 1); /* the mark and its space */
    memcpy(q + f->mark_len + 1, p + 1, len - 1);
    mysql_hdr_write(f->pkt, (uint32_t)(n - MYSQL_HEADER_SIZE), 0);
    f->pkt_len = (uint32_t)n;
    if (k == IF_TRX) /* an autocommit write's are read from f->pkt if it is lost */
        tables_note(s, f, (const char *)p + 1, len - 1, false);
    consume_packet(s, len);
    command_send_rewritten(s, COM_QUERY, f->pkt, n);
    f->inflight = k;
    return true;
}

void session_inflight_done(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    if (f == NULL || f->step != IS_IDLE)
        return;
    /* A write of the transaction answered with an error may still have
     * changed a non-transactional table, which the server logs at once
     * with the statement's text, so the mark (a Query event with its
     * error code, or the rows it wrote); an ERR reports no transaction
     * state (session_inflight_nontrx). Finding the mark then proves
     * nothing of the COMMIT. With autocommit off and no transaction open
     * yet, the failed write's mark is not the transaction's: it is
     * dropped below, the next write takes its own, and that write's OK
     * reports the non-transactional change. */
    if (s->io.resp.err_code != 0 &&
        (f->inflight == IF_TRX ||
         (f->inflight == IF_WRITE && (s->route.status & SERVER_STATUS_IN_TRANS))))
        f->trx_unmarked = true;
    /* a write sent as autocommit that began a transaction (autocommit
     * off): its table counts for the transaction's COMMIT */
    if (f->inflight == IF_WRITE && !f->ps && (s->route.status & SERVER_STATUS_IN_TRANS))
        tables_note(s, f, (const char *)f->pkt + MYSQL_HEADER_SIZE + 1 + f->mark_len + 1,
                    f->pkt_len - (MYSQL_HEADER_SIZE + 1 + f->mark_len + 1), false);
    f->inflight = IF_NONE;
    if (f->pkt_cap > INFLIGHT_PKT_KEEP) { /* a large write's copy is not kept */
        free(f->pkt);
        f->pkt = NULL;
        f->pkt_cap = f->pkt_len = 0;
    }
    bool primary = s->conns.cur == NULL || s->conns.cur->idx == s->route.primary;
    /* no transaction open, or the statement ended it and another is open
     * (a BEGIN inside one, a chained COMMIT): the next write takes a mark
     * of its own, never the committed transaction's */
    if (primary && (!(s->route.status & SERVER_STATUS_IN_TRANS) ||
                    (s->query.cmd == COM_QUERY && s->query.cmd_trx_bound != 0)))
        f->trx_marked = f->trx_unmarked = false;
}

/* ---- the answer */

/* The session goes on: the client's next statement is read. */
static void inflight_end(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    ev_timer_stop(s->w->loop, &f->wait);
    if (f->sc != NULL) {
        sqlclient_destroy(f->sc);
        f->sc = NULL;
    }
    sqlclient_destroy(f->dc);
    f->dc = NULL;
    inflight_rows_free(&f->rows);
    files_free(f);
    free(f->asked);
    f->asked = NULL;
    f->again = AGAIN_NONE;
    f->step = IS_IDLE;
    f->inflight = IF_NONE;
    f->trx_marked = f->trx_unmarked = false;
    command_end(s);
    session_reap(s);
}

/* The session stops waiting: it answers now. */
static void inflight_idle(struct session *s)
{
    if (s->state != SS_IDLE)
        session_set_state(s, SS_IDLE);
}

static void inflight_unknown(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    inflight_idle(s);
    stat_inc(&s->w->stats.inflight_unknown);
    slog_warn(s, "the %s in flight when %s died: outcome unknown: %s",
              f->kind == IF_COMMIT ? "COMMIT" : "write", f->old_name, f->why);
    if (f->kind == IF_COMMIT)
        session_replay_forget(s);
    session_err(s, 1, SERR_WRITE_UNKNOWN, f->old_name, f->why);
    inflight_end(s);
}

static void inflight_committed(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    inflight_idle(s);
    stat_inc(&s->w->stats.inflight_committed);
    slog_info(s, "the %s in flight when %s died had committed (found in the binary log of %s)",
              f->kind == IF_COMMIT ? "COMMIT" : "write", f->old_name, f->new_name);
    if (f->kind == IF_COMMIT)
        session_replay_forget(s);
    route_trx_closed(s); /* committed: none is open */
    /* LAST_INSERT_ID(): the id when the server generated it (autoinc_read),
     * else not known (an id the statement gave, or an update's) */
    if (f->kind == IF_WRITE && f->insert_id != 0 && f->lid_generated)
        session_pool_lid_set(s, f->insert_id);
    else if (f->kind == IF_WRITE && f->insert_id != 0)
        session_pool_lid_unknown(s, "a write found committed after a failover, whose insert id "
                                    "may not be a generated one");
    send_ok_counts(s, 1, f->affected, f->insert_id);
    inflight_end(s);
}

/* An autocommit write found committed whose OK cannot be rebuilt (what
 * it would have said is not in the log, or not read): 1180 saying so,
 * never an OK with 0 rows where the server answered others. */
static void inflight_uncounted(struct session *s, const char *why)
{
    struct sess_inflight *f = s->feat.inflight;
    inflight_idle(s);
    stat_inc(&s->w->stats.inflight_committed);
    slog_warn(s,
              "the write in flight when %s died had committed (found in the binary log of %s), "
              "but its affected rows and insert id are unknown: %s",
              f->old_name, f->new_name, why);
    route_trx_closed(s); /* committed: none is open */
    session_err(s, 1, SERR_WRITE_UNCOUNTED, f->old_name, f->new_name, why);
    inflight_end(s);
}

/* Not committed, proven: run it once on the new primary. */
static void inflight_not_committed(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    inflight_idle(s);
    uint8_t commit[64];
    uint32_t clen = 0;
    char why[160];
    if (f->kind == IF_COMMIT) {
        if (!session_replay_commit_lost(s, f->old_name, commit, sizeof(commit), &clen, why,
                                        sizeof(why))) {
            stat_inc(&s->w->stats.inflight_rolled_back);
            slog_info(s,
                      "the COMMIT in flight when %s died had not committed, and its "
                      "transaction cannot be run again: %s",
                      f->old_name, why);
            char msg[240];
            snprintf(msg, sizeof(msg), "its COMMIT did not commit, and %s", why);
            session_err(s, 1, SERR_REPLAY_MISMATCH, f->old_name, msg);
            inflight_end(s);
            return;
        }
        if (!up_unread(s, commit, clen)) {
            snprintf(f->why, sizeof(f->why), "no room to send it again");
            inflight_unknown(s);
            return;
        }
    } else if (f->ps) {
        /* the EXECUTE as the client sent it: prepared and marked anew there */
        if (!up_unread(s, f->pkt + MYSQL_HEADER_SIZE, f->pkt_len - MYSQL_HEADER_SIZE)) {
            snprintf(f->why, sizeof(f->why), "no room to send it again");
            inflight_unknown(s);
            return;
        }
    } else {
        /* as the client sent it: the command byte where the mark's space
         * was, then the text */
        uint8_t *orig = f->pkt + MYSQL_HEADER_SIZE + 1 + f->mark_len;
        orig[0] = COM_QUERY;
        if (!up_unread(s, orig, f->pkt_len - (uint32_t)(MYSQL_HEADER_SIZE + 1 + f->mark_len))) {
            snprintf(f->why, sizeof(f->why), "no room to send it again");
            inflight_unknown(s);
            return;
        }
    }
    stat_inc(&s->w->stats.inflight_rerun);
    slog_info(s, "the %s in flight when %s died had not committed: running it on %s",
              f->kind == IF_COMMIT ? "COMMIT" : "write", f->old_name, f->new_name);
    inflight_end(s);
}

/* ---- reading the new primary's binary log */

static void lookup_cb(struct sqlclient *c, const struct sqlresult *res, void *arg);
static void scan_row_cb(struct sqlclient *c, const struct sqlresult *res, void *arg);

/* Milliseconds one step of the search may take: what is left of
 * replay_timeout_ms from the loss, at least `floor_ms`. Not a check's
 * timeout (monitor.timeout_ms): right after a failover the new primary is
 * busy (on Galera its reads also wait, wsrep_sync_wait, for what the
 * cluster ordered before them), and in CI one read of a Galera writer's
 * log took over the 1 s a check may, under load. */
static int inflight_budget_ms(const struct session *s, int floor_ms)
{
    double left = (s->feat.inflight->deadline - ev_now(s->w->loop)) * 1000.0;
    return left > floor_ms ? (int)left + 1 : floor_ms; /* + 1: never short of the deadline */
}

/* Query the new primary as monitor.user, within the step's budget; the
 * query is kept to be asked again (not_ready_again). */
static hy_status_t lookup_ask(struct session *s, const char *sql)
{
    struct sess_inflight *f = s->feat.inflight;
    if (sql != f->asked) {
        free(f->asked);
        if ((f->asked = strdup(sql)) == NULL)
            return HY_NOMEM;
    }
    sqlclient_set_timeout(f->sc, inflight_budget_ms(s, s->cfg->monitor.timeout_ms));
    if (f->step != IS_SCAN)
        return sqlclient_query(f->sc, f->asked, lookup_cb, s);
    /* A file's events, row by row: a whole file's SHOW BINLOG EVENTS is
     * more than one result may hold (SQLCLIENT_MAX_RESULT). */
    f->found = false;
    f->insert_id = 0;
    return sqlclient_query_rows(f->sc, f->asked, scan_row_cb, lookup_cb, s);
}

/* The new writer answered a step (a query, the login, the binlog dump's
 * set-up or the dump) with 1047 (WSREP has not yet prepared node for
 * application use): a Galera node that is settling after the old
 * writer's loss (a view change, a short desync), which will answer within
 * moments. The step (`what`) is done again INFLIGHT_NOT_READY later,
 * within what is left of replay_timeout_ms; after that the outcome is
 * unknown. Before, the first 1047 gave 1180 at once. True when it will
 * be done again. */
static bool not_ready_again(struct session *s, const struct sqlresult *res,
                            enum not_ready_step what)
{
    struct sess_inflight *f = s->feat.inflight;
    if (res->ok || res->err_code != ER_WSREP_NOT_READY || (what == AGAIN_ASK && f->asked == NULL) ||
        ev_now(s->w->loop) + INFLIGHT_NOT_READY >= f->deadline)
        return false;
    slog_info(s, "%s answered error %u to the search for the write in flight: %s again",
              f->new_name, res->err_code,
              what == AGAIN_ASK       ? "asking"
              : what == AGAIN_CONNECT ? "connecting"
                                      : "dumping");
    f->again = (uint8_t)what;
    ev_timer_stop(s->w->loop, &f->wait);
    ev_timer_set(&f->wait, INFLIGHT_NOT_READY, 0.);
    ev_timer_start(s->w->loop, &f->wait);
    return true;
}

static void lookup_query(struct session *s, const char *fmt, const char *file)
{
    struct sess_inflight *f = s->feat.inflight;
    char sql[320];
    char q[260] = ""; /* a format without a file has nothing at its %s */
    if (file != NULL && sql_quote(q, sizeof(q), file, SQ_BACKSLASH) == 0) {
        snprintf(f->why, sizeof(f->why), "binary log name too long: %.64s", file);
        inflight_unknown(s);
        return;
    }
    snprintf(sql, sizeof(sql), fmt, q);
    if (lookup_ask(s, sql) != HY_OK) {
        snprintf(f->why, sizeof(f->why), "could not query %s", f->new_name);
        inflight_unknown(s);
    }
}

/* The newest good check of the new primary whose answer had come before
 * the write was sent: its position then, and whether it acknowledged
 * semi-sync; and the old primary's mode at its last check before it. */
static bool proof_read(struct sess_inflight *f, const struct config *cfg)
{
    struct backend_info *in = malloc(sizeof(*in));
    if (in == NULL)
        return false;
    bool found = false, replica_semi = false, primary_semi = false, member = false;
    unsigned new_have = 0, old_have = 0;
    backend_info_get(cfg->backends[f->newp].rt, in);
    for (size_t i = 0; i < BACKEND_SEEN && !found; i++)
        if (in->seen[i].at > 0 && in->seen[i].at < f->sent) {
            found = gtid_pos_parse(in->seen[i].gtid_binlog, strlen(in->seen[i].gtid_binlog),
                                   &f->before) == HY_OK;
            replica_semi = in->seen[i].semisync_replica;
            member = in->seen[i].galera_member;
            new_have = in->seen[i].proof_have;
        }
    f->old_self[0] = '\0';
    backend_info_get(cfg->backends[f->old].rt, in);
    for (size_t i = 0; i < BACKEND_SEEN; i++)
        if (in->seen[i].at > 0 && in->seen[i].at < f->sent) {
            primary_semi = in->seen[i].semisync_primary;
            old_have = in->seen[i].proof_have;
            snprintf(f->old_self, sizeof(f->old_self), "%s", in->seen[i].galera_self);
            break;
        }
    free(in);
    char unproven[300];
    bool settings = proof_settings_hold(old_have, new_have, f->annotate_own, f->old_name,
                                        f->new_name, unproven, sizeof(unproven));
    f->galera = cfg->cluster == CLUSTER_GALERA;
    if (f->galera) {
        f->have_before = found;
        f->proven = found && member && f->old_self[0] != '\0' && settings;
        if (!found)
            snprintf(f->why, sizeof(f->why),
                     "no monitor check of %s finished before the write was sent", f->new_name);
        else if (!member)
            snprintf(f->why, sizeof(f->why),
                     "not in the binary log of %s, which was not Synced in the Primary "
                     "component when the write was sent",
                     f->new_name);
        else if (!settings)
            snprintf(f->why, sizeof(f->why), "not in the binary log of %s, %s", f->new_name,
                     unproven);
        else if (!f->proven)
            snprintf(f->why, sizeof(f->why),
                     "not in the binary log of %s, and how the cluster lists %s is unknown",
                     f->new_name, f->old_name);
        return true;
    }
    /* when this halyard's failover published it, and how (proof.h): both
     * stored before its role (fx_publish_primary), which
     * backend_primary_index read relaxed; the fence makes them seen */
    atomic_thread_fence(memory_order_acquire);
    bool promoted =
        atomic_load(&cfg->backends[f->newp].rt->failover_at_us) > (int64_t)(f->sent * 1e6);
    enum proof_promotion how = atomic_load(&cfg->backends[f->newp].rt->promoted_how);
    f->have_before = found;
    f->proven =
        found && replica_semi && primary_semi && settings && promoted && how == PROOF_PROMOTED;
    if (!found)
        snprintf(f->why, sizeof(f->why),
                 "no monitor check of %s finished before the write was sent", f->new_name);
    else if (!primary_semi || !replica_semi)
        snprintf(f->why, sizeof(f->why),
                 "not in the binary log of %s, and replication was not semi-synchronous "
                 "(AFTER_SYNC) from %s to it",
                 f->new_name, f->old_name);
    else if (!settings)
        snprintf(f->why, sizeof(f->why), "not in the binary log of %s, %s", f->new_name, unproven);
    else if (!promoted)
        snprintf(f->why, sizeof(f->why),
                 "not in the binary log of %s, which this halyard did not promote", f->new_name);
    else if (!f->proven)
        snprintf(f->why, sizeof(f->why), "not in the binary log of %s, %s", f->new_name,
                 proof_promotion_why(how));
    return true;
}

static bool files_take(struct sess_inflight *f, const struct sqlresult *res)
{
    if (res->n_cols < 2 || res->n_rows == 0)
        return false;
    size_t n = res->n_rows > INFLIGHT_FILES ? INFLIGHT_FILES : res->n_rows;
    size_t first = res->n_rows - n;
    f->files = calloc(n, sizeof(*f->files));
    f->sizes = calloc(n, sizeof(*f->sizes));
    if (f->files == NULL || f->sizes == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *name = sqlresult_get(res, first + i, 0);
        const char *size = sqlresult_get(res, first + i, 1);
        if (name == NULL || (f->files[i] = strdup(name)) == NULL)
            return false;
        f->n_files = i + 1;
        if (!hy_str_u64(size, INFLIGHT_SCAN_MAX, &f->sizes[i]))
            f->sizes[i] = INFLIGHT_SCAN_MAX + 1; /* NULL, not a number: over the bound */
    }
    f->file = n - 1;
    return true;
}

/* The mark in one file's events: true when found. */
static bool scan_rows(struct sess_inflight *f, const struct sqlresult *res)
{
    int type = sqlresult_col(res, "Event_type"), info = sqlresult_col(res, "Info");
    int end = sqlresult_col(res, "End_log_pos");
    if (type < 0 || info < 0)
        return false;
    for (size_t r = 0; r < res->n_rows; r++) {
        const char *t = sqlresult_get(res, r, type);
        const char *i = sqlresult_get(res, r, info);
        if (t != NULL && strcmp(t, "Intvar") == 0) {
            f->insert_id = inflight_insert_id(i);
            continue;
        }
        if (inflight_info_has(i, f->mark, f->mark_len)) {
            const char *e = end >= 0 ? sqlresult_get(res, r, end) : NULL;
            uint64_t e_pos = 0; /* End_log_pos: NULL or not a number, not found */
            bool e_ok = hy_str_u64(e, UINT32_MAX, &e_pos);
            f->found_annotate = t != NULL && strcmp(t, "Annotate_rows") == 0 && e_ok;
            f->found_end = e_pos;
            snprintf(f->found_file, sizeof(f->found_file), "%s", f->files[f->file]);
            return true;
        }
        if (t != NULL && (strcmp(t, "Query") == 0 || strcmp(t, "Annotate_rows") == 0))
            f->insert_id = 0; /* an Intvar goes with the statement right after it */
    }
    return false;
}

/* An event of the file being read (IS_SCAN), until the mark is found;
 * the events after it are read and dropped. Past replay_timeout_ms the
 * read stops there: the rows come as long as the server sends them, each
 * within the client's timeout. */
static void scan_row_cb(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct session *s = arg;
    struct sess_inflight *f = s->feat.inflight;
    if (!f->found)
        f->found = scan_rows(f, res);
    if (!f->found && ev_now(s->w->loop) >= f->deadline) {
        sqlclient_close(c);
        snprintf(f->why, sizeof(f->why),
                 "reading the binary log of %s did not end within replay_timeout_ms (%d ms)",
                 f->new_name, s->cfg->replay_timeout_ms);
        inflight_unknown(s);
    }
}

/* Read the events of f->file and every later file, within the bound. */
static void scan_from_here(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    uint64_t bytes = 0;
    for (size_t i = f->file; i < f->n_files; i++)
        bytes += f->sizes[i];
    if (bytes > INFLIGHT_SCAN_MAX) {
        snprintf(f->why, sizeof(f->why),
                 "%" PRIu64 " bytes of binary log of %s to read, over the bound", bytes,
                 f->new_name);
        inflight_unknown(s);
        return;
    }
    f->step = IS_SCAN;
    lookup_query(s, "SHOW BINLOG EVENTS IN %s", f->files[f->file]);
}

/* ---- found committed: its affected rows and insert id, from its row
 * events (ROW format). Read by a binlog dump (COM_BINLOG_DUMP, which
 * needs REPLICATION SLAVE: as replication_user when it is set, else as
 * monitor.user) from the event after its Annotate_rows to its XID. Any
 * failure here gives 1180 saying the write committed but its affected
 * rows are unknown: 0 rows would be a wrong answer. */

static void rows_give_up(struct session *s, const char *why)
{
    struct sess_inflight *f = s->feat.inflight;
    sqlclient_destroy(f->dc);
    f->dc = NULL;
    char msg[200];
    snprintf(msg, sizeof(msg), "its row events not read (%.160s)", why);
    inflight_uncounted(s, msg);
}

/* The binlog dump's connection, set-up or dump failed: started again
 * after a 1047 (not_ready_again), else the rows are not read. */
static void rows_failed(struct session *s, const struct sqlresult *res, const char *why)
{
    struct sess_inflight *f = s->feat.inflight;
    if (!not_ready_again(s, res, AGAIN_DUMP)) {
        rows_give_up(s, why);
        return;
    }
    sqlclient_destroy(f->dc);
    f->dc = NULL;
}

/* Whether the text of the write in flight (a COM_QUERY's: not f->ps)
 * holds `word`, upper case. */
static bool written_names(const struct sess_inflight *f, const char *word)
{
    return text_names((const char *)f->pkt + MYSQL_HEADER_SIZE + 1,
                      f->pkt_len - MYSQL_HEADER_SIZE - 1, word);
}

/* Its table's AUTO_INCREMENT column's position (0: none) and its number
 * of columns (0: the table is not visible to monitor.user). */
static void autoinc_read(struct session *s, const struct sqlresult *res)
{
    struct sess_inflight *f = s->feat.inflight;
    const char *v = res->ok && res->n_rows == 1 ? sqlresult_get(res, 0, 0) : NULL;
    const char *n = res->ok && res->n_rows == 1 ? sqlresult_get(res, 0, 1) : NULL;
    const char *col = res->ok && res->n_rows == 1 ? sqlresult_get(res, 0, 2) : NULL;
    uint64_t pos = 0; /* NULL or not a number: 0, no column */
    if (!hy_str_u64(v, UINT32_MAX, &pos))
        pos = 0;
    if (pos >= 1 && pos <= f->rows.first_n && f->rows.first_int[pos - 1]) {
        f->insert_id = f->rows.first_val[pos - 1];
        /* generated by the server, so LAST_INSERT_ID(), when the text
         * names neither the column nor an update */
        f->lid_generated = !f->ps && col != NULL && isalpha((unsigned char)col[0]) &&
                           !written_names(f, col) && !written_names(f, "UPDATE");
    } else if (!res->ok || n == NULL || strcmp(n, "0") == 0) {
        /* whether it has an AUTO_INCREMENT column is not known: an insert
         * id 0 could be a wrong answer */
        char why[256];
        snprintf(why, sizeof(why), "the columns of %.40s.%.40s not seen by monitor.user%s%.40s",
                 f->rows.db, f->rows.table, res->ok ? "" : ": ", res->ok ? "" : res->err_msg);
        inflight_uncounted(s, why);
        return;
    }
    inflight_committed(s);
}

static void rows_count(struct session *s);

static void rows_finish(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    sqlclient_destroy(f->dc);
    f->dc = NULL;
    if (f->rows.failed) {
        rows_give_up(s, "an event of it could not be read");
        return;
    }
    if (f->rows.tables_many) {
        /* a trigger's rows would be counted, its insert id taken */
        inflight_uncounted(s, "its row events are on several tables (a trigger's, or a "
                              "multi-table statement's)");
        return;
    }
    /* Under CLIENT_FOUND_ROWS an UPDATE (or ON DUPLICATE KEY UPDATE)
     * counts the rows it matched; the log holds those it changed. */
    if ((s->who.caps & CLIENT_FOUND_ROWS) && (f->ps || written_names(f, "UPDATE"))) {
        inflight_uncounted(s, "the client counts the rows found (CLIENT_FOUND_ROWS), "
                              "the binary log those changed");
        return;
    }
    /* its table's engine: rows of a non-transactional table are logged
     * at the statement's end even when the statement then fails (a
     * trigger's write to another table, a later row), so the rows found
     * need not be an OK's */
    char db[2 * sizeof(f->rows.db) + 2], tb[2 * sizeof(f->rows.table) + 2], sql[600];
    if (f->rows.db[0] == '\0') {
        rows_count(s);
        return;
    }
    if (sql_quote(db, sizeof(db), f->rows.db, SQ_BACKSLASH) == 0 ||
        sql_quote(tb, sizeof(tb), f->rows.table, SQ_BACKSLASH) == 0) {
        inflight_uncounted(s, "its table's name does not quote");
        return;
    }
    snprintf(sql, sizeof(sql),
             "SELECT e.TRANSACTIONS FROM information_schema.TABLES t JOIN "
             "information_schema.ENGINES e ON e.ENGINE = t.ENGINE WHERE t.TABLE_SCHEMA = %s "
             "AND t.TABLE_NAME = %s",
             db, tb);
    f->step = IS_ENGINE;
    if (lookup_ask(s, sql) != HY_OK)
        inflight_uncounted(s, "its table's engine could not be asked for");
}

/* IS_ENGINE's answer: a transactional table's rows are its OK's. */
static void engine_read(struct session *s, const struct sqlresult *res)
{
    struct sess_inflight *f = s->feat.inflight;
    const char *v = res->ok && res->n_rows == 1 ? sqlresult_get(res, 0, 0) : NULL;
    if (v != NULL && strcasecmp(v, "YES") == 0) {
        rows_count(s);
        return;
    }
    snprintf(f->why, sizeof(f->why),
             "found in the binary log of %.32s, but %.64s.%.64s is %s: the server logs such "
             "rows even when the statement then fails",
             f->new_name, f->rows.db, f->rows.table,
             v != NULL ? "not transactional" : "of an engine monitor.user does not see");
    inflight_unknown(s);
}

/* Its OK: the rows found, and the insert id. */
static void rows_count(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    f->affected = f->rows.affected;
    if (!f->rows.want_first || !f->rows.have_first) {
        inflight_committed(s);
        return;
    }
    /* every byte escaped, and the quotes: the names always fit */
    char db[2 * sizeof(f->rows.db) + 2], tb[2 * sizeof(f->rows.table) + 2], sql[600];
    if (sql_quote(db, sizeof(db), f->rows.db, SQ_BACKSLASH) == 0 ||
        sql_quote(tb, sizeof(tb), f->rows.table, SQ_BACKSLASH) == 0) {
        inflight_committed(s);
        return;
    }
    snprintf(sql, sizeof(sql),
             "SELECT IFNULL(MAX(IF(EXTRA LIKE '%%auto_increment%%', ORDINAL_POSITION, 0)), 0), "
             "COUNT(*), MAX(IF(EXTRA LIKE '%%auto_increment%%', UPPER(COLUMN_NAME), NULL)) "
             "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
             "AND TABLE_NAME = %s",
             db, tb);
    f->step = IS_AUTOINC;
    if (lookup_ask(s, sql) != HY_OK) {
        f->step = IS_IDLE;
        inflight_committed(s);
    }
}

static bool rows_packet(struct sqlclient *c, const uint8_t *p, size_t len, void *arg)
{
    (void)c;
    struct session *s = arg;
    struct sess_inflight *f = s->feat.inflight;
    if (len < 1 || p[0] != 0x00)
        f->rows.failed = f->rows.done = true;
    else
        inflight_rows_event(&f->rows, p + 1, len - 1);
    if (!f->rows.done)
        return true;
    rows_finish(s); /* destroys the client */
    return false;
}

static void rows_ended(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct session *s = arg;
    struct sess_inflight *f = s->feat.inflight;
    if (!res->ok) {
        char why[300];
        snprintf(why, sizeof(why), "binlog dump: %s", res->err_msg);
        rows_failed(s, res, why);
        return;
    }
    f->rows.failed = true; /* the log ended before the transaction did */
    rows_finish(s);
}

static void rows_dump(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct session *s = arg;
    struct sess_inflight *f = s->feat.inflight;
    if (!res->ok) {
        char why[300];
        snprintf(why, sizeof(why), "%s", res->err_msg);
        rows_failed(s, res, why);
        return;
    }
    if (f->dc_set) {
        /* the SET went through: the dump */
        uint8_t req[4 + 2 + 4 + sizeof(f->found_file)], *q = req;
        for (int i = 0; i < 4; i++)
            *q++ = (uint8_t)(f->found_end >> (8 * i));
        *q++ = 0x01; /* BINLOG_DUMP_NON_BLOCK: an EOF at the log's end */
        *q++ = 0;
        for (int i = 0; i < 4; i++)
            *q++ = 0; /* server_id 0: no replica of that id is displaced */
        size_t n = strlen(f->found_file);
        memcpy(q, f->found_file, n);
        q += n;
        if (sqlclient_stream(c, COM_BINLOG_DUMP, req, (size_t)(q - req), rows_packet, rows_ended,
                             s) != HY_OK)
            rows_give_up(s, "the dump could not be sent");
        return;
    }
    f->dc_set = true;
    if (sqlclient_query(c,
                        "SET @master_binlog_checksum = @@global.binlog_checksum, "
                        "@mariadb_slave_capability = 4",
                        rows_dump, s) != HY_OK)
        rows_give_up(s, "the dump could not be set up");
}

static void rows_start(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    const struct config *cfg = s->cfg;
    const struct config_backend *b = &cfg->backends[f->newp];
    bool repl = cfg->replication_user != NULL && cfg->replication_user[0] != '\0';
    struct sqlclient_target t = {
        .name = b->name,
        .address = b->address,
        .port = b->port,
        .user = repl ? cfg->replication_user : cfg->monitor.user,
        .password = repl ? cfg->replication_password : cfg->monitor.password,
        .tls = b->tls,
        .tls_ctx = b->tls_ctx,
    };
    size_t skip = MYSQL_HEADER_SIZE + 1 + f->mark_len + 1; /* a COM_QUERY's text, unmarked */
    inflight_rows_free(&f->rows);
    memset(&f->rows, 0, sizeof(f->rows));
    f->rows.want_first = f->rows.dup_counts_2 =
        f->ps ? f->ps_insert : inflight_is_insert((const char *)f->pkt + skip, f->pkt_len - skip);
    f->step = IS_ROWS;
    f->dc_set = false;
    f->dc = sqlclient_create(s->w->loop, &t, inflight_budget_ms(s, cfg->connect_timeout_ms));
    if (f->dc == NULL || sqlclient_connect(f->dc, rows_dump, s) != HY_OK)
        rows_give_up(s, "no connection for a binlog dump");
}

/* ---- not found, and the proof holds: unless a table the write (or its
 * transaction) changed has triggers, or may have (inflight.h,
 * "Triggers"), it did not commit. Tables the text does not tell (an
 * INSERT ... SELECT, a call of a function that may be stored...) cannot
 * be looked up: the outcome is unknown (1180), never a second run. */

static void triggers_check(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    if (f->kind == IF_WRITE && !f->ps) {
        size_t skip = MYSQL_HEADER_SIZE + 1 + f->mark_len + 1;
        tables_note(s, f, (const char *)f->pkt + skip, f->pkt_len - skip, false);
    }
    char sql[INFLIGHT_TRIG_SQL];
    size_t n = f->wrote_unknown ? 0 : inflight_triggers_sql(sql, sizeof(sql), f->wrote, f->n_wrote);
    if (n == 0) {
        snprintf(f->why, sizeof(f->why),
                 "not in the binary log of %s, and which tables it changed is not known (a "
                 "trigger of one may have put its own statement in the log in the write's "
                 "place, without the mark)",
                 f->new_name);
        inflight_unknown(s);
        return;
    }
    f->step = IS_TRIGGERS;
    if (lookup_ask(s, sql) != HY_OK) {
        snprintf(f->why, sizeof(f->why), "could not query %s", f->new_name);
        inflight_unknown(s);
    }
}

static void triggers_read(struct session *s, const struct sqlresult *res)
{
    struct sess_inflight *f = s->feat.inflight;
    if (!res->ok || res->n_cols < 4 || res->n_rows != f->n_wrote) {
        snprintf(f->why, sizeof(f->why),
                 "not in the binary log of %s, and whether the tables it changed have "
                 "triggers is not known: %.160s",
                 f->new_name, res->ok ? "an answer of another shape" : res->err_msg);
        inflight_unknown(s);
        return;
    }
    for (size_t r = 0; r < res->n_rows; r++) {
        const char *v[4];
        for (int c = 0; c < 4; c++)
            v[c] = sqlresult_get(res, r, c);
        uint64_t i; /* the table's index; NULL or not a number: f->n_wrote, "a table" */
        int64_t k[3];
        if (!hy_str_u64(v[0], f->n_wrote, &i))
            i = f->n_wrote;
        bool counts = true;
        for (int c = 0; c < 3; c++)
            counts = counts && hy_str_i64(v[c + 1], INT32_MIN, INT32_MAX, &k[c]);
        const char *why =
            i < f->n_wrote && counts ? inflight_triggers_why(k[0], k[1], k[2]) : "is not known";
        if (why != NULL) {
            snprintf(f->why, sizeof(f->why), "not in the binary log of %s, but %.130s %s",
                     f->new_name, i < f->n_wrote ? f->wrote[i] : "a table", why);
            inflight_unknown(s);
            return;
        }
    }
    inflight_not_committed(s);
}

/* cluster = galera. A writeset its writer committed had reached every
 * member of its view first (Galera delivers a writeset, to its sender too,
 * only once all members have it), and a member delivers and applies what
 * it received of a view before it installs the next one. So once the new
 * writer is in a Primary component without the old one, and its reads
 * wait for what the cluster ordered before them (wsrep_sync_wait), a write
 * the old writer committed is in its binary log (log_slave_updates). */
static void view_query(struct session *s)
{
    s->feat.inflight->step = IS_VIEW;
    lookup_query(s,
                 "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_status', "
                 "'wsrep_incoming_addresses')%s",
                 NULL);
}

/* Whether the view `res` (view_query's answer) is a Primary component
 * that does not list the old writer. */
static bool view_left(const struct sess_inflight *f, const struct sqlresult *res)
{
    bool primary = false;
    const char *list = NULL;
    for (size_t r = 0; r < res->n_rows; r++) {
        const char *k = sqlresult_get(res, r, 0), *v = sqlresult_get(res, r, 1);
        if (k == NULL || v == NULL)
            continue;
        if (strcasecmp(k, "wsrep_cluster_status") == 0)
            primary = strcmp(v, "Primary") == 0;
        else if (strcasecmp(k, "wsrep_incoming_addresses") == 0)
            list = v;
    }
    if (!primary || list == NULL)
        return false;
    size_t n = strlen(f->old_self);
    for (const char *p = list; p != NULL;) {
        const char *e = strchr(p, ',');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, f->old_self, n) == 0)
            return false;
        p = e != NULL ? e + 1 : NULL;
    }
    return true;
}

static void lookup_cb(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct session *s = arg;
    struct sess_inflight *f = s->feat.inflight;
    if (not_ready_again(s, res, f->step == IS_CONNECT ? AGAIN_CONNECT : AGAIN_ASK))
        return;
    if (f->step == IS_AUTOINC) {
        autoinc_read(s, res);
        return;
    }
    if (f->step == IS_TRIGGERS) {
        triggers_read(s, res);
        return;
    }
    if (f->step == IS_ENGINE) {
        engine_read(s, res);
        return;
    }
    if (!res->ok && res->err_code == 0 && ev_now(s->w->loop) >= f->deadline) {
        snprintf(f->why, sizeof(f->why),
                 "reading the binary log of %s did not end within replay_timeout_ms (%d ms): %s",
                 f->new_name, s->cfg->replay_timeout_ms, res->err_msg);
        inflight_unknown(s);
        return;
    }
    if (!res->ok) {
        snprintf(f->why, sizeof(f->why), "reading the binary log of %s failed: %s", f->new_name,
                 res->err_msg);
        inflight_unknown(s);
        return;
    }
    switch (f->step) {
    case IS_CONNECT:
        if (f->galera && f->old_self[0] != '\0') {
            view_query(s);
            return;
        }
        if (f->galera) {
            f->step = IS_SYNC;
            lookup_query(s, "SET SESSION wsrep_sync_wait = 15", NULL);
            return;
        }
        f->step = IS_FILES;
        lookup_query(s, "SHOW BINARY LOGS", NULL);
        return;
    case IS_VIEW:
        if (view_left(f, res)) {
            f->step = IS_SYNC;
            lookup_query(s, "SET SESSION wsrep_sync_wait = 15", NULL);
            return;
        }
        if (ev_now(s->w->loop) >= f->deadline) {
            snprintf(f->why, sizeof(f->why),
                     "%s still counted %s (%s) in its Primary component after "
                     "replay_timeout_ms (%d ms)",
                     f->new_name, f->old_name, f->old_self, s->cfg->replay_timeout_ms);
            inflight_unknown(s);
            return;
        }
        ev_timer_set(&f->wait, INFLIGHT_VIEW_POLL, INFLIGHT_VIEW_POLL);
        ev_timer_start(s->w->loop, &f->wait);
        return;
    case IS_SYNC:
        f->step = IS_FILES;
        lookup_query(s, "SHOW BINARY LOGS", NULL);
        return;
    case IS_FILES:
        if (!files_take(f, res)) {
            snprintf(f->why, sizeof(f->why), "SHOW BINARY LOGS on %s listed nothing usable",
                     f->new_name);
            inflight_unknown(s);
            return;
        }
        if (!f->have_before) {
            /* no check to compare with: the whole log, when it is all listed */
            if (res->n_rows > INFLIGHT_FILES) {
                snprintf(f->why, sizeof(f->why),
                         "no monitor check of %s finished before the write was sent", f->new_name);
                inflight_unknown(s);
                return;
            }
            f->file = 0;
            scan_from_here(s);
            return;
        }
        f->step = IS_START;
        lookup_query(s, "SHOW BINLOG EVENTS IN %s LIMIT 2", f->files[f->file]);
        return;
    case IS_START: {
        int info = sqlresult_col(res, "Info");
        const char *gl = res->n_rows >= 2 && info >= 0 ? sqlresult_get(res, 1, info) : NULL;
        if (!inflight_file_began_before(gl, &f->before)) {
            if (f->file == 0) {
                char at[GTID_STR_MAX];
                gtid_pos_format(&f->before, at, sizeof(at));
                snprintf(f->why, sizeof(f->why),
                         "no binary log file of %s began before the write was sent (it was at "
                         "%.60s; its oldest listed, %.40s, begins at %.120s)",
                         f->new_name, at, f->files[0], gl != NULL ? gl : "?");
                inflight_unknown(s);
                return;
            }
            f->file--;
            lookup_query(s, "SHOW BINLOG EVENTS IN %s LIMIT 2", f->files[f->file]);
            return;
        }
        scan_from_here(s);
        return;
    }
    case IS_SCAN:
        if (f->found) {
            if (f->kind == IF_WRITE && f->found_annotate)
                rows_start(s);
            else if (f->kind == IF_WRITE) /* a Query event: STATEMENT or MIXED format */
                inflight_uncounted(s, "it is logged as a statement, without its rows, and "
                                      "SHOW BINLOG EVENTS does not show the error a partly "
                                      "applied statement is logged with");
            else
                inflight_committed(s);
            return;
        }
        if (++f->file < f->n_files) {
            lookup_query(s, "SHOW BINLOG EVENTS IN %s", f->files[f->file]);
            return;
        }
        if (f->proven)
            triggers_check(s);
        else
            inflight_unknown(s);
        return;
    default:
        return;
    }
}

/* The monitor account's connection to the new primary, for the search
 * (again after a 1047: not_ready_again). */
static void lookup_connect(struct session *s)
{
    struct sess_inflight *f = s->feat.inflight;
    char name[64];
    const char *why = "";
    sqlclient_destroy(f->sc);
    f->sc = primary_client_create(s->w->loop, s->cfg, name, sizeof(name), &why);
    if (f->sc == NULL || s->cfg->monitor.user == NULL) {
        snprintf(f->why, sizeof(f->why), "cannot read the binary log of %s: %s", f->new_name,
                 f->sc == NULL ? why : "no monitor.user");
        inflight_unknown(s);
        return;
    }
    f->step = IS_CONNECT;
    sqlclient_set_timeout(f->sc, inflight_budget_ms(s, s->cfg->monitor.timeout_ms));
    if (sqlclient_connect(f->sc, lookup_cb, s) != HY_OK) {
        snprintf(f->why, sizeof(f->why), "cannot connect to %s", f->new_name);
        inflight_unknown(s);
    }
}

/* A new primary is there: read its binary log. */
static void lookup_start(struct session *s, int newp)
{
    struct sess_inflight *f = s->feat.inflight;
    f->newp = newp;
    snprintf(f->new_name, sizeof(f->new_name), "%s", s->cfg->backends[newp].name);
    if (!proof_read(f, s->cfg)) {
        snprintf(f->why, sizeof(f->why), "out of memory");
        inflight_unknown(s);
        return;
    }
    lookup_connect(s);
}

static void inflight_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct sess_inflight *f = container_of(w, struct sess_inflight, wait);
    struct session *s = f->s;
    if (f->again != AGAIN_NONE) {
        enum not_ready_step what = (enum not_ready_step)f->again;
        f->again = AGAIN_NONE;
        ev_timer_stop(loop, w);
        if (s->state != SS_WAIT_BACKEND)
            return;
        if (what == AGAIN_CONNECT) {
            lookup_connect(s);
        } else if (what == AGAIN_DUMP) {
            rows_start(s);
        } else if (lookup_ask(s, f->asked) != HY_OK) {
            snprintf(f->why, sizeof(f->why), "could not query %s", f->new_name);
            inflight_unknown(s);
        }
        return;
    }
    if (f->step == IS_VIEW && s->state == SS_WAIT_BACKEND) {
        ev_timer_stop(loop, w);
        view_query(s);
        return;
    }
    if (f->step != IS_WAIT || s->state != SS_WAIT_BACKEND) {
        ev_timer_stop(loop, w);
        return;
    }
    int p = backend_primary_index(s->cfg);
    /* a primary no check has passed yet (added or moved by a reload) is
     * waited for, as a write waits (session_reload.c) */
    if (p < 0 || p == (int)f->old || !backend_checked(s->cfg->backends[p].rt)) {
        if (ev_now(loop) < f->deadline)
            return; /* the timer repeats */
        ev_timer_stop(loop, w);
        snprintf(f->why, sizeof(f->why), "no new primary within replay_timeout_ms (%d ms)",
                 s->cfg->replay_timeout_ms);
        inflight_unknown(s);
        return;
    }
    ev_timer_stop(loop, w);
    lookup_start(s, p);
}

/* A BEGIN in flight began nothing that could outlive its connection: it is
 * routed again (to the new primary, waiting for one as a write does). */
static bool begin_again(struct session *s, struct bconn *bc)
{
    struct sess_inflight *f = s->feat.inflight;
    if (!up_unread(s, f->pkt + MYSQL_HEADER_SIZE, f->pkt_len - MYSQL_HEADER_SIZE))
        return false;
    slog_info(s, "backend %s died with a BEGIN in flight: sending it again", bc->be->name);
    stat_inc(&s->w->stats.statements_retried);
    query_lost(s);
    session_replay_forget(s); /* it had begun recording */
    route_trx_closed(s);
    bconn_close(bc);
    stream_release(&s->io.down, &s->w->pool);
    command_end(s);
    return true;
}

/* Whether the COMMIT's connection bc had inherited completion_type
 * NO_CHAIN from the server's global value at its login (or last reset):
 * the session did not set it (else session_inflight_note watched no
 * COMMIT), and the monitor found the global NO_CHAIN at a check before
 * that login and at each check since. What is left: a SET GLOBAL
 * completion_type after the last check before the login, and the COMMIT
 * lost before the next check (docs/failover.md). */
static bool inherited_no_chain(const struct session *s, const struct bconn *bc)
{
    struct backend_info *in = malloc(sizeof(*in));
    if (in == NULL)
        return false;
    backend_info_get(s->cfg->backends[bc->idx].rt, in);
    bool plain = in->no_chain_since > 0 && in->no_chain_since < bc->defaults_at;
    free(in);
    return plain;
}

bool session_inflight_lost(struct session *s, struct bconn *bc)
{
    struct sess_inflight *f = s->feat.inflight;
    if (f == NULL || f->inflight == IF_NONE || f->step != IS_IDLE || bc->idx != s->route.primary ||
        s->query.internal != NULL || s->io.down_sent || s->io.req_open || s->io.resp_done ||
        s->route.pinned || s->route.uvars_opaque || s->cfg->monitor.user == NULL)
        return false;
    f->kind = f->inflight;
    f->inflight = IF_NONE;
    if (f->kind == IF_TRX)
        return false; /* the transaction is lost as before (or replayed) */
    if (f->kind == IF_BEGIN)
        return begin_again(s, bc);
    if (f->kind == IF_COMMIT && !inherited_no_chain(s, bc))
        return false; /* a chained COMMIT: its outcome unknown, as an unwatched one's */
    f->sent = s->query.cmd_started;
    f->old = bc->idx;
    f->deadline = ev_now(s->w->loop) + s->cfg->replay_timeout_ms / 1000.0;
    f->insert_id = 0;
    f->lid_generated = false;
    f->affected = 0;
    f->why[0] = '\0';
    snprintf(f->old_name, sizeof(f->old_name), "%s", bc->be->name);
    slog_info(s, "backend %s died with a %s in flight: looking for it on the new primary",
              bc->be->name, f->kind == IF_COMMIT ? "COMMIT" : "write");
    query_lost(s);
    route_trx_closed(s);
    bconn_close(bc);
    stream_release(&s->io.down, &s->w->pool);
    session_set_state(s, SS_IDLE);
    session_set_state(s, SS_WAIT_BACKEND);
    ev_io_stop(s->w->loop, &s->client.rio);
    f->step = IS_WAIT;
    ev_timer_set(&f->wait, INFLIGHT_POLL, INFLIGHT_POLL);
    ev_timer_start(s->w->loop, &f->wait);
    return true;
}
