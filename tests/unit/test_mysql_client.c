/*
 * test_mysql_client.c: the client half of the login (mysql_client.h) as a
 * table of server packets in and decisions out: the packet it sends is
 * decoded back with mysql_proto's server-side decoder and its password
 * token checked with auth_native_verify, as a server would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/auth.h"
#include "halyard/protocol/mysql_client.h"

#define PW "s3cret"

static const uint8_t SCRAMBLE[MYSQL_SCRAMBLE_LEN] = "abcdefghij0123456789";

#define SERVER_CAPS_ALL                                                                            \
    (CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH |   \
     CLIENT_CONNECT_WITH_DB | CLIENT_CONNECT_ATTRS | CLIENT_DEPRECATE_EOF | CLIENT_SSL |           \
     CLIENT_TRANSACTIONS | CLIENT_MULTI_RESULTS)

/* A v10 greeting with `caps` and MariaDB's extended `ext_caps`, as payload;
 * returns its length. */
static size_t greeting_ext(uint32_t caps, uint32_t ext_caps, uint8_t *out, size_t cap)
{
    struct mysql_handshake hs = {0};
    hs.protocol = 10;
    hs.server_version = "11.4.2-MariaDB";
    hs.server_version_len = strlen(hs.server_version);
    hs.conn_id = 77;
    memcpy(hs.scramble, SCRAMBLE, sizeof(hs.scramble));
    hs.caps = caps;
    hs.ext_caps = ext_caps;
    hs.charset = 45;
    hs.plugin = "mysql_native_password";
    hs.plugin_len = strlen(hs.plugin);
    size_t n = mysql_handshake_encode(&hs, out, cap);
    assert_true(n > 0);
    return n;
}

static size_t greeting(uint32_t caps, uint8_t *out, size_t cap)
{
    return greeting_ext(caps, 0, out, cap);
}

static struct mysql_client_creds plain_creds(void)
{
    return (struct mysql_client_creds){
        .user = "app",
        .password = PW,
        .charset = 45,
        .max_packet = 0x1000000u,
        .want_caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION |
                     CLIENT_TRANSACTIONS | CLIENT_DEPRECATE_EOF,
        .tls = TLS_OFF,
    };
}

/* The login in `out` is what a server would accept for `user` and PW. */
static void assert_login(const uint8_t *out, size_t out_len, uint8_t want_seq, const char *user,
                         const char *db, const uint8_t *scramble)
{
    assert_true(out_len > MYSQL_HEADER_SIZE);
    assert_int_equal(mysql_hdr_len(out), out_len - MYSQL_HEADER_SIZE);
    assert_int_equal(mysql_hdr_seq(out), want_seq);
    struct mysql_login lg;
    assert_int_equal(mysql_login_decode(out + MYSQL_HEADER_SIZE, out_len - MYSQL_HEADER_SIZE, &lg),
                     HY_OK);
    assert_int_equal(lg.user_len, strlen(user));
    assert_memory_equal(lg.user, user, lg.user_len);
    if (db == NULL) {
        assert_null(lg.db);
    } else {
        assert_int_equal(lg.db_len, strlen(db));
        assert_memory_equal(lg.db, db, lg.db_len);
    }
    uint8_t h2[MYSQL_SHA1_LEN], h1[MYSQL_SHA1_LEN];
    auth_hash_password(PW, strlen(PW), h2);
    assert_true(auth_native_verify(scramble, lg.auth, lg.auth_len, h2, h1));
}

