/*
 * capture.c: the capture's queue and its writer thread (capture.h). The
 * sessions push framed records into a bounded ring under a mutex; the
 * thread takes them all at once, writes their CRC and the records to the
 * file, and enforces the limits. Only one capture runs at a time; its
 * thread is joined by the next start or stop, or at exit.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "halyard/capture/capture.h"
#include "halyard/capture/capture_format.h"
#include "halyard/core/clock.h"
#include "halyard/core/log.h"

_Atomic uint32_t capture_running;

struct qitem {
    uint8_t *p;
    size_t len;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct qitem *ring; /* cap items; head + n */
    uint32_t cap, head, n;
    bool stopping;  /* capture_stop asked the thread to end */
    bool thread_on; /* a thread to join */
    pthread_t thread;
    FILE *f;
    uint32_t gen; /* the last capture's number */
    struct capture_status st;
    uint64_t max_bytes;
    uint32_t max_seconds;
    _Atomic uint64_t drops[CAPTURE_DROP_N]; /* this capture's, by reason */
    _Atomic uint64_t sessions;
    _Atomic bool mask;
} C = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* The primary the capture last knew of (START's, then each FAILOVER's):
 * under C.mu. */
static char last_primary[128];

/* Every capture's drops since the start, by reason (show stats, /metrics). */
static _Atomic uint64_t drops_total[CAPTURE_DROP_N];

/* A record that was handed over (or built) and will not be written. */
static void drop(enum capture_drop why, uint64_t n)
{
    atomic_fetch_add_explicit(&C.drops[why], n, memory_order_relaxed);
    atomic_fetch_add_explicit(&drops_total[why], n, memory_order_relaxed);
}

static uint64_t drops_now(void)
{
    uint64_t n = 0;
    for (int i = 0; i < CAPTURE_DROP_N; i++)
        n += atomic_load_explicit(&C.drops[i], memory_order_relaxed);
    return n;
}

const char *capture_drop_name(enum capture_drop why)
{
    static const char *const names[CAPTURE_DROP_N] = {"queue_full", "limit", "write_failed"};
    return (unsigned)why < CAPTURE_DROP_N ? names[why] : "?";
}

void capture_drops_total(uint64_t out[CAPTURE_DROP_N])
{
    for (int i = 0; i < CAPTURE_DROP_N; i++)
        out[i] = atomic_load_explicit(&drops_total[i], memory_order_relaxed);
}

/* The writer's own counts (its thread, or the main one before it runs),
 * published into C.st after each batch. */
static struct {
    uint64_t records, bytes;
} W;

static void publish(void)
{
    pthread_mutex_lock(&C.mu);
    C.st.records = W.records;
    C.st.bytes = W.bytes;
    pthread_mutex_unlock(&C.mu);
}

bool capture_masked(void)
{
    return atomic_load_explicit(&C.mask, memory_order_relaxed);
}

void capture_session_seen(void)
{
    atomic_fetch_add_explicit(&C.sessions, 1, memory_order_relaxed);
}

void capture_primary_seen(const char *name, uint64_t t_us, uint32_t gen)
{
    char old[sizeof(last_primary)];
    pthread_mutex_lock(&C.mu);
    bool moved = capture_now() == gen && strcmp(last_primary, name) != 0;
    if (moved) {
        memcpy(old, last_primary, sizeof(old));
        snprintf(last_primary, sizeof(last_primary), "%s", name);
    }
    pthread_mutex_unlock(&C.mu);
    if (!moved)
        return;
    uint8_t mem[512];
    struct capture_buf b;
    capture_buf_begin(&b, mem, sizeof(mem), CAPTURE_FAILOVER);
    capture_put_u64(&b, t_us);
    capture_put_str(&b, old, strlen(old));
    capture_put_str(&b, name, strlen(name));
    capture_put_str(&b, "primary changed", 15);
    size_t n = capture_rec_done(&b);
    uint8_t *rec = n > 0 ? malloc(n) : NULL;
    if (rec != NULL) {
        memcpy(rec, mem, n);
        (void)capture_put(rec, n, gen);
    }
}

