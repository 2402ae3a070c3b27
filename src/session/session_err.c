/*
 * session_err.c: see session_err.h.
 */
#include <stdio.h>
#include <string.h>

#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session_err.h"

/* clang-format off */
const struct session_err_row session_err_table[SERR__COUNT] = {
    [SERR_TOO_MANY]              = {1040, "08004", "Too many connections"},
    [SERR_HOST_BLOCKED]          = {1129, "HY000", "Host '%s' is blocked because of many "
                                   "connection errors; unblock with 'halyardctl unblock %s'"},
    [SERR_BAD_HANDSHAKE]         = {1043, "08S01", "Bad handshake"},
    [SERR_ACCESS_DENIED]         = {1045, "28000", "Access denied for user '%.*s'@'%s' "
                                   "(using password: %s)"},
    [SERR_READ_ONLY_TRX]         = {1792, "25006", "Cannot execute statement in a READ ONLY "
                                   "transaction"},
    [SERR_USER_LIMIT]            = {1226, "42000", "User '%.80s' has exceeded the "
                                   "'max_user_connections' resource (current value: %d)"},
    [SERR_IDLE_TIMEOUT]          = {4031, "HY000", "The client was disconnected by the server "
                                   "because of inactivity. See wait_timeout and "
                                   "interactive_timeout for configuring this behavior."},
    [SERR_PACKETS_OUT_OF_ORDER]  = {1156, "08S01", "Got packets out of order"},
    [SERR_UNKNOWN_COMMAND]       = {1047, "08S01", "Unknown command"},
    [SERR_PACKET_TOO_LARGE]      = {1153, "08S01", "Got a packet bigger than "
                                   "'max_allowed_packet' bytes"},
    [SERR_BAD_CHANGE_USER]       = {1047, "08S01", "Malformed COM_CHANGE_USER packet"},
    [SERR_CHANGE_USER_TOO_LARGE] = {1047, "08S01", "COM_CHANGE_USER packet too large"},
    [SERR_NOT_FORWARDED]         = {1235, "42000", "halyard does not forward %s: connect to the "
                                   "server directly"},
    [SERR_NO_SUCH_THREAD]        = {1094, "HY000", "Unknown thread id: %u"},
    [SERR_KILL_DENIED]           = {1095, "HY000", "You are not owner of thread %u"},
    [SERR_NO_SUCH_QUERY]         = {1957, "HY000", "Unknown query id: %llu"},
    [SERR_KILL_QUERY_DENIED]     = {1979, "HY000", "You are not owner of query %llu"},
    [SERR_NO_BACKEND]            = {1429, "HY000", "%s"},
    [SERR_NO_REPLICA]            = {1429, "HY000", "No replica can serve this read "
                                   "(replica_fallback = error)"},
    [SERR_NO_PRIMARY_IN_TIME]    = {1429, "HY000", "No primary available within "
                                   "failover_write_wait_ms (%d ms)%s%s"},
    [SERR_CANT_CONNECT]          = {1429, "HY000", "Can't connect to backend '%s' (%s:%d): %s"},
    [SERR_BACKEND_LOST]          = {1927, "70100", "Lost connection to backend '%s' during %s"},
    [SERR_TRX_LOST]              = {1927, "70100", "Lost connection to backend '%s' during the "
                                   "transaction; it was rolled back"},
    [SERR_REPLAY_MISMATCH]       = {1213, "40001", "Deadlock found when trying to get lock; try "
                                   "restarting transaction (halyard: rolled back by a failover "
                                   "of backend '%s' and not replayable: %s)"},
    [SERR_WRITE_UNKNOWN]         = {1180, "HY000", "Got error 1927 during COMMIT (halyard: "
                                   "backend '%s' died while this write was in flight, and "
                                   "whether it committed is unknown: %s)"},
    [SERR_LID_LOST]              = {1927, "70100", "Lost connection to backend '%s', which held "
                                   "this session's LAST_INSERT_ID(): reconnect"},
    [SERR_KILLED]                = {1927, "70100", "Connection was killed"},
    [SERR_ANSWER_ABANDONED]      = {1927, "70100", "%s"},
    [SERR_FIREWALL]              = {1142, "42000", "statement blocked by halyard firewall: not in "
                                   "the allow-list of user '%s'"},
    [SERR_ACCESS_DENIED_NO_PW]   = {1698, "28000", "Access denied for user '%.*s'@'%s'"},
    [SERR_ACCOUNT_LOCKED]        = {4151, "HY000", "Access denied, this account is locked"},
    [SERR_PASSWORD_EXPIRED]      = {1862, "HY000", "Your password has expired. To log in you must "
                                   "change it using a client that supports expired passwords"},
    [SERR_PLUGIN_NOT_LOADED]     = {1524, "HY000", "Plugin '%s' is not loaded"},
    [SERR_SECURE_AUTH]           = {1275, "HY000", "Server is running in --secure-auth mode, but "
                                   "'%.*s'@'%s' has a password in the old format; please change "
                                   "the password to the new format"},
    [SERR_SHARD_CONFLICT]        = {1105, "HY000", "halyard: schema %s is on groups %s and %s: "
                                   "refused until resolved"},
    [SERR_SHARD_TWO_GROUPS]      = {1105, "HY000", "halyard: the statement names schema %s (group "
                                   "%s) and schema %s (group %s): a statement runs on one group"},
    [SERR_SHARD_CROSS_TRX]       = {1105, "HY000", "halyard: a transaction is open on group %s; "
                                   "this statement is for group %s (schema %s): cross-group "
                                   "transactions are refused; the transaction stays open on %s"},
    [SERR_SHARD_KEY_CROSS_TRX]   = {1105, "HY000", "halyard: a transaction is open on group %s; "
                                   "this statement is for group %s (by the key of table %s): "
                                   "cross-group transactions are refused; the transaction stays "
                                   "open on %s"},
    [SERR_SHARD_HELD]            = {1105, "HY000", "halyard: the session's state stays on group "
                                   "%s (%s); this statement is for group %s (schema %s)"},
    [SERR_SCATTER]               = {1105, "HY000", "%s"},
};
/* clang-format on */

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
