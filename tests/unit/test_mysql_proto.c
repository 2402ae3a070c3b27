/*
 * test_mysql_proto.c: raw packet bytes in, decoded fields out; encoders give
 * the same bytes back; the response tracker gives the right verdict for
 * every packet of every kind of answer.
 *
 * Packets are written as concatenated string literals, one protocol field
 * per literal, so each can be checked against the protocol documentation by
 * eye. (A literal ends after every \x escape that a hex digit would follow.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/mysql_proto.h"

#define LIT_LEN(s) (sizeof(s) - 1)
#define LIT(s)     (const uint8_t *)(s), LIT_LEN(s)
#define SL(s)      (s), LIT_LEN(s)

/* Decoders get an exact-size heap copy, so ASan sees any read past len. */
static uint8_t *dup_exact(const uint8_t *b, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    if (n)
        memcpy(p, b, n);
    return p;
}

static void assert_str_eq(const char *got, size_t got_len, const char *want)
{
    assert_non_null(got);
    assert_int_equal(got_len, strlen(want));
    assert_memory_equal(got, want, got_len);
}

/* ---- framing ------------------------------------------------------------ */

static void test_hdr(void **state)
{
    (void)state;
    uint8_t h[4];
    mysql_hdr_write(h, 0xabcdef, 7);
    assert_memory_equal(h, "\xef\xcd\xab\x07", 4);
    assert_int_equal(mysql_hdr_len(h), 0xabcdef);
    assert_int_equal(mysql_hdr_seq(h), 7);
    mysql_hdr_write(h, MYSQL_MAX_PAYLOAD, 255);
    assert_memory_equal(h, "\xff\xff\xff\xff", 4);
    assert_int_equal(mysql_hdr_len(h), MYSQL_MAX_PAYLOAD);
}

/* ---- primitives --------------------------------------------------------- */

struct lenenc_case {
    const char *bytes;
    size_t len;
    uint64_t value;
    bool bad;
    size_t used; /* bytes consumed when good */
};

#define LC(s, v, b, u)                                                                             \
    {                                                                                              \
        s, LIT_LEN(s), v, b, u                                                                     \
    }

static const struct lenenc_case lenenc_cases[] = {
    LC("\x00", 0, false, 1),
    LC("\x01", 1, false, 1),
    LC("\xfa", 250, false, 1),
    LC("\xfb", 0, true, 0), /* NULL is not a length */
    LC("\xff", 0, true, 0), /* not an integer prefix */
    LC("\xfc\xfb\x00", 251, false, 3),
    LC("\xfc\xff\xff", 0xffff, false, 3),
    LC("\xfc\x05\x00", 5, false, 3), /* non-minimal, but well-formed */
    LC("\xfd\x00\x00\x01", 0x10000, false, 4),
    LC("\xfd\xff\xff\xff", 0xffffff, false, 4),
    LC("\xfe\x00\x00\x00\x01\x00\x00\x00\x00", 0x1000000, false, 9),
    LC("\xfe\xff\xff\xff\xff\xff\xff\xff\xff", UINT64_MAX, false, 9),
    LC("\xfe\x08\x07\x06\x05\x04\x03\x02\x01", 0x0102030405060708ull, false, 9),
    LC("", 0, true, 0),
    LC("\xfc", 0, true, 0),
    LC("\xfc\x01", 0, true, 0),
    LC("\xfd\x01\x02", 0, true, 0),
    LC("\xfe\x01\x02\x03\x04\x05\x06\x07", 0, true, 0),
};

static void test_lenenc_read(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(lenenc_cases); i++) {
        const struct lenenc_case *c = &lenenc_cases[i];
        uint8_t *b = dup_exact((const uint8_t *)c->bytes, c->len);
        struct mysql_rd rd;
        mysql_rd_init(&rd, b, c->len);
        uint64_t v = mysql_rd_lenenc(&rd);
        if (rd.bad != c->bad || (!c->bad && (v != c->value || rd.p != b + c->used)))
            fail_msg("lenenc case %zu: bad=%d value=%llu", i, rd.bad, (unsigned long long)v);
        free(b);
    }
}

struct lenenc_wcase {
    uint64_t value;
    const char *bytes;
    size_t len;
};

#define LW(v, s)                                                                                   \
    {                                                                                              \
        v, s, LIT_LEN(s)                                                                           \
    }

static const struct lenenc_wcase lenenc_wcases[] = {
    LW(0, "\x00"),
    LW(250, "\xfa"),
    LW(251, "\xfc\xfb\x00"),
    LW(0xffff, "\xfc\xff\xff"),
    LW(0x10000, "\xfd\x00\x00\x01"),
    LW(0xffffff, "\xfd\xff\xff\xff"),
    LW(0x1000000, "\xfe\x00\x00\x00\x01\x00\x00\x00\x00"),
    LW(UINT64_MAX, "\xfe\xff\xff\xff\xff\xff\xff\xff\xff"),
};

static void test_lenenc_write(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(lenenc_wcases); i++) {
        const struct lenenc_wcase *c = &lenenc_wcases[i];
        uint8_t out[16];
        struct mysql_wr wr;
        mysql_wr_init(&wr, out, sizeof(out));
        mysql_wr_lenenc(&wr, c->value);
        assert_int_equal(mysql_wr_len(&wr), c->len);
        assert_memory_equal(out, c->bytes, c->len);

        /* and back */
        struct mysql_rd rd;
        mysql_rd_init(&rd, out, c->len);
        assert_true(mysql_rd_lenenc(&rd) == c->value);
        assert_false(rd.bad);
        assert_int_equal(mysql_rd_left(&rd), 0);

        /* one byte short: nothing written, length 0 */
        memset(out, 0xaa, sizeof(out));
        mysql_wr_init(&wr, out, c->len - 1);
        mysql_wr_lenenc(&wr, c->value);
        assert_true(wr.bad);
        assert_int_equal(mysql_wr_len(&wr), 0);
    }
}

static void test_rd_fixed(void **state)
{
    (void)state;
    static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12};
    struct mysql_rd rd;
    mysql_rd_init(&rd, b, sizeof(b));
    assert_int_equal(mysql_rd_u8(&rd), 0x01);
    assert_int_equal(mysql_rd_u16(&rd), 0x0302);
    assert_int_equal(mysql_rd_u24(&rd), 0x060504);
    assert_int_equal(mysql_rd_u32(&rd), 0x0a090807);
    assert_true(mysql_rd_u64(&rd) == 0x1211100f0e0d0c0bull);
    assert_false(rd.bad);
    assert_int_equal(mysql_rd_left(&rd), 0);
    assert_int_equal(mysql_rd_u8(&rd), 0);
    assert_true(rd.bad);

    /* A failed read is sticky, even if a later, shorter read would fit. */
    mysql_rd_init(&rd, b, 3);
    assert_int_equal(mysql_rd_u32(&rd), 0);
    assert_true(rd.bad);
    assert_int_equal(mysql_rd_u8(&rd), 0);
    assert_int_equal(mysql_rd_left(&rd), 0);
    assert_null(mysql_rd_bytes(&rd, 0));

    /* An empty NULL payload is just empty. */
    mysql_rd_init(&rd, NULL, 0);
    assert_int_equal(mysql_rd_left(&rd), 0);
    size_t n = 9;
    assert_null(mysql_rd_cstr(&rd, &n));
    assert_int_equal(n, 0);
    assert_true(rd.bad);
}

