/*
 * trace_pb.c: spans as OTLP/HTTP protobuf (trace.h trace_encode_pb): the
 * binary form of opentelemetry-proto's ExportTraceServiceRequest, written
 * by hand for this one schema. libprotobuf-c was measured for it and is
 * four times the JSON writer's cost (docs/tracing.md); this writer knows
 * each message's fields, sizes a span from its strings' lengths first,
 * then writes it once, its length before it: no field is moved after it
 * is written.
 *
 * The messages and fields it writes (field numbers of the .proto files):
 *   ExportTraceServiceRequest: resource_spans 1
 *   ResourceSpans: resource 1, scope_spans 2
 *   Resource: attributes 1           ScopeSpans: scope 1, spans 2
 *   InstrumentationScope: name 1, version 2
 *   Span: trace_id 1, span_id 2, trace_state 3, parent_span_id 4, name 5,
 *         kind 6, start_time_unix_nano 7 (fixed64), end_time_unix_nano 8
 *         (fixed64), attributes 9, events 11, status 15
 *   Span.Event: time_unix_nano 1 (fixed64), name 2, attributes 3
 *   Status: message 2, code 3        KeyValue: key 1, value 2
 *   AnyValue: string_value 1, bool_value 2, int_value 3
 * Every field number is under 16: a field's tag is one byte. A string
 * field's bytes are valid UTF-8, as protobuf's string type requires: a
 * byte that is not becomes U+FFFD, as the JSON encoding writes it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/core/audit.h"
#include "halyard/core/oprun.h"
#include "halyard/core/text.h"
#include "halyard/trace/trace.h"
#include "trace_int.h"

/* tags: (field << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited) */
#define LD(f)      ((uint8_t)((f) << 3 | 2))
#define VARINT(f)  ((uint8_t)((f) << 3))
#define FIXED64(f) ((uint8_t)((f) << 3 | 1))

enum pb_kind { PB_STR, PB_INT, PB_BOOL };

/* A KeyValue: its key (plain ASCII, the encoder's own) and value. */
struct pb_attr {
    const char *key;
    size_t klen;
    enum pb_kind kind;
    const char *s; /* PB_STR */
    size_t n;      /* its bytes */
    size_t out_n;  /* its bytes written (U+FFFD for each one not UTF-8): pb_sizes */
    int64_t i;     /* PB_INT, PB_BOOL */
};

struct pb_event {
    int64_t time_ns;
    const char *name;
    size_t name_len;
    struct pb_attr attr; /* each event has one */
};

/* A span as the writer takes it, whatever made it. */
struct pb_span {
    const uint8_t *trace_id, *span_id, *parent_id; /* parent_id NULL: a root */
    const char *state;
    size_t state_len; /* valid: trace_state_valid checked it */
    const char *name;
    size_t name_len; /* the encoder's own words, or valid UTF-8 made so */
    uint8_t kind;
    int64_t start_ns, end_ns;
    struct pb_attr *attrs;
    size_t n_attrs;
    struct pb_event *events;
    size_t n_events;
    bool error;
    struct pb_attr status; /* its message (s, n), when error */
};

/* A varint's bytes: 7 bits a byte, from v's highest set bit; most (a
 * length, a small number) are one. */
static inline size_t vlen(uint64_t v)
{
    if (v < 0x80)
        return 1;
    return ((size_t)(64 - __builtin_clzll(v)) + 6) * 37 >> 8; /* (bits + 6) / 7 */
}

/* a length-delimited field of n bytes, its tag and length included */
static inline size_t ld_size(size_t n)
{
    return 1 + vlen(n) + n;
}

static inline uint8_t *put_varint(uint8_t *d, uint64_t v)
{
    if (v < 0x80) { /* most: a length, a small number */
        *d = (uint8_t)v;
        return d + 1;
    }
    while (v >= 0x80) {
        *d++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *d++ = (uint8_t)v;
    return d;
}

static inline uint8_t *put_ld(uint8_t *d, uint8_t tag, size_t n)
{
    *d++ = tag;
    return put_varint(d, n);
}

static inline uint8_t *put_bytes(uint8_t *d, uint8_t tag, const void *p, size_t n)
{
    d = put_ld(d, tag, n);
    memcpy(d, p, n);
    return d + n;
}

static inline uint8_t *put_fixed64(uint8_t *d, uint8_t tag, int64_t sv)
{
    uint64_t v = (uint64_t)sv;
    *d++ = tag;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(d, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)(v >> (8 * i));
#endif
    return d + 8;
}

/* The n bytes at s with each byte that is not UTF-8 as U+FFFD, written
 * to d (NULL: only counted): how many. */
static size_t utf8_fix(uint8_t *d, const char *s, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : hy_utf8_len(s + i, n - i);
        if (d != NULL)
            memcpy(d + out, k > 0 ? s + i : "\xef\xbf\xbd", k > 0 ? k : 3);
        out += k > 0 ? k : 3;
        i += k > 0 ? k : 1;
    }
    return out;
}

