/*
 * config.c: load and validate halyard.conf against the key table.
 *
 * config_keys[] (config_keys.c) declares every key once. Loading has three
 * steps:
 *
 *  1. libconfig parses the text into a tree; a syntax error stops here with
 *     libconfig's own line and message. Before that, prescan() works around
 *     two faults of libconfig 1.5 (Debian 12): it reads a plain integer
 *     literal with atoi(), so "port = 4294970602" would silently become 3306
 *     (prescan gives literals past 32 bits an "L" suffix, and the bounds check
 *     then sees the real value); and an @include of a directory makes its
 *     scanner call exit(), which a SIGHUP reload must never do (prescan
 *     refuses @include: the configuration is one file).
 *     libconfig 1.5 also leaks a string token on some syntax errors (fixed
 *     upstream in 1.7.3); nothing here can free it, it is a few bytes per
 *     failed load.
 *  2. check_group() walks every group of the tree (the root, then each
 *     element of each list) against the keys the table declares under that
 *     group's path: unknown keys, wrong types, values out of bounds, strings
 *     not among the allowed words, missing required keys. The table alone
 *     drives this step.
 *  3. The fill_*() functions copy the now known-good values, or the table's
 *     defaults, into struct config, and check the rules that span several
 *     keys: unique names, exactly one primary, password hashes that parse.
 *
 * Every failure writes one "FILE:LINE: KEY: why" line to the caller's buffer
 * and unwinds; nothing aborts, and a half-built config is freed.
 */
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "halyard/core/text.h"
#include "halyard/protocol/auth.h"
#include "halyard/sql/classify.h"
#include "halyard/config/config.h"
#include "halyard/config/group.h"
#include "halyard/core/events.h"
#include "halyard/core/log.h"
#include "halyard/core/textbuf.h"
#include "halyard/config/rules.h"
#include "halyard/protocol/tls.h"
#include "config_int.h"

/* Longer texts than this are refused before parsing (a config is a few KiB). */
#define CONFIG_MAX_TEXT (16u << 20)

/* ---- messages ---------------------------------------------------------- */

/* Record "FILE:LINE: KEY: why" (config_check.c: the first error also goes
 * to the caller's buffer), leaving out LINE when it is 0 and KEY when it
 * is NULL. Always returns HY_ERROR. */
static hy_status_t vfail(struct loader *ld, unsigned line, const char *key, const char *fmt,
                         va_list ap)
{
    char msg[1536];
    int n;
    if (line > 0)
        n = snprintf(msg, sizeof(msg), "%s:%u: ", ld->name, line);
    else
        n = snprintf(msg, sizeof(msg), "%s: ", ld->name);
    if (n >= 0 && (size_t)n < sizeof(msg) && key != NULL)
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s: ", key);
    if (n >= 0 && (size_t)n < sizeof(msg))
        vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    cfg_report_add(ld, false, line, msg);
    return HY_ERROR;
}

/* An error about setting `s` (NULL: about the whole file). The root group
 * has no line, so a missing top-level key gets none. */
hy_status_t cfg_fail(struct loader *ld, const config_setting_t *s, const char *key, const char *fmt,
                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(ld, s != NULL ? config_setting_source_line(s) : 0, key, fmt, ap);
    va_end(ap);
    return HY_ERROR;
}

/* An error at a line of the text, about no particular key. */
static hy_status_t fail_line(struct loader *ld, int line, const char *fmt, ...) HY_PRINTF(3, 4);

static hy_status_t fail_line(struct loader *ld, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(ld, line > 0 ? (unsigned)line : 0, NULL, fmt, ap);
    va_end(ap);
    return HY_ERROR;
}

/* A user-supplied string made safe to echo in a one-line message: at most
 * 40 bytes, non-printable bytes shown as '?'. */
const char *cfg_printable(const char *s, char out[48])
{
    size_t i = 0;
    for (; s[i] != '\0' && i < 40; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i] != '\0') {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

static const char *setting_type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP:
        return "a group { ... }";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a float";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array [ ... ]";
    case CONFIG_TYPE_LIST:
        return "a list ( ... )";
    }
    return "nothing";
}

static const char *key_type_expected(enum config_type type)
{
    switch (type) {
    case CONFIG_INT:
        return "an integer";
    case CONFIG_STRING:
        return "a string";
    case CONFIG_BOOL:
        return "a boolean (true or false)";
    case CONFIG_LIST:
        return "a list of groups ( { ... }, ... )";
    case CONFIG_GROUP:
        return "a group { ... }";
    case CONFIG_STRINGS:
        return "an array of strings [ \"...\", ... ]";
    case CONFIG_INT_OR_STRING:
        return "an integer or a string";
    }
    return "?";
}

static bool type_matches(enum config_type want, int have)
{
    switch (want) {
    case CONFIG_INT:
        return have == CONFIG_TYPE_INT || have == CONFIG_TYPE_INT64;
    case CONFIG_STRING:
        return have == CONFIG_TYPE_STRING;
    case CONFIG_BOOL:
        return have == CONFIG_TYPE_BOOL;
    case CONFIG_LIST:
        return have == CONFIG_TYPE_LIST;
    case CONFIG_GROUP:
        return have == CONFIG_TYPE_GROUP;
    case CONFIG_STRINGS:
        return have == CONFIG_TYPE_ARRAY;
    case CONFIG_INT_OR_STRING:
        return have == CONFIG_TYPE_INT || have == CONFIG_TYPE_INT64 || have == CONFIG_TYPE_STRING;
    }
    return false;
}

/* ---- the table --------------------------------------------------------- */

/* The leaf of a path: "port" for "backends.[].port". */
const char *cfg_key_leaf(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot != NULL ? dot + 1 : path;
}

/* Is `path` a direct child of the group whose table path is `prefix` ("" for
 * the root)? */
static bool key_is_child(const char *path, const char *prefix)
{
    size_t plen = strlen(prefix);
    if (plen == 0)
        return strchr(path, '.') == NULL;
    return strncmp(path, prefix, plen) == 0 && path[plen] == '.' &&
           strchr(path + plen + 1, '.') == NULL;
}

static const struct config_key *key_by_path(const char *path)
{
    for (size_t i = 0; i < config_n_keys; i++) {
        if (strcmp(config_keys[i].path, path) == 0)
            return &config_keys[i];
    }
    return NULL;
}

static const struct config_key *key_find(const char *prefix, const char *leaf)
{
    for (size_t i = 0; i < config_n_keys; i++) {
        const struct config_key *k = &config_keys[i];
        if (key_is_child(k->path, prefix) && strcmp(cfg_key_leaf(k->path), leaf) == 0)
            return k;
    }
    return NULL;
}

static bool choice_ok(const char *choices, const char *value)
{
    size_t vlen = strlen(value);
    for (const char *p = choices;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (len == vlen && strncmp(p, value, len) == 0)
            return true;
        if (bar == NULL)
            return false;
        p = bar + 1;
    }
}

/* ---- step 1: the libconfig parse --------------------------------------- */

/* Copy `text` to *out (the caller frees it) for libconfig, giving every
 * integer literal outside strings and comments that does not fit in 32 bits
 * an "L" suffix so libconfig reads it as 64 bits. Characters are only added
 * within a line, so line numbers stay true. Refuses @include. */
