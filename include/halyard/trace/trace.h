/*
 * trace.h: a span per client statement, in OpenTelemetry's model (issue
 * 56). The session fills a struct trace_span as its statement runs (the
 * times, the waits, the attributes), asks trace_keep() at the statement's
 * end whether it is kept, and hands a kept span to the exporter
 * (trace_export.h), which owns it from then on. Nothing here allocates
 * but trace_span_create and the JSON encoder's buffer.
 *
 * The application's trace joins through the W3C traceparent header
 * (https://www.w3.org/TR/trace-context/): "00-<32 hex>-<16 hex>-<2 hex>",
 * lower case, the ids not all zero. A value that is not exactly that is
 * ignored (trace_parent_parse returns false; the caller counts it), never
 * an error to the client.
 */
#ifndef HALYARD_TRACE_H
#define HALYARD_TRACE_H

#include "halyard/core/core.h"
#include "halyard/core/textbuf.h"

#define TRACE_PARENT_LEN 55u /* "00-" 32 "-" 16 "-" 2 */

/* A remote parent: the application's span. */
struct trace_ctx {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags; /* bit 0: sampled */
};

/* The `n` bytes at `p` as a traceparent, into *out: false when they are
 * not a valid version-00 value (the length, a dash, upper-case or other
 * non-hex digits, an all-zero id, version ff). */
bool trace_parent_parse(const char *p, size_t n, struct trace_ctx *out);
/* The traceparent an sqlcommenter comment in the statement `sql` carries
 * (traceparent='00-...', its value URL-encoded or not), into *out.
 * 1: found and valid, 0: none, -1: one that is not valid. Only comments
 * are read, not string literals. */
int trace_parent_in_sql(const char *sql, size_t n, struct trace_ctx *out);
#define TRACE_STATE_MAX 513u /* the spec's 512 bytes and the NUL */
/* Whether the n bytes at p are a W3C tracestate halyard passes on: at
 * most 512 bytes, 1 to 32 list members separated by commas (spaces and
 * tabs around each, empty ones allowed), each key=value: the key a
 * simple-key (a lower-case letter, then at most 255 of a-z 0-9 _ - * /)
 * or tenant@system (at most 241, and a letter then at most 13), unique;
 * the value 1 to 256 printable ASCII bytes but ',' and '=', not ending
 * in a space. */
bool trace_state_valid(const char *p, size_t n);
/* The W3C tracestate an sqlcommenter comment in `sql` carries
 * (tracestate='k=v,k2=v2', URL-encoded or not), into `out` (cap bytes,
 * NUL-terminated) as it is, for the span to pass on: its length; 0 when
 * no comment has one; -1 when one has it not quoted and closed, not valid
 * (trace_state_valid), or too long to fit. Only comments are read. */
int trace_state_in_sql(const char *sql, size_t n, char *out, size_t cap);
/* The tracestate `SET @tracestate = 'k=v,...'` gives, into `out` (cap
 * bytes, NUL-terminated; "" for '', which clears it): 1; 0 when the
 * statement sets no @tracestate; -1 when its value is not a quoted valid
 * one (the caller drops what it had). */
int trace_state_in_set(const char *sql, size_t n, char *out, size_t cap);
/* The tracestate among a login's connection attributes, into `out`: 1, 0
 * (none), -1 (not valid). */
int trace_state_in_attrs(const uint8_t *p, size_t n, char *out, size_t cap);
/* The traceparent a statement `SET @traceparent = '00-...'` gives (the
 * session variable a client sets for its next statements): 1 and *out, 0
 * when the statement sets no @traceparent, -1 when the value is not valid. */
int trace_parent_in_set(const char *sql, size_t n, struct trace_ctx *out);
/* The traceparent among a login's connection attributes (the protocol's
 * length-encoded key and value pairs): 1, 0 (none), -1 (not valid). */
