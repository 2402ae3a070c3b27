/*
 * admin_parse.c: the admin socket's command line: the command table (which
 * `help` shows) and admin_parse(), a line to a struct admin_cmd or an ERR
 * answer. Pure: no I/O, no state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin_int.h"
#include "halyard/admin/admin.h"
#include "halyard/admin/alerts.h"
#include "halyard/cluster/backend.h"

static const struct {
    const char *usage;
    const char *desc;
} commands[] = {
    {"help", "this list"},
    {"show status", "version, pid, uptime, config file, last reload, workers, zone, majority"},
    {"show config", "the running configuration, password hashes hidden"},
    {"show stats", "counters summed over the workers, and per worker"},
    {"show sessions", "client sessions of every worker"},
    {"show pools",
     "backend connections per backend and user: held by sessions, idle in the pools; waiting, "
     "waits and their p50/p99, restores, resets, opened and closed"},
    {"show rules", "query rules in order, with their hits"},
    {"show backends [--detail]",
     "backends: role, state and why, lag, GTID, connections, queries, errors, latency, last "
     "check; --detail: the servers' own load (threads, max_connections, QPS, slow queries, "
     "buffer pool)"},
    {"show groups",
     "groups of backends: cluster type, failover, the writer, each backend's role and state"},
    {"show shards",
     "the schema map (each schema's group, conflicts) and per group its schemas, statements, "
     "errors, sessions moved in and statements refused"},
    {"show xa",
     "transactions across groups in doubt (shards.cross_group_transactions = \"xa\"): xid, "
     "groups, decision (commit: logged; rollback: not), age, why still there"},
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
     "make backend NAME (default: the most advanced replica of the first group) the primary of "
     "its group; writes pause"},
    {"failover [GROUP]",
     "promote the most advanced replica now that the primary is unreachable (of GROUP, or the "
     "group of the backend so named; default: the first group)"},
    {"show events [last N]",
     "the last N events (default 20, at most 64) and what each notifier made of them"},
    {"test-alert", "emit a test_alert event through every notifier (alerts.exec, alerts.webhook)"},
    {"show backup", "the binlog archive (state, source, file, archived GTID, lag, errors) and the "
                    "last full backup"},
    {"backup full",
     "take a full backup now (mariadb-dump of a replica drained of reads meanwhile)"},
    {"backup verified R G T D",
     "(sent by halyardctl backup verify) its result R (ok, differ, failed), at GTID G, T "
     "tables compared, D differing: for show backup and the metrics"},
};

void quote_line(char *out, size_t len, const char *line, size_t n)
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
    const char *tok[7];
    size_t tlen[7];
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
    } else if (n == 2 && TOK_IS(0, "show") && TOK_IS(1, "backup")) {
        cmd->verb = ADMIN_SHOW_BACKUP;
    } else if (n == 2 && TOK_IS(0, "backup") && TOK_IS(1, "full")) {
        cmd->verb = ADMIN_BACKUP_FULL;
    } else if (n == 6 && TOK_IS(0, "backup") && TOK_IS(1, "verified")) {
        /* the words, checked by backup_verify_parse when it runs */
        cmd->verb = ADMIN_BACKUP_VERIFIED;
        size_t len_words = (size_t)(tok[5] + tlen[5] - tok[2]);
        if (len_words >= sizeof(cmd->arg)) {
            snprintf(err, errlen, "ERR backup verified: the report is too long");
            return HY_ERROR;
        }
        memcpy(cmd->arg, tok[2], len_words);
        cmd->arg[len_words] = '\0';
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
    } else if (n == 2 && TOK_IS(0, "show") && TOK_IS(1, "groups")) {
        cmd->verb = ADMIN_SHOW_GROUPS;
    } else if (n == 2 && TOK_IS(0, "show") && TOK_IS(1, "shards")) {
        cmd->verb = ADMIN_SHOW_SHARDS;
    } else if (n == 2 && TOK_IS(0, "show") && TOK_IS(1, "xa")) {
        cmd->verb = ADMIN_SHOW_XA;
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
    } else if ((n == 1 || n == 2) && TOK_IS(0, "failover")) {
        cmd->verb = ADMIN_FAILOVER;
        if (n == 2) { /* a group's name, or a backend's: its group (group.h) */
            if (tlen[1] >= sizeof(cmd->target)) {
                snprintf(err, errlen, "ERR usage: failover [GROUP]");
                return HY_ERROR;
            }
            memcpy(cmd->target, tok[1], tlen[1]);
            cmd->target[tlen[1]] = '\0';
        }
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
