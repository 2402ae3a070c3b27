/*
 * cache_follow.c: the query cache's reader of the primary's binary log
 * (cache.h), a thread of its own with a private libev loop.
 *
 * A 50 ms tick takes a new config, sweeps a slice of the expired
 * entries (cache_sweep), finds the primary (backend.h), and keeps two
 * sqlclients on it: `dump` (login, the server's checksum and
 * @@gtid_binlog_pos, the replica's variables, COM_REGISTER_SLAVE,
 * COM_BINLOG_DUMP from that position, then the stream, each event applied
 * to the cache) and `probe` (SELECT @@global.gtid_binlog_pos, with the
 * global isolation default (cache_stream_isolation), each tick
 * and at once when a lookup is held by a write through halyard
 * (cache_follow_probe_now; one in flight, the lookups held meanwhile
 * probed for as soon as it returns): the positions hits wait for; and
 * the primary's base tables, the
 * cache's allowlist (cache_tables.h), with their key columns, cascading
 * foreign keys and triggers, read from information_schema at
 * the start and after each DDL the stream shows). When the stream ends, fails, is silent
 * for 5 s (the server sends a heartbeat each second), the cache is
 * emptied and the reader connects again from the primary's position of
 * then. When the primary changes (a failover, a switchover) the reader
 * instead asks the new primary for its binary log from the GTID position
 * it had applied, in strict mode: the server refuses unless its binary
 * log holds that position, and a GTID that does not follow it is a gap
 * (cache_inval.h). Its first event proves the position: the cache is kept
 * (but the entries stored after the last primary position the reader
 * applied, which may hold a transaction the new primary never got); a
 * refusal or any failure before it empties the cache ("failover").
 * A reload re-attaches the same way, to the same primary, when the new
 * config keeps the server it reads and its account (cache_reload.h);
 * otherwise it empties the cache and the reader starts again.
 * The backup's archive (binlog_archive.c) reads the same stream for
 * another purpose; this reader is independent of it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ev.h>

#include "cache_int.h"
#include "halyard/core/text.h"
#include "halyard/cache/cache.h"
#include "halyard/cache/cache_keyval.h"
#include "halyard/cache/cache_reload.h"
#include "halyard/cache/cache_store.h"
#include "halyard/cache/cache_tables.h"
#include "halyard/cluster/backend.h"
#include "halyard/config/config.h"
#include "halyard/core/log.h"
#include "halyard/protocol/binlog.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/protocol/sqlclient.h"

#define TICK_S            0.05
#define RETRY_S           1.0
#define STREAM_SILENCE    5000  /* ms without a packet (heartbeats included): reconnect */
#define SCHEMA_SILENCE_MS 60000 /* ms a read of the schema may wait for its next row */
#define NO_FILLS_AGAIN_S  600.0 /* why no answer is kept: said again at most this often */

/* Why no answer can be kept, as the list of base tables read last says. */
enum no_fills { NO_FILLS_NONE, NO_FILLS_NO_SELECT, NO_FILLS_ENGINES };

static struct {
    pthread_t thread;
    bool running;
    struct ev_loop *loop;
    ev_timer tick;
    ev_async wake;
    pthread_mutex_t mu; /* stop, cfg_new */
    bool stop;
    struct config *cfg_new;
    struct config *cfg; /* the thread's */
    struct sqlclient *dump, *probe;
    int src; /* backend the dump reads, -1 = none */
    char src_name[64];
    bool crc; /* events end with a CRC32 */
    struct gtid_pos from;
    double retry_at;
    bool probe_busy;
    double probe_sent;
    atomic_bool probe_want;      /* a lookup was held by a write since the last probe was sent */
    uint64_t base_gen;           /* the DDL generation the schema is being read at */
    struct cache_tables *schema; /* ... what was read of it so far */
    bool schema_bad;             /* ... a row of the step being read could not be kept */
    bool schema_priv;            /* ... the reader sees every trigger (TRIGGER on *.*) */
    bool resume;                 /* re-attaching at a new primary from `from` */
    bool resume_proved;          /* ... its first event came */
    enum no_fills said;          /* the cause last said (no_fills_say) ... */
    char said_src[64];           /* ... of this source ... */
    double said_at;              /* ... then (ev_now) ... */
    uint64_t said_again;         /* ... and the reads that found it again since */
} F = {.mu = PTHREAD_MUTEX_INITIALIZER, .src = -1};

