/*
 * fuzz_classify.c: libFuzzer target for the SQL lexer, classifier and digest
 * (classify.h).
 *
 * The input is query text, copied into a heap buffer of exactly its length
 * with no NUL after it, so ASan catches any read past `len`. Each input is
 * checked under all four lexing modes (NO_BACKSLASH_ESCAPES and ANSI_QUOTES,
 * each on or off: the session follows the server's sql_mode), since the
 * same text lexes differently under each. Checked, per mode:
 *  - classify() gives the same result with and without a digest, and its
 *    digest equals classify_digest()'s (text, length, hash);
 *  - the result is well-formed: kind, hint and scopes in range, only known
 *    flags, every name NUL-terminated in its array, every span within the
 *    text, nothing claimed for an empty text;
 *  - a digest written into a too-small buffer is a NUL-terminated prefix of
 *    the whole one, with the whole length and the same hash;
 *  - a digest is its own digest (classify.h's promise, under the same
 *    options): digesting the digest gives the same text and hash;
 *  - the CONNECTION_ID() calls and the items to name are ordered spans of
 *    the text, and the rewrite of it writes exactly its own length, never
 *    more than classify_connid_bound(), a prefix of it into a short buffer;
 *  - classify_find_ident() hands out names that are readable for their whole
 *    length, stops exactly when the callback says so, and returns false
 *    only after the last identifier.
 */
#include "fuzz.h"

#include "halyard/sql/classify.h"

#define CLF_ALL                                                                                    \
    (CLF_MULTI | CLF_UNTERMINATED | CLF_TOO_LONG | CLF_HINT_INVALID | CLF_LOCKING_READ |           \
     CLF_SELECT_INTO | CLF_USER_VAR_SET | CLF_USER_VAR_REF | CLF_LAST_INSERT_ID | CLF_PREV_STMT |  \
     CLF_USER_LOCK | CLF_SEQUENCE | CLF_TEMP_TABLE_CREATED | CLF_TABLE_DROPPED | CLF_LOCK_TABLES | \
     CLF_UNLOCK_TABLES | CLF_USE | CLF_AUTOCOMMIT | CLF_SET_NAMES | CLF_SET_GLOBAL |               \
     CLF_VARS_TRUNCATED | CLF_TXN_NEXT | CLF_TXN_SESSION | CLF_TXN_READ_ONLY | CLF_TXN_CHAIN |     \
     CLF_XA | CLF_SET_STATEMENT | CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE |         \
     CLF_DML | CLF_DIAG)

static int span_within(struct classify_span sp, size_t len)
{
    return sp.off <= len && sp.len <= len - sp.off;
}

static int name_ok(const char *name, size_t size)
{
    return memchr(name, 0, size) != NULL;
}

