/*
 * trace.c: the span model (trace.h): the traceparent's parser, the ids,
 * the sampler and the OTLP/HTTP JSON encoding. Runs in the workers (all
 * but the encoding) and in the exporter's thread (the encoding); no state
 * is shared but each thread's own random generator.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "halyard/core/audit.h"
#include "halyard/core/oprun.h"
#include "halyard/core/text.h"
#include "halyard/trace/trace.h"
#include "trace_int.h"

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case too: the spec's values are lower case */
}

/* n bytes from 2n lower-case hex digits; false on any other character. */
static bool hex_bytes(const char *p, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(p[2 * i]), lo = hex_val(p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

bool trace_parent_parse(const char *p, size_t n, struct trace_ctx *out)
{
    uint8_t version;
    if (n != TRACE_PARENT_LEN || p[2] != '-' || p[35] != '-' || p[52] != '-')
        return false;
    if (!hex_bytes(p, &version, 1) || version != 0)
        return false;
    struct trace_ctx c;
    if (!hex_bytes(p + 3, c.trace_id, 16) || !hex_bytes(p + 36, c.span_id, 8) ||
        !hex_bytes(p + 53, &c.flags, 1))
        return false;
    if (all_zero(c.trace_id, 16) || all_zero(c.span_id, 8))
        return false;
    *out = c;
    return true;
}

/* Each byte's two lower-case hex digits, one copy a byte. */
static const char HEX2[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                           "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
                           "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
                           "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
                           "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                           "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
                           "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
                           "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static char *hex_put(char *dst, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++, dst += 2)
        memcpy(dst, HEX2 + 2 * p[i], 2);
    return dst;
}

void trace_parent_format(const struct trace_ctx *ctx, char *buf)
{
    char *d = buf;
    *d++ = '0';
    *d++ = '0';
    *d++ = '-';
    d = hex_put(d, ctx->trace_id, 16);
    *d++ = '-';
    d = hex_put(d, ctx->span_id, 8);
    *d++ = '-';
    d = hex_put(d, &ctx->flags, 1);
    *d = '\0';
}

/* The value after `traceparent=` in a comment's text [p, end): quoted
 * with ' (sqlcommenter's form) or bare; its dashes may be URL-encoded
 * (%2D). */
static int parent_value(const char *p, const char *end, struct trace_ctx *out)
{
    char val[TRACE_PARENT_LEN + 1];
    size_t n = 0;
    char quote = 0;
    if (p < end && (*p == '\'' || *p == '"'))
        quote = *p++;
    while (p < end && n <= TRACE_PARENT_LEN) {
        if (*p == quote || (quote == 0 && (*p == ',' || *p == ' ' || *p == '*')))
            break;
        if (*p == '%' && end - p >= 3 && p[1] == '2' && (p[2] == 'd' || p[2] == 'D')) {
            val[n++] = '-';
            p += 3;
            continue;
        }
        val[n++] = *p++;
    }
    return trace_parent_parse(val, n, out) ? 1 : -1;
}

static const char *find_in(const char *p, const char *end, const char *what, size_t wn)
{
    for (; end - p >= (ptrdiff_t)wn; p++)
        if (memcmp(p, what, wn) == 0)
            return p;
    return NULL;
}

/* The first comment of `sql` (string literals and quoted names skipped)
 * that holds `key`: the bytes after the key, *stop the comment's end;
 * NULL when none does. */
static const char *comment_key(const char *sql, size_t n, const char *key, size_t kn,
                               const char **stop)
{
    const char *p = sql, *end = sql + n;
    while (p < end) {
        char c = *p;
        if (c == '\'' || c == '"' || c == '`') { /* a literal or a name: skipped */
            for (p++; p < end && *p != c; p++)
                if (*p == '\\' && c != '`' && p + 1 < end)
                    p++;
            p++;
        } else if (c == '/' && end - p >= 2 && p[1] == '*') {
            const char *close = find_in(p + 2, end, "*/", 2);
            *stop = close != NULL ? close : end;
            const char *k = find_in(p + 2, *stop, key, kn);
            if (k != NULL)
                return k + kn;
            p = close != NULL ? close + 2 : end;
        } else {
            p++;
        }
    }
    return NULL;
}

int trace_parent_in_sql(const char *sql, size_t n, struct trace_ctx *out)
{
    static const char key[] = "traceparent=";
    const char *stop, *v = comment_key(sql, n, key, sizeof(key) - 1, &stop);
    return v != NULL ? parent_value(v, stop, out) : 0;
}

static int unhex(char c)
{
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : hex_val(c);
}

/* tracestate's key chars after the first: lcalpha, DIGIT, _ - * / */
static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
           c == '/';
}

/* One list member's key [p, end): simple-key, or tenant-id@system-id. */
static bool state_key(const char *p, const char *end)
{
    const char *at = memchr(p, '@', (size_t)(end - p));
    const char *k_end = at != NULL ? at : end;
    size_t kl = (size_t)(k_end - p);
    bool lead =
        kl > 0 && ((p[0] >= 'a' && p[0] <= 'z') || (at != NULL && p[0] >= '0' && p[0] <= '9'));
    if (!lead || kl > (at != NULL ? 241u : 256u))
        return false;
    for (const char *q = p + 1; q < k_end; q++)
        if (!key_char(*q))
            return false;
    if (at == NULL)
        return true;
    const char *sys = at + 1; /* system-id: lcalpha, then at most 13 */
    size_t sl = (size_t)(end - sys);
    if (sl == 0 || sl > 14 || sys[0] < 'a' || sys[0] > 'z')
        return false;
    for (const char *q = sys + 1; q < end; q++)
        if (!key_char(*q))
            return false;
    return true;
}

/* One list member [p, end), spaces and tabs around it already cut: its
 * key's length into *kl; false when it is not key=value. */
static bool state_member(const char *p, const char *end, size_t *kl)
{
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (eq == NULL || !state_key(p, eq))
        return false;
    *kl = (size_t)(eq - p);
    const char *v = eq + 1;
    size_t vl = (size_t)(end - v);
    if (vl == 0 || vl > 256 || v[vl - 1] == ' ')
        return false;
    for (size_t i = 0; i < vl; i++) /* chr: 0x20-0x7e but ',' and '=' */
        if (v[i] < 0x20 || v[i] > 0x7e || v[i] == ',' || v[i] == '=')
            return false;
    return true;
}

#define TRACE_STATE_MEMBERS 32 /* the spec's most */

bool trace_state_valid(const char *p, size_t n)
{
    if (n == 0 || n >= TRACE_STATE_MAX)
        return false;
    const char *end = p + n, *keys[TRACE_STATE_MEMBERS];
    size_t klens[TRACE_STATE_MEMBERS], members = 0;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *m_end = comma != NULL ? comma : end;
        const char *a = p, *b = m_end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a < b) { /* an empty member is allowed, and not counted */
            size_t kl;
            if (members == TRACE_STATE_MEMBERS || !state_member(a, b, &kl))
                return false;
            for (size_t i = 0; i < members; i++) /* keys are unique */
                if (klens[i] == kl && memcmp(keys[i], a, kl) == 0)
                    return false;
            keys[members] = a;
            klens[members++] = kl;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return members > 0;
}

int trace_state_in_sql(const char *sql, size_t n, char *out, size_t cap)
{
    static const char key[] = "tracestate=";
    const char *stop, *p = comment_key(sql, n, key, sizeof(key) - 1, &stop);
    if (p == NULL)
        return 0;
    if (cap == 0 || p >= stop || (*p != '\'' && *p != '"'))
        return -1;
    char quote = *p++;
    size_t len = 0;
    for (; p < stop && *p != quote; p++) {
        char c = *p;
        if (c == '%' && stop - p >= 3 && unhex(p[1]) >= 0 && unhex(p[2]) >= 0) {
            c = (char)(unhex(p[1]) << 4 | unhex(p[2])); /* sqlcommenter URL-encodes it */
            p += 2;
        }
        if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e || len + 1 >= cap)
            return -1; /* the header is printable ASCII, 512 bytes at most */
        out[len++] = c;
    }
    if (p >= stop || !trace_state_valid(out, len))
        return -1; /* not closed, or not a tracestate */
    out[len] = '\0';
    return (int)len;
}

