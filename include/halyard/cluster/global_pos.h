/*
 * global_pos.h: what consistency = "global" reads wait for, one per group.
 *
 * A read under consistency = global sees every write committed through
 * this halyard before the read began, whichever session wrote it. Each
 * group (config_group.gpos) keeps, for every worker to read:
 *
 *   - commits: a counter a worker bumps when a statement that may have
 *     committed a write ends on the group's primary (a write, a COMMIT, any
 *     end of a transaction), after the server's answer came and before it
 *     goes to the client: a client that has its OK and then reads, on any
 *     connection, finds the counter past its write. The monitor bumps it
 *     too when the primary's @@gtid_binlog_pos holds something the known
 *     position lacks (writes through another halyard, or straight to the
 *     server), once a check;
 *   - known, known_at: the primary's position (@@gtid_binlog_pos, or
 *     WSREP_LAST_SEEN_GTID() on Galera) read by a query sent when the
 *     counter was known_at: it holds every write counted up to known_at;
 *   - per backend, applied: the counter value whose known position that
 *     backend was seen to have applied (MASTER_GTID_WAIT answered 0).
 *
 * A read takes need = commits once, when it is routed. A replica whose
 * applied is need or more serves it at once: with no write since, reads
 * cost nothing more than eventual ones. Otherwise the replica waits for a
 * known position with known_at >= need (read from the primary first when
 * the one kept is older), for at most causal_timeout_ms, else the read
 * goes to the primary.
 *
 * The counter is an atomic add and an atomic load; applied is an atomic
 * max. known is a short string behind a mutex, taken only by a read that
 * is about to wait on a replica (a round trip anyway) and by the monitor.
 * Entries are made per group name by the main thread at start and at each
 * reload (global_pos_attach) and live until exit, so a session may keep a
 * pointer for as long as it keeps its config.
 */
#ifndef HALYARD_GLOBAL_POS_H
#define HALYARD_GLOBAL_POS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/config/config.h"
#include "halyard/core/core.h"

/* The longest position kept: as the session's causal one (session.h). */
#define GLOBAL_POS_MAX 128

struct global_pos;
struct backend_rt;

/* Main thread: point every group of cfg (and its view) at its entry,
 * made at the first sight of its name. HY_NOMEM when one cannot be made. */
hy_status_t global_pos_attach(struct config *cfg) HY_MUSTCHECK;
void global_pos_free_all(void); /* at exit */

/* A statement that may have committed a write ended on the primary. */
void global_pos_commit(struct global_pos *g);
/* The same, on the backend `rt` (NULL: not known, the last one kept). */
void global_pos_commit_on(struct global_pos *g, const struct backend_rt *rt);
/* Whether the last commit counted with a backend ran on `rt` (true when
 * none was): on Galera, a writer that moved may not have applied it. */
bool global_pos_written_on(struct global_pos *g, const struct backend_rt *rt);
/* The counter now: what a read routed now must see. Never 0. */
uint64_t global_pos_need(const struct global_pos *g);

/* The known position when it holds every write counted up to `need`:
 * copied to out (cap bytes), *at set to its known_at; false when the kept
 * one is older (read it from the primary, then global_pos_publish). */
bool global_pos_known(struct global_pos *g, uint64_t need, char *out, size_t cap, uint64_t *at);
/* The primary's position `pos`, read by a query sent when the counter was
 * `at`. Kept when newer than the one kept. */
void global_pos_publish(struct global_pos *g, uint64_t at, const char *pos);

/* The counter value backend `rt` has been seen to have applied (0 when
 * never seen); and that it has applied the known position of `at`. */
uint64_t global_pos_applied(struct global_pos *g, const struct backend_rt *rt);
void global_pos_applied_set(struct global_pos *g, const struct backend_rt *rt, uint64_t at);

/* Monitor: the group's primary reported @@gtid_binlog_pos = `binlog_pos`.
 * When it holds a GTID the known position lacks, the counter is bumped:
 * reads from now on wait for a position read afresh. Returns whether it
 * bumped. */
bool global_pos_primary_seen(struct global_pos *g, const char *binlog_pos);
/* Monitor: replica `rt` reported @@gtid_current_pos = `current_pos`. When
 * it holds the known position, rt has applied every commit counted up to
 * known_at (global_pos_applied_set): reads that need no more run there
 * without waiting (causal_fast sends them nowhere else). */
void global_pos_replica_seen(struct global_pos *g, const struct backend_rt *rt,
                             const char *current_pos);

#endif /* HALYARD_GLOBAL_POS_H */
