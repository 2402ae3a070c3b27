/*
 * admin_cmd.c: the admin socket's commands, one row each in admin_verbs[]
 * (pgbouncer's cmd_list[]): the words that name it, how many more it takes
 * and how it reads them, its line in `help`, and its handler.
 *
 * admin_parse() (admin_parse.c) matches a line against the rows; admin.c
 * runs the row's handler in the main thread and sends what it wrote, or,
 * when the handler says so, gathers the answer from the workers, waits for
 * the failover thread, or waits for a drained backend to be idle.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin_int.h"
#include "halyard/admin/admin.h"
#include "halyard/admin/alerts.h"
#include "halyard/backup/backup_copy.h"
#include "halyard/backup/backup_full.h"
#include "halyard/backup/backup_sched.h"
#include "halyard/backup/backup_verify.h"
#include "halyard/backup/binlog_archive.h"
#include "halyard/cache/cache.h"
#include "halyard/cluster/backend.h"
#include "halyard/cluster/proof.h"
#include "halyard/cluster/xa_recover.h"
#include "halyard/config/config.h"
#include "halyard/config/rules.h"
#include "halyard/core/clock.h"
#include "halyard/core/events.h"
#include "halyard/core/log.h"
#include "halyard/core/memory.h"
#include "halyard/limits/limits.h"
#include "halyard/route/firewall.h"
#include "halyard/session/guard.h"
#include "halyard/session/worker.h"

/* ---- arguments ---------------------------------------------------------- */

static bool word_is(const struct admin_words *a, size_t k, const char *word)
{
    return a->len[k] == strlen(word) && strncasecmp(a->tok[k], word, a->len[k]) == 0;
}

/* Word k as a decimal number of at most `digits` digits; false if it is not
 * one. */
static bool word_number(const struct admin_words *a, size_t k, size_t digits, uint64_t *out)
{
    uint64_t v = 0;
    bool ok = a->len[k] <= digits;
    for (size_t i = 0; ok && i < a->len[k]; i++) {
        ok = a->tok[k][i] >= '0' && a->tok[k][i] <= '9';
        v = v * 10 + (uint64_t)(a->tok[k][i] - '0');
    }
    *out = v;
    return ok;
}

/* Copy word k into `out` (zeroed by admin_parse) if it fits. */
static bool word_copy(const struct admin_words *a, size_t k, char *out, size_t cap)
{
    if (a->len[k] >= cap)
        return false;
    memcpy(out, a->tok[k], a->len[k]);
    out[a->len[k]] = '\0';
    return true;
}

/* show backends [--detail] */
static hy_status_t args_backends(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                 size_t errlen)
{
    (void)err;
    (void)errlen;
    if (a->n == 1 && !word_is(a, 0, "--detail"))
        return HY_AGAIN;
    cmd->detail = a->n == 1;
    return HY_OK;
}

/* backend NAME drain [nowait]|maint|online */
static hy_status_t args_backend_set(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                    size_t errlen)
{
    if ((a->n != 2 && !(a->n == 3 && word_is(a, 1, "drain") && word_is(a, 2, "nowait"))) ||
        !(word_is(a, 1, "drain") || word_is(a, 1, "maint") || word_is(a, 1, "online")) ||
        !word_copy(a, 0, cmd->arg, sizeof(cmd->arg))) {
        snprintf(err, errlen, "ERR usage: backend NAME drain [nowait]|maint|online");
        return HY_ERROR;
    }
    cmd->nowait = a->n == 3;
    cmd->mode = word_is(a, 1, "drain")   ? BACKEND_ADMIN_DRAIN
                : word_is(a, 1, "maint") ? BACKEND_ADMIN_MAINT
                                         : BACKEND_ADMIN_NONE;
    return HY_OK;
}

/* show digests [top N] */
static hy_status_t args_digests(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                size_t errlen)
{
    cmd->top = ADMIN_DIGESTS_TOP;
    if (a->n == 0)
        return HY_OK;
    if (a->n != 2 || !word_is(a, 0, "top")) {
        snprintf(err, errlen, "ERR usage: show digests [top N]");
        return HY_ERROR;
    }
    uint64_t top;
    if (!word_number(a, 1, 6, &top) || top == 0 || top > ADMIN_DIGESTS_MAX) {
        char quoted[300];
        quote_line(quoted, sizeof(quoted), a->tok[1], a->len[1]);
        snprintf(err, errlen, "ERR show digests: '%s' is not a number from 1 to %u", quoted,
                 ADMIN_DIGESTS_MAX);
        return HY_ERROR;
    }
    cmd->top = (uint32_t)top;
    return HY_OK;
}

