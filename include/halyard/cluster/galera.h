/*
 * galera.h: who takes writes and reads in a Galera cluster, from what
 * each node says about its wsrep state.
 *
 * Pure: galera_decide() reads one struct galera_node per configured
 * backend (config order) and writes one struct galera_verdict each. The
 * monitor builds the nodes after every check and applies the verdicts
 * (roles and health); the unit tests walk through the rules with made-up
 * states (tests/unit/test_galera.c).
 *
 * A node may take traffic ("eligible") when its last check succeeded and
 * it is Synced (wsrep_local_state = 4), ready (wsrep_ready = ON), in a
 * Primary component (wsrep_cluster_status = Primary) and not rejecting
 * queries (wsrep_reject_queries = NONE). In a non-Primary component a node
 * refuses queries (1047), and a node that is not Synced may not have
 * applied what the others committed. A node desynced by an operator is not
 * Synced: SET GLOBAL wsrep_desync = ON returns once its state is 2
 * (Donor/Desynced), and the state goes back to Synced after OFF, once it
 * caught up. wsrep_desync itself (a variable: the monitor reads it with a
 * second statement, after the status) only says why a Donor/Desynced node
 * is out; a check that read Synced and then ON read the state before the
 * SET, and the node serves until the next check.
 *
 * A donor (or a node desynced by an operator: wsrep_local_state 2) takes
 * traffic only when no node is eligible, so the last node serving a state
 * transfer still serves; it must still be ready, in the Primary component
 * and accepting queries.
 *
 * Writers: the first max_writers eligible nodes ordered by priority (lower
 * first), then name. Every halyard that sees the same states picks the same
 * writer without talking to the others. There is nothing to promote:
 * when the writer leaves, the next node in that order is the writer at the
 * next check.
 *
 * Readers: the eligible nodes that are not writers (and the writers too
 * with writer_is_also_reader) whose receive queue (wsrep_local_recv_queue,
 * write sets received but not applied yet) is within max_recv_queue
 * (0 = no limit).
 */
#ifndef HALYARD_GALERA_H
#define HALYARD_GALERA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* wsrep_local_state values. */
enum galera_state {
    GALERA_JOINING = 1,
    GALERA_DONOR = 2, /* donor, or desynced (wsrep_desync = ON) */
    GALERA_JOINED = 3,
    GALERA_SYNCED = 4,
};

/* "Joining", "Donor/Desynced", "Joined", "Synced", "unknown". */
const char *galera_state_to_str(int local_state);

/* What the monitor last saw of one node. */
struct galera_node {
    const char *name;
    int priority;           /* backends.[].priority: lower is preferred as writer */
    bool reachable;         /* its last check succeeded (and read the wsrep state) */
    bool wsrep_off;         /* wsrep_on = OFF: not a Galera node at all */
    bool admin_out;         /* drained or in maintenance: never the writer */
    bool handing_over;      /* the writer, drained, and transactions still run there: no other
                             * node writes until it is idle (certification would fail one side) */
    int local_state;        /* wsrep_local_state; 0 = unknown (wsrep off) */
    bool ready;             /* wsrep_ready = ON */
    bool primary;           /* wsrep_cluster_status = Primary */
    bool desync;            /* wsrep_desync = ON: names why a Donor/Desynced node is out */
    bool reject_queries;    /* wsrep_reject_queries is not NONE */
    int cluster_size;       /* wsrep_cluster_size */
    int64_t recv_queue;     /* wsrep_local_recv_queue */
    char self_address[128]; /* its own entry of wsrep_incoming_addresses (wsrep_local_index'th):
                             * how the other members list it (resolve_in_flight_writes) */
};

struct galera_settings {
    int max_writers; /* at least 1 */
    bool writer_is_also_reader;
    int64_t max_recv_queue; /* 0 = no limit */
};

struct galera_verdict {
    bool traffic;  /* may take statements at all */
    bool writer;   /* takes writes */
    bool reads;    /* takes reads */
    char why[160]; /* one line: why this node has this verdict */
};

/* Fill out[0..n) from nodes[0..n), by the rules at the top. Returns the
 * number of writers picked (0 when no node may take traffic). */
int galera_decide(const struct galera_node *nodes, size_t n, const struct galera_settings *s,
                  struct galera_verdict *out);

#endif /* HALYARD_GALERA_H */
