/*
 * session_xa.c: transactions across groups as XA, part of the session
 * module (session_int.h), for listeners with shards = true and
 * shards.cross_group_transactions = "xa".
 *
 * BEGIN or START TRANSACTION [READ WRITE] (autocommit on, outside a
 * transaction) is answered by halyard itself (session_begin.c, which
 * parses it and calls session_xa_branch_ready() from ensure_backend()):
 * the session holds a
 * struct session_xa (s->feat.groups->xa) with a gtrid unique per halyard process and
 * transaction. Nothing runs yet. The first time a statement is to run on a
 * group's primary, ensure_backend() has `XA START '<gtrid>','<group>'` run
 * there first (a branch per group, named by the group), then the statement.
 * When the session moves to another group (session_view_move), the
 * connection holding a branch is not closed but parked (bc->parked: out of
 * s->conns.bc, still the session's) and put back when the session returns to
 * that group; the pool never takes it (bc->xa holds it).
 *
 * COMMIT: one branch -> XA END, XA COMMIT ONE PHASE. Several -> XA END and
 * XA PREPARE on each; once all are prepared the decision is handed to the
 * log's writer thread (xa_log_writer.h), which appends it to
 * shards.xa_log and fsyncs it together with other sessions' decisions;
 * the session waits for that without blocking its worker (x->logging),
 * and only once the decision is durable runs XA COMMIT on each; then the
 * decision is marked done (a D record, not fsync'd: recovery finds a
 * decided transaction whose branches are all gone done, xa_recover.c).
 * A failed END or PREPARE (or a branch's connection lost) rolls every
 * branch back and the COMMIT gets ERR 1402 saying why. ROLLBACK -> XA
 * END, XA ROLLBACK on each. The client gets the OK a server would give
 * (SERVER_STATUS_IN_TRANS on after BEGIN, off after the end). The client's
 * COMMIT is consumed first and answered when the last step is.
 *
 * The end runs in phases, each sent to every branch it concerns before any
 * answer is read (xa_post): END + PREPARE (pipelined on each connection),
 * then, once the decision is durable, COMMIT; or END + ROLLBACK. The
 * servers work at once, so a phase costs one round trip, not one per
 * branch. The answers are then read one connection after the other, each
 * as an internal query (int_xa) on s->conns.cur (xa_read_next); a branch whose
 * answer waits its turn is not "an idle connection speaking" (a parked
 * one's would be taken as lost): xa_post stops its read watcher as it
 * posts, and its turn starts it again. A phase's failures are
 * weighed once all its answers are read: a failed END or PREPARE on one
 * branch rolls back every branch, those that prepared meanwhile too (the
 * decision was never logged).
 *
 * Not handled here: START TRANSACTION READ ONLY / WITH CONSISTENT SNAPSHOT
 * (deferred by session_begin.c) and transactions of autocommit = 0 stay
 * plain transactions on one group (refused when they cross over, as with
 * "refuse"); COMMIT/ROLLBACK AND
 * CHAIN or RELEASE, a nested BEGIN and the client's own XA statements
 * inside such a transaction are refused with ERR 1105.
 */
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "halyard/config/group.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/pool/server.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/core/stats.h"
#include "halyard/session/worker.h"
#include "halyard/sql/lexer.h"
#include "halyard/sql/xa_log.h"
#include "halyard/cluster/xa_log_writer.h"
#include "halyard/cluster/xa_recover.h"
#include "session_int.h"
#include "session_pool.h"
#include "session_shard.h"
#include "session_xa.h"

static void xa_failed(struct session *s, const char *why);

#define XA_STEP_TIMEOUT_MS 30000

enum xb_state {
    XB_ACTIVE,   /* XA START answered OK */
    XB_IDLE,     /* XA END answered (or to be rolled back) */
    XB_PREPARED, /* XA PREPARE answered OK */
    XB_DONE,     /* committed or rolled back */
    XB_DEAD,     /* its connection is gone: the server rolled it back */
};

enum xa_op { XOP_NONE, XOP_START, XOP_END, XOP_PREPARE, XOP_COMMIT, XOP_COMMIT_1P, XOP_ROLLBACK };

struct xa_branch {
    uint16_t group; /* index in the session's config */
    char name[XA_GROUP_MAX + 1];
    struct bconn *bc; /* NULL once gone */
    enum xb_state st;
    bool taint;         /* a step failed on it: its XA state is unknown, closed at the end */
    bool gone_prepared; /* its connection closed, prepared, while the decision was logged */
    bool send_failed;   /* its phase's send failed: read as its connection lost */
    uint8_t nwant;      /* answers outstanding on its connection (a phase sent, xa_post) */
    enum xa_op want[2]; /* ... their steps, in order */
};

struct session_xa {
    char gtrid[XA_GTRID_MAX + 1];
    struct xa_branch br[XA_GROUPS_MAX];
    size_t n;
    enum xa_op op;      /* the step whose answer is read now */
    size_t at;          /* ... on this branch */
    bool ending;        /* COMMIT or ROLLBACK under way */
    bool commit;        /* still to commit (false once anything failed) */
    bool decided;       /* the decision is in the log */
    bool logging;       /* the decision is with the log's writer: neither decided nor not */
    bool failed;        /* the client gets err instead of OK */
    bool lost;          /* ended because a branch died (trx_lost): err is SERR_TRX_LOST */
    bool lost_ok;       /* ... and the statement was a ROLLBACK: OK */
    bool silent;        /* ended after a server-side rollback: the client was told */
    bool in_doubt;      /* decided, an XA COMMIT failed: left to the recovery (no D record) */
    uint16_t server_rb; /* a statement got this error: the server rolled a branch back */
    char err[400];
    struct bconn *saved_cur;
    struct xa_log_wait logw; /* the decision's write (x->logging); data = the session */
    size_t piped; /* 1 + the branch whose XA START went with the statement, its answer to come */
};

