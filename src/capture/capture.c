/*
 * capture.c: the capture's buffers and its writer thread (capture.h).
 * Each thread that hands records over (a worker) builds them in a block
 * of its own, its lane, with no lock: the lane's pointer to its block is
 * swapped atomically, BUSY while the thread writes into the block. A
 * block that is full goes to the writer's queue (under the mutex, once a
 * block, bounded in records); the writer takes the queue, then every
 * lane's block (under the mutex too, so that a lane's block taken is
 * newer than its blocks queued: each session's records stay in order),
 * at each wake (a block queued, or every SWEEP_MS), writes each record's
 * CRC, the blocks with one write each, and enforces the limits. Only one
 * capture runs at a time; its thread is joined by the next start or stop,
 * or at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "halyard/capture/capture.h"
#include "halyard/capture/capture_format.h"
#include "halyard/core/clock.h"
#include "halyard/core/log.h"

_Atomic uint32_t capture_running;

#define BLOCK_SIZE (64u << 10) /* a lane's block; a longer record gets one of its own */
#define SWEEP_MS   100         /* the writer takes the lanes' blocks at least this often */

/* Records, framed (capture_rec_done), their CRC still to write. */
struct block {
    struct block *next; /* in the queue */
    uint32_t gen;       /* the capture it belongs to */
    uint32_t records;
    size_t len, cap;
    uint8_t p[];
};

/* A thread's block: `cur` holds it while the thread is not writing into
 * it (the writer may take it then: NULL), BUSY while it is (`held`, the
 * thread's own). Lanes are never freed: a thread's is found again in
 * `my_lane`, every one in `lanes`. */
#define BUSY ((struct block *)(uintptr_t)1)
struct lane {
    _Atomic(struct block *) cur;
    struct block *held;
    struct lane *next; /* under C.mu */
};
static _Thread_local struct lane *my_lane;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct block *qhead, *qtail; /* full blocks handed over */
    uint32_t cap, n;             /* records queued: at most cap (but one block always goes) */
    struct lane *lanes;
    bool stopping;  /* capture_stop asked the thread to end */
    bool thread_on; /* a thread to join */
    pthread_t thread;
    int fd;
    uint32_t gen; /* the last capture's number */
    struct capture_status st;
    uint64_t max_bytes;
    uint32_t max_seconds;
    _Atomic uint64_t drops[CAPTURE_DROP_N]; /* this capture's, by reason */
    _Atomic uint64_t sessions;
    _Atomic bool mask;
} C = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .fd = -1};

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
    if (n > 0)
        (void)capture_put(mem, n, gen);
}

/* ---- the lanes (any thread handing records over) -------------------------- */

static struct lane *lane_new(void)
{
    struct lane *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    pthread_mutex_lock(&C.mu);
    l->next = C.lanes;
    C.lanes = l;
    pthread_mutex_unlock(&C.mu);
    return my_lane = l;
}

static struct block *block_new(size_t cap, uint32_t gen)
{
    struct block *k = malloc(sizeof(*k) + cap);
    if (k != NULL)
        *k = (struct block){.gen = gen, .cap = cap};
    return k;
}

/* A full block to the writer's queue: false when the queue holds its
 * bound (the block stays the caller's). Queued even when the capture is
 * ending: the caller's lane is BUSY (it passed lane_reserve's check), so
 * the writer's last sweep waits for it and takes the queue after. */
static bool hand_over(struct block *k)
{
    bool queued = false;
    pthread_mutex_lock(&C.mu);
    if (C.n == 0 || C.n + k->records <= C.cap) {
        k->next = NULL;
        if (C.qhead == NULL) {
            C.qhead = k;
            pthread_cond_signal(&C.wake);
        } else {
            C.qtail->next = k;
        }
        C.qtail = k;
        C.n += k->records;
        queued = true;
    }
    pthread_mutex_unlock(&C.mu);
    return queued;
}

/* Room for a record of at most `max` bytes in the thread's block for the
 * capture `gen` (the lane BUSY: lane_commit ends it); NULL when there is
 * none (no capture; the queue full, counted; out of memory). */
static struct block *lane_reserve(size_t max, uint32_t gen)
{
    struct lane *l = my_lane != NULL ? my_lane : lane_new();
    if (l == NULL || gen == 0 || capture_now() != gen)
        return NULL;
    struct block *k = atomic_exchange(&l->cur, BUSY);
    if (atomic_load(&capture_running) != gen) {
        /* The writer ended the capture meanwhile: its last sweep either
         * saw this lane BUSY (and waits for it) or ended before the
         * exchange, and then nothing is added that it would not write
         * (both sides seq_cst: its store of 0 and loads of the lanes,
         * this exchange and load). */
        atomic_store(&l->cur, k);
        return NULL;
    }
    if (k != NULL && k->gen != gen) { /* an ended capture's: never written */
        free(k);
        k = NULL;
    }
    if (k != NULL && k->cap - k->len < max) {
        if (!hand_over(k)) {
            drop(CAPTURE_DROP_QUEUE_FULL, 1);
            atomic_store_explicit(&l->cur, k, memory_order_release);
            return NULL;
        }
        k = NULL;
    }
    if (k == NULL && (k = block_new(max > BLOCK_SIZE ? max : BLOCK_SIZE, gen)) == NULL) {
        atomic_store_explicit(&l->cur, NULL, memory_order_release);
        return NULL;
    }
    l->held = k;
    return k;
}

