/*
 * events.c: event names, the JSON body, and the ring events wait in for
 * the notifier thread (alerts.c).
 *
 * The ring is Dmitry Vyukov's bounded MPMC queue: each slot carries a
 * sequence number; a producer claims a position with one CAS on `head`,
 * copies the event into the slot and publishes it by storing the slot's
 * sequence. A full ring fails the push at once (the event is counted as
 * dropped), so a worker that emits (auth_block) never waits, never
 * allocates: the slots are allocated once, at start.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/clock.h"
#include "halyard/core/audit.h"
#include "halyard/core/events.h"

static const char *const names[EVENT__COUNT] = {
    [EVENT_BACKEND_DOWN] = "backend_down",
    [EVENT_BACKEND_UP] = "backend_up",
    [EVENT_BACKEND_LAGGING] = "backend_lagging",
    [EVENT_BACKEND_DRAINED] = "backend_drained",
    [EVENT_PRIMARY_LOST] = "primary_lost",
    [EVENT_FAILOVER_STARTED] = "failover_started",
    [EVENT_FAILOVER_DONE] = "failover_done",
    [EVENT_FAILOVER_FAILED] = "failover_failed",
    [EVENT_SWITCHOVER_DONE] = "switchover_done",
    [EVENT_FAILOVER_VETOED] = "failover_vetoed",
    [EVENT_FENCED] = "fenced",
    [EVENT_REJOINED] = "rejoined",
    [EVENT_CONFIG_RELOADED] = "config_reloaded",
    [EVENT_CONFIG_RELOAD_FAILED] = "config_reload_failed",
    [EVENT_AUTH_BLOCK] = "auth_block",
    [EVENT_HALYARD_STARTED] = "halyard_started",
    [EVENT_HALYARD_STOPPING] = "halyard_stopping",
    [EVENT_TEST_ALERT] = "test_alert",
    [EVENT_BACKEND_CONNECTIONS_HIGH] = "backend_connections_high",
    [EVENT_BACKEND_CONNECTIONS_OK] = "backend_connections_ok",
    [EVENT_BACKEND_DISK_HIGH] = "backend_disk_high",
    [EVENT_BACKEND_DISK_OK] = "backend_disk_ok",
    [EVENT_BACKEND_BINLOG_HIGH] = "backend_binlog_high",
    [EVENT_BACKEND_BINLOG_OK] = "backend_binlog_ok",
    [EVENT_HALYARD_FDS_HIGH] = "halyard_fds_high",
    [EVENT_HALYARD_FDS_OK] = "halyard_fds_ok",
    [EVENT_LOG_LINES_DROPPED] = "log_lines_dropped",
    [EVENT_WORKER_STALLED] = "worker_stalled",
    [EVENT_WORKER_RECOVERED] = "worker_recovered",
    [EVENT_POOL_EXHAUSTED] = "pool_exhausted",
    [EVENT_POOL_AVAILABLE] = "pool_available",
    [EVENT_BACKUP_ARCHIVE_ERROR] = "backup_archive_error",
    [EVENT_BACKUP_ARCHIVE_GAP] = "backup_archive_gap",
    [EVENT_BACKUP_ARCHIVE_OK] = "backup_archive_ok",
    [EVENT_BACKUP_FULL_STARTED] = "backup_full_started",
    [EVENT_BACKUP_FULL_FAILED] = "backup_full_failed",
    [EVENT_BACKUP_FULL_OLD] = "backup_full_old",
    [EVENT_BACKUP_FULL_OK] = "backup_full_ok",
    [EVENT_BACKUP_COPY_FAILED] = "backup_copy_failed",
    [EVENT_BACKUP_COPY_OK] = "backup_copy_ok",
    [EVENT_BACKUP_KEY_MISSING] = "backup_key_missing",
    [EVENT_BACKUP_CHAIN_NEW] = "backup_chain_new",
    [EVENT_BACKUP_EXPIRED] = "backup_expired",
    [EVENT_BACKUP_CHAIN_BROKEN] = "backup_chain_broken",
    [EVENT_BACKUP_WINDOW_SHORT] = "backup_window_short",
    [EVENT_BACKUP_WINDOW_OK] = "backup_window_ok",
    [EVENT_FAILOVER_SESSIONS] = "failover_sessions",
    [EVENT_WRITER_CHANGED] = "writer_changed",
    [EVENT_LIMIT_HOLDING] = "limit_holding",
    [EVENT_LIMIT_CLEAR] = "limit_clear",
};

static const enum event_severity severities[EVENT__COUNT] = {
    [EVENT_BACKEND_DOWN] = EVENT_WARNING,
    [EVENT_BACKEND_UP] = EVENT_INFO,
    [EVENT_BACKEND_LAGGING] = EVENT_WARNING,
    [EVENT_BACKEND_DRAINED] = EVENT_INFO,
    [EVENT_PRIMARY_LOST] = EVENT_CRITICAL,
    [EVENT_FAILOVER_STARTED] = EVENT_CRITICAL,
    [EVENT_FAILOVER_DONE] = EVENT_CRITICAL,
    [EVENT_FAILOVER_FAILED] = EVENT_CRITICAL,
    [EVENT_SWITCHOVER_DONE] = EVENT_INFO,
    [EVENT_FAILOVER_VETOED] = EVENT_CRITICAL,
    [EVENT_FENCED] = EVENT_WARNING,
    [EVENT_REJOINED] = EVENT_INFO,
    [EVENT_CONFIG_RELOADED] = EVENT_INFO,
    [EVENT_CONFIG_RELOAD_FAILED] = EVENT_WARNING,
    [EVENT_AUTH_BLOCK] = EVENT_WARNING,
    [EVENT_HALYARD_STARTED] = EVENT_INFO,
    [EVENT_HALYARD_STOPPING] = EVENT_WARNING,
    [EVENT_TEST_ALERT] = EVENT_CRITICAL,
    [EVENT_BACKEND_CONNECTIONS_HIGH] = EVENT_WARNING,
    [EVENT_BACKEND_CONNECTIONS_OK] = EVENT_INFO,
    [EVENT_BACKEND_DISK_HIGH] = EVENT_WARNING,
    [EVENT_BACKEND_DISK_OK] = EVENT_INFO,
    [EVENT_BACKEND_BINLOG_HIGH] = EVENT_WARNING,
    [EVENT_BACKEND_BINLOG_OK] = EVENT_INFO,
    [EVENT_HALYARD_FDS_HIGH] = EVENT_WARNING,
    [EVENT_HALYARD_FDS_OK] = EVENT_INFO,
    [EVENT_LOG_LINES_DROPPED] = EVENT_WARNING,
    [EVENT_WORKER_STALLED] = EVENT_CRITICAL,
    [EVENT_WORKER_RECOVERED] = EVENT_INFO,
    [EVENT_POOL_EXHAUSTED] = EVENT_WARNING,
    [EVENT_POOL_AVAILABLE] = EVENT_INFO,
    [EVENT_BACKUP_ARCHIVE_ERROR] = EVENT_CRITICAL,
    [EVENT_BACKUP_ARCHIVE_GAP] = EVENT_CRITICAL,
    [EVENT_BACKUP_ARCHIVE_OK] = EVENT_INFO,
    [EVENT_BACKUP_FULL_STARTED] = EVENT_INFO,
    [EVENT_BACKUP_FULL_FAILED] = EVENT_WARNING,
    [EVENT_BACKUP_FULL_OLD] = EVENT_CRITICAL,
    [EVENT_BACKUP_FULL_OK] = EVENT_INFO,
    [EVENT_BACKUP_COPY_FAILED] = EVENT_CRITICAL,
    [EVENT_BACKUP_COPY_OK] = EVENT_INFO,
    [EVENT_BACKUP_KEY_MISSING] = EVENT_CRITICAL,
    [EVENT_BACKUP_CHAIN_NEW] = EVENT_WARNING,
    [EVENT_BACKUP_EXPIRED] = EVENT_INFO,
    [EVENT_BACKUP_CHAIN_BROKEN] = EVENT_CRITICAL,
    [EVENT_BACKUP_WINDOW_SHORT] = EVENT_WARNING,
    [EVENT_BACKUP_WINDOW_OK] = EVENT_INFO,
    [EVENT_FAILOVER_SESSIONS] = EVENT_INFO,
    [EVENT_WRITER_CHANGED] = EVENT_WARNING,
    [EVENT_LIMIT_HOLDING] = EVENT_WARNING,
    [EVENT_LIMIT_CLEAR] = EVENT_INFO,
};

static const char *const severity_names[] = {"info", "warning", "critical"};

enum event_severity event_severity_of(enum event_type t)
{
    return (unsigned)t < EVENT__COUNT ? severities[t] : EVENT_INFO;
}

const char *event_severity_name(enum event_severity s)
{
    return (unsigned)s <= EVENT_CRITICAL ? severity_names[s] : "?";
}

int event_severity_parse(const char *name)
{
    for (int i = 0; i <= EVENT_CRITICAL; i++) {
        if (strcmp(severity_names[i], name) == 0)
            return i;
    }
    return -1;
}

const char *event_name(enum event_type t)
{
    return (unsigned)t < EVENT__COUNT ? names[t] : "?";
}

int event_parse(const char *name)
{
    for (int i = 0; i < EVENT__COUNT; i++) {
        if (strcmp(names[i], name) == 0)
            return i;
    }
    return -1;
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

void event_fill(struct event *e, enum event_type t, const char *backend, const char *old_state,
                const char *new_state, const char *reason, const char *action)
{
    e->seq = 0;
    e->time_us = hy_now_us();
    e->type = t;
    e->severity = event_severity_of(t);
    e->coalesced = 0;
    copy(e->backend, sizeof(e->backend), backend);
    copy(e->old_state, sizeof(e->old_state), old_state);
    copy(e->new_state, sizeof(e->new_state), new_state);
    copy(e->reason, sizeof(e->reason), reason);
    copy(e->action, sizeof(e->action), action);
}

void event_time_iso(int64_t time_us, char *out, size_t cap)
{
    time_t sec = (time_t)(time_us / 1000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char day[32];
    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", day, (int)(time_us / 1000 % 1000));
}

/* ---- JSON ---------------------------------------------------------------- */