/* The bytes a string takes once each byte that is not UTF-8 is U+FFFD. */
static size_t utf8_out_len(const char *s, size_t n)
{
    return hy_utf8_valid(s, n, true) ? n : utf8_fix(NULL, s, n);
}

/* The same for a string held in an array of 16 bytes or more (a span's
 * fields, all initialised): one shorter than 16 is tested as the array's
 * first 16 bytes, those past it masked off. */
static inline size_t utf8_out_len_arr(const char *s, size_t n)
{
    if (n < 16) {
        uint64_t lo = n >= 8 ? ~0ull : n > 0 ? ~0ull >> (64 - 8 * n) : 0;
        uint64_t hi = n > 8 ? ~0ull >> (64 - 8 * (n - 8)) : 0;
        if (((hy_load_le64(s) & lo) | (hy_load_le64(s + 8) & hi)) & 0x8080808080808080ull)
            return utf8_out_len(s, n);
        return n;
    }
    return utf8_out_len(s, n);
}

/* The string written as utf8_out_len counted it. */
static uint8_t *put_utf8(uint8_t *d, const char *s, size_t n, size_t out_n)
{
    if (out_n == n) {
        memcpy(d, s, n);
        return d + n;
    }
    return d + utf8_fix(d, s, n);
}

static size_t any_size(const struct pb_attr *a)
{
    if (a->kind == PB_STR)
        return ld_size(a->out_n);
    if (a->kind == PB_INT)
        return 1 + vlen((uint64_t)a->i);
    return 2;
}

/* A KeyValue's size (its fields, not its own tag and length), its
 * string's out_n set. */
static size_t kv_len(const struct pb_attr *a)
{
    return ld_size(a->klen) + ld_size(any_size(a));
}

/* The same, setting its string's out_n first. */
static size_t kv_size(struct pb_attr *a)
{
    if (a->kind == PB_STR)
        a->out_n = utf8_out_len(a->s, a->n);
    return kv_len(a);
}

static uint8_t *put_kv(uint8_t *d, uint8_t tag, const struct pb_attr *a, size_t size)
{
    d = put_ld(d, tag, size);
    d = put_bytes(d, LD(1), a->key, a->klen);
    d = put_ld(d, LD(2), any_size(a));
    if (a->kind == PB_STR) {
        d = put_ld(d, LD(1), a->out_n);
        return put_utf8(d, a->s, a->n, a->out_n);
    }
    if (a->kind == PB_INT) {
        *d++ = VARINT(3);
        return put_varint(d, (uint64_t)a->i);
    }
    *d++ = VARINT(2);
    *d++ = a->i != 0;
    return d;
}

/* An event's size (its fields), its attribute's out_n set. */
static size_t event_size(struct pb_event *e)
{
    return 9 + ld_size(e->name_len) + ld_size(kv_size(&e->attr));
}

/* The event as a Span's events field (event_size set its out_n). */
static uint8_t *put_event(uint8_t *d, const struct pb_event *e)
{
    size_t kv = kv_len(&e->attr);
    d = put_ld(d, LD(11), 9 + ld_size(e->name_len) + ld_size(kv));
    d = put_fixed64(d, FIXED64(1), e->time_ns);
    d = put_bytes(d, LD(2), e->name, e->name_len);
    return put_kv(d, LD(3), &e->attr, kv);
}

/* A Status{message: out_n bytes, code: ERROR}'s size. */
static size_t status_len(size_t out_n)
{
    return (out_n > 0 ? ld_size(out_n) : 0) + 2;
}

static size_t status_size(struct pb_attr *st)
{
    st->out_n = utf8_out_len(st->s, st->n);
    return status_len(st->out_n);
}

/* The status of an error as a Span's status field (its message: n bytes
 * at s, out_n once written). */
static uint8_t *put_status(uint8_t *d, const char *s, size_t n, size_t out_n)
{
    d = put_ld(d, LD(15), status_len(out_n));
    if (out_n > 0) {
        d = put_ld(d, LD(2), out_n);
        d = put_utf8(d, s, n, out_n);
    }
    *d++ = VARINT(3);
    *d++ = 2; /* STATUS_CODE_ERROR */
    return d;
}

/* The span's size (its fields, not its own tag and length). */
static size_t span_size(struct pb_span *sp)
{
    size_t n = ld_size(16) + ld_size(8) + ld_size(sp->name_len) + 2 * 9;
    if (sp->state_len > 0)
        n += ld_size(sp->state_len);
    if (sp->parent_id != NULL)
        n += ld_size(8);
    if (sp->kind != 0)
        n += 2;
    for (size_t i = 0; i < sp->n_attrs; i++)
        n += ld_size(kv_size(&sp->attrs[i]));
    for (size_t i = 0; i < sp->n_events; i++)
        n += ld_size(event_size(&sp->events[i]));
    if (sp->error)
        n += ld_size(status_size(&sp->status));
    return n;
}

