/*
 * mysql_proto.h: pure encode/decode of MySQL/MariaDB wire packets.
 *
 * No I/O and no allocation: decoders take a payload (the bytes after the
 * 4-byte packet header) and fill a struct whose pointers point INTO that
 * payload, so the caller must keep the payload alive while it uses them.
 * Encoders write a payload into a caller-supplied buffer and return its
 * length, or 0 when it does not fit. Framing (the 4-byte header) is separate:
 * mysql_hdr_*().
 *
 * The response tracker (struct mysql_resp) is the piece of the data path that
 * knows where a server's answer to one command ends, looking only at the
 * first bytes of each packet; see mysql_resp_feed().
 */
#ifndef HALYARD_MYSQL_PROTO_H
#define HALYARD_MYSQL_PROTO_H

#include "halyard/core/core.h"

#define MYSQL_HEADER_SIZE  4
#define MYSQL_MAX_PAYLOAD  0xFFFFFFu /* a payload this long continues in the next packet */
#define MYSQL_SCRAMBLE_LEN 20
#define MYSQL_SHA1_LEN     20
#define MYSQL_SHA256_LEN   32

/* Capability flags (Protocol::CapabilityFlags). */
#define CLIENT_LONG_PASSWORD                  0x00000001u /* MariaDB: CLIENT_MYSQL */
#define CLIENT_MYSQL                          CLIENT_LONG_PASSWORD
#define CLIENT_FOUND_ROWS                     0x00000002u
#define CLIENT_LONG_FLAG                      0x00000004u
#define CLIENT_CONNECT_WITH_DB                0x00000008u
#define CLIENT_NO_SCHEMA                      0x00000010u
#define CLIENT_COMPRESS                       0x00000020u
#define CLIENT_ODBC                           0x00000040u
#define CLIENT_LOCAL_FILES                    0x00000080u
#define CLIENT_IGNORE_SPACE                   0x00000100u
#define CLIENT_PROTOCOL_41                    0x00000200u
#define CLIENT_INTERACTIVE                    0x00000400u
#define CLIENT_SSL                            0x00000800u
#define CLIENT_IGNORE_SIGPIPE                 0x00001000u
#define CLIENT_TRANSACTIONS                   0x00002000u
#define CLIENT_RESERVED                       0x00004000u
#define CLIENT_SECURE_CONNECTION              0x00008000u
#define CLIENT_MULTI_STATEMENTS               0x00010000u
#define CLIENT_MULTI_RESULTS                  0x00020000u
#define CLIENT_PS_MULTI_RESULTS               0x00040000u
#define CLIENT_PLUGIN_AUTH                    0x00080000u
#define CLIENT_CONNECT_ATTRS                  0x00100000u
#define CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA 0x00200000u
#define CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS   0x00400000u
#define CLIENT_SESSION_TRACK                  0x00800000u
#define CLIENT_DEPRECATE_EOF                  0x01000000u

/* Server status flags (Protocol::StatusFlags). */
#define SERVER_STATUS_IN_TRANS             0x0001u
#define SERVER_STATUS_AUTOCOMMIT           0x0002u
#define SERVER_MORE_RESULTS_EXISTS         0x0008u
#define SERVER_QUERY_NO_GOOD_INDEX_USED    0x0010u
#define SERVER_QUERY_NO_INDEX_USED         0x0020u
#define SERVER_STATUS_CURSOR_EXISTS        0x0040u
#define SERVER_STATUS_LAST_ROW_SENT        0x0080u
#define SERVER_STATUS_DB_DROPPED           0x0100u
#define SERVER_STATUS_NO_BACKSLASH_ESCAPES 0x0200u
#define SERVER_STATUS_METADATA_CHANGED     0x0400u
#define SERVER_QUERY_WAS_SLOW              0x0800u
#define SERVER_PS_OUT_PARAMS               0x1000u
#define SERVER_STATUS_IN_TRANS_READONLY    0x2000u
#define SERVER_SESSION_STATE_CHANGED       0x4000u

/* Command bytes (first payload byte of a client request). */
enum mysql_com {
    COM_SLEEP = 0x00,
    COM_QUIT = 0x01,
    COM_INIT_DB = 0x02,
    COM_QUERY = 0x03,
    COM_FIELD_LIST = 0x04,
    COM_CREATE_DB = 0x05,
    COM_DROP_DB = 0x06,
    COM_REFRESH = 0x07,
    COM_SHUTDOWN = 0x08,
    COM_STATISTICS = 0x09,
    COM_PROCESS_INFO = 0x0a,
    COM_CONNECT = 0x0b,
    COM_PROCESS_KILL = 0x0c,
    COM_DEBUG = 0x0d,
    COM_PING = 0x0e,
    COM_TIME = 0x0f,
    COM_DELAYED_INSERT = 0x10,
    COM_CHANGE_USER = 0x11,
    COM_BINLOG_DUMP = 0x12,
    COM_TABLE_DUMP = 0x13,
    COM_CONNECT_OUT = 0x14,
    COM_REGISTER_SLAVE = 0x15,
    COM_STMT_PREPARE = 0x16,
    COM_STMT_EXECUTE = 0x17,
    COM_STMT_SEND_LONG_DATA = 0x18,
    COM_STMT_CLOSE = 0x19,
    COM_STMT_RESET = 0x1a,
    COM_SET_OPTION = 0x1b,
    COM_STMT_FETCH = 0x1c,
    COM_DAEMON = 0x1d,
    COM_BINLOG_DUMP_GTID = 0x1e,
    COM_RESET_CONNECTION = 0x1f,
    COM_STMT_BULK_EXECUTE = 0xfa, /* MariaDB, with MARIADB_CLIENT_STMT_BULK_OPERATIONS */
};

