/*
 * test_srvstatus.c: a server's status rows, rates and thresholds.
 *
 *   - rows fold into their fields whatever the case; unknown names, empty,
 *     negative and non-numeric values are ignored
 *   - SHOW BINARY LOGS' sizes summed
 *   - rates over two readings (QPS, each Com_*); a counter gone backwards (restart) or
 *     missing is unknown (-1), not a huge or negative rate
 *   - buffer pool hit ratio over the interval, 1 with no request
 *   - connections and disk percentages
 *   - thresholds rise once, stay up while above the clear line, clear once
 *   - halyard's own: dropped log lines give one event per streak; this
 *     process's descriptors are counted; a worker's heartbeat older than
 *     the limit is a stall, once, and its next stamp clears it
 *   - its memory: RSS counted; a block of 4 MiB is in the heap's use while
 *     held, and out of it once freed; a trim keeps what is in use; the
 *     timer's tick trims once RSS has grown past its margin, not before
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/core/clock.h"
#include "halyard/core/memory.h"
#include "halyard/core/selfwatch.h"
#include "halyard/core/srvstatus.h"

static void test_fold(void **state)
{
    (void)state;
    struct srv_status s;
    srv_status_init(&s);
    assert_int_equal(s.questions, -1);
    srv_status_fold(&s, "QUESTIONS", "1234");
    srv_status_fold(&s, "threads_running", "7");
    srv_status_fold(&s, "max_connections", "151");
    srv_status_fold(&s, "Threads_connected", "12x");
    srv_status_fold(&s, "Slow_queries", "");
    srv_status_fold(&s, "Aborted_connects", "-3");
    srv_status_fold(&s, "Uptime", "99");
    srv_status_fold(&s, "Innodb_row_lock_waits", "+5");
    srv_status_fold(&s, "Innodb_buffer_pool_reads", " 5");
    srv_status_fold(&s, "Com_select", NULL);
    assert_int_equal(s.questions, 1234);
    assert_int_equal(s.threads_running, 7);
    assert_int_equal(s.max_connections, 151);
    assert_int_equal(s.threads_connected, -1);
    assert_int_equal(s.slow_queries, -1);
    assert_int_equal(s.aborted_connects, -1);
    assert_int_equal(s.com[SRV_COM_SELECT], -1);
    assert_int_equal(s.row_lock_waits, -1);
    assert_int_equal(s.bp_reads, -1);
    srv_status_fold(&s, "com_rollback", "12");
    srv_status_fold(&s, "Com_commit", "40");
    assert_int_equal(s.com[SRV_COM_ROLLBACK], 12);
    assert_int_equal(s.com[SRV_COM_COMMIT], 40);
    assert_string_equal(srv_com_name(SRV_COM_ROLLBACK), "rollback");
    assert_string_equal(srv_com_name(SRV_COM_COUNT), "?");
}

/* SHOW BINARY LOGS: the files' sizes summed; a size that is not a number
 * makes the whole reading unknown, not a sum of some of them. */
static void test_binlogs(void **state)
{
    (void)state;
    struct srv_status s;
    srv_status_init(&s);
    assert_int_equal(s.binlog_size, -1);
    srv_status_binlogs_begin(&s);
    srv_status_binlog_file(&s, "1073741824");
    srv_status_binlog_file(&s, "4096");
    srv_status_binlog_file(&s, "329");
    assert_int_equal(s.binlog_files, 3);
    assert_int_equal(s.binlog_size, 1073741824LL + 4096 + 329);
    srv_status_binlogs_begin(&s); /* no file: 0 bytes */
    assert_int_equal(s.binlog_files, 0);
    assert_int_equal(s.binlog_size, 0);
    srv_status_binlog_file(&s, "100");
    srv_status_binlog_file(&s, NULL);
    srv_status_binlog_file(&s, "200");
    assert_int_equal(s.binlog_files, -1);
    assert_int_equal(s.binlog_size, -1);
}