/* kill session ID */
static hy_status_t args_kill(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                             size_t errlen)
{
    if (a->n != 1) {
        snprintf(err, errlen, "ERR usage: kill session ID");
        return HY_ERROR;
    }
    uint64_t id;
    if (!word_number(a, 0, 10, &id) || id == 0 || id > UINT32_MAX) {
        char quoted[300];
        quote_line(quoted, sizeof(quoted), a->tok[0], a->len[0]);
        snprintf(err, errlen, "ERR kill session: '%s' is not a session id", quoted);
        return HY_ERROR;
    }
    cmd->session_id = (uint32_t)id;
    return HY_OK;
}

/* unblock ADDRESS|all */
static hy_status_t args_unblock(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                size_t errlen)
{
    if (a->n != 1 || !word_copy(a, 0, cmd->arg, sizeof(cmd->arg))) {
        snprintf(err, errlen, "ERR usage: unblock ADDRESS|all");
        return HY_ERROR;
    }
    return HY_OK;
}

/* flush cache [SCHEMA.TABLE] */
static hy_status_t args_flush_cache(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                    size_t errlen)
{
    if (a->n > 1 || (a->n == 1 && !word_copy(a, 0, cmd->arg, sizeof(cmd->arg))) ||
        (a->n == 1 && strchr(cmd->arg, '.') == NULL)) {
        snprintf(err, errlen, "ERR usage: flush cache [SCHEMA.TABLE]");
        return HY_ERROR;
    }
    return HY_OK;
}

/* show firewall [USER] */
static hy_status_t args_show_firewall(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                      size_t errlen)
{
    if (a->n > 1 || (a->n == 1 && !word_copy(a, 0, cmd->arg, sizeof(cmd->arg)))) {
        snprintf(err, errlen, "ERR usage: show firewall [USER]");
        return HY_ERROR;
    }
    return HY_OK;
}

/* dump firewall USER */
static hy_status_t args_dump_firewall(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                      size_t errlen)
{
    if (a->n != 1 || !word_copy(a, 0, cmd->arg, sizeof(cmd->arg))) {
        snprintf(err, errlen, "ERR usage: dump firewall USER");
        return HY_ERROR;
    }
    return HY_OK;
}

/* switchover [to NAME] */
static hy_status_t args_switchover(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                   size_t errlen)
{
    if (a->n == 0)
        return HY_OK;
    if (a->n != 2 || !word_is(a, 0, "to") || !word_copy(a, 1, cmd->target, sizeof(cmd->target))) {
        snprintf(err, errlen, "ERR usage: switchover [to NAME]");
        return HY_ERROR;
    }
    return HY_OK;
}

/* failover [GROUP]: a group's name, or a backend's: its group (group.h) */
static hy_status_t args_failover(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                 size_t errlen)
{
    if (a->n == 1 && !word_copy(a, 0, cmd->target, sizeof(cmd->target))) {
        snprintf(err, errlen, "ERR usage: failover [GROUP]");
        return HY_ERROR;
    }
    return HY_OK;
}

/* show events [last N] */
static hy_status_t args_events(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                               size_t errlen)
{
    cmd->top = 20;
    if (a->n == 0)
        return HY_OK;
    uint64_t last = 0;
    bool ok = a->n == 2 && word_is(a, 0, "last") && word_number(a, 1, 3, &last);
    if (!ok || last == 0 || last > ALERTS_HISTORY) {
        snprintf(err, errlen, "ERR usage: show events [last N], N from 1 to %d", ALERTS_HISTORY);
        return HY_ERROR;
    }
    cmd->top = (uint32_t)last;
    return HY_OK;
}

/* backup verified RESULT GTID TABLES DIFFER: the words, checked by
 * backup_verify_parse when it runs */
static hy_status_t args_verified(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                 size_t errlen)
{
    size_t len = (size_t)(a->tok[a->n - 1] + a->len[a->n - 1] - a->tok[0]);
    if (len >= sizeof(cmd->arg)) {
        snprintf(err, errlen, "ERR backup verified: the report is too long");
        return HY_ERROR;
    }
    memcpy(cmd->arg, a->tok[0], len);
    cmd->arg[len] = '\0';
    return HY_OK;
}

/* ---- handlers ----------------------------------------------------------- */

