/*
 * admin.c: the admin socket. See admin.h for the protocol.
 *
 * Design
 * ------
 * Everything here runs in the main thread's event loop except the three
 * worker_call functions (collect_sessions, collect_digests, kill_session),
 * which run in a worker's thread and touch only that worker's sessions or
 * digest table and their own part of the job.
 *
 * A connection reads into a fixed line buffer and answers one command at a
 * time: while an answer is being gathered from the workers or written, its
 * read watcher is stopped, so the kernel's socket buffer is the only queue
 * and a client that never reads holds one answer at most.
 *
 * A job (show sessions, show digests, kill session) has one part per
 * worker. Each part is handed to its worker with worker_call(); when the
 * worker has filled it, it sets `finished` and wakes the main loop through
 * `parts_async`. The job is answered when every part is finished or its
 * timer fires, and freed only when every part is finished (a worker may
 * still hold a part after a timeout), or at admin_destroy(), after the
 * workers have been joined.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "halyard/tls.h"
#include "halyard/admin.h"
#include "halyard/alerts.h"
#include "halyard/backend.h"
#include "halyard/audit.h"
#include "halyard/config.h"
#include "halyard/events.h"
#include "halyard/firewall.h"
#include "halyard/guard.h"
#include "halyard/failover_exec.h"
#include "halyard/log.h"
#include "halyard/mysql_proto.h"
#include "halyard/rules.h"
#include "halyard/session.h"
#include "halyard/takeover.h"
#include "halyard/users.h"
#include "halyard/worker.h"

/* ---- tables ------------------------------------------------------------ */

/* A text table: the first row is the header; columns are left-aligned and
 * separated by two spaces; the last column is not padded. */
struct table {
    size_t ncols;
    char **cells; /* row-major; a NULL cell (out of memory) shows as "?" */
    size_t n;
    size_t cap;
};

static void table_init(struct table *t, size_t ncols)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
}

static void table_add(struct table *t, char *owned)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **p = realloc(t->cells, cap * sizeof(*p));
        if (p == NULL) {
            free(owned);
            return; /* the row comes out short; the renderer stops there */
        }
        t->cells = p;
        t->cap = cap;
    }
    t->cells[t->n++] = owned;
}

static void table_cell(struct table *t, const char *s)
{
    table_add(t, strdup(s != NULL ? s : "-"));
}

static void table_cellf(struct table *t, const char *fmt, ...) HY_PRINTF(2, 3);

static void table_cellf(struct table *t, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    table_add(t, s);
}

static void table_render(const struct table *t, struct textbuf *sb)
{
    size_t rows = t->n / t->ncols;
    size_t *width = calloc(t->ncols, sizeof(*width));
    if (width == NULL) {
        sb->overflow = true;
        return;
    }
    for (size_t i = 0; i < rows * t->ncols; i++) {
        const char *c = t->cells[i] != NULL ? t->cells[i] : "?";
        width[i % t->ncols] = HY_MAX(width[i % t->ncols], textbuf_cell_width(c));
    }
    for (size_t r = 0; r < rows; r++) {
        for (size_t col = 0; col < t->ncols; col++) {
            const char *c = t->cells[r * t->ncols + col];
            size_t w = textbuf_cell(sb, c != NULL ? c : "?");
            if (col + 1 < t->ncols)
                textbuf_pad(sb, width[col] - w + 2);
        }
        textbuf_putc(sb, '\n');
    }
    free(width);
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->n = t->cap = 0;
}

/* ---- parsing ----------------------------------------------------------- */

static const struct {
    const char *usage;
    const char *desc;
} commands[] = {
    {"help", "this list"},
    {"show status", "version, pid, uptime, config file, last reload, workers, zone, majority"},
    {"show config", "the running configuration, password hashes hidden"},
    {"show stats", "counters summed over the workers, and per worker"},
    {"show sessions", "client sessions of every worker"},
    {"show pools", "backend connections per backend and user: held by sessions, idle in the pools"},
    {"show rules", "query rules in order, with their hits"},
    {"show backends [--detail]",
     "backends: role, state and why, lag, GTID, connections, queries, errors, latency, last "
     "check; --detail: the servers' own load (threads, max_connections, QPS, slow queries, "
     "buffer pool)"},
    {"backend NAME drain|maint|online",
     "drain: no new statements, open transactions finish, the answer once the server is idle "
     "(drain nowait: at once); maint: no statements at all; online: back to what the health "
     "checks say"},
    {"show digests [top N]", "the N statement digests (default 20) with the most total time"},
    {"kill session ID", "close client session ID now"},
    {"show blocked", "client addresses with failed logins, slowed down or blocked"},
    {"unblock ADDRESS|all", "forget an address's failed logins and its block"},
    {"show firewall [USER]", "the digests the firewall learned (users with firewall = learn)"},
    {"dump firewall USER", "USER's learned digests as a firewall_allow line for the config"},
    {"reload", "re-read the configuration file, as SIGHUP does"},
    {"takeover", "(halyard --takeover) hand the listening sockets over to a new halyard"},
    {"switchover [to NAME]",
     "make backend NAME (default: the most advanced replica) the primary; writes pause"},
    {"failover", "promote the most advanced replica now that the primary is unreachable"},
    {"show events [last N]",
     "the last N events (default 20, at most 64) and what each notifier made of them"},
    {"test-alert", "emit a test_alert event through every notifier (alerts.exec, alerts.webhook)"},
};

/* The line as an error message may quote it: at most 64 columns, escaped. */
static void quote_line(char *out, size_t len, const char *line, size_t n)
{
    char tmp[80];
    size_t k = HY_MIN(n, 64);
    memcpy(tmp, line, k);
    tmp[k] = '\0';
    struct textbuf sb;
    textbuf_init(&sb, len > 4 ? len - 4 : 0);
    textbuf_cell(&sb, tmp);
    snprintf(out, len, "%s%s", sb.data != NULL ? sb.data : "", n > 64 ? "..." : "");
    textbuf_free(&sb);
}

hy_status_t admin_parse(const char *line, size_t len, struct admin_cmd *cmd, char *err,
                        size_t errlen)
{
    char quoted[300];
    const char *tok[5];
    size_t tlen[5];
    size_t n = 0;
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t start = 0;
    while (start < len && (line[start] == ' ' || line[start] == '\t'))
        start++;
    line += start;
    len -= start;
    if (len == 0)
        return HY_AGAIN;
    for (size_t i = 0; i < len;) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len)
            break;
        size_t j = i;
        while (j < len && line[j] != ' ' && line[j] != '\t')
            j++;
        if (n == HY_ARRAY_SIZE(tok))
            goto unknown;
        tok[n] = line + i;
        tlen[n++] = j - i;
        i = j;
    }
#define TOK_IS(k, word) (tlen[k] == strlen(word) && strncasecmp(tok[k], word, tlen[k]) == 0)
    memset(cmd, 0, sizeof(*cmd));
    if (n > 1 && TOK_IS(n - 1, "--json")) {
        cmd->json = true;
        n--;
    }
    if (n == 1 && TOK_IS(0, "help")) {
        cmd->verb = ADMIN_HELP;
    } else if (n == 1 && TOK_IS(0, "reload")) {
        cmd->verb = ADMIN_RELOAD;
    } else if (n == 1 && TOK_IS(0, "takeover")) {
        cmd->verb = ADMIN_TAKEOVER;
    } else if (n == 2 && TOK_IS(0, "takeover") && TOK_IS(1, "finish")) {
        cmd->verb = ADMIN_TAKEOVER_FINISH;
    } else if (n == 2 && TOK_IS(0, "show") && TOK_IS(1, "status")) {
        cmd->verb = ADMIN_SHOW_STATUS;
    } else if (n == 2 && TOK_IS(0, "show") && TOK_IS(1, "config")) {
        cmd->verb = ADMIN_SHOW_CONFIG;
    } else if (n == 2 && TOK_IS(0, "show") && TOK_IS(1, "stats")) {
        cmd->verb = ADMIN_SHOW_STATS;
    } else if (n == 2 && TOK_IS(0, "show") && TOK_IS(1, "sessions")) {
        cmd->verb = ADMIN_SHOW_SESSIONS;
    } else if (n == 2 && TOK_IS(0, "show") && TOK_IS(1, "pools")) {
        cmd->verb = ADMIN_SHOW_POOLS;
    } else if (n == 2 && TOK_IS(0, "show") && TOK_IS(1, "rules")) {
        cmd->verb = ADMIN_SHOW_RULES;
    } else if (n >= 2 && TOK_IS(0, "show") && TOK_IS(1, "digests")) {
        cmd->verb = ADMIN_SHOW_DIGESTS;
        cmd->top = ADMIN_DIGESTS_TOP;
        if (n == 2)
            return HY_OK;
        if (n != 4 || !TOK_IS(2, "top")) {
            snprintf(err, errlen, "ERR usage: show digests [top N]");
            return HY_ERROR;
        }
        uint32_t top = 0;
        bool ok = tlen[3] <= 6;
        for (size_t i = 0; ok && i < tlen[3]; i++) {
            ok = tok[3][i] >= '0' && tok[3][i] <= '9';
            top = top * 10 + (uint32_t)(tok[3][i] - '0');
        }
        if (!ok || top == 0 || top > ADMIN_DIGESTS_MAX) {
            quote_line(quoted, sizeof(quoted), tok[3], tlen[3]);
            snprintf(err, errlen, "ERR show digests: '%s' is not a number from 1 to %u", quoted,
                     ADMIN_DIGESTS_MAX);
            return HY_ERROR;
        }
        cmd->top = top;
    } else if (n >= 2 && TOK_IS(0, "show") && TOK_IS(1, "events")) {
        cmd->verb = ADMIN_SHOW_EVENTS;
        cmd->top = 20;
        if (n == 2)
            return HY_OK;
        uint32_t last = 0;
        bool ok = n == 4 && TOK_IS(2, "last") && tlen[3] <= 3;
        for (size_t i = 0; ok && i < tlen[3]; i++) {
            ok = tok[3][i] >= '0' && tok[3][i] <= '9';
            last = last * 10 + (uint32_t)(tok[3][i] - '0');
        }
        if (!ok || last == 0 || last > ALERTS_HISTORY) {
            snprintf(err, errlen, "ERR usage: show events [last N], N from 1 to %d",
                     ALERTS_HISTORY);
            return HY_ERROR;
        }
        cmd->top = last;
    } else if (n == 1 && TOK_IS(0, "test-alert")) {
        cmd->verb = ADMIN_TEST_ALERT;
    } else if ((n == 2 || (n == 3 && TOK_IS(2, "--detail"))) && TOK_IS(0, "show") &&
               TOK_IS(1, "backends")) {
        cmd->verb = ADMIN_SHOW_BACKENDS;
        cmd->detail = n == 3;
    } else if (n >= 1 && TOK_IS(0, "backend")) {
        if ((n != 3 && !(n == 4 && TOK_IS(2, "drain") && TOK_IS(3, "nowait"))) ||
            tlen[1] >= sizeof(cmd->arg) ||
            !(TOK_IS(2, "drain") || TOK_IS(2, "maint") || TOK_IS(2, "online"))) {
            snprintf(err, errlen, "ERR usage: backend NAME drain [nowait]|maint|online");
            return HY_ERROR;
        }
        cmd->nowait = n == 4;
        cmd->verb = ADMIN_BACKEND_SET;
        memcpy(cmd->arg, tok[1], tlen[1]);
        cmd->mode = TOK_IS(2, "drain")   ? BACKEND_ADMIN_DRAIN
                    : TOK_IS(2, "maint") ? BACKEND_ADMIN_MAINT
                                         : BACKEND_ADMIN_NONE;
    } else if (n == 2 && TOK_IS(0, "show") && TOK_IS(1, "blocked")) {
        cmd->verb = ADMIN_SHOW_BLOCKED;
    } else if (n >= 1 && TOK_IS(0, "unblock")) {
        if (n != 2 || tlen[1] >= sizeof(cmd->arg)) {
            snprintf(err, errlen, "ERR usage: unblock ADDRESS|all");
            return HY_ERROR;
        }
        cmd->verb = ADMIN_UNBLOCK;
        memcpy(cmd->arg, tok[1], tlen[1]);
    } else if (n >= 2 && (TOK_IS(0, "show") || TOK_IS(0, "dump")) && TOK_IS(1, "firewall")) {
        bool dump = TOK_IS(0, "dump");
        if (n > 3 || (dump && n != 3) || (n == 3 && tlen[2] >= sizeof(cmd->arg))) {
            snprintf(err, errlen,
                     dump ? "ERR usage: dump firewall USER" : "ERR usage: show firewall [USER]");
            return HY_ERROR;
        }
        cmd->verb = dump ? ADMIN_DUMP_FIREWALL : ADMIN_SHOW_FIREWALL;
        if (n == 3)
            memcpy(cmd->arg, tok[2], tlen[2]);
    } else if (n >= 1 && TOK_IS(0, "switchover")) {
        cmd->verb = ADMIN_SWITCHOVER;
        if (n == 1)
            return HY_OK;
        if (n != 3 || !TOK_IS(1, "to") || tlen[2] >= sizeof(cmd->target)) {
            snprintf(err, errlen, "ERR usage: switchover [to NAME]");
            return HY_ERROR;
        }
        memcpy(cmd->target, tok[2], tlen[2]);
        cmd->target[tlen[2]] = '\0';
    } else if (n == 1 && TOK_IS(0, "failover")) {
        cmd->verb = ADMIN_FAILOVER;
    } else if (n >= 2 && TOK_IS(0, "kill") && TOK_IS(1, "session")) {
        if (n != 3) {
            snprintf(err, errlen, "ERR usage: kill session ID");
            return HY_ERROR;
        }
        uint64_t id = 0;
        bool ok = tlen[2] <= 10;
        for (size_t i = 0; ok && i < tlen[2]; i++) {
            ok = tok[2][i] >= '0' && tok[2][i] <= '9';
            id = id * 10 + (uint64_t)(tok[2][i] - '0');
        }
        if (!ok || id == 0 || id > UINT32_MAX) {
            quote_line(quoted, sizeof(quoted), tok[2], tlen[2]);
            snprintf(err, errlen, "ERR kill session: '%s' is not a session id", quoted);
            return HY_ERROR;
        }
        cmd->verb = ADMIN_KILL_SESSION;
        cmd->session_id = (uint32_t)id;
    } else {
        goto unknown;
    }
#undef TOK_IS
    return HY_OK;

unknown:
    quote_line(quoted, sizeof(quoted), line, len);
    snprintf(err, errlen, "ERR unknown command '%s'; try help", quoted);
    return HY_ERROR;
}

/* ---- renderers --------------------------------------------------------- */

