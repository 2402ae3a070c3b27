/*
 * session_err.c: see session_err.h.
 */
#include <stdio.h>
#include <string.h>

#include "halyard/protocol/mysql_errors.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session_err.h"

const struct session_err_row session_err_table[SERR__COUNT] = {
    [SERR_TOO_MANY] = {ER_CON_COUNT_ERROR, "08004", "Too many connections"},
    [SERR_HOST_BLOCKED] = {ER_HOST_IS_BLOCKED, "HY000",
                           "Host '%s' is blocked because of many "
                           "connection errors; unblock with 'halyardctl unblock %s'"},
    [SERR_BAD_HANDSHAKE] = {ER_HANDSHAKE_ERROR, "08S01", "Bad handshake"},
    [SERR_ACCESS_DENIED] = {ER_ACCESS_DENIED_ERROR, "28000",
                            "Access denied for user '%.*s'@'%s' "
                            "(using password: %s)"},
    [SERR_READ_ONLY_TRX] = {ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, "25006",
                            "Cannot execute statement in a READ ONLY "
                            "transaction"},
    [SERR_USER_LIMIT] = {ER_USER_LIMIT_REACHED, "42000",
                         "User '%.80s' has exceeded the "
                         "'max_user_connections' resource (current value: %d)"},
    [SERR_FAIR_LIMIT] = {ER_USER_LIMIT_REACHED, "42000", "User '%.80s' has exceeded %s"},
    [SERR_IDLE_TIMEOUT] = {ER_CLIENT_INTERACTION_TIMEOUT, "HY000",
                           "The client was disconnected by the server "
                           "because of inactivity. See wait_timeout and "
                           "interactive_timeout for configuring this behavior."},
    [SERR_PACKETS_OUT_OF_ORDER] = {ER_NET_PACKETS_OUT_OF_ORDER, "08S01",
                                   "Got packets out of order"},
    [SERR_UNKNOWN_COMMAND] = {ER_UNKNOWN_COM_ERROR, "08S01", "Unknown command"},
    [SERR_PACKET_TOO_LARGE] = {ER_NET_PACKET_TOO_LARGE, "08S01",
                               "Got a packet bigger than "
                               "'max_allowed_packet' bytes"},
    [SERR_BAD_CHANGE_USER] = {ER_UNKNOWN_COM_ERROR, "08S01", "Malformed COM_CHANGE_USER packet"},
    [SERR_CHANGE_USER_TOO_LARGE] = {ER_UNKNOWN_COM_ERROR, "08S01",
                                    "COM_CHANGE_USER packet too large"},
    [SERR_NOT_FORWARDED] = {ER_NOT_SUPPORTED_YET, "42000",
                            "halyard does not forward %s: connect to the "
                            "server directly"},
    [SERR_KILL_NOT_MAPPED] = {ER_NOT_SUPPORTED_YET, "42000",
                              "This version of MariaDB doesn't yet support "
                              "'KILL %s through halyard': send KILL <id> as a statement of its "
                              "own"},
    [SERR_RO_TRX_STATE] = {ER_NOT_SUPPORTED_YET, "42000",
                           "This version of MariaDB doesn't yet support 'session state set in "
                           "a way halyard cannot replay (several statements in one text, or a "
                           "prepared statement) inside START TRANSACTION READ ONLY through "
                           "halyard': send each SET as a text statement of its own, or before "
                           "the transaction"},
    [SERR_RO_TRX_PREPARE] = {ER_NOT_SUPPORTED_YET, "42000",
                             "This version of MariaDB doesn't yet support 'PREPARE inside START "
                             "TRANSACTION READ ONLY through halyard': prepare the statement "
                             "before the transaction"},
    [SERR_NO_SUCH_THREAD] = {ER_NO_SUCH_THREAD, "HY000", "Unknown thread id: %u"},
    [SERR_KILL_DENIED] = {ER_KILL_DENIED_ERROR, "HY000", "You are not owner of thread %u"},
    [SERR_NO_SUCH_QUERY] = {ER_NO_SUCH_QUERY, "HY000", "Unknown query id: %llu"},
    [SERR_KILL_QUERY_DENIED] = {ER_KILL_QUERY_DENIED_ERROR, "HY000",
                                "You are not owner of query %llu"},
    [SERR_NO_BACKEND] = {ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "HY000", "%s"},
    [SERR_NO_REPLICA] = {ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "HY000",
                         "No replica can serve this read "
                         "(replica_fallback = error)"},
    [SERR_NO_PRIMARY_IN_TIME] = {ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "HY000",
                                 "No primary available within "
                                 "failover_write_wait_ms (%d ms)%s%s"},
    [SERR_CANT_CONNECT] = {ER_CONNECT_TO_FOREIGN_DATA_SOURCE, "HY000",
                           "Can't connect to backend '%s' (%s:%d): %s"},
    [SERR_BACKEND_LOST] = {ER_CONNECTION_KILLED, "70100",
                           "Lost connection to backend '%s' during %s"},
    [SERR_TRX_LOST] = {ER_CONNECTION_KILLED, "70100",
                       "Lost connection to backend '%s' during the "
                       "transaction; it was rolled back"},
    [SERR_TRX_LOST_NONTRX] = {ER_CONNECTION_KILLED, "70100",
                              "Lost connection to backend '%s' during the transaction; it was "
                              "rolled back, except its changes to non-transactional tables "
                              "(MyISAM, Aria...), which stay"},
    [SERR_TRX_LOST_MAYBE_NONTRX] = {ER_CONNECTION_KILLED, "70100",
                                    "Lost connection to backend '%s' during the transaction; it "
                                    "was rolled back, except any change it made to a "
                                    "non-transactional table (MyISAM, Aria...), which stays"},
    [SERR_REPLAY_MISMATCH] = {ER_LOCK_DEADLOCK, "40001",
                              "Deadlock found when trying to get lock; try "
                              "restarting transaction (halyard: rolled back by a failover "
                              "of backend '%s' and not replayable: %s)"},
    [SERR_WRITE_UNKNOWN] = {ER_ERROR_DURING_COMMIT, "HY000",
                            "Got error 1927 during COMMIT (halyard: "
                            "backend '%s' died while this write was in flight, and "
                            "whether it committed is unknown: %s)"},
    [SERR_WRITE_UNCOUNTED] = {ER_ERROR_DURING_COMMIT, "HY000",
                              "Got error 1927 during COMMIT (halyard: "
                              "backend '%s' died while this write was in flight; it "
                              "committed (found in the binary log of '%s'), but its "
                              "affected rows and insert id are unknown: %s)"},
    [SERR_LID_LOST] = {ER_CONNECTION_KILLED, "70100",
                       "Lost connection to backend '%s', which held "
                       "this session's LAST_INSERT_ID(): reconnect"},
    [SERR_KILLED] = {ER_CONNECTION_KILLED, "70100", "Connection was killed"},
    [SERR_ANSWER_ABANDONED] = {ER_CONNECTION_KILLED, "70100", "%s"},
    [SERR_FIREWALL] = {ER_TABLEACCESS_DENIED_ERROR, "42000",
                       "statement blocked by halyard firewall: not in "
                       "the allow-list of user '%s'"},
    [SERR_ACCESS_DENIED_NO_PW] = {ER_ACCESS_DENIED_NO_PASSWORD_ERROR, "28000",
                                  "Access denied for user '%.*s'@'%s'"},
    [SERR_ACCOUNT_LOCKED] = {ER_ACCOUNT_HAS_BEEN_LOCKED, "HY000",
                             "Access denied, this account is locked"},
    [SERR_PASSWORD_EXPIRED] = {ER_MUST_CHANGE_PASSWORD_LOGIN, "HY000",
                               "Your password has expired. To log in you must "
                               "change it using a client that supports expired passwords"},
    [SERR_PLUGIN_NOT_LOADED] = {ER_PLUGIN_IS_NOT_LOADED, "HY000", "Plugin '%s' is not loaded"},
    [SERR_SECURE_AUTH] = {ER_SERVER_IS_IN_SECURE_AUTH_MODE, "HY000",
                          "Server is running in --secure-auth mode, but "
                          "'%.*s'@'%s' has a password in the old format; please change "
                          "the password to the new format"},
    [SERR_SHARD_CONFLICT] = {ER_UNKNOWN_ERROR, "HY000",
                             "halyard: schema %s is on groups %s and %s: "
                             "refused until resolved"},
    [SERR_SHARD_TWO_GROUPS] = {ER_UNKNOWN_ERROR, "HY000",
                               "halyard: the statement names schema %s (group "
                               "%s) and schema %s (group %s): a statement runs on one group"},
    [SERR_SHARD_CROSS_TRX] = {ER_UNKNOWN_ERROR, "HY000",
                              "halyard: a transaction is open on group %s; "
                              "this statement is for group %s (schema %s): cross-group "
                              "transactions are refused; the transaction stays open on %s"},
    [SERR_SHARD_KEY_CROSS_TRX] = {ER_UNKNOWN_ERROR, "HY000",
                                  "halyard: a transaction is open on group %s; "
                                  "this statement is for group %s (by the key of table %s): "
                                  "cross-group transactions are refused; the transaction stays "
                                  "open on %s"},
    [SERR_SHARD_HELD] = {ER_UNKNOWN_ERROR, "HY000",
                         "halyard: the session's state stays on group "
                         "%s (%s); this statement is for group %s (schema %s)"},
    [SERR_SCATTER] = {ER_UNKNOWN_ERROR, "HY000", "%s"},
    [SERR_QUERY_INTERRUPTED] = {ER_QUERY_INTERRUPTED, "70100", "Query execution was interrupted"},
};