int trace_parent_in_attrs(const uint8_t *p, size_t n, struct trace_ctx *out);
/* Values that were not valid W3C ones, ignored: counted from any thread. */
enum trace_bad {
    TRACE_BAD_PARENT, /* a traceparent: the span is a root */
    TRACE_BAD_STATE,  /* a tracestate: dropped, not passed on */
    TRACE_BAD_N
};
void trace_bad_note(enum trace_bad what);
uint64_t trace_bad_count(enum trace_bad what);
/* `ctx` as a traceparent, NUL-terminated (buf of TRACE_PARENT_LEN + 1). */
void trace_parent_format(const struct trace_ctx *ctx, char *buf);

/* The waits a statement's span shows as events. */
enum trace_wait {
    TRACE_WAIT_LIMIT,       /* queued behind a limit (limits.h) */
    TRACE_WAIT_POOL,        /* for a pooled connection */
    TRACE_WAIT_CONNECT,     /* a backend connection being opened */
    TRACE_WAIT_CONSISTENCY, /* a replica catching up */
    TRACE_WAIT_WRITER,      /* a writer during a failover */
    TRACE_WAIT_N
};
const char *trace_wait_name(enum trace_wait w);

#define TRACE_EVENTS_MAX 8u
struct trace_event {
    uint8_t what; /* enum trace_wait */
    int64_t start_ns, end_ns;
};

#define TRACE_STR_MAX 128u
struct trace_proc;
struct trace_home;
/* One statement's span. The strings are copies (cut at TRACE_STR_MAX,
 * on a UTF-8 boundary where the source was valid); `summary` and `text`
 * are the span's own heap copies (NULL: none; a span of trace_span_take
 * may keep its summary's buffer, "" then, from its last use). */
struct trace_span {
    /* (span_clear clears a used span range by range between its arrays
     * of characters and its events, and the arrays' first bytes: a new
     * field goes between them) */
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_id[8];
    bool has_parent;
    char tracestate[TRACE_STATE_MAX]; /* the parent's, passed on ("": none) */
    int64_t start_ns, end_ns;         /* Unix time, nanoseconds */
    char op[32];                      /* db.operation.name: SELECT, INSERT, EXECUTE... */
    char ns[TRACE_STR_MAX];           /* db.namespace: the schema ("": none) */
    char server[TRACE_STR_MAX];
    uint16_t port;
    char backend[64];
    char role[16];
    char route[32];
    char consistency[16];
    char *summary;        /* db.query.summary: the digest text */
    char *text;           /* db.query.text: only when configured */
    uint32_t summary_len; /* summary's length (trace_span_summary writes both) */
    uint32_t err_code;
    char err_msg[TRACE_STR_MAX];
    uint64_t rows;
    bool replayed, retried;
    uint8_t n_events;
    struct trace_event events[TRACE_EVENTS_MAX];
    struct trace_proc *proc; /* a procedure's span (trace_proc_span), else NULL */
    char *raw;               /* an operation's span, encoded whole (trace_op_span), else NULL */
    char *raw_pb;            /* the same as protobuf (trace_encode_pb), raw_pb_len bytes */
    uint32_t raw_pb_len;
    /* kept when the span is used again (trace_span_take): the fields
     * above are cleared, these are not */
    struct trace_home *home; /* the thread it goes back to (NULL: freed) */
    struct trace_span *next; /* in its home's lists, or the exporter's queue */
    uint32_t summary_cap;    /* bytes at summary that are the span's (0: its length + 1) */
};

/* A zeroed span, freed by trace_span_destroy. */
struct trace_span *trace_span_create(void);
/* A cleared span of the calling thread's own (a worker's; its fields as
 * a new one's, its strings empty): the exporter's
 * thread, done with it, gives it back to that thread (trace_span_destroy:
 * one atomic push), which uses it again, instead of a malloc in one
 * thread and a free in another, each a span (some 1,000 instructions in
 * the allocator's arenas). NULL when out of memory. */
struct trace_span *trace_span_take(void);
/* The calling thread ends: the spans it holds are freed, and those still
 * out will be when they are given back. */
void trace_span_thread_exit(void);
/* Free the span, or give it back to its home (trace_span_take). NULL is
 * fine. */
void trace_span_destroy(struct trace_span *sp);
/* db.query.summary: the n bytes at s, NUL-terminated, in the span's
 * buffer (grown when it is too small), and n as summary_len (what the
 * encoders read: the only way a summary is set); false when out of
 * memory (none). */
