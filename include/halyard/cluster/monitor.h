/*
 * monitor.h: the health-check thread.
 *
 * One thread with its own libev loop checks every backend of the running
 * config through non-blocking connections (sqlclient.h), logged in as its
 * group's monitor.user (group.h: the group's own, else the top level's).
 * A check is:
 *
 *   connect + login (or COM_PING on the connection kept from last time)
 *   SELECT @@read_only, @@gtid_current_pos, @@gtid_binlog_pos, @@server_id,
 *          @@gtid_binlog_state, Rpl_semi_sync_slave_status
 *   SHOW ALL SLAVES STATUS
 *   every monitor.status_every-th good check, the server's load
 *   (srvstatus.h): information_schema.GLOBAL_STATUS + @@max_connections,
 *   then SHOW BINARY LOGS, then information_schema.DISKS; a failure there
 *   is not a failed check (a refused SHOW BINARY LOGS or DISKS is not
 *   asked again on the connection, and logged once per backend)
 *
 * bounded as a whole by its group's monitor.timeout_ms. Every backend is
 * checked every monitor.interval_ms of its group (a "round", one timer per
 * group: the group's checks start together and run side by side; a slow
 * or dead server delays nobody). While a backend fails its
 * checks and is not DOWN yet, it is checked again every interval_ms / 10,
 * and a failure a worker reports (backend_report_failure) counts as one
 * failed check and triggers a check at once: a dead server is DOWN well
 * within one interval.
 *
 * After each check the monitor folds the result into the backend's health
 * (backend_track_feed: rise/fall, max_replication_lag) and derives roles
 * from what the servers say: a server that is writable (read_only off) and
 * does not replicate from a backend of the config is a primary. The
 * primary role is sticky: while the current primary is not DOWN, another
 * server that also looks like one is not taken as primary (it is kept out
 * of reads as "writable outside replication" until failover fences it or
 * an operator steps in). When the primary becomes read-only or replicates,
 * or is DOWN and another server looks like a primary, the role moves. A
 * replica that replicates from a DOWN primary with its SQL thread running
 * keeps serving reads (what it has is the best there is until a new
 * primary exists); with its SQL thread stopped it is "replication broken".
 *
 * Without monitor.user (the group's), no check runs on a group's
 * backends: each is ONLINE with its config role.
 *
 * The round hook (monitor_set_round_hook) is called in the monitor thread
 *   - after each group's round, once every check of it has completed, and
 *   - after any check that changed a backend's health or role.
 * main.c uses it to wake the failover thread (failover_exec_notify), which
 * reads what the monitor found through backend_rt (backend.h). It must not
 * block.
 */
#ifndef HALYARD_MONITOR_H
#define HALYARD_MONITOR_H

#include <ev.h>

#include "halyard/cluster/backend.h"
#include "halyard/config/config.h"
#include "halyard/core/core.h"
#include "halyard/protocol/sqlclient.h"

/* One row of SHOW ALL SLAVES STATUS, the fields halyard uses. */
struct monitor_repl {
    bool replicating;      /* a row exists: the server has a source */
    int n_sources;         /* rows (multi-source replication) */
    char source_host[256]; /* Master_Host of the first row */
    int source_port;       /* Master_Port */
    bool io_running;       /* Slave_IO_Running = Yes */
    bool io_connecting;    /* Slave_IO_Running = Connecting */
    bool sql_running;      /* Slave_SQL_Running = Yes */
    int64_t lag_s;         /* Seconds_Behind_Master (max over rows); -1 = NULL */
    unsigned last_io_errno, last_sql_errno;
    char last_io_error[256], last_sql_error[256];
    char gtid_io_pos[1400]; /* Gtid_IO_Pos: received */
    bool using_gtid;        /* Using_Gtid is not "No" */
};

/* Fill `out` from the answer to SHOW ALL SLAVES STATUS. HY_ERROR (with
 * `why`) when a column halyard needs is missing. Pure: unit-tested. */
hy_status_t monitor_parse_replication(const struct sqlresult *res, struct monitor_repl *out,
                                      char *why, size_t whylen) HY_MUSTCHECK;

/* cluster = galera: fold the rows (Variable_name, Value) of SHOW GLOBAL
 * STATUS or SHOW GLOBAL VARIABLES into `g` (wsrep_local_state, _ready,
 * _cluster_status, _cluster_size, _local_recv_queue, _on, _desync,
 * _reject_queries); other names are ignored, so both answers go into the
 * same struct. Pure: unit-tested. */
struct galera_node;
void monitor_parse_wsrep(const struct sqlresult *res, struct galera_node *g);

/* Who is the primary: one entry per backend, in config order. */
struct monitor_role_in {
    bool seen_ok;        /* its last check succeeded */
    bool candidate;      /* ... and it is writable and not replicating from the cluster */
    bool down;           /* its health is DOWN */
    bool config_primary; /* the config names it primary */
};

/* The index that holds the primary role after this round, -1 for none;
 * `cur` is the one holding it now (-1 = none). Sticky: `cur` keeps it while
 * it is a candidate, and while it is neither seen nor DOWN (not checked yet,
 * or failing but not DOWN yet). Otherwise the config's primary if it is a
 * candidate, else the first candidate; with no candidate, a DOWN or unseen
 * `cur` keeps it (writes wait for it or for failover) and a `cur` seen
 * read-only or replicating loses it. Pure: unit-tested. */
int monitor_pick_primary(const struct monitor_role_in *in, size_t n, int cur);

struct monitor;

/* Create the monitor for `cfg` (takes a reference) with its loop; the
 * thread starts with monitor_start. NULL when out of memory. */
struct monitor *monitor_create(struct config *cfg);
hy_status_t monitor_start(struct monitor *m) HY_MUSTCHECK;
/* From the main thread, after monitor_start: wait until every backend the
 * monitor checks has had its first check end (ok or failed: each is bounded
 * by its group's monitor.timeout_ms), at most max_s seconds. False when
 * max_s ran out first. main.c starts the workers after it: a backend
 * connection then logs in after the check that read what it inherits from
 * the server's globals (completion_type: session_inflight.c). */
bool monitor_wait_first(struct monitor *m, double max_s);
/* From the main thread: the monitor switches to `cfg` at its next wake-up
 * (backends matched by name keep their health and connection). */
void monitor_publish_config(struct monitor *m, struct config *cfg);
/* From the main thread: stop the thread and wait for it. */
void monitor_stop(struct monitor *m);
void monitor_destroy(struct monitor *m);

/* Before monitor_start: called in the monitor thread as described at the
 * top. */
typedef void (*monitor_hook_fn)(struct monitor *m, void *arg);
void monitor_set_round_hook(struct monitor *m, monitor_hook_fn fn, void *arg);

#endif /* HALYARD_MONITOR_H */
