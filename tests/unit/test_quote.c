/*
 * test_quote.c: sql_quote (quote.h), table-driven: plain text, quotes
 * doubled, backslashes escaped unless NO_BACKSLASH_ESCAPES, bytes as they
 * are, and a value that does not fit refused whole, never cut short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/sql/quote.h"

struct quote_case {
    const char *in;
    size_t cap;
    const char *out; /* "" with length 0: refused */
    enum sql_quote_mode mode;
};

static const struct quote_case cases[] = {
    {"", 16, "''"},
    {"db1.example", 64, "'db1.example'"},
    {"it's", 16, "'it''s'"}, /* doubled: read the same under any sql_mode */
    {"a\\b", 16, "'a\\\\b'"},
    {"'\\'", 16, "'''\\\\'''"},
    /* NO_BACKSLASH_ESCAPES: a backslash is itself, a quote still doubled */
    {"a\\b", 16, "'a\\b'", SQ_NO_BACKSLASH},
    {"'\\'", 16, "'''\\'''", SQ_NO_BACKSLASH},
    {"a\\", 5, "'a\\'", SQ_NO_BACKSLASH},
    {"a\\", 5, ""}, /* escaped, it does not fit */
    {"caf\xc3\xa9", 16, "'caf\xc3\xa9'"},
    {"0-1-42", 9, "'0-1-42'"}, /* exactly fits: 8 bytes and the NUL */
    {"0-1-42", 8, ""},         /* one byte short */
    {"ab'", 6, ""},            /* the doubled quote does not fit */
    {"ab'", 7, "'ab'''"},
    {"", 3, "''"},
    {"", 2, ""},
    {"x", 0, ""},
};

static void test_quote(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(cases); i++) {
        const struct quote_case *c = &cases[i];
        char out[64];
        memset(out, 'Z', sizeof(out));
        size_t n = sql_quote(out, c->cap, c->in, c->mode);
        if (c->cap > 0 && strcmp(out, c->out) != 0)
            fail_msg("case %zu: got <%s>, want <%s>", i, out, c->out);
        assert_int_equal(n, strlen(c->out));
        if (c->cap == 0)
            assert_int_equal(out[0], 'Z'); /* nothing written */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
