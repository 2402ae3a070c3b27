/*
 * test_colmeta.c: MARIADB_CLIENT_CACHE_METADATA toward the client.
 *
 *   - the definitions' walk: all there (length, signature), some missing
 *     (MORE), larger than the limit or a 16 MiB packet (BIG)
 *   - the signature covers lengths and bytes, not sequence ids
 *   - left out only for a client known to hold the same signature
 *   - the client's column count packet with metadata_follows
 *   - the response tracker's facts the session asks before feeding: a
 *     column count next, a PREPARE's first column definition next, the
 *     result sets begun
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/colmeta.h"
#include "halyard/protocol/mysql_proto.h"
#include "packets.h"

/* A column definition packet for column `name` with sequence id `seq`. */
static size_t coldef(uint8_t *out, uint8_t seq, const char *name, uint8_t type)
{
    struct pk_col c = {"db", "t", "t", name, name, .charset = 63, .length = 11, .type = type};
    size_t n = pk_coldef(out + MYSQL_HEADER_SIZE, 251, &c);
    out[0] = (uint8_t)n;
    out[1] = out[2] = 0;
    out[3] = seq;
    return MYSQL_HEADER_SIZE + n;
}

static size_t two_defs(uint8_t *buf, uint8_t seq, uint8_t type_b)
{
    size_t n = coldef(buf, seq, "a", 3);
    return n + coldef(buf + n, (uint8_t)(seq + 1), "b", type_b);
}

static void test_scan(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = two_defs(buf, 2, 3);
    struct colmeta_scan sc;
    assert_int_equal(colmeta_defs_scan(buf, n, 2, sizeof(buf), &sc), COLMETA_OK);
    assert_int_equal(sc.len, n);
    assert_int_equal(colmeta_defs_scan(buf, n + 7, 2, sizeof(buf), &sc), COLMETA_OK);
    assert_int_equal(sc.len, n); /* what follows is not theirs */
    for (size_t have = 0; have < n; have++)
        assert_int_equal(colmeta_defs_scan(buf, have, 2, sizeof(buf), &sc), COLMETA_MORE);
    assert_int_equal(colmeta_defs_scan(buf, n, 2, n - 1, &sc), COLMETA_BIG);
    assert_int_equal(colmeta_defs_scan(buf, 3, 2, 3, &sc), COLMETA_BIG); /* no header fits */
    assert_int_equal(colmeta_defs_scan(buf, 0, 0, 0, &sc), COLMETA_OK);
    assert_int_equal(sc.len, 0);
    uint8_t big[8] = {0xff, 0xff, 0xff, 2, 3, 'd', 'e', 'f'};
    assert_int_equal(colmeta_defs_scan(big, sizeof(big), 1, SIZE_MAX, &sc), COLMETA_BIG);
}

static void test_signature(void **state)
{
    (void)state;
    uint8_t a[256], b[256], c[256];
    struct colmeta_scan sa, sb, sc;
    size_t na = two_defs(a, 2, 3);
    size_t nb = two_defs(b, 7, 3); /* a PREPARE's: other sequence ids */
    size_t nc = two_defs(c, 2, 8); /* column b now a BIGINT */
    assert_int_equal(colmeta_defs_scan(a, na, 2, sizeof(a), &sa), COLMETA_OK);
    assert_int_equal(colmeta_defs_scan(b, nb, 2, sizeof(b), &sb), COLMETA_OK);
    assert_int_equal(colmeta_defs_scan(c, nc, 2, sizeof(c), &sc), COLMETA_OK);
    assert_memory_equal(sa.sig, sb.sig, COLMETA_SIG_LEN);
    assert_memory_not_equal(sa.sig, sc.sig, COLMETA_SIG_LEN);
    /* one column fewer: another signature */
    struct colmeta_scan s1;
    assert_int_equal(colmeta_defs_scan(a, na, 1, sizeof(a), &s1), COLMETA_OK);
    assert_memory_not_equal(sa.sig, s1.sig, COLMETA_SIG_LEN);

    struct colmeta_sig held = {0};
    assert_false(colmeta_skip(&held, sa.sig)); /* nothing known: sent */
    held.known = true;
    memcpy(held.sig, sa.sig, COLMETA_SIG_LEN);
    assert_true(colmeta_skip(&held, sb.sig));
    assert_false(colmeta_skip(&held, sc.sig));
    held.known = false; /* sent without its signature kept */
    assert_false(colmeta_skip(&held, sa.sig));
}

