/*
 * config.h: loading and validating halyard.conf (libconfig syntax).
 *
 * Every key is declared once, in the table config_keys[] in config.c: its
 * path, type, default, bounds and description. The loader walks the file
 * against that table, so an unknown key, a wrong type or a value out of
 * bounds is an error naming the file, the line and the key. `make check`
 * verifies that the sample config and the halyard.conf(5) man page mention
 * every key of the table (tools/check-config-keys).
 *
 * A loaded struct config is immutable and reference counted: the running
 * one is published by an atomic pointer swap (SIGHUP reload builds a new
 * one), and each session holds a reference for its whole life.
 */
#ifndef HALYARD_CONFIG_H
#define HALYARD_CONFIG_H

#include <stdatomic.h>
#include <stdio.h>

#include "halyard/core/core.h"
#include "halyard/core/failover_types.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/protocol/tls.h"
#include "halyard/sql/shard.h"
#include "halyard/sql/shard_key.h"

const char *backend_role_to_str(enum backend_role role);

/* backup.mariadb_backup_command's default (backup_physical.h runs it). */
#define BACKUP_PHYSICAL_DEFAULT_COMMAND                                                            \
    "mariadb-backup --backup --stream=xbstream --host=%h --port=%p --user=%u --target-dir=/tmp %i"

/* Where the accounts clients log in as come from (users_source). */
enum users_source {
    USERS_CONFIG = 0, /* users[] only */
    USERS_BACKENDS,   /* the primary's mysql.global_priv (users.h) */
    USERS_BOTH,       /* users[], then the primary's for names users[] lacks */
};

/* What a session's reads may see after its own writes (read/write split). */
enum consistency {
    CONSISTENCY_DEFAULT = 0, /* inherit: user -> listener -> top level */
    CONSISTENCY_EVENTUAL,
    CONSISTENCY_CAUSAL,
    CONSISTENCY_STRONG,
    CONSISTENCY_GLOBAL, /* every write committed through halyard before the read (global_pos.h) */
};

const char *consistency_to_str(enum consistency c);

struct ssl_ctx_st; /* OpenSSL's SSL_CTX, built by tls.c */

/* An array of strings as written (`allow = ["10.0.0.0/8", "::1"]`). */
struct config_strings {
    char **v;
    size_t n;
};

struct config_listener {
    char *name;
    char *address; /* IPv4 or IPv6 literal, or a host name resolved at start */
    int port;
    int line; /* of its port in the file, for messages (a port a reload cannot bind) */
    int backlog;
    enum consistency consistency; /* CONSISTENCY_DEFAULT: the top level's */
    bool require_tls;             /* plaintext logins refused (3159) */
    struct config_strings users;  /* the users that may log in here; none = all */
    uint16_t group;               /* the group its sessions use: index in cfg->groups */
    bool shards;                  /* route by schema over the groups (shard.h); `group`
                                   * is then the default group */
    /* Peers that must open with a PROXY protocol header (proxyproto.h):
     * the balancers, as written and parsed; none = PROXY protocol off. */
    struct config_strings proxy_protocol_from;
    struct config_cidr *proxy_from; /* proxy_protocol_from.n of them */
};

/* An IPv4 or IPv6 network: the first `bits` bits of `addr`, in network
 * byte order (an IPv4 address in the first 4 bytes). */
struct config_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    uint8_t bits;
};

/* Per-user statement firewall (firewall.h). */
enum firewall_mode {
    FIREWALL_OFF = 0,
    FIREWALL_LEARN,   /* record the digests the user sends */
    FIREWALL_ENFORCE, /* refuse digests not in firewall_allow */
};

