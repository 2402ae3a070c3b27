/*
 * trace_int.h: what the span model (trace.c) and its protobuf writer
 * (trace_pb.c) share inside the trace module.
 */
#ifndef HALYARD_TRACE_INT_H
#define HALYARD_TRACE_INT_H

#include "halyard/core/oprun.h"
#include "halyard/trace/trace.h"

/* A procedure's own part of its span: its words and its steps' text. */
struct trace_proc {
    char event[32];
    char trigger[16];
    char backend[TRACE_STR_MAX], from[TRACE_STR_MAX], to[TRACE_STR_MAX];
    char *reason, *result, *steps; /* heap copies (NULL: none) */
    size_t steps_len;
    bool ok;
};

#define TRACE_OP_SPAN_LIMIT (64u << 10) /* an operation's span, encoded */

/* A step line "[+N ms] text" of a procedure: N and the text; false when
 * it is not one. */
bool trace_step_line(const char *p, size_t n, int64_t *ms, const char **text, size_t *tlen);

/* An operation's span as protobuf, into sp->raw_pb (trace_pb.c): false
 * when out of memory (its JSON alone is kept). */
bool trace_op_span_pb(struct trace_span *sp, const struct oprun *r);

#endif /* HALYARD_TRACE_INT_H */