static void test_rates(void **state)
{
    (void)state;
    struct srv_status a, b;
    srv_status_init(&a);
    srv_status_init(&b);
    a.questions = 1000, b.questions = 3000;
    a.com[SRV_COM_INSERT] = 10, b.com[SRV_COM_INSERT] = 30;
    a.com[SRV_COM_UPDATE] = 0, b.com[SRV_COM_UPDATE] = 10;
    a.com[SRV_COM_DELETE] = 5, b.com[SRV_COM_DELETE] = 5;
    a.com[SRV_COM_SELECT] = 100, b.com[SRV_COM_SELECT] = 900;
    a.com[SRV_COM_COMMIT] = 7, b.com[SRV_COM_COMMIT] = 3; /* restarted */
    a.slow_queries = 4, b.slow_queries = 2;               /* restarted */
    a.bp_read_requests = 1000, b.bp_read_requests = 2000;
    a.bp_reads = 100, b.bp_reads = 150;
    b.bp_pages_dirty = 25, b.bp_pages_total = 100;
    b.threads_connected = 135, b.max_connections = 150;
    struct srv_rates r;
    srv_status_derive(&a, &b, 2.0, &r);
    assert_float_equal(r.qps, 1000.0, 1e-9);
    assert_float_equal(r.writes_ps, 15.0, 1e-9);
    assert_float_equal(r.com_ps[SRV_COM_SELECT], 400.0, 1e-9);
    assert_float_equal(r.com_ps[SRV_COM_INSERT], 10.0, 1e-9);
    assert_float_equal(r.com_ps[SRV_COM_COMMIT], -1, 1e-9);
    assert_float_equal(r.com_ps[SRV_COM_ROLLBACK], -1, 1e-9); /* never read */
    assert_float_equal(r.slow_ps, -1, 1e-9);
    assert_float_equal(r.aborted_ps, -1, 1e-9); /* never read */
    assert_float_equal(r.bp_hit_ratio, 0.95, 1e-9);
    assert_float_equal(r.bp_dirty_pct, 25.0, 1e-9);
    assert_float_equal(r.connections_pct, 90.0, 1e-9);
    assert_float_equal(r.disk_pct, -1, 1e-9);

    /* first reading: no rate, ratios since the server started */
    srv_status_derive(NULL, &b, 2.0, &r);
    assert_float_equal(r.qps, -1, 1e-9);
    assert_float_equal(r.bp_hit_ratio, 1.0 - 150.0 / 2000.0, 1e-9);

    /* no read request in the interval: nothing missed */
    srv_status_derive(&b, &b, 2.0, &r);
    assert_float_equal(r.bp_hit_ratio, 1.0, 1e-9);
    assert_float_equal(r.qps, 0.0, 1e-9);

    /* max_connections unknown or 0: unknown, not a division by zero */
    b.max_connections = 0;
    srv_status_derive(&a, &b, 0.0, &r);
    assert_float_equal(r.connections_pct, -1, 1e-9);
    assert_float_equal(r.qps, -1, 1e-9); /* zero interval */
}

static void test_threshold(void **state)
{
    (void)state;
    bool high = false;
    assert_int_equal(srv_threshold(&high, 50, 90), SRV_CROSS_NONE);
    assert_int_equal(srv_threshold(&high, 90, 90), SRV_CROSS_RAISED);
    assert_true(high);
    assert_int_equal(srv_threshold(&high, 95, 90), SRV_CROSS_NONE);
    assert_int_equal(srv_threshold(&high, 87, 90), SRV_CROSS_NONE); /* within hysteresis */
    assert_int_equal(srv_threshold(&high, 91, 90), SRV_CROSS_NONE);
    assert_int_equal(srv_threshold(&high, -1, 90), SRV_CROSS_NONE); /* unknown */
    assert_true(high);
    assert_int_equal(srv_threshold(&high, 84.9, 90), SRV_CROSS_CLEARED);
    assert_false(high);
    assert_int_equal(srv_threshold(&high, 10, 90), SRV_CROSS_NONE);
    /* turned off: never rises, clears if it was up */
    assert_int_equal(srv_threshold(&high, 100, 0), SRV_CROSS_NONE);
    assert_int_equal(srv_threshold(&high, 100, 90), SRV_CROSS_RAISED);
    assert_int_equal(srv_threshold(&high, 100, 0), SRV_CROSS_CLEARED);
    assert_false(high);
}