void admin_render_help(struct textbuf *sb, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"commands\":[");
        for (size_t i = 0; i < HY_ARRAY_SIZE(commands); i++) {
            textbuf_puts(sb, i ? ",{\"command\":" : "{\"command\":");
            textbuf_json_str(sb, commands[i].usage);
            textbuf_puts(sb, ",\"description\":");
            textbuf_json_str(sb, commands[i].desc);
            textbuf_putc(sb, '}');
        }
        textbuf_puts(sb, "],\"json\":\"append --json to a command for JSON\"}\n");
        return;
    }
    struct table t;
    table_init(&t, 2);
    table_cell(&t, "command");
    table_cell(&t, "description");
    for (size_t i = 0; i < HY_ARRAY_SIZE(commands); i++) {
        table_cell(&t, commands[i].usage);
        table_cell(&t, commands[i].desc);
    }
    table_cell(&t, "... --json");
    table_cell(&t, "the answer as one line of JSON");
    table_render(&t, sb);
    table_free(&t);
}

/* Name/value output: rows of a two-column table, or members of one JSON
 * object. */
struct kv {
    struct textbuf *sb;
    struct table t;
    bool json;
    bool first;
};

static void kv_begin(struct kv *kv, struct textbuf *sb, bool json, const char *keyname)
{
    kv->sb = sb;
    kv->json = json;
    kv->first = true;
    if (json) {
        textbuf_putc(sb, '{');
    } else {
        table_init(&kv->t, 2);
        table_cell(&kv->t, keyname);
        table_cell(&kv->t, "value");
    }
}

static void kv_key(struct kv *kv, const char *key)
{
    if (!kv->first)
        textbuf_putc(kv->sb, ',');
    kv->first = false;
    textbuf_json_str(kv->sb, key);
    textbuf_putc(kv->sb, ':');
}

static void kv_str(struct kv *kv, const char *key, const char *v)
{
    if (kv->json) {
        kv_key(kv, key);
        textbuf_json_str(kv->sb, v);
    } else {
        table_cell(&kv->t, key);
        table_cell(&kv->t, v == NULL ? "-" : v[0] == '\0' ? "\"\"" : v);
    }
}

static void kv_u64(struct kv *kv, const char *key, uint64_t v)
{
    if (kv->json) {
        kv_key(kv, key);
        textbuf_printf(kv->sb, "%" PRIu64, v);
    } else {
        table_cell(&kv->t, key);
        table_cellf(&kv->t, "%" PRIu64, v);
    }
}

static void kv_int(struct kv *kv, const char *key, long long v)
{
    if (kv->json) {
        kv_key(kv, key);
        textbuf_printf(kv->sb, "%lld", v);
    } else {
        table_cell(&kv->t, key);
        table_cellf(&kv->t, "%lld", v);
    }
}

static void kv_bool(struct kv *kv, const char *key, bool v)
{
    if (kv->json) {
        kv_key(kv, key);
        textbuf_puts(kv->sb, v ? "true" : "false");
    } else {
        table_cell(&kv->t, key);
        table_cell(&kv->t, v ? "true" : "false");
    }
}

static void kv_end(struct kv *kv)
{
    if (kv->json) {
        textbuf_puts(kv->sb, "}\n");
    } else {
        table_render(&kv->t, kv->sb);
        table_free(&kv->t);
    }
}

/* `show status`'s view of the failover lock's voters: the backends the
 * monitor does not hold DOWN, of every backend and witness configured.
 * Witnesses are asked only when a failover takes the lock, so with them
 * the answer may be "unknown". */
static void render_majority(struct kv *kv, const struct config *cfg)
{
    size_t up = backend_reachable_count(cfg), voters = cfg->n_backends + cfg->n_witnesses;
    size_t needed = voters / 2 + 1;
    kv_int(kv, "voters", (long long)voters);
    kv_int(kv, "reachable", (long long)up);
    kv_str(kv, "majority",
           up >= needed                      ? "yes"
           : up + cfg->n_witnesses >= needed ? "unknown (witnesses are asked at a failover)"
                                             : "no");
    char note[400];
    backend_failover_note(note, sizeof(note));
    kv_str(kv, "failover_note", note[0] != '\0' || kv->json ? note : "-");
}

void admin_render_status(struct textbuf *sb, const struct status *st, double uptime,
                         uint64_t client_sessions, bool json)
{
    char when[32];
    struct kv kv;
    kv_begin(&kv, sb, json, "name");
    kv_str(&kv, "version", HALYARD_VERSION);
    kv_int(&kv, "pid", (long long)st->pid);
    status_format_time(st->started, when, sizeof(when));
    kv_str(&kv, "started", when);
    kv_u64(&kv, "uptime_seconds", (uint64_t)uptime);
    kv_str(&kv, "config_file", st->config_path);
    kv_int(&kv, "workers", st->n_workers);
    kv_u64(&kv, "client_sessions", client_sessions);
    kv_str(&kv, "admin_socket", st->admin_socket[0] ? st->admin_socket : "off");
    kv_str(&kv, "metrics", st->metrics[0] ? st->metrics : "off");
    if (st->cfg != NULL) {
        /* JSON says "" for standard error, as the config does. */
        kv_str(&kv, "log_file",
               st->cfg->log_file[0] || json ? st->cfg->log_file : "(standard error)");
        kv_bool(&kv, "log_syslog", st->cfg->log_syslog);
        kv_str(&kv, "zone", st->cfg->zone[0] || json ? st->cfg->zone : "-");
        render_majority(&kv, st->cfg);
        if (st->cfg->users_source != USERS_CONFIG) {
            struct users_info ui;
            users_info_get(&ui);
            kv_u64(&kv, "users_accounts", ui.accounts);
            kv_u64(&kv, "users_reads", ui.reads);
            kv_str(&kv, "users_read_error", ui.error[0] || json ? ui.error : "-");
        }
    }
    if (st->last_reload != 0) {
        status_format_time(st->last_reload, when, sizeof(when));
        kv_str(&kv, "last_reload", when);
        kv_str(&kv, "last_reload_by", st->last_reload_by);
        kv_str(&kv, "last_reload_result", st->last_reload_ok ? "ok" : "error");
        kv_str(&kv, "last_reload_error", st->last_reload_ok ? NULL : st->last_reload_error);
    } else if (json) {
        kv_str(&kv, "last_reload", NULL);
        kv_str(&kv, "last_reload_by", NULL);
        kv_str(&kv, "last_reload_result", NULL);
        kv_str(&kv, "last_reload_error", NULL);
    } else {
        kv_str(&kv, "last_reload", "never");
    }
    kv_u64(&kv, "reloads_ok", st->reloads_ok);
    kv_u64(&kv, "reloads_failed", st->reloads_failed);
    kv_end(&kv);
}

static const char *log_level_name(enum log_level l)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    return (size_t)l < HY_ARRAY_SIZE(names) ? names[l] : "?";
}

/* A list of groups: in JSON an array of objects, in a table rows named
 * "list.[i].key". */
struct kv_list {
    struct kv *kv;
    const char *name;
    size_t i;
    char prefix[128];
};

static void list_begin(struct kv_list *l, struct kv *kv, const char *name)
{
    l->kv = kv;
    l->name = name;
    l->i = 0;
    if (kv->json) {
        kv_key(kv, name);
        textbuf_putc(kv->sb, '[');
    }
}

static void elem_begin(struct kv_list *l)
{
    snprintf(l->prefix, sizeof(l->prefix), "%s.[%zu].", l->name, l->i);
    if (l->kv->json) {
        textbuf_puts(l->kv->sb, l->i ? ",{" : "{");
        l->kv->first = true;
    }
}

/* Key of a member: plain in JSON, prefixed in a table. */
static const char *elem_key(struct kv_list *l, const char *key, char *buf, size_t len)
{
    if (l->kv->json)
        return key;
    snprintf(buf, len, "%s%s", l->prefix, key);
    return buf;
}

static void elem_end(struct kv_list *l)
{
    if (l->kv->json)
        textbuf_putc(l->kv->sb, '}');
    l->i++;
}

static void list_end(struct kv_list *l)
{
    if (l->kv->json) {
        textbuf_putc(l->kv->sb, ']');
        l->kv->first = false;
    }
}

/* An array of strings: a JSON array, or in a table the same text. */
static void kv_strings(struct kv *kv, const char *key, const struct config_strings *ss)
{
    struct textbuf tb;
    textbuf_init(&tb, ADMIN_OUT_MAX);
    textbuf_putc(&tb, '[');
    for (size_t i = 0; i < ss->n; i++) {
        if (i > 0)
            textbuf_puts(&tb, kv->json ? "," : ", ");
        textbuf_json_str(&tb, ss->v[i]);
    }
    textbuf_putc(&tb, ']');
    if (kv->json) {
        kv_key(kv, key);
        textbuf_puts(kv->sb, tb.data != NULL ? tb.data : "[]");
    } else {
        table_cell(&kv->t, key);
        table_cell(&kv->t, tb.data != NULL ? tb.data : "[]");
    }
    textbuf_free(&tb);
}

static const char *firewall_mode_name(enum firewall_mode m)
{
    return m == FIREWALL_LEARN ? "learn" : m == FIREWALL_ENFORCE ? "enforce" : "off";
}

/* An unset rule condition (NULL) as the config wrote it. */
static const char *opt_str(const char *s)
{
    return s != NULL ? s : "";
}

/* A webhook URL's path and query often are its secret (a chat service's
 * token): shown as scheme://host/... only. */
static void webhook_shown(const char *url, char *out, size_t cap)
{
    const char *host = strstr(url, "://");
    const char *path = host != NULL ? strchr(host + 3, '/') : NULL;
    if (path == NULL || path[1] == '\0')
        snprintf(out, cap, "%s", url);
    else
        snprintf(out, cap, "%.*s/...", (int)(path - url), url);
}

/* Every key of config_keys[] must be shown here, in the table's order;
 * test_admin and test_ops check it. */
