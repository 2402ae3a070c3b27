/*
 * admin.h: the admin socket, a Unix stream socket served by the main
 * thread's event loop.
 *
 * Protocol: the client sends one command per line ("\n"-terminated, at most
 * ADMIN_LINE_MAX bytes); halyard answers each command, in order, with lines
 * of text followed by one empty line, so an answer ends with "\n\n". No
 * line of an answer is empty, since values are escaped (textbuf_cell). An
 * answer that starts with "ERR " is a failure and is that one line; "OK "
 * starts the answer of a command that changed something. A trailing
 * "--json" asks for the answer as one line of JSON instead of a table
 * (failures stay "ERR ..."). Empty command lines get no answer.
 *
 *   help                    the commands
 *   show status             version, pid, uptime, config file, last reload, workers, zone,
 *                           majority
 *   show config             the running config, password hashes hidden
 *   show stats              counters summed over the workers, and per worker
 *   show sessions           client sessions of every worker
 *   show rules              query rules in order, with their hits summed over the workers
 *   show digests [top N]    the N statement digests (default 20) with the most total time
 *   kill session ID         close a client session now
 *   show blocked            client addresses with failed logins: slowed down or blocked
 *   unblock ADDRESS|all     forget an address's failed logins (and its block)
 *   show firewall [USER]    the digests the firewall learned (users in learn mode)
 *   dump firewall USER      the same as a firewall_allow line for the config
 *   reload                  re-read the config file, as SIGHUP does
 *   takeover [finish]       the socket hand-over to a new halyard (takeover.h)
 *   switchover [to NAME]    make NAME (default: the most advanced replica) the primary
 *   failover                promote a replica now that the primary is gone
 *   show events [last N]    the last N events (default 20) and each notifier's result
 *   show limits             the fair-share limits per tenant: in flight, queued, waits, refused
 *   test-alert              emit a test_alert event through every notifier
 *
 * `show sessions`, `show digests` and `kill session` are answered by the
 * workers themselves: the main thread posts a worker_call to each worker, each
 * fills its part in its own thread and wakes the main loop, and the answer
 * goes out when every part is in or ADMIN_GATHER_TIMEOUT has passed (then
 * it names the workers that did not answer). The main thread never reads
 * a worker's sessions or digest table. `show rules` reads the rules' hit
 * counters directly: they are relaxed atomics (rules.h).
 *
 * Every connection's input is bounded by ADMIN_LINE_MAX and its output by
 * ADMIN_OUT_MAX; a connection does not read its next command while an
 * answer is being written, so a client that sends without reading only
 * stalls itself. At most ADMIN_MAX_CONNS connections are open at once.
 */
#ifndef HALYARD_ADMIN_H
#define HALYARD_ADMIN_H

#include "halyard/core/core.h"
#include "halyard/sql/digest.h"
#include "halyard/admin/status.h"
#include "halyard/core/srvstatus.h"
#include "halyard/core/textbuf.h"

#define ADMIN_LINE_MAX       4096
#define ADMIN_OUT_MAX        (16u << 20)
#define ADMIN_MAX_CONNS      16
#define ADMIN_GATHER_TIMEOUT 1.0  /* seconds */
#define ADMIN_IDLE_TIMEOUT   300. /* seconds without a command */
#define ADMIN_DRAIN_WAIT     60.  /* seconds `backend NAME drain` waits for the server to be idle */
#define ADMIN_DIGESTS_TOP    20   /* show digests without top N */
#define ADMIN_DIGESTS_MAX    100000

struct admin;
struct shard_map;

/* Create the socket at `path` (mode 0600) and serve it on st->loop. Refuses
 * a path that is a symbolic link, is owned by another user, is not a socket,
 * or is a socket another process still serves; removes a stale socket file
 * of our own. NULL with `err` on failure. */
struct admin *admin_create(struct status *st, const char *path, char *err, size_t errlen);
/* Close every connection and remove the socket file. Call after the
 * workers have been joined (answers still being gathered are freed). */
void admin_destroy(struct admin *a);

/* ---- pure parts, unit-tested ---- */

/* The commands, in the order `help` lists them (admin_verbs[] in
 * admin_cmd.c has one row for each). */