/* First payload byte of server packets. */
#define MYSQL_OK             0x00
#define MYSQL_EOF            0xfe
#define MYSQL_ERR            0xff
#define MYSQL_LOCAL_INFILE   0xfb
#define MYSQL_AUTH_SWITCH    0xfe
#define MYSQL_AUTH_MORE_DATA 0x01

/* COM_STMT_EXECUTE flags byte. */
#define CURSOR_TYPE_READ_ONLY 0x01

/* MariaDB: a statement id meaning "the last one this connection prepared". */
#define MYSQL_STMT_ID_LAST 0xffffffffu

/* ---- framing ------------------------------------------------------------ */

static inline uint32_t mysql_hdr_len(const uint8_t *h)
{
    return (uint32_t)h[0] | ((uint32_t)h[1] << 8) | ((uint32_t)h[2] << 16);
}

static inline uint8_t mysql_hdr_seq(const uint8_t *h)
{
    return h[3];
}

static inline void mysql_hdr_write(uint8_t *h, uint32_t len, uint8_t seq)
{
    h[0] = (uint8_t)len;
    h[1] = (uint8_t)(len >> 8);
    h[2] = (uint8_t)(len >> 16);
    h[3] = seq;
}

/* ---- primitive readers ---------------------------------------------------
 * A cursor over a payload. Every read past the end sets `bad` and returns 0
 * / NULL, so a decoder may read a whole structure and check `bad` once.
 */
struct mysql_rd {
    const uint8_t *p;
    const uint8_t *end;
    bool bad;
};

void mysql_rd_init(struct mysql_rd *rd, const uint8_t *payload, size_t len);
size_t mysql_rd_left(const struct mysql_rd *rd);
uint8_t mysql_rd_u8(struct mysql_rd *rd);
uint16_t mysql_rd_u16(struct mysql_rd *rd);
uint32_t mysql_rd_u24(struct mysql_rd *rd);
uint32_t mysql_rd_u32(struct mysql_rd *rd);
uint64_t mysql_rd_u64(struct mysql_rd *rd);
/* Length-encoded integer; a 0xfb (NULL) or 0xff prefix sets `bad`. */
uint64_t mysql_rd_lenenc(struct mysql_rd *rd);
/* `n` raw bytes; returns a pointer into the payload. */
const uint8_t *mysql_rd_bytes(struct mysql_rd *rd, size_t n);
/* NUL-terminated string (the NUL is consumed, not counted in *len). */
const char *mysql_rd_cstr(struct mysql_rd *rd, size_t *len);
/* Length-encoded string. */
const uint8_t *mysql_rd_lenenc_str(struct mysql_rd *rd, size_t *len);

/* ---- primitive writers ---------------------------------------------------
 * Same idea: writes past `end` set `bad` and write nothing.
 */
struct mysql_wr {
    uint8_t *p;
    uint8_t *start;
    uint8_t *end;
    bool bad;
};

void mysql_wr_init(struct mysql_wr *wr, uint8_t *out, size_t cap);
size_t mysql_wr_len(const struct mysql_wr *wr); /* 0 if bad */
void mysql_wr_u8(struct mysql_wr *wr, uint8_t v);
void mysql_wr_u16(struct mysql_wr *wr, uint16_t v);
void mysql_wr_u24(struct mysql_wr *wr, uint32_t v);
void mysql_wr_u32(struct mysql_wr *wr, uint32_t v);
void mysql_wr_lenenc(struct mysql_wr *wr, uint64_t v);
void mysql_wr_bytes(struct mysql_wr *wr, const void *b, size_t n);
void mysql_wr_cstr(struct mysql_wr *wr, const char *s, size_t n); /* n bytes then NUL */
void mysql_wr_lenenc_str(struct mysql_wr *wr, const void *s, size_t n);
void mysql_wr_zero(struct mysql_wr *wr, size_t n);

/* MariaDB's extended capabilities: sent in the greeting's and the login's
 * filler, and only when CLIENT_MYSQL is unset in both. */
#define MARIADB_CLIENT_PROGRESS             0x00000001u
#define MARIADB_CLIENT_COM_MULTI            0x00000002u
#define MARIADB_CLIENT_STMT_BULK_OPERATIONS 0x00000004u
#define MARIADB_CLIENT_EXTENDED_METADATA    0x00000008u
#define MARIADB_CLIENT_CACHE_METADATA       0x00000010u

