/*
 * test_proxyproto.c: the PROXY protocol header parser (proxyproto.h).
 *
 *   - v1: TCP4, TCP6, UNKNOWN (with and without addresses), as haproxy
 *     writes them; what follows the header is not consumed
 *   - v2: PROXY over TCP/IPv4 and TCP/IPv6, LOCAL, UNSPEC, TLVs skipped
 *   - every valid header cut at every length asks for more, never fails
 *   - malformed: every kind of bad v1 line and v2 header is refused with a
 *     reason; garbage and MySQL packets are not headers; every single-byte
 *     change of a valid header parses or fails without reading past it
 *   - proxyproto_signature on prefixes of both signatures
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "halyard/protocol/proxyproto.h"

static const uint8_t SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* Parse a heap copy of exactly len bytes, so a read past it would be caught
 * by ASan (make asan). */
static enum proxyproto_rc parse(const void *p, size_t len, struct proxyproto_result *r)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    enum proxyproto_rc rc = proxyproto_parse(copy, len, r);
    assert_int_equal(rc, r->rc);
    free(copy);
    return rc;
}

static void assert_src(const struct proxyproto_result *r, const char *addr, int port)
{
    char host[INET6_ADDRSTRLEN];
    if (r->family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&r->src;
        assert_int_equal(sin->sin_family, AF_INET);
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        assert_int_equal(ntohs(sin->sin_port), port);
    } else {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&r->src;
        assert_int_equal(r->family, AF_INET6);
        assert_int_equal(sin6->sin6_family, AF_INET6);
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        assert_int_equal(ntohs(sin6->sin6_port), port);
    }
    assert_string_equal(host, addr);
}

static void assert_dst(const struct proxyproto_result *r, const char *addr, int port)
{
    struct proxyproto_result d = *r;
    d.src = r->dst;
    assert_src(&d, addr, port);
}

/* Every proper prefix of a valid header asks for more; the whole of it
 * (and the whole with bytes after it) parses to `consumed` = len. */
static void assert_every_prefix(const uint8_t *h, size_t len)
{
    struct proxyproto_result r;
    for (size_t i = 0; i < len; i++) {
        enum proxyproto_rc rc = parse(h, i, &r);
        if (rc != PROXYPROTO_MORE)
            fail_msg("prefix of %zu of %zu bytes: rc %d (%s)", i, len, rc, r.why ? r.why : "");
    }
    assert_int_equal(parse(h, len, &r), PROXYPROTO_OK);
    assert_int_equal(r.consumed, len);
    uint8_t more[PROXYPROTO_MAX_HEADER + 64];
    assert_true(len + 5 <= sizeof(more));
    memcpy(more, h, len);
    memcpy(more + len, "\x0a\x00\x00\x00\x01", 5);
    assert_int_equal(parse(more, len + 5, &r), PROXYPROTO_OK);
    assert_int_equal(r.consumed, len);
}

/* ---- v1 ---------------------------------------------------------------- */

static void test_v1_tcp4(void **st)
{
    (void)st;
    const char *h = "PROXY TCP4 127.0.0.5 127.0.0.1 40001 3306\r\n";
    struct proxyproto_result r;
    assert_int_equal(parse(h, strlen(h), &r), PROXYPROTO_OK);
    assert_int_equal(r.version, 1);
    assert_false(r.local);
    assert_int_equal(r.consumed, strlen(h));
    assert_src(&r, "127.0.0.5", 40001);
    assert_dst(&r, "127.0.0.1", 3306);
    assert_every_prefix((const uint8_t *)h, strlen(h));

    h = "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n";
    assert_int_equal(parse(h, strlen(h), &r), PROXYPROTO_OK);
    assert_src(&r, "0.0.0.0", 0);
    assert_dst(&r, "255.255.255.255", 65535);
}

static void test_v1_tcp6(void **st)
{
    (void)st;
    const char *h = "PROXY TCP6 2001:db8::5 ::1 51234 6033\r\n";
    struct proxyproto_result r;
    assert_int_equal(parse(h, strlen(h), &r), PROXYPROTO_OK);
    assert_int_equal(r.family, AF_INET6);
    assert_src(&r, "2001:db8::5", 51234);
    assert_dst(&r, "::1", 6033);
    assert_every_prefix((const uint8_t *)h, strlen(h));

    /* The longest TCP6 line: 104 bytes (UNKNOWN may take up to 107). */
    h = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    assert_int_equal(strlen(h), 104);
    assert_int_equal(parse(h, strlen(h), &r), PROXYPROTO_OK);
    assert_int_equal(r.consumed, 104);
    assert_every_prefix((const uint8_t *)h, strlen(h));
}