size_t session_err_encode_custom(uint8_t *out, size_t cap, uint8_t seq, uint16_t code,
                                 const char *sqlstate, const char *msg)
{
    if (cap < MYSQL_HEADER_SIZE)
        return 0;
    size_t len = mysql_err_encode(out + MYSQL_HEADER_SIZE, cap - MYSQL_HEADER_SIZE, code, sqlstate,
                                  msg, strlen(msg));
    if (len == 0)
        return 0;
    mysql_hdr_write(out, (uint32_t)len, seq);
    return MYSQL_HEADER_SIZE + len;
}

size_t session_err_vencode(uint8_t *out, size_t cap, uint8_t seq, enum session_err why, va_list ap)
{
    if ((unsigned)why >= SERR__COUNT)
        return 0;
    const struct session_err_row *row = &session_err_table[why];
    char msg[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    int n = vsnprintf(msg, sizeof(msg), row->fmt, ap);
#pragma GCC diagnostic pop
    if (n < 0)
        msg[0] = '\0';
    return session_err_encode_custom(out, cap, seq, row->code, row->sqlstate, msg);
}

size_t session_err_encode(uint8_t *out, size_t cap, uint8_t seq, enum session_err why, ...)
{
    va_list ap;
    va_start(ap, why);
    size_t n = session_err_vencode(out, cap, seq, why, ap);
    va_end(ap);
    return n;
}
