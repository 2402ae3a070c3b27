/*
 * alerts.h: the notifier thread, which delivers events (events.h) to the
 * operator's command (alerts.exec) and webhook (alerts.webhook).
 *
 * One thread of its own, never a worker, the monitor or the failover
 * thread. It takes events from the ring, keeps the last ALERTS_HISTORY of
 * them with each delivery's result (halyardctl show events), drops the
 * disabled ones and those below alerts.min_severity (after alerts.events
 * gave a name its own severity, on/off and interval), coalesces repeats
 * (alerts.repeat_ms: the first event of a name and backend is delivered,
 * more within the interval are held and counted, and the last is
 * delivered when the interval ends), and hands the rest to two bounded
 * queues:
 *   - exec: posix_spawn of alerts.exec, the JSON on stdin, the fields in
 *     HALYARD_* variables (the environment is not inherited), at most
 *     exec_max_running at once, SIGKILL to its process group after
 *     exec_timeout_ms;
 *   - webhook: libcurl's multi interface, ALERTS_WEBHOOK_PARALLEL POSTs at
 *     once, each tried again webhook_retries times with a doubling backoff.
 * The thread waits in curl_multi_poll() on the events' eventfd and the
 * transfers' sockets, so a hanging receiver holds only its own transfers.
 */
#ifndef HALYARD_ALERTS_H
#define HALYARD_ALERTS_H

#include <stdint.h>

#include "halyard/core/core.h"
#include "halyard/core/events.h"

struct config;

#define ALERTS_HISTORY          64
#define ALERTS_WEBHOOK_PARALLEL 4
#define ALERTS_COALESCE_SLOTS   256

/* ---- coalescing: pure, one table, the notifier's own ---- */

struct coalesce_slot {
    bool used;
    uint64_t window_end_ms; /* the interval of the last delivery ends */
    uint32_t held;          /* events held since */
    uint64_t repeat_ms;     /* the interval its last offer gave (per event name) */
    struct event last;      /* the last of them (type and backend are the key) */
};

struct coalesce {
    struct coalesce_slot *slots;
    size_t n;
};

hy_status_t coalesce_init(struct coalesce *c, size_t n) HY_MUSTCHECK;
void coalesce_free(struct coalesce *c);
/* True: deliver `e` now (an interval of repeat_ms starts). False: it is
 * held and counted. repeat_ms 0, or a full table, always delivers. */
bool coalesce_offer(struct coalesce *c, const struct event *e, uint64_t now_ms, uint64_t repeat_ms);
/* A held event whose interval has ended: true with it in *out, its
 * `coalesced` = how many were held (itself included); a new interval (of
 * the repeat_ms it was offered with) starts. False when none is due. */
bool coalesce_due(struct coalesce *c, uint64_t now_ms, struct event *out);
/* The earliest end of an interval with held events; UINT64_MAX if none. */
uint64_t coalesce_next_ms(const struct coalesce *c);

/* ---- the thread ---- */

/* Main thread, at start (after events_setup). */
hy_status_t alerts_start(struct config *cfg, char *err, size_t errlen) HY_MUSTCHECK;
/* Main thread, at reload: the notifiers' settings (not queue_size). */
void alerts_set_config(struct config *cfg);
/* Main thread, at exit: deliver what is queued (at most 2 s), stop. */
void alerts_stop(void);

enum alerts_notifier { ALERTS_EXEC = 0, ALERTS_WEBHOOK, ALERTS__N };
const char *alerts_notifier_name(enum alerts_notifier n);

struct alerts_stats {
    uint64_t events;               /* taken from the ring */
    uint64_t dropped;              /* ring full, or a notifier's queue full */
    uint64_t coalesced;            /* held by repeat_ms */
    uint64_t delivered[ALERTS__N]; /* exit 0 / 2xx */
    uint64_t failed[ALERTS__N];    /* after its retries */
};

void alerts_get_stats(struct alerts_stats *out);

/* One event as show events lists it. */
struct alerts_record {
    struct event ev;
    char result[ALERTS__N][128]; /* "" = not for this notifier (none set, or not yet) */
    char note[64];               /* "disabled", "held (repeat_ms)", "dropped: queue full" */
};

/* Copy the last (at most `max`) records, oldest first; returns how many. */
size_t alerts_history(struct alerts_record *out, size_t max);

#endif /* HALYARD_ALERTS_H */
