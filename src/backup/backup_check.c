/*
 * backup_check.c: see backup_check.h.
 *
 * The parsing is pure; backup_account_check() runs its two statements on a
 * loop of its own, on the calling thread (the full backup's), which may
 * block: nothing else runs there.
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/backup/backup_check.h"
#include "halyard/protocol/sqlclient.h"

static const struct {
    unsigned bit;
    const char *name;
} PRIVS[] = {
    {BACKUP_PRIV_SELECT, "SELECT"},
    {BACKUP_PRIV_SHOW_VIEW, "SHOW VIEW"},
    {BACKUP_PRIV_TRIGGER, "TRIGGER"},
    {BACKUP_PRIV_EVENT, "EVENT"},
};

hy_status_t backup_schemas_add(struct backup_schemas *s, const char *name, size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->names, cap * sizeof(*v));
        if (v == NULL)
            return HY_NOMEM;
        s->names = v;
        s->cap = cap;
    }
    char *c = strndup(name, len);
    if (c == NULL)
        return HY_NOMEM;
    s->names[s->n++] = c;
    return HY_OK;
}

bool backup_schemas_has(const struct backup_schemas *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return true;
    return false;
}

void backup_schemas_free(struct backup_schemas *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
    *s = (struct backup_schemas){0};
}

unsigned backup_check_grant_line(const char *line)
{
    static const char on[] = " ON *.* TO ";
    if (strncasecmp(line, "GRANT ", 6) != 0)
        return 0;
    const char *list = line + 6;
    const char *end = strcasestr(list, on);
    if (end == NULL)
        return 0; /* a role, or privileges on a schema, table or routine */
    size_t n = (size_t)(end - list);
    if (n == 14 && strncasecmp(list, "ALL PRIVILEGES", 14) == 0)
        return BACKUP_PRIV_ALL;
    unsigned have = 0;
    while (n > 0) {
        const char *comma = memchr(list, ',', n);
        size_t len = comma ? (size_t)(comma - list) : n;
        size_t k = len;
        const char *w = list;
        while (k > 0 && *w == ' ')
            w++, k--;
        while (k > 0 && w[k - 1] == ' ')
            k--;
        for (size_t i = 0; i < sizeof(PRIVS) / sizeof(PRIVS[0]); i++)
            if (strlen(PRIVS[i].name) == k && strncasecmp(w, PRIVS[i].name, k) == 0)
                have |= PRIVS[i].bit;
        if (comma == NULL)
            break;
        n -= len + 1;
        list = comma + 1;
    }
    return have;
}

void backup_check_missing(unsigned have, char *out, size_t cap)
{
    size_t at = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(PRIVS) / sizeof(PRIVS[0]); i++) {
        if (have & PRIVS[i].bit)
            continue;
        int w = snprintf(out + at, cap - at, "%s%s", at ? ", " : "", PRIVS[i].name);
        if (w < 0 || (size_t)w >= cap - at)
            return;
        at += (size_t)w;
    }
}

bool backup_dump_create_database(const char *line, size_t len, char *out, size_t cap)
{
    static const char key[] = "CREATE DATABASE ";
    if (len < sizeof(key) - 1 || memcmp(line, key, sizeof(key) - 1) != 0 || cap == 0)
        return false;
    const char *p = memchr(line, '`', len);
    if (p == NULL)
        return false;
    size_t o = 0;
    for (p++; p < line + len; p++) {
        if (*p == '`') {
            if (p + 1 < line + len && p[1] == '`') {
                p++; /* `` is one backtick in the name */
            } else {
                out[o] = '\0';
                return true;
            }
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = *p;
    }
    return false; /* no closing quote: a line cut short */
}

static void scan_line(struct backup_dump_scan *s)
{
    char name[256];
    size_t len = HY_MIN(s->len, sizeof(s->line));
    if (backup_dump_create_database(s->line, len, name, sizeof(name)) &&
        !backup_schemas_has(&s->found, name) &&
        backup_schemas_add(&s->found, name, strlen(name)) != HY_OK)
        s->nomem = true;
}

void backup_dump_scan_feed(struct backup_dump_scan *s, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (s->len < sizeof(s->line)) {
            size_t k = HY_MIN(take, sizeof(s->line) - s->len);
            memcpy(s->line + s->len, p, k);
        }
        s->len += take;
        if (nl == NULL)
            return;
        scan_line(s);
        s->len = 0;
        p = nl + 1;
        n -= take + 1;
    }
}