struct config_user {
    char *name;
    uint8_t h2[MYSQL_SHA1_LEN];    /* SHA1(SHA1(password)) */
    bool no_password;              /* password_hash = "" */
    bool has_s2;                   /* sha2_hash given */
    uint8_t s2[MYSQL_SHA256_LEN];  /* SHA256(SHA256(password)), for caching_sha2_password */
    enum consistency consistency;  /* CONSISTENCY_DEFAULT: the listener's */
    bool require_tls;              /* plaintext logins refused (1045, as REQUIRE SSL) */
    char *tls_subject;             /* NULL, or the exact subject of the client certificate */
    struct config_strings allow;   /* client networks as written; none = any */
    struct config_cidr *allow_net; /* parsed, allow.n of them */
    int max_connections;           /* sessions at once; 0 = no limit */
    bool exempt;                   /* no fair-share limit holds this user's statements */
    enum firewall_mode firewall;
    struct config_strings firewall_allow; /* as written */
    uint64_t *fw_hashes;                  /* their digest hashes, sorted */
    size_t n_fw_hashes;
};

/* What an account of the SQL admin port may do: read-only runs the SHOW
 * statements, operator the actions too. */
enum admin_role {
    ADMIN_ROLE_READ_ONLY = 0,
    ADMIN_ROLE_OPERATOR,
};

struct config_admin_account {
    char *name;
    uint8_t h2[MYSQL_SHA1_LEN]; /* SHA1(SHA1(password)), as users[] keep it */
    enum admin_role role;
};

enum cluster_type {
    CLUSTER_REPLICATION = 0,
    CLUSTER_GALERA,
    CLUSTER_DUAL_MASTER,
};

struct config_backend {
    char *name;
    char *address;
    int port;
    enum backend_role role;
    int weight;
    int max_connections;               /* 0 = no limit */
    enum tls_mode tls;                 /* resolved: never TLS_DEFAULT */
    char *tls_ca, *tls_cert, *tls_key; /* as written: "" = backend_tls_* */
    struct ssl_ctx_st *tls_ctx;        /* NULL when tls = off */
    int max_replication_lag;  /* seconds, resolved (the top level's if unset); 0 = no limit;
                               * cluster = galera: write sets in wsrep_local_recv_queue */
    int priority;             /* cluster = galera: lower is preferred as the writer */
    char *zone;               /* "" = halyard's own */
    enum promotion promotion; /* may failover promote it, and before others? */
    uint16_t group;           /* its group: index in cfg->groups (group.h) */
    /* Run-time state of the backend of this name (backend.h), shared by
     * every config that names it; set by backend_rt_attach() before the
     * config is published, NULL in a config only loaded to be checked. */
    struct backend_rt *rt;
    /* rt's checks generation (backend.h) this config goes with, set by
     * backend_rt_mark_unchecked() before the config is published: a check
     * of this entry's address, or a worker's failure there, counts only
     * while rt's is still the same (a later reload did not move it). */
    uint32_t checks_gen;
};

/* fence_cut_off_primary (failover_cutoff.c, fx_cut_off_check) */
/* A group (group.h): a named set of backends with a cluster type and its
 * own failover settings. A config without `groups` has one, "default",
 * holding every backend with the top-level settings. */
struct config_group {
    char *name;
    int line; /* of its name in the file; 0 for the implicit one */
    enum cluster_type cluster;
    uint16_t *members; /* indexes in cfg->backends, in the group's order */
    size_t n_members;
    /* resolved: the group's value, else the top level's */
    int max_writers;
    bool writer_is_also_reader;
    bool failover_auto;
    int failover_delay_ms;
    bool auto_rejoin;
    int rise, fall;
    /* The health checks of its backends: the group's monitor.user and
     * password (owned copies, the top level's when the group gives no
     * user), interval_ms and timeout_ms. */
    char *monitor_user;
    char *monitor_password;
    bool monitor_password_clear; /* as written, as config_monitor's */
    char *monitor_password_file;
    char *monitor_password_env;
    int interval_ms, timeout_ms;
    /* The group as a config of its own (group.h): the top level's settings
     * with the group's, and only its backends. What the session, the
     * failover thread and the router see. */
    struct config *view;
    /* consistency = global's shared position (cluster/global_pos.h), set
     * by global_pos_attach() when the config is loaded for running. */
    struct global_pos *gpos;
};

enum fence_cut_off {
    FENCE_CUT_OFF_WITH_ZONES = 0, /* when this halyard has a zone */
    FENCE_CUT_OFF_ALWAYS,
    FENCE_CUT_OFF_NEVER,
};