/* ---- handshake v10 (server greeting) ------------------------------------ */
struct mysql_handshake {
    uint8_t protocol;           /* 10 */
    const char *server_version; /* NUL-terminated on decode (points into payload) */
    size_t server_version_len;
    uint32_t conn_id;
    uint8_t scramble[MYSQL_SCRAMBLE_LEN]; /* 8 + 12 bytes of auth-plugin-data */
    uint32_t caps;
    uint32_t ext_caps; /* MariaDB's; 0 (and not written) when caps has CLIENT_MYSQL */
    uint8_t charset;
    uint16_t status;
    const char *plugin; /* auth plugin name, may be NULL on decode */
    size_t plugin_len;
};

/* Encode a greeting. Always writes 20 scramble bytes followed by a NUL; the
 * plugin name only when caps has CLIENT_PLUGIN_AUTH (then the
 * auth-plugin-data length is 21, else 0). */
size_t mysql_handshake_encode(const struct mysql_handshake *hs, uint8_t *out, size_t cap);
/* The greeting halyard sends as a server, the one builder for every port
 * that greets a client: protocol 10, `server_version`, the connection id,
 * the 20-byte scramble, `caps` and MariaDB's `ext_caps`, utf8mb4_general_ci,
 * autocommit on, and the auth plugin offered. The payload (no header) goes
 * to out; returns its length, 0 if cap is too small. */
size_t mysql_greeting_encode(uint8_t *out, size_t cap, const char *server_version, uint32_t conn_id,
                             const uint8_t scramble[MYSQL_SCRAMBLE_LEN], uint32_t caps,
                             uint32_t ext_caps, const char *plugin);
/* Decode a backend's greeting; HY_ERROR on an ERR packet, protocol != 10,
 * a scramble shorter than 20 bytes, or truncation. */
hy_status_t mysql_handshake_decode(const uint8_t *payload, size_t len,
                                   struct mysql_handshake *hs) HY_MUSTCHECK;

/* ---- handshake response (client login) ---------------------------------- */
struct mysql_login {
    uint32_t caps;
    uint32_t ext_caps; /* MariaDB's; 0 (and not written) when caps has CLIENT_MYSQL */
    uint32_t max_packet;
    uint8_t charset;
    bool ssl_request; /* the 32-byte SSLRequest: only caps/max_packet/charset are set */
    const char *user;
    size_t user_len;
    const uint8_t *auth;
    size_t auth_len;
    const char *db; /* NULL unless CLIENT_CONNECT_WITH_DB and present */
    size_t db_len;
    const char *plugin; /* NULL unless CLIENT_PLUGIN_AUTH and present */
    size_t plugin_len;
    const uint8_t *attrs; /* the raw key/value block, without its lenenc length */
    size_t attrs_len;
};

/* Decode a HandshakeResponse41 (CLIENT_PROTOCOL_41 required: an older client
 * is HY_ERROR). The auth data is read as lenenc when
 * CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA is set, else as 1-byte length when
 * CLIENT_SECURE_CONNECTION is set, else NUL-terminated. Fields absent at the
 * end of the packet are left NULL/0 (clients differ), but a field that is cut
 * short is HY_ERROR. */
hy_status_t mysql_login_decode(const uint8_t *payload, size_t len,
                               struct mysql_login *lg) HY_MUSTCHECK;
/* Encode a HandshakeResponse41 for logging into a backend. Writes the auth
 * data as lenenc if caps has CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA, else with
 * a 1-byte length (0 if auth_len > 255); db only with CLIENT_CONNECT_WITH_DB;
 * plugin only with CLIENT_PLUGIN_AUTH; attrs (raw block) only with
 * CLIENT_CONNECT_ATTRS. With ssl_request set, writes just the 32-byte
 * SSLRequest (caps must then include CLIENT_SSL). */
size_t mysql_login_encode(const struct mysql_login *lg, uint8_t *out, size_t cap);

/* ---- COM_CHANGE_USER ------------------------------------------------------ */
struct mysql_change_user {
    const char *user;
    size_t user_len;
    const uint8_t *auth;
    size_t auth_len;
    const char *db;
    size_t db_len;
    uint16_t charset; /* 0 if absent */
    const char *plugin;
    size_t plugin_len;
    const uint8_t *attrs;
    size_t attrs_len;
};

/* Decode a COM_CHANGE_USER payload (first byte 0x11 included), given the
 * session's negotiated caps. */
hy_status_t mysql_change_user_decode(const uint8_t *payload, size_t len, uint32_t caps,
                                     struct mysql_change_user *cu) HY_MUSTCHECK;

/* ---- auth switch ---------------------------------------------------------- */
/* 0xfe, plugin name NUL, data written exactly as given: for native password
 * pass the 20 scramble bytes AND a trailing NUL (data_len 21); MySQL's client
 * rejects a switch whose data is not 21 bytes. */