static _Atomic uint64_t xa_serial;

/* A gtrid no other transaction of any halyard process has:
 * <instance prefix><process start>-<serial> (xa_log.h). The head (prefix
 * and process start: a gethostname() and two CRC32s) is made once per
 * thread and log path, not per BEGIN. */
static void gtrid_new(const struct config *root, char *out, size_t cap)
{
    static _Thread_local char path[512];
    static _Thread_local char head[80];
    static _Thread_local bool made;
    if (!made || strncmp(path, root->xa_log, sizeof(path)) != 0) {
        char prefix[40];
        xa_log_prefix(root->xa_log, prefix, sizeof(prefix));
        snprintf(head, sizeof(head), "%s%" PRId64 "-", prefix, xa_log_process_start());
        /* a path too long for the cache is recomputed each time: still right */
        made = strlen(root->xa_log) < sizeof(path);
        snprintf(path, sizeof(path), "%s", root->xa_log);
    }
    uint64_t n = atomic_fetch_add(&xa_serial, 1) + 1;
    snprintf(out, cap, "%s%" PRIu64, head, n);
}

void session_xa_gtrid(const struct session *s, char *out, size_t cap)
{
    gtrid_new(config_root_c(s->cfg), out, cap);
}

static uint16_t cur_group(const struct session *s)
{
    return s->cfg->parent != NULL ? s->cfg->group_idx : 0;
}

uint32_t session_xa_route(struct session *s, const struct classify_result *r,
                          const struct xa_text *xt)
{
    if (!config_root_c(s->cfg)->shards_xa)
        return UINT32_MAX;
    s->feat.groups->xa_refuse = NULL;
    if (s->feat.groups->xa != NULL && (r->flags & CLF_XA)) {
        s->feat.groups->xa_refuse =
            "halyard: XA statements cannot run inside a transaction halyard runs as "
            "XA across groups (shards.cross_group_transactions = \"xa\")";
        return ROUTE_XA;
    }
    if (r->kind == CL_TXN_BEGIN && !(r->flags & CLF_XA)) {
        if (s->feat.groups->xa != NULL) {
            s->feat.groups->xa_refuse =
                "halyard: a transaction across groups is open: COMMIT or ROLLBACK it "
                "before BEGIN (no implicit commit across groups)";
            return ROUTE_XA;
        }
        if (session_in_trans(s) || !xt->plain_begin)
            return UINT32_MAX; /* a plain transaction, on one group */
        s->feat.groups->xa_cmd = XA_CMD_BEGIN;
        return ROUTE_XA;
    }
    if (r->kind == CL_TXN_END && !(r->flags & CLF_XA) && s->feat.groups->xa != NULL) {
        if (xt->plain_end) {
            s->feat.groups->xa_cmd = xt->commit ? XA_CMD_COMMIT : XA_CMD_ROLLBACK;
            return ROUTE_XA;
        }
        s->feat.groups->xa_refuse =
            "halyard: only COMMIT or ROLLBACK, alone, ends a transaction across groups "
            "(not AND CHAIN, RELEASE, or in a multi-statement)";
        return ROUTE_XA;
    }
    return UINT32_MAX;
}

/* Run `sql` on branch i's connection as int_xa. */
static void xa_send(struct session *s, enum xa_op op, size_t i, const char *verb, const char *tail)
{
    struct session_xa *x = s->feat.groups->xa;
    char sql[256];
    snprintf(sql, sizeof(sql), "XA %s '%s','%s'%s", verb, x->gtrid, x->br[i].name, tail);
    x->op = op;
    x->at = i;
    s->conns.cur = x->br[i].bc;
    slog_debug(s, "xa: %s", sql);
    internal_query(s, &int_xa, sql, XA_STEP_TIMEOUT_MS);
}

/* One XA statement on branch i as a COM_QUERY packet at p (cap bytes):
 * its length, 0 when it does not fit. */
static size_t xa_packet(const struct session_xa *x, size_t i, const char *verb, const char *tail,
                        uint8_t *p, size_t cap)
{
    if (cap <= MYSQL_HEADER_SIZE + 1)
        return 0;
    int n = snprintf((char *)p + MYSQL_HEADER_SIZE + 1, cap - MYSQL_HEADER_SIZE - 1,
                     "XA %s '%s','%s'%s", verb, x->gtrid, x->br[i].name, tail);
    if (n < 0 || (size_t)n >= cap - MYSQL_HEADER_SIZE - 1)
        return 0;
    mysql_hdr_write(p, (uint32_t)n + 1, 0);
    p[MYSQL_HEADER_SIZE] = COM_QUERY;
    return MYSQL_HEADER_SIZE + 1 + (size_t)n;
}

/* A step of the end's phase on branch i, sent now, its answer read later
 * (xa_read_next): `op` (verb, tail), and when op2 is not XOP_NONE a second
 * step right behind it on the same connection, pipelined (XA END then
 * PREPARE, COMMIT ONE PHASE or ROLLBACK: the server runs them in order;
 * when END fails the second fails too, the branch not being IDLE). The
 * caller posts to every branch of the phase before any answer is read: the
 * servers work at once, their answers wait in the sockets. A send that
 * fails is read as the connection lost, in the branch's turn. */
