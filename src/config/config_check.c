/*
 * config_check.c: what `halyard -t` tells a DBA beyond "valid" (config.h,
 * struct config_report).
 *
 * The loader (config.c) goes on past an error where it safely can, so one
 * run reports every error it finds: each key checked against the table
 * (unknown keys, types, bounds), then the parts of struct config that do
 * not depend on a part that failed. Each message is recorded here, with
 * its line, and sorted by line at the end; the first error found is also
 * the one line config_load() has always returned.
 *
 * Then, for a config that loaded, cfg_lint() looks for what is legal but
 * probably a mistake and says so as warnings: no health checks, a group of
 * one backend, a server listed twice, a failover that can never win its
 * lock, private keys and passwords that others can read, a user without a
 * password, an XA log in a directory that is not there.
 */
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "halyard/config/config.h"
#include "halyard/config/group.h"
#include "config_int.h"

/* ---- the report -------------------------------------------------------- */

static void msgs_add(struct config_msg **v, size_t *n, unsigned line, const char *text)
{
    struct config_msg *bigger = realloc(*v, (*n + 1) * sizeof(**v));
    if (bigger == NULL)
        return; /* the load still fails: ld->n_errors counts it */
    *v = bigger;
    char *copy = strdup(text);
    if (copy == NULL)
        return;
    bigger[*n] = (struct config_msg){line, copy};
    (*n)++;
}

void cfg_report_add(struct loader *ld, bool warning, unsigned line, const char *text)
{
    if (!warning) {
        if (ld->n_errors == 0 && ld->err != NULL && ld->errlen > 0)
            snprintf(ld->err, ld->errlen, "%s", text);
        ld->n_errors++;
    }
    if (ld->rep == NULL)
        return;
    if (warning)
        msgs_add(&ld->rep->warnings, &ld->rep->n_warnings, line, text);
    else
        msgs_add(&ld->rep->errors, &ld->rep->n_errors, line, text);
}

/* By line, stable (insertion sort: a report has a few messages). */
static void msgs_sort(struct config_msg *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct config_msg m = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1].line > m.line; j--)
            v[j] = v[j - 1];
        v[j] = m;
    }
}

void cfg_report_sort(struct config_report *rep)
{
    if (rep == NULL)
        return;
    msgs_sort(rep->errors, rep->n_errors);
    msgs_sort(rep->warnings, rep->n_warnings);
}

void config_report_free(struct config_report *rep)
{
    if (rep == NULL)
        return;
    for (size_t i = 0; i < rep->n_errors; i++)
        free(rep->errors[i].text);
    for (size_t i = 0; i < rep->n_warnings; i++)
        free(rep->warnings[i].text);
    free(rep->errors);
    free(rep->warnings);
    *rep = (struct config_report){0};
}