bool capture_put(uint8_t *rec, size_t len, uint32_t gen)
{
    bool taken = false;
    pthread_mutex_lock(&C.mu);
    if (capture_now() == gen && gen != 0 && !C.stopping) {
        if (C.n < C.cap) {
            C.ring[(C.head + C.n) % C.cap] = (struct qitem){rec, len};
            if (C.n++ == 0)
                pthread_cond_signal(&C.wake);
            taken = true;
        } else {
            drop(CAPTURE_DROP_QUEUE_FULL, 1);
        }
    }
    pthread_mutex_unlock(&C.mu);
    if (!taken)
        free(rec);
    return taken;
}

/* Write one framed record; false when the write failed (why in `why`). */
static bool write_rec(uint8_t *p, size_t len, char *why, size_t wl)
{
    capture_frame_crc(p, len);
    if (fwrite(p, 1, len, C.f) != len) {
        snprintf(why, wl, "the write failed: %s", strerror(errno));
        return false;
    }
    W.records++;
    W.bytes += len;
    return true;
}

static void write_stop_rec(const char *why)
{
    uint8_t mem[512];
    struct capture_buf b;
    capture_buf_begin(&b, mem, sizeof(mem), CAPTURE_STOP);
    capture_put_u64(&b, (uint64_t)hy_now_us());
    capture_put_u64(&b, W.records);
    capture_put_u64(&b, drops_now());
    capture_put_str(&b, why, strlen(why));
    size_t n = capture_rec_done(&b);
    char ignored[128];
    if (n > 0)
        (void)write_rec(mem, n, ignored, sizeof(ignored));
}

/* The room the STOP record may take: the size limit keeps it free. */
#define STOP_ROOM (CAPTURE_FRAME_HEAD + 3 * 8 + 2 + 255 + CAPTURE_FRAME_TAIL)

/* Whether a record of `len` bytes would take the file past its size
 * limit (the STOP record's room kept): why in `why`. */
static bool size_reached(size_t len, char *why, size_t wl)
{
    if (C.max_bytes == 0 || W.bytes + len + STOP_ROOM <= C.max_bytes)
        return false;
    snprintf(why, wl, "the size limit (%llu bytes) was reached", (unsigned long long)C.max_bytes);
    return true;
}

/* Whether the duration limit is reached: why in `why`. */
static bool time_reached(char *why, size_t wl)
{
    if (C.max_seconds > 0 && hy_now_us() - C.st.started_us >= (int64_t)C.max_seconds * 1000000) {
        snprintf(why, wl, "the duration limit (%u s) was reached", C.max_seconds);
        return true;
    }
    return false;
}

/* Take what the queue holds into `out` (C.cap items); the count. */
static uint32_t take_all(struct qitem *out, bool *stopping)
{
    pthread_mutex_lock(&C.mu);
    if (C.n == 0 && !C.stopping) {
        struct timespec due = hy_deadline_ms(200);
        pthread_cond_timedwait(&C.wake, &C.mu, &due);
    }
    uint32_t n = C.n;
    for (uint32_t i = 0; i < n; i++)
        out[i] = C.ring[(C.head + i) % C.cap];
    C.head = (C.head + n) % C.cap;
    C.n = 0;
    *stopping = C.stopping;
    pthread_mutex_unlock(&C.mu);
    return n;
}

/* A write of the batch failed (a full disk): stdio had taken the first
 * `put` records (counted as written from `bytes`, `records`), the file
 * holds what reached it. The file is cut after its last whole record, so
 * that it reads back (a record cut short would make it refused from
 * there), what stdio still holds is thrown away, and the records that
 * did not reach the file whole are counted as dropped. */
static void write_failed_settle(const struct qitem *batch, uint32_t put, uint64_t bytes,
                                uint64_t records)
{
    int fd = fileno(C.f);
    struct stat sb;
    uint64_t on_disk = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : bytes;
    uint64_t whole = bytes, kept = records;
    for (uint32_t i = 0; i < put && whole + batch[i].len <= on_disk; i++) {
        whole += batch[i].len;
        kept++;
    }
    __fpurge(C.f);
    if (ftruncate(fd, (off_t)whole) != 0)
        hy_log_warn("capture %s: cannot cut the file after its last whole record (offset "
                    "%llu): %s",
                    C.st.file, (unsigned long long)whole, strerror(errno));
    drop(CAPTURE_DROP_WRITE_FAILED, records + put - kept);
    W.bytes = whole;
    W.records = kept;
}