static void xa_post(struct session *s, size_t i, enum xa_op op, const char *verb, const char *tail,
                    enum xa_op op2, const char *verb2, const char *tail2)
{
    struct session_xa *x = s->feat.groups->xa;
    struct xa_branch *b = &x->br[i];
    uint8_t pkt[2 * (MYSQL_HEADER_SIZE + 1 + 256)];
    size_t n1 = xa_packet(x, i, verb, tail, pkt, sizeof(pkt));
    size_t n2 = 0;
    if (n1 > 0 && op2 != XOP_NONE)
        n2 = xa_packet(x, i, verb2, tail2, pkt + n1, sizeof(pkt) - n1);
    b->want[0] = op;
    b->nwant = 1;
    if (n2 > 0)
        b->want[b->nwant++] = op2;
    /* n1 == 0 cannot happen (names are bounded); then op2 runs in the
     * next phase, as the branch's state asks */
    slog_debug(s, "xa: XA %s '%s','%s'%s%s%s%s (posted)", verb, x->gtrid, b->name, tail,
               n2 > 0 ? " + XA " : "", n2 > 0 ? verb2 : "", n2 > 0 ? tail2 : "");
    b->send_failed =
        n1 == 0 || conn_send_local(&b->bc->c, s->w->loop, &s->w->pool, pkt, n1 + n2) != HY_OK;
    /* its answer is read in its turn (xa_read_next starts the watcher), not
     * as it arrives: until then its readability is not a close */
    ev_io_stop(s->w->loop, &b->bc->c.rio);
}

/* The next answer of the phase posted: true when one is being read
 * (or was read at once), false when none is outstanding. */
static bool xa_read_next(struct session *s)
{
    struct session_xa *x = s->feat.groups->xa;
    for (size_t i = 0; i < x->n; i++) {
        struct xa_branch *b = &x->br[i];
        if (b->nwant == 0)
            continue;
        if (b->bc == NULL) { /* closed meanwhile: session_xa_gone said what it means */
            b->nwant = 0;
            continue;
        }
        x->op = b->want[0];
        x->at = i;
        s->conns.cur = b->bc;
        internal_expect(s, &int_xa, COM_QUERY, XA_STEP_TIMEOUT_MS);
        if (b->send_failed) {
            b->send_failed = false;
            xa_failed(s, "cannot send an internal command");
            return true;
        }
        update_reads(s);      /* its read watcher: stopped while another was read */
        internal_progress(s); /* its answer may be in already */
        return true;
    }
    return false;
}

void session_xa_pipe(struct session *s, bool ok)
{
    if (s->feat.groups != NULL)
        s->feat.groups->xa_pipe_ok = ok;
}

static void xa_fail(struct session *s, const char *fmt, ...) HY_PRINTF(2, 3);
static void xa_fail(struct session *s, const char *fmt, ...)
{
    struct session_xa *x = s->feat.groups->xa;
    x->commit = false;
    if (x->failed)
        return;
    x->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err, sizeof(x->err), fmt, ap);
    va_end(ap);
    slog_warn(s, "xa %s: %s", x->gtrid, x->err);
}

static void xa_count(bool commit)
{
    atomic_fetch_add_explicit(commit ? &stats_xa_commits : &stats_xa_rollbacks, 1,
                              memory_order_relaxed);
}

/* The parked connection of branch b, its XA transaction ended on it
 * without error, back to the pool of its group's view (pool_mode
 * "transaction", nothing of the session on it): no new connection and
 * login for the session's next transaction there. */
static bool xa_give_parked(struct session *s, const struct xa_branch *b)
{
    struct config *root = config_root(s->cfg);
    int g = group_find(root, b->name);
    return b->st == XB_DONE && !b->taint && g >= 0 &&
           session_pool_give_parked(s, b->bc, group_view(root, (size_t)g));
}

/* The transaction is over: its connections no longer hold it; the parked
 * ones (the session is on another group) go back to the pool or are
 * closed; the client answered. */
static void xa_finish(struct session *s)
{
    struct session_xa *x = s->feat.groups->xa;
    bool committed = (x->commit && !x->failed) || x->decided;
    for (size_t i = 0; i < x->n; i++) {
        struct bconn *bc = x->br[i].bc;
        if (bc == NULL)
            continue;
        bc->xa = false;
        if (bc->parked && xa_give_parked(s, &x->br[i])) {
            x->br[i].bc = NULL;
            if (x->saved_cur == bc)
                x->saved_cur = NULL;
            continue;
        }
        x->br[i].bc = NULL;
        if (bc->parked || x->br[i].taint) {
            if (x->br[i].taint)
                slog_info(s,
                          "xa %s: closing the connection to %s (a step failed there: the "
                          "server ends what it holds)",
                          x->gtrid, bc->be->name);
            if (x->saved_cur == bc)
                x->saved_cur = NULL;
            bconn_close(bc);
        }
    }
    s->conns.cur = NULL;
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        if (s->conns.bc[i] != NULL && s->conns.bc[i] == x->saved_cur)
            s->conns.cur = x->saved_cur;
    }
    session_publish_backend(s);
    route_trx_closed(s);
    xa_count(committed);
    if (x->silent)
        ; /* the statement's error told the client */
    else if (x->lost && x->lost_ok)
        send_ok(s, 1);
    else if (x->lost)
        session_err(s, 1, SERR_TRX_LOST, x->err);
    else if (x->in_doubt) /* decided: not rolled back, so not XA100 */
        session_err_custom(s, 1, 1105, "HY000", x->err);
    else if (x->failed)
        session_err_custom(s, 1, 1402, "XA100", x->err);
    else
        send_ok(s, 1);
    slog_info(s, "xa %s: %s on %zu group(s)", x->gtrid, committed ? "committed" : "rolled back",
              x->n);
    free(x);
    s->feat.groups->xa = NULL;
}

/* Test only (tests/integration/test_xa.py): HALYARD_TEST_XA_FAILPOINT =
 * "before-decision" (every branch prepared, nothing logged) or
 * "after-decision" (the decision fsync'd, nothing committed) makes halyard
 * send itself SIGKILL there; "lose-branch-after-decision" breaks the last
 * branch's connection once the decision is logged (xa_next). */