static void drop_dump(double retry_in, bool failover)
{
    sqlclient_destroy(F.dump);
    F.dump = NULL;
    sqlclient_destroy(F.probe);
    F.probe = NULL;
    F.probe_busy = false;
    F.src = -1;
    F.retry_at = ev_now(F.loop) + retry_in;
    cache_tables_destroy(F.schema);
    F.schema = NULL;
    cache_stream_reset(NULL, NULL, failover || (F.resume && !F.resume_proved));
    F.resume = F.resume_proved = false;
}

/* The clients closed, to connect again at once; the cache untouched. */
static void clients_drop(void)
{
    sqlclient_destroy(F.dump);
    F.dump = NULL;
    sqlclient_destroy(F.probe);
    F.probe = NULL;
    F.probe_busy = false;
    F.src = -1;
    F.retry_at = ev_now(F.loop);
    cache_tables_destroy(F.schema); /* a read cut short */
    F.schema = NULL;
}

/* The primary changed, or a reload kept the stream (cache_reload.h):
 * re-attach at the primary from the position applied, when there is one
 * (cache_stream_pause; the entries it drops counted as `why`), else start
 * again empty. */
static void reattach(enum cache_drop why)
{
    clients_drop();
    if (cache_stream_pause(&F.from, why)) {
        F.resume = true;
        F.resume_proved = false;
        return;
    }
    drop_dump(0, why == CACHE_DROP_FAILOVER);
}

static bool on_packet(struct sqlclient *c, const uint8_t *p, size_t len, void *arg)
{
    (void)c;
    (void)arg;
    if (len < 1 + BINLOG_HEADER_LEN || p[0] != 0x00) {
        hy_log_warn("cache: an unexpected packet in the binlog stream from %s", F.src_name);
        drop_dump(RETRY_S, false);
        return false;
    }
    size_t n = len - 1;
    size_t body_end = F.crc && p[1 + 4] != BINLOG_FORMAT_DESCRIPTION ? n - BINLOG_CRC_LEN : n;
    if (F.crc && n < BINLOG_HEADER_LEN + BINLOG_CRC_LEN) {
        drop_dump(RETRY_S, false);
        return false;
    }
    if (p[1 + 4] == BINLOG_FORMAT_DESCRIPTION)
        body_end = n - (binlog_fde_checksum_alg(p + 1, n) == 1 ? BINLOG_CRC_LEN : 0);
    if (F.resume && !F.resume_proved) {
        /* the server checked the position before sending anything */
        F.resume_proved = true;
        cache_stream_resume(F.src_name);
        hy_log_info("cache: %s's binary log holds the position applied: the cache is kept",
                    F.src_name);
    }
    cache_stream_event(p + 1, body_end);
    return true;
}

static void stream_done(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    (void)arg;
    hy_log_warn("cache: the binlog stream from %s ended: %s; the cache is emptied", F.src_name,
                res->ok ? "by the server" : res->err_msg);
    drop_dump(RETRY_S, false);
}

static void put_u32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *(*p)++ = (uint8_t)(v >> (8 * i));
}

static void registered(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)arg;
    if (!res->ok) {
        hy_log_warn("cache: COM_REGISTER_SLAVE on %s: %s", F.src_name, res->err_msg);
        drop_dump(RETRY_S, false);
        return;
    }
    uint8_t req[10], *p = req; /* position 4, flags 0 (block), server_id, no file */
    put_u32(&p, BINLOG_MAGIC_LEN);
    *p++ = 0;
    *p++ = 0;
    put_u32(&p, F.cfg->cache.server_id);
    sqlclient_set_timeout(c, STREAM_SILENCE);
    if (sqlclient_stream(c, COM_BINLOG_DUMP, req, (size_t)(p - req), on_packet, stream_done,
                         NULL) != HY_OK) {
        drop_dump(RETRY_S, false);
        return;
    }
    if (F.resume)
        return; /* proved by the first event (on_packet) */
    /* everything after `from` comes now: the cache starts empty from it */
    cache_stream_reset(&F.from, F.src_name, false);
    char gs[GTID_STR_MAX];
    gtid_pos_format(&F.from, gs, sizeof(gs));
    hy_log_info("cache: following %s's binary log after GTID %s", F.src_name,
                gs[0] ? gs : "(none)");
}

