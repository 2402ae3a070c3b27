/*
 * test_varstate.c: session state as values (varstate.h).
 *
 *   - each value renders as the literal that gives it back exactly
 *   - invalid names and values are refused, the state unchanged
 *   - varstate_apply() renders only what differs, in a fixed order, packed
 *     under the size bound; resets what only the connection has; refuses
 *     what it cannot undo
 *   - the byte budget is kept; copy and equality
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/varstate.h"

#define TXT(s) (const uint8_t *)(s), sizeof(s) - 1

static void test_literals(void **state)
{
    (void)state;
    static const struct {
        struct varstate_value v;
        const char *want; /* NULL: invalid */
    } cases[] = {
        {{VS_NULL, NULL, 0, NULL}, "NULL"},
        {{VS_DEFAULT, NULL, 0, NULL}, "DEFAULT"},
        {{VS_INT, TXT("42"), NULL}, "42"},
        {{VS_INT, TXT("0"), NULL}, "0"},
        {{VS_INT, TXT("-42"), NULL}, "CAST(-42 AS SIGNED)"},
        {{VS_INT, TXT("-9223372036854775808"), NULL}, "CAST(-9223372036854775808 AS SIGNED)"},
        {{VS_UINT, TXT("18446744073709551615"), NULL}, "CAST(18446744073709551615 AS UNSIGNED)"},
        {{VS_DOUBLE, TXT("0.37998524157329017"), NULL}, "0.37998524157329017e0"},
        {{VS_DOUBLE, TXT("-1.5e-300"), NULL}, "-1.5e-300"},
        {{VS_DOUBLE, TXT("1E+20"), NULL}, "1E+20"},
        {{VS_DECIMAL, TXT("145170.2845703534"), NULL}, "145170.2845703534"},
        {{VS_DECIMAL, TXT("-0.10"), NULL}, "-0.10"},
        {{VS_DECIMAL, TXT("5"), NULL}, "CAST(5 AS DECIMAL(65,0))"},
        {{VS_BINARY, TXT("\x00\xff\x80"), NULL}, "_binary X'00FF80'"},
        {{VS_BINARY, NULL, 0, NULL}, "_binary X''"},
        {{VS_STRING, TXT("\xc3\xa9"), "utf8mb4_general_ci"},
         "_utf8mb4 X'C3A9' COLLATE utf8mb4_general_ci"},
        {{VS_STRING, TXT("\xe9"), "latin1_swedish_ci"}, "_latin1 X'E9' COLLATE latin1_swedish_ci"},
        {{VS_STRING, TXT("it's"), "utf8mb4_uca1400_ai_ci"},
         "_utf8mb4 X'69742773' COLLATE utf8mb4_uca1400_ai_ci"},
        {{VS_STRING, TXT("\x01"), "binary"}, "_binary X'01'"},
        {{VS_STRING, NULL, 0, "utf8mb3_bin"}, "_utf8mb3 X'' COLLATE utf8mb3_bin"},
        /* typed NULLs */
        {{VS_INT, NULL, 0, NULL, true}, "CAST(NULL AS SIGNED)"},
        {{VS_UINT, NULL, 0, NULL, true}, "CAST(NULL AS UNSIGNED)"},
        {{VS_DOUBLE, NULL, 0, NULL, true}, "CAST(NULL AS DOUBLE)"},
        {{VS_DECIMAL, TXT("ignored"), NULL, true}, "CAST(NULL AS DECIMAL(65,30))"},
        {{VS_BINARY, NULL, 0, NULL, true}, "NULL"},
        {{VS_STRING, NULL, 0, "latin1_bin", true}, "CONVERT(NULL USING latin1) COLLATE latin1_bin"},
        {{VS_STRING, NULL, 0, NULL, true}, NULL},
        {{VS_DEFAULT, NULL, 0, NULL, true}, NULL},
        /* invalid */
        {{VS_INT, TXT("4 2"), NULL}, NULL},
        {{VS_INT, TXT("-"), NULL}, NULL},
        {{VS_INT, TXT(""), NULL}, NULL},
        {{VS_INT, TXT("1; DROP TABLE t"), NULL}, NULL},
        {{VS_UINT, TXT("-1"), NULL}, NULL},
        {{VS_DOUBLE, TXT("1.5)"), NULL}, NULL},
        {{VS_DOUBLE, TXT("e"), NULL}, NULL},
        {{VS_DECIMAL, TXT("1.2.3"), NULL}, NULL},
        {{VS_DECIMAL, TXT("."), NULL}, NULL},
        {{VS_STRING, TXT("x"), NULL}, NULL},
        {{VS_STRING, TXT("x"), "utf8mb4' OR 1"}, NULL},
        {{VS_STRING, TXT("x"), ""}, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128];
        size_t n = varstate_literal(&cases[i].v, out, sizeof(out));
        if (cases[i].want == NULL) {
            assert_int_equal(n, 0);
            continue;
        }
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
        /* too small a buffer: truncated, NUL-terminated, the length it needs */
        char small[8];
        assert_int_equal(varstate_literal(&cases[i].v, small, sizeof(small)), n);
        assert_int_equal(strlen(small), HY_MIN(n, sizeof(small) - 1));
    }
}

