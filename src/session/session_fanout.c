/*
 * session_fanout.c: one statement on every group at once, its answers
 * merged into one (issue 15: SHOW DATABASES as the union; scatter reads),
 * part of the session module (session_int.h).
 *
 * session_fanout_prepare() plans the statement (scatter_plan.h, pure).
 * session_fanout_start() then opens one connection per group, to the
 * group's usable primary, logged in as the session's user (its SHA1
 * tokens, as for any backend connection: session_creds), with the
 * session's character set; for a scatter read it also brings the
 * connection to the session's state (varstate_apply from an empty state:
 * schema, system variables), then runs the statement's text. The groups
 * run IN PARALLEL on the worker's loop (sqlclient.h, asynchronous); each
 * answer is buffered (scatter_merge.h) under one budget,
 * SCATTER_MAX_BUFFER bytes for all groups, and bounded in time by the
 * group's connect_timeout_ms (connect and login) and
 * backend_read_timeout_ms (each step; 0 = SCATTER_DEFAULT_TIMEOUT_MS), so
 * a group in failover fails its part rather than hang the statement.
 *
 * When every group has answered, the merged answer (or the first error,
 * in group order: a server's ERR as it sent it, halyard's own as a 1105
 * naming the group) goes to the client and the session reads its next
 * command. The connections are closed: a fan-out holds nothing between
 * statements.
 *
 * Inside a transaction across groups ("xa") a scatter read runs otherwise:
 * on the session's own connections holding the branches, one group after
 * the other (session_fanout_xa.c, which also runs the two-phase commit of
 * a write on several groups in "xa" mode).
 *
 * While it runs, s->feat.groups->fanout blocks the command loop (session_next_command);
 * the session's close frees it (session_fanout_free), which cancels the
 * groups' connections without their callbacks running.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "halyard/core/text.h"
#include "halyard/cluster/backend.h"
#include "halyard/cluster/global_pos.h"
#include "halyard/sql/classify.h"
#include "halyard/route/router.h"
#include "halyard/route/diag_local.h"
#include "halyard/config/group.h"
#include "halyard/core/log.h"
#include "halyard/sql/ps_text.h"
#include "halyard/route/scatter_merge.h"
#include "halyard/route/scatter_plan.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/sql/shard_key.h"
#include "halyard/protocol/sqlclient.h"
#include "halyard/core/stats.h"
#include "halyard/session/worker.h"
#include "halyard/sql/varstate.h"
#include "halyard/sql/xa_log.h"
#include "halyard/cluster/xa_log_writer.h"
#include "halyard/cluster/xa_recover.h"
#include "session_int.h"
#include "session_diag.h"
#include "session_fanout.h"
#include "session_pool.h"
#include "session_shard.h"
#include "session_xa.h"

#include "session_fanout_int.h"

/* The groups part made for a fan-out's time (session_fanout_prepare_own):
 * the session has no shards, and a running fan-out keeps it busy (no
 * statement, no reload), so nothing of session_shard.c's is in it. */
static void own_groups_free(struct session *s)
{
    free(s->feat.groups);
    s->feat.groups = NULL;
}

void session_fanout_free(struct session *s)
{
    struct fanout *f = session_groups(s)->fanout;
    if (f == NULL)
        return;
    if (f->logging) {
        /* the session goes while its decision is being written: it is
         * durable or not once this returns; the recovery finishes it */
        (void)xa_log_writer_cancel(&f->logw);
        f->decided = f->logw.rc == HY_OK;
        f->logging = false;
    }
    if (f->xa) {
        bool left = false;
        for (size_t i = 0; i < f->n; i++)
            left |= f->legs[i].xprepared && !f->legs[i].xcommitted;
        /* prepared branches the servers keep: committed by the recovery
         * when decided, else rolled back by it */
        if (left && f->decided)
            xa_recover_kick();
        else if (left)
            xa_recover_abandon(f->gtrid);
    }
    for (size_t i = 0; i < f->n; i++) {
        sqlclient_destroy(f->legs[i].c);
        sqlclient_destroy(f->legs[i].killer);
        scatter_part_free(&f->legs[i].part);
        scatter_part_free(&f->legs[i].dlist);
        if (f->legs[i].own_text)
            free((char *)f->legs[i].text);
    }
    free(f->legs);
    free(f->lid_text);
    varstate_cmds_free(&f->setup);
    scatter_plan_free(&f->plan);
    bool own = f->own_groups;
    free(f);
    s->feat.groups->fanout = NULL;
    registry_set_fanout(&s->kill.reg, false);
    if (own)
        own_groups_free(s);
}

bool session_fanout_busy(const struct session *s)
{
    const struct fanout *f = session_groups(s)->fanout;
    return f != NULL && f->running;
}

static struct fanout *fanout_new(struct session *s, enum fanout_mode mode)
{
    session_fanout_free(s);
    struct fanout *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->n = config_root(s->cfg)->n_groups;
    f->legs = calloc(f->n > 0 ? f->n : 1, sizeof(*f->legs));
    if (f->legs == NULL) {
        free(f);
        return NULL;
    }
    f->s = s;
    f->mode = mode;
    s->feat.groups->fanout = f;
    return f;
}

static uint32_t prepare_read(struct session *s, const char *text, size_t len, const char *about,
                             bool joins_ok, bool xa_ok);

uint32_t session_fanout_prepare(struct session *s, const char *text, size_t len, const char *about)
{
    return prepare_read(s, text, len, about, false, false);
}

uint32_t session_fanout_prepare_joined(struct session *s, const char *text, size_t len,
                                       const char *about, bool joins_ok)
{
    return prepare_read(s, text, len, about, joins_ok, true);
}

uint16_t fanout_cur_group(const struct session *s)
{
    return s->cfg->parent != NULL ? s->cfg->group_idx : 0;
}

/* Why a read of every group is refused inside the session's transaction
 * (or with autocommit off), into f->plan.why; false when it runs in it
 * (an XA read: `xa_ok` and a transaction across groups). */