/* The span as the field `tag` of size `size` (span_size, which set the
 * strings' out_n). */
static uint8_t *put_span(uint8_t *d, uint8_t tag, struct pb_span *sp, size_t size)
{
    d = put_ld(d, tag, size);
    d = put_bytes(d, LD(1), sp->trace_id, 16);
    d = put_bytes(d, LD(2), sp->span_id, 8);
    if (sp->state_len > 0)
        d = put_bytes(d, LD(3), sp->state, sp->state_len);
    if (sp->parent_id != NULL)
        d = put_bytes(d, LD(4), sp->parent_id, 8);
    d = put_bytes(d, LD(5), sp->name, sp->name_len);
    if (sp->kind != 0) {
        *d++ = VARINT(6);
        *d++ = sp->kind;
    }
    d = put_fixed64(d, FIXED64(7), sp->start_ns);
    d = put_fixed64(d, FIXED64(8), sp->end_ns);
    for (size_t i = 0; i < sp->n_attrs; i++)
        d = put_kv(d, LD(9), &sp->attrs[i], kv_len(&sp->attrs[i]));
    for (size_t i = 0; i < sp->n_events; i++)
        d = put_event(d, &sp->events[i]);
    if (sp->error)
        d = put_status(d, sp->status.s, sp->status.n, sp->status.out_n);
    return d;
}

/* The span appended to out as a ScopeSpans' spans field. */
static void append_span(struct textbuf *out, struct pb_span *sp)
{
    size_t size = span_size(sp);
    uint8_t *d = (uint8_t *)textbuf_extend(out, ld_size(size));
    if (d != NULL) /* else overflow is set: the batch is not sent */
        put_span(d, LD(2), sp, size);
}

#define ATTR(k) .key = (k), .klen = sizeof(k) - 1
#define STR_ATTR(a, n_, k, v, len)                                                                 \
    do {                                                                                           \
        if ((len) > 0)                                                                             \
            (a)[(n_)++] = (struct pb_attr){ATTR(k), .kind = PB_STR, .s = (v), .n = (len)};         \
    } while (0)

/* ---- a statement's span ----
 * Some 400 bytes a span, written straight: each attribute's key a
 * constant (its bytes copied with a size the compiler knows), a short
 * string of a span's array copied as the array's first 16 bytes. */

/* A string value: its bytes, their count once written (U+FFFD...), and
 * its KeyValue's size (KV_STR_SIZE). */
struct sv {
    const char *s;
    size_t n, on, kv;
    bool arr; /* held in an array of 16 bytes or more */
};

/* The length of a string held in an array of 16 bytes or more: its
 * first 16 bytes tested for the NUL eight at a time (the lowest zero byte
 * of each word: bytes above one may test zero too, never below), strlen
 * past them. */
static inline size_t arr_len(const char *a)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t lo = hy_load_le64(a), z = (lo - ones) & ~lo & high;
    if (z != 0)
        return (size_t)__builtin_ctzll(z) / 8;
    uint64_t hi = hy_load_le64(a + 8);
    z = (hi - ones) & ~hi & high;
    if (z != 0)
        return 8 + (size_t)__builtin_ctzll(z) / 8;
    return 16 + strlen(a + 16);
}

static inline struct sv arr_sv(const char *a)
{
    size_t n = arr_len(a);
    return (struct sv){.s = a, .n = n, .on = utf8_out_len_arr(a, n), .arr = true};
}

/* halyard's own words (the operation's name, the route, the role, the
 * consistency mode): ASCII */
static inline struct sv word_sv(const char *a)
{
    size_t n = arr_len(a);
    return (struct sv){.s = a, .n = n, .on = n, .arr = true};
}

static inline struct sv heap_sv(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    return (struct sv){.s = s, .n = n, .on = n > 0 ? utf8_out_len(s, n) : 0};
}

#define KEY_SIZE(key) (2 + sizeof(key) - 1)

/* KeyValue{key: its key field's `key` bytes, value: AnyValue{string_value:
 * `on` bytes}}'s size; under 126 bytes, each length is one byte */
static inline size_t kv_str_size(size_t key, size_t on)
{
    return on < 126 ? key + 4 + on : key + ld_size(ld_size(on));
}
/* the field (tag, length, KeyValue) of a string attribute, its KeyValue's
 * size kept in v; none when "" */