/* Write a batch of `n` records; false when the capture ends (why in
 * `why`, *failed when a write failed): the records not written are
 * dropped and counted, by reason. */
static bool write_batch(struct qitem *batch, uint32_t n, char *why, size_t wl, bool *failed)
{
    bool on = true;
    uint64_t bytes = W.bytes, records = W.records; /* what the file held whole */
    uint32_t put = 0;                              /* records stdio took */
    for (uint32_t i = 0; i < n; i++) {
        if (on && size_reached(batch[i].len, why, wl))
            on = false;
        else if (on && !write_rec(batch[i].p, batch[i].len, why, wl))
            on = false, *failed = true;
        else if (on)
            put++;
        if (!on)
            drop(*failed ? CAPTURE_DROP_WRITE_FAILED : CAPTURE_DROP_LIMIT, 1);
        free(batch[i].p);
    }
    if (on && n > 0 && fflush(C.f) != 0) {
        snprintf(why, wl, "the write failed: %s", strerror(errno));
        on = false, *failed = true;
    }
    if (*failed)
        write_failed_settle(batch, put, bytes, records);
    return on;
}

static void *writer_main(void *arg)
{
    (void)arg;
    struct qitem *batch = calloc(C.cap, sizeof(*batch));
    char why[256] = "";
    bool stopping = false, failed = batch == NULL, on = !failed;
    if (failed)
        snprintf(why, sizeof(why), "out of memory");
    while (on && !stopping) {
        uint32_t n = take_all(batch, &stopping);
        on = write_batch(batch, n, why, sizeof(why), &failed);
        publish();
        if (on && !stopping && time_reached(why, sizeof(why)))
            on = false;
    }
    pthread_mutex_lock(&C.mu);
    atomic_store(&capture_running, 0); /* the sessions stop handing records over */
    C.stopping = true;
    uint64_t left = C.n;
    while (C.n > 0) { /* handed over before the end, never written */
        free(C.ring[C.head].p);
        C.head = (C.head + 1) % C.cap;
        C.n--;
    }
    pthread_mutex_unlock(&C.mu);
    drop(failed ? CAPTURE_DROP_WRITE_FAILED : CAPTURE_DROP_LIMIT, left);
    if (why[0] == '\0')
        snprintf(why, sizeof(why), "stopped by the capture stop command");
    if (!failed)
        write_stop_rec(why);
    if (fclose(C.f) != 0 && !failed)
        snprintf(why, sizeof(why), "closing the file failed: %s", strerror(errno));
    C.f = NULL;
    free(batch);
    pthread_mutex_lock(&C.mu);
    C.st.records = W.records;
    C.st.bytes = W.bytes;
    snprintf(C.st.stopped_why, sizeof(C.st.stopped_why), "%s", why);
    C.st.stopped_us = hy_now_us();
    C.st.on = false;
    pthread_mutex_unlock(&C.mu);
    if (failed)
        hy_log_error("capture %s stopped: %s (the sessions go on uncaptured; %llu records dropped)",
                     C.st.file, why, (unsigned long long)drops_now());
    else
        hy_log_info("capture %s stopped: %s: %llu records, %llu bytes, %llu dropped", C.st.file,
                    why, (unsigned long long)W.records, (unsigned long long)W.bytes,
                    (unsigned long long)drops_now());
    return NULL;
}

static void join_thread(void)
{
    if (C.thread_on) {
        pthread_join(C.thread, NULL);
        C.thread_on = false;
    }
    free(C.ring);
    C.ring = NULL;
}