size_t mysql_auth_switch_encode(const char *plugin, const uint8_t *data, size_t data_len,
                                uint8_t *out, size_t cap);
/* Decode an AuthSwitchRequest; *data points to the plugin data with any
 * trailing NUL removed. A bare 0xfe (the pre-4.1 "old password" switch) is
 * HY_ERROR. */
hy_status_t mysql_auth_switch_decode(const uint8_t *payload, size_t len, const char **plugin,
                                     size_t *plugin_len, const uint8_t **data,
                                     size_t *data_len) HY_MUSTCHECK;
/* An AuthSwitchRequest that must ask for mysql_native_password with a
 * whole scramble (halyard's logins to backends and its SQL client support
 * nothing else): HY_OK with *scramble at its MYSQL_SCRAMBLE_LEN bytes.
 * HY_ERROR otherwise; *plugin (NULL when the packet is malformed) and
 * *plugin_len then say which plugin was asked for. */
hy_status_t mysql_auth_switch_native(const uint8_t *payload, size_t len, const char **plugin,
                                     size_t *plugin_len, const uint8_t **scramble) HY_MUSTCHECK;

/* ---- OK / ERR / EOF -------------------------------------------------------- */
struct mysql_ok {
    uint64_t affected_rows;
    uint64_t last_insert_id;
    uint16_t status;
    uint16_t warnings;
    const uint8_t *info; /* human-readable info, may be NULL */
    size_t info_len;
    const uint8_t *session_state; /* raw session-state-change block, may be NULL */
    size_t session_state_len;
};

/* Decode an OK packet (header 0x00, or 0xfe when it ends a result set under
 * CLIENT_DEPRECATE_EOF). Follows caps for the status/warnings and the
 * CLIENT_SESSION_TRACK layout. */
hy_status_t mysql_ok_decode(const uint8_t *payload, size_t len, uint32_t caps,
                            struct mysql_ok *ok) HY_MUSTCHECK;
/* An OK (header 0x00, or 0xfe ending a result under CLIENT_DEPRECATE_EOF)
 * from a backend connection that negotiated CLIENT_SESSION_TRACK, `len`
 * bytes at `p`, made in place what the server sends a client that did
 * (`client_tracks`) or did not negotiate it: without the entries whose
 * type t has bit 1 << t set in `drop` (enum mysql_track_type), and when no
 * entry is left, without the block, SERVER_SESSION_STATE_CHANGED, and
 * the empty info string a server leaves out then. Returns the new length
 * (the payload starts at `p`); `len` when the packet has no block or is
 * not laid out as one with a block (passed as it is). With
 * MYSQL_TRACK_DROP_LAST_GTID in `drop`, the system-variable entry of
 * last_gtid goes too (the others stay). */
size_t mysql_ok_track_filter(uint8_t *p, size_t len, bool client_tracks, uint32_t drop);
#define MYSQL_TRACK_DROP_LAST_GTID (1u << 31)
/* Whether a session_track_system_variables value vars[0..n) has the
 * server report last_gtid: it names it, or is '*'. */
bool mysql_track_vars_last_gtid(const char *vars, size_t n);
/* Encode an OK packet with header 0x00 (no info, no session state). */
size_t mysql_ok_encode(uint8_t *out, size_t cap, uint64_t affected, uint64_t insert_id,
                       uint16_t status, uint16_t warnings);

/* ---- column definitions ---------------------------------------------------- */
/* Column types (the `type` byte of a column definition). */
enum mysql_type {
    MYSQL_TYPE_DECIMAL = 0,
    MYSQL_TYPE_TINY = 1,
    MYSQL_TYPE_SHORT = 2,
    MYSQL_TYPE_LONG = 3,
    MYSQL_TYPE_FLOAT = 4,
    MYSQL_TYPE_DOUBLE = 5,
    MYSQL_TYPE_NULL = 6,
    MYSQL_TYPE_TIMESTAMP = 7,
    MYSQL_TYPE_LONGLONG = 8,
    MYSQL_TYPE_INT24 = 9,
    MYSQL_TYPE_DATE = 10,
    MYSQL_TYPE_TIME = 11,
    MYSQL_TYPE_DATETIME = 12,
    MYSQL_TYPE_YEAR = 13,
    MYSQL_TYPE_NEWDATE = 14,
    MYSQL_TYPE_VARCHAR = 15,
    MYSQL_TYPE_BIT = 16,
    /* in a binary log's TABLE_MAP only: the fractional-second layouts and
     * the compressed columns */
    MYSQL_TYPE_TIMESTAMP2 = 17,
    MYSQL_TYPE_DATETIME2 = 18,
    MYSQL_TYPE_TIME2 = 19,
    MYSQL_TYPE_VARCHAR_COMPRESSED = 140,
    MYSQL_TYPE_BLOB_COMPRESSED = 141,
    MYSQL_TYPE_JSON = 245,
    MYSQL_TYPE_NEWDECIMAL = 246,
    MYSQL_TYPE_ENUM = 247,
    MYSQL_TYPE_SET = 248,
    MYSQL_TYPE_TINY_BLOB = 249,
    MYSQL_TYPE_MEDIUM_BLOB = 250,
    MYSQL_TYPE_LONG_BLOB = 251,
    MYSQL_TYPE_BLOB = 252,
    MYSQL_TYPE_VAR_STRING = 253,
    MYSQL_TYPE_STRING = 254,
    MYSQL_TYPE_GEOMETRY = 255,
};