#define KV_STR_SIZE(key, v)                                                                        \
    ((v)->n > 0 ? ld_size((v)->kv = kv_str_size(KEY_SIZE(key), (v)->on)) : 0)
#define KV_INT_SIZE(key, i) ld_size(KEY_SIZE(key) + ld_size(1 + vlen((uint64_t)(i))))
#define KV_BOOL_SIZE(key)   ld_size(KEY_SIZE(key) + ld_size(2))

#define PUT_KEY(d, key)                                                                            \
    do {                                                                                           \
        *(d)++ = LD(1);                                                                            \
        *(d)++ = (uint8_t)(sizeof(key) - 1);                                                       \
        memcpy((d), (key), sizeof(key) - 1);                                                       \
        (d) += sizeof(key) - 1;                                                                    \
    } while (0)

/* AnyValue{string_value}; one held in an array shorter than 16 bytes is
 * copied as the array's first 16 (the room has 16 bytes to spare) */
static inline uint8_t *put_str_value(uint8_t *d, const struct sv *v)
{
    d = put_ld(d, LD(2), 1 + vlen(v->on) + v->on);
    d = put_ld(d, LD(1), v->on);
    if (v->arr && v->n < 16 && v->on == v->n) {
        memcpy(d, v->s, 16);
        return d + v->n;
    }
    return put_utf8(d, v->s, v->n, v->on);
}

/* (KV_STR_SIZE set v->kv) */
#define PUT_KV_STR(d, key, v)                                                                      \
    do {                                                                                           \
        if ((v)->n > 0) {                                                                          \
            d = put_ld(d, LD(9), (v)->kv);                                                         \
            PUT_KEY(d, key);                                                                       \
            d = put_str_value(d, (v));                                                             \
        }                                                                                          \
    } while (0)

#define PUT_KV_INT(d, key, i)                                                                      \
    do {                                                                                           \
        uint64_t u_ = (uint64_t)(i);                                                               \
        d = put_ld(d, LD(9), KEY_SIZE(key) + ld_size(1 + vlen(u_)));                               \
        PUT_KEY(d, key);                                                                           \
        d = put_ld(d, LD(2), 1 + vlen(u_));                                                        \
        *d++ = VARINT(3);                                                                          \
        d = put_varint(d, u_);                                                                     \
    } while (0)

#define PUT_KV_TRUE(d, key)                                                                        \
    do {                                                                                           \
        d = put_ld(d, LD(9), KEY_SIZE(key) + ld_size(2));                                          \
        PUT_KEY(d, key);                                                                           \
        memcpy(d, "\x12\x02\x10\x01", 4); /* value: AnyValue{bool_value: true} */                  \
        d += 4;                                                                                    \
    } while (0)

/* db.system.name = mariadb, whole */
static const char MARIADB_KV[] = "\x4a\x1b\x0a\x0e"
                                 "db.system.name"
                                 "\x12\x09\x0a\x07"
                                 "mariadb";

/* The events of a statement's span (its waits), as pb_events, and their
 * fields' bytes. */
static size_t statement_events(const struct trace_span *sp, struct pb_event *ev, char (*names)[40],
                               size_t *bytes)
{
    size_t n = sp->n_events < TRACE_EVENTS_MAX ? sp->n_events : TRACE_EVENTS_MAX;
    *bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const struct trace_event *e = &sp->events[i];
        const char *w = trace_wait_name(e->what);
        size_t wl = strlen(w);
        memcpy(names[i], "halyard.wait.", 13);
        memcpy(names[i] + 13, w, wl);
        ev[i] = (struct pb_event){.time_ns = e->start_ns,
                                  .name = names[i],
                                  .name_len = 13 + wl,
                                  .attr = {ATTR("halyard.wait.duration_ns"), .kind = PB_INT,
                                           .i = e->end_ns - e->start_ns}};
        *bytes += ld_size(event_size(&ev[i]));
    }
    return n;
}

/* The span's name: the operation (mariadb when none) and the schema. */
static size_t statement_name(const struct sv *op, const struct sv *ns, char *name)
{
    size_t nl = op->n > 0 ? op->on : 7;
    if (op->n > 0)
        put_utf8((uint8_t *)name, op->s, op->n, op->on);
    else
        memcpy(name, "mariadb", 7);
    if (ns->n > 0) {
        name[nl++] = ' ';
        put_utf8((uint8_t *)name + nl, ns->s, ns->n, ns->on);
        nl += ns->on;
    }
    return nl;
}

/* The backend's attributes of a statement's span (server.address,
 * server.port, halyard.route, halyard.backend, halyard.backend.role,
 * halyard.consistency: one run of fields) as written for the last few
 * spans of a batch: a batch's spans come from a few backends, and a span
 * whose strings are those of one of them copies its bytes (the same
 * bytes) instead of writing them again. */
#define BLOCK_MEMO 4u

