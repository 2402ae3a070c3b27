/*
 * xa_recover.h: the recovery of transactions across groups left in doubt
 * by a halyard that stopped between their PREPAREs and their last COMMIT
 * (shards.cross_group_transactions = "xa", session_xa.c, xa_log.h).
 *
 * A thread of its own (its own loop, sqlclient.h) runs rounds, at start
 * and after a reload, while xa is on: it reads shards.xa_log, then on each
 * group's primary, as the group's monitor account (primary_client.h), runs
 * XA RECOVER and, for each prepared XID of this instance (the gtrid
 * prefix, xa_log_prefix): XA COMMIT when the log holds its decision (this
 * process's too: a session whose XA COMMIT failed kicks a round), else,
 * for an earlier process's only (not this one's sessions'), XA ROLLBACK
 * (3 s after it was first found, the log read again then: an earlier
 * process still running, as in a takeover, may still decide it).
 * A decision whose branches are all resolved is marked done in the log. A
 * group it cannot reach (or a resolution that fails) keeps the round
 * coming back every second, and its transactions listed.
 * `halyardctl show xa` lists what is in doubt (xa_recover_list); the
 * metric halyard_xa_in_doubt counts it.
 *
 * Test only: HALYARD_TEST_XA_RECOVER_HOLD=<path> holds every resolution
 * (the list is kept and shown) until the file <path> exists.
 */
#ifndef HALYARD_XA_RECOVER_H
#define HALYARD_XA_RECOVER_H

#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"
#include "halyard/sql/xa_log.h"

struct config;
struct textbuf;

/* One transaction in doubt, as `show xa` lists it. */
struct xa_in_doubt {
    char gtrid[XA_GTRID_MAX + 1];
    char groups[XA_GROUPS_MAX * (XA_GROUP_MAX + 1)]; /* "a,b": where it is prepared or decided */
    bool commit;                                     /* the log holds the decision to commit */
    int64_t since;                                   /* unix time: the decision, or first seen */
    char note[400];                                  /* why it is still there, "" = not yet tried */
};

/* Main thread. */
hy_status_t xa_recover_start(struct config *cfg, char *err, size_t errlen) HY_MUSTCHECK;
void xa_recover_set_config(struct config *cfg); /* after a reload: a new round when xa is on */
void xa_recover_stop(void);
/* Any thread: a session left a decided transaction prepared (an XA COMMIT
 * failed): a round now, which commits this process's decided ones too. */
void xa_recover_kick(void);
/* Any thread: a session of this process gave up its undecided transaction
 * `gtrid` with a branch left prepared (its connection lost): the recovery
 * may roll it back (this process's undecided ones are otherwise a live
 * session's, left alone), and a round runs now. */
void xa_recover_abandon(const char *gtrid);

/* Any thread: a copy of the list (*out malloc'd, to free), its length. */
size_t xa_recover_list(struct xa_in_doubt **out);
/* Any thread: how many are in doubt now. */
size_t xa_recover_count(void);

#endif /* HALYARD_XA_RECOVER_H */
