/*
 * failover_exec.h: the thread that carries out failover, switchover and
 * rejoin (the decisions are failover.h's).
 *
 * It runs apart from the monitor so that a promotion, which waits on
 * servers (a relay log to apply, a replica to catch up: seconds, bounded),
 * never holds up the health checks. It has its own libev loop for its
 * sqlclient connections (logged in as the monitor user) and runs each
 * procedure as straight-line code over them: start the queries of a step
 * on every server concerned, run the loop until they answered, look at the
 * answers, go on. It wakes when the monitor ends a round of checks
 * (failover_exec_notify) and at least every FAILOVER_EXEC_TICK_MS.
 *
 * Each tick reads the backends' run-time state (backend.h), which the
 * monitor keeps, and asks failover_decide() whether to fail over. Before it
 * changes anything it takes GET_LOCK('halyard_failover', 0) on a strict
 * majority of the servers it can reach and reads the topology again from
 * the servers themselves, so of several halyard instances only one
 * promotes and the others follow the server it promoted. Every step is
 * logged with its duration.
 *
 * A returning old primary is never written to: the failover marks it
 * fenced (backend_rt.fenced) so routing never takes it for the primary
 * even when it comes back writable, and the next tick sets it read_only;
 * with auto_rejoin it is then made a replica of the new primary when its
 * binary log holds nothing the primary lacks.
 */
#ifndef HALYARD_FAILOVER_EXEC_H
#define HALYARD_FAILOVER_EXEC_H

#include "halyard/core/core.h"

#define FAILOVER_EXEC_TICK_MS 100
#define FAILOVER_LOCK_NAME    "halyard_failover"

/* Start the thread with `cfg` (a reference is taken). Main thread. */
hy_status_t failover_exec_start(struct config *cfg, char *err, size_t errlen) HY_MUSTCHECK;
/* Stop and join it (a procedure in progress finishes its current step and
 * gives up). Main thread. */
void failover_exec_stop(void);
/* A reload: the next procedures use `cfg`. Main thread. */
void failover_exec_set_config(struct config *cfg);
/* The monitor finished a round of checks: look at the cluster now. Any
 * thread; cheap. */
void failover_exec_notify(void);

/* Switchovers and failovers this process ran, by [switchover][ok]: counted
 * by the failover thread when a procedure ends, read by the metrics. */
uint64_t failover_exec_count(bool switchover, bool ok);

/* An admin request. `done` runs in the failover thread when the procedure
 * ends, with ok and the text to show (one line per step, each ending in
 * "\n"; the text is valid during the call only). */
enum failover_request {
    FAILOVER_REQ_SWITCHOVER, /* switchover [to NAME] */
    FAILOVER_REQ_FAILOVER,   /* failover: as automatic failover would, whatever `failover` says */
};

typedef void (*failover_done_fn)(void *arg, bool ok, const char *text);

/* Queue a request; HY_ERROR with the reason in `err` when one is already
 * queued or running, or the thread is not running. `target` ("" or NULL =
 * the most advanced replica) is copied. */
hy_status_t failover_exec_request(enum failover_request kind, const char *target,
                                  failover_done_fn done, void *arg, char *err,
                                  size_t errlen) HY_MUSTCHECK;

/* Told of each procedure at its end (failover, switchover, fence,
 * rejoin...), in the failover thread, after its audit record: `p` as
 * audited (its steps "[+N ms] text" lines), its start and end on the wall
 * clock in nanoseconds. Set by the trace exporter (trace_export.h) to
 * make a span of it; NULL: none. Any thread. */
struct audit_procedure;
typedef void (*failover_span_fn)(const struct audit_procedure *p, int64_t start_ns, int64_t end_ns);
void failover_exec_set_span_fn(failover_span_fn fn);

#endif /* HALYARD_FAILOVER_EXEC_H */