/* The record of `n` bytes (0: none) at the end of the thread's block
 * kept; the block the writer's to take again. */
static void lane_commit(size_t n)
{
    struct lane *l = my_lane;
    struct block *k = l->held;
    if (n > 0) {
        k->len += n;
        k->records++;
    }
    l->held = NULL;
    atomic_store_explicit(&l->cur, k, memory_order_release);
}

bool capture_rec_begin(struct capture_buf *b, size_t max, uint8_t type, uint32_t gen)
{
    struct block *k = lane_reserve(max, gen);
    if (k == NULL)
        return false;
    capture_buf_begin(b, k->p + k->len, max, type);
    return true;
}

bool capture_rec_put(struct capture_buf *b)
{
    size_t n = capture_rec_done(b);
    lane_commit(n);
    return n > 0;
}

bool capture_put(const uint8_t *rec, size_t len, uint32_t gen)
{
    struct block *k = lane_reserve(len, gen);
    if (k == NULL)
        return false;
    memcpy(k->p + k->len, rec, len);
    lane_commit(len);
    return true;
}

/* ---- the writer ------------------------------------------------------------- */

/* The queue's blocks, then every lane's (newer than its queued ones: no
 * block is queued while C.mu is held), in order; *busy when a lane was
 * being written into (its block is left for the next time). */
static struct block *collect(bool wait, bool *stopping, bool *busy)
{
    pthread_mutex_lock(&C.mu);
    if (wait && C.qhead == NULL && !C.stopping) {
        struct timespec due = hy_deadline_ms(SWEEP_MS);
        pthread_cond_timedwait(&C.wake, &C.mu, &due);
    }
    struct block *head = C.qhead, **tail = head != NULL ? &C.qtail->next : &head;
    C.qhead = C.qtail = NULL;
    C.n = 0;
    *busy = false;
    for (struct lane *l = C.lanes; l != NULL; l = l->next) {
        struct block *k = atomic_load(&l->cur); /* seq_cst: see lane_reserve */
        if (k == NULL)
            continue;
        if (k == BUSY || !atomic_compare_exchange_strong(&l->cur, &k, NULL)) {
            *busy = true;
            continue;
        }
        k->next = NULL;
        *tail = k;
        tail = &k->next;
    }
    *stopping = C.stopping;
    pthread_mutex_unlock(&C.mu);
    return head;
}

static size_t rec_len(const uint8_t *p)
{
    uint32_t body = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return CAPTURE_FRAME_HEAD + (size_t)body + CAPTURE_FRAME_TAIL;
}

/* Write `n` bytes; the count written (short when a write failed: errno). */
static size_t write_all(const uint8_t *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(C.fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            break;
        }
        done += (size_t)w;
    }
    return done;
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
    if (n == 0)
        return;
    capture_frame_sum(mem, n);
    if (write_all(mem, n) == n) {
        W.records++;
        W.bytes += n;
    }
}

/* The room the STOP record may take: the size limit keeps it free. */
#define STOP_ROOM (CAPTURE_FRAME_HEAD + 3 * 8 + 2 + 255 + CAPTURE_FRAME_TAIL)

/* Whether `len` more bytes would take the file past its size limit (the
 * STOP record's room kept): why in `why`. */
static bool size_reached(uint64_t len, char *why, size_t wl)
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

/* A write of the block `k` failed (a full disk) after `done` of its
 * bytes: the file is cut after its last whole record (a record cut short
 * would make it refused from there), and the records that did not reach
 * it whole are counted as dropped. */
static void write_failed_settle(const struct block *k, size_t done)
{
    size_t whole = 0;
    uint32_t kept = 0;
    while (whole < k->len && whole + rec_len(k->p + whole) <= done) {
        whole += rec_len(k->p + whole);
        kept++;
    }
    if (ftruncate(C.fd, (off_t)(W.bytes + whole)) != 0)
        hy_log_warn("capture %s: cannot cut the file after its last whole record (offset "
                    "%llu): %s",
                    C.st.file, (unsigned long long)(W.bytes + whole), strerror(errno));
    drop(CAPTURE_DROP_WRITE_FAILED, k->records - kept);
    W.bytes += whole;
    W.records += kept;
}

/* Write the records of block `k` (each one's CRC, then the block at
 * once); false when the capture ends (why in `why`, *failed when a write
 * failed): the records not written are counted as dropped, by reason. */
