/*
 * test_trace_pb.c: spans as OTLP/HTTP protobuf (trace.h trace_encode_pb),
 * read back by a reader of the wire format written here (each field's
 * bounds checked, every length-delimited field exactly its bytes):
 *
 *   - the envelope: resource_spans, the resource's service.name, the
 *     scope's name and version, the spans in order
 *   - a statement's span: its ids, parent, tracestate, name, kind, times
 *     (fixed64), attributes (string, int, bool) in the JSON's order, its
 *     wait events, the status of an error
 *   - a string that is not UTF-8: each bad byte U+FFFD, as the JSON's
 *   - lengths of one, two and three varint bytes: a long summary, many
 *     spans (the envelope's lengths past 16 KiB)
 *   - a procedure's span and an operation's, as their JSON says
 *   - the backend's attributes of many spans from several backends, and
 *     the summaries of spans that repeat digests: each span's own (the
 *     encoder copies the former from an earlier alike span, and checks a
 *     summary for UTF-8 once while it repeats)
 *   - spans of a few shapes among others: each span's bytes in a batch
 *     are its bytes alone (the encoder copies an earlier span of its
 *     shape, its ids, times and rows written over the copy)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/core/audit.h"
#include "halyard/core/oprun.h"
#include "halyard/core/text.h"
#include "halyard/trace/trace.h"
#include "trace_fixture.h"

/* ---- a reader of the wire format ---- */

struct field {
    uint32_t num, wt;
    uint64_t v; /* varint, fixed64 */
    const uint8_t *p;
    size_t n; /* length-delimited */
};

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t c = *(*p)++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80)
            return true;
    }
    return false;
}

/* The fields of the message at p (n bytes), into f (max); fails the test
 * on any field that overruns the message. Their count. */
static size_t fields_of(const uint8_t *p, size_t n, struct field *f, size_t max)
{
    const uint8_t *end = p + n;
    size_t k = 0;
    while (p < end) {
        uint64_t key;
        assert_true(varint(&p, end, &key));
        assert_true(k < max);
        struct field *x = &f[k++];
        *x = (struct field){.num = (uint32_t)(key >> 3), .wt = (uint32_t)(key & 7)};
        if (x->wt == 0) {
            assert_true(varint(&p, end, &x->v));
        } else if (x->wt == 1) {
            assert_true(end - p >= 8);
            for (int i = 0; i < 8; i++)
                x->v |= (uint64_t)p[i] << (8 * i);
            p += 8;
        } else if (x->wt == 2) {
            uint64_t len;
            assert_true(varint(&p, end, &len));
            assert_true(len <= (uint64_t)(end - p));
            x->p = p;
            x->n = (size_t)len;
            p += len;
        } else {
            fail_msg("wire type %u", x->wt);
        }
    }
    assert_true(p == end);
    return k;
}

/* The one field `num` of f (fails when there are none or several). */
static const struct field *one(const struct field *f, size_t n, uint32_t num)
{
    const struct field *got = NULL;
    for (size_t i = 0; i < n; i++) {
        if (f[i].num == num) {
            assert_null(got);
            got = &f[i];
        }
    }
    assert_non_null(got);
    return got;
}

static bool has(const struct field *f, size_t n, uint32_t num)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].num == num)
            return true;
    return false;
}

static void assert_bytes(const struct field *f, const void *want, size_t n)
{
    assert_int_equal(f->wt, 2);
    assert_int_equal(f->n, n);
    assert_memory_equal(f->p, want, n);
}

static void assert_str(const struct field *f, const char *want)
{
    assert_bytes(f, want, strlen(want));
}