static void test_selfwatch(void **state)
{
    (void)state;
    struct selfwatch w = {0};
    assert_false(selfwatch_drops(&w, 0));
    assert_true(selfwatch_drops(&w, 5));  /* a streak starts */
    assert_false(selfwatch_drops(&w, 9)); /* ... goes on */
    assert_true(w.dropping);
    assert_false(selfwatch_drops(&w, 9)); /* a quiet second ends it */
    assert_false(w.dropping);
    assert_true(selfwatch_drops(&w, 10)); /* a new one */
    assert_int_equal(w.dropped_seen, 10);

    long before = selfwatch_open_fds();
    assert_true(before >= 3); /* stdin, stdout, stderr */
    FILE *f = fopen("/dev/null", "r");
    assert_non_null(f);
    assert_int_equal(selfwatch_open_fds(), before + 1);
    fclose(f);
    assert_int_equal(selfwatch_open_fds(), before);
}

static void test_stall(void **state)
{
    (void)state;
    bool stalled = false;
    int64_t s = 1000000; /* one second in us */
    assert_int_equal(selfwatch_stall(&stalled, 10 * s, 10 * s - 100000, 2000), SRV_CROSS_NONE);
    assert_int_equal(selfwatch_stall(&stalled, 10 * s, 8 * s, 2000), SRV_CROSS_NONE); /* = limit */
    assert_int_equal(selfwatch_stall(&stalled, 10 * s, 8 * s - 1000, 2000), SRV_CROSS_RAISED);
    assert_int_equal(selfwatch_stall(&stalled, 11 * s, 8 * s - 1000, 2000), SRV_CROSS_NONE);
    assert_true(stalled);
    assert_int_equal(selfwatch_stall(&stalled, 12 * s, 12 * s - 50000, 2000), SRV_CROSS_CLEARED);
    assert_false(stalled);
    /* not running (0), or the watchdog off: never a stall, and one that was clears */
    assert_int_equal(selfwatch_stall(&stalled, 12 * s, 0, 2000), SRV_CROSS_NONE);
    assert_int_equal(selfwatch_stall(&stalled, 99 * s, s, 0), SRV_CROSS_NONE);
    assert_int_equal(selfwatch_stall(&stalled, 99 * s, s, 2000), SRV_CROSS_RAISED);
    assert_int_equal(selfwatch_stall(&stalled, 99 * s, 0, 2000), SRV_CROSS_CLEARED);
    assert_true(hy_mono_us() > 0);
}

static void test_memory(void **state)
{
    (void)state;
    struct hy_memory before, held, after;
    hy_memory_get(&before);
    assert_true(before.rss_kib > 0);
    size_t n = 4u << 20;
    char *p = malloc(n);
    assert_non_null(p);
    memset(p, 1, n);
    hy_memory_get(&held);
    assert_true(held.heap_used >= before.heap_used + n);
    assert_true(held.rss_kib >= before.rss_kib + 3 * 1024);
    free(p);
    hy_memory_trim();
    hy_memory_get(&after);
    assert_true(after.heap_used + n <= held.heap_used);
    assert_true(after.heap_used <= before.heap_used + 64 * 1024);

    /* The tick trims only once RSS has grown past its margin. */
    struct hy_memory_watch w = {0};
    assert_false(hy_memory_tick(&w, 0)); /* the first reading */
    assert_true(w.rss_kib > 0);
    assert_false(hy_memory_tick(&w, 1u << 30));
    p = malloc(n);
    assert_non_null(p);
    memset(p, 2, n);
    assert_true(hy_memory_tick(&w, 1024));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold),      cmocka_unit_test(test_binlogs),
        cmocka_unit_test(test_rates),     cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_selfwatch), cmocka_unit_test(test_stall),
        cmocka_unit_test(test_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