/* The BLOB and TEXT types (a parameter of one is sent as bytes). */
static inline bool mysql_type_is_blob(unsigned t)
{
    return t == MYSQL_TYPE_TINY_BLOB || t == MYSQL_TYPE_MEDIUM_BLOB || t == MYSQL_TYPE_LONG_BLOB ||
           t == MYSQL_TYPE_BLOB;
}

/* The string types: CHAR and VARCHAR, the BLOBs and TEXTs, ENUM and SET
 * (a value is bytes in a character set or binary). */
static inline bool mysql_type_is_string(unsigned t)
{
    switch (t) {
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
        return true;
    default:
        return mysql_type_is_blob(t);
    }
}

/* Whether a value of type t is a length-encoded string in the binary
 * protocol: the string types, the DECIMALs, BIT, JSON and GEOMETRY. */
static inline bool mysql_type_is_lenenc(unsigned t)
{
    return mysql_type_is_string(t) || t == MYSQL_TYPE_DECIMAL || t == MYSQL_TYPE_NEWDECIMAL ||
           t == MYSQL_TYPE_BIT || t == MYSQL_TYPE_JSON || t == MYSQL_TYPE_GEOMETRY;
}

/* Column definition flags. */
#define MYSQL_UNSIGNED_FLAG 0x0020u
#define MYSQL_ENUM_FLAG     0x0100u
#define MYSQL_SET_FLAG      0x0800u
/* The character set number of binary strings (the `binary` collation). */
#define MYSQL_CHARSET_BINARY 63

/* A column definition (protocol 4.1): what a result's values are. */
struct mysql_coldef {
    const uint8_t *name; /* the column's name as the client sees it */
    size_t name_len;
    uint16_t charset; /* collation id of the values as sent */
    uint32_t length;
    uint8_t type; /* enum mysql_type */
    uint16_t flags;
    uint8_t decimals;
};

/* Decode a column definition packet; HY_ERROR when it is not one. */
/* ext_meta: the connection has MARIADB_CLIENT_EXTENDED_METADATA, so a
 * lenenc block of type/format names follows org_name. */
hy_status_t mysql_coldef_decode(const uint8_t *payload, size_t len, bool ext_meta,
                                struct mysql_coldef *cd) HY_MUSTCHECK;

/* ---- session-state-change block ----------------------------------------
 * The block an OK carries when SERVER_SESSION_STATE_CHANGED is set: a series
 * of entries, each a type byte and a length-encoded body. The iterator only
 * reads (pointers into the block); unknown types are skipped by their length,
 * so a newer server's entries never derail it.
 */
enum mysql_track_type {
    MYSQL_TRACK_SYSTEM_VARIABLES = 0,    /* a = name, b = value */
    MYSQL_TRACK_SCHEMA = 1,              /* a = the new default schema */
    MYSQL_TRACK_STATE_CHANGE = 2,        /* a = "1" */
    MYSQL_TRACK_GTIDS = 3,               /* a = GTID text; spec = encoding */
    MYSQL_TRACK_TRX_CHARACTERISTICS = 4, /* a = SQL that restores them */
    MYSQL_TRACK_TRX_STATE = 5,           /* a = 8-character state string */
};

struct mysql_track {
    uint8_t type;     /* enum mysql_track_type, or a type this code does not know */
    uint8_t spec;     /* MYSQL_TRACK_GTIDS: the encoding specification byte */
    const uint8_t *a; /* see enum mysql_track_type; the whole body when unknown */
    size_t a_len;
    const uint8_t *b;
    size_t b_len;
};

struct mysql_track_it {
    struct mysql_rd rd;
};

void mysql_track_init(struct mysql_track_it *it, const uint8_t *block, size_t len);
/* The next entry: HY_OK with *t filled, HY_AGAIN at the end of the block,
 * HY_ERROR when the block is malformed (a length past the block's end, a
 * known entry whose body does not hold what its type says). */
hy_status_t mysql_track_next(struct mysql_track_it *it, struct mysql_track *t) HY_MUSTCHECK;

struct mysql_err {
    uint16_t code;
    char sqlstate[6]; /* NUL-terminated; "HY000" when the packet has no marker */
    const char *msg;
    size_t msg_len;
};

hy_status_t mysql_err_decode(const uint8_t *payload, size_t len,
                             struct mysql_err *err) HY_MUSTCHECK;
/* Encode an ERR packet with a '#' SQLSTATE marker (CLIENT_PROTOCOL_41). */
size_t mysql_err_encode(uint8_t *out, size_t cap, uint16_t code, const char *sqlstate,
                        const char *msg, size_t msg_len);

