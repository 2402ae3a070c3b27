/*
 * admin_sql_stmt.c: what a statement on the SQL admin port asks for
 * (admin_sql_plan): a line of the admin socket's protocol, run by the same
 * command table (admin_cmd.c) as halyardctl's, or an answer of its own to
 * what clients send when they connect (SELECT @@version_comment, SET NAMES),
 * or the ERR packet's code, SQLSTATE and text. Pure.
 *
 *   SHOW X [ARGS]            show x [args] --json, answered as a result set
 *   SET BACKEND N STATE      backend N maint|online|drain [nowait]
 *                            (OFFLINE and MAINT: maint)
 *   TEST ALERT               test-alert
 *   any other words          the same words as a command line: RELOAD,
 *                            SWITCHOVER [TO N], KILL SESSION N, UNBLOCK A...
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/protocol/mysql_errors.h"
#include "admin_int.h"

#define STMT_MAX_WORDS 16

struct words {
    char buf[ADMIN_LINE_MAX];
    const char *w[STMT_MAX_WORDS];
    size_t n;
};

static void plan_err(struct admin_sql_plan *p, uint16_t code, const char *state, const char *fmt,
                     ...) HY_PRINTF(4, 5);

static void plan_err(struct admin_sql_plan *p, uint16_t code, const char *state, const char *fmt,
                     ...)
{
    p->kind = ADMIN_SQL_PLAN_ERR;
    p->code = code;
    snprintf(p->sqlstate, sizeof(p->sqlstate), "%s", state);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
    va_end(ap);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Past whitespace and comments; NULL on a comment left open. */
static const char *skip_blank(const char *s, const char *e)
{
    for (;;) {
        while (s < e && is_space(*s))
            s++;
        if (s + 1 < e && s[0] == '/' && s[1] == '*') {
            const char *c = s + 2;
            while (c + 1 < e && !(c[0] == '*' && c[1] == '/'))
                c++;
            if (c + 1 >= e)
                return NULL;
            s = c + 2;
        } else if (s < e &&
                   (*s == '#' || (s + 2 < e && s[0] == '-' && s[1] == '-' && is_space(s[2])))) {
            while (s < e && *s != '\n')
                s++;
        } else {
            return s;
        }
    }
}

/* Split into words: bare runs, or quoted ('', "", ``) without their quotes.
 * false: the text is not words (an open quote or comment, a word with a
 * space or a NUL in it, too many words, a statement after a ';'). */
static bool split(const char *sql, size_t len, struct words *w)
{
    const char *s = sql, *e = sql + len;
    size_t used = 0;
    w->n = 0;
    while ((s = skip_blank(s, e)) != NULL && s < e) {
        if (*s == ';') {
            s = skip_blank(s + 1, e);
            return s == e;
        }
        const char *start = s, *end;
        if (*s == '\'' || *s == '"' || *s == '`') {
            char q = *s++;
            start = s;
            while (s < e && *s != q)
                s++;
            if (s == e)
                return false;
            end = s++;
        } else {
            while (s < e && !is_space(*s) && *s != ';' && *s != '\'' && *s != '"' && *s != '`')
                s++;
            end = s;
        }
        size_t n = (size_t)(end - start);
        if (w->n == STMT_MAX_WORDS || n == 0 || used + n + 1 > sizeof(w->buf) ||
            memchr(start, '\0', n) != NULL)
            return false;
        for (size_t i = 0; i < n; i++) {
            if (is_space(start[i]))
                return false;
        }
        memcpy(w->buf + used, start, n);
        w->buf[used + n] = '\0';
        w->w[w->n++] = w->buf + used;
        used += n + 1;
    }
    return s != NULL;
}

