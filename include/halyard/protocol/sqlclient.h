/*
 * sqlclient.h: a small non-blocking MySQL/MariaDB client on a libev loop.
 *
 * For the SQL halyard runs for itself, outside any client session: the
 * monitor's health checks, and failover's STOP SLAVE / CHANGE MASTER /
 * SET GLOBAL read_only. It uses the packet codec of the data path
 * (mysql_proto.c) and mysql_native_password (auth.c). It is not on the data
 * path and favours simplicity: its own growable buffers, whole packets,
 * result sets copied into strings.
 *
 * One struct sqlclient is one connection, used by one thread (the one
 * running `loop`). Every operation is asynchronous: it starts, returns at
 * once, and its callback runs later from the loop with the outcome, exactly
 * once, unless sqlclient_close() or sqlclient_destroy() cancels it first
 * (then the callback never runs). One operation at a time: starting a
 * second while one runs is refused (HY_ERROR, no callback).
 *
 *   sqlclient_connect  TCP connect, greeting, TLS when the target asks for
 *                      it (never a plaintext fallback), login (native
 *                      password)
 *   sqlclient_query    COM_QUERY; a result set comes back as rows of
 *                      NUL-terminated strings (NULL for SQL NULL); with
 *                      several results (CALL, multi-statements) the first
 *                      result set is kept and the rest read and dropped
 *   sqlclient_query_rows  the same, each row given to a row callback as it
 *                      comes and then dropped (a result of any length:
 *                      SHOW BINLOG EVENTS of a whole file)
 *   sqlclient_ping     COM_PING
 *   sqlclient_command  any command answered by OK or ERR (COM_REGISTER_SLAVE)
 *   sqlclient_stream   a command whose answer is a stream of packets
 *                      (COM_BINLOG_DUMP): each is given to a packet callback
 *
 * Each operation must finish within the client's timeout (ms, set at
 * create); on timeout the connection is closed and the callback gets
 * `res->ok == false` with err_code 0 and "timeout after N ms". A callback
 * may start the next operation, close, or destroy the client.
 *
 * A result is owned by the client and valid during the callback only.
 * Sizes are bounded (SQLCLIENT_MAX_RESULT bytes of result, of the column
 * names and one row for sqlclient_query_rows; packets of at most 16 MiB -
 * 1): a larger answer fails the operation and closes the connection.
 *
 * Host names are never resolved here: a connect takes the addresses the
 * resolver thread has cached (resolve.h) and tries them in turn.
 */
#ifndef HALYARD_SQLCLIENT_H
#define HALYARD_SQLCLIENT_H

#include <ev.h>

#include "halyard/core/core.h"

struct ssl_ctx_st;

#define SQLCLIENT_MAX_RESULT (4u << 20)

struct sqlresult {
    bool ok;           /* the operation succeeded (OK, or a whole result set) */
    uint16_t err_code; /* ok == false: the server's error number, 0 for a local failure */
    char sqlstate[6];  /* ok == false and err_code != 0 */
    char err_msg[256]; /* ok == false: the server's message, or what failed locally */
    int sys_errno;     /* ok == false, err_code 0: the errno of the failed connect, send or
                        * recv (ECONNREFUSED: nobody listens; ECONNRESET: reset), 0 for
                        * anything else (a timeout, the server closing, a malformed answer) */
    uint64_t affected; /* an OK answer */
    uint16_t status;   /* server status flags of the last OK/EOF */
    uint16_t warnings;
    size_t n_cols;    /* 0 for an OK answer */
    char **col_names; /* n_cols names */
    size_t n_rows;
    char ***rows; /* rows[r][c]: NUL-terminated text, NULL for SQL NULL */
};

/* Index of column `name` (compared case-insensitively), or -1. */
int sqlresult_col(const struct sqlresult *res, const char *name);
/* Cell (row, col): NULL for SQL NULL or when out of range. */
const char *sqlresult_get(const struct sqlresult *res, size_t row, int col);

struct sqlclient;

typedef void (*sqlclient_cb)(struct sqlclient *c, const struct sqlresult *res, void *arg);

/* Where and as whom to connect. The strings are copied. An empty password
 * logs in with none. `name` labels messages ("db1"). */
struct sqlclient_target {
    const char *name;
    const char *address;
    int port;
    const char *user;
    const char *password;
    /* TLS as for the data path (tls.h): TLS_OFF (or TLS_DEFAULT) for none;
     * otherwise `tls_ctx` (the backend's, referenced by the client) and no
     * plaintext login if the server does not offer TLS. */
    int tls; /* enum tls_mode */
    struct ssl_ctx_st *tls_ctx;
    /* Logging in as a client's user (the scatter reads, session_fanout.c):
     * instead of a password, its SHA1(pw) and SHA1(SHA1(pw)) tokens (20
     * bytes each; h2 == NULL: none), a schema, a character set (0: utf8mb4),
     * capabilities added to the client's own (CLIENT_FOUND_ROWS) and
     * MariaDB's extended ones (EXTENDED_METADATA). */
    const uint8_t *h1, *h2;
    const uint32_t *old_hash; /* or mysql_old_password's stored hash (auth.h) */
    const char *db;
    uint8_t charset;
    uint32_t extra_caps;
    uint32_t ext_caps;
    uint32_t session; /* the halyard session it runs statements for (connreg.h); 0 = none */
};

/* A client for `loop` (not connected). NULL when out of memory. */
struct sqlclient *sqlclient_create(struct ev_loop *loop, const struct sqlclient_target *t,
                                   int timeout_ms);