/* EOF packet: 0xfe, warnings(2), status(2); payload length < 9. */
hy_status_t mysql_eof_decode(const uint8_t *payload, size_t len, uint16_t *warnings,
                             uint16_t *status) HY_MUSTCHECK;

/* True when a packet of payload length `len` starting with `first` ends a
 * result set (an EOF, or an OK with header 0xfe under DEPRECATE_EOF): 0xfe
 * and len < MYSQL_MAX_PAYLOAD (a row whose first column is >= 16 MiB also
 * starts with 0xfe but then the packet is full length). With
 * deprecate_eof == false the classic rule len < 9 applies. */
bool mysql_is_eof(uint8_t first, uint32_t len, bool deprecate_eof);

/* ---- prepared statements ----------------------------------------------
 * COM_STMT_PREPARE's OK and every COM_STMT_* request but PREPARE carry the
 * statement id at payload offset 1; a proxy that hands out its own ids
 * rewrites it there, in place.
 */
static inline uint32_t mysql_stmt_id_get(const uint8_t *payload)
{
    return (uint32_t)payload[1] | (uint32_t)payload[2] << 8 | (uint32_t)payload[3] << 16 |
           (uint32_t)payload[4] << 24;
}

static inline void mysql_stmt_id_set(uint8_t *payload, uint32_t id)
{
    payload[1] = (uint8_t)id;
    payload[2] = (uint8_t)(id >> 8);
    payload[3] = (uint8_t)(id >> 16);
    payload[4] = (uint8_t)(id >> 24);
}

struct mysql_prepare_ok {
    uint32_t stmt_id;
    uint16_t n_cols;
    uint16_t n_params;
    uint16_t warnings;
};

/* COM_STMT_PREPARE's OK: 0x00, stmt_id u32, columns u16, params u16, a
 * filler byte, warnings u16 (absent in some old servers: 0). */
hy_status_t mysql_prepare_ok_decode(const uint8_t *payload, size_t len,
                                    struct mysql_prepare_ok *ok) HY_MUSTCHECK;

/* The head of a COM_STMT_EXECUTE: everything before the parameter values.
 *   0x17, stmt_id u32, flags u8, iterations u32,
 *   and when the statement has parameters: NULL bitmap ((n + 7) / 8 bytes),
 *   new_params_bound_flag u8, [types: 2 bytes per parameter if the flag is 1]
 */
struct mysql_stmt_exec {
    uint32_t stmt_id;
    uint8_t flags;
    uint32_t iterations;
    const uint8_t *null_bitmap; /* NULL when the statement has no parameters */
    size_t null_len;
    bool new_params_bound;
    const uint8_t *types; /* 2 * n_params bytes, or NULL */
    size_t bound_off;     /* offset of new_params_bound_flag (0 without parameters) */
    size_t head_len;      /* offset of the first parameter value */
};

/* Bytes of payload the head of an EXECUTE of a statement with `n_params`
 * parameters takes at most (types included). */
static inline size_t mysql_stmt_exec_head_max(uint16_t n_params)
{
    return n_params == 0 ? 10 : 10 + ((size_t)n_params + 7) / 8 + 1 + 2 * (size_t)n_params;
}

/* Decode the head of a COM_STMT_EXECUTE payload (command byte included)
 * for a statement of `n_params` parameters. `len` is how much of the
 * payload is at hand (the values may be missing). HY_ERROR when the head is
 * not all there or the flag byte is neither 0 nor 1. */
hy_status_t mysql_stmt_exec_decode(const uint8_t *payload, size_t len, uint16_t n_params,
                                   struct mysql_stmt_exec *ex) HY_MUSTCHECK;

/* Write the head of `ex` (decoded from `payload`, with new_params_bound 0)
 * again with the flag set and the 2 * n_params bytes of `types` after it,
 * and `stmt_id` in place of the client's. Returns the bytes written into
 * `out` (the new head: ex->head_len + 2 * n_params), 0 if it does not fit
 * (`out` then holds garbage). */
/* One parameter value of an EXECUTE. */
enum mysql_param_kind { MP_NULL, MP_INT, MP_UINT, MP_STR, MP_OTHER };
struct mysql_param {
    enum mysql_param_kind kind;
    int64_t i;        /* MP_INT: a signed integer type */
    uint64_t u;       /* MP_UINT: an unsigned one (flag 0x80) */
    const uint8_t *s; /* MP_STR: a string or decimal's bytes */
    size_t len;
    uint8_t type; /* its MYSQL_TYPE_* */
};

/* Parameter `idx` of the EXECUTE `payload` (`len` bytes at hand, its head
 * decoded in ex), the 2 * n_params type bytes in force being `types`
 * (ex->types, or those bound last). HY_ERROR when the values before it do
 * not parse, are not all there, or a type is unknown. */
hy_status_t mysql_stmt_exec_param(const uint8_t *payload, size_t len,
                                  const struct mysql_stmt_exec *ex, uint16_t n_params,
                                  const uint8_t *types, uint16_t idx,
                                  struct mysql_param *out) HY_MUSTCHECK;