static void check_result(const struct classify_result *r, size_t len)
{
    FUZZ_CHECK(r->kind < CL__COUNT);
    FUZZ_CHECK((r->flags & ~CLF_ALL) == 0);
    FUZZ_CHECK((r->kinds & ~((1u << CL__COUNT) - 1)) == 0);
    FUZZ_CHECK(r->hint == CLH_NONE || r->hint == CLH_PRIMARY || r->hint == CLH_REPLICA ||
               r->hint == CLH_BACKEND);
    FUZZ_CHECK(name_ok(r->hint_backend, sizeof(r->hint_backend)));
    FUZZ_CHECK((r->hint == CLH_BACKEND) == (r->hint_backend[0] != '\0'));
    FUZZ_CHECK(name_ok(r->schema, sizeof(r->schema)));
    FUZZ_CHECK(name_ok(r->temp_table, sizeof(r->temp_table)));
    FUZZ_CHECK(name_ok(r->temp_schema, sizeof(r->temp_schema)));
    FUZZ_CHECK(r->nvars <= CLASSIFY_MAX_VARS);
    for (uint32_t i = 0; i < r->nvars; i++) {
        const struct classify_var *v = &r->vars[i];
        FUZZ_CHECK(v->scope <= CLV_ROLE);
        FUZZ_CHECK(span_within(v->name, len) && span_within(v->value, len));
    }
    if (r->flags & CLF_AUTOCOMMIT)
        FUZZ_CHECK(r->autocommit >= -1 && r->autocommit <= 1);
    /* Statements are counted and their kinds collected. */
    FUZZ_CHECK((r->nstmt == 0) == (r->kind == CL_EMPTY));
    FUZZ_CHECK((r->nstmt == 0) == (r->kinds == 0));
    FUZZ_CHECK((r->nstmt > 1) == ((r->flags & CLF_MULTI) != 0));
    if (r->nstmt == 1)
        FUZZ_CHECK(r->kinds == CL_BIT(r->kind));
    if (len == 0)
        FUZZ_CHECK(r->kind == CL_EMPTY && r->flags == 0 && r->nvars == 0);
    const struct classify_connid *cid = &r->connid;
    FUZZ_CHECK(cid->n <= CLASSIFY_MAX_CONNID && cid->nalias <= cid->n);
    FUZZ_CHECK(!r->connid_overflow || cid->n == 0);
    for (uint32_t i = 0; i < cid->n; i++) {
        FUZZ_CHECK(span_within(cid->call[i], len));
        if (i > 0)
            FUZZ_CHECK(cid->call[i].off >= cid->call[i - 1].off + cid->call[i - 1].len);
    }
    for (uint32_t i = 0; i < cid->nalias; i++) {
        FUZZ_CHECK(span_within(cid->alias[i], len) && cid->alias[i].len <= CLASSIFY_ALIAS_MAX);
        if (i > 0)
            FUZZ_CHECK(cid->alias[i].off >= cid->alias[i - 1].off + cid->alias[i - 1].len);
    }
}

static void check_connid_rewrite(const char *sql, size_t len, const struct classify_result *r)
{
    size_t bound = classify_connid_bound(&r->connid, len);
    char *out = malloc(bound + 1);
    FUZZ_CHECK(out != NULL);
    size_t n = classify_connid_rewrite(sql, len, &r->connid, 4294967295u, out, bound);
    FUZZ_CHECK(n <= bound);
    if (r->connid.n == 0)
        FUZZ_CHECK(n == len && memcmp(out, sql, len) == 0);
    char part[16];
    FUZZ_CHECK(classify_connid_rewrite(sql, len, &r->connid, 4294967295u, part, sizeof(part)) == n);
    FUZZ_CHECK(memcmp(part, out, n < sizeof(part) ? n : sizeof(part)) == 0);
    /* the longest values of FOUND_ROWS() and ROW_COUNT() stay in the bound */
    const char *const wide[CLASSIFY_CALL__COUNT] = {"4294967295", "COALESCE(09223372036854775807)",
                                                    "COALESCE(-(00000000000000000001))"};
    FUZZ_CHECK(classify_calls_rewrite(sql, len, &r->connid, wide, out, bound) <= bound);
    free(out);
}

static int result_equal(const struct classify_result *a, const struct classify_result *b)
{
    if (a->kind != b->kind || a->flags != b->flags || a->kinds != b->kinds ||
        a->nstmt != b->nstmt || a->hint != b->hint || a->nvars != b->nvars)
        return 0;
    if ((a->flags & CLF_AUTOCOMMIT) && a->autocommit != b->autocommit)
        return 0;
    if (strcmp(a->hint_backend, b->hint_backend) != 0 || strcmp(a->schema, b->schema) != 0 ||
        strcmp(a->temp_table, b->temp_table) != 0 || strcmp(a->temp_schema, b->temp_schema) != 0)
        return 0;
    for (uint32_t i = 0; i < a->nvars; i++) {
        const struct classify_var *x = &a->vars[i], *y = &b->vars[i];
        if (x->scope != y->scope || x->name.off != y->name.off || x->name.len != y->name.len ||
            x->value.off != y->value.off || x->value.len != y->value.len)
            return 0;
    }
    return 1;
}