static bool trx_refuse(struct fanout *f, const char *about, bool xa_ok)
{
    struct session *s = f->s;
    if (!session_in_trans(s) && (s->route.status & SERVER_STATUS_AUTOCOMMIT))
        return false;
    bool autocommit = (s->route.status & SERVER_STATUS_AUTOCOMMIT) != 0;
    if (s->feat.groups->xa != NULL && autocommit && xa_ok)
        return false;
    char what[340];
    if (about != NULL)
        snprintf(what, sizeof(what), "a read of %.300s runs on every group", about);
    else
        snprintf(what, sizeof(what), "a read of every group");
    const char *why;
    if (s->feat.groups->xa != NULL && autocommit)
        why = "inside a transaction across groups (XA) only a text statement (COM_QUERY) reads "
              "every group in the transaction, not a prepared one: run it as a text statement";
    else if (config_root_c(s->cfg)->shards_xa && autocommit)
        why = "this transaction is a plain one on one group, not XA (START TRANSACTION READ "
              "ONLY or WITH CONSISTENT SNAPSHOT), so the other groups' parts would run outside "
              "it: run it outside the transaction, or begin with BEGIN";
    else if (config_root_c(s->cfg)->shards_xa)
        why = "with autocommit = 0 a transaction is a plain one on one group, not XA, so the "
              "other groups' parts would run outside it: run it with autocommit = 1, outside a "
              "transaction or inside BEGIN ... COMMIT";
    else
        why = "a transaction is on one group (shards.cross_group_transactions = \"refuse\"), "
              "so the other groups' parts would run outside it: run it outside the transaction "
              "(or with autocommit = 1), or set cross_group_transactions = \"xa\"";
    f->plan.shape = SCATTER_REFUSE;
    snprintf(f->plan.why, sizeof(f->plan.why),
             "halyard: %.200s, inside a transaction (or with autocommit off): %.250s", what, why);
    return true;
}

static uint32_t prepare_read(struct session *s, const char *text, size_t len, const char *about,
                             bool joins_ok, bool xa_ok)
{
    if (xa_ok && s->feat.groups->fanout != NULL && s->feat.groups->fanout->xread &&
        (s->feat.groups->fanout->xdone || s->feat.groups->xa != NULL))
        return ROUTE_FANOUT; /* routed again between its parts, or to be answered */
    struct fanout *f = fanout_new(s, FANOUT_READ);
    bool in_xa =
        xa_ok && s->feat.groups->xa != NULL && (s->route.status & SERVER_STATUS_AUTOCOMMIT);
    if (f == NULL ||
        scatter_plan_make_in(text, len, s->route.lex_opts, joins_ok, in_xa, &f->plan) != HY_OK) {
        session_mark_closing(s, END_NOMEM);
        return s->route.primary;
    }
    static const char pre[] = "halyard: cannot merge a read of every group: ";
    if (f->plan.shape == SCATTER_REFUSE && about != NULL &&
        strncmp(f->plan.why, pre, sizeof(pre) - 1) == 0) {
        char why[sizeof(f->plan.why)];
        snprintf(why, sizeof(why), "%s", f->plan.why + sizeof(pre) - 1);
        snprintf(f->plan.why, sizeof(f->plan.why),
                 "halyard: a read of %.120s runs on every group, whose answers halyard cannot "
                 "merge exactly: %.250s",
                 about, why);
    }
    f->setup_state = f->plan.shape != SCATTER_DATABASES;
    if (f->setup_state) {
        /* read as the session's reads are: its hint, the groups' splits */
        struct classify_result *r = malloc(sizeof(*r));
        if (r == NULL) {
            session_mark_closing(s, END_NOMEM);
            return s->route.primary;
        }
        classify(text, len, s->route.lex_opts, r, NULL);
        f->replicas = true;
        f->hint = r->hint;
        snprintf(f->hint_backend, sizeof(f->hint_backend), "%s", r->hint_backend);
        free(r);
    }
    /* Outside a transaction each group reads on a connection of its own.
     * In one (or with autocommit off, where the read would begin one) that
     * read would see neither the transaction's changes nor keep its
     * snapshot or its locks: refused, but in a transaction across groups
     * ("xa"), where each group's part runs in the group's branch. */
    if (f->plan.shape != SCATTER_REFUSE && f->plan.shape != SCATTER_DATABASES &&
        !trx_refuse(f, about, xa_ok) && s->feat.groups->xa != NULL) {
        f->xread = true;
        f->xhome = fanout_cur_group(s);
        f->budget = SCATTER_MAX_BUFFER;
        f->replicas = false; /* the branches are on the primaries */
    }
    for (size_t g = 0; g < f->n; g++) {
        f->legs[g].text = f->plan.text;
        f->legs[g].text_len = f->plan.text_len;
    }
    return ROUTE_FANOUT;
}

uint32_t session_fanout_prepare_own(struct session *s, const char *text, size_t len)
{
    /* a session without shards has no s->feat.groups: one for the fan-out's time */
    bool made = s->feat.groups == NULL;
    if (made)
        s->feat.groups = calloc(1, sizeof(*s->feat.groups));
    struct fanout *f = s->feat.groups != NULL ? fanout_new(s, FANOUT_READ) : NULL;
    if (f != NULL)
        f->own_groups = made;
    char *t = f != NULL ? malloc(len + 1) : NULL;
    if (t == NULL) {
        if (f != NULL)
            session_fanout_free(s);
        else if (made)
            own_groups_free(s);
        session_mark_closing(s, END_NOMEM);
        return s->route.primary;
    }
    memcpy(t, text, len);
    t[len] = '\0';
    f->plan.shape = SCATTER_CONCAT; /* one part: the answer as it is */
    f->plan.text = t;
    f->plan.text_len = len;
    f->setup_state = true; /* in the session's schema, with its variables */
    uint16_t home = fanout_cur_group(s);
    for (size_t g = 0; g < f->n; g++) {
        f->legs[g].skip = g != home;
        f->legs[g].text = t;
        f->legs[g].text_len = len;
    }
    return ROUTE_FANOUT;
}

void session_fanout_binary(struct session *s)
{
    if (s->feat.groups->fanout != NULL)
        s->feat.groups->fanout->binary = true;
}

enum hook_verdict session_fanout_route(struct session *s, const struct hook_route *hr, uint32_t *to)
{
    if (!s->listener->shards || hr->r == NULL || !hr->fits ||
        !scatter_is_show_databases((const char *)hr->p + 1, hr->len - 1, s->route.lex_opts))
        return HOOK_PASS;
    if (hr->cmd == COM_QUERY)
        *to = session_fanout_prepare(s, (const char *)hr->p + 1, hr->len - 1, NULL); /* the union */
    else /* prepared, it would list one group's: refused, never incomplete */
        *to = session_fanout_refuse(s, "halyard: SHOW DATABASES lists every group's schemas "
                                       "as a plain query only, not as a prepared statement");
    return HOOK_TAKEN;
}

