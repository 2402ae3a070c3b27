/*
 * mysql_errors.h: the MariaDB error codes halyard sends or reads, by the
 * names MariaDB's own mysqld_error.h gives them, each with the SQLSTATE
 * the server sends with it. Write ER_NO_SUCH_TABLE, never 1146.
 *
 * Halyard's own refusals of a session are in session_err.h (one table);
 * this header is only the numbers.
 */
#ifndef HALYARD_MYSQL_ERRORS_H
#define HALYARD_MYSQL_ERRORS_H

#define ER_CON_COUNT_ERROR     1040 /* 08004 Too many connections */
#define ER_OUT_OF_RESOURCES    1041 /* HY000 Out of memory */
#define ER_HANDSHAKE_ERROR     1043 /* 08S01 Bad handshake */
#define ER_ACCESS_DENIED_ERROR 1045 /* 28000 Access denied for user */
/* 08S01 Unknown command; also a Galera node's "WSREP has not yet prepared
 * node for application use" */
#define ER_UNKNOWN_COM_ERROR             1047
#define ER_WSREP_NOT_READY               1047
#define ER_PARSE_ERROR                   1064 /* 42000 You have an error in your SQL syntax */
#define ER_EMPTY_QUERY                   1065 /* 42000 Query was empty */
#define ER_NO_SUCH_THREAD                1094 /* HY000 Unknown thread id */
#define ER_KILL_DENIED_ERROR             1095 /* HY000 You are not owner of thread */
#define ER_UNKNOWN_ERROR                 1105 /* HY000 Unknown error */
#define ER_UNKNOWN_TABLE                 1109 /* 42S02 Unknown table */
#define ER_HOST_IS_BLOCKED               1129 /* HY000 Host is blocked because of many connection errors */
#define ER_TABLEACCESS_DENIED_ERROR      1142 /* 42000 command denied to user for table */
#define ER_NO_SUCH_TABLE                 1146 /* 42S02 Table doesn't exist */
#define ER_NET_PACKET_TOO_LARGE          1153 /* 08S01 Got a packet bigger than max_allowed_packet */
#define ER_NET_PACKETS_OUT_OF_ORDER      1156 /* 08S01 Got packets out of order */
#define ER_ERROR_DURING_COMMIT           1180 /* HY000 Got error during COMMIT */
#define ER_LOCK_DEADLOCK                 1213 /* 40001 the server rolled the transaction back */
#define ER_USER_LIMIT_REACHED            1226 /* 42000 User has exceeded the resource */
#define ER_SPECIFIC_ACCESS_DENIED_ERROR  1227 /* 42000 you need the X privilege */
#define ER_NOT_SUPPORTED_YET             1235 /* 42000 This version doesn't yet support */
#define ER_UNKNOWN_STMT_HANDLER          1243 /* HY000 Unknown prepared statement handler */
#define ER_SERVER_IS_IN_SECURE_AUTH_MODE 1275 /* HY000 a password in the old format */
#define ER_UNSUPPORTED_PS                1295 /* HY000 not supported in the prepared statement protocol */
#define ER_QUERY_INTERRUPTED             1317 /* 70100 Query execution was interrupted */
#define ER_NO_BINARY_LOGGING             1381 /* HY000 You are not using binary logging */
#define ER_XAER_NOTA                     1397 /* XAE04 Unknown XID */
#define ER_STMT_HAS_NO_OPEN_CURSOR       1421 /* HY000 */
/* HY000 a backend cannot be reached. Halyard's backend failures are not
 * the client library's own 2003/2013: libmariadb turns any code of its
 * 2000-2999 range sent by a server into 2027 "Received malformed packet". */
#define ER_CONNECT_TO_FOREIGN_DATA_SOURCE        1429
#define ER_MAX_PREPARED_STMT_COUNT               1461 /* 42000 */
#define ER_PLUGIN_IS_NOT_LOADED                  1524 /* HY000 Plugin is not loaded */
#define ER_ACCESS_DENIED_NO_PASSWORD_ERROR       1698 /* 28000 Access denied for user */
#define ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION 1792 /* 25006 */
#define ER_MALFORMED_PACKET                      1835 /* HY000 */
#define ER_MUST_CHANGE_PASSWORD_LOGIN            1862 /* HY000 Your password has expired */
#define ER_CONNECTION_KILLED                     1927 /* 70100 a backend connection died */
#define ER_NO_SUCH_QUERY                         1957 /* HY000 Unknown query id */
#define ER_KILL_QUERY_DENIED_ERROR               1979 /* HY000 You are not owner of query */
#define ER_CLIENT_INTERACTION_TIMEOUT            4031 /* HY000 disconnected because of inactivity */
#define ER_ACCOUNT_HAS_BEEN_LOCKED               4151 /* HY000 this account is locked */

#endif /* HALYARD_MYSQL_ERRORS_H */