/* The last span of a backend's entry that was written whole, as the
 * model of the spans of its shape: a statement of the same operation,
 * schema, summary, parent or not, flags and rows' varint length, on that
 * backend, has the same bytes but for its ids, its times and its rows,
 * which are written over a copy of them (shape_copy). A span with a
 * tracestate, a text, an error or events is none (those vary). */
struct pb_shape {
    const struct trace_span *sp; /* NULL: none (alive for the batch) */
    size_t at, len;              /* its bytes in out->data */
    /* offsets in them: the tags of trace_id, parent_span_id and the two
     * times, the rows' varint */
    uint32_t o_ids, o_parent, o_start, o_end, o_rows;
    uint8_t longer; /* bit 0: its op is 16 bytes or longer, bit 1: its ns */
};

struct pb_block {
    const struct trace_span *sp; /* the span they were written for (alive for the batch) */
    size_t at, len;              /* their bytes in out->data */
    uint8_t longer;              /* bit B_x: that string is 16 bytes or longer */
    struct pb_shape shape;
};
enum { B_SERVER, B_BACKEND, B_ROLE, B_ROUTE, B_CONS };
struct pb_memo {
    struct pb_block b[BLOCK_MEMO];
    unsigned next; /* the entry the next miss replaces */
    /* the last summary and its bytes once written (U+FFFD...): a span
     * of the same statement's shape has the same digest, compared rather
     * than checked for UTF-8 again */
    const char *sum;
    size_t sum_n, sum_on;
};

/* db.query.summary (a span's heap copy of n bytes, NULL: none) as a
 * string value. */
static inline struct sv summary_sv(struct pb_memo *m, const char *s, size_t n)
{
    if (s == NULL || n == 0)
        return (struct sv){.s = s};
    if (n != m->sum_n || memcmp(s, m->sum, n) != 0) {
        m->sum = s;
        m->sum_n = n;
        m->sum_on = utf8_out_len(s, n);
    }
    return (struct sv){.s = s, .n = n, .on = m->sum_on};
}

/* Whether the string in the array a (16 bytes or more) is the one in the
 * array b: b's shorter than 16 bytes (`longer` false), as their first 16
 * bytes (equal up to b's NUL and past it: trace_span_set writes a short
 * string over zeros, so that a used span's leftovers seldom differ; when
 * they do, the strings are taken for different, and written again). */
static inline __attribute__((always_inline)) bool arr_same(const char *a, const char *b,
                                                           bool longer)
{
    if (longer)
        return strcmp(a, b) == 0;
    return ((hy_load_le64(a) ^ hy_load_le64(b)) | (hy_load_le64(a + 8) ^ hy_load_le64(b + 8))) == 0;
}

/* The memo's entry for the span's backend attributes, or NULL. */
static struct pb_block *block_find(struct pb_memo *m, const struct trace_span *sp)
{
    for (unsigned e = 0; e < BLOCK_MEMO; e++) {
        const struct trace_span *o = m->b[e].sp;
        unsigned l = m->b[e].longer;
        if (o != NULL && o->port == sp->port &&
            arr_same(sp->server, o->server, l >> B_SERVER & 1) &&
            arr_same(sp->backend, o->backend, l >> B_BACKEND & 1) &&
            arr_same(sp->role, o->role, l >> B_ROLE & 1) &&
            arr_same(sp->route, o->route, l >> B_ROUTE & 1) &&
            arr_same(sp->consistency, o->consistency, l >> B_CONS & 1))
            return &m->b[e];
    }
    return NULL;
}

/* Whether the span is of the model's shape (struct pb_shape). */
static inline bool shape_same(const struct pb_shape *t, const struct trace_span *sp)
{
    const struct trace_span *o = t->sp;
    return o != NULL && sp->tracestate[0] == '\0' && sp->text == NULL && sp->err_code == 0 &&
           sp->n_events == 0 && sp->has_parent == o->has_parent && sp->replayed == o->replayed &&
           sp->retried == o->retried && vlen(sp->rows) == vlen(o->rows) &&
           sp->summary_len == o->summary_len && arr_same(sp->op, o->op, t->longer & 1) &&
           arr_same(sp->ns, o->ns, t->longer >> 1 & 1) &&
           (sp->summary_len == 0 || memcmp(sp->summary, o->summary, sp->summary_len) == 0);
}

/* The span as a copy of its model's bytes, its ids, times and rows
 * written over them (the same lengths). */
