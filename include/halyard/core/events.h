/*
 * events.h: the state changes halyard tells someone about (alerts.h
 * delivers them).
 *
 * Every change halyard already logs (a backend down or back, a failover, a
 * reload, an address blocked...) is also an event: a stable name and a
 * JSON body. Whoever makes the change calls events_emit() in its own
 * thread: a worker (auth_block), the monitor, the failover thread, the main
 * thread. events_emit() copies the event into a slot of a bounded
 * lock-free ring sized at start (alerts.queue_size) and pokes the notifier
 * thread through an eventfd: no lock, no allocation, never a wait. When the
 * ring is full the event is dropped and counted (events_dropped()).
 *
 * The JSON body, one object:
 *   {"event":"backend_down","severity":"warning",
 *    "time":"2026-11-22T22:30:01.123Z","seq":12,
 *    "instance":"db-proxy-1:3306","backend":"replica1","old":"ONLINE",
 *    "new":"DOWN","reason":"...","action":"...","coalesced":0}
 * backend, old, new, action are "" when they do not apply.
 */
#ifndef HALYARD_EVENTS_H
#define HALYARD_EVENTS_H

#include <stdint.h>

#include "halyard/core/core.h"

enum event_type {
    EVENT_BACKEND_DOWN = 0,
    EVENT_BACKEND_UP,
    EVENT_BACKEND_LAGGING,
    EVENT_BACKEND_DRAINED,
    EVENT_PRIMARY_LOST,
    EVENT_FAILOVER_STARTED,
    EVENT_FAILOVER_DONE,
    EVENT_FAILOVER_FAILED,
    EVENT_SWITCHOVER_DONE,
    EVENT_FAILOVER_VETOED, /* alerts.pre_failover said no */
    EVENT_FENCED,
    EVENT_REJOINED,
    EVENT_CONFIG_RELOADED,
    EVENT_CONFIG_RELOAD_FAILED,
    EVENT_AUTH_BLOCK,
    EVENT_HALYARD_STARTED,
    EVENT_HALYARD_STOPPING,
    EVENT_TEST_ALERT,               /* halyardctl test-alert */
    EVENT_BACKEND_CONNECTIONS_HIGH, /* monitor.connections_warn_pct reached */
    EVENT_BACKEND_CONNECTIONS_OK,   /* ... and back below it */
    EVENT_BACKEND_DISK_HIGH,        /* monitor.disk_warn_pct reached (information_schema.DISKS) */
    EVENT_BACKEND_DISK_OK,
    EVENT_BACKEND_BINLOG_HIGH, /* monitor.binlog_warn_mb reached (SHOW BINARY LOGS) */
    EVENT_BACKEND_BINLOG_OK,
    EVENT_HALYARD_FDS_HIGH, /* fd_warn_pct of RLIMIT_NOFILE reached (selfwatch.h) */
    EVENT_HALYARD_FDS_OK,
    EVENT_LOG_LINES_DROPPED, /* the audit or query log dropped lines */
    EVENT_WORKER_STALLED,    /* a worker's loop missed its heartbeat (selfwatch.h) */
    EVENT_WORKER_RECOVERED,
    EVENT_POOL_EXHAUSTED,       /* statements wait for a backend at its max_connections (pool.h) */
    EVENT_POOL_AVAILABLE,       /* ... and none waits any more */
    EVENT_BACKUP_ARCHIVE_ERROR, /* the binlog archive stopped: a corrupted event, backup.dir, the
                                   server */
    EVENT_BACKUP_ARCHIVE_GAP,   /* the archive's GTIDs jump: transactions missing (binlog_archive.h)
                                 */
    EVENT_BACKUP_ARCHIVE_OK,    /* the archive streams again after an error */
    EVENT_BACKUP_FULL_STARTED,  /* a scheduled full backup started (backup_sched.h) */
    EVENT_BACKUP_FULL_FAILED,   /* a full backup failed (backup_full.h) */
    EVENT_BACKUP_FULL_OLD,      /* the newest complete full backup is older than full_max_age */
    EVENT_BACKUP_FULL_OK,       /* ... and a complete one came after */
    EVENT_BACKUP_COPY_FAILED,   /* a file's second copy failed (backup_copy.h) */
    EVENT_BACKUP_COPY_OK,       /* ... and no copy is failing any more */
    EVENT_BACKUP_KEY_MISSING,   /* a full backup is encrypted under a key the config lacks */
    EVENT_BACKUP_CHAIN_NEW,     /* an incr or diff was due, a full was taken (backup_chain.h) */
    EVENT_BACKUP_EXPIRED,       /* retention deleted backups (backup_retain.h) */
    EVENT_BACKUP_CHAIN_BROKEN,  /* an incr or diff whose chain lacks a backup (backup_watch.h) */
    EVENT_BACKUP_WINDOW_SHORT,  /* the restorable window is shorter than the policy promises */
    EVENT_BACKUP_WINDOW_OK,     /* ... and holds again */
    EVENT_FAILOVER_SESSIONS,    /* what a failover did to the sessions (failover_tally.h) */
    EVENT_WRITER_CHANGED,       /* a Galera group's writer moved to another node */
    EVENT_LIMIT_HOLDING,        /* a fair-share limit holds statements back (limits.h) */
    EVENT_LIMIT_CLEAR,          /* ... and they go at once again */
    EVENT__COUNT
};
/* alerts.disabled and alerts.events are bit masks and tables of 64. */
_Static_assert(EVENT__COUNT <= 64, "event types past 64: widen config_alerts");