/* find_in() in any case: a user variable's name (@TraceParent is
 * @traceparent, as the server has it). */
static const char *find_nocase(const char *p, const char *end, const char *what, size_t wn)
{
    for (; end - p >= (ptrdiff_t)wn; p++)
        if (strncasecmp(p, what, wn) == 0)
            return p;
    return NULL;
}

/* The value a SET gives the user variable `var` ("@traceparent", in any
 * case): its first byte (a quote, when it is a string), or NULL when the
 * statement assigns no such variable. */
static const char *set_value(const char *sql, size_t n, const char *var, size_t vn)
{
    const char *end = sql + n, *p = find_nocase(sql, end, var, vn);
    if (p == NULL)
        return NULL;
    p += vn;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
        p++;
    if (p < end && *p == ':')
        p++;
    if (p >= end || *p != '=')
        return NULL;
    for (p++; p < end && (*p == ' ' || *p == '\t' || *p == '\n'); p++)
        ;
    return p;
}

int trace_parent_in_set(const char *sql, size_t n, struct trace_ctx *out)
{
    static const char var[] = "@traceparent";
    const char *end = sql + n, *p = set_value(sql, n, var, sizeof(var) - 1);
    if (p == NULL)
        return 0;
    if (p >= end || (*p != '\'' && *p != '"'))
        return -1;
    return parent_value(p, end, out);
}

int trace_state_in_set(const char *sql, size_t n, char *out, size_t cap)
{
    static const char var[] = "@tracestate";
    const char *end = sql + n, *p = set_value(sql, n, var, sizeof(var) - 1);
    if (p == NULL)
        return 0;
    if (p >= end || (*p != '\'' && *p != '"') || cap == 0)
        return -1;
    char quote = *p++;
    const char *close = memchr(p, quote, (size_t)(end - p));
    size_t len = close != NULL ? (size_t)(close - p) : 0;
    if (close == NULL || len >= cap || (len > 0 && !trace_state_valid(p, len)))
        return -1;
    memcpy(out, p, len); /* '' clears it */
    out[len] = '\0';
    return 1;
}

/* A length-encoded integer of the connection attributes (only the forms a
 * key or value of them takes: one byte, or 0xfc and two). */
static bool attr_len(const uint8_t **p, const uint8_t *end, size_t *len)
{
    if (*p >= end)
        return false;
    if (**p < 0xfb) {
        *len = *(*p)++;
        return true;
    }
    if (**p != 0xfc || end - *p < 3)
        return false;
    *len = (size_t)(*p)[1] | (size_t)(*p)[2] << 8;
    *p += 3;
    return true;
}