static void shape_copy(struct textbuf *out, const struct pb_shape *t, const struct trace_span *sp)
{
    uint8_t *d = (uint8_t *)textbuf_extend(out, t->len);
    if (d == NULL)
        return; /* overflow set: the batch is not sent */
    memcpy(d, out->data + t->at, t->len);
    /* past each field's tag (and an id's length), as the model has them */
    memcpy(d + t->o_ids + 2, sp->trace_id, 16);
    memcpy(d + t->o_ids + 20, sp->span_id, 8);
    if (sp->has_parent)
        memcpy(d + t->o_parent + 2, sp->parent_id, 8);
    put_fixed64(d + t->o_start, FIXED64(7), sp->start_ns);
    put_fixed64(d + t->o_end, FIXED64(8), sp->end_ns);
    put_varint(d + t->o_rows, sp->rows);
}

static void statement_span(struct textbuf *out, const struct trace_span *sp, struct pb_memo *m)
{
    struct pb_block *hit = block_find(m, sp);
    if (hit != NULL && shape_same(&hit->shape, sp)) {
        shape_copy(out, &hit->shape, sp);
        return;
    }
    struct sv ns = arr_sv(sp->ns), op = word_sv(sp->op), server = {0}, backend = {0};
    struct sv role = {0}, route = {0}, cons = {0}, state = word_sv(sp->tracestate);
    if (hit == NULL) {
        server = arr_sv(sp->server);
        backend = arr_sv(sp->backend);
        role = word_sv(sp->role);
        route = word_sv(sp->route);
        cons = word_sv(sp->consistency);
    }
    struct sv sum = summary_sv(m, sp->summary, sp->summary_len), text = heap_sv(sp->text),
              err = {0}, code = {0};
    struct sv etype;
    char code_s[24];
    if (sp->err_code != 0) {
        size_t cl = (size_t)snprintf(code_s, sizeof(code_s), "%u", (unsigned)sp->err_code);
        code = (struct sv){.s = code_s, .n = cl, .on = cl, .arr = true};
        err = arr_sv(sp->err_msg);
    }
    etype = code; /* the same value under another key: its own KeyValue size */
    char name[3 * (sizeof(sp->op) + sizeof(sp->ns))];
    size_t nl = statement_name(&op, &ns, name);
    struct pb_event ev[TRACE_EVENTS_MAX];
    char names[TRACE_EVENTS_MAX][40];
    size_t ev_bytes, n_ev = statement_events(sp, ev, names, &ev_bytes);
    size_t size =
        ld_size(16) + ld_size(8) + (sp->has_parent ? ld_size(8) : 0) +
        (state.n > 0 ? ld_size(state.on) : 0) + ld_size(nl) + 2 + 2 * 9 + sizeof(MARIADB_KV) - 1 +
        KV_STR_SIZE("db.namespace", &ns) + KV_STR_SIZE("db.operation.name", &op) +
        KV_STR_SIZE("db.query.summary", &sum) + KV_STR_SIZE("db.query.text", &text) +
        KV_STR_SIZE("db.response.status_code", &code) + KV_STR_SIZE("error.type", &etype) +
        (hit != NULL
             ? hit->len
             : KV_STR_SIZE("server.address", &server) +
                   (sp->port != 0 ? KV_INT_SIZE("server.port", sp->port) : 0) +
                   KV_STR_SIZE("halyard.route", &route) + KV_STR_SIZE("halyard.backend", &backend) +
                   KV_STR_SIZE("halyard.backend.role", &role) +
                   KV_STR_SIZE("halyard.consistency", &cons)) +
        KV_INT_SIZE("db.response.returned_rows", sp->rows) +
        (sp->replayed ? KV_BOOL_SIZE("halyard.replayed") : 0) +
        (sp->retried ? KV_BOOL_SIZE("halyard.retried") : 0) + ev_bytes +
        (sp->err_code != 0 ? ld_size(status_len(err.on)) : 0);
    size_t at = out->len;
    uint8_t *d0 = (uint8_t *)textbuf_extend(out, ld_size(size) + 16), *d = d0;
    if (d == NULL)
        return;                 /* overflow set: the batch is not sent */
    d = put_ld(d, LD(2), size); /* ScopeSpans.spans */
    struct pb_shape sh = {.sp = sp, .at = at, .o_ids = (uint32_t)(d - d0)};
    d = put_bytes(d, LD(1), sp->trace_id, 16);
    d = put_bytes(d, LD(2), sp->span_id, 8);
    if (state.n > 0) {
        d = put_ld(d, LD(3), state.on);
        d = put_utf8(d, state.s, state.n, state.on);
    }
    sh.o_parent = (uint32_t)(d - d0);
    if (sp->has_parent)
        d = put_bytes(d, LD(4), sp->parent_id, 8);
    d = put_bytes(d, LD(5), name, nl);
    *d++ = VARINT(6);
    *d++ = 3; /* SPAN_KIND_CLIENT */
    sh.o_start = (uint32_t)(d - d0);
    d = put_fixed64(d, FIXED64(7), sp->start_ns);
    sh.o_end = (uint32_t)(d - d0);
    d = put_fixed64(d, FIXED64(8), sp->end_ns);
    memcpy(d, MARIADB_KV, sizeof(MARIADB_KV) - 1);
    d += sizeof(MARIADB_KV) - 1;
    PUT_KV_STR(d, "db.namespace", &ns);
    PUT_KV_STR(d, "db.operation.name", &op);
    PUT_KV_STR(d, "db.query.summary", &sum);
    PUT_KV_STR(d, "db.query.text", &text);
    PUT_KV_STR(d, "db.response.status_code", &code);
    PUT_KV_STR(d, "error.type", &etype);
    if (hit != NULL) {
        memcpy(d, out->data + hit->at, hit->len);
        d += hit->len;
    } else {
        uint8_t *b0 = d;
        hit = &m->b[m->next];
        PUT_KV_STR(d, "server.address", &server);
        if (sp->port != 0)
            PUT_KV_INT(d, "server.port", sp->port);
        PUT_KV_STR(d, "halyard.route", &route);
        PUT_KV_STR(d, "halyard.backend", &backend);
        PUT_KV_STR(d, "halyard.backend.role", &role);
        PUT_KV_STR(d, "halyard.consistency", &cons);
        m->b[m->next] = (struct pb_block){
            .sp = sp,
            .at = at + (size_t)(b0 - d0),
            .len = (size_t)(d - b0),
            .longer = (uint8_t)((server.n >= 16) << B_SERVER | (backend.n >= 16) << B_BACKEND |
                                (role.n >= 16) << B_ROLE | (route.n >= 16) << B_ROUTE |
                                (cons.n >= 16) << B_CONS)};
        m->next = (m->next + 1) % BLOCK_MEMO;
    }
    PUT_KV_INT(d, "db.response.returned_rows", sp->rows);
    sh.o_rows = (uint32_t)(d - d0 - vlen(sp->rows));
    if (sp->replayed)
        PUT_KV_TRUE(d, "halyard.replayed");
    if (sp->retried)
        PUT_KV_TRUE(d, "halyard.retried");
    for (size_t i = 0; i < n_ev; i++)
        d = put_event(d, &ev[i]);
    if (sp->err_code != 0)
        d = put_status(d, err.s, err.n, err.on);
    textbuf_truncate(out, at + (size_t)(d - d0)); /* the room's spare 16 bytes */
    if (state.n == 0 && text.n == 0 && sp->text == NULL && sp->err_code == 0 && n_ev == 0) {
        sh.len = (size_t)(d - d0);
        sh.longer = (uint8_t)((op.n >= 16) | (ns.n >= 16) << 1);
        hit->shape = sh; /* the model of its shape on this backend now */
    }
}