enum admin_verb {
    ADMIN_HELP,
    ADMIN_SHOW_STATUS,
    ADMIN_SHOW_CONFIG,
    ADMIN_SHOW_STATS,
    ADMIN_SHOW_SESSIONS,
    ADMIN_SHOW_POOLS,
    ADMIN_SHOW_RULES,
    ADMIN_SHOW_BACKENDS,
    ADMIN_SHOW_GROUPS, /* show groups (admin_groups.c) */
    ADMIN_SHOW_SHARDS, /* show shards (admin_shards.c) */
    ADMIN_SHOW_XA,     /* show xa (xa_recover.c) */
    ADMIN_BACKEND_SET, /* backend NAME drain [nowait]|maint|online */
    ADMIN_SHOW_DIGESTS,
    ADMIN_KILL_SESSION,
    ADMIN_SHOW_BLOCKED,
    ADMIN_UNBLOCK,
    ADMIN_SHOW_FIREWALL,
    ADMIN_DUMP_FIREWALL,
    ADMIN_RELOAD,
    ADMIN_TAKEOVER,        /* a new halyard asks for the listening sockets (takeover.h) */
    ADMIN_TAKEOVER_FINISH, /* ... and has them: stop accepting, drain, exit (not in help) */
    ADMIN_SWITCHOVER,
    ADMIN_FAILOVER,
    ADMIN_SHOW_EVENTS, /* show events [last N] */
    ADMIN_TEST_ALERT,
    ADMIN_SHOW_BACKUP,     /* the binlog archive (binlog_archive.h) and the last full backup */
    ADMIN_BACKUP_FULL,     /* backup full (backup_full.h) */
    ADMIN_BACKUP_INCR,     /* backup incr (backup_chain.h) */
    ADMIN_BACKUP_DIFF,     /* backup diff */
    ADMIN_BACKUP_VERIFIED, /* backup verified RESULT GTID TABLES DIFFER (backup_verify.h) */
    ADMIN_SHOW_CACHE,      /* the query cache (cache.h) */
    ADMIN_FLUSH_CACHE,     /* flush cache [SCHEMA.TABLE] */
    ADMIN_SHOW_LIMITS,     /* the fair-share limits per tenant (limits.h) */
    ADMIN_CAPTURE_START,   /* capture start [FILE] (capture.h) */
    ADMIN_CAPTURE_STOP,
    ADMIN_CAPTURE_STATUS,
    ADMIN_N_VERBS
};

struct admin_cmd {
    enum admin_verb verb;
    bool json;
    bool sql;            /* --sql: --json for the SQL admin port, where an empty list
                          * still names its columns (json_prototype in admin_table.c) */
    bool detail;         /* ADMIN_SHOW_BACKENDS: --detail */
    uint32_t session_id; /* ADMIN_KILL_SESSION */
    uint32_t top;        /* ADMIN_SHOW_DIGESTS: 1..ADMIN_DIGESTS_MAX; ADMIN_SHOW_EVENTS: 1..64 */
    char arg[140];       /* ADMIN_UNBLOCK: address or "all"; *_FIREWALL: user ("" = all);
                          * ADMIN_FLUSH_CACHE: schema.table ("" = all);
                          * ADMIN_BACKEND_SET: the backend's name;
                          * ADMIN_BACKUP_VERIFIED: its four words;
                          * ADMIN_CAPTURE_START: the file ("" = capture_file) */
    int mode;            /* ADMIN_BACKEND_SET: enum backend_admin */
    bool nowait;         /* ADMIN_BACKEND_SET drain: answer at once, not once it is idle */
    char target[65];     /* ADMIN_SWITCHOVER: a backend name, "" = the most advanced replica */
};

/* Parse one command line (without its "\n"; a trailing "\r" is ignored).
 * HY_OK: *cmd is filled. HY_AGAIN: the line is blank, answer nothing.
 * HY_ERROR: `err` holds the whole answer line, "ERR ...". */
hy_status_t admin_parse(const char *line, size_t len, struct admin_cmd *cmd, char *err,
                        size_t errlen);

