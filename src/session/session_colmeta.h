/*
 * session_colmeta.h: MARIADB_CLIENT_CACHE_METADATA toward the client (session_colmeta.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_COLMETA_H
#define HALYARD_SESSION_COLMETA_H

#include "halyard/protocol/mysql_proto.h"
#include "session_int.h"

/* ---- session_colmeta.c: MARIADB_CLIENT_CACHE_METADATA toward the client */
/* meta_down's two cases (session_colmeta.c): a result set's column count
 * at down.scan (`len` bytes), and a COM_STMT_PREPARE's first column
 * definition. */
enum hook_verdict meta_colcount_at(struct session *s, uint32_t len);
enum hook_verdict meta_prepare_at(struct session *s);
/* The answer's packet filter (the hook table's colmeta row) for the packet
 * (payload `len`) at down.scan: HOOK_TAKEN when it was a column count, now
 * relayed as the client's (with metadata_follows, and the definitions it
 * holds left out), HOOK_BROKEN when that count is malformed. Inline: most
 * packets are neither case, and each answer's packets all pass here. */
static inline enum hook_verdict meta_down(struct session *s, uint32_t len)
{
    if (!(s->who.ext_caps & MARIADB_CLIENT_CACHE_METADATA) || s->query.internal != NULL)
        return HOOK_PASS;
    const uint8_t *p = s->io.down.b->data + s->io.down.scan + MYSQL_HEADER_SIZE;
    if (mysql_resp_colcount_next(&s->io.resp, p, len))
        return meta_colcount_at(s, len);
    if (s->query.cmd == COM_STMT_PREPARE && mysql_resp_prep_cols_first(&s->io.resp))
        return meta_prepare_at(s);
    return HOOK_PASS;
}

#endif /* HALYARD_SESSION_COLMETA_H */