/* ---- a procedure's span ---- */

static size_t len_of(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

static void proc_span(struct textbuf *out, const struct trace_span *sp)
{
    const struct trace_proc *pr = sp->proc;
    struct pb_attr a[8];
    size_t n = 0;
    STR_ATTR(a, n, "halyard.procedure", pr->event, strlen(pr->event));
    STR_ATTR(a, n, "halyard.trigger", pr->trigger, strlen(pr->trigger));
    STR_ATTR(a, n, "halyard.backend", pr->backend, strlen(pr->backend));
    STR_ATTR(a, n, "halyard.from", pr->from, strlen(pr->from));
    STR_ATTR(a, n, "halyard.to", pr->to, strlen(pr->to));
    STR_ATTR(a, n, "halyard.reason", pr->reason, len_of(pr->reason));
    STR_ATTR(a, n, "halyard.result", pr->result, len_of(pr->result));
    a[n++] = (struct pb_attr){ATTR("halyard.ok"), .kind = PB_BOOL, .i = pr->ok};
    size_t cap = 0;
    for (size_t i = 0; i < pr->steps_len; i++)
        cap += pr->steps[i] == '\n';
    struct pb_event *ev = calloc(cap + 1, sizeof(*ev));
    size_t n_ev = 0;
    for (const char *p = pr->steps, *end = p + pr->steps_len; ev != NULL && p != NULL && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        int64_t ms;
        const char *text;
        size_t tlen;
        if (trace_step_line(p, len, &ms, &text, &tlen) && n_ev <= cap)
            ev[n_ev++] = (struct pb_event){
                .time_ns = sp->start_ns + ms * 1000000,
                .name = "halyard.step",
                .name_len = 12,
                .attr = {ATTR("halyard.step.text"), .kind = PB_STR, .s = text, .n = tlen}};
        p += len + 1;
    }
    char name[8 + sizeof(pr->event)];
    const char *ev_name = pr->event[0] ? pr->event : "procedure"; /* audit.h's own words */
    size_t nl = strlen(ev_name);
    memcpy(name, "halyard.", 8);
    memcpy(name + 8, ev_name, nl);
    struct pb_span ps = {
        .trace_id = sp->trace_id,
        .span_id = sp->span_id,
        .name = name,
        .name_len = 8 + nl,
        .kind = 1, /* SPAN_KIND_INTERNAL */
        .start_ns = sp->start_ns,
        .end_ns = sp->end_ns,
        .attrs = a,
        .n_attrs = n,
        .events = ev,
        .n_events = n_ev,
        .error = !pr->ok,
        .status = {.s = pr->result != NULL ? pr->result : "", .n = len_of(pr->result)}};
    append_span(out, &ps);
    free(ev);
}

/* ---- an operation's span, encoded when it is made ---- */

bool trace_op_span_pb(struct trace_span *sp, const struct oprun *r)
{
    struct pb_attr a[OPRUN_ATTRS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < r->n_attrs && i < OPRUN_ATTRS_MAX; i++) {
        const struct oprun_attr *o = &r->attrs[i];
        struct pb_attr *x = &a[n];
        *x = (struct pb_attr){.key = o->key, .klen = strlen(o->key), .i = o->i};
        if (o->type == OPRUN_STR) {
            if (o->s == NULL || o->s[0] == '\0')
                continue;
            x->kind = PB_STR;
            x->s = o->s;
            x->n = strlen(o->s);
        } else {
            x->kind = o->type == OPRUN_INT ? PB_INT : PB_BOOL;
        }
        n++;
    }
    size_t name_n = len_of(r->name), name_out = utf8_out_len(r->name, name_n);
    char *name = malloc(name_out + 1);
    if (name == NULL)
        return false;
    put_utf8((uint8_t *)name, r->name != NULL ? r->name : "", name_n, name_out);
    struct pb_span ps = {.trace_id = sp->trace_id,
                         .span_id = sp->span_id,
                         .name = name,
                         .name_len = name_out,
                         .kind = 1, /* SPAN_KIND_INTERNAL */
                         .start_ns = r->start_ns,
                         .end_ns = r->end_ns,
                         .attrs = a,
                         .n_attrs = n,
                         .error = !r->ok,
                         .status = {.s = r->error != NULL ? r->error : "", .n = len_of(r->error)}};
    struct textbuf t;
    textbuf_init(&t, TRACE_OP_SPAN_LIMIT);
    append_span(&t, &ps);
    free(name);
    if (t.overflow || t.data == NULL) {
        textbuf_free(&t);
        return false;
    }
    sp->raw_pb = t.data;
    sp->raw_pb_len = (uint32_t)t.len;
    return true;
}

/* ---- the request ---- */

size_t trace_encode_pb(struct textbuf *out, const char *service, struct trace_span *const *spans,
                       size_t n)
{
    size_t svc = strlen(service), ver = strlen(HALYARD_VERSION);
    /* the envelope, written once the spans' bytes are known, right before
     * them: room for it at the most */
    size_t room = 64 + 3 * svc + ver;
    size_t base = out->len;
    if (textbuf_extend(out, room) == NULL)
        return base;
    struct pb_memo memo = {0};
    for (size_t i = 0; i < n; i++) {
        if (spans[i]->raw_pb != NULL)
            textbuf_append(out, spans[i]->raw_pb, spans[i]->raw_pb_len);
        else if (spans[i]->raw != NULL)
            continue; /* an operation's span not encoded (out of memory) */
        else if (spans[i]->proc != NULL)
            proc_span(out, spans[i]);
        else
            statement_span(out, spans[i], &memo);
    }
    if (out->overflow)
        return base;
    size_t spans_len = out->len - base - room;
    struct pb_attr sn = {ATTR("service.name"), .kind = PB_STR, .s = service, .n = svc};
    size_t kv = kv_size(&sn);
    size_t resource = ld_size(kv);
    size_t scope = ld_size(7) + ld_size(ver);
    size_t scope_spans = ld_size(scope) + spans_len;
    size_t rs = ld_size(resource) + 1 + vlen(scope_spans) + scope_spans;
    uint8_t head[1024];
    uint8_t *d = head;
    if (room > sizeof(head))
        return base;          /* cannot be: service.name is 255 bytes at most */
    d = put_ld(d, LD(1), rs); /* resource_spans */
    d = put_ld(d, LD(1), resource);
    d = put_kv(d, LD(1), &sn, kv);
    d = put_ld(d, LD(2), scope_spans);
    d = put_ld(d, LD(1), scope);
    d = put_bytes(d, LD(1), "halyard", 7);
    d = put_bytes(d, LD(2), HALYARD_VERSION, ver);
    size_t hl = (size_t)(d - head);
    if (hl > room)
        return base; /* cannot be: room is the most it takes */
    size_t start = base + room - hl;
    memcpy(out->data + start, head, hl);
    return start;
}