struct jbuf {
    char *out;
    size_t cap, pos;
};

static void j_raw(struct jbuf *j, const char *s)
{
    size_t n = strlen(s);
    if (j->pos + n < j->cap) {
        memcpy(j->out + j->pos, s, n);
        j->pos += n;
    }
}

/* "key":"value", the value cut (by halves) until it fits with room for
 * the object's end. */
static void j_str(struct jbuf *j, const char *key, const char *s)
{
    char k[64];
    snprintf(k, sizeof(k), ",\"%s\":\"", key);
    size_t mark = j->pos;
    j_raw(j, k);
    size_t len = strlen(s);
    for (;;) {
        size_t pos = j->pos;
        if (j->cap > 64 && audit_json_escape(j->out, j->cap - 64, &pos, s, len)) {
            j->pos = pos;
            break;
        }
        if (len == 0) {
            j->pos = mark;
            return;
        }
        len /= 2;
    }
    j_raw(j, "\"");
}

size_t event_json(const struct event *e, const char *instance, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    struct jbuf j = {.out = out, .cap = cap, .pos = 0};
    char time_s[40], head[160];
    event_time_iso(e->time_us, time_s, sizeof(time_s));
    snprintf(
        head, sizeof(head), "{\"event\":\"%s\",\"severity\":\"%s\",\"time\":\"%s\",\"seq\":%llu",
        event_name(e->type), event_severity_name(e->severity), time_s, (unsigned long long)e->seq);
    j_raw(&j, head);
    j_str(&j, "instance", instance != NULL ? instance : "");
    j_str(&j, "backend", e->backend);
    j_str(&j, "old", e->old_state);
    j_str(&j, "new", e->new_state);
    j_str(&j, "reason", e->reason);
    j_str(&j, "action", e->action);
    char tail[48];
    snprintf(tail, sizeof(tail), ",\"coalesced\":%u}", e->coalesced);
    j_raw(&j, tail);
    out[j.pos < cap ? j.pos : cap - 1] = '\0';
    return j.pos;
}