static void xa_failpoint(const char *where);

void session_xa_failpoint(const char *where)
{
    xa_failpoint(where);
}

static void xa_failpoint(const char *where)
{
    const char *fp = getenv("HALYARD_TEST_XA_FAILPOINT");
    if (fp != NULL && strcmp(fp, where) == 0) {
        hy_log_warn("HALYARD_TEST_XA_FAILPOINT=%s: kill -9 of itself (test only)", where);
        kill(getpid(), SIGKILL);
        _exit(70); /* not reached */
    }
}

static bool xa_next(struct session *s);

/* The decision is durable (ok) or could not be made so: the branches whose
 * connection closed meanwhile, prepared, are the recovery's, to commit or
 * to roll back as the log now says. */
static void xa_decision_known(struct session *s, bool ok, int err)
{
    struct session_xa *x = s->feat.groups->xa;
    const struct config *root = config_root_c(s->cfg);
    x->logging = false;
    if (ok) {
        x->decided = true;
        slog_info(s, "xa %s: prepared on %zu groups, commit decision logged", x->gtrid, x->n);
    } else {
        xa_fail(s,
                "halyard: the transaction was rolled back: cannot log the commit decision to "
                "%s: %s",
                root->xa_log, strerror(err));
    }
    for (size_t i = 0; i < x->n; i++) {
        struct xa_branch *b = &x->br[i];
        if (!b->gone_prepared)
            continue;
        b->gone_prepared = false;
        if (!ok) {
            xa_recover_abandon(x->gtrid);
            continue;
        }
        x->failed = true;
        x->in_doubt = true;
        snprintf(x->err, sizeof(x->err),
                 "halyard: XA COMMIT on group %s failed (connection lost): the transaction is "
                 "decided (in %s) and is committed there by recovery",
                 b->name, root->xa_log);
        slog_warn(s, "xa %s: %s", x->gtrid, x->err);
    }
}

/* Test only: the failpoints once the decision is durable (xa_failpoint). */
static void xa_after_decision(struct session *s)
{
    struct session_xa *x = s->feat.groups->xa;
    xa_failpoint("after-decision");
    const char *fp = getenv("HALYARD_TEST_XA_FAILPOINT");
    if (fp != NULL && strcmp(fp, "lose-branch-after-decision") == 0 && x->br[x->n - 1].bc != NULL) {
        /* test only: the last branch's connection breaks now (the
         * server keeps the branch prepared), its XA COMMIT fails */
        hy_log_warn("HALYARD_TEST_XA_FAILPOINT=%s: shutting down the connection to "
                    "%s (test only)",
                    fp, x->br[x->n - 1].bc->be->name);
        shutdown(x->br[x->n - 1].bc->c.fd, SHUT_RDWR);
    }
}

/* The log's writer is done with the decision (on the session's loop). */
static void xa_logged(struct xa_log_wait *w)
{
    struct session *s = w->data;
    xa_decision_known(s, w->rc == HY_OK, w->err);
    if (s->state == SS_CLOSING) {
        session_reap(s); /* session_xa_discard: the decision as known now */
        return;
    }
    if (s->feat.groups->xa->decided)
        xa_after_decision(s);
    if (xa_next(s))
        return;
    session_timer_stop(s);
    command_end(s);
    session_reap(s);
}

/* Every branch is prepared: the decision to commit goes to the log.
 * True when the log's writer has it (xa_logged() goes on); false when it
 * is known now (written here, or failed: x->decided says). */
static bool xa_log_decision(struct session *s)
{
    struct session_xa *x = s->feat.groups->xa;
    const struct config *root = config_root_c(s->cfg);
    struct xa_decision d = {.when = (int64_t)time(NULL)};
    snprintf(d.gtrid, sizeof(d.gtrid), "%s", x->gtrid);
    for (size_t i = 0; i < x->n; i++)
        snprintf(d.groups[d.n_groups++], sizeof(d.groups[0]), "%s", x->br[i].name);
    x->logw.loop = s->w->loop;
    x->logw.done = xa_logged;
    x->logw.data = s;
    hy_status_t rc = xa_log_writer_decide(root->xa_log, &d, &x->logw);
    if (rc == HY_AGAIN) {
        x->logging = true;
        session_timer_stop(s); /* the disk's time, not a server's */
        return true;
    }
    bool ok = rc == HY_OK;
    xa_decision_known(s, ok, errno);
    if (ok)
        xa_after_decision(s);
    return false;
}

/* The next phase of the end, posted to every branch it concerns before
 * any answer is read; true when answers are outstanding, false when the
 * transaction is over (the client answered). */