static void vars_set(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)arg;
    if (!res->ok) {
        hy_log_warn("cache: setting the replica's variables on %s: %s", F.src_name, res->err_msg);
        drop_dump(RETRY_S, false);
        return;
    }
    uint8_t req[32], *p = req;
    put_u32(&p, F.cfg->cache.server_id);
    static const char host[] = "halyard-cache";
    *p++ = (uint8_t)(sizeof(host) - 1);
    memcpy(p, host, sizeof(host) - 1);
    p += sizeof(host) - 1;
    *p++ = 0; /* user */
    *p++ = 0; /* password */
    *p++ = 0; /* port */
    *p++ = 0;
    put_u32(&p, 0); /* rank */
    put_u32(&p, 0); /* master id */
    if (sqlclient_command(c, COM_REGISTER_SLAVE, req, (size_t)(p - req), registered, NULL) != HY_OK)
        drop_dump(RETRY_S, false);
}

static void server_read(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)arg;
    const char *alg = res->ok && res->n_rows == 1 ? sqlresult_get(res, 0, 0) : NULL;
    const char *bpos = res->ok && res->n_rows == 1 ? sqlresult_get(res, 0, 1) : NULL;
    struct gtid_pos now_pos;
    if (alg == NULL || bpos == NULL || gtid_pos_parse(bpos, strlen(bpos), &now_pos) != HY_OK) {
        hy_log_warn("cache: reading @@binlog_checksum and @@gtid_binlog_pos on %s: %s", F.src_name,
                    res->ok ? "unexpected answer" : res->err_msg);
        drop_dump(RETRY_S, false);
        return;
    }
    F.crc = strcasecmp(alg, "CRC32") == 0;
    if (!F.resume)
        F.from = now_pos; /* a fresh start: from the primary's position of now */
    char sql[GTID_STR_MAX + 300], gs[GTID_STR_MAX];
    gtid_pos_format(&F.from, gs, sizeof(gs));
    snprintf(sql, sizeof(sql),
             "SET @master_binlog_checksum = @@global.binlog_checksum, "
             "@mariadb_slave_capability = 4, @slave_connect_state = '%s', "
             "@slave_gtid_strict_mode = %d, @slave_gtid_ignore_duplicates = 0, "
             "@master_heartbeat_period = 1000000000",
             gs, F.resume ? 1 : 0);
    if (sqlclient_query(c, sql, vars_set, NULL) != HY_OK)
        drop_dump(RETRY_S, false);
}

static void connected(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)arg;
    if (!res->ok) {
        hy_log_warn("cache: connect to %s: %s", F.src_name, res->err_msg);
        drop_dump(RETRY_S, false);
        return;
    }
    if (sqlclient_query(c, "SELECT @@global.binlog_checksum, @@global.gtid_binlog_pos", server_read,
                        NULL) != HY_OK)
        drop_dump(RETRY_S, false);
}

static struct sqlclient *client_for(const struct config_backend *b)
{
    struct sqlclient_target t = {
        .name = b->name,
        .address = b->address,
        .port = b->port,
        .user = F.cfg->cache.user,
        .password = F.cfg->cache.password,
        .tls = b->tls,
        .tls_ctx = b->tls_ctx,
    };
    return sqlclient_create(F.loop, &t, F.cfg->connect_timeout_ms);
}

static void dump_connect(int idx)
{
    const struct config_backend *b = &F.cfg->backends[idx];
    F.src = idx;
    snprintf(F.src_name, sizeof(F.src_name), "%s", b->name);
    F.dump = client_for(b);
    if (F.dump == NULL || sqlclient_connect(F.dump, connected, NULL) != HY_OK) {
        sqlclient_destroy(F.dump);
        F.dump = NULL;
        F.src = -1;
        F.retry_at = ev_now(F.loop) + RETRY_S;
    }
}

/* ---- the primary's position ------------------------------------------------ */

static void probe_tick(void);

/* The probe is free again: a write noted meanwhile is probed for now. */
static void probe_free(void)
{
    F.probe_busy = false;
    if (F.probe != NULL && atomic_load(&F.probe_want)) /* failed: the next tick */
        probe_tick();
}

/* The primary's position, its global isolation level, the global
 * defaults a new connection takes that an answer's text depends on
 * (cache_stream_defaults: SET GLOBAL of any of them is in no binary log),
 * and how far its engines have committed the binary log
 * (cache_stream_visible). */
