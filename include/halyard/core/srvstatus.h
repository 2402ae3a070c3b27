/*
 * srvstatus.h: what a server says of its own load (SHOW GLOBAL STATUS and
 * a few variables), and the thresholds that turn it into events.
 *
 * The monitor reads, every monitor.status_every rounds,
 *   information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN (SRVSTATUS_NAMES)
 *   and @@max_connections
 *   SHOW BINARY LOGS (srv_status_binlogs: the files' sizes summed)
 * and folds each (Variable_name, Value) row into a struct srv_status with
 * srv_status_fold(). Two readings make rates (srv_status_derive): QPS from
 * Questions, each Com_* counter per second (srv_com), slow queries and
 * aborted connects per second, row lock waits per second. The buffer pool
 * hit ratio is over the interval too, so a server that warmed up long ago
 * still shows today's misses.
 *
 * Everything here is pure: unit-tested (tests/unit/test_srvstatus.c).
 */
#ifndef HALYARD_SRVSTATUS_H
#define HALYARD_SRVSTATUS_H

#include <stdbool.h>
#include <stdint.h>

/* The status variables read, for SHOW GLOBAL STATUS WHERE ... IN (...). */
#define SRVSTATUS_NAMES                                                                            \
    "'Threads_connected','Threads_running','Questions','Slow_queries','Aborted_connects',"         \
    "'Innodb_buffer_pool_read_requests','Innodb_buffer_pool_reads',"                               \
    "'Innodb_buffer_pool_pages_dirty','Innodb_buffer_pool_pages_total','Innodb_row_lock_waits',"   \
    "'Binlog_bytes_written','Com_select','Com_insert','Com_update','Com_delete','Com_commit',"     \
    "'Com_rollback'"

/* The statements counted per kind (Com_<name>), in this order. */
enum srv_com {
    SRV_COM_SELECT = 0,
    SRV_COM_INSERT,
    SRV_COM_UPDATE,
    SRV_COM_DELETE,
    SRV_COM_COMMIT,
    SRV_COM_ROLLBACK,
    SRV_COM_COUNT
};

/* "select", "insert", ... (the Com_ variable's name without Com_). */
const char *srv_com_name(enum srv_com c);

/* One reading; -1 = the server did not say. */
struct srv_status {
    int64_t max_connections;
    int64_t threads_connected, threads_running;
    int64_t questions, slow_queries, aborted_connects;
    int64_t com[SRV_COM_COUNT];         /* Com_select, Com_insert, ... */
    int64_t bp_read_requests, bp_reads; /* Innodb_buffer_pool_read_requests, _reads */
    int64_t bp_pages_dirty, bp_pages_total;
    int64_t row_lock_waits;
    int64_t binlog_bytes_written;
    int64_t binlog_files, binlog_size; /* SHOW BINARY LOGS: files and their sizes summed */
    int64_t disk_total, disk_used; /* information_schema.DISKS: the datadir's filesystem, bytes */
};

/* All fields -1. */
void srv_status_init(struct srv_status *s);

/* One row: a name halyard reads sets its field (names compared
 * case-insensitively; a value that is not a whole number is ignored);
 * others are ignored. */
void srv_status_fold(struct srv_status *s, const char *name, const char *value);

/* SHOW BINARY LOGS (Log_name, File_size, ...): _begin, then one
 * _binlog_file per row with its File_size. binlog_files and binlog_size
 * (the disk the binary log takes) count them; a size that is not a whole
 * number makes both unknown (-1) for the rest of the reading. */
void srv_status_binlogs_begin(struct srv_status *s);
void srv_status_binlog_file(struct srv_status *s, const char *size);

/* What two readings `secs` apart mean; -1 = unknown (a counter missing, or
 * gone backwards: the server restarted). */
struct srv_rates {
    double qps;                   /* Questions per second */
    double writes_ps;             /* Com_insert + _update + _delete per second */
    double com_ps[SRV_COM_COUNT]; /* each Com_* per second */
    double slow_ps;               /* Slow_queries per second */
    double aborted_ps;            /* Aborted_connects per second */
    double row_lock_waits_ps;
    double bp_hit_ratio;    /* 1 - reads / read_requests over the interval; 1 with no request */
    double bp_dirty_pct;    /* dirty pages / total pages, 0..100, of `cur` */
    double connections_pct; /* Threads_connected / max_connections, 0..100, of `cur` */
    double disk_pct;        /* disk_used / disk_total, 0..100, of `cur` */
};

/* `prev` may be NULL (first reading: rates -1, ratios of `cur` only). */
void srv_status_derive(const struct srv_status *prev, const struct srv_status *cur, double secs,
                       struct srv_rates *out);

/* A threshold with hysteresis: it rises when `value` reaches `warn`
 * (warn > 0; 0 turns it off) and clears when `value` falls below
 * warn - SRV_THRESHOLD_HYSTERESIS, so a value hovering at the line gives
 * one event, not one per reading. An unknown value (< 0) changes nothing. */
#define SRV_THRESHOLD_HYSTERESIS 5.0

enum srv_cross {
    SRV_CROSS_NONE = 0,
    SRV_CROSS_RAISED,
    SRV_CROSS_CLEARED,
};

enum srv_cross srv_threshold(bool *high, double value, double warn);

#endif /* HALYARD_SRVSTATUS_H */