static hy_status_t prescan(struct loader *ld, const char *text, char **out)
{
    size_t len = strlen(text);
    /* An oversized literal has at least 10 characters and gains one. */
    char *buf = malloc(len + len / 10 + 2);
    if (buf == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    const char *p = text;
    char *o = buf;
    int line = 1;
    while (*p != '\0') {
        if (*p == '\n')
            line++;
        if (strncmp(p, "@include", 8) == 0) {
            free(buf);
            return fail_line(ld, line,
                             "@include is not supported; keep the configuration in "
                             "one file");
        } else if (*p == '"') { /* string: copy through the closing quote */
            *o++ = *p++;
            while (*p != '\0' && *p != '"') {
                if (*p == '\\' && p[1] != '\0')
                    *o++ = *p++;
                line += *p == '\n';
                *o++ = *p++;
            }
            if (*p == '"')
                *o++ = *p++;
        } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
            while (*p != '\0' && *p != '\n')
                *o++ = *p++;
        } else if (p[0] == '/' && p[1] == '*') {
            *o++ = *p++;
            *o++ = *p++;
            while (*p != '\0' && !(p[0] == '*' && p[1] == '/')) {
                line += *p == '\n';
                *o++ = *p++;
            }
        } else if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '*') {
            /* a setting name (may contain digits) or true/false */
            while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                   (*p >= '0' && *p <= '9') || *p == '*' || *p == '-' || *p == '_')
                *o++ = *p++;
        } else if ((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')) {
            /* a number token: digits, letters, dots, and a sign after an exponent */
            const char *start = p;
            bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
            while ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= 'a' && *p <= 'z') || *p == '.' || *p == '_' ||
                   ((*p == '+' || *p == '-') && !hex && (p[-1] == 'e' || p[-1] == 'E')))
                p++;
            size_t tlen = (size_t)(p - start);
            memcpy(o, start, tlen);
            o += tlen;
            size_t digits = hex ? tlen - 2 : tlen;
            const char *d = hex ? start + 2 : start;
            bool plain = digits > 0;
            for (size_t i = 0; i < digits && plain; i++) {
                char c = d[i];
                plain = (c >= '0' && c <= '9') ||
                        (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
            }
            uint64_t v;
            if (plain && !(hex ? hy_parse_x64(d, digits, 0x7fffffff, &v)
                               : hy_parse_u64(d, digits, 0x7fffffff, &v)))
                *o++ = 'L';
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    *out = buf;
    return HY_OK;
}

/* ---- step 2: check the tree against the table -------------------------- */

static hy_status_t check_value(struct loader *ld, const struct config_key *k, config_setting_t *s,
                               const char *kname)
{
    int type = config_setting_type(s);
    if (!type_matches(k->type, type))
        return cfg_fail(ld, s, kname, "expected %s, got %s", key_type_expected(k->type),
                        setting_type_name(type));

    switch (k->type) {
    case CONFIG_INT_OR_STRING:
        if (type == CONFIG_TYPE_STRING)
            break;
        /* fall through */
    case CONFIG_INT: {
        long long v = config_setting_get_int64(s);
        if (k->max > 0 && (v < k->min || v > k->max))
            return cfg_fail(ld, s, kname, "%lld is out of range %lld..%lld", v, k->min, k->max);
        break;
    }
    case CONFIG_STRING: {
        const char *v = config_setting_get_string(s);
        size_t len = strlen(v);
        char shown[48];
        if (k->max > 0 && (len < (size_t)k->min || len > (size_t)k->max))
            return cfg_fail(ld, s, kname, "length %zu is out of range %lld..%lld", len, k->min,
                            k->max);
        if (k->choices != NULL && !choice_ok(k->choices, v))
            return cfg_fail(ld, s, kname, "\"%s\" is not one of %s", cfg_printable(v, shown),
                            k->choices);
        break;
    }
    case CONFIG_LIST: {
        int n = config_setting_length(s);
        if (k->max > 0 && n < k->min)
            return cfg_fail(ld, s, kname, "has %d element%s, at least %lld required", n,
                            n == 1 ? "" : "s", k->min);
        if (k->max > 0 && n > k->max)
            return cfg_fail(ld, s, kname, "has %d elements, at most %lld allowed", n, k->max);
        break;
    }
    case CONFIG_STRINGS: {
        int n = config_setting_length(s);
        if (k->max > 0 && (n < k->min || n > k->max))
            return cfg_fail(ld, s, kname, "has %d element%s, %lld..%lld allowed", n,
                            n == 1 ? "" : "s", k->min, k->max);
        for (int i = 0; i < n; i++) {
            config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_STRING)
                return cfg_fail(ld, e, kname, "element %d: expected a string, got %s", i,
                                setting_type_name(config_setting_type(e)));
            size_t len = strlen(config_setting_get_string(e));
            if (len < 1 || len > CONFIG_STRING_ELEM_MAX)
                return cfg_fail(ld, e, kname, "element %d: length %zu is out of range 1..%u", i,
                                len, CONFIG_STRING_ELEM_MAX);
        }
        break;
    }
    case CONFIG_BOOL:
    case CONFIG_GROUP:
        break;
    }
    return HY_OK;
}

/* Check the members of group `g` against the keys under table path `tpath`
 * ("" for the root, "backends.[]" for an element); `dpath` is the same path
 * as messages show it ("backends.[1]"). Recurses into lists and groups, at
 * most as deep as the table goes. Goes on past errors, so that one run
 * reports them all; sets *fatal on any but an unknown key (which step 3
 * never reads, so it can still run). */
static hy_status_t check_group(struct loader *ld, config_setting_t *g, const char *tpath,
                               const char *dpath, bool *fatal)
{
    char kname[KEYNAME_MAX];
    hy_status_t rc = HY_OK;
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *leaf = config_setting_name(s);
        snprintf(kname, sizeof(kname), "%s%s%s", dpath, *dpath ? "." : "", leaf);
        const struct config_key *k = key_find(tpath, leaf);
        if (k == NULL) {
            char hint[KEYNAME_MAX + 64];
            cfg_suggest_key(tpath, leaf, hint, sizeof(hint));
            rc = cfg_fail(ld, s, kname, "unknown key%s", hint);
            continue;
        }
        if (check_value(ld, k, s, kname) != HY_OK) {
            rc = HY_ERROR;
            *fatal = true;
            continue;
        }
        if (k->type == CONFIG_GROUP && check_group(ld, s, k->path, kname, fatal) != HY_OK)
            rc = HY_ERROR;
        if (k->type == CONFIG_LIST) {
            char etpath[KEYNAME_MAX], edpath[KEYNAME_MAX + 16];
            snprintf(etpath, sizeof(etpath), "%s.[]", k->path);
            int m = config_setting_length(s);
            for (int j = 0; j < m; j++) {
                config_setting_t *e = config_setting_get_elem(s, (unsigned)j);
                snprintf(edpath, sizeof(edpath), "%s.[%d]", kname, j);
                if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
                    rc = cfg_fail(ld, e, edpath, "expected a group { ... }, got %s",
                                  setting_type_name(config_setting_type(e)));
                    *fatal = true;
                } else if (check_group(ld, e, etpath, edpath, fatal) != HY_OK) {
                    rc = HY_ERROR;
                }
            }
        }
    }

    for (size_t i = 0; i < config_n_keys; i++) {
        const struct config_key *k = &config_keys[i];
        if (k->def != NULL || !key_is_child(k->path, tpath))
            continue;
        const char *leaf = cfg_key_leaf(k->path);
        if (config_setting_get_member(g, leaf) == NULL) {
            snprintf(kname, sizeof(kname), "%s%s%s", dpath, *dpath ? "." : "", leaf);
            rc = cfg_fail(ld, g, kname, "required key is missing");
            *fatal = true;
        }
    }
    return rc;
}