static bool eq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* SELECT of what clients ask when they connect; false: not one of those. */
static bool plan_select(const struct words *w, const struct admin_sql_who *who,
                        struct admin_sql_plan *p)
{
    if (!(w->n == 2 || (w->n == 4 && eq(w->w[2], "limit"))))
        return false;
    const char *x = w->w[1];
    p->kind = ADMIN_SQL_PLAN_VALUE;
    snprintf(p->col, sizeof(p->col), "%s", x);
    const char *var = strncmp(x, "@@", 2) == 0 ? x + 2 : NULL;
    if (var != NULL &&
        (strncasecmp(var, "session.", 8) == 0 || strncasecmp(var, "global.", 7) == 0))
        var = strchr(var, '.') + 1;
    if (var != NULL && eq(var, "version_comment")) {
        snprintf(p->val, sizeof(p->val), "halyard SQL admin port");
    } else if (var != NULL && eq(var, "version")) {
        snprintf(p->val, sizeof(p->val), "%s", who->version);
    } else if (var != NULL && (eq(var, "autocommit") || eq(var, "auto_increment_increment"))) {
        snprintf(p->val, sizeof(p->val), "1");
        p->val_int = true;
    } else if (var != NULL && eq(var, "max_allowed_packet")) {
        snprintf(p->val, sizeof(p->val), "%u", ADMIN_LINE_MAX);
        p->val_int = true;
    } else if (eq(x, "database()") || eq(x, "schema()")) {
        p->val_null = true;
    } else if (eq(x, "user()") || eq(x, "current_user()") || eq(x, "session_user()")) {
        snprintf(p->val, sizeof(p->val), "%s@%s", who->user, who->host);
    } else if (eq(x, "connection_id()")) {
        snprintf(p->val, sizeof(p->val), "%u", who->id);
        p->val_int = true;
    } else if (strspn(x, "0123456789") == strlen(x) && strlen(x) < 19) {
        snprintf(p->val, sizeof(p->val), "%s", x);
        p->val_int = true;
    } else {
        return false;
    }
    return true;
}

/* SET BACKEND N OFFLINE|MAINT|ONLINE|DRAIN [NOWAIT] as `backend N ...`. */
static bool plan_set_backend(const struct words *w, char *line, size_t cap)
{
    if (w->n < 4 || w->n > 5)
        return false;
    const char *st = w->w[3];
    const char *mode = eq(st, "offline") || eq(st, "maint") ? "maint"
                       : eq(st, "online")                   ? "online"
                       : eq(st, "drain")                    ? "drain"
                                                            : NULL;
    if (mode == NULL || (w->n == 5 && !(eq(mode, "drain") && eq(w->w[4], "nowait"))))
        return false;
    snprintf(line, cap, "backend %s %s%s", w->w[2], mode, w->n == 5 ? " nowait" : "");
    return true;
}

static void join(const struct words *w, size_t from, char *line, size_t cap, size_t used)
{
    for (size_t i = from; i < w->n && used < cap; i++)
        used += (size_t)snprintf(line + used, cap - used, "%s%s", used ? " " : "", w->w[i]);
}

/* A line of the admin socket: parsed by its table, checked against the
 * account's role. */
static void plan_line(struct admin_sql_plan *p, const struct admin_sql_who *who)
{
    struct admin_cmd cmd;
    char err[512];
    hy_status_t rc = admin_parse(p->line, strlen(p->line), &cmd, err, sizeof(err));
    if (rc == HY_AGAIN) {
        plan_err(p, ER_EMPTY_QUERY, "42000", "Query was empty");
        return;
    }
    if (rc != HY_OK) {
        plan_err(p, ER_PARSE_ERROR, "42000", "%s", strncmp(err, "ERR ", 4) == 0 ? err + 4 : err);
        return;
    }
    const struct admin_verb_def *def = &admin_verbs[cmd.verb];
    if (def->sql == ADMIN_SQL_NO) {
        plan_err(p, ER_NOT_SUPPORTED_YET, "42000",
                 "'%s' is not on the SQL admin port: use the admin socket", def->words);
        return;
    }
    if (def->sql == ADMIN_SQL_OPERATOR && who->role != ADMIN_ROLE_OPERATOR) {
        plan_err(p, ER_SPECIFIC_ACCESS_DENIED_ERROR, "42000",
                 "Access denied; you need (at least one of) the operator role for this "
                 "operation");
        return;
    }
    p->kind = ADMIN_SQL_PLAN_ADMIN;
    p->verb = cmd.verb;
    p->rows = def->sql == ADMIN_SQL_READ;
    p->shape = def->sql_shape;
    if (p->rows && !cmd.json) {
        size_t n = strlen(p->line);
        snprintf(p->line + n, sizeof(p->line) - n, " --sql");
    }
    if (p->table[0] == '\0') {
        snprintf(p->table, sizeof(p->table), "%s", def->words);
        for (char *c = p->table; *c != '\0'; c++)
            *c = *c == ' ' ? '_' : *c;
    }
}

