/*
 * rules.c: compiling and matching query rules. See rules.h.
 *
 * Design
 * ------
 * The config owns everything that is the same for every thread: the rules
 * in order, each condition parsed (a CIDR as bytes and a prefix length) or
 * compiled (struct rule_regex: PCRE2 code, with JIT code when there is a
 * JIT), and the hit counters. A worker owns what PCRE2 writes while it
 * matches: one match data block (room for one match: rules only ask
 * whether a pattern matches), one match context carrying the match limit
 * and one JIT stack. So rules_match() allocates nothing and needs no lock.
 *
 * Hit counters are a matrix in the config, one row per worker, each row
 * padded to whole cache lines so two workers never write the same line.
 * A worker writes only its row, with a relaxed load and store (no locked
 * instruction). The worker count of a config is the count in its file,
 * and a reload may publish a config whose count differs from the running
 * one (workers only change at restart): workers past the config's rows
 * share one extra row, updated with an atomic add.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/config/rules.h"
#include "halyard/sql/cache_sql.h"

/* The JIT stack grows from 32 KiB to at most this; a pattern needing more
 * fails to match (counted in match_errors). */
#define RULES_JIT_STACK_MAX (1u << 20)
#define CACHE_LINE          64u

struct rule_regex {
    pcre2_code *code;
    bool jit; /* pcre2_jit_compile() succeeded */
};

struct rules_pcre {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *stack;  /* NULL without a JIT */
    struct cache_sql tables; /* the statement's, for a `tables` condition */
};

/* ---- compiling ---------------------------------------------------------- */

hy_status_t rules_regex_compile(const char *pattern, struct rule_regex **out, char *why,
                                size_t whylen)
{
    int code;
    PCRE2_SIZE offset;
    *out = NULL;
    /* Statements are bytes, not necessarily valid UTF-8: no UTF mode, which
     * would make an invalid subject an error rather than a non-match. */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_NEVER_UTF,
                                   &code, &offset, NULL);
    if (re == NULL) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", code);
        snprintf(why, whylen, "bad regex at offset %zu: %s", (size_t)offset, (char *)msg);
        return code == PCRE2_ERROR_NOMEMORY ? HY_NOMEM : HY_ERROR;
    }
    struct rule_regex *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        pcre2_code_free(re);
        snprintf(why, whylen, "out of memory");
        return HY_NOMEM;
    }
    r->code = re;
    /* Fails where PCRE2 was built without a JIT or the machine has none;
     * pcre2_match() then interprets, which is all we need. */
    r->jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
    *out = r;
    return HY_OK;
}

void rules_regex_free(struct rule_regex *re)
{
    if (re == NULL)
        return;
    pcre2_code_free(re->code);
    free(re);
}

bool rules_regex_jit(const struct rule_regex *re)
{
    return re != NULL && re->jit;
}

static bool parse_bits(const char *s, unsigned max, unsigned *out)
{
    unsigned v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 3)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

hy_status_t rules_cidr_parse(const char *s, struct config_cidr *out, char *why, size_t whylen)
{
    char host[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(s, '/');
    size_t hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
    memset(out, 0, sizeof(*out));
    if (hlen == 0 || hlen >= sizeof(host)) {
        snprintf(why, whylen, "not an IPv4 or IPv6 address, or ADDRESS/BITS");
        return HY_ERROR;
    }
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    unsigned max;
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        snprintf(why, whylen, "not an IPv4 or IPv6 address, or ADDRESS/BITS");
        return HY_ERROR;
    }
    unsigned bits = max;
    if (slash != NULL && !parse_bits(slash + 1, max, &bits)) {
        snprintf(why, whylen, "the prefix length after / must be a number from 0 to %u for an %s",
                 max, max == 32 ? "IPv4 address" : "IPv6 address");
        return HY_ERROR;
    }
    out->bits = (uint8_t)bits;
    uint8_t net[16];
    memcpy(net, out->addr, sizeof(net));
    for (unsigned i = 0; i < max / 8; i++) {
        unsigned keep = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? bits - i * 8 : 0;
        net[i] &= (uint8_t)(0xFF00u >> keep);
    }
    if (memcmp(net, out->addr, max / 8) != 0) {
        char shown[INET6_ADDRSTRLEN];
        inet_ntop(out->family, net, shown, sizeof(shown));
        snprintf(why, whylen, "address bits are set past the /%u prefix (the network is %s/%u)",
                 bits, shown, bits);
        return HY_ERROR;
    }
    return HY_OK;
}