static bool xa_next(struct session *s)
{
    struct session_xa *x = s->feat.groups->xa;
    const struct config *root = config_root_c(s->cfg);
    bool posted = false;
    for (size_t i = 0; i < x->n; i++) {
        if (x->br[i].st != XB_ACTIVE)
            continue;
        if (x->commit && x->n == 1)
            xa_post(s, i, XOP_END, "END", "", XOP_COMMIT_1P, "COMMIT", " ONE PHASE");
        else if (x->commit)
            xa_post(s, i, XOP_END, "END", "", XOP_PREPARE, "PREPARE", "");
        else
            xa_post(s, i, XOP_END, "END", "", XOP_ROLLBACK, "ROLLBACK", "");
        posted = true;
    }
    if (posted)
        return xa_read_next(s);
    if (x->commit && x->n == 1 && x->br[0].st == XB_IDLE) {
        xa_post(s, 0, XOP_COMMIT_1P, "COMMIT", " ONE PHASE", XOP_NONE, NULL, NULL);
        return xa_read_next(s);
    }
    if (x->commit) {
        for (size_t i = 0; i < x->n; i++) {
            if (x->br[i].st == XB_IDLE) {
                xa_post(s, i, XOP_PREPARE, "PREPARE", "", XOP_NONE, NULL, NULL);
                posted = true;
            }
        }
        if (posted)
            return xa_read_next(s);
        if (!x->decided && x->n > 1) {
            xa_failpoint("before-decision");
            if (xa_log_decision(s))
                return true; /* xa_logged() goes on once it is durable */
        }
        if (x->decided) {
            for (size_t i = 0; i < x->n; i++) {
                if (x->br[i].st == XB_PREPARED) {
                    xa_post(s, i, XOP_COMMIT, "COMMIT", "", XOP_NONE, NULL, NULL);
                    posted = true;
                }
            }
            if (posted)
                return xa_read_next(s);
            if (x->in_doubt)
                xa_recover_kick();
            else if (xa_log_writer_done(root->xa_log, x->gtrid) != HY_OK)
                slog_warn(s,
                          "xa %s: cannot mark the decision done in %s: out of memory "
                          "(recovery marks it)",
                          x->gtrid, root->xa_log);
            xa_finish(s);
            return false;
        }
    }
    for (size_t i = 0; i < x->n; i++) {
        if (x->br[i].st == XB_IDLE || x->br[i].st == XB_PREPARED) {
            xa_post(s, i, XOP_ROLLBACK, "ROLLBACK", "", XOP_NONE, NULL, NULL);
            posted = true;
        }
    }
    if (posted)
        return xa_read_next(s);
    if (x->commit) /* nothing to commit: BEGIN then COMMIT */
        x->commit = !x->failed;
    xa_finish(s);
    return false;
}

bool session_xa_run(struct session *s)
{
    if (s->feat.groups->xa_refuse != NULL) {
        session_err_custom(s, 1, 1105, "HY000", s->feat.groups->xa_refuse);
        s->feat.groups->xa_refuse = NULL;
        return false;
    }
    if (s->feat.groups->xa_cmd == XA_CMD_BEGIN) {
        struct session_xa *x = calloc(1, sizeof(*x));
        if (x == NULL) {
            session_mark_closing(s, END_NOMEM);
            return false;
        }
        gtrid_new(config_root_c(s->cfg), x->gtrid, sizeof(x->gtrid));
        s->feat.groups->xa = x;
        route_trx_opened(s);
        slog_debug(s, "xa %s: BEGIN", x->gtrid);
        send_ok(s, 1);
        return false;
    }
    struct session_xa *x = s->feat.groups->xa;
    x->ending = true;
    x->commit = s->feat.groups->xa_cmd == XA_CMD_COMMIT;
    x->saved_cur = s->conns.cur;
    if (x->commit) {
        for (size_t i = 0; i < x->n; i++) {
            if (x->br[i].st == XB_DEAD)
                xa_fail(s,
                        "halyard: the transaction was rolled back: its connection to group %s "
                        "was lost",
                        x->br[i].name);
        }
    }
    return xa_next(s);
}

bool session_xa_lost(struct session *s, bool rollback, const char *name)
{
    struct session_xa *x = s->feat.groups->xa;
    x->ending = true;
    x->commit = false;
    x->lost = true;
    x->lost_ok = rollback;
    x->failed = true;
    x->saved_cur = s->conns.cur;
    snprintf(x->err, sizeof(x->err), "%s", name);
    return xa_next(s);
}

/* The statement waiting in `up` cannot run in the transaction: it is
 * dropped; `lost`: the group's branch is gone (ERR 1927, every branch
 * rolled back, the session out of the transaction), else ERR 1105 `msg`
 * (the transaction goes on). Then the next command. */
static void branch_refuse(struct session *s, bool lost, const char *msg)
{
    struct stream *st = &s->io.up;
    uint32_t len = mysql_hdr_len(st->b->data + st->scan);
    if (s->state != SS_IDLE)
        session_set_state(s, SS_IDLE);
    command_abandon(s);
    if (len + MYSQL_HEADER_SIZE > stream_unparsed(st)) {
        session_mark_closing(s, END_BACKEND_LOST);
        return;
    }
    consume_packet(s, len);
    if (!lost) {
        session_err_custom(s, 1, 1105, "HY000", msg);
    } else {
        route_trx_lost_told(s); /* said now */
        if (session_xa_lost(s, false, msg))
            return; /* the rollback's last step answers, then the next command */
    }
    if (s->state == SS_IDLE)
        session_next_command(s);
}

static const char *xa_start_tail(void);
static bool xa_start_piped(struct session *s, size_t i);

bool session_xa_branch_ready(struct session *s, struct bconn *bc)
{
    struct session_xa *x = s->feat.groups->xa;
    uint16_t g = cur_group(s);
    size_t i = 0;
    while (i < x->n && x->br[i].group != g)
        i++;
    if (i < x->n && x->br[i].bc == bc && x->br[i].st == XB_ACTIVE)
        return true;
    if (i < x->n) {
        /* The group's branch is on another connection (its primary changed
         * while the session was elsewhere) or gone: what it wrote is lost. */
        struct bconn *old = x->br[i].bc;
        char name[64];
        snprintf(name, sizeof(name), "%s", old != NULL ? old->be->name : x->br[i].name);
        slog_warn(s, "xa %s: the branch of group %s is no longer on %s: the transaction is lost",
                  x->gtrid, x->br[i].name, bc->be->name);
        if (old != NULL)
            bconn_close(old); /* session_xa_gone: dead */
        branch_refuse(s, true, name);
        return false;
    }
    if (x->n == XA_GROUPS_MAX) {
        branch_refuse(s, false, "halyard: a transaction across groups touches at most 32 groups");
        return false;
    }
    x->n++;
    x->br[i] = (struct xa_branch){.group = g, .st = XB_IDLE};
    snprintf(x->br[i].name, sizeof(x->br[i].name), "%s", group_of(s->cfg)->name);
    x->br[i].bc = bc;
    if (xa_start_piped(s, i))
        return false; /* the statement went with it */
    xa_send(s, XOP_START, i, "START", xa_start_tail());
    return false;
}