static void test_rd_strings(void **state)
{
    (void)state;
    static const uint8_t b[] = "ab\0\x03xyzrest";
    struct mysql_rd rd;
    size_t n;

    mysql_rd_init(&rd, b, sizeof(b) - 1);
    const char *s = mysql_rd_cstr(&rd, &n);
    assert_str_eq(s, n, "ab");
    const uint8_t *l = mysql_rd_lenenc_str(&rd, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(l, "xyz", 3);
    assert_memory_equal(mysql_rd_bytes(&rd, 4), "rest", 4);
    assert_false(rd.bad);
    assert_null(mysql_rd_bytes(&rd, 1));
    assert_true(rd.bad);

    /* No NUL before the end: cut short. */
    mysql_rd_init(&rd, b + 4, 3);
    assert_null(mysql_rd_cstr(&rd, &n));
    assert_true(rd.bad);

    /* A lenenc length larger than what is left. */
    static const uint8_t big[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'a'};
    mysql_rd_init(&rd, big, sizeof(big));
    assert_null(mysql_rd_lenenc_str(&rd, &n));
    assert_int_equal(n, 0);
    assert_true(rd.bad);

    /* An empty lenenc string is fine. */
    mysql_rd_init(&rd, (const uint8_t *)"\x00", 1);
    assert_non_null(mysql_rd_lenenc_str(&rd, &n));
    assert_int_equal(n, 0);
    assert_false(rd.bad);
}

static void test_wr(void **state)
{
    (void)state;
    uint8_t out[32];
    struct mysql_wr wr;

    mysql_wr_init(&wr, out, sizeof(out));
    mysql_wr_u8(&wr, 0x01);
    mysql_wr_u16(&wr, 0x0302);
    mysql_wr_u24(&wr, 0x060504);
    mysql_wr_u32(&wr, 0x0a090807);
    mysql_wr_cstr(&wr, "ab", 2);
    mysql_wr_lenenc_str(&wr, "xyz", 3);
    mysql_wr_zero(&wr, 2);
    mysql_wr_bytes(&wr, NULL, 0);
    mysql_wr_cstr(&wr, NULL, 0);
    static const char want[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
                               "ab\0"
                               "\x03xyz"
                               "\0\0"
                               "\0";
    assert_int_equal(mysql_wr_len(&wr), LIT_LEN(want));
    assert_memory_equal(out, want, LIT_LEN(want));

    /* Overflow: nothing past cap is written and the length is 0. */
    memset(out, 0xaa, sizeof(out));
    mysql_wr_init(&wr, out, 4);
    mysql_wr_u16(&wr, 0x1111);
    mysql_wr_u24(&wr, 0x222222);
    assert_true(wr.bad);
    mysql_wr_u8(&wr, 0x33); /* would fit, but bad is sticky */
    assert_int_equal(mysql_wr_len(&wr), 0);
    assert_memory_equal(out, "\x11\x11\xaa\xaa\xaa", 5);
}

/* ---- handshake v10 ------------------------------------------------------ */

/* A MariaDB 10.11 greeting, as Debian 12's server sends it: the "5.5.5-"
 * version prefix, caps 0x81fff7fe (no CLIENT_MYSQL bit: look at the
 * extended caps), extended caps 0x1d in the last 4 reserved bytes. */
static const char greeting_mariadb[] = "\x0a"                            /* protocol */
                                       "5.5.5-10.11.6-MariaDB-0+deb12u1" /* version */
                                       "\0"
                                       "\x2a\x00\x00\x00"         /* conn id 42 */
                                       "8I!q*Lm?"                 /* scramble 1 */
                                       "\x00"                     /* filler */
                                       "\xfe\xf7"                 /* caps lower */
                                       "\x2d"                     /* charset 45 */
                                       "\x02\x00"                 /* status */
                                       "\xff\x81"                 /* caps upper */
                                       "\x15"                     /* auth len 21 */
                                       "\x00\x00\x00\x00\x00\x00" /* reserved */
                                       "\x1d\x00\x00\x00"         /* MariaDB ext */
                                       "V{r7&XbT:9n^"             /* scramble 2 */
                                       "\x00"                     /* its NUL */
                                       "mysql_native_password"    /* plugin */
                                       "\0";

#define GREETING_PLUGIN_OFF     (LIT_LEN(greeting_mariadb) - 22)
#define GREETING_CAPS_LOWER_OFF (1 + 32 + 4 + 8 + 1)

static void test_handshake_decode_mariadb(void **state)
{
    (void)state;
    struct mysql_handshake hs;
    uint8_t *b = dup_exact(LIT(greeting_mariadb));

    assert_int_equal(mysql_handshake_decode(b, LIT_LEN(greeting_mariadb), &hs), HY_OK);
    assert_int_equal(hs.protocol, 10);
    assert_str_eq(hs.server_version, hs.server_version_len, "5.5.5-10.11.6-MariaDB-0+deb12u1");
    assert_int_equal(hs.server_version[hs.server_version_len], '\0');
    assert_int_equal(hs.conn_id, 42);
    assert_memory_equal(hs.scramble, "8I!q*Lm?V{r7&XbT:9n^", MYSQL_SCRAMBLE_LEN);
    assert_int_equal(hs.caps, 0x81fff7feu);
    assert_int_equal(hs.ext_caps, 0x1d); /* CLIENT_MYSQL unset: MariaDB's are read */
    assert_true(hs.caps & CLIENT_DEPRECATE_EOF);
    assert_false(hs.caps & CLIENT_SSL);
    assert_int_equal(hs.charset, 45);
    assert_int_equal(hs.status, SERVER_STATUS_AUTOCOMMIT);
    assert_str_eq(hs.plugin, hs.plugin_len, "mysql_native_password");

    /* Every prefix: cut before the plugin name is an error; the plugin name
     * itself may be missing or (as 5.5.7-5.5.9 sent it) unterminated. */
    for (size_t n = 0; n < LIT_LEN(greeting_mariadb); n++) {
        uint8_t *t = dup_exact(b, n);
        hy_status_t want = n < GREETING_PLUGIN_OFF ? HY_ERROR : HY_OK;
        if (mysql_handshake_decode(t, n, &hs) != want)
            fail_msg("greeting cut at %zu: want %d", n, want);
        free(t);
    }
    free(b);
}

static void test_handshake_decode_bad(void **state)
{
    (void)state;
    struct mysql_handshake hs;
    uint8_t b[LIT_LEN(greeting_mariadb)];

    /* Protocol 9. */
    memcpy(b, greeting_mariadb, sizeof(b));
    b[0] = 9;
    assert_int_equal(mysql_handshake_decode(b, sizeof(b), &hs), HY_ERROR);

    /* An ERR instead of a greeting (too many connections). */
    static const char err[] = "\xff\x10\x04"
                              "Too many connections";
    assert_int_equal(mysql_handshake_decode(LIT(err), &hs), HY_ERROR);

    /* No CLIENT_SECURE_CONNECTION: no second scramble part. */
    memcpy(b, greeting_mariadb, sizeof(b));
    size_t caps_off = 1 + 32 + 4 + 8 + 1;
    b[caps_off + 1] &= 0x7f;
    assert_int_equal(mysql_handshake_decode(b, sizeof(b), &hs), HY_ERROR);

    /* An auth-plugin-data length that claims more than the packet holds. */
    memcpy(b, greeting_mariadb, sizeof(b));
    b[caps_off + 7] = 0xff;
    assert_int_equal(mysql_handshake_decode(b, sizeof(b), &hs), HY_ERROR);
}

/* A MySQL 5.0-era greeting: no PLUGIN_AUTH, auth-plugin-data length 0, a
 * 13-byte second part and no plugin name. */
static const char greeting_old[] = "\x0a"
                                   "5.0.96"
                                   "\0"
                                   "\x05\x00\x00\x00"
                                   "abcdefgh"
                                   "\x00"
                                   "\x2c\xa2" /* PROTOCOL_41 | SECURE_CONNECTION ... */
                                   "\x08"
                                   "\x02\x00"
                                   "\x00\x00"
                                   "\x00"
                                   "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                   "ijklmnopqrst"
                                   "\x00";

static void test_handshake_decode_old(void **state)
{
    (void)state;
    struct mysql_handshake hs;
    uint8_t *b = dup_exact(LIT(greeting_old));

    assert_int_equal(mysql_handshake_decode(b, LIT_LEN(greeting_old), &hs), HY_OK);
    assert_str_eq(hs.server_version, hs.server_version_len, "5.0.96");
    assert_int_equal(hs.caps, 0xa22c);
    assert_memory_equal(hs.scramble, "abcdefghijklmnopqrst", MYSQL_SCRAMBLE_LEN);
    assert_null(hs.plugin);
    for (size_t n = 0; n < LIT_LEN(greeting_old); n++) {
        uint8_t *t = dup_exact(b, n);
        if (mysql_handshake_decode(t, n, &hs) != HY_ERROR)
            fail_msg("old greeting cut at %zu decoded", n);
        free(t);
    }
    free(b);
}

/* A server announcing more auth-plugin-data than 21 bytes: part 2 is then
 * len - 8 bytes, of which the scramble is the first 12. */
static void test_handshake_decode_long_auth_data(void **state)
{
    (void)state;
    static const char p[] = "\x0a"
                            "8.0.36"
                            "\0"
                            "\x05\x00\x00\x00"
                            "abcdefgh"
                            "\x00"
                            "\xff\xff"
                            "\xff"
                            "\x02\x00"
                            "\xff\xdf"
                            "\x19" /* 25: part 2 is 17 bytes */
                            "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                            "ijklmnopqrst"
                            "uvwx"
                            "\x00"
                            "caching_sha2_password"
                            "\0";
    struct mysql_handshake hs;
    assert_int_equal(mysql_handshake_decode(LIT(p), &hs), HY_OK);
    assert_memory_equal(hs.scramble, "abcdefghijklmnopqrst", MYSQL_SCRAMBLE_LEN);
    assert_str_eq(hs.plugin, hs.plugin_len, "caching_sha2_password");
}

/* What halyard itself sends: zeros in every reserved byte. */
static const char greeting_halyard[] = "\x0a"
                                       "5.7.99-halyard-0.1.0"
                                       "\0"
                                       "\x01\x02\x03\x04"
                                       "abcdefgh"
                                       "\x00"
                                       "\x00\xa2"
                                       "\x21"
                                       "\x02\x00"
                                       "\x2b\x01"
                                       "\x15"
                                       "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                       "ijklmnopqrst"
                                       "\x00"
                                       "mysql_native_password"
                                       "\0";

static void test_handshake_encode(void **state)
{
    (void)state;
    struct mysql_handshake hs = {
        .protocol = 10,
        .server_version = "5.7.99-halyard-0.1.0",
        .server_version_len = 20,
        .conn_id = 0x04030201,
        .caps = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION |
                CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH |
                CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_DEPRECATE_EOF,
        .charset = 33,
        .status = SERVER_STATUS_AUTOCOMMIT,
        .plugin = "mysql_native_password",
        .plugin_len = 21,
    };
    memcpy(hs.scramble, "abcdefghijklmnopqrst", MYSQL_SCRAMBLE_LEN);
    uint8_t out[128];
    size_t n = mysql_handshake_encode(&hs, out, sizeof(out));
    assert_int_equal(n, LIT_LEN(greeting_halyard));
    assert_memory_equal(out, greeting_halyard, n);

    struct mysql_handshake back;
    assert_int_equal(mysql_handshake_decode(out, n, &back), HY_OK);
    assert_int_equal(back.caps, hs.caps);
    assert_int_equal(back.conn_id, hs.conn_id);
    assert_memory_equal(back.scramble, hs.scramble, MYSQL_SCRAMBLE_LEN);
    assert_str_eq(back.plugin, back.plugin_len, "mysql_native_password");

    /* Any smaller buffer: 0, never a partial greeting. */
    for (size_t cap = 0; cap < n; cap++)
        assert_int_equal(mysql_handshake_encode(&hs, out, cap), 0);

    /* Without PLUGIN_AUTH: auth-data length 0 and no plugin name. */
    hs.caps &= ~CLIENT_PLUGIN_AUTH;
    n = mysql_handshake_encode(&hs, out, sizeof(out));
    assert_int_equal(n, LIT_LEN(greeting_halyard) - 22);
    assert_int_equal(out[1 + 21 + 4 + 8 + 1 + 2 + 1 + 2 + 2], 0);
    assert_int_equal(mysql_handshake_decode(out, n, &back), HY_OK);
    assert_null(back.plugin);
    assert_memory_equal(back.scramble, hs.scramble, MYSQL_SCRAMBLE_LEN);
}

/* ---- handshake response ------------------------------------------------- */

/* The mariadb CLI (Connector/C 3.3) logging in as app to db shop. */
static const char login_cli[] = "\x8d\xa6\xff\x00" /* caps 0x00ffa68d */
                                "\x00\x00\x00\x01" /* max packet 16M */
                                "\x2d"             /* charset 45 */
                                "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" /* filler */
                                "app"
                                "\0"
                                "\x14" /* lenenc auth length */
                                "\x9a\x51\x0e\x22\x47\xd6\x01\xbb\xe0\x3c"
                                "\x77\x1f\x88\x04\x6c\x5d\xa2\x13\xf0\x39"
                                "shop"
                                "\0"
                                "mysql_native_password"
                                "\0"
                                "\x7f" /* attrs: 127 bytes of lenenc pairs */
                                "\x0c_client_name"
                                "\x0alibmariadb"
                                "\x0f_client_version"
                                "\x05"
                                "3.3.8"
                                "\x03_os"
                                "\x05Linux"
                                "\x04_pid"
                                "\x04"
                                "4242"
                                "\x09_platform"
                                "\x06x86_64"
                                "\x0c_server_host"
                                "\x09"
                                "127.0.0.1"
                                "\x0cprogram_name"
                                "\x07mariadb";

static void test_login_decode_cli(void **state)
{
    (void)state;
    struct mysql_login lg;
    uint8_t *b = dup_exact(LIT(login_cli));

    assert_int_equal(mysql_login_decode(b, LIT_LEN(login_cli), &lg), HY_OK);
    assert_int_equal(lg.caps, 0x00ffa68du);
    assert_int_equal(lg.max_packet, 0x01000000);
    assert_int_equal(lg.charset, 45);
    assert_false(lg.ssl_request);
    assert_str_eq(lg.user, lg.user_len, "app");
    assert_int_equal(lg.auth_len, 20);
    assert_memory_equal(lg.auth, "\x9a\x51\x0e\x22", 4);
    assert_str_eq(lg.db, lg.db_len, "shop");
    assert_str_eq(lg.plugin, lg.plugin_len, "mysql_native_password");
    assert_int_equal(lg.attrs_len, 127);
    assert_memory_equal(lg.attrs, "\x0c_client_name", 13);
    assert_ptr_equal(lg.attrs + lg.attrs_len, b + LIT_LEN(login_cli));

    /* Re-encoding gives the same bytes. */
    uint8_t out[256];
    size_t n = mysql_login_encode(&lg, out, sizeof(out));
    assert_int_equal(n, LIT_LEN(login_cli));
    assert_memory_equal(out, login_cli, n);
    free(b);
}

static void test_login_truncated(void **state)
{
    (void)state;
    /* Field ends: user 36, auth 57, db 62, plugin 84. A packet ending
     * exactly there is a client that sent no more; anywhere else a field is
     * cut (32 alone, without CLIENT_SSL, has no user). */
    static const size_t ends[] = {36, 57, 62, 84};
    struct mysql_login lg;

    for (size_t n = 0; n < LIT_LEN(login_cli); n++) {
        hy_status_t want = HY_ERROR;
        for (size_t i = 0; i < HY_ARRAY_SIZE(ends); i++)
            if (n == ends[i])
                want = HY_OK;
        uint8_t *t = dup_exact((const uint8_t *)login_cli, n);
        if (mysql_login_decode(t, n, &lg) != want)
            fail_msg("login cut at %zu: want %d", n, want);
        free(t);
    }

    /* Cut after auth: db, plugin, attrs all absent. */
    assert_int_equal(mysql_login_decode((const uint8_t *)login_cli, 57, &lg), HY_OK);
    assert_int_equal(lg.auth_len, 20);
    assert_null(lg.db);
    assert_null(lg.plugin);
    assert_null(lg.attrs);
}

/* A 4.1-era client: no PLUGIN_AUTH, no CONNECT_WITH_DB, 1-byte auth length. */
static const char login_old[] = "\x05\xa2\x02\x00" /* caps 0x0002a205 */
                                "\x00\x00\x00\x40" /* max packet 1G */
                                "\x08"             /* latin1 */
                                "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                "root"
                                "\0"
                                "\x14"
                                "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
                                "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14";

static void test_login_old_client(void **state)
{
    (void)state;
    struct mysql_login lg;
    uint8_t *b = dup_exact(LIT(login_old));

    assert_int_equal(mysql_login_decode(b, LIT_LEN(login_old), &lg), HY_OK);
    assert_int_equal(lg.caps, 0x0002a205u);
    assert_false(lg.caps & CLIENT_PLUGIN_AUTH);
    assert_int_equal(lg.charset, 8);
    assert_str_eq(lg.user, lg.user_len, "root");
    assert_int_equal(lg.auth_len, 20);
    assert_memory_equal(lg.auth, "\x01\x02", 2);
    assert_null(lg.db);
    assert_null(lg.plugin);
    assert_null(lg.attrs);

    uint8_t out[128];
    size_t n = mysql_login_encode(&lg, out, sizeof(out));
    assert_int_equal(n, LIT_LEN(login_old));
    assert_memory_equal(out, login_old, n);

    /* The auth length byte claims more than is there. */
    b[LIT_LEN(login_old) - 21] = 0x15;
    assert_int_equal(mysql_login_decode(b, LIT_LEN(login_old), &lg), HY_ERROR);
    free(b);
}

static void test_login_nul_auth(void **state)
{
    (void)state;
    /* Neither SECURE_CONNECTION nor LENENC: auth is NUL-terminated. */
    static const char p[] = "\x00\x02\x00\x00"
                            "\xff\xff\xff\x00"
                            "\x08"
                            "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                            "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                            "u"
                            "\0"
                            "ABCDEFGH"
                            "\0";
    struct mysql_login lg;
    assert_int_equal(mysql_login_decode(LIT(p), &lg), HY_OK);
    assert_int_equal(lg.auth_len, 8);
    assert_memory_equal(lg.auth, "ABCDEFGH", 8);
    assert_int_equal(mysql_login_decode((const uint8_t *)p, LIT_LEN(p) - 1, &lg), HY_ERROR);
}

static const char ssl_request[] = "\x8d\xae\xff\x00" /* caps with CLIENT_SSL */
                                  "\x00\x00\x00\x01"
                                  "\x2d"
                                  "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                  "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

static void test_login_ssl_request(void **state)
{
    (void)state;
    struct mysql_login lg;

    assert_int_equal(LIT_LEN(ssl_request), 32);
    assert_int_equal(mysql_login_decode(LIT(ssl_request), &lg), HY_OK);
    assert_true(lg.ssl_request);
    assert_true(lg.caps & CLIENT_SSL);
    assert_int_equal(lg.max_packet, 0x01000000);
    assert_int_equal(lg.charset, 45);
    assert_null(lg.user);

    uint8_t out[64];
    assert_int_equal(mysql_login_encode(&lg, out, sizeof(out)), 32);
    assert_memory_equal(out, ssl_request, 32);

    /* The same 32 bytes without CLIENT_SSL: a login with no user. */
    uint8_t b[32];
    memcpy(b, ssl_request, 32);
    b[1] &= (uint8_t)~0x08;
    assert_int_equal(mysql_login_decode(b, 32, &lg), HY_ERROR);
}

static void test_login_bad(void **state)
{
    (void)state;
    struct mysql_login lg;
    uint8_t b[LIT_LEN(login_old)];

    /* Pre-4.1 client (no CLIENT_PROTOCOL_41). */
    memcpy(b, login_old, sizeof(b));
    b[1] &= (uint8_t)~0x02;
    assert_int_equal(mysql_login_decode(b, sizeof(b), &lg), HY_ERROR);

    /* lenenc auth with the NULL prefix (the CLI login cut after auth). */
    uint8_t c[57];
    memcpy(c, login_cli, sizeof(c));
    assert_int_equal(mysql_login_decode(c, sizeof(c), &lg), HY_OK);
    c[36] = 0xfb;
    assert_int_equal(mysql_login_decode(c, sizeof(c), &lg), HY_ERROR);
}

static void test_login_encode_limits(void **state)
{
    (void)state;
    uint8_t auth[300] = {0};
    struct mysql_login lg = {
        .caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH |
                CLIENT_CONNECT_WITH_DB | CLIENT_CONNECT_ATTRS,
        .user = "u",
        .user_len = 1,
        .auth = auth,
        .auth_len = sizeof(auth),
    };
    uint8_t out[512];

    /* 300 bytes of auth do not fit a 1-byte length... */
    assert_int_equal(mysql_login_encode(&lg, out, sizeof(out)), 0);
    /* ...but do as lenenc. db and plugin NULL are written empty, attrs as an
     * empty block. */
    lg.caps |= CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
    size_t n = mysql_login_encode(&lg, out, sizeof(out));
    assert_int_equal(n, 32 + 2 + 3 + 300 + 1 + 1 + 1);
    struct mysql_login back;
    assert_int_equal(mysql_login_decode(out, n, &back), HY_OK);
    assert_int_equal(back.auth_len, 300);
    assert_int_equal(back.db_len, 0);
    assert_non_null(back.db);
    assert_int_equal(back.plugin_len, 0);
    assert_int_equal(back.attrs_len, 0);
}

/* ---- COM_CHANGE_USER ---------------------------------------------------- */

static const char change_user[] = "\x11"
                                  "app"
                                  "\0"
                                  "\x14"
                                  "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
                                  "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14"
                                  "shop"
                                  "\0"
                                  "\x2d\x00" /* charset */
                                  "mysql_native_password"
                                  "\0"
                                  "\x0a" /* attrs */
                                  "\x04_pid"
                                  "\x04"
                                  "4242";

#define CU_CAPS                                                                                    \
    (CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS |   \
     CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)

static void test_change_user(void **state)
{
    (void)state;
    struct mysql_change_user cu;
    uint8_t *b = dup_exact(LIT(change_user));

    /* LENENC_CLIENT_DATA is in caps but COM_CHANGE_USER ignores it. */
    assert_int_equal(mysql_change_user_decode(b, LIT_LEN(change_user), CU_CAPS, &cu), HY_OK);
    assert_str_eq(cu.user, cu.user_len, "app");
    assert_int_equal(cu.auth_len, 20);
    assert_int_equal(cu.auth[19], 0x14);
    assert_str_eq(cu.db, cu.db_len, "shop");
    assert_int_equal(cu.charset, 45);
    assert_str_eq(cu.plugin, cu.plugin_len, "mysql_native_password");
    assert_int_equal(cu.attrs_len, 10);

    /* Field ends: user 5, auth 26, db 31, charset 33, plugin 55. */
    static const size_t ends[] = {5, 26, 31, 33, 55};
    for (size_t n = 0; n < LIT_LEN(change_user); n++) {
        hy_status_t want = HY_ERROR;
        for (size_t i = 0; i < HY_ARRAY_SIZE(ends); i++)
            if (n == ends[i])
                want = HY_OK;
        uint8_t *t = dup_exact(b, n);
        if (mysql_change_user_decode(t, n, CU_CAPS, &cu) != want)
            fail_msg("change_user cut at %zu: want %d", n, want);
        free(t);
    }

    /* Not a COM_CHANGE_USER. */
    b[0] = COM_QUERY;
    assert_int_equal(mysql_change_user_decode(b, LIT_LEN(change_user), CU_CAPS, &cu), HY_ERROR);
    free(b);
}

/* The auth field of COM_CHANGE_USER has a 1-byte length even when the
 * session negotiated LENENC_CLIENT_DATA: 0xfb is 251 bytes, not NULL. */
static void test_change_user_long_auth(void **state)
{
    (void)state;
    uint8_t b[1 + 2 + 1 + 251 + 1];
    size_t n = 0;
    b[n++] = COM_CHANGE_USER;
    b[n++] = 'u';
    b[n++] = 0;
    b[n++] = 0xfb;
    memset(b + n, 'x', 251);
    n += 251;
    b[n++] = 0; /* empty db */
    struct mysql_change_user cu;
    assert_int_equal(mysql_change_user_decode(b, n, CU_CAPS, &cu), HY_OK);
    assert_int_equal(cu.auth_len, 251);
    assert_str_eq(cu.db, cu.db_len, "");
}

static void test_change_user_old(void **state)
{
    (void)state;
    /* No SECURE_CONNECTION: NUL-terminated auth; no plugin, no attrs. */
    static const char p[] = "\x11"
                            "bob"
                            "\0"
                            "ABCDEFGH"
                            "\0"
                            "test"
                            "\0";
    struct mysql_change_user cu;
    assert_int_equal(mysql_change_user_decode(LIT(p), CLIENT_PROTOCOL_41, &cu), HY_OK);
    assert_str_eq(cu.user, cu.user_len, "bob");
    assert_int_equal(cu.auth_len, 8);
    assert_str_eq(cu.db, cu.db_len, "test");
    assert_int_equal(cu.charset, 0);
    assert_null(cu.plugin);
    assert_null(cu.attrs);
}

/* ---- auth switch -------------------------------------------------------- */

static const char auth_switch[] = "\xfe"
                                  "mysql_native_password"
                                  "\0"
                                  "abcdefghijklmnopqrst"
                                  "\0";

static void test_auth_switch(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n = mysql_auth_switch_encode(
        "mysql_native_password", (const uint8_t *)"abcdefghijklmnopqrst", 21, out, sizeof(out));
    assert_int_equal(n, LIT_LEN(auth_switch));
    assert_memory_equal(out, auth_switch, n);
    uint8_t small[40];
    assert_int_equal(mysql_auth_switch_encode("mysql_native_password",
                                              (const uint8_t *)"abcdefghijklmnopqrst", 21, small,
                                              sizeof(small)),
                     0);

    const char *plugin;
    const uint8_t *data;
    size_t plugin_len, data_len;
    uint8_t *b = dup_exact(LIT(auth_switch));
    assert_int_equal(
        mysql_auth_switch_decode(b, LIT_LEN(auth_switch), &plugin, &plugin_len, &data, &data_len),
        HY_OK);
    assert_str_eq(plugin, plugin_len, "mysql_native_password");
    assert_int_equal(data_len, 20);
    assert_memory_equal(data, "abcdefghijklmnopqrst", 20);

    /* Without the trailing NUL the data is taken as it is. */
    assert_int_equal(mysql_auth_switch_decode(b, LIT_LEN(auth_switch) - 1, &plugin, &plugin_len,
                                              &data, &data_len),
                     HY_OK);
    assert_int_equal(data_len, 20);

    /* No data at all. */
    assert_int_equal(mysql_auth_switch_decode(b, 23, &plugin, &plugin_len, &data, &data_len),
                     HY_OK);
    assert_int_equal(data_len, 0);

    /* Cut inside the plugin name; the bare pre-4.1 request; empty; not 0xfe. */
    static const size_t bad_lens[] = {0, 1, 2, 22};
    for (size_t i = 0; i < HY_ARRAY_SIZE(bad_lens); i++) {
        uint8_t *t = dup_exact(b, bad_lens[i]);
        assert_int_equal(
            mysql_auth_switch_decode(t, bad_lens[i], &plugin, &plugin_len, &data, &data_len),
            HY_ERROR);
        assert_null(plugin);
        free(t);
    }
    b[0] = 0x01;
    assert_int_equal(
        mysql_auth_switch_decode(b, LIT_LEN(auth_switch), &plugin, &plugin_len, &data, &data_len),
        HY_ERROR);
    free(b);
}

static void test_auth_switch_native(void **state)
{
    (void)state;
    const char *plugin;
    const uint8_t *scramble;
    size_t plugin_len;
    uint8_t *b = dup_exact(LIT(auth_switch));
    assert_int_equal(
        mysql_auth_switch_native(b, LIT_LEN(auth_switch), &plugin, &plugin_len, &scramble), HY_OK);
    assert_memory_equal(scramble, "abcdefghijklmnopqrst", MYSQL_SCRAMBLE_LEN);
    /* A short scramble: the plugin is still named. */
    assert_int_equal(mysql_auth_switch_native(b, 30, &plugin, &plugin_len, &scramble), HY_ERROR);
    assert_str_eq(plugin, plugin_len, "mysql_native_password");
    /* Malformed: no plugin. */
    assert_int_equal(mysql_auth_switch_native(b, 2, &plugin, &plugin_len, &scramble), HY_ERROR);
    assert_null(plugin);
    free(b);

    static const char sha2[] = "\xfe"
                               "caching_sha2_password"
                               "\0"
                               "abcdefghijklmnopqrst";
    b = dup_exact(LIT(sha2));
    assert_int_equal(mysql_auth_switch_native(b, LIT_LEN(sha2), &plugin, &plugin_len, &scramble),
                     HY_ERROR);
    assert_str_eq(plugin, plugin_len, "caching_sha2_password");
    free(b);
}

/* ---- OK ----------------------------------------------------------------- */

struct ok_case {
    const char *name;
    const char *bytes;
    size_t len;
    uint32_t caps;
    hy_status_t rc;
    uint64_t affected;
    uint64_t insert_id;
    uint16_t status;
    uint16_t warnings;
    const char *info; /* NULL: absent */
    size_t info_len;
    const char *state; /* NULL: absent */
    size_t state_len;
};

#define C41 (CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS)
#define CST (C41 | CLIENT_SESSION_TRACK)

static const struct ok_case ok_cases[] = {
    {"minimal", SL("\x00\x00\x00\x02\x00\x00\x00"), C41, HY_OK, 0, 0, 2, 0, NULL, 0, NULL, 0},
    {"insert", SL("\x00\x01\xfc\x00\x01\x03\x00\x01\x00"), C41, HY_OK, 1, 256, 3, 1, NULL, 0, NULL,
     0},
    {"big counts", SL("\x00\xfd\x00\x00\x01\xfe\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00"),
     C41, HY_OK, 0x10000, 0x100000000ull, 2, 0, NULL, 0, NULL, 0},
    {"info to end, no session track",
     SL("\x00\x01\x00\x22\x00\x00\x00"
        "Rows matched: 1  Changed: 1  Warnings: 0"),
     C41, HY_OK, 1, 0, 0x22, 0, "Rows matched: 1  Changed: 1  Warnings: 0", 40, NULL, 0},
    {"session track, info absent", SL("\x00\x00\x00\x02\x00\x00\x00"), CST, HY_OK, 0, 0, 2, 0, NULL,
     0, NULL, 0},
    {"session track, lenenc info",
     SL("\x00\x01\x00\x02\x00\x00\x00\x0a"
        "Records: 1"),
     CST, HY_OK, 1, 0, 2, 0, "Records: 1", 10, NULL, 0},
    /* USE shop: status has SESSION_STATE_CHANGED (0x4000); info empty;
     * state block: SESSION_TRACK_SCHEMA(1), len 5, lenenc "shop". */
    {"session state: schema",
     SL("\x00\x00\x00\x02\x40\x00\x00\x00\x07\x01\x05\x04"
        "shop"),
     CST, HY_OK, 0, 0, 0x4002, 0, "", 0, "\x01\x05\x04shop", 7},
    {"session track, bytes after info without the flag are no state block",
     SL("\x00\x00\x00\x02\x00\x00\x00\x00\x07\x01\x05\x04"
        "shop"),
     CST, HY_OK, 0, 0, 2, 0, "", 0, NULL, 0},
    {"session state flag, block absent", SL("\x00\x00\x00\x02\x40\x00\x00\x00"), CST, HY_OK, 0, 0,
     0x4002, 0, "", 0, NULL, 0},
    {"0xfe header (DEPRECATE_EOF terminator)", SL("\xfe\x00\x00\x22\x00\x00\x00"),
     CST | CLIENT_DEPRECATE_EOF, HY_OK, 0, 0, 0x22, 0, NULL, 0, NULL, 0},
    {"no PROTOCOL_41: status only", SL("\x00\x05\x00\x01\x00"), CLIENT_TRANSACTIONS, HY_OK, 5, 0, 1,
     0, NULL, 0, NULL, 0},
    {"pre-4.1: no status", SL("\x00\x05\x00"), 0, HY_OK, 5, 0, 0, 0, NULL, 0, NULL, 0},
    /* errors */
    {"empty", SL(""), C41, HY_ERROR, 0, 0, 0, 0, NULL, 0, NULL, 0},
    {"not an OK", SL("\x01\x00\x00\x02\x00\x00\x00"), C41, HY_ERROR, 0, 0, 0, 0, NULL, 0, NULL, 0},
    {"header only", SL("\x00"), C41, HY_ERROR, 0, 0, 0, 0, NULL, 0, NULL, 0},
    {"cut in insert id", SL("\x00\x00\xfc\x01"), C41, HY_ERROR, 0, 0, 0, 0, NULL, 0, NULL, 0},
    {"affected is NULL", SL("\x00\xfb\x00\x02\x00\x00\x00"), C41, HY_ERROR, 0, 0, 0, 0, NULL, 0,
     NULL, 0},
    {"cut in status", SL("\x00\x00\x00\x02"), C41, HY_ERROR, 0, 0, 0, 0, NULL, 0, NULL, 0},
    {"cut in warnings", SL("\x00\x00\x00\x02\x00\x00"), C41, HY_ERROR, 0, 0, 0, 0, NULL, 0, NULL,
     0},
    {"cut in info",
     SL("\x00\x00\x00\x02\x00\x00\x00\x05"
        "ab"),
     CST, HY_ERROR, 0, 0, 0, 0, NULL, 0, NULL, 0},
    {"cut in state block", SL("\x00\x00\x00\x02\x40\x00\x00\x00\x07\x01\x05"), CST, HY_ERROR, 0, 0,
     0, 0, NULL, 0, NULL, 0},
};

static void test_ok_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(ok_cases); i++) {
        const struct ok_case *c = &ok_cases[i];
        uint8_t *b = dup_exact((const uint8_t *)c->bytes, c->len);
        struct mysql_ok ok;
        hy_status_t rc = mysql_ok_decode(b, c->len, c->caps, &ok);
        if (rc != c->rc)
            fail_msg("OK '%s': rc %d, want %d", c->name, rc, c->rc);
        if (rc == HY_OK) {
            if (ok.affected_rows != c->affected || ok.last_insert_id != c->insert_id ||
                ok.status != c->status || ok.warnings != c->warnings)
                fail_msg("OK '%s': fields", c->name);
            if ((ok.info == NULL) != (c->info == NULL) || ok.info_len != c->info_len ||
                (c->info && memcmp(ok.info, c->info, c->info_len) != 0))
                fail_msg("OK '%s': info", c->name);
            if ((ok.session_state == NULL) != (c->state == NULL) ||
                ok.session_state_len != c->state_len ||
                (c->state && memcmp(ok.session_state, c->state, c->state_len) != 0))
                fail_msg("OK '%s': session state", c->name);
        }
        free(b);
    }
}

