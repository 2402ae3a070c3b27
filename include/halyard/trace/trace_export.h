/*
 * trace_export.h: the exporter of kept spans (trace.h), over OTLP/HTTP
 * (protobuf, or JSON) with libcurl, from a thread of its own. Workers hand it spans
 * through a bounded queue (trace_export_submit never waits: a full queue
 * drops the span and counts it); the thread takes them in batches, posts
 * each batch with a timeout and retries a failed one with a doubling
 * backoff, then drops it, counted. A receiver that is down costs the
 * workers nothing but the drops.
 */
#ifndef HALYARD_TRACE_EXPORT_H
#define HALYARD_TRACE_EXPORT_H

#include "halyard/core/core.h"
#include "halyard/trace/trace.h"

struct trace_export_conf {
    const char *endpoint; /* the receiver's URL, e.g. http://collector:4318/v1/traces */
    const char *headers;  /* "Name: value" lines joined by '\n' (an API key); NULL: none */
    const char *ca_file;  /* TLS: the CA bundle; NULL: the system's */
    bool tls_verify;      /* TLS: check the receiver's certificate and name */
    const char *service;  /* the resource's service.name */
    bool protobuf;        /* application/x-protobuf (trace_encode_pb), else JSON */
    uint32_t queue_size;  /* spans waiting at most */
    uint32_t batch;       /* spans a request at most */
    uint32_t timeout_ms;  /* a request's whole time */
    uint32_t flush_ms;    /* a span waits at most this long for its batch to fill */
    uint32_t retries;     /* a failed batch is posted again up to this many times */
    uint32_t backoff_ms;  /* before the first retry; doubled for each next one */
};

/* What the exporter did since it started, for /metrics and `show stats`. */
struct trace_export_stats {
    uint64_t queued;             /* spans taken into the queue */
    uint64_t exported;           /* spans a receiver accepted (2xx) */
    uint64_t dropped_full;       /* spans dropped: the queue was full */
    uint64_t dropped_failed;     /* spans dropped: their batch failed after its retries */
    uint64_t requests, failures; /* posts, and posts that failed */
};

struct trace_exporter;

/* Start the thread; HY_ERROR (with a log line) when it cannot be. */
hy_status_t trace_export_start(const struct trace_export_conf *conf,
                               struct trace_exporter **out) HY_MUSTCHECK;
/* Stop it: what is queued is posted once (within the timeout), then dropped. */
void trace_export_stop(struct trace_exporter *ex); /* NULL is fine */
/* Hand a span over (ex owns it from now, whatever happens). False when it
 * was dropped, the queue full. Any thread; never waits on the network. */
bool trace_export_submit(struct trace_exporter *ex, struct trace_span *sp);
/* The process's exporter, started by main (NULL: none). */
struct trace_exporter *trace_export_global(void);
void trace_export_set_global(struct trace_exporter *ex);
/* Whether failovers, switchovers, reloads and backup runs become spans
 * (failover_exec.h's and core/oprun.h's): tracing.enabled, set by main at
 * the start and at each reload (the exporter runs either way). */
void trace_export_procedures(bool on);
/* A copy of the counters (any thread). */
void trace_export_stats(const struct trace_exporter *ex, struct trace_export_stats *out);

#endif /* HALYARD_TRACE_EXPORT_H */
