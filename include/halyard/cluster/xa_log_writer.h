/*
 * xa_log_writer.h: the thread that appends to the XA recovery log
 * (xa_log.h) for the sessions, and group-commits it.
 *
 * A worker must not block on the log's fdatasync: every other session of
 * that worker would wait for the disk too. A session hands its record to
 * this thread (xa_log_writer_submit) and goes on with its other events;
 * the thread appends every record handed to it since its last write in
 * one write() per log file and, when any of them is to be durable, one
 * fdatasync for all of them (group commit: N sessions' decisions, one
 * fsync). Then it tells each waiter on its own loop (an ev_async per
 * wait): the waiter's `done` runs on that loop, in that loop's thread,
 * once its record is on disk (or the write failed: rc, err).
 *
 * A record handed without a wait (NULL) is appended in order with the
 * others and not waited for: the "D" records (every branch committed)
 * need no fsync, recovery finds such a decision's branches gone and marks
 * it done itself (xa_recover.c).
 *
 * The log file is opened for each batch, not kept open: a log removed or
 * renamed by hand is created anew, as xa_log_append does. Past
 * XA_LOG_COMPACT_AT bytes, after a batch, the thread rewrites the log
 * with only its decisions in doubt (xa_log_compact): done records are
 * the bulk of it, and the recovery reads the whole log each round.
 *
 * Memory: a submit copies path and record; the wait is the caller's and
 * must live until `done` has run or xa_log_writer_cancel returned.
 */
#ifndef HALYARD_XA_LOG_WRITER_H
#define HALYARD_XA_LOG_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "halyard/core/core.h"

struct xa_log_wait {
    ev_async ev; /* started on `loop` by the submit */
    struct ev_loop *loop;
    void (*done)(struct xa_log_wait *w); /* runs on `loop` once the record is durable or failed */
    void *data;                          /* the caller's */
    /* set by the writer, under its lock; read them in `done` or after cancel */
    bool finished;
    hy_status_t rc; /* HY_OK: written and fdatasync'd */
    int err;        /* errno of the failure */
};

/* Append `len` bytes of `rec` to the log at `path` (created 0600 when
 * missing). With a wait: `done` runs on w->loop once they are on disk, or
 * the write failed. Without (w NULL): appended with the next batch, not
 * fsync'd for its own sake. HY_NOMEM (nothing queued, `done` never runs)
 * when the copy or the thread cannot be had. The thread starts at the
 * first submit. */
hy_status_t xa_log_writer_submit(const char *path, const char *rec, size_t len,
                                 struct xa_log_wait *w) HY_MUSTCHECK;
struct xa_decision;
/* The decision to commit `d` to the log at `path`, for a session (or a
 * fan-out) waiting on w->loop (w->loop, done and data set by the caller):
 * HY_AGAIN, the writer has it and `done` runs once it is durable or
 * failed. Without the writer (out of memory) it is written and fsync'd
 * here, blocking: HY_OK, or HY_ERROR with errno set (ENAMETOOLONG: the
 * record does not fit). */
hy_status_t xa_log_writer_decide(const char *path, const struct xa_decision *d,
                                 struct xa_log_wait *w) HY_MUSTCHECK;
/* Mark the decision `gtrid` done ("D" record), not waited for: HY_NOMEM
 * when it cannot be handed over (the recovery marks it then). */
hy_status_t xa_log_writer_done(const char *path, const char *gtrid) HY_MUSTCHECK;
/* Wait (blocking) for w's record to be written or to fail, and stop its
 * watcher: `done` does not run. Returns its rc (errno set). For a caller
 * that goes away while its record is in flight (a session closed). */
hy_status_t xa_log_writer_cancel(struct xa_log_wait *w);
/* Records handed so far are written (fsync'd), the thread ends. At exit,
 * once no worker submits any more. */
void xa_log_writer_stop(void);
/* Records made durable for a waiter, and the fdatasyncs that did it,
 * since start (metrics): records/syncs is the group commit's gain; and
 * the compactions done (xa_log_compact, past XA_LOG_COMPACT_AT). */
void xa_log_writer_counts(unsigned long *records, unsigned long *syncs, unsigned long *compactions);

/* Tests only: while paused, records queue up and none is written (so that
 * a test can hand many at once and see them share one fsync). */
void xa_log_writer_pause(bool paused);

#endif /* HALYARD_XA_LOG_WRITER_H */
