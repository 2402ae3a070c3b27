/*
 * status.c: see status.h.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/config/config.h"
#include "halyard/core/stats.h"
#include "halyard/admin/status.h"
#include "halyard/session/worker.h"

const struct stat_field stat_fields[STAT_FIELDS] = {
    {"sessions_accepted", "halyard_sessions_accepted_total", "Client connections accepted.",
     offsetof(struct worker_stats, sessions_accepted)},
    {"commands", "halyard_commands_total", "Client commands forwarded or answered.",
     offsetof(struct worker_stats, commands)},
    {"auth_failures", "halyard_auth_failures_total",
     "Client logins refused for a wrong user or password.",
     offsetof(struct worker_stats, auth_failures)},
    {"backend_connect_failures", "halyard_backend_connect_failures_total",
     "Backend connections that could not be opened or logged into.",
     offsetof(struct worker_stats, backend_connect_failures)},
    {"pool_idle", "halyard_pool_idle_connections",
     "Backend connections idle in the workers' pools now (pool_mode = \"transaction\").",
     offsetof(struct worker_stats, pool_idle), true},
    {"pool_taken", "halyard_pool_taken_total", "Statements that took a pooled backend connection.",
     offsetof(struct worker_stats, pool_taken)},
    {"pool_taken_own", "halyard_pool_taken_own_total",
     "... of which the connection their session had given back last (no state to restore).",
     offsetof(struct worker_stats, pool_taken_own)},
    {"pool_returned", "halyard_pool_returned_total",
     "Backend connections sessions gave back to the pool between statements.",
     offsetof(struct worker_stats, pool_returned)},
    {"pool_closed_idle", "halyard_pool_closed_idle_total",
     "Idle pooled connections closed after pool_idle_timeout_ms, or to free a slot statements "
     "wait for.",
     offsetof(struct worker_stats, pool_closed_idle)},
    {"pool_closed_age", "halyard_pool_closed_age_total",
     "Pooled connections closed past pool_max_age_ms, because a reload replaced their config, "
     "or logged in before privileges changed.",
     offsetof(struct worker_stats, pool_closed_age)},
    {"pool_closed_spoke", "halyard_pool_closed_broken_total",
     "Idle pooled connections the server closed (wait_timeout, KILL, restart), dropped before "
     "reuse.",
     offsetof(struct worker_stats, pool_closed_spoke)},
    {"pool_stmt_cached", "halyard_pool_stmt_cached_total",
     "Prepared-statement executions that found the statement prepared on the pooled connection "
     "they took (its cache, pool_stmt_cache), with no prepare to run.",
     offsetof(struct worker_stats, pool_stmt_cached)},
    {"pool_stmt_evicted", "halyard_pool_stmt_evicted_total",
     "Prepared statements a pooled connection closed to stay within pool_stmt_cache.",
     offsetof(struct worker_stats, pool_stmt_evicted)},
    {"pool_restore_resets", "halyard_pool_restore_resets_total",
     "Pooled connections brought to the taking session's state by COM_RESET_CONNECTION and its "
     "own SETs, fewer commands than undoing the other session's state by SET, or in place of a "
     "new connection.",
     offsetof(struct worker_stats, pool_restore_resets)},
    {"statements_retried", "halyard_statements_retried_total",
     "Reads whose server died before the client got any of the answer, run again elsewhere "
     "(retry_primary_reads, retry_buffer_size).",
     offsetof(struct worker_stats, statements_retried)},
    {"transactions_replayed", "halyard_transactions_replayed_total",
     "Transactions open on a primary that died, run again on the new primary with every answer "
     "the same as the client got, and gone on (transaction_replay).",
     offsetof(struct worker_stats, transactions_replayed)},
    {"replays_failed_mismatch", "halyard_replays_failed_mismatch_total",
     "Replayed transactions an answer of which differed on the new primary: rolled back, the "
     "client got error 1213.",
     offsetof(struct worker_stats, replays_failed_mismatch)},
    {"replays_failed_timeout", "halyard_replays_failed_timeout_total",
     "Transactions not replayed because no new primary took them within replay_timeout_ms: "
     "error 1927.",
     offsetof(struct worker_stats, replays_failed_timeout)},
    {"replays_refused", "halyard_replays_refused_total",
     "Transactions lost with their primary that were not replayable (past replay_max_size, a "
     "non-deterministic function, a prepared statement, a COMMIT in flight...): error 1927.",
     offsetof(struct worker_stats, replays_refused)},
    {"inflight_committed", "halyard_inflight_committed_total",
     "Autocommit writes and COMMITs in flight when their primary died, found committed in the "
     "new primary's binary log: the client got an OK (resolve_in_flight_writes).",
     offsetof(struct worker_stats, inflight_committed)},
    {"inflight_rerun", "halyard_inflight_rerun_total",
     "... proven not committed and run once on the new primary (a COMMIT with its transaction, "
     "by transaction_replay).",
     offsetof(struct worker_stats, inflight_rerun)},
    {"inflight_rolled_back", "halyard_inflight_rolled_back_total",
     "... COMMITs proven not committed whose transaction could not run again: error 1213.",
     offsetof(struct worker_stats, inflight_rolled_back)},
    {"inflight_unknown", "halyard_inflight_unknown_total",
     "... whose outcome could not be proven (asynchronous replication, a primary another halyard "
     "promoted, the binary log not read): error 1180.",
     offsetof(struct worker_stats, inflight_unknown)},
    {"writer_catchups", "halyard_writer_catchups_total",
     "Galera: statements that first had a new writer apply what the cluster committed (the "
     "writer moved since their session's last write, or since the group's last commit under "
     "consistency = global).",
     offsetof(struct worker_stats, writer_catchups)},
    {"writer_catchups_refused", "halyard_writer_catchups_refused_total",
     "... of which the writer had not caught up within failover_write_wait_ms (or "
     "causal_timeout_ms) plus connect_timeout_ms, or failed to: error 1429.",
     offsetof(struct worker_stats, writer_catchups_refused)},
    {"classify_memo_hits", "halyard_classify_memo_hits_total",
     "Statements a worker's memo of classifications answered: a text of a shape classified "
     "before, its numbers aside, given that text's class and digest without the classifier.",
     offsetof(struct worker_stats, classify_memo_hits)},
    {"classify_memo_misses", "halyard_classify_memo_misses_total",
     "Statements of at most 256 bytes the memo did not answer: the classifier read them.",
     offsetof(struct worker_stats, classify_memo_misses)},
    {"classify_memo_stores", "halyard_classify_memo_stores_total",
     "Shapes the memo kept (a shape is kept on its second miss in a row in its slot, when "
     "nothing of its result comes from its text).",
     offsetof(struct worker_stats, classify_memo_stores)},
};

void status_worker_stats(struct worker *w, struct stat_values *out)
{
    for (size_t i = 0; i < STAT_FIELDS; i++)
        out->v[i] = stat_get((_Atomic uint64_t *)((char *)&w->stats + stat_fields[i].offset));
}

void status_sum_stats(const struct status *st, struct stat_values *out)
{
    *out = (struct stat_values){0};
    for (int i = 0; i < st->n_workers; i++) {
        struct stat_values one;
        status_worker_stats(&st->workers[i], &one);
        for (size_t j = 0; j < STAT_FIELDS; j++)
            out->v[j] += one.v[j];
    }
}

uint64_t status_client_sessions(void)
{
    return atomic_load_explicit(&stats_sessions_open, memory_order_relaxed);
}

double status_uptime(const struct status *st)
{
    double up = ev_now(st->loop) - st->started_mono;
    return up < 0 ? 0 : up;
}

void status_format_time(time_t t, char *out, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