hy_status_t rules_hits_init(struct config *cfg)
{
    cfg->rule_hits = NULL;
    cfg->rule_hit_rows = cfg->rule_hit_stride = 0;
    if (cfg->n_rules == 0)
        return HY_OK;
    size_t per_line = CACHE_LINE / sizeof(uint64_t);
    size_t stride = (cfg->n_rules + per_line - 1) / per_line * per_line;
    size_t rows = cfg->workers > 0 ? (size_t)cfg->workers : 1;
    size_t n = (rows + 1) * stride;
    _Atomic uint64_t *hits = aligned_alloc(CACHE_LINE, n * sizeof(*hits));
    if (hits == NULL)
        return HY_NOMEM;
    for (size_t i = 0; i < n; i++)
        atomic_init(&hits[i], 0);
    cfg->rule_hits = hits;
    cfg->rule_hit_rows = rows;
    cfg->rule_hit_stride = stride;
    return HY_OK;
}

/* ---- matching ----------------------------------------------------------- */

hy_status_t rules_ctx_init(struct rules_ctx *ctx, int worker)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->worker = worker;
    atomic_init(&ctx->match_errors, 0);
    struct rules_pcre *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return HY_NOMEM;
    ctx->pcre = p;
    /* One pair of offsets: we only ask whether a pattern matches. */
    p->md = pcre2_match_data_create(1, NULL);
    p->mctx = pcre2_match_context_create(NULL);
    if (p->md == NULL || p->mctx == NULL)
        return HY_NOMEM;
    pcre2_set_match_limit(p->mctx, RULES_MATCH_LIMIT);
    uint32_t have_jit = 0;
    if (pcre2_config(PCRE2_CONFIG_JIT, &have_jit) >= 0 && have_jit) {
        p->stack = pcre2_jit_stack_create(32 * 1024, RULES_JIT_STACK_MAX, NULL);
        if (p->stack == NULL)
            return HY_NOMEM;
        pcre2_jit_stack_assign(p->mctx, NULL, p->stack);
    }
    return HY_OK;
}

void rules_ctx_destroy(struct rules_ctx *ctx)
{
    struct rules_pcre *p = ctx->pcre;
    if (p == NULL)
        return;
    pcre2_match_data_free(p->md);
    pcre2_match_context_free(p->mctx);
    pcre2_jit_stack_free(p->stack);
    free(p);
    ctx->pcre = NULL;
}

static bool regex_match(struct rules_ctx *ctx, const struct rule_regex *re, const char *s,
                        size_t len)
{
    if (s == NULL) {
        if (len != 0)
            return false;
        s = "";
    }
    struct rules_pcre *p = ctx->pcre;
    int rc;
    if (re->jit && !ctx->no_jit)
        rc = pcre2_jit_match(re->code, (PCRE2_SPTR)s, len, 0, 0, p->md, p->mctx);
    else
        rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, PCRE2_NO_JIT, p->md, p->mctx);
    if (rc >= 0) /* 0: matched, with more groups than the match data holds */
        return true;
    if (rc != PCRE2_ERROR_NOMATCH)
        atomic_store_explicit(&ctx->match_errors,
                              atomic_load_explicit(&ctx->match_errors, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    return false;
}

bool rules_cidr_match(const struct config_cidr *net, const struct rules_addr *a)
{
    const uint8_t *addr = a->addr;
    if (net->family != a->family) {
        /* ::ffff:a.b.c.d, an IPv4 client on an IPv6 socket */
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (net->family != AF_INET || a->family != AF_INET6 || memcmp(addr, mapped, 12) != 0)
            return false;
        addr += 12;
    }
    unsigned whole = net->bits / 8, rest = net->bits % 8;
    if (memcmp(addr, net->addr, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xFF00u >> rest);
    return (addr[whole] & mask) == net->addr[whole];
}

static bool str_eq(const char *want, const char *have)
{
    return have != NULL && strcmp(want, have) == 0;
}

static bool in_list(const struct config_strings *list, const char *have)
{
    for (size_t i = 0; have != NULL && i < list->n; i++) {
        if (strcmp(list->v[i], have) == 0)
            return true;
    }
    return false;
}

/* ---- no_where ------------------------------------------------------------
 * A small scanner over the digest (classify.h): comments are gone, literals
 * are `?`, keywords are upper case and tokens are separated by at most one
 * space, so a WHERE token outside parentheses is the statement's WHERE
 * clause, not a string or a column named `where` (which stays quoted). */

struct dtok {
    const char *p;
    size_t len;
    bool quoted; /* `name` */
};

/* The next token at *pp, or false at the end. */
static bool dtok_next(const char **pp, const char *end, struct dtok *t)
{
    const char *p = *pp;
    while (p < end && *p == ' ')
        p++;
    if (p >= end)
        return false;
    t->quoted = false;
    if (*p == '`') {
        const char *q = p + 1;
        while (q < end && !(*q == '`' && (q + 1 >= end || q[1] != '`')))
            q += *q == '`' ? 2 : 1;
        t->p = p + 1;
        t->len = (size_t)(HY_MIN(q, end) - (p + 1));
        t->quoted = true;
        *pp = q < end ? q + 1 : end;
        return true;
    }
    const char *q = p;
    while (q < end && ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
                       (*q >= '0' && *q <= '9') || *q == '_' || *q == '$' || (*q & 0x80)))
        q++;
    if (q == p)
        q = p + 1; /* one punctuation character */
    t->p = p;
    t->len = (size_t)(q - p);
    *pp = q;
    return true;
}

static bool dtok_is(const struct dtok *t, const char *word)
{
    return !t->quoted && t->len == strlen(word) && strncasecmp(t->p, word, t->len) == 0;
}

static bool dtok_word(const struct dtok *t)
{
    return t->quoted || (t->len > 0 && ((t->p[0] >= 'A' && t->p[0] <= 'Z') ||
                                        (t->p[0] >= 'a' && t->p[0] <= 'z') || t->p[0] == '_' ||
                                        t->p[0] == '$' || (t->p[0] & 0x80)));
}

static bool name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && strncasecmp(a, b, alen) == 0;
}