static void test_plain_login_then_ok(void **state)
{
    (void)state;
    struct mysql_client mc = {0};
    struct mysql_client_creds cr = plain_creds();
    uint8_t g[256], out[MYSQL_CLIENT_OUT_MAX];
    size_t gl = greeting(SERVER_CAPS_ALL & ~(uint32_t)CLIENT_DEPRECATE_EOF, g, sizeof(g));
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_SEND);
    assert_int_equal(mc.thread_id, 77);
    assert_string_equal(mc.version, "11.4.2-MariaDB");
    /* kept only what the server has; never SSL, never CONNECT_WITH_DB without a db */
    assert_false(mc.caps & CLIENT_DEPRECATE_EOF);
    assert_true(mc.caps & CLIENT_TRANSACTIONS);
    assert_true(mc.caps & CLIENT_PLUGIN_AUTH);
    assert_false(mc.caps & (CLIENT_SSL | CLIENT_CONNECT_WITH_DB | CLIENT_CONNECT_ATTRS));
    assert_login(out, mc.out_len, 1, "app", NULL, SCRAMBLE);
    static const uint8_t ok[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
    assert_int_equal(mysql_client_packet(&mc, &cr, 2, ok, sizeof(ok), out), MYSQL_CLIENT_READY);
    assert_int_equal(mc.out_len, 0);
}

static void test_derived_secret_and_db(void **state)
{
    (void)state;
    /* a proxy's login: H1/H2 instead of the password, a schema */
    uint8_t h2[MYSQL_SHA1_LEN], h1[MYSQL_SHA1_LEN], reply[MYSQL_SCRAMBLE_LEN];
    auth_hash_password(PW, strlen(PW), h2);
    auth_native_scramble(SCRAMBLE, PW, strlen(PW), reply);
    assert_true(auth_native_verify(SCRAMBLE, reply, sizeof(reply), h2, h1));
    struct mysql_client mc = {0};
    struct mysql_client_creds cr = plain_creds();
    cr.password = NULL;
    cr.h1 = h1;
    cr.h2 = h2;
    cr.db = "shop";
    uint8_t g[256], out[MYSQL_CLIENT_OUT_MAX];
    size_t gl = greeting(SERVER_CAPS_ALL, g, sizeof(g));
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_SEND);
    assert_true(mc.caps & CLIENT_CONNECT_WITH_DB);
    assert_login(out, mc.out_len, 1, "app", "shop", SCRAMBLE);
}

static void test_auth_switch(void **state)
{
    (void)state;
    struct mysql_client mc = {0};
    struct mysql_client_creds cr = plain_creds();
    uint8_t g[256], out[MYSQL_CLIENT_OUT_MAX];
    size_t gl = greeting(SERVER_CAPS_ALL, g, sizeof(g));
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_SEND);
    /* the server switches to native with a new scramble */
    static const uint8_t sw[] = "\xfe"
                                "mysql_native_password\0"
                                "ZYXWVUTSRQ9876543210\0";
    assert_int_equal(mysql_client_packet(&mc, &cr, 2, sw, sizeof(sw) - 1, out), MYSQL_CLIENT_SEND);
    assert_int_equal(mc.out_len, MYSQL_HEADER_SIZE + MYSQL_SCRAMBLE_LEN);
    assert_int_equal(mysql_hdr_seq(out), 3);
    uint8_t h2[MYSQL_SHA1_LEN], h1[MYSQL_SHA1_LEN];
    auth_hash_password(PW, strlen(PW), h2);
    assert_true(auth_native_verify((const uint8_t *)"ZYXWVUTSRQ9876543210", out + MYSQL_HEADER_SIZE,
                                   MYSQL_SCRAMBLE_LEN, h2, h1));
    /* to another plugin: refused, naming it */
    struct mysql_client mc2 = {0};
    assert_int_equal(mysql_client_packet(&mc2, &cr, 0, g, gl, out), MYSQL_CLIENT_SEND);
    static const uint8_t sw2[] = "\xfe"
                                 "client_ed25519\0"
                                 "abcdefghijklmnopqrstuvwxyz012345";
    assert_int_equal(mysql_client_packet(&mc2, &cr, 2, sw2, sizeof(sw2) - 1, out),
                     MYSQL_CLIENT_FAILED);
    assert_int_equal(mc2.fail, MYSQL_CLIENT_BAD_PLUGIN);
    assert_int_equal(mc2.plugin_len, strlen("client_ed25519"));
    assert_memory_equal(mc2.plugin, "client_ed25519", mc2.plugin_len);
}