/* The value of connection attribute `key` (its length into *vl), or NULL. */
static const uint8_t *attr_find(const uint8_t *p, size_t n, const char *key, size_t kn, size_t *vl)
{
    const uint8_t *end = p + n;
    size_t kl;
    while (attr_len(&p, end, &kl) && (size_t)(end - p) >= kl) {
        const uint8_t *k = p;
        p += kl;
        if (!attr_len(&p, end, vl) || (size_t)(end - p) < *vl)
            return NULL;
        if (kl == kn && memcmp(k, key, kn) == 0)
            return p;
        p += *vl;
    }
    return NULL;
}

int trace_parent_in_attrs(const uint8_t *p, size_t n, struct trace_ctx *out)
{
    size_t vl;
    const uint8_t *v = attr_find(p, n, "traceparent", 11, &vl);
    if (v == NULL)
        return 0;
    return trace_parent_parse((const char *)v, vl, out) ? 1 : -1;
}

int trace_state_in_attrs(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t vl;
    const uint8_t *v = attr_find(p, n, "tracestate", 10, &vl);
    if (v == NULL)
        return 0;
    if (vl >= cap || !trace_state_valid((const char *)v, vl))
        return -1;
    memcpy(out, v, vl);
    out[vl] = '\0';
    return 1;
}

static uint64_t bad[TRACE_BAD_N];

void trace_bad_note(enum trace_bad what)
{
    __atomic_fetch_add(&bad[what], 1, __ATOMIC_RELAXED);
}

uint64_t trace_bad_count(enum trace_bad what)
{
    return __atomic_load_n(&bad[what], __ATOMIC_RELAXED);
}

const char *trace_wait_name(enum trace_wait w)
{
    static const char *const names[TRACE_WAIT_N] = {"limit", "pool", "connect", "consistency",
                                                    "writer"};
    return (unsigned)w < TRACE_WAIT_N ? names[w] : "?";
}

struct trace_span *trace_span_create(void)
{
    return calloc(1, sizeof(struct trace_span));
}

static void proc_free(struct trace_proc *pr)
{
    if (pr == NULL)
        return;
    free(pr->reason);
    free(pr->result);
    free(pr->steps);
    free(pr);
}

static void proc_set(char *field, size_t cap, const char *v)
{
    trace_span_set(field, cap, v, v != NULL ? strlen(v) : 0);
}

static char *proc_dup(const char *v, size_t n)
{
    return v != NULL ? hy_dupz(v, n) : NULL;
}

struct trace_span *trace_proc_span(const struct audit_procedure *p, int64_t start_ns,
                                   int64_t end_ns)
{
    struct trace_span *sp = trace_span_create();
    struct trace_proc *pr = sp != NULL ? calloc(1, sizeof(*pr)) : NULL;
    if (pr == NULL) {
        free(sp);
        return NULL;
    }
    sp->proc = pr;
    proc_set(pr->event, sizeof(pr->event), p->event);
    proc_set(pr->trigger, sizeof(pr->trigger), p->trigger);
    proc_set(pr->backend, sizeof(pr->backend), p->backend);
    proc_set(pr->from, sizeof(pr->from), p->from);
    proc_set(pr->to, sizeof(pr->to), p->to);
    pr->reason = proc_dup(p->reason, p->reason != NULL ? strlen(p->reason) : 0);
    pr->result = proc_dup(p->result, p->result != NULL ? strlen(p->result) : 0);
    pr->steps = proc_dup(p->steps, p->steps_len);
    pr->steps_len = pr->steps != NULL ? p->steps_len : 0;
    pr->ok = p->ok;
    sp->start_ns = start_ns;
    sp->end_ns = end_ns;
    trace_span_ids(sp);
    return sp;
}

static void span_free(struct trace_span *sp)
{
    proc_free(sp->proc);
    free(sp->raw);
    free(sp->raw_pb);
    free(sp->summary);
    free(sp->text);
    free(sp);
}

/* ---- a worker's spans, given back to it ----
 * A thread's home: the spans it made. The owner takes from `own`, and
 * when that is empty, takes the whole `back` list at once (an atomic
 * exchange); the exporter's thread pushes a span it is done with onto
 * `back` (an atomic compare-and-swap): no ABA, since only the owner takes
 * and it takes all. `refs`: the spans it made, and one while the owner
 * lives; whoever brings it to 0 frees the home. Once the owner has left
 * (`gone`), a span given back is freed: the giver, having pushed it,
 * looks at `gone` and frees what `back` holds itself (the owner's last
 * drain, or the giver's, sees each span: both take with an exchange). */
struct trace_home {
    struct trace_span *back; /* given back, any thread (__atomic) */
    struct trace_span *own;  /* the owner's thread only */
    uint32_t refs;           /* __atomic */
    bool gone;               /* __atomic */
};

static _Thread_local struct trace_home *my_home;

static void home_unref(struct trace_home *h, uint32_t n)
{
    if (__atomic_sub_fetch(&h->refs, n, __ATOMIC_ACQ_REL) == 0)
        free(h);
}

/* Free each span of a list taken from a home, then its references. */
static void home_free_list(struct trace_home *h, struct trace_span *sp)
{
    uint32_t n = 0;
    while (sp != NULL) {
        struct trace_span *next = sp->next;
        sp->home = NULL;
        span_free(sp);
        sp = next;
        n++;
    }
    if (n > 0)
        home_unref(h, n);
}

/* The fields a used span starts afresh with: all but its home's and its
 * summary's buffer (emptied). */