static void test_names(void **state)
{
    (void)state;
    static const struct {
        enum varstate_scope sc;
        const char *name;
        bool ok;
    } cases[] = {
        {VS_USER, "id", true},
        {VS_USER, "my var-1.x", true},
        {VS_USER, "\xc3\xa9t\xc3\xa9", true},
        {VS_USER, "", false},
        {VS_USER, "a`b", false},
        {VS_USER, "a'b", false},
        {VS_USER, "a\\b", false},
        {VS_USER, "a\nb", false},
        {VS_USER, "0123456789012345678901234567890123456789012345678901234567890123", true},
        {VS_USER, "01234567890123456789012345678901234567890123456789012345678901234", false},
        {VS_SYSTEM, "sql_mode", true},
        {VS_SYSTEM, "SQL_MODE", true},
        {VS_SYSTEM, "a.b", false},
        {VS_SYSTEM, "a b", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(varstate_name_valid(cases[i].sc, cases[i].name, strlen(cases[i].name)),
                         cases[i].ok);
}

static void set_int(struct varstate *vs, enum varstate_scope sc, const char *name, const char *v)
{
    /* "" stands for an integer NULL */
    struct varstate_value x = {VS_INT, (const uint8_t *)v, strlen(v), NULL, v[0] == '\0'};
    assert_int_equal(varstate_set(vs, sc, name, strlen(name), &x), HY_OK);
}

static void set_str(struct varstate *vs, enum varstate_scope sc, const char *name, const char *v)
{
    struct varstate_value x = {VS_STRING, (const uint8_t *)v, strlen(v), "utf8mb4_bin"};
    assert_int_equal(varstate_set(vs, sc, name, strlen(name), &x), HY_OK);
}

/* The commands as text: "Q:SQL" for COM_QUERY, "D:db", "O:n", joined by '|'. */
static char *cmds_text(const struct varstate_cmds *c)
{
    static char out[4096];
    size_t at = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < c->n; i++) {
        const struct varstate_cmd *x = &c->v[i];
        const char *tag = x->pkt[0] == COM_QUERY ? "Q:" : x->pkt[0] == COM_INIT_DB ? "D:" : "O:";
        at += (size_t)snprintf(out + at, sizeof(out) - at, "%s%s", i ? "|" : "", tag);
        if (x->pkt[0] == COM_SET_OPTION)
            at += (size_t)snprintf(out + at, sizeof(out) - at, "%u", x->pkt[1] | x->pkt[2] << 8);
        else
            at += (size_t)snprintf(out + at, sizeof(out) - at, "%.*s", (int)(x->len - 1),
                                   (const char *)x->pkt + 1);
    }
    return out;
}

/* A state described in a line: "s:name=int" system, "u:name=int" user,
 * "U:name=str", "d:schema", "o:option", "t:statement", separated by ';'. */
static void build(struct varstate *vs, const char *desc)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", desc);
    for (char *tok = strtok(buf, ";"); tok != NULL; tok = strtok(NULL, ";")) {
        char *eq = strchr(tok, '=');
        switch (tok[0]) {
        case 's':
        case 'u':
        case 'U':
            *eq = '\0';
            if (tok[0] == 'U')
                set_str(vs, VS_USER, tok + 2, eq + 1);
            else
                set_int(vs, tok[0] == 's' ? VS_SYSTEM : VS_USER, tok + 2, eq + 1);
            break;
        case 'd':
            assert_int_equal(varstate_set_schema(vs, tok + 2, strlen(tok + 2)), HY_OK);
            break;
        case 'o':
            varstate_set_option(vs, atoi(tok + 2));
            break;
        case 't':
            assert_int_equal(varstate_add_stmt(vs, tok + 2, strlen(tok + 2)), HY_OK);
            break;
        default:
            fail();
        }
    }
}