static void test_ok_encode(void **state)
{
    (void)state;
    uint8_t out[32];
    size_t n = mysql_ok_encode(out, sizeof(out), 1, 256, 3, 1);
    assert_int_equal(n, 9);
    assert_memory_equal(out, "\x00\x01\xfc\x00\x01\x03\x00\x01\x00", 9);

    n = mysql_ok_encode(out, sizeof(out), 0, 0, SERVER_STATUS_AUTOCOMMIT, 0);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "\x00\x00\x00\x02\x00\x00\x00", 7);
    struct mysql_ok ok;
    assert_int_equal(mysql_ok_decode(out, n, CST, &ok), HY_OK);
    assert_int_equal(ok.status, SERVER_STATUS_AUTOCOMMIT);

    assert_int_equal(mysql_ok_encode(out, 6, 0, 0, 0, 0), 0);
}

/* OKs as MariaDB 10.11 sends them on a connection with CLIENT_SESSION_TRACK
 * and session_track_state_change = ON, and what a client gets of them. */
static void test_ok_track_filter(void **state)
{
    (void)state;
    enum { SC = 1u << MYSQL_TRACK_STATE_CHANGE, TS = 1u << MYSQL_TRACK_TRX_STATE };
    static const struct {
        const char *in;
        size_t in_len;
        bool tracks;
        uint32_t drop;
        const char *out;
        size_t out_len;
    } cases[] = {
        /* INSERT whose trigger set a user variable */
        {"\x00\x01\x00\x02\x40\x00\x00\x00\x03\x02\x01"
         "1",
         12, false, SC, "\x00\x01\x00\x02\x00\x00\x00", 7},
        {"\x00\x01\x00\x02\x40\x00\x00\x00\x03\x02\x01"
         "1",
         12, true, SC, "\x00\x01\x00\x02\x00\x00\x00", 7},
        {"\x00\x01\x00\x02\x40\x00\x00\x00\x03\x02\x01"
         "1",
         12, true, 0,
         "\x00\x01\x00\x02\x40\x00\x00\x00\x03\x02\x01"
         "1",
         12},
        /* with an info string: kept, as a server sends it without tracking */
        {"\x00\x02\x00\x02\x40\x00\x00\x05Rec 2\x03\x02\x01"
         "1",
         17, false, SC, "\x00\x02\x00\x02\x00\x00\x00\x05Rec 2", 13},
        /* USE tt and a state change: the schema stays for a client that tracks */
        {"\x00\x00\x00\x02\x40\x00\x00\x00\x08\x01\x03\x02tt\x02\x01"
         "1",
         17, true, SC, "\x00\x00\x00\x02\x40\x00\x00\x00\x05\x01\x03\x02tt", 14},
        {"\x00\x00\x00\x02\x40\x00\x00\x00\x08\x01\x03\x02tt\x02\x01"
         "1",
         17, false, 0, "\x00\x00\x00\x02\x00\x00\x00", 7},
        /* a result set's closing OK under DEPRECATE_EOF */
        {"\xfe\x00\x00\x22\x40\x00\x00\x00\x03\x02\x01"
         "1",
         12, false, SC, "\xfe\x00\x00\x22\x00\x00\x00", 7},
        /* nothing to take out: no flag; a block longer than the packet */
        {"\x00\x01\x00\x02\x00\x00\x00", 7, false, SC, "\x00\x01\x00\x02\x00\x00\x00", 7},
        {"\x00\x01\x00\x02\x40\x00\x00\x00\x09\x02\x01"
         "1",
         12, false, SC,
         "\x00\x01\x00\x02\x40\x00\x00\x00\x09\x02\x01"
         "1",
         12},
        /* BEGIN; INSERT into a MyISAM table under session_track_transaction_info
         * = STATE: the state, taken out or kept, the state change beside it kept */
        {"\x00\x01\x00\x03\x40\x00\x00\x00\x0b\x05\x09\x08T__w____", 20, true, TS,
         "\x00\x01\x00\x03\x00\x00\x00", 7},
        {"\x00\x01\x00\x03\x40\x00\x00\x00\x0b\x05\x09\x08T__w____", 20, true, SC,
         "\x00\x01\x00\x03\x40\x00\x00\x00\x0b\x05\x09\x08T__w____", 20},
        {"\x00\x01\x00\x03\x40\x00\x00\x00\x0e\x05\x09\x08T__w____\x02\x01"
         "1",
         23, true, TS,
         "\x00\x01\x00\x03\x40\x00\x00\x00\x03\x02\x01"
         "1",
         12},
        /* an autocommit INSERT on a connection tracking autocommit and
         * last_gtid (halyard added it for a capture): the GTID taken out,
         * autocommit's entry kept; alone, the GTID leaves no block */
        {"\x00\x01\x00\x02\x40\x00\x00\x00\x22"
         "\x00\x0e\x0a"
         "autocommit\x02"
         "ON"
         "\x00\x10\x09"
         "last_gtid\x05"
         "0-1-5",
         43, true, MYSQL_TRACK_DROP_LAST_GTID,
         "\x00\x01\x00\x02\x40\x00\x00\x00\x10"
         "\x00\x0e\x0a"
         "autocommit\x02"
         "ON",
         25},
        {"\x00\x01\x00\x02\x40\x00\x00\x00\x12"
         "\x00\x10\x09"
         "last_gtid\x05"
         "0-1-5",
         27, true, MYSQL_TRACK_DROP_LAST_GTID, "\x00\x01\x00\x02\x00\x00\x00", 7},
        {"\x00\x01\x00\x02\x40\x00\x00\x00\x12"
         "\x00\x10\x09"
         "last_gtid\x05"
         "0-1-5",
         27, true, SC,
         "\x00\x01\x00\x02\x40\x00\x00\x00\x12"
         "\x00\x10\x09"
         "last_gtid\x05"
         "0-1-5",
         27},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[64];
        memcpy(b, cases[i].in, cases[i].in_len);
        size_t n = mysql_ok_track_filter(b, cases[i].in_len, cases[i].tracks, cases[i].drop);
        assert_int_equal(n, cases[i].out_len);
        assert_memory_equal(b, cases[i].out, n);
    }
    /* MariaDB's state-change entry holds the bare "1", no lenenc string */
    struct mysql_track_it it;
    struct mysql_track t;
    mysql_track_init(&it,
                     (const uint8_t *)"\x02\x01"
                                      "1",
                     3);
    assert_int_equal(mysql_track_next(&it, &t), HY_OK);
    assert_int_equal(t.type, MYSQL_TRACK_STATE_CHANGE);
    assert_int_equal(t.a_len, 1);
    assert_memory_equal(t.a, "1", 1);
    assert_int_equal(mysql_track_next(&it, &t), HY_AGAIN);
}