uint32_t session_fanout_refuse(struct session *s, const char *why)
{
    struct fanout *f = fanout_new(s, FANOUT_READ);
    if (f == NULL) {
        session_mark_closing(s, END_NOMEM);
        return s->route.primary;
    }
    f->plan.shape = SCATTER_REFUSE;
    snprintf(f->plan.why, sizeof(f->plan.why), "%s", why);
    return ROUTE_FANOUT;
}

uint32_t session_fanout_prepare_write(struct session *s, char **texts, const size_t *lens, bool dml,
                                      bool sum)
{
    struct fanout *f = fanout_new(s, FANOUT_WRITE);
    if (f == NULL) {
        session_mark_closing(s, END_NOMEM);
        return s->route.primary;
    }
    f->setup_state = true;
    f->trx = dml;
    f->sum = sum;
    size_t parts = 0;
    for (size_t g = 0; g < f->n; g++)
        parts += texts[g] != NULL;
    /* "xa": atomic across the groups, as a transaction across them is */
    f->xa = dml && parts > 1 && config_root_c(s->cfg)->shards_xa;
    if (f->xa)
        session_xa_gtrid(s, f->gtrid, sizeof(f->gtrid));
    for (size_t g = 0; g < f->n; g++) {
        f->legs[g].text = texts[g];
        f->legs[g].text_len = texts[g] != NULL ? lens[g] : 0;
        f->legs[g].own_text = texts[g] != NULL;
        f->legs[g].skip = texts[g] == NULL;
        texts[g] = NULL;
    }
    if (session_in_trans(s) || !(s->route.status & SERVER_STATUS_AUTOCOMMIT)) {
        f->plan.shape = SCATTER_REFUSE;
        snprintf(f->plan.why, sizeof(f->plan.why),
                 "halyard: a statement on several groups inside a transaction (or with "
                 "autocommit off): cross-group transactions are refused");
    } else {
        f->plan.shape = SCATTER_CONCAT; /* not refused; the plan is not used otherwise */
    }
    return ROUTE_FANOUT;
}

void session_fanout_want_lid(struct session *s, const uint32_t *first, const uint32_t *last,
                             const char *schema, const char *table, const char *text, size_t len)
{
    struct fanout *f = s->feat.groups->fanout;
    if (f == NULL || f->mode != FANOUT_WRITE)
        return;
    if (text != NULL) {
        if ((f->lid_text = hy_dupz(text, len)) == NULL) {
            session_mark_closing(s, END_NOMEM);
            return;
        }
        f->lid_len = len;
    }
    f->lid_want = true;
    f->lid_copies = first == NULL;
    for (size_t g = 0; g < f->n && first != NULL; g++) {
        f->legs[g].first = first[g];
        f->legs[g].last = last[g];
    }
    /* a split: which rows generated ids depends on whether the INSERT
     * gives the auto-increment column values (answer_write) */
    bool quote_ok = schema != NULL && table != NULL && strpbrk(schema, "'\\") == NULL &&
                    strpbrk(table, "'\\") == NULL;
    f->lid_ai = first != NULL && quote_ok && f->lid_text != NULL;
    if (f->lid_ai)
        snprintf(f->lid_sql, sizeof(f->lid_sql),
                 "SELECT LAST_INSERT_ID(), (SELECT COLUMN_NAME FROM information_schema.COLUMNS "
                 "WHERE TABLE_SCHEMA = '%.64s' AND TABLE_NAME = '%.64s' AND EXTRA LIKE "
                 "'%%auto_increment%%' LIMIT 1)",
                 schema, table);
    else
        snprintf(f->lid_sql, sizeof(f->lid_sql), "SELECT LAST_INSERT_ID(), NULL");
}

static void leg_fail(struct fanout_leg *l, const char *fmt, ...) HY_PRINTF(2, 3);
static void leg_done(struct fanout_leg *l);
static void end_trx(struct fanout *f);

/* Say that the group's part failed in halyard: l->err, naming the group
 * and its backend (when it has one). */

void fanout_leg_note(struct fanout_leg *l, const char *fmt, ...)
{
    int k = l->be[0] != '\0'
                ? snprintf(l->err, sizeof(l->err), "halyard: group %s (%s): ", l->group, l->be)
                : snprintf(l->err, sizeof(l->err), "halyard: group %s: ", l->group);
    l->why_at = k > 0 && (size_t)k < sizeof(l->err) ? (size_t)k : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err + l->why_at, sizeof(l->err) - l->why_at, fmt, ap);
    va_end(ap);
}

static void leg_fail(struct fanout_leg *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char why[240];
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    fanout_leg_note(l, "%s", why);
    l->in_trx = false; /* its connection goes: the server rolls back */
    if (l->c != NULL)
        sqlclient_close(l->c);
    leg_done(l);
}

static void leg_done(struct fanout_leg *l)
{
    if (l->done)
        return;
    l->done = true;
    struct fanout *f = l->f;
    if (--f->pending > 0)
        return;
    if (f->trx && !f->ending)
        end_trx(f);
    else
        fanout_finish(f, true);
}

/* One packet of an answer into `pt`, under the fan-out's budget: what
 * sqlclient_raw is to do next; `why` says a failure. */
static int feed(struct fanout_leg *l, struct scatter_part *pt, const uint8_t *p, size_t len,
                char *why, size_t why_len)
{
    hy_status_t rc = scatter_part_feed(pt, p, len, &l->f->budget, why, why_len);
    return rc == HY_AGAIN ? SQLCLIENT_RAW_MORE
           : rc == HY_OK  ? SQLCLIENT_RAW_DONE
                          : SQLCLIENT_RAW_FAIL;
}

static int on_answer_packet(struct sqlclient *c, const uint8_t *p, size_t len, void *arg)
{
    (void)c;
    struct fanout_leg *l = arg;
    char why[200];
    int rc = feed(l, &l->part, p, len, why, sizeof(why));
    if (rc == SQLCLIENT_RAW_FAIL)
        fanout_leg_note(l, "%s", why);
    return rc;
}

