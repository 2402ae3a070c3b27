/*
 * mysql_client.c: see mysql_client.h.
 */
#include <string.h>

#include "halyard/protocol/auth.h"
#include "halyard/protocol/mysql_client.h"

static enum mysql_client_step fail(struct mysql_client *mc, enum mysql_client_fail f,
                                   const char *why)
{
    mc->fail = f;
    mc->why = why;
    mc->out_len = 0;
    return MYSQL_CLIENT_FAILED;
}

/* fail() for the greeting's checks. */
static bool refuse(struct mysql_client *mc, enum mysql_client_fail f, const char *why)
{
    fail(mc, f, why);
    return false;
}

/* The next packet out: `n` payload bytes already at out + header. */
static enum mysql_client_step send_out(struct mysql_client *mc, uint8_t *out, size_t n,
                                       enum mysql_client_step step)
{
    mc->seq++;
    mysql_hdr_write(out, (uint32_t)n, mc->seq);
    mc->out_len = MYSQL_HEADER_SIZE + n;
    return step;
}

/* The 20-byte answer to `scramble`, or false with no password. */
static bool token(const struct mysql_client_creds *cr, const uint8_t *scramble,
                  uint8_t out[MYSQL_SCRAMBLE_LEN])
{
    if (cr->h1 != NULL && cr->h2 != NULL) {
        auth_native_token(scramble, cr->h1, cr->h2, out);
        return true;
    }
    if (cr->password != NULL && cr->password[0] != '\0') {
        auth_native_scramble(scramble, cr->password, strlen(cr->password), out);
        return true;
    }
    return false;
}

/* Read the greeting: false (and mc->fail) when the server cannot be used. */
static bool greeting(struct mysql_client *mc, const struct mysql_client_creds *cr, const uint8_t *p,
                     size_t len)
{
    struct mysql_handshake hs;
    if (mysql_handshake_decode(p, len, &hs) != HY_OK)
        return refuse(mc, MYSQL_CLIENT_BAD_GREETING, "bad greeting");
    mc->greeted = true;
    mc->server_caps = hs.caps;
    mc->server_ext_caps = hs.ext_caps;
    uint32_t need = cr->need_caps | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION;
    if ((hs.caps & need) != need || (hs.ext_caps & cr->need_ext_caps) != cr->need_ext_caps)
        return refuse(mc, MYSQL_CLIENT_BAD_CAPS, "bad greeting or capabilities");
    /* Never a silent plaintext login when TLS was asked for. */
    if (cr->tls != TLS_OFF && !(hs.caps & CLIENT_SSL))
        return refuse(mc, MYSQL_CLIENT_NO_TLS,
                      "server does not offer TLS; not logging in in plaintext");
    memcpy(mc->scramble, hs.scramble, sizeof(mc->scramble));
    mc->thread_id = hs.conn_id;
    size_t vn = hs.server_version_len < sizeof(mc->version) - 1 ? hs.server_version_len
                                                                : sizeof(mc->version) - 1;
    memcpy(mc->version, hs.server_version, vn);
    mc->version[vn] = '\0';
    /* What both sides have, minus what this login decides for itself. */
    uint32_t caps = (cr->want_caps & hs.caps) | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION;
    caps &=
        ~(uint32_t)(CLIENT_SSL | CLIENT_COMPRESS | CLIENT_CONNECT_WITH_DB | CLIENT_CONNECT_ATTRS |
                    CLIENT_PLUGIN_AUTH | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA);
    /* MariaDB's extended capabilities, or CLIENT_MYSQL when there are none. */
    mc->ext_caps = cr->want_ext_caps & hs.ext_caps;
    if (mc->ext_caps == 0)
        caps |= CLIENT_MYSQL;
    if (hs.caps & CLIENT_PLUGIN_AUTH)
        caps |= CLIENT_PLUGIN_AUTH;
    if (cr->db != NULL)
        caps |= CLIENT_CONNECT_WITH_DB;
    if (cr->attrs != NULL && (hs.caps & CLIENT_CONNECT_ATTRS))
        caps |= CLIENT_CONNECT_ATTRS;
    if (cr->tls != TLS_OFF)
        caps |= CLIENT_SSL;
    mc->caps = caps;
    return true;
}

static enum mysql_client_step ssl_request(struct mysql_client *mc,
                                          const struct mysql_client_creds *cr, uint8_t *out)
{
    struct mysql_login lg = {0};
    lg.caps = mc->caps;
    lg.ext_caps = mc->ext_caps;
    lg.max_packet = cr->max_packet;
    lg.charset = cr->charset;
    lg.ssl_request = true;
    size_t n =
        mysql_login_encode(&lg, out + MYSQL_HEADER_SIZE, MYSQL_CLIENT_OUT_MAX - MYSQL_HEADER_SIZE);
    if (n == 0)
        return fail(mc, MYSQL_CLIENT_ENCODE, "cannot encode the SSLRequest");
    return send_out(mc, out, n, MYSQL_CLIENT_TLS);
}