/* Does the table name [schema.]name match one of `tables`? */
static bool table_listed(const struct config_strings *tables, const struct dtok *schema,
                         const struct dtok *name, const char *cur_schema)
{
    for (size_t i = 0; i < tables->n; i++) {
        const char *e = tables->v[i];
        if (strcmp(e, "*") == 0)
            return true;
        const char *dot = strchr(e, '.');
        if (dot == NULL) {
            if (name_eq(e, strlen(e), name->p, name->len))
                return true;
            continue;
        }
        if (!name_eq(dot + 1, strlen(dot + 1), name->p, name->len))
            continue;
        size_t slen = (size_t)(dot - e);
        if (schema != NULL ? name_eq(e, slen, schema->p, schema->len)
                           : cur_schema != NULL && name_eq(e, slen, cur_schema, strlen(cur_schema)))
            return true;
    }
    return false;
}

/* One statement [p, end) of a digest. */
static bool stmt_no_where(const char *p, const char *end, const struct config_strings *tables,
                          const char *cur_schema)
{
    struct dtok t, prev = {0}, prev2 = {0};
    if (!dtok_next(&p, end, &t))
        return false;
    bool update = dtok_is(&t, "UPDATE");
    if (!update && !dtok_is(&t, "DELETE"))
        return false;
    int depth = 0;
    bool in_tables = true, listed = false;
    /* a name is a word not followed by '.'; the word before a '.' is its schema */
    while (dtok_next(&p, end, &t)) {
        if (t.len == 1 && !t.quoted && t.p[0] == '(')
            depth++;
        else if (t.len == 1 && !t.quoted && t.p[0] == ')')
            depth--;
        if (depth == 0 && (dtok_is(&t, "WHERE")))
            return false;
        if (depth == 0 && (dtok_is(&t, "SET") || dtok_is(&t, "ORDER") || dtok_is(&t, "LIMIT") ||
                           dtok_is(&t, "RETURNING")))
            in_tables = false;
        if (in_tables && depth == 0 && dtok_word(&t)) {
            bool qualified = prev.len == 1 && !prev.quoted && prev.p[0] == '.' && dtok_word(&prev2);
            const char *save = p;
            struct dtok next;
            bool dotted =
                dtok_next(&save, end, &next) && next.len == 1 && !next.quoted && next.p[0] == '.';
            if (!dotted && table_listed(tables, qualified ? &prev2 : NULL, &t, cur_schema))
                listed = true;
        }
        prev2 = prev;
        prev = t;
    }
    return listed;
}

bool rules_no_where(const char *digest, size_t len, const struct config_strings *tables,
                    const char *schema)
{
    const char *p = digest, *end = digest + len;
    while (p < end) {
        /* statements end at a ';' outside parentheses */
        const char *q = p;
        int depth = 0;
        while (q < end && !(*q == ';' && depth == 0)) {
            if (*q == '`') {
                q++;
                while (q < end && *q != '`')
                    q++;
            } else if (*q == '(') {
                depth++;
            } else if (*q == ')') {
                depth--;
            }
            if (q < end)
                q++;
        }
        if (stmt_no_where(p, q, tables, schema))
            return true;
        p = q < end ? q + 1 : end;
    }
    return false;
}