static void on_answer(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct fanout_leg *l = arg;
    if (!res->ok && l->err[0] == '\0')
        leg_fail(l, "%s", res->err_msg);
    else
        leg_done(l); /* answered, or failed reading it (l->err) */
}

static void next_step(struct fanout_leg *l);

static void on_setup(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct fanout_leg *l = arg;
    if (!res->ok) {
        if (res->err_code != 0)
            leg_fail(l, "bringing the connection to the session's state: error %u: %s",
                     res->err_code, res->err_msg);
        else
            leg_fail(l, "bringing the connection to the session's state: %s", res->err_msg);
        return;
    }
    if (l->step == l->f->setup.n && l->f->trx)
        l->in_trx = true; /* that was START TRANSACTION */
    l->step++;
    next_step(l);
}

static void next_step(struct fanout_leg *l)
{
    struct fanout *f = l->f;
    if (f->setup_state && l->step < f->setup.n) {
        const struct varstate_cmd *cmd = &f->setup.v[l->step];
        if (sqlclient_command(l->c, cmd->pkt[0], cmd->pkt + 1, cmd->len - 1, on_setup, l) != HY_OK)
            leg_fail(l, "cannot send a command");
        return;
    }
    if (f->trx && l->step == f->setup.n) {
        char begin[XA_GTRID_MAX + XA_GROUP_MAX + 32] = "START TRANSACTION";
        if (f->xa)
            snprintf(begin, sizeof(begin), "XA START '%s','%s'", f->gtrid, l->group);
        if (sqlclient_command(l->c, COM_QUERY, begin, strlen(begin), on_setup, l) != HY_OK)
            leg_fail(l, "cannot send %s", begin);
        return;
    }
    if (f->killed) {
        /* KILL QUERY came before its part began: it ends as a killed one */
        static const char msg[] = "Query execution was interrupted";
        uint8_t pkt[64];
        size_t n =
            mysql_err_encode(pkt, sizeof(pkt), ER_QUERY_INTERRUPTED, "70100", msg, sizeof(msg) - 1);
        l->part.err.p = malloc(n > 0 ? n : 1);
        if (l->part.err.p == NULL || n == 0) {
            leg_fail(l, "out of memory");
            return;
        }
        memcpy(l->part.err.p, pkt, n);
        l->part.err.len = n;
        l->part.kind = SCATTER_PART_ERR;
        leg_done(l);
        return;
    }
    l->sent = true;
    if (sqlclient_raw(l->c, COM_QUERY, l->text, l->text_len, on_answer_packet, on_answer, l) !=
        HY_OK)
        leg_fail(l, "cannot send the statement");
}

static void on_end(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct fanout_leg *l = arg;
    struct fanout *f = l->f;
    if (!res->ok && f->committed) {
        /* its COMMIT failed: its part is that failure */
        scatter_part_free(&l->part);
        fanout_leg_note(l, "COMMIT failed: %.200s", res->err_msg);
    }
    l->in_trx = false;
    if (--f->pending == 0)
        fanout_finish(f, true);
}

/* Every group answered a transactional write: COMMIT everywhere when every
 * one succeeded, else ROLLBACK where it is open. */
static void end_trx(struct fanout *f)
{
    f->ending = true;
    bool all_ok = true;
    for (size_t g = 0; g < f->n; g++) {
        const struct fanout_leg *l = &f->legs[g];
        if (!l->skip && (l->err[0] != '\0' || l->part.kind != SCATTER_PART_OK))
            all_ok = false;
    }
    if (f->xa) {
        fanout_xa_end_trx(f, all_ok);
        return;
    }
    f->committed = all_ok;
    f->pending = 1;
    for (size_t g = 0; g < f->n; g++) {
        struct fanout_leg *l = &f->legs[g];
        if (l->skip || !l->in_trx || l->c == NULL)
            continue;
        static const char commit[] = "COMMIT", rollback[] = "ROLLBACK";
        const char *q = all_ok ? commit : rollback;
        f->pending++;
        if (sqlclient_command(l->c, COM_QUERY, q, strlen(q), on_end, l) != HY_OK) {
            f->pending--;
            if (all_ok)
                fanout_leg_note(l, "cannot send COMMIT");
        }
    }
    if (--f->pending == 0)
        fanout_finish(f, true);
}

static void leg_connect(struct fanout_leg *l);

static void on_connect(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct fanout_leg *l = arg;
    if (!res->ok && l->idx != l->primary && l->primary >= 0) {
        /* a replica that cannot take it now: the group's primary does,
         * as a read's fall-back would */
        slog_info(l->f->s, "scatter: group %s: %s failed (%s), reading from the primary", l->group,
                  l->be, res->err_msg);
        l->idx = l->primary;
        leg_connect(l);
        return;
    }
    if (!res->ok) {
        if (res->err_code != 0) {
            /* the server's own refusal of the login: passed on as it is */
            uint8_t pkt[400];
            size_t n = mysql_err_encode(pkt, sizeof(pkt), res->err_code, res->sqlstate,
                                        res->err_msg, strlen(res->err_msg));
            l->part.err.p = malloc(n > 0 ? n : 1);
            if (l->part.err.p != NULL && n > 0) {
                memcpy(l->part.err.p, pkt, n);
                l->part.err.len = n;
                l->part.kind = SCATTER_PART_ERR;
                leg_done(l);
                return;
            }
        }
        leg_fail(l, "%s", res->err_msg);
        return;
    }
    sqlclient_set_timeout(c, l->read_ms);
    next_step(l);
}

/* Where a scatter read runs in a group (f->replicas): as any read of the
 * session outside a transaction would, by the group's read/write split,
 * zones and the statement's hint (route_decide), but on the primary when
 * the router would first wait for the session's writes on the replica
 * (consistency = causal after a write, or global unless the replica was
 * seen to have every write): a fan-out cannot. -1 and `why` when nobody
 * can. */