/* ---- session-state-change block ----------------------------------------- */

/* What MariaDB 10.11 sends after `SET sql_mode='ANSI_QUOTES'; USE db1; START
 * TRANSACTION` with every tracker on, entry by entry, plus one of a type that
 * does not exist (0x2a), which must be skipped by its length. */
static const char track_block[] = "\x00\x15"     /* SYSTEM_VARIABLES, 21 bytes */
                                  "\x08sql_mode" /* name */
                                  "\x0b"
                                  "ANSI_QUOTES" /* value */
                                  "\x01\x04\x03"
                                  "db1" /* SCHEMA "db1" */
                                  "\x02\x02\x01"
                                  "1" /* STATE_CHANGE "1", as a lenenc string */
                                  "\x03\x05\x00\x03"
                                  "0-1" /* GTIDS spec 0, "0-1" */
                                  "\x04\x12\x11"
                                  "START TRANSACTION" /* TRANSACTION_CHARACTERISTICS */
                                  "\x05\x09\x08"
                                  "T_______" /* TRANSACTION_STATE */
                                  "\x2a\x03"
                                  "xyz"; /* unknown: skipped */

static void want_track(struct mysql_track_it *it, uint8_t type, const char *a, const char *b)
{
    struct mysql_track t;
    assert_int_equal(mysql_track_next(it, &t), HY_OK);
    assert_int_equal(t.type, type);
    assert_int_equal(t.a_len, strlen(a));
    assert_memory_equal(t.a, a, t.a_len);
    if (b != NULL) {
        assert_int_equal(t.b_len, strlen(b));
        assert_memory_equal(t.b, b, t.b_len);
    }
}

static void test_track_iter(void **state)
{
    (void)state;
    uint8_t *b = dup_exact(LIT(track_block));
    struct mysql_track_it it;
    struct mysql_track t;

    mysql_track_init(&it, b, sizeof(track_block) - 1);
    want_track(&it, MYSQL_TRACK_SYSTEM_VARIABLES, "sql_mode", "ANSI_QUOTES");
    want_track(&it, MYSQL_TRACK_SCHEMA, "db1", NULL);
    want_track(&it, MYSQL_TRACK_STATE_CHANGE, "1", NULL);
    assert_int_equal(mysql_track_next(&it, &t), HY_OK);
    assert_int_equal(t.type, MYSQL_TRACK_GTIDS);
    assert_int_equal(t.spec, 0);
    assert_int_equal(t.a_len, 3);
    assert_memory_equal(t.a, "0-1", 3);
    want_track(&it, MYSQL_TRACK_TRX_CHARACTERISTICS, "START TRANSACTION", NULL);
    want_track(&it, MYSQL_TRACK_TRX_STATE, "T_______", NULL);
    want_track(&it, 0x2a, "xyz", NULL);
    assert_int_equal(mysql_track_next(&it, &t), HY_AGAIN);
    assert_int_equal(mysql_track_next(&it, &t), HY_AGAIN);
    free(b);

    /* An empty block has no entries. */
    mysql_track_init(&it, NULL, 0);
    assert_int_equal(mysql_track_next(&it, &t), HY_AGAIN);
}

static const struct {
    const char *name;
    const char *bytes;
    size_t len;
} track_bad[] = {
    {"type only", "\x00", LIT_LEN("\x00")},
    {"body past the end",
     "\x01\x05\x03"
     "db",
     LIT_LEN("\x01\x05\x03"
             "db")},
    {"schema longer than its body",
     "\x01\x02\x05"
     "d",
     LIT_LEN("\x01\x02\x05"
             "d")},
    {"schema with trailing bytes",
     "\x01\x03\x01"
     "dx",
     LIT_LEN("\x01\x03\x01"
             "dx")},
    {"variable without a value", "\x00\x09\x08sql_mode", LIT_LEN("\x00\x09\x08sql_mode")},
    {"gtids without text", "\x03\x01\x00", LIT_LEN("\x03\x01\x00")},
    {"NULL length", "\x00\xfb", LIT_LEN("\x00\xfb")},
    {"unknown type past the end",
     "\x2a\x04"
     "xyz",
     LIT_LEN("\x2a\x04"
             "xyz")},
};

static void test_track_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(track_bad); i++) {
        uint8_t *b = dup_exact((const uint8_t *)track_bad[i].bytes, track_bad[i].len);
        struct mysql_track_it it;
        struct mysql_track t;
        hy_status_t rc;

        mysql_track_init(&it, b, track_bad[i].len);
        while ((rc = mysql_track_next(&it, &t)) == HY_OK)
            ;
        if (rc != HY_ERROR)
            fail_msg("track '%s': rc %d, want HY_ERROR", track_bad[i].name, rc);
        /* and it stays an error */
        assert_int_equal(mysql_track_next(&it, &t), HY_ERROR);
        free(b);
    }
}

/* ---- ERR / EOF ---------------------------------------------------------- */

static const char err_access[] = "\xff"
                                 "\x15\x04" /* 1045 */
                                 "#28000"
                                 "Access denied for user 'app'@'localhost' (using password: YES)";

static void test_err(void **state)
{
    (void)state;
    struct mysql_err err;
    uint8_t *b = dup_exact(LIT(err_access));

    assert_int_equal(mysql_err_decode(b, LIT_LEN(err_access), &err), HY_OK);
    assert_int_equal(err.code, 1045);
    assert_string_equal(err.sqlstate, "28000");
    assert_str_eq(err.msg, err.msg_len,
                  "Access denied for user 'app'@'localhost' (using password: YES)");

    uint8_t out[128];
    size_t n = mysql_err_encode(out, sizeof(out), 1045, "28000",
                                "Access denied for user 'app'@'localhost' (using password: YES)",
                                LIT_LEN(err_access) - 9);
    assert_int_equal(n, LIT_LEN(err_access));
    assert_memory_equal(out, err_access, n);
    assert_int_equal(mysql_err_encode(out, n - 1, 1045, "28000", "x", 1), 1 + 2 + 6 + 1);
    assert_int_equal(mysql_err_encode(out, 8, 1045, "28000", "x", 1), 0);

    /* A bad SQLSTATE argument becomes HY000. */
    n = mysql_err_encode(out, sizeof(out), 1105, NULL, "boom", 4);
    assert_memory_equal(out, "\xff\x51\x04#HY000boom", n);
    n = mysql_err_encode(out, sizeof(out), 1105, "toolong", "boom", 4);
    assert_memory_equal(out, "\xff\x51\x04#HY000boom", n);

    /* No '#' marker (pre-4.1, or an error before the handshake). */
    static const char plain[] = "\xff\x10\x04"
                                "Too many connections";
    assert_int_equal(mysql_err_decode(LIT(plain), &err), HY_OK);
    assert_int_equal(err.code, 1040);
    assert_string_equal(err.sqlstate, "HY000");
    assert_str_eq(err.msg, err.msg_len, "Too many connections");

    /* Code only: empty message. */
    assert_int_equal(mysql_err_decode(b, 3, &err), HY_OK);
    assert_int_equal(err.msg_len, 0);

    /* Truncated: no code, half a code, a cut SQLSTATE; and not an ERR. */
    static const size_t bad_lens[] = {0, 1, 2, 4, 5, 6, 7, 8};
    for (size_t i = 0; i < HY_ARRAY_SIZE(bad_lens); i++) {
        uint8_t *t = dup_exact(b, bad_lens[i]);
        if (mysql_err_decode(t, bad_lens[i], &err) != HY_ERROR)
            fail_msg("ERR cut at %zu decoded", bad_lens[i]);
        free(t);
    }
    assert_int_equal(mysql_err_decode(b, 9, &err), HY_OK);
    b[0] = 0x00;
    assert_int_equal(mysql_err_decode(b, LIT_LEN(err_access), &err), HY_ERROR);
    free(b);
}

static void test_eof(void **state)
{
    (void)state;
    uint16_t warnings, status;

    assert_int_equal(mysql_eof_decode(LIT("\xfe\x01\x00\x22\x00"), &warnings, &status), HY_OK);
    assert_int_equal(warnings, 1);
    assert_int_equal(status, 0x22);
    assert_int_equal(mysql_eof_decode(LIT("\xfe\x00\x00\x02\x00\x00\x00"), &warnings, &status),
                     HY_OK);
    assert_int_equal(status, 2);

    /* Cut: empty, header only (the pre-4.1 EOF), in warnings, in status. */
    static const uint8_t full[] = {0xfe, 0x00, 0x00, 0x02, 0x00};
    for (size_t n = 0; n < sizeof(full); n++) {
        uint8_t *t = dup_exact(full, n);
        assert_int_equal(mysql_eof_decode(t, n, &warnings, &status), HY_ERROR);
        free(t);
    }
    /* 9 bytes is a row or an OK, never an EOF. */
    assert_int_equal(
        mysql_eof_decode(LIT("\xfe\x00\x00\x02\x00\x00\x00\x00\x00"), &warnings, &status),
        HY_ERROR);
    assert_int_equal(mysql_eof_decode(LIT("\xff\x00\x00\x02\x00"), &warnings, &status), HY_ERROR);
}

static void test_is_eof(void **state)
{
    (void)state;
    static const struct {
        uint8_t first;
        uint32_t len;
        bool deprecate;
        bool want;
    } cases[] = {
        {0xfe, 5, false, true},
        {0xfe, 1, false, true},
        {0xfe, 8, false, true},
        {0xfe, 9, false, false}, /* a row starting with an 8-byte lenenc */
        {0xfe, 7, true, true},
        {0xfe, 40, true, true}, /* OK-0xfe with info */
        {0xfe, MYSQL_MAX_PAYLOAD - 1, true, true},
        {0xfe, MYSQL_MAX_PAYLOAD, true, false}, /* a >= 16 MiB first column */
        {0xfe, MYSQL_MAX_PAYLOAD, false, false},
        {0x00, 7, true, false},
        {0xff, 5, false, false},
        {0xfb, 1, true, false},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(cases); i++)
        if (mysql_is_eof(cases[i].first, cases[i].len, cases[i].deprecate) != cases[i].want)
            fail_msg("is_eof case %zu", i);
}

static void test_com_name(void **state)
{
    (void)state;
    assert_string_equal(mysql_com_name(COM_QUERY), "COM_QUERY");
    assert_string_equal(mysql_com_name(COM_SLEEP), "COM_SLEEP");
    assert_string_equal(mysql_com_name(COM_STMT_EXECUTE), "COM_STMT_EXECUTE");
    assert_string_equal(mysql_com_name(COM_RESET_CONNECTION), "COM_RESET_CONNECTION");
    assert_string_equal(mysql_com_name(0x20), "COM_UNKNOWN");
    assert_string_equal(mysql_com_name(0xff), "COM_UNKNOWN");
}

/* ---- response tracking -------------------------------------------------- */

/* One packet: its declared payload length, the bytes the tracker gets (at
 * most MYSQL_RESP_PEEK of them; fewer than len only for big rows), and the
 * verdict expected for it. */
struct pkt {
    uint32_t len;
    size_t n;
    const char *b;
    enum mysql_resp_rc rc;
};

#define P(s, rc)                                                                                   \
    {                                                                                              \
        LIT_LEN(s), LIT_LEN(s), s, rc                                                              \
    }
#define BIG(len, s, rc)                                                                            \
    {                                                                                              \
        len, LIT_LEN(s), s, rc                                                                     \
    }

#define MORE   MYSQL_RESP_MORE
#define DONE   MYSQL_RESP_DONE
#define INFILE MYSQL_RESP_INFILE
#define BAD    MYSQL_RESP_BAD

/* Server packets. Status 0x0002 = AUTOCOMMIT; 0x000a adds MORE_RESULTS;
 * 0x0042 adds CURSOR_EXISTS; 0x0082 adds LAST_ROW_SENT. */
#define OK_AC      "\x00\x00\x00\x02\x00\x00\x00"
#define OK_AFF3    "\x00\x03\x00\x02\x00\x00\x00"
#define OK_MORE    "\x00\x01\x00\x0a\x00\x00\x00"
#define OK_INTRANS "\x00\x00\x00\x03\x00\x00\x00"
#define ERR_NOTABLE                                                                                \
    "\xff\x7a\x04"                                                                                 \
    "#42S02Table 'shop.x' doesn't exist"
#define ERR_KILLED                                                                                 \
    "\xff\x25\x05"                                                                                 \
    "#70100Query execution was interrupted"
#define PROGRESS "\xff\xff\xff\x01\x02\x10\x27\x00\x00" /* MariaDB progress report */
/* Captured from MariaDB 10.11 answering `ALTER TABLE t FORCE, ALGORITHM=COPY`
 * (400,000 rows, progress_report_time = 1) for a client with
 * MARIADB_CLIENT_PROGRESS: 0xff, code 0xffff, one string, stage, max_stage,
 * progress u24 (thousandths of a percent), the stage's name; then the OK. */