#define PROBE_SQL                                                                                  \
    "SELECT @@global.gtid_binlog_pos, @@global.tx_isolation, CONCAT_WS(0x1f, "                     \
    "@@global.time_zone, @@global.sql_mode, IFNULL(@@global.character_set_results, 'NULL'), "      \
    "@@global.character_set_client, @@global.collation_connection, "                               \
    "@@global.div_precision_increment, @@global.init_connect, @@global.lc_time_names, "            \
    "@@global.default_week_format, @@global.group_concat_max_len, @@global.sql_select_limit, "     \
    "@@global.max_sort_length, @@global.old_mode, @@global.explicit_defaults_for_timestamp), "     \
    "(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "                                \
    "WHERE VARIABLE_NAME = 'BINLOG_SNAPSHOT_FILE'), "                                              \
    "(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "                                \
    "WHERE VARIABLE_NAME = 'BINLOG_SNAPSHOT_POSITION')"

static void probe_read(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    (void)arg;
    const char *v = res->ok && res->n_rows == 1 ? sqlresult_get(res, 0, 0) : NULL;
    const char *iso = v != NULL ? sqlresult_get(res, 0, 1) : NULL;
    const char *defaults = v != NULL && res->n_cols >= 3 ? sqlresult_get(res, 0, 2) : NULL;
    struct gtid_pos p;
    if (v != NULL && gtid_pos_parse(v, strlen(v), &p) == HY_OK) {
        /* before the position: hits wait for a position read with them */
        cache_stream_defaults(defaults != NULL ? cache_key_hash("", 0, defaults, strlen(defaults))
                                               : 0,
                              ev_now(F.loop));
        /* not read: taken as the worst */
        cache_stream_isolation(iso == NULL || strcmp(iso, "READ-UNCOMMITTED") == 0, ev_now(F.loop));
        cache_stream_primary(&p, F.probe_sent);
        /* how far the primary's engines committed: fills rely on no more */
        cache_stream_visible(res->n_cols >= 5 ? sqlresult_get(res, 0, 3) : NULL,
                             res->n_cols >= 5 ? sqlresult_get(res, 0, 4) : NULL);
    } else if (!res->ok) {
        sqlclient_destroy(F.probe);
        F.probe = NULL;
    }
    probe_free();
}

/* The schema read failed (a query's error, out of memory): nothing is
 * cached until it is read again (the next tick). */
static void schema_failed(const struct sqlresult *res, const char *what)
{
    F.probe_busy = false;
    hy_log_warn("cache: reading the %s of %s: %s; nothing is cached until it is read", what,
                F.src_name, res->ok ? "an answer halyard cannot keep" : res->err_msg);
    cache_tables_destroy(F.schema);
    F.schema = NULL;
    if (!res->ok) {
        sqlclient_destroy(F.probe);
        F.probe = NULL;
    }
}

/* Why no answer can be kept (`why`; `uncached`: the base tables of an
 * engine the cache never keeps), from the list of base tables just read:
 * said when the cause (or the source) changes, not at every read: each
 * DDL has the list read again, and a suite creating and dropping tables
 * had the same warning 299 times in two minutes (issue 54 item 6). A
 * read that finds it again is counted (cache_no_fills_again: show
 * cache's why_no_fills_repeats), and said with that count at most every
 * NO_FILLS_AGAIN_S. */
static void no_fills_say(enum no_fills why, size_t uncached)
{
    double now = ev_now(F.loop);
    bool same_src = strcmp(F.said_src, F.src_name) == 0;
    if (why == F.said && same_src) {
        if (why == NO_FILLS_NONE)
            return;
        F.said_again++;
        cache_no_fills_again();
        if (now - F.said_at < NO_FILLS_AGAIN_S)
            return;
        hy_log_warn("cache: still every fill from %s is refused (%s): the list of base tables "
                    "read %llu more times since this was said",
                    F.src_name,
                    why == NO_FILLS_ENGINES ? "no base table of an engine it keeps"
                                            : "cache.user sees no base table",
                    (unsigned long long)F.said_again);
    } else if (why == NO_FILLS_ENGINES) {
        hy_log_warn("cache: every base table the account %s sees on %s (%zu) is of an engine "
                    "the cache never keeps (without transactions, such as MyISAM or Aria, or "
                    "FEDERATED, CONNECT, SPIDER): every fill is refused (said again when this "
                    "changes; show cache's why_no_fills_repeats counts the reads that find it)",
                    F.cfg->cache.user, F.src_name, uncached);
    } else if (why == NO_FILLS_NO_SELECT) {
        hy_log_warn("cache: the account %s sees no base table on %s: every fill is refused "
                    "(it needs SELECT on the tables the cache rules read, and REPLICATION SLAVE; "
                    "tables of an engine without transactions are never cached; said again when "
                    "this changes; show cache's why_no_fills_repeats counts the reads that find "
                    "it)",
                    F.cfg->cache.user, F.src_name);
    } else if (same_src) {
        hy_log_info("cache: the account %s now sees base tables on %s that the cache keeps: "
                    "fills are kept again",
                    F.cfg->cache.user, F.src_name);
    }
    F.said = why;
    snprintf(F.said_src, sizeof(F.said_src), "%s", F.src_name);
    F.said_at = now;
    F.said_again = 0;
}