struct ident_walk {
    size_t len;   /* of the text */
    size_t seen;  /* identifiers so far */
    size_t stop;  /* return true at this one (1-based); 0 = never */
    uint8_t sink; /* every byte of every name is read into this */
};

static bool on_ident(void *ctx, const char *name, size_t len)
{
    struct ident_walk *w = ctx;
    FUZZ_CHECK(name != NULL && len <= w->len);
    for (size_t i = 0; i < len; i++)
        w->sink ^= (uint8_t)name[i];
    w->seen++;
    return w->seen == w->stop;
}

static void check_find_ident(const char *sql, size_t len, unsigned opts)
{
    struct ident_walk all = {len, 0, 0, 0};
    FUZZ_CHECK(!classify_find_ident(sql, len, opts, on_ident, &all));
    if (all.seen == 0)
        return;
    struct ident_walk half = {len, 0, (all.seen + 1) / 2, 0};
    FUZZ_CHECK(classify_find_ident(sql, len, opts, on_ident, &half));
    FUZZ_CHECK(half.seen == half.stop);
}

static void check_mode(const uint8_t *data, size_t size, unsigned opts)
{
    char *sql = (char *)fuzz_dup(data, size);
    struct classify_result plain, with;

    classify(sql, size, opts, &plain, NULL);
    check_result(&plain, size);
    check_connid_rewrite(sql, size, &plain);

    /* The whole digest's length first, then the digest in a buffer that
     * just fits it (NUL included), then in one that does not. */
    size_t dlen = 0;
    uint64_t hash = classify_digest(sql, size, opts, NULL, 0, &dlen);
    char *digest = malloc(dlen + 1);
    FUZZ_CHECK(digest != NULL);
    struct classify_digest dg = {digest, dlen + 1, 0, 0};
    classify(sql, size, opts, &with, &dg);
    FUZZ_CHECK(result_equal(&plain, &with));
    FUZZ_CHECK(dg.len == dlen && dg.hash == hash);
    FUZZ_CHECK(digest[dlen] == '\0');

    size_t alone_len = 0;
    char *alone = malloc(dlen + 1);
    FUZZ_CHECK(alone != NULL);
    FUZZ_CHECK(classify_digest(sql, size, opts, alone, dlen + 1, &alone_len) == hash);
    FUZZ_CHECK(alone_len == dlen && memcmp(alone, digest, dlen + 1) == 0);

    if (dlen > 0) {
        size_t cap = dlen / 2 + 1, short_len = 0;
        char *part = malloc(cap);
        FUZZ_CHECK(part != NULL);
        FUZZ_CHECK(classify_digest(sql, size, opts, part, cap, &short_len) == hash);
        FUZZ_CHECK(short_len == dlen);
        FUZZ_CHECK(part[cap - 1] == '\0' && memcmp(part, digest, cap - 1) == 0);
        free(part);
    }

    /* The digest of the digest is itself. */
    char *dcopy = (char *)fuzz_dup(digest, dlen);
    char *again = malloc(dlen + 1);
    FUZZ_CHECK(again != NULL);
    size_t again_len = 0;
    uint64_t again_hash = classify_digest(dcopy, dlen, opts, again, dlen + 1, &again_len);
    FUZZ_CHECK(again_len == dlen && memcmp(again, digest, dlen) == 0);
    FUZZ_CHECK(again_hash == hash);

    check_find_ident(sql, size, opts);
    (void)classify_is_keyword(sql, size);
    (void)classify_kind_to_str(plain.kind);

    free(again);
    free(dcopy);
    free(alone);
    free(digest);
    free(sql);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (unsigned opts = 0; opts <= (CLO_NO_BACKSLASH_ESCAPES | CLO_ANSI_QUOTES); opts++)
        check_mode(data, size, opts);
    return 0;
}