void admin_render_config(struct textbuf *sb, const struct config *cfg, bool json)
{
    char k[192];
    struct kv kv;
    struct kv_list l;
    kv_begin(&kv, sb, json, "key");
    kv_int(&kv, "workers", cfg->workers);
    kv_int(&kv, "fd_warn_pct", cfg->fd_warn_pct);
    kv_int(&kv, "worker_stall_ms", cfg->worker_stall_ms);
    kv_str(&kv, "log_level", log_level_name(cfg->log_level));
    kv_str(&kv, "server_version", cfg->server_version);
    kv_int(&kv, "connect_timeout_ms", cfg->connect_timeout_ms);
    kv_int(&kv, "dns_refresh_ms", cfg->dns_refresh_ms);
    kv_int(&kv, "login_timeout_ms", cfg->login_timeout_ms);
    kv_int(&kv, "shutdown_timeout_ms", cfg->shutdown_timeout_ms);
    kv_int(&kv, "buffer_size", cfg->buffer_size);
    kv_int(&kv, "max_client_connections", cfg->max_client_connections);
    kv_int(&kv, "max_prepared_statements", cfg->max_prepared_statements);
    kv_str(&kv, "tls_cert", cfg->tls_cert);
    kv_str(&kv, "tls_key", cfg->tls_key);
    kv_str(&kv, "tls_ca", cfg->tls_ca);
    kv_str(&kv, "tls_ciphers", cfg->tls_ciphers);
    kv_str(&kv, "tls_ciphersuites", cfg->tls_ciphersuites);
    kv_str(&kv, "tls_min_version", tls_version_to_str(cfg->tls_min_version));
    kv_str(&kv, "backend_tls", tls_mode_to_str(cfg->backend_tls));
    kv_str(&kv, "backend_tls_ca", cfg->backend_tls_ca);
    kv_str(&kv, "backend_tls_cert", cfg->backend_tls_cert);
    kv_str(&kv, "backend_tls_key", cfg->backend_tls_key);
    kv_int(&kv, "max_packet_size", cfg->max_packet_size);
    kv_int(&kv, "client_idle_timeout_ms", cfg->client_idle_timeout_ms);
    kv_int(&kv, "backend_read_timeout_ms", cfg->backend_read_timeout_ms);
    kv_str(&kv, "pool_mode", cfg->pool_transaction ? "transaction" : "session");
    kv_int(&kv, "pool_idle_timeout_ms", cfg->pool_idle_timeout_ms);
    kv_int(&kv, "pool_wait_timeout_ms", cfg->pool_wait_timeout_ms);
    kv_int(&kv, "pool_max_age_ms", cfg->pool_max_age_ms);
    kv_str(&kv, "default_auth_plugin",
           cfg->default_sha2 ? "caching_sha2_password" : "mysql_native_password");
    kv_str(&kv, "users_source",
           cfg->users_source == USERS_BACKENDS ? "backends"
           : cfg->users_source == USERS_BOTH   ? "both"
                                               : "config");
    kv_int(&kv, "users_refresh_ms", cfg->users_refresh_ms);
    kv_str(&kv, "auth_rsa_private_key", cfg->auth_rsa_private_key);
    kv_str(&kv, "auth_rsa_public_key", cfg->auth_rsa_public_key);
    kv_int(&kv, "auth_fail_limit", cfg->auth_fail_limit);
    kv_int(&kv, "auth_fail_window_ms", cfg->auth_fail_window_ms);
    kv_int(&kv, "auth_delay_ms", cfg->auth_delay_ms);
    kv_int(&kv, "auth_block_ms", cfg->auth_block_ms);
    kv_int(&kv, "auth_block_table_size", cfg->auth_block_table_size);
    kv_int(&kv, "firewall_learn_max", cfg->firewall_learn_max);
    kv_str(&kv, "admin_socket", cfg->admin_socket);
    kv_str(&kv, "metrics_address", cfg->metrics_address);
    kv_int(&kv, "metrics_port", cfg->metrics_port);
    kv_str(&kv, "log_file", cfg->log_file);
    kv_bool(&kv, "log_syslog", cfg->log_syslog);
    kv_str(&kv, "audit_log", cfg->audit_log);
    kv_str(&kv, "query_log", cfg->query_log);
    kv_int(&kv, "query_log_min_duration_ms", cfg->query_log_min_duration_ms);
    kv_bool(&kv, "read_write_split", cfg->read_write_split);
    kv_str(&kv, "consistency", consistency_to_str(cfg->consistency));
    kv_int(&kv, "causal_timeout_ms", cfg->causal_timeout_ms);
    kv_int(&kv, "strong_window_ms", cfg->strong_window_ms);
    kv_str(&kv, "replica_fallback", cfg->replica_fallback_error ? "error" : "primary");
    kv_int(&kv, "digest_max_entries", cfg->digest_max_entries);
    kv_int(&kv, "max_replication_lag", cfg->max_replication_lag);
    kv_str(&kv, "monitor.user", cfg->monitor.user);
    kv_str(&kv, "monitor.password", cfg->monitor.password_clear ? "(hidden)" : "");
    kv_str(&kv, "monitor.password_file", cfg->monitor.password_file);
    kv_str(&kv, "monitor.password_env", cfg->monitor.password_env);
    kv_int(&kv, "monitor.interval_ms", cfg->monitor.interval_ms);
    kv_int(&kv, "monitor.timeout_ms", cfg->monitor.timeout_ms);
    kv_int(&kv, "monitor.rise", cfg->monitor.rise);
    kv_int(&kv, "monitor.fall", cfg->monitor.fall);
    kv_int(&kv, "monitor.status_every", cfg->monitor.status_every);
    kv_int(&kv, "monitor.connections_warn_pct", cfg->monitor.connections_warn_pct);
    kv_int(&kv, "monitor.disk_warn_pct", cfg->monitor.disk_warn_pct);
    kv_int(&kv, "monitor.binlog_warn_mb", cfg->monitor.binlog_warn_mb);
    kv_str(&kv, "failover", cfg->failover_auto ? "auto" : "off");
    kv_str(&kv, "cluster", cfg->cluster == CLUSTER_GALERA ? "galera" : "replication");
    kv_int(&kv, "max_writers", cfg->max_writers);
    kv_bool(&kv, "writer_is_also_reader", cfg->writer_is_also_reader);
    kv_str(&kv, "zone", cfg->zone);
    kv_str(&kv, "zone_reads",
           cfg->zone_reads == ZONE_READS_LOCAL_ONLY ? "local_only"
           : cfg->zone_reads == ZONE_READS_ANY      ? "any"
                                                    : "local_first");
    kv_str(&kv, "partition_reads", cfg->partition_reads_refuse ? "refuse" : "serve");
    kv_str(&kv, "fence_cut_off_primary",
           cfg->fence_cut_off_mode == FENCE_CUT_OFF_ALWAYS  ? "always"
           : cfg->fence_cut_off_mode == FENCE_CUT_OFF_NEVER ? "never"
                                                            : "with_zones");
    kv_str(&kv, "failover_zones",
           cfg->failover_zones == FAILOVER_ZONES_SAME_ONLY ? "same_only"
           : cfg->failover_zones == FAILOVER_ZONES_ANY     ? "any"
                                                           : "same_first");
    kv_int(&kv, "failover_delay_ms", cfg->failover_delay_ms);
    kv_int(&kv, "failover_write_wait_ms", cfg->failover_write_wait_ms);
    kv_int(&kv, "switchover_timeout_ms", cfg->switchover_timeout_ms);
    kv_bool(&kv, "auto_rejoin", cfg->auto_rejoin);
    kv_str(&kv, "replication_user", cfg->replication_user);
    kv_str(&kv, "replication_password_file", cfg->replication_password_file);
    kv_str(&kv, "replication_password_env", cfg->replication_password_env);
    kv_str(&kv, "instance_name", cfg->instance_name);
    kv_str(&kv, "alerts.exec", cfg->alerts.exec);
    kv_int(&kv, "alerts.exec_timeout_ms", cfg->alerts.exec_timeout_ms);
    kv_int(&kv, "alerts.exec_max_running", cfg->alerts.exec_max_running);
    char hook[256];
    webhook_shown(cfg->alerts.webhook, hook, sizeof(hook));
    kv_str(&kv, "alerts.webhook", hook);
    kv_bool(&kv, "alerts.webhook_tls_verify", cfg->alerts.webhook_tls_verify);
    kv_int(&kv, "alerts.webhook_timeout_ms", cfg->alerts.webhook_timeout_ms);
    kv_int(&kv, "alerts.webhook_retries", cfg->alerts.webhook_retries);
    kv_str(&kv, "alerts.pre_failover", cfg->alerts.pre_failover);
    kv_int(&kv, "alerts.pre_failover_timeout_ms", cfg->alerts.pre_failover_timeout_ms);
    kv_int(&kv, "alerts.queue_size", cfg->alerts.queue_size);
    kv_int(&kv, "alerts.repeat_ms", cfg->alerts.repeat_ms);
    kv_str(&kv, "alerts.min_severity",
           event_severity_name((enum event_severity)cfg->alerts.min_severity));
    kv_strings(&kv, "alerts.disabled", &cfg->alerts.disabled);
    list_begin(&l, &kv, "alerts.events");
    for (int t = 0; t < EVENT__COUNT; t++) {
        const struct config_alerts *a = &cfg->alerts;
        if (!(a->events_listed & (1u << t)))
            continue;
        elem_begin(&l);
        kv_str(&kv, elem_key(&l, "name", k, sizeof(k)), event_name((enum event_type)t));
        kv_bool(&kv, elem_key(&l, "enabled", k, sizeof(k)), !(a->events_off & (1u << t)));
        kv_str(&kv, elem_key(&l, "severity", k, sizeof(k)),
               a->event_severity[t] < 0
                   ? "default"
                   : event_severity_name((enum event_severity)a->event_severity[t]));
        kv_int(&kv, elem_key(&l, "repeat_ms", k, sizeof(k)), a->event_repeat_ms[t]);
        elem_end(&l);
    }
    list_end(&l);

    list_begin(&l, &kv, "listeners");
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const struct config_listener *x = &cfg->listeners[i];
        elem_begin(&l);
        kv_str(&kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(&kv, elem_key(&l, "address", k, sizeof(k)), x->address);
        kv_int(&kv, elem_key(&l, "port", k, sizeof(k)), x->port);
        kv_int(&kv, elem_key(&l, "backlog", k, sizeof(k)), x->backlog);
        kv_str(&kv, elem_key(&l, "consistency", k, sizeof(k)), consistency_to_str(x->consistency));
        kv_bool(&kv, elem_key(&l, "require_tls", k, sizeof(k)), x->require_tls);
        kv_strings(&kv, elem_key(&l, "users", k, sizeof(k)), &x->users);
        kv_strings(&kv, elem_key(&l, "proxy_protocol_from", k, sizeof(k)), &x->proxy_protocol_from);
        elem_end(&l);
    }
    list_end(&l);

    /* The hash is as good as the password to whoever also sees one login:
     * it only shows whether there is a password at all. */
    list_begin(&l, &kv, "users");
    for (size_t i = 0; i < cfg->n_users; i++) {
        const struct config_user *x = &cfg->users[i];
        elem_begin(&l);
        kv_str(&kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(&kv, elem_key(&l, "password_hash", k, sizeof(k)), x->no_password ? "" : "(hidden)");
        kv_str(&kv, elem_key(&l, "sha2_hash", k, sizeof(k)), x->has_s2 ? "(hidden)" : "");
        kv_str(&kv, elem_key(&l, "consistency", k, sizeof(k)), consistency_to_str(x->consistency));
        kv_bool(&kv, elem_key(&l, "require_tls", k, sizeof(k)), x->require_tls);
        kv_str(&kv, elem_key(&l, "tls_subject", k, sizeof(k)), opt_str(x->tls_subject));
        kv_strings(&kv, elem_key(&l, "allow", k, sizeof(k)), &x->allow);
        kv_int(&kv, elem_key(&l, "max_connections", k, sizeof(k)), x->max_connections);
        kv_str(&kv, elem_key(&l, "firewall", k, sizeof(k)), firewall_mode_name(x->firewall));
        kv_strings(&kv, elem_key(&l, "firewall_allow", k, sizeof(k)), &x->firewall_allow);
        elem_end(&l);
    }
    list_end(&l);

    list_begin(&l, &kv, "backends");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *x = &cfg->backends[i];
        elem_begin(&l);
        kv_str(&kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(&kv, elem_key(&l, "address", k, sizeof(k)), x->address);
        kv_int(&kv, elem_key(&l, "port", k, sizeof(k)), x->port);
        kv_str(&kv, elem_key(&l, "role", k, sizeof(k)), backend_role_to_str(x->role));
        kv_int(&kv, elem_key(&l, "weight", k, sizeof(k)), x->weight);
        kv_int(&kv, elem_key(&l, "max_connections", k, sizeof(k)), x->max_connections);
        kv_str(&kv, elem_key(&l, "tls", k, sizeof(k)), tls_mode_to_str(x->tls));
        kv_str(&kv, elem_key(&l, "tls_ca", k, sizeof(k)), x->tls_ca);
        kv_str(&kv, elem_key(&l, "tls_cert", k, sizeof(k)), x->tls_cert);
        kv_str(&kv, elem_key(&l, "tls_key", k, sizeof(k)), x->tls_key);
        kv_int(&kv, elem_key(&l, "max_replication_lag", k, sizeof(k)), x->max_replication_lag);
        kv_int(&kv, elem_key(&l, "priority", k, sizeof(k)), x->priority);
        kv_str(&kv, elem_key(&l, "zone", k, sizeof(k)), x->zone);
        kv_str(&kv, elem_key(&l, "promotion", k, sizeof(k)),
               x->promotion == PROMOTION_PREFER  ? "prefer"
               : x->promotion == PROMOTION_NEVER ? "never"
                                                 : "neutral");
        elem_end(&l);
    }
    list_end(&l);

    list_begin(&l, &kv, "witnesses");
    for (size_t i = 0; i < cfg->n_witnesses; i++) {
        const struct config_witness *x = &cfg->witnesses[i];
        elem_begin(&l);
        kv_str(&kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(&kv, elem_key(&l, "address", k, sizeof(k)), x->address);
        kv_int(&kv, elem_key(&l, "port", k, sizeof(k)), x->port);
        elem_end(&l);
    }
    list_end(&l);

    /* Keys that do not apply to a rule's action show as null ("-"). */
    list_begin(&l, &kv, "rules");
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct config_rule *x = &cfg->rules[i];
        bool block = x->action == RULE_ACTION_BLOCK;
        elem_begin(&l);
        kv_str(&kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(&kv, elem_key(&l, "match_digest", k, sizeof(k)), opt_str(x->match_digest));
        kv_str(&kv, elem_key(&l, "match_text", k, sizeof(k)), opt_str(x->match_text));
        kv_str(&kv, elem_key(&l, "user", k, sizeof(k)), opt_str(x->user));
        kv_strings(&kv, elem_key(&l, "users", k, sizeof(k)), &x->users);
        kv_str(&kv, elem_key(&l, "schema", k, sizeof(k)), opt_str(x->schema));
        kv_str(&kv, elem_key(&l, "client", k, sizeof(k)), opt_str(x->client));
        kv_strings(&kv, elem_key(&l, "no_where", k, sizeof(k)), &x->no_where);
        kv_str(&kv, elem_key(&l, "action", k, sizeof(k)), block ? "block" : "route");
        kv_str(&kv, elem_key(&l, "route", k, sizeof(k)), x->route_name);
        if (block)
            kv_int(&kv, elem_key(&l, "error_code", k, sizeof(k)), x->error_code);
        else
            kv_str(&kv, elem_key(&l, "error_code", k, sizeof(k)), NULL);
        kv_str(&kv, elem_key(&l, "error_sqlstate", k, sizeof(k)), block ? x->error_sqlstate : NULL);
        kv_str(&kv, elem_key(&l, "error_message", k, sizeof(k)), x->error_message);
        elem_end(&l);
    }
    list_end(&l);
    kv_end(&kv);
}

static void stats_json(struct textbuf *sb, const struct stat_values *v)
{
    for (size_t i = 0; i < STAT_FIELDS; i++) {
        textbuf_putc(sb, ',');
        textbuf_json_str(sb, stat_fields[i].name);
        textbuf_printf(sb, ":%" PRIu64, v->v[i]);
    }
}

void admin_render_stats(struct textbuf *sb, const struct stat_values *total,
                        const struct stat_values *per_worker, int n_workers,
                        uint64_t client_sessions, bool json)
{
    if (json) {
        textbuf_printf(sb, "{\"client_sessions\":%" PRIu64, client_sessions);
        stats_json(sb, total);
        textbuf_puts(sb, ",\"workers\":[");
        for (int w = 0; w < n_workers; w++) {
            textbuf_printf(sb, "%s{\"worker\":%d", w ? "," : "", w);
            stats_json(sb, &per_worker[w]);
            textbuf_putc(sb, '}');
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    struct table t;
    table_init(&t, 2 + (size_t)n_workers);
    table_cell(&t, "name");
    table_cell(&t, "total");
    for (int w = 0; w < n_workers; w++)
        table_cellf(&t, "worker%d", w);
    table_cell(&t, "client_sessions");
    table_cellf(&t, "%" PRIu64, client_sessions);
    for (int w = 0; w < n_workers; w++)
        table_cell(&t, "-");
    for (size_t i = 0; i < STAT_FIELDS; i++) {
        table_cell(&t, stat_fields[i].name);
        table_cellf(&t, "%" PRIu64, total->v[i]);
        for (int w = 0; w < n_workers; w++)
            table_cellf(&t, "%" PRIu64, per_worker[w].v[i]);
    }
    table_render(&t, sb);
    table_free(&t);
}

/* The end of a job's JSON answer: the workers that did not answer, then
 * the closing brackets. */
static void json_missing_end(struct textbuf *sb, const int *missing, size_t n_missing)
{
    textbuf_puts(sb, ",\"missing_workers\":[");
    for (size_t i = 0; i < n_missing; i++)
        textbuf_printf(sb, "%s%d", i ? "," : "", missing[i]);
    textbuf_puts(sb, "]}\n");
}

/* ... and of its text answer: a comment line per worker missing. */
static void text_missing(struct textbuf *sb, const int *missing, size_t n_missing, const char *what)
{
    for (size_t i = 0; i < n_missing; i++)
        textbuf_printf(sb, "# worker %d did not answer within %.1f s; its %s are missing\n",
                       missing[i], ADMIN_GATHER_TIMEOUT, what);
}

void admin_render_sessions(struct textbuf *sb, const struct admin_session_row *rows, size_t n,
                           const int *missing, size_t n_missing, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"sessions\":[");
        for (size_t i = 0; i < n; i++) {
            const struct admin_session_row *r = &rows[i];
            textbuf_printf(sb, "%s{\"id\":%" PRIu32 ",\"worker\":%d,\"user\":", i ? "," : "", r->id,
                           r->worker);
            textbuf_json_str(sb, r->user[0] ? r->user : NULL);
            textbuf_puts(sb, ",\"client\":");
            textbuf_json_str(sb, r->client);
            textbuf_puts(sb, ",\"via\":");
            textbuf_json_str(sb, r->via[0] ? r->via : NULL);
            textbuf_puts(sb, ",\"schema\":");
            textbuf_json_str(sb, r->schema[0] ? r->schema : NULL);
            textbuf_puts(sb, ",\"backend\":");
            textbuf_json_str(sb, r->backend[0] ? r->backend : NULL);
            if (r->thread != 0)
                textbuf_printf(sb, ",\"thread\":%" PRIu32, r->thread);
            else
                textbuf_puts(sb, ",\"thread\":null");
            textbuf_puts(sb, ",\"state\":");
            textbuf_json_str(sb, r->state);
            textbuf_puts(sb, ",\"command\":");
            textbuf_json_str(sb, r->command);
            if (r->command_age_ms >= 0)
                textbuf_printf(sb, ",\"command_age_ms\":%" PRId64, r->command_age_ms);
            else
                textbuf_puts(sb, ",\"command_age_ms\":null");
            textbuf_printf(sb, ",\"statements\":%" PRIu32 ",\"holds\":", r->statements);
            textbuf_json_str(sb, r->holds[0] ? r->holds : NULL);
            textbuf_puts(sb, ",\"statement\":");
            textbuf_json_str(sb, r->statement[0] ? r->statement : NULL);
            textbuf_puts(sb, "}");
        }
        textbuf_putc(sb, ']');
        json_missing_end(sb, missing, n_missing);
        return;
    }
    struct table t;
    table_init(&t, 14);
    static const char *const head[] = {
        "id",     "worker", "user",    "client",         "via",        "schema", "backend",
        "thread", "state",  "command", "command_age_ms", "statements", "holds",  "statement"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct admin_session_row *r = &rows[i];
        table_cellf(&t, "%" PRIu32, r->id);
        table_cellf(&t, "%d", r->worker);
        table_cell(&t, r->user[0] ? r->user : NULL);
        table_cell(&t, r->client);
        table_cell(&t, r->via[0] ? r->via : NULL);
        table_cell(&t, r->schema[0] ? r->schema : NULL);
        table_cell(&t, r->backend[0] ? r->backend : NULL);
        if (r->thread != 0)
            table_cellf(&t, "%" PRIu32, r->thread);
        else
            table_cell(&t, NULL);
        table_cell(&t, r->state);
        table_cell(&t, r->command);
        if (r->command_age_ms >= 0)
            table_cellf(&t, "%" PRId64, r->command_age_ms);
        else
            table_cell(&t, NULL);
        table_cellf(&t, "%" PRIu32, r->statements);
        table_cell(&t, r->holds[0] ? r->holds : NULL);
        table_cell(&t, r->statement[0] ? r->statement : NULL);
    }
    table_render(&t, sb);
    table_free(&t);
    text_missing(sb, missing, n_missing, "sessions");
}

/* A rule's conditions for one table cell: key="value" pairs. The values
 * are as written (the cell escapes backslashes and control bytes, as
 * `show config` does); --json gives each one on its own. */
static void rule_conditions(struct textbuf *tb, const struct config_rule *r)
{
    const char *const keys[] = {"match_digest", "match_text", "user", "schema", "client"};
    const char *const vals[] = {r->match_digest, r->match_text, r->user, r->schema, r->client};
    for (size_t i = 0; i < HY_ARRAY_SIZE(keys); i++) {
        if (vals[i] == NULL)
            continue;
        if (tb->len > 0)
            textbuf_putc(tb, ' ');
        textbuf_printf(tb, "%s=\"%s\"", keys[i], vals[i]);
    }
}

/* An integer the server gave, or JSON null. */
static void json_count(struct textbuf *sb, const char *key, int64_t v)
{
    if (v >= 0)
        textbuf_printf(sb, ",\"%s\":%lld", key, (long long)v);
    else
        textbuf_printf(sb, ",\"%s\":null", key);
}

static void json_ratio(struct textbuf *sb, const char *key, double v)
{
    if (v >= 0)
        textbuf_printf(sb, ",\"%s\":%.4f", key, v);
    else
        textbuf_printf(sb, ",\"%s\":null", key);
}

/* "server": the load of one backend's server, null until read. */
static void json_load(struct textbuf *sb, const struct admin_backend_row *r)
{
    if (!r->load_seen) {
        textbuf_puts(sb, ",\"server\":null");
        return;
    }
    const struct srv_status *s = &r->status;
    textbuf_printf(sb, ",\"server\":{\"max_connections\":%lld", (long long)s->max_connections);
    json_count(sb, "threads_connected", s->threads_connected);
    json_count(sb, "threads_running", s->threads_running);
    json_count(sb, "questions", s->questions);
    json_count(sb, "slow_queries", s->slow_queries);
    json_count(sb, "aborted_connects", s->aborted_connects);
    json_count(sb, "innodb_row_lock_waits", s->row_lock_waits);
    json_count(sb, "binlog_bytes_written", s->binlog_bytes_written);
    json_count(sb, "binlog_files", s->binlog_files);
    json_count(sb, "binlog_size_bytes", s->binlog_size);
    json_count(sb, "datadir_fs_size_bytes", s->disk_total);
    json_count(sb, "datadir_fs_used_bytes", s->disk_used);
    json_ratio(sb, "queries_per_second", r->rates.qps);
    json_ratio(sb, "connections_pct", r->rates.connections_pct);
    json_ratio(sb, "buffer_pool_hit_ratio", r->rates.bp_hit_ratio);
    json_ratio(sb, "buffer_pool_dirty_pct", r->rates.bp_dirty_pct);
    json_ratio(sb, "datadir_fs_used_pct", r->rates.disk_pct);
    textbuf_puts(sb, ",\"commands_per_second\":{");
    for (int c = 0; c < SRV_COM_COUNT; c++) {
        textbuf_printf(sb, "%s\"%s\":", c ? "," : "", srv_com_name(c));
        if (r->rates.com_ps[c] >= 0)
            textbuf_printf(sb, "%.4f", r->rates.com_ps[c]);
        else
            textbuf_puts(sb, "null");
    }
    textbuf_puts(sb, "}}");
}

/* show backends --detail: one row per backend of what its server says. */
/* A count the server gave, or "-". */
static void cell_count(struct table *t, bool seen, int64_t v)
{
    if (seen && v >= 0)
        table_cellf(t, "%lld", (long long)v);
    else
        table_cell(t, "-");
}

/* Bytes as MiB (or "-"). */
static void cell_mib(struct table *t, bool seen, int64_t bytes)
{
    if (seen && bytes >= 0)
        table_cellf(t, "%.1f MiB", (double)bytes / 1048576.0);
    else
        table_cell(t, "-");
}

/* A percentage (0..100), or "-" when unknown. */
static void cell_pct(struct table *t, bool seen, double pct, int decimals)
{
    if (seen && pct >= 0)
        table_cellf(t, "%.*f%%", decimals, pct);
    else
        table_cell(t, "-");
}

static void render_load(struct textbuf *sb, const struct admin_backend_row *rows, size_t n)
{
    struct table t;
    static const char *const head[] = {"name", "connected", "max conn", "running", "qps",
                                       "slow", "aborted",   "bp hit",   "dirty",   "lock waits"};
    table_init(&t, HY_ARRAY_SIZE(head));
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct admin_backend_row *r = &rows[i];
        const struct srv_status *s = &r->status;
        bool seen = r->load_seen;
        table_cell(&t, r->name);
        cell_count(&t, seen, s->threads_connected);
        cell_count(&t, seen, s->max_connections);
        cell_count(&t, seen, s->threads_running);
        cell_count(&t, seen, r->rates.qps >= 0 ? (int64_t)(r->rates.qps + 0.5) : -1);
        cell_count(&t, seen, s->slow_queries);
        cell_count(&t, seen, s->aborted_connects);
        cell_pct(&t, seen, r->rates.bp_hit_ratio >= 0 ? 100.0 * r->rates.bp_hit_ratio : -1, 2);
        cell_pct(&t, seen, r->rates.bp_dirty_pct, 1);
        cell_count(&t, seen, s->row_lock_waits);
    }
    table_render(&t, sb);
    table_free(&t);

    /* Statements per kind (per second), the binary log and the datadir's
     * filesystem. */
    static const char *const head2[] = {"name",     "select/s",  "insert/s",   "update/s",
                                        "delete/s", "commit/s",  "rollback/s", "binlog files",
                                        "binlog",   "datadir fs"};
    table_init(&t, HY_ARRAY_SIZE(head2));
    for (size_t i = 0; i < HY_ARRAY_SIZE(head2); i++)
        table_cell(&t, head2[i]);
    for (size_t i = 0; i < n; i++) {
        const struct admin_backend_row *r = &rows[i];
        bool seen = r->load_seen;
        table_cell(&t, r->name);
        for (int c = 0; c < SRV_COM_COUNT; c++) {
            if (seen && r->rates.com_ps[c] >= 0)
                table_cellf(&t, "%.1f", r->rates.com_ps[c]);
            else
                table_cell(&t, "-");
        }
        cell_count(&t, seen, r->status.binlog_files);
        cell_mib(&t, seen, r->status.binlog_size);
        if (seen && r->rates.disk_pct >= 0)
            table_cellf(&t, "%.1f%% of %.1f GiB", r->rates.disk_pct,
                        (double)r->status.disk_total / 1073741824.0);
        else
            table_cell(&t, "-");
    }
    textbuf_putc(sb, '\n');
    table_render(&t, sb);
    table_free(&t);
}

void admin_render_backends(struct textbuf *sb, const struct admin_backend_row *rows, size_t n,
                           bool json, bool detail)
{
    if (json) {
        textbuf_puts(sb, "{\"backends\":[");
        for (size_t i = 0; i < n; i++) {
            const struct admin_backend_row *r = &rows[i];
            textbuf_puts(sb, i ? ",{\"name\":" : "{\"name\":");
            textbuf_json_str(sb, r->name);
            textbuf_puts(sb, ",\"address\":");
            textbuf_json_str(sb, r->address);
            textbuf_puts(sb, ",\"zone\":");
            textbuf_json_str(sb, r->zone != NULL ? r->zone : "");
            textbuf_puts(sb, ",\"role\":");
            textbuf_json_str(sb, r->role);
            textbuf_printf(sb, ",\"role_seen\":%s,\"fenced\":%s,\"state\":",
                           r->role_seen ? "true" : "false", r->fenced ? "true" : "false");
            textbuf_json_str(sb, r->state);
            textbuf_puts(sb, ",\"why\":");
            textbuf_json_str(sb, r->why);
            if (r->lag_ms >= 0)
                textbuf_printf(sb, ",\"lag_seconds\":%.3f", r->lag_ms / 1000.0);
            else
                textbuf_puts(sb, ",\"lag_seconds\":null");
            textbuf_printf(
                sb, ",\"replication_broken\":%s,\"gtid\":", r->repl_broken ? "true" : "false");
            textbuf_json_str(sb, r->gtid);
            textbuf_printf(sb,
                           ",\"connections_in_use\":%" PRIu64 ",\"connections_idle\":%" PRIu64
                           ",\"queries\":%" PRIu64 ",\"errors\":%" PRIu64
                           ",\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"rtt_ms\":",
                           r->conns_in_use, r->conns_idle, r->queries, r->errors, r->p50_ms,
                           r->p99_ms);
            if (r->rtt_ms >= 0)
                textbuf_printf(sb, "%.3f", r->rtt_ms);
            else
                textbuf_puts(sb, "null");
            textbuf_puts(sb, ",\"last_check\":");
            textbuf_json_str(sb, r->last_check);
            if (r->check_age_s >= 0)
                textbuf_printf(sb, ",\"last_check_age_seconds\":%.1f", r->check_age_s);
            else
                textbuf_puts(sb, ",\"last_check_age_seconds\":null");
            json_load(sb, r);
            textbuf_putc(sb, '}');
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    struct table t;
    static const char *const head[] = {"name",   "address", "role",  "state",    "why",    "lag",
                                       "gtid",   "in use",  "idle",  "queries",  "errors", "p50 ms",
                                       "p99 ms", "rtt ms",  "check", "check age"};
    table_init(&t, HY_ARRAY_SIZE(head));
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct admin_backend_row *r = &rows[i];
        table_cell(&t, r->name);
        table_cell(&t, r->address);
        table_cellf(&t, "%s%s%s", r->role, r->role_seen ? "" : " (config)",
                    r->fenced ? " (fenced)" : "");
        table_cell(&t, r->state);
        table_cell(&t, r->why[0] ? r->why : "-");
        if (r->lag_ms >= 0)
            table_cellf(&t, "%.0f s%s", r->lag_ms / 1000.0, r->repl_broken ? " (broken)" : "");
        else
            table_cell(&t, r->repl_broken ? "broken" : "-");
        table_cell(&t, r->gtid[0] ? r->gtid : "-");
        table_cellf(&t, "%" PRIu64, r->conns_in_use);
        table_cellf(&t, "%" PRIu64, r->conns_idle);
        table_cellf(&t, "%" PRIu64, r->queries);
        table_cellf(&t, "%" PRIu64, r->errors);
        table_cellf(&t, "%.2f", r->p50_ms);
        table_cellf(&t, "%.2f", r->p99_ms);
        if (r->rtt_ms >= 0)
            table_cellf(&t, "%.2f", r->rtt_ms);
        else
            table_cell(&t, "-");
        table_cell(&t, r->last_check[0] ? r->last_check : "-");
        if (r->check_age_s >= 0)
            table_cellf(&t, "%.1f s", r->check_age_s);
        else
            table_cell(&t, "-");
    }
    table_render(&t, sb);
    table_free(&t);
    if (detail) {
        textbuf_putc(sb, '\n');
        render_load(sb, rows, n);
    }
}

/* The rows of `show backends` for the running config. */
static struct admin_backend_row *backend_rows(const struct config *cfg)
{
    struct admin_backend_row *rows = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(*rows));
    if (rows == NULL)
        return NULL;
    time_t now = time(NULL);
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *be = &cfg->backends[i];
        struct admin_backend_row *r = &rows[i];
        struct backend_rt *rt = be->rt;
        r->name = be->name;
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
            r->check_age_s = difftime(now, info.last_check_time);
        r->load_seen = info.status_time != 0;
        r->status = info.status;
        r->rates = info.rates;
    }
    return rows;
}

