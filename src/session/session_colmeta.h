/*
 * session_colmeta.h: MARIADB_CLIENT_CACHE_METADATA toward the client (session_colmeta.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_COLMETA_H
#define HALYARD_SESSION_COLMETA_H

#include "session_int.h"

/* ---- session_colmeta.c: MARIADB_CLIENT_CACHE_METADATA toward the client */
enum meta_rc {
    META_PASS,   /* nothing to do here: the packet goes on as it is */
    META_WAIT,   /* wait: for more bytes, or for what is before it to go out */
    META_DONE,   /* handled: the packet (and any definitions left out) consumed */
    META_BROKEN, /* the tracker says the backend broke the protocol */
};
enum meta_rc meta_down(struct session *s, uint32_t len);

#endif /* HALYARD_SESSION_COLMETA_H */
