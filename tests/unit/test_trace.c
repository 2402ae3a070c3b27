/*
 * test_trace.c: the span model (trace.h).
 *
 *   - traceparent: the valid form, each way a value is not valid
 *   - sqlcommenter: the value in a comment, quoted, URL-encoded, not in a
 *     string literal, a bad one reported
 *   - tracestate: W3C's list of key=value members checked; from a comment,
 *     SET @tracestate and the connection attribute
 *   - the sampler: a parent's flag, the ratio over the trace id, errors
 *     and slow statements always kept
 *   - the OTLP JSON of a span: ids, parent, attributes, events, status
 *   - an operation's span (a reload, a backup: core/oprun.h): a root,
 *     internal, its attributes in order, ERROR with its reason
 *   - the exporter with its receiver down: submitting never waits, a full
 *     queue drops, a batch that failed its retries is dropped, all counted
 */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "halyard/core/text.h"
#include "halyard/core/clock.h"
#include "halyard/core/oprun.h"
#include "halyard/trace/trace.h"
#include "halyard/trace/trace_export.h"
#include "trace_fixture.h"

#define GOOD "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

/* Fail unless the encoded batch holds `want` (it is printed whole). */
static void assert_has(const struct textbuf *out, const char *want)
{
    if (strstr(out->data, want) == NULL)
        fail_msg("missing %s in %s", want, out->data);
}

static void test_parent_valid(void **state)
{
    (void)state;
    struct trace_ctx c;
    assert_true(trace_parent_parse(GOOD, strlen(GOOD), &c));
    assert_int_equal(c.trace_id[0], 0x4b);
    assert_int_equal(c.trace_id[15], 0x36);
    assert_int_equal(c.span_id[0], 0x00);
    assert_int_equal(c.span_id[7], 0xb7);
    assert_int_equal(c.flags, 1);
    char back[TRACE_PARENT_LEN + 1];
    trace_parent_format(&c, back);
    assert_string_equal(back, GOOD);
}

static void test_parent_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",   /* short */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011", /* long */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version ff */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  /* upper case */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  /* zero trace */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  /* zero span */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  /* not hex */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",  /* flags */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct trace_ctx c = {.flags = 7};
        assert_false(trace_parent_parse(bad[i], strlen(bad[i]), &c));
        assert_int_equal(c.flags, 7); /* untouched */
    }
}

static int in_sql(const char *sql, struct trace_ctx *c)
{
    return trace_parent_in_sql(sql, strlen(sql), c);
}

static void test_parent_in_sql(void **state)
{
    (void)state;
    struct trace_ctx c;
    assert_int_equal(in_sql("SELECT 1", &c), 0);
    assert_int_equal(in_sql("SELECT 1 /*traceparent='" GOOD "'*/", &c), 1);
    assert_int_equal(c.span_id[7], 0xb7);
    assert_int_equal(
        in_sql("SELECT 1 /*db_driver='x',traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-"
               "00f067aa0ba902b7-00',tracestate='a=b'*/",
               &c),
        1);
    assert_int_equal(c.flags, 0);
    /* sqlcommenter URL-encodes the values: - as %2D */
    assert_int_equal(in_sql("/*traceparent='00%2D4bf92f3577b34da6a3ce929d0e0e4736%2D"
                            "00f067aa0ba902b7%2d01'*/ SELECT 1",
                            &c),
                     1);
    assert_int_equal(c.trace_id[0], 0x4b);
    /* in a string literal: not a comment */
    assert_int_equal(in_sql("SELECT '/*traceparent=''" GOOD "''*/'", &c), 0);
    assert_int_equal(in_sql("SELECT \"/*traceparent='" GOOD "'*/\"", &c), 0);
    /* a bad one: reported, not an error */
    assert_int_equal(in_sql("SELECT 1 /*traceparent='00-abc-def-01'*/", &c), -1);
    assert_int_equal(in_sql("SELECT 1 /*traceparent='" GOOD, &c), 1); /* unclosed comment */
}

static int state_in(const char *sql, char *out, size_t cap)
{
    return trace_state_in_sql(sql, strlen(sql), out, cap);
}

