/*
 * test_web.c: the status page's samples (web.h): one second computed from
 * two readings of the backends, and the ring that keeps 15 minutes of
 * them, bounded whatever the load, as JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/web/web.h"

static int k1, k2, k3; /* the backends' keys */

/* Two readings 2 s apart: 10 reads, 30 writes, 4 cache hits and 6 other
 * statements in between; 2 errors; 40 statements in the bucket of 1 ms
 * (one backend new since). */
static void test_sample_compute(void **state)
{
    (void)state;
    int b = backend_lat_bucket(1000);
    struct web_reading prev[2] = {{.key = &k1, .errors = 5}, {.key = &k2}};
    struct web_reading now[3] = {{.key = &k1, .errors = 7}, {.key = &k2}, {.key = &k3}};
    prev[0].lat[b] = 3;
    now[0].lat[b] = 13;
    now[1].lat[b] = 30;
    now[2].lat[b] = 1000; /* new: counts from now */
    const uint64_t stmts[WEB_CLASSES] = {
        [WEB_READ] = 10, [WEB_WRITE] = 30, [WEB_CACHED] = 4, [WEB_OTHER] = 6};
    struct web_sample s;
    web_sample_compute(prev, 2, now, 3, stmts, 2.0, 1700000000, 1.5, &s);
    assert_int_equal(s.time, 1700000000);
    assert_true(s.stmts[WEB_READ] == 5.0);
    assert_true(s.stmts[WEB_WRITE] == 15.0);
    assert_true(s.stmts[WEB_CACHED] == 2.0);
    assert_true(s.stmts[WEB_OTHER] == 3.0);
    assert_true(s.errors == 1.0);
    assert_true(s.p50_ms > 0 && s.p50_ms <= 1.0);
    assert_true(s.p99_ms >= s.p50_ms && s.p99_ms <= 1.0);
    assert_true(s.lag_s == 1.5);
    /* A backend whose counters went down (came back as another) and a
     * second of nothing: zeros, no latency. */
    const uint64_t none[WEB_CLASSES] = {0};
    now[0].errors = 1;
    web_sample_compute(now, 1, now, 1, none, 1.0, 1, -1, &s);
    assert_true(s.stmts[WEB_READ] == 0 && s.stmts[WEB_WRITE] == 0 && s.p50_ms == 0 &&
                s.p99_ms == 0);
    assert_true(s.lag_s == -1);
    web_sample_compute(prev, 2, now, 1, none, 1.0, 1, -1, &s);
    assert_true(s.errors == 0);
}

/* 2,000 samples into the ring: it holds the last 900, oldest first. */
static void test_ring(void **state)
{
    (void)state;
    struct web_ring *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    struct textbuf sb;
    textbuf_init(&sb, 1u << 20);
    web_ring_render(r, &sb);
    assert_string_equal(sb.data, "{\"interval_s\":1,\"capacity\":900,\"time\":[],\"read\":[],"
                                 "\"write\":[],\"cached\":[],\"other\":[],\"errors\":[],"
                                 "\"p50_ms\":[],"
                                 "\"p99_ms\":[],\"lag_s\":[]}");
    struct web_sample s = {.time = 1, .stmts[WEB_READ] = 2, .lag_s = -1};
    web_ring_push(r, &s);
    s.time = 2;
    s.lag_s = 0.25;
    web_ring_push(r, &s);
    textbuf_reset(&sb);
    web_ring_render(r, &sb);
    assert_non_null(
        strstr(sb.data, "\"time\":[1,2],\"read\":[2.000,2.000],\"write\":[0.000,0.000]"));
    assert_non_null(strstr(sb.data, "\"lag_s\":[null,0.250]"));
    for (int i = 3; i <= 2000; i++) {
        s.time = i;
        web_ring_push(r, &s);
    }
    assert_int_equal(r->n, WEB_RING_SECONDS);
    textbuf_reset(&sb);
    web_ring_render(r, &sb);
    assert_non_null(strstr(sb.data, "\"time\":[1101,1102,"));
    assert_non_null(strstr(sb.data, ",1999,2000],\"read\""));
    textbuf_free(&sb);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_compute),
        cmocka_unit_test(test_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
