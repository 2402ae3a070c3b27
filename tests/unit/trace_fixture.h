/*
 * trace_fixture.h: the spans test_trace.c (JSON) and test_trace_pb.c
 * (protobuf) both encode.
 */
#ifndef HALYARD_TESTS_TRACE_FIXTURE_H
#define HALYARD_TESTS_TRACE_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "halyard/core/oprun.h"
#include "halyard/core/text.h"
#include "halyard/trace/trace.h"

/* A statement's span with a parent, a tracestate, its times, its
 * backend's words and a summary (the ids are the caller's). */
static inline void trace_fixture_statement(struct trace_span *sp)
{
    sp->has_parent = true;
    strcpy(sp->tracestate, "congo=t61rcWkgMzE");
    sp->start_ns = 1700000000000000000;
    sp->end_ns = 1700000000000250000;
    strcpy(sp->op, "SELECT");
    strcpy(sp->ns, "shop");
    strcpy(sp->server, "127.0.0.1");
    sp->port = 3307;
    strcpy(sp->backend, "replica1");
    strcpy(sp->role, "replica");
    strcpy(sp->route, "read");
    strcpy(sp->consistency, "causal");
    assert_true(trace_span_summary(sp, "SELECT a FROM t WHERE id = ?", 28));
    sp->rows = 1;
}

/* A backup run that failed: an attribute of each type, an empty string
 * (left out), its error. */
static inline void trace_fixture_backup_run(struct oprun *r)
{
    *r = (struct oprun){.name = "halyard.backup",
                        .start_ns = 1700000000000000000,
                        .end_ns = 1700000002500000000,
                        .ok = false,
                        .error = "login: error 1045 \"denied\""};
    oprun_str(r, "halyard.backup.id", "full-20261128T153000Z");
    oprun_str(r, "halyard.backup.file", ""); /* left out */
    oprun_int(r, "halyard.backup.bytes", -1);
    oprun_bool(r, "halyard.ok", false);
}

#endif /* HALYARD_TESTS_TRACE_FIXTURE_H */