/* ---- step 3: fill struct config ---------------------------------------- */

/* check_value() has already held the text to the key's choices. */
static enum consistency consistency_parse(const char *v)
{
    if (strcmp(v, "eventual") == 0)
        return CONSISTENCY_EVENTUAL;
    if (strcmp(v, "causal") == 0)
        return CONSISTENCY_CAUSAL;
    if (strcmp(v, "strong") == 0)
        return CONSISTENCY_STRONG;
    if (strcmp(v, "global") == 0)
        return CONSISTENCY_GLOBAL;
    return CONSISTENCY_DEFAULT;
}

const char *consistency_to_str(enum consistency c)
{
    switch (c) {
    case CONSISTENCY_EVENTUAL:
        return "eventual";
    case CONSISTENCY_CAUSAL:
        return "causal";
    case CONSISTENCY_STRONG:
        return "strong";
    case CONSISTENCY_GLOBAL:
        return "global";
    case CONSISTENCY_DEFAULT:
        break;
    }
    return "default";
}

/* The value of key `path` in a group that check_group() accepted, or the
 * table's default when the group leaves it out. check_group() guarantees a
 * required key is present, so the default is only read for keys that have
 * one; `path` must be in the table (unit tests load every key). */
long long cfg_get_int(config_setting_t *g, const char *path)
{
    config_setting_t *s = g != NULL ? config_setting_get_member(g, cfg_key_leaf(path)) : NULL;
    if (s != NULL)
        return config_setting_get_int64(s);
    int64_t v;
    const char *def = key_by_path(path)->def;
    if (!hy_str_i64(def, INT64_MIN, INT64_MAX, &v)) { /* a bug in the key table */
        hy_log_error("config: the default of %s, \"%s\", is not an integer: 0", path,
                     def != NULL ? def : "NULL");
        return 0;
    }
    return v;
}

const char *cfg_get_str(config_setting_t *g, const char *path)
{
    config_setting_t *s = g != NULL ? config_setting_get_member(g, cfg_key_leaf(path)) : NULL;
    if (s != NULL)
        return config_setting_get_string(s);
    return key_by_path(path)->def;
}

bool cfg_get_bool(config_setting_t *g, const char *path)
{
    config_setting_t *s = g != NULL ? config_setting_get_member(g, cfg_key_leaf(path)) : NULL;
    if (s != NULL)
        return config_setting_get_bool(s) != 0;
    return strcmp(key_by_path(path)->def, "true") == 0;
}

/* An array of strings (check_value() held it to its bounds); left out is
 * empty. */
hy_status_t cfg_dup_strings(struct loader *ld, struct config_strings *dst, config_setting_t *g,
                            const char *path)
{
    config_setting_t *s = config_setting_get_member(g, cfg_key_leaf(path));
    dst->v = NULL;
    dst->n = 0;
    int n = s != NULL ? config_setting_length(s) : 0;
    if (n == 0)
        return HY_OK;
    dst->v = calloc((size_t)n, sizeof(*dst->v));
    if (dst->v == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        dst->v[i] = strdup(config_setting_get_string(config_setting_get_elem(s, (unsigned)i)));
        if (dst->v[i] == NULL)
            return cfg_fail(ld, NULL, NULL, "out of memory");
        dst->n++;
    }
    return HY_OK;
}

static void strings_free(struct config_strings *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        free(ss->v[i]);
    free(ss->v);
    ss->v = NULL;
    ss->n = 0;
}

void cfg_free_who(struct config_who *w)
{
    free(w->user);
    strings_free(&w->users);
    free(w->schema);
    free(w->client);
    free(w->listener);
}