static enum admin_reply out_of_memory(struct admin_req *r)
{
    textbuf_puts(r->out, "ERR out of memory\n");
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_help(struct admin_req *r)
{
    admin_render_help(r->out, r->cmd->json);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_show_status(struct admin_req *r)
{
    struct hy_memory mem;
    hy_memory_get(&mem);
    admin_render_status(r->out, r->st, status_uptime(r->st), status_client_sessions(), &mem,
                        r->cmd->json);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_show_config(struct admin_req *r)
{
    admin_render_config(r->out, r->st->cfg, r->cmd->json);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_show_stats(struct admin_req *r)
{
    struct status *st = r->st;
    struct stat_values total, *per = calloc((size_t)st->n_workers, sizeof(*per));
    if (per == NULL)
        return out_of_memory(r);
    status_sum_stats(st, &total);
    for (int i = 0; i < st->n_workers; i++)
        status_worker_stats(&st->workers[i], &per[i]);
    admin_render_stats(r->out, &total, per, st->n_workers, status_client_sessions(), r->cmd->json);
    free(per);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_show_rules(struct admin_req *r)
{
    const struct config *cfg = r->st->cfg;
    uint64_t *hits = calloc(cfg->n_rules ? cfg->n_rules : 1, sizeof(*hits));
    if (hits == NULL)
        return out_of_memory(r);
    for (size_t i = 0; i < cfg->n_rules; i++)
        hits[i] = rules_hits(cfg, i);
    uint64_t errors = 0;
    for (int i = 0; i < r->st->n_workers; i++)
        errors += atomic_load_explicit(&r->st->workers[i].rules.match_errors, memory_order_relaxed);
    struct config_rule zero = {0};
    struct config *one = json_prototype(r->cmd, cfg->n_rules) ? malloc(sizeof(*one)) : NULL;
    if (one != NULL) { /* the same config but for one zeroed rule */
        memcpy(one, cfg, sizeof(*one));
        one->rules = &zero;
        one->n_rules = 1;
    }
    size_t at = r->out->len;
    admin_render_rules(r->out, one != NULL ? one : cfg, hits, errors, r->cmd->json);
    if (one != NULL)
        json_prototype_mark(r->out, at);
    free(one);
    free(hits);
    return ADMIN_REPLY_NOW;
}

struct admin_backend_row *admin_backend_rows(const struct config *cfg)
{
    struct admin_backend_row *rows = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(*rows));
    if (rows == NULL)
        return NULL;
    double now = hy_now_s();
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *be = &cfg->backends[i];
        struct admin_backend_row *r = &rows[i];
        struct backend_rt *rt = be->rt;
        r->name = be->name;
        r->group = be->group < cfg->n_groups ? cfg->groups[be->group].name : "";
        r->zone = be->zone;
        snprintf(r->address, sizeof(r->address), "%s:%d", be->address, be->port);
        r->lag_ms = -1;
        r->check_age_s = -1;
        r->rtt_ms = -1;
        if (rt == NULL) {
            r->role = backend_role_to_str(be->role);
            r->state = backend_state_to_str(BACKEND_ONLINE);
            continue;
        }
        struct backend_info info;
        struct backend_stats bs;
        backend_info_get(rt, &info);
        backend_stats_get(rt, &bs);
        r->role = backend_role_to_str(backend_role(rt));
        r->role_seen = atomic_load(&rt->role_seen);
        r->fenced = atomic_load(&rt->fenced);
        r->state = backend_state_to_str(backend_state(rt));
        snprintf(r->why, sizeof(r->why), "%s", info.why);
        r->lag_ms = atomic_load(&rt->lag_ms);
        r->repl_broken = atomic_load(&rt->repl_broken);
        snprintf(r->gtid, sizeof(r->gtid), "%s", info.gtid_current);
        r->conns_in_use = HY_MIN(bs.outstanding, bs.conns);
        r->conns_idle = bs.conns - r->conns_in_use;
        r->queries = bs.queries;
        r->errors = bs.errors;
        r->p50_ms = backend_latency_quantile(&bs, 0.50) / 1000.0;
        r->p99_ms = backend_latency_quantile(&bs, 0.99) / 1000.0;
        uint32_t rtt = atomic_load_explicit(&rt->rtt_us, memory_order_relaxed);
        r->rtt_ms = rtt > 0 ? rtt / 1000.0 : -1;
        snprintf(r->last_check, sizeof(r->last_check), "%s", info.last_check);
        if (info.last_check_time != 0)
            r->check_age_s = HY_MAX(0.0, now - info.last_check_time);
        (void)proof_settings_missing(info.seen[0].proof_have, PROOF_NEED_ALL, r->proof_missing,
                                     sizeof(r->proof_missing));
        r->load_seen = info.status_time != 0;
        r->status = info.status;
        r->rates = info.rates;
    }
    return rows;
}

static enum admin_reply run_show_backends(struct admin_req *r)
{
    struct admin_backend_row *rows = admin_backend_rows(r->st->cfg);
    if (rows == NULL)
        return out_of_memory(r);
    admin_render_backends(r->out, rows, r->st->cfg->n_backends, r->cmd->json, r->cmd->detail);
    free(rows);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_show_groups(struct admin_req *r)
{
    admin_show_groups(r->out, r->st->cfg, r->cmd->json);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_show_shards(struct admin_req *r)
{
    admin_show_shards(r->out, r->st->cfg, r->cmd->json, r->cmd->sql);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_show_xa(struct admin_req *r)
{
    struct xa_in_doubt *v = NULL;
    size_t n = xa_recover_list(&v);
    static const struct xa_in_doubt zero;
    bool proto = json_prototype(r->cmd, n);
    size_t at = r->out->len;
    admin_render_xa(r->out, proto ? &zero : v, proto ? 1 : n, (int64_t)time(NULL), r->cmd->json);
    if (proto)
        json_prototype_mark(r->out, at);
    free(v);
    return ADMIN_REPLY_NOW;
}

/* backend NAME drain|maint|online; a drain without nowait answers once
 * the server is idle (admin.c's drain_wait). */
static enum admin_reply run_backend_set(struct admin_req *r)
{
    const struct admin_cmd *cmd = r->cmd;
    const struct config *cfg = r->st->cfg;
    char why[200];
    hy_status_t set =
        backend_set_admin(cfg, cmd->arg, (enum backend_admin)cmd->mode, why, sizeof(why));
    struct backend_rt *rt = set == HY_OK ? backend_rt_find(cmd->arg) : NULL;
    log_audit("admin %s: %s: %s", r->who, r->shown, set == HY_OK ? "ok" : why);
    if (set == HY_OK && rt != NULL && cmd->mode == BACKEND_ADMIN_DRAIN && !cmd->nowait &&
        cfg->monitor.user[0] != '\0') {
        r->drain_rt = rt;
        return ADMIN_REPLY_DRAIN;
    }
    /* (a reload between the set and the find may have let it go) */
    const char *state = rt != NULL ? backend_state_to_str(backend_state(rt)) : "gone";
    if (set != HY_OK) {
        textbuf_puts(r->out, "ERR backend: ");
        textbuf_cell(r->out, why);
        textbuf_putc(r->out, '\n');
    } else if (cmd->json) {
        char msg[200];
        snprintf(msg, sizeof(msg), "backend %s is %s", cmd->arg, state);
        json_ok_begin(r->out, msg);
        textbuf_puts(r->out, ",\"backend\":");
        textbuf_json_str(r->out, cmd->arg);
        textbuf_puts(r->out, ",\"state\":");
        textbuf_json_str(r->out, state);
        textbuf_puts(r->out, "}\n");
    } else {
        textbuf_puts(r->out, "OK backend ");
        textbuf_cell(r->out, cmd->arg);
        textbuf_printf(r->out, " is %s\n", state);
    }
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_show_events(struct admin_req *r)
{
    struct alerts_record *rows = calloc(ALERTS_HISTORY, sizeof(*rows));
    if (rows == NULL)
        return out_of_memory(r);
    size_t n = alerts_history(rows, r->cmd->top);
    bool proto = json_prototype(r->cmd, n); /* rows[0] is calloc's zeroes */
    size_t at = r->out->len;
    admin_render_events(r->out, rows, proto ? 1 : n, r->cmd->json);
    if (proto)
        json_prototype_mark(r->out, at);
    free(rows);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_show_backup(struct admin_req *r)
{
    struct binlog_archive_status bs;
    struct backup_full_status fs;
    binlog_archive_status(&bs);
    backup_full_status(&fs);
    struct backup_copy_status cs;
    struct backup_sched_status ss;
    backup_copy_status(&cs, true);
    backup_sched_status(&ss);
    struct backup_verify_status vs;
    backup_verify_status(&vs);
    admin_render_backup(r->out, &bs, &fs, &cs, &ss, &vs, r->cmd->json);
    backup_copy_status_free(&cs);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_show_cache(struct admin_req *r)
{
    struct cache_status cs;
    cache_status_get(&cs);
    admin_render_cache(r->out, &cs, r->st->cfg, r->cmd->json);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_flush_cache(struct admin_req *r)
{
    size_t n = cache_flush(r->cmd->arg[0] != '\0' ? r->cmd->arg : NULL);
    log_audit("admin %s: flush cache %s: %zu entries", r->who,
              r->cmd->arg[0] != '\0' ? r->cmd->arg : "(all)", n);
    admin_render_cache_flush(r->out, r->cmd->arg, n, r->cmd->json);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_backup_take(struct admin_req *r, enum backup_type type)
{
    char msg[600];
    hy_status_t rc = backup_take_request(r->st->cfg, type, msg, sizeof(msg));
    log_audit("admin %s: backup %s: %s", r->who, backup_type_name(type), msg);
    answer_result(r->out, r->cmd->json, rc, msg);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_backup_full(struct admin_req *r)
{
    return run_backup_take(r, BACKUP_FULL);
}

static enum admin_reply run_backup_incr(struct admin_req *r)
{
    return run_backup_take(r, BACKUP_INCR);
}

static enum admin_reply run_backup_diff(struct admin_req *r)
{
    return run_backup_take(r, BACKUP_DIFF);
}

static enum admin_reply run_backup_verified(struct admin_req *r)
{
    const struct config *cfg = r->st->cfg;
    struct backup_verify_status v;
    char msg[200];
    if (backup_verify_parse(r->cmd->arg, &v, msg, sizeof(msg)) != HY_OK) {
        textbuf_puts(r->out, "ERR backup verified: ");
        textbuf_cell(r->out, msg);
        textbuf_putc(r->out, '\n');
        return ADMIN_REPLY_NOW;
    }
    backup_verify_record(&v, time(NULL), cfg->backup.enabled ? cfg->backup.dir : NULL);
    log_audit("admin %s: backup verified %s", r->who, r->cmd->arg);
    char done[100];
    snprintf(done, sizeof(done), "backup verify result %s recorded (show backup)", v.result);
    if (r->cmd->json) {
        json_ok_begin(r->out, done);
        textbuf_printf(r->out, ",\"result\":\"%s\"}\n", v.result);
    } else {
        textbuf_printf(r->out, "OK %s\n", done);
    }
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_test_alert(struct admin_req *r)
{
    char why[96];
    snprintf(why, sizeof(why), "halyardctl test-alert by %s", r->who);
    uint64_t seq = events_emit(EVENT_TEST_ALERT, NULL, NULL, NULL, why,
                               "sent to every notifier: see show events");
    if (seq == 0)
        textbuf_puts(r->out, "ERR test-alert: the event queue is full\n");
    else if (r->cmd->json)
        textbuf_printf(r->out,
                       "{\"ok\":true,\"message\":\"test_alert event %" PRIu64
                       " emitted\",\"event\":\"test_alert\",\"seq\":%" PRIu64 "}\n",
                       seq, seq);
    else
        textbuf_printf(r->out, "OK test_alert event %" PRIu64 " emitted\n", seq);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_show_blocked(struct admin_req *r)
{
    const struct config *cfg = r->st->cfg;
    size_t max = (size_t)cfg->auth_block_table_size;
    struct guard_row *rows = calloc(max ? max : 1, sizeof(*rows));
    if (rows == NULL)
        return out_of_memory(r);
    size_t n = guard_list(cfg, rows, max);
    bool proto = json_prototype(r->cmd, n); /* rows[0] is calloc's zeroes */
    size_t at = r->out->len;
    admin_render_blocked(r->out, rows, proto ? 1 : n, r->cmd->json);
    if (proto)
        json_prototype_mark(r->out, at);
    free(rows);
    return ADMIN_REPLY_NOW;
}

/* show limits: every tenant of every limit of the running config. */
static enum admin_reply run_show_limits(struct admin_req *r)
{
    const struct config *cfg = r->st->cfg;
    size_t n;
    struct limit_row *rows = limits_rows_alloc(cfg, &n);
    if (rows == NULL)
        return out_of_memory(r);
    bool proto = json_prototype(r->cmd, n); /* rows[0] is zeroes */
    size_t at = r->out->len;
    admin_render_limits(r->out, rows, proto ? 1 : n, r->cmd->json);
    if (proto)
        json_prototype_mark(r->out, at);
    free(rows);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_unblock(struct admin_req *r)
{
    int n = guard_unblock(r->cmd->arg);
    log_audit("admin %s: %s: %d address%s forgotten", r->who, r->shown, n < 0 ? 0 : n,
              n == 1 ? "" : "es");
    if (n < 0) {
        textbuf_puts(r->out, "ERR unblock: '");
        textbuf_cell(r->out, r->cmd->arg);
        textbuf_puts(r->out, "' is not an IP address or all\n");
    } else if (r->cmd->json) {
        textbuf_printf(r->out,
                       "{\"ok\":true,\"message\":\"%d address%s unblocked\",\"unblocked\":%d}\n", n,
                       n == 1 ? "" : "es", n);
    } else {
        textbuf_printf(r->out, "OK %d address%s unblocked\n", n, n == 1 ? "" : "es");
    }
    return ADMIN_REPLY_NOW;
}

/* show firewall [USER], dump firewall USER */
static enum admin_reply run_firewall(struct admin_req *r)
{
    const struct admin_cmd *cmd = r->cmd;
    struct firewall_row *rows;
    uint64_t dropped;
    size_t n = firewall_list(cmd->arg[0] ? cmd->arg : NULL, &rows, &dropped);
    if (n == (size_t)-1)
        return out_of_memory(r);
    static const struct firewall_row zero;
    bool proto = json_prototype(cmd, n);
    size_t at = r->out->len;
    if (cmd->verb == ADMIN_SHOW_FIREWALL)
        admin_render_firewall(r->out, proto ? &zero : rows, proto ? 1 : n, dropped, cmd->json);
    else
        admin_render_firewall_dump(r->out, cmd->arg, proto ? &zero : rows, proto ? 1 : n,
                                   cmd->json);
    if (proto)
        json_prototype_mark(r->out, at);
    free(rows);
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_reload(struct admin_req *r)
{
    struct status *st = r->st;
    char by[64];
    snprintf(by, sizeof(by), "admin %s", r->who);
    if (st->reload(st, by) != HY_OK) {
        textbuf_puts(r->out, "ERR reload failed, keeping the running config: ");
        textbuf_cell(r->out, st->last_reload_error);
        textbuf_putc(r->out, '\n');
    } else if (r->cmd->json) {
        char msg[4200];
        snprintf(msg, sizeof(msg), "reloaded %s", st->config_path);
        json_ok_begin(r->out, msg);
        textbuf_puts(r->out, ",\"result\":\"ok\",\"config_file\":");
        textbuf_json_str(r->out, st->config_path);
        textbuf_puts(r->out, "}\n");
    } else {
        textbuf_puts(r->out, "OK reloaded ");
        textbuf_cell(r->out, st->config_path);
        textbuf_putc(r->out, '\n');
    }
    return ADMIN_REPLY_NOW;
}

static enum admin_reply run_takeover_finish(struct admin_req *r)
{
    struct status *st = r->st;
    if (st->takeover_done == NULL) {
        textbuf_puts(r->out, "ERR takeover: not supported here\n");
        return ADMIN_REPLY_NOW;
    }
    char msg[120];
    snprintf(msg, sizeof(msg),
             "stopping: the new halyard accepts; sessions here get %d ms to finish",
             st->cfg->shutdown_timeout_ms);
    if (r->cmd->json) {
        json_ok_begin(r->out, msg);
        textbuf_puts(r->out, "}\n");
    } else {
        textbuf_printf(r->out, "OK %s\n", msg);
    }
    st->takeover_done(st);
    return ADMIN_REPLY_NOW;
}

/* show sessions, show pools, show digests, kill session, takeover */
static enum admin_reply by_workers(struct admin_req *r)
{
    (void)r;
    return ADMIN_REPLY_WORKERS;
}

/* switchover, failover */
static enum admin_reply by_failover_thread(struct admin_req *r)
{
    (void)r;
    return ADMIN_REPLY_FAILOVER;
}

/* ---- the table ---------------------------------------------------------- */

const struct admin_verb_def admin_verbs[ADMIN_N_VERBS] = {
    [ADMIN_HELP] = {.words = "help",
                    .sql = ADMIN_SQL_READ,
                    .run = run_help,
                    .usage = "help",
                    .help = "this list"},
    [ADMIN_SHOW_STATUS] = {.words = "show status",
                           .sql = ADMIN_SQL_READ,
                           .sql_shape = ADMIN_SQL_ONE_ROW,
                           .run = run_show_status,
                           .usage = "show status",
                           .help = "version, pid, uptime, config file, last reload, workers, "
                                   "zone, majority"},
    [ADMIN_SHOW_CONFIG] = {.words = "show config",
                           .sql = ADMIN_SQL_READ,
                           .sql_shape = ADMIN_SQL_NAME_VALUE,
                           .run = run_show_config,
                           .usage = "show config",
                           .help = "the running configuration, password hashes hidden"},
    [ADMIN_SHOW_STATS] = {.words = "show stats",
                          .sql = ADMIN_SQL_READ,
                          .run = run_show_stats,
                          .usage = "show stats",
                          .help = "counters summed over the workers, and per worker"},
    [ADMIN_SHOW_SESSIONS] = {.words = "show sessions",
                             .sql = ADMIN_SQL_READ,
                             .run = by_workers,
                             .usage = "show sessions",
                             .help = "client sessions of every worker"},
    [ADMIN_SHOW_POOLS] = {.words = "show pools",
                          .sql = ADMIN_SQL_READ,
                          .run = by_workers,
                          .usage = "show pools",
                          .help = "backend connections per backend and user: held by sessions, "
                                  "idle in the pools; waiting, waits and their p50/p99, "
                                  "restores, resets, opened and closed"},
    [ADMIN_SHOW_RULES] = {.words = "show rules",
                          .sql = ADMIN_SQL_READ,
                          .run = run_show_rules,
                          .usage = "show rules",
                          .help = "query rules in order, with their hits"},
    [ADMIN_SHOW_BACKENDS] = {.words = "show backends",
                             .sql = ADMIN_SQL_READ,
                             .max_args = 1,
                             .parse = args_backends,
                             .run = run_show_backends,
                             .usage = "show backends [--detail]",
                             .help = "backends: role, state and why, lag, GTID, connections, "
                                     "queries, errors, latency, last check; --detail: the "
                                     "servers' own load (threads, max_connections, QPS, slow "
                                     "queries, buffer pool)"},
    [ADMIN_SHOW_GROUPS] = {.words = "show groups",
                           .sql = ADMIN_SQL_READ,
                           .run = run_show_groups,
                           .usage = "show groups",
                           .help = "groups of backends: cluster type, failover, the writer, how "
                                   "many writers and backends, how many backends in each state"},
    [ADMIN_SHOW_SHARDS] = {.words = "show shards",
                           .sql = ADMIN_SQL_READ,
                           .sql_shape = ADMIN_SQL_LISTS,
                           .run = run_show_shards,
                           .usage = "show shards",
                           .help = "the schema map (each schema's group, conflicts) and per "
                                   "group its schemas, statements, errors, sessions moved in and "
                                   "statements refused"},
    [ADMIN_SHOW_XA] = {.words = "show xa",
                       .sql = ADMIN_SQL_READ,
                       .run = run_show_xa,
                       .usage = "show xa",
                       .help = "transactions across groups in doubt "
                               "(shards.cross_group_transactions = \"xa\"): xid, groups, "
                               "decision (commit: logged; rollback: not), age, why still there"},
    [ADMIN_BACKEND_SET] = {.words = "backend",
                           .sql = ADMIN_SQL_OPERATOR,
                           .max_args = ADMIN_ARGS_ANY,
                           .parse = args_backend_set,
                           .run = run_backend_set,
                           .logs_outcome = true,
                           .usage = "backend NAME drain|maint|online",
                           .help = "drain: no new statements, open transactions finish, the "
                                   "answer once the server is idle (drain nowait: at once); "
                                   "maint: no statements at all; online: back to what the "
                                   "health checks say"},
    [ADMIN_SHOW_DIGESTS] = {.words = "show digests",
                            .sql = ADMIN_SQL_READ,
                            .max_args = ADMIN_ARGS_ANY,
                            .parse = args_digests,
                            .run = by_workers,
                            .usage = "show digests [top N]",
                            .help = "the N statement digests (default 20) with the most total "
                                    "time"},
    [ADMIN_KILL_SESSION] = {.words = "kill session",
                            .sql = ADMIN_SQL_OPERATOR,
                            .max_args = ADMIN_ARGS_ANY,
                            .parse = args_kill,
                            .run = by_workers,
                            .logs_outcome = true,
                            .usage = "kill session ID",
                            .help = "close client session ID now"},
    [ADMIN_SHOW_BLOCKED] = {.words = "show blocked",
                            .sql = ADMIN_SQL_READ,
                            .run = run_show_blocked,
                            .usage = "show blocked",
                            .help = "client addresses with failed logins, slowed down or "
                                    "blocked"},
    [ADMIN_UNBLOCK] = {.words = "unblock",
                       .sql = ADMIN_SQL_OPERATOR,
                       .max_args = ADMIN_ARGS_ANY,
                       .parse = args_unblock,
                       .run = run_unblock,
                       .logs_outcome = true,
                       .usage = "unblock ADDRESS|all",
                       .help = "forget an address's failed logins and its block"},
    [ADMIN_SHOW_FIREWALL] = {.words = "show firewall",
                             .sql = ADMIN_SQL_READ,
                             .max_args = ADMIN_ARGS_ANY,
                             .parse = args_show_firewall,
                             .run = run_firewall,
                             .usage = "show firewall [USER]",
                             .help = "the digests the firewall learned (users with firewall = "
                                     "learn)"},
    [ADMIN_DUMP_FIREWALL] = {.words = "dump firewall",
                             .sql = ADMIN_SQL_READ,
                             .max_args = ADMIN_ARGS_ANY,
                             .parse = args_dump_firewall,
                             .run = run_firewall,
                             .usage = "dump firewall USER",
                             .help = "USER's learned digests as a firewall_allow line for the "
                                     "config"},
    [ADMIN_RELOAD] = {.words = "reload",
                      .sql = ADMIN_SQL_OPERATOR,
                      .run = run_reload,
                      .logs_outcome = true,
                      .usage = "reload",
                      .help = "re-read the configuration file, as SIGHUP does"},
    [ADMIN_TAKEOVER] = {.words = "takeover",
                        .run = by_workers,
                        .usage = "takeover",
                        .help = "(halyard --takeover) hand the listening sockets over to a new "
                                "halyard"},
    [ADMIN_TAKEOVER_FINISH] = {.words = "takeover finish", .run = run_takeover_finish},
    [ADMIN_SWITCHOVER] = {.words = "switchover",
                          .sql = ADMIN_SQL_OPERATOR,
                          .max_args = ADMIN_ARGS_ANY,
                          .parse = args_switchover,
                          .run = by_failover_thread,
                          .usage = "switchover [to NAME]",
                          .help = "make backend NAME (default: the most advanced replica of the "
                                  "first group) the primary of its group; writes pause"},
    [ADMIN_FAILOVER] = {.words = "failover",
                        .sql = ADMIN_SQL_OPERATOR,
                        .max_args = 1,
                        .parse = args_failover,
                        .run = by_failover_thread,
                        .usage = "failover [GROUP]",
                        .help = "promote the most advanced replica now that the primary is "
                                "unreachable (of GROUP, or the group of the backend so named; "
                                "default: the first group)"},
    [ADMIN_SHOW_EVENTS] = {.words = "show events",
                           .sql = ADMIN_SQL_READ,
                           .max_args = ADMIN_ARGS_ANY,
                           .parse = args_events,
                           .run = run_show_events,
                           .usage = "show events [last N]",
                           .help = "the last N events (default 20, at most 64) and what each "
                                   "notifier made of them"},
    [ADMIN_TEST_ALERT] = {.words = "test-alert",
                          .sql = ADMIN_SQL_OPERATOR,
                          .run = run_test_alert,
                          .usage = "test-alert",
                          .help = "emit a test_alert event through every notifier (alerts.exec, "
                                  "alerts.webhook)"},
    [ADMIN_SHOW_BACKUP] = {.words = "show backup",
                           .sql = ADMIN_SQL_READ,
                           .sql_shape = ADMIN_SQL_ONE_ROW,
                           .run = run_show_backup,
                           .usage = "show backup",
                           .help = "the binlog archive (state, source, file, archived GTID, lag, "
                                   "errors) and the last full backup"},
    [ADMIN_BACKUP_FULL] = {.words = "backup full",
                           .sql = ADMIN_SQL_OPERATOR,
                           .run = run_backup_full,
                           .usage = "backup full",
                           .help = "take a full backup now (mariadb-dump of a replica drained of "
                                   "reads meanwhile)"},
    [ADMIN_BACKUP_INCR] = {.words = "backup incr",
                           .sql = ADMIN_SQL_OPERATOR,
                           .run = run_backup_incr,
                           .usage = "backup incr",
                           .help = "take an incremental backup now (mariadb-backup: the pages "
                                   "changed since the newest backup, from its server; a full when "
                                   "that server cannot be used)"},
    [ADMIN_BACKUP_DIFF] = {.words = "backup diff",
                           .sql = ADMIN_SQL_OPERATOR,
                           .run = run_backup_diff,
                           .usage = "backup diff",
                           .help = "take a differential backup now (mariadb-backup: the pages "
                                   "changed since the newest full, from its server; a full when "
                                   "that server cannot be used)"},
    [ADMIN_BACKUP_VERIFIED] = {.words = "backup verified",
                               .min_args = 4,
                               .max_args = 4,
                               .parse = args_verified,
                               .run = run_backup_verified,
                               .usage = "backup verified R G T D",
                               .help = "(sent by halyardctl backup verify) its result R (ok, "
                                       "differ, failed), at GTID G, T tables compared, D "
                                       "differing: for show backup and the metrics"},
    [ADMIN_SHOW_CACHE] = {.words = "show cache",
                          .sql = ADMIN_SQL_READ,
                          .sql_shape = ADMIN_SQL_ONE_ROW,
                          .run = run_show_cache,
                          .usage = "show cache",
                          .help = "the query cache: its reader of the binary log, entries, "
                                  "bytes, hits, misses, fills refused, invalidations by reason, "
                                  "hit ratio per rule"},
    [ADMIN_FLUSH_CACHE] = {.words = "flush cache",
                           .sql = ADMIN_SQL_OPERATOR,
                           .max_args = ADMIN_ARGS_ANY,
                           .parse = args_flush_cache,
                           .run = run_flush_cache,
                           .logs_outcome = true,
                           .usage = "flush cache [SCHEMA.TABLE]",
                           .help = "drop the cached answers (that read SCHEMA.TABLE)"},
    [ADMIN_SHOW_LIMITS] = {.words = "show limits",
                           .sql = ADMIN_SQL_READ,
                           .run = run_show_limits,
                           .usage = "show limits",
                           .help = "the fair-share limits per tenant: statements in flight and "
                                   "queued, passed, waited and their wait p50/p99, refused (1226), "
                                   "ms waited and server ms used"},
    [ADMIN_CAPTURE_START] = {.words = "capture start",
                             .sql = ADMIN_SQL_OPERATOR,
                             .max_args = 1,
                             .parse = admin_args_capture_start,
                             .run = admin_run_capture_start,
                             .logs_outcome = true,
                             .usage = "capture start [FILE]",
                             .help = "capture the clients' commands and the answers' shapes into "
                                     "FILE (default capture_file), from the primary's GTID now "
                                     "(docs/rehearse.md)"},
    [ADMIN_CAPTURE_STOP] = {.words = "capture stop",
                            .sql = ADMIN_SQL_OPERATOR,
                            .run = admin_run_capture_stop,
                            .logs_outcome = true,
                            .usage = "capture stop",
                            .help = "stop the capture and close its file"},
    [ADMIN_CAPTURE_STATUS] = {.words = "capture status",
                              .sql = ADMIN_SQL_READ,
                              .sql_shape = ADMIN_SQL_ONE_ROW,
                              .run = admin_run_capture_status,
                              .usage = "capture status",
                              .help = "the capture: on, file, start GTID, sessions, records, "
                                      "bytes, records dropped, why it stopped"},
};