static void test_no_password_sends_empty_token(void **state)
{
    (void)state;
    struct mysql_client mc = {0};
    struct mysql_client_creds cr = plain_creds();
    cr.password = "";
    uint8_t g[256], out[MYSQL_CLIENT_OUT_MAX];
    size_t gl = greeting(SERVER_CAPS_ALL, g, sizeof(g));
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_SEND);
    struct mysql_login lg;
    assert_int_equal(
        mysql_login_decode(out + MYSQL_HEADER_SIZE, mc.out_len - MYSQL_HEADER_SIZE, &lg), HY_OK);
    assert_int_equal(lg.auth_len, 0);
}

static void test_tls(void **state)
{
    (void)state;
    struct mysql_client mc = {0};
    struct mysql_client_creds cr = plain_creds();
    cr.tls = TLS_VERIFY_CA;
    uint8_t g[256], out[MYSQL_CLIENT_OUT_MAX];
    size_t gl = greeting(SERVER_CAPS_ALL, g, sizeof(g));
    /* first the 32-byte SSLRequest, with CLIENT_SSL */
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_TLS);
    assert_int_equal(mc.out_len, MYSQL_HEADER_SIZE + 32);
    assert_int_equal(mysql_hdr_seq(out), 1);
    assert_true(mc.caps & CLIENT_SSL);
    /* after the handshake, the login with the next sequence id */
    assert_int_equal(mysql_client_tls_done(&mc, &cr, out), MYSQL_CLIENT_SEND);
    assert_login(out, mc.out_len, 2, "app", NULL, SCRAMBLE);
    /* a server without TLS: never a plaintext login */
    struct mysql_client mc2 = {0};
    gl = greeting(SERVER_CAPS_ALL & ~(uint32_t)CLIENT_SSL, g, sizeof(g));
    assert_int_equal(mysql_client_packet(&mc2, &cr, 0, g, gl, out), MYSQL_CLIENT_FAILED);
    assert_int_equal(mc2.fail, MYSQL_CLIENT_NO_TLS);
    assert_int_equal(mc2.out_len, 0);
}

static void test_refusals(void **state)
{
    (void)state;
    struct mysql_client_creds cr = plain_creds();
    uint8_t g[256], out[MYSQL_CLIENT_OUT_MAX];
    /* the server's ERR instead of a greeting, and instead of the OK */
    static const uint8_t err[] = "\xff\x15\x04#28000Access denied";
    struct mysql_client mc = {0};
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, err, sizeof(err) - 1, out),
                     MYSQL_CLIENT_REFUSED);
    size_t gl = greeting(SERVER_CAPS_ALL, g, sizeof(g));
    mc = (struct mysql_client){0};
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_SEND);
    assert_int_equal(mysql_client_packet(&mc, &cr, 2, err, sizeof(err) - 1, out),
                     MYSQL_CLIENT_REFUSED);
    /* a garbled greeting */
    static const uint8_t junk[] = "\x09garbage";
    mc = (struct mysql_client){0};
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, junk, sizeof(junk) - 1, out),
                     MYSQL_CLIENT_FAILED);
    assert_int_equal(mc.fail, MYSQL_CLIENT_BAD_GREETING);
    /* a server lacking what the client needs (framing) */
    cr.need_caps = CLIENT_DEPRECATE_EOF;
    gl = greeting(SERVER_CAPS_ALL & ~(uint32_t)CLIENT_DEPRECATE_EOF, g, sizeof(g));
    mc = (struct mysql_client){0};
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_FAILED);
    assert_int_equal(mc.fail, MYSQL_CLIENT_BAD_CAPS);
    assert_false(mc.server_caps & CLIENT_DEPRECATE_EOF);
    /* a packet with no place in the login (an EOF after the login) */
    cr.need_caps = 0;
    gl = greeting(SERVER_CAPS_ALL, g, sizeof(g));
    mc = (struct mysql_client){0};
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_SEND);
    static const uint8_t eof[] = {0x01, 0x02};
    assert_int_equal(mysql_client_packet(&mc, &cr, 2, eof, sizeof(eof), out), MYSQL_CLIENT_FAILED);
    assert_int_equal(mc.fail, MYSQL_CLIENT_UNEXPECTED);
}