static void test_count_packet(void **state)
{
    (void)state;
    uint8_t out[16];
    const uint8_t one[1] = {9};
    assert_int_equal(colmeta_count_packet(one, 1, true, 1, out, sizeof(out)), 6);
    const uint8_t want1[6] = {2, 0, 0, 1, 9, 1};
    assert_memory_equal(out, want1, 6);
    const uint8_t wide[3] = {0xfc, 0x2c, 0x01}; /* 300 columns */
    assert_int_equal(colmeta_count_packet(wide, 3, false, 4, out, sizeof(out)), 8);
    const uint8_t want2[8] = {4, 0, 0, 4, 0xfc, 0x2c, 0x01, 0};
    assert_memory_equal(out, want2, 8);
    assert_int_equal(colmeta_count_packet(wide, 0, true, 1, out, sizeof(out)), 0);
    assert_int_equal(colmeta_count_packet(wide, 3, true, 1, out, 7), 0);
}

static void test_tracker_facts(void **state)
{
    (void)state;
    struct mysql_resp r;
    uint8_t def[64];
    size_t dn = coldef(def, 2, "a", 3);
    const uint8_t count[1] = {1};
    const uint8_t ok[7] = {0, 0, 0, 2, 0, 0, 0};
    const uint8_t eof[5] = {0xfe, 0, 0, 0x0a, 0}; /* MORE_RESULTS_EXISTS | AUTOCOMMIT */
    const uint8_t last[5] = {0xfe, 0, 0, 2, 0};
    const uint8_t progress[4] = {0xff, 0xff, 0xff, 1};
    mysql_resp_start(&r, COM_STMT_EXECUTE, CLIENT_PROTOCOL_41, 0);
    assert_false(mysql_resp_colcount_next(&r, ok, sizeof(ok)));
    assert_false(mysql_resp_colcount_next(&r, progress, sizeof(progress)));
    assert_true(mysql_resp_colcount_next(&r, count, 1));
    assert_int_equal(mysql_resp_feed(&r, count, 1), MYSQL_RESP_MORE);
    assert_int_equal(r.results, 1);
    assert_false(mysql_resp_colcount_next(&r, def + 4, (uint32_t)dn - 4));
    assert_int_equal(mysql_resp_feed(&r, def + 4, (uint32_t)dn - 4), MYSQL_RESP_MORE);
    assert_int_equal(mysql_resp_feed(&r, eof, 5), MYSQL_RESP_MORE);
    assert_int_equal(mysql_resp_feed(&r, eof, 5), MYSQL_RESP_MORE); /* no rows; more results */
    assert_true(mysql_resp_colcount_next(&r, count, 1));            /* the next result */
    assert_int_equal(mysql_resp_feed(&r, count, 1), MYSQL_RESP_MORE);
    assert_int_equal(r.results, 2);
    assert_int_equal(mysql_resp_feed(&r, def + 4, (uint32_t)dn - 4), MYSQL_RESP_MORE);
    assert_int_equal(mysql_resp_feed(&r, last, 5), MYSQL_RESP_MORE);
    assert_int_equal(mysql_resp_feed(&r, last, 5), MYSQL_RESP_DONE);

    /* COM_STMT_PREPARE: 1 column, 1 parameter */
    const uint8_t pok[12] = {0, 5, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0};
    mysql_resp_start(&r, COM_STMT_PREPARE, CLIENT_PROTOCOL_41, 0);
    assert_false(mysql_resp_prep_cols_first(&r));
    assert_int_equal(mysql_resp_feed(&r, pok, sizeof(pok)), MYSQL_RESP_MORE);
    assert_int_equal(r.prep_cols, 1);
    assert_false(mysql_resp_prep_cols_first(&r)); /* the parameter's comes first */
    assert_int_equal(mysql_resp_feed(&r, def + 4, (uint32_t)dn - 4), MYSQL_RESP_MORE);
    assert_false(mysql_resp_prep_cols_first(&r)); /* then its EOF */
    assert_int_equal(mysql_resp_feed(&r, last, 5), MYSQL_RESP_MORE);
    assert_true(mysql_resp_prep_cols_first(&r));
    assert_int_equal(mysql_resp_feed(&r, def + 4, (uint32_t)dn - 4), MYSQL_RESP_MORE);
    assert_false(mysql_resp_prep_cols_first(&r));
    assert_int_equal(mysql_resp_feed(&r, last, 5), MYSQL_RESP_DONE);
    assert_false(mysql_resp_colcount_next(&r, count, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_count_packet),
        cmocka_unit_test(test_tracker_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