/* 4/4: the primary's position after the schema was read, and its
 * binlog_row_image. */
static void schema_pos_read(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    (void)arg;
    const char *v = res->ok && res->n_rows == 1 ? sqlresult_get(res, 0, 0) : NULL;
    const char *img = res->ok && res->n_rows == 1 ? sqlresult_get(res, 0, 1) : NULL;
    struct gtid_pos after;
    if (v == NULL || gtid_pos_parse(v, strlen(v), &after) != HY_OK) {
        schema_failed(res, "position after the schema");
        return;
    }
    bool full = img != NULL && strcasecmp(img, "FULL") == 0;
    hy_log_debug("cache: %zu base tables on %s, binlog_row_image %s", cache_tables_count(F.schema),
                 F.src_name, img != NULL ? img : "?");
    /* information_schema shows an account only the tables it has a
     * privilege on: with none, every fill is refused as not a base table */
    no_fills_say(cache_tables_count(F.schema) > 0      ? NO_FILLS_NONE
                 : cache_tables_uncached(F.schema) > 0 ? NO_FILLS_ENGINES
                                                       : NO_FILLS_NO_SELECT,
                 cache_tables_uncached(F.schema));
    struct cache_tables *set = F.schema;
    F.schema = NULL;
    (void)cache_base_load(F.base_gen, set, &after, full);
    probe_free();
}

/* 3b/4: the triggers (cache_tables_trigger_free). */
static void schema_trigger_row(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    (void)arg;
    const char *sc = sqlresult_get(res, 0, 0), *tb = sqlresult_get(res, 0, 1);
    const char *n = sqlresult_get(res, 0, 2);
    if (res->n_cols != 3)
        F.schema_bad = true;
    else if (n != NULL && strcmp(n, "-1") != 0) {
        uint64_t k; /* a count; not a number: not the answer asked for */
        if (hy_str_u64(n, INT64_MAX, &k))
            F.schema_priv = F.schema_priv || k > 0;
        else
            F.schema_bad = true;
    } else if (sc != NULL && tb != NULL)
        cache_tables_add_trigger(F.schema, sc, tb);
}

/* After the last step: the primary's position (schema_pos_read). */
static void schema_steps_end(const struct sqlresult *res)
{
    if (F.schema_priv)
        cache_tables_triggers_known(F.schema);
    if (sqlclient_query(F.probe, "SELECT @@global.gtid_binlog_pos, @@global.binlog_row_image",
                        schema_pos_read, NULL) != HY_OK)
        schema_failed(res, "position after the schema");
}

/* 3/4: the foreign keys that cascade. */
static void schema_fk_row(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    (void)arg;
    const char *cs = sqlresult_get(res, 0, 0), *ct = sqlresult_get(res, 0, 1);
    const char *ps = sqlresult_get(res, 0, 2), *pt = sqlresult_get(res, 0, 3);
    if (res->n_cols != 4 || (cs != NULL && ct != NULL && ps != NULL && pt != NULL &&
                             cache_tables_add_fk(F.schema, cs, ct, ps, pt) == HY_NOMEM))
        F.schema_bad = true;
}

/* 2/4: the key columns, and their kinds (cache_keyval.h). */
static void schema_key_row(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    (void)arg;
    const char *sc = sqlresult_get(res, 0, 0), *tb = sqlresult_get(res, 0, 1);
    const char *col = sqlresult_get(res, 0, 2), *pos = sqlresult_get(res, 0, 3);
    enum cache_key_kind kind =
        cache_keyval_kind(sqlresult_get(res, 0, 4), sqlresult_get(res, 0, 5));
    int64_t p = 0; /* NULL or not a number: 0, no position */
    if (!hy_str_i64(pos, 0, INT64_MAX, &p))
        p = 0;
    /* a name too long, a position out of range, another type: simply not a key */
    if (res->n_cols != 6 ||
        (sc != NULL && tb != NULL && col != NULL && p >= 1 &&
         cache_tables_add_key_kind(F.schema, sc, tb, col, (unsigned)(p - 1), kind) == HY_NOMEM))
        F.schema_bad = true;
}