static bool write_block(struct block *k, char *why, size_t wl, bool *failed)
{
    size_t at = 0;
    uint32_t fit = 0;
    bool on = true;
    while (at < k->len) {
        size_t n = rec_len(k->p + at);
        if (size_reached(at + n, why, wl)) {
            on = false;
            break;
        }
        capture_frame_sum(k->p + at, n);
        at += n;
        fit++;
    }
    size_t done = write_all(k->p, at);
    if (done < at) {
        snprintf(why, wl, "the write failed: %s", strerror(errno));
        *failed = true;
        write_failed_settle(k, done);
        return false;
    }
    W.bytes += at;
    W.records += fit;
    if (!on)
        drop(CAPTURE_DROP_LIMIT, k->records - fit);
    return on;
}

/* Write the blocks `k` (and those after it) and free them; false when
 * the capture ends: what was not written is counted as dropped. */
static bool write_blocks(struct block *k, uint32_t gen, bool on, char *why, size_t wl, bool *failed)
{
    while (k != NULL) {
        struct block *next = k->next;
        if (k->gen == gen) {
            if (on)
                on = write_block(k, why, wl, failed);
            else
                drop(*failed ? CAPTURE_DROP_WRITE_FAILED : CAPTURE_DROP_LIMIT, k->records);
        }
        free(k);
        k = next;
    }
    return on;
}

/* The capture ended (C.stopping, capture_running 0): the blocks handed
 * over before, and every lane's (waiting for those being written into),
 * written when `on` (a stop command), else counted as dropped. */
static bool write_last(uint32_t gen, bool on, char *why, size_t wl, bool *failed)
{
    bool busy = true, stopping;
    while (busy) {
        struct block *k = collect(false, &stopping, &busy);
        on = write_blocks(k, gen, on, why, wl, failed);
        if (busy)
            sched_yield(); /* a session between its record's begin and put */
    }
    return on;
}

static void *writer_main(void *arg)
{
    (void)arg;
    uint32_t gen = C.gen;
    char why[256] = "";
    bool stopping = false, failed = false, on = true, busy;
    while (on && !stopping) {
        struct block *k = collect(true, &stopping, &busy);
        on = write_blocks(k, gen, on, why, sizeof(why), &failed);
        publish();
        if (on && !stopping && time_reached(why, sizeof(why)))
            on = false;
    }
    pthread_mutex_lock(&C.mu);
    atomic_store(&capture_running, 0); /* the sessions stop handing records over */
    C.stopping = true;
    pthread_mutex_unlock(&C.mu);
    on = write_last(gen, on, why, sizeof(why), &failed);
    if (why[0] == '\0')
        snprintf(why, sizeof(why), "stopped by the capture stop command");
    if (!failed)
        write_stop_rec(why);
    if (close(C.fd) != 0 && !failed)
        snprintf(why, sizeof(why), "closing the file failed: %s", strerror(errno));
    C.fd = -1;
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
}

/* The file with its header and START record: its descriptor, -1 with
 * `msg` on failure. */
static int open_file(const struct capture_opts *o, char *msg, size_t len)
{
    int fd = open(o->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(msg, len, "capture: cannot create %s: %s", o->file, strerror(errno));
        return -1;
    }
    uint8_t mem[CAPTURE_HEADER_SIZE + 1024];
    capture_header(mem, o->mask ? CAPTURE_FLAG_MASKED : 0);
    struct capture_buf b;
    capture_buf_begin(&b, mem + CAPTURE_HEADER_SIZE, sizeof(mem) - CAPTURE_HEADER_SIZE,
                      CAPTURE_START);
    capture_put_u64(&b, (uint64_t)hy_now_us());
    capture_put_str(&b, o->gtid, strlen(o->gtid));
    capture_put_str(&b, o->primary, strlen(o->primary));
    size_t n = capture_rec_done(&b);
    capture_frame_sum(b.p, n);
    C.fd = fd;
    if (write_all(mem, CAPTURE_HEADER_SIZE + n) != CAPTURE_HEADER_SIZE + n) {
        snprintf(msg, len, "capture: cannot write %s: %s", o->file, strerror(errno));
        close(fd);
        C.fd = -1;
        return -1;
    }
    W.bytes = CAPTURE_HEADER_SIZE + n;
    W.records = 1;
    return fd;
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
    if (open_file(o, msg, len) < 0)
        return HY_ERROR;
    C.cap = o->queue > 0 ? o->queue : 1;
    C.qhead = C.qtail = NULL;
    C.n = 0;
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
    uint32_t gen = C.gen + 1 != 0 ? C.gen + 1 : 1;
    C.gen = gen; /* the writer's (before its thread starts) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int prc = pthread_create(&C.thread, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0) {
        snprintf(msg, len, "capture: cannot start its writer: %s", strerror(prc));
        close(C.fd);
        C.fd = -1;
        C.st.on = false;
        return HY_ERROR;
    }
    C.thread_on = true;
    atomic_store(&capture_running, gen);
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