/* The tracestate beside the traceparent, passed on as the application
 * wrote it (sqlcommenter URL-encodes '=' as %3D and ',' as %2C). */
static void test_state_in_sql(void **state)
{
    (void)state;
    char st[TRACE_STATE_MAX];
    assert_int_equal(state_in("SELECT 1", st, sizeof(st)), 0);
    assert_int_equal(state_in("SELECT 1 /*traceparent='" GOOD "'*/", st, sizeof(st)), 0);
    assert_int_equal(state_in("SELECT 1 /*traceparent='" GOOD "',tracestate='congo=t61rcWkgMzE,"
                              "rojo=00f067aa0ba902b7'*/",
                              st, sizeof(st)),
                     39);
    assert_string_equal(st, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    assert_int_equal(
        state_in("/*tracestate='rojo%3D00f067aa0ba902b7%2Ccongo%3Dt61'*/ SELECT 1", st, sizeof(st)),
        31);
    assert_string_equal(st, "rojo=00f067aa0ba902b7,congo=t61");
    assert_int_equal(state_in("SELECT '/*tracestate=''a=b''*/'", st, sizeof(st)),
                     0);                                                            /* a literal */
    assert_int_equal(state_in("SELECT 1 /*tracestate=a=b*/", st, sizeof(st)), -1);  /* unquoted */
    assert_int_equal(state_in("SELECT 1 /*tracestate='a=b*/", st, sizeof(st)), -1); /* unclosed */
    assert_int_equal(state_in("SELECT 1 /*tracestate='a=%0A'*/", st, sizeof(st)),
                     -1);                                                      /* a newline */
    assert_int_equal(state_in("SELECT 1 /*tracestate='abcdef'*/", st, 4), -1); /* too long */
}

static bool valid(const char *st)
{
    return trace_state_valid(st, strlen(st));
}

/* W3C trace-context's tracestate: list members key=value, keys unique,
 * 32 at most, 512 bytes at most; one that is not is dropped whole. */
static void test_state_valid(void **state)
{
    (void)state;
    assert_true(valid("rojo=00f067aa0ba902b7"));
    assert_true(valid("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7\t,,")); /* OWS, empty members */
    assert_true(valid("fw529a3039@dt=abc,a1b2@x-_*/9=v"));              /* multi-tenant keys */
    assert_true(valid("k=a value with spaces"));
    assert_true(valid("k*_-/9=!\"#$%&'()*+-./:;<>?@[]^_`{|}~"));
    assert_false(valid(""));
    assert_false(valid(" , "));                 /* no member */
    assert_false(valid("rojo"));                /* no = */
    assert_false(valid("Rojo=1"));              /* upper case */
    assert_false(valid("1ojo=1"));              /* a digit first, without a tenant */
    assert_false(valid("rojo="));               /* no value */
    assert_false(valid("rojo=a=b"));            /* '=' in the value */
    assert_false(valid("rojo=a\x7f"));          /* not printable */
    assert_false(valid("rojo=1,rojo=2"));       /* a key twice */
    assert_false(valid("t@Sys=1"));             /* the system id's first is not a letter */
    assert_false(valid("t@abcdefghijklmno=1")); /* a system id of 15 */
    assert_true(valid("t@abcdefghijklmn=1"));   /* ... of 14 */
    char big[600];
    size_t n = 0;
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%sk%d=v", i ? "," : "", i);
    assert_false(trace_state_valid(big, n));                      /* 33 members */
    assert_true(trace_state_valid(big, strrchr(big, ',') - big)); /* 32 */
    memset(big, 'v', sizeof(big));
    memcpy(big, "k=", 2);
    assert_false(trace_state_valid(big, 259)); /* a value of 257 */
    assert_true(trace_state_valid(big, 258));  /* 256 */
    n = 0;
    for (int i = 0; i < 3; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%sk%d=%0200d", i ? "," : "", i, 0);
    assert_false(trace_state_valid(big, n)); /* 614 bytes */
}

/* SET @tracestate and the tracestate connection attribute. */
static void test_state_in_set_and_attrs(void **state)
{
    (void)state;
    char st[TRACE_STATE_MAX];
    const char *set = "SET @tracestate = 'rojo=00f067aa0ba902b7,congo=t61'";
    assert_int_equal(trace_state_in_set(set, strlen(set), st, sizeof(st)), 1);
    assert_string_equal(st, "rojo=00f067aa0ba902b7,congo=t61");
    set = "SET @traceparent='" GOOD "', @tracestate:=\"a=1\"";
    assert_int_equal(trace_state_in_set(set, strlen(set), st, sizeof(st)), 1);
    assert_string_equal(st, "a=1");
    set = "SET @tracestate = ''"; /* clears it */
    assert_int_equal(trace_state_in_set(set, strlen(set), st, sizeof(st)), 1);
    assert_string_equal(st, "");
    set = "SET @x = 1";
    assert_int_equal(trace_state_in_set(set, strlen(set), st, sizeof(st)), 0);
    set = "SET @tracestate = 'Rojo=1'";
    assert_int_equal(trace_state_in_set(set, strlen(set), st, sizeof(st)), -1);
    set = "SET @tracestate = NULL";
    assert_int_equal(trace_state_in_set(set, strlen(set), st, sizeof(st)), -1);
    set = "SET @tracestate = 'a=1";
    assert_int_equal(trace_state_in_set(set, strlen(set), st, sizeof(st)), -1);
    /* _client_name, then tracestate, then traceparent */
    static const uint8_t attrs[] = "\x0c_client_name\x07pymysql\x0atracestate\x07rojo=00"
                                   "\x0btraceparent\x37" GOOD;
    assert_int_equal(trace_state_in_attrs(attrs, sizeof(attrs) - 1, st, sizeof(st)), 1);
    assert_string_equal(st, "rojo=00");
    struct trace_ctx c;
    assert_int_equal(trace_parent_in_attrs(attrs, sizeof(attrs) - 1, &c), 1);
    static const uint8_t bad[] = "\x0atracestate\x03"
                                 "a b";
    assert_int_equal(trace_state_in_attrs(bad, sizeof(bad) - 1, st, sizeof(st)), -1);
    assert_int_equal(trace_state_in_attrs(attrs, 21, st, sizeof(st)), 0); /* _client_name only */
}

static void test_sampler(void **state)
{
    (void)state;
    struct trace_sampler sm = {.ratio = 0.25, .slow_ns = 1000000};
    struct trace_span sp = {.start_ns = 100, .end_ns = 200};
    /* the ratio reads the last 8 bytes: 0x00.. is kept, 0xff.. is not */
    memset(sp.trace_id + 8, 0x00, 8);
    sp.trace_id[15] = 1;
    assert_int_equal(trace_keep(&sm, &sp, 0), TRACE_KEEP_RATIO);
    memset(sp.trace_id + 8, 0xff, 8);
    assert_int_equal(trace_keep(&sm, &sp, 0), TRACE_DROP);
    sp.trace_id[8] = 0x3f; /* just below 1/4 */
    assert_int_equal(trace_keep(&sm, &sp, 0), TRACE_KEEP_RATIO);
    sp.trace_id[8] = 0x40;
    memset(sp.trace_id + 9, 0, 7);
    assert_int_equal(trace_keep(&sm, &sp, 0), TRACE_DROP); /* exactly 1/4: not below */
    /* slow and errors are kept whatever the ratio */
    sp.end_ns = sp.start_ns + 1000000;
    assert_int_equal(trace_keep(&sm, &sp, 0), TRACE_KEEP_SLOW);
    sp.end_ns = sp.start_ns + 999999;
    assert_int_equal(trace_keep(&sm, &sp, 0), TRACE_DROP);
    sp.err_code = 1146;
    assert_int_equal(trace_keep(&sm, &sp, 0), TRACE_KEEP_ERROR);
    sp.err_code = 0;
    /* a parent's flag decides, not the ratio */
    sp.has_parent = true;
    assert_int_equal(trace_keep(&sm, &sp, 1), TRACE_KEEP_PARENT);
    memset(sp.trace_id + 8, 0, 8);
    assert_int_equal(trace_keep(&sm, &sp, 0), TRACE_DROP);
    /* ratio 0 and 1 */
    sp.has_parent = false;
    sm.ratio = 0.0;
    assert_int_equal(trace_keep(&sm, &sp, 0), TRACE_DROP);
    sm.ratio = 1.0;
    memset(sp.trace_id + 8, 0xff, 8);
    assert_int_equal(trace_keep(&sm, &sp, 0), TRACE_KEEP_RATIO);
    /* no threshold */
    sm.ratio = 0.0;
    sm.slow_ns = 0;
    sp.end_ns = sp.start_ns + 1000000000;
    assert_int_equal(trace_keep(&sm, &sp, 0), TRACE_DROP);
}

/* The ratio over random ids keeps about that share. */
static void test_sampler_share(void **state)
{
    (void)state;
    struct trace_span sp = {0};
    unsigned kept = 0;
    for (int i = 0; i < 100000; i++) {
        trace_span_ids(&sp);
        kept += trace_ratio_keeps(0.01, sp.trace_id);
    }
    assert_in_range(kept, 800, 1200);
}

static void test_ids(void **state)
{
    (void)state;
    struct trace_span a = {0}, b = {0};
    trace_span_ids(&a);
    trace_span_ids(&b);
    assert_memory_not_equal(a.trace_id, b.trace_id, 16);
    assert_memory_not_equal(a.span_id, b.span_id, 8);
    /* a child keeps its parent's trace id */
    struct trace_ctx c;
    assert_true(trace_parent_parse(GOOD, strlen(GOOD), &c));
    memcpy(b.trace_id, c.trace_id, 16);
    b.has_parent = true;
    trace_span_ids(&b);
    assert_memory_equal(b.trace_id, c.trace_id, 16);
}

/* Every count of digits a number's writer may meet, at both of its ends
 * (9 and 10, 99 and 100 ... up to the largest int64): as snprintf writes
 * them, in a span's times, rows and wait durations. */
static void test_encode_numbers(void **state)
{
    (void)state;
    int64_t v[64];
    size_t n = 0;
    v[n++] = 0;
    for (int64_t p = 10; p > 0 && p <= INT64_MAX / 10; p *= 10) {
        v[n++] = p - 1;
        v[n++] = p;
        v[n++] = p + 1;
    }
    v[n++] = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        struct trace_span *sp = trace_span_create();
        assert_non_null(sp);
        sp->span_id[0] = 1;
        sp->trace_id[0] = 1;
        sp->start_ns = v[i];
        sp->end_ns = v[n - 1 - i];
        sp->rows = (uint64_t)v[i];
        trace_span_wait(sp, TRACE_WAIT_LIMIT, 0, v[i]);
        struct textbuf out;
        textbuf_init(&out, 1 << 20);
        trace_encode(&out, "halyard", &sp, 1);
        char want[4][128];
        snprintf(want[0], sizeof(want[0]), "\"startTimeUnixNano\":\"%" PRId64 "\",", v[i]);
        snprintf(want[1], sizeof(want[1]), "\"endTimeUnixNano\":\"%" PRId64 "\",", v[n - 1 - i]);
        snprintf(want[2], sizeof(want[2]),
                 "\"db.response.returned_rows\",\"value\":{\"intValue\":\"%" PRId64 "\"}}", v[i]);
        snprintf(want[3], sizeof(want[3]),
                 "\"halyard.wait.duration_ns\",\"value\":{\"intValue\":\"%" PRId64 "\"}}", v[i]);
        for (int k = 0; k < 4; k++)
            assert_has(&out, want[k]);
        textbuf_free(&out);
        trace_span_destroy(sp);
    }
}

/* Ids are never all zero (the spec's invalid id), and a root's trace id
 * not either whatever half the head's draw puts in its second half. */
static void test_ids_not_zero(void **state)
{
    (void)state;
    static const uint8_t zero[16];
    for (int i = 0; i < 1000; i++) {
        struct trace_span sp = {0};
        trace_span_ids(&sp);
        memset(sp.trace_id + 8, 0, 8); /* span_begin's copy of an all-zero draw */
        assert_memory_not_equal(sp.trace_id, zero, 16);
        assert_memory_not_equal(sp.span_id, zero, 8);
    }
}

static void test_encode(void **state)
{
    (void)state;
    struct trace_span *sp = trace_span_create();
    assert_non_null(sp);
    struct trace_ctx c;
    assert_true(trace_parent_parse(GOOD, strlen(GOOD), &c));
    memcpy(sp->trace_id, c.trace_id, 16);
    memcpy(sp->parent_id, c.span_id, 8);
    sp->has_parent = true;
    memset(sp->span_id, 0xab, 8);
    sp->start_ns = 1700000000123456789;
    sp->end_ns = 1700000000223456789;
    trace_span_set(sp->op, sizeof(sp->op), "SELECT", 6);
    trace_span_set(sp->ns, sizeof(sp->ns), "shop\"x", 6);
    trace_span_set(sp->server, sizeof(sp->server), "127.0.0.1", 9);
    sp->port = 3306;
    trace_span_set(sp->route, sizeof(sp->route), "replica", 7);
    assert_true(trace_span_summary(sp, "SELECT ? FROM t", 15));
    sp->rows = 3;
    sp->retried = true;
    sp->err_code = 1146;
    trace_span_set(sp->err_msg, sizeof(sp->err_msg), "no table", 8);
    trace_span_wait(sp, TRACE_WAIT_LIMIT, 1700000000130000000, 1700000000150000000);
    struct textbuf out;
    textbuf_init(&out, 1 << 20);
    trace_encode(&out, "halyard", &sp, 1);
    assert_false(out.overflow);
    static const char *const want[] = {
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
        "{\"stringValue\":\"halyard\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"halyard\"",
        "\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\"",
        "\"spanId\":\"abababababababab\"",
        "\"parentSpanId\":\"00f067aa0ba902b7\"",
        "\"name\":\"SELECT shop\\\"x\"",
        "\"kind\":3",
        "\"startTimeUnixNano\":\"1700000000123456789\"",
        "\"endTimeUnixNano\":\"1700000000223456789\"",
        "{\"key\":\"db.system.name\",\"value\":{\"stringValue\":\"mariadb\"}}",
        "{\"key\":\"db.namespace\",\"value\":{\"stringValue\":\"shop\\\"x\"}}",
        "{\"key\":\"db.query.summary\",\"value\":{\"stringValue\":\"SELECT ? FROM t\"}}",
        "{\"key\":\"db.response.status_code\",\"value\":{\"stringValue\":\"1146\"}}",
        "{\"key\":\"server.port\",\"value\":{\"intValue\":\"3306\"}}",
        "{\"key\":\"halyard.retried\",\"value\":{\"boolValue\":true}}",
        "\"events\":[{\"timeUnixNano\":\"1700000000130000000\",\"name\":\"halyard.wait.limit\","
        "\"attributes\":[{\"key\":\"halyard.wait.duration_ns\",\"value\":{\"intValue\":"
        "\"20000000\"}}]}]",
        "\"status\":{\"code\":2,\"message\":\"no table\"}",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_has(&out, want[i]);
    assert_null(strstr(out.data, "db.query.text")); /* not configured */
    assert_null(strstr(out.data, "halyard.replayed"));
    textbuf_free(&out);
    trace_span_destroy(sp);
}

/* The span's strings escaped wherever the byte is: in the first 8 bytes
 * of a long string, past them, in the bytes after the last whole 8; valid
 * UTF-8 as it is, a byte that is not as U+FFFD, control bytes and DEL as
 * \u00XX (the encoder copies 8 bytes a step until one needs escaping). */
/* A string of each length from 1 to 20 in a span's array field (the
 * encoder tests a short one as its array's first 8 bytes, a longer one's
 * last bytes as its last 8) and in the summary (a heap copy), with a
 * quote at each place in it or none, and bytes that need escaping left
 * in the array past its end (a longer string set before): each encoded as
 * the escaped string, nothing of what lies past it. */
static void test_encode_short_strings(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 20; n++) {
        for (size_t q = 0; q <= n; q++) { /* q == n: no quote */
            char str[24], esc[48];
            size_t e = 0;
            for (size_t i = 0; i < n; i++) {
                str[i] = i == q ? '"' : (char)('a' + i);
                if (i == q)
                    esc[e++] = '\\';
                esc[e++] = str[i];
            }
            str[n] = esc[e] = '\0';
            struct trace_span *sp = trace_span_create();
            assert_non_null(sp);
            trace_span_ids(sp);
            trace_span_set(sp->ns, sizeof(sp->ns), "\"\n\"\n\"\n\"\n\"\n\"\n\"\n\"\n\"\n\"\n\"\n",
                           22);
            trace_span_set(sp->ns, sizeof(sp->ns), str, n);
            trace_span_set(sp->role, sizeof(sp->role), "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01",
                           10);
            trace_span_set(sp->role, sizeof(sp->role), str, HY_MIN(n, sizeof(sp->role) - 1));
            assert_true(trace_span_summary(sp, str, n));
            struct textbuf out;
            textbuf_init(&out, 1 << 20);
            trace_encode(&out, "halyard", &sp, 1);
            char want[3][128];
            snprintf(want[0], sizeof(want[0]),
                     "{\"key\":\"db.namespace\",\"value\":{\"stringValue\":\"%s\"}}", esc);
            snprintf(want[1], sizeof(want[1]),
                     "{\"key\":\"db.query.summary\",\"value\":{\"stringValue\":\"%s\"}}", esc);
            snprintf(want[2], sizeof(want[2]), "\"name\":\"mariadb %s\"", esc);
            for (int k = 0; k < 3; k++) {
                if (strstr(out.data, want[k]) == NULL)
                    fail_msg("n %zu, quote at %zu: missing %s in %s", n, q, want[k], out.data);
            }
            if (n < sizeof(sp->role)) {
                char role[128];
                snprintf(role, sizeof(role),
                         "{\"key\":\"halyard.backend.role\",\"value\":{\"stringValue\":\"%s\"}}",
                         esc);
                if (strstr(out.data, role) == NULL)
                    fail_msg("n %zu, quote at %zu: missing %s in %s", n, q, role, out.data);
            }
            textbuf_free(&out);
            trace_span_destroy(sp);
        }
    }
}

static void test_encode_escapes_anywhere(void **state)
{
    (void)state;
    struct trace_span *sp = trace_span_create();
    assert_non_null(sp);
    trace_span_ids(sp);
    trace_span_set(sp->op, sizeof(sp->op), "SELECT", 6);
    trace_span_set(sp->ns, sizeof(sp->ns), "db\"name_long", 12);
    trace_span_set(sp->server, sizeof(sp->server), "0123456789abcdef\\host", 21);
    trace_span_set(sp->backend, sizeof(sp->backend), "backend_1234567\n", 16);
    static const char sum[] = "SELECT 'caf\xc3\xa9' FROM t\x01x\x7f AND \xff";
    assert_true(trace_span_summary(sp, sum, sizeof(sum) - 1));
    struct textbuf out;
    textbuf_init(&out, 1 << 20);
    trace_encode(&out, "halyard", &sp, 1);
    assert_false(out.overflow);
    static const char *const want[] = {
        "\"name\":\"SELECT db\\\"name_long\"",
        "{\"key\":\"db.namespace\",\"value\":{\"stringValue\":\"db\\\"name_long\"}}",
        "{\"key\":\"server.address\",\"value\":{\"stringValue\":\"0123456789abcdef\\\\host\"}}",
        "{\"key\":\"halyard.backend\",\"value\":{\"stringValue\":\"backend_1234567\\n\"}}",
        ("{\"key\":\"db.query.summary\",\"value\":{\"stringValue\":"
         "\"SELECT 'caf\xc3\xa9' FROM t\\u0001x\\u007f AND \\ufffd\"}}"),
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_has(&out, want[i]);
    textbuf_free(&out);
    trace_span_destroy(sp);
}

static void test_op_span(void **state)
{
    (void)state;
    struct oprun r;
    trace_fixture_backup_run(&r);
    for (int i = 0; i < 40; i++) /* past OPRUN_ATTRS_MAX: left out */
        oprun_int(&r, "halyard.x", i);
    assert_int_equal(r.n_attrs, OPRUN_ATTRS_MAX);
    struct trace_span *sp = trace_op_span(&r);
    assert_non_null(sp);
    struct textbuf out;
    textbuf_init(&out, 1 << 20);
    trace_encode(&out, "halyard", &sp, 1);
    assert_false(out.overflow);
    static const char *const want[] = {
        "\"name\":\"halyard.backup\",\"kind\":1,\"startTimeUnixNano\":\"1700000000000000000\","
        "\"endTimeUnixNano\":\"1700000002500000000\",\"attributes\":[{\"key\":"
        "\"halyard.backup.id\",\"value\":{\"stringValue\":\"full-20261128T153000Z\"}},"
        "{\"key\":\"halyard.backup.bytes\",\"value\":{\"intValue\":\"-1\"}},"
        "{\"key\":\"halyard.ok\",\"value\":{\"boolValue\":false}},",
        "{\"key\":\"halyard.x\",\"value\":{\"intValue\":\"28\"}}]",
        "\"status\":{\"code\":2,\"message\":\"login: error 1045 \\\"denied\\\"\"}}]}]}]}",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_has(&out, want[i]);
    assert_null(strstr(out.data, "parentSpanId"));
    assert_null(strstr(out.data, "halyard.backup.file"));
    assert_null(strstr(out.data, "\"29\""));
    textbuf_free(&out);
    trace_span_destroy(sp);
}

/* A worker's span, given back by another thread (the exporter's), is the
 * worker's next one, cleared but for its summary's buffer; one given back
 * after its maker left is freed (valgrind/ASan: no leak, no bad access). */
static void *give_back(void *arg)
{
    trace_span_destroy(arg);
    return NULL;
}

static void *take_and_leave(void *arg)
{
    (void)arg;
    struct trace_span *sp = trace_span_take();
    struct trace_span *kept = trace_span_take(); /* its own, freed as it leaves */
    trace_span_destroy(kept);
    trace_span_thread_exit();
    return sp;
}

static void test_span_given_back(void **state)
{
    (void)state;
    struct trace_span *a = trace_span_take();
    assert_non_null(a);
    assert_true(trace_span_summary(a, "SELECT ?", 8));
    a->rows = 5;
    a->n_events = 2;
    /* every field of a used span as a new one's: a string of each array,
     * the numbers and pointers between them */
    char *sum = a->summary; /* the buffer trace_span_summary made */
    trace_fixture_statement(a);
    assert_ptr_equal(a->summary, sum); /* the fixture's summary fits it */
    assert_int_equal(a->summary_len, 28);
    memset(a->parent_id, 7, 8);
    a->text = hy_dupz("SELECT 1", 8);
    a->err_code = 1146;
    strcpy(a->err_msg, "no table");
    a->replayed = a->retried = true;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, give_back, a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    struct trace_span *b = trace_span_take();
    assert_ptr_equal(b, a); /* the same memory, used again */
    assert_int_equal(b->rows, 0);
    assert_int_equal(b->n_events, 0);
    static const uint8_t zero[8] = {0};
    assert_false(b->has_parent);
    assert_memory_equal(b->parent_id, zero, 8);
    assert_int_equal(b->start_ns, 0);
    assert_int_equal(b->end_ns, 0);
    assert_int_equal(b->port, 0);
    assert_int_equal(b->err_code, 0);
    assert_null(b->text);
    assert_null(b->proc);
    assert_null(b->raw);
    assert_null(b->raw_pb);
    assert_false(b->replayed || b->retried);
    const char *strs[] = {b->tracestate, b->op,    b->ns,          b->server, b->backend,
                          b->role,       b->route, b->consistency, b->err_msg};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        assert_string_equal(strs[i], "");
    assert_non_null(b->summary);
    assert_string_equal(b->summary, ""); /* the buffer kept, emptied */
    assert_int_equal(b->summary_len, 0);
    char big[300];
    memset(big, 'x', sizeof(big));
    assert_true(trace_span_summary(b, big, sizeof(big))); /* grown */
    assert_int_equal(strlen(b->summary), sizeof(big));
    struct trace_span *c = trace_span_take();
    assert_non_null(c);
    assert_ptr_not_equal(c, b); /* none to use again: a new one */
    /* its maker leaves while it is out: given back, it is freed */
    void *out;
    assert_int_equal(pthread_create(&th, NULL, take_and_leave, NULL), 0);
    assert_int_equal(pthread_join(th, &out), 0);
    assert_non_null(out);
    trace_span_destroy(out);
    trace_span_destroy(b); /* the owner's own list */
    trace_span_destroy(c);
    assert_ptr_equal(trace_span_take(), c); /* the last given back, first */
    trace_span_destroy(c);
    trace_span_thread_exit(); /* all freed */
}

static void test_span_set_cuts_on_a_character(void **state)
{
    (void)state;
    char f[6];
    trace_span_set(f, sizeof(f), "abcd\xc3\xa9xyz", 9); /* é at bytes 4-5 */
    assert_string_equal(f, "abcd");
    trace_span_set(f, sizeof(f), NULL, 3);
    assert_string_equal(f, "");
    struct trace_span sp = {0};
    for (int i = 0; i < 20; i++)
        trace_span_wait(&sp, TRACE_WAIT_POOL, i, i + 1);
    assert_int_equal(sp.n_events, TRACE_EVENTS_MAX);
}

static void test_export_receiver_down(void **state)
{
    (void)state;
    /* nothing listens there (the unit tests' port range is 27000..28999) */
    struct trace_export_conf conf = {.endpoint = "http://127.0.0.1:28999/v1/traces",
                                     .queue_size = 4,
                                     .batch = 2,
                                     .timeout_ms = 200,
                                     .flush_ms = 20,
                                     .retries = 2,
                                     .backoff_ms = 10};
    struct trace_exporter *ex;
    assert_int_equal(trace_export_start(&conf, &ex), HY_OK);
    int64_t t0 = hy_mono_us();
    for (int i = 0; i < 1000; i++) {
        struct trace_span *sp = trace_span_create();
        trace_span_ids(sp);
        (void)trace_export_submit(ex, sp);
    }
    int64_t took = hy_mono_us() - t0;
    assert_in_range(took, 0, 100000); /* 1,000 submits: well under 0.1 s */
    struct trace_export_stats st;
    trace_export_stats(ex, &st);
    assert_int_equal(st.queued + st.dropped_full, 1000);
    assert_true(st.dropped_full >= 900);
    /* the batches fail, are retried, then dropped: a request is counted
     * before it is sent, its failure after, so the two are read once the
     * thread is between requests (it failed once with load beside it) */
    for (int i = 0; i < 300; i++) {
        trace_export_stats(ex, &st);
        if (st.requests >= 3 && st.failures == st.requests)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    trace_export_stop(ex);
    assert_true(st.requests >= 3);
    assert_int_equal(st.exported, 0);
    assert_int_equal(st.failures, st.requests);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parent_valid),
        cmocka_unit_test(test_parent_invalid),
        cmocka_unit_test(test_parent_in_sql),
        cmocka_unit_test(test_state_in_sql),
        cmocka_unit_test(test_state_valid),
        cmocka_unit_test(test_state_in_set_and_attrs),
        cmocka_unit_test(test_sampler),
        cmocka_unit_test(test_sampler_share),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_encode_numbers),
        cmocka_unit_test(test_ids_not_zero),
        cmocka_unit_test(test_op_span),
        cmocka_unit_test(test_span_set_cuts_on_a_character),
        cmocka_unit_test(test_span_given_back),
        cmocka_unit_test(test_encode_escapes_anywhere),
        cmocka_unit_test(test_encode_short_strings),
        cmocka_unit_test(test_export_receiver_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
