/*
 * test_accounts.c: the servers' accounts as data (accounts.h).
 *
 *   - the sort: exact hosts first (ties: host bytes descending, so
 *     'localhost' before '127.0.0.1'), then patterns by reach ('_' before
 *     '%', more plain characters first), '%' last; named users before
 *     anonymous ones of the same host
 *   - host patterns: wildcards, escapes, case folding for names only,
 *     address/netmask
 *   - the lookup: the first matching host of the user's own accounts, and
 *     an anonymous account wins with a more specific host
 *   - rows: methods (native, invalid, unix_socket, auth_or chains, others),
 *     roles, names the server does not resolve, locks, expiry, REQUIRE,
 *     limits
 *   - the stand-in of an unknown name: the name's case and trailing spaces
 *     do not change it
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/accounts.h"

#define H2_PW "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19" /* "password" */

/* A row with the given user, host, method and string; the rest empty. */
static void row_init(const char **row, const char *user, const char *host, const char *plugin,
                     const char *string)
{
    for (int i = 0; i < ACOL__COUNT; i++)
        row[i] = NULL;
    row[ACOL_USER] = user;
    row[ACOL_HOST] = host;
    row[ACOL_PLUGIN] = plugin;
    row[ACOL_AUTH_STRING] = string;
    row[ACOL_DEFAULT_LIFETIME] = "0";
}

static void add(struct account_table *t, const char *user, const char *host)
{
    const char *row[ACOL__COUNT];
    char why[80];
    row_init(row, user, host, "mysql_native_password", H2_PW);
    t->v = realloc(t->v, (t->n + 1) * sizeof(*t->v));
    assert_non_null(t->v);
    assert_int_equal(accounts_parse_row(row, true, &t->v[t->n], why, sizeof(why)), HY_OK);
    t->n++;
}

static void test_sort_order(void **state)
{
    (void)state;
    static const char *const hosts[] = {
        "%",    "192.168.%",   "localhost", "%.example.com",
        "h_st", "192.168.1.%", "127.0.0.1", "10.0.0.0/255.0.0.0",
    };
    static const char *const want[] = {
        "localhost",     "127.0.0.1",   "10.0.0.0/255.0.0.0", "h_st",
        "%.example.com", "192.168.1.%", "192.168.%",          "%",
    };
    struct account_table t = {0};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
        add(&t, "bob", hosts[i]);
    add(&t, "", "localhost");
    add(&t, "alice", "%");
    accounts_sort(&t);
    assert_string_equal(t.v[0].user, ""); /* by name first */
    assert_string_equal(t.v[1].user, "alice");
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_string_equal(t.v[2 + i].user, "bob");
        assert_string_equal(t.v[2 + i].host, want[i]);
    }
    /* a named user is more specific than an anonymous one of the same host */
    assert_true(accounts_sort_key("localhost", "bob") > accounts_sort_key("localhost", ""));
    /* ... but not than a more specific host */
    assert_true(accounts_sort_key("localhost", "") > accounts_sort_key("%", "bob"));
    /* '_' reaches fewer names than '%' */
    assert_true(accounts_sort_key("10.0.0._", "u") > accounts_sort_key("10.0.0.%", "u"));
    free(t.v);
}

static void test_host_match(void **state)
{
    (void)state;
    struct account_table t = {0};
    add(&t, "u", "192.168.1.%");
    add(&t, "u", "10.0.0.0/255.0.0.0");
    add(&t, "u", "h_st");
    add(&t, "u", "%.example.com");
    add(&t, "u", "a\\_b");
    add(&t, "u", "");
    const struct account *a = t.v;
    assert_true(accounts_host_match(&a[0], NULL, "192.168.1.5"));
    assert_false(accounts_host_match(&a[0], NULL, "192.168.10.5"));
    assert_true(accounts_host_match(&a[1], NULL, "10.2.3.4"));
    assert_false(accounts_host_match(&a[1], NULL, "11.0.0.1"));
    assert_false(accounts_host_match(&a[1], "10.2.3.4", NULL)); /* a mask is for addresses */
    assert_true(accounts_host_match(&a[2], "HOST", NULL));      /* names fold case */
    assert_false(accounts_host_match(&a[2], NULL, "HOST"));     /* addresses do not */
    assert_false(accounts_host_match(&a[2], "hosts", NULL));
    assert_true(accounts_host_match(&a[3], "db.example.com", "10.9.9.9"));
    assert_false(accounts_host_match(&a[3], NULL, "10.9.9.9"));
    assert_true(accounts_host_match(&a[4], "a_b", NULL));
    assert_false(accounts_host_match(&a[4], "axb", NULL));
    assert_true(accounts_host_match(&a[5], NULL, "203.0.113.1")); /* '' is '%' */
    free(t.v);
}

