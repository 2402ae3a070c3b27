/*
 * config_keys.c: every key of halyard.conf, declared once (struct
 * config_key in config.h): its path, type, default, bounds, the words it
 * allows and the text `halyard --dump-keys`, the man page and the sample
 * config say of it. config.c loads and checks a file against this table;
 * tools/check-config-keys checks that the sample config and
 * docs/halyard.conf.5 have every key.
 */
#include <stddef.h>

#include "halyard/config/config.h"

/* clang-format off */
const struct config_key config_keys[] = {
    {"workers", CONFIG_INT, "0", 0, 256,
     "worker threads, each running its own event loop; 0 = one per online CPU core", NULL},
    {"fd_warn_pct", CONFIG_INT, "90", 0, 100,
     "event halyard_fds_high when halyard's open file descriptors reach this percent of its "
     "limit (RLIMIT_NOFILE), halyard_fds_ok 5 points below; 0 = off", NULL},
    {"worker_stall_ms", CONFIG_INT, "2000", 0, 3600000,
     "event worker_stalled when a worker's event loop has not run for this many milliseconds "
     "(checked once a second), worker_recovered when it runs again; 0 = off", NULL},
    {"log_level", CONFIG_STRING, "info", 0, 0,
     "least severe level written to stderr", "error|warn|info|debug"},
    {"server_version", CONFIG_STRING, "", 0, 60,
     "server version string sent to clients in the handshake greeting; \"\" = the primary's own "
     "greeting, learned from the backends", NULL},
    {"connect_timeout_ms", CONFIG_INT, "2000", 10, 600000,
     "milliseconds allowed for a backend TCP connect plus its login", NULL},
    {"dns_refresh_ms", CONFIG_INT, "30000", 100, 86400000,
     "milliseconds between two resolutions of a backend host name by the resolver thread "
     "(connects only read its cache; a name that stops resolving keeps its last addresses); a "
     "name a config adds is resolved at once", NULL},
    {"login_timeout_ms", CONFIG_INT, "5000", 10, 600000,
     "milliseconds a client has to finish the handshake and login", NULL},
    {"shutdown_timeout_ms", CONFIG_INT, "10000", 0, 3600000,
     "on SIGTERM, milliseconds in-flight statements get to finish", NULL},
    {"buffer_size", CONFIG_INT, "16384", 4096, 1048576,
     "bytes of buffer per direction per session while a statement is in flight", NULL},
    {"max_client_connections", CONFIG_INT, "0", 0, 1000000,
     "client connections open at once; 0 = no limit", NULL},
    {"max_prepared_statements", CONFIG_INT, "16382", 0, 1048576,
     "prepared statements one client session may hold open; past it PREPARE fails with "
     "error 1461", NULL},
    {"tls_cert", CONFIG_STRING, "", 0, 4095,
     "PEM certificate (chain) halyard shows clients; set with tls_key to offer TLS to clients; "
     "\"\" = no TLS for clients; read again on reload", NULL},
    {"tls_key", CONFIG_STRING, "", 0, 4095,
     "PEM private key of tls_cert", NULL},
    {"tls_ca", CONFIG_STRING, "", 0, 4095,
     "PEM CA certificates client certificates are verified against; clients may then present "
     "one (users with tls_subject must); \"\" = client certificates are not asked for", NULL},
    {"tls_ciphers", CONFIG_STRING,
     "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
     "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
     "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384", 1, 4095,
     "OpenSSL cipher list for TLS 1.2, towards clients and backends", NULL},
    {"tls_ciphersuites", CONFIG_STRING,
     "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", 1, 4095,
     "OpenSSL cipher suites for TLS 1.3, towards clients and backends", NULL},
    {"tls_min_version", CONFIG_STRING, "TLSv1.2", 0, 0,
     "oldest TLS version accepted, towards clients and backends", "TLSv1.2|TLSv1.3"},
    {"backend_tls", CONFIG_STRING, "off", 0, 0,
     "TLS towards backends whose tls is default: off, on (encrypted, certificate not checked), "
     "verify-ca (signed by backend_tls_ca), verify-full (also names the backend's address); "
     "never a fall back to plaintext", "off|on|verify-ca|verify-full"},
    {"backend_tls_ca", CONFIG_STRING, "", 0, 4095,
     "PEM CA certificates backend certificates are verified against (verify-ca, verify-full)",
     NULL},
    {"backend_tls_cert", CONFIG_STRING, "", 0, 4095,
     "PEM client certificate halyard presents to backends; \"\" = none", NULL},
    {"backend_tls_key", CONFIG_STRING, "", 0, 4095,
     "PEM private key of backend_tls_cert", NULL},
    {"max_packet_size", CONFIG_INT, "67108864", 1024, 1073741824,
     "bytes of one client request (a logical packet, as max_allowed_packet counts it); a larger "
     "one gets error 1153 and the connection is closed", NULL},
    {"client_idle_timeout_ms", CONFIG_INT, "0", 0, 2147483647,
     "milliseconds a logged-in client may stay idle between commands before halyard closes it "
     "with error 4031, as wait_timeout does; 0 = never", NULL},
    {"pool_mode", CONFIG_STRING, "transaction", 0, 0,
     "how long a client session holds a backend connection: \"session\" (from its first use to "
     "its end) or \"transaction\" (only while it needs it: a statement, a transaction, or state "
     "that cannot move; between them the connection goes back to its worker's pool for other "
     "sessions of the same user)",
     "session|transaction"},
    {"pool_idle_timeout_ms", CONFIG_INT, "60000", 0, 2147483647,
     "milliseconds a connection may sit idle in a pool before it is closed; 0 = never", NULL},
    {"pool_min_idle", CONFIG_INT, "0", 0, 10000,
     "pool_mode = \"transaction\": idle connections each worker keeps per backend and user once "
     "a session of that user has used one (opened again when fewer, not closed for "
     "pool_idle_timeout_ms); 0 = none",
     NULL},
    {"pool_stmt_cache", CONFIG_INT, "32", 1, 65535,
     "pool_mode = \"transaction\": prepared statements a pooled connection keeps for the "
     "sessions that take it next, by text and schema (the least recently used is closed past "
     "it); connections times this must stay under the server's max_prepared_stmt_count",
     NULL},
    {"pool_wait_timeout_ms", CONFIG_INT, "5000", 0, 2147483647,
     "milliseconds a statement waits, in order of arrival, for a connection to a backend at its "
     "max_connections (pool_mode = \"transaction\"); then error 1040 naming the backend and the "
     "limit, and the session goes on; 0 = the error at once",
     NULL},
    {"pool_max_age_ms", CONFIG_INT, "0", 0, 2147483647,
     "milliseconds after its login past which a pooled connection is closed rather than reused; "
     "0 = no limit",
     NULL},
    {"backend_read_timeout_ms", CONFIG_INT, "0", 0, 2147483647,
     "milliseconds a command waits for its backend to send anything (the answer's first byte, or "
     "the next one); then the client gets error 1927 and that backend connection is closed; 0 = "
     "as long as it takes",
     NULL},
    {"retry_primary_reads", CONFIG_BOOL, "false", 0, 0,
     "an autocommit read on the primary whose server dies before the client got any of its "
     "answer runs again elsewhere (a replica, or the new primary within failover_write_wait_ms), "
     "as one on a replica always does; only a read safe to run twice (no stored routine, lock, "
     "user variable set, sequence, LAST_INSERT_ID() or diagnostics)",
     NULL},
    {"retry_buffer_size", CONFIG_INT, "16384", 0, 1048576,
     "bytes of a retryable read's answer held back until the answer is complete, so that the "
     "read can still run elsewhere if its server dies before the end (at most buffer_size); a "
     "larger answer streams and a failure past this point is an error; 0 = stream at once",
     NULL},
    {"transaction_replay", CONFIG_BOOL, "false", 0, 0,
     "a transaction open on the primary when the primary dies is run again on the new primary "
     "(within replay_timeout_ms) and goes on if every answer is the same as the client got; "
     "otherwise the client gets error 1213 and the transaction is rolled back",
     NULL},
    {"replay_max_size", CONFIG_INT, "1048576", 1024, 67108864,
     "bytes of statements an open transaction keeps for transaction_replay; a transaction past "
     "it is not replayable (error 1927 as without transaction_replay)",
     NULL},
    {"replay_timeout_ms", CONFIG_INT, "10000", 100, 600000,
     "milliseconds from the primary's death within which a transaction is replayed on the new "
     "primary (waiting for it, connecting, running the statements again), and within which "
     "resolve_in_flight_writes finds the fate of a write in flight (waiting for the new primary, "
     "on Galera for its view to drop the old writer, then reading its binary log: each read may "
     "take what is left of it, at least monitor.timeout_ms); past it, error 1927 (a "
     "transaction) or 1180 (a write in flight)",
     NULL},
    {"replay_checksum", CONFIG_STRING, "full", 0, 0,
     "what of each answer a replay compares: \"full\" (column definitions, rows, an OK's "
     "affected rows and insert id, an ERR's code) or \"result_only\" (the same without "
     "insert ids and column definitions)",
     "full|result_only"},
    {"resolve_in_flight_writes", CONFIG_BOOL, "false", 0, 0,
     "an autocommit write or a COMMIT in flight when the primary dies is looked for in the new "
     "primary's binary log: found, the client gets its OK; proven not committed "
     "(semi-synchronous replication, a dual-master pair, Galera; log_bin, log_slave_updates, "
     "binlog_annotate_row_events and replicate_annotate_row_events on), it runs once on the "
     "new primary; otherwise error 1180 "
     "says the outcome is unknown. Each write carries a comment halyard adds",
     NULL},
    {"default_auth_plugin", CONFIG_STRING, "mysql_native_password", 0, 0,
     "the authentication method the greeting offers clients",
     "mysql_native_password|caching_sha2_password"},
    {"users_source", CONFIG_STRING, "config", 0, 0,
     "where the accounts clients log in as come from: \"config\" (users[] only), \"backends\" "
     "(the primary's mysql.global_priv, read as monitor.user, which needs SELECT on it; with "
     "groups, each group's, for its listeners' logins), "
     "\"both\" (users[] first, then the primary's accounts for names users[] lacks)",
     "config|backends|both"},
    {"users_refresh_ms", CONFIG_INT, "60000", 1000, 86400000,
     "milliseconds between two reads of the primary's accounts (users_source = \"backends\" or "
     "\"both\"); a login as an unknown user also reads them at once, at most once a second",
     NULL},
    {"auth_rsa_private_key", CONFIG_STRING, "", 0, 4095,
     "PEM file of the RSA private key caching_sha2_password clients encrypt their password with "
     "on connections without TLS; \"\" = no RSA key exchange", NULL},
    {"auth_rsa_public_key", CONFIG_STRING, "", 0, 4095,
     "PEM file of the matching public key sent to clients that ask for it; \"\" = derived from "
     "the private key", NULL},
    {"auth_fail_limit", CONFIG_INT, "10", 0, 1000000,
     "failed logins from one address within auth_fail_window_ms after which its logins are "
     "answered late, and twice as many after which it is blocked for auth_block_ms; 0 = off",
     NULL},
    {"auth_fail_window_ms", CONFIG_INT, "60000", 1000, 86400000,
     "milliseconds over which an address's failed logins are counted", NULL},
    {"auth_delay_ms", CONFIG_INT, "500", 0, 60000,
     "a slowed address's login answers wait auth_delay_ms x (failures - auth_fail_limit + 1)",
     NULL},
    {"auth_block_ms", CONFIG_INT, "300000", 1000, 86400000,
     "milliseconds a blocked address gets error 1129 instead of a greeting", NULL},
    {"auth_block_table_size", CONFIG_INT, "10000", 16, 10000000,
     "client addresses whose failed logins are tracked; when full, the stalest is forgotten; "
     "a reload resizes the table and keeps the addresses tracked", NULL},
    {"firewall_learn_max", CONFIG_INT, "10000", 16, 10000000,
     "digests the firewall's learn mode keeps over all users (show firewall); a reload "
     "lowering it forgets nothing, new digests are dropped until there is room", NULL},
    {"admin_socket", CONFIG_STRING, "/run/halyard/admin.sock", 0, 107,
     "Unix socket of the admin interface, mode 0600; {port} stands for the first listener's "
     "port; \"\" = no admin socket; left out, halyard runs without one when it cannot make it",
     NULL},
    {"admin_listen", CONFIG_STRING, "", 0, 107,
     "the SQL admin port, where any MySQL client logs in with an admin_accounts account and "
     "runs SHOW BACKENDS, SWITCHOVER...: \"HOST:PORT\" on a loopback address (127.0.0.1, ::1, "
     "localhost) or the path of a Unix socket, or any address with admin_require_tls; \"\" = "
     "none; read at start", NULL},
    {"admin_require_tls", CONFIG_BOOL, "false", 0, 0,
     "refuse a TCP login to the SQL admin port that did not start TLS (error 1045); the port "
     "offers TLS with tls_cert whenever it is set; needs tls_cert", NULL},
    {"metrics_address", CONFIG_STRING, "127.0.0.1", 1, 255,
     "address of the Prometheus metrics HTTP listener", NULL},
    {"metrics_port", CONFIG_INT, "0", 0, 65535,
     "TCP port of the Prometheus metrics HTTP listener (GET /metrics); 0 = no listener", NULL},
    {"metrics_status_page", CONFIG_BOOL, "false", 0, 0,
     "serve the live status page on the metrics listener: GET / (HTML) and GET /status.json "
     "(its data, named as the show commands' columns); read-only", NULL},
    {"metrics_auth", CONFIG_BOOL, "false", 0, 0,
     "every request to the metrics listener (the status page and /metrics) needs HTTP basic "
     "auth as an admin_accounts account, any role; 401 without; wrong passwords count as "
     "failed logins (auth_fail_limit: slowed, then 429)", NULL},
    {"metrics_tls", CONFIG_BOOL, "false", 0, 0,
     "the metrics listener speaks HTTPS only, with tls_cert and tls_key (the clients' "
     "certificate, as the SQL admin port); needs tls_cert", NULL},
    {"log_file", CONFIG_STRING, "", 0, 4095,
     "file the log is appended to, reopened on SIGUSR1; \"\" = standard error", NULL},
    {"log_syslog", CONFIG_BOOL, "false", 0, 0,
     "also send every log line to the local syslog (/dev/log), never waiting for it", NULL},
    {"audit_log", CONFIG_STRING, "", 0, 4095,
     "file of the audit log (logins, failed logins, admin commands, reloads, backend state "
     "changes), JSON lines, reopened on SIGUSR1; \"\" = no audit log", NULL},
    {"query_log", CONFIG_STRING, "", 0, 4095,
     "file of the query log (one JSON line per statement), reopened on SIGUSR1; \"\" = no "
     "query log", NULL},
    {"query_log_min_duration_ms", CONFIG_INT, "0", 0, 3600000,
     "only statements that took at least this many milliseconds go to the query log: the "
     "client's time, a wait on a fair-share limit and the run together",
     NULL},
    {"capture_file", CONFIG_STRING, "", 0, 4095,
     "file `capture start` writes when it names none (docs/rehearse.md); it must not exist yet; "
     "\"\" = capture start must name one", NULL},
    {"capture_max_mb", CONFIG_INT, "1024", 0, 1048576,
     "a capture stops when its file reaches this many MiB; 0 = no limit", NULL},
    {"capture_max_seconds", CONFIG_INT, "3600", 0, 604800,
     "a capture stops after this many seconds; 0 = no limit", NULL},
    {"capture_mask", CONFIG_BOOL, "false", 0, 0,
     "a capture leaves out statement text and parameters (COM_QUERY, the prepared statements' "
     "commands): the answers' shapes and times only; such a capture cannot be replayed", NULL},
    {"capture_queue", CONFIG_INT, "65536", 16, 16777216,
     "records the sessions may hand the capture's writer before it writes them; past it a "
     "record is dropped (counted, and its session marked incomplete)", NULL},
    {"read_write_split", CONFIG_BOOL, "true", 0, 0,
     "send reads outside transactions to replicas, as `consistency` allows; false = every "
     "statement to the primary unless a hint says otherwise", NULL},
    {"consistency", CONFIG_STRING, "causal", 0, 0,
     "what a session's reads see of writes: eventual (any replica), causal (a replica that "
     "has applied the session's last write, else the primary), strong (the primary for "
     "strong_window_ms after a write), global (a replica that has applied every write "
     "committed through this halyard before the read began, else the primary)",
     "eventual|causal|strong|global"},
    {"causal_timeout_ms", CONFIG_INT, "250", 0, 60000,
     "consistency = causal or global: milliseconds a replica may take to apply the writes the "
     "read must see before the read goes to the primary instead", NULL},
    {"causal_fast", CONFIG_BOOL, "false", 0, 0,
     "consistency = causal or global: a read that no replica is known to be able to serve yet "
     "(seen by a wait or by the health checks to have applied the writes it must see) goes to "
     "the primary at once instead of waiting on a replica",
     NULL},
    {"strong_window_ms", CONFIG_INT, "1000", 0, 3600000,
     "consistency = strong: milliseconds after a write during which the session reads from the "
     "primary", NULL},
    {"replica_fallback", CONFIG_STRING, "primary", 0, 0,
     "where a read goes when no replica can serve it: the primary, or an error to the client",
     "primary|error"},
    {"max_replication_lag", CONFIG_INT, "0", 0, 86400,
     "seconds a replica may lag behind its source (Seconds_Behind_Master) and still take reads; "
     "over it, or with its replication broken, it is LAGGING until rise checks under it; "
     "cluster = galera: write sets in a node's receive queue (wsrep_local_recv_queue) over "
     "which it gets no reads; 0 = no limit", NULL},
    {"digest_max_entries", CONFIG_INT, "4096", 0, 1000000,
     "statement digests each worker keeps statistics for (show digests); when full, the one "
     "with the least total time among a sample of 8 is evicted; 0 = no digests; applies at the "
     "next restart", NULL},

    {"monitor", CONFIG_GROUP, "{}", 0, 0,
     "health checks: one thread logs into every backend as monitor.user every interval_ms and "
     "reads its read_only, GTID positions and replication status", NULL},
    {"monitor.user", CONFIG_STRING, "", 0, 80,
     "account the monitor logs in as (SLAVE MONITOR, BINLOG MONITOR); \"\" = no health "
     "checks: every backend counts as ONLINE with its config role", NULL},
    {"monitor.password", CONFIG_STRING, "", 0, 255,
     "monitor.user's password in clear text; prefer password_file or password_env", NULL},
    {"monitor.password_file", CONFIG_STRING, "", 0, 4095,
     "file whose first line is monitor.user's password, read at load; \"\" = none", NULL},
    {"monitor.password_env", CONFIG_STRING, "", 0, 255,
     "environment variable holding monitor.user's password, read at load; \"\" = none", NULL},
    {"monitor.interval_ms", CONFIG_INT, "1000", 50, 3600000,
     "milliseconds between two checks of a backend; a backend failing its checks is checked "
     "again every interval_ms / 10 until it is DOWN", NULL},
    {"monitor.timeout_ms", CONFIG_INT, "1000", 50, 600000,
     "milliseconds a check (connect, login and its queries) may take before it counts as failed",
     NULL},
    {"monitor.status_every", CONFIG_INT, "1", 0, 1000000,
     "read each server's load (SHOW GLOBAL STATUS: threads, QPS, slow queries, buffer pool, "
     "row lock waits; @@max_connections) every this many checks; 0 = never. A status read that "
     "fails or times out is not a failed check",
     NULL},
    {"monitor.connections_warn_pct", CONFIG_INT, "90", 0, 100,
     "event backend_connections_high when a server's Threads_connected reaches this percent of "
     "its max_connections, backend_connections_ok when it falls 5 points below; 0 = off",
     NULL},
    {"monitor.disk_warn_pct", CONFIG_INT, "90", 0, 100,
     "event backend_disk_high when the filesystem of a server's datadir is this percent full "
     "(information_schema.DISKS: INSTALL SONAME 'disks'), backend_disk_ok 5 points below; 0 = off",
     NULL},
    {"monitor.binlog_warn_mb", CONFIG_INT, "0", 0, 100000000,
     "event backend_binlog_high when a server's binary log files (SHOW BINARY LOGS, which needs "
     "BINLOG MONITOR) take this many MiB, backend_binlog_ok when they fall 5% below; 0 = off",
     NULL},
    {"monitor.rise", CONFIG_INT, "2", 1, 100,
     "consecutive good checks that bring a DOWN or LAGGING backend back ONLINE", NULL},
    {"monitor.fall", CONFIG_INT, "3", 1, 100,
     "consecutive failed checks that make a backend DOWN (a connection failure seen by a worker "
     "counts as one and triggers the next check at once)", NULL},

    {"cluster", CONFIG_STRING, "replication", 0, 0,
     "what kind of cluster the backends form: replication (one primary, replicas, failover) or "
     "galera (every node writable; halyard writes to max_writers of them, picked by priority "
     "then name, from their wsrep state; needs monitor.user) or dual-master (two backends that "
     "replicate from each other: writes go to the one with read_only off, the active, the other "
     "serves reads; failover makes the standby writable without repointing; needs monitor.user, "
     "and a witness for failover = auto)",
     "replication|galera|dual-master"},
    {"max_writers", CONFIG_INT, "1", 1, 64,
     "cluster = galera: how many Synced nodes hold the writer role at once (sessions spread "
     "over them by session id, each keeping its own)", NULL},
    {"zone", CONFIG_STRING, "", 0, 64,
     "the zone (data center, availability zone) this halyard runs in; \"\" = no zones", NULL},
    {"failover_zones", CONFIG_STRING, "same_first", 0, 0,
     "with zones: same_first = failover promotes a replica of the lost primary's zone before an "
     "equally advanced one elsewhere; same_only = only its zone's (refused when another zone's "
     "replica has transactions they lack); any = every zone alike",
     "same_first|same_only|any"},
    {"zone_reads", CONFIG_STRING, "local_first", 0, 0,
     "with zone set: local_first = replicas of this zone, others only when none is usable; "
     "local_only = never another zone's; any = every zone alike",
     "local_first|local_only|any"},
    {"fence_cut_off_primary", CONFIG_STRING, "with_zones", 0, 0,
     "when halyard reaches the primary but not a majority of the failover lock's voters (the "
     "primary's side of a partition), make the primary read-only until the majority is back, so "
     "that the other side may promote without two primaries: always, never, or with_zones (when "
     "this halyard has a zone: halyards on both sides)",
     "with_zones|always|never"},
    {"partition_reads", CONFIG_STRING, "serve", 0, 0,
     "a replica whose primary halyard cannot reach either (a partition, or a failover not done "
     "yet): serve = it keeps taking reads, its data counted as old as the time since (plus its "
     "lag then) against max_replication_lag; refuse = it takes none until it replicates again",
     "serve|refuse"},
    {"writer_is_also_reader", CONFIG_BOOL, "false", 0, 0,
     "cluster = galera: the writer takes reads too, as the other Synced nodes do", NULL},

    {"failover", CONFIG_STRING, "off", 0, 0,
     "auto = promote the most advanced replica when the primary is down for failover_delay_ms "
     "and a majority of the replicas lost it too, holding a lock on a majority of the servers "
     "configured (backends and witnesses); off = never (switchover still works)",
     "off|auto"},
    {"failover_delay_ms", CONFIG_INT, "1000", 0, 3600000,
     "milliseconds the primary must have been unreachable before an automatic failover; a "
     "dual-master pair skips it when the active refuses or resets connections and the standby "
     "lost it too (its server is gone, no partition)",
     NULL},
    {"failover_write_wait_ms", CONFIG_INT, "5000", 0, 600000,
     "milliseconds a write, or a login naming a schema, waits for a usable primary (during a "
     "failover or switchover) before it fails, and on Galera a new writer may take to apply "
     "what a session must see; 0 = fail at once", NULL},
    {"switchover_timeout_ms", CONFIG_INT, "10000", 100, 3600000,
     "switchover: milliseconds the chosen replica gets to catch up with the read_only primary "
     "before the switchover is rolled back", NULL},
    {"instance_name", CONFIG_STRING, "", 0, 200,
     "the name events (alerts) give this halyard; \"\" = host name:port of the first listener",
     NULL},
    {"backup", CONFIG_GROUP, "{}", 0, 0,
     "the continuous binlog archive: one thread streams the primary's binary log as a replica "
     "(following failovers) into files in backup.dir; off when the section is absent or dir is "
     "\"\"", NULL},
    {"backup.dir", CONFIG_STRING, "", 0, 4095,
     "directory of the archive (binlog.000001 ..., binlog.index), an absolute path, written by "
     "halyard alone; \"\" = no archive", NULL},
    {"backup.user", CONFIG_STRING, "", 0, 80,
     "account the archive logs in as (REPLICATION SLAVE); \"\" = monitor.user", NULL},
    {"backup.password", CONFIG_STRING, "", 0, 255,
     "backup.user's password in clear text; prefer password_file or password_env", NULL},
    {"backup.password_file", CONFIG_STRING, "", 0, 4095,
     "file whose first line is backup.user's password, read at load; \"\" = none", NULL},
    {"backup.password_env", CONFIG_STRING, "", 0, 255,
     "environment variable holding backup.user's password, read at load; \"\" = none", NULL},
    {"backup.binlog_sync_ms", CONFIG_INT, "100", 1, 60000,
     "the archive's file is fdatasync'd at least this often while events arrive; a transaction "
     "counts as archived once synced", NULL},
    {"backup.binlog_retention", CONFIG_STRING, "7d", 1, 32,
     "closed archive files older than this are deleted: a number with s, m, h or d (\"36h\"); "
     "\"0\" = keep every file; not applied when full_keep is set", NULL},
    {"backup.server_id", CONFIG_INT, "0", 0, 4294967295LL,
     "server_id the archive registers with on the primary (unique among its replicas); 0 = "
     "one derived from instance_name", NULL},
    {"backup.full_every", CONFIG_STRING, "0", 1, 32,
     "start a full backup when the newest complete one is older than this (\"24h\"; a number "
     "with s, m, h or d) and the time is in full_window; \"0\" = no schedule", NULL},
    {"backup.full_window", CONFIG_STRING, "", 0, 11,
     "daily window in UTC (\"01:00-05:00\"; may span midnight, \"22:00-04:00\") when scheduled "
     "full backups may start; \"\" = any time", NULL},
    {"backup.full_max_age", CONFIG_STRING, "0", 1, 32,
     "backup_full_old is raised when the newest complete full backup is older than this; \"0\" "
     "= twice full_every (no alarm without a schedule)", NULL},
    {"backup.full_timeout", CONFIG_STRING, "12h", 1, 32,
     "a full backup's command (mariadb-dump or mariadb_backup_command) still running after this "
     "is killed with its process group and the backup fails, leaving no file (a number with s, "
     "m, h or d); \"0\" = no limit", NULL},
    {"backup.incr_every", CONFIG_STRING, "0", 1, 32,
     "with method mariadb-backup: start an incremental backup (the pages changed since the newest "
     "backup of any type) when that one is older than this (\"1h\"); a full when none can be "
     "continued; \"0\" = none scheduled", NULL},
    {"backup.diff_every", CONFIG_STRING, "0", 1, 32,
     "with method mariadb-backup: start a differential backup (the pages changed since the "
     "newest full) when the newest full or differential is older than this (\"6h\"); \"0\" = "
     "none scheduled", NULL},
    {"backup.full_keep", CONFIG_INT, "0", 0, 10000,
     "retention by count: keep the newest N full backups and every differential and "
     "incremental whose chain starts at one of them; older ones (and their second copies in "
     "copy_to_dir) are deleted after each backup, and so are the archive files older than the "
     "oldest kept full; 0 = keep every backup", NULL},
    {"backup.copy_to_dir", CONFIG_STRING, "", 0, 4095,
     "second copy: every full backup and closed archive file is copied into this directory (an "
     "absolute path, e.g. another mount) and read back to compare its sha256; \"\" = none", NULL},
    {"backup.copy_command", CONFIG_STRING, "", 0, 4095,
     "second copy by a command run with /bin/sh -c for each file: %f its path, %n its name "
     "under backup.dir, %s its sha256 (quoted); exit 0 = sent; \"\" = none", NULL},
    {"backup.copy_verify_command", CONFIG_STRING, "", 0, 4095,
     "with copy_command: run after it, as it is; exit 0 = the copy exists and its sha256 is "
     "%s (the copy is then safe); \"\" = the exit code of copy_command is all that is known",
     NULL},
    {"backup.verify_into", CONFIG_STRING, "", 0, 300,
     "HOST:PORT of an empty scratch server halyardctl backup verify restores into (--into "
     "stands for it); \"\" = none", NULL},
    {"backup.verify_server_command", CONFIG_STRING, "", 0, 4095,
     "backup verify of a mariadb-backup backup: run with /bin/sh -c to start a scratch mariadbd "
     "on the datadir halyardctl extracted and prepared (%d), listening on verify_into (%h %p) "
     "and a socket (%s), quoted; %% a %; stopped (its process group killed) after; \"\" = none",
     NULL},
    {"backup.method", CONFIG_STRING, "mariadb-dump", 0, 0,
     "how a full backup is taken: mariadb-dump (logical, over the network) or mariadb-backup "
     "(physical, by mariadb_backup_command, which must reach the source's datadir)",
     "mariadb-dump|mariadb-backup"},
    {"backup.mariadb_backup_command", CONFIG_STRING, BACKUP_PHYSICAL_DEFAULT_COMMAND, 1, 4095,
     "with method mariadb-backup: run with /bin/sh -c, it writes one xbstream on its standard "
     "output; %h the source's address, %p its port, %u the backup account (quoted), %i "
     "--incremental-lsn=N for an incremental or differential (nothing for a full), %% a %; the "
     "password is in MYSQL_PWD; e.g. ssh db1 mariadb-backup --backup --stream=xbstream ... %i",
     NULL},
    {"backup.compression", CONFIG_STRING, "gzip", 0, 0,
     "how full backup files are compressed: gzip (zlib level 6), zstd (libzstd level 3) or none; "
     "a reader tells them apart by their magic, so a change applies to new files only",
     "gzip|zstd|none"},
    {"backup.encryption_key_file", CONFIG_STRING, "", 0, 4095,
     "file holding a 256-bit key as 64 hex digits (openssl rand -hex 32), mode 0600 or narrower, "
     "read at load: new full backup files are encrypted with AES-256-GCM under it, the manifest "
     "naming the key by id (the first 8 bytes of its SHA-256), and each archive file once closed "
     "(binlog.NNNNNN.KEYID.enc); \"\" = not encrypted", NULL},
    {"backup.decryption_key_files", CONFIG_STRINGS, "[]", 0, 64,
     "older key files (same format and mode) restore and verify may still need to read files "
     "sealed under an earlier encryption_key_file", NULL},
    {"alerts", CONFIG_GROUP, "{}", 0, 0,
     "events (backend_down, failover_done, config_reloaded...) delivered by one notifier "
     "thread to a command and a webhook; see halyard.conf(5) ALERTS", NULL},
    {"alerts.exec", CONFIG_STRING, "", 0, 4095,
     "command run for each event (no shell, no arguments), the event's JSON on its standard "
     "input and its fields in HALYARD_* environment variables; \"\" = none", NULL},
    {"alerts.exec_timeout_ms", CONFIG_INT, "10000", 10, 3600000,
     "milliseconds alerts.exec may run before it is killed (SIGKILL)", NULL},
    {"alerts.exec_max_running", CONFIG_INT, "4", 1, 256,
     "alerts.exec commands running at once; the next events wait in the queue", NULL},
    {"alerts.webhook", CONFIG_STRING, "", 0, 4095,
     "URL (http:// or https://) each event's JSON is POSTed to; \"\" = none", NULL},
    {"alerts.webhook_tls_verify", CONFIG_BOOL, "true", 0, 0,
     "check the webhook's certificate and host name against the system's CA certificates", NULL},
    {"alerts.webhook_timeout_ms", CONFIG_INT, "5000", 10, 600000,
     "milliseconds one POST may take (connect included) before it counts as failed", NULL},
    {"alerts.webhook_retries", CONFIG_INT, "3", 0, 100,
     "times a failed POST (no answer, or a status other than 2xx) is tried again, after 500 ms, "
     "then twice as long each time (at most 60 s)", NULL},
    {"alerts.pre_failover", CONFIG_STRING, "", 0, 4095,
     "command run (no shell) before a failover or switchover acts, with the failover_started "
     "event it is about to be; anything but exit 0 within pre_failover_timeout_ms vetoes it; "
     "\"\" = none", NULL},
    {"alerts.pre_failover_timeout_ms", CONFIG_INT, "10000", 10, 600000,
     "milliseconds alerts.pre_failover may run; then it is killed and the failover vetoed",
     NULL},
    {"alerts.queue_size", CONFIG_INT, "1024", 16, 1048576,
     "events waiting for the notifier thread, and deliveries waiting per notifier; past it an "
     "event is dropped and counted (halyard_events_dropped_total); applies at the next restart",
     NULL},
    {"alerts.repeat_ms", CONFIG_INT, "60000", 0, 86400000,
     "after an event is delivered, more of the same name for the same backend within repeat_ms "
     "are held and counted; when the interval ends the last one is delivered with \"coalesced\" "
     "saying how many it stands for; 0 = deliver every event", NULL},
    {"alerts.min_severity", CONFIG_STRING, "info", 0, 0,
     "events less severe than this are not delivered (still listed by show events); each "
     "event's severity is fixed: see halyard.conf(5), ALERTS",
     "info|warning|critical"},
    {"alerts.disabled", CONFIG_STRINGS, "[]", 0, 64,
     "event names never delivered (still listed by show events)", NULL},
    {"alerts.events", CONFIG_LIST, "()", 0, 32,
     "settings of one event name each, over the ones above: whether it is delivered, its "
     "severity, its repeat interval", NULL},
    {"alerts.events.[].name", CONFIG_STRING, NULL, 1, 64, "the event's name (backend_lagging...)",
     NULL},
    {"alerts.events.[].enabled", CONFIG_BOOL, "true", 0, 0,
     "false: never delivered, as if listed in alerts.disabled", NULL},
    {"alerts.events.[].severity", CONFIG_STRING, "default", 0, 0,
     "the severity it is given (its JSON, HALYARD_SEVERITY and alerts.min_severity): "
     "default = its own", "default|info|warning|critical"},
    {"alerts.events.[].repeat_ms", CONFIG_INT, "-1", -1, 86400000,
     "its repeat interval (as alerts.repeat_ms, for this event only); -1 = alerts.repeat_ms",
     NULL},
    {"witnesses", CONFIG_LIST, "()", 0, 8,
     "MariaDB servers outside the cluster that only vote in the failover lock, so that two "
     "backends (or an even number) in two places can still form a majority", NULL},
    {"witnesses.[].name", CONFIG_STRING, NULL, 1, 64,
     "unique name of the witness, used in logs", NULL},
    {"witnesses.[].address", CONFIG_STRING, NULL, 1, 255,
     "IPv4 or IPv6 literal, or host name, of the server", NULL},
    {"witnesses.[].port", CONFIG_INT, NULL, 1, 65535,
     "TCP port of the server", NULL},
    {"auto_rejoin", CONFIG_BOOL, "false", 0, 0,
     "make a server that comes back outside replication (the old primary) a replica of the "
     "primary, unless it has transactions the primary lacks, or lost transactions of its own "
     "the primary has that its replication would skip",
     NULL},
    {"replication_user", CONFIG_STRING, "", 0, 80,
     "account replicas log in to the primary with, set by CHANGE MASTER when a server that "
     "never replicated (the old primary) rejoins; \"\" = keep each replica's own credentials",
     NULL},
    {"replication_password_file", CONFIG_STRING, "", 0, 4095,
     "file whose first line is replication_user's password, read at load; \"\" = none", NULL},
    {"replication_password_env", CONFIG_STRING, "", 0, 255,
     "environment variable holding replication_user's password, read at load; \"\" = none",
     NULL},

    {"groups", CONFIG_LIST, "()", 0, 64,
     "groups of backends, each a cluster of its own (its type, health and failover), like "
     "ProxySQL's hostgroups; every backend in exactly one; () = one group, \"default\", with "
     "every backend and the top-level settings", NULL},
    {"groups.[].name", CONFIG_STRING, NULL, 1, 40,
     "unique name of the group (listeners.[].group, show groups, metrics)", NULL},
    {"groups.[].cluster", CONFIG_STRING, "default", 0, 0,
     "the group's cluster type, as the top-level cluster; default = the top level's",
     "default|replication|galera|dual-master"},
    {"groups.[].backends", CONFIG_STRINGS, NULL, 1, 256,
     "names of the backends in the group (each backend in exactly one group); a replication "
     "group has exactly one with role \"primary\"", NULL},
    {"groups.[].max_writers", CONFIG_INT, "0", 0, 64,
     "cluster = galera: the group's max_writers; 0 = the top level's", NULL},
    {"groups.[].writer_is_also_reader", CONFIG_BOOL, "false", 0, 0,
     "cluster = galera: the group's writer_is_also_reader; left out = the top level's", NULL},
    {"groups.[].failover", CONFIG_STRING, "default", 0, 0,
     "the group's failover (auto or off); default = the top level's; the failover lock's "
     "majority counts the group's backends and the witnesses",
     "default|off|auto"},
    {"groups.[].failover_delay_ms", CONFIG_INT, "-1", -1, 3600000,
     "the group's failover_delay_ms; -1 = the top level's", NULL},
    {"groups.[].auto_rejoin", CONFIG_BOOL, "false", 0, 0,
     "the group's auto_rejoin; left out = the top level's", NULL},
    {"groups.[].monitor", CONFIG_GROUP, "{}", 0, 0,
     "the group's health-check settings over the top-level monitor's", NULL},
    {"groups.[].monitor.rise", CONFIG_INT, "0", 0, 100,
     "the group's monitor.rise; 0 = the top level's", NULL},
    {"groups.[].monitor.fall", CONFIG_INT, "0", 0, 100,
     "the group's monitor.fall; 0 = the top level's", NULL},
    {"groups.[].monitor.user", CONFIG_STRING, "", 0, 80,
     "account the monitor logs into the group's backends as (and failover, on them); \"\" = "
     "the top level's monitor.user and password", NULL},
    {"groups.[].monitor.password", CONFIG_STRING, "", 0, 255,
     "the group's monitor.user's password in clear text; needs the group's monitor.user", NULL},
    {"groups.[].monitor.password_file", CONFIG_STRING, "", 0, 4095,
     "file whose first line is the group's monitor.user's password; \"\" = none", NULL},
    {"groups.[].monitor.password_env", CONFIG_STRING, "", 0, 255,
     "environment variable holding the group's monitor.user's password; \"\" = none", NULL},
    {"groups.[].monitor.interval_ms", CONFIG_INT, "0", 0, 3600000,
     "milliseconds between two checks of the group's backends; 0 = the top level's", NULL},
    {"groups.[].monitor.timeout_ms", CONFIG_INT, "0", 0, 600000,
     "the group's monitor.timeout_ms; 0 = the top level's", NULL},

    {"shards", CONFIG_GROUP, "{}", 0, 0,
     "routing by schema over several groups, for listeners with shards = true (issue 15)",
     NULL},
    {"shards.learn", CONFIG_BOOL, "false", 0, 0,
     "also learn the map: SHOW DATABASES on each group's primary, as the group's monitor.user, "
     "every shards.refresh_ms; a schema found on one group is that group's, on two a conflict "
     "(refused until resolved); shards.schemas entries win", NULL},
    {"shards.refresh_ms", CONFIG_INT, "10000", 100, 3600000,
     "with shards.learn: milliseconds between two reads of the groups' schemas", NULL},
    {"shards.schemas", CONFIG_LIST, "()", 0, 100000,
     "the schema map: which group each schema lives on; a schema the map does not name is on "
     "the listener's group; a schema listed for two groups is refused (error 1105) until the "
     "map says which", NULL},
    {"shards.schemas.[].schema", CONFIG_STRING, NULL, 1, 64,
     "a schema's name, as the server spells it (names are case-sensitive); not a system schema "
     "(mysql, information_schema, performance_schema, sys: on every group)", NULL},
    {"shards.schemas.[].group", CONFIG_STRING, NULL, 1, 40,
     "the group (groups.[].name) the schema lives on", NULL},
    {"shards.cross_group_transactions", CONFIG_STRING, "refuse", 0, 0,
     "a transaction that touches a second group: \"refuse\" (the statement that crosses over "
     "gets error 1105, the transaction stays open on its first group) or \"xa\" (a transaction "
     "opened with BEGIN or START TRANSACTION runs as XA on every group it touches, committed in "
     "two phases, the decision in shards.xa_log)",
     "refuse|xa"},
    {"shards.xa_log", CONFIG_STRING, "/var/lib/halyard/xa.log", 0, 4095,
     "with cross_group_transactions = \"xa\": the file halyard appends each two-phase commit "
     "decision to (fsync'd before the first XA COMMIT), an absolute path", NULL},

    {"shards.tables", CONFIG_LIST, "()", 0, 1000,
     "key shards: tables whose rows are spread over the groups by the value of one integer "
     "or string column (shard_key.h); a statement naming one runs on the group of its key", NULL},
    {"shards.tables.[].table", CONFIG_STRING, NULL, 3, 129,
     "the sharded table, \"schema.table\" as the server spells them (case-sensitive)", NULL},
    {"shards.tables.[].key", CONFIG_STRING, NULL, 1, 64,
     "the key column: an integer column (its values up to 2^63-1 in size), or a string one "
     "(type = \"string\")", NULL},
    {"shards.tables.[].type", CONFIG_STRING, "int", 0, 0,
     "the key column's type: int (an integer column) or string (CHAR, VARCHAR, BINARY, "
     "VARBINARY, TEXT, BLOB: routed by its bytes, with collation)",
     "int|string"},
    {"shards.tables.[].collation", CONFIG_STRING, "", 0, 64,
     "type = string: the key column's collation, one whose equality is byte equality: binary, "
     "<charset>_nopad_bin (hash CRC32(key)) or <charset>_bin (PAD SPACE: hash CRC32(RTRIM(key))), "
     "charset utf8mb4, utf8mb3, latin1 or ascii; another is refused; a range map orders by it",
     NULL},
    {"shards.tables.[].function", CONFIG_STRING, "hash", 0, 0,
     "hash: CRC32(key) % buckets, the same value as the server's own CRC32(key) % buckets, and "
     "buckets to groups; range: ascending bounds to groups",
     "hash|range"},
    {"shards.tables.[].buckets", CONFIG_INT, "0", 0, 1048576,
     "function = hash: the number of buckets (e.g. 4096); not with range", NULL},
    {"shards.tables.[].map", CONFIG_LIST, NULL, 1, 4096,
     "where the rows are: hash, buckets to groups, covering 0..buckets-1 exactly once; range, "
     "in ascending order, each entry the values below its bound not taken by an earlier one, "
     "the last entry (no bound) the rest", NULL},
    {"shards.tables.[].map.[].group", CONFIG_STRING, NULL, 1, 40,
     "the group (groups.[].name) holding these rows", NULL},
    {"shards.tables.[].map.[].buckets", CONFIG_STRING, "", 0, 32,
     "function = hash: a bucket \"n\" or a range of buckets \"first-last\"", NULL},
    {"shards.tables.[].map.[].below", CONFIG_INT_OR_STRING, "0", -9223372036854775807LL,
     9223372036854775807LL,
     "function = range: this entry takes the keys below this value (left out on the last "
     "entry: the rest); an integer, or for type = string a string, ordered by the column's "
     "collation", NULL},
    {"shards.reference", CONFIG_STRINGS, "[]", 0, 10000,
     "reference tables, \"schema.table\": a copy on every group; a read runs on any group, a "
     "write on every group", NULL},

    {"listeners", CONFIG_LIST, NULL, 1, 64,
     "addresses where halyard accepts client connections", NULL},
    {"listeners.[].name", CONFIG_STRING, NULL, 1, 64,
     "unique name of the listener, used in logs", NULL},
    {"listeners.[].address", CONFIG_STRING, NULL, 1, 255,
     "IPv4 or IPv6 literal, or host name resolved at start, to bind", NULL},
    {"listeners.[].port", CONFIG_INT, NULL, 1, 65535,
     "TCP port to bind", NULL},
    {"listeners.[].backlog", CONFIG_INT, "1024", 1, 65535,
     "listen(2) backlog: connections the kernel queues before halyard accepts them", NULL},
    {"listeners.[].consistency", CONFIG_STRING, "default", 0, 0,
     "consistency for sessions of this listener; default = the top-level consistency",
     "default|eventual|causal|strong|global"},
    {"listeners.[].require_tls", CONFIG_BOOL, "false", 0, 0,
     "refuse logins that did not start TLS (error 1045, as MariaDB 10.11 with "
     "require_secure_transport); needs tls_cert", NULL},
    {"listeners.[].users", CONFIG_STRINGS, "[]", 0, 10000,
     "the users that may log in through this listener; [] = every user", NULL},
    {"listeners.[].group", CONFIG_STRING, "", 0, 64,
     "the group (groups) whose backends this listener's sessions use; \"\" = the first group",
     NULL},
    {"listeners.[].shards", CONFIG_BOOL, "false", 0, 0,
     "route each statement to the group of the schema it names (shards.schemas), then inside "
     "that group as usual; group is then the default group: schemas the map does not name",
     NULL},
    {"listeners.[].proxy_protocol_from", CONFIG_STRINGS, "[]", 0, 1000,
     "load balancers (IPv4 or IPv6 ADDRESS/BITS or one address) whose connections must begin "
     "with a PROXY protocol header (v1 or v2) naming the real client; [] = PROXY protocol off",
     NULL},

    {"users", CONFIG_LIST, "()", 0, 10000,
     "accounts clients may log in as; halyard logs in to backends as the same account; at least "
     "one unless users_source reads the primary's accounts", NULL},
    {"users.[].name", CONFIG_STRING, NULL, 1, 80,
     "unique user name, compared case-sensitively", NULL},
    {"users.[].password_hash", CONFIG_STRING, NULL, 0, 0,
     "mysql_native_password hash: \"*\" and 40 hex digits, as in mysql.user; \"\" = no password",
     NULL},
    {"users.[].sha2_hash", CONFIG_STRING, "", 0, 64,
     "caching_sha2_password: 64 hex digits of SHA256(SHA256(password)), so the fast path can "
     "check the password; \"\" = learned from the first full authentication", NULL},
    {"users.[].consistency", CONFIG_STRING, "default", 0, 0,
     "consistency for this user's sessions, over the listener's; default = the listener's",
     "default|eventual|causal|strong|global"},
    {"users.[].require_tls", CONFIG_BOOL, "false", 0, 0,
     "refuse this user's logins that did not start TLS (error 1045, as REQUIRE SSL); needs "
     "tls_cert", NULL},
    {"users.[].tls_subject", CONFIG_STRING, "", 0, 1024,
     "the exact subject of the client certificate this user must present, one-line form "
     "(\"/C=FI/O=Acme/CN=app\", as REQUIRE SUBJECT); needs tls_ca; \"\" = none required",
     NULL},
    {"users.[].allow", CONFIG_STRINGS, "[]", 0, 1000,
     "client networks the user may log in from, IPv4 or IPv6 ADDRESS/BITS or one address; "
     "[] = any", NULL},
    {"users.[].max_connections", CONFIG_INT, "0", 0, 1000000,
     "sessions of this user open at once; over it a login gets error 1226; 0 = no limit", NULL},
    {"users.[].exempt", CONFIG_BOOL, "false", 0, 0,
     "no fair-share limit (limits) holds or counts this user's statements: an on-call DBA "
     "always gets in", NULL},
    {"users.[].firewall", CONFIG_STRING, "off", 0, 0,
     "statement firewall: learn records the digests the user sends, enforce refuses those not "
     "in firewall_allow", "off|learn|enforce"},
    {"users.[].firewall_allow", CONFIG_STRINGS, "[]", 0, 100000,
     "firewall = enforce: the statements allowed, each a digest (as show digests prints it) or "
     "its 16-hex-digit hash", NULL},

    {"admin_accounts", CONFIG_LIST, "()", 0, 1000,
     "accounts of the SQL admin port (admin_listen); at least one when it is on", NULL},
    {"admin_accounts.[].name", CONFIG_STRING, NULL, 1, 80,
     "unique account name, compared case-sensitively", NULL},
    {"admin_accounts.[].password_hash", CONFIG_STRING, NULL, 0, 0,
     "mysql_native_password hash: \"*\" and 40 hex digits, as in mysql.user (users[] keep the "
     "same)", NULL},
    {"admin_accounts.[].role", CONFIG_STRING, "read-only", 0, 0,
     "read-only: the SHOW statements; operator: the actions too (RELOAD, SWITCHOVER, KILL "
     "SESSION, SET BACKEND...)", "read-only|operator"},
    {"backends", CONFIG_LIST, NULL, 1, 256,
     "MariaDB/MySQL servers behind halyard", NULL},
    {"backends.[].name", CONFIG_STRING, NULL, 1, 64,
     "unique name of the backend, used in logs", NULL},
    {"backends.[].address", CONFIG_STRING, NULL, 1, 255,
     "IPv4 or IPv6 literal, or host name, of the server", NULL},
    {"backends.[].port", CONFIG_INT, NULL, 1, 65535,
     "TCP port of the server", NULL},
    {"backends.[].role", CONFIG_STRING, NULL, 0, 0,
     "exactly one backend is the primary; replicas take reads (see read_write_split)",
     "primary|replica"},
    {"backends.[].weight", CONFIG_INT, "1", 0, 1000,
     "share of reads among replicas; 0 = never chosen for reads", NULL},
    {"backends.[].max_connections", CONFIG_INT, "0", 0, 1000000,
     "connections halyard opens to this server at most, over every worker; at the limit a read "
     "goes elsewhere and a statement that must run here fails with 1040; 0 = no limit", NULL},
    {"backends.[].tls", CONFIG_STRING, "default", 0, 0,
     "TLS towards this backend, as backend_tls; default = backend_tls",
     "default|off|on|verify-ca|verify-full"},
    {"backends.[].tls_ca", CONFIG_STRING, "", 0, 4095,
     "CA certificates for this backend; \"\" = backend_tls_ca", NULL},
    {"backends.[].tls_cert", CONFIG_STRING, "", 0, 4095,
     "client certificate for this backend; \"\" = backend_tls_cert", NULL},
    {"backends.[].tls_key", CONFIG_STRING, "", 0, 4095,
     "private key of this backend's tls_cert; \"\" = backend_tls_key", NULL},
    {"backends.[].max_replication_lag", CONFIG_INT, "-1", -1, 86400,
     "max_replication_lag for this backend; -1 = the top-level max_replication_lag", NULL},
    {"backends.[].zone", CONFIG_STRING, "", 0, 64,
     "the zone the server is in; \"\" = the same as halyard's", NULL},
    {"backends.[].promotion", CONFIG_STRING, "neutral", 0, 0,
     "failover: prefer = promoted before an equally advanced neutral replica; never = never "
     "promoted (a replica for backups or reports); halyard never promotes one that lacks "
     "transactions another candidate has",
     "prefer|neutral|never"},
    {"backends.[].priority", CONFIG_INT, "0", 0, 1000000,
     "cluster = galera: the writer is the usable node with the lowest priority, then the first "
     "by name; every halyard with the same config picks the same one", NULL},

    {"rules", CONFIG_LIST, "()", 0, 1000,
     "query rules, tried in order: the first whose every condition matches a statement routes "
     "or blocks it", NULL},
    {"rules.[].name", CONFIG_STRING, NULL, 1, 64,
     "unique name of the rule, shown by show rules and in the default error_message", NULL},
    {"rules.[].match_digest", CONFIG_STRING, "", 0, 4096,
     "condition: PCRE2 regex the statement's digest must match; \"\" = none", NULL},
    {"rules.[].match_text", CONFIG_STRING, "", 0, 4096,
     "condition: PCRE2 regex the statement's text must match; \"\" = none", NULL},
    {"rules.[].user", CONFIG_STRING, "", 0, 80,
     "condition: the session's user, one of users; \"\" = any", NULL},
    {"rules.[].users", CONFIG_STRINGS, "[]", 0, 10000,
     "condition: the session's user is one of these (each one of users); [] = any", NULL},
    {"rules.[].schema", CONFIG_STRING, "", 0, 256,
     "condition: the session's default schema, compared exactly; \"\" = any", NULL},
    {"rules.[].client", CONFIG_STRING, "", 0, 64,
     "condition: the client's network, IPv4 or IPv6 ADDRESS/BITS or one address; \"\" = any",
     NULL},
    {"rules.[].no_where", CONFIG_STRINGS, "[]", 0, 1000,
     "condition: an UPDATE or DELETE without WHERE on one of these tables (NAME or SCHEMA.NAME; "
     "\"*\" = any table); [] = none", NULL},
    {"rules.[].listener", CONFIG_STRING, "", 0, 64,
     "condition: the name of the listener the session came in on, one of listeners; \"\" = any",
     NULL},
    {"rules.[].tables", CONFIG_STRINGS, "[]", 0, 1000,
     "condition, action = cache only: every table the SELECT reads is one of these (NAME in any "
     "schema, SCHEMA.NAME, or SCHEMA.* for every table of SCHEMA; case-insensitive); [] = any",
     NULL},
    {"rules.[].action", CONFIG_STRING, "route", 0, 0,
     "route the statement to `route`, block it with the error_* error, or cache its answer "
     "(the cache section)", "route|block|cache"},
    {"rules.[].route", CONFIG_STRING, "", 0, 64,
     "action = route: primary, replica, or a backend's name; required there, refused with "
     "block", NULL},
    {"rules.[].error_code", CONFIG_INT, "1142", 1, 65535,
     "action = block: error number the client gets", NULL},
    {"rules.[].error_sqlstate", CONFIG_STRING, "42000", 5, 5,
     "action = block: SQLSTATE the client gets, 5 characters 0-9 A-Z", NULL},
    {"rules.[].error_message", CONFIG_STRING, "statement blocked by halyard rule {name}", 1, 400,
     "action = block: error message the client gets; {name} stands for the rule's name", NULL},
    {"rules.[].ttl_ms", CONFIG_INT, "60000", 1, 86400000,
     "action = cache: an entry is served at most this long after it was filled (an upper "
     "bound: the primary's binary log drops it sooner when its tables change)", NULL},
    {"rules.[].max_result_bytes", CONFIG_INT, "1048576", 1, 1073741824,
     "action = cache: answers larger than this are not kept", NULL},
    {"rules.[].read_your_writes", CONFIG_STRING, "", 0, 0,
     "action = cache: whose writes through halyard hold this rule's hits, as "
     "cache.read_your_writes: \"global\" or \"session\"; \"\" = cache.read_your_writes",
     "|global|session"},
    {"rules.[].max_stale_ms", CONFIG_INT, "0", 0, 600000,
     "action = cache: > 0 = bounded staleness: this rule's hits wait for no write through "
     "halyard, and are served while the reader has applied a position of the primary read at "
     "most this long ago (and at most cache.max_lag_ms); 0 = off (read_your_writes holds)", NULL},

    {"limits", CONFIG_LIST, "()", 0, 1000,
     "fair-share limits (docs/limits.md), tried in order: the first whose every condition "
     "matches a statement governs it; per halyard", NULL},
    {"limits.[].name", CONFIG_STRING, NULL, 1, 64,
     "unique name of the limit, shown by show limits and in its error 1226", NULL},
    {"limits.[].user", CONFIG_STRING, "", 0, 80,
     "condition: the session's user, one of users; \"\" = any", NULL},
    {"limits.[].users", CONFIG_STRINGS, "[]", 0, 10000,
     "condition: the session's user is one of these (each one of users); [] = any", NULL},
    {"limits.[].schema", CONFIG_STRING, "", 0, 256,
     "condition: the session's default schema, compared exactly; \"\" = any", NULL},
    {"limits.[].client", CONFIG_STRING, "", 0, 64,
     "condition: the client's network, IPv4 or IPv6 ADDRESS/BITS or one address; \"\" = any",
     NULL},
    {"limits.[].listener", CONFIG_STRING, "", 0, 64,
     "condition: the name of the listener the session came in on, one of listeners; \"\" = any",
     NULL},
    {"limits.[].match_digest", CONFIG_STRING, "", 0, 4096,
     "condition: PCRE2 regex the statement's digest (as show digests and rules' match_digest "
     "see it) must match; a prepared statement's executions by the text it was prepared from; "
     "\"\" = none",
     NULL},
    {"limits.[].max_concurrent", CONFIG_INT, "0", 0, 1000000,
     "statements the limit's tenants have in flight at once; 0 = not limited", NULL},
    {"limits.[].max_per_second", CONFIG_INT, "0", 0, 100000000,
     "statements a second, a token bucket refilled at this rate; 0 = not limited", NULL},
    {"limits.[].burst", CONFIG_INT, "0", 0, 100000000,
     "max_per_second: the tokens the bucket holds, statements that may start at once after a "
     "quiet spell; 0 = max_per_second", NULL},
    {"limits.[].max_server_ms_per_second", CONFIG_INT, "0", 0, 100000000,
     "server time (ms, measured from send to the answer's end) the limit's statements may use "
     "a second; a statement starts while the budget, less what those in flight are expected "
     "to use, is positive; 0 = not limited", NULL},
    {"limits.[].queue_size", CONFIG_INT, "100", 0, 1000000,
     "statements that may wait over the limit, served in order and fair across its tenants; "
     "one more gets error 1226; 0 = refused at once", NULL},
    {"limits.[].queue_timeout_ms", CONFIG_INT, "1000", 1, 3600000,
     "the longest a statement waits in the queue; then error 1226", NULL},
    {"limits.[].tenant", CONFIG_STRING, "user", 0, 0,
     "what the queue is fair across: the statements' users, or their default schemas",
     "user|schema"},

    {"tracing", CONFIG_GROUP, "{}", 0, 0,
     "a span per client statement, joined to the application's trace (W3C traceparent), sent "
     "over OTLP/HTTP by a thread of its own; see docs/tracing.md", NULL},
    {"tracing.enabled", CONFIG_BOOL, "false", 0, 0, "make and send spans", NULL},
    {"tracing.endpoint", CONFIG_STRING, "http://127.0.0.1:4318/v1/traces", 1, 4095,
     "URL (http:// or https://) the spans are POSTed to", NULL},
    {"tracing.protocol", CONFIG_STRING, "http/protobuf", 0, 0,
     "OTLP/HTTP's encoding: http/protobuf (binary, about half the bytes and the exporter's "
     "work) or http/json (read at start)", "http/protobuf|http/json"},
    {"tracing.headers", CONFIG_STRING, "", 0, 4095,
     "headers sent with each POST, \"Name: value\" lines separated by \\n (an API key); "
     "\"\" = none", NULL},
    {"tracing.tls_ca_file", CONFIG_STRING, "", 0, 4095,
     "CA certificates the https receiver is checked against; \"\" = the system's", NULL},
    {"tracing.tls_verify", CONFIG_BOOL, "true", 0, 0,
     "check the receiver's certificate and host name", NULL},
    {"tracing.service_name", CONFIG_STRING, "halyard", 1, 255,
     "the spans' resource attribute service.name", NULL},
    {"tracing.ratio", CONFIG_STRING, "1.0", 1, 32,
     "share of statements without a sampled parent whose span is kept, 0.0 to 1.0 (by trace "
     "id); a parent's sampled flag decides for the others", NULL},
    {"tracing.slow_ms", CONFIG_INT, "0", 0, 3600000,
     "a statement that took this long is kept whatever the ratio (errors always are); 0 = "
     "none", NULL},
    {"tracing.query_text", CONFIG_BOOL, "false", 0, 0,
     "db.query.text: the statement's text as the client sent it (it may hold data)", NULL},
    {"tracing.queue_size", CONFIG_INT, "4096", 16, 1048576,
     "spans waiting for the exporter at most; past it a span is dropped and counted (read at "
     "start)", NULL},
    {"tracing.flush_ms", CONFIG_INT, "5000", 10, 600000,
     "milliseconds the exporter waits at most before it posts the spans queued, when fewer "
     "than a batch (2048) are; the same role and default as OpenTelemetry's batch span "
     "processor's schedule delay (OTEL_BSP_SCHEDULE_DELAY) (read at start)", NULL},
    {"tracing.timeout_ms", CONFIG_INT, "2000", 10, 600000,
     "milliseconds one POST may take; a failed one is tried again twice, after 100 ms then "
     "200 ms", NULL},
    {"cache", CONFIG_GROUP, "{}", 0, 0,
     "the query cache's settings; the cache is on when a rule has action = \"cache\"", NULL},
    {"cache.size_mb", CONFIG_INT, "64", 1, 65536,
     "memory the cached answers may take (keys and bookkeeping included); the least recently "
     "used go first", NULL},
    {"cache.user", CONFIG_STRING, "", 0, 80,
     "account the cache's binary log reader logs in as (REPLICATION SLAVE); \"\" = backup.user, "
     "else monitor.user", NULL},
    {"cache.password", CONFIG_STRING, "", 0, 255,
     "cache.user's password in clear text", NULL},
    {"cache.server_id", CONFIG_INT, "0", 0, 4294967295LL,
     "server_id the cache's binary log reader registers with on the primary (unique among its "
     "replicas); 0 = one derived from instance_name", NULL},
    {"cache.settle_ms", CONFIG_INT, "50", 0, 10000,
     "a fill sent sooner than this after an invalidation of one of its tables is not kept, on "
     "top of the order that already refuses a fill its tables' changes may not have been "
     "visible to (the primary's engines' commit point, Binlog_snapshot_position); defence in "
     "depth; 0 = the order alone", NULL},
    {"cache.max_lag_ms", CONFIG_INT, "1000", 10, 600000,
     "no hits are served unless the reader has applied the primary's position read at most "
     "this long ago", NULL},
    {"cache.read_your_writes", CONFIG_STRING, "global", 0, 0,
     "whose writes through halyard hold a session's hits until the reader has applied a "
     "position of the primary read after them: \"global\" (every session's: a write is seen by "
     "every session once its client has the answer) or \"session\" (its own only: other "
     "sessions see it once the reader applies it, as a write made elsewhere)",
     "global|session"},
};
/* clang-format on */

const size_t config_n_keys = HY_ARRAY_SIZE(config_keys);
