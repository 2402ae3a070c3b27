/*
 * session_trace.h: tracing in the command cycle (session_trace.c), one
 * row of session_hooks.c. A span per COM_QUERY, COM_STMT_PREPARE and
 * COM_STMT_EXECUTE (trace.h), from the command's take to its answer's
 * end, its waits as events; kept or not at the end (trace_keep), a kept
 * one handed to the exporter (trace_export.h). Internal to the session
 * module.
 */
#ifndef HALYARD_SESSION_TRACE_H
#define HALYARD_SESSION_TRACE_H

#include "session_int.h"

void session_trace_take(struct session *s, const struct hook_cmd *hc);
void session_trace_wait(struct session *s, enum hook_wait what, bool begin);
/* The router's digest of the command in flight (on_digest): its span's
 * db.query.summary, instead of classifying its text a second time. */
void session_trace_digest(struct session *s, const char *digest, size_t len);
void session_trace_send(struct session *s, const struct hook_cmd *hc);
/* The command in flight goes on after its transaction was replayed
 * (on_replayed): its span says halyard.replayed. */
void session_trace_replayed(struct session *s);
void session_trace_done(struct session *s);
void session_trace_abandon(struct session *s);
void session_trace_reset(struct session *s);
void session_trace_free(struct session *s);
/* A worker thread ends: the spans its statements used (trace.h's
 * trace_span_take), freed. */
void session_trace_thread_exit(void);

#endif /* HALYARD_SESSION_TRACE_H */