/* An attribute (KeyValue) as "key=s:value", "key=i:N" or "key=b:0|1". */
static void kv_text(const struct field *kvf, char *out, size_t cap)
{
    struct field kv[4], any[4];
    size_t n = fields_of(kvf->p, kvf->n, kv, 4);
    assert_int_equal(n, 2);
    const struct field *key = one(kv, n, 1), *val = one(kv, n, 2);
    size_t an = fields_of(val->p, val->n, any, 4);
    assert_int_equal(an, 1);
    if (any[0].num == 1 && memchr(any[0].p, '\0', any[0].n) != NULL)
        fail_msg("a NUL inside the string value of %.*s", (int)key->n, (const char *)key->p);
    if (any[0].num == 1)
        snprintf(out, cap, "%.*s=s:%.*s", (int)key->n, (const char *)key->p, (int)any[0].n,
                 (const char *)any[0].p);
    else if (any[0].num == 3)
        snprintf(out, cap, "%.*s=i:%lld", (int)key->n, (const char *)key->p,
                 (long long)(int64_t)any[0].v);
    else if (any[0].num == 2)
        snprintf(out, cap, "%.*s=b:%llu", (int)key->n, (const char *)key->p,
                 (unsigned long long)any[0].v);
    else
        fail_msg("AnyValue field %u", any[0].num);
}

/* The spans of a request (the envelope checked on the way), into sp. */
static size_t spans_of(const uint8_t *p, size_t n, struct field *sp, size_t max)
{
    struct field req[4], rs[4], res[4], kv[4], ss[4096 + 4], scope[4];
    size_t k = fields_of(p, n, req, 4);
    assert_int_equal(k, 1);
    size_t rk = fields_of(one(req, k, 1)->p, one(req, k, 1)->n, rs, 4);
    assert_int_equal(rk, 2);
    const struct field *resource = one(rs, rk, 1);
    size_t resk = fields_of(resource->p, resource->n, res, 4);
    assert_int_equal(resk, 1);
    char text[512];
    (void)kv;
    kv_text(one(res, resk, 1), text, sizeof(text));
    assert_string_equal(text, "service.name=s:halyard");
    const struct field *ssf = one(rs, rk, 2);
    size_t sk = fields_of(ssf->p, ssf->n, ss, sizeof(ss) / sizeof(ss[0]));
    const struct field *sc = one(ss, sk, 1);
    size_t sck = fields_of(sc->p, sc->n, scope, 4);
    assert_str(one(scope, sck, 1), "halyard");
    assert_str(one(scope, sck, 2), HALYARD_VERSION);
    size_t m = 0;
    for (size_t i = 0; i < sk; i++) {
        if (ss[i].num == 2) {
            assert_true(m < max);
            sp[m++] = ss[i];
        }
    }
    return m;
}

static size_t encode(struct trace_span **spans, size_t n, struct textbuf *out)
{
    textbuf_init(out, 64 << 20);
    size_t at = trace_encode_pb(out, "halyard", spans, n);
    assert_false(out->overflow);
    assert_true(at < out->len);
    return at;
}

/* The fields of the one span `sp` encodes to (out holds their bytes). */
static size_t one_span(struct trace_span *sp, struct textbuf *out, struct field *f, size_t max)
{
    size_t at = encode(&sp, 1, out);
    struct field spans[4];
    assert_int_equal(spans_of((const uint8_t *)out->data + at, out->len - at, spans, 4), 1);
    return fields_of(spans[0].p, spans[0].n, f, max);
}

/* ---- the tests ---- */

