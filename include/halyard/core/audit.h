/*
 * audit.h: the audit log and the query log, one JSON object per line.
 *
 * The audit log (config key audit_log) records who did what: logins and
 * failed logins, admin commands, reloads, backend state, role and fence
 * changes, statements blocked by a rule, and failover procedures
 * (failover, switchover, fence, rejoin) with their steps; docs/operations.md and
 * halyard.conf(5) list every record's fields. The query log (query_log)
 * records every statement that took at least query_log_min_duration_ms.
 *
 * Any thread may call the audit_*() and query_log_write() functions; none
 * of them blocks or waits for a lock. A call formats its line into a heap
 * node and pushes it on a lock-free list (one per log); one writer thread
 * takes the whole list at once and writes it. Each log holds at most
 * AUDIT_QUEUE_MAX bytes not yet written: past that a line is dropped and
 * counted (audit_get_stats), so a slow disk costs lines, never memory or a
 * stalled worker. Calls are cheap no-ops while a log is off.
 *
 * Every line is {"time":"2026-11-21T20:30:01.123Z","event":"...",...}.
 * Strings are JSON-escaped byte by byte: ", \ and control bytes escaped,
 * valid UTF-8 kept, any byte that is not part of valid UTF-8 written as
 * \u00XX, so a line is valid JSON whatever a client sent.
 */
#ifndef HALYARD_AUDIT_H
#define HALYARD_AUDIT_H

#include <stdint.h>

#include "halyard/core/core.h"

#define AUDIT_QUEUE_MAX    (8u << 20) /* bytes waiting per log before lines are dropped */
#define QUERY_LOG_TEXT_MAX 4096       /* bytes of a statement's text the query log keeps */

/* Main thread, at start and at every reload: the audit log goes to
 * `audit_path`, the query log to `query_path` ("" = off). A file is opened
 * (created 0640, appended to) before anything changes: on failure nothing
 * changes and `err` says why ("query_log: cannot open ...: ..."). The
 * first call starts the writer thread. */
hy_status_t audit_open(const char *audit_path, const char *query_path, int query_min_duration_ms,
                       char *err, size_t errlen) HY_MUSTCHECK;
/* Main thread, SIGUSR1: open both files again under their names (after
 * logrotate renamed them). Lines already queued go to the new files. */
hy_status_t audit_reopen(char *err, size_t errlen) HY_MUSTCHECK;
/* Wait (at most 1 s) until the lines queued so far are written (the unit
 * tests). */
void audit_flush(void);
/* Main thread, at exit: write what is queued, stop the writer thread,
 * close the files. */
void audit_shutdown(void);

/* ---- the audit log: any thread ---- */

/* A client login: ok, or refused with `reason` ("wrong password",
 * "unknown user", "blocked by ..."). `user` may be NULL (not known yet). */
void audit_login(bool ok, uint32_t session, const char *user, const char *client,
                 const char *listener, const char *reason);
/* An admin command (`who`: "uid=0 pid=123") and its result ("ok" or the
 * error line). */
void audit_admin(const char *who, const char *command, const char *result);
/* A reload by `by` ("SIGHUP", "admin uid=0 pid=1"): ok, or refused with the
 * config error in `message`. */
void audit_reload(bool ok, const char *by, const char *message);
/* What changed about a backend (the record's "event"). */
enum audit_backend_change {
    AUDIT_BACKEND_STATE,  /* "backend_state": ONLINE, DOWN, LAGGING, DRAINING, MAINT */
    AUDIT_BACKEND_ROLE,   /* "backend_role": primary, replica */
    AUDIT_BACKEND_FENCED, /* "backend_fenced": "no" -> "yes" and back */
};

/* A backend's state, role or fence changed from `from` to `to`, and why.
 * Called by whoever makes the change (backend.c), in that thread. */
void audit_backend(enum audit_backend_change what, const char *backend, const char *from,
                   const char *to, const char *reason);
/* A statement refused by a query rule or the firewall. */
void audit_block(uint32_t session, const char *user, const char *client, const char *rule,
                 const char *digest);

/* A failover procedure that ran (failover_exec.c), as one record. */
struct audit_procedure {
    const char *event;   /* "failover", "switchover", "fence" or "rejoin" */
    const char *trigger; /* "auto" (halyard decided) or "admin" (a command) */
    const char *backend; /* the server acted on: the new primary, or the one fenced or rejoined */
    const char *from;    /* failover, switchover: the old primary; fence, rejoin: its old state */
    const char *to;      /* ... the new primary; or its new state */
    const char *reason;  /* why it ran */
    bool ok;
    const char *result; /* the outcome in words (the last step) */
    const char *steps;  /* the steps, one per line, each ending in "\n": a JSON array */
    size_t steps_len;
    uint64_t duration_ms;
};

void audit_procedure(const struct audit_procedure *p);

/* ---- the query log: any thread ---- */

struct query_log_entry {
    uint32_t session;
    const char *user;
    const char *client;
    const char *schema;  /* NULL = none */
    const char *backend; /* NULL = answered by halyard */
    uint64_t digest;     /* 0 = none */
    const char *text;    /* the statement, not NUL-terminated; at most QUERY_LOG_TEXT_MAX kept */
    size_t text_len;
    uint64_t duration_us;   /* from its sending to the end of its answer */
    uint64_t limit_wait_us; /* before that, held by a fair-share limit (limits.h); 0 = not */
    uint64_t rows;          /* rows sent, for a result set */
    uint64_t affected;      /* affected rows, for an OK */
    uint16_t error;         /* the ERR's code, 0 = success */
};

/* True while the query log is on: a relaxed load. */
bool query_log_enabled(void);
/* True if a statement its client waited `duration_us` for goes to the
 * query log. A relaxed load or two: call it before gathering an entry. */
bool query_log_wants(uint64_t duration_us);
/* The entry goes to the query log when its client's time, the wait on a
 * limit and the run (limit_wait_us + duration_us), reaches
 * query_log_min_duration_ms: a slow query log shows what clients waited
 * for, and the line tells the wait from the run. */
void query_log_write(const struct query_log_entry *e);

struct audit_stats {
    uint64_t audit_lines, audit_dropped; /* written / dropped (queue full or write error) */
    uint64_t query_lines, query_dropped;
};

void audit_get_stats(struct audit_stats *out);

/* ---- pure, unit-tested ---- */

/* Append s[0..len) JSON-escaped (hy_json_escape, text.h), without quotes,
 * to out (which has room for cap bytes and already holds *pos). Returns false, with *pos where it
 * was before the call, if it does not fit. */
bool audit_json_escape(char *out, size_t cap, size_t *pos, const char *s, size_t len);

#endif /* HALYARD_AUDIT_H */
