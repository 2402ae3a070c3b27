/*
 * proof.h: what resolve_in_flight_writes' "proven not committed" rests on.
 *
 * A write in flight when its primary died is run again only when its mark
 * (session_inflight.c) is absent from the new primary's binary log and
 * that absence proves it never committed. It proves that only when the
 * write would be there had it committed:
 *
 *  - the old primary wrote its text to its binary log: log_bin, and, in
 *    ROW format, binlog_annotate_row_events (in the writing session too:
 *    a client may turn it off for its own session);
 *  - the new primary wrote what it applied to a binary log of its own,
 *    with that text: log_bin, log_slave_updates (OFF by MariaDB's
 *    default) and replicate_annotate_row_events (on Galera the writeset's
 *    events are logged by log_slave_updates the same way);
 *  - and the new primary had the write if it committed: this halyard
 *    promoted it as the replica that acknowledged (failover.h), which
 *    session_inflight.c checks.
 *
 * The monitor reads the four settings on every check (PROOF_* bits); these
 * pure functions say what is missing. Any gap makes the verdict "unknown"
 * (1180), never a second run.
 */
#ifndef HALYARD_CLUSTER_PROOF_H
#define HALYARD_CLUSTER_PROOF_H

#include <stdbool.h>
#include <stddef.h>

#include "halyard/cluster/failover.h"

enum {
    PROOF_LOG_BIN = 1u << 0,            /* log_bin */
    PROOF_LOG_SLAVE_UPDATES = 1u << 1,  /* log_slave_updates */
    PROOF_BINLOG_ANNOTATE = 1u << 2,    /* binlog_annotate_row_events */
    PROOF_REPLICATE_ANNOTATE = 1u << 3, /* replicate_annotate_row_events */
    PROOF_READ = 1u << 4,               /* a check read the four (else unknown) */
    PROOF_NO_CHAIN = 1u << 5,           /* global completion_type NO_CHAIN: a COMMIT of a
                                         * connection that inherited it begins nothing */
};

/* PROOF_NO_CHAIN when `completion_type` (@@global.completion_type, its
 * name or number) is NO_CHAIN, else 0. */
unsigned proof_completion_parse(const char *completion_type);
/* What the primary whose write was in flight needs, and what the server
 * promoted after it needs; a candidate needs both (it is a primary later). */
#define PROOF_NEED_OLD (PROOF_READ | PROOF_LOG_BIN | PROOF_BINLOG_ANNOTATE)
#define PROOF_NEED_NEW                                                                             \
    (PROOF_READ | PROOF_LOG_BIN | PROOF_LOG_SLAVE_UPDATES | PROOF_REPLICATE_ANNOTATE)
#define PROOF_NEED_ALL (PROOF_NEED_OLD | PROOF_NEED_NEW)

/* The PROOF_* bits of the four values as SELECT @@... answers them (in
 * the order of the enum; "1" or "ON" is on), PROOF_READ included. */
unsigned proof_settings_parse(const char *log_bin, const char *log_slave_updates,
                              const char *binlog_annotate, const char *replicate_annotate);

/* The settings of `need` that `have` lacks, as "log_slave_updates OFF,
 * replicate_annotate_row_events OFF" (or "not read yet") into out[len]
 * ("" when none). True when none is missing. */
bool proof_settings_missing(unsigned have, unsigned need, char *out, size_t len);

/* Whether a write's absence from the binary log of `new_name` (settings
 * `new_have`) can prove it never committed on `old_name` (`old_have`),
 * `session_annotate_off` when the writing session set
 * binlog_annotate_row_events itself. When not, why into why[len], as the
 * end of "not in the binary log of NEW, ...". */
bool proof_settings_hold(unsigned old_have, unsigned new_have, bool session_annotate_off,
                         const char *old_name, const char *new_name, char *why, size_t len);

/* How the server that became the primary got there, as far as the proof
 * goes: only a promotion this halyard made, of the replica that had every
 * acknowledged commit, lets "not in its binary log" mean "not committed".
 * The failover thread keeps it with the backend (backend_rt.promoted_how)
 * as it publishes a new primary. */
enum proof_promotion {
    PROOF_PROMOTED = 0,        /* by this halyard, every replica in reach, caught up */
    PROOF_FOLLOWED,            /* chosen elsewhere: another halyard, an operator... */
    PROOF_REPLICA_UNREACHABLE, /* another replica was out of reach: maybe the acking one */
    PROOF_NOT_CAUGHT_UP,       /* it could not take what a more advanced replica had */
};

/* What halyard's own promotion of `candidate` in view v (read under the
 * failover lock) proves: PROOF_REPLICA_UNREACHABLE when a backend other
 * than the lost primary and the candidate was out of reach, else
 * PROOF_NOT_CAUGHT_UP unless `caught_up` (it took what the donor had, or
 * there was none), else PROOF_PROMOTED. */
enum proof_promotion proof_promotion_judge(const struct failover_view *v, int candidate,
                                           bool caught_up);

/* The end of "not in the binary log of NEW, ..." for a promotion that is
 * no proof ("" for PROOF_PROMOTED). */
const char *proof_promotion_why(enum proof_promotion how);

#endif