static const uint8_t TRACE[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                  0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t SPAN[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t PARENT[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

static struct trace_span *statement(void)
{
    struct trace_span *sp = trace_span_create();
    assert_non_null(sp);
    memcpy(sp->trace_id, TRACE, 16);
    memcpy(sp->span_id, SPAN, 8);
    memcpy(sp->parent_id, PARENT, 8);
    trace_fixture_statement(sp);
    return sp;
}

static void test_statement_span(void **state)
{
    (void)state;
    struct trace_span *sp = statement();
    sp->err_code = 1146;
    strcpy(sp->err_msg, "Table 'shop.t' doesn't exist");
    sp->replayed = true;
    trace_span_wait(sp, TRACE_WAIT_POOL, 1700000000000010000, 1700000000000030000);
    trace_span_wait(sp, TRACE_WAIT_CONSISTENCY, 1700000000000040000, 1700000000000090000);
    struct textbuf out;
    struct field f[64];
    size_t n = one_span(sp, &out, f, 64);
    assert_bytes(one(f, n, 1), TRACE, 16);
    assert_bytes(one(f, n, 2), SPAN, 8);
    assert_str(one(f, n, 3), "congo=t61rcWkgMzE");
    assert_bytes(one(f, n, 4), PARENT, 8);
    assert_str(one(f, n, 5), "SELECT shop");
    assert_int_equal(one(f, n, 6)->v, 3); /* SPAN_KIND_CLIENT */
    assert_int_equal(one(f, n, 7)->wt, 1);
    assert_int_equal(one(f, n, 7)->v, 1700000000000000000ull);
    assert_int_equal(one(f, n, 8)->v, 1700000000000250000ull);
    static const char *const want[] = {
        "db.system.name=s:mariadb",       "db.namespace=s:shop",
        "db.operation.name=s:SELECT",     "db.query.summary=s:SELECT a FROM t WHERE id = ?",
        "db.response.status_code=s:1146", "error.type=s:1146",
        "server.address=s:127.0.0.1",     "server.port=i:3307",
        "halyard.route=s:read",           "halyard.backend=s:replica1",
        "halyard.backend.role=s:replica", "halyard.consistency=s:causal",
        "db.response.returned_rows=i:1",  "halyard.replayed=b:1",
    };
    size_t k = 0, events = 0;
    for (size_t i = 0; i < n; i++) {
        char text[512];
        if (f[i].num == 9) {
            assert_true(k < sizeof(want) / sizeof(want[0]));
            kv_text(&f[i], text, sizeof(text));
            assert_string_equal(text, want[k]);
            k++;
        } else if (f[i].num == 11) {
            struct field e[8];
            size_t en = fields_of(f[i].p, f[i].n, e, 8);
            assert_int_equal(one(e, en, 1)->v,
                             events == 0 ? 1700000000000010000ull : 1700000000000040000ull);
            assert_str(one(e, en, 2),
                       events == 0 ? "halyard.wait.pool" : "halyard.wait.consistency");
            kv_text(one(e, en, 3), text, sizeof(text));
            assert_string_equal(text, events == 0 ? "halyard.wait.duration_ns=i:20000"
                                                  : "halyard.wait.duration_ns=i:50000");
            events++;
        }
    }
    assert_int_equal(k, sizeof(want) / sizeof(want[0]));
    assert_int_equal(events, 2);
    struct field st[4];
    size_t sn = fields_of(one(f, n, 15)->p, one(f, n, 15)->n, st, 4);
    assert_str(one(st, sn, 2), "Table 'shop.t' doesn't exist");
    assert_int_equal(one(st, sn, 3)->v, 2); /* STATUS_CODE_ERROR */
    textbuf_free(&out);
    trace_span_destroy(sp);
}

/* A root without tracestate, events or error has none of those fields;
 * a string that is not UTF-8 has each bad byte as U+FFFD (EF BF BD). */
static void test_root_and_bad_utf8(void **state)
{
    (void)state;
    struct trace_span *sp = statement();
    sp->has_parent = false;
    sp->tracestate[0] = '\0';
    strcpy(sp->ns, "caf\xe9");
    assert_true(trace_span_summary(sp, "SELECT 'caf\xc3\xa9' FROM t\x01 AND \xff\xfe", 29));
    struct textbuf out;
    struct field f[64];
    size_t n = one_span(sp, &out, f, 64);
    assert_false(has(f, n, 3));
    assert_false(has(f, n, 4));
    assert_false(has(f, n, 11));
    assert_false(has(f, n, 15));
    assert_str(one(f, n, 5), "SELECT caf\xef\xbf\xbd");
    bool seen = false;
    for (size_t i = 0; i < n; i++) {
        char text[512];
        if (f[i].num != 9)
            continue;
        kv_text(&f[i], text, sizeof(text));
        if (strncmp(text, "db.query.summary=", 17) == 0) {
            assert_string_equal(text, "db.query.summary=s:SELECT 'caf\xc3\xa9' FROM t\x01 AND "
                                      "\xef\xbf\xbd\xef\xbf\xbd");
            seen = true;
        }
        if (strncmp(text, "db.namespace=", 13) == 0)
            assert_string_equal(text, "db.namespace=s:caf\xef\xbf\xbd");
    }
    assert_true(seen);
    textbuf_free(&out);
    trace_span_destroy(sp);
}

/* The value of attribute `key` of the one span in out (fails when none). */
static void attr_of(const struct field *f, size_t n, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < n; i++) {
        char text[512];
        if (f[i].num != 9)
            continue;
        kv_text(&f[i], text, sizeof(text));
        if (strncmp(text, key, kl) == 0 && text[kl] == '=') {
            snprintf(out, cap, "%s", text + kl + 1);
            return;
        }
    }
    fail_msg("no attribute %s", key);
}

/* A string of each length from 0 to 40 in a span's arrays (ns, 128 bytes;
 * role, 16), written over a longer one of other bytes (0xff, not UTF-8,
 * and 0x01) left past its end: its length found (the NUL in the first 16
 * bytes tested eight at a time), its bytes as they are, nothing of the
 * tail; with a two-byte character in it, too. */
static void test_short_strings(void **state)
{
    (void)state;
    for (size_t n = 0; n <= 40; n++) {
        for (int mb = 0; mb < 2; mb++) {
            char str[48];
            for (size_t i = 0; i < n; i++)
                str[i] = (char)('a' + i % 26);
            if (mb && n >= 2)
                memcpy(str + n / 2 - 1, "\xc3\xa9", 2);
            str[n] = '\0';
            struct trace_span *sp = statement();
            char junk[64];
            memset(junk, 0xff, sizeof(junk));
            junk[3] = 0x01;
            trace_span_set(sp->ns, sizeof(sp->ns), junk, sizeof(junk));
            trace_span_set(sp->ns, sizeof(sp->ns), str, n);
            trace_span_set(sp->role, sizeof(sp->role), junk, sizeof(junk));
            trace_span_set(sp->role, sizeof(sp->role), str, HY_MIN(n, sizeof(sp->role) - 1));
            struct textbuf out;
            struct field f[64];
            size_t k = one_span(sp, &out, f, 64);
            char got[512], want[64];
            if (n > 0) {
                attr_of(f, k, "db.namespace", got, sizeof(got));
                snprintf(want, sizeof(want), "s:%s", str);
                if (strcmp(got, want) != 0)
                    fail_msg("n %zu: db.namespace %s, not %s", n, got, want);
            }
            if (n > 0 && n < sizeof(sp->role)) {
                attr_of(f, k, "halyard.backend.role", got, sizeof(got));
                if (strcmp(got, want) != 0)
                    fail_msg("n %zu: role %s, not %s", n, got, want);
            }
            textbuf_free(&out);
            trace_span_destroy(sp);
        }
    }
}

/* Lengths of one, two and three varint bytes: summaries of 100 to 127
 * bytes (a KeyValue's lengths one byte up to 125), 200 and 20,000, and
 * 3,000 spans (the envelope past 16 KiB and 2 MiB). */
static void test_long_lengths(void **state)
{
    (void)state;
    enum { N = 3000 };
    struct trace_span **spans = calloc(N, sizeof(*spans));
    assert_non_null(spans);
    static const size_t lens[] = {100, 125, 126, 127, 200, 20000};
    for (size_t i = 0; i < N; i++) {
        spans[i] = statement();
        size_t len = lens[i % 6];
        char *sum = malloc(len);
        assert_non_null(sum);
        memset(sum, 'a' + (int)(i % 26), len);
        assert_true(trace_span_summary(spans[i], sum, len));
        free(sum);
        spans[i]->rows = i;
    }
    struct textbuf out;
    size_t at = encode(spans, N, &out);
    assert_true(out.len - at > (2u << 20));
    struct field *sp = calloc(N + 1, sizeof(*sp));
    assert_non_null(sp);
    assert_int_equal(spans_of((const uint8_t *)out.data + at, out.len - at, sp, N + 1), N);
    for (size_t i = 0; i < N; i++) {
        struct field f[64];
        size_t n = fields_of(sp[i].p, sp[i].n, f, 64);
        size_t found = 0;
        for (size_t j = 0; j < n; j++) {
            char text[20100];
            if (f[j].num != 9)
                continue;
            kv_text(&f[j], text, sizeof(text));
            if (strncmp(text, "db.query.summary=s:", 19) == 0) {
                assert_int_equal(strlen(text) - 19, lens[i % 6]);
                assert_int_equal(text[19], 'a' + (int)(i % 26));
                found++;
            }
            if (strncmp(text, "db.response.returned_rows=i:", 28) == 0) {
                assert_int_equal(strtoull(text + 28, NULL, 10), i);
                found++;
            }
        }
        assert_int_equal(found, 2);
    }
    free(sp);
    textbuf_free(&out);
    for (size_t i = 0; i < N; i++)
        trace_span_destroy(spans[i]);
    free(spans);
}

/* The backend's attributes of a batch's spans (server.address ...
 * halyard.consistency, which the encoder copies from an earlier span of
 * the batch with the same strings): spans from seven backends (more than
 * it remembers), some of them alike but for one byte past the first 16,
 * one byte of a short word, the port, or a string's length, each with its
 * own values; a string left over past the NUL of a shorter one (a used
 * span's, other from span to span) is not read. */
static void test_backend_runs(void **state)
{
    (void)state;
    static const struct {
        const char *server, *backend, *role, *route, *cons;
        uint16_t port;
    } be[] = {
        {"127.0.0.1", "replica1", "replica", "replica", "causal", 3307},
        {"127.0.0.1", "replica2", "replica", "replica", "causal", 3307},
        {"127.0.0.1", "replica1", "replica", "replica", "causal", 3308},
        {"db-0123456789abcdef-a.example", "primary", "primary", "primary", "strong", 3306},
        {"db-0123456789abcdef-b.example", "primary", "primary", "primary", "strong", 3306},
        {"127.0.0.1", "replica1", "replica", "primary", "causal", 3307},
        {"127.0.0.10", "replica1", "replica", "replica", "", 0},
    };
    enum { NB = sizeof(be) / sizeof(be[0]), N = 60 };
    struct trace_span *spans[N];
    for (size_t i = 0; i < N; i++) {
        size_t b = (i * i + i / 3) % NB;
        spans[i] = statement();
        memset(spans[i]->consistency, 'x', sizeof(spans[i]->consistency) - 1);
        if (b < 3) /* leftovers that differ from span to span */
            memset(spans[i]->route, 'a' + (int)(i % 3), sizeof(spans[i]->route) - 1);
        strcpy(spans[i]->server, be[b].server);
        strcpy(spans[i]->backend, be[b].backend);
        strcpy(spans[i]->role, be[b].role);
        strcpy(spans[i]->route, be[b].route);
        strcpy(spans[i]->consistency, be[b].cons);
        spans[i]->port = be[b].port;
    }
    struct textbuf out;
    size_t at = encode(spans, N, &out);
    struct field sp[N + 1];
    assert_int_equal(spans_of((const uint8_t *)out.data + at, out.len - at, sp, N + 1), N);
    for (size_t i = 0; i < N; i++) {
        size_t b = (i * i + i / 3) % NB;
        struct field f[64];
        size_t n = fields_of(sp[i].p, sp[i].n, f, 64);
        char v[256], want[256];
        attr_of(f, n, "server.address", v, sizeof(v));
        snprintf(want, sizeof(want), "s:%s", be[b].server);
        assert_string_equal(v, want);
        attr_of(f, n, "halyard.backend", v, sizeof(v));
        snprintf(want, sizeof(want), "s:%s", be[b].backend);
        assert_string_equal(v, want);
        attr_of(f, n, "halyard.backend.role", v, sizeof(v));
        snprintf(want, sizeof(want), "s:%s", be[b].role);
        assert_string_equal(v, want);
        attr_of(f, n, "halyard.route", v, sizeof(v));
        snprintf(want, sizeof(want), "s:%s", be[b].route);
        assert_string_equal(v, want);
        size_t ports = 0, conses = 0;
        for (size_t j = 0; j < n; j++) {
            char text[512];
            if (f[j].num != 9)
                continue;
            kv_text(&f[j], text, sizeof(text));
            ports += strncmp(text, "server.port=", 12) == 0;
            conses += strncmp(text, "halyard.consistency=", 20) == 0;
        }
        assert_int_equal(ports, be[b].port != 0);
        assert_int_equal(conses, be[b].cons[0] != '\0');
        if (be[b].port != 0) {
            attr_of(f, n, "server.port", v, sizeof(v));
            snprintf(want, sizeof(want), "i:%u", (unsigned)be[b].port);
            assert_string_equal(v, want);
        }
        if (be[b].cons[0] != '\0') {
            attr_of(f, n, "halyard.consistency", v, sizeof(v));
            snprintf(want, sizeof(want), "s:%s", be[b].cons);
            assert_string_equal(v, want);
        }
        attr_of(f, n, "db.response.returned_rows", v, sizeof(v));
        assert_string_equal(v, "i:1");
    }
    textbuf_free(&out);
    for (size_t i = 0; i < N; i++)
        trace_span_destroy(spans[i]);
}

/* db.query.summary in a batch whose spans repeat digests (the encoder
 * checks a summary for UTF-8 once while the next span's is the same):
 * runs of one, alike ones of the same length but one byte, valid and not
 * UTF-8 (each bad byte U+FFFD, its own length), and an empty one between. */
static void test_summary_runs(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } sums[] = {
        {"SELECT 'caf\xc3\xa9'", "s:SELECT 'caf\xc3\xa9'"},
        {"SELECT 'caf\xe9x'", "s:SELECT 'caf\xef\xbf\xbdx'"},
        {"SELECT 'cafex'", "s:SELECT 'cafex'"},
        {"SELECT 'cafey'", "s:SELECT 'cafey'"},
        {"", NULL},
    };
    static const size_t order[] = {0, 0, 1, 1, 0, 2, 3, 2, 4, 2, 1, 4, 4, 0, 3, 3};
    enum { N = sizeof(order) / sizeof(order[0]) };
    struct trace_span *spans[N];
    for (size_t i = 0; i < N; i++) {
        spans[i] = statement();
        assert_true(trace_span_summary(spans[i], sums[order[i]].in, strlen(sums[order[i]].in)));
    }
    struct textbuf out;
    size_t at = encode(spans, N, &out);
    struct field sp[N + 1];
    assert_int_equal(spans_of((const uint8_t *)out.data + at, out.len - at, sp, N + 1), N);
    for (size_t i = 0; i < N; i++) {
        struct field f[64];
        size_t n = fields_of(sp[i].p, sp[i].n, f, 64);
        const char *want = sums[order[i]].out;
        size_t seen = 0;
        for (size_t j = 0; j < n; j++) {
            char text[512];
            if (f[j].num != 9)
                continue;
            kv_text(&f[j], text, sizeof(text));
            if (strncmp(text, "db.query.summary=", 17) == 0) {
                assert_non_null(want);
                assert_string_equal(text + 17, want);
                seen++;
            }
        }
        assert_int_equal(seen, want != NULL);
    }
    textbuf_free(&out);
    for (size_t i = 0; i < N; i++)
        trace_span_destroy(spans[i]);
}

/* Spans of a few shapes (operation, schema, summary, parent or not, the
 * flags, the rows' varint length) on a few backends, each with its own
 * ids, times and rows, and spans of no shape (a tracestate, a text, an
 * error, an event) among them: each span's bytes in the batch are the
 * bytes it has encoded alone (the encoder copies an earlier span of its
 * shape and writes its ids, times and rows over the copy). Strings alike
 * but for a byte past the first 16, or a byte of the same length, and
 * leftovers past a short string's NUL, are among them. */
static void test_shape_runs(void **state)
{
    (void)state;
    static const struct {
        const char *op, *ns, *sum;
        bool parent, replayed, retried;
    } shapes[] = {
        {"SELECT", "shop", "SELECT c FROM t WHERE id = ?", false, false, false},
        {"SELECT", "shop", "SELECT c FROM t WHERE id = !", false, false, false},
        {"SELECT", "shop", "SELECT c FROM t WHERE id = ?", true, false, false},
        {"UPDATE", "", "UPDATE t SET c = ? WHERE id = ?", false, true, false},
        {"UPDATE", "", "UPDATE t SET c = ? WHERE id = ?", false, false, true},
        {"UPDATE", "", "UPDATE t SET c = ? WHERE id = ?", false, false, false},
        {"SELECTABCDEFGHIJKLMNO", "a_schema_of_twenty_b", "", false, false, false},
        {"SELECTABCDEFGHIJKLMNP", "a_schema_of_twenty_b", "", false, false, false},
        {"SELECTABCDEFGHIJKLMNO", "a_schema_of_twenty_c", "", false, false, false},
    };
    enum { NS = sizeof(shapes) / sizeof(shapes[0]), N = 400 };
    static const uint64_t rows[] = {1, 0, 5, 127, 128, 300, 1u << 20};
    static const char *const servers[] = {"127.0.0.1", "127.0.0.2"};
    struct trace_span **spans = calloc(N, sizeof(*spans));
    assert_non_null(spans);
    uint64_t x = 42;
    for (size_t i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t r = x >> 16;
        struct trace_span *sp = spans[i] = statement();
        for (size_t b = 0; b < 16; b++)
            sp->trace_id[b] = (uint8_t)(i * 7 + b + 1);
        for (size_t b = 0; b < 8; b++) {
            sp->span_id[b] = (uint8_t)(i * 13 + b + 1);
            sp->parent_id[b] = (uint8_t)(i * 5 + b + 1);
        }
        /* runs of a shape: a new one a span in four */
        size_t k = (i / 4 + (r % 4 == 0 ? r >> 8 : 0)) % NS;
        sp->has_parent = shapes[k].parent;
        sp->replayed = shapes[k].replayed;
        sp->retried = shapes[k].retried;
        if (r % 17 != 0)
            sp->tracestate[0] = '\0';
        sp->start_ns = 1700000000000000000 + (int64_t)(i * 1000 + r % 997);
        sp->end_ns = sp->start_ns + (int64_t)(r % 100000) + (i % 7 == 0 ? (int64_t)1 << 40 : 0);
        memset(sp->op, 'q', sizeof(sp->op) - 1); /* leftovers, under a short string's zeros */
        trace_span_set(sp->op, sizeof(sp->op), shapes[k].op, strlen(shapes[k].op));
        trace_span_set(sp->ns, sizeof(sp->ns), shapes[k].ns, strlen(shapes[k].ns));
        assert_true(trace_span_summary(sp, shapes[k].sum, strlen(shapes[k].sum)));
        sp->rows = rows[(r >> 9) % 8 < 5 ? (r >> 9) % 3 : (r >> 9) % 7];
        strcpy(sp->server, servers[(r >> 17) % 4 == 0]);
        if (r % 23 == 0)
            sp->text = hy_dupz("SELECT 1", 8);
        if (r % 29 == 0) {
            sp->err_code = 1146;
            strcpy(sp->err_msg, "no table");
        }
        if (r % 31 == 0)
            trace_span_wait(sp, TRACE_WAIT_POOL, sp->start_ns, sp->start_ns + 5);
    }
    struct textbuf out;
    size_t at = encode(spans, N, &out);
    struct field *sp = calloc(N + 1, sizeof(*sp));
    assert_non_null(sp);
    assert_int_equal(spans_of((const uint8_t *)out.data + at, out.len - at, sp, N + 1), N);
    for (size_t i = 0; i < N; i++) {
        struct textbuf alone;
        size_t a = encode(&spans[i], 1, &alone);
        struct field one_sp[2];
        assert_int_equal(spans_of((const uint8_t *)alone.data + a, alone.len - a, one_sp, 2), 1);
        assert_int_equal(sp[i].n, one_sp[0].n);
        assert_memory_equal(sp[i].p, one_sp[0].p, sp[i].n);
        textbuf_free(&alone);
    }
    free(sp);
    textbuf_free(&out);
    for (size_t i = 0; i < N; i++)
        trace_span_destroy(spans[i]);
    free(spans);
}

/* An operation's span (core/oprun.h): a root, INTERNAL, its attributes in
 * order (an empty string left out), ERROR with its reason; encoded when it
 * is made, sent as it is. */
static void test_op_span(void **state)
{
    (void)state;
    struct oprun r;
    trace_fixture_backup_run(&r);
    struct trace_span *sp = trace_op_span(&r);
    assert_non_null(sp);
    struct textbuf out;
    struct field f[64];
    size_t n = one_span(sp, &out, f, 64);
    assert_str(one(f, n, 5), "halyard.backup");
    assert_int_equal(one(f, n, 6)->v, 1); /* SPAN_KIND_INTERNAL */
    assert_false(has(f, n, 4));
    assert_int_equal(one(f, n, 8)->v, 1700000002500000000ull);
    static const char *const want[] = {"halyard.backup.id=s:full-20261128T153000Z",
                                       "halyard.backup.bytes=i:-1", "halyard.ok=b:0"};
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char text[512];
        if (f[i].num != 9)
            continue;
        assert_true(k < 3);
        kv_text(&f[i], text, sizeof(text));
        assert_string_equal(text, want[k++]);
    }
    assert_int_equal(k, 3);
    struct field st[4];
    size_t sn = fields_of(one(f, n, 15)->p, one(f, n, 15)->n, st, 4);
    assert_str(one(st, sn, 2), "login: error 1045 \"denied\"");
    assert_int_equal(one(st, sn, 3)->v, 2);
    textbuf_free(&out);
    trace_span_destroy(sp);
}