static void span_clear(struct trace_span *sp)
{
    struct trace_home *h = sp->home;
    char *summary = sp->summary;
    uint32_t cap = sp->summary_cap;
    if (__builtin_expect(sp->proc != NULL || sp->raw != NULL || sp->raw_pb != NULL, 0)) {
        proc_free(sp->proc); /* a statement's span has none of them */
        free(sp->raw);
        free(sp->raw_pb);
    }
    if (sp->text != NULL)
        free(sp->text);
#define CLEAR_RANGE(from, to)                                                                      \
    memset(&sp->from, 0, offsetof(struct trace_span, to) - offsetof(struct trace_span, from))
    /* as a new span's, but for the tails of its strings' arrays (the
     * writers read up to a string's end, or its array's first 16 bytes,
     * all written once): each range between them cleared whole, each
     * array's first byte (some 400 bytes written of 1,400; memset of the
     * whole was a store each 8 bytes) */
    _Static_assert(offsetof(struct trace_span, trace_id) == 0, "the span begins with its ids");
    CLEAR_RANGE(trace_id, tracestate);
    sp->tracestate[0] = '\0';
    CLEAR_RANGE(start_ns, op);
    sp->op[0] = sp->ns[0] = sp->server[0] = '\0';
    CLEAR_RANGE(port, backend);
    sp->backend[0] = sp->role[0] = sp->route[0] = sp->consistency[0] = '\0';
    CLEAR_RANGE(summary, err_msg);
    sp->err_msg[0] = '\0';
    CLEAR_RANGE(rows, events); /* the events past n_events are not read */
    CLEAR_RANGE(proc, home);
    sp->next = NULL;
#undef CLEAR_RANGE
    sp->home = h;
    if (cap > 0) {
        sp->summary = summary;
        sp->summary_cap = cap;
        summary[0] = '\0';
    } else {
        free(summary);
    }
}

struct trace_span *trace_span_take(void)
{
    struct trace_home *h = my_home;
    if (h == NULL) {
        if ((h = calloc(1, sizeof(*h))) == NULL)
            return NULL;
        h->refs = 1;
        my_home = h;
    }
    struct trace_span *sp = h->own;
    if (sp == NULL)
        sp = __atomic_exchange_n(&h->back, NULL, __ATOMIC_SEQ_CST);
    if (sp != NULL) {
        h->own = sp->next;
        span_clear(sp);
        return sp;
    }
    if ((sp = trace_span_create()) == NULL)
        return NULL;
    __atomic_add_fetch(&h->refs, 1, __ATOMIC_RELAXED);
    sp->home = h;
    return sp;
}

void trace_span_thread_exit(void)
{
    struct trace_home *h = my_home;
    if (h == NULL)
        return;
    my_home = NULL;
    __atomic_store_n(&h->gone, true, __ATOMIC_SEQ_CST);
    struct trace_span *own = h->own;
    h->own = NULL;
    home_free_list(h, own);
    home_free_list(h, __atomic_exchange_n(&h->back, NULL, __ATOMIC_SEQ_CST));
    home_unref(h, 1); /* the owner's */
}

void trace_span_destroy(struct trace_span *sp)
{
    if (sp == NULL)
        return;
    struct trace_home *h = sp->home;
    if (h == NULL) {
        span_free(sp);
    } else if (h == my_home) { /* the owner's own: no one else reads `own` */
        sp->next = h->own;
        h->own = sp;
    } else {
        /* references to the home: this span's, and the one held while
         * pushing (the owner may leave and drain meanwhile) */
        __atomic_add_fetch(&h->refs, 1, __ATOMIC_ACQ_REL);
        struct trace_span *top = __atomic_load_n(&h->back, __ATOMIC_RELAXED);
        do
            sp->next = top;
        while (!__atomic_compare_exchange_n(&h->back, &top, sp, true, __ATOMIC_SEQ_CST,
                                            __ATOMIC_RELAXED));
        if (__atomic_load_n(&h->gone, __ATOMIC_SEQ_CST))
            home_free_list(h, __atomic_exchange_n(&h->back, NULL, __ATOMIC_SEQ_CST));
        home_unref(h, 1);
    }
}

bool trace_span_summary(struct trace_span *sp, const char *s, size_t n)
{
    if (sp->summary_cap < n + 1) {
        size_t cap = n + 1 > 128 ? n + 1 : 128; /* most digests fit the first */
        char *p = sp->summary_cap > 0 ? realloc(sp->summary, cap) : malloc(cap);
        if (p == NULL)
            return false;
        if (sp->summary_cap == 0)
            free(sp->summary);
        sp->summary = p;
        sp->summary_cap = (uint32_t)cap;
    }
    memcpy(sp->summary, s, n);
    sp->summary[n] = '\0';
    sp->summary_len = (uint32_t)n;
    return true;
}

void trace_span_set(char *field, size_t cap, const char *src, size_t n)
{
    if (src == NULL)
        n = 0;
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((uint8_t)src[n] & 0xc0) == 0x80) /* not inside a character */
            n--;
    }
    if (n < 16 && cap >= 16)
        memset(field, 0, 16); /* the bytes past its NUL as a new span's (trace_pb.c compares
                                 a short string's array as its first 16 bytes) */
    if (n > 0)
        memcpy(field, src, n);
    field[n] = '\0';
}

void trace_span_wait(struct trace_span *sp, enum trace_wait w, int64_t start_ns, int64_t end_ns)
{
    if (sp->n_events >= TRACE_EVENTS_MAX)
        return;
    sp->events[sp->n_events++] = (struct trace_event){(uint8_t)w, start_ns, end_ns};
}