void admin_render_rules(struct textbuf *sb, const struct config *cfg, const uint64_t *hits,
                        uint64_t match_errors, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"rules\":[");
        for (size_t i = 0; i < cfg->n_rules; i++) {
            const struct config_rule *r = &cfg->rules[i];
            bool block = r->action == RULE_ACTION_BLOCK;
            textbuf_puts(sb, i ? ",{\"name\":" : "{\"name\":");
            textbuf_json_str(sb, r->name);
            textbuf_puts(sb, ",\"action\":");
            textbuf_json_str(sb, block ? "block" : "route");
            textbuf_puts(sb, ",\"route\":");
            textbuf_json_str(sb, r->route_name);
            if (block)
                textbuf_printf(sb, ",\"error_code\":%d", r->error_code);
            else
                textbuf_puts(sb, ",\"error_code\":null");
            textbuf_puts(sb, ",\"error_sqlstate\":");
            textbuf_json_str(sb, block ? r->error_sqlstate : NULL);
            textbuf_puts(sb, ",\"error_message\":");
            textbuf_json_str(sb, r->error_message);
            textbuf_puts(sb, ",\"match_digest\":");
            textbuf_json_str(sb, r->match_digest);
            textbuf_puts(sb, ",\"match_text\":");
            textbuf_json_str(sb, r->match_text);
            textbuf_puts(sb, ",\"user\":");
            textbuf_json_str(sb, r->user);
            textbuf_puts(sb, ",\"schema\":");
            textbuf_json_str(sb, r->schema);
            textbuf_puts(sb, ",\"client\":");
            textbuf_json_str(sb, r->client);
            textbuf_printf(sb, ",\"hits\":%" PRIu64 "}", hits[i]);
        }
        textbuf_printf(sb, "],\"match_errors\":%" PRIu64 "}\n", match_errors);
        return;
    }
    struct table t;
    struct textbuf cell;
    table_init(&t, 5);
    static const char *const head[] = {"name", "action", "target", "conditions", "hits"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    textbuf_init(&cell, 64 * 1024);
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct config_rule *r = &cfg->rules[i];
        table_cell(&t, r->name);
        if (r->action == RULE_ACTION_BLOCK) {
            table_cell(&t, "block");
            table_cellf(&t, "ERR %d (%s): %s", r->error_code, r->error_sqlstate, r->error_message);
        } else {
            table_cell(&t, "route");
            table_cell(&t, r->route_name);
        }
        textbuf_reset(&cell);
        rule_conditions(&cell, r);
        table_cell(&t, cell.data != NULL ? cell.data : "");
        table_cellf(&t, "%" PRIu64, hits[i]);
    }
    textbuf_free(&cell);
    table_render(&t, sb);
    table_free(&t);
    if (match_errors > 0)
        textbuf_printf(sb,
                       "# %" PRIu64 " pattern matches failed (match limit or JIT stack) and "
                       "counted as not matching\n",
                       match_errors);
}