size_t mysql_stmt_exec_bind_types(const uint8_t *payload, const struct mysql_stmt_exec *ex,
                                  uint16_t n_params, const uint8_t *types, uint32_t stmt_id,
                                  uint8_t *out, size_t cap);

/* COM_STMT_BULK_EXECUTE (MariaDB, with MARIADB_CLIENT_STMT_BULK_OPERATIONS):
 *   0xfa, stmt_id u32, flags u16,
 *   with STMT_BULK_FLAG_SEND_TYPES: 2 bytes per parameter (type, and 0x80
 *   when unsigned: the same bytes as an EXECUTE's types),
 *   then the rows of parameter values, each value after an indicator byte.
 * Without the types the server uses those of the statement's last
 * execution on that connection. */
#define STMT_BULK_FLAG_SEND_TYPES 0x80u
#define MYSQL_STMT_BULK_HEAD      7 /* command, id, flags */

struct mysql_stmt_bulk {
    uint32_t stmt_id;
    uint16_t flags;
    const uint8_t *types; /* 2 * n_params bytes, or NULL */
    size_t head_len;      /* offset of the first row */
};

/* Decode the head of a COM_STMT_BULK_EXECUTE payload (command byte
 * included) for a statement of `n_params` parameters; `len` bytes are at
 * hand. HY_ERROR when the head is not all there. */
hy_status_t mysql_stmt_bulk_decode(const uint8_t *payload, size_t len, uint16_t n_params,
                                   struct mysql_stmt_bulk *bk) HY_MUSTCHECK;

/* Write the head of a bulk execution decoded without types again with
 * STMT_BULK_FLAG_SEND_TYPES set, the 2 * n_params bytes of `types` after
 * it, and `stmt_id` in place of the client's. Returns the bytes written
 * (MYSQL_STMT_BULK_HEAD + 2 * n_params), 0 if it does not fit or `bk`
 * already has types. */
size_t mysql_stmt_bulk_bind_types(const uint8_t *payload, const struct mysql_stmt_bulk *bk,
                                  uint16_t n_params, const uint8_t *types, uint32_t stmt_id,
                                  uint8_t *out, size_t cap);

/* ---- response tracking ---------------------------------------------------
 * Feed the tracker the start of every logical packet the server sends in
 * answer to one command, in order; it says when the answer is complete.
 *
 * "Logical packet": a payload of exactly MYSQL_MAX_PAYLOAD bytes continues in
 * the next packet; the caller feeds only the first packet of such a chain and
 * skips its continuations.
 *
 * `p` holds the first min(len, MYSQL_RESP_PEEK) payload bytes (more is fine).
 * The tracker must never need more than that.
 *
 * Framing per command (caps decides EOF vs OK-0xfe terminators):
 *  - COM_QUERY, COM_STMT_EXECUTE, COM_STMT_BULK_EXECUTE: a result = OK | ERR
 *    | LOCAL_INFILE request (COM_QUERY only)
 *    | column count N, N column definitions, [EOF unless DEPRECATE_EOF],
 *    rows, terminator (EOF, or OK-0xfe under DEPRECATE_EOF) | ERR.
 *    After column definitions: if an EOF/terminator comes whose status has
 *    SERVER_STATUS_CURSOR_EXISTS and not SERVER_MORE_RESULTS_EXISTS, and
 *    the command is a COM_STMT_EXECUTE that asked for a cursor
 *    (CURSOR_TYPE_READ_ONLY), the result ends there: rows come by
 *    COM_STMT_FETCH. Anywhere else the flag only says that a stored
 *    routine has a cursor of its own open, and the rows follow. Under
 *    DEPRECATE_EOF a terminator straight after the column definitions is
 *    an empty result (or the opened cursor). An OK or terminator with
 *    SERVER_MORE_RESULTS_EXISTS starts the next result; ERR always ends.
 *    LOCAL_INFILE (0xfb): return MYSQL_RESP_INFILE; the client then sends
 *    file packets ending with an empty one, and the caller calls
 *    mysql_resp_infile_done() before feeding the server's OK/ERR.
 *  - COM_STMT_FETCH: rows, then terminator | ERR.
 *  - COM_STMT_PREPARE: ERR | OK(stmt_id u32, num_columns u16, num_params
 *    u16, filler, warnings u16) then num_params definitions [+EOF if
 *    num_params > 0 and not DEPRECATE_EOF] then num_columns definitions [+EOF
 *    if num_columns > 0 and not DEPRECATE_EOF].
 *  - COM_FIELD_LIST: column definitions then terminator | ERR.
 *  - COM_STATISTICS: one packet (a plain string).
 *  - COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA, COM_QUIT: no answer at all
 *    (mysql_resp_expects_reply() says so; never feed them).
 *  - MariaDB's progress reports (MARIADB_CLIENT_PROGRESS: 0xff, code
 *    0xffff, then stage, max_stage, progress u24 and a text) may come
 *    before any packet of an answer: each is MORE, and changes nothing.
 *  - everything else (PING, INIT_DB, SET_OPTION, RESET_CONNECTION,
 *    STMT_RESET, PROCESS_KILL, REFRESH, DEBUG...): one packet, OK/EOF/ERR.
 *
 * Strict where it is cheap, so that a tracker that lost its place says BAD
 * at once instead of waiting for packets that never come: a column or
 * parameter definition must start with its catalog "def", and a binary row
 * (COM_STMT_EXECUTE, COM_STMT_FETCH) with 0x00.
 */