/* Which replicas reads may use, by zone (router.h). */
enum zone_reads {
    ZONE_READS_LOCAL_FIRST = 0, /* halyard's zone first, others when none is usable */
    ZONE_READS_LOCAL_ONLY,      /* halyard's zone only */
    ZONE_READS_ANY,             /* every zone alike */
};

/* A server that only votes in the failover lock: halyard logs in to it as
 * the monitor user and takes GET_LOCK there, nothing else. */
struct config_witness {
    char *name;
    char *address;
    int port;
};

/* Query rules: rules.h matches them, config.c builds them. */
enum rule_action {
    RULE_ACTION_ROUTE = 0, /* send the statement to `route` */
    RULE_ACTION_BLOCK,     /* answer it with error_code/error_sqlstate/error_message */
    RULE_ACTION_CACHE,     /* its answer may be cached (cache.h): ttl_ms, max_result_bytes */
};

/* RULE_ACTION_CACHE: whose writes through halyard hold the rule's hits. */
enum rule_ryw {
    RULE_RYW_DEFAULT = 0, /* as cache.read_your_writes says */
    RULE_RYW_SESSION,     /* the session's own */
    RULE_RYW_GLOBAL,      /* every session's */
};

enum rule_route {
    RULE_ROUTE_PRIMARY = 0, /* route = "primary" */
    RULE_ROUTE_REPLICA,     /* route = "replica": any replica, as the splitter picks one */
    RULE_ROUTE_BACKEND,     /* route = a backend's name: that backend */
};

struct rule_regex; /* a compiled pattern (rules.c) */
struct auth_rsa;   /* an RSA key pair (auth.c) */

/* Whose statements a rule or a limit is about: the conditions they share,
 * read by cfg_fill_who (config_rules.c) and matched by rules_who_match
 * (rules.h). An unset condition is NULL (a list empty) and matches
 * anything. */
struct config_who {
    char *user;
    struct config_strings users; /* the session's user is one of these */
    char *schema;
    char *client; /* as written; parsed in `cidr` */
    struct config_cidr cidr;
    char *listener; /* the session's listener, by name */
};

/* One element of `rules`. An unset condition is NULL and matches anything. */
struct config_rule {
    char *name;
    char *match_digest; /* patterns as written */
    char *match_text;
    struct rule_regex *digest_re; /* compiled; NULL with the pattern */
    struct rule_regex *text_re;
    struct config_who who;          /* user, users, schema, client, listener */
    struct config_strings no_where; /* condition: UPDATE/DELETE without WHERE on these tables */
    /* condition (action = cache): every table the statement reads is one of
     * these ("name", "schema.name", "schema.*"; lower case) */
    struct config_strings tables;
    enum rule_action action;
    /* RULE_ACTION_ROUTE */
    enum rule_route route;
    char *route_name; /* as written; NULL for block */
    uint16_t backend; /* RULE_ROUTE_BACKEND: index in cfg->backends */
    /* RULE_ACTION_BLOCK: the ERR packet ({name} already replaced) */
    int error_code;
    char error_sqlstate[6];
    char *error_message; /* NULL for route */
    /* RULE_ACTION_CACHE */
    int ttl_ms;               /* an entry is served at most this long after its fill */
    int64_t max_result_bytes; /* larger answers are not kept */
    enum rule_ryw read_your_writes;
    int max_stale_ms; /* > 0: hits wait for no write, served while the reader is this recent */
};

/* A fair-share limit (limits.h): whom it governs, first match wins, and
 * its values; 0 = that kind not limited. Its run-time state (in flight,
 * buckets, queue) lives in `rt`, shared by every config naming the limit,
 * so a reload changes the values and keeps the queue. */