void admin_render_digests(struct textbuf *sb, const struct digest_row *rows, size_t n,
                          const struct admin_digest_summary *sum, const int *missing,
                          size_t n_missing, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"digests\":[");
        for (size_t i = 0; i < n; i++) {
            const struct digest_row *r = &rows[i];
            textbuf_printf(sb,
                           "%s{\"hash\":\"%016" PRIx64 "\",\"calls\":%" PRIu64
                           ",\"errors\":%" PRIu64 ",\"rows\":%" PRIu64 ",\"total_usec\":%" PRIu64
                           ",\"avg_usec\":%" PRIu64 ",\"max_usec\":%" PRIu64 ",\"primary\":%" PRIu64
                           ",\"replica\":%" PRIu64 ",\"text\":",
                           i ? "," : "", r->hash, r->calls, r->errors, r->rows, r->total_usec,
                           r->calls ? r->total_usec / r->calls : 0, r->max_usec,
                           r->served[ROLE_PRIMARY], r->served[ROLE_REPLICA]);
            textbuf_json_str(sb, r->text);
            textbuf_printf(sb, ",\"text_truncated\":%s}", r->text_truncated ? "true" : "false");
        }
        textbuf_printf(sb, "],\"distinct\":%zu,\"evictions\":%" PRIu64 ",\"capacity\":%" PRIu64,
                       sum->distinct, sum->evictions, sum->capacity);
        json_missing_end(sb, missing, n_missing);
        return;
    }
    struct table t;
    table_init(&t, 10);
    static const char *const head[] = {"hash",   "calls",  "errors",  "rows",    "total_us",
                                       "avg_us", "max_us", "primary", "replica", "digest"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct digest_row *r = &rows[i];
        table_cellf(&t, "%016" PRIx64, r->hash);
        table_cellf(&t, "%" PRIu64, r->calls);
        table_cellf(&t, "%" PRIu64, r->errors);
        table_cellf(&t, "%" PRIu64, r->rows);
        table_cellf(&t, "%" PRIu64, r->total_usec);
        table_cellf(&t, "%" PRIu64, r->calls ? r->total_usec / r->calls : 0);
        table_cellf(&t, "%" PRIu64, r->max_usec);
        table_cellf(&t, "%" PRIu64, r->served[ROLE_PRIMARY]);
        table_cellf(&t, "%" PRIu64, r->served[ROLE_REPLICA]);
        table_cellf(&t, "%s%s", r->text, r->text_truncated ? "..." : "");
    }
    table_render(&t, sb);
    table_free(&t);
    if (sum->capacity == 0 && n_missing == 0)
        textbuf_puts(sb, "# digests are off (digest_max_entries = 0)\n");
    else
        textbuf_printf(sb, "# %zu of %zu digests, by total time; %" PRIu64 " evicted\n", n,
                       sum->distinct, sum->evictions);
    text_missing(sb, missing, n_missing, "digests");
}

/* ---- the socket -------------------------------------------------------- */

struct admin_conn;

struct admin {
    struct status *st;
    struct ev_loop *loop;
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t dev; /* of the socket file we created, to remove only ours */
    ino_t ino;
    ev_io accept_io;
    ev_async parts_async; /* a worker finished a part */
    struct admin_conn *conns;
    int n_conns;
    struct admin_job *jobs; /* gathering, or answered and waiting for late parts */
    ev_async fo_async;      /* the failover thread finished a request */
    struct admin_fo *fo;    /* the switchover or failover under way, NULL = none */
};

struct admin_conn {
    struct admin_conn *next, *prev;
    struct admin *a;
    int fd;
    ev_io rio, wio;
    ev_timer idle;
    unsigned uid;
    int pid;
    char in[ADMIN_LINE_MAX];
    size_t in_len;
    struct textbuf out;
    size_t out_off;
    struct admin_job *job; /* the answer being gathered */
    bool fo_wait;          /* waiting for the failover thread (a->fo) */
    /* `backend NAME drain`: waiting until the server is idle (drain_tick) */
    struct backend_rt *drain_rt;
    double drain_since;
    bool drain_json;
    ev_timer drain_t;
    bool eof;            /* the client has shut down its side */
    char audit_cmd[128]; /* the command whose answer goes to the audit log, "" = none */
    bool close_after;    /* close once `out` is written */
};

struct admin_part {
    struct worker_call call;
    struct admin_job *job;
    int worker;
    atomic_bool finished;
    /* filled in the worker thread */
    struct admin_session_row *rows;
    size_t n_rows;
    struct admin_pool_row *pools; /* show pools */
    size_t n_pools, cap_pools;
    bool found;                     /* kill: the session was this worker's */
    struct digest_snapshot digests; /* show digests */
    struct takeover_sock *socks;    /* takeover: duplicates of the worker's listening sockets */
    size_t n_socks;
    bool nomem; /* the worker could not copy its part */
};

struct admin_job {
    struct admin_job *next;
    struct admin *a;
    struct admin_conn *conn; /* NULL once the connection is gone */
    struct admin_cmd cmd;
    char line[128]; /* for the audit line */
    bool answered;
    ev_timer timer;
    int n_parts;
    struct admin_part parts[];
};

static void aconn_close(struct admin_conn *c);

/* ---- worker side: these three run in the worker's thread ---- */

/* What `show sessions` says about one session (session_describe). */
static void describe_session(const struct session *s, int worker, struct admin_session_row *r)
{
    struct session_row sr;
    session_describe(s, &sr);
    memset(r, 0, sizeof(*r));
    r->id = sr.id;
    r->worker = worker;
    memcpy(r->user, sr.user, sizeof(r->user));
    memcpy(r->client, sr.client, sizeof(r->client));
    memcpy(r->via, sr.via, sizeof(r->via));
    memcpy(r->schema, sr.schema, sizeof(r->schema));
    memcpy(r->backend, sr.backend, sizeof(r->backend));
    r->thread = sr.thread;
    r->state = sr.state;
    r->command = sr.command;
    r->command_age_ms = sr.command_age_ms;
    r->statements = sr.statements;
    memcpy(r->holds, sr.holds, sizeof(r->holds));
    memcpy(r->statement, sr.statement, sizeof(r->statement));
}

static void collect_sessions(struct worker *w, struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    size_t n = 0;
    for (struct session *s = w->sessions; s != NULL; s = s->next)
        n++;
    p->rows = n > 0 ? calloc(n, sizeof(*p->rows)) : NULL;
    if (p->rows == NULL)
        return;
    for (struct session *s = w->sessions; s != NULL; s = s->next)
        describe_session(s, w->id, &p->rows[p->n_rows++]);
}

/* show pools: one row per backend and user, the workers' merged later. */
static struct admin_pool_row *pool_row(struct admin_part *p, const char *backend, const char *user)
{
    for (size_t i = 0; i < p->n_pools; i++) {
        if (strcmp(p->pools[i].backend, backend) == 0 && strcmp(p->pools[i].user, user) == 0)
            return &p->pools[i];
    }
    if (p->n_pools == p->cap_pools) {
        size_t cap = p->cap_pools ? 2 * p->cap_pools : 8;
        struct admin_pool_row *v = realloc(p->pools, cap * sizeof(*v));
        if (v == NULL) {
            p->nomem = true;
            return NULL;
        }
        p->pools = v;
        p->cap_pools = cap;
    }
    struct admin_pool_row *r = &p->pools[p->n_pools++];
    memset(r, 0, sizeof(*r));
    snprintf(r->backend, sizeof(r->backend), "%s", backend);
    snprintf(r->user, sizeof(r->user), "%s", user);
    return r;
}

static void pool_idle_row(void *arg, const char *backend, const char *user, uint32_t idle)
{
    struct admin_pool_row *r = pool_row(arg, backend, user);
    if (r != NULL)
        r->idle += idle;
}

static void collect_pools(struct worker *w, struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    pool_each(&w->conns, pool_idle_row, p);
    for (struct session *s = w->sessions; s != NULL; s = s->next) {
        for (uint32_t i = 0; i < s->n_bc; i++) {
            struct admin_pool_row *r;
            if (s->bc[i] != NULL &&
                (r = pool_row(p, s->bc[i]->be->name, s->user != NULL ? s->user : "")) != NULL)
                r->in_use++;
        }
    }
}

static void collect_digests(struct worker *w, struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    p->nomem = digest_snapshot(w->digests, &p->digests) != HY_OK;
}

static void kill_session(struct worker *w, struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    for (struct session *s = w->sessions; s != NULL; s = s->next) {
        if (s->id == p->job->cmd.session_id) {
            p->found = true;
            /* Called from the worker's wakeup, not from a session handler:
             * closing at once is allowed (worker.h). */
            session_close(s, END_KILLED);
            return;
        }
    }
}

/* takeover: duplicate every listening socket of the worker (the copies
 * are sent to the new halyard, then closed here). */
static void collect_listeners(struct worker *w, struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    p->socks = calloc(w->n_ls + 1, sizeof(*p->socks));
    if (p->socks == NULL) {
        p->nomem = true;
        return;
    }
    for (size_t i = 0; i < w->n_ls; i++) {
        const struct listener_sock *l = &w->ls[i];
        if (l->fd < 0)
            continue;
        struct takeover_sock *t = &p->socks[p->n_socks];
        if ((t->fd = fcntl(l->fd, F_DUPFD_CLOEXEC, 3)) < 0) {
            p->nomem = true;
            return;
        }
        snprintf(t->name, sizeof(t->name), "%s", l->cfg->name);
        snprintf(t->address, sizeof(t->address), "%s", l->cfg->address);
        t->port = l->cfg->port;
        p->n_socks++;
    }
}

static void part_done(struct worker_call *call)
{
    struct admin_part *p = container_of(call, struct admin_part, call);
    struct admin *a = p->job->a; /* read before `finished`: then the part is no longer ours */
    atomic_store_explicit(&p->finished, true, memory_order_release);
    ev_async_send(a->loop, &a->parts_async);
}

/* ---- main thread: jobs ---- */

static bool part_finished(struct admin_part *p)
{
    return atomic_load_explicit(&p->finished, memory_order_acquire);
}

static void job_free(struct admin_job *j)
{
    for (int i = 0; i < j->n_parts; i++) {
        free(j->parts[i].rows);
        free(j->parts[i].pools);
        digest_snapshot_free(&j->parts[i].digests);
        for (size_t k = 0; k < j->parts[i].n_socks; k++)
            close(j->parts[i].socks[k].fd);
        free(j->parts[i].socks);
    }
    free(j);
}

static int row_cmp(const void *x, const void *y)
{
    const struct admin_session_row *a = x, *b = y;
    return a->id < b->id ? -1 : a->id > b->id;
}

static bool aconn_send_answer(struct admin_conn *c);
static void aconn_process(struct admin_conn *c);
static void drain_wait(struct admin_conn *c, struct backend_rt *rt, bool json);

static int pool_row_cmp(const void *x, const void *y)
{
    const struct admin_pool_row *a = x, *b = y;
    int c = strcmp(a->backend, b->backend);
    return c != 0 ? c : strcmp(a->user, b->user);
}

/* show pools: the workers' rows summed per backend and user. */
static void answer_pools(struct admin_job *j, struct textbuf *out, const int *missing,
                         size_t n_missing)
{
    struct admin_part all = {0};
    for (int i = 0; i < j->n_parts; i++) {
        const struct admin_part *p = &j->parts[i];
        if (!part_finished(&j->parts[i]))
            continue;
        all.nomem |= p->nomem;
        for (size_t k = 0; k < p->n_pools; k++) {
            struct admin_pool_row *r = pool_row(&all, p->pools[k].backend, p->pools[k].user);
            if (r != NULL) {
                r->in_use += p->pools[k].in_use;
                r->idle += p->pools[k].idle;
            }
        }
    }
    if (all.nomem) {
        textbuf_puts(out, "ERR out of memory\n");
    } else {
        if (all.n_pools > 1)
            qsort(all.pools, all.n_pools, sizeof(*all.pools), pool_row_cmp);
        admin_render_pools(out, all.pools, all.n_pools, missing, n_missing, j->cmd.json);
    }
    free(all.pools);
}

void admin_render_pools(struct textbuf *sb, const struct admin_pool_row *rows, size_t n,
                        const int *missing, size_t n_missing, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"pools\":[");
        for (size_t i = 0; i < n; i++) {
            textbuf_puts(sb, i ? ",{\"backend\":" : "{\"backend\":");
            textbuf_json_str(sb, rows[i].backend);
            textbuf_puts(sb, ",\"user\":");
            textbuf_json_str(sb, rows[i].user);
            textbuf_printf(sb, ",\"in_use\":%" PRIu32 ",\"idle\":%" PRIu32 "}", rows[i].in_use,
                           rows[i].idle);
        }
        textbuf_putc(sb, ']');
        json_missing_end(sb, missing, n_missing);
        return;
    }
    struct table t;
    table_init(&t, 4);
    static const char *const head[] = {"backend", "user", "in_use", "idle"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        table_cell(&t, rows[i].backend);
        table_cell(&t, rows[i].user);
        table_cellf(&t, "%" PRIu32, rows[i].in_use);
        table_cellf(&t, "%" PRIu32, rows[i].idle);
    }
    table_render(&t, sb);
    table_free(&t);
    text_missing(sb, missing, n_missing, "connections");
}