static enum mysql_client_step login(struct mysql_client *mc, const struct mysql_client_creds *cr,
                                    uint8_t *out)
{
    uint8_t tok[MYSQL_SCRAMBLE_LEN];
    struct mysql_login lg = {0};
    lg.caps = mc->caps;
    lg.ext_caps = mc->ext_caps;
    lg.max_packet = cr->max_packet;
    lg.charset = cr->charset;
    lg.user = cr->user;
    lg.user_len = strlen(cr->user);
    if (token(cr, mc->scramble, tok)) {
        lg.auth = tok;
        lg.auth_len = sizeof(tok);
    }
    if (cr->db != NULL) {
        lg.db = cr->db;
        lg.db_len = strlen(cr->db);
    }
    lg.plugin = MYSQL_CLIENT_PLUGIN;
    lg.plugin_len = strlen(MYSQL_CLIENT_PLUGIN);
    lg.attrs = cr->attrs;
    lg.attrs_len = cr->attrs_len;
    uint8_t *pl = out + MYSQL_HEADER_SIZE;
    size_t cap = MYSQL_CLIENT_OUT_MAX - MYSQL_HEADER_SIZE;
    size_t n = mysql_login_encode(&lg, pl, cap);
    if (n == 0) {
        lg.attrs = NULL; /* attributes too large to pass on: log in without them */
        lg.attrs_len = 0;
        lg.caps &= ~(uint32_t)CLIENT_CONNECT_ATTRS;
        mc->caps = lg.caps;
        n = mysql_login_encode(&lg, pl, cap);
    }
    explicit_bzero(tok, sizeof(tok));
    if (n == 0)
        return fail(mc, MYSQL_CLIENT_ENCODE, "cannot send the login");
    return send_out(mc, out, n, MYSQL_CLIENT_SEND);
}

/* The answer to a request for mysql_old_password on `scramble`: 8 bytes
 * and a NUL, as the old clients send it; nothing for no password. */
static enum mysql_client_step old_answer(struct mysql_client *mc,
                                         const struct mysql_client_creds *cr,
                                         const uint8_t *scramble, uint8_t *out)
{
    uint32_t h[2];
    size_t n = 0;
    if (cr->old_hash != NULL) {
        memcpy(h, cr->old_hash, sizeof(h));
    } else if (cr->password != NULL && cr->password[0] != '\0') {
        auth_old_hash_password(cr->password, strlen(cr->password), h);
    } else {
        return send_out(mc, out, 0, MYSQL_CLIENT_SEND);
    }
    auth_old_token(scramble, h, out + MYSQL_HEADER_SIZE);
    out[MYSQL_HEADER_SIZE + AUTH_OLD_SCRAMBLE_LEN] = '\0';
    n = AUTH_OLD_SCRAMBLE_LEN + 1;
    explicit_bzero(h, sizeof(h));
    return send_out(mc, out, n, MYSQL_CLIENT_SEND);
}

static enum mysql_client_step auth_switch(struct mysql_client *mc,
                                          const struct mysql_client_creds *cr, const uint8_t *p,
                                          size_t len, uint8_t *out)
{
    static const char old[] = "mysql_old_password";
    const uint8_t *data;
    size_t data_len;
    /* 0xFE alone: the server's old-style request for mysql_old_password on
     * the greeting's scramble (MariaDB sends it so) */
    if (len == 1)
        return old_answer(mc, cr, mc->scramble, out);
    if (mysql_auth_switch_decode(p, len, &mc->plugin, &mc->plugin_len, &data, &data_len) == HY_OK &&
        mc->plugin_len == sizeof(old) - 1 && memcmp(mc->plugin, old, mc->plugin_len) == 0 &&
        data_len >= AUTH_OLD_SCRAMBLE_LEN)
        return old_answer(mc, cr, data, out);
    if (mysql_auth_switch_native(p, len, &mc->plugin, &mc->plugin_len, &data) != HY_OK)
        return fail(mc, MYSQL_CLIENT_BAD_PLUGIN, "unsupported authentication method");
    size_t n = token(cr, data, out + MYSQL_HEADER_SIZE) ? MYSQL_SCRAMBLE_LEN : 0;
    return send_out(mc, out, n, MYSQL_CLIENT_SEND);
}

enum mysql_client_step mysql_client_packet(struct mysql_client *mc,
                                           const struct mysql_client_creds *cr, uint8_t seq,
                                           const uint8_t *p, size_t len,
                                           uint8_t out[MYSQL_CLIENT_OUT_MAX])
{
    mc->seq = seq;
    mc->out_len = 0;
    if (len > 0 && p[0] == MYSQL_ERR)
        return MYSQL_CLIENT_REFUSED;
    if (!mc->greeted) {
        if (!greeting(mc, cr, p, len))
            return MYSQL_CLIENT_FAILED;
        return cr->tls != TLS_OFF ? ssl_request(mc, cr, out) : login(mc, cr, out);
    }
    if (len > 0 && p[0] == MYSQL_OK)
        return MYSQL_CLIENT_READY;
    if (len > 0 && p[0] == MYSQL_AUTH_SWITCH)
        return auth_switch(mc, cr, p, len, out);
    return fail(mc, MYSQL_CLIENT_UNEXPECTED, "unexpected packet during login");
}

enum mysql_client_step mysql_client_tls_done(struct mysql_client *mc,
                                             const struct mysql_client_creds *cr,
                                             uint8_t out[MYSQL_CLIENT_OUT_MAX])
{
    mc->out_len = 0;
    return login(mc, cr, out);
}