#define MYSQL_RESP_PEEK 32

#define MYSQL_PROGRESS_CODE 0xffffu /* the error code of a progress report */

enum mysql_resp_rc {
    MYSQL_RESP_MORE = 0, /* this packet is part of the answer; more follow */
    MYSQL_RESP_DONE,     /* this packet ends the answer */
    MYSQL_RESP_INFILE,   /* server asked for a local file (see above) */
    MYSQL_RESP_BAD,      /* the server broke the protocol */
};

struct mysql_resp {
    uint32_t caps;
    uint8_t cmd;
    uint8_t state;        /* private to mysql_proto.c */
    uint16_t status;      /* status flags of the last OK/EOF seen */
    bool status_seen;     /* an OK or EOF was seen: `status` is meaningful */
    uint8_t status_at;    /* the packet fed last carried status flags (an OK or
                           * EOF): their offset in its payload; else 0 */
    bool db_dropped;      /* an OK or EOF of the answer had SERVER_STATUS_DB_DROPPED */
    uint16_t err_code;    /* nonzero when the answer ended in ERR */
    uint16_t warnings;    /* the largest warning count an OK/EOF of the answer gave */
    uint64_t left;        /* private: definitions left in this phase */
    uint16_t params_left; /* private: COM_STMT_PREPARE parameters */
    uint64_t rows;        /* rows seen (all results) */
    uint64_t affected;    /* affected rows of the last OK */
    bool insert_id_seen;  /* an OK gave an insert id (LAST_INSERT_ID() may have changed) */
    bool rs_last;         /* the answer's last result was a result set ... */
    uint64_t rs_rows;     /* ... of this many rows */
    uint32_t stmt_id;     /* COM_STMT_PREPARE: the statement id in the OK */
    bool cursor_asked;    /* private: COM_STMT_EXECUTE with CURSOR_TYPE_READ_ONLY */
    uint32_t results;     /* result sets begun (column counts seen) */
    uint16_t prep_cols;   /* COM_STMT_PREPARE: the column count in the OK */
};

bool mysql_resp_expects_reply(uint8_t cmd);
/* `exec_flags` is the COM_STMT_EXECUTE flags byte (else 0). */
void mysql_resp_start(struct mysql_resp *r, uint8_t cmd, uint32_t caps, uint8_t exec_flags);
enum mysql_resp_rc mysql_resp_feed(struct mysql_resp *r, const uint8_t *p, uint32_t len);
void mysql_resp_infile_done(struct mysql_resp *r);
/* Whether clients take an ERR in place of the next packet: at the start of
 * an answer or of a result, or among rows (a killed query), but not among
 * column or parameter definitions, which client libraries read without
 * looking for one (pymysql does not). */
bool mysql_resp_err_fits(const struct mysql_resp *r);
/* Whether a packet with header 0x00 fed now is an OK (one that may carry a
 * session-state block), not a row or a prepared statement's answer. */
bool mysql_resp_ok_fits(const struct mysql_resp *r);
/* Whether the packet `p` (`len` bytes), fed now, ends a result set's rows
 * (its EOF, or the 0xfe OK under CLIENT_DEPRECATE_EOF). */
bool mysql_resp_rows_end_next(const struct mysql_resp *r, const uint8_t *p, uint32_t len);
/* Whether the packet `p` (`len` bytes), fed now, is laid out as an OK (one
 * that may carry a session-state block): an OK, or under
 * CLIENT_DEPRECATE_EOF the 0xfe packet that ends a result. */
bool mysql_resp_ok_next(const struct mysql_resp *r, const uint8_t *p, uint32_t len);
/* Whether the packet `p` (`len` bytes), fed now, would start a result set
 * (its column count). */
bool mysql_resp_colcount_next(const struct mysql_resp *r, const uint8_t *p, uint32_t len);
/* Whether the packet `p` (`len` bytes), fed now, is a row of a result set. */
bool mysql_resp_row_next(const struct mysql_resp *r, const uint8_t *p, uint32_t len);
/* Whether the packet fed next is the first column definition of a
 * COM_STMT_PREPARE's answer (r->prep_cols of them). */
bool mysql_resp_prep_cols_first(const struct mysql_resp *r);

/* Human name of a command byte ("COM_QUERY"), "COM_UNKNOWN" otherwise. */
const char *mysql_com_name(uint8_t cmd);

#endif /* HALYARD_MYSQL_PROTO_H */