#define PROGRESS_COPY                                                                              \
    "\xff\xff\xff\x01\x01\x02\xc4\x09\x00\x11"                                                     \
    "copy to tmp table"
#define PROGRESS_KEYS                                                                              \
    "\xff\xff\xff\x01\x02\x02\x00\x00\x00\x0d"                                                     \
    "Enabling keys"
#define OK_ALTER                                                                                   \
    "\x00\xfd\x80\x1a\x06\x00\x02\x00\x00\x00"                                                     \
    "+Records: 400000  Duplicates: 0  Warnings: 0"
#define COLS1 "\x01"
#define COLS2 "\x02"
#define COLDEF                                                                                     \
    "\x03"                                                                                         \
    "def"                                                                                          \
    "\x04"                                                                                         \
    "shop"                                                                                         \
    "\x01t\x01t\x02id\x02id\x0c\x3f\x00\x0b\x00\x00\x00\x03\x03\x42\x00\x00\x00"
#define PARAMDEF    "\x03\x64\x65\x66\x00\x00\x00\x01?\x00\x0c\x3f\x00\x00\x00\x00\x00\xfd\x80\x00"
#define EOF_AC      "\xfe\x00\x00\x02\x00"
#define EOF_NOIDX   "\xfe\x00\x00\x22\x00"
#define EOF_MORE    "\xfe\x00\x00\x0a\x00"
#define EOF_CURSOR  "\xfe\x00\x00\x42\x00"
#define EOF_LAST    "\xfe\x00\x00\x82\x00"
#define TERM_AC     "\xfe\x00\x00\x02\x00\x00\x00"
#define TERM_NOIDX  "\xfe\x00\x00\x22\x00\x00\x00"
#define TERM_MORE   "\xfe\x00\x00\x0a\x00\x00\x00"
#define TERM_CURSOR "\xfe\x00\x00\x42\x00\x00\x00"
#define TERM_LAST   "\xfe\x00\x00\x82\x00\x00\x00"
#define ROW_1       "\x01\x31"
#define ROW_NULL    "\xfb"
#define BINROW      "\x00\x00\x01\x00\x00\x00"
#define INFILE_REQ  "\xfb/tmp/x.csv"
/* COM_STMT_PREPARE OK: 0x00, stmt_id, columns, params, filler, warnings. */
#define PREP_OK(cols, params) "\x00\x07\x00\x00\x00" cols "\x00" params "\x00\x00\x00\x00"
#define STATS                 "Uptime: 1234  Threads: 1  Questions: 5  Slow queries: 0"

/* Captured from MariaDB 10.11 answering `CALL p1()` where p1 opens a cursor
 * of its own, FETCHes from it and SELECTs the value (issue 17):
 *   CREATE PROCEDURE p1() BEGIN DECLARE v INT; DECLARE c CURSOR FOR
 *   SELECT a FROM t1; OPEN c; FETCH c INTO v; SELECT v; CLOSE c; END
 * Every terminator of the SELECT's result carries CURSOR_EXISTS (0x0040) and
 * MORE_RESULTS (status 0x006a), and its rows follow all the same. */
#define SP_COLDEF                                                                                  \
    "\x03\x64\x65\x66\x00\x00\x00\x01\x76\x01\x76\x0c\x3f\x00\x0b\x00\x00\x00\x03\x00\x00\x00\x00" \
    "\x00"
#define SP_EOF    "\xfe\x00\x00\x6a\x00"
#define SP_TERM   "\xfe\x00\x00\x6a\x00\x00\x00"
#define SP_ROW    "\x01\x37"
#define SP_BINROW "\x00\x00\x07\x00\x00\x00"
#define SP_OK     "\x00\x00\x00\x22\x00\x00\x00"
/* A result whose first column's value is 6 bytes long: a tracker that took
 * its row for a column count would wait for six definitions. */
#define ROW_6                                                                                      \
    "\x06"                                                                                         \
    "abcdef"

#define CAPS_EOF                                                                                   \
    (CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION |                         \
     CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS |                    \
     CLIENT_PLUGIN_AUTH | CLIENT_SESSION_TRACK)
#define CAPS_DEP (CAPS_EOF | CLIENT_DEPRECATE_EOF)

#define MAX_PKTS 12

struct resp_case {
    const char *name;
    uint8_t cmd;
    uint32_t caps;
    uint8_t exec_flags;
    struct pkt pkts[MAX_PKTS]; /* ends at the first len == 0 && b == NULL */
    uint16_t status;
    uint16_t err_code;
    uint64_t rows;
    uint64_t affected;
    uint32_t stmt_id;
};