static int leg_reader(struct fanout *f, const struct config *view, char *why, size_t whylen)
{
    struct session *s = f->s;
    int p = backend_primary_index(view);
    struct route_in in;
    struct route_out out;
    if (!route_view_group(s, view, &in))
        return p;
    in.kind = CL_READ;
    in.hint = f->hint;
    in.hint_backend = f->hint == CLH_BACKEND ? f->hint_backend : NULL;
    in.fits = true;
    session_decide(&in, &out);
    if (out.verdict == ROUTE_NO_REPLICA) {
        snprintf(why, whylen, "no replica can serve this read (replica_fallback = error)");
        return -1;
    }
    if (out.verdict != ROUTE_GO || out.target >= view->n_backends)
        return p;
    if (out.causal && s->route.last_write > 0)
        return p;
    if (out.global) { /* a replica seen to have every write counted now, else the primary */
        struct global_pos *g = group_of(view)->gpos;
        if (g == NULL || global_pos_applied(g, view->backends[out.target].rt) < global_pos_need(g))
            return p;
    }
    return (int)out.target;
}

/* A client to the group's backend l->idx, logged in as the session's user
 * (its SHA1 tokens) with its character set; for the statement (`part`)
 * also in its schema (a scatter read's) and with its capabilities. NULL
 * when out of memory. */
static struct sqlclient *leg_client(const struct fanout_leg *l, bool part)
{
    const struct session *s = l->f->s;
    const struct config_backend *be = &l->view->backends[l->idx];
    struct sqlclient_target t = {
        .name = be->name,
        .address = be->address,
        .port = be->port,
        .user = s->who.user,
        .tls = be->tls,
        .tls_ctx = be->tls_ctx,
        .h1 = s->who.no_password || s->who.old_pw ? NULL : s->who.h1,
        .h2 = s->who.no_password || s->who.old_pw ? NULL : s->who.h2,
        .old_hash = s->who.old_pw && !s->who.no_password ? s->who.old_hash : NULL,
        .db = part && l->f->setup_state ? session_schema(s) : NULL,
        .charset = s->who.charset,
        .extra_caps = part ? s->who.caps & CLIENT_FOUND_ROWS : 0,
        .ext_caps = part ? s->who.ext_caps & MARIADB_CLIENT_EXTENDED_METADATA : 0,
        .session = s->id, /* its process-list rows are the session's (connreg.h) */
    };
    return sqlclient_create(s->w->loop, &t, l->view->connect_timeout_ms);
}

/* Connect the group's connection to l->idx. */
static void leg_connect(struct fanout_leg *l)
{
    snprintf(l->be, sizeof(l->be), "%s", l->view->backends[l->idx].name);
    sqlclient_destroy(l->c);
    l->c = leg_client(l, true);
    if (l->c == NULL) {
        leg_fail(l, "out of memory");
        return;
    }
    if (sqlclient_connect(l->c, on_connect, l) != HY_OK)
        leg_fail(l, "cannot connect");
}

bool session_fanout_start(struct session *s)
{
    struct fanout *f = s->feat.groups->fanout;
    if (f->plan.shape == SCATTER_REFUSE) {
        slog_info(s, "scatter refused: %s", f->plan.why);
        session_err(s, 1, SERR_SCATTER, f->plan.why);
        session_fanout_free(s);
        return false;
    }
    if (f->xread && !f->xdone) {
        /* not from the command loop (session_fanout_xa_wait): a prepared
         * statement's, whose parts cannot wait in `up` */
        session_err(s, 1, SERR_SCATTER,
                    "halyard: a read of every group inside a transaction across groups (XA) runs "
                    "only as a text statement (COM_QUERY)");
        session_fanout_free(s);
        return false;
    }
    if (f->xread) {
        fanout_xa_read_answer(f);
        return false;
    }
    struct config *root = config_root(s->cfg);
    if (f->setup_state && s->vars.vs != NULL) {
        struct varstate *empty = varstate_create(STATE_MAX_BYTES);
        hy_status_t rc = empty == NULL ? HY_NOMEM
                                       : varstate_apply(empty, s->vars.vs, s->who.charset,
                                                        STATE_MAX_BYTES, &f->setup);
        varstate_destroy(empty);
        if (rc != HY_OK) {
            session_err(s, 1, SERR_SCATTER,
                        "halyard: cannot bring the groups' connections to the session's state");
            session_fanout_free(s);
            return false;
        }
    }
    f->budget = SCATTER_MAX_BUFFER;
    f->running = true;
    registry_set_fanout(&s->kill.reg, true); /* a KILL of it is halyard's (session_fanout_kill) */
    f->pending = f->n + 1; /* the last one released below: no finish while starting */
    for (size_t g = 0; g < f->n; g++) {
        struct fanout_leg *l = &f->legs[g];
        l->f = f;
        l->part.ext_meta = (s->who.ext_caps & MARIADB_CLIENT_EXTENDED_METADATA) != 0;
        l->dlist.ext_meta = l->part.ext_meta;
        struct config *view = group_view(root, g);
        snprintf(l->group, sizeof(l->group), "%s", root->groups[g].name);
        if (l->skip) {
            l->done = true;
            f->pending--;
            continue;
        }
        struct group_stats *gs = stats_group(root->groups[g].name);
        if (gs != NULL)
            atomic_fetch_add_explicit(&gs->scatters, 1, memory_order_relaxed);
        l->view = view;
        l->primary = view != NULL ? backend_primary_index(view) : -1;
        char why[320] = "no usable primary";
        l->idx = view == NULL  ? -1
                 : f->replicas ? leg_reader(f, view, why, sizeof(why))
                               : l->primary;
        if (l->idx < 0) {
            leg_fail(l, "%s", why);
            continue;
        }
        l->read_ms = view->backend_read_timeout_ms > 0 ? view->backend_read_timeout_ms
                                                       : SCATTER_DEFAULT_TIMEOUT_MS;
        leg_connect(l);
    }
    if (--f->pending == 0) {
        if (f->trx && !f->ending) {
            /* every group failed at once: nothing is open, nothing to end */
            f->ending = true;
        }
        fanout_finish(f, false); /* the caller goes on */
    }
    return s->feat.groups->fanout != NULL;
}

/* The answer of a read: merged, or the first error in group order. */
static const struct fanout_leg *read_failed(const struct fanout *f);