/* One client session as a worker describes it for `show sessions`. */
struct admin_session_row {
    uint32_t id;
    int worker;
    char user[96];    /* "" = not logged in yet */
    char client[64];  /* host:port */
    char via[64];     /* the load balancer's host:port (PROXY protocol); "" = direct */
    char schema[256]; /* the current default schema; "" = none */
    char backend[64]; /* the backend its commands run on now; "" = none */
    uint32_t thread;  /* that backend's thread id for it; 0 = none */
    const char *state;
    const char *command;    /* NULL when no command is in flight */
    int64_t command_age_ms; /* -1 = not known */
    uint32_t statements;    /* prepared statements it holds */
    char holds[96];         /* backend connections kept between statements and why; "" = none */
    char statement[81];     /* the statement in flight (80 bytes at most, a password never);
                             * "" = none */
};

/* What `show pools` says of one backend and user, summed over the workers. */
struct admin_pool_row {
    char backend[64];
    char user[96];
    uint32_t in_use; /* held by sessions now (a statement, a transaction, state that cannot move) */
    uint32_t idle;   /* idle in the workers' pools */
    /* since halyard started (pool_stats.h) */
    uint64_t waiting; /* statements waiting now for a connection at max_connections */
    uint64_t waits;   /* waits ended */
    double wait_p50_ms, wait_p99_ms; /* of those waits; 0 = none */
    uint64_t restores;               /* taken after another session, brought to the taker's state */
    uint64_t resets;                 /* COM_RESET_CONNECTION and COM_CHANGE_USER */
    uint64_t opened, closed;
};

/* The renderers write the lines of an answer, each ending in "\n", without
 * the empty line that closes it. */
void admin_render_help(struct textbuf *sb, bool json);
void admin_render_pools(struct textbuf *sb, const struct admin_pool_row *rows, size_t n,
                        const int *missing, size_t n_missing, bool json);
/* mem: the memory figures (hy_memory_get), NULL to leave them out (the
 * status page, twice a second: the heap's walk takes every arena's lock). */
struct hy_memory;
void admin_render_status(struct textbuf *sb, const struct status *st, double uptime,
                         uint64_t client_sessions, const struct hy_memory *mem, bool json);
void admin_render_config(struct textbuf *sb, const struct config *cfg, bool json);
/* per_worker: n_workers values; total: their sum. */
void admin_render_stats(struct textbuf *sb, const struct stat_values *total,
                        const struct stat_values *per_worker, int n_workers,
                        uint64_t client_sessions, bool json);
/* rows sorted by id; `missing`: the workers that did not answer in time. */
void admin_render_sessions(struct textbuf *sb, const struct admin_session_row *rows, size_t n,
                           const int *missing, size_t n_missing, bool json);
/* cfg's rules in order; hits[i] for cfg->rules[i]; match_errors summed
 * over the workers' rules_ctx. */
void admin_render_rules(struct textbuf *sb, const struct config *cfg, const uint64_t *hits,
                        uint64_t match_errors, bool json);

/* What `show digests` says about the tables it merged. */
struct admin_digest_summary {
    size_t distinct;    /* digests after merging the workers' tables */
    uint64_t evictions; /* summed over the workers */
    uint64_t capacity;  /* entries, summed over the workers; 0 = digests off */
};

/* rows: the first n of the merged table (digest_merge), largest total
 * time first. */
void admin_render_digests(struct textbuf *sb, const struct digest_row *rows, size_t n,
                          const struct admin_digest_summary *sum, const int *missing,
                          size_t n_missing, bool json);

/* One backend as `show backends` shows it (read from backend.h). */
struct admin_backend_row {
    const char *name;
    const char *group; /* its group's name (group.h) */
    char address[300]; /* host:port */
    const char *zone;  /* "" = halyard's own */
    const char *role;  /* "primary", "replica" */
    bool role_seen;    /* the role is the servers' (false: the config's, not checked yet) */
    bool fenced;       /* failover: never taken for the primary (backend_set_fenced) */
    const char *state;
    char why[200];  /* reason of the last state or role change, "" = none */
    int64_t lag_ms; /* -1 = unknown or not a replica */
    bool repl_broken;
    char gtid[256]; /* @@gtid_current_pos */
    uint64_t conns_in_use, conns_idle;
    uint64_t queries, errors;
    double rtt_ms;           /* the monitor's COM_PING round trip (an average); -1 = none yet */
    double p50_ms, p99_ms;   /* 0 = no statement yet */
    char last_check[160];    /* "ok" or why it failed; "" = never checked */
    double check_age_s;      /* seconds since the last check, -1 = never */
    char proof_missing[160]; /* what resolve_in_flight_writes' proof lacks there (proof.h) */
    /* the server's own load (srvstatus.h), the monitor's last reading */
    bool load_seen;
    struct srv_status status;
    struct srv_rates rates;
};