/* ---- the ring ------------------------------------------------------------ */

struct event_slot {
    _Atomic size_t seq;
    struct event ev;
};

hy_status_t event_ring_init(struct event_ring *r, size_t cap)
{
    size_t n = 2;
    while (n < cap)
        n <<= 1;
    r->slots = calloc(n, sizeof(*r->slots));
    if (r->slots == NULL)
        return HY_NOMEM;
    for (size_t i = 0; i < n; i++)
        atomic_init(&r->slots[i].seq, i);
    r->mask = n - 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return HY_OK;
}

void event_ring_free(struct event_ring *r)
{
    free(r->slots);
    r->slots = NULL;
}

bool event_ring_push(struct event_ring *r, const struct event *e)
{
    size_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (;;) {
        struct event_slot *s = &r->slots[pos & r->mask];
        size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                s->ev = *e;
                atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
                return true;
            }
        } else if (dif < 0) {
            return false; /* full */
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
}

bool event_ring_pop(struct event_ring *r, struct event *out)
{
    size_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
    struct event_slot *s = &r->slots[pos & r->mask];
    size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
    if ((intptr_t)seq - (intptr_t)(pos + 1) < 0)
        return false; /* empty, or the producer has not finished copying */
    *out = s->ev;
    atomic_store_explicit(&r->tail, pos + 1, memory_order_relaxed);
    atomic_store_explicit(&s->seq, pos + r->mask + 1, memory_order_release);
    return true;
}

