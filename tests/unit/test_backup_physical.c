/*
 * test_backup_physical.c: the pure parts of the mariadb-backup method
 * (backup_physical.h):
 *   - the xbstream walk: chunks fed whole and one byte at a time, the
 *     binlog info's payload kept (xtrabackup_binlog_info and MariaDB 11's
 *     mariadb_backup_binlog_info) and xtrabackup_checkpoints' (the LSN
 *     range) kept, another file's payload not; a stream
 *     cut inside a header or a payload is not complete; bad magic, an
 *     unknown chunk type and a path length out of range refused;
 *   - the GTID of a binlog info line (multi-domain; none; not a GTID);
 *   - the template's expansion with %h %p %u (backup_expand).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/backup/backup_copy.h"
#include "halyard/backup/backup_full.h"
#include "halyard/backup/backup_physical.h"

static size_t put_le(uint8_t *o, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        o[i] = (uint8_t)(v >> (8 * i));
    return (size_t)n;
}

/* One chunk: type 'P' with payload, or 'E'. */
static size_t chunk(uint8_t *o, char type, const char *path, const char *payload)
{
    size_t k = 0, pl = strlen(path);
    memcpy(o, "XBSTCK01", 8);
    k = 8;
    o[k++] = 0;
    o[k++] = (uint8_t)type;
    k += put_le(o + k, pl, 4);
    memcpy(o + k, path, pl);
    k += pl;
    if (type == 'P') {
        size_t n = strlen(payload);
        k += put_le(o + k, n, 8);
        k += put_le(o + k, 0, 8);
        k += put_le(o + k, 0xdeadbeef, 4);
        memcpy(o + k, payload, n);
        k += n;
    }
    return k;
}

static size_t sample(uint8_t *o, const char *info_name)
{
    size_t k = 0;
    k += chunk(o + k, 'P', "ibdata1", "pages pages pages");
    k += chunk(o + k, 'E', "ibdata1", NULL);
    k += chunk(o + k, 'P', "xtrabackup_checkpoints", "from_lsn = 0\nto_lsn = 4242\n");
    k += chunk(o + k, 'E', "xtrabackup_checkpoints", NULL);
    k += chunk(o + k, 'P', info_name, "binlog.000003\t1234\t0-1-42,1-2-7\n");
    k += chunk(o + k, 'E', info_name, NULL);
    k += chunk(o + k, 'P', "xtrabackup_info", "binlog_pos = '0-9-9'\n");
    k += chunk(o + k, 'E', "xtrabackup_info", NULL);
    return k;
}

static void test_walk(void **state)
{
    (void)state;
    static uint8_t buf[4096];
    const char *names[] = {"xtrabackup_binlog_info", "mariadb_backup_binlog_info"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = sample(buf, names[i]);
        struct xbstream_scan s = {0};
        assert_true(xbstream_scan_feed(&s, buf, n));
        assert_true(xbstream_scan_complete(&s));
        assert_int_equal(s.chunks, 8);
        assert_string_equal(s.info, "binlog.000003\t1234\t0-1-42,1-2-7\n");
        assert_string_equal(s.ckpt, "from_lsn = 0\nto_lsn = 4242\n"); /* the LSN range */
        /* one byte at a time: the same */
        struct xbstream_scan t = {0};
        for (size_t k = 0; k < n; k++) {
            assert_true(xbstream_scan_feed(&t, buf + k, 1));
            /* complete only between chunks */
            if (k + 1 < n && xbstream_scan_complete(&t))
                assert_true(t.have == 0 && t.left == 0);
        }
        assert_true(xbstream_scan_complete(&t));
        assert_string_equal(t.info, s.info);
        assert_string_equal(t.ckpt, s.ckpt);
        /* cut anywhere inside the last chunk: not complete */
        size_t last = n - (14 + strlen("xtrabackup_info"));
        for (size_t cut = last + 1; cut < n; cut++) {
            struct xbstream_scan c = {0};
            assert_true(xbstream_scan_feed(&c, buf, cut));
            assert_false(xbstream_scan_complete(&c));
        }
        /* inside a payload */
        struct xbstream_scan c = {0};
        assert_true(xbstream_scan_feed(&c, buf, 14 + 7 + 20 + 3));
        assert_false(xbstream_scan_complete(&c));
    }
    struct xbstream_scan e = {0};
    assert_false(xbstream_scan_complete(&e)); /* nothing at all */
}