static void test_find(void **state)
{
    (void)state;
    struct account_table t = {0};
    add(&t, "bob", "%");
    add(&t, "bob", "127.0.0.1");
    add(&t, "", "localhost");
    add(&t, "carol", "10.%");
    accounts_sort(&t);
    const struct account *a = accounts_find(&t, "bob", NULL, "127.0.0.1");
    assert_non_null(a);
    assert_string_equal(a->host, "127.0.0.1");
    a = accounts_find(&t, "bob", NULL, "10.1.1.1");
    assert_non_null(a);
    assert_string_equal(a->host, "%");
    /* 'localhost' only when the server names the client so */
    a = accounts_find(&t, "dave", NULL, "127.0.0.1");
    assert_null(a);
    a = accounts_find(&t, "dave", "localhost", "127.0.0.1");
    assert_non_null(a);
    assert_string_equal(a->user, "");
    /* carol's only host does not match, the anonymous account does */
    a = accounts_find(&t, "carol", "localhost", "127.0.0.1");
    assert_non_null(a);
    assert_string_equal(a->user, "");
    a = accounts_find(&t, "carol", NULL, "10.0.0.7");
    assert_non_null(a);
    assert_string_equal(a->user, "carol");
    free(t.v);

    /* ''@localhost is more specific than bob@'%': it wins for bob too */
    memset(&t, 0, sizeof(t));
    add(&t, "bob", "%");
    add(&t, "", "localhost");
    accounts_sort(&t);
    a = accounts_find(&t, "bob", "localhost", "127.0.0.1");
    assert_non_null(a);
    assert_string_equal(a->user, "");
    a = accounts_find(&t, "bob", NULL, "192.0.2.1");
    assert_non_null(a);
    assert_string_equal(a->user, "bob");
    free(t.v);
}