static void test_apply(void **state)
{
    (void)state;
    static const struct {
        const char *conn, *want;
        size_t max;
        const char *cmds; /* NULL: HY_ERROR */
        uint8_t login_cs; /* the connection's login collation; 0 unknown */
    } cases[] = {
        /* nothing to do */
        {"", "", 1000, ""},
        {"o:0", "o:0", 1000, ""},
        {"d:db1", "d:db1", 1000, ""},
        /* no variable on one side (varstate_apply skips the SET only when
         * neither has one): each part alone still makes its command */
        {"", "o:0", 1000, "O:0"},
        {"", "d:db1", 1000, "D:db1"},
        {"", "s:x=1", 1000, "Q:SET @@session.x = 1"},
        {"", "u:a=1", 1000, "Q:SET @`a` = 1"},
        {"", "t:SET ROLE r", 1000, "Q:SET ROLE r"},
        {"s:x=1", "", 1000, "Q:SET @@session.x = DEFAULT"},
        {"u:a=1;s:x=2", "s:x=2;u:a=1", 1000, ""},
        /* everything, in order: option, schema, system (by name), user, statements */
        {"", "t:SET ROLE r;u:b=2;s:sql_mode=0;d:db1;o:1;s:autocommit=0;u:a=1", 1000,
         "O:1|D:db1|Q:SET @@session.autocommit = 0, @@session.sql_mode = 0, @`a` = 1, @`b` = 2"
         "|Q:SET ROLE r"},
        /* only what differs */
        {"u:a=1;u:b=2;d:db1", "u:a=1;u:b=3;d:db1", 1000, "Q:SET @`b` = 3"},
        {"d:db1", "d:db2", 1000, "D:db2"},
        /* names are case-insensitive */
        {"u:A=1", "u:a=1", 1000, ""},
        {"s:SQL_MODE=1", "s:sql_mode=2", 1000, "Q:SET @@session.sql_mode = 2"},
        /* what only the connection has goes back */
        {"u:a=1;s:x=1", "", 1000, "Q:SET @@session.x = DEFAULT, @`a` = NULL"},
        /* no DEFAULT for these (1230): left as they are */
        {"s:rand_seed1=5;s:rand_seed2=7;s:last_insert_id=3;s:identity=3;s:insert_id=9", "", 1000,
         "Q:SET @@session.insert_id = DEFAULT"},
        /* the character set variables to the login's collation, not the
         * global value; without a login collation, DEFAULT */
        {"s:character_set_client=1;s:collation_connection=1;s:character_set_results=1;s:x=1", "",
         1000,
         "Q:SET @@session.character_set_client = 8, @@session.character_set_results = 8, "
         "@@session.collation_connection = 8, @@session.x = DEFAULT",
         8},
        {"s:character_set_connection=1", "", 1000,
         "Q:SET @@session.character_set_connection = DEFAULT", 0},
        {"s:character_set_connection=1", "s:character_set_connection=2", 1000,
         "Q:SET @@session.character_set_connection = 2", 45},
        /* the same value, another type, is another value */
        {"u:a=1", "U:a=1", 1000, "Q:SET @`a` = _utf8mb4 X'31' COLLATE utf8mb4_bin"},
        {"u:a=", "U:a=", 1000, "Q:SET @`a` = _utf8mb4 X'' COLLATE utf8mb4_bin"},
        {"u:a=0", "u:a=", 1000, "Q:SET @`a` = CAST(NULL AS SIGNED)"},
        {"u:a=", "", 1000, "Q:SET @`a` = NULL"},
        /* statements: those past the connection's */
        {"t:SET ROLE r", "t:SET ROLE r;t:SET SESSION TRANSACTION READ ONLY", 1000,
         "Q:SET SESSION TRANSACTION READ ONLY"},
        /* packed under the bound: "SET @`a` = 1" is 12, ", @`b` = 2" 10 */
        {"", "u:a=1;u:b=2;u:c=3", 12, "Q:SET @`a` = 1|Q:SET @`b` = 2|Q:SET @`c` = 3"},
        {"", "u:a=1;u:b=2;u:c=3", 31, "Q:SET @`a` = 1, @`b` = 2|Q:SET @`c` = 3"},
        {"", "u:a=1;u:b=2;u:c=3", 32, "Q:SET @`a` = 1, @`b` = 2, @`c` = 3"},
        /* one assignment larger than the bound */
        {"", "u:a=1", 11, NULL},
        /* what cannot be undone on this connection */
        {"d:db1", "", 1000, NULL},
        {"o:1", "", 1000, NULL},
        {"o:1", "o:0", 1000, NULL},
        {"t:SET ROLE r", "", 1000, NULL},
        {"t:SET ROLE r", "t:SET ROLE s", 1000, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct varstate *conn = varstate_create(100000), *want = varstate_create(100000);
        assert_non_null(conn);
        assert_non_null(want);
        build(conn, cases[i].conn);
        build(want, cases[i].want);
        struct varstate_cmds c = {0};
        hy_status_t rc = varstate_apply(conn, want, cases[i].login_cs, cases[i].max, &c);
        if (cases[i].cmds == NULL) {
            assert_int_equal(rc, HY_ERROR);
            assert_int_equal(c.n, 0);
        } else {
            assert_int_equal(rc, HY_OK);
            assert_string_equal(cmds_text(&c), cases[i].cmds);
            /* applying makes them equal: conn as a copy of want needs nothing */
            assert_int_equal(varstate_equal(conn, want), c.n == 0);
            assert_int_equal(varstate_copy(conn, want), HY_OK);
            assert_true(varstate_equal(conn, want));
            struct varstate_cmds none = {0};
            assert_int_equal(varstate_apply(conn, want, cases[i].login_cs, cases[i].max, &none),
                             HY_OK);
            assert_int_equal(none.n, 0);
        }
        varstate_cmds_free(&c);
        varstate_destroy(conn);
        varstate_destroy(want);
    }
}

static void test_set_get(void **state)
{
    (void)state;
    struct varstate *vs = varstate_create(100000);
    assert_non_null(vs);
    struct varstate_value v, bin = {VS_BINARY, TXT("\x00\x01"), NULL};
    assert_int_equal(varstate_set(vs, VS_USER, "Blob", 4, &bin), HY_OK);
    assert_true(varstate_get(vs, VS_USER, "bLOB", 4, &v));
    assert_int_equal(v.type, VS_BINARY);
    assert_int_equal(v.len, 2);
    assert_memory_equal(v.data, "\x00\x01", 2);
    assert_false(varstate_get(vs, VS_SYSTEM, "blob", 4, &v));
    assert_int_equal(varstate_count(vs, VS_USER), 1);

    /* refused: the state unchanged */
    struct varstate_value bad = {VS_INT, TXT("x"), NULL};
    assert_int_equal(varstate_set(vs, VS_USER, "blob", 4, &bad), HY_ERROR);
    struct varstate_value dflt = {VS_DEFAULT, NULL, 0, NULL};
    assert_int_equal(varstate_set(vs, VS_USER, "blob", 4, &dflt), HY_ERROR);
    assert_int_equal(varstate_set(vs, VS_SYSTEM, "a-b", 3, &bin), HY_ERROR);
    assert_true(varstate_get(vs, VS_USER, "blob", 4, &v));
    assert_int_equal(v.type, VS_BINARY);

    /* NULL keeps no bytes */
    size_t before = varstate_bytes(vs);
    struct varstate_value null = {VS_NULL, TXT("ignored"), NULL};
    assert_int_equal(varstate_set(vs, VS_USER, "blob", 4, &null), HY_OK);
    assert_int_equal(varstate_bytes(vs), before - 2);

    assert_null(varstate_schema(vs));
    assert_int_equal(varstate_set_schema(vs, "db", 2), HY_OK);
    assert_string_equal(varstate_schema(vs), "db");
    assert_int_equal(varstate_set_schema(vs, "a\0b", 3), HY_ERROR);
    assert_int_equal(varstate_option(vs), -1);

    /* the same statement twice in a row is kept once */
    assert_int_equal(varstate_add_stmt(vs, "SET ROLE r", 10), HY_OK);
    before = varstate_bytes(vs);
    assert_int_equal(varstate_add_stmt(vs, "SET ROLE r", 10), HY_OK);
    assert_int_equal(varstate_bytes(vs), before);
    /* read in order; false past the last */
    assert_int_equal(varstate_add_stmt(vs, "SET SESSION TRANSACTION READ ONLY", 33), HY_OK);
    const char *sql;
    size_t len;
    assert_true(varstate_stmt_get(vs, 0, &sql, &len));
    assert_int_equal(len, 10);
    assert_memory_equal(sql, "SET ROLE r", 10);
    assert_true(varstate_stmt_get(vs, 1, &sql, &len));
    assert_int_equal(len, 33);
    assert_false(varstate_stmt_get(vs, 2, &sql, &len));
    /* dropped: those after it move up, its bytes given back */
    assert_int_equal(varstate_add_stmt(vs, "SET TRANSACTION READ ONLY", 25), HY_OK);
    before = varstate_bytes(vs);
    assert_true(varstate_stmt_drop(vs, 1));
    assert_true(varstate_bytes(vs) < before);
    assert_true(varstate_stmt_get(vs, 1, &sql, &len));
    assert_int_equal(len, 25);
    assert_memory_equal(sql, "SET TRANSACTION READ ONLY", 25);
    assert_false(varstate_stmt_get(vs, 2, &sql, &len));
    assert_false(varstate_stmt_drop(vs, 2));
    assert_true(varstate_stmt_drop(vs, 1));
    assert_true(varstate_stmt_drop(vs, 0));
    assert_false(varstate_stmt_get(vs, 0, &sql, &len));

    varstate_clear(vs);
    assert_int_equal(varstate_bytes(vs), 0);
    assert_int_equal(varstate_count(vs, VS_USER), 0);
    assert_null(varstate_schema(vs));
    varstate_destroy(vs);
}

static void test_budget(void **state)
{
    (void)state;
    struct varstate *vs = varstate_create(2000);
    assert_non_null(vs);
    static uint8_t big[1500];
    memset(big, 'x', sizeof(big));
    struct varstate_value v = {VS_BINARY, big, sizeof(big), NULL};
    assert_int_equal(varstate_set(vs, VS_USER, "a", 1, &v), HY_OK);
    size_t held = varstate_bytes(vs);
    assert_true(held > sizeof(big) && held <= 2000);
    /* a second one does not fit; replacing the first with a smaller one does */
    assert_int_equal(varstate_set(vs, VS_USER, "b", 1, &v), HY_ERROR);
    assert_int_equal(varstate_bytes(vs), held);
    assert_int_equal(varstate_count(vs, VS_USER), 1);
    v.len = 10;
    assert_int_equal(varstate_set(vs, VS_USER, "a", 1, &v), HY_OK);
    assert_int_equal(varstate_set(vs, VS_USER, "b", 1, &v), HY_OK);
    assert_int_equal(varstate_add_stmt(vs, (const char *)big, 2000 - varstate_bytes(vs)), HY_ERROR);

    /* a copy into a smaller budget is refused, and leaves dst empty */
    struct varstate *small = varstate_create(100);
    assert_non_null(small);
    assert_int_equal(varstate_copy(small, vs), HY_ERROR);
    assert_int_equal(varstate_bytes(small), 0);
    varstate_destroy(small);
    varstate_destroy(vs);
}

static void test_unset(void **state)
{
    (void)state;
    struct varstate *vs = varstate_create(10000);
    assert_non_null(vs);
    const struct varstate_value v = {.type = VS_UINT, .data = (const uint8_t *)"100", .len = 3};
    assert_int_equal(varstate_set(vs, VS_SYSTEM, "insert_id", 9, &v), HY_OK);
    assert_int_equal(varstate_set(vs, VS_SYSTEM, "autocommit", 10, &v), HY_OK);
    size_t two = varstate_bytes(vs);
    assert_true(varstate_unset(vs, VS_SYSTEM, "INSERT_ID", 9));
    assert_false(varstate_unset(vs, VS_SYSTEM, "insert_id", 9));
    assert_false(varstate_unset(vs, VS_USER, "autocommit", 10));
    struct varstate_value out;
    assert_false(varstate_get(vs, VS_SYSTEM, "insert_id", 9, &out));
    assert_true(varstate_get(vs, VS_SYSTEM, "autocommit", 10, &out));
    assert_true(varstate_bytes(vs) < two);
    assert_int_equal(varstate_count(vs, VS_SYSTEM), 1);
    varstate_destroy(vs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals), cmocka_unit_test(test_names),
        cmocka_unit_test(test_apply),    cmocka_unit_test(test_set_get),
        cmocka_unit_test(test_budget),   cmocka_unit_test(test_unset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