/* show digests: merge the workers' copies, keep the top N. */
static void answer_digests(struct admin_job *j, struct textbuf *out, const int *missing,
                           size_t n_missing)
{
    struct admin_digest_summary sum = {0};
    size_t n = 0;
    for (int i = 0; i < j->n_parts; i++) {
        const struct admin_part *p = &j->parts[i];
        if (!part_finished(&j->parts[i]))
            continue;
        if (p->nomem) {
            textbuf_puts(out, "ERR out of memory\n");
            return;
        }
        n += p->digests.n;
        sum.evictions += p->digests.evictions;
        sum.capacity += p->digests.capacity;
    }
    struct digest_row *rows = malloc((n ? n : 1) * sizeof(*rows));
    if (rows == NULL) {
        textbuf_puts(out, "ERR out of memory\n");
        return;
    }
    size_t k = 0;
    for (int i = 0; i < j->n_parts; i++) {
        const struct admin_part *p = &j->parts[i];
        if (!part_finished(&j->parts[i]) || p->digests.n == 0)
            continue;
        memcpy(rows + k, p->digests.rows, p->digests.n * sizeof(*rows));
        k += p->digests.n;
    }
    sum.distinct = digest_merge(rows, k);
    admin_render_digests(out, rows, HY_MIN(sum.distinct, (size_t)j->cmd.top), &sum, missing,
                         n_missing, j->cmd.json);
    free(rows);
}

/* takeover: every worker's sockets, or none. The answer and the
 * descriptors go out at once (takeover_send, bounded by its timeout); the
 * copies are closed when the job is freed. */
static void answer_takeover(struct admin_job *j, struct admin_conn *c, size_t n_missing)
{
    char who[48], err[256];
    snprintf(who, sizeof(who), "uid=%u pid=%d", c->uid, c->pid);
    c->audit_cmd[0] = '\0';
    size_t n = 0;
    bool nomem = false;
    for (int i = 0; i < j->n_parts; i++) {
        n += j->parts[i].n_socks;
        nomem |= j->parts[i].nomem;
    }
    struct takeover_sock *all = n_missing == 0 && !nomem ? calloc(n + 1, sizeof(*all)) : NULL;
    if (all == NULL) {
        textbuf_printf(&c->out, "ERR takeover: %s\n",
                       n_missing > 0 ? "a worker did not answer" : "out of memory");
        audit_admin(who, "takeover", "ERR");
        if (aconn_send_answer(c))
            aconn_process(c);
        return;
    }
    size_t k = 0;
    for (int i = 0; i < j->n_parts; i++) {
        memcpy(all + k, j->parts[i].socks, j->parts[i].n_socks * sizeof(*all));
        k += j->parts[i].n_socks;
    }
    hy_status_t rc = takeover_send(c->fd, all, n, err, sizeof(err));
    free(all);
    if (rc != HY_OK) {
        hy_log_error("admin uid=%u pid=%d: %s", c->uid, c->pid, err);
        audit_admin(who, "takeover", err);
        aconn_close(c);
        return;
    }
    hy_log_info("admin uid=%u pid=%d: takeover: handed %zu listening sockets over", c->uid, c->pid,
                n);
    audit_admin(who, "takeover", "OK");
    aconn_process(c);
}

/* Render the job's answer from the parts that are in. */
static void job_answer(struct admin_job *j)
{
    struct admin *a = j->a;
    ev_timer_stop(a->loop, &j->timer);
    j->answered = true;
    struct admin_conn *c = j->conn;
    j->conn = NULL;
    if (c == NULL)
        return;
    c->job = NULL;

    int missing[256];
    size_t n_missing = 0, n_rows = 0;
    for (int i = 0; i < j->n_parts; i++) {
        if (!part_finished(&j->parts[i])) {
            if (n_missing < HY_ARRAY_SIZE(missing))
                missing[n_missing++] = j->parts[i].worker;
        } else {
            n_rows += j->parts[i].n_rows;
        }
    }

    if (j->cmd.verb == ADMIN_TAKEOVER) {
        answer_takeover(j, c, n_missing);
        return;
    }
    if (j->cmd.verb == ADMIN_KILL_SESSION) {
        bool found = false;
        for (int i = 0; i < j->n_parts; i++)
            found |= part_finished(&j->parts[i]) && j->parts[i].found;
        if (found)
            textbuf_printf(&c->out, "OK session %" PRIu32 " killed\n", j->cmd.session_id);
        else if (n_missing > 0)
            textbuf_printf(&c->out,
                           "ERR session %" PRIu32 " not found; worker %d did not answer within "
                           "%.1f s\n",
                           j->cmd.session_id, missing[0], ADMIN_GATHER_TIMEOUT);
        else
            textbuf_printf(&c->out, "ERR no session %" PRIu32 "\n", j->cmd.session_id);
        log_audit("admin uid=%u pid=%d: %s: %s", c->uid, c->pid, j->line,
                  found ? "killed" : "not found");
    } else if (j->cmd.verb == ADMIN_SHOW_DIGESTS) {
        answer_digests(j, &c->out, missing, n_missing);
    } else if (j->cmd.verb == ADMIN_SHOW_POOLS) {
        answer_pools(j, &c->out, missing, n_missing);
    } else {
        struct admin_session_row *rows = calloc(n_rows ? n_rows : 1, sizeof(*rows));
        if (rows == NULL) {
            textbuf_puts(&c->out, "ERR out of memory\n");
        } else {
            size_t k = 0;
            for (int i = 0; i < j->n_parts; i++) {
                if (!part_finished(&j->parts[i]) || j->parts[i].n_rows == 0)
                    continue;
                memcpy(rows + k, j->parts[i].rows, j->parts[i].n_rows * sizeof(*rows));
                k += j->parts[i].n_rows;
            }
            qsort(rows, k, sizeof(*rows), row_cmp);
            admin_render_sessions(&c->out, rows, k, missing, n_missing, j->cmd.json);
            free(rows);
        }
    }
    if (aconn_send_answer(c))
        aconn_process(c);
}

/* Answer the jobs whose parts are all in and free them; a job answered on
 * its timer stays until its late parts are in. Answering may start a new
 * job (the connection's next command), so the list is scanned again after
 * each one. */
static void jobs_check(struct admin *a)
{
    for (;;) {
        struct admin_job **pp = &a->jobs, *j = NULL;
        for (; *pp != NULL; pp = &(*pp)->next) {
            bool all = true;
            for (int i = 0; i < (*pp)->n_parts && all; i++)
                all = part_finished(&(*pp)->parts[i]);
            if (all) {
                j = *pp;
                *pp = j->next;
                break;
            }
        }
        if (j == NULL)
            return;
        if (!j->answered)
            job_answer(j);
        job_free(j);
    }
}

static void parts_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    jobs_check(container_of(w, struct admin, parts_async));
}

static void job_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin_job *j = container_of(w, struct admin_job, timer);
    if (!j->answered)
        job_answer(j);
}

static void job_start(struct admin_conn *c, const struct admin_cmd *cmd, const char *line)
{
    struct admin *a = c->a;
    int n = a->st->n_workers;
    struct admin_job *j = calloc(1, sizeof(*j) + (size_t)n * sizeof(j->parts[0]));
    if (j == NULL) {
        textbuf_puts(&c->out, "ERR out of memory\n");
        if (aconn_send_answer(c))
            aconn_process(c);
        return;
    }
    j->a = a;
    j->conn = c;
    j->cmd = *cmd;
    snprintf(j->line, sizeof(j->line), "%s", line);
    j->n_parts = n;
    c->job = j;
    j->next = a->jobs;
    a->jobs = j;
    ev_timer_init(&j->timer, job_timer_cb, ADMIN_GATHER_TIMEOUT, 0.);
    ev_timer_start(a->loop, &j->timer);
    for (int i = 0; i < n; i++) {
        struct admin_part *p = &j->parts[i];
        p->job = j;
        p->worker = i;
        atomic_init(&p->finished, false);
        switch (cmd->verb) {
        case ADMIN_KILL_SESSION:
            p->call.fn = kill_session;
            break;
        case ADMIN_SHOW_DIGESTS:
            p->call.fn = collect_digests;
            break;
        case ADMIN_SHOW_POOLS:
            p->call.fn = collect_pools;
            break;
        case ADMIN_TAKEOVER:
            p->call.fn = collect_listeners;
            break;
        default:
            p->call.fn = collect_sessions;
            break;
        }
        p->call.done = part_done;
        struct worker *w = &a->st->workers[i];
        if (atomic_load(&w->done)) {
            /* Stopped: it has no sessions and will run nothing. */
            atomic_store(&p->finished, true);
            continue;
        }
        worker_call(w, &p->call);
    }
    /* Every worker may have stopped already: check from the loop, not from
     * inside this command's handling. */
    ev_async_send(a->loop, &a->parts_async);
}

/* ---- events ---- */

void admin_render_events(struct textbuf *sb, const struct alerts_record *rows, size_t n, bool json)
{
    char when[40];
    if (json) {
        textbuf_puts(sb, "{\"events\":[");
        for (size_t i = 0; i < n; i++) {
            const struct alerts_record *r = &rows[i];
            event_time_iso(r->ev.time_us, when, sizeof(when));
            textbuf_printf(sb, "%s{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"event\":", i ? "," : "",
                           r->ev.seq, when);
            textbuf_json_str(sb, event_name(r->ev.type));
            textbuf_puts(sb, ",\"backend\":");
            textbuf_json_str(sb, r->ev.backend);
            textbuf_puts(sb, ",\"old\":");
            textbuf_json_str(sb, r->ev.old_state);
            textbuf_puts(sb, ",\"new\":");
            textbuf_json_str(sb, r->ev.new_state);
            textbuf_puts(sb, ",\"reason\":");
            textbuf_json_str(sb, r->ev.reason);
            textbuf_puts(sb, ",\"action\":");
            textbuf_json_str(sb, r->ev.action);
            textbuf_puts(sb, ",\"note\":");
            textbuf_json_str(sb, r->note);
            for (int k = 0; k < ALERTS__N; k++) {
                textbuf_printf(sb, ",\"%s\":", alerts_notifier_name((enum alerts_notifier)k));
                textbuf_json_str(sb, r->result[k]);
            }
            textbuf_putc(sb, '}');
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    struct table t;
    table_init(&t, 9);
    static const char *const head[] = {"seq",  "time", "event",   "backend", "new",
                                       "note", "exec", "webhook", "reason"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct alerts_record *r = &rows[i];
        event_time_iso(r->ev.time_us, when, sizeof(when));
        table_cellf(&t, "%" PRIu64, r->ev.seq);
        table_cell(&t, when);
        table_cell(&t, event_name(r->ev.type));
        table_cell(&t, r->ev.backend[0] ? r->ev.backend : NULL);
        table_cell(&t, r->ev.new_state[0] ? r->ev.new_state : NULL);
        table_cell(&t, r->note[0] ? r->note : NULL);
        table_cell(&t, r->result[ALERTS_EXEC][0] ? r->result[ALERTS_EXEC] : NULL);
        table_cell(&t, r->result[ALERTS_WEBHOOK][0] ? r->result[ALERTS_WEBHOOK] : NULL);
        table_cellf(&t, "%.100s", r->ev.reason);
    }
    table_render(&t, sb);
    table_free(&t);
}

/* ---- blocked addresses and the firewall's learned digests ---- */

void admin_render_blocked(struct textbuf *sb, const struct guard_row *rows, size_t n, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"addresses\":[");
        for (size_t i = 0; i < n; i++) {
            const struct guard_row *r = &rows[i];
            textbuf_puts(sb, i ? ",{\"address\":" : "{\"address\":");
            textbuf_json_str(sb, r->address);
            textbuf_printf(sb,
                           ",\"failures\":%" PRIu32 ",\"blocked\":%s,\"blocked_ms\":%" PRId64
                           ",\"window_ms\":%" PRId64 ",\"last_failure_ms_ago\":%" PRId64 "}",
                           r->failures, r->blocked ? "true" : "false", r->blocked_ms, r->window_ms,
                           r->last_fail_ms);
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    struct table t;
    table_init(&t, 5);
    static const char *const head[] = {"address", "failures", "state", "blocked_ms",
                                       "last_failure_ms_ago"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct guard_row *r = &rows[i];
        table_cell(&t, r->address);
        table_cellf(&t, "%" PRIu32, r->failures);
        table_cell(&t, r->blocked ? "blocked" : "counting");
        if (r->blocked)
            table_cellf(&t, "%" PRId64, r->blocked_ms);
        else
            table_cell(&t, NULL);
        table_cellf(&t, "%" PRId64, r->last_fail_ms);
    }
    table_render(&t, sb);
    table_free(&t);
}

void admin_render_firewall(struct textbuf *sb, const struct firewall_row *rows, size_t n,
                           uint64_t dropped, bool json)
{
    char first[32], last[32];
    if (json) {
        textbuf_puts(sb, "{\"digests\":[");
        for (size_t i = 0; i < n; i++) {
            const struct firewall_row *r = &rows[i];
            status_format_time(r->first, first, sizeof(first));
            status_format_time(r->last, last, sizeof(last));
            textbuf_puts(sb, i ? ",{\"user\":" : "{\"user\":");
            textbuf_json_str(sb, r->user);
            textbuf_printf(sb,
                           ",\"hash\":\"%016" PRIx64 "\",\"count\":%" PRIu64 ",\"first\":\"%s\""
                           ",\"last\":\"%s\",\"digest\":",
                           r->hash, r->count, first, last);
            textbuf_json_str(sb, r->text);
            textbuf_putc(sb, '}');
        }
        textbuf_printf(sb, "],\"dropped\":%" PRIu64 "}\n", dropped);
        return;
    }
    struct table t;
    table_init(&t, 5);
    static const char *const head[] = {"user", "hash", "count", "last", "digest"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct firewall_row *r = &rows[i];
        status_format_time(r->last, last, sizeof(last));
        table_cell(&t, r->user);
        table_cellf(&t, "%016" PRIx64, r->hash);
        table_cellf(&t, "%" PRIu64, r->count);
        table_cell(&t, last);
        table_cell(&t, r->text);
    }
    table_render(&t, sb);
    table_free(&t);
    if (dropped > 0)
        textbuf_printf(sb,
                       "# %" PRIu64 " digests not recorded: the table is full "
                       "(firewall_learn_max)\n",
                       dropped);
}

void admin_render_firewall_dump(struct textbuf *sb, const char *user,
                                const struct firewall_row *rows, size_t n, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"user\":");
        textbuf_json_str(sb, user);
        textbuf_puts(sb, ",\"firewall_allow\":[");
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                textbuf_putc(sb, ',');
            textbuf_json_str(sb, rows[i].text);
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    /* libconfig strings take the same escapes as JSON for what a digest
     * holds (quotes, backslashes, control bytes as \n \t \\ ...); a digest
     * cut at DIGEST_TEXT_MAX would hash differently, so it goes in as its
     * hash. */
    textbuf_printf(sb, "# %zu digests learned for user \"%s\"; paste into its users entry\n", n,
                   user);
    textbuf_puts(sb, "firewall_allow = [");
    for (size_t i = 0; i < n; i++) {
        textbuf_puts(sb, i ? ",\n    " : "\n    ");
        if (strlen(rows[i].text) >= DIGEST_TEXT_MAX)
            textbuf_printf(sb, "\"%016" PRIx64 "\"", rows[i].hash);
        else
            textbuf_json_str(sb, rows[i].text);
    }
    textbuf_puts(sb, n ? "\n];\n" : "];\n");
}

/* ---- main thread: switchover and failover ---- */

/* A request the failover thread runs (failover_exec.h). It answers from
 * its own thread through `done`, which hands the text over and wakes the
 * main loop; the connection may be gone by then. */
struct admin_fo {
    struct admin *a;
    struct admin_conn *conn; /* NULL once the connection is gone */
    struct admin_cmd cmd;
    atomic_bool finished;
    bool ok;
    char *text; /* the steps, one a line */
};

static void fo_done(void *arg, bool ok, const char *text)
{
    struct admin_fo *fo = arg;
    struct admin *a = fo->a;
    fo->ok = ok;
    fo->text = strdup(text != NULL ? text : "");
    atomic_store_explicit(&fo->finished, true, memory_order_release);
    ev_async_send(a->loop, &a->fo_async);
}

/* The step that says why it failed: the last line at ERROR or refused, else the last line. */
static void fo_reason(const char *text, char *out, size_t len)
{
    const char *best = NULL, *last = NULL;
    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (n > 0)
            last = p;
        if (n > 0 && (memmem(p, n, "failed", 6) != NULL || memmem(p, n, "refused", 7) != NULL ||
                      memmem(p, n, "did not", 7) != NULL || memmem(p, n, "lock", 4) != NULL))
            best = p;
        p = nl != NULL ? nl + 1 : NULL;
    }
    const char *p = best != NULL ? best : last;
    if (p == NULL) {
        snprintf(out, len, "no step ran");
        return;
    }
    const char *nl = strchr(p, '\n');
    const char *body = p;
    if (*body == '[') { /* drop the "[+N ms] " prefix */
        const char *e = strstr(body, "] ");
        if (e != NULL && (nl == NULL || e < nl))
            body = e + 2;
    }
    snprintf(out, len, "%.*s", (int)(nl != NULL ? nl - body : (ptrdiff_t)strlen(body)), body);
}