void admin_sql_plan(const char *sql, size_t len, const struct admin_sql_who *who,
                    struct admin_sql_plan *p)
{
    memset(p, 0, sizeof(*p));
    struct words w;
    if (!split(sql, len, &w)) {
        plan_err(p, ER_PARSE_ERROR, "42000",
                 "You have an error in your SQL syntax: the SQL admin port takes one statement "
                 "of plain words (names may be quoted)");
        return;
    }
    if (w.n == 0) {
        plan_err(p, ER_EMPTY_QUERY, "42000", "Query was empty");
        return;
    }
    const char *w0 = w.w[0];
    if (eq(w0, "select")) {
        if (!plan_select(&w, who, p))
            plan_err(p, ER_PARSE_ERROR, "42000",
                     "You have an error in your SQL syntax: the SQL admin port answers SELECT "
                     "of @@version_comment, @@version, DATABASE(), USER(), CONNECTION_ID() and "
                     "numbers only; the rest is SHOW and actions (HELP lists them)");
        return;
    }
    if (eq(w0, "set") && w.n >= 2 && eq(w.w[1], "backend")) {
        if (!plan_set_backend(&w, p->line, sizeof(p->line))) {
            plan_err(p, ER_PARSE_ERROR, "42000",
                     "You have an error in your SQL syntax: SET BACKEND name "
                     "OFFLINE|ONLINE|MAINT|DRAIN [NOWAIT]");
            return;
        }
    } else if (eq(w0, "set") || eq(w0, "use") || eq(w0, "begin") || eq(w0, "commit") ||
               eq(w0, "rollback") || (eq(w0, "start") && w.n >= 2 && eq(w.w[1], "transaction"))) {
        p->kind = ADMIN_SQL_PLAN_OK; /* session settings: nothing to keep */
        return;
    } else if (eq(w0, "show")) {
        if (w.n < 2) {
            plan_err(p, ER_PARSE_ERROR, "42000",
                     "You have an error in your SQL syntax: SHOW what?");
            return;
        }
        snprintf(p->table, sizeof(p->table), "%s", eq(w.w[1], "backups") ? "backup" : w.w[1]);
        for (char *c = p->table; *c != '\0'; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        char words[80];
        snprintf(words, sizeof(words), "show %s", p->table);
        bool known = false;
        for (int v = 0; v < ADMIN_N_VERBS && !known; v++)
            known = admin_verbs[v].words != NULL && eq(admin_verbs[v].words, words);
        if (!known) {
            plan_err(p, ER_NO_SUCH_TABLE, "42S02", "Table 'halyard.%.64s' doesn't exist", w.w[1]);
            return;
        }
        join(&w, 2, p->line, sizeof(p->line),
             (size_t)snprintf(p->line, sizeof(p->line), "%s", words));
    } else if (eq(w0, "test") && w.n == 2 && eq(w.w[1], "alert")) {
        snprintf(p->line, sizeof(p->line), "test-alert");
    } else {
        join(&w, 0, p->line, sizeof(p->line), 0);
    }
    plan_line(p, who);
}