void fanout_answer_read(struct fanout *f)
{
    struct session *s = f->s;
    const struct fanout_leg *bad = read_failed(f);
    if (bad != NULL) {
        session_pool_values_set(s, false, 0, true);
        if (bad->err[0] == '\0' && bad->part.kind == SCATTER_PART_ERR) {
            send_err_payload(s, 1, bad->part.err.p, bad->part.err.len);
        } else {
            slog_info(s, "scatter failed: %s", bad->err);
            session_err(s, 1, SERR_SCATTER, bad->err[0] != '\0' ? bad->err : "halyard: no answer");
        }
        return;
    }
    struct scatter_part *parts = calloc(f->n, sizeof(*parts));
    struct scatter_out out = {0};
    char why[300] = "";
    hy_status_t rc = HY_NOMEM;
    if (parts != NULL) {
        for (size_t g = 0; g < f->n; g++)
            parts[g] = f->legs[g].part; /* shallow: the legs keep ownership */
        rc = scatter_merge(&f->plan, parts, f->n, s->who.caps, s->route.status, &out, why,
                           sizeof(why));
    }
    free(parts);
    uint8_t *bin = NULL;
    size_t bin_len = 0;
    if (rc == HY_OK && f->binary) {
        char bwhy[240] = "";
        rc = ps_text_binary_resultset(scatter_out_bytes(&out), out.buf.len,
                                      (s->who.ext_caps & MARIADB_CLIENT_EXTENDED_METADATA) != 0,
                                      (s->who.caps & CLIENT_DEPRECATE_EOF) != 0,
                                      (s->who.ext_caps & MARIADB_CLIENT_CACHE_METADATA) != 0, &bin,
                                      &bin_len, bwhy, sizeof(bwhy));
        if (rc == HY_ERROR)
            snprintf(why, sizeof(why),
                     "halyard: the merged answer of a prepared read of every group cannot be sent "
                     "in the binary protocol exactly: %s",
                     bwhy);
    }
    session_pool_values_set(s, true, out.rows, rc != HY_OK); /* FOUND_ROWS(), ROW_COUNT() */
    if (rc == HY_OK) {
        if (bin != NULL)
            send_local(s, bin, bin_len);
        else
            send_local(s, scatter_out_bytes(&out), out.buf.len);
    } else if (rc == HY_ERROR) {
        slog_info(s, "scatter merge refused: %s", why);
        session_err(s, 1, SERR_SCATTER, why);
    } else {
        session_mark_closing(s, END_NOMEM);
    }
    free(bin);
    scatter_out_free(&out);
}

/* A write that succeeded on every group (ask_lid): the session's
 * LAST_INSERT_ID() after it, set (session_pool_lid_set) or said unknown;
 * the OK's last insert id returned. */
static uint64_t write_insert_id(struct fanout *f)
{
    struct session *s = f->s;
    struct scatter_lid v[64];
    size_t n = 0;
    bool read = true;
    const struct fanout_leg *any = NULL;
    for (size_t g = 0; g < f->n && n < sizeof(v) / sizeof(v[0]); g++) {
        const struct fanout_leg *l = &f->legs[g];
        if (l->skip)
            continue;
        read &= l->lid_read;
        v[n++] = (struct scatter_lid){
            .generated = l->lid, .ok_id = l->part.insert_id, .first = l->first, .last = l->last};
        if (l->ai_col[0] != '\0')
            any = l;
    }
    /* the group of the statement's first row that generates an id, from
     * its text: the auto-increment column not given, or NULL or DEFAULT
     * (rows before it give their own ids) */
    int gen_at = -1;
    if (f->lid_ai && any != NULL) {
        const struct config *root = config_root_c(s->cfg);
        struct key_in kin = {.tables = &root->key_tables,
                             .sql = f->lid_text,
                             .len = f->lid_len,
                             .opts = s->route.lex_opts,
                             .schema = session_schema(s)};
        uint32_t row;
        uint16_t g = shard_key_insert_gen(&kin, any->ai_col, &row) == KEY_GEN_YES
                         ? shard_key_row_group(&kin, row)
                         : UINT16_MAX;
        for (size_t i = 0, k = 0; g != UINT16_MAX && i < f->n; i++) {
            if (f->legs[i].skip)
                continue;
            if (i == g)
                gen_at = (int)k;
            k++;
        }
    }
    uint64_t lid = 0, ok_id = 0;
    enum scatter_lid_verdict vd =
        read ? scatter_insert_id(v, n, f->lid_copies, gen_at, &lid, &ok_id) : SCATTER_LID_UNKNOWN;
    slog_debug(s, "LAST_INSERT_ID() after the write on every group: %s %llu",
               scatter_lid_verdict_to_str(vd), (unsigned long long)lid);
    if (vd == SCATTER_LID_SET)
        session_pool_lid_set(s, lid);
    else if (vd == SCATTER_LID_UNKNOWN)
        session_pool_lid_unknown(
            s, !read ? "on several groups: a group's value could not be read back"
               : f->lid_copies
                   ? "on several groups: the groups generated different ids for the copies of "
                     "the same rows"
                   : "on several groups: rows on several groups generated ids, and which row "
                     "got the first one is not known from the statement's text");
    return ok_id;
}

/* The answer of a write: one OK, or a 1105 saying what each group did. */
static void answer_write(struct fanout *f)
{
    struct session *s = f->s;
    size_t n = 0;
    struct scatter_part *parts = calloc(f->n, sizeof(*parts));
    const char **names = calloc(f->n, sizeof(*names));
    const char **fail = calloc(f->n, sizeof(*fail));
    if (parts == NULL || names == NULL || fail == NULL) {
        free(parts);
        free(names);
        free(fail);
        session_mark_closing(s, END_NOMEM);
        return;
    }
    for (size_t g = 0; g < f->n; g++) {
        const struct fanout_leg *l = &f->legs[g];
        if (l->skip)
            continue;
        names[n] = l->group;
        if (l->err[0] != '\0') {
            fail[n] = l->err + l->why_at; /* without "halyard: group X (be): " */
            memset(&parts[n], 0, sizeof(parts[n]));
        } else {
            parts[n] = l->part;
        }
        n++;
    }
    struct scatter_out out = {0};
    char why[600] = "";
    uint64_t insert_id = f->lid_asked ? write_insert_id(f) : 0;
    hy_status_t rc = scatter_report(parts, names, fail, n, f->sum, s->route.status, insert_id, &out,
                                    why, sizeof(why));
    struct mysql_ok ok;
    bool said = rc == HY_OK && out.buf.len > MYSQL_HEADER_SIZE &&
                mysql_ok_decode(scatter_out_bytes(&out) + MYSQL_HEADER_SIZE,
                                out.buf.len - MYSQL_HEADER_SIZE, s->who.caps, &ok) == HY_OK;
    session_pool_values_set(s, false, said ? ok.affected_rows : 0, !said); /* ROW_COUNT() */
    if (rc == HY_OK) {
        send_local(s, scatter_out_bytes(&out), out.buf.len);
    } else if (rc == HY_ERROR) {
        size_t k = strlen(why);
        if (f->trx && f->committed)
            snprintf(why + k, sizeof(why) - k,
                     " (COMMIT failed there: the other groups committed)");
        else if (f->trx)
            snprintf(why + k, sizeof(why) - k, " (rolled back on every group)");
        else
            snprintf(why + k, sizeof(why) - k,
                     " (not transactional: the groups that succeeded keep the change)");
        slog_info(s, "statement on every group failed: %s", why);
        session_err(s, 1, SERR_SCATTER, why);
    } else {
        session_mark_closing(s, END_NOMEM);
    }
    scatter_out_free(&out);
    free(parts);
    free(names);
    free(fail);
}