enum hook_verdict session_xa_start_answer(struct session *s, uint32_t len)
{
    struct session_xa *x = s->feat.groups->xa;
    struct stream *st = &s->io.down;
    s->feat.groups->xa_piped = false;
    if (x == NULL || x->piped == 0 || s->query.internal != NULL)
        return HOOK_PASS;
    size_t i = x->piped - 1;
    struct xa_branch *b = &x->br[i];
    x->piped = 0;
    if (len + MYSQL_HEADER_SIZE > st->b->cap)
        return HOOK_PASS; /* not START's: it is short */
    if (stream_unparsed(st) < MYSQL_HEADER_SIZE + len) {
        s->feat.groups->xa_piped = true; /* again once it is whole */
        x->piped = i + 1;
        return HOOK_WAIT;
    }
    const uint8_t *pl = st->b->data + st->scan + MYSQL_HEADER_SIZE;
    struct mysql_ok ok;
    if (len > 0 && pl[0] == MYSQL_OK && mysql_ok_decode(pl, len, s->io.resp.caps, &ok) == HY_OK) {
        b->st = XB_ACTIVE;
        if (!(ok.status & SERVER_MORE_RESULTS_EXISTS))
            return HOOK_PASS; /* the statement was empty: this OK is the answer */
        /* START's OK, not the client's: left out, the statement's answer
         * goes on with its sequence ids lowered by one */
        st->scan += MYSQL_HEADER_SIZE + len;
        st->head = st->scan;
        s->io.rdown.shift++;
        return HOOK_TAKEN;
    }
    struct mysql_err e = {0};
    if (len == 0 || pl[0] != MYSQL_ERR || mysql_err_decode(pl, len, &e) != HY_OK) {
        /* neither: not what a server answers to XA START */
        b->st = XB_ACTIVE;
        return HOOK_PASS;
    }
    /* START failed: the server ran nothing after it (a multi-statement
     * stops at its first error). The branch never began: forgotten, the
     * group's next statement tries again; the client gets the error
     * today's two steps would give, and the transaction goes on. */
    char msg[200];
    snprintf(msg, sizeof(msg), "halyard: XA START on group %s failed with error %u", b->name,
             e.code);
    slog_info(s, "xa %s: %s (the statement sent with it did not run)", x->gtrid, msg);
    b->bc->xa = false;
    x->n--;
    memmove(b, b + 1, (size_t)(&x->br[x->n] - b) * sizeof(*b));
    st->scan += MYSQL_HEADER_SIZE + len;
    st->head = st->scan;
    s->io.resp.err_code = ER_UNKNOWN_ERROR;
    session_err_custom(s, s->io.rdown.seq, 1105, "HY000", msg);
    s->io.resp_done = true;
    return HOOK_TAKEN;
}

/* Test only: HALYARD_TEST_XA_FAILPOINT = "start-fails" makes every XA
 * START one the server refuses (RESUME of a branch that is not
 * suspended). */
static const char *xa_start_tail(void)
{
    const char *fp = getenv("HALYARD_TEST_XA_FAILPOINT");
    return fp != NULL && strcmp(fp, "start-fails") == 0 ? " RESUME" : "";
}

/* Branch i's XA START and the statement waiting in `up` in one COM_QUERY,
 * `XA START '<gtrid>','<group>'; <statement>`: one round trip, not two.
 * The server stops a multi-statement at its first error, so when START
 * fails the statement does not run at all (sent behind START as a packet
 * of its own it would run, and with autocommit on, commit outside the
 * transaction). START's answer comes first: session_xa_start_answer()
 * takes it out of the answer (an OK, with SERVER_MORE_RESULTS_EXISTS) or
 * answers the client in place of the server (an ERR). Only for a COM_QUERY
 * the route allows (s->feat.groups->xa_pipe_ok: whole, no CONNECTION_ID() to rewrite),
 * on a connection that runs multi-statements (CLIENT_MULTI_STATEMENTS
 * asked by the client, hence by halyard at the backend's login); a
 * COM_STMT_EXECUTE, a COM_STMT_PREPARE's first statement and the rest keep
 * the two steps. True when sent (the command is under way). */