hy_status_t cfg_dup_str(struct loader *ld, char **dst, config_setting_t *g, const char *path)
{
    *dst = strdup(cfg_get_str(g, path));
    if (*dst == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    return HY_OK;
}

/* Element `i` of `list` must not reuse the name of an earlier one: the
 * message points at the second and names the line of the first. */
hy_status_t cfg_check_unique_name(struct loader *ld, config_setting_t *list, int i,
                                  const char *what, const char *lname)
{
    config_setting_t *s =
        config_setting_get_member(config_setting_get_elem(list, (unsigned)i), "name");
    const char *name = config_setting_get_string(s);
    for (int j = 0; j < i; j++) {
        config_setting_t *t =
            config_setting_get_member(config_setting_get_elem(list, (unsigned)j), "name");
        if (strcmp(config_setting_get_string(t), name) == 0) {
            char kname[KEYNAME_MAX], shown[48];
            snprintf(kname, sizeof(kname), "%s.[%d].name", lname, i);
            return cfg_fail(ld, s, kname, "duplicate %s name \"%s\" (first defined at line %u)",
                            what, cfg_printable(name, shown), config_setting_source_line(t));
        }
    }
    return HY_OK;
}

/* An optional string of a rule: NULL when left out or "". */
hy_status_t cfg_dup_opt(struct loader *ld, char **dst, config_setting_t *g, const char *path)
{
    const char *v = cfg_get_str(g, path);
    *dst = NULL;
    if (v[0] == '\0')
        return HY_OK;
    *dst = strdup(v);
    if (*dst == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    return HY_OK;
}

/* Parse the CIDRs of `strs` (the key `leaf` of element i of `kind`, e.g.
 * "users", "allow") into a new array *out. */
static hy_status_t parse_cidrs(struct loader *ld, config_setting_t *g, const char *kind, int i,
                               const char *leaf, const struct config_strings *strs,
                               struct config_cidr **out)
{
    char kname[KEYNAME_MAX], why[256], shown[48];
    *out = NULL;
    if (strs->n == 0)
        return HY_OK;
    *out = calloc(strs->n, sizeof(**out));
    if (*out == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    for (size_t j = 0; j < strs->n; j++) {
        if (rules_cidr_parse(strs->v[j], &(*out)[j], why, sizeof(why)) != HY_OK) {
            snprintf(kname, sizeof(kname), "%s.[%d].%s", kind, i, leaf);
            return cfg_fail(ld, config_setting_get_member(g, leaf), kname, "\"%s\": %s",
                            cfg_printable(strs->v[j], shown), why);
        }
    }
    return HY_OK;
}

/* The name (unique in the list), address and port every listener, backend
 * and witness has: element `i` of `list` (`lname`, e.g. "backends"). */
/* fence_cut_off_primary against the zone just read (config.fence_cut_off);
 * true, to sit in the chain of steps. */
static bool fence_cut_off_resolve(struct config *cfg)
{
    cfg->fence_cut_off = cfg->fence_cut_off_mode == FENCE_CUT_OFF_ALWAYS ||
                         (cfg->fence_cut_off_mode == FENCE_CUT_OFF_WITH_ZONES &&
                          cfg->zone != NULL && cfg->zone[0] != '\0');
    return true;
}

hy_status_t cfg_fill_endpoint(struct loader *ld, config_setting_t *list, int i, const char *what,
                              const char *lname, char **name, char **address, int *port)
{
    config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    char path[KEYNAME_MAX];
    if (cfg_check_unique_name(ld, list, i, what, lname) != HY_OK)
        return HY_ERROR;
    snprintf(path, sizeof(path), "%s.[].name", lname);
    if (cfg_dup_str(ld, name, g, path) != HY_OK)
        return HY_ERROR;
    snprintf(path, sizeof(path), "%s.[].address", lname);
    if (cfg_dup_str(ld, address, g, path) != HY_OK)
        return HY_ERROR;
    snprintf(path, sizeof(path), "%s.[].port", lname);
    *port = (int)cfg_get_int(g, path);
    return HY_OK;
}

static hy_status_t fill_listeners(struct loader *ld, struct config *cfg, config_setting_t *list)
{
    int n = config_setting_length(list);
    cfg->listeners = calloc((size_t)n, sizeof(*cfg->listeners));
    if (cfg->listeners == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct config_listener *l = &cfg->listeners[i];
        cfg->n_listeners++;
        if (cfg_fill_endpoint(ld, list, i, "listener", "listeners", &l->name, &l->address,
                              &l->port) != HY_OK)
            return HY_ERROR;
        config_setting_t *ps = config_setting_get_member(g, "port");
        l->line = (int)config_setting_source_line(ps != NULL ? ps : g);
        l->backlog = (int)cfg_get_int(g, "listeners.[].backlog");
        l->consistency = consistency_parse(cfg_get_str(g, "listeners.[].consistency"));
        l->require_tls = cfg_get_bool(g, "listeners.[].require_tls");
        if (cfg_dup_strings(ld, &l->users, g, "listeners.[].users") != HY_OK ||
            cfg_dup_strings(ld, &l->proxy_protocol_from, g, "listeners.[].proxy_protocol_from") !=
                HY_OK ||
            parse_cidrs(ld, g, "listeners", i, "proxy_protocol_from", &l->proxy_protocol_from,
                        &l->proxy_from) != HY_OK)
            return HY_ERROR;
    }
    return HY_OK;
}

/* After users: a listener's users must be among them. */
static hy_status_t check_listener_users(struct loader *ld, struct config *cfg,
                                        config_setting_t *list)
{
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const struct config_strings *us = &cfg->listeners[i].users;
        for (size_t j = 0; j < us->n; j++) {
            if (config_find_user(cfg, us->v[j], strlen(us->v[j])) != NULL)
                continue;
            char kname[KEYNAME_MAX], shown[48];
            config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
            snprintf(kname, sizeof(kname), "listeners.[%zu].users", i);
            return cfg_fail(ld, config_setting_get_member(g, "users"), kname,
                            "no user \"%s\" in users", cfg_printable(us->v[j], shown));
        }
    }
    return HY_OK;
}

static int hash_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* "0123456789abcdef": a digest hash as show digests prints it. */
static bool parse_digest_hash(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (strlen(s) != 16)
        return false;
    for (size_t i = 0; i < 16; i++) {
        int d = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
                : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                : s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10
                                             : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return true;
}

/* A user's access control and firewall keys. */
static hy_status_t fill_user_access(struct loader *ld, config_setting_t *g, int i,
                                    struct config_user *u)
{
    if (cfg_dup_strings(ld, &u->allow, g, "users.[].allow") != HY_OK ||
        cfg_dup_strings(ld, &u->firewall_allow, g, "users.[].firewall_allow") != HY_OK)
        return HY_ERROR;
    u->max_connections = (int)cfg_get_int(g, "users.[].max_connections");
    u->exempt = cfg_get_bool(g, "users.[].exempt");
    if (parse_cidrs(ld, g, "users", i, "allow", &u->allow, &u->allow_net) != HY_OK)
        return HY_ERROR;
    const char *fw = cfg_get_str(g, "users.[].firewall");
    u->firewall = strcmp(fw, "learn") == 0     ? FIREWALL_LEARN
                  : strcmp(fw, "enforce") == 0 ? FIREWALL_ENFORCE
                                               : FIREWALL_OFF;
    if (u->firewall_allow.n > 0) {
        u->fw_hashes = calloc(u->firewall_allow.n, sizeof(*u->fw_hashes));
        if (u->fw_hashes == NULL)
            return cfg_fail(ld, NULL, NULL, "out of memory");
    }
    for (size_t j = 0; j < u->firewall_allow.n; j++) {
        const char *e = u->firewall_allow.v[j];
        uint64_t h;
        if (!parse_digest_hash(e, &h)) /* a digest: hash it as the sessions will */
            h = classify_digest(e, strlen(e), 0, NULL, 0, NULL);
        u->fw_hashes[u->n_fw_hashes++] = h;
    }
    if (u->n_fw_hashes > 1)
        qsort(u->fw_hashes, u->n_fw_hashes, sizeof(*u->fw_hashes), hash_cmp);
    return HY_OK;
}

static hy_status_t fill_users(struct loader *ld, struct config *cfg, config_setting_t *list)
{
    int n = list != NULL ? config_setting_length(list) : 0;
    if (n == 0 && cfg->users_source == USERS_CONFIG)
        return cfg_fail(ld, list, "users",
                        "no user: list at least one, or set users_source = \"backends\"");
    cfg->users = calloc(n > 0 ? (size_t)n : 1, sizeof(*cfg->users));
    if (cfg->users == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct config_user *u = &cfg->users[i];
        cfg->n_users++;
        if (cfg_check_unique_name(ld, list, i, "user", "users") != HY_OK ||
            cfg_dup_str(ld, &u->name, g, "users.[].name") != HY_OK)
            return HY_ERROR;
        u->consistency = consistency_parse(cfg_get_str(g, "users.[].consistency"));
        u->require_tls = cfg_get_bool(g, "users.[].require_tls");
        if (cfg_dup_opt(ld, &u->tls_subject, g, "users.[].tls_subject") != HY_OK)
            return HY_ERROR;
        if (fill_user_access(ld, g, i, u) != HY_OK)
            return HY_ERROR;
        if (auth_sha2_hash_parse(cfg_get_str(g, "users.[].sha2_hash"), u->s2, &u->has_s2) !=
            HY_OK) {
            char kname[KEYNAME_MAX];
            snprintf(kname, sizeof(kname), "users.[%d].sha2_hash", i);
            return cfg_fail(ld, config_setting_get_member(g, "sha2_hash"), kname,
                            "not a caching_sha2_password hash: expected 64 hex digits, "
                            "SHA256(SHA256(password)), or \"\"");
        }
        /* The hash is not echoed: it is as good as the password for anyone
         * who also sees one login exchange. */
        if (auth_hash_parse(cfg_get_str(g, "users.[].password_hash"), u->h2, &u->no_password) !=
            HY_OK) {
            char kname[KEYNAME_MAX];
            snprintf(kname, sizeof(kname), "users.[%d].password_hash", i);
            return cfg_fail(ld, config_setting_get_member(g, "password_hash"), kname,
                            "not a password hash: expected \"*\" and 40 hex digits (as "
                            "PASSWORD() returns), or \"\" for no password");
        }
    }
    return HY_OK;
}

/* ---- TLS ----------------------------------------------------------------- */

/* The RSA key pair for caching_sha2_password's key exchange. */
static hy_status_t fill_rsa(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    char why[320];
    if (cfg_dup_str(ld, &cfg->auth_rsa_private_key, root, "auth_rsa_private_key") != HY_OK ||
        cfg_dup_str(ld, &cfg->auth_rsa_public_key, root, "auth_rsa_public_key") != HY_OK)
        return HY_ERROR;
    if (cfg->auth_rsa_private_key[0] == '\0') {
        if (cfg->auth_rsa_public_key[0] != '\0')
            return cfg_fail(ld, config_setting_get_member(root, "auth_rsa_public_key"),
                            "auth_rsa_public_key", "needs auth_rsa_private_key");
        return HY_OK;
    }
    hy_status_t rc = auth_rsa_load(cfg->auth_rsa_private_key, cfg->auth_rsa_public_key, &cfg->rsa,
                                   why, sizeof(why));
    if (rc == HY_NOMEM)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    if (rc != HY_OK) {
        bool pub = strncmp(why, "public", 6) == 0;
        const char *key = pub ? "auth_rsa_public_key" : "auth_rsa_private_key";
        return cfg_fail(ld, config_setting_get_member(root, key), key, "%s", why);
    }
    return HY_OK;
}

/* admin_socket with its first "{port}" replaced by the first listener's
 * port. A port has at most 5 digits, so the path only gets shorter and the
 * length bound of the key (a sockaddr_un path) still holds. */
static hy_status_t fill_admin_socket(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    const char *v = cfg_get_str(root, "admin_socket");
    const char *mark = strstr(v, "{port}");
    char path[128];
    if (mark != NULL)
        snprintf(path, sizeof(path), "%.*s%d%s", (int)(mark - v), v, cfg->listeners[0].port,
                 mark + 6);
    else
        snprintf(path, sizeof(path), "%s", v);
    cfg->admin_socket = strdup(path);
    cfg->admin_socket_default = config_setting_get_member(root, "admin_socket") == NULL;
    if (cfg->admin_socket == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    return HY_OK;
}

/* The parts of struct config filled after the scalars, in this order. A
 * part runs unless a part it reads failed, so that one load reports the
 * errors of every part it can; a half-built config is freed as always. */
enum fill_part {
    PART_LISTENERS,
    PART_ADMIN_SOCKET,
    PART_USERS,
    PART_LISTENER_USERS,
    PART_RSA,
    PART_BACKENDS,
    PART_TLS_SERVER,
    PART_TLS_BACKENDS,
    PART_RULES,
    PART_LIMITS,
    PART_WITNESSES,
    PART_REPLICATION,
    PART_MONITOR,
    PART_ALERTS,
    PART_INSTANCE_NAME,
    PART_BACKUP,
    PART_CACHE,
    PART_USERS_SOURCE,
    PART_GROUPS,
    PART_ADMIN_SQL,
    PART_N,
};

#define NEEDS(p) (1u << (p))

/* What each part reads of the parts before it. */
static const unsigned part_needs[PART_N] = {
    [PART_ADMIN_SOCKET] = NEEDS(PART_LISTENERS),
    [PART_LISTENER_USERS] = NEEDS(PART_LISTENERS) | NEEDS(PART_USERS),
    [PART_TLS_SERVER] = NEEDS(PART_LISTENERS) | NEEDS(PART_USERS),
    [PART_TLS_BACKENDS] = NEEDS(PART_BACKENDS),
    [PART_RULES] = NEEDS(PART_USERS) | NEEDS(PART_BACKENDS),
    [PART_LIMITS] = NEEDS(PART_USERS) | NEEDS(PART_LISTENERS),
    [PART_WITNESSES] = NEEDS(PART_BACKENDS),
    [PART_INSTANCE_NAME] = NEEDS(PART_LISTENERS), /* the first listener's port */
    [PART_BACKUP] = NEEDS(PART_INSTANCE_NAME),    /* server_id: from instance_name */
    [PART_CACHE] = NEEDS(PART_RULES) | NEEDS(PART_BACKUP) | NEEDS(PART_MONITOR),
    [PART_USERS_SOURCE] = NEEDS(PART_MONITOR),
    [PART_GROUPS] = NEEDS(PART_GROUPS) - 1u, /* all of them */
};

static hy_status_t fill_part(struct loader *ld, struct config *cfg, config_setting_t *root,
                             enum fill_part part)
{
    config_setting_t *groups = config_setting_get_member(root, "groups");
    switch (part) {
    case PART_LISTENERS:
        return fill_listeners(ld, cfg, config_setting_get_member(root, "listeners"));
    case PART_ADMIN_SOCKET:
        return fill_admin_socket(ld, cfg, root);
    case PART_ADMIN_SQL:
        return cfg_fill_admin_sql(ld, cfg, root);
    case PART_USERS:
        return fill_users(ld, cfg, config_setting_get_member(root, "users"));
    case PART_LISTENER_USERS:
        return check_listener_users(ld, cfg, config_setting_get_member(root, "listeners"));
    case PART_RSA:
        return fill_rsa(ld, cfg, root);
    case PART_BACKENDS:
        return cfg_fill_backends(ld, cfg, config_setting_get_member(root, "backends"),
                                 groups != NULL && config_setting_length(groups) > 0);
    case PART_TLS_SERVER:
        return cfg_fill_tls_server(ld, cfg, root);
    case PART_TLS_BACKENDS:
        return cfg_fill_tls_backends(ld, cfg, root, config_setting_get_member(root, "backends"));
    case PART_RULES:
        return cfg_fill_rules(ld, cfg, config_setting_get_member(root, "rules"));
    case PART_LIMITS:
        return cfg_fill_limits(ld, cfg, config_setting_get_member(root, "limits"));
    case PART_WITNESSES:
        return cfg_fill_witnesses(ld, cfg, config_setting_get_member(root, "witnesses"));
    case PART_REPLICATION:
        return cfg_fill_replication(ld, cfg, root);
    case PART_MONITOR:
        return cfg_fill_monitor(ld, cfg, config_setting_get_member(root, "monitor"));
    case PART_ALERTS:
        return cfg_fill_alerts(ld, cfg, root);
    case PART_INSTANCE_NAME:
        return cfg_fill_instance_name(ld, cfg, root);
    case PART_BACKUP:
        return cfg_fill_backup(ld, cfg, root);
    case PART_CACHE:
        return cfg_fill_cache(ld, cfg, root);
    case PART_USERS_SOURCE:
        if (cfg->users_source != USERS_CONFIG && cfg->monitor.user[0] == '\0')
            return cfg_fail(ld, config_setting_get_member(root, "users_source"), "users_source",
                            "reading the accounts from the primary needs an account to read "
                            "them as: set monitor.user");
        return HY_OK;
    case PART_GROUPS:
        return cfg_fill_groups(ld, cfg, root);
    case PART_N:
        break;
    }
    return HY_ERROR;
}

static hy_status_t fill_parts(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    unsigned failed = 0;
    for (int p = 0; p < PART_N; p++) {
        if ((part_needs[p] & failed) != 0 || fill_part(ld, cfg, root, (enum fill_part)p) != HY_OK)
            failed |= NEEDS(p);
    }
    return failed == 0 ? HY_OK : HY_ERROR;
}

static hy_status_t fill_config(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    cfg->fd_warn_pct = (int)cfg_get_int(root, "fd_warn_pct");
    cfg->worker_stall_ms = (int)cfg_get_int(root, "worker_stall_ms");
    long long workers = cfg_get_int(root, "workers");
    if (workers == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        workers = cores < 1 ? 1 : HY_MIN(cores, 256);
    }
    cfg->workers = (int)workers;
    cfg->log_level = (enum log_level)log_level_parse(cfg_get_str(root, "log_level"));
    cfg->connect_timeout_ms = (int)cfg_get_int(root, "connect_timeout_ms");
    cfg->dns_refresh_ms = (int)cfg_get_int(root, "dns_refresh_ms");
    cfg->login_timeout_ms = (int)cfg_get_int(root, "login_timeout_ms");
    cfg->shutdown_timeout_ms = (int)cfg_get_int(root, "shutdown_timeout_ms");
    cfg->buffer_size = (int)cfg_get_int(root, "buffer_size");
    cfg->max_client_connections = (int)cfg_get_int(root, "max_client_connections");
    cfg->max_prepared_statements = (int)cfg_get_int(root, "max_prepared_statements");
    cfg->max_packet_size = (int)cfg_get_int(root, "max_packet_size");
    cfg->client_idle_timeout_ms = (int)cfg_get_int(root, "client_idle_timeout_ms");
    cfg->backend_read_timeout_ms = (int)cfg_get_int(root, "backend_read_timeout_ms");
    cfg->retry_primary_reads = cfg_get_bool(root, "retry_primary_reads");
    cfg->retry_buffer_size = (uint32_t)cfg_get_int(root, "retry_buffer_size");
    cfg->transaction_replay = cfg_get_bool(root, "transaction_replay");
    cfg->resolve_in_flight_writes = cfg_get_bool(root, "resolve_in_flight_writes");
    cfg->replay_max_size = (uint32_t)cfg_get_int(root, "replay_max_size");
    cfg->replay_timeout_ms = (int)cfg_get_int(root, "replay_timeout_ms");
    cfg->replay_result_only = strcmp(cfg_get_str(root, "replay_checksum"), "result_only") == 0;
    cfg->default_sha2 =
        strcmp(cfg_get_str(root, "default_auth_plugin"), "caching_sha2_password") == 0;
    cfg->pool_transaction = strcmp(cfg_get_str(root, "pool_mode"), "transaction") == 0;
    cfg->pool_idle_timeout_ms = (int)cfg_get_int(root, "pool_idle_timeout_ms");
    cfg->pool_max_age_ms = (int)cfg_get_int(root, "pool_max_age_ms");
    cfg->pool_wait_timeout_ms = (int)cfg_get_int(root, "pool_wait_timeout_ms");
    cfg->pool_stmt_cache = (uint32_t)cfg_get_int(root, "pool_stmt_cache");
    cfg->pool_min_idle = (int)cfg_get_int(root, "pool_min_idle");
    const char *us = cfg_get_str(root, "users_source");
    cfg->users_source = strcmp(us, "backends") == 0 ? USERS_BACKENDS
                        : strcmp(us, "both") == 0   ? USERS_BOTH
                                                    : USERS_CONFIG;
    cfg->users_refresh_ms = (int)cfg_get_int(root, "users_refresh_ms");
    cfg->auth_fail_limit = (int)cfg_get_int(root, "auth_fail_limit");
    cfg->auth_fail_window_ms = (int)cfg_get_int(root, "auth_fail_window_ms");
    cfg->auth_delay_ms = (int)cfg_get_int(root, "auth_delay_ms");
    cfg->auth_block_ms = (int)cfg_get_int(root, "auth_block_ms");
    cfg->auth_block_table_size = (int)cfg_get_int(root, "auth_block_table_size");
    cfg->firewall_learn_max = (int)cfg_get_int(root, "firewall_learn_max");
    cfg->metrics_port = (int)cfg_get_int(root, "metrics_port");
    cfg->metrics_status_page = cfg_get_bool(root, "metrics_status_page");
    cfg->metrics_auth = cfg_get_bool(root, "metrics_auth");
    cfg->metrics_tls = cfg_get_bool(root, "metrics_tls");
    cfg->log_syslog = cfg_get_bool(root, "log_syslog");
    cfg->query_log_min_duration_ms = (int)cfg_get_int(root, "query_log_min_duration_ms");
    cfg->capture_max_mb = (int)cfg_get_int(root, "capture_max_mb");
    cfg->capture_max_seconds = (int)cfg_get_int(root, "capture_max_seconds");
    cfg->capture_mask = cfg_get_bool(root, "capture_mask");
    cfg->capture_queue = (int)cfg_get_int(root, "capture_queue");
    cfg->read_write_split = cfg_get_bool(root, "read_write_split");
    cfg->consistency = consistency_parse(cfg_get_str(root, "consistency"));
    cfg->causal_timeout_ms = (int)cfg_get_int(root, "causal_timeout_ms");
    cfg->causal_fast = cfg_get_bool(root, "causal_fast");
    cfg->strong_window_ms = (int)cfg_get_int(root, "strong_window_ms");
    cfg->replica_fallback_error = strcmp(cfg_get_str(root, "replica_fallback"), "error") == 0;
    cfg->digest_max_entries = (int)cfg_get_int(root, "digest_max_entries");
    cfg->max_replication_lag = (int)cfg_get_int(root, "max_replication_lag");
    const char *ct = cfg_get_str(root, "cluster");
    cfg->cluster = strcmp(ct, "galera") == 0        ? CLUSTER_GALERA
                   : strcmp(ct, "dual-master") == 0 ? CLUSTER_DUAL_MASTER
                                                    : CLUSTER_REPLICATION;
    cfg->max_writers = (int)cfg_get_int(root, "max_writers");
    cfg->writer_is_also_reader = cfg_get_bool(root, "writer_is_also_reader");
    const char *zr = cfg_get_str(root, "zone_reads");
    cfg->zone_reads = strcmp(zr, "local_only") == 0 ? ZONE_READS_LOCAL_ONLY
                      : strcmp(zr, "any") == 0      ? ZONE_READS_ANY
                                                    : ZONE_READS_LOCAL_FIRST;
    cfg->partition_reads_refuse = strcmp(cfg_get_str(root, "partition_reads"), "refuse") == 0;
    const char *fc = cfg_get_str(root, "fence_cut_off_primary");
    cfg->fence_cut_off_mode = strcmp(fc, "always") == 0  ? FENCE_CUT_OFF_ALWAYS
                              : strcmp(fc, "never") == 0 ? FENCE_CUT_OFF_NEVER
                                                         : FENCE_CUT_OFF_WITH_ZONES;
    cfg->failover_auto = strcmp(cfg_get_str(root, "failover"), "auto") == 0;
    const char *fz = cfg_get_str(root, "failover_zones");
    cfg->failover_zones = strcmp(fz, "same_only") == 0 ? FAILOVER_ZONES_SAME_ONLY
                          : strcmp(fz, "any") == 0     ? FAILOVER_ZONES_ANY
                                                       : FAILOVER_ZONES_SAME_FIRST;
    cfg->failover_delay_ms = (int)cfg_get_int(root, "failover_delay_ms");
    cfg->failover_write_wait_ms = (int)cfg_get_int(root, "failover_write_wait_ms");
    cfg->switchover_timeout_ms = (int)cfg_get_int(root, "switchover_timeout_ms");
    cfg->auto_rejoin = cfg_get_bool(root, "auto_rejoin");
    if (cfg_dup_str(ld, &cfg->server_version, root, "server_version") != HY_OK ||
        cfg_dup_str(ld, &cfg->zone, root, "zone") != HY_OK || !fence_cut_off_resolve(cfg) ||
        cfg_dup_str(ld, &cfg->metrics_address, root, "metrics_address") != HY_OK ||
        cfg_dup_str(ld, &cfg->log_file, root, "log_file") != HY_OK ||
        cfg_dup_str(ld, &cfg->audit_log, root, "audit_log") != HY_OK ||
        cfg_dup_str(ld, &cfg->query_log, root, "query_log") != HY_OK ||
        cfg_fill_tracing(ld, cfg, root) != HY_OK ||
        cfg_dup_str(ld, &cfg->capture_file, root, "capture_file") != HY_OK)
        return HY_ERROR;
    return fill_parts(ld, cfg, root);
}

/* ---- public ------------------------------------------------------------ */

static void config_free(struct config *cfg)
{
    group_views_free(cfg);
    for (size_t g = 0; g < cfg->n_groups; g++) {
        free(cfg->groups[g].name);
        free(cfg->groups[g].members);
        free(cfg->groups[g].monitor_user);
        free(cfg->groups[g].monitor_password_file);
        free(cfg->groups[g].monitor_password_env);
        if (cfg->groups[g].monitor_password != NULL) {
            explicit_bzero(cfg->groups[g].monitor_password,
                           strlen(cfg->groups[g].monitor_password));
            free(cfg->groups[g].monitor_password);
        }
    }
    free(cfg->groups);
    for (size_t i = 0; i < cfg->shards.n; i++)
        free(cfg->shards.v[i].name);
    free(cfg->shards.v);
    free(cfg->xa_log);
    shard_tables_free(&cfg->key_tables);
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        free(cfg->listeners[i].name);
        free(cfg->listeners[i].address);
        strings_free(&cfg->listeners[i].users);
        strings_free(&cfg->listeners[i].proxy_protocol_from);
        free(cfg->listeners[i].proxy_from);
    }
    for (size_t i = 0; i < cfg->n_users; i++) {
        struct config_user *u = &cfg->users[i];
        free(u->name);
        strings_free(&u->allow);
        free(u->allow_net);
        strings_free(&u->firewall_allow);
        free(u->fw_hashes);
        free(u->tls_subject);
    }
    for (size_t i = 0; i < cfg->n_backends; i++) {
        free(cfg->backends[i].name);
        free(cfg->backends[i].address);
        free(cfg->backends[i].tls_ca);
        free(cfg->backends[i].tls_cert);
        free(cfg->backends[i].tls_key);
        free(cfg->backends[i].zone);
        tls_ctx_free(cfg->backends[i].tls_ctx);
    }
    for (size_t i = 0; i < cfg->n_witnesses; i++) {
        free(cfg->witnesses[i].name);
        free(cfg->witnesses[i].address);
    }
    free(cfg->witnesses);
    tls_ctx_free(cfg->tls_server);
    free(cfg->zone);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->tls_ca);
    free(cfg->tls_ciphers);
    free(cfg->tls_ciphersuites);
    free(cfg->backend_tls_ca);
    free(cfg->backend_tls_cert);
    free(cfg->backend_tls_key);
    for (size_t i = 0; i < cfg->n_rules; i++) {
        struct config_rule *r = &cfg->rules[i];
        free(r->name);
        free(r->match_digest);
        free(r->match_text);
        rules_regex_free(r->digest_re);
        rules_regex_free(r->text_re);
        cfg_free_who(&r->who);
        strings_free(&r->no_where);
        strings_free(&r->tables);
        free(r->route_name);
        free(r->error_message);
    }
    free(cfg->listeners);
    free(cfg->users);
    free(cfg->backends);
    free(cfg->rules);
    free(cfg->rule_hits);
    cfg_free_limits(cfg);
    free(cfg->server_version);
    free(cfg->admin_socket);
    cfg_free_admin_sql(cfg);
    free(cfg->metrics_address);
    free(cfg->log_file);
    free(cfg->audit_log);
    free(cfg->query_log);
    free(cfg->capture_file);
    free(cfg->instance_name);
    free(cfg->alerts.exec);
    free(cfg->alerts.webhook);
    free(cfg->alerts.pre_failover);
    strings_free(&cfg->alerts.disabled);
    free(cfg->tracing.endpoint);
    free(cfg->tracing.headers);
    free(cfg->tracing.ca_file);
    free(cfg->tracing.service);
    free(cfg->cache.user);
    free(cfg->cache.password);
    free(cfg->backup.dir);
    free(cfg->backup.user);
    free(cfg->backup.password_file);
    free(cfg->backup.password_env);
    free(cfg->backup.retention);
    free(cfg->backup.full_every);
    free(cfg->backup.full_window);
    free(cfg->backup.full_max_age);
    free(cfg->backup.full_timeout);
    free(cfg->backup.incr_every);
    free(cfg->backup.diff_every);
    free(cfg->backup.copy_to_dir);
    free(cfg->backup.copy_command);
    free(cfg->backup.copy_verify_command);
    free(cfg->backup.verify_into);
    free(cfg->backup.verify_server_command);
    free(cfg->backup.method);
    free(cfg->backup.mariadb_backup_command);
    free(cfg->backup.compression_name);
    free(cfg->backup.encryption_key_file);
    strings_free(&cfg->backup.decryption_key_files);
    if (cfg->backup.keys != NULL) {
        explicit_bzero(cfg->backup.keys, cfg->backup.n_keys * sizeof(*cfg->backup.keys));
        free(cfg->backup.keys);
    }
    if (cfg->backup.password != NULL) {
        explicit_bzero(cfg->backup.password, strlen(cfg->backup.password));
        free(cfg->backup.password);
    }
    free(cfg->monitor.user);
    free(cfg->monitor.password_file);
    free(cfg->monitor.password_env);
    if (cfg->monitor.password != NULL) {
        explicit_bzero(cfg->monitor.password, strlen(cfg->monitor.password));
        free(cfg->monitor.password);
    }
    free(cfg->replication_user);
    free(cfg->replication_password_file);
    free(cfg->replication_password_env);
    if (cfg->replication_password != NULL) {
        explicit_bzero(cfg->replication_password, strlen(cfg->replication_password));
        free(cfg->replication_password);
    }
    free(cfg->auth_rsa_private_key);
    free(cfg->auth_rsa_public_key);
    auth_rsa_free(cfg->rsa);
    free(cfg->path);
    free(cfg);
}

/* Parse `text` (owned by the caller) and build the config; then, when it
 * loaded, look for what is probably a mistake (cfg_lint). */
static hy_status_t load(struct loader *ld, const char *text, struct config **out)
{
    if (strlen(text) > CONFIG_MAX_TEXT)
        return cfg_fail(ld, NULL, NULL, "larger than %u bytes", CONFIG_MAX_TEXT);
    char *widened = NULL;
    if (prescan(ld, text, &widened) != HY_OK)
        return HY_ERROR;
    struct config *cfg = calloc(1, sizeof(*cfg));
    static _Atomic uint64_t loads;
    if (cfg != NULL)
        cfg->load_id = atomic_fetch_add_explicit(&loads, 1, memory_order_relaxed) + 1;
    if (cfg == NULL || (cfg->path = strdup(ld->name)) == NULL) {
        free(widened);
        free(cfg);
        return cfg_fail(ld, NULL, NULL, "out of memory");
    }
    atomic_init(&cfg->refs, 1);

    config_t lc;
    config_init(&lc);
    hy_status_t rc = HY_ERROR;
    if (config_read_string(&lc, widened) != CONFIG_TRUE) {
        cfg_syntax_error(ld, text, config_error_line(&lc), config_error_text(&lc));
    } else {
        config_setting_t *root = config_root_setting(&lc);
        bool fatal = false;
        hy_status_t checked = check_group(ld, root, "", "", &fatal);
        /* Step 3 reads only keys step 2 found good: it runs past unknown
         * keys (it never reads them), not past a bad value. */
        if (!fatal && fill_config(ld, cfg, root) == HY_OK && checked == HY_OK) {
            rc = HY_OK;
            cfg_lint(ld, cfg, root);
        }
    }
    config_destroy(&lc);
    free(widened);

    if (rc != HY_OK) {
        config_free(cfg);
        return rc;
    }
    *out = cfg;
    return HY_OK;
}

/* After a load: sort the report, and say in the one-line error how many
 * more there are. */
static hy_status_t loaded(struct loader *ld, hy_status_t rc)
{
    cfg_report_sort(ld->rep);
    if (rc != HY_OK && ld->n_errors > 1 && ld->err != NULL && ld->errlen > 0) {
        size_t len = strlen(ld->err);
        snprintf(ld->err + len, ld->errlen - len, "; and %u more error%s (halyard -t lists them)",
                 ld->n_errors - 1, ld->n_errors > 2 ? "s" : "");
    }
    return rc;
}

static hy_status_t load_string(struct loader *ld, const char *text, struct config **out)
{
    if (ld->err != NULL && ld->errlen > 0)
        ld->err[0] = '\0';
    if (text == NULL || out == NULL)
        return cfg_fail(ld, NULL, NULL, "no configuration text");
    return loaded(ld, load(ld, text, out));
}

hy_status_t config_load_string(const char *text, const char *name, struct config **out, char *err,
                               size_t errlen)
{
    struct loader ld = {.name = name != NULL ? name : "<string>", .err = err, .errlen = errlen};
    return load_string(&ld, text, out);
}

hy_status_t config_load_string_report(const char *text, const char *name, struct config **out,
                                      struct config_report *rep)
{
    *rep = (struct config_report){0};
    struct loader ld = {.name = name != NULL ? name : "<string>", .rep = rep};
    return load_string(&ld, text, out);
}

/* Read all of `fp` into a NUL-terminated *text (the caller frees it). */
static hy_status_t read_text(struct loader *ld, FILE *fp, char **text)
{
    char ebuf[128];
    struct textbuf tb;
    textbuf_init(&tb, CONFIG_MAX_TEXT + 1); /* a byte over: a larger file is seen */
    for (;;) {
        size_t at = tb.len, want = HY_MIN((size_t)8192, tb.limit - at);
        char *room = want > 0 ? textbuf_extend(&tb, want) : NULL;
        if (room == NULL) {
            textbuf_free(&tb);
            if (want == 0)
                return cfg_fail(ld, NULL, NULL, "larger than %u bytes", CONFIG_MAX_TEXT);
            return cfg_fail(ld, NULL, NULL, "out of memory");
        }
        size_t got = fread(room, 1, want, fp);
        textbuf_truncate(&tb, at + got);
        if (got == 0)
            break;
    }
    char *buf = tb.data;
    size_t len = tb.len;
    if (ferror(fp)) {
        int e = errno;
        free(buf);
        return cfg_fail(ld, NULL, NULL, "cannot read: %s", strerror_r(e, ebuf, sizeof(ebuf)));
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        free(buf);
        return cfg_fail(ld, NULL, NULL, "contains a NUL byte; not a text file");
    }
    *text = buf;
    return HY_OK;
}

static hy_status_t load_file(struct loader *ld, const char *path, struct config **out)
{
    if (ld->err != NULL && ld->errlen > 0)
        ld->err[0] = '\0';
    if (path == NULL || out == NULL)
        return cfg_fail(ld, NULL, NULL, "no configuration file given");

    char ebuf[128];
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return cfg_fail(ld, NULL, NULL, "cannot open: %s", strerror_r(errno, ebuf, sizeof(ebuf)));
    char *text = NULL;
    hy_status_t rc = read_text(ld, fp, &text);
    fclose(fp);
    if (rc != HY_OK)
        return rc;

    rc = loaded(ld, load(ld, text, out));
    free(text);
    return rc;
}

hy_status_t config_load(const char *path, struct config **out, char *err, size_t errlen)
{
    struct loader ld = {
        .name = path != NULL ? path : "<null>", .err = err, .errlen = errlen, .from_file = true};
    return load_file(&ld, path, out);
}

hy_status_t config_load_report(const char *path, struct config **out, struct config_report *rep)
{
    *rep = (struct config_report){0};
    struct loader ld = {.name = path != NULL ? path : "<null>", .rep = rep, .from_file = true};
    return load_file(&ld, path, out);
}

struct config *config_get(struct config *cfg)
{
    if (cfg->parent != NULL) { /* a group's view: its config's count */
        config_get(cfg->parent);
        return cfg;
    }
    atomic_fetch_add_explicit(&cfg->refs, 1, memory_order_relaxed);
    return cfg;
}

void config_put(struct config *cfg)
{
    if (cfg == NULL)
        return;
    if (cfg->parent != NULL) {
        config_put(cfg->parent);
        return;
    }
    if (atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) == 1)
        config_free(cfg);
}

const struct config_user *config_find_user(const struct config *cfg, const char *name, size_t len)
{
    for (size_t i = 0; i < cfg->n_users; i++) {
        const struct config_user *u = &cfg->users[i];
        if (strlen(u->name) == len && memcmp(u->name, name, len) == 0)
            return u;
    }
    return NULL;
}

int config_backend_match(const struct config *cfg, const struct config_backend *be)
{
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *x = &cfg->backends[i];
        if (strcmp(x->name, be->name) == 0 && strcmp(x->address, be->address) == 0 &&
            x->port == be->port)
            return (int)i;
    }
    return -1;
}

