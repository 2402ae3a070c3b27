/*
 * mysql_client.h: the client half of the MySQL login, as halyard speaks it
 * to a server (the session's backend connections, pool/server.c, and the
 * SQL client of the monitor and failover, sqlclient.c).
 *
 * Pure encode/decide over mysql_proto.h and auth.h: no I/O, no allocation.
 * The caller reads whole packets and hands each login packet to
 * mysql_client_packet(), which says what to do next and, when something is
 * to be sent, leaves the whole packet (header included) in `out`:
 *
 *   greeting -> [SSLRequest, TLS handshake ->] login -> [AuthSwitch ->] OK
 *
 * mysql_native_password is spoken: with the password itself, or with the
 * SHA1(password) / SHA1(SHA1(password)) pair a proxy derives from its
 * client's login (auth_native_token). So is mysql_old_password, when the
 * server asks for it (the account has it): with the password, or the hash
 * the server stores (old_hash, auth.h). A server asking for TLS that does
 * not offer it is refused: never a silent plaintext login.
 */
#ifndef HALYARD_MYSQL_CLIENT_H
#define HALYARD_MYSQL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/protocol/tls.h"
#include "halyard/protocol/mysql_proto.h"

#define MYSQL_CLIENT_PLUGIN "mysql_native_password"

/* What the caller does next. */
enum mysql_client_step {
    MYSQL_CLIENT_SEND,    /* send `out` (out_len bytes), then read on */
    MYSQL_CLIENT_TLS,     /* send `out` (the SSLRequest), start the TLS handshake,
                           * then call mysql_client_tls_done() */
    MYSQL_CLIENT_READY,   /* logged in: the packet was the OK */
    MYSQL_CLIENT_REFUSED, /* the packet is the server's ERR */
    MYSQL_CLIENT_FAILED,  /* `fail` and `why` say why */
};

enum mysql_client_fail {
    MYSQL_CLIENT_OK = 0,
    MYSQL_CLIENT_BAD_GREETING, /* not a v10 greeting */
    MYSQL_CLIENT_BAD_CAPS,     /* the server lacks capabilities in `need_caps` */
    MYSQL_CLIENT_NO_TLS,       /* tls != off and the server does not offer it */
    MYSQL_CLIENT_BAD_PLUGIN,   /* an AuthSwitchRequest to another plugin (`plugin`) */
    MYSQL_CLIENT_UNEXPECTED,   /* a packet that has no place in the login */
    MYSQL_CLIENT_ENCODE,       /* the login does not fit (cannot happen with sane inputs) */
};

/* Who logs in, and how: the caller builds it for each call from what it
 * holds now (nothing here is kept between calls). */
struct mysql_client_creds {
    const char *user;
    const char *db;       /* NULL = none */
    const uint8_t *attrs; /* raw connection attributes block, NULL = none */
    size_t attrs_len;
    const uint8_t *h1, *h2;   /* SHA1(pw), SHA1(SHA1(pw)); or NULL and: */
    const char *password;     /* the password itself; NULL or "" = none */
    const uint32_t *old_hash; /* mysql_old_password's stored hash (2 words), or NULL */
    uint8_t charset;
    uint32_t max_packet;
    uint32_t want_caps;     /* what the client would like (kept if the server has them) */
    uint32_t need_caps;     /* the server must offer these (PROTOCOL_41 and
                             * SECURE_CONNECTION always) */
    uint32_t want_ext_caps; /* MariaDB's extended ones, likewise */
    uint32_t need_ext_caps;
    enum tls_mode tls;
};

/* Room for a greeting's server version: config's server_version allows 60
 * characters, MariaDB's own are shorter ("5.5.5-10.11.19-MariaDB-log"). */
#define MYSQL_CLIENT_VERSION_MAX 64

/* The login's state, zeroed before the greeting. */
struct mysql_client {
    uint32_t server_caps;                   /* the greeting's */
    uint32_t caps;                          /* in force on the connection */
    uint32_t server_ext_caps;               /* MariaDB's extended ones: the greeting's */
    uint32_t ext_caps;                      /* and in force */
    uint32_t thread_id;                     /* the server's connection id */
    char version[MYSQL_CLIENT_VERSION_MAX]; /* the greeting's server version, NUL-terminated
                                             * (cut at MYSQL_CLIENT_VERSION_MAX - 1) */
    uint8_t scramble[MYSQL_SCRAMBLE_LEN];
    uint8_t seq;  /* sequence id of the last packet seen or sent */
    bool greeted; /* the greeting was read */
    enum mysql_client_fail fail;
    const char *why;    /* on MYSQL_CLIENT_FAILED: a static text */
    const char *plugin; /* on MYSQL_CLIENT_BAD_PLUGIN: the plugin asked for (in the */
    size_t plugin_len;  /* packet: valid while it is), NULL if malformed */
    size_t out_len;     /* bytes to send in the caller's `out` */
};

/* The room `out` must have: the largest packet a login sends. */
#define MYSQL_CLIENT_OUT_MAX (MYSQL_HEADER_SIZE + 2048)

/* One whole login packet from the server: `seq` is its sequence id, `p`
 * and `len` its payload. A packet to send goes to `out` (header included,
 * mc->out_len bytes), which the caller wipes once sent (it may hold a
 * password token). */
enum mysql_client_step mysql_client_packet(struct mysql_client *mc,
                                           const struct mysql_client_creds *cr, uint8_t seq,
                                           const uint8_t *p, size_t len,
                                           uint8_t out[MYSQL_CLIENT_OUT_MAX]);
/* The TLS handshake after MYSQL_CLIENT_TLS is done: the login to send
 * (MYSQL_CLIENT_SEND) or MYSQL_CLIENT_FAILED. */
enum mysql_client_step mysql_client_tls_done(struct mysql_client *mc,
                                             const struct mysql_client_creds *cr,
                                             uint8_t out[MYSQL_CLIENT_OUT_MAX]);

#endif /* HALYARD_MYSQL_CLIENT_H */