static void test_v1_unknown(void **st)
{
    (void)st;
    struct proxyproto_result r;
    const char *h = "PROXY UNKNOWN\r\n";
    assert_int_equal(parse(h, strlen(h), &r), PROXYPROTO_OK);
    assert_true(r.local);
    assert_int_equal(r.family, AF_UNSPEC);
    assert_int_equal(r.consumed, strlen(h));
    assert_every_prefix((const uint8_t *)h, strlen(h));

    /* What follows UNKNOWN is ignored, as the spec says. */
    h = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
    assert_int_equal(parse(h, strlen(h), &r), PROXYPROTO_OK);
    assert_true(r.local);
    assert_int_equal(r.consumed, strlen(h));
}

static void test_v1_malformed(void **st)
{
    (void)st;
    static const char *const bad[] = {
        "PROXY TCP4 127.0.0.5 127.0.0.1 40001 3306\n",     /* LF alone */
        "PROXY TCP4 127.0.0.5 127.0.0.1 40001 3306\rX",    /* CR alone */
        "PROXY TCP4 127.0.0.5 127.0.0.1 40001\r\n",        /* three fields */
        "PROXY TCP4 127.0.0.5 127.0.0.1 40001 3306 1\r\n", /* five */
        "PROXY TCP4  127.0.0.5 127.0.0.1 40001 3306\r\n",  /* two spaces */
        "PROXY TCP4 127.0.0.5 127.0.0.1 40001 3306 \r\n",  /* trailing space */
        "PROXY TCP4 127.0.0.5 ::1 40001 3306\r\n",         /* IPv6 in TCP4 */
        "PROXY TCP6 127.0.0.5 ::1 40001 3306\r\n",         /* IPv4 in TCP6 */
        "PROXY TCP4 127.0.0.256 127.0.0.1 40001 3306\r\n", /* not an address */
        "PROXY TCP4 127.0.0 127.0.0.1 40001 3306\r\n",
        "PROXY TCP4 127.0.0.5 127.0.0.1 65536 3306\r\n",  /* port too large */
        "PROXY TCP4 127.0.0.5 127.0.0.1 040001 3306\r\n", /* six digits */
        "PROXY TCP4 127.0.0.5 127.0.0.1 01 3306\r\n",     /* leading zero */
        "PROXY TCP4 127.0.0.5 127.0.0.1 -1 3306\r\n",
        "PROXY TCP4 127.0.0.5 127.0.0.1 +1 3306\r\n",
        "PROXY TCP4 127.0.0.5 127.0.0.1 4a 3306\r\n",
        "PROXY UDP4 127.0.0.5 127.0.0.1 40001 3306\r\n", /* protocol */
        "PROXY tcp4 127.0.0.5 127.0.0.1 40001 3306\r\n",
        "PROXY TCP4\r\n",
        "PROXY \r\n",
        "PROXY UNKNOWNX\r\n",
        "PROXY TCP4 127.0.0.5\t127.0.0.1 40001 3306\r\n", /* control byte */
        "PROXY TCP4 127.0.0.5 127.0.0.\x80 40001 3306\r\n",
        "PROXY TCP4 1111111111111111111111111111111111111111111111111 127.0.0.1 1 2\r\n",
        "PROXY\r\n",   /* no space: not even the signature */
        "PROXZ TCP4 ", /* not the signature */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct proxyproto_result r;
        enum proxyproto_rc rc = parse(bad[i], strlen(bad[i]), &r);
        if (rc != PROXYPROTO_BAD)
            fail_msg("case %zu (%s): rc %d", i, bad[i], rc);
        assert_non_null(r.why);
    }

    /* A NUL in the line. */
    static const char nul[] = "PROXY TCP4 127.0.0.5 127.0.0.1 40001 3306\0\r\n";
    struct proxyproto_result r;
    assert_int_equal(parse(nul, sizeof(nul) - 1, &r), PROXYPROTO_BAD);

    /* Longer than 107 bytes without its CRLF: refused once 107 arrived,
     * and a CRLF at byte 108 is too late. */
    char line[200];
    memset(line, 'a', sizeof(line));
    memcpy(line, "PROXY UNKNOWN ", 14);
    assert_int_equal(parse(line, PROXYPROTO_V1_MAX - 1, &r), PROXYPROTO_MORE);
    assert_int_equal(parse(line, PROXYPROTO_V1_MAX, &r), PROXYPROTO_BAD);
    assert_string_equal(r.why, "v1 header longer than 107 bytes");
    memcpy(line + PROXYPROTO_V1_MAX - 1, "\r\n", 2);
    assert_int_equal(parse(line, PROXYPROTO_V1_MAX + 1, &r), PROXYPROTO_BAD);
    memcpy(line + PROXYPROTO_V1_MAX - 2, "\r\n", 2);
    assert_int_equal(parse(line, PROXYPROTO_V1_MAX, &r), PROXYPROTO_OK);
    assert_int_equal(r.consumed, PROXYPROTO_V1_MAX);
}