/* Whether `table` ("schema.name", lower case) is named by `e`. */
static bool table_named(const char *e, const char *table)
{
    const char *dot = strchr(table, '.');
    const char *edot = strchr(e, '.');
    if (dot == NULL)
        return false;
    if (edot == NULL) /* NAME: in any schema */
        return strcmp(e, dot + 1) == 0;
    if (strcmp(edot + 1, "*") == 0) /* SCHEMA.* */
        return (size_t)(edot - e) == (size_t)(dot - table) &&
               memcmp(e, table, (size_t)(dot - table)) == 0;
    return strcmp(e, table) == 0;
}

bool rules_tables_cover(const struct config_strings *list, const struct cache_sql *q)
{
    if (q->ntables == 0)
        return false;
    for (unsigned k = 0; k < q->ntables; k++) {
        size_t j = 0;
        while (j < list->n && !table_named(list->v[j], q->tables[k]))
            j++;
        if (j == list->n)
            return false;
    }
    return true;
}

/* The `tables` condition of r: *state is 0 until the statement's tables
 * were read (then 1, or -1 when they cannot be: not one cacheable SELECT). */
static bool tables_match(struct rules_ctx *ctx, const struct config_rule *r,
                         const struct rules_input *in, int *state)
{
    if (in->text_cut)
        return false;
    if (in->tables_later)
        return true;
    if (*state == 0)
        *state =
            in->text != NULL && cache_sql_tables(in->text, in->text_len, in->lex_opts, in->schema,
                                                 &ctx->pcre->tables) == CACHE_SQL_OK
                ? 1
                : -1;
    return *state > 0 && rules_tables_cover(&r->tables, &ctx->pcre->tables);
}

static void count_hit(struct rules_ctx *ctx, const struct config *cfg, size_t i)
{
    size_t row = cfg->rule_hit_rows;
    if (ctx->worker >= 0 && (size_t)ctx->worker < cfg->rule_hit_rows)
        row = (size_t)ctx->worker;
    _Atomic uint64_t *c = &cfg->rule_hits[row * cfg->rule_hit_stride + i];
    if (row < cfg->rule_hit_rows) /* ours alone */
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

bool rules_digest_match(struct rules_ctx *ctx, const struct rule_regex *re,
                        const struct rules_input *in)
{
    return in->digest != NULL && regex_match(ctx, re, in->digest, in->digest_len);
}

bool rules_who_match(const struct config_who *w, const struct rules_input *in)
{
    if (w->listener != NULL && !str_eq(w->listener, in->listener))
        return false;
    if (w->user != NULL && !str_eq(w->user, in->user))
        return false;
    if (w->users.n > 0 && !in_list(&w->users, in->user))
        return false;
    if (w->schema != NULL && !str_eq(w->schema, in->schema))
        return false;
    return w->client == NULL || (in->client != NULL && rules_cidr_match(&w->cidr, in->client));
}

const struct config_rule *rules_match(struct rules_ctx *ctx, const struct config *cfg,
                                      const struct rules_input *in)
{
    int tables = 0;
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct config_rule *r = &cfg->rules[i];
        if (!rules_who_match(&r->who, in))
            continue;
        if (r->no_where.n > 0 && (in->digest == NULL || !rules_no_where(in->digest, in->digest_len,
                                                                        &r->no_where, in->schema)))
            continue;
        if (r->digest_re != NULL && !rules_digest_match(ctx, r->digest_re, in))
            continue;
        if (r->text_re != NULL && !regex_match(ctx, r->text_re, in->text, in->text_len))
            continue;
        if (r->tables.n > 0 && !tables_match(ctx, r, in, &tables))
            continue;
        count_hit(ctx, cfg, i);
        return r;
    }
    return NULL;
}

uint64_t rules_hits(const struct config *cfg, size_t i)
{
    uint64_t sum = 0;
    if (i >= cfg->n_rules || cfg->rule_hits == NULL)
        return 0;
    for (size_t row = 0; row <= cfg->rule_hit_rows; row++)
        sum += atomic_load_explicit(&cfg->rule_hits[row * cfg->rule_hit_stride + i],
                                    memory_order_relaxed);
    return sum;
}

void rules_addr_from_sockaddr(const struct sockaddr *sa, struct rules_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->family = AF_UNSPEC;
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        out->family = AF_INET;
        memcpy(out->addr, &sin->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        out->family = AF_INET6;
        memcpy(out->addr, &sin6->sin6_addr, 16);
    }
}
