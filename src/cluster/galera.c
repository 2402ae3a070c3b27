/*
 * galera.c: the Galera role decision (galera.h). No I/O, no state.
 */
#include <stdio.h>
#include <string.h>

#include "halyard/cluster/galera.h"

const char *galera_state_to_str(int local_state)
{
    switch (local_state) {
    case GALERA_JOINING:
        return "Joining";
    case GALERA_DONOR:
        return "Donor/Desynced";
    case GALERA_JOINED:
        return "Joined";
    case GALERA_SYNCED:
        return "Synced";
    }
    return "unknown";
}

/* Ready, Primary and accepting queries: what even a last-resort donor needs. */
static bool serving(const struct galera_node *g)
{
    return g->reachable && !g->wsrep_off && g->ready && g->primary && !g->reject_queries;
}

/* By the wsrep state alone: wsrep_desync (a variable, read by a second
 * statement after the status) only names why a node is Donor/Desynced.
 * SET GLOBAL wsrep_desync = ON returns once the node is Donor/Desynced, so
 * a check that reads Synced, then ON, read the state before the SET: the
 * node was Synced, and the next check sees it Donor/Desynced. Deciding on
 * the flag took it out with a state and a reason that belonged to two
 * different moments (galera.h). */
static bool eligible(const struct galera_node *g)
{
    return serving(g) && g->local_state == GALERA_SYNCED;
}

/* Why a node takes no traffic, in the order an operator would look. */
static void why_out(const struct galera_node *g, char *buf, size_t len)
{
    if (!g->reachable)
        snprintf(buf, len, "unreachable");
    else if (g->wsrep_off)
        snprintf(buf, len, "wsrep_on is OFF: not a Galera node");
    else if (!g->primary)
        snprintf(buf, len, "in a non-Primary component");
    else if (g->local_state == 0)
        snprintf(buf, len, "wsrep state unknown");
    else if (g->reject_queries)
        snprintf(buf, len, "wsrep_reject_queries is set");
    else if (!g->ready)
        snprintf(buf, len, "wsrep_ready is OFF");
    else if (g->desync && g->local_state == GALERA_DONOR)
        snprintf(buf, len, "desynced (wsrep_desync = ON)");
    else
        snprintf(buf, len, "wsrep state %s, not Synced", galera_state_to_str(g->local_state));
}

/* Is a before b in writer order: lower priority, then name? */
static bool writer_before(const struct galera_node *a, const struct galera_node *b)
{
    if (a->priority != b->priority)
        return a->priority < b->priority;
    return strcmp(a->name, b->name) < 0;
}

int galera_decide(const struct galera_node *nodes, size_t n, const struct galera_settings *s,
                  struct galera_verdict *out)
{
    size_t n_eligible = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = (struct galera_verdict){0};
        out[i].traffic = eligible(&nodes[i]);
        if (out[i].traffic)
            n_eligible++;
    }
    /* The last node standing may be a donor: it serves rather than nobody. */
    bool last_resort = false;
    if (n_eligible == 0) {
        for (size_t i = 0; i < n; i++) {
            if (serving(&nodes[i]) && nodes[i].local_state == GALERA_DONOR) {
                out[i].traffic = true;
                last_resort = true;
            }
        }
    }

    /* Writers: repeatedly the first in (priority, name) order not taken
     * yet; an O(n * max_writers) selection, n is a handful of nodes. */
    int max_writers = s->max_writers > 0 ? s->max_writers : 1;
    for (size_t i = 0; i < n; i++) {
        if (nodes[i].handing_over)
            max_writers = 0; /* writes wait until the drained writer is idle */
    }
    int writers = 0;
    for (; writers < max_writers; writers++) {
        int best = -1;
        for (size_t i = 0; i < n; i++) {
            if (!out[i].traffic || out[i].writer || nodes[i].admin_out)
                continue;
            if (best < 0 || writer_before(&nodes[i], &nodes[best]))
                best = (int)i;
        }
        if (best < 0)
            break;
        out[best].writer = true;
    }

    for (size_t i = 0; i < n; i++) {
        const struct galera_node *g = &nodes[i];
        struct galera_verdict *v = &out[i];
        if (!v->traffic) {
            why_out(g, v->why, sizeof(v->why));
            continue;
        }
        const char *how = last_resort ? "Donor/Desynced, the last node serving" : "Synced";
        bool queue_over = s->max_recv_queue > 0 && g->recv_queue > s->max_recv_queue;
        if (v->writer && !s->writer_is_also_reader) {
            snprintf(v->why, sizeof(v->why), "%s, writer (priority %d)", how, g->priority);
            continue;
        }
        if (queue_over) {
            snprintf(v->why, sizeof(v->why), "%s%s, receive queue %lld over %lld: no reads", how,
                     v->writer ? ", writer" : "", (long long)g->recv_queue,
                     (long long)s->max_recv_queue);
            continue;
        }
        v->reads = true;
        snprintf(v->why, sizeof(v->why), "%s, %s", how, v->writer ? "writer and reader" : "reader");
    }
    return writers;
}