/* 1/4: the base tables (an allowlist: what the reader account cannot
 * see is not in it), into the F.schema probe_tick made. */
static void schema_base_row(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    (void)arg;
    const char *schema = sqlresult_get(res, 0, 0), *table = sqlresult_get(res, 0, 1);
    const char *base = sqlresult_get(res, 0, 2);
    /* a name too long for the cache is simply not allowed; a view's
     * name is kept too: with lower_case_table_names = 0 it may differ
     * from a base table's only in case */
    hy_status_t st = HY_OK;
    if (schema != NULL && table != NULL)
        st = base != NULL && strcmp(base, "1") == 0
                 ? cache_tables_add(F.schema, schema, table)
                 : cache_tables_add_other(F.schema, schema, table);
    if (base != NULL && strcmp(base, "2") == 0) /* a base table of an engine never cached */
        cache_tables_note_uncached(F.schema);
    if (res->n_cols != 3 || st == HY_NOMEM)
        F.schema_bad = true;
}

/* The schema's read, a step at a time: each step's rows go to its `row`
 * one by one (a server with many tables answers more than one result may
 * hold), then schema_step_read() checks it and sends the next one. */
struct schema_step {
    const char *what, *sql;
    sqlclient_row_cb row;
};

static const struct schema_step schema_steps[] = {
    {"base tables",
     "SELECT TABLE_SCHEMA, TABLE_NAME, CASE WHEN TABLE_TYPE <> 'BASE "
     "TABLE' THEN 0 WHEN ENGINE IN (SELECT ENGINE FROM "
     "information_schema.ENGINES WHERE TRANSACTIONS = 'YES') AND "
     "ENGINE NOT IN ('FEDERATED', 'CONNECT', 'SPIDER') THEN 1 "
     "WHEN TABLE_SCHEMA NOT IN ('mysql', 'information_schema', "
     "'performance_schema', 'sys') THEN 2 ELSE 0 END "
     "FROM information_schema.TABLES",
     schema_base_row},
    /* the first column of each PRIMARY or UNIQUE index, when of a key
     * kind (cache_keyval_kind: its type and collation) stored in the row
     * (the binary log's images carry it), of a table
     * whose every column has a type whose image binlog_rows.c reads for
     * sure (not INET6, UUID, geometry, a compressed or generated column:
     * a length misread would misplace the key). Each view is read once,
     * into a derived table MariaDB materialises (a LIMIT keeps it from
     * being merged) and joins by a key of its own: joined directly, or
     * with NOT EXISTS, the views were read again for every row, over two
     * minutes for 270 tables of 64 keys (test_cache.py
     * test_a_schema_of_many_keys_is_read_whole_and_soon). */
    {"key columns",
     "SELECT s.TABLE_SCHEMA, s.TABLE_NAME, s.COLUMN_NAME, c.ORDINAL_POSITION, "
     "c.DATA_TYPE, c.COLLATION_NAME "
     "FROM (SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME "
     "FROM information_schema.STATISTICS WHERE NON_UNIQUE = 0 AND SEQ_IN_INDEX = 1 "
     "LIMIT 18446744073709551615) s "
     "JOIN (SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, "
     "COLLATION_NAME FROM information_schema.COLUMNS "
     "WHERE DATA_TYPE IN ('tinyint', 'smallint', 'mediumint', 'int', 'bigint', "
     "'decimal', 'date', 'datetime', 'char', 'varchar') "
     "LIMIT 18446744073709551615) c "
     "ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME "
     "AND c.COLUMN_NAME = s.COLUMN_NAME "
     "LEFT JOIN (SELECT DISTINCT TABLE_SCHEMA, TABLE_NAME "
     "FROM information_schema.COLUMNS "
     "WHERE IS_GENERATED <> 'NEVER' OR COLUMN_TYPE LIKE '%compressed%' "
     "OR DATA_TYPE NOT IN ('tinyint', 'smallint', 'mediumint', 'int', 'bigint', "
     "'decimal', 'float', 'double', 'bit', 'date', 'time', 'datetime', 'timestamp', "
     "'year', 'char', 'varchar', 'binary', 'varbinary', 'tinyblob', 'blob', "
     "'mediumblob', 'longblob', 'tinytext', 'text', 'mediumtext', 'longtext', "
     "'enum', 'set')) o "
     "ON o.TABLE_SCHEMA = s.TABLE_SCHEMA AND o.TABLE_NAME = s.TABLE_NAME "
     "WHERE o.TABLE_NAME IS NULL",
     schema_key_row},
    {"foreign keys",
     "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, UNIQUE_CONSTRAINT_SCHEMA, "
     "REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "
     "WHERE NOT (DELETE_RULE IN ('RESTRICT', 'NO ACTION') "
     "AND UPDATE_RULE IN ('RESTRICT', 'NO ACTION'))",
     schema_fk_row},
    /* the reader's TRIGGER privilege on *.* (then it sees every trigger),
     * and the tables triggers are defined on */
    {"triggers",
     "SELECT 'p', '', COUNT(*) FROM information_schema.USER_PRIVILEGES "
     "WHERE PRIVILEGE_TYPE = 'TRIGGER' AND GRANTEE = CONCAT('''', "
     "SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', "
     "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') "
     "UNION ALL SELECT EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, -1 "
     "FROM information_schema.TRIGGERS",
     schema_trigger_row},
};