static void fo_answer(struct admin_fo *fo)
{
    struct admin_conn *c = fo->conn;
    if (c == NULL)
        return;
    c->fo_wait = false;
    const char *what = fo->cmd.verb == ADMIN_SWITCHOVER ? "switchover" : "failover";
    const char *text = fo->text != NULL ? fo->text : "";
    if (!fo->ok) {
        char why[512];
        fo_reason(text, why, sizeof(why));
        textbuf_printf(&c->out, "ERR %s failed: ", what);
        textbuf_cell(&c->out, why);
        textbuf_putc(&c->out, '\n');
    } else if (fo->cmd.json) {
        textbuf_printf(&c->out, "{\"result\":\"ok\",\"command\":\"%s\",\"steps\":[", what);
        bool first = true;
        for (const char *p = text; *p != '\0';) {
            const char *nl = strchr(p, '\n');
            size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
            char line[1100];
            snprintf(line, sizeof(line), "%.*s", (int)HY_MIN(n, sizeof(line) - 1), p);
            if (!first)
                textbuf_putc(&c->out, ',');
            textbuf_json_str(&c->out, line);
            first = false;
            p = nl != NULL ? nl + 1 : p + n;
        }
        textbuf_puts(&c->out, "]}\n");
    } else {
        textbuf_printf(&c->out, "OK %s done\n", what);
        for (const char *p = text; *p != '\0';) {
            const char *nl = strchr(p, '\n');
            size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
            char line[1100];
            snprintf(line, sizeof(line), "%.*s", (int)HY_MIN(n, sizeof(line) - 1), p);
            textbuf_cell(&c->out, line);
            textbuf_putc(&c->out, '\n');
            p = nl != NULL ? nl + 1 : p + n;
        }
    }
    if (aconn_send_answer(c))
        aconn_process(c);
}

static void fo_free(struct admin_fo *fo)
{
    if (fo == NULL)
        return;
    free(fo->text);
    free(fo);
}

static void fo_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin *a = container_of(w, struct admin, fo_async);
    struct admin_fo *fo = a->fo;
    if (fo == NULL || !atomic_load_explicit(&fo->finished, memory_order_acquire))
        return;
    a->fo = NULL;
    fo_answer(fo);
    fo_free(fo);
}

static void fo_start(struct admin_conn *c, const struct admin_cmd *cmd)
{
    struct admin *a = c->a;
    char err[256];
    struct admin_fo *fo = calloc(1, sizeof(*fo));
    if (fo == NULL) {
        textbuf_puts(&c->out, "ERR out of memory\n");
    } else if (a->fo != NULL) {
        textbuf_puts(&c->out, "ERR a switchover or failover is already under way\n");
        free(fo);
    } else {
        fo->a = a;
        fo->conn = c;
        fo->cmd = *cmd;
        atomic_init(&fo->finished, false);
        enum failover_request kind =
            cmd->verb == ADMIN_SWITCHOVER ? FAILOVER_REQ_SWITCHOVER : FAILOVER_REQ_FAILOVER;
        if (failover_exec_request(kind, cmd->target, fo_done, fo, err, sizeof(err)) != HY_OK) {
            textbuf_printf(&c->out, "ERR %s\n", err);
            free(fo);
        } else {
            a->fo = fo;
            c->fo_wait = true;
            return;
        }
    }
    if (aconn_send_answer(c))
        aconn_process(c);
}

/* ---- main thread: commands ---- */

static bool aconn_send_answer(struct admin_conn *c);

/* Answer one command line. false when the connection was closed. */
static bool run_command(struct admin_conn *c, const char *line, size_t len)
{
    struct admin *a = c->a;
    struct status *st = a->st;
    struct admin_cmd cmd;
    char err[512], shown[128];
    quote_line(shown, sizeof(shown), line, len);
    hy_status_t rc = admin_parse(line, len, &cmd, err, sizeof(err));
    if (rc == HY_AGAIN)
        return true;
    /* Commands that change something (and refused ones) go to the audit log with their
     * answer's first line; `show` and `help` do not. */
    if (strncasecmp(shown, "show", 4) != 0 && strncasecmp(shown, "help", 4) != 0)
        snprintf(c->audit_cmd, sizeof(c->audit_cmd), "%s", shown);
    if (rc != HY_OK) {
        hy_log_info("admin uid=%u pid=%d: %s: refused", c->uid, c->pid, shown);
        textbuf_printf(&c->out, "%s\n", err);
        return aconn_send_answer(c);
    }
    if (cmd.verb != ADMIN_RELOAD && cmd.verb != ADMIN_KILL_SESSION && cmd.verb != ADMIN_UNBLOCK &&
        cmd.verb != ADMIN_BACKEND_SET)
        hy_log_info("admin uid=%u pid=%d: %s", c->uid, c->pid, shown);
    switch (cmd.verb) {
    case ADMIN_HELP:
        admin_render_help(&c->out, cmd.json);
        break;
    case ADMIN_SHOW_STATUS:
        admin_render_status(&c->out, st, status_uptime(st), status_client_sessions(), cmd.json);
        break;
    case ADMIN_SHOW_CONFIG:
        admin_render_config(&c->out, st->cfg, cmd.json);
        break;
    case ADMIN_SHOW_STATS: {
        struct stat_values total, *per = calloc((size_t)st->n_workers, sizeof(*per));
        if (per == NULL) {
            textbuf_puts(&c->out, "ERR out of memory\n");
            break;
        }
        status_sum_stats(st, &total);
        for (int i = 0; i < st->n_workers; i++)
            status_worker_stats(&st->workers[i], &per[i]);
        admin_render_stats(&c->out, &total, per, st->n_workers, status_client_sessions(), cmd.json);
        free(per);
        break;
    }
    case ADMIN_SHOW_RULES: {
        const struct config *cfg = st->cfg;
        uint64_t *hits = calloc(cfg->n_rules ? cfg->n_rules : 1, sizeof(*hits));
        if (hits == NULL) {
            textbuf_puts(&c->out, "ERR out of memory\n");
            break;
        }
        for (size_t i = 0; i < cfg->n_rules; i++)
            hits[i] = rules_hits(cfg, i);
        uint64_t errors = 0;
        for (int i = 0; i < st->n_workers; i++)
            errors +=
                atomic_load_explicit(&st->workers[i].rules.match_errors, memory_order_relaxed);
        admin_render_rules(&c->out, cfg, hits, errors, cmd.json);
        free(hits);
        break;
    }
    case ADMIN_SHOW_BACKENDS: {
        struct admin_backend_row *rows = backend_rows(st->cfg);
        if (rows == NULL) {
            textbuf_puts(&c->out, "ERR out of memory\n");
            break;
        }
        admin_render_backends(&c->out, rows, st->cfg->n_backends, cmd.json, cmd.detail);
        free(rows);
        break;
    }
    case ADMIN_BACKEND_SET: {
        char why[200];
        hy_status_t set =
            backend_set_admin(st->cfg, cmd.arg, (enum backend_admin)cmd.mode, why, sizeof(why));
        struct backend_rt *rt = set == HY_OK ? backend_rt_find(cmd.arg) : NULL;
        log_audit("admin uid=%u pid=%d: %s: %s", c->uid, c->pid, shown, set == HY_OK ? "ok" : why);
        if (set == HY_OK && rt != NULL && cmd.mode == BACKEND_ADMIN_DRAIN && !cmd.nowait &&
            st->cfg->monitor.user[0] != '\0') {
            drain_wait(c, rt, cmd.json); /* answers once the server is idle */
            return true;
        }
        if (set != HY_OK) {
            textbuf_puts(&c->out, "ERR backend: ");
            textbuf_cell(&c->out, why);
            textbuf_putc(&c->out, '\n');
        } else if (cmd.json) {
            textbuf_puts(&c->out, "{\"backend\":");
            textbuf_json_str(&c->out, cmd.arg);
            textbuf_puts(&c->out, ",\"state\":");
            textbuf_json_str(&c->out, backend_state_to_str(backend_state(rt)));
            textbuf_puts(&c->out, "}\n");
        } else {
            textbuf_puts(&c->out, "OK backend ");
            textbuf_cell(&c->out, cmd.arg);
            textbuf_printf(&c->out, " is %s\n", backend_state_to_str(backend_state(rt)));
        }
        break;
    }
    case ADMIN_SHOW_EVENTS: {
        struct alerts_record *rows = calloc(ALERTS_HISTORY, sizeof(*rows));
        if (rows == NULL) {
            textbuf_puts(&c->out, "ERR out of memory\n");
            break;
        }
        size_t n = alerts_history(rows, cmd.top);
        admin_render_events(&c->out, rows, n, cmd.json);
        free(rows);
        break;
    }
    case ADMIN_TEST_ALERT: {
        char why[96];
        snprintf(why, sizeof(why), "halyardctl test-alert by uid=%u pid=%d", c->uid, c->pid);
        uint64_t seq = events_emit(EVENT_TEST_ALERT, NULL, NULL, NULL, why,
                                   "sent to every notifier: see show events");
        if (seq == 0)
            textbuf_puts(&c->out, "ERR test-alert: the event queue is full\n");
        else if (cmd.json)
            textbuf_printf(&c->out, "{\"event\":\"test_alert\",\"seq\":%" PRIu64 "}\n", seq);
        else
            textbuf_printf(&c->out, "OK test_alert event %" PRIu64 " emitted\n", seq);
        break;
    }
    case ADMIN_SHOW_BLOCKED: {
        size_t max = (size_t)st->cfg->auth_block_table_size;
        struct guard_row *rows = calloc(max ? max : 1, sizeof(*rows));
        if (rows == NULL) {
            textbuf_puts(&c->out, "ERR out of memory\n");
            break;
        }
        size_t n = guard_list(st->cfg, rows, max);
        admin_render_blocked(&c->out, rows, n, cmd.json);
        free(rows);
        break;
    }
    case ADMIN_UNBLOCK: {
        int n = guard_unblock(cmd.arg);
        log_audit("admin uid=%u pid=%d: %s: %d address%s forgotten", c->uid, c->pid, shown,
                  n < 0 ? 0 : n, n == 1 ? "" : "es");
        if (n < 0) {
            textbuf_puts(&c->out, "ERR unblock: '");
            textbuf_cell(&c->out, cmd.arg);
            textbuf_puts(&c->out, "' is not an IP address or all\n");
        } else if (cmd.json) {
            textbuf_printf(&c->out, "{\"unblocked\":%d}\n", n);
        } else {
            textbuf_printf(&c->out, "OK %d address%s unblocked\n", n, n == 1 ? "" : "es");
        }
        break;
    }
    case ADMIN_SHOW_FIREWALL:
    case ADMIN_DUMP_FIREWALL: {
        struct firewall_row *rows;
        uint64_t dropped;
        size_t n = firewall_list(cmd.arg[0] ? cmd.arg : NULL, &rows, &dropped);
        if (n == (size_t)-1) {
            textbuf_puts(&c->out, "ERR out of memory\n");
            break;
        }
        if (cmd.verb == ADMIN_SHOW_FIREWALL)
            admin_render_firewall(&c->out, rows, n, dropped, cmd.json);
        else
            admin_render_firewall_dump(&c->out, cmd.arg, rows, n, cmd.json);
        free(rows);
        break;
    }
    case ADMIN_SHOW_SESSIONS:
    case ADMIN_SHOW_POOLS:
    case ADMIN_SHOW_DIGESTS:
    case ADMIN_KILL_SESSION: /* audited when answered */
    case ADMIN_TAKEOVER:
        job_start(c, &cmd, shown);
        return true;
    case ADMIN_TAKEOVER_FINISH:
        if (st->takeover_done == NULL) {
            textbuf_puts(&c->out, "ERR takeover: not supported here\n");
            break;
        }
        textbuf_printf(&c->out,
                       "OK stopping: the new halyard accepts; sessions here get %d ms to finish\n",
                       st->cfg->shutdown_timeout_ms);
        st->takeover_done(st);
        break;
    case ADMIN_SWITCHOVER:
    case ADMIN_FAILOVER: /* answered when the failover thread is done */
        fo_start(c, &cmd);
        return true;
    case ADMIN_RELOAD: {
        char by[64];
        snprintf(by, sizeof(by), "admin uid=%u pid=%d", c->uid, c->pid);
        if (st->reload(st, by) != HY_OK) {
            textbuf_puts(&c->out, "ERR reload failed, keeping the running config: ");
            textbuf_cell(&c->out, st->last_reload_error);
            textbuf_putc(&c->out, '\n');
        } else if (cmd.json) {
            textbuf_puts(&c->out, "{\"result\":\"ok\",\"config_file\":");
            textbuf_json_str(&c->out, st->config_path);
            textbuf_puts(&c->out, "}\n");
        } else {
            textbuf_puts(&c->out, "OK reloaded ");
            textbuf_cell(&c->out, st->config_path);
            textbuf_putc(&c->out, '\n');
        }
        break;
    }
    }
    return aconn_send_answer(c);
}