/* The file with its header and START record; NULL with `msg` on failure. */
static FILE *open_file(const struct capture_opts *o, char *msg, size_t len)
{
    FILE *f = fopen(o->file, "wxe");
    if (f == NULL) {
        snprintf(msg, len, "capture: cannot create %s: %s", o->file, strerror(errno));
        return NULL;
    }
    uint8_t head[CAPTURE_HEADER_SIZE];
    capture_header(head, o->mask ? CAPTURE_FLAG_MASKED : 0);
    uint8_t mem[1024];
    struct capture_buf b;
    capture_buf_begin(&b, mem, sizeof(mem), CAPTURE_START);
    capture_put_u64(&b, (uint64_t)hy_now_us());
    capture_put_str(&b, o->gtid, strlen(o->gtid));
    capture_put_str(&b, o->primary, strlen(o->primary));
    size_t n = capture_rec_done(&b);
    capture_frame_crc(mem, n);
    if (fwrite(head, 1, sizeof(head), f) != sizeof(head) || fwrite(mem, 1, n, f) != n ||
        fflush(f) != 0) {
        snprintf(msg, len, "capture: cannot write %s: %s", o->file, strerror(errno));
        fclose(f);
        return NULL;
    }
    W.bytes = sizeof(head) + n;
    W.records = 1;
    return f;
}

hy_status_t capture_start(const struct capture_opts *o, char *msg, size_t len)
{
    if (capture_now() != 0) {
        snprintf(msg, len, "capture: %s is being captured already (capture stop first)", C.st.file);
        return HY_ERROR;
    }
    join_thread(); /* a capture that stopped by itself */
    struct capture_status st = {0};
    C.st = st;
    C.ring = calloc(o->queue > 0 ? o->queue : 1, sizeof(*C.ring));
    if (C.ring == NULL) {
        snprintf(msg, len, "capture: out of memory");
        return HY_ERROR;
    }
    C.f = open_file(o, msg, len);
    if (C.f == NULL) {
        join_thread();
        return HY_ERROR;
    }
    C.cap = o->queue > 0 ? o->queue : 1;
    C.head = C.n = 0;
    C.stopping = false;
    C.max_bytes = o->max_bytes;
    C.max_seconds = o->max_seconds;
    for (int i = 0; i < CAPTURE_DROP_N; i++)
        atomic_store(&C.drops[i], 0);
    atomic_store(&C.sessions, 0);
    atomic_store(&C.mask, o->mask);
    C.st.on = true;
    C.st.mask = o->mask;
    snprintf(last_primary, sizeof(last_primary), "%s", o->primary);
    C.st.started_us = hy_now_us();
    snprintf(C.st.file, sizeof(C.st.file), "%s", o->file);
    snprintf(C.st.gtid, sizeof(C.st.gtid), "%s", o->gtid);
    C.st.records = W.records;
    C.st.bytes = W.bytes;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int prc = pthread_create(&C.thread, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0) {
        snprintf(msg, len, "capture: cannot start its writer: %s", strerror(prc));
        fclose(C.f);
        C.f = NULL;
        C.st.on = false;
        join_thread();
        return HY_ERROR;
    }
    C.thread_on = true;
    if (++C.gen == 0)
        C.gen = 1;
    atomic_store(&capture_running, C.gen);
    snprintf(msg, len, "capture started: %s from GTID '%s' of %s", o->file, o->gtid, o->primary);
    hy_log_info("%s", msg);
    return HY_OK;
}

hy_status_t capture_stop(char *msg, size_t len)
{
    if (!C.thread_on) {
        snprintf(msg, len, "capture: none is running");
        return HY_ERROR;
    }
    bool was_on = capture_now() != 0;
    pthread_mutex_lock(&C.mu);
    C.stopping = true;
    pthread_cond_signal(&C.wake);
    pthread_mutex_unlock(&C.mu);
    join_thread();
    snprintf(msg, len, "capture %s %s: %s; %llu records, %llu bytes, %llu dropped", C.st.file,
             was_on ? "stopped" : "had stopped", C.st.stopped_why, (unsigned long long)C.st.records,
             (unsigned long long)C.st.bytes, (unsigned long long)drops_now());
    return HY_OK;
}

void capture_status_get(struct capture_status *st)
{
    pthread_mutex_lock(&C.mu);
    *st = C.st;
    pthread_mutex_unlock(&C.mu);
    st->on = st->on && capture_now() != 0;
    st->drops = 0;
    for (int i = 0; i < CAPTURE_DROP_N; i++) {
        st->drops_by[i] = atomic_load_explicit(&C.drops[i], memory_order_relaxed);
        st->drops += st->drops_by[i];
    }
    st->sessions = atomic_load(&C.sessions);
}

void capture_shutdown(void)
{
    char msg[256];
    if (C.thread_on)
        (void)capture_stop(msg, sizeof(msg));
}
