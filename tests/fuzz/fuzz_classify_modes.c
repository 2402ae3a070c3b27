/*
 * fuzz_classify_modes.c: libFuzzer target for what the lexing modes change
 * (classify.h's CLO_* options and classify_sql_mode()).
 *
 * fuzz_classify checks each mode on its own; this target compares them.
 * The input is classified under all four combinations of
 * NO_BACKSLASH_ESCAPES and ANSI_QUOTES, in a heap buffer of exactly its
 * length. Checked:
 *  - a text without a backslash lexes the same with and without
 *    NO_BACKSLASH_ESCAPES, and a text without a double quote the same with
 *    and without ANSI_QUOTES: same kind, flags, statement kinds and count,
 *    hint, schema, and digest (text and hash). A difference there would be
 *    the lexer reading a mode where the mode has nothing to say;
 *  - the input read as a sql_mode value gives only CLO_* bits, and the same
 *    bits as the value with its names upper-cased (names are
 *    case-insensitive).
 */
#include <ctype.h>

#include "fuzz.h"

#include "halyard/sql/classify.h"

#define CLO_ALL   (CLO_NO_BACKSLASH_ESCAPES | CLO_ANSI_QUOTES)
#define DIGEST_MAX 512

struct seen {
    struct classify_result res;
    char digest[DIGEST_MAX];
    size_t digest_len;
    uint64_t hash;
};

static void run(const char *sql, size_t len, unsigned opts, struct seen *out)
{
    struct classify_digest dg = {.buf = out->digest, .cap = sizeof(out->digest)};

    classify(sql, len, opts, &out->res, &dg);
    out->digest_len = dg.len;
    out->hash = dg.hash;
}

static int same(const struct seen *a, const struct seen *b)
{
    return a->res.kind == b->res.kind && a->res.flags == b->res.flags &&
           a->res.kinds == b->res.kinds && a->res.nstmt == b->res.nstmt &&
           a->res.hint == b->res.hint && strcmp(a->res.schema, b->res.schema) == 0 &&
           a->digest_len == b->digest_len && a->hash == b->hash &&
           strcmp(a->digest, b->digest) == 0;
}

static void check_sql_mode(const uint8_t *data, size_t size)
{
    char *mode = (char *)fuzz_dup(data, size);
    unsigned opts = classify_sql_mode(mode, size);

    FUZZ_CHECK((opts & ~CLO_ALL) == 0);
    for (size_t i = 0; i < size; i++)
        mode[i] = (char)toupper((unsigned char)mode[i]);
    FUZZ_CHECK(classify_sql_mode(mode, size) == opts);
    free(mode);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sql = (char *)fuzz_dup(data, size);
    struct seen *s = calloc(4, sizeof(*s));
    bool backslash = memchr(data, '\\', size) != NULL;
    bool dquote = memchr(data, '"', size) != NULL;

    FUZZ_CHECK(s != NULL);
    for (unsigned opts = 0; opts <= CLO_ALL; opts++)
        run(sql, size, opts, &s[opts]);
    if (!backslash) {
        FUZZ_CHECK(same(&s[0], &s[CLO_NO_BACKSLASH_ESCAPES]));
        FUZZ_CHECK(same(&s[CLO_ANSI_QUOTES], &s[CLO_ALL]));
    }
    if (!dquote) {
        FUZZ_CHECK(same(&s[0], &s[CLO_ANSI_QUOTES]));
        FUZZ_CHECK(same(&s[CLO_NO_BACKSLASH_ESCAPES], &s[CLO_ALL]));
    }
    check_sql_mode(data, size);
    free(s);
    free(sql);
    return 0;
}