/* Close the connection (cancelling an operation in flight; its callback
 * does not run) and free the client. NULL is fine. Safe inside a callback. */
void sqlclient_destroy(struct sqlclient *c);
/* Close the connection, cancelling an operation in flight; the client can
 * connect again. */
void sqlclient_close(struct sqlclient *c);

hy_status_t sqlclient_connect(struct sqlclient *c, sqlclient_cb cb, void *arg) HY_MUSTCHECK;
hy_status_t sqlclient_query(struct sqlclient *c, const char *sql, sqlclient_cb cb,
                            void *arg) HY_MUSTCHECK;
/* A row of sqlclient_query_rows: `res` holds the column names and the one
 * row (n_rows == 1), valid during the call. It may close or destroy the
 * client (then nothing more is called). */
typedef void (*sqlclient_row_cb)(struct sqlclient *c, const struct sqlresult *res, void *arg);
/* COM_QUERY whose first result's rows go to `row` one by one; then `cb`
 * gets the end: ok with the column names and no rows, or the failure (an
 * ERR after some rows included). The client's timeout bounds the silence
 * between rows, not the whole answer. */
hy_status_t sqlclient_query_rows(struct sqlclient *c, const char *sql, sqlclient_row_cb row,
                                 sqlclient_cb cb, void *arg) HY_MUSTCHECK;
hy_status_t sqlclient_ping(struct sqlclient *c, sqlclient_cb cb, void *arg) HY_MUSTCHECK;
/* Command `cmd` with `len` bytes of `payload`, answered by OK or ERR. */
hy_status_t sqlclient_command(struct sqlclient *c, uint8_t cmd, const void *payload, size_t len,
                              sqlclient_cb cb, void *arg) HY_MUSTCHECK;

/* A packet of a stream: its payload (16 MiB continuations joined, at most
 * SQLCLIENT_MAX_STREAM_PACKET bytes). Return true to go on; false when the
 * callback closed or destroyed the client (touch nothing). */
typedef bool (*sqlclient_packet_cb)(struct sqlclient *c, const uint8_t *payload, size_t len,
                                    void *arg);
#define SQLCLIENT_MAX_STREAM_PACKET (1u << 30)
/* Command `cmd`, then every packet the server sends goes to `pkt` until
 * an ERR (cb: !ok, with the server's error), an EOF (cb: ok) or a failure
 * (cb: !ok). The client's timeout bounds the silence between packets, not
 * the stream. The connection is closed when the stream ends. */
hy_status_t sqlclient_stream(struct sqlclient *c, uint8_t cmd, const void *payload, size_t len,
                             sqlclient_packet_cb pkt, sqlclient_cb cb, void *arg) HY_MUSTCHECK;

/* A packet of an answer read raw (sqlclient_raw): SQLCLIENT_RAW_MORE to
 * read on, SQLCLIENT_RAW_DONE when it was the answer's last (the client
 * is ready again and `cb` runs with ok), SQLCLIENT_RAW_FAIL to close the
 * connection (`cb` runs with !ok). */
enum { SQLCLIENT_RAW_FAIL = -1, SQLCLIENT_RAW_DONE = 0, SQLCLIENT_RAW_MORE = 1 };
typedef int (*sqlclient_raw_cb)(struct sqlclient *c, const uint8_t *payload, size_t len, void *arg);
/* Command `cmd` with `len` bytes of `payload`; every packet of its answer
 * goes to `pkt`, which says where the answer ends. The client's timeout
 * bounds the silence between packets. */
hy_status_t sqlclient_raw(struct sqlclient *c, uint8_t cmd, const void *payload, size_t len,
                          sqlclient_raw_cb pkt, sqlclient_cb cb, void *arg) HY_MUSTCHECK;

/* Logged in and no operation running. */
bool sqlclient_ready(const struct sqlclient *c);
/* The server's id of the connection (its thread), once logged in; 0 before. */
uint32_t sqlclient_thread_id(const struct sqlclient *c);
/* The server version its greeting announced ("" before the greeting). */
const char *sqlclient_server_version(const struct sqlclient *c);
/* Set the timeout of the next operations. */
void sqlclient_set_timeout(struct sqlclient *c, int timeout_ms);

/* ---- the text result parser, exposed for the unit tests ------------------ */

/* Reads the answer to one COM_QUERY, packet by packet (payloads, headers
 * removed), into a struct sqlresult. Client capabilities are fixed:
 * PROTOCOL_41, no DEPRECATE_EOF, MULTI_RESULTS. */
struct sqlresult_parser {
    struct sqlresult res;
    int phase;         /* internal */
    size_t cols_seen;  /* column definitions read */
    size_t skip_cols;  /* columns of a result after the first (dropped) */
    size_t rows_cap;   /* room in res.rows */
    size_t bytes;      /* bytes held by res */
    size_t head_bytes; /* ... by its column names */
    bool first_done;   /* the first result is complete: later ones are dropped */
};

void sqlresult_parser_init(struct sqlresult_parser *p);
/* HY_AGAIN: more packets needed; HY_OK: the answer is complete (res.ok may
 * be false for an ERR answer); HY_ERROR: malformed or too large (err_msg
 * says why). */
hy_status_t sqlresult_parser_feed(struct sqlresult_parser *p, const uint8_t *payload, size_t len);
/* Free the rows res holds so far (the column names stay): a result read
 * row by row (sqlclient_query_rows) is bounded per row, not in all. */
void sqlresult_parser_drop_rows(struct sqlresult_parser *p);
/* Free what the result holds and make it empty. */
void sqlresult_clear(struct sqlresult *res);

#endif /* HALYARD_SQLCLIENT_H */