void cfg_warn(struct loader *ld, const config_setting_t *s, const char *key, const char *fmt, ...)
{
    char msg[1536];
    unsigned line = s != NULL ? config_setting_source_line(s) : 0;
    int n = line > 0 ? snprintf(msg, sizeof(msg), "%s:%u: warning: ", ld->name, line)
                     : snprintf(msg, sizeof(msg), "%s: warning: ", ld->name);
    if (n >= 0 && (size_t)n < sizeof(msg) && key != NULL)
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s: ", key);
    if (n >= 0 && (size_t)n < sizeof(msg)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    cfg_report_add(ld, true, line, msg);
}

/* ---- syntax errors ----------------------------------------------------- */

void cfg_syntax_error(struct loader *ld, const char *text, int line, const char *what)
{
    char shown[48] = "", buf[128];
    const char *p = text;
    for (int l = 1; l < line && p != NULL; l++) {
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    if (p != NULL && line > 0) {
        size_t len = strcspn(p, "\n");
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        snprintf(buf, sizeof(buf), "%.*s", (int)HY_MIN(len, sizeof(buf) - 1), p);
        cfg_printable(buf, shown);
    }
    char msg[512];
    if (line <= 0)
        snprintf(msg, sizeof(msg), "%s: %s", ld->name, what);
    else if (shown[0] == '\0')
        snprintf(msg, sizeof(msg),
                 "%s:%d: %s (an empty line: the mistake is often on the line "
                 "before, e.g. a missing ';')",
                 ld->name, line, what);
    else
        snprintf(msg, sizeof(msg), "%s:%d: %s, in: %s", ld->name, line, what, shown);
    cfg_report_add(ld, false, line > 0 ? (unsigned)line : 0, msg);
}

/* ---- did you mean ------------------------------------------------------ */

/* Optimal string alignment distance (Levenshtein with adjacent
 * transpositions: "log_levle" is 1 from "log_level"), case-insensitive.
 * Names longer than 63 bytes are far from every key. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return 64;
    size_t d[64][64];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            char x = (char)(a[i - 1] | 0x20), y = (char)(b[j - 1] | 0x20);
            size_t cost = x == y ? 0 : 1;
            size_t v = HY_MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);
            v = HY_MIN(v, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && x == (char)(b[j - 2] | 0x20) && (char)(a[i - 2] | 0x20) == y)
                v = HY_MIN(v, d[i - 2][j - 2] + 1);
            d[i][j] = v;
        }
    }
    return d[n][m];
}

/* The group path of a key: "backends.[]" for "backends.[].port", "" for
 * a top-level key. */
static size_t key_parent_len(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot != NULL ? (size_t)(dot - path) : 0;
}

void cfg_suggest_key(const char *prefix, const char *leaf, char *out, size_t outlen)
{
    size_t plen = strlen(prefix), best_d = 64, len = strlen(leaf);
    /* Close enough to be a typo: 1 edit for short names, up to 3 for long. */
    size_t limit = HY_MAX(1, HY_MIN(3, len / 3));
    const char *best = NULL, *elsewhere = NULL;
    out[0] = '\0';
    for (size_t i = 0; i < config_n_keys; i++) {
        const char *path = config_keys[i].path;
        const char *kleaf = cfg_key_leaf(path);
        if (key_parent_len(path) == plen && strncmp(path, prefix, plen) == 0) {
            size_t d = edit_distance(leaf, kleaf);
            if (d <= limit && d < best_d) {
                best_d = d;
                best = kleaf;
            }
        } else if (elsewhere == NULL && strcmp(kleaf, leaf) == 0) {
            elsewhere = path;
        }
    }
    if (best != NULL) {
        snprintf(out, outlen, "; did you mean \"%s\"?", best);
    } else if (elsewhere != NULL) {
        size_t parent = key_parent_len(elsewhere);
        snprintf(out, outlen, "; \"%s\" is a key of %.*s, not of %s", leaf, (int)parent, elsewhere,
                 plen > 0 ? prefix : "the top level");
    }
}

/* ---- warnings ---------------------------------------------------------- */

static const char *group_key(const struct config *cfg, size_t g, char *out, size_t outlen)
{
    if (cfg->groups_explicit)
        snprintf(out, outlen, "groups.[%zu].backends", g);
    else
        snprintf(out, outlen, "backends");
    return out;
}

static config_setting_t *group_setting(const struct config *cfg, config_setting_t *root, size_t g)
{
    if (!cfg->groups_explicit)
        return config_setting_get_member(root, "backends");
    config_setting_t *e =
        config_setting_get_elem(config_setting_get_member(root, "groups"), (unsigned)g);
    return e != NULL ? cfg_member_or_group(e, "backends") : NULL;
}

static void lint_monitor(struct loader *ld, const struct config *cfg, config_setting_t *root)
{
    for (size_t g = 0; g < cfg->n_groups; g++) {
        if (cfg->groups[g].monitor_user[0] != '\0')
            return;
    }
    config_setting_t *m = config_setting_get_member(root, "monitor");
    cfg_warn(ld, m, "monitor.user",
             "not set: no health checks will run; every backend counts as ONLINE with its "
             "configured role, a server that is down keeps getting sessions, and no failover "
             "can happen");
}

static void lint_groups(struct loader *ld, const struct config *cfg, config_setting_t *root)
{
    char key[KEYNAME_MAX];
    for (size_t g = 0; g < cfg->n_groups; g++) {
        const struct config_group *grp = &cfg->groups[g];
        config_setting_t *s = group_setting(cfg, root, g);
        if (grp->n_members == 1)
            cfg_warn(ld, s, group_key(cfg, g, key, sizeof(key)),
                     "one backend only (\"%s\"): no replica takes reads and nothing can take "
                     "over when it fails",
                     cfg->backends[grp->members[0]].name);
        /* The failover lock needs a majority of every server configured
         * (backends and witnesses): the lost primary cannot vote. */
        size_t voters = grp->n_members + cfg->n_witnesses;
        if (grp->failover_auto && grp->n_members > 1 && voters < 3) {
            config_setting_t *fs = config_setting_get_member(root, "failover");
            cfg_warn(ld, fs != NULL ? fs : s, "failover",
                     "\"auto\" with %zu voters (backends and witnesses%s%s): once the primary "
                     "is lost the rest are no majority and no failover happens; add a witness",
                     voters, cfg->groups_explicit ? ", group " : "",
                     cfg->groups_explicit ? grp->name : "");
        }
    }
}

static void lint_duplicates(struct loader *ld, const struct config *cfg, config_setting_t *root)
{
    config_setting_t *list = config_setting_get_member(root, "backends");
    for (size_t j = 1; j < cfg->n_backends; j++) {
        const struct config_backend *b = &cfg->backends[j];
        for (size_t i = 0; i < j; i++) {
            const struct config_backend *a = &cfg->backends[i];
            if (a->port != b->port || strcasecmp(a->address, b->address) != 0)
                continue;
            char key[KEYNAME_MAX];
            config_setting_t *e = config_setting_get_elem(list, (unsigned)j);
            config_setting_t *first = config_setting_get_elem(list, (unsigned)i);
            snprintf(key, sizeof(key), "backends.[%zu]", j);
            cfg_warn(ld, e, key,
                     "\"%s\" is %s:%d, as \"%s\" (line %u) is: one server listed twice, so "
                     "its reads and its vote in the failover lock count twice",
                     b->name, b->address, b->port, a->name,
                     first != NULL ? config_setting_source_line(first) : 0);
            break;
        }
    }
}

/* A private key or a password file others may read. */
static void lint_secret_file(struct loader *ld, config_setting_t *s, const char *key,
                             const char *path, const char *what)
{
    struct stat st;
    if (path == NULL || path[0] == '\0' || stat(path, &st) != 0)
        return;
    if (st.st_mode & S_IROTH)
        cfg_warn(ld, s, key, "%s %s is readable by others (mode %04o): chmod o-r %s", what, path,
                 (unsigned)(st.st_mode & 07777), path);
}

static void lint_secrets(struct loader *ld, const struct config *cfg, config_setting_t *root)
{
    static const char *const keys[] = {"tls_key", "backend_tls_key", "auth_rsa_private_key",
                                       "replication_password_file"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(keys); i++) {
        config_setting_t *s = config_setting_get_member(root, keys[i]);
        if (s != NULL && config_setting_type(s) == CONFIG_TYPE_STRING)
            lint_secret_file(ld, s, keys[i], config_setting_get_string(s),
                             i < 3 ? "the private key" : "the password file");
    }
    config_setting_t *list = config_setting_get_member(root, "backends");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        char key[KEYNAME_MAX];
        snprintf(key, sizeof(key), "backends.[%zu].tls_key", i);
        lint_secret_file(ld, e != NULL ? config_setting_get_member(e, "tls_key") : NULL, key,
                         cfg->backends[i].tls_key, "the private key");
    }
    config_setting_t *m = config_setting_get_member(root, "monitor");
    lint_secret_file(ld, m != NULL ? config_setting_get_member(m, "password_file") : NULL,
                     "monitor.password_file", cfg->monitor.password_file, "the password file");
    config_setting_t *b = config_setting_get_member(root, "backup");
    lint_secret_file(ld, b != NULL ? config_setting_get_member(b, "password_file") : NULL,
                     "backup.password_file", cfg->backup.password_file, "the password file");
}

/* Passwords written in the file itself, in a file others may read. */
static void lint_cleartext(struct loader *ld, const struct config *cfg, config_setting_t *root)
{
    struct stat st;
    if (!ld->from_file || stat(ld->name, &st) != 0 || !(st.st_mode & S_IROTH))
        return;
    struct {
        bool set;
        config_setting_t *s;
        const char *key;
    } pw[3];
    config_setting_t *m = config_setting_get_member(root, "monitor");
    config_setting_t *b = config_setting_get_member(root, "backup");
    pw[0].set = cfg->monitor.password_clear;
    pw[0].s = m != NULL ? config_setting_get_member(m, "password") : NULL;
    pw[0].key = "monitor.password";
    pw[1].set = cfg->backup.password_clear;
    pw[1].s = b != NULL ? config_setting_get_member(b, "password") : NULL;
    pw[1].key = "backup.password";
    pw[2].set = false;
    pw[2].s = NULL;
    pw[2].key = "groups.[].monitor.password";
    char gkey[KEYNAME_MAX];
    config_setting_t *groups = config_setting_get_member(root, "groups");
    for (size_t g = 0; cfg->groups_explicit && g < cfg->n_groups && !pw[2].set; g++) {
        config_setting_t *gm =
            config_setting_get_member(config_setting_get_elem(groups, (unsigned)g), "monitor");
        config_setting_t *p = gm != NULL ? config_setting_get_member(gm, "password") : NULL;
        pw[2].set = p != NULL && config_setting_get_string(p)[0] != '\0';
        pw[2].s = p;
        snprintf(gkey, sizeof(gkey), "groups.[%zu].monitor.password", g);
        pw[2].key = gkey;
    }
    for (size_t i = 0; i < HY_ARRAY_SIZE(pw); i++) {
        if (pw[i].set)
            cfg_warn(ld, pw[i].s, pw[i].key,
                     "a password in clear text, in a file others can read (mode %04o): chmod "
                     "o-r %s, or give it in password_file",
                     (unsigned)(st.st_mode & 07777), ld->name);
    }
}

static void lint_users(struct loader *ld, const struct config *cfg, config_setting_t *root)
{
    config_setting_t *list = config_setting_get_member(root, "users");
    for (size_t i = 0; i < cfg->n_users; i++) {
        const struct config_user *u = &cfg->users[i];
        if (!u->no_password)
            continue;
        config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        char key[KEYNAME_MAX];
        snprintf(key, sizeof(key), "users.[%zu].password_hash", i);
        cfg_warn(ld, e != NULL ? config_setting_get_member(e, "password_hash") : NULL, key,
                 "\"\": user \"%s\" logs in without a password", u->name);
    }
}

static void lint_paths(struct loader *ld, const struct config *cfg, config_setting_t *root)
{
    if (!cfg->shards_xa || cfg->xa_log == NULL || cfg->xa_log[0] != '/')
        return;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", cfg->xa_log);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return;
    config_setting_t *sh = config_setting_get_member(root, "shards");
    config_setting_t *s = sh != NULL ? config_setting_get_member(sh, "xa_log") : NULL;
    cfg_warn(ld, s != NULL ? s : sh, "shards.xa_log",
             "its directory %s is not there: the first transaction across groups will fail to "
             "log its commit decision",
             dir);
}

/* The metrics listener's options are for nothing while it is off. */
static void lint_metrics(struct loader *ld, const struct config *cfg, config_setting_t *root)
{
    static const char *const keys[] = {"metrics_status_page", "metrics_auth", "metrics_tls"};
    const bool on[] = {cfg->metrics_status_page, cfg->metrics_auth, cfg->metrics_tls};
    for (size_t i = 0; i < HY_ARRAY_SIZE(keys) && cfg->metrics_port == 0; i++) {
        if (on[i])
            cfg_warn(ld, config_setting_get_member(root, keys[i]), keys[i],
                     "metrics_port is 0: no listener serves it");
    }
}

void cfg_lint(struct loader *ld, const struct config *cfg, config_setting_t *root)
{
    lint_metrics(ld, cfg, root);
    lint_monitor(ld, cfg, root);
    lint_groups(ld, cfg, root);
    lint_duplicates(ld, cfg, root);
    lint_secrets(ld, cfg, root);
    lint_cleartext(ld, cfg, root);
    lint_users(ld, cfg, root);
    lint_paths(ld, cfg, root);
}