/* ---- v2 ---------------------------------------------------------------- */

/* A v2 header: signature, ver_cmd, fam, body of blen bytes. */
static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const uint8_t *body, size_t blen)
{
    memcpy(out, SIG, 12);
    out[12] = ver_cmd;
    out[13] = fam;
    out[14] = (uint8_t)(blen >> 8);
    out[15] = (uint8_t)blen;
    if (blen > 0)
        memcpy(out + 16, body, blen);
    return 16 + blen;
}

static const uint8_t INET_BODY[12] = {127, 0, 0, 5, 127, 0, 0, 1, 0x9c, 0x41, 0x0c, 0xea};

static void test_v2_inet(void **st)
{
    (void)st;
    uint8_t h[64];
    size_t n = v2(h, 0x21, 0x11, INET_BODY, sizeof(INET_BODY));
    struct proxyproto_result r;
    assert_int_equal(parse(h, n, &r), PROXYPROTO_OK);
    assert_int_equal(r.version, 2);
    assert_false(r.local);
    assert_int_equal(r.consumed, 28);
    assert_src(&r, "127.0.0.5", 40001);
    assert_dst(&r, "127.0.0.1", 3306);
    assert_every_prefix(h, n);
}

static void test_v2_inet6(void **st)
{
    (void)st;
    uint8_t body[36] = {0};
    body[0] = 0x20;
    body[1] = 0x01;
    body[2] = 0x0d;
    body[3] = 0xb8;
    body[15] = 5; /* 2001:db8::5 */
    body[31] = 1; /* ::1 */
    body[32] = 0xc8;
    body[33] = 0x22; /* 51234 */
    body[34] = 0x17;
    body[35] = 0x91; /* 6033 */
    uint8_t h[64];
    size_t n = v2(h, 0x21, 0x21, body, sizeof(body));
    struct proxyproto_result r;
    assert_int_equal(parse(h, n, &r), PROXYPROTO_OK);
    assert_int_equal(r.family, AF_INET6);
    assert_src(&r, "2001:db8::5", 51234);
    assert_dst(&r, "::1", 6033);
    assert_int_equal(r.consumed, 52);
    assert_every_prefix(h, n);
}

static void test_v2_local(void **st)
{
    (void)st;
    uint8_t h[64];
    struct proxyproto_result r;
    /* LOCAL without addresses, as haproxy's health checks send it. */
    size_t n = v2(h, 0x20, 0x00, NULL, 0);
    assert_int_equal(parse(h, n, &r), PROXYPROTO_OK);
    assert_true(r.local);
    assert_int_equal(r.family, AF_UNSPEC);
    assert_int_equal(r.consumed, 16);
    assert_every_prefix(h, n);

    /* LOCAL with an address block: skipped, not used. */
    n = v2(h, 0x20, 0x11, INET_BODY, sizeof(INET_BODY));
    assert_int_equal(parse(h, n, &r), PROXYPROTO_OK);
    assert_true(r.local);
    assert_int_equal(r.consumed, 28);

    /* PROXY with UNSPEC: keep the connection's own addresses. */
    n = v2(h, 0x21, 0x00, INET_BODY, 4);
    assert_int_equal(parse(h, n, &r), PROXYPROTO_OK);
    assert_true(r.local);
    assert_int_equal(r.consumed, 20);
}