static struct resp_case resp_cases[] = {
    {"query OK", COM_QUERY, CAPS_EOF, 0, {P(OK_AFF3, DONE)}, 0x0002, 0, 0, 3, 0},
    {"query ERR", COM_QUERY, CAPS_EOF, 0, {P(ERR_NOTABLE, DONE)}, 0, 1146, 0, 0, 0},
    {"query result, EOF",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(COLS2, MORE), P(COLDEF, MORE), P(COLDEF, MORE), P(EOF_AC, MORE), P(ROW_1, MORE),
      P(ROW_NULL, MORE), P(EOF_NOIDX, DONE)},
     0x0022,
     0,
     2,
     0,
     0},
    {"query result, DEPRECATE_EOF",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(ROW_1, MORE), P(ROW_1, MORE), P(ROW_1, MORE),
      P(TERM_NOIDX, DONE)},
     0x0022,
     0,
     3,
     0,
     0},
    {"query empty result, DEPRECATE_EOF",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(TERM_AC, DONE)},
     0x0002,
     0,
     0,
     0,
     0},
    {"query empty result, EOF",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(EOF_AC, MORE), P(EOF_AC, DONE)},
     0x0002,
     0,
     0,
     0,
     0},
    {"query with a 0xfc-prefixed column count",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P("\xfc\x02\x00", MORE), P(COLDEF, MORE), P(COLDEF, MORE), P(ROW_1, MORE), P(TERM_AC, DONE)},
     0x0002,
     0,
     1,
     0,
     0},
    {"multi-statement: OK, result, OK, EOF",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(OK_MORE, MORE), P(COLS1, MORE), P(COLDEF, MORE), P(EOF_AC, MORE), P(ROW_1, MORE),
      P(EOF_MORE, MORE), P(OK_INTRANS, DONE)},
     0x0003,
     0,
     1,
     0,
     0},
    {"multi-statement: OK, result, OK, DEPRECATE_EOF",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(OK_MORE, MORE), P(COLS1, MORE), P(COLDEF, MORE), P(ROW_1, MORE), P(TERM_MORE, MORE),
      P(OK_AFF3, DONE)},
     0x0002,
     0,
     1,
     3,
     0},
    {"INSERT; SELECT: a terminator does not overwrite affected rows",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P("\x00\x03\x00\x0a\x00\x00\x00", MORE), P(COLS1, MORE), P(COLDEF, MORE), P(ROW_1, MORE),
      P(TERM_AC, DONE)},
     0x0002,
     0,
     1,
     3,
     0},
    {"multi-statement: second fails",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(OK_MORE, MORE), P(ERR_NOTABLE, DONE)},
     0x000a,
     1146,
     0,
     1,
     0},
    {"CALL: two results then the final OK, EOF",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(EOF_AC, MORE), P(ROW_1, MORE), P(EOF_MORE, MORE),
      P(COLS1, MORE), P(COLDEF, MORE), P(EOF_AC, MORE), P(ROW_1, MORE), P(EOF_MORE, MORE),
      P(OK_AC, DONE)},
     0x0002,
     0,
     2,
     0,
     0},
    {"CALL: result then the final OK, DEPRECATE_EOF",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(ROW_1, MORE), P(TERM_MORE, MORE), P(OK_AC, DONE)},
     0x0002,
     0,
     1,
     0,
     0},
    {"LOCAL INFILE then OK",
     COM_QUERY,
     CAPS_DEP | CLIENT_LOCAL_FILES,
     0,
     {P(INFILE_REQ, INFILE), P(OK_AFF3, DONE)},
     0x0002,
     0,
     0,
     3,
     0},
    {"LOCAL INFILE then ERR",
     COM_QUERY,
     CAPS_EOF | CLIENT_LOCAL_FILES,
     0,
     {P(INFILE_REQ, INFILE), P(ERR_NOTABLE, DONE)},
     0,
     1146,
     0,
     0,
     0},
    {"LOCAL INFILE inside a multi-statement",
     COM_QUERY,
     CAPS_EOF | CLIENT_LOCAL_FILES,
     0,
     {P(OK_MORE, MORE), P(INFILE_REQ, INFILE), P(OK_MORE, MORE), P(OK_AFF3, DONE)},
     0x0002,
     0,
     0,
     3,
     0},
    {"query killed mid-rows",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(EOF_AC, MORE), P(ROW_1, MORE), P(ERR_KILLED, DONE)},
     0x0002,
     1317,
     1,
     0,
     0},
    {"MariaDB progress reports before the OK",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(PROGRESS, MORE), P(PROGRESS, MORE), P(OK_AC, DONE)},
     0x0002,
     0,
     0,
     0,
     0},
    {"MariaDB 10.11's own progress reports of an ALTER TABLE, then its OK",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(PROGRESS_COPY, MORE), P(PROGRESS_KEYS, MORE), P(OK_ALTER, DONE)},
     0x0002,
     0,
     0,
     400000,
     0},
    {"progress reports of a prepared ALTER TABLE, DEPRECATE_EOF",
     COM_STMT_EXECUTE,
     CAPS_DEP,
     0,
     {P(PROGRESS_COPY, MORE), P(PROGRESS_COPY, MORE), P(PROGRESS_KEYS, MORE), P(OK_ALTER, DONE)},
     0x0002,
     0,
     0,
     400000,
     0},
    {"progress reports of LOAD DATA LOCAL after the file",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(INFILE_REQ, INFILE), P(PROGRESS_COPY, MORE), P(OK_AFF3, DONE)},
     0x0002,
     0,
     0,
     3,
     0},
    {"a progress report, then the ERR that ends the ALTER",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(PROGRESS_COPY, MORE), P(ERR_KILLED, DONE)},
     0,
     1317,
     0,
     0,
     0},
    {"bulk execution: its OK",
     COM_STMT_BULK_EXECUTE,
     CAPS_DEP,
     0,
     {P(OK_AFF3, DONE)},
     0x0002,
     0,
     0,
     3,
     0},
    {"bulk execution: a duplicate key",
     COM_STMT_BULK_EXECUTE,
     CAPS_EOF,
     0,
     {P("\xff\x26\x04#23000Duplicate entry '3' for key 'PRIMARY'", DONE)},
     0,
     1062,
     0,
     0,
     0},
    {"bulk execution: the binary rows of INSERT ... RETURNING",
     COM_STMT_BULK_EXECUTE,
     CAPS_EOF,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(EOF_AC, MORE), P(BINROW, MORE), P(BINROW, MORE),
      P(EOF_AC, DONE)},
     0x0002,
     0,
     2,
     0,
     0},
    {"BAD at once: a text row in a bulk execution's result",
     COM_STMT_BULK_EXECUTE,
     CAPS_DEP,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(ROW_1, BAD)},
     0,
     0,
     0,
     0,
     0},
    {"0xfe-leading full-length row is a row, DEPRECATE_EOF",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE),
      BIG(MYSQL_MAX_PAYLOAD, "\xfe\x00\x00\x00\x01\x00\x00\x00\x00", MORE), P(ROW_1, MORE),
      P(TERM_AC, DONE)},
     0x0002,
     0,
     2,
     0,
     0},
    {"0xfe-leading full-length row straight after the definitions",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE),
      BIG(MYSQL_MAX_PAYLOAD, "\xfe\x10\x00\x00\x01\x00\x00\x00\x00", MORE), P(TERM_AC, DONE)},
     0x0002,
     0,
     1,
     0,
     0},
    {"0xfe-leading full-length row, EOF",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(EOF_AC, MORE),
      BIG(MYSQL_MAX_PAYLOAD, "\xfe\x00\x00\x00\x01\x00\x00\x00\x00", MORE), P(EOF_AC, DONE)},
     0x0002,
     0,
     1,
     0,
     0},
    {"0xff-leading rows are ERR (never a lenenc prefix)",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(ERR_KILLED, DONE)},
     0,
     1317,
     0,
     0,
     0},
    {"prepare: 1 param, 2 columns, EOF",
     COM_STMT_PREPARE,
     CAPS_EOF,
     0,
     {P(PREP_OK("\x02", "\x01"), MORE), P(PARAMDEF, MORE), P(EOF_AC, MORE), P(COLDEF, MORE),
      P(COLDEF, MORE), P(EOF_AC, DONE)},
     0x0002,
     0,
     0,
     0,
     7},
    {"prepare: 1 param, 2 columns, DEPRECATE_EOF",
     COM_STMT_PREPARE,
     CAPS_DEP,
     0,
     {P(PREP_OK("\x02", "\x01"), MORE), P(PARAMDEF, MORE), P(COLDEF, MORE), P(COLDEF, DONE)},
     0,
     0,
     0,
     0,
     7},
    {"prepare: no params, 1 column, EOF",
     COM_STMT_PREPARE,
     CAPS_EOF,
     0,
     {P(PREP_OK("\x01", "\x00"), MORE), P(COLDEF, MORE), P(EOF_AC, DONE)},
     0x0002,
     0,
     0,
     0,
     7},
    {"prepare: no params, 1 column, DEPRECATE_EOF",
     COM_STMT_PREPARE,
     CAPS_DEP,
     0,
     {P(PREP_OK("\x01", "\x00"), MORE), P(COLDEF, DONE)},
     0,
     0,
     0,
     0,
     7},
    {"prepare: 2 params, no columns (INSERT), EOF",
     COM_STMT_PREPARE,
     CAPS_EOF,
     0,
     {P(PREP_OK("\x00", "\x02"), MORE), P(PARAMDEF, MORE), P(PARAMDEF, MORE), P(EOF_AC, DONE)},
     0x0002,
     0,
     0,
     0,
     7},
    {"prepare: 2 params, no columns, DEPRECATE_EOF",
     COM_STMT_PREPARE,
     CAPS_DEP,
     0,
     {P(PREP_OK("\x00", "\x02"), MORE), P(PARAMDEF, MORE), P(PARAMDEF, DONE)},
     0,
     0,
     0,
     0,
     7},
    {"prepare: nothing (DO 1)",
     COM_STMT_PREPARE,
     CAPS_EOF,
     0,
     {P(PREP_OK("\x00", "\x00"), DONE)},
     0,
     0,
     0,
     0,
     7},
    {"prepare: OK without warnings (MariaDB short form)",
     COM_STMT_PREPARE,
     CAPS_DEP,
     0,
     {P("\x00\x2a\x01\x00\x00\x01\x00\x00\x00", MORE), P(COLDEF, DONE)},
     0,
     0,
     0,
     0,
     0x12a},
    {"prepare: 300 params (u16 counts)",
     COM_STMT_PREPARE,
     CAPS_DEP,
     0,
     {P("\x00\x07\x00\x00\x00"
        "\x00\x00" /* columns */
        "\x2c\x01" /* params */
        "\x00\x00\x00",
        MORE)},
     0,
     0,
     0,
     0,
     7},
    {"prepare ERR", COM_STMT_PREPARE, CAPS_EOF, 0, {P(ERR_NOTABLE, DONE)}, 0, 1146, 0, 0, 0},
    {"execute: OK", COM_STMT_EXECUTE, CAPS_EOF, 0, {P(OK_AFF3, DONE)}, 0x0002, 0, 0, 3, 0},
    {"execute: binary rows start with 0x00 and are rows, EOF",
     COM_STMT_EXECUTE,
     CAPS_EOF,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(EOF_AC, MORE), P(BINROW, MORE), P(BINROW, MORE),
      P(EOF_AC, DONE)},
     0x0002,
     0,
     2,
     0,
     0},
    {"execute: binary rows, DEPRECATE_EOF",
     COM_STMT_EXECUTE,
     CAPS_DEP,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(BINROW, MORE), P(TERM_AC, DONE)},
     0x0002,
     0,
     1,
     0,
     0},
    {"execute: cursor opened, EOF",
     COM_STMT_EXECUTE,
     CAPS_EOF,
     CURSOR_TYPE_READ_ONLY,
     {P(COLS1, MORE), P(COLDEF, MORE), P(EOF_CURSOR, DONE)},
     0x0042,
     0,
     0,
     0,
     0},
    {"execute: cursor opened, DEPRECATE_EOF",
     COM_STMT_EXECUTE,
     CAPS_DEP,
     CURSOR_TYPE_READ_ONLY,
     {P(COLS1, MORE), P(COLDEF, MORE), P(TERM_CURSOR, DONE)},
     0x0042,
     0,
     0,
     0,
     0},
    {"execute: cursor asked, none opened (rows follow)",
     COM_STMT_EXECUTE,
     CAPS_EOF,
     CURSOR_TYPE_READ_ONLY,
     {P(COLS1, MORE), P(COLDEF, MORE), P(EOF_AC, MORE), P(BINROW, MORE), P(EOF_AC, DONE)},
     0x0002,
     0,
     1,
     0,
     0},
    {"execute: CALL, result then OK (PS_MULTI_RESULTS)",
     COM_STMT_EXECUTE,
     CAPS_DEP,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(BINROW, MORE), P(TERM_MORE, MORE), P(OK_AC, DONE)},
     0x0002,
     0,
     1,
     0,
     0},
    {"execute: LOCAL INFILE then OK (a prepared LOAD DATA LOCAL)",
     COM_STMT_EXECUTE,
     CAPS_DEP | CLIENT_LOCAL_FILES,
     0,
     {P(INFILE_REQ, INFILE), P(OK_AFF3, DONE)},
     0x0002,
     0,
     0,
     3,
     0},
    {"fetch: rows, cursor still open, EOF",
     COM_STMT_FETCH,
     CAPS_EOF,
     0,
     {P(BINROW, MORE), P(BINROW, MORE), P(EOF_CURSOR, DONE)},
     0x0042,
     0,
     2,
     0,
     0},
    {"fetch: last rows, DEPRECATE_EOF",
     COM_STMT_FETCH,
     CAPS_DEP,
     0,
     {P(BINROW, MORE), P(TERM_LAST, DONE)},
     0x0082,
     0,
     1,
     0,
     0},
    {"fetch: past the end", COM_STMT_FETCH, CAPS_EOF, 0, {P(EOF_LAST, DONE)}, 0x0082, 0, 0, 0, 0},
    {"fetch: a terminator ends it whatever its flags",
     COM_STMT_FETCH,
     CAPS_EOF,
     0,
     {P(BINROW, MORE), P(EOF_MORE, DONE)},
     0x000a,
     0,
     1,
     0,
     0},
    {"fetch: ERR", COM_STMT_FETCH, CAPS_EOF, 0, {P(ERR_NOTABLE, DONE)}, 0, 1146, 0, 0, 0},
    {"field list, EOF",
     COM_FIELD_LIST,
     CAPS_EOF,
     0,
     {P(COLDEF, MORE), P(COLDEF, MORE), P(EOF_AC, DONE)},
     0x0002,
     0,
     0,
     0,
     0},
    {"field list, DEPRECATE_EOF",
     COM_FIELD_LIST,
     CAPS_DEP,
     0,
     {P(COLDEF, MORE), P(TERM_AC, DONE)},
     0x0002,
     0,
     0,
     0,
     0},
    {"field list ERR", COM_FIELD_LIST, CAPS_EOF, 0, {P(ERR_NOTABLE, DONE)}, 0, 1146, 0, 0, 0},
    {"statistics", COM_STATISTICS, CAPS_EOF, 0, {P(STATS, DONE)}, 0, 0, 0, 0, 0},
    {"statistics, empty string", COM_STATISTICS, CAPS_EOF, 0, {P("", DONE)}, 0, 0, 0, 0, 0},
    {"ping", COM_PING, CAPS_EOF, 0, {P(OK_AC, DONE)}, 0x0002, 0, 0, 0, 0},
    {"init db", COM_INIT_DB, CAPS_DEP, 0, {P(OK_AC, DONE)}, 0x0002, 0, 0, 0, 0},
    {"reset connection", COM_RESET_CONNECTION, CAPS_DEP, 0, {P(OK_AC, DONE)}, 0x0002, 0, 0, 0, 0},
    {"set option answers EOF", COM_SET_OPTION, CAPS_EOF, 0, {P(EOF_AC, DONE)}, 0x0002, 0, 0, 0, 0},
    {"set option answers OK-0xfe, DEPRECATE_EOF",
     COM_SET_OPTION,
     CAPS_DEP,
     0,
     {P(TERM_AC, DONE)},
     0x0002,
     0,
     0,
     0,
     0},
    {"stmt reset ERR", COM_STMT_RESET, CAPS_EOF, 0, {P(ERR_NOTABLE, DONE)}, 0, 1146, 0, 0, 0},
    {"change user: auth switch hands over",
     COM_CHANGE_USER,
     CAPS_DEP,
     0,
     {P("\xfemysql_native_password\0abcdefghijklmnopqrst", DONE)},
     0,
     0,
     0,
     0,
     0},
    {"process info is a result set",
     COM_PROCESS_INFO,
     CAPS_EOF,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(EOF_AC, MORE), P(ROW_1, MORE), P(EOF_AC, DONE)},
     0x0002,
     0,
     1,
     0,
     0},
    /* Protocol violations. */
    {"BAD: 0xfe as first packet", COM_QUERY, CAPS_DEP, 0, {P(TERM_AC, BAD)}, 0, 0, 0, 0, 0},
    {"BAD: column count 0", COM_QUERY, CAPS_DEP, 0, {P("\xfc\x00\x00", BAD)}, 0, 0, 0, 0, 0},
    {"BAD: truncated column count", COM_QUERY, CAPS_DEP, 0, {P("\xfd\x01", BAD)}, 0, 0, 0, 0, 0},
    {"BAD: truncated OK", COM_QUERY, CAPS_DEP, 0, {P("\x00\x00\x00\x02", BAD)}, 0, 0, 0, 0, 0},
    {"BAD: truncated ERR", COM_QUERY, CAPS_DEP, 0, {P("\xff\x01", BAD)}, 0, 0, 0, 0, 0},
    {"BAD: empty packet", COM_QUERY, CAPS_DEP, 0, {P("", BAD)}, 0, 0, 0, 0, 0},
    {"BAD: packet after the end",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(OK_AC, DONE), P(OK_AC, BAD)},
     0x0002,
     0,
     0,
     0,
     0},
    {"BAD: row where the EOF after definitions belongs",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(ROW_1, BAD)},
     0,
     0,
     0,
     0,
     0},
    {"BAD: prepare answered with a column count",
     COM_STMT_PREPARE,
     CAPS_EOF,
     0,
     {P(COLS1, BAD)},
     0,
     0,
     0,
     0,
     0},
    {"BAD: short prepare OK",
     COM_STMT_PREPARE,
     CAPS_EOF,
     0,
     {P("\x00\x01\x00\x00\x00\x00\x00\x00", BAD)},
     0,
     0,
     0,
     0,
     0},
    {"BAD: prepare, no EOF after params",
     COM_STMT_PREPARE,
     CAPS_EOF,
     0,
     {P(PREP_OK("\x01", "\x01"), MORE), P(PARAMDEF, MORE), P(COLDEF, BAD)},
     0,
     0,
     0,
     0,
     7},
    {"BAD: ping answered with a column count",
     COM_PING,
     CAPS_EOF,
     0,
     {P(COLS1, BAD)},
     0,
     0,
     0,
     0,
     0},
    {"BAD: any answer to COM_QUIT", COM_QUIT, CAPS_EOF, 0, {P(OK_AC, BAD)}, 0, 0, 0, 0, 0},
    {"BAD: any answer to COM_STMT_CLOSE",
     COM_STMT_CLOSE,
     CAPS_EOF,
     0,
     {P(ERR_NOTABLE, BAD)},
     0,
     0,
     0,
     0,
     0},
    {"SP cursor: CALL result, EOF (captured)",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(COLS1, MORE), P(SP_COLDEF, MORE), P(SP_EOF, MORE), P(SP_ROW, MORE), P(SP_EOF, MORE),
      P(SP_OK, DONE)},
     0x0022,
     0,
     1,
     0,
     0},
    {"SP cursor: CALL result, DEPRECATE_EOF (captured)",
     COM_QUERY,
     CAPS_DEP,
     0,
     {P(COLS1, MORE), P(SP_COLDEF, MORE), P(SP_ROW, MORE), P(SP_TERM, MORE), P(SP_OK, DONE)},
     0x0022,
     0,
     1,
     0,
     0},
    {"SP cursor: execute CALL, EOF (captured)",
     COM_STMT_EXECUTE,
     CAPS_EOF,
     0,
     {P(COLS1, MORE), P(SP_COLDEF, MORE), P(SP_EOF, MORE), P(SP_BINROW, MORE), P(SP_EOF, MORE),
      P(SP_OK, DONE)},
     0x0022,
     0,
     1,
     0,
     0},
    {"SP cursor: execute CALL asking for a cursor gets rows, EOF (captured)",
     COM_STMT_EXECUTE,
     CAPS_EOF,
     CURSOR_TYPE_READ_ONLY,
     {P(COLS1, MORE), P(SP_COLDEF, MORE), P(SP_EOF, MORE), P(SP_BINROW, MORE), P(SP_EOF, MORE),
      P(SP_OK, DONE)},
     0x0022,
     0,
     1,
     0,
     0},
    {"SP cursor: execute CALL, DEPRECATE_EOF (captured)",
     COM_STMT_EXECUTE,
     CAPS_DEP,
     CURSOR_TYPE_READ_ONLY,
     {P(COLS1, MORE), P(SP_COLDEF, MORE), P(SP_BINROW, MORE), P(SP_TERM, MORE), P(SP_OK, DONE)},
     0x0022,
     0,
     1,
     0,
     0},
    {"SP cursor: two SELECTs, EOF",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(COLS1, MORE), P(SP_COLDEF, MORE), P(SP_EOF, MORE), P(ROW_6, MORE), P(SP_EOF, MORE),
      P(COLS1, MORE), P(SP_COLDEF, MORE), P(SP_EOF, MORE), P(SP_ROW, MORE), P(SP_EOF, MORE),
      P(SP_OK, DONE)},
     0x0022,
     0,
     2,
     0,
     0},
    {"BAD at once: a row where a column definition belongs",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(COLS2, MORE), P(COLDEF, MORE), P(ROW_6, BAD)},
     0,
     0,
     0,
     0,
     0},
    {"BAD at once: an EOF where a column definition belongs",
     COM_QUERY,
     CAPS_EOF,
     0,
     {P(ROW_6, MORE), P(SP_EOF, BAD)},
     0,
     0,
     0,
     0,
     0},
    {"BAD at once: a text row in a binary result",
     COM_STMT_EXECUTE,
     CAPS_DEP,
     0,
     {P(COLS1, MORE), P(COLDEF, MORE), P(ROW_1, BAD)},
     0,
     0,
     0,
     0,
     0},
    {"BAD at once: a row among prepared parameters",
     COM_STMT_PREPARE,
     CAPS_DEP,
     0,
     {P(PREP_OK("\x00\x00", "\x02\x00"), MORE), P(PARAMDEF, MORE), P(ROW_1, BAD)},
     0,
     0,
     0,
     0,
     7},
    {"BAD at once: a row in a field list",
     COM_FIELD_LIST,
     CAPS_EOF,
     0,
     {P(COLDEF, MORE), P(ROW_1, BAD)},
     0,
     0,
     0,
     0,
     0},
};

static void test_resp_case(void **state)
{
    const struct resp_case *c = *state;
    struct mysql_resp r;

    mysql_resp_start(&r, c->cmd, c->caps, c->exec_flags);
    for (size_t i = 0; i < MAX_PKTS && c->pkts[i].b; i++) {
        const struct pkt *k = &c->pkts[i];
        /* Exactly what the contract promises: min(len, PEEK) bytes. */
        size_t give = HY_MIN((size_t)k->len, (size_t)MYSQL_RESP_PEEK);
        uint8_t *b = calloc(1, give ? give : 1);
        assert_non_null(b);
        memcpy(b, k->b, HY_MIN(give, k->n));
        enum mysql_resp_rc rc = mysql_resp_feed(&r, b, k->len);
        free(b);
        if (rc != k->rc)
            fail_msg("'%s' packet %zu: rc %d, want %d", c->name, i, rc, k->rc);
        if (rc == MYSQL_RESP_INFILE)
            mysql_resp_infile_done(&r);
    }
    if (r.status != c->status || r.err_code != c->err_code || r.rows != c->rows ||
        r.affected != c->affected || r.stmt_id != c->stmt_id)
        fail_msg("'%s': status 0x%04x err %u rows %llu affected %llu stmt %u", c->name, r.status,
                 r.err_code, (unsigned long long)r.rows, (unsigned long long)r.affected, r.stmt_id);
}

static void test_resp_infile_order(void **state)
{
    (void)state;
    struct mysql_resp r;

    /* The server's reply fed before the client's file was sent. */
    mysql_resp_start(&r, COM_QUERY, CAPS_EOF, 0);
    assert_int_equal(mysql_resp_feed(&r, (const uint8_t *)INFILE_REQ, LIT_LEN(INFILE_REQ)), INFILE);
    assert_int_equal(mysql_resp_feed(&r, (const uint8_t *)OK_AC, LIT_LEN(OK_AC)), BAD);

    /* After the file, only OK or ERR. */
    mysql_resp_start(&r, COM_QUERY, CAPS_EOF, 0);
    assert_int_equal(mysql_resp_feed(&r, (const uint8_t *)INFILE_REQ, LIT_LEN(INFILE_REQ)), INFILE);
    mysql_resp_infile_done(&r);
    assert_int_equal(mysql_resp_feed(&r, (const uint8_t *)TERM_AC, LIT_LEN(TERM_AC)), BAD);

    /* infile_done at the wrong time changes nothing. */
    mysql_resp_start(&r, COM_QUERY, CAPS_EOF, 0);
    mysql_resp_infile_done(&r);
    assert_int_equal(mysql_resp_feed(&r, (const uint8_t *)OK_AC, LIT_LEN(OK_AC)), DONE);
}

/* status_seen tells "no OK/EOF yet" from "an OK whose flags are all clear",
 * as after SET autocommit = 0 outside a transaction: the session's idea of
 * whether a transaction is open depends on it. */