/* MariaDB's extended capabilities: asked for when wanted and offered,
 * CLIENT_MYSQL set when none is; a server without a needed one is refused. */
static void test_ext_caps(void **state)
{
    (void)state;
    struct mysql_client_creds cr = plain_creds();
    cr.want_ext_caps = MARIADB_CLIENT_EXTENDED_METADATA;
    cr.need_ext_caps = MARIADB_CLIENT_EXTENDED_METADATA;
    uint8_t g[256], out[MYSQL_CLIENT_OUT_MAX];
    uint32_t mariadb = SERVER_CAPS_ALL & ~(uint32_t)CLIENT_MYSQL;
    size_t gl = greeting_ext(mariadb, MARIADB_CLIENT_EXTENDED_METADATA | MARIADB_CLIENT_PROGRESS, g,
                             sizeof(g));
    struct mysql_client mc = {0};
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_SEND);
    assert_int_equal(mc.ext_caps, MARIADB_CLIENT_EXTENDED_METADATA);
    assert_false(mc.caps & CLIENT_MYSQL);
    struct mysql_login lg;
    assert_int_equal(
        mysql_login_decode(out + MYSQL_HEADER_SIZE, mc.out_len - MYSQL_HEADER_SIZE, &lg), HY_OK);
    assert_int_equal(lg.ext_caps, MARIADB_CLIENT_EXTENDED_METADATA);

    /* not wanted: none asked for, CLIENT_MYSQL set */
    cr.want_ext_caps = cr.need_ext_caps = 0;
    mc = (struct mysql_client){0};
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_SEND);
    assert_int_equal(mc.ext_caps, 0);
    assert_true(mc.caps & CLIENT_MYSQL);
    assert_int_equal(
        mysql_login_decode(out + MYSQL_HEADER_SIZE, mc.out_len - MYSQL_HEADER_SIZE, &lg), HY_OK);
    assert_int_equal(lg.ext_caps, 0);

    /* needed, and the server (a MySQL one: CLIENT_MYSQL set) has none */
    cr.want_ext_caps = cr.need_ext_caps = MARIADB_CLIENT_EXTENDED_METADATA;
    gl = greeting_ext(SERVER_CAPS_ALL, MARIADB_CLIENT_EXTENDED_METADATA, g, sizeof(g));
    mc = (struct mysql_client){0};
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_FAILED);
    assert_int_equal(mc.fail, MYSQL_CLIENT_BAD_CAPS);
    assert_int_equal(mc.server_ext_caps, 0);
}

static void test_attrs_dropped_when_too_large(void **state)
{
    (void)state;
    static uint8_t attrs[3000];
    memset(attrs, 'a', sizeof(attrs));
    struct mysql_client mc = {0};
    struct mysql_client_creds cr = plain_creds();
    cr.attrs = attrs;
    cr.attrs_len = sizeof(attrs);
    uint8_t g[256], out[MYSQL_CLIENT_OUT_MAX];
    size_t gl = greeting(SERVER_CAPS_ALL, g, sizeof(g));
    assert_int_equal(mysql_client_packet(&mc, &cr, 0, g, gl, out), MYSQL_CLIENT_SEND);
    assert_false(mc.caps & CLIENT_CONNECT_ATTRS);
    assert_login(out, mc.out_len, 1, "app", NULL, SCRAMBLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_login_then_ok),
        cmocka_unit_test(test_derived_secret_and_db),
        cmocka_unit_test(test_auth_switch),
        cmocka_unit_test(test_no_password_sends_empty_token),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_ext_caps),
        cmocka_unit_test(test_attrs_dropped_when_too_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