/* Each thread's own xorshift128+, seeded once from the kernel. */
static _Thread_local uint64_t rng[2];

static __attribute__((noinline)) void rng_seed(void)
{
    if (getrandom(rng, sizeof(rng), 0) != (ssize_t)sizeof(rng) || (rng[0] | rng[1]) == 0)
        rng[0] = (uint64_t)(uintptr_t)&rng ^ 0x9e3779b97f4a7c15ull;
}

/* Inline (a statement the ratio drops costs this draw): the seeding, once
 * a thread, out of line. */
static inline uint64_t rng_next(void)
{
    if (__builtin_expect(rng[0] == 0 && rng[1] == 0, 0))
        rng_seed();
    uint64_t a = rng[0], b = rng[1];
    rng[0] = b;
    a ^= a << 23;
    rng[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
    return rng[1] + b;
}

/* Eight random bytes, not all zero (an id of zeros is invalid). */
static inline uint64_t rng_nonzero(void)
{
    uint64_t v;
    while ((v = rng_next()) == 0)
        ;
    return v;
}

void trace_ratio_id(uint8_t trace_id[16])
{
    hy_store_be64(trace_id + 8, rng_next());
}

/* A root's trace id is two draws, its span id one. The first half is
 * never all zero, so neither is the id, whatever its second half (the
 * head's draw, trace_ratio_id, which span_begin puts there). */
void trace_span_ids(struct trace_span *sp)
{
    if (!sp->has_parent) {
        uint64_t lo = rng_next();
        memcpy(sp->trace_id + 8, &lo, 8);
    }
    trace_span_ids_head(sp);
}

void trace_span_ids_head(struct trace_span *sp)
{
    if (!sp->has_parent) {
        uint64_t hi = rng_nonzero();
        memcpy(sp->trace_id, &hi, 8);
    }
    uint64_t id = rng_nonzero();
    memcpy(sp->span_id, &id, 8);
}

bool trace_ratio_keeps(double ratio, const uint8_t trace_id[16])
{
    if (ratio >= 1.0)
        return true;
    if (!(ratio > 0.0))
        return false;
    /* ratio < 1: below 2^64 */
    return hy_load_be64(trace_id + 8) < (uint64_t)(ratio * 18446744073709551616.0);
}

enum trace_why trace_keep(const struct trace_sampler *sm, const struct trace_span *sp,
                          uint8_t parent_flags)
{
    if (sp->err_code != 0)
        return TRACE_KEEP_ERROR;
    if (sm->slow_ns > 0 && sp->end_ns - sp->start_ns >= sm->slow_ns)
        return TRACE_KEEP_SLOW;
    if (sp->has_parent)
        return (parent_flags & 1) ? TRACE_KEEP_PARENT : TRACE_DROP;
    return trace_ratio_keeps(sm->ratio, sp->trace_id) ? TRACE_KEEP_RATIO : TRACE_DROP;
}

/* ---- OTLP/HTTP JSON ---- */

static void put_hex(struct textbuf *out, const uint8_t *p, size_t n)
{
    char *d = textbuf_extend(out, 2 * n + 2);
    if (d == NULL)
        return;
    *d++ = '"';
    d = hex_put(d, p, n);
    *d = '"';
}

/* ,{"key":"K","value":{"stringValue":V}} for a non-empty V; K is one of
 * the encoder's own names, plain ASCII: written as it is. */
static void attr_str(struct textbuf *out, bool *first, const char *key, const char *v)
{
    if (v == NULL || v[0] == '\0')
        return;
    textbuf_puts(out, *first ? "{\"key\":\"" : ",{\"key\":\"");
    *first = false;
    textbuf_puts(out, key);
    textbuf_puts(out, "\",\"value\":{\"stringValue\":");
    textbuf_json_strn(out, v, strlen(v));
    textbuf_puts(out, "}}");
}

/* The decimal digits of v, appended (the encoder's integers: no printf). */
static void put_i64(struct textbuf *out, int64_t v)
{
    char buf[24], *e = buf + sizeof(buf), *d = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--d = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--d = '-';
    textbuf_append(out, d, (size_t)(e - d));
}

/* ,{"key":"K","value":{"intValue":"V"}}; K is one of the encoder's own
 * names, plain ASCII: written as it is. */
static void attr_int(struct textbuf *out, bool *first, const char *key, int64_t v)
{
    textbuf_puts(out, *first ? "{\"key\":\"" : ",{\"key\":\"");
    *first = false;
    textbuf_puts(out, key);
    textbuf_puts(out, "\",\"value\":{\"intValue\":\"");
    put_i64(out, v);
    textbuf_puts(out, "\"}}");
}

static void attr_bool(struct textbuf *out, bool *first, const char *key, bool v)
{
    textbuf_puts(out, *first ? "{\"key\":\"" : ",{\"key\":\"");
    *first = false;
    textbuf_puts(out, key);
    textbuf_puts(out,
                 v ? "\",\"value\":{\"boolValue\":true}}" : "\",\"value\":{\"boolValue\":false}}");
}

/* ---- a statement's span, written at a cursor ----
 * The exporter's thread writes some 900 bytes a span: into room reserved
 * once for the whole span (span_room), with a pointer, each constant piece
 * one memcpy of a size the compiler knows, no call a piece. */

#define PUT(d, lit) ((d) = (char *)memcpy((d), (lit), sizeof(lit) - 1) + sizeof(lit) - 1)

/* The n bytes at s inside a JSON string: as they are, inline, up to one
 * that needs escaping, the rest by hy_json_escape (6n bytes at most). */
static char *put_esc(char *d, const char *s, size_t n)
{
    size_t i = hy_json_plain(d, s, n);
    d += i;
    if (i < n)
        d += hy_json_escape(d, s + i, n - i);
    return d;
}

static char *put_str(char *d, const char *s, size_t n) /* quotes around */
{
    *d++ = '"';
    d = put_esc(d, s, n);
    *d++ = '"';
    return d;
}

/* put_esc of a string held in an array of 8 bytes or more (a span's
 * fields, all initialised): one shorter than 8 is tested as the array's
 * first 8 bytes, those past it taken as plain, and copied whole when
 * plain, one load and one store (the bytes past it are written over by
 * what comes next). */
static inline char *put_esc_arr(char *d, const char *s, size_t n)
{
    if (n > 0 && n < 8) {
        uint64_t keep = ~0ull >> (64 - 8 * n);
        uint64_t v = (hy_load_le64(s) & keep) | (0x6161616161616161ull & ~keep);
        if (hy_json_plain8(v)) {
            memcpy(d, s, 8);
            return d + n;
        }
    }
    return put_esc(d, s, n);
}

static char *put_str_arr(char *d, const char *s, size_t n) /* put_str of an array's string */
{
    *d++ = '"';
    d = put_esc_arr(d, s, n);
    *d++ = '"';
    return d;
}

/* The decimal digits of v, two a step, written from the last one back
 * once their count is known (from v's bits and one compare). */
static char *put_u64(char *d, uint64_t v)
{
    static const char two[] = "00010203040506070809101112131415161718192021222324"
                              "25262728293031323334353637383940414243444546474849"
                              "50515253545556575859606162636465666768697071727374"
                              "75767778798081828384858687888990919293949596979899";
    static const uint64_t pow10[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};
    /* floor(log10(2^bits)) digits at least, one more when v reaches the next power */
    unsigned t = ((unsigned)(64 - __builtin_clzll(v | 1)) * 1233u) >> 12;
    unsigned n = t + (v >= pow10[t]);
    char *e = d + (n > 0 ? n : 1);
    char *end = e;
    while (v >= 100) {
        uint64_t q = v / 100;
        unsigned r = (unsigned)(v - q * 100);
        v = q;
        e -= 2;
        memcpy(e, two + 2 * r, 2);
    }
    if (v >= 10) {
        e -= 2;
        memcpy(e, two + 2 * v, 2);
    } else {
        *--e = (char)('0' + v);
    }
    return end;
}

static char *put_i64s(char *d, int64_t v) /* as a JSON string, the mapping of int64 */
{
    *d++ = '"';
    if (v < 0) {
        *d++ = '-';
        d = put_u64(d, 0 - (uint64_t)v);
    } else {
        d = put_u64(d, (uint64_t)v);
    }
    *d++ = '"';
    return d;
}

/* ,{"key":"K","value":{"stringValue":V}} for a non-empty V (n bytes),
 * V written by `put` (put_str, or put_str_arr for an array's). */
#define PUT_ATTR_WITH(d, key, v, n, put)                                                           \
    do {                                                                                           \
        if ((n) > 0) {                                                                             \
            PUT(d, ",{\"key\":\"" key "\",\"value\":{\"stringValue\":");                           \
            d = put(d, v, n);                                                                      \
            PUT(d, "}}");                                                                          \
        }                                                                                          \
    } while (0)
#define PUT_ATTR_STR(d, key, v, n) PUT_ATTR_WITH(d, key, v, n, put_str)
/* V held in an array (of 8 bytes or more: put_esc_arr) */
#define PUT_ATTR_ARR(d, key, v, n)                                                                 \
    do {                                                                                           \
        _Static_assert(sizeof(v) >= 8, "an array of 8 bytes or more");                             \
        PUT_ATTR_WITH(d, key, v, n, put_str_arr);                                                  \
    } while (0)

/* The lengths of a span's strings, and the room its JSON takes at most. */
struct span_lens {
    size_t state, op, ns, server, backend, role, route, cons, summary, text, err;
};

static size_t span_room(const struct trace_span *sp, struct span_lens *l)
{
    l->state = strlen(sp->tracestate);
    l->op = strlen(sp->op);
    l->ns = strlen(sp->ns);
    l->server = strlen(sp->server);
    l->backend = strlen(sp->backend);
    l->role = strlen(sp->role);
    l->route = strlen(sp->route);
    l->cons = strlen(sp->consistency);
    l->summary = sp->summary != NULL ? sp->summary_len : 0;
    l->text = sp->text != NULL ? strlen(sp->text) : 0;
    l->err = strlen(sp->err_msg);
    size_t strs = l->state + l->op + l->ns + l->server + l->backend + l->role + l->route + l->cons +
                  l->summary + l->text + l->err;
    /* each string escaped (6 a byte at most, the name's two parts twice),
     * the constant pieces, the ids and numbers, each event's */
    return 6 * (strs + l->op + l->ns + 8) + 2048 + (size_t)sp->n_events * 256;
}

static char *put_attrs(char *d, const struct trace_span *sp, const struct span_lens *l)
{
    PUT(d, "\"attributes\":[{\"key\":\"db.system.name\",\"value\":{\"stringValue\":\"mariadb\"}}");
    PUT_ATTR_ARR(d, "db.namespace", sp->ns, l->ns);
    PUT_ATTR_ARR(d, "db.operation.name", sp->op, l->op);
    PUT_ATTR_STR(d, "db.query.summary", sp->summary, l->summary);
    PUT_ATTR_STR(d, "db.query.text", sp->text, l->text);
    if (sp->err_code != 0) {
        char code[12] = {0};
        size_t n = (size_t)(put_u64(code, sp->err_code) - code);
        PUT_ATTR_ARR(d, "db.response.status_code", code, n);
        PUT_ATTR_ARR(d, "error.type", code, n);
    }
    PUT_ATTR_ARR(d, "server.address", sp->server, l->server);
    if (sp->port != 0) {
        PUT(d, ",{\"key\":\"server.port\",\"value\":{\"intValue\":");
        d = put_i64s(d, sp->port);
        PUT(d, "}}");
    }
    PUT_ATTR_ARR(d, "halyard.route", sp->route, l->route);
    PUT_ATTR_ARR(d, "halyard.backend", sp->backend, l->backend);
    PUT_ATTR_ARR(d, "halyard.backend.role", sp->role, l->role);
    PUT_ATTR_ARR(d, "halyard.consistency", sp->consistency, l->cons);
    PUT(d, ",{\"key\":\"db.response.returned_rows\",\"value\":{\"intValue\":");
    d = put_i64s(d, (int64_t)sp->rows);
    PUT(d, "}}");
    if (sp->replayed)
        PUT(d, ",{\"key\":\"halyard.replayed\",\"value\":{\"boolValue\":true}}");
    if (sp->retried)
        PUT(d, ",{\"key\":\"halyard.retried\",\"value\":{\"boolValue\":true}}");
    *d++ = ']';
    return d;
}

static char *put_events(char *d, const struct trace_span *sp)
{
    PUT(d, ",\"events\":[");
    for (unsigned i = 0; i < sp->n_events; i++) {
        const struct trace_event *ev = &sp->events[i];
        if (i > 0)
            *d++ = ',';
        PUT(d, "{\"timeUnixNano\":");
        d = put_i64s(d, ev->start_ns);
        PUT(d, ",\"name\":\"halyard.wait.");
        const char *w = trace_wait_name(ev->what); /* its own words: no escaping */
        size_t wl = strlen(w);
        memcpy(d, w, wl);
        d += wl;
        PUT(d, "\",\"attributes\":[{\"key\":\"halyard.wait.duration_ns\",\"value\":"
               "{\"intValue\":");
        d = put_i64s(d, ev->end_ns - ev->start_ns);
        PUT(d, "}}]}");
    }
    *d++ = ']';
    return d;
}

static void encode_span(struct textbuf *out, const struct trace_span *sp)
{
    struct span_lens l;
    size_t room = span_room(sp, &l), at = out->len;
    char *d0 = textbuf_extend(out, room), *d = d0;
    if (d == NULL)
        return; /* overflow set: the batch is not sent */
    PUT(d, "{\"traceId\":\"");
    d = hex_put(d, sp->trace_id, 16);
    PUT(d, "\",\"spanId\":\"");
    d = hex_put(d, sp->span_id, 8);
    *d++ = '"';
    if (sp->has_parent) {
        PUT(d, ",\"parentSpanId\":\"");
        d = hex_put(d, sp->parent_id, 8);
        *d++ = '"';
    }
    if (l.state > 0) {
        PUT(d, ",\"traceState\":");
        d = put_str_arr(d, sp->tracestate, l.state);
    }
    /* the name: the operation (mariadb when none) and the schema */
    PUT(d, ",\"name\":\"");
    if (l.op > 0)
        d = put_esc_arr(d, sp->op, l.op);
    else
        PUT(d, "mariadb");
    if (l.ns > 0) {
        *d++ = ' ';
        d = put_esc_arr(d, sp->ns, l.ns);
    }
    *d++ = '"';
    /* SPAN_KIND_CLIENT: the database's semantic conventions' kind */
    PUT(d, ",\"kind\":3,\"startTimeUnixNano\":");
    d = put_i64s(d, sp->start_ns);
    PUT(d, ",\"endTimeUnixNano\":");
    d = put_i64s(d, sp->end_ns);
    *d++ = ',';
    d = put_attrs(d, sp, &l);
    d = put_events(d, sp);
    if (sp->err_code != 0) { /* STATUS_CODE_ERROR */
        PUT(d, ",\"status\":{\"code\":2,\"message\":");
        d = put_str_arr(d, sp->err_msg, l.err);
        *d++ = '}';
    }
    *d++ = '}';
    textbuf_truncate(out, at + (size_t)(d - d0)); /* what was written of the room */
}

bool trace_step_line(const char *p, size_t n, int64_t *ms, const char **text, size_t *tlen)
{
    if (n < 4 || p[0] != '[' || p[1] != '+')
        return false;
    size_t i = 2;
    int64_t v = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        v = v * 10 + (p[i] - '0');
    if (n - i < 5 || memcmp(p + i, " ms] ", 5) != 0)
        return false;
    *ms = v;
    *text = p + i + 5;
    *tlen = n - i - 5;
    return true;
}

static void encode_steps(struct textbuf *out, const struct trace_span *sp)
{
    const struct trace_proc *pr = sp->proc;
    textbuf_puts(out, ",\"events\":[");
    bool first = true;
    for (const char *p = pr->steps, *end = p + pr->steps_len; p != NULL && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        int64_t ms;
        const char *text;
        size_t tlen;
        if (trace_step_line(p, n, &ms, &text, &tlen)) {
            textbuf_puts(out, first ? "{\"timeUnixNano\":\"" : ",{\"timeUnixNano\":\"");
            first = false;
            put_i64(out, sp->start_ns + ms * 1000000);
            textbuf_puts(out, "\",\"name\":\"halyard.step\",\"attributes\":[{\"key\":"
                              "\"halyard.step.text\",\"value\":{\"stringValue\":");
            textbuf_json_strn(out, text, tlen);
            textbuf_puts(out, "}}]}");
        }
        p += n + 1;
    }
    textbuf_putc(out, ']');
}

/* A procedure's span (trace_proc_span). */
static void encode_proc(struct textbuf *out, const struct trace_span *sp)
{
    const struct trace_proc *pr = sp->proc;
    textbuf_puts(out, "{\"traceId\":");
    put_hex(out, sp->trace_id, 16);
    textbuf_puts(out, ",\"spanId\":");
    put_hex(out, sp->span_id, 8);
    textbuf_puts(out, ",\"name\":\"halyard.");
    textbuf_puts(out, pr->event[0] ? pr->event : "procedure"); /* audit.h's own words */
    /* SPAN_KIND_INTERNAL */
    textbuf_puts(out, "\",\"kind\":1,\"startTimeUnixNano\":\"");
    put_i64(out, sp->start_ns);
    textbuf_puts(out, "\",\"endTimeUnixNano\":\"");
    put_i64(out, sp->end_ns);
    textbuf_puts(out, "\",\"attributes\":[");
    bool first = true;
    attr_str(out, &first, "halyard.procedure", pr->event);
    attr_str(out, &first, "halyard.trigger", pr->trigger);
    attr_str(out, &first, "halyard.backend", pr->backend);
    attr_str(out, &first, "halyard.from", pr->from);
    attr_str(out, &first, "halyard.to", pr->to);
    attr_str(out, &first, "halyard.reason", pr->reason);
    attr_str(out, &first, "halyard.result", pr->result);
    attr_bool(out, &first, "halyard.ok", pr->ok);
    textbuf_putc(out, ']');
    encode_steps(out, sp);
    if (!pr->ok) {
        textbuf_puts(out, ",\"status\":{\"code\":2,\"message\":");
        textbuf_json_strn(out, pr->result != NULL ? pr->result : "",
                          pr->result != NULL ? strlen(pr->result) : 0);
        textbuf_putc(out, '}');
    }
    textbuf_putc(out, '}');
}

struct trace_span *trace_op_span(const struct oprun *r)
{
    struct trace_span *sp = trace_span_create();
    if (sp == NULL)
        return NULL;
    sp->start_ns = r->start_ns;
    sp->end_ns = r->end_ns;
    trace_span_ids(sp);
    struct textbuf out;
    textbuf_init(&out, TRACE_OP_SPAN_LIMIT);
    textbuf_puts(&out, "{\"traceId\":");
    put_hex(&out, sp->trace_id, 16);
    textbuf_puts(&out, ",\"spanId\":");
    put_hex(&out, sp->span_id, 8);
    textbuf_puts(&out, ",\"name\":");
    textbuf_json_str(&out, r->name);
    /* SPAN_KIND_INTERNAL */
    textbuf_puts(&out, ",\"kind\":1,\"startTimeUnixNano\":\"");
    put_i64(&out, r->start_ns);
    textbuf_puts(&out, "\",\"endTimeUnixNano\":\"");
    put_i64(&out, r->end_ns);
    textbuf_puts(&out, "\",\"attributes\":[");
    bool first = true;
    for (size_t i = 0; i < r->n_attrs && i < OPRUN_ATTRS_MAX; i++) {
        const struct oprun_attr *a = &r->attrs[i];
        if (a->type == OPRUN_STR)
            attr_str(&out, &first, a->key, a->s);
        else if (a->type == OPRUN_INT)
            attr_int(&out, &first, a->key, a->i);
        else
            attr_bool(&out, &first, a->key, a->i != 0);
    }
    textbuf_putc(&out, ']');
    if (!r->ok) {
        textbuf_puts(&out, ",\"status\":{\"code\":2,\"message\":");
        textbuf_json_str(&out, r->error != NULL ? r->error : "");
        textbuf_putc(&out, '}');
    }
    textbuf_putc(&out, '}');
    if (out.overflow || out.data == NULL) {
        textbuf_free(&out);
        free(sp);
        return NULL;
    }
    sp->raw = out.data;            /* the buffer's, NUL-terminated */
    (void)trace_op_span_pb(sp, r); /* out of memory: sent as JSON only */
    return sp;
}

void trace_encode(struct textbuf *out, const char *service, struct trace_span *const *spans,
                  size_t n)
{
    textbuf_puts(out, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
                      "\"service.name\",\"value\":{\"stringValue\":");
    textbuf_json_str(out, service);
    textbuf_printf(out,
                   "}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"halyard\",\"version\":\"%s\"},"
                   "\"spans\":[",
                   HALYARD_VERSION);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            textbuf_putc(out, ',');
        if (spans[i]->raw != NULL)
            textbuf_puts(out, spans[i]->raw);
        else if (spans[i]->proc != NULL)
            encode_proc(out, spans[i]);
        else
            encode_span(out, spans[i]);
    }
    textbuf_puts(out, "]}]}]}");
}