/* ---- the process's events ------------------------------------------------- */

static struct event_ring ring;
static atomic_bool ring_ready;
static int wake_fd = -1;
static _Atomic uint64_t seq_next = 1;
static _Atomic uint64_t dropped;
static pthread_mutex_t instance_lock = PTHREAD_MUTEX_INITIALIZER;
static char instance_name[256];

hy_status_t events_setup(size_t queue_size)
{
    if (atomic_load(&ring_ready))
        return HY_OK;
    if (event_ring_init(&ring, queue_size) != HY_OK)
        return HY_NOMEM;
    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd < 0) {
        event_ring_free(&ring);
        return HY_ERROR;
    }
    atomic_store(&ring_ready, true);
    return HY_OK;
}

void events_teardown(void)
{
    if (!atomic_exchange(&ring_ready, false))
        return;
    close(wake_fd);
    wake_fd = -1;
    event_ring_free(&ring);
}

uint64_t events_emit(enum event_type t, const char *backend, const char *old_state,
                     const char *new_state, const char *reason, const char *action)
{
    if (!atomic_load_explicit(&ring_ready, memory_order_acquire))
        return 0;
    struct event e;
    event_fill(&e, t, backend, old_state, new_state, reason, action);
    e.seq = atomic_fetch_add_explicit(&seq_next, 1, memory_order_relaxed);
    if (!event_ring_push(&ring, &e)) {
        atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
        return 0;
    }
    uint64_t one = 1;
    ssize_t w HY_UNUSED = write(wake_fd, &one, sizeof(one)); /* EAGAIN: already poked */
    return e.seq;
}

uint64_t events_dropped(void)
{
    return atomic_load_explicit(&dropped, memory_order_relaxed);
}

int events_wake_fd(void)
{
    return wake_fd;
}

bool events_next(struct event *out)
{
    return atomic_load_explicit(&ring_ready, memory_order_acquire) && event_ring_pop(&ring, out);
}

void events_set_instance(const char *name)
{
    pthread_mutex_lock(&instance_lock);
    snprintf(instance_name, sizeof(instance_name), "%s", name);
    pthread_mutex_unlock(&instance_lock);
}

void events_instance(char *out, size_t cap)
{
    pthread_mutex_lock(&instance_lock);
    snprintf(out, cap, "%s", instance_name);
    pthread_mutex_unlock(&instance_lock);
}