enum limit_tenant {
    LIMIT_TENANT_USER,   /* the queue is fair across the users the limit governs */
    LIMIT_TENANT_SCHEMA, /* ... across their default schemas */
};
struct limit;
struct config_limit {
    char *name;
    struct config_who who;        /* conditions, as a rule's ... */
    char *match_digest;           /* ... and the statement's digest (as written) */
    struct rule_regex *digest_re; /* compiled; NULL with the pattern */
    int max_concurrent;           /* statements in flight at once */
    int max_per_second;           /* statements a second (a token bucket) ... */
    int burst;                    /* ... holding this many */
    int max_server_ms_per_second; /* server time its statements may use a second */
    int queue_size;               /* statements that may wait; 0 = refused at once */
    int queue_timeout_ms;         /* the longest a statement waits */
    enum limit_tenant tenant;
    struct limit *rt; /* set by limits_attach() */
};

/* Health checks (monitor.h). */
struct config_monitor {
    char *user;          /* "" = no checks: every backend ONLINE with its config role */
    char *password;      /* resolved: in clear, from password_file or password_env; "" = none */
    bool password_clear; /* `password` was given in the file itself */
    char *password_file; /* as written, "" = none */
    char *password_env;
    int interval_ms;
    int timeout_ms;
    int rise;
    int fall;
    int status_every;         /* read the servers' load every N rounds; 0 = never */
    int connections_warn_pct; /* event when Threads_connected reaches it; 0 = off */
    int disk_warn_pct;        /* event when the datadir's filesystem is this full; 0 = off */
    int binlog_warn_mb;       /* event when the binary log files take this many MiB; 0 = off */
};

/* alerts (alerts.h): the notifiers of events (events.h) */
struct config_alerts {
    char *exec; /* absolute path; "" = none */
    int exec_timeout_ms;
    int exec_max_running;
    char *webhook; /* URL; "" = none */
    bool webhook_tls_verify;
    int webhook_timeout_ms;
    int webhook_retries;
    int queue_size;     /* sized at start */
    int repeat_ms;      /* 0 = no coalescing */
    char *pre_failover; /* absolute path; "" = none (failover_exec.c) */
    int pre_failover_timeout_ms;
    int min_severity;               /* enum event_severity */
    struct config_strings disabled; /* as written */
    uint64_t disabled_mask;         /* 1 << enum event_type: disabled, or enabled = false */
    /* alerts.events, per enum event_type: */
    int event_severity[64];  /* the severity it is given; -1 = its own */
    int event_repeat_ms[64]; /* its repeat interval; -1 = repeat_ms */
    size_t n_events;         /* alerts.events entries */
    uint64_t events_listed;  /* 1 << type of each entry (show config) */
    uint64_t events_off;     /* ... of those with enabled = false */
};

/* tracing (trace.h, trace_export.h): a span per client statement, sent
 * over OTLP/HTTP JSON. */
struct config_tracing {
    bool enabled;
    char *endpoint; /* URL of the receiver's /v1/traces */
    char *headers;  /* "Name: value" lines, '\n' between; "" = none */
    char *ca_file;  /* "" = the system's */
    bool tls_verify;
    char *service;   /* service.name */
    double ratio;    /* head sampling, 0.0 to 1.0 */
    int slow_ms;     /* kept whatever the ratio when this slow; 0 = no threshold */
    bool query_text; /* db.query.text */
    int queue_size;  /* sized when the exporter starts */
    int timeout_ms;  /* one POST */
    int flush_ms;    /* a batch not full is posted this long after; read at start */
    bool protobuf;   /* protocol = "http/protobuf" (else http/json); read at start */
};

/* backup (binlog_archive.h): the continuous binlog archive */
/* The query cache (cache.h): on when a rule has action = "cache". */
struct config_cache {
    bool enabled;       /* some rule has action = "cache" */
    int64_t size_bytes; /* cache.size_mb */
    char *user;         /* resolved: cache.user, else backup.user, else monitor.user */
    char *password;     /* resolved with it */
    uint32_t server_id; /* the replica id its binlog reader registers with */
    int settle_ms;      /* a fill sent sooner after an invalidation of its tables is refused */
    int max_lag_ms;     /* no hits while the reader has not caught up for this long */
    bool gate_global;   /* cache.read_your_writes: every session waits for every write */
};