static void test_resp_status_seen(void **state)
{
    (void)state;
    static const uint8_t ok_no_flags[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t err[] = {0xff, 0x7a, 0x04, '#', '4', '2', 'S', '0', '2', 'x'};
    struct mysql_resp r;

    mysql_resp_start(&r, COM_QUERY, CAPS_EOF, 0);
    assert_false(r.status_seen);
    assert_int_equal(mysql_resp_feed(&r, ok_no_flags, sizeof(ok_no_flags)), DONE);
    assert_true(r.status_seen);
    assert_int_equal(r.status, 0);

    mysql_resp_start(&r, COM_QUERY, CAPS_EOF, 0);
    assert_int_equal(mysql_resp_feed(&r, err, sizeof(err)), DONE);
    assert_false(r.status_seen); /* an ERR carries no status flags */
    assert_int_equal(r.err_code, 1146);
}

/* db_dropped: some OK of the answer said a database was dropped (DROP
 * DATABASE: the session's schema may be gone), also when a later OK of a
 * multi-statement answer does not say it again. */
static void test_resp_db_dropped(void **state)
{
    (void)state;
    /* OK, 0 rows, no id, status MORE_RESULTS | DB_DROPPED | AUTOCOMMIT, 0 warnings */
    static const uint8_t ok_dropped_more[] = {0x00, 0x00, 0x00, 0x0a, 0x01, 0x00, 0x00};
    static const uint8_t ok_ac[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
    struct mysql_resp r;

    mysql_resp_start(&r, COM_QUERY, CAPS_EOF, 0);
    assert_int_equal(mysql_resp_feed(&r, ok_ac, sizeof(ok_ac)), DONE);
    assert_false(r.db_dropped);

    mysql_resp_start(&r, COM_QUERY, CAPS_EOF, 0);
    assert_int_equal(mysql_resp_feed(&r, ok_dropped_more, sizeof(ok_dropped_more)), MORE);
    assert_true(r.db_dropped);
    assert_int_equal(mysql_resp_feed(&r, ok_ac, sizeof(ok_ac)), DONE);
    assert_true(r.db_dropped);
    assert_int_equal(r.status, SERVER_STATUS_AUTOCOMMIT);

    mysql_resp_start(&r, COM_QUERY, CAPS_EOF, 0); /* a new answer starts without it */
    assert_false(r.db_dropped);
}

/* Where a client takes an ERR in place of the next packet. */
static void test_resp_err_fits(void **state)
{
    (void)state;
    struct mysql_resp r;

    mysql_resp_start(&r, COM_QUERY, CAPS_EOF, 0);
    assert_true(mysql_resp_err_fits(&r)); /* the first packet */
    assert_int_equal(mysql_resp_feed(&r, (const uint8_t *)COLS1, LIT_LEN(COLS1)), MORE);
    assert_false(mysql_resp_err_fits(&r)); /* among definitions */
    assert_int_equal(mysql_resp_feed(&r, (const uint8_t *)COLDEF, LIT_LEN(COLDEF)), MORE);
    assert_false(mysql_resp_err_fits(&r)); /* the EOF after them */
    assert_int_equal(mysql_resp_feed(&r, (const uint8_t *)EOF_AC, LIT_LEN(EOF_AC)), MORE);
    assert_true(mysql_resp_err_fits(&r)); /* among rows */
    assert_int_equal(mysql_resp_feed(&r, (const uint8_t *)EOF_MORE, LIT_LEN(EOF_MORE)), MORE);
    assert_true(mysql_resp_err_fits(&r)); /* the next result's first packet */

    mysql_resp_start(&r, COM_STMT_PREPARE, CAPS_DEP, 0);
    assert_true(mysql_resp_err_fits(&r));
    assert_int_equal(mysql_resp_feed(&r, (const uint8_t *)PREP_OK("\x01\x00", "\x01\x00"),
                                     LIT_LEN(PREP_OK("\x01\x00", "\x01\x00"))),
                     MORE);
    assert_false(mysql_resp_err_fits(&r));
}

static void test_resp_expects_reply(void **state)
{
    (void)state;
    for (unsigned cmd = 0; cmd < 256; cmd++) {
        bool want = cmd != COM_QUIT && cmd != COM_STMT_CLOSE && cmd != COM_STMT_SEND_LONG_DATA;
        if (mysql_resp_expects_reply((uint8_t)cmd) != want)
            fail_msg("expects_reply(0x%02x)", cmd);
    }
}

/* Any bytes at all, in any state: a verdict, no crash, no read past
 * min(len, PEEK). A cheap stand-in for the fuzzer. */
static void test_resp_garbage(void **state)
{
    (void)state;
    static const uint8_t cmds[] = {COM_QUERY,      COM_STMT_EXECUTE, COM_STMT_PREPARE,
                                   COM_STMT_FETCH, COM_FIELD_LIST,   COM_STATISTICS,
                                   COM_PING,       COM_CHANGE_USER,  COM_QUIT};
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        struct mysql_resp r;
        uint8_t cmd = cmds[round % HY_ARRAY_SIZE(cmds)];
        mysql_resp_start(&r, cmd, (round & 1) ? CAPS_DEP : CAPS_EOF, 0);
        for (int i = 0; i < 8; i++) {
            seed = seed * 1103515245u + 12345u;
            uint32_t len = (seed >> 16) % 40;
            if ((seed & 0xff) == 7)
                len = MYSQL_MAX_PAYLOAD;
            size_t give = HY_MIN((size_t)len, (size_t)MYSQL_RESP_PEEK);
            uint8_t *b = malloc(give ? give : 1);
            assert_non_null(b);
            for (size_t j = 0; j < give; j++) {
                seed = seed * 1103515245u + 12345u;
                /* bias towards the interesting first bytes */
                b[j] = (uint8_t)(seed >> 24);
                if (j == 0 && (seed & 3) == 0)
                    b[j] = (seed & 4) ? 0xfe : 0x00;
            }
            enum mysql_resp_rc rc = mysql_resp_feed(&r, b, len);
            free(b);
            assert_true(rc <= MYSQL_RESP_BAD);
            if (rc == MYSQL_RESP_INFILE)
                mysql_resp_infile_done(&r);
            if (rc != MYSQL_RESP_MORE && rc != MYSQL_RESP_INFILE)
                break;
        }
    }
}

/* ---- prepared statements --------------------------------------------------- */

static void test_stmt_id(void **state)
{
    (void)state;
    uint8_t p[] = {COM_STMT_EXECUTE, 0x78, 0x56, 0x34, 0x12, 0x00};
    assert_int_equal(mysql_stmt_id_get(p), 0x12345678u);
    mysql_stmt_id_set(p, 0xfffffffeu);
    assert_int_equal(mysql_stmt_id_get(p), 0xfffffffeu);
    assert_int_equal(p[0], COM_STMT_EXECUTE);
    assert_int_equal(p[5], 0x00);
}

static void test_prepare_ok(void **state)
{
    (void)state;
    struct mysql_prepare_ok ok;
    /* stmt 7, 3 columns, 2 params, filler, 1 warning */
    static const uint8_t full[] = {0x00, 7, 0, 0, 0, 3, 0, 2, 0, 0, 1, 0};
    assert_int_equal(mysql_prepare_ok_decode(full, sizeof(full), &ok), HY_OK);
    assert_int_equal(ok.stmt_id, 7);
    assert_int_equal(ok.n_cols, 3);
    assert_int_equal(ok.n_params, 2);
    assert_int_equal(ok.warnings, 1);
    /* without the filler and warnings (old servers) */
    assert_int_equal(mysql_prepare_ok_decode(full, 9, &ok), HY_OK);
    assert_int_equal(ok.n_params, 2);
    assert_int_equal(ok.warnings, 0);
    /* truncated, or an ERR */
    assert_int_equal(mysql_prepare_ok_decode(full, 8, &ok), HY_ERROR);
    static const uint8_t err[] = {0xff, 0x28, 0x04, '#', '4', '2', '0', '0', '0', 'x'};
    assert_int_equal(mysql_prepare_ok_decode(err, sizeof(err), &ok), HY_ERROR);
}

static const struct exec_case {
    const char *name;
    uint16_t n_params;
    const uint8_t *p;
    size_t len;
    hy_status_t rc;
    uint8_t flags;
    bool bound;
    size_t null_len, bound_off, head_len;
} exec_cases[] = {
#define EXEC(name, n, rc, flags, bound, nl, bo, hl, ...)                                           \
    {                                                                                              \
        name, n, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}), rc,       \
            flags, bound, nl, bo, hl                                                               \
    }
    EXEC("no params", 0, HY_OK, 0, false, 0, 0, 10, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0),
    EXEC("no params, cursor", 0, HY_OK, 1, false, 0, 0, 10, 0x17, 1, 0, 0, 0, 1, 1, 0, 0, 0),
    EXEC("1 param, types", 1, HY_OK, 0, true, 1, 11, 14, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0x00, 1,
         0x03, 0x00, 42, 0, 0, 0),
    EXEC("1 param, no types", 1, HY_OK, 0, false, 1, 11, 12, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0x00,
         0, 42, 0, 0, 0),
    EXEC("8 params: 1 bitmap byte", 8, HY_OK, 0, false, 1, 11, 12, 0x17, 2, 0, 0, 0, 0, 1, 0, 0, 0,
         0xff, 0),
    EXEC("9 params: 2 bitmap bytes", 9, HY_OK, 0, false, 2, 12, 13, 0x17, 2, 0, 0, 0, 0, 1, 0, 0, 0,
         0xff, 0x01, 0),
    EXEC("head cut in the types", 2, HY_ERROR, 0, true, 1, 11, 0, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0,
         0x00, 1, 0x03, 0x00, 0x03),
    EXEC("no bound flag", 1, HY_ERROR, 0, false, 1, 11, 0, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0x00),
    EXEC("bad bound flag", 1, HY_ERROR, 0, false, 1, 11, 0, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0x00,
         2),
    EXEC("short", 0, HY_ERROR, 0, false, 0, 0, 0, 0x17, 1, 0, 0, 0, 0, 1, 0, 0),
    EXEC("not an execute", 0, HY_ERROR, 0, false, 0, 0, 0, 0x16, 1, 0, 0, 0, 0, 1, 0, 0, 0),
#undef EXEC
};

static void test_exec_case(void **state)
{
    const struct exec_case *c = *state;
    struct mysql_stmt_exec ex;
    assert_int_equal(mysql_stmt_exec_decode(c->p, c->len, c->n_params, &ex), c->rc);
    if (c->rc != HY_OK)
        return;
    assert_int_equal(ex.stmt_id, c->p[1]);
    assert_int_equal(ex.flags, c->flags);
    assert_int_equal(ex.iterations, 1);
    assert_int_equal(ex.new_params_bound, c->bound);
    assert_int_equal(ex.null_len, c->null_len);
    assert_int_equal(ex.bound_off, c->bound_off);
    assert_int_equal(ex.head_len, c->head_len);
    assert_true((ex.types != NULL) == c->bound);
    assert_true((ex.null_bitmap != NULL) == (c->n_params > 0));
}

/* mysql_stmt_exec_param: each parameter's value, walking those before it */
static void test_exec_param(void **state)
{
    (void)state;
    /* 5 params: DATETIME (4 bytes), NULL (bit 1), LONGLONG -7, STRING "042",
     * TINY unsigned 200; types sent (bound = 1) */
    static const uint8_t p[] = {0x17, 5,    0,    0,    0,    0,    1,    0,    0, 0, /* head */
                                0x02, /* NULL bitmap: param 1 */
                                0x01, /* new_params_bound */
                                12,   0,    8,    0,    8,    0,    254,  0,    1, 0x80, /* types */
                                4,    0xe8, 0x07, 1,    2, /* DATETIME 2024-01-02 */
                                0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* -7 */
                                3,    '0',  '4',  '2',                          /* "042" */
                                200};
    struct mysql_stmt_exec ex;
    assert_int_equal(mysql_stmt_exec_decode(p, sizeof(p), 5, &ex), HY_OK);
    struct mysql_param v;
    assert_int_equal(mysql_stmt_exec_param(p, sizeof(p), &ex, 5, ex.types, 0, &v), HY_OK);
    assert_int_equal(v.kind, MP_OTHER);
    assert_int_equal(mysql_stmt_exec_param(p, sizeof(p), &ex, 5, ex.types, 1, &v), HY_OK);
    assert_int_equal(v.kind, MP_NULL);
    assert_int_equal(mysql_stmt_exec_param(p, sizeof(p), &ex, 5, ex.types, 2, &v), HY_OK);
    assert_int_equal(v.kind, MP_INT);
    assert_int_equal(v.i, -7);
    assert_int_equal(mysql_stmt_exec_param(p, sizeof(p), &ex, 5, ex.types, 3, &v), HY_OK);
    assert_int_equal(v.kind, MP_STR);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.s, "042", 3);
    assert_int_equal(mysql_stmt_exec_param(p, sizeof(p), &ex, 5, ex.types, 4, &v), HY_OK);
    assert_int_equal(v.kind, MP_UINT);
    assert_int_equal(v.u, 200);
    /* past the last; values cut short; no types known */
    assert_int_equal(mysql_stmt_exec_param(p, sizeof(p), &ex, 5, ex.types, 5, &v), HY_ERROR);
    assert_int_equal(mysql_stmt_exec_param(p, sizeof(p) - 1, &ex, 5, ex.types, 4, &v), HY_ERROR);
    assert_int_equal(mysql_stmt_exec_param(p, sizeof(p), &ex, 5, NULL, 2, &v), HY_ERROR);
    /* an unknown type */
    static const uint8_t types[] = {12, 0, 8, 0, 99, 0, 254, 0, 1, 0x80};
    assert_int_equal(mysql_stmt_exec_param(p, sizeof(p), &ex, 5, types, 3, &v), HY_ERROR);
}

static void test_exec_bind_types(void **state)
{
    (void)state;
    /* 2 params, second NULL, no types: values 42 (LONG) */
    static const uint8_t p[] = {0x17, 5, 0, 0, 0, 0, 1, 0, 0, 0, 0x02, 0x00, 42, 0, 0, 0};
    static const uint8_t types[] = {0x03, 0x00, 0x0f, 0x00};
    struct mysql_stmt_exec ex;
    assert_int_equal(mysql_stmt_exec_decode(p, sizeof(p), 2, &ex), HY_OK);
    assert_false(ex.new_params_bound);
    uint8_t out[64];
    size_t n = mysql_stmt_exec_bind_types(p, &ex, 2, types, 0x01020304, out, sizeof(out));
    assert_int_equal(n, ex.head_len + 4);
    static const uint8_t want[] = {0x17, 4, 3,    2,    1,    0,    1,    0,
                                   0,    0, 0x02, 0x01, 0x03, 0x00, 0x0f, 0x00};
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    /* the rewritten head decodes as bound, and its values follow as before */
    uint8_t whole[64];
    memcpy(whole, out, n);
    memcpy(whole + n, p + ex.head_len, sizeof(p) - ex.head_len);
    struct mysql_stmt_exec ex2;
    assert_int_equal(mysql_stmt_exec_decode(whole, n + sizeof(p) - ex.head_len, 2, &ex2), HY_OK);
    assert_true(ex2.new_params_bound);
    assert_memory_equal(ex2.types, types, sizeof(types));
    assert_int_equal(ex2.head_len, n);
    /* does not fit; already bound; no parameters */
    assert_int_equal(mysql_stmt_exec_bind_types(p, &ex, 2, types, 1, out, n - 1), 0);
    assert_int_equal(mysql_stmt_exec_bind_types(whole, &ex2, 2, types, 1, out, sizeof(out)), 0);
    static const uint8_t p0[] = {0x17, 5, 0, 0, 0, 0, 1, 0, 0, 0};
    assert_int_equal(mysql_stmt_exec_decode(p0, sizeof(p0), 0, &ex), HY_OK);
    assert_int_equal(mysql_stmt_exec_bind_types(p0, &ex, 0, types, 1, out, sizeof(out)), 0);
    assert_int_equal(mysql_stmt_exec_head_max(0), 10);
    assert_int_equal(mysql_stmt_exec_head_max(2), 10 + 1 + 1 + 4);
    assert_int_equal(mysql_stmt_exec_head_max(9), 10 + 2 + 1 + 18);
}