static void test_rows(void **state)
{
    (void)state;
    const char *row[ACOL__COUNT];
    char why[80];
    struct account a;

    row_init(row, "n", "%", "mysql_native_password", H2_PW);
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.auth, ACCOUNT_NATIVE);
    assert_false(a.no_password);
    assert_false(a.fail_no_mention);
    assert_false(a.fail_no_mention_empty);
    assert_int_equal(a.h2[0], 0x24);

    row_init(row, "n", "%", "mysql_native_password", "");
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.auth, ACCOUNT_NATIVE);
    assert_true(a.no_password);

    row_init(row, "mariadb.sys", "localhost", "mysql_native_password", "");
    row[ACOL_AUTH_STRING] = "invalid";
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.auth, ACCOUNT_INVALID);

    /* root as mariadb-install-db makes it: native "invalid" OR unix_socket */
    row_init(row, "root", "localhost", "mysql_native_password", "invalid");
    row[ACOL_OR_COUNT] = "2";
    row[ACOL_OR1_PLUGIN] = "unix_socket";
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.auth, ACCOUNT_UNIX_SOCKET);
    assert_true(a.fail_no_mention);

    /* unix_socket OR a password: the password works over TCP */
    row_init(row, "r2", "%", "unix_socket", "");
    row[ACOL_OR_COUNT] = "2";
    row[ACOL_OR1_PLUGIN] = "mysql_native_password";
    row[ACOL_OR1_STRING] = H2_PW;
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.auth, ACCOUNT_NATIVE);
    assert_false(a.fail_no_mention);
    /* ... but given no password the native method leaves unix_socket's
     * "no mention": the server answers 1698 */
    assert_true(a.fail_no_mention_empty);

    row_init(row, "e", "%", "ed25519", "ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY");
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.auth, ACCOUNT_OTHER);
    assert_string_equal(a.plugin, "ed25519");

    /* mysql_old_password (IDENTIFIED BY PASSWORD '16 hex digits'): its
     * hash, and whether the server refuses it (secure_auth; unknown: ON) */
    row_init(row, "o", "%", "mysql_old_password", "09301740536db389");
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.auth, ACCOUNT_OLD);
    assert_int_equal(a.old_hash[0], 0x09301740u);
    assert_int_equal(a.old_hash[1], 0x536db389u);
    assert_false(a.no_password);
    assert_true(a.secure_auth);
    row[ACOL_SECURE_AUTH] = "0";
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_false(a.secure_auth);
    row[ACOL_AUTH_STRING] = "";
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.auth, ACCOUNT_OLD);
    assert_true(a.no_password);
    row[ACOL_AUTH_STRING] = "0930174";
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.auth, ACCOUNT_INVALID); /* no password gives that string */

    row_init(row, "role1", "", NULL, NULL);
    row[ACOL_IS_ROLE] = "true";
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_AGAIN);

    /* a host name: ignored under skip_name_resolve, as the server does */
    row_init(row, "n", "db.example.com", "mysql_native_password", H2_PW);
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_AGAIN);
    assert_int_equal(accounts_parse_row(row, true, &a, why, sizeof(why)), HY_OK);
    row[ACOL_HOST] = "localhost";
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);

    row_init(row, "n", "%", "mysql_native_password", H2_PW);
    row[ACOL_LOCKED] = "true";
    row[ACOL_LAST_CHANGED] = "0";
    row[ACOL_SSL_TYPE] = "3";
    row[ACOL_X509_SUBJECT] = "/CN=app";
    row[ACOL_MAX_USER_CONN] = "5";
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_true(a.locked);
    assert_true(a.expired);
    assert_int_equal(a.ssl, ACCOUNT_SSL_SPECIFIED);
    assert_string_equal(a.x509_subject, "/CN=app");
    assert_int_equal(a.max_user_connections, 5);

    /* a lifetime: its own, or the server's default (-1) */
    row_init(row, "n", "%", "mysql_native_password", H2_PW);
    row[ACOL_LAST_CHANGED] = "1700000000";
    row[ACOL_LIFETIME] = "10";
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_false(a.expired);
    assert_int_equal(a.expires_at, 1700000000 + 10 * 86400);
    row[ACOL_LIFETIME] = "-1";
    row[ACOL_DEFAULT_LIFETIME] = "2";
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.expires_at, 1700000000 + 2 * 86400);
    row[ACOL_LIFETIME] = "0";
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.expires_at, 0);

    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    row_init(row, longname, "%", "mysql_native_password", H2_PW);
    assert_int_equal(accounts_parse_row(row, false, &a, why, sizeof(why)), HY_ERROR);
}

static void test_stand_in(void **state)
{
    (void)state;
    struct account_table t = {0};
    assert_null(accounts_stand_in(&t, "x"));
    for (int i = 0; i < 7; i++) {
        char name[16];
        snprintf(name, sizeof(name), "user%d", i);
        add(&t, name, "%");
    }
    accounts_sort(&t);
    const struct account *a = accounts_stand_in(&t, "scanner");
    assert_non_null(a);
    assert_ptr_equal(accounts_stand_in(&t, "SCANNER"), a);
    assert_ptr_equal(accounts_stand_in(&t, "scanner  "), a);
    /* different names spread over the table */
    int seen[7] = {0};
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%d", i);
        seen[accounts_stand_in(&t, name) - t.v] = 1;
    }
    for (int i = 0; i < 7; i++)
        assert_true(seen[i]);
    free(t.v);
}

static void test_loopback(void **state)
{
    (void)state;
    assert_true(accounts_loopback("127.0.0.1"));
    assert_true(accounts_loopback("127.1.2.3"));
    assert_true(accounts_loopback("::1"));
    assert_false(accounts_loopback("10.0.0.1"));
    assert_false(accounts_loopback("::2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_order), cmocka_unit_test(test_host_match),
        cmocka_unit_test(test_find),       cmocka_unit_test(test_rows),
        cmocka_unit_test(test_stand_in),   cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