static void test_v2_tlvs(void **st)
{
    (void)st;
    uint8_t body[64];
    memcpy(body, INET_BODY, 12);
    /* PP2_TYPE_ALPN "h2", PP2_TYPE_NOOP of 0 bytes, PP2_TYPE_UNIQUE_ID of 4. */
    static const uint8_t tlvs[] = {0x01, 0x00, 0x02, 'h', 'h', 0x04, 0x00, 0x00,
                                   0x05, 0x00, 0x04, 1,   2,   3,    4};
    memcpy(body + 12, tlvs, sizeof(tlvs));
    uint8_t h[128];
    size_t n = v2(h, 0x21, 0x11, body, 12 + sizeof(tlvs));
    struct proxyproto_result r;
    assert_int_equal(parse(h, n, &r), PROXYPROTO_OK);
    assert_int_equal(r.consumed, n);
    assert_src(&r, "127.0.0.5", 40001);
    assert_every_prefix(h, n);

    /* A TLV cut short, a lone byte after the last one: malformed. */
    n = v2(h, 0x21, 0x11, body, 12 + sizeof(tlvs) - 1);
    assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);
    assert_string_equal(r.why, "v2 header with malformed TLVs");
    body[12 + sizeof(tlvs)] = 0x01;
    n = v2(h, 0x21, 0x11, body, 12 + sizeof(tlvs) + 1);
    assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);
    n = v2(h, 0x21, 0x11, body, 12 + 2);
    assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);

    /* The largest header allowed, filled with one big TLV. */
    static uint8_t big[PROXYPROTO_MAX_HEADER];
    size_t blen = PROXYPROTO_MAX_HEADER - 16;
    uint8_t *bb = big + 16;
    memcpy(bb, INET_BODY, 12);
    bb[12] = 0xE0; /* PP2_TYPE_MIN_CUSTOM */
    bb[13] = (uint8_t)((blen - 15) >> 8);
    bb[14] = (uint8_t)(blen - 15);
    memset(bb + 15, 'x', blen - 15);
    uint8_t tmp[PROXYPROTO_MAX_HEADER];
    memcpy(tmp, bb, blen);
    n = v2(big, 0x21, 0x11, tmp, blen);
    assert_int_equal(n, PROXYPROTO_MAX_HEADER);
    assert_int_equal(parse(big, n, &r), PROXYPROTO_OK);
    assert_int_equal(r.consumed, PROXYPROTO_MAX_HEADER);
    assert_every_prefix(big, n);
}

static void test_v2_malformed(void **st)
{
    (void)st;
    uint8_t h[64];
    struct proxyproto_result r;
    size_t n = v2(h, 0x11, 0x11, INET_BODY, 12); /* version 1 in binary */
    assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);
    assert_string_equal(r.why, "v2 header of an unknown version");
    assert_int_equal(parse(h, 13, &r), PROXYPROTO_BAD); /* known at byte 13 */
    n = v2(h, 0x31, 0x11, INET_BODY, 12);
    assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);
    n = v2(h, 0x22, 0x11, INET_BODY, 12); /* command 2 */
    assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);
    assert_string_equal(r.why, "v2 header with a command other than LOCAL or PROXY");
    n = v2(h, 0x2F, 0x11, INET_BODY, 12);
    assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);
    /* UDP, UNIX, unknown families. */
    static const uint8_t fams[] = {0x12, 0x22, 0x31, 0x32, 0x10, 0x20, 0x41, 0x01, 0xFF};
    for (size_t i = 0; i < sizeof(fams); i++) {
        n = v2(h, 0x21, fams[i], INET_BODY, 12);
        assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);
    }
    /* Address block shorter than the family's. */
    n = v2(h, 0x21, 0x11, INET_BODY, 11);
    assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);
    assert_string_equal(r.why, "v2 header shorter than its address family needs");
    uint8_t body6[40] = {0};
    n = v2(h, 0x21, 0x21, body6, 35);
    assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);
    n = v2(h, 0x21, 0x21, INET_BODY, 12); /* IPv4 block under IPv6 */
    assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);
    /* A length over the bound is refused from the header alone. */
    n = v2(h, 0x21, 0x11, INET_BODY, 12);
    h[14] = (uint8_t)((PROXYPROTO_MAX_HEADER - 15) >> 8);
    h[15] = (uint8_t)(PROXYPROTO_MAX_HEADER - 15);
    assert_int_equal(parse(h, 16, &r), PROXYPROTO_BAD);
    assert_string_equal(r.why, "v2 header longer than 4096 bytes");
    h[14] = 0xFF;
    h[15] = 0xFF;
    assert_int_equal(parse(h, 16, &r), PROXYPROTO_BAD);
    /* Just under: waits for the rest. */
    h[14] = (uint8_t)((PROXYPROTO_MAX_HEADER - 16) >> 8);
    h[15] = (uint8_t)(PROXYPROTO_MAX_HEADER - 16);
    assert_int_equal(parse(h, n, &r), PROXYPROTO_MORE);
    /* A signature wrong in its last byte. */
    n = v2(h, 0x21, 0x11, INET_BODY, 12);
    h[11] = 0x0B;
    assert_int_equal(parse(h, n, &r), PROXYPROTO_BAD);
    assert_string_equal(r.why, "no PROXY protocol signature");
}

/* ---- neither ----------------------------------------------------------- */