bool trace_span_summary(struct trace_span *sp, const char *s, size_t n);
/* Copy the `n` bytes at `src` into a field of the span (cut to fit); one
 * shorter than 16 bytes over zeros, in a field of 16 bytes or more. */
void trace_span_set(char *field, size_t cap, const char *src, size_t n);
/* A wait began at start_ns and ended at end_ns: an event (the last ones
 * are dropped when there are more than TRACE_EVENTS_MAX). */
void trace_span_wait(struct trace_span *sp, enum trace_wait w, int64_t start_ns, int64_t end_ns);
/* The last 8 bytes of a root's trace id, random: what trace_ratio_keeps
 * reads, drawn before the rest (trace_span_ids) so that a statement the
 * ratio drops costs one draw. */
void trace_ratio_id(uint8_t trace_id[16]);
/* New random ids for a span: a trace id too when it has no parent. */
void trace_span_ids(struct trace_span *sp);
/* The same for a span whose trace id's last 8 bytes are in place when it
 * has no parent (the head's draw, trace_ratio_id): its first 8 drawn. */
void trace_span_ids_head(struct trace_span *sp);

/* What keeps a statement's span: a parent's sampled flag, else the head
 * ratio over the trace id (OpenTelemetry's TraceIdRatioBased: its last 8
 * bytes, big-endian, below ratio * 2^64); and always an error, or a
 * statement that took slow_ns or more (0: no threshold). Decided at the
 * statement's end, alone: no whole trace is held. */
struct trace_sampler {
    double ratio; /* 0.0 to 1.0 */
    int64_t slow_ns;
};
enum trace_why {
    TRACE_DROP,
    TRACE_KEEP_PARENT, /* the application's trace is sampled */
    TRACE_KEEP_RATIO,
    TRACE_KEEP_ERROR,
    TRACE_KEEP_SLOW,
};
/* The decision for a span whose ids are set (trace_span_ids or a parent). */
enum trace_why trace_keep(const struct trace_sampler *sm, const struct trace_span *sp,
                          uint8_t parent_flags);
/* The ratio's half alone, for a trace id. */
bool trace_ratio_keeps(double ratio, const uint8_t trace_id[16]);

/* A span of one of halyard's own procedures (a failover, a switchover, a
 * fence, a rejoin: core/audit.h's struct audit_procedure), a root, kind
 * internal, named after it ("halyard.failover"), from start_ns to
 * end_ns: its attributes (halyard.procedure, .trigger, .backend, .from,
 * .to, .reason, .result), status ERROR when it failed, and each of its
 * steps (p->steps, "[+N ms] text" lines) an event "halyard.step" at its
 * time with the text as halyard.step.text. NULL when out of memory. */
struct audit_procedure;
struct trace_span *trace_proc_span(const struct audit_procedure *p, int64_t start_ns,
                                   int64_t end_ns);

/* A span of one of halyard's own operations (core/oprun.h: a reload, a
 * backup run): a root, kind internal, named r->name, from r->start_ns to
 * r->end_ns, r's attributes in order, status ERROR with r->error when
 * !r->ok. Encoded at once (the exporter's batch copies it as it is).
 * NULL when out of memory. */
struct oprun;
struct trace_span *trace_op_span(const struct oprun *r);

/* OTLP/HTTP JSON (opentelemetry-proto's ExportTraceServiceRequest, its
 * JSON mapping: ids in lower-case hex, 64-bit integers as strings) of the
 * n spans, appended to `out`; `service` is the resource's service.name. */
void trace_encode(struct textbuf *out, const char *service, struct trace_span *const *spans,
                  size_t n);
/* The same as OTLP/HTTP protobuf (the binary ExportTraceServiceRequest,
 * trace_pb.c), appended to out: the offset in out->data where the
 * request's bytes begin (the envelope goes right before the spans once
 * their sizes are known, in room left for it). With out->overflow set, the
 * batch is not to be sent. */
size_t trace_encode_pb(struct textbuf *out, const char *service, struct trace_span *const *spans,
                       size_t n);

#endif /* HALYARD_TRACE_H */