struct config_backup {
    bool enabled;        /* the section is present */
    char *dir;           /* where the archive's files go */
    int dir_line;        /* its line in the file, for halyard -t's message */
    char *user;          /* "" = monitor.user */
    char *password;      /* resolved, as monitor.password */
    bool password_clear; /* given in the file itself */
    char *password_file, *password_env;
    int binlog_sync_ms;  /* fdatasync at least this often while events arrive */
    int64_t retention_s; /* binlog_retention: closed files older than this go; 0 = keep all */
    char *retention;     /* as written */
    uint32_t server_id;  /* the replica id it registers with; resolved when 0 in the file */
    /* the schedule of full backups (backup_sched.h) */
    int64_t full_every_s;   /* 0 = no schedule */
    char *full_every;       /* as written */
    int full_window_from;   /* minutes after 00:00 UTC; -1 = no window (any time) */
    int full_window_to;     /* end, exclusive; may be before from (the window spans 00:00) */
    char *full_window;      /* as written */
    int64_t full_max_age_s; /* backup_full_old after this; 0 = 2 * full_every (or none) */
    char *full_max_age;     /* as written */
    int64_t full_timeout_s; /* a full backup's command is killed after this; 0 = no limit */
    char *full_timeout;     /* as written */
    /* incremental and differential backups (backup_chain.h) */
    int64_t incr_every_s; /* 0 = none scheduled */
    char *incr_every;     /* as written */
    int64_t diff_every_s; /* 0 = none scheduled */
    char *diff_every;     /* as written */
    int full_keep;        /* keep the newest N fulls and their chains (backup_retain.h); 0 = all */
    /* the second copy (backup_copy.h); at most one of dir and command */
    char *copy_to_dir;           /* "" = none */
    int copy_to_dir_line;        /* its line in the file, for halyard -t */
    char *copy_command;          /* /bin/sh -c template with %f %n %s; "" = none */
    char *copy_verify_command;   /* ... exit 0 = the copy exists with sha256 %s; "" = none */
    char *verify_into;           /* HOST:PORT of `backup verify`'s scratch server; "" = none */
    char *verify_server_command; /* /bin/sh -c template, %d %h %p %s: `backup verify` of a
                                  * mariadb-backup backup starts its scratch server; "" = none */
    /* the full backup's method (backup_full.h, backup_physical.h) */
    bool physical;                /* method = "mariadb-backup" (else mariadb-dump) */
    char *method;                 /* as written */
    char *mariadb_backup_command; /* /bin/sh -c template with %h %p %u %i */
    /* at rest (backup_stream.h, backup_crypt.h) */
    int compression;           /* 0 gzip, 1 zstd, 2 none: enum backup_comp's order */
    char *compression_name;    /* as written */
    char *encryption_key_file; /* "" = backups are not encrypted */
    struct config_strings decryption_key_files;
    /* the keys' bytes, read at load (mode 0600 checked): [0] is
     * encryption_key_file's when set, then decryption_key_files' */
    uint8_t (*keys)[32];
    size_t n_keys;
};

struct config {
    atomic_int refs;
    char *path;
    /* A group's view (group.h): the config it is part of, which owns it
     * and holds its references; NULL for a loaded config. */
    struct config *parent;
    uint16_t group_idx;     /* a view: its group's index in parent->groups */
    uint16_t *view_to_full; /* a view: backend i is parent->backends[view_to_full[i]] */
    bool groups_explicit;   /* `groups` was given in the file */