/* ---- KILL QUERY -------------------------------------------------------------
 * The statement's parts run on connections only this fan-out knows: a
 * KILL QUERY of the session (registry.c marks it, the worker calls here)
 * asks each server to stop its part, from a connection of its own logged
 * in as the session's user (the owner of the part's thread), as a client
 * killing its own query would. Each part then ends with the server's 1317,
 * and the statement with it. The killers go with the fan-out. */

static void on_killed(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct fanout_leg *l = arg;
    if (!res->ok)
        slog_info(l->f->s, "scatter: group %s (%s): KILL QUERY: %s", l->group, l->be, res->err_msg);
    l->killer = NULL;
    sqlclient_destroy(c);
}

static void on_killer(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct fanout_leg *l = arg;
    char sql[48];
    snprintf(sql, sizeof(sql), "KILL QUERY %u", sqlclient_thread_id(l->c));
    if (res->ok && l->c != NULL && !l->done &&
        sqlclient_command(c, COM_QUERY, sql, strlen(sql), on_killed, l) == HY_OK)
        return;
    struct sqlresult none = {.ok = res->ok || l->done};
    snprintf(none.err_msg, sizeof(none.err_msg), "%s", res->ok ? "" : res->err_msg);
    on_killed(c, &none, l);
}

void session_fanout_kill(struct session *s)
{
    struct fanout *f = session_groups(s)->fanout;
    if (f == NULL || !f->running)
        return;
    slog_info(s, "KILL QUERY: stopping the statement's part on every group");
    f->killed = true;
    for (size_t g = 0; g < f->n; g++) {
        struct fanout_leg *l = &f->legs[g];
        if (!l->sent || l->done || l->c == NULL || l->killer != NULL ||
            sqlclient_thread_id(l->c) == 0)
            continue;
        l->killer = leg_client(l, false);
        if (l->killer != NULL && sqlclient_connect(l->killer, on_killer, l) != HY_OK) {
            sqlclient_destroy(l->killer);
            l->killer = NULL;
        }
    }
}

/* ---- the statement's conditions --------------------------------------------
 * Once every group has answered (and a write's transactions ended: COMMIT
 * and ROLLBACK leave the diagnostics as they were), each connection that
 * has conditions is asked for them: SHOW WARNINGS, then its counts. With
 * none anywhere, the first group still answers SHOW WARNINGS, for the
 * definitions of an empty list. The session holds them (session_diag.c). */

static const char diag_counts[] = "SELECT @@warning_count, @@error_count, @@max_error_count";

static void diag_done(struct fanout_leg *l)
{
    struct fanout *f = l->f;
    if (--f->pending == 0)
        fanout_finish(f, true);
}

static void diag_lost(struct fanout_leg *l, const char *why)
{
    if (l->f->diag_lost[0] == '\0')
        snprintf(l->f->diag_lost, sizeof(l->f->diag_lost), "group %.47s: %.150s", l->group, why);
    scatter_part_free(&l->dlist);
}

static void on_diag_counts(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct fanout_leg *l = arg;
    bool ok = res->ok && res->n_rows == 1 && res->n_cols == 3;
    for (int i = 0; ok && i < 3; i++) {
        const char *v = sqlresult_get(res, 0, i);
        ok = hy_str_u64(v, UINT64_MAX, &l->dcount[i]);
    }
    if (!ok)
        diag_lost(l, res->ok ? "unexpected counts" : res->err_msg);
    diag_done(l);
}

static int on_diag_packet(struct sqlclient *c, const uint8_t *p, size_t len, void *arg)
{
    (void)c;
    struct fanout_leg *l = arg;
    char why[200];
    int rc = feed(l, &l->dlist, p, len, why, sizeof(why));
    if (rc == SQLCLIENT_RAW_FAIL)
        diag_lost(l, why);
    return rc;
}

static void on_diag_list(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct fanout_leg *l = arg;
    if (!res->ok || l->dlist.kind != SCATTER_PART_ROWS) {
        diag_lost(l, res->ok ? "SHOW WARNINGS did not answer rows" : res->err_msg);
        diag_done(l);
        return;
    }
    bool has = l->part.kind == SCATTER_PART_ERR || l->part.warnings > 0;
    if (has && sqlclient_query(c, diag_counts, on_diag_counts, l) == HY_OK)
        return;
    if (has)
        diag_lost(l, "cannot ask for the counts");
    diag_done(l);
}

/* Ask the groups for their conditions: true when answers are awaited
 * (finish runs again once they are in). */
static bool ask_diag(struct fanout *f)
{
    f->diag_asked = true;
    size_t first = f->n;
    bool any = false;
    for (size_t g = 0; g < f->n; g++) {
        struct fanout_leg *l = &f->legs[g];
        if (l->skip || l->c == NULL || l->err[0] != '\0' || !sqlclient_ready(l->c))
            continue;
        if (first == f->n)
            first = g;
        l->dwant = l->part.kind == SCATTER_PART_ERR || l->part.warnings > 0;
        any |= l->dwant;
    }
    if (!any && first < f->n)
        f->legs[first].dwant = true;
    f->pending = 1;
    for (size_t g = 0; g < f->n; g++) {
        struct fanout_leg *l = &f->legs[g];
        if (!l->dwant)
            continue;
        static const char q[] = "SHOW WARNINGS";
        f->pending++;
        if (sqlclient_raw(l->c, COM_QUERY, q, sizeof(q) - 1, on_diag_packet, on_diag_list, l) !=
            HY_OK) {
            f->pending--;
            diag_lost(l, "cannot send SHOW WARNINGS");
        }
    }
    return --f->pending > 0;
}