/* COM_STMT_BULK_EXECUTE: the head with and without types, and types added
 * to one sent without them (a backend that lacks the client's types). */
static void test_bulk_bind_types(void **state)
{
    (void)state;
    /* 2 INT params without types: flags 0, then rows (indicator, value) */
    static const uint8_t p[] = {0xfa, 5, 0, 0, 0, 0x00, 0x00, 0, 7, 0, 0, 0, 1};
    static const uint8_t types[] = {0x03, 0x00, 0x03, 0x80};
    struct mysql_stmt_bulk bk;
    assert_int_equal(mysql_stmt_bulk_decode(p, sizeof(p), 2, &bk), HY_OK);
    assert_int_equal(bk.stmt_id, 5);
    assert_int_equal(bk.flags, 0);
    assert_null(bk.types);
    assert_int_equal(bk.head_len, MYSQL_STMT_BULK_HEAD);
    uint8_t out[32];
    size_t n = mysql_stmt_bulk_bind_types(p, &bk, 2, types, 0x01020304, out, sizeof(out));
    static const uint8_t want[] = {0xfa, 4, 3, 2, 1, 0x80, 0x00, 0x03, 0x00, 0x03, 0x80};
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    /* the new head and the client's rows decode as a bulk with types */
    uint8_t whole[64];
    memcpy(whole, out, n);
    memcpy(whole + n, p + bk.head_len, sizeof(p) - bk.head_len);
    struct mysql_stmt_bulk bk2;
    assert_int_equal(mysql_stmt_bulk_decode(whole, n + sizeof(p) - bk.head_len, 2, &bk2), HY_OK);
    assert_int_equal(bk2.flags, STMT_BULK_FLAG_SEND_TYPES);
    assert_memory_equal(bk2.types, types, sizeof(types));
    assert_int_equal(bk2.head_len, n);
    assert_memory_equal(whole + n, p + MYSQL_STMT_BULK_HEAD, sizeof(p) - MYSQL_STMT_BULK_HEAD);
    /* already typed; no parameters; does not fit */
    assert_int_equal(mysql_stmt_bulk_bind_types(whole, &bk2, 2, types, 1, out, sizeof(out)), 0);
    assert_int_equal(mysql_stmt_bulk_bind_types(p, &bk, 0, types, 1, out, sizeof(out)), 0);
    assert_int_equal(mysql_stmt_bulk_bind_types(p, &bk, 2, types, 1, out, n - 1), 0);
    /* short heads; types cut short; another command */
    assert_int_equal(mysql_stmt_bulk_decode(p, 6, 2, &bk), HY_ERROR);
    assert_int_equal(mysql_stmt_bulk_decode(whole, 10, 2, &bk), HY_ERROR);
    static const uint8_t ex[] = {0x17, 5, 0, 0, 0, 0, 1, 0, 0, 0};
    assert_int_equal(mysql_stmt_bulk_decode(ex, sizeof(ex), 0, &bk), HY_ERROR);
}

/* MariaDB's extended capabilities: in the greeting's and the login's last 4
 * filler bytes, read and written only while CLIENT_MYSQL is unset. */
static void test_ext_caps(void **state)
{
    (void)state;
    uint8_t *b = dup_exact(LIT(greeting_mariadb));
    struct mysql_handshake hs;
    b[GREETING_CAPS_LOWER_OFF] |= CLIENT_MYSQL; /* a MySQL server's filler is not caps */
    assert_int_equal(mysql_handshake_decode(b, LIT_LEN(greeting_mariadb), &hs), HY_OK);
    assert_int_equal(hs.ext_caps, 0);
    free(b);

    hs.caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
    hs.ext_caps = MARIADB_CLIENT_EXTENDED_METADATA;
    hs.server_version = "11.4.0-MariaDB";
    hs.server_version_len = 14;
    hs.plugin = "mysql_native_password";
    hs.plugin_len = 21;
    uint8_t out[128];
    size_t n = mysql_handshake_encode(&hs, out, sizeof(out));
    size_t ext_off = 1 + 15 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 6;
    assert_true(n > ext_off + 4);
    assert_memory_equal(out + ext_off, "\x08\x00\x00\x00", 4);
    struct mysql_handshake back;
    assert_int_equal(mysql_handshake_decode(out, n, &back), HY_OK);
    assert_int_equal(back.ext_caps, MARIADB_CLIENT_EXTENDED_METADATA);
    hs.caps |= CLIENT_MYSQL; /* then no extended caps are written */
    n = mysql_handshake_encode(&hs, out, sizeof(out));
    assert_memory_equal(out + ext_off, "\0\0\0\0", 4);

    struct mysql_login lg = {
        .caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION,
        .ext_caps = MARIADB_CLIENT_EXTENDED_METADATA | MARIADB_CLIENT_PROGRESS,
        .max_packet = 1u << 24,
        .charset = 45,
        .user = "app",
        .user_len = 3,
    };
    n = mysql_login_encode(&lg, out, sizeof(out));
    assert_memory_equal(out + 28, "\x09\x00\x00\x00", 4);
    struct mysql_login lb;
    assert_int_equal(mysql_login_decode(out, n, &lb), HY_OK);
    assert_int_equal(lb.ext_caps, 9);
    /* the SSLRequest carries them too */
    lg.caps |= CLIENT_SSL;
    lg.ssl_request = true;
    n = mysql_login_encode(&lg, out, sizeof(out));
    assert_int_equal(n, 32);
    assert_int_equal(mysql_login_decode(out, n, &lb), HY_OK);
    assert_int_equal(lb.ext_caps, 9);
    lg.caps |= CLIENT_MYSQL;
    lg.ssl_request = false;
    n = mysql_login_encode(&lg, out, sizeof(out));
    assert_memory_equal(out + 28, "\0\0\0\0", 4);
    assert_int_equal(mysql_login_decode(out, n, &lb), HY_OK);
    assert_int_equal(lb.ext_caps, 0);
}

/* A JSON column's definition laid out as MariaDB sends it with
 * MARIADB_CLIENT_EXTENDED_METADATA: format "json" after org_name. */
static const char coldef_json[] = "\x03"
                                  "def"
                                  "\x04"
                                  "test"
                                  "\x01"
                                  "t"
                                  "\x01"
                                  "t"
                                  "\x01"
                                  "j"
                                  "\x01"
                                  "j"
                                  "\x06"
                                  "\x01"
                                  "\x04"
                                  "json" /* extended metadata */
                                  "\x0c"
                                  "\x2d\x00"
                                  "\xfc\xff\xff\xff" /* charset, length */
                                  "\xfc"
                                  "\x90\x00"
                                  "\x00"
                                  "\x00\x00"; /* blob, flags, decimals */

/* mysql_greeting_encode: what a client decodes is what was asked for. */
static void test_greeting_encode(void **state)
{
    (void)state;
    static const struct {
        const char *version, *plugin;
        uint32_t id, caps, ext_caps;
    } cases[] = {
        {"10.11.6-MariaDB-halyard", "mysql_native_password", 7,
         CLIENT_PROTOCOL_41 | CLIENT_PLUGIN_AUTH | CLIENT_SECURE_CONNECTION,
         MARIADB_CLIENT_CACHE_METADATA},
        {"5.5.5-10.11.6", "caching_sha2_password", 4000000000u,
         CLIENT_PROTOCOL_41 | CLIENT_PLUGIN_AUTH | CLIENT_SECURE_CONNECTION | CLIENT_SSL, 0},
    };
    uint8_t scramble[MYSQL_SCRAMBLE_LEN];
    for (size_t i = 0; i < sizeof(scramble); i++)
        scramble[i] = (uint8_t)(0x21 + i);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[256];
        size_t n = mysql_greeting_encode(b, sizeof(b), cases[i].version, cases[i].id, scramble,
                                         cases[i].caps, cases[i].ext_caps, cases[i].plugin);
        assert_true(n > 0);
        struct mysql_handshake hs;
        assert_int_equal(mysql_handshake_decode(b, n, &hs), HY_OK);
        assert_int_equal(hs.protocol, 10);
        assert_string_equal(hs.server_version, cases[i].version);
        assert_int_equal(hs.conn_id, cases[i].id);
        assert_memory_equal(hs.scramble, scramble, sizeof(scramble));
        assert_int_equal(hs.caps, cases[i].caps);
        assert_int_equal(hs.ext_caps, cases[i].ext_caps);
        assert_int_equal(hs.charset, 45);
        assert_int_equal(hs.status, SERVER_STATUS_AUTOCOMMIT);
        assert_int_equal(hs.plugin_len, strlen(cases[i].plugin));
        assert_memory_equal(hs.plugin, cases[i].plugin, hs.plugin_len);
        assert_int_equal(mysql_greeting_encode(b, 20, cases[i].version, cases[i].id, scramble,
                                               cases[i].caps, cases[i].ext_caps, cases[i].plugin),
                         0); /* too small */
    }
}

/* mysql_type_is_string and mysql_type_is_lenenc over every type code. */
static void test_type_classes(void **state)
{
    (void)state;
    static const struct {
        uint8_t t;
        bool string, lenenc;
    } cases[] = {
        {MYSQL_TYPE_VARCHAR, true, true},
        {MYSQL_TYPE_VAR_STRING, true, true},
        {MYSQL_TYPE_STRING, true, true},
        {MYSQL_TYPE_TINY_BLOB, true, true},
        {MYSQL_TYPE_MEDIUM_BLOB, true, true},
        {MYSQL_TYPE_LONG_BLOB, true, true},
        {MYSQL_TYPE_BLOB, true, true},
        {MYSQL_TYPE_ENUM, true, true},
        {MYSQL_TYPE_SET, true, true},
        {MYSQL_TYPE_DECIMAL, false, true},
        {MYSQL_TYPE_NEWDECIMAL, false, true},
        {MYSQL_TYPE_BIT, false, true},
        {MYSQL_TYPE_JSON, false, true},
        {MYSQL_TYPE_GEOMETRY, false, true},
        {MYSQL_TYPE_TINY, false, false},
        {MYSQL_TYPE_LONGLONG, false, false},
        {MYSQL_TYPE_DOUBLE, false, false},
        {MYSQL_TYPE_NULL, false, false},
        {MYSQL_TYPE_TIMESTAMP, false, false},
        {MYSQL_TYPE_DATETIME, false, false},
        {MYSQL_TYPE_TIME, false, false},
        {MYSQL_TYPE_YEAR, false, false},
        {MYSQL_TYPE_BLOB_COMPRESSED, false, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (mysql_type_is_string(cases[i].t) != cases[i].string ||
            mysql_type_is_lenenc(cases[i].t) != cases[i].lenenc)
            fail_msg("type %u", cases[i].t);
    }
    for (unsigned t = 0; t < 256; t++) /* every string type is length-encoded */
        assert_true(!mysql_type_is_string(t) || mysql_type_is_lenenc(t));
}

static void test_coldef_ext_meta(void **state)
{
    (void)state;
    struct mysql_coldef cd;
    uint8_t *b = dup_exact(LIT(coldef_json));
    assert_int_equal(mysql_coldef_decode(b, LIT_LEN(coldef_json), true, &cd), HY_OK);
    assert_str_eq((const char *)cd.name, cd.name_len, "j");
    assert_int_equal(cd.charset, 45);
    assert_int_equal(cd.type, MYSQL_TYPE_BLOB);
    assert_int_equal(cd.flags, 0x90);
    /* Read without it, the metadata block is taken for the fixed fields. */
    assert_int_equal(mysql_coldef_decode(b, LIT_LEN(coldef_json), false, &cd), HY_ERROR);
    for (size_t n = 0; n < LIT_LEN(coldef_json) - 1; n++)
        assert_int_equal(mysql_coldef_decode(b, n, true, &cd), HY_ERROR);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hdr),
        cmocka_unit_test(test_lenenc_read),
        cmocka_unit_test(test_lenenc_write),
        cmocka_unit_test(test_rd_fixed),
        cmocka_unit_test(test_rd_strings),
        cmocka_unit_test(test_wr),
        cmocka_unit_test(test_handshake_decode_mariadb),
        cmocka_unit_test(test_ext_caps),
        cmocka_unit_test(test_coldef_ext_meta),
        cmocka_unit_test(test_handshake_decode_bad),
        cmocka_unit_test(test_handshake_decode_old),
        cmocka_unit_test(test_handshake_decode_long_auth_data),
        cmocka_unit_test(test_handshake_encode),
        cmocka_unit_test(test_login_decode_cli),
        cmocka_unit_test(test_login_truncated),
        cmocka_unit_test(test_login_old_client),
        cmocka_unit_test(test_login_nul_auth),
        cmocka_unit_test(test_login_ssl_request),
        cmocka_unit_test(test_login_bad),
        cmocka_unit_test(test_login_encode_limits),
        cmocka_unit_test(test_change_user),
        cmocka_unit_test(test_change_user_long_auth),
        cmocka_unit_test(test_change_user_old),
        cmocka_unit_test(test_auth_switch),
        cmocka_unit_test(test_auth_switch_native),
        cmocka_unit_test(test_ok_decode),
        cmocka_unit_test(test_ok_encode),
        cmocka_unit_test(test_ok_track_filter),
        cmocka_unit_test(test_track_iter),
        cmocka_unit_test(test_track_bad),
        cmocka_unit_test(test_err),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_is_eof),
        cmocka_unit_test(test_com_name),
        cmocka_unit_test(test_resp_infile_order),
        cmocka_unit_test(test_resp_status_seen),
        cmocka_unit_test(test_resp_db_dropped),
        cmocka_unit_test(test_resp_expects_reply),
        cmocka_unit_test(test_resp_err_fits),
        cmocka_unit_test(test_resp_garbage),
        cmocka_unit_test(test_stmt_id),
        cmocka_unit_test(test_prepare_ok),
        cmocka_unit_test(test_exec_bind_types),
        cmocka_unit_test(test_bulk_bind_types),
        cmocka_unit_test(test_exec_param),
        cmocka_unit_test(test_type_classes),
        cmocka_unit_test(test_greeting_encode),
    };
    /* One named test per response-tracker case, so a failure names it. */
    static struct CMUnitTest resp_tests[HY_ARRAY_SIZE(resp_cases)];
    for (size_t i = 0; i < HY_ARRAY_SIZE(resp_cases); i++) {
        resp_tests[i] =
            (struct CMUnitTest)cmocka_unit_test_prestate(test_resp_case, &resp_cases[i]);
        resp_tests[i].name = resp_cases[i].name;
    }
    static struct CMUnitTest exec_tests[HY_ARRAY_SIZE(exec_cases)];
    for (size_t i = 0; i < HY_ARRAY_SIZE(exec_cases); i++) {
        exec_tests[i] =
            (struct CMUnitTest)cmocka_unit_test_prestate(test_exec_case, (void *)&exec_cases[i]);
        exec_tests[i].name = exec_cases[i].name;
    }
    int failed = cmocka_run_group_tests_name("mysql_proto", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("mysql_stmt_exec", exec_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("mysql_resp", resp_tests, NULL, NULL);
    return failed;
}
