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
enum meta_rc {
    META_PASS,   /* nothing to do here: the packet goes on as it is */
    META_WAIT,   /* wait: for more bytes, or for what is before it to go out */
    META_DONE,   /* handled: the packet (and any definitions left out) consumed */
    META_BROKEN, /* the tracker says the backend broke the protocol */
};
/* meta_down's two cases (session_colmeta.c): a result set's column count
 * at down.scan (`len` bytes), and a COM_STMT_PREPARE's first column
 * definition. */
enum meta_rc meta_colcount_at(struct session *s, uint32_t len);
enum meta_rc meta_prepare_at(struct session *s);
/* down_parse, each packet (`len` bytes at down.scan) before the tracker
 * reads it. Inline: most packets are neither case, and each answer's
 * packets all pass here. */
static inline enum meta_rc meta_down(struct session *s, uint32_t len)
{
    if (!(s->who.ext_caps & MARIADB_CLIENT_CACHE_METADATA) || s->query.internal != INT_NONE)
        return META_PASS;
    const uint8_t *p = s->io.down.b->data + s->io.down.scan + MYSQL_HEADER_SIZE;
    if (mysql_resp_colcount_next(&s->io.resp, p, len))
        return meta_colcount_at(s, len);
    if (s->query.cmd == COM_STMT_PREPARE && mysql_resp_prep_cols_first(&s->io.resp))
        return meta_prepare_at(s);
    return META_PASS;
}

#endif /* HALYARD_SESSION_COLMETA_H */