/* The conditions the session holds after the statement: every group's in
 * group order, or, when a group's error is the answer (`bad`), that
 * group's alone. An error halyard answers with replaces them as it is
 * sent (session_err). */
static void keep_diag(struct fanout *f, const struct fanout_leg *bad)
{
    struct diag_local d;
    memset(&d, 0, sizeof(d));
    bool defs = false;
    for (size_t g = 0; g < f->n; g++) {
        const struct fanout_leg *l = &f->legs[g];
        if (!l->dwant || l->dlist.kind != SCATTER_PART_ROWS)
            continue;
        bool has = l->part.kind == SCATTER_PART_ERR || l->part.warnings > 0;
        if (bad != NULL && l != bad && defs)
            continue;
        if (bad != NULL && l != bad)
            has = false; /* its definitions only */
        uint64_t c0 = has ? l->dcount[0] : 0, c1 = has ? l->dcount[1] : 0;
        uint64_t cap = has ? l->dcount[2] : 64;
        struct scatter_part none = l->dlist;
        none.n_rows = 0;
        hy_status_t rc = diag_local_add(&d, has ? &l->dlist : &none, c0, c1, cap);
        if (rc == HY_NOMEM) {
            diag_local_free(&d);
            session_mark_closing(f->s, END_NOMEM);
            return;
        }
        defs |= rc == HY_OK;
    }
    if (f->diag_lost[0] != '\0')
        snprintf(d.unknown, sizeof(d.unknown), "%s", f->diag_lost);
    else if (!defs)
        snprintf(d.unknown, sizeof(d.unknown), "no group's connection was left to ask");
    session_diag_set(f->s, &d);
}

/* ---- LAST_INSERT_ID() ---------------------------------------------------------
 * Once a write that may generate ids has succeeded on every group (and its
 * conditions are read: the lookup of the auto-increment column uses a
 * table, which clears them there), each group's connection is asked for
 * its LAST_INSERT_ID(): it logged in with 0, so a value is the first id
 * its part generated. answer_write decides (scatter_insert_id). */

static void on_lid(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct fanout_leg *l = arg;
    const char *v =
        res->ok && res->n_rows == 1 && res->n_cols == 2 ? sqlresult_get(res, 0, 0) : NULL;
    if (v != NULL) {
        l->lid_read = hy_str_u64(v, UINT64_MAX, &l->lid);
        const char *col = sqlresult_get(res, 0, 1);
        snprintf(l->ai_col, sizeof(l->ai_col), "%s", col != NULL ? col : "");
    }
    if (!l->lid_read)
        slog_info(l->f->s, "group %s: LAST_INSERT_ID() not read back: %s", l->group,
                  res->ok ? "unexpected answer" : res->err_msg);
    diag_done(l);
}

/* Every part succeeded (and committed): true when answers are awaited. */
static bool ask_lid(struct fanout *f)
{
    f->lid_asked = true;
    for (size_t g = 0; g < f->n; g++) {
        const struct fanout_leg *l = &f->legs[g];
        if (!l->skip && (l->err[0] != '\0' || l->part.kind != SCATTER_PART_OK))
            return false; /* it failed: LAST_INSERT_ID() stays as it was */
    }
    if (f->trx && !f->committed)
        return false;
    f->pending = 1;
    for (size_t g = 0; g < f->n; g++) {
        struct fanout_leg *l = &f->legs[g];
        if (l->skip || l->c == NULL || !sqlclient_ready(l->c))
            continue;
        f->pending++;
        if (sqlclient_query(l->c, f->lid_sql, on_lid, l) != HY_OK)
            f->pending--;
    }
    return --f->pending > 0;
}

/* The group whose failure is a read's answer (the first in group order),
 * or NULL. */
static const struct fanout_leg *read_failed(const struct fanout *f)
{
    for (size_t g = 0; g < f->n; g++) {
        if (f->legs[g].err[0] != '\0' || f->legs[g].part.kind == SCATTER_PART_ERR ||
            f->legs[g].part.kind == SCATTER_PART_NONE)
            return &f->legs[g];
    }
    return NULL;
}

/* Send the answer; the session goes on. from_loop: called from a group's
 * callback (not from session_fanout_start, whose caller goes on itself). */
void fanout_finish(struct fanout *f, bool from_loop)
{
    struct session *s = f->s;
    if (!f->running)
        return;
    if (!f->diag_asked && ask_diag(f))
        return; /* runs again from the last group's answer */
    if (f->lid_want && !f->lid_asked && ask_lid(f))
        return; /* the same */
    f->running = false;
    registry_set_fanout(&s->kill.reg, false);
    if (registry_kill_requested(&s->kill.reg)) {
        /* KILL CONNECTION while it ran: as a server, "Connection was
         * killed", and the session ends */
        session_err(s, 1, SERR_KILLED);
        session_fanout_free(s);
        session_mark_closing(s, END_KILLED);
        if (from_loop)
            session_reap(s);
        return;
    }
    keep_diag(f, f->mode == FANOUT_READ ? read_failed(f) : NULL);
    if (s->state == SS_CLOSING) {
        session_fanout_free(s);
        if (from_loop)
            session_reap(s);
        return;
    }
    if (f->mode == FANOUT_READ) {
        fanout_answer_read(f);
    } else {
        /* consistency = global: before the client has the answer */
        const struct config *root = config_root(s->cfg);
        for (size_t g = 0; g < root->n_groups; g++) {
            if (root->groups[g].gpos != NULL)
                global_pos_commit(root->groups[g].gpos);
        }
        answer_write(f);
        route_fanout_wrote(s); /* the session's next read waits for it */
    }
    /* Freed from a group's callback: sqlclient_destroy is safe there. */
    session_fanout_free(s);
    if (!from_loop)
        return;
    if (s->state == SS_CLOSING) {
        session_reap(s);
        return;
    }
    session_next_command(s);
    if (s->state == SS_CLOSING)
        session_reap(s);
}
