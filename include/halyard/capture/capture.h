/*
 * capture.h: the traffic capture (docs/rehearse.md): one file at a time,
 * started and stopped by the admin commands (capture start|stop|status),
 * written by a thread of its own. The sessions (session_capture.c) build
 * each record (capture_format.h) in their thread's buffer, in place
 * (capture_rec_begin, capture_rec_put) or copied (capture_put); the
 * buffers go to the writer in blocks. None of it waits: past the queue's
 * bound the record is dropped and counted. The thread stops the capture by itself at its
 * size or duration limit, or when a write fails (a full disk): the data
 * path goes on, the log and `capture status` say why.
 */
#ifndef HALYARD_CAPTURE_H
#define HALYARD_CAPTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

struct capture_buf; /* capture_format.h */

struct capture_opts {
    const char *file;     /* created; an existing file is refused */
    uint64_t max_bytes;   /* the file never grows past this (0 = no limit) */
    uint32_t max_seconds; /* the capture stops after this long (0 = no limit) */
    uint32_t queue;       /* records waiting for the writer at most */
    bool mask;            /* statement text and parameters left out */
    const char *gtid;     /* the primary's position at the start ("" = unknown) */
    const char *primary;  /* its name */
};

/* Why a record was not written (docs/rehearse.md): the queue was full
 * (the writer fell behind), the size or duration limit ended the capture
 * with it queued or next to write, or a write failed. */
enum capture_drop {
    CAPTURE_DROP_QUEUE_FULL,
    CAPTURE_DROP_LIMIT,
    CAPTURE_DROP_WRITE_FAILED,
    CAPTURE_DROP_N
};

struct capture_status {
    bool on;
    bool mask;
    char file[4096];
    char gtid[256];
    char stopped_why[256]; /* why the last capture stopped ("" = none yet) */
    int64_t started_us;    /* wall clock */
    int64_t stopped_us;
    uint64_t records, bytes, drops, sessions;
    uint64_t drops_by[CAPTURE_DROP_N]; /* drops, by reason */
};

/* Nonzero while a capture runs: its number, new at each start (a session
 * holding the state of an older one begins again). Any thread. */
extern _Atomic uint32_t capture_running;
static inline uint32_t capture_now(void)
{
    return atomic_load_explicit(&capture_running, memory_order_relaxed);
}
bool capture_masked(void);

/* The main thread. */
hy_status_t capture_start(const struct capture_opts *o, char *msg, size_t len);
hy_status_t capture_stop(char *msg, size_t len);
void capture_status_get(struct capture_status *st);
/* "queue_full", "limit", "write_failed" */
const char *capture_drop_name(enum capture_drop why);
/* Every capture's drops since halyard started, by reason. Any thread. */
void capture_drops_total(uint64_t out[CAPTURE_DROP_N]);
/* At exit: a running capture is stopped and its file closed. */
void capture_shutdown(void);

/* A record of `type` of at most `max` bytes framed, for the capture
 * `gen`, begun in place in the calling thread's buffer: false when it
 * cannot be (no capture; the queue full: counted; out of memory). Else
 * capture_rec_put must follow, on the same thread, before any other
 * record: the record kept, or false when it did not fit in `max` (not
 * kept). */
bool capture_rec_begin(struct capture_buf *b, size_t max, uint8_t type, uint32_t gen);
bool capture_rec_put(struct capture_buf *b);
/* A record of `len` bytes framed elsewhere (capture_rec_done) copied to
 * the thread's buffer: false when it was not (as capture_rec_begin). */
bool capture_put(const uint8_t *rec, size_t len, uint32_t gen);
/* A session of the capture `gen` routes to the primary `name` (at
 * `t_us`, wall clock): the first to see another primary than the one the
 * capture last knew of writes a FAILOVER record (old, new). Sessions call
 * it only when their own primary changed. Any thread. */
void capture_primary_seen(const char *name, uint64_t t_us, uint32_t gen);
/* A session seen by the capture `gen` for the first time. */
void capture_session_seen(void);

#endif
