/*
 * session_err.h: every ERR a session sends of its own, in ONE table.
 *
 * Each reason halyard refuses a client's login or command, or ends its
 * session with a word to the client, is a row: the MariaDB error code,
 * its SQLSTATE and the message format, with the arguments the call site
 * passes. The codes and texts are those MariaDB sends for the same case,
 * or halyard's own (1429 for a backend that cannot be reached, 1927 for one
 * lost), so clients and connectors react as they would to the server.
 * ERRs that are not halyard's own pass through as they are: a backend's
 * (forwarded payload) and a query rule's (session_err_encode_custom).
 */
#ifndef HALYARD_SESSION_ERR_H
#define HALYARD_SESSION_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

enum session_err {
    SERR_TOO_MANY,              /* max_client_connections reached */
    SERR_HOST_BLOCKED,          /* (host, host) blocked after failed logins */
    SERR_BAD_HANDSHAKE,         /* malformed login packet */
    SERR_ACCESS_DENIED,         /* (int len, user, host, "YES"/"NO") */
    SERR_READ_ONLY_TRX,         /* a write inside START TRANSACTION READ ONLY */
    SERR_USER_LIMIT,            /* (user, max) the user's max_connections reached */
    SERR_FAIR_LIMIT,            /* (user, why) a fair-share limit refused the statement */
    SERR_IDLE_TIMEOUT,          /* client_idle_timeout_ms */
    SERR_PACKETS_OUT_OF_ORDER,  /* a command with a sequence id other than 0 */
    SERR_UNKNOWN_COMMAND,       /* an empty command packet */
    SERR_PACKET_TOO_LARGE,      /* a request over max_packet_size */
    SERR_BAD_CHANGE_USER,       /* malformed COM_CHANGE_USER */
    SERR_CHANGE_USER_TOO_LARGE, /* COM_CHANGE_USER larger than a buffer */
    SERR_NOT_FORWARDED,         /* (command name) replication commands and the like */
    SERR_KILL_NOT_MAPPED,       /* (where) a KILL whose id halyard cannot map */
    SERR_RO_TRX_STATE,          /* session state halyard cannot replay, in a READ ONLY trx */
    SERR_RO_TRX_PREPARE,        /* an SQL PREPARE in a READ ONLY trx (on its replica) */
    SERR_NO_SUCH_THREAD,        /* (id) KILL of an unknown session */
    SERR_KILL_DENIED,           /* (id) KILL of another user's session */
    SERR_NO_SUCH_QUERY,         /* (unsigned long long id) KILL QUERY ID of an unknown query */
    SERR_KILL_QUERY_DENIED,     /* (unsigned long long id) ... of another user's query */
    SERR_NO_BACKEND,            /* (why) routing found no usable backend */
    SERR_NO_REPLICA,            /* replica_fallback = error and no replica */
    SERR_NO_PRIMARY_IN_TIME,    /* (ms, ": " or "", why) failover_write_wait_ms passed */
    SERR_CANT_CONNECT,          /* (name, address, port, why) a backend cannot be opened */
    SERR_BACKEND_LOST,          /* (name, "query") lost mid-statement */
    SERR_TRX_LOST,              /* (name) the transaction died with its backend earlier */
    SERR_TRX_LOST_NONTRX,       /* (name) ... and its writes to non-transactional tables stay */
    SERR_TRX_LOST_MAYBE_NONTRX, /* (name) ... and any write to one stays: not known whether */
    SERR_REPLAY_MISMATCH,       /* (name, why) a replayed transaction's answer differed */
    SERR_WRITE_UNKNOWN,         /* (name, why) a write in flight whose outcome is unknown */
    SERR_WRITE_UNCOUNTED,       /* (name, new, why) committed, its affected rows not known */
    SERR_LID_LOST,              /* (name) LAST_INSERT_ID() read after it died with its backend */
    SERR_KILLED,                /* KILL CONNECTION through halyard */
    SERR_ANSWER_ABANDONED,      /* (text) a backend broke the protocol or went silent mid-answer */
    SERR_FIREWALL,              /* (user) statement not in the user's allow-list */
    SERR_ACCESS_DENIED_NO_PW,   /* (int len, user, host) an account whose method is unix_socket */
    SERR_ACCOUNT_LOCKED,        /* ACCOUNT LOCK */
    SERR_PASSWORD_EXPIRED,      /* PASSWORD EXPIRE, disconnect_on_expired_password */
    SERR_PLUGIN_NOT_LOADED,     /* (plugin) an authentication method halyard cannot check */
    SERR_SECURE_AUTH,           /* (int len, user, host) mysql_old_password, secure_auth ON */
    SERR_SHARD_CONFLICT,        /* (schema, group, group) a schema the map puts on two groups */
    SERR_SHARD_TWO_GROUPS,      /* (schema, group, schema, group) one statement, two groups */
    SERR_SHARD_CROSS_TRX,       /* (group, group, schema, group) a transaction would cross */
    SERR_SHARD_KEY_CROSS_TRX,   /* (group, group, table, group) the same, by a table's key */
    SERR_SHARD_HELD,            /* (group, why, group, schema) state that cannot leave its group */
    SERR_SCATTER,               /* (text) a statement on every group refused or failed */
    SERR_QUERY_INTERRUPTED,     /* KILL QUERY of the session's own id: its own statement */
    SERR__COUNT
};

struct session_err_row {
    uint16_t code;
    char sqlstate[6];
    const char *fmt; /* printf format of the message; arguments as above */
};

extern const struct session_err_row session_err_table[SERR__COUNT];

/* The ERR packet (header with `seq` included) of `why` into `out`: its
 * length, 0 if it does not fit. */
size_t session_err_encode(uint8_t *out, size_t cap, uint8_t seq, enum session_err why, ...);
size_t session_err_vencode(uint8_t *out, size_t cap, uint8_t seq, enum session_err why, va_list ap);
/* An ERR with a code, SQLSTATE and message not halyard's own (a query
 * rule's, configured). */
size_t session_err_encode_custom(uint8_t *out, size_t cap, uint8_t seq, uint16_t code,
                                 const char *sqlstate, const char *msg);

#endif /* HALYARD_SESSION_ERR_H */