static void test_garbage(void **st)
{
    (void)st;
    struct proxyproto_result r;
    /* A MySQL login packet (what a client that skips the balancer sends
     * after our greeting; it never sends first), a TLS ClientHello, HTTP. */
    static const uint8_t login[] = {0x20, 0x00, 0x00, 0x01, 0x85, 0xa6, 0xff, 0x01};
    assert_int_equal(parse(login, sizeof(login), &r), PROXYPROTO_BAD);
    assert_string_equal(r.why, "no PROXY protocol signature");
    static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00};
    assert_int_equal(parse(hello, sizeof(hello), &r), PROXYPROTO_BAD);
    assert_int_equal(parse("GET / HTTP/1.0\r\n", 16, &r), PROXYPROTO_BAD);
    assert_int_equal(parse("\r\n\r\n\r\n", 6, &r), PROXYPROTO_BAD);
    assert_int_equal(parse("Q", 1, &r), PROXYPROTO_BAD);
    assert_int_equal(parse("", 0, &r), PROXYPROTO_MORE);
    assert_int_equal(parse("P", 1, &r), PROXYPROTO_MORE);
    assert_int_equal(parse("\r", 1, &r), PROXYPROTO_MORE);

    /* Pseudo-random bytes, with and without a signature in front: parse or
     * fail, never claim more than was given. */
    uint32_t x = 12345;
    uint8_t buf[600];
    for (int round = 0; round < 3000; round++) {
        size_t len = (size_t)(round % (int)sizeof(buf));
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
        }
        if (round % 3 == 1 && len >= 6)
            memcpy(buf, "PROXY ", 6);
        if (round % 3 == 2 && len >= 16) {
            memcpy(buf, SIG, 12);
            buf[12] = (uint8_t)(0x20 | (buf[12] & 1));
            buf[14] = 0;
        }
        enum proxyproto_rc rc = parse(buf, len, &r);
        if (rc == PROXYPROTO_OK)
            assert_true(r.consumed > 0 && r.consumed <= len);
        if (rc == PROXYPROTO_BAD)
            assert_non_null(r.why);
    }
}

/* Every single-byte change of valid headers: a verdict, bounded. */
static void test_mutations(void **st)
{
    (void)st;
    uint8_t hs[3][128];
    size_t lens[3];
    const char *v1h = "PROXY TCP6 2001:db8::5 ::1 51234 6033\r\n";
    memcpy(hs[0], v1h, strlen(v1h));
    lens[0] = strlen(v1h);
    lens[1] = v2(hs[1], 0x21, 0x11, INET_BODY, 12);
    uint8_t body[20];
    memcpy(body, INET_BODY, 12);
    memcpy(body + 12, "\x04\x00\x05hello", 8);
    lens[2] = v2(hs[2], 0x21, 0x11, body, 20);
    static const uint8_t vals[] = {0x00, 0x01, 0x0a, 0x0d, 0x20, 0x21, 0x30, 0x3a, 0x7f, 0xff};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < lens[k]; i++) {
            for (size_t v = 0; v < sizeof(vals); v++) {
                uint8_t m[128];
                memcpy(m, hs[k], lens[k]);
                m[i] = vals[v];
                struct proxyproto_result r;
                enum proxyproto_rc rc = parse(m, lens[k], &r);
                if (rc == PROXYPROTO_OK)
                    assert_true(r.consumed <= lens[k]);
                else if (rc == PROXYPROTO_BAD)
                    assert_non_null(r.why);
            }
        }
    }
}

static void test_signature(void **st)
{
    (void)st;
    const char *v1h = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
    for (size_t i = 1; i <= strlen(v1h); i++)
        assert_true(proxyproto_signature((const uint8_t *)v1h, i));
    for (size_t i = 1; i <= sizeof(SIG); i++)
        assert_true(proxyproto_signature(SIG, i));
    assert_false(proxyproto_signature((const uint8_t *)"", 0));
    assert_false(proxyproto_signature((const uint8_t *)"PROXZ", 5));
    assert_false(proxyproto_signature((const uint8_t *)"\x20\x00\x00\x01", 4));
    assert_false(proxyproto_signature((const uint8_t *)"\r\n\r\n\r", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_tcp4),      cmocka_unit_test(test_v1_tcp6),
        cmocka_unit_test(test_v1_unknown),   cmocka_unit_test(test_v1_malformed),
        cmocka_unit_test(test_v2_inet),      cmocka_unit_test(test_v2_inet6),
        cmocka_unit_test(test_v2_local),     cmocka_unit_test(test_v2_tlvs),
        cmocka_unit_test(test_v2_malformed), cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_mutations),    cmocka_unit_test(test_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