static void schema_step_read(struct sqlclient *c, const struct sqlresult *res, void *arg);

/* Send step `i` (`res`: the answer before it, for a failure's words). */
static bool schema_step_send(size_t i, const struct sqlresult *res)
{
    F.schema_bad = false;
    if (sqlclient_query_rows(F.probe, schema_steps[i].sql, schema_steps[i].row, schema_step_read,
                             (void *)(uintptr_t)i) == HY_OK)
        return true;
    if (res != NULL)
        schema_failed(res, schema_steps[i].what);
    return false;
}

static void schema_step_read(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    size_t i = (uintptr_t)arg;
    if (!res->ok || F.schema_bad)
        schema_failed(res, schema_steps[i].what);
    else if (i + 1 < HY_ARRAY_SIZE(schema_steps))
        (void)schema_step_send(i + 1, res);
    else
        schema_steps_end(res);
}

static void probe_done_connect(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    (void)arg;
    if (!res->ok) {
        sqlclient_destroy(F.probe);
        F.probe = NULL;
    }
    probe_free();
}

static void probe_tick(void)
{
    if (F.src < 0 || F.probe_busy)
        return;
    if (F.probe == NULL) {
        F.probe = client_for(&F.cfg->backends[F.src]);
        if (F.probe == NULL || sqlclient_connect(F.probe, probe_done_connect, NULL) != HY_OK) {
            sqlclient_destroy(F.probe);
            F.probe = NULL;
            return;
        }
        F.probe_busy = true;
        return;
    }
    if (!sqlclient_ready(F.probe))
        return;
    if (cache_base_wanted(&F.base_gen)) {
        /* a base table of a transactional engine whose data is on the
         * primary: a non-transactional change in a transaction reaches a
         * statement-format binary log only at its end, visible long
         * before; FEDERATED, CONNECT and SPIDER data changes elsewhere */
        /* a server of many tables takes its time to list them: a
         * probe's timeout (connect_timeout_ms) would cut it off each time,
         * and nothing would ever be cached */
        sqlclient_set_timeout(F.probe, SCHEMA_SILENCE_MS);
        cache_tables_destroy(F.schema); /* a read cut short before */
        F.schema = cache_tables_create();
        F.schema_bad = F.schema_priv = false;
        if (F.schema != NULL && schema_step_send(0, NULL))
            F.probe_busy = true;
        return;
    }
    /* cleared before the time is taken: a lookup held after this clear
     * (cache_follow_probe_now) asks for the next probe */
    atomic_store(&F.probe_want, false);
    F.probe_sent = cache_clock(); /* before: the answer holds what was committed by then */
    sqlclient_set_timeout(F.probe, F.cfg->connect_timeout_ms);
    if (sqlclient_query(F.probe, PROBE_SQL, probe_read, NULL) == HY_OK)
        F.probe_busy = true;
}

/* ---- the thread -------------------------------------------------------------- */

