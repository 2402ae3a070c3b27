/*
 * xa_log_writer.c: the XA recovery log's writer thread and its group
 * commit (xa_log_writer.h).
 *
 * One queue under one mutex. The thread takes the whole queue at once,
 * writes each run of records for the same file with one write() and, when
 * any record of the run has a waiter, one fdatasync; then, under the
 * mutex, it sets each waiter's result and wakes its loop (ev_async_send
 * while the lock is held: a cancel that took the lock after `finished`
 * may free the wait at once). While it syncs, new records queue up: they
 * are the next batch, so the more sessions commit at once, the more
 * decisions share one fsync.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "halyard/core/text.h"
#include "halyard/core/fileio.h"
#include "halyard/core/log.h"
#include "halyard/sql/xa_log.h"
#include "halyard/cluster/xa_log_writer.h"

struct wnode {
    struct wnode *next;
    struct xa_log_wait *w; /* NULL: nobody waits */
    char *path;            /* in the same allocation as rec */
    char *rec;
    size_t len;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t more;     /* the queue got a record, or stop */
    pthread_cond_t finished; /* some wait finished */
    pthread_once_t once;
    pthread_t thread;
    bool started, failed_start, stop;
    bool paused; /* tests: records queue up, nothing is written */
    struct wnode *head, **tail;
    unsigned long records, syncs, compactions;
} W = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .more = PTHREAD_COND_INITIALIZER,
    .finished = PTHREAD_COND_INITIALIZER,
    .once = PTHREAD_ONCE_INIT,
};

/* The records [first, end) all go to first->path: one write, one
 * fdatasync when any has a waiter. HY_ERROR with errno. A failed write
 * may leave part of a line: the next batch for this file starts with a
 * newline (torn_path), so that part is a line of its own that the parser
 * skips, not the head of the next record. */
static hy_status_t write_run(struct wnode *first, struct wnode *end, bool sync, bool *torn,
                             off_t *size)
{
    size_t total = *torn ? 1 : 0;
    for (struct wnode *n = first; n != end; n = n->next)
        total += n->len;
    char *buf = malloc(total);
    if (buf == NULL) {
        errno = ENOMEM;
        return HY_ERROR;
    }
    size_t at = 0;
    if (*torn)
        buf[at++] = '\n';
    for (struct wnode *n = first; n != end; n = n->next) {
        memcpy(buf + at, n->rec, n->len);
        at += n->len;
    }
    int fd = xa_log_open_locked(first->path);
    hy_status_t rc = HY_ERROR;
    int e = 0;
    struct stat sb;
    if (fd < 0) {
        e = errno;
    } else {
        if (!fileio_write_all(fd, buf, total)) {
            e = errno;
            *torn = true;
        } else if (sync && fdatasync(fd) != 0) {
            e = errno;
        } else {
            *torn = false;
            rc = HY_OK;
            if (fstat(fd, &sb) == 0)
                *size = sb.st_size;
        }
        if (close(fd) != 0 && rc == HY_OK) {
            e = errno;
            rc = HY_ERROR;
        }
    }
    free(buf);
    errno = e;
    return rc;
}

/* The log at path past its size limit: rewritten with only its decisions
 * in doubt (xa_log_compact), after the batch's waiters were told, so that
 * the next batch waits for it, not this one. A failure leaves the log as
 * it was, to be tried again after the next batch. */
static void compact(const char *path)
{
    size_t before = 0, kept = 0;
    if (xa_log_compact(path, &before, &kept) != HY_OK) {
        hy_log_warn("xa log: cannot compact %s: %s", path, strerror(errno));
        return;
    }
    pthread_mutex_lock(&W.mu);
    W.compactions++;
    pthread_mutex_unlock(&W.mu);
    hy_log_info("xa log: compacted %s: %zu bytes read, %zu decision(s) in doubt kept", path, before,
                kept);
}

static void *writer_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "xa-log");
    char torn_path[4096] = ""; /* the file whose last write failed midway */
    /* Test only (tests/integration/test_xa_log_writer.py): each batch is
     * taken this long after its first record came, so that sessions'
     * decisions meet in it and a test can look while they wait. */
    const char *hold = getenv("HALYARD_TEST_XA_LOG_HOLD_MS");
    int64_t hold_ms = 0; /* unset or not a number: no hold */
    if (!hy_str_i64(hold, 0, 3600000, &hold_ms))
        hold_ms = 0;
    /* Test only: compact at this size rather than XA_LOG_COMPACT_AT. */
    const char *at = getenv("HALYARD_TEST_XA_LOG_COMPACT_AT");
    int64_t compact_at = XA_LOG_COMPACT_AT; /* unset or not a number: the default */
    if (!hy_str_i64(at, 1, INT64_MAX, &compact_at))
        compact_at = XA_LOG_COMPACT_AT;
    pthread_mutex_lock(&W.mu);
    for (;;) {
        while ((W.head == NULL || W.paused) && !W.stop)
            pthread_cond_wait(&W.more, &W.mu);
        if (W.head == NULL)
            break; /* stop, and nothing left */
        if (hold_ms > 0 && !W.stop) {
            pthread_mutex_unlock(&W.mu);
            usleep((useconds_t)hold_ms * 1000);
            pthread_mutex_lock(&W.mu);
        }
        struct wnode *batch = W.head;
        W.head = NULL;
        W.tail = &W.head;
        pthread_mutex_unlock(&W.mu);

        for (struct wnode *first = batch; first != NULL;) {
            struct wnode *end = first;
            bool sync = false;
            while (end != NULL && strcmp(end->path, first->path) == 0) {
                sync = sync || end->w != NULL;
                end = end->next;
            }
            bool torn = strcmp(torn_path, first->path) == 0;
            off_t size = 0;
            hy_status_t rc = write_run(first, end, sync, &torn, &size);
            int e = errno;
            if (rc != HY_OK)
                hy_log_warn("xa log: cannot append to %s: %s", first->path, strerror(e));
            if (torn)
                snprintf(torn_path, sizeof(torn_path), "%s", first->path);
            else if (strcmp(torn_path, first->path) == 0)
                torn_path[0] = '\0';
            /* Counted before anyone is told: a waiter called back sees
             * its record in the counts (xa_log_writer_counts). */
            pthread_mutex_lock(&W.mu);
            if (sync && rc == HY_OK)
                W.syncs++;
            for (struct wnode *n = first; n != end; n = n->next) {
                if (n->w == NULL)
                    continue;
                if (rc == HY_OK)
                    W.records++; /* made durable */
                n->w->rc = rc;
                n->w->err = rc == HY_OK ? 0 : e;
                n->w->finished = true;
                ev_async_send(n->w->loop, &n->w->ev);
            }
            pthread_cond_broadcast(&W.finished);
            pthread_mutex_unlock(&W.mu);
            if (rc == HY_OK && size > compact_at)
                compact(first->path);
            while (first != end) {
                struct wnode *next = first->next;
                free(first);
                first = next;
            }
        }
        pthread_mutex_lock(&W.mu);
    }
    pthread_mutex_unlock(&W.mu);
    return NULL;
}