static bool xa_start_piped(struct session *s, size_t i)
{
    struct session_xa *x = s->feat.groups->xa;
    struct stream *up = &s->io.up;
    struct bconn *bc = x->br[i].bc;
    if (!s->feat.groups->xa_pipe_ok || !(s->who.caps & CLIENT_MULTI_STATEMENTS) ||
        !(bc->login.caps & CLIENT_MULTI_STATEMENTS) || up->b == NULL ||
        stream_unparsed(up) < MYSQL_HEADER_SIZE + 1)
        return false;
    uint32_t len = mysql_hdr_len(up->b->data + up->scan);
    const uint8_t *p = up->b->data + up->scan + MYSQL_HEADER_SIZE;
    if (len < 1 || p[0] != COM_QUERY || stream_unparsed(up) < MYSQL_HEADER_SIZE + len ||
        len + 256 >= MYSQL_MAX_PAYLOAD)
        return false;
    const char *t = (const char *)p + 1, *end = t + len - 1;
    const char *w = lex_skip_space_comments(t, end);
    if (w == end || lex_match_word(&w, end, "LOAD"))
        return false; /* empty (the server's ERR is its own), or a LOAD DATA LOCAL's exchange */
    char head[256];
    int hn = snprintf(head, sizeof(head), "XA START '%s','%s'%s;", x->gtrid, x->br[i].name,
                      xa_start_tail());
    if (hn < 0 || (size_t)hn >= sizeof(head))
        return false;
    size_t n = MYSQL_HEADER_SIZE + 1 + (size_t)hn + (len - 1);
    uint8_t *pkt = malloc(n);
    if (pkt == NULL)
        return false; /* the two steps then */
    mysql_hdr_write(pkt, (uint32_t)(n - MYSQL_HEADER_SIZE), 0);
    pkt[MYSQL_HEADER_SIZE] = COM_QUERY;
    memcpy(pkt + MYSQL_HEADER_SIZE + 1, head, (size_t)hn);
    memcpy(pkt + MYSQL_HEADER_SIZE + 1 + hn, p + 1, len - 1);
    slog_debug(s, "xa: %s with the statement (one packet)", head);
    x->piped = i + 1;
    s->feat.groups->xa_piped = true;
    s->feat.groups->xa_pipe_ok = false; /* the statement went: none other goes so */
    bc->xa = true;                      /* its loss is the transaction's (session_xa_gone) */
    consume_packet(s, len);
    command_send_rewritten(s, COM_QUERY, pkt, n);
    free(pkt);
    return true;
}

/* Whether b's XA PREPARE was sent and its answer not read yet: when its
 * connection is lost, whether the server prepared the branch is unknown. */
static bool prepare_sent(const struct xa_branch *b)
{
    for (uint8_t k = 0; k < b->nwant; k++) {
        if (b->want[k] == XOP_PREPARE)
            return true;
    }
    return false;
}

/* A step answered (ok: error code 0) or its connection lost (dead). */
static void xa_step_done(struct session *s, uint16_t code, bool dead)
{
    struct session_xa *x = s->feat.groups->xa;
    struct xa_branch *b = &x->br[x->at];
    enum xa_op op = x->op;
    x->op = XOP_NONE;
    if (dead) {
        /* kept prepared by the server (or maybe: its PREPARE was sent, and
         * may have run before the connection went): to roll back */
        if ((b->st == XB_PREPARED || prepare_sent(b)) && !x->decided)
            xa_recover_abandon(x->gtrid);
        b->st = XB_DEAD;
        b->bc = NULL;
    }
    char how[40];
    if (dead)
        snprintf(how, sizeof(how), "(connection lost)");
    else
        snprintf(how, sizeof(how), "with error %u", code);
    if (code != 0) {
        b->taint = true;
        slog_info(s, "xa %s: step %d on group %s: error %u", x->gtrid, (int)op, b->name, code);
    }
    if (op == XOP_START) {
        session_timer_stop(s);
        session_set_state(s, SS_IDLE);
        if (code == 0 && !dead) {
            b->st = XB_ACTIVE;
            b->bc->xa = true;
        } else {
            /* never started: forget it (the group's next statement tries again) */
            char msg[200];
            snprintf(msg, sizeof(msg), "halyard: XA START on group %s failed with error %u",
                     b->name, code);
            x->n--;
            memmove(b, b + 1, (size_t)(&x->br[x->n] - b) * sizeof(*b));
            if (!dead) {
                branch_refuse(s, false, msg); /* then the next command */
                return;
            }
        }
        if (s->state == SS_IDLE)
            session_next_command(s);
        return;
    }
    switch (op) {
    case XOP_END:
        if (!dead)
            b->st = XB_IDLE;
        if (code != 0 || dead)
            xa_fail(s, "halyard: the transaction was rolled back: XA END on group %s failed %s",
                    b->name, how);
        break;
    case XOP_PREPARE:
        if (code == 0 && !dead)
            b->st = XB_PREPARED;
        else
            xa_fail(s, "halyard: the transaction was rolled back: XA PREPARE on group %s failed %s",
                    b->name, how);
        break;
    case XOP_COMMIT_1P:
        b->st = dead ? XB_DEAD : XB_DONE;
        if (code != 0 || dead) {
            x->commit = false;
            xa_fail(s, "halyard: the transaction was rolled back: XA COMMIT on group %s failed %s",
                    b->name, how);
        }
        break;
    case XOP_COMMIT:
        if (!dead)
            b->st = XB_DONE;
        if (code == ER_XAER_NOTA && !dead) {
            /* decided, and gone: the recovery committed it (the only one
             * that ends a decided branch besides this session) */
            slog_info(s, "xa %s: branch %s already committed by the recovery", x->gtrid, b->name);
        } else if (code != 0 || dead) {
            /* decided: the branch stays prepared on the server, committed by
             * the recovery (kicked now); the client is told */
            b->st = XB_DONE;
            x->failed = true;
            x->in_doubt = true;
            snprintf(x->err, sizeof(x->err),
                     "halyard: XA COMMIT on group %s failed %s: the transaction is decided "
                     "(in %s) and is committed there by recovery",
                     b->name, how, config_root_c(s->cfg)->xa_log);
            slog_warn(s, "xa %s: %s", x->gtrid, x->err);
        }
        break;
    case XOP_ROLLBACK:
        if (!dead)
            b->st = XB_DONE;
        break;
    case XOP_START:
    case XOP_NONE:
        break;
    }
    if (b->nwant > 0) { /* the answer read: the next one on this branch, or another's */
        memmove(b->want, b->want + 1, sizeof(b->want) - sizeof(b->want[0]));
        b->nwant--;
    }
    if (dead)
        b->nwant = 0;
    if (xa_read_next(s))
        return;
    if (xa_next(s))
        return;
    session_timer_stop(s);
    command_end(s);
}