/* A procedure's span (a switchover): INTERNAL, its words as attributes,
 * each step line an event at its offset from the start. */
static void test_proc_span(void **state)
{
    (void)state;
    static const char steps[] = "[+0 ms] fenced the old primary\n[+12 ms] promoted replica1\n"
                                "not a step line\n[+30 ms] done";
    struct audit_procedure p = {.event = "switchover",
                                .trigger = "admin",
                                .backend = "replica1",
                                .from = "primary",
                                .to = "replica1",
                                .reason = "asked",
                                .result = "ok",
                                .steps = steps,
                                .steps_len = sizeof(steps) - 1,
                                .ok = true};
    struct trace_span *sp = trace_proc_span(&p, 1700000000000000000, 1700000000040000000);
    assert_non_null(sp);
    struct textbuf out;
    struct field f[64];
    size_t n = one_span(sp, &out, f, 64);
    assert_str(one(f, n, 5), "halyard.switchover");
    assert_int_equal(one(f, n, 6)->v, 1);
    assert_false(has(f, n, 15));
    static const char *const texts[] = {"fenced the old primary", "promoted replica1", "done"};
    static const uint64_t at_ns[] = {1700000000000000000ull, 1700000000012000000ull,
                                     1700000000030000000ull};
    size_t ev = 0, attrs = 0;
    for (size_t i = 0; i < n; i++) {
        char text[512];
        if (f[i].num == 9) {
            kv_text(&f[i], text, sizeof(text));
            attrs++;
            if (strncmp(text, "halyard.ok=", 11) == 0)
                assert_string_equal(text, "halyard.ok=b:1");
        }
        if (f[i].num != 11)
            continue;
        assert_true(ev < 3);
        struct field e[8];
        size_t en = fields_of(f[i].p, f[i].n, e, 8);
        assert_int_equal(one(e, en, 1)->v, at_ns[ev]);
        assert_str(one(e, en, 2), "halyard.step");
        kv_text(one(e, en, 3), text, sizeof(text));
        char want[128];
        snprintf(want, sizeof(want), "halyard.step.text=s:%s", texts[ev]);
        assert_string_equal(text, want);
        ev++;
    }
    assert_int_equal(ev, 3);
    assert_int_equal(attrs, 8); /* the seven words and halyard.ok */
    textbuf_free(&out);
    trace_span_destroy(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statement_span), cmocka_unit_test(test_root_and_bad_utf8),
        cmocka_unit_test(test_long_lengths),   cmocka_unit_test(test_op_span),
        cmocka_unit_test(test_proc_span),      cmocka_unit_test(test_short_strings),
        cmocka_unit_test(test_backend_runs),   cmocka_unit_test(test_summary_runs),
        cmocka_unit_test(test_shape_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
