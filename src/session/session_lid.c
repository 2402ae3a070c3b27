/*
 * session_lid.c: LAST_INSERT_ID() followed between statements where a
 * connection may close with it unread (session_lid.h).
 */
#include "halyard/session/session.h"
#include "session_int.h"
#include "session_lid.h"

/* Session mode on a shards listener: a connection whose LAST_INSERT_ID()
 * may have changed is read back between statements, as a pooled one is
 * before it goes: the session leaving its group closes it
 * (session_view_move), and the value is the session's, which the next
 * group's connection gets set (session_pool_lid_read). A step between
 * commands (session_hooks.c): HOOK_WAIT while the read runs. */
enum hook_verdict session_lid_follow(struct session *s)
{
    if (s->state != SS_IDLE || s->query.internal != NULL)
        return HOOK_PASS;
    /* With shards in session pooling, any connection's; in either pool
     * mode, the connection of a read-only transaction (START TRANSACTION
     * READ ONLY on a replica): a statement that commits the transaction
     * implicitly closes it (route_apply), and LAST_INSERT_ID(N) run there
     * would go with it. Without either, none to look at. */
    uint32_t from = 0, to = s->conns.n_bc;
    if (!s->listener->shards || s->cfg->pool_transaction) {
        if (s->route.ro_idx < 0)
            return HOOK_PASS;
        from = (uint32_t)s->route.ro_idx;
        to = HY_MIN(to, from + 1);
    }
    for (uint32_t i = from; i < to; i++) {
        struct bconn *bc = s->conns.bc[i];
        if (bc == NULL || bc->state != BCONN_READY || !bc->lid_dirty)
            continue;
        backend_lid_read(s, bc);
        return HOOK_WAIT;
    }
    return HOOK_PASS;
}