static void take_config(void)
{
    pthread_mutex_lock(&F.mu);
    struct config *fresh = F.cfg_new;
    F.cfg_new = NULL;
    pthread_mutex_unlock(&F.mu);
    if (fresh == NULL)
        return;
    /* the clients' backend pointers belong to the old config */
    bool resuming = F.resume && !F.resume_proved;
    char why[128];
    if (F.cfg == NULL || (F.dump == NULL && !resuming)) {
        /* not following: it starts afresh, from an empty cache */
    } else if (!cache_reload_stream(F.cfg, resuming ? -1 : F.src, fresh, why, sizeof(why))) {
        hy_log_info("cache: reload: %s: the cache is emptied and the reader starts again", why);
        drop_dump(0, false);
    } else if (resuming) {
        clients_drop(); /* it goes on re-attaching from `from` */
    } else {
        hy_log_info("cache: reload: the reader re-attaches to %s from the position applied",
                    F.src_name);
        reattach(CACHE_DROP_RELOAD);
    }
    config_put(F.cfg);
    F.cfg = fresh;
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)t;
    (void)revents;
    take_config();
    if (F.cfg == NULL || !F.cfg->cache.enabled) {
        if (F.dump != NULL)
            drop_dump(0, false);
        return;
    }
    cache_sweep();
    int primary = backend_primary_index(F.cfg);
    if (F.dump != NULL && primary != F.src) {
        hy_log_info("cache: the primary is now %s: the reader re-attaches to it",
                    primary >= 0 ? F.cfg->backends[primary].name : "(none)");
        reattach(CACHE_DROP_FAILOVER);
    }
    if (F.dump == NULL && primary >= 0 && ev_now(F.loop) >= F.retry_at)
        dump_connect(primary);
    probe_tick();
}

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)w;
    (void)revents;
    pthread_mutex_lock(&F.mu);
    bool stop = F.stop;
    pthread_mutex_unlock(&F.mu);
    if (stop) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    if (atomic_load(&F.probe_want) && F.cfg != NULL && F.cfg->cache.enabled)
        probe_tick(); /* busy: probe_free() sends it */
}

void cache_follow_probe_now(void)
{
    /* the workers are joined before cache_stop(): F.loop is alive here */
    if (F.running && !atomic_exchange(&F.probe_want, true))
        ev_async_send(F.loop, &F.wake);
}

static void *follow_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "cache");
    ev_run(F.loop, 0);
    sqlclient_destroy(F.dump);
    F.dump = NULL;
    sqlclient_destroy(F.probe);
    F.probe = NULL;
    cache_tables_destroy(F.schema);
    F.schema = NULL;
    return NULL;
}

hy_status_t cache_start(struct config *cfg, char *err, size_t errlen)
{
    if (cache_shared_configure(cfg) != HY_OK) {
        snprintf(err, errlen, "cache: out of memory");
        return HY_ERROR;
    }
    F.loop = ev_loop_new(EVFLAG_AUTO);
    if (F.loop == NULL) {
        snprintf(err, errlen, "cache: out of memory");
        return HY_ERROR;
    }
    F.cfg_new = config_get(cfg);
    ev_timer_init(&F.tick, tick_cb, 0., TICK_S);
    ev_timer_start(F.loop, &F.tick);
    ev_async_init(&F.wake, wake_cb);
    ev_async_start(F.loop, &F.wake);
    int rc = pthread_create(&F.thread, NULL, follow_main, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cache: cannot start its thread: %s", strerror(rc));
        config_put(F.cfg_new);
        F.cfg_new = NULL;
        ev_loop_destroy(F.loop);
        F.loop = NULL;
        return HY_ERROR;
    }
    F.running = true;
    return HY_OK;
}

void cache_set_config(struct config *cfg)
{
    if (!F.running)
        return;
    if (cache_shared_configure(cfg) != HY_OK)
        hy_log_error("cache: out of memory at reload: the cache is off");
    pthread_mutex_lock(&F.mu);
    config_put(F.cfg_new);
    F.cfg_new = config_get(cfg);
    pthread_mutex_unlock(&F.mu);
}

void cache_stop(void)
{
    if (!F.running)
        return;
    pthread_mutex_lock(&F.mu);
    F.stop = true;
    pthread_mutex_unlock(&F.mu);
    ev_async_send(F.loop, &F.wake);
    pthread_join(F.thread, NULL);
    F.running = false;
    ev_loop_destroy(F.loop);
    F.loop = NULL;
    config_put(F.cfg);
    config_put(F.cfg_new);
    F.cfg = F.cfg_new = NULL;
    cache_shared_free();
}