const struct config_backend *config_primary(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_backends; i++) {
        if (cfg->backends[i].role == ROLE_PRIMARY)
            return &cfg->backends[i];
    }
    return NULL;
}

const char *backend_role_to_str(enum backend_role role)
{
    switch (role) {
    case ROLE_PRIMARY:
        return "primary";
    case ROLE_REPLICA:
        return "replica";
    }
    return "unknown";
}

void config_dump_keys(FILE *out)
{
    static const char *const type_names[] = {
        [CONFIG_INT] = "int",
        [CONFIG_STRING] = "string",
        [CONFIG_BOOL] = "bool",
        [CONFIG_LIST] = "list",
        [CONFIG_GROUP] = "group",
        [CONFIG_STRINGS] = "strings",
        [CONFIG_INT_OR_STRING] = "int|string",
    };
    for (size_t i = 0; i < config_n_keys; i++) {
        const struct config_key *k = &config_keys[i];
        char bounds[64] = "-";
        if (k->choices != NULL)
            snprintf(bounds, sizeof(bounds), "%s", k->choices);
        else if (k->max > 0 && (k->type == CONFIG_INT || k->type == CONFIG_INT_OR_STRING))
            snprintf(bounds, sizeof(bounds), "%lld..%lld", k->min, k->max);
        else if (k->max > 0 && k->type == CONFIG_STRING)
            snprintf(bounds, sizeof(bounds), "length %lld..%lld", k->min, k->max);
        else if (k->max > 0 && (k->type == CONFIG_LIST || k->type == CONFIG_STRINGS))
            snprintf(bounds, sizeof(bounds), "%lld..%lld elements", k->min, k->max);
        fprintf(out, "%s\t%s\t%s\t%s\t%s\n", k->path, type_names[k->type],
                k->def != NULL ? k->def : "(required)", bounds, k->desc);
    }
}