static enum internal_next xa_answered(struct session *s, struct bconn *bc)
{
    (void)bc;
    xa_step_done(s, s->io.resp.err_code, false);
    return INTERNAL_WENT_ON;
}

static void xa_failed(struct session *s, const char *why)
{
    slog_warn(s, "xa %s: %s on group %s", s->feat.groups->xa->gtrid, why,
              s->feat.groups->xa->br[s->feat.groups->xa->at].name);
    session_timer_stop(s);
    query_internal_failed(s);
    struct bconn *bc = s->conns.cur;
    bc->xa = false; /* not through session_xa_gone: the step says what it means */
    bconn_close(bc);
    stream_release(&s->io.down, &s->w->pool);
    xa_step_done(s, 0, true);
}

/* A step of the transaction (xa_step_send): its answer leaves the client's
 * FOUND_ROWS()/ROW_COUNT() as they were. */
const struct internal_cmd int_xa = {.name = "an XA step",
                                    .flags = INTERNAL_KEEPS_VALUES,
                                    .answered = xa_answered,
                                    .failed = xa_failed};

void session_xa_conn_gone(struct session *s, struct bconn *bc)
{
    if (bc->xa && session_groups(s)->xa != NULL)
        session_xa_gone(s, bc);
}

void session_xa_gone(struct session *s, struct bconn *bc)
{
    struct session_xa *x = s->feat.groups->xa;
    for (size_t i = 0; i < x->n; i++) {
        struct xa_branch *b = &x->br[i];
        if (b->bc != bc)
            continue;
        b->bc = NULL;
        bool prepared = b->st == XB_PREPARED;
        b->st = XB_DEAD;
        if (x->piped == i + 1) { /* its XA START's answer will not come */
            x->piped = 0;
            s->feat.groups->xa_piped = false;
        }
        if (!prepared && prepare_sent(b) && !x->decided)
            xa_recover_abandon(x->gtrid); /* it may have been prepared: to roll back */
        b->nwant = 0;
        if (!x->ending) {
            session_trx_lost(s, bc->be->name);
        } else if (prepared && x->logging) {
            b->gone_prepared = true; /* the decision says what it means: xa_decision_known */
        } else if (prepared && x->decided) {
            /* the server keeps it prepared: the recovery commits it */
            x->failed = true;
            x->in_doubt = true;
            snprintf(x->err, sizeof(x->err),
                     "halyard: XA COMMIT on group %s failed (connection lost): the transaction "
                     "is decided (in %s) and is committed there by recovery",
                     b->name, config_root_c(s->cfg)->xa_log);
            slog_warn(s, "xa %s: %s", x->gtrid, x->err);
        } else {
            if (prepared) /* undecided, kept prepared by the server: to roll back */
                xa_recover_abandon(x->gtrid);
            if (x->commit)
                xa_fail(s,
                        "halyard: the transaction was rolled back: the connection to group %s "
                        "was lost",
                        b->name);
        }
    }
}

void session_xa_restore(struct session *s, const struct config *to, struct bconn **nbc,
                        uint16_t primary)
{
    struct session_xa *x = session_groups(s)->xa;
    for (size_t i = 0; x != NULL && i < x->n; i++) {
        struct bconn *bc = x->br[i].bc;
        if (bc == NULL || !bc->parked)
            continue;
        int j = config_backend_match(to, bc->be);
        if (j < 0 || (uint16_t)j != primary || nbc[j] != NULL)
            continue; /* stays parked: its group's primary is another server now */
        nbc[j] = bc;
        s->conns.check_due |= bc->moved || bc->db_check != 0;
        bc->parked = false;
        bc->idx = (uint16_t)j;
        bc->be = &to->backends[j];
    }
}

void session_xa_discard(struct session *s)
{
    struct session_xa *x = session_groups(s)->xa;
    if (x == NULL)
        return;
    s->feat.groups->xa = NULL;
    s->feat.groups->xa_piped = false;
    if (x->logging && xa_log_writer_cancel(&x->logw) == HY_OK)
        x->decided = true; /* its decision was being written: now it is known */
    bool prepared = false;
    for (size_t i = 0; i < x->n; i++) {
        prepared = prepared || x->br[i].st == XB_PREPARED || x->br[i].gone_prepared;
        struct bconn *bc = x->br[i].bc;
        if (bc == NULL)
            continue;
        bc->xa = false;
        bconn_close(bc); /* the server rolls back what it holds (not a prepared branch) */
    }
    if (prepared) {
        if (x->decided)
            xa_recover_kick();
        else
            xa_recover_abandon(x->gtrid);
    }
    if (prepared)
        slog_warn(s,
                  "xa %s: the session ended during its commit: its prepared branches are left "
                  "to the recovery (show xa)",
                  x->gtrid);
    else if (x->n > 0)
        slog_info(s,
                  "xa %s: the session ended or was reset: its branches are rolled back by the "
                  "servers",
                  x->gtrid);
    free(x);
}

void session_xa_server_rollback(struct session *s, uint16_t code)
{
    if (!s->feat.groups->xa->ending) {
        s->feat.groups->xa->server_rb = code;
        slog_info(s, "xa %s: error %u: the server rolled a branch back; rolling back the others",
                  s->feat.groups->xa->gtrid, code);
    }
}

bool session_xa_rollback_due(const struct session *s)
{
    return s->feat.groups->xa->server_rb != 0 && !s->feat.groups->xa->ending;
}

bool session_xa_abort(struct session *s)
{
    struct session_xa *x = s->feat.groups->xa;
    x->ending = true;
    x->commit = false;
    x->silent = true;
    x->saved_cur = s->conns.cur;
    return xa_next(s);
}