bool backup_schema_dumped(const char *name)
{
    return strcasecmp(name, "information_schema") != 0 &&
           strcasecmp(name, "performance_schema") != 0 && strcmp(name, "sys") != 0;
}

size_t backup_schemas_missing(const struct backup_schemas *source,
                              const struct backup_schemas *dump, char *out, size_t cap)
{
    size_t missing = 0, at = 0;
    bool cut = false;
    if (cap > 0)
        out[0] = '\0';
    for (size_t i = 0; i < source->n; i++) {
        const char *name = source->names[i];
        if (!backup_schema_dumped(name) || backup_schemas_has(dump, name))
            continue;
        missing++;
        if (cut || cap == 0)
            continue;
        int w = snprintf(out + at, cap - at, "%s`%s`", at ? ", " : "", name);
        if (w < 0 || (size_t)w >= cap - at) {
            /* no room for this one: end the list with "..." */
            if (at + 6 <= cap)
                snprintf(out + at, cap - at, "%s...", at ? ", " : "");
            else if (cap >= 4)
                snprintf(out + cap - 4, 4, "...");
            cut = true;
            continue;
        }
        at += (size_t)w;
    }
    return missing;
}

/* ---- the account, on a loop of our own ---------------------------------- */

struct sync {
    struct backup_account *out;
    char *err;
    size_t errlen;
    bool done, ok;
};

static void finish(struct sync *s, bool ok, const char *what, const struct sqlresult *res)
{
    if (!ok && res->err_code)
        snprintf(s->err, s->errlen, "%s: error %u: %.200s", what, res->err_code, res->err_msg);
    else if (!ok)
        snprintf(s->err, s->errlen, "%s: %.200s", what, res->err_msg);
    s->ok = ok;
    s->done = true;
}

static void databases_read(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct sync *s = arg;
    if (!res->ok) {
        finish(s, false, "SHOW DATABASES", res);
        return;
    }
    for (size_t r = 0; r < res->n_rows; r++) {
        const char *name = sqlresult_get(res, r, 0);
        if (name != NULL && backup_schemas_add(&s->out->schemas, name, strlen(name)) != HY_OK) {
            snprintf(s->err, s->errlen, "out of memory");
            s->done = true;
            return;
        }
    }
    finish(s, true, "", res);
}

static void grants_read(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct sync *s = arg;
    if (!res->ok) {
        finish(s, false, "SHOW GRANTS", res);
        return;
    }
    /* The column is named "Grants for USER@HOST": the account the server
     * took the login for, which is the one mariadb-dump gets. */
    const char *col = res->n_cols > 0 ? res->col_names[0] : "";
    snprintf(s->out->account, sizeof(s->out->account), "%s",
             strncasecmp(col, "Grants for ", 11) == 0 ? col + 11 : col);
    for (size_t r = 0; r < res->n_rows; r++) {
        const char *line = sqlresult_get(res, r, 0);
        if (line != NULL)
            s->out->have |= backup_check_grant_line(line);
    }
    backup_check_missing(s->out->have, s->out->missing, sizeof(s->out->missing));
    if (sqlclient_query(c, "SHOW DATABASES", databases_read, s) != HY_OK) {
        snprintf(s->err, s->errlen, "cannot send SHOW DATABASES");
        s->done = true;
    }
}

static void connected(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct sync *s = arg;
    if (!res->ok) {
        finish(s, false, "login", res);
        return;
    }
    if (sqlclient_query(c, "SHOW GRANTS", grants_read, s) != HY_OK) {
        snprintf(s->err, s->errlen, "cannot send SHOW GRANTS");
        s->done = true;
    }
}

hy_status_t backup_account_check(const struct sqlclient_target *t, int timeout_ms,
                                 struct backup_account *out, char *err, size_t errlen)
{
    *out = (struct backup_account){0};
    snprintf(err, errlen, "cannot start a client");
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    if (loop == NULL)
        return HY_ERROR;
    struct sqlclient *c = sqlclient_create(loop, t, timeout_ms);
    struct sync s = {.out = out, .err = err, .errlen = errlen};
    if (c != NULL && sqlclient_connect(c, connected, &s) == HY_OK) {
        err[0] = '\0';
        while (!s.done)
            ev_run(loop, EVRUN_ONCE);
    }
    sqlclient_destroy(c);
    ev_loop_destroy(loop);
    if (!s.ok) {
        backup_schemas_free(&out->schemas);
        return HY_ERROR;
    }
    return HY_OK;
}