/* How much a person should care, fixed per event (halyard.conf(5), ALERTS):
 * alerts.min_severity drops what is below it. */
enum event_severity {
    EVENT_INFO = 0,
    EVENT_WARNING,
    EVENT_CRITICAL,
};

enum event_severity event_severity_of(enum event_type t);
const char *event_severity_name(enum event_severity s);
/* "info", "warning", "critical" -> the severity; -1 otherwise. */
int event_severity_parse(const char *name);

/* "backend_down" ...; "?" out of range. */
const char *event_name(enum event_type t);
/* The type named `name`, or -1. */
int event_parse(const char *name);

#define EVENT_NAME_MAX  128  /* backend name, states */
#define EVENT_TEXT_MAX  1024 /* reason, action */
#define EVENT_STATE_MAX 48
#define EVENT_JSON_MAX  16384 /* any event fits: escaping grows text at most 6x */

struct event {
    uint64_t seq;    /* given by events_emit, from 1 */
    int64_t time_us; /* wall clock */
    enum event_type type;
    enum event_severity severity; /* the type's (event_fill); alerts.events may change it */
    uint32_t coalesced;           /* earlier events of this name and backend folded into this one */
    char backend[EVENT_NAME_MAX];
    char old_state[EVENT_STATE_MAX];
    char new_state[EVENT_STATE_MAX];
    char reason[EVENT_TEXT_MAX];
    char action[EVENT_TEXT_MAX];
};

/* Fill `e` (any argument may be NULL: ""; text cut to fit). Pure but for
 * the clock and the sequence number (seq = 0 here). */
void event_fill(struct event *e, enum event_type t, const char *backend, const char *old_state,
                const char *new_state, const char *reason, const char *action);

/* "2026-11-22T22:30:01.123Z" */
void event_time_iso(int64_t time_us, char *out, size_t cap);

/* `e` as one JSON object (no newline) into `out`; returns its length.
 * Strings are escaped as the audit log escapes them (valid JSON whatever
 * the bytes); a text too long for `cap` is cut, the object stays valid. */
size_t event_json(const struct event *e, const char *instance, char *out, size_t cap);

/* ---- the ring: bounded, multi-producer, lock-free (Vyukov) ---- */

struct event_slot;
struct event_ring {
    struct event_slot *slots;
    size_t mask;
    _Atomic size_t head; /* next to write */
    _Atomic size_t tail; /* next to read */
};

/* `cap` is rounded up to a power of two (at least 2). */
hy_status_t event_ring_init(struct event_ring *r, size_t cap) HY_MUSTCHECK;
void event_ring_free(struct event_ring *r);
/* Any thread: false when full (nothing written). */
bool event_ring_push(struct event_ring *r, const struct event *e);
/* One consumer: false when empty. */
bool event_ring_pop(struct event_ring *r, struct event *out);

/* ---- the process's events ---- */

/* Main thread, at start, before any thread that emits exists: a ring of
 * `queue_size` events and the notifier's eventfd. Before it (halyardctl,
 * unit tests) events_emit() does nothing. */
hy_status_t events_setup(size_t queue_size) HY_MUSTCHECK;
void events_teardown(void);
/* Any thread, never blocks. Returns the event's seq, 0 when it was
 * dropped (or events are not set up). */
uint64_t events_emit(enum event_type t, const char *backend, const char *old_state,
                     const char *new_state, const char *reason, const char *action);
/* Events dropped because the ring was full. */
uint64_t events_dropped(void);
/* The notifier's side: the eventfd to wait on (-1 before setup), and the
 * next event (false when none). */
int events_wake_fd(void);
bool events_next(struct event *out);

/* The instance name events carry (set by the main thread at start and
 * reload from instance_name, or hostname:first listener port). */
void events_set_instance(const char *name);
void events_instance(char *out, size_t cap);

#endif /* HALYARD_EVENTS_H */