    int workers;         /* resolved: 0 in the file means one per online core */
    int fd_warn_pct;     /* event halyard_fds_high past this percent of RLIMIT_NOFILE; 0 = off */
    int worker_stall_ms; /* event worker_stalled past this without a heartbeat; 0 = off */
    enum log_level log_level;
    char *server_version; /* sent in the greeting */
    char *zone;           /* this halyard's zone; "" = no zones */
    enum zone_reads zone_reads;
    bool partition_reads_refuse;           /* partition_reads = "refuse" */
    enum fence_cut_off fence_cut_off_mode; /* fence_cut_off_primary */
    bool fence_cut_off;                    /* ... resolved against zone */
    int connect_timeout_ms;                /* backend TCP connect + login */
    int dns_refresh_ms;                    /* backend host names resolved again (resolve.h) */
    int login_timeout_ms;                  /* client handshake must finish within this */
    int shutdown_timeout_ms;               /* SIGTERM: in-flight statements get this long */
    int buffer_size;                       /* bytes per direction per session while busy */
    int max_client_connections;            /* 0 = no limit */
    int max_packet_size;                   /* bytes of one client request (logical packet) */
    int client_idle_timeout_ms;            /* 0 = never */
    int backend_read_timeout_ms;           /* a silent backend during a command; 0 = never */
    bool retry_primary_reads;              /* a safe read lost with the primary runs again */
    uint32_t retry_buffer_size;            /* a retryable read's answer held back up to this */
    bool transaction_replay;               /* an open transaction runs again on a new primary */
    uint32_t replay_max_size;              /* bytes of statements a transaction keeps for it */
    int replay_timeout_ms;                 /* from the primary's death to the replay's end */
    bool replay_result_only;               /* replay_checksum = "result_only" */
    bool resolve_in_flight_writes;         /* an in-flight write's fate is read in the binlog */
    bool pool_transaction;                 /* pool_mode = "transaction" (pool.h) */
    int pool_idle_timeout_ms;              /* 0 = never */
    int pool_max_age_ms;                   /* 0 = no limit */
    int pool_wait_timeout_ms;              /* a backend at max_connections: 0 = fail at once */
    uint32_t pool_stmt_cache;              /* prepared statements a pooled connection keeps */
    int pool_min_idle;                     /* idle connections kept per worker, backend and user */

    /* login protection (guard.h) */
    int auth_fail_limit; /* failures in the window before logins are slowed; 0 = off */
    int auth_fail_window_ms;
    int auth_delay_ms;
    int auth_block_ms;
    int auth_block_table_size; /* addresses tracked; sized at start */

    /* caching_sha2_password (auth.h) */
    bool default_sha2;          /* default_auth_plugin = "caching_sha2_password" */
    char *auth_rsa_private_key; /* PEM file as written; "" = no RSA key exchange */
    char *auth_rsa_public_key;  /* PEM file as written; "" = derived from the private key */
    struct auth_rsa *rsa;       /* the loaded pair; NULL without one */

    enum users_source users_source;
    int users_refresh_ms; /* the accounts are read again this often (users.h) */

    int firewall_learn_max;    /* digests the firewall's learn mode keeps; sized at start */
    char *admin_socket;        /* resolved ({port} replaced); "" = none */
    bool admin_socket_default; /* left out of the file: a socket that cannot be made is no
                                * error (/run/halyard when not run as root or by systemd) */
    /* The SQL admin port (admin_sql.h): "HOST:PORT" on loopback or a Unix
     * socket's path, or any address with admin_require_tls; "" = none. Read
     * at start. */
    char *admin_listen;
    bool admin_require_tls;                      /* TCP logins there must have started TLS */
    struct config_admin_account *admin_accounts; /* who may log in there */
    size_t n_admin_accounts;
    char *metrics_address;
    int metrics_port;         /* 0 = no metrics listener */
    bool metrics_status_page; /* GET / and /status.json (web.h) */
    bool metrics_auth;        /* basic auth as an admin account on every path */
    bool metrics_tls;         /* HTTPS with tls_cert */
    char *log_file;           /* "" = standard error */
    bool log_syslog;
    char *audit_log; /* "" = off (audit.h) */
    char *query_log; /* "" = off */
    int query_log_min_duration_ms;
    char *capture_file; /* capture start's default file; "" = none */
    int capture_max_mb;
    int capture_max_seconds;
    bool capture_mask;
    int capture_queue;
    int max_prepared_statements; /* per session */