/* show groups: each group of cfg (a loaded config) with its backends'
 * states (admin_groups.c). */
void admin_show_groups(struct textbuf *sb, const struct config *cfg, bool json);

/* show shards: the schema map of cfg (a loaded config) and per group its
 * traffic (admin_shards.c). */
struct admin_shard_group_row {
    const char *name;
    size_t schemas;              /* of the map, conflicts included */
    size_t conflicts;            /* schemas the map also puts on another group */
    uint64_t statements, errors; /* its backends', over the process's life */
    uint64_t moves_in, refused;  /* stats.h's group_stats */
    uint64_t by_key;             /* statements routed to it by a table's key (shard_key.h) */
    uint64_t scatters;           /* statements run for a fan-out to every group */
};
void admin_show_shards(struct textbuf *sb, const struct config *cfg, bool json, bool sql);
/* Pure: the answer from map `m` (the config's or the learned one, its
 * group indexes cfg's) and the rows (one per group, in order). */
void admin_render_shards(struct textbuf *sb, const struct config *cfg, const struct shard_map *m,
                         const struct admin_shard_group_row *rows, size_t n, bool json);

/* The rows of `show backends` for `cfg`, one per backend, calloc'ed
 * (free them); NULL when out of memory. Their strings point into cfg. */
struct admin_backend_row *admin_backend_rows(const struct config *cfg);
/* detail (show backends --detail): the servers' load as well; the JSON
 * has it either way ("server", null until read). */
void admin_render_backends(struct textbuf *sb, const struct admin_backend_row *rows, size_t n,
                           bool json, bool detail);

struct guard_row;
struct firewall_row;
struct alerts_record;
/* show events: `n` records, oldest first. */
void admin_render_events(struct textbuf *sb, const struct alerts_record *rows, size_t n, bool json);
/* show backup: the binlog archive's status (binlog_archive.h), in admin_backup.c */
struct binlog_archive_status;
struct backup_full_status;
struct backup_copy_status;
struct backup_sched_status;
struct backup_verify_status;
/* c, sc and v may be NULL (no copy rows, no schedule rows, no verify rows). */
struct cache_status;
/* show cache (admin_cache.c); cfg names the rules. */
void admin_render_cache(struct textbuf *sb, const struct cache_status *s, const struct config *cfg,
                        bool json);
/* flush cache's answer. */
void admin_render_cache_flush(struct textbuf *sb, const char *table, size_t dropped, bool json);
void admin_render_backup(struct textbuf *sb, const struct binlog_archive_status *s,
                         const struct backup_full_status *f, const struct backup_copy_status *c,
                         const struct backup_sched_status *sc, const struct backup_verify_status *v,
                         bool json);
void admin_render_blocked(struct textbuf *sb, const struct guard_row *rows, size_t n, bool json);
/* show limits: a row per limit and tenant (limits.h). */
struct limit_row;
void admin_render_limits(struct textbuf *sb, const struct limit_row *rows, size_t n, bool json);
/* show xa: the transactions in doubt (xa_recover.h), `now` in unix seconds,
 * in admin_xa.c. */
struct xa_in_doubt;
void admin_render_xa(struct textbuf *sb, const struct xa_in_doubt *v, size_t n, int64_t now,
                     bool json);
/* dropped: digests the learn table had no room for. */
void admin_render_firewall(struct textbuf *sb, const struct firewall_row *rows, size_t n,
                           uint64_t dropped, bool json);
/* `firewall_allow = [ ... ];` for `user`, one digest a line. */
void admin_render_firewall_dump(struct textbuf *sb, const char *user,
                                const struct firewall_row *rows, size_t n, bool json);

#endif /* HALYARD_ADMIN_H */