static void writer_start(void)
{
    W.tail = &W.head;
    int rc = pthread_create(&W.thread, NULL, writer_main, NULL);
    if (rc != 0) {
        hy_log_error("xa log: cannot start its writer thread: %s", strerror(rc));
        W.failed_start = true;
        return;
    }
    W.started = true;
}

/* The waiter's loop: the record is written (or failed). */
static void wait_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)revents;
    struct xa_log_wait *w = container_of(a, struct xa_log_wait, ev);
    pthread_mutex_lock(&W.mu);
    bool finished = w->finished;
    pthread_mutex_unlock(&W.mu);
    if (!finished)
        return;
    ev_async_stop(loop, a);
    w->done(w);
}

hy_status_t xa_log_writer_submit(const char *path, const char *rec, size_t len,
                                 struct xa_log_wait *w)
{
    pthread_once(&W.once, writer_start);
    size_t pl = strlen(path);
    struct wnode *n = malloc(sizeof(*n) + pl + 1 + len);
    if (n == NULL || !W.started) {
        free(n);
        return HY_NOMEM;
    }
    n->next = NULL;
    n->w = w;
    n->path = (char *)(n + 1);
    memcpy(n->path, path, pl + 1);
    n->rec = n->path + pl + 1;
    memcpy(n->rec, rec, len);
    n->len = len;
    if (w != NULL) {
        w->finished = false;
        w->rc = HY_ERROR;
        w->err = 0;
        ev_async_init(&w->ev, wait_cb);
        ev_async_start(w->loop, &w->ev);
    }
    pthread_mutex_lock(&W.mu);
    bool stopping = W.stop;
    if (!stopping) {
        *W.tail = n;
        W.tail = &n->next;
        pthread_cond_signal(&W.more);
    }
    pthread_mutex_unlock(&W.mu);
    if (stopping) {
        if (w != NULL)
            ev_async_stop(w->loop, &w->ev);
        free(n);
        return HY_NOMEM;
    }
    return HY_OK;
}

hy_status_t xa_log_writer_cancel(struct xa_log_wait *w)
{
    pthread_mutex_lock(&W.mu);
    while (!w->finished)
        pthread_cond_wait(&W.finished, &W.mu);
    hy_status_t rc = w->rc;
    int e = w->err;
    pthread_mutex_unlock(&W.mu);
    ev_async_stop(w->loop, &w->ev);
    errno = e;
    return rc;
}

void xa_log_writer_stop(void)
{
    pthread_mutex_lock(&W.mu);
    bool started = W.started;
    W.stop = true;
    pthread_cond_signal(&W.more);
    pthread_mutex_unlock(&W.mu);
    if (started)
        pthread_join(W.thread, NULL);
    W.started = false;
}

void xa_log_writer_counts(unsigned long *records, unsigned long *syncs, unsigned long *compactions)
{
    pthread_mutex_lock(&W.mu);
    *records = W.records;
    *syncs = W.syncs;
    *compactions = W.compactions;
    pthread_mutex_unlock(&W.mu);
}

void xa_log_writer_pause(bool paused)
{
    pthread_once(&W.once, writer_start);
    pthread_mutex_lock(&W.mu);
    W.paused = paused;
    pthread_cond_signal(&W.more);
    pthread_mutex_unlock(&W.mu);
}

hy_status_t xa_log_writer_decide(const char *path, const struct xa_decision *d,
                                 struct xa_log_wait *w)
{
    char rec[XA_GROUPS_MAX * (XA_GROUP_MAX + 1) + 128];
    if (!xa_log_format_commit(d, rec, sizeof(rec))) {
        errno = ENAMETOOLONG;
        return HY_ERROR;
    }
    if (xa_log_writer_submit(path, rec, strlen(rec), w) == HY_OK)
        return HY_AGAIN;
    /* no writer thread: written here, blocking the caller's worker */
    return xa_log_append(path, rec, strlen(rec)) == HY_OK ? HY_OK : HY_ERROR;
}

hy_status_t xa_log_writer_done(const char *path, const char *gtrid)
{
    char rec[XA_GTRID_MAX + 8];
    int n = snprintf(rec, sizeof(rec), "D %s\n", gtrid);
    return xa_log_writer_submit(path, rec, (size_t)n, NULL);
}