    /* TLS (tls.h): file names as written; tls_server is NULL when
     * tls_cert is "" */
    char *tls_cert, *tls_key, *tls_ca, *tls_ciphers, *tls_ciphersuites;
    int tls_min_version; /* TLS1_2_VERSION or TLS1_3_VERSION */
    struct ssl_ctx_st *tls_server;
    bool tls_verify_clients; /* tls_ca set: client certificates are checked */
    enum tls_mode backend_tls;
    char *backend_tls_ca, *backend_tls_cert, *backend_tls_key;

    /* read/write split */
    bool read_write_split;
    enum consistency consistency; /* never CONSISTENCY_DEFAULT */
    int causal_timeout_ms;
    bool causal_fast; /* a read no replica is known to serve goes to the primary at once */
    int strong_window_ms;
    bool replica_fallback_error; /* replica_fallback = "error" */
    int digest_max_entries;      /* per worker; 0 = no digests (digest.h) */
    int max_replication_lag;     /* seconds; 0 = no limit (backends may override) */
    struct config_monitor monitor;
    char *instance_name; /* resolved: "" in the file = host name:first listener port */
    struct config_alerts alerts;
    struct config_backup backup;
    struct config_cache cache;
    struct config_tracing tracing;

    /* cluster type: replication (a primary and replicas, failover.h),
     * galera (every node writable, one writer picked by galera.h) or
     * dual-master (two servers replicating from each other, one of them
     * writable: dualmaster.h). One
     * top-level setting for now; a per-group one can take over later. */
    enum cluster_type cluster;
    int max_writers;            /* galera: nodes that take writes at once */
    bool writer_is_also_reader; /* galera: the writer takes reads too */

    /* failover (failover.h) */
    bool failover_auto; /* failover = auto */
    enum failover_zones failover_zones;
    int failover_delay_ms;
    int failover_write_wait_ms;
    int switchover_timeout_ms;
    bool auto_rejoin;
    char *replication_user; /* "" = keep the replicas' own */
    char *replication_password_file;
    char *replication_password_env;
    char *replication_password; /* read from one of the two above at load; "" = none */

    struct config_listener *listeners;
    size_t n_listeners;
    struct config_user *users;
    size_t n_users;
    struct config_backend *backends;
    size_t n_backends;
    struct config_group *groups; /* at least one; a view has none */
    size_t n_groups;
    /* shards.schemas: schema -> group (shard.h); a view shares its config's */
    struct shard_map shards;
    struct shard_tables key_tables; /* shards.tables, shards.reference (shard_key.h) */
    uint64_t load_id;      /* unique to this load of the file (never reused, unlike its address) */
    bool shards_learn;     /* also from each group's SHOW DATABASES (shard_learn.h) */
    int shards_refresh_ms; /* ... read this often */
    bool shards_xa;        /* cross_group_transactions = "xa" (session_xa.c) */
    char *xa_log;          /* shards.xa_log: the decisions' file ("" = none) */
    /* failover lock voters outside the cluster (failover_exec.h) */
    struct config_witness *witnesses;
    size_t n_witnesses;

    /* query rules, in the file's order (rules.h) */
    struct config_rule *rules;
    size_t n_rules;
    bool rules_need_digest;      /* some rule has match_digest */
    bool limits_need_digest;     /* some limit has match_digest */
    struct config_limit *limits; /* fair-share limits, in order (limits.h) */
    size_t n_limits;
    /* Hit counters: rule_hit_rows + 1 rows of rule_hit_stride counters,
     * each row on its own cache lines. Row w is written by worker w alone;
     * the last row is shared by workers past rule_hit_rows (a reload that
     * changed `workers`, which applies at restart). See rules_match(). */
    _Atomic uint64_t *rule_hits;
    size_t rule_hit_rows;
    size_t rule_hit_stride;
};

/* Load and validate `path`. On success *out holds a config with one
 * reference. On failure returns HY_ERROR and writes one line to `err`:
 * "FILE:LINE: KEY: why" (LINE and KEY left out only when they do not
 * apply, e.g. the file cannot be opened), the first error found, followed
 * by "; and N more errors" when there are more (config_load_report lists
 * them). Never aborts. */