/* ---- main thread: connections ---- */

/* Close a socket whose peer may have sent more than we read. Closing a Unix
 * socket with unread input resets the peer, which may then lose the answer
 * still waiting in its receive queue: read what is there first (bounded). */
static void close_drained(int fd)
{
    char sink[4096];
    for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        ;
    close(fd);
}

static void aconn_close(struct admin_conn *c)
{
    struct admin *a = c->a;
    if (c->job != NULL)
        c->job->conn = NULL; /* the job finishes without us */
    if (c->fo_wait && a->fo != NULL)
        a->fo->conn = NULL; /* the switchover goes on without us */
    ev_timer_stop(a->loop, &c->drain_t);
    ev_io_stop(a->loop, &c->rio);
    ev_io_stop(a->loop, &c->wio);
    ev_timer_stop(a->loop, &c->idle);
    close_drained(c->fd);
    textbuf_free(&c->out);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    a->n_conns--;
    free(c);
}

/* `backend NAME drain`: the answer once the monitor's first check begun
 * after the drain finds no client connection running a statement or
 * holding a transaction there (backend_rt.drain_busy), or it is DOWN, or
 * ADMIN_DRAIN_WAIT has passed, or somebody set another state meanwhile. */
static void drain_answer(struct admin_conn *c, const char *how, int64_t busy)
{
    struct backend_rt *rt = c->drain_rt;
    double waited = ev_time() - c->drain_since;
    ev_timer_stop(c->a->loop, &c->drain_t);
    c->drain_rt = NULL;
    const char *state = backend_state_to_str(backend_state(rt));
    if (c->drain_json) {
        textbuf_puts(&c->out, "{\"backend\":");
        textbuf_json_str(&c->out, rt->name);
        textbuf_puts(&c->out, ",\"state\":");
        textbuf_json_str(&c->out, state);
        textbuf_printf(&c->out,
                       ",\"idle\":%s,\"busy\":", strcmp(how, "idle") == 0 ? "true" : "false");
        if (busy >= 0)
            textbuf_printf(&c->out, "%lld", (long long)busy);
        else
            textbuf_puts(&c->out, "null");
        textbuf_printf(&c->out, ",\"waited_seconds\":%.1f,\"result\":", waited);
        textbuf_json_str(&c->out, how);
        textbuf_puts(&c->out, "}\n");
    } else {
        textbuf_puts(&c->out, "OK backend ");
        textbuf_cell(&c->out, rt->name);
        textbuf_printf(&c->out, " is %s, %s (waited %.1f s)\n", state, how, waited);
    }
    if (aconn_send_answer(c))
        aconn_process(c);
}

static void drain_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin_conn *c = container_of(w, struct admin_conn, drain_t);
    struct backend_rt *rt = c->drain_rt;
    int64_t busy = atomic_load(&rt->drain_busy);
    bool fresh =
        atomic_load(&rt->drain_checked_us) >= (int64_t)(c->drain_since * 1e6) && busy != -1;
    char how[160];
    if (backend_state(rt) != BACKEND_DRAINING) {
        drain_answer(c, "the drain was ended meanwhile", -1);
    } else if (atomic_load(&rt->health) == BACKEND_DOWN) {
        drain_answer(c, "down: its checks fail", -1);
    } else if (fresh && busy == 0) {
        drain_answer(c, "idle", 0);
    } else if (fresh && busy == -3) {
        drain_answer(c, "not waited for: the server did not say how busy it is", -1);
    } else if (fresh && busy == -2) {
        drain_answer(c,
                     "not waited for: monitor.user lacks the PROCESS privilege to see "
                     "other accounts' connections",
                     -1);
    } else if (ev_time() - c->drain_since >= ADMIN_DRAIN_WAIT) {
        snprintf(how, sizeof(how),
                 "still busy after %.0f s: %lld connection(s) run a statement or hold a "
                 "transaction there",
                 ADMIN_DRAIN_WAIT, (long long)(fresh ? busy : -1));
        drain_answer(c, how, fresh ? busy : -1);
    }
}

static void drain_wait(struct admin_conn *c, struct backend_rt *rt, bool json)
{
    c->drain_rt = rt;
    c->drain_since = ev_time();
    c->drain_json = json;
    ev_timer_again(c->a->loop, &c->drain_t);
}

static bool aconn_busy(const struct admin_conn *c)
{
    return c->job != NULL || c->fo_wait || c->drain_rt != NULL || c->out.len > 0;
}

/* Try to write what is pending. false when the connection was closed. */
static bool aconn_flush(struct admin_conn *c)
{
    switch (textbuf_send(&c->out, &c->out_off, c->fd)) {
    case HY_AGAIN:
        ev_io_start(c->a->loop, &c->wio);
        return true;
    case HY_OK:
        break;
    default:
        aconn_close(c);
        return false;
    }
    ev_io_stop(c->a->loop, &c->wio);
    textbuf_reset(&c->out);
    c->out_off = 0;
    if (c->close_after) {
        aconn_close(c);
        return false;
    }
    return true;
}

/* An answer is complete in `out`: close it with the empty line and start
 * sending. false when the connection was closed. */
static bool aconn_send_answer(struct admin_conn *c)
{
    if (c->out.overflow) {
        textbuf_reset(&c->out);
        textbuf_printf(&c->out, "ERR the answer is larger than %u bytes\n", ADMIN_OUT_MAX);
    }
    if (c->audit_cmd[0] != '\0') {
        char who[48], result[256];
        const char *nl = c->out.data != NULL ? memchr(c->out.data, '\n', c->out.len) : NULL;
        snprintf(who, sizeof(who), "uid=%u pid=%d", c->uid, c->pid);
        snprintf(result, sizeof(result), "%.*s", nl != NULL ? (int)(nl - c->out.data) : 0,
                 c->out.data != NULL ? c->out.data : "");
        /* A JSON answer of a command that succeeded says so in its own terms. */
        audit_admin(who, c->audit_cmd, result[0] == '{' ? "OK" : result);
        c->audit_cmd[0] = '\0';
    }
    textbuf_putc(&c->out, '\n');
    return aconn_flush(c);
}

/* Read only when idle (no answer pending); close once the client has shut
 * down its side and nothing is left to answer. */
static void aconn_update(struct admin_conn *c)
{
    struct admin *a = c->a;
    bool busy = aconn_busy(c);
    if (c->eof && !busy) {
        aconn_close(c);
        return;
    }
    if (busy || c->eof)
        ev_io_stop(a->loop, &c->rio);
    else
        ev_io_start(a->loop, &c->rio);
}

/* Answer the complete lines received, one at a time. */
static void aconn_process(struct admin_conn *c)
{
    while (!aconn_busy(c)) {
        char *nl = memchr(c->in, '\n', c->in_len);
        if (nl == NULL)
            break;
        char line[ADMIN_LINE_MAX];
        size_t len = (size_t)(nl - c->in);
        memcpy(line, c->in, len);
        c->in_len -= len + 1;
        memmove(c->in, nl + 1, c->in_len);
        if (!run_command(c, line, len))
            return;
    }
    aconn_update(c);
}

static void aconn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin_conn *c = container_of(w, struct admin_conn, rio);
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n < 0) {
        aconn_close(c);
        return;
    }
    ev_timer_again(c->a->loop, &c->idle);
    if (n == 0) {
        c->eof = true;
    } else {
        c->in_len += (size_t)n;
        if (c->in_len == sizeof(c->in) && memchr(c->in, '\n', c->in_len) == NULL) {
            hy_log_warn("admin uid=%u pid=%d: command line longer than %d bytes; closing", c->uid,
                        c->pid, ADMIN_LINE_MAX);
            c->in_len = 0;
            c->close_after = true;
            textbuf_printf(&c->out, "ERR command line longer than %d bytes\n", ADMIN_LINE_MAX);
            aconn_send_answer(c);
            return;
        }
    }
    aconn_process(c);
}

static void aconn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin_conn *c = container_of(w, struct admin_conn, wio);
    if (aconn_flush(c))
        aconn_process(c);
}

static void aconn_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct admin_conn *c = container_of(w, struct admin_conn, idle);
    if (aconn_busy(c)) {
        ev_timer_again(c->a->loop, &c->idle); /* busy: not idle */
        return;
    }
    hy_log_info("admin uid=%u pid=%d: idle for %.0f s; closing", c->uid, c->pid,
                ADMIN_IDLE_TIMEOUT);
    aconn_close(c);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct admin *a = container_of(w, struct admin, accept_io);
    for (;;) {
        int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                hy_log_warn("admin socket: accept: %s", strerror(errno));
            return;
        }
        struct ucred cred = {.pid = 0, .uid = (uid_t)-1};
        socklen_t clen = sizeof(cred);
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
        struct admin_conn *c = a->n_conns < ADMIN_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
        if (c == NULL) {
            static const char msg[] = "ERR too many admin connections\n\n";
            ssize_t n HY_UNUSED = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            hy_log_warn("admin socket: refused a connection from uid %u pid %d: %d open",
                        (unsigned)cred.uid, (int)cred.pid, a->n_conns);
            close_drained(fd);
            continue;
        }
        c->a = a;
        c->fd = fd;
        c->uid = (unsigned)cred.uid;
        c->pid = (int)cred.pid;
        textbuf_init(&c->out, ADMIN_OUT_MAX);
        ev_io_init(&c->rio, aconn_read_cb, fd, EV_READ);
        ev_io_init(&c->wio, aconn_write_cb, fd, EV_WRITE);
        ev_init(&c->idle, aconn_idle_cb);
        ev_init(&c->drain_t, drain_tick);
        c->drain_t.repeat = 0.1;
        c->idle.repeat = ADMIN_IDLE_TIMEOUT;
        ev_timer_again(loop, &c->idle);
        c->next = a->conns;
        if (a->conns != NULL)
            a->conns->prev = c;
        a->conns = c;
        a->n_conns++;
        ev_io_start(loop, &c->rio);
    }
}

/* Is a process serving the socket at `path`? */
static bool socket_alive(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return false;
    /* A full backlog (EAGAIN) means someone listens too. */
    bool alive = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN;
    close(fd);
    return alive;
}

/* Check what is at `path` now and remove it if it is a stale socket of
 * ours; HY_ERROR with `err` if halyard must not take the path. */
static hy_status_t clear_path(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT)
            return HY_OK;
        snprintf(err, errlen, "admin_socket %s: %s", path, strerror(errno));
        return HY_ERROR;
    }
    if (S_ISLNK(sb.st_mode)) {
        snprintf(err, errlen, "admin_socket %s is a symbolic link; refusing to use it", path);
        return HY_ERROR;
    }
    if (sb.st_uid != geteuid()) {
        snprintf(err, errlen,
                 "admin_socket %s is owned by uid %u, not by halyard's uid %u; refusing to "
                 "replace it",
                 path, (unsigned)sb.st_uid, (unsigned)geteuid());
        return HY_ERROR;
    }
    if (!S_ISSOCK(sb.st_mode)) {
        snprintf(err, errlen, "admin_socket %s exists and is not a socket; refusing to replace it",
                 path);
        return HY_ERROR;
    }
    if (socket_alive(path)) {
        snprintf(err, errlen,
                 "admin_socket %s is in use by another process (another halyard?); stop it or "
                 "choose another path",
                 path);
        return HY_ERROR;
    }
    if (unlink(path) != 0) {
        snprintf(err, errlen, "admin_socket %s: cannot remove the stale socket: %s", path,
                 strerror(errno));
        return HY_ERROR;
    }
    hy_log_info("admin socket: removed the stale socket file %s", path);
    return HY_OK;
}

struct admin *admin_create(struct status *st, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "admin_socket %s: longer than %zu bytes", path,
                 sizeof(sun.sun_path) - 1);
        return NULL;
    }
    if (clear_path(path, err, errlen) != HY_OK)
        return NULL;
    struct admin *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->st = st;
    a->loop = st->loop;
    snprintf(a->path, sizeof(a->path), "%s", path);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->fd < 0) {
        snprintf(err, errlen, "admin_socket %s: socket: %s", path, strerror(errno));
        free(a);
        return NULL;
    }
    /* Created 0600 from the start: no window where others may connect. */
    mode_t old = umask(0177);
    int rc = bind(a->fd, (struct sockaddr *)&sun, sizeof(sun));
    int e = errno;
    umask(old);
    struct stat sb;
    if (rc != 0 || listen(a->fd, ADMIN_MAX_CONNS) != 0 || lstat(path, &sb) != 0) {
        if (rc == 0)
            e = errno;
        snprintf(err, errlen, "admin_socket %s: cannot listen: %s", path, strerror(e));
        if (rc == 0)
            unlink(path);
        close(a->fd);
        free(a);
        return NULL;
    }
    a->dev = sb.st_dev;
    a->ino = sb.st_ino;
    ev_io_init(&a->accept_io, accept_cb, a->fd, EV_READ);
    ev_io_start(a->loop, &a->accept_io);
    ev_async_init(&a->parts_async, parts_async_cb);
    ev_async_start(a->loop, &a->parts_async);
    ev_async_init(&a->fo_async, fo_async_cb);
    ev_async_start(a->loop, &a->fo_async);
    hy_log_info("admin socket: %s", path);
    return a;
}

void admin_destroy(struct admin *a)
{
    if (a == NULL)
        return;
    while (a->conns != NULL)
        aconn_close(a->conns);
    while (a->jobs != NULL) {
        struct admin_job *j = a->jobs;
        a->jobs = j->next;
        ev_timer_stop(a->loop, &j->timer);
        job_free(j);
    }
    ev_io_stop(a->loop, &a->accept_io);
    ev_async_stop(a->loop, &a->parts_async);
    ev_async_stop(a->loop, &a->fo_async);
    /* The failover thread has been stopped: a request it did not answer is ours to free. */
    fo_free(a->fo);
    close(a->fd);
    /* Remove the file only if it is still the one we created. */
    struct stat sb;
    if (lstat(a->path, &sb) == 0 && sb.st_dev == a->dev && sb.st_ino == a->ino)
        unlink(a->path);
    free(a);
}