static void test_refused(void **state)
{
    (void)state;
    static uint8_t buf[4096];
    size_t n = sample(buf, "xtrabackup_binlog_info");
    struct xbstream_scan s = {0};
    buf[0] = 'Y'; /* magic */
    assert_false(xbstream_scan_feed(&s, buf, n));
    assert_true(s.bad);
    assert_non_null(strstr(s.error, "magic"));
    assert_false(xbstream_scan_complete(&s));
    n = sample(buf, "xtrabackup_binlog_info");
    buf[9] = 'S'; /* type */
    struct xbstream_scan t = {0};
    assert_false(xbstream_scan_feed(&t, buf, n));
    assert_non_null(strstr(t.error, "type"));
    n = sample(buf, "xtrabackup_binlog_info");
    put_le(buf + 10, XBSTREAM_PATH_MAX + 1, 4); /* path length */
    struct xbstream_scan u = {0};
    assert_false(xbstream_scan_feed(&u, buf, n));
    assert_non_null(strstr(u.error, "path length"));
    /* text, as a dump is */
    struct xbstream_scan v = {0};
    const char *sql = "-- MariaDB dump 10.19\nCREATE TABLE t (id int);\n";
    assert_false(xbstream_scan_feed(&v, (const uint8_t *)sql, strlen(sql)));
}

static void test_gtid(void **state)
{
    (void)state;
    char g[200];
    const char *a = "binlog.000001\t630\t0-2-2\n";
    assert_true(backup_physical_gtid(a, strlen(a), g, sizeof(g)));
    assert_string_equal(g, "0-2-2");
    const char *b = "binlog.000003\t1234\t0-1-42,1-2-7\n";
    assert_true(backup_physical_gtid(b, strlen(b), g, sizeof(g)));
    assert_string_equal(g, "0-1-42,1-2-7");
    const char *c = "binlog.000001\t630\n"; /* no GTID field */
    assert_false(backup_physical_gtid(c, strlen(c), g, sizeof(g)));
    const char *d = "binlog.000001\t630\t\n"; /* empty */
    assert_false(backup_physical_gtid(d, strlen(d), g, sizeof(g)));
    const char *e = "binlog.000001\t630\tnot-a-gtid\n";
    assert_false(backup_physical_gtid(e, strlen(e), g, sizeof(g)));
    assert_false(backup_physical_gtid(a, strlen(a), g, 5)); /* too small */
    assert_false(backup_physical_gtid("", 0, g, sizeof(g)));
}

static void test_expand(void **state)
{
    (void)state;
    char out[512];
    const char *const v[] = {"127.0.0.1", "3306", "bk'u", NULL}; /* %i: a full's */
    assert_int_equal(backup_expand(BACKUP_PHYSICAL_DEFAULT_COMMAND, "hpui", v, out, sizeof(out)),
                     HY_OK);
    assert_string_equal(out, "mariadb-backup --backup --stream=xbstream --host='127.0.0.1' "
                             "--port='3306' --user='bk'\\''u' --target-dir=/tmp ");
    assert_int_equal(backup_expand("ssh db1 mb -H %h 100%%", "hpu", v, out, sizeof(out)), HY_OK);
    assert_string_equal(out, "ssh db1 mb -H '127.0.0.1' 100%");
    assert_int_equal(backup_expand("x %f", "hpu", v, out, sizeof(out)), HY_ERROR);
    assert_int_equal(backup_expand("x %", "hpu", v, out, sizeof(out)), HY_ERROR);
    assert_int_equal(backup_expand("x %h", "hpu", v, out, 8), HY_ERROR);
}

static void test_suffix(void **state)
{
    (void)state;
    assert_int_equal(backup_full_suffix("full-20261123T000000Z.sql.gz"), 7);
    assert_int_equal(backup_full_suffix("full/full-20261123T000000Z.xb.gz"), 6);
    assert_int_equal(backup_full_suffix("full-20261123T000000Z.json"), 0);
    assert_int_equal(backup_full_suffix("full-20261123T000000Z.xb.gz.partial"), 0);
    assert_int_equal(backup_full_suffix(".xb.gz"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk),   cmocka_unit_test(test_refused), cmocka_unit_test(test_gtid),
        cmocka_unit_test(test_expand), cmocka_unit_test(test_suffix),
    };
    return cmocka_run_group_tests_name("backup_physical", tests, NULL, NULL);
}