hy_status_t config_load(const char *path, struct config **out, char *err,
                        size_t errlen) HY_MUSTCHECK;

/* Same, from a string (tests, fuzzing); `name` stands for the file name in
 * messages. */
hy_status_t config_load_string(const char *text, const char *name, struct config **out, char *err,
                               size_t errlen) HY_MUSTCHECK;

/* Every error and warning one load found, each one line
 * "FILE:LINE: KEY: what" (a warning "FILE:LINE: warning: KEY: what"),
 * in the order of their lines. Errors: an unknown key (with "did you mean"
 * when a known key is close), a wrong type or value, a rule spanning keys
 * broken, a syntax error (libconfig stops at the first). Warnings: what is
 * legal but probably a mistake (config_check.c). */
struct config_msg {
    unsigned line; /* 0: about the whole file */
    char *text;
};
struct config_report {
    struct config_msg *errors, *warnings;
    size_t n_errors, n_warnings;
};

/* config_load() and config_load_string() with every message in *rep (the
 * caller frees it with config_report_free, whatever the result). */
hy_status_t config_load_report(const char *path, struct config **out,
                               struct config_report *rep) HY_MUSTCHECK;
hy_status_t config_load_string_report(const char *text, const char *name, struct config **out,
                                      struct config_report *rep) HY_MUSTCHECK;
void config_report_free(struct config_report *rep);

struct config *config_get(struct config *cfg); /* +1 reference, returns cfg */
void config_put(struct config *cfg);           /* -1 reference; frees at 0; NULL is fine */

const struct config_user *config_find_user(const struct config *cfg, const char *name, size_t len);
/* Index in `cfg` of the backend that is the same server as `be` (name,
 * address and port), or -1: a reload carries a session's connections and
 * statements over by it. */
int config_backend_match(const struct config *cfg, const struct config_backend *be);
/* The backend configured as primary (validation guarantees exactly one). */
const struct config_backend *config_primary(const struct config *cfg);

/* The key table. `path` uses "[]" for list elements: "backends.[].port". */
enum config_type {
    CONFIG_INT,
    CONFIG_STRING,
    CONFIG_BOOL,
    CONFIG_LIST, /* a list of groups */
    CONFIG_GROUP,
    CONFIG_STRINGS,       /* an array of strings: [ "a", "b" ]; bounds: elements */
    CONFIG_INT_OR_STRING, /* an integer (bounds: its value) or a string (checked by its user) */
};

struct config_key {
    const char *path;
    enum config_type type;
    const char *def; /* default as text; NULL = required */
    /* Bounds: the value of a CONFIG_INT, the length in bytes of a
     * CONFIG_STRING, the number of elements of a CONFIG_LIST. max == 0 means
     * unbounded (strings checked otherwise, e.g. by `choices`). */
    long long min, max;
    const char *desc;
    const char *choices; /* CONFIG_STRING: the allowed values, "a|b|c"; NULL = any */
};

extern const struct config_key config_keys[];
extern const size_t config_n_keys;

/* Print the key table, one key a line: "path<TAB>type<TAB>default<TAB>bounds<TAB>description".
 * type is int|string|bool|list|group; default is "(required)" when there is
 * none; bounds is "MIN..MAX", "length MIN..MAX", "MIN..MAX elements", the
 * choices "a|b|c", or "-". tools/check-config-keys reads the first column. */
void config_dump_keys(FILE *out);

/* admin_listen read: a Unix socket's path, or an IP address ("localhost"
 * is 127.0.0.1) and a port; `loopback` says whether the address is one
 * (cfg_fill_admin_sql refuses any other without admin_require_tls). HY_ERROR
 * with `why` for anything else. Pure (config_admin.c). */
struct admin_listen_addr {
    bool unix_path;
    bool v6;
    bool loopback; /* 127.0.0.0/8 or ::1 */
    char path[108];
    char host[64];
    int port;
};
hy_status_t config_admin_listen_parse(const char *spec, struct admin_listen_addr *out, char *why,
                                      size_t len) HY_MUSTCHECK;

#endif /* HALYARD_CONFIG_H */
